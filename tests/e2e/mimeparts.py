#!/usr/bin/python3
"""mimeparts.py FILE DIR: split the top-level multipart of a received
message into DIR/1, DIR/2, ... (each part's bytes exactly as between the
delimiters, RFC 2046 5.1.1: the CRLF before a delimiter belongs to it) and
DIR/N.body (the part's body after its header block).  Also DIR/headers (the
outer header block) and DIR/body (the outer body)."""
import os
import re
import sys

data = open(sys.argv[1], "rb").read()
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
i = data.find(b"\r\n\r\n")
head, body = data[:i + 2], data[i + 4:]
open(os.path.join(out, "headers"), "wb").write(head)
open(os.path.join(out, "body"), "wb").write(body)
unfolded = re.sub(rb"\r\n[ \t]+", b" ", head)
m = re.search(rb'(?im)^content-type:.*?boundary="?([^";\r\n]+)"?', unfolded)
if not m:
    sys.exit(0)
delim = b"--" + m.group(1)
pieces = (b"\r\n" + body).split(b"\r\n" + delim)
# pieces[0] is the preamble; the last starts with "--" (the close).
for n, p in enumerate(pieces[1:-1], 1):
    assert p.startswith(b"\r\n"), "delimiter line not ended by CRLF"
    p = p[2:]
    open(os.path.join(out, str(n)), "wb").write(p)
    j = p.find(b"\r\n\r\n")
    open(os.path.join(out, "%d.body" % n), "wb").write(p[j + 4:])
