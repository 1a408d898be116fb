/*
 * fuzz_addr.c -- libFuzzer harness for addr.c.
 *
 * Purpose: feed hostile bytes to the address code that sees caller input
 * (argv recipients, -f, To/Cc/Bcc for -t) and check the promises of addr.h
 * on every result, not only the absence of crashes:
 *   - addr_check() on the input as a C string (up to its first NUL), with
 *     and without allow_null: an accepted address holds no control
 *     character, CR, LF, '<' or '>', no space outside a quoted local part,
 *     fits ADDR_MAX_PATH with a local part of 1-64 octets, has a domain
 *     that addr_domain() finds and addr_check() accepts again, and is
 *     flagged UTF-8 exactly when it has 8-bit octets (valid UTF-8 then);
 *   - addr_parse_list() on the raw bytes (NUL included): every address
 *     it yields is at most ADDR_LIST_MAX_LEN octets without CR, LF or
 *     NUL, and failures are ERR_DATA with a printable message;
 *   - addr_utf8_feed() gives the same verdict whatever the chunking.
 *
 * Non-goals: addr_qualify() with hostile domains (the domain comes from the
 * configuration, checked there).
 *
 * Invariants: no global state; everything allocated is freed before
 * returning, so LeakSanitizer catches any leak in addr.c.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s, so
 * libFuzzer saves the input as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "err.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *s)
{
	fprintf(stderr, "fuzz_addr: %s: \"%s\"\n", what, s);
	abort();
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The promises of addr.h for an address addr_check() accepted. */
static void
check_accepted(const char *s, int utf8)
{
	size_t n = strlen(s), i, local;
	int eight = 0;
	const char *dom, *why;
	char *copy;

	if (n > ADDR_MAX_PATH)
		fail("accepted address longer than ADDR_MAX_PATH", s);
	if ((dom = addr_domain(s)) == NULL)
		fail("accepted address without a domain", s);
	local = (size_t)(dom - 1 - s);
	if (local == 0 || local > ADDR_MAX_LOCAL)
		fail("accepted local part of a bad length", s);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			fail("accepted address with a forbidden character", s);
		/* SP only inside a quoted local part. */
		if (c == ' ' && (s[0] != '"' || i >= local))
			fail("accepted address with a space", s);
		eight |= c >= 0x80;
	}
	if (utf8 != eight || (eight && !addr_utf8_valid(s, n)))
		fail("UTF-8 flag wrong", s);
	/* The domain addr_domain() finds is the one addr_check() checked. */
	copy = addr_qualify("x", dom);
	if ((why = addr_check(copy, 0, NULL)) != NULL)
		fail("addr_domain() disagrees with addr_check()", s);
	free(copy);
	/* A qualified address is copied unchanged. */
	copy = addr_qualify(s, "example.org");
	if (strcmp(copy, s) != 0)
		fail("addr_qualify() changed a qualified address", s);
	free(copy);
}

static void
fuzz_check(const char *s)
{
	const char *why0, *why1;
	int u0 = -1, u1 = -1;

	why0 = addr_check(s, 0, &u0);
	why1 = addr_check(s, 1, &u1);
	if (s[0] == '\0') {
		if (why0 == NULL || why1 != NULL)
			fail("null sender handling", s);
		return;
	}
	if ((why0 == NULL) != (why1 == NULL) || u0 != u1)
		fail("allow_null changed the verdict on a non-empty address",
		    s);
	if (why0 != NULL) {
		if (u0 != 0 || !printable(why0))
			fail("bad rejection", s);
		return;
	}
	check_accepted(s, u0);
}

static void
fuzz_list(const char *p, size_t n)
{
	struct addr_list l = {NULL, 0};
	struct err e;
	size_t i;

	memset(&e, 0, sizeof(e));
	if (addr_parse_list(p, n, &l, &e) == -1) {
		if (e.kind != ERR_DATA || !printable(e.text))
			fail("addr_parse_list() error not ERR_DATA", e.text);
	} else if (l.n > ADDR_LIST_MAX) {
		fail("too many addresses", "");
	}
	for (i = 0; i < l.n; i++) {
		size_t k = strlen(l.v[i]);
		if (k > ADDR_LIST_MAX_LEN || has_crlfnul(l.v[i], k))
			fail("list address too long or with CR/LF", l.v[i]);
	}
	addr_list_free(&l);
}

static void
fuzz_utf8(const char *p, size_t n)
{
	struct addr_utf8 s;
	size_t cut = n > 0 ? (unsigned char)p[0] % (n + 1) : 0, i;

	memset(&s, 0, sizeof(s));
	addr_utf8_feed(&s, p, cut);
	addr_utf8_feed(&s, p + cut, n - cut);
	if ((!s.bad && s.need == 0) != addr_utf8_valid(p, n))
		fail("UTF-8 verdict depends on chunking", "");
	/* Byte by byte as well. */
	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++)
		addr_utf8_feed(&s, p + i, 1);
	if ((!s.bad && s.need == 0) != addr_utf8_valid(p, n))
		fail("UTF-8 verdict depends on chunking (1 byte)", "");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_check(s);
	fuzz_list(s, size);
	fuzz_utf8(s, size);
	free(s);
	return 0;
}
