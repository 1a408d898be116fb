#!/usr/bin/python3
"""smtpd.py -- the SMTP server the end-to-end tests talk to.

Two modes, one command line:

* the default: a real ESMTP server built on aiosmtpd (Debian's
  python3-aiosmtpd) with implicit TLS or STARTTLS, AUTH PLAIN/LOGIN and
  SCRAM-SHA-256(-PLUS), SIZE, 8BITMIME, SMTPUTF8, DSN and PIPELINING, and
  fault injection at every stage (--fault);
* --script FILE: a tiny scripted server for exchanges aiosmtpd will not
  produce (see SCRIPT FORMAT below).

Output files (all optional):
  --port-file F   the bound port, written (atomically) once listening
  --spool DIR     N.eml: the DATA bytes exactly as received, un-dot-stuffed;
                  N.json: the envelope and session facts (see _spool()),
                  "peer" the client's address as the server saw it
  --record F      every line the client sent, in order, as
                  "SESSION STATE LINE" (STATE is plain or tls; bytes outside
                  printable ASCII written as \\xNN, a backslash as \\\\).
                  Lines the client sent before a reply it should have waited
                  for (pipelining not offered, or talking before the
                  greeting) are followed by "SESSION ! sync-error".
  --log F         both directions with session numbers, for debugging
  --events F      what the server saw happen, one "SESSION EVENT [VALUE]"
                  line each: "greeting-sent" (once the greeting is
                  written), "sni NAME" (the server name in the ClientHello,
                  "-" when none), "tls-done VERSION" (the server side of a
                  handshake completed), "auth-ir B64" and "auth-line TEXT"
                  (the exact AUTH initial response and each later line the
                  client sent during AUTH, escaped as in the record)

Command synchronisation: a line that arrives while the server still owes a
reply (before the greeting has been written, or, without PIPELINING, before
the reply to the previous command has been written) is a sync error,
whatever the TCP segmentation.  --greeting-delay S holds the greeting back
S seconds so that a client that talks first is caught.

SCRAM-SHA-256-PLUS verifies tls-unique (TLS 1.2), tls-exporter (RFC 9266,
TLS 1.2 and 1.3; through ctypes, see tls_exporter()) and
tls-server-end-point; N.json then has auth_gs2 (the client's GS2 header)
and auth_cb (the binding type used).  A client that says "y" (it could
bind but thinks we cannot) while we offer -PLUS is refused (RFC 5802 6).

Faults: --fault STAGE[=ADDRESS]:ACTION[#COUNT], repeatable.
  STAGE   greeting ehlo starttls auth mail rcpt data body dot
          (rcpt=ADDRESS limits it to that recipient; body is mid-message,
          after the first line of data; dot is the reply to the final dot)
  ACTION  4xx 5xx    the stage's temporary / permanent reply
          drop       close the connection instead of replying
          stall      say nothing for --stall seconds, then close
          overlong   a 3000-byte reply line           } the stage's normal
          manylines  a 150-line reply                  } code; the stage's
          nul        a NUL byte inside the reply       } normal effect still
          badcode    a malformed code ("2500 ...")     } happens, so a client
          mixed      lines with different codes        } that accepts the
          inject     the reply plus "250 injected"     } reply goes on
          slowloris  the reply one byte per second      } successfully
          reply=TEXT send TEXT (\\r \\n \\0 \\xNN escapes) instead
  COUNT   apply to the first COUNT matching events only (default: all)
For starttls, "inject" sends "220 ok\\r\\n250 injected\\r\\n" in one write and
then does the TLS handshake as usual.

SCRIPT FORMAT (--script): one directive per line, "#" starts a comment; each
connection runs the script from the top and is closed at its end.
  send TEXT     send TEXT + CRLF (escapes as above)
  raw TEXT      send TEXT only
  trickle TEXT  send TEXT + CRLF one byte per second
  read          read one line from the client (recorded)
  expect WORD   read one line; it must start with WORD (any case), else
                record "SESSION ! expected WORD" and close
  readdata      read lines up to and including a lone "."
  starttls      do the server side of a TLS handshake now
  sleep SECONDS
  close

The process exits on SIGTERM/SIGINT, after --max-lifetime seconds, and when
its parent process (or --parent-pid) goes away.  Exit status: 0, or 2 for bad arguments.
"""

import argparse
import asyncio
import base64
import collections
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import socket
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

STAGES = ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
          "body", "dot")
HOSTILE = ("overlong", "manylines", "nul", "badcode", "mixed", "inject",
           "slowloris", "reply")
ACTIONS = ("4xx", "5xx", "drop", "stall") + HOSTILE

# The replies a fault sends: (temporary, permanent) per stage.  The texts
# never name a recipient, so that a test can tell whether the client did.
FAULT_REPLIES = {
    "greeting": ("421 4.3.2 Service not available, try later",
                 "554 5.3.2 No SMTP service here"),
    "ehlo": ("421 4.3.0 Try again later", "550 5.7.1 EHLO refused"),
    "starttls": ("454 4.7.0 TLS not available due to temporary reason",
                 "554 5.7.3 TLS refused"),
    "auth": ("454 4.7.0 Temporary authentication failure",
             "535 5.7.8 Authentication credentials invalid"),
    "mail": ("451 4.3.0 Temporary failure at MAIL",
             "550 5.7.1 Sender refused by policy"),
    "rcpt": ("450 4.2.1 Mailbox temporarily unavailable",
             "550 5.1.1 No such user here"),
    "data": ("451 4.3.0 Temporary failure at DATA",
             "554 5.5.0 DATA refused"),
    "body": ("421 4.3.0 Closing in the middle of the message",
             "554 5.3.4 Closing in the middle of the message"),
    "dot": ("451 4.3.0 Temporary failure after the data",
            "554 5.6.0 Message refused after the data"),
}

log = logging.getLogger("smtpd")


def unescape(text):
    """Turn \\r \\n \\t \\0 \\\\ and \\xNN in text into bytes."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8", "surrogateescape")
    simple = {ord("r"): b"\r", ord("n"): b"\n", ord("t"): b"\t",
              ord("0"): b"\0", ord("\\"): b"\\"}
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            n = raw[i + 1]
            if n in simple:
                out += simple[n]
                i += 2
                continue
            if n == ord("x") and i + 3 < len(raw):
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
        out.append(c)
        i += 1
    return bytes(out)


def escape(line):
    """Bytes to one printable ASCII line for the record and the log."""
    out = []
    for b in line:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


class Fault:
    def __init__(self, spec):
        m = re.match(r"^([a-z]+)(?:=([^:]*))?:(.*?)(?:#(\d+))?$", spec,
                     re.S)
        if not m:
            raise ValueError("bad --fault %r" % spec)
        self.stage, addr, action, count = m.groups()
        self.addr = addr.lower() if addr else None
        self.text = None
        if action.startswith("reply="):
            self.text = unescape(action[len("reply="):])
            action = "reply"
        self.action = action
        self.count = int(count) if count else None
        if self.stage not in STAGES:
            raise ValueError("unknown fault stage %r" % self.stage)
        if self.action not in ACTIONS:
            raise ValueError("unknown fault action %r" % self.action)
        if self.addr and self.stage != "rcpt":
            raise ValueError("only rcpt faults take an address")

    @property
    def hostile(self):
        return self.action in HOSTILE


class State:
    """What all sessions of one server process share."""

    def __init__(self, args):
        self.args = args
        self.faults = [Fault(f) for f in args.fault]
        self.sessions = 0
        self.messages = 0
        self.record = open(args.record, "a", buffering=1) \
            if args.record else None
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.eventf = open(args.events, "a", buffering=1) \
            if args.events else None

    def take_fault(self, stage, addr=None, sid=0):
        for f in self.faults:
            if f.stage != stage:
                continue
            if f.addr is not None and (addr or "").lower() != f.addr:
                continue
            if f.count is not None:
                if f.count <= 0:
                    continue
                f.count -= 1
            self.logline(sid, "!", "fault %s:%s" % (stage, f.action))
            return f
        return None

    def rec(self, sid, text):
        if self.record:
            self.record.write("%d %s\n" % (sid, text))

    def event(self, sid, name, value=None):
        if self.eventf:
            self.eventf.write("%d %s%s\n" % (sid, name, "" if value is None
                                             else " " + value))

    def logline(self, sid, direction, text):
        if self.logf:
            self.logf.write("%.3f %d %s %s\n" % (time.time(), sid,
                                                  direction, text))


class LineRecorder:
    """Splits what a client sent into lines for the record file."""

    def __init__(self, state, sid):
        self.state = state
        self.sid = sid
        self.buf = b""

    def feed(self, data, tls):
        """Record the complete lines in data; return them (raw)."""
        self.buf += data
        tag = "tls" if tls else "plain"
        done = []
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
            done.append(line)
            if line.endswith(b"\r\n"):
                line = line[:-2]
            else:
                line = line[:-1] + b"[bare LF]"
            self.state.rec(self.sid, "%s %s" % (tag, escape(line)))
            self.state.logline(self.sid, "C:", escape(line))
        if len(self.buf) > 65536:  # a client that never ends its line
            self.flush(tls)
        return done

    def flush(self, tls):
        if self.buf:
            self.state.rec(self.sid, "%s %s[partial]" % (
                "tls" if tls else "plain", escape(self.buf)))
            self.buf = b""


def tls_facts(sslobj):
    if sslobj is None:
        return {"tls": False}
    facts = {"tls": True, "tls_version": sslobj.version(),
             "cipher": sslobj.cipher()[0] if sslobj.cipher() else None,
             "client_cert": None}
    try:
        cert = sslobj.getpeercert()
    except ValueError:
        cert = None
    if cert:
        facts["client_cert"] = dict(x[0] for x in cert.get("subject", ()))
    return facts


class Session(SMTP):
    """aiosmtpd's SMTP with our EHLO, MAIL, RCPT, DATA, recording and
    faults.  The helpers of the base class do TLS, AUTH and the loop."""

    def __init__(self, state, implicit_tls, **kw):
        a = state.args
        state.sessions += 1
        self.sid = state.sessions
        self.st = state
        self.implicit_tls = implicit_tls
        self._greeted = False
        self._owed = True  # a reply (the greeting) is not yet written
        self._auth_active = False
        self._tls_noted = False
        self._fault_next = None
        self._in_data = False
        self._auth_mech = None
        self._recorder = LineRecorder(state, self.sid)
        excl = [m for m in ("PLAIN", "LOGIN", "SCRAM-SHA-256",
                            "SCRAM-SHA-256-PLUS", "XOAUTH2",
                            "OAUTHBEARER") if m not in a.mechs]
        super().__init__(
            handler=object(), hostname="localhost",
            data_size_limit=None, enable_SMTPUTF8=True,
            tls_context=kw.get("starttls_ctx"),
            require_starttls=a.tls == "starttls-required",
            auth_required=a.auth_required, auth_require_tls=False,
            auth_exclude_mechanism=excl,
            auth_callback=self._check_password,
            timeout=a.idle_timeout)
        # Per instance: the base class keeps these in a class attribute.
        self.command_size_limit = 2048
        self.command_size_limits = collections.defaultdict(lambda: 2048)

    # ---- plumbing ----

    def connection_made(self, transport):  # noqa: D102
        # Replies go out at once: with Nagle, a pipelined client waits for
        # the delayed ACK (~40 ms) before each later reply arrives.
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)
        if self.implicit_tls:
            self.note_tls(self.sslobj(), True)

    @property
    def tls_up(self):
        return self.implicit_tls or self._tls_protocol is not None

    def sslobj(self):
        if self.transport is None:
            return None
        return self.transport.get_extra_info("ssl_object")

    def data_received(self, data):
        # A line is out of sync when it arrives while we still owe a reply:
        # the greeting always (RFC 5321 3.1), any reply without PIPELINING.
        sync = False
        for line in self._recorder.feed(data, self.tls_up):
            if self._auth_active:
                self.st.event(self.sid, "auth-line",
                              escape(line.rstrip(b"\r\n")))
            if self._in_data:
                continue
            if self._owed and (not self._greeted or
                               not self.st.args.pipelining):
                sync = True
            self._owed = True
        if sync:
            self.st.rec(self.sid, "! sync-error")
        super().data_received(data)

    def note_tls(self, sslobj, done):
        """Record the SNI of a handshake (once), and whether the server
        side of it completed."""
        if self._tls_noted or sslobj is None:
            return
        self._tls_noted = True
        self.st.event(self.sid, "sni", getattr(sslobj, "sni_seen", None)
                      or "-")
        if done:
            self.st.event(self.sid, "tls-done", sslobj.version() or "?")

    def connection_lost(self, error):
        self._recorder.flush(self.tls_up)
        self.st.logline(self.sid, "!", "connection lost")
        super().connection_lost(error)

    async def write_raw(self, data):
        self.st.logline(self.sid, "S:", escape(data))
        if self.transport is None or self.transport.is_closing():
            return
        self._writer.write(data)
        self._owed = False
        try:
            await self._writer.drain()
        except ConnectionError:
            pass

    async def push(self, status):
        if isinstance(status, str):
            status = status.encode("utf-8")
        if not self._greeted:
            if self.st.args.greeting_delay:
                await asyncio.sleep(self.st.args.greeting_delay)
            f = self.st.take_fault("greeting", sid=self.sid)
            await self.reply("greeting", f, [status])
            self._greeted = True
            self.st.event(self.sid, "greeting-sent")
            return
        if self._fault_next is not None:
            stage, f = self._fault_next
            self._fault_next = None
            await self.reply(stage, f, [status])
            return
        await self.write_raw(status + b"\r\n")

    def close(self):
        if self.transport is not None:
            self.transport.close()

    async def reply(self, stage, f, lines):
        """Send the normal reply (a list of lines without CRLF) for stage,
        or what fault f says instead."""
        lines = [x.encode() if isinstance(x, str) else x for x in lines]
        if f is None:
            await self.write_raw(b"".join(x + b"\r\n" for x in lines))
            return
        code = lines[-1][:3]
        act = f.action
        if act in ("4xx", "5xx"):
            text = FAULT_REPLIES[stage][act == "5xx"]
            await self.write_raw(text.encode() + b"\r\n")
            if text.startswith("421") or stage in ("greeting", "body"):
                self.close()
        elif act == "drop":
            self.close()
        elif act == "stall":
            self.st.logline(self.sid, "!", "stalling")
            await asyncio.sleep(self.st.args.stall)
            self.close()
        elif act == "slowloris":
            data = b"".join(x + b"\r\n" for x in lines[:-1])
            data += lines[-1] + b" " + b"z" * 200 + b"\r\n"
            for i in range(len(data)):
                if self.transport is None or self.transport.is_closing():
                    break
                await self.write_raw(data[i:i + 1])
                await asyncio.sleep(1)
        else:
            await self.write_raw(hostile_bytes(act, code, lines, f.text,
                                               stage))

    async def stage(self, stage, lines, addr=None):
        """Reply for stage; True when the command took effect."""
        f = self.st.take_fault(stage, addr, self.sid)
        await self.reply(stage, f, lines)
        return f is None or f.hostile

    def _check_password(self, mechanism, login, password):
        a = self.st.args
        return (a.user is not None and login == a.user.encode() and
                password == a.password.encode())

    # ---- commands ----

    async def smtp_EHLO(self, hostname):
        if not hostname:
            await self.push("501 5.5.4 Syntax: EHLO hostname")
            return
        a = self.st.args
        caps = ["localhost greets %s" % hostname]
        if a.size:
            caps.append("SIZE %d" % a.size)
        if a.eightbitmime:
            caps.append("8BITMIME")
        if a.smtputf8:
            caps.append("SMTPUTF8")
        if a.pipelining:
            caps.append("PIPELINING")
        if a.dsn:
            caps.append("DSN")
        caps.append("ENHANCEDSTATUSCODES")
        if self.tls_context and not self.tls_up and a.offer_starttls:
            caps.append("STARTTLS")
        if a.mechs and (self.tls_up or a.auth_plaintext) and a.user:
            caps.append("AUTH " + " ".join(a.mechs))
        caps += a.ehlo_extra
        caps += a.ehlo_tls_extra if self.tls_up else a.ehlo_plain_extra
        lines = ["250-" + c for c in caps[:-1]] + ["250 " + caps[-1]]
        self._set_rset_state()
        self.session.extended_smtp = True
        if await self.stage("ehlo", lines):
            self.session.host_name = hostname
        else:
            self.session.host_name = None

    async def smtp_STARTTLS(self, arg):
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS")
            return
        if self.tls_up:
            await self.push("503 5.5.1 TLS already active")
            return
        if not self.tls_context or not self.st.args.offer_starttls:
            await self.push("502 5.5.1 STARTTLS not available")
            return
        f = self.st.take_fault("starttls", sid=self.sid)
        if f is not None and not f.hostile:
            await self.reply("starttls", f, ["220 2.0.0 Ready"])
            return
        if f is not None and f.action == "inject":
            self._fault_next = ("starttls", Fault(
                "starttls:reply=220 ok\\r\\n250 injected\\r\\n"))
        elif f is not None:
            self._fault_next = ("starttls", f)
        try:
            await super().smtp_STARTTLS(arg)
        except BaseException:
            # The SSLObject of asyncio's SSLProtocol, after a failure.
            self.note_tls(getattr(self._tls_protocol, "_sslobj", None),
                          False)
            raise
        self.note_tls(self.sslobj(), True)

    async def smtp_AUTH(self, arg):
        if self.session.host_name and self.session.extended_smtp:
            if not self.tls_up and not self.st.args.auth_plaintext:
                await self.push("538 5.7.11 Encryption required for "
                                "requested authentication mechanism")
                return
            f = self.st.take_fault("auth", sid=self.sid)
            if f is not None:
                await self.reply("auth", f, ["235 2.7.0 OK"])
                if not f.hostile:
                    return
                self.session.authenticated = True
                return
        self._auth_mech = (arg or "").split(" ")[0].upper()
        self._scram_info = None
        words = (arg or "").split()
        if len(words) > 1:
            self.st.event(self.sid, "auth-ir", escape(words[1].encode()))
        self._auth_active = True
        try:
            await super().smtp_AUTH(arg)
        finally:
            self._auth_active = False

    def _path(self, arg, keyword):
        """Split "FROM:<a@b> PARAMS" into (address, raw path, params)."""
        if arg is None or arg[:len(keyword)].upper() != keyword:
            return None
        rest = arg[len(keyword):].lstrip()
        m = re.match(r"^(<[^<>]*>)(.*)$", rest, re.S)
        if not m:
            m = re.match(r"^([^ <>]+)(.*)$", rest, re.S)  # lenient
            if not m:
                return None
        raw, params = m.group(1), m.group(2)
        addr = raw[1:-1] if raw.startswith("<") else raw
        if ":" in addr and addr.startswith("@"):  # source route
            addr = addr.split(":", 1)[1]
        if params and not params.startswith(" "):
            return None
        return addr, raw, params.split()

    async def smtp_MAIL(self, arg):
        if await self.check_helo_needed("EHLO"):
            return
        if await self.check_auth_needed("MAIL"):
            return
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Nested MAIL command")
            return
        p = self._path(arg, "FROM:")
        if p is None:
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        addr, raw, params = p
        err = self._mail_params(addr, params)
        if err:
            await self.push(err)
            return
        if await self.stage("mail", ["250 2.1.0 Sender OK"]):
            self.envelope.mail_from = addr
            self.envelope.mail_options = params
            self.envelope.mail_from_raw = raw

    def _mail_params(self, addr, params):
        a = self.st.args
        seen = set()
        for p in params:
            key, eq, val = p.partition("=")
            key = key.upper()
            if key in seen:
                return "501 5.5.4 Duplicate MAIL parameter %s" % key
            seen.add(key)
            if key == "SIZE" and a.size:
                if not val.isdigit():
                    return "501 5.5.4 Bad SIZE"
                if int(val) > a.size:
                    return "552 5.3.4 Message size exceeds fixed limit"
            elif key == "BODY" and a.eightbitmime:
                if val.upper() not in ("7BIT", "8BITMIME"):
                    return "501 5.5.4 Bad BODY"
            elif key == "SMTPUTF8" and a.smtputf8 and not eq:
                pass
            elif key == "RET" and a.dsn:
                if val.upper() not in ("FULL", "HDRS"):
                    return "501 5.5.4 Bad RET"
            elif key == "ENVID" and a.dsn and val:
                pass
            elif key == "AUTH" and val:
                pass
            else:
                return "555 5.5.4 Unsupported MAIL parameter %s" % key
        if not addr.isascii() and "SMTPUTF8" not in seen:
            return "553 5.6.7 Non-ASCII address needs SMTPUTF8"
        return None

    async def smtp_RCPT(self, arg):
        if await self.check_helo_needed("EHLO"):
            return
        if await self.check_auth_needed("RCPT"):
            return
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Need MAIL command")
            return
        p = self._path(arg, "TO:")
        if p is None or not p[0]:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        addr, raw, params = p
        for prm in params:
            key, _, val = prm.partition("=")
            key = key.upper()
            ok = (self.st.args.dsn and
                  ((key == "NOTIFY" and re.match(
                      r"^(NEVER|(SUCCESS|FAILURE|DELAY)"
                      r"(,(SUCCESS|FAILURE|DELAY))*)$", val.upper())) or
                   (key == "ORCPT" and val)))
            if not ok:
                await self.push("555 5.5.4 Unsupported RCPT parameter %s" %
                                key)
                return
        if not addr.isascii() and "SMTPUTF8" not in \
                [x.upper() for x in self.envelope.mail_options]:
            await self.push("553 5.6.7 Non-ASCII address needs SMTPUTF8")
            return
        if addr.lower() in self.st.args.reject_rcpt:
            await self.push("550 5.1.1 No such user here")
            return
        if self.st.args.rcpt_limit and \
                len(self.envelope.rcpt_tos) >= self.st.args.rcpt_limit:
            await self.push("452 4.5.3 Too many recipients")
            return
        if await self.stage("rcpt", ["250 2.1.5 Recipient OK"], addr):
            self.envelope.rcpt_tos.append(addr)
            self.envelope.rcpt_options.append(params)

    async def smtp_DATA(self, arg):
        if await self.check_helo_needed("EHLO"):
            return
        if await self.check_auth_needed("DATA"):
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        if self.envelope.mail_from is None or not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Need MAIL and RCPT first")
            return
        # Data lines may follow the 354 at once: not a sync error.
        self._in_data = True
        if not await self.stage("data", ["354 End data with <CR><LF>.<CR>"
                                         "<LF>"]):
            self._in_data = False
            return
        try:
            body = await self._read_data()
        finally:
            self._in_data = False
        if body is None:
            return
        data, maxline = body
        a = self.st.args
        if a.size and len(data) > a.size:
            await self.push("552 5.3.4 Message size exceeds fixed limit")
            self._set_post_data_state()
            return
        f = self.st.take_fault("dot", sid=self.sid)
        if f is None or f.hostile:
            n = self._spool(data, maxline)
            lines = ["250 2.0.0 OK queued as %d" % n]
        else:
            lines = ["250 2.0.0 OK"]
        self._set_post_data_state()
        await self.reply("dot", f, lines)

    async def _read_data(self):
        """Lines up to the lone dot, un-stuffed; None if a fault hit."""
        parts = []
        frag = []
        maxline = 0
        body_fault = None
        nlines = 0
        while True:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as e:
                frag.append(await self._reader.read(e.consumed))
                continue
            if frag:
                line = b"".join(frag) + line
                frag = []
            if line == b".\r\n":
                break
            nlines += 1
            maxline = max(maxline, len(line) - 2)
            if line.startswith(b"."):
                line = line[1:]
            parts.append(line)
            if nlines == 1:
                body_fault = self.st.take_fault("body", sid=self.sid)
                if body_fault is not None:
                    await self.reply("body", body_fault,
                                     ["250 2.0.0 hmm"])
                    if not body_fault.hostile:
                        self._set_post_data_state()
                        return None
        return b"".join(parts), maxline

    def _spool(self, data, maxline):
        a = self.st.args
        self.st.messages += 1
        n = self.st.messages
        if not a.spool:
            return n
        env = self.envelope
        facts = {
            "n": n, "session": self.sid, "helo": self.session.host_name,
            "mail_from": env.mail_from,
            "mail_from_raw": getattr(env, "mail_from_raw", None),
            "mail_options": env.mail_options,
            "rcpt_tos": env.rcpt_tos, "rcpt_options": env.rcpt_options,
            "auth_user": None, "auth_mech": None,
            "size": len(data), "max_line_length": maxline,
            "peer": self.session.peer[0] if self.session.peer else None,
        }
        facts.update(tls_facts(self.sslobj() if self.tls_up else None))
        if self.session.authenticated:
            ad = self.session.auth_data
            login = getattr(ad, "login", ad)
            if isinstance(login, bytes):
                login = login.decode("utf-8", "replace")
            facts["auth_user"] = login
            facts["auth_mech"] = self._auth_mech
            info = getattr(self, "_scram_info", None)
            if info:
                facts["auth_gs2"] = info["gs2"]
                facts["auth_cb"] = info["cb"]
        base = os.path.join(a.spool, str(n))
        for ext, blob in ((".eml", data),
                          (".json", json.dumps(facts, indent=1,
                                               sort_keys=True).encode())):
            tmp = base + ext + ".tmp"
            with open(tmp, "wb") as fp:
                fp.write(blob)
            os.replace(tmp, base + ext)
        return n

    # ---- SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, 7677) ----

    async def auth_SCRAM__SHA__256(self, _, args):
        return await self._scram(args, plus=False)

    async def auth_SCRAM__SHA__256__PLUS(self, _, args):
        return await self._scram(args, plus=True)

    async def _scram(self, args, plus):
        a = self.st.args
        if len(args) > 1:
            try:
                first = base64.b64decode(args[1], validate=True)
            except ValueError:
                first = None
        else:
            first = await self.challenge_auth(b"")
        if not isinstance(first, bytes):
            return self._scram_fail("501 5.5.2 Bad client-first")
        m = re.match(rb"^((n|y|p=([A-Za-z0-9.-]+)),(a=[^,]*)?,)"
                     rb"(n=([^,]*),r=([^,]+)(,.*)?)$", first, re.S)
        if not m:
            return self._scram_fail("501 5.5.2 Bad client-first")
        gs2, flag, cbname = m.group(1), m.group(2), m.group(3)
        bare, user, cnonce = m.group(5), m.group(6), m.group(7)
        self._scram_info = {"gs2": gs2.decode(), "cb": None}
        if plus and not flag.startswith(b"p="):
            return self._scram_fail("535 5.7.8 -PLUS needs channel binding")
        if not plus and flag.startswith(b"p="):
            return self._scram_fail("535 5.7.8 Channel binding with a "
                                    "non-PLUS mechanism")
        if flag == b"y" and self._scram_plus_offered():
            # RFC 5802 6: the client thinks we do not support -PLUS.
            return self._scram_fail("535 5.7.8 Downgrade detected")
        cbdata = b""
        if plus:
            cbdata = self._channel_binding(cbname.decode())
            if cbdata is None:
                return self._scram_fail("535 5.7.8 Unsupported channel "
                                        "binding type")
            self._scram_info["cb"] = cbname.decode()
        salt = hashlib.sha256(b"salt" + (a.user or "").encode()).digest()
        iters = self.st.args.scram_iterations
        snonce = cnonce + base64.b64encode(os.urandom(18))
        sfirst = b"r=" + snonce + b",s=" + base64.b64encode(salt) + \
            b",i=" + str(iters).encode()
        final = await self.challenge_auth(sfirst)
        if not isinstance(final, bytes):
            return AuthResult(success=False, handled=True)
        m = re.match(rb"^(c=([^,]*),r=([^,]*)(,.*)?),p=([^,]*)$", final)
        if not m:
            return self._scram_fail("501 5.5.2 Bad client-final")
        without_proof, cb64, rnonce, proof64 = (
            m.group(1), m.group(2), m.group(3), m.group(5))
        if rnonce != snonce:
            return self._scram_fail("535 5.7.8 Nonce mismatch")
        if base64.b64decode(cb64) != gs2 + cbdata:
            return self._scram_fail("535 5.7.8 Channel binding mismatch")
        user_s = user.replace(b"=2C", b",").replace(b"=3D", b"=")
        salted = hashlib.pbkdf2_hmac("sha256",
                                     (a.password or "").encode(), salt, iters)
        ckey = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(ckey).digest()
        authmsg = bare + b"," + sfirst + b"," + without_proof
        csig = hmac.new(stored, authmsg, hashlib.sha256).digest()
        proof = base64.b64decode(proof64)
        if len(proof) != len(csig):
            return self._scram_fail("535 5.7.8 Bad proof")
        got = bytes(x ^ y for x, y in zip(proof, csig))
        if (a.user is None or user_s != a.user.encode() or
                not hmac.compare_digest(hashlib.sha256(got).digest(),
                                        stored)):
            return self._scram_fail("535 5.7.8 Authentication credentials "
                                    "invalid")
        skey = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        ssig = hmac.new(skey, authmsg, hashlib.sha256).digest()
        # RFC 4954 4: additional data with success goes in a 334, the
        # client answers with an empty line, then 235.
        empty = await self.challenge_auth(b"v=" + base64.b64encode(ssig))
        if empty != b"":
            return AuthResult(success=False, handled=True)
        return AuthResult(success=True, handled=False,
                          auth_data=LoginPassword(user_s, b""))

    # ---- XOAUTH2 and OAUTHBEARER (RFC 7628): --password is the token ----

    async def auth_XOAUTH2(self, _, args):
        # user=U ^A auth=Bearer T ^A ^A
        return await self._bearer(args, rb"^user=([^\x01]*)\x01"
                                  rb"auth=Bearer ([^\x01]+)\x01\x01$", b"")

    async def auth_OAUTHBEARER(self, _, args):
        # n,a=U, ^A host=... ^A port=... ^A auth=Bearer T ^A ^A
        return await self._bearer(args, rb"^n,a=([^,]*),\x01(?:[a-z]+=[^\x01]*"
                                  rb"\x01)*?auth=Bearer ([^\x01]+)\x01"
                                  rb"(?:[a-z]+=[^\x01]*\x01)*\x01$", b"\x01")

    async def _bearer(self, args, pattern, abort):
        a = self.st.args
        if len(args) > 1:
            try:
                ir = base64.b64decode(args[1], validate=True)
            except ValueError:
                ir = None
        else:
            ir = await self.challenge_auth(b"")
        m = re.match(pattern, ir, re.S) if isinstance(ir, bytes) else None
        if m and m.group(1).decode() == a.user and \
                self._token_ok(m.group(2).decode()):
            return AuthResult(success=True, handled=False,
                              auth_data=LoginPassword(m.group(1), b""))
        # The error goes out as a challenge; the client answers it with
        # the abort response, then the failure follows (RFC 7628 3.2.3).
        err = json.dumps({"status": "invalid_token"}).encode()
        if await self.challenge_auth(err) != abort:
            return self._scram_fail("501 5.5.2 Bad abort response")
        return self._scram_fail("535 5.7.8 Invalid token")

    def _token_ok(self, token):
        """--password, or with --token-file (issue 11) a token that
        oauth2d.py issued and that has not expired."""
        a = self.st.args
        if not a.token_file:
            return token == a.password
        try:
            with open(a.token_file) as fp:
                lines = fp.read().split("\n")
        except OSError:
            return False
        for line in lines:
            t, _, exp = line.partition(" ")
            if t == token and exp and float(exp) > time.time():
                return True
        return False

    def _scram_fail(self, msg):
        return AuthResult(success=False, handled=False, message=msg)

    def _scram_plus_offered(self):
        return "SCRAM-SHA-256-PLUS" in self.st.args.mechs and self.tls_up

    def _channel_binding(self, name):
        """The channel binding data of this TLS session (RFC 5929, 9266),
        or None when we cannot compute that type."""
        sslobj = self.sslobj()
        if sslobj is None:
            return None
        data = None
        if name == "tls-unique" and sslobj.version() != "TLSv1.3":
            # RFC 9266: tls-unique is undefined for TLS 1.3.
            data = sslobj.get_channel_binding("tls-unique")
        elif name == "tls-exporter":
            data = tls_exporter(sslobj)
        elif name == "tls-server-end-point":
            # Our certificates are signed with SHA-256 (mkca.sh).
            with open(self.st.args.cert) as fp:
                der = ssl.PEM_cert_to_DER_cert(fp.read())
            data = hashlib.sha256(der).digest()
        if data is not None and self.st.args.cb_corrupt:
            data = bytes([data[0] ^ 1]) + data[1:]
        return data


def tls_exporter(sslobj):
    """RFC 9266 tls-exporter: 32 bytes of the TLS exporter with label
    "EXPORTER-Channel-Binding" and no context.  Python's ssl module has no
    export_keying_material(), so call OpenSSL on the SSL * that the
    _ssl._SSLSocket object holds right after its PyObject header and the
    socket weakref (CPython 3.8 to 3.13).  None if that is not possible."""
    import ctypes
    import ctypes.util
    if not (3, 8) <= sys.version_info[:2] <= (3, 13):
        return None
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("ssl"))
        fn = lib.SSL_export_keying_material
        fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                       ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                       ctypes.c_size_t, ctypes.c_int]
        fn.restype = ctypes.c_int
        lib.SSL_version.argtypes = [ctypes.c_void_p]
        lib.SSL_version.restype = ctypes.c_int
        inner = getattr(sslobj, "_sslobj", sslobj)
        ptr = ctypes.c_void_p.from_address(id(inner) + 2 * 8 + 8).value
        want = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}.get(sslobj.version())
        if not ptr or lib.SSL_version(ptr) != want:
            return None
        out = ctypes.create_string_buffer(32)
        label = b"EXPORTER-Channel-Binding"
        if fn(ptr, out, 32, label, len(label), None, 0, 0) != 1:
            return None
        return out.raw
    except (OSError, AttributeError, ValueError):
        return None


def hostile_bytes(act, code, lines, text, stage):
    if act == "reply":
        return text
    if act == "overlong":
        return code + b" " + b"x" * 3000 + b"\r\n"
    if act == "manylines":
        return b"".join(code + b"-line %d\r\n" % i for i in range(150)) + \
            code + b" last\r\n"
    if act == "nul":
        return code + b" ok\0 hidden\r\n"
    if act == "badcode":
        return code + b"0 bad code shape\r\n"
    if act == "mixed":
        other = b"554" if code.startswith(b"2") else b"250"
        return code + b"-first line\r\n" + other + b" second line\r\n"
    if act == "inject":
        return b"".join(x + b"\r\n" for x in lines) + b"250 injected\r\n"
    raise ValueError(act)


# ---- the scripted server ----

def load_script(path):
    steps = []
    with open(path, encoding="utf-8") as fp:
        for lineno, line in enumerate(fp, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            verb, _, rest = line.strip().partition(" ")
            if verb not in ("send", "raw", "trickle", "read", "expect",
                            "readdata", "starttls", "sleep", "close"):
                raise ValueError("%s:%d: unknown directive %r" %
                                 (path, lineno, verb))
            steps.append((verb, rest))
    return steps


async def run_script(state, steps, ctx, implicit, reader, writer):
    state.sessions += 1
    sid = state.sessions
    tls = implicit
    rec = LineRecorder(state, sid)

    async def readline():
        line = await reader.readline()
        if not line:
            return None
        rec.feed(line, tls)
        return line

    if state.args.sockbuf:
        # Block in drain() until the kernel took every byte: while its
        # replies back up, this server reads nothing (as many do).
        writer.transport.set_write_buffer_limits(0)

    async def send(data):
        state.logline(sid, "S:", escape(data))
        if state.args.sockbuf:
            writer.transport.pause_reading()
        writer.write(data)
        await writer.drain()
        if state.args.sockbuf:
            writer.transport.resume_reading()

    try:
        for verb, rest in steps:
            if verb == "send":
                await send(unescape(rest) + b"\r\n")
            elif verb == "raw":
                await send(unescape(rest))
            elif verb == "trickle":
                for b in unescape(rest) + b"\r\n":
                    await send(bytes([b]))
                    await asyncio.sleep(1)
            elif verb == "read":
                if await readline() is None:
                    break
            elif verb == "expect":
                line = await readline()
                if line is None or not line.upper().startswith(
                        rest.upper().encode()):
                    state.rec(sid, "! expected %s" % rest)
                    break
            elif verb == "readdata":
                while True:
                    line = await readline()
                    if line is None or line == b".\r\n":
                        break
            elif verb == "starttls":
                await writer.start_tls(ctx)
                tls = True
            elif verb == "sleep":
                await asyncio.sleep(float(rest))
            elif verb == "close":
                break
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as e:
        state.logline(sid, "!", "error: %r" % e)
    finally:
        rec.flush(tls)
        writer.close()


# ---- process ----

def parse_args(argv):
    p = argparse.ArgumentParser(description="SMTP test server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--tls", default="starttls",
                   choices=("none", "starttls", "starttls-required",
                            "implicit"))
    p.add_argument("--no-offer-starttls", dest="offer_starttls",
                   action="store_false",
                   help="have a certificate but do not offer STARTTLS")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca", help="ask for a client certificate")
    p.add_argument("--tls-max", choices=("1.2", "1.3"))
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--token-file",
                   help="bearer tokens: only those listed here and not "
                   "expired (written by oauth2d.py)")
    p.add_argument("--mechs", default="PLAIN,LOGIN",
                   help="comma list of PLAIN LOGIN SCRAM-SHA-256 "
                        "SCRAM-SHA-256-PLUS (empty: no AUTH)")
    p.add_argument("--auth-required", action="store_true")
    p.add_argument("--cb-corrupt", action="store_true",
                   help="SCRAM-PLUS: expect channel binding data with one "
                        "bit flipped (as a man in the middle would)")
    p.add_argument("--auth-plaintext", action="store_true",
                   help="offer and accept AUTH without TLS")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--no-8bitmime", dest="eightbitmime",
                   action="store_false")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--dsn", action="store_true")
    p.add_argument("--no-pipelining", dest="pipelining",
                   action="store_false")
    p.add_argument("--ehlo-extra", action="append", default=[])
    p.add_argument("--ehlo-plain-extra", action="append", default=[],
                   help="a capability offered only before TLS")
    p.add_argument("--ehlo-tls-extra", action="append", default=[],
                   help="a capability offered only over TLS")
    p.add_argument("--greeting-delay", type=float, default=0.0)
    p.add_argument("--events")
    p.add_argument("--reject-rcpt", action="append", default=[])
    p.add_argument("--rcpt-limit", type=int, default=0,
                   help="answer 452 4.5.3 to RCPTs beyond N per transaction")
    p.add_argument("--sockbuf", type=int, default=0,
                   help="SO_SNDBUF/SO_RCVBUF of the connections, bytes; "
                        "with --script, replies are written before the "
                        "next line is read")
    p.add_argument("--spool")
    p.add_argument("--record")
    p.add_argument("--log")
    p.add_argument("--fault", action="append", default=[])
    p.add_argument("--stall", type=float, default=30.0)
    p.add_argument("--scram-iterations", type=int, default=4096)
    p.add_argument("--idle-timeout", type=float, default=60.0)
    p.add_argument("--max-lifetime", type=float, default=120.0)
    p.add_argument("--parent-pid", type=int, default=0,
                   help="exit when this process is gone (default: the "
                        "parent process)")
    p.add_argument("--script")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    a.mechs = [m.strip().upper() for m in a.mechs.split(",") if m.strip()]
    a.reject_rcpt = [x.lower() for x in a.reject_rcpt]
    if a.tls != "none" and not (a.cert and a.key):
        p.error("--tls %s needs --cert and --key" % a.tls)
    for f in a.fault:
        try:
            Fault(f)
        except ValueError as e:
            p.error(str(e))
    return a


def make_ctx(a):
    if a.tls == "none":
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)

    def note_sni(sslobj, name, _ctx):
        sslobj.sni_seen = name  # read back by Session.note_tls()
        return None

    ctx.sni_callback = note_sni
    if a.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.client_ca:
        ctx.load_verify_locations(a.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def write_port_file(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        fp.write("%d\n" % port)
    os.replace(tmp, path)


async def serve(a):
    loop = asyncio.get_running_loop()
    state = State(a)
    ctx = make_ctx(a)
    implicit = a.tls == "implicit"
    if a.spool:
        os.makedirs(a.spool, exist_ok=True)
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.sockbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, a.sockbuf)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.sockbuf)
    sock.bind((a.host, a.port))
    sock.listen(64)
    if a.script:
        steps = load_script(a.script)
        server = await asyncio.start_server(
            lambda r, w: run_script(state, steps, ctx, implicit, r, w),
            sock=sock, ssl=ctx if implicit else None,
            limit=8192 if a.sockbuf else 1 << 20)
    else:
        server = await loop.create_server(
            lambda: Session(state, implicit,
                            starttls_ctx=None if implicit else ctx),
            sock=sock, ssl=ctx if implicit else None)
    port = sock.getsockname()[1]
    if a.port_file:
        write_port_file(a.port_file, port)
    log.info("listening on %s port %d", a.host, port)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(a.max_lifetime, stop.set)
    parent = a.parent_pid or os.getppid()

    async def watch_parent():
        while not stop.is_set():
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                stop.set()
            except PermissionError:
                pass
            if not a.parent_pid and os.getppid() != parent:
                stop.set()
            await asyncio.sleep(0.5)

    watcher = asyncio.ensure_future(watch_parent())
    await stop.wait()
    watcher.cancel()
    server.close()


def main(argv):
    a = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if a.verbose else logging.WARNING,
        format="smtpd.py: %(name)s: %(message)s")
    warnings.simplefilter("ignore")
    if not a.verbose:
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    try:
        asyncio.run(serve(a))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
