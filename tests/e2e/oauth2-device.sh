#!/bin/sh
# postseal --oauth2-login --device (RFC 8628; issue 11): the user code and
# the verification URL on stdout, one per line; polling at the interval,
# slower after slow_down; the refresh token stored (0600) and used to
# send; a denied request is permanent and keeps the old state.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
make_ca
start_oauth2d --interval 1 --slow-down-once
start_smtp_oauth
oauth2_config refresh_token
sample_message device >"$T/msg"

LOGIN_LINES=2 start_login
code=$(sed -n 1p "$T/login.out")
url=$(sed -n 2p "$T/login.out")
assert_match "$code" '^[0-9]{4}-[0-9]{4}$' "user code on line 1"
assert_eq "$url" "$O2URL/device" "verification URL on line 2"
sleep 2
o2_ctl /test/approve "user_code=$code"
wait_login
assert_exit 0 "device login"
assert_eq "$(wc -l <"$T/login.out")" 2 "two lines on stdout"
assert_grep_fixed "stored in $STATE" "$ERR" "where the tokens went"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "refresh token stored"
assert_eq "$(stat -c %a "$STATE")" 600 "state file mode"
assert_eq "$(stat -c %a "$T/state")" 700 "state directory made private"
ok
[ "$(o2_stat slow_down)" -ge 1 ] || fail "slow_down was sent"
assert_eq "$(o2_stat too_early)" 0 "polls respected the interval"
assert_no_tokens "$T/login.out" "$T/login.err"

run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "send after login"
delivered 1 "send after login"
assert_eq "$(o2_stat refresh_token)" 0 "the login's access token is used"

# Plain --oauth2-login uses the device grant when there is an endpoint.
rt=$(state_get refresh_token)
LOGIN_LINES=2 start_login
code=$(sed -n 1p "$T/login.out")
o2_ctl /test/deny "user_code=$code"
wait_login
assert_exit 77 "denied"
assert_grep_fixed "access_denied (the user said no)" "$ERR" "provider error"
assert_eq "$(state_get refresh_token)" "$rt" "old state kept"
e2e_done
