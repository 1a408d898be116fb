/*
 * buf.c -- capped buffers, bounded number parsing, small string helpers.
 *
 * Failure policy: buf_* never grows past its cap and reports -1 instead;
 * the x*() allocators treat exhaustion as fatal (exit 75, nothing was
 * accepted, the caller keeps the mail).
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

static int
reserve(struct buf *b, size_t need)
{
	size_t n;
	char *p;

	if (need < b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n <= need) {
		if (n > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		n *= 2;
	}
	if (n > b->max + 1)
		n = b->max + 1;
	if ((p = realloc(b->data, n)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = p;
	b->alloc = n;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len) {
		errno = EMSGSIZE;
		return -1;
	}
	if (reserve(b, b->len + n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big = NULL;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_add(b, big, (size_t)n);
	free(big);
	return r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_clear(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_reset(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void
buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		sodium_memzero(b->data, b->alloc);
	buf_reset(b);
}

char *
buf_steal(struct buf *b, size_t *lenp)
{
	char *p;

	if (b->data == NULL && buf_add(b, "", 0) == -1)
		return NULL;
	p = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

int
parse_uint(const char **pp, unsigned long long max, unsigned long long *out)
{
	const char *p = *pp;
	unsigned long long v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*pp = p;
	return 0;
}

int
parse_uint_str(const char *s, unsigned long long max, unsigned long long *out)
{
	const char *p = s;
	unsigned long long v;

	if (parse_uint(&p, max, &v) == -1 || *p != '\0')
		return -1;
	*out = v;
	return 0;
}

int
str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (dstsize == 0)
		return -1;
	if (n >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal_oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal_oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal_oom();
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *q;

	if (size != 0 && n > SIZE_MAX / size)
		fatal_oom();
	if ((q = realloc(p, n != 0 && size != 0 ? n * size : 1)) == NULL)
		fatal_oom();
	return q;
}

void
str_wipe_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

int
has_crlfnul(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return 1;
	return 0;
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

char
ascii_lower(char c)
{
	return (char)lower((unsigned char)c);
}

void
copy_printable(char *dst, size_t size, const char *p, size_t n, int lc)
{
	size_t i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		dst[i] = c < ' ' || c >= 0x7f ? '?'
			 : lc		      ? ascii_lower((char)c)
					      : (char)c;
	}
	dst[n] = '\0';
}

int
fd_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int d = lower((unsigned char)*a) - lower((unsigned char)*b);
		if (d != 0 || *a == '\0')
			return d;
	}
	return 0;
}

int
ascii_casecmp(const char *a, const char *b)
{
	return ascii_ncasecmp(a, b, SIZE_MAX);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("postseal: internal error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_SOFTWARE);
}

void
fatal_oom(void)
{
	fputs("postseal: out of memory\n", stderr);
	exit(EX_TEMPFAIL);
}
