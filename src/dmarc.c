/*
 * dmarc.c -- DMARC, RFC 7489: the record (6.3), policy discovery with the
 * organisational-domain fallback (6.6.3), alignment (3.1).  The only file
 * that includes libpsl.h: the organisational domain comes from the Public
 * Suffix List Debian's publicsuffix package keeps current (psl_latest()
 * takes the newer of that file and libpsl's built-in copy).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "buf.h"
#include "dl.h"
#include "dmarc.h"

/* libpsl, loaded by dmarc_org_domain() on first use (dl.h). */
/* clang-format off */
#define PSL_FUNCTIONS(X) X(psl_free) X(psl_latest) X(psl_registrable_domain)
/* clang-format on */
DL_LIBRARY(PSL_FUNCTIONS);

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT	 ? "reject"
	       : p == DMARC_P_QUARANTINE ? "quarantine"
					 : "none";
}

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* One "name=value" of a tag-list, blanks around both trimmed. */
struct tag {
	const char *name, *val;
	size_t nlen, vlen;
};

static const char *
next_tag(const char **pp, const char *end, struct tag *t)
{
	const char *p = *pp, *semi, *eq, *a, *b;

	semi = memchr(p, ';', (size_t)(end - p));
	if (semi == NULL)
		semi = end;
	*pp = semi < end ? semi + 1 : end;
	if ((eq = memchr(p, '=', (size_t)(semi - p))) == NULL) {
		for (a = p; a < semi && is_wsp(*a); a++)
			;
		if (a == semi) {
			t->name = NULL; /* empty: "a; ;" or the end */
			return NULL;
		}
		return "a tag without '='";
	}
	for (a = p; a < eq && is_wsp(*a); a++)
		;
	for (b = eq; b > a && is_wsp(b[-1]); b--)
		;
	t->name = a;
	t->nlen = (size_t)(b - a);
	for (a = eq + 1; a < semi && is_wsp(*a); a++)
		;
	for (b = semi; b > a && is_wsp(b[-1]); b--)
		;
	t->val = a;
	t->vlen = (size_t)(b - a);
	if (t->nlen == 0)
		return "a tag without a name";
	return NULL;
}

static int
tag_is(const struct tag *t, const char *name)
{
	return strlen(name) == t->nlen && strncmp(t->name, name, t->nlen) == 0;
}

static int
val_is(const struct tag *t, const char *v)
{
	return strlen(v) == t->vlen && ascii_ncasecmp(t->val, v, t->vlen) == 0;
}

static const char *
parse_policy(const struct tag *t, enum dmarc_policy *p)
{
	if (val_is(t, "none"))
		*p = DMARC_P_NONE;
	else if (val_is(t, "quarantine"))
		*p = DMARC_P_QUARANTINE;
	else if (val_is(t, "reject"))
		*p = DMARC_P_REJECT;
	else
		return "expected none, quarantine or reject";
	return NULL;
}

/* DMARC-URI = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] (6.4) */
static const char *
check_uri(const char *u, size_t n)
{
	const char *bang = memchr(u, '!', n), *colon, *p;
	size_t un = bang != NULL ? (size_t)(bang - u) : n, i;

	if (bang != NULL) {
		for (p = bang + 1; p < u + n && *p >= '0' && *p <= '9'; p++)
			;
		if (p == bang + 1 ||
		    (p < u + n &&
			(strchr("kmgt", *p) == NULL || p + 1 != u + n)))
			return "bad size limit after '!'";
	}
	colon = memchr(u, ':', un);
	if (colon == NULL || colon == u ||
	    !((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z')))
		return "not a URI (expected mailto:ADDRESS)";
	for (i = 0; i < un; i++)
		if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f)
			return "a URI with a blank or non-ASCII character";
	if ((size_t)(colon - u) == 6 && ascii_ncasecmp(u, "mailto", 6) == 0) {
		const char *at = memchr(colon + 1, '@', un - 7);
		if (at == NULL || at == colon + 1 || at + 1 == u + un)
			return "mailto: without an address";
	}
	return NULL;
}

static const char *
parse_uris(const struct tag *t, char (*out)[DMARC_URI_LEN], size_t *n)
{
	const char *p = t->val, *end = t->val + t->vlen, *comma, *a, *b, *why;

	*n = 0;
	while (p <= end) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		for (a = p; a < comma && is_wsp(*a); a++)
			;
		for (b = comma; b > a && is_wsp(b[-1]); b--)
			;
		if (a == b)
			return "an empty URI";
		if ((why = check_uri(a, (size_t)(b - a))) != NULL)
			return why;
		if (*n == DMARC_MAX_URIS || (size_t)(b - a) >= DMARC_URI_LEN)
			return "too many or too long URIs";
		memcpy(out[*n], a, (size_t)(b - a));
		out[(*n)++][b - a] = '\0';
		p = comma + 1;
	}
	return NULL;
}

static const char *
parse_fo(const struct tag *t, char *fo, size_t fosize)
{
	size_t i;

	if (t->vlen == 0 || t->vlen >= fosize)
		return "expected 0, 1, d or s, separated by ':'";
	for (i = 0; i < t->vlen; i++)
		if ((i % 2 == 0 && strchr("01ds", t->val[i]) == NULL) ||
		    (i % 2 == 1 && t->val[i] != ':'))
			return "expected 0, 1, d or s, separated by ':'";
	if (t->val[t->vlen - 1] == ':')
		return "expected 0, 1, d or s, separated by ':'";
	memcpy(fo, t->val, t->vlen);
	fo[t->vlen] = '\0';
	return NULL;
}

static const char *
parse_num(const struct tag *t, unsigned long long max, unsigned long long *out)
{
	char num[24];

	if (t->vlen == 0 || t->vlen >= sizeof(num))
		return "expected a number";
	memcpy(num, t->val, t->vlen);
	num[t->vlen] = '\0';
	if (parse_uint_str(num, max, out) == -1)
		return max == 100 ? "expected 0 to 100" : "expected a number";
	return NULL;
}

static const char *
parse_tag(const struct tag *t, struct dmarc_record *r)
{
	unsigned long long v;
	const char *why = NULL;

	if (tag_is(t, "p"))
		return parse_policy(t, &r->p);
	if (tag_is(t, "sp")) {
		r->has_sp = 1;
		return parse_policy(t, &r->sp);
	}
	if (tag_is(t, "adkim") || tag_is(t, "aspf")) {
		enum dmarc_align *a = tag_is(t, "adkim") ? &r->adkim : &r->aspf;
		if (!val_is(t, "r") && !val_is(t, "s"))
			return "expected r (relaxed) or s (strict)";
		*a = val_is(t, "s") ? DMARC_STRICT : DMARC_RELAXED;
		return NULL;
	}
	if (tag_is(t, "pct")) {
		if ((why = parse_num(t, 100, &v)) == NULL)
			r->pct = (unsigned)v;
		return why;
	}
	if (tag_is(t, "ri"))
		return parse_num(t, 4294967295ULL, &r->ri);
	if (tag_is(t, "rua"))
		return parse_uris(t, r->rua, &r->nrua);
	if (tag_is(t, "ruf"))
		return parse_uris(t, r->ruf, &r->nruf);
	if (tag_is(t, "fo"))
		return parse_fo(t, r->fo, sizeof(r->fo));
	if (tag_is(t, "rf"))
		return val_is(t, "afrf") ? NULL : "expected afrf";
	return NULL; /* unknown tags are ignored (6.3) */
}

int
dmarc_is_record(const char *txt, size_t len)
{
	struct tag t;
	const char *p = txt;

	return next_tag(&p, txt + len, &t) == NULL && t.name != NULL &&
	       t.name == txt && tag_is(&t, "v") && t.vlen == 6 &&
	       memcmp(t.val, "DMARC1", 6) == 0;
}

static const char *
parse_tags(const char *p, const char *end, struct dmarc_record *r)
{
	static const char *const known[] = {"p", "sp", "adkim", "aspf", "pct",
	    "ri", "rua", "ruf", "fo", "rf"};
	unsigned seen = 0, i;
	const char *why;
	struct tag t;

	while (p < end) {
		if ((why = next_tag(&p, end, &t)) != NULL)
			return why;
		if (t.name == NULL)
			continue;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (tag_is(&t, known[i])) {
				if (seen & (1u << i))
					return "a tag given twice";
				seen |= 1u << i;
			}
		if (tag_is(&t, "v"))
			return "v= must be the first tag only";
		if ((why = parse_tag(&t, r)) != NULL)
			return why;
	}
	if (!(seen & 1u))
		return "no p= tag";
	return NULL;
}

const char *
dmarc_parse(const char *txt, size_t len, struct dmarc_record *r)
{
	struct tag t;
	const char *p = txt, *end = txt + len, *why;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->ri = 86400;
	str_copy(r->fo, "0", sizeof(r->fo));
	for (i = 0; i < len; i++)
		if ((unsigned char)txt[i] < 0x20 && txt[i] != '\t')
			return "a control character in the record";
	if (!dmarc_is_record(txt, len))
		return "does not start with v=DMARC1";
	next_tag(&p, end, &t);
	if ((why = parse_tags(p, end, r)) != NULL)
		return why;
	if (!r->has_sp)
		r->sp = r->p;
	return NULL;
}

/* ---- the organisational domain ---- */

int
dmarc_org_domain(const char *domain, char *out, size_t outsize)
{
	psl_ctx_t *psl;
	const char *reg;
	char *lower;
	size_t i, n = strlen(domain);
	int r = -1;

	if (n == 0 || n > 253)
		return -1;
	lower = xstrdup(domain);
	for (i = 0; i < n; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] + 32);
	if (n > 0 && lower[n - 1] == '.')
		lower[n - 1] = '\0';
	/* As with no list at all: no organisational domain is known. */
	if (DL_LOAD(PSL_SONAME, NULL) == -1 ||
	    (psl = lib.psl_latest(NULL)) == NULL) {
		free(lower);
		return -1;
	}
	/* A public suffix itself has no organisational domain: its own. */
	reg = lib.psl_registrable_domain(psl, lower);
	r = str_copy(out, reg != NULL ? reg : lower, outsize);
	lib.psl_free(psl);
	free(lower);
	return r;
}

int
dmarc_aligned(const char *id, const char *from, enum dmarc_align mode)
{
	char a[256], b[256];

	if (ascii_casecmp(id, from) == 0)
		return 1;
	if (mode == DMARC_STRICT)
		return 0;
	if (dmarc_org_domain(id, a, sizeof(a)) == -1 ||
	    dmarc_org_domain(from, b, sizeof(b)) == -1)
		return -1;
	return ascii_casecmp(a, b) == 0;
}

/* ---- policy discovery ---- */

static enum dmarc_status set(struct dmarc_result *out, enum dmarc_status s,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum dmarc_status
set(struct dmarc_result *out, enum dmarc_status s, const char *fmt, ...)
{
	va_list ap;

	out->status = s;
	va_start(ap, fmt);
	vsnprintf(out->problem, sizeof(out->problem), fmt, ap);
	va_end(ap);
	return s;
}

/* Look at _dmarc.<domain>: -1 temp, 0 nothing, 1 decided (out set). */
static int
try_domain(const struct dns_resolver *r, const char *domain,
    struct dmarc_result *out)
{
	struct dns_answer a;
	const struct dns_rr *rec = NULL;
	enum dns_status s;
	size_t i, found = 0;
	const char *why;

	snprintf(out->where, sizeof(out->where), "_dmarc.%s", domain);
	s = r->lookup(r->arg, out->where, DNS_T_TXT, &a);
	if (dns_status_temporary(s)) {
		set(out, DMARC_TEMP, "%s: TXT lookup: %s", out->where, a.why);
		dns_answer_free(&a);
		return -1;
	}
	for (i = 0; s == DNS_FOUND && i < a.nrr; i++)
		if (dmarc_is_record(a.rr[i].text, a.rr[i].len)) {
			rec = &a.rr[i];
			found++;
		}
	out->sec = a.sec;
	if (found > 1)
		set(out, DMARC_MULTIPLE,
		    "%s: %zu DMARC records (there must "
		    "be one; receivers ignore them all)",
		    out->where, found);
	else if (found == 1 &&
		 (why = dmarc_parse(rec->text, rec->len, &out->rec)) != NULL)
		set(out, DMARC_INVALID, "%s: invalid record: %s", out->where,
		    why);
	else if (found == 1)
		out->status = DMARC_FOUND;
	dns_answer_free(&a);
	return found > 0;
}

enum dmarc_status
dmarc_lookup(const struct dns_resolver *r, const char *from_domain,
    struct dmarc_result *out)
{
	int got;

	memset(out, 0, sizeof(*out));
	if (dmarc_org_domain(from_domain, out->org, sizeof(out->org)) == -1)
		return set(out, DMARC_TEMP,
		    "%s: no Public Suffix List (install publicsuffix)",
		    from_domain);
	if ((got = try_domain(r, from_domain, out)) != 0)
		goto done;
	if (ascii_casecmp(out->org, from_domain) == 0)
		return set(out, DMARC_MISSING, "no DMARC record at _dmarc.%s",
		    from_domain);
	out->fallback = 1;
	if ((got = try_domain(r, out->org, out)) == 0)
		return set(out, DMARC_MISSING,
		    "no DMARC record at _dmarc.%s nor at _dmarc.%s",
		    from_domain, out->org);
done:
	if (got == 1 && out->status == DMARC_FOUND)
		out->policy = out->fallback ? out->rec.sp : out->rec.p;
	return out->status;
}
