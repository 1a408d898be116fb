/*
 * trace.h -- parsers for the trace and authentication fields of a received
 * message: Received (RFC 5321 4.4), Authentication-Results (RFC 8601), the
 * ARC set (RFC 8617: ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results) and the DKIM-Signature tag list.
 *
 * All input is untrusted: each parser takes an unfolded field value as
 * (pointer, length), writes fixed-size NUL-terminated strings into the
 * caller's struct (over-long items are cut at the field's size and marked
 * by the parser never reading past len), and returns NULL or a reason.
 * Nothing is allocated.  Strings hold printable ASCII only: every other
 * byte becomes '?'.
 */
#ifndef POSTSEAL_TRACE_H
#define POSTSEAL_TRACE_H

#include <stddef.h>

#define TRACE_NAME 256
#define TRACE_MAX_RESULTS 16 /* methods in one Authentication-Results */
#define TRACE_MAX_PROPS 8    /* properties of one method */

struct trace_received {
	char from[TRACE_NAME];	    /* from-domain: the name the client gave */
	char from_rdns[TRACE_NAME]; /* the name in the TCP-info comment */
	char ip[64];		    /* the address in the TCP-info, or "" */
	char by[TRACE_NAME];
	char with[32];	 /* protocol: ESMTP, ESMTPS, ESMTPSA, LMTP ... */
	char tls[32];	 /* "TLSv1.3" where stated */
	char cipher[80]; /* "TLS_AES_256_GCM_SHA384" where stated */
	long long time;	 /* the date, seconds since 1970 UTC */
	int has_time;
};

/*
 * Parse a Received value ("from a (b [ip]) by c with ESMTPS ...; date").
 * Postfix, Exim, Sendmail and Microsoft TLS notes are recognised.  A value
 * without "from" or "by" is fine (e.g. "by host with SMTP id x; date").
 * Returns NULL, or the reason when the date is missing or malformed (the
 * other fields are still filled).
 */
const char *trace_received_parse(const char *v, size_t n,
    struct trace_received *r);

/*
 * An RFC 5322 date-time ("Tue, 1 Dec 2026 10:00:00 +0000", obsolete zone
 * names and a missing weekday or seconds accepted) to seconds since 1970
 * UTC.  Returns NULL or the reason.
 */
const char *trace_date_parse(const char *s, size_t n, long long *out);

struct trace_prop {
	char ptype[16]; /* smtp, header, body, policy */
	char name[32];	/* mailfrom, from, d, i, b ... */
	char value[TRACE_NAME];
};

struct trace_method {
	char method[32]; /* dkim, spf, dmarc, arc ... (lower case) */
	char result[32]; /* pass, fail, none ... (lower case) */
	char reason[128];
	struct trace_prop prop[TRACE_MAX_PROPS];
	size_t nprop;
};

struct trace_authres {
	unsigned instance; /* ARC-Authentication-Results i=, else 0 */
	char authserv_id[TRACE_NAME];
	struct trace_method m[TRACE_MAX_RESULTS];
	size_t nm;
	int more; /* methods past TRACE_MAX_RESULTS were dropped */
};

/*
 * Parse an Authentication-Results value (arc nonzero: an
 * ARC-Authentication-Results value, "i=N; " first).  "none" gives nm 0.
 * Returns NULL or the reason (authres is filled up to the error).
 */
const char *trace_authres_parse(const char *v, size_t n, int arc,
    struct trace_authres *ar);

/* The value of the property ptype.name of m, or NULL. */
const char *trace_method_prop(const struct trace_method *m, const char *ptype,
    const char *name);

/* A tag=value list (DKIM-Signature, ARC-Seal, ARC-Message-Signature). */
struct trace_tags {
	unsigned i; /* i= of the ARC fields (1..50), 0 if none */
	char cv[8]; /* ARC-Seal cv=: none, pass, fail */
	char d[TRACE_NAME];
	char s[64];
	char a[32];
	char h[1024]; /* h= with blanks removed, lower case */
	int has_l;
	unsigned long long l;
};

/*
 * Parse the tags of a DKIM-Signature (arc 0) or ARC-Seal /
 * ARC-Message-Signature (arc 1: i= is an instance number 1..50, RFC 8617
 * 4.2.1) value.  Only the tags above are kept.  Returns NULL or the
 * reason.
 */
const char *trace_tags_parse(const char *v, size_t n, int arc,
    struct trace_tags *t);

/* Nonzero if the colon-separated list (as t->h) names field (any case). */
int trace_list_has(const char *list, const char *field);

#endif
