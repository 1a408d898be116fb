/*
 * dane.h -- the TLSA records of a smarthost for tls_dane (RFC 7672), and
 * what each DNS outcome means for the connection.
 */
#ifndef POSTSEAL_DANE_H
#define POSTSEAL_DANE_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "tls.h"

struct dane_tlsa {
	char *rec[TLS_DANE_MAX]; /* "USAGE SELECTOR MTYPE HEX", owned */
	size_t n;		 /* 0: no DANE, the CA check applies */
	int required;		 /* tls_dane on */
	char name[280];		 /* "_PORT._tcp.HOST" the records came from */
	char canon[256];	 /* HOST's secure CNAME expansion, or "" */
};

/*
 * For a->tls_dane on or auto (and TLS on), look up the TLSA records of
 * _PORT._tcp.HOST through a's dns_server and dns_trust_anchor.  When
 * HOST's address lookup is secure and follows a CNAME, the expanded
 * name's records come first, HOST's when it has none (RFC 7671 7).  Only a
 * DNSSEC-validated (secure) answer yields records.  tls_dane auto: any
 * other outcome (no records, an insecure, bogus or failed lookup) sets
 * out->n to 0, and the normal CA check applies, never a weaker one.
 * tls_dane on: those outcomes are ERR_TEMP (the mail is kept) with the
 * fix in the text; what dane_check() refuses is ERR_CONFIG.  No lookup
 * is made through a proxy or for an address (auto: no DANE).  An
 * unreadable dns_trust_anchor or a bad dns_server is ERR_CONFIG.
 * More than TLS_DANE_MAX records are ERR_TEMP in both modes.  Release
 * with dane_tlsa_free() (also after a failure).
 */
int dane_lookup(const struct account *a, const char *host,
    struct dane_tlsa *out, struct err *e);

/* With tls_dane on or auto, an unreadable dns_trust_anchor; with on,
 * tls off, host an IP address or a proxy (the lookup would leave
 * outside it): ERR_CONFIG naming the fix.  0 otherwise. */
int dane_check(const struct account *a, const char *host, struct err *e);

void dane_tlsa_free(struct dane_tlsa *t);

#endif
