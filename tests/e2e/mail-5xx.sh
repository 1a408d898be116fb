#!/bin/sh
# 550 to MAIL FROM: permanent failure, exit 69, the server's reply in the
# error, no RCPT accepted, no DATA, nothing queued.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p --fault mail:5xx \
    --no-pipelining
base_config starttls u p | write_config
sample_message >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 69 "550 at MAIL"
assert_reply_code 550 "$ERR" "stderr (reply code)"
assert_grep_fixed 'Sender refused by policy' "$ERR" "stderr (reply text)"
assert_nothing_delivered
assert_no_command RCPT DATA
assert_queue_empty "queue"
assert_one_session
e2e_done
