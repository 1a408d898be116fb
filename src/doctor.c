/*
 * doctor.c -- reports assembled from the modules below (issue 13).
 *
 * For now the sender-domain part only, as "postseal --check-domain DOMAIN
 * --ip ADDRESS": SPF of the envelope sender's domain for the address mail
 * leaves from (RFC 7208, spf.c), DMARC of the From domain with the
 * organisational-domain fallback (dmarc.c), and SPF/DKIM alignment with
 * From.  One line per finding, "AREA: ok|warning|error: text", with the
 * fix where there is one.  --doctor will run the same checks for the
 * account's From and envelope sender and its smarthosts' addresses.
 *
 * Lookups use the account's dns_server when a configuration is found,
 * else the system's resolvers; DNS trouble is reported as "could not
 * check", never as a missing record.  Both reports end with the DNSSEC
 * status of the answers they used (report_dnssec()).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "doctor.h"
#include "e2e.h"
#include "log.h"
#include "oauth2.h"
#include "smtp.h"
#include "spf.h"
#include "tls.h"

struct report {
	FILE *out;
	unsigned errors, warnings;
	int json;	     /* --doctor --json: findings collected in js */
	const char *section; /* --doctor: "account", a smarthost, "domain" */
	struct buf js;
	unsigned njs;
	const char *dns_server; /* the account's, or NULL: the system's */
};

/* A JSON string of printable ASCII text (finding() made it so). */
static void
json_str(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_printf(b, "\"");
	for (i = 0; i < n && s[i] != '\0'; i++)
		buf_printf(b, "%s%c", s[i] == '"' || s[i] == '\\' ? "\\" : "",
		    s[i]);
	buf_printf(b, "\"");
}

static void
json_finding(struct report *rp, const char *area, const char *sev,
    const char *text)
{
	const char *fix = strstr(text, "; fix: ");

	buf_printf(&rp->js, "%s\n    {\"section\": ", rp->njs++ ? "," : "");
	json_str(&rp->js, rp->section != NULL ? rp->section : "domain",
	    (size_t)-1);
	buf_printf(&rp->js, ", \"area\": ");
	json_str(&rp->js, area, (size_t)-1);
	buf_printf(&rp->js, ", \"severity\": \"%s\", \"text\": ", sev);
	json_str(&rp->js, text,
	    fix != NULL ? (size_t)(fix - text) : strlen(text));
	buf_printf(&rp->js, ", \"fix\": ");
	if (fix != NULL)
		json_str(&rp->js, fix + 7, (size_t)-1);
	else
		buf_printf(&rp->js, "null");
	buf_printf(&rp->js, "}");
}

static void finding(struct report *rp, const char *area, int sev,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* sev: 0 ok, 1 warning, 2 error */
static void
finding(struct report *rp, const char *area, int sev, const char *fmt, ...)
{
	static const char *const names[] = {"ok", "warning", "error"};
	char text[1024];
	va_list ap;
	size_t i;

	if (sev == 1)
		rp->warnings++;
	else if (sev == 2)
		rp->errors++;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Names and texts come from DNS: nothing unprintable reaches the
	 * terminal (SECURITY.md S6). */
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < ' ' ||
		    (unsigned char)text[i] >= 0x7f)
			text[i] = '?';
	if (rp->json)
		json_finding(rp, area, names[sev], text);
	else
		fprintf(rp->out, "%s: %s: %s\n", area, names[sev], text);
}

static void verdict(struct report *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a receiver concludes: not a finding, counted nowhere. */
static void
verdict(struct report *rp, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (rp->json)
		json_finding(rp, "verdict", "info", text);
	else
		fprintf(rp->out, "verdict: %s\n", text);
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

/*
 * The fix for a DNS failure (SERVFAIL, a timeout): the name servers of
 * name must answer the resolver the doctor asked.  Into out, with the
 * "; fix: " that starts it.
 */
static const char *
dns_fix(const struct report *rp, const char *name, char *out, size_t outsize)
{
	snprintf(out, outsize,
	    "; fix: check that the name servers of %s answer (asked through "
	    "%s%s), then run the check again",
	    name, rp->dns_server != NULL ? "dns_server " : "",
	    rp->dns_server != NULL ? rp->dns_server : "the system's resolvers");
	return out;
}

/*
 * The fix for an SPF permerror, by the reason spf.c gave: its problem
 * text is "DOMAIN: WHY", and the WHYs are spf.c's own fixed phrases.
 */
static const char *
spf_permerror_fix(const struct spf_outcome *o, char *out, size_t outsize)
{
	const char *p = o->problem, *colon = strstr(p, ": "), *q;
	char dom[SPF_TEXT];

	snprintf(dom, sizeof(dom), "%.*s",
	    colon != NULL ? (int)(colon - p) : (int)strlen(p), p);
	if (strstr(p, "; loop: ") != NULL)
		snprintf(out, outsize,
		    "remove the include: or redirect= that leads back to a "
		    "record already evaluated (the loop above)");
	else if (strstr(p, "DNS lookups") != NULL)
		snprintf(out, outsize,
		    "replace include:, a, mx, ptr and exists terms in the "
		    "record of %s with the ip4:/ip6: ranges they stand for "
		    "until at most %d lookups remain",
		    dom, SPF_MAX_LOOKUPS);
	else if (strstr(p, "void lookups") != NULL)
		snprintf(out, outsize,
		    "remove the terms naming domains that do not exist (or "
		    "have no address) from the record of %s",
		    dom);
	else if (strstr(p, "SPF records (there must be one)") != NULL)
		snprintf(out, outsize, "merge the SPF records of %s into one",
		    dom);
	else if (strstr(p, "has no SPF record") != NULL)
		snprintf(out, outsize,
		    "remove that term from the record of %s, or publish an "
		    "SPF record at the domain it names",
		    dom);
	else if (strstr(p, "MX records") != NULL)
		snprintf(out, outsize,
		    "list the mail hosts' addresses with ip4:/ip6: instead "
		    "of mx in the record of %s",
		    dom);
	else if ((q = strstr(p, "syntax error: ")) != NULL &&
		 (q = strstr(q, " in \"")) != NULL)
		snprintf(out, outsize,
		    "correct the term %s in the SPF record of %s (RFC 7208 "
		    "section 12 gives the syntax)",
		    q + 4, dom);
	else
		snprintf(out, outsize,
		    "correct the SPF record of %s (RFC 7208 section 12 gives "
		    "the syntax)",
		    dom);
	return out;
}

static void
report_spf_result(struct report *rp, const struct spf_outcome *o,
    const char *ip, const char *sender)
{
	char fix[512], dom[SPF_TEXT];
	const char *colon = strstr(o->problem, ": ");

	const char *d = domain_of(sender);
	const char *kind = strchr(ip, ':') != NULL ? "ip6" : "ip4";

	switch (o->result) {
	case SPF_PASS:
		finding(rp, "spf", 0,
		    "pass for %s as %s (%s in %s; %u of %d "
		    "DNS lookups)",
		    ip, sender, o->mechanism, o->domain, o->lookups,
		    SPF_MAX_LOOKUPS);
		break;
	case SPF_NONE:
		finding(rp, "spf", 2,
		    "none: %s; fix: publish a TXT record at "
		    "%s: \"v=spf1 %s:%s -all\"",
		    o->problem, d, kind, ip);
		break;
	case SPF_TEMPERROR:
		/* the domain whose lookup failed: the problem's "DOMAIN: " */
		snprintf(dom, sizeof(dom), "%.*s",
		    colon != NULL ? (int)(colon - o->problem) : (int)strlen(d),
		    colon != NULL ? o->problem : d);
		finding(rp, "spf", 2,
		    "temperror: could not check (%s); this "
		    "is a DNS failure, not a missing "
		    "record%s",
		    o->problem, dns_fix(rp, dom, fix, sizeof(fix)));
		break;
	case SPF_PERMERROR:
		finding(rp, "spf", 2,
		    "permerror: %s; receivers treat the "
		    "record as broken; fix: %s",
		    o->problem, spf_permerror_fix(o, fix, sizeof(fix)));
		break;
	default:
		finding(rp, "spf", 2,
		    "%s for %s as %s (%s): %s does not "
		    "authorise this address; fix: add %s:%s "
		    "(or your provider's include:) to the "
		    "SPF record of %s",
		    spf_result_name(o->result), ip, sender,
		    o->mechanism[0] != '\0' ? o->mechanism : "no term matched",
		    d, kind, ip, d);
		break;
	}
}

static void
report_spf(struct report *rp, const struct dns_resolver *r, const char *ip,
    const char *sender, const char *helo, enum spf_result *res)
{
	struct spf_outcome o;
	struct spf_ip addr;
	size_t i;

	if (spf_ip_parse(ip, &addr) == -1) {
		finding(rp, "spf", 2, "%s is not an IP address", ip);
		*res = SPF_PERMERROR;
		return;
	}
	*res = spf_check_host(r, &addr, domain_of(sender), sender, helo, &o);
	report_spf_result(rp, &o, ip, sender);
	for (i = 0; i < o.nwarnings; i++)
		finding(rp, "spf", 1, "%s", o.warnings[i]);
	if (o.lookups >= SPF_MAX_LOOKUPS - 2 && o.lookups <= SPF_MAX_LOOKUPS)
		finding(rp, "spf", 1,
		    "%u of %d DNS lookups used: one more "
		    "include will break the record; fix: replace an include: "
		    "with the ip4:/ip6: ranges it stands for",
		    o.lookups, SPF_MAX_LOOKUPS);
	if (o.void_lookups > 0 && o.void_lookups <= SPF_MAX_VOID_LOOKUPS)
		finding(rp, "spf", 1,
		    "%u lookup(s) found nothing (the limit "
		    "is %d); fix: remove terms naming domains "
		    "that do not exist",
		    o.void_lookups, SPF_MAX_VOID_LOOKUPS);
}

static void
report_dmarc_record(struct report *rp, const struct dmarc_result *d)
{
	const struct dmarc_record *rec = &d->rec;

	finding(rp, "dmarc", d->policy == DMARC_P_NONE ? 1 : 0,
	    "p=%s%s applies (from %s%s; adkim=%c aspf=%c pct=%u; DNSSEC %s)%s",
	    dmarc_policy_name(d->policy), d->fallback ? " (sp=)" : "", d->where,
	    d->fallback ? ", the organisational domain" : "",
	    rec->adkim == DMARC_STRICT ? 's' : 'r',
	    rec->aspf == DMARC_STRICT ? 's' : 'r', rec->pct,
	    dns_sec_name(d->sec),
	    d->policy == DMARC_P_NONE
		? ": receivers take no action on mail that fails; fix: once "
		  "the reports look clean, publish p=quarantine or p=reject"
		: "");
	if (rec->pct < 100)
		finding(rp, "dmarc", 1,
		    "pct=%u: the policy applies to only "
		    "%u%% of failing mail; fix: remove pct= from the record "
		    "at %s",
		    rec->pct, rec->pct, d->where);
	if (rec->nrua == 0)
		finding(rp, "dmarc", 1,
		    "no rua=: you receive no aggregate "
		    "reports; fix: add rua=mailto:ADDRESS to the record at %s",
		    d->where);
}

/* One alignment finding; a misalignment is an error unless the other
 * identifier aligns (DMARC needs one of the two), a warning then. */
static void
report_align(struct report *rp, const char *what, const char *id,
    const char *from, enum dmarc_align mode, int aligned, int other)
{
	const char *how = mode == DMARC_STRICT ? "strict" : "relaxed";

	if (aligned == 1)
		finding(rp, "dmarc", 0, "%s %s aligns with From domain %s (%s)",
		    what, id, from, how);
	else if (aligned == 0)
		finding(rp, "dmarc", other == 1 ? 1 : 2,
		    "%s %s does not align with From domain %s (%s alignment); "
		    "fix: %s %s%s",
		    what, id, from, how,
		    strncmp(what, "DKIM", 4) == 0
			? "sign with dkim_domain"
			: "send with an envelope sender (from) at",
		    from,
		    mode == DMARC_STRICT ? ""
					 : " or a subdomain of its "
					   "organisational domain");
	else
		finding(rp, "dmarc", 1,
		    "%s %s cannot be compared with From domain %s (no Public "
		    "Suffix List); fix: install the publicsuffix package",
		    what, id, from);
}

static void
report_dmarc(struct report *rp, const struct dns_resolver *r, const char *from,
    const char *sender, enum spf_result spf, const struct account *a)
{
	struct dmarc_result d;
	int spf_aligned, dkim_aligned;
	char fix[512];

	switch (dmarc_lookup(r, from, &d)) {
	case DMARC_FOUND:
		report_dmarc_record(rp, &d);
		break;
	case DMARC_MISSING:
		finding(rp, "dmarc", 2,
		    "%s; fix: publish a TXT record at "
		    "_dmarc.%s: \"v=DMARC1; p=none; "
		    "rua=mailto:dmarc-reports@%s\", then "
		    "move to p=quarantine",
		    d.problem, d.org, d.org);
		return;
	case DMARC_TEMP:
		if (strstr(d.problem, "Public Suffix") != NULL)
			finding(rp, "dmarc", 2,
			    "could not check (%s); fix: install the "
			    "publicsuffix package",
			    d.problem);
		else
			finding(rp, "dmarc", 2,
			    "could not check (%s); this is a DNS "
			    "failure, not a missing record%s",
			    d.problem, dns_fix(rp, from, fix, sizeof(fix)));
		return;
	default:
		finding(rp, "dmarc", 2,
		    "%s; fix: publish one valid TXT record at %s, such as "
		    "\"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"",
		    d.problem, d.where, d.org);
		return;
	}
	/* -2: not applicable (SPF did not pass; no DKIM key) */
	spf_aligned = spf == SPF_PASS
			  ? dmarc_aligned(domain_of(sender), from, d.rec.aspf)
			  : -2;
	dkim_aligned = a != NULL && a->dkim_domain != NULL
			   ? dmarc_aligned(a->dkim_domain, from, d.rec.adkim)
			   : -2;
	if (spf_aligned != -2)
		report_align(rp, "SPF-authenticated envelope domain",
		    domain_of(sender), from, d.rec.aspf, spf_aligned,
		    dkim_aligned);
	if (dkim_aligned != -2)
		report_align(rp, "DKIM d=", a->dkim_domain, from, d.rec.adkim,
		    dkim_aligned, spf_aligned);
	/* What a receiver concludes (not a finding of its own). */
	if (spf_aligned == 1)
		verdict(rp, "DMARC passes on aligned SPF%s",
		    dkim_aligned == 1
			? " and on the aligned DKIM signature the "
			  "account adds"
			: "; an aligned DKIM signature would also "
			  "survive forwarding");
	else
		verdict(rp,
		    "DMARC passes only with a valid DKIM "
		    "signature aligned with %s%s; otherwise "
		    "receivers apply p=%s",
		    from,
		    dkim_aligned == 1 ? " (the account signs with one)" : "",
		    dmarc_policy_name(d.policy));
}

/* MX of the From domain: where replies and bounces go. */
static void
report_mx(struct report *rp, const struct dns_resolver *r, const char *from)
{
	struct dns_answer a;
	enum dns_status s = r->lookup(r->arg, from, DNS_T_MX, &a);
	struct buf list;
	char fix[512];
	size_t i;

	buf_init(&list, 200);
	for (i = 0; s == DNS_FOUND && i < a.nrr && i < 4; i++)
		buf_printf(&list, "%s%s", i > 0 ? ", " : "", a.rr[i].text);
	if (s == DNS_FOUND && a.nrr == 1 && a.rr[0].text[0] == '\0')
		finding(rp, "mx", 2,
		    "%s has a null MX (RFC 7505): replies and "
		    "bounces to it cannot be delivered; fix: replace it with "
		    "an MX record naming the host that receives mail for %s",
		    from, from);
	else if (s == DNS_FOUND)
		finding(rp, "mx", 0, "%s: %zu MX record(s): %s%s", from, a.nrr,
		    list.data != NULL ? list.data : "",
		    a.nrr > 4 ? ", ..." : "");
	else if (s == DNS_NXDOMAIN || s == DNS_NODATA)
		finding(rp, "mx", 1,
		    "%s has no MX record (%s): replies and "
		    "bounces go to its address records, if "
		    "any; fix: publish an MX record for %s naming the host "
		    "that receives its mail",
		    from, dns_status_name(s), from);
	else
		finding(rp, "mx", 2,
		    "could not check the MX of %s (%s); this "
		    "is a DNS failure, not a missing record%s",
		    from, a.why, dns_fix(rp, from, fix, sizeof(fix)));
	buf_reset(&list);
	dns_answer_free(&a);
}

/* Reverse DNS of the sending address, forward-confirmed (FCrDNS). */
static void
report_rdns(struct report *rp, const struct dns_resolver *r, const char *ip)
{
	struct spf_ip addr;
	struct dns_answer a;
	char rev[80], fix[512];
	enum dns_status s;
	size_t i;
	int hit = 0, failed = 0, h;

	if (spf_ip_parse(ip, &addr) == -1)
		return;
	dns_reverse_name(addr.family, addr.addr, rev, sizeof(rev));
	s = r->lookup(r->arg, rev, DNS_T_PTR, &a);
	for (i = 0; s == DNS_FOUND && i < a.nrr && i < 10 && !hit; i++) {
		if ((h = spf_name_has_ip(r, a.rr[i].text, &addr)) == 1)
			hit = 1, finding(rp, "rdns", 0,
				     "%s is %s "
				     "(forward-confirmed)",
				     ip, a.rr[i].text);
		failed |= h == -1;
	}
	if (s == DNS_NXDOMAIN || s == DNS_NODATA)
		finding(rp, "rdns", 2,
		    "%s has no reverse DNS (%s): large "
		    "mailbox providers refuse such mail; "
		    "fix: ask the owner of the address for a "
		    "PTR record naming a host that resolves "
		    "back to it",
		    ip, dns_status_name(s));
	else if (s != DNS_FOUND || (!hit && failed))
		finding(rp, "rdns", 2,
		    "could not check the reverse DNS of %s "
		    "(%s); this is a DNS failure, not a "
		    "missing record%s",
		    ip, s != DNS_FOUND ? a.why : "address lookup failed",
		    dns_fix(rp, s != DNS_FOUND ? rev : a.rr[0].text, fix,
			sizeof(fix)));
	else if (!hit)
		finding(rp, "rdns", 2,
		    "%s is %s, which does not resolve back "
		    "to it (not forward-confirmed); fix: "
		    "give %s an address record for %s",
		    ip, a.rr[0].text, a.rr[0].text, ip);
	dns_answer_free(&a);
}

/*
 * ---- DNSSEC status of the answers (issue 13) ----
 *
 * The doctor looks names up through a recording wrapper of its resolver
 * (as inspect.c wraps one with a budget): each distinct (name, type) it
 * asked for an area (spf, dkim, ...), with the answer's status and
 * dns.c's DNSSEC status of it.  report_dnssec() then says per area which
 * answers were secure or insecure, each bogus one as an error, and
 * whether the resolver validates at all.
 */

#define DOCTOR_MAX_SEEN 96

struct seen {
	char name[256];
	enum dns_type type;
	enum dns_status status;
	enum dns_sec sec;
	const char *area;
	char why[160];
};

struct dnsrec {
	struct dns_resolver inner;
	const char *area; /* what the lookups are for now */
	struct seen seen[DOCTOR_MAX_SEEN];
	size_t nseen, nmore; /* nmore: distinct answers past seen[] */
	unsigned nsecure, ninsecure, nbogus;
};

static enum dns_status
rec_lookup(void *arg, const char *name, enum dns_type type,
    struct dns_answer *ans)
{
	struct dnsrec *rc = arg;
	enum dns_status s = rc->inner.lookup(rc->inner.arg, name, type, ans);
	const char *area = rc->area != NULL ? rc->area : "dns";
	struct seen *sn;
	size_t i;

	/* A failed lookup says nothing of DNSSEC (reported as a failure
	 * already); a bogus one does. */
	if (dns_status_temporary(s) && s != DNS_BOGUS)
		return s;
	for (i = 0; i < rc->nseen; i++)
		if (rc->seen[i].type == type &&
		    strcmp(rc->seen[i].area, area) == 0 &&
		    ascii_casecmp(rc->seen[i].name, name) == 0)
			return s;
	if (s == DNS_BOGUS || ans->sec == DNS_SEC_BOGUS)
		rc->nbogus++;
	else if (ans->sec == DNS_SECURE)
		rc->nsecure++;
	else
		rc->ninsecure++;
	if (rc->nseen == DOCTOR_MAX_SEEN) {
		rc->nmore++;
		return s;
	}
	sn = &rc->seen[rc->nseen++];
	str_copy(sn->name, name, sizeof(sn->name));
	sn->type = type;
	sn->status = s;
	sn->sec = s == DNS_BOGUS ? DNS_SEC_BOGUS : ans->sec;
	sn->area = area;
	str_copy(sn->why, ans->why, sizeof(sn->why));
	return s;
}

static const char *
type_name(enum dns_type t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_SRV:
		return "SRV";
	case DNS_T_TLSA:
		return "TLSA";
	}
	return "?";
}

/* The answers of area with DNSSEC status sec, as "TXT name, ..." */
static size_t
seen_list(const struct dnsrec *rc, const char *area, enum dns_sec sec,
    struct buf *b)
{
	size_t i, n = 0;

	for (i = 0; i < rc->nseen; i++) {
		const struct seen *sn = &rc->seen[i];

		if (sn->sec != sec || strcmp(sn->area, area) != 0)
			continue;
		if (n++ < 8)
			buf_printf(b, "%s%s %s%s", n > 1 ? ", " : "",
			    type_name(sn->type), sn->name,
			    sn->status == DNS_NXDOMAIN ? " (no such name)"
			    : sn->status == DNS_NODATA ? " (no data)"
						       : "");
	}
	if (n > 8)
		buf_printf(b, ", and %zu more", n - 8);
	return n;
}

/* anchor: the account's dns_trust_anchor, or NULL */
static void
report_dnssec(struct report *rp, const struct dnsrec *rc, const char *anchor)
{
	struct buf b;
	size_t i, j;
	int validating = rc->nsecure > 0 || rc->nbogus > 0 || anchor != NULL;

	for (i = 0; validating && i < rc->nseen; i++) {
		const char *area = rc->seen[i].area;
		int sec;

		for (j = 0; j < i; j++)
			if (strcmp(rc->seen[j].area, area) == 0)
				break;
		if (j < i)
			continue; /* the area was reported */
		for (sec = DNS_INSECURE; sec <= DNS_SECURE; sec++) {
			buf_init(&b, 256);
			if (seen_list(rc, area, (enum dns_sec)sec, &b) > 0)
				finding(rp, "dnssec", 0, "%s: %s: %s", area,
				    dns_sec_name((enum dns_sec)sec), b.data);
			buf_reset(&b);
		}
	}
	for (i = 0; i < rc->nseen; i++) {
		const struct seen *sn = &rc->seen[i];

		if (sn->sec != DNS_SEC_BOGUS)
			continue;
		finding(rp, "dnssec", 2,
		    "%s: bogus: %s %s (%s): its signatures do not validate, "
		    "so validating receivers treat the record as unavailable; "
		    "fix: re-sign the zone that holds %s and publish the "
		    "signed records (or correct its DS record at the "
		    "parent%s), then run the check again",
		    sn->area, type_name(sn->type), sn->name,
		    sn->why[0] != '\0' ? sn->why : "bogus", sn->name,
		    anchor != NULL ? ", or dns_trust_anchor" : "");
	}
	if (rc->nsecure > 0 || rc->nbogus > 0)
		finding(rp, "dnssec", 0,
		    "the resolver validates: %u secure, %u insecure, %u bogus "
		    "answer(s)%s",
		    rc->nsecure, rc->ninsecure, rc->nbogus,
		    anchor != NULL ? " (from dns_trust_anchor)" : "");
	else if (anchor != NULL)
		finding(rp, "dnssec", 1,
		    "no answer validated from dns_trust_anchor %s (%u "
		    "insecure): the zones are unsigned or not under that "
		    "anchor; fix: sign the zones, or point dns_trust_anchor "
		    "at their DS records",
		    anchor, rc->ninsecure);
	else
		finding(rp, "dnssec", 0,
		    "no answer is DNSSEC-validated (%u insecure): the resolver "
		    "does not validate%s, or the zones are unsigned",
		    rc->ninsecure,
		    rp->dns_server != NULL
			? " (dns_server without dns_trust_anchor)"
			: "");
}

/* The account, when a configuration is found (-C or -a: it must be). */
static int
load_account(const struct opts *o, struct config **cfg,
    const struct account **a, struct err *e)
{
	struct err ce = {0};

	*cfg = NULL;
	*a = NULL;
	if (config_load(o->config_file, cfg, &ce) == 0 &&
	    (*a = config_find(*cfg, o->account, o->sender, &ce)) != NULL)
		return 0;
	if (o->config_file != NULL || o->account != NULL) {
		*e = ce;
		return -1;
	}
	config_free(*cfg);
	*cfg = NULL;
	log_debug("no configuration used (%s): the system's resolvers",
	    ce.text);
	return 0;
}

int
doctor_check_domain(const struct opts *o, FILE *out, struct err *e)
{
	struct report rp = {out, 0, 0, 0, NULL, {0}, 0, NULL};
	struct config *cfg = NULL;
	const struct account *a;
	struct dns *dns = NULL;
	struct dns_resolver r;
	struct dnsrec rec;
	enum spf_result spf;
	char *sender = NULL;
	int ret = -1;

	memset(&rec, 0, sizeof(rec));
	if (load_account(o, &cfg, &a, e) == -1)
		return -1;
	if (dns_open_ta(a != NULL ? a->dns_server : NULL,
		a != NULL ? a->dns_trust_anchor : NULL,
		a != NULL && a->timeout > 0 ? a->timeout * 1000 : 10000, &dns,
		e) == -1)
		goto out;
	rec.inner = dns_resolver_of(dns);
	r.lookup = rec_lookup;
	r.arg = &rec;
	rp.dns_server = a != NULL ? a->dns_server : NULL;
	if (o->sender != NULL && *o->sender != '\0')
		sender = xstrdup(o->sender);
	else {
		struct buf b;

		buf_init(&b, 300);
		buf_printf(&b, "postmaster@%s", o->check_domain);
		sender = buf_steal(&b, NULL);
	}
	rec.area = "spf";
	report_spf(&rp, &r, o->check_ip, sender,
	    a != NULL && a->domain != NULL ? a->domain : o->check_domain, &spf);
	rec.area = "dmarc";
	report_dmarc(&rp, &r, o->check_domain, sender, spf, a);
	rec.area = "rdns";
	report_rdns(&rp, &r, o->check_ip);
	rec.area = "mx";
	report_mx(&rp, &r, o->check_domain);
	report_dnssec(&rp, &rec, a != NULL ? a->dns_trust_anchor : NULL);
	fprintf(out, "summary: %u error(s), %u warning(s)\n", rp.errors,
	    rp.warnings);
	ret = rp.errors > 0 ? 1 : 0;
out:
	free(sender);
	dns_close(dns);
	config_free(cfg);
	return ret;
}

/* ---- --doctor (issue 13): the account, its smarthosts, its domain ---- */

#define DOCTOR_MAX_ADDRS 8
#define EXPIRY_WARN_DAYS 14

struct doctor {
	struct report rp;
	const struct opts *o;
	const struct config *cfg;
	const struct account *a;
	struct dns_resolver r;
	char addrs[DOCTOR_MAX_ADDRS][64]; /* the smarthosts' addresses */
	char addr_host[DOCTOR_MAX_ADDRS][256];
	size_t naddrs;
	struct dkim_key *keys[CONFIG_MAX_DKIM_KEYS]; /* NULL: did not load */
	unsigned hosts_tls; /* smarthosts reached over verified TLS */
	unsigned dkim_good; /* keys whose record matches */
	struct dnsrec *rec; /* behind r: records what each lookup was for */
};

/* Does name have an address record?  1 yes, 0 no, -1 lookup failed. */
static int
name_resolves(const struct dns_resolver *r, const char *name)
{
	static const enum dns_type types[] = {DNS_T_A, DNS_T_AAAA};
	struct dns_answer a;
	enum dns_status s;
	int failed = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		s = r->lookup(r->arg, name, types[i], &a);
		dns_answer_free(&a);
		if (s == DNS_FOUND)
			return 1;
		failed |= dns_status_temporary(s);
	}
	return failed ? -1 : 0;
}

static void
report_files(struct doctor *d)
{
	struct report *rp = &d->rp;
	struct stat st;
	size_t i;

	for (i = 0; i < d->cfg->nfiles; i++) {
		const char *f = d->cfg->files[i];

		if (stat(f, &st) == -1)
			finding(rp, "files", 2, "%s: %s", f, strerror(errno));
		else if (st.st_mode & 022)
			finding(rp, "files", 2,
			    "%s is writable by group or others (mode %04o); "
			    "fix: chmod go-w %s",
			    f, (unsigned)(st.st_mode & 07777), f);
		else if (st.st_mode & 077)
			finding(rp, "files", 1,
			    "%s is readable by group or others (mode %04o): "
			    "it may name secrets; fix: chmod 600 %s",
			    f, (unsigned)(st.st_mode & 07777), f);
		else
			finding(rp, "files", 0, "%s: mode %04o", f,
			    (unsigned)(st.st_mode & 07777));
	}
}

static void
report_keys(struct doctor *d)
{
	const struct account *a = d->a;
	struct err ke;
	size_t i;

	for (i = 0; i < a->ndkim_keys; i++) {
		const struct dkim_keyspec *k = &a->dkim_keys[i];
		enum dkim_alg alg =
		    k->type != NULL && ascii_casecmp(k->type, "ed25519") == 0
			? DKIM_ED25519_SHA256
			: DKIM_RSA_SHA256;

		memset(&ke, 0, sizeof(ke));
		if (dkim_key_load(k->file, alg, &d->keys[i], &ke) == -1)
			finding(&d->rp, "dkim-key", 2,
			    "selector %s: %s; fix: postseal --dkim-keygen "
			    "--type "
			    "%s --domain %s --selector %s --out %s, then "
			    "publish "
			    "the record it prints",
			    k->selector, ke.text,
			    alg == DKIM_ED25519_SHA256 ? "ed25519" : "rsa",
			    a->dkim_domain != NULL ? a->dkim_domain : "DOMAIN",
			    k->selector, k->file);
		else
			finding(&d->rp, "dkim-key", 0,
			    "selector %s: %s key %s loads", k->selector,
			    alg == DKIM_ED25519_SHA256 ? "ed25519" : "rsa",
			    k->file);
	}
}

/*
 * OpenPGP/S-MIME accounts: e2e_report()'s lines ("ok ...", "warn ...",
 * "fail ...": the signing key's state, expiry within 30 days a warning)
 * as findings.
 */
static void
report_e2e(struct doctor *d)
{
	static const struct {
		const char *word;
		int sev;
		const char *fix;
	} sevs[] = {{"ok ", 0, ""},
	    {"warn ", 1,
		"; fix: renew the key (or its certificate) before it expires, "
		"or make a new one and point pgp_sign/smime_sign at it"},
	    {"fail ", 2,
		"; fix: import the signing key into the account's keyring "
		"(gpg --import, gpgsm --import), or correct "
		"pgp_sign/smime_sign"}};
	char *text = NULL, *l, *nl;
	size_t len = 0, i;
	FILE *m;

	if ((m = open_memstream(&text, &len)) == NULL) {
		finding(&d->rp, "e2e", 1, "cannot check the keys: %s",
		    strerror(errno));
		return;
	}
	(void)e2e_report(d->a, m);
	fclose(m);
	for (l = text; l != NULL && *l != '\0'; l = nl) {
		if ((nl = strchr(l, '\n')) != NULL)
			*nl++ = '\0';
		for (i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++)
			if (strncmp(l, sevs[i].word, strlen(sevs[i].word)) ==
			    0) {
				l += strlen(sevs[i].word);
				finding(&d->rp, "e2e", sevs[i].sev, "%s%s",
				    l + strspn(l, " "), sevs[i].fix);
				break;
			}
		if (i == sizeof(sevs) / sizeof(sevs[0]) && *l != '\0')
			finding(&d->rp, "e2e", 0, "%s", l);
	}
	free(text);
}

/*
 * OAuth2 accounts: oauth2_report()'s lines (flow, state file, cached
 * token) as findings, then whether a token grant works now, run as a
 * submission runs it (a rotated refresh token is stored).
 */
static void
report_oauth2(struct doctor *d)
{
	const struct account *a = d->a;
	char *text = NULL, *l, *nl;
	const char *e, *f;
	size_t len = 0;
	struct err oe;
	FILE *m;
	int r;

	if (!oauth2_enabled(a))
		return;
	if ((m = open_memstream(&text, &len)) == NULL) {
		finding(&d->rp, "oauth2", 1, "cannot check the token state: %s",
		    strerror(errno));
		return;
	}
	memset(&oe, 0, sizeof(oe));
	r = oauth2_report(a, m, &oe);
	fclose(m);
	for (l = text; l != NULL && *l != '\0'; l = nl) {
		if ((nl = strchr(l, '\n')) != NULL)
			*nl++ = '\0';
		l += strspn(l, " ");
		if (*l == '\0' || strcmp(l, "OAuth2:") == 0 ||
		    strncmp(l, "token grant:", 12) == 0 ||
		    strncmp(l, "error:", 6) == 0)
			continue;
		if (strncmp(l, "state file:", 11) == 0 &&
		    (e = strstr(l + 11, " (mode ")) != NULL &&
		    strstr(e, "TOO OPEN") != NULL) {
			/* "state file:    PATH (mode 0644, TOO OPEN)" */
			f = l + 11 + strspn(l + 11, " ");
			finding(&d->rp, "oauth2", 2, "%s; fix: chmod 600 %.*s",
			    l, e > f ? (int)(e - f) : 0, f);
		} else
			finding(&d->rp, "oauth2", strstr(l, "TOO OPEN") ? 2 : 0,
			    "%s", l);
	}
	free(text);
	if (r == 0)
		finding(&d->rp, "oauth2", 0, "token grant works now");
	else if (oauth2_needs_login(&oe))
		finding(&d->rp, "oauth2", 2,
		    "token grant: %s; fix: run postseal --oauth2-login -a %s "
		    "again",
		    oe.text, a->name);
	else if ((f = strstr(oe.text, "; run: ")) != NULL)
		/* a refused state file: the command that fixes it */
		finding(&d->rp, "oauth2", 2, "%.*s; fix: %s",
		    (int)(f - oe.text), oe.text, f + 7);
	else
		finding(&d->rp, "oauth2", 2,
		    "token grant: %s (%s); fix: check the token endpoint and "
		    "the oauth2_* settings",
		    oe.text, oe.kind == ERR_TEMP ? "temporary" : "permanent");
}

static void
report_account(struct doctor *d)
{
	struct report *rp = &d->rp;
	const struct account *a = d->a;
	const char *from = config_envelope_from(a);
	char fix[512];
	int h;

	finding(rp, "account", 0, "account %s (%s), %zu smarthost(s)", a->name,
	    a->file != NULL ? a->file : "?", a->nhosts);
	report_files(d);
	report_keys(d);
	if (!a->tls)
		finding(rp, "tls", 2,
		    "tls off: mail and credentials cross the network "
		    "unencrypted; fix: tls on");
	else if (!a->tls_certcheck && a->tls_fingerprint == NULL)
		finding(rp, "tls", 2,
		    "tls_certcheck off without tls_fingerprint: anyone on "
		    "the path can impersonate the server; fix: tls_certcheck "
		    "on");
	else if (a->tls_trust_file != NULL &&
		 access(a->tls_trust_file, R_OK) == -1)
		finding(rp, "tls", 2,
		    "tls_trust_file %s: %s; fix: point tls_trust_file at a "
		    "readable CA bundle, or remove it to use the system's",
		    a->tls_trust_file, strerror(errno));
	else
		finding(rp, "tls", 0, "trust store: %s",
		    a->tls_trust_file != NULL ? a->tls_trust_file
					      : "the system's");
	if (from == NULL)
		finding(rp, "from", 1,
		    "no fixed envelope sender (from unset or a pattern): the "
		    "domain checks use -f; fix: from you@your.domain");
	else if (strchr(from, '@') == NULL)
		finding(rp, "from", 2,
		    "from %s has no domain; fix: from %s@your.domain", from,
		    from);
	else
		finding(rp, "from", 0, "envelope sender %s", from);
	if (a->maildomain != NULL)
		finding(rp, "from", 0, "maildomain %s qualifies bare names",
		    a->maildomain);
	if (a->domain == NULL || strchr(a->domain, '.') == NULL)
		finding(rp, "ehlo", 1,
		    "EHLO name %s is not a fully qualified domain name: "
		    "some servers refuse it; fix: domain host.your.domain",
		    a->domain != NULL ? a->domain : "(none)");
	else if ((h = name_resolves(&d->r, a->domain)) == 1)
		finding(rp, "ehlo", 0, "EHLO name %s resolves", a->domain);
	else if (h == 0)
		finding(rp, "ehlo", 1,
		    "EHLO name %s does not resolve: some servers refuse it; "
		    "fix: publish an address record for it, or set domain to "
		    "a name that has one",
		    a->domain);
	else
		finding(rp, "ehlo", 1,
		    "could not check whether EHLO name %s resolves (DNS "
		    "failure, not a missing record)%s",
		    a->domain, dns_fix(rp, a->domain, fix, sizeof(fix)));
	report_oauth2(d);
	report_e2e(d);
}

static void
report_caps(struct report *rp, const struct account *a,
    const struct smtp_caps *c)
{
	finding(rp, "smtp", 0,
	    "SIZE %llu%s, PIPELINING %s, 8BITMIME %s, SMTPUTF8 %s, DSN %s, "
	    "CHUNKING %s",
	    c->size, (c->flags & SMTP_CAP_SIZE) ? "" : " (not offered)",
	    (c->flags & SMTP_CAP_PIPELINING) ? "yes" : "no",
	    (c->flags & SMTP_CAP_8BITMIME) ? "yes" : "no",
	    (c->flags & SMTP_CAP_SMTPUTF8) ? "yes" : "no",
	    (c->flags & SMTP_CAP_DSN) ? "yes" : "no",
	    (c->flags & SMTP_CAP_CHUNKING) ? "yes" : "no");
	if (!(c->flags & SMTP_CAP_8BITMIME) && a->smtp_8bitmime)
		finding(rp, "smtp", 1,
		    "no 8BITMIME: 8-bit messages would be refused; fix: "
		    "smtp_8bitmime off");
	if (a->dsn_notify != NULL && !(c->flags & SMTP_CAP_DSN))
		finding(rp, "smtp", 1,
		    "dsn_notify is set but the server offers no DSN; fix: "
		    "remove dsn_notify");
}

static void
report_tls(struct report *rp, const struct account *a, struct tls *t)
{
	long long exp, days;

	if (t == NULL) {
		finding(rp, "tls", 2,
		    "no TLS: the session is in plain text; fix: tls on");
		return;
	}
	finding(rp, "tls", 0, "%s (%s)",
	    tls_info(t) != NULL ? tls_info(t) : "TLS",
	    a->tls_starttls ? "STARTTLS" : "implicit TLS");
	if (tls_dane_usage(t) != 0)
		finding(rp, "tls", 0,
		    "DANE: the certificate %s (TLSA records DNSSEC-validated; "
		    "they replace the CA check)",
		    tls_dane_usage(t) == 3
			? "matches a DANE-EE record"
			: "verifies from the CA a DANE-TA record names");
	else if (a->tls_certcheck)
		finding(rp, "tls", 0,
		    "certificate chain valid and host name %s matches",
		    a->tls_host_override != NULL ? a->tls_host_override
						 : "verified");
	if (tls_dane_usage(t) == 0 && a->tls_dane == CONFIG_DANE_AUTO)
		finding(rp, "tls", 0,
		    "tls_dane auto: no usable DNSSEC-validated TLSA records "
		    "(or a resumed session), so the CA check applied");
	if (a->tls_fingerprint != NULL)
		finding(rp, "tls", 0, "certificate matches tls_fingerprint");
	if ((exp = tls_peer_expiry(t)) == -1)
		return;
	days = (exp - (long long)time(NULL)) / 86400;
	if (exp < (long long)time(NULL))
		finding(rp, "tls", 2,
		    "the certificate has expired; fix: the server's "
		    "operator must renew it");
	else if (days < EXPIRY_WARN_DAYS)
		finding(rp, "tls", 1,
		    "the certificate expires in %lld day(s); fix: the "
		    "server's operator must renew it",
		    days);
	else
		finding(rp, "tls", 0, "the certificate expires in %lld days",
		    days);
}

static void
report_auth(struct doctor *d, struct smtp_session *s, int logged_in)
{
	struct report *rp = &d->rp;
	const struct smtp_caps *c = smtp_caps_of(s);
	const char *mech;
	struct err me = {0};

	if (d->a->tls && d->a->tls_starttls && smtp_auth_before_tls(s))
		finding(rp, "auth", 1,
		    "the server offers AUTH before STARTTLS, inviting "
		    "clients to send passwords in clear (postseal never "
		    "does); fix (server): offer AUTH only over TLS");
	if (d->a->auth != NULL && ascii_casecmp(d->a->auth, "off") == 0) {
		finding(rp, "auth", 0, "auth off: no login");
		return;
	}
	if ((mech = smtp_choose_mech(s, &me)) == NULL) {
		finding(rp, "auth", 2,
		    "mechanisms offered: %s; %s; fix: set auth to a mechanism "
		    "the server offers (auth off if it needs no login)",
		    (c->flags & SMTP_CAP_AUTH) ? c->auth : "none", me.text);
		return;
	}
	finding(rp, "auth", 0, "mechanisms offered: %s; postseal uses %s (%s)",
	    c->auth, mech,
	    d->a->auth != NULL && ascii_casecmp(d->a->auth, "on") != 0
		? "set by auth"
		: "the strongest offered");
	if (logged_in)
		finding(rp, "auth", 0, "AUTH %s as %s accepted",
		    smtp_auth_mech(s) != NULL ? smtp_auth_mech(s) : mech,
		    d->a->user != NULL ? d->a->user : "?");
}

static void
add_addr(struct doctor *d, const char *addr, const char *host)
{
	size_t i;

	for (i = 0; i < d->naddrs; i++)
		if (strcmp(d->addrs[i], addr) == 0)
			return;
	if (d->naddrs == DOCTOR_MAX_ADDRS)
		return;
	str_copy(d->addrs[d->naddrs], addr, sizeof(d->addrs[0]));
	str_copy(d->addr_host[d->naddrs++], host, sizeof(d->addr_host[0]));
}

/*
 * A smarthost that could not be reached or logged in to.  The text from
 * smtp.c/tls.c may carry its fix as "(fix: ...)" (LOG_FIX_MARK): it
 * becomes the finding's fix; otherwise the fix follows from the kind.
 */
static void
report_probe_error(struct doctor *d, const char *host, const struct err *se,
    int login, int have_pw)
{
	const char *mark = strstr(se->text, " (fix: "), *fix;
	size_t n = strlen(se->text), fixlen;

	if (mark != NULL) {
		fix = mark + 7;
		n = (size_t)(mark - se->text);
	} else if (se->kind == ERR_AUTH &&
		   strstr(se->text, "offers no authentication") != NULL)
		fix = "set auth off if the server needs no login; a submission "
		      "port offers AUTH, so check host and port too";
	else if (se->kind == ERR_AUTH && login && !have_pw)
		fix = "set password or passwordeval (the account has neither)";
	else if (se->kind == ERR_AUTH)
		fix = "correct user and password (or passwordeval)";
	else if (strstr(se->text, "trusted CAs") != NULL)
		fix = "point tls_trust_file at a readable CA bundle";
	else
		fix = "check host and port, and that the server accepts "
		      "connections from this machine";
	fixlen = strlen(fix);
	if (mark != NULL && fixlen > 0 && fix[fixlen - 1] == ')')
		fixlen--; /* the hint's closing parenthesis */
	finding(&d->rp, se->kind == ERR_AUTH ? "auth" : "connect", 2,
	    "%s port %u: %.*s; fix: %.*s", host, d->a->port, (int)n, se->text,
	    (int)fixlen, fix);
}

/* The TLSA records of host, looked up only for their DNSSEC status (tls.c
 * checked them, through its own lookup, when it connected). */
static void
note_tlsa(struct doctor *d, const char *host)
{
	struct dns_answer ans;
	char name[300];

	snprintf(name, sizeof(name), "_%u._tcp.%s", d->a->port, host);
	(void)d->r.lookup(d->r.arg, name, DNS_T_TLSA, &ans);
	dns_answer_free(&ans);
}

static void
report_smarthost(struct doctor *d, const char *host)
{
	struct report *rp = &d->rp;
	struct smtp_session *s = NULL;
	char *pw = NULL;
	struct err se = {0};
	int login = d->o->doctor_auth && d->a->user != NULL &&
		    (d->a->auth == NULL || ascii_casecmp(d->a->auth, "off"));

	if (login && config_password(d->a, &pw, &se) == -1) {
		finding(rp, "auth", 2,
		    "no password: %s; fix: set password or passwordeval for "
		    "the account",
		    se.text);
		login = 0;
	}
	if (smtp_probe(d->a, host, login ? (pw != NULL ? pw : "") : NULL, &s,
		&se) == -1) {
		report_probe_error(d, host, &se, login, pw != NULL);
		str_wipe_free(pw);
		return;
	}
	str_wipe_free(pw);
	finding(rp, "connect", 0, "%s port %u (%s) answers", host, d->a->port,
	    smtp_peer(s));
	if (smtp_tls(s) != NULL)
		d->hosts_tls++;
	add_addr(d, smtp_peer(s), host);
	if (d->a->tls_dane != CONFIG_DANE_OFF)
		note_tlsa(d, host);
	report_tls(rp, d->a, smtp_tls(s));
	report_caps(rp, d->a, smtp_caps_of(s));
	report_auth(d, s, login);
	smtp_close(s);
}

/* The p= tag's value of a key record, whitespace removed, into out. */
static void
key_p(const char *t, size_t n, char *out, size_t outsize)
{
	size_t i = 0, o = 0;
	int at_tag = 1, in_p = 0;

	for (; i < n; i++) {
		char c = t[i];

		if (c == ';') {
			at_tag = 1;
			in_p = 0;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		} else if (at_tag) {
			at_tag = 0;
			in_p = c == 'p' && i + 1 < n && t[i + 1] == '=';
			if (in_p)
				i++;
		} else if (in_p && o + 1 < outsize)
			out[o++] = c;
	}
	out[o] = '\0';
}

/* DKIM: each configured key's record at selector._domainkey.d. */
static void
report_dkim_key(struct doctor *d, size_t i)
{
	struct report *rp = &d->rp;
	const struct dkim_keyspec *k = &d->a->dkim_keys[i];
	char name[512], have[8192], want_p[8192], fix[512], weak[32];
	struct dns_answer ans;
	struct buf want;
	struct err ke = {0};
	enum dkim_alg alg;
	const char *why;
	enum dns_status st;
	unsigned bits;
	size_t j, nrec = 0;

	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector,
	    d->a->dkim_domain);
	buf_init(&want, 4096);
	if (d->keys[i] == NULL ||
	    dkim_key_record(d->keys[i], &want, &ke) == -1) {
		buf_reset(&want);
		return;
	}
	buf_addch(&want, '\0');
	alg = dkim_key_alg(d->keys[i]);
	key_p(want.data, strlen(want.data), want_p, sizeof(want_p));
	st = d->r.lookup(d->r.arg, name, DNS_T_TXT, &ans);
	if (dns_status_temporary(st)) {
		finding(rp, "dkim", 2,
		    "could not look up %s (%s); this is a DNS failure, not a "
		    "missing record%s",
		    name, ans.why,
		    dns_fix(rp, d->a->dkim_domain, fix, sizeof(fix)));
		goto out;
	}
	if (st == DNS_FOUND && ans.nrr > 1)
		finding(rp, "dkim", 2,
		    "%s has %zu TXT records: a key is one record (a long key "
		    "is several strings of one record), so receivers find "
		    "none; fix: publish one TXT record \"%s\"",
		    name, ans.nrr, want.data);
	for (j = 0; st == DNS_FOUND && ans.nrr == 1 && j < ans.nrr; j++) {
		const char *t = ans.rr[j].text;
		size_t n = ans.rr[j].len;

		nrec++;
		if ((why = dkim_key_record_check(t, n, alg, &bits)) != NULL) {
			/* a key under the minimum: say how weak */
			snprintf(weak, sizeof(weak), " (%u bits)", bits);
			finding(rp, "dkim", 2,
			    "%s: %s%s; fix: publish the TXT record \"%s\"",
			    name, why,
			    alg == DKIM_RSA_SHA256 && bits > 0 &&
				    bits < DKIM_RSA_MIN_BITS
				? weak
				: "",
			    want.data);
			continue;
		}
		key_p(t, n, have, sizeof(have));
		if (strcmp(have, want_p) != 0)
			finding(rp, "dkim", 2,
			    "%s: the public key does not match the private key "
			    "%s; fix: publish the TXT record \"%s\"",
			    name, k->file, want.data);
		else {
			d->dkim_good++;
			finding(rp, "dkim", 0, "%s matches the key %s%s", name,
			    k->file,
			    ans.rr[j].nstrings > 1 ? " (several strings)" : "");
		}
		if (alg == DKIM_RSA_SHA256 && bits < 2048)
			finding(rp, "dkim", 1,
			    "%s: a %u-bit RSA key: receivers expect at least "
			    "2048 bits; fix: postseal --dkim-keygen --type rsa "
			    "--bits 2048 --domain %s --selector NEW --out "
			    "FILE, "
			    "publish it and set dkim_key to it",
			    name, bits, d->a->dkim_domain);
		if (strstr(t, "t=y") != NULL)
			finding(rp, "dkim", 1,
			    "%s has t=y (testing): receivers may treat "
			    "signatures as unsigned; fix: remove t=y",
			    name);
	}
	if (nrec == 0 && !(st == DNS_FOUND && ans.nrr > 1))
		finding(rp, "dkim", 2,
		    "no DKIM record at %s (%s); fix: publish the TXT record "
		    "\"%s\"",
		    name, dns_status_name(st), want.data);
out:
	dns_answer_free(&ans);
	buf_reset(&want);
}

/*
 * DNSBL (RFC 5782): addr looked up in each zone of dnsbl_zones.  An
 * answer in 127.255.255.0/24 is the zone refusing the query (Spamhaus's
 * convention for public resolvers and over-quota users), not a listing.
 */
static void
report_dnsbl(struct doctor *d, const char *addr)
{
	struct report *rp = &d->rp;
	const char *z = d->a->dnsbl_zones;
	struct spf_ip ip;
	char rev[80], zone[254], name[340], fix[512];
	struct dns_answer ans;
	enum dns_status st;
	size_t n, j;
	int listed, refused;

	if (z == NULL || spf_ip_parse(addr, &ip) == -1 ||
	    dns_reverse_name(ip.family, ip.addr, rev, sizeof(rev)) == -1)
		return;
	/* "4.3.2.1.in-addr.arpa" -> "4.3.2.1" */
	rev[strlen(rev) - (ip.family == AF_INET ? 13 : 9)] = '\0';
	while (*(z += strspn(z, " ,\t")) != '\0') {
		n = strcspn(z, " ,\t");
		if (n >= sizeof(zone)) {
			finding(rp, "dnsbl", 2,
			    "dnsbl_zones: a zone name is too "
			    "long; fix: correct dnsbl_zones");
			return;
		}
		memcpy(zone, z, n);
		zone[n] = '\0';
		z += n;
		snprintf(name, sizeof(name), "%s.%s", rev, zone);
		st = d->r.lookup(d->r.arg, name, DNS_T_A, &ans);
		listed = refused = 0;
		for (j = 0; st == DNS_FOUND && j < ans.nrr; j++) {
			if (ans.rr[j].family != AF_INET)
				continue;
			if (ans.rr[j].ip[0] == 127 && ans.rr[j].ip[1] == 255 &&
			    ans.rr[j].ip[2] == 255)
				refused = 1;
			else if (ans.rr[j].ip[0] == 127)
				listed = 1;
		}
		if (listed)
			finding(rp, "dnsbl", 2,
			    "%s is listed in %s (%s); fix: the address's "
			    "owner (the smarthost's provider) must get it "
			    "delisted, or use another smarthost",
			    addr, zone, ans.rr[0].text);
		else if (refused)
			finding(rp, "dnsbl", 1,
			    "%s refused the query (%s): not a listing; the "
			    "zone's operator does not answer this resolver; "
			    "fix: query it through a resolver of your own "
			    "(dns_server) or remove it from dnsbl_zones",
			    zone, ans.rr[0].text);
		else if (st == DNS_FOUND || st == DNS_NXDOMAIN ||
			 st == DNS_NODATA)
			finding(rp, "dnsbl", 0, "%s is not listed in %s", addr,
			    zone);
		else
			finding(rp, "dnsbl", 1,
			    "could not check %s in %s (%s); a DNS failure, not "
			    "a listing%s",
			    addr, zone, ans.why,
			    dns_fix(rp, zone, fix, sizeof(fix)));
		dns_answer_free(&ans);
	}
}

/* The first PTR name of addr into out, or "" (for report_provider). */
static void
ptr_name(const struct dns_resolver *r, const char *addr, char *out,
    size_t outsize)
{
	struct spf_ip ip;
	struct dns_answer ans;
	char rev[80];

	out[0] = '\0';
	if (spf_ip_parse(addr, &ip) == -1 ||
	    dns_reverse_name(ip.family, ip.addr, rev, sizeof(rev)) == -1)
		return;
	if (r->lookup(r->arg, rev, DNS_T_PTR, &ans) == DNS_FOUND && ans.nrr > 0)
		str_copy(out, ans.rr[0].text, outsize);
	dns_answer_free(&ans);
}

/*
 * SPF did not pass for smarthost address i: a provider's outbound
 * addresses may differ from its submission address, and the include the
 * domain needs is the provider's.  The provider is the organisational
 * domain of the smarthost's name, else of its address's PTR name; if
 * that domain's own SPF record authorises the address, name the include.
 */
static void
report_provider(struct doctor *d, size_t i, const char *from)
{
	const char *cands[2];
	char ptr[256], org[256], sender[300];
	struct spf_outcome po;
	struct spf_ip ip;
	size_t c;

	ptr_name(&d->r, d->addrs[i], ptr, sizeof(ptr));
	cands[0] = d->addr_host[i];
	cands[1] = ptr;
	if (spf_ip_parse(d->addrs[i], &ip) == -1)
		return;
	for (c = 0; c < 2; c++) {
		if (cands[c][0] == '\0' ||
		    dmarc_org_domain(cands[c], org, sizeof(org)) == -1 ||
		    ascii_casecmp(org, from) == 0)
			continue;
		snprintf(sender, sizeof(sender), "postmaster@%s", org);
		if (spf_check_host(&d->r, &ip, org, sender, org, &po) !=
		    SPF_PASS)
			continue;
		finding(&d->rp, "spf", 1,
		    "the smarthost's provider %s authorises %s (%s in %s): "
		    "its outbound addresses are not the domain's; fix: add "
		    "include:%s to the SPF record of %s",
		    org, d->addrs[i], po.mechanism, po.domain, org, from);
		return;
	}
	finding(&d->rp, "spf", 1,
	    "a provider's outbound addresses may differ from its submission "
	    "address %s; fix: if mail leaves through a provider, add the "
	    "include: its documentation names to the SPF record of %s",
	    d->addrs[i], from);
}

/* The large mailbox providers' sender rules, from the domain findings. */
static void
report_sender_rules(struct doctor *d, enum spf_result spf, int dmarc_ok,
    int rdns_ok)
{
	int tls = d->a->nhosts > 0 && d->hosts_tls == d->a->nhosts;

	verdict(&d->rp,
	    "large mailbox providers' sender rules (SPF pass, DKIM "
	    "pass, aligned DMARC, forward-confirmed rDNS, TLS): "
	    "%s%s%s%s%s%s",
	    spf == SPF_PASS && d->dkim_good > 0 && dmarc_ok && rdns_ok && tls
		? "met"
		: "not met:",
	    spf == SPF_PASS ? "" : " SPF", d->dkim_good > 0 ? "" : " DKIM",
	    dmarc_ok ? "" : " DMARC", rdns_ok ? "" : " rDNS",
	    tls ? "" : " TLS");
}

/* The sender domain (-f, else the account's from): SPF for each smarthost
 * address, DKIM records, DMARC, rDNS, DNSBLs, MX, then the verdict. */
static void
report_domain(struct doctor *d)
{
	const struct opts *o = d->o;
	enum spf_result spf = SPF_NONE, s1;
	const char *sender, *from;
	unsigned e0;
	int dmarc_ok, rdns_ok;
	size_t i;

	sender = o->sender != NULL && *o->sender != '\0'
		     ? o->sender
		     : config_envelope_from(d->a);
	from = sender != NULL ? domain_of(sender) : NULL;
	if (from == NULL || from == sender) {
		finding(&d->rp, "domain", 1,
		    "no sender domain to check; fix: set from, or give -f");
		return;
	}
	d->rec->area = "spf";
	for (i = 0; i < d->naddrs; i++) {
		report_spf(&d->rp, &d->r, d->addrs[i], sender,
		    d->a->domain != NULL ? d->a->domain : from, &s1);
		if (i == 0 || s1 != SPF_PASS)
			spf = s1;
		if (s1 == SPF_FAIL || s1 == SPF_SOFTFAIL || s1 == SPF_NEUTRAL ||
		    s1 == SPF_NONE)
			report_provider(d, i, from);
	}
	d->rec->area = "dkim";
	for (i = 0; i < d->a->ndkim_keys && d->a->dkim_domain != NULL; i++)
		report_dkim_key(d, i);
	d->rec->area = "dmarc";
	e0 = d->rp.errors;
	report_dmarc(&d->rp, &d->r, from, sender, spf, d->a);
	dmarc_ok = d->rp.errors == e0;
	d->rec->area = "rdns";
	e0 = d->rp.errors;
	for (i = 0; i < d->naddrs; i++)
		report_rdns(&d->rp, &d->r, d->addrs[i]);
	rdns_ok = d->naddrs > 0 && d->rp.errors == e0;
	d->rec->area = "dnsbl";
	for (i = 0; i < d->naddrs; i++)
		report_dnsbl(d, d->addrs[i]);
	d->rec->area = "mx";
	report_mx(&d->rp, &d->r, from);
	report_sender_rules(d, spf, dmarc_ok, rdns_ok);
}

int
doctor_run(const struct opts *o, FILE *out, struct err *e)
{
	struct doctor d;
	struct config *cfg = NULL;
	struct dns *dns = NULL;
	struct dnsrec rec;
	size_t i;
	int ret = -1;

	memset(&d, 0, sizeof(d));
	memset(&rec, 0, sizeof(rec));
	d.rp.out = out;
	d.rp.json = o->json;
	d.o = o;
	buf_init(&d.rp.js, 1 << 20);
	if (config_load(o->config_file, &cfg, e) == -1)
		return -1;
	d.cfg = cfg;
	if ((d.a = config_find(cfg, o->account, o->sender, e)) == NULL)
		goto out;
	if (dns_open_ta(d.a->dns_server, d.a->dns_trust_anchor,
		d.a->timeout > 0 ? d.a->timeout * 1000 : 10000, &dns, e) == -1)
		goto out;
	rec.inner = dns_resolver_of(dns);
	d.r.lookup = rec_lookup;
	d.r.arg = &rec;
	d.rec = &rec;
	d.rp.dns_server = d.a->dns_server;

	d.rp.section = "account";
	rec.area = "ehlo";
	report_account(&d);
	rec.area = "tls";
	for (i = 0; i < d.a->nhosts; i++) {
		d.rp.section = d.a->hosts[i];
		report_smarthost(&d, d.a->hosts[i]);
	}

	d.rp.section = "domain";
	report_domain(&d);
	d.rp.section = "dns";
	report_dnssec(&d.rp, &rec, d.a->dns_trust_anchor);
	if (d.rp.json) {
		fprintf(out,
		    "{\n  \"version\": 1,\n  \"account\": \"%s\",\n"
		    "  \"errors\": %u,\n  \"warnings\": %u,\n"
		    "  \"findings\": [%s\n  ]\n}\n",
		    d.a->name, d.rp.errors, d.rp.warnings,
		    d.rp.js.data != NULL ? d.rp.js.data : "");
	} else
		fprintf(out, "summary: %u error(s), %u warning(s)\n",
		    d.rp.errors, d.rp.warnings);
	ret = d.rp.errors > 0 ? 1 : 0;
out:
	for (i = 0; i < CONFIG_MAX_DKIM_KEYS; i++)
		dkim_key_free(d.keys[i]);
	buf_reset(&d.rp.js);
	dns_close(dns);
	config_free(cfg);
	return ret;
}
