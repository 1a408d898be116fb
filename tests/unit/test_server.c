/*
 * Unit tests for server.c (-bs): the verb and path parsers as tables, and
 * whole dialogues without DATA through server_run() on pipes (the reply
 * table, the order of commands, the error limit, over-long lines).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "server.h"

/* (line, verb or NULL for unknown, argument) */
static const struct {
	const char *line;
	const char *verb;
	const char *arg;
} verbs[] = {
    {"EHLO client.example", "EHLO", "client.example"},
    {"ehlo   x", "EHLO", "x"},
    {"MAIL FROM:<a@b>", "MAIL", "FROM:<a@b>"},
    {"QUIT", "QUIT", ""},
    {"VRFY root", "VRFY", "root"},
    {"STARTTLS", "STARTTLS", ""},
    {"MAILFROM:<a@b>", NULL, ""},
    {"", NULL, ""},
    {" NOOP", NULL, "NOOP"},
    {"NOOPS", NULL, ""},
};

static void
test_verbs(void)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *arg = NULL;
		int v = server_parse_verb(verbs[i].line, strlen(verbs[i].line),
		    &arg);
		if (verbs[i].verb == NULL)
			CHECK(v == -1);
		else
			CHECK(v >= 0);
		if (verbs[i].verb != NULL || arg != NULL)
			CHECK_STR(arg, verbs[i].arg);
	}
}

/* (argument after "FROM:", address or "!" refused, parameters) */
static const struct {
	const char *arg;
	const char *addr;
	const char *params;
} paths[] = {
    {"<a@example.org>", "a@example.org", ""},
    {" <a@example.org> BODY=8BITMIME", "a@example.org", "BODY=8BITMIME"},
    {"<>", "", ""},
    {"<@relay.example,@b.example:a@example.org>", "a@example.org", ""},
    {"<\"a>b\"@example.org> SIZE=1", "\"a>b\"@example.org", "SIZE=1"},
    {"<\"a\\\"b\"@example.org>", "\"a\\\"b\"@example.org", ""},
    {"a@example.org", "!", NULL},
    {"<a@example.org", "!", NULL},
    {"<@relay.example a@example.org>", "!", NULL},
    {"", "!", NULL},
};

static void
test_paths(void)
{
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *addr = NULL;
		const char *params = NULL;
		const char *why =
		    server_parse_path(paths[i].arg, &addr, &params);
		if (strcmp(paths[i].addr, "!") == 0) {
			CHECK(why != NULL);
			CHECK(addr == NULL);
		} else {
			CHECK(why == NULL);
			CHECK_STR(addr, paths[i].addr);
			CHECK_STR(params, paths[i].params);
		}
		free(addr);
	}
}

/* Run a dialogue: input bytes in, replies out (CRLF removed, one line
 * each, joined by '|'). */
static int
dialogue(const char *in, size_t n, struct buf *out, struct err *e)
{
	struct opts o;
	struct config cfg;
	char tmpl[] = "/tmp/test_server.XXXXXX", chunk[4096];
	int p[2], fd, r;
	ssize_t got;

	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	if (pipe(p) == -1 || (fd = mkstemp(tmpl)) == -1)
		return -1;
	unlink(tmpl);
	if (write(p[1], in, n) != (ssize_t)n)
		return -1;
	close(p[1]);
	r = server_run(&o, &cfg, p[0], fd, e);
	close(p[0]);
	lseek(fd, 0, SEEK_SET);
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk, (size_t)got);
	close(fd);
	return r;
}

static void
test_dialogues(void)
{
	static const struct {
		const char *in;
		const char *want; /* reply codes, space-separated */
		int rc;
	} rows[] = {
	    {"QUIT\r\n", "220 221", 0},
	    {"", "220", 0},
	    {"NOOP\r\nHELO\r\nHELO x\r\nRSET\r\nQUIT\r\n",
		"220 250 501 250 250 221", 0},
	    {"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
		"220 503 503 503", 0},
	    {"EHLO x\r\nRCPT TO:<c@d.example>\r\nMAIL FROM:<a@b.example>\r\n"
	     "MAIL FROM:<a@b.example>\r\nDATA\r\nRCPT TO:<>\r\n"
	     "RCPT TO:<c@d.example> NOTIFY=NEVER\r\nMAIL x\r\n",
		"220 250 503 250 503 503 501 555 503", -1},
	    {"EHLO x\r\nMAIL FROM:<a@b.example> FOO=1\r\n"
	     "MAIL FROM:<bad addr@b.example>\r\nMAIL FROM:<a@b.example>\r\n"
	     "RCPT TO:<c@d.example>\r\n",
		"220 250 555 501 250 250", -1},
	    {"EXPN x\r\nTURN\r\nnonsense\r\n\r\n", "220 502 502 500 500", 0},
	    {"NO\x00OP\r\nNOOP\n", "220 500 250", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf out, codes;
		struct err e = {0};
		size_t n = strlen(rows[i].in), off;
		int r;

		if (i == sizeof(rows) / sizeof(rows[0]) - 1)
			n = 12; /* the row with a NUL */
		buf_init(&out, 1 << 20);
		buf_init(&codes, 4096);
		r = dialogue(rows[i].in, n, &out, &e);
		for (off = 0; out.data != NULL && off < out.len;) {
			const char *lf =
			    memchr(out.data + off, '\n', out.len - off);
			if (lf == NULL)
				break;
			if (out.data[off + 3] == ' ')
				buf_printf(&codes, "%s%.3s",
				    codes.len ? " " : "", out.data + off);
			off = (size_t)(lf - out.data) + 1;
		}
		CHECK_STR(codes.data != NULL ? codes.data : "", rows[i].want);
		CHECK(r == rows[i].rc);
		buf_reset(&out);
		buf_reset(&codes);
	}
}

/* Over-long lines, and the error limit. */
static void
test_limits(void)
{
	struct buf in, out;
	struct err e = {0};
	int i;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_addstr(&in, "NOOP ");
	for (i = 0; i < 5000; i++)
		buf_addch(&in, 'x');
	buf_addstr(&in, "\r\nNOOP\r\n");
	for (i = 0; i < 30; i++)
		buf_addstr(&in, "BAD\r\n");
	CHECK(dialogue(in.data, in.len, &out, &e) == 0);
	CHECK(out.data != NULL &&
	      strstr(out.data, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n"));
	CHECK(out.data != NULL &&
	      strstr(out.data, "421 4.7.0 Too many errors, closing\r\n"));
	/* 20 errors in all: the long line and 19 BADs, then 421. */
	CHECK(out.data != NULL && strstr(out.data, "421") != NULL &&
	      strstr(strstr(out.data, "421"), "500") == NULL);
	buf_reset(&in);
	buf_reset(&out);
}

int
main(void)
{
	test_verbs();
	test_paths();
	test_dialogues();
	test_limits();
	return check_done();
}
