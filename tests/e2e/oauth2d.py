#!/usr/bin/python3
"""oauth2d.py -- a local OAuth2 authorization server for the e2e tests
(issue 11), over TLS with the test CA; Python standard library only.

Endpoints (all on 127.0.0.1):
  POST /token       grant_type client_credentials, refresh_token (rotated
                    with --rotate: the old one is then invalid_grant),
                    authorization_code (+ PKCE S256, one use),
                    urn:ietf:params:oauth:grant-type:device_code
                    (authorization_pending, slow_down when polled faster
                    than the interval)
  POST /device      device authorization (RFC 8628 3.1)
  GET  /authorize   the user's browser: answers 302 to redirect_uri with
                    code and state (the test plays the user)
  POST /test/approve user_code=...  (or /test/deny)
  POST /test/revoke  every refresh token becomes invalid_grant
  POST /test/fault   mode=none|500|429|malformed|oversized|slow|nul|notjson
  GET  /test/stats   JSON: requests per grant, the newest refresh token
Access tokens still valid are written to --token-file ("TOKEN EXPIRY" per
line, replaced atomically), which smtpd.py --token-file reads; every token
ever issued is appended to --issued-file so tests can grep logs for them.

Client mode, for the test playing the user:
  oauth2d.py browse URL --ca CA [--state STATE]   follow the authorize
      URL, then the redirect to the loopback listener; print its reply
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import ssl
import subprocess
import tempfile
import sys
import threading
import time
import urllib.parse
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class State:
    def __init__(self, args):
        self.args = args
        self.access = {}      # token -> expiry
        self.refresh = set()  # valid refresh tokens
        self.newest_refresh = None
        self.codes = {}       # code -> (challenge, redirect_uri, client_id)
        self.devices = {}     # device_code -> dict
        self.fault = args.fault
        self.lifetime = args.lifetime
        self.stats = {}
        self.jtis = set()
        if args.refresh_token:
            self.refresh.add(args.refresh_token)
            self.newest_refresh = args.refresh_token

    def count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    def issue(self, refresh=True):
        at = "at-" + secrets.token_urlsafe(24)
        self.access[at] = time.time() + self.lifetime
        out = {"access_token": at, "token_type": "Bearer",
               "expires_in": self.lifetime}
        issued = [at]
        if refresh:
            rt = "rt-" + secrets.token_urlsafe(24)
            self.refresh.add(rt)
            self.newest_refresh = rt
            out["refresh_token"] = rt
            issued.append(rt)
        self.write_tokens(issued)
        return out

    def write_tokens(self, issued):
        a = self.args
        now = time.time()
        if a.token_file:
            tmp = a.token_file + ".tmp"
            with open(tmp, "w") as fp:
                for t, exp in self.access.items():
                    if exp > now:
                        fp.write("%s %d\n" % (t, exp))
            os.replace(tmp, a.token_file)
        if a.issued_file:
            with open(a.issued_file, "a") as fp:
                for t in issued:
                    fp.write(t + "\n")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        st = self.server.st
        if st.args.log:
            with open(st.args.log, "a") as fp:
                fp.write("%.3f %s\n" % (time.time(), fmt % args))

    def send(self, code, body, ctype="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, name, desc, code=400):
        self.send(code, {"error": name, "error_description": desc})

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(
            raw, keep_blank_values=True).items()}

    # ---- faults, applied to /token and /device ----
    def faulted(self):
        st = self.server.st
        mode = st.fault
        if mode == "slow":
            time.sleep(st.args.slow)
            return False
        if mode == "500":
            self.error("server_error", "the test server is down", 500)
        elif mode == "503":
            self.send(503, "<html>unavailable</html>", "text/html")
        elif mode == "429":
            self.send(429, {"error": "too_many_requests",
                            "error_description": "slow down"},
                      headers=[("Retry-After", "120")])
        elif mode == "malformed":
            self.send(200, '{"access_token": "at-x", "expires_in": ')
        elif mode == "notjson":
            self.send(200, "<html>login</html>", "text/html")
        elif mode == "nul":
            self.send(200, '{"access_token": "at-\\u0000x"}')
        elif mode == "oversized":
            self.send(200, json.dumps({"access_token": "at-big",
                                       "pad": "x" * (200 * 1024)}))
        elif mode == "badtoken":
            self.send(200, {"access_token": "at bad\r\nMAIL FROM:<x>",
                            "expires_in": 60})
        else:
            return False
        return True

    def do_POST(self):
        st = self.server.st
        path = urllib.parse.urlsplit(self.path).path
        f = self.form()
        if path.startswith("/test/"):
            return self.test_op(path, f)
        if self.faulted():
            return
        with LOCK:
            if path == "/token":
                return self.token(f)
            if path == "/device":
                return self.device(f)
            if path == "/introspect":
                return self.introspect(f)
        self.send(404, {"error": "not_found"})

    def test_op(self, path, f):
        st = self.server.st
        with LOCK:
            if path == "/test/fault":
                st.fault = f.get("mode", "none")
            elif path == "/test/lifetime":
                st.lifetime = int(f["seconds"])
            elif path == "/test/revoke":
                st.refresh.clear()
            elif path in ("/test/approve", "/test/deny"):
                for d in st.devices.values():
                    if d["user_code"] == f.get("user_code"):
                        d["state"] = path[6:]
                        break
                else:
                    return self.send(404, {"error": "no such user code"})
            else:
                return self.send(404, {"error": "not_found"})
        self.send(200, {"ok": True})

    def client_ok(self, f, need_secret):
        a = self.server.st.args
        if f.get("client_id") != a.client_id:
            self.error("invalid_client", "unknown client", 401)
            return False
        if "client_assertion" in f:
            why = self.check_assertion(f)
            if why:
                self.error("invalid_client", why, 401)
                return False
            return True
        sec = f.get("client_secret")
        if (need_secret or sec is not None) and sec != a.client_secret:
            self.error("invalid_client", "bad client secret", 401)
            return False
        return True

    def token(self, f):
        st = self.server.st
        g = f.get("grant_type")
        st.count(g)
        st.stats["last_scope"] = f.get("scope")
        if g == "client_credentials":
            if self.client_ok(f, True):
                self.send(200, st.issue(refresh=False))
        elif g == "refresh_token":
            if not self.client_ok(f, False):
                return
            rt = f.get("refresh_token")
            if rt not in st.refresh:
                return self.error("invalid_grant",
                                  "AADSTS70000: the refresh token was "
                                  "revoked\x1b[31m")
            if st.args.slow_refresh:
                time.sleep(st.args.slow_refresh)
            if st.args.rotate:
                st.refresh.discard(rt)
                self.send(200, st.issue(refresh=True))
            else:
                out = st.issue(refresh=False)
                self.send(200, out)
        elif g == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self.jwt_bearer(f)
        elif g == "authorization_code":
            self.auth_code(f)
        elif g == "urn:ietf:params:oauth:grant-type:device_code":
            self.device_token(f)
        else:
            self.error("unsupported_grant_type", str(g))

    def verify_rs256(self, jwt, pubkey):
        """(header, claims) of an RS256 JWT whose signature pubkey (PEM
        file) verifies, else None."""
        parts = jwt.split(".")
        if len(parts) != 3:
            return None
        def dec(x):
            return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        try:
            hdr, claims = json.loads(dec(parts[0])), json.loads(dec(parts[1]))
            sig = dec(parts[2])
        except ValueError:
            return None
        with tempfile.NamedTemporaryFile() as d, \
                tempfile.NamedTemporaryFile() as sf:
            d.write((parts[0] + "." + parts[1]).encode())
            d.flush()
            sf.write(sig)
            sf.flush()
            ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify",
                                 pubkey, "-signature", sf.name, d.name],
                                capture_output=True).returncode == 0
        return (hdr, claims) if ok and hdr.get("alg") == "RS256" else None

    def check_assertion(self, f):
        """private_key_jwt (RFC 7523 2.2, 3), as Microsoft checks it."""
        st = self.server.st
        a = st.args
        if f.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "bad client_assertion_type"
        if not a.client_cert:
            return "no certificate registered"
        pub = subprocess.run(["openssl", "x509", "-in", a.client_cert,
                              "-pubkey", "-noout"], capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", a.client_cert,
                              "-outform", "DER"], capture_output=True).stdout
        with tempfile.NamedTemporaryFile() as pf:
            pf.write(pub.stdout)
            pf.flush()
            v = self.verify_rs256(f["client_assertion"], pf.name)
        if v is None:
            return "AADSTS700027: signature verification failed"
        hdr, c = v
        now = time.time()
        aud = "https://127.0.0.1:%d/token" % self.server.server_address[1]
        if hdr.get("x5t") != b64url(hashlib.sha1(der).digest()):
            return "AADSTS700027: unknown certificate thumbprint"
        if c.get("iss") != a.client_id or c.get("sub") != a.client_id or \
                c.get("aud") != aud:
            return "bad iss, sub or aud"
        if not c.get("exp", 0) > now or c.get("exp") - now > 3600 or \
                c.get("nbf", now) > now + 60:
            return "bad exp or nbf"
        if c.get("jti") in st.jtis or not c.get("jti"):
            return "AADSTS700024: assertion replayed"
        st.jtis.add(c.get("jti"))
        st.count("client_assertion")
        return None

    def jwt_bearer(self, f):
        """RFC 7523 2.1: an RS256 assertion from the service account,
        verified with openssl against --sa-pubkey."""
        st = self.server.st
        a = st.args
        if not a.sa_pubkey:
            return self.error("invalid_grant", "no service account")
        v = self.verify_rs256(f.get("assertion", ""), a.sa_pubkey)
        ok = v is not None
        hdr, claims = v if ok else ({}, {})
        now = time.time()
        aud = "https://127.0.0.1:%d/token" % self.server.server_address[1]
        why = None
        if not ok or hdr.get("alg") != "RS256":
            why = "Invalid JWT Signature."
        elif claims.get("iss") != a.sa_email or claims.get("aud") != aud:
            why = "Invalid issuer or audience"
        elif claims.get("sub") != a.sa_sub:
            why = "Invalid sub"
        elif not (claims.get("iat", 0) <= now + 60 <
                  claims.get("exp", 0) + 60 <= now + 3720):
            why = "Invalid iat/exp"
        if why:
            return self.error("invalid_grant", why)
        st.stats["last_scope"] = claims.get("scope")
        self.send(200, st.issue(refresh=False))

    def auth_code(self, f):
        st = self.server.st
        if not self.client_ok(f, False):
            return
        c = st.codes.pop(f.get("code"), None)
        if c is None:
            return self.error("invalid_grant", "unknown or used code")
        challenge, redirect, client = c
        v = f.get("code_verifier", "")
        if b64url(hashlib.sha256(v.encode()).digest()) != challenge or \
                not 43 <= len(v) <= 128:
            return self.error("invalid_grant", "PKCE verification failed")
        if f.get("redirect_uri") != redirect:
            return self.error("invalid_grant", "redirect_uri differs")
        self.send(200, st.issue(refresh=True))

    def introspect(self, f):
        """RFC 7662, for Dovecot's oauth2 passdb."""
        st = self.server.st
        st.count("introspect")
        exp = st.access.get(f.get("token", ""), 0)
        if exp > time.time():
            return self.send(200, {"active": True, "username":
                                   st.args.sa_sub, "exp": int(exp)})
        self.send(200, {"active": False})

    def device(self, f):
        st = self.server.st
        st.count("device")
        if f.get("client_id") != st.args.client_id:
            return self.error("invalid_client", "unknown client", 401)
        dc = "dc-" + secrets.token_urlsafe(16)
        uc = "%04d-%04d" % (secrets.randbelow(10000), secrets.randbelow(10000))
        st.devices[dc] = {"user_code": uc, "state": "pending", "last": 0,
                          "interval": st.args.interval, "slowed": 0}
        port = self.server.server_address[1]
        self.send(200, {"device_code": dc, "user_code": uc,
                        "verification_uri": "https://127.0.0.1:%d/device" %
                        port, "expires_in": st.args.device_expiry,
                        "interval": st.args.interval})

    def device_token(self, f):
        st = self.server.st
        if not self.client_ok(f, False):
            return
        d = st.devices.get(f.get("device_code"))
        if d is None:
            return self.error("invalid_grant", "unknown device code")
        now = time.time()
        early = now - d["last"] < d["interval"] - 0.2
        d["last"] = now
        if d["state"] == "approve":
            del st.devices[f["device_code"]]
            return self.send(200, st.issue(refresh=True))
        if d["state"] == "deny":
            return self.error("access_denied", "the user said no")
        if early:
            st.count("too_early")
        if early or (st.args.slow_down_once and not d["slowed"]):
            d["slowed"] += 1
            d["interval"] += 5
            st.count("slow_down")
            return self.error("slow_down", "polling too fast")
        self.error("authorization_pending", "waiting for the user")

    def do_GET(self):
        st = self.server.st
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        if u.path == "/test/stats":
            with LOCK:
                out = dict(st.stats)
                out["newest_refresh"] = st.newest_refresh
            return self.send(200, out)
        if u.path != "/authorize":
            return self.send(404, {"error": "not_found"})
        st.count("authorize")
        if q.get("client_id") != st.args.client_id or \
                q.get("response_type") != "code" or \
                q.get("code_challenge_method") != "S256" or \
                not q.get("code_challenge") or not q.get("state"):
            return self.send(400, {"error": "invalid_request", "query": q})
        redirect = q.get("redirect_uri", "")
        if not redirect.startswith("http://127.0.0.1:"):
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "redirect_uri"})
        code = "code-" + secrets.token_urlsafe(16)
        with LOCK:
            st.codes[code] = (q["code_challenge"], redirect, q["client_id"])
        loc = redirect + "?" + urllib.parse.urlencode(
            {"code": code, "state": q["state"]})
        self.send(302, "", "text/plain", headers=[("Location", loc)])


def serve(a):
    st = State(a)
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    srv.st = st
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as fp:
            fp.write("%d\n" % srv.server_address[1])
        os.replace(tmp, a.port_file)

    def watchdog():
        t0 = time.time()
        while True:
            time.sleep(0.5)
            if a.parent_pid:
                try:
                    os.kill(a.parent_pid, 0)
                except OSError:
                    os._exit(0)
            if time.time() - t0 > a.max_lifetime:
                os._exit(0)
    threading.Thread(target=watchdog, daemon=True).start()
    srv.serve_forever()


def browse(a):
    """Play the user's browser: the authorize URL, then the redirect."""
    u = urllib.parse.urlsplit(a.url)
    ctx = ssl.create_default_context(cafile=a.ca)
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                    timeout=10)
    c.request("GET", u.path + "?" + u.query)
    r = c.getresponse()
    if r.status != 302:
        print("authorize: %d %s" % (r.status, r.read().decode()))
        return 1
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    query = loc.query
    if a.state is not None:
        q = urllib.parse.parse_qs(query)
        q["state"] = [a.state]
        query = urllib.parse.urlencode({k: v[0] for k, v in q.items()})
    c2 = http.client.HTTPConnection(loc.hostname, loc.port, timeout=10)
    c2.request("GET", (loc.path or "/") + "?" + query)
    r2 = c2.getresponse()
    print("%d %s" % (r2.status, r2.read().decode().strip()))
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "browse":
        p = argparse.ArgumentParser()
        p.add_argument("cmd")
        p.add_argument("url")
        p.add_argument("--ca", required=True)
        p.add_argument("--state")
        return browse(p.parse_args())
    p = argparse.ArgumentParser(description="OAuth2 test server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log")
    p.add_argument("--token-file")
    p.add_argument("--issued-file")
    p.add_argument("--client-id", default="test-client")
    p.add_argument("--client-secret", default="Zq8-client-secret")
    p.add_argument("--lifetime", type=int, default=3600)
    p.add_argument("--rotate", action="store_true")
    p.add_argument("--interval", type=int, default=1)
    p.add_argument("--device-expiry", type=int, default=60)
    p.add_argument("--slow-down-once", action="store_true")
    p.add_argument("--slow", type=float, default=30.0)
    p.add_argument("--slow-refresh", type=float, default=0.0)
    p.add_argument("--fault", default="none")
    p.add_argument("--client-cert", help="private_key_jwt: the client's "
                   "registered certificate (PEM)")
    p.add_argument("--sa-pubkey", help="service account public key (PEM)")
    p.add_argument("--sa-email", default="mailer@project.iam.example")
    p.add_argument("--sa-sub", default="alice@example.org")
    p.add_argument("--refresh-token", help="a valid refresh token to "
                   "start with")
    p.add_argument("--parent-pid", type=int, default=0)
    p.add_argument("--max-lifetime", type=float, default=600.0)
    serve(p.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
