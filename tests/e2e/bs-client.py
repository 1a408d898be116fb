#!/usr/bin/python3
"""bs-client.py -- speak SMTP to "postseal -bs" over a pipe, from a script.

usage: bs-client.py SCRIPT TRANSCRIPT -- COMMAND [ARGS...]

Starts COMMAND with stdin and stdout as pipes, then runs SCRIPT, one
directive per line ("#" starts a comment line):
  send TEXT     send TEXT + CRLF (escapes: \\r \\n \\0 \\t \\xNN \\\\)
  raw TEXT      send TEXT only (same escapes)
  repeat N TEXT send TEXT + CRLF N times
  expect CODE   read one whole reply (multi-line included); its code must
                be CODE (three digits; "4xx"/"5xx" match a class)
  expectn N CODE  N replies, each CODE (for pipelined commands)
  close         close the child's stdin
The transcript gets "> line" for what was sent (raw sends as one line) and
"< line" for each reply line, then "exit N" with the child's status.
Exit status: 0 if every expect matched, 1 if one did not (the first
mismatch is printed), 2 for a timeout (30 s per reply) or bad script.
"""

import os
import re
import select
import subprocess
import sys
import time


def unescape(text):
    out = bytearray()
    i = 0
    b = text.encode("utf-8")
    while i < len(b):
        c = b[i:i + 1]
        if c == b"\\" and i + 1 < len(b):
            n = b[i + 1:i + 2]
            if n == b"x":
                out += bytes([int(b[i + 2:i + 4], 16)])
                i += 4
                continue
            out += {b"r": b"\r", b"n": b"\n", b"0": b"\0", b"t": b"\t",
                    b"\\": b"\\"}.get(n, b"\\" + n)
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


class Child:
    def __init__(self, argv, transcript):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.buf = b""
        self.t = transcript

    def send(self, data):
        self.t.write(b"> " + data.rstrip(b"\r\n") + b"\n")
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            self.t.write(b"! broken pipe\n")

    def line(self):
        deadline = time.time() + 30
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no reply in 30 s")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError("end of output")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        self.t.write(b"< " + line.rstrip(b"\r") + b"\n")
        return line

    def reply(self):
        while True:
            line = self.line()
            if not line.endswith(b"\r"):
                raise ValueError("reply line without CRLF: %r" % line)
            if len(line) < 4 or line[3:4] != b"-":
                return line[:3].decode("ascii", "replace")


def matches(code, want):
    if re.fullmatch(r"[2-5]xx", want):
        return code[:1] == want[:1]
    return code == want


def run(script, child):
    for n, raw in enumerate(open(script, encoding="utf-8"), 1):
        raw = raw.rstrip("\n")
        if not raw or raw.startswith("#"):
            continue
        word, _, arg = raw.partition(" ")
        if word == "send":
            child.send(unescape(arg) + b"\r\n")
        elif word == "raw":
            child.send(unescape(arg))
        elif word == "repeat":
            count, _, text = arg.partition(" ")
            child.send((unescape(text) + b"\r\n") * int(count))
        elif word in ("expect", "expectn"):
            count, want = (1, arg) if word == "expect" else \
                (int(arg.split()[0]), arg.split()[1])
            for _ in range(count):
                code = child.reply()
                if not matches(code, want):
                    print("line %d: got %s, expected %s" % (n, code, want))
                    return 1
        elif word == "close":
            child.p.stdin.close()
        else:
            print("line %d: unknown directive %s" % (n, word))
            return 2
    return 0


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print(__doc__)
        return 2
    with open(sys.argv[2], "wb") as t:
        child = Child(sys.argv[4:], t)
        try:
            rc = run(sys.argv[1], child)
        except (TimeoutError, EOFError, ValueError) as exc:
            print("bs-client: %s" % exc)
            rc = 2
        try:
            if not child.p.stdin.closed:
                child.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            status = child.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.p.kill()
            status = child.p.wait()
        t.write(b"exit %d\n" % status)
    return rc


if __name__ == "__main__":
    sys.exit(main())
