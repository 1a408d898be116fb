/* Unit tests for message.c: reading, limits, completion, -t, SMTP safety. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "buf.h"
#include "check.h"
#include "err.h"
#include "message.h"

#define MB (1024UL * 1024UL)

/* An unlinked temporary file holding n bytes, positioned at 0. */
static int
memfile(const char *p, size_t n)
{
	char path[] = "/tmp/test_message.XXXXXX";
	int fd = mkstemp(path);

	if (fd == -1 || unlink(path) == -1 ||
	    (n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		perror("memfile");
		exit(99);
	}
	return fd;
}

static struct message *
rd(const char *in, size_t n, int tty, int dots, unsigned long long max,
    struct err *e)
{
	struct message_read_opts o = {dots, tty, max, NULL};
	struct message *m = NULL;
	int fd = memfile(in, n);

	if (message_read(fd, &o, &m, e) == -1)
		m = NULL;
	close(fd);
	return m;
}

static struct message *
rds(const char *in, struct err *e)
{
	return rd(in, strlen(in), 0, 0, 0, e);
}

/* The whole file behind fd, NUL-terminated; caller frees. */
static char *
slurp(int fd, size_t *len)
{
	struct buf b;
	char tmp[65536];
	ssize_t n;
	off_t off = 0;

	buf_init(&b, 512 * MB);
	buf_add(&b, "", 0);
	while ((n = pread(fd, tmp, sizeof(tmp), off)) > 0) {
		buf_add(&b, tmp, (size_t)n);
		off += n;
	}
	if (len != NULL)
		*len = b.len;
	return buf_steal(&b, NULL);
}

/* message_write() output; caller frees. */
static char *
dump(const struct message *m, size_t *len)
{
	struct err e;
	int fd = memfile("", 0);
	char *s;

	if (message_write(m, fd, &e) == -1) {
		fprintf(stderr, "message_write: %s\n", e.text);
		close(fd);
		return NULL;
	}
	s = slurp(fd, len);
	close(fd);
	return s;
}

static char *
body(const struct message *m, size_t *len)
{
	return slurp(message_body_fd(m), len);
}

/* Every CR is followed by LF and every LF preceded by CR; no NUL; lines
 * at most max octets; no 8-bit unless allow8. */
static int
wire_safe(const char *p, size_t n, size_t max, int allow8)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return 0;
		if (c == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
		if (c == '\0' || (c >= 0x80 && !allow8))
			return 0;
		if (c == '\n')
			col = 0;
		else if (c != '\r' && ++col > max)
			return 0;
	}
	return 1;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode quoted-printable (strict: only =XX with upper-case hex and soft
 * breaks; trailing WSP on a line is an error).  Returns -1 if malformed. */
static long
qp_decode(const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '=' && i + 2 < n && in[i + 1] == '\r' &&
		    in[i + 2] == '\n') {
			i += 2;
		} else if (in[i] == '=') {
			if (i + 2 >= n || unhex(in[i + 1]) < 0 ||
			    unhex(in[i + 2]) < 0)
				return -1;
			out[o++] =
			    (char)(unhex(in[i + 1]) * 16 + unhex(in[i + 2]));
			i += 2;
		} else {
			if (in[i] == '\r' && i > 0 &&
			    (in[i - 1] == ' ' || in[i - 1] == '\t'))
				return -1;
			out[o++] = in[i];
		}
	}
	return (long)o;
}

/* ---- reading: (input, tty, -i, expected message_write output) ---- */

static const struct {
	const char *in;
	size_t inlen; /* 0: strlen */
	int tty, dots;
	const char *out;
	size_t outlen; /* 0: strlen */
	size_t nh;
} reads[] = {
    {"Subject: hi\n\nbody\n", 0, 0, 0, "Subject: hi\r\n\r\nbody\r\n", 0, 1},
    {"Subject: hi\r\rbody\r", 0, 0, 0, "Subject: hi\r\n\r\nbody\r\n", 0, 1},
    {"Subject: hi\r\n\r\nbody\r\n", 0, 0, 0, "Subject: hi\r\n\r\nbody\r\n", 0,
	1},
    {"A: 1\r\nB: 2\n\rbody\r\nx\ry\n", 0, 0, 0,
	"A: 1\r\nB: 2\r\n\r\nbody\r\nx\r\ny\r\n", 0, 2},
    {"A: 1\n\na\r\r\n\n\rb", 0, 0, 0, "A: 1\r\n\r\na\r\n\r\n\r\n\r\nb\r\n", 0,
	1},
    /* The lone "." rule: only on a terminal, never with -i. */
    {"\n.\n", 0, 0, 0, "\r\n.\r\n", 0, 0},
    {"\n.\n", 0, 1, 0, "\r\n", 0, 0},
    {"\n.\n", 0, 1, 1, "\r\n.\r\n", 0, 0},
    {"\r.\r", 0, 0, 0, "\r\n.\r\n", 0, 0},
    {"\r.\r", 0, 1, 0, "\r\n", 0, 0},
    {"\r.\rafter\r", 0, 1, 0, "\r\n", 0, 0},
    {"a: b\n.\nrest\n", 0, 1, 0, "a: b\r\n\r\n", 0, 1},
    {"a: b\n.\nrest\n", 0, 0, 0, "a: b\r\n\r\n.\r\nrest\r\n", 0, 1},
    {"a: b\n\nbody\n..\n.x\nmore\n.\r\nignored\n", 0, 1, 0,
	"a: b\r\n\r\nbody\r\n..\r\n.x\r\nmore\r\n", 0, 1},
    {"a: b\n\nbody\n.", 0, 1, 0, "a: b\r\n\r\nbody\r\n", 0, 1},
    {"a: b\n\nbody\n.", 0, 0, 0, "a: b\r\n\r\nbody\r\n.\r\n", 0, 1},
    {"a: b\n\nbody\n.\n", 0, 1, 1, "a: b\r\n\r\nbody\r\n.\r\n", 0, 1},
    {".", 0, 1, 0, "\r\n", 0, 0},
    {".", 0, 0, 0, "\r\n.\r\n", 0, 0},
    /* Endings. */
    {"Subject: a\n\nbody", 0, 0, 0, "Subject: a\r\n\r\nbody\r\n", 0, 1},
    {"", 0, 0, 0, "\r\n", 0, 0},
    {"\n", 0, 0, 0, "\r\n", 0, 0},
    {"\r\n\r\n", 0, 0, 0, "\r\n\r\n", 0, 0},
    {"Subject: a\nTo: b@c", 0, 0, 0, "Subject: a\r\nTo: b@c\r\n\r\n", 0, 2},
    {"Subject: a\n", 0, 0, 0, "Subject: a\r\n\r\n", 0, 1},
    /* No header section. */
    {"hello world\nsecond\n", 0, 0, 0, "\r\nhello world\r\nsecond\r\n", 0, 0},
    {" indented: x\nA: b\n", 0, 0, 0, "\r\n indented: x\r\nA: b\r\n", 0, 0},
    {":x\n", 0, 0, 0, "\r\n:x\r\n", 0, 0},
    {"Subj ect: x\n", 0, 0, 0, "\r\nSubj ect: x\r\n", 0, 0},
    {"\xc3\xa9: x\n", 0, 0, 0, "\r\n\xc3\xa9: x\r\n", 0, 0},
    /* A non-field line ends the header section. */
    {"A: 1\nnot a header\nB: 2\n", 0, 0, 0,
	"A: 1\r\n\r\nnot a header\r\nB: 2\r\n", 0, 1},
    /* mbox "From " line: dropped only as the first line. */
    {"From sender@x Mon Jan  1 00:00:00 2024\nSubject: s\n\nb\n", 0, 0, 0,
	"Subject: s\r\n\r\nb\r\n", 0, 1},
    {"From x\r\n indented\n", 0, 0, 0, "\r\n indented\r\n", 0, 0},
    {"From: a@b.c\n\nb\n", 0, 0, 0, "From: a@b.c\r\n\r\nb\r\n", 0, 1},
    {"Subject: s\nFrom x\n\nb\n", 0, 0, 0,
	"Subject: s\r\n\r\nFrom x\r\n\r\nb\r\n", 0, 1},
    /* Folding kept, obs-optional WSP before the colon. */
    {"Subject: a\n  b\n\tc\nTo : x@y\n\n", 0, 0, 0,
	"Subject: a\r\n  b\r\n\tc\r\nTo : x@y\r\n\r\n", 0, 2},
    /* NUL: a space in a header, kept in the body. */
    {"A: x\0y\n\nb\0c\n", 12, 0, 0, "A: x y\r\n\r\nb\0c\r\n", 15, 1},
    {"\0\n", 2, 0, 0, "\r\n\0\r\n", 5, 0},
};

static void
test_read_table(void)
{
	struct message *m;
	struct err e;
	size_t i, n, inlen, outlen;
	char *s;

	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		inlen = reads[i].inlen ? reads[i].inlen : strlen(reads[i].in);
		outlen =
		    reads[i].outlen ? reads[i].outlen : strlen(reads[i].out);
		m = rd(reads[i].in, inlen, reads[i].tty, reads[i].dots, 0, &e);
		CHECK(m != NULL);
		if (m == NULL) {
			fprintf(stderr, "  row %zu: %s\n", i, e.text);
			continue;
		}
		s = dump(m, &n);
		CHECK(s != NULL && n == outlen &&
		      memcmp(s, reads[i].out, n) == 0);
		if (s == NULL || n != outlen || memcmp(s, reads[i].out, n) != 0)
			fprintf(stderr, "  row %zu: got [%s]\n", i, s ? s : "");
		CHECK(message_nheaders(m) == reads[i].nh);
		CHECK(message_size(m) == n);
		CHECK(wire_safe(s, n, 998, 1) || memchr(s, 0, n) != NULL);
		free(s);
		message_free(m);
	}
}

static void
test_read_fields(void)
{
	struct message *m;
	struct err e;
	size_t len;
	const char *raw;

	m = rds("Subject: a\n  b\n\tc  \nX-Empty:\nto: x@y\nTO: z@y\n\n", &e);
	CHECK(m != NULL);
	CHECK_STR(message_get(m, "SUBJECT"), "a  b\tc");
	CHECK_STR(message_get(m, "x-empty"), "");
	CHECK_STR(message_get(m, "To"), "x@y");
	CHECK(message_get(m, "Cc") == NULL);
	raw = message_header(m, 0, &len);
	CHECK(raw != NULL && len == strlen("Subject: a\r\n  b\r\n\tc  \r\n") &&
	      memcmp(raw, "Subject: a\r\n  b\r\n\tc  \r\n", len) == 0);
	CHECK(message_header(m, 99, &len) == NULL);
	CHECK(!message_has_8bit(m));
	message_free(m);

	m = rds("Subject: \xc3\xa9\n\nplain\n", &e);
	CHECK(m != NULL && message_has_8bit(m));
	message_free(m);
	m = rds("Subject: x\n\n\xff\n", &e);
	CHECK(m != NULL && message_has_8bit(m));
	message_free(m);
}

/* A CR at the end of one 64 KiB read and its LF at the start of the next
 * make one line ending, not two. */
static void
test_read_chunk_boundary(void)
{
	struct message *m;
	struct err e;
	struct buf in, want;
	size_t n, i;
	char *s;

	buf_init(&in, MB);
	buf_init(&want, MB);
	buf_addstr(&in, "A: b\n\n");
	buf_addstr(&want, "A: b\r\n\r\n");
	for (i = in.len; i < 65535; i++) {
		buf_addch(&in, 'x');
		buf_addch(&want, 'x');
	}
	buf_addstr(&in, "\r\n.\r\ny\n");
	buf_addstr(&want, "\r\n");
	m = rd(in.data, in.len, 1, 0, 0, &e);
	CHECK(m != NULL);
	s = m ? dump(m, &n) : NULL;
	CHECK(s != NULL && n == want.len && memcmp(s, want.data, n) == 0);
	free(s);
	message_free(m);
	buf_reset(&in);
	buf_reset(&want);
}

/* The lone "." rule on a real pipe, stdin_is_tty simulated. */
static void
test_read_pipe_tty(void)
{
	struct message_read_opts o = {0, 1, 0, NULL};
	static const char in[] = "To: a@b.c\n\nline\n.\nnot read\n";
	struct message *m = NULL;
	struct err e;
	int p[2];
	char *s;
	size_t n;

	if (pipe(p) == -1)
		exit(99);
	CHECK(write(p[1], in, sizeof(in) - 1) == (ssize_t)sizeof(in) - 1);
	close(p[1]);
	CHECK(message_read(p[0], &o, &m, &e) == 0);
	close(p[0]);
	s = m ? dump(m, &n) : NULL;
	CHECK_STR(s, "To: a@b.c\r\n\r\nline\r\n");
	free(s);
	message_free(m);
}

/* ---- reading in runs: read() boundaries where we choose them ---- */

/* Child: send p[0..n) as records ending at the offsets in cuts. */
static void
send_records(int fd, const char *p, size_t n, const size_t *cuts, size_t ncuts)
{
	size_t at = 0, i, end, k;

	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts && cuts[i] < n ? cuts[i] : n;
		while (at < end) { /* a record is at most one 64 KiB read */
			k = end - at < 65536 ? end - at : 65536;
			if (write(fd, p + at, k) != (ssize_t)k)
				/* the reader stopped early (a "." line) */
				_exit(errno == EPIPE || errno == ECONNRESET
					  ? 0
					  : 1);
			at += k;
		}
	}
	_exit(0);
}

/*
 * Read in from a SOCK_SEQPACKET socket: each read() returns one record,
 * so the reader sees exactly the boundaries given in cuts (increasing
 * offsets; pieces over 64 KiB are sent in 64 KiB records).
 */
static struct message *
rd_split(const char *in, size_t n, const size_t *cuts, size_t ncuts, int tty,
    struct err *e)
{
	struct message_read_opts o = {0, tty, 0, NULL};
	struct message *m = NULL;
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1 ||
	    (pid = fork()) == -1)
		exit(99);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(sv[0]);
		send_records(sv[1], in, n, cuts, ncuts);
	}
	close(sv[1]);
	if (message_read(sv[0], &o, &m, e) == -1)
		m = NULL;
	close(sv[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	return m;
}

/* Nonzero if dump(m) is want[0..wlen); reports the row if not. */
static int
dump_is(const struct message *m, const char *want, size_t wlen, size_t row)
{
	size_t n;
	char *s = m != NULL ? dump(m, &n) : NULL;
	int ok = s != NULL && n == wlen && memcmp(s, want, n) == 0;

	if (!ok)
		fprintf(stderr, "  row %zu: got [%s]\n", row, s ? s : "(null)");
	free(s);
	return ok;
}

#define NOCUT ((size_t)-1)

/* (input, where read() boundaries fall, tty, expected output) */
static const struct {
	const char *in;
	size_t cuts[6]; /* up to the first NOCUT */
	int tty;
	const char *out;
} splits[] = {
    /* A CR ending one read and its LF starting the next: one line end. */
    {"A: b\r\n\r\nxy\r\nz\r\n", {11, NOCUT}, 0, "A: b\r\n\r\nxy\r\nz\r\n"},
    {"A: b\r\n\r\nxy\rz\r\n", {11, NOCUT}, 0, "A: b\r\n\r\nxy\r\nz\r\n"},
    {"A: b\r\n\r\nxy\r\r\nz", {11, NOCUT}, 0, "A: b\r\n\r\nxy\r\n\r\nz\r\n"},
    {"A: b\r\n\r\nxy\r", {11, NOCUT}, 0, "A: b\r\n\r\nxy\r\n"},
    {"A: b\r\n\r\nxy\r\n", {11, 12, NOCUT}, 0, "A: b\r\n\r\nxy\r\n"},
    {"A: b\r\n\r\n\r\n\r\n", {9, 11, NOCUT}, 0, "A: b\r\n\r\n\r\n\r\n"},
    /* ... in the header section and at its end. */
    {"A: b\r\n\r\nbody\n", {5, 7, NOCUT}, 0, "A: b\r\n\r\nbody\r\n"},
    {"A: b\r\n\r\nbody\n", {4, 6, 8, NOCUT}, 0, "A: b\r\n\r\nbody\r\n"},
    /* Runs of CRLF lines and text crossing reads. */
    {"A: b\r\n\r\nab\r\ncd\r\nef", {10, NOCUT}, 0,
	"A: b\r\n\r\nab\r\ncd\r\nef\r\n"},
    {"A: b\r\n\r\na\r\nb\r\ncd\ne\r\n", {15, 17, 19, NOCUT}, 0,
	"A: b\r\n\r\na\r\nb\r\ncd\r\ne\r\n"},
    {"A: b\n\na\r\n\rb\nc", {7, 8, 9, 10, 11, 12}, 0,
	"A: b\r\n\r\na\r\n\r\nb\r\nc\r\n"},
    /* Controls other than CR and LF do not end a line. */
    {"A: b\n\na\tb\x01\x0b\x0c\x0e"
     "c\r\nd",
	{NOCUT}, 0,
	"A: b\r\n\r\na\tb\x01\x0b\x0c\x0e"
	"c\r\nd\r\n"},
    {"A: b\n\n0123456789abcd\tf0123456789abcde\tx\n", {NOCUT}, 0,
	"A: b\r\n\r\n0123456789abcd\tf0123456789abcde\tx\r\n"},
    /* The lone "." on a terminal, split across reads. */
    {"A: b\n\nx\n.\nrest\n", {9, NOCUT}, 1, "A: b\r\n\r\nx\r\n"},
    {"A: b\n\nx\n.y\n.\r\nrest", {9, 14, NOCUT}, 1, "A: b\r\n\r\nx\r\n.y\r\n"},
    {"A: b\n\nx\r\n.\r\n", {9, 11, NOCUT}, 1, "A: b\r\n\r\nx\r\n"},
    {"A: b\n\nx\r\n.\rz\r\n", {9, 11, NOCUT}, 1, "A: b\r\n\r\nx\r\n"},
    {"A: b\n\nx\n..\r\n.", {9, 10, 11, NOCUT}, 1, "A: b\r\n\r\nx\r\n..\r\n"},
    {"A: b\n\nx\n.", {9, NOCUT}, 1, "A: b\r\n\r\nx\r\n"},
    {"A: b\n\nx\n.", {9, NOCUT}, 0, "A: b\r\n\r\nx\r\n.\r\n"},
};

static void
test_read_split(void)
{
	struct message *m;
	struct err e;
	size_t i, nc;

	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		for (nc = 0; nc < 6 && splits[i].cuts[nc] != NOCUT; nc++)
			;
		m = rd_split(splits[i].in, strlen(splits[i].in), splits[i].cuts,
		    nc, splits[i].tty, &e);
		CHECK(m != NULL);
		CHECK(dump_is(m, splits[i].out, strlen(splits[i].out), i));
		message_free(m);
	}
}

/* After make_safe(allow_8bit): did the body need re-encoding (NUL or a
 * line over 998 octets)?  The message has no Content-Type: QP then. */
static int
needed_qp(struct message *m)
{
	struct err e;

	if (m == NULL || message_make_safe(m, 1, &e) == -1)
		return -1;
	return message_get(m, "Content-Transfer-Encoding") != NULL;
}

/* "A: b" CRLF CRLF, then a line of n 'a' ending as given. */
static void
long_line(struct buf *b, size_t n, const char *eol)
{
	size_t i;

	buf_clear(b);
	buf_addstr(b, "A: b\r\n\r\n");
	for (i = 0; i < n; i++)
		buf_addch(b, 'a');
	buf_addstr(b, eol);
}

/* A line's length is counted across reads, and restarts after CR LF
 * split between two reads. */
static void
test_read_split_long(void)
{
	static const size_t lens[] = {997, 998, 999, 2000};
	struct message *m;
	struct err e;
	struct buf b;
	size_t i, cut[3];

	buf_init(&b, MB);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		long_line(&b, lens[i], "\r\nshort\r\n");
		cut[0] = 100;
		cut[1] = 8 + lens[i] - 1; /* the line's last octet next */
		cut[2] = 8 + lens[i] + 1; /* between its CR and LF */
		m = rd_split(b.data, b.len, cut, 3, 0, &e);
		CHECK(needed_qp(m) == (lens[i] > 998));
		message_free(m);
		m = rd(b.data, b.len, 0, 0, 0, &e);
		CHECK(needed_qp(m) == (lens[i] > 998));
		message_free(m);
	}
	/* 998 + CR | LF + 998: two lines, each at the limit. */
	long_line(&b, 998, "\r");
	cut[0] = b.len;
	buf_addstr(&b, "\n");
	for (i = 0; i < 998; i++)
		buf_addch(&b, 'b');
	buf_addstr(&b, "\n");
	m = rd_split(b.data, b.len, cut, 1, 0, &e);
	CHECK(needed_qp(m) == 0);
	message_free(m);
	buf_reset(&b);
}

/* A NUL or an 8-bit octet at every place in and around the 8- and 16-octet
 * blocks the scanner reads, in the first and the second read. */
static void
test_read_nul_8bit(void)
{
	struct message *m;
	struct err e;
	char in[128];
	size_t at, cut, pre = 8; /* "A: b\r\n\r\n" */
	unsigned char c;

	memcpy(in, "A: b\r\n\r\n", pre);
	for (c = 0; c < 2; c++)
		for (at = 0; at < 40; at++)
			for (cut = 10; cut <= 30; cut += 20) {
				memset(in + pre, 'x', 60);
				in[pre + 60] = '\n';
				in[pre + at] = c == 0 ? '\0' : '\xe9';
				m = rd_split(in, pre + 61, &cut, 1, 0, &e);
				CHECK(m != NULL &&
				      message_has_8bit(m) == (c == 1));
				CHECK(needed_qp(m) == (c == 0));
				message_free(m);
			}
	/* Neither: nothing to do. */
	memset(in + pre, 'x', 60);
	m = rd(in, pre + 61, 0, 0, 0, &e);
	CHECK(m != NULL && !message_has_8bit(m) && needed_qp(m) == 0);
	message_free(m);
}

/*
 * A body of 300 KiB of 60-octet CRLF lines (more than one 256 KiB spool
 * buffer; body offset k is spool offset k), with the octet at body offset
 * off (not a line end) set to c, unless c is 'x'.
 */
static struct message *
big_body(size_t off, char c, struct buf *b)
{
	struct err e;

	buf_clear(b);
	buf_addstr(b, "A: b\r\n\r\n");
	while (b->len < 8 + 300 * 1024)
		buf_addstr(b,
		    "the quick brown fox jumps over a lazy dog, then stops"
		    " here\r\n");
	if (c != 'x')
		b->data[8 + off] = c;
	return rd(b->data, b->len, 0, 0, 0, &e);
}

/* NUL and 8-bit found in any spool buffer: first and last octets of a
 * full one, and in the last, partial one. */
static void
test_read_spool_buffers(void)
{
	static const size_t offs[] = {0, 100, 65535, 262143, 262144, 307150};
	struct message *m;
	struct buf b;
	size_t i;

	buf_init(&b, MB);
	m = big_body(0, 'x', &b);
	CHECK(m != NULL && !message_has_8bit(m) && needed_qp(m) == 0);
	CHECK(m != NULL && message_body_size(m) == b.len - 8);
	message_free(m);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		m = big_body(offs[i], '\x80', &b);
		CHECK(m != NULL && message_has_8bit(m) && needed_qp(m) == 0);
		message_free(m);
		m = big_body(offs[i], '\0', &b);
		CHECK(m != NULL && !message_has_8bit(m) && needed_qp(m) == 1);
		message_free(m);
	}
	buf_reset(&b);
}

/* ---- reading: random input against a model, random read boundaries ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static size_t
rnd(size_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (size_t)(rng >> 11) % n;
}

struct model {
	int has8, nul, lng;
};

static void
model_flags(const char *p, size_t n, struct model *f)
{
	size_t i, col = 0;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < n; i++) {
		f->has8 |= (unsigned char)p[i] >= 0x80;
		f->nul |= p[i] == '\0';
		col = p[i] == '\n' ? 0 : col + (p[i] != '\r');
		f->lng |= col > 998;
	}
}

/* The body message_read() should make of p, by the rules at the top of
 * message.c: CR, LF and CRLF end a line; on a tty, a line "." ends it. */
static void
model_body(const char *p, size_t n, int tty, struct buf *out)
{
	size_t i, bol = out->len;
	int skip = 0;

	for (i = 0; i < n; i++) {
		if (skip && p[i] == '\n') {
			skip = 0;
			continue;
		}
		skip = p[i] == '\r';
		if (p[i] != '\r' && p[i] != '\n') {
			buf_addch(out, p[i]);
			continue;
		}
		if (tty && out->len - bol == 1 && out->data[bol] == '.')
			break;
		buf_addstr(out, "\r\n");
		bol = out->len;
	}
	if (tty && out->len - bol == 1 && out->data[bol] == '.')
		out->len = bol; /* ended by the "." line */
	else if (out->len > bol)
		buf_addstr(out, "\r\n");
}

static void
random_text(struct buf *b, size_t n, int spice)
{
	static const char odd[] = {'\0', '\t', '\x0b', '\x01', '\xe9', '\x80',
	    '\xff', '.'};

	while (n-- > 0)
		buf_addch(b, spice && rnd(200) == 0 ? odd[rnd(sizeof(odd))]
						    : "abc d.efgh"[rnd(10)]);
}

/* Mostly lines of text, with every kind of line end, dots, long lines. */
static void
random_body(struct buf *b, size_t size, int spice, int longs)
{
	static const char *const eols[] = {"\r\n", "\n", "\r", "\r\r\n",
	    "\n\r"};
	size_t end = b->len + size;

	while (b->len < end) {
		if (rnd(10) == 0)
			buf_addch(b, '.');
		if (longs && rnd(40) == 0)
			random_text(b, 990 + rnd(20), spice);
		else
			random_text(b, rnd(100), spice);
		buf_addstr(b, rnd(4) ? "\r\n" : eols[rnd(5)]);
	}
}

/* Read boundaries: random places, some just after a CR. */
static size_t
random_cuts(const struct buf *b, size_t *cuts, size_t max)
{
	size_t n = rnd(max + 1), i, j, t;
	const char *cr;

	for (i = 0; i < n; i++) {
		cuts[i] = 1 + rnd(b->len);
		if (rnd(2) && (cr = memchr(b->data + cuts[i] - 1, '\r',
				   b->len - cuts[i] + 1)) != NULL)
			cuts[i] = (size_t)(cr - b->data) + 1;
	}
	for (i = 1; i < n; i++) /* insertion sort */
		for (j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			t = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	return n;
}

static void
random_case(struct buf *in, struct buf *want, size_t row)
{
	size_t cuts[40], nc;
	int tty = rnd(4) == 0;
	struct message *m;
	struct model f;
	struct err e;

	buf_clear(in);
	buf_clear(want);
	buf_addstr(in, "A: b\r\n\r\n");
	buf_addstr(want, "A: b\r\n\r\n");
	random_body(in, rnd(5) ? rnd(4000) : rnd(400000), rnd(3) == 0,
	    rnd(3) == 0);
	model_body(in->data + 8, in->len - 8, tty, want);
	model_flags(want->data, want->len, &f);
	nc = random_cuts(in, cuts, rnd(3) ? 8 : 40);
	m = rd_split(in->data, in->len, cuts, nc, tty, &e);
	CHECK(m != NULL);
	CHECK(dump_is(m, want->data, want->len, row));
	CHECK(m != NULL && message_has_8bit(m) == f.has8);
	CHECK(needed_qp(m) == (f.nul || f.lng));
	message_free(m);
}

static void
test_read_random(void)
{
	struct buf in, want;
	size_t i;

	buf_init(&in, 4 * MB);
	buf_init(&want, 4 * MB);
	for (i = 0; i < 400; i++)
		random_case(&in, &want, i);
	buf_reset(&in);
	buf_reset(&want);
}

/* ---- writing to other kinds of fd ---- */

/* message_write() in a child to a pipe we read (sendfile() to a pipe). */
static char *
dump_pipe(const struct message *m, size_t *len)
{
	struct buf b;
	char tmp[65536];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		exit(99);
	if (pid == 0) {
		struct err e;
		close(p[0]);
		_exit(message_write(m, p[1], &e) == 0 ? 0 : 1);
	}
	close(p[1]);
	buf_init(&b, 64 * MB);
	buf_add(&b, "", 0);
	while ((n = read(p[0], tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(p[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	return buf_steal(&b, len);
}

/* An O_APPEND file: sendfile() refuses it, plain writes take over. */
static char *
dump_append(const struct message *m, size_t *len)
{
	char path[] = "/tmp/test_message.XXXXXX";
	int fd = mkstemp(path), afd;
	struct err e;
	char *s = NULL;

	if (fd == -1 || (afd = open(path, O_WRONLY | O_APPEND)) == -1 ||
	    unlink(path) == -1)
		exit(99);
	CHECK(write(afd, "X", 1) == 1);
	if (message_write(m, afd, &e) == 0)
		s = slurp(fd, len);
	close(afd);
	close(fd);
	return s;
}

static void
test_write_targets(void)
{
	struct message *m;
	struct buf b;
	size_t n, n2, n3;
	char *s, *s2, *s3;

	buf_init(&b, MB);
	m = big_body(0, 'x', &b);
	s = m != NULL ? dump(m, &n) : NULL;
	s2 = m != NULL ? dump_pipe(m, &n2) : NULL;
	s3 = m != NULL ? dump_append(m, &n3) : NULL;
	CHECK(s != NULL && n == message_size(m) && wire_safe(s, n, 998, 0));
	CHECK(s != NULL && s2 != NULL && n2 == n && memcmp(s, s2, n) == 0);
	CHECK(s != NULL && s3 != NULL && n3 == n + 1 && s3[0] == 'X' &&
	      memcmp(s, s3 + 1, n) == 0);
	free(s);
	free(s2);
	free(s3);
	message_free(m);
	buf_reset(&b);
}

static void
test_limits(void)
{
	struct message *m;
	struct err e;
	struct buf b;
	size_t i;

	buf_init(&b, 64 * MB);
	for (i = 0; i < 100000; i++)
		buf_printf(&b, "X-H%zu: v\r\n", i);
	buf_addstr(&b, "\r\nbody\r\n");
	m = rd(b.data, b.len, 0, 0, 0, &e);
	CHECK(m == NULL && e.kind == ERR_DATA);
	CHECK(strstr(e.text, "more than 1000 header fields") != NULL);
	message_free(m);

	/* Exactly the maximum number of fields is fine. */
	buf_clear(&b);
	for (i = 0; i < MESSAGE_MAX_HEADERS; i++)
		buf_printf(&b, "X-H%zu: v\r\n", i);
	m = rd(b.data, b.len, 0, 0, 0, &e);
	CHECK(m != NULL && message_nheaders(m) == MESSAGE_MAX_HEADERS);
	message_free(m);
	buf_reset(&b);
}

static void
test_limits_bytes(void)
{
	struct message *m;
	struct err e;
	struct buf b;
	size_t i;

	/* One field over 64 KiB (folded lines). */
	buf_init(&b, 64 * MB);
	buf_clear(&b);
	buf_addstr(&b, "Subject: x");
	for (i = 0; i < 2000; i++)
		buf_addstr(&b, "\n 0123456789012345678901234567890123456789");
	buf_addstr(&b, "\n\nbody\n");
	m = rd(b.data, b.len, 0, 0, 0, &e);
	CHECK(m == NULL && e.kind == ERR_DATA &&
	      strstr(e.text, "header field longer") != NULL);

	/* The header section over 1 MiB. */
	buf_clear(&b);
	for (i = 0; i < 45; i++) {
		size_t j;
		buf_printf(&b, "X-H%zu: ", i);
		for (j = 0; j < 600; j++)
			buf_addstr(&b,
			    "abcdefghijklmnopqrstuvwxyz0123456789abcd\n ");
		buf_addstr(&b, "end\n");
	}
	m = rd(b.data, b.len, 0, 0, 0, &e);
	CHECK(m == NULL && e.kind == ERR_DATA &&
	      strstr(e.text, "header section larger") != NULL);
	buf_reset(&b);
}

static void
test_max_size(void)
{
	struct message *m;
	struct err e;

	/* max_size counts the normalised message. */
	m = rd("A: b\n\n0123456789\n", 17, 0, 0, 20, &e); /* 20 on the wire */
	CHECK(m != NULL && message_size(m) == 20);
	message_free(m);
	m = rd("A: b\n\n0123456789\n", 17, 0, 0, 19, &e);
	CHECK(m == NULL && e.kind == ERR_DATA &&
	      strstr(e.text, "larger than the limit of 19") != NULL);
	m = rd("A: b\n\n0123456789", 16, 0, 0, 19, &e); /* the added CRLF */
	CHECK(m == NULL && e.kind == ERR_DATA);
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A file holding one 50 MB line (no newline, no header, a NUL inside). */
static int
big_line_file(size_t size)
{
	static char chunk[65536];
	size_t done = 0, k;
	int fd = memfile("", 0);

	memset(chunk, 'a', sizeof(chunk));
	while (done < size) {
		k = size - done < sizeof(chunk) ? size - done : sizeof(chunk);
		if (done == 10 * MB)
			chunk[5] = '\0';
		if (write(fd, chunk, k) != (ssize_t)k)
			exit(99);
		chunk[5] = 'a';
		done += k;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Scan the QP body of the big line: lines <= 76, decoded size right. */
static void
check_big_qp(const struct message *m, size_t size)
{
	static char chunk[65536];
	unsigned long long off = 0, decoded = 0, nul = 0;
	size_t col = 0, maxcol = 0, i;
	ssize_t n;

	while ((n = pread(message_body_fd(m), chunk, sizeof(chunk),
		    (off_t)off)) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			if (chunk[i] == '\n') {
				col = 0;
				continue;
			}
			if (chunk[i] == 'a')
				decoded++;
			if (chunk[i] == '=' && i + 2 < (size_t)n &&
			    chunk[i + 1] == '0' && chunk[i + 2] == '0')
				nul++;
			if (chunk[i] != '\r' && ++col > maxcol)
				maxcol = col;
		}
		off += (unsigned long long)n;
	}
	CHECK(maxcol <= 76);
	CHECK(decoded + nul == size);
	CHECK(nul == 1);
}

static void
test_big_line(void)
{
	const size_t size = 50 * MB;
	struct message_read_opts o = {0, 0, 0, NULL};
	struct message *m = NULL;
	struct err e = {ERR_NONE, 0, ""};
	long before = maxrss_kb();
	int fd = big_line_file(size);

	CHECK(message_read(fd, &o, &m, &e) == 0);
	close(fd);
	if (m == NULL)
		return;
	CHECK(message_nheaders(m) == 0);
	CHECK(message_body_size(m) == size + 2);
	CHECK(maxrss_kb() - before < 16 * 1024);
	CHECK(message_make_safe(m, 1, &e) == 0);
	if (e.kind != ERR_NONE)
		fprintf(stderr, "  make_safe: %s\n", e.text);
	CHECK(maxrss_kb() - before < 16 * 1024);
	CHECK_STR(message_get(m, "Content-Transfer-Encoding"),
	    "quoted-printable");
	check_big_qp(m, size);
	message_free(m);
}

/* ---- make_safe: (input, allow_8bit, expected CTE, expected charset
 * header, expected kind of check) ---- */

enum safe_check { SC_QP, SC_SAME, SC_FOLD, SC_QPFOLD };

#define S(lit) lit, sizeof(lit) - 1

static const struct {
	const char *in;
	size_t inlen;
	int allow8;
	const char *cte;   /* expected Content-Transfer-Encoding */
	const char *ctype; /* expected Content-Type, NULL: none */
	enum safe_check how;
} safes[] = {
    /* NUL in a plain body: QP, MIME headers added. */
    {S("Subject: s\n\na\0b \nend\n"), 1, "quoted-printable",
	"text/plain; charset=us-ascii", SC_QP},
    /* No header at all, 8-bit UTF-8, 7-bit server. */
    {S("caf\xc3\xa9 \t\nx=y\n"), 0, "quoted-printable",
	"text/plain; charset=utf-8", SC_QP},
    {S("Subject: s\n\ncaf\xe9\n"), 0, "quoted-printable",
	"text/plain; charset=unknown-8bit", SC_QP},
    /* 8-bit to an 8BITMIME server: nothing to do. */
    {S("Subject: s\n\ncaf\xe9\n"), 1, NULL, NULL, SC_SAME},
    /* Existing single-part headers are kept; the CTE is replaced. */
    {S("Content-Type: text/html; charset=iso-8859-1\nMIME-Version: 1.0\n"
       "Content-Transfer-Encoding: 8bit\n\n<p>\xe9\0</p>\n"),
	1, "quoted-printable", "text/html; charset=iso-8859-1", SC_QP},
    {S("Content-Transfer-Encoding: BINARY (raw)\n\na\0\n"), 1,
	"quoted-printable", "text/plain; charset=us-ascii", SC_QP},
    /* Multipart: split long lines, NUL to SP, headers unchanged. */
    /* (not closed: not walked, so folded as a whole) */
    {S("Content-Type: multipart/mixed; boundary=x\n\n--x\n\n\0\n"), 1, NULL,
	"multipart/mixed; boundary=x", SC_FOLD},
    {S("Content-Type: (c) Message/RFC822\n\n\0\n"), 1, NULL,
	"(c) Message/RFC822", SC_FOLD},
    {S("Content-Transfer-Encoding: base64\n\nAAAA\0\n"), 1, "base64", NULL,
	SC_FOLD},
    /* 8-bit multipart cannot be made 7-bit without MIME parsing. */
    {S("Content-Type: multipart/mixed; boundary=x\n\n\xe9\n"), 0, NULL,
	"multipart/mixed; boundary=x", SC_SAME},
    /* Existing QP: NUL and 8-bit become =XX. */
    {S("Content-Transfer-Encoding: quoted-printable\n\na=3Db\0\xe9\n"), 0,
	"quoted-printable", NULL, SC_QPFOLD},
};

static const char *
cte_of(const struct message *m)
{
	return message_get(m, "Content-Transfer-Encoding");
}

static void
check_safe_row(size_t i, struct message *m, const char *old, size_t oldn)
{
	size_t n;
	char *b = body(m, &n), *dec = malloc(n + 1);
	long d;

	if (safes[i].how == SC_SAME)
		CHECK(n == oldn && memcmp(b, old, n) == 0);
	if (safes[i].how == SC_QP) {
		CHECK(wire_safe(b, n, 76, 0));
		d = qp_decode(b, n, dec);
		CHECK(d == (long)oldn && memcmp(dec, old, oldn) == 0);
		CHECK_STR(message_get(m, "MIME-Version"), "1.0");
	}
	if (safes[i].how == SC_FOLD) {
		CHECK(wire_safe(b, n, 998, 1));
		CHECK(n == oldn && memchr(b, '\0', n) == NULL);
	}
	if (safes[i].how == SC_QPFOLD) {
		CHECK(wire_safe(b, n, 998, 0));
		CHECK_STR(b, "a=3Db=00=E9\r\n");
	}
	free(b);
	free(dec);
}

static void
test_make_safe_table(void)
{
	struct message *m;
	struct err e;
	size_t i, oldn;
	char *old;

	for (i = 0; i < sizeof(safes) / sizeof(safes[0]); i++) {
		m = rd(safes[i].in, safes[i].inlen, 0, 0, 0, &e);
		CHECK(m != NULL);
		if (m == NULL)
			continue;
		old = body(m, &oldn);
		CHECK(message_make_safe(m, safes[i].allow8, &e) == 0);
		if (safes[i].cte == NULL)
			CHECK(cte_of(m) == NULL);
		else
			CHECK_STR(cte_of(m), safes[i].cte);
		if (safes[i].ctype == NULL)
			CHECK(message_get(m, "Content-Type") == NULL);
		else
			CHECK_STR(message_get(m, "Content-Type"),
			    safes[i].ctype);
		check_safe_row(i, m, old, oldn);
		if (safes[i].how == SC_QP)
			CHECK(!message_has_8bit(m));
		free(old);
		message_free(m);
	}
}

/* QP of long lines, trailing whitespace, "=" and a lone dot, decoded back. */
static void
test_qp_roundtrip(void)
{
	struct message *m;
	struct err e;
	struct buf in;
	size_t i, n, oldn;
	char *b, *old, *dec;

	buf_init(&in, MB);
	buf_addstr(&in, "Subject: qp\n\n");
	for (i = 0; i < 3000; i++)
		buf_addch(&in, (char)(i % 7 == 0    ? ' '
				      : i % 11 == 0 ? '='
						    : 'a' + i % 26));
	buf_addstr(&in, "\n.\ntrailing \t\n\tlead\nFrom x\n");
	for (i = 0; i < 256; i++)
		buf_addch(&in, (char)(i == '\n' || i == '\r' ? 'x' : i));
	buf_addstr(&in, "\n \n");
	m = rd(in.data, in.len, 0, 0, 0, &e);
	CHECK(m != NULL);
	old = body(m, &oldn);
	CHECK(message_make_safe(m, 0, &e) == 0);
	b = body(m, &n);
	dec = malloc(n + 1);
	CHECK(wire_safe(b, n, 76, 0));
	CHECK(
	    qp_decode(b, n, dec) == (long)oldn && memcmp(dec, old, oldn) == 0);
	CHECK(message_body_size(m) == n);
	CHECK_STR(message_get(m, "Content-Type"),
	    "text/plain; charset=unknown-8bit");
	free(b);
	free(dec);
	free(old);
	message_free(m);
	buf_reset(&in);
}

/*
 * Random text-like bodies (words, runs of SP and HT, "=", SP or HT before
 * a line end, 8-bit and NUL octets, lines of every length), some longer
 * than a 64 KiB read so that runs and held white space cross chunks: the
 * QP body keeps lines <= 76, encodes white space at line ends, and decodes
 * to the original.  This covers message.c's fast paths (runs of literal
 * octets copied 8 at a time) against the rules, not against themselves.
 */
static void
test_qp_random(void)
{
	static const char *const frag[] = {"lorem", "ipsum", " ", "  ", "\t",
	    "=", "=3D", "abcdefgh", "\xc3\xa9", "\n", " \n", "\t\n", "x",
	    "0123456789abcdef0123456789abcdef0123456789", ".", "\xff"};
	struct message *m;
	struct err e;
	struct buf in;
	size_t i, k, n, oldn, len;
	char *b, *old, *dec;
	unsigned seed = 12345;

	for (i = 0; i < 300; i++) {
		buf_init(&in, 4 * MB);
		buf_addstr(&in, "Subject: qp\n\n");
		buf_addch(&in, '\0'); /* needs re-encoding */
		len = i % 10 == 0 ? 150000 : (i * 37) % 4000;
		while (in.len < len) {
			seed = seed * 1103515245 + 12345;
			k = (seed >> 16) % (sizeof(frag) / sizeof(frag[0]));
			buf_addstr(&in, frag[k]);
		}
		m = rd(in.data, in.len, 0, 0, 0, &e);
		CHECK(m != NULL);
		if (m == NULL) {
			buf_reset(&in);
			continue;
		}
		old = body(m, &oldn);
		CHECK(message_make_safe(m, 1, &e) == 0);
		b = body(m, &n);
		dec = malloc(n + 1);
		CHECK(wire_safe(b, n, 76, 0));
		CHECK(qp_decode(b, n, dec) == (long)oldn &&
		      memcmp(dec, old, oldn) == 0);
		free(b);
		free(dec);
		free(old);
		message_free(m);
		buf_reset(&in);
	}
}

/* An existing QP body with 3000-octet lines: soft breaks never split =XX,
 * and decoding gives the same content as before. */
static void
test_qp_fold(void)
{
	struct message *m;
	struct err e;
	struct buf in;
	size_t i, n, oldn;
	char *b, *old, *dec_old, *dec_new;

	buf_init(&in, MB);
	buf_addstr(&in, "Content-Transfer-Encoding: quoted-printable\n\n");
	for (i = 0; i < 3000; i++)
		buf_addstr(&in, i % 3 ? "x" : "=3D");
	buf_addstr(&in, "=\nsoft\n");
	m = rd(in.data, in.len, 0, 0, 0, &e);
	old = body(m, &oldn);
	CHECK(message_make_safe(m, 1, &e) == 0);
	b = body(m, &n);
	dec_old = malloc(oldn + 1);
	dec_new = malloc(n + 1);
	CHECK(wire_safe(b, n, 998, 0));
	CHECK(qp_decode(old, oldn, dec_old) == qp_decode(b, n, dec_new));
	CHECK(memcmp(dec_old, dec_new, (size_t)qp_decode(old, oldn, dec_old)) ==
	      0);
	CHECK(n > oldn);
	free(b);
	free(old);
	free(dec_old);
	free(dec_new);
	message_free(m);
	buf_reset(&in);
}

/* Multipart with a 2500-octet line: split every 998 octets. */
static void
test_hard_fold(void)
{
	struct message *m;
	struct err e;
	struct buf in, want;
	size_t i, n;
	char *b;

	buf_init(&in, MB);
	buf_init(&want, MB);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (i = 0; i < 2500; i++) {
		buf_addch(&in, 'z');
		buf_addch(&want, 'z');
		if (i == 997 || i == 1995)
			buf_addstr(&want, "\r\n");
	}
	buf_addstr(&in, "\n");
	buf_addstr(&want, "\r\n");
	m = rd(in.data, in.len, 0, 0, 0, &e);
	CHECK(message_make_safe(m, 1, &e) == 0);
	b = body(m, &n);
	CHECK(n == want.len && memcmp(b, want.data, n) == 0);
	free(b);
	message_free(m);
	buf_reset(&in);
	buf_reset(&want);
}

/* Decode "=?cs?B?...?=" words separated by FWS; returns the charset of
 * the last word or NULL if malformed. */
static const char *
decode_words(const char *v, struct buf *out)
{
	static char cs[32];
	const char *p = v, *q, *end;
	unsigned char bin[128];
	size_t binlen;

	buf_clear(out);
	buf_add(out, "", 0);
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		if (strncmp(p, "=?", 2) != 0 ||
		    (q = strstr(p + 2, "?B?")) == NULL ||
		    (end = strstr(q + 3, "?=")) == NULL || end - p > 75 ||
		    (size_t)(q - p - 2) >= sizeof(cs))
			return NULL;
		memcpy(cs, p + 2, (size_t)(q - p - 2));
		cs[q - p - 2] = '\0';
		if (sodium_base642bin(bin, sizeof(bin), q + 3,
			(size_t)(end - q - 3), NULL, &binlen, NULL,
			sodium_base64_VARIANT_ORIGINAL) != 0)
			return NULL;
		buf_add(out, bin, binlen);
		p = end + 2;
	}
	return cs;
}

static void
fold_input(struct buf *in, struct buf *val)
{
	size_t i;

	/* Words: folded at whitespace, unfolded value unchanged. */
	for (i = 0; i < 500; i++)
		buf_addstr(val, i ? " word" : "word");
	buf_printf(in, "Subject: %s\n", val->data);
	/* One long token in an unstructured field: RFC 2047. */
	buf_addstr(in, "X-Token: ");
	for (i = 0; i < 1500; i++)
		buf_addstr(in, i % 100 ? "\xc3\xa9" : "e");
	buf_addstr(in, "\n");
	/* An address list without spaces: folded after commas. */
	buf_addstr(in, "To: ");
	for (i = 0; i < 300; i++)
		buf_printf(in, "%s\"a,b\"<user%zu@example.com>", i ? "," : "",
		    i);
	buf_addstr(in, "\n");
	/* A structured field with one long token: left alone. */
	buf_addstr(in, "Message-ID: <");
	for (i = 0; i < 1200; i++)
		buf_addch(in, 'm');
	buf_addstr(in, "@example.com>\n\nbody\n");
}

static void
test_fold_headers(void)
{
	struct message *m;
	struct err e;
	struct buf in, val, dec;
	const struct addr_list *rl = NULL;
	size_t n;
	const char *s, *cs;

	buf_init(&in, 4 * MB);
	buf_init(&val, 4 * MB);
	buf_init(&dec, 4 * MB);
	fold_input(&in, &val);
	m = rd(in.data, in.len, 0, 0, 0, &e);
	CHECK(m != NULL && message_nheaders(m) == 4);
	if (m == NULL)
		return;
	CHECK(message_make_safe(m, 1, &e) == 0);
	CHECK_STR(message_get(m, "Subject"), val.data);
	s = message_header(m, 0, &n);
	CHECK(wire_safe(s, n, 998, 0) && strstr(s, "\r\n word") != NULL);
	s = message_header(m, 1, &n);
	CHECK(wire_safe(s, n, 998, 0));
	cs = decode_words(message_get(m, "X-Token"), &dec);
	CHECK_STR(cs, "UTF-8");
	CHECK(
	    dec.len == 1500 * 2 - 15 && memcmp(dec.data, "e\xc3\xa9", 3) == 0);
	s = message_header(m, 2, &n);
	CHECK(wire_safe(s, n, 998, 0) && message_rcpts(m, &rl, &e) == 0);
	CHECK(rl->n == 300 && message_header_rcpts(m) == rl);
	CHECK_STR(rl->v[299], "user299@example.com");
	s = message_header(m, 3, &n); /* folded once, the token intact */
	CHECK(n ==
	      strlen("Message-ID: <") + 1200 + strlen("@example.com>\r\n") + 2);
	CHECK(strncmp(s, "Message-ID:\r\n <mmm", 18) == 0);
	CHECK(strlen(message_get(m, "message-id")) == 1200 + 14);
	buf_reset(&in);
	buf_reset(&val);
	buf_reset(&dec);
	message_free(m);
}

/* ---- message_complete ---- */

static struct message_complete_opts
copts(void)
{
	struct message_complete_opts o;

	memset(&o, 0, sizeof(o));
	o.envelope_from = "env@example.org";
	o.from_addr = "me@example.com";
	o.msgid_domain = "id.example.net";
	o.set_from = o.set_date = o.set_msgid = MSG_AUTO;
	o.remove_bcc = 1;
	o.now = 0;
	return o;
}

/* (-F full name, expected From: value, or NULL for ERR_DATA) */
static const struct {
	const char *name;
	const char *want;
} froms[] = {
    {NULL, "me@example.com"},
    {"", "me@example.com"},
    {"John Doe", "John Doe <me@example.com>"},
    {"John Q. Doe", "\"John Q. Doe\" <me@example.com>"},
    {"\"the man\" Doe", "\"\\\"the man\\\" Doe\" <me@example.com>"},
    {"a\\b", "\"a\\\\b\" <me@example.com>"},
    {"Doe, John", "\"Doe, John\" <me@example.com>"},
    {" lead", "\" lead\" <me@example.com>"},
    {"two  spaces", "\"two  spaces\" <me@example.com>"},
    {"<x@evil>", "\"<x@evil>\" <me@example.com>"},
    {"J\xc3\xb6hn \"the man\" Doe",
	"=?UTF-8?B?SsO2aG4gInRoZSBtYW4iIERvZQ==?= <me@example.com>"},
    {"J\xf6hn", "=?UNKNOWN-8BIT?B?SvZobg==?= <me@example.com>"},
    {"tab\there", "=?US-ASCII?B?dGFiCWhlcmU=?= <me@example.com>"},
    {"x\r\nBcc: victim@example.com", NULL},
    {"x\ny", NULL},
    {"x\ry", NULL},
};

static void
test_complete_from(void)
{
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		m = rds("Subject: s\n\nb\n", &e);
		o.fullname = froms[i].name;
		if (froms[i].want == NULL) {
			CHECK(message_complete(m, &o, &e) == -1 &&
			      e.kind == ERR_DATA);
		} else {
			CHECK(message_complete(m, &o, &e) == 0);
			CHECK_STR(message_get(m, "From"), froms[i].want);
		}
		message_free(m);
	}
}

/* A long non-ASCII name: several encoded-words, none split inside a
 * character, decoding to the name. */
static void
test_complete_long_name(void)
{
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;
	struct buf name, dec;
	size_t i, n;
	const char *v, *raw;
	char *words;

	buf_init(&name, MB);
	buf_init(&dec, MB);
	for (i = 0; i < 700; i++)
		buf_addstr(&name, i % 3 ? "\xc3\xb6" : "\xe2\x82\xac");
	o.fullname = name.data;
	m = rds("Subject: s\n\nb\n", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	v = message_get(m, "From");
	raw = message_header(m, message_nheaders(m) - 3, &n);
	CHECK(strncmp(raw, "From: ", 6) == 0 && wire_safe(raw, n, 998, 0));
	words = strdup(v);
	*strstr(words, " <me@example.com>") = '\0';
	CHECK_STR(decode_words(words, &dec), "UTF-8");
	CHECK(
	    dec.len == name.len && memcmp(dec.data, name.data, name.len) == 0);
	free(words);
	message_free(m);
	buf_reset(&name);
	buf_reset(&dec);
}

static void
test_complete_policies(void)
{
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;

	/* AUTO keeps what is there. */
	m = rds("From: old@x.org\nDate: yesterday\nMessage-ID: <a@b>\n\nb\n",
	    &e);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK_STR(message_get(m, "From"), "old@x.org");
	CHECK_STR(message_get(m, "Date"), "yesterday");
	CHECK_STR(message_get(m, "Message-ID"), "<a@b>");
	CHECK(message_nheaders(m) == 3);
	message_free(m);
	/* ALWAYS replaces every copy. */
	o.set_from = o.set_date = o.set_msgid = MSG_ALWAYS;
	m = rds("from: old@x.org\nFROM: old2@x.org\nDate: yesterday\n\nb\n",
	    &e);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK_STR(message_get(m, "From"), "me@example.com");
	CHECK(message_nheaders(m) == 3);
	message_free(m);
	/* NEVER adds nothing. */
	o.set_from = o.set_date = o.set_msgid = MSG_NEVER;
	m = rds("Subject: s\n\nb\n", &e);
	CHECK(message_complete(m, &o, &e) == 0 && message_nheaders(m) == 1);
	message_free(m);
}

static void
test_complete_msgid(void)
{
	struct message_complete_opts o;
	struct message *m;
	struct err e;
	const char *id;
	char *id1;

	/* Message-ID: random hex at the configured domain, new each time. */
	o = copts();
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	id = message_get(m, "Message-ID");
	CHECK(id != NULL && strlen(id) == 1 + 32 + 1 + 14 + 1 && id[0] == '<' &&
	      strspn(id + 1, "0123456789abcdef") == 32 &&
	      strcmp(id + 33, "@id.example.net>") == 0);
	id1 = strdup(id);
	message_free(m);
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK(strcmp(id1, message_get(m, "Message-ID")) != 0);
	free(id1);
	message_free(m);
	/* Without msgid_domain: the From domain. */
	o.msgid_domain = NULL;
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK(strstr(message_get(m, "Message-ID"), "@example.com>") != NULL);
	message_free(m);
	o.msgid_domain = "bad domain\r\nX: y";
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == -1 && e.kind == ERR_DATA);
	message_free(m);
}

static void
test_complete_from_sources(void)
{
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;

	o.from_addr = NULL;
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK_STR(message_get(m, "From"), "env@example.org");
	message_free(m);
	o.envelope_from = "";
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == -1 && e.kind == ERR_DATA);
	message_free(m);
	o.envelope_from = "root"; /* unqualified: the caller qualifies */
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == -1 && e.kind == ERR_DATA);
	message_free(m);
	o.from_addr = "a@b.c\r\nBcc: x@y";
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == -1 && e.kind == ERR_DATA);
	message_free(m);
}

static void
test_complete_date(void)
{
	static const struct {
		const char *tz;
		long long now;
		const char *want;
	} d[] = {
	    {"UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
	    {"EST5", 0, "Wed, 31 Dec 1969 19:00:00 -0500"},
	    {"IST-5:30", 0, "Thu, 1 Jan 1970 05:30:00 +0530"},
	    {"NST3:30", 1700000000, "Tue, 14 Nov 2023 18:43:20 -0330"},
	    {"UTC0", 1700000000, "Tue, 14 Nov 2023 22:13:20 +0000"},
	};
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;
	size_t i;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		setenv("TZ", d[i].tz, 1);
		tzset();
		o.now = d[i].now;
		m = rds("", &e);
		CHECK(message_complete(m, &o, &e) == 0);
		CHECK_STR(message_get(m, "Date"), d[i].want);
		message_free(m);
	}
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	/* now = -1: the current time, some valid date. */
	o.now = -1;
	m = rds("", &e);
	CHECK(message_complete(m, &o, &e) == 0 && message_get(m, "Date"));
	message_free(m);
}

/* Does the header section of s (up to the first empty line) have a line
 * starting with name (a lowercase "field:"), in any case? */
static int
has_field_ci(const char *s, const char *name)
{
	const char *p = s, *end = strstr(s, "\r\n\r\n");
	size_t i, k = strlen(name);

	if (end == NULL)
		end = s + strlen(s);
	while (p < end) {
		for (i = 0; i < k && p + i < end; i++)
			if ((p[i] | 0x20) != name[i] && p[i] != name[i])
				break;
		if (i == k)
			return 1;
		p = strstr(p, "\r\n");
		if (p == NULL)
			break;
		p += 2;
	}
	return 0;
}

static void
test_complete_bcc_to(void)
{
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;
	size_t n;
	char *s;
	const struct addr_list *l;

	m = rds("To: a@x.org\nBcc: b@x.org\nbcc: c@x.org\nBCC:\n"
		"Subject: s\n\nBcc: body@x.org\n",
	    &e);
	CHECK(message_rcpts(m, &l, &e) == 0 && l->n == 3);
	CHECK(message_complete(m, &o, &e) == 0);
	s = dump(m, &n);
	CHECK(s != NULL && !has_field_ci(s, "bcc:"));
	CHECK(s != NULL && strstr(s, "\r\n\r\nBcc: body@x.org") != NULL);
	CHECK(message_get(m, "To") != NULL && message_get(m, "Subject"));
	CHECK(message_header_rcpts(m)->n == 3); /* collected before removal */
	free(s);
	message_free(m);
	m = rds("Resent-Bcc: d@x.org\nResent-bcc: e@x.org\nResent-To: f@x.org"
		"\nTo: a@x.org\n\n",
	    &e);
	CHECK(message_rcpts(m, &l, &e) == 0 && l->n == 3);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK(message_get(m, "Resent-Bcc") == NULL);
	CHECK_STR(message_get(m, "Resent-To"), "f@x.org");
	message_free(m);
	/* remove_bcc off keeps them. */
	o.remove_bcc = 0;
	m = rds("Bcc: b@x.org\n\nb\n", &e);
	CHECK(message_complete(m, &o, &e) == 0 && message_get(m, "Bcc"));
	message_free(m);
	/* undisclosed-recipients only without To and Cc. */
	o = copts();
	o.undisclosed_recipients = 1;
	m = rds("Bcc: b@x.org\n\nb\n", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	CHECK_STR(message_get(m, "To"), "undisclosed-recipients:;");
	message_free(m);
	m = rds("Cc: c@x.org\n\nb\n", &e);
	CHECK(message_complete(m, &o, &e) == 0 && message_get(m, "To") == NULL);
	message_free(m);
	o.undisclosed_recipients = 0;
	m = rds("Bcc: b@x.org\n\nb\n", &e);
	CHECK(message_complete(m, &o, &e) == 0 && message_get(m, "To") == NULL);
	message_free(m);
}

/* The whole output of a completed message, with fixed inputs. */
static void
test_complete_output(void)
{
	struct message_complete_opts o = copts();
	struct message *m;
	struct err e;
	size_t n;
	char *s;

	setenv("TZ", "UTC0", 1);
	tzset();
	o.set_msgid = MSG_NEVER;
	o.fullname = "Cron Daemon";
	o.undisclosed_recipients = 1;
	m = rds("Subject: out\nBcc: x@y.z\n\nline\n", &e);
	CHECK(message_complete(m, &o, &e) == 0);
	s = dump(m, &n);
	CHECK_STR(s, "Subject: out\r\n"
		     "From: Cron Daemon <me@example.com>\r\n"
		     "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"
		     "To: undisclosed-recipients:;\r\n"
		     "\r\nline\r\n");
	CHECK(message_size(m) == n);
	free(s);
	message_free(m);
}

/* ---- -t recipients: (message, addresses joined by '|' or NULL) ---- */

static const struct {
	const char *in;
	const char *want;
} rcpts[] = {
    {"To: a@x.org, B <b@x.org>\nCc: c@x.org\nBcc: d@x.org\nSubject: s\n\n",
	"a@x.org|b@x.org|c@x.org|d@x.org"},
    {"To: root\ncc: postmaster, \"Q\" <q@x.org>\n\n",
	"root|postmaster|q@x.org"},
    {"To: a@x.org,\n\tb@x.org\nTo: c@x.org\n\n", "a@x.org|b@x.org|c@x.org"},
    {"To: undisclosed-recipients:;\n\n", ""},
    {"Subject: none\n\nTo: body@x.org\n", ""},
    /* Resent-: only the first (topmost) block counts. */
    {"Resent-From: me@x.org\nResent-To: r1@x.org\nResent-Cc: r2@x.org\n"
     "Resent-Bcc: r3@x.org\nResent-Date: now\nReceived: by x\n"
     "Resent-To: old@x.org\nTo: orig@x.org\n\n",
	"r1@x.org|r2@x.org|r3@x.org"},
    {"Received: by x\nResent-From: me@x.org\nResent-To: r@x.org\n"
     "Subject: s\nResent-To: older@x.org\nTo: t@x.org\n\n",
	"r@x.org"},
    {"Resent-From: me@x.org\nTo: t@x.org\n\n", ""},
    {"To: John Doe\n\n", NULL},
    {"To: ok@x.org\nCc: <broken\n\n", NULL},
};

static void
test_rcpts(void)
{
	const struct addr_list *l;
	struct message *m;
	struct err e;
	struct buf b;
	size_t i, j;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		m = rds(rcpts[i].in, &e);
		CHECK(m != NULL);
		if (m == NULL)
			continue;
		if (rcpts[i].want == NULL) {
			CHECK(message_rcpts(m, &l, &e) == -1 &&
			      e.kind == ERR_DATA);
			CHECK(message_header_rcpts(m)->n == 0);
			message_free(m);
			continue;
		}
		CHECK(message_rcpts(m, &l, &e) == 0);
		buf_clear(&b);
		buf_add(&b, "", 0);
		for (j = 0; j < l->n; j++)
			buf_printf(&b, "%s%s", j ? "|" : "", l->v[j]);
		CHECK_STR(b.data, rcpts[i].want);
		message_free(m);
	}
	m = rds("To: ok@x.org\nCc: <broken\n\n", &e);
	CHECK(
	    message_rcpts(m, &l, &e) == -1 && strncmp(e.text, "Cc: ", 4) == 0);
	message_free(m);
	buf_reset(&b);
}

/* ---- message_prepend: (field, ok) ---- */

static const struct {
	const char *f;
	size_t len;
	int ok;
} prepends[] = {
    {S("DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc"), 1},
    {S("Received: by x\r\n"), 1},
    {S("X: \r\n y"), 1},
    {S("X : y"), 1},
    {S("X: a\nb"), 0},
    {S("X: a\rb"), 0},
    {S("X: a\r\nb"), 0},
    {S("X: a\r\n\r\n"), 0},
    {S("X: a\r\n \r\n b"), 0},
    {S("X: a\r\n "), 0},
    {S("X: a\r\n \0"), 0},
    {S("X: a\0b"), 0},
    {S("no colon"), 0},
    {S(": empty name"), 0},
    {S("Bad Name: x"), 0},
    {S(""), 0},
    {S("X: a\r"), 0},
};

static void
test_prepend(void)
{
	struct message *m;
	struct err e;
	size_t i, n;
	const char *raw;

	for (i = 0; i < sizeof(prepends) / sizeof(prepends[0]); i++) {
		m = rds("Subject: s\n\nb\n", &e);
		if (prepends[i].ok) {
			CHECK(message_prepend(m, prepends[i].f, prepends[i].len,
				  &e) == 0);
			raw = message_header(m, 0, &n);
			CHECK(
			    message_nheaders(m) == 2 && n >= prepends[i].len &&
			    memcmp(raw, prepends[i].f, prepends[i].len) == 0 &&
			    memcmp(raw + n - 2, "\r\n", 2) == 0);
			CHECK(message_size(m) == n + 12 + 2 + 3);
		} else {
			CHECK(message_prepend(m, prepends[i].f, prepends[i].len,
				  &e) == -1 &&
			      e.kind == ERR_DATA);
			if (e.kind != ERR_DATA)
				fprintf(stderr, "  prepend row %zu\n", i);
			CHECK(message_nheaders(m) == 1);
		}
		message_free(m);
	}
	m = rds("Subject: s\n\nb\n", &e);
	CHECK(message_prepend(m, "DKIM-Signature: a=1", 19, &e) == 0);
	CHECK_STR(message_get(m, "dkim-signature"), "a=1");
	raw = message_header(m, 0, &n);
	CHECK(n == 21 && memcmp(raw, "DKIM-Signature: a=1\r\n", 21) == 0);
	message_free(m);
}

static void
test_tmpdir(void)
{
	struct message_read_opts o = {0, 0, 0, "/nonexistent/dir"};
	struct message *m = NULL;
	struct err e;
	int fd = memfile("x", 1);

	CHECK(message_read(fd, &o, &m, &e) == -1 && e.kind == ERR_TEMP);
	CHECK(m == NULL && strstr(e.text, "/nonexistent/dir") != NULL);
	close(fd);
	/* An unreadable fd: ERR_IO. */
	o.tmpdir = NULL;
	CHECK(message_read(-1, &o, &m, &e) == -1 && e.kind == ERR_IO);
}

/* ---- make_safe: the parts of a multipart body ---- */

/* The content of the part holding header line tag: after its empty line,
 * up to the CRLF before the next "--" line; its header section in *hdr. */
static char *
mp_part(const char *b, size_t n, const char *tag, size_t *len, char **hdr)
{
	const char *end = b + n, *p = memmem(b, n, tag, strlen(tag)), *h = b;
	const char *q;
	char *c;

	if (p == NULL)
		return NULL;
	for (q = b; (q = memmem(q, (size_t)(p - q), "\n--", 3)) != NULL; q++)
		h = q + 1; /* the last delimiter line before the tag */
	h = (const char *)memchr(h, '\n', (size_t)(end - h)) + 1;
	if ((p = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) == NULL)
		return NULL;
	*hdr = strndup(h, (size_t)(p + 2 - h));
	p += 4;
	if ((q = memmem(p, (size_t)(end - p), "\r\n--", 4)) == NULL)
		return NULL;
	*len = (size_t)(q - p);
	c = malloc(*len + 1);
	memcpy(c, p, *len);
	c[*len] = '\0';
	return c;
}

static char *
b64_decode(const char *p, size_t n, size_t *outn)
{
	char *out = malloc(n + 1);

	if (sodium_base642bin((unsigned char *)out, n + 1, p, n, "\r\n", outn,
		NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Lines of the n octets at p are at most max octets. */
static int
lines_max(const char *p, size_t n, size_t max)
{
	return wire_safe(p, n, max, 0);
}

static void
mp_add_part(struct buf *in, const char *bnd, const char *hdr, const char *c,
    size_t n)
{
	buf_addstr(in, "--");
	buf_addstr(in, bnd);
	buf_addstr(in, "\n");
	buf_addstr(in, hdr);
	buf_addstr(in, "\n");
	buf_add(in, c, n);
	buf_addstr(in, "\n");
}

/*
 * A mail client's multipart: a UTF-8 text part with a 2000-octet line, an
 * 8bit binary part (every octet value), a base64 part, a 7bit part, a
 * nested multipart/alternative with a UTF-8 part and an existing QP part
 * with a raw 8-bit octet; 8-bit in the preamble and epilogue.  After
 * make_safe(allow_8bit 0): 7-bit, lines <= 998 (<= 76 in encoded parts),
 * each encoded part decodes to its original bytes, the others are
 * byte-identical, the top Content-Transfer-Encoding 8bit becomes 7bit.
 */
static void
test_mp_reencode(void)
{
	struct message *m;
	struct err e;
	struct buf in;
	char text[3000], bin[600], *b, *old, *c, *h, *d, *oc, *oh;
	size_t i, n, oldn, cn, dn, ocn;

	buf_init(&in, MB);
	for (i = 0; i < sizeof(text) - 1; i++)
		text[i] = i % 500 == 499 ? '\n'
			  : i < 2000	 ? "\xc3\xa9"[i % 2]
					 : 'a';
	memcpy(text + 2990, "  trail \t", 9); /* white space before the end */
	text[sizeof(text) - 1] = '\0';
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i % 256 == '\n' || i % 256 == '\r' ? 'x' : i);
	buf_addstr(&in, "Subject: mp\nMIME-Version: 1.0\nContent-Type: "
			"multipart/mixed;\n boundary=\"=_b 1\"\n"
			"Content-Transfer-Encoding: 8bit\n\n"
			"preamble \xe9t\xe9\n");
	mp_add_part(&in, "=_b 1",
	    "Content-Type: text/plain; charset=utf-8\nX-Part: 1\n"
	    "Content-Transfer-Encoding: 8bit\n",
	    "\xc3\xa9t\xc3\xa9\n", 6);
	buf_addstr(&in, "--=_b 1\nContent-Type: text/plain; charset=utf-8\n"
			"X-Part: 2\n\n");
	buf_addstr(&in, text);
	buf_addstr(&in, "\n");
	mp_add_part(&in, "=_b 1",
	    "Content-Type: application/octet-stream\nContent-Transfer-"
	    "Encoding:\n 8bit\nX-Part: 3\n",
	    bin, sizeof(bin));
	mp_add_part(&in, "=_b 1",
	    "Content-Type: image/png\nContent-Transfer-Encoding: base64\n"
	    "X-Part: 4\n",
	    "iVBORw0KGgo=", 12);
	mp_add_part(&in, "=_b 1", "X-Part: 5\n", "plain ascii\n\nmore", 17);
	mp_add_part(&in, "=_b 1",
	    "Content-Type: multipart/alternative; boundary=inner\n", "", 0);
	mp_add_part(&in, "inner", "Content-Type: text/plain\nX-Part: 6\n",
	    "na\xc3\xafve", 7);
	mp_add_part(&in, "inner",
	    "Content-Type: text/html\nContent-Transfer-Encoding: "
	    "quoted-printable\nX-Part: 7\n",
	    "<p>caf=C3=A9 \xff</p>", 18);
	buf_addstr(&in, "--inner--\ninner epilogue\n--=_b 1-- \n"
			"epilogue \xff\n");
	m = rd(in.data, in.len, 0, 0, 0, &e);
	CHECK(m != NULL);
	old = body(m, &oldn);
	CHECK(message_make_safe(m, 0, &e) == 0);
	b = body(m, &n);
	CHECK(message_body_size(m) == n);
	CHECK(wire_safe(b, n, 998, 0));
	CHECK_STR(message_get(m, "Content-Transfer-Encoding"), "7bit");
	CHECK(strncmp(b, "preamble ?t?\r\n--=_b 1\r\n", 23) == 0);
	CHECK(strstr(b, "\r\n--inner--\r\ninner epilogue\r\n--=_b 1-- \r\n"
			"epilogue ?\r\n") != NULL);
	/* QP: 1, 2, 6; base64: 3; as they were: 4, 5; QP folded: 7 */
	for (i = 1; i <= 7; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "X-Part: %zu\r\n", i);
		c = mp_part(b, n, tag, &cn, &h);
		oc = mp_part(old, oldn, tag, &ocn, &oh);
		CHECK(c != NULL && oc != NULL);
		if (c == NULL || oc == NULL)
			continue;
		d = NULL;
		if (i == 1 || i == 2 || i == 6 || i == 7) {
			CHECK(strstr(h, "Content-Transfer-Encoding: "
					"quoted-printable\r\n") != NULL);
			d = malloc(cn + 1);
			dn = (size_t)qp_decode(c, cn, d);
			if (i == 7) { /* decodes as the old one did */
				char *od = malloc(ocn + 1);
				long odn = qp_decode(oc, ocn, od);

				CHECK(
				    odn == (long)dn && memcmp(od, d, dn) == 0);
				free(od);
			} else
				CHECK(dn == ocn && memcmp(d, oc, dn) == 0);
			CHECK(lines_max(c, cn, i == 7 ? 998 : 76));
		} else if (i == 3) {
			CHECK(strstr(h,
				  "Content-Transfer-Encoding: base64\r\n") !=
			      NULL);
			CHECK(strstr(h, "8bit") == NULL);
			d = b64_decode(c, cn, &dn);
			CHECK(d != NULL && dn == ocn && memcmp(d, oc, dn) == 0);
			CHECK(lines_max(c, cn, 76));
		} else {
			CHECK(cn == ocn && memcmp(c, oc, cn) == 0);
			CHECK_STR(h, oh);
		}
		if (i != 3 && i != 4 && i != 5)
			CHECK(strstr(h, "8bit") == NULL);
		free(d);
		free(c);
		free(h);
		free(oc);
		free(oh);
	}
	free(b);
	free(old);
	message_free(m);
	buf_reset(&in);
}

/*
 * Bodies whose structure we do not re-encode are left as they were (the
 * 8-bit stays): no boundary parameter, no close delimiter, a part header
 * that is not one, an inner multipart not closed, nesting past the
 * bound; with allow_8bit nothing 8-bit is touched; the transformation is
 * idempotent.
 */
static void
test_mp_fallback(void)
{
	static const char *const bad[] = {
	    "Content-Type: multipart/mixed\n\n--b\n\n\xe9\n--b--\n",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\xe9\n",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nnot a "
	    "header\n\n\xe9\n--b--\n",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
	    "multipart/mixed; boundary=c\n\n--c\n\n\xe9\n--b--\n",
	    "Content-Type: multipart/mixed; "
	    "boundary=\"\"\n\n--\n\n\xe9\n----\n",
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "Content-Transfer-Encoding: base64\n\n--b\n\n\xe9\n--b--\n",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\xe9\n--bx\n",
	};
	struct message *m;
	struct err e;
	struct buf in;
	char *b, *old;
	size_t i, n, oldn;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = rds(bad[i], &e);
		CHECK(m != NULL);
		old = body(m, &oldn);
		CHECK(message_make_safe(m, 0, &e) == 0);
		b = body(m, &n);
		CHECK(n == oldn && memcmp(b, old, n) == 0);
		if (n != oldn || memcmp(b, old, n) != 0)
			fprintf(stderr, "  case %zu changed\n", i);
		free(b);
		free(old);
		message_free(m);
	}
	/* Nine nested multiparts: one past the bound of eight. */
	buf_init(&in, MB);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=b0\n\n");
	for (i = 1; i <= 9; i++) {
		buf_printf(&in,
		    "--b%zu\nContent-Type: multipart/mixed; "
		    "boundary=b%zu\n\n",
		    i - 1, i);
	}
	buf_addstr(&in, "--b9\n\n\xe9\n");
	for (i = 10; i-- > 0;)
		buf_printf(&in, "--b%zu--\n", i);
	m = rd(in.data, in.len, 0, 0, 0, &e);
	old = body(m, &oldn);
	CHECK(message_make_safe(m, 0, &e) == 0);
	b = body(m, &n);
	CHECK(n == oldn && memcmp(b, old, n) == 0);
	free(b);
	free(old);
	message_free(m);
	/* Eight are re-encoded. */
	buf_reset(&in);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=b0\n\n");
	for (i = 1; i <= 7; i++)
		buf_printf(&in,
		    "--b%zu\nContent-Type: multipart/mixed; "
		    "boundary=b%zu\n\n",
		    i - 1, i);
	buf_addstr(&in, "--b7\n\n\xe9\n");
	for (i = 8; i-- > 0;)
		buf_printf(&in, "--b%zu--\n", i);
	m = rd(in.data, in.len, 0, 0, 0, &e);
	CHECK(message_make_safe(m, 0, &e) == 0);
	b = body(m, &n);
	CHECK(wire_safe(b, n, 76, 0));
	CHECK(strstr(b, "--b7\r\nContent-Transfer-Encoding: quoted-printable"
			"\r\n\r\n=E9\r\n--b7--\r\n") != NULL);
	/* Again: nothing left to do, nothing changes. */
	old = b;
	oldn = n;
	CHECK(message_make_safe(m, 0, &e) == 0);
	b = body(m, &n);
	CHECK(n == oldn && memcmp(b, old, n) == 0);
	free(b);
	free(old);
	message_free(m);
	/* allow_8bit: the 8-bit stays, a NUL in a part is encoded. */
	{
		static const char nul[] =
		    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\xe9\n"
		    "--b\nContent-Type: application/x\n\na\0b\n--b--\n";

		m = rd(nul, sizeof(nul) - 1, 0, 0, 0, &e);
	}
	CHECK(m != NULL);
	CHECK(message_make_safe(m, 1, &e) == 0);
	b = body(m, &n);
	CHECK(n == 94 && memcmp(b,
			     "--b\r\n\r\n\xe9\r\n--b\r\nContent-Type: "
			     "application/x\r\nContent-Transfer-Encoding: "
			     "base64\r\n\r\nYQBi\r\n--b--\r\n",
			     n) == 0);
	free(b);
	message_free(m);
	buf_reset(&in);
}

/* A soft break never starts a line with "--" (it could be a delimiter):
 * '-' there is "=2D", in a part encoded now and in a QP part folded. */
static void
test_mp_dash(void)
{
	struct message *m;
	struct err e;
	struct buf in;
	char *b, *c, *h, *d;
	size_t i, n, cn;

	buf_init(&in, MB);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=b\n\n"
			"--b\nX-Part: 1\n\n\xe9");
	for (i = 0; i < 72; i++)
		buf_addch(&in, 'x');
	buf_addstr(&in, "--b\n--b\nX-Part: 2\nContent-Transfer-Encoding: "
			"quoted-printable\n\n");
	for (i = 0; i < 997; i++)
		buf_addch(&in, 'y');
	buf_addstr(&in, "--b\n--b--\n");
	m = rd(in.data, in.len, 0, 0, 0, &e);
	CHECK(m != NULL);
	CHECK(message_make_safe(m, 0, &e) == 0);
	b = body(m, &n);
	CHECK(wire_safe(b, n, 998, 0));
	for (i = 0, cn = 0; i + 4 < n; i++)
		if ((i == 0 || b[i - 1] == '\n') &&
		    strncmp(b + i, "--b", 3) == 0)
			cn++;
	CHECK(cn == 3); /* the delimiters, and no other "--b" line */
	CHECK(strstr(b, "x=\r\n=2D-b\r\n--b\r\n") != NULL);
	CHECK(strstr(b, "y=\r\n=2D-b\r\n--b--\r\n") != NULL);
	c = mp_part(b, n, "X-Part: 1\r\n", &cn, &h);
	CHECK(c != NULL);
	if (c != NULL) {
		d = malloc(cn + 1);
		CHECK(qp_decode(c, cn, d) == 76 && d[0] == '\xe9' &&
		      memcmp(d + 73, "--b", 3) == 0);
		free(d);
		free(c);
		free(h);
	}
	free(b);
	message_free(m);
	buf_reset(&in);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 99;
	test_big_line(); /* first: maxrss is a peak, measure from a low one */
	test_read_table();
	test_read_fields();
	test_read_chunk_boundary();
	test_read_pipe_tty();
	test_read_split();
	test_read_split_long();
	test_read_nul_8bit();
	test_read_spool_buffers();
	test_read_random();
	test_write_targets();
	test_limits();
	test_limits_bytes();
	test_max_size();
	test_make_safe_table();
	test_qp_roundtrip();
	test_qp_random();
	test_qp_fold();
	test_hard_fold();
	test_mp_reencode();
	test_mp_fallback();
	test_mp_dash();
	test_fold_headers();
	test_complete_from();
	test_complete_long_name();
	test_complete_policies();
	test_complete_msgid();
	test_complete_from_sources();
	test_complete_date();
	test_complete_bcc_to();
	test_complete_output();
	test_rcpts();
	test_prepend();
	test_tmpdir();
	return check_done();
}
