#!/bin/sh
# Nothing listens on the port: a temporary failure naming the host/port;
# the message is kept (exit 75) or queued.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
PORT=$(free_port)
base_config starttls u p | write_config
sample_message >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued
assert_grep_i 'refused' "$ERR" "stderr (connection refused)"
assert_grep "127\\.0\\.0\\.1|$PORT" "$ERR" "stderr (names the server)"
e2e_done
