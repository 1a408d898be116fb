#!/bin/sh
# One of three recipients refused with 550: nothing is sent (no message
# data), exit 67 (EX_NOUSER), the error names that recipient (the
# server's text does not) and none of the accepted ones as refused.
# Without and with PIPELINING.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for pl in no-pipelining pipelining; do
	if [ $pl = no-pipelining ]; then
		start_server --name $pl --tls starttls --user u --password p \
		    --fault rcpt=bad@example.org:5xx --no-pipelining
	else
		start_server --name $pl --tls starttls --user u --password p \
		    --fault rcpt=bad@example.org:5xx
	fi
	base_config starttls u p | write_config
	sample_message >"$T/msg"
	run_postseal -C "$CFG" good1@example.org bad@example.org \
	    good2@example.org <"$T/msg"
	assert_exit 67 "one recipient refused ($pl)"
	assert_grep_fixed 'bad@example.org' "$ERR" "stderr names the refused recipient ($pl)"
	assert_reply_code 550 "$ERR" "stderr (reply code, $pl)"
	assert_no_grep 'good[12]@example\.org.*(refused|rejected|550)' "$ERR" "stderr (accepted recipients reported as refused, $pl)"
	assert_nothing_delivered
	# DATA may have been pipelined, but no message line may follow it.
	assert_no_grep '^1 tls Subject:' "$RECORD" "record (message data sent, $pl)"
	assert_one_session "$pl"
	assert_queue_empty "queue ($pl)"
done
e2e_done
