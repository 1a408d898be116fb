#!/bin/sh
# A 50 MB body: signed (rsa-sha256 and ed25519-sha256, relaxed/relaxed and
# simple/simple) with memory that does not grow with the message; the
# signatures verify in postseal, OpenDKIM, dkimpy and (rsa) Mail::DKIM; a
# copy with one byte changed in the middle fails.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
dkim_keygen rsa rs
dkim_keygen ed25519 ed
MAX_RSS_KB=16384

# 50 MiB of text lines with runs of WSP, trailing WSP, empty lines, 8-bit.
"$PYTHON" - "$T/big.in" <<'PY' || hard_error "cannot make the message"
import random, sys
random.seed(50)
words = [b"lorem", b"ipsum", b"dolor", b"sit", b"amet", b"\xc3\xa9t\xc3\xa9"]
with open(sys.argv[1], "wb") as f:
    f.write(b"From: Joe <joe@example.com>\r\nTo: sue@example.org\r\n"
            b"Subject: big\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            b"Message-ID: <big@example.com>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n")
    n, chunk = 0, []
    while n < 50 * 1024 * 1024:
        line = b" ".join(random.choice(words)
                         for _ in range(random.randint(1, 14)))
        r = random.random()
        if r < 0.05:
            line = line.replace(b" ", b" \t  ")
        elif r < 0.10:
            line = b"\t " + line + b"  "
        elif r < 0.15:
            line = b""
        chunk.append(line + b"\r\n")
        n += len(line) + 2
        if len(chunk) > 4096:
            f.write(b"".join(chunk))
            chunk = []
    f.write(b"".join(chunk) + b"\r\n\r\n")
PY

# peak_rss IN OUT ARGS...: run ARGS with stdin IN, stdout OUT; sets RC and
# RSS (peak resident set in KiB, "" without /usr/bin/time).  Not Python's
# rusage: a forked Python child's size before exec would count.
peak_rss() {
	_in=$1
	_out=$2
	shift 2
	RSS=
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$T/rss" "$@" <"$_in" >"$_out"
		RC=$?
		RSS=$(tail -n 1 "$T/rss")
	else
		"$@" <"$_in" >"$_out"
		RC=$?
	fi
}

check_rss() {
	if [ -z "$RSS" ]; then
		partial_skip "$1: peak RSS not measured (no /usr/bin/time)"
		return 0
	fi
	e2e_log "$1: peak RSS $RSS KiB"
	if [ -z "$sanitized" ] && [ "$RSS" -gt "$MAX_RSS_KB" ]; then
		ok
		fail "$1: peak RSS $RSS KiB > $MAX_RSS_KB KiB"
	fi
}

# Sanitizer builds have large shadow memory: no RSS bound there.
sanitized=
grep -q -a -e __asan_init -e __ubsan_handle "$POSTSEAL" && sanitized=1

for canon in relaxed/relaxed simple/simple; do
	dkim_config "$canon" rs rsa ed ed25519
	peak_rss "$T/big.in" "$T/big.eml" "$POSTSEAL" --dkim-sign -C "$CFG" \
	    --dkim-time 1700000000
	assert_exit 0 "--dkim-sign 50 MB $canon"
	check_rss "--dkim-sign 50 MB $canon"
	assert_eq "$(sed -n 1p "$T/big.eml" | grep -c 'a=rsa-sha256')" 1 \
	    "rsa-sha256 topmost"
	# Mail::DKIM takes seconds per 50 MB; once is enough.
	NO_PERL=
	[ "$canon" = simple/simple ] && NO_PERL=1
	verify_everywhere "$T/big.eml" "50 MB $canon"
	peak_rss "$T/big.eml" "$T/verify.out" "$POSTSEAL" --dkim-verify \
	    --dns-record "rs._domainkey.$DOMAIN=$T/rs.rec" \
	    --dns-record "ed._domainkey.$DOMAIN=$T/ed.rec"
	assert_exit 0 "--dkim-verify 50 MB $canon"
	check_rss "--dkim-verify 50 MB $canon"
	# One byte in the middle of the body changed.
	cp "$T/big.eml" "$T/bad.eml"
	printf 'X' | dd of="$T/bad.eml" bs=1 seek=26214400 conv=notrunc \
	    2>/dev/null
	ok
	cmp -s "$T/big.eml" "$T/bad.eml" && fail "tampering changed nothing"
	NO_PY=1 verify_fails "$T/bad.eml" "50 MB $canon, one byte changed"
	assert_eq "$(grep -c 'body hash mismatch' "$T/ours.out")" 2 \
	    "50 MB $canon, one byte changed: why"
	rm -f "$T/big.eml" "$T/bad.eml"
done
dkim_done
