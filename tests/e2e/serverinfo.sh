#!/bin/sh
# --serverinfo prints the server's TLS certificate (subject, issuer,
# SHA-256 fingerprint) and its EHLO capabilities, authenticates nobody and
# sends no mail.  Over STARTTLS and implicit TLS.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
fp=$(tr -d ':' <"$CA/server.sha256" | tr 'A-F' 'a-f')
for mode in starttls implicit; do
	start_server --name $mode --tls $mode --user u --password p \
	    --size 12345 --dsn
	base_config $mode u p | write_config
	run_postseal -C "$CFG" --serverinfo </dev/null
	assert_exit 0 "--serverinfo ($mode)"
	cat "$OUT" "$ERR" >"$T/info"
	assert_grep_fixed 'localhost' "$T/info" "serverinfo: certificate subject ($mode)"
	assert_grep_fixed 'postseal test CA' "$T/info" "serverinfo: issuer ($mode)"
	ok
	if ! tr -d ':' <"$T/info" | tr 'A-F' 'a-f' | grep -q "$fp"; then
		fail "serverinfo: SHA-256 fingerprint $fp not shown ($mode)"
	fi
	for cap in PIPELINING 8BITMIME DSN 12345 PLAIN LOGIN; do
		assert_grep_fixed "$cap" "$T/info" "serverinfo: capability $cap ($mode)"
	done
	assert_no_command AUTH MAIL
done
e2e_done
