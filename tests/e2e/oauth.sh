#!/bin/sh
# OAuth2 bearer tokens: "auth xoauth2" and "auth oauthbearer" send the
# token from password/passwordeval in the initial response, over TLS only;
# a refused token exits 77 with nothing sent; -v never shows the token.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
TOKEN='ya29.Test-Token_0123456789'
start_server --tls starttls --user alice@example.org --password "$TOKEN" \
    --mechs XOAUTH2,OAUTHBEARER

for mech in xoauth2 oauthbearer; do
	M=$(echo "$mech" | tr a-z A-Z)
	{
		base_config starttls | sed '/^auth off$/d; /^account default/d'
		printf 'auth %s\nuser alice@example.org\n' "$mech"
		printf 'passwordeval "printf %%s %s"\n' "$TOKEN"
		printf '\naccount default : test\n'
	} | write_config
	sample_message "$mech" >"$T/msg"
	run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
	assert_exit 0 "$M"
	assert_grep "^[0-9]+ tls AUTH $M " "$RECORD" "$M with an initial response"
	assert_no_grep "^[0-9]+ plain AUTH" "$RECORD" "$M: no AUTH in plaintext"
	assert_delivered "$((${n:-0} + 1))" "$M delivered"
	n=$((${n:-0} + 1))
	assert_eq "$(json_get "$SPOOL/$n.json" auth_mech)" "$M" "$M: mechanism the server saw"
	# The exact initial response this run's server received, whatever its
	# encoding, and the raw token: neither in the -v output.
	ir=$(sed -n 's/^[0-9]* auth-ir //p' "$EVENTS" | tail -n 1)
	assert_match "$ir" '^[A-Za-z0-9+/]{20,}=*$' "$M: initial response recorded"
	printf '%s' "$ir" | base64 -d >"$T/ir" 2>/dev/null
	assert_grep_fixed "auth=Bearer $TOKEN" "$T/ir" "$M: the token is in that response"
	assert_no_grep_fixed "$ir" "$ERR" "$M: -v output (the initial response sent)"
	assert_no_grep_fixed "$TOKEN" "$ERR" "$M: -v output (token)"
	assert_no_grep_fixed "$TOKEN" "$OUT" "$M: stdout (token)"
	: >"$EVENTS"
done

# A refused token: exit 77, nothing delivered.
{
	base_config starttls | sed '/^auth off$/d; /^account default/d'
	printf 'auth oauthbearer\nuser alice@example.org\npassword expired-token\n'
	printf '\naccount default : test\n'
} | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "refused token"
assert_file_count "$SPOOL" '*.eml' 2 "nothing more delivered"
assert_no_grep_fixed expired-token "$ERR" "error text (token)"
assert_no_secret alice@example.org expired-token "$ERR" "$OUT"
e2e_done
