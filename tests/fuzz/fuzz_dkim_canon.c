/*
 * fuzz_dkim_canon.c -- libFuzzer harness for DKIM canonicalisation in
 * dkim.c (RFC 6376 section 3.4): the streaming body hasher with its
 * word-at-a-time fast paths, and header field canonicalisation.
 *
 * Differential: the harness holds a plain, byte-by-byte reading of RFC
 * 6376 3.4.1-3.4.4 and compares dkim.c against it on every input.
 *   - Body (simple and relaxed): SHA-256 of the reference canonical body
 *     (cut to the l= limit) and its length must equal what
 *     dkim_bh_final() gives, whether the body is fed in one piece or in
 *     chunks whose sizes come from the input (chunk edges land inside
 *     CRLF pairs and WSP runs).  CRLF is the only line end; bare CR and
 *     LF are ordinary bytes (dkim.h).
 *   - Header fields: simple is the field unchanged plus CRLF; relaxed
 *     must equal the reference for a well-formed field (a name of
 *     printable ASCII, CR only in CRLF followed by WSP, no bare LF), is
 *     idempotent for any field with a colon, is refused without a colon,
 *     and with a small cap returns -1 exactly when the result does not
 *     fit (never writing past the cap).
 *   - dkim_canon_parse() of the input: an accepted name round-trips
 *     through dkim_canon_name().
 *
 * Input: byte 0 holds options (bit 0: an l= limit of (byte0 >> 1) * 3
 * octets; the whole byte, plus one, is the cap for the small-cap check);
 * the rest is the body and the header field.
 *
 * Non-goals: signing and verification (keys, tag lists, DNS answers):
 * tests/unit/test_dkim.c and the real-server e2e test cover those.
 *
 * Invariants: no global state; every hasher and buffer is freed.
 *
 * Failure policy: a difference is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "buf.h"
#include "dkim.h"
#include "err.h"

#define FUZZ_MAX_INPUT (1024 * 1024)
#define NOCOV __attribute__((no_sanitize("coverage")))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_dkim_canon: %s\n", what);
	abort();
}

static int
wsp(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * RFC 6376 3.4.3 / 3.4.4, read literally: split the body into lines at
 * CRLF (an unended last line counts as a line), reduce each line (relaxed:
 * WSP runs to one SP, WSP at the end removed), drop empty lines at the
 * end, end every line with CRLF; an empty result is CRLF for simple and
 * nothing for relaxed.  out needs n + 2 bytes.  Returns the length.
 */
NOCOV static size_t
ref_body(enum dkim_canon c, const unsigned char *p, size_t n,
    unsigned char *out)
{
	size_t o = 0, keep = 0, i = 0, j, e, start;

	while (i < n) {
		/* The line is p[i..e), its CRLF (if any) after it. */
		for (e = i;
		     e < n && !(p[e] == '\r' && e + 1 < n && p[e + 1] == '\n');
		     e++)
			;
		start = o;
		if (c == DKIM_SIMPLE) {
			memcpy(out + o, p + i, e - i);
			o += e - i;
		} else {
			for (j = i; j < e; j++) {
				if (!wsp(p[j])) {
					out[o++] = p[j];
					continue;
				}
				while (j + 1 < e && wsp(p[j + 1]))
					j++;
				if (j + 1 < e)
					out[o++] = ' ';
			}
		}
		out[o++] = '\r';
		out[o++] = '\n';
		if (o - 2 > start)
			keep = o; /* empty lines after it may go */
		i = e + 2;
	}
	if (keep == 0 && c == DKIM_SIMPLE) {
		memcpy(out, "\r\n", 2);
		keep = 2;
	}
	return keep;
}

NOCOV static void
sha256(const unsigned char *p, size_t n, unsigned char out[DKIM_HASH_LEN])
{
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, out) < 0)
		fail("gnutls_hash_fast");
}

/* Hash p through dkim_bh_*, in chunks whose sizes come from sizes[]. */
static void
bh_run(enum dkim_canon c, unsigned long long limit, const unsigned char *p,
    size_t n, const uint8_t *sizes, size_t nsizes,
    unsigned char out[DKIM_HASH_LEN], unsigned long long *len)
{
	struct dkim_bh *h = NULL;
	struct err e;
	size_t off = 0, k, i = 0;

	if (dkim_bh_new(c, limit, &h, &e) == -1)
		fail("dkim_bh_new");
	while (off < n) {
		k = nsizes > 0 ? (size_t)sizes[i++ % nsizes] + 1 : n;
		if (k > n - off)
			k = n - off;
		dkim_bh_update(h, p + off, k);
		off += k;
	}
	if (dkim_bh_final(h, out, len, &e) == -1)
		fail("dkim_bh_final");
	dkim_bh_free(h);
}

static void
check_body(enum dkim_canon c, unsigned long long limit, const unsigned char *p,
    size_t n, const uint8_t *sizes, size_t nsizes)
{
	unsigned char *ref = malloc(n + 2), want[DKIM_HASH_LEN],
		      got[DKIM_HASH_LEN];
	unsigned long long len;
	size_t rn;

	if (ref == NULL)
		fail("malloc");
	rn = ref_body(c, p, n, ref);
	sha256(ref, rn < limit ? rn : (size_t)limit, want);
	bh_run(c, limit, p, n, NULL, 0, got, &len);
	if (len != rn || memcmp(got, want, sizeof(want)) != 0)
		fail(c == DKIM_SIMPLE ? "simple body hash differs"
				      : "relaxed body hash differs");
	bh_run(c, limit, p, n, sizes, nsizes, got, &len);
	if (len != rn || memcmp(got, want, sizeof(want)) != 0)
		fail(c == DKIM_SIMPLE ? "simple body hash differs (chunked)"
				      : "relaxed body hash differs (chunked)");
	free(ref);
}

/* A field as message.c produces them. */
NOCOV static int
well_formed(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && wsp(p[i]))
		i++;
	if (i == n || p[i] != ':')
		return 0;
	for (; i < n; i++) {
		if (p[i] == '\n')
			return 0;
		if (p[i] == '\r' &&
		    (i + 2 >= n || p[i + 1] != '\n' || !wsp(p[i + 2])))
			return i + 2 == n && p[i + 1] == '\n'; /* final */
		if (p[i] == '\r')
			i++;
	}
	return 1;
}

/* RFC 6376 3.4.2 for a well-formed field; out needs n + 3 bytes. */
NOCOV static size_t
ref_relaxed(const char *p, size_t n, char *out)
{
	size_t i = 0, o = 0, name;
	int sp = 0;

	if (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n')
		n -= 2;
	while (p[i] != ':' && !wsp(p[i])) {
		char ch = p[i++];
		out[o++] = ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
	}
	name = o;
	while (p[i] != ':')
		i++;
	out[o++] = ':';
	for (i++; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		if (wsp(p[i])) {
			sp = 1;
			continue;
		}
		if (sp && o > name + 1)
			out[o++] = ' ';
		sp = 0;
		out[o++] = p[i];
	}
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

static int
canon(struct buf *b, enum dkim_canon c, const char *p, size_t n, size_t cap)
{
	buf_reset(b);
	buf_init(b, cap);
	return dkim_canon_field(b, c, p, n);
}

static void
check_field(const char *p, size_t n, size_t smallcap)
{
	struct buf a, b;
	char *ref;
	size_t rn, k = n;
	int r;

	buf_init(&a, 0);
	buf_init(&b, 0);
	/* simple: the field as it is, one CRLF at the end */
	if (k >= 2 && p[k - 2] == '\r' && p[k - 1] == '\n')
		k -= 2;
	if (canon(&a, DKIM_SIMPLE, p, n, 2 * n + 16) == -1 || a.len != k + 2 ||
	    memcmp(a.data, p, k) != 0 || memcmp(a.data + k, "\r\n", 2) != 0)
		fail("simple header canonicalisation changed the field");
	r = canon(&a, DKIM_RELAXED, p, n, 2 * n + 16);
	if (memchr(p, ':', n) == NULL) {
		if (r != -1)
			fail("relaxed canonicalisation of a field without ':'");
		goto out;
	}
	if (r == -1)
		fail("relaxed canonicalisation refused a field");
	/* idempotent */
	if (canon(&b, DKIM_RELAXED, a.data, a.len, 2 * n + 16) == -1 ||
	    b.len != a.len || memcmp(a.data, b.data, a.len) != 0)
		fail("relaxed canonicalisation is not idempotent");
	if (!well_formed(p, n))
		goto out;
	if ((ref = malloc(n + 3)) == NULL)
		fail("malloc");
	rn = ref_relaxed(p, n, ref);
	if (rn != a.len || memcmp(ref, a.data, rn) != 0)
		fail("relaxed header canonicalisation differs");
	free(ref);
	/* a cap: -1 exactly when the result does not fit */
	r = canon(&b, DKIM_RELAXED, p, n, smallcap);
	if ((r == -1) != (rn > smallcap) || b.len > smallcap)
		fail("relaxed canonicalisation with a cap");
out:
	buf_reset(&a);
	buf_reset(&b);
}

static void
check_canon_parse(const char *p, size_t n)
{
	char s[64];
	enum dkim_canon h, b, h2, b2;

	if (n >= sizeof(s))
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	if (dkim_canon_parse(s, &h, &b) == -1)
		return;
	if ((h != DKIM_SIMPLE && h != DKIM_RELAXED) ||
	    (b != DKIM_SIMPLE && b != DKIM_RELAXED))
		fail("dkim_canon_parse() gave an unknown value");
	snprintf(s, sizeof(s), "%s/%s", dkim_canon_name(h), dkim_canon_name(b));
	if (dkim_canon_parse(s, &h2, &b2) == -1 || h2 != h || b2 != b)
		fail("dkim_canon_name() does not round-trip");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long limit = ~0ULL;
	unsigned opt;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	opt = data[0];
	data++, size--;
	if (opt & 1)
		limit = (opt >> 1) * 3ULL;
	check_body(DKIM_SIMPLE, limit, data, size, data, size < 8 ? size : 8);
	check_body(DKIM_RELAXED, limit, data, size, data, size < 8 ? size : 8);
	check_field((const char *)data, size, opt + 1);
	check_canon_parse((const char *)data, size);
	return 0;
}
