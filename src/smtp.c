/*
 * smtp.c -- the SMTP submission client: greeting, EHLO, STARTTLS or
 * implicit TLS, AUTH, transactions, QUIT; reply parsing and classification.
 *
 * Purpose: move one envelope and its data to the server and say exactly
 * how it went.  All temp/perm policy for SMTP replies is in this file:
 * 4xx, timeouts, network and protocol errors are temporary (ERR_TEMP,
 * ERR_PROTOCOL); 5xx is ERR_PERM, or ERR_NOUSER when every refused
 * recipient got a 5xx; AUTH failures (5xx) are ERR_AUTH, 454 and other
 * 4xx to AUTH are ERR_TEMP; STARTTLS missing or refused and certificate
 * failures are ERR_TEMP (the mail is kept while the admin fixes it).
 *
 * Non-goals: BINARYMIME, ORCPT, HELO-only servers beyond the fallback
 * when nothing needs ESMTP, SASL security layers.
 *
 * Invariants:
 * - every read has a deadline covering the whole reply (not each read);
 *   replies are bounded: NET_MAX_LINE per line, SMTP_MAX_LINES lines,
 *   SMTP_MAX_REPLY bytes, code shape checked, no NUL/control bytes;
 * - no bytes may be pending after a reply unless we pipelined commands;
 *   after STARTTLS's 220 pending bytes abort the session (injection);
 * - no credential is sent unless TLS is up and the server authenticated
 *   (net_start_tls() returned 0); the EHLO after TLS replaces all
 *   capabilities learnt before it;
 * - each flight of commands is one net_write() of at most
 *   SMTP_FLIGHT_CMDS commands, whose replies are read before the next
 *   flight is written; nothing with CR or LF from outside reaches a
 *   command line; the data ends with CRLF.CRLF and contains no bare CR or
 *   LF and no other line that is a lone dot;
 * - the data goes to the recipients the server accepted; each refused one
 *   is reported on its own (a 4xx or "too many recipients" is temporary
 *   for that recipient, a 5xx permanent);
 * - if a transaction must be abandoned after a 354 (MAIL or every
 *   recipient refused while DATA was pipelined, a local read error), the
 *   connection is dropped without the final dot, so nothing is delivered;
 * - with BDAT (CHUNKING and PIPELINING offered) the data is the exact
 *   bytes, line ends repaired, never dot-stuffed; a local read error
 *   drops the connection before the LAST chunk, so nothing is delivered;
 *   at most SMTP_BDAT_WINDOW chunk replies are outstanding; the reply to
 *   the LAST chunk is treated as the reply to the final dot;
 * - once the first line of the reply to the final dot has shown a
 *   well-formed 2xx code, the message is delivered: anything malformed
 *   after it only makes the connection unusable (and is logged).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "buf.h"
#include "dane.h"
#include "log.h"
#include "net.h"
#include "sasl.h"
#include "smtp.h"
#include "tls.h"

#define SMTP_DEFAULT_TIMEOUT 60
#define SMTP_GREETING_PROBE 5 /* seconds; see greeting_probe() */
#define STR_(x) #x
#define STR(x) STR_(x)
#define SMTP_DEFAULT_DATA_END 600 /* RFC 5321 4.5.3.2.6 */
#define SMTP_DATA_CHUNK 32768
#define SMTP_MAX_FLIGHT (16 * 1024 * 1024)
#define SMTP_FLIGHT_CMDS 100	     /* commands in one pipelined flight */
#define SMTP_BDAT_CHUNK (256 * 1024) /* input bytes per BDAT chunk */
#define SMTP_BDAT_ROOM 4096	     /* commands copied in front of a chunk */
#define SMTP_BDAT_WINDOW 32	     /* BDAT replies outstanding at most */
#define SMTP_RECORD_MAX 16384	     /* TLS plaintext per record (RFC 8446) */

/* ---- replies ---- */

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->nlines = 0;
	r->size = 0;
	r->done = 0;
	buf_init(&r->text, SMTP_MAX_REPLY);
}

void
smtp_reply_clear(struct smtp_reply *r)
{
	r->code = 0;
	r->nlines = 0;
	r->size = 0;
	r->done = 0;
	buf_clear(&r->text);
}

void
smtp_reply_free(struct smtp_reply *r)
{
	buf_reset(&r->text);
}

/* Three digits, first 2-5, second 0-5 (RFC 5321 4.2); -1 if not. */
static int
reply_code(const char *p, size_t len)
{
	if (len < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '5' ||
	    p[2] < '0' || p[2] > '9')
		return -1;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

const char *
smtp_reply_add(struct smtp_reply *r, const char *line, size_t len)
{
	int code = reply_code(line, len);
	size_t i;

	if (r->done)
		return "reply already complete";
	if (code == -1 || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return "malformed reply code";
	if (r->code != 0 && code != r->code)
		return "reply code changes within a reply";
	if (len >= NET_MAX_LINE) /* net_split_line() bounds it with its end */
		return "reply line too long";
	for (i = 0; i < len; i++) {
		if (line[i] == '\0')
			return "NUL in reply";
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    line[i] == 0x7f)
			return "control character in reply";
	}
	if (r->nlines + 1 > SMTP_MAX_LINES)
		return "too many lines in reply";
	if (r->size + len + 2 > SMTP_MAX_REPLY)
		return "reply too long";
	if ((r->nlines > 0 && buf_addch(&r->text, '\n') == -1) ||
	    (len > 4 && buf_add(&r->text, line + 4, len - 4) == -1))
		return "reply too long";
	r->code = code;
	r->nlines++;
	r->size += len + 2;
	r->done = len == 3 || line[3] == ' ';
	return NULL;
}

const char *
smtp_reply_parse(struct smtp_reply *r, const char *p, size_t n, size_t *used)
{
	size_t off = 0, len, skip;
	const char *why;
	int s;

	smtp_reply_clear(r);
	*used = 0;
	while (!r->done) {
		s = net_split_line(p + off, n - off, NET_MAX_LINE, &len, &skip);
		if (s == 0)
			return "incomplete reply";
		if (s == -1)
			return "reply line too long";
		if ((why = smtp_reply_add(r, p + off, len)) != NULL)
			return why;
		off += skip;
	}
	*used = off;
	return NULL;
}

/* ---- EHLO ---- */

static const struct {
	const char *kw;
	unsigned flag;
} ehlo_keywords[] = {
    {"STARTTLS", SMTP_CAP_STARTTLS},
    {"PIPELINING", SMTP_CAP_PIPELINING},
    {"8BITMIME", SMTP_CAP_8BITMIME},
    {"SMTPUTF8", SMTP_CAP_SMTPUTF8},
    {"DSN", SMTP_CAP_DSN},
    {"SIZE", SMTP_CAP_SIZE},
    {"AUTH", SMTP_CAP_AUTH},
    {"ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES},
    {"CHUNKING", SMTP_CAP_CHUNKING},
};

static int
sasl_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 1 || n > 20)
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
			(p[i] >= 'a' && p[i] <= 'z') ||
			(p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
			p[i] == '_'))
			return 0;
	return 1;
}

/* Append the valid mechanism names of args (n bytes) to caps->auth. */
static void
ehlo_auth(struct smtp_caps *caps, const char *args, size_t n)
{
	size_t i = 0, w, have, k;

	while (i < n) {
		for (w = 0;
		     i + w < n && args[i + w] != ' ' && args[i + w] != '\t';
		     w++)
			;
		have = strlen(caps->auth);
		if (sasl_name_ok(args + i, w) &&
		    have + w + 2 <= sizeof(caps->auth)) {
			if (have > 0)
				caps->auth[have++] = ' ';
			for (k = 0; k < w; k++) {
				char c = args[i + k];
				caps->auth[have++] =
				    (c >= 'a' && c <= 'z') ? c - 32 : c;
			}
			caps->auth[have] = '\0';
		}
		i += w + 1;
	}
}

static void
ehlo_size(struct smtp_caps *caps, const char *args, size_t n)
{
	char num[24];
	unsigned long long v;

	/* Bounded copy so parse_uint() sees a terminated string. */
	if (n == 0 || n >= sizeof(num))
		return;
	memcpy(num, args, n);
	num[n] = '\0';
	if (parse_uint_str(num, ~0ULL, &v) == 0)
		caps->size = v;
}

static void
ehlo_line(struct smtp_caps *caps, const char *p, size_t n)
{
	size_t kwlen = 0, i;
	const char *args;

	while (kwlen < n && p[kwlen] != ' ' && p[kwlen] != '\t')
		kwlen++;
	args = p + kwlen + (kwlen < n);
	n -= kwlen + (kwlen < n);
	for (i = 0; i < sizeof(ehlo_keywords) / sizeof(ehlo_keywords[0]); i++) {
		if (strlen(ehlo_keywords[i].kw) != kwlen ||
		    ascii_ncasecmp(ehlo_keywords[i].kw, p, kwlen) != 0)
			continue;
		caps->flags |= ehlo_keywords[i].flag;
		if (ehlo_keywords[i].flag == SMTP_CAP_SIZE)
			ehlo_size(caps, args, n);
		else if (ehlo_keywords[i].flag == SMTP_CAP_AUTH)
			ehlo_auth(caps, args, n);
	}
}

void
smtp_parse_ehlo(const struct smtp_reply *r, struct smtp_caps *caps)
{
	const char *p = r->text.data, *end, *nl;

	memset(caps, 0, sizeof(*caps));
	if (p == NULL)
		return;
	end = p + r->text.len;
	/* The first line is the server's name and greeting. */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return;
	for (p = nl + 1; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ehlo_line(caps, p, (size_t)(nl - p));
	}
}

/* ---- data encoding ---- */

void
smtp_dot_init(struct smtp_dot *d)
{
	d->bol = 1;
	d->cr = 0;
}

static size_t
line_encode(struct smtp_dot *d, const char *in, size_t n, char *out, int stuff)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = in[i];

		if (d->cr) {
			/* CR LF, or a bare CR that becomes CRLF. */
			out[o++] = '\r';
			out[o++] = '\n';
			d->cr = 0;
			d->bol = 1;
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			d->cr = 1;
			continue;
		}
		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			d->bol = 1;
			continue;
		}
		if (stuff && d->bol && c == '.')
			out[o++] = '.';
		out[o++] = c;
		d->bol = 0;
	}
	return o;
}

size_t
smtp_dot_encode(struct smtp_dot *d, const char *in, size_t n, char *out)
{
	return line_encode(d, in, n, out, 1);
}

size_t
smtp_crlf_encode(struct smtp_dot *d, const char *in, size_t n, char *out)
{
	return line_encode(d, in, n, out, 0);
}

size_t
smtp_crlf_finish(struct smtp_dot *d, char *out)
{
	size_t o = 0;

	if (d->cr || !d->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	d->cr = 0;
	d->bol = 1;
	return o;
}

size_t
smtp_dot_finish(struct smtp_dot *d, char *out)
{
	size_t o = 0;

	if (d->cr || !d->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	d->cr = 0;
	d->bol = 1;
	return o + 3;
}

int
smtp_xtext(const char *in, char *out, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t o = 0;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=') {
			if (o + 1 > max)
				return -1;
			out[o++] = (char)*p;
			continue;
		}
		if (o + 3 > max)
			return -1;
		out[o++] = '+';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	out[o] = '\0';
	return 0;
}

/* ---- the session ---- */

struct smtp_session {
	const struct account *a;
	char host[256];
	unsigned timeout;
	unsigned timeout_data_end; /* for the reply to the final dot */
	struct conn *c;
	struct smtp_caps caps;
	struct smtp_reply r;
	struct buf greeting; /* for --serverinfo */
	int broken;	     /* state unknown: no QUIT, no reuse */
	int esmtp;	     /* EHLO succeeded (else HELO) */
	const char *mech;
	int last_code;
	char last_text[256];
	int auth_plain;	       /* AUTH offered before STARTTLS (the doctor) */
	struct dane_tlsa dane; /* tls_dane: the TLSA records, if any */
};

/* The reply's text as one printable line (lines joined with a space). */
static void
reply_printable(const struct smtp_reply *r, char *dst, size_t size)
{
	const char *p = r->text.data, *end, *nl;
	size_t o = 0;

	dst[0] = '\0';
	if (p == NULL)
		return;
	for (end = p + r->text.len; p <= end && o + 1 < size; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (o > 0)
			dst[o++] = ' ';
		log_printable(dst + o, size - o, p, (size_t)(nl - p));
		o += strlen(dst + o);
	}
}

/* An error from the current reply, of kind k. */
static int
reply_err_as(struct smtp_session *s, const char *what, enum err_kind k,
    struct err *e)
{
	char text[200];

	reply_printable(&s->r, text, sizeof(text));
	return err_set_smtp(e, k, s->r.code, "%s: %s: %d %s", s->host, what,
	    s->r.code, text);
}

/* The usual classes: 5xx permanent, 4xx temporary, else the server is
 * confused (a 2xx or 3xx where none belongs). */
static int
reply_err(struct smtp_session *s, const char *what, struct err *e)
{
	enum err_kind k = ERR_PROTOCOL;

	if (s->r.code >= 500)
		k = ERR_PERM;
	else if (s->r.code >= 400)
		k = ERR_TEMP;
	return reply_err_as(s, what, k, e);
}

static void
set_last(struct smtp_session *s)
{
	s->last_code = s->r.code;
	reply_printable(&s->r, s->last_text, sizeof(s->last_text));
}

/*
 * Read one reply with one deadline for all of it.  more is nonzero while
 * further pipelined replies are expected; otherwise unread bytes after
 * the reply are a protocol error.
 */
static int
read_reply(struct smtp_session *s, const char *what, int more, struct err *e)
{
	long long deadline = net_deadline(s->timeout);
	const char *line, *why;
	size_t len;

	smtp_reply_clear(&s->r);
	do {
		if (net_read_line(s->c, deadline, &line, &len, e) == -1) {
			s->broken = 1;
			return err_prefix(e, "%s: reply to %s", s->host, what);
		}
		log_transcript('<', line, len);
		if ((why = smtp_reply_add(&s->r, line, len)) != NULL) {
			s->broken = 1;
			return err_set(e, ERR_PROTOCOL, "%s: reply to %s: %s",
			    s->host, what, why);
		}
	} while (!s->r.done);
	if (!more && net_pending(s->c) > 0) {
		s->broken = 1;
		return err_set(e, ERR_PROTOCOL,
		    "%s: unexpected data after the reply to %s", s->host, what);
	}
	set_last(s);
	return 0;
}

/* The code of a line that starts like a reply line ("ddd", "ddd ..." or
 * "ddd-..."), whatever follows; 0 if it does not. */
static int
line_code(const char *line, size_t len)
{
	int code = reply_code(line, len);

	if (code == -1 || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return 0;
	return code;
}

/*
 * The reply to the final dot, with its own deadline (timeout_data_end).
 * Once its first line has shown a well-formed 2xx code the server has
 * taken the message: whatever follows (a malformed or over-long line, a
 * NUL, more than SMTP_MAX_LINES lines, bytes after the reply, the
 * connection closing before the last line) only makes the connection
 * unusable; it is logged, and s->r.code is that 2xx.  Returns -1 only
 * when no such line arrived.
 */
static int
read_data_reply(struct smtp_session *s, struct err *e)
{
	long long deadline = net_deadline(s->timeout_data_end);
	const char *line, *why = NULL;
	int code = 0, lost = 0;
	struct err re;
	size_t len;

	smtp_reply_clear(&s->r);
	do {
		if (net_read_line(s->c, deadline, &line, &len, &re) == -1) {
			why = re.text;
			lost = 1;
			break;
		}
		log_transcript('<', line, len);
		if (s->r.nlines == 0 && code == 0)
			code = line_code(line, len);
		why = smtp_reply_add(&s->r, line, len);
	} while (why == NULL && !s->r.done);
	if (why == NULL && net_pending(s->c) > 0)
		why = "unexpected data after the reply";
	if (why == NULL) {
		set_last(s);
		return 0;
	}
	s->broken = 1;
	if (code / 100 == 2) {
		s->r.code = code;
		set_last(s);
		log_warn("%s: reply to end of data: %s; the message was "
			 "accepted (%d), the connection is not reused",
		    s->host, why, code);
		return 0;
	}
	if (lost) {
		if (e != NULL)
			*e = re;
		return err_prefix(e, "%s: reply to end of data", s->host);
	}
	return err_set(e, ERR_PROTOCOL, "%s: reply to end of data: %s", s->host,
	    why);
}

/* Log each CRLF-terminated line of a flight we are about to send. */
static void
log_flight(const char *p, size_t n)
{
	const char *end = p + n, *nl;

	for (; p < end; p = nl + 2) {
		if ((nl = memchr(p, '\r', (size_t)(end - p))) == NULL)
			nl = end;
		log_transcript('>', p, (size_t)(nl - p));
	}
}

/*
 * Flight accounting (issue 12).  A flight is a maximal run of our bytes
 * with no server bytes between (bench/flightproxy.py counts them; the
 * TLS handshake and the close_notify count).  Every flight is one
 * write_flight(), or write_part()s between net_flight_begin() and
 * net_flight_end() (TCP_CORK), and its replies are read before the next.
 * Nothing goes before the server may take it: EHLO only after the
 * greeting, nothing behind AUTH or STARTTLS.  Per path, with CHUNKING and
 * PIPELINING offered (txn_bdat()):
 *
 *   465 + AUTH PLAIN (6)           1 ClientHello  2 Finished  3 EHLO
 *                                  4 AUTH PLAIN with initial response
 *                                  5 MAIL RCPT... BDAT n LAST + body
 *                                  6 QUIT + close_notify (no wait for 221)
 *   465 + SCRAM-SHA-256 (8)        4 AUTH client-first  5 client-final
 *                                  6 "" to the server-final 334, then as
 *                                  above: 7 MAIL...body, 8 QUIT + c_n
 *   587 STARTTLS + AUTH PLAIN (7)  1 EHLO  2 STARTTLS  3 ClientHello
 *                                  4 Finished + EHLO (held together: the
 *                                  handshake is complete on our side)
 *                                  5 AUTH  6 MAIL...body  7 QUIT + c_n
 *
 * Without CHUNKING (or PIPELINING) DATA replaces BDAT and costs one more:
 * MAIL RCPT... DATA, then the body and "." (465 PLAIN: 7).  Without
 * PIPELINING each command is a flight.  Each path is one flight above the
 * issue's targets (5, 7, 6), which need the close_notify behind the data;
 * see write_quit() for why it cannot go there.
 */

/* Part of a flight (net_flight_begin() before, net_flight_end() after). */
static int
write_part(struct smtp_session *s, const char *p, size_t n, struct err *e)
{
	if (net_write(s->c, p, n, net_deadline(s->timeout), e) == -1) {
		s->broken = 1;
		net_flight_end(s->c);
		return err_prefix(e, "%s", s->host);
	}
	return 0;
}

/* The end of a flight (or all of it): what is held leaves now. */
static int
write_flight(struct smtp_session *s, const char *p, size_t n, struct err *e)
{
	int r = write_part(s, p, n, e);

	net_flight_end(s->c);
	return r;
}

/*
 * The closing flight: QUIT and, on TLS, the close_notify right behind it
 * in one write.  The 221 is not awaited: once the message is accepted
 * nothing the server says can change its fate.  Not pipelined behind the
 * data: the close_notify cannot go there (a server that reads it before
 * writing its replies to the data may drop them: Postfix 3.7 with OpenSSL
 * and aiosmtpd both do, chunking-flights.sh showed it), so a QUIT there
 * would save no flight, and it would end a connection that a further
 * transaction ("too many recipients", queue runs) could still use.
 */
static void
write_quit(struct smtp_session *s)
{
	struct err ignore;

	log_transcript('>', "QUIT", 4);
	net_flight_begin(s->c);
	if (write_part(s, "QUIT\r\n", 6, &ignore) == -1)
		return;
	(void)net_close_write(s->c);
	net_flight_end(s->c);
}

/* Send one command line (CRLF added); arguments must be CR/LF free. */
static int cmd(struct smtp_session *s, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cmd(struct smtp_session *s, struct err *e, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2 ||
	    has_crlfnul(line, (size_t)n))
		return err_set(e, ERR_SOFTWARE, "bad command line");
	log_transcript('>', line, (size_t)n);
	memcpy(line + n, "\r\n", 2);
	return write_flight(s, line, (size_t)n + 2, e);
}

static int
cmd_reply(struct smtp_session *s, const char *what, struct err *e)
{
	if (cmd(s, e, "%s", what) == -1 || read_reply(s, what, 0, e) == -1)
		return -1;
	return 0;
}

/* ---- opening: greeting, EHLO, STARTTLS, AUTH ---- */

static int
auth_wanted(const struct account *a)
{
	if (a->auth == NULL)
		return a->user != NULL; /* "choose", if there is someone */
	return ascii_casecmp(a->auth, "off") != 0;
}

/* What can be refused before connecting: nothing leaves unprotected. */
static int
check_account(const struct account *a, const char *host, int info,
    struct err *e)
{
	const char *d = a->domain;

	if (host == NULL || host[0] == '\0' || strlen(host) >= 256)
		return err_set(e, ERR_CONFIG, "no or bad host name");
	if (a->port == 0 || a->port > 65535)
		return err_set(e, ERR_CONFIG, "bad port %u", a->port);
	if (d == NULL || d[0] == '\0' || strlen(d) > 255 ||
	    strpbrk(d, " \t\r\n") != NULL)
		return err_set(e, ERR_CONFIG, "bad domain (EHLO name)");
	if (info || !auth_wanted(a))
		return 0;
	if (!a->tls)
		return err_set(e, ERR_CONFIG,
		    "refusing to send credentials without TLS (tls off): set "
		    "tls on, or auth off");
	if (a->user == NULL || a->user[0] == '\0')
		return err_set(e, ERR_CONFIG, "auth needs a user");
	return 0;
}

/*
 * Issue 9: a port that expects implicit TLS (465-style) waits silently for
 * our ClientHello, so STARTTLS or plain text there would only time out
 * after the whole timeout.  On ports other than 25 and 587, give the
 * greeting SMTP_GREETING_PROBE seconds first and, when nothing or a TLS
 * record came, say what to change.  Not when the timeout is that short
 * anyway.
 */
static int
greeting_probe(struct smtp_session *s, struct err *e)
{
	unsigned port = s->a->port;
	enum net_probe p;

	if (port == 25 || port == 587 || s->timeout <= SMTP_GREETING_PROBE)
		return 0;
	p = net_probe(s->c, net_deadline(SMTP_GREETING_PROBE));
	if (p == NET_PROBE_DATA)
		return 0;
	s->broken = 1;
	return err_set(e, ERR_TEMP,
	    "%s: %s on port %u (fix: the port may expect implicit TLS; if "
	    "so, set tls_starttls off%s)",
	    s->host,
	    p == NET_PROBE_TLS
		? "TLS data instead of an SMTP greeting"
		: "no greeting within " STR(SMTP_GREETING_PROBE) " s",
	    port, s->a->tls ? "" : " and tls on");
}

static void
tls_params_of(const struct account *a, const char *host, struct tls_params *p)
{
	memset(p, 0, sizeof(*p)); /* no DANE records unless set after */
	p->host = a->tls_host_override ? a->tls_host_override : host;
	p->certcheck = a->tls_certcheck;
	p->trust_file = a->tls_trust_file;
	p->fingerprint = a->tls_fingerprint;
	p->cert_file = a->tls_cert_file;
	p->key_file = a->tls_key_file;
	p->priorities = a->tls_priorities;
}

int
smtp_check_account(const struct account *a, struct err *e)
{
	struct tls_params p;
	struct tls *t = NULL;
	size_t i;

	for (i = 0; i < a->nhosts; i++) {
		if (check_account(a, a->hosts[i], 0, e) == -1 ||
		    dane_check(a, a->hosts[i], e) == -1)
			return -1;
		/* A session without a socket: trust store, client key,
		 * priorities and names load as they will after connect. */
		tls_params_of(a, a->hosts[i], &p);
		if (a->tls && tls_new(-1, &p, &t, e) == -1)
			return err_prefix(e, "%s", a->hosts[i]);
		tls_free(t);
		t = NULL;
	}
	return 0;
}

static int
greeting(struct smtp_session *s, struct err *e)
{
	if (read_reply(s, "greeting", 0, e) == -1)
		return -1;
	if (s->r.code != 220)
		return reply_err(s, "greeting", e);
	buf_clear(&s->greeting);
	if (s->r.text.len > 0 &&
	    buf_add(&s->greeting, s->r.text.data, s->r.text.len) == -1)
		fatal_oom();
	return 0;
}

/* Does this session need ESMTP (so no HELO fallback)? */
static int
need_esmtp(const struct smtp_session *s)
{
	return (s->a->tls && net_tls(s->c) == NULL) || auth_wanted(s->a);
}

static int
ehlo(struct smtp_session *s, struct err *e)
{
	memset(&s->caps, 0, sizeof(s->caps));
	s->esmtp = 0;
	if (cmd(s, e, "EHLO %s", s->a->domain) == -1 ||
	    read_reply(s, "EHLO", 0, e) == -1)
		return -1;
	if (s->r.code == 250) {
		smtp_parse_ehlo(&s->r, &s->caps);
		s->esmtp = 1;
		return 0;
	}
	if (s->r.code < 500 || need_esmtp(s))
		return reply_err(s, "EHLO", e);
	/* RFC 5321 3.2: an old server; fine when we need no extension. */
	if (cmd(s, e, "HELO %s", s->a->domain) == -1 ||
	    read_reply(s, "HELO", 0, e) == -1)
		return -1;
	return s->r.code == 250 ? 0 : reply_err(s, "HELO", e);
}

static int
start_tls(struct smtp_session *s, struct err *e)
{
	struct tls_params p;

	tls_params_of(s->a, s->host, &p);
	p.tlsa = (const char *const *)s->dane.rec;
	p.ntlsa = s->dane.n;
	p.dane_required = s->dane.required;
	p.tlsa_name = s->dane.name;
	p.dane_alt_name = s->dane.canon[0] != '\0' ? s->dane.canon : NULL;
	if (net_start_tls(s->c, &p, net_deadline(s->timeout), e) == -1) {
		s->broken = 1;
		return err_prefix(e, "%s", s->host);
	}
	log_debug("TLS: %s", tls_info(net_tls(s->c)));
	return 0;
}

static int
starttls(struct smtp_session *s, struct err *e)
{
	if (!(s->caps.flags & SMTP_CAP_STARTTLS))
		return err_set(e, ERR_TEMP,
		    "%s: the server does not offer STARTTLS (fix: if port %u "
		    "expects TLS at once, as 465 does, set tls_starttls off)",
		    s->host, s->a->port);
	if (cmd(s, e, "STARTTLS") == -1 ||
	    read_reply(s, "STARTTLS", 1, e) == -1)
		return -1;
	if (s->r.code != 220) /* even a 5xx: keep the mail */
		return reply_err_as(s, "STARTTLS refused", ERR_TEMP, e);
	/* RFC 3207 4.2 and STYLE.md: bytes after 220 may be an injection. */
	if (net_pending(s->c) > 0) {
		s->broken = 1;
		return err_set(e, ERR_PROTOCOL,
		    "%s: data after the reply to STARTTLS (injection?)",
		    s->host);
	}
	/* The client Finished stays held and leaves with the EHLO: once the
	 * handshake is complete on our side we may send application data
	 * (RFC 8446 4.4.4; in TLS 1.2 the server's Finished came last). */
	net_flight_begin(s->c);
	if (start_tls(s, e) == -1) {
		net_flight_end(s->c);
		return -1;
	}
	return ehlo(s, e);
}

/* Send one AUTH line holding a secret; the transcript shows only what. */
static int
send_secret(struct smtp_session *s, const char *what, const char *resp,
    struct err *e)
{
	struct buf b;
	int r;

	buf_init(&b, SMTP_MAX_AUTH_LINE);
	if (buf_printf(&b, "%s%s%s\r\n", what, what[0] && resp ? " " : "",
		resp ? resp : "") == -1) {
		buf_wipe(&b);
		return err_set(e, ERR_AUTH, "%s: AUTH line too long", s->host);
	}
	log_transcript_redacted('>', what);
	r = write_flight(s, b.data, b.len, e);
	buf_wipe(&b);
	return r;
}

/* The first line: AUTH with the initial response when it fits. */
static int
auth_first(struct smtp_session *s, const char *mech, char **resp, struct err *e)
{
	char what[64];
	const char *ir;

	if (snprintf(what, sizeof(what), "AUTH %s", mech) < 0)
		return err_set(e, ERR_SOFTWARE, "snprintf");
	if (*resp == NULL ||
	    strlen(what) + 1 + strlen(*resp) + 2 > SMTP_MAX_AUTH_LINE) {
		/* RFC 4954 4: too long: send it after the first 334. */
		return cmd(s, e, "%s", what) == -1 ? -1 : 0;
	}
	ir = (*resp)[0] == '\0' ? "=" : *resp; /* "=": empty response */
	if (send_secret(s, what, ir, e) == -1)
		return -1;
	sasl_response_free(*resp);
	*resp = NULL;
	return 0;
}

/* Cancel the exchange ("*", RFC 4954 4); e keeps the original reason. */
static int
auth_cancel(struct smtp_session *s, struct err *e)
{
	struct err ignore;

	if (cmd(s, &ignore, "*") == 0)
		read_reply(s, "AUTH cancel", 0, &ignore);
	return err_prefix(e, "%s", s->host);
}

/* Answer one 334: a pending initial response, or the next step. */
static int
auth_continue(struct smtp_session *s, struct sasl *sa, char **resp,
    struct err *e)
{
	char *challenge;
	int r;

	if (*resp == NULL) {
		challenge = xstrndup(s->r.text.data ? s->r.text.data : "",
		    strcspn(s->r.text.data ? s->r.text.data : "", "\n"));
		r = sasl_step(sa, challenge, resp, e);
		free(challenge);
		if (r == -1)
			return auth_cancel(s, e);
	}
	r = send_secret(s, "", *resp, e);
	sasl_response_free(*resp);
	*resp = NULL;
	return r;
}

static int
auth_result(struct smtp_session *s, struct sasl *sa, const char *mech,
    struct err *e)
{
	char what[64];

	if (s->r.code == 235) {
		if (!sasl_complete(sa))
			return err_set(e, ERR_AUTH,
			    "%s: %s: the server accepted us without proving "
			    "its own identity",
			    s->host, mech);
		return 0;
	}
	if (snprintf(what, sizeof(what), "authentication with %s", mech) < 0)
		what[0] = '\0';
	/* 454 and other 4xx: temporary; 5xx (535, 534, 530, 538...): auth. */
	if (s->r.code >= 400 && s->r.code < 500)
		return reply_err_as(s, what, ERR_TEMP, e);
	return reply_err_as(s, what, s->r.code >= 500 ? ERR_AUTH : ERR_PROTOCOL,
	    e);
}

static int
auth_exchange(struct smtp_session *s, struct sasl *sa, const char *mech,
    struct err *e)
{
	char *resp = NULL;
	int r = 0;

	if (sasl_has_initial(mech) && sasl_step(sa, NULL, &resp, e) == -1)
		return err_prefix(e, "%s", s->host);
	r = auth_first(s, mech, &resp, e);
	while (r == 0) {
		if ((r = read_reply(s, "AUTH", 0, e)) == -1 || s->r.code != 334)
			break;
		r = auth_continue(s, sa, &resp, e);
	}
	sasl_response_free(resp);
	if (r == -1)
		return -1;
	return auth_result(s, sa, mech, e);
}

/* An OAuth2 account (issue 11) choosing: a bearer-token mechanism. */
static const char *
auth_setting(const struct account *a)
{
	if ((a->oauth2_provider != NULL || a->oauth2_flow != NULL) &&
	    (a->auth == NULL || ascii_casecmp(a->auth, "on") == 0))
		return SASL_BEARER;
	return a->auth;
}

static int
authenticate(struct smtp_session *s, const char *password, struct err *e)
{
	struct tls *t = net_tls(s->c);
	unsigned char cb[64];
	size_t cblen = 0;
	int exporter = 0, have_cb, r;
	struct sasl *sa = NULL;
	const char *mech;

	have_cb = t != NULL && tls_channel_binding(t, cb, sizeof(cb), &cblen,
				   &exporter) == 0;
	mech =
	    sasl_choose((s->caps.flags & SMTP_CAP_AUTH) ? s->caps.auth : NULL,
		auth_setting(s->a), t != NULL, have_cb, e);
	if (mech == NULL)
		r = err_prefix(e, "%s", s->host);
	else if (sasl_start(mech, s->a->user, password, s->host, s->a->port,
		     have_cb ? cb : NULL, cblen, exporter, &sa, e) == -1)
		r = err_prefix(e, "%s", s->host);
	else
		r = auth_exchange(s, sa, mech, e);
	sasl_free(sa);
	sodium_memzero(cb, sizeof(cb));
	if (r == 0) {
		s->mech = mech;
		log_debug("authenticated as %s with %s", s->a->user, mech);
	}
	return r;
}

static int
session_open(const struct account *a, const char *host, const char *password,
    int info, struct smtp_session **out, struct err *e)
{
	struct net_params np = {0};
	struct smtp_session *s;

	if (check_account(a, host, info, e) == -1)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->a = a;
	str_copy(s->host, host, sizeof(s->host));
	s->timeout = a->timeout ? a->timeout : SMTP_DEFAULT_TIMEOUT;
	s->timeout_data_end =
	    a->timeout_data_end ? a->timeout_data_end : SMTP_DEFAULT_DATA_END;
	smtp_reply_init(&s->r);
	buf_init(&s->greeting, SMTP_MAX_REPLY);
	np.timeout = s->timeout;
	np.source_ip = a->source_ip;
	np.proxy = a->proxy;
	/* Before connecting: with tls_dane on, no TLSA, no connection. */
	if (dane_lookup(a, host, &s->dane, e) == -1) {
		err_prefix(e, "%s", host);
		goto fail;
	}
	if (net_connect(host, a->port, &np, &s->c, e) == -1)
		goto fail;
	if (a->tls && !a->tls_starttls && start_tls(s, e) == -1)
		goto fail;
	if ((!a->tls || a->tls_starttls) && greeting_probe(s, e) == -1)
		goto fail;
	if (greeting(s, e) == -1 || ehlo(s, e) == -1)
		goto fail;
	s->auth_plain = (s->caps.flags & SMTP_CAP_AUTH) != 0;
	if (a->tls && a->tls_starttls && starttls(s, e) == -1)
		goto fail;
	if (!info && auth_wanted(a) && authenticate(s, password, e) == -1)
		goto fail;
	*out = s;
	return 0;
fail:
	smtp_close(s);
	return -1;
}

int
smtp_open(const struct account *a, const char *host, const char *password,
    struct smtp_session **out, struct err *e)
{
	return session_open(a, host, password, 0, out, e);
}

/* ---- transactions ---- */

struct txn {
	int dsn;	 /* DSN parameters go out */
	int body8;	 /* BODY=8BITMIME goes out */
	int mail_failed; /* MAIL was refused: mail_err says how */
	struct err mail_err;
	struct buf rej; /* "<rcpt>: code text\n" per refusal */
	size_t nrej;
	int rej_temp;	   /* some refusal was not a 5xx */
	int rej_code;	   /* the first refusal's code */
	size_t nacc;	   /* recipients accepted */
	size_t nmail;	   /* MAIL replies read (0 or 1) */
	size_t nread;	   /* RCPT replies read */
	int data_ok;	   /* DATA got 354 */
	struct err *rerr;  /* per recipient, or NULL */
	size_t nbdat;	   /* BDAT chunks sent */
	size_t nbdat_read; /* their replies read */
	int bdat_failed;   /* a BDAT chunk was refused: bdat_err says how */
	struct err bdat_err;
};

static int
check_addr(const char *addr, int null_ok, struct err *e)
{
	const unsigned char *p;

	if (addr == NULL || (!null_ok && addr[0] == '\0'))
		return err_set(e, ERR_DATA, "empty address");
	if (strlen(addr) > ADDR_MAX_PATH)
		return err_set(e, ERR_DATA, "address too long");
	/* Nothing that could end the <path> or the command line. */
	for (p = (const unsigned char *)addr; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return err_set(e, ERR_DATA,
			    "address with a forbidden character: %.80s", addr);
	return 0;
}

static int
check_dsn(const struct smtp_envelope *env, struct err *e)
{
	char envid[101];
	const char *p;

	if (env->dsn_notify != NULL) {
		for (p = env->dsn_notify; *p != '\0'; p++)
			if (!((*p >= 'A' && *p <= 'Z') ||
				(*p >= 'a' && *p <= 'z') || *p == ','))
				break;
		if (*p != '\0' || p == env->dsn_notify ||
		    p - env->dsn_notify > 64)
			return err_set(e, ERR_DATA, "bad DSN NOTIFY value");
	}
	if (env->dsn_return != NULL &&
	    ascii_casecmp(env->dsn_return, "FULL") != 0 &&
	    ascii_casecmp(env->dsn_return, "HDRS") != 0)
		return err_set(e, ERR_DATA, "bad DSN RET value (FULL or HDRS)");
	/* RFC 3461 4.4: ENVID is at most 100 characters of xtext. */
	if (env->dsn_envid != NULL &&
	    smtp_xtext(env->dsn_envid, envid, sizeof(envid) - 1) == -1)
		return err_set(e, ERR_DATA, "DSN ENVID too long");
	return 0;
}

/* Which extensions this transaction uses; refuse what cannot work. */
static int
plan_txn(struct smtp_session *s, const struct smtp_envelope *env, struct txn *t,
    struct err *e)
{
	unsigned f = s->caps.flags;
	int want_dsn = env->dsn_notify || env->dsn_return || env->dsn_envid;

	if (s->caps.size > 0 && env->size > s->caps.size)
		return err_set(e, ERR_PERM,
		    "%s: message of %llu bytes exceeds the server's limit of "
		    "%llu",
		    s->host, env->size, s->caps.size);
	if (env->smtputf8 && !(f & SMTP_CAP_SMTPUTF8))
		return err_set(e, ERR_PERM,
		    "%s: an address needs SMTPUTF8, which the server does not "
		    "offer",
		    s->host);
	t->body8 = env->body_8bit && (f & SMTP_CAP_8BITMIME);
	if (env->body_8bit && !t->body8)
		log_warn("%s: no 8BITMIME; sending 8-bit data anyway", s->host);
	t->dsn = want_dsn && (f & SMTP_CAP_DSN);
	if (want_dsn && !t->dsn)
		log_warn("%s: no DSN support; sending without DSN requests",
		    s->host);
	return 0;
}

static int
check_envelope(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, struct err *e)
{
	size_t i;

	if (s->broken || s->c == NULL)
		return err_set(e, ERR_TEMP, "%s: the connection is unusable",
		    s->host);
	if (env->nrcpts == 0 || env->rcpts == NULL)
		return err_set(e, ERR_DATA, "no recipients");
	if (check_addr(env->from, 1, e) == -1)
		return -1;
	for (i = 0; i < env->nrcpts; i++)
		if (check_addr(env->rcpts[i], 0, e) == -1)
			return -1;
	if (check_dsn(env, e) == -1)
		return -1;
	return plan_txn(s, env, t, e);
}

/* " KEY=VALUE" with the value in upper case, as RFC 3461 writes it. */
static int
add_param_upper(struct buf *b, const char *key, const char *value)
{
	const char *p;
	int r = buf_printf(b, " %s=", key);

	for (p = value; r == 0 && *p != '\0'; p++)
		r = buf_addch(b,
		    (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p);
	return r;
}

static int
add_mail(const struct smtp_session *s, const struct smtp_envelope *env,
    const struct txn *t, struct buf *b)
{
	char envid[101];
	int r;

	r = buf_printf(b, "MAIL FROM:<%s>", env->from);
	if (r == 0 && (s->caps.flags & SMTP_CAP_SIZE)) /* RFC 1870 */
		r = buf_printf(b, " SIZE=%llu", env->size);
	if (r == 0 && t->body8) /* RFC 6152 */
		r = buf_addstr(b, " BODY=8BITMIME");
	if (r == 0 && env->smtputf8) /* RFC 6531 */
		r = buf_addstr(b, " SMTPUTF8");
	if (r == 0 && t->dsn && env->dsn_return != NULL) /* RFC 3461 */
		r = add_param_upper(b, "RET", env->dsn_return);
	if (r == 0 && t->dsn && env->dsn_envid != NULL &&
	    smtp_xtext(env->dsn_envid, envid, sizeof(envid) - 1) == 0)
		r = buf_printf(b, " ENVID=%s", envid);
	return r == 0 ? buf_addstr(b, "\r\n") : -1;
}

static int
add_rcpt(const struct smtp_envelope *env, const struct txn *t, size_t i,
    struct buf *b)
{
	if (buf_printf(b, "RCPT TO:<%s>", env->rcpts[i]) == -1)
		return -1;
	if (t->dsn && env->dsn_notify != NULL &&
	    add_param_upper(b, "NOTIFY", env->dsn_notify) == -1)
		return -1;
	return buf_addstr(b, "\r\n");
}

static int
send_buf(struct smtp_session *s, struct buf *b, struct err *e)
{
	int r;

	log_flight(b->data, b->len);
	r = write_flight(s, b->data, b->len, e);
	buf_clear(b);
	return r;
}

static void
note_mail(struct smtp_session *s, struct txn *t)
{
	if (s->r.code / 100 == 2)
		return;
	t->mail_failed = 1;
	reply_err(s, "MAIL FROM refused", &t->mail_err);
}

/* RFC 5321 4.5.3.1.10: "too many recipients" is 452 (552 in RFC 821,
 * to be treated as temporary; we know it by its status 5.5.3). */
static int
too_many_rcpts(int code, const char *text)
{
	return code == 452 ||
	       (code == 552 && text != NULL && strstr(text, "5.5.3") != NULL);
}

int
smtp_rcpt_retry_now(const struct err *e)
{
	return e->kind == ERR_TEMP && too_many_rcpts(e->smtp_code, e->text);
}

static void
note_rcpt(struct smtp_session *s, struct txn *t,
    const struct smtp_envelope *env, size_t i)
{
	const char *rcpt = env->rcpts[i];
	char text[300];
	enum err_kind k;

	/* After a refused MAIL, the RCPT replies say nothing of anyone. */
	if (t->mail_failed)
		return;
	if (s->r.code / 100 == 2) {
		t->nacc++;
		return;
	}
	reply_printable(&s->r, text, sizeof(text));
	k = s->r.code < 500 || too_many_rcpts(s->r.code, text) ? ERR_TEMP
							       : ERR_NOUSER;
	if (t->nrej++ == 0)
		t->rej_code = s->r.code;
	if (k == ERR_TEMP)
		t->rej_temp = 1;
	if (t->rerr != NULL)
		err_set_smtp(&t->rerr[i], k, s->r.code,
		    "%s: recipient <%.256s> refused: %d %s", s->host, rcpt,
		    s->r.code, text);
	/* The list is capped; the count stays right when it is full. */
	buf_printf(&t->rej, "<%.256s>: %d %s\n", rcpt, s->r.code, text);
}

static int
rcpt_error(struct smtp_session *s, const struct smtp_envelope *env,
    const struct txn *t, struct err *e)
{
	const char *p = t->rej.data ? t->rej.data : "", *nl;
	char list[200];
	size_t o = 0, n;

	list[0] = '\0';
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		n = (size_t)(nl - p);
		if (t->nrej > 1)
			log_error("%s: recipient %.*s", s->host, (int)n, p);
		if (o + 2 + n + 1 <= sizeof(list)) {
			if (o > 0) {
				list[o++] = ';';
				list[o++] = ' ';
			}
			memcpy(list + o, p, n);
			o += n;
			list[o] = '\0';
		}
	}
	return err_set_smtp(e, t->rej_temp ? ERR_TEMP : ERR_NOUSER, t->rej_code,
	    "%s: %zu of %zu recipient%s refused: %s", s->host, t->nrej,
	    env->nrcpts, env->nrcpts == 1 ? "" : "s", list);
}

/*
 * After MAIL, RCPT and DATA: go on with the data if MAIL and at least one
 * recipient were accepted and DATA got 354, or say why not.  The refused
 * recipients are in t->rerr; the data goes to the accepted ones.
 */
static int
txn_verdict(struct smtp_session *s, const struct smtp_envelope *env,
    const struct txn *t, struct err *e)
{
	if (t->mail_failed || t->nacc == 0) {
		/* 354 was given: drop the connection, never send the dot. */
		if (t->data_ok)
			s->broken = 1;
		if (!t->mail_failed)
			return rcpt_error(s, env, t, e);
		if (e != NULL)
			*e = t->mail_err;
		return -1;
	}
	if (!t->data_ok)
		return reply_err(s, "DATA refused", e);
	return 0;
}

/* Read the replies to the commands sent so far: MAIL's if not yet read,
 * then the RCPTs' up to recipient upto (exclusive). */
static int
read_flight(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, size_t upto, struct err *e)
{
	if (t->nmail == 0) {
		if (read_reply(s, "MAIL FROM", 1, e) == -1)
			return -1;
		t->nmail = 1;
		note_mail(s, t);
	}
	for (; t->nread < upto; t->nread++) {
		if (read_reply(s, "RCPT TO", 1, e) == -1)
			return -1;
		note_rcpt(s, t, env, t->nread);
	}
	return 0;
}

/*
 * RFC 2920: MAIL, the RCPTs and DATA pipelined, in flights of at most
 * SMTP_FLIGHT_CMDS commands, each flight's replies read before the next
 * is written: a server that stops reading while its replies back up can
 * then never block us, nor we it, for more than one flight.
 */
/* The connection failed while replies were due: after a refused MAIL
 * the server may hang up, and that refusal is the news. */
static int
txn_lost(const struct txn *t, struct err *e)
{
	if (t->mail_failed && e != NULL)
		*e = t->mail_err;
	return -1;
}

/*
 * MAIL and the RCPTs into b; every full flight of SMTP_FLIGHT_CMDS
 * commands is written and its replies read.  Returns 0 with the last
 * flight's commands left in b for the caller to end (DATA, or BDAT), 1
 * when MAIL was refused (see txn_verdict()), or -1.
 */
static int
pipeline_envelope(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, struct buf *b, struct err *e)
{
	size_t i, ncmd = 1;

	if (add_mail(s, env, t, b) == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	for (i = 0; i < env->nrcpts; i++) {
		if (add_rcpt(env, t, i, b) == -1)
			return err_set(e, ERR_DATA, "envelope too large");
		if (++ncmd < SMTP_FLIGHT_CMDS)
			continue;
		if (send_buf(s, b, e) == -1 ||
		    read_flight(s, env, t, i + 1, e) == -1)
			return txn_lost(t, e);
		if (t->mail_failed)
			return 1;
		ncmd = 0;
	}
	return 0;
}

static int
txn_pipelined(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, struct buf *b, struct err *e)
{
	int r = pipeline_envelope(s, env, t, b, e);

	if (r != 0)
		return r == 1 ? txn_verdict(s, env, t, e) : -1;
	if (buf_addstr(b, "DATA\r\n") == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	if (send_buf(s, b, e) == -1 ||
	    read_flight(s, env, t, env->nrcpts, e) == -1 ||
	    read_reply(s, "DATA", 0, e) == -1)
		return txn_lost(t, e);
	t->data_ok = s->r.code == 354;
	return txn_verdict(s, env, t, e);
}

/* Without PIPELINING: one command, one reply. */
static int
txn_serial(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, struct buf *b, struct err *e)
{
	size_t i;

	if (add_mail(s, env, t, b) == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	if (send_buf(s, b, e) == -1 || read_reply(s, "MAIL FROM", 0, e) == -1)
		return -1;
	note_mail(s, t);
	if (t->mail_failed)
		return txn_verdict(s, env, t, e);
	for (i = 0; i < env->nrcpts; i++) {
		if (add_rcpt(env, t, i, b) == -1)
			return err_set(e, ERR_DATA, "envelope too large");
		if (send_buf(s, b, e) == -1 ||
		    read_reply(s, "RCPT TO", 0, e) == -1)
			return -1;
		note_rcpt(s, t, env, i);
	}
	if (t->nacc == 0)
		return txn_verdict(s, env, t, e);
	if (cmd_reply(s, "DATA", e) == -1)
		return -1;
	t->data_ok = s->r.code == 354;
	return txn_verdict(s, env, t, e);
}

/*
 * Stream data_fd through the dot-stuffer.  The encoded chunk is written
 * only once the next read shows whether it is the last, so the final
 * ".\r\n" leaves with the last chunk in one write.
 */
static int
send_data(struct smtp_session *s, int fd, struct err *e)
{
	char *in = xcalloc(1, SMTP_DATA_CHUNK);
	char *out = xcalloc(1, 2 * SMTP_DATA_CHUNK + 2 + SMTP_DOT_FINISH_MAX);
	struct smtp_dot d;
	size_t olen = 0;
	ssize_t n;
	int r = -1;

	smtp_dot_init(&d);
	for (;;) {
		n = read(fd, in, SMTP_DATA_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* 354 was given: hang up rather than send the dot. */
			s->broken = 1;
			err_set(e, ERR_IO, "reading the message: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (olen > 0 && write_flight(s, out, olen, e) == -1)
			goto out;
		olen = smtp_dot_encode(&d, in, (size_t)n, out);
	}
	olen += smtp_dot_finish(&d, out + olen);
	log_transcript('>', ".", 1);
	r = write_flight(s, out, olen, e);
out:
	free(in);
	free(out);
	return r;
}

/* Read one BDAT reply: the MAIL and RCPT replies come first. */
static int
read_bdat_reply(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, struct err *e)
{
	if (read_flight(s, env, t, env->nrcpts, e) == -1)
		return txn_lost(t, e);
	if (t->nbdat_read + 1 == t->nbdat) {
		/* The last chunk's: as for the final dot, a 2xx first line
		 * means delivered, whatever follows. */
		if (read_data_reply(s, e) == -1)
			return txn_lost(t, e);
	} else if (read_reply(s, "BDAT", 1, e) == -1) {
		return txn_lost(t, e);
	} else if (s->r.code / 100 != 2 && !t->bdat_failed) {
		t->bdat_failed = 1;
		reply_err(s, "BDAT refused", &t->bdat_err);
	}
	t->nbdat_read++;
	return 0;
}

/*
 * One chunk: the commands still in b, "BDAT <n>[ LAST]" and the n bytes
 * at p, which has SMTP_BDAT_ROOM bytes free before it: commands that fit
 * there go in the same write as the data (fewer writes and TLS records). Inside
 * one flight (held by net_flight_begin(), ended after the last chunk); a chunk
 * that is not the last leaves as the next fills.  At most SMTP_BDAT_WINDOW
 * chunk replies stay unread, so a long message cannot fill the buffers between
 * a server that stops reading while its replies back up and us.
 */
static int
send_chunk(struct smtp_session *s, const struct smtp_envelope *env,
    struct txn *t, struct buf *b, char *p, size_t n, int last, struct err *e)
{
	int r;

	if (buf_printf(b, "BDAT %zu%s\r\n", n, last ? " LAST" : "") == -1)
		return err_set(e, ERR_DATA, "envelope too large");
	log_flight(b->data, b->len);
	if (b->len <= SMTP_BDAT_ROOM) {
		memcpy(p - b->len, b->data, b->len);
		r = write_part(s, p - b->len, b->len + n, e);
	} else {
		r = write_part(s, b->data, b->len, e);
		if (r == 0 && n > 0)
			r = write_part(s, p, n, e);
	}
	buf_clear(b);
	if (r == -1)
		return -1;
	t->nbdat++;
	if (last) {
		net_flight_end(s->c);
		return 0;
	}
	while (t->nbdat - t->nbdat_read > SMTP_BDAT_WINDOW)
		if (read_bdat_reply(s, env, t, e) == -1)
			return -1;
	return 0;
}

/*
 * The length of a chunk that is not the last: every write leaves as its own
 * TLS records (tls_flush()), so a chunk of olen bytes behind the c bytes of
 * commands would end in a short record.  Instead it ends where a record
 * does: c + "BDAT <n>\r\n" + n is a multiple of the record size rec, and
 * the rest (less than rec) is carried to the front of the next chunk.  A
 * 1 MB message then takes the 65 records its bytes need, not 69 (issue 12).
 * Without TLS, or when the commands go in a write of their own, olen.
 */
static size_t
chunk_len(size_t c, size_t olen, size_t rec)
{
	char hdr[32];
	size_t n = olen, tot;
	int i, h;

	if (rec == 0)
		return olen;
	for (i = 0; i < 3; i++) { /* the header's length depends on n */
		h = snprintf(hdr, sizeof(hdr), "BDAT %zu\r\n", n);
		if (c + (size_t)h > SMTP_BDAT_ROOM)
			return olen;
		tot = c + (size_t)h + n;
		if (tot % rec == 0)
			return n;
		if (n <= tot % rec)
			return olen;
		n -= tot % rec;
	}
	return olen;
}

/*
 * RFC 3030 with RFC 2920: the last flight of RCPTs and the data in BDAT
 * chunks of the exact bytes (no dot-stuffing; line ends repaired as for
 * DATA) leave as one flight; then the replies are read.  The
 * server delivers to the recipients it accepted; with none (or MAIL
 * refused) it refuses every BDAT (554, 503) and nothing is delivered.
 */
static int
txn_bdat(struct smtp_session *s, const struct smtp_envelope *env, struct txn *t,
    struct buf *b, int fd, struct err *e)
{
	char *in = NULL, *buf = NULL, *out;
	struct smtp_dot d;
	size_t olen = 0, len, rec;
	int r, have = 0;
	ssize_t n;

	if ((r = pipeline_envelope(s, env, t, b, e)) != 0)
		return r == 1 ? txn_verdict(s, env, t, e) : -1;
	in = xcalloc(1, SMTP_BDAT_CHUNK);
	buf = xcalloc(1,
	    SMTP_BDAT_ROOM + SMTP_RECORD_MAX + 2 * SMTP_BDAT_CHUNK + 2);
	out = buf + SMTP_BDAT_ROOM;
	rec = tls_record_size(net_tls(s->c));
	smtp_dot_init(&d);
	r = -1;
	net_flight_begin(s->c);
	for (;;) {
		n = read(fd, in, SMTP_BDAT_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* No LAST chunk: hang up, nothing is delivered. */
			s->broken = 1;
			net_flight_end(s->c);
			err_set(e, ERR_IO, "reading the message: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (have) {
			len = chunk_len(b->len, olen, rec);
			if (send_chunk(s, env, t, b, out, len, 0, e) == -1)
				goto out;
			olen -= len; /* carried into the next chunk */
			memmove(out, out + len, olen);
		}
		olen += smtp_crlf_encode(&d, in, (size_t)n, out + olen);
		have = 1;
	}
	olen += smtp_crlf_finish(&d, out + olen);
	if (send_chunk(s, env, t, b, out, olen, 1, e) == -1)
		goto out;
	if (env->sent != NULL)
		env->sent(env->sent_arg);
	while (t->nbdat_read < t->nbdat)
		if (read_bdat_reply(s, env, t, e) == -1)
			goto out;
	r = 0;
out:
	free(in);
	free(buf);
	if (r == -1)
		return -1;
	if (t->mail_failed || t->nacc == 0)
		return txn_verdict(s, env, t, e);
	if (t->bdat_failed) {
		/* The transaction state is the server's guess now. */
		s->broken = 1;
		if (e != NULL)
			*e = t->bdat_err;
		return -1;
	}
	if (s->r.code / 100 != 2)
		return reply_err(s, "message refused", e);
	return 0;
}

/* BDAT needs PIPELINING too: without it each chunk would wait for its
 * reply (RFC 3030 4.2), and DATA costs no more. */
static int
use_bdat(const struct smtp_session *s)
{
	unsigned want = SMTP_CAP_CHUNKING | SMTP_CAP_PIPELINING;

	return (s->caps.flags & want) == want;
}

int
smtp_send(struct smtp_session *s, const struct smtp_envelope *env, int data_fd,
    struct err *rerr, struct err *e)
{
	struct txn t;
	struct buf b;
	size_t i;
	int r;

	memset(&t, 0, sizeof(t));
	t.rerr = rerr;
	for (i = 0; rerr != NULL && i < env->nrcpts; i++)
		memset(&rerr[i], 0, sizeof(rerr[i]));
	buf_init(&t.rej, 8192);
	buf_init(&b, SMTP_MAX_FLIGHT);
	r = check_envelope(s, env, &t, e);
	if (r == 0 && use_bdat(s)) {
		r = txn_bdat(s, env, &t, &b, data_fd, e);
		buf_reset(&t.rej);
		buf_reset(&b);
		return r;
	}
	if (r == 0 && (s->caps.flags & SMTP_CAP_PIPELINING))
		r = txn_pipelined(s, env, &t, &b, e);
	else if (r == 0)
		r = txn_serial(s, env, &t, &b, e);
	buf_reset(&t.rej);
	buf_reset(&b);
	if (r == -1)
		return -1;
	if (send_data(s, data_fd, e) == -1)
		return -1;
	if (env->sent != NULL)
		env->sent(env->sent_arg);
	if (read_data_reply(s, e) == -1)
		return -1;
	if (s->r.code / 100 != 2)
		return reply_err(s, "message refused", e);
	return 0;
}

int
smtp_reset(struct smtp_session *s, struct err *e)
{
	if (s->broken || s->c == NULL)
		return err_set(e, ERR_TEMP, "%s: the connection is unusable",
		    s->host);
	if (cmd_reply(s, "RSET", e) == -1)
		return -1;
	if (s->r.code / 100 != 2) {
		s->broken = 1;
		return reply_err(s, "RSET", e);
	}
	return 0;
}

void
smtp_close(struct smtp_session *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL && !s->broken) {
		/* Best effort, never waiting for the 221. */
		if (s->timeout > 10)
			s->timeout = 10;
		write_quit(s);
	}
	net_close(s->c);
	smtp_reply_free(&s->r);
	buf_reset(&s->greeting);
	dane_tlsa_free(&s->dane);
	free(s);
}

const char *
smtp_tls_info(const struct smtp_session *s)
{
	return s->c != NULL ? tls_info(net_tls(s->c)) : NULL;
}

const char *
smtp_auth_mech(const struct smtp_session *s)
{
	return s->mech;
}

int
smtp_last_code(const struct smtp_session *s)
{
	return s->last_code;
}

const char *
smtp_last_text(const struct smtp_session *s)
{
	return s->last_text;
}

/* ---- --serverinfo ---- */

static const struct {
	const char *kw;
	const char *what;
} cap_text[] = {
    {"SIZE", "Maximum message size in bytes (0: no limit)"},
    {"PIPELINING", "Support for command grouping for faster transmission"},
    {"STARTTLS", "Support for TLS encryption via the STARTTLS command"},
    {"AUTH", "Supported authentication methods"},
    {"DSN", "Support for Delivery Status Notifications"},
    {"8BITMIME", "Support for 8-bit message bodies"},
    {"SMTPUTF8", "Support for UTF-8 addresses and headers"},
    {"ENHANCEDSTATUSCODES", "Support for enhanced status codes"},
    {"CHUNKING", "Support for BDAT (used with PIPELINING)"},
};

/* Print the lines of text (joined with '\n'), escaped, indented. */
static void
print_lines(FILE *out, const struct buf *text, int skip_first)
{
	const char *p = text->data, *end, *nl;
	char line[NET_MAX_LINE * 4 + 4];
	size_t i, kw;

	if (p == NULL)
		return;
	for (end = p + text->len; p <= end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (skip_first) {
			skip_first = 0;
			continue;
		}
		log_printable(line, sizeof(line), p, (size_t)(nl - p));
		fprintf(out, "    %s\n", line);
		kw = strcspn(line, " ");
		for (i = 0; i < sizeof(cap_text) / sizeof(cap_text[0]); i++)
			if (strlen(cap_text[i].kw) == kw &&
			    ascii_ncasecmp(cap_text[i].kw, line, kw) == 0)
				fprintf(out, "        %s\n", cap_text[i].what);
	}
}

static void
print_info(const struct smtp_session *s, FILE *out)
{
	struct tls *t = net_tls(s->c);

	fprintf(out, "SMTP server at %s (%s), port %u:\n", s->host,
	    net_peer(s->c), s->a->port);
	print_lines(out, &s->greeting, 0);
	if (t != NULL)
		tls_print(t, out);
	if (!s->esmtp) {
		fputs("No special capabilities (the server refused EHLO).\n",
		    out);
		return;
	}
	fputs("Capabilities:\n", out);
	print_lines(out, &s->r.text, 1);
	if (t == NULL && (s->caps.flags & SMTP_CAP_STARTTLS))
		fputs("This server might advertise more or other capabilities "
		      "when TLS is active.\n",
		    out);
}

int
smtp_serverinfo(const struct account *a, const char *host, FILE *out,
    struct err *e)
{
	struct smtp_session *s = NULL;
	int r = 0;

	if (session_open(a, host, NULL, 1, &s, e) == -1)
		return -1;
	print_info(s, out);
	if (fflush(out) == EOF || ferror(out))
		r = err_set(e, ERR_IO, "writing server information: %s",
		    strerror(errno));
	smtp_close(s);
	return r;
}

/* ---- accessors for the doctor (issue 13) ---- */

int
smtp_probe(const struct account *a, const char *host, const char *password,
    struct smtp_session **out, struct err *e)
{
	return session_open(a, host, password, password == NULL, out, e);
}

const struct smtp_caps *
smtp_caps_of(const struct smtp_session *s)
{
	return &s->caps;
}

struct tls *
smtp_tls(const struct smtp_session *s)
{
	return net_tls(s->c);
}

const char *
smtp_peer(const struct smtp_session *s)
{
	return net_peer(s->c);
}

int
smtp_auth_before_tls(const struct smtp_session *s)
{
	return s->auth_plain;
}

const char *
smtp_choose_mech(const struct smtp_session *s, struct err *e)
{
	struct tls *t = net_tls(s->c);
	unsigned char cb[64];
	size_t cblen = 0;
	int exporter = 0, have_cb;

	have_cb = t != NULL && tls_channel_binding(t, cb, sizeof(cb), &cblen,
				   &exporter) == 0;
	sodium_memzero(cb, sizeof(cb));
	return sasl_choose((s->caps.flags & SMTP_CAP_AUTH) ? s->caps.auth
							   : NULL,
	    auth_setting(s->a), t != NULL, have_cb, e);
}
