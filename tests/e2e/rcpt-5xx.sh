#!/bin/sh
# One of three recipients refused with 550, a caller waiting (issue 8,
# item 2): the message goes to the two accepted recipients (one message
# received, for exactly those two), exit 0, stderr names the refused one
# with the server's reply and none of the accepted ones; the sender gets a
# failure notice listing only the refused recipient with its own
# diagnostic (the exit status did not tell the caller); the entry is kept
# in failed/ with each recipient's state.  Without and with PIPELINING.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
make_ca
postseal_only "per-recipient delivery"
for pl in no-pipelining pipelining; do
	fresh_queue
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
	assert_exit 0 "one recipient refused ($pl)"
	assert_grep 'bad@example\.org.*550' "$ERR" "stderr names the refused recipient and the reply ($pl)"
	assert_no_grep 'good[12]@example\.org.*(refused|rejected|550)' "$ERR" "stderr (accepted recipients reported as refused, $pl)"
	assert_eq "$(spool_count 'e2e test')" 1 "messages received ($pl)"
	assert_eq "$(notice_count)" 1 "failure notices ($pl)"
	for j in "$SPOOL"/*.json; do
		[ -f "$j" ] || continue
		n=${j%.json}.eml
		if [ "$(json_get "$j" mail_from)" != "" ]; then
			assert_eq "$(json_get "$j" rcpt_tos)" \
			    '["good1@example.org", "good2@example.org"]' \
			    "recipients of the message ($pl)"
			continue
		fi
		assert_eq "$(json_get "$j" rcpt_tos)" '["sender@example.org"]' \
		    "notice: to the sender ($pl)"
		assert_eq "$(grep -c '^Final-Recipient:' "$n")" 1 \
		    "notice: recipient blocks ($pl)"
		assert_grep 'Final-Recipient: rfc822; bad@example.org' "$n" \
		    "notice: the refused recipient ($pl)"
		assert_grep '^Diagnostic-Code: smtp; 550 5\.1\.1 No such user' \
		    "$n" "notice: its own diagnostic ($pl)"
		assert_grep '^Status: 5\.1\.1' "$n" "notice: status ($pl)"
		assert_no_grep 'good[12]@example\.org' "$n" \
		    "notice (an accepted recipient, $pl)"
	done
	assert_eq "$(q_count active)" 0 "active/ ($pl)"
	assert_eq "$(q_count failed)" 1 "failed/ ($pl)"
	env=$(find "$QUEUE/failed" -name env | head -n 1)
	assert_grep '^sent <good1@example\.org>$' "$env" "env: good1 sent ($pl)"
	assert_grep '^sent <good2@example\.org>$' "$env" "env: good2 sent ($pl)"
	assert_grep '^failed <bad@example\.org>$' "$env" "env: bad failed ($pl)"
	assert_no_grep '^rcpt ' "$env" "env: a recipient still pending ($pl)"
	# A retry of the failed entry tries bad@ again, never good1/good2.
	run_postseal -C "$CFG" --queue-retry "$(q_ids failed)"
	assert_exit 0 "--queue-retry ($pl)"
	# bad@ fails again: a queue run with a permanent failure exits 69.
	run_postseal -C "$CFG" -q
	assert_exit 69 "-q after the retry ($pl)"
	assert_eq "$(spool_count 'e2e test')" 1 "messages after the retry ($pl)"
	assert_eq "$(grep -c 'RCPT TO:<good1@example.org>' "$RECORD")" 1 \
	    "RCPTs for good1 ($pl)"
	assert_eq "$(grep -c 'RCPT TO:<bad@example.org>' "$RECORD")" 2 \
	    "RCPTs for bad, retried ($pl)"
done
e2e_done
