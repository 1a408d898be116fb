#!/bin/sh
# postseal --oauth2-login --browser (authorization code + PKCE S256 with a
# loopback redirect, RFC 7636/8252; issue 11): the URL on stdout; the
# redirect listener on 127.0.0.1; a redirect with the wrong state is
# refused and ignored; the code is exchanged with the verifier; without a
# device endpoint plain --oauth2-login uses this grant.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
make_ca
start_oauth2d
start_smtp_oauth
O2_NO_DEVICE=1 oauth2_config refresh_token
sample_message browser >"$T/msg"

start_login --no-browser
url=$(sed -n 1p "$T/login.out")
assert_match "$url" "^$O2URL/authorize\\?response_type=code&client_id=$O2_CLIENT&" \
    "authorization URL"
assert_match "$url" '&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A[0-9]+%2F&' \
    "loopback redirect"
assert_match "$url" '&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256' \
    "PKCE S256"
assert_match "$url" '&state=[A-Za-z0-9_-]{22}&' "state"
# A forged redirect (wrong state) is refused; the login goes on.
"$PYTHON" "$E2E/oauth2d.py" browse "$url" --ca "$CA/ca.pem" \
    --state forged >"$T/browse1"
assert_grep_fixed "400 Wrong state." "$T/browse1" "wrong state refused"
"$PYTHON" "$E2E/oauth2d.py" browse "$url" --ca "$CA/ca.pem" >"$T/browse2"
assert_grep_fixed "200 Signed in" "$T/browse2" "redirect accepted"
wait_login
assert_exit 0 "browser login"
assert_grep_i "wrong state was ignored" "$ERR" "forged redirect reported"
assert_eq "$(o2_stat authorization_code)" 1 "one code exchange"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "refresh token stored"
assert_eq "$(stat -c %a "$STATE")" 600 "state file mode"
assert_no_tokens "$T/login.out" "$T/login.err"

run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "send after login"
delivered 1 "send after login"

# --browser wins over a configured device endpoint.
oauth2_config refresh_token
start_login --browser --no-browser
url2=$(sed -n 1p "$T/login.out")
"$PYTHON" "$E2E/oauth2d.py" browse "$url2" --ca "$CA/ca.pem" >"$T/browse3"
wait_login
assert_exit 0 "--browser login"
assert_eq "$(o2_stat authorization_code)" 2 "second code exchange"
assert_eq "$(o2_stat device)" 0 "no device request with --browser"

run_postseal -C "$CFG" --oauth2-login --device --browser
assert_exit 64 "--device with --browser"
run_postseal -C "$CFG" --no-browser rcpt@example.org <"$T/msg"
assert_exit 64 "--no-browser without --oauth2-login"
e2e_done
