#!/bin/sh
# Token endpoint faults (issue 11): unreachable, 5xx, 429 with
# Retry-After, malformed, non-JSON, NUL, oversized, a token with CR/LF,
# a slow endpoint past the timeout, an untrusted certificate: each is
# temporary (exit 0, queued, named in the error) and nothing is sent; once
# the endpoint works, a queue run sends everything.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
make_ca
start_smtp_oauth
sample_message faults >"$T/msg"

# Nothing listens on the token endpoint's port.
O2PORT=$(free_port)
O2URL=https://127.0.0.1:$O2PORT
CFG_TIMEOUT=3 oauth2_config client_credentials \
    "oauth2_client_secret_file $T/secret" "queue_backoff 1s 1s"
(umask 077 && printf '%s\n' "$O2_SECRET" >"$T/secret")
mkdir -p "$T/state"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "endpoint down"
assert_grep_i "127\.0\.0\.1:$O2PORT/token: .*(connect|refused)" "$ERR" \
    "unreachable named"

# fault_case MODE ERE: the endpoint answers with fault MODE.
fault_case() {
	o2_ctl /test/fault "mode=$1"
	t0=$(now)
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_tempfail_or_queued "fault $1"
	assert_grep_i "$2" "$ERR" "fault $1: reason"
	ok
	[ $(($(now) - t0)) -le 15 ] || fail "fault $1: took too long"
	delivered 0 "fault $1: nothing sent"
}
start_oauth2d --port "$O2PORT" --slow 20
fault_case 500 "server_error \(the test server is down\)"
fault_case 503 "HTTP status 503"
fault_case 429 "too_many_requests \(slow down\) \(rate limited\), retry after 120 s"
fault_case malformed "malformed JSON"
fault_case notjson "HTTP 200 with malformed JSON"
fault_case nul "wrong type or form"
fault_case oversized "response larger than 65536 bytes"
fault_case badtoken "wrong type or form"
fault_case slow "timeout|timed out"
assert_no_command AUTH
o2_ctl /test/fault mode=none

# The endpoint's certificate is checked against oauth2_trust_file.
stop_oauth2d
start_oauth2d --port "$O2PORT" --cert untrusted
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "untrusted certificate"
assert_grep_i "certificate|SSL|TLS" "$ERR" "untrusted: reason"
delivered 0 "untrusted: nothing sent"

# Working again: the queue run sends all of them.
stop_oauth2d
start_oauth2d --port "$O2PORT"
n=$(queue_entries active)
assert_eq "$n" 11 "all queued"
sleep 2
run_postseal -C "$CFG" -q
assert_exit 0 "queue run"
delivered 11 "queue run sent everything"
assert_queue_empty "after the queue run"
assert_eq "$(o2_stat client_credentials)" 1 "one token for the whole run"
assert_no_tokens "$ERR" "$OUT"
e2e_done
