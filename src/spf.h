/*
 * spf.h -- SPF (RFC 7208): check_host() for an address, a domain and a
 * sender, with the record parser and the macro expander it uses.
 *
 * Written here rather than taken from libspf2, whose Debian package has
 * a record of memory-safety CVEs in exactly this code (CVE-2021-20314:
 * stack overflow in the macro expander; CVE-2023-42118: integer underflow
 * in it) and no upstream release since 2012.  Lookups go through a
 * struct dns_resolver (dns.h), so tests can answer from a table.
 */
#ifndef POSTSEAL_SPF_H
#define POSTSEAL_SPF_H

#include <stddef.h>

#include "dns.h"

enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

#define SPF_MAX_LOOKUPS 10     /* RFC 7208 4.6.4 */
#define SPF_MAX_VOID_LOOKUPS 2 /* RFC 7208 4.6.4 */
#define SPF_MAX_WARNINGS 8
#define SPF_TEXT 256

/* The client address; IPv4-mapped IPv6 addresses are taken as IPv4. */
struct spf_ip {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
};

struct spf_outcome {
	enum spf_result result;
	char mechanism[SPF_TEXT];   /* the term that matched, as written */
	char domain[SPF_TEXT];	    /* whose record held it */
	char explanation[SPF_TEXT]; /* fail: exp= text, or "" */
	char problem[SPF_TEXT];	    /* permerror/temperror/none: why */
	unsigned lookups;	    /* DNS-querying terms evaluated */
	unsigned void_lookups;
	char warnings[SPF_MAX_WARNINGS][SPF_TEXT];
	size_t nwarnings;
};

/* Parse "192.0.2.1" or "2001:db8::1".  Returns 0 or -1. */
int spf_ip_parse(const char *s, struct spf_ip *ip);

/*
 * check_host(ip, domain, sender) with helo for %{h}.  sender is the
 * MAIL FROM address ("" or NULL: postmaster@helo).  Fills *out; the
 * result is also returned.  Never fails: DNS trouble is temperror.
 */
enum spf_result spf_check_host(const struct dns_resolver *r,
    const struct spf_ip *ip, const char *domain, const char *sender,
    const char *helo, struct spf_outcome *out);

/* "pass", "fail", ... */
const char *spf_result_name(enum spf_result r);

/*
 * Does name have the address ip (an A or AAAA record of its family)?  For
 * forward-confirmed reverse DNS.  Returns 1 or 0, or -1 when the lookup
 * failed for a temporary reason (SERVFAIL, timeout, bogus).
 */
int spf_name_has_ip(const struct dns_resolver *r, const char *name,
    const struct spf_ip *ip);

/*
 * The record parser alone (for the fuzz harness and the doctor's syntax
 * report): NULL if the record (starting "v=spf1") is well-formed, else
 * the reason.  No lookups.
 */
const char *spf_record_check(const char *rec, size_t len);

/* Macro context (RFC 7208 section 7) and the expander, exposed for tests
 * and the fuzz harness. */
struct spf_macro_ctx {
	const char *sender; /* local@domain */
	const char *domain; /* current <domain> */
	const char *helo;
	const struct spf_ip *ip;
	const char *ptr_name; /* %{p}: validated name, or NULL: "unknown" */
	long long now;	      /* %{t} */
};

/*
 * Expand the macro-string s (n bytes) into out (outsize bytes); exp is
 * nonzero in explanation text (c, r, t allowed).  Returns NULL, or the
 * syntax error.  A result that does not fit is an error too.
 */
const char *spf_expand(const struct spf_macro_ctx *m, const char *s, size_t n,
    int exp, char *out, size_t outsize);

#endif
