#!/usr/bin/python3
"""Verify every DKIM-Signature of a message with dkimpy (python3-dkim).

usage: pyverify.py MESSAGE NAME=FILE...
       pyverify.py --batch LISTFILE NAME=FILE...

Keys come only from the given TXT records (FILE holds the record text,
plain or in zone-file form with quoted strings, as postseal --dkim-keygen
prints it); there is no DNS.  Prints one line per signature and exits 0
only if there is at least one signature and every one verifies; 1 if any
fails; 77 if dkimpy (or PyNaCl, for ed25519) is missing.  With --batch,
checks many messages in one run (Python starts slowly): see batch().
"""
import logging
import re
import sys

try:
    import dkim
    import nacl.signing  # noqa: F401  (dkimpy needs it for ed25519)
except ImportError as exc:
    print("pyverify: %s" % exc)
    sys.exit(77)


def load_record(arg):
    name, path = arg.split("=", 1)
    with open(path, "rb") as fp:
        text = fp.read()
    if b'"' in text:
        text = b"".join(re.findall(rb'"((?:[^"\\]|\\.)*)"', text))
    return name.rstrip(".").lower(), text.strip()


def verify(path, records):
    """Lines for each signature of the message at path, and how many failed
    (None if it has no signature)."""
    with open(path, "rb") as fp:
        msg = fp.read()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        return records.get(name.rstrip(".").lower())

    headers, _ = dkim.rfc822_parse(msg)
    nsig = sum(1 for h in headers if h[0].lower() == b"dkim-signature")
    lines, failed = [], 0
    for idx in range(nsig):
        d = dkim.DKIM(msg, minkey=1024, logger=logging.getLogger("dkimpy"))
        why = ""
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.DKIMException as exc:
            ok, why = False, ": %s" % exc
        sel = d.signature_fields.get(b"s", b"?").decode("ascii", "replace")
        alg = d.signature_fields.get(b"a", b"?").decode("ascii", "replace")
        lines.append("dkimpy: signature %d: %s s=%s a=%s%s"
                     % (idx + 1, "pass" if ok else "fail", sel, alg, why))
        failed += 0 if ok else 1
    return lines, (failed if nsig else None)


def batch(listfile, records):
    """Each line of listfile: "pass PATH WHAT" (every signature passes) or
    "fail PATH WHAT" (some signature fails).  Prints a line for each entry
    that does not behave; exit 1 if there is one."""
    bad = 0
    with open(listfile, encoding="utf-8") as fp:
        entries = [line.rstrip("\n").split(" ", 2) for line in fp if line.strip()]
    for want, path, what in entries:
        lines, failed = verify(path, records)
        got = "pass" if failed == 0 else "fail"
        if got != want:
            bad += 1
            print("dkimpy: %s: expected %s, got %s" % (what, want, got))
            for line in lines:
                print("    " + line)
    print("dkimpy: %d messages checked, %d not as expected"
          % (len(entries), bad))
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    logging.basicConfig(level=logging.CRITICAL, stream=sys.stdout)
    if args[0] == "--batch":
        return batch(args[1], dict(load_record(a) for a in args[2:]))
    lines, failed = verify(args[0], dict(load_record(a) for a in args[1:]))
    print("\n".join(lines) if lines else "dkimpy: no DKIM-Signature")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
