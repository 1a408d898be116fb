/*
 * fuzz_message.c -- libFuzzer harness for message.c (and the dot-stuffing
 * of smtp.c that puts its output on the wire).
 *
 * Purpose: run hostile stdin the way sendmail mode does -- message_read(),
 * message_rcpts() (-t), message_complete(), message_make_safe(),
 * message_write() -- and check what message.h promises about the result,
 * then dot-stuff it as smtp_send() would and check the wire:
 *   - reading fails only with ERR_DATA (caps) or ERR_TEMP (no spool);
 *   - every header field ends in CRLF, holds no NUL and no CR or LF
 *     except CRLF followed by WSP (folding): no field a caller did not
 *     write can appear, whatever -F says;
 *   - after message_complete() with remove_bcc no Bcc/Resent-Bcc is left;
 *   - the written message has CRLF line ends only and exactly
 *     message_size() octets; message_has_8bit() tells the truth;
 *   - after message_make_safe() the body holds no NUL and no line over
 *     998 octets, and it never fails with ERR_DATA ("nothing refused");
 *     run again, it leaves the body as it is (what it produced, a
 *     multipart's re-encoded parts included, needs no more work: the
 *     walker over the MIME structure agrees with itself about what it
 *     wrote, and no "--" line it made became a delimiter);
 *   - dot-stuffed (in chunks of varying size), the data contains no
 *     "CRLF . CRLF" before its end and un-stuffs to exactly what was
 *     written (no SMTP smuggling).
 *
 * Input: byte 0 holds options (bit 0 -i, bit 1 stdin is a tty, bit 2 a
 * max_size of half the input, bit 3 allow 8-bit, bit 4 remove Bcc, bit 5
 * From/Date/Message-ID "always" instead of "auto", bit 6 a full name);
 * with bit 6, byte 1 is the full name's length (mod 64) and the name
 * follows.  The rest is the message.  Inputs over FUZZ_MAX_INPUT are
 * ignored so one run stays cheap.
 *
 * Invariants: deterministic (a fixed clock; Message-ID's random part does
 * not steer control flow); the body spool goes to a private directory
 * (in /dev/shm if possible, else /tmp) made once and removed at exit; every fd
 * is closed before returning, and a leaked one aborts the run (the lowest free
 * fd number must be the same after the run as before it).
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "message.h"
#include "smtp.h"

#define FUZZ_MAX_INPUT (1024 * 1024)
#define FUZZ_NOW 1700000000LL

/* The checks are not what is being fuzzed: keep their byte loops out of
 * the coverage feedback (and its cost). */
#define NOCOV __attribute__((no_sanitize("coverage")))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char spool_dir[64];
static int have_dir;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_message: %s\n", what);
	abort();
}

static void
remove_dir(void)
{
	(void)rmdir(spool_dir);
}

static int
lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		fail("cannot open /dev/null");
	close(fd);
	return fd;
}

static void
setup(void)
{
	if (have_dir)
		return;
	/* tmpfs if there is one: creating and unlinking a file per run is
	 * several times slower on a disk file system. */
	memcpy(spool_dir, "/dev/shm/fuzz_message.XXXXXX", 29);
	if (mkdtemp(spool_dir) == NULL) {
		memcpy(spool_dir, "/tmp/fuzz_message.XXXXXX", 25);
		if (mkdtemp(spool_dir) == NULL)
			fail("mkdtemp");
	}
	have_dir = 1;
	atexit(remove_dir);
}

/* An anonymous file holding n bytes at p, positioned at 0. */
static int
mem_file(const void *p, size_t n)
{
	int fd = memfd_create("fuzz_message", MFD_CLOEXEC);

	if (fd == -1)
		fail("memfd_create");
	if ((n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) == -1)
		fail("writing the input");
	return fd;
}

/* The whole contents of fd; caller frees. */
static char *
slurp(int fd, size_t *len)
{
	struct stat st;
	char *p;

	if (fstat(fd, &st) == -1)
		fail("fstat");
	*len = (size_t)st.st_size;
	if ((p = malloc(*len + 1)) == NULL)
		fail("malloc");
	if (*len > 0 && pread(fd, p, *len, 0) != (ssize_t)*len)
		fail("pread");
	return p;
}

/* Only CRLF line ends. */
NOCOV static void
check_crlf(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			fail("bare CR in the output");
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			fail("bare LF in the output");
	}
}

/* Is field f (raw bytes) named name?  An independent reading, not the
 * module's getter: the name is what precedes ':', trailing WSP dropped,
 * compared without regard to ASCII case (RFC 5322 1.2.2). */
NOCOV static int
field_is(const char *f, size_t len, const char *name)
{
	size_t n = 0, k = strlen(name), i;
	char a, b;

	while (n < len && f[n] != ':')
		n++;
	if (n == len)
		return 0;
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	if (n != k)
		return 0;
	for (i = 0; i < n; i++) {
		a = f[i] >= 'A' && f[i] <= 'Z' ? (char)(f[i] + 32) : f[i];
		b = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32)
						     : name[i];
		if (a != b)
			return 0;
	}
	return 1;
}

NOCOV static void
check_fields(const struct message *m, int bcc_gone)
{
	size_t i, j, len;
	const char *f;

	for (i = 0; i < message_nheaders(m); i++) {
		f = message_header(m, i, &len);
		if (len < 3 || memcmp(f + len - 2, "\r\n", 2) != 0)
			fail("header field not ending in CRLF");
		if (memchr(f, ':', len) == NULL)
			fail("header field without a colon");
		if (f[0] == '\r' || f[0] == '\n')
			fail("header field starting with a line break");
		for (j = 0; j < len - 2; j++) {
			if (f[j] == '\0')
				fail("NUL in a header field");
			if (f[j] == '\n' &&
			    (f[j - 1] != '\r' ||
				(f[j + 1] != ' ' && f[j + 1] != '\t')))
				fail("line break in a header field that is "
				     "not folding");
			if (f[j] == '\r' && f[j + 1] != '\n')
				fail("bare CR in a header field");
		}
		if (f[0] == ' ' || f[0] == '\t' || f[0] == ':')
			fail("header field starting with WSP or ':'");
		if (bcc_gone &&
		    (field_is(f, len, "Bcc") || field_is(f, len, "Resent-Bcc")))
			fail("Bcc left after message_complete(remove_bcc)");
	}
}

/* The body (after the header section) once message_make_safe() ran. */
NOCOV static void
check_safe_body(const char *p, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\0')
			fail("NUL in the body after message_make_safe()");
		if (p[i] == '\r' || p[i] == '\n')
			col = 0;
		else if (++col > MESSAGE_LINE_MAX)
			fail("body line over 998 octets after "
			     "message_make_safe()");
	}
}

/* Dot-stuff p in chunks of varying size, then check and undo it. */
NOCOV static void
check_wire(const char *p, size_t n, const uint8_t *sizes, size_t nsizes)
{
	struct smtp_dot d;
	char *w = malloc(2 * n + SMTP_DOT_FINISH_MAX), *r = malloc(n + 3);
	size_t wn = 0, rn = 0, off = 0, k, i = 0, ls, le;

	if (w == NULL || r == NULL)
		fail("malloc");
	smtp_dot_init(&d);
	while (off < n) {
		k = nsizes > 0 ? 1 + (size_t)sizes[i++ % nsizes] * 37 : n;
		if (k > n - off)
			k = n - off;
		wn += smtp_dot_encode(&d, p + off, k, w + wn);
		off += k;
	}
	wn += smtp_dot_finish(&d, w + wn);
	check_crlf(w, wn);
	if (wn < 3 || memcmp(w + wn - 3, ".\r\n", 3) != 0 ||
	    (wn > 3 && (wn < 5 || w[wn - 4] != '\n')))
		fail("data not ending in CRLF . CRLF");
	/* Un-stuff line by line: every line before the last "." */
	for (ls = 0; ls < wn - 3; ls = le + 2) {
		for (le = ls; w[le] != '\r'; le++)
			;
		if (le - ls == 1 && w[ls] == '.')
			fail("a lone dot before the end of the data");
		k = w[ls] == '.' ? ls + 1 : ls;
		if (rn + le + 2 - k > n + 2)
			fail("un-stuffed data too long");
		memcpy(r + rn, w + k, le + 2 - k);
		rn += le + 2 - k;
	}
	/* ... gives back p, plus the CRLF that ends an unended last line. */
	if (n > 0 && p[n - 1] != '\n') {
		if (rn != n + 2 || memcmp(r + n, "\r\n", 2) != 0)
			fail("un-stuffed data has another length");
	} else if (rn != n) {
		fail("un-stuffed data has another length");
	}
	if (memcmp(r, p, n) != 0)
		fail("un-stuffed data differs from the message");
	free(w);
	free(r);
}

NOCOV static void
check_written(const struct message *m, int safe, const uint8_t *sizes,
    size_t nsizes)
{
	struct err e;
	size_t n, i, hlen = 0;
	int fd = mem_file(NULL, 0), eight = 0;
	char *p;

	memset(&e, 0, sizeof(e));
	if (message_write(m, fd, &e) == -1)
		fail("message_write() to a memfd failed");
	p = slurp(fd, &n);
	close(fd);
	if (n != message_size(m))
		fail("message_size() differs from the bytes written");
	check_crlf(p, n);
	for (i = 0; i < message_nheaders(m); i++) {
		size_t len;
		(void)message_header(m, i, &len);
		hlen += len;
	}
	if (hlen + 2 > n || memcmp(p + hlen, "\r\n", 2) != 0)
		fail("no empty line after the header section");
	for (i = 0; i < n; i++)
		eight |= (unsigned char)p[i] >= 0x80;
	if (eight != (message_has_8bit(m) != 0))
		fail("message_has_8bit() is wrong");
	if (safe)
		check_safe_body(p + hlen + 2, n - hlen - 2);
	check_wire(p, n, sizes, nsizes);
	free(p);
}

/* A second message_make_safe() leaves the body as it is.  (Header
 * folding may change its own output again; the body may not.) */
NOCOV static void
check_idempotent(struct message *m, int allow8)
{
	struct err e;
	size_t n1, n2;
	char *a = slurp(message_body_fd(m), &n1), *b;

	memset(&e, 0, sizeof(e));
	if (message_make_safe(m, allow8, &e) == -1) {
		if (e.kind != ERR_TEMP && e.kind != ERR_IO)
			fail("message_make_safe() refused a message");
		free(a);
		return;
	}
	b = slurp(message_body_fd(m), &n2);
	if (n1 != n2 || memcmp(a, b, n1) != 0)
		fail("a second message_make_safe() changed the body");
	free(a);
	free(b);
}

/* Complete, make safe and check m as sendmail mode would. */
static void
run_message(struct message *m, unsigned opt, const char *fullname,
    const uint8_t *sizes, size_t nsizes)
{
	enum message_policy pol = (opt & 0x20) ? MSG_ALWAYS : MSG_AUTO;
	struct message_complete_opts co = {"sender@example.org",
	    "sender@example.org", fullname, "example.org", pol, pol, pol,
	    (opt & 0x10) != 0, 1, FUZZ_NOW};
	const struct addr_list *rc;
	struct err e;
	size_t i;

	memset(&e, 0, sizeof(e));
	if (message_rcpts(m, &rc, &e) == -1 && e.kind != ERR_DATA)
		fail("message_rcpts() failed with a kind other than ERR_DATA");
	for (i = 0; i < rc->n; i++)
		if (has_crlfnul(rc->v[i], strlen(rc->v[i])))
			fail("recipient with CR, LF or NUL");
	check_fields(m, 0);
	check_written(m, 0, sizes, nsizes);
	if (message_complete(m, &co, &e) == -1) {
		if (e.kind != ERR_DATA)
			fail("message_complete() failed, not ERR_DATA");
		return;
	}
	check_fields(m, (opt & 0x10) != 0);
	if (message_make_safe(m, (opt & 0x08) != 0, &e) == -1) {
		if (e.kind != ERR_TEMP && e.kind != ERR_IO)
			fail("message_make_safe() refused a message");
		return;
	}
	check_fields(m, (opt & 0x10) != 0);
	check_written(m, 1, sizes, nsizes);
	check_idempotent(m, (opt & 0x08) != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_read_opts ro;
	struct message *m = NULL;
	struct err e;
	char fullname[64];
	unsigned opt;
	size_t k = 0;
	int fd, fd_mark;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	setup();
	/* Taken per run: libFuzzer's symbolizer may hold fds between runs. */
	fd_mark = lowest_free_fd();
	opt = data[0];
	data++, size--;
	if ((opt & 0x40) && size > 0) {
		k = data[0] % sizeof(fullname);
		k = k < size - 1 ? k : size - 1;
		memcpy(fullname, data + 1, k);
		data += 1 + k, size -= 1 + k;
	}
	fullname[k] = '\0';
	memset(&ro, 0, sizeof(ro));
	ro.ignore_dots = opt & 0x01;
	ro.stdin_is_tty = (opt & 0x02) != 0;
	ro.max_size = (opt & 0x04) ? size / 2 + 1 : 0;
	ro.tmpdir = spool_dir;
	memset(&e, 0, sizeof(e));
	fd = mem_file(data, size);
	if (message_read(fd, &ro, &m, &e) == -1) {
		if (m != NULL || (e.kind != ERR_DATA && e.kind != ERR_TEMP))
			fail("message_read() failed with an unexpected kind");
	} else {
		run_message(m, opt, (opt & 0x40) ? fullname : NULL, data,
		    size < 16 ? size : 16);
	}
	message_free(m);
	close(fd);
	if (lowest_free_fd() != fd_mark)
		fail("file descriptor leaked");
	return 0;
}
