/*
 * Unit tests for aliases.c (the parser, loop detection, expansion) and
 * addr_qualify_header() (cron's "To: root"): tables of (input, expected).
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "aliases.h"
#include "buf.h"
#include "check.h"
#include "err.h"

/* (file text, expected error substring or NULL) */
static const struct {
	const char *text;
	const char *err;
} parse_rows[] = {
    {"", NULL},
    {"# only a comment\n\n   \n", NULL},
    {"root: admin@example.org\n", NULL},
    {"root : admin@example.org, alice\nalice: a@example.net\n", NULL},
    {"root: a@example.org,\n  b@example.org,\n\tc@example.org\n", NULL},
    {"root: a@example.org # trailing comment\n", NULL},
    {"root: <a@example.org>\n", NULL},
    {"default: catchall@example.org\n", NULL},
    {"Root: a@example.org\r\n", "t:1: carriage return (CR) in the line"},
    {"root: a@exa\rmple.org\n", "t:1: carriage return"},
    {"root: a@example.org\nroot: b@example.org\n",
	"t:2: duplicate alias 'root' (first on line 1)"},
    {"root: a@example.org\nROOT: b@example.org\n", "t:2: duplicate alias"},
    {"root a@example.org\n", "t:1: expected 'name: address, ...'"},
    {"  b@example.org\n", "t:1: continuation line without an entry"},
    {"ro ot: a@example.org\n", "t:1: invalid alias name 'ro ot'"},
    {": a@example.org\n", "t:1: invalid alias name"},
    {"root:\n", "t:1: no addresses for 'root'"},
    {"root: , ,\n", "t:1: no addresses for 'root'"},
    {"root: :include:/etc/mail/list\n", "t:1: :include: is not supported"},
    {"root: |/usr/bin/procmail\n", "t:1: delivery to a command"},
    {"root: /var/mail/root\n", "t:1: delivery to a file"},
    {"root: \"|cmd\"\n", "t:1: delivery to a command or file"},
    {"root: a b@example.org\n", "t:1: invalid address 'a b@example.org'"},
    {"root: a@\n", "t:1: invalid address 'a@' for 'root'"},
    {"x: y\n\n\nroot: a@b@c\n", "t:4: invalid address"},
    {"root: root\n", "t:1: alias loop: root -> root"},
    {"a: b\nb: c\nc: a\n", "alias loop: a -> b -> c -> a"},
    {"a: b@localhost\nb: a\n", "alias loop: a -> b -> a"},
    {"a: x@example.org\nb: a\n", NULL},
};

static void
test_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const char *text = parse_rows[i].text;
		size_t n = strlen(text);
		struct aliases *al = NULL;
		struct err e = {0};
		int r;

		r = aliases_parse("t", text, n, &al, &e);
		if (parse_rows[i].err == NULL) {
			if (r != 0)
				fprintf(stderr, "row %zu: %s\n", i, e.text);
			CHECK(r == 0);
		} else {
			CHECK(r == -1);
			CHECK(e.kind == ERR_CONFIG);
			if (strstr(e.text, parse_rows[i].err) == NULL)
				fprintf(stderr, "row %zu: got [%s] want [%s]\n",
				    i, e.text, parse_rows[i].err);
			CHECK(strstr(e.text, parse_rows[i].err) != NULL);
		}
		aliases_free(al);
	}
}

static void
test_nul(void)
{
	static const char text[] = "root: a@exa\0mple.org\n";
	struct aliases *al = NULL;
	struct err e = {0};

	CHECK(aliases_parse("t", text, sizeof(text) - 1, &al, &e) == -1);
	CHECK(strstr(e.text, "t:1: NUL byte in the line") != NULL);
	CHECK(al == NULL);
}

static const char aliases_file[] =
    "# test aliases\n"
    "root:       admin@example.org, alice\n"
    "postmaster: root\n"
    "alice:      alice@example.net,\n"
    "            alice@example.com\n"
    "bob:        bob@example.org # work address\n"
    "list:       root, bob, carol\n"
    "default:    catchall@example.org\n";

/* (recipient, expected addresses joined by " ") */
static const struct {
	const char *rcpt;
	const char *want;
} expand_rows[] = {
    {"root", "admin@example.org alice@example.net alice@example.com"},
    {"ROOT", "admin@example.org alice@example.net alice@example.com"},
    {"root@localhost", "admin@example.org alice@example.net alice@example.com"},
    {"root@vm", "admin@example.org alice@example.net alice@example.com"},
    {"root@VM.example.test",
	"admin@example.org alice@example.net alice@example.com"},
    {"postmaster", "admin@example.org alice@example.net alice@example.com"},
    {"bob@localhost", "bob@example.org"},
    /* carol has no entry: inside a list she stays a bare name for the
     * caller to qualify; default applies only to the recipient itself */
    {"list", "admin@example.org alice@example.net alice@example.com "
	     "bob@example.org carol"},
    {"nobody", "catchall@example.org"},
    {"nobody@localhost", "catchall@example.org"},
    /* not local: untouched */
    {"root@example.org", "root@example.org"},
    {"bob@elsewhere.example", "bob@elsewhere.example"},
};

static void
test_expand(void)
{
	static const char *const doms[] = {"localhost", "vm", "vm.example.test",
	    NULL};
	struct aliases *al = NULL;
	struct err e = {0};
	size_t i, j;

	CHECK(aliases_parse("a", aliases_file, strlen(aliases_file), &al, &e) ==
	      0);
	CHECK(aliases_count(al) == 6);
	for (i = 0;
	     al != NULL && i < sizeof(expand_rows) / sizeof(expand_rows[0]);
	     i++) {
		struct addr_list l = {0};
		struct buf b;

		buf_init(&b, 4096);
		CHECK(
		    aliases_expand(al, expand_rows[i].rcpt, doms, &l, &e) == 0);
		for (j = 0; j < l.n; j++)
			buf_printf(&b, "%s%s", j ? " " : "", l.v[j]);
		CHECK_STR(b.data != NULL ? b.data : "", expand_rows[i].want);
		buf_reset(&b);
		addr_list_free(&l);
	}
	aliases_free(al);
}

/* Without default:, an unlisted local name comes back bare. */
static void
test_no_default(void)
{
	static const char *const doms[] = {"localhost", NULL};
	static const char text[] = "root: a@example.org\n";
	struct aliases *al = NULL;
	struct addr_list l = {0};
	struct err e = {0};

	CHECK(aliases_parse("a", text, strlen(text), &al, &e) == 0);
	CHECK(aliases_expand(al, "nobody@localhost", doms, &l, &e) == 0);
	CHECK(l.n == 1 && strcmp(l.v[0], "nobody") == 0);
	addr_list_free(&l);
	CHECK(aliases_is_local("root", doms));
	CHECK(aliases_is_local("root@LOCALHOST", doms));
	CHECK(!aliases_is_local("root@example.org", doms));
	CHECK(!aliases_is_local("", doms));
	aliases_free(al);
}

/* Expansion past ALIASES_MAX_EXPANSION addresses is refused. */
static void
test_expansion_cap(void)
{
	static const char *const doms[] = {"localhost", NULL};
	struct aliases *al = NULL;
	struct addr_list l = {0};
	struct err e = {0};
	struct buf b;
	int i;

	buf_init(&b, ALIASES_MAX_FILE);
	buf_addstr(&b, "big: ");
	for (i = 0; i < ALIASES_MAX_EXPANSION + 1; i++)
		buf_printf(&b, "%su%d@example.org", i ? ", " : "", i);
	buf_addstr(&b, "\n");
	CHECK(aliases_parse("a", b.data, b.len, &al, &e) == -1);
	CHECK(strstr(e.text, "expands to more than 1000 addresses") != NULL);
	addr_list_free(&l);
	aliases_free(al);
	buf_reset(&b);
	(void)doms;
}

static void
test_load(void)
{
	struct aliases *al = NULL;
	struct err e = {0};

	CHECK(aliases_load("/nonexistent/aliases", &al, &e) == -1);
	CHECK(e.kind == ERR_CONFIG);
	CHECK(strstr(e.text, "aliases file /nonexistent/aliases: No such") !=
	      NULL);
}

/* (field value, domain, expected result: new value, "=" unchanged, or
 * "!" refused) */
static const struct {
	const char *in;
	const char *want;
} qual_rows[] = {
    {"root", "root@example.org"},
    {"root (Cron Daemon)", "Cron Daemon <root@example.org>"},
    {"root (Cron Daemon <x>)", "\"Cron Daemon <x>\" <root@example.org>"},
    {"root ()", "root@example.org"},
    {"Cron Daemon <root>", "Cron Daemon <root@example.org>"},
    {"\"Daemon, Cron\" <root>", "\"Daemon, Cron\" <root@example.org>"},
    {"root, a@example.net", "root@example.org, a@example.net"},
    {"a@example.net, bob (Bob)", "a@example.net, Bob <bob@example.org>"},
    {"a@example.net", "="},
    {"A <a@example.net> (c)", "="},
    {"undisclosed-recipients:;", "="},
    {"list: root;", "!"},
    {"<root", "!"},
    {"root\r\n (folded comment)", "folded comment <root@example.org>"},
    {"\"q\\\"uoted\"", "\"q\\\"uoted\"@example.org"},
};

static void
test_qualify_header(void)
{
	size_t i;

	for (i = 0; i < sizeof(qual_rows) / sizeof(qual_rows[0]); i++) {
		struct buf b;
		int r;

		buf_init(&b, 4096);
		r = addr_qualify_header(qual_rows[i].in,
		    strlen(qual_rows[i].in), "example.org", &b);
		if (r != (qual_rows[i].want[0] == '='	   ? 0
			     : qual_rows[i].want[0] == '!' ? -1
							   : 1))
			fprintf(stderr, "qual row %zu: r=%d [%s]\n", i, r,
			    b.data != NULL ? b.data : "");
		if (strcmp(qual_rows[i].want, "=") == 0)
			CHECK(r == 0);
		else if (strcmp(qual_rows[i].want, "!") == 0)
			CHECK(r == -1);
		else {
			CHECK(r == 1);
			CHECK_STR(b.data, qual_rows[i].want);
		}
		buf_reset(&b);
	}
}

/* Found by fuzz_aliases: a NUL as a comment's quoted-pair must not reach
 * the display name. */
static void
test_qualify_nul(void)
{
	static const char in[] = "root (Cron Daem\\\0on)";
	static const char lf[] = "root (Cron\\\nDaemon)";
	static const char esc[] = "root, n (b\\\n)<u@d.example>";
	struct buf b;

	buf_init(&b, 4096);
	CHECK(addr_qualify_header(in, sizeof(in) - 1, "example.org", &b) == -1);
	buf_reset(&b);
	/* Also found by it: an LF as a quoted-pair in a comment. */
	buf_init(&b, 4096);
	CHECK(addr_qualify_header(lf, sizeof(lf) - 1, "example.org", &b) == -1);
	buf_reset(&b);
	/* And: unfolding changes what a backslash escapes. */
	buf_init(&b, 4096);
	CHECK(
	    addr_qualify_header(esc, sizeof(esc) - 1, "example.org", &b) == -1);
	buf_reset(&b);
}

/* addr_rewrite_header(): root and ops@localhost are "aliased". */
static char *
test_map(void *arg, const char *spec)
{
	(void)arg;
	if (strcmp(spec, "root") == 0)
		return strdup("admin@example.net");
	if (strcmp(spec, "ops@localhost") == 0)
		return strdup("ops@example.net");
	if (strcmp(spec, "evil") == 0)
		return strdup("x@example.net\r\nBcc: victim@example.com");
	return NULL;
}

static const struct {
	const char *in, *want; /* "=": unchanged, "!": left alone (-1) */
} map_rows[] = {
    {"root", "admin@example.net"},
    {"root (Cron Daemon)", "Cron Daemon <admin@example.net>"},
    {"Admin <root>", "Admin <admin@example.net>"},
    {"\"Ops, Team\" <ops@localhost>, bob",
	"\"Ops, Team\" <ops@example.net>, bob@example.org"},
    {"ops@localhost (On call)", "On call <ops@example.net>"},
    {"a@example.com", "="},
    {"nobody", "nobody@example.org"},
    {"evil", "!"},
    {"Evil <evil>", "!"},
};

static void
test_rewrite_header(void)
{
	size_t i;

	for (i = 0; i < sizeof(map_rows) / sizeof(map_rows[0]); i++) {
		struct buf b;
		int r;

		buf_init(&b, 4096);
		r = addr_rewrite_header(map_rows[i].in, strlen(map_rows[i].in),
		    "example.org", test_map, NULL, &b);
		if (strcmp(map_rows[i].want, "=") == 0)
			CHECK(r == 0);
		else if (strcmp(map_rows[i].want, "!") == 0)
			CHECK(r == -1);
		else {
			CHECK(r == 1);
			CHECK_STR(b.data, map_rows[i].want);
		}
		buf_reset(&b);
	}
}

int
main(void)
{
	test_parse();
	test_nul();
	test_expand();
	test_no_default();
	test_expansion_cap();
	test_load();
	test_qualify_header();
	test_qualify_nul();
	test_rewrite_header();
	return check_done();
}
