/*
 * err.h -- the one error type every fallible function fills.
 *
 * A fallible function returns 0 on success and -1 on failure, and fills its
 * last parameter, a struct err, through err_set().  The kind is decided where
 * the failure is detected; only main.c turns a kind into an exit status.
 */
#ifndef POSTSEAL_ERR_H
#define POSTSEAL_ERR_H

#include <stddef.h>

enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,     /* bad command line: EX_USAGE 64 */
	ERR_DATA,      /* bad message or address data: EX_DATAERR 65 */
	ERR_NOINPUT,   /* an input file is missing: EX_NOINPUT 66 */
	ERR_NOUSER,    /* recipient rejected by the server: EX_NOUSER 67 */
	ERR_PERM,      /* permanent failure, e.g. 5xx: EX_UNAVAILABLE 69 */
	ERR_SOFTWARE,  /* broken invariant: EX_SOFTWARE 70 */
	ERR_OS,	       /* system failure: EX_OSERR 71 */
	ERR_CANTCREAT, /* cannot create an output file: EX_CANTCREAT 73 */
	ERR_IO,	       /* local I/O failure: EX_IOERR 74 */
	ERR_TEMP,      /* temporary failure, e.g. 4xx: EX_TEMPFAIL 75 */
	ERR_PROTOCOL,  /* server broke the protocol: treated as temporary */
	ERR_AUTH,      /* authentication failed: EX_NOPERM 77 */
	ERR_CONFIG,    /* bad configuration: EX_CONFIG 78 */
};

struct err {
	enum err_kind kind;
	int smtp_code;	/* 0 unless taken from a server reply */
	char text[256]; /* one printable line, never a secret */
};

/*
 * Fill e (which may be NULL) with kind and the formatted text; the text is
 * truncated to fit and any control character in it is replaced by '?'.
 * Returns -1 so callers can write "return err_set(...)".
 */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As err_set(), recording the SMTP reply code too. */
int err_set_smtp(struct err *e, enum err_kind kind, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/*
 * Prefix e->text with "what: " (e.g. a file name), keeping kind and code.
 * Returns -1.
 */
int err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Nonzero for the kinds after which a message must be queued and retried. */
int err_is_temporary(const struct err *e);

/* The sysexits code for a kind (used by main.c only). */
int err_exit_code(enum err_kind kind);

/* A short name for a kind ("temporary", "permanent", ...), for logs. */
const char *err_kind_name(enum err_kind kind);

#endif
