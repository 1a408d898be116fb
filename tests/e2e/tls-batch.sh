#!/bin/sh
# TLS records leave in batches (tls.c, push_vec()): GnuTLS pushes each
# 16 KiB record on its own, so a 1 MB body cost one system call per record;
# tls_flush() gathers up to four records per send().  Checked by tracing a
# real submission over implicit TLS:
# - a write carries more than one record (the old code never did), and the
#   1 MB body takes far fewer writes than its 64 records;
# - against a server that reads through a 4 KiB socket buffer, so an 8 MB
#   body fills the client's socket buffer and writes meet EAGAIN
#   mid-batch, the body still arrives byte for byte, and once.
. "$(dirname "$0")/lib.sh"
e2e_init
# LeakSanitizer cannot run under ptrace (strace): off for a sanitizer build.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
postseal_only
need_cmd strace
make_ca
mkbody() { # FILE WANT LINES
"$PYTHON" - "$@" <<'PY'
import sys
lines = ["%07d " % i + "abcdefghijklmnopqrstuvwxyz0123456789" for i in range(int(sys.argv[3]))]
body = "\r\n".join(lines) + "\r\n"
head = "From: sender@example.org\r\nTo: rcpt@example.org\r\nSubject: big\r\n\r\n"
open(sys.argv[1], "w", newline="").write(head + body)
open(sys.argv[2], "w", newline="").write(body)
PY
}
mkbody "$T/big" "$T/big.want" 24000
[ "$(wc -c <"$T/big.want")" -gt 1000000 ] || hard_error "the body is too small"

traced() { # run postseal under strace: the TCP writes into $T/writes
	OUT=$T/postseal.out ERR=$T/postseal.err
	strace -f -yy -o "$T/trace" -e trace=write,writev,sendto,sendmsg \
	    "$POSTSEAL" -C "$CFG" rcpt@example.org <"$T/big" >"$OUT" 2>"$ERR"
	RC=$?
	grep '<TCP' "$T/trace" >"$T/writes"
}

# 1. Records gathered.
start_server --tls implicit --user u@example.org --password 'pw-1'
base_config implicit u@example.org 'pw-1' | write_config
traced
assert_exit 0 "1 MB over TLS"
assert_delivered 1
eml_part "$SPOOL/1.eml" body >"$T/got1"
assert_same_file "$T/got1" "$T/big.want" "1 MB body"
# A full record is 16 406 octets on the wire (TLS 1.3, AES-GCM).
multi=$(awk '$NF ~ /^[0-9]+$/ && $NF > 16500 { n++ } END { print n + 0 }' "$T/writes")
[ "$multi" -gt 0 ] || fail "no write carries more than one TLS record: $(awk '{ print $NF }' "$T/writes" | sort -n | uniq -c | tail -3)"
n=$(wc -l <"$T/writes")
[ "$n" -lt 60 ] || fail "$n writes for a 1 MB body (about 70 records)"
ok

# 2. A server that reads slowly through 4 KiB: 8 MB fill the client's
#    socket buffer, so writes meet EAGAIN inside a batch.
mkbody "$T/big" "$T/big.want" 190000
stop_server
start_server --tls implicit --user u@example.org --password 'pw-1' --sockbuf 4096
base_config implicit u@example.org 'pw-1' | write_config
traced
assert_exit 0 "8 MB over TLS, slow reader"
assert_delivered 1
eml_part "$SPOOL/1.eml" body >"$T/got2"
assert_same_file "$T/got2" "$T/big.want" "8 MB body, slow reader"
# Whether EAGAIN came is up to the kernel: said, not asserted.
grep -q EAGAIN "$T/writes" || e2e_log "note: no write met EAGAIN this time"
e2e_done
