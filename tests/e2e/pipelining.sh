#!/bin/sh
# Command synchronisation: a client must not talk before the greeting and
# must not pipeline to a server that does not offer PIPELINING (smtpd.py
# marks both "! sync-error" in its record).  Three recipients make the
# difference visible.  With PIPELINING offered the same message goes
# through too.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
sample_message >"$T/msg"
for variant in off on; do
	if [ $variant = off ]; then
		start_server --name pl-$variant --tls starttls --user u \
		    --password p --no-pipelining
	else
		start_server --name pl-$variant --tls starttls --user u \
		    --password p
	fi
	base_config starttls u p | write_config
	run_postseal -C "$CFG" a@example.org b@example.org c@example.org <"$T/msg"
	assert_exit 0 "PIPELINING $variant"
	assert_file_count "$SPOOL" '*.eml' 1 "spool (PIPELINING $variant)"
	assert_no_grep 'sync-error' "$RECORD" "record (PIPELINING $variant)"
	assert_eq "$(grep -c ' RCPT TO:' "$RECORD")" 3 "RCPT commands (PIPELINING $variant)"
done
e2e_done
