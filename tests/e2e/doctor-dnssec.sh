#!/bin/sh
# postseal --doctor: the DNSSEC status of each answer (issue 13).  nsd
# serves sec.test signed (ldns-signzone), bad.test signed and then one
# record altered (its signature no longer matches), and plain.test
# unsigned; smtpd.py is the smarthost.  With dns_trust_anchor (the signed
# zones' DS records) the answers from sec.test are "secure" per area (SPF
# and the record its include fetched, DKIM, DMARC, MX, the EHLO name) and
# the rDNS of 127.0.0.1 (the resolver's own local data) "insecure"; the
# altered SPF record of bad.test is "bogus", an error with its fix, while
# the untouched MX of bad.test stays secure; without the anchor no answer
# is validated and the report says the resolver does not validate (ok,
# not a warning); an anchor that covers none of the zones asked is a
# warning.  --json carries the same findings in section "dns", area
# "dnssec"; --check-domain reports the same for the domain part.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only
make_ca

run_postseal --dkim-keygen --type ed25519 --domain sec.test --selector s1 \
    --out "$T/s1.key"
assert_exit 0 "keygen s1"
cp "$OUT" "$T/s1.rec"
ns_init

{
	cat <<'Z'
@	TXT	"v=spf1 include:_spf.sec.test -all"
_spf	TXT	"v=spf1 ip4:127.0.0.1 -all"
_dmarc	TXT	"v=DMARC1; p=reject; rua=mailto:dmarc@sec.test"
@	MX	10 mx.sec.test.
mx	A	127.0.0.1
out	A	127.0.0.1
Z
	cat "$T/s1.rec"
} | ns_zone sec.test
ns_sign sec.test
ns_zone bad.test <<'Z'
@	TXT	"v=spf1 ip4:192.0.2.1 -all"
_dmarc	TXT	"v=DMARC1; p=reject; rua=mailto:dmarc@bad.test"
@	MX	10 mx.sec.test.
Z
ns_sign bad.test
# Altered after signing: only DNSSEC tells the forgery.
grep -q 'ip4:192\.0\.2\.1' "$NS_DIR/bad.test.zone.signed" ||
    hard_error "no SPF record in the signed bad.test"
sed 's/ip4:192\.0\.2\.1/ip4:127.0.0.1/' "$NS_DIR/bad.test.zone.signed" \
    >"$T/bad.signed" && cp "$T/bad.signed" "$NS_DIR/bad.test.zone.signed" ||
    hard_error "cannot alter bad.test"
ns_zone plain.test <<'Z'
@	TXT	"v=spf1 ip4:127.0.0.1 -all"
_dmarc	TXT	"v=DMARC1; p=reject; rua=mailto:dmarc@plain.test"
@	MX	10 mx.plain.test.
mx	A	127.0.0.1
out	A	127.0.0.1
Z
ns_start

start_server --name good --tls starttls --user u --password Zq8-dnssec
GOOD=$PORT

# conf FROM EHLO [ANCHOR]: one account for the smarthost
conf() {
	{
		printf 'account d\nhost localhost\nport %s\n' "$GOOD"
		printf 'tls on\ntls_starttls on\ntls_trust_file %s\n' \
		    "$CA/ca.pem"
		printf 'timeout 8\ndomain %s\nfrom %s\n' "$2" "$1"
		printf 'auth on\nuser u\npassword Zq8-dnssec\n'
		printf 'dns_server 127.0.0.1:%s\n' "$NS_PORT"
		[ -n "${3:-}" ] && printf 'dns_trust_anchor %s\n' "$3"
		printf 'dkim_domain sec.test\ndkim_key s1 ed25519 %s\n' \
		    "$T/s1.key"
		printf 'account default : d\n'
	} | write_config
}

# Signed, validated from the anchor: secure, area by area.
conf me@sec.test out.sec.test "$NS_ANCHORS"
run_postseal -C "$CFG" --doctor
assert_exit 0 "anchored: a clean report"
assert_grep_fixed 'summary: 0 error(s), 0 warning(s)' "$OUT" "anchored: no findings"
for l in 'ehlo: secure: A out.sec.test' \
    'spf: secure: TXT sec.test, TXT _spf.sec.test' \
    'dkim: secure: TXT s1._domainkey.sec.test' \
    'dmarc: secure: TXT _dmarc.sec.test' \
    'mx: secure: MX sec.test'; do
	assert_grep_fixed "dnssec: ok: $l" "$OUT" "anchored: $l"
done
# 127.0.0.1's PTR and localhost's address: the resolver's own local data
assert_grep_fixed 'dnssec: ok: rdns: insecure: PTR 1.0.0.127.in-addr.arpa, A localhost' \
    "$OUT" "anchored: the unsigned local data"
assert_grep '^dnssec: ok: the resolver validates: [1-9][0-9]* secure, 2 insecure, 0 bogus answer\(s\) \(from dns_trust_anchor\)$' \
    "$OUT" "anchored: the summary"
assert_grep_fixed 'DNSSEC secure)' "$OUT" "anchored: the DMARC finding"
assert_no_grep '^dnssec: (warning|error)' "$OUT" "anchored: no DNSSEC trouble"

run_postseal -C "$CFG" --doctor --json
assert_exit 0 "anchored --json"
/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
f = [x for x in d["findings"] if x["area"] == "dnssec"]
assert all(x["section"] == "dns" for x in f), f
assert any(x["text"] == "spf: secure: TXT sec.test, TXT _spf.sec.test" and
    x["severity"] == "ok" and x["fix"] is None for x in f), f
assert f[-1]["text"].startswith("the resolver validates: "), f
' "$OUT" || fail "anchored --json: no DNSSEC findings in section dns"

# --check-domain: the same status for the domain part.
run_postseal -C "$CFG" --check-domain sec.test --ip 127.0.0.1 -f me@sec.test
assert_exit 0 "--check-domain, anchored"
assert_grep_fixed 'dnssec: ok: spf: secure: TXT sec.test, TXT _spf.sec.test' \
    "$OUT" "--check-domain, anchored: SPF"
assert_grep_fixed 'dnssec: ok: mx: secure: MX sec.test' "$OUT" \
    "--check-domain, anchored: MX"
assert_grep '^dnssec: ok: the resolver validates: ' "$OUT" \
    "--check-domain, anchored: the summary"

# The same without the anchor: nothing validates, which is no warning.
conf me@sec.test out.sec.test
run_postseal -C "$CFG" --doctor
assert_exit 0 "no anchor: a clean report"
assert_grep_fixed 'summary: 0 error(s), 0 warning(s)' "$OUT" "no anchor: no findings"
assert_grep '^dnssec: ok: no answer is DNSSEC-validated \([1-9][0-9]* insecure\): the resolver does not validate \(dns_server without dns_trust_anchor\), or the zones are unsigned$' \
    "$OUT" "no anchor: the summary"
assert_no_grep ': secure' "$OUT" "no anchor: nothing secure"
assert_grep_fixed 'DNSSEC insecure)' "$OUT" "no anchor: the DMARC finding"

# A tampered signed record: bogus, an error with the fix; the rest of the
# zone still validates.
conf me@bad.test out.sec.test "$NS_ANCHORS"
run_postseal -C "$CFG" --doctor
assert_exit 1 "bogus: an error"
assert_grep '^dnssec: error: spf: bogus: TXT bad\.test \(DNSSEC validation failed: [^)]*\): its signatures do not validate, .*; fix: re-sign the zone that holds bad\.test ' \
    "$OUT" "bogus: the record and the fix"
assert_grep '^spf: error: temperror: could not check' "$OUT" \
    "bogus: SPF not read as missing"
assert_no_grep '^spf: (ok: pass|error: none)' "$OUT" \
    "bogus: the forged record is not used"
assert_grep_fixed 'dnssec: ok: mx: secure: MX bad.test' "$OUT" \
    "bogus: the untouched MX"
assert_grep '^dnssec: ok: the resolver validates: [1-9][0-9]* secure, [0-9]+ insecure, 1 bogus answer' \
    "$OUT" "bogus: the summary"

# An anchor for none of the zones asked: a warning.
conf me@plain.test out.plain.test "$NS_ANCHORS"
sed '/^dkim_/d' "$CFG" | write_config "$T/plain.conf"
run_postseal -C "$T/plain.conf" --doctor
assert_grep '^dnssec: warning: no answer validated from dns_trust_anchor .* \([1-9][0-9]* insecure\): the zones are unsigned or not under that anchor; fix: ' \
    "$OUT" "anchor, unsigned zones: a warning"
assert_no_grep '^dnssec: ok: [a-z]*: secure' "$OUT" "anchor, unsigned zones: nothing secure"
e2e_done
