#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/support/glance_proxy.py: a fault-injecting proxy in front of the
real Glance, for what the real Glance will not do on demand (python3
stdlib only). Every request is forwarded to --upstream, bodies streamed,
except where a fault applies:

  --deny-location-patch   a PATCH that adds /locations answers 403, as a
                          Glance with show_multiple_locations = False does
                          (the upstream still shows locations, so that the
                          cluster's fsid can be learned)
  --slow-upload-bps N     a PUT .../file is forwarded at about N bytes/s
                          (a slow, live run for gc to leave alone)
  --cut-upload-after N    a PUT .../file is forwarded for N bytes, then both
                          connections are dropped (Glance's side dies midway)
  --no-multistore         GET /v2/info/stores* answers 404, as a Glance
                          without enabled_backends does
  --corrupt-hash          GET /v2/images/{id} reports a wrong os_hash_value
                          (and checksum) for an active image, as if the
                          stored data differed from what was sent
  --fault CALL:KIND       inject KIND into the Glance call CALL (repeatable):
                          CALL is stores, stores-detail, schema, base-get
                          (GET of --base ID), create, upload, location
                          (POST /locations or the PATCH adding one),
                          image-get (GET of another image), delete, patch;
                          KIND is 503once (the first such request answers
                          503), 500 (every one answers 500), 404 (every
                          one answers 404, as for an image this identity
                          cannot see), lost (the
                          first is carried out, then the connection is
                          reset before the answer), malformed (the first
                          answers 200 with a body that is not JSON), big
                          (the first answers 200 with a 5 MiB body) or
                          stall (the first is never answered).
                          GET /_faults returns {"injected": N}.
  --base ID               the base image's id (for base-get)

Prints "PORT <n>" on stdout once it listens on a free 127.0.0.1 port, and
serves until SIGTERM or --ttl seconds. Stopped by its pid, never by name.
"""
import argparse
import http.client
import json
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

ARGS = None
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection"}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("proxy: " + (fmt % a) + "\n")

    def _upstream(self):
        u = urlparse(ARGS.upstream)
        return http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def _reply(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        is_upload = self.command == "PUT" and self.path.endswith("/file")
        if self.command == "GET" and self.path == "/_faults":
            with LOCK:
                return self._reply(200, json.dumps({"injected": INJECTED[0],
                                                    "calls": dict(CALLS)}))
        if ARGS.fault:
            body = self.rfile.read(length) if length else b""
            return self._faulty(body)
        if ARGS.no_multistore and self.path.startswith("/v2/info/stores"):
            self.rfile.read(length)
            return self._reply(404, "<html><body><h1>404 Not Found</h1>The resource could not "
                               "be found.<br /><br />\n\n\n</body></html>", "text/html")
        if self.command == "PATCH" and ARGS.deny_location_patch:
            body = self.rfile.read(length)
            if b"/locations" in body:
                self._reply(403, '{"message": "It\'s not allowed to add locations if locations '
                            'are invisible.<br /><br />\\n\\n\\n", "code": "403 Forbidden", '
                            '"title": "Forbidden"}')
                return
            return self._send(body, len(body))
        if is_upload and ARGS.cut_upload_after is not None:
            return self._send_cut(length)
        if is_upload and ARGS.slow_upload_bps:
            return self._send_slow(length)
        body = self.rfile.read(length) if length else b""
        return self._send(body, len(body))

    def _faulty(self, body):
        call = call_of(self.command, self.path, body)
        with LOCK:
            CALLS[call] = CALLS.get(call, 0) + 1
            n = CALLS[call]
        kind = FAULTS.get(call)
        if kind is None or (kind not in ("500", "404") and n > 1):
            return self._send(body, len(body))
        with LOCK:
            INJECTED[0] += 1
        sys.stderr.write("proxy: %s %s: injecting %s\n" % (self.command, self.path, kind))
        if kind == "503once":
            return self._reply(503, '{"message": "injected 503"}')
        if kind == "500":
            return self._reply(500, '{"message": "injected 500"}')
        if kind == "404":
            return self._reply(404, '{"message": "injected 404"}')
        if kind == "malformed":
            return self._reply(200, '{"id": "cut short', "application/json")
        if kind == "big":
            return self._reply(200, '{"pad": "' + "x" * (5 << 20) + '"}')
        if kind == "stall":
            # never answer; wait until the client hangs up (or 120 s)
            self.connection.settimeout(0.2)
            t_end = time.time() + 120
            while time.time() < t_end:
                try:
                    if self.connection.recv(1) == b"":
                        break
                except socket.timeout:
                    continue
                except OSError:
                    break
            self.close_connection = True
            return None
        if kind == "lost":
            self._send(body, len(body), answer=False)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return None
        raise ValueError(kind)

    def _headers_out(self, conn, length):
        for k, v in self.headers.items():
            if k.lower() in HOP or k.lower() == "host" or k.lower() == "content-length":
                continue
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()

    def _send(self, body, length, answer=True):
        conn = self._upstream()
        conn.putrequest(self.command, self.path, skip_accept_encoding=True)
        self._headers_out(conn, length)
        if body:
            conn.send(body)
        self._relay(conn, answer)

    def _relay(self, conn, answer=True):
        """Send upstream's answer back to the client (answer=False: drop it,
        as a connection lost after Glance answered)."""
        resp = conn.getresponse()
        data = resp.read()
        if not answer:
            conn.close()
            return
        if (ARGS.corrupt_hash and self.command == "GET" and resp.status == 200
                and re.fullmatch(r"/v2/images/[0-9a-f-]+", self.path)):
            data = corrupt(data)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in HOP or k.lower() == "content-length":
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        conn.close()

    def _send_cut(self, length):
        conn = self._upstream()
        conn.putrequest(self.command, self.path, skip_accept_encoding=True)
        self._headers_out(conn, length)
        sent = 0
        limit = ARGS.cut_upload_after
        while sent < limit:
            chunk = self.rfile.read(min(65536, limit - sent))
            if not chunk:
                break
            conn.send(chunk)
            sent += len(chunk)
        sys.stderr.write("proxy: cutting the upload after %d bytes\n" % sent)
        # Drop both sides: Glance sees its client vanish mid-body, the client
        # sees its connection reset.
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close_connection = True
        self.connection.close()

    def _send_slow(self, length):
        """Forward an upload at --slow-upload-bps (a slow but live run)."""
        conn = self._upstream()
        conn.putrequest(self.command, self.path, skip_accept_encoding=True)
        self._headers_out(conn, length)
        sent = 0
        step = max(1, ARGS.slow_upload_bps // 10)
        while sent < length:
            chunk = self.rfile.read(min(step, length - sent))
            if not chunk:
                break
            conn.send(chunk)
            sent += len(chunk)
            time.sleep(0.1)
        self._relay(conn)

    do_GET = _forward
    do_POST = _forward
    do_PUT = _forward
    do_PATCH = _forward
    do_DELETE = _forward
    do_HEAD = _forward


LOCK = threading.Lock()
INJECTED = [0]
CALLS = {}
FAULTS = {}


def call_of(method, path, body):
    """Which Glance call of a snapshot a request is."""
    p = path.split("?")[0]
    if method == "GET" and p == "/v2/info/stores":
        return "stores"
    if method == "GET" and p == "/v2/info/stores/detail":
        return "stores-detail"
    if method == "GET" and p == "/v2/schemas/image":
        return "schema"
    if method == "POST" and p == "/v2/images":
        return "create"
    if method == "GET" and p == "/v2/images":
        return "list"
    m = re.fullmatch(r"/v2/images/([^/]+)(/.*)?", p)
    if m:
        iid, rest = m.group(1), m.group(2) or ""
        if method == "PUT" and rest == "/file":
            return "upload"
        if (method == "POST" and rest == "/locations") or \
                (method == "PATCH" and b"/locations" in (body or b"")):
            return "location"
        if method == "GET" and rest == "":
            return "base-get" if iid == ARGS.base else "image-get"
        if method == "DELETE":
            return "delete"
        if method == "PATCH":
            return "patch"
    return "other"


def corrupt(data):
    img = json.loads(data)
    if img.get("status") == "active":
        for k in ("os_hash_value", "checksum"):
            if img.get(k):
                v = img[k]
                img[k] = ("0" if v[0] != "0" else "1") + v[1:]
    return json.dumps(img).encode()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--deny-location-patch", action="store_true")
    ap.add_argument("--cut-upload-after", type=int)
    ap.add_argument("--slow-upload-bps", type=int)
    ap.add_argument("--no-multistore", action="store_true")
    ap.add_argument("--corrupt-hash", action="store_true")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--base")
    ap.add_argument("--ttl", type=int, default=300)
    ARGS = ap.parse_args()
    for f in ARGS.fault:
        call, kind = f.split(":", 1)
        if kind not in ("503once", "500", "404", "lost", "malformed", "big", "stall"):
            ap.error("unknown fault kind %s" % kind)
        FAULTS[call] = kind
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    threading.Thread(target=lambda: (time.sleep(ARGS.ttl), srv.shutdown()), daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
