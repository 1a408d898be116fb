/*
 * log.h -- everything postseal prints: diagnostics on stderr, the -v
 * protocol transcript, and the one delivery line per message (logfile
 * and/or syslog).  Secrets never reach this module: callers redact AUTH
 * payloads by using log_transcript_redacted(); server text is escaped here.
 */
#ifndef POSTSEAL_LOG_H
#define POSTSEAL_LOG_H

#include <stddef.h>

/* Global log settings (set once in main.c). */
void log_init(const char *progname);
void log_set_verbose(int level);
int log_verbose(void);

/* "postseal: <text>" on stderr; warnings are prefixed "warning: ". */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * -v transcript: dir is '<' (from server) or '>' (to server); one call per
 * line, without its CRLF.  Non-printable bytes are shown escaped.
 * log_transcript_redacted() prints only "prefix <redacted>" (AUTH data).
 * Both print nothing unless log_verbose() > 0, so callers need not check.
 */
void log_transcript(char dir, const char *line, size_t len);
void log_transcript_redacted(char dir, const char *prefix);

/*
 * Write a printable copy of the n bytes at src into dst (size dstsize,
 * always NUL-terminated): control and non-ASCII bytes become \xHH; a copy
 * that does not fit ends in "...".  Returns dst.
 */
char *log_printable(char *dst, size_t dstsize, const char *src, size_t n);

/* The one line per message. Fields that are NULL are logged as "-". */
struct log_record {
	const char *queue_id; /* NULL: the one of log_set_queue_id() */
	const char *account;
	const char *host;
	const char *tls;  /* e.g. "TLS1.3/AES-256-GCM" or NULL */
	const char *auth; /* mechanism or NULL */
	const char *from; /* envelope sender ("" = null sender) */
	const char *const *rcpts;
	size_t nrcpts;
	unsigned long long size;
	const char *msgid;
	int smtp_code;
	const char *smtp_text; /* server text (escaped here) or error text */
	double duration;       /* seconds */
	int exitcode;
	const char *outcome; /* "delivered", "queued", "failed", ... */
};

/*
 * Append the record to logfile (if not NULL; "-" means stderr) and send it
 * to syslog with the given facility name (if not NULL, e.g. "LOG_MAIL").
 * Logging failures are reported on stderr but never fail a delivery; a
 * log file that cannot be opened or written (e.g. one shared by several
 * users) is reported with a warning and the record goes to syslog
 * (LOG_MAIL) instead, unless it went there anyway.
 */
void log_delivery(const char *logfile, const char *syslog_facility,
    const struct log_record *r);

/*
 * The queue entry being worked on (NULL: none), logged as "id=" in every
 * record that names none itself.  The string is copied.
 */
void log_set_queue_id(const char *id);

/*
 * A failure whose text names the configuration change that fixes it
 * (LOG_FIX_MARK, e.g. a certificate that fails verification): logged at
 * error level even when the message stays queued, and marked in mailq.
 */
#define LOG_FIX_MARK "(fix: "
int log_needs_admin(const char *text);

/*
 * The syslog facility for a name such as "LOG_MAIL", "mail", "LOG_LOCAL3"
 * (case-insensitive; user, mail, daemon, local0..local7), or -1.
 */
int log_facility(const char *name);

#endif
