/*
 * server.c -- -bs: SMTP on standard input and output.
 *
 * Purpose: Symfony Mailer, Laravel and others start "sendmail -bs" and
 * speak SMTP to it over a pipe.  Each accepted message is handed to
 * submit_fd(), the same path as "sendmail rcpt <msg": aliases, headers,
 * DKIM, the queue and the smarthost.  Model: OpenSMTPD smtp_session.c
 * (one function per command state, limits on line length and recipients,
 * replies from one table).
 *
 * Non-goals: AUTH, STARTTLS, VRFY/EXPN, BDAT (a clear 502); a listening
 * socket (this is one dialogue with the process that started us).
 *
 * Invariants:
 *  - a message gets 250 only after submit_fd() returned 0, that is once it
 *    was delivered or is durably queued; a temporary problem is a 4xx, a
 *    permanent one a 5xx; nothing is acknowledged before "." is read;
 *  - the end of data is CRLF "." CRLF only: "\n.\n", "\r.\r" and other
 *    look-alikes stay data (SMTP smuggling), a leading dot is unstuffed;
 *  - a command line is at most SERVER_MAX_LINE bytes with its CRLF and
 *    holds no NUL; no reply text we did not write reaches the client
 *    unescaped; every read has a deadline (SERVER_TIMEOUT).
 *
 * Failure policy: a bad command costs a 5xx and one of SERVER_MAX_ERRORS;
 * end of input or a timeout in the middle of DATA discards that message
 * (never acknowledged) and the run ends non-zero.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "installdirs.h"
#include "log.h"
#include "privsep.h"
#include "submit.h"

enum state { ST_GREETED, ST_HELO, ST_MAIL, ST_RCPT, ST_QUIT };

struct session {
	const struct opts *o;
	const struct config *cfg; /* NULL: through the drop step (issue 10) */
	int in, out;
	char ibuf[SERVER_MAX_LINE * 2];
	size_t start, end;
	int eof;
	enum state st;
	char *from;
	const char *body_type; /* MAIL's BODY=, or NULL */
	char **rcpts;
	size_t nrcpts;
	unsigned errors, messages;
	pid_t pid; /* ours; another after submit_fd() in an -odb child */
};

/* ---- replies: one table ---- */

enum reply {
	RP_GREETING,
	RP_OK,
	RP_BYE,
	RP_GO_AHEAD,
	RP_UNKNOWN,
	RP_NOT_IMPL,
	RP_TOO_LONG,
	RP_NUL,
	RP_BAD_SEQ_HELO,
	RP_BAD_SEQ_MAIL,
	RP_BAD_SEQ_RCPT,
	RP_NESTED_MAIL,
	RP_NEED_HELO_ARG,
	RP_NO_ARGS,
	RP_TOO_MANY_RCPTS,
	RP_TOO_MANY_ERRORS,
	RP_TOO_MANY_MSGS,
	RP_BAD_PARAM,
	RP_SENDER_OK,
	RP_RCPT_OK,
	RP_RESET,
};

static const struct {
	int code;
	const char *text;
} replies[] = {
    [RP_GREETING] = {220, "postseal ESMTP ready (sendmail -bs)"},
    [RP_OK] = {250, "2.0.0 Ok"},
    [RP_BYE] = {221, "2.0.0 Bye"},
    [RP_GO_AHEAD] = {354, "End data with <CR><LF>.<CR><LF>"},
    [RP_UNKNOWN] = {500, "5.5.2 Command unrecognized"},
    [RP_NOT_IMPL] = {502, "5.5.1 Command not implemented"},
    [RP_TOO_LONG] = {500, "5.5.2 Line too long"},
    [RP_NUL] = {500, "5.5.2 NUL or bare CR in command"},
    [RP_BAD_SEQ_HELO] = {503, "5.5.1 Send HELO or EHLO first"},
    [RP_BAD_SEQ_MAIL] = {503, "5.5.1 Need MAIL first"},
    [RP_BAD_SEQ_RCPT] = {503, "5.5.1 Need RCPT first"},
    [RP_NESTED_MAIL] = {503, "5.5.1 Sender already given (RSET first)"},
    [RP_NEED_HELO_ARG] = {501, "5.5.4 HELO and EHLO need a domain"},
    [RP_NO_ARGS] = {501, "5.5.4 No arguments allowed"},
    [RP_TOO_MANY_RCPTS] = {452, "4.5.3 Too many recipients"},
    [RP_TOO_MANY_ERRORS] = {421, "4.7.0 Too many errors, closing"},
    [RP_TOO_MANY_MSGS] = {421, "4.7.0 Too many messages, closing"},
    [RP_BAD_PARAM] = {555, "5.5.4 Parameter not supported"},
    [RP_SENDER_OK] = {250, "2.1.0 Sender ok"},
    [RP_RCPT_OK] = {250, "2.1.5 Recipient ok"},
    [RP_RESET] = {250, "2.0.0 Reset"},
};

static int
write_all(struct session *s, const char *p, size_t n, struct err *e)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(s->out, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(e, ERR_IO, "-bs: writing a reply: %s",
			    w == -1 ? strerror(errno) : "short write");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One reply line "code text"; text is made printable and bounded. */
static int
reply_text(struct session *s, int code, char sep, const char *text,
    struct err *e)
{
	char line[512], safe[400];

	log_printable(safe, sizeof(safe), text, strlen(text));
	snprintf(line, sizeof(line), "%03d%c%s\r\n", code, sep, safe);
	log_transcript('>', line, strlen(line) - 2);
	return write_all(s, line, strlen(line), e);
}

static int
reply(struct session *s, enum reply r, struct err *e)
{
	return reply_text(s, replies[r].code, ' ', replies[r].text, e);
}

/* Count a bad command; past SERVER_MAX_ERRORS the dialogue ends. */
static int
count_error(struct session *s, struct err *e)
{
	if (++s->errors < SERVER_MAX_ERRORS)
		return 0;
	s->st = ST_QUIT;
	return reply(s, RP_TOO_MANY_ERRORS, e);
}

/* A 5xx from the table for a bad command. */
static int
reply_error(struct session *s, enum reply r, struct err *e)
{
	if (reply(s, r, e) == -1)
		return -1;
	return count_error(s, e);
}

/* A 501 with our own text for a bad command. */
static int
reply_syntax(struct session *s, const char *text, struct err *e)
{
	if (reply_text(s, 501, ' ', text, e) == -1)
		return -1;
	return count_error(s, e);
}

/* ---- input ---- */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read more into ibuf (which must have room); sets s->eof at the end. */
static int
fill(struct session *s, struct err *e)
{
	long long deadline = now_ms() + SERVER_TIMEOUT * 1000LL;
	struct pollfd pfd = {s->in, POLLIN, 0};
	ssize_t r;
	int p;

	if (s->start > 0) {
		memmove(s->ibuf, s->ibuf + s->start, s->end - s->start);
		s->end -= s->start;
		s->start = 0;
	}
	if (s->end == sizeof(s->ibuf))
		fatal("-bs: input buffer full"); /* callers leave room */
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return err_set(e, ERR_TEMP, "-bs: timed out after %d s",
			    SERVER_TIMEOUT);
		p = poll(&pfd, 1, (int)left);
		if (p == -1 && errno != EINTR)
			return err_set(e, ERR_IO, "-bs: poll: %s",
			    strerror(errno));
		if (p <= 0)
			continue;
		r = read(s->in, s->ibuf + s->end, sizeof(s->ibuf) - s->end);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return err_set(e, ERR_IO, "-bs: reading: %s",
			    strerror(errno));
		if (r == 0)
			s->eof = 1;
		s->end += (size_t)r;
		return 0;
	}
}

/*
 * The next command line, without its LF and a CR before it.  Returns 1
 * with *line set, 0 at the end of input, 2 for a line that was too long
 * (consumed up to its LF), -1 on errors.
 */
static int
read_cmd(struct session *s, char **line, size_t *len, struct err *e)
{
	int toolong = 0;
	char *lf;

	for (;;) {
		size_t have = s->end - s->start;
		lf = memchr(s->ibuf + s->start, '\n', have);
		if (lf != NULL &&
		    (toolong || (size_t)(lf - (s->ibuf + s->start)) + 1 >
				    SERVER_MAX_LINE)) {
			s->start = (size_t)(lf - s->ibuf) + 1;
			return 2;
		}
		if (lf != NULL) {
			*line = s->ibuf + s->start;
			*len = (size_t)(lf - *line);
			s->start += *len + 1;
			if (*len > 0 && (*line)[*len - 1] == '\r')
				(*len)--;
			return 1;
		}
		if (have >= SERVER_MAX_LINE) {
			toolong = 1; /* drop it, keep looking for its end */
			s->start = s->end = 0;
		}
		if (s->eof)
			return toolong ? 2 : 0;
		if (fill(s, e) == -1)
			return -1;
	}
}

/* ---- DATA: CRLF "." CRLF ends it, a leading dot is unstuffed ---- */

static int
spool_write(int fd, const char *p, size_t n, struct err *e)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(e, errno == ENOSPC ? ERR_TEMP : ERR_IO,
			    "-bs: spooling the message: %s",
			    w == -1 ? strerror(errno) : "short write");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* At the start of a line: 1 for the final ".", else unstuff; 0. */
static int
data_bol(struct session *s, struct err *e)
{
	while (s->end - s->start < 3 && !s->eof &&
	       (s->end == s->start || s->ibuf[s->start] == '.'))
		if (fill(s, e) == -1)
			return -1;
	if (s->end - s->start >= 3 &&
	    memcmp(s->ibuf + s->start, ".\r\n", 3) == 0) {
		s->start += 3;
		return 1;
	}
	if (s->end > s->start && s->ibuf[s->start] == '.')
		s->start++; /* RFC 5321 4.5.2 */
	return 0;
}

/* The offset of the first CRLF in the n bytes at p, or n. */
static size_t
find_crlf(const char *p, size_t n)
{
	const char *cr = p;

	while ((cr = memchr(cr, '\r', n - (size_t)(cr - p))) != NULL) {
		if ((size_t)(cr - p) + 1 < n && cr[1] == '\n')
			return (size_t)(cr - p);
		if ((size_t)(cr - p) + 1 >= n)
			break;
		cr++;
	}
	return n;
}

/* Copy the data to fd up to the final dot; 0, or -1 (e: end of input or
 * a read error).  A write error is kept in *werr and the rest of the data
 * read and dropped, so the client gets its 4xx after the dot. */
static int
read_data(struct session *s, int fd, struct err *werr, struct err *e)
{
	int bol = 1, r;

	for (;;) {
		const char *p = s->ibuf + s->start;
		size_t have = s->end - s->start, n;

		if (bol && (r = data_bol(s, e)) != 0)
			return r == 1 ? 0 : -1;
		p = s->ibuf + s->start;
		have = s->end - s->start;
		n = find_crlf(p, have);
		bol = n < have;
		if (bol)
			n += 2;
		else if (n > 0 && p[n - 1] == '\r')
			n--; /* a CR at the end: its LF may come next */
		if (fd != -1 && spool_write(fd, p, n, werr) == -1)
			fd = -1;
		s->start += n;
		if (bol)
			continue;
		if (s->eof)
			return err_set(e, ERR_TEMP,
			    "-bs: end of input in DATA: message discarded");
		if (fill(s, e) == -1)
			return -1;
	}
}

/* ---- commands: one function each ---- */

typedef int cmd_fn(struct session *, const char *arg, struct err *);

static cmd_fn cmd_helo, cmd_ehlo, cmd_mail, cmd_rcpt, cmd_data, cmd_rset,
    cmd_noop, cmd_quit;

static const struct {
	const char *verb;
	cmd_fn *fn; /* NULL: 502 */
} commands[] = {
    {"HELO", cmd_helo},
    {"EHLO", cmd_ehlo},
    {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt},
    {"DATA", cmd_data},
    {"RSET", cmd_rset},
    {"NOOP", cmd_noop},
    {"QUIT", cmd_quit},
    {"VRFY", NULL},
    {"EXPN", NULL},
    {"HELP", NULL},
    {"AUTH", NULL},
    {"STARTTLS", NULL},
    {"BDAT", NULL},
    {"ETRN", NULL},
    {"TURN", NULL},
    {"ATRN", NULL},
    {"SEND", NULL},
    {"SOML", NULL},
    {"SAML", NULL},
};

int
server_parse_verb(const char *line, size_t len, const char **arg)
{
	size_t n = 0, i;

	while (n < len && line[n] != ' ')
		n++;
	*arg = line + n;
	while (**arg == ' ')
		(*arg)++;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].verb) == n &&
		    ascii_ncasecmp(commands[i].verb, line, n) == 0)
			return (int)i;
	return -1;
}

static void
transaction_reset(struct session *s)
{
	size_t i;

	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	free(s->from);
	s->from = NULL;
	s->body_type = NULL;
	if (s->st != ST_GREETED && s->st != ST_QUIT)
		s->st = ST_HELO;
}

static int
cmd_helo(struct session *s, const char *arg, struct err *e)
{
	if (*arg == '\0')
		return reply_error(s, RP_NEED_HELO_ARG, e);
	s->st = ST_HELO;
	transaction_reset(s);
	return reply_text(s, 250, ' ', "postseal", e);
}

static int
cmd_ehlo(struct session *s, const char *arg, struct err *e)
{
	static const char *const ext[] = {"8BITMIME", "PIPELINING", "SMTPUTF8",
	    "ENHANCEDSTATUSCODES"};
	size_t i;

	if (*arg == '\0')
		return reply_error(s, RP_NEED_HELO_ARG, e);
	s->st = ST_HELO;
	transaction_reset(s);
	if (reply_text(s, 250, '-', "postseal", e) == -1)
		return -1;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (reply_text(s, 250,
			i + 1 < sizeof(ext) / sizeof(ext[0]) ? '-' : ' ',
			ext[i], e) == -1)
			return -1;
	return 0;
}

/* "<addr>" with an optional source route; quoted local parts may hold
 * '>' or ' '. */
const char *
server_parse_path(const char *arg, char **addr, const char **params)
{
	const char *p = arg, *start;
	int q = 0;

	while (*p == ' ')
		p++; /* "MAIL FROM: <a@b>" is common */
	if (*p++ != '<')
		return "5.5.4 Syntax: expected <address>";
	if (*p == '@') { /* RFC 5321 4.1.2 obs source route: dropped */
		if ((p = strchr(p, ':')) == NULL)
			return "5.5.4 Syntax: bad source route";
		p++;
	}
	for (start = p; *p != '\0' && (q || *p != '>'); p++) {
		if (q && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			q = !q;
	}
	if (*p != '>')
		return "5.5.4 Syntax: missing '>'";
	*addr = xstrndup(start, (size_t)(p - start));
	p++;
	while (*p == ' ')
		p++;
	*params = p;
	return NULL;
}

/* The MAIL parameters we take: BODY=, SIZE=, SMTPUTF8. */
static int
mail_params(struct session *s, const char *p)
{
	unsigned long long n;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");
		const char *v = p + 5;
		if (len == 13 && ascii_ncasecmp(p, "BODY=8BITMIME", 13) == 0)
			s->body_type = "8BITMIME";
		else if (len == 9 && ascii_ncasecmp(p, "BODY=7BIT", 9) == 0)
			s->body_type = "7BIT";
		else if (len == 8 && ascii_ncasecmp(p, "SMTPUTF8", 8) == 0)
			;
		else if (len > 5 && ascii_ncasecmp(p, "SIZE=", 5) == 0 &&
			 parse_uint(&v, 1ULL << 62, &n) == 0 && v == p + len)
			;
		else
			return -1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* An envelope address as the client gave it: no CR/LF/NUL (the line
 * has none), valid once qualified. */
static const char *
path_check(const char *addr, int allow_null)
{
	char probe[ADDR_MAX_PATH + 32];
	const char *why;

	if (addr[0] == '\0')
		return allow_null ? NULL : "empty address";
	if (snprintf(probe, sizeof(probe), "%s%s", addr,
		addr_domain(addr) != NULL ? "" : "@example.invalid") >=
	    (int)sizeof(probe))
		return "address too long";
	if ((why = addr_check(probe, 0, NULL)) != NULL)
		return why;
	return NULL;
}

/* "FROM:" or "TO:" at the start of arg, case-insensitive. */
static const char *
keyword(const char *arg, const char *kw)
{
	size_t n = strlen(kw);

	return ascii_ncasecmp(arg, kw, n) == 0 ? arg + n : NULL;
}

static int
reply_bad_addr(struct session *s, const char *what, const char *addr,
    const char *why, struct err *e)
{
	char text[400], shown[128];

	log_printable(shown, sizeof(shown), addr, strlen(addr));
	snprintf(text, sizeof(text), "%s <%s>: %s", what, shown, why);
	return reply_syntax(s, text, e);
}

/*
 * Through the drop step: a sender the policy refuses for this user gets
 * 550 5.7.1 at MAIL already (the drop step checks again).  1 replied,
 * 0 allowed, -1 a write error.
 */
static int
sender_refused(struct session *s, const char *addr, struct err *e)
{
	const char *account = s->o->account != NULL ? s->o->account : "*";
	struct err pe = {0};
	char text[400];
	int use;

	if (*addr == '\0' || privsep_policy_check(SYSCONFDIR_POSTSEAL "/policy",
				 getuid(), account, addr, &use, &pe) == 0)
		return 0;
	log_warn("-bs: sender not accepted: %s", pe.text);
	snprintf(text, sizeof(text), "%s %s",
	    pe.kind == ERR_AUTH ? "5.7.1 Refused:" : "4.3.0 Try again later:",
	    pe.text);
	return reply_text(s, pe.kind == ERR_AUTH ? 550 : 451, ' ', text, e) ==
		       -1
		   ? -1
		   : 1;
}

static int
cmd_mail(struct session *s, const char *arg, struct err *e)
{
	const char *p, *why, *params;
	char *addr = NULL;
	int r;

	if (s->st == ST_GREETED)
		return reply_error(s, RP_BAD_SEQ_HELO, e);
	if (s->st != ST_HELO)
		return reply_error(s, RP_NESTED_MAIL, e);
	if ((p = keyword(arg, "FROM:")) == NULL)
		return reply_syntax(s, "5.5.4 Syntax: MAIL FROM:<address>", e);
	if ((why = server_parse_path(p, &addr, &params)) != NULL)
		return reply_syntax(s, why, e);
	if ((why = path_check(addr, 1)) != NULL) {
		r = reply_bad_addr(s, "5.1.7 Bad sender address", addr, why, e);
		free(addr);
		return r;
	}
	if (mail_params(s, params) == -1) {
		free(addr);
		s->body_type = NULL;
		return reply_error(s, RP_BAD_PARAM, e);
	}
	if (s->cfg == NULL && (r = sender_refused(s, addr, e)) != 0) {
		free(addr);
		s->body_type = NULL;
		return r == 1 ? 0 : -1;
	}
	s->from = addr;
	s->st = ST_MAIL;
	return reply(s, RP_SENDER_OK, e);
}

static int
cmd_rcpt(struct session *s, const char *arg, struct err *e)
{
	const char *p, *why, *params;
	char *addr = NULL;

	if (s->st != ST_MAIL && s->st != ST_RCPT)
		return reply_error(s,
		    s->st == ST_GREETED ? RP_BAD_SEQ_HELO : RP_BAD_SEQ_MAIL, e);
	if ((p = keyword(arg, "TO:")) == NULL)
		return reply_syntax(s, "5.5.4 Syntax: RCPT TO:<address>", e);
	if ((why = server_parse_path(p, &addr, &params)) != NULL)
		return reply_syntax(s, why, e);
	if ((why = path_check(addr, 0)) != NULL || *params != '\0') {
		int r = why != NULL
			    ? reply_bad_addr(s, "5.1.3 Bad recipient address",
				  addr, why, e)
			    : reply_error(s, RP_BAD_PARAM, e);
		free(addr);
		return r;
	}
	if (s->nrcpts >= SERVER_MAX_RCPTS) {
		free(addr);
		return reply(s, RP_TOO_MANY_RCPTS, e);
	}
	s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1, sizeof(*s->rcpts));
	s->rcpts[s->nrcpts++] = addr;
	s->st = ST_RCPT;
	return reply(s, RP_RCPT_OK, e);
}

/* An unlinked temporary file for the data. */
static int
spool_open(struct err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/postseal-bs.XXXXXX", dir) >=
	    (int)sizeof(path))
		return err_set(e, ERR_TEMP, "-bs: TMPDIR too long");
	if ((fd = mkstemp(path)) == -1)
		return err_set(e, ERR_TEMP, "-bs: temporary file in %s: %s",
		    dir, strerror(errno));
	unlink(path);
	return fd;
}

/* The kinds a client should retry: 4xx.  The rest is 5xx. */
static int
retry_later(const struct err *se)
{
	switch (se->kind) {
	case ERR_DATA:
	case ERR_USAGE:
	case ERR_NOUSER:
	case ERR_PERM:
		return 0;
	default:
		return 1;
	}
}

static int
reply_result(struct session *s, int r, const struct err *se, struct err *e)
{
	char text[400];
	int code;

	if (r == 0)
		return reply_text(s, 250, ' ', "2.0.0 Ok: delivered or queued",
		    e);
	if (s->cfg == NULL && se->kind == ERR_AUTH) {
		/* The drop step's policy refused it (sender or user). */
		code = 550;
		snprintf(text, sizeof(text), "5.7.1 Refused: %s", se->text);
	} else if (s->cfg == NULL && se->kind == ERR_TEMP) {
		/* The per-user limit or a full spool: nothing stored. */
		code = 452;
		snprintf(text, sizeof(text),
		    "4.3.1 Not accepted, try again later: %s", se->text);
	} else if (retry_later(se)) {
		code = 451;
		snprintf(text, sizeof(text),
		    "4.3.0 Not accepted, try again "
		    "later: %s",
		    se->text);
	} else {
		code = se->smtp_code >= 550 && se->smtp_code <= 554
			   ? se->smtp_code
			   : 554;
		snprintf(text, sizeof(text), "5.6.0 Rejected: %s", se->text);
	}
	log_warn("-bs: message not accepted: %s", se->text);
	return reply_text(s, code, ' ', text, e);
}

/* Hand one message to the sendmail path (submit.c). */
static int
submit_message(struct session *s, int fd, struct err *se)
{
	struct opts o = *s->o;

	o.mode = MODE_SEND;
	o.sender = s->from;
	o.rcpts = s->rcpts;
	o.nrcpts = s->nrcpts;
	o.read_recipients = 0;
	o.ignore_dots = 1; /* unstuffed already: a "." line is data */
	if (s->body_type != NULL)
		o.body_type = s->body_type;
	o.owned_sender = NULL;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return err_set(se, ERR_IO, "-bs: rewinding the spool: %s",
		    strerror(errno));
	if (s->cfg == NULL)
		/* A local user of the system account: 0 once the drop step
		 * stored it in incoming/ (it checks the policy again). */
		return submit_drop_fd(&o, fd, se);
	return submit_fd(&o, s->cfg, fd, se);
}

static int
cmd_data(struct session *s, const char *arg, struct err *e)
{
	struct err se = {0};
	int fd, r;

	if (*arg != '\0')
		return reply_error(s, RP_NO_ARGS, e);
	if (s->st != ST_RCPT)
		return reply_error(s,
		    s->st == ST_GREETED ? RP_BAD_SEQ_HELO
		    : s->st == ST_HELO	? RP_BAD_SEQ_MAIL
					: RP_BAD_SEQ_RCPT,
		    e);
	if (s->messages >= SERVER_MAX_MESSAGES) {
		s->st = ST_QUIT;
		return reply(s, RP_TOO_MANY_MSGS, e);
	}
	if ((fd = spool_open(&se)) == -1)
		return reply_result(s, -1, &se, e);
	if (reply(s, RP_GO_AHEAD, e) == -1 || read_data(s, fd, &se, e) == -1) {
		close(fd);
		return -1;
	}
	r = se.kind != ERR_NONE ? -1 : submit_message(s, fd, &se);
	close(fd);
	if (getpid() != s->pid) {
		/* -odb: we are the detached child that made the attempt.  The
		 * rest of the dialogue (maybe pipelined into ibuf already)
		 * belongs to the parent: stop here, silently. */
		s->st = ST_QUIT;
		return 0;
	}
	s->messages++;
	transaction_reset(s);
	return reply_result(s, r, &se, e);
}

static int
cmd_rset(struct session *s, const char *arg, struct err *e)
{
	(void)arg; /* RFC 5321 4.1.1.5 allows none; be lenient */
	transaction_reset(s);
	return reply(s, RP_RESET, e);
}

static int
cmd_noop(struct session *s, const char *arg, struct err *e)
{
	(void)arg;
	return reply(s, RP_OK, e);
}

static int
cmd_quit(struct session *s, const char *arg, struct err *e)
{
	(void)arg;
	s->st = ST_QUIT;
	return reply(s, RP_BYE, e);
}

static int
dispatch(struct session *s, const char *line, size_t len, struct err *e)
{
	const char *arg;
	char text[128];
	int i;

	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL)
		return reply_error(s, RP_NUL, e);
	log_transcript('<', line, len);
	if ((i = server_parse_verb(line, len, &arg)) < 0)
		return reply_error(s, RP_UNKNOWN, e);
	if (commands[i].fn != NULL)
		return commands[i].fn(s, arg, e);
	snprintf(text, sizeof(text),
	    "5.5.1 %s is not implemented by "
	    "postseal -bs",
	    commands[i].verb);
	if (reply_text(s, replies[RP_NOT_IMPL].code, ' ', text, e) == -1)
		return -1;
	return count_error(s, e);
}

void
server_refuse(int out, const struct err *e)
{
	static struct session s;
	struct err ignored = {0};
	char text[400];

	memset(&s, 0, sizeof(s));
	s.out = out;
	snprintf(text, sizeof(text), "4.3.0 postseal cannot accept mail: %s",
	    e->text);
	reply_text(&s, 421, ' ', text, &ignored);
}

int
server_run(const struct opts *o, const struct config *cfg, int in, int out,
    struct err *e)
{
	static struct session s; /* 4 KiB of buffer: not on the stack */
	char cmd[SERVER_MAX_LINE + 1], *line;
	size_t len;
	int r, k = 1, open_tx;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.cfg = cfg;
	s.in = in;
	s.out = out;
	s.st = ST_GREETED;
	s.pid = getpid();
	r = reply(&s, RP_GREETING, e);
	while (r == 0 && s.st != ST_QUIT) {
		if ((k = read_cmd(&s, &line, &len, e)) <= 0)
			break;
		if (k == 2) {
			r = reply_error(&s, RP_TOO_LONG, e);
			continue;
		}
		if (len >= sizeof(cmd))
			fatal("-bs: command line past its bound");
		memcpy(cmd, line, len);
		cmd[len] = '\0';
		r = dispatch(&s, cmd, len, e);
	}
	open_tx = s.st == ST_MAIL || s.st == ST_RCPT;
	transaction_reset(&s);
	if (k == -1)
		r = -1;
	if (r == 0 && k == 0 && open_tx)
		r = err_set(e, ERR_TEMP,
		    "-bs: end of input in the middle of "
		    "a transaction: nothing accepted");
	return r;
}
