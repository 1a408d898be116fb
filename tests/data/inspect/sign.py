"""Sign a message as another signer would, for tests/e2e/inspect.sh.

usage: sign.py dkim KEY SELECTOR DOMAIN HEADERS LENGTH <in >out
       sign.py arc KEY SELECTOR DOMAIN SRV_ID <in >out

dkim: a DKIM-Signature by dkimpy (relaxed/relaxed), h= the colon-separated
HEADERS, with l= when LENGTH is 1.  arc: one ARC set (RFC 8617) by dkimpy's
arc_sign, as a forwarder whose Authentication-Results authserv-id is
SRV_ID.  Line ends are kept as CRLF.
"""
import sys

import dkim


def main():
    mode, key, sel, dom = sys.argv[1:5]
    msg = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    priv = open(key, "rb").read()
    if mode == "dkim":
        heads = [h.encode() for h in sys.argv[5].split(":")]
        sig = dkim.sign(msg, sel.encode(), dom.encode(), priv,
                        canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=heads, length=sys.argv[6] == "1",
                        linesep=b"\r\n")
        out = sig + msg
    else:
        lines = dkim.arc_sign(msg, sel.encode(), dom.encode(), priv,
                              sys.argv[5].encode(), linesep=b"\r\n")
        out = b"".join(lines) + msg
    sys.stdout.buffer.write(out)


main()
