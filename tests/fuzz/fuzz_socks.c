/*
 * fuzz_socks.c -- libFuzzer harness for socks.c.
 *
 * Purpose: the proxy URL comes from the configuration and the replies from
 * the network; both are fed hostile bytes, and the promises of socks.h are
 * checked, not only the absence of crashes:
 *   - socks_parse_url() on the input as a C string: an accepted URL gives
 *     a host of 1-255 bytes without blanks, '@', '/' or brackets, a port
 *     in 1-65535, auth set exactly when a user name (non-empty) was given,
 *     user/password of at most 255 bytes; a refusal leaves the struct
 *     wiped (no password byte survives);
 *   - the messages built from an accepted URL fit SOCKS_MAX_MSG and match
 *     their length fields;
 *   - socks_connect_reply() on the first 5 bytes: a length of 10, 22 or
 *     7 + the name length (1-255), or 0 with a reason;
 *   - socks_http_reply() on the raw bytes: NULL only with a 2xx code, a
 *     reason otherwise, printable and within the buffer given.
 *
 * Invariants: no global state, nothing allocated.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks.h"

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_socks: %s\n", what);
	abort();
}

static void
check_url(const struct socks_proxy *p)
{
	unsigned char out[SOCKS_MAX_MSG];
	size_t hl = strlen(p->host), n;

	if (hl == 0 || hl > SOCKS_MAX_NAME || strpbrk(p->host, " \t@/[]"))
		fail("bad host accepted");
	if (p->port == 0 || p->port > 65535)
		fail("bad port accepted");
	if (p->auth != (p->user[0] != '\0'))
		fail("auth without a user name");
	if (strlen(p->user) > SOCKS_MAX_NAME ||
	    strlen(p->pass) > SOCKS_MAX_NAME)
		fail("credential too long");
	n = socks_hello(p, out);
	if (n != (size_t)(2 + out[1]))
		fail("hello length");
	n = socks_auth(p, out);
	if (n > SOCKS_MAX_MSG || n != 3u + out[1] + out[2 + out[1]])
		fail("auth length");
	n = socks_connect(p->host, NULL, 0, p->port, out);
	if (n != 7 + hl || out[4] != hl)
		fail("connect length");
}

static void
http_reply(const char *p, size_t n)
{
	char why[32];
	const char *r;
	size_t i;
	int code;

	memset(why, 'x', sizeof(why));
	r = socks_http_reply(p, n, &code, why, sizeof(why));
	if (r == NULL) {
		if (code < 200 || code > 299)
			fail("accepted a non-2xx reply");
		return;
	}
	if (code != 0 && (code < 100 || code > 599))
		fail("bad status code");
	if (r == why) {
		if (memchr(why, '\0', sizeof(why)) == NULL)
			fail("reason not terminated within its buffer");
		for (i = 0; why[i] != '\0'; i++)
			if (why[i] < ' ' || why[i] >= 0x7f)
				fail("reason not printable");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[FUZZ_MAX_INPUT + 1];
	struct socks_proxy p;
	const char *why;
	unsigned char in[5] = {0};
	size_t n, i;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (socks_parse_url(s, &p) == NULL)
		check_url(&p);
	else
		for (i = 0; i < sizeof(p); i++)
			if (((const unsigned char *)&p)[i] != 0)
				fail("refused URL not wiped");
	http_reply((const char *)data, size);
	memcpy(in, data, size < 5 ? size : 5);
	n = socks_connect_reply(in, &why);
	if (n == 0 ? why == NULL
		   : (why != NULL || !(n == 10 || n == 22 ||
					 (n == 7u + in[4] && in[4] > 0))))
		fail("connect reply length");
	return 0;
}
