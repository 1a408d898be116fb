/*
 * e2e.h -- end-to-end protection: OpenPGP/MIME (RFC 3156) and S/MIME
 * (RFC 8551) signing and encryption by the account's policy, through GPGME.
 */
#ifndef POSTSEAL_E2E_H
#define POSTSEAL_E2E_H

#include <stdio.h>

#include "config.h"
#include "err.h"
#include "message.h"

/* Nonzero if the account signs, encrypts or adds an Autocrypt header. */
int e2e_active(const struct account *a);

/*
 * Protect *mp for the envelope (from, rcpts) as the account says.  The
 * message must be complete (headers added, Bcc removed) and 7-bit
 * (message_make_safe() with allow_8bit off).  On success *mp may be a new
 * message (the old one is freed).  Refusals: ERR_DATA naming each recipient
 * without a usable key under "always" or a Bcc recipient that cannot get
 * a copy of its own; ERR_CONFIG for a signing key that is missing, expired,
 * revoked or locked without pgp_passphrase_eval; ERR_TEMP when the crypto
 * engine fails to run.
 */
int e2e_protect(const struct account *a, const char *from,
    const char *const *rcpts, size_t nrcpts, struct message **mp,
    struct err *e);

/*
 * Report the state of the account's signing key and of its own encryption
 * key on out, one line each ("ok", "warn", "fail" first).  Returns the
 * worst: 0 ok, 1 warn (expires within 30 days), 2 fail (missing, expired,
 * revoked).  Nothing is printed when e2e_active() is 0.
 */
int e2e_report(const struct account *a, FILE *out);

#endif
