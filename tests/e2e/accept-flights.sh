#!/bin/sh
# Pipelined commands go in bounded flights (issue 8, "suspected": the
# whole MAIL/RCPT/DATA batch was written before any reply was read).  In a
# private network namespace with small TCP buffers (16 KB, no
# autotuning), a scripted server that writes each reply before it reads
# the next command (its replies are 100 bytes long) stops reading once
# its replies back up.  A client that
# writes 1000 RCPTs (about 270 KB) before reading any reply then blocks in
# its write while the server blocks in its own, until the timeout (the
# message is queued).  With flights of at most 100 commands, each flight's
# replies read before the next is written, it is delivered: exit 0, queue
# empty, every RCPT and the data recorded.  Needs root (unshare -n).
if [ -z "${POSTSEAL_FLIGHTS_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "accept-flights: SKIP: needs root and unshare -n"
		exit 77
	fi
	POSTSEAL_FLIGHTS_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "bounded pipelined flights"
need_cmd ip sysctl
BUF=${FLIGHTS_BUF:-16384}
ip link set lo up || hard_error "cannot bring up lo in the namespace"
sysctl -q -w net.ipv4.tcp_wmem="4096 $BUF $BUF" \
    net.ipv4.tcp_rmem="4096 $BUF $BUF" ||
    hard_error "cannot set the TCP buffers in the namespace"

N=1000
script=$T/flights.script
{
	printf 'send 220 flights.example ESMTP\nexpect EHLO\n'
	printf 'send 250-flights.example\\r\\n250 PIPELINING\n'
	printf 'expect MAIL\nsend 250 2.1.0 ok\n'
	# 100-byte replies: 1000 of them are more than both buffers hold.
	ok=$(printf '%076d' 0 | tr 0 k)
	i=0
	while [ $i -lt $N ]; do
		printf 'expect RCPT\nsend 250 2.1.5 recipient %s\n' "$ok"
		i=$((i + 1))
	done
	printf 'expect DATA\nsend 354 go\nreaddata\nsend 250 2.0.0 taken\n'
	printf 'expect QUIT\nsend 221 bye\n'
} >"$script"
start_server --tls none --sockbuf "$BUF" --script "$script"
CFG_TIMEOUT=5 base_config plain | write_config
lab=$(printf '%060d' 0 | tr 0 d)
: >"$T/rcpts"
i=0
while [ $i -lt $N ]; do
	printf 'r%04d.%050d@%s.%s.%s.example\n' $i $i "$lab" "$lab" "$lab" \
	    >>"$T/rcpts"
	i=$((i + 1))
done
sample_message flights >"$T/msg"
# shellcheck disable=SC2046 # one argument per recipient
run_postseal -C "$CFG" $(cat "$T/rcpts") <"$T/msg"
assert_exit 0 "1000 pipelined recipients"
assert_no_grep_fixed 'queued' "$ERR" "stderr (queued instead of delivered)"
assert_queue_empty "after delivery"
assert_eq "$(grep -c '^1 plain RCPT TO:' "$RECORD")" "$N" \
    "RCPTs the server read"
assert_grep '^1 plain \.$' "$RECORD" "record (the final dot)"
assert_no_grep '^[0-9]+ ! expected' "$RECORD" "record (script out of step)"
e2e_done
