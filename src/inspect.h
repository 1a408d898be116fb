/*
 * inspect.h -- "postseal --inspect [FILE]" (issue 14): where a received
 * message came from, whether it authenticates, and what looks wrong.
 */
#ifndef POSTSEAL_INSPECT_H
#define POSTSEAL_INSPECT_H

#include <stdio.h>

#include "cli.h"
#include "err.h"

/* Bounds on one inspected message (see inspect.c and postseal(1)). */
#define INSPECT_MAX_SIZE (64ULL * 1024 * 1024) /* the whole message */
#define INSPECT_MAX_HOPS 64		       /* Received fields examined */
#define INSPECT_MAX_AUTHRES 16		    /* Authentication-Results fields */
#define INSPECT_MAX_ARC 16		    /* ARC sets */
#define INSPECT_MAX_DKIM 16		    /* DKIM-Signature fields verified */
#define INSPECT_MAX_LOOKUPS 60		    /* DNS queries per message */
#define INSPECT_MAX_FLAGS 32		    /* red flags reported */
#define INSPECT_MAX_SCAN (8U * 1024 * 1024) /* body bytes MIME-scanned */

/*
 * Read the message in o->inspect_file (NULL or "-": stdin) -- a .eml file
 * or one mbox message with its "From " line, CRLF or LF -- and print the
 * report on out: text (80 columns; colour only when out is a terminal) or,
 * with o->json, one JSON object (schema in postseal(1)).  Lookups use the
 * account's dns_server when a configuration is found, else the system's
 * resolvers; nothing else touches the network.  Returns 0 when the
 * verdict is "authenticated and aligned", 1 for any other verdict, -1 (e
 * filled: ERR_NOINPUT, ERR_DATA, ERR_CONFIG) when no report could be made.
 */
int inspect_run(const struct opts *o, FILE *out, struct err *e);

#endif
