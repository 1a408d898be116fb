#!/bin/sh
# TLS session resumption across runs (src/tls.c, ticket_load()) against
# the real Postfix: the first run makes a full, verified handshake and
# keeps the session (0600, in the state directory's tls/); the second run
# resumes it (gnutls_session_is_resumed, shown by -v).  Any change of the
# trust settings or of the port means a full handshake: another trust
# file with the same CA, the same file rewritten, a pinned fingerprint
# (a resumed session still passes the pin), a host override (and a wrong
# one fails verification: a cached session never stands in for it), and
# the STARTTLS port.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only
. "$(dirname "$0")/postfix_env.sh"
pf_require
make_ca
pf_start rsuser Resume-Pw.3
RECORD=$T/none.record
: >"$RECORD"
D=$XDG_STATE_HOME/postseal/tls
cp "$CA/ca.pem" "$T/ca-copy.pem"
n=0
# send WHAT PORT MODE [CONFIG LINE...]: one message, -v.
send() {
	_what=$1
	PORT=$2
	_mode=$3
	shift 3
	{ base_config "$_mode" rsuser Resume-Pw.3; echo 'auth plain'
	  for _l in "$@"; do echo "$_l"; done; } | write_config
	sample_message "$_what" >"$T/msg"
	run_postseal -v -C "$CFG" rcpt@example.org <"$T/msg"
}
# full WHAT / resumed WHAT: delivered, with a full or a resumed handshake.
delivered() {
	assert_exit 0 "$1"
	n=$((n + 1))
	pf_wait_spool $n || fail "$1: not relayed"
}
full() {
	delivered "$1"
	assert_no_grep 'TLS: session resumed' "$ERR" "stderr ($1: full handshake)"
}
resumed() {
	delivered "$1"
	assert_grep 'TLS: session resumed' "$ERR" "stderr ($1: resumed)"
}
S=$PF_SMTPS_PORT

send first "$S" implicit
full "first run"
assert_eq "$(find "$D" -type f ! -name '*.tmp' | wc -l)" 1 "cached sessions"
assert_eq "$(stat -c %a "$(find "$D" -type f | head -n 1)")" 600 \
    "session file mode"
assert_eq "$(stat -c %a "$D")" 700 "session directory mode"
send second "$S" implicit
resumed "second run"
send third "$S" implicit
resumed "third run (the ticket is kept)"

send copy "$S" implicit "tls_trust_file $T/ca-copy.pem"
full "another trust file"
send copy2 "$S" implicit "tls_trust_file $T/ca-copy.pem"
resumed "the other trust file again"
sleep 0.01
cp "$CA/ca.pem" "$T/ca-copy.pem" # rewritten: a new mtime
send rewritten "$S" implicit "tls_trust_file $T/ca-copy.pem"
full "trust file rewritten"

fp="tls_fingerprint $(cat "$CA/server.sha256")"
send pin "$S" implicit "$fp"
full "a pinned fingerprint"
send pin2 "$S" implicit "$fp"
resumed "the pinned fingerprint again (checked on the resumed session)"

send override "$S" implicit "tls_host_override localhost"
resumed "tls_host_override the same name: the same settings"
send wrong "$S" implicit "tls_host_override wrong.example"
assert_tempfail_or_queued "a wrong host override with sessions cached"
assert_grep_i 'another name|name' "$ERR" "stderr (wrong override)"
assert_no_grep 'TLS: session resumed' "$ERR" "stderr (wrong override)"

send starttls "$PF_STARTTLS_PORT" starttls
full "the STARTTLS port"
send starttls2 "$PF_STARTTLS_PORT" starttls
resumed "the STARTTLS port again"
e2e_done
