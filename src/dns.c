/*
 * dns.c -- DNS lookups through libunbound; the only file that includes the
 * resolver library (STYLE.md, "Growing the house").
 *
 * Why libunbound (Debian's libunbound-dev) and not the others:
 *  - it validates DNSSEC itself and says per answer whether the data is
 *    secure, insecure or bogus (with the reason), which the doctor reports;
 *    ldns and c-ares only carry the AD bit of an upstream we cannot trust,
 *    and glibc's res_nquery() + ns_parse() offers neither validation nor
 *    a per-query timeout;
 *  - ub_ctx_set_fwd() points one context at a given server and port
 *    (the "dns_server" keyword: tests, split horizon) without touching
 *    the process-wide _res state res_nquery() shares;
 *  - ub_resolve_async() + ub_fd() let us bound every lookup with our own
 *    deadline (and, later, run A and AAAA lookups side by side for Happy
 *    Eyeballs), and the answer comes back parsed into rdata, so all we
 *    unpack is the rdata of the types we asked for, with bounds checks;
 *  - it is the NLnet Labs resolver, maintained, and packaged in Debian 12.
 *
 * Outcomes (dns.h): NXDOMAIN and NODATA are the only "missing" answers.
 * SERVFAIL/REFUSED, our deadline passing, and bogus DNSSEC data are their
 * own statuses, and the callers treat them as "try again", never as a
 * missing record (Postfix dns_lookup.c).
 *
 * DNSSEC: with the system's resolvers, the root trust anchor of Debian's
 * dns-root-data (/usr/share/dns/root.key) is loaded when present, so
 * answers can be "secure".  With dns_server we load no anchor: such a
 * server usually serves private or test zones that cannot chain to the
 * root, and every answer is "insecure" (never "bogus" for that reason),
 * unless dns_trust_anchor names the anchor of those zones (a file of DS
 * or DNSKEY records): then answers under it validate from that anchor,
 * as they would from the root's (tls_dane needs secure TLSA answers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "buf.h"
#include "dl.h"
#include "dns.h"

/* libunbound, loaded by open_ctx() on first use (dl.h). */
/* clang-format off */
#define UNBOUND_FUNCTIONS(X) X(ub_cancel) X(ub_ctx_add_ta_file) \
	X(ub_ctx_async) X(ub_ctx_create) X(ub_ctx_delete) \
	X(ub_ctx_resolvconf) X(ub_ctx_set_fwd) X(ub_ctx_set_option) X(ub_fd) \
	X(ub_poll) X(ub_process) X(ub_resolve_async) X(ub_resolve_free) \
	X(ub_strerror)
/* clang-format on */
DL_LIBRARY(UNBOUND_FUNCTIONS);

#define ROOT_KEY "/usr/share/dns/root.key"

struct dns {
	struct ub_ctx *ctx;
	unsigned timeout_ms;
};

/* ---- helpers without the library ---- */

const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_FOUND:
		return "found";
	case DNS_NXDOMAIN:
		return "no such name";
	case DNS_NODATA:
		return "no record of that type";
	case DNS_SERVFAIL:
		return "server failure";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_BOGUS:
		return "DNSSEC validation failed";
	case DNS_FAILED:
		break;
	}
	return "lookup failed";
}

const char *
dns_sec_name(enum dns_sec s)
{
	if (s == DNS_SECURE)
		return "secure";
	if (s == DNS_SEC_BOGUS)
		return "bogus";
	return "insecure";
}

int
dns_status_temporary(enum dns_status s)
{
	return s == DNS_SERVFAIL || s == DNS_TIMEOUT || s == DNS_BOGUS ||
	       s == DNS_FAILED;
}

int
dns_answer_add(struct dns_answer *ans, const struct dns_rr *rr)
{
	size_t i, total = rr->len;
	struct dns_rr *n;

	if (ans->nrr >= DNS_MAX_RR)
		return -1;
	for (i = 0; i < ans->nrr; i++)
		total += ans->rr[i].len;
	if (total > DNS_MAX_ANSWER_TEXT)
		return -1;
	ans->rr = xreallocarray(ans->rr, ans->nrr + 1, sizeof(*ans->rr));
	n = &ans->rr[ans->nrr++];
	*n = *rr;
	n->text = xcalloc(1, rr->len + 1);
	if (rr->len > 0)
		memcpy(n->text, rr->text, rr->len);
	return 0;
}

void
dns_answer_free(struct dns_answer *ans)
{
	size_t i;

	if (ans == NULL)
		return;
	for (i = 0; i < ans->nrr; i++)
		free(ans->rr[i].text);
	free(ans->rr);
	ans->rr = NULL;
	ans->nrr = 0;
}

int
dns_reverse_name(int family, const unsigned char *ip, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	struct buf b;
	int i, r = 0;
	char *s;

	buf_init(&b, 80);
	if (family == AF_INET) {
		for (i = 3; i >= 0 && r == 0; i--)
			r = buf_printf(&b, "%u.", ip[i]);
		r = r == 0 ? buf_addstr(&b, "in-addr.arpa") : r;
	} else {
		for (i = 15; i >= 0 && r == 0; i--)
			r = buf_printf(&b, "%c.%c.", hex[ip[i] & 15],
			    hex[ip[i] >> 4]);
		r = r == 0 ? buf_addstr(&b, "ip6.arpa") : r;
	}
	if (r == 0) {
		s = b.data;
		r = str_copy(out, s, outsize);
	}
	buf_reset(&b);
	return r;
}

const char *
dns_parse_server(const char *s, char *out, size_t outsize)
{
	unsigned char ip[16];
	unsigned long long port = 53;
	const char *colon, *addr_end, *p;
	char addr[64];

	if (s[0] == '[') {
		if ((addr_end = strchr(s, ']')) == NULL)
			return "missing ']'";
		p = addr_end[1] == ':' ? addr_end + 2 : NULL;
		if (addr_end[1] != '\0' && p == NULL)
			return "expected [ADDRESS]:PORT";
		s++;
	} else if ((colon = strchr(s, ':')) != NULL &&
		   strchr(colon + 1, ':') == NULL) {
		addr_end = colon;
		p = colon + 1;
	} else {
		addr_end = s + strlen(s);
		p = NULL;
	}
	if ((size_t)(addr_end - s) >= sizeof(addr) || addr_end == s)
		return "expected an IP address";
	memcpy(addr, s, (size_t)(addr_end - s));
	addr[addr_end - s] = '\0';
	if (inet_pton(AF_INET, addr, ip) != 1 &&
	    inet_pton(AF_INET6, addr, ip) != 1)
		return "expected an IP address (not a host name)";
	if (p != NULL && (parse_uint_str(p, 65535, &port) == -1 || port == 0))
		return "expected a port from 1 to 65535";
	if (snprintf(out, outsize, "%s@%llu", addr, port) >= (int)outsize)
		return "too long";
	return NULL;
}

/* ---- the resolver context ---- */

static int
ub_fail(struct err *e, enum err_kind kind, const char *what, int r)
{
	return err_set(e, kind, "DNS resolver: %s: %s", what,
	    lib.ub_strerror(r));
}

/*
 * Names libunbound answers itself (RFC 6761, 6303, 8375) that a given
 * server (a test server, a split-horizon or home resolver) may well
 * serve: the test TLD, home.arpa, the private (unblock-lan-zones) and
 * documentation address ranges' reverse zones.  localhost stays local,
 * and so is 127.0.0.1's reverse name (localhost); the rest of
 * 127.in-addr.arpa is the given server's, so the doctor reports the PTR
 * of a smarthost on 127.0.0.2 and up as that server has it.
 */
static const char *const forwarded_zones[] = {"test.", "home.arpa.",
    "2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
    "113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
    "127.in-addr.arpa."};

static int
use_server(struct ub_ctx *ctx, const char *fwd)
{
	char zone[64];
	size_t i;
	int r;

	/* A forwarder on loopback is the point of dns_server. */
	if ((r = lib.ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) !=
		0 ||
	    (r = lib.ub_ctx_set_option(ctx, "unblock-lan-zones:", "yes")) != 0)
		return r;
	for (i = 0; i < sizeof(forwarded_zones) / sizeof(forwarded_zones[0]);
	     i++) {
		snprintf(zone, sizeof(zone), "%s transparent",
		    forwarded_zones[i]);
		if ((r = lib.ub_ctx_set_option(ctx, "local-zone:", zone)) != 0)
			return r;
	}
	if ((r = lib.ub_ctx_set_option(ctx,
		 "local-data:", "1.0.0.127.in-addr.arpa. PTR localhost.")) != 0)
		return r;
	return lib.ub_ctx_set_fwd(ctx, fwd);
}

static int open_ctx(const char *server, const char *anchor, int given,
    unsigned timeout_ms, struct dns **out, struct err *e);

int
dns_open(const char *server, unsigned timeout_ms, struct dns **out,
    struct err *e)
{
	return dns_open_opt(server, timeout_ms, 1, out, e);
}

int
dns_open_opt(const char *server, unsigned timeout_ms, int validate,
    struct dns **out, struct err *e)
{
	return open_ctx(server, validate ? ROOT_KEY : NULL, 0, timeout_ms, out,
	    e);
}

int
dns_open_ta(const char *server, const char *anchor, unsigned timeout_ms,
    struct dns **out, struct err *e)
{
	if (anchor != NULL && access(anchor, R_OK) == -1)
		return err_set(e, ERR_CONFIG,
		    "dns_trust_anchor %s: %s (fix: name a readable file of "
		    "DS or DNSKEY records, or remove the line)",
		    anchor, strerror(errno));
	return open_ctx(server, anchor != NULL ? anchor : ROOT_KEY,
	    anchor != NULL, timeout_ms, out, e);
}

/* anchor: a trust anchor file or NULL; given: it was configured (used
 * with dns_server too, and required to exist), else the root's, loaded
 * for the system's resolvers when present. */
static int
open_ctx(const char *server, const char *anchor, int given, unsigned timeout_ms,
    struct dns **out, struct err *e)
{
	struct dns *d = NULL;
	const char *why;
	char fwd[96];
	int r;

	*out = NULL;
	if (server != NULL &&
	    (why = dns_parse_server(server, fwd, sizeof(fwd))) != NULL)
		return err_set(e, ERR_CONFIG, "dns_server %s: %s", server, why);
	if (DL_LOAD(UNBOUND_SONAME, e) == -1)
		return err_prefix(e, "DNS resolver");
	d = xcalloc(1, sizeof(*d));
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	if ((d->ctx = lib.ub_ctx_create()) == NULL) {
		free(d);
		return err_set(e, ERR_OS, "DNS resolver: cannot start");
	}
	/* Threads, not a forked helper process, for async lookups. */
	if ((r = lib.ub_ctx_async(d->ctx, 1)) != 0)
		goto fail;
	if (server != NULL) {
		if ((r = use_server(d->ctx, fwd)) != 0)
			goto fail;
	} else if ((r = lib.ub_ctx_resolvconf(d->ctx, NULL)) != 0)
		goto fail;
	if (anchor != NULL && (given || server == NULL) &&
	    access(anchor, R_OK) == 0 &&
	    (r = lib.ub_ctx_add_ta_file(d->ctx, anchor)) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	ub_fail(e, ERR_OS, server != NULL ? server : "system resolvers", r);
	dns_close(d);
	return -1;
}

void
dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	lib.ub_ctx_delete(d->ctx);
	free(d);
}

static enum dns_status
lookup_cb(void *arg, const char *name, enum dns_type type,
    struct dns_answer *ans)
{
	return dns_lookup(arg, name, type, ans);
}

struct dns_resolver
dns_resolver_of(struct dns *d)
{
	struct dns_resolver r = {lookup_cb, d};

	return r;
}

static int valid_query_name(const char *name);

/* ---- unpacking rdata (uncompressed: libunbound expands names) ---- */

/* A wire-format name at p (n bytes) to text without the final dot.  A
 * label holding a dot, a blank or a byte outside printable ASCII makes
 * the answer malformed: such a name could not be printed or looked up
 * safely (host names are letters, digits and hyphens; SPF's test names
 * use other printable characters, which are kept). */
static int
unpack_name(const unsigned char *p, size_t n, struct buf *out)
{
	size_t i = 0, labels = 0, k;

	for (;;) {
		unsigned len;

		if (i >= n)
			return -1;
		len = p[i++];
		if (len == 0)
			break;
		if (len > 63 || len > n - i || ++labels > 127)
			return -1;
		if (out->len > 0 && buf_addch(out, '.') == -1)
			return -1;
		for (k = 0; k < len; k++)
			if (p[i + k] <= ' ' || p[i + k] >= 0x7f ||
			    p[i + k] == '.')
				return -1;
		if (buf_add(out, p + i, len) == -1)
			return -1;
		i += len;
	}
	return i == n ? 0 : -1;
}

static int
unpack_txt(const unsigned char *p, size_t n, struct buf *out,
    unsigned *nstrings)
{
	size_t i = 0;

	*nstrings = 0;
	while (i < n) {
		size_t len = p[i++];

		if (len > n - i || buf_add(out, p + i, len) == -1)
			return -1;
		i += len;
		(*nstrings)++;
	}
	return *nstrings > 0 ? 0 : -1;
}

static int
unpack_tlsa(const unsigned char *p, size_t n, struct buf *out)
{
	size_t i;

	if (n < 4 || buf_printf(out, "%u %u %u ", p[0], p[1], p[2]) == -1)
		return -1;
	for (i = 3; i < n; i++)
		if (buf_printf(out, "%02x", p[i]) == -1)
			return -1;
	return 0;
}

static int
unpack_one(enum dns_type type, const unsigned char *p, size_t n,
    struct dns_rr *rr, struct buf *b)
{
	char addr[INET6_ADDRSTRLEN];

	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (n != (type == DNS_T_A ? 4u : 16u))
			return -1;
		rr->family = type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(rr->ip, p, n);
		if (inet_ntop(rr->family, p, addr, sizeof(addr)) == NULL)
			return -1;
		return buf_addstr(b, addr);
	case DNS_T_TXT:
		return unpack_txt(p, n, b, &rr->nstrings);
	case DNS_T_MX:
		if (n < 3)
			return -1;
		rr->pref = (unsigned)p[0] << 8 | p[1];
		return unpack_name(p + 2, n - 2, b);
	case DNS_T_PTR:
		return unpack_name(p, n, b);
	case DNS_T_SRV:
		/* priority, weight, port, then the target: "." (a lone
		 * root label) says the service is not offered here. */
		if (n < 7)
			return -1;
		rr->pref = (unsigned)p[0] << 8 | p[1];
		rr->weight = (unsigned)p[2] << 8 | p[3];
		rr->port = (unsigned)p[4] << 8 | p[5];
		return unpack_name(p + 6, n - 6, b);
	case DNS_T_TLSA:
		return unpack_tlsa(p, n, b);
	}
	return -1;
}

static enum dns_status
set_status(struct dns_answer *ans, enum dns_status s, const char *why)
{
	ans->status = s;
	str_copy(ans->why, why != NULL ? why : dns_status_name(s),
	    sizeof(ans->why));
	if (s != DNS_FOUND)
		dns_answer_free(ans);
	return s;
}

int
dns_rdata_add(struct dns_answer *ans, enum dns_type type,
    const unsigned char *p, size_t n)
{
	char empty[1] = "";
	struct dns_rr rr;
	struct buf b;
	int r;

	memset(&rr, 0, sizeof(rr));
	buf_init(&b, DNS_MAX_ANSWER_TEXT);
	r = unpack_one(type, p, n, &rr, &b);
	if (r == 0) {
		rr.text = b.data != NULL ? b.data : empty;
		rr.len = b.len;
		r = dns_answer_add(ans, &rr);
	}
	buf_reset(&b);
	return r;
}

static int
srv_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->text, y->text);
}

void
dns_srv_sort(struct dns_answer *ans)
{
	if (ans->nrr > 1)
		qsort(ans->rr, ans->nrr, sizeof(ans->rr[0]), srv_cmp);
}

static enum dns_status
unpack_result(const struct ub_result *res, enum dns_type type,
    struct dns_answer *ans)
{
	size_t i;
	int r = 0;

	for (i = 0; res->data[i] != NULL && r == 0; i++)
		r = dns_rdata_add(ans, type,
		    (const unsigned char *)res->data[i], (size_t)res->len[i]);
	if (r == -1)
		return set_status(ans, DNS_FAILED,
		    i > DNS_MAX_RR ? "too many records" : "malformed answer");
	return set_status(ans, DNS_FOUND, NULL);
}

/* The CNAME target libunbound reports, when it differs from the query
 * (either may end in a dot). */
static void
set_canon(struct dns_answer *ans, const char *qname, const char *canon)
{
	size_t n, q;

	ans->canon[0] = '\0';
	if (canon == NULL || qname == NULL ||
	    str_copy(ans->canon, canon, sizeof(ans->canon)) == -1) {
		ans->canon[0] = '\0';
		return;
	}
	n = strlen(ans->canon);
	if (n > 0 && ans->canon[n - 1] == '.')
		ans->canon[--n] = '\0';
	q = strlen(qname);
	if (q > 0 && qname[q - 1] == '.')
		q--;
	if ((n == q && strncasecmp(ans->canon, qname, n) == 0) ||
	    !valid_query_name(ans->canon))
		ans->canon[0] = '\0';
}

static enum dns_status
classify(const struct ub_result *res, enum dns_type type,
    struct dns_answer *ans)
{
	char why[sizeof(ans->why)];

	ans->sec = res->secure	? DNS_SECURE
		   : res->bogus ? DNS_SEC_BOGUS
				: DNS_INSECURE;
	set_canon(ans, res->qname, res->canonname);
	if (res->bogus) {
		snprintf(why, sizeof(why), "DNSSEC validation failed: %s",
		    res->why_bogus != NULL ? res->why_bogus : "bogus");
		return set_status(ans, DNS_BOGUS, why);
	}
	if (res->rcode == 3)
		return set_status(ans, DNS_NXDOMAIN, NULL);
	if (res->rcode != 0) {
		snprintf(why, sizeof(why), "server failure (rcode %d%s)",
		    res->rcode,
		    res->rcode == 2   ? ", SERVFAIL"
		    : res->rcode == 5 ? ", REFUSED"
				      : "");
		return set_status(ans, DNS_SERVFAIL, why);
	}
	if (!res->havedata)
		return set_status(ans, DNS_NODATA, NULL);
	return unpack_result(res, type, ans);
}

/* ---- one lookup, bounded by our deadline ---- */

struct pending {
	int done;
	int err;
	struct ub_result *res;
};

static void
on_result(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = 1;
	p->err = err;
	p->res = res;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the callback; 0 when it came, -1 when the deadline passed. */
static int
wait_result(struct dns *d, struct pending *p)
{
	long long deadline = now_ms() + d->timeout_ms, left;
	struct pollfd pfd;

	pfd.fd = lib.ub_fd(d->ctx);
	pfd.events = POLLIN;
	while (!p->done) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) == -1 &&
		    errno != EINTR)
			return -1;
		if (lib.ub_poll(d->ctx) && lib.ub_process(d->ctx) != 0)
			return -1;
	}
	return 0;
}

static int
valid_query_name(const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if (n == 0 || n > 254 || (n == 254 && name[253] != '.'))
		return 0;
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

enum dns_status
dns_lookup(struct dns *d, const char *name, enum dns_type type,
    struct dns_answer *ans)
{
	struct pending p = {0, 0, NULL};
	enum dns_status s;
	int id, r;

	memset(ans, 0, sizeof(*ans));
	if (!valid_query_name(name))
		return set_status(ans, DNS_FAILED, "not a valid DNS name");
	if ((r = lib.ub_resolve_async(d->ctx, name, (int)type, 1, &p, on_result,
		 &id)) != 0)
		return set_status(ans, DNS_FAILED, lib.ub_strerror(r));
	if (wait_result(d, &p) == -1) {
		if (!p.done) {
			lib.ub_cancel(d->ctx, id);
			return set_status(ans, DNS_TIMEOUT, NULL);
		}
	}
	if (p.err != 0)
		s = set_status(ans,
		    p.err == UB_SERVFAIL ? DNS_SERVFAIL : DNS_FAILED,
		    lib.ub_strerror(p.err));
	else
		s = classify(p.res, type, ans);
	lib.ub_resolve_free(p.res);
	return s;
}
