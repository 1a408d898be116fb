#!/bin/sh
# -F sets the display name of a From header that postseal adds, quoted
# when it needs to be; an existing From header is left alone.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

printf 'To: rcpt@example.org\nSubject: fullname\n\nbody\n' >"$T/msg"
run_postseal -C "$CFG" -F 'Joe Q. Public' rcpt@example.org <"$T/msg"
assert_exit 0 "-F 'Joe Q. Public'"
assert_delivered 1
assert_header "$SPOOL/1.eml" From '^"Joe Q\. Public" <sender@example\.org>$'

run_postseal -C "$CFG" -F 'Doe, John' rcpt@example.org <"$T/msg"
assert_exit 0 "-F 'Doe, John'"
assert_delivered 2
assert_header "$SPOOL/2.eml" From '^"Doe, John" <sender@example\.org>$'

run_postseal -C "$CFG" -F Plain rcpt@example.org <"$T/msg"
assert_exit 0 "-F Plain"
assert_delivered 3
assert_header "$SPOOL/3.eml" From '^"?Plain"? <sender@example\.org>$'

printf 'From: Keep Me <keep@example.org>\nTo: rcpt@example.org\nSubject: keep\n\nbody\n' >"$T/msg2"
run_postseal -C "$CFG" -F 'Other Name' rcpt@example.org <"$T/msg2"
assert_exit 0 "-F with a From header"
assert_delivered 4
assert_header "$SPOOL/4.eml" From '^Keep Me <keep@example\.org>$'
assert_eq "$(header_count "$SPOOL/4.eml" From)" 1 "From header count"
e2e_done
