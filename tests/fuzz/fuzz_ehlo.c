/*
 * fuzz_ehlo.c -- libFuzzer harness for smtp_parse_ehlo() in smtp.c: the
 * capabilities a hostile server announces decide STARTTLS, AUTH
 * mechanisms, SIZE and PIPELINING.
 *
 * Input: if the bytes parse as one SMTP reply, that reply is used as is;
 * otherwise each line of the input (split at LF, one CR dropped) becomes a
 * "250-" line and the last a "250 " line, so the fuzzer can explore the
 * capability lines without first learning reply syntax (lines the reply
 * parser refuses are skipped).  Checked on every result:
 *   - flags hold only SMTP_CAP_* bits, and each keyword is recognised as
 *     a whole word, case-insensitively, on a line other than the first
 *     (an independent reading of the reply text must give the same set:
 *     "XSTARTTLS" or "STARTTLSX" is not STARTTLS);
 *   - SIZE is the value of the last well-formed decimal SIZE argument
 *     (the same independent reading), and 0 without a SIZE keyword;
 *   - caps.auth is NUL-terminated, holds upper-case SASL names (1-20 of
 *     A-Z 0-9 - _) separated by single spaces, each offered on an AUTH
 *     line, and every valid name offered is there while they all fit.
 *
 * Non-goals: what the session does with the capabilities (tests/e2e).
 *
 * Invariants: no global state; the reply is freed on every path.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "net.h"
#include "smtp.h"

#define FUZZ_MAX_INPUT (256 * 1024)
#define NOCOV __attribute__((no_sanitize("coverage")))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *kw;
	unsigned flag;
} keywords[] = {
    {"STARTTLS", SMTP_CAP_STARTTLS},
    {"PIPELINING", SMTP_CAP_PIPELINING},
    {"8BITMIME", SMTP_CAP_8BITMIME},
    {"SMTPUTF8", SMTP_CAP_SMTPUTF8},
    {"DSN", SMTP_CAP_DSN},
    {"SIZE", SMTP_CAP_SIZE},
    {"AUTH", SMTP_CAP_AUTH},
    {"ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES},
    {"CHUNKING", SMTP_CAP_CHUNKING},
};

#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_ehlo: %s\n", what);
	abort();
}

/*
 * Build a 250 reply from the input's lines: control characters become
 * '?', lines are cut to fit, and input past the caps is dropped, so that
 * smtp_reply_add() accepts every line.
 */
NOCOV static void
wrap_lines(struct smtp_reply *r, const char *p, size_t n)
{
	char line[NET_MAX_LINE];
	size_t off = 0, len, k, i;
	const char *lf;
	int last;

	smtp_reply_clear(r);
	while (!r->done) {
		lf = memchr(p + off, '\n', n - off);
		len = lf != NULL ? (size_t)(lf - (p + off)) : n - off;
		k = len > 0 && p[off + len - 1] == '\r' ? len - 1 : len;
		if (k > sizeof(line) - 5)
			k = sizeof(line) - 5;
		last = lf == NULL || r->nlines + 2 >= SMTP_MAX_LINES ||
		       r->size + k + 6 + sizeof(line) > SMTP_MAX_REPLY;
		memcpy(line, last ? "250 " : "250-", 4);
		for (i = 0; i < k; i++) {
			unsigned char c = (unsigned char)p[off + i];
			line[4 + i] = (c < 0x20 && c != '\t') || c == 0x7f
					  ? '?'
					  : (char)c;
		}
		if (smtp_reply_add(r, line, k + 4) != NULL)
			fail("smtp_reply_add() refused a clean line");
		off += len + 1;
	}
}

/* The keyword of a capability line and where its arguments start. */
NOCOV static size_t
kw_len(const char *p, size_t n)
{
	size_t k = 0;

	while (k < n && p[k] != ' ' && p[k] != '\t')
		k++;
	return k;
}

NOCOV static int
same_word(const char *kw, const char *p, size_t n)
{
	size_t i;

	if (strlen(kw) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (toupper((unsigned char)p[i]) != kw[i])
			return 0;
	return 1;
}

/* A decimal number of 1-23 digits that fits; -1 if not. */
NOCOV static int
ref_size(const char *p, size_t n, unsigned long long *v)
{
	size_t i;

	if (n == 0 || n > 23)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    *v > (ULLONG_MAX - (unsigned)(p[i] - '0')) / 10)
			return -1;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return 0;
}

NOCOV static int
sasl_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 1 || n > 20)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_')
			return 0;
	return 1;
}

/* Is the name (n bytes) among the space-separated names of list? */
NOCOV static int
in_list(const char *list, const char *p, size_t n)
{
	const char *w = list, *end;
	size_t i;

	for (; *w != '\0'; w = *end ? end + 1 : end) {
		end = strchr(w, ' ');
		if (end == NULL)
			end = w + strlen(w);
		if ((size_t)(end - w) != n)
			continue;
		for (i = 0; i < n && toupper((unsigned char)p[i]) == w[i]; i++)
			;
		if (i == n)
			return 1;
	}
	return 0;
}

/* Every valid AUTH name offered on line p is in caps->auth. */
NOCOV static size_t
ref_auth(const struct smtp_caps *c, const char *p, size_t n, int fits)
{
	size_t i = 0, w, total = 0;

	while (i < n) {
		for (w = 0; i + w < n && p[i + w] != ' ' && p[i + w] != '\t';
		     w++)
			;
		if (sasl_ok(p + i, w)) {
			total += w + 1;
			if (fits && !in_list(c->auth, p + i, w))
				fail("an offered AUTH mechanism is missing");
		}
		i += w + 1;
	}
	return total;
}

/* The format of caps->auth, and each name is one that was offered. */
NOCOV static void
check_auth_format(const struct smtp_caps *c)
{
	size_t n = strnlen(c->auth, sizeof(c->auth)), i, w = 0;

	if (n == sizeof(c->auth))
		fail("caps.auth not NUL-terminated");
	if (n > 0 && (c->auth[0] == ' ' || c->auth[n - 1] == ' '))
		fail("caps.auth with a leading or trailing space");
	for (i = 0; i < n; i++) {
		char ch = c->auth[i];
		if (ch == ' ') {
			if (w == 0)
				fail("caps.auth with two spaces");
			w = 0;
			continue;
		}
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			ch == '-' || ch == '_') ||
		    ++w > 20)
			fail("caps.auth with a bad mechanism name");
	}
	if (n > 0 && !(c->flags & SMTP_CAP_AUTH))
		fail("AUTH mechanisms without the AUTH flag");
}

/*
 * Walk the text's lines after the first as smtp.h describes them: pass 0
 * computes the flags, SIZE and the room all AUTH names need; pass 1
 * checks that each valid name offered is in caps.auth if they all fit.
 */
NOCOV static void
check_caps(const struct smtp_reply *r, const struct smtp_caps *c)
{
	const char *p, *end, *nl, *args;
	unsigned flags = 0;
	unsigned long long size = 0, v;
	size_t k, i, n, total = 0;
	int pass, fits = 0;

	if (c->flags & ~(unsigned)0x1ff)
		fail("unknown capability bit set");
	check_auth_format(c);
	if (r->text.data == NULL ||
	    memchr(r->text.data, '\n', r->text.len) == NULL) {
		if (c->flags != 0 || c->size != 0 || c->auth[0] != '\0')
			fail("capabilities from a one-line reply");
		return;
	}
	end = r->text.data + r->text.len;
	for (pass = 0; pass < 2; pass++) {
		p = (const char *)memchr(r->text.data, '\n', r->text.len) + 1;
		for (; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			n = (size_t)(nl - p);
			k = kw_len(p, n);
			args = p + k + (k < n);
			for (i = 0; i < NKEYWORDS; i++) {
				if (!same_word(keywords[i].kw, p, k))
					continue;
				flags |= keywords[i].flag;
				if (pass == 0 &&
				    keywords[i].flag == SMTP_CAP_SIZE &&
				    ref_size(args, n - k - (k < n), &v) == 0)
					size = v;
				if (keywords[i].flag == SMTP_CAP_AUTH)
					total += ref_auth(c, args,
					    n - k - (k < n), fits);
			}
		}
		if (pass == 0 && (flags != c->flags || size != c->size))
			fail(
			    "flags or SIZE differ from an independent reading");
		fits = pass == 0 && total <= sizeof(c->auth);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	size_t used;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	smtp_reply_init(&r);
	if (smtp_reply_parse(&r, (const char *)data, size, &used) != NULL)
		wrap_lines(&r, (const char *)data, size);
	memset(&caps, 0xa5, sizeof(caps));
	smtp_parse_ehlo(&r, &caps);
	check_caps(&r, &caps);
	/* Parsing twice gives the same result (no hidden state). */
	{
		struct smtp_caps again;
		smtp_parse_ehlo(&r, &again);
		if (memcmp(&again, &caps, sizeof(caps)) != 0)
			fail("smtp_parse_ehlo() is not repeatable");
	}
	smtp_reply_free(&r);
	return 0;
}
