#!/bin/sh
# proxy socks5:// and socks5h:// (issue 16) through Debian's microsocks on
# loopback, which connects out from 127.0.0.3, so the smarthost's record of
# its peer tells whether the mail came through the proxy.  socks5h: the
# smarthost's name is known only to the proxy (its own /etc/hosts, in a
# mount namespace), so delivery proves postseal did not resolve it, and
# strace shows no DNS traffic from postseal; socks5:// the same (postseal
# never resolves the smarthost's name when it has a proxy).  With authentication (RFC
# 1929): the right password delivers; a wrong one fails naming the proxy,
# never the password; none at all says the proxy wants one; a password in
# a file others can read is refused.
. "$(dirname "$0")/lib.sh"
postseal_only "proxy"
e2e_init
need_cmd microsocks
start_server --tls none
sample_message >"$T/msg"

# start_proxy NAME [microsocks options]: sets PPORT.
start_proxy() {
	_pn=$1
	shift
	PPORT=$(free_port)
	printf '127.0.0.1 localhost\n127.0.0.1 smtp.behind-proxy.test\n' \
	    >"$T/proxy-hosts"
	if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
		unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift &&
		    exec microsocks "$@"' sh "$T/proxy-hosts" \
		    -i 127.0.0.1 -p "$PPORT" -b 127.0.0.3 "$@" \
		    >"$T/$_pn.log" 2>&1 &
	else
		microsocks -i 127.0.0.1 -p "$PPORT" -b 127.0.0.3 "$@" \
		    >"$T/$_pn.log" 2>&1 &
	fi
	track_pid $!
	"$PYTHON" - "$PPORT" <<'PYEOF' || hard_error "microsocks did not listen"
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

# cfg HOST PROXY-URL: a plain-text account through the proxy.
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
# through NAME URL: a name only the proxy knows, postseal traced.
through() {
	cfg smtp.behind-proxy.test "$2" | write_config
	if command -v strace >/dev/null 2>&1; then
		OUT=$T/postseal.out ERR=$T/postseal.err
		# LeakSanitizer cannot run under ptrace (sanitizer builds).
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		    strace -f -qq -e trace=connect,sendto,sendmsg -o "$T/strace" \
		    "$POSTSEAL" -C "$CFG" rcpt@example.org <"$T/msg" \
		    >"$OUT" 2>"$ERR"
		RC=$?
		assert_no_grep 'htons\(53\)' "$T/strace" "$1: strace: no DNS query"
		assert_grep "connect\(.*htons\($PPORT\).*127\.0\.0\.1" \
		    "$T/strace" "$1: strace: postseal connected to the proxy"
		assert_no_grep "htons\($PORT\)" "$T/strace" \
		    "$1: strace: no direct connection to the smarthost"
	else
		partial_skip "strace is not installed: DNS traffic not traced"
		run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	fi
	expect_delivery "$1, a name only the proxy knows"
}
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	through socks5h "socks5h://127.0.0.1:$PPORT"
	through socks5 "socks5://127.0.0.1:$PPORT"
else
	partial_skip "not root: no private hosts file for the proxy"
fi

# A literal address goes to the proxy as an address.
cfg 127.0.0.1 "socks5://127.0.0.1:$PPORT" | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
expect_delivery "socks5 to 127.0.0.1"

PW='pr0xy-s3cret'
start_proxy auth -u proxyuser -P "$PW"
cfg localhost "socks5h://proxyuser:$PW@127.0.0.1:$PPORT" | write_config
run_postseal -v -C "$CFG" rcpt@example.org <"$T/msg"
expect_delivery "socks5h with a user name and password"
assert_no_grep_fixed "$PW" "$ERR" "verbose output: no proxy password"

cfg localhost "socks5h://proxyuser:wrong-$PW@127.0.0.1:$PPORT" | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "wrong proxy password"
assert_grep_fixed "proxy 127.0.0.1 port $PPORT to localhost port $PORT: the proxy refused the user name or password" \
    "$ERR" "stderr: refused credentials"
assert_no_grep_fixed "$PW" "$ERR" "stderr: no proxy password"
assert_delivered $delivered "wrong password: nothing more delivered"

cfg localhost "socks5h://127.0.0.1:$PPORT" | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_grep_fixed "the proxy wants a user name and password" "$ERR" \
    "stderr: no credentials"
assert_delivered $delivered "no credentials: nothing more delivered"

cfg localhost "socks5h://proxyuser:$PW@127.0.0.1:$PPORT" | write_config
chmod 644 "$CFG"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_grep_fixed "holds a password but is readable by others" "$ERR" \
    "stderr: proxy password in a readable file"
assert_no_grep_fixed "$PW" "$ERR" "stderr (readable file): no password"

# Nothing listens where the proxy should be: the error says "proxy".
stop_server
cfg localhost "socks5h://127.0.0.1:$(free_port)" | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "proxy down"
assert_grep "proxy: connect to 127\\.0\\.0\\.1 port [0-9]+: 127\\.0\\.0\\.1: Connection refused" \
    "$ERR" "stderr: proxy down"
e2e_done
