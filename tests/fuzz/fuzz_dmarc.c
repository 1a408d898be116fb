/*
 * fuzz_dmarc.c -- libFuzzer harness for dmarc.c's record parser.
 *
 * Purpose: feed hostile bytes, as a DNS server could, to dmarc_parse():
 * it returns NULL or a non-empty reason; a valid record has p and sp in
 * range, pct at most 100, at most DMARC_MAX_URIS URIs per list, each a
 * NUL-terminated string without blanks, and fo NUL-terminated; the
 * verdict of dmarc_is_record() agrees (a valid record is a record).
 *
 * Non-goals: the organisational domain (libpsl's own code, fuzzed by its
 * project) and discovery (a fixed number of lookups).
 *
 * Invariants: no allocation survives the call.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_dmarc: broken promise: %s\n", what);
	abort();
}

static void
check_uris(char (*u)[DMARC_URI_LEN], size_t n)
{
	size_t i;

	if (n > DMARC_MAX_URIS)
		broken("too many URIs");
	for (i = 0; i < n; i++) {
		if (memchr(u[i], '\0', DMARC_URI_LEN) == NULL)
			broken("URI not terminated");
		if (strchr(u[i], ' ') != NULL || strchr(u[i], '\t') != NULL ||
		    u[i][0] == '\0')
			broken("blank or empty URI");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record r;
	const char *why = dmarc_parse((const char *)data, size, &r);

	if (why != NULL) {
		if (*why == '\0')
			broken("empty reason");
		return 0;
	}
	if (!dmarc_is_record((const char *)data, size))
		broken("valid but not a record");
	if (r.p > DMARC_P_REJECT || r.sp > DMARC_P_REJECT || r.pct > 100)
		broken("value out of range");
	if (memchr(r.fo, '\0', sizeof(r.fo)) == NULL)
		broken("fo not terminated");
	check_uris(r.rua, r.nrua);
	check_uris(r.ruf, r.nruf);
	return 0;
}
