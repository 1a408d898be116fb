#!/bin/sh
# Recipients on the command line: several arguments, comma-separated lists
# inside one argument, blanks around them; each is one RCPT.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

sample_message >"$T/msg"
run_postseal -C "$CFG" 'a@example.org, b@example.org' c@example.org ' d@example.org,e@example.org ' <"$T/msg"
assert_exit 0
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
assert_delivered 1
assert_eq "$(json_get "$SPOOL/1.json" rcpt_tos)" '["a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"]' "recipients"
assert_eq "$(grep -c ' RCPT TO:' "$RECORD")" 5 "RCPT commands"
# The message itself is not changed by argv recipients.
assert_header "$SPOOL/1.eml" To '^rcpt@example\.org$'
e2e_done
