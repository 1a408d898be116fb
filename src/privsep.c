/*
 * privsep.c -- the privilege boundary of the system install (issue 10).
 *
 * Purpose: three sides of one spool directory, incoming/ (SECURITY.md,
 * section P):
 *   - privsep_submit(), in the user's process: builds the drop record
 *     (privsep.h) and writes it to the drop program, which it runs with an
 *     empty environment.  Holds no secret: the user cannot read one.
 *   - privsep_drop(), in the setgid drop program: reads the record from
 *     stdin with every size bounded, parses the envelope strictly
 *     (queue_env_parse()), keeps only the fields a submission may set,
 *     adds the caller's real uid, enforces the per-user count and byte
 *     limits, and writes t<uid>-<id> (O_EXCL, O_NOFOLLOW, a name it
 *     chose), fsync()s it and renames it to <uid>-<id>.  It opens no path
 *     but incoming/ and the names it made.
 *   - privsep_pickup(), in the sender (the queue run, as the queue's
 *     owner): takes each <uid>-<id> that is a regular file with one
 *     link, owned by that uid, locks it, re-parses and re-checks it as
 *     the drop step did, stores it in the system queue as a held entry
 *     with its uid, and removes it.
 *
 * Invariant: nothing the user wrote is used as a path, and nothing outside
 * incoming/ is opened on the user's behalf; the message bytes are copied,
 * never interpreted here.
 *
 * Failure policy: a record that fails a check is refused by the drop step
 * (exit 65, nothing left behind) and, should one appear anyway, logged and
 * removed by the sender.  A drop killed halfway leaves a t* file, counted
 * in the user's limit and swept after QUEUE_STALE_TMP seconds.  A crash of
 * the sender between the store and the removal sends the message twice
 * (at least once, as everywhere in the queue).
 *
 * Non-goals: the account policy (which users may use which account and
 * sender: submit.c when the held entry is released), networking.
 */
#include <sys/types.h>
#include <sys/file.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "installdirs.h"
#include "log.h"
#include "privsep.h"
#include "queue.h"

static int trusted_owner(uid_t uid);

#ifndef POSTSEAL_DROP
#define POSTSEAL_DROP "/usr/lib/postseal/postseal-drop"
#endif

/* Envelope text at most: QUEUE_MAX_RCPTS lines of QUEUE_MAX_VALUE and
 * some more. */
#define ENV_CAP ((size_t)(QUEUE_MAX_RCPTS + 64) * (QUEUE_MAX_VALUE + 16))
#define CHUNK 65536

/* ---- small I/O ---- */

/*
 * Read the magic line and the envelope from fd into b, up to and
 * including its "end" line; *envlen is where the envelope ends in b (the
 * message's first bytes may follow it in b).
 */
static int
read_envelope(int fd, struct buf *b, size_t *envlen, struct err *e)
{
	char chunk[CHUNK];
	const char *end;
	ssize_t n;
	size_t from = 0, m = sizeof(PRIVSEP_MAGIC) - 1;

	for (;;) {
		end = NULL;
		if (b->len >= m + 4)
			end =
			    memmem(b->data + from, b->len - from, "\nend\n", 5);
		if (end != NULL)
			break;
		if (b->len > 5)
			from = b->len - 5;
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			return err_set(e, ERR_IO, "read: %s", strerror(errno));
		}
		if (n == 0)
			return err_set(e, ERR_DATA,
			    "record: truncated envelope");
		if (buf_add(b, chunk, (size_t)n) == -1)
			return err_set(e, ERR_DATA,
			    "record: envelope too large");
	}
	if (memcmp(b->data, PRIVSEP_MAGIC, m) != 0)
		return err_set(e, ERR_DATA, "record: not a drop record");
	*envlen = (size_t)(end - b->data) + 5;
	return 0;
}

/* "f=0|1 B=7BIT|8BITMIME|- F=..." (submit.c's held value). */
static int
held_ok(const char *h)
{
	if (h == NULL || strncmp(h, "f=", 2) != 0 ||
	    (h[2] != '0' && h[2] != '1'))
		return 0;
	h += 3;
	if (strncmp(h, " B=7BIT ", 8) == 0)
		h += 8;
	else if (strncmp(h, " B=8BITMIME ", 12) == 0)
		h += 12;
	else if (strncmp(h, " B=- ", 5) == 0)
		h += 5;
	else
		return 0;
	return strncmp(h, "F=", 2) == 0;
}

/*
 * Parse the envelope of a record (text after the magic line) and check
 * what a submission may carry: pending recipients only, a held value, no
 * delivery state.  env is filled (caller frees) on success.
 */
static int
record_parse(const char *text, size_t len, struct queue_envelope *env,
    struct err *e)
{
	if (queue_env_parse(text, len, env, e) == -1)
		return err_prefix(e, "record");
	if (env->nsent != 0 || env->nfailed != 0 || env->nrcpts == 0 ||
	    env->attempts != 0 || env->last_error != NULL || env->warned != 0 ||
	    !held_ok(env->held)) {
		queue_env_free(env);
		return err_set(e, ERR_DATA, "record: not a new submission");
	}
	return 0;
}

/* The fields a submission may set, copied from src (borrowed). */
static void
record_copy(const struct queue_envelope *src, struct queue_envelope *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->account = src->account;
	dst->from = src->from;
	dst->rcpts = src->rcpts;
	dst->nrcpts = src->nrcpts;
	dst->dsn_notify = src->dsn_notify;
	dst->dsn_return = src->dsn_return;
	dst->dsn_envid = src->dsn_envid;
	dst->msgid = src->msgid;
	dst->body_8bit = src->body_8bit;
	dst->smtputf8 = src->smtputf8;
	dst->held = src->held;
	dst->size = src->size;
}

/* ---- the user's side ---- */

/* The kind whose exit status is code (the drop program's exit). */
static enum err_kind
exit_kind(int code)
{
	int k;

	for (k = ERR_USAGE; k <= ERR_CONFIG; k++)
		if (err_exit_code((enum err_kind)k) == code)
			return (enum err_kind)k;
	return ERR_TEMP;
}

static int
wait_drop(pid_t pid, struct err *e)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return err_set(e, ERR_OS, "wait for %s: %s",
			    POSTSEAL_DROP, strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return err_set(e, exit_kind(WEXITSTATUS(st)),
		    "the message was not queued (%s exited with %d)",
		    POSTSEAL_DROP, WEXITSTATUS(st));
	return err_set(e, ERR_TEMP, "the message was not queued (%s died)",
	    POSTSEAL_DROP);
}

/* Run the drop program with arg (or none); with fdp, its stdin is a pipe
 * whose write end goes into *fdp, and with errp its stderr one whose read
 * end goes into *errp. */
static pid_t
spawn_drop(const char *arg, int *fdp, int *errp, struct err *e)
{
	char *const argv[] = {(char *)(uintptr_t) "postseal-drop",
	    (char *)(uintptr_t)arg, NULL};
	char *const envp[] = {NULL};
	int p[2] = {-1, -1}, q[2] = {-1, -1};
	pid_t pid;

	if ((fdp != NULL && pipe(p) == -1) ||
	    (errp != NULL && pipe2(q, O_CLOEXEC) == -1)) {
		err_set(e, ERR_OS, "pipe: %s", strerror(errno));
		pid = -1;
		goto fail;
	}
	if ((pid = fork()) == -1) {
		err_set(e, ERR_OS, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		if (fdp != NULL) {
			close(p[1]);
			if (dup2(p[0], STDIN_FILENO) == -1)
				_exit(71);
			if (p[0] != STDIN_FILENO)
				close(p[0]);
		}
		if (errp != NULL && dup2(q[1], STDERR_FILENO) == -1)
			_exit(71);
		/* Nothing of ours reaches it: empty environment. */
		execve(POSTSEAL_DROP, argv, envp);
		fprintf(stderr, "postseal: %s: %s\n", POSTSEAL_DROP,
		    strerror(errno));
		_exit(errno == ENOENT ? 69 : 71);
	}
	if (fdp != NULL) {
		close(p[0]);
		*fdp = p[1];
	}
	if (errp != NULL) {
		close(q[1]);
		*errp = q[0];
	}
	return pid;
fail:
	if (p[0] != -1) {
		close(p[0]);
		close(p[1]);
	}
	if (q[0] != -1) {
		close(q[0]);
		close(q[1]);
	}
	return -1;
}

/*
 * What the drop program said (one line on its stderr, read from fd once
 * it exited): in e's text, where its exit status alone was, so that
 * every caller (the error line, a -bs reply) gives the reason.  Printable
 * ASCII only, bounded; anything more goes to our stderr as it came.
 */
static void
drop_reason(int fd, int failed, struct err *e)
{
	char text[sizeof(e->text)], *p, *nl;
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(text) - 1 &&
	       ((r = read(fd, text + n, sizeof(text) - 1 - n)) > 0 ||
		   (r == -1 && errno == EINTR)))
		if (r > 0)
			n += (size_t)r;
	text[n] = '\0';
	close(fd);
	if (n == 0)
		return;
	if (!failed || (nl = strchr(text, '\n')) == NULL || nl[1] != '\0') {
		fputs(text, stderr); /* not the one line of a refusal */
		return;
	}
	*nl = '\0';
	p = strncmp(text, "postseal-drop: ", 15) == 0 ? text + 15 : text;
	for (nl = p; *nl != '\0'; nl++)
		if (*nl < 0x20 || *nl > 0x7e)
			*nl = '?';
	err_set(e, e->kind, "%s", p);
}

int
privsep_mailq(int json, struct err *e)
{
	pid_t pid;

	fflush(stdout);
	if ((pid = spawn_drop(json ? "-j" : "-l", NULL, NULL, e)) == -1)
		return -1;
	return wait_drop(pid, e) == -1
		   ? err_set(e, e->kind, "mailq: %s failed", POSTSEAL_DROP)
		   : 0;
}

int
privsep_submit(const struct queue_envelope *env, queue_write_fn *write,
    void *arg, unsigned long long size, struct err *e)
{
	struct queue_envelope rec;
	struct buf b;
	struct err we = {0};
	void (*old)(int);
	int fd = -1, efd = -1, r = -1, werr = 0;
	pid_t pid;

	record_copy(env, &rec);
	memset(rec.id, '0', QUEUE_ID_LEN);
	rec.size = size;
	buf_init(&b, ENV_CAP);
	if (buf_addstr(&b, PRIVSEP_MAGIC) == -1 ||
	    queue_env_format(&rec, &b, e) == -1)
		goto out;
	old = signal(SIGPIPE, SIG_IGN);
	if ((pid = spawn_drop(NULL, &fd, &efd, e)) == -1) {
		signal(SIGPIPE, old);
		goto out;
	}
	if (fd_write_all(fd, b.data, b.len) == -1 || write(arg, fd, &we) == -1)
		werr = 1; /* the drop program says why, below */
	close(fd);
	r = wait_drop(pid, e);
	drop_reason(efd, r == -1, e);
	signal(SIGPIPE, old);
	if (r == 0 && werr)
		r = err_set(e, ERR_IO, "writing to %s: %s", POSTSEAL_DROP,
		    we.text[0] != '\0' ? we.text : strerror(errno));
out:
	buf_reset(&b);
	return r;
}

/* ---- the drop program's side ---- */

/* "<uid>-<id>" or, with tmp, "t<uid>-<id>": *uidp and 1 if name is one. */
static int
record_name(const char *name, int *tmp, unsigned long long *uidp)
{
	const char *p = name;

	*tmp = *p == 't';
	if (*tmp)
		p++;
	if (*p < '0' || *p > '9' || parse_uint(&p, 0xffffffffULL, uidp) == -1 ||
	    *p != '-')
		return 0;
	return queue_id_valid(p + 1);
}

/* What uid has in incoming/ now: entries and bytes. */
static int
user_usage(int dfd, uid_t uid, size_t *count, unsigned long long *bytes,
    struct err *e)
{
	unsigned long long u;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int tmp, fd;

	*count = 0;
	*bytes = 0;
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return err_set(e, ERR_TEMP, "incoming: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!record_name(de->d_name, &tmp, &u) || u != uid)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue; /* just picked up */
		(*count)++;
		*bytes += (unsigned long long)st.st_size;
	}
	closedir(d);
	return 0;
}

/*
 * What root's last queue run found of uid's in the system queue: the
 * closing line of STATUS/<uid> (runq.c's status_one(): "-- N entries (F
 * failed, marked !), B bytes"), a file of root's.  None: 0 and 0.
 */
static void
queue_usage(const char *status, uid_t uid, size_t *count,
    unsigned long long *bytes)
{
	char name[32], tail[256];
	unsigned long long n, b;
	const char *p;
	struct stat st;
	off_t off = 0;
	ssize_t len;
	int sfd, fd = -1;

	*count = 0;
	*bytes = 0;
	if (status == NULL ||
	    (sfd = open(status,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	snprintf(name, sizeof(name), "%lu", (unsigned long)uid);
	fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(sfd);
	if (fd == -1)
		return;
	len = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    trusted_owner(st.st_uid)) {
		off = st.st_size > (off_t)sizeof(tail) - 1
			  ? st.st_size - (off_t)sizeof(tail) + 1
			  : 0;
		len = pread(fd, tail, sizeof(tail) - 1, off);
	}
	close(fd);
	if (len <= 0)
		return;
	tail[len] = '\0';
	if ((p = strstr(tail, "\n-- ")) != NULL)
		p += 4;
	else if (strncmp(tail, "-- ", 3) == 0 && off == 0)
		p = tail + 3;
	else
		return;
	if (parse_uint(&p, 0xffffffffULL, &n) == -1 ||
	    (p = strstr(p, "), ")) == NULL)
		return;
	p += 3;
	if (parse_uint(&p, ~0ULL, &b) == -1 || strncmp(p, " bytes", 6) != 0)
		return;
	*count = (size_t)n;
	*bytes = b;
}

/*
 * Called once our own partial record exists at its full declared size
 * (drop_reserve()), so it counts: of two drops of one user at the same
 * time each sees the other's reservation, and at worst both are refused,
 * never both accepted past the limit.  count and bytes below include it.
 */
static int
check_limit(int dfd, const char *status, uid_t uid,
    const struct privsep_limits *l, struct err *e)
{
	unsigned long long bytes, qbytes;
	size_t count, qcount;

	if (user_usage(dfd, uid, &count, &bytes, e) == -1)
		return -1;
	queue_usage(status, uid, &qcount, &qbytes);
	count += qcount;
	bytes += qbytes;
	if (count > l->messages || bytes > l->bytes)
		return err_set(e, ERR_TEMP,
		    "your messages in the system queue reach your limit (%zu "
		    "messages, %llu bytes with this one; max_user_messages "
		    "%llu, max_user_queue %llu); try later",
		    count, bytes, l->messages, l->bytes);
	return 0;
}

/* Copy exactly n bytes from in to out, after the first have bytes of b. */
static int
copy_body(int in, int out, const char *have, size_t nhave, unsigned long long n,
    struct err *e)
{
	char chunk[CHUNK];
	ssize_t r;

	if (nhave > n)
		return err_set(e, ERR_DATA, "record: data after the message");
	if (fd_write_all(out, have, nhave) == -1)
		return err_set(e, ERR_TEMP, "incoming: %s", strerror(errno));
	n -= nhave;
	while (n > 0) {
		r = read(in, chunk,
		    n < sizeof(chunk) ? (size_t)n : sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return err_set(e, ERR_IO, "read: %s", strerror(errno));
		if (r == 0)
			return err_set(e, ERR_DATA,
			    "record: truncated message");
		if (fd_write_all(out, chunk, (size_t)r) == -1)
			return err_set(e, ERR_TEMP, "incoming: %s",
			    strerror(errno));
		n -= (unsigned long long)r;
	}
	/* Nothing may follow (a pipe: one more read sees its end). */
	while ((r = read(in, chunk, 1)) == -1 && errno == EINTR)
		;
	if (r != 0)
		return err_set(e, ERR_DATA, "record: data after the message");
	return 0;
}

/* Our envelope for rec, with uid, into b. */
static int
drop_envelope(const struct queue_envelope *rec, uid_t uid, const char *id,
    struct buf *b, struct err *e)
{
	struct queue_envelope out;
	long long now = (long long)time(NULL);

	record_copy(rec, &out);
	memcpy(out.id, id, QUEUE_ID_LEN + 1);
	out.uid = uid;
	out.created = out.next_try = now;
	buf_clear(b);
	if (buf_addstr(b, PRIVSEP_MAGIC) == -1 ||
	    queue_env_format(&out, b, e) == -1)
		return err_prefix(e, "record");
	return 0;
}

static void
new_id(char *id)
{
	unsigned char r[6];

	randombytes_buf(r, sizeof(r));
	snprintf(id, QUEUE_ID_LEN + 1, "%08llx%02x%02x%02x%02x%02x%02x",
	    (unsigned long long)time(NULL) & 0xffffffffULL, r[0], r[1], r[2],
	    r[3], r[4], r[5]);
}

/* Create t<uid>-<id> with a fresh id; its name into tmp and final. */
static int
drop_create(int dfd, uid_t uid, char *id, char *tmp, char *final, size_t size,
    struct err *e)
{
	int fd, tries;

	for (tries = 0; tries < 8; tries++) {
		new_id(id);
		snprintf(tmp, size, "t%lu-%s", (unsigned long)uid, id);
		snprintf(final, size, "%lu-%s", (unsigned long)uid, id);
		fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			break;
	}
	return err_set(e, ERR_TEMP, "incoming: cannot create an entry: %s",
	    strerror(errno));
}

/*
 * Write the record into fd, the new partial record tmp (drop_create()),
 * and rename it to final.  fd is closed, and tmp removed on failure.
 */
static int
drop_store(int in, int dfd, int fd, const char *tmp, const char *final,
    uid_t uid, const struct queue_envelope *rec, const char *rest, size_t nrest,
    const char *id, struct err *e)
{
	struct buf b;
	int r = -1;

	buf_init(&b, ENV_CAP);
	if (drop_envelope(rec, uid, id, &b, e) == -1)
		goto fail;
	if (fd_write_all(fd, b.data, b.len) == -1) {
		err_set(e, ERR_TEMP, "incoming: %s", strerror(errno));
		goto fail;
	}
	if (copy_body(in, fd, rest, nrest, rec->size, e) == -1)
		goto fail;
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		err_set(e, ERR_TEMP, "incoming: %s", strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, final) == -1) {
		err_set(e, ERR_TEMP, "incoming: rename: %s", strerror(errno));
		goto fail;
	}
	fsync(dfd);
	r = 0;
	goto out;
fail:
	if (fd != -1)
		close(fd);
	unlinkat(dfd, tmp, 0);
out:
	buf_reset(&b);
	return r;
}

int
privsep_drop(int in, const char *incoming, const char *policy,
    const char *status, uid_t uid, char *id, struct err *e)
{
	struct privsep_limits lim;
	struct queue_envelope rec;
	size_t envlen, m = sizeof(PRIVSEP_MAGIC) - 1;
	char tmp[64], final[64];
	struct buf b;
	int dfd = -1, fd, r = -1, parsed = 0, use;

	memset(&rec, 0, sizeof(rec));
	buf_init(&b, ENV_CAP);
	if (read_envelope(in, &b, &envlen, e) == -1 ||
	    record_parse(b.data + m, envlen - m, &rec, e) == -1)
		goto out;
	parsed = 1;
	if (privsep_policy_check(policy, uid, rec.account,
		rec.held[2] == '1' ? rec.from : NULL, &use, e) == -1 ||
	    privsep_policy_limits(policy, &lim, e) == -1)
		goto out;
	if ((dfd = open(incoming,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		err_set(e, ERR_TEMP, "cannot open %s: %s", incoming,
		    strerror(errno));
		goto out;
	}
	if (rec.size > lim.message) {
		err_set(e, ERR_DATA,
		    "message too large for the system queue (%llu bytes, "
		    "max_message_size %llu)",
		    rec.size, lim.message);
		goto out;
	}
	/* Reserve first, then count (check_limit()). */
	if ((fd = drop_create(dfd, uid, id, tmp, final, sizeof(tmp), e)) == -1)
		goto out;
	if (ftruncate(fd, (off_t)rec.size) == -1) {
		err_set(e, ERR_TEMP, "incoming: %s", strerror(errno));
		close(fd);
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	if (check_limit(dfd, status, uid, &lim, e) == -1) {
		close(fd);
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	r = drop_store(in, dfd, fd, tmp, final, uid, &rec, b.data + envlen,
	    b.len - envlen, id, e);
out:
	if (parsed)
		queue_env_free(&rec);
	if (dfd != -1)
		close(dfd);
	buf_reset(&b);
	return r;
}

/* ---- the sender's side ---- */

struct copy_arg {
	int fd;
	off_t off;
	unsigned long long size;
};

/* queue_write_fn: the message bytes of a record. */
static int
copy_out(void *arg, int fd, struct err *e)
{
	const struct copy_arg *c = arg;
	char chunk[CHUNK];
	unsigned long long left = c->size;
	off_t off = c->off;
	ssize_t r;

	while (left > 0) {
		r = pread(c->fd, chunk,
		    left < sizeof(chunk) ? (size_t)left : sizeof(chunk), off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(e, ERR_DATA, "incoming: short record");
		if (fd_write_all(fd, chunk, (size_t)r) == -1)
			return err_set(e, ERR_TEMP, "write: %s",
			    strerror(errno));
		left -= (unsigned long long)r;
		off += r;
	}
	return 0;
}

/* Open name for pickup: a locked regular file with one link, owned by the
 * uid its name says. */
static int
pickup_open(int dfd, const char *name, unsigned long long uid, struct stat *st,
    struct err *e)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		/* Planted, it goes (ERR_DATA): a symbolic link (ELOOP), or a
		 * file the sender may not read that is no record (a hard link
		 * to someone's private file).  A record stays for next time. */
		int err = errno;
		int planted =
		    err == ELOOP ||
		    (err == EACCES &&
			fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
			(!S_ISREG(st->st_mode) || st->st_nlink != 1 ||
			    (unsigned long long)st->st_uid != uid));

		return err_set(e, planted ? ERR_DATA : ERR_TEMP, "%s: %s", name,
		    planted ? "not a record" : strerror(err));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return err_set(e, ERR_NONE, "%s: busy", name);
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) || st->st_nlink != 1 ||
	    (unsigned long long)st->st_uid != uid) {
		close(fd);
		return err_set(e, ERR_DATA,
		    "%s: not a regular file with one link owned by uid %llu",
		    name, uid);
	}
	return fd;
}

/* One record: into q, then removed.  0 moved, -1 refused (e says). */
static int
pickup_one(int dfd, const char *name, unsigned long long uid, struct queue *q,
    struct err *e)
{
	struct queue_envelope rec, tmpl;
	struct copy_arg c;
	struct stat st;
	struct buf b;
	size_t envlen, m = sizeof(PRIVSEP_MAGIC) - 1;
	int fd, r = -1, parsed = 0;

	buf_init(&b, ENV_CAP);
	if ((fd = pickup_open(dfd, name, uid, &st, e)) == -1) {
		if (e->kind == ERR_DATA)
			goto bad;
		goto out;
	}
	if (read_envelope(fd, &b, &envlen, e) == -1 ||
	    record_parse(b.data + m, envlen - m, &rec, e) == -1)
		goto bad;
	parsed = 1;
	if (rec.uid != uid ||
	    rec.size != (unsigned long long)st.st_size - envlen) {
		err_set(e, ERR_DATA, "%s: uid or size does not match", name);
		goto bad;
	}
	record_copy(&rec, &tmpl);
	tmpl.uid = rec.uid;
	c.fd = fd;
	c.off = (off_t)envlen;
	c.size = rec.size;
	if (queue_store(q, &tmpl, copy_out, &c, NULL, e) == -1)
		goto out; /* kept for the next run */
	r = 0;
bad:
	/* Moved, or refused for good: either way it leaves incoming/. */
	if (unlinkat(dfd, name, 0) == -1 && r == 0)
		log_warn("incoming/%s: cannot remove: %s", name,
		    strerror(errno));
out:
	if (parsed)
		queue_env_free(&rec);
	if (fd != -1)
		close(fd);
	buf_reset(&b);
	return r;
}

/* A partial record older than QUEUE_STALE_TMP: its drop step died. */
static void
sweep_stale(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_mtime + QUEUE_STALE_TMP < time(NULL))
		unlinkat(dfd, name, 0);
}

static int
open_incoming(const char *incoming, struct err *e)
{
	struct stat st;
	int dfd;

	dfd = open(incoming, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1)
		return err_set(e, errno == ENOENT ? ERR_NOINPUT : ERR_CONFIG,
		    "%s: %s", incoming, strerror(errno));
	if (fstat(dfd, &st) == -1 ||
	    (!trusted_owner(st.st_uid) && st.st_uid != geteuid()) ||
	    (st.st_mode & S_IWOTH)) {
		close(dfd);
		return err_set(e, ERR_CONFIG,
		    "%s: must belong to root, the sender or us and not be "
		    "writable by others",
		    incoming);
	}
	return dfd;
}

int
privsep_pickup(const char *incoming, struct queue *q, struct err *e)
{
	unsigned long long uid;
	struct dirent *de;
	struct err pe;
	DIR *d;
	int dfd, tmp, moved = 0;

	if ((dfd = open_incoming(incoming, e)) == -1)
		return -1;
	if ((d = fdopendir(dup(dfd))) == NULL) {
		close(dfd);
		return err_set(e, ERR_OS, "%s: %s", incoming, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (!record_name(de->d_name, &tmp, &uid)) {
			if (de->d_name[0] != '.')
				log_warn("%s/%s: not a record, left alone",
				    incoming, de->d_name);
			continue;
		}
		if (tmp) {
			sweep_stale(dfd, de->d_name);
			continue;
		}
		pe.kind = ERR_NONE;
		if (pickup_one(dfd, de->d_name, uid, q, &pe) == 0)
			moved++;
		else if (pe.kind != ERR_NONE)
			log_error("incoming/%s: %s", de->d_name, pe.text);
	}
	closedir(d);
	close(dfd);
	return moved;
}

/* ---- the drop policy ---- */

#define POLICY_MAX 65536
#define POLICY_MAX_GROUPS 256

struct policy {
	const char *user; /* the submitter's login name */
	gid_t groups[POLICY_MAX_GROUPS];
	int ngroups;
	const char *sender; /* -f, or NULL */
	int users_set, user_ok, from_ok;
};

static int
read_policy(const char *file, struct buf *b, struct err *e)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1)
		return err_set(e, ERR_CONFIG, "%s: %s", file, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022)) {
		close(fd);
		return err_set(e, ERR_CONFIG,
		    "%s: must be a file of root's that only root can write",
		    file);
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) == -1) {
			close(fd);
			return err_set(e, ERR_CONFIG, "%s: too large", file);
		}
	close(fd);
	if (n == -1 || buf_addch(b, '\0') == -1)
		return err_set(e, ERR_CONFIG, "%s: read error", file);
	return 1;
}

/* A sender the account's from replaces without asking: no domain,
 * localhost, or this host. */
static int
local_sender(const char *s)
{
	const char *at = strrchr(s, '@');
	char host[256];

	if (at == NULL)
		return 1;
	if (strcasecmp(at + 1, "localhost") == 0)
		return 1;
	return gethostname(host, sizeof(host)) == 0 &&
	       (host[sizeof(host) - 1] = '\0', strcasecmp(at + 1, host) == 0);
}

static int
from_matches(const char *pat, const char *s)
{
	const char *pa = strrchr(pat, '@'), *sa = strrchr(s, '@');
	char lp[1024], ls[1024];

	if (pa == NULL || sa == NULL)
		return fnmatch(pat, s, 0) == 0;
	if ((size_t)(pa - pat) >= sizeof(lp) || (size_t)(sa - s) >= sizeof(ls))
		return 0;
	memcpy(lp, pat, (size_t)(pa - pat));
	lp[pa - pat] = '\0';
	memcpy(ls, s, (size_t)(sa - s));
	ls[sa - s] = '\0';
	return fnmatch(lp, ls, 0) == 0 &&
	       fnmatch(pa + 1, sa + 1, FNM_CASEFOLD) == 0;
}

/* The next blank-separated word of *pp (NUL-terminated in place), or
 * NULL at the end. */
static char *
next_word(char **pp)
{
	char *p = *pp + strspn(*pp, " \t\r"), *w;

	if (*p == '\0')
		return NULL;
	w = p;
	p += strcspn(p, " \t\r");
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return w;
}

/* One "keyword values" line of the section that applies. */
static void
policy_apply(struct policy *p, const char *kw, char *vals)
{
	const struct group *g;
	char *v;
	int i;

	if (strcmp(kw, "allow_users") == 0 || strcmp(kw, "allow_groups") == 0)
		p->users_set = 1;
	while ((v = next_word(&vals)) != NULL) {
		if (strcmp(kw, "allow_users") == 0 && strcmp(v, p->user) == 0)
			p->user_ok = 1;
		else if (strcmp(kw, "allow_groups") == 0 &&
			 (g = getgrnam(v)) != NULL)
			for (i = 0; i < p->ngroups; i++)
				if (p->groups[i] == g->gr_gid)
					p->user_ok = 1;
		if (strcmp(kw, "allow_from") == 0 && p->sender != NULL &&
		    from_matches(v, p->sender))
			p->from_ok = 1;
	}
}

/* Walk a copy of the policy text; with apply, apply the lines of section
 * want ("" for the global one).  Returns whether section want exists. */
static int
policy_walk(const char *text, const char *want, struct policy *p, int apply)
{
	char *copy = xstrdup(text), *line, *next, *kw, *name;
	char sect[QUEUE_MAX_NAME + 1] = "";
	int found = 0;

	for (line = copy; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		if (*line == '#' || (kw = next_word(&line)) == NULL)
			continue;
		if (strcmp(kw, "account") == 0) {
			name = next_word(&line);
			if (name == NULL ||
			    str_copy(sect, name, sizeof(sect)) == -1)
				str_copy(sect, "\n", sizeof(sect)); /* none */
			found |= strcmp(sect, want) == 0;
		} else if (apply && strcmp(sect, want) == 0) {
			policy_apply(p, kw, line);
		}
	}
	free(copy);
	return found;
}

static int
policy_user(struct policy *p, uid_t uid, struct err *e)
{
	const struct passwd *pw = getpwuid(uid);
	int n = POLICY_MAX_GROUPS;

	if (pw == NULL)
		return err_set(e, ERR_AUTH, "uid %lu has no passwd entry",
		    (unsigned long)uid);
	p->user = pw->pw_name;
	if (getgrouplist(pw->pw_name, pw->pw_gid, p->groups, &n) == -1)
		n = POLICY_MAX_GROUPS; /* the first ones */
	p->ngroups = n;
	return 0;
}

/* "N", or N with k, M or G (powers of 1024) into *v. */
static int
parse_size(const char *s, unsigned long long *v)
{
	const char *p = s;
	unsigned long long n, mul = 1;

	if (parse_uint(&p, 1ULL << 50, &n) == -1)
		return -1;
	if (*p == 'k' || *p == 'K')
		mul = 1ULL << 10;
	else if (*p == 'M')
		mul = 1ULL << 20;
	else if (*p == 'G')
		mul = 1ULL << 30;
	if (mul != 1)
		p++;
	if (*p != '\0' || n == 0 || n > (1ULL << 50) / mul)
		return -1;
	*v = n * mul;
	return 0;
}

/* One max_* line (kw known to be one) into l. */
static int
limit_line(const char *file, const char *kw, char *vals,
    struct privsep_limits *l, int in_section, struct err *e)
{
	unsigned long long v, *dst;
	const char *w = next_word(&vals);

	if (in_section)
		return err_set(e, ERR_CONFIG,
		    "%s: %s is per user, for every account: put it before "
		    "the first account line",
		    file, kw);
	dst = strcmp(kw, "max_user_messages") == 0 ? &l->messages
	      : strcmp(kw, "max_user_queue") == 0  ? &l->bytes
						   : &l->message;
	if (w == NULL || next_word(&vals) != NULL ||
	    (dst == &l->messages
		    ? parse_uint_str(w, 1000000, &v) == -1 || v == 0
		    : parse_size(w, &v) == -1))
		return err_set(e, ERR_CONFIG, "%s: %s: %s (a number%s)", file,
		    kw, w != NULL ? "bad value" : "no value",
		    dst == &l->messages ? ", 1 to 1000000"
					: ", with k, M or G");
	*dst = v;
	return 0;
}

int
privsep_policy_limits(const char *file, struct privsep_limits *l, struct err *e)
{
	char *copy = NULL, *line, *next, *kw;
	struct buf b;
	int r = -1, have, in_section = 0;

	l->messages = PRIVSEP_MAX_ENTRIES;
	l->bytes = PRIVSEP_MAX_BYTES;
	l->message = PRIVSEP_MAX_BYTES;
	buf_init(&b, POLICY_MAX);
	if ((have = read_policy(file, &b, e)) <= 0) {
		r = have;
		goto out;
	}
	copy = xstrdup(b.data);
	for (line = copy; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		if (*line == '#' || (kw = next_word(&line)) == NULL)
			continue;
		if (strcmp(kw, "account") == 0)
			in_section = 1;
		else if ((strcmp(kw, "max_user_messages") == 0 ||
			     strcmp(kw, "max_user_queue") == 0 ||
			     strcmp(kw, "max_message_size") == 0) &&
			 limit_line(file, kw, line, l, in_section, e) == -1)
			goto out;
	}
	r = 0;
out:
	free(copy);
	buf_reset(&b);
	return r;
}

int
privsep_policy_check(const char *file, uid_t uid, const char *account,
    const char *sender, int *use_sender, struct err *e)
{
	struct policy p;
	struct buf b;
	const char *want = "";
	int r = -1, have;

	*use_sender = 0;
	memset(&p, 0, sizeof(p));
	p.sender = sender != NULL && !local_sender(sender) ? sender : NULL;
	buf_init(&b, POLICY_MAX);
	if ((have = read_policy(file, &b, e)) == -1 ||
	    policy_user(&p, uid, e) == -1)
		goto out;
	if (have) {
		if (strcmp(account, "*") != 0 &&
		    policy_walk(b.data, account, &p, 0))
			want = account;
		policy_walk(b.data, want, &p, 1);
	}
	if (p.users_set && !p.user_ok) {
		err_set(e, ERR_AUTH,
		    "user %s may not send through the system account%s%s "
		    "(see %s)",
		    p.user, *want != '\0' ? " " : "", want, file);
		goto out;
	}
	if (p.sender != NULL && !p.from_ok) {
		err_set(e, ERR_AUTH,
		    "sender '%s' is not allowed for user %s "
		    "(allow_from in %s)",
		    p.sender, p.user, file);
		goto out;
	}
	*use_sender = p.sender != NULL;
	r = 0;
out:
	buf_reset(&b);
	return r;
}

/* ---- a local user's mailq ---- */

/* Copy status/NAME to out if it is a regular file of root's (and, unless
 * empty_ok, not empty): 1 if it was copied. */
static int
copy_status(const char *status, const char *name, int empty_ok, FILE *out)
{
	char chunk[4096];
	struct stat st;
	size_t n;
	int sfd, fd = -1;
	FILE *f;

	sfd = open(status, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd != -1) {
		fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		close(sfd);
	}
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    !trusted_owner(st.st_uid) || (!empty_ok && st.st_size == 0) ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(f);
	return 1;
}

int
privsep_show(const char *status, const char *incoming, uid_t uid, FILE *out,
    struct err *e)
{
	unsigned long long bytes = 0;
	char name[32];
	size_t count = 0;
	int dfd, shown;

	snprintf(name, sizeof(name), "%lu", (unsigned long)uid);
	shown = copy_status(status, name, 0, out);
	dfd = open(incoming, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd != -1 && user_usage(dfd, uid, &count, &bytes, e) == 0 &&
	    count > 0) {
		fprintf(out,
		    "-- %zu message%s (%llu bytes) waiting for the next "
		    "queue run\n",
		    count, count == 1 ? "" : "s", bytes);
		shown = 1;
	}
	if (dfd != -1)
		close(dfd);
	if (!shown)
		fputs("Mail queue is empty\n", out);
	return fflush(out) == EOF ? err_set(e, ERR_IO, "write error") : 0;
}

/* ---- a local user's mailq --json ---- */

/* The length of the UTF-8 sequence at p (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF), or 0 if none starts there. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return 0;
	if (*p == 0xe0)
		lo = 0xa0;
	else if (*p == 0xed)
		hi = 0x9f;
	else if (*p == 0xf0)
		lo = 0x90;
	else if (*p == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* s as a JSON string: UTF-8 as it is, any other byte past ASCII as
 * \ufffd. */
static void
json_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n;

	fputc('"', out);
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else if (*p < 0x80)
			fputc(*p, out);
		else if ((n = utf8_len(p)) > 0) {
			fwrite(p, 1, n, out);
			p += n - 1;
		} else
			fputs("\\ufffd", out);
	}
	fputc('"', out);
}

/* One of uid's records in incoming/ as root's -bp --json lists an entry
 * (runq.c's list_json()), state "incoming". */
static void
show_incoming_json(int dfd, const char *incoming, const char *name, FILE *out)
{
	struct queue_envelope rec;
	struct err e = {0};
	struct buf b;
	size_t envlen, i, m = sizeof(PRIVSEP_MAGIC) - 1;
	long long now = (long long)time(NULL);
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return; /* just picked up */
	buf_init(&b, ENV_CAP);
	if (read_envelope(fd, &b, &envlen, &e) == -1 ||
	    record_parse(b.data + m, envlen - m, &rec, &e) == -1) {
		close(fd);
		buf_reset(&b);
		return;
	}
	close(fd);
	fputs("{\"id\":", out);
	json_str(out, rec.id);
	fputs(",\"state\":\"incoming\",\"queue\":", out);
	json_str(out, incoming);
	fputs(",\"account\":", out);
	json_str(out, rec.account);
	fprintf(out, ",\"size\":%llu,\"created\":%lld,\"age\":%lld,", rec.size,
	    rec.created, now - rec.created);
	fputs("\"sender\":", out);
	json_str(out, rec.from);
	fputs(",\"recipients\":[", out);
	for (i = 0; i < rec.nrcpts; i++) {
		if (i > 0)
			fputc(',', out);
		json_str(out, rec.rcpts[i]);
	}
	fprintf(out,
	    "],\"delivered\":[],\"attempts\":0,\"next_try\":%lld,"
	    "\"last_code\":0,\"last_error\":null,\"held\":true,"
	    "\"needs_admin\":false,\"message_id\":",
	    rec.next_try);
	if (rec.msgid != NULL)
		json_str(out, rec.msgid);
	else
		fputs("null", out);
	fputs("}\n", out);
	queue_env_free(&rec);
	buf_reset(&b);
}

int
privsep_show_json(const char *status, const char *incoming, uid_t uid,
    FILE *out, struct err *e)
{
	unsigned long long u;
	char name[40];
	struct dirent *de;
	int fd = -1, dfd, tmp;
	DIR *d;

	/* What root's last run found in the system queue: status/<uid>.json,
	 * already in the schema. */
	snprintf(name, sizeof(name), "%lu.json", (unsigned long)uid);
	(void)copy_status(status, name, 1, out);
	/* Then what waits in incoming/ for the next run. */
	dfd = open(incoming, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd != -1 && (fd = dup(dfd)) != -1 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (record_name(de->d_name, &tmp, &u) && !tmp &&
			    u == uid)
				show_incoming_json(dfd, incoming, de->d_name,
				    out);
		closedir(d);
	} else if (fd != -1) {
		close(fd);
	}
	if (dfd != -1)
		close(dfd);
	return fflush(out) == EOF ? err_set(e, ERR_IO, "write error") : 0;
}

/* ---- the sender's identity ---- */

static uid_t caller = (uid_t)-1; /* root's uid, once it became the sender */

uid_t
privsep_caller_uid(void)
{
	return caller != (uid_t)-1 ? caller : getuid();
}

/* The system queue's owner (0 for root, none, or not a directory). */
static uid_t
queue_owner(struct stat *st)
{
	if (lstat(POSTSEAL_SYSTEM_QUEUE, st) == -1 || !S_ISDIR(st->st_mode))
		return 0;
	return st->st_uid;
}

/* Root, or the sender: who may own the spool and the status listings. */
static int
trusted_owner(uid_t uid)
{
	struct stat st;

	return uid == 0 || uid == queue_owner(&st);
}

int
privsep_is_sender(void)
{
	struct stat st;
	uid_t owner = queue_owner(&st);

	return geteuid() == 0 || (owner != 0 && owner == geteuid());
}

int
privsep_become_sender(struct err *e)
{
	const struct passwd *pw;
	struct stat st, acc;
	gid_t groups[3];
	size_t n = 0;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || (uid = queue_owner(&st)) == 0)
		return 0;
	/* The user's own group, or the queue's where it has no entry. */
	gid = (pw = getpwuid(uid)) != NULL ? pw->pw_gid : st.st_gid;
	groups[n++] = gid;
	if (st.st_gid != gid)
		groups[n++] = st.st_gid;
	if (stat(SYSCONFDIR_POSTSEAL "/accounts", &acc) == 0 &&
	    acc.st_gid != 0 && acc.st_gid != gid && acc.st_gid != st.st_gid)
		groups[n++] = acc.st_gid;
	if (setgroups(n, groups) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1)
		return err_set(e, ERR_OS,
		    "cannot become uid %lu, the owner of %s: %s",
		    (unsigned long)uid, POSTSEAL_SYSTEM_QUEUE, strerror(errno));
	/* For good: root must be out of reach now. */
	if (setuid(0) != -1 || geteuid() != uid || getuid() != uid)
		return err_set(e, ERR_SOFTWARE, "could still become root");
	caller = 0;
#ifdef HAVE_SYS_PRCTL_H
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	log_debug("sending as uid %lu, the owner of %s", (unsigned long)uid,
	    POSTSEAL_SYSTEM_QUEUE);
	return 0;
}
