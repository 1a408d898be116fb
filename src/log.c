/*
 * log.c -- everything postseal prints: diagnostics on stderr, the -v
 * protocol transcript, and the one delivery line per message.
 *
 * Purpose: one place that decides how text from outside (server replies,
 * addresses, file names) is made printable before it reaches a terminal,
 * a log file or syslog, so that no caller can inject control sequences or
 * fake log lines.
 *
 * Non-goals: log rotation, structured (JSON) logs, buffering.  Secrets are
 * not recognised here: callers never pass them (AUTH payloads go through
 * log_transcript_redacted()).
 *
 * Invariants: every line written ends in exactly one '\n' and holds only
 * printable ASCII (other bytes are shown as \xHH); each line is written
 * with a single write() so concurrent postseal processes appending to one
 * log file do not interleave within a line (O_APPEND).
 *
 * Failure policy: logging never fails a delivery.  A log file that cannot
 * be opened or written is reported on stderr and the record goes to syslog
 * (LOG_MAIL) instead, so a log file shared by several users that one of
 * them cannot write loses neither the mail nor the record.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* Longest diagnostic (before escaping); longer ones end in "...". */
#define LOG_MSG_MAX 2048
/* A transcript line is at most 2048 bytes (smtp.c); escaped it grows 4x. */
#define LOG_LINE_MAX (4 * 4096 + 64)
/* The delivery record: at most this many bytes; the recipient list is
 * shortened to fit ("...(N more)"). */
#define LOG_RECORD_MAX 8192
#define LOG_RCPTS_MAX 4096
#define LOG_TEXT_MAX 512

static char progname[64] = "postseal";
static int verbose;
static char queue_id[64]; /* "": none */

void
log_init(const char *name)
{
	const char *slash;

	if (name == NULL || *name == '\0')
		return;
	if ((slash = strrchr(name, '/')) != NULL && slash[1] != '\0')
		name = slash + 1;
	log_printable(progname, sizeof(progname), name, strlen(name));
}

void
log_set_queue_id(const char *id)
{
	if (id == NULL)
		queue_id[0] = '\0';
	else
		log_printable(queue_id, sizeof(queue_id), id, strlen(id));
}

int
log_needs_admin(const char *text)
{
	return text != NULL && strstr(text, LOG_FIX_MARK) != NULL;
}

void
log_set_verbose(int level)
{
	verbose = level;
}

int
log_verbose(void)
{
	return verbose;
}

/*
 * The printable form of one byte: itself, or "\xHH" (always "\xHH" when
 * force is set).  Returns its length.
 */
static size_t
escape_byte_as(unsigned char c, int force, char out[5])
{
	static const char hex[] = "0123456789abcdef";

	if (!force && c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		out[1] = '\0';
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 0xf];
	out[4] = '\0';
	return 4;
}

static size_t
escape_byte(unsigned char c, char out[5])
{
	return escape_byte_as(c, 0, out);
}

char *
log_printable(char *dst, size_t dstsize, const char *src, size_t n)
{
	size_t i, k, r, room, pos = 0, need = 0;
	char rep[5];

	if (dstsize == 0)
		return dst;
	for (i = 0; i < n; i++)
		need += escape_byte((unsigned char)src[i], rep);
	/* All of it, or as much as leaves room for "..." and the NUL. */
	room = need < dstsize ? need : (dstsize > 4 ? dstsize - 4 : 0);
	for (i = 0; i < n; i++) {
		r = escape_byte((unsigned char)src[i], rep);
		if (pos + r > room)
			break;
		memcpy(dst + pos, rep, r);
		pos += r;
	}
	if (need >= dstsize)
		for (k = 0; k < 3 && pos + 1 < dstsize; k++)
			dst[pos++] = '.';
	dst[pos] = '\0';
	return dst;
}

/* Write "prefix" + text + "\n" to stderr in one call. */
static void emit(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
emit(const char *prefix, const char *fmt, va_list ap)
{
	char raw[LOG_MSG_MAX], esc[4 * LOG_MSG_MAX / 2];
	char line[sizeof(esc) + 128];
	int n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw)) {
		n = (int)sizeof(raw) - 1;
		memcpy(raw + n - 3, "...", 3);
	}
	log_printable(esc, sizeof(esc), raw, (size_t)n);
	n = snprintf(line, sizeof(line), "%s: %s%s\n", progname, prefix, esc);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	fwrite(line, 1, (size_t)n, stderr);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("warning: ", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbose <= 0)
		return;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

/*
 * The transcript is printed only with -v, so callers may call these
 * unconditionally.  "<-- " marks server lines, "--> " our lines.
 */
void
log_transcript(char dir, const char *line, size_t len)
{
	char esc[LOG_LINE_MAX];

	if (verbose <= 0)
		return;
	log_printable(esc, sizeof(esc), line, len);
	fprintf(stderr, "%s %s\n", dir == '<' ? "<--" : "-->", esc);
}

void
log_transcript_redacted(char dir, const char *prefix)
{
	char esc[256];

	if (verbose <= 0)
		return;
	log_printable(esc, sizeof(esc), prefix, strlen(prefix));
	fprintf(stderr, "%s %s%s<redacted>\n", dir == '<' ? "<--" : "-->", esc,
	    esc[0] != '\0' ? " " : "");
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
    {"user", LOG_USER},
    {"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
};

int
log_facility(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	if (ascii_ncasecmp(name, "LOG_", 4) == 0)
		name += 4;
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (ascii_casecmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}

/*
 * Append " key=value" with value escaped: bytes outside printable ASCII,
 * '"' and '\\' become \xHH, and a value that is empty or holds a space is
 * put in double quotes, so a line always splits back into its pairs.
 * NULL is logged as "-".
 */
static void
add_pair(struct buf *b, const char *key, const char *val, size_t max)
{
	size_t i, n;
	char rep[5];
	int quote;

	if (val == NULL)
		val = "-";
	n = strlen(val);
	quote = (n == 0 || strchr(val, ' ') != NULL);
	if (b->len > 0)
		buf_addch(b, ' ');
	buf_addstr(b, key);
	buf_addch(b, '=');
	if (quote)
		buf_addch(b, '"');
	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)val[i];
		escape_byte_as(c, c == '"' || c == '\\', rep);
		buf_addstr(b, rep);
	}
	if (i < n)
		buf_addstr(b, "...");
	if (quote)
		buf_addch(b, '"');
}

/* "to=a,b,c", shortened to LOG_RCPTS_MAX bytes with "...(N more)". */
static void
add_rcpts(struct buf *b, const struct log_record *r)
{
	struct buf list;
	char more[64];
	size_t i;

	buf_init(&list, LOG_RCPTS_MAX + sizeof(more));
	for (i = 0; i < r->nrcpts; i++) {
		const char *a = r->rcpts[i] != NULL ? r->rcpts[i] : "";
		if (list.len + strlen(a) + 1 > LOG_RCPTS_MAX)
			break;
		if (i > 0)
			buf_addch(&list, ',');
		buf_addstr(&list, a);
	}
	if (i < r->nrcpts) {
		snprintf(more, sizeof(more), "...(%zu more)", r->nrcpts - i);
		buf_addstr(&list, more);
	}
	add_pair(b, "to", r->nrcpts > 0 ? list.data : NULL, LOG_RCPTS_MAX + 64);
	buf_reset(&list);
}

/* The record without the time stamp (syslog adds its own). */
static void
format_record(struct buf *b, const struct log_record *r)
{
	char num[64];

	add_pair(b, "id",
	    r->queue_id != NULL	  ? r->queue_id
	    : queue_id[0] != '\0' ? queue_id
				  : NULL,
	    64);
	add_pair(b, "account", r->account, 256);
	add_pair(b, "host", r->host, 256);
	add_pair(b, "tls", r->tls, 128);
	add_pair(b, "auth", r->auth, 64);
	add_pair(b, "from",
	    r->from != NULL && r->from[0] == '\0' ? "<>" : r->from, 512);
	add_rcpts(b, r);
	snprintf(num, sizeof(num), "%llu", r->size);
	add_pair(b, "size", num, sizeof(num));
	add_pair(b, "msgid", r->msgid, 256);
	snprintf(num, sizeof(num), "%d", r->smtp_code);
	add_pair(b, "code", r->smtp_code > 0 ? num : NULL, sizeof(num));
	add_pair(b, "text", r->smtp_text, LOG_TEXT_MAX);
	snprintf(num, sizeof(num), "%.3f", r->duration);
	add_pair(b, "duration", num, sizeof(num));
	snprintf(num, sizeof(num), "%d", r->exitcode);
	add_pair(b, "exit", num, sizeof(num));
	add_pair(b, "outcome", r->outcome, 64);
}

/* 0, or -1 after a warning (the caller then logs to syslog). */
static int
write_logfile(const char *path, const char *line, size_t len)
{
	ssize_t w;
	int fd, r = 0;

	if (strcmp(path, "-") == 0) {
		fwrite(line, 1, len, stderr);
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600);
	if (fd == -1) {
		log_warn("cannot open log file %s: %s; logging to syslog "
			 "(mail) instead",
		    path, strerror(errno));
		return -1;
	}
	do
		w = write(fd, line, len);
	while (w == -1 && errno == EINTR);
	if (w == -1 || (size_t)w != len) {
		log_warn("cannot write log file %s: %s; logging to syslog "
			 "(mail) instead",
		    path, w == -1 ? strerror(errno) : "short write");
		r = -1;
	}
	if (close(fd) == -1 && r == 0) {
		log_warn("cannot write log file %s: %s; logging to syslog "
			 "(mail) instead",
		    path, strerror(errno));
		r = -1;
	}
	return r;
}

static void
write_syslog(const char *facname, const struct log_record *r, const char *text)
{
	int fac = log_facility(facname), prio = LOG_INFO;

	if (fac == -1) {
		log_warn("unknown syslog facility %s; using LOG_MAIL", facname);
		fac = LOG_MAIL;
	}
	if (r->exitcode != 0 || log_needs_admin(r->smtp_text))
		prio = LOG_ERR;
	else if (r->outcome != NULL && strcmp(r->outcome, "delivered") != 0 &&
		 strcmp(r->outcome, "queued") != 0)
		prio = LOG_NOTICE;
	openlog(progname, LOG_PID, fac);
	syslog(fac | prio, "%s", text);
	closelog();
}

void
log_delivery(const char *logfile, const char *syslog_facility,
    const struct log_record *r)
{
	struct buf rec, line;
	char stamp[64];
	struct tm tm;
	time_t now = time(NULL);

	if (logfile == NULL && syslog_facility == NULL)
		return;
	buf_init(&rec, LOG_RECORD_MAX);
	buf_init(&line, LOG_RECORD_MAX + sizeof(stamp) + 8);
	format_record(&rec, r);
	if (rec.data == NULL) {
		log_warn("cannot log the delivery: out of memory");
		goto out;
	}
	if (logfile != NULL) {
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z",
			&tm) == 0)
			str_copy(stamp, "-", sizeof(stamp));
		if (buf_printf(&line, "time=%s %s\n", stamp, rec.data) == 0) {
			if (write_logfile(logfile, line.data, line.len) == -1 &&
			    syslog_facility == NULL)
				syslog_facility = "LOG_MAIL";
		} else {
			log_warn("cannot log the delivery: out of memory");
		}
	}
	if (syslog_facility != NULL)
		write_syslog(syslog_facility, r, rec.data);
out:
	buf_reset(&rec);
	buf_reset(&line);
}
