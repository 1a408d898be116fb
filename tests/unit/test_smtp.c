/*
 * Unit tests for smtp.c, net.c, sasl.c and tls.c: tables for the pure
 * parts (line splitting, replies, EHLO, dot-stuffing, xtext, mechanism
 * choice, SASL messages, fingerprints), then scripted servers on loopback
 * (a forked child per case) for the protocol rules that need a socket:
 * pipelining, refused recipients, SIZE, slowloris, STARTTLS injection...
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "buf.h"
#include "check.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "sasl.h"
#include "smtp.h"
#include "tls.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- net_split_line ---- */

static const struct {
	const char *in;
	size_t n, max;
	int want;
	size_t linelen, skip;
} splits[] = {
    {"abc\r\nx", 6, 100, 1, 3, 5},
    {"abc\nx", 5, 100, 1, 3, 4},
    {"\r\n", 2, 100, 1, 0, 2},
    {"\n", 1, 100, 1, 0, 1},
    {"abc\r", 4, 100, 0, 0, 0},
    {"abc", 3, 100, 0, 0, 0},
    {"", 0, 100, 0, 0, 0},
    {"a\rb\n", 4, 100, 1, 3, 4}, /* the bare CR stays in the line */
    {"abcd", 4, 4, -1, 0, 0},	 /* 4 bytes, no end: over max */
    {"abc", 3, 4, 0, 0, 0},
    {"ab\r\n", 4, 4, 1, 2, 4}, /* exactly max with its CRLF */
    {"abc\n", 4, 4, 1, 3, 4},
    {"abc\r\n", 5, 4, -1, 0, 0},
};

static void
test_split(void)
{
	size_t i, len, skip;

	for (i = 0; i < N(splits); i++) {
		len = skip = 0;
		int r = net_split_line(splits[i].in, splits[i].n, splits[i].max,
		    &len, &skip);
		CHECK(r == splits[i].want);
		if (r == 1) {
			CHECK(len == splits[i].linelen);
			CHECK(skip == splits[i].skip);
		}
		if (r != splits[i].want)
			fprintf(stderr, "  split row %zu: got %d\n", i, r);
	}
}

/* ---- replies ---- */

static const struct {
	const char *in;
	size_t n;	 /* 0: strlen */
	const char *why; /* NULL: ok; else the reason */
	int code;
	const char *text;
	size_t nlines;
	size_t used;
} replies[] = {
    {"250 ok\r\n", 0, NULL, 250, "ok", 1, 8},
    {"250-a\r\n250-b b\r\n250 c\r\n", 0, NULL, 250, "a\nb b\nc", 3, 23},
    {"250\r\n", 0, NULL, 250, "", 1, 5},
    {"250-\r\n250 x\r\n", 0, NULL, 250, "\nx", 2, 13},
    {"220 hi\n", 0, NULL, 220, "hi", 1, 7},
    {"220-a\n220 b\r\n", 0, NULL, 220, "a\nb", 2, 13},
    {"250 a\tb\r\n", 0, NULL, 250, "a\tb", 1, 9},
    {"250 caf\xc3\xa9\r\n", 0, NULL, 250, "caf\xc3\xa9", 1, 11},
    {"250 a\r\n250 b\r\n", 0, NULL, 250, "a", 1, 7},
    {"554 no\r\n", 0, NULL, 554, "no", 1, 8},
    {"334 \r\n", 0, NULL, 334, "", 1, 6},
    {"25 ok\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"2500 ok\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"abc ok\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"650 x\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"150 x\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"270 x\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"25a x\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {" 250 x\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"250_x\r\n", 0, "malformed reply code", 0, NULL, 0, 0},
    {"250-a\r\n251 b\r\n", 0, "reply code changes within a reply", 0, NULL, 0,
	0},
    {"250-a\r\n550 b\r\n", 0, "reply code changes within a reply", 0, NULL, 0,
	0},
    {"250 a\0b\r\n", 9, "NUL in reply", 0, NULL, 0, 0},
    {"250 a\rb\r\n", 0, "control character in reply", 0, NULL, 0, 0},
    {"250 a\r\r\n", 0, "control character in reply", 0, NULL, 0, 0},
    {"250 \x1b[31m\r\n", 0, "control character in reply", 0, NULL, 0, 0},
    {"250 \x7f\r\n", 0, "control character in reply", 0, NULL, 0, 0},
    {"250 ok", 0, "incomplete reply", 0, NULL, 0, 0},
    {"250-a\r\n", 0, "incomplete reply", 0, NULL, 0, 0},
    {"", 0, "incomplete reply", 0, NULL, 0, 0},
};

static void
test_replies(void)
{
	struct smtp_reply r;
	size_t i, used;
	const char *why;

	smtp_reply_init(&r);
	for (i = 0; i < N(replies); i++) {
		size_t n = replies[i].n ? replies[i].n : strlen(replies[i].in);

		why = smtp_reply_parse(&r, replies[i].in, n, &used);
		if (replies[i].why == NULL) {
			CHECK(why == NULL);
			if (why != NULL) {
				fprintf(stderr, "  reply row %zu: %s\n", i,
				    why);
				continue;
			}
			CHECK(r.code == replies[i].code);
			CHECK_STR(r.text.data ? r.text.data : "",
			    replies[i].text);
			CHECK(r.nlines == replies[i].nlines);
			CHECK(used == replies[i].used);
		} else {
			CHECK_STR(why, replies[i].why);
		}
	}
	smtp_reply_free(&r);
}

/* Replies built from repeated lines: the size and count limits. */
static const char *
parse_lines(size_t nlines, size_t textlen, int lf_only)
{
	struct buf b;
	struct smtp_reply r;
	const char *why;
	size_t i, used;

	buf_init(&b, 1 << 24);
	for (i = 0; i < nlines; i++) {
		buf_printf(&b, "250%c", i + 1 == nlines ? ' ' : '-');
		for (size_t k = 0; k < textlen; k++)
			buf_addch(&b, 'x');
		buf_addstr(&b, lf_only ? "\n" : "\r\n");
	}
	smtp_reply_init(&r);
	why = smtp_reply_parse(&r, b.data, b.len, &used);
	smtp_reply_free(&r);
	buf_reset(&b);
	return why;
}

static void
test_reply_limits(void)
{
	/* 4 + 2042 + 2 = 2048 bytes: the longest line. */
	CHECK(parse_lines(1, 2042, 0) == NULL);
	CHECK_STR(parse_lines(1, 2043, 0), "reply line too long");
	CHECK(parse_lines(1, 2043, 1) == NULL); /* 2048 with a bare LF */
	CHECK_STR(parse_lines(1, 2044, 1), "reply line too long");
	CHECK_STR(parse_lines(1, 100000, 0), "reply line too long");
	CHECK(parse_lines(100, 10, 0) == NULL);
	CHECK_STR(parse_lines(101, 10, 0), "too many lines in reply");
	CHECK_STR(parse_lines(150, 0, 0), "too many lines in reply");
	/* 32 lines of 2048 bytes = 64 KiB exactly; one more byte fails. */
	CHECK(parse_lines(32, 2042, 0) == NULL);
	CHECK_STR(parse_lines(33, 2042, 0), "reply too long");
	CHECK_STR(parse_lines(40, 2000, 0), "reply too long");
}

/* ---- EHLO ---- */

static const struct {
	const char *in;
	unsigned flags;
	unsigned long long size;
	const char *auth;
} ehlos[] = {
    {"250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
     "250-starttls\r\n250-AUTH PLAIN login SCRAM-SHA-256\r\n250-8BITMIME\r\n"
     "250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n",
	SMTP_CAP_PIPELINING | SMTP_CAP_SIZE | SMTP_CAP_STARTTLS |
	    SMTP_CAP_AUTH | SMTP_CAP_8BITMIME | SMTP_CAP_DSN |
	    SMTP_CAP_SMTPUTF8 | SMTP_CAP_ENHANCEDSTATUSCODES,
	10240000, "PLAIN LOGIN SCRAM-SHA-256"},
    /* The first line is the server's name, never a capability. */
    {"250-STARTTLS\r\n250 SIZE 100\r\n", SMTP_CAP_SIZE, 100, ""},
    {"250 STARTTLS PIPELINING\r\n", 0, 0, ""},
    /* Whole words only. */
    {"250-x\r\n250-PIPELININGX\r\n250-STARTTLSNOW\r\n250-XSIZE 5\r\n"
     "250-AUTH=PLAIN\r\n250 8BITMIMES\r\n",
	0, 0, ""},
    {"250-x\r\n250-Pipelining\r\n250 size 5\r\n",
	SMTP_CAP_PIPELINING | SMTP_CAP_SIZE, 5, ""},
    {"250-x\r\n250-SIZE\r\n250 CHUNKING\r\n", SMTP_CAP_SIZE | SMTP_CAP_CHUNKING,
	0, ""},
    {"250-x\r\n250 SIZE 0\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE\t77\r\n", SMTP_CAP_SIZE, 77, ""},
    {"250-x\r\n250 SIZE abc\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE -1\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE +5\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE 12 34\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE 5k\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE 18446744073709551615\r\n", SMTP_CAP_SIZE,
	18446744073709551615ULL, ""},
    {"250-x\r\n250 SIZE 18446744073709551616\r\n", SMTP_CAP_SIZE, 0, ""},
    {"250-x\r\n250 SIZE 99999999999999999999999999\r\n", SMTP_CAP_SIZE, 0, ""},
    /* AUTH: lists are merged, upper-cased, bad names dropped. */
    {"250-x\r\n250-AUTH PLAIN\r\n250 AUTH login\r\n", SMTP_CAP_AUTH, 0,
	"PLAIN LOGIN"},
    {"250-x\r\n250 AUTH PL@IN TOOLONGMECHANISMNAME12 OK  X_1\r\n",
	SMTP_CAP_AUTH, 0, "OK X_1"},
    {"250-x\r\n250 AUTH\r\n", SMTP_CAP_AUTH, 0, ""},
    {"250 x\r\n", 0, 0, ""},
};

static void
test_ehlo(void)
{
	struct smtp_reply r;
	struct smtp_caps c;
	size_t i, used;

	smtp_reply_init(&r);
	for (i = 0; i < N(ehlos); i++) {
		CHECK(smtp_reply_parse(&r, ehlos[i].in, strlen(ehlos[i].in),
			  &used) == NULL);
		smtp_parse_ehlo(&r, &c);
		CHECK(c.flags == ehlos[i].flags);
		CHECK(c.size == ehlos[i].size);
		CHECK_STR(c.auth, ehlos[i].auth);
		if (c.flags != ehlos[i].flags || c.size != ehlos[i].size)
			fprintf(stderr, "  ehlo row %zu: flags %#x size %llu\n",
			    i, c.flags, c.size);
	}
	/* A huge AUTH list is capped, never overflows. */
	{
		struct buf b;
		buf_init(&b, 1 << 20);
		buf_addstr(&b, "250-x\r\n250 AUTH");
		for (i = 0; i < 200; i++)
			buf_printf(&b, " MECH%zu", i);
		buf_addstr(&b, "\r\n");
		CHECK(smtp_reply_parse(&r, b.data, b.len, &used) == NULL);
		smtp_parse_ehlo(&r, &c);
		CHECK(strlen(c.auth) < sizeof(c.auth));
		CHECK(strncmp(c.auth, "MECH0 MECH1 ", 12) == 0);
		buf_reset(&b);
	}
	smtp_reply_free(&r);
}

/* ---- dot-stuffing ---- */

static const struct {
	const char *in;
	const char *out;
} dots[] = {
    {"", ".\r\n"},
    {"a\r\n", "a\r\n.\r\n"},
    {"a", "a\r\n.\r\n"},
    {".\r\n", "..\r\n.\r\n"},
    {"..\r\n", "...\r\n.\r\n"},
    {".", "..\r\n.\r\n"},
    {"a\r\n.b\r\n", "a\r\n..b\r\n.\r\n"},
    {"a.\r\n.", "a.\r\n..\r\n.\r\n"},
    {"a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
    {"\r\n.\r\n", "\r\n..\r\n.\r\n"},
    {"a\nb\n", "a\r\nb\r\n.\r\n"},
    {"a\n.\n", "a\r\n..\r\n.\r\n"},
    {"a\rb", "a\r\nb\r\n.\r\n"},
    {"a\r", "a\r\n.\r\n"},
    {"\r", "\r\n.\r\n"},
    {"\n", "\r\n.\r\n"},
    {"\r\r\n", "\r\n\r\n.\r\n"},
    {"a\r.b\r\n", "a\r\n..b\r\n.\r\n"},
    {"\n\n.\n", "\r\n\r\n..\r\n.\r\n"},
    {"x\r\n\r\n", "x\r\n\r\n.\r\n"},
    {"\xff.\r\n", "\xff.\r\n.\r\n"},
};

/* Encode in in two chunks split at k; return a malloc'd result. */
static char *
dot_run(const char *in, size_t n, size_t k, size_t *outlen)
{
	char *out = xcalloc(1, 2 * n + 4 + SMTP_DOT_FINISH_MAX + 1);
	struct smtp_dot d;
	size_t o, a;

	smtp_dot_init(&d);
	a = smtp_dot_encode(&d, in, k, out);
	CHECK(a <= 2 * k + 2);
	o = a;
	a = smtp_dot_encode(&d, in + k, n - k, out + o);
	CHECK(a <= 2 * (n - k) + 2);
	o += a;
	o += smtp_dot_finish(&d, out + o);
	*outlen = o;
	return out;
}

/* Wire invariants: only CRLF line ends, and the only lone dot is last. */
static int
wire_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 3 || memcmp(p + n - 3, ".\r\n", 3) != 0)
		return 0;
	if (n > 3 && (n < 5 || memcmp(p + n - 5, "\r\n", 2) != 0 ||
			 memcmp(p, ".\r\n", 3) == 0))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			return 0;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
		if (i + 5 < n && memcmp(p + i, "\r\n.\r\n", 5) == 0)
			return 0;
	}
	return 1;
}

static void
test_dots(void)
{
	size_t i, k, n, olen;
	char *out;

	for (i = 0; i < N(dots); i++) {
		n = strlen(dots[i].in);
		for (k = 0; k <= n; k++) {
			out = dot_run(dots[i].in, n, k, &olen);
			CHECK(olen == strlen(dots[i].out) &&
			      memcmp(out, dots[i].out, olen) == 0);
			CHECK(wire_ok(out, olen));
			if (olen != strlen(dots[i].out) ||
			    memcmp(out, dots[i].out, olen) != 0)
				fprintf(stderr, "  dot row %zu split %zu\n", i,
				    k);
			free(out);
		}
	}
}

/* Random bytes over CR, LF, '.', 'a': the wire invariants always hold. */
static void
test_dots_random(void)
{
	static const char alphabet[] = "\r\n.a";
	char in[64];
	size_t i, j, k, olen;
	char *out;
	int bad = 0;

	for (i = 0; i < 5000; i++) {
		size_t n = randombytes_uniform(sizeof(in));
		for (j = 0; j < n; j++)
			in[j] = alphabet[randombytes_uniform(4)];
		k = n ? randombytes_uniform((uint32_t)n + 1) : 0;
		out = dot_run(in, n, k, &olen);
		if (!wire_ok(out, olen))
			bad++;
		free(out);
	}
	CHECK(bad == 0);
}

/* BDAT's line-end repair: what DATA sends, without the dot-stuffing and
 * the final dot; CRLF-clean data ending in CRLF leaves unchanged. */
static char *
crlf_run(const char *in, size_t n, size_t k, size_t *outlen)
{
	char *out = xcalloc(1, 2 * n + 4 + 2 + 1);
	struct smtp_dot d;
	size_t o, a;

	smtp_dot_init(&d);
	a = smtp_crlf_encode(&d, in, k, out);
	CHECK(a <= 2 * k + 2);
	o = a;
	a = smtp_crlf_encode(&d, in + k, n - k, out + o);
	CHECK(a <= 2 * (n - k) + 2);
	o += a;
	o += smtp_crlf_finish(&d, out + o);
	*outlen = o;
	return out;
}

/* The dot-stuffed wire form without its stuffing and final dot. */
static size_t
unstuff(const char *p, size_t n, char *out)
{
	size_t i, o = 0;
	int bol = 1;

	n -= 3; /* ".\r\n" */
	for (i = 0; i < n; i++) {
		if (bol && p[i] == '.')
			i++;
		out[o++] = p[i];
		bol = p[i] == '\n';
	}
	return o;
}

static void
test_crlf(void)
{
	static const char *clean[] = {"", "a\r\n", ".\r\n..\r\n.x\r\n",
	    "\r\n\r\n", "a\r\n.\r\nb\r\n"};
	size_t i, k, n, olen, wlen, ulen;
	char *out, *wire, *want;

	for (i = 0; i < N(dots); i++) {
		n = strlen(dots[i].in);
		for (k = 0; k <= n; k++) {
			out = crlf_run(dots[i].in, n, k, &olen);
			wire = dot_run(dots[i].in, n, k, &wlen);
			want = xcalloc(1, wlen + 1);
			ulen = unstuff(wire, wlen, want);
			CHECK(olen == ulen && memcmp(out, want, olen) == 0);
			if (olen != ulen || memcmp(out, want, olen) != 0)
				fprintf(stderr, "  crlf row %zu split %zu\n", i,
				    k);
			free(out);
			free(wire);
			free(want);
		}
	}
	for (i = 0; i < N(clean); i++) {
		n = strlen(clean[i]);
		for (k = 0; k <= n; k++) {
			out = crlf_run(clean[i], n, k, &olen);
			CHECK(olen == n && memcmp(out, clean[i], n) == 0);
			free(out);
		}
	}
}

/* ---- xtext ---- */

static void
test_xtext(void)
{
	char out[101];

	CHECK(smtp_xtext("abc", out, 100) == 0);
	CHECK_STR(out, "abc");
	CHECK(smtp_xtext("a+b=c d", out, 100) == 0);
	CHECK_STR(out, "a+2Bb+3Dc+20d");
	CHECK(smtp_xtext("\xe9\x01", out, 100) == 0);
	CHECK_STR(out, "+E9+01");
	CHECK(smtp_xtext("", out, 100) == 0);
	CHECK_STR(out, "");
	CHECK(smtp_xtext("abcd", out, 4) == 0);
	CHECK(smtp_xtext("abcde", out, 4) == -1);
	CHECK(smtp_xtext("ab+", out, 4) == -1);
	CHECK(smtp_xtext("a+", out, 4) == 0);
}

/* ---- mechanism choice ---- */

static const struct {
	const char *server; /* EHLO AUTH list, NULL: no AUTH */
	const char *setting;
	int tls, cb;
	const char *want; /* NULL: refused with kind */
	enum err_kind kind;
} choices[] = {
    {"PLAIN LOGIN", NULL, 1, 0, "PLAIN", ERR_NONE},
    {"LOGIN PLAIN", "on", 1, 0, "PLAIN", ERR_NONE},
    {"LOGIN", "on", 1, 1, "LOGIN", ERR_NONE},
    {"SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN", "on", 1, 1, "SCRAM-SHA-256-PLUS",
	ERR_NONE},
    {"SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN", "on", 1, 0, "SCRAM-SHA-256",
	ERR_NONE},
    {"PLAIN SCRAM-SHA-1-PLUS SCRAM-SHA-1", NULL, 1, 1, "SCRAM-SHA-1-PLUS",
	ERR_NONE},
    {"PLAIN SCRAM-SHA-1-PLUS SCRAM-SHA-1", NULL, 1, 0, "SCRAM-SHA-1", ERR_NONE},
    {"SCRAM-SHA-1-PLUS SCRAM-SHA-256", NULL, 1, 1, "SCRAM-SHA-1-PLUS",
	ERR_NONE},
    {"SCRAM-SHA-1-PLUS SCRAM-SHA-256", NULL, 1, 0, "SCRAM-SHA-256", ERR_NONE},
    {"SCRAM-SHA-256-PLUS", NULL, 1, 0, NULL, ERR_AUTH},
    {"SCRAM-SHA-1 SCRAM-SHA-256", NULL, 1, 0, "SCRAM-SHA-256", ERR_NONE},
    {"scram-sha-256 plain", NULL, 1, 0, "SCRAM-SHA-256", ERR_NONE},
    {"SCRAM-SHA-256-PLUSX PLAINX LOGIN", NULL, 1, 1, "LOGIN", ERR_NONE},
    {"CRAM-MD5 DIGEST-MD5", NULL, 1, 1, NULL, ERR_AUTH},
    {"XOAUTH2 OAUTHBEARER", "on", 1, 1, NULL, ERR_AUTH},
    {NULL, "on", 1, 1, NULL, ERR_AUTH},
    {"", "on", 1, 1, NULL, ERR_AUTH},
    /* Without TLS: nothing at all, whatever is offered or forced. */
    {"PLAIN", "on", 0, 0, NULL, ERR_CONFIG},
    {"SCRAM-SHA-256", NULL, 0, 0, NULL, ERR_CONFIG},
    {"LOGIN", "LOGIN", 0, 0, NULL, ERR_CONFIG},
    {"SCRAM-SHA-256", "SCRAM-SHA-256", 0, 0, NULL, ERR_CONFIG},
    {"XOAUTH2", "XOAUTH2", 0, 0, NULL, ERR_CONFIG},
    {"OAUTHBEARER", "oauthbearer", 0, 0, NULL, ERR_CONFIG},
    {NULL, "on", 0, 0, NULL, ERR_CONFIG},
    /* Forced. */
    {"PLAIN LOGIN", "plain", 1, 0, "PLAIN", ERR_NONE},
    {"PLAIN LOGIN", "LOGIN", 1, 0, "LOGIN", ERR_NONE},
    {"PLAIN", "LOGIN", 1, 0, NULL, ERR_AUTH},
    {"XOAUTH2 PLAIN", "xoauth2", 1, 0, "XOAUTH2", ERR_NONE},
    {"OAUTHBEARER", "OAUTHBEARER", 1, 0, "OAUTHBEARER", ERR_NONE},
    {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", 1, 1, "SCRAM-SHA-256-PLUS",
	ERR_NONE},
    {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", 1, 0, NULL, ERR_AUTH},
    {"SCRAM-SHA-256-PLUS SCRAM-SHA-256", "SCRAM-SHA-256", 1, 1, "SCRAM-SHA-256",
	ERR_NONE},
    {"CRAM-MD5", "CRAM-MD5", 1, 0, NULL, ERR_CONFIG},
    {"PLAIN", "bogus mech", 1, 0, NULL, ERR_CONFIG},
    {NULL, "PLAIN", 1, 0, NULL, ERR_AUTH},
    {"PLAIN", "off", 1, 0, NULL, ERR_SOFTWARE},
};

static void
test_choose(void)
{
	struct err e;
	const char *m;
	size_t i;

	for (i = 0; i < N(choices); i++) {
		memset(&e, 0, sizeof(e));
		m = sasl_choose(choices[i].server, choices[i].setting,
		    choices[i].tls, choices[i].cb, &e);
		if (choices[i].want != NULL) {
			CHECK_STR(m, choices[i].want);
		} else {
			CHECK(m == NULL);
			CHECK(e.kind == choices[i].kind);
			if (m != NULL || e.kind != choices[i].kind)
				fprintf(stderr, "  choose row %zu: %s %d %s\n",
				    i, m ? m : "-", e.kind, e.text);
		}
	}
	CHECK(sasl_has_initial("PLAIN"));
	CHECK(sasl_has_initial("SCRAM-SHA-256-PLUS"));
	CHECK(sasl_has_initial("XOAUTH2"));
	CHECK(!sasl_has_initial("LOGIN"));
	CHECK(!sasl_has_initial("NOPE"));
}

/* ---- SASL messages ---- */

static char *
b64(const void *p, size_t n)
{
	size_t len =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = xcalloc(1, len);

	sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Decode base64 into a NUL-terminated buffer; *n gets the length. */
static char *
unb64(const char *s, size_t *n)
{
	char *out = xcalloc(1, strlen(s) + 1);

	if (sodium_base642bin((unsigned char *)out, strlen(s) + 1, s, strlen(s),
		NULL, n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		*n = (size_t)-1;
	return out;
}

/* One step; returns the decoded client message (caller frees). */
static char *
step_dec(struct sasl *sa, const char *challenge, size_t *n, int *rc)
{
	struct err e;
	char *out = NULL, *dec;

	*rc = sasl_step(sa, challenge, &out, &e);
	if (*rc == -1) {
		*n = 0;
		return xstrdup("");
	}
	dec = unb64(out, n);
	sasl_response_free(out);
	return dec;
}

static void
test_sasl_plain_login(void)
{
	struct sasl *sa = NULL;
	struct err e;
	char *m;
	size_t n;
	int rc;

	CHECK(sasl_start("PLAIN", "user", "pass", "h", 587, NULL, 0, 0, &sa,
		  &e) == 0);
	m = step_dec(sa, NULL, &n, &rc);
	CHECK(rc == 0 && n == 10 && memcmp(m, "\0user\0pass", 10) == 0);
	CHECK(sasl_complete(sa));
	free(m);
	sasl_free(sa);

	CHECK(sasl_start("LOGIN", "user", "pass", "h", 587, NULL, 0, 0, &sa,
		  &e) == 0);
	m = step_dec(sa, "VXNlcm5hbWU6", &n, &rc);
	CHECK(rc == 0 && n == 4 && memcmp(m, "user", 4) == 0);
	CHECK(!sasl_complete(sa));
	free(m);
	m = step_dec(sa, "UGFzc3dvcmQ6", &n, &rc);
	CHECK(rc == 0 && n == 4 && memcmp(m, "pass", 4) == 0);
	CHECK(sasl_complete(sa));
	free(m);
	sasl_free(sa);
}

static void
test_sasl_bearer(void)
{
	struct sasl *sa = NULL;
	struct err e;
	char *m, *out = NULL;
	size_t n;
	int rc;

	CHECK(sasl_start("XOAUTH2", "u@x", "tok", "h", 587, NULL, 0, 0, &sa,
		  &e) == 0);
	m = step_dec(sa, NULL, &n, &rc);
	CHECK(rc == 0 && n == 26 &&
	      memcmp(m, "user=u@x\001auth=Bearer tok\001\001", 26) == 0);
	CHECK(sasl_complete(sa));
	free(m);
	/* An error challenge: answer empty, and no longer "complete". */
	CHECK(sasl_step(sa, "eyJzdGF0dXMiOiI0MDEifQ==", &out, &e) == 0);
	CHECK_STR(out, "");
	CHECK(!sasl_complete(sa));
	sasl_response_free(out);
	sasl_free(sa);

	CHECK(sasl_start("OAUTHBEARER", "a,b=c", "tok", "smtp.x", 587, NULL, 0,
		  0, &sa, &e) == 0);
	m = step_dec(sa, NULL, &n, &rc);
	CHECK_STR(m, "n,a=a=2Cb=3Dc,\001host=smtp.x\001port=587\001"
		     "auth=Bearer tok\001\001");
	free(m);
	CHECK(sasl_step(sa, "e30=", &out, &e) == 0);
	CHECK_STR(out, "AQ==");
	sasl_response_free(out);
	sasl_free(sa);
}

static void
test_sasl_refusals(void)
{
	struct sasl *sa = NULL;
	struct err e;
	char *out = NULL;

	CHECK(sasl_start("XOAUTH2", "u", "to\001k", "h", 1, NULL, 0, 0, &sa,
		  &e) == 0);
	CHECK(sasl_step(sa, NULL, &out, &e) == -1 && e.kind == ERR_CONFIG);
	sasl_free(sa);
	sa = NULL;
	CHECK(
	    sasl_start("PLAIN", NULL, "p", "h", 1, NULL, 0, 0, &sa, &e) == -1 &&
	    e.kind == ERR_CONFIG && sa == NULL);
	CHECK(
	    sasl_start("PLAIN", "u", NULL, "h", 1, NULL, 0, 0, &sa, &e) == -1 &&
	    e.kind == ERR_CONFIG);
	CHECK(sasl_start("CRAM-MD5", "u", "p", "h", 1, NULL, 0, 0, &sa, &e) ==
		  -1 &&
	      e.kind == ERR_CONFIG);
	CHECK(sasl_start("SCRAM-SHA-256-PLUS", "u", "p", "h", 1, NULL, 0, 0,
		  &sa, &e) == -1 &&
	      e.kind == ERR_AUTH);
}

/*
 * A SCRAM server computed here (RFC 5802 section 3), to run the client
 * through a whole exchange: the gs2 header and channel binding it sends,
 * its proof, and whether it checks the server's signature.
 */
struct scram_case {
	const char *mech;
	gnutls_mac_algorithm_t mac;
	gnutls_digest_algorithm_t dig;
	size_t hlen;
	const unsigned char *cb;
	size_t cblen;
	int exporter;
	const char *gs2; /* the header the client must send */
	int tamper;	 /* spoil the server signature */
};

static void
hmac(const struct scram_case *c, const void *key, size_t klen, const char *msg,
    unsigned char *out)
{
	CHECK(gnutls_hmac_fast(c->mac, key, klen, msg, strlen(msg), out) == 0);
}

/* Check the client proof in cfinal and return the server-final message. */
static char *
scram_server_final(const struct scram_case *c, const char *bare,
    const char *sfirst, const char *cfinal, const unsigned char *salt)
{
	gnutls_datum_t pw = {(unsigned char *)(uintptr_t) "pencil", 6};
	gnutls_datum_t sd = {(unsigned char *)(uintptr_t)salt, 8};
	unsigned char salted[32], ck[32], sk[32], stored[32], csig[32],
	    ssig[32], proof[32];
	const char *p = strstr(cfinal, ",p=");
	char authmsg[1024], sf[128];
	char *got, *s64;
	size_t i, n;

	CHECK(p != NULL);
	CHECK(gnutls_pbkdf2(c->mac, &pw, &sd, 4096, salted, c->hlen) == 0);
	snprintf(authmsg, sizeof(authmsg), "%s,%s,%.*s", bare, sfirst,
	    (int)(p - cfinal), cfinal);
	hmac(c, salted, c->hlen, "Client Key", ck);
	CHECK(gnutls_hash_fast(c->dig, ck, c->hlen, stored) == 0);
	hmac(c, stored, c->hlen, authmsg, csig);
	for (i = 0; i < c->hlen; i++)
		proof[i] = ck[i] ^ csig[i];
	got = unb64(p + 3, &n);
	CHECK(n == c->hlen && memcmp(got, proof, c->hlen) == 0);
	free(got);
	hmac(c, salted, c->hlen, "Server Key", sk);
	hmac(c, sk, c->hlen, authmsg, ssig);
	if (c->tamper)
		ssig[0] ^= 1;
	s64 = b64(ssig, c->hlen);
	snprintf(sf, sizeof(sf), "v=%s", s64);
	free(s64);
	return b64(sf, strlen(sf));
}

/* c= is base64(gs2 header + channel binding data, for -PLUS only). */
static void
check_cbind(const struct scram_case *c, const char *cfinal)
{
	size_t n = c->gs2[0] == 'p' ? c->cblen : 0, h = strlen(c->gs2);
	char *hdr = xcalloc(1, h + n + 1), *want;

	memcpy(hdr, c->gs2, h);
	if (n > 0)
		memcpy(hdr + h, c->cb, n);
	want = b64(hdr, h + n);
	CHECK(strncmp(cfinal, "c=", 2) == 0 &&
	      strncmp(cfinal + 2, want, strlen(want)) == 0 &&
	      cfinal[2 + strlen(want)] == ',');
	if (strncmp(cfinal + 2, want, strlen(want)) != 0)
		fprintf(stderr, "  %s: [%s] want c=%s\n", c->mech, cfinal,
		    want);
	free(hdr);
	free(want);
}

/* Run the exchange; returns the result of the final step. */
static int
scram_run(const struct scram_case *c, int *complete)
{
	static const unsigned char salt[8] = "saltsalt";
	struct sasl *sa = NULL;
	struct err e;
	char *cf, *cfinal, *s64, *salt64, *sfinal64;
	char sfirst[256];
	const char *bare;
	size_t n;
	int rc = -1;

	if (sasl_start(c->mech, "user", "pencil", "h", 587, c->cb, c->cblen,
		c->exporter, &sa, &e) == -1)
		return -1;
	cf = step_dec(sa, NULL, &n, &rc);
	CHECK(strncmp(cf, c->gs2, strlen(c->gs2)) == 0);
	bare = cf + strlen(c->gs2);
	CHECK(strncmp(bare, "n=user,r=", 9) == 0);
	salt64 = b64(salt, sizeof(salt));
	snprintf(sfirst, sizeof(sfirst), "r=%sSERVERNONCE,s=%s,i=4096",
	    bare + 9, salt64);
	s64 = b64(sfirst, strlen(sfirst));
	cfinal = step_dec(sa, s64, &n, &rc);
	CHECK(rc == 0 && !sasl_complete(sa));
	check_cbind(c, cfinal);
	sfinal64 = scram_server_final(c, bare, sfirst, cfinal, salt);
	free(step_dec(sa, sfinal64, &n, &rc));
	*complete = sasl_complete(sa);
	free(sfinal64);
	free(cfinal);
	free(s64);
	free(salt64);
	free(cf);
	sasl_free(sa);
	return rc;
}

static void
test_scram(void)
{
	static const unsigned char cb[32] = "0123456789abcdef0123456789abcdef";
	static const struct scram_case cases[] = {
	    {"SCRAM-SHA-256", GNUTLS_MAC_SHA256, GNUTLS_DIG_SHA256, 32, NULL, 0,
		0, "n,,", 0},
	    {"SCRAM-SHA-1", GNUTLS_MAC_SHA1, GNUTLS_DIG_SHA1, 20, NULL, 0, 0,
		"n,,", 0},
	    /* Binding data offered to a non-PLUS mechanism is not used. */
	    {"SCRAM-SHA-256", GNUTLS_MAC_SHA256, GNUTLS_DIG_SHA256, 32, cb, 32,
		1, "n,,", 0},
	    {"SCRAM-SHA-256-PLUS", GNUTLS_MAC_SHA256, GNUTLS_DIG_SHA256, 32, cb,
		32, 1, "p=tls-exporter,,", 0},
	    {"SCRAM-SHA-256-PLUS", GNUTLS_MAC_SHA256, GNUTLS_DIG_SHA256, 32, cb,
		12, 0, "p=tls-unique,,", 0},
	    {"SCRAM-SHA-1-PLUS", GNUTLS_MAC_SHA1, GNUTLS_DIG_SHA1, 20, cb, 32,
		1, "p=tls-exporter,,", 0},
	    {"SCRAM-SHA-256", GNUTLS_MAC_SHA256, GNUTLS_DIG_SHA256, 32, NULL, 0,
		0, "n,,", 1},
	    {"SCRAM-SHA-256-PLUS", GNUTLS_MAC_SHA256, GNUTLS_DIG_SHA256, 32, cb,
		32, 1, "p=tls-exporter,,", 1},
	};
	size_t i;
	int complete, rc;

	for (i = 0; i < N(cases); i++) {
		complete = -1;
		rc = scram_run(&cases[i], &complete);
		if (cases[i].tamper) {
			CHECK(rc == -1 && complete == 0);
		} else {
			CHECK(rc == 0 && complete == 1);
		}
		if ((rc == 0) == (cases[i].tamper != 0))
			fprintf(stderr, "  scram case %zu: rc %d\n", i, rc);
	}
}

/* ---- TLS parameters ---- */

static const struct {
	const char *in;
	int ok;
} fps[] = {
    {"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", 0},
    {"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
     "55:66:77:88:99:AA:BB:CC:DD:EE:FF",
	0},
    {"00112233445566778899aabbccddeeff00112233445566778899aabbccddeef", -1},
    {"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
     "0",
	-1},
    {"00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg", -1},
    {"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
     "55:66:77:88:99:AA:BB:CC:DD:EE:FF:",
	-1},
    {":00112233445566778899aabbccddeeff00112233445566778899aabbccddeef"
     "f",
	-1},
    {"00::112233445566778899aabbccddeeff00112233445566778899aabbccddeef"
     "f",
	-1},
    {"", -1},
};

static void
test_fingerprints(void)
{
	unsigned char fp[32];
	size_t i;

	for (i = 0; i < N(fps); i++)
		CHECK(tls_parse_fingerprint(fps[i].in, fp) == fps[i].ok);
	CHECK(tls_parse_fingerprint(fps[1].in, fp) == 0 && fp[0] == 0 &&
	      fp[10] == 0xaa && fp[31] == 0xff);
}

static void
test_tls_params(void)
{
	struct tls_params p;
	struct tls *t = NULL;
	struct err e;

	memset(&p, 0, sizeof(p));
	p.host = "mx.example.org";
	p.certcheck = 0;
	CHECK(tls_new(-1, &p, &t, &e) == -1 && e.kind == ERR_CONFIG);
	p.fingerprint = "zz";
	CHECK(tls_new(-1, &p, &t, &e) == -1 && e.kind == ERR_CONFIG);
	p.fingerprint = fps[0].in;
	CHECK(tls_new(-1, &p, &t, &e) == 0);
	tls_free(t);
	p.cert_file = "/nonexistent.pem";
	CHECK(tls_new(-1, &p, &t, &e) == -1 && e.kind == ERR_CONFIG);
	p.cert_file = NULL;
	p.priorities = "NORMAL:+BOGUS-THING";
	CHECK(tls_new(-1, &p, &t, &e) == -1 && e.kind == ERR_CONFIG);
	p.priorities = "NORMAL";
	CHECK(tls_new(-1, &p, &t, &e) == 0);
	tls_free(t);
	p.certcheck = 1;
	p.priorities = NULL;
	p.trust_file = "/nonexistent-ca.pem";
	CHECK(tls_new(-1, &p, &t, &e) == -1 && e.kind == ERR_CONFIG);
}

/* ---- scripted servers on loopback ---- */

/*
 * Script ops (run by a forked child on one accepted connection):
 *   's' send arg             'e' read one line, must equal arg
 *   'f' after 200 ms, everything the client sent must equal arg
 *   'd' the data up to and including the lone dot must equal arg
 *   't' send arg one byte per 250 ms (slowloris)
 *   'z' the client must hang up without sending anything more
 *   'q' expect QUIT, answer 221
 * n: bytes of arg for 's' (0: strlen).
 */
struct step {
	char op;
	const char *arg;
	size_t n;
};

#define END                                                                    \
	{                                                                      \
		0, NULL, 0                                                     \
	}

static char cbuf[1 << 16];
static size_t clen;

static int
child_fill(int fd)
{
	ssize_t r;

	if (clen == sizeof(cbuf))
		return -1;
	r = recv(fd, cbuf + clen, sizeof(cbuf) - clen, 0);
	if (r <= 0)
		return -1;
	clen += (size_t)r;
	return 0;
}

static void
child_take(size_t n)
{
	memmove(cbuf, cbuf + n, clen - n);
	clen -= n;
}

static int
child_line(int fd, const char *want)
{
	char *lf;
	size_t n;

	while ((lf = memchr(cbuf, '\n', clen)) == NULL)
		if (child_fill(fd) == -1)
			return -1;
	n = (size_t)(lf - cbuf) + 1;
	if (n < 2 || cbuf[n - 2] != '\r' || n - 2 != strlen(want) ||
	    memcmp(cbuf, want, n - 2) != 0) {
		fprintf(stderr, "  server: want [%s], got [%.*s]\n", want,
		    (int)(n - 1), cbuf);
		return -1;
	}
	child_take(n);
	return 0;
}

static int
child_data(int fd, const char *want)
{
	char *end;
	size_t n;

	for (;;) {
		if (clen >= 3 && memcmp(cbuf, ".\r\n", 3) == 0) {
			n = 3;
			break;
		}
		if ((end = memmem(cbuf, clen, "\r\n.\r\n", 5)) != NULL) {
			n = (size_t)(end - cbuf) + 5;
			break;
		}
		if (child_fill(fd) == -1)
			return -1;
	}
	if (n != strlen(want) || memcmp(cbuf, want, n) != 0) {
		fprintf(stderr, "  server: data [%.*s]\n", (int)n, cbuf);
		return -1;
	}
	child_take(n);
	return 0;
}

static int
child_flight(int fd, const char *want)
{
	ssize_t r;
	int waited;

	/* Wait (up to 10 s, for loaded machines) for as much as is wanted,
	 * then 100 ms more for anything the client should not have sent. */
	for (waited = 0; clen < strlen(want) && waited < 1000; waited++) {
		usleep(10000);
		while ((r = recv(fd, cbuf + clen, sizeof(cbuf) - clen,
			    MSG_DONTWAIT)) > 0)
			clen += (size_t)r;
	}
	usleep(100000);
	while (
	    (r = recv(fd, cbuf + clen, sizeof(cbuf) - clen, MSG_DONTWAIT)) > 0)
		clen += (size_t)r;
	if (clen != strlen(want) || memcmp(cbuf, want, clen) != 0) {
		fprintf(stderr, "  server: flight [%.*s]\n", (int)clen, cbuf);
		return -1;
	}
	clen = 0;
	return 0;
}

static int
child_step(int fd, const struct step *st)
{
	size_t i, n = st->n ? st->n : (st->arg ? strlen(st->arg) : 0);

	switch (st->op) {
	case 's':
		return send(fd, st->arg, n, 0) == (ssize_t)n ? 0 : -1;
	case 't':
		for (i = 0; i < n; i++) {
			if (send(fd, st->arg + i, 1, 0) != 1)
				return 0; /* the client gave up: fine */
			usleep(250000);
		}
		return 0;
	case 'e':
		return child_line(fd, st->arg);
	case 'f':
		return child_flight(fd, st->arg);
	case 'd':
		return child_data(fd, st->arg);
	case 'q':
		if (child_line(fd, "QUIT") == -1)
			return -1;
		return send(fd, "221 bye\r\n", 9, 0) == 9 ? 0 : -1;
	case 'z':
		/* EOF, not a timeout: the client must really hang up. */
		if (clen == 0 && recv(fd, cbuf, sizeof(cbuf), 0) == 0)
			return 0;
		fprintf(stderr, "  server: client did not hang up\n");
		return -1;
	}
	return -1;
}

static void
child_run(int lfd, const struct step *script)
{
	struct timeval tv = {5, 0};
	int fd;

	alarm(20);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(2);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	clen = 0;
	for (; script->op != 0; script++)
		if (child_step(fd, script) == -1) {
			fprintf(stderr, "  server: step '%c' failed\n",
			    script->op);
			_exit(1);
		}
	close(fd);
	_exit(0);
}

static int
listen_any(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		fatal("listen: %s", strerror(errno));
	*port = ntohs(sin.sin_port);
	return fd;
}

static pid_t
serve(const struct step *script, unsigned *port)
{
	int lfd = listen_any(port);
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid == 0)
		child_run(lfd, script);
	close(lfd);
	return pid;
}

/* 0 if the server's script ran to its end. */
static int
served(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char s_host[] = "127.0.0.1", s_domain[] = "client.example",
	    s_off[] = "off", s_on[] = "on", s_user[] = "user",
	    s_fp[] =
		"0000000000000000000000000000000000000000000000000000000000"
		"000000";

static struct account
account(unsigned port)
{
	struct account a;

	memset(&a, 0, sizeof(a));
	a.hosts[0] = s_host;
	a.nhosts = 1;
	a.port = port;
	a.domain = s_domain;
	a.timeout = 5;
	a.tls = 0;
	a.tls_certcheck = 1;
	a.auth = s_off;
	return a;
}

static int
data_fd(const char *data)
{
	FILE *f = tmpfile();
	int fd;

	if (f == NULL || fputs(data, f) == EOF || fflush(f) == EOF)
		fatal("tmpfile");
	fd = dup(fileno(f));
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static const char *const two_rcpts[] = {"b@y", "c@y"};

static struct smtp_envelope
envelope(void)
{
	struct smtp_envelope env;

	memset(&env, 0, sizeof(env));
	env.from = "a@x";
	env.rcpts = two_rcpts;
	env.nrcpts = 2;
	env.size = 16;
	return env;
}

/* Open, send env with data, close; return smtp_send's result. */
static int
transact(const struct account *a, const struct smtp_envelope *env,
    const char *data, struct err *e, struct smtp_session **keep)
{
	struct smtp_session *s = NULL;
	int fd, r;

	if (smtp_open(a, s_host, NULL, &s, e) == -1)
		return -2;
	fd = data_fd(data);
	r = smtp_send(s, env, fd, NULL, e);
	close(fd);
	if (keep != NULL)
		*keep = s;
	else
		smtp_close(s);
	return r;
}

#define GREET                                                                  \
	{'s', "220 mx.example ESMTP\r\n", 0},                                  \
	{                                                                      \
		'e', "EHLO client.example", 0                                  \
	}

static void
test_pipelined_ok(void)
{
	static const struct step script[] = {GREET,
	    {'s',
		"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
		"250-8BITMIME\r\n250 DSN\r\n",
		0},
	    {'f',
		"MAIL FROM:<a@x> SIZE=16 BODY=8BITMIME RET=HDRS "
		"ENVID=id+2B1\r\nRCPT TO:<b@y> NOTIFY=SUCCESS,FAILURE\r\n"
		"RCPT TO:<c@y> NOTIFY=SUCCESS,FAILURE\r\nDATA\r\n",
		0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
	    {'d', "line\r\n..dot\r\n\xe9\r\n.\r\n", 0},
	    {'s', "250 2.0.0 queued as X\r\n", 0}, {'e', "RSET", 0},
	    {'s', "250 ok\r\n", 0},
	    {'f',
		"MAIL FROM:<> SIZE=16\r\nRCPT TO:<b@y>\r\n"
		"RCPT TO:<c@y>\r\nDATA\r\n",
		0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
	    {'d', ".\r\n", 0}, {'s', "250 again\r\n", 0}, {'q', NULL, 0}, END};
	struct smtp_envelope env = envelope();
	struct smtp_session *s = NULL;
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	struct err e;
	int fd;

	env.body_8bit = 1;
	env.dsn_notify = "SUCCESS,FAILURE";
	env.dsn_return = "HDRS";
	env.dsn_envid = "id+1";
	CHECK(transact(&a, &env, "line\n.dot\r\n\xe9", &e, &s) == 0);
	CHECK(smtp_last_code(s) == 250);
	CHECK_STR(smtp_last_text(s), "2.0.0 queued as X");
	CHECK(smtp_tls_info(s) == NULL && smtp_auth_mech(s) == NULL);
	/* A second transaction on the same connection. */
	CHECK(smtp_reset(s, &e) == 0);
	env = envelope();
	env.from = "";
	fd = data_fd("");
	CHECK(smtp_send(s, &env, fd, NULL, &e) == 0);
	CHECK_STR(smtp_last_text(s), "again");
	close(fd);
	smtp_close(s);
	CHECK(served(pid) == 0);
}

/* BDAT (CHUNKING with PIPELINING): MAIL, the RCPTs, "BDAT n LAST" and
 * the exact bytes (no dot-stuffing) in one flight; replies per
 * recipient; then QUIT, whose 221 is not awaited. */
static int
bdat_case(const struct step *script, struct err *rerr, struct err *e)
{
	struct smtp_envelope env = envelope();
	struct smtp_session *s = NULL;
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	int fd, r = -2;

	if (smtp_open(&a, s_host, NULL, &s, e) == 0) {
		fd = data_fd("line\n.dot\r\n");
		r = smtp_send(s, &env, fd, rerr, e);
		close(fd);
	}
	smtp_close(s);
	CHECK(served(pid) == 0);
	return r;
}

#define BDAT_EHLO                                                              \
	{                                                                      \
		's', "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", 0         \
	}
#define BDAT_FLIGHT                                                            \
	"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"                \
	"BDAT 12 LAST\r\nline\r\n.dot\r\n"

static void
test_bdat(void)
{
	static const struct step one_refused[] = {GREET, BDAT_EHLO,
	    {'f', BDAT_FLIGHT, 0},
	    {'s',
		"250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n"
		"250 2.0.0 queued\r\n",
		0},
	    {'q', NULL, 0}, END};
	static const struct step all_refused[] = {GREET, BDAT_EHLO,
	    {'f', BDAT_FLIGHT, 0},
	    {'s',
		"250 ok\r\n550 no\r\n550 no\r\n554 5.5.1 no valid "
		"recipients\r\n",
		0},
	    {'q', NULL, 0}, END};
	/* A 2xx first line to the LAST chunk means delivered, whatever
	 * follows (S9); the connection is not reused: no QUIT. */
	static const struct step accepted_then_junk[] = {GREET, BDAT_EHLO,
	    {'f', BDAT_FLIGHT, 0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 injected\r\n",
		0},
	    {'z', NULL, 0}, END};
	static const struct step last_refused[] = {GREET, BDAT_EHLO,
	    {'f', BDAT_FLIGHT, 0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n451 4.3.0 try later\r\n", 0},
	    {'q', NULL, 0}, END};
	struct err rerr[2], e;

	CHECK(bdat_case(one_refused, rerr, &e) == 0);
	CHECK(rerr[0].kind == ERR_NONE && rerr[1].kind == ERR_NOUSER);
	CHECK(bdat_case(all_refused, rerr, &e) == -1);
	CHECK(e.kind == ERR_NOUSER && rerr[0].kind == ERR_NOUSER);
	CHECK(bdat_case(accepted_then_junk, rerr, &e) == 0);
	CHECK(rerr[0].kind == ERR_NONE && rerr[1].kind == ERR_NONE);
	CHECK(bdat_case(last_refused, rerr, &e) == -1);
	CHECK(e.kind == ERR_TEMP && e.smtp_code == 451);
}

static void
test_serial_ok(void)
{
	static const struct step script[] = {GREET,
	    {'s', "250-mx\r\n250 8BITMIME\r\n", 0},
	    {'e', "MAIL FROM:<a@x> BODY=8BITMIME", 0}, {'s', "250 ok\r\n", 0},
	    {'e', "RCPT TO:<b@y>", 0}, {'s', "250 ok\r\n", 0},
	    {'e', "RCPT TO:<c@y>", 0}, {'s', "251 forwarded\r\n", 0},
	    {'e', "DATA", 0}, {'s', "354 go\r\n", 0},
	    {'d', "a\r\n..\r\n.\r\n", 0}, {'s', "250 ok\r\n", 0},
	    {'q', NULL, 0}, END};
	struct smtp_envelope env = envelope();
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	struct err e;

	env.body_8bit = 1;
	env.dsn_notify = "NEVER"; /* no DSN offered: warned, left out */
	CHECK(transact(&a, &env, "a\r\n.\r\n", &e, NULL) == 0);
	CHECK(served(pid) == 0);
}

/* The server's script and what smtp_open + smtp_send must report. */
struct failcase {
	const char *name;
	struct step script[16];
	int starttls;	  /* tls on with STARTTLS (fingerprint pinned) */
	unsigned timeout; /* 0: 5 */
	size_t size;	  /* env.size, 0: 16 */
	int utf8;
	const char *rcpt0; /* replaces the first recipient */
	int want_open;	   /* 0: open succeeds; -1: fails */
	enum err_kind kind;
	const char *text; /* a substring of e.text */
};

static const struct failcase failcases[] = {
    {"every rcpt refused, DATA 354: hang up, no dot",
	{GREET, {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f',
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"
		"DATA\r\n",
		0},
	    {'s', "250 ok\r\n550 5.1.1 no such user\r\n553 bad\r\n354 go\r\n",
		0},
	    {'z', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_NOUSER,
	"2 of 2 recipients refused: <b@y>: 550 5.1.1 no such user"},
    {"a 4xx among the refusals: temporary",
	{GREET, {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f',
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"
		"DATA\r\n",
		0},
	    {'s',
		"250 ok\r\n450 4.2.1 busy\r\n550 5.1.1 unknown\r\n"
		"554 no valid recipients\r\n",
		0},
	    {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_TEMP,
	"2 of 2 recipients refused: <b@y>: 450 4.2.1 busy; <c@y>: 550 5.1.1 "
	"unknown"},
    {"all refused without pipelining: no DATA",
	{GREET, {'s', "250 mx\r\n", 0}, {'e', "MAIL FROM:<a@x>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "RCPT TO:<b@y>", 0},
	    {'s', "550 no\r\n", 0}, {'e', "RCPT TO:<c@y>", 0},
	    {'s', "553 bad\r\n", 0}, {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_NOUSER, "<c@y>: 553 bad"},
    {"MAIL refused",
	{GREET, {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f',
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"
		"DATA\r\n",
		0},
	    {'s',
		"550 5.7.1 sender refused\r\n503 need MAIL\r\n"
		"503 need MAIL\r\n554 no\r\n",
		0},
	    {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_PERM,
	"MAIL FROM refused: 550 5.7.1 sender refused"},
    {"MAIL 4xx, serial",
	{GREET, {'s', "250 mx\r\n", 0}, {'e', "MAIL FROM:<a@x>", 0},
	    {'s', "451 later\r\n", 0}, {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_TEMP, "451 later"},
    {"DATA refused",
	{GREET, {'s', "250 mx\r\n", 0}, {'e', "MAIL FROM:<a@x>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "RCPT TO:<b@y>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "RCPT TO:<c@y>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "DATA", 0}, {'s', "554 no\r\n", 0},
	    {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_PERM, "DATA refused: 554 no"},
    {"final dot 451",
	{GREET, {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f',
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"
		"DATA\r\n",
		0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
	    {'d', "x\r\n.\r\n", 0}, {'s', "451 4.3.0 try later\r\n", 0},
	    {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_TEMP, "451 4.3.0 try later"},
    {"final dot 554",
	{GREET, {'s', "250 mx\r\n", 0}, {'e', "MAIL FROM:<a@x>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "RCPT TO:<b@y>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "RCPT TO:<c@y>", 0},
	    {'s', "250 ok\r\n", 0}, {'e', "DATA", 0}, {'s', "354 go\r\n", 0},
	    {'d', "x\r\n.\r\n", 0}, {'s', "554 5.6.0 spam\r\n", 0},
	    {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, 0, ERR_PERM, "554 5.6.0 spam"},
    {"SIZE exceeded: nothing sent",
	{GREET, {'s', "250-mx\r\n250 SIZE 10\r\n", 0}, {'q', NULL, 0}, END}, 0,
	0, 11, 0, NULL, 0, ERR_PERM, "exceeds the server's limit of 10"},
    {"SMTPUTF8 needed, not offered",
	{GREET, {'s', "250-mx\r\n250 8BITMIME\r\n", 0}, {'q', NULL, 0}, END}, 0,
	0, 0, 1, NULL, 0, ERR_PERM, "SMTPUTF8"},
    {"CR in a recipient: nothing sent",
	{GREET, {'s', "250 mx\r\n", 0}, {'q', NULL, 0}, END}, 0, 0, 0, 0,
	"b@y\r\nRSET", 0, ERR_DATA, "forbidden character"},
    {"'>' in a recipient", {GREET, {'s', "250 mx\r\n", 0}, {'q', NULL, 0}, END},
	0, 0, 0, 0, "b@y> NOTIFY=NEVER", 0, ERR_DATA, "forbidden character"},
    {"slowloris greeting: the reply deadline",
	{{'t', "220 a slow, slow greeting\r\n", 0}, END}, 0, 1, 0, 0, NULL, -1,
	ERR_TEMP, "timed out"},
    {"slowloris EHLO reply",
	{GREET, {'t', "250-mx.example\r\n250 PIPELINING\r\n", 0}, END}, 0, 1, 0,
	0, NULL, -1, ERR_TEMP, "reply to EHLO: timed out"},
    {"silent server", {{'z', NULL, 0}, END}, 0, 1, 0, 0, NULL, -1, ERR_TEMP,
	"timed out"},
    {"STARTTLS injection: refused before the handshake",
	{GREET, {'s', "250-mx\r\n250 STARTTLS\r\n", 0}, {'e', "STARTTLS", 0},
	    {'s', "220 go ahead\r\n250 injected\r\n", 0}, {'z', NULL, 0}, END},
	1, 0, 0, 0, NULL, -1, ERR_PROTOCOL, "STARTTLS (injection?)"},
    {"STARTTLS not offered",
	{GREET, {'s', "250-mx\r\n250 AUTH PLAIN\r\n", 0}, {'q', NULL, 0}, END},
	1, 0, 0, 0, NULL, -1, ERR_TEMP, "does not offer STARTTLS"},
    {"STARTTLS 454",
	{GREET, {'s', "250-mx\r\n250 STARTTLS\r\n", 0}, {'e', "STARTTLS", 0},
	    {'s', "454 4.7.0 TLS not available\r\n", 0}, {'q', NULL, 0}, END},
	1, 0, 0, 0, NULL, -1, ERR_TEMP, "454 4.7.0 TLS not available"},
    {"STARTTLS 554 is still temporary",
	{GREET, {'s', "250-mx\r\n250 STARTTLS\r\n", 0}, {'e', "STARTTLS", 0},
	    {'s', "554 no\r\n", 0}, {'q', NULL, 0}, END},
	1, 0, 0, 0, NULL, -1, ERR_TEMP, "554 no"},
    {"malformed greeting", {{'s', "2500 hi\r\n", 0}, {'z', NULL, 0}, END}, 0, 0,
	0, 0, NULL, -1, ERR_PROTOCOL, "malformed reply code"},
    {"NUL in the greeting", {{'s', "220 a\0b\r\n", 9}, {'z', NULL, 0}, END}, 0,
	0, 0, 0, NULL, -1, ERR_PROTOCOL, "NUL in reply"},
    {"greeting 554", {{'s', "554 5.3.2 go away\r\n", 0}, {'q', NULL, 0}, END},
	0, 0, 0, 0, NULL, -1, ERR_PERM, "greeting: 554 5.3.2 go away"},
    {"greeting 421", {{'s', "421 busy\r\n", 0}, {'q', NULL, 0}, END}, 0, 0, 0,
	0, NULL, -1, ERR_TEMP, "421 busy"},
    {"data after the EHLO reply",
	{GREET, {'s', "250 mx\r\n250 extra\r\n", 0}, {'z', NULL, 0}, END}, 0, 0,
	0, 0, NULL, -1, ERR_PROTOCOL, "unexpected data"},
    {"mixed codes",
	{GREET, {'s', "250-mx\r\n251 x\r\n", 0}, {'z', NULL, 0}, END}, 0, 0, 0,
	0, NULL, -1, ERR_PROTOCOL, "code changes"},
    {"connection closed mid-reply", {GREET, {'s', "250-mx\r\n", 0}, END}, 0, 0,
	0, 0, NULL, -1, ERR_TEMP, "closed by the server"},
    {"EHLO 421",
	{GREET, {'s', "421 shutting down\r\n", 0}, {'q', NULL, 0}, END}, 0, 0,
	0, 0, NULL, -1, ERR_TEMP, "EHLO: 421 shutting down"},
};

static void
run_failcase(const struct failcase *fc)
{
	static const char *rcpts[2];
	struct smtp_envelope env = envelope();
	unsigned port;
	pid_t pid = serve(fc->script, &port);
	struct account a = account(port);
	struct timespec t0, t1;
	struct err e;
	int r, st;

	if (fc->starttls) {
		a.tls = a.tls_starttls = 1;
		a.tls_certcheck = 0;
		a.tls_fingerprint = s_fp;
	}
	if (fc->timeout)
		a.timeout = fc->timeout;
	if (fc->size)
		env.size = fc->size;
	env.smtputf8 = fc->utf8;
	if (fc->rcpt0 != NULL) {
		rcpts[0] = fc->rcpt0;
		rcpts[1] = "c@y";
		env.rcpts = rcpts;
	}
	memset(&e, 0, sizeof(e));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = transact(&a, &env, "x\r\n", &e, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(r == (fc->want_open == -1 ? -2 : -1));
	CHECK(e.kind == fc->kind);
	CHECK(strstr(e.text, fc->text) != NULL);
	/* A timeout of 1 s: cut off in time, whatever the server trickles. */
	if (fc->timeout)
		CHECK(t1.tv_sec - t0.tv_sec <= 2);
	/* The timeout cases leave the server mid-script: stop it. */
	if (fc->timeout)
		kill(pid, SIGTERM);
	st = served(pid);
	if (fc->timeout)
		st = 0;
	CHECK(st == 0);
	if (r != (fc->want_open == -1 ? -2 : -1) || e.kind != fc->kind ||
	    strstr(e.text, fc->text) == NULL || st != 0)
		fprintf(stderr, "  case \"%s\": r %d kind %d: %s\n", fc->name,
		    r, e.kind, e.text);
}

static void
test_failcases(void)
{
	size_t i;

	for (i = 0; i < N(failcases); i++)
		run_failcase(&failcases[i]);
}

static void
test_helo_and_lf(void)
{
	static const struct step helo[] = {GREET, {'s', "502 what?\r\n", 0},
	    {'e', "HELO client.example", 0}, {'s', "250 hi\r\n", 0},
	    {'e', "MAIL FROM:<a@x>", 0}, {'s', "250 ok\r\n", 0},
	    {'e', "RCPT TO:<b@y>", 0}, {'s', "250 ok\r\n", 0},
	    {'e', "RCPT TO:<c@y>", 0}, {'s', "250 ok\r\n", 0}, {'e', "DATA", 0},
	    {'s', "354 go\r\n", 0}, {'d', "x\r\n.\r\n", 0},
	    {'s', "250 ok\r\n", 0}, {'q', NULL, 0}, END};
	static const struct step lf[] = {{'s', "220 hi\n", 0},
	    {'e', "EHLO client.example", 0},
	    {'s', "250-mx\n250 PIPELINING\n", 0},
	    {'f',
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"
		"DATA\r\n",
		0},
	    {'s', "250 ok\n250 ok\n250 ok\n354 go\n", 0},
	    {'d', "x\r\n.\r\n", 0}, {'s', "250 ok\n", 0}, {'q', NULL, 0}, END};
	struct smtp_envelope env = envelope();
	unsigned port;
	pid_t pid = serve(helo, &port);
	struct account a = account(port);
	struct err e;

	CHECK(transact(&a, &env, "x", &e, NULL) == 0);
	CHECK(served(pid) == 0);
	pid = serve(lf, &port);
	a.port = port;
	CHECK(transact(&a, &env, "x\n", &e, NULL) == 0);
	CHECK(served(pid) == 0);
}

static void
test_overlong_line(void)
{
	static char line[3100];
	struct step script[] = {{'s', line, 0}, {'z', NULL, 0}, END};
	struct smtp_session *s = NULL;
	unsigned port;
	pid_t pid;
	struct account a;
	struct err e;

	memcpy(line, "220 ", 4);
	memset(line + 4, 'x', 3000);
	memcpy(line + 3004, "\r\n", 3);
	pid = serve(script, &port);
	a = account(port);
	CHECK(smtp_open(&a, s_host, NULL, &s, &e) == -1);
	CHECK(e.kind == ERR_PROTOCOL && strstr(e.text, "longer than 2048"));
	CHECK(served(pid) == 0);
}

/* A read error after 354: hang up rather than end the message. */
static void
test_data_read_error(void)
{
	static const struct step script[] = {GREET,
	    {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f',
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\n"
		"DATA\r\n",
		0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
	    {'z', NULL, 0}, END};
	struct smtp_envelope env = envelope();
	struct smtp_session *s = NULL;
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	struct err e;
	int fd = open("/", O_RDONLY); /* read() gives EISDIR */

	CHECK(smtp_open(&a, s_host, NULL, &s, &e) == 0);
	CHECK(smtp_send(s, &env, fd, NULL, &e) == -1 && e.kind == ERR_IO);
	CHECK(smtp_send(s, &env, fd, NULL, &e) == -1 && e.kind == ERR_TEMP);
	close(fd);
	smtp_close(s);
	CHECK(served(pid) == 0);
}

/* Pipelined: one refused recipient; the other gets the message. */
#define TWO_RCPT_FLIGHT                                                        \
	"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n"

static void
test_partial_rcpts(void)
{
	static const struct step script[] = {GREET,
	    {'s', "250-mx\r\n250 PIPELINING\r\n", 0}, {'f', TWO_RCPT_FLIGHT, 0},
	    {'s', "250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n",
		0},
	    {'d', "x\r\n.\r\n", 0}, {'s', "250 2.0.0 queued\r\n", 0},
	    {'q', NULL, 0}, END};
	static const struct step serial[] = {GREET, {'s', "250 mx\r\n", 0},
	    {'e', "MAIL FROM:<a@x>", 0}, {'s', "250 ok\r\n", 0},
	    {'e', "RCPT TO:<b@y>", 0}, {'s', "250 ok\r\n", 0},
	    {'e', "RCPT TO:<c@y>", 0},
	    {'s', "452 4.5.3 too many recipients\r\n", 0}, {'e', "DATA", 0},
	    {'s', "354 go\r\n", 0}, {'d', "x\r\n.\r\n", 0},
	    {'s', "250 ok\r\n", 0}, {'q', NULL, 0}, END};
	struct smtp_envelope env = envelope();
	struct smtp_session *s = NULL;
	struct err e, rerr[2];
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	int fd;

	CHECK(smtp_open(&a, s_host, NULL, &s, &e) == 0);
	fd = data_fd("x\r\n");
	CHECK(smtp_send(s, &env, fd, rerr, &e) == 0);
	CHECK(rerr[0].kind == ERR_NOUSER && rerr[0].smtp_code == 550);
	CHECK(strstr(rerr[0].text, "<b@y> refused: 550 5.1.1 no such user"));
	CHECK(!smtp_rcpt_retry_now(&rerr[0]));
	CHECK(rerr[1].kind == ERR_NONE);
	close(fd);
	smtp_close(s);
	CHECK(served(pid) == 0);

	pid = serve(serial, &port);
	a.port = port;
	CHECK(smtp_open(&a, s_host, NULL, &s, &e) == 0);
	fd = data_fd("x\r\n");
	CHECK(smtp_send(s, &env, fd, rerr, &e) == 0);
	CHECK(rerr[0].kind == ERR_NONE);
	CHECK(rerr[1].kind == ERR_TEMP && smtp_rcpt_retry_now(&rerr[1]));
	close(fd);
	smtp_close(s);
	CHECK(served(pid) == 0);
}

/*
 * A well-formed 2xx first line after the final dot: delivered, whatever
 * follows it; the session is then unusable (no RSET, no QUIT).  A reply
 * whose first line is not a 2xx reply line is not.
 */
static void
dot_case(const char *reply, size_t n, int want, enum err_kind kind)
{
	struct step script[] = {GREET, {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f', TWO_RCPT_FLIGHT, 0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
	    {'d', "x\r\n.\r\n", 0}, {'s', reply, n}, END};
	struct smtp_envelope env = envelope();
	struct smtp_session *s = NULL;
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	struct err e, rerr[2];
	int fd, r;

	memset(&e, 0, sizeof(e));
	CHECK(smtp_open(&a, s_host, NULL, &s, &e) == 0);
	fd = data_fd("x\r\n");
	r = smtp_send(s, &env, fd, rerr, &e);
	CHECK(r == want);
	if (r != want)
		fprintf(stderr, "  dot case [%.40s]: %d %s\n", reply, r,
		    e.text);
	if (want == 0)
		CHECK(rerr[0].kind == ERR_NONE && rerr[1].kind == ERR_NONE &&
		      smtp_last_code(s) / 100 == 2);
	else
		CHECK(e.kind == kind);
	if (want != 0 && e.kind != kind)
		fprintf(stderr, "  dot case [%.40s]: kind %d\n", reply, e.kind);
	CHECK(smtp_reset(s, &e) == -1 && e.kind == ERR_TEMP);
	close(fd);
	smtp_close(s);
	CHECK(served(pid) == 0);
}

static void
test_dot_accepted(void)
{
	static char many[200 * 12 + 16], longl[3100];
	size_t o = 0, i;

	for (i = 0; i < 150; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o,
		    "250-line %zu\r\n", i);
	o += (size_t)snprintf(many + o, sizeof(many) - o, "250 last\r\n");
	memcpy(longl, "250 ok\r\n250 ", 12);
	memset(longl + 12, 'x', 3000);
	memcpy(longl + 3012, "\r\n", 3);
	dot_case("250 ok\r\n250 injected\r\n", 0, 0, ERR_NONE);
	dot_case(many, 0, 0, ERR_NONE);
	dot_case("250 ok\0 hidden\r\n", 16, 0, ERR_NONE);
	dot_case(longl, 0, 0, ERR_NONE);
	dot_case("250-ok\r\n", 0, 0, ERR_NONE); /* then the server hangs up */
	dot_case("2500 bad code shape\r\n", 0, -1, ERR_PROTOCOL);
	dot_case(longl + 8, 0, -1, ERR_PROTOCOL); /* the first line too long */
	dot_case("451 4.3.0 later\r\n250 x\r\n", 0, -1, ERR_PROTOCOL);
	dot_case("451 4.3.0 later\r\n", 0, -1, ERR_TEMP);
}

/* The reply to the final dot waits timeout_data_end, not timeout. */
static void
test_data_end_timeout(void)
{
	static const struct step script[] = {GREET,
	    {'s', "250-mx\r\n250 PIPELINING\r\n", 0}, {'f', TWO_RCPT_FLIGHT, 0},
	    {'s', "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
	    {'d', "x\r\n.\r\n", 0}, {'t', "250 ok\r\n", 0}, {'q', NULL, 0},
	    END};
	struct smtp_envelope env = envelope();
	unsigned port;
	pid_t pid = serve(script, &port);
	struct account a = account(port);
	struct err e;

	a.timeout = 1; /* the reply trickles in for 2 s */
	a.timeout_data_end = 4;
	CHECK(transact(&a, &env, "x\r\n", &e, NULL) == 0);
	CHECK(served(pid) == 0);
}

/* 250 recipients pipelined: flights of at most 100 commands, each
 * flight's replies read before the next is written. */
static void
test_flights(void)
{
	static char f1[8192], f2[8192], f3[8192], r1[4096], r2[4096], r3[4096];
	static char addr[250][16];
	static const char *rcpts[250];
	struct step script[] = {GREET, {'s', "250-mx\r\n250 PIPELINING\r\n", 0},
	    {'f', f1, 0}, {'s', r1, 0}, {'f', f2, 0}, {'s', r2, 0},
	    {'f', f3, 0}, {'s', r3, 0}, {'d', "x\r\n.\r\n", 0},
	    {'s', "250 ok\r\n", 0}, {'q', NULL, 0}, END};
	struct smtp_envelope env = envelope();
	size_t i, o1, o2 = 0, o3 = 0, p1, p2 = 0, p3 = 0;
	unsigned port;
	pid_t pid;
	struct account a;
	struct err e;

	o1 = (size_t)snprintf(f1, sizeof(f1), "MAIL FROM:<a@x>\r\n");
	p1 = (size_t)snprintf(r1, sizeof(r1), "250 ok\r\n");
	for (i = 0; i < 250; i++) {
		snprintf(addr[i], sizeof(addr[i]), "r%zu@y", i);
		rcpts[i] = addr[i];
		if (i < 99) {
			o1 += (size_t)snprintf(f1 + o1, sizeof(f1) - o1,
			    "RCPT TO:<%s>\r\n", addr[i]);
			p1 += (size_t)snprintf(r1 + p1, sizeof(r1) - p1,
			    "250 ok\r\n");
		} else if (i < 199) {
			o2 += (size_t)snprintf(f2 + o2, sizeof(f2) - o2,
			    "RCPT TO:<%s>\r\n", addr[i]);
			p2 += (size_t)snprintf(r2 + p2, sizeof(r2) - p2,
			    "250 ok\r\n");
		} else {
			o3 += (size_t)snprintf(f3 + o3, sizeof(f3) - o3,
			    "RCPT TO:<%s>\r\n", addr[i]);
			p3 += (size_t)snprintf(r3 + p3, sizeof(r3) - p3,
			    "250 ok\r\n");
		}
	}
	snprintf(f3 + o3, sizeof(f3) - o3, "DATA\r\n");
	snprintf(r3 + p3, sizeof(r3) - p3, "354 go\r\n");
	pid = serve(script, &port);
	a = account(port);
	env.rcpts = rcpts;
	env.nrcpts = 250;
	CHECK(transact(&a, &env, "x\r\n", &e, NULL) == 0);
	CHECK(served(pid) == 0);
}

/* Credentials without TLS: refused before connecting. */
static void
test_no_tls_auth(void)
{
	unsigned port;
	int lfd = listen_any(&port);
	struct account a = account(port);
	struct smtp_session *s = NULL;
	struct err e;

	a.auth = s_on;
	a.user = s_user;
	CHECK(smtp_open(&a, s_host, "secret", &s, &e) == -1);
	CHECK(e.kind == ERR_CONFIG && strstr(e.text, "without TLS"));
	a.auth = NULL; /* "choose" with a user: the same */
	CHECK(smtp_open(&a, s_host, "secret", &s, &e) == -1);
	CHECK(e.kind == ERR_CONFIG);
	a.user = NULL;
	a.auth = s_on;
	CHECK(smtp_open(&a, s_host, "secret", &s, &e) == -1);
	CHECK(e.kind == ERR_CONFIG);
	/* Nobody connected. */
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	CHECK(accept(lfd, NULL, NULL) == -1 && errno == EAGAIN);
	close(lfd);
}

static void
test_connect_refused(void)
{
	unsigned port;
	int lfd = listen_any(&port);
	struct account a = account(port);
	struct smtp_session *s = NULL;
	struct err e;

	close(lfd);
	CHECK(smtp_open(&a, s_host, NULL, &s, &e) == -1);
	CHECK(e.kind == ERR_TEMP && strstr(e.text, "refused"));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 99;
	log_init("test_smtp");
	signal(SIGPIPE, SIG_IGN);
	test_split();
	test_replies();
	test_reply_limits();
	test_ehlo();
	test_dots();
	test_dots_random();
	test_crlf();
	test_bdat();
	test_xtext();
	test_choose();
	test_sasl_plain_login();
	test_sasl_bearer();
	test_sasl_refusals();
	test_scram();
	test_fingerprints();
	test_tls_params();
	test_pipelined_ok();
	test_serial_ok();
	test_failcases();
	test_helo_and_lf();
	test_overlong_line();
	test_data_read_error();
	test_partial_rcpts();
	test_dot_accepted();
	test_data_end_timeout();
	test_flights();
	test_no_tls_auth();
	test_connect_refused();
	return check_done();
}
