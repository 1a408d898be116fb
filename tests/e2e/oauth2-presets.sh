#!/bin/sh
# oauth2_provider presets (issue 11): the scopes microsoft and gmail imply
# (delegated, app-only, service account), with the endpoints pointed at
# oauth2d.py.  A dead proxy for everything but 127.0.0.1 makes sure no
# request could leave the machine if an override were ignored.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
need_cmd openssl
make_ca
https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
export https_proxy HTTPS_PROXY no_proxy NO_PROXY
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/sa.key" 2>/dev/null || hard_error "openssl genpkey"
openssl pkey -in "$T/sa.key" -pubout -out "$T/sa.pub" 2>/dev/null
start_oauth2d --refresh-token "$O2_SEED" --sa-pubkey "$T/sa.pub"
start_smtp_oauth
sample_message presets >"$T/msg"
(umask 077 && printf '%s\n' "$O2_SECRET" >"$T/secret")

# preset_case PROVIDER FLOW SCOPE [LINE...]: the preset's scope is sent.
preset_case() {
	_p=$1 _f=$2 _s=$3
	shift 3
	oauth2_config "$_f" "$@"
	sed -i "s/^oauth2_provider custom/oauth2_provider $_p/; /^oauth2_scope /d" \
	    "$CFG"
	seed_state
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_exit 0 "$_p $_f"
	assert_eq "$(o2_stat last_scope)" "$_s" "$_p $_f: scope"
}
preset_case microsoft refresh_token \
    "https://outlook.office.com/SMTP.Send offline_access"
preset_case microsoft client_credentials \
    "https://outlook.office365.com/.default" \
    "oauth2_client_secret_file $T/secret"
"$PYTHON" -c 'import json, sys
print(json.dumps({"type": "service_account",
    "private_key": open(sys.argv[1]).read(),
    "client_email": "mailer@project.iam.example"}))' "$T/sa.key" >"$T/sa.json"
chmod 600 "$T/sa.json"
preset_case gmail jwt_bearer "https://mail.google.com/" \
    "oauth2_service_account_file $T/sa.json"
delivered 3 "all sent"

# Without the endpoint override the preset's host is used: here it meets
# the dead proxy (a temporary failure naming the Microsoft endpoint).
oauth2_config refresh_token "oauth2_tenant contoso.example"
sed -i 's/^oauth2_provider custom/oauth2_provider microsoft/; /^oauth2_token_endpoint /d' \
    "$CFG"
seed_state
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "preset endpoint"
assert_grep_fixed "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token" \
    "$ERR" "tenant in the preset endpoint"
assert_grep_fixed "127.0.0.1 port 9" "$ERR" "stopped at the dead proxy"
e2e_done
