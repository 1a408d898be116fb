/*
 * queue.c -- the durable spool: a message is on disk, complete, before any
 * network activity, and leaves the queue only after a 2xx to the final dot.
 *
 * Layout (directories 0700, files 0600):
 *
 *   DIR/tmp/ID/        a store in progress (its msg file flock()ed)
 *   DIR/tmp/del-ID/    an entry being removed
 *   DIR/active/ID/     queued entries
 *   DIR/failed/ID/     entries that failed permanently, kept for inspection
 *   DIR/rate/NAME      per-account log of send times (rate_limit)
 *
 * An entry directory holds "msg", exactly the bytes to send (CRLF, not
 * dot-stuffed), "env", the envelope, and transiently "env.new" while the
 * envelope is replaced.  ID: 8 lowercase hex digits of the creation time
 * and 12 of random (libsodium), so names sort by age.
 *
 * "env" is text, one field per line, "key SP value LF".  Values are
 * printable (no byte below 0x20, no 0x7f; UTF-8 passes) and at most
 * QUEUE_MAX_VALUE bytes; numbers are decimal and range-checked:
 *
 *   postseal-queue 2           version, always the first line (1 or 2)
 *   id 65a1b2c39f8e7d6c5b4a    must equal the directory's name
 *   account work
 *   from <alice@example.org>   "<>" for the null sender
 *   rcpt <bob@example.net>     a recipient still to deliver
 *   why 450 4.2.1 busy         optional, right after a rcpt or failed
 *                              line: that recipient's last refusal
 *   sent <carol@example.net>   the server took it: never sent again
 *   failed <dave@example.net>  refused for good and reported
 *   why 550 5.1.1 no such user
 *   notify SUCCESS,FAILURE     optional: notify, ret, envid (RFC 3461)
 *   msgid <x@example.org>      optional, for logs
 *   body8bit 0                 0 or 1 (also smtputf8)
 *   size 4096                  bytes in msg
 *   created 1700000000         unix time; also next, optional retried
 *   attempts 2                 failed attempts so far
 *   code 451                   optional, SMTP code of the last failure
 *   error 451 4.3.0 try later  optional, the last failure
 *   held f=1 B=- F=Cron Daemon optional: spooled while the configuration
 *                              was unusable; submit.c's options to apply
 *   warned 1700014400          optional: a delay warning was sent then
 *   uid 1001                   optional: the local user who submitted it
 *                              through the drop step (privsep.c); never 0
 *   end                        the last line; nothing may follow
 *
 * Recipients: rcpt, sent and failed lines together 1..QUEUE_MAX_RCPTS
 * times.  Version 1 (written before per-recipient state existed, and
 * still written while every recipient is pending without a refusal, so
 * an older postseal can read it) has no why, sent or failed lines and at
 * least one rcpt line; in failed/ its rcpt lines are the recipients that
 * failed.  A version 2 entry in failed/ has no rcpt line left.
 *
 * Crash safety.  Store: mkdir tmp/ID, write msg and env, fsync both and
 * tmp/ID, rename tmp/ID to active/ID, fsync active/: an entry appears in
 * active/ complete or not at all, and leftovers in tmp/ are swept by
 * queue_cleanup().  Envelope update: write env.new, fsync, rename over env,
 * fsync the entry: a crash leaves the old or the new envelope.  Fail and
 * requeue: one rename between areas.  Removal: one rename to tmp/del-ID,
 * then unlink, not fsync()ed: a crash right after it may resend
 * (at-least-once, like a connection lost after the final dot).  Recording
 * that every recipient was sent (queue_set_rcpts(), retire()) is that
 * removal's rename with the area fsync()ed, instead of a synced new
 * envelope: a crash before the fsync returns resends, after it does not,
 * as with the envelope, at one sync instead of two.  Syncs per message
 * that is stored and then delivered by a queue run: four to store, one
 * when it is delivered.
 *
 * Locking: flock(LOCK_EX|LOCK_NB) on msg, whose inode never changes.  After
 * taking it we check that the entry is still where we found it; only the
 * lock holder changes, moves or removes an entry.
 *
 * Failure policy: every failure is returned, nothing here prints.  Kinds:
 * ERR_TEMP (exit 75: the caller keeps the mail and retries) for a full
 * disk, quota or file size limit, and for permissions and read-only file
 * systems (a spool an administrator can fix), ERR_IO otherwise, ERR_DATA
 * for corrupt entries.  A failed store removes what it wrote.
 *
 * Non-goals: deciding what to send when (runq.c), networking, messages.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "queue.h"

#define ENV_VERSION1 "postseal-queue 1"
#define ENV_VERSION2 "postseal-queue 2"
#define ENV_MAX ((size_t)(2 * QUEUE_MAX_RCPTS + 32) * (QUEUE_MAX_VALUE + 16))
#define MAX_SIZE (1ULL << 50)
#define RATE_REC 13 /* "%012lld\n" */
#define RATE_SLACK 64

#ifdef QUEUE_TEST_HOOKS
void (*queue_test_hook)(const char *step);
#define HOOK(s)                                                                \
	do {                                                                   \
		if (queue_test_hook != NULL)                                   \
			queue_test_hook(s);                                    \
	} while (0)
#else
#define HOOK(s)                                                                \
	do {                                                                   \
	} while (0)
#endif

static const char *const area_names[] = {"active", "failed"};

struct queue {
	char *path;
	int fd;
	int areafd[2];
	int tmpfd;
	int ratefd;
	dev_t dev;
	ino_t ino;
};

struct queue_entry {
	struct queue *q; /* borrowed */
	enum queue_area area;
	char id[QUEUE_ID_LEN + 1];
	int dirfd;
	int msgfd;   /* holds the lock */
	int in_tmp;  /* a store not yet committed */
	int loaded;  /* env is valid */
	int gone;    /* removed by us */
	int retired; /* delivered: durably out of its area, in tmp/del-ID */
	struct queue_envelope env;
};

/* ---- errors and small I/O helpers ---- */

static enum err_kind
errno_kind(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
	case EACCES: /* postseal(1): an unwritable queue exits 75 */
	case EPERM:
	case EROFS:
		return ERR_TEMP;
	default:
		return ERR_IO;
	}
}

static int sys_err(struct err *e, const struct queue *q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fill e from errno: "queue DIR: what: strerror". */
static int
sys_err(struct err *e, const struct queue *q, const char *fmt, ...)
{
	int saved = errno;
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(e, errno_kind(saved), "queue %s: %s: %s", q->path, what,
	    strerror(saved));
}

static int
read_all_at(int fd, char *p, size_t n, off_t off)
{
	ssize_t r;

	while (n > 0) {
		if ((r = pread(fd, p, n, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int
open_dir_at(int at, const char *name)
{
	return openat(at, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static void
close_fd(int *fdp)
{
	if (*fdp != -1)
		close(*fdp);
	*fdp = -1;
}

/* Rename without replacing: entries are never empty, so where the file
 * system lacks RENAME_NOREPLACE, rename() fails with ENOTEMPTY anyway. */
static int
rename_noreplace(int from, const char *a, int to, const char *b)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(from, a, to, b, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	return renameat(from, a, to, b);
}

/* Read a whole small file into b (capped at b->max).  QUEUE_GONE if it does
 * not exist. */
static int
read_file_at(const struct queue *q, int dirfd, const char *name, struct buf *b,
    struct err *e)
{
	char chunk[8192];
	ssize_t r;
	int fd, ret = 0;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? QUEUE_GONE
				       : sys_err(e, q, "open %s", name);
	for (;;) {
		if ((r = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			ret = sys_err(e, q, "read %s", name);
			break;
		}
		if (r == 0)
			break;
		if (buf_add(b, chunk, (size_t)r) == -1) {
			ret = err_set(e, ERR_DATA, "%s: file too large", name);
			break;
		}
	}
	close(fd);
	return ret;
}

/* ---- the envelope format ---- */

int
queue_id_valid(const char *id)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
			(id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[i] == '\0';
}

enum ftype {
	F_ID,
	F_NAME,
	F_ADDR,
	F_RCPT,	  /* list: pending */
	F_SENT,	  /* list: delivered */
	F_FAILED, /* list: failed */
	F_WHY,	  /* after a rcpt or failed line */
	F_TEXT,
	F_BOOL,
	F_TIME,
	F_COUNT,
	F_SIZE,
	F_CODE
};

struct field {
	const char *key;
	enum ftype type;
	int required;
	size_t off; /* of the member in struct queue_envelope */
};

#define OFF(m) offsetof(struct queue_envelope, m)
static const struct field fields[] = {
    {"id", F_ID, 1, OFF(id)},
    {"account", F_NAME, 1, OFF(account)},
    {"from", F_ADDR, 1, OFF(from)},
    {"rcpt", F_RCPT, 0, OFF(rcpts)},
    {"sent", F_SENT, 0, OFF(sent)},
    {"failed", F_FAILED, 0, OFF(failed)},
    {"why", F_WHY, 0, 0},
    {"notify", F_TEXT, 0, OFF(dsn_notify)},
    {"ret", F_TEXT, 0, OFF(dsn_return)},
    {"envid", F_TEXT, 0, OFF(dsn_envid)},
    {"msgid", F_TEXT, 0, OFF(msgid)},
    {"body8bit", F_BOOL, 1, OFF(body_8bit)},
    {"smtputf8", F_BOOL, 1, OFF(smtputf8)},
    {"size", F_SIZE, 1, OFF(size)},
    {"created", F_TIME, 1, OFF(created)},
    {"retried", F_TIME, 0, OFF(retried)},
    {"attempts", F_COUNT, 1, OFF(attempts)},
    {"next", F_TIME, 1, OFF(next_try)},
    {"code", F_CODE, 0, OFF(last_code)},
    {"error", F_TEXT, 0, OFF(last_error)},
    {"held", F_TEXT, 0, OFF(held)},
    {"warned", F_TIME, 0, OFF(warned)},
    {"uid", F_SIZE, 0, OFF(uid)},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char **
str_at(struct queue_envelope *env, const struct field *f)
{
	return (const char **)(void *)((char *)env + f->off);
}

static const char *
str_get(const struct queue_envelope *env, const struct field *f)
{
	return *(const char *const *)(const void *)((const char *)env + f->off);
}

static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* NULL if the n bytes at v are a valid value of type t, else why not.  For
 * addresses v is the address without its angle brackets. */
static const char *
check_value(enum ftype t, const char *v, size_t n)
{
	if (n > QUEUE_MAX_VALUE || (t == F_ADDR && n > QUEUE_MAX_VALUE - 2))
		return "value too long";
	if (!printable(v, n))
		return "control character in value";
	if (t == F_ID && (n != QUEUE_ID_LEN || !queue_id_valid(v)))
		return "malformed queue ID";
	if (t == F_NAME && (n == 0 || n > QUEUE_MAX_NAME))
		return "bad account name";
	if ((t == F_RCPT || t == F_SENT || t == F_FAILED) &&
	    (n == 0 || n > QUEUE_MAX_VALUE - 2))
		return "empty or long recipient";
	return NULL;
}

static unsigned long long
number_max(enum ftype t)
{
	switch (t) {
	case F_BOOL:
		return 1;
	case F_TIME:
		return QUEUE_MAX_TIME;
	case F_COUNT:
		return QUEUE_MAX_ATTEMPTS;
	case F_CODE:
		return 599;
	default:
		return MAX_SIZE;
	}
}

static void
num_set(struct queue_envelope *env, const struct field *f, unsigned long long v)
{
	void *p = (char *)env + f->off;

	if (f->type == F_BOOL || f->type == F_CODE)
		*(int *)p = (int)v;
	else if (f->type == F_TIME)
		*(long long *)p = (long long)v;
	else if (f->type == F_COUNT)
		*(unsigned *)p = (unsigned)v;
	else
		*(unsigned long long *)p = v;
}

/* The numeric member for f; -1 if it is negative. */
static int
num_get(const struct queue_envelope *env, const struct field *f,
    unsigned long long *v)
{
	const void *p = (const char *)env + f->off;
	long long s;

	if (f->type == F_TIME) {
		if ((s = *(const long long *)p) < 0)
			return -1;
		*v = (unsigned long long)s;
	} else if (f->type == F_BOOL || f->type == F_CODE) {
		if ((s = *(const int *)p) < 0)
			return -1;
		*v = (unsigned long long)s;
	} else if (f->type == F_COUNT) {
		*v = *(const unsigned *)p;
	} else {
		*v = *(const unsigned long long *)p;
	}
	return 0;
}

static int
number_ok(enum ftype t, unsigned long long v)
{
	return v <= number_max(t) && (t != F_CODE || v >= 200);
}

void
queue_env_free(struct queue_envelope *env)
{
	if (env == NULL)
		return;
	free(env->text_);
	free(env->rcptv_);
	free(env->rwhyv_);
	free(env->sentv_);
	free(env->failedv_);
	free(env->fwhyv_);
	memset(env, 0, sizeof(*env));
}

struct pstate {
	struct queue_envelope *env;
	unsigned lineno;
	unsigned long seen; /* bit per field */
	int version;
	int ended;
	const char ***why; /* where a why line may go next, or NULL */
	size_t whyi;
};

static int
perr(const struct pstate *ps, struct err *e, const char *why)
{
	return err_set(e, ERR_DATA, "envelope line %u: %s", ps->lineno, why);
}

/* A list of at most QUEUE_MAX_RCPTS strings, allocated at first use. */
static void
list_put(const char ***v, size_t i, const char *s)
{
	if (*v == NULL)
		*v = xcalloc(QUEUE_MAX_RCPTS, sizeof(**v));
	(*v)[i] = s;
}

/* A recipient line of type t; a why line may follow it. */
static int
add_rcpt(struct pstate *ps, enum ftype t, const char *v, struct err *e)
{
	struct queue_envelope *env = ps->env;

	if (env->nrcpts + env->nsent + env->nfailed >= QUEUE_MAX_RCPTS)
		return perr(ps, e, "too many recipients");
	ps->why = NULL;
	if (t == F_RCPT) {
		list_put(&env->rcptv_, env->nrcpts, v);
		ps->why = &env->rwhyv_;
		ps->whyi = env->nrcpts++;
	} else if (t == F_FAILED) {
		list_put(&env->failedv_, env->nfailed, v);
		ps->why = &env->fwhyv_;
		ps->whyi = env->nfailed++;
	} else {
		list_put(&env->sentv_, env->nsent++, v);
	}
	return 0;
}

static int
add_why(struct pstate *ps, const char *v, struct err *e)
{
	if (ps->why == NULL)
		return perr(ps, e, "why without a rcpt or failed line");
	list_put(ps->why, ps->whyi, v);
	ps->why = NULL;
	return 0;
}

/* Store the value v (NUL-terminated, inside env->text_) of field f. */
static int
set_value(struct pstate *ps, const struct field *f, char *v, struct err *e)
{
	size_t n = strlen(v);
	unsigned long long num;
	const char *why;

	if (f->type == F_ADDR || (f->type >= F_RCPT && f->type <= F_FAILED)) {
		if (n < 2 || v[0] != '<' || v[n - 1] != '>')
			return perr(ps, e, "address not in <>");
		v[n - 1] = '\0';
		v++;
		n -= 2;
	}
	if (f->type <= F_TEXT) {
		if ((why = check_value(f->type, v, n)) != NULL)
			return perr(ps, e, why);
		if (f->type == F_ID)
			memcpy(ps->env->id, v, QUEUE_ID_LEN + 1);
		else if (f->type == F_WHY)
			return add_why(ps, v, e);
		else if (f->type >= F_RCPT && f->type <= F_FAILED)
			return add_rcpt(ps, f->type, v, e);
		else
			*str_at(ps->env, f) = v;
		return 0;
	}
	if (parse_uint_str(v, number_max(f->type), &num) == -1 ||
	    !number_ok(f->type, num))
		return perr(ps, e, "bad number");
	num_set(ps->env, f, num);
	return 0;
}

static int
parse_line(struct pstate *ps, char *line, struct err *e)
{
	char *sp;
	size_t i;

	if (ps->lineno == 1) {
		ps->version = strcmp(line, ENV_VERSION1) == 0	? 1
			      : strcmp(line, ENV_VERSION2) == 0 ? 2
								: 0;
		return ps->version != 0
			   ? 0
			   : perr(ps, e, "not a version 1 or 2 queue envelope");
	}
	if (strcmp(line, "end") == 0) {
		ps->ended = 1;
		return 0;
	}
	if ((sp = strchr(line, ' ')) == NULL)
		return perr(ps, e, "expected \"key value\"");
	*sp = '\0';
	for (i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].key, line) == 0)
			break;
	if (i == NFIELDS)
		return perr(ps, e, "unknown key");
	if (fields[i].type >= F_SENT && fields[i].type <= F_WHY &&
	    ps->version < 2)
		return perr(ps, e, "key not in a version 1 envelope");
	if ((fields[i].type < F_RCPT || fields[i].type > F_WHY) &&
	    (ps->seen & (1UL << i)))
		return perr(ps, e, "duplicate key");
	ps->seen |= 1UL << i;
	if (fields[i].type != F_WHY && fields[i].type != F_RCPT &&
	    fields[i].type != F_FAILED)
		ps->why = NULL;
	return set_value(ps, &fields[i], sp + 1, e);
}

static int
parse_check_required(const struct pstate *ps, struct err *e)
{
	size_t i;

	const struct queue_envelope *env = ps->env;

	for (i = 0; i < NFIELDS; i++)
		if (fields[i].required && !(ps->seen & (1UL << i)))
			return err_set(e, ERR_DATA, "envelope: no \"%s\" line",
			    fields[i].key);
	if (env->nrcpts + env->nsent + env->nfailed == 0)
		return err_set(e, ERR_DATA, "envelope: no \"rcpt\" line");
	return 0;
}

int
queue_env_parse(const char *text, size_t len, struct queue_envelope *env,
    struct err *e)
{
	struct pstate ps = {env, 0, 0, 0, 0, NULL, 0};
	char *p, *end, *nl;

	memset(env, 0, sizeof(*env));
	if (len > ENV_MAX)
		return err_set(e, ERR_DATA, "envelope: too large");
	if (memchr(text, '\0', len) != NULL)
		return err_set(e, ERR_DATA, "envelope: NUL byte");
	env->text_ = xcalloc(len + 1, 1);
	memcpy(env->text_, text, len);
	p = env->text_;
	end = p + len;
	while (p < end && !ps.ended) {
		ps.lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			perr(&ps, e, "unterminated line (truncated?)");
			goto fail;
		}
		*nl = '\0';
		if (parse_line(&ps, p, e) == -1)
			goto fail;
		p = nl + 1;
	}
	if (!ps.ended) {
		err_set(e, ERR_DATA, "envelope: no end line (truncated?)");
		goto fail;
	}
	if (p != end) {
		err_set(e, ERR_DATA, "envelope: data after the end line");
		goto fail;
	}
	if (parse_check_required(&ps, e) == -1)
		goto fail;
	env->rcpts = env->rcptv_;
	env->rcpt_why = env->rwhyv_;
	env->sent = env->sentv_;
	env->failed = env->failedv_;
	env->failed_why = env->fwhyv_;
	return 0;
fail:
	queue_env_free(env);
	return -1;
}

static int
put_str(struct buf *out, const struct field *f, const char *s, struct err *e)
{
	size_t n = strlen(s);
	const char *why;
	int addr =
	    f->type == F_ADDR || (f->type >= F_RCPT && f->type <= F_FAILED);

	if ((why = check_value(f->type, s, n)) != NULL)
		return err_set(e, ERR_DATA, "envelope %s: %s", f->key, why);
	if (buf_addstr(out, f->key) == -1 || buf_addch(out, ' ') == -1 ||
	    (addr && buf_addch(out, '<') == -1) || buf_add(out, s, n) == -1 ||
	    (addr && buf_addch(out, '>') == -1) || buf_addch(out, '\n') == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	return 0;
}

static const struct field why_field = {"why", F_WHY, 0, 0};

/* The recipients of list f (rcpt, sent, failed), each with its why. */
static int
put_rcpts(struct buf *out, const struct field *f,
    const struct queue_envelope *env, struct err *e)
{
	const char *const *v = f->type == F_RCPT   ? env->rcpts
			       : f->type == F_SENT ? env->sent
						   : env->failed;
	const char *const *why = f->type == F_RCPT     ? env->rcpt_why
				 : f->type == F_FAILED ? env->failed_why
						       : NULL;
	size_t i, n = f->type == F_RCPT	    ? env->nrcpts
		      : f->type == F_SENT   ? env->nsent
		      : f->type == F_FAILED ? env->nfailed
					    : 0;

	for (i = 0; i < n; i++) {
		if (put_str(out, f, v[i], e) == -1)
			return -1;
		if (why != NULL && why[i] != NULL &&
		    put_str(out, &why_field, why[i], e) == -1)
			return -1;
	}
	return 0;
}

/* Version 1 unless something needs version 2. */
static int
env_version(const struct queue_envelope *env)
{
	size_t i;

	if (env->nsent > 0 || env->nfailed > 0)
		return 2;
	for (i = 0; env->rcpt_why != NULL && i < env->nrcpts; i++)
		if (env->rcpt_why[i] != NULL)
			return 2;
	return 1;
}

static int
put_field(struct buf *out, const struct field *f,
    const struct queue_envelope *env, struct err *e)
{
	unsigned long long v;
	const char *s;

	if (f->type >= F_RCPT && f->type <= F_WHY)
		return put_rcpts(out, f, env, e);
	if (f->type <= F_TEXT) {
		s = f->type == F_ID ? env->id : str_get(env, f);
		if (s == NULL && f->required)
			return err_set(e, ERR_DATA, "envelope: no %s", f->key);
		return s == NULL ? 0 : put_str(out, f, s, e);
	}
	if (num_get(env, f, &v) == -1 || (v != 0 && !number_ok(f->type, v)))
		return err_set(e, ERR_DATA, "envelope %s: out of range",
		    f->key);
	if (v == 0 && !f->required)
		return 0;
	if (buf_printf(out, "%s %llu\n", f->key, v) == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	return 0;
}

int
queue_env_format(const struct queue_envelope *env, struct buf *out,
    struct err *e)
{
	size_t i, n = env->nrcpts + env->nsent + env->nfailed;

	if (n == 0 || n > QUEUE_MAX_RCPTS || env->nrcpts > QUEUE_MAX_RCPTS ||
	    env->nsent > QUEUE_MAX_RCPTS || env->nfailed > QUEUE_MAX_RCPTS)
		return err_set(e, ERR_DATA, "envelope: %zu recipients", n);
	if (buf_addstr(out, env_version(env) == 1 ? ENV_VERSION1 "\n"
						  : ENV_VERSION2 "\n") == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	for (i = 0; i < NFIELDS; i++)
		if (put_field(out, &fields[i], env, e) == -1)
			return -1;
	if (buf_addstr(out, "end\n") == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	return 0;
}

/* ---- schedule ---- */

long long
queue_backoff(unsigned attempts, unsigned min, unsigned max)
{
	long long d = min;
	unsigned i;

	if (min > max)
		return max;
	for (i = 1; i < attempts && d < (long long)max; i++)
		d *= 2;
	return d > (long long)max ? (long long)max : d;
}

int
queue_expired(const struct queue_envelope *env, long long now, unsigned max_age)
{
	long long base =
	    env->retried > env->created ? env->retried : env->created;

	return max_age != 0 && now - base >= (long long)max_age;
}

int
queue_rate_check(const long long *recent, size_t n, unsigned count,
    unsigned period, long long now, long long *next_ok)
{
	long long oldest;

	*next_ok = now;
	if (count == 0 || n < count)
		return 1;
	/* The count-th most recent send must have left the window. */
	oldest = recent[n - count];
	if (oldest + (long long)period <= now)
		return 1;
	*next_ok = oldest + (long long)period;
	return 0;
}

/* ---- opening the queue ---- */

static void
sync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	if (str_copy(dir, path, sizeof(dir)) == -1)
		return;
	if ((slash = strrchr(dir, '/')) == NULL)
		str_copy(dir, ".", sizeof(dir));
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
}

/* mkdir -p with mode 0700; new directories are made durable. */
static int
make_dirs(const char *path, struct err *e)
{
	char p[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || str_copy(p, path, sizeof(p)) == -1)
		return err_set(e, ERR_CONFIG,
		    "queue directory name empty or "
		    "too long");
	for (i = 1; i <= n; i++) {
		if ((p[i] != '/' && p[i] != '\0') || p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) == 0)
			sync_parent(p);
		else if (errno != EEXIST)
			return err_set(e, errno_kind(errno),
			    "cannot create queue directory %s: %s", p,
			    strerror(errno));
		p[i] = path[i];
	}
	return 0;
}

/*
 * The queue (and each area in it) must not be writable by anyone who could
 * plant entries: ours or root's, no write for others, and group write only
 * for our effective group when we run setgid (getegid() != getgid()); a
 * per-user queue in a group shared with other users is refused.
 */
static int
check_owner(const struct queue *q, const char *area, const struct stat *st,
    struct err *e)
{
	int setgid_group = getegid() != getgid() && st->st_gid == getegid();

	if (!S_ISDIR(st->st_mode))
		return err_set(e, ERR_CONFIG, "queue %s%s: not a directory",
		    q->path, area);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return err_set(e, ERR_CONFIG, "queue %s%s: owned by uid %lu",
		    q->path, area, (unsigned long)st->st_uid);
	if ((st->st_mode & S_IWOTH) ||
	    ((st->st_mode & S_IWGRP) && !setgid_group))
		return err_set(e, ERR_CONFIG,
		    "queue %s%s: writable by other users; run: chmod go-w %s%s",
		    q->path, area, q->path, area);
	return 0;
}

/* One existing component p of the queue path (see check_path()). */
static int
check_component(const char *path, const char *p, const struct stat *st,
    int last, struct err *e)
{
	if (S_ISLNK(st->st_mode))
		return err_set(e, ERR_CONFIG, "queue %s: %s is a symbolic link",
		    path, p);
	if (!S_ISDIR(st->st_mode))
		return err_set(e, ERR_CONFIG, "queue %s: %s is not a directory",
		    path, p);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return err_set(e, ERR_CONFIG,
		    "queue %s: %s is owned by uid %lu", path, p,
		    (unsigned long)st->st_uid);
	if (!last && (st->st_mode & 022) && !(st->st_mode & S_ISVTX))
		return err_set(e, ERR_CONFIG,
		    "queue %s: %s is writable by other users; run: "
		    "chmod go-w %s",
		    path, p, p);
	return 0;
}

/*
 * Every existing component of the queue's path (the queue included) must
 * be a real directory, not a symbolic link, owned by us or root, and every
 * ancestor must be writable by nobody else unless it is sticky (/tmp).
 * Under a directory others can write, the next component must already
 * exist (it is then checked like the others): we never create a queue
 * where someone else could have planted its name first.  Called before
 * the missing parts are made, and again after.
 */
static int
check_path(const char *path, int create, struct err *e)
{
	char p[PATH_MAX];
	size_t i, n = strlen(path);
	struct stat st;
	int open_parent = 0;

	if (n == 0 || str_copy(p, path, sizeof(p)) == -1)
		return err_set(e, ERR_CONFIG,
		    "queue directory name empty or too long");
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	for (i = 1; i <= n; i++) {
		if ((p[i] != '/' && p[i] != '\0') || p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (lstat(p, &st) == -1) {
			if (errno != ENOENT)
				return err_set(e, errno_kind(errno),
				    "queue %s: %s: %s", path, p,
				    strerror(errno));
			if (!open_parent || !create)
				return 0; /* made by make_dirs(), or ENOENT */
			return err_set(e, ERR_CONFIG,
			    "queue %s: %s would be created in a directory "
			    "others can write; create it first "
			    "(mkdir -m 700 %s)",
			    path, p, p);
		}
		if (check_component(path, p, &st, i == n, e) == -1)
			return -1;
		open_parent = (st.st_mode & 022) != 0;
		p[i] = path[i];
	}
	return 0;
}

static int
open_area(struct queue *q, const char *name, int *fdp, struct err *e)
{
	char area[16];
	struct stat st;

	if (mkdirat(q->fd, name, 0700) == 0)
		fsync(q->fd);
	if ((*fdp = open_dir_at(q->fd, name)) == -1)
		return sys_err(e, q, "open %s/", name);
	snprintf(area, sizeof(area), "/%s", name);
	if (fstat(*fdp, &st) == -1)
		return sys_err(e, q, "stat %s/", name);
	return check_owner(q, area, &st, e);
}

int
queue_open(const char *dir, int create, struct queue **out, struct err *e)
{
	struct queue *q;
	struct stat st;

	*out = NULL;
	if (sodium_init() < 0)
		return err_set(e, ERR_OS, "cannot initialise libsodium");
	if (check_path(dir, create, e) == -1 ||
	    (create && make_dirs(dir, e) == -1) ||
	    check_path(dir, create, e) == -1)
		return -1;
	q = xcalloc(1, sizeof(*q));
	q->fd = q->areafd[0] = q->areafd[1] = q->tmpfd = q->ratefd = -1;
	q->path = xstrdup(dir);
	if ((q->fd = open(dir,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			err_set(e, ERR_NOINPUT, "queue %s does not exist", dir);
		else
			sys_err(e, q, "open");
		goto fail;
	}
	if (fstat(q->fd, &st) == -1 || check_owner(q, "", &st, e) == -1)
		goto fail;
	q->dev = st.st_dev;
	q->ino = st.st_ino;
	if (open_area(q, "tmp", &q->tmpfd, e) == -1 ||
	    open_area(q, area_names[QUEUE_ACTIVE], &q->areafd[QUEUE_ACTIVE],
		e) == -1 ||
	    open_area(q, area_names[QUEUE_FAILED], &q->areafd[QUEUE_FAILED],
		e) == -1 ||
	    open_area(q, "rate", &q->ratefd, e) == -1)
		goto fail;
	*out = q;
	return 0;
fail:
	queue_close(q);
	return -1;
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	close_fd(&q->fd);
	close_fd(&q->areafd[0]);
	close_fd(&q->areafd[1]);
	close_fd(&q->tmpfd);
	close_fd(&q->ratefd);
	free(q->path);
	free(q);
}

const char *
queue_path(const struct queue *q)
{
	return q->path;
}

int
queue_same(const struct queue *a, const struct queue *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* ---- entries ---- */

static struct queue_entry *
entry_new(struct queue *q, enum queue_area area, const char *id)
{
	struct queue_entry *qe = xcalloc(1, sizeof(*qe));

	qe->q = q;
	qe->area = area;
	qe->dirfd = qe->msgfd = -1;
	if (id != NULL)
		str_copy(qe->id, id, sizeof(qe->id));
	return qe;
}

void
queue_release(struct queue_entry *qe)
{
	if (qe == NULL)
		return;
	/* close(), not LOCK_UN: a fork()ed child may share the lock. */
	close_fd(&qe->msgfd);
	close_fd(&qe->dirfd);
	queue_env_free(&qe->env);
	free(qe);
}

const struct queue_envelope *
queue_entry_env(const struct queue_entry *qe)
{
	return qe->loaded ? &qe->env : NULL;
}

int
queue_entry_fd(const struct queue_entry *qe)
{
	return qe->msgfd;
}

const char *
queue_entry_id(const struct queue_entry *qe)
{
	return qe->id;
}

enum queue_area
queue_entry_area(const struct queue_entry *qe)
{
	return qe->area;
}

/* Unlink what an entry directory may hold, then the directory. */
static void
remove_tree(int parent, const char *name)
{
	int fd;

	if ((fd = open_dir_at(parent, name)) != -1) {
		unlinkat(fd, "msg", 0);
		unlinkat(fd, "env", 0);
		unlinkat(fd, "env.new", 0);
		close(fd);
	}
	unlinkat(parent, name, AT_REMOVEDIR);
}

/*
 * Write env as file name in the entry (fsync()ed if sync) and parse what
 * was written into *parsed, so memory and disk agree.
 */
static int
env_write(struct queue_entry *qe, const struct queue_envelope *env,
    const char *name, int sync, struct queue_envelope *parsed, struct err *e)
{
	struct buf b;
	int fd = -1, r = -1;

	buf_init(&b, ENV_MAX);
	if (queue_env_format(env, &b, e) == -1)
		goto out;
	fd = openat(qe->dirfd, name,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || fd_write_all(fd, b.data, b.len) == -1 ||
	    (sync && fdatasync(fd) == -1)) {
		sys_err(e, qe->q, "write %s/%s", qe->id, name);
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		sys_err(e, qe->q, "close %s/%s", qe->id, name);
		goto out;
	}
	r = queue_env_parse(b.data, b.len, parsed, e);
out:
	if (fd != -1)
		close(fd);
	buf_reset(&b);
	return r;
}

static void
new_id(char *id, long long now)
{
	unsigned char r[6];

	randombytes_buf(r, sizeof(r));
	snprintf(id, QUEUE_ID_LEN + 1, "%08llx%02x%02x%02x%02x%02x%02x",
	    (unsigned long long)now & 0xffffffffULL, r[0], r[1], r[2], r[3],
	    r[4], r[5]);
}

/* mkdir tmp/ID and create msg in it, locked. */
static int
store_begin(struct queue_entry *qe, long long now, struct err *e)
{
	struct queue *q = qe->q;
	int tries;

	for (tries = 0;; tries++) {
		new_id(qe->id, now);
		if (mkdirat(q->tmpfd, qe->id, 0700) == 0)
			break;
		if (errno != EEXIST || tries == 8)
			return sys_err(e, q, "create tmp/%s", qe->id);
	}
	qe->in_tmp = 1;
	if ((qe->dirfd = open_dir_at(q->tmpfd, qe->id)) == -1)
		return sys_err(e, q, "open tmp/%s", qe->id);
	qe->msgfd = openat(qe->dirfd, "msg",
	    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (qe->msgfd == -1)
		return sys_err(e, q, "create tmp/%s/msg", qe->id);
	if (flock(qe->msgfd, LOCK_EX | LOCK_NB) == -1)
		return sys_err(e, q, "lock tmp/%s/msg", qe->id);
	return 0;
}

/* Make msg durable and write env beside it. */
static int
store_envelope(struct queue_entry *qe, const struct queue_envelope *tmpl,
    long long now, struct err *e)
{
	struct queue_envelope env = *tmpl;
	struct stat st;

	if (fdatasync(qe->msgfd) == -1 || fstat(qe->msgfd, &st) == -1)
		return sys_err(e, qe->q, "write tmp/%s/msg", qe->id);
	HOOK("store-msg-synced");
	memcpy(env.id, qe->id, sizeof(env.id));
	env.size = (unsigned long long)st.st_size;
	env.created = env.next_try = now;
	env.retried = 0;
	env.attempts = 0;
	env.last_code = 0;
	env.last_error = NULL;
	env.warned = 0;
	if (env_write(qe, &env, "env", 1, &qe->env, e) == -1)
		return -1;
	qe->loaded = 1;
	HOOK("store-env-synced");
	if (fsync(qe->dirfd) == -1)
		return sys_err(e, qe->q, "fsync tmp/%s", qe->id);
	HOOK("store-dir-synced");
	return 0;
}

static int
store_commit(struct queue_entry *qe, struct err *e)
{
	struct queue *q = qe->q;

	if (rename_noreplace(q->tmpfd, qe->id, q->areafd[QUEUE_ACTIVE],
		qe->id) == -1)
		return sys_err(e, q, "rename tmp/%s to active/", qe->id);
	qe->in_tmp = 0;
	HOOK("store-renamed");
	if (fsync(q->areafd[QUEUE_ACTIVE]) == -1)
		return sys_err(e, q, "fsync active/");
	HOOK("store-done");
	return 0;
}

int
queue_store(struct queue *q, const struct queue_envelope *tmpl,
    queue_write_fn *write, void *arg, struct queue_entry **out, struct err *e)
{
	struct queue_entry *qe = entry_new(q, QUEUE_ACTIVE, NULL);
	long long now = (long long)time(NULL);
	struct err ignored;

	if (out != NULL)
		*out = NULL;
	if (store_begin(qe, now, e) == -1)
		goto fail;
	HOOK("store-created");
	if (write(arg, qe->msgfd, e) == -1)
		goto fail;
	HOOK("store-written");
	if (store_envelope(qe, tmpl, now, e) == -1 || store_commit(qe, e) == -1)
		goto fail;
	if (out != NULL)
		*out = qe;
	else
		queue_release(qe);
	return 0;
fail:
	if (qe->in_tmp)
		remove_tree(q->tmpfd, qe->id);
	else if (qe->dirfd != -1) /* renamed but not durable: take it back */
		queue_remove(qe, &ignored);
	queue_release(qe);
	return -1;
}

/* Open and lock an entry; check it is still in its area. */
static int
entry_acquire(struct queue_entry *qe, struct err *e)
{
	struct queue *q = qe->q;
	int areafd = q->areafd[qe->area];
	struct stat a, b;

	if ((qe->dirfd = open_dir_at(areafd, qe->id)) == -1)
		return errno == ENOENT ? QUEUE_GONE
				       : sys_err(e, q, "open %s", qe->id);
	qe->msgfd = openat(qe->dirfd, "msg", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (qe->msgfd == -1)
		return errno == ENOENT ? QUEUE_GONE
				       : sys_err(e, q, "open %s/msg", qe->id);
	HOOK("lock-opened");
	if (flock(qe->msgfd, LOCK_EX | LOCK_NB) == -1)
		return errno == EWOULDBLOCK ? QUEUE_BUSY
					    : sys_err(e, q, "lock %s", qe->id);
	/* The holder before us may have moved or removed it meanwhile. */
	if (fstat(qe->dirfd, &a) == -1)
		return sys_err(e, q, "stat %s", qe->id);
	if (fstatat(areafd, qe->id, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? QUEUE_GONE
				       : sys_err(e, q, "stat %s", qe->id);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return QUEUE_GONE;
	return QUEUE_LOCKED;
}

/* Read env from the entry directory dirfd and check it against id and the
 * size of msg (statted through msgfd if not -1, else by name). */
static int
env_load(struct queue *q, int dirfd, int msgfd, const char *id,
    struct queue_envelope *env, struct err *e)
{
	struct buf b;
	struct stat st;
	int r;

	buf_init(&b, ENV_MAX);
	r = read_file_at(q, dirfd, "env", &b, e);
	if (r == 0)
		r = queue_env_parse(b.data != NULL ? b.data : "", b.len, env,
		    e);
	buf_reset(&b);
	if (r != 0)
		return r;
	if (strcmp(env->id, id) != 0)
		r = err_set(e, ERR_DATA, "envelope names entry %s", env->id);
	else if ((msgfd != -1 ? fstat(msgfd, &st)
			      : fstatat(dirfd, "msg", &st, 0)) == -1)
		r = errno == ENOENT ? QUEUE_GONE : sys_err(e, q, "stat msg");
	else if ((unsigned long long)st.st_size != env->size)
		r = err_set(e, ERR_DATA, "message has %llu bytes, not %llu",
		    (unsigned long long)st.st_size, env->size);
	if (r != 0)
		queue_env_free(env);
	return r;
}

int
queue_lock(struct queue *q, enum queue_area area, const char *id,
    struct queue_entry **out, struct err *e)
{
	struct queue_entry *qe;
	int r;

	*out = NULL;
	if (!queue_id_valid(id))
		return err_set(e, ERR_USAGE, "not a queue ID: %s", id);
	qe = entry_new(q, area, id);
	if ((r = entry_acquire(qe, e)) != QUEUE_LOCKED) {
		queue_release(qe);
		return r;
	}
	*out = qe;
	r = env_load(q, qe->dirfd, qe->msgfd, id, &qe->env, e);
	if (r == QUEUE_GONE) /* env unlinked under a lock we now hold */
		r = err_set(e, ERR_DATA, "entry has no envelope");
	if (r == -1)
		return err_prefix(e, "queue %s: entry %s", q->path, id);
	qe->loaded = 1;
	return QUEUE_LOCKED;
}

int
queue_peek(struct queue *q, enum queue_area area, const char *id,
    struct queue_envelope *env, struct err *e)
{
	int dirfd, r;

	memset(env, 0, sizeof(*env));
	if (!queue_id_valid(id))
		return err_set(e, ERR_USAGE, "not a queue ID: %s", id);
	if ((dirfd = open_dir_at(q->areafd[area], id)) == -1)
		return errno == ENOENT ? QUEUE_GONE
				       : sys_err(e, q, "open %s", id);
	r = env_load(q, dirfd, -1, id, env, e);
	close(dirfd);
	if (r == -1)
		err_prefix(e, "queue %s: entry %s", q->path, id);
	return r;
}

static int
entry_usable(const struct queue_entry *qe, int need_env, struct err *e)
{
	if (qe->gone || qe->in_tmp || qe->msgfd == -1)
		return err_set(e, ERR_SOFTWARE, "queue entry %s not held",
		    qe->id);
	if (need_env && !qe->loaded)
		return err_set(e, ERR_DATA, "queue entry %s is corrupt",
		    qe->id);
	return 0;
}

int
queue_remove(struct queue_entry *qe, struct err *e)
{
	struct queue *q = qe->q;
	char del[QUEUE_ID_LEN + 8];

	if (qe->gone)
		return err_set(e, ERR_SOFTWARE, "queue entry %s not held",
		    qe->id);
	snprintf(del, sizeof(del), "del-%s", qe->id);
	if (qe->retired) { /* queue_set_rcpts() moved it already */
		qe->gone = 1;
		remove_tree(q->tmpfd, del);
		return 0;
	}
	if (renameat(q->areafd[qe->area], qe->id, q->tmpfd, del) == -1)
		return sys_err(e, q, "remove %s/%s", area_names[qe->area],
		    qe->id);
	qe->gone = 1;
	HOOK("remove-renamed");
	/* Gone from the queue: what follows is tidying, swept if it fails. */
	remove_tree(q->tmpfd, del);
	return 0;
}

/* Replace the envelope by env; memory follows disk. */
static int
env_replace(struct queue_entry *qe, const struct queue_envelope *env, int sync,
    struct err *e)
{
	struct queue_envelope parsed;

	unlinkat(qe->dirfd, "env.new", 0); /* stale, from a crash */
	if (env_write(qe, env, "env.new", sync, &parsed, e) == -1) {
		unlinkat(qe->dirfd, "env.new", 0);
		return -1;
	}
	HOOK("update-written");
	if (renameat(qe->dirfd, "env.new", qe->dirfd, "env") == -1) {
		sys_err(e, qe->q, "rename %s/env.new", qe->id);
		unlinkat(qe->dirfd, "env.new", 0);
		queue_env_free(&parsed);
		return -1;
	}
	queue_env_free(&qe->env);
	qe->env = parsed;
	HOOK("update-renamed");
	if (sync && fsync(qe->dirfd) == -1)
		return sys_err(e, qe->q, "fsync %s", qe->id);
	return 0;
}

static long long
clamp_time(long long t)
{
	return t < 0 ? 0 : t > QUEUE_MAX_TIME ? QUEUE_MAX_TIME : t;
}

/* Count a failed attempt in env; the text goes to buf (a printable copy
 * of why, cut to fit). */
static void
note_failure(struct queue_envelope *env, int code, const char *why, char *buf,
    size_t size)
{
	size_t i;

	if (env->attempts < QUEUE_MAX_ATTEMPTS)
		env->attempts++;
	env->last_code = code >= 200 && code <= 599 ? code : 0;
	env->last_error = NULL;
	if (why == NULL || size == 0)
		return;
	for (i = 0; why[i] != '\0' && i + 1 < size; i++)
		buf[i] = ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			     ? '?'
			     : why[i];
	buf[i] = '\0';
	env->last_error = buf;
}

int
queue_defer(struct queue_entry *qe, long long next_try, int count, int code,
    const char *why, struct err *e)
{
	struct queue_envelope env;
	char text[QUEUE_MAX_VALUE + 1];

	if (entry_usable(qe, 1, e) == -1)
		return -1;
	env = qe->env;
	env.next_try = clamp_time(next_try);
	if (count)
		note_failure(&env, code, why, text, sizeof(text));
	return env_replace(qe, &env, count, e);
}

/* Move the entry to another area (one rename), both directories synced. */
static int
entry_move(struct queue_entry *qe, enum queue_area to, struct err *e)
{
	struct queue *q = qe->q;
	enum queue_area from = qe->area;

	if (rename_noreplace(q->areafd[from], qe->id, q->areafd[to], qe->id) ==
	    -1)
		return sys_err(e, q, "move %s to %s/", qe->id, area_names[to]);
	qe->area = to;
	HOOK("move-renamed");
	if (fsync(q->areafd[to]) == -1 || fsync(q->areafd[from]) == -1)
		return sys_err(e, q, "fsync %s/", area_names[to]);
	return 0;
}

int
queue_fail(struct queue_entry *qe, int code, const char *why, struct err *e)
{
	struct queue_envelope env;
	char text[QUEUE_MAX_VALUE + 1];

	if (entry_usable(qe, 0, e) == -1)
		return -1;
	if (qe->loaded) {
		env = qe->env;
		note_failure(&env, code, why, text, sizeof(text));
		if (env_replace(qe, &env, 1, e) == -1)
			return -1;
	}
	if (qe->area == QUEUE_FAILED)
		return 0;
	return entry_move(qe, QUEUE_FAILED, e);
}

/* A printable copy of why (control bytes as '?'), at most
 * QUEUE_MAX_VALUE bytes; NULL for NULL or "". */
static char *
why_copy(const char *why)
{
	size_t i, n;
	char *c;

	if (why == NULL || why[0] == '\0')
		return NULL;
	n = strnlen(why, QUEUE_MAX_VALUE);
	c = xcalloc(n + 1, 1);
	for (i = 0; i < n; i++)
		c[i] = ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			   ? '?'
			   : why[i];
	return c;
}

struct rcpt_lists {
	const char **rcpt, **rwhy, **sent, **failed, **fwhy;
	char **copies; /* why texts made here */
	size_t ncopies;
};

static void
lists_init(struct rcpt_lists *l)
{
	l->rcpt = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*l->rcpt));
	l->rwhy = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*l->rwhy));
	l->sent = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*l->sent));
	l->failed = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*l->failed));
	l->fwhy = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*l->fwhy));
	l->copies = xcalloc(QUEUE_MAX_RCPTS + 1, sizeof(*l->copies));
	l->ncopies = 0;
}

static void
lists_free(struct rcpt_lists *l)
{
	size_t i;

	for (i = 0; i < l->ncopies; i++)
		free(l->copies[i]);
	free(l->copies);
	free(l->rcpt);
	free(l->rwhy);
	free(l->sent);
	free(l->failed);
	free(l->fwhy);
}

/* Start env's new lists with its sent and failed recipients. */
static void
lists_from(struct rcpt_lists *l, struct queue_envelope *env)
{
	size_t i;

	for (i = 0; i < env->nsent; i++)
		l->sent[i] = env->sent[i];
	for (i = 0; i < env->nfailed; i++) {
		l->failed[i] = env->failed[i];
		l->fwhy[i] = env->failed_why ? env->failed_why[i] : NULL;
	}
}

static void
lists_to(struct rcpt_lists *l, struct queue_envelope *env)
{
	env->rcpts = l->rcpt;
	env->rcpt_why = l->rwhy;
	env->sent = l->sent;
	env->failed = l->failed;
	env->failed_why = l->fwhy;
}

/*
 * Every recipient is sent: what makes that durable is the entry leaving
 * its area, not a new envelope.  The envelope is replaced unsynced (memory
 * follows disk, for the caller's logs), the entry renamed to tmp/del-ID
 * and the area's directory fsync()ed: one sync instead of the two of a
 * synced envelope (env.new and the entry directory), with the same
 * promise (a crash before the fsync returns leaves the old entry in
 * active/, resent; after it, nothing is resent; tmp/ is swept).
 * queue_remove() then only tidies.
 */
static int
retire(struct queue_entry *qe, const struct queue_envelope *env, struct err *e)
{
	struct queue *q = qe->q;
	char del[QUEUE_ID_LEN + 8];

	if (env_replace(qe, env, 0, e) == -1)
		return -1;
	snprintf(del, sizeof(del), "del-%s", qe->id);
	if (renameat(q->areafd[qe->area], qe->id, q->tmpfd, del) == -1)
		return sys_err(e, q, "remove %s/%s", area_names[qe->area],
		    qe->id);
	qe->retired = 1;
	HOOK("retire-renamed");
	if (fsync(q->areafd[qe->area]) == -1)
		return sys_err(e, q, "fsync %s/", area_names[qe->area]);
	return 0;
}

int
queue_set_rcpts(struct queue_entry *qe, const enum queue_rcpt_state *state,
    const char *const *why, struct err *e)
{
	struct queue_envelope env;
	struct rcpt_lists l;
	size_t i, np = 0;
	char *w;
	int r;

	if (entry_usable(qe, 1, e) == -1)
		return -1;
	env = qe->env;
	lists_init(&l);
	lists_from(&l, &env);
	for (i = 0; i < qe->env.nrcpts; i++) {
		w = why != NULL ? why_copy(why[i]) : NULL;
		if (w != NULL)
			l.copies[l.ncopies++] = w;
		if (state[i] == QUEUE_RCPT_SENT) {
			l.sent[env.nsent++] = qe->env.rcpts[i];
		} else if (state[i] == QUEUE_RCPT_FAILED) {
			l.fwhy[env.nfailed] = w;
			l.failed[env.nfailed++] = qe->env.rcpts[i];
		} else {
			l.rwhy[np] = w;
			l.rcpt[np++] = qe->env.rcpts[i];
		}
	}
	env.nrcpts = np;
	lists_to(&l, &env);
	if (np == 0 && env.nfailed == 0)
		r = retire(qe, &env, e);
	else
		r = env_replace(qe, &env, 1, e);
	lists_free(&l);
	return r;
}

int
queue_set_warned(struct queue_entry *qe, long long when, struct err *e)
{
	struct queue_envelope env;

	if (entry_usable(qe, 1, e) == -1)
		return -1;
	env = qe->env;
	env.warned = clamp_time(when);
	return env_replace(qe, &env, 1, e);
}

int
queue_requeue(struct queue_entry *qe, long long now, struct err *e)
{
	struct queue_envelope env;
	struct rcpt_lists l;
	size_t i;
	int r;

	if (entry_usable(qe, 1, e) == -1)
		return -1;
	env = qe->env;
	env.next_try = clamp_time(now);
	lists_init(&l);
	if (qe->area == QUEUE_FAILED) {
		env.attempts = 0;
		env.retried = clamp_time(now);
		/* The failed recipients are tried again; sent stays sent. */
		for (i = 0; i < env.nsent; i++)
			l.sent[i] = env.sent[i];
		for (i = 0; i < env.nrcpts; i++)
			l.rcpt[i] = env.rcpts[i];
		for (i = 0; i < env.nfailed; i++)
			l.rcpt[env.nrcpts + i] = env.failed[i];
		env.nrcpts += env.nfailed;
		env.nfailed = 0;
		lists_to(&l, &env);
		env.rcpt_why = NULL;
	}
	r = env_replace(qe, &env, 1, e);
	lists_free(&l);
	if (r == -1)
		return -1;
	if (qe->area == QUEUE_ACTIVE)
		return 0;
	return entry_move(qe, QUEUE_ACTIVE, e);
}

/* ---- listing and sweeping ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in directory fd (a fresh descriptor is used) that are IDs,
 * with an optional prefix, sorted. */
static int
list_dir(struct queue *q, int fd, const char *prefix, char ***ids, size_t *n,
    struct err *e)
{
	size_t plen = strlen(prefix), cap = 0;
	struct dirent *de;
	DIR *d;

	*ids = NULL;
	*n = 0;
	if ((fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return sys_err(e, q, "read directory");
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    !queue_id_valid(de->d_name + plen))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ids = xreallocarray(*ids, cap, sizeof(**ids));
		}
		(*ids)[(*n)++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		sys_err(e, q, "read directory");
		closedir(d);
		queue_list_free(*ids, *n);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	closedir(d);
	if (*n > 1)
		qsort(*ids, *n, sizeof(**ids), cmp_str);
	return 0;
}

int
queue_list(struct queue *q, enum queue_area area, char ***ids, size_t *n,
    struct err *e)
{
	return list_dir(q, q->areafd[area], "", ids, n, e);
}

void
queue_list_free(char **ids, size_t n)
{
	size_t i;

	if (ids == NULL)
		return;
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Nonzero if tmp/name is a store abandoned by a writer that is gone. */
static int
store_abandoned(struct queue *q, const char *name, long long now)
{
	struct stat st;
	int dirfd, fd, r = 1;

	if (fstatat(q->tmpfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    now - (long long)st.st_mtime < QUEUE_STALE_TMP)
		return 0;
	if ((dirfd = open_dir_at(q->tmpfd, name)) == -1)
		return 0;
	fd = openat(dirfd, "msg", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1)
		r = 0; /* its writer is still at work */
	if (fd != -1)
		close(fd);
	close(dirfd);
	return r;
}

int
queue_cleanup(struct queue *q, long long now, struct err *e)
{
	char **names;
	size_t i, n;

	if (list_dir(q, q->tmpfd, "del-", &names, &n, e) == -1)
		return -1;
	for (i = 0; i < n; i++)
		remove_tree(q->tmpfd, names[i]);
	queue_list_free(names, n);
	if (list_dir(q, q->tmpfd, "", &names, &n, e) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (store_abandoned(q, names[i], now))
			remove_tree(q->tmpfd, names[i]);
	queue_list_free(names, n);
	return 0;
}

/* ---- rate limit log: fixed-size records "%012lld\n", ascending ---- */

static void
rate_name(const char *account, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char h[16];
	size_t i, n = strlen(account);
	int safe = n > 0 && n <= 64 && account[0] != '.';

	for (i = 0; safe && i < n; i++) {
		char c = account[i];
		safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		       c == '-';
	}
	if (safe) {
		str_copy(out, account, size);
		return;
	}
	crypto_generichash(h, sizeof(h), (const unsigned char *)account, n,
	    NULL, 0);
	str_copy(out, "h-", size);
	for (i = 0; i < sizeof(h) && 2 * i + 3 < size; i++) {
		out[2 + 2 * i] = hex[h[i] >> 4];
		out[3 + 2 * i] = hex[h[i] & 15];
		out[4 + 2 * i] = '\0';
	}
}

/* The last (at most count) records: *t (caller frees), *n of them, and
 * *nrec in the file.  A torn or garbled log is reset (it is advisory). */
static int
rate_read(int fd, unsigned count, long long **t, size_t *n, size_t *nrec)
{
	struct stat st;
	char *raw = NULL, rec[RATE_REC];
	unsigned long long v;
	size_t i;

	*t = NULL;
	*n = 0;
	if (fstat(fd, &st) == -1)
		return -1;
	*nrec = (size_t)st.st_size / RATE_REC;
	*n = *nrec < count ? *nrec : count;
	*t = xcalloc(*n + 1, sizeof(**t));
	raw = xcalloc(*n + 1, RATE_REC);
	if (read_all_at(fd, raw, *n * RATE_REC,
		(off_t)((*nrec - *n) * RATE_REC)) == -1)
		goto reset;
	for (i = 0; i < *n; i++) {
		memcpy(rec, raw + i * RATE_REC, RATE_REC);
		if (rec[RATE_REC - 1] != '\n')
			goto reset;
		rec[RATE_REC - 1] = '\0';
		if (parse_uint_str(rec, QUEUE_MAX_TIME, &v) == -1 ||
		    (i > 0 && (long long)v < (*t)[i - 1]))
			goto reset;
		(*t)[i] = (long long)v;
	}
	free(raw);
	if ((size_t)st.st_size % RATE_REC != 0) /* a torn append */
		return ftruncate(fd, (off_t)(*nrec * RATE_REC));
	return 0;
reset:
	free(raw);
	*n = *nrec = 0;
	return ftruncate(fd, 0);
}

/* Append a record; keep the file short by moving the last count records
 * to the front (a crash meanwhile leaves the tail, which is what counts). */
static int
rate_append(int fd, unsigned count, size_t nrec, long long when)
{
	char rec[RATE_REC + 1], *tail;
	size_t keep = count;
	int r = 0;

	snprintf(rec, sizeof(rec), "%012lld\n", clamp_time(when));
	if (pwrite(fd, rec, RATE_REC, (off_t)(nrec * RATE_REC)) != RATE_REC)
		return -1;
	nrec++;
	if (nrec <= 2 * (size_t)count + RATE_SLACK)
		return 0;
	tail = xcalloc(keep, RATE_REC);
	if (read_all_at(fd, tail, keep * RATE_REC,
		(off_t)((nrec - keep) * RATE_REC)) == -1 ||
	    pwrite(fd, tail, keep * RATE_REC, 0) !=
		(ssize_t)(keep * RATE_REC) ||
	    ftruncate(fd, (off_t)(keep * RATE_REC)) == -1)
		r = -1;
	free(tail);
	return r;
}

int
queue_rate_take(struct queue *q, const char *account, unsigned count,
    unsigned period, long long now, long long *next_ok, struct err *e)
{
	char name[72];
	long long *t = NULL;
	size_t n = 0, nrec = 0;
	int fd, r = -1;

	*next_ok = now;
	if (count == 0)
		return 1;
	rate_name(account, name, sizeof(name));
	fd = openat(q->ratefd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return sys_err(e, q, "open rate/%s", name);
	while ((r = flock(fd, LOCK_EX)) == -1 && errno == EINTR)
		;
	if (r == -1 || rate_read(fd, count, &t, &n, &nrec) == -1) {
		r = sys_err(e, q, "rate/%s", name);
		goto out;
	}
	r = queue_rate_check(t, n, count, period, now, next_ok);
	/* Keep the log ascending even if the clock went back. */
	if (r == 1 && rate_append(fd, count, nrec,
			  n > 0 && t[n - 1] > now ? t[n - 1] : now) == -1)
		r = sys_err(e, q, "write rate/%s", name);
out:
	free(t);
	close(fd);
	return r;
}
