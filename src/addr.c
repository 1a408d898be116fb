/*
 * addr.c -- e-mail addresses: RFC 5321 Mailbox validation for the
 * envelope, RFC 5322 address-list parsing for -t, qualification of bare
 * local parts, and an incremental UTF-8 validator shared with message.c.
 *
 * Non-goals: no DNS, no IDNA conversion (U-labels are accepted and flagged
 * so the caller can require SMTPUTF8), no rewriting of the addresses we
 * accept (a quoted local part stays quoted).
 *
 * Invariants: every parser works on (pointer, length) with no recursion
 * and no allocation other than the capped copies appended to an addr_list;
 * nothing here reads past the given length.  An address accepted by
 * addr_check() holds no CR, LF, NUL, other control character, '<' or '>',
 * and no space outside a quoted local part, so it can be put on an SMTP
 * command line as is.
 *
 * Failure policy: addr_check() returns a static reason; the list functions
 * fail with ERR_DATA for malformed input or past their caps (ADDR_LIST_MAX
 * addresses, ADDR_LIST_MAX_LEN octets each).  Stricter than RFC 5321 in
 * one place: '<' and '>' are refused even inside a quoted local part.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"

/* ---- UTF-8 (RFC 3629): no overlong forms, surrogates or > U+10FFFF ---- */

static void
utf8_lead(struct addr_utf8 *s, unsigned char c)
{
	s->lo = 0x80;
	s->hi = 0xbf;
	if (c < 0x80)
		s->need = 0;
	else if (c >= 0xc2 && c <= 0xdf)
		s->need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		s->need = 2;
		if (c == 0xe0)
			s->lo = 0xa0;
		else if (c == 0xed)
			s->hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		s->need = 3;
		if (c == 0xf0)
			s->lo = 0x90;
		else if (c == 0xf4)
			s->hi = 0x8f;
	} else
		s->bad = 1;
}

/* How many of the n octets at u, from the first on, are ASCII. */
static size_t
ascii_run(const unsigned char *u, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, u + i, 8);
		if (w & 0x8080808080808080ULL)
			break;
	}
	while (i < n && u[i] < 0x80)
		i++;
	return i;
}

void
addr_utf8_feed(struct addr_utf8 *s, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s->need == 0) {
			/* ASCII leaves the state as it is: skip it, 8 at a
			 * time. */
			i += ascii_run(u + i, n - i);
			if (i < n)
				utf8_lead(s, u[i]);
			continue;
		}
		if (u[i] < s->lo || u[i] > s->hi) {
			s->bad = 1;
			utf8_lead(s, u[i]);
			continue;
		}
		s->need--;
		s->lo = 0x80;
		s->hi = 0xbf;
	}
}

int
addr_utf8_valid(const char *p, size_t n)
{
	struct addr_utf8 s = {0, 0, 0, 0};

	addr_utf8_feed(&s, p, n);
	return !s.bad && s.need == 0;
}

/* ---- addr_check: RFC 5321 section 4.1.2 Mailbox, RFC 6531 ---- */

int
addr_is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* The reason for a character that is never allowed where it was found. */
static const char *
bad_char(unsigned char c, const char *dflt)
{
	if (c == '\r' || c == '\n')
		return "contains a line break";
	if (c < 0x20 || c == 0x7f)
		return "contains a control character";
	if (c == ' ')
		return "contains a space";
	if (c == '<' || c == '>')
		return "contains angle brackets";
	return dflt;
}

/* Quoted local part: qtextSMTP or quoted-pairSMTP, UTF-8 allowed. */
static const char *
check_quoted(const char *a, size_t *ip)
{
	const unsigned char *u = (const unsigned char *)a;
	size_t i = 1;

	while (u[i] != '"') {
		if (u[i] == '\0' || (u[i] == '\\' && u[i + 1] == '\0'))
			return "unterminated quoted local part";
		if (u[i] == '\\') {
			if (u[i + 1] < 32 || u[i + 1] > 126)
				return bad_char(u[i + 1],
				    "invalid quoted local part");
			if (u[i + 1] == '<' || u[i + 1] == '>')
				return "contains angle brackets";
			i += 2;
			continue;
		}
		if (u[i] < 32 || u[i] == 127 || u[i] == '<' || u[i] == '>')
			return bad_char(u[i], "invalid quoted local part");
		i++;
	}
	*ip = i + 1;
	return NULL;
}

/* dot-atom local part; stops at the first character that is not in it. */
static const char *
check_dotatom(const char *a, size_t *ip, const char *what)
{
	const unsigned char *u = (const unsigned char *)a;
	size_t i = 0, atom = 0;

	for (;; i++) {
		if (addr_is_atext(u[i]) || u[i] >= 0x80) {
			atom++;
			continue;
		}
		if (u[i] != '.')
			break;
		if (atom == 0)
			return what;
		atom = 0;
	}
	if (atom == 0 && i == 0 && u[0] == '@')
		return "empty local part";
	if (atom == 0)
		return i == 0 ? bad_char(u[0], what) : what;
	*ip = i;
	return NULL;
}

static const char *
check_local(const char *a, size_t *lenp)
{
	const char *r;
	size_t i = 0;

	if (a[0] == '"')
		r = check_quoted(a, &i);
	else
		r = check_dotatom(a, &i, "invalid local part");
	if (r != NULL)
		return r;
	if (a[i] == '\0')
		return "missing @domain";
	if (a[i] != '@')
		return bad_char((unsigned char)a[i], "invalid local part");
	if (i > ADDR_MAX_LOCAL)
		return "local part longer than 64 octets";
	*lenp = i;
	return NULL;
}

/* [1.2.3.4] or [IPv6:...] (RFC 5321 section 4.1.3). */
static const char *
check_literal(const char *d, size_t n)
{
	char tmp[64];
	unsigned char bin[16];
	int af = AF_INET;

	if (n < 3 || d[n - 1] != ']' || n - 2 >= sizeof(tmp))
		return "invalid address literal";
	memcpy(tmp, d + 1, n - 2);
	tmp[n - 2] = '\0';
	if (ascii_ncasecmp(tmp, "IPv6:", 5) == 0) {
		af = AF_INET6;
		memmove(tmp, tmp + 5, n - 2 - 5 + 1);
	}
	if (inet_pton(af, tmp, bin) != 1)
		return "invalid address literal";
	return NULL;
}

/* One label: Let-dig [Ldh-str], U-labels allowed (RFC 6531). */
static const char *
check_label(const unsigned char *u, size_t n)
{
	size_t i;

	if (n == 0)
		return "invalid domain";
	if (n > 63)
		return "domain label longer than 63 octets";
	if (u[0] == '-' || u[n - 1] == '-')
		return "invalid domain";
	for (i = 0; i < n; i++)
		if (!((u[i] >= 'a' && u[i] <= 'z') ||
			(u[i] >= 'A' && u[i] <= 'Z') ||
			(u[i] >= '0' && u[i] <= '9') || u[i] == '-' ||
			u[i] >= 0x80))
			return bad_char(u[i], "invalid character in domain");
	return NULL;
}

static const char *
check_domain(const char *d)
{
	const unsigned char *u = (const unsigned char *)d;
	size_t n = strlen(d), start = 0, i;
	const char *r;

	if (n == 0)
		return "empty domain";
	if (n > ADDR_MAX_DOMAIN)
		return "domain longer than 255 octets";
	if (d[0] == '[')
		return check_literal(d, n);
	for (i = 0; i <= n; i++) {
		if (i < n && u[i] != '.')
			continue;
		if ((r = check_label(u + start, i - start)) != NULL)
			return r;
		start = i + 1;
	}
	return NULL;
}

const char *
addr_check(const char *addr, int allow_null, int *utf8)
{
	size_t n, i, local;
	const char *r;

	if (utf8 != NULL)
		*utf8 = 0;
	if (addr == NULL)
		return "no address";
	if ((n = strlen(addr)) == 0)
		return allow_null ? NULL : "empty address";
	for (i = 0; i < n; i++)
		if ((unsigned char)addr[i] < 0x20 || addr[i] == 0x7f ||
		    addr[i] == '<' || addr[i] == '>')
			return bad_char((unsigned char)addr[i], "");
	if (n > ADDR_MAX_PATH - 2)
		return "address longer than 254 octets";
	if (!addr_utf8_valid(addr, n))
		return "invalid UTF-8";
	if ((r = check_local(addr, &local)) != NULL)
		return r;
	if ((r = check_domain(addr + local + 1)) != NULL)
		return r;
	if (utf8 != NULL)
		for (i = 0; i < n; i++)
			if ((unsigned char)addr[i] >= 0x80)
				*utf8 = 1;
	return NULL;
}

/* ---- lists ---- */

void
addr_list_free(struct addr_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
addr_list_add(struct addr_list *l, const char *addr, size_t n, struct err *e)
{
	if (l->n >= ADDR_LIST_MAX)
		return err_set(e, ERR_DATA, "more than %d addresses",
		    ADDR_LIST_MAX);
	if (n > ADDR_LIST_MAX_LEN)
		return err_set(e, ERR_DATA, "address longer than %d octets",
		    ADDR_LIST_MAX_LEN);
	if (has_crlfnul(addr, n))
		return err_set(e, ERR_DATA,
		    "address contains a line break or NUL");
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrndup(addr, n);
	return 0;
}

/* ---- addr_parse_list: RFC 5322 section 3.4 with section 4.4 forms ---- */

enum { T_END = 0, T_ATOM = 'a', T_QUOTED = 'q', T_LIT = 'l', T_BAD = '!' };

struct lex {
	const char *p, *end;
	int t;	       /* T_* or one of the specials "<>:;,@." */
	const char *s; /* the token's text (quotes and brackets kept) */
	size_t n;
	const char *why; /* for T_BAD */
};

static int
lex_bad(struct lex *lx, const char *why)
{
	lx->t = T_BAD;
	lx->why = why;
	return -1;
}

/* Skip FWS and (nested) comments; CR and LF count as folding. */
static int
lex_cfws(struct lex *lx)
{
	int depth = 0;

	for (; lx->p < lx->end; lx->p++) {
		char c = *lx->p;
		if (c == '\0')
			return lex_bad(lx, "NUL in address");
		if (depth > 0 && c == '\\') {
			if (++lx->p == lx->end)
				break;
		} else if (c == '(')
			depth++;
		else if (depth > 0 && c == ')')
			depth--;
		else if (depth == 0 && !strchr(" \t\r\n", c))
			return 0;
	}
	return depth > 0 ? lex_bad(lx, "unterminated comment") : 0;
}

/* A quoted string or domain literal from *p to the closing char. */
static void
lex_delimited(struct lex *lx, char close, int t)
{
	const char *q = lx->p + 1;

	for (; q < lx->end && *q != close; q++) {
		if (*q == '\0' || (close == ']' && *q == '['))
			break;
		if (*q == '\\' && ++q == lx->end)
			break;
	}
	if (q >= lx->end || *q != close) {
		lex_bad(lx, close == '"' ? "unterminated quoted string"
					 : "invalid domain literal");
		return;
	}
	lx->t = t;
	lx->s = lx->p;
	lx->n = (size_t)(q + 1 - lx->p);
	lx->p = q + 1;
}

static void
lex_next(struct lex *lx)
{
	unsigned char c;

	if (lx->t == T_BAD || lex_cfws(lx) == -1)
		return;
	if (lx->p >= lx->end) {
		lx->t = T_END;
		return;
	}
	c = (unsigned char)*lx->p;
	if (c == '"' || c == '[') {
		lex_delimited(lx, c == '"' ? '"' : ']',
		    c == '"' ? T_QUOTED : T_LIT);
	} else if (strchr("<>:;,@.", c) != NULL) {
		lx->t = c;
		lx->s = lx->p++;
		lx->n = 1;
	} else if (addr_is_atext(c) || c >= 0x80) {
		lx->s = lx->p;
		while (
		    lx->p < lx->end && (addr_is_atext((unsigned char)*lx->p) ||
					   (unsigned char)*lx->p >= 0x80))
			lx->p++;
		lx->t = T_ATOM;
		lx->n = (size_t)(lx->p - lx->s);
	} else
		lex_bad(lx, c < 0x20 || c == 0x7f ? "control character"
						  : "unexpected character");
}

/* Append the current token, dropping the CR/LF of folding. */
static int
tok_add(struct buf *b, const struct lex *lx)
{
	size_t i;

	for (i = 0; i < lx->n; i++)
		if (lx->s[i] != '\r' && lx->s[i] != '\n' &&
		    buf_addch(b, lx->s[i]) == -1)
			return -1;
	return 0;
}

/* Words and dots: a display name or a local part.  Returns the number of
 * words; *lp_ok says whether they form word *("." word). */
static int
parse_words(struct lex *lx, struct buf *b, int *lp_ok)
{
	int words = 0, last = 0; /* 0: start, 1: word, 2: dot */

	*lp_ok = 1;
	while (lx->t == T_ATOM || lx->t == T_QUOTED || lx->t == '.') {
		int kind = lx->t == '.' ? 2 : 1;
		if (kind == last || (last == 0 && kind == 2))
			*lp_ok = 0; /* "a b", ".a" or "a..b" */
		last = kind;
		words += kind == 1;
		if (tok_add(b, lx) == -1)
			return -1;
		lex_next(lx);
	}
	if (last == 2)
		*lp_ok = 0;
	return words;
}

/* domain = dot-atom / domain-literal / obs-domain, after the '@'. */
static int
parse_domain(struct lex *lx, struct buf *b)
{
	if (lx->t == T_LIT) {
		if (tok_add(b, lx) == -1)
			return -1;
		lex_next(lx);
		return 0;
	}
	for (;;) {
		if (lx->t != T_ATOM)
			return lex_bad(lx, "invalid domain");
		if (tok_add(b, lx) == -1)
			return -1;
		lex_next(lx);
		if (lx->t != '.')
			return 0;
		if (buf_addch(b, '.') == -1)
			return -1;
		lex_next(lx);
	}
}

/* addr-spec, or a bare local part ("root") to be qualified later. */
static int
parse_spec(struct lex *lx, struct buf *b, int words, int lp_ok)
{
	if (words == 0 || !lp_ok)
		return lex_bad(lx, "invalid local part");
	if (lx->t != '@')
		return 0;
	if (buf_addch(b, '@') == -1)
		return -1;
	lex_next(lx);
	return parse_domain(lx, b);
}

/* obs-route: "@a,@b:" before the addr-spec inside angle brackets. */
static int
skip_route(struct lex *lx)
{
	struct buf junk;
	int r = 0;

	buf_init(&junk, ADDR_LIST_MAX_LEN);
	while (r == 0 && (lx->t == '@' || lx->t == ',')) {
		if (lx->t == '@') {
			lex_next(lx);
			buf_clear(&junk);
			r = parse_domain(lx, &junk);
		} else
			lex_next(lx);
	}
	buf_reset(&junk);
	if (r == -1)
		return -1;
	if (lx->t != ':')
		return lex_bad(lx, "invalid route");
	lex_next(lx);
	return 0;
}

static int
parse_angle(struct lex *lx, struct buf *b)
{
	int words, lp_ok;

	lex_next(lx); /* '<' */
	if (lx->t == '@' && skip_route(lx) == -1)
		return -1;
	if ((words = parse_words(lx, b, &lp_ok)) == -1)
		return -1;
	if (parse_spec(lx, b, words, lp_ok) == -1)
		return -1;
	if (lx->t != '>')
		return lex_bad(lx, "missing '>'");
	lex_next(lx);
	return 0;
}

static int parse_address(struct lex *, struct addr_list *, int, struct err *);

/* group = display-name ":" [group-list] ";"; a missing ';' at the end of
 * the field is tolerated (it loses no address). */
static int
parse_group(struct lex *lx, struct addr_list *l, struct err *e)
{
	lex_next(lx); /* ':' */
	for (;;) {
		while (lx->t == ',')
			lex_next(lx);
		if (lx->t == ';') {
			lex_next(lx);
			return 0;
		}
		if (lx->t == T_END)
			return 0;
		if (parse_address(lx, l, 1, e) == -1)
			return -1;
		if (lx->t != ',' && lx->t != ';' && lx->t != T_END)
			return lex_bad(lx, "expected ',' or ';'");
	}
}

static int
add_buf(struct addr_list *l, struct buf *b, struct lex *lx, struct err *e)
{
	int r;

	if (lx->t == T_BAD) {
		buf_reset(b);
		return -1;
	}
	r = addr_list_add(l, b->data ? b->data : "", b->len, e);
	buf_reset(b);
	if (r == -1) {
		lx->t = T_BAD;
		lx->why = NULL; /* e is filled already */
	}
	return r;
}

static int
parse_address(struct lex *lx, struct addr_list *l, int in_group, struct err *e)
{
	struct buf b;
	int words, lp_ok, r;

	buf_init(&b, ADDR_LIST_MAX_LEN);
	words = parse_words(lx, &b, &lp_ok);
	if (words != -1 && lx->t == ':' && !in_group) {
		buf_reset(&b);
		return parse_group(lx, l, e);
	}
	if (words == -1 || lx->t == T_BAD)
		r = -1;
	else if (lx->t == '<') {
		buf_clear(&b);
		r = parse_angle(lx, &b);
	} else if (words == 0)
		r = lex_bad(lx, "expected an address");
	else if (!lp_ok && lx->t != '@')
		r = lex_bad(lx, "display name without address");
	else
		r = parse_spec(lx, &b, words, lp_ok);
	if (r == -1 && lx->t != T_BAD)
		lex_bad(lx, "address too long"); /* the buf cap */
	return add_buf(l, &b, lx, e);
}

int
addr_parse_list(const char *value, size_t len, struct addr_list *l,
    struct err *e)
{
	struct lex lx = {value, value + len, T_END, NULL, 0, NULL};

	lex_next(&lx);
	for (;;) {
		while (lx.t == ',')
			lex_next(&lx); /* obs-addr-list: empty elements */
		if (lx.t == T_END)
			return 0;
		if (lx.t != T_BAD)
			parse_address(&lx, l, 0, e);
		if (lx.t == T_BAD)
			break;
		if (lx.t != ',' && lx.t != T_END)
			lex_bad(&lx, "expected ','");
	}
	if (lx.why == NULL) /* e was filled by addr_list_add() */
		return -1;
	return err_set(e, ERR_DATA, "malformed address list: %s near \"%.*s\"",
	    lx.why, (int)(lx.end - lx.p < 40 ? lx.end - lx.p : 40), lx.p);
}

/* ---- qualification ---- */

/* The '@' that starts the domain, outside a quoted local part, or NULL. */
static const char *
domain_at(const char *a)
{
	const char *at = NULL;
	int q = 0;

	for (; *a != '\0'; a++) {
		if (q && *a == '\\' && a[1] != '\0')
			a++;
		else if (*a == '"')
			q = !q;
		else if (!q && *a == '@')
			at = a;
	}
	return at;
}

char *
addr_qualify(const char *addr, const char *domain)
{
	struct buf b;
	char *s;

	if (addr[0] == '\0' || domain == NULL || domain[0] == '\0' ||
	    domain_at(addr) != NULL)
		return xstrdup(addr);
	buf_init(&b, (size_t)-1 / 2);
	if (buf_addstr(&b, addr) == -1 || buf_addch(&b, '@') == -1 ||
	    buf_addstr(&b, domain) == -1 || (s = buf_steal(&b, NULL)) == NULL)
		fatal_oom();
	return s;
}

const char *
addr_domain(const char *addr)
{
	const char *at = domain_at(addr);

	return at != NULL ? at + 1 : NULL;
}

/* ---- qualifying address-list fields (cron's "To: root") ---- */

/* The top-level shape of one list element: angle brackets, the first
 * comment, and whether it holds a group (':' or ';'). */
struct elem {
	const char *lt, *gt;	     /* '<' and '>' or NULL */
	const char *cmt, *cmt_end;   /* inside the first comment */
	const char *spec, *spec_end; /* bare form: text outside comments */
	int group, bad;
};

static void
elem_scan(const char *p, const char *end, struct elem *el)
{
	int q = 0, depth = 0;

	memset(el, 0, sizeof(*el));
	for (; p < end; p++) {
		if ((q || depth > 0) && *p == '\\' && p + 1 < end) {
			p++;
		} else if (depth == 0 && *p == '"') {
			q = !q;
		} else if (!q && *p == '(') {
			if (depth++ == 0 && el->cmt == NULL)
				el->cmt = p + 1;
		} else if (!q && depth > 0 && *p == ')') {
			if (--depth == 0 && el->cmt_end == NULL)
				el->cmt_end = p;
		} else if (!q && depth == 0) {
			if (*p == '<' && el->lt == NULL)
				el->lt = p;
			else if (*p == '>' && el->gt == NULL)
				el->gt = p;
			else if (*p == ':' || *p == ';')
				el->group = 1;
		}
	}
	el->bad = q || depth > 0 || (el->lt != NULL) != (el->gt != NULL) ||
		  (el->lt != NULL && el->gt < el->lt);
}

/* Append n bytes without CR/LF (unfolding). */
static int
add_unfolded(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n' && buf_addch(b, p[i]) == -1)
			return -1;
	return 0;
}

static void
trim_span(const char **p, const char **end)
{
	while (*p < *end && strchr(" \t\r\n", **p) != NULL)
		(*p)++;
	while (*end > *p && strchr(" \t\r\n", (*end)[-1]) != NULL)
		(*end)--;
}

/* The bare local part without comments, trimmed, in spec (a copy). */
static int
bare_spec(const char *p, const char *end, struct buf *spec)
{
	int depth = 0, q = 0;

	for (; p < end; p++) {
		if ((q || depth > 0) && *p == '\\' && p + 1 < end) {
			if (depth == 0 && buf_add(spec, p, 2) == -1)
				return -1;
			p++;
		} else if (depth == 0 && *p == '"') {
			q = !q;
			if (buf_addch(spec, '"') == -1)
				return -1;
		} else if (!q && *p == '(') {
			depth++;
		} else if (!q && depth > 0 && *p == ')') {
			depth--;
		} else if (depth == 0 && strchr(" \t\r\n", *p) == NULL &&
			   buf_addch(spec, *p) == -1) {
			return -1;
		}
	}
	return 0;
}

/* A comment's text as a display name: atoms as is, else quoted. */
static int
add_display(struct buf *b, const char *p, const char *end)
{
	const char *s;
	int atoms = 1;

	for (s = p; s < end; s++)
		if (!addr_is_atext((unsigned char)*s) && *s != ' ')
			atoms = 0;
	if (atoms)
		return buf_add(b, p, (size_t)(end - p));
	if (buf_addch(b, '"') == -1)
		return -1;
	for (s = p; s < end; s++) {
		if (*s == '\r' || *s == '\n')
			continue;
		if (*s == '\\' && s + 1 < end)
			s++; /* the comment's quoted-pair */
		if ((*s == '"' || *s == '\\') && buf_addch(b, '\\') == -1)
			return -1;
		if (buf_addch(b, *s) == -1)
			return -1;
	}
	return buf_addch(b, '"');
}

/* A bare element's new form: spec (with "@domain" unless domain is NULL),
 * the element's first comment as the display name.  1, or -1. */
static int
put_bare(struct buf *out, struct elem *el, const char *spec, const char *domain)
{
	const char *at = domain != NULL ? "@" : "", *d = domain ? domain : "";

	if (el->cmt != NULL && el->cmt_end != NULL &&
	    (trim_span(&el->cmt, &el->cmt_end), el->cmt < el->cmt_end))
		return add_display(out, el->cmt, el->cmt_end) == -1 ||
			       buf_printf(out, " <%s%s%s>", spec, at, d) == -1
			   ? -1
			   : 1;
	return buf_printf(out, "%s%s%s", spec, at, d) == -1 ? -1 : 1;
}

/* One element: 1 changed (appended to out), 0 unchanged (appended as
 * is), -1 a shape we do not rewrite. */
static int
qualify_elem(const char *p, const char *end, const char *domain,
    addr_map_fn *map, void *arg, struct buf *out)
{
	struct elem el;
	struct buf spec;
	char *repl = NULL;
	int r = 0;

	trim_span(&p, &end);
	elem_scan(p, end, &el);
	if (el.bad || el.group)
		return -1;
	if (el.lt != NULL) {
		const char *in = el.lt + 1, *in_end = el.gt;
		buf_init(&spec, ADDR_LIST_MAX_LEN);
		trim_span(&in, &in_end);
		r = bare_spec(in, in_end, &spec);
		if (r == 0 && spec.len > 0 && map != NULL)
			repl = map(arg, spec.data);
		if (repl != NULL) {
			r = add_unfolded(out, p, (size_t)(in - p)) == -1 ||
				    buf_addstr(out, repl) == -1 ||
				    add_unfolded(out, in_end,
					(size_t)(end - in_end)) == -1
				? -1
				: 1;
			free(repl);
		} else if (r == 0 && spec.len > 0 &&
			   domain_at(spec.data) == NULL) {
			r = add_unfolded(out, p, (size_t)(in_end - p)) == -1 ||
				    buf_printf(out, "@%s", domain) == -1 ||
				    add_unfolded(out, in_end,
					(size_t)(end - in_end)) == -1
				? -1
				: 1;
		} else if (r == 0)
			r = add_unfolded(out, p, (size_t)(end - p));
		buf_reset(&spec);
		return r;
	}
	buf_init(&spec, ADDR_LIST_MAX_LEN);
	if (bare_spec(p, end, &spec) == -1 || spec.len == 0)
		r = -1;
	else if (map != NULL && (repl = map(arg, spec.data)) != NULL) {
		r = put_bare(out, &el, repl, NULL);
		free(repl);
	} else if (domain_at(spec.data) != NULL)
		r = add_unfolded(out, p, (size_t)(end - p));
	else
		r = put_bare(out, &el, spec.data, domain);
	buf_reset(&spec);
	return r;
}

/*
 * The rewrite works on the element's text, not on the lexer's tokens, so
 * check what it made: no CR, LF or NUL (a quoted-pair may hide one, and
 * unfolding can change what a backslash escapes), and a list that parses
 * with a domain in every address.  Else the field is left alone.
 */
static int
qualified_ok(const struct buf *out)
{
	struct addr_list l = {0};
	size_t i;
	int ok;

	if (out->data == NULL || has_crlfnul(out->data, out->len))
		return -1;
	ok = addr_parse_list(out->data, out->len, &l, NULL) == 0;
	for (i = 0; ok && i < l.n; i++)
		ok = domain_at(l.v[i]) != NULL;
	addr_list_free(&l);
	return ok ? 1 : -1;
}

int
addr_qualify_header(const char *value, size_t len, const char *domain,
    struct buf *out)
{
	return addr_rewrite_header(value, len, domain, NULL, NULL, out);
}

/* Would map rewrite one of the list's addresses? */
static int
map_any(const struct addr_list *l, addr_map_fn *map, void *arg)
{
	size_t i;
	char *r;

	for (i = 0; map != NULL && i < l->n; i++)
		if ((r = map(arg, l->v[i])) != NULL) {
			free(r);
			return 1;
		}
	return 0;
}

int
addr_rewrite_header(const char *value, size_t len, const char *domain,
    addr_map_fn *map, void *arg, struct buf *out)
{
	struct addr_list l = {0};
	const char *p = value, *end = value + len, *s;
	int q = 0, depth = 0, changed = 0, r;
	size_t i, n;

	if (domain == NULL || domain[0] == '\0' ||
	    memchr(value, '\0', len) != NULL ||
	    addr_parse_list(value, len, &l, NULL) == -1) {
		addr_list_free(&l);
		return -1;
	}
	for (i = 0; i < l.n && domain_at(l.v[i]) != NULL; i++)
		;
	n = l.n;
	if (i == n && map_any(&l, map, arg))
		i = 0;
	addr_list_free(&l);
	if (i == n) /* nothing to qualify (groups included) */
		return add_unfolded(out, value, len) == -1 ? -1 : 0;
	for (s = p; s <= end; s++) {
		if (s < end && (q || depth > 0) && *s == '\\' && s + 1 < end) {
			s++;
			continue;
		}
		if (s < end && depth == 0 && *s == '"')
			q = !q;
		else if (s < end && !q && *s == '(')
			depth++;
		else if (s < end && !q && depth > 0 && *s == ')')
			depth--;
		if (s < end && (q || depth > 0 || *s != ','))
			continue;
		if (p != value && buf_addstr(out, ", ") == -1)
			return -1;
		if ((r = qualify_elem(p, s, domain, map, arg, out)) == -1)
			return -1;
		changed |= r;
		p = s + 1;
	}
	return changed ? qualified_ok(out) : 0;
}
