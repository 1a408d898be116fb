/*
 * discover.h -- postseal --configure ADDRESS [--write] (issue 16): the
 * submission server from SRV records (RFC 6186/8314) and the provider's
 * autoconfig document, printed as an account or written to a new file.
 */
#ifndef POSTSEAL_DISCOVER_H
#define POSTSEAL_DISCOVER_H

#include <stdio.h>

#include "err.h"

struct opts;

/*
 * Look up o->configure_addr's domain (through o->configure_dns,
 * validating from o->configure_anchor when set; HTTPS
 * verified against o->configure_trust or the system's store) and print
 * the account to out; with o->configure_write also create the
 * configuration file (-C or the user's), never overwriting one
 * (ERR_CANTCREAT, nothing looked up).  Returns 0, or -1 with e set.
 */
int discover_run(const struct opts *o, FILE *out, struct err *e);

#endif
