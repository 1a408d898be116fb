#!/bin/sh
# postseal --check-domain against a real authoritative server (nsd) on
# loopback: one correct domain passes clean; each planted SPF problem is
# reported as the error or warning it is (syntax error, include loop,
# more than 10 lookups, void lookups, +all, an address not listed, no
# record); so are a missing or unconfirmed reverse DNS and a null or
# missing MX; a refused zone (SERVFAIL) and a server that never answers
# (timeout) are "could not check", never "no record".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only
ns_zone provider.test <<'EOF'
_spf	TXT	"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all"
EOF
ns_zone good.test <<'EOF'
@	TXT	"v=spf1 include:_spf.provider.test -all"
@	TXT	"google-site-verification=unrelated"
_dmarc	TXT	"v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
@	MX	10 mx.good.test.
mx	A	192.0.2.25
out6	AAAA	2001:db8::25
EOF
{
	printf '_dmarc\tTXT\t"v=DMARC1; p=quarantine; rua=mailto:d@planted.test"\n'
	printf 'syntax\tTXT\t"v=spf1 ip4:192.0.2.300 -all"\n'
	printf 'loop1\tTXT\t"v=spf1 include:loop2.planted.test -all"\n'
	printf 'loop2\tTXT\t"v=spf1 include:loop1.planted.test -all"\n'
	printf 'many\tTXT\t"v=spf1'
	for i in 1 2 3 4 5 6 7 8 9 10 11; do printf ' a:h%s.planted.test' $i; done
	printf ' -all"\n'
	for i in 1 2 3 4 5 6 7 8 9 10 11; do printf 'h%s\tA\t198.51.100.%s\n' $i $i; done
	printf 'void\tTXT\t"v=spf1 a:nx1.planted.test a:nx2.planted.test '
	printf 'a:nx3.planted.test ip4:192.0.2.0/24 -all"\n'
	printf 'open\tTXT\t"v=spf1 +all"\n'
	printf 'nospf\tA\t192.0.2.99\n'
	printf 'liar\tA\t192.0.2.99\n'
	printf 'nullmx\tTXT\t"v=spf1 ip4:192.0.2.0/24 -all"\n'
	printf 'nullmx\tMX\t0 .\n'
	# mx, ptr and a over IPv6: MX, PTR and AAAA answers on the wire.
	printf 'viamx\tTXT\t"v=spf1 mx -all"\n'
	printf 'viamx\tMX\t10 out1.planted.test.\n'
	printf 'viamx\tMX\t20 out2.planted.test.\n'
	printf 'out1\tA\t198.51.100.1\n'
	printf 'out2\tA\t192.0.2.10\n'
	printf 'out2\tAAAA\t2001:db8:5::10\n'
	printf 'viaptr\tTXT\t"v=spf1 ptr:planted.test -all"\n'
	printf 'viaaaaa\tTXT\t"v=spf1 a:out2.planted.test -all"\n'
	# one record in two character-strings, joined without a space (3.3)
	printf 'split\tTXT\t"v=spf1 ip4:192.0.2.0/24 " "ip4:198.51.100.0/24 -all"\n'
} | ns_zone planted.test
ns_zone 2.0.192.in-addr.arpa <<'EOF'
10	PTR	out2.planted.test.
12	PTR	liar.planted.test.
13	PTR	evil\027[31m.planted.test.
EOF
ns_zone 8.b.d.0.1.0.0.2.ip6.arpa <<'EOF'
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0	PTR	out6.good.test.
EOF
ns_start
ns_blackhole

# check_with SERVER-PORT DOMAIN ARGS...: a config pointing at the server.
check_with() {
	_port=$1
	shift
	write_config <<EOF
account dns
host 127.0.0.1
from postmaster@good.test
auth off
timeout 3
dns_server 127.0.0.1:$_port
account default : dns
EOF
	run_postseal -C "$CFG" --check-domain "$@"
	cat "$OUT"
}

# The correct domain: pass through the provider's include, clean report.
check_with "$NS_PORT" good.test --ip 192.0.2.10
cp "$OUT" "$T/good.out"
assert_exit 0 "good.test"
assert_grep_fixed 'spf: ok: pass for 192.0.2.10 as postmaster@good.test (ip4:192.0.2.0/24 in _spf.provider.test; 1 of 10 DNS lookups)' "$OUT" "good: SPF pass and the matching term"
assert_grep_fixed 'dmarc: ok: p=reject applies (from _dmarc.good.test' "$OUT" "good: DMARC reject"
assert_grep_fixed 'dmarc: ok: SPF-authenticated envelope domain good.test aligns with From domain good.test (relaxed)' "$OUT" "good: aligned"
assert_grep_fixed 'summary: 0 error(s), 0 warning(s)' "$OUT" "good: clean summary"
assert_no_grep ': (error|warning): ' "$OUT" "good: no finding is a problem"
# IPv6 through the same include.
check_with "$NS_PORT" good.test --ip 2001:db8::25
cp "$OUT" "$T/good6.out"
assert_exit 0 "good.test over IPv6"
assert_grep '^spf: ok: pass for 2001:db8::25 .*ip6:2001:db8::/32' "$OUT" "good: IPv6 pass"

# An address the domain does not list: the include's ~all does not
# match, the record's -all does: fail, and the fix names the address.
check_with "$NS_PORT" good.test --ip 203.0.113.5
assert_exit 1 "good.test, unlisted address"
assert_grep_fixed 'spf: error: fail for 203.0.113.5 as postmaster@good.test (-all): good.test does not authorise this address; fix: add ip4:203.0.113.5' "$OUT" "unlisted: fail with the fix"

# Planted problems.
check_with "$NS_PORT" syntax.planted.test --ip 192.0.2.10
assert_exit 1 "syntax error"
assert_grep '^spf: error: permerror: syntax.planted.test: syntax error: invalid IPv4 address in "ip4:192.0.2.300"; receivers treat the record as broken; fix: correct the term ' "$OUT" "syntax: permerror, the term and the fix named"

check_with "$NS_PORT" loop1.planted.test --ip 192.0.2.10
assert_exit 1 "include loop"
assert_grep '^spf: error: permerror: .*more than 10 DNS lookups .*loop: loop1.planted.test -> loop2.planted.test -> loop1.planted.test' "$OUT" "loop: limit and the loop named"
assert_grep '^spf: warning: include/redirect loop: loop1.planted.test -> loop2.planted.test -> loop1.planted.test; fix: remove the include: or redirect= that leads back to loop1.planted.test$' "$OUT" "loop: warning and fix"

check_with "$NS_PORT" many.planted.test --ip 192.0.2.10
cp "$OUT" "$T/many.out"
assert_exit 1 "more than 10 lookups"
assert_grep_fixed 'spf: error: permerror: many.planted.test: more than 10 DNS lookups (include, a, mx, ptr, exists, redirect)' "$OUT" "many: over the limit"

check_with "$NS_PORT" void.planted.test --ip 192.0.2.10
assert_exit 1 "void lookups"
assert_grep '^spf: error: permerror: void.planted.test: more than 2 void lookups' "$OUT" "void: over the void limit"

check_with "$NS_PORT" open.planted.test --ip 192.0.2.10
assert_exit 0 "+all (a warning, not an error)"
assert_grep_fixed 'spf: ok: pass for 192.0.2.10 as postmaster@open.planted.test (+all in open.planted.test' "$OUT" "+all: pass"
assert_grep_fixed 'spf: warning: open.planted.test: "+all" authorises every address on the Internet' "$OUT" "+all: warned"

check_with "$NS_PORT" nospf.planted.test --ip 192.0.2.10
assert_exit 1 "no SPF record"
assert_grep_fixed 'spf: error: none: nospf.planted.test: no SPF record (no record of that type); fix: publish a TXT record at nospf.planted.test: "v=spf1 ip4:192.0.2.10 -all"' "$OUT" "nospf: none with the record to publish"

check_with "$NS_PORT" viamx.planted.test --ip 192.0.2.10
assert_exit 0 "mx"
assert_grep_fixed 'spf: ok: pass for 192.0.2.10 as postmaster@viamx.planted.test (mx in viamx.planted.test; 1 of 10 DNS lookups)' "$OUT" "mx: the second MX host's address matched"
check_with "$NS_PORT" viaptr.planted.test --ip 192.0.2.10
assert_exit 0 "ptr (a warning)"
assert_grep_fixed 'spf: ok: pass for 192.0.2.10 as postmaster@viaptr.planted.test (ptr:planted.test in viaptr.planted.test' "$OUT" "ptr: validated name matched"
assert_grep_fixed 'spf: warning: viaptr.planted.test: the ptr mechanism is deprecated (RFC 7208 5.5)' "$OUT" "ptr: deprecated"
check_with "$NS_PORT" viaptr.planted.test --ip 192.0.2.11
assert_exit 1 "ptr, no PTR record"
assert_grep_fixed 'spf: error: fail for 192.0.2.11' "$OUT" "ptr: no name, no match"
check_with "$NS_PORT" viaaaaa.planted.test --ip 2001:db8:5::10
assert_no_grep '^spf: (error|warning)' "$OUT" "a over IPv6: no SPF problem"
assert_grep_fixed 'spf: ok: pass for 2001:db8:5::10 as postmaster@viaaaaa.planted.test (a:out2.planted.test in' "$OUT" "a: AAAA matched"

check_with "$NS_PORT" split.planted.test --ip 198.51.100.7
assert_no_grep '^spf: (error|warning)' "$OUT" "a record in two strings: no SPF problem"
assert_grep_fixed 'spf: ok: pass for 198.51.100.7 as postmaster@split.planted.test (ip4:198.51.100.0/24 in split.planted.test' "$OUT" "split: the strings joined"

# The rest of the domain report: reverse DNS of the address (forward-
# confirmed) and the From domain's MX.
assert_grep_fixed 'rdns: ok: 192.0.2.10 is out2.planted.test (forward-confirmed)' "$T/good.out" "good: rDNS confirmed"
assert_grep_fixed 'mx: ok: good.test: 1 MX record(s): mx.good.test' "$T/good.out" "good: MX"
assert_grep_fixed 'rdns: ok: 2001:db8::25 is out6.good.test (forward-confirmed)' "$T/good6.out" "good: IPv6 rDNS confirmed"
check_with "$NS_PORT" good.test --ip 192.0.2.11
assert_exit 1 "no rDNS"
assert_grep_fixed 'rdns: error: 192.0.2.11 has no reverse DNS (no such name): large mailbox providers refuse such mail; fix: ask the owner of the address for a PTR record' "$OUT" "rdns: missing"
check_with "$NS_PORT" good.test --ip 192.0.2.12
assert_exit 1 "rDNS not forward-confirmed"
assert_grep_fixed 'rdns: error: 192.0.2.12 is liar.planted.test, which does not resolve back to it (not forward-confirmed); fix: give liar.planted.test an address record for 192.0.2.12' "$OUT" "rdns: not confirmed"
# A hostile name (an escape sequence) is a malformed answer, not text.
check_with "$NS_PORT" good.test --ip 192.0.2.13
assert_exit 1 "hostile PTR name"
assert_grep_fixed 'rdns: error: could not check the reverse DNS of 192.0.2.13 (malformed answer)' "$OUT" "rdns: hostile name refused"
ok
if tr -d '\n' <"$OUT" | LC_ALL=C grep -q "$(printf '\033')"; then
	fail "rdns: an escape character reached the output"
fi
check_with "$NS_PORT" nullmx.planted.test --ip 192.0.2.10
assert_exit 1 "null MX"
assert_grep_fixed 'mx: error: nullmx.planted.test has a null MX (RFC 7505): replies and bounces to it cannot be delivered' "$OUT" "mx: null MX"
assert_grep_fixed 'mx: warning: many.planted.test has no MX record (no record of that type)' "$T/many.out" "mx: none"

# SERVFAIL: nsd refuses a zone it does not serve.
check_with "$NS_PORT" unserved.example --ip 192.0.2.10
assert_exit 1 "SERVFAIL"
assert_grep_fixed 'spf: error: temperror: could not check (unserved.example: TXT lookup: server failure' "$OUT" "servfail: temperror"
assert_no_grep 'no SPF record|none:' "$OUT" "servfail: never 'no record'"
assert_grep_fixed 'dmarc: error: could not check (_dmarc.unserved.example: TXT lookup: server failure' "$OUT" "servfail: DMARC could not check"

# Timeout: a server that takes the queries and never answers.
t0=$(now)
check_with "$NS_DEAD_PORT" good.test --ip 192.0.2.10
t1=$(now)
assert_exit 1 "timeout"
assert_grep_fixed 'spf: error: temperror: could not check (good.test: TXT lookup: timeout)' "$OUT" "timeout: SPF temperror says timeout"
assert_grep '^dmarc: error: could not check \(_dmarc.good.test: TXT lookup: (timeout|server failure)' "$OUT" "timeout: DMARC could not check"
assert_no_grep 'no SPF record|no DMARC record' "$OUT" "timeout: never 'no record'"
ok
[ $((t1 - t0)) -le 15 ] || fail "timeout: took $((t1 - t0)) s (timeout 3 per lookup)"

# Bad input: usage errors name the option; nothing is looked up.
run_postseal --check-domain good.test
assert_exit 64 "--check-domain without --ip"
assert_grep 'needs --ip ADDRESS' "$ERR" "missing --ip"
run_postseal --check-domain good.test --ip 192.0.2.999
assert_exit 64 "--ip with a bad address"
assert_grep_fixed 'ip: expected an IP address' "$ERR" "bad --ip"
for bad in 'bad..name' 'x.' '.' '' 'a b.test' "$(printf 'a\033b.test')"; do
	run_postseal --check-domain "$bad" --ip 192.0.2.10
	assert_exit 64 "--check-domain '$bad'"
	assert_grep_fixed "is not a domain name" "$ERR" "bad domain '$bad'"
done
run_postseal --ip 192.0.2.1 -t </dev/null
assert_exit 64 "--ip alone"
assert_grep_fixed 'ip goes with --check-domain' "$ERR" "--ip without the mode"
write_config <<EOF
account dns
host 127.0.0.1
auth off
dns_server resolver.example
account default : dns
EOF
run_postseal -C "$CFG" --check-domain good.test --ip 192.0.2.10
assert_exit 78 "dns_server that is not an address"
assert_grep_fixed 'dns_server resolver.example: expected an IP address (not a host name)' "$ERR" "bad dns_server"
e2e_done
