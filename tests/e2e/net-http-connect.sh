#!/bin/sh
# proxy http-connect:// (issue 16) through Debian's tinyproxy on loopback,
# bound to 127.0.0.3 for its outgoing connections, so the smarthost's
# record of its peer tells whether the mail came through the proxy.  The
# smarthost's name is known only to the proxy (its own /etc/hosts, in a
# mount namespace; root only).  With Basic authentication: the right
# password delivers; a wrong one fails (407, or 401 from tinyproxy) naming the proxy, never the
# password.
. "$(dirname "$0")/lib.sh"
postseal_only "proxy"
e2e_init
need_cmd tinyproxy
start_server --tls none
sample_message >"$T/msg"
NAME=localhost
PRIV=
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	NAME=smtp.behind-proxy.test
	PRIV=1
else
	partial_skip "not root: no private hosts file for the proxy"
fi

# start_proxy NAME [tinyproxy config lines]: sets PPORT.
start_proxy() {
	_pn=$1
	shift
	PPORT=$(free_port)
	{
		printf 'Port %s\nListen 127.0.0.1\nBind 127.0.0.3\n' "$PPORT"
		printf 'Timeout 30\nMaxClients 8\nAllow 127.0.0.1\n'
		printf 'LogLevel Info\nLogFile "%s/%s.log"\n' "$T" "$_pn"
		[ "$(id -u)" = 0 ] && printf 'User root\nGroup root\n'
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
	} >"$T/$_pn.conf"
	printf '127.0.0.1 localhost\n127.0.0.1 smtp.behind-proxy.test\n' \
	    >"$T/proxy-hosts"
	if [ -n "$PRIV" ]; then
		unshare -m sh -c 'mount --bind "$1" /etc/hosts &&
		    exec tinyproxy -d -c "$2"' sh "$T/proxy-hosts" \
		    "$T/$_pn.conf" >"$T/$_pn.out" 2>&1 &
	else
		tinyproxy -d -c "$T/$_pn.conf" >"$T/$_pn.out" 2>&1 &
	fi
	track_pid $!
	"$PYTHON" - "$PPORT" <<'PYEOF' || hard_error "tinyproxy did not listen"
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

cfg() {
	E2E_HOST=$1 base_config plain | sed "s|^host |proxy $2\\nhost |"
}

delivered=0
expect_delivery() {
	delivered=$((delivered + 1))
	assert_exit 0 "$1"
	assert_delivered $delivered "$1: server spool"
	assert_eq "$(json_get "$SPOOL/$delivered.json" peer)" 127.0.0.3 \
	    "$1: the smarthost saw the proxy's address"
}

start_proxy open
cfg "$NAME" "http-connect://127.0.0.1:$PPORT" | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
expect_delivery "http-connect to $NAME"

PW='h77p-s3cret'
start_proxy auth "BasicAuth proxyuser $PW"
cfg "$NAME" "http-connect://proxyuser:$PW@127.0.0.1:$PPORT" | write_config
run_postseal -v -C "$CFG" rcpt@example.org <"$T/msg"
expect_delivery "http-connect with Basic authentication"
assert_no_grep_fixed "$PW" "$ERR" "verbose output: no proxy password"

cfg "$NAME" "http-connect://proxyuser:wrong@127.0.0.1:$PPORT" | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "wrong proxy password"
assert_grep "proxy 127\\.0\\.0\\.1 port $PPORT to $NAME port $PORT: the HTTP proxy said 40[17] " \
    "$ERR" "stderr: 407 (tinyproxy: 401) from the proxy"
assert_no_grep_fixed "wrong" "$ERR" "stderr: no proxy password"
assert_delivered $delivered "wrong password: nothing more delivered"
e2e_done
