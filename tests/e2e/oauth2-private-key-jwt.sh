#!/bin/sh
# client_credentials with a certificate instead of a secret (private_key_jwt,
# RFC 7523 2.2; Microsoft's certificate credentials; issue 11): an RS256
# client assertion with the certificate's x5t thumbprint, a fresh jti each
# time, verified by oauth2d.py with openssl; a key others can read is
# refused; a certificate the provider does not know is permanent.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
need_cmd openssl
make_ca
# mkcert NAME: an RSA key and a self-signed certificate.
mkcert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$1" \
	    -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null ||
	    hard_error "openssl req"
}
mkcert app
mkcert other
chmod 644 "$T/app.key"
start_oauth2d --client-cert "$T/app.crt"
start_smtp_oauth
oauth2_config client_credentials "oauth2_client_key $T/app.key" \
    "oauth2_client_cert $T/app.crt"
mkdir -p "$T/state"
sample_message cert >"$T/msg"

run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 78 "key readable by others"
assert_grep_fixed "holds a private key but is readable by others" "$ERR" \
    "mode rule"
delivered 0 "nothing sent"

chmod 600 "$T/app.key"
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "private_key_jwt"
delivered 1 "private_key_jwt"
assert_eq "$(o2_stat client_assertion)" 1 "one verified assertion"
assert_no_tokens "$ERR" "$OUT"
grep -v -- '-----' "$T/app.key" >"$T/keylines"
while IFS= read -r l; do
	assert_no_grep_fixed "$l" "$ERR" "-v output (private key)"
done <"$T/keylines"
# A new assertion (new jti) for the next token.
rm -f "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "second assertion"
assert_eq "$(o2_stat client_assertion)" 2 "no replay refused"

# A certificate the provider does not know.
oauth2_config client_credentials "oauth2_client_key $T/other.key" \
    "oauth2_client_cert $T/other.crt"
chmod 600 "$T/other.key"
rm -f "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "unknown certificate"
assert_grep_fixed "invalid_client (AADSTS700027" "$ERR" "provider error"
delivered 2 "nothing sent with an unknown certificate"

# The key without its certificate: a configuration error.
oauth2_config client_credentials "oauth2_client_key $T/app.key"
rm -f "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 78 "no certificate"
assert_grep_fixed "oauth2_client_key needs oauth2_client_cert" "$ERR" \
    "names the missing setting"
e2e_done
