#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/support/fault_server.py: a fault-injecting HTTP server for the
HTTP/Glance/Keystone client tests (python3 stdlib only).

Started by tests/support/fault_server.c on a free loopback port; prints
"PORT <n>" on stdout, then serves until SIGTERM or --ttl seconds.

Every request path is /s/<scenario>/<tag>/<rest>. State (request counts,
last upload, last bodies) is kept per "<scenario>/<tag>", so tests that use
a unique tag never see each other's requests. GET /_state/<scenario>/<tag>
returns that state as JSON (and is not counted).

Scenarios:
  glance          a tiny fake Glance (images, upload, stores, echo)
  fail<C>x<N>     the first N requests answer status C, then "glance"
  fail<C>on<K>    "glance", every request 150 ms late, and requests of kind K
                  (stores, detail, base: a GET of an image, schema) answer
                  status C
  resetx<N>       the first N requests get a connection reset mid-body
  stall           headers of a 1000-byte body, then 8 s of silence
  garbage         200 with a body that is not JSON
  truncated       200 with JSON cut short
  wrongtype       200 with an image whose "id" is a number
  big             200 with a 5 MiB body
  htmlerr         404 with webob's HTML error body
  echotoken       400 whose message repeats X-Auth-Token and X-Api-Secret
  keystone        POST v3/auth/tokens issues tokens tok-<tag>-<n>
  authglance      "glance" that takes only tokens tok-<tag>-<n> with n >= 2
  loc-<P>-<Q>     POST .../locations answers P, PATCH answers Q (a 200 with the
                  image, active with 1024 bytes; after a 202 the second poll
                  finds it so, still locked by its import task until the
                  fourth)
  ks503x<N>       the first N requests answer 503, then "keystone"
  lostx<N>        the first N requests are carried out by "glance", then the
                  connection is reset before the answer (an answer lost)
  hang            reads the request and never answers (until the client
                  hangs up, or 120 s)
The fake Glance answers 409 to POST /v2/images with an id it already has.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {}

HTML_404 = ("<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
            "  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n"
            "No image found with ID abc\n\n\n </body>\n</html>")


def state(key):
    with LOCK:
        st = STATE.get(key)
        if st is None:
            st = {"count": 0, "body_len": -1, "body_md5": "", "chunked": False,
                  "headers": {}, "last_post": None, "last_patch": None,
                  "token_requests": 0, "images": {}, "methods": [],
                  "inflight": 0, "max_inflight": 0}
            STATE[key] = st
        return st


def fake_image(iid, status="queued", extra=None):
    img = {"id": iid, "name": "fake", "status": status, "disk_format": "raw",
           "container_format": "bare", "visibility": "shared", "size": None,
           "virtual_size": None, "checksum": None, "os_hash_algo": None,
           "os_hash_value": None, "min_disk": 0, "min_ram": 0, "protected": False,
           "tags": [], "owner": "p1", "locations": [], "stores": ""}
    if extra:
        img.update(extra)
    return img


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # silent
        pass

    # ---- helpers ----
    def send(self, code, body=b"", ctype="application/json", headers=None):
        if getattr(self, "swallow", False):
            return                   # "lostx": carried out, answer dropped
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self, st):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            st["chunked"] = True
            return None
        n = int(self.headers.get("Content-Length", "0"))
        md5 = hashlib.md5()
        left = n
        data = bytearray()
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            md5.update(chunk)
            if len(data) < 65536:
                data += chunk[:65536 - len(data)]
            left -= len(chunk)
        return n - left, md5.hexdigest(), bytes(data)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    # ---- dispatch ----
    def handle_any(self):
        # "max_inflight": the most requests of one scenario/tag served at once
        m = re.match(r"^/s/([^/]+)/([^/]+)", self.path)
        st = state(m.group(1) + "/" + m.group(2)) if m else None
        if st is not None:
            with LOCK:
                st["inflight"] += 1
                st["max_inflight"] = max(st["max_inflight"], st["inflight"])
        try:
            self.dispatch()
        finally:
            if st is not None:
                with LOCK:
                    st["inflight"] -= 1

    def dispatch(self):
        path = self.path
        m = re.match(r"^/_state/([^/]+)/([^/?]+)", path)
        if m:
            self.send(200, state(m.group(1) + "/" + m.group(2)))
            return
        m = re.match(r"^/s/([^/]+)/([^/]+)(/.*)?$", path)
        if not m:
            self.send(404, {"message": "no scenario in path"})
            return
        scen, tag, rest = m.group(1), m.group(2), m.group(3) or "/"
        st = state(scen + "/" + tag)
        with LOCK:
            st["count"] += 1
            n = st["count"]
            st["methods"].append(self.command + " " + rest)
            st["headers"] = {k: v for k, v in self.headers.items()}

        body = None
        if self.command in ("POST", "PUT", "PATCH"):
            got = self.read_body(st)
            if got is None:
                self.send(411, {"message": "chunked bodies are refused"})
                return
            blen, bmd5, body = got
            with LOCK:
                st["body_len"], st["body_md5"] = blen, bmd5

        mo = re.match(r"^fail(\d+)on(stores|detail|base|schema)$", scen)
        if mo:
            # every request waits 150 ms: calls issued together overlap
            time.sleep(0.15)
            p = rest.split("?")[0].rstrip("/")
            hit = {"stores": p == "/v2/info/stores", "detail": p == "/v2/info/stores/detail",
                   "schema": p == "/v2/schemas/image",
                   "base": self.command == "GET" and p.startswith("/v2/images/")}[mo.group(2)]
            if hit:
                code = int(mo.group(1))
                self.send(code, {"message": "injected %d on %s" % (code, mo.group(2))})
                return
        mf = re.match(r"^fail(\d+)x(\d+)$", scen)
        if mf and n <= int(mf.group(2)):
            code = int(mf.group(1))
            self.send(code, {"message": "injected %d number %d" % (code, n)})
            return
        ml = re.match(r"^lostx(\d+)$", scen)
        if ml and n <= int(ml.group(1)):
            self.swallow = True
            self.glance(st, rest, body)
            self.reset()
            return
        if scen == "hang":
            self.connection.settimeout(0.2)
            t_end = time.time() + 120
            while time.time() < t_end:
                try:
                    if self.connection.recv(1) == b"":
                        break        # the client hung up
                except socket.timeout:
                    continue
                except OSError:
                    break
            self.close_connection = True
            return
        mr = re.match(r"^resetx(\d+)$", scen)
        if mr and n <= int(mr.group(1)):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"id": "abc"')
            self.wfile.flush()
            self.reset()
            return
        if scen == "stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(8)
            self.close_connection = True
            return
        if scen == "garbage":
            self.send(200, "this is not JSON <html>", "text/html")
            return
        if scen == "truncated":
            self.send(200, '{"id": "abc", "status": "act')
            return
        if scen == "wrongtype":
            self.send(200, '{"id": 5, "status": "active"}')
            return
        if scen == "big":
            self.send(200, '{"pad": "' + "x" * (5 << 20) + '"}')
            return
        if scen == "echotoken":
            self.send(400, {"message": "bad token %s and header %s" % (
                self.headers.get("X-Auth-Token", ""), self.headers.get("X-Api-Secret", ""))})
            return
        if scen == "htmlerr":
            self.send(404, HTML_404, "text/html; charset=UTF-8")
            return
        mk = re.match(r"^ks503x(\d+)$", scen)
        if mk and n <= int(mk.group(1)):
            self.send(503, {"error": {"code": 503, "message": "injected 503 number %d" % n,
                                      "title": "Service Unavailable"}})
            return
        if scen == "keystone" or mk:
            self.keystone(st, tag, rest, body)
            return
        if scen == "authglance":
            tok = self.headers.get("X-Auth-Token", "")
            mt = re.match(r"^tok-" + re.escape(tag) + r"-(\d+)$", tok)
            if not mt or int(mt.group(1)) < 2:
                self.send(401, "<html><body><h1>401 Unauthorized</h1>This server could "
                          "not verify that you are authorized.<br /><br />\n</body></html>",
                          "text/html")
                return
        ml = re.match(r"^loc-(\d+)-(\d+)$", scen)
        if ml and rest.endswith("/locations") and self.command == "POST":
            with LOCK:
                st["last_post"] = body.decode(errors="replace")
            code = int(ml.group(1))
            if code == 202:
                iid = rest.split("/")[3]
                with LOCK:
                    img = st["images"].get(iid) or fake_image(iid)
                    img["status"] = "importing"
                    img["os_glance_import_task"] = "task-1"
                    st["images"][iid] = img
                    st["polls"] = 0
                self.send(202, b"", "text/plain")
            else:
                self.send(code, {"message": "injected POST %d" % code})
            return
        if ml and self.command == "PATCH":
            with LOCK:
                st["last_patch"] = body.decode(errors="replace")
            code = int(ml.group(2))
            iid = rest.split("/")[3]
            if code == 200:
                # the image as Glance answers a PATCH: active, sized
                self.send(200, fake_image(iid, "active", {"size": 1024}))
            else:
                self.send(code, {"message": "injected PATCH %d" % code})
            return
        self.glance(st, rest, body)

    def keystone(self, st, tag, rest, body):
        if not (rest.rstrip("/").endswith("/v3/auth/tokens") and self.command == "POST"):
            self.send(404, {"error": {"code": 404, "message": "not found", "title": "Not Found"}})
            return
        try:
            req = json.loads(body)
            ident = req["auth"]["identity"]
            methods = ident["methods"]
            ok = False
            if methods == ["password"]:
                u = ident["password"]["user"]
                ok = (u["name"] == "demo" and u["password"] == "s3cret-pw" and
                      u["domain"]["name"] == "Default")
            elif methods == ["application_credential"]:
                ac = ident["application_credential"]
                ok = ac["id"] == "acid" and ac["secret"] == "ac-s3cret"
        except (ValueError, KeyError, TypeError):
            self.send(400, {"error": {"code": 400, "message": "malformed auth request",
                                      "title": "Bad Request"}})
            return
        if not ok:
            self.send(401, {"error": {"code": 401, "message": "The request you have made "
                                      "requires authentication.", "title": "Unauthorized"}})
            return
        with LOCK:
            st["token_requests"] += 1
            n = st["token_requests"]
        port = self.server.server_address[1]
        base = "http://127.0.0.1:%d/s" % port
        # Shaped like Keystone v3's documented "Password authentication with
        # scoped authorization" response.
        resp = {"token": {
            "methods": methods,
            "roles": [{"id": "51cc68287d524c759f47c811e6463340", "name": "admin"}],
            "expires_at": "2035-11-06T15:32:17.893769Z",
            "project": {"domain": {"id": "default", "name": "Default"},
                        "id": "a6944d763bf64ee6a275f1263fae0352", "name": "admin"},
            "is_domain": False,
            "catalog": [
                {"endpoints": [
                    {"region_id": "RegionOne", "url": "http://127.0.0.1:1/identity",
                     "region": "RegionOne", "interface": "public",
                     "id": "068d1b359ee84b438266cb736d81de97"}],
                 "type": "identity", "id": "050726f278654128aba89757ae25910c",
                 "name": "keystone"},
                {"endpoints": [
                    {"region_id": "RegionOne", "url": base + "/authglance/" + tag + "/",
                     "region": "RegionOne", "interface": "public",
                     "id": "1"},
                    {"region_id": "RegionOne", "url": base + "/glance/" + tag + "-internal",
                     "region": "RegionOne", "interface": "internal", "id": "2"},
                    {"region_id": "RegionTwo", "url": base + "/glance/" + tag + "-r2",
                     "region": "RegionTwo", "interface": "public", "id": "3"}],
                 "type": "image", "id": "5a64de3c4a614d8d8f8d1ba3dee5f45f",
                 "name": "glance"}],
            "user": {"domain": {"id": "default", "name": "Default"},
                     "id": "ee4dfb6e5540447cb3741905149d9b6e", "name": "demo",
                     "password_expires_at": None},
            "audit_ids": ["3T2dc1CGQxyJsHdDu1xkcw"],
            "issued_at": "2035-11-06T14:32:17.893797Z"}}
        self.send(201, resp, headers={"X-Subject-Token": "tok-%s-%d" % (tag, n)})

    def glance(self, st, rest, body):
        p = rest.split("?")[0].rstrip("/")
        parts = p.split("/")
        if p == "/echo":
            self.send(200, {"headers": st["headers"]})
            return
        if p == "/v2/info/stores" and self.command == "GET":
            self.send(200, {"stores": [
                {"id": "local", "description": "Local", "default": "true"},
                {"id": "fast", "description": "RBD"},
                {"id": "web", "description": "HTTP", "read-only": "true"}]})
            return
        if p == "/v2/schemas/image" and self.command == "GET":
            self.send(200, {"name": "image", "properties": {
                "name": {"type": ["null", "string"]},
                "size": {"type": ["null", "integer"], "readOnly": True},
                "os_distro": {"type": "string"}}})
            return
        if p == "/v2/info/stores/detail":
            self.send(403, "<html><body><h1>403 Forbidden</h1>Access was denied to this "
                      "resource.<br /><br />\n</body></html>", "text/html")
            return
        if p == "/v2/images" and self.command == "POST":
            req = json.loads(body or b"{}")
            iid = req.get("id", "11111111-2222-3333-4444-555555555555")
            img = fake_image(iid, "queued", req)
            with LOCK:
                dup = "id" in req and iid in st["images"]
                if not dup:
                    st["images"][iid] = img
                st["creates"] = st.get("creates", 0) + (0 if dup else 1)
            if dup:
                self.send(409, "<html><body><h1>409 Conflict</h1>Image ID %s already "
                          "exists!<br /><br />\n</body></html>" % iid, "text/html")
                return
            self.send(201, img)
            return
        if len(parts) == 4 and parts[1] == "v2" and parts[2] == "images":
            iid = parts[3]
            with LOCK:
                img = st["images"].get(iid)
                if img is not None and "os_glance_import_task" in img:
                    st["polls"] = st.get("polls", 0) + 1
                    if st["polls"] >= 2:
                        img["status"] = "active"
                        img["size"] = 1024
                    if st["polls"] >= 4:    # the background hash ends later
                        del img["os_glance_import_task"]
            if self.command == "GET":
                self.send(200, img if img is not None else fake_image(iid, "active"))
                return
            if self.command == "DELETE":
                self.send(204, b"")
                return
        if len(parts) == 5 and parts[4] == "file" and self.command == "PUT":
            self.send(204, b"", "text/plain")
            return
        self.send(404, {"message": "fake glance: no route for %s %s" % (self.command, p)})

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_PATCH = handle_any
    do_DELETE = handle_any
    do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose are expected here


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ttl", type=float, default=600.0,
                    help="exit by itself after this many seconds")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    ttl = threading.Timer(args.ttl, lambda: os._exit(0))
    ttl.daemon = True
    ttl.start()
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    sys.stdout.close()
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
