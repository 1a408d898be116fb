/*
 * privsep.h -- the privilege boundary of the system install (issue 10,
 * SECURITY.md section P): a local user's message reaches the system queue
 * only through the drop step, which trusts nothing from the user, and only
 * the sender (the queue run, as the queue's own user) reads the system
 * account's secrets.
 *
 * The drop record, what the user's postseal writes to the drop program's
 * stdin: the line "postseal-drop 1", a queue envelope (queue.c's format,
 * up to its "end" line) with a "held" value (submit.c's options), then
 * exactly "size" bytes of message.  The drop program re-checks all of it,
 * keeps only the fields a submission may set, adds the caller's real uid
 * and writes its own envelope and the bytes to INCOMING/t<uid>-<id>, then
 * renames it to INCOMING/<uid>-<id>: a name it chooses, O_EXCL, never a
 * path from the user.
 */
#ifndef POSTSEAL_PRIVSEP_H
#define POSTSEAL_PRIVSEP_H

#include <sys/types.h>

#include <stdio.h>

#include "err.h"
#include "queue.h"

#define PRIVSEP_MAGIC "postseal-drop 1\n"
/* Per local user, in incoming/ and the system queue together, unless the
 * policy file says otherwise (SECURITY.md P7). */
#define PRIVSEP_MAX_ENTRIES 100
#define PRIVSEP_MAX_BYTES (64ULL * 1024 * 1024)

/* The policy file's per-user limits (privsep_policy_limits()). */
struct privsep_limits {
	unsigned long long messages; /* max_user_messages */
	unsigned long long bytes;    /* max_user_queue */
	unsigned long long message;  /* max_message_size */
};

/*
 * The user's side: run the drop program (PRIVSEP_DROP, environment
 * cleared) and write the record for env (the held value set; id, size,
 * times ignored) and the size bytes write(arg, fd) produces to it.
 * Returns 0 once the drop program said the message is in incoming/; else
 * e says why (its exit status kind; its message went to stderr).
 */
int privsep_submit(const struct queue_envelope *env, queue_write_fn *write,
    void *arg, unsigned long long size, struct err *e);

/*
 * The drop program: read one record from fd in, check it and the policy
 * file (privsep_policy_check(), privsep_policy_limits()), and store it in
 * the directory incoming as submitted by uid.  What uid has in incoming
 * and in the system queue (the listing root's last queue run left in
 * status/<uid>; status NULL: incoming alone) counts against the limits.
 * id receives the name's ID (QUEUE_ID_LEN + 1 bytes).  ERR_DATA for a
 * malformed record or one over max_message_size, ERR_AUTH for one the
 * policy refuses, ERR_CONFIG for a bad policy file, ERR_TEMP for the
 * per-user limit or a full disk; nothing is left behind then.
 */
int privsep_drop(int in, const char *incoming, const char *policy,
    const char *status, uid_t uid, char *id, struct err *e);

/*
 * The sender: move every complete record of incoming into q as a held
 * entry with its uid (queue_store()), re-checking everything the drop
 * step checked, and remove it.  Stale partial records are removed;
 * records that fail a check are logged and removed.  Returns the number
 * moved, or -1 if incoming cannot be opened (ERR_NOINPUT if it does not
 * exist).
 */
int privsep_pickup(const char *incoming, struct queue *q, struct err *e);

/*
 * The sender's identity.  make install-system gives the system queue
 * POSTSEAL_SYSTEM_QUEUE to a dedicated user (SENDER_USER, "postseal"):
 * that user alone sends the system queue.  privsep_is_sender() is 1 for
 * it, and for root where the queue belongs to root or does not exist
 * (an install without that step: root sends, as before).
 *
 * privsep_become_sender(), for root about to use the system
 * configuration: switch for good to the queue's owner, with its primary
 * group and exactly two more, the queue's (the drop step's: to read the
 * records in incoming/) and that of SYSCONFDIR_POSTSEAL/accounts (to read
 * the account files), and make the process non-dumpable again.  Nothing
 * to do (0) when the queue belongs to root or does not exist; -1 with e
 * (ERR_CONFIG, ERR_OS) if the switch fails, before anything is read.
 *
 * privsep_caller_uid(): who called us, the local user a message is from
 * (its login name, the policy's user): root (0) after the switch, else
 * the real uid.
 */
int privsep_is_sender(void);
int privsep_become_sender(struct err *e);
uid_t privsep_caller_uid(void);

/*
 * The drop policy (SYSCONFDIR_POSTSEAL/policy, not secret: the drop step
 * reads it, so a refusal is a synchronous exit 77; the sender checks it
 * again).  Lines "keyword value..." ('#' starts a comment line):
 *   account NAME        the lines below apply to submissions with -a NAME
 *                       (before any account line: those without -a, and
 *                       any -a NAME that has no section of its own);
 *   allow_users U...    only these local users may submit (default: all);
 *   allow_groups G...   ...or members of these groups;
 *   allow_from P...     envelope senders (-f) they may choose (fnmatch
 *                       globs, the domain case-insensitively); default
 *                       none: the account's own from is used.
 * A local sender (no '@', @localhost, or @ this host) is never refused:
 * the account's from replaces it.  No file: everyone may submit, with the
 * account's from.  The file must belong to root and not be writable by
 * group or others (ERR_CONFIG otherwise).
 *
 * Lines before any account line may also set the per-user limits (one
 * value each; in a section they are ERR_CONFIG):
 *   max_user_messages N  messages of one user in incoming/ and the
 *                        system queue together (default 100);
 *   max_user_queue SIZE  their bytes (default 64M; SIZE: a number with
 *                        k, M or G, powers of 1024);
 *   max_message_size SIZE one message (default 64M).
 * privsep_policy_limits() fills l with them (the defaults without the
 * file); ERR_CONFIG for a bad value or file.
 *
 * privsep_policy_check(): 0 if uid may submit for account ("*": no -a)
 * with sender (NULL: no -f); *use_sender is set to 1 when sender is one
 * allow_from allows (the sender then keeps it), else 0.  ERR_AUTH with a
 * clear text when refused.
 */
int privsep_policy_check(const char *file, uid_t uid, const char *account,
    const char *sender, int *use_sender, struct err *e);
int privsep_policy_limits(const char *file, struct privsep_limits *l,
    struct err *e);

/*
 * mailq for a local user of the system account: run the drop program
 * with -l (json: -j), which prints to our stdout what privsep_show()
 * prints.
 */
int privsep_mailq(int json, struct err *e);

/*
 * The drop program's -l: the listing the sender's queue run left for uid
 * (status/<uid>, runq_write_status()), then how many of uid's records
 * wait in incoming for the next run; "Mail queue is empty" if neither.
 */
int privsep_show(const char *status, const char *incoming, uid_t uid, FILE *out,
    struct err *e);

/*
 * The drop program's -j (mailq --json): status/<uid>.json (root's last
 * run, in -bp --json's schema), then each of uid's records in incoming
 * as one object of that schema with "state":"incoming"; nothing at all
 * if neither.
 */
int privsep_show_json(const char *status, const char *incoming, uid_t uid,
    FILE *out, struct err *e);

#endif
