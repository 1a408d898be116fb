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
 * Hand off the message as the account's end-to-end policy says, through
 * send(arg, rcpts, n, copy, e) once per copy (rcpts and copy borrowed for
 * the call).  m must be complete (headers added, Bcc removed) and 7-bit
 * (message_make_safe() with allow_8bit off).  Without e2e_active() it
 * goes to send() as it is, to all recipients; otherwise it is not changed
 * and the copies are protected.  Without
 * encryption there is one copy for all recipients (signed as configured);
 * with pgp_encrypt/smime_encrypt, one for the To/Cc recipients and one for
 * each other (Bcc) recipient, each encrypted to its own recipients and the
 * sender, so no copy names a Bcc recipient's key.  Every copy is protected
 * before the first send(): a refusal sends nothing.  Refusals: ERR_DATA
 * naming each recipient without a usable key under "always"; ERR_CONFIG
 * for a signing key that is missing, expired, revoked or locked without
 * pgp_passphrase_eval; ERR_TEMP when the crypto engine fails to run.  A
 * failing send() stops the rest and its error is returned.
 */
typedef int (*e2e_send_fn)(void *arg, char **rcpts, size_t n,
    struct message *copy, struct err *e);
int e2e_submit(const struct account *a, const char *from, char *const *rcpts,
    size_t nrcpts, struct message *m, e2e_send_fn send, void *arg,
    struct err *e);

/*
 * Report the state of the account's signing key and of its own encryption
 * key on out, one line each ("ok", "warn", "fail" first).  Returns the
 * worst: 0 ok, 1 warn (expires within 30 days), 2 fail (missing, expired,
 * revoked).  Nothing is printed when e2e_active() is 0.
 */
int e2e_report(const struct account *a, FILE *out);

#endif
