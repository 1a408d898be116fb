#!/bin/sh
# STARTTLS offered but answered "454 4.7.0 TLS not available": no
# fallback to plaintext; nothing sent after STARTTLS; temporary failure
# that names the server's reply.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --auth-plaintext --user u --password 'Pw-454-x' \
    --fault starttls:4xx
base_config starttls u 'Pw-454-x' | write_config
sample_message >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued
assert_reply_code 454 "$ERR" "stderr (server reply)"
assert_nothing_delivered
assert_no_command AUTH MAIL RCPT DATA
assert_no_secret u 'Pw-454-x' "$ERR" "$OUT"
e2e_done
