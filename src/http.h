/*
 * http.h -- one HTTPS request through libcurl, for oauth2.c (token
 * requests) and postseal --configure (autoconfig documents).
 *
 * Only https: URLs; the peer verified against the system's trust store
 * or trust_file; no redirect followed (a 3xx is returned as it is); the
 * body bounded by max bytes (larger aborts the transfer).
 */
#ifndef POSTSEAL_HTTP_H
#define POSTSEAL_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct http_req {
	const char *url;
	const char *trust_file; /* CA bundle, or NULL: the system's */
	long timeout;		/* seconds, for connecting and in all */
	const char *post;	/* the body to POST, or NULL: GET */
	size_t post_len;
	const char *accept; /* the Accept header's value, or NULL */
	size_t max;	    /* bytes of body at most */
	const char *what;   /* prefix of the debug log line */
	/* "HOST:PORT:ADDR[,ADDR...]": the addresses to connect to for HOST
	 * (looked up by the caller's resolver, so libcurl asks no DNS
	 * server itself), or NULL */
	const char *resolve;
};

struct http {
	struct buf body;
	long status;
	unsigned long long retry_after; /* seconds; 0: none */
	int too_big;
};

/*
 * Make the request; h->body (wiped or reset by the caller) gets the body
 * and h->status the HTTP status.  Fails with ERR_TEMP (network, TLS, a
 * body over max), ERR_CONFIG (a URL libcurl refuses) or ERR_OS (libcurl
 * cannot be loaded).
 */
int http_request(const struct http_req *rq, struct http *h, struct err *e);

#endif
