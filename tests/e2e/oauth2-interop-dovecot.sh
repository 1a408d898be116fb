#!/bin/sh
# OAuth2 against a real server (issue 11): Postfix with Dovecot SASL, whose
# oauth2 passdb validates the bearer token at oauth2d.py's introspection
# endpoint (RFC 7662).  The token comes from the client_credentials grant;
# a token the authorization server never issued is refused (exit 77).
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
. "$E2E/postfix_env.sh"
pf_require
make_ca
start_oauth2d --sa-sub "$O2_USER"
cat >"$T/dovecot-oauth2.conf.ext" <<CONF
introspection_mode = post
introspection_url = $O2URL/introspect
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = $CA/ca.pem
CONF
chmod 644 "$T/dovecot-oauth2.conf.ext"
DV_MECHS="xoauth2 oauthbearer"
DV_PASSDB="passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $T/dovecot-oauth2.conf.ext
}"
pf_start "$O2_USER" unused-password
PORT=$PF_STARTTLS_PORT
(umask 077 && printf '%s\n' "$O2_SECRET" >"$T/secret")
oauth2_config client_credentials "oauth2_client_secret_file $T/secret"
sample_message "interop oauth2" >"$T/msg"

run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "Postfix + Dovecot oauth2"
ok
pf_wait_spool 1 || { fail "relayed to the final server"; pf_dump; }
assert_grep "authenticated as $O2_USER with (OAUTHBEARER|XOAUTH2)" "$ERR" \
    "bearer mechanism"
ok
[ "$(o2_stat introspect)" -ge 1 ] || fail "Dovecot asked the introspection endpoint"
assert_no_tokens "$ERR" "$OUT"

# A token oauth2d never issued: Dovecot refuses it.
oauth2_config client_credentials "oauth2_client_secret_file $T/secret"
printf '{"access_token": "at-forged-0123", "expires_at": %s, "obtained_at": %s}\n' \
    "$(($(now) + 3600))" "$(now)" >"$STATE"
chmod 600 "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
# Refused, then one fresh token from oauth2d: accepted.
assert_exit 0 "forged cached token replaced"
ok
pf_wait_spool 2 || fail "second message relayed"
assert_eq "$(o2_stat client_credentials)" 2 "a new token after the refusal"
assert_grep "SASL (OAUTHBEARER|XOAUTH2) authentication failed" "$PF/maillog" \
    "Postfix refused the forged token"
assert_grep_fixed "Introspection failed" "$DV/log" "Dovecot asked about it"
e2e_done
