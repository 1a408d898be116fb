#!/bin/sh
# Malformed replies after RCPT, DATA and the final dot (issue 17, item 5;
# hostile-replies.sh covers the greeting, EHLO and MAIL): a 3000-byte
# line, 150 lines, a NUL, a bad code shape ("2500"), mixed codes, an
# extra line after the reply.  The server (smtpd.py --fault STAGE:ACT#1)
# otherwise acts as if its reply were fine.  A caller waits; then a queue
# run, against the now healthy server, retries what was queued.
#   rcpt, data  never delivered on the first try (the connection is
#               dropped before the final dot): exit 0, queued, nothing in
#               the server's spool; the queue run delivers it exactly once.
#   dot         inject, manylines, nul, mixed: the first line is a 2xx, so
#               it is delivered: exit 0, no entry left, exactly one copy,
#               and the queue run sends nothing.  overlong, badcode: no
#               2xx line could be read, so, as for a connection lost after
#               the dot, it stays queued although the server took it; the
#               queue run sends it again (the documented duplicate).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "replies after RCPT, DATA and the dot"

use_case() {
	QUEUE=$T/q-$1
	CFG=$T/cfg-$1
	SPOOL=$T/$1.spool
	RECORD=$T/$1.record
}

# expect STAGE ACT: "queued" or "delivered" after the first attempt.
expect() {
	case $1:$2 in
	dot:overlong | dot:badcode) echo duplicate ;;
	dot:*) echo delivered ;;
	*) echo queued ;;
	esac
}

cases=
for s in rcpt data dot; do
	for act in overlong manylines nul badcode mixed inject; do
		name=$s-$act
		cases="$cases $name"
		use_case "$name"
		fresh_queue
		start_server --name "$name" --tls none --fault "$s:$act#1"
		{
			CFG_TIMEOUT=3 CFG_TIMEOUT_DATA_END=3 base_config plain
			printf 'queue_backoff 1s 1s\n'
		} | write_config
		sample_message "$name" >"$T/msg"
		run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
		assert_exit 0 "$name"
		n=$(spool_count "$name")
		case $(expect $s $act) in
		delivered)
			assert_eq "$n" 1 "$name: copies the server took"
			assert_eq "$(q_count active)" 0 "$name: active/"
			assert_grep_i 'accepted' "$ERR" "$name: stderr (warning)"
			;;
		duplicate)
			assert_eq "$n" 1 "$name: copies the server took"
			assert_eq "$(q_count active)" 1 "$name: active/"
			assert_grep_i 'queued' "$ERR" "$name: stderr says queued"
			;;
		queued)
			assert_eq "$n" 0 "$name: copies the server took"
			assert_eq "$(q_count active)" 1 "$name: active/"
			assert_grep_i 'queued' "$ERR" "$name: stderr says queued"
			assert_no_grep '^[0-9]+ plain \.$' "$RECORD" \
			    "$name: record (the final dot sent)"
			;;
		esac
		assert_eq "$(q_count failed)" 0 "$name: failed/"
	done
done
sleep 1.2 # the retries are due after the 1 s backoff
for name in $cases; do
	use_case "$name"
	run_postseal -C "$CFG" -q
	assert_exit 0 "$name: queue run"
	assert_eq "$(q_count active)" 0 "$name: active/ after the run"
	assert_eq "$(q_count failed)" 0 "$name: failed/ after the run"
	case $(expect "${name%%-*}" "${name#*-}") in
	duplicate) want=2 ;;
	*) want=1 ;;
	esac
	assert_eq "$(spool_count "$name")" $want "$name: copies after the run"
done
e2e_done
