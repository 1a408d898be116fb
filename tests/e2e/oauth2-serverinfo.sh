#!/bin/sh
# --serverinfo for an OAuth2 account (issue 11): the token state (provider,
# flow, state file and mode, refresh token, cached expiry) and whether a
# grant works now, run as a submission runs it (a rotated refresh token is
# stored); revoked consent is permanent with the login hint and a non-zero
# exit; an endpoint that is down is temporary; no token in the output.
# --doctor reports the same as findings.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
. "$(dirname "$0")/nameserver.sh"
postseal_only "OAuth2 token state in --serverinfo"
make_ca
start_oauth2d --rotate --lifetime 600 --refresh-token "$O2_SEED"
start_smtp_oauth
# The doctor's domain checks ask this server, never the machine's.
ns_zone example.org <<'EOF2'
@	TXT	"v=spf1 -all"
EOF2
ns_start
oauth2_config refresh_token "dns_server 127.0.0.1:$NS_PORT"
seed_state

# ---- 1. refresh works: reported ok, the rotation stored ----
run_postseal -C "$CFG" --serverinfo
assert_exit 0 "--serverinfo, refresh works"
assert_grep "^    provider: +custom$" "$OUT" "provider"
assert_grep "^    flow: +refresh_token$" "$OUT" "flow"
assert_grep_fixed "    state file:    $STATE (mode 0600)" "$OUT" \
    "state file and its mode"
assert_grep "^    refresh token: stored$" "$OUT" "refresh token stored"
assert_grep "^    access token:  none cached$" "$OUT" "nothing cached yet"
assert_grep "^    token grant:   ok \(refresh works\)$" "$OUT" "grant ok"
assert_grep "^    access token:  valid for [0-9]+ s \(until 20[0-9-]+ [0-9:]+ UTC\)$" \
    "$OUT" "new expiry, relative and absolute"
assert_grep "^250|SIZE|AUTH|STARTTLS" "$OUT" "the server is still shown"
assert_eq "$(o2_stat refresh_token)" 1 "one refresh"
rt1=$(state_get refresh_token)
assert_match "$rt1" '^rt-' "rotated refresh token stored"
assert_eq "$rt1" "$(o2_stat newest_refresh)" "the newest one"
assert_no_tokens "$OUT" "$ERR"

# A second report refreshes again (it checks the grant, not the cache)
# and shows the cached token's expiry first.
run_postseal -C "$CFG" --serverinfo
assert_exit 0 "--serverinfo again"
assert_eq "$(o2_stat refresh_token)" 2 "the grant is tried each time"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "second rotation stored"
assert_no_tokens "$OUT" "$ERR"

# The cached token still sends (the report did not break the state).
sample_message oauth2 >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "send after the reports"
delivered 1 "sent with the reported token"

# The doctor: the same state as findings, the grant checked.
run_postseal -C "$CFG" --doctor
assert_grep "^oauth2: ok: flow: +refresh_token$" "$OUT" "doctor: flow"
assert_grep "^oauth2: ok: token grant works now$" "$OUT" "doctor: grant ok"
assert_no_grep "^oauth2: error" "$OUT" "doctor: no oauth2 error"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "doctor: rotation stored"
assert_no_tokens "$OUT" "$ERR"
# A state file others can read is refused; the doctor gives the chmod.
chmod 644 "$STATE"
run_postseal -C "$CFG" --doctor
chmod 600 "$STATE"
assert_exit 1 "--doctor, state file readable by others"
assert_grep_fixed "oauth2: error: $STATE: holds " "$OUT" "doctor: the state file refused"
assert_grep_fixed "readable by others; fix: chmod 600 $STATE" "$OUT" "doctor: the chmod as the fix"
assert_no_tokens "$OUT" "$ERR"

# ---- 2. revoked: permanent, the login hint, non-zero exit ----
o2_ctl /test/revoke
run_postseal -C "$CFG" --serverinfo
assert_exit 77 "--serverinfo, revoked"
assert_grep "^    token grant:   FAILED \(permanent: a new login is needed\)$" \
    "$OUT" "revoked: permanent"
assert_grep_fixed "run postseal --oauth2-login -a default again" "$OUT" \
    "revoked: login hint in the report"
assert_grep_fixed "run postseal --oauth2-login -a default again" "$ERR" \
    "revoked: login hint on stderr"
assert_no_tokens "$OUT" "$ERR"
run_postseal -C "$CFG" --doctor
assert_exit 1 "--doctor, revoked"
assert_grep "^oauth2: error: token grant: .*; fix: run postseal --oauth2-login -a default again$" \
    "$OUT" "doctor: revoked is an error with the fix"
assert_no_tokens "$OUT" "$ERR"

# ---- 3. the token endpoint is down: temporary ----
seed_state
stop_oauth2d
run_postseal -C "$CFG" --serverinfo
assert_exit 75 "--serverinfo, endpoint down"
assert_grep "^    token grant:   FAILED \(temporary: " "$OUT" "down: temporary"
assert_grep_fixed "127.0.0.1:$O2PORT" "$OUT" "down: names the endpoint"
assert_no_tokens "$OUT" "$ERR"
e2e_done
