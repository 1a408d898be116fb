/*
 * smtp.h -- the SMTP submission client (RFC 5321, 3207, 4954, 2920, 1870,
 * 6152, 3461, 6531): connect, greeting, EHLO, STARTTLS or implicit TLS,
 * EHLO again, AUTH, then any number of transactions on one connection.
 *
 * Every read has a deadline (the account's timeout).  Replies are parsed
 * with the bounds of STYLE.md.  Failures are classified here: 4xx, network
 * errors, timeouts and protocol violations are ERR_TEMP/ERR_PROTOCOL; 5xx are
 * permanent (ERR_PERM, or ERR_NOUSER for rejected recipients); failed
 * authentication is ERR_AUTH; a certificate that fails verification or a
 * missing STARTTLS is ERR_TEMP (the admin must fix it; the mail is kept).
 */
#ifndef POSTSEAL_SMTP_H
#define POSTSEAL_SMTP_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "err.h"

struct smtp_session;

/*
 * Open a session to host (one of a->hosts) as configured in a: connect,
 * TLS, EHLO, AUTH with password (may be NULL when auth is off; borrowed,
 * not kept after return).  No credential is sent unless TLS is up and the
 * certificate verified (or tls_certcheck off with a fingerprint pinned).
 * On success *out is set; free with smtp_close().
 */
int smtp_open(const struct account *a, const char *host, const char *password,
    struct smtp_session **out, struct err *e);

struct smtp_envelope {
	const char *from;	   /* "" is the null sender */
	const char *const *rcpts;  /* at least one */
	size_t nrcpts;
	const char *dsn_notify;	   /* NULL: none */
	const char *dsn_return;	   /* "FULL"/"HDRS" or NULL */
	const char *dsn_envid;	   /* NULL: none */
	int body_8bit;		   /* send BODY=8BITMIME */
	int smtputf8;		   /* an address needs SMTPUTF8 */
	unsigned long long size;   /* bytes of data before dot-stuffing */
};

/*
 * One transaction: MAIL, RCPT..., DATA pipelined in one write when the
 * server offers PIPELINING; then the data read from data_fd (from its
 * current offset to EOF, CRLF line endings), dot-stuffed, ending with
 * CRLF.CRLF.  If any recipient is refused nothing is sent and the error
 * names each refused recipient with the server's reply.  Success means a
 * 2xx reply to the final dot.
 */
int smtp_send(struct smtp_session *s, const struct smtp_envelope *env,
    int data_fd, struct err *e);

/* RSET between transactions on one connection. */
int smtp_reset(struct smtp_session *s, struct err *e);

/* QUIT (best effort) and free everything.  NULL is fine. */
void smtp_close(struct smtp_session *s);

/* For the log line: "TLS1.3/..." or NULL, the mechanism used or NULL, and
 * the last reply (code and printable text) of the session. */
const char *smtp_tls_info(const struct smtp_session *s);
const char *smtp_auth_mech(const struct smtp_session *s);
int smtp_last_code(const struct smtp_session *s);
const char *smtp_last_text(const struct smtp_session *s);

/*
 * --serverinfo: connect as for a submission, print TLS details, the
 * certificate and the EHLO capabilities to out; no AUTH, no message.
 */
int smtp_serverinfo(const struct account *a, const char *host, FILE *out,
    struct err *e);

#endif
