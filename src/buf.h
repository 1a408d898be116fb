/*
 * buf.h -- growable byte buffers with a hard cap, and bounded parsing helpers.
 *
 * Anything sized from outside (stdin, the network, a file) goes into a
 * struct buf whose maximum is fixed at buf_init(); buf_add() fails rather
 * than grow past it.  data is always NUL-terminated (the NUL is not counted
 * in len) so text can be used as a C string once it is known to hold no NUL.
 */
#ifndef POSTSEAL_BUF_H
#define POSTSEAL_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NULL until the first add; owned */
	size_t len;
	size_t alloc;
	size_t max; /* len never exceeds this */
};

/* Start an empty buffer that will hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/*
 * Append n bytes.  Returns 0, or -1 when the result would exceed the cap or
 * memory is exhausted (errno is EMSGSIZE or ENOMEM); b is unchanged then.
 */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Forget the contents, keep the memory and the cap. */
void buf_clear(struct buf *b);

/* Free the memory; the buffer is empty again (and may be reused). */
void buf_reset(struct buf *b);

/* As buf_reset(), wiping the bytes first (for secrets). */
void buf_wipe(struct buf *b);

/*
 * Hand the bytes to the caller (caller frees) and leave b empty.  Never
 * returns NULL: an empty buffer yields an allocated "".  Returns NULL only
 * on allocation failure.
 */
char *buf_steal(struct buf *b, size_t *lenp);

/*
 * Parse a decimal unsigned number at *pp, at most max, advancing *pp past
 * the digits.  Leading '+', '-' or space are refused.  Returns 0, or -1 for
 * no digits or a value over max (*pp unchanged then).
 */
int parse_uint(const char **pp, unsigned long long max,
    unsigned long long *out);

/* As parse_uint() for a whole string: trailing characters are an error. */
int parse_uint_str(const char *s, unsigned long long max,
    unsigned long long *out);

/*
 * Copy src into dst of size dstsize, always NUL-terminated.  Returns 0, or
 * -1 if src did not fit (dst then holds a truncated copy).
 */
int str_copy(char *dst, const char *src, size_t dstsize);

/* strdup() that calls fatal() on allocation failure. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);

/* Free s after wiping it (for secrets); NULL is fine. */
void str_wipe_free(char *s);

/* Nonzero if the n bytes at p contain CR, LF or NUL. */
int has_crlfnul(const char *p, size_t n);

/* Case-insensitive ASCII comparison, locale-independent. */
int ascii_casecmp(const char *a, const char *b);
/* c in lower case if it is an ASCII capital, else c. */
char ascii_lower(char c);

/*
 * Copy n bytes at p into dst (size > 0 bytes) as one printable line: cut
 * to fit, every byte outside ' '..'~' becomes '?', in lower case when
 * lower is nonzero.  For text from messages and the network.
 */
void copy_printable(char *dst, size_t size, const char *p, size_t n, int lower);

/*
 * Write all n bytes at p to fd, retrying short writes and EINTR.  Returns
 * 0, or -1 with errno set (a write of 0 bytes is ENOSPC).
 */
int fd_write_all(int fd, const char *p, size_t n);
int ascii_ncasecmp(const char *a, const char *b, size_t n);

/*
 * Abort with EX_SOFTWARE (broken invariant) or EX_TEMPFAIL (out of memory:
 * the caller keeps the mail).  The only exit() outside main.c.
 */
void fatal(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
void fatal_oom(void) __attribute__((noreturn));

#endif
