/*
 * fuzz_reply.c -- libFuzzer harness for the SMTP reply parser of smtp.c
 * (smtp_reply_parse(), smtp_reply_add()): the code that reads what a
 * hostile or broken server sends.
 *
 * The input is a byte stream from a server.  Replies are parsed one after
 * another as a pipelining client would, until one is malformed or
 * incomplete.  For every reply accepted, the harness checks:
 *   - shape: a code of three digits, the first 2-5 and the second 0-5,
 *     done set, 1..SMTP_MAX_LINES lines, at most SMTP_MAX_REPLY octets;
 *   - the text holds no NUL and no control character but TAB and the
 *     '\n' that joins lines, and one '\n' fewer than there are lines;
 *   - an independent reading of the same bytes (split at LF, one CR
 *     dropped, code and separator checked, text after the separator)
 *     gives the same code, line count and text; and every reply that
 *     reading finds malformed (bad code, code changing between lines,
 *     control characters, NUL) is refused by smtp_reply_parse();
 *   - feeding the same lines one by one to smtp_reply_add(), as
 *     read_reply() does on the wire, gives the same result;
 *   - every strict prefix of the reply is "incomplete" or refused, never
 *     accepted (a reply cannot end early).
 *
 * Non-goals: the session (deadlines, pending bytes after a reply, STARTTLS
 * injection) -- tests/e2e covers those against a scripted server.
 *
 * Invariants: no global state; one struct smtp_reply per run, freed.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
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

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_reply: %s\n", what);
	abort();
}

/* The reply as the contract in smtp.h describes it, read independently. */
struct ref {
	int code, bad;
	size_t nlines, size, used, maxline;
	struct buf text;
};

/* Read one reply from p (n bytes); 0 if complete, -1 if not. */
NOCOV static int
ref_read(struct ref *f, const char *p, size_t n)
{
	size_t off = 0, len, skip, i;
	const char *lf, *l;
	int code;

	f->code = f->bad = 0;
	f->nlines = f->size = f->maxline = 0;
	buf_clear(&f->text);
	for (;;) {
		if ((lf = memchr(p + off, '\n', n - off)) == NULL)
			return -1;
		l = p + off;
		skip = (size_t)(lf - l) + 1;
		len = skip - 1 - (skip > 1 && lf[-1] == '\r');
		if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' ||
		    l[1] > '5' || l[2] < '0' || l[2] > '9' ||
		    (len > 3 && l[3] != ' ' && l[3] != '-'))
			f->bad = 1;
		code = len >= 3 ? (l[0] - '0') * 100 + (l[1] - '0') * 10 +
				      (l[2] - '0')
				: -1;
		if (f->code != 0 && code != f->code)
			f->bad = 1;
		for (i = 0; i < len; i++)
			if ((unsigned char)l[i] < 0x20 ? l[i] != '\t'
						       : l[i] == 0x7f)
				f->bad = 1;
		if (f->bad)
			return 0;
		f->code = code;
		if (f->nlines++ > 0)
			(void)buf_addch(&f->text, '\n');
		if (len > 4)
			(void)buf_add(&f->text, l + 4, len - 4);
		f->size += len + 2;
		f->maxline = len > f->maxline ? len : f->maxline;
		off += skip;
		if (len == 3 || l[3] == ' ') {
			f->used = off;
			return 0;
		}
	}
}

NOCOV static void
check_text(const struct smtp_reply *r)
{
	size_t i, nl = 0;

	for (i = 0; i < r->text.len; i++) {
		unsigned char c = (unsigned char)r->text.data[i];
		if (c == '\n')
			nl++;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			fail("control character or NUL in the reply text");
	}
	if (nl + 1 != r->nlines)
		fail("text lines differ from the line count");
}

static void
check_shape(const struct smtp_reply *r, size_t used, size_t avail)
{
	if (!r->done || r->code < 200 || r->code > 559 ||
	    (r->code / 10) % 10 > 5)
		fail("accepted reply with a bad code or not done");
	if (r->nlines < 1 || r->nlines > SMTP_MAX_LINES ||
	    r->size > SMTP_MAX_REPLY || r->text.len > r->size)
		fail("accepted reply over its caps");
	if (used == 0 || used > avail)
		fail("bad count of bytes used");
	check_text(r);
}

/* The same bytes line by line through smtp_reply_add(). */
static void
check_lines(const struct smtp_reply *r, const char *p, size_t used)
{
	struct smtp_reply s;
	size_t off = 0, len, skip;

	smtp_reply_init(&s);
	while (off < used) {
		if (net_split_line(p + off, used - off, NET_MAX_LINE, &len,
			&skip) != 1)
			fail("net_split_line() disagrees on a parsed reply");
		if (smtp_reply_add(&s, p + off, len) != NULL)
			fail("smtp_reply_add() refuses a line it accepted");
		off += skip;
	}
	if (!s.done || s.code != r->code || s.nlines != r->nlines ||
	    s.size != r->size || s.text.len != r->text.len ||
	    (s.text.len > 0 && memcmp(s.text.data, r->text.data, s.text.len)))
		fail("line-by-line parse differs");
	smtp_reply_free(&s);
}

/* No strict prefix of the reply (at a line end) is a whole reply. */
static void
check_prefixes(const char *p, size_t used)
{
	struct smtp_reply s;
	size_t k, u;

	smtp_reply_init(&s);
	for (k = 0; k + 1 < used; k++) {
		if (p[k] != '\n')
			continue;
		if (smtp_reply_parse(&s, p, k + 1, &u) == NULL)
			fail("a prefix of a reply parses as a whole reply");
	}
	smtp_reply_free(&s);
}

/* Compare with the independent reading (when it is within the caps). */
static void
compare_ref(struct ref *f, const struct smtp_reply *r, const char *why,
    const char *p, size_t n, size_t used)
{
	if (ref_read(f, p, n) == -1) {
		if (why == NULL)
			fail("accepted a reply with no final line");
		return;
	}
	if (f->bad) {
		if (why == NULL)
			fail("accepted a malformed reply");
		return;
	}
	if (f->nlines > SMTP_MAX_LINES || f->size > SMTP_MAX_REPLY ||
	    f->maxline >= NET_MAX_LINE - 1)
		return; /* near a cap: the exact limit is the unit tests' job */
	if (why != NULL)
		fail("refused a well-formed reply");
	if (f->code != r->code || f->nlines != r->nlines || f->used != used ||
	    f->text.len != r->text.len ||
	    (f->text.len > 0 &&
		memcmp(f->text.data, r->text.data, f->text.len)))
		fail("reply differs from the independent reading");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *why;
	struct smtp_reply r;
	struct ref f;
	size_t off = 0, used;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	smtp_reply_init(&r);
	buf_init(&f.text, 4 * FUZZ_MAX_INPUT);
	while (off < size) {
		why = smtp_reply_parse(&r, p + off, size - off, &used);
		compare_ref(&f, &r, why, p + off, size - off, used);
		if (why != NULL)
			break;
		check_shape(&r, used, size - off);
		check_lines(&r, p + off, used);
		check_prefixes(p + off, used);
		off += used;
	}
	buf_reset(&f.text);
	smtp_reply_free(&r);
	return 0;
}
