#!/bin/sh
# -bs with hostile input (issue 9): an over-long command line, NUL and a
# bare CR in commands, too many recipients, pipelined garbage up to the
# error limit, a whole pipelined transaction in one write, and a 200 KB
# data line; the bounds are those of our client (2048-byte lines).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "-bs"
. "$E2E/callers_common.sh"
start_server --tls none
: | caller_config plain
long=$("$PYTHON" -c 'print("NOOP " + "x" * 3000)')
line2047=$("$PYTHON" -c 'print("NOOP " + "x" * 2041)')

cat >"$T/s1" <<SCRIPT
expect 220
send $long
expect 500
send $line2047
expect 250
send NO\\0OP
expect 500
send NO\\rOP
expect 500
send EHLO x
expect 250
send MAIL FROM:<sender@example.org>
expect 250
repeat 1001 RCPT TO:<a@example.org>
expectn 1000 250
expect 452
send DATA
expect 354
send Subject: many
send
send hello
send .
expect 250
raw MAIL FROM:<sender@example.org>\\r\\nRCPT TO:<p@example.org>\\r\\nDATA\\r\\nSubject: pipelined\\r\\n\\r\\nbody\\r\\n.\\r\\nNOOP\\r\\n
expectn 2 250
expect 354
expect 250
expect 250
send QUIT
expect 221
SCRIPT
bs_run "$T/s1" -C "$CFG" -odi
assert_bs_ok "hostile commands"
assert_eq "$BS_EXIT" 0 "exit status"
assert_grep '^< 500 5\.5\.2 Line too long' "$T/bs.transcript"
assert_grep '^< 452 4\.5\.3 Too many recipients' "$T/bs.transcript"
assert_file_count "$SPOOL" '*.eml' 2 "server spool"
assert_header "$SPOOL/2.eml" Subject '^pipelined$'

# Pipelined garbage: each line a 500, the 20th error ends the dialogue
# with 421; nothing after it is read as a command.
{
	echo "expect 220"
	echo "raw $(i=0; while [ $i -lt 30 ]; do printf 'GARBAGE %s\\r\\n' $i; i=$((i + 1)); done)MAIL FROM:<x@example.org>\\r\\n"
	echo "expectn 20 500"
	echo "expect 421"
} >"$T/s2"
bs_run "$T/s2" -C "$CFG" -odi
assert_bs_ok "pipelined garbage"
assert_no_grep '^< 250' "$T/bs.transcript"
assert_grep '^< 421 4\.7\.0 Too many errors' "$T/bs.transcript"

# A 200 KB line in DATA is data, not a protocol error: it arrives, made
# SMTP-safe (no line over 998 octets), with its bytes.
"$PYTHON" -c 'print("x" * 200000)' >"$T/bigline"
{
	echo "expect 220"
	echo "send EHLO x"
	echo "expect 250"
	echo "send MAIL FROM:<sender@example.org>"
	echo "expect 250"
	echo "send RCPT TO:<big@example.org>"
	echo "expect 250"
	echo "send DATA"
	echo "expect 354"
	echo "send Subject: big"
	echo "send"
	echo "send $(cat "$T/bigline")"
	echo "send ."
	echo "expect 250"
	echo "send QUIT"
	echo "expect 221"
} >"$T/s3"
bs_run "$T/s3" -C "$CFG" -odi
assert_bs_ok "200 KB data line"
assert_file_count "$SPOOL" '*.eml' 3 "server spool"
ok
"$PYTHON" -c 'import sys
d = open(sys.argv[1], "rb").read()
assert max(len(l) for l in d.split(b"\r\n")) <= 998, "long line"
body = d.split(b"\r\n\r\n", 1)[1]
import quopri
text = quopri.decodestring(body) if b"=\r\n" in body else body
assert text.replace(b"\r\n", b"").count(b"x") == 200000, "bytes lost"' \
    "$SPOOL/3.eml" || fail "the 200 KB line did not arrive intact and SMTP-safe"
e2e_done
