#!/bin/sh
# A configuration error is found before the message is stored (issue 8,
# item 9): tls off with a user set (credentials would go out in clear) is
# refused with exit 78 in every delivery mode, and nothing is left in
# active/ or failed/ and nothing reaches the server.  So are the TLS
# settings that would be refused only once connected: tls_certcheck off
# without tls_fingerprint, a trust file with no certificate, a bad
# tls_priorities.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "queue"
make_ca
start_server --tls starttls --user u --password p
TLS_PORT=$PORT
start_server --name plain --tls none --user u --password p
base_config plain u p | write_config
sample_message "early" >"$T/msg"

for mode in "" -odi -odq -odb; do
	# shellcheck disable=SC2086 # mode is one word or none
	run_postseal -C "$CFG" $mode rcpt@example.org <"$T/msg"
	assert_exit 78 "tls off + user${mode:+ ($mode)}"
	assert_grep "config:[0-9]+: account default: refusing to send credentials without TLS \\(tls off\\): set tls on, or auth off" \
	    "$ERR" "stderr${mode:+ ($mode)}"
done

PORT=$TLS_PORT
: >"$T/empty.pem"
# tls_case WHAT CONFIG-LINES EXPECTED-TEXT
tls_case() {
	{ base_config starttls u p; printf '%s\n' "$2"; } |
	    write_config "$T/tls.cfg"
	for mode in "" -odq; do
		# shellcheck disable=SC2086
		run_postseal -C "$T/tls.cfg" $mode rcpt@example.org <"$T/msg"
		assert_exit 78 "$1${mode:+ ($mode)}"
		assert_grep_fixed "$3" "$ERR" "stderr: $1${mode:+ ($mode)}"
	done
}
tls_case "tls_certcheck off, no fingerprint" "tls_certcheck off" \
    "localhost: tls_certcheck off requires tls_fingerprint"
tls_case "trust file without certificates" "tls_trust_file $T/empty.pem" \
    "no trusted CA certificates in $T/empty.pem"
tls_case "bad tls_priorities" "tls_priorities NO-SUCH-PRIORITY" \
    "tls_priorities:"

sleep 0.5 # -odb would have forked a delivery
assert_queue_empty "active/"
assert_eq "$(queue_entries failed)" 0 "entries in failed/"
assert_eq "$(find "$QUEUE" -mindepth 2 -maxdepth 2 | wc -l)" 0 \
    "nothing at all in the queue"
assert_nothing_delivered
assert_no_command AUTH MAIL
SPOOL=$T/plain.spool RECORD=$T/plain.record
assert_nothing_delivered
assert_no_command AUTH MAIL
e2e_done
