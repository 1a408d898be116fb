#!/bin/sh
# OAuth2 client_credentials (issue 11; Microsoft's app-only SMTP): the
# client secret from a 0600 file or from oauth2_client_secret_eval; a file
# others can read is refused; a wrong secret is permanent with the
# provider's error; with only XOAUTH2 offered, auth on picks it; no token
# or secret in -v output, errors, the eval child's environment or argv.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
make_ca
start_oauth2d
O2_MECHS=XOAUTH2 start_smtp_oauth
printf '%s\n' "$O2_SECRET" >"$T/secret"
chmod 644 "$T/secret"
oauth2_config client_credentials "oauth2_client_secret_file $T/secret"
sample_message app-only >"$T/msg"

run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 78 "secret file readable by others"
assert_grep_fixed "readable by others; run: chmod 600 $T/secret" "$ERR" \
    "mode rule named"
delivered 0 "nothing sent"
assert_eq "$(o2_stat client_credentials)" 0 "no request with a bad file"

chmod 600 "$T/secret"
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "client credentials"
delivered 1 "client credentials"
assert_grep "^[0-9]+ tls AUTH XOAUTH2 " "$RECORD" "auth on chose XOAUTH2"
assert_eq "$(o2_stat client_credentials)" 1 "one grant"
assert_eq "$(state_get refresh_token)" None "no refresh token stored"
assert_eq "$(stat -c %a "$STATE")" 600 "state file mode"
cp "$ERR" "$T/verbose.err"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "cached"
assert_eq "$(o2_stat client_credentials)" 1 "cached token reused"

# A wrong secret: permanent, the provider's error quoted.
printf 'wrong-secret\n' >"$T/secret"
rm -f "$STATE"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "wrong secret"
assert_grep_fixed "invalid_client (bad client secret)" "$ERR" "provider error"
delivered 2 "nothing sent with a wrong secret"

# The secret from a command: its environment and its parent's argv hold
# no token and no secret.
printf '%s\n' "$O2_SECRET" >"$T/secret"
oauth2_config client_credentials \
    "oauth2_client_secret_eval env >$T/child.env; tr '\\\\0' ' ' </proc/\$PPID/cmdline >$T/parent.argv; cat $T/secret"
rm -f "$STATE"
run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
assert_exit 0 "secret from eval"
delivered 3 "secret from eval"
assert_eq "$(o2_stat client_credentials)" 3 "a grant with the eval'd secret"
assert_grep_fixed "rcpt@example.org" "$T/parent.argv" "parent argv captured"
cat "$ERR" >>"$T/verbose.err"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "cached again"

# Endpoints must be https.
oauth2_config client_credentials "oauth2_token_endpoint http://127.0.0.1:1/token"
# (A configuration that cannot be loaded holds the message: issue 9.)
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "http endpoint: message held"
assert_grep_fixed "oauth2_token_endpoint: expected an https:// URL" "$ERR" \
    "http refused"
assert_grep_fixed "message is held in the queue" "$ERR" "http endpoint: held"

# The contrib examples are valid configurations (-bp reads the config and
# contacts no provider; the queue is ours, not the real user's).
for ex in "$top_srcdir"/contrib/examples/oauth2-*.conf; do
	{ printf 'defaults\nqueue_dir %s\n\n' "$QUEUE"; cat "$ex"; } \
	    >"$T/example.conf"
	chmod 600 "$T/example.conf"
	run_postseal -C "$T/example.conf" -bp
	assert_exit 0 "$(basename "$ex") parses"
done

assert_no_tokens "$T/verbose.err" "$ERR" "$OUT" "$T/child.env" \
    "$T/parent.argv"
e2e_done
