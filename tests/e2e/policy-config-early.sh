#!/bin/sh
# A configuration error is found before the message is stored (issue 8,
# item 9): tls off with a user set (credentials would go out in clear) is
# refused with exit 78 in every delivery mode, and nothing is left in
# active/ or failed/ and nothing reaches the server.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "queue"
start_server --tls none --user u --password p
base_config plain u p | write_config
sample_message "early" >"$T/msg"

for mode in "" -odi -odq -odb; do
	# shellcheck disable=SC2086 # mode is one word or none
	run_postseal -C "$CFG" $mode rcpt@example.org <"$T/msg"
	assert_exit 78 "tls off + user${mode:+ ($mode)}"
	assert_grep "config:[0-9]+: account default: refusing to send credentials without TLS \\(tls off\\): set tls on, or auth off" \
	    "$ERR" "stderr${mode:+ ($mode)}"
done
sleep 0.5 # -odb would have forked a delivery
assert_queue_empty "active/"
assert_eq "$(queue_entries failed)" 0 "entries in failed/"
assert_eq "$(find "$QUEUE" -mindepth 2 -maxdepth 2 | wc -l)" 0 \
    "nothing at all in the queue"
assert_nothing_delivered
assert_no_command AUTH MAIL
e2e_done
