#!/bin/sh
# postseal --check-domain's DMARC part against a real authoritative
# server (nsd) on loopback: the policy found (and the organisational
# domain's, through the Public Suffix List, for a subdomain), p=none,
# pct, no rua, a missing, an invalid and a doubled record, and whether
# the SPF-authenticated envelope domain and the account's DKIM d= align
# with From (relaxed and strict).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only
[ -r /usr/share/publicsuffix/public_suffix_list.dat ] ||
    skip "needs the publicsuffix package"
ns_zone provider.test <<'EOF'
_spf	TXT	"v=spf1 ip4:192.0.2.0/24 ~all"
bounces	TXT	"v=spf1 include:_spf.provider.test -all"
EOF
ns_zone good.test <<'EOF'
@	TXT	"v=spf1 include:_spf.provider.test -all"
_dmarc	TXT	"v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@good.test"
mail	TXT	"v=spf1 include:_spf.provider.test -all"
@	MX	10 mx.good.test.
mail	MX	10 mx.good.test.
mx	A	192.0.2.25
out	A	192.0.2.10
EOF
ns_zone 2.0.192.in-addr.arpa <<'EOF'
10	PTR	out.good.test.
EOF
ns_zone strict.test <<'EOF'
@	TXT	"v=spf1 include:_spf.provider.test -all"
_dmarc	TXT	"v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:d@strict.test"
mail	TXT	"v=spf1 include:_spf.provider.test -all"
EOF
ns_zone none.test <<'EOF'
@	TXT	"v=spf1 include:_spf.provider.test -all"
_dmarc	TXT	"v=DMARC1; p=none; pct=50"
@	MX	10 mx.good.test.
EOF
ns_zone nodmarc.test <<'EOF'
@	TXT	"v=spf1 include:_spf.provider.test -all"
EOF
ns_zone bad.test <<'EOF'
@	TXT	"v=spf1 include:_spf.provider.test -all"
_dmarc	TXT	"v=DMARC1; p=reject; rua=dmarc@bad.test"
two	TXT	"v=spf1 include:_spf.provider.test -all"
_dmarc.two	TXT	"v=DMARC1; p=none"
_dmarc.two	TXT	"v=DMARC1; p=reject"
EOF
ns_start

# check DKIM_DOMAIN DOMAIN ARGS...
check() {
	_dkim=$1
	shift
	{
		printf 'account dns\nhost 127.0.0.1\nfrom postmaster@good.test\n'
		printf 'auth off\ntimeout 3\ndns_server 127.0.0.1:%s\n' "$NS_PORT"
		[ -n "$_dkim" ] && printf 'dkim_domain %s\n' "$_dkim"
		printf 'account default : dns\n'
	} | write_config
	run_postseal -C "$CFG" --check-domain "$@"
	cat "$OUT"
}

check mail.good.test good.test --ip 192.0.2.10
assert_exit 0 "good.test"
assert_grep_fixed 'dmarc: ok: p=reject applies (from _dmarc.good.test; adkim=r aspf=r pct=100; DNSSEC insecure)' "$OUT" "good: policy"
assert_grep_fixed 'dmarc: ok: DKIM d= mail.good.test aligns with From domain good.test (relaxed)' "$OUT" "good: DKIM relaxed alignment"
assert_grep_fixed 'summary: 0 error(s), 0 warning(s)' "$OUT" "good: clean"
assert_grep_fixed 'verdict: DMARC passes on aligned SPF and on the aligned DKIM signature the account adds' "$OUT" "good: verdict"

# A subdomain without its own record: the organisational domain's sp=.
check "" mail.good.test --ip 192.0.2.10
assert_exit 0 "subdomain"
assert_grep_fixed 'dmarc: ok: p=quarantine (sp=) applies (from _dmarc.good.test, the organisational domain;' "$OUT" "subdomain: fallback with sp="

# Misaligned: the envelope sender's domain passes SPF but is the
# provider's, not the From domain's.
check other.example good.test -f bounce@bounces.provider.test --ip 192.0.2.10
assert_exit 1 "misaligned"
assert_grep_fixed 'spf: ok: pass for 192.0.2.10 as bounce@bounces.provider.test' "$OUT" "misaligned: SPF itself passes"
assert_grep_fixed 'dmarc: error: SPF-authenticated envelope domain bounces.provider.test does not align with From domain good.test (relaxed alignment)' "$OUT" "misaligned: envelope"
assert_grep_fixed 'dmarc: error: DKIM d= other.example does not align with From domain good.test (relaxed alignment)' "$OUT" "misaligned: DKIM d="

assert_grep_fixed 'verdict: DMARC passes only with a valid DKIM signature aligned with good.test; otherwise receivers apply p=reject' "$OUT" "misaligned: verdict"

# The provider's bounce domain with an aligned DKIM key: DMARC passes on
# DKIM, so the SPF misalignment is only a warning.
check mail.good.test good.test -f bounce@bounces.provider.test --ip 192.0.2.10
assert_exit 0 "SPF misaligned, DKIM aligned"
assert_grep_fixed 'dmarc: warning: SPF-authenticated envelope domain bounces.provider.test does not align with From domain good.test (relaxed alignment)' "$OUT" "DKIM aligned: SPF misalignment a warning"
assert_grep_fixed 'verdict: DMARC passes only with a valid DKIM signature aligned with good.test (the account signs with one); otherwise receivers apply p=reject' "$OUT" "DKIM aligned: verdict"

# Strict alignment: a subdomain is not enough.
check mail.strict.test strict.test -f a@mail.strict.test --ip 192.0.2.10
assert_exit 1 "strict"
assert_grep_fixed 'dmarc: error: SPF-authenticated envelope domain mail.strict.test does not align with From domain strict.test (strict alignment)' "$OUT" "strict: envelope"
assert_grep_fixed 'dmarc: error: DKIM d= mail.strict.test does not align with From domain strict.test (strict alignment)' "$OUT" "strict: DKIM"

check "" none.test --ip 192.0.2.10
assert_exit 0 "p=none (warnings)"
assert_grep_fixed 'dmarc: warning: p=none applies (from _dmarc.none.test;' "$OUT" "none: warned"
assert_grep_fixed 'publish p=quarantine or p=reject' "$OUT" "none: the fix"
assert_grep_fixed 'dmarc: warning: pct=50: the policy applies to only 50% of failing mail' "$OUT" "none: pct"
assert_grep_fixed 'dmarc: warning: no rua=' "$OUT" "none: no reports"

check "" nodmarc.test --ip 192.0.2.10
assert_exit 1 "missing DMARC"
assert_grep_fixed 'dmarc: error: no DMARC record at _dmarc.nodmarc.test; fix: publish a TXT record at _dmarc.nodmarc.test: "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.test", then move to p=quarantine' "$OUT" "missing: error and fix"

check "" bad.test --ip 192.0.2.10
assert_exit 1 "invalid record"
assert_grep_fixed 'dmarc: error: _dmarc.bad.test: invalid record: not a URI (expected mailto:ADDRESS)' "$OUT" "invalid rua"

check "" two.bad.test --ip 192.0.2.10
assert_exit 1 "two records"
assert_grep_fixed 'dmarc: error: _dmarc.two.bad.test: 2 DMARC records (there must be one; receivers ignore them all)' "$OUT" "two records"
e2e_done
