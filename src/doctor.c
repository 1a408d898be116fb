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
 * check", never as a missing record.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dmarc.h"
#include "dns.h"
#include "doctor.h"
#include "log.h"
#include "spf.h"

struct report {
	FILE *out;
	unsigned errors, warnings;
};

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
	fprintf(rp->out, "%s: %s: %s\n", area, names[sev], text);
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

static void
report_spf_result(struct report *rp, const struct spf_outcome *o,
    const char *ip, const char *sender)
{
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
		finding(rp, "spf", 2,
		    "temperror: could not check (%s); this "
		    "is a DNS failure, not a missing "
		    "record: try again",
		    o->problem);
		break;
	case SPF_PERMERROR:
		finding(rp, "spf", 2,
		    "permerror: %s; receivers treat the "
		    "record as broken: fix it",
		    o->problem);
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
		    "include will break the record",
		    o.lookups, SPF_MAX_LOOKUPS);
	if (o.void_lookups > 0 && o.void_lookups <= SPF_MAX_VOID_LOOKUPS)
		finding(rp, "spf", 1,
		    "%u lookup(s) found nothing (the limit "
		    "is %d): remove terms naming domains "
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
		? ": receivers take no action on mail that fails; once the "
		  "reports look clean, publish p=quarantine or p=reject"
		: "");
	if (rec->pct < 100)
		finding(rp, "dmarc", 1,
		    "pct=%u: the policy applies to only "
		    "%u%% of failing mail",
		    rec->pct, rec->pct);
	if (rec->nrua == 0)
		finding(rp, "dmarc", 1,
		    "no rua=: you receive no aggregate "
		    "reports; add rua=mailto:ADDRESS");
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
		    "%s %s does not align with From domain %s (%s alignment)",
		    what, id, from, how);
	else
		finding(rp, "dmarc", 1,
		    "%s %s cannot be compared with From domain %s (no Public "
		    "Suffix List)",
		    what, id, from);
}

static void
report_dmarc(struct report *rp, const struct dns_resolver *r, const char *from,
    const char *sender, enum spf_result spf, const struct account *a)
{
	struct dmarc_result d;
	int spf_aligned, dkim_aligned;

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
		finding(rp, "dmarc", 2,
		    "could not check (%s); this is a DNS "
		    "failure, not a missing record: try "
		    "again",
		    d.problem);
		return;
	default:
		finding(rp, "dmarc", 2, "%s", d.problem);
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
		fprintf(rp->out, "verdict: DMARC passes on aligned SPF%s\n",
		    dkim_aligned == 1
			? " and on the aligned DKIM signature the "
			  "account adds"
			: "; an aligned DKIM signature would also "
			  "survive forwarding");
	else
		fprintf(rp->out,
		    "verdict: DMARC passes only with a valid DKIM "
		    "signature aligned with %s%s; otherwise "
		    "receivers apply p=%s\n",
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
	size_t i;

	buf_init(&list, 200);
	for (i = 0; s == DNS_FOUND && i < a.nrr && i < 4; i++)
		buf_printf(&list, "%s%s", i > 0 ? ", " : "", a.rr[i].text);
	if (s == DNS_FOUND && a.nrr == 1 && a.rr[0].text[0] == '\0')
		finding(rp, "mx", 2,
		    "%s has a null MX (RFC 7505): replies and "
		    "bounces to it cannot be delivered",
		    from);
	else if (s == DNS_FOUND)
		finding(rp, "mx", 0, "%s: %zu MX record(s): %s%s", from, a.nrr,
		    list.data != NULL ? list.data : "",
		    a.nrr > 4 ? ", ..." : "");
	else if (s == DNS_NXDOMAIN || s == DNS_NODATA)
		finding(rp, "mx", 1,
		    "%s has no MX record (%s): replies and "
		    "bounces go to its address records, if "
		    "any; fix: publish MX records",
		    from, dns_status_name(s));
	else
		finding(rp, "mx", 2,
		    "could not check the MX of %s (%s); this "
		    "is a DNS failure, not a missing record",
		    from, a.why);
	buf_reset(&list);
	dns_answer_free(&a);
}

/* Does name have the address ip? -1 the lookup failed. */
static int
name_has_addr(const struct dns_resolver *r, const char *name,
    const struct spf_ip *ip)
{
	struct dns_answer a;
	enum dns_status s = r->lookup(r->arg, name,
	    ip->family == AF_INET ? DNS_T_A : DNS_T_AAAA, &a);
	size_t i;
	int hit = 0;

	for (i = 0; s == DNS_FOUND && i < a.nrr; i++)
		hit |= a.rr[i].family == ip->family &&
		       memcmp(a.rr[i].ip, ip->addr,
			   ip->family == AF_INET ? 4 : 16) == 0;
	dns_answer_free(&a);
	return dns_status_temporary(s) ? -1 : hit;
}

/* Reverse DNS of the sending address, forward-confirmed (FCrDNS). */
static void
report_rdns(struct report *rp, const struct dns_resolver *r, const char *ip)
{
	struct spf_ip addr;
	struct dns_answer a;
	char rev[80];
	enum dns_status s;
	size_t i;
	int hit = 0, failed = 0, h;

	if (spf_ip_parse(ip, &addr) == -1)
		return;
	dns_reverse_name(addr.family, addr.addr, rev, sizeof(rev));
	s = r->lookup(r->arg, rev, DNS_T_PTR, &a);
	for (i = 0; s == DNS_FOUND && i < a.nrr && i < 10 && !hit; i++) {
		if ((h = name_has_addr(r, a.rr[i].text, &addr)) == 1)
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
		    "missing record",
		    ip, s != DNS_FOUND ? a.why : "address lookup failed");
	else if (!hit)
		finding(rp, "rdns", 2,
		    "%s is %s, which does not resolve back "
		    "to it (not forward-confirmed); fix: "
		    "give %s an address record for %s",
		    ip, a.rr[0].text, a.rr[0].text, ip);
	dns_answer_free(&a);
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
	struct report rp = {out, 0, 0};
	struct config *cfg = NULL;
	const struct account *a;
	struct dns *dns = NULL;
	struct dns_resolver r;
	enum spf_result spf;
	char *sender = NULL;
	int ret = -1;

	if (load_account(o, &cfg, &a, e) == -1)
		return -1;
	if (dns_open(a != NULL ? a->dns_server : NULL,
		a != NULL && a->timeout > 0 ? a->timeout * 1000 : 10000, &dns,
		e) == -1)
		goto out;
	r = dns_resolver_of(dns);
	if (o->sender != NULL && *o->sender != '\0')
		sender = xstrdup(o->sender);
	else {
		struct buf b;

		buf_init(&b, 300);
		buf_printf(&b, "postmaster@%s", o->check_domain);
		sender = buf_steal(&b, NULL);
	}
	report_spf(&rp, &r, o->check_ip, sender,
	    a != NULL && a->domain != NULL ? a->domain : o->check_domain, &spf);
	report_dmarc(&rp, &r, o->check_domain, sender, spf, a);
	report_rdns(&rp, &r, o->check_ip);
	report_mx(&rp, &r, o->check_domain);
	fprintf(out, "summary: %u error(s), %u warning(s)\n", rp.errors,
	    rp.warnings);
	ret = rp.errors > 0 ? 1 : 0;
out:
	free(sender);
	dns_close(dns);
	config_free(cfg);
	return ret;
}
