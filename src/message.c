/*
 * message.c -- stdin to struct message: line endings made CRLF, the header
 * section parsed into a capped list, the body spooled to an unlinked
 * temporary file, missing headers completed, Bcc removed, recipients for
 * -t collected, and the message made SMTP-safe before signing.
 *
 * Non-goals: no MIME tree kept (a multipart body is walked only to make it
 * SMTP-safe, below), no dot-stuffing (smtp.c does it on the wire), no header
 * rewriting other than what is listed below (and, in message_complete(),
 * white space before a field's colon removed: fix_names()).
 *
 * Reading (message_read):
 *  - Input is bytes.  LF, CR and CRLF all end a line; the result holds
 *    CRLF only, so no bare CR or LF can reach the wire.  A final line
 *    without an ending gets CRLF.
 *  - A first line starting "From " (mbox) is dropped.
 *  - The header section ends at the first empty line, which is not part of
 *    the body.  A line that is neither a field ("name:" with a name of
 *    printable ASCII, at most 998 octets) nor a continuation (leading WSP)
 *    also ends it and becomes the first body line; the empty separator is
 *    then supplied on output (as Postfix does).  So input whose first line
 *    is not a field (or starts with WSP) has no headers at all.
 *  - NUL in a header field is replaced by a space: a field must be a C
 *    string for message_get(), and RFC 5322 never allows NUL there.
 *  - Without -i, a line holding only "." ends the message when stdin is a
 *    terminal; from a pipe or file we read to the end of input.
 *  - Caps: MESSAGE_MAX_HEADERS fields, MESSAGE_MAX_HEADER_BYTES for the
 *    section, MESSAGE_MAX_FIELD per field, max_size for the whole message;
 *    past any of them: ERR_DATA with a message naming the limit.  Memory
 *    use is bounded by those caps plus a 64 KiB read buffer and a 256 KiB
 *    spool buffer, whatever the input (a 1 GB line goes straight to the
 *    spool).
 *  - Speed: the body is handled in runs, not octet by octet: the next CR
 *    or LF is found eight octets at a time, lines already ending in CRLF
 *    are copied as they are, and 8-bit octets and NULs are looked for once
 *    per spool buffer.  The header section (capped) goes octet by octet.
 *
 * Making it SMTP-safe (message_make_safe, before DKIM signing):
 *  - A header line over 998 octets is folded before a WSP that follows a
 *    non-WSP (RFC 5322 2.2.3: unfolding restores it exactly); in address
 *    fields also after a ',' outside quotes (inserting FWS, which an
 *    address-list ignores).  If that is not enough, an unstructured field
 *    (Subject, Comments, Content-Description, X-*) is re-encoded as RFC
 *    2047 encoded-words (charset US-ASCII, UTF-8 if the value is valid
 *    UTF-8, else UNKNOWN-8BIT [RFC 1428]); decoding gives the original
 *    value.  A structured field with a token over 998 octets cannot be
 *    split without changing its meaning and is left as it is.
 *  - The body needs work when it has NUL, a line over 998 octets, or 8-bit
 *    octets and !allow_8bit:
 *    a) single part (Content-Type neither multipart nor message) in an
 *       identity encoding (none, 7bit, 8bit, binary): re-encoded as
 *       quoted-printable (RFC 2045 6.7, lines <= 76).  The old
 *       Content-Transfer-Encoding is replaced; MIME-Version: 1.0 is added
 *       if missing; a missing Content-Type becomes text/plain with the
 *       charset detected as above (the RFC 2045 default is text/plain, and
 *       the charset is the most faithful label we can give the octets).
 *    b) already quoted-printable: lines over 998 octets get soft breaks
 *       ("=" CRLF, never inside "=XX") and NUL or 8-bit octets become =XX,
 *       so the decoded content is unchanged.
 *    c) multipart (in 7bit, 8bit, binary or no encoding): the parts are
 *       re-encoded one by one, in two passes over the spool.  Pass 1 reads
 *       it line by line and cuts it into segments: delimiter lines are
 *       "--" boundary, optional "--", transport padding (RFC 2046 5.1.1;
 *       the CRLF before one belongs to it); a part's header section ends
 *       at its empty line; a multipart part with a valid boundary opens a
 *       nested level.  Each leaf whose content has NUL, a line over 998
 *       octets, or 8-bit octets and !allow_8bit gets: quoted-printable for
 *       text (or no Content-Type, the RFC 2045 default) and base64
 *       (lines of 76) for any other type, if its encoding is an identity
 *       one, its Content-Transfer-Encoding replaced; the treatment of b)
 *       if it is quoted-printable; nothing otherwise (base64, unknown
 *       encodings, message types and multipart/digest's default
 *       message/rfc822, which RFC 2046 allows only 7bit, 8bit or binary).
 *       Everything else (delimiters, part headers, 7-bit parts) is copied
 *       byte for byte.  In the preamble and epilogue, which no reader
 *       shows, NUL and 8-bit octets become '?' (they carry no content
 *       and would keep the message 8-bit).  A soft break never starts a
 *       line with '-' ("=2D" instead), so no encoded line can become a
 *       delimiter.  Pass 2 writes the segments to a new spool.  If the
 *       top Content-Transfer-Encoding was 8bit or binary and the result
 *       is 7-bit, it becomes 7bit.  8-bit octets in part header fields
 *       stay (they need RFC 2047/2231 per field).
 *       Bounds: MP_DEPTH levels, MP_PARTS parts, MP_HDR_MAX octets of a
 *       part's header section (lines of at most 998 octets), MP_SEGS
 *       segments; memory is one IO_CHUNK buffer, the segments (~96 KiB),
 *       the header section and a spool buffer, whatever the body size.
 *       A structure that does not parse (no or invalid boundary, a part
 *       or nested multipart not closed, a delimiter of an outer level
 *       inside an inner one, past a bound, a part header line that is
 *       neither a field nor a continuation) is left as it is, as d).
 *    d) anything else (message, base64, unknown encodings, and what c)
 *       leaves): a CRLF is inserted after every 998 octets of a longer
 *       line, as Postfix does (harmless for base64), and NUL becomes a
 *       space; if that made a multipart walkable (a NUL in a part header
 *       stopped c), c) runs again, so a second call changes nothing.
 *       8-bit octets stay.
 *  8-bit header fields are left alone (that needs SMTPUTF8 or RFC 2047
 *  per field type); message_has_8bit() tells the caller.
 *
 * Writing (message_write): the header section in one write(), then the
 * body by sendfile() where Linux can (no copy through user space), else,
 * or from wherever sendfile() stopped, by pread() and write().
 *
 * Failure policy: ERR_DATA for input we refuse (caps, malformed fields
 * given to message_prepend), ERR_IO for read/write errors, ERR_TEMP for a
 * temporary file we cannot create or a full disk.  Allocation failure is
 * fatal_oom() (exit 75: the caller keeps the mail).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/sendfile.h>
#endif

#include <sodium.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "message.h"

#define IO_CHUNK 65536	       /* one read() of stdin or pread() of the spool */
#define SPOOL_BUF (256 * 1024) /* spool writes are this size */
#define QP_LIMIT 75	       /* encoded octets before a soft break */
#define QPFOLD_LIMIT (MESSAGE_LINE_MAX - 1) /* leaves room for the '=' */

struct field {
	char *raw; /* "Name: value\r\n", folding kept, no NUL */
	size_t len;
	size_t namelen; /* the name, without WSP before the ':' */
	char *value;	/* unfolded, leading and trailing WSP removed */
};

struct message {
	struct field *f;
	size_t nf;
	size_t hbytes; /* sum of f[].len */
	int fd;	       /* the body spool, unlinked */
	unsigned long long body_size;
	int body_8bit, body_nul, body_long;
	struct addr_list rcpts;
	struct err rcpt_err; /* kind ERR_NONE if the fields parsed */
	char *tmpdir;
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* ---- header fields ---- */

static void
field_init(struct field *f, const char *raw, size_t len)
{
	const char *colon = memchr(raw, ':', len);
	size_t i, j = 0, k;

	if (colon == NULL)
		fatal("message: field without a colon");
	f->raw = xstrndup(raw, len);
	f->len = len;
	for (k = (size_t)(colon - raw); k > 0 && is_wsp(raw[k - 1]); k--)
		;
	f->namelen = k;
	f->value = xcalloc(1, len + 1);
	for (i = (size_t)(colon - raw) + 1; i < len; i++)
		if (raw[i] != '\r' && raw[i] != '\n' &&
		    !(j == 0 && is_wsp(raw[i])))
			f->value[j++] = raw[i];
	while (j > 0 && is_wsp(f->value[j - 1]))
		j--;
	f->value[j] = '\0';
}

static void
field_free(struct field *f)
{
	free(f->raw);
	free(f->value);
}

static void
field_insert(struct message *m, size_t at, const char *raw, size_t len)
{
	m->f = xreallocarray(m->f, m->nf + 1, sizeof(*m->f));
	memmove(m->f + at + 1, m->f + at, (m->nf - at) * sizeof(*m->f));
	field_init(&m->f[at], raw, len);
	m->nf++;
	m->hbytes += len;
}

static void
field_remove(struct message *m, size_t at)
{
	m->hbytes -= m->f[at].len;
	field_free(&m->f[at]);
	memmove(m->f + at, m->f + at + 1, (m->nf - at - 1) * sizeof(*m->f));
	m->nf--;
}

static void
field_replace(struct message *m, size_t at, const char *raw, size_t len)
{
	m->hbytes -= m->f[at].len;
	field_free(&m->f[at]);
	field_init(&m->f[at], raw, len);
	m->hbytes += len;
}

static int
field_is(const struct field *f, const char *name)
{
	return f->namelen == strlen(name) &&
	       ascii_ncasecmp(f->raw, name, f->namelen) == 0;
}

static size_t
field_find(const struct message *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nf; i++)
		if (field_is(&m->f[i], name))
			break;
	return i;
}

static void
field_remove_all(struct message *m, const char *name)
{
	size_t i = 0;

	while (i < m->nf)
		if (field_is(&m->f[i], name))
			field_remove(m, i);
		else
			i++;
}

/* Nonzero if a physical line of f is longer than MESSAGE_LINE_MAX. */
static int
field_long(const struct field *f)
{
	size_t i, col = 0;

	for (i = 0; i < f->len; i++) {
		if (f->raw[i] == '\r' || f->raw[i] == '\n')
			col = 0;
		else if (++col > MESSAGE_LINE_MAX)
			return 1;
	}
	return 0;
}

/* ---- the body spool ---- */

/*
 * Everything goes through buf (SPOOL_BUF octets).  col and haslong are
 * kept as octets are added (callers say where lines end); has8bit and
 * hasnul are found when buf is written out, one pass over whole buffers.
 */
struct spool {
	int fd;
	char *buf;
	size_t len;
	unsigned long long size;
	size_t col; /* octets in the current line, at most LINE_MAX + 1 */
	int has8bit, hasnul, haslong;
};

static int
io_err(struct err *e, const char *what)
{
	int saved = errno;

	return err_set(e,
	    saved == ENOSPC || saved == EDQUOT ? ERR_TEMP : ERR_IO, "%s: %s",
	    what, strerror(saved));
}

static int
write_all(int fd, const char *p, size_t n, struct err *e)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return io_err(e, "writing the message");
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
spool_open(struct spool *s, const char *dir, struct err *e)
{
	struct buf t;
	int saved;

	memset(s, 0, sizeof(*s));
	buf_init(&t, 4096);
	if (buf_printf(&t, "%s/postseal.XXXXXX", dir) == -1) {
		buf_reset(&t);
		s->fd = -1;
		return err_set(e, ERR_TEMP,
		    "temporary directory name too long");
	}
	if ((s->fd = mkostemp(t.data, O_CLOEXEC)) == -1 ||
	    unlink(t.data) == -1) {
		saved = errno;
		if (s->fd != -1)
			close(s->fd);
		s->fd = -1;
		buf_reset(&t);
		return err_set(e, ERR_TEMP, "temporary file in %s: %s", dir,
		    strerror(saved));
	}
	buf_reset(&t);
	s->buf = xcalloc(1, SPOOL_BUF);
	return 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS (0x80 * ONES)

/* Nonzero if one of the n octets at p is >= 0x80 (eight at a time). */
static int
any_8bit(const char *p, size_t n)
{
	uint64_t a, b, acc = 0;
	size_t i = 0;

	for (; n - i >= 16; i += 16) {
		memcpy(&a, p + i, sizeof(a));
		memcpy(&b, p + i + 8, sizeof(b));
		acc |= a | b;
	}
	for (; i < n; i++)
		acc |= (unsigned char)p[i];
	return (acc & HIGHS) != 0;
}

static int
spool_flush(struct spool *s, struct err *e)
{
	if (!s->hasnul && memchr(s->buf, '\0', s->len) != NULL)
		s->hasnul = 1;
	if (!s->has8bit && any_8bit(s->buf, s->len))
		s->has8bit = 1;
	if (write_all(s->fd, s->buf, s->len, e) == -1)
		return err_prefix(e, "temporary file");
	s->len = 0;
	return 0;
}

static int
spool_big(struct spool *s, const char *p, size_t n, struct err *e)
{
	size_t k;

	while (n > 0) {
		k = SPOOL_BUF - s->len < n ? SPOOL_BUF - s->len : n;
		memcpy(s->buf + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (s->len == SPOOL_BUF && spool_flush(s, e) == -1)
			return -1;
	}
	return 0;
}

/* Append n octets as they are; line statistics are the caller's. */
static int
spool_raw(struct spool *s, const char *p, size_t n, struct err *e)
{
	s->size += n;
	if (n < SPOOL_BUF - s->len) { /* fits, and buf is not full after */
		memcpy(s->buf + s->len, p, n);
		s->len += n;
		return 0;
	}
	return spool_big(s, p, n, e);
}

/* n more octets in the current line. */
static void
spool_col(struct spool *s, size_t n)
{
	if (n > MESSAGE_LINE_MAX || s->col + n > MESSAGE_LINE_MAX) {
		s->haslong = 1;
		s->col = MESSAGE_LINE_MAX + 1; /* saturated: no overflow */
	} else
		s->col += n;
}

/* Append text that holds no CR or LF to the current line. */
static int
spool_text(struct spool *s, const char *p, size_t n, struct err *e)
{
	spool_col(s, n);
	return spool_raw(s, p, n, e);
}

/* End the current line (CRLF). */
static int
spool_eol(struct spool *s, struct err *e)
{
	s->col = 0;
	return spool_raw(s, "\r\n", 2, e);
}

static void
spool_free(struct spool *s)
{
	free(s->buf);
	s->buf = NULL;
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

/* Make the spool the message's body (the spool gives up its fd). */
static void
spool_to_body(struct spool *s, struct message *m)
{
	if (m->fd != -1)
		close(m->fd);
	m->fd = s->fd;
	s->fd = -1;
	m->body_size = s->size;
	m->body_8bit = s->has8bit;
	m->body_nul = s->hasnul;
	m->body_long = s->haslong;
}

/* pread() exactly n octets of the body at off. */
static int
body_pread(const struct message *m, char *p, size_t n, unsigned long long off,
    struct err *e)
{
	ssize_t r;

	while (n > 0) {
		if ((r = pread(m->fd, p, n, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return io_err(e, "reading the temporary file");
		}
		if (r == 0)
			return err_set(e, ERR_IO, "temporary file truncated");
		p += r;
		n -= (size_t)r;
		off += (unsigned long long)r;
	}
	return 0;
}

/* ---- reading ---- */

enum rstate {
	R_BOL,	    /* header section, start of a line */
	R_NAME,	    /* a field name so far */
	R_NAME_WSP, /* WSP after the name (obs-optional) */
	R_FIELD,    /* in a field, after the colon */
	R_DISCARD,  /* the mbox "From " line */
	R_BODY,
};

struct reader {
	struct message *m;
	struct spool sp;
	struct buf cur; /* the field being read (or the candidate line) */
	enum rstate st;
	unsigned long long lines; /* header lines seen */
	unsigned long long max_size;
	int dot_rule;	 /* a lone "." ends the message */
	int skip_lf;	 /* the last octet was CR */
	int bol;	 /* at the start of a body line */
	int pending_dot; /* a body line began with '.', held back */
	int done;
};

static int
size_check(struct reader *r, struct err *e)
{
	unsigned long long total;

	total = r->m->hbytes + r->cur.len + 2 + r->sp.size;
	if (r->max_size != 0 && total > r->max_size)
		return err_set(e, ERR_DATA,
		    "message larger than the limit of %llu octets",
		    r->max_size);
	return 0;
}

static int
body_bytes(struct reader *r, const char *p, size_t n, struct err *e)
{
	if (n == 0)
		return 0;
	if (r->bol) {
		r->bol = 0;
		if (r->dot_rule && p[0] == '.') {
			r->pending_dot = 1;
			if (--n == 0)
				return 0;
			p++;
		}
	}
	if (r->pending_dot) {
		r->pending_dot = 0;
		if (spool_text(&r->sp, ".", 1, e) == -1)
			return -1;
	}
	if (spool_text(&r->sp, p, n, e) == -1)
		return -1;
	return size_check(r, e);
}

static int
body_eol(struct reader *r, struct err *e)
{
	if (r->pending_dot) { /* the line was "." */
		r->done = 1;
		return 0;
	}
	r->bol = 1;
	if (spool_eol(&r->sp, e) == -1)
		return -1;
	return size_check(r, e);
}

static int
hdr_add(struct reader *r, const char *p, size_t n, struct err *e)
{
	if (buf_add(&r->cur, p, n) == -1) {
		if (errno == ENOMEM)
			fatal_oom();
		return err_set(e, ERR_DATA,
		    "header field longer than %d octets", MESSAGE_MAX_FIELD);
	}
	if (r->m->hbytes + r->cur.len > MESSAGE_MAX_HEADER_BYTES)
		return err_set(e, ERR_DATA,
		    "header section larger than %d octets",
		    MESSAGE_MAX_HEADER_BYTES);
	return size_check(r, e);
}

/* The field in cur is complete: store it. */
static int
field_done(struct reader *r, struct err *e)
{
	struct message *m = r->m;

	if (r->cur.len == 0)
		return 0;
	if (m->nf >= MESSAGE_MAX_HEADERS)
		return err_set(e, ERR_DATA, "more than %d header fields",
		    MESSAGE_MAX_HEADERS);
	field_insert(m, m->nf, r->cur.data, r->cur.len);
	buf_clear(&r->cur);
	return 0;
}

/* The line in cur is not a field: the body starts with it. */
static int
line_to_body(struct reader *r, struct err *e)
{
	int rc;

	r->st = R_BODY;
	r->bol = 1;
	rc = body_bytes(r, r->cur.data, r->cur.len, e);
	buf_clear(&r->cur);
	return rc;
}

static int
name_byte(struct reader *r, unsigned char c, struct err *e)
{
	char ch = (char)c;

	if (c == ':' && r->cur.len > 0) {
		r->st = R_FIELD;
		return hdr_add(r, &ch, 1, e);
	}
	if (is_wsp(c) && r->cur.len > 0) {
		if (r->lines == 0 && r->cur.len == 4 &&
		    memcmp(r->cur.data, "From", 4) == 0) {
			r->st = R_DISCARD; /* mbox separator */
			buf_clear(&r->cur);
			return 0;
		}
		r->st = R_NAME_WSP;
		return hdr_add(r, &ch, 1, e);
	}
	if (c > 32 && c < 127 && c != ':' && r->st == R_NAME &&
	    r->cur.len < MESSAGE_LINE_MAX)
		return hdr_add(r, &ch, 1, e);
	if (line_to_body(r, e) == -1)
		return -1;
	return body_bytes(r, &ch, 1, e);
}

static int
head_byte(struct reader *r, unsigned char c, struct err *e)
{
	char ch = (char)c;

	switch (r->st) {
	case R_BOL:
		if (is_wsp(c) && r->cur.len > 0) {
			r->st = R_FIELD; /* continuation line */
			return hdr_add(r, &ch, 1, e);
		}
		if (field_done(r, e) == -1)
			return -1;
		r->st = R_NAME;
		return name_byte(r, c, e);
	case R_NAME:
	case R_NAME_WSP:
		return name_byte(r, c, e);
	case R_FIELD:
		if (c == '\0')
			ch = ' ';
		return hdr_add(r, &ch, 1, e);
	case R_DISCARD:
		return 0;
	default:
		fatal("message: bad reader state");
	}
}

static int
is_dot_line(const struct reader *r)
{
	return r->dot_rule && r->cur.len == 1 && r->cur.data[0] == '.';
}

static int
eol(struct reader *r, struct err *e)
{
	switch (r->st) {
	case R_BOL: /* the empty line ending the header section */
		r->st = R_BODY;
		r->bol = 1;
		return field_done(r, e);
	case R_NAME:
	case R_NAME_WSP:
		if (is_dot_line(r)) {
			r->done = 1;
			return 0;
		}
		if (line_to_body(r, e) == -1)
			return -1;
		return body_eol(r, e);
	case R_FIELD:
		r->lines++;
		r->st = R_BOL;
		return hdr_add(r, "\r\n", 2, e);
	case R_DISCARD:
		r->lines++;
		r->st = R_BOL;
		return 0;
	default:
		return body_eol(r, e);
	}
}

/* 0x80 in each octet of x that is zero, and nothing else (exact). */
static uint64_t
zero_octets(uint64_t x)
{
	uint64_t t = (x & ~HIGHS) + ~HIGHS;

	return ~(t | x | ~HIGHS);
}

/* Index of the first of the 8 octets at p flagged in m (CR or LF). */
static size_t
first_flagged(const char *p, uint64_t m)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	(void)p;
	return (size_t)__builtin_ctzll(m) / 8;
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) &&                          \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	(void)p;
	return (size_t)__builtin_clzll(m) / 8;
#else
	size_t i = 0;

	(void)m;
	while (p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
#endif
}

/*
 * Offset of the first CR or LF in p[0..n), or n.  Eight octets at a time:
 * a cheap test for any octet below 14 (LF is 10, CR 13), then an exact one
 * (TAB and other controls pass the first).
 */
static size_t
next_brk(const char *p, size_t n)
{
	size_t i = 0;
	uint64_t w, m;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		if (((w - 14 * ONES) & ~w & HIGHS) == 0)
			continue;
		m = zero_octets(w ^ ('\r' * ONES)) |
		    zero_octets(w ^ ('\n' * ONES));
		if (m != 0)
			return i + first_flagged(p + i, m);
	}
	for (; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n')
			return i;
	return n;
}

/*
 * Body octets without the dot rule, from p[0] (neither CR nor LF): lines
 * already ending in CRLF are spooled in runs as they are, other line ends
 * (LF, CR) as CRLF.  Stops at the end of p or before a CR that ends p (its
 * LF may start the next read).  *used: the octets consumed.
 */
static int
body_run(struct reader *r, const char *p, size_t n, size_t *used, struct err *e)
{
	struct spool *s = &r->sp;
	size_t i = 0, from = 0, j;

	for (;;) {
		j = i + next_brk(p + i, n - i);
		spool_col(s, j - i);
		if (j > i)
			r->bol = 0;
		if (j == n || (p[j] == '\r' && j + 1 == n))
			break;
		r->bol = 1;
		s->col = 0;
		if (p[j] == '\r' && p[j + 1] == '\n') {
			i = j + 2; /* already CRLF: part of the run */
			continue;
		}
		if (spool_raw(s, p + from, j - from, e) == -1 ||
		    spool_raw(s, "\r\n", 2, e) == -1)
			return -1;
		i = from = j + 1;
	}
	*used = j;
	if (spool_raw(s, p + from, j - from, e) == -1)
		return -1;
	return size_check(r, e);
}

/* Octets in the line ending at p[0] (CR, LF or CRLF).  A CR ending the
 * read sets *skip_lf: its LF may come first in the next one. */
static size_t
eol_len(const char *p, size_t n, int *skip_lf)
{
	if (p[0] == '\n')
		return 1;
	if (n == 1) {
		*skip_lf = 1;
		return 1;
	}
	return p[1] == '\n' ? 2 : 1;
}

/* The header section goes octet by octet (it is capped); the body in runs:
 * without the dot rule, many lines at a time, with it, a line at a time. */
static int
feed(struct reader *r, const char *p, size_t n, struct err *e)
{
	size_t i = 0, k;
	int rc;

	if (r->skip_lf && n > 0 && p[0] == '\n')
		i = 1; /* the LF of a CRLF split between two reads */
	r->skip_lf = 0;
	while (i < n && !r->done) {
		k = 1;
		if (p[i] == '\r' || p[i] == '\n') {
			rc = eol(r, e);
			k = eol_len(p + i, n - i, &r->skip_lf);
		} else if (r->st != R_BODY)
			rc = head_byte(r, (unsigned char)p[i], e);
		else if (!r->dot_rule)
			rc = body_run(r, p + i, n - i, &k, e);
		else {
			k = next_brk(p + i, n - i);
			rc = body_bytes(r, p + i, k, e);
		}
		if (rc == -1)
			return -1;
		i += k;
	}
	return 0;
}

/* End of input: complete what is pending. */
static int
finish(struct reader *r, struct err *e)
{
	/* From a header state, eol() leaves R_BOL or R_BODY (or done). */
	if (!r->done && r->st != R_BOL && r->st != R_BODY && eol(r, e) == -1)
		return -1;
	if (!r->done && r->st == R_BOL && field_done(r, e) == -1)
		return -1;
	if (!r->done && r->st == R_BODY && !r->bol && body_eol(r, e) == -1)
		return -1;
	return spool_flush(&r->sp, e);
}

static const char *
tmp_dir(const struct message_read_opts *o)
{
	const char *d;

	if (o != NULL && o->tmpdir != NULL && o->tmpdir[0] != '\0')
		return o->tmpdir;
	if ((d = getenv("TMPDIR")) != NULL && d[0] == '/')
		return d;
	return "/tmp";
}

static struct message *
message_new(const char *tmpdir)
{
	struct message *m = xcalloc(1, sizeof(*m));

	m->fd = -1;
	m->tmpdir = xstrdup(tmpdir);
	m->rcpt_err.kind = ERR_NONE;
	return m;
}

/* read() with EINTR retried and a non-blocking fd waited for. */
static ssize_t
read_some(int fd, char *p, size_t n)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	ssize_t r;

	for (;;) {
		if ((r = read(fd, p, n)) != -1)
			return r;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			(void)poll(&pfd, 1, -1);
		else if (errno != EINTR)
			return -1;
	}
}

static int
read_loop(struct reader *r, int fd, struct err *e)
{
	char *chunk = xcalloc(1, IO_CHUNK);
	ssize_t n;
	int rc = 0;

	while (rc == 0 && !r->done) {
		if ((n = read_some(fd, chunk, IO_CHUNK)) == -1)
			rc = err_set(e, ERR_IO, "reading the message: %s",
			    strerror(errno));
		else if (n == 0)
			break;
		else
			rc = feed(r, chunk, (size_t)n, e);
	}
	free(chunk);
	return rc;
}

static int
field_is_resent(const struct field *f)
{
	return f->namelen > 7 && ascii_ncasecmp(f->raw, "Resent-", 7) == 0;
}

/*
 * -t recipients: To, Cc, Bcc; or, if a Resent- field exists, the
 * Resent-To/Cc/Bcc of the first (topmost, newest: RFC 5322 3.6.6) block of
 * consecutive Resent- fields.
 */
static void
collect_rcpts(struct message *m)
{
	static const char *const plain[] = {"To", "Cc", "Bcc"};
	static const char *const resent[] = {"Resent-To", "Resent-Cc",
	    "Resent-Bcc"};
	const char *const *names = plain;
	size_t i, j, first = 0;

	while (first < m->nf && !field_is_resent(&m->f[first]))
		first++;
	if (first < m->nf)
		names = resent;
	else
		first = 0;
	for (i = first; i < m->nf; i++) {
		const struct field *f = &m->f[i];
		if (names == resent && !field_is_resent(f))
			break;
		for (j = 0; j < 3 && !field_is(f, names[j]); j++)
			;
		if (j < 3 && addr_parse_list(f->value, strlen(f->value),
				 &m->rcpts, &m->rcpt_err) == -1) {
			err_prefix(&m->rcpt_err, "%.*s", (int)f->namelen,
			    f->raw);
			addr_list_free(&m->rcpts);
			return;
		}
	}
}

int
message_read(int fd, const struct message_read_opts *o, struct message **out,
    struct err *e)
{
	struct reader r;
	int rc = -1;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.m = message_new(tmp_dir(o));
	buf_init(&r.cur, MESSAGE_MAX_FIELD);
	r.st = R_BOL;
	r.bol = 1;
	r.max_size = o != NULL ? o->max_size : 0;
	r.dot_rule = o != NULL && !o->ignore_dots && o->stdin_is_tty;
	if (spool_open(&r.sp, r.m->tmpdir, e) == -1)
		goto out;
	if (read_loop(&r, fd, e) == -1 || finish(&r, e) == -1)
		goto out;
	spool_to_body(&r.sp, r.m);
	collect_rcpts(r.m);
	*out = r.m;
	r.m = NULL;
	rc = 0;
out:
	spool_free(&r.sp);
	buf_reset(&r.cur);
	message_free(r.m);
	return rc;
}

/* ---- accessors ---- */

const struct addr_list *
message_header_rcpts(const struct message *m)
{
	return &m->rcpts;
}

int
message_rcpts(const struct message *m, const struct addr_list **out,
    struct err *e)
{
	*out = &m->rcpts;
	if (m->rcpt_err.kind == ERR_NONE)
		return 0;
	if (e != NULL)
		*e = m->rcpt_err;
	return -1;
}

size_t
message_nheaders(const struct message *m)
{
	return m->nf;
}

const char *
message_header(const struct message *m, size_t i, size_t *len)
{
	if (i >= m->nf)
		return NULL;
	if (len != NULL)
		*len = m->f[i].len;
	return m->f[i].raw;
}

const char *
message_get(const struct message *m, const char *name)
{
	size_t i = field_find(m, name);

	return i < m->nf ? m->f[i].value : NULL;
}

int
message_body_fd(const struct message *m)
{
	return m->fd;
}

unsigned long long
message_body_size(const struct message *m)
{
	return m->body_size;
}

unsigned long long
message_size(const struct message *m)
{
	return m->hbytes + 2 + m->body_size;
}

int
message_has_8bit(const struct message *m)
{
	size_t i, j;

	if (m->body_8bit)
		return 1;
	for (i = 0; i < m->nf; i++)
		for (j = 0; j < m->f[i].len; j++)
			if ((unsigned char)m->f[i].raw[j] >= 0x80)
				return 1;
	return 0;
}

void
message_free(struct message *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nf; i++)
		field_free(&m->f[i]);
	free(m->f);
	if (m->fd != -1)
		close(m->fd);
	addr_list_free(&m->rcpts);
	free(m->tmpdir);
	free(m);
}

/* ---- writing ---- */

/* The body from off on, through user space: pread() and write(). */
static int
body_copy_rw(const struct message *m, int fd, unsigned long long off,
    struct err *e)
{
	char *chunk = xcalloc(1, IO_CHUNK);
	size_t n;
	int rc = -1;

	while (off < m->body_size) {
		n = m->body_size - off < IO_CHUNK ? (size_t)(m->body_size - off)
						  : IO_CHUNK;
		if (body_pread(m, chunk, n, off, e) == -1 ||
		    write_all(fd, chunk, n, e) == -1)
			goto out;
		off += n;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

/*
 * The body: sendfile() moves it without a copy through user space where
 * the kernel can.  At its first failure or short read we carry on with
 * body_copy_rw() from where it stopped, which reports any error as usual.
 */
static int
body_copy(const struct message *m, int fd, struct err *e)
{
	unsigned long long off = 0;
#ifdef __linux__
	unsigned long long left;
	off_t o = 0;
	ssize_t w;

	while (off < m->body_size) {
		left = m->body_size - off;
		w = sendfile(fd, m->fd, &o,
		    left < (1U << 30) ? left : 1U << 30);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off = (unsigned long long)o;
	}
#endif
	return body_copy_rw(m, fd, off, e);
}

int
message_write(const struct message *m, int fd, struct err *e)
{
	char *h;
	size_t i, n = 2;
	int rc;

	for (i = 0; i < m->nf; i++)
		n += m->f[i].len;
	h = xcalloc(1, n); /* the header section in one write */
	for (i = 0, n = 0; i < m->nf; i++) {
		memcpy(h + n, m->f[i].raw, m->f[i].len);
		n += m->f[i].len;
	}
	memcpy(h + n, "\r\n", 2);
	rc = write_all(fd, h, n + 2, e);
	free(h);
	return rc == -1 ? -1 : body_copy(m, fd, e);
}

/*
 * A complete raw field: a name of printable ASCII but ':', optional WSP,
 * ':', then no NUL, no bare CR or LF, each CRLF followed by WSP (folding)
 * except an optional final one, and no line of WSP only.
 */
static const char *
field_check(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && (unsigned char)p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return "no field name";
	while (i < len && is_wsp(p[i]))
		i++;
	if (i == len || p[i] != ':')
		return "no colon after the field name";
	for (; i < len; i++) {
		if (p[i] == '\0')
			return "NUL in the field";
		if (p[i] == '\n' ||
		    (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n')))
			return "bare CR or LF in the field";
		if (p[i] != '\r')
			continue;
		if (i + 2 == len)
			break; /* the final CRLF */
		for (i += 2; i < len && is_wsp(p[i]); i++)
			;
		if (i == len || p[i] == '\r')
			return "a line break not followed by text";
		if (p[i - 1] == '\n')
			return "a line break not followed by whitespace";
		i--; /* look at this octet again */
	}
	return NULL;
}

static int
field_add_raw(struct message *m, size_t at, const char *p, size_t len,
    struct err *e)
{
	const char *why;
	struct buf b;

	if ((why = field_check(p, len)) != NULL)
		return err_set(e, ERR_DATA, "malformed header field: %s", why);
	buf_init(&b, len + 2);
	if (buf_add(&b, p, len) == -1)
		fatal_oom();
	if ((len < 2 || memcmp(p + len - 2, "\r\n", 2) != 0) &&
	    buf_add(&b, "\r\n", 2) == -1)
		fatal_oom();
	field_insert(m, at, b.data, b.len);
	buf_reset(&b);
	return 0;
}

int
message_prepend(struct message *m, const char *field, size_t len, struct err *e)
{
	return field_add_raw(m, 0, field, len, e);
}

/* ---- RFC 2047 encoded-words (B encoding) ---- */

static const char *
charset_of(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return addr_utf8_valid(p, n) ? "UTF-8" : "UNKNOWN-8BIT";
	return "US-ASCII";
}

/*
 * Append p as encoded-words of at most 75 octets (RFC 2047 2), separated
 * by CRLF SP; a UTF-8 character is never split between two words (2047 5).
 */
static int
encode_words(struct buf *b, const char *p, size_t n)
{
	const char *cs = charset_of(p, n);
	size_t room = (75 - 7 - strlen(cs)) / 4 * 3, k;
	int utf8 = strcmp(cs, "UTF-8") == 0;
	char b64[80];

	while (n > 0) {
		k = n < room ? n : room;
		while (utf8 && k < n && k > 1 &&
		       ((unsigned char)p[k] & 0xc0) == 0x80)
			k--;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)p, k,
		    sodium_base64_VARIANT_ORIGINAL);
		if (buf_printf(b, "=?%s?B?%s?=", cs, b64) == -1)
			return -1;
		p += k;
		n -= k;
		if (n > 0 && buf_addstr(b, "\r\n ") == -1)
			return -1;
	}
	return 0;
}

/* ---- folding long header lines ---- */

static int
field_in(const struct field *f, const char *const *names)
{
	for (; *names != NULL; names++)
		if (field_is(f, *names))
			return 1;
	return 0;
}

static int
field_unstructured(const struct field *f)
{
	static const char *const names[] = {"Subject", "Comments",
	    "Content-Description", NULL};

	return field_in(f, names) ||
	       (f->namelen > 2 && ascii_ncasecmp(f->raw, "X-", 2) == 0);
}

static int
field_addresses(const struct field *f)
{
	static const char *const names[] = {"From", "Sender", "Reply-To", "To",
	    "Cc", "Bcc", "Resent-From", "Resent-Sender", "Resent-To",
	    "Resent-Cc", "Resent-Bcc", "Mail-Followup-To",
	    "Disposition-Notification-To", NULL};

	return field_in(f, names);
}

struct qstate {
	int q, esc; /* in a quoted string; the next octet is quoted */
};

static void
qstep(struct qstate *s, char c)
{
	if (s->esc)
		s->esc = 0;
	else if (s->q && c == '\\')
		s->esc = 1;
	else if (c == '"')
		s->q = !s->q;
}

/*
 * Where to break l (from s, with ins octets inserted before it): the last
 * break point that keeps the piece within MESSAGE_LINE_MAX, else the first
 * one.  Before a WSP that follows a non-WSP; with commas, after a ','
 * outside quotes (*ins then 1: a SP is inserted).  Only before last, so
 * no line of WSP only is made.  Returns 0 if there is none.
 */
static size_t
find_break(const char *l, size_t s, size_t ins, size_t last, int commas,
    struct qstate *qs, size_t *cins)
{
	struct qstate q = *qs, at = *qs;
	size_t i, cand = 0;

	for (i = s + 1; i < last; i++) {
		qstep(&q, l[i - 1]);
		if (cand != 0 && i - s + ins > MESSAGE_LINE_MAX)
			break;
		if (q.esc)
			continue;
		if ((is_wsp(l[i]) && !is_wsp(l[i - 1])) ||
		    (commas && l[i - 1] == ',' && !q.q && !is_wsp(l[i]))) {
			cand = i;
			*cins = !is_wsp(l[i]);
			at = q;
		}
	}
	*qs = at;
	return cand;
}

static int
put_piece(struct buf *out, const char *p, size_t n, size_t ins)
{
	if ((ins && buf_addch(out, ' ') == -1) || buf_add(out, p, n) == -1 ||
	    buf_add(out, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* Append one physical line (no CRLF) to out, folded.  Returns 1 if a piece
 * is still too long, 0 if not, -1 if out is full. */
static int
fold_line(struct buf *out, const char *l, size_t n, int commas,
    struct qstate *q)
{
	size_t s = 0, last = n, ins = 0, cins = 0, cand, i;
	int longer = 0;

	while (last > 0 && is_wsp(l[last - 1]))
		last--;
	while (n - s + ins > MESSAGE_LINE_MAX) {
		struct qstate t = *q;
		if ((cand = find_break(l, s, ins, last, commas, &t, &cins)) ==
		    0) {
			longer = 1;
			break;
		}
		if (put_piece(out, l + s, cand - s, ins) == -1)
			return -1;
		s = cand;
		ins = cins;
		*q = t;
	}
	if (put_piece(out, l + s, n - s, ins) == -1)
		return -1;
	for (i = s; i < n; i++)
		qstep(q, l[i]);
	return longer;
}

/* Name: =?cs?B?...?= for an unstructured field that folding cannot fix. */
static int
encode_field(struct buf *out, const struct field *f)
{
	buf_clear(out);
	if (buf_add(out, f->raw, f->namelen) == -1 ||
	    buf_addstr(out, ": ") == -1 ||
	    encode_words(out, f->value, strlen(f->value)) == -1 ||
	    buf_addstr(out, "\r\n") == -1)
		return -1;
	return 0;
}

static int
refold(struct message *m, size_t i, struct err *e)
{
	const struct field *f = &m->f[i];
	const char *p = f->raw, *end = f->raw + f->len, *nl;
	struct qstate q = {0, 0};
	struct buf out;
	int r, longer = 0;

	buf_init(&out, 4 * f->len + 256);
	for (; p < end; p = nl + 2) {
		if ((nl = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			fatal("message: field without CRLF");
		if ((r = fold_line(&out, p, (size_t)(nl - p),
			 field_addresses(f), &q)) == -1)
			goto full;
		longer |= r;
	}
	if (longer && field_unstructured(f) && encode_field(&out, f) == -1)
		goto full;
	field_replace(m, i, out.data, out.len);
	buf_reset(&out);
	return 0;
full:
	buf_reset(&out);
	return err_set(e, ERR_DATA, "header field too long to fold");
}

static int
fold_headers(struct message *m, struct err *e)
{
	size_t i;

	for (i = 0; i < m->nf; i++)
		if (field_long(&m->f[i]) && refold(m, i, e) == -1)
			return -1;
	return 0;
}

/* Append a field we built (CRLF-terminated), folded if it needs it. */
static int
field_append(struct message *m, const struct buf *b, struct err *e)
{
	if (field_add_raw(m, m->nf, b->data, b->len, e) == -1)
		return -1;
	if (field_long(&m->f[m->nf - 1]))
		return refold(m, m->nf - 1, e);
	return 0;
}

static int
field_append_str(struct message *m, const char *s, struct err *e)
{
	struct buf b;
	int r;

	buf_init(&b, MESSAGE_MAX_FIELD);
	if (buf_addstr(&b, s) == -1)
		fatal("message: built field too long");
	r = field_append(m, &b, e);
	buf_reset(&b);
	return r;
}

/* ---- re-encoding the body ---- */

enum xform { XF_QPENC, XF_QPFOLD, XF_FOLD };

struct xf {
	enum xform kind;
	size_t col;
	int pend;	     /* XF_QPENC: SP or HT held back */
	struct addr_utf8 u8; /* of the input */
	int saw8bit;
	int dash; /* in a multipart: '-' never starts a line we break */
	unsigned char b64[3]; /* base64: octets not yet encoded */
	size_t nb64;
	struct spool out;
};

static int
xf_soft(struct xf *x, struct err *e)
{
	x->col = 0;
	if (spool_text(&x->out, "=", 1, e) == -1)
		return -1;
	return spool_eol(&x->out, e);
}

/* Put w octets, with a soft break first if the line would pass limit. */
static int
xf_put(struct xf *x, const char *p, size_t w, size_t limit, struct err *e)
{
	if (x->col + w > limit && xf_soft(x, e) == -1)
		return -1;
	x->col += w;
	return spool_text(&x->out, p, w, e);
}

static int
xf_hex(struct xf *x, unsigned char c, size_t limit, struct err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3];

	t[0] = '=';
	t[1] = hex[c >> 4];
	t[2] = hex[c & 15];
	return xf_put(x, t, 3, limit, e);
}

static int
xf_eol(struct xf *x, struct err *e)
{
	x->col = 0;
	return spool_eol(&x->out, e);
}

/* Quoted-printable (RFC 2045 6.7): rules 1-5, CRLF as a hard break. */
static int
qp_enc(struct xf *x, unsigned char c, struct err *e)
{
	char ch = (char)c, p = (char)x->pend;

	x->pend = 0;
	if (c == '\n') {
		if (p != 0 && xf_hex(x, (unsigned char)p, QP_LIMIT, e) == -1)
			return -1;
		return xf_eol(x, e);
	}
	if (p != 0 && xf_put(x, &p, 1, QP_LIMIT, e) == -1)
		return -1;
	if (is_wsp(c)) {
		x->pend = c; /* encoded only at the end of a line (rule 3) */
		return 0;
	}
	if (c > 32 && c < 127 && c != '=')
		return xf_put(x, &ch, 1, QP_LIMIT, e);
	return xf_hex(x, c, QP_LIMIT, e);
}

/* An existing quoted-printable body: soft breaks, never inside =XX. */
static int
qp_fold(struct xf *x, unsigned char c, struct err *e)
{
	char ch = (char)c;

	if (c == '\n')
		return xf_eol(x, e);
	if (c == '\0' || c >= 0x80)
		return xf_hex(x, c, QPFOLD_LIMIT, e);
	/* The '=' makes room for its two hex digits on the same line. */
	if (c == '=' && x->col + 3 > QPFOLD_LIMIT && xf_soft(x, e) == -1)
		return -1;
	return xf_put(x, &ch, 1, QPFOLD_LIMIT, e);
}

/* Opaque bodies: CRLF after every 998 octets of a line, NUL to SP. */
static int
hard_fold(struct xf *x, unsigned char c, struct err *e)
{
	char ch = c == '\0' ? ' ' : (char)c;

	if (c == '\n')
		return xf_eol(x, e);
	if (x->col == MESSAGE_LINE_MAX && xf_eol(x, e) == -1)
		return -1;
	x->col++;
	return spool_text(&x->out, &ch, 1, e);
}

static int
xf_byte(struct xf *x, unsigned char c, struct err *e)
{
	if (c == '\r') /* the body holds CR only before LF */
		return 0;
	if (c >= 0x80)
		x->saw8bit = 1;
	switch (x->kind) {
	case XF_QPENC:
		return qp_enc(x, c, e);
	case XF_QPFOLD:
		return qp_fold(x, c, e);
	default:
		return hard_fold(x, c, e);
	}
}

/*
 * The octets at p (at most n) that the transformation copies unchanged, one
 * by one, into the current line: for XF_QPENC the printable ones but '='
 * (rule 2), for XF_QPFOLD all but NUL, CR, LF, '=' and 8-bit ones, for
 * XF_FOLD all but NUL, CR and LF.  *limit is the line length at which a
 * break comes first.  xf_literal() then copies the run in slices with the
 * same breaks xf_byte() would make one octet at a time.
 */
static size_t
xf_plain(const struct xf *x, const unsigned char *p, size_t n, size_t *limit)
{
	size_t i = 0;

	switch (x->kind) {
	case XF_QPENC:
		*limit = QP_LIMIT;
		while (i < n && p[i] > 32 && p[i] < 127 && p[i] != '=')
			i++;
		break;
	case XF_QPFOLD:
		*limit = QPFOLD_LIMIT;
		while (i < n && p[i] != 0 && p[i] < 0x80 && p[i] != '\r' &&
		       p[i] != '\n' && p[i] != '=')
			i++;
		break;
	default:
		*limit = MESSAGE_LINE_MAX;
		while (i < n && p[i] != 0 && p[i] != '\r' && p[i] != '\n')
			i++;
		break;
	}
	return i;
}

static int
xf_literal(struct xf *x, const char *p, size_t n, size_t limit, struct err *e)
{
	size_t k;

	int broke;

	while (n > 0) {
		broke = x->col >= limit;
		if (broke &&
		    (x->kind == XF_FOLD ? xf_eol(x, e) : xf_soft(x, e)) == -1)
			return -1;
		if (broke && x->dash && x->kind == XF_QPFOLD && *p == '-') {
			/* After a soft break of ours: "=2D" decodes the
			 * same, and no "--" line can become a delimiter. */
			if (spool_text(&x->out, "=2D", 3, e) == -1)
				return -1;
			x->col = 3;
			p++;
			n--;
			continue;
		}
		k = limit - x->col < n ? limit - x->col : n;
		if (spool_text(&x->out, p, k, e) == -1)
			return -1;
		x->col += k;
		p += k;
		n -= k;
	}
	return 0;
}

/*
 * Quoted-printable encoding of a chunk in one pass, the same output as
 * qp_enc() octet by octet, but each line is built in a local buffer and
 * handed to the spool once: calling through xf_put() per octet was most
 * of the cost of re-encoding.  line holds the current line from column
 * x->col - len on; it is flushed at every line end and at the chunk end.
 */
static int
qp_flush(struct xf *x, char *line, size_t *len, int eol, struct err *e)
{
	if (*len > 0 && spool_text(&x->out, line, *len, e) == -1)
		return -1;
	*len = 0;
	if (!eol)
		return 0;
	x->col = 0;
	return spool_eol(&x->out, e);
}

/* Put w octets of t, with a soft break first past QP_LIMIT. */
static int
qp_add(struct xf *x, char *line, size_t *len, const char *t, size_t w,
    struct err *e)
{
	if (x->col + w > QP_LIMIT) {
		line[(*len)++] = '=';
		if (qp_flush(x, line, len, 1, e) == -1)
			return -1;
	}
	if (x->dash && x->col == 0 && w == 1 && t[0] == '-') {
		t = "=2D"; /* no "--" line that could be a delimiter */
		w = 3;
	}
	memcpy(line + *len, t, w);
	*len += w;
	x->col += w;
	return 0;
}

static int
qp_octet(struct xf *x, char *line, size_t *len, unsigned char c, int lit,
    struct err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3];

	if (lit) {
		t[0] = (char)c;
		return qp_add(x, line, len, t, 1, e);
	}
	t[0] = '=';
	t[1] = hex[c >> 4];
	t[2] = hex[c & 15];
	return qp_add(x, line, len, t, 3, e);
}

/* Octets quoted-printable copies as they are (rule 2): 33-126 but '='. */
static int
qp_literal(unsigned char c)
{
	return c > 32 && c < 127 && c != '=';
}

/* Is p[i] copied as it is?  A literal, or SP/HT that the chunk shows is
 * not at the end of a line (rule 3 encodes only those; the body holds CR
 * only before LF).  SP/HT last in the chunk takes the slow path. */
static int
qp_plain(const unsigned char *p, size_t n, size_t i)
{
	return qp_literal(p[i]) || (is_wsp(p[i]) && i + 1 < n &&
				       p[i + 1] != '\r' && p[i + 1] != '\n');
}

/*
 * Are the 8 octets at p (and the one after them, which must exist) copied
 * as they are?  All in 0x20-0x7e but '=', and a final SP not before CR or
 * LF: qp_plain() for 8 at once, by bit tricks on a 64-bit word ("has a
 * byte less than", "greater than", "equal to": exact as yes/no answers).
 */
static int
qp_plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t w, eq;

	memcpy(&w, p, 8);
	eq = w ^ (ones * '=');
	if ((((w - ones * 0x20) & ~w) | ((w + ones * (127 - 0x7e)) | w) |
		((eq - ones) & ~eq)) &
	    high)
		return 0;
	return p[7] != ' ' || (p[8] != '\r' && p[8] != '\n');
}

/* One octet that is not a literal copied on the fast path. */
static int
qp_special(struct xf *x, char *line, size_t *len, unsigned char c,
    struct err *e)
{
	unsigned char w = (unsigned char)x->pend;

	if (c == '\r')
		return 0;
	if (c >= 0x80)
		x->saw8bit = 1;
	x->pend = 0;
	if (c == '\n') {
		/* Rule 3: white space at the end of a line is encoded. */
		if (w != 0 && qp_octet(x, line, len, w, 0, e) == -1)
			return -1;
		return qp_flush(x, line, len, 1, e);
	}
	if (w != 0 && qp_octet(x, line, len, w, 1, e) == -1)
		return -1;
	if (is_wsp(c)) {
		x->pend = c;
		return 0;
	}
	return qp_octet(x, line, len, c, qp_literal(c), e);
}

static int
qp_chunk(struct xf *x, const unsigned char *p, size_t n, struct err *e)
{
	char line[QP_LIMIT + 8];
	size_t len = 0, i = 0, col;

	while (i < n) {
		if (x->pend == 0 && qp_plain(p, n, i)) {
			/* The common case: literal octets into the line. */
			if (x->col >= QP_LIMIT) {
				line[len++] = '=';
				if (qp_flush(x, line, &len, 1, e) == -1)
					return -1;
			}
			if (x->dash && x->col == 0 && p[i] == '-') {
				if (qp_add(x, line, &len, "-", 1, e) == -1)
					return -1;
				i++;
				continue;
			}
			col = x->col;
			while (col + 8 <= QP_LIMIT && i + 8 < n &&
			       qp_plain8(p + i)) {
				memcpy(line + len, p + i, 8);
				len += 8;
				col += 8;
				i += 8;
			}
			for (; i < n && col < QP_LIMIT; col++) {
				unsigned char c = p[i];

				if (!(c > 32 && c < 127 && c != '=') &&
				    !qp_plain(p, n, i))
					break;
				line[len++] = (char)c;
				i++;
			}
			x->col = col;
		} else if (qp_special(x, line, &len, p[i++], e) == -1)
			return -1;
	}
	return qp_flush(x, line, &len, 0, e);
}

/* One chunk: runs of plain octets in slices, the others one by one. */
static int
xf_chunk(struct xf *x, const char *chunk, size_t n, struct err *e)
{
	const unsigned char *u = (const unsigned char *)chunk;
	size_t i = 0, run, limit, j;

	if (x->kind == XF_QPENC)
		return qp_chunk(x, u, n, e);
	while (i < n) {
		run = x->pend == 0 ? xf_plain(x, u + i, n - i, &limit) : 0;
		if (run > 0) {
			for (j = i; !x->saw8bit && j < i + run; j++)
				x->saw8bit = u[j] >= 0x80;
			if (xf_literal(x, chunk + i, run, limit, e) == -1)
				return -1;
			i += run;
		} else if (xf_byte(x, u[i++], e) == -1)
			return -1;
	}
	return 0;
}

static int
xf_run(struct message *m, struct xf *x, struct err *e)
{
	char *chunk = xcalloc(1, IO_CHUNK);
	unsigned long long off = 0;
	size_t n;
	int rc = -1;

	if (spool_open(&x->out, m->tmpdir, e) == -1)
		goto out;
	for (; off < m->body_size; off += n) {
		n = m->body_size - off < IO_CHUNK ? (size_t)(m->body_size - off)
						  : IO_CHUNK;
		if (body_pread(m, chunk, n, off, e) == -1)
			goto out;
		addr_utf8_feed(&x->u8, chunk, n);
		if (xf_chunk(x, chunk, n, e) == -1)
			goto out;
	}
	if (x->pend != 0 &&
	    xf_hex(x, (unsigned char)x->pend, QP_LIMIT, e) == -1)
		goto out;
	if (spool_flush(&x->out, e) == -1)
		goto out;
	spool_to_body(&x->out, m);
	rc = 0;
out:
	free(chunk);
	spool_free(&x->out);
	return rc;
}

/* Skip WSP and comments at the start of a structured field value. */
static const char *
skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (depth > 0 && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (depth > 0 && *p == ')')
			depth--;
		else if (depth == 0 && !is_wsp(*p))
			break;
	}
	return p;
}

/* Does the value start with this token (case-insensitive)? */
static int
token_is(const char *value, const char *tok, const char *stop)
{
	const char *p = skip_cfws(value);
	size_t n = strlen(tok);

	return ascii_ncasecmp(p, tok, n) == 0 &&
	       (p[n] == '\0' || strchr(stop, p[n]) != NULL);
}

static enum xform
body_xform(const struct message *m)
{
	const char *ct = message_get(m, "Content-Type");
	const char *cte = message_get(m, "Content-Transfer-Encoding");

	if (ct != NULL && (token_is(ct, "multipart", " \t(/") ||
			      token_is(ct, "message", " \t(/")))
		return XF_FOLD;
	if (cte == NULL || token_is(cte, "7bit", " \t(;") ||
	    token_is(cte, "8bit", " \t(;") || token_is(cte, "binary", " \t(;"))
		return XF_QPENC;
	if (token_is(cte, "quoted-printable", " \t(;"))
		return XF_QPFOLD;
	return XF_FOLD;
}

/* ---- re-encoding the parts of a multipart body ---- */

#define MP_DEPTH 8		    /* nested multiparts */
#define MP_PARTS 1000		    /* body parts in all */
#define MP_SEGS (4 * MP_PARTS + 16) /* segments of the body */
#define MP_KEEP 1024		    /* octets of a line kept for matching */
#define MP_HDR_MAX 16384	    /* a part's header section */
#define B64_LINE 76		    /* RFC 2045 6.8 */

/*
 * Pass 1 cuts the body into contiguous segments, each with what pass 2
 * does to it: copy it, copy it with NUL and 8-bit octets made '?'
 * (preamble and epilogue), copy a part's header section with its
 * Content-Transfer-Encoding replaced, or encode a part's content.
 */
enum seg_kind {
	SG_COPY,
	SG_SCRUB,
	SG_HDR_QP,
	SG_HDR_B64,
	SG_QP,
	SG_B64,
	SG_QPFOLD
};

struct seg {
	unsigned long long off, len;
	enum seg_kind kind;
};

/* Lines of the body spool, read IO_CHUNK at a time. */
struct mline {
	const struct message *m;
	char *chunk;
	size_t clen, cpos;
	unsigned long long coff; /* the chunk's offset in the body */
	char keep[MP_KEEP];	 /* the line's first octets, no line end */
	size_t nkeep;
	unsigned long long off, len; /* len without the line end */
	size_t eol;		     /* 2 (CRLF), 1 (LF) or 0 (end of body) */
	int has8, hasnul;
};

/* The next line: 1, or 0 at the end of the body, or -1 on error. */
static int
ml_next(struct mline *r, struct err *e)
{
	unsigned long long total = 0;
	const char *p, *nl;
	char tail[2] = {0, 0};
	size_t k, n;

	r->off = r->coff + r->cpos;
	r->nkeep = 0;
	r->has8 = r->hasnul = 0;
	for (;;) {
		if (r->cpos == r->clen) {
			r->coff += r->clen;
			r->cpos = r->clen = 0;
			if (r->coff >= r->m->body_size)
				break;
			n = r->m->body_size - r->coff < IO_CHUNK
				? (size_t)(r->m->body_size - r->coff)
				: IO_CHUNK;
			if (body_pread(r->m, r->chunk, n, r->coff, e) == -1)
				return -1;
			r->clen = n;
		}
		p = r->chunk + r->cpos;
		n = r->clen - r->cpos;
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) + 1 : n;
		n = MP_KEEP - r->nkeep < k ? MP_KEEP - r->nkeep : k;
		memcpy(r->keep + r->nkeep, p, n);
		r->nkeep += n;
		r->has8 = r->has8 || any_8bit(p, k);
		r->hasnul = r->hasnul || memchr(p, '\0', k) != NULL;
		tail[0] = k >= 2 ? p[k - 2] : tail[1];
		tail[1] = p[k - 1];
		total += k;
		r->cpos += k;
		if (nl != NULL)
			break;
	}
	if (total == 0)
		return 0;
	r->eol = tail[1] != '\n' ? 0 : total >= 2 && tail[0] == '\r' ? 2 : 1;
	r->len = total - r->eol;
	if (r->nkeep > r->len)
		r->nkeep = (size_t)r->len;
	return 1;
}

struct mlevel {
	char b[71]; /* the boundary (RFC 2046 5.1.1: 1-70 bchars) */
	size_t blen;
	int digest; /* multipart/digest: parts default to message/rfc822 */
};

/* The boundary parameter of a Content-Type value; -1 if none or invalid. */
static int
mp_boundary(const char *ct, struct mlevel *lv)
{
	static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
	const char *p, *s;
	size_t n = 0, i;
	int q = 0;

	for (p = ct; *p != '\0' && n == 0; p++) {
		if (q) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				q = 0;
			continue;
		}
		if (*p == '"')
			q = 1;
		if (*p != ';')
			continue;
		s = skip_cfws(p + 1);
		if (ascii_ncasecmp(s, "boundary", 8) != 0)
			continue;
		s = skip_cfws(s + 8);
		if (*s != '=')
			continue;
		s = skip_cfws(s + 1);
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (n == 70)
					return -1;
				lv->b[n++] = *s;
			}
			if (*s != '"')
				return -1;
		} else
			for (; *s != '\0' && *s != ';' && *s != '(' &&
			       !is_wsp(*s);
			     s++) {
				if (n == 70)
					return -1;
				lv->b[n++] = *s;
			}
		if (n == 0)
			return -1;
	}
	if (n == 0 || lv->b[n - 1] == ' ')
		return -1;
	for (i = 0; i < n; i++)
		if (lv->b[i] == '\0' || strchr(bchars, lv->b[i]) == NULL)
			return -1;
	lv->b[n] = '\0';
	lv->blen = n;
	lv->digest = token_is(ct, "multipart/digest", " \t(;");
	return 0;
}

/* 0: not a delimiter line of lv, 1: a delimiter, 2: the close delimiter. */
static int
mp_delim(const struct mline *l, const struct mlevel *lv)
{
	size_t i = lv->blen + 2;
	int close = 0;

	if (l->len != l->nkeep || l->nkeep < i || l->keep[0] != '-' ||
	    l->keep[1] != '-' || memcmp(l->keep + 2, lv->b, lv->blen) != 0)
		return 0;
	if (l->nkeep - i >= 2 && l->keep[i] == '-' && l->keep[i + 1] == '-') {
		close = 1;
		i += 2;
	}
	for (; i < l->nkeep; i++) /* transport padding */
		if (!is_wsp(l->keep[i]))
			return 0;
	return 1 + close;
}

/* The unfolded value of field name in a part's header section. */
static void
hdr_value(const struct buf *h, const char *name, char *out, size_t size)
{
	const char *p = h->data, *end, *q;
	size_t k = strlen(name), o = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	end = p + h->len;
	for (; p < end;
	     p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1) {
		if ((size_t)(end - p) <= k || ascii_ncasecmp(p, name, k) != 0)
			continue;
		for (q = p + k; q < end && is_wsp(*q); q++)
			;
		if (q == end || *q != ':')
			continue;
		for (q++; q < end && o + 1 < size; q++) {
			if (*q == '\r')
				continue;
			if (*q == '\n') {
				if (q + 1 == end || !is_wsp(q[1]))
					break;
				continue;
			}
			out[o++] = *q == '\0' ? ' ' : *q;
		}
		out[o] = '\0';
		return;
	}
}

enum wstate { W_PRE, W_HDR, W_BODY, W_EPI };

struct walk {
	struct seg *seg;
	size_t nseg;
	unsigned long long cur; /* start of the region not yet a segment */
	size_t peol;		/* line end of the previous line */
	struct mlevel lv[MP_DEPTH];
	int depth;
	size_t parts;
	int allow8, changed;
	enum wstate st;
	int r8, rnul, rlong; /* in the current region's lines */
	struct buf hdr;	     /* the current part's header section */
	size_t hseg;	     /* its segment */
	enum seg_kind plan;  /* what its content gets if it needs work */
};

/* The region up to end becomes a segment (empty ones are dropped). */
static int
mp_emit(struct walk *w, unsigned long long end, enum seg_kind kind)
{
	if (end <= w->cur)
		return 0;
	if (w->nseg == MP_SEGS)
		return -1;
	w->seg[w->nseg].off = w->cur;
	w->seg[w->nseg].len = end - w->cur;
	w->seg[w->nseg++].kind = kind;
	w->cur = end;
	return 0;
}

/* What a leaf's content gets if it has NUL, long lines or 8-bit. */
static enum seg_kind
mp_plan(const struct walk *w, const char *ct, const char *cte)
{
	if (ct[0] == '\0' && w->lv[w->depth - 1].digest)
		return SG_COPY; /* message/rfc822 (RFC 2046 5.1.5) */
	if (token_is(ct, "message", " \t(/") ||
	    token_is(ct, "multipart", " \t(/"))
		return SG_COPY; /* 7bit, 8bit or binary only (RFC 2046) */
	if (cte[0] == '\0' || token_is(cte, "7bit", " \t(;") ||
	    token_is(cte, "8bit", " \t(;") || token_is(cte, "binary", " \t(;"))
		return ct[0] == '\0' || token_is(ct, "text", " \t(/") ? SG_QP
								      : SG_B64;
	if (token_is(cte, "quoted-printable", " \t(;"))
		return SG_QPFOLD;
	return SG_COPY;
}

/* The current region ends where line l (a delimiter) starts. */
static int
mp_region_end(struct walk *w, const struct mline *l)
{
	unsigned long long end = l->off - (l->off >= w->peol ? w->peol : 0);
	enum seg_kind k = SG_COPY;
	int needs = w->rnul || w->rlong || (w->r8 && !w->allow8);

	if ((w->st == W_PRE || w->st == W_EPI) &&
	    (w->rnul || (w->r8 && !w->allow8)))
		k = SG_SCRUB;
	else if (w->st == W_BODY && needs && end > w->cur)
		k = w->plan;
	if (k == SG_QP || k == SG_B64)
		w->seg[w->hseg].kind = k == SG_QP ? SG_HDR_QP : SG_HDR_B64;
	if (k != SG_COPY)
		w->changed = 1;
	w->r8 = w->rnul = w->rlong = 0;
	return mp_emit(w, end, k);
}

/* An empty line ends a part's header section. */
static int
mp_hdr_end(struct walk *w, const struct mline *l)
{
	char ct[1024], cte[256];

	if (mp_emit(w, l->off + l->eol, SG_COPY) == -1)
		return -1;
	w->hseg = w->nseg - 1;
	hdr_value(&w->hdr, "Content-Type", ct, sizeof(ct));
	hdr_value(&w->hdr, "Content-Transfer-Encoding", cte, sizeof(cte));
	buf_reset(&w->hdr);
	w->r8 = w->rnul = w->rlong = 0;
	if (token_is(ct, "multipart", " \t(/") && w->depth < MP_DEPTH &&
	    mp_boundary(ct, &w->lv[w->depth]) == 0) {
		w->depth++;
		w->st = W_PRE;
		return 0;
	}
	if (token_is(ct, "multipart", " \t(/") && w->depth == MP_DEPTH)
		return -1; /* too deep */
	w->plan = mp_plan(w, ct, cte);
	w->st = W_BODY;
	return 0;
}

/* A header field line or a continuation line? */
static int
mp_field_line(const struct walk *w, const struct mline *l)
{
	size_t i;

	if (l->len != l->nkeep || l->len > MESSAGE_LINE_MAX || l->hasnul)
		return 0;
	if (is_wsp(l->keep[0]))
		return w->hdr.len > 0;
	for (i = 0; i < l->nkeep && l->keep[i] > 32 && l->keep[i] < 127 &&
		    l->keep[i] != ':';
	     i++)
		;
	if (i == 0)
		return 0;
	while (i < l->nkeep && is_wsp(l->keep[i]))
		i++;
	return i < l->nkeep && l->keep[i] == ':';
}

/* One line: 0, or -1 if the structure is not one we re-encode. */
static int
mp_line(struct walk *w, const struct mline *l)
{
	int k, d;

	for (k = w->depth - 1; k >= 0; k--)
		if ((d = mp_delim(l, &w->lv[k])) != 0)
			break;
	if (k >= 0) {
		if (k != w->depth - 1)
			return -1; /* an inner multipart not closed */
		if (mp_region_end(w, l) == -1 ||
		    mp_emit(w, l->off + l->len + l->eol, SG_COPY) == -1)
			return -1;
		if (d == 2) {
			w->depth--;
			w->st = W_EPI;
		} else {
			if (++w->parts > MP_PARTS)
				return -1;
			buf_reset(&w->hdr);
			w->st = W_HDR;
		}
		return 0;
	}
	if (w->st == W_HDR) {
		if (l->len == 0)
			return mp_hdr_end(w, l);
		if (!mp_field_line(w, l) ||
		    buf_add(&w->hdr, l->keep, l->nkeep) == -1 ||
		    buf_add(&w->hdr, "\r\n", 2) == -1)
			return -1;
		return 0;
	}
	w->r8 = w->r8 || l->has8;
	w->rnul = w->rnul || l->hasnul;
	w->rlong = w->rlong || l->len > MESSAGE_LINE_MAX;
	return 0;
}

/*
 * Pass 1: the segments of a multipart body whose Content-Type is ct.
 * 1 if some segment needs work, 0 if none does or the structure is not
 * one we re-encode (no boundary, a part or multipart not terminated, too
 * deep, too many parts, a malformed part header), -1 on a read error.
 */
static int
mp_scan(const struct message *m, const char *ct, struct walk *w, struct err *e)
{
	struct mline l;
	int r;

	memset(&l, 0, sizeof(l));
	l.m = m;
	if (mp_boundary(ct, &w->lv[0]) == -1)
		return 0;
	w->depth = 1;
	w->st = W_PRE;
	l.chunk = xcalloc(1, IO_CHUNK);
	while ((r = ml_next(&l, e)) == 1) {
		if (mp_line(w, &l) == -1)
			break;
		w->peol = l.eol;
	}
	free(l.chunk);
	if (r == -1)
		return -1;
	if (r == 1 || w->depth > 0)
		return 0;
	l.off = m->body_size; /* the epilogue runs to the end */
	w->peol = 0;
	if (mp_region_end(w, &l) == -1)
		return 0;
	return w->changed;
}

/* Append octets, keeping the spool's line statistics. */
static int
mp_put(struct spool *s, const char *p, size_t n, struct err *e)
{
	const char *nl;
	size_t k, t;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) + 1 : n;
		t = nl != NULL ? k - 1 : k;
		if (nl != NULL && t > 0 && p[t - 1] == '\r')
			t--;
		spool_col(s, t);
		if (spool_raw(s, p, k, e) == -1)
			return -1;
		if (nl != NULL)
			s->col = 0;
		p += k;
		n -= k;
	}
	return 0;
}

/* A part's header section with Content-Transfer-Encoding replaced. */
static int
mp_put_hdr(struct spool *s, const char *h, size_t n, const char *cte,
    struct err *e)
{
	const char *p = h, *end = h + n, *q, *c;
	int drop = 0;

	for (; p < end; p = q) {
		q = memchr(p, '\n', (size_t)(end - p));
		q = q != NULL ? q + 1 : end;
		if (*p == '\r' || *p == '\n') /* the empty line */
			break;
		if (!is_wsp(*p)) {
			drop = (size_t)(q - p) > 25 &&
			       ascii_ncasecmp(p, "Content-Transfer-Encoding",
				   25) == 0;
			for (c = p + 25; drop && c < q && is_wsp(*c); c++)
				;
			drop = drop && c < q && *c == ':';
		}
		if (!drop && mp_put(s, p, (size_t)(q - p), e) == -1)
			return -1;
	}
	if (mp_put(s, "Content-Transfer-Encoding: ", 27, e) == -1 ||
	    mp_put(s, cte, strlen(cte), e) == -1 ||
	    mp_put(s, "\r\n", 2, e) == -1)
		return -1;
	return mp_put(s, p, (size_t)(end - p), e);
}

/* Base64 (RFC 2045 6.8) of n octets, carrying up to 2 to the next call. */
static int
b64_chunk(struct xf *x, const unsigned char *p, size_t n, struct err *e)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[B64_LINE];
	size_t len = 0;
	uint32_t v;

	while (n > 0) {
		x->b64[x->nb64++] = *p++;
		n--;
		if (x->nb64 < 3)
			continue;
		x->nb64 = 0;
		if (x->col == B64_LINE) {
			if ((len > 0 &&
				spool_text(&x->out, line, len, e) == -1) ||
			    xf_eol(x, e) == -1)
				return -1;
			len = 0;
		}
		v = (uint32_t)x->b64[0] << 16 | (uint32_t)x->b64[1] << 8 |
		    x->b64[2];
		line[len++] = b64[v >> 18];
		line[len++] = b64[(v >> 12) & 63];
		line[len++] = b64[(v >> 6) & 63];
		line[len++] = b64[v & 63];
		x->col += 4;
	}
	return len > 0 ? spool_text(&x->out, line, len, e) : 0;
}

static int
b64_end(struct xf *x, struct err *e)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char t[4];
	uint32_t v;

	if (x->nb64 == 0)
		return 0;
	if (x->col == B64_LINE && xf_eol(x, e) == -1)
		return -1;
	v = (uint32_t)x->b64[0] << 16 |
	    (x->nb64 > 1 ? (uint32_t)x->b64[1] << 8 : 0);
	t[0] = b64[v >> 18];
	t[1] = b64[(v >> 12) & 63];
	t[2] = x->nb64 > 1 ? b64[(v >> 6) & 63] : '=';
	t[3] = '=';
	x->nb64 = 0;
	x->col += 4;
	return spool_text(&x->out, t, 4, e);
}

/* Pass 2: one segment into x->out. */
static int
mp_segment(struct message *m, struct xf *x, const struct seg *s, char *chunk,
    struct err *e)
{
	unsigned long long off;
	size_t n, i;

	if (s->kind == SG_HDR_QP || s->kind == SG_HDR_B64) {
		if (s->len > IO_CHUNK) /* pass 1 caps it at MP_HDR_MAX + 2 */
			fatal("message: part header section too long");
		n = (size_t)s->len;
		if (body_pread(m, chunk, n, s->off, e) == -1)
			return -1;
		return mp_put_hdr(&x->out, chunk, n,
		    s->kind == SG_HDR_QP ? "quoted-printable" : "base64", e);
	}
	x->kind = s->kind == SG_QP ? XF_QPENC : XF_QPFOLD;
	x->col = 0;
	x->pend = 0;
	x->dash = 1;
	for (off = s->off; off < s->off + s->len; off += n) {
		n = s->off + s->len - off < IO_CHUNK
			? (size_t)(s->off + s->len - off)
			: IO_CHUNK;
		if (body_pread(m, chunk, n, off, e) == -1)
			return -1;
		if (s->kind == SG_SCRUB)
			for (i = 0; i < n; i++)
				if (chunk[i] == '\0' ||
				    (unsigned char)chunk[i] >= 0x80)
					chunk[i] = '?';
		if (s->kind == SG_COPY || s->kind == SG_SCRUB) {
			if (mp_put(&x->out, chunk, n, e) == -1)
				return -1;
		} else if (s->kind == SG_B64) {
			if (b64_chunk(x, (unsigned char *)chunk, n, e) == -1)
				return -1;
		} else if (xf_chunk(x, chunk, n, e) == -1)
			return -1;
	}
	if (s->kind == SG_B64)
		return b64_end(x, e);
	if (x->pend != 0 && (s->kind == SG_QP || s->kind == SG_QPFOLD))
		return xf_hex(x, (unsigned char)x->pend, QP_LIMIT, e);
	return 0;
}

/*
 * Re-encode the parts of a multipart body that need it.  Memory: one
 * IO_CHUNK buffer (a part's header section, MP_HDR_MAX + 2, fits in it),
 * MP_SEGS segments, the spool buffer.  0 also when nothing was done.
 */
static int
mp_reencode(struct message *m, int allow_8bit, struct err *e)
{
	const char *ct = message_get(m, "Content-Type");
	const char *cte = message_get(m, "Content-Transfer-Encoding");
	struct walk w;
	struct xf x;
	char *chunk = NULL;
	size_t i;
	int r;

	if (cte != NULL && !token_is(cte, "7bit", " \t(;") &&
	    !token_is(cte, "8bit", " \t(;") &&
	    !token_is(cte, "binary", " \t(;"))
		return 0; /* RFC 2045 6.4: nothing else is allowed */
	memset(&w, 0, sizeof(w));
	w.allow8 = allow_8bit;
	w.seg = xcalloc(MP_SEGS, sizeof(*w.seg));
	buf_init(&w.hdr, MP_HDR_MAX);
	memset(&x, 0, sizeof(x));
	x.out.fd = -1;
	if ((r = mp_scan(m, ct, &w, e)) != 1)
		goto out;
	r = -1;
	chunk = xcalloc(1, IO_CHUNK);
	if (spool_open(&x.out, m->tmpdir, e) == -1)
		goto out;
	for (i = 0; i < w.nseg; i++)
		if (mp_segment(m, &x, &w.seg[i], chunk, e) == -1)
			goto out;
	if (spool_flush(&x.out, e) == -1)
		goto out;
	spool_to_body(&x.out, m);
	r = 0;
	if (cte != NULL && !m->body_8bit && !token_is(cte, "7bit", " \t(;")) {
		field_remove_all(m, "Content-Transfer-Encoding");
		r = field_append_str(m, "Content-Transfer-Encoding: 7bit\r\n",
		    e);
	}
out:
	buf_reset(&w.hdr);
	free(w.seg);
	free(chunk);
	spool_free(&x.out);
	return r;
}

static int
qp_headers(struct message *m, const struct xf *x, struct err *e)
{
	struct buf b;
	int r = 0;

	field_remove_all(m, "Content-Transfer-Encoding");
	if (message_get(m, "MIME-Version") == NULL)
		r = field_append_str(m, "MIME-Version: 1.0\r\n", e);
	if (r == 0 && message_get(m, "Content-Type") == NULL) {
		buf_init(&b, 256);
		if (buf_printf(&b, "Content-Type: text/plain; charset=%s\r\n",
			!x->saw8bit			? "us-ascii"
			: !x->u8.bad && x->u8.need == 0 ? "utf-8"
							: "unknown-8bit") == -1)
			fatal_oom();
		r = field_append(m, &b, e);
		buf_reset(&b);
	}
	if (r == 0)
		r = field_append_str(m,
		    "Content-Transfer-Encoding: quoted-printable\r\n", e);
	return r;
}

int
message_make_safe(struct message *m, int allow_8bit, struct err *e)
{
	const char *ct;
	struct xf x;

	if (fold_headers(m, e) == -1)
		return -1;
	ct = message_get(m, "Content-Type"); /* after refolding */
	if (!m->body_nul && !m->body_long && (allow_8bit || !m->body_8bit))
		return 0;
	memset(&x, 0, sizeof(x));
	x.out.fd = -1;
	x.kind = body_xform(m);
	if (x.kind == XF_FOLD && ct != NULL &&
	    token_is(ct, "multipart", " \t(/") &&
	    mp_reencode(m, allow_8bit, e) == -1)
		return -1;
	if (x.kind == XF_FOLD && !m->body_nul && !m->body_long)
		return 0; /* 8-bit left in an opaque part or body */
	if (xf_run(m, &x, e) == -1)
		return -1;
	if (x.kind == XF_FOLD && ct != NULL &&
	    token_is(ct, "multipart", " \t(/")) {
		/* NUL (now SP) in a part header stopped the walk: again. */
		return mp_reencode(m, allow_8bit, e);
	}
	return x.kind == XF_QPENC ? qp_headers(m, &x, e) : 0;
}

/* ---- completing the header ---- */

/* Whether to add the field; MSG_ALWAYS removes the existing ones first. */
static int
want_field(struct message *m, enum message_policy p, const char *name)
{
	if (p == MSG_NEVER)
		return 0;
	if (p == MSG_ALWAYS)
		field_remove_all(m, name);
	return message_get(m, name) == NULL;
}

/* A display name: as is if it is atoms, else a quoted-string, or RFC 2047
 * encoded-words if it holds 8-bit or control octets. */
static int
add_phrase(struct buf *b, const char *name)
{
	size_t n = strlen(name), i;
	int atoms = n > 0 && name[0] != ' ' && name[n - 1] != ' ' &&
		    strstr(name, "  ") == NULL;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80 || c < 0x20 || c == 0x7f)
			return encode_words(b, name, n);
		if (!addr_is_atext(c) && c != ' ')
			atoms = 0;
	}
	if (atoms)
		return buf_add(b, name, n);
	if (buf_addch(b, '"') == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (((name[i] == '"' || name[i] == '\\') &&
			buf_addch(b, '\\') == -1) ||
		    buf_addch(b, name[i]) == -1)
			return -1;
	return buf_addch(b, '"');
}

static const char *
from_address(const struct message_complete_opts *o)
{
	if (o->from_addr != NULL && o->from_addr[0] != '\0')
		return o->from_addr;
	return o->envelope_from;
}

static int
add_from(struct message *m, const struct message_complete_opts *o,
    struct err *e)
{
	const char *addr = from_address(o), *why, *name = o->fullname;
	struct buf b;
	int r;

	if (addr == NULL || addr[0] == '\0')
		return err_set(e, ERR_DATA,
		    "no address for the From: header (set from, or use -f)");
	if ((why = addr_check(addr, 0, NULL)) != NULL)
		return err_set(e, ERR_DATA, "From: address %s: %s", addr, why);
	if (name != NULL && has_crlfnul(name, strlen(name)))
		return err_set(e, ERR_DATA, "the full name has a line break");
	buf_init(&b, MESSAGE_MAX_FIELD);
	if (buf_addstr(&b, "From: ") == -1 ||
	    (name != NULL && name[0] != '\0' &&
		(add_phrase(&b, name) == -1 || buf_addstr(&b, " <") == -1)) ||
	    buf_addstr(&b, addr) == -1 ||
	    (name != NULL && name[0] != '\0' && buf_addch(&b, '>') == -1) ||
	    buf_addstr(&b, "\r\n") == -1)
		r = err_set(e, ERR_DATA, "the full name is too long");
	else
		r = field_append(m, &b, e);
	buf_reset(&b);
	return r;
}

static int
add_date(struct message *m, long long now, struct err *e)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat"};
	static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char line[80];
	time_t t = now >= 0 ? (time_t)now : time(NULL);
	struct tm tm;
	long off;
	int n;

	if (localtime_r(&t, &tm) == NULL)
		return err_set(e, ERR_OS, "localtime failed");
	off = tm.tm_gmtoff / 60;
	n = snprintf(line, sizeof(line),
	    "Date: %s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld\r\n",
	    days[tm.tm_wday], tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
	if (n < 0 || (size_t)n >= sizeof(line))
		return err_set(e, ERR_SOFTWARE, "date does not fit");
	return field_append_str(m, line, e);
}

/* The right side of a new Message-ID: configured, else the From domain. */
static const char *
msgid_domain(const struct message_complete_opts *o)
{
	const char *a = from_address(o), *d;

	if (o->msgid_domain != NULL && o->msgid_domain[0] != '\0')
		return o->msgid_domain;
	if (a != NULL && (d = addr_domain(a)) != NULL && d[0] != '\0')
		return d;
	return "localhost";
}

static int
add_msgid(struct message *m, const struct message_complete_opts *o,
    struct err *e)
{
	const char *dom = msgid_domain(o), *why = NULL;
	unsigned char rnd[16];
	char hex[2 * sizeof(rnd) + 1];
	struct buf b;
	int r;

	buf_init(&b, 1024);
	if (buf_printf(&b, "x@%s", dom) == -1 ||
	    (why = addr_check(b.data, 0, NULL)) != NULL) {
		buf_reset(&b);
		return err_set(e, ERR_DATA, "Message-ID domain %s: %s", dom,
		    why != NULL ? why : "too long");
	}
	if (sodium_init() < 0)
		return err_set(e, ERR_OS, "cannot initialise libsodium");
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	buf_clear(&b);
	if (buf_printf(&b, "Message-ID: <%s@%s>\r\n", hex, dom) == -1)
		fatal_oom();
	r = field_append(m, &b, e);
	buf_reset(&b);
	return r;
}

/* The address fields whose bare local parts are qualified. */
static const char *const qualify_names[] = {"From", "Sender", "Reply-To", "To",
    "Cc", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", NULL};

const char *
message_unqualified(const struct message *m)
{
	struct buf v;
	const char *const *n;
	size_t i;
	int r;

	buf_init(&v, MESSAGE_MAX_FIELD);
	for (i = 0; i < m->nf; i++)
		for (n = qualify_names; *n != NULL; n++) {
			if (!field_is(&m->f[i], *n))
				continue;
			buf_clear(&v);
			r = addr_qualify_header(m->f[i].value,
			    strlen(m->f[i].value), "invalid", &v);
			if (r == 1) {
				buf_reset(&v);
				return *n;
			}
		}
	buf_reset(&v);
	return NULL;
}

#define LIST_FOLD_AT 78 /* RFC 5322 2.1.1's SHOULD */

/*
 * Append the address list v (one line, as addr_rewrite_header() made it:
 * elements joined by ", ") to b, which holds "Name: ", folded after the
 * top-level commas so that lines stay within LIST_FOLD_AT where an
 * element allows (a longer one stays whole; refold() keeps the hard
 * limit).  A list that fits stays on one line.
 */
static int
fold_list(struct buf *b, const char *v, size_t n)
{
	size_t col = b->len, i, s = 0;
	int q = 0, depth = 0;

	if (col + n <= LIST_FOLD_AT)
		return buf_add(b, v, n);
	for (i = 0; i <= n; i++) {
		if (i < n && (q || depth > 0) && v[i] == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (i < n && depth == 0 && v[i] == '"')
			q = !q;
		else if (i < n && !q && v[i] == '(')
			depth++;
		else if (i < n && !q && depth > 0 && v[i] == ')')
			depth--;
		if (i < n && (q || depth > 0 || v[i] != ',' || i + 1 >= n ||
				 v[i + 1] != ' '))
			continue;
		/* v[s..i] is one element with its comma (none at the end). */
		if (i < n)
			i++; /* the comma */
		if (s > 0 && col + 1 + (i - s) > LIST_FOLD_AT) {
			if (buf_addstr(b, "\r\n ") == -1)
				return -1;
			col = 1;
		} else if (s > 0) {
			if (buf_addch(b, ' ') == -1)
				return -1;
			col++;
		}
		if (buf_add(b, v + s, i - s) == -1)
			return -1;
		col += i - s;
		s = i + 1; /* past the blank after the comma */
	}
	return 0;
}

/* No domain, localhost, or this host's name (privsep.c's rule). */
static int
local_spec(const char *spec)
{
	const char *at = strrchr(spec, '@');
	char host[256];

	if (at == NULL || ascii_casecmp(at + 1, "localhost") == 0)
		return 1;
	return gethostname(host, sizeof(host)) == 0 &&
	       (host[sizeof(host) - 1] = '\0',
		   ascii_casecmp(at + 1, host) == 0);
}

static char *
local_from_map(void *arg, const char *spec)
{
	return local_spec(spec) ? xstrdup(arg) : NULL;
}

/* One From field's new text into b, or -1 to leave it alone. */
static int
local_from_field(const struct field *f, const char *to, struct buf *b)
{
	struct addr_list l = {0};
	struct buf v;
	struct err pe;
	const char *at;
	char local[256];
	int r = -1;

	buf_init(&v, MESSAGE_MAX_FIELD);
	if (addr_parse_list(f->value, strlen(f->value), &l, &pe) == -1 ||
	    l.n != 1 || !local_spec(l.v[0]) ||
	    addr_rewrite_header(f->value, strlen(f->value), addr_domain(to),
		local_from_map, (void *)(uintptr_t)to, &v) != 1 ||
	    buf_addch(&v, '\0') == -1)
		goto out;
	at = strrchr(l.v[0], '@');
	if (str_copy(local, l.v[0], sizeof(local)) == -1)
		goto out;
	if (at != NULL)
		local[at - l.v[0]] = '\0';
	buf_clear(b);
	if (buf_add(b, f->raw, f->namelen) == -1 || buf_addstr(b, ": ") == -1)
		goto out;
	/* "root" alone: the local name becomes the display name. */
	if (strchr(v.data, '<') == NULL) {
		if (add_phrase(b, local) == -1 || buf_addstr(b, " <") == -1 ||
		    buf_addstr(b, v.data) == -1 || buf_addch(b, '>') == -1)
			goto out;
	} else if (buf_addstr(b, v.data) == -1) {
		goto out;
	}
	r = buf_addstr(b, "\r\n");
out:
	addr_list_free(&l);
	buf_reset(&v);
	return r;
}

/* rewrite_local_from (postseal.conf(5)): before qualify_fields(). */
static int
rewrite_local_from(struct message *m, const char *to, struct err *e)
{
	struct buf b;
	size_t i;
	int r = 0;

	if (to == NULL || to[0] == '\0' || addr_domain(to) == NULL)
		return 0;
	buf_init(&b, MESSAGE_MAX_FIELD);
	for (i = 0; r == 0 && i < m->nf; i++) {
		if (!field_is(&m->f[i], "From") ||
		    local_from_field(&m->f[i], to, &b) == -1)
			continue;
		field_replace(m, i, b.data, b.len);
		if (field_long(&m->f[i]))
			r = refold(m, i, e);
	}
	buf_reset(&b);
	return r;
}

/* cron's "From: root (Cron Daemon)" and "To: root": qualified, so that
 * they mean the same address at the recipient's end.  Fields we cannot
 * parse are left exactly as they are. */
static int
qualify_fields(struct message *m, const char *domain, addr_map_fn *map,
    void *arg, struct err *e)
{
	static const char *const mapped[] = {"From", "To", "Cc", NULL};
	const char *const *names = qualify_names;
	struct buf b, v;
	size_t i;
	int r = 0;

	buf_init(&b, MESSAGE_MAX_FIELD);
	buf_init(&v, MESSAGE_MAX_FIELD);
	for (i = 0; r == 0 && domain != NULL && i < m->nf; i++) {
		const struct field *f = &m->f[i];
		if (!field_in(f, names))
			continue;
		buf_clear(&v);
		if (addr_rewrite_header(f->value, strlen(f->value), domain,
			field_in(f, mapped) ? map : NULL, arg, &v) != 1)
			continue;
		buf_clear(&b);
		if (buf_add(&b, f->raw, f->namelen) == -1 ||
		    buf_addstr(&b, ": ") == -1 ||
		    fold_list(&b, v.data, v.len) == -1 ||
		    buf_addstr(&b, "\r\n") == -1)
			continue; /* too long to rewrite: left alone */
		field_replace(m, i, b.data, b.len);
		if (field_long(&m->f[i]))
			r = refold(m, i, e);
	}
	buf_reset(&b);
	buf_reset(&v);
	return r;
}

/*
 * "Subject : x" and "Subject\t: x" (RFC 5322 4.5.3, obsolete syntax) become
 * "Subject: x", as Postfix rewrites them: what is signed (DKIM simple
 * header canonicalisation keeps the WSP) must be what arrives.
 */
static void
fix_names(struct message *m)
{
	size_t i, colon, n;
	char *raw;

	for (i = 0; i < m->nf; i++) {
		struct field *f = &m->f[i];
		colon = (size_t)((char *)memchr(f->raw, ':', f->len) - f->raw);
		if (colon == f->namelen)
			continue;
		n = f->namelen + f->len - colon;
		raw = xcalloc(1, n + 1);
		memcpy(raw, f->raw, f->namelen);
		memcpy(raw + f->namelen, f->raw + colon, f->len - colon);
		field_replace(m, i, raw, n);
		free(raw);
	}
}

int
message_complete(struct message *m, const struct message_complete_opts *o,
    struct err *e)
{
	fix_names(m);
	if (rewrite_local_from(m, o->local_from, e) == -1)
		return -1;
	if (qualify_fields(m, o->qualify_domain, o->header_map,
		o->header_map_arg, e) == -1)
		return -1;
	if (o->remove_bcc) {
		field_remove_all(m, "Bcc");
		field_remove_all(m, "Resent-Bcc");
	}
	if (want_field(m, o->set_from, "From") && add_from(m, o, e) == -1)
		return -1;
	if (want_field(m, o->set_date, "Date") && add_date(m, o->now, e) == -1)
		return -1;
	if (want_field(m, o->set_msgid, "Message-ID") &&
	    add_msgid(m, o, e) == -1)
		return -1;
	if (o->undisclosed_recipients && message_get(m, "To") == NULL &&
	    message_get(m, "Cc") == NULL &&
	    field_append_str(m, "To: undisclosed-recipients:;\r\n", e) == -1)
		return -1;
	return 0;
}
