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

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The functions come through dlopen() (curl_load()), not the macros. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "buf.h"
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
 * libcurl is loaded by dlopen() when the first token request is made, not
 * linked: linked, it and the ~20 libraries it pulls in (Kerberos, LDAP,
 * SSH, RTMP, HTTP/2, brotli, ...) cost every run ~10.7 M instructions of
 * dynamic linking (callgrind: an empty program linked with our libraries
 * 16.4 M, without libcurl 5.7 M), half of a whole PLAIN submission, while
 * only OAuth2 token requests use it.  CURL_SONAME is the library that
 * pkg-config's libcurl names (configure.ac).
 */
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} lc;

static int
curl_sym(void *lib, const char *name, void *fp)
{
	void *p = dlsym(lib, name);

	if (p == NULL)
		return -1;
	memcpy(fp, &p, sizeof(p));
	return 0;
}

static int
curl_load(struct err *e)
{
	void *lib;

	if (lc.slist_free_all != NULL)
		return 0;
	if ((lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return err_set(e, ERR_OS, "cannot load libcurl (%s): %s",
		    CURL_SONAME, dlerror());
	if (curl_sym(lib, "curl_global_init", &lc.global_init) == -1 ||
	    curl_sym(lib, "curl_easy_init", &lc.easy_init) == -1 ||
	    curl_sym(lib, "curl_easy_setopt", &lc.easy_setopt) == -1 ||
	    curl_sym(lib, "curl_easy_perform", &lc.easy_perform) == -1 ||
	    curl_sym(lib, "curl_easy_getinfo", &lc.easy_getinfo) == -1 ||
	    curl_sym(lib, "curl_easy_cleanup", &lc.easy_cleanup) == -1 ||
	    curl_sym(lib, "curl_easy_strerror", &lc.easy_strerror) == -1 ||
	    curl_sym(lib, "curl_slist_append", &lc.slist_append) == -1 ||
	    curl_sym(lib, "curl_slist_free_all", &lc.slist_free_all) == -1) {
		memset(&lc, 0, sizeof(lc));
		return err_set(e, ERR_OS, "%s lacks the functions of libcurl",
		    CURL_SONAME);
	}
	return 0; /* never unloaded */
}

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init lc.global_init
#define curl_easy_init lc.easy_init
#define curl_easy_setopt lc.easy_setopt
#define curl_easy_perform lc.easy_perform
#define curl_easy_getinfo lc.easy_getinfo
#define curl_easy_cleanup lc.easy_cleanup
#define curl_easy_strerror lc.easy_strerror
#define curl_slist_append lc.slist_append
#define curl_slist_free_all lc.slist_free_all

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
		    curl_easy_strerror(c));
	return err_set(e, ERR_TEMP, "%s: %s", url,
	    eb[0] != '\0' ? eb : curl_easy_strerror(c));
}

static void
curl_setup(CURL *c, const struct http_req *rq, struct http *h, char *eb)
{
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->trust_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->trust_file);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, rq->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, rq->timeout);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "postseal/" PACKAGE_VERSION);
	if (rq->post != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->post_len);
	} else
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, eb);
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

	if (curl_load(e) == -1)
		return -1;
	if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_OS, "cannot initialise libcurl");
	inited = 1;
	memset(h, 0, sizeof(*h));
	buf_init(&h->body, rq->max);
	if ((c = curl_easy_init()) == NULL)
		return err_set(e, ERR_OS, "cannot initialise libcurl");
	if (rq->accept != NULL) {
		snprintf(accept, sizeof(accept), "Accept: %s", rq->accept);
		hdrs = curl_slist_append(hdrs, accept);
	}
	curl_setup(c, rq, h, eb);
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (rq->resolve != NULL &&
	    (res = curl_slist_append(NULL, rq->resolve)) != NULL)
		curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	log_debug("%s: %s %s", rq->what != NULL ? rq->what : "http",
	    rq->post != NULL ? "POST" : "GET", rq->url);
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		r = curl_err(rq, rc, h, eb, e);
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(res);
	return r;
}
