/*
 * Unit tests for spf.c: the scenarios of the RFC 7208 test suite (the
 * OpenSPF/pyspf "rfc7208-tests" suite, release 2014.04), re-expressed as
 * our own table data, answered by a table resolver instead of DNS; plus
 * the macro expander, the record parser, and what the doctor reports
 * (matched mechanism, warnings, the loop).
 *
 * Zone lines are "NAME|TYPE|DATA".  TYPE is TXT, TXTS (character-strings
 * separated by '^'), A, AAAA, MX ("PREF HOST"), PTR or TIMEOUT (every
 * type the name has no record of times out, as in the suite).  The
 * suite's SPF-type records are written as the TXT records its drivers
 * make of them.  In TXT data, "\\0" stands for a NUL byte.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "dns.h"
#include "spf.h"

static const char *zone; /* the current group's zone */
static unsigned nqueries;

static int
line_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *bar = memchr(*p, '|', (size_t)(end - *p));

	if (bar == NULL)
		return -1;
	*f = *p;
	*n = (size_t)(bar - *p);
	*p = bar + 1;
	return 0;
}

static int
name_eq(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);

	if (bn > 0 && b[bn - 1] == '.')
		bn--;
	if (an > 0 && a[an - 1] == '.')
		an--;
	return an == bn && ascii_ncasecmp(a, b, an) == 0;
}

static int
tis(const char *t, size_t tn, const char *want)
{
	return strlen(want) == tn && strncmp(t, want, tn) == 0;
}

static void
add_rr(struct dns_answer *ans, const char *type, size_t tn, const char *d,
    size_t dn)
{
	struct dns_rr rr;
	char buf[1024];
	size_t i, o = 0;
	const char *sp;

	memset(&rr, 0, sizeof(rr));
	if (dn >= sizeof(buf))
		dn = sizeof(buf) - 1;
	if (tis(type, tn, "TXT") || tis(type, tn, "TXTS")) {
		rr.nstrings = 1;
		for (i = 0; i < dn; i++) {
			if (d[i] == '\\' && i + 1 < dn && d[i + 1] == '0') {
				buf[o++] = '\0';
				i++;
			} else if (d[i] == '^' && tn == 4) {
				rr.nstrings++;
			} else {
				buf[o++] = d[i];
			}
		}
	} else if (tis(type, tn, "MX") && (sp = memchr(d, ' ', dn)) != NULL) {
		rr.pref = (unsigned)strtoul(d, NULL, 10);
		o = dn - (size_t)(sp + 1 - d);
		memcpy(buf, sp + 1, o);
	} else {
		memcpy(buf, d, dn);
		o = dn;
		buf[o] = '\0';
		if (tis(type, tn, "A") || tis(type, tn, "AAAA")) {
			rr.family = tn == 1 ? AF_INET : AF_INET6;
			CHECK(inet_pton(rr.family, buf, rr.ip) == 1);
		}
	}
	if (o > 0 && buf[o - 1] == '.' && !tis(type, tn, "TXT"))
		o--; /* names without the final dot, as dns.c gives them */
	buf[o] = '\0';
	rr.text = buf;
	rr.len = o;
	CHECK(dns_answer_add(ans, &rr) == 0);
}

static int
type_is(const char *t, size_t tn, enum dns_type type)
{
	static const struct {
		const char *name;
		enum dns_type type;
	} types[] = {{"TXT", DNS_T_TXT}, {"TXTS", DNS_T_TXT}, {"A", DNS_T_A},
	    {"AAAA", DNS_T_AAAA}, {"MX", DNS_T_MX}, {"PTR", DNS_T_PTR}};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == tn &&
		    strncmp(types[i].name, t, tn) == 0)
			return types[i].type == type;
	return 0;
}

static enum dns_status
table_lookup(void *arg, const char *name, enum dns_type type,
    struct dns_answer *ans)
{
	const char *p = zone, *end, *n, *t;
	size_t nn, tn;
	int exists = 0, timeout = 0;

	(void)arg;
	nqueries++;
	memset(ans, 0, sizeof(*ans));
	for (; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		if (line_field(&p, end, &n, &nn) == -1 ||
		    line_field(&p, end, &t, &tn) == -1 || !name_eq(n, nn, name))
			continue;
		exists = 1;
		if (tn == 7 && strncmp(t, "TIMEOUT", 7) == 0)
			timeout = 1;
		else if (type_is(t, tn, type))
			add_rr(ans, t, tn, p, (size_t)(end - p));
	}
	if (ans->nrr > 0)
		return ans->status = DNS_FOUND;
	ans->status = timeout  ? DNS_TIMEOUT
		      : exists ? DNS_NODATA
			       : DNS_NXDOMAIN;
	str_copy(ans->why, dns_status_name(ans->status), sizeof(ans->why));
	return ans->status;
}

static const struct dns_resolver table = {table_lookup, NULL};

/* ---- the suite's groups: zone data, then scenarios ---- */

#define NONE SPF_NONE
#define NEUTRAL SPF_NEUTRAL
#define PASS SPF_PASS
#define FAIL SPF_FAIL
#define SOFTFAIL SPF_SOFTFAIL
#define TEMPERROR SPF_TEMPERROR
#define PERMERROR SPF_PERMERROR

struct scenario {
	const char *name;
	const char *const *zone;
	const char *helo, *host, *mailfrom;
	enum spf_result result, alt; /* alt: a second accepted result */
	const char *explanation;     /* NULL: not checked; "": none */
};

static const char *const z_initial =
    "example.com|TIMEOUT|\n"
    "example.net|TXT|v=spf1 -all exp=exp.example.net\n"
    "a.example.net|TXT|v=spf1 -all exp=exp.example.net\n"
    "exp.example.net|TXT|%{l}\n"
    "a12345678901234567890123456789012345678901234567890123456789012"
    ".example.com|TXT|v=spf1 -all\n"
    "hosed.example.com|TXT|v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all\n"
    "hosed2.example.com|TXT|v=spf1 \x80"
    "a:example.net -all\n"
    "hosed3.example.com|TXT|v=spf1 a:example.net \x96"
    "all\n"
    "nothosed.example.com|TXT|v=spf1 a:example.net -all\n"
    "nothosed.example.com|TXT|\x96\n"
    "ctrl.example.com|TXT|v=spf1 a:ctrl.example.com\x0dptr -all\n"
    "ctrl.example.com|A|192.0.2.3\n"
    "fine.example.com|TXT|v=spf1 a  -all\n";

static const char *const z_lookup = "both.example.net|TXT|v=spf1 -all\n"
				    "txtonly.example.net|TXT|v=spf1 -all\n"
				    "spfonly.example.net|SPF|v=spf1 -all\n"
				    "spftimeout.example.net|TXT|v=spf1 -all\n"
				    "spftimeout.example.net|TIMEOUT|\n"
				    "txttimeout.example.net|TIMEOUT|\n"
				    "nospftxttimeout.example.net|TIMEOUT|\n"
				    "alltimeout.example.net|TIMEOUT|\n";

static const char *const z_select = "example3.com|TXT|v=spf10\n"
				    "example3.com|TXT|v=spf1 mx\n"
				    "example3.com|MX|0 mail.example1.com\n"
				    "example1.com|TXT|v=spf1\n"
				    "example2.com|TXTS|v=spf1^mx\n"
				    "mail.example1.com|A|1.2.3.4\n"
				    "example4.com|TXT|v=spf1 -all\n"
				    "example5.com|TXT|v=spf1 -all\n"
				    "example5.com|TXT|v=spf1 +all\n"
				    "example6.com|TXT|v=spf1 -all\n"
				    "example6.com|TXT|V=sPf1 +all\n"
				    "example7.com|TXT|v=spf1 -all\n"
				    "example7.com|TXT|v=spf1 -all\n"
				    "example8.com|TXT|v=spf1 +all\n"
				    "example9.com|TXT|v=SpF1 ~all\n";

static const char *const z_eval =
    "mail.example.com|A|1.2.3.4\n"
    "t1.example.com|TXT|v=spf1 ip4:1.2.3.4 -all moo\n"
    "t2.example.com|TXT|v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 "
    "-all\n"
    "t3.example.com|TXT|v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 "
    "-all\n"
    "t4.example.com|TXT|v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 "
    "-all\n"
    "t5.example.com|TXT|v=spf1 redirect=t5.example.com ~all\n"
    "t6.example.com|TXT|v=spf1 ip4:1.2.3.4 redirect=t2.example.com\n"
    "t7.example.com|TXT|v=spf1 ip4:1.2.3.4\n"
    "t8.example.com|TXT|v=spf1 ip4:1.2.3.4 redirect:t2.example.com\n"
    "t9.example.com|TXT|v=spf1 a:foo-bar -all\n"
    "t10.example.com|TXT|v=spf1 a:mail.example...com -all\n"
    "t11.example.com|TXT|v=spf1 a:a12345678901234567890123456789012345678"
    "9012345678901234567890123.example.com -all\n"
    "t12.example.com|TXT|v=spf1 a:%{H}.bar -all\n";

static const char *const z_all = "mail.example.com|A|1.2.3.4\n"
				 "e1.example.com|TXT|v=spf1 -all.\n"
				 "e2.example.com|TXT|v=spf1 -all:foobar\n"
				 "e3.example.com|TXT|v=spf1 -all/8\n"
				 "e4.example.com|TXT|v=spf1 ?all\n"
				 "e5.example.com|TXT|v=spf1 all -all\n";

static const char *const z_ptr =
    "mail.example.com|A|1.2.3.4\n"
    "mail.example.com|AAAA|2001:db8::1\n"
    "e1.example.com|TXT|v=spf1 ptr/0 -all\n"
    "e2.example.com|TXT|v=spf1 ptr:example.com -all\n"
    "4.3.2.1.in-addr.arpa|PTR|e3.example.com\n"
    "4.3.2.1.in-addr.arpa|PTR|e4.example.com\n"
    "4.3.2.1.in-addr.arpa|PTR|mail.example.com\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C"
    ".ip6.arpa|PTR|e3.example.com\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.D.0.1.0.0.2"
    ".ip6.arpa|PTR|mail.Example.com\n"
    "e3.example.com|TXT|v=spf1 ptr -all\n"
    "e3.example.com|A|1.2.3.4\n"
    "e3.example.com|AAAA|CAFE:BABE::1\n"
    "e4.example.com|TXT|v=spf1 ptr -all\n"
    "e5.example.com|TXT|v=spf1 ptr:\n"
    "e6.example.com|TXT|v=spf1 ptr:example.Com -all\n";

static const char *const z_a =
    "mail.example.com|A|1.2.3.4\n"
    "e1.example.com|TXT|v=spf1 a/0 -all\n"
    "e2.example.com|A|1.1.1.1\n"
    "e2.example.com|AAAA|1234::2\n"
    "e2.example.com|TXT|v=spf1 a/0 -all\n"
    "e2a.example.com|AAAA|1234::1\n"
    "e2a.example.com|TXT|v=spf1 a//0 -all\n"
    "e2b.example.com|A|1.1.1.1\n"
    "e2b.example.com|TXT|v=spf1 a//0 -all\n"
    "ipv6.example.com|AAAA|1234::1\n"
    "ipv6.example.com|A|1.1.1.1\n"
    "ipv6.example.com|TXT|v=spf1 a -all\n"
    "e3.example.com|TXT|v=spf1 a:foo.example.com\\0\n"
    "e4.example.com|TXT|v=spf1 a:111.222.33.44\n"
    "e5.example.com|TXT|v=spf1 a:abc.123\n"
    "e5a.example.com|TXT|v=spf1 a:museum\n"
    "e5b.example.com|TXT|v=spf1 a:museum.\n"
    "e6.example.com|TXT|v=spf1 a//33 -all\n"
    "e6a.example.com|TXT|v=spf1 a/33 -all\n"
    "e7.example.com|TXT|v=spf1 a//129 -all\n"
    "e8.example.com|A|1.2.3.5\n"
    "e8.example.com|AAAA|2001:db8:1234::dead:beef\n"
    "e8.example.com|TXT|v=spf1 a/24//64 -all\n"
    "e8e.example.com|A|1.2.3.5\n"
    "e8e.example.com|AAAA|2001:db8:1234::dead:beef\n"
    "e8e.example.com|TXT|v=spf1 a/24/64 -all\n"
    "e8a.example.com|A|1.2.3.5\n"
    "e8a.example.com|AAAA|2001:db8:1234::dead:beef\n"
    "e8a.example.com|TXT|v=spf1 a/24 -all\n"
    "e8b.example.com|A|1.2.3.5\n"
    "e8b.example.com|AAAA|2001:db8:1234::dead:beef\n"
    "e8b.example.com|TXT|v=spf1 a//64 -all\n"
    "e9.example.com|TXT|v=spf1 a:example.com:8080\n"
    "e10.example.com|TXT|v=spf1 a:foo.example.com/24\n"
    "foo.example.com|A|1.1.1.1\n"
    "foo.example.com|A|1.2.3.5\n"
    "e11.example.com|TXT|v=spf1 a:foo:bar/baz.example.com\n"
    "foo:bar/baz.example.com|A|1.2.3.4\n"
    "e12.example.com|TXT|v=spf1 a:example.-com\n"
    "e13.example.com|TXT|v=spf1 a:\n"
    "e14.example.com|TXT|v=spf1 a:foo.example.xn--zckzah -all\n"
    "foo.example.xn--zckzah|A|1.2.3.4\n";

static const char *const z_include =
    "mail.example.com|A|1.2.3.4\n"
    "ip5.example.com|TXT|v=spf1 ip4:1.2.3.5 -all\n"
    "ip6.example.com|TXT|v=spf1 ip4:1.2.3.6 ~all\n"
    "ip7.example.com|TXT|v=spf1 ip4:1.2.3.7 ?all\n"
    "ip8.example.com|TIMEOUT|\n"
    "erehwon.example.com|TXT|v=spfl am not an SPF record\n"
    "e1.example.com|TXT|v=spf1 include:ip5.example.com ~all\n"
    "e2.example.com|TXT|v=spf1 include:ip6.example.com all\n"
    "e3.example.com|TXT|v=spf1 include:ip7.example.com -all\n"
    "e4.example.com|TXT|v=spf1 include:ip8.example.com -all\n"
    "e5.example.com|TXT|v=spf1 include:e6.example.com -all\n"
    "e6.example.com|TXT|v=spf1 include +all\n"
    "e7.example.com|TXT|v=spf1 include:erehwon.example.com -all\n"
    "e8.example.com|TXT|v=spf1 include: -all\n"
    "e9.example.com|TXT|v=spf1 include:ip5.example.com/24 -all\n";

static const char *const z_mx =
    "mail.example.com|A|1.2.3.4\n"
    "mail.example.com|MX|0 \n"
    "mail.example.com|TXT|v=spf1 mx\n"
    "e1.example.com|TXT|v=spf1 mx/0 -all\n"
    "e1.example.com|MX|0 e1.example.com\n"
    "e2.example.com|A|1.1.1.1\n"
    "e2.example.com|AAAA|1234::2\n"
    "e2.example.com|MX|0 e2.example.com\n"
    "e2.example.com|TXT|v=spf1 mx/0 -all\n"
    "e2a.example.com|AAAA|1234::1\n"
    "e2a.example.com|MX|0 e2a.example.com\n"
    "e2a.example.com|TXT|v=spf1 mx//0 -all\n"
    "e2b.example.com|A|1.1.1.1\n"
    "e2b.example.com|MX|0 e2b.example.com\n"
    "e2b.example.com|TXT|v=spf1 mx//0 -all\n"
    "e3.example.com|TXT|v=spf1 mx:foo.example.com\\0\n"
    "e4.example.com|TXT|v=spf1 mx\n"
    "e4.example.com|A|1.2.3.4\n"
    "e5.example.com|TXT|v=spf1 mx:abc.123\n"
    "e6.example.com|TXT|v=spf1 mx//33 -all\n"
    "e6a.example.com|TXT|v=spf1 mx/33 -all\n"
    "e7.example.com|TXT|v=spf1 mx//129 -all\n"
    "e9.example.com|TXT|v=spf1 mx:example.com:8080\n"
    "e10.example.com|TXT|v=spf1 mx:foo.example.com/24\n"
    "foo.example.com|MX|0 foo1.example.com\n"
    "foo1.example.com|A|1.1.1.1\n"
    "foo1.example.com|A|1.2.3.5\n"
    "e11.example.com|TXT|v=spf1 mx:foo:bar/baz.example.com\n"
    "foo:bar/baz.example.com|MX|0 foo:bar/baz.example.com\n"
    "foo:bar/baz.example.com|A|1.2.3.4\n"
    "e12.example.com|TXT|v=spf1 mx:example.-com\n"
    "e13.example.com|TXT|v=spf1 mx: -all\n";

static const char *const z_exists =
    "mail.example.com|A|1.2.3.4\n"
    "mail6.example.com|AAAA|CAFE:BABE::4\n"
    "err.example.com|TIMEOUT|\n"
    "e1.example.com|TXT|v=spf1 exists:\n"
    "e2.example.com|TXT|v=spf1 exists\n"
    "e3.example.com|TXT|v=spf1 exists:mail.example.com/24\n"
    "e4.example.com|TXT|v=spf1 exists:mail.example.com\n"
    "e5.example.com|TXT|v=spf1 exists:mail6.example.com -all\n"
    "e6.example.com|TXT|v=spf1 exists:err.example.com -all\n";

static const char *const z_ip4 =
    "mail.example.com|A|1.2.3.4\n"
    "e1.example.com|TXT|v=spf1 ip4:1.1.1.1/0 -all\n"
    "e2.example.com|TXT|v=spf1 ip4:1.2.3.4/32 -all\n"
    "e3.example.com|TXT|v=spf1 ip4:1.2.3.4/33 -all\n"
    "e4.example.com|TXT|v=spf1 ip4:1.2.3.4/032 -all\n"
    "e5.example.com|TXT|v=spf1 ip4\n"
    "e6.example.com|TXT|v=spf1 ip4:1.2.3.4//32\n"
    "e7.example.com|TXT|v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4\n"
    "e8.example.com|TXT|v=spf1 ip4:1.2.3.4:8080\n"
    "e9.example.com|TXT|v=spf1 ip4:1.2.3\n";

static const char *const z_ip6 =
    "mail.example.com|A|1.2.3.4\n"
    "e1.example.com|TXT|v=spf1 -all ip6\n"
    "e2.example.com|TXT|v=spf1 ip6:::1.1.1.1/0\n"
    "e3.example.com|TXT|v=spf1 ip6:::1.1.1.1/129\n"
    "e4.example.com|TXT|v=spf1 ip6:::1.1.1.1//33\n"
    "e5.example.com|TXT|v=spf1 ip6:Cafe:Babe:8000::/33\n"
    "e6.example.com|TXT|v=spf1 ip6::CAFE::BABE\n";

static const char *const z_mod =
    "mail.example.com|A|1.2.3.4\n"
    "e1.example.com|TXT|v=spf1 exp=exp1.example.com redirect=e2.example.com\n"
    "e2.example.com|TXT|v=spf1 -all\n"
    "e3.example.com|TXT|v=spf1 exp=exp1.example.com redirect=e4.example.com\n"
    "e4.example.com|TXT|v=spf1 -all exp=exp2.example.com\n"
    "exp1.example.com|TXT|No-see-um\n"
    "exp2.example.com|TXT|See me.\n"
    "exp3.example.com|TXT|Correct!\n"
    "exp4.example.com|TXT|%{l} in implementation\n"
    "e5.example.com|TXT|v=spf1 1up=foo\n"
    "e6.example.com|TXT|v=spf1 =all\n"
    "e7.example.com|TXT|v=spf1 include:e3.example.com -all "
    "exp=exp3.example.com\n"
    "e8.example.com|TXT|v=spf1 -all exp=exp4.example.com\n"
    "e9.example.com|TXT|v=spf1 -all foo=%abc\n"
    "e10.example.com|TXT|v=spf1 redirect=erehwon.example.com\n"
    "e11.example.com|TXT|v=spf1 -all exp=e11msg.example.com\n"
    "e11msg.example.com|TXT|Answer a fool according to his folly.\n"
    "e11msg.example.com|TXT|Do not answer a fool according to his folly.\n"
    "e12.example.com|TXT|v=spf1 exp= -all\n"
    "e13.example.com|TXT|v=spf1 exp=e13msg.example.com -all\n"
    "e13msg.example.com|TXT|The %{x}-files.\n"
    "e14.example.com|TXT|v=spf1 exp=e13msg.example.com -all "
    "exp=e11msg.example.com\n"
    "e15.example.com|TXT|v=spf1 redirect=e12.example.com -all "
    "redirect=e12.example.com\n"
    "e16.example.com|TXT|v=spf1 exp=-all\n"
    "e17.example.com|TXT|v=spf1 redirect=-all ?all\n"
    "e18.example.com|TXT|v=spf1 ?all redirect=\n"
    "e19.example.com|TXT|v=spf1 default=pass\n"
    "e20.example.com|TXT|v=spf1 default=+\n"
    "e21.example.com|TXT|v=spf1 exp=e21msg.example.com -all\n"
    "e21msg.example.com|TIMEOUT|\n"
    "e22.example.com|TXT|v=spf1 exp=mail.example.com -all\n"
    "nonascii.example.com|TXT|v=spf1 exp=badexp.example.com -all\n"
    "badexp.example.com|TXT|\xEF\xBB\xBF"
    "Explanation\n"
    "tworecs.example.com|TXT|v=spf1 exp=twoexp.example.com -all\n"
    "twoexp.example.com|TXT|one\n"
    "twoexp.example.com|TXT|two\n"
    "e23.example.com|TXT|v=spf1 a:erehwon.example.com a:foobar.com "
    "exp=nxdomain.com -all\n"
    "e24.example.com|TXT|v=spf1 redirect=testimplicit.example.com\n"
    "e24.example.com|A|192.0.2.1\n"
    "testimplicit.example.com|TXT|v=spf1 a -all\n"
    "testimplicit.example.com|A|192.0.2.2\n";

static const char *const z_macro =
    "example.com.d.spf.example.com|TXT|v=spf1 redirect=a.spf.example.com\n"
    "a.spf.example.com|TXT|v=spf1 include:o.spf.example.com. ~all\n"
    "o.spf.example.com|TXT|v=spf1 ip4:192.168.218.40\n"
    "msgbas2x.cos.example.com|A|192.168.218.40\n"
    "example.com|A|192.168.90.76\n"
    "example.com|TXT|v=spf1 redirect=%{d}.d.spf.example.com.\n"
    "exp.example.com|TXT|v=spf1 exp=msg.example.com. -all\n"
    "msg.example.com|TXT|This is a test.\n"
    "e1.example.com|TXT|v=spf1 -exists:%(ir).sbl.example.com ?all\n"
    "e1e.example.com|TXT|v=spf1 exists:foo%(ir).sbl.example.com ?all\n"
    "e1t.example.com|TXT|v=spf1 exists:foo%.sbl.example.com ?all\n"
    "e1a.example.com|TXT|v=spf1 "
    "a:macro%%percent%_%_space%-url-space.example.com -all\n"
    "macro%percent  space%20url-space.example.com|A|1.2.3.4\n"
    "e2.example.com|TXT|v=spf1 -all exp=%{r}.example.com\n"
    "e3.example.com|TXT|v=spf1 -all exp=%{ir}.example.com\n"
    "40.218.168.192.example.com|TXT|Connections from %{c} not authorized.\n"
    "somewhat.long.exp.example.com|TXT|v=spf1 -all "
    "exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com\n"
    "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
    "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
    "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
    "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
    "example.com|TXT|Congratulations!  That was tricky.\n"
    "e4.example.com|TXT|v=spf1 -all exp=e4msg.example.com\n"
    "e4msg.example.com|TXT|%{c} is queried as %{ir}.%{v}.arpa\n"
    "e5.example.com|TXT|v=spf1 a:%{a}.example.com -all\n"
    "e6.example.com|TXT|v=spf1 -all exp=e6msg.example.com\n"
    "e6msg.example.com|TXT|connect from %{p}\n"
    "mx.example.com|A|192.168.218.41\n"
    "mx.example.com|A|192.168.218.42\n"
    "mx.example.com|AAAA|CAFE:BABE::2\n"
    "mx.example.com|AAAA|CAFE:BABE::3\n"
    "40.218.168.192.in-addr.arpa|PTR|mx.example.com\n"
    "41.218.168.192.in-addr.arpa|PTR|mx.example.com\n"
    "42.218.168.192.in-addr.arpa|PTR|mx.example.com\n"
    "42.218.168.192.in-addr.arpa|PTR|mx.e7.example.com\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C"
    ".ip6.arpa|PTR|mx.example.com\n"
    "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C"
    ".ip6.arpa|PTR|mx.example.com\n"
    "mx.e7.example.com|A|192.168.218.42\n"
    "mx.e7.example.com.should.example.com|A|127.0.0.2\n"
    "mx.example.com.ok.example.com|A|127.0.0.2\n"
    "e7.example.com|TXT|v=spf1 exists:%{p}.should.example.com "
    "~exists:%{p}.ok.example.com\n"
    "e8.example.com|TXT|v=spf1 -all exp=msg8.%{D2}\n"
    "msg8.example.com|TXT|http://example.com/why.html?l=%{L}\n"
    "e9.example.com|TXT|v=spf1 a:%{H} -all\n"
    "e10.example.com|TXT|v=spf1 -include:_spfh.%{d2} ip4:1.2.3.0/24 -all\n"
    "_spfh.example.com|TXT|v=spf1 -a:%{h} +all\n"
    "e11.example.com|TXT|v=spf1 exists:%{i}.%{l2r-}.user.%{d2}\n"
    "1.2.3.4.gladstone.philip.user.example.com|A|127.0.0.2\n"
    "e12.example.com|TXT|v=spf1 exists:%{l2r+-}.user.%{d2}\n"
    "bar.foo.user.example.com|A|127.0.0.2\n";

static const char *const z_limits =
    "mail.example.com|A|1.2.3.4\n"
    "e1.example.com|TXT|v=spf1 ip4:1.1.1.1 redirect=e1.example.com\n"
    "e1.example.com|A|1.2.3.6\n"
    "e2.example.com|TXT|v=spf1 include:e3.example.com\n"
    "e2.example.com|A|1.2.3.7\n"
    "e3.example.com|TXT|v=spf1 include:e2.example.com\n"
    "e3.example.com|A|1.2.3.8\n"
    "e4.example.com|TXT|v=spf1 mx\n"
    "e4.example.com|MX|0 mail.example.com\n"
    "e4.example.com|MX|1 mail.example.com\n"
    "e4.example.com|MX|2 mail.example.com\n"
    "e4.example.com|MX|3 mail.example.com\n"
    "e4.example.com|MX|4 mail.example.com\n"
    "e4.example.com|MX|5 mail.example.com\n"
    "e4.example.com|MX|6 mail.example.com\n"
    "e4.example.com|MX|7 mail.example.com\n"
    "e4.example.com|MX|8 mail.example.com\n"
    "e4.example.com|MX|9 mail.example.com\n"
    "e4.example.com|MX|10 e4.example.com\n"
    "e4.example.com|A|1.2.3.5\n"
    "e5.example.com|TXT|v=spf1 ptr\n"
    "e5.example.com|A|1.2.3.5\n"
    "5.3.2.1.in-addr.arpa|PTR|e1.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e2.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e3.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e4.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e6.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e7.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e8.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e9.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e10.example.com.\n"
    "5.3.2.1.in-addr.arpa|PTR|e5.example.com.\n"
    "e6.example.com|TXT|v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all\n"
    "e6.example.com|A|1.2.3.8\n"
    "e6.example.com|MX|10 e6.example.com\n"
    "e7.example.com|TXT|v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 "
    "-all\n"
    "e7.example.com|A|1.2.3.20\n"
    "e8.example.com|TXT|v=spf1 a include:inc.example.com ip4:1.2.3.4 mx "
    "-all\n"
    "e8.example.com|A|1.2.3.4\n"
    "inc.example.com|TXT|v=spf1 a a a a a a a a\n"
    "inc.example.com|A|1.2.3.10\n"
    "e9.example.com|TXT|v=spf1 a include:inc.example.com a ip4:1.2.3.4 "
    "-all\n"
    "e9.example.com|A|1.2.3.21\n"
    "e10.example.com|TXT|v=spf1 a -all\n"
    "e10.example.com|A|1.2.3.1\n"
    "e10.example.com|A|1.2.3.2\n"
    "e10.example.com|A|1.2.3.3\n"
    "e10.example.com|A|1.2.3.4\n"
    "e10.example.com|A|1.2.3.5\n"
    "e10.example.com|A|1.2.3.6\n"
    "e10.example.com|A|1.2.3.7\n"
    "e10.example.com|A|1.2.3.8\n"
    "e10.example.com|A|1.2.3.9\n"
    "e10.example.com|A|1.2.3.10\n"
    "e10.example.com|A|1.2.3.11\n"
    "e10.example.com|A|1.2.3.12\n"
    "e11.example.com|TXT|v=spf1 a:err.example.com a:err1.example.com "
    "a:err2.example.com ?all\n"
    "e12.example.com|TXT|v=spf1 a:err.example.com a:err1.example.com "
    "?all\n";

static const char *const z_bugs =
    "example.org|TXT|v=spf1 mx redirect=_spf.example.com\n"
    "example.org|MX|10 smtp.example.org\n"
    "example.org|MX|10 smtp1.example.com\n"
    "smtp.example.org|A|198.51.100.2\n"
    "smtp.example.org|AAAA|2001:db8:ff0:100::3\n"
    "smtp1.example.com|A|192.0.2.26\n"
    "smtp1.example.com|AAAA|2001:db8:ff0:200::2\n"
    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.F.F.0.8.B.D.0.1.0.0.2"
    ".ip6.arpa|PTR|smtp6-v.fe.example.org\n"
    "smtp6-v.fe.example.org|AAAA|2001:db8:ff0:100::2\n"
    "_spf.example.com|TXT|v=spf1 ptr:fe.example.org ptr:sgp.example.com "
    "exp=_expspf.example.org -all\n"
    "_expspf.example.org|TXT|Sender domain not allowed from this host. "
    "Please see http://www.openspf.org/Why?s=mfrom&id=%{S}&ip=%{C}&r=%{R}\n";

#define MH "mail.example.com"
#define MB "msgbas2x.cos.example.com"
#define LONG63 "A12345678901234567890123456789012345678901234567890123456789012"

static const struct scenario scenarios[] = {
    /* Initial processing */
    {"toolonglabel", &z_initial, "mail.example.net", "1.2.3.5",
	"lyme.eater@" LONG63 "3.example.com", NONE, NONE, NULL},
    {"longlabel", &z_initial, "mail.example.net", "1.2.3.5",
	"lyme.eater@" LONG63 ".example.com", FAIL, FAIL, NULL},
    {"emptylabel", &z_initial, "mail.example.net", "1.2.3.5",
	"lyme.eater@A...example.com", NONE, NONE, NULL},
    {"helo-not-fqdn", &z_initial, "A2345678", "1.2.3.5", "", NONE, NONE, NULL},
    {"helo-domain-literal", &z_initial, "[1.2.3.5]", "1.2.3.5", "", NONE, NONE,
	NULL},
    {"nolocalpart", &z_initial, "mail.example.net", "1.2.3.4", "@example.net",
	FAIL, FAIL, "postmaster"},
    {"domain-literal", &z_initial, "OEMCOMPUTER", "1.2.3.5", "foo@[1.2.3.5]",
	NONE, NONE, NULL},
    {"non-ascii-policy", &z_initial, "hosed", "1.2.3.4",
	"foobar@hosed.example.com", PERMERROR, PERMERROR, NULL},
    {"non-ascii-mech", &z_initial, "hosed", "1.2.3.4",
	"foobar@hosed2.example.com", PERMERROR, PERMERROR, NULL},
    {"non-ascii-result", &z_initial, "hosed", "1.2.3.4",
	"foobar@hosed3.example.com", PERMERROR, PERMERROR, NULL},
    {"non-ascii-non-spf", &z_initial, "hosed", "1.2.3.4",
	"foobar@nothosed.example.com", FAIL, FAIL, ""},
    {"control-char-policy", &z_initial, "hosed", "192.0.2.3",
	"foobar@ctrl.example.com", PERMERROR, PERMERROR, NULL},
    {"two-spaces", &z_initial, "hosed", "1.2.3.4", "actually@fine.example.com",
	FAIL, FAIL, NULL},
    /* Record lookup */
    {"both", &z_lookup, "mail.example.net", "1.2.3.4", "foo@both.example.net",
	FAIL, FAIL, NULL},
    {"txtonly", &z_lookup, "mail.example.net", "1.2.3.4",
	"foo@txtonly.example.net", FAIL, FAIL, NULL},
    {"spfonly", &z_lookup, "mail.example.net", "1.2.3.4",
	"foo@spfonly.example.net", NONE, NONE, NULL},
    {"spftimeout", &z_lookup, "mail.example.net", "1.2.3.4",
	"foo@spftimeout.example.net", FAIL, FAIL, NULL},
    {"txttimeout", &z_lookup, "mail.example.net", "1.2.3.4",
	"foo@txttimeout.example.net", TEMPERROR, TEMPERROR, NULL},
    {"nospftxttimeout", &z_lookup, "mail.example.net", "1.2.3.4",
	"foo@nospftxttimeout.example.net", TEMPERROR, TEMPERROR, NULL},
    {"alltimeout", &z_lookup, "mail.example.net", "1.2.3.4",
	"foo@alltimeout.example.net", TEMPERROR, TEMPERROR, NULL},
    /* Selecting records */
    {"nospace1", &z_select, "mail.example1.com", "1.2.3.4", "foo@example2.com",
	NONE, NONE, NULL},
    {"empty", &z_select, "mail1.example1.com", "1.2.3.4", "foo@example1.com",
	NEUTRAL, NEUTRAL, NULL},
    {"nospace2", &z_select, "mail.example1.com", "1.2.3.4", "foo@example3.com",
	PASS, PASS, NULL},
    {"spfoverride", &z_select, "mail.example1.com", "1.2.3.4",
	"foo@example4.com", FAIL, FAIL, NULL},
    {"multitxt1", &z_select, "mail.example1.com", "1.2.3.4", "foo@example5.com",
	PERMERROR, PERMERROR, NULL},
    {"multitxt2", &z_select, "mail.example1.com", "1.2.3.4", "foo@example6.com",
	PERMERROR, PERMERROR, NULL},
    {"multispf1", &z_select, "mail.example1.com", "1.2.3.4", "foo@example7.com",
	PERMERROR, FAIL, NULL},
    {"multispf2", &z_select, "mail.example1.com", "1.2.3.4", "foo@example8.com",
	PASS, PASS, NULL},
    {"nospf", &z_select, "mail.example1.com", "1.2.3.4",
	"foo@mail.example1.com", NONE, NONE, NULL},
    {"case-insensitive", &z_select, "mail.example1.com", "1.2.3.4",
	"foo@example9.com", SOFTFAIL, SOFTFAIL, NULL},
    /* Record evaluation */
    {"detect-errors-anywhere", &z_eval, MH, "1.2.3.4", "foo@t1.example.com",
	PERMERROR, PERMERROR, NULL},
    {"modifier-charset-good", &z_eval, MH, "1.2.3.4", "foo@t2.example.com",
	PASS, PASS, NULL},
    {"modifier-charset-bad1", &z_eval, MH, "1.2.3.4", "foo@t3.example.com",
	PERMERROR, PERMERROR, NULL},
    {"modifier-charset-bad2", &z_eval, MH, "1.2.3.4", "foo@t4.example.com",
	PERMERROR, PERMERROR, NULL},
    {"redirect-after-mechanisms1", &z_eval, MH, "1.2.3.4", "foo@t5.example.com",
	SOFTFAIL, SOFTFAIL, NULL},
    {"redirect-after-mechanisms2", &z_eval, MH, "1.2.3.5", "foo@t6.example.com",
	FAIL, FAIL, NULL},
    {"default-result", &z_eval, MH, "1.2.3.5", "foo@t7.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"redirect-is-modifier", &z_eval, MH, "1.2.3.4", "foo@t8.example.com",
	PERMERROR, PERMERROR, NULL},
    {"invalid-domain", &z_eval, MH, "1.2.3.4", "foo@t9.example.com", PERMERROR,
	PERMERROR, NULL},
    {"invalid-domain-empty-label", &z_eval, MH, "1.2.3.4",
	"foo@t10.example.com", FAIL, PERMERROR, NULL},
    {"invalid-domain-long", &z_eval, MH, "1.2.3.4", "foo@t11.example.com", FAIL,
	PERMERROR, NULL},
    {"invalid-domain-long-via-macro", &z_eval, "%%%%%%%%%%%%%%%%%%%%%%",
	"1.2.3.4", "foo@t12.example.com", FAIL, PERMERROR, NULL},
    /* ALL mechanism syntax */
    {"all-dot", &z_all, MH, "1.2.3.4", "foo@e1.example.com", PERMERROR,
	PERMERROR, NULL},
    {"all-arg", &z_all, MH, "1.2.3.4", "foo@e2.example.com", PERMERROR,
	PERMERROR, NULL},
    {"all-cidr", &z_all, MH, "1.2.3.4", "foo@e3.example.com", PERMERROR,
	PERMERROR, NULL},
    {"all-neutral", &z_all, MH, "1.2.3.4", "foo@e4.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"all-double", &z_all, MH, "1.2.3.4", "foo@e5.example.com", PASS, PASS,
	NULL},
    /* PTR mechanism syntax */
    {"ptr-cidr", &z_ptr, MH, "1.2.3.4", "foo@e1.example.com", PERMERROR,
	PERMERROR, NULL},
    {"ptr-match-target", &z_ptr, MH, "1.2.3.4", "foo@e2.example.com", PASS,
	PASS, NULL},
    {"ptr-match-implicit", &z_ptr, MH, "1.2.3.4", "foo@e3.example.com", PASS,
	PASS, NULL},
    {"ptr-nomatch-invalid", &z_ptr, MH, "1.2.3.4", "foo@e4.example.com", FAIL,
	FAIL, NULL},
    {"ptr-match-ip6", &z_ptr, MH, "CAFE:BABE::1", "foo@e3.example.com", PASS,
	PASS, NULL},
    {"ptr-empty-domain", &z_ptr, MH, "1.2.3.4", "foo@e5.example.com", PERMERROR,
	PERMERROR, NULL},
    {"ptr-case-change", &z_ptr, MH, "2001:db8::1", "bar@e6.example.com", PASS,
	PASS, NULL},
    /* A mechanism syntax */
    {"a-cidr6", &z_a, MH, "1.2.3.4", "foo@e6.example.com", FAIL, FAIL, NULL},
    {"a-bad-cidr4", &z_a, MH, "1.2.3.4", "foo@e6a.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-bad-cidr6", &z_a, MH, "1.2.3.4", "foo@e7.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-dual-cidr-ip4-match", &z_a, MH, "1.2.3.4", "foo@e8.example.com", PASS,
	PASS, NULL},
    {"a-dual-cidr-ip4-err", &z_a, MH, "1.2.3.4", "foo@e8e.example.com",
	PERMERROR, PERMERROR, NULL},
    {"a-dual-cidr-ip6-match", &z_a, MH, "2001:db8:1234::cafe:babe",
	"foo@e8.example.com", PASS, PASS, NULL},
    {"a-dual-cidr-ip4-default", &z_a, MH, "1.2.3.4", "foo@e8b.example.com",
	FAIL, FAIL, NULL},
    {"a-dual-cidr-ip6-default", &z_a, MH, "2001:db8:1234::cafe:babe",
	"foo@e8a.example.com", FAIL, FAIL, NULL},
    {"a-multi-ip1", &z_a, MH, "1.2.3.4", "foo@e10.example.com", PASS, PASS,
	NULL},
    {"a-bad-domain", &z_a, MH, "1.2.3.4", "foo@e9.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-nxdomain", &z_a, MH, "1.2.3.4", "foo@e1.example.com", FAIL, FAIL, NULL},
    {"a-cidr4-0", &z_a, MH, "1.2.3.4", "foo@e2.example.com", PASS, PASS, NULL},
    {"a-cidr4-0-ip6", &z_a, MH, "1234::1", "foo@e2.example.com", FAIL, FAIL,
	NULL},
    {"a-cidr6-0-ip4", &z_a, MH, "1.2.3.4", "foo@e2a.example.com", FAIL, FAIL,
	NULL},
    {"a-cidr6-0-ip4mapped", &z_a, MH, "::FFFF:1.2.3.4", "foo@e2a.example.com",
	FAIL, FAIL, NULL},
    {"a-cidr6-0-ip6", &z_a, MH, "1234::1", "foo@e2a.example.com", PASS, PASS,
	NULL},
    {"a-ip6-dualstack", &z_a, MH, "1234::1", "foo@ipv6.example.com", PASS, PASS,
	NULL},
    {"a-cidr6-0-nxdomain", &z_a, MH, "1234::1", "foo@e2b.example.com", FAIL,
	FAIL, NULL},
    {"a-null", &z_a, MH, "1.2.3.5", "foo@e3.example.com", PERMERROR, PERMERROR,
	NULL},
    {"a-numeric", &z_a, MH, "1.2.3.4", "foo@e4.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-numeric-toplabel", &z_a, MH, "1.2.3.4", "foo@e5.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-dash-in-toplabel", &z_a, MH, "1.2.3.4", "foo@e14.example.com", PASS,
	PASS, NULL},
    {"a-bad-toplabel", &z_a, MH, "1.2.3.4", "foo@e12.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-only-toplabel", &z_a, MH, "1.2.3.4", "foo@e5a.example.com", PERMERROR,
	PERMERROR, NULL},
    {"a-only-toplabel-trailing-dot", &z_a, MH, "1.2.3.4", "foo@e5b.example.com",
	PERMERROR, PERMERROR, NULL},
    {"a-colon-domain", &z_a, MH, "1.2.3.4", "foo@e11.example.com", PASS, PASS,
	NULL},
    {"a-colon-domain-ip4mapped", &z_a, MH, "::FFFF:1.2.3.4",
	"foo@e11.example.com", PASS, PASS, NULL},
    {"a-empty-domain", &z_a, MH, "1.2.3.4", "foo@e13.example.com", PERMERROR,
	PERMERROR, NULL},
    /* Include mechanism semantics and syntax */
    {"include-fail", &z_include, MH, "1.2.3.4", "foo@e1.example.com", SOFTFAIL,
	SOFTFAIL, NULL},
    {"include-softfail", &z_include, MH, "1.2.3.4", "foo@e2.example.com", PASS,
	PASS, NULL},
    {"include-neutral", &z_include, MH, "1.2.3.4", "foo@e3.example.com", FAIL,
	FAIL, NULL},
    {"include-temperror", &z_include, MH, "1.2.3.4", "foo@e4.example.com",
	TEMPERROR, TEMPERROR, NULL},
    {"include-permerror", &z_include, MH, "1.2.3.4", "foo@e5.example.com",
	PERMERROR, PERMERROR, NULL},
    {"include-syntax-error", &z_include, MH, "1.2.3.4", "foo@e6.example.com",
	PERMERROR, PERMERROR, NULL},
    {"include-cidr", &z_include, MH, "1.2.3.4", "foo@e9.example.com", PERMERROR,
	PERMERROR, NULL},
    {"include-none", &z_include, MH, "1.2.3.4", "foo@e7.example.com", PERMERROR,
	PERMERROR, NULL},
    {"include-empty-domain", &z_include, MH, "1.2.3.4", "foo@e8.example.com",
	PERMERROR, PERMERROR, NULL},
    /* MX mechanism syntax */
    {"mx-cidr6", &z_mx, MH, "1.2.3.4", "foo@e6.example.com", FAIL, FAIL, NULL},
    {"mx-bad-cidr4", &z_mx, MH, "1.2.3.4", "foo@e6a.example.com", PERMERROR,
	PERMERROR, NULL},
    {"mx-bad-cidr6", &z_mx, MH, "1.2.3.4", "foo@e7.example.com", PERMERROR,
	PERMERROR, NULL},
    {"mx-multi-ip1", &z_mx, MH, "1.2.3.4", "foo@e10.example.com", PASS, PASS,
	NULL},
    {"mx-bad-domain", &z_mx, MH, "1.2.3.4", "foo@e9.example.com", PERMERROR,
	PERMERROR, NULL},
    {"mx-nxdomain", &z_mx, MH, "1.2.3.4", "foo@e1.example.com", FAIL, FAIL,
	NULL},
    {"mx-cidr4-0", &z_mx, MH, "1.2.3.4", "foo@e2.example.com", PASS, PASS,
	NULL},
    {"mx-cidr4-0-ip6", &z_mx, MH, "1234::1", "foo@e2.example.com", FAIL, FAIL,
	NULL},
    {"mx-cidr6-0-ip4", &z_mx, MH, "1.2.3.4", "foo@e2a.example.com", FAIL, FAIL,
	NULL},
    {"mx-cidr6-0-ip4mapped", &z_mx, MH, "::FFFF:1.2.3.4", "foo@e2a.example.com",
	FAIL, FAIL, NULL},
    {"mx-cidr6-0-ip6", &z_mx, MH, "1234::1", "foo@e2a.example.com", PASS, PASS,
	NULL},
    {"mx-cidr6-0-nxdomain", &z_mx, MH, "1234::1", "foo@e2b.example.com", FAIL,
	FAIL, NULL},
    {"mx-null", &z_mx, MH, "1.2.3.5", "foo@e3.example.com", PERMERROR,
	PERMERROR, NULL},
    {"mx-numeric-top-label", &z_mx, MH, "1.2.3.4", "foo@e5.example.com",
	PERMERROR, PERMERROR, NULL},
    {"mx-colon-domain", &z_mx, MH, "1.2.3.4", "foo@e11.example.com", PASS, PASS,
	NULL},
    {"mx-colon-domain-ip4mapped", &z_mx, MH, "::FFFF:1.2.3.4",
	"foo@e11.example.com", PASS, PASS, NULL},
    {"mx-bad-toplab", &z_mx, MH, "1.2.3.4", "foo@e12.example.com", PERMERROR,
	PERMERROR, NULL},
    {"mx-empty", &z_mx, MH, "1.2.3.4", "", NEUTRAL, NEUTRAL, NULL},
    {"mx-implicit", &z_mx, MH, "1.2.3.4", "foo@e4.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"mx-empty-domain", &z_mx, MH, "1.2.3.4", "foo@e13.example.com", PERMERROR,
	PERMERROR, NULL},
    /* EXISTS mechanism syntax */
    {"exists-empty-domain", &z_exists, MH, "1.2.3.4", "foo@e1.example.com",
	PERMERROR, PERMERROR, NULL},
    {"exists-implicit", &z_exists, MH, "1.2.3.4", "foo@e2.example.com",
	PERMERROR, PERMERROR, NULL},
    {"exists-cidr", &z_exists, MH, "1.2.3.4", "foo@e3.example.com", PERMERROR,
	PERMERROR, NULL},
    {"exists-ip4", &z_exists, MH, "1.2.3.4", "foo@e4.example.com", PASS, PASS,
	NULL},
    {"exists-ip6", &z_exists, MH, "CAFE:BABE::3", "foo@e4.example.com", PASS,
	PASS, NULL},
    {"exists-ip6only", &z_exists, MH, "CAFE:BABE::3", "foo@e5.example.com",
	FAIL, FAIL, NULL},
    {"exists-dnserr", &z_exists, MH, "CAFE:BABE::3", "foo@e6.example.com",
	TEMPERROR, TEMPERROR, NULL},
    /* IP4 mechanism syntax */
    {"cidr4-0", &z_ip4, MH, "1.2.3.4", "foo@e1.example.com", PASS, PASS, NULL},
    {"cidr4-32", &z_ip4, MH, "1.2.3.4", "foo@e2.example.com", PASS, PASS, NULL},
    {"cidr4-33", &z_ip4, MH, "1.2.3.4", "foo@e3.example.com", PERMERROR,
	PERMERROR, NULL},
    {"cidr4-032", &z_ip4, MH, "1.2.3.4", "foo@e4.example.com", PERMERROR,
	PERMERROR, NULL},
    {"bare-ip4", &z_ip4, MH, "1.2.3.4", "foo@e5.example.com", PERMERROR,
	PERMERROR, NULL},
    {"bad-ip4-port", &z_ip4, MH, "1.2.3.4", "foo@e8.example.com", PERMERROR,
	PERMERROR, NULL},
    {"bad-ip4-short", &z_ip4, MH, "1.2.3.4", "foo@e9.example.com", PERMERROR,
	PERMERROR, NULL},
    {"ip4-dual-cidr", &z_ip4, MH, "1.2.3.4", "foo@e6.example.com", PERMERROR,
	PERMERROR, NULL},
    {"ip4-mapped-ip6", &z_ip4, MH, "::FFFF:1.2.3.4", "foo@e7.example.com", FAIL,
	FAIL, NULL},
    /* IP6 mechanism syntax */
    {"bare-ip6", &z_ip6, MH, "1.2.3.4", "foo@e1.example.com", PERMERROR,
	PERMERROR, NULL},
    {"cidr6-0-ip4", &z_ip6, MH, "1.2.3.4", "foo@e2.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"cidr6-ip4", &z_ip6, MH, "::FFFF:1.2.3.4", "foo@e2.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"cidr6-0", &z_ip6, MH, "DEAF:BABE::CAB:FEE", "foo@e2.example.com", PASS,
	PASS, NULL},
    {"cidr6-129", &z_ip6, MH, "1.2.3.4", "foo@e3.example.com", PERMERROR,
	PERMERROR, NULL},
    {"cidr6-bad", &z_ip6, MH, "1.2.3.4", "foo@e4.example.com", PERMERROR,
	PERMERROR, NULL},
    {"cidr6-33", &z_ip6, MH, "CAFE:BABE:8000::", "foo@e5.example.com", PASS,
	PASS, NULL},
    {"cidr6-33-ip4", &z_ip6, MH, "1.2.3.4", "foo@e5.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"ip6-bad1", &z_ip6, MH, "1.2.3.4", "foo@e6.example.com", PERMERROR,
	PERMERROR, NULL},
    /* Semantics of exp and other modifiers */
    {"redirect-none", &z_mod, MH, "1.2.3.4", "foo@e10.example.com", PERMERROR,
	PERMERROR, NULL},
    {"redirect-cancels-exp", &z_mod, MH, "1.2.3.4", "foo@e1.example.com", FAIL,
	FAIL, ""},
    {"redirect-syntax-error", &z_mod, MH, "1.2.3.4", "foo@e17.example.com",
	PERMERROR, PERMERROR, NULL},
    {"include-ignores-exp", &z_mod, MH, "1.2.3.4", "foo@e7.example.com", FAIL,
	FAIL, "Correct!"},
    {"redirect-cancels-prior-exp", &z_mod, MH, "1.2.3.4", "foo@e3.example.com",
	FAIL, FAIL, "See me."},
    {"invalid-modifier", &z_mod, MH, "1.2.3.4", "foo@e5.example.com", PERMERROR,
	PERMERROR, NULL},
    {"empty-modifier-name", &z_mod, MH, "1.2.3.4", "foo@e6.example.com",
	PERMERROR, PERMERROR, NULL},
    {"dorky-sentinel", &z_mod, MH, "1.2.3.4", "Macro Error@e8.example.com",
	FAIL, FAIL, "Macro Error in implementation"},
    {"exp-multiple-txt", &z_mod, MH, "1.2.3.4", "foo@e11.example.com", FAIL,
	FAIL, ""},
    {"exp-no-txt", &z_mod, MH, "1.2.3.4", "foo@e22.example.com", FAIL, FAIL,
	""},
    {"exp-dns-error", &z_mod, MH, "1.2.3.4", "foo@e21.example.com", FAIL, FAIL,
	""},
    {"exp-empty-domain", &z_mod, MH, "1.2.3.4", "foo@e12.example.com",
	PERMERROR, PERMERROR, NULL},
    {"explanation-syntax-error", &z_mod, MH, "1.2.3.4", "foo@e13.example.com",
	FAIL, FAIL, ""},
    {"exp-syntax-error", &z_mod, MH, "1.2.3.4", "foo@e16.example.com",
	PERMERROR, PERMERROR, NULL},
    {"exp-twice", &z_mod, MH, "1.2.3.4", "foo@e14.example.com", PERMERROR,
	PERMERROR, NULL},
    {"redirect-empty-domain", &z_mod, MH, "1.2.3.4", "foo@e18.example.com",
	PERMERROR, PERMERROR, NULL},
    {"redirect-twice", &z_mod, MH, "1.2.3.4", "foo@e15.example.com", PERMERROR,
	PERMERROR, NULL},
    {"unknown-modifier-syntax", &z_mod, MH, "1.2.3.4", "foo@e9.example.com",
	PERMERROR, PERMERROR, NULL},
    {"default-modifier-obsolete", &z_mod, MH, "1.2.3.4", "foo@e19.example.com",
	NEUTRAL, NEUTRAL, NULL},
    {"default-modifier-obsolete2", &z_mod, MH, "1.2.3.4", "foo@e20.example.com",
	NEUTRAL, NEUTRAL, NULL},
    {"non-ascii-exp", &z_mod, "hosed", "1.2.3.4", "foobar@nonascii.example.com",
	FAIL, FAIL, ""},
    {"two-exp-records", &z_mod, "hosed", "1.2.3.4",
	"foobar@tworecs.example.com", FAIL, FAIL, ""},
    {"exp-void", &z_mod, MH, "1.2.3.4", "foo@e23.example.com", FAIL, FAIL,
	NULL},
    {"redirect-implicit", &z_mod, "e24.example.com", "192.0.2.2",
	"bar@e24.example.com", PASS, PASS, NULL},
    /* Macro expansion rules */
    {"trailing-dot-domain", &z_macro, MB, "192.168.218.40", "test@example.com",
	PASS, PASS, NULL},
    {"trailing-dot-exp", &z_macro, MB, "192.168.218.40", "test@exp.example.com",
	FAIL, FAIL, "This is a test."},
    {"exp-only-macro-char", &z_macro, MB, "192.168.218.40",
	"test@e2.example.com", PERMERROR, PERMERROR, NULL},
    {"invalid-macro-char", &z_macro, MB, "192.168.218.40",
	"test@e1.example.com", PERMERROR, PERMERROR, NULL},
    {"invalid-embedded-macro-char", &z_macro, MB, "192.168.218.40",
	"test@e1e.example.com", PERMERROR, PERMERROR, NULL},
    {"invalid-trailing-macro-char", &z_macro, MB, "192.168.218.40",
	"test@e1t.example.com", PERMERROR, PERMERROR, NULL},
    {"macro-mania-in-domain", &z_macro, MH, "1.2.3.4", "test@e1a.example.com",
	PASS, PASS, NULL},
    {"exp-txt-macro-char", &z_macro, MB, "192.168.218.40",
	"test@e3.example.com", FAIL, FAIL,
	"Connections from 192.168.218.40 not authorized."},
    {"domain-name-truncation", &z_macro, MB, "192.168.218.40",
	"test@somewhat.long.exp.example.com", FAIL, FAIL,
	"Congratulations!  That was tricky."},
    {"v-macro-ip4", &z_macro, MB, "192.168.218.40", "test@e4.example.com", FAIL,
	FAIL, "192.168.218.40 is queried as 40.218.168.192.in-addr.arpa"},
    /* The suite writes the nibbles in upper case; RFC 7208 7.4's own
     * example has them in lower case, as we do (DNS ignores case). */
    {"v-macro-ip6", &z_macro, MB, "CAFE:BABE::1", "test@e4.example.com", FAIL,
	FAIL,
	"cafe:babe::1 is queried as 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	"0.0.0.0.e.b.a.b.e.f.a.c.ip6.arpa"},
    {"undef-macro", &z_macro, MB, "CAFE:BABE::192.168.218.40",
	"test@e5.example.com", PERMERROR, PERMERROR, NULL},
    {"p-macro-ip4-novalid", &z_macro, MB, "192.168.218.40",
	"test@e6.example.com", FAIL, FAIL, "connect from unknown"},
    {"p-macro-ip4-valid", &z_macro, MB, "192.168.218.41", "test@e6.example.com",
	FAIL, FAIL, "connect from mx.example.com"},
    {"p-macro-ip6-novalid", &z_macro, MB, "CAFE:BABE::1", "test@e6.example.com",
	FAIL, FAIL, "connect from unknown"},
    {"p-macro-ip6-valid", &z_macro, MB, "CAFE:BABE::3", "test@e6.example.com",
	FAIL, FAIL, "connect from mx.example.com"},
    {"p-macro-multiple", &z_macro, MB, "192.168.218.42", "test@e7.example.com",
	PASS, SOFTFAIL, NULL},
    {"upper-macro", &z_macro, MB, "192.168.218.42",
	"~jack&jill=up-a_b3.c@e8.example.com", FAIL, FAIL,
	"http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c"},
    {"hello-macro", &z_macro, MB, "192.168.218.40", "test@e9.example.com", PASS,
	PASS, NULL},
    {"invalid-hello-macro", &z_macro, "JUMPIN' JUPITER", "192.168.218.40",
	"test@e9.example.com", FAIL, FAIL, NULL},
    {"hello-domain-literal", &z_macro, "[192.168.218.40]", "192.168.218.40",
	"test@e9.example.com", FAIL, FAIL, NULL},
    {"require-valid-helo", &z_macro, "OEMCOMPUTER", "1.2.3.4",
	"test@e10.example.com", FAIL, FAIL, NULL},
    {"macro-reverse-split-on-dash", &z_macro, MH, "1.2.3.4",
	"philip-gladstone-test@e11.example.com", PASS, PASS, NULL},
    {"macro-multiple-delimiters", &z_macro, MH, "1.2.3.4",
	"foo-bar+zip+quux@e12.example.com", PASS, PASS, NULL},
    /* Processing limits */
    {"redirect-loop", &z_limits, MH, "1.2.3.4", "foo@e1.example.com", PERMERROR,
	PERMERROR, NULL},
    {"include-loop", &z_limits, MH, "1.2.3.4", "foo@e2.example.com", PERMERROR,
	PERMERROR, NULL},
    {"mx-limit", &z_limits, MH, "1.2.3.5", "foo@e4.example.com", PERMERROR,
	PERMERROR, NULL},
    {"ptr-limit", &z_limits, MH, "1.2.3.5", "foo@e5.example.com", NEUTRAL, PASS,
	NULL},
    {"false-a-limit", &z_limits, MH, "1.2.3.12", "foo@e10.example.com", PASS,
	PASS, NULL},
    {"mech-at-limit", &z_limits, MH, "1.2.3.4", "foo@e6.example.com", PASS,
	PASS, NULL},
    {"mech-over-limit", &z_limits, MH, "1.2.3.4", "foo@e7.example.com",
	PERMERROR, PERMERROR, NULL},
    {"include-at-limit", &z_limits, MH, "1.2.3.4", "foo@e8.example.com", PASS,
	PASS, NULL},
    {"include-over-limit", &z_limits, MH, "1.2.3.4", "foo@e9.example.com",
	PERMERROR, PERMERROR, NULL},
    {"void-at-limit", &z_limits, MH, "1.2.3.4", "foo@e12.example.com", NEUTRAL,
	NEUTRAL, NULL},
    {"void-over-limit", &z_limits, MH, "1.2.3.4", "foo@e11.example.com",
	PERMERROR, PERMERROR, NULL},
    /* Test cases from implementation bugs */
    {"bytes-bug", &z_bugs, "example.org", "2001:db8:ff0:100::2",
	"test@example.org", PASS, PASS, NULL},
};

static void
run_scenario(const struct scenario *s)
{
	struct spf_outcome o;
	struct spf_ip ip;
	const char *at = strrchr(s->mailfrom, '@');
	const char *domain =
	    *s->mailfrom != '\0' && at != NULL ? at + 1 : s->helo;
	enum spf_result r;
	int ok;

	zone = *s->zone;
	CHECK(spf_ip_parse(s->host, &ip) == 0);
	r = spf_check_host(&table, &ip, domain, s->mailfrom, s->helo, &o);
	ok = r == s->result || r == s->alt;
	if (ok && s->explanation != NULL)
		ok = strcmp(o.explanation, s->explanation) == 0;
	if (!ok)
		fprintf(stderr, "scenario %s: got %s [%s] exp [%s] (%s)\n",
		    s->name, spf_result_name(r), o.problem, o.explanation,
		    o.mechanism);
	CHECK(ok);
	CHECK(r == o.result);
}

/* ---- the macro expander: RFC 7208 section 7.4's examples ---- */

static const struct {
	const char *in, *want;
} macros[] = {
    {"%{s}", "strong-bad@email.example.com"},
    {"%{o}", "email.example.com"},
    {"%{d}", "email.example.com"},
    {"%{d4}", "email.example.com"},
    {"%{d3}", "email.example.com"},
    {"%{d2}", "example.com"},
    {"%{d1}", "com"},
    {"%{dr}", "com.example.email"},
    {"%{d2r}", "example.email"},
    {"%{l}", "strong-bad"},
    {"%{l-}", "strong.bad"},
    {"%{lr}", "strong-bad"},
    {"%{lr-}", "bad.strong"},
    {"%{l1r-}", "strong"},
    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	"bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	"3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"%{d2}.trusted-domains.example.net",
	"example.com.trusted-domains.example.net"},
    {"%%%_%-", "% %20"},
    {"%{S}", "strong-bad%40email.example.com"},
    {"%{h}", "mx.example.org"},
    {"%{p}", "unknown"},
};

static const struct {
	const char *in, *why;
	int exp;
} bad_macros[] = {
    {"%", "'%' at the end", 0},
    {"%x", "'%' not followed by '{', '%', '_' or '-'", 0},
    {"%{", "unterminated macro", 0},
    {"%{d", "malformed macro", 0},
    {"%{x}", "invalid macro letter", 0},
    {"%{c}", "macro letter only allowed in exp text", 0},
    {"%{d0}", "macro digit transformer is zero", 0},
    {"%{d1234}", "macro digit transformer too large", 0},
    {"%{d2x}", "malformed macro", 0},
    {"a b", "invalid character", 0},
    {"%{x}", "invalid macro letter", 1},
};

static void
test_macros(void)
{
	struct spf_ip ip, ip6;
	struct spf_macro_ctx m = {"strong-bad@email.example.com",
	    "email.example.com", "mx.example.org", &ip, NULL, 0};
	char out[512];
	size_t i;

	CHECK(spf_ip_parse("192.0.2.3", &ip) == 0);
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		const char *why = spf_expand(&m, macros[i].in,
		    strlen(macros[i].in), 0, out, sizeof(out));
		CHECK(why == NULL);
		CHECK_STR(why == NULL ? out : why, macros[i].want);
	}
	for (i = 0; i < sizeof(bad_macros) / sizeof(bad_macros[0]); i++)
		CHECK_STR(spf_expand(&m, bad_macros[i].in,
			      strlen(bad_macros[i].in), bad_macros[i].exp, out,
			      sizeof(out)),
		    bad_macros[i].why);
	/* exp text: c, r, t and spaces are allowed there */
	m.now = 1234;
	CHECK(
	    spf_expand(&m, "%{c} %{r} %{t}", 14, 1, out, sizeof(out)) == NULL);
	CHECK_STR(out, "192.0.2.3 unknown 1234");
	/* IPv6, RFC 7208 7.4 */
	CHECK(spf_ip_parse("2001:db8::cb01", &ip6) == 0);
	m.ip = &ip6;
	CHECK(spf_expand(&m, "%{ir}.%{v}._spf.%{d2}", 21, 0, out,
		  sizeof(out)) == NULL);
	CHECK_STR(out,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	    "1.0.0.2.ip6._spf.example.com");
	/* A result that does not fit is an error, never cut short. */
	CHECK_STR(spf_expand(&m, "%{s}", 4, 0, out, 10),
	    "macro expansion too long");
}

/* ---- the record parser alone ---- */

static const struct {
	const char *rec, *why;
} records[] = {
    {"v=spf1", NULL},
    {"v=spf1 include:_spf.example.com ip4:192.0.2.0/24 ip6:2001:db8::/32 "
     "a mx:mx.example.com/24//64 ptr exists:%{i}.x.example.com "
     "redirect=_s.example.com exp=e.example.com ~all",
	NULL},
    {"v=spf2 -all", "not an SPF record"},
    {"v=spf1 ip4:192.0.2.300", "invalid IPv4 address"},
    {"v=spf1 ip6:2001:db8::/129", "invalid CIDR length"},
    {"v=spf1 a/33", "invalid CIDR length"},
    {"v=spf1 foo:bar", "unknown mechanism"},
    {"v=spf1 include:", "empty domain"},
    {"v=spf1 include:example", "domain has no top label"},
    {"v=spf1 a:example.123", "invalid top label"},
    {"v=spf1 redirect=a.example.com redirect=b.example.com",
	"modifier given twice"},
    {"v=spf1 -all\t", "character outside printable ASCII"},
    {"v=spf1 all:x", "\"all\" takes no argument"},
    {"v=spf1 exists", "missing \":domain\""},
    {"v=spf1 ip4", "missing address"},
};

static void
test_records(void)
{
	size_t i;

	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		const char *why =
		    spf_record_check(records[i].rec, strlen(records[i].rec));
		if (records[i].why == NULL)
			CHECK(why == NULL);
		else
			CHECK_STR(why, records[i].why);
	}
}

/* ---- what the doctor reads: matched term, warnings, problems ---- */

static const char *const z_doctor =
    "good.test|TXT|v=spf1 include:_spf.provider.test -all\n"
    "_spf.provider.test|TXT|v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all\n"
    "open.test|TXT|v=spf1 +all\n"
    "ptr.test|TXT|v=spf1 ptr -all\n"
    "loop-a.test|TXT|v=spf1 include:loop-b.test -all\n"
    "loop-b.test|TXT|v=spf1 include:loop-a.test -all\n"
    "broken.test|TXT|v=spf1 ip4:192.0.2.1/40 -all\n"
    "slow.test|TIMEOUT|\n"
    "inc-slow.test|TXT|v=spf1 include:slow.test -all\n"
    "mail.good.test|A|192.0.2.7\n"
    "mail.good.test|AAAA|2001:db8::7\n"
    "other.good.test|A|192.0.2.8\n";

static void
test_outcomes(void)
{
	struct spf_outcome o;
	struct spf_ip ip;

	zone = z_doctor;
	CHECK(spf_ip_parse("192.0.2.7", &ip) == 0);
	CHECK(spf_check_host(&table, &ip, "good.test", "a@good.test",
		  "h.good.test", &o) == SPF_PASS);
	CHECK_STR(o.mechanism, "ip4:192.0.2.0/24");
	CHECK_STR(o.domain, "_spf.provider.test");
	CHECK(o.lookups == 1 && o.nwarnings == 0);

	CHECK(spf_check_host(&table, &ip, "open.test", "a@open.test", "h",
		  &o) == SPF_PASS);
	CHECK(
	    o.nwarnings == 1 && strstr(o.warnings[0], "every address") != NULL);

	CHECK(spf_check_host(&table, &ip, "ptr.test", "a@ptr.test", "h", &o) ==
	      SPF_FAIL);
	CHECK(o.nwarnings == 1 && strstr(o.warnings[0], "deprecated") != NULL);
	CHECK_STR(o.mechanism, "-all");

	CHECK(spf_check_host(&table, &ip, "loop-a.test", "a@loop-a.test", "h",
		  &o) == SPF_PERMERROR);
	CHECK(strstr(o.problem, "more than 10 DNS lookups") != NULL);
	CHECK(strstr(o.problem, "loop-a.test -> loop-b.test -> loop-a.test") !=
	      NULL);
	CHECK(o.nwarnings == 1 && strstr(o.warnings[0], "loop") != NULL);

	CHECK(spf_check_host(&table, &ip, "broken.test", "a@broken.test", "h",
		  &o) == SPF_PERMERROR);
	CHECK_STR(o.problem,
	    "broken.test: syntax error: invalid CIDR length in "
	    "\"ip4:192.0.2.1/40\"");

	/* A timeout is a temperror that says so, never "no record". */
	CHECK(spf_check_host(&table, &ip, "slow.test", "a@slow.test", "h",
		  &o) == SPF_TEMPERROR);
	CHECK_STR(o.problem, "slow.test: TXT lookup: timeout");
	CHECK(spf_check_host(&table, &ip, "inc-slow.test", "a@inc-slow.test",
		  "h", &o) == SPF_TEMPERROR);
	CHECK(strstr(o.problem, "timeout") != NULL);
	CHECK(spf_check_host(&table, &ip, "nowhere.test", "a@nowhere.test", "h",
		  &o) == SPF_NONE);
	CHECK(strstr(o.problem, "no SPF record") != NULL);

	/* Forward confirmation (the doctor's and --inspect's FCrDNS). */
	CHECK(spf_name_has_ip(&table, "mail.good.test", &ip) == 1);
	CHECK(spf_name_has_ip(&table, "other.good.test", &ip) == 0);
	CHECK(spf_name_has_ip(&table, "nowhere.test", &ip) == 0);
	CHECK(spf_name_has_ip(&table, "slow.test", &ip) == -1);
	CHECK(spf_ip_parse("2001:db8::7", &ip) == 0);
	CHECK(spf_name_has_ip(&table, "mail.good.test", &ip) == 1);
	CHECK(spf_name_has_ip(&table, "other.good.test", &ip) == 0);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i]);
	printf("RFC 7208 suite: %zu scenarios\n",
	    sizeof(scenarios) / sizeof(scenarios[0]));
	test_macros();
	test_records();
	test_outcomes();
	return check_done();
}
