/*
 * trace.c -- parsers for the trace and authentication fields of a received
 * message (see trace.h): Received, Authentication-Results (RFC 8601),
 * ARC-* (RFC 8617) and DKIM tag lists.
 *
 * Non-goals: validating the fields (a Received field says what its writer
 * chose to say: inspect.c decides what to believe), decoding encoded words,
 * and the many vendor variants of Received beyond the TLS notes of Postfix,
 * Exim, Sendmail and Microsoft.
 *
 * Invariants: every read is bounded by the (pointer, length) given; every
 * output string is NUL-terminated, printable ASCII, cut to its array; the
 * comment nesting depth is capped (TRACE_MAX_DEPTH) so hostile input cannot
 * make the scan quadratic or deep.  Nothing is allocated.
 *
 * Failure policy: a malformed field yields a reason; the struct holds what
 * was understood before the error, which the caller may show as such.
 */
#include <string.h>

#include "buf.h"
#include "trace.h"

#define TRACE_MAX_DEPTH 16

struct cur {
	const char *p, *end;
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && ascii_ncasecmp(p, w, n) == 0;
}

/* The end of the comment starting at p ('('): past its ')', or end. */
static const char *
comment_end(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(' && ++depth > TRACE_MAX_DEPTH)
			return end;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return end;
}

/* Skip white space and comments. */
static void
skip_cfws(struct cur *c)
{
	while (c->p < c->end) {
		if (is_ws(*c->p))
			c->p++;
		else if (*c->p == '(')
			c->p = comment_end(c->p, c->end);
		else
			break;
	}
}

/* ---- dates (RFC 5322 3.3, 4.3) ---- */

static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* The next date token: digits, letters, or one punctuation byte. */
static size_t
date_tok(struct cur *c, const char **tok)
{
	const char *s;

	skip_cfws(c);
	s = c->p;
	*tok = s;
	if (c->p >= c->end)
		return 0;
	if ((*s >= '0' && *s <= '9') || *s == '+' || *s == '-') {
		c->p++;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	} else if ((ascii_lower(*s) >= 'a' && ascii_lower(*s) <= 'z')) {
		while (c->p < c->end && ascii_lower(*c->p) >= 'a' &&
		       ascii_lower(*c->p) <= 'z')
			c->p++;
	} else
		c->p++;
	return (size_t)(c->p - s);
}

/* Exactly the n bytes at p as a decimal number (no NUL after them). */
static int
num(const char *p, size_t n, unsigned long long max, unsigned long long *v)
{
	size_t i;

	if (n == 0 || n > 4)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned long long)(p[i] - '0');
	}
	return *v <= max ? 0 : -1;
}

/* Digits at *pp before end, at most max; *pp moves past them. */
static int
uint_at(const char **pp, const char *end, unsigned long long max,
    unsigned long long *v)
{
	const char *p = *pp;

	*v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		*v = *v * 10 + (unsigned long long)(*p - '0');
		if (*v > max)
			return -1;
		p++;
	}
	if (p == *pp)
		return -1;
	*pp = p;
	return 0;
}

static int
month_of(const char *p, size_t n)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int i;

	if (n != 3)
		return 0;
	for (i = 0; i < 12; i++)
		if (ascii_ncasecmp(p, months + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

/* Zone offset in seconds east of UTC; -1 on error via *ok. */
static long long
zone_of(const char *p, size_t n, int *ok)
{
	static const char *const names[] = {"ut", "gmt", "z", "est", "edt",
	    "cst", "cdt", "mst", "mdt", "pst", "pdt"};
	static const int hours[] = {0, 0, 0, -5, -4, -6, -5, -7, -6, -8, -7};
	unsigned long long v;
	size_t i;

	*ok = 1;
	if (n == 5 && (*p == '+' || *p == '-') && num(p + 1, 4, 9999, &v) == 0)
		return (*p == '-' ? -1 : 1) *
		       (long long)(v / 100 * 3600 + v % 100 * 60);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (word_is(p, n, names[i]))
			return hours[i] * 3600LL;
	if (n == 1 && ascii_lower(*p) >= 'a' && ascii_lower(*p) <= 'z')
		return 0; /* military zones: treated as -0000 (4.3) */
	*ok = 0;
	return 0;
}

static const char *
date_time(struct cur *c, unsigned long long t[3])
{
	const char *tok;
	size_t n;
	int i;

	for (i = 0; i < 3; i++) {
		n = date_tok(c, &tok);
		if (num(tok, n, i == 0 ? 23 : i == 1 ? 59 : 60, &t[i]) == -1) {
			if (i == 2) /* seconds are optional */
				return NULL;
			return "bad time of day";
		}
		if (i == 2)
			break;
		skip_cfws(c);
		if (c->p >= c->end || *c->p != ':')
			return i == 1 ? NULL : "bad time of day";
		c->p++;
	}
	return NULL;
}

const char *
trace_date_parse(const char *s, size_t n, long long *out)
{
	struct cur c = {s, s + n};
	unsigned long long day, year, t[3] = {0, 0, 0};
	const char *tok, *why;
	size_t k;
	int mon, ok;
	long long zone;

	k = date_tok(&c, &tok);
	if (k > 0 && ascii_lower(*tok) >= 'a' && ascii_lower(*tok) <= 'z') {
		skip_cfws(&c); /* day-of-week and its comma */
		if (c.p < c.end && *c.p == ',')
			c.p++;
		k = date_tok(&c, &tok);
	}
	if (num(tok, k, 31, &day) == -1 || day == 0)
		return "bad day";
	k = date_tok(&c, &tok);
	if ((mon = month_of(tok, k)) == 0)
		return "bad month";
	k = date_tok(&c, &tok);
	if (num(tok, k, 9999, &year) == -1)
		return "bad year";
	if (k <= 2) /* obsolete two-digit year (4.3) */
		year += year < 50 ? 2000 : 1900;
	else if (k == 3)
		year += 1900;
	t[2] = 0;
	if ((why = date_time(&c, t)) != NULL)
		return why;
	k = date_tok(&c, &tok);
	zone = zone_of(tok, k, &ok);
	if (!ok && k > 0)
		return "bad zone";
	*out = days_from_civil((long long)year, (unsigned)mon, (unsigned)day) *
		   86400LL +
	       (long long)(t[0] * 3600 + t[1] * 60 + t[2]) - zone;
	return NULL;
}

/* ---- Received ---- */

enum rkw { RK_NONE, RK_FROM, RK_BY, RK_VIA, RK_WITH, RK_ID, RK_FOR, RK_TLS };

static enum rkw
received_kw(const char *p, size_t n)
{
	static const char *const kw[] = {"from", "by", "via", "with", "id",
	    "for", "tls"};
	size_t i;

	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (word_is(p, n, kw[i]))
			return (enum rkw)(i + 1);
	return RK_NONE;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" at p: the address into r->ip. */
static void
received_ip(const char *p, const char *end, struct trace_received *r)
{
	const char *q;

	if (p >= end || *p != '[')
		return;
	p++;
	if (end - p > 5 && ascii_ncasecmp(p, "IPv6:", 5) == 0)
		p += 5;
	for (q = p; q < end && *q != ']'; q++)
		if (!((*q >= '0' && *q <= '9') ||
			(ascii_lower(*q) >= 'a' && ascii_lower(*q) <= 'f') ||
			*q == '.' || *q == ':'))
			return;
	if (q < end && q > p && r->ip[0] == '\0')
		copy_printable(r->ip, sizeof(r->ip), p, (size_t)(q - p), 0);
}

/* Find w in [p, end) case-insensitively. */
static const char *
find_ci(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	for (; p + n <= end; p++)
		if (ascii_ncasecmp(p, w, n) == 0)
			return p;
	return NULL;
}

static size_t
tls_token_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && !is_ws(*q) && *q != ',' && *q != ')' && *q != '(' &&
	       *q != ';')
		q++;
	return (size_t)(q - p);
}

/* TLS notes in a comment: "using TLSv1.3 with cipher X" (Postfix),
 * "(TLS1.3)" (Exim), "version=TLSv1.3 cipher=X" (Sendmail),
 * "version=TLS1_2, cipher=X" (Microsoft). */
static void
received_tls(const char *p, const char *end, struct trace_received *r)
{
	const char *q;

	if (r->tls[0] == '\0' && (q = find_ci(p, end, "TLS")) != NULL &&
	    q + 3 < end && (q[3] == 'v' || (q[3] >= '1' && q[3] <= '9')))
		copy_printable(r->tls, sizeof(r->tls), q, tls_token_len(q, end),
		    0);
	if (r->cipher[0] == '\0' && (q = find_ci(p, end, "cipher")) != NULL &&
	    q + 7 < end && (q[6] == ' ' || q[6] == '=')) {
		q += 7;
		copy_printable(r->cipher, sizeof(r->cipher), q,
		    tls_token_len(q, end), 0);
	}
}

/* A host name or an address as a name ("unknown", "2001:db8::1"). */
static int
is_name(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((ascii_lower(p[i]) >= 'a' && ascii_lower(p[i]) <= 'z') ||
			(p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
			p[i] == '-' || p[i] == '_' || p[i] == ':'))
			return 0;
	return n > 0;
}

/* The TCP-info comment after "from": "(name [ip])", "([ip] helo=x)". */
static void
received_tcpinfo(const char *p, const char *end, struct trace_received *r)
{
	const char *q;

	p++; /* '(' */
	if (end > p && end[-1] == ')')
		end--;
	while (p < end && is_ws(*p))
		p++;
	for (q = p; q < end && !is_ws(*q) && *q != '['; q++)
		;
	if (q > p && r->from_rdns[0] == '\0') {
		size_t n = (size_t)(q - p);

		if (p[n - 1] == '.') /* "mail.example.com." */
			n--;
		if (!word_is(p, n, "helo") && is_name(p, n))
			copy_printable(r->from_rdns, sizeof(r->from_rdns), p, n,
			    1);
	}
	if ((q = memchr(p, '[', (size_t)(end - p))) != NULL)
		received_ip(q, end, r);
}

static void
received_word(enum rkw kw, const char *p, size_t n, struct trace_received *r)
{
	if (kw == RK_FROM && r->from[0] == '\0') {
		copy_printable(r->from, sizeof(r->from), p, n, 1);
		received_ip(p, p + n, r);
	} else if (kw == RK_BY && r->by[0] == '\0')
		copy_printable(r->by, sizeof(r->by), p, n, 1);
	else if (kw == RK_WITH && r->with[0] == '\0')
		copy_printable(r->with, sizeof(r->with), p, n, 0);
	else if (kw == RK_TLS && r->cipher[0] == '\0')
		copy_printable(r->cipher, sizeof(r->cipher), p, n, 0);
}

const char *
trace_received_parse(const char *v, size_t n, struct trace_received *r)
{
	const char *end = v + n, *semi = NULL, *p, *q;
	enum rkw kw = RK_NONE;
	int after_kw = 0;

	memset(r, 0, sizeof(*r));
	for (p = v; p < end; p++) /* the date follows the last ';' */
		if (*p == ';')
			semi = p;
		else if (*p == '(')
			p = comment_end(p, end) - 1;
	for (p = v; p < (semi != NULL ? semi : end);) {
		if (is_ws(*p)) {
			p++;
		} else if (*p == '(') {
			q = comment_end(p, semi != NULL ? semi : end);
			if (kw == RK_FROM && after_kw)
				received_tcpinfo(p, q, r);
			received_tls(p, q, r);
			p = q;
		} else {
			for (q = p; q < (semi != NULL ? semi : end) &&
				    !is_ws(*q) && *q != '(';
			     q++)
				;
			if (received_kw(p, (size_t)(q - p)) != RK_NONE) {
				kw = received_kw(p, (size_t)(q - p));
				after_kw = 0;
			} else if (!after_kw) {
				received_word(kw, p, (size_t)(q - p), r);
				after_kw = 1;
			}
			p = q;
		}
	}
	if (semi == NULL)
		return "no date";
	if (trace_date_parse(semi + 1, (size_t)(end - semi - 1), &r->time) !=
	    NULL)
		return "malformed date";
	r->has_time = 1;
	return NULL;
}

/* ---- Authentication-Results (RFC 8601 2.2) ---- */

/* A token: up to white space, comment, ';', '=' or a quote. */
static size_t
ar_token(struct cur *c, const char **tok, int allow_eq)
{
	const char *s;

	skip_cfws(c);
	s = c->p;
	*tok = s;
	while (c->p < c->end && !is_ws(*c->p) && *c->p != '(' && *c->p != ';' &&
	       *c->p != '"' && (allow_eq || *c->p != '='))
		c->p++;
	return (size_t)(c->p - s);
}

/* A value: a quoted-string (its content copied) or a token. */
static int
ar_value(struct cur *c, char *dst, size_t size)
{
	const char *tok;
	size_t n = 0;

	skip_cfws(c);
	if (c->p < c->end && *c->p == '"') {
		c->p++;
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			if (n + 1 < size)
				copy_printable(dst + n++, 2, c->p, 1, 0);
			c->p++;
		}
		if (c->p >= c->end)
			return -1;
		c->p++;
		dst[n] = '\0';
		return 0;
	}
	n = ar_token(c, &tok, 1);
	copy_printable(dst, size, tok, n, 0);
	return n == 0 ? -1 : 0;
}

static int
ar_expect(struct cur *c, char ch)
{
	skip_cfws(c);
	if (c->p >= c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

/* "ptype.property=value" or "reason=value". */
static const char *
ar_prop(struct cur *c, struct trace_method *m)
{
	const char *tok, *dot;
	size_t n = ar_token(c, &tok, 0);
	struct trace_prop *pr;
	char val[TRACE_NAME];

	if (n == 0 || ar_expect(c, '=') == -1 ||
	    ar_value(c, val, sizeof(val)) == -1)
		return "bad property";
	if (word_is(tok, n, "reason")) {
		str_copy(m->reason, val, sizeof(m->reason));
		return NULL;
	}
	if ((dot = memchr(tok, '.', n)) == NULL || dot == tok)
		return "property without a ptype";
	if (m->nprop == TRACE_MAX_PROPS)
		return NULL; /* kept the first ones */
	pr = &m->prop[m->nprop++];
	copy_printable(pr->ptype, sizeof(pr->ptype), tok, (size_t)(dot - tok),
	    1);
	copy_printable(pr->name, sizeof(pr->name), dot + 1,
	    (size_t)(tok + n - dot - 1), 1);
	str_copy(pr->value, val, sizeof(pr->value));
	return NULL;
}

/* One resinfo after its ';': method[/version]=result props... */
static const char *
ar_resinfo(struct cur *c, struct trace_method *m)
{
	const char *tok, *slash, *why;
	size_t n = ar_token(c, &tok, 0);

	memset(m, 0, sizeof(*m));
	if (n == 0)
		return "missing method";
	if ((slash = memchr(tok, '/', n)) != NULL)
		n = (size_t)(slash - tok);
	copy_printable(m->method, sizeof(m->method), tok, n, 1);
	if (ar_expect(c, '=') == -1)
		return "method without a result";
	n = ar_token(c, &tok, 0);
	if (n == 0)
		return "method without a result";
	copy_printable(m->result, sizeof(m->result), tok, n, 1);
	for (;;) {
		skip_cfws(c);
		if (c->p >= c->end || *c->p == ';')
			return NULL;
		if ((why = ar_prop(c, m)) != NULL)
			return why;
	}
}

static const char *
ar_instance(struct cur *c, unsigned *inst)
{
	const char *tok;
	unsigned long long v;
	size_t n = ar_token(c, &tok, 0);

	if (!word_is(tok, n, "i") || ar_expect(c, '=') == -1)
		return "no i= instance";
	skip_cfws(c);
	if (uint_at(&c->p, c->end, 50, &v) == -1 || v == 0 ||
	    ar_expect(c, ';') == -1)
		return "bad i= instance";
	*inst = (unsigned)v;
	return NULL;
}

const char *
trace_authres_parse(const char *v, size_t n, int arc, struct trace_authres *ar)
{
	struct cur c = {v, v + n};
	struct trace_method m;
	const char *tok, *why;
	size_t k;

	memset(ar, 0, sizeof(*ar));
	if (arc && (why = ar_instance(&c, &ar->instance)) != NULL)
		return why;
	k = ar_token(&c, &tok, 0);
	if (k == 0)
		return "no authserv-id";
	copy_printable(ar->authserv_id, sizeof(ar->authserv_id), tok, k, 1);
	k = ar_token(&c, &tok, 0); /* an authres-version, or "none" */
	if (k > 0 && tok[0] >= '0' && tok[0] <= '9')
		k = ar_token(&c, &tok, 0);
	if (word_is(tok, k, "none")) /* an old form without the ';' */
		return NULL;
	if (k > 0)
		return "junk after the authserv-id";
	for (;;) {
		skip_cfws(&c);
		if (c.p >= c.end)
			return NULL;
		if (*c.p != ';')
			return "';' expected";
		c.p++;
		skip_cfws(&c);
		if (c.p >= c.end)
			return NULL; /* a trailing ';' */
		if (ar->nm == 0 && c.end - c.p >= 4 &&
		    ascii_ncasecmp(c.p, "none", 4) == 0) {
			c.p += 4; /* no-result (2.2) */
			skip_cfws(&c);
			return c.p < c.end ? "junk after \"none\"" : NULL;
		}
		if ((why = ar_resinfo(&c, &m)) != NULL)
			return why;
		if (ar->nm < TRACE_MAX_RESULTS)
			ar->m[ar->nm++] = m;
		else
			ar->more = 1;
	}
}

const char *
trace_method_prop(const struct trace_method *m, const char *ptype,
    const char *name)
{
	size_t i;

	for (i = 0; i < m->nprop; i++)
		if (strcmp(m->prop[i].ptype, ptype) == 0 &&
		    strcmp(m->prop[i].name, name) == 0)
			return m->prop[i].value;
	return NULL;
}

/* ---- tag lists (RFC 6376 3.2) ---- */

/* The value without any white space (FWS may sit anywhere in h=, b=). */
static void
copy_nows(char *dst, size_t size, const char *p, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 1 < size; i++)
		if (!is_ws(p[i]))
			copy_printable(dst + k++, 2, p + i, 1, 1);
	dst[k] = '\0';
}

static const char *
tag_one(const char *name, size_t nl, const char *val, size_t vl, int arc,
    struct trace_tags *t)
{
	unsigned long long u;
	const char *q = val;
	char tmp[24];

	if (word_is(name, nl, "i") && arc) {
		if (uint_at(&q, val + vl, 50, &u) == -1 || q != val + vl ||
		    u == 0)
			return "bad i= instance (1 to 50)";
		t->i = (unsigned)u;
	} else if (word_is(name, nl, "cv")) {
		copy_nows(t->cv, sizeof(t->cv), val, vl);
		if (strcmp(t->cv, "none") != 0 && strcmp(t->cv, "pass") != 0 &&
		    strcmp(t->cv, "fail") != 0)
			return "bad cv=";
	} else if (word_is(name, nl, "d"))
		copy_nows(t->d, sizeof(t->d), val, vl);
	else if (word_is(name, nl, "s"))
		copy_nows(t->s, sizeof(t->s), val, vl);
	else if (word_is(name, nl, "a"))
		copy_nows(t->a, sizeof(t->a), val, vl);
	else if (word_is(name, nl, "h"))
		copy_nows(t->h, sizeof(t->h), val, vl);
	else if (word_is(name, nl, "l")) {
		copy_nows(tmp, sizeof(tmp), val, vl);
		if (parse_uint_str(tmp, ~0ULL, &u) == -1)
			return "bad l=";
		t->has_l = 1;
		t->l = u;
	}
	return NULL;
}

const char *
trace_tags_parse(const char *v, size_t n, int arc, struct trace_tags *t)
{
	const char *end = v + n, *p = v, *name, *eq, *semi, *why, *val;
	size_t nl, vl;

	memset(t, 0, sizeof(*t));
	while (p < end) {
		while (p < end && is_ws(*p))
			p++;
		if (p >= end)
			break;
		semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		if ((eq = memchr(p, '=', (size_t)(semi - p))) == NULL)
			return "tag without '='";
		name = p;
		for (nl = (size_t)(eq - p); nl > 0 && is_ws(name[nl - 1]);)
			nl--;
		if (nl == 0)
			return "empty tag name";
		val = eq + 1;
		vl = (size_t)(semi - val);
		while (vl > 0 && is_ws(*val))
			val++, vl--;
		while (vl > 0 && is_ws(val[vl - 1]))
			vl--;
		if ((why = tag_one(name, nl, val, vl, arc, t)) != NULL)
			return why;
		p = semi < end ? semi + 1 : end;
	}
	if (arc && t->i == 0)
		return "no i= instance";
	return NULL;
}

int
trace_list_has(const char *list, const char *field)
{
	size_t n = strlen(field);
	const char *p = list, *q;

	while (*p != '\0') {
		q = strchr(p, ':');
		if (q == NULL)
			q = p + strlen(p);
		if ((size_t)(q - p) == n && ascii_ncasecmp(p, field, n) == 0)
			return 1;
		p = *q == ':' ? q + 1 : q;
	}
	return 0;
}
