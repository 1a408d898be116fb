/*
 * fuzz_oauth2.c -- libFuzzer harness for the token-endpoint response
 * parser of oauth2.c (oauth2_parse_reply()): the JSON a hostile or broken
 * authorization server sends.
 *
 * For every input (at most OAUTH2_MAX_RESPONSE bytes are meaningful; more
 * must be refused), the harness checks:
 *   - a refused body leaves nothing allocated in the reply;
 *   - an accepted body's tokens are 1..OAUTH2_MAX_TOKEN bytes of printable
 *     ASCII without quote or backslash (they go on the AUTH line and into
 *     the state file unescaped);
 *   - the text fields are NUL-terminated, within their arrays and hold no
 *     control character (they go into error messages);
 *   - expires_in and interval are -1 or non-negative.
 *
 * Non-goals: HTTP, the state file, the grants (tests/e2e/oauth2-*.sh).
 * Invariants: no global state.  Failure policy: abort() on a broken
 * promise, after a line on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth2.h"

#define NOCOV __attribute__((no_sanitize("coverage")))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static NOCOV void
broken(const char *what)
{
	fprintf(stderr, "fuzz_oauth2: %s\n", what);
	abort();
}

static NOCOV void
check_token(const char *t)
{
	size_t i, n;

	if (t == NULL)
		return;
	n = strlen(t);
	if (n == 0 || n > OAUTH2_MAX_TOKEN)
		broken("token length");
	for (i = 0; i < n; i++)
		if (t[i] < 0x21 || t[i] > 0x7e || t[i] == '"' || t[i] == '\\')
			broken("token character");
}

static NOCOV void
check_text(const char *s, size_t size)
{
	size_t n = strnlen(s, size), i;

	if (n == size)
		broken("text not terminated");
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			broken("control character in text");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oauth2_reply r;
	const char *why;

	why = oauth2_parse_reply((const char *)data, size, &r);
	if (why != NULL) {
		if (r.access_token || r.refresh_token || r.device_code)
			broken("refused body left tokens");
		return 0;
	}
	if (size > OAUTH2_MAX_RESPONSE)
		broken("oversized body accepted");
	check_token(r.access_token);
	check_token(r.refresh_token);
	check_token(r.device_code);
	check_text(r.error, sizeof(r.error));
	check_text(r.error_desc, sizeof(r.error_desc));
	check_text(r.user_code, sizeof(r.user_code));
	check_text(r.verification_uri, sizeof(r.verification_uri));
	if (r.expires_in < -1 || r.interval < -1)
		broken("negative number");
	oauth2_reply_free(&r);
	return 0;
}
