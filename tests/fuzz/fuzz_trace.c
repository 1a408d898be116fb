/*
 * fuzz_trace.c -- libFuzzer harness for trace.c: the Received,
 * Authentication-Results, ARC-Authentication-Results and tag-list
 * parsers, all fed the same hostile bytes (a sender writes these fields).
 *
 * Purpose: no read past the input; every output string is terminated and
 * printable ASCII; counts stay within their arrays; ARC instances are
 * within 1..50.
 *
 * Non-goals: the report built from the parsed fields (inspect.c).
 *
 * Invariants: nothing is allocated by the parsers.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_trace: broken promise: %s\n", what);
	abort();
}

static void
printable(const char *s, size_t size)
{
	size_t i;

	if (memchr(s, '\0', size) == NULL)
		broken("string not terminated");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
			broken("non-printable byte in output");
}

#define P(field) printable((field), sizeof(field))

static void
check_authres(const struct trace_authres *ar)
{
	size_t i, j;

	if (ar->nm > TRACE_MAX_RESULTS)
		broken("too many methods");
	P(ar->authserv_id);
	for (i = 0; i < ar->nm; i++) {
		P(ar->m[i].method);
		P(ar->m[i].result);
		P(ar->m[i].reason);
		if (ar->m[i].nprop > TRACE_MAX_PROPS)
			broken("too many properties");
		for (j = 0; j < ar->m[i].nprop; j++) {
			P(ar->m[i].prop[j].ptype);
			P(ar->m[i].prop[j].name);
			P(ar->m[i].prop[j].value);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	static struct trace_authres ar;
	struct trace_received r;
	struct trace_tags t;
	long long when;

	trace_received_parse(v, size, &r);
	P(r.from);
	P(r.from_rdns);
	P(r.ip);
	P(r.by);
	P(r.with);
	P(r.tls);
	P(r.cipher);
	trace_date_parse(v, size, &when);
	trace_authres_parse(v, size, 0, &ar);
	check_authres(&ar);
	if (trace_authres_parse(v, size, 1, &ar) == NULL &&
	    (ar.instance < 1 || ar.instance > 50))
		broken("ARC instance out of range");
	check_authres(&ar);
	trace_tags_parse(v, size, 0, &t);
	if (trace_tags_parse(v, size, 1, &t) == NULL && (t.i < 1 || t.i > 50))
		broken("ARC i= out of range");
	P(t.cv);
	P(t.d);
	P(t.s);
	P(t.a);
	P(t.h);
	return 0;
}
