#!/bin/sh
# postseal --doctor against real servers on loopback: smtpd.py as the
# smarthost (good, expiring, expired and wrong-name certificates, a pin
# right and wrong, AUTH offered before STARTTLS, a TLS port configured as
# STARTTLS, two smarthosts; --auth with the right and a wrong password)
# and nsd serving the sender domain (a correct one giving a clean report;
# DKIM records that do not match, t=y, missing, RSA 1024, bad Ed25519,
# split into two records, k= wrong; SPF not authorising the smarthost and
# the provider include; missing DMARC, p=none; DNSBL listed and refused).
# --json is parsed by Python.  The SPF, rDNS, MX and DNS-failure plants,
# DKIM h= and a key under 1024 bits, and the file modes are in
# doctor-planted.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only
make_ca

run_postseal --dkim-keygen --type ed25519 --domain good.test --selector s1 \
    --out "$T/s1.key"
assert_exit 0 "keygen s1"
cp "$OUT" "$T/s1.rec"
run_postseal --dkim-keygen --type ed25519 --domain good.test --selector other \
    --out "$T/other.key"
assert_exit 0 "keygen other"
# "other"'s record published under selector s2: a key that does not match.
sed 's/^other\._domainkey/s2._domainkey/' "$OUT" >"$T/s2.rec"
# s3: the right key, but in testing mode.
run_postseal --dkim-keygen --type ed25519 --domain good.test --selector s3 \
    --out "$T/s3.key"
sed 's/v=DKIM1;/v=DKIM1; t=y;/' "$OUT" >"$T/s3.rec"
grep -q 't=y' "$T/s3.rec" || hard_error "no t=y in the s3 record"
# r2: a 2048-bit RSA key (its record is several strings); r1: 1024 bits.
run_postseal --dkim-keygen --type rsa --bits 2048 --domain good.test \
    --selector r2 --out "$T/r2.key"
assert_exit 0 "keygen r2"
cp "$OUT" "$T/r2.rec"
run_postseal --dkim-keygen --type rsa --bits 1024 --domain good.test \
    --selector r1 --out "$T/r1.key"
assert_exit 0 "keygen r1"
cp "$OUT" "$T/r1.rec"
# Planted: s5 a bad Ed25519 encoding, s6 a key split into two records,
# s7 an Ed25519 key published as k=rsa.
{
	echo 's5._domainkey IN TXT "v=DKIM1; k=ed25519; p=AAAA"'
	echo 's6._domainkey IN TXT "v=DKIM1; k=ed25519;"'
	echo 's6._domainkey IN TXT "p=AAAA"'
	sed 's/^s1\._domainkey/s7._domainkey/; s/k=ed25519/k=rsa/' "$T/s1.rec"
} >"$T/planted.rec"

{
	cat <<'Z'
@	TXT	"v=spf1 ip4:127.0.0.1 -all"
_dmarc	TXT	"v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
@	MX	10 mx.good.test.
mx	A	127.0.0.1
out	A	127.0.0.1
Z
	cat "$T/s1.rec" "$T/s2.rec" "$T/s3.rec" "$T/r2.rec" "$T/r1.rec" \
	    "$T/planted.rec"
} >"$T/good.body"
ns_zone good.test <"$T/good.body"
ns_zone none.test <<'EOF2'
@	TXT	"v=spf1 ip4:192.0.2.1 -all"
_dmarc	TXT	"v=DMARC1; p=none; rua=mailto:d@none.test"
@	MX	10 mx.good.test.
EOF2
ns_zone nodmarc.test <<'EOF2'
@	TXT	"v=spf1 ip4:127.0.0.1 -all"
@	MX	10 mx.good.test.
EOF2
ns_zone 2.0.0.127.in-addr.arpa <<'EOF2'
@	PTR	out.provider.test.
EOF2
ns_zone provider.test <<'EOF2'
@	TXT	"v=spf1 include:_spf.provider.test -all"
_spf	TXT	"v=spf1 ip4:127.0.0.2 -all"
EOF2
ns_zone bl.test <<'EOF2'
1.0.0.127	A	127.0.0.2
1.0.0.127	TXT	"listed for testing"
EOF2
ns_zone refusing.test <<'EOF2'
1.0.0.127	A	127.255.255.254
EOF2
ns_zone clean.test <<'EOF2'
other	A	127.0.0.2
EOF2
ns_start

# conf MODE PORT FROM [EXTRA-LINES]: one account "d" for the server at PORT
conf() {
	{
		printf 'account d\nhost localhost\nport %s\n' "$2"
		case $1 in
		starttls) printf 'tls on\ntls_starttls on\n' ;;
		implicit) printf 'tls on\ntls_starttls off\n' ;;
		esac
		printf 'tls_trust_file %s\ntimeout 8\n' "$CA/ca.pem"
		printf 'domain out.good.test\nfrom %s\n' "$3"
		printf 'auth on\nuser u\npassword Zq8-doctor\n'
		printf 'dns_server 127.0.0.1:%s\n' "$NS_PORT"
		printf 'dkim_domain good.test\n'
		printf 'dkim_key s1 ed25519 %s\n' "$T/s1.key"
		[ -n "${4:-}" ] && printf '%s\n' "$4"
		printf 'account default : d\n'
	} | write_config
}

start_server --name good --tls starttls --user u --password Zq8-doctor \
    --size 10240000 --dsn --smtputf8
GOOD=$PORT

# The correct domain and smarthost: a clean report, a real login.
conf starttls "$GOOD" me@good.test
run_postseal -C "$CFG" --doctor --auth
assert_exit 0 "clean report"
assert_grep_fixed 'summary: 0 error(s), 0 warning(s)' "$OUT" "clean: no findings"
assert_grep_fixed 'connect: ok: localhost port '"$GOOD"' (127.0.0.1) answers' "$OUT" "clean: connected"
assert_grep_fixed '(STARTTLS)' "$OUT" "clean: TLS mode"
assert_grep_fixed 'tls: ok: certificate chain valid and host name' "$OUT" "clean: chain"
assert_grep 'tls: ok: the certificate expires in [0-9]+ days' "$OUT" "clean: days to expiry"
assert_grep_fixed 'smtp: ok: SIZE 10240000, PIPELINING yes, 8BITMIME yes, SMTPUTF8 yes, DSN yes, CHUNKING no' "$OUT" "clean: extensions"
assert_grep_fixed 'auth: ok: mechanisms offered: PLAIN LOGIN; postseal uses PLAIN (the strongest offered)' "$OUT" "clean: mechanism and reason"
assert_grep_fixed 'auth: ok: AUTH PLAIN as u accepted' "$OUT" "clean: --auth logged in"
assert_grep_fixed 'ehlo: ok: EHLO name out.good.test resolves' "$OUT" "clean: EHLO name"
assert_grep_fixed 'spf: ok: pass for 127.0.0.1 as me@good.test (ip4:127.0.0.1 in good.test' "$OUT" "clean: SPF for the smarthost's address"
assert_grep_fixed 'dkim: ok: s1._domainkey.good.test matches the key' "$OUT" "clean: DKIM record"
assert_grep_fixed 'dmarc: ok: p=reject applies' "$OUT" "clean: DMARC"
assert_grep_fixed 'dmarc: ok: DKIM d= good.test aligns with From domain good.test' "$OUT" "clean: d= aligned"
# 127.0.0.1 is localhost, answered by the resolver itself.
assert_grep_fixed 'rdns: ok: 127.0.0.1 is localhost (forward-confirmed)' "$OUT" "clean: FCrDNS"
assert_grep_fixed 'mx: ok: good.test: 1 MX record(s): mx.good.test' "$OUT" "clean: MX"
assert_grep_fixed "verdict: large mailbox providers' sender rules (SPF pass, DKIM pass, aligned DMARC, forward-confirmed rDNS, TLS): met" "$OUT" "clean: sender rules met"
assert_no_grep_fixed 'dnsbl' "$OUT" "clean: no DNSBL by default"
ok

# Without --auth nothing logs in.
run_postseal -C "$CFG" --doctor
assert_exit 0 "no --auth"
assert_no_grep_fixed 'accepted' "$OUT" "no --auth: no login"
# The server saw one AUTH (the --auth run) and never a message.
_n=$(grep -Ec '^[0-9]+ (plain|tls) AUTH( |$)' "$RECORD")
[ "$_n" = 1 ] || fail "the server saw $_n AUTH commands, expected 1"
ok
assert_no_command MAIL RCPT DATA

# --json: the same findings for scripts.
run_postseal -C "$CFG" --doctor --json
assert_exit 0 "--json"
/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["account"] == "default", d
assert d["errors"] == 0 and d["warnings"] == 0, d
sev = {f["severity"] for f in d["findings"]}
assert sev <= {"ok", "info"}, sev
assert any(f["section"] == "localhost" and f["area"] == "tls" for f in d["findings"])
assert all(set(f) == {"section", "area", "severity", "text", "fix"} for f in d["findings"])
' "$OUT" || fail "--json output does not parse or lacks findings"

# A pinned certificate: the pin's match is reported; a wrong pin fails.
conf starttls "$GOOD" me@good.test "tls_fingerprint $(cat "$CA/server.sha256")"
run_postseal -C "$CFG" --doctor
assert_exit 0 "pin"
assert_grep_fixed 'tls: ok: certificate matches tls_fingerprint' "$OUT" "pin matched"
conf starttls "$GOOD" me@good.test "tls_fingerprint $(cat "$CA/wrongname.sha256")"
run_postseal -C "$CFG" --doctor
assert_exit 1 "wrong pin"
assert_grep "^connect: error: localhost port $GOOD: .*fingerprint" "$OUT" "wrong pin: a connection error naming the fingerprint"

# EHLO names: one that does not resolve, one that is not qualified.
conf starttls "$GOOD" me@good.test
sed -i 's/^domain out.good.test$/domain nowhere.good.test/' "$CFG"
run_postseal -C "$CFG" --doctor
assert_exit 0 "EHLO name not resolving (a warning)"
assert_grep_fixed 'ehlo: warning: EHLO name nowhere.good.test does not resolve: some servers refuse it; fix: ' "$OUT" "EHLO name does not resolve"
sed -i 's/^domain nowhere.good.test$/domain myhost/' "$CFG"
run_postseal -C "$CFG" --doctor
assert_grep_fixed 'ehlo: warning: EHLO name myhost is not a fully qualified domain name' "$OUT" "EHLO name not qualified"

# A wrong password is an error with --auth.
conf starttls "$GOOD" me@good.test 'password wrong-one'
sed -i '/^password Zq8-doctor$/d' "$CFG"
run_postseal -C "$CFG" --doctor --auth
assert_exit 1 "wrong password"
assert_grep 'auth: error: localhost port [0-9]+: .*; fix: correct user and password' "$OUT" "wrong password: error and fix"

# DKIM: a record that does not match the private key, one with t=y, a
# selector with no record.
conf starttls "$GOOD" me@good.test "dkim_key s2 ed25519 $T/other.key"
sed -i "s|^dkim_key s2 ed25519 .*|dkim_key s2 ed25519 $T/s1.key|" "$CFG"
printf 'account d2 : d\ndkim_key s3 ed25519 %s\ndkim_key s9 ed25519 %s\n' \
    "$T/s3.key" "$T/s1.key" >>"$CFG"
run_postseal -C "$CFG" --doctor
assert_exit 1 "DKIM mismatch"
assert_grep_fixed 'dkim: error: s2._domainkey.good.test: the public key does not match the private key' "$OUT" "DKIM mismatch: error"
assert_grep_fixed 'fix: publish the TXT record "v=DKIM1; k=ed25519; p=' "$OUT" "DKIM mismatch: the record to publish"
run_postseal -C "$CFG" --doctor -a d2
assert_exit 1 "t=y, missing"
assert_grep_fixed 'dkim: warning: s3._domainkey.good.test has t=y (testing)' "$OUT" "t=y warned"
assert_grep_fixed 'dkim: error: no DKIM record at s9._domainkey.good.test (no such name); fix: publish the TXT record "v=DKIM1; k=ed25519; p=' "$OUT" "missing DKIM record"

# RSA: 2048 bits in several strings is fine, 1024 bits a warning; a bad
# Ed25519 encoding, a key split into two records and a k= that does not
# fit are errors.
printf 'account d3 : d\ndkim_key r2 rsa %s\ndkim_key r1 rsa %s\n' \
    "$T/r2.key" "$T/r1.key" >>"$CFG"
run_postseal -C "$CFG" --doctor -a d3
assert_exit 0 "RSA keys (a warning)"
assert_grep_fixed 'dkim: ok: r2._domainkey.good.test matches the key '"$T/r2.key"' (several strings)' "$OUT" "RSA 2048 in several strings"
assert_grep_fixed 'dkim: warning: r1._domainkey.good.test: a 1024-bit RSA key: receivers expect at least 2048 bits; fix: postseal --dkim-keygen --type rsa --bits 2048' "$OUT" "RSA 1024 warned"
assert_no_grep_fixed 'r2._domainkey.good.test: a ' "$OUT" "RSA 2048 not warned"
printf 'account d4 : d\ndkim_key s5 ed25519 %s\ndkim_key s6 ed25519 %s\ndkim_key s7 ed25519 %s\n' \
    "$T/s1.key" "$T/s1.key" "$T/s1.key" >>"$CFG"
run_postseal -C "$CFG" --doctor -a d4
assert_exit 1 "planted DKIM records"
assert_grep_fixed 'dkim: error: s5._domainkey.good.test: key record: p= is not a 32-byte Ed25519 key; fix: publish the TXT record "v=DKIM1; k=ed25519; p=' "$OUT" "bad Ed25519 encoding"
assert_grep_fixed 'dkim: error: s6._domainkey.good.test has 2 TXT records: a key is one record' "$OUT" "key split into records"
assert_grep_fixed 'dkim: error: s7._domainkey.good.test: key record: k= does not match a=' "$OUT" "k= mismatch"

# Several smarthosts: each one is checked; one that does not answer is
# an error of its own, the other's findings stay.
conf starttls "$GOOD" me@good.test
sed -i 's/^host localhost$/host localhost, 127.0.0.3/' "$CFG"
run_postseal -C "$CFG" --doctor
assert_exit 1 "two smarthosts, one down"
assert_grep_fixed 'connect: ok: localhost port '"$GOOD"' (127.0.0.1) answers' "$OUT" "two hosts: the first checked"
assert_grep "^connect: error: 127.0.0.3 port $GOOD: " "$OUT" "two hosts: the second checked and down"
assert_grep_fixed 'account: ok: account default' "$OUT" "two hosts: account line"
assert_grep_fixed '2 smarthost(s)' "$OUT" "two hosts: counted"
conf starttls "$GOOD" me@good.test

# DNSBL: listed, a refused query (127.255.255.x: not a listing), clean.
printf 'account bl : d\ndnsbl_zones bl.test refusing.test, clean.test\n' >>"$CFG"
run_postseal -C "$CFG" --doctor -a bl
assert_exit 1 "DNSBL listing"
assert_grep_fixed 'dnsbl: error: 127.0.0.1 is listed in bl.test (127.0.0.2); fix: ' "$OUT" "DNSBL: listed"
assert_grep_fixed 'dnsbl: warning: refusing.test refused the query (127.255.255.254): not a listing' "$OUT" "DNSBL: refused is not listed"
assert_grep_fixed 'dnsbl: ok: 127.0.0.1 is not listed in clean.test' "$OUT" "DNSBL: clean zone"
assert_grep_fixed "sender rules (SPF pass, DKIM pass, aligned DMARC, forward-confirmed rDNS, TLS): met" "$OUT" "DNSBL: the rules themselves met"

# SPF not authorising the smarthost, p=none.
conf starttls "$GOOD" me@none.test
run_postseal -C "$CFG" --doctor
assert_exit 1 "none.test"
assert_grep_fixed 'spf: error: fail for 127.0.0.1 as me@none.test' "$OUT" "SPF fail"
assert_grep_fixed 'fix: add ip4:127.0.0.1' "$OUT" "SPF fix"
assert_grep_fixed 'dmarc: warning: p=none applies' "$OUT" "p=none warned"
assert_grep_fixed "TLS): not met: SPF" "$OUT" "none.test: sender rules not met, SPF named"
# localhost names no provider: the general note.
assert_grep_fixed "spf: warning: a provider's outbound addresses may differ from its submission address 127.0.0.1; fix: if mail leaves through a provider, add the include: its documentation names to the SPF record of none.test" "$OUT" "none.test: the provider note"

# A smarthost whose address's PTR names its provider, whose SPF record
# authorises it: the include to add is named.
start_server --name provider --tls starttls --host 127.0.0.2 --user u \
    --password Zq8-doctor
conf starttls "$PORT" me@none.test
sed -i 's/^host localhost$/host 127.0.0.2\ntls_host_override localhost/' "$CFG"
run_postseal -C "$CFG" --doctor
assert_exit 1 "provider"
assert_grep_fixed 'connect: ok: 127.0.0.2 port' "$OUT" "provider: connected to 127.0.0.2"
assert_grep_fixed "spf: warning: the smarthost's provider provider.test authorises 127.0.0.2 (ip4:127.0.0.2 in _spf.provider.test): its outbound addresses are not the domain's; fix: add include:provider.test to the SPF record of none.test" "$OUT" "provider: the include named"

conf starttls "$GOOD" me@nodmarc.test
run_postseal -C "$CFG" --doctor
assert_exit 1 "no DMARC"
assert_grep_fixed 'dmarc: error: no DMARC record at _dmarc.nodmarc.test; fix: publish a TXT record at _dmarc.nodmarc.test' "$OUT" "missing DMARC"

# A server offering AUTH before STARTTLS: a warning (postseal waits for
# TLS anyway).
start_server --name plainauth --tls starttls --user u --password Zq8-doctor \
    --ehlo-plain-extra "AUTH PLAIN LOGIN"
conf starttls "$PORT" me@good.test
run_postseal -C "$CFG" --doctor
assert_exit 0 "AUTH before STARTTLS (a warning)"
assert_grep_fixed 'auth: warning: the server offers AUTH before STARTTLS' "$OUT" "AUTH before TLS warned"
assert_no_command AUTH

# Certificates: expiring (warning), expired and wrong name (errors).
start_server --name expiring --cert expiring --tls starttls --user u \
    --password Zq8-doctor
conf starttls "$PORT" me@good.test
run_postseal -C "$CFG" --doctor
assert_exit 0 "expiring certificate (a warning)"
assert_grep 'tls: warning: the certificate expires in [0-9] day\(s\); fix: ' "$OUT" "expiring warned"
for c in expired wrongname; do
	start_server --name $c --cert $c --tls implicit --user u \
	    --password Zq8-doctor
	conf implicit "$PORT" me@good.test
	run_postseal -C "$CFG" --doctor
	assert_exit 1 "$c certificate"
	assert_grep "connect: error: localhost port $PORT: " "$OUT" "$c: connection error"
	cp "$OUT" "$T/$c.out"
done
assert_grep_fixed 'expired' "$T/expired.out" "expired: the reason named"
assert_grep_fixed "is for another name" "$T/wrongname.out" "wrong name: said so"

# STARTTLS configured where the port speaks TLS at once: the setting named.
conf starttls "$PORT" me@good.test
run_postseal -C "$CFG" --doctor
assert_exit 1 "TLS port configured as STARTTLS"
assert_grep_fixed 'tls_starttls off' "$OUT" "wrong TLS mode: the setting to change"
e2e_done
