#!/bin/sh
# Happy Eyeballs (RFC 8305, issue 16), in a network namespace of its own:
# dual.test has an IPv6 address whose packets are dropped (routed to a tun
# device nobody reads, so a SYN gets no answer and connect() hangs) and
# 127.0.0.1, where the smarthost listens.  Checked: the hang is real (an
# IPv6-only name times out after the full timeout, and so does a
# sequential connect, IPv6 first, before it reaches IPv4); postseal
# delivers to dual.test within 1 s over IPv4; with nothing on IPv4 either,
# the error names both addresses and why each failed; ten refused
# addresses are tried back to back, and the message stays bounded.
. "$(dirname "$0")/lib.sh"
postseal_only "Happy Eyeballs"
if [ -z "${E2E_IN_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
	need_cmd unshare ip mount
	unshare -n -m true 2>/dev/null || skip "cannot create namespaces"
	E2E_IN_NETNS=1 exec unshare -n -m sh "$0" "$@"
fi
e2e_init
V6=2001:db8:16::1
TO=3
ip link set lo up || hard_error "ip link set lo up"
ip tuntap add dev he0 mode tun 2>/dev/null || skip "no tun device"
ip link set he0 up && ip -6 route add 2001:db8:16::/64 dev he0 ||
    hard_error "cannot route $V6 into he0"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$T/hosts"
printf '%s dual.test v6only.test\n127.0.0.1 dual.test\n' "$V6" >>"$T/hosts"
for i in 10 11 12 13 14 15 16 17 18 19; do
	printf '127.0.0.%s many.test\n' "$i" >>"$T/hosts"
done
mount --bind "$T/hosts" /etc/hosts || hard_error "cannot mount the hosts file"

start_server --tls none
CFG_TIMEOUT=$TO E2E_HOST=dual.test base_config plain | write_config
sample_message >"$T/msg"

ms() {
	date +%s%3N
}

# The hang is real: the IPv6 address alone waits the full timeout.
sed 's/^host dual.test$/host v6only.test/' "$CFG" | write_config "$T/v6.conf"
t0=$(ms)
run_postseal -C "$T/v6.conf" rcpt@example.org <"$T/msg"
t=$(($(ms) - t0))
assert_tempfail_or_queued "IPv6 only"
assert_grep_fixed "$V6: timed out" "$ERR" "IPv6 only: stderr"
ok
[ "$t" -ge $((TO * 1000)) ] ||
    fail "IPv6 only: failed after $t ms, before the ${TO} s timeout"

# A sequential connect, IPv6 first (the old net_connect), needs as long.
t=$("$PYTHON" - "$PORT" "$TO" <<'PYEOF'
import socket, sys, time
port, to = int(sys.argv[1]), float(sys.argv[2])
t0 = time.monotonic()
for fam in (socket.AF_INET6, socket.AF_INET):
    for *_, sa in socket.getaddrinfo("dual.test", port, fam, socket.SOCK_STREAM):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(to)
        try:
            s.connect(sa)
            print(int((time.monotonic() - t0) * 1000))
            sys.exit(0)
        except OSError:
            s.close()
print("none")
PYEOF
)
ok
case $t in
none) fail "sequential connect: no address connected" ;;
*) [ "$t" -ge $((TO * 1000)) ] ||
    fail "sequential connect took $t ms: the IPv6 path does not hang" ;;
esac

# Happy Eyeballs: delivered over IPv4 within 1 s.
t0=$(ms)
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
t=$(($(ms) - t0))
assert_exit 0 "dual.test"
assert_delivered 1
assert_eq "$(json_get "$SPOOL/1.json" peer)" 127.0.0.1 "peer the server saw"
assert_eq "$(queue_entries)" "$Q_BEFORE" "dual.test: nothing queued"
ok
[ "$t" -lt 1000 ] || fail "dual.test: delivery took $t ms (want < 1000)"
e2e_log "dual.test delivered in $t ms"

# Both paths broken: every address and its failure in the message.
stop_server
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "nothing listens"
assert_grep_fixed "$V6: timed out" "$ERR" "both fail: the IPv6 address"
assert_grep_fixed "127.0.0.1: Connection refused" "$ERR" \
    "both fail: the IPv4 address"
assert_grep_fixed "connect to dual.test port $PORT" "$ERR" \
    "both fail: host and port"
# Ten addresses, all refused at once: no waiting between them, at most
# 8 per family tried, and the message stays one bounded line.
sed 's/^host dual.test$/host many.test/' "$CFG" | write_config "$T/many.conf"
t0=$(ms)
run_postseal -C "$T/many.conf" rcpt@example.org <"$T/msg"
t=$(($(ms) - t0))
assert_tempfail_or_queued "many.test"
assert_grep_fixed "127.0.0.10: Connection refused; 127.0.0.11: Connection refused" \
    "$ERR" "many.test: the first addresses, in order"
assert_no_grep_fixed "127.0.0.18:" "$ERR" "many.test: no more than 8 tried"
assert_grep "Connection refused; [0-9]+ more" "$ERR" "many.test: the rest counted"
ok
[ "$t" -lt 1000 ] || fail "many.test: refusals took $t ms (want < 1000)"
e2e_done
