/*
 * Unit tests for queue.c: envelope parsing (hostile and truncated files
 * included), store / lock / defer / fail / requeue / remove, the backoff
 * schedule, expiry, the rate-limit window, crash safety (SIGKILL at each
 * step of a store or an update, and at random moments in a loop), and
 * concurrent queue runs taking locks.  Built with -DQUEUE_TEST_HOOKS.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "queue.h"

static char topdir[] = "/tmp/test_queue.XXXXXX";

/* ---- helpers ---- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
subdir(const char *name)
{
	struct buf b;

	buf_init(&b, 4096);
	buf_printf(&b, "%s/%s", topdir, name);
	rm_rf(b.data);
	return buf_steal(&b, NULL);
}

/* A message whose content can be checked: "Len: NNNNNN\r\n" then len
 * bytes of a pattern. */
struct payload {
	size_t len;
	int fail; /* the writer fails half-way */
};

static int
write_payload(void *arg, int fd, struct err *e)
{
	const struct payload *p = arg;
	char head[32], *body;
	size_t i;
	int r = 0;

	snprintf(head, sizeof(head), "Len: %06zu\r\n", p->len);
	body = xcalloc(p->len + 1, 1);
	for (i = 0; i < p->len; i++)
		body[i] = (char)('a' + i % 26);
	if (write(fd, head, strlen(head)) != (ssize_t)strlen(head) ||
	    write(fd, body, p->fail ? p->len / 2 : p->len) < 0)
		r = err_set(e, ERR_IO, "write failed");
	else if (p->fail)
		r = err_set(e, ERR_IO, "writer gave up");
	free(body);
	return r;
}

/* Nonzero if fd holds a complete payload. */
static int
payload_ok(int fd)
{
	char head[14], c;
	unsigned long long len;
	size_t i;
	struct stat st;

	if (pread(fd, head, 13, 0) != 13 || memcmp(head, "Len: ", 5) != 0)
		return 0;
	head[11] = '\0';
	if (parse_uint_str(head + 5, 999999, &len) == -1 ||
	    fstat(fd, &st) == -1 || (unsigned long long)st.st_size != len + 13)
		return 0;
	for (i = 0; i < len; i += 97)
		if (pread(fd, &c, 1, (off_t)(13 + i)) != 1 ||
		    c != (char)('a' + i % 26))
			return 0;
	return 1;
}

static const char *const rcpts2[] = {"bob@example.net", "carol@example.net"};

static void
sample_env(struct queue_envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->account = "work";
	env->from = "alice@example.org";
	env->rcpts = rcpts2;
	env->nrcpts = 2;
	env->msgid = "<abc@example.org>";
}

static size_t
count_dir(const char *dir, const char *sub)
{
	char path[4096];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return (size_t)-1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- pure functions ---- */

static void
test_ids(void)
{
	static const struct {
		const char *id;
		int ok;
	} t[] = {
	    {"65a1b2c39f8e7d6c5b4a", 1},
	    {"00000000000000000000", 1},
	    {"65a1b2c39f8e7d6c5b4", 0},
	    {"65a1b2c39f8e7d6c5b4a0", 0},
	    {"65A1B2C39F8E7D6C5B4A", 0},
	    {"65a1b2c39f8e7d6c5b4g", 0},
	    {"../../../etc/passwd0", 0},
	    {"", 0},
	    {"65a1b2c39f8e7d6c5b4 ", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(queue_id_valid(t[i].id) == t[i].ok);
}

#define GOOD_HEAD                                                              \
	"postseal-queue 1\n"                                                   \
	"id 65a1b2c39f8e7d6c5b4a\n"                                            \
	"account work\n"                                                       \
	"from <alice@example.org>\n"
#define GOOD_TAIL                                                              \
	"body8bit 0\n"                                                         \
	"smtputf8 0\n"                                                         \
	"size 10\n"                                                            \
	"created 1700000000\n"                                                 \
	"attempts 0\n"                                                         \
	"next 1700000000\n"
#define GOOD GOOD_HEAD "rcpt <bob@example.net>\n" GOOD_TAIL "end\n"
#define V2_HEAD                                                                \
	"postseal-queue 2\n"                                                   \
	"id 65a1b2c39f8e7d6c5b4a\n"                                            \
	"account work\n"                                                       \
	"from <alice@example.org>\n"

static const struct {
	const char *text;
	size_t len;	  /* 0: strlen */
	const char *want; /* NULL: parses; else a substring of the error */
} parse_rows[] = {
    {GOOD, 0, NULL},
    {GOOD_HEAD "rcpt <b\xc3\xbc@example.net>\n" GOOD_TAIL "end\n", 0, NULL},
    {GOOD_HEAD "rcpt <a@b>\nrcpt <c@d>\nnotify SUCCESS,FAILURE\nret HDRS\n"
	       "envid QQ123\nmsgid <m@x>\nretried 1700000100\ncode 451\n"
	       "error 451 4.3.0 try later\n" GOOD_TAIL "end\n",
	0, NULL},
    {"postseal-queue 1\nfrom <>\nid 65a1b2c39f8e7d6c5b4a\naccount work\n"
     "rcpt <x@y>\n" GOOD_TAIL "end\n",
	0, NULL}, /* any order; null sender */
    {"", 0, "no end line"},
    {"postseal-queue 3\n", 0, "line 1: not a version 1 or 2"},
    /* Version 2: per-recipient state. */
    {V2_HEAD "rcpt <a@b>\nwhy 450 4.2.1 busy\nsent <c@d>\nfailed <e@f>\n"
	     "why 550 5.1.1 no such user\nrcpt <g@h>\n" GOOD_TAIL "end\n",
	0, NULL},
    {V2_HEAD "failed <e@f>\n" GOOD_TAIL "end\n", 0, NULL},
    {V2_HEAD "sent <e@f>\nsent <g@h>\n" GOOD_TAIL "end\n", 0, NULL},
    {V2_HEAD GOOD_TAIL "end\n", 0, "no \"rcpt\" line"},
    {V2_HEAD "sent <c@d>\nwhy 250 x\n" GOOD_TAIL "end\n", 0,
	"why without a rcpt or failed line"},
    {V2_HEAD "rcpt <c@d>\nwhy 450 x\nwhy 450 y\n" GOOD_TAIL "end\n", 0,
	"why without"},
    {V2_HEAD "rcpt <c@d>\nsize 10\nwhy 450 x\nbody8bit 0\nsmtputf8 0\n"
	     "created 1\nattempts 0\nnext 1\nend\n",
	0, "why without"},
    {V2_HEAD "why 450 x\nrcpt <c@d>\n" GOOD_TAIL "end\n", 0, "why without"},
    {V2_HEAD "rcpt <c@d>\nwhy 450 \x01\n" GOOD_TAIL "end\n", 0, "control"},
    {V2_HEAD "sent <>\n" GOOD_TAIL "end\n", 0, "empty or long recipient"},
    {V2_HEAD "failed e@f\n" GOOD_TAIL "end\n", 0, "address not in <>"},
    {GOOD_HEAD "rcpt <a@b>\nsent <c@d>\n" GOOD_TAIL "end\n", 0,
	"key not in a version 1 envelope"},
    {GOOD_HEAD "rcpt <a@b>\nwhy 450 x\n" GOOD_TAIL "end\n", 0,
	"key not in a version 1"},
    {GOOD_HEAD "failed <a@b>\n" GOOD_TAIL "end\n", 0, "not in a version 1"},
    {"postseal-queue 1", 0, "unterminated"},
    {GOOD_HEAD "rcpt <bob@example.net>\n" GOOD_TAIL, 0, "no end line"},
    {GOOD_HEAD "rcpt <bob@exa", 0, "unterminated"},
    {GOOD "x", 0, "data after the end"},
    {GOOD "end\n", 0, "data after the end"},
    {GOOD_HEAD "rcpt <bob@example.net>\n" GOOD_TAIL "end", 0, "unterminated"},
    {GOOD_HEAD "rcpt <bob@example.net>\n" GOOD_TAIL "end \n", 0, "unknown key"},
    {GOOD_HEAD "rcpt <b>\nhost evil\n" GOOD_TAIL "end\n", 0, "unknown key"},
    {GOOD_HEAD "rcpt <b>\n\n" GOOD_TAIL "end\n", 0, "line 6: expected"},
    {GOOD_HEAD "rcpt <b>\nsize 1\n" GOOD_TAIL "end\n", 0, "duplicate key"},
    {GOOD_HEAD "rcpt <b>\nfrom <c>\n" GOOD_TAIL "end\n", 0, "duplicate"},
    {GOOD_HEAD "rcpt <bob@example.net>\r\n" GOOD_TAIL "end\n", 0,
	"address not in <>"},
    {GOOD_HEAD "rcpt <bob\r@example.net>\n" GOOD_TAIL "end\n", 0,
	"control character"},
    {GOOD_HEAD "rcpt <bob\x1b[2J@x>\n" GOOD_TAIL "end\n", 0,
	"control character"},
    {GOOD_HEAD "rcpt <bob\x7f@x>\n" GOOD_TAIL "end\n", 0, "control"},
    {GOOD_HEAD "rcpt <bob\tx@x>\n" GOOD_TAIL "end\n", 0, "control"},
    {GOOD_HEAD "rcpt <bob\0@x>\n" GOOD_TAIL "end\n", sizeof(GOOD_HEAD) + 40,
	"NUL"},
    {GOOD_HEAD "rcpt bob@example.net\n" GOOD_TAIL "end\n", 0,
	"address not in <>"},
    {GOOD_HEAD "rcpt <>\n" GOOD_TAIL "end\n", 0, "empty or long recipient"},
    {GOOD_HEAD "rcpt <\n" GOOD_TAIL "end\n", 0, "address not in <>"},
    {GOOD_HEAD GOOD_TAIL "end\n", 0, "no \"rcpt\" line"},
    {"postseal-queue 1\naccount w\nfrom <>\nrcpt <x>\n" GOOD_TAIL "end\n", 0,
	"no \"id\" line"},
    {GOOD_HEAD "rcpt <b>\nsize 99999999999999999999999\nbody8bit 0\n"
	       "smtputf8 0\ncreated 1\nattempts 0\nnext 1\nend\n",
	0, "bad number"},
    {GOOD_HEAD "rcpt <b>\nsize -1\nbody8bit 0\nsmtputf8 0\ncreated 1\n"
	       "attempts 0\nnext 1\nend\n",
	0, "bad number"},
    {GOOD_HEAD "rcpt <b>\nsize +1\nbody8bit 0\nsmtputf8 0\ncreated 1\n"
	       "attempts 0\nnext 1\nend\n",
	0, "bad number"},
    {GOOD_HEAD "rcpt <b>\nsize 1 \nbody8bit 0\nsmtputf8 0\ncreated 1\n"
	       "attempts 0\nnext 1\nend\n",
	0, "bad number"},
    {GOOD_HEAD "rcpt <b>\nsize \nbody8bit 0\nsmtputf8 0\ncreated 1\n"
	       "attempts 0\nnext 1\nend\n",
	0, "bad number"},
    {GOOD_HEAD "rcpt <b>\nsize\n" GOOD_TAIL "end\n", 0, "expected"},
    {GOOD_HEAD "rcpt <b>\nbody8bit 2\nsmtputf8 0\nsize 1\ncreated 1\n"
	       "attempts 0\nnext 1\nend\n",
	0, "bad number"},
    {GOOD_HEAD "rcpt <b>\ncode 99\n" GOOD_TAIL "end\n", 0, "bad number"},
    {GOOD_HEAD "rcpt <b>\ncode 600\n" GOOD_TAIL "end\n", 0, "bad number"},
    {GOOD_HEAD "rcpt <b>\nretried 253402300800\n" GOOD_TAIL "end\n", 0,
	"bad number"},
    {GOOD_HEAD "rcpt <b>\nbody8bit 0\nsmtputf8 0\nsize 1\ncreated 1\n"
	       "attempts 1000001\nnext 1\nend\n",
	0, "bad number"},
    {"postseal-queue 1\nid 65A1B2C39F8E7D6C5B4A\n", 0, "malformed queue ID"},
    {"postseal-queue 1\nid ../../etc/passwd\n", 0, "malformed queue ID"},
    {"postseal-queue 1\naccount \n", 0, "bad account name"},
};

static void
test_parse_table(void)
{
	struct queue_envelope env;
	struct err e;
	size_t i, len;
	int r;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		len = parse_rows[i].len ? parse_rows[i].len
					: strlen(parse_rows[i].text);
		memset(&e, 0, sizeof(e));
		r = queue_env_parse(parse_rows[i].text, len, &env, &e);
		if (parse_rows[i].want == NULL) {
			CHECK(r == 0);
			if (r != 0)
				fprintf(stderr, "row %zu: %s\n", i, e.text);
		} else {
			CHECK(r == -1 && e.kind == ERR_DATA);
			CHECK(strstr(e.text, parse_rows[i].want) != NULL);
			if (strstr(e.text, parse_rows[i].want) == NULL)
				fprintf(stderr, "row %zu: got \"%s\"\n", i,
				    e.text);
			CHECK(env.text_ == NULL && env.nrcpts == 0);
		}
		queue_env_free(&env);
	}
}

/* The values parsed from a full envelope, and format(parse(x)) == x. */
static void
test_roundtrip(void)
{
	static const char text[] =
	    GOOD_HEAD "rcpt <a@b>\nrcpt <\"x>y\"@c>\nnotify SUCCESS\nret HDRS\n"
		      "envid E1\nmsgid <m@x>\nbody8bit 1\nsmtputf8 1\n"
		      "size 10\ncreated 1700000000\nretried 1700000100\n"
		      "attempts 3\nnext 1700000200\ncode 451\n"
		      "error 451 4.3.0 try later\nend\n";
	struct queue_envelope env;
	struct buf b;
	struct err e;

	CHECK(queue_env_parse(text, strlen(text), &env, &e) == 0);
	CHECK_STR(env.id, "65a1b2c39f8e7d6c5b4a");
	CHECK_STR(env.account, "work");
	CHECK_STR(env.from, "alice@example.org");
	CHECK(env.nrcpts == 2);
	CHECK_STR(env.rcpts[0], "a@b");
	CHECK_STR(env.rcpts[1], "\"x>y\"@c");
	CHECK_STR(env.dsn_notify, "SUCCESS");
	CHECK_STR(env.dsn_return, "HDRS");
	CHECK_STR(env.dsn_envid, "E1");
	CHECK_STR(env.msgid, "<m@x>");
	CHECK(env.body_8bit == 1 && env.smtputf8 == 1);
	CHECK(env.size == 10 && env.created == 1700000000LL);
	CHECK(env.retried == 1700000100LL && env.next_try == 1700000200LL);
	CHECK(env.attempts == 3 && env.last_code == 451);
	CHECK_STR(env.last_error, "451 4.3.0 try later");
	buf_init(&b, 1 << 20);
	CHECK(queue_env_format(&env, &b, &e) == 0);
	CHECK_STR(b.data, text);
	buf_reset(&b);
	queue_env_free(&env);
	CHECK(env.text_ == NULL);
}

/* Values that would break the format are refused when writing. */
static void
test_format_rejects(void)
{
	static const char *const bad_rcpt[] = {"a@b\nrcpt <evil@x>"};
	static const char *const cr_rcpt[] = {"a@b\r"};
	static const char *const empty_rcpt[] = {""};
	struct queue_envelope env;
	struct buf b;
	struct err e;

	buf_init(&b, 1 << 20);
	sample_env(&env);
	memcpy(env.id, "65a1b2c39f8e7d6c5b4a", QUEUE_ID_LEN + 1);
	CHECK(queue_env_format(&env, &b, &e) == 0);
	buf_clear(&b);
	env.rcpts = bad_rcpt;
	env.nrcpts = 1;
	CHECK(queue_env_format(&env, &b, &e) == -1 && e.kind == ERR_DATA);
	env.rcpts = cr_rcpt;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	env.rcpts = empty_rcpt;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	sample_env(&env);
	memcpy(env.id, "65a1b2c39f8e7d6c5b4a", QUEUE_ID_LEN + 1);
	env.nrcpts = 0;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	sample_env(&env);
	memcpy(env.id, "65a1b2c39f8e7d6c5b4a", QUEUE_ID_LEN + 1);
	env.from = "a\n";
	CHECK(queue_env_format(&env, &b, &e) == -1);
	env.from = "a";
	env.account = NULL;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	env.account = "work";
	env.last_code = 150;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	env.last_code = 0;
	env.created = -5;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	env.created = 0;
	env.msgid = "<x\x1b@y>";
	CHECK(queue_env_format(&env, &b, &e) == -1);
	memcpy(env.id, "65a1b2c39f8e7d6c5b4G", QUEUE_ID_LEN + 1);
	env.msgid = NULL;
	CHECK(queue_env_format(&env, &b, &e) == -1);
	buf_reset(&b);
}

/* 1000 recipients fit; 1001 do not, neither written nor read. */
static void
test_rcpt_limit(void)
{
	const char **r = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*r));
	struct queue_envelope env, back;
	struct buf b;
	struct err e;
	size_t i;

	for (i = 0; i <= QUEUE_MAX_RCPTS; i++)
		r[i] = "someone.with.a.long.name@example.net";
	sample_env(&env);
	memcpy(env.id, "65a1b2c39f8e7d6c5b4a", QUEUE_ID_LEN + 1);
	env.rcpts = r;
	env.nrcpts = QUEUE_MAX_RCPTS;
	buf_init(&b, 1 << 22);
	CHECK(queue_env_format(&env, &b, &e) == 0);
	CHECK(queue_env_parse(b.data, b.len, &back, &e) == 0);
	CHECK(back.nrcpts == QUEUE_MAX_RCPTS);
	queue_env_free(&back);
	env.nrcpts = QUEUE_MAX_RCPTS + 1;
	buf_clear(&b);
	CHECK(queue_env_format(&env, &b, &e) == -1);
	/* Hand-made file with one recipient too many. */
	env.nrcpts = QUEUE_MAX_RCPTS;
	buf_clear(&b);
	CHECK(queue_env_format(&env, &b, &e) == 0);
	b.len -= 4; /* drop "end\n" */
	buf_addstr(&b, "rcpt <x@y>\nend\n");
	CHECK(queue_env_parse(b.data, b.len, &back, &e) == -1);
	CHECK(strstr(e.text, "too many recipients") != NULL);
	/* A value one byte too long. */
	buf_clear(&b);
	buf_addstr(&b, GOOD_HEAD "rcpt <b>\nerror ");
	for (i = 0; i < QUEUE_MAX_VALUE + 1; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\n" GOOD_TAIL "end\n");
	CHECK(queue_env_parse(b.data, b.len, &back, &e) == -1);
	CHECK(strstr(e.text, "too long") != NULL);
	buf_reset(&b);
	free(r);
}

static void
test_backoff(void)
{
	static const struct {
		unsigned attempts, min, max;
		long long want;
	} t[] = {
	    {0, 60, 3600, 60},
	    {1, 60, 3600, 60},
	    {2, 60, 3600, 120},
	    {3, 60, 3600, 240},
	    {4, 60, 3600, 480},
	    {5, 60, 3600, 960},
	    {6, 60, 3600, 1920},
	    {7, 60, 3600, 3600},
	    {8, 60, 3600, 3600},
	    {4000000000U, 60, 3600, 3600},
	    {3, 600, 60, 60},
	    {3, 0, 3600, 0},
	    {40, 1, 4000000000U, 4000000000LL},
	    {2, 4000000000U, 4000000000U, 4000000000LL},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long got =
		    queue_backoff(t[i].attempts, t[i].min, t[i].max);
		CHECK(got == t[i].want);
		if (got != t[i].want)
			fprintf(stderr, "backoff row %zu: %lld\n", i, got);
	}
}

static void
test_expired(void)
{
	static const struct {
		long long created, retried, now;
		unsigned max;
		int want;
	} t[] = {
	    {1000, 0, 1000, 432000, 0}, {1000, 0, 432999, 432000, 0},
	    {1000, 0, 433000, 432000, 1}, {1000, 400000, 433000, 432000, 0},
	    {1000, 400000, 832000, 432000, 1}, {1000, 0, 9999999, 0, 0},
	    {5000, 0, 1000, 10, 0}, /* clock went back */
	};
	struct queue_envelope env;
	size_t i;

	memset(&env, 0, sizeof(env));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		env.created = t[i].created;
		env.retried = t[i].retried;
		CHECK(queue_expired(&env, t[i].now, t[i].max) == t[i].want);
	}
}

static void
test_rate_check(void)
{
	static const long long sends[] = {100, 200, 300, 400};
	static const struct {
		size_t n;
		unsigned count, period;
		long long now;
		int want;
		long long next;
	} t[] = {
	    {0, 3, 3600, 500, 1, 500},	 /* nothing sent yet */
	    {2, 3, 3600, 500, 1, 500},	 /* 2 of 3 */
	    {3, 3, 3600, 500, 0, 3800},	 /* full: the oldest of 3 frees */
	    {4, 3, 3600, 500, 0, 3800},	 /* only the last 3 count */
	    {4, 3, 3600, 3799, 0, 3800}, /* one second short */
	    {4, 3, 3600, 3800, 1, 3800}, /* window passed */
	    {4, 4, 350, 450, 1, 450},	 /* 100 left the window */
	    {4, 4, 350, 449, 0, 450},
	    {4, 0, 1, 500, 1, 500}, /* no limit */
	    {1, 1, 60, 459, 0, 460},
	    {1, 1, 60, 460, 1, 460},
	};
	long long next;
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const long long *p = sends + (4 - t[i].n);
		r = queue_rate_check(p, t[i].n, t[i].count, t[i].period,
		    t[i].now, &next);
		CHECK(r == t[i].want);
		CHECK(next == t[i].next);
		if (r != t[i].want || next != t[i].next)
			fprintf(stderr, "rate row %zu: %d %lld\n", i, r, next);
	}
}

/* ---- the directory ---- */

static struct queue *
open_fresh(const char *name, char **pathp)
{
	struct queue *q = NULL;
	struct err e;
	char *path = subdir(name);

	if (queue_open(path, 1, &q, &e) == -1)
		fprintf(stderr, "queue_open: %s\n", e.text);
	CHECK(q != NULL);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
	return q;
}

static void
test_open(void)
{
	struct queue *q = NULL;
	struct err e;
	char *path = subdir("open/a/b/c"), *file;
	struct stat st;
	int fd;

	CHECK(queue_open(path, 0, &q, &e) == -1 && e.kind == ERR_NOINPUT);
	CHECK(queue_open(path, 1, &q, &e) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	queue_close(q);
	CHECK(count_dir(path, "active") == 0 && count_dir(path, "tmp") == 0);
	CHECK(chmod(path, 0777) == 0);
	CHECK(queue_open(path, 0, &q, &e) == -1 && e.kind == ERR_CONFIG);
	CHECK(strstr(e.text, "writable by other users") != NULL);
	CHECK(chmod(path, 0700) == 0);
	CHECK(queue_open(path, 0, &q, &e) == 0);
	queue_close(q);
	file = subdir("open/file");
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	CHECK(fd != -1);
	close(fd);
	CHECK(queue_open(file, 1, &q, &e) == -1);
	free(file);
	free(path);
}

/* Store: the entry, its modes, its lock, peek and list. */
static void
life_store(struct queue *q, const char *path, char *id)
{
	struct payload pl = {5000, 0};
	struct queue_envelope tmpl, peek;
	struct queue_entry *qe = NULL, *qe2 = NULL;
	const struct queue_envelope *env;
	char file[4200], **ids;
	struct stat st;
	struct err e;
	size_t n;

	sample_env(&tmpl);
	tmpl.attempts = 77; /* ignored by store */
	CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == 0);
	CHECK(qe != NULL);
	str_copy(id, queue_entry_id(qe), QUEUE_ID_LEN + 1);
	CHECK(queue_id_valid(id));
	env = queue_entry_env(qe);
	CHECK(env != NULL && env->size == 5013 && env->attempts == 0);
	CHECK(env->created > 1700000000LL && env->next_try == env->created);
	CHECK(payload_ok(queue_entry_fd(qe)));
	snprintf(file, sizeof(file), "%s/active/%s/msg", path, id);
	CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(file, sizeof(file), "%s/active/%s/env", path, id);
	CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* Locked by the store's handle: a second locker is refused. */
	CHECK(queue_lock(q, QUEUE_ACTIVE, id, &qe2, &e) == QUEUE_BUSY);
	CHECK(qe2 == NULL);
	CHECK(queue_peek(q, QUEUE_ACTIVE, id, &peek, &e) == 0);
	CHECK_STR(peek.from, "alice@example.org");
	CHECK(peek.nrcpts == 2);
	CHECK_STR(peek.rcpts[1], "carol@example.net");
	queue_env_free(&peek);
	CHECK(queue_list(q, QUEUE_ACTIVE, &ids, &n, &e) == 0 && n == 1);
	CHECK(n == 1 && strcmp(ids[0], id) == 0);
	queue_list_free(ids, n);
	queue_release(qe);
}

/* Defer, twice; a postponement leaves attempts and the error alone. */
static void
life_defer(struct queue *q, const char *id)
{
	struct queue_envelope peek;
	struct queue_entry *qe = NULL;
	const struct queue_envelope *env;
	struct err e;

	CHECK(queue_lock(q, QUEUE_ACTIVE, id, &qe, &e) == QUEUE_LOCKED);
	CHECK(queue_defer(qe, 1800000000LL, 1, 451, "451 4.3.0 busy\r\n", &e) ==
	      0);
	env = queue_entry_env(qe);
	CHECK(env->attempts == 1 && env->last_code == 451);
	CHECK(env->next_try == 1800000000LL);
	CHECK_STR(env->last_error, "451 4.3.0 busy??");
	CHECK(queue_defer(qe, 1800000100LL, 0, 0, NULL, &e) == 0);
	CHECK(queue_entry_env(qe)->attempts == 1);
	CHECK(queue_entry_env(qe)->next_try == 1800000100LL);
	CHECK_STR(queue_entry_env(qe)->last_error, "451 4.3.0 busy??");
	queue_release(qe);
	CHECK(queue_peek(q, QUEUE_ACTIVE, id, &peek, &e) == 0);
	CHECK(peek.attempts == 1 && peek.next_try == 1800000100LL);
	queue_env_free(&peek);
}

/* Fail: to failed/; requeue: back, attempts 0, retried set; remove. */
static void
life_fail_remove(struct queue *q, const char *path, const char *id)
{
	struct queue_envelope peek;
	struct queue_entry *qe = NULL;
	const struct queue_envelope *env;
	struct err e;

	CHECK(queue_lock(q, QUEUE_ACTIVE, id, &qe, &e) == QUEUE_LOCKED);
	CHECK(queue_fail(qe, 550, "550 5.1.1 no such user", &e) == 0);
	CHECK(queue_entry_area(qe) == QUEUE_FAILED);
	CHECK(queue_entry_env(qe)->attempts == 2);
	queue_release(qe);
	CHECK(count_dir(path, "active") == 0 && count_dir(path, "failed") == 1);
	CHECK(queue_lock(q, QUEUE_ACTIVE, id, &qe, &e) == QUEUE_GONE);
	CHECK(queue_lock(q, QUEUE_FAILED, id, &qe, &e) == QUEUE_LOCKED);
	CHECK_STR(queue_entry_env(qe)->last_error, "550 5.1.1 no such user");
	CHECK(queue_requeue(qe, 1750000000LL, &e) == 0);
	CHECK(queue_entry_area(qe) == QUEUE_ACTIVE);
	env = queue_entry_env(qe);
	CHECK(env->attempts == 0 && env->retried == 1750000000LL);
	CHECK(env->next_try == 1750000000LL);
	CHECK(payload_ok(queue_entry_fd(qe)));
	CHECK(queue_remove(qe, &e) == 0);
	CHECK(queue_remove(qe, &e) == -1);
	CHECK(queue_defer(qe, 1, 1, 0, NULL, &e) == -1);
	queue_release(qe);
	CHECK(count_dir(path, "active") == 0 && count_dir(path, "failed") == 0);
	CHECK(count_dir(path, "tmp") == 0);
	CHECK(queue_peek(q, QUEUE_ACTIVE, id, &peek, &e) == QUEUE_GONE);
	CHECK(queue_lock(q, QUEUE_ACTIVE, "nonsense", &qe, &e) == -1);
	CHECK(e.kind == ERR_USAGE);
}

/* Per-recipient state: sent recipients leave the pending list for good,
 * failed ones keep their reason; a requeue makes failed ones pending
 * again, never sent ones; the version is 2 once there is state, and an
 * untouched entry stays version 1. */
static void
test_rcpt_state(void)
{
	static const char *const three[] = {"a@x", "b@x", "c@x"};
	static const enum queue_rcpt_state st[] = {QUEUE_RCPT_SENT,
	    QUEUE_RCPT_FAILED, QUEUE_RCPT_PENDING};
	static const char *const why[] = {NULL, "550 5.1.1 no\r\nsuch user",
	    "450 4.2.1 busy"};
	static const enum queue_rcpt_state st2[] = {QUEUE_RCPT_SENT};
	char *path, file[4200], text[4096];
	struct queue *q = open_fresh("rstate", &path);
	struct payload pl = {10, 0};
	struct queue_envelope tmpl;
	const struct queue_envelope *env;
	struct queue_entry *qe = NULL;
	struct err e;
	ssize_t n;
	int fd;

	sample_env(&tmpl);
	tmpl.rcpts = three;
	tmpl.nrcpts = 3;
	CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == 0);
	snprintf(file, sizeof(file), "%s/active/%s/env", path,
	    queue_entry_id(qe));
	fd = open(file, O_RDONLY);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	CHECK(n > 0 && strncmp(text, "postseal-queue 1\n", 17) == 0);
	CHECK(queue_set_rcpts(qe, st, why, &e) == 0);
	env = queue_entry_env(qe);
	CHECK(env->nrcpts == 1 && strcmp(env->rcpts[0], "c@x") == 0);
	CHECK_STR(env->rcpt_why[0], "450 4.2.1 busy");
	CHECK(env->nsent == 1 && strcmp(env->sent[0], "a@x") == 0);
	CHECK(env->nfailed == 1 && strcmp(env->failed[0], "b@x") == 0);
	CHECK_STR(env->failed_why[0], "550 5.1.1 no??such user");
	fd = open(file, O_RDONLY);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	CHECK(strncmp(text, "postseal-queue 2\n", 17) == 0);
	CHECK(strstr(text, "rcpt <c@x>\nwhy 450 4.2.1 busy\n") != NULL);
	CHECK(strstr(text, "sent <a@x>\n") != NULL);
	CHECK(strstr(text, "failed <b@x>\nwhy 550 5.1.1 no??such user\n"));
	/* The last pending one delivered: none left, to failed/. */
	CHECK(queue_set_rcpts(qe, st2, NULL, &e) == 0);
	env = queue_entry_env(qe);
	CHECK(env->nrcpts == 0 && env->nsent == 2 && env->nfailed == 1);
	CHECK(queue_fail(qe, 550, "550 no", &e) == 0);
	CHECK(queue_requeue(qe, 1750000000LL, &e) == 0);
	env = queue_entry_env(qe);
	CHECK(env->nrcpts == 1 && strcmp(env->rcpts[0], "b@x") == 0);
	CHECK(env->nsent == 2 && env->nfailed == 0);
	CHECK(queue_entry_area(qe) == QUEUE_ACTIVE);
	queue_release(qe);
	queue_close(q);
	free(path);
}

static void
test_lifecycle(void)
{
	char *path, id[QUEUE_ID_LEN + 1];
	struct queue *q = open_fresh("life", &path);

	life_store(q, path, id);
	life_defer(q, id);
	life_fail_remove(q, path, id);
	queue_close(q);
	free(path);
}

/* A failing writer or an unstorable envelope leaves nothing behind. */
static void
test_store_failures(void)
{
	static const char *const evil[] = {"a@b>\nrcpt <c@d"};
	struct payload pl = {3000, 1};
	struct queue_envelope tmpl;
	struct queue_entry *qe = NULL;
	struct err e;
	char *path;
	struct queue *q = open_fresh("fail", &path);

	sample_env(&tmpl);
	CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == -1);
	CHECK(qe == NULL);
	CHECK_STR(e.text, "writer gave up");
	pl.fail = 0;
	tmpl.rcpts = evil;
	tmpl.nrcpts = 1;
	CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == -1);
	CHECK(e.kind == ERR_DATA);
	CHECK(count_dir(path, "tmp") == 0 && count_dir(path, "active") == 0);
	/* Without out, the entry is stored and released. */
	sample_env(&tmpl);
	CHECK(queue_store(q, &tmpl, write_payload, &pl, NULL, &e) == 0);
	CHECK(count_dir(path, "active") == 1);
	queue_close(q);
	free(path);
}

/* RLIMIT_FSIZE-like failure: a full disk is ERR_TEMP, nothing stored. */
static int
write_enospc(void *arg, int fd, struct err *e)
{
	(void)arg;
	(void)fd;
	errno = ENOSPC;
	return err_set(e, ERR_TEMP, "write: %s", strerror(errno));
}

static void
test_full_and_readonly(void)
{
	struct queue_envelope tmpl;
	struct err e;
	char *path;
	struct queue *q = open_fresh("full", &path);

	sample_env(&tmpl);
	CHECK(queue_store(q, &tmpl, write_enospc, NULL, NULL, &e) == -1);
	CHECK(e.kind == ERR_TEMP);
	CHECK(count_dir(path, "tmp") == 0 && count_dir(path, "active") == 0);
	queue_close(q);
	free(path);
}

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd != -1 && write(fd, text, len) == (ssize_t)len);
	if (fd != -1)
		close(fd);
}

static void
test_corrupt(void)
{
	struct payload pl = {100, 0};
	struct queue_envelope tmpl, peek;
	struct queue_entry *qe = NULL;
	char *path, id[QUEUE_ID_LEN + 1], file[4200];
	struct err e;
	struct queue *q = open_fresh("corrupt", &path);

	sample_env(&tmpl);
	CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == 0);
	str_copy(id, queue_entry_id(qe), sizeof(id));
	queue_release(qe);
	/* A message longer than its envelope says. */
	snprintf(file, sizeof(file), "%s/active/%s/msg", path, id);
	write_file(file, "Len: 000001\r\nab", 15);
	CHECK(queue_peek(q, QUEUE_ACTIVE, id, &peek, &e) == -1);
	CHECK(e.kind == ERR_DATA && strstr(e.text, "bytes") != NULL);
	/* A garbled envelope: locked anyway, can be failed. */
	snprintf(file, sizeof(file), "%s/active/%s/env", path, id);
	write_file(file, "postseal-queue 1\nid x", 21);
	CHECK(queue_lock(q, QUEUE_ACTIVE, id, &qe, &e) == -1);
	CHECK(e.kind == ERR_DATA && qe != NULL);
	CHECK(qe != NULL && queue_entry_env(qe) == NULL);
	CHECK(queue_defer(qe, 1, 1, 0, NULL, &e) == -1);
	CHECK(queue_fail(qe, 0, "corrupt", &e) == 0);
	queue_release(qe);
	CHECK(count_dir(path, "active") == 0 && count_dir(path, "failed") == 1);
	/* An envelope naming another entry. */
	CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == 0);
	str_copy(id, queue_entry_id(qe), sizeof(id));
	queue_release(qe);
	snprintf(file, sizeof(file), "%s/active/%s/env", path, id);
	write_file(file, GOOD, strlen(GOOD));
	CHECK(queue_peek(q, QUEUE_ACTIVE, id, &peek, &e) == -1);
	CHECK(strstr(e.text, "names entry") != NULL);
	queue_close(q);
	free(path);
}

static void
test_cleanup(void)
{
	char *path, dir[4200], file[4300];
	struct err e;
	struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
	struct queue *q = open_fresh("clean", &path);
	int fd;

	snprintf(dir, sizeof(dir), "%s/tmp/del-65a1b2c39f8e7d6c5b4a", path);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(file, sizeof(file), "%s/msg", dir);
	write_file(file, "x", 1);
	/* Fresh store: kept. */
	snprintf(dir, sizeof(dir), "%s/tmp/65a1b2c39f8e7d6c5b4b", path);
	CHECK(mkdir(dir, 0700) == 0);
	/* Old and abandoned: swept. */
	snprintf(dir, sizeof(dir), "%s/tmp/65a1b2c39f8e7d6c5b4c", path);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(file, sizeof(file), "%s/msg", dir);
	write_file(file, "x", 1);
	CHECK(utimensat(AT_FDCWD, dir, old, 0) == 0);
	/* Old but its writer still holds the lock: kept. */
	snprintf(dir, sizeof(dir), "%s/tmp/65a1b2c39f8e7d6c5b4d", path);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(file, sizeof(file), "%s/msg", dir);
	write_file(file, "x", 1);
	fd = open(file, O_RDONLY);
	CHECK(fd != -1 && flock(fd, LOCK_EX) == 0);
	CHECK(utimensat(AT_FDCWD, dir, old, 0) == 0);
	/* Not ours: ignored. */
	snprintf(dir, sizeof(dir), "%s/tmp/other", path);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(queue_cleanup(q, (long long)time(NULL), &e) == 0);
	CHECK(count_dir(path, "tmp") == 3);
	snprintf(dir, sizeof(dir), "%s/tmp/65a1b2c39f8e7d6c5b4b", path);
	CHECK(access(dir, F_OK) == 0);
	snprintf(dir, sizeof(dir), "%s/tmp/65a1b2c39f8e7d6c5b4d", path);
	CHECK(access(dir, F_OK) == 0);
	close(fd);
	CHECK(queue_cleanup(q, (long long)time(NULL), &e) == 0);
	CHECK(count_dir(path, "tmp") == 2);
	queue_close(q);
	free(path);
}

static void
test_rate_take(void)
{
	char *path, file[4200];
	long long next;
	struct err e;
	struct stat st;
	struct queue *q = open_fresh("rate", &path);
	int i, fd;

	CHECK(queue_rate_take(q, "work", 3, 100, 1000, &next, &e) == 1);
	CHECK(queue_rate_take(q, "work", 3, 100, 1001, &next, &e) == 1);
	CHECK(queue_rate_take(q, "other", 1, 100, 1001, &next, &e) == 1);
	CHECK(queue_rate_take(q, "work", 3, 100, 1002, &next, &e) == 1);
	CHECK(queue_rate_take(q, "work", 3, 100, 1003, &next, &e) == 0);
	CHECK(next == 1100);
	CHECK(queue_rate_take(q, "other", 1, 100, 1050, &next, &e) == 0);
	CHECK(next == 1101);
	CHECK(queue_rate_take(q, "work", 3, 100, 1099, &next, &e) == 0);
	CHECK(queue_rate_take(q, "work", 3, 100, 1100, &next, &e) == 1);
	CHECK(queue_rate_take(q, "work", 3, 100, 1100, &next, &e) == 0);
	CHECK(next == 1101);
	CHECK(queue_rate_take(q, "work", 0, 100, 1100, &next, &e) == 1);
	/* The log stays short. */
	for (i = 0; i < 500; i++)
		CHECK(
		    queue_rate_take(q, "work", 2, 1, 2000 + i, &next, &e) == 1);
	snprintf(file, sizeof(file), "%s/rate/work", path);
	CHECK(stat(file, &st) == 0 && st.st_size <= (2 * 2 + 65) * 13);
	CHECK(st.st_size % 13 == 0);
	/* A torn record and garbage do not break it. */
	fd = open(file, O_WRONLY | O_APPEND);
	CHECK(fd != -1 && write(fd, "00000", 5) == 5);
	close(fd);
	CHECK(queue_rate_take(q, "work", 2, 10, 2600, &next, &e) == 1);
	CHECK(stat(file, &st) == 0 && st.st_size % 13 == 0);
	write_file(file, "garbage garbage garbage garbage\n", 32);
	CHECK(queue_rate_take(q, "work", 2, 10, 2600, &next, &e) == 1);
	CHECK(queue_rate_take(q, "work", 2, 10, 2600, &next, &e) == 1);
	CHECK(queue_rate_take(q, "work", 2, 10, 2600, &next, &e) == 0);
	/* Names that are not safe file names stay inside rate/. */
	CHECK(queue_rate_take(q, "../../evil", 1, 10, 1, &next, &e) == 1);
	CHECK(queue_rate_take(q, "../../evil", 1, 10, 2, &next, &e) == 0);
	CHECK(queue_rate_take(q, ".hidden", 1, 10, 1, &next, &e) == 1);
	CHECK(count_dir(path, "rate") == 4);
	queue_close(q);
	free(path);
}

/* ---- crash safety: SIGKILL at each named step ---- */

static const char *kill_at;

static void
kill_hook(const char *step)
{
	if (kill_at != NULL && strcmp(step, kill_at) == 0)
		raise(SIGKILL);
}

/* Every entry in both areas parses and holds a whole payload; returns how
 * many there are. */
static size_t
verify_queue(struct queue *q)
{
	struct queue_envelope env;
	struct queue_entry *qe;
	size_t i, n, total = 0;
	char **ids;
	struct err e;
	int a, r;

	for (a = QUEUE_ACTIVE; a <= QUEUE_FAILED; a++) {
		CHECK(queue_list(q, (enum queue_area)a, &ids, &n, &e) == 0);
		for (i = 0; i < n; i++) {
			r = queue_peek(q, (enum queue_area)a, ids[i], &env, &e);
			CHECK(r == 0);
			if (r != 0)
				fprintf(stderr, "verify: %s\n", e.text);
			queue_env_free(&env);
			r = queue_lock(q, (enum queue_area)a, ids[i], &qe, &e);
			CHECK(r == QUEUE_LOCKED);
			if (r == QUEUE_LOCKED)
				CHECK(payload_ok(queue_entry_fd(qe)));
			queue_release(qe);
		}
		total += n;
		queue_list_free(ids, n);
	}
	return total;
}

enum op { OP_STORE, OP_DEFER, OP_FAIL, OP_REQUEUE, OP_REMOVE };

static void
child_op(struct queue *q, enum op op, const char *id)
{
	struct payload pl = {1000, 0};
	struct queue_envelope tmpl;
	struct queue_entry *qe = NULL;
	struct err e;
	enum queue_area area = op == OP_REQUEUE ? QUEUE_FAILED : QUEUE_ACTIVE;

	queue_test_hook = kill_hook;
	sample_env(&tmpl);
	if (op == OP_STORE)
		_exit(queue_store(q, &tmpl, write_payload, &pl, NULL, &e) == 0
			  ? 0
			  : 1);
	if (queue_lock(q, area, id, &qe, &e) != QUEUE_LOCKED)
		_exit(2);
	if (op == OP_DEFER)
		queue_defer(qe, 2000000000LL, 1, 421, "421 bye", &e);
	else if (op == OP_FAIL)
		queue_fail(qe, 554, "554 no", &e);
	else if (op == OP_REQUEUE)
		queue_requeue(qe, 1, &e);
	else
		queue_remove(qe, &e);
	_exit(0);
}

/* Run op in a child killed at step; returns 1 if it was killed. */
static int
run_killed(struct queue *q, enum op op, const char *id, const char *step)
{
	pid_t pid;
	int status = 0;

	kill_at = step;
	fflush(NULL);
	if ((pid = fork()) == 0)
		child_op(q, op, id);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	kill_at = NULL;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void
test_kill_store_steps(void)
{
	static const struct {
		const char *step;
		size_t want; /* entries after the kill */
	} t[] = {
	    {"store-created", 0},
	    {"store-written", 0},
	    {"store-msg-synced", 0},
	    {"store-env-synced", 0},
	    {"store-dir-synced", 0},
	    {"store-renamed", 1},
	    {"store-done", 1},
	};
	char *path;
	struct err e;
	struct queue *q = open_fresh("killstore", &path);
	size_t i, got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(run_killed(q, OP_STORE, NULL, t[i].step));
		got = verify_queue(q);
		CHECK(got == t[i].want);
		if (got != t[i].want)
			fprintf(stderr, "kill at %s: %zu entries\n", t[i].step,
			    got);
		/* The abandoned store is swept once stale. */
		CHECK(
		    queue_cleanup(q,
			(long long)time(NULL) + QUEUE_STALE_TMP + 2, &e) == 0);
		CHECK(count_dir(path, "tmp") == 0);
		rm_rf(path);
		queue_close(q);
		CHECK(queue_open(path, 1, &q, &e) == 0);
	}
	queue_close(q);
	free(path);
}

/* Kill during each update: the entry is intact, old or new. */
static void
test_kill_update_steps(void)
{
	static const struct {
		enum op op;
		const char *step;
		size_t active, failed;
	} t[] = {
	    {OP_DEFER, "update-written", 1, 0},
	    {OP_DEFER, "update-renamed", 1, 0},
	    {OP_FAIL, "update-written", 1, 0},
	    {OP_FAIL, "update-renamed", 1, 0},
	    {OP_FAIL, "move-renamed", 0, 1},
	    {OP_REMOVE, "remove-renamed", 0, 0},
	};
	struct payload pl = {1000, 0};
	struct queue_envelope tmpl;
	struct queue_entry *qe;
	char *path, id[QUEUE_ID_LEN + 1];
	struct err e;
	size_t i;
	struct queue *q = open_fresh("killupd", &path);

	sample_env(&tmpl);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == 0);
		str_copy(id, queue_entry_id(qe), sizeof(id));
		queue_release(qe);
		CHECK(run_killed(q, t[i].op, id, t[i].step));
		CHECK(verify_queue(q) == t[i].active + t[i].failed);
		CHECK(count_dir(path, "active") == t[i].active);
		CHECK(count_dir(path, "failed") == t[i].failed);
		CHECK(queue_cleanup(q, (long long)time(NULL), &e) == 0);
		CHECK(count_dir(path, "tmp") == 0);
		/* A stale env.new does not stop the next update. */
		if (queue_lock(q, QUEUE_ACTIVE, id, &qe, &e) == QUEUE_LOCKED) {
			CHECK(queue_defer(qe, 5, 1, 0, "again", &e) == 0);
			CHECK(queue_remove(qe, &e) == 0);
			queue_release(qe);
		}
		if (queue_lock(q, QUEUE_FAILED, id, &qe, &e) == QUEUE_LOCKED) {
			CHECK(queue_requeue(qe, 5, &e) == 0);
			CHECK(queue_remove(qe, &e) == 0);
			queue_release(qe);
		}
		CHECK(count_dir(path, "active") == 0);
	}
	queue_close(q);
	free(path);
}

/* ---- a locker that opened an entry just before another process
 * finished with it (deterministic, through the step hook) ---- */

static struct queue *race_q;
static const char *race_id;
static enum op race_op;
static int race_armed;

static void
race_hook(const char *step)
{
	struct queue_entry *qe;
	struct err e;

	if (!race_armed || strcmp(step, "lock-opened") != 0)
		return;
	race_armed = 0;
	/* "The other run": lock, finish, release, all between our open()
	 * and our flock(). */
	CHECK(
	    queue_lock(race_q, QUEUE_ACTIVE, race_id, &qe, &e) == QUEUE_LOCKED);
	if (race_op == OP_REMOVE)
		CHECK(queue_remove(qe, &e) == 0);
	else if (race_op == OP_FAIL)
		CHECK(queue_fail(qe, 550, "550 no", &e) == 0);
	else
		CHECK(queue_defer(qe, 1900000000LL, 1, 451, "451", &e) == 0);
	queue_release(qe);
}

static void
test_lock_race(void)
{
	static const enum op ops[] = {OP_REMOVE, OP_FAIL, OP_DEFER};
	struct payload pl = {100, 0};
	struct queue_envelope tmpl;
	struct queue_entry *qe;
	char *path, id[QUEUE_ID_LEN + 1];
	struct err e;
	size_t i;
	int r;

	race_q = open_fresh("race", &path);
	sample_env(&tmpl);
	queue_test_hook = race_hook;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		CHECK(queue_store(race_q, &tmpl, write_payload, &pl, &qe, &e) ==
		      0);
		str_copy(id, queue_entry_id(qe), sizeof(id));
		queue_release(qe);
		race_id = id;
		race_op = ops[i];
		race_armed = 1;
		r = queue_lock(race_q, QUEUE_ACTIVE, id, &qe, &e);
		CHECK(race_armed == 0);
		if (ops[i] == OP_DEFER) {
			/* Still there: we see the envelope written before. */
			CHECK(r == QUEUE_LOCKED);
			if (r == QUEUE_LOCKED)
				CHECK(queue_entry_env(qe)->next_try ==
				      1900000000LL);
			queue_release(qe);
		} else {
			CHECK(r == QUEUE_GONE);
		}
	}
	queue_test_hook = NULL;
	queue_close(race_q);
	free(path);
}

/* ---- crash safety: SIGKILL at random moments ---- */

/* The child reports "A id" once a store returned, "r id" before and "R id"
 * after a removal, on fd. */
static void
random_worker(struct queue *q, int fd, unsigned seed)
{
	struct payload pl = {0, 0};
	struct queue_envelope tmpl;
	struct queue_entry *qe;
	char line[64];
	struct err e;
	int k;

	srand(seed);
	sample_env(&tmpl);
	for (;;) {
		pl.len = (size_t)(rand() % 20000);
		if (queue_store(q, &tmpl, write_payload, &pl, &qe, &e) == -1)
			_exit(3);
		snprintf(line, sizeof(line), "A %s\n", queue_entry_id(qe));
		if (write(fd, line, strlen(line)) < 0)
			_exit(4);
		k = rand() % 4;
		if (k == 0) {
			queue_defer(qe, 5, 1, 451, "451 later", &e);
		} else if (k == 1) {
			queue_fail(qe, 550, "550 no", &e);
			queue_requeue(qe, 7, &e);
		} else if (k == 2) {
			line[0] = 'r';
			if (write(fd, line, strlen(line)) < 0)
				_exit(4);
			if (queue_remove(qe, &e) == 0) {
				line[0] = 'R';
				if (write(fd, line, strlen(line)) < 0)
					_exit(4);
			}
		}
		queue_release(qe);
	}
}

/* Status of each ID the child reported: 'A', 'r' or 'R'. */
struct report {
	char id[QUEUE_ID_LEN + 1];
	char state;
};

static size_t
read_reports(int fd, struct report *rep, size_t max)
{
	char buf[65536];
	size_t len = 0, n = 0, i, j;
	ssize_t r;

	while ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	for (i = 0; i + QUEUE_ID_LEN + 2 <= len; i += QUEUE_ID_LEN + 3) {
		char st = buf[i], id[QUEUE_ID_LEN + 1];
		if (buf[i + QUEUE_ID_LEN + 2] != '\n')
			break; /* a torn last line: not reported */
		memcpy(id, buf + i + 2, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = '\0';
		for (j = 0; j < n && strcmp(rep[j].id, id) != 0; j++)
			;
		if (j == n && n < max)
			memcpy(rep[n++].id, id, sizeof(id));
		if (j < max)
			rep[j].state = st;
	}
	return n;
}

/* Compare what the killed child reported with the queue; returns the
 * number of disagreements. */
static int
check_reports(struct queue *q, int trial, const struct report *rep, size_t n)
{
	struct queue_envelope env;
	size_t i, present = verify_queue(q);
	struct err e;
	int bad = 0, in;

	for (i = 0; i < n; i++) {
		in = queue_peek(q, QUEUE_ACTIVE, rep[i].id, &env, &e) == 0 ||
		     queue_peek(q, QUEUE_FAILED, rep[i].id, &env, &e) == 0;
		queue_env_free(&env);
		/* Accepted and not removed: there.  Removed: not there. */
		if ((rep[i].state == 'A' && !in) ||
		    (rep[i].state == 'R' && in)) {
			fprintf(stderr, "trial %d: %s %c but %s\n", trial,
			    rep[i].id, rep[i].state, in ? "present" : "absent");
			bad++;
		}
	}
	/* At most one store finished without being reported. */
	if (present > n + 1) {
		fprintf(stderr, "trial %d: %zu entries, %zu reported\n", trial,
		    present, n);
		bad++;
	}
	return bad;
}

static int
kill_trial(const char *path, int trial)
{
	static struct report rep[2000];
	struct queue *q = NULL;
	struct err e;
	int fds[2], status, bad;
	pid_t pid;
	size_t n;

	rm_rf(path);
	CHECK(queue_open(path, 1, &q, &e) == 0);
	CHECK(pipe(fds) == 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		random_worker(q, fds[1], (unsigned)trial);
	}
	close(fds[1]);
	usleep((useconds_t)(rand() % 8000));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	n = read_reports(fds[0], rep, sizeof(rep) / sizeof(rep[0]));
	close(fds[0]);
	bad = check_reports(q, trial, rep, n);
	CHECK(queue_cleanup(q, (long long)time(NULL) + QUEUE_STALE_TMP + 2,
		  &e) == 0);
	if (count_dir(path, "tmp") != 0) {
		fprintf(stderr, "trial %d: tmp not empty\n", trial);
		bad++;
	}
	queue_close(q);
	return bad;
}

static void
test_kill_random(void)
{
	char *path = subdir("killrand");
	int trial, bad = 0;

	srand(12345);
	for (trial = 0; trial < 200; trial++)
		bad += kill_trial(path, trial);
	CHECK(bad == 0);
	free(path);
}

/* ---- concurrency: several runs lock and remove the same entries ---- */

static int
odd_id(const char *id)
{
	return strchr("13579bdf", id[QUEUE_ID_LEN - 1]) != NULL;
}

static void
runner(const char *path, int fd)
{
	struct queue_entry *qe;
	struct queue *q;
	struct err e;
	char **ids, line[64];
	size_t i, n;

	if (queue_open(path, 0, &q, &e) == -1 ||
	    queue_list(q, QUEUE_ACTIVE, &ids, &n, &e) == -1)
		_exit(1);
	for (i = 0; i < n; i++) {
		if (queue_lock(q, QUEUE_ACTIVE, ids[i], &qe, &e) !=
		    QUEUE_LOCKED)
			continue;
		/* "send": report, then remove, or fail (moved, not removed:
		 * the lock alone must keep others off it). */
		snprintf(line, sizeof(line), "%s\n", ids[i]);
		if (write(fd, line, strlen(line)) < 0)
			_exit(2);
		if ((odd_id(ids[i]) ? queue_remove(qe, &e)
				    : queue_fail(qe, 0, "x", &e)) == -1)
			_exit(3);
		queue_release(qe);
	}
	_exit(0);
}

/* Each ID "sent" (a line in file out) exactly once: returns the lines
 * that were not a first report of a known ID. */
static size_t
count_dups(const char *out, char **ids, size_t n, size_t *lines)
{
	char line[64];
	size_t i, dups = 0;
	FILE *fp = fopen(out, "r");

	*lines = 0;
	CHECK(fp != NULL);
	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < n; i++)
			if (ids[i] != NULL && strcmp(ids[i], line) == 0)
				break;
		if (i == n) {
			dups++;
		} else {
			free(ids[i]);
			ids[i] = NULL;
		}
		(*lines)++;
	}
	if (fp != NULL)
		fclose(fp);
	return dups;
}

static void
test_concurrent_runs(void)
{
	struct payload pl = {4096, 0};
	struct queue_envelope tmpl;
	char *path, *out, **ids, **all;
	struct err e;
	struct queue *q = open_fresh("conc", &path);
	size_t i, n, lines, evens = 0;
	pid_t pids[3];
	int fd, k, status;

	sample_env(&tmpl);
	for (i = 0; i < 200; i++)
		CHECK(queue_store(q, &tmpl, write_payload, &pl, NULL, &e) == 0);
	CHECK(queue_list(q, QUEUE_ACTIVE, &ids, &n, &e) == 0 && n == 200);
	CHECK(queue_list(q, QUEUE_ACTIVE, &all, &n, &e) == 0 && n == 200);
	out = subdir("conc.out");
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
	fflush(NULL);
	for (k = 0; k < 3; k++)
		if ((pids[k] = fork()) == 0)
			runner(path, fd);
	for (k = 0; k < 3; k++)
		CHECK(waitpid(pids[k], &status, 0) == pids[k] &&
		      WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	CHECK(count_dups(out, ids, n, &lines) == 0 && lines == 200);
	CHECK(count_dir(path, "active") == 0 && count_dir(path, "tmp") == 0);
	for (i = 0; i < n; i++)
		evens += !odd_id(all[i]);
	CHECK(count_dir(path, "failed") == evens);
	queue_list_free(all, n);
	queue_list_free(ids, n);
	queue_close(q);
	free(out);
	free(path);
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_ids();
	test_parse_table();
	test_roundtrip();
	test_format_rejects();
	test_rcpt_limit();
	test_backoff();
	test_expired();
	test_rate_check();
	test_open();
	test_lifecycle();
	test_rcpt_state();
	test_store_failures();
	test_full_and_readonly();
	test_corrupt();
	test_cleanup();
	test_rate_take();
	test_kill_store_steps();
	test_kill_update_steps();
	test_lock_race();
	test_kill_random();
	test_concurrent_runs();
	rm_rf(topdir);
	return check_done();
}
