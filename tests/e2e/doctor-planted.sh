#!/bin/sh
# postseal --doctor against planted misconfigurations of the sender domain
# (nsd on loopback) and of the account: each is reported with its area,
# its severity and a concrete fix, in the text report and in --json (the
# two agree line for line).  SPF: a syntax error, an include loop, more
# than 10 lookups, too many void lookups and one void lookup, "+all"; a
# smarthost address without reverse DNS and one whose PTR name does not
# resolve back; a domain without MX; a domain nsd does not serve
# (REFUSED, so SERVFAIL) and a server that never answers (timeout).
# DKIM: a record whose h= excludes sha256 (and one that lists it beside
# sha1), a published RSA key of 768 bits.  Files: a configuration file
# readable by group (a warning) and one writable by group (refused).  One smarthost per address (the reverse DNS is the
# address's), started once each.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only
make_ca
need_cmd openssl

# DKIM: one 2048-bit key; its record under "hsha" with h=sha1 (excludes
# sha256), under "hboth" with h=sha1:sha256; a 768-bit key's p= under
# "weak".
run_postseal --dkim-keygen --type rsa --bits 2048 --domain p.test \
    --selector hsha --out "$T/rsa.key"
assert_exit 0 "keygen"
grep -q 'v=DKIM1;' "$OUT" || hard_error "no DKIM record from keygen"
# (h= as a string of its own: the first is near 255 bytes already)
sed 's/"v=DKIM1;/"v=DKIM1; h=sha1;" "/' "$OUT" >"$T/dkim.rec"
sed 's/^hsha\._domainkey/hboth._domainkey/; s/"v=DKIM1;/"v=DKIM1; h=sha1:sha256;" "/' \
    "$OUT" >>"$T/dkim.rec"
openssl genrsa -out "$T/weak.pem" 768 2>"$T/genrsa.err" ||
    hard_error "openssl genrsa 768: $(cat "$T/genrsa.err")"
weak_p=$(openssl rsa -in "$T/weak.pem" -pubout -outform DER 2>/dev/null |
    base64 -w 0)
[ -n "$weak_p" ] || hard_error "no public key from the 768-bit key"
printf 'weak._domainkey IN TXT "v=DKIM1; k=rsa; p=%s"\n' "$weak_p" \
    >>"$T/dkim.rec"

{
	cat <<'Z'
_dmarc	TXT	"v=DMARC1; p=reject; rua=mailto:dmarc@p.test"
@	TXT	"v=spf1 ip4:127.0.0.0/24 -all"
@	MX	10 mx.p.test.
mx	A	127.0.0.1
out	A	127.0.0.1
liar	A	127.0.0.9
syntax	TXT	"v=spf1 ip4:127.0.0.300 -all"
loop1	TXT	"v=spf1 include:loop2.p.test -all"
loop2	TXT	"v=spf1 include:loop1.p.test -all"
void	TXT	"v=spf1 a:nx1.p.test a:nx2.p.test a:nx3.p.test ip4:127.0.0.1 -all"
void1	TXT	"v=spf1 a:nx1.p.test ip4:127.0.0.1 -all"
open	TXT	"v=spf1 +all"
nomx	TXT	"v=spf1 ip4:127.0.0.1 -all"
Z
	printf 'many\tTXT\t"v=spf1'
	for i in 1 2 3 4 5 6 7 8 9 10 11; do printf ' a:h%s.p.test' $i; done
	printf ' ip4:127.0.0.1 -all"\n'
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		printf 'h%s\tA\t198.51.100.%s\n' $i $i
	done
	for n in syntax loop1 loop2 void void1 open many; do
		printf '%s\tMX\t10 mx.p.test.\n' $n
	done
	cat "$T/dkim.rec"
} | ns_zone p.test
# 127.0.0.4 has no PTR (NXDOMAIN); 127.0.0.5 names a host that is not it.
ns_zone 0.0.127.in-addr.arpa <<'EOF'
5	PTR	liar.p.test.
EOF
ns_start
ns_blackhole

start_server --name lo --tls starttls --user u --password Zq8-planted
LO=$PORT
start_server --name noptr --tls starttls --host 127.0.0.4
NOPTR=$PORT
start_server --name liar --tls starttls --host 127.0.0.5
LIAR=$PORT

# The accounts: "base" on 127.0.0.1, one account per planted problem.
{
	printf 'account base\nhost localhost\nport %s\n' "$LO"
	printf 'tls on\ntls_starttls on\ntls_trust_file %s\n' "$CA/ca.pem"
	printf 'timeout 3\ndomain out.p.test\nauth off\n'
	printf 'dns_server 127.0.0.1:%s\n' "$NS_PORT"
	for n in syntax loop1 many void void1 open nomx; do
		printf 'account %s : base\nfrom me@%s.p.test\n' $n $n
	done
	printf 'account servfail : base\nfrom me@unserved.example\n'
	printf 'account timeout : base\nfrom me@p.test\ntimeout 1\n'
	printf 'dns_server 127.0.0.1:%s\n' "$NS_DEAD_PORT"
	printf 'account noptr : base\nfrom me@p.test\nhost 127.0.0.4\n'
	printf 'port %s\ntls_host_override localhost\n' "$NOPTR"
	printf 'account liar : base\nfrom me@p.test\nhost 127.0.0.5\n'
	printf 'port %s\ntls_host_override localhost\n' "$LIAR"
	for s in hsha hboth weak; do
		printf 'account %s : base\nfrom me@p.test\n' $s
		printf 'dkim_domain p.test\ndkim_key %s rsa %s\n' $s "$T/rsa.key"
	done
	# the account's own problems
	printf 'account weakkey : base\nfrom me@p.test\ndkim_domain p.test\n'
	printf 'dkim_key weak rsa %s\n' "$T/weak.pem"
	printf 'account nopw : base\nfrom me@p.test\nauth on\nuser u\n'
	printf 'account notrust : base\nfrom me@p.test\n'
	printf 'tls_trust_file %s\n' "$T/no-such-ca.pem"
	printf 'account dnsbl : base\nfrom me@p.test\n'
	printf 'dnsbl_zones unserved.example\n'
	printf 'account default : base\nfrom me@p.test\n'
} | write_config

# doctor ACCOUNT EXIT 'AREA|SEVERITY|TEXT|FIX' ...: run --doctor -a
# ACCOUNT and --doctor --json -a ACCOUNT; each expected finding is in
# the JSON with that area and severity, its text containing TEXT and its
# fix containing FIX ("-": no fix); the text report has the same lines
# ("AREA: SEVERITY: TEXT; fix: FIX"); every warning and error carries a
# fix; the summary counts them.
doctor() {
	_acct=$1 _want=$2
	shift 2
	# shellcheck disable=SC2086 # DOCTOR_ARGS: extra words
	run_postseal -C "$CFG" --doctor ${DOCTOR_ARGS:-} -a "$_acct"
	assert_exit "$_want" "--doctor -a $_acct"
	cp "$OUT" "$T/$_acct.txt"
	# shellcheck disable=SC2086
	run_postseal -C "$CFG" --doctor ${DOCTOR_ARGS:-} --json -a "$_acct"
	assert_exit "$_want" "--doctor --json -a $_acct"
	cp "$OUT" "$T/$_acct.json"
	if ! /usr/bin/python3 - "$T/$_acct.json" "$T/$_acct.txt" "$@" \
	    >"$T/$_acct.check" 2>&1 <<'EOF'; then
import json, re, sys
# The two runs may straddle a second at which the days left change.
days = lambda s: re.sub(r"expires in [0-9]+ day", "expires in N day", s)
d = json.load(open(sys.argv[1]))
lines = [days(l) for l in open(sys.argv[2]).read().splitlines()]
bad = []
found = d["findings"]
for f in found:
    line = "%s: %s: %s" % (f["area"], f["severity"], f["text"])
    if f["fix"] is not None:
        line += "; fix: " + f["fix"]
    if f["severity"] == "info":
        line = "verdict: " + f["text"]
    if days(line) not in lines:
        bad.append("not in the text report: " + line)
    if f["severity"] in ("warning", "error") and not f["fix"]:
        bad.append("no fix: " + line)
n = {s: sum(1 for f in found if f["severity"] == s)
     for s in ("warning", "error")}
if (d["errors"], d["warnings"]) != (n["error"], n["warning"]):
    bad.append("counts %r differ from the findings %r" %
               ((d["errors"], d["warnings"]), n))
summary = "summary: %d error(s), %d warning(s)" % (n["error"], n["warning"])
if summary not in lines:
    bad.append("no line " + summary)
for spec in sys.argv[3:]:
    area, sev, text, fix = spec.split("|", 3)
    hit = [f for f in found if f["area"] == area and f["severity"] == sev
           and text in f["text"] and
           (f["fix"] is None if fix == "-" else fix in (f["fix"] or ""))]
    if not hit:
        bad.append("missing: " + spec)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
		cat "$T/$_acct.txt" "$T/$_acct.check"
		fail "--doctor -a $_acct: findings differ"
	else
		ok
	fi
}

# SPF.
doctor syntax 1 \
    'spf|error|permerror: syntax.p.test: syntax error: invalid IPv4 address in "ip4:127.0.0.300"|correct the term "ip4:127.0.0.300" in the SPF record of syntax.p.test'
doctor loop1 1 \
    'spf|error|permerror: loop1.p.test: more than 10 DNS lookups|remove the include: or redirect= that leads back' \
    'spf|warning|include/redirect loop: loop1.p.test -> loop2.p.test -> loop1.p.test|remove the include: or redirect='
doctor many 1 \
    'spf|error|permerror: many.p.test: more than 10 DNS lookups (include, a, mx, ptr, exists, redirect)|replace include:, a, mx'
doctor void 1 \
    'spf|error|permerror: void.p.test: more than 2 void lookups|remove the terms naming domains that do not exist'
doctor void1 0 \
    'spf|ok|pass for 127.0.0.1 as me@void1.p.test (ip4:127.0.0.1 in void1.p.test|-' \
    'spf|warning|1 lookup(s) found nothing (the limit is 2)|remove terms naming domains that do not exist'
doctor open 0 \
    'spf|ok|pass for 127.0.0.1 as me@open.p.test (+all in open.p.test|-' \
    'spf|warning|open.p.test: "+all" authorises every address on the Internet|end the record with -all'
# No MX: replies and bounces go to the address records.
doctor nomx 0 \
    'mx|warning|nomx.p.test has no MX record (no record of that type)|publish an MX record for nomx.p.test'
# Reverse DNS of the smarthost's address.
doctor noptr 1 \
    'connect|ok|127.0.0.4 port '"$NOPTR"' (127.0.0.4) answers|-' \
    'rdns|error|127.0.0.4 has no reverse DNS (no such name)|ask the owner of the address for a PTR record'
doctor liar 1 \
    'rdns|error|127.0.0.5 is liar.p.test, which does not resolve back to it (not forward-confirmed)|give liar.p.test an address record for 127.0.0.5'
assert_grep 'TLS\): not met:.* rDNS' "$T/liar.txt" "liar: the sender rules name rDNS"
# DNS failures are "could not check", never a missing record.
doctor servfail 1 \
    'spf|error|temperror: could not check (unserved.example: TXT lookup: server failure|check that the name servers of unserved.example answer' \
    'dmarc|error|could not check (_dmarc.unserved.example: TXT lookup: server failure|check that the name servers of unserved.example answer' \
    'mx|error|could not check the MX of unserved.example (|check that the name servers of unserved.example answer'
assert_no_grep 'no SPF record|no DMARC record|no MX record' "$T/servfail.txt" "servfail: never 'no record'"
t0=$(now)
doctor timeout 1 \
    'spf|error|temperror: could not check (p.test: TXT lookup: timeout)|check that the name servers of p.test answer' \
    'mx|error|could not check the MX of p.test (|check that the name servers of p.test answer' \
    'ehlo|warning|could not check whether EHLO name out.p.test resolves|dns_server'
t1=$(now)
assert_no_grep 'no SPF record|no DMARC record|no MX record|does not resolve:' "$T/timeout.txt" "timeout: never 'no record'"
ok
# Two runs (text and --json) of about 8 lookups at 1 s each.
[ $((t1 - t0)) -le 40 ] || fail "timeout: took $((t1 - t0)) s (timeout 1)"

# DKIM: h= without sha256, h= with it, a published 768-bit key.
doctor hsha 1 \
    'dkim-key|ok|selector hsha: rsa key|-' \
    'dkim|error|hsha._domainkey.p.test: key record: h= excludes sha256|publish the TXT record "v=DKIM1; k=rsa; p='
grep '^dkim: error: ' "$T/hsha.txt" | sed 's/.*; fix: //' >"$T/hsha.fix"
assert_no_grep_fixed 'h=' "$T/hsha.fix" "hsha: the record to publish has no h="
doctor hboth 0 \
    'dkim|ok|hboth._domainkey.p.test matches the key|-'
doctor weak 1 \
    'dkim|error|weak._domainkey.p.test: key record: RSA key shorter than 1024 bits (768 bits)|publish the TXT record "v=DKIM1; k=rsa; p='

# The account: a DKIM key under 1024 bits does not load (the keygen
# command to replace it), no password with --auth (the server offers
# AUTH; the other accounts have auth off), a trust file that is not
# there, a DNSBL zone that cannot be asked (a warning: not a listing).
doctor weakkey 1 \
    "dkim-key|error|selector weak: |postseal --dkim-keygen --type rsa --domain p.test --selector weak --out $T/weak.pem"
DOCTOR_ARGS=--auth doctor nopw 1 \
    "auth|error|localhost port $LO: |set password or passwordeval (the account has neither)"
doctor notrust 1 \
    "tls|error|tls_trust_file $T/no-such-ca.pem: |point tls_trust_file at a readable CA bundle" \
    "connect|error|localhost port $LO: localhost: cannot load the trusted CAs|point tls_trust_file at a readable CA bundle"
doctor dnsbl 0 \
    'dnsbl|warning|could not check 127.0.0.1 in unserved.example (|check that the name servers of unserved.example answer'

# Files: a configuration readable by group is a warning with the chmod.
chmod 640 "$CFG"
doctor default 0 \
    "files|warning|$CFG is readable by group or others (mode 0640)|chmod 600 $CFG"
# Writable by group: refused before the doctor starts (SECURITY.md L2),
# with the chmod that fixes it, and no report.
chmod 620 "$CFG"
run_postseal -C "$CFG" --doctor -a default
assert_exit 78 "group-writable configuration"
assert_grep_fixed "writable by group or others; run: chmod go-w $CFG" "$ERR" "group-writable: the chmod named"
assert_no_grep_fixed 'summary:' "$OUT" "group-writable: no report"
chmod 600 "$CFG"
doctor default 0 "files|ok|$CFG: mode 0600|-"
e2e_done
