/*
 * spf.c -- SPF, RFC 7208: check_host() with the record parser and the
 * macro expander (section 7).  Our own code, not libspf2 (see spf.h).
 *
 * A walk with a budget (OpenSMTPD spfwalk.c): every include, a, mx, ptr,
 * exists and redirect costs one of the 10 lookups, a lookup that finds
 * nothing costs one of the 2 void lookups, and going over either is a
 * permerror.  An include or redirect loop is caught by that budget; we
 * also notice it, and name the loop in the warnings and the problem.
 *
 * The whole record is parsed before any term is evaluated, so a syntax
 * error anywhere is a permerror (4.6).  DNS trouble (SERVFAIL, timeout,
 * bogus DNSSEC) is a temperror, never "no record" (dns.h).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "spf.h"

#define MAX_TERMS 128
#define MAX_DEPTH (SPF_MAX_LOOKUPS + 2)
#define NAME_MAX_LEN 253

enum mech { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };

static const char *const mech_names[] = {"all", "include", "a", "mx", "ptr",
    "ip4", "ip6", "exists"};

struct term {
	enum mech mech;
	enum spf_result qual;
	const char *spec; /* domain-spec, or NULL */
	size_t speclen;
	int cidr4, cidr6;
	unsigned char net[16];
	const char *text; /* as written */
	size_t textlen;
};

struct record {
	struct term t[MAX_TERMS];
	size_t n;
	const char *redirect, *exp;
	size_t redirectlen, explen;
	int has_all;
	const char *bad; /* the term a syntax error is in (into the text) */
	size_t badlen;
};

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = {"none", "neutral", "pass", "fail",
	    "softfail", "temperror", "permerror"};

	return (unsigned)r < 7 ? names[r] : "?";
}

int
spf_ip_parse(const char *s, struct spf_ip *ip)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff};

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) != 1)
		return -1;
	ip->family = AF_INET6;
	if (memcmp(ip->addr, mapped, 12) == 0) { /* 5/9/2: IPv4 it is */
		memmove(ip->addr, ip->addr + 12, 4);
		memset(ip->addr + 4, 0, 12);
		ip->family = AF_INET;
	}
	return 0;
}

/* ---- macros (section 7) ---- */

static int
is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* The dotted-nibble (IPv6) or dotted-quad (IPv4) form of %{i}. */
static void
ip_dotted(const struct spf_ip *ip, struct buf *b)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	if (ip->family == AF_INET) {
		buf_printf(b, "%u.%u.%u.%u", ip->addr[0], ip->addr[1],
		    ip->addr[2], ip->addr[3]);
		return;
	}
	for (i = 0; i < 16; i++)
		buf_printf(b, "%s%c.%c", i > 0 ? "." : "",
		    hex[ip->addr[i] >> 4], hex[ip->addr[i] & 15]);
}

/* The value of macro letter c (lower case), into b. */
static const char *
macro_value(const struct spf_macro_ctx *m, char c, struct buf *b)
{
	const char *at = m->sender != NULL ? strrchr(m->sender, '@') : NULL;
	char addr[INET6_ADDRSTRLEN];

	switch (c) {
	case 's':
		return buf_addstr(b, m->sender) == -1 ? "too long" : NULL;
	case 'l':
		if (at == NULL || at == m->sender)
			return buf_addstr(b, "postmaster") == -1 ? "" : NULL;
		return buf_add(b, m->sender, (size_t)(at - m->sender)) == -1
			   ? "too long"
			   : NULL;
	case 'o':
		return buf_addstr(b, at != NULL ? at + 1 : m->sender) == -1
			   ? "too long"
			   : NULL;
	case 'd':
		return buf_addstr(b, m->domain) == -1 ? "too long" : NULL;
	case 'i':
		ip_dotted(m->ip, b);
		return NULL;
	case 'p':
		return buf_addstr(b,
			   m->ptr_name != NULL ? m->ptr_name : "unknown") == -1
			   ? "too long"
			   : NULL;
	case 'v':
		return buf_addstr(b,
			   m->ip->family == AF_INET ? "in-addr" : "ip6") == -1
			   ? "too long"
			   : NULL;
	case 'h':
		return buf_addstr(b, m->helo) == -1 ? "too long" : NULL;
	case 'c':
		inet_ntop(m->ip->family, m->ip->addr, addr, sizeof(addr));
		return buf_addstr(b, addr) == -1 ? "too long" : NULL;
	case 'r':
		return buf_addstr(b, "unknown") == -1 ? "too long" : NULL;
	case 't':
		return buf_printf(b, "%lld", m->now) == -1 ? "too long" : NULL;
	}
	return "unknown macro letter";
}

/* Split v on delims, reverse if asked, keep the rightmost keep parts,
 * join with dots, URL-escape if asked; append to out. */
static int
transform(const char *v, size_t n, const char *delims, unsigned keep, int rev,
    int esc, struct buf *out)
{
	size_t start[128], len[128], parts = 0, i, from, k;
	size_t s = 0;

	for (i = 0; i <= n; i++)
		if (i == n || strchr(delims, v[i]) != NULL) {
			if (parts == 128)
				return -1;
			start[parts] = s;
			len[parts++] = i - s;
			s = i + 1;
		}
	from = keep > 0 && keep < parts ? parts - keep : 0;
	for (k = from; k < parts; k++) {
		size_t idx = rev ? parts - 1 - k : k;
		const char *p;

		p = v + start[idx];
		if (k > from && buf_addch(out, '.') == -1)
			return -1;
		for (i = 0; i < len[idx]; i++) {
			unsigned char c = (unsigned char)p[i];
			int r = esc && !is_unreserved(c)
				    ? buf_printf(out, "%%%02X", c)
				    : buf_addch(out, (char)c);
			if (r == -1)
				return -1;
		}
	}
	return 0;
}

/* One "%{...}" starting at s[*ip] (the '{'); returns NULL or an error. */
static const char *
expand_one(const struct spf_macro_ctx *m, const char *s, size_t n, size_t *ip,
    int exp, struct buf *out)
{
	size_t i = *ip + 1;
	char letter, lower, delims[8];
	unsigned long long keep = 0;
	size_t nd = 0, digits = 0;
	int rev = 0;
	const char *why;
	struct buf v;

	if (i >= n)
		return "unterminated macro";
	letter = s[i++];
	lower = (char)(letter >= 'A' && letter <= 'Z' ? letter + 32 : letter);
	if (strchr("slodipvh", lower) == NULL &&
	    (!exp || strchr("crt", lower) == NULL))
		return exp || strchr("crt", lower) == NULL
			   ? "invalid macro letter"
			   : "macro letter only allowed in exp text";
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (++digits > 3)
			return "macro digit transformer too large";
		keep = keep * 10 + (unsigned)(s[i++] - '0');
	}
	if (digits > 0 && keep == 0)
		return "macro digit transformer is zero";
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		rev = 1, i++;
	delims[0] = '\0';
	for (; i < n && is_delim(s[i]); i++)
		if (nd < sizeof(delims) - 1 && strchr(delims, s[i]) == NULL) {
			delims[nd++] = s[i];
			delims[nd] = '\0';
		}
	if (i >= n || s[i] != '}')
		return "malformed macro";
	*ip = i;
	if (m == NULL)
		return NULL; /* syntax check only */
	buf_init(&v, 4096);
	why = macro_value(m, lower, &v);
	if (why == NULL &&
	    transform(v.data != NULL ? v.data : "", v.len, nd ? delims : ".",
		(unsigned)keep, rev, letter != lower, out) == -1)
		why = "macro expansion too long";
	buf_reset(&v);
	return why;
}

/* Expand (m != NULL) or only check (m == NULL) a macro-string; in exp
 * text spaces are literal too. */
static const char *
expand(const struct spf_macro_ctx *m, const char *s, size_t n, int exp,
    struct buf *out)
{
	const char *why;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != '%') {
			if ((c < 0x21 || c > 0x7e) && !(exp && c == ' '))
				return "invalid character";
			if (m != NULL && buf_addch(out, (char)c) == -1)
				return "expansion too long";
			continue;
		}
		if (++i >= n)
			return "'%' at the end";
		c = (unsigned char)s[i];
		if (c == '{') {
			if ((why = expand_one(m, s, n, &i, exp, out)) != NULL)
				return why;
			continue;
		}
		if (c != '%' && c != '_' && c != '-')
			return "'%' not followed by '{', '%', '_' or '-'";
		if (m != NULL && buf_addstr(out, c == '%'   ? "%"
						 : c == '_' ? " "
							    : "%20") == -1)
			return "expansion too long";
	}
	return NULL;
}

const char *
spf_expand(const struct spf_macro_ctx *m, const char *s, size_t n, int exp,
    char *out, size_t outsize)
{
	const char *why;
	struct buf b;

	buf_init(&b, outsize > 0 ? outsize - 1 : 0);
	why = expand(m, s, n, exp, &b);
	if (why == NULL && (outsize == 0 || b.len >= outsize))
		why = "expansion too long";
	if (why == NULL)
		memcpy(out, b.data != NULL ? b.data : "", b.len + 1);
	buf_reset(&b);
	return why;
}

/* ---- the record parser ---- */

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
valid_toplabel(const char *p, size_t n)
{
	size_t i;
	int alpha = 0;

	if (n == 0 || !is_alnum(p[0]) || !is_alnum(p[n - 1]))
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_alnum(p[i]) && p[i] != '-')
			return 0;
		alpha |= is_alpha(p[i]) || p[i] == '-';
	}
	return alpha;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static const char *
check_domain_spec(const char *s, size_t n)
{
	const char *why, *dot;
	size_t end = n;

	if (n == 0)
		return "empty domain";
	if ((why = expand(NULL, s, n, 0, NULL)) != NULL)
		return why;
	if (s[n - 1] == '}' ||
	    (n >= 2 && s[n - 2] == '%' && (n < 3 || s[n - 3] != '%')))
		return NULL; /* ends in a macro-expand */
	if (s[end - 1] == '.')
		end--;
	for (dot = NULL; end > 0; end--)
		if (s[end - 1] == '.') {
			dot = s + end - 1;
			break;
		}
	if (dot == NULL)
		return "domain has no top label";
	if (!valid_toplabel(dot + 1,
		(size_t)(s + n - (dot + 1)) - (s[n - 1] == '.')))
		return "invalid top label";
	return NULL;
}

/* "/N" at the end of s[0..*n): N without a leading zero, at most max. */
static int
take_cidr(const char *s, size_t *n, int dbl, int max, int *out)
{
	size_t k = *n;
	unsigned long long v = 0;
	size_t i;

	while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9')
		k--;
	if (k == *n || k == 0 || s[k - 1] != '/')
		return 0; /* none */
	if (dbl != (k >= 2 && s[k - 2] == '/'))
		return 0;
	if (*n - k > 3 || (*n - k > 1 && s[k] == '0'))
		return -1;
	for (i = k; i < *n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > (unsigned long long)max)
		return -1;
	*out = (int)v;
	*n = k - 1 - (size_t)dbl;
	return 1;
}

/* The arguments of a, mx: [":" domain-spec] [dual-cidr-length]. */
static const char *
parse_a_mx(struct term *t, const char *arg, size_t n)
{
	if (take_cidr(arg, &n, 1, 128, &t->cidr6) == -1 ||
	    take_cidr(arg, &n, 0, 32, &t->cidr4) == -1)
		return "invalid CIDR length";
	if (n == 0)
		return NULL;
	if (arg[0] != ':')
		return "unexpected text after the mechanism";
	t->spec = arg + 1;
	t->speclen = n - 1;
	return check_domain_spec(t->spec, t->speclen);
}

static const char *
parse_ip(struct term *t, const char *arg, size_t n)
{
	int six = t->mech == M_IP6, *cidr = six ? &t->cidr6 : &t->cidr4;
	char addr[64];

	if (n < 2 || arg[0] != ':')
		return "missing address";
	if (take_cidr(arg, &n, 0, six ? 128 : 32, cidr) == -1)
		return "invalid CIDR length";
	if (n - 1 >= sizeof(addr))
		return "invalid address";
	memcpy(addr, arg + 1, n - 1);
	addr[n - 1] = '\0';
	if (inet_pton(six ? AF_INET6 : AF_INET, addr, t->net) != 1)
		return six ? "invalid IPv6 address" : "invalid IPv4 address";
	return NULL;
}

static const char *
parse_mech_args(struct term *t, const char *arg, size_t n)
{
	switch (t->mech) {
	case M_ALL:
		return n == 0 ? NULL : "\"all\" takes no argument";
	case M_A:
	case M_MX:
		return parse_a_mx(t, arg, n);
	case M_IP4:
	case M_IP6:
		return parse_ip(t, arg, n);
	case M_PTR:
		if (n == 0)
			return NULL;
		/* FALLTHROUGH */
	case M_INCLUDE:
	case M_EXISTS:
		if (n == 0 || arg[0] != ':')
			return "missing \":domain\"";
		t->spec = arg + 1;
		t->speclen = n - 1;
		return check_domain_spec(t->spec, t->speclen);
	}
	return "unknown mechanism";
}

static const char *
parse_directive(struct record *r, const char *p, size_t n)
{
	struct term *t;
	size_t i = 0, nl, k;

	if (r->n == MAX_TERMS)
		return "too many terms";
	t = &r->t[r->n++];
	memset(t, 0, sizeof(*t));
	t->text = p;
	t->textlen = n;
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qual = SPF_PASS;
	if (n > 0 && strchr("+-~?", p[0]) != NULL) {
		t->qual = p[0] == '+'	? SPF_PASS
			  : p[0] == '-' ? SPF_FAIL
			  : p[0] == '~' ? SPF_SOFTFAIL
					: SPF_NEUTRAL;
		i = 1;
	}
	for (nl = 0; i + nl < n && is_alnum(p[i + nl]); nl++)
		;
	for (k = 0; k < sizeof(mech_names) / sizeof(mech_names[0]); k++)
		if (strlen(mech_names[k]) == nl &&
		    ascii_ncasecmp(mech_names[k], p + i, nl) == 0)
			break;
	if (k == sizeof(mech_names) / sizeof(mech_names[0]))
		return "unknown mechanism";
	t->mech = (enum mech)k;
	r->has_all |= t->mech == M_ALL;
	return parse_mech_args(t, p + i + nl, n - i - nl);
}

/* name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static int
modifier_name_len(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || !is_alpha(p[0]))
		return 0;
	for (i = 1; i < n && (is_alnum(p[i]) || strchr("-_.", p[i]) != NULL);
	     i++)
		;
	return i < n && p[i] == '=' ? (int)i : 0;
}

static const char *
parse_modifier(struct record *r, const char *p, size_t n, size_t nl)
{
	const char *v = p + nl + 1, **slot = NULL;
	size_t vn = n - nl - 1, *slotlen = NULL;

	if (nl == 8 && ascii_ncasecmp(p, "redirect", 8) == 0)
		slot = &r->redirect, slotlen = &r->redirectlen;
	else if (nl == 3 && ascii_ncasecmp(p, "exp", 3) == 0)
		slot = &r->exp, slotlen = &r->explen;
	if (slot == NULL) /* unknown modifiers: syntax only (6) */
		return expand(NULL, v, vn, 0, NULL);
	if (*slot != NULL)
		return "modifier given twice";
	*slot = v;
	*slotlen = vn;
	return check_domain_spec(v, vn);
}

static const char *
parse_record(const char *rec, size_t len, struct record *r)
{
	const char *why = NULL;
	size_t i, s, nl;

	memset(r, 0, sizeof(*r));
	if (len < 6 || ascii_ncasecmp(rec, "v=spf1", 6) != 0 ||
	    (len > 6 && rec[6] != ' '))
		return "not an SPF record";
	for (i = 0; i < len; i++)
		if ((unsigned char)rec[i] < 0x20 ||
		    (unsigned char)rec[i] > 0x7e)
			return "character outside printable ASCII";
	for (i = 6; i < len && why == NULL;) {
		while (i < len && rec[i] == ' ')
			i++;
		for (s = i; i < len && rec[i] != ' '; i++)
			;
		if (i == s)
			break;
		nl = (size_t)modifier_name_len(rec + s, i - s);
		why = nl > 0 ? parse_modifier(r, rec + s, i - s, nl)
			     : parse_directive(r, rec + s, i - s);
		if (why != NULL && nl == 0 && r->n > 0)
			r->n--;
		if (why != NULL) {
			r->bad = rec + s;
			r->badlen = i - s;
		}
	}
	return why;
}

const char *
spf_record_check(const char *rec, size_t len)
{
	struct record *r = xcalloc(1, sizeof(*r));
	const char *why = parse_record(rec, len, r);

	free(r);
	return why;
}

/* ---- evaluation ---- */

struct eval {
	const struct dns_resolver *r;
	struct spf_ip ip;
	const char *sender, *helo;
	struct spf_outcome *out;
	const char *stack[MAX_DEPTH]; /* domains on the include path */
	size_t depth;
	unsigned includes; /* > 0 while inside an include */
	char ptr_name[NAME_MAX_LEN + 1];
	int ptr_state; /* 0 not looked up, 1 done */
	char exp_spec[SPF_TEXT], exp_domain[NAME_MAX_LEN + 1];
	int loop_seen;
	char loop[SPF_TEXT];
};

static void warn(struct eval *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(struct eval *ev, const char *fmt, ...)
{
	struct spf_outcome *o = ev->out;
	va_list ap;
	size_t i;
	char w[SPF_TEXT];

	va_start(ap, fmt);
	vsnprintf(w, sizeof(w), fmt, ap);
	va_end(ap);
	for (i = 0; i < o->nwarnings; i++)
		if (strcmp(o->warnings[i], w) == 0)
			return;
	if (o->nwarnings < SPF_MAX_WARNINGS)
		memcpy(o->warnings[o->nwarnings++], w, sizeof(w));
}

static enum spf_result fail(struct eval *ev, enum spf_result res,
    const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record why the check ended with res (the innermost reason wins). */
static enum spf_result
fail(struct eval *ev, enum spf_result res, const char *domain, const char *fmt,
    ...)
{
	char why[SPF_TEXT];
	va_list ap;

	if (ev->out->problem[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		snprintf(ev->out->problem, sizeof(ev->out->problem),
		    "%.100s: %.150s", domain, why);
	}
	return res;
}

/* A name usable in a query: labels of 1 to 63 bytes, at most 253 in all. */
static int
valid_name(const char *s)
{
	size_t n = strlen(s), lab = 0, i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] != '.') {
			if (++lab > 63)
				return 0;
			continue;
		}
		if (lab == 0)
			return 0;
		lab = 0;
	}
	return lab > 0;
}

static void
set_macro_ctx(struct eval *ev, const char *domain, struct spf_macro_ctx *m)
{
	memset(m, 0, sizeof(*m));
	m->sender = ev->sender;
	m->domain = domain;
	m->helo = ev->helo;
	m->ip = &ev->ip;
	m->ptr_name =
	    ev->ptr_state == 1 && ev->ptr_name[0] != '\0' ? ev->ptr_name : NULL;
	m->now = (long long)time(NULL);
}

static int addr_in_answer(const struct spf_ip *ip, const struct dns_answer *a,
    int cidr);
static void find_ptr_name(struct eval *ev, const char *domain,
    const char *target, char *out, size_t outsize);

/* Expand a domain-spec for a query: 7.3's truncation to 253 bytes from
 * the left, and no final dot.  An empty spec means the current domain. */
static const char *
target_name(struct eval *ev, const char *domain, const char *spec, size_t n,
    char *out, size_t outsize)
{
	struct spf_macro_ctx m;
	char big[4096];
	const char *why, *p;
	size_t len;

	if (spec == NULL)
		return str_copy(out, domain, outsize) == -1 ? "too long" : NULL;
	if (memchr(spec, '%', n) != NULL &&
	    (memchr(spec, 'p', n) != NULL || memchr(spec, 'P', n) != NULL) &&
	    ev->ptr_state == 0)
		find_ptr_name(ev, domain, domain, ev->ptr_name,
		    sizeof(ev->ptr_name));
	set_macro_ctx(ev, domain, &m);
	if ((why = spf_expand(&m, spec, n, 0, big, sizeof(big))) != NULL)
		return why;
	len = strlen(big);
	if (len > 0 && big[len - 1] == '.')
		big[--len] = '\0';
	for (p = big; len > NAME_MAX_LEN;) {
		const char *dot = strchr(p, '.');

		if (dot == NULL)
			break;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	return str_copy(out, p, outsize) == -1 ? "too long" : NULL;
}

static int
count_lookup(struct eval *ev)
{
	return ++ev->out->lookups > SPF_MAX_LOOKUPS ? -1 : 0;
}

/* A lookup for a mechanism: -1 temperror, 0 nothing (void counted), 1
 * records.  *voidover is set when the void lookup limit is passed. */
static int
mech_lookup(struct eval *ev, const char *name, enum dns_type type,
    struct dns_answer *a, int *voidover)
{
	enum dns_status s;

	if (!valid_name(name)) { /* 4.8: treated as non-existent */
		memset(a, 0, sizeof(*a));
		a->status = DNS_NXDOMAIN;
		return 0;
	}
	s = ev->r->lookup(ev->r->arg, name, type, a);
	if (dns_status_temporary(s))
		return -1;
	if (s == DNS_FOUND)
		return 1;
	if (++ev->out->void_lookups > SPF_MAX_VOID_LOOKUPS)
		*voidover = 1;
	return 0;
}

static int
match_cidr(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

static int
addr_in_answer(const struct spf_ip *ip, const struct dns_answer *a, int cidr)
{
	size_t i;

	for (i = 0; i < a->nrr; i++)
		if (a->rr[i].family == ip->family &&
		    match_cidr(a->rr[i].ip, ip->addr, cidr))
			return 1;
	return 0;
}

static enum dns_type
addr_type(const struct spf_ip *ip)
{
	return ip->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* Does name have an address equal to the client's? (validation, 5.5) */
static int
name_has_ip(struct eval *ev, const char *name)
{
	struct dns_answer a;
	int hit = 0;

	if (!valid_name(name))
		return 0;
	if (ev->r->lookup(ev->r->arg, name, addr_type(&ev->ip), &a) ==
	    DNS_FOUND)
		hit = addr_in_answer(&ev->ip, &a,
		    ev->ip.family == AF_INET ? 32 : 128);
	dns_answer_free(&a);
	return hit;
}

int
spf_name_has_ip(const struct dns_resolver *r, const char *name,
    const struct spf_ip *ip)
{
	struct dns_answer a;
	enum dns_status s = r->lookup(r->arg, name, addr_type(ip), &a);
	int hit = s == DNS_FOUND &&
		  addr_in_answer(ip, &a, ip->family == AF_INET ? 32 : 128);

	dns_answer_free(&a);
	return dns_status_temporary(s) ? -1 : hit;
}

static int
name_ends_in(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n == t)
		return ascii_casecmp(name, target) == 0;
	return n > t && name[n - t - 1] == '.' &&
	       ascii_casecmp(name + n - t, target) == 0;
}

/* The validated names of the client (at most 10, 4.6.4): the first that
 * ends in target into out, else the first validated one, else "".
 * Returns -1 when the PTR lookup failed or found nothing. */
static int
validated_names(struct eval *ev, const char *target, char *out, size_t outsize,
    struct dns_answer *ptr)
{
	char rev[80];
	size_t i;
	int any = 0;

	out[0] = '\0';
	dns_reverse_name(ev->ip.family, ev->ip.addr, rev, sizeof(rev));
	if (ev->r->lookup(ev->r->arg, rev, DNS_T_PTR, ptr) != DNS_FOUND)
		return -1;
	for (i = 0; i < ptr->nrr && i < 10; i++) {
		const char *name = ptr->rr[i].text;

		if (strlen(name) != ptr->rr[i].len || !name_has_ip(ev, name))
			continue;
		if (name_ends_in(name, target)) {
			str_copy(out, name, outsize);
			return 1;
		}
		if (!any)
			str_copy(out, name, outsize);
		any = 1;
	}
	return 0;
}

static void
find_ptr_name(struct eval *ev, const char *domain, const char *target,
    char *out, size_t outsize)
{
	struct dns_answer ptr;

	(void)domain;
	validated_names(ev, target, out, outsize, &ptr);
	dns_answer_free(&ptr);
	ev->ptr_state = 1;
}

/* Match results of one mechanism. */
enum match { NO_MATCH = 0, MATCH, M_TEMPERROR, M_PERMERROR };

static enum spf_result check(struct eval *ev, const char *domain, int top);

static enum match
void_over(struct eval *ev, const char *domain)
{
	fail(ev, SPF_PERMERROR, domain,
	    "more than %d void lookups (names that do not exist or have no "
	    "record)",
	    SPF_MAX_VOID_LOOKUPS);
	return M_PERMERROR;
}

static enum match
temp(struct eval *ev, const char *domain, const char *name, enum dns_type type,
    const struct dns_answer *a)
{
	fail(ev, SPF_TEMPERROR, domain, "%s lookup for %s: %s",
	    type == DNS_T_MX	? "MX"
	    : type == DNS_T_PTR ? "PTR"
	    : type == DNS_T_TXT ? "TXT"
	    : type == DNS_T_A	? "A"
				: "AAAA",
	    name, a->why);
	return M_TEMPERROR;
}

static enum match
match_a(struct eval *ev, const char *domain, const struct term *t,
    const char *name, enum dns_type type)
{
	struct dns_answer a;
	int vo = 0, r = mech_lookup(ev, name, type, &a, &vo);
	enum match m = NO_MATCH;

	if (r == -1)
		m = temp(ev, domain, name, type, &a);
	else if (vo)
		m = void_over(ev, domain);
	else if (r == 1 && type == DNS_T_A)
		m = addr_in_answer(&ev->ip, &a,
			ev->ip.family == AF_INET ? t->cidr4 : t->cidr6)
			? MATCH
			: NO_MATCH;
	else if (r == 1)
		m = addr_in_answer(&ev->ip, &a, t->cidr6) ? MATCH : NO_MATCH;
	dns_answer_free(&a);
	return m;
}

static enum match
match_mx(struct eval *ev, const char *domain, const struct term *t,
    const char *name)
{
	struct dns_answer mx, a;
	enum match m = NO_MATCH;
	int vo = 0, r = mech_lookup(ev, name, DNS_T_MX, &mx, &vo);
	size_t i;

	if (r == -1)
		m = temp(ev, domain, name, DNS_T_MX, &mx);
	else if (vo)
		m = void_over(ev, domain);
	else if (mx.nrr > SPF_MAX_LOOKUPS) {
		fail(ev, SPF_PERMERROR, domain,
		    "%s has more than %d MX records (4.6.4)", name,
		    SPF_MAX_LOOKUPS);
		m = M_PERMERROR;
	}
	for (i = 0; r == 1 && m == NO_MATCH && i < mx.nrr; i++) {
		const char *host = mx.rr[i].text;

		if (host[0] == '\0' || !valid_name(host))
			continue; /* a null MX names no host */
		if (ev->r->lookup(ev->r->arg, host, addr_type(&ev->ip), &a) ==
		    DNS_FOUND)
			m = addr_in_answer(&ev->ip, &a,
				ev->ip.family == AF_INET ? t->cidr4 : t->cidr6)
				? MATCH
				: NO_MATCH;
		else if (dns_status_temporary(a.status))
			m = temp(ev, domain, host, addr_type(&ev->ip), &a);
		dns_answer_free(&a);
	}
	dns_answer_free(&mx);
	return m;
}

static enum match
match_ptr(struct eval *ev, const char *domain, const char *target)
{
	struct dns_answer ptr;
	char name[NAME_MAX_LEN + 1];
	int r;

	warn(ev,
	    "%s: the ptr mechanism is deprecated (RFC 7208 5.5): it is "
	    "slow and unreliable; fix: list the addresses with ip4:/ip6:",
	    domain);
	r = validated_names(ev, target, name, sizeof(name), &ptr);
	if (r == -1 &&
	    (ptr.status == DNS_NXDOMAIN || ptr.status == DNS_NODATA) &&
	    ++ev->out->void_lookups > SPF_MAX_VOID_LOOKUPS) {
		dns_answer_free(&ptr);
		return void_over(ev, domain);
	}
	dns_answer_free(&ptr);
	/* A DNS error during the PTR lookup: no match (5.5). */
	return r == 1 ? MATCH : NO_MATCH;
}

static enum match
match_ip(struct eval *ev, const struct term *t)
{
	int six = t->mech == M_IP6;

	if (ev->ip.family != (six ? AF_INET6 : AF_INET))
		return NO_MATCH;
	return match_cidr(t->net, ev->ip.addr, six ? t->cidr6 : t->cidr4)
		   ? MATCH
		   : NO_MATCH;
}

/* Note a loop once: target already on the include/redirect path. */
static void
note_loop(struct eval *ev, const char *target)
{
	struct buf b;
	size_t i, first = ev->depth;

	for (i = 0; i < ev->depth; i++)
		if (ascii_casecmp(ev->stack[i], target) == 0) {
			first = i;
			break;
		}
	if (first == ev->depth || ev->loop_seen)
		return;
	ev->loop_seen = 1;
	buf_init(&b, sizeof(ev->loop) - 1);
	for (i = first; i < ev->depth; i++)
		buf_printf(&b, "%s -> ", ev->stack[i]);
	buf_addstr(&b, target);
	str_copy(ev->loop, b.data != NULL ? b.data : "", sizeof(ev->loop));
	buf_reset(&b);
	warn(ev,
	    "include/redirect loop: %s; fix: remove the include: or "
	    "redirect= that leads back to %s",
	    ev->loop, target);
}

static enum match
match_include(struct eval *ev, const char *domain, const char *target)
{
	enum spf_result r;

	note_loop(ev, target);
	ev->includes++;
	r = check(ev, target, 0);
	ev->includes--;
	switch (r) {
	case SPF_PASS:
		return MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		ev->out->mechanism[0] = ev->out->domain[0] = '\0';
		return NO_MATCH;
	case SPF_TEMPERROR:
		return M_TEMPERROR;
	case SPF_NONE:
		ev->out->problem[0] = '\0';
		fail(ev, SPF_PERMERROR, domain, "include:%s has no SPF record",
		    target);
		break;
	case SPF_PERMERROR:
		break;
	}
	return M_PERMERROR;
}

/* exists: any A record, whatever the client's family (5.7). */
static enum match
match_exists(struct eval *ev, const char *domain, const struct term *t,
    const char *target)
{
	struct spf_ip save = ev->ip;
	struct term any = *t;
	enum match m;

	ev->ip.family = AF_INET;
	any.cidr4 = 0;
	m = match_a(ev, domain, &any, target, DNS_T_A);
	ev->ip = save;
	return m;
}

static enum match
match_term(struct eval *ev, const char *domain, const struct term *t)
{
	char target[NAME_MAX_LEN + 1];
	const char *why;

	if (t->mech == M_ALL)
		return MATCH;
	if (t->mech == M_IP4 || t->mech == M_IP6)
		return match_ip(ev, t);
	if (count_lookup(ev) == -1) {
		fail(ev, SPF_PERMERROR, domain,
		    "more than %d DNS lookups (include, a, mx, ptr, exists, "
		    "redirect)%s%s",
		    SPF_MAX_LOOKUPS, ev->loop_seen ? "; loop: " : "", ev->loop);
		return M_PERMERROR;
	}
	if ((why = target_name(ev, domain, t->spec, t->speclen, target,
		 sizeof(target))) != NULL) {
		fail(ev, SPF_PERMERROR, domain, "%.*s: %s", (int)t->textlen,
		    t->text, why);
		return M_PERMERROR;
	}
	switch (t->mech) {
	case M_INCLUDE:
		return match_include(ev, domain, target);
	case M_A:
		if (ev->ip.family == AF_INET6)
			return match_a(ev, domain, t, target, DNS_T_AAAA);
		return match_a(ev, domain, t, target, DNS_T_A);
	case M_MX:
		return match_mx(ev, domain, t, target);
	case M_PTR:
		return match_ptr(ev, domain, target);
	case M_EXISTS:
		return match_exists(ev, domain, t, target);
	default:
		break;
	}
	return NO_MATCH;
}

/* The one SPF record among the TXT records of domain (4.5). */
static enum spf_result
fetch_record(struct eval *ev, const char *domain, struct dns_answer *a,
    const struct dns_rr **rec)
{
	enum dns_status s = ev->r->lookup(ev->r->arg, domain, DNS_T_TXT, a);
	size_t i, found = 0;

	if (dns_status_temporary(s))
		return fail(ev, SPF_TEMPERROR, domain, "TXT lookup: %s",
		    a->why);
	for (i = 0; s == DNS_FOUND && i < a->nrr; i++) {
		const struct dns_rr *r = &a->rr[i];

		if (r->len >= 6 && ascii_ncasecmp(r->text, "v=spf1", 6) == 0 &&
		    (r->len == 6 || r->text[6] == ' ')) {
			*rec = r;
			found++;
		}
	}
	if (found > 1)
		return fail(ev, SPF_PERMERROR, domain,
		    "%zu SPF records (there must be one)", found);
	if (found == 0)
		return fail(ev, SPF_NONE, domain, "no SPF record (%s)",
		    s == DNS_FOUND ? "no TXT record starts \"v=spf1\""
				   : dns_status_name(s));
	return SPF_PASS; /* found one */
}

static void
matched(struct eval *ev, const char *domain, const struct term *t,
    const struct record *r)
{
	struct spf_outcome *o = ev->out;

	if (t->mech == M_ALL && t->qual == SPF_PASS)
		warn(ev,
		    "%s: \"%.*s\" authorises every address on the "
		    "Internet; fix: end the record with -all (or ~all) "
		    "after the terms that list your senders",
		    domain, (int)t->textlen, t->text);
	if (t->mech != M_INCLUDE) {
		snprintf(o->mechanism, sizeof(o->mechanism), "%.*s",
		    (int)t->textlen, t->text);
		str_copy(o->domain, domain, sizeof(o->domain));
	}
	ev->exp_spec[0] = '\0';
	if (t->qual == SPF_FAIL && ev->includes == 0 && r->exp != NULL &&
	    r->explen < sizeof(ev->exp_spec)) {
		memcpy(ev->exp_spec, r->exp, r->explen);
		ev->exp_spec[r->explen] = '\0';
		str_copy(ev->exp_domain, domain, sizeof(ev->exp_domain));
	}
}

static enum spf_result
run_record(struct eval *ev, const char *domain, const struct record *r)
{
	char target[NAME_MAX_LEN + 1];
	enum spf_result res;
	const char *why;
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct term *t = &r->t[i];

		switch (match_term(ev, domain, t)) {
		case MATCH:
			matched(ev, domain, t, r);
			return t->qual;
		case M_TEMPERROR:
			return SPF_TEMPERROR;
		case M_PERMERROR:
			return SPF_PERMERROR;
		case NO_MATCH:
			break;
		}
	}
	if (r->redirect == NULL || r->has_all)
		return SPF_NEUTRAL; /* 4.7 */
	if (count_lookup(ev) == -1)
		return fail(ev, SPF_PERMERROR, domain,
		    "more than %d DNS lookups (include, a, mx, ptr, exists, "
		    "redirect)%s%s",
		    SPF_MAX_LOOKUPS, ev->loop_seen ? "; loop: " : "", ev->loop);
	if ((why = target_name(ev, domain, r->redirect, r->redirectlen, target,
		 sizeof(target))) != NULL)
		return fail(ev, SPF_PERMERROR, domain, "redirect: %s", why);
	note_loop(ev, target);
	if ((res = check(ev, target, 0)) == SPF_NONE) {
		ev->out->problem[0] = '\0';
		return fail(ev, SPF_PERMERROR, domain,
		    "redirect=%s has no SPF record", target);
	}
	return res;
}

static enum spf_result
check(struct eval *ev, const char *domain, int top)
{
	struct dns_answer a;
	const struct dns_rr *rec = NULL;
	struct record *r = NULL;
	enum spf_result res;
	const char *why;

	if (!valid_name(domain) || strchr(domain, '.') == NULL)
		return fail(ev, SPF_NONE, domain,
		    top ? "not a valid multi-label domain name"
			: "not a valid domain name");
	if (ev->depth == MAX_DEPTH)
		return fail(ev, SPF_PERMERROR, domain, "nested too deep");
	if ((res = fetch_record(ev, domain, &a, &rec)) != SPF_PASS) {
		dns_answer_free(&a);
		return res;
	}
	r = xcalloc(1, sizeof(*r));
	if ((why = parse_record(rec->text, rec->len, r)) != NULL) {
		/* The term named, so the fix is plain (parse_record()
		 * checked that the record is printable before any term). */
		if (r->bad != NULL)
			res = fail(ev, SPF_PERMERROR, domain,
			    "syntax error: %s in \"%.*s\"", why,
			    r->badlen > 60 ? 60 : (int)r->badlen, r->bad);
		else
			res = fail(ev, SPF_PERMERROR, domain,
			    "syntax error: %s", why);
	} else {
		ev->stack[ev->depth++] = domain;
		res = run_record(ev, domain, r);
		ev->depth--;
	}
	free(r);
	dns_answer_free(&a);
	return res;
}

/* 6.2: the explanation for a fail, or "" when anything is wrong. */
static void
explain(struct eval *ev)
{
	struct spf_macro_ctx m;
	struct dns_answer a;
	char name[NAME_MAX_LEN + 1];
	const char *p;

	if (ev->exp_spec[0] == '\0' ||
	    target_name(ev, ev->exp_domain, ev->exp_spec, strlen(ev->exp_spec),
		name, sizeof(name)) != NULL ||
	    !valid_name(name))
		return;
	if (ev->r->lookup(ev->r->arg, name, DNS_T_TXT, &a) == DNS_FOUND &&
	    a.nrr == 1) {
		for (p = a.rr[0].text; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p > 0x7e)
				break;
		if (strchr(a.rr[0].text, '%') != NULL && ev->ptr_state == 0)
			find_ptr_name(ev, ev->exp_domain, ev->exp_domain,
			    ev->ptr_name, sizeof(ev->ptr_name));
		set_macro_ctx(ev, ev->exp_domain, &m);
		if (*p == '\0' && (size_t)(p - a.rr[0].text) == a.rr[0].len &&
		    spf_expand(&m, a.rr[0].text, a.rr[0].len, 1,
			ev->out->explanation,
			sizeof(ev->out->explanation)) != NULL)
			ev->out->explanation[0] = '\0';
	}
	dns_answer_free(&a);
}

enum spf_result
spf_check_host(const struct dns_resolver *r, const struct spf_ip *ip,
    const char *domain, const char *sender, const char *helo,
    struct spf_outcome *out)
{
	struct eval *ev = xcalloc(1, sizeof(*ev));
	char *snd = NULL;
	const char *at;
	char dom[NAME_MAX_LEN + 2];
	size_t n;

	memset(out, 0, sizeof(*out));
	ev->r = r;
	ev->ip = *ip;
	ev->out = out;
	ev->helo = helo != NULL ? helo : "unknown";
	/* 4.3: no sender: postmaster@helo; no local part: postmaster@. */
	at = sender != NULL ? strrchr(sender, '@') : NULL;
	if (sender == NULL || *sender == '\0' || at == NULL || at == sender) {
		struct buf b;

		buf_init(&b, 1024);
		buf_printf(&b, "postmaster@%s",
		    at != NULL				? at + 1
		    : sender != NULL && *sender != '\0' ? sender
							: ev->helo);
		snd = buf_steal(&b, NULL);
	}
	ev->sender = snd != NULL ? snd : sender;
	str_copy(dom, domain, sizeof(dom));
	if ((n = strlen(dom)) > 0 && dom[n - 1] == '.')
		dom[n - 1] = '\0';
	out->result = check(ev, dom, 1);
	if (out->result == SPF_FAIL)
		explain(ev);
	if (out->result != SPF_PERMERROR && out->result != SPF_TEMPERROR &&
	    out->result != SPF_NONE)
		out->problem[0] = '\0';
	free(snd);
	free(ev);
	return out->result;
}
