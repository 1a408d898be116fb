/*
 * fuzz_tlsa.c -- libFuzzer harness for tls_parse_tlsa() (tls.c).
 *
 * Purpose: TLSA record data comes from the network (dns.c prints it as
 * "USAGE SELECTOR MTYPE HEX"); the parser is fed hostile text and its
 * promises are checked, not only the absence of crashes:
 *   - accepted text gives at least 4 bytes of RDATA within the buffer,
 *     and printing them back gives the input (hex case aside);
 *   - "usable" only for usage 2 or 3, selector 0 or 1, matching type 0,
 *     or 1 with 32 bytes, or 2 with 64 bytes of data.
 *
 * Invariants: no global state, nothing allocated.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tls.h"

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_tlsa: %s\n", what);
	abort();
}

static void
check(const char *s, const unsigned char *rd, size_t len, int usable)
{
	char back[3 * 4 + 2 * FUZZ_MAX_INPUT + 1];
	size_t i, n;
	int m;

	if (len < 4)
		fail("accepted without data");
	m = snprintf(back, sizeof(back), "%u %u %u ", rd[0], rd[1], rd[2]);
	if (m < 0 || (size_t)m >= sizeof(back))
		fail("cannot print the fields");
	n = (size_t)m;
	for (i = 3; i < len && n + 2 < sizeof(back); i++, n += 2)
		snprintf(back + n, sizeof(back) - n, "%02x", rd[i]);
	if (strcasecmp(back, s) != 0)
		fail("RDATA does not print back as the input");
	if (usable && (!(rd[0] == 2 || rd[0] == 3) || rd[1] > 1 ||
			  !(rd[2] == 0 || (rd[2] == 1 && len == 35) ||
			      (rd[2] == 2 && len == 67))))
		fail("an unusable record called usable");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[FUZZ_MAX_INPUT + 1];
	unsigned char rd[FUZZ_MAX_INPUT];
	size_t len = 0;
	int usable = -1;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (tls_parse_tlsa(s, rd, sizeof(rd), &len, &usable) == 0)
		check(s, rd, len, usable);
	else if (usable != 0)
		fail("usable set on a refusal");
	return 0;
}
