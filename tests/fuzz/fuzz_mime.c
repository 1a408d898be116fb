/*
 * fuzz_mime.c -- libFuzzer harness for mime.c's body scan.
 *
 * Purpose: hostile message bodies (the first line of the input is the
 * top-level Content-Type, the rest the body) scanned as multipart, HTML
 * (plain, quoted-printable, base64) and zip: no read past the input; the
 * counts stay within their caps and the part count within
 * MIME_MAX_PARTS + 1; every name and host is terminated and printable;
 * hosts are lower case.
 *
 * Non-goals: the red flags built from the scan (inspect.c).
 *
 * Invariants: the scan frees what it allocates (LeakSanitizer checks).
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_mime: broken promise: %s\n", what);
	abort();
}

static void
printable(const char *s, int lower)
{
	size_t i;

	if (memchr(s, '\0', MIME_NAME) == NULL)
		broken("string not terminated");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f ||
		    (lower && s[i] >= 'A' && s[i] <= 'Z'))
			broken("unprintable or upper-case byte in output");
}

static void
check(const struct mime_scan *s)
{
	size_t i;

	if (s->nnames > MIME_MAX_NAMES || s->nlinks > MIME_MAX_LINKS ||
	    s->parts > MIME_MAX_PARTS + 1)
		broken("a count past its cap");
	for (i = 0; i < s->nnames; i++) {
		printable(s->names[i].name, 0);
		printable(s->names[i].archive, 0);
	}
	for (i = 0; i < s->nlinks; i++) {
		printable(s->links[i].href_host, 1);
		printable(s->links[i].text_host, 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cte[] = {NULL, "quoted-printable", "base64"};
	static struct mime_scan s;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hl = nl != NULL ? (size_t)(nl - data) : 0, i;
	char *ct = malloc(hl + 1);
	char *body = malloc(size - hl + 1);
	size_t bl = nl != NULL ? size - hl - 1 : size;

	if (ct == NULL || body == NULL)
		abort();
	memcpy(ct, data, hl);
	ct[hl] = '\0';
	/* exactly the body bytes, no terminator inside the scanned range */
	memcpy(body, nl != NULL ? nl + 1 : data, bl);
	for (i = 0; i < 3; i++) {
		mime_scan(hl > 0 ? ct : NULL, cte[i], body, bl, &s);
		check(&s);
	}
	mime_scan("text/html", NULL, body, bl, &s);
	check(&s);
	mime_scan("application/zip", "base64", body, bl, &s);
	check(&s);
	mime_scan("application/zip", NULL, body, bl, &s);
	check(&s);
	free(ct);
	free(body);
	return 0;
}
