/*
 * fuzz_queue_env.c -- libFuzzer harness for queue.c's envelope parser.
 *
 * Purpose: a queue entry's env file is read back by every queue run; a
 * torn, truncated or tampered file must be refused cleanly (SECURITY.md
 * L3a).  For every input: queue_env_parse() either fails with ERR_DATA and
 * a printable message, or
 *   - the input ends with the line "end" (accepted => complete);
 *   - no strict prefix of it parses, neither one cut at a line end nor
 *     one torn inside a line (a torn file is never taken for a whole
 *     one; all line-end prefixes of small inputs, a sample of big ones);
 *   - the envelope has 1..QUEUE_MAX_RCPTS recipients over its rcpt, sent
 *     and failed lists, and a why only where a recipient can have one;
 *   - queue_env_format() writes it back and queue_env_parse() reads it
 *     again to the same text (a fixed point).
 * Seeds cover both envelope versions (1, and 2 with per-recipient state).
 *
 * Invariants: no global state; everything is freed before returning, so
 * LeakSanitizer sees any leak in queue.c.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "queue.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_queue_env: %s: %s\n", what, detail);
	abort();
}

static void
check_error(const struct err *e)
{
	const char *p;

	if (e->kind != ERR_DATA)
		broken("failure is not ERR_DATA", e->text);
	for (p = e->text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			broken("unprintable error text", e->text);
}

/* Format env, parse the result, format again: the two texts must agree. */
static void
check_round_trip(const struct queue_envelope *env)
{
	struct queue_envelope again;
	struct buf one, two;
	struct err e;

	buf_init(&one, 1 << 20);
	buf_init(&two, 1 << 20);
	if (queue_env_format(env, &one, &e) == -1)
		broken("a parsed envelope does not format", e.text);
	if (queue_env_parse(one.data, one.len, &again, &e) == -1)
		broken("a formatted envelope does not parse", e.text);
	if (queue_env_format(&again, &two, &e) == -1)
		broken("a re-parsed envelope does not format", e.text);
	if (one.len != two.len || memcmp(one.data, two.data, one.len) != 0)
		broken("format/parse is not a fixed point", one.data);
	queue_env_free(&again);
	buf_reset(&one);
	buf_reset(&two);
}

/* Accepted => the last line is "end". */
static void
check_complete(const char *p, size_t n)
{
	if (n < 4 || memcmp(p + n - 4, "end\n", 4) != 0 ||
	    (n > 4 && p[n - 5] != '\n'))
		broken("an accepted envelope does not end with \"end\"", "");
}

static void
check_prefix(const char *p, size_t len)
{
	struct queue_envelope env;
	struct err e;

	if (queue_env_parse(p, len, &env, &e) == 0) {
		queue_env_free(&env);
		broken("a strict prefix of an envelope parses", "");
	}
	check_error(&e);
}

#define PREFIX_CHECKS 128

/* No strict prefix parses: at most PREFIX_CHECKS of them, the last line
 * ends first, then an even sample, plus prefixes torn inside a line. */
static void
check_prefixes(const char *p, size_t n)
{
	size_t i, nl = 0, k = 0, stride;

	for (i = 0; i + 1 < n; i++)
		nl += p[i] == '\n';
	stride = nl / PREFIX_CHECKS + 1;
	for (i = n - 1; i > 0; i--) {
		if (p[i - 1] != '\n')
			continue;
		if (k < PREFIX_CHECKS / 2 || k % stride == 0)
			check_prefix(p, i);
		k++;
	}
	check_prefix(p, 0);
	check_prefix(p, n - 1); /* the last newline torn off */
	if (n > 2)
		check_prefix(p, n - 2);
	check_prefix(p, n / 2);
}

static void
check_rcpts(const struct queue_envelope *env)
{
	size_t total = env->nrcpts + env->nsent + env->nfailed;

	if (total == 0 || total > QUEUE_MAX_RCPTS)
		broken("recipient count out of range", env->id);
	if ((env->nrcpts > 0 && env->rcpts == NULL) ||
	    (env->nsent > 0 && env->sent == NULL) ||
	    (env->nfailed > 0 && env->failed == NULL))
		broken("a recipient list is missing", env->id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope env;
	struct err e;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memset(&e, 0, sizeof(e));
	if (queue_env_parse((const char *)data, size, &env, &e) == -1) {
		check_error(&e);
		return 0;
	}
	check_complete((const char *)data, size);
	check_rcpts(&env);
	check_round_trip(&env);
	queue_env_free(&env);
	check_prefixes((const char *)data, size);
	return 0;
}
