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

#include "buf.h"
#include "config.h"
#include "err.h"

struct smtp_session;

/*
 * Everything smtp_open() would refuse before connecting, checked for each
 * of a->hosts (bad host, port or EHLO name; credentials without TLS; auth
 * without a user), and what TLS would refuse once connected (trust store,
 * client certificate and key, tls_priorities, tls_certcheck off without a
 * fingerprint): ERR_CONFIG.  submit.c calls it before the message is
 * stored, so a configuration error never leaves a queue entry behind.
 */
int smtp_check_account(const struct account *a, struct err *e);

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
	const char *from;	  /* "" is the null sender */
	const char *const *rcpts; /* at least one */
	size_t nrcpts;
	const char *dsn_notify;	 /* NULL: none */
	const char *dsn_return;	 /* "FULL"/"HDRS" or NULL */
	const char *dsn_envid;	 /* NULL: none */
	int body_8bit;		 /* send BODY=8BITMIME */
	int smtputf8;		 /* an address needs SMTPUTF8 */
	unsigned long long size; /* bytes of data before dot-stuffing */
	/* NULL, or called once the message's last bytes are written, before
	 * their replies are read (runq.c settles the message before then). */
	void (*sent)(void *arg);
	void *sent_arg;
};

/*
 * One transaction: MAIL, RCPT..., DATA pipelined when the server offers
 * PIPELINING (in flights of at most 100 commands, each flight's replies
 * read before the next is written); then the data read from data_fd (from
 * its current offset to EOF, CRLF line endings), dot-stuffed, ending with
 * CRLF.CRLF, for the recipients the server accepted.
 *
 * When the server offers CHUNKING and PIPELINING (RFC 3030, 2920), BDAT
 * replaces DATA: the last flight of RCPTs, the data in BDAT chunks (the
 * exact bytes, no dot-stuffing; bare CR or LF become CRLF as with DATA)
 * go in one flight.  The server delivers to the
 * recipients it accepted; with none, it refuses the BDAT (554) and
 * nothing is delivered.
 *
 * rerr (NULL, or env->nrcpts entries) is filled per recipient: kind
 * ERR_NONE if the server accepted it, else its refusal (ERR_TEMP for a
 * 4xx or "too many recipients", see smtp_rcpt_retry_now(); ERR_NOUSER for
 * a 5xx), naming the recipient and the server's reply.
 *
 * Returns 0 when the reply to the final dot was a 2xx: the message is
 * delivered to every recipient whose rerr is ERR_NONE.  The reply to the
 * final dot waits timeout_data_end seconds; once its first line shows a
 * well-formed 2xx code, anything malformed after it only makes the
 * session unusable (logged), the message still counts as delivered.
 * Returns -1 when nothing was delivered: e says why (if every recipient
 * was refused, e names each; ERR_NOUSER if all with a 5xx, else ERR_TEMP).
 */
int smtp_send(struct smtp_session *s, const struct smtp_envelope *env,
    int data_fd, struct err *rerr, struct err *e);

/* A recipient refusal that means "too many recipients in this
 * transaction" (452, or 552 with status 5.5.3): send it again at once in
 * a further transaction. */
int smtp_rcpt_retry_now(const struct err *e);

/* RSET between transactions on one connection. */
int smtp_reset(struct smtp_session *s, struct err *e);

/* QUIT (best effort; on TLS with close_notify in the same write) and free
 * everything.  The 221 is not awaited (a missing one is no error).  NULL
 * is fine. */
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

/*
 * ---- Pure parts: reply and EHLO parsing, dot-stuffing.  Exposed for
 * tests/unit/test_smtp.c and the fuzz harnesses; smtp.c uses the same
 * code on the wire. ----
 */

#define SMTP_MAX_LINES 100	 /* lines in one reply */
#define SMTP_MAX_REPLY 65536	 /* bytes of one reply, CRLFs counted */
#define SMTP_MAX_AUTH_LINE 12288 /* AUTH command line (RFC 4954 sec. 4) */

/*
 * One reply, built a line at a time.  A line is "ddd", "ddd text" or
 * "ddd-text" (continued), the code has its first digit in 2-5 and the
 * second in 0-5, every line carries the same code; NUL and control
 * characters other than TAB (a bare CR included) are refused.  Bare-LF
 * line ends are accepted from servers (we never send them).
 */
struct smtp_reply {
	int code; /* 0 until the first line */
	size_t nlines;
	size_t size;	 /* bytes so far, each line counted with CRLF */
	int done;	 /* the final line has been seen */
	struct buf text; /* the text after each code, joined with '\n' */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_clear(struct smtp_reply *r); /* reuse; keeps memory */
void smtp_reply_free(struct smtp_reply *r);

/*
 * Add one line (len bytes, without its line end) to r, which must not be
 * done.  Returns NULL, or a static reason the reply is malformed (then r
 * must be cleared before reuse).
 */
const char *smtp_reply_add(struct smtp_reply *r, const char *line, size_t len);

/*
 * Parse one whole reply from the n bytes at p (lines end in CRLF or LF)
 * into r (cleared first); *used is set to the bytes consumed.  Returns
 * NULL, "incomplete reply" when more bytes are needed, or a reason.
 */
const char *smtp_reply_parse(struct smtp_reply *r, const char *p, size_t n,
    size_t *used);

#define SMTP_CAP_STARTTLS 0x0001
#define SMTP_CAP_PIPELINING 0x0002
#define SMTP_CAP_8BITMIME 0x0004
#define SMTP_CAP_SMTPUTF8 0x0008
#define SMTP_CAP_DSN 0x0010
#define SMTP_CAP_SIZE 0x0020
#define SMTP_CAP_AUTH 0x0040
#define SMTP_CAP_ENHANCEDSTATUSCODES 0x0080
#define SMTP_CAP_CHUNKING 0x0100

struct smtp_caps {
	unsigned flags;		 /* SMTP_CAP_* */
	unsigned long long size; /* SIZE limit; 0: none (or unusable) */
	char auth[512];		 /* AUTH mechanisms: upper case, one space */
};

/*
 * The capabilities in a 250 reply to EHLO (the first line, the greeting
 * name, is skipped).  Keywords are whole words, case-insensitive.  SIZE's
 * argument is a decimal number (parse_uint); anything else leaves the
 * limit at 0.  AUTH names that are not valid SASL names (RFC 4422: 1-20
 * of A-Z 0-9 - _) are dropped; the list is capped at sizeof(auth).
 */
void smtp_parse_ehlo(const struct smtp_reply *r, struct smtp_caps *caps);

/*
 * Dot-stuffing (RFC 5321 4.5.2) with line-end repair: a '.' starting a
 * line is doubled, and a bare LF or bare CR becomes CRLF, so no bare CR
 * or LF reaches the wire.  smtp_dot_encode() needs room for 2 * n + 2
 * bytes at out; smtp_dot_finish() for SMTP_DOT_FINISH_MAX bytes: it ends
 * the last line if needed and appends ".\r\n".  Both return the bytes
 * written.
 */
struct smtp_dot {
	int bol; /* at the beginning of a line */
	int cr;	 /* a CR was seen and its LF not yet */
};

#define SMTP_DOT_FINISH_MAX 5

void smtp_dot_init(struct smtp_dot *d);
size_t smtp_dot_encode(struct smtp_dot *d, const char *in, size_t n, char *out);
size_t smtp_dot_finish(struct smtp_dot *d, char *out);

/*
 * The same line-end repair for BDAT (RFC 3030: no dot-stuffing, no final
 * dot): smtp_crlf_encode() needs room for 2 * n + 2 bytes at out and
 * leaves a CRLF-clean input unchanged (a CR at the end of in is held for
 * the next call); smtp_crlf_finish() writes the held CR's LF or a
 * missing last CRLF (at most 2 bytes).  Both use a struct smtp_dot from
 * smtp_dot_init() and return the bytes written.
 */
size_t smtp_crlf_encode(struct smtp_dot *d, const char *in, size_t n,
    char *out);
size_t smtp_crlf_finish(struct smtp_dot *d, char *out);

/* RFC 3461 xtext for ENVID: returns 0, or -1 if it needs more than max. */
int smtp_xtext(const char *in, char *out, size_t max);

/*
 * For the doctor (issue 13): smtp_probe() opens a session as
 * smtp_open() does, authenticating only when password is not NULL (NULL:
 * connect, TLS and EHLO only, as --serverinfo).  Then the server's
 * capabilities (after STARTTLS), the TLS session (NULL without TLS), the
 * peer's address, whether AUTH was offered before STARTTLS, and the
 * mechanism smtp_open() would choose (NULL, e saying why, when none).
 */
struct tls;
int smtp_probe(const struct account *a, const char *host, const char *password,
    struct smtp_session **out, struct err *e);
const struct smtp_caps *smtp_caps_of(const struct smtp_session *s);
struct tls *smtp_tls(const struct smtp_session *s);
const char *smtp_peer(const struct smtp_session *s);
int smtp_auth_before_tls(const struct smtp_session *s);
const char *smtp_choose_mech(const struct smtp_session *s, struct err *e);

#endif
