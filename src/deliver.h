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

/*
 * Deliver the data read from data_fd (positioned at 0, to EOF) with the
 * envelope env through account a.  *connp may be NULL (a new connection is
 * opened and left in *connp for reuse) or a connection from an earlier
 * call; it is closed and set to NULL on failure.  msgid is for the log.
 */
int deliver(const struct account *a, struct deliver_conn **connp,
    const struct smtp_envelope *env, int data_fd, const char *msgid,
    struct err *e);

/* Close a connection from deliver(); NULL is fine. */
void deliver_close(struct deliver_conn *c);

#endif
