/*
 * message.h -- the message from stdin: bytes read, line endings made CRLF,
 * headers parsed (bounded), body spooled to an unlinked temporary file so
 * memory does not grow with the message, missing headers completed.
 */
#ifndef POSTSEAL_MESSAGE_H
#define POSTSEAL_MESSAGE_H

#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "err.h"

struct message;

/*
 * Limits on the header section read from stdin (past them: ERR_DATA).  The
 * body has no limit other than max_size and never sits in memory.
 */
#define MESSAGE_MAX_HEADERS 1000	       /* fields */
#define MESSAGE_MAX_HEADER_BYTES (1024 * 1024) /* the whole section */
#define MESSAGE_MAX_FIELD (64 * 1024)	       /* one field, folding kept */
#define MESSAGE_LINE_MAX 998		       /* RFC 5322 2.1.1, w/o CRLF */

struct message_read_opts {
	int ignore_dots;  /* -i: a lone "." never ends the message */
	int stdin_is_tty; /* without -i, "." ends input only on a tty */
	unsigned long long max_size; /* 0: none; else larger input: ERR_DATA */
	const char *tmpdir; /* where the body is spooled; NULL: $TMPDIR/tmp */
};

/*
 * Read a whole message from fd.  Lines end in LF, CR or CRLF on input and
 * CRLF in the result.  A leading mbox "From " line is dropped.  The header
 * block is capped (count and bytes); the body goes to a temporary file.
 * On success *out is set; the caller frees it with message_free().
 */
int message_read(int fd, const struct message_read_opts *o,
    struct message **out, struct err *e);

/* "yes/no/auto" policies for adding headers; see postseal.conf(5). */
enum message_policy { MSG_AUTO = 0, MSG_ALWAYS, MSG_NEVER };

struct message_complete_opts {
	const char *envelope_from; /* "" for the null sender */
	const char *from_addr;	   /* address for a missing From: */
	const char *fullname;	   /* -F, quoted as needed */
	const char *msgid_domain;  /* right side of a new Message-ID */
	enum message_policy set_from, set_date, set_msgid;
	int remove_bcc;
	int undisclosed_recipients;
	long long now; /* time for Date:, -1: the current time */
	/* Bare local parts in From, Sender, Reply-To, To, Cc (and their
	 * Resent- forms) get "@qualify_domain" (addr_qualify_header());
	 * NULL: left alone. */
	const char *qualify_domain;
	/* With qualify_domain: each address in From, To and Cc is first
	 * offered to header_map (addr_rewrite_header(); the aliases file),
	 * NULL: none. */
	addr_map_fn *header_map;
	void *header_map_arg;
	/* A From field of one local address (no domain, @localhost or @
	 * this host: cron's "root", "Cron Daemon <root>") names local_from
	 * instead, its display name or comment kept, else the local part as
	 * one ("root <local_from>"); NULL: left alone. */
	const char *local_from;
};

/*
 * Drop white space between a field name and its colon ("Subject : x"),
 * qualify bare local parts in the address fields (qualify_domain), add
 * Date, Message-ID, From, To as configured; remove Bcc and Resent-Bcc.
 * New fields go at the end of the header.  ERR_DATA if a From is needed
 * but from_addr/envelope_from is empty or not a valid qualified address,
 * if fullname holds CR/LF/NUL, or if the Message-ID domain is invalid.
 */
int message_complete(struct message *m, const struct message_complete_opts *o,
    struct err *e);

/* The name of the first address field (From, To, Cc...) with a bare local
 * part that message_complete() would qualify, or NULL if there is none:
 * without a mail domain such a message cannot leave as it should. */
const char *message_unqualified(const struct message *m);

/*
 * Recipients named in the headers for -t: To, Cc and Bcc, or, if any
 * Resent- header exists, the first Resent- block's Resent-To/Cc/Bcc.
 * Collected when the message was read (before Bcc removal).  Borrowed.
 */
const struct addr_list *message_header_rcpts(const struct message *m);

/*
 * As message_header_rcpts(), but fails (ERR_DATA naming the field) if a
 * To/Cc/Bcc field was malformed; message_header_rcpts() then returns an
 * empty list, never a partial one.  Use this for -t.
 */
int message_rcpts(const struct message *m, const struct addr_list **out,
    struct err *e);

/*
 * Make the message SMTP-safe before it is signed (rules at the top of
 * message.c): header lines over 998 octets are folded; a body with NUL,
 * lines over 998 octets, or (when !allow_8bit) 8-bit octets is re-encoded
 * as quoted-printable if it is a single part in an identity encoding, else
 * its long lines are split and NULs replaced.  Nothing is truncated or
 * refused.  I/O errors: ERR_IO, or ERR_TEMP when the disk is full.
 */
int message_make_safe(struct message *m, int allow_8bit, struct err *e);

/* Header access.  Index 0 is the topmost field. */
size_t message_nheaders(const struct message *m);
/* The raw field, "Name: value\r\n" with folding kept; borrowed. */
const char *message_header(const struct message *m, size_t i, size_t *len);
/* The unfolded value of the first field with this name (any case) or NULL.
 * Borrowed until the next change to the message. */
const char *message_get(const struct message *m, const char *name);

/*
 * Insert a complete raw field ("Name: value" with CRLF folding, no final
 * CRLF needed) at the top (DKIM-Signature, Received).  ERR_DATA if it is
 * malformed.
 */
int message_prepend(struct message *m, const char *field, size_t len,
    struct err *e);

/* The body spool: an fd positioned anywhere (use pread) and its size. */
int message_body_fd(const struct message *m);
unsigned long long message_body_size(const struct message *m);

/* Total size on the wire before dot-stuffing (headers + CRLF + body). */
unsigned long long message_size(const struct message *m);

/* Nonzero if any byte of the header or body is >= 0x80. */
int message_has_8bit(const struct message *m);

/* Write headers, the empty line and the body to fd (CRLF, unstuffed). */
int message_write(const struct message *m, int fd, struct err *e);

void message_free(struct message *m);

#endif
