/*
 * dmarc.h -- DMARC (RFC 7489): the policy record, its discovery with the
 * organisational-domain fallback (the Public Suffix List, via libpsl),
 * and identifier alignment.
 */
#ifndef POSTSEAL_DMARC_H
#define POSTSEAL_DMARC_H

#include <stddef.h>

#include "dns.h"

enum dmarc_policy {
	DMARC_P_NONE = 0,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT,
};

enum dmarc_align {
	DMARC_RELAXED = 0,
	DMARC_STRICT,
};

#define DMARC_MAX_URIS 8
#define DMARC_URI_LEN 256

struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp; /* p when not given */
	int has_sp;
	unsigned pct; /* 0..100, default 100 */
	enum dmarc_align adkim, aspf;
	char fo[16];	       /* "0" default */
	unsigned long long ri; /* seconds, default 86400 */
	char rua[DMARC_MAX_URIS][DMARC_URI_LEN];
	size_t nrua;
	char ruf[DMARC_MAX_URIS][DMARC_URI_LEN];
	size_t nruf;
};

/*
 * Parse a DMARC record ("v=DMARC1; p=..."), len bytes.  Returns NULL, or
 * the reason it is not a valid record (which a receiver would ignore).
 */
const char *dmarc_parse(const char *txt, size_t len, struct dmarc_record *r);

/* Nonzero if the TXT record starts with the v=DMARC1 tag (6.6.3). */
int dmarc_is_record(const char *txt, size_t len);

/*
 * The organisational domain of domain (RFC 7489 3.2: one label below its
 * public suffix) into out.  Returns 0, or -1 when no Public Suffix List
 * can be loaded or domain is not a name.
 */
int dmarc_org_domain(const char *domain, char *out, size_t outsize);

/*
 * Whether domain id (DKIM d=, or the SPF-authenticated domain) aligns
 * with the From domain: the same name (strict), or the same
 * organisational domain (relaxed).  1 aligned, 0 not, -1 no PSL.
 */
int dmarc_aligned(const char *id, const char *from, enum dmarc_align mode);

enum dmarc_status {
	DMARC_FOUND = 0, /* a valid record applies */
	DMARC_MISSING,	 /* none at the From domain nor its org domain */
	DMARC_INVALID,	 /* a record was found and is not valid */
	DMARC_MULTIPLE,	 /* more than one record: none applies (6.6.3) */
	DMARC_TEMP,	 /* a lookup failed: SERVFAIL, timeout, bogus */
};

struct dmarc_result {
	enum dmarc_status status;
	struct dmarc_record rec;
	enum dmarc_policy policy; /* what applies to the From domain */
	char where[300];	  /* the _dmarc name the record came from */
	char org[256];		  /* the From domain's organisational domain */
	int fallback;		  /* found at the org domain, not From's */
	enum dns_sec sec;
	char problem[256]; /* for everything but DMARC_FOUND */
};

/*
 * Policy discovery for from_domain (6.6.3): _dmarc.<from>, then
 * _dmarc.<organisational domain>.  Fills *out; returns out->status.
 */
enum dmarc_status dmarc_lookup(const struct dns_resolver *r,
    const char *from_domain, struct dmarc_result *out);

/* "none", "quarantine", "reject". */
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
