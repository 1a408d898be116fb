/*
 * doctor.h -- "does this account send secure, authenticated mail?"
 * (issue 13).  So far: the sender-domain checks of --check-domain.
 */
#ifndef POSTSEAL_DOCTOR_H
#define POSTSEAL_DOCTOR_H

#include <stdio.h>

#include "cli.h"
#include "err.h"

/*
 * SPF of the envelope sender's domain (-f, default postmaster@DOMAIN) for
 * o->check_ip, DMARC of o->check_domain (the From domain) and alignment,
 * one finding per line on out.  Returns 0 when no finding is an error,
 * 1 when one is, -1 (e filled) when the check could not run at all.
 */
int doctor_check_domain(const struct opts *o, FILE *out, struct err *e);

/*
 * --doctor [-a ACCOUNT] [--auth] [--json]: the account's configuration,
 * each smarthost as a submission would see it (no message; a real AUTH
 * with --auth), and the sender domain (SPF for the smarthosts'
 * addresses, DKIM records of the configured keys, DMARC and alignment,
 * reverse DNS, MX).  Returns as doctor_check_domain().
 */
int doctor_run(const struct opts *o, FILE *out, struct err *e);

#endif
