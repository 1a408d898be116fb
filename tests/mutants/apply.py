#!/usr/bin/python3
"""apply.py MUTANT SRCDIR [field] -- apply one mutant to a source tree.

A mutant file (tests/mutants/*.mut) says what it breaks, which file it
changes, which tests must catch it, and one or more hunks:

    # one or more comment lines: the promise broken and how
    promise N1
    file src/tls.c
    tests tests/e2e/tls-pin-sni.sh tests/unit/test_smtp
    @@ anchor
    <exact lines of the original>
    @@ replace
    <the lines that take their place>
    @@ end

Each anchor must occur exactly once in the file as it is now: a mutant is
keyed on code, not on line numbers, and when the code it names has moved
on, applying it fails loudly (exit 3) instead of testing nothing.  With a
field name (promise, file, tests) it only prints that field.
Exit status: 0 applied (or printed), 2 bad mutant file, 3 stale anchor."""

import os
import sys


def parse(path):
    meta, hunks, cur, mode = {}, [], None, None
    with open(path, encoding="utf-8") as fp:
        for lineno, line in enumerate(fp, 1):
            if line.startswith("@@ "):
                word = line[3:].strip()
                if word == "anchor" and mode is None:
                    cur, mode = [[], []], 0
                elif word == "replace" and mode == 0:
                    mode = 1
                elif word == "end" and mode == 1:
                    hunks.append(("".join(cur[0]), "".join(cur[1])))
                    cur, mode = None, None
                else:
                    raise ValueError("%s:%d: unexpected %s" %
                                     (path, lineno, line.strip()))
            elif mode is not None:
                cur[mode].append(line)
            elif line.startswith("#") or not line.strip():
                continue
            else:
                key, _, val = line.strip().partition(" ")
                if key not in ("promise", "file", "tests"):
                    raise ValueError("%s:%d: unknown field %r" %
                                     (path, lineno, key))
                meta[key] = val.strip()
    if mode is not None:
        raise ValueError("%s: hunk without @@ end" % path)
    for k in ("promise", "file", "tests"):
        if not meta.get(k):
            raise ValueError("%s: no %s line" % (path, k))
    if not hunks or any(not a for a, _ in hunks):
        raise ValueError("%s: no hunk, or an empty anchor" % path)
    return meta, hunks


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: apply.py MUTANT SRCDIR [field]\n")
        return 2
    try:
        meta, hunks = parse(argv[1])
    except (OSError, ValueError) as e:
        sys.stderr.write("apply.py: %s\n" % e)
        return 2
    if len(argv) == 4:
        print(meta.get(argv[3], ""))
        return 0
    target = os.path.join(argv[2], meta["file"])
    with open(target, encoding="utf-8") as fp:
        text = fp.read()
    for n, (anchor, repl) in enumerate(hunks, 1):
        count = text.count(anchor)
        if count != 1:
            sys.stderr.write(
                "apply.py: %s: hunk %d: the anchor occurs %d times in %s "
                "(must be once); the mutant is stale: update it\n" %
                (os.path.basename(argv[1]), n, count, meta["file"]))
            return 3
        text = text.replace(anchor, repl)
    with open(target, "w", encoding="utf-8") as fp:
        fp.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
