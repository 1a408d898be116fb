/*
 * net.c -- connections with deadlines: connect, buffered line reading,
 * write-all, and the TLS handshake loop, over plain TCP or tls.c.
 *
 * Purpose: the only place that waits.  Every wait is a poll() bounded by
 * an absolute deadline on the monotonic clock; sockets are non-blocking
 * from creation, so nothing can block past the deadline (DNS resolution
 * excepted: getaddrinfo() has the resolver's own timeouts).
 *
 * Non-goals: SMTP.  Lines are split here, replies are parsed in smtp.c.
 *
 * Latency: callers write each flight with one net_write() call, so Nagle's
 * algorithm has nothing to coalesce and only costs time: inside the TLS
 * 1.3 handshake GnuTLS writes ChangeCipherSpec and Finished separately, and
 * Nagle holds Finished until the peer ACKs the first, which the peer's
 * delayed ACK postpones by ~40 ms.  So TCP_NODELAY is set on every
 * connection, and on Linux TCP_QUICKACK is re-armed before every wait for
 * input (the kernel clears it again): a server that writes one reply in
 * two segments (Postfix: session ticket, then greeting) is ACKed at once
 * rather than after our delayed-ACK timer.  Both are best effort.
 *
 * Invariants: the input buffer never holds more than NET_INBUF bytes and
 * a line is at most NET_MAX_LINE bytes; TLS starts only with an empty
 * input buffer.  Writes use MSG_NOSIGNAL (no SIGPIPE).
 *
 * Failure policy: network failures and timeouts are ERR_TEMP; an over-long
 * line or bytes buffered ahead of the TLS handshake are ERR_PROTOCOL.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "net.h"

#define NET_INBUF 8192

struct conn {
	int fd;
	struct tls *tls;
	size_t start, end; /* unread bytes are in[start..end) */
	char peer[64];
	char in[NET_INBUF];
};

static long long
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
net_deadline(unsigned seconds)
{
	return now_ms() + (long long)seconds * 1000;
}

/* Ask for an immediate ACK of what arrives next (see the top). */
static void
quickack(int fd)
{
#ifdef TCP_QUICKACK
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
#else
	(void)fd;
#endif
}

/* Wait until fd is ready for events or the deadline passes (ERR_TEMP). */
static int
wait_fd(int fd, short events, long long deadline, struct err *e)
{
	struct pollfd pfd;
	long long left;
	int r;

	if (events & POLLIN)
		quickack(fd);
	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return err_set(e, ERR_TEMP, "timed out");
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0; /* POLLERR/POLLHUP: the next call says why */
		if (r == -1 && errno != EINTR)
			return err_set(e, ERR_TEMP, "poll: %s",
			    strerror(errno));
	}
}

static int
connect_one(const struct addrinfo *ai, unsigned timeout, struct err *e)
{
	int fd, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return err_set(e, ERR_TEMP, "socket: %s", strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err_set(e, ERR_TEMP, "%s", strerror(errno));
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, net_deadline(timeout), e) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == 0)
		return fd;
	err_set(e, ERR_TEMP, "%s", strerror(soerr));
fail:
	close(fd);
	return -1;
}

/* Every flight is one write: Nagle only delays it (see the top). */
static void
nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
resolve(const char *host, unsigned port, struct addrinfo **res, struct err *e)
{
	struct addrinfo hints;
	char portstr[16];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (snprintf(portstr, sizeof(portstr), "%u", port) < 0)
		return err_set(e, ERR_SOFTWARE, "port");
	r = getaddrinfo(host, portstr, &hints, res);
	if (r == 0)
		return 0;
	/* EAI_AGAIN and EAI_NONAME alike: keep the mail, the admin fixes. */
	return err_set(e, ERR_TEMP, "cannot resolve %s: %s", host,
	    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
}

int
net_connect(const char *host, unsigned port, unsigned timeout,
    struct conn **out, struct err *e)
{
	struct addrinfo *res = NULL, *ai;
	struct conn *c;
	char addr[NI_MAXHOST];
	int fd = -1;

	if (resolve(host, port, &res, e) == -1)
		return -1;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
			NULL, 0, NI_NUMERICHOST) != 0)
			str_copy(addr, "?", sizeof(addr));
		if ((fd = connect_one(ai, timeout, e)) == -1)
			err_prefix(e, "connect to %s (%s) port %u", host, addr,
			    port);
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	nodelay(fd);
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	str_copy(c->peer, addr, sizeof(c->peer));
	*out = c;
	return 0;
}

static int
io_wait(struct conn *c, enum tls_io w, long long deadline, struct err *e)
{
	return wait_fd(c->fd, w == TLS_IO_WANT_WRITE ? POLLOUT : POLLIN,
	    deadline, e);
}

int
net_start_tls(struct conn *c, const struct tls_params *p, long long deadline,
    struct err *e)
{
	enum tls_io r;

	if (c->tls != NULL)
		return err_set(e, ERR_SOFTWARE, "TLS started twice");
	if (net_pending(c) > 0)
		return err_set(e, ERR_PROTOCOL,
		    "server sent data before the TLS handshake");
	if (tls_new(c->fd, p, &c->tls, e) == -1)
		return -1;
	while ((r = tls_handshake(c->tls, e)) != TLS_IO_DONE) {
		if (r == TLS_IO_ERROR)
			return -1;
		if (r == TLS_IO_EOF)
			return err_set(e, ERR_TEMP,
			    "connection closed during the TLS handshake");
		if (io_wait(c, r, deadline, e) == -1)
			return err_prefix(e, "TLS handshake");
	}
	c->start = c->end = 0;
	return 0;
}

enum net_probe
net_probe(struct conn *c, long long deadline)
{
	unsigned char b[2];
	struct err ignored;
	ssize_t n;

	if (c->tls != NULL || net_pending(c) > 0)
		return NET_PROBE_DATA;
	if (wait_fd(c->fd, POLLIN, deadline, &ignored) == -1)
		return now_ms() >= deadline ? NET_PROBE_SILENT : NET_PROBE_DATA;
	do
		n = recv(c->fd, b, sizeof(b), MSG_PEEK);
	while (n == -1 && errno == EINTR);
	/* RFC 8446 5.1: content type 21 (alert) or 22 (handshake), then
	 * the legacy version's major byte 3. */
	if (n >= 1 && (b[0] == 0x15 || b[0] == 0x16) && (n < 2 || b[1] == 3))
		return NET_PROBE_TLS;
	return NET_PROBE_DATA;
}

struct tls *
net_tls(const struct conn *c)
{
	return c->tls;
}

const char *
net_peer(const struct conn *c)
{
	return c->peer;
}

size_t
net_pending(const struct conn *c)
{
	return c->end - c->start;
}

int
net_split_line(const char *p, size_t n, size_t max, size_t *linelen,
    size_t *skip)
{
	const char *lf;
	size_t look = n < max ? n : max;

	if ((lf = memchr(p, '\n', look)) == NULL)
		return n >= max ? -1 : 0;
	*skip = (size_t)(lf - p) + 1;
	*linelen = *skip - 1;
	if (*linelen > 0 && p[*linelen - 1] == '\r')
		(*linelen)--;
	return 1;
}

/* Read what is available (at least one byte) into the free space. */
static int
fill(struct conn *c, long long deadline, struct err *e)
{
	size_t got = 0;
	ssize_t r;
	enum tls_io t;

	for (;;) {
		if (now_ms() >= deadline)
			return err_set(e, ERR_TEMP, "timed out");
		if (c->tls != NULL) {
			t = tls_recv(c->tls, c->in + c->end,
			    sizeof(c->in) - c->end, &got, e);
			if (t == TLS_IO_DONE)
				break;
			if (t == TLS_IO_ERROR)
				return -1;
			if (t == TLS_IO_EOF)
				return err_set(e, ERR_TEMP,
				    "connection closed by the server");
		} else {
			r = recv(c->fd, c->in + c->end, sizeof(c->in) - c->end,
			    0);
			if (r > 0) {
				got = (size_t)r;
				break;
			}
			if (r == 0)
				return err_set(e, ERR_TEMP,
				    "connection closed by the server");
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return err_set(e, ERR_TEMP, "read: %s",
				    strerror(errno));
			t = TLS_IO_WANT_READ;
		}
		/* GnuTLS may hold a record already: no poll() for it. */
		if (c->tls != NULL && t == TLS_IO_WANT_READ &&
		    tls_pending(c->tls) > 0)
			continue;
		if (io_wait(c, t, deadline, e) == -1)
			return -1;
	}
	c->end += got;
	return 0;
}

int
net_read_line(struct conn *c, long long deadline, const char **line,
    size_t *len, struct err *e)
{
	size_t skip;
	int r;

	for (;;) {
		r = net_split_line(c->in + c->start, c->end - c->start,
		    NET_MAX_LINE, len, &skip);
		if (r == 1) {
			*line = c->in + c->start;
			c->start += skip;
			return 0;
		}
		if (r == -1)
			return err_set(e, ERR_PROTOCOL,
			    "line longer than %d bytes from server",
			    NET_MAX_LINE);
		if (c->start > 0) {
			memmove(c->in, c->in + c->start, c->end - c->start);
			c->end -= c->start;
			c->start = 0;
		}
		if (fill(c, deadline, e) == -1)
			return -1;
	}
}

static int
write_plain(struct conn *c, const char *p, size_t n, long long deadline,
    struct err *e)
{
	ssize_t r;

	while (n > 0) {
		r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return err_set(e, ERR_TEMP, "write: %s",
			    strerror(errno));
		if (wait_fd(c->fd, POLLOUT, deadline, e) == -1)
			return err_prefix(e, "write");
	}
	return 0;
}

int
net_write(struct conn *c, const void *p, size_t n, long long deadline,
    struct err *e)
{
	enum tls_io r;

	if (c->tls == NULL)
		return write_plain(c, p, n, deadline, e);
	if (tls_queue(c->tls, p, n, e) == -1)
		return -1;
	while ((r = tls_flush(c->tls, e)) != TLS_IO_DONE) {
		if (r == TLS_IO_ERROR)
			return -1;
		if (io_wait(c, r, deadline, e) == -1)
			return err_prefix(e, "write");
	}
	return 0;
}

void
net_close(struct conn *c)
{
	if (c == NULL)
		return;
	tls_free(c->tls);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}
