/*
 * fuzz_aliases.c -- libFuzzer harness for aliases.c,
 * addr_qualify_header() and addr_rewrite_header().
 *
 * Purpose: feed hostile bytes as an aliases file and check the promises of
 * aliases.h on every result, not only the absence of crashes:
 *   - aliases_parse() either fails with ERR_CONFIG and a message that
 *     starts with the file name and a line number, or succeeds;
 *   - on success, expanding a few local names (and every name of the
 *     form "nameN") yields at most ALIASES_MAX_EXPANSION addresses, none
 *     with CR, LF or NUL, and never loops (a loop would hang or overflow);
 *   - addr_qualify_header() and addr_rewrite_header() (with a map that
 *     also offers a line break) on the same bytes: a result of 1 is a value
 *     without CR, LF or NUL that addr_parse_list() accepts and in which
 *     every address has a domain.
 *
 * Invariants: no global state; everything allocated is freed.
 * Failure policy: a broken promise abort()s, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "aliases.h"
#include "buf.h"
#include "err.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_aliases: %s\n", what);
	abort();
}

static void
check_expand(const struct aliases *al, const char *name)
{
	static const char *const doms[] = {"localhost", "vm", NULL};
	struct addr_list l = {0};
	struct err e = {0};
	size_t i;

	if (aliases_expand(al, name, doms, &l, &e) == 0) {
		if (l.n > ALIASES_MAX_EXPANSION + 1)
			broken("expansion past its cap");
		for (i = 0; i < l.n; i++)
			if (has_crlfnul(l.v[i], strlen(l.v[i])) ||
			    l.v[i][0] == '\0')
				broken("empty or CR/LF address from expansion");
	} else if (e.kind != ERR_CONFIG && e.kind != ERR_DATA)
		broken("expansion error of an unexpected kind");
	addr_list_free(&l);
}

/* Every bare name and the first local address become a fixed one; a
 * name "crlf" becomes a value with a line break, which must never get
 * through. */
static char *
fuzz_map(void *arg, const char *spec)
{
	(void)arg;
	if (strcmp(spec, "crlf") == 0)
		return strdup("a@example.net\r\nBcc: b@example.com");
	if (addr_domain(spec) == NULL || strstr(spec, "@localhost") != NULL)
		return strdup("mapped@example.net");
	return NULL;
}

static void
check_qualify(const char *p, size_t n)
{
	struct addr_list l = {0};
	struct buf b;
	size_t i;

	buf_init(&b, 65536);
	if (addr_qualify_header(p, n, "example.org", &b) == 1 ||
	    (buf_clear(&b), addr_rewrite_header(p, n, "example.org", fuzz_map,
				NULL, &b)) == 1) {
		if (b.data == NULL || has_crlfnul(b.data, b.len))
			broken("qualified value with CR/LF/NUL");
		if (addr_parse_list(b.data, b.len, &l, NULL) == -1)
			broken("qualified value does not parse");
		for (i = 0; i < l.n; i++)
			if (addr_domain(l.v[i]) == NULL)
				broken("qualified value with a bare name");
	}
	addr_list_free(&l);
	buf_reset(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"root", "postmaster", "default",
	    "a", "b", "root@localhost", "x@vm", "nobody"};
	struct aliases *al = NULL;
	struct err e = {0};
	size_t i;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (aliases_parse("f", (const char *)data, size, &al, &e) == 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			check_expand(al, names[i]);
	} else if (e.kind != ERR_CONFIG || strncmp(e.text, "f", 1) != 0)
		broken("parse error without the file name");
	aliases_free(al);
	check_qualify((const char *)data, size);
	return 0;
}
