#!/bin/sh
# Plaintext injected after STARTTLS: the server sends "220 ok\r\n250
# injected\r\n" in one segment.  The client must treat the unread bytes
# after the 220 as an attack (RFC 3207 5; STYLE.md rule 4): no TLS session
# is used, no AUTH, no MAIL; temporary failure.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password 'Pw-Inject-7' \
    --fault starttls:inject
base_config starttls u 'Pw-Inject-7' | write_config
sample_message >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued
assert_grep_i 'inject|unexpected|pipelin|trailing|extra|after (the )?220|protocol' "$ERR" "stderr (reason)"
assert_nothing_delivered
assert_no_command AUTH MAIL RCPT DATA
assert_no_grep '^1 tls ' "$RECORD" "record (any command over the TLS session)"
assert_no_secret u 'Pw-Inject-7' "$ERR" "$OUT"
e2e_done
