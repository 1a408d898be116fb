#!/bin/sh
# An unqualified recipient ("root") is qualified with maildomain, in argv
# and with -t; a qualified one is left alone.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "maildomain qualifies recipients"
make_ca
start_server --tls starttls --user u --password p
{ base_config starttls u p; echo 'maildomain example.net'; } | write_config

sample_message >"$T/msg"
run_postseal -C "$CFG" root other@example.org <"$T/msg"
assert_exit 0 "argv root"
assert_delivered 1
assert_eq "$(json_get "$SPOOL/1.json" rcpt_tos)" '["root@example.net", "other@example.org"]' "argv recipients"

printf 'To: root\nCc: postmaster\nSubject: t\n\nx\n' >"$T/msg2"
run_postseal -C "$CFG" -t <"$T/msg2"
assert_exit 0 "-t root"
assert_delivered 2
assert_eq "$(json_get "$SPOOL/2.json" rcpt_tos)" '["root@example.net", "postmaster@example.net"]' "-t recipients"
assert_no_grep 'RCPT TO:<root>' "$RECORD" "record (unqualified RCPT)"
e2e_done
