/*
 * Unit tests for dmarc.c: the record (RFC 7489 6.3), the organisational
 * domain from Debian's Public Suffix List, alignment, and policy
 * discovery with the fallback, answered by a table resolver.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "dmarc.h"
#include "dns.h"

static const struct {
	const char *rec;
	const char *why; /* NULL: valid */
	enum dmarc_policy p, sp;
	unsigned pct;
	int adkim_strict, aspf_strict;
	size_t nrua, nruf;
} records[] = {
    {"v=DMARC1; p=reject", NULL, DMARC_P_REJECT, DMARC_P_REJECT, 100, 0, 0, 0,
	0},
    {"v=DMARC1;p=none;sp=quarantine;pct=20", NULL, DMARC_P_NONE,
	DMARC_P_QUARANTINE, 20, 0, 0, 0, 0},
    {"v=DMARC1 ; p = quarantine ; adkim=s; aspf=s;", NULL, DMARC_P_QUARANTINE,
	DMARC_P_QUARANTINE, 100, 1, 1, 0, 0},
    {"v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:e@example.net!10m;"
     " ruf=mailto:f@example.com; fo=1:d:s; ri=3600; rf=afrf; x=ignored",
	NULL, DMARC_P_REJECT, DMARC_P_REJECT, 100, 0, 0, 2, 1},
    {"v=DMARC1; P=REJECT", "no p= tag", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=Reject", NULL, DMARC_P_REJECT, DMARC_P_REJECT, 100, 0, 0, 0,
	0},
    {"v=dmarc1; p=reject", "does not start with v=DMARC1", 0, 0, 0, 0, 0, 0, 0},
    {"p=reject; v=DMARC1", "does not start with v=DMARC1", 0, 0, 0, 0, 0, 0, 0},
    {" v=DMARC1; p=reject", "does not start with v=DMARC1", 0, 0, 0, 0, 0, 0,
	0},
    {"v=DMARC1", "no p= tag", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=block", "expected none, quarantine or reject", 0, 0, 0, 0, 0,
	0, 0},
    {"v=DMARC1; p=none; sp=maybe", "expected none, quarantine or reject", 0, 0,
	0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; pct=101", "expected 0 to 100", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; pct=-1", "expected 0 to 100", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; adkim=x", "expected r (relaxed) or s (strict)", 0, 0, 0,
	0, 0, 0, 0},
    {"v=DMARC1; p=none; rua=d@example.com",
	"not a URI (expected mailto:ADDRESS)", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; rua=mailto:", "mailto: without an address", 0, 0, 0, 0,
	0, 0, 0},
    {"v=DMARC1; p=none; rua=mailto:a@example.com!x", "bad size limit after '!'",
	0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; rua=mailto:a@example.com,", "an empty URI", 0, 0, 0, 0,
	0, 0, 0},
    {"v=DMARC1; p=none; ruf=mailto:a b@example.com",
	"a URI with a blank or non-ASCII character", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; fo=2", "expected 0, 1, d or s, separated by ':'", 0, 0,
	0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; fo=1:", "expected 0, 1, d or s, separated by ':'", 0, 0,
	0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; p=reject", "a tag given twice", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; v=DMARC1", "v= must be the first tag only", 0, 0, 0, 0,
	0, 0, 0},
    {"v=DMARC1; p=none; junk", "a tag without '='", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none; rf=iodef", "expected afrf", 0, 0, 0, 0, 0, 0, 0},
    {"v=DMARC1; p=none\r\n", "a control character in the record", 0, 0, 0, 0, 0,
	0, 0},
};

static void
test_records(void)
{
	struct dmarc_record r;
	size_t i;

	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		const char *why =
		    dmarc_parse(records[i].rec, strlen(records[i].rec), &r);
		if (records[i].why != NULL) {
			CHECK_STR(why, records[i].why);
			continue;
		}
		CHECK(why == NULL);
		if (why != NULL) {
			fprintf(stderr, "  %s: %s\n", records[i].rec, why);
			continue;
		}
		CHECK(r.p == records[i].p && r.sp == records[i].sp);
		CHECK(r.pct == records[i].pct);
		CHECK((r.adkim == DMARC_STRICT) == records[i].adkim_strict);
		CHECK((r.aspf == DMARC_STRICT) == records[i].aspf_strict);
		CHECK(r.nrua == records[i].nrua && r.nruf == records[i].nruf);
	}
	CHECK(dmarc_parse(records[3].rec, strlen(records[3].rec), &r) == NULL);
	CHECK_STR(r.rua[1], "mailto:e@example.net!10m");
	CHECK_STR(r.fo, "1:d:s");
	CHECK(r.ri == 3600);
}

static const struct {
	const char *domain, *org;
} orgs[] = {
    {"example.com", "example.com"}, {"mail.example.com", "example.com"},
    {"a.b.c.Example.COM.", "example.com"},
    {"www.example.co.uk", "example.co.uk"}, {"example.co.uk", "example.co.uk"},
    {"co.uk", "co.uk"}, {"mail.example.test", "example.test"},
    {"foo.github.io", "foo.github.io"}, /* a private-section suffix */
};

static const struct {
	const char *id, *from;
	enum dmarc_align mode;
	int want;
} aligns[] = {
    {"example.com", "example.com", DMARC_STRICT, 1},
    {"Example.com", "example.COM", DMARC_STRICT, 1},
    {"mail.example.com", "example.com", DMARC_STRICT, 0},
    {"mail.example.com", "example.com", DMARC_RELAXED, 1},
    {"a.example.com", "b.example.com", DMARC_RELAXED, 1},
    {"example.net", "example.com", DMARC_RELAXED, 0},
    {"example.co.uk", "other.co.uk", DMARC_RELAXED, 0},
    {"a.foo.github.io", "bar.github.io", DMARC_RELAXED, 0},
    {"bounces.provider.test", "example.test", DMARC_RELAXED, 0},
};

static void
test_org_align(void)
{
	char org[256];
	size_t i;

	for (i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
		CHECK(dmarc_org_domain(orgs[i].domain, org, sizeof(org)) == 0);
		CHECK_STR(org, orgs[i].org);
	}
	CHECK(dmarc_org_domain("", org, sizeof(org)) == -1);
	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		int got =
		    dmarc_aligned(aligns[i].id, aligns[i].from, aligns[i].mode);
		if (got != aligns[i].want)
			fprintf(stderr, "align %s %s: got %d\n", aligns[i].id,
			    aligns[i].from, got);
		CHECK(got == aligns[i].want);
	}
}

/* ---- discovery through a table resolver ---- */

static const struct {
	const char *name, *txt; /* txt "TIMEOUT"/"SERVFAIL": that outcome */
} zone[] = {
    {"_dmarc.example.test", "v=DMARC1; p=reject; sp=quarantine"},
    {"_dmarc.sub.example.test", "v=DMARC1; p=none"},
    {"_dmarc.none.test", "v=DMARC1; p=none; rua=mailto:r@none.test"},
    {"_dmarc.two.test", "v=DMARC1; p=none"},
    {"_dmarc.two.test", "v=DMARC1; p=reject"},
    {"_dmarc.bad.test", "v=DMARC1; p=maybe"},
    {"_dmarc.other.test", "not dmarc"},
    {"_dmarc.slow.test", "TIMEOUT"},
    {"_dmarc.broken.test", "SERVFAIL"},
};

static enum dns_status
table_lookup(void *arg, const char *name, enum dns_type type,
    struct dns_answer *ans)
{
	size_t i;

	(void)arg;
	memset(ans, 0, sizeof(*ans));
	CHECK(type == DNS_T_TXT);
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		struct dns_rr rr;

		if (ascii_casecmp(zone[i].name, name) != 0)
			continue;
		if (strcmp(zone[i].txt, "TIMEOUT") == 0 ||
		    strcmp(zone[i].txt, "SERVFAIL") == 0) {
			ans->status =
			    zone[i].txt[0] == 'T' ? DNS_TIMEOUT : DNS_SERVFAIL;
			str_copy(ans->why, dns_status_name(ans->status),
			    sizeof(ans->why));
			return ans->status;
		}
		memset(&rr, 0, sizeof(rr));
		rr.text = (char *)(uintptr_t)zone[i].txt;
		rr.len = strlen(zone[i].txt);
		CHECK(dns_answer_add(ans, &rr) == 0);
	}
	ans->status = ans->nrr > 0 ? DNS_FOUND : DNS_NXDOMAIN;
	return ans->status;
}

static void
test_lookup(void)
{
	struct dns_resolver r = {table_lookup, NULL};
	struct dmarc_result d;

	CHECK(dmarc_lookup(&r, "example.test", &d) == DMARC_FOUND);
	CHECK(d.policy == DMARC_P_REJECT && !d.fallback);
	CHECK_STR(d.where, "_dmarc.example.test");
	/* a subdomain without its own record: the org's sp= applies */
	CHECK(dmarc_lookup(&r, "mail.example.test", &d) == DMARC_FOUND);
	CHECK(d.policy == DMARC_P_QUARANTINE && d.fallback);
	CHECK_STR(d.where, "_dmarc.example.test");
	CHECK_STR(d.org, "example.test");
	/* its own record wins */
	CHECK(dmarc_lookup(&r, "sub.example.test", &d) == DMARC_FOUND);
	CHECK(d.policy == DMARC_P_NONE && !d.fallback);
	CHECK(dmarc_lookup(&r, "none.test", &d) == DMARC_FOUND);
	CHECK(d.policy == DMARC_P_NONE && d.rec.nrua == 1);
	CHECK(dmarc_lookup(&r, "two.test", &d) == DMARC_MULTIPLE);
	CHECK(strstr(d.problem, "2 DMARC records") != NULL);
	CHECK(dmarc_lookup(&r, "bad.test", &d) == DMARC_INVALID);
	CHECK_STR(d.problem, "_dmarc.bad.test: invalid record: expected none, "
			     "quarantine or reject");
	CHECK(dmarc_lookup(&r, "other.test", &d) == DMARC_MISSING);
	CHECK(dmarc_lookup(&r, "mail.nowhere.test", &d) == DMARC_MISSING);
	CHECK_STR(d.problem, "no DMARC record at _dmarc.mail.nowhere.test nor "
			     "at _dmarc.nowhere.test");
	/* a timeout or SERVFAIL is never "no record" */
	CHECK(dmarc_lookup(&r, "slow.test", &d) == DMARC_TEMP);
	CHECK_STR(d.problem, "_dmarc.slow.test: TXT lookup: timeout");
	CHECK(dmarc_lookup(&r, "a.broken.test", &d) == DMARC_TEMP);
	CHECK(strstr(d.problem, "_dmarc.broken.test") != NULL);
}

int
main(void)
{
	test_records();
	test_org_align();
	test_lookup();
	return check_done();
}
