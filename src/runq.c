/*
 * runq.c -- the life of a queued message: submission, queue runs, listing,
 * drop and retry, failure notices.
 *
 * Purpose: one place deciding what happens to an entry after an attempt.
 * The policy (see runq.h), per recipient: 2xx -> delivered (recorded
 * before anything else happens, never sent again); temporary -> pending,
 * the entry deferred with exponential backoff; permanent -> failed, with
 * a notice listing only the failed recipients; too old -> failed plus a
 * notice.  The entry leaves active/ once nothing is pending.  A queue run
 * reuses one connection per account (deliver.c keeps it and sends RSET
 * between messages); after a failure that concerns the whole account (no
 * session could be opened, 421, authentication, configuration) the rest
 * of that account's entries are deferred with the same reason instead of
 * being tried one by one; a failure inside one message's transaction
 * (including anything after a 2xx to its final dot) concerns it alone.
 *
 * Invariants: an entry is only touched while locked (queue.c), so a
 * submission and any number of queue runs never send one twice; a failure
 * notice is itself queued before it is sent, has the null sender, and no
 * notice is made for a message with the null sender (so never for a
 * notice).  Rate limits are taken before an attempt (a failed attempt
 * still counts: conservative, as providers count attempts too).
 *
 * Issue 9: "-q" tries every selected entry now (backoff ignored), the
 * periodic --queue-run-due only the due ones; -qR/-qS/-qI select.  A
 * deferred entry older than the account's delay_warning_time brings its
 * sender one delay warning (the notice code with Action: delayed).
 * Entries "held" for a configuration error are never sent by a run: the
 * submission code completes them first (runq_release_held()).  Every
 * state change is logged with the queue ID (log_state(), deliver.c).
 *
 * Failure policy: errors about one entry are reported (stderr) and the run
 * goes on; runq_submit() returns -1 only when the message was not stored
 * or failed for good, so exit 0 always means delivered or durably queued.
 *
 * Non-goals: SMTP and the host list (deliver.c), the on-disk format
 * (queue.c), message content.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "oauth2.h"
#include "queue.h"
#include "privsep.h"
#include "runq.h"
#include "smtp.h"

#define DEFAULT_MAX_AGE (5 * 86400)
#define DEFAULT_FAILED_MAX_AGE (30 * 86400)
#define NOTICE_MAX (256 * 1024)
#define NOTICE_HEADERS_MAX (64 * 1024)
#define NOTICE_RCPTS 50 /* recipients listed in a notice */

/* Per-account state during one run. */
struct acct_state {
	struct deliver_conn *conn;
	struct err down;     /* kind != ERR_NONE: skip the account this run */
	long long rate_next; /* nonzero: held back by rate_limit until then */
};

struct run {
	const struct config *cfg;
	struct acct_state *acct; /* one per cfg->accounts[] */
	int interactive;	 /* a caller waits for the outcome */
	int progress;		 /* show a progress line on stderr */
	int line_open;		 /* the progress line wants a newline */
	long long started;
	size_t total, done, delivered, deferred, failed;
	const struct runq_select *sel; /* queue runs; NULL: due only */
	size_t last_failed;  /* recipients the last attempt failed for good */
	int may_settle_late; /* the next attempt() may leave it pending */
	struct queue_entry *cur; /* the entry attempt() is sending */
	struct pending { /* delivered to all; recorded in settle_late() */
		struct queue *q;
		struct queue_entry *qe;
		const struct account *a;
		struct err *rcpt;
		struct err e;
	} pend;
};

/* An entry after an attempt: delivered to all, deferred (some recipients
 * still pending), failed (nobody got it), partial (some got it, the rest
 * failed), or not tried; or delivered to all and not recorded yet
 * (r->pend, settle_late()). */
enum outcome {
	OUT_DELIVERED,
	OUT_DEFERRED,
	OUT_FAILED,
	OUT_PARTIAL,
	OUT_SKIPPED,
	OUT_PENDING
};

static long long
now_time(void)
{
	return (long long)time(NULL);
}

/* ---- run state and reporting ---- */

static void
run_init(struct run *r, const struct config *cfg, int interactive, int progress)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->acct = xcalloc(cfg->naccounts + 1, sizeof(*r->acct));
	r->interactive = interactive;
	r->progress = progress;
	r->started = now_time();
}

static void settle_late(struct run *r);
static void settle_sent(void *arg);

static void
run_end(struct run *r)
{
	size_t i;

	settle_late(r);
	for (i = 0; i < r->cfg->naccounts; i++)
		deliver_close(r->acct[i].conn);
	free(r->acct);
	r->acct = NULL;
	if (r->line_open)
		fputc('\n', stderr);
	r->line_open = 0;
}

static struct acct_state *
acct_state(struct run *r, const struct account *a)
{
	size_t i;

	for (i = 0; i < r->cfg->naccounts; i++)
		if (&r->cfg->accounts[i] == a)
			return &r->acct[i];
	for (i = 0; i < r->cfg->naccounts; i++)
		if (strcmp(r->cfg->accounts[i].name, a->name) == 0)
			return &r->acct[i];
	return &r->acct[r->cfg->naccounts]; /* not expected; harmless */
}

static void run_error(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_error(), ending the progress line first. */
static void
run_error(struct run *r, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r->line_open)
		fputc('\n', stderr);
	r->line_open = 0;
	log_error("%s", text);
}

static void
progress_show(struct run *r)
{
	if (!r->progress)
		return;
	fprintf(stderr,
	    "\rpostseal: queue: %zu of %zu: %zu delivered, %zu deferred, "
	    "%zu failed ",
	    r->done, r->total, r->delivered, r->deferred, r->failed);
	r->line_open = 1;
}

/* "2026-11-23 14:05:00", local time, for messages. */
static void
fmt_clock(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, size, "%lld", t);
}

static void
fmt_age(long long s, char *out, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, size, "%llds", s);
	else if (s < 3600)
		snprintf(out, size, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(out, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, size, "%lldd%02lldh", s / 86400,
		    s % 86400 / 3600);
}

/* ---- state changes in the log (issue 9) ---- */

/*
 * One log line for a state change that involves no delivery attempt
 * (queued, dropped, deferred without trying, delay warning sent); the
 * attempts themselves are logged by deliver.c.  a NULL: syslog (mail).
 */
static void
log_state(const struct account *a, const struct queue_envelope *env,
    const char *outcome, const char *text)
{
	struct log_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.queue_id = env->id;
	rec.account = env->account;
	rec.from = env->from;
	rec.rcpts = env->rcpts;
	rec.nrcpts = env->nrcpts;
	rec.size = env->size;
	rec.msgid = env->msgid;
	rec.smtp_code = env->last_code;
	rec.smtp_text = text;
	rec.outcome = outcome;
	if (a != NULL)
		log_delivery(a->logfile, a->syslog, &rec);
	else
		log_delivery(NULL, "LOG_MAIL", &rec);
}

/* ---- classifying a failed attempt ---- */

/* The server refused the message itself: fail it and tell the sender. */
static int
remote_rejection(const struct err *e)
{
	return e->kind == ERR_PERM || e->kind == ERR_NOUSER ||
	       e->kind == ERR_DATA;
}

/* Give up now?  Bad credentials or configuration end a submission someone
 * waits for (they see the error); in the background they are retried until
 * the admin fixes them or the entry expires. */
static int
final_failure(const struct err *e, int interactive)
{
	return remote_rejection(e) ||
	       (interactive && (e->kind == ERR_AUTH || e->kind == ERR_CONFIG));
}

/* A failure that the account's other messages would meet too: no
 * session could be opened (or authentication, configuration), or the
 * server said 421.  A failure inside one message's transaction (a
 * refusal, a malformed reply, a timeout on its data) concerns that
 * message only; the next one gets a fresh connection. */
static int
account_wide(const struct err *e, int at_open)
{
	return e->kind == ERR_AUTH || e->kind == ERR_CONFIG ||
	       (err_is_temporary(e) && (at_open || e->smtp_code == 421));
}

static void
smtp_env(const struct queue_envelope *env, struct smtp_envelope *se)
{
	memset(se, 0, sizeof(*se));
	se->from = env->from;
	se->rcpts = env->rcpts;
	se->nrcpts = env->nrcpts;
	se->dsn_notify = env->dsn_notify;
	se->dsn_return = env->dsn_return;
	se->dsn_envid = env->dsn_envid;
	se->body_8bit = env->body_8bit;
	se->smtputf8 = env->smtputf8;
	se->size = env->size;
}

/* ---- failure notices (RFC 3464 multipart/report) ---- */

/* The recipients a notice is about, each with its own reason. */
struct failed_list {
	const char *const *rcpts;
	const char *const *why; /* per recipient, or NULL */
	size_t n;
};

struct notice {
	const struct account *a;
	const struct queue_envelope *orig;
	const struct failed_list *fl;
	int fixed_status; /* status given by the caller (e.g. expiry) */
	const struct err *why;
	char status[16];
	const char *from;
	char host[256];
	char boundary[64];
	char msgid[512];
	char date[64];
	const char *action; /* RFC 3464 Action: "failed" or "delayed" */
};

static int
write_buf(void *arg, int fd, struct err *e)
{
	const struct buf *b = arg;
	const char *p = b->data;
	size_t n = b->len;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return err_set(e,
			    errno == ENOSPC || errno == EDQUOT ? ERR_TEMP
							       : ERR_IO,
			    "write: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* RFC 5322 date in local time, English names whatever the locale. */
static void
fmt_date(long long t, char *out, size_t size)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	if (localtime_r(&tt, &tm) == NULL) {
		str_copy(out, "Thu, 1 Jan 1970 00:00:00 +0000", size);
		return;
	}
	off = tm.tm_gmtoff / 60;
	snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* The server's reply in an error text ("host: MAIL FROM refused: 550
 * ..."): from its code on, or the whole text. */
static const char *
server_reply(const struct err *e)
{
	char code[8];
	const char *p = e->text;

	snprintf(code, sizeof(code), "%d", e->smtp_code);
	while ((p = strstr(p, code)) != NULL) {
		if ((p == e->text || p[-1] == ' ') &&
		    (p[3] == ' ' || p[3] == '-' || p[3] == '\0'))
			return p;
		p++;
	}
	return e->text;
}

/* Length of an RFC 3463 status "c.sss.ddd" at p, or 0. */
static size_t
status_len(const char *p)
{
	size_t i = 2, n;

	if ((p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	for (n = 0; p[i] >= '0' && p[i] <= '9' && n < 4; i++)
		n++;
	if (n == 0 || n > 3 || p[i] != '.')
		return 0;
	for (i++, n = 0; p[i] >= '0' && p[i] <= '9' && n < 4; i++)
		n++;
	if (n == 0 || n > 3 || (p[i] != ' ' && p[i] != '\0'))
		return 0;
	return i;
}

/* The enhanced status in the server's text, else one from its code. */
static void
find_status(const char *text, int code, char *out, size_t size)
{
	const char *p;
	size_t n;

	for (p = text; *p != '\0'; p++)
		if ((p == text || p[-1] == ' ') && (n = status_len(p)) > 0 &&
		    n < size) {
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
	str_copy(out, code >= 400 && code < 500 ? "4.0.0" : "5.0.0", size);
}

static int
has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

static void
notice_init(struct notice *n, const struct account *a,
    const struct queue_entry *failed, const struct err *why, const char *status,
    const struct failed_list *fl)
{
	const char *at, *domain;

	memset(n, 0, sizeof(*n));
	n->a = a;
	n->orig = queue_entry_env(failed);
	n->fl = fl;
	n->why = why;
	n->fixed_status = status != NULL;
	if (status != NULL)
		str_copy(n->status, status, sizeof(n->status));
	else
		find_status(why->text, why->smtp_code, n->status,
		    sizeof(n->status));
	n->from = config_envelope_from(a);
	if (n->from == NULL || *n->from == '\0')
		n->from = n->orig->from;
	if (a->domain != NULL)
		str_copy(n->host, a->domain, sizeof(n->host));
	else if (gethostname(n->host, sizeof(n->host) - 1) == -1)
		str_copy(n->host, "localhost", sizeof(n->host));
	snprintf(n->boundary, sizeof(n->boundary), "=_postseal_%s",
	    queue_entry_id(failed));
	at = strrchr(n->from, '@');
	domain =
	    at != NULL && strpbrk(at + 1, "<> \"") == NULL ? at + 1 : n->host;
	snprintf(n->msgid, sizeof(n->msgid), "<%s.notice@%s>",
	    queue_entry_id(failed), domain);
	fmt_date(now_time(), n->date, sizeof(n->date));
	n->action = "failed";
}

static int
notice_delayed(const struct notice *n)
{
	return strcmp(n->action, "delayed") == 0;
}

/* The first sentence of the notice's text. */
static const char *
notice_opening(const struct notice *n)
{
	if (notice_delayed(n))
		return "Your message has not been delivered yet and is still "
		       "being retried;\r\nno action is needed on your part.";
	return n->fl->n == 1 ? "Your message could not be delivered to the "
			       "recipient below."
			     : "Your message could not be delivered to the "
			       "recipients below.";
}

static const char *
notice_subject(const struct notice *n)
{
	return notice_delayed(n) ? "Delayed Mail (still being retried)"
				 : "Undelivered Mail Returned to Sender";
}

static int
notice_head(struct buf *b, const struct notice *n)
{
	return buf_printf(b,
	    "From: Mail Delivery System <%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: %s\r\n"
	    "Message-ID: %s\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n"
	    "\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n",
	    n->from, n->orig->from, notice_subject(n), n->date, n->msgid,
	    n->boundary);
}

static int
notice_text(struct buf *b, const struct notice *n)
{
	const struct queue_envelope *o = n->orig;
	char queued[64];
	size_t i;
	int r;

	const struct failed_list *fl = n->fl;

	fmt_date(o->created, queued, sizeof(queued));
	r = buf_printf(b,
	    "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Description: Notification\r\n\r\n"
	    "%s\r\n"
	    "It is kept in the queue of postseal on %s (account %s) as\r\n"
	    "%s.\r\n\r\n"
	    "  Reason:     %s\r\n  Queued:     %s\r\n  Attempts:   %u\r\n",
	    n->boundary, notice_opening(n), n->host, n->a->name, o->id,
	    n->why->text, queued, o->attempts);
	for (i = 0; r == 0 && i < fl->n && i < NOTICE_RCPTS; i++)
		r = buf_printf(b, "  %s %s%s%s\r\n",
		    i ? "           " : "Recipient:", fl->rcpts[i],
		    fl->why != NULL && fl->why[i] != NULL ? ": " : "",
		    fl->why != NULL && fl->why[i] != NULL ? fl->why[i] : "");
	if (r == 0 && fl->n > NOTICE_RCPTS)
		r = buf_printf(b, "             (and %zu more)\r\n",
		    fl->n - NOTICE_RCPTS);
	if (r == 0 && o->nsent > 0)
		r = buf_printf(b,
		    "\r\nIt was delivered to %zu other recipient%s.\r\n",
		    o->nsent, o->nsent == 1 ? "" : "s");
	if (r == 0)
		r = buf_addstr(b, "\r\nThe headers of your message follow.\r\n"
				  "\r\n");
	return r;
}

/* The SMTP code a reason starts with ("550 5.1.1 ..."), or 0. */
static int
why_code(const char *why)
{
	if (why == NULL || why[0] < '2' || why[0] > '5' || why[1] < '0' ||
	    why[1] > '9' || why[2] < '0' || why[2] > '9' ||
	    (why[3] != ' ' && why[3] != '\0'))
		return 0;
	return (why[0] - '0') * 100 + (why[1] - '0') * 10 + (why[2] - '0');
}

/* One per-recipient block of the report: its own status and diagnostic. */
static int
notice_rcpt(struct buf *b, const struct notice *n, const char *rcpt,
    const char *why)
{
	const char *diag = NULL;
	char status[16];
	int code = why_code(why);

	str_copy(status, n->status, sizeof(status));
	if (code != 0) {
		diag = why;
		if (!n->fixed_status)
			find_status(why, code, status, sizeof(status));
	} else if (why == NULL && n->why->smtp_code != 0) {
		diag = server_reply(n->why);
	}
	/* RFC 6533: utf-8 address type for non-ASCII addresses. */
	if (buf_printf(b,
		"\r\nFinal-Recipient: %s; %s\r\nAction: %s\r\n"
		"Status: %s\r\n",
		has_8bit(rcpt, strlen(rcpt)) ? "utf-8" : "rfc822", rcpt,
		n->action, status) == -1)
		return -1;
	if (diag != NULL)
		return buf_printf(b, "Diagnostic-Code: smtp; %s\r\n", diag);
	return 0;
}

/* The report lists the failed recipients only, each with its reason. */
static int
notice_dsn(struct buf *b, const struct notice *n)
{
	const struct queue_envelope *o = n->orig;
	const struct failed_list *fl = n->fl;
	char arrival[64];
	size_t i;
	int r;

	fmt_date(o->created, arrival, sizeof(arrival));
	r = buf_printf(b,
	    "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n",
	    n->boundary, n->host, arrival);
	for (i = 0; r == 0 && i < fl->n && i < NOTICE_RCPTS; i++)
		r = notice_rcpt(b, n, fl->rcpts[i],
		    fl->why != NULL ? fl->why[i] : NULL);
	if (r == 0)
		r = buf_addstr(b, "\r\n");
	return r;
}

/* The original header block (up to NOTICE_HEADERS_MAX, whole lines). */
static int
notice_orig(struct buf *b, const struct notice *n, int fd)
{
	char *h = xcalloc(NOTICE_HEADERS_MAX + 1, 1);
	ssize_t got = pread(fd, h, NOTICE_HEADERS_MAX, 0);
	char *end;
	int r;

	if (got < 0)
		got = 0;
	h[got] = '\0';
	if ((end = strstr(h, "\r\n\r\n")) != NULL) {
		end[2] = '\0';
	} else {
		for (end = h + got; end > h && end[-1] != '\n'; end--)
			;
		*end = '\0';
	}
	r = buf_printf(b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n",
	    n->boundary);
	if (r == 0)
		r = buf_add(b, h, strlen(h));
	if (r == 0)
		r = buf_printf(b, "\r\n--%s--\r\n", n->boundary);
	free(h);
	return r;
}

static enum outcome attempt(struct run *r, struct queue *q,
    struct queue_entry *qe, const struct account *a, struct err *e);

/*
 * Build the report n (the headers of the message it is about read from
 * fd) and queue it from the null sender to the original sender through
 * account a.  Returns the new entry, locked, or NULL (the reason logged,
 * naming the report as what) when it is too large or cannot be stored.
 */
static struct queue_entry *
notice_queue(struct run *r, struct queue *q, const struct account *a,
    const struct notice *n, int fd, const char *what)
{
	const struct queue_envelope *orig = n->orig;
	struct queue_envelope tmpl;
	struct queue_entry *qe = NULL;
	const char *rcpt[1];
	struct buf b;
	struct err e;

	buf_init(&b, NOTICE_MAX);
	if (notice_head(&b, n) == -1 || notice_text(&b, n) == -1 ||
	    notice_dsn(&b, n) == -1 || notice_orig(&b, n, fd) == -1) {
		run_error(r, "%s: %s too large", orig->id, what);
		goto out;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	rcpt[0] = orig->from;
	tmpl.account = a->name;
	tmpl.from = "";
	tmpl.rcpts = rcpt;
	tmpl.nrcpts = 1;
	tmpl.msgid = n->msgid;
	tmpl.smtputf8 = has_8bit(orig->from, strlen(orig->from));
	tmpl.body_8bit = has_8bit(b.data, b.len);
	if (queue_store(q, &tmpl, write_buf, &b, &qe, &e) == -1) {
		run_error(r, "%s: cannot queue a %s: %s", orig->id, what,
		    e.text);
		qe = NULL;
	}
out:
	buf_reset(&b);
	return qe;
}

/*
 * Queue a notice about the recipients fl of the failed entry to its sender
 * and try to send it now through the same account.  Never for the null
 * sender.
 */
static void
send_notice(struct run *r, struct queue *q, const struct queue_entry *failed,
    const struct account *a, const struct err *why, const char *status,
    const struct failed_list *fl)
{
	const struct queue_envelope *orig = queue_entry_env(failed);
	struct queue_entry *qe;
	struct notice n;
	struct err e;

	if (orig == NULL || orig->from[0] == '\0' || !a->bounce_notices ||
	    fl->n == 0)
		return;
	notice_init(&n, a, failed, why, status, fl);
	qe =
	    notice_queue(r, q, a, &n, queue_entry_fd(failed), "failure notice");
	if (qe == NULL)
		return;
	log_debug("%s: failure notice to %s queued as %s", orig->id, orig->from,
	    queue_entry_id(qe));
	attempt(r, q, qe, a, &e);
	queue_release(qe);
}

/* ---- delay warnings (issue 9) ---- */

/* The status of a delay: the last error's 4.x.x, else 4.0.0. */
static void
delay_status(const struct err *why, char *out, size_t size)
{
	find_status(why->text, why->smtp_code, out, size);
	if (out[0] != '4')
		str_copy(out, "4.0.0", size);
}

/* "<ID.delayed@domain>": not the failure notice's "<ID.notice@...>". */
static void
delay_msgid(struct notice *n)
{
	char *p = strstr(n->msgid, ".notice@"), rest[sizeof(n->msgid)];

	if (p == NULL)
		return;
	str_copy(rest, p + strlen(".notice"), sizeof(rest));
	snprintf(p, sizeof(n->msgid) - (size_t)(p - n->msgid), ".delayed%s",
	    rest);
}

/*
 * Tell the sender that the entry, deferred again, has waited longer than
 * the account's delay_warning_time: an RFC 3464 report with "Action:
 * delayed" built by the notice code above, queued with the null sender
 * and tried at once through the same account, like a failure notice.
 * Once per message: "warned" is recorded in the entry first, so a crash
 * may lose a warning but never repeat it.
 */
static void
send_delay_warning(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, const struct err *why)
{
	const struct queue_envelope *orig = queue_entry_env(qe);
	struct queue_entry *wq;
	struct failed_list pending;
	char status[16];
	struct notice n;
	struct err e;

	delay_status(why, status, sizeof(status));
	if (queue_set_warned(qe, now_time(), &e) == -1) {
		run_error(r, "%s: %s", queue_entry_id(qe), e.text);
		return;
	}
	pending.rcpts = orig->rcpts;
	pending.why = NULL;
	pending.n = orig->nrcpts;
	notice_init(&n, a, qe, why, status, &pending);
	n.action = "delayed";
	delay_msgid(&n);
	wq = notice_queue(r, q, a, &n, queue_entry_fd(qe), "delay warning");
	if (wq == NULL)
		return;
	log_state(a, orig, "delay-warned", why->text);
	log_set_queue_id(queue_entry_id(wq));
	attempt(r, q, wq, a, &e);
	log_set_queue_id(orig->id);
	queue_release(wq);
}

/* After a deferral: warn the sender once the entry is old enough. */
static void
maybe_warn(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, const struct err *why)
{
	const struct queue_envelope *env = queue_entry_env(qe);

	if (env == NULL || env->from[0] == '\0' || env->held != NULL ||
	    env->warned != 0 || !a->bounce_notices ||
	    a->delay_warning_time == 0 ||
	    now_time() - env->created < (long long)a->delay_warning_time)
		return;
	send_delay_warning(r, q, qe, a, why);
}

/* ---- one attempt ---- */

/* The reason kept for a recipient: the server's reply if there was one
 * ("550 5.1.1 ..."), else the error. */
static const char *
why_text(const struct err *e)
{
	return e->smtp_code != 0 ? server_reply(e) : e->text;
}

/* The recipients that entry qe's last update marked failed: the last
 * nnew of its failed list. */
static void
new_failures(const struct queue_entry *qe, size_t nnew, struct failed_list *fl)
{
	const struct queue_envelope *env = queue_entry_env(qe);
	size_t from = env->nfailed - nnew;

	fl->n = nnew;
	/* No failed list at all when nothing failed (no offset on NULL). */
	fl->rcpts = env->failed != NULL ? env->failed + from : NULL;
	fl->why = env->failed_why != NULL ? env->failed_why + from : NULL;
}

/* An interactive caller hears of each refused recipient when their fates
 * differ (else the one error, or "queued", says it all). */
static void
tell_caller(const struct queue_entry *qe, const enum queue_rcpt_state *st,
    const struct err *rerr, size_t n)
{
	const struct queue_envelope *env = queue_entry_env(qe);
	size_t i, nsent = 0, nfail = 0;

	for (i = 0; i < n; i++) {
		nsent += st[i] == QUEUE_RCPT_SENT;
		nfail += st[i] == QUEUE_RCPT_FAILED;
	}
	if (nsent == n || nfail == n || nsent + nfail == 0)
		return;
	for (i = 0; i < n; i++) {
		if (st[i] == QUEUE_RCPT_FAILED)
			log_warn("recipient <%s> refused, not delivered: %s",
			    env->rcpts[i], why_text(&rerr[i]));
		else if (st[i] == QUEUE_RCPT_PENDING)
			log_warn("recipient <%s>: message queued as %s, will "
				 "retry: %s",
			    env->rcpts[i], queue_entry_id(qe),
			    why_text(&rerr[i]));
	}
}

/* Sort an attempt's per-recipient results into states and reasons;
 * *retry is the first pending recipient's error (for the deferral). */
static void
sort_outcome(const struct run *r, size_t n, const struct err *rerr,
    enum queue_rcpt_state *st, const char **why, const struct err **retry,
    const struct err **failure, size_t *counts)
{
	size_t i;

	*retry = *failure = NULL;
	for (i = 0; i < n; i++) {
		why[i] = NULL;
		if (rerr[i].kind == ERR_NONE) {
			st[i] = QUEUE_RCPT_SENT;
		} else if (final_failure(&rerr[i], r->interactive)) {
			st[i] = QUEUE_RCPT_FAILED;
			why[i] = why_text(&rerr[i]);
			if (*failure == NULL)
				*failure = &rerr[i];
		} else {
			st[i] = QUEUE_RCPT_PENDING;
			why[i] = why_text(&rerr[i]);
			if (*retry == NULL)
				*retry = &rerr[i];
		}
		counts[st[i]]++;
	}
}

/* After the recipients' states are recorded: defer the entry while some
 * are pending, else move it to failed/ if any failed, else remove it. */
static enum outcome
settle(struct run *r, struct queue_entry *qe, const struct account *a,
    const struct err *e, size_t nsent)
{
	/* e: why the entry is deferred or failed (the first pending or
	 * failed recipient's reason, or the attempt's). */
	const struct queue_envelope *env = queue_entry_env(qe);
	struct err er;
	long long next;

	if (env->nrcpts > 0) {
		next = now_time() + queue_backoff(env->attempts + 1,
					a->queue_backoff_min,
					a->queue_backoff_max);
		if (queue_defer(qe, next, 1, e->smtp_code, e->text, &er) == -1)
			run_error(r, "%s: %s", queue_entry_id(qe), er.text);
		return OUT_DEFERRED;
	}
	if (env->nfailed == 0) {
		if (queue_remove(qe, &er) == -1)
			run_error(r,
			    "%s: delivered, but still queued (it may be sent "
			    "again): %s",
			    queue_entry_id(qe), er.text);
		return OUT_DELIVERED;
	}
	if (queue_fail(qe, e->smtp_code, e->text, &er) == -1)
		run_error(r, "%s: %s", queue_entry_id(qe), er.text);
	return nsent > 0 ? OUT_PARTIAL : OUT_FAILED;
}

/*
 * Record an attempt: rerr[i] is what happened to pending recipient i
 * (ERR_NONE: delivered); e is the attempt's error when nobody got the
 * message.  Delivered recipients are never sent again; the permanently
 * refused ones fail (a notice lists them, unless a caller waits: then
 * runq_submit() decides); the others stay queued.
 */
static enum outcome
conclude(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, const struct err *rerr, struct err *e)
{
	size_t n = queue_entry_env(qe)->nrcpts, counts[3] = {0, 0, 0};
	enum queue_rcpt_state *st = xcalloc(n + 1, sizeof(*st));
	const char **why = xcalloc(n + 1, sizeof(*why));
	const struct err *retry, *failure;
	struct failed_list fl;
	struct err er;
	enum outcome o = OUT_DEFERRED;

	sort_outcome(r, n, rerr, st, why, &retry, &failure, counts);
	/* Delivered to some: e says what became of the others. */
	if (e->kind == ERR_NONE && retry != NULL)
		*e = *retry;
	else if (e->kind == ERR_NONE && failure != NULL)
		*e = *failure;
	if (r->interactive)
		tell_caller(qe, st, rerr, n);
	if (n > 0 && queue_set_rcpts(qe, st, why, &er) == -1) {
		run_error(r, "%s: %s%s", queue_entry_id(qe),
		    counts[QUEUE_RCPT_SENT] > 0
			? "delivered, but not recorded (it may be sent "
			  "again): "
			: "",
		    er.text);
		goto out;
	}
	o = settle(r, qe, a, e, counts[QUEUE_RCPT_SENT]);
	new_failures(qe, counts[QUEUE_RCPT_FAILED], &fl);
	if (!r->interactive)
		send_notice(r, q, qe, a, failure != NULL ? failure : e, NULL,
		    &fl);
	/* After the notice's own attempt, which sets it too. */
	r->last_failed = counts[QUEUE_RCPT_FAILED];
out:
	free(st);
	free(why);
	return o;
}

/* Every pending recipient of the entry meets the same error e. */
static enum outcome
conclude_all(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, struct err *e)
{
	size_t i, n = queue_entry_env(qe)->nrcpts;
	struct err *rerr = xcalloc(n + 1, sizeof(*rerr));
	enum outcome o;

	for (i = 0; i < n; i++)
		rerr[i] = *e;
	o = conclude(r, q, qe, a, rerr, e);
	free(rerr);
	return o;
}

/* Take a rate-limit slot, or postpone the entry (not counted as an
 * attempt) and say why in e. */
static int
rate_allows(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, struct err *e)
{
	struct acct_state *st = acct_state(r, a);
	long long next, now = now_time();
	char when[64];
	struct err er;
	int ok;

	if (a->rate_limit_count == 0)
		return 1;
	if (st->rate_next == 0 || st->rate_next <= now) {
		ok = queue_rate_take(q, a->name, a->rate_limit_count,
		    a->rate_limit_period, now, &next, &er);
		if (ok == 1)
			return 1;
		if (ok == -1) { /* the log is unusable: hold back a minute */
			run_error(r, "%s", er.text);
			next = now + 60;
		}
		st->rate_next = next;
	}
	fmt_clock(st->rate_next, when, sizeof(when));
	err_set(e, ERR_TEMP,
	    "rate limit of account %s (%u per %u s) reached; sending after %s",
	    a->name, a->rate_limit_count, a->rate_limit_period, when);
	if (queue_defer(qe, st->rate_next, 0, 0, NULL, &er) == -1)
		run_error(r, "%s: %s", queue_entry_id(qe), er.text);
	return 0;
}

static enum outcome
attempt(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, struct err *e)
{
	struct acct_state *st = acct_state(r, a);
	const struct queue_envelope *env = queue_entry_env(qe);
	struct deliver_result res;
	struct smtp_envelope se;
	enum outcome o;
	int rc, late = r->may_settle_late;

	r->may_settle_late = 0; /* not for a notice sent on the way */
	/* The entry left pending settles while this one's replies are on
	 * their way, over the same connection; else now. */
	if (r->pend.qe != NULL &&
	    (r->pend.a != a || st->conn == NULL || env->nrcpts == 0 ||
		st->down.kind != ERR_NONE))
		settle_late(r);
	log_set_queue_id(queue_entry_id(qe));
	r->last_failed = 0;
	err_set(e, ERR_NONE, "no recipient left");
	if (env->nrcpts == 0) /* all done before a crash: tidy up */
		return conclude(r, q, qe, a, NULL, e);
	if (st->down.kind != ERR_NONE) {
		*e = st->down;
		return conclude_all(r, q, qe, a, e);
	}
	if (!rate_allows(r, q, qe, a, e)) {
		settle_late(r);
		return OUT_DEFERRED;
	}
	smtp_env(env, &se);
	se.sent = settle_sent;
	se.sent_arg = r;
	r->cur = qe;
	res.rcpt = xcalloc(env->nrcpts + 1, sizeof(*res.rcpt));
	rc =
	    deliver(a, &st->conn, &se, queue_entry_fd(qe), env->msgid, &res, e);
	r->cur = NULL;
	if (r->pend.qe != NULL) { /* this message never got out */
		settle_late(r);
		log_set_queue_id(queue_entry_id(qe));
	}
	if (rc == -1 && !r->interactive && account_wide(e, res.at_open))
		st->down = *e;
	if (rc == 0)
		err_set(e, ERR_NONE, "delivered");
	/*
	 * Delivered to every recipient: recorded (queue_set_rcpts(), its
	 * sync) once the next message on this connection is written, so that
	 * the sync and the server's work on that one overlap (settle_sent());
	 * a crash before the sync returns resends it, as before.  Not with a
	 * notice to send (a failure, a DSN), nor for a waiting caller.
	 */
	if (late && rc == 0 && res.delivered == env->nrcpts &&
	    env->dsn_notify == NULL && !r->interactive) {
		r->pend.q = q;
		r->pend.qe = qe;
		r->pend.a = a;
		r->pend.rcpt = res.rcpt;
		r->pend.e = *e;
		return OUT_PENDING;
	}
	o = conclude(r, q, qe, a, res.rcpt, e);
	free(res.rcpt);
	return o;
}

/* Too old: fail its pending recipients, log it and tell the sender (RFC
 * 3463 4.4.7), each recipient with its last reason. */
static enum outcome
expire(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, struct err *e)
{
	const struct queue_envelope *env = queue_entry_env(qe);
	enum queue_rcpt_state *st = xcalloc(env->nrcpts + 1, sizeof(*st));
	const char **why = xcalloc(env->nrcpts + 1, sizeof(*why));
	size_t i, n = env->nrcpts;
	struct log_record rec;
	struct failed_list fl;
	struct err er;
	char age[32];
	int ok;

	fmt_age(r->started - env->created, age, sizeof(age));
	err_set(e, ERR_PERM, "expired: not delivered in %s (%u attempts)%s%s",
	    age, env->attempts, env->last_error != NULL ? "; last error: " : "",
	    env->last_error != NULL ? env->last_error : "");
	e->smtp_code = env->last_code;
	for (i = 0; i < n; i++) {
		st[i] = QUEUE_RCPT_FAILED;
		why[i] = env->rcpt_why != NULL && env->rcpt_why[i] != NULL
			     ? env->rcpt_why[i]
			     : env->last_error;
	}
	memset(&rec, 0, sizeof(rec));
	if (a != NULL) {
		rec.queue_id = env->id;
		rec.account = a->name;
		rec.from = env->from;
		rec.rcpts = env->rcpts;
		rec.nrcpts = env->nrcpts;
		rec.size = env->size;
		rec.msgid = env->msgid;
		rec.smtp_text = e->text;
		rec.exitcode = err_exit_code(ERR_PERM);
		rec.outcome = "expired";
		log_delivery(a->logfile, a->syslog, &rec);
	}
	ok = (n == 0 || queue_set_rcpts(qe, st, why, &er) == 0) &&
	     queue_fail(qe, env->last_code, e->text, &er) == 0;
	free(st);
	free(why);
	if (!ok) {
		run_error(r, "%s: %s", queue_entry_id(qe), er.text);
		return OUT_FAILED;
	}
	if (a == NULL)
		return OUT_FAILED;
	new_failures(qe, n, &fl);
	send_notice(r, q, qe, a, e, "4.4.7", &fl);
	return OUT_FAILED;
}

/* ---- queue directories ---- */

/* The system configuration, found by default (config, accounts/ or both),
 * or a file of it that root named with -C. */
static int
system_config(const struct config *cfg)
{
	size_t n = strlen(SYSCONFDIR_POSTSEAL);

	return cfg->system ||
	       (cfg->main_file != NULL &&
		   strncmp(cfg->main_file, SYSCONFDIR_POSTSEAL, n) == 0 &&
		   cfg->main_file[n] == '/');
}

int
runq_is_system(const struct config *cfg)
{
	return system_config(cfg);
}

int
runq_queue_dir(const struct config *cfg, const struct account *a, char *out,
    size_t size, struct err *e)
{
	const char *xdg = secure_getenv("XDG_STATE_HOME");
	struct passwd *pw;
	int n;

	if (a != NULL && a->queue_dir != NULL)
		n = snprintf(out, size, "%s", a->queue_dir);
	else if (privsep_is_sender() && system_config(cfg))
		n = snprintf(out, size, "%s", POSTSEAL_SYSTEM_QUEUE);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, size, "%s/postseal/queue", xdg);
	else if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
		 pw->pw_dir[0] == '/')
		n = snprintf(out, size, "%s/.local/state/postseal/queue",
		    pw->pw_dir);
	else
		return err_set(e, ERR_CONFIG,
		    "no home directory for uid %lu: set queue_dir",
		    (unsigned long)getuid());
	if (n < 0 || (size_t)n >= size)
		return err_set(e, ERR_CONFIG, "queue directory name too long");
	return 0;
}

/* Every queue there is: the default one and each account's. */
struct qset {
	struct queue **q;
	size_t n;
	int error;	  /* an existing queue could not be opened */
	struct err first; /* its error */
};

static void
qset_add(struct qset *s, const char *dir)
{
	struct queue *q;
	struct err e;
	size_t i;

	if (queue_open(dir, 0, &q, &e) == -1) {
		if (e.kind == ERR_NOINPUT)
			return; /* nothing was ever queued there */
		log_error("%s", e.text);
		if (!s->error)
			s->first = e;
		s->error = 1;
		return;
	}
	for (i = 0; i < s->n; i++)
		if (queue_same(s->q[i], q)) {
			queue_close(q);
			return;
		}
	s->q = xreallocarray(s->q, s->n + 1, sizeof(*s->q));
	s->q[s->n++] = q;
}

static void
qset_open(const struct config *cfg, struct qset *s)
{
	char dir[PATH_MAX];
	struct err e;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (runq_queue_dir(cfg, NULL, dir, sizeof(dir), &e) == 0)
		qset_add(s, dir);
	else
		log_debug("default queue: %s", e.text);
	for (i = 0; i < cfg->naccounts; i++)
		if (cfg->accounts[i].queue_dir != NULL &&
		    runq_queue_dir(cfg, &cfg->accounts[i], dir, sizeof(dir),
			&e) == 0)
			qset_add(s, dir);
}

static void
qset_close(struct qset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		queue_close(s->q[i]);
	free(s->q);
	s->q = NULL;
	s->n = 0;
}

/* ---- queue runs ---- */

static const struct account *
entry_account(const struct run *r, const struct queue_envelope *env,
    struct err *e)
{
	return config_find(r->cfg, env->account, NULL, e);
}

static int
entry_expired(const struct run *r, const struct queue_envelope *env,
    const struct account *a)
{
	return queue_expired(env, r->started,
	    a != NULL ? a->queue_max_age : DEFAULT_MAX_AGE);
}

/* Does hay contain needle (ASCII case-insensitively with icase)? */
static int
contains(const char *hay, const char *needle, int icase)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (icase ? ascii_ncasecmp(hay, needle, n) == 0
			  : strncmp(hay, needle, n) == 0)
			return 1;
	return n == 0;
}

/* -qR, -qS, -qI: does the entry match every restriction given? */
static int
entry_matches(const struct runq_select *sel, const struct queue_envelope *env)
{
	size_t i;

	if (sel == NULL)
		return 1;
	if (sel->id != NULL && !contains(env->id, sel->id, 0))
		return 0;
	if (sel->sender != NULL && !contains(env->from, sel->sender, 1))
		return 0;
	if (sel->rcpt == NULL)
		return 1;
	for (i = 0; i < env->nrcpts; i++)
		if (contains(env->rcpts[i], sel->rcpt, 1))
			return 1;
	return 0;
}

static int
due_only(const struct run *r)
{
	return r->sel == NULL || r->sel->due_only;
}

/* Selected and due (or expired, or unreadable: then it goes to failed/)?
 * Without due_only every selected entry is due.  Read without locking;
 * the decision is made again under the lock. */
static int
entry_due(struct run *r, struct queue *q, const char *id)
{
	struct queue_envelope env;
	struct err e;
	int due, rc = queue_peek(q, QUEUE_ACTIVE, id, &env, &e);

	if (rc == QUEUE_GONE)
		return 0;
	if (rc == -1) /* corrupt: only a run over everything moves it */
		return e.kind == ERR_DATA &&
		       (r->sel == NULL ||
			   (r->sel->rcpt == NULL && r->sel->sender == NULL &&
			       r->sel->id == NULL));
	due = env.held == NULL && entry_matches(r->sel, &env) &&
	      (!due_only(r) || env.next_try <= r->started ||
		  entry_expired(r, &env, entry_account(r, &env, &e)));
	queue_env_free(&env);
	return due;
}

/* An entry whose account is gone from the configuration. */
static enum outcome
defer_orphan(struct run *r, struct queue_entry *qe, struct err *e)
{
	const struct queue_envelope *env = queue_entry_env(qe);
	struct err er;
	long long next =
	    now_time() + queue_backoff(env->attempts + 1, 60, 3600);

	if (queue_defer(qe, next, 1, 0, e->text, &er) == -1)
		run_error(r, "%s: %s", queue_entry_id(qe), er.text);
	return OUT_DEFERRED;
}

static void
report(struct run *r, const char *id, enum outcome o, const struct err *e)
{
	switch (o) {
	case OUT_DELIVERED:
		r->delivered++;
		log_debug("%s: delivered", id);
		break;
	case OUT_DEFERRED:
		r->deferred++;
		/* Issue 9: a deferral only the admin can end is never quiet. */
		if (log_needs_admin(e->text))
			run_error(r,
			    "%s: deferred, needs a configuration "
			    "change: %s",
			    id, e->text);
		else
			log_debug("%s: deferred: %s", id, e->text);
		break;
	case OUT_FAILED:
		r->failed++;
		run_error(r, "%s: failed, kept in failed/: %s", id, e->text);
		break;
	case OUT_PARTIAL:
		r->delivered++;
		run_error(r,
		    "%s: delivered, but not to %zu recipient%s (kept in "
		    "failed/)",
		    id, r->last_failed, r->last_failed == 1 ? "" : "s");
		break;
	default:
		break;
	}
}

/* Record the entry attempt() left pending (r->pend): conclude() as
 * attempt() would have, its report, and its lock released. */
static void
settle_late(struct run *r)
{
	struct pending p = r->pend;
	enum outcome o;

	if (p.qe == NULL)
		return;
	memset(&r->pend, 0, sizeof(r->pend));
	log_set_queue_id(queue_entry_id(p.qe));
	o = conclude(r, p.q, p.qe, p.a, p.rcpt, &p.e);
	free(p.rcpt);
	report(r, queue_entry_id(p.qe), o, &p.e);
	queue_release(p.qe);
	r->done++;
	progress_show(r);
}

/* smtp_envelope's sent: the next message is written. */
static void
settle_sent(void *arg)
{
	struct run *r = arg;

	settle_late(r);
	if (r->cur != NULL)
		log_set_queue_id(queue_entry_id(r->cur));
}

/* attempt(), with a log line when the account was already found down in
 * this run (deliver.c logs only the attempts it makes). */
static enum outcome
attempt_logged(struct run *r, struct queue *q, struct queue_entry *qe,
    const struct account *a, struct err *e)
{
	int down = acct_state(r, a)->down.kind != ERR_NONE;
	enum outcome o = attempt(r, q, qe, a, e);

	if (down && o == OUT_DEFERRED)
		log_state(a, queue_entry_env(qe), "deferred", e->text);
	if (o == OUT_DEFERRED)
		maybe_warn(r, q, qe, a, e);
	return o;
}

static enum outcome
run_locked(struct run *r, struct queue *q, struct queue_entry *qe,
    struct err *e)
{
	const struct queue_envelope *env = queue_entry_env(qe);
	const struct account *a = entry_account(r, env, e);

	if (entry_expired(r, env, a))
		return expire(r, q, qe, a, e);
	if (due_only(r) && env->next_try > r->started) /* another run's */
		return OUT_SKIPPED;
	if (env->held != NULL) /* runq_release_held()'s */
		return OUT_SKIPPED;
	if (a == NULL)
		return defer_orphan(r, qe, e);
	r->may_settle_late = 1; /* attempt() takes it before anything else */
	return attempt_logged(r, q, qe, a, e);
}

static void
run_entry(struct run *r, struct queue *q, const char *id)
{
	struct queue_entry *qe = NULL;
	enum outcome o;
	struct err e, er;
	int rc = queue_lock(q, QUEUE_ACTIVE, id, &qe, &e);

	if (rc == QUEUE_LOCKED) {
		o = run_locked(r, q, qe, &e);
		if (o == OUT_PENDING)
			return; /* settle_late() ends it */
		report(r, id, o, &e);
	} else if (rc == -1 && qe != NULL && e.kind == ERR_DATA) {
		run_error(r, "%s (moved to failed/)", e.text);
		r->failed++;
		if (queue_fail(qe, 0, e.text, &er) == -1)
			run_error(r, "%s", er.text);
	} else if (rc == -1) {
		run_error(r, "%s", e.text);
	}
	queue_release(qe);
	r->done++;
	progress_show(r);
}

/* Remove failed/ entries older than their account's failed_max_age
 * (counted from when they were queued or last retried). */
static void
sweep_failed(struct run *r, struct queue *q)
{
	struct queue_entry *qe;
	struct queue_envelope env;
	const struct account *a;
	char **ids = NULL;
	size_t n = 0, i;
	struct err e;
	int old;

	if (queue_list(q, QUEUE_FAILED, &ids, &n, &e) == -1) {
		run_error(r, "%s", e.text);
		return;
	}
	for (i = 0; i < n; i++) {
		if (queue_peek(q, QUEUE_FAILED, ids[i], &env, &e) != 0)
			continue; /* gone, or unreadable: left for the admin */
		a = entry_account(r, &env, &e);
		old = queue_expired(&env, r->started,
		    a != NULL ? a->failed_max_age : DEFAULT_FAILED_MAX_AGE);
		queue_env_free(&env);
		if (!old || queue_lock(q, QUEUE_FAILED, ids[i], &qe, &e) !=
				QUEUE_LOCKED)
			continue;
		if (queue_remove(qe, &e) == -1)
			run_error(r, "%s", e.text);
		else
			log_debug("%s: removed from failed/ (older than "
				  "failed_max_age)",
			    ids[i]);
		queue_release(qe);
	}
	queue_list_free(ids, n);
}

static void
run_queue(struct run *r, struct queue *q)
{
	char **ids = NULL, **due;
	size_t n = 0, ndue = 0, i;
	struct err e;

	if (queue_cleanup(q, now_time(), &e) == -1)
		run_error(r, "%s", e.text);
	sweep_failed(r, q);
	if (queue_list(q, QUEUE_ACTIVE, &ids, &n, &e) == -1) {
		run_error(r, "%s", e.text);
		return;
	}
	due = xcalloc(n + 1, sizeof(*due));
	for (i = 0; i < n; i++)
		if (entry_due(r, q, ids[i]))
			due[ndue++] = ids[i];
	r->total += ndue;
	for (i = 0; i < ndue; i++)
		run_entry(r, q, due[i]);
	settle_late(r);
	free(due);
	queue_list_free(ids, n);
}

int
runq_run(const struct config *cfg, int progress, struct err *e)
{
	struct runq_select sel = {1, NULL, NULL, NULL};

	/* The old contract: only an unreadable queue is an error. */
	if (runq_run_select(cfg, &sel, progress, e) == -1 &&
	    e->kind != ERR_PERM)
		return -1;
	return 0;
}

int
runq_run_select(const struct config *cfg, const struct runq_select *sel,
    int progress, struct err *e)
{
	struct qset s;
	struct run r;
	size_t i;

	signal(SIGXFSZ, SIG_IGN);
	qset_open(cfg, &s);
	run_init(&r, cfg, 0, progress && isatty(STDERR_FILENO));
	r.sel = sel;
	for (i = 0; i < s.n; i++)
		run_queue(&r, s.q[i]);
	run_end(&r);
	log_debug("queue run: %zu %s, %zu delivered, %zu deferred, "
		  "%zu failed",
	    r.total, due_only(&r) ? "due" : "selected", r.delivered, r.deferred,
	    r.failed);
	qset_close(&s);
	if (s.error) {
		*e = s.first;
		return -1;
	}
	if (r.failed > 0)
		return err_set(e, ERR_PERM,
		    "queue run: %zu message%s failed permanently (kept in "
		    "failed/; see mailq)",
		    r.failed, r.failed == 1 ? "" : "s");
	return 0;
}

/* ---- held entries: spooled without a usable configuration ---- */

int
runq_hold(int system, const struct queue_envelope *env,
    queue_write_fn *write_msg, void *arg, const struct err *why, char *id,
    char *dir, size_t dirsize, struct err *e)
{
	char sysfile[] = SYSCONFDIR_POSTSEAL "/config";
	struct config fake;
	struct queue_entry *qe = NULL;
	struct queue *q = NULL;
	struct err er;
	int r = -1;

	signal(SIGXFSZ, SIG_IGN);
	memset(&fake, 0, sizeof(fake));
	fake.main_file = system ? sysfile : NULL;
	fake.system = system;
	if (runq_queue_dir(&fake, NULL, dir, dirsize, e) == -1 ||
	    queue_open(dir, 1, &q, e) == -1 ||
	    queue_store(q, env, write_msg, arg, &qe, e) == -1)
		goto out;
	r = 0;
	str_copy(id, queue_entry_id(qe), QUEUE_ID_LEN + 1);
	/* The configuration error is its last error (mailq shows it); it
	 * is durable already, so a failure here only loses that text. */
	if (queue_defer(qe, now_time(), 1, 0, why->text, &er) == -1)
		log_warn("%s: %s", id, er.text);
	log_state(NULL, queue_entry_env(qe), "held", why->text);
out:
	queue_release(qe);
	queue_close(q);
	return r;
}

/* Submit one held entry through fn; remove, defer or fail it. */
static void
release_one(struct queue *q, const char *id, runq_release_fn *fn, void *arg)
{
	struct queue_entry *qe = NULL;
	const struct queue_envelope *env;
	struct err e, er;
	int rc = 0;

	if (queue_lock(q, QUEUE_ACTIVE, id, &qe, &e) != QUEUE_LOCKED ||
	    (env = queue_entry_env(qe)) == NULL || env->held == NULL)
		goto out;
	log_set_queue_id(id);
	if (lseek(queue_entry_fd(qe), 0, SEEK_SET) == -1)
		rc = err_set(&e, ERR_IO, "cannot rewind %s", id);
	else
		rc = fn(arg, env, queue_entry_fd(qe), &e);
	if (rc == 0) {
		if (queue_remove(qe, &er) == -1)
			log_error("%s: submitted, but still held (it may be "
				  "sent twice): %s",
			    id, er.text);
		goto out;
	}
	log_error("%s: held message not submitted: %s", id, e.text);
	if (err_is_temporary(&e))
		rc = queue_defer(qe, now_time() + 60, 1, 0, e.text, &er);
	else
		rc = queue_fail(qe, 0, e.text, &er);
	if (rc == -1)
		log_error("%s: %s", id, er.text);
out:
	log_set_queue_id(NULL);
	queue_release(qe);
}

/* The sender's run of the system configuration takes what local users dropped
 * (privsep.c) into the system queue first; they are held entries there. */
static void
pickup_incoming(const struct config *cfg)
{
	struct queue *q = NULL;
	struct err e;
	int n;

	if (!privsep_is_sender() || !system_config(cfg))
		return;
	if (queue_open(POSTSEAL_SYSTEM_QUEUE, 1, &q, &e) == -1) {
		log_error("%s", e.text);
		return;
	}
	n = privsep_pickup(POSTSEAL_INCOMING, q, &e);
	if (n == -1 && e.kind != ERR_NOINPUT)
		log_error("%s", e.text);
	else if (n > 0)
		log_debug("%d message%s taken from %s", n, n == 1 ? "" : "s",
		    POSTSEAL_INCOMING);
	queue_close(q);
}

void
runq_release_held(const struct config *cfg, runq_release_fn *fn, void *arg)
{
	struct queue_envelope env;
	struct qset s;
	struct err e;
	char **ids;
	size_t n, i, k;

	pickup_incoming(cfg);
	qset_open(cfg, &s);
	for (k = 0; k < s.n; k++) {
		if (queue_list(s.q[k], QUEUE_ACTIVE, &ids, &n, &e) == -1) {
			log_error("%s", e.text);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (queue_peek(s.q[k], QUEUE_ACTIVE, ids[i], &env,
				&e) != 0)
				continue;
			if (env.held != NULL)
				release_one(s.q[k], ids[i], fn, arg);
			queue_env_free(&env);
		}
		queue_list_free(ids, n);
	}
	qset_close(&s);
}

/* ---- listing ---- */

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

static void
json_str(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n;

	fputc('"', fp);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fputc('\\', fp);
			fputc(*p++, fp);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(fp, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, fp);
		} else if ((n = utf8_len(p)) == 0) {
			fputs("\\ufffd", fp);
			p++;
		} else {
			fwrite(p, 1, n, fp);
			p += n;
		}
	}
	fputc('"', fp);
}

static char list_mark(const struct queue_envelope *env, enum queue_area area);

static void
list_json(FILE *out, const struct queue_envelope *env, enum queue_area area,
    const char *dir, long long now)
{
	size_t i;

	fputs("{\"id\":", out);
	json_str(out, env->id);
	fprintf(out, ",\"state\":\"%s\",\"queue\":",
	    area == QUEUE_FAILED ? "failed" : "queued");
	json_str(out, dir);
	fputs(",\"account\":", out);
	json_str(out, env->account);
	fprintf(out, ",\"size\":%llu,\"created\":%lld,\"age\":%lld,", env->size,
	    env->created, now - env->created);
	fputs("\"sender\":", out);
	json_str(out, env->from);
	/* recipients: not delivered (pending, or failed); delivered: sent. */
	fputs(",\"recipients\":[", out);
	for (i = 0; i < env->nrcpts + env->nfailed; i++) {
		if (i > 0)
			fputc(',', out);
		json_str(out, i < env->nrcpts ? env->rcpts[i]
					      : env->failed[i - env->nrcpts]);
	}
	fputs("],\"delivered\":[", out);
	for (i = 0; i < env->nsent; i++) {
		if (i > 0)
			fputc(',', out);
		json_str(out, env->sent[i]);
	}
	fprintf(out, "],\"attempts\":%u,\"next_try\":%lld,\"last_code\":%d,",
	    env->attempts, env->next_try, env->last_code);
	fputs("\"last_error\":", out);
	if (env->last_error != NULL)
		json_str(out, env->last_error);
	else
		fputs("null", out);
	fprintf(out, ",\"held\":%s,\"needs_admin\":%s",
	    env->held != NULL ? "true" : "false",
	    list_mark(env, area) == '#' ? "true" : "false");
	fputs(",\"message_id\":", out);
	if (env->msgid != NULL)
		json_str(out, env->msgid);
	else
		fputs("null", out);
	fputs("}\n", out);
}

/* The mark after the ID: '!' failed; '#' needs the admin (held for a
 * configuration error, or a failure whose text names the fix, such as a
 * certificate that fails verification); else ' '. */
static char
list_mark(const struct queue_envelope *env, enum queue_area area)
{
	if (area == QUEUE_FAILED)
		return '!';
	if (env->held != NULL || log_needs_admin(env->last_error))
		return '#';
	return ' ';
}

static void
list_text(FILE *out, const struct queue_envelope *env, enum queue_area area,
    long long now)
{
	char age[32];
	size_t i;

	fmt_age(now - env->created, age, sizeof(age));
	fprintf(out, "%s%c %9llu %7s %5u  <%s> ->", env->id,
	    list_mark(env, area), env->size, age, env->attempts, env->from);
	for (i = 0; i < env->nrcpts + env->nfailed; i++)
		fprintf(out, "%s %s", i ? "," : "",
		    i < env->nrcpts ? env->rcpts[i]
				    : env->failed[i - env->nrcpts]);
	if (env->nsent > 0)
		fprintf(out, " (delivered to %zu more)", env->nsent);
	if (env->last_error != NULL)
		fprintf(out, "  (%s)", env->last_error);
	fputc('\n', out);
}

struct listing {
	FILE *out;
	int json;
	long long now;
	size_t shown, failed;
	unsigned long long bytes;
	unsigned long long uid; /* only the entries of this submitter, or 0 */
};

static void
list_corrupt(struct listing *l, const char *id, enum queue_area area,
    const char *dir, const struct err *e)
{
	if (l->json) {
		fputs("{\"id\":", l->out);
		json_str(l->out, id);
		fprintf(l->out, ",\"state\":\"%s\",\"queue\":",
		    area == QUEUE_FAILED ? "failed" : "queued");
		json_str(l->out, dir);
		fputs(",\"corrupt\":", l->out);
		json_str(l->out, e->text);
		fputs("}\n", l->out);
	} else {
		fprintf(l->out, "%s%c unreadable: %s\n", id,
		    area == QUEUE_FAILED ? '!' : ' ', e->text);
	}
}

static void
list_area(struct listing *l, struct queue *q, enum queue_area area)
{
	struct queue_envelope env;
	struct err e;
	char **ids;
	size_t n, i;
	int rc;

	if (queue_list(q, area, &ids, &n, &e) == -1) {
		log_error("%s", e.text);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((rc = queue_peek(q, area, ids[i], &env, &e)) == QUEUE_GONE)
			continue;
		if (l->uid != 0 && (rc != 0 || env.uid != l->uid)) {
			if (rc == 0)
				queue_env_free(&env);
			continue;
		}
		if (!l->json && l->shown == 0)
			fputs("-Queue ID-            --Size-- ---Age- Tries  "
			      "Sender -> Recipients  (last error)\n",
			    l->out);
		l->shown++;
		l->failed += area == QUEUE_FAILED;
		if (rc == -1) {
			list_corrupt(l, ids[i], area, queue_path(q), &e);
			continue;
		}
		l->bytes += env.size;
		if (l->json)
			list_json(l->out, &env, area, queue_path(q), l->now);
		else
			list_text(l->out, &env, area, l->now);
		queue_env_free(&env);
	}
	queue_list_free(ids, n);
}

int
runq_list(const struct config *cfg, int json, FILE *out, struct err *e)
{
	struct listing l = {out, json, now_time(), 0, 0, 0, 0};
	struct qset s;
	size_t i;

	qset_open(cfg, &s);
	for (i = 0; i < s.n; i++) {
		list_area(&l, s.q[i], QUEUE_ACTIVE);
		list_area(&l, s.q[i], QUEUE_FAILED);
	}
	qset_close(&s);
	if (!json && l.shown == 0 && !s.error)
		fputs("Mail queue is empty\n", out);
	else if (!json && l.shown > 0)
		fprintf(out,
		    "-- %zu entr%s (%zu failed, marked !), %llu bytes\n",
		    l.shown, l.shown == 1 ? "y" : "ies", l.failed, l.bytes);
	if (s.error) {
		*e = s.first;
		return -1;
	}
	return 0;
}

/* ---- each local user's view of the system queue (issue 10) ---- */

/* The submitters (uid != 0) of every entry in q, without repeats. */
static size_t
queue_uids(struct queue *q, unsigned long long **uids)
{
	struct queue_envelope env;
	struct err e;
	char **ids;
	size_t n, i, j, k = 0;
	int a;

	*uids = NULL;
	for (a = QUEUE_ACTIVE; a <= QUEUE_FAILED; a++) {
		if (queue_list(q, (enum queue_area)a, &ids, &n, &e) == -1)
			continue;
		for (i = 0; i < n; i++) {
			if (queue_peek(q, (enum queue_area)a, ids[i], &env,
				&e) != 0)
				continue;
			for (j = 0; j < k && (*uids)[j] != env.uid; j++)
				;
			if (env.uid != 0 && j == k) {
				*uids =
				    xreallocarray(*uids, k + 1, sizeof(**uids));
				(*uids)[k++] = env.uid;
			}
			queue_env_free(&env);
		}
		queue_list_free(ids, n);
	}
	return k;
}

/* STATUS/<uid> (json: STATUS/<uid>.json): that user's entries of q, as
 * mailq (json: -bp --json) lists them. */
static void
status_one(int dfd, gid_t gid, struct queue *q, unsigned long long uid,
    int json)
{
	struct listing l = {NULL, json, now_time(), 0, 0, 0, uid};
	char tmp[48], name[40];
	int fd;

	snprintf(name, sizeof(name), "%llu%s", uid, json ? ".json" : "");
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dfd, tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd == -1 || fchown(fd, (uid_t)-1, gid) == -1 ||
	    fchmod(fd, 0640) == -1 || (l.out = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		unlinkat(dfd, tmp, 0);
		return;
	}
	list_area(&l, q, QUEUE_ACTIVE);
	list_area(&l, q, QUEUE_FAILED);
	if (!json && l.shown > 0)
		fprintf(l.out,
		    "-- %zu entr%s (%zu failed, marked !), %llu bytes\n",
		    l.shown, l.shown == 1 ? "y" : "ies", l.failed, l.bytes);
	if (fclose(l.out) == EOF || renameat(dfd, tmp, dfd, name) == -1)
		unlinkat(dfd, tmp, 0);
}

/* Remove the listings of users with nothing in the queue now. */
static void
status_sweep(int dfd, const unsigned long long *uids, size_t n)
{
	unsigned long long u;
	struct dirent *de;
	struct stat st;
	const char *p;
	size_t i;
	DIR *d;
	int fd = dup(dfd);

	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		p = de->d_name;
		if (parse_uint(&p, ~0ULL, &u) == -1)
			continue;
		/* A listing half written by a run that died: once it is
		 * older than any run could take to write it. */
		if (strcmp(p, ".tmp") == 0 || strcmp(p, ".json.tmp") == 0) {
			if (fstatat(dfd, de->d_name, &st,
				AT_SYMLINK_NOFOLLOW) == 0 &&
			    st.st_mtime + QUEUE_STALE_TMP < time(NULL))
				unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (*p != '\0' && strcmp(p, ".json") != 0)
			continue;
		for (i = 0; i < n && uids[i] != u; i++)
			;
		if (i == n)
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

void
runq_write_status(const struct config *cfg)
{
	unsigned long long *uids = NULL;
	struct queue *q = NULL;
	struct stat st;
	struct err e;
	size_t n, i;
	int dfd = -1;

	if (!privsep_is_sender() || !system_config(cfg) ||
	    queue_open(POSTSEAL_SYSTEM_QUEUE, 0, &q, &e) == -1)
		return;
	/* The queue directory's group is the drop step's (make
	 * install-system): only it may read the listings. */
	if (stat(POSTSEAL_SYSTEM_QUEUE, &st) == -1 || st.st_gid == 0)
		goto out;
	/* (our umask is 077, so the mode is set after mkdir.) */
	if (mkdir(POSTSEAL_STATUS, 0700) == 0 &&
	    (chown(POSTSEAL_STATUS, (uid_t)-1, st.st_gid) == -1 ||
		chmod(POSTSEAL_STATUS, 0750) == -1))
		log_warn("%s: %s", POSTSEAL_STATUS, strerror(errno));
	if ((dfd = open(POSTSEAL_STATUS,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		goto out;
	n = queue_uids(q, &uids);
	for (i = 0; i < n; i++) {
		status_one(dfd, st.st_gid, q, uids[i], 0);
		status_one(dfd, st.st_gid, q, uids[i], 1);
	}
	status_sweep(dfd, uids, n);
out:
	if (dfd != -1)
		close(dfd);
	free(uids);
	queue_close(q);
}

/* ---- drop and retry ---- */

/* Find and lock entry id in any queue and area: 0, 1 for a corrupt
 * entry (*out set, e filled), -1 with e filled. */
static int
find_entry(struct qset *s, const char *id, struct queue_entry **out,
    struct err *e)
{
	int busy = 0, rc, area;
	size_t i;

	*out = NULL;
	if (!queue_id_valid(id))
		return err_set(e, ERR_USAGE, "not a queue ID: %s", id);
	for (i = 0; i < s->n; i++)
		for (area = QUEUE_ACTIVE; area <= QUEUE_FAILED; area++) {
			rc = queue_lock(s->q[i], (enum queue_area)area, id, out,
			    e);
			if (rc == QUEUE_LOCKED)
				return 0;
			if (rc == -1)
				return *out != NULL ? 1 : -1;
			busy |= rc == QUEUE_BUSY;
		}
	if (busy)
		return err_set(e, ERR_TEMP,
		    "queue entry %s is being sent right now; try again", id);
	if (s->error) {
		*e = s->first;
		return -1;
	}
	return err_set(e, ERR_NOINPUT, "no queue entry %s", id);
}

static void
log_dropped(const struct config *cfg, const struct queue_entry *qe)
{
	const struct queue_envelope *env = queue_entry_env(qe);
	struct err e;

	if (env != NULL)
		log_state(config_find(cfg, env->account, NULL, &e), env,
		    "dropped", "dropped by --queue-drop");
}

int
runq_drop(const struct config *cfg, const char *id, struct err *e)
{
	struct queue_entry *qe = NULL;
	struct qset s;
	int r;

	qset_open(cfg, &s);
	r = find_entry(&s, id, &qe, e);
	if (r >= 0)
		r = queue_remove(qe, e);
	if (r == 0)
		log_dropped(cfg, qe);
	queue_release(qe);
	qset_close(&s);
	return r;
}

int
runq_retry(const struct config *cfg, const char *id, struct err *e)
{
	struct queue_entry *qe = NULL;
	struct qset s;
	int r;

	qset_open(cfg, &s);
	r = find_entry(&s, id, &qe, e);
	if (r == 1)
		r = -1; /* corrupt: e says why */
	else if (r == 0)
		r = queue_requeue(qe, now_time(), e);
	queue_release(qe);
	qset_close(&s);
	return r;
}

/* ---- submission ---- */

/*
 * -odb: fork.  The parent returns 1 at once (the entry is queued; its
 * lock is shared with the child, which keeps it).  The child leaves the
 * session and the caller's pipes (a caller such as PHP waits for EOF on
 * them) and returns 0.  If fork fails the message simply stays queued.
 */
static int
detach(const struct queue_entry *qe)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warn("message queued as %s; cannot start a background "
			 "delivery: %s",
		    queue_entry_id(qe), strerror(errno));
		return 1;
	}
	if (pid > 0)
		return 1;
	setsid();
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/* The new entries of one submission (one per QUEUE_MAX_RCPTS
 * recipients). */
struct batch {
	struct queue_entry **qe;
	size_t n;
	enum outcome *o;
	struct err *e;
};

static void
batch_release(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		queue_release(b->qe[i]);
	free(b->qe);
	free(b->o);
	free(b->e);
}

/* The caller got a non-zero exit and keeps the mail: keep nothing. */
static void
batch_drop(struct batch *b)
{
	struct err er;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (queue_remove(b->qe[i], &er) == -1)
			log_error("%s", er.text);
}

/*
 * The first attempt of new entries with a caller waiting.  Exit 0 (return
 * 0) once every recipient is delivered or queued, or some were and the
 * others were refused: the caller was told which on stderr, and the
 * sender gets a notice for them (the exit status did not say it).  When
 * nobody got the message the caller gets the error (return -1), keeps the
 * mail, and no copy is kept here.
 */
static int
batch_interactive(struct run *r, struct queue *q, struct batch *b,
    const struct account *a, struct err *e)
{
	struct failed_list fl;
	size_t i, nfailed = 0;

	for (i = 0; i < b->n; i++) {
		b->o[i] = attempt(r, q, b->qe[i], a, &b->e[i]);
		nfailed += b->o[i] == OUT_FAILED;
		if (b->o[i] == OUT_DEFERRED && r->last_failed == 0)
			log_warn("message queued as %s, will retry: %s",
			    queue_entry_id(b->qe[i]), b->e[i].text);
	}
	if (nfailed == b->n) {
		/* Kept only for a login the user has to redo (issue 11). */
		if (!oauth2_needs_login(&b->e[0]))
			batch_drop(b);
		else
			log_warn("message kept as %s; after postseal "
				 "--oauth2-login, send it with postseal "
				 "--queue-retry %s",
			    queue_entry_id(b->qe[0]), queue_entry_id(b->qe[0]));
		*e = b->e[0];
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		if (b->o[i] == OUT_FAILED)
			log_warn("%s: not delivered: %s",
			    queue_entry_id(b->qe[i]), b->e[i].text);
		new_failures(b->qe[i], queue_entry_env(b->qe[i])->nfailed, &fl);
		send_notice(r, q, b->qe[i], a, &b->e[i], NULL, &fl);
	}
	return 0;
}

/* The first attempt of new entries; returns runq_submit()'s result. */
static int
submit_attempt(const struct config *cfg, struct queue *q, struct batch *b,
    const struct account *a, int interactive, struct err *e)
{
	struct run r;
	size_t i;
	int rc = 0;

	run_init(&r, cfg, interactive, 0);
	if (interactive)
		rc = batch_interactive(&r, q, b, a, e);
	else
		for (i = 0; i < b->n; i++)
			attempt(&r, q, b->qe[i], a, &b->e[i]);
	run_end(&r);
	return rc;
}

/* Copy the message of the first entry into a further one. */
static int
write_copy(void *arg, int fd, struct err *e)
{
	const struct queue_entry *first = arg;
	char chunk[65536];
	off_t off = 0;
	ssize_t n;
	struct buf b;
	int r = 0;

	buf_init(&b, sizeof(chunk));
	while (r == 0 && (n = pread(queue_entry_fd(first), chunk, sizeof(chunk),
			      off)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(e, ERR_IO, "reading the message: %s",
			    strerror(errno));
		off += n;
		b.data = chunk;
		b.len = (size_t)n;
		r = write_buf(&b, fd, e);
	}
	return r;
}

/*
 * Store the message, QUEUE_MAX_RCPTS recipients per entry: all entries or
 * none (a failure removes those already stored).
 */
static int
store_batch(struct queue *q, const struct queue_envelope *tmpl,
    queue_write_fn *write_msg, void *arg, struct batch *b, struct err *e)
{
	struct queue_envelope part = *tmpl;
	size_t i, per = QUEUE_MAX_RCPTS;

	b->n = tmpl->nrcpts == 0 ? 1 : (tmpl->nrcpts + per - 1) / per;
	b->qe = xcalloc(b->n, sizeof(*b->qe));
	b->o = xcalloc(b->n, sizeof(*b->o));
	b->e = xcalloc(b->n, sizeof(*b->e));
	for (i = 0; i < b->n; i++) {
		part.rcpts = tmpl->rcpts + i * per;
		part.nrcpts =
		    tmpl->nrcpts - i * per < per ? tmpl->nrcpts - i * per : per;
		if (queue_store(q, &part, i == 0 ? write_msg : write_copy,
			i == 0 ? arg : b->qe[0], &b->qe[i], e) == 0)
			continue;
		b->n = i;
		batch_drop(b);
		return -1;
	}
	return 0;
}

int
runq_submit(const struct config *cfg, const struct account *a,
    const struct queue_envelope *env, queue_write_fn *write_msg, void *arg,
    enum deliver_mode mode, const char *msgid, struct err *e)
{
	struct queue_envelope tmpl = *env;
	struct batch b = {NULL, 0, NULL, NULL};
	struct queue *q = NULL;
	char dir[PATH_MAX];
	size_t i;
	int r = -1;

	signal(SIGXFSZ, SIG_IGN);
	tmpl.account = a->name;
	if (tmpl.msgid == NULL)
		tmpl.msgid = msgid;
	if (runq_queue_dir(cfg, a, dir, sizeof(dir), e) == -1 ||
	    queue_open(dir, 1, &q, e) == -1 ||
	    store_batch(q, &tmpl, write_msg, arg, &b, e) == -1) {
		err_prefix(e, "message not accepted");
		goto out;
	}
	r = 0;
	log_debug("queued as %s in %s%s", queue_entry_id(b.qe[0]), dir,
	    b.n > 1 ? " (and further entries, one per 1000 recipients)" : "");
	for (i = 0; i < b.n; i++)
		log_state(a, queue_entry_env(b.qe[i]), "queued",
		    mode == DELIVER_QUEUE ? "queued (-odq)" : "queued");
	if (mode == DELIVER_QUEUE)
		goto out;
	if (mode == DELIVER_BACKGROUND && detach(b.qe[0]) == 1)
		goto out;
	r = submit_attempt(cfg, q, &b, a, mode == DELIVER_INTERACTIVE, e);
out:
	batch_release(&b);
	queue_close(q);
	return r;
}
