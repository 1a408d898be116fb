/*
 * dns.h -- DNS lookups (TXT, A, AAAA, MX, PTR, SRV, TLSA) with every outcome
 * named, and the DNSSEC status of each answer.
 *
 * The caller never has to guess whether "no record" means the record is
 * missing or the lookup failed: DNS_NXDOMAIN and DNS_NODATA are the only
 * "missing" outcomes; SERVFAIL, REFUSED, a timeout and a bogus DNSSEC
 * answer each have their own status (Postfix dns_lookup.c style).
 *
 * Modules above (spf.c, dmarc.c, doctor.c) look names up through a
 * struct dns_resolver, so unit tests can answer from a table instead.
 */
#ifndef POSTSEAL_DNS_H
#define POSTSEAL_DNS_H

#include <stddef.h>

#include "err.h"

enum dns_type {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_TLSA = 52,
};

enum dns_status {
	DNS_FOUND = 0, /* one or more records */
	DNS_NXDOMAIN,  /* no such name */
	DNS_NODATA,    /* the name exists, no record of this type */
	DNS_SERVFAIL,  /* SERVFAIL, REFUSED or another server error */
	DNS_TIMEOUT,   /* no answer in time */
	DNS_BOGUS,     /* DNSSEC validation failed */
	DNS_FAILED,    /* local: bad name, answer too large, no memory */
};

enum dns_sec {
	DNS_INSECURE = 0, /* not validated, or provably unsigned */
	DNS_SECURE,	  /* validated from a trust anchor */
	DNS_SEC_BOGUS,	  /* signatures present and wrong */
};

/* Bounds on one answer: larger answers are DNS_FAILED, never cut. */
#define DNS_MAX_RR 64
#define DNS_MAX_ANSWER_TEXT 16384

struct dns_rr {
	/* TXT: the character-strings joined (may hold any byte, NUL too:
	 * use len); MX, PTR: the name without the final dot ("" for the
	 * root, i.e. a null MX); A, AAAA: the address as text; TLSA:
	 * "usage selector type HEX"; SRV: the target ("" for ".", the
	 * service is not offered, RFC 2782). */
	char *text;
	size_t len;	      /* bytes in text */
	unsigned nstrings;    /* TXT: character-strings in the record */
	unsigned pref;	      /* MX preference, SRV priority */
	unsigned weight;      /* SRV weight */
	unsigned port;	      /* SRV port */
	int family;	      /* A: AF_INET, AAAA: AF_INET6, else 0 */
	unsigned char ip[16]; /* A: 4 bytes, AAAA: 16 */
};

struct dns_answer {
	enum dns_status status;
	enum dns_sec sec;
	struct dns_rr *rr; /* owned; nrr entries */
	size_t nrr;
	char why[160]; /* for failures: what the resolver said */
	/* The name the answer is for after CNAMEs (without the final
	 * dot), or "" when no CNAME was followed or none was reported. */
	char canon[256];
};

/* The lookup interface the modules above use.  Fills *ans (always, also
 * on failure; release with dns_answer_free()) and returns ans->status. */
typedef enum dns_status dns_lookup_fn(void *arg, const char *name,
    enum dns_type type, struct dns_answer *ans);

struct dns_resolver {
	dns_lookup_fn *lookup;
	void *arg;
};

struct dns; /* a resolver context (libunbound) */

/*
 * Start a resolver.  server is "ADDR", "ADDR:PORT", "[ADDR6]:PORT" or
 * NULL for the system's resolvers (/etc/resolv.conf); timeout_ms bounds
 * every lookup.  Fails with ERR_CONFIG for a bad server, ERR_OS if the
 * resolver cannot start.  Caller frees with dns_close().
 */
int dns_open(const char *server, unsigned timeout_ms, struct dns **out,
    struct err *e);
/* As dns_open(); validate 0 loads no trust anchor even for the system's
 * resolvers (every answer insecure, none bogus): for lookups that did
 * not validate before (DKIM keys), so a resolver that strips DNSSEC
 * data does not turn every key into a failure. */
int dns_open_opt(const char *server, unsigned timeout_ms, int validate,
    struct dns **out, struct err *e);
/* As dns_open(), validating from anchor (a file of DS or DNSKEY records
 * in zone-file syntax, dns_trust_anchor) when it is not NULL, also with
 * a server; else as dns_open().  An unreadable anchor is ERR_CONFIG. */
int dns_open_ta(const char *server, const char *anchor, unsigned timeout_ms,
    struct dns **out, struct err *e);
void dns_close(struct dns *d);

/* A struct dns_resolver that looks names up through d. */
struct dns_resolver dns_resolver_of(struct dns *d);

/* Look up name (no final dot needed); see dns_lookup_fn. */
enum dns_status dns_lookup(struct dns *d, const char *name, enum dns_type type,
    struct dns_answer *ans);

/*
 * Parse "ADDR[:PORT]" into libunbound's "ADDR@PORT" form (port 53 if
 * none).  Returns NULL, or a reason.
 */
const char *dns_parse_server(const char *s, char *out, size_t outsize);

/* The in-addr.arpa / ip6.arpa name of an address (4 or 16 bytes), without
 * the final dot.  Returns 0, or -1 if out is too small. */
int dns_reverse_name(int family, const unsigned char *ip, char *out,
    size_t outsize);

/* Append a record to ans (for resolvers and test tables): text is copied
 * (len bytes).  Returns 0, or -1 when the answer bounds are exceeded. */
int dns_answer_add(struct dns_answer *ans, const struct dns_rr *rr);

/* Parse one record's rdata (n bytes at p, names uncompressed) of the
 * given type and append it to ans.  Returns 0, or -1 when it is
 * malformed or the answer bounds are exceeded (ans unchanged). */
int dns_rdata_add(struct dns_answer *ans, enum dns_type type,
    const unsigned char *p, size_t n);

/* Sort SRV records into the order to try them (RFC 2782): priority
 * ascending, then weight descending (deterministic: the heaviest first,
 * so a printed choice does not change between runs). */
void dns_srv_sort(struct dns_answer *ans);

/* Free the records; ans may be reused.  NULL is fine. */
void dns_answer_free(struct dns_answer *ans);

/* "found", "no such name", "no data", "SERVFAIL", "timeout", ... */
const char *dns_status_name(enum dns_status s);

/* "secure", "insecure", "bogus". */
const char *dns_sec_name(enum dns_sec s);

/* Nonzero for the outcomes that say nothing about the record: a lookup
 * that must be retried later, never read as "missing". */
int dns_status_temporary(enum dns_status s);

#endif
