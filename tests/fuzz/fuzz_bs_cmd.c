/*
 * fuzz_bs_cmd.c -- libFuzzer harness for the -bs command parser
 * (server_parse_verb(), server_parse_path()).
 *
 * Purpose: every input line, as the session would see it (at most
 * SERVER_MAX_LINE octets, no NUL, CR or LF), gives a verb index within the
 * table or -1, an argument inside the line, and for MAIL/RCPT a path that is
 * either refused with a reason or a copy without '<', CR or LF whose parameters
 * point inside the line.
 *
 * Invariants: no global state; everything allocated is freed.
 * Failure policy: a broken promise abort()s, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_bs_cmd: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[SERVER_MAX_LINE + 1];
	const char *arg, *params;
	char *addr = NULL;
	int v;

	if (size > SERVER_MAX_LINE || memchr(data, '\0', size) != NULL ||
	    memchr(data, '\r', size) != NULL ||
	    memchr(data, '\n', size) != NULL)
		return 0; /* the session splits at LF and refuses NUL and CR */
	memcpy(line, data, size);
	line[size] = '\0';
	v = server_parse_verb(line, size, &arg);
	if (v < -1 || v > 64)
		broken("verb index out of range");
	if (arg < line || arg > line + size)
		broken("argument outside the line");
	if (server_parse_path(arg, &addr, &params) == NULL) {
		if (addr == NULL || strpbrk(addr, "\r\n") != NULL)
			broken("path with CR/LF");
		if (params < line || params > line + size)
			broken("parameters outside the line");
		free(addr);
	}
	return 0;
}
