#!/bin/sh
# oauth2_flow jwt_bearer (RFC 7523; issue 11): a Google service account
# with domain-wide delegation.  The assertion is RS256-signed with the key
# from the JSON key file (iss = client_email, sub = user, aud = the token
# endpoint; oauth2d.py verifies it with openssl); a key file others can
# read is refused; a wrong key is permanent; the key never shows in -v.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
need_cmd openssl
make_ca
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/sa.key" 2>/dev/null || hard_error "openssl genpkey"
openssl pkey -in "$T/sa.key" -pubout -out "$T/sa.pub" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/other.key" 2>/dev/null
# sa_json KEYFILE: a service account JSON key file as Google issues it.
sa_json() {
	"$PYTHON" -c 'import json, sys
print(json.dumps({"type": "service_account", "project_id": "test",
    "private_key_id": "0123", "private_key": open(sys.argv[1]).read(),
    "client_email": "mailer@project.iam.example", "client_id": "1",
    "token_uri": "https://oauth2.googleapis.com/token"}, indent=2))' "$1"
}
sa_json "$T/sa.key" >"$T/sa.json"
chmod 644 "$T/sa.json"
start_oauth2d --sa-pubkey "$T/sa.pub" --sa-sub "$O2_USER"
start_smtp_oauth
oauth2_config jwt_bearer "oauth2_service_account_file $T/sa.json"
sed -i '/^oauth2_client_id/d' "$CFG"
mkdir -p "$T/state"
sample_message jwt >"$T/msg"

run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 78 "key file readable by others"
assert_grep_fixed "holds a private key but is readable by others" "$ERR" \
    "mode rule"
delivered 0 "nothing sent"

chmod 600 "$T/sa.json"
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "jwt_bearer"
delivered 1 "jwt_bearer"
assert_eq "$(o2_stat urn:ietf:params:oauth:grant-type:jwt-bearer)" 1 \
    "one assertion"
assert_grep_fixed "jwt_bearer grant" "$ERR" "-v names the grant"
assert_eq "$(state_get refresh_token)" None "no refresh token"
assert_no_tokens "$ERR" "$OUT"
sed -n '/BEGIN/,/END/p' "$T/sa.key" | grep -v -- '-----' >"$T/keylines"
while IFS= read -r l; do
	assert_no_grep_fixed "$l" "$ERR" "-v output (private key)"
done <"$T/keylines"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "cached"
assert_eq "$(o2_stat urn:ietf:params:oauth:grant-type:jwt-bearer)" 1 \
    "cached token reused"

# A key the provider does not know: permanent, its error quoted, no hint
# to log in (there is no login for a service account).
sa_json "$T/other.key" >"$T/sa.json"
rm -f "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "wrong key"
assert_grep_fixed "invalid_grant (Invalid JWT Signature.)" "$ERR" \
    "provider error"
assert_no_grep_fixed "oauth2-login" "$ERR" "no login hint"
delivered 2 "nothing sent with a wrong key"

run_postseal -C "$CFG" --oauth2-login
assert_exit 64 "no login for jwt_bearer"
e2e_done
