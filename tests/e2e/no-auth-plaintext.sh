#!/bin/sh
# "tls off" with a user and password: the password must never go over a
# plaintext connection, even to a server that offers AUTH PLAIN there.
# Refused (configuration error or permanent failure), no AUTH sent,
# nothing delivered.
. "$(dirname "$0")/lib.sh"
e2e_init
start_server --tls none --auth-plaintext --user u --password 'Pw-Plain-3'
base_config plain u 'Pw-Plain-3' | write_config
sample_message >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit_in "69 75 78" "credentials with tls off"
assert_grep_i 'tls' "$ERR" "stderr (mentions TLS)"
assert_nothing_delivered
assert_no_command AUTH MAIL
assert_no_secret u 'Pw-Plain-3' "$ERR" "$OUT"
e2e_done
