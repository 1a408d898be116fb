/*
 * submit.h -- sendmail mode: the message on stdin, its envelope from argv,
 * the headers and the account, completed, signed, and handed to the queue
 * and the smarthost.
 */
#ifndef POSTSEAL_SUBMIT_H
#define POSTSEAL_SUBMIT_H

#include "cli.h"
#include "config.h"
#include "err.h"

/*
 * Submit the message on standard input.  Returns 0 once the message was
 * delivered or is durably queued, else -1 with e filled (nothing accepted:
 * the caller keeps the mail).
 */
int submit(const struct opts *o, const struct config *cfg, struct err *e);

/*
 * As submit(), reading the message from fd instead (the DATA of a -bs
 * dialogue, already unstuffed: o->ignore_dots should be set).  The
 * envelope comes from o (sender, rcpts), as for submit().
 */
int submit_fd(const struct opts *o, const struct config *cfg, int fd,
    struct err *e);

/*
 * --dkim-sign: prepare the message on standard input exactly as submit()
 * would (sender, headers completed, SMTP-safe), sign it with the account's
 * keys (--dkim-time and --dkim-headers make it reproducible) and write it
 * to standard output.  Nothing is queued or sent; recipients are not
 * needed.  An account without dkim_key, or a key that does not load:
 * ERR_CONFIG.
 */
int submit_dkim_filter(const struct opts *o, const struct config *cfg,
    struct err *e);

/*
 * Issue 9: the configuration could not be loaded (why).  Read the message
 * on standard input as submit() would, and hold it in the default queue
 * (the system queue for root with no -C or one under SYSCONFDIR_POSTSEAL,
 * else the user's) with why as its last error, to be completed, signed
 * and sent by the first queue run after the configuration is fixed.  Says
 * so on stderr.  Returns 0 only once it is durably queued; else -1 with e
 * filled (why's kind, or the message's own error such as no recipients).
 */
int submit_unconfigured(const struct opts *o, const struct err *why,
    struct err *e);

/* Before a queue run: submit every held entry with cfg (to the queue;
 * the run then sends it).  Problems are reported on stderr. */
void submit_release_held(const struct config *cfg);

/*
 * Issue 10: 1 if this submission goes through the drop step (or, for
 * mailq, the listing comes from it: privsep_mailq()): sendmail mode, -bs
 * (each message of the dialogue) or mailq (text or --json), not root, no
 * -C and no configuration of the user's own (so the system one applies),
 * and some file of the system configuration is not readable by us.  With
 * -C or a user configuration postseal runs as the user alone and never
 * runs the drop step (SECURITY.md P2).
 */
int submit_via_drop(const struct opts *o);

/* Read the message and hand it to the drop step (privsep_submit()). */
int submit_drop(const struct opts *o, struct err *e);

/* The same for a message on fd (-bs through the drop step). */
int submit_drop_fd(const struct opts *o, int fd, struct err *e);

#endif
