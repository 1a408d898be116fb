/*
 * queue.h -- the durable spool: store, list, lock, defer, fail, remove,
 * requeue, expire, and the per-account rate-limit log.
 *
 * An entry is a directory holding the message bytes ("msg", exactly what is
 * sent) and its envelope ("env", versioned text); the on-disk format is
 * documented at the top of queue.c.  An entry appears in a queue area only
 * complete (one rename), so a crash at any moment leaves a whole entry or
 * none.  Entries never hold secrets; files are 0600, directories 0700.
 *
 * Locking: a struct queue_entry holds an exclusive flock() on the entry's
 * message file for its whole life.  Only the holder of that lock changes,
 * moves or removes the entry, so two queue runs, or a submission and a
 * queue run, never send the same entry twice.  The lock is on the open
 * file description: it survives fork() and is released when the last copy
 * of the descriptor is closed.
 *
 * Depends only on err, buf (and libsodium for random IDs).
 */
#ifndef POSTSEAL_QUEUE_H
#define POSTSEAL_QUEUE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define QUEUE_ID_LEN 20		      /* 8 hex digits of time, 12 of random */
#define QUEUE_MAX_RCPTS 1000	      /* recipients per entry */
#define QUEUE_MAX_VALUE 1000	      /* bytes in one envelope value */
#define QUEUE_MAX_NAME 256	      /* bytes in an account name */
#define QUEUE_MAX_TIME 253402300799LL /* 9999-12-31T23:59:59Z */
#define QUEUE_MAX_ATTEMPTS 1000000U
#define QUEUE_STALE_TMP 3600 /* seconds before an abandoned store is swept */

enum queue_area { QUEUE_ACTIVE = 0, QUEUE_FAILED };

/*
 * The envelope of an entry.  Strings are borrowed when a caller fills the
 * struct (e.g. for queue_store()); when queue.c fills it (queue_env_parse(),
 * queue_peek(), queue_entry_env()) the strings live in storage owned by the
 * struct (text_, rcptv_) and queue_env_free() releases them.
 */
struct queue_envelope {
	char id[QUEUE_ID_LEN + 1];
	const char *account;	  /* account name, required */
	const char *from;	  /* envelope sender; "" is the null sender */
	const char *const *rcpts; /* still to deliver, none empty */
	size_t nrcpts;
	/*
	 * Per-recipient state (format version 2).  rcpt_why[i] (NULL, or an
	 * array of nrcpts) is rcpts[i]'s last refusal or NULL.  sent: the
	 * server took the message for them, never sent again; failed: refused
	 * for good and reported (failed_why[i]: why, or NULL).  Together at
	 * least 1 and at most QUEUE_MAX_RCPTS recipients.
	 */
	const char *const *rcpt_why;
	const char *const *sent;
	size_t nsent;
	const char *const *failed;
	const char *const *failed_why;
	size_t nfailed;
	const char *dsn_notify; /* NULL: none (RFC 3461 NOTIFY=) */
	const char *dsn_return; /* NULL: none (RET=) */
	const char *dsn_envid;	/* NULL: none (ENVID=) */
	const char *msgid;	/* Message-ID for logs, or NULL */
	int body_8bit;
	int smtputf8;
	unsigned long long size; /* bytes of the message file */
	long long created;	 /* unix time the entry was stored */
	long long retried;	 /* last --queue-retry, or 0 */
	long long next_try;	 /* not sent by a queue run before this */
	unsigned attempts;	 /* failed delivery attempts so far */
	int last_code;		 /* SMTP code of the last failure, or 0 */
	const char *last_error;	 /* last failure, or NULL */
	/* Issue 9 (additive keys "held" and "warned"): */
	const char *held; /* spooled without a usable configuration: the
			   * submission options to apply later (submit.c's
			   * format); NULL for an ordinary entry */
	long long warned; /* a delay warning was sent then, or 0 */
	/* Issue 10: the real uid of the local user whose message the drop
	 * step took (privsep.c); 0 for one submitted directly (root never
	 * goes through the drop step). */
	unsigned long long uid;

	/* Private to queue.c. */
	char *text_;
	const char **rcptv_, **rwhyv_, **sentv_, **failedv_, **fwhyv_;
};

/* What an attempt did for one pending recipient (queue_set_rcpts()). */
enum queue_rcpt_state {
	QUEUE_RCPT_PENDING = 0, /* still to deliver */
	QUEUE_RCPT_SENT,	/* the server took it: never send again */
	QUEUE_RCPT_FAILED	/* refused for good, reported */
};

#ifdef QUEUE_TEST_HOOKS
/* Tests only: called at each step of a store or update, e.g. to SIGKILL
 * the process there ("store-created", "store-env-synced", ...). */
extern void (*queue_test_hook)(const char *step);
#endif

/* Free the storage of an envelope filled by queue.c; borrowed strings are
 * left alone.  The struct is zeroed.  NULL is fine. */
void queue_env_free(struct queue_envelope *env);

/*
 * Parse an envelope file (len bytes, NUL bytes refused).  Strict: the
 * version line first, known keys only, singletons once, every value
 * printable (no control byte; UTF-8 passes), bounded in length and count,
 * numbers in range, "end" as the last line and nothing after it.  On
 * success env owns a copy (free with queue_env_free()); on failure env is
 * empty and e (ERR_DATA) says which line is wrong.
 */
int queue_env_parse(const char *text, size_t len, struct queue_envelope *env,
    struct err *e);

/*
 * Append the envelope file for env to out, validating every value as
 * queue_env_parse() would (so a hostile address cannot inject a line).
 * ERR_DATA on a value that cannot be stored.
 */
int queue_env_format(const struct queue_envelope *env, struct buf *out,
    struct err *e);

/* Nonzero if id has the shape of a queue ID (QUEUE_ID_LEN lowercase hex). */
int queue_id_valid(const char *id);

/*
 * Retry delay in seconds after the attempts-th failed attempt: min doubled
 * (attempts - 1) times, at most max (min if attempts is 0; max if min >
 * max).  Never overflows.
 */
long long queue_backoff(unsigned attempts, unsigned min, unsigned max);

/* Nonzero once the entry is older than max_age seconds, counted from its
 * creation or its last requeue, whichever is later. */
int queue_expired(const struct queue_envelope *env, long long now,
    unsigned max_age);

/*
 * Sliding-window rate check.  recent holds the times of the last n sends
 * (n <= count, ascending).  Returns 1 if one more send at now keeps at
 * most count sends in any period seconds, else 0 with *next_ok set to the
 * first time one is allowed.  count 0 means no limit.
 */
int queue_rate_check(const long long *recent, size_t n, unsigned count,
    unsigned period, long long now, long long *next_ok);

/* ---- the queue directory ---- */

struct queue; /* an open queue directory */

/*
 * Open the queue at dir.  With create, missing directories (dir and its
 * parents, and the areas inside) are made, mode 0700.  The directory and
 * its areas must belong to the effective user or to root, must not be
 * writable by others, and may be writable by their group only if that is
 * our effective group and we run setgid (getegid() != getgid()).  No
 * component of dir may be a symbolic link or belong to another user; an
 * ancestor others can write must be sticky (/tmp), and a missing component
 * is not created inside one.  Else ERR_CONFIG.  A missing queue without
 * create fails with ERR_NOINPUT.  Caller frees with queue_close().
 */
int queue_open(const char *dir, int create, struct queue **out, struct err *e);
void queue_close(struct queue *q);
const char *queue_path(const struct queue *q);

/* Same directory (device and inode) as another open queue. */
int queue_same(const struct queue *a, const struct queue *b);

typedef int queue_write_fn(void *arg, int fd, struct err *e);

/*
 * Store a new entry: write(arg, fd, e) writes the message bytes to fd (a
 * new file, mode 0600), then the envelope made from tmpl is written (tmpl's
 * id, size, created, attempts, next_try and last_* are ignored: a fresh ID,
 * the file's size and now are used), both are fsync()ed, and the entry is
 * renamed into the active area, whose directory is fsync()ed.  Returns 0
 * only once the entry is durable.  On success *out holds the entry, still
 * locked (or, if out is NULL, it is released).  On failure nothing is
 * left behind and e says why: ERR_TEMP for a full disk or quota, or a queue
 * we may not write (EACCES, EPERM, EROFS), ERR_DATA for an envelope that
 * cannot be stored, ERR_IO otherwise.
 */
struct queue_entry;
int queue_store(struct queue *q, const struct queue_envelope *tmpl,
    queue_write_fn *write, void *arg, struct queue_entry **out, struct err *e);

#define QUEUE_LOCKED 0
#define QUEUE_GONE 1 /* no such entry (or it just moved) */
#define QUEUE_BUSY 2 /* another process holds it */

/*
 * Lock the entry id of area without waiting and read its envelope.
 * Returns QUEUE_LOCKED with *out set, QUEUE_GONE, QUEUE_BUSY, or -1 with e
 * filled (ERR_DATA: the entry is corrupt; *out is then set anyway, with
 * queue_entry_env() NULL, so the caller can queue_fail() or remove it).
 */
int queue_lock(struct queue *q, enum queue_area area, const char *id,
    struct queue_entry **out, struct err *e);

/* The entry's envelope (NULL for a corrupt entry), data fd (read it with
 * pread() or lseek() first), ID and area. */
const struct queue_envelope *queue_entry_env(const struct queue_entry *qe);
int queue_entry_fd(const struct queue_entry *qe);
const char *queue_entry_id(const struct queue_entry *qe);
enum queue_area queue_entry_area(const struct queue_entry *qe);

/*
 * Remove the entry (after a 2xx to the final dot, or a drop).  The entry
 * leaves its area in one rename; the removal is not fsync()ed (a crash just
 * after it may resend the message: at-least-once).  The handle stays
 * valid for queue_entry_env() until queue_release().
 */
int queue_remove(struct queue_entry *qe, struct err *e);

/*
 * Record a failed attempt: next_try, and, if count is nonzero, attempts+1,
 * last_code = code and last_error = why (why may be NULL; it is made
 * printable and cut to fit).  With count 0 (a postponement, e.g. for the
 * rate limit) only next_try changes and the update is not fsync()ed.  The
 * new envelope replaces the old one by rename: a crash leaves either.
 */
int queue_defer(struct queue_entry *qe, long long next_try, int count, int code,
    const char *why, struct err *e);

/*
 * Record what an attempt did per pending recipient: state[i] and why[i]
 * (NULL, or per recipient: the refusal, made printable and cut to fit)
 * for env->rcpts[i].  Sent and failed recipients leave the pending list
 * for good.  The new envelope is fsync()ed before this returns, so a
 * recipient recorded as sent is never sent again.
 */
int queue_set_rcpts(struct queue_entry *qe, const enum queue_rcpt_state *state,
    const char *const *why, struct err *e);

/* Record the failure (attempts+1, code, why) and move the entry to the
 * failed area (one rename).  A corrupt entry is moved as it is. */
int queue_fail(struct queue_entry *qe, int code, const char *why,
    struct err *e);

/* Record that a delay warning was sent at when (the "warned" key). */
int queue_set_warned(struct queue_entry *qe, long long when, struct err *e);

/* Make the entry due at now; a failed entry goes back to the active area
 * with attempts 0 and retried = now (its age for expiry restarts), its
 * failed recipients pending again (the sent ones stay sent). */
int queue_requeue(struct queue_entry *qe, long long now, struct err *e);

/* Close the entry (releases the lock unless a fork()ed copy holds it) and
 * free it.  NULL is fine. */
void queue_release(struct queue_entry *qe);

/*
 * The IDs in an area, oldest first (names that are not IDs are ignored).
 * The caller frees the array with queue_list_free().
 */
int queue_list(struct queue *q, enum queue_area area, char ***ids, size_t *n,
    struct err *e);
void queue_list_free(char **ids, size_t n);

/*
 * Read an entry's envelope without locking it (for listing); the message
 * size is checked against it.  QUEUE_GONE if it vanished meanwhile.  On 0,
 * free env with queue_env_free().
 */
int queue_peek(struct queue *q, enum queue_area area, const char *id,
    struct queue_envelope *env, struct err *e);

/*
 * Sweep abandoned work from tmp/: removals interrupted by a crash, and
 * stores older than QUEUE_STALE_TMP seconds whose writer is gone.
 */
int queue_cleanup(struct queue *q, long long now, struct err *e);

/*
 * Rate limit of an account: if fewer than count sends were recorded in the
 * last period seconds, record one at now and return 1; else return 0 with
 * *next_ok set to when a slot frees.  count 0 returns 1 and records
 * nothing.  The log (rate/NAME in the queue) is locked while it is read
 * and updated, so concurrent runs share the limit.
 */
int queue_rate_take(struct queue *q, const char *account, unsigned count,
    unsigned period, long long now, long long *next_ok, struct err *e);

#endif
