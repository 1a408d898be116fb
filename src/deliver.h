/*
 * deliver.h -- one delivery attempt for one message of one account: choose
 * the password, try the account's hosts in order (next host on connection
 * errors and 4xx, not on 5xx), send, and log one line.  Used for immediate
 * submission and by queue runs (which reuse a connection).
 */
#ifndef POSTSEAL_DELIVER_H
#define POSTSEAL_DELIVER_H

#include "config.h"
#include "err.h"
#include "smtp.h"

struct deliver_conn; /* a reusable connection for one account */

/* The outcome of deliver() per recipient. */
struct deliver_result {
	struct err *rcpt; /* in: env->nrcpts entries; out: ERR_NONE for a
			     recipient the message was delivered to, else
			     why not (its own refusal, or the attempt's) */
	size_t delivered; /* out: recipients delivered to */
	int at_open;	  /* out: nothing sent, no session could be opened */
};

/*
 * Deliver the data read from data_fd (positioned at 0, to EOF) with the
 * envelope env through account a.  *connp may be NULL (a new connection is
 * opened and left in *connp for reuse) or a connection from an earlier
 * call; it is closed and set to NULL on failure.  msgid is for the log.
 * Recipients the server refuses with "too many recipients" go in further
 * transactions at once, as long as each one delivers to someone.
 * Returns 0 when the message was delivered to at least one recipient (see
 * res for each), -1 when to none (e says why; res too).  One log line per
 * transaction, and one per refused recipient.
 */
int deliver(const struct account *a, struct deliver_conn **connp,
    const struct smtp_envelope *env, int data_fd, const char *msgid,
    struct deliver_result *res, struct err *e);

/* Close a connection from deliver(); NULL is fine. */
void deliver_close(struct deliver_conn *c);

#endif
