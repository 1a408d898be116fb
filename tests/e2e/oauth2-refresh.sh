#!/bin/sh
# OAuth2 refresh_token flow (issue 11): the token comes from the stored
# refresh token; the cached access token is reused while valid, refreshed
# after expiry; a rotated refresh token is persisted; a token the SMTP
# server refuses is replaced once; a revoked grant is permanent (exit 77,
# kept in failed/); no token or secret in -v output, errors or the log.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
make_ca
start_oauth2d --rotate --lifetime 3 --refresh-token "$O2_SEED"
start_smtp_oauth
oauth2_config refresh_token "logfile $T/deliveries.log"
sample_message oauth2 >"$T/msg"

# No state file yet: the user must log in first.
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "no refresh token"
assert_grep_fixed "run postseal --oauth2-login -a default" "$ERR" "login hint"
assert_failed_kept "no refresh token"
delivered 0 "nothing sent without a token"

seed_state
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "first send"
delivered 1 "first send"
assert_grep "^[0-9]+ tls AUTH OAUTHBEARER " "$RECORD" "auth on chose OAUTHBEARER"
assert_eq "$(o2_stat refresh_token)" 1 "one refresh"
assert_eq "$(stat -c %a "$STATE")" 600 "state file mode"
rt1=$(state_get refresh_token)
assert_eq "$rt1" "$(o2_stat newest_refresh)" "rotated refresh token stored"
assert_match "$rt1" '^rt-' "rotated (not the seed)"
at1=$(state_get access_token)
cp "$ERR" "$T/verbose.err"

# --serverinfo (which runs a grant): oauth2-serverinfo.sh.

# Within the lifetime: the cached token, no new request.
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "cached token"
delivered 2 "cached token"
assert_eq "$(o2_stat refresh_token)" 1 "no refresh while valid"

# After expiry: refreshed, rotated again.
sleep 4
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "after expiry"
delivered 3 "after expiry"
assert_eq "$(o2_stat refresh_token)" 2 "refreshed after expiry"
assert_no_grep_fixed "token refused" "$ERR" "expired token not offered"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "second rotation stored"
ok
[ "$(state_get access_token)" != "$at1" ] || fail "a new access token"
cat "$ERR" >>"$T/verbose.err"

# The server refuses a token that looked valid: one fresh token, one
# more AUTH, sent.
o2_ctl /test/lifetime seconds=3600
sleep 4 # the 3 s token expires: the next one lives an hour
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "refresh for a long token"
n=$(o2_stat refresh_token)
: >"$T/o2.tokens" # the SMTP server no longer knows the cached token
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "refused token replaced"
delivered 5 "refused token replaced"
assert_eq "$(o2_stat refresh_token)" $((n + 1)) "one refresh after 535"
assert_grep_i "token refused" "$ERR" "-v says why"
cat "$ERR" >>"$T/verbose.err"

# Consent revoked: invalid_grant is permanent, with the provider's words,
# made printable, and the message kept in failed/.
o2_ctl /test/revoke
: >"$T/o2.tokens"
rm -rf "$QUEUE/failed"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "revoked"
assert_grep_fixed "invalid_grant (AADSTS70000: the refresh token was revoked\\x1b[31m)" \
    "$ERR" "provider's error, printable"
assert_grep_fixed "run postseal --oauth2-login -a default again" "$ERR" \
    "revoked: login hint"
assert_failed_kept "revoked"
delivered 5 "nothing more sent"

# A state file others can read is refused.
chmod 644 "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 78 "state file readable by others"
assert_grep_fixed "$STATE: holds OAuth2 tokens but is readable by others" \
    "$ERR" "state file mode rule"

assert_no_tokens "$T/verbose.err" "$ERR" "$OUT" "$T/deliveries.log"
e2e_done
