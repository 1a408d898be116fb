/* Unit tests for addr.c: envelope checks, address lists, qualification. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "check.h"
#include "err.h"

/* (address, allow_null, expected reason or NULL, expected utf8 flag) */
static const struct {
	const char *in;
	int allow_null;
	const char *why;
	int utf8;
} checks[] = {
    {"user@example.com", 0, NULL, 0},
    {"first.last+tag@sub.example.co.uk", 0, NULL, 0},
    {"!#$%&'*+-/=?^_`{|}~@example.com", 0, NULL, 0},
    {"\"john doe\"@example.com", 0, NULL, 0},
    {"\"a@b\"@example.com", 0, NULL, 0},
    {"\"q\\\"uote\"@example.com", 0, NULL, 0},
    {"user@[192.0.2.1]", 0, NULL, 0},
    {"user@[IPv6:2001:db8::1]", 0, NULL, 0},
    {"user@[ipv6:::1]", 0, NULL, 0},
    {"j\xc3\xb6rg@b\xc3\xbc"
     "cher.example",
	0, NULL, 1},
    {"", 1, NULL, 0},
    {"", 0, "empty address", 0},
    {"root", 0, "missing @domain", 0},
    {"@example.com", 0, "empty local part", 0},
    {"user@", 0, "empty domain", 0},
    {"a\r\nRCPT TO:<x@y>@example.com", 0, "contains a line break", 0},
    {"a\n@example.com", 0, "contains a line break", 0},
    {"a\r@example.com", 0, "contains a line break", 0},
    {"a\tb@example.com", 0, "contains a control character", 0},
    {"a\x7f@example.com", 0, "contains a control character", 0},
    {"a b@example.com", 0, "contains a space", 0},
    {" a@example.com", 0, "contains a space", 0},
    {"a@example.com ", 0, "contains a space", 0},
    {"<a@example.com>", 0, "contains angle brackets", 0},
    {"a@example.com>", 0, "contains angle brackets", 0},
    {"\"<x>\"@example.com", 0, "contains angle brackets", 0},
    {"a..b@example.com", 0, "invalid local part", 0},
    {".a@example.com", 0, "invalid local part", 0},
    {"a.@example.com", 0, "invalid local part", 0},
    {"a,b@example.com", 0, "invalid local part", 0},
    {"\"unterminated@example.com", 0, "unterminated quoted local part", 0},
    {"\"a\"b@example.com", 0, "invalid local part", 0},
    {"a@b@example.com", 0, "invalid character in domain", 0},
    {"a@-x.example.com", 0, "invalid domain", 0},
    {"a@x-.example.com", 0, "invalid domain", 0},
    {"a@x..example.com", 0, "invalid domain", 0},
    {"a@example.com.", 0, "invalid domain", 0},
    {"a@under_score.example", 0, "invalid character in domain", 0},
    {"a@[300.1.1.1]", 0, "invalid address literal", 0},
    {"a@[1.2.3.4", 0, "invalid address literal", 0},
    {"a@[IPv6:zz::1]", 0, "invalid address literal", 0},
    {"a@[tag:foo]", 0, "invalid address literal", 0},
    {"\xff@example.com", 0, "invalid UTF-8", 0},
    {"\xc0\xaf@example.com", 0, "invalid UTF-8", 0},	 /* overlong */
    {"\xed\xa0\x80@example.com", 0, "invalid UTF-8", 0}, /* surrogate */
    {"\xc3@example.com", 0, "invalid UTF-8", 0},
};

static void
test_check(void)
{
	char local[80], dom[300], addr[400];
	size_t i;
	int u;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const char *r =
		    addr_check(checks[i].in, checks[i].allow_null, &u);
		if (checks[i].why == NULL) {
			CHECK_STR(r == NULL ? "ok" : r, "ok");
			CHECK(u == checks[i].utf8);
		} else
			CHECK_STR(r, checks[i].why);
	}
	/* Length limits: local 64, label 63, domain 255, path 256. */
	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.com", local);
	CHECK_STR(addr_check(addr, 0, NULL),
	    "local part longer than 64 octets");
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.com", local);
	CHECK(addr_check(addr, 0, NULL) == NULL);
	snprintf(addr, sizeof(addr), "a@%s.com", local);
	CHECK_STR(addr_check(addr, 0, NULL),
	    "domain label longer than 63 octets");
	for (i = 0; i < 250; i += 2)
		memcpy(dom + i, "b.", 2);
	memcpy(dom + 250, "co", 3); /* 252 octets */
	snprintf(addr, sizeof(addr), "a@%s", dom);
	CHECK(addr_check(addr, 0, NULL) == NULL); /* 254 octets: the max */
	snprintf(addr, sizeof(addr), "aa@%s", dom);
	CHECK_STR(addr_check(addr, 0, NULL), "address longer than 254 octets");
	CHECK_STR(addr_check(NULL, 1, NULL), "no address");
}

/* (header value, addresses joined by '|', or NULL for ERR_DATA) */
static const struct {
	const char *in;
	const char *want;
} lists[] = {
    {"a@example.com", "a@example.com"},
    {"a@example.com, b@example.org", "a@example.com|b@example.org"},
    {"John Doe <jd@example.com>", "jd@example.com"},
    {"\"Doe, John\" <jd@example.com>, x@y.z", "jd@example.com|x@y.z"},
    {"\"a\\\"b\" <q@example.com>", "q@example.com"},
    {"jd@example.com (John Doe)", "jd@example.com"},
    {"(c1 (nested) \\) c2) jd (x) @ (y) example . com", "jd@example.com"},
    {"John\r\n Doe\r\n\t<jd@example.com>", "jd@example.com"},
    {"undisclosed-recipients:;", ""},
    {"undisclosed-recipients:", ""},
    {"team: a@x.org, \"B\" <b@x.org>;, c@x.org", "a@x.org|b@x.org|c@x.org"},
    {"team: a@x.org; c@x.org", NULL},
    {"team: a@x.org,, b@x.org ;", "a@x.org|b@x.org"},
    {", , a@x.org,,b@x.org,", "a@x.org|b@x.org"},
    {"<@relay.example,@r2.example:user@example.com>", "user@example.com"},
    {"root", "root"},
    {"root, postmaster", "root|postmaster"},
    {"<root>", "root"},
    {"first.last", "first.last"},
    {"\"quoted local\"@example.com", "\"quoted local\"@example.com"},
    {"user@[192.0.2.1]", "user@[192.0.2.1]"},
    {"J\xc3\xb6rg <j@example.com>", "j@example.com"},
    {"=?utf-8?q?J=C3=B6rg?= <j@example.com>", "j@example.com"},
    {"John.Q.Public <jqp@example.com>", "jqp@example.com"},
    {"", ""},
    {"   ", ""},
    {"(only a comment)", ""},
    {"John Doe", NULL},
    {"John Doe <jd@example.com", NULL},
    {"<jd@example.com", NULL},
    {"jd@example.com>", NULL},
    {"a@b c@d", NULL},
    {"a@", NULL},
    {"@example.com", NULL},
    {"a@b@c", NULL},
    {"a..b@example.com", NULL},
    {"\"unterminated@example.com", NULL},
    {"a@example.com (unterminated", NULL},
    {"a@example.com)", NULL},
    {"g1: g2: a@b;;", NULL},
    {"a@[1.2.3.4", NULL},
    {"a\\b@example.com", NULL},
    {"<>", NULL},
    {"a@b.c; d@e.f", NULL},
};

static void
join(struct buf *b, const struct addr_list *l)
{
	size_t i;

	buf_clear(b);
	buf_addstr(b, "");
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_addch(b, '|');
		buf_addstr(b, l->v[i]);
	}
}

static void
test_lists(void)
{
	struct addr_list l = {NULL, 0};
	struct buf b;
	struct err e;
	size_t i;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		int r =
		    addr_parse_list(lists[i].in, strlen(lists[i].in), &l, &e);
		if (lists[i].want == NULL) {
			CHECK(r == -1 && e.kind == ERR_DATA);
			if (r == 0)
				fprintf(stderr, "  accepted: [%s]\n",
				    lists[i].in);
		} else {
			CHECK(r == 0);
			if (r == -1)
				fprintf(stderr, "  [%s]: %s\n", lists[i].in,
				    e.text);
			join(&b, &l);
			CHECK_STR(b.data, lists[i].want);
		}
		addr_list_free(&l);
	}
	buf_reset(&b);
}

static void
test_list_hostile(void)
{
	struct addr_list l = {NULL, 0};
	struct err e;
	struct buf b;
	size_t i;

	/* Embedded NUL: length is given, the NUL is not a terminator. */
	CHECK(addr_parse_list("a@b.c\0, d@e.f", 13, &l, &e) == -1);
	CHECK(e.kind == ERR_DATA);
	addr_list_free(&l);
	/* Not NUL-terminated: parsing stops at len. */
	CHECK(addr_parse_list("a@b.cXXXX", 5, &l, &e) == 0);
	CHECK(l.n == 1 && strcmp(l.v[0], "a@b.c") == 0);
	addr_list_free(&l);
	/* One address longer than the per-address cap. */
	buf_init(&b, 1 << 20);
	for (i = 0; i < ADDR_LIST_MAX_LEN; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "@example.com");
	CHECK(addr_parse_list(b.data, b.len, &l, &e) == -1);
	CHECK(e.kind == ERR_DATA && strstr(e.text, "too long") != NULL);
	addr_list_free(&l);
	/* More addresses than the list cap. */
	buf_clear(&b);
	for (i = 0; i <= ADDR_LIST_MAX; i++)
		buf_addstr(&b, "a@b,");
	CHECK(addr_parse_list(b.data, b.len, &l, &e) == -1);
	CHECK(e.kind == ERR_DATA && strstr(e.text, "more than") != NULL);
	addr_list_free(&l);
	/* Deeply nested comments need no stack. */
	buf_clear(&b);
	for (i = 0; i < 100000; i++)
		buf_addch(&b, '(');
	for (i = 0; i < 100000; i++)
		buf_addch(&b, ')');
	buf_addstr(&b, "a@b");
	CHECK(addr_parse_list(b.data, b.len, &l, &e) == 0 && l.n == 1);
	addr_list_free(&l);
	buf_reset(&b);
	CHECK(addr_list_add(&l, "a\r\nb", 4, &e) == -1 && e.kind == ERR_DATA);
	CHECK(addr_list_add(&l, "ab", 2, &e) == 0 && l.n == 1);
	addr_list_free(&l);
	CHECK(l.n == 0 && l.v == NULL);
}

static void
test_qualify(void)
{
	static const struct {
		const char *in, *dom, *want, *domain;
	} q[] = {
	    {"root", "example.com", "root@example.com", "example.com"},
	    {"a@b.c", "example.com", "a@b.c", "b.c"},
	    {"", "example.com", "", NULL},
	    {"root", NULL, "root", NULL},
	    {"root", "", "root", NULL},
	    {"\"a@b\"", "example.com", "\"a@b\"@example.com", "example.com"},
	    {"\"a@b\"@x.org", "example.com", "\"a@b\"@x.org", "x.org"},
	};
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char *s = addr_qualify(q[i].in, q[i].dom);
		const char *d = addr_domain(s);
		CHECK_STR(s, q[i].want);
		if (q[i].domain == NULL)
			CHECK(d == NULL);
		else
			CHECK_STR(d, q[i].domain);
		free(s);
	}
}

static void
test_utf8(void)
{
	struct addr_utf8 s = {0, 0, 0, 0};
	const char *euro = "\xe2\x82\xac";

	CHECK(addr_utf8_valid("plain", 5));
	CHECK(addr_utf8_valid("\xf0\x9f\x98\x80", 4));
	CHECK(!addr_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!addr_utf8_valid("\xe0\x80\x80", 3));	/* overlong */
	CHECK(!addr_utf8_valid("\x80", 1));
	/* Split across chunks. */
	addr_utf8_feed(&s, euro, 1);
	addr_utf8_feed(&s, euro + 1, 2);
	CHECK(!s.bad && s.need == 0);
	addr_utf8_feed(&s, euro, 2);
	CHECK(!s.bad && s.need == 1); /* incomplete at the end */
}

int
main(void)
{
	test_check();
	test_lists();
	test_list_hostile();
	test_qualify();
	test_utf8();
	return check_done();
}
