# oauth2-lib.sh -- helpers for the OAuth2 tests (issue 11); source after
# lib.sh and make_ca.  oauth2d.py is the authorization server, smtpd.py
# --token-file accepts only the tokens it issued and that are still valid.

O2_CLIENT=test-client
O2_SECRET=Zq8-client-secret
O2_SEED=rt-seed-Zq8-0123456789abcdef
O2_USER=alice@example.org
STATE=$T/state/oauth2.json

# start_oauth2d [--cert NAME] [--port N] ARGS...: sets O2PORT and O2URL.
start_oauth2d() {
	_o2cert=server
	_o2port=0
	while [ $# -gt 0 ]; do
		case $1 in
		--cert) _o2cert=$2; shift 2 ;;
		--port) _o2port=$2; shift 2 ;;
		*) break ;;
		esac
	done
	rm -f "$T/o2.port"
	"$PYTHON" "$E2E/oauth2d.py" --port "$_o2port" --port-file "$T/o2.port" \
	    --cert "$CA/$_o2cert.pem" --key "$CA/$_o2cert.key" \
	    --token-file "$T/o2.tokens" --issued-file "$T/o2.issued" \
	    --log "$T/o2.log" --client-id "$O2_CLIENT" \
	    --client-secret "$O2_SECRET" --parent-pid $$ "$@" \
	    >"$T/o2.out" 2>&1 &
	O2PID=$!
	track_pid "$O2PID"
	_n=0
	while [ ! -s "$T/o2.port" ]; do
		kill -0 "$O2PID" 2>/dev/null || {
			cat "$T/o2.out" >&2
			hard_error "oauth2d.py exited early"
		}
		_n=$((_n + 1))
		[ $_n -gt 200 ] && hard_error "oauth2d.py did not listen in 10 s"
		sleep 0.05
	done
	O2PORT=$(cat "$T/o2.port")
	O2URL=https://127.0.0.1:$O2PORT
}

stop_oauth2d() {
	kill "$O2PID" 2>/dev/null
	wait "$O2PID" 2>/dev/null
}

# o2_ctl PATH [k=v...]: POST to a /test/ endpoint of oauth2d.
o2_ctl() {
	"$PYTHON" - "$O2URL" "$CA/ca.pem" "$@" <<'PY' || hard_error "o2_ctl $*"
import ssl, sys, urllib.parse, urllib.request
url, ca, path = sys.argv[1:4]
data = urllib.parse.urlencode(dict(a.split("=", 1) for a in sys.argv[4:]))
ctx = ssl.create_default_context(cafile=ca)
urllib.request.urlopen(url + path, data.encode(), context=ctx, timeout=10).read()
PY
}

# o2_stat KEY: a field of /test/stats (0 when absent).
o2_stat() {
	"$PYTHON" - "$O2URL" "$CA/ca.pem" "$1" <<'PY'
import json, ssl, sys, urllib.request
url, ca, key = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
d = json.load(urllib.request.urlopen(url + "/test/stats", context=ctx,
                                     timeout=10))
print(d.get(key) or 0)
PY
}

# state_get KEY: a field of the state file.
state_get() {
	"$PYTHON" -c 'import json, sys
print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$STATE" "$1"
}

# seed_state: a state file holding the refresh token oauth2d starts with.
seed_state() {
	mkdir -p "$T/state"
	chmod 700 "$T/state"
	(umask 077 && printf '{"refresh_token": "%s"}\n' "$O2_SEED" >"$STATE")
}

# start_smtp_oauth [SMTPD-ARGS]: STARTTLS, bearer tokens checked.
start_smtp_oauth() {
	start_server --tls starttls --user "$O2_USER" \
	    --mechs "${O2_MECHS:-XOAUTH2,OAUTHBEARER}" \
	    --token-file "$T/o2.tokens" --auth-required "$@"
}

# oauth2_config [FLOW] [EXTRA-LINE...]: account "test" for the SMTP server
# started last and oauth2d; auth left "on" (chooses a bearer mechanism).
oauth2_config() {
	_flow=${1:-refresh_token}
	[ $# -gt 0 ] && shift
	{
		base_config starttls |
		    sed '/^auth off$/d; /^account default/d'
		printf 'user %s\n' "$O2_USER"
		printf 'oauth2_provider custom\noauth2_flow %s\n' "$_flow"
		printf 'oauth2_client_id %s\n' "$O2_CLIENT"
		printf 'oauth2_token_endpoint %s/token\n' "$O2URL"
		[ -n "${O2_NO_DEVICE:-}" ] ||
		    printf 'oauth2_device_endpoint %s/device\n' "$O2URL"
		printf 'oauth2_authorization_endpoint %s/authorize\n' "$O2URL"
		printf 'oauth2_scope smtp offline_access\n'
		printf 'oauth2_trust_file %s\n' "$CA/ca.pem"
		printf 'oauth2_state_file %s\n' "$STATE"
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
		printf '\naccount default : test\n'
	} | write_config
}

# assert_no_tokens FILE...: no token oauth2d issued, no refresh token we
# seeded and no client secret appears in the files.
assert_no_tokens() {
	{
		cat "$T/o2.issued" 2>/dev/null
		printf '%s\n%s\n' "$O2_SEED" "$O2_SECRET"
	} >"$T/o2.secrets"
	while IFS= read -r _tok; do
		for _f in "$@"; do
			assert_no_grep_fixed "$_tok" "$_f" \
			    "$(basename "$_f") (token or secret)"
		done
	done <"$T/o2.secrets"
}

# delivered N WHAT: the SMTP server's spool holds N messages.
delivered() {
	assert_file_count "$SPOOL" '*.eml' "$1" "${2:-delivered}"
}

# start_login ARGS...: postseal --oauth2-login ARGS in the background,
# stdout to $T/login.out; waits for N (default 1) lines: LOGIN_LINES.
start_login() {
	: >"$T/login.out"
	timeout -k 5 60 "$POSTSEAL" -C "$CFG" --oauth2-login "$@" \
	    >"$T/login.out" 2>"$T/login.err" &
	LOGIN_PID=$!
	track_pid "$LOGIN_PID"
	_n=0
	while [ "$(wc -l <"$T/login.out")" -lt "${LOGIN_LINES:-1}" ]; do
		kill -0 "$LOGIN_PID" 2>/dev/null || break
		_n=$((_n + 1))
		[ $_n -gt 200 ] && break
		sleep 0.05
	done
}

# wait_login: its exit status in RC, its stderr in $ERR.
wait_login() {
	wait "$LOGIN_PID"
	RC=$?
	ERR=$T/login.err
	sed 's/^/  login stderr: /' "$ERR"
}
