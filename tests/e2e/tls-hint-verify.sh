#!/bin/sh
# A TLS verification failure keeps the message queued (an attacker in the
# path must not make mail bounce) but is never quiet (issue 9): the stderr
# line names the likely fix (tls_trust_file, tls_host_override,
# tls_fingerprint, tls_starttls), a queue run reports it without -v, mailq
# marks the entry '#' (and --json says needs_admin), and the delay warning
# carries it to the sender.  (The error log level: syslog-default.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "TLS hints"
make_ca

# case NAME FIX-ERE [CONFIG-LINE] -- SMTPD-ARGS...
case_tls() {
	_n=$1
	_fix=$2
	_line=$3
	shift 4
	fresh_queue
	start_server --name "$_n" "$@"
	{ base_config starttls; printf '%s\ndelay_warning_time 1s\n' "$_line"; } |
	    write_config
	sample_message "$_n" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_queued "$_n"
	assert_grep "will retry: .*\(fix: .*($_fix)" "$ERR" \
	    "$_n: stderr names the fix ($_fix)"
	id=$(q_ids active)
	run_postseal -C "$CFG" -bp
	assert_grep "^$id# " "$OUT" "$_n: mailq marks it"
	assert_grep "\(fix: " "$OUT" "$_n: mailq shows the fix"
	run_postseal -C "$CFG" -bp --json
	assert_grep '"needs_admin":true' "$OUT" "$_n: --json needs_admin"
	sleep 2
	run_postseal -C "$CFG" -q
	assert_exit 0 "$_n: -q (still failing)"
	assert_grep "$id: deferred, needs a configuration change: .*($_fix)" \
	    "$ERR" "$_n: the queue run says so without -v"
	assert_nothing_delivered
	# The delay warning is queued for the sender (it goes out through
	# the same account, so it waits for the same fix).
	w=
	for d in "$QUEUE"/active/*; do
		grep -q '^from <>$' "$d/env" && w=$d
	done
	ok
	if [ -z "$w" ]; then
		fail "$_n: no delay warning queued"
	else
		assert_grep '^rcpt <sender@example.org>$' "$w/env" \
		    "$_n: the warning goes to the sender"
		assert_grep '^Action: delayed' "$w/msg" "$_n: Action: delayed"
		assert_grep "fix: .*($_fix)" "$w/msg" "$_n: the warning names the fix"
	fi
	stop_server
}

case_tls untrusted 'tls_trust_file' "" -- --cert untrusted --tls starttls
case_tls wrongname 'tls_host_override|tls_fingerprint' "" -- \
    --cert wrongname --tls starttls
case_tls expired 'tls_fingerprint' "" -- --cert expired --tls starttls
case_tls pin 'tls_fingerprint' \
    "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff" \
    -- --tls starttls
case_tls nostarttls 'tls_starttls off' "" -- --tls starttls --no-offer-starttls
e2e_done
