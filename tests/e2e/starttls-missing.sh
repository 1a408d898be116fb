#!/bin/sh
# tls_starttls on, but the server does not offer STARTTLS (and offers AUTH
# in plaintext as bait): refused before any credential or envelope;
# temporary failure.  Twice: a server with a certificate that does not
# offer STARTTLS, and one with no TLS at all.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for variant in no-offer no-tls; do
	if [ $variant = no-offer ]; then
		start_server --name $variant --tls starttls --no-offer-starttls \
		    --auth-plaintext --user u --password 'Pw-Missing-1'
	else
		start_server --name $variant --tls none --auth-plaintext \
		    --user u --password 'Pw-Missing-1'
	fi
	base_config starttls u 'Pw-Missing-1' | write_config
	sample_message $variant >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_tempfail_or_queued "$variant"
	assert_grep_i 'starttls|tls' "$ERR" "stderr ($variant)"
	assert_nothing_delivered
	assert_no_command AUTH MAIL RCPT DATA
	assert_no_secret u 'Pw-Missing-1' "$ERR" "$OUT"
done
e2e_done
