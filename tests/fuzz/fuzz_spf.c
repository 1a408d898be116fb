/*
 * fuzz_spf.c -- libFuzzer harness for spf.c.
 *
 * Purpose: feed hostile bytes, as a DNS server could, to the SPF record
 * parser, the macro expander and check_host() itself:
 *   - spf_record_check() on the input: NULL or a non-empty reason;
 *   - spf_expand() on the input in domain and in exp context, with a
 *     small and a large output buffer: on success the result is a C
 *     string that fits, holds no byte outside 0x20-0x7e, and the small
 *     buffer never succeeds where the result would not fit;
 *   - spf_check_host() with a table resolver that answers every TXT
 *     query with the input (so include/redirect recurse into it), every
 *     A/AAAA query with an address, MX and PTR with a name: the result
 *     is one of the seven, lookups never pass the limit by more than the
 *     one that tripped it, and the texts are NUL-terminated.
 *
 * Invariants: no global state besides the current input; everything
 * allocated is freed, so LeakSanitizer catches leaks in spf.c and the
 * dns_answer helpers.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "spf.h"

#define FUZZ_MAX_INPUT 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *cur;
static size_t curlen;

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_spf: broken promise: %s\n", what);
	abort();
}

static enum dns_status
lookup(void *arg, const char *name, enum dns_type type, struct dns_answer *ans)
{
	struct dns_rr rr;
	char text[64] = "mx.example.com";

	(void)arg;
	memset(ans, 0, sizeof(*ans));
	memset(&rr, 0, sizeof(rr));
	rr.text = text;
	rr.len = strlen(text);
	if (strlen(name) > 253)
		broken("a query name over 253 bytes");
	switch (type) {
	case DNS_T_TXT:
		rr.text = (char *)(uintptr_t)cur;
		rr.len = curlen;
		rr.nstrings = 1;
		break;
	case DNS_T_A:
		rr.family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", rr.ip);
		break;
	case DNS_T_AAAA:
		rr.family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", rr.ip);
		break;
	default:
		break;
	}
	if (dns_answer_add(ans, &rr) == -1)
		return ans->status = DNS_FAILED;
	return ans->status = DNS_FOUND;
}

static void
check_text(const char *s, size_t cap, const char *what)
{
	if (memchr(s, '\0', cap) == NULL)
		broken(what);
}

static void
fuzz_expand(const struct spf_macro_ctx *m, int exp)
{
	char small[16], big[8192];
	const char *w1 =
	    spf_expand(m, (const char *)cur, curlen, exp, big, sizeof(big));
	const char *w2 =
	    spf_expand(m, (const char *)cur, curlen, exp, small, sizeof(small));
	size_t i;

	if (w1 == NULL) {
		for (i = 0; big[i] != '\0'; i++)
			if ((unsigned char)big[i] < 0x20 ||
			    (unsigned char)big[i] > 0x7e)
				broken("expansion holds a control byte");
		if (w2 == NULL && strcmp(small, big) != 0)
			broken("small and large expansions differ");
		if (w2 == NULL && i >= sizeof(small))
			broken("an expansion that cannot fit succeeded");
	} else if (*w1 == '\0') {
		broken("empty reason");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_ip ip;
	struct spf_macro_ctx m;
	struct spf_outcome o;
	const char *why;
	size_t i;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	cur = data;
	curlen = size;
	why = spf_record_check((const char *)data, size);
	if (why != NULL && *why == '\0')
		broken("empty reason");
	spf_ip_parse("192.0.2.1", &ip);
	memset(&m, 0, sizeof(m));
	m.sender = "strong-bad@email.example.com";
	m.domain = "email.example.com";
	m.helo = "mx.example.org";
	m.ip = &ip;
	fuzz_expand(&m, 0);
	fuzz_expand(&m, 1);
	if (spf_check_host(&(struct dns_resolver){lookup, NULL}, &ip,
		"example.com", "user@example.com", "mx.example.org",
		&o) > SPF_PERMERROR)
		broken("result out of range");
	if (o.lookups > SPF_MAX_LOOKUPS + 1)
		broken("more lookups than the limit allows");
	check_text(o.mechanism, sizeof(o.mechanism), "mechanism");
	check_text(o.problem, sizeof(o.problem), "problem");
	check_text(o.explanation, sizeof(o.explanation), "explanation");
	for (i = 0; i < o.nwarnings; i++)
		check_text(o.warnings[i], sizeof(o.warnings[i]), "warning");
	return 0;
}
