#!/bin/sh
# rewrite_local_from (issue 10): a From: field of one local address, as
# cron and daemons write it, names the account's address, the local name
# kept as the display name; foreign and multi-address From: fields are
# left alone, and so is everything without the keyword (default off).
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config
HOST=$(hostname)

n=0
# send FROM-FIELD SUBJECT: one message with that From: through $CFG.
send() {
	printf 'From: %s\nTo: rcpt@example.org\nSubject: %s\n\nbody\n' \
	    "$1" "$2" >"$T/msg"
	run_postseal -C "$CFG" -i rcpt@example.org <"$T/msg"
	assert_exit 0 "send: $2"
	n=$((n + 1))
	assert_delivered "$n"
	M=$SPOOL/$n.eml
}

# Default off: cron's From is only qualified, as before.
send 'Cron Daemon <root>' off
assert_header "$M" From '^Cron Daemon <root@'
assert_no_grep_fixed "<sender@example.org>" "$M" "off: not rewritten"

printf 'rewrite_local_from on\n' >>"$CFG"
send 'Cron Daemon <root>' named
assert_header "$M" From '^Cron Daemon <sender@example\.org>$'
send 'root (Cron Daemon)' comment
assert_header "$M" From '^Cron Daemon <sender@example\.org>$'
send 'root' bare
assert_header "$M" From '^root <sender@example\.org>$'
send 'www-data@localhost' localhost
assert_header "$M" From '^www-data <sender@example\.org>$'
send "\"Backup Job\" <backup@$HOST>" thishost
assert_header "$M" From '^"?Backup Job"? <sender@example\.org>$'
send 'Alice <alice@example.net>' foreign
assert_header "$M" From '^Alice <alice@example\.net>$'
send 'root, alice@example.net' two
assert_header "$M" From 'alice@example\.net'
assert_no_grep_fixed '<sender@example.org>' "$M" "two addresses: left alone"
assert_eq "$(header_count "$M" From)" 1 "one From field"
e2e_done
