#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# ceph-dev/no-network.py: the Nova cloud's stand-in for Neutron (ceph-dev/up
# --stack trixie --nova; ceph-dev/README.md, "No Neutron"). Not a network
# service: a network API with no ports, no networks and no security groups,
# which is what a server created with "networks": "none" has. Nova 31 asks
# Neutron for a server's ports even then: GET /servers/{id} (its security
# groups) and the deletion of a server (deallocate_for_instance) list them,
# and fail with 500 / ERROR when no network endpoint is in the catalog.
# Every list answers empty; anything else is 404. Loopback only.
#
#   python3 no-network.py PORT LOG_FILE
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTS = {"ports": "ports", "security-groups": "security_groups", "networks": "networks",
         "subnets": "subnets", "floatingips": "floatingips", "extensions": "extensions",
         "trunks": "trunks", "qos/policies": "policies"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, body):
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("", "/v2.0"):
            return self._send(200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"rel": "self", "href": "http://%s/v2.0/" % self.headers.get("Host", "")}]}]})
        for k, key in LISTS.items():
            if path == "/v2.0/" + k:
                return self._send(200, {key: []})
        self._send(404, {"NeutronError": {"type": "NotFound", "message": "no such resource here",
                                          "detail": ""}})

    def do_DELETE(self):
        self._send(404, {"NeutronError": {"type": "NotFound", "message": "nothing to delete",
                                          "detail": ""}})

    do_PUT = do_POST = do_DELETE

    def log_message(self, fmt, *args):
        LOG.write("%s %s\n" % (self.log_date_time_string(), fmt % args))
        LOG.flush()


if __name__ == "__main__":
    LOG = open(sys.argv[2], "a")
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
