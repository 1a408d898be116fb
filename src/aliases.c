/*
 * aliases.c -- an /etc/aliases-style file mapping local names to
 * addresses, and the expansion of a local recipient through it.
 *
 * Purpose: root's cron mail, postmaster and a user's mail go to real
 * addresses (msmtp's "aliases" keyword; model: OpenSMTPD aliases.c and
 * expand.c, an expansion tree with loop detection).
 *
 * Syntax, one entry per logical line:
 *	# comment
 *	root:       admin@example.org, alice
 *	alice:      alice@example.net,
 *	            alice@example.com          (continuation: leading blank)
 *	default:    catchall@example.org       (names not listed)
 * Names are case-insensitive and made of [A-Za-z0-9._+-].  '#' starts a
 * comment at the start of a line or after a blank.  A right-hand side item
 * is an address with '@', or a local name (expanded again, depth-limited);
 * one pair of angle brackets is removed.
 *
 * Non-goals: local delivery.  So ":include:", "|command" and "/file"
 * targets are refused with a clear error rather than half-supported.
 *
 * Invariants: no stored string holds CR, LF or NUL; every entry of a
 * parsed file expands without a loop (checked at parse time, so
 * newaliases finds it, and again at expansion with the caller's local
 * domains).
 *
 * Failure policy: any problem is ERR_CONFIG "file:line: reason"; nothing
 * is guessed.  The caller stops before the message is stored.
 */
#include "aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

struct alias {
	char *name;
	unsigned line;
	char **rhs;
	size_t nrhs;
};

struct aliases {
	char *file;
	struct alias *v;
	size_t n;
	const struct alias *deflt;
};

/* The chain being expanded, for loop detection and the error text. */
struct chain {
	const struct alias *v[ALIASES_MAX_DEPTH];
	size_t n;
};

void
aliases_free(struct aliases *al)
{
	size_t i, j;

	if (al == NULL)
		return;
	for (i = 0; i < al->n; i++) {
		for (j = 0; j < al->v[i].nrhs; j++)
			free(al->v[i].rhs[j]);
		free(al->v[i].rhs);
		free(al->v[i].name);
	}
	free(al->v);
	free(al->file);
	free(al);
}

size_t
aliases_count(const struct aliases *al)
{
	return al != NULL ? al->n : 0;
}

static int
perr(const struct aliases *al, unsigned line, struct err *e, const char *why,
    const char *what)
{
	return err_set(e, ERR_CONFIG, "%s:%u: %s%s%s%s", al->file, line, why,
	    what != NULL ? " '" : "", what != NULL ? what : "",
	    what != NULL ? "'" : "");
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	       c == '-';
}

static const struct alias *
find(const struct aliases *al, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < al->n; i++)
		if (strlen(al->v[i].name) == n &&
		    ascii_ncasecmp(al->v[i].name, name, n) == 0)
			return &al->v[i];
	return NULL;
}

static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* A refused target, or NULL. */
static const char *
refused_target(const char *p, size_t n)
{
	if (n >= 9 && ascii_ncasecmp(p, ":include:", 9) == 0)
		return ":include: is not supported (postseal delivers no "
		       "local mail; list the addresses here)";
	if (p[0] == '|')
		return "delivery to a command is not supported";
	if (p[0] == '/')
		return "delivery to a file is not supported";
	if (p[0] == '"' && n > 1 && (p[1] == '|' || p[1] == '/'))
		return "delivery to a command or file is not supported";
	return NULL;
}

/* Check one item and append it to a's right-hand side. */
static int
add_item(struct aliases *al, struct alias *a, const char *p, size_t n,
    struct err *e)
{
	char probe[ADDR_LIST_MAX_LEN + 32];
	const char *why;
	char *item;

	if (n >= 2 && p[0] == '<' && p[n - 1] == '>')
		p++, n -= 2;
	if (n == 0)
		return perr(al, a->line, e, "empty address for", a->name);
	if ((why = refused_target(p, n)) != NULL)
		return perr(al, a->line, e, why, NULL);
	if (n > ADDR_LIST_MAX_LEN)
		return perr(al, a->line, e, "address too long for", a->name);
	item = xstrndup(p, n);
	snprintf(probe, sizeof(probe), "%s%s", item,
	    memchr(item, '@', n) != NULL ? "" : "@example.invalid");
	if ((why = addr_check(probe, 0, NULL)) != NULL) {
		err_set(e, ERR_CONFIG,
		    "%s:%u: invalid address '%s' for '%s': %s", al->file,
		    a->line, item, a->name, why);
		free(item);
		return -1;
	}
	a->rhs = xreallocarray(a->rhs, a->nrhs + 1, sizeof(*a->rhs));
	a->rhs[a->nrhs++] = item;
	return 0;
}

/* Split the right-hand side at commas (outside quotes). */
static int
parse_rhs(struct aliases *al, struct alias *a, const char *p, size_t n,
    struct err *e)
{
	size_t i, start = 0;
	int q = 0;

	for (i = 0; i <= n; i++) {
		const char *s = p + start;
		size_t len = i - start;

		if (i < n && p[i] == '"')
			q = !q;
		if (i < n && (q || p[i] != ','))
			continue;
		trim(&s, &len);
		if (len > 0 && add_item(al, a, s, len, e) == -1)
			return -1;
		start = i + 1;
	}
	if (a->nrhs == 0)
		return perr(al, a->line, e, "no addresses for", a->name);
	return 0;
}

/* One logical entry "name: rhs". */
static int
parse_entry(struct aliases *al, const char *p, size_t n, unsigned line,
    struct err *e)
{
	const char *colon = memchr(p, ':', n), *name = p;
	size_t nlen, i;
	const struct alias *dup;
	struct alias *a;
	char tmp[64];

	if (colon == NULL)
		return perr(al, line, e, "expected 'name: address, ...'", NULL);
	nlen = (size_t)(colon - p);
	trim(&name, &nlen);
	for (i = 0; i < nlen; i++)
		if (!name_char((unsigned char)name[i]))
			break;
	if (nlen == 0 || i < nlen) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(nlen < 40 ? nlen : 40),
		    name);
		return perr(al, line, e, "invalid alias name", tmp);
	}
	if ((dup = find(al, name, nlen)) != NULL) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(nlen < 40 ? nlen : 40),
		    name);
		return err_set(e, ERR_CONFIG,
		    "%s:%u: duplicate alias '%s' (first on line %u)", al->file,
		    line, tmp, dup->line);
	}
	al->v = xreallocarray(al->v, al->n + 1, sizeof(*al->v));
	a = &al->v[al->n++];
	memset(a, 0, sizeof(*a));
	a->name = xstrndup(name, nlen);
	a->line = line;
	return parse_rhs(al, a, colon + 1, n - (size_t)(colon + 1 - p), e);
}

/* The length of a physical line without its comment. */
static size_t
uncommented(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '#' &&
		    (i == 0 || p[i - 1] == ' ' || p[i - 1] == '\t'))
			return i;
	return n;
}

static int
blank(const char *p, size_t n)
{
	const char *s = p;

	trim(&s, &n);
	return n == 0;
}

/* Feed one physical line; complete entries are parsed when the next one
 * starts (or at the end, with p == NULL). */
static int
feed_line(struct aliases *al, struct buf *ent, unsigned *ent_line,
    const char *p, size_t n, unsigned line, struct err *e)
{
	int cont;

	if (p != NULL && memchr(p, '\0', n) != NULL)
		return perr(al, line, e, "NUL byte in the line", NULL);
	if (p != NULL && memchr(p, '\r', n) != NULL)
		return perr(al, line, e, "carriage return (CR) in the line",
		    NULL);
	if (p != NULL) {
		n = uncommented(p, n);
		if (blank(p, n))
			return 0;
	}
	cont = p != NULL && (p[0] == ' ' || p[0] == '\t');
	if (cont && *ent_line == 0)
		return perr(al, line, e,
		    "continuation line without an entry before it", NULL);
	if (!cont && *ent_line != 0) {
		if (parse_entry(al, ent->data, ent->len, *ent_line, e) == -1)
			return -1;
		buf_clear(ent);
		*ent_line = 0;
	}
	if (p == NULL)
		return 0;
	if (!cont)
		*ent_line = line;
	if ((cont && buf_addch(ent, ' ') == -1) || buf_add(ent, p, n) == -1)
		return perr(al, *ent_line, e, "entry too long", NULL);
	return 0;
}

static int expand_alias(const struct aliases *al, const struct alias *a,
    const char *const *doms, struct chain *c, struct addr_list *out,
    size_t start, struct err *e);

static int
check_loops(const struct aliases *al, struct err *e)
{
	static const char *const doms[] = {"localhost", NULL};
	struct addr_list l = {0};
	struct chain c;
	size_t i;
	int r = 0;

	for (i = 0; i < al->n && r == 0; i++) {
		c.n = 0;
		r = expand_alias(al, &al->v[i], doms, &c, &l, 0, e);
		addr_list_free(&l);
	}
	return r;
}

int
aliases_parse(const char *file, const char *text, size_t n,
    struct aliases **out, struct err *e)
{
	struct aliases *al = xcalloc(1, sizeof(*al));
	struct buf ent;
	unsigned line = 0, ent_line = 0;
	size_t off = 0, len;
	const char *lf;
	int r = 0;

	al->file = xstrdup(file);
	buf_init(&ent, ALIASES_MAX_ENTRY);
	while (r == 0 && off < n) {
		lf = memchr(text + off, '\n', n - off);
		len = lf != NULL ? (size_t)(lf - (text + off)) : n - off;
		r = feed_line(al, &ent, &ent_line, text + off, len, ++line, e);
		off += len + (lf != NULL);
	}
	if (r == 0)
		r = feed_line(al, &ent, &ent_line, NULL, 0, line, e);
	buf_reset(&ent);
	if (r == 0) {
		al->deflt = find(al, "default", 7);
		r = check_loops(al, e);
	}
	if (r == -1) {
		aliases_free(al);
		return -1;
	}
	*out = al;
	return 0;
}

int
aliases_load(const char *file, struct aliases **out, struct err *e)
{
	struct buf b;
	char chunk[8192];
	ssize_t got;
	int fd, r = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(e, ERR_CONFIG, "aliases file %s: %s", file,
		    strerror(errno));
	buf_init(&b, ALIASES_MAX_FILE);
	while (r == 0 && (got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			r = err_set(e, ERR_CONFIG, "aliases file %s: %s", file,
			    strerror(errno));
		else if (buf_add(&b, chunk, (size_t)got) == -1)
			r = err_set(e, ERR_CONFIG,
			    "aliases file %s: larger than %d bytes", file,
			    ALIASES_MAX_FILE);
	}
	close(fd);
	if (r == 0)
		r = aliases_parse(file, b.data != NULL ? b.data : "", b.len,
		    out, e);
	buf_reset(&b);
	return r;
}

/* The '@' of addr's domain, or NULL (quoted local parts skipped). */
static const char *
at_sign(const char *addr)
{
	const char *d = addr_domain(addr);

	return d != NULL ? d - 1 : NULL;
}

int
aliases_is_local(const char *addr, const char *const *local_domains)
{
	const char *at = at_sign(addr);
	size_t i;

	if (at == NULL)
		return addr[0] != '\0';
	for (i = 0; local_domains != NULL && local_domains[i] != NULL; i++)
		if (local_domains[i][0] != '\0' &&
		    ascii_casecmp(at + 1, local_domains[i]) == 0)
			return 1;
	return 0;
}

static int
loop_err(const struct aliases *al, const struct chain *c, const struct alias *a,
    struct err *e)
{
	char path[200];
	size_t i, off = 0;

	path[0] = '\0';
	for (i = 0; i < c->n && off < sizeof(path); i++)
		off += (size_t)snprintf(path + off, sizeof(path) - off,
		    "%s -> ", c->v[i]->name);
	if (off < sizeof(path))
		snprintf(path + off, sizeof(path) - off, "%s", a->name);
	return err_set(e, ERR_CONFIG, "%s:%u: alias loop: %s", al->file,
	    c->n > 0 ? c->v[c->n - 1]->line : a->line, path);
}

/* Expand one local name met at depth c->n (c->n == 0: the recipient). */
static int
expand_name(const struct aliases *al, const char *addr, const char *const *doms,
    struct chain *c, struct addr_list *out, size_t start, struct err *e)
{
	const char *at = at_sign(addr);
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);
	const struct alias *a = find(al, addr, n);

	if (a == NULL && c->n == 0)
		a = al->deflt;
	if (a == NULL)
		return addr_list_add(out, addr, n, e);
	return expand_alias(al, a, doms, c, out, start, e);
}

static int
expand_alias(const struct aliases *al, const struct alias *a,
    const char *const *doms, struct chain *c, struct addr_list *out,
    size_t start, struct err *e)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i] == a)
			return loop_err(al, c, a, e);
	if (c->n >= ALIASES_MAX_DEPTH)
		return err_set(e, ERR_CONFIG,
		    "%s:%u: aliases nested deeper than %d", al->file, a->line,
		    ALIASES_MAX_DEPTH);
	c->v[c->n++] = a;
	for (i = 0; i < a->nrhs; i++) {
		if (aliases_is_local(a->rhs[i], doms)) {
			if (expand_name(al, a->rhs[i], doms, c, out, start,
				e) == -1)
				return -1;
		} else if (addr_list_add(out, a->rhs[i], strlen(a->rhs[i]),
			       e) == -1)
			return -1;
		if (out->n - start > ALIASES_MAX_EXPANSION)
			return err_set(e, ERR_CONFIG,
			    "%s:%u: '%s' expands to more than %d addresses",
			    al->file, a->line, a->name, ALIASES_MAX_EXPANSION);
	}
	c->n--;
	return 0;
}

int
aliases_expand(const struct aliases *al, const char *addr,
    const char *const *local_domains, struct addr_list *out, struct err *e)
{
	struct chain c;

	c.n = 0;
	if (!aliases_is_local(addr, local_domains))
		return addr_list_add(out, addr, strlen(addr), e);
	return expand_name(al, addr, local_domains, &c, out, out->n, e);
}
