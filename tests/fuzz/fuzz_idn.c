/*
 * fuzz_idn.c -- libFuzzer harness for idn.c: punycode decoding and the
 * look-alike analysis of a domain (a sender chooses its From domain).
 *
 * Purpose: idn_punycode_decode() never writes past max code points and
 * yields only code points below 0x80000000; idn_analyse() always leaves a
 * NUL-terminated lower-case ASCII skeleton and scripts string, and sets
 * "mixed" only with a scripts string naming two scripts.
 *
 * Non-goals: the flags built from the analysis (inspect.c).
 *
 * Invariants: nothing is allocated.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_idn: broken promise: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned out[IDN_MAX_LABEL + 1];
	struct idn_info ii;
	char dom[300];
	size_t n = 0, i;

	out[IDN_MAX_LABEL] = 0xdeadbeef;
	if (idn_punycode_decode((const char *)data, size, out, &n,
		IDN_MAX_LABEL) == 0) {
		if (n > IDN_MAX_LABEL)
			broken("more code points than max");
		for (i = 0; i < n; i++)
			if (out[i] >= 0x80000000U)
				broken("code point out of range");
	}
	if (out[IDN_MAX_LABEL] != 0xdeadbeef)
		broken("wrote past max");
	n = size < sizeof(dom) - 1 ? size : sizeof(dom) - 1;
	memcpy(dom, data, n);
	dom[n] = '\0';
	idn_analyse(dom, &ii);
	if (memchr(ii.skeleton, '\0', sizeof(ii.skeleton)) == NULL ||
	    memchr(ii.scripts, '\0', sizeof(ii.scripts)) == NULL)
		broken("string not terminated");
	for (i = 0; ii.skeleton[i] != '\0'; i++)
		if ((unsigned char)ii.skeleton[i] >= 0x80 ||
		    (ii.skeleton[i] >= 'A' && ii.skeleton[i] <= 'Z'))
			broken("skeleton not lower-case ASCII");
	if (ii.mixed && strchr(ii.scripts, '+') == NULL)
		broken("mixed without two scripts");
	return 0;
}
