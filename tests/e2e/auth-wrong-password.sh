#!/bin/sh
# A wrong password: exit 77 (EX_NOPERM), the server's 535 reply in the
# error, no MAIL, nothing delivered, nothing queued.  Both PLAIN and LOGIN.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for mech in plain login; do
	start_server --name $mech --tls starttls --user u --password right-pw
	{ base_config starttls u Wrong-Pw-Q1; echo "auth $mech"; } | write_config
	sample_message >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_exit 77 "wrong password ($mech)"
	assert_reply_code 535 "$ERR" "stderr (server reply, $mech)"
	assert_grep_i 'auth' "$ERR" "stderr (says authentication, $mech)"
	assert_nothing_delivered
	assert_no_command MAIL
	assert_queue_empty "queue ($mech)"
	assert_one_session "$mech"
	assert_no_secret u Wrong-Pw-Q1 "$ERR" "$OUT"
done
e2e_done
