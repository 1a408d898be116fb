/*
 * sasl.h -- SMTP AUTH mechanisms: choosing one, and computing the client's
 * messages (RFC 4954).  SCRAM, PLAIN and LOGIN come from libgsasl; XOAUTH2
 * and OAUTHBEARER (RFC 7628) are built here.  The only module that
 * includes gsasl.h.
 *
 * Messages in and out are base64 text as they appear on the SMTP line.
 * Outputs hold secrets: free them with sasl_response_free() (wipes).
 */
#ifndef POSTSEAL_SASL_H
#define POSTSEAL_SASL_H

#include <stddef.h>

#include "err.h"

struct sasl;

/*
 * Choose the mechanism (pure; tested as a table).  server_mechs is the
 * EHLO AUTH list (space separated) or NULL when AUTH is not offered;
 * setting is the account's auth value: NULL or "on" (choose), or a
 * mechanism name (forced; case-insensitive).  tls is nonzero when TLS is
 * up and the server authenticated; have_cb when channel binding data is
 * available.
 *
 * Automatic choice, strongest first: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS
 * (only with channel binding), SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN.
 * XOAUTH2 and OAUTHBEARER are used only when forced, or with the setting
 * SASL_BEARER (OAUTHBEARER if offered, else XOAUTH2).  Without TLS every
 * mechanism is refused (ERR_CONFIG): PLAIN, LOGIN and the bearer tokens
 * reveal the secret and SCRAM would expose the exchange to offline
 * guessing.  An unknown or unsupported mechanism name is ERR_CONFIG; no
 * common mechanism, no AUTH at all, or a forced mechanism the server does
 * not offer is ERR_AUTH.  Returns a static name or NULL (e filled).
 */
#define SASL_BEARER "bearer" /* setting: OAUTHBEARER, else XOAUTH2 */
const char *sasl_choose(const char *server_mechs, const char *setting, int tls,
    int have_cb, struct err *e);

/* Nonzero if the mechanism sends an initial response with AUTH. */
int sasl_has_initial(const char *mech);

/*
 * Start the client side of mech (a name returned by sasl_choose()).
 * secret is the password or, for XOAUTH2/OAUTHBEARER, the bearer token;
 * host and port are for OAUTHBEARER; cb (cblen bytes, tls-exporter when
 * exporter is nonzero, else tls-unique) is required for the -PLUS
 * mechanisms and ignored otherwise.  The strings are copied (and wiped by
 * sasl_free()).  Errors: ERR_AUTH (library refuses the mechanism),
 * ERR_CONFIG (no user).
 */
int sasl_start(const char *mech, const char *user, const char *secret,
    const char *host, unsigned port, const unsigned char *cb, size_t cblen,
    int exporter, struct sasl **out, struct err *e);

/*
 * One step: challenge is the base64 text of a 334 reply, or NULL for the
 * initial response.  *out is set to the base64 response ("" for an empty
 * one); free it with sasl_response_free().  A malformed challenge or a
 * server that fails to prove itself (SCRAM) is ERR_AUTH.
 */
int sasl_step(struct sasl *s, const char *challenge, char **out, struct err *e);

/*
 * Nonzero once the mechanism has completed on the client side (for SCRAM:
 * the server's signature verified).  A 235 before that is not trusted.
 */
int sasl_complete(const struct sasl *s);

void sasl_response_free(char *out);

/* Wipe and free; NULL is fine. */
void sasl_free(struct sasl *s);

#endif
