/*
 * dane.c -- the TLSA lookup for tls_dane (issue 16).
 *
 * Purpose: find the TLSA records that tls.c verifies the smarthost's
 * certificate against, and decide what a lookup that yields none means.
 * The name is _PORT._tcp.HOST for the configured host name (RFC 7672
 * 2.2.3, a non-MX destination; RFC 6698 3).  A CNAME at that name is
 * followed by the resolver, and the answer is secure only if every link
 * validates (RFC 7671 7).
 *
 * When HOST itself is a CNAME alias and its address lookup is secure,
 * the TLSA records of the expanded name are used, and HOST's only when
 * that name has none (RFC 7671 7, RFC 7672 2.2.2); DANE-TA then accepts
 * either name in the certificate (RFC 7672 3.2.2).  An insecure address
 * lookup does not disable DANE (the connection resolves HOST through
 * the system, not through this resolver).
 *
 * Non-goals: matching (tls.c, libgnutls-dane) and resolving (dns.c).
 *
 * Failure policy: only a secure answer is used.  "auto" turns every
 * other outcome into "no DANE": the CA check applies as with tls_dane
 * off, so an attacker who strips or breaks DNSSEC gains nothing over
 * that.  "on" turns them into ERR_TEMP: the mail stays queued and the
 * text says what to fix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "dane.h"
#include "dns.h"
#include "log.h"

#define DANE_DNS_TIMEOUT_MS 10000

static int
is_address(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

/* A secure answer with records: keep them. */
static int
keep_records(const struct dns_answer *ans, struct dane_tlsa *out, struct err *e)
{
	size_t i;

	if (ans->nrr > TLS_DANE_MAX)
		return err_set(e, ERR_TEMP,
		    "DANE: %s has %zu TLSA records, more than the %d "
		    "checked (fix: its operator should remove stale ones)",
		    out->name, ans->nrr, TLS_DANE_MAX);
	for (i = 0; i < ans->nrr; i++)
		out->rec[out->n++] = xstrdup(ans->rr[i].text);
	log_debug("DANE: %zu secure TLSA record(s) at %s", out->n, out->name);
	return 0;
}

/* Why an answer gives no DANE, with the fix for tls_dane on. */
static int
no_dane(const struct dns_answer *ans, const struct dane_tlsa *out,
    struct err *e)
{
	if (ans->status == DNS_FOUND || ans->status == DNS_NXDOMAIN ||
	    ans->status == DNS_NODATA) {
		if (ans->sec != DNS_SECURE)
			return err_set(e, ERR_TEMP,
			    "DANE: the TLSA lookup of %s is not DNSSEC-"
			    "validated (fix: the zone must be signed and "
			    "this resolver validating; with dns_server set "
			    "dns_trust_anchor; or set tls_dane auto)",
			    out->name);
		return err_set(e, ERR_TEMP,
		    "DANE: no TLSA records at %s (fix: its operator must "
		    "publish them, or set tls_dane auto)",
		    out->name);
	}
	/* The fix before the resolver's text, which may be long. */
	return err_set(e, ERR_TEMP,
	    "DANE: TLSA lookup of %s failed (fix: %s, or set tls_dane "
	    "auto): %s",
	    out->name,
	    ans->status == DNS_BOGUS ? "its DNSSEC signatures must be repaired"
				     : "check dns_server and the network",
	    ans->why);
}

/* HOST's secure CNAME expansion into out ("" for none). */
static void
expand_host(struct dns *d, const char *host, char *out, size_t size)
{
	struct dns_answer ans;

	out[0] = '\0';
	/* AAAA only for a name without A records: after a failure or a
	 * time-out the TLSA lookup decides, without another wait. */
	if (dns_lookup(d, host, DNS_T_A, &ans) == DNS_NODATA) {
		dns_answer_free(&ans);
		dns_lookup(d, host, DNS_T_AAAA, &ans);
	}
	if (ans.status == DNS_FOUND && ans.sec == DNS_SECURE &&
	    ans.canon[0] != '\0' && str_copy(out, ans.canon, size) == -1)
		out[0] = '\0';
	if (out[0] != '\0')
		log_debug("DANE: %s is an alias of %s", host, out);
	dns_answer_free(&ans);
}

/* The TLSA lookup at _PORT._tcp.NAME; -1 when the name is too long. */
static int
lookup_at(struct dns *d, unsigned port, const char *name, struct dane_tlsa *out,
    struct dns_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (snprintf(out->name, sizeof(out->name), "_%u._tcp.%s", port, name) >=
	    (int)sizeof(out->name))
		return -1;
	dns_lookup(d, out->name, DNS_T_TLSA, ans);
	return 0;
}

int
dane_check(const struct account *a, const char *host, struct err *e)
{
	if (a->tls_dane == CONFIG_DANE_ON && !a->tls)
		return err_set(e, ERR_CONFIG,
		    "tls_dane on needs TLS, but tls is off (fix: set tls on, "
		    "or remove tls_dane)");
	if (!a->tls || a->tls_dane == CONFIG_DANE_OFF)
		return 0;
	if (a->dns_trust_anchor != NULL &&
	    access(a->dns_trust_anchor, R_OK) == -1)
		return err_set(e, ERR_CONFIG,
		    "dns_trust_anchor %s: %s (fix: name a readable file of "
		    "DS or DNSKEY records, or remove the line)",
		    a->dns_trust_anchor, strerror(errno));
	if (a->tls_dane != CONFIG_DANE_ON)
		return 0;
	if (is_address(host))
		return err_set(e, ERR_CONFIG,
		    "tls_dane on: host %s is an address; TLSA records "
		    "belong to a name (fix: set host to the server's name)",
		    host);
	/* The lookup would name the smarthost to the DNS outside the
	 * proxy (SECURITY.md N8). */
	if (a->proxy != NULL)
		return err_set(e, ERR_CONFIG,
		    "tls_dane on: the TLSA lookup of %s would bypass the "
		    "proxy (fix: set tls_dane auto, which skips DANE through a "
		    "proxy, or off)",
		    host);
	return 0;
}

int
dane_lookup(const struct account *a, const char *host, struct dane_tlsa *out,
    struct err *e)
{
	struct dns *d = NULL;
	struct dns_answer ans;
	struct err why;
	int r;

	memset(out, 0, sizeof(*out));
	if (!a->tls || a->tls_dane == CONFIG_DANE_OFF)
		return 0;
	out->required = a->tls_dane == CONFIG_DANE_ON;
	if (dane_check(a, host, e) == -1)
		return -1;
	if (a->proxy != NULL || is_address(host)) {
		log_debug("tls_dane auto: no TLSA lookup %s",
		    a->proxy != NULL ? "through a proxy" : "for an address");
		return 0;
	}
	/* Each lookup waits at most the account's timeout, and 10 s. */
	if (dns_open_ta(a->dns_server, a->dns_trust_anchor,
		a->timeout > 0 && a->timeout * 1000ULL < DANE_DNS_TIMEOUT_MS
		    ? a->timeout * 1000
		    : DANE_DNS_TIMEOUT_MS,
		&d, e) == -1)
		return -1;
	expand_host(d, host, out->canon, sizeof(out->canon));
	r = 0;
	if (out->canon[0] != '\0') {
		r = lookup_at(d, a->port, out->canon, out, &ans);
		/* Only a validated denial sends us back to HOST's name. */
		if (r == 0 &&
		    (ans.status == DNS_NXDOMAIN || ans.status == DNS_NODATA) &&
		    ans.sec == DNS_SECURE) {
			dns_answer_free(&ans);
			r = lookup_at(d, a->port, host, out, &ans);
		}
	} else
		r = lookup_at(d, a->port, host, out, &ans);
	if (r == -1) {
		dns_close(d);
		return err_set(e, ERR_CONFIG, "tls_dane: host name too long");
	}
	if (ans.status == DNS_FOUND && ans.sec == DNS_SECURE)
		r = keep_records(&ans, out, e);
	else if (out->required)
		r = no_dane(&ans, out, e);
	else {
		no_dane(&ans, out, &why);
		if (ans.status == DNS_BOGUS)
			log_warn("tls_dane auto: the CA check applies: %s",
			    why.text);
		else
			log_debug("tls_dane auto: the CA check applies: %s",
			    why.text);
		r = 0;
	}
	dns_answer_free(&ans);
	dns_close(d);
	return r;
}

void
dane_tlsa_free(struct dane_tlsa *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->rec[i]);
	t->n = 0;
}
