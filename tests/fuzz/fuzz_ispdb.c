/*
 * fuzz_ispdb.c -- libFuzzer harness for ispdb_parse() and ispdb_user()
 * (ispdb.c).
 *
 * Purpose: the autoconfig document comes from the network (postseal
 * --configure); the parser is fed hostile XML and its promises are
 * checked, not only the absence of crashes:
 *   - a refusal is ERR_DATA with no server left in db;
 *   - every server kept has a host of letters, digits, '-' and '.', a
 *     port from 1 to 65535, a known socket type, a username without
 *     CR, LF or NUL;
 *   - ispdb_choose() never picks a plaintext server;
 *   - an expanded username fits and holds no '%' left from a template
 *     without one.
 *
 * Invariants: no global state; everything allocated is freed.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ispdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_ispdb: %s\n", what);
	abort();
}

static void
check_server(const struct ispdb_server *s)
{
	const char *p;
	char out[ISPDB_MAX_TEXT + 1];

	if (s->host[0] == '\0')
		fail("a server without a host");
	for (p = s->host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			fail("a host with a bad character");
	if (s->port == 0 || s->port > 65535)
		fail("a port out of range");
	if (s->sock != ISPDB_PLAIN && s->sock != ISPDB_TLS &&
	    s->sock != ISPDB_STARTTLS)
		fail("an unknown socket type");
	if (strpbrk(s->user, "\r\n") != NULL)
		fail("a username with CR or LF");
	if (ispdb_user(s->user, "u@d.example", out, sizeof(out)) == 0 &&
	    strchr(s->user, '%') == NULL && strcmp(out, s->user) != 0)
		fail("a template without placeholders changed");
}

/* The account written for the chosen server: TLS on, no password line,
 * printable lines only. */
static void
check_account(const struct ispdb_server *s)
{
	struct buf b;
	struct err e = {0};
	size_t i;

	buf_init(&b, 16384);
	if (ispdb_account(s, "u@d.example", "d.example", &b, &e) == 0) {
		if (buf_addch(&b, '\0') == -1)
			fail("no room for the terminator");
		if (strstr(b.data, "\ntls on\n") == NULL)
			fail("an account without tls on");
		if (strstr(b.data, "\npassword") != NULL)
			fail("an account with a password");
		for (i = 0; i + 1 < b.len; i++)
			if (((unsigned char)b.data[i] < ' ' &&
				b.data[i] != '\n') ||
			    (unsigned char)b.data[i] >= 0x7f)
				fail("a control byte in the account");
	} else if (e.kind != ERR_DATA)
		fail("an account refused with another error than ERR_DATA");
	buf_reset(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ispdb db;
	struct err e = {0};
	const struct ispdb_server *s;
	size_t i;

	if (ispdb_parse((const char *)data, size, &db, &e) == -1) {
		if (e.kind != ERR_DATA || db.nout != 0)
			fail("a refusal that is not ERR_DATA or kept servers");
		return 0;
	}
	if (db.nout > ISPDB_MAX_SERVERS)
		fail("too many servers");
	for (i = 0; i < db.nout; i++)
		check_server(&db.out[i]);
	if ((s = ispdb_choose(&db)) != NULL && s->sock == ISPDB_PLAIN)
		fail("a plaintext server chosen");
	if (s != NULL)
		check_account(s);
	return 0;
}
