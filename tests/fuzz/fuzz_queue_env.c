/*
 * fuzz_queue_env.c -- libFuzzer harness for queue.c's envelope parser.
 *
 * Purpose: a queue entry's env file is read back by every queue run; a
 * torn, truncated or tampered file must be refused cleanly.  For every
 * input: queue_env_parse() either fails with ERR_DATA and a printable
 * message, or yields an envelope that queue_env_format() writes back and
 * queue_env_parse() reads again to the same text (a fixed point).
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
	check_round_trip(&env);
	queue_env_free(&env);
	return 0;
}
