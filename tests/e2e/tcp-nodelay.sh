#!/bin/sh
# TCP_NODELAY on the connection and TCP_QUICKACK re-armed before each wait
# for the server (net.c, "Latency"): without them a submission on loopback
# stalls ~40 ms twice (Nagle inside the TLS 1.3 handshake, and a delayed
# ACK of a reply the server writes in two segments).  Checked by tracing
# the system calls of a real submission (implicit TLS, AUTH PLAIN): the
# option is set on the socket that connected, before the first byte is
# written to it, and the ACK request precedes every read that waits.
. "$(dirname "$0")/lib.sh"
e2e_init
# LeakSanitizer cannot run under ptrace (strace): off for a sanitizer build.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
postseal_only
need_cmd strace
make_ca
start_server --tls implicit --user u@example.org --password 'pw-1'
base_config implicit u@example.org 'pw-1' | write_config
sample_message >"$T/msg"
OUT=$T/postseal.out
ERR=$T/postseal.err
strace -f -o "$T/trace" -e trace=connect,setsockopt,sendto,sendmsg,write,poll \
    "$POSTSEAL" -C "$CFG" rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"
RC=$?
assert_exit 0
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
# The fd of the connection to the server's port.
fd=$(sed -n "s/^[0-9]* *connect(\([0-9]*\), .*htons($PORT).*/\1/p" "$T/trace" |
    head -n 1)
ok
[ -n "$fd" ] || fail "no connect() to port $PORT in the trace"
assert_grep "setsockopt\\($fd, SOL_TCP, TCP_NODELAY, \\[1\\]" "$T/trace" \
    "TCP_NODELAY on the connection"
# NODELAY comes before the first write to the socket (the ClientHello),
# counting from the connect() (the fd number was a spool file's before).
cline=$(grep -n "connect($fd, .*htons($PORT)" "$T/trace" | head -n 1 |
    cut -d: -f1)
tail -n "+${cline:-1}" "$T/trace" >"$T/trace.conn"
first_nd=$(grep -n "setsockopt($fd, SOL_TCP, TCP_NODELAY" "$T/trace.conn" |
    head -n 1 | cut -d: -f1)
first_wr=$(grep -nE "(sendto|sendmsg|write)\\($fd," "$T/trace.conn" |
    head -n 1 | cut -d: -f1)
ok
[ -n "$first_nd" ] && [ -n "$first_wr" ] && [ "$first_nd" -lt "$first_wr" ] ||
    fail "TCP_NODELAY (line ${first_nd:-none}) not before the first write (line ${first_wr:-none})"
# Every poll() for input on the socket follows a TCP_QUICKACK request.
awk -v fd="$fd" '
	index($0, "setsockopt(" fd ", SOL_TCP, TCP_QUICKACK, [1]") { armed = 1 }
	index($0, "poll([{fd=" fd ", events=POLLIN}]") { polls++; if (!armed) bad++; armed = 0 }
	END { printf "%d %d\n", polls, bad }' "$T/trace.conn" >"$T/polls"
read -r polls bad <"$T/polls"
ok
# (How many reads had to wait depends on timing; the first, for the
# server's TLS hello, always does.)
[ "${polls:-0}" -ge 1 ] || fail "no wait for input on fd $fd"
assert_eq "${bad:-x}" 0 "waits for input without TCP_QUICKACK"
e2e_done
