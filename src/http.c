/*
 * http.c -- HTTPS requests through libcurl (http.h).
 *
 * Purpose: the one place that drives libcurl, for OAuth2 token requests
 * (oauth2.c) and autoconfig documents (postseal --configure).  The only
 * file that includes curl.h.
 *
 * Invariants: https only, the peer verified, no redirect followed, the
 * body capped by the caller's max.
 *
 * Failure policy: network and TLS failures are ERR_TEMP; a URL libcurl
 * refuses is ERR_CONFIG; a missing libcurl is ERR_OS.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

/* The functions come through dlopen() (dl.h), not the macros. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "buf.h"
#include "dl.h"
#include "http.h"
#include "log.h"

static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;

	if (buf_add(&h->body, p, n) == -1) {
		h->too_big = 1;
		return 0; /* aborts the transfer */
	}
	(void)size; /* always 1 (libcurl docs) */
	return n;
}

/* Retry-After: delay-seconds (RFC 9110 10.2.3); dates are ignored. */
static size_t
http_header(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	static const char name[] = "retry-after:";
	char v[16];
	size_t i = sizeof(name) - 1, j = 0;

	(void)size;
	if (n <= i || ascii_ncasecmp(p, name, i) != 0)
		return n;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (i < n && j + 1 < sizeof(v) && p[i] >= '0' && p[i] <= '9')
		v[j++] = p[i++];
	v[j] = '\0';
	if (j > 0 && parse_uint_str(v, 86400, &h->retry_after) == -1)
		h->retry_after = 0;
	return n;
}

/*
 * libcurl is loaded on first use (dl.h), not linked: linked, it and the ~20
 * libraries it pulls in (Kerberos, LDAP, SSH, RTMP, HTTP/2, brotli, ...)
 * cost every run ~10.7 M instructions of dynamic linking (callgrind: an
 * empty program linked with our libraries 16.4 M, without libcurl 5.7 M),
 * half of a whole PLAIN submission, while only OAuth2 token requests and
 * autoconfig use it.
 */
/* clang-format off */
#define CURL_FUNCTIONS(X) X(curl_easy_cleanup) X(curl_easy_getinfo) \
	X(curl_easy_init) X(curl_easy_perform) X(curl_easy_setopt) \
	X(curl_easy_strerror) X(curl_global_init) X(curl_slist_append) \
	X(curl_slist_free_all)
/* clang-format on */
DL_LIBRARY(CURL_FUNCTIONS);

static int
curl_err(const struct http_req *rq, CURLcode c, const struct http *h,
    const char *eb, struct err *e)
{
	const char *url = rq->url;

	if (h->too_big)
		return err_set(e, ERR_TEMP,
		    "%s: response larger than %zu bytes", url, rq->max);
	if (c == CURLE_UNSUPPORTED_PROTOCOL || c == CURLE_URL_MALFORMAT)
		return err_set(e, ERR_CONFIG, "%s: %s", url,
		    lib.curl_easy_strerror(c));
	return err_set(e, ERR_TEMP, "%s: %s", url,
	    eb[0] != '\0' ? eb : lib.curl_easy_strerror(c));
}

static void
curl_setup(CURL *c, const struct http_req *rq, struct http *h, char *eb)
{
	lib.curl_easy_setopt(c, CURLOPT_URL, rq->url);
	lib.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	lib.curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	lib.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lib.curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	lib.curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->trust_file != NULL)
		lib.curl_easy_setopt(c, CURLOPT_CAINFO, rq->trust_file);
	lib.curl_easy_setopt(c, CURLOPT_TIMEOUT, rq->timeout);
	lib.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, rq->timeout);
	lib.curl_easy_setopt(c, CURLOPT_USERAGENT, "postseal/" PACKAGE_VERSION);
	if (rq->post != NULL) {
		lib.curl_easy_setopt(c, CURLOPT_POST, 1L);
		lib.curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->post);
		lib.curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
		    (long)rq->post_len);
	} else
		lib.curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	lib.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	lib.curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	lib.curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header);
	lib.curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	lib.curl_easy_setopt(c, CURLOPT_ERRORBUFFER, eb);
}

int
http_request(const struct http_req *rq, struct http *h, struct err *e)
{
	static int inited;
	char eb[CURL_ERROR_SIZE] = "", accept[128];
	struct curl_slist *hdrs = NULL, *res = NULL;
	CURLcode rc;
	CURL *c;
	int r = 0;

	if (DL_LOAD(CURL_SONAME, e) == -1)
		return -1;
	if (!inited && lib.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_OS, "cannot initialise libcurl");
	inited = 1;
	memset(h, 0, sizeof(*h));
	buf_init(&h->body, rq->max);
	if ((c = lib.curl_easy_init()) == NULL)
		return err_set(e, ERR_OS, "cannot initialise libcurl");
	if (rq->accept != NULL) {
		snprintf(accept, sizeof(accept), "Accept: %s", rq->accept);
		hdrs = lib.curl_slist_append(hdrs, accept);
	}
	curl_setup(c, rq, h, eb);
	if (hdrs != NULL)
		lib.curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (rq->resolve != NULL &&
	    (res = lib.curl_slist_append(NULL, rq->resolve)) != NULL)
		lib.curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	log_debug("%s: %s %s", rq->what != NULL ? rq->what : "http",
	    rq->post != NULL ? "POST" : "GET", rq->url);
	if ((rc = lib.curl_easy_perform(c)) != CURLE_OK)
		r = curl_err(rq, rc, h, eb, e);
	else
		lib.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	lib.curl_easy_cleanup(c);
	lib.curl_slist_free_all(hdrs);
	lib.curl_slist_free_all(res);
	return r;
}
