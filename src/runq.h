/*
 * runq.h -- the life of a queued message: submission (store, then deliver
 * now, in the background, or not at all), queue runs (-q), listing (-bp,
 * mailq), drop and retry, failure notices.  Uses queue.c for storage and
 * deliver.c for each attempt.
 *
 * Queue location: the account's queue_dir if set; else, for root using the
 * system configuration, POSTSEAL_SYSTEM_QUEUE (/var/spool/postseal);
 * else $XDG_STATE_HOME/postseal/queue, with the home directory from
 * getpwuid(getuid()) when XDG_STATE_HOME is unset or not absolute.
 * Commands that read the queue (-q, -bp, drop, retry) visit the default
 * queue and every account's distinct queue_dir.
 *
 * Outcome of an attempt, per recipient: 2xx to the final dot: delivered,
 * never sent again.  Temporary (4xx, connection, TLS, timeout, DNS,
 * protocol; in queue runs also failed authentication and configuration
 * errors, which need the admin): kept pending, retried after the
 * account's backoff.  Permanent (5xx to MAIL, DATA or the dot, or to that
 * recipient): failed and, unless the sender is null or the account says
 * "bounce_notices off", a failure notice (RFC 3464 report) listing the
 * recipients that failed, each with its own reply, goes to the sender
 * through the same account.  An entry leaves the queue when no recipient
 * is pending: removed if all were delivered, else moved to failed/, which
 * queue runs empty of entries older than failed_max_age.  Entries older
 * than queue_max_age fail the same way.  A message with more than
 * QUEUE_MAX_RCPTS recipients is stored as several entries.
 */
#ifndef POSTSEAL_RUNQ_H
#define POSTSEAL_RUNQ_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "queue.h"
#include "installdirs.h"

/* The queue directory for account a (NULL: the default queue) in out.
 * ERR_CONFIG if it does not fit or no home directory is known. */
int runq_queue_dir(const struct config *cfg, const struct account *a, char *out,
    size_t size, struct err *e);

/*
 * Submit one message: store it in a's queue (env's account is set to a's
 * name; its msgid to msgid when env has none; write_msg(arg, fd, e) writes
 * the exact bytes to send), then by mode:
 *   DELIVER_QUEUE        nothing more;
 *   DELIVER_BACKGROUND   a detached child (new session, stdio on /dev/null)
 *                        makes the attempt; the parent returns at once;
 *   DELIVER_INTERACTIVE  the attempt is made now.
 * Returns 0 when every recipient was delivered, is durably queued, or was
 * refused while others were delivered or queued (then one line on stderr
 * per refused or queued recipient says so and why, and the sender gets a
 * notice for the refused ones).  Returns -1 with e filled when it could
 * not be stored (nothing accepted), or when nobody got the message: every
 * recipient refused for good, or authentication/configuration failed (no
 * copy is kept then: the caller has the error and the mail).  In the
 * background child, returns 0 after the attempt.
 * SIGXFSZ is ignored from here on so that a file size limit is an error,
 * not a crash.
 */
int runq_submit(const struct config *cfg, const struct account *a,
    const struct queue_envelope *env, queue_write_fn *write_msg, void *arg,
    enum deliver_mode mode, const char *msgid, struct err *e);

/*
 * -q: send every due entry of every queue, oldest first, one connection
 * per account reused for all its messages.  With progress and stderr a
 * terminal, a progress line.  Permanent failures are reported on stderr;
 * deferrals only with -v.  Returns 0, or -1 if a queue could not be read
 * (the others are still run).
 */
int runq_run(const struct config *cfg, int progress, struct err *e);

/* Which entries a queue run tries.  Substrings are matched as sendmail's
 * -qR, -qS (case-insensitively, any recipient / the sender) and -qI
 * (the queue ID, exactly); NULL matches everything. */
struct runq_select {
	int due_only; /* honour the backoff (periodic runs) */
	const char *rcpt, *sender, *id;
};

/*
 * -q: as runq_run(), over the entries sel selects: without due_only every
 * active entry is tried now, whatever its backoff (Postfix's "sendmail
 * -q"); the rate limit still applies.  Returns -1 with e filled (ERR_PERM)
 * when a message failed permanently or expired in this run, so that cron
 * and systemd see it, or (as runq_run()) when a queue could not be read.
 */
int runq_run_select(const struct config *cfg, const struct runq_select *sel,
    int progress, struct err *e);

/*
 * A submission without a usable configuration (issue 9): store env (its
 * held member set; account "*" when -a was not given) and the bytes
 * write_msg writes in the default queue (system: the system queue, else
 * the user's), with why as its last error, and log it.  The entry's ID
 * goes to id (QUEUE_ID_LEN + 1 bytes) and the queue directory to dir.
 * Returns 0 only once it is durable.
 */
int runq_hold(int system, const struct queue_envelope *env,
    queue_write_fn *write_msg, void *arg, const struct err *why, char *id,
    char *dir, size_t dirsize, struct err *e);

/*
 * Called for each held entry by runq_release_held(), with its envelope
 * and message fd (rewound): submit it (e.g. to the queue) and return 0, or
 * -1 with e filled.
 */
typedef int runq_release_fn(void *arg, const struct queue_envelope *env, int fd,
    struct err *e);

/*
 * Before a queue run with a usable configuration: hand every held entry
 * of every queue to fn; removed when fn succeeds, else deferred (a
 * temporary error) or moved to failed/ with fn's error, reported on
 * stderr.  Queue runs never send held entries themselves.
 */
void runq_release_held(const struct config *cfg, runq_release_fn *fn,
    void *arg);

/*
 * -bp: one line per entry (ID, size, age, sender, recipients, attempts,
 * last error; failed entries marked "!"), or with json one JSON object per
 * line.  "Mail queue is empty" when there are none (text only).
 */
int runq_list(const struct config *cfg, int json, FILE *out, struct err *e);

/* --queue-drop ID: delete a queued or failed entry.  ERR_NOINPUT if there
 * is none, ERR_TEMP if it is being sent right now. */
int runq_drop(const struct config *cfg, const char *id, struct err *e);

/* --queue-retry ID: make an entry due now; a failed one goes back to the
 * queue with its attempts reset (and its age for expiry restarted). */
int runq_retry(const struct config *cfg, const char *id, struct err *e);

/*
 * The sender's run of the system configuration: write QUEUE/status/<uid> for
 * every local user with entries in the system queue, their entries as
 * mailq lists them, readable by the drop step's group only (the group of
 * the queue directory); remove the others.  The drop step shows a user
 * their own (postseal-drop -l).  Failures are silent: it is a view.
 */
void runq_write_status(const struct config *cfg);

/* 1 if cfg is the system configuration (found by default, or a file of
 * it named with -C). */
int runq_is_system(const struct config *cfg);

#endif
