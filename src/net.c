/*
 * net.c -- connections with deadlines: connect, buffered line reading,
 * write-all, and the TLS handshake loop, over plain TCP or tls.c.
 *
 * Purpose: the only place that waits.  Every wait is a poll() bounded by
 * an absolute deadline on the monotonic clock; sockets are non-blocking
 * from creation, so nothing can block past the deadline.  getaddrinfo()
 * runs in threads (see Happy Eyeballs below), so a slow resolver is
 * bounded by our deadline too.
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
 * A flight that takes several writes (the TLS handshake's last flight and
 * the EHLO behind it; commands, a message body, QUIT and close_notify) is
 * bracketed by net_flight_begin()/net_flight_end(): on Linux TCP_CORK
 * holds partial segments until the end, so the server sees one run of
 * bytes.  A wait for input ends the flight first (nothing is held while
 * we wait for the server).
 *
 * Invariants: the input buffer never holds more than NET_INBUF bytes and
 * a line is at most NET_MAX_LINE bytes; TLS starts only with an empty
 * input buffer.  Writes use MSG_NOSIGNAL (no SIGPIPE).
 *
 * Failure policy: network failures and timeouts are ERR_TEMP; an over-long
 * line or bytes buffered ahead of the TLS handshake are ERR_PROTOCOL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "net.h"
#include "socks.h"

#define NET_INBUF 8192

struct conn {
	int fd;
	struct tls *tls;
	int corked;	   /* net_flight_begin() without its end yet */
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

/* Every flight is one write: Nagle only delays it (see the top). */
static void
nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* TCP_CORK on or off (Linux; elsewhere a flight may leave in parts). */
static void
cork(int fd, int on)
{
#ifdef TCP_CORK
	(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
#else
	(void)fd;
	(void)on;
#endif
}

void
net_flight_begin(struct conn *c)
{
	if (c == NULL || c->corked)
		return;
	cork(c->fd, 1);
	c->corked = 1;
}

void
net_flight_end(struct conn *c)
{
	if (c == NULL || !c->corked)
		return;
	cork(c->fd, 0);
	c->corked = 0;
}

/* ---- Happy Eyeballs v2 (RFC 8305) ----
 *
 * Resolution: getaddrinfo() for AAAA and for A, each in a thread of its
 * own, side by side (RFC 8305 3).  getaddrinfo() rather than dns.c's
 * libunbound: it honours /etc/hosts, nsswitch.conf and resolv.conf's
 * search list, which users and the tests rely on.  A thread tells it is
 * done through a pipe, so one poll() waits for lookups and connection
 * attempts alike.  A lookup that outlives our deadline is abandoned: the
 * thread frees the shared state when it finishes (reference count).
 *
 * Connecting: the addresses of the two families are interleaved, IPv6
 * first (RFC 8305 4); a new non-blocking attempt starts every
 * HE_ATTEMPT_DELAY ms while earlier ones are pending, or at once when one
 * fails (5); the first to connect wins and the others are closed.  If A
 * answers first, we wait HE_RESOLUTION_DELAY ms for AAAA (3).  Each
 * attempt has the whole timeout from its start; every failure is kept
 * for the message when all fail.
 */
#define HE_MAX_ADDRS 8 /* per family */
#define HE_MAX_ATTEMPTS (2 * HE_MAX_ADDRS)
#define HE_ATTEMPT_DELAY 250   /* ms: Connection Attempt Delay, RFC 8305 5 */
#define HE_RESOLUTION_DELAY 50 /* ms: RFC 8305 3 */

struct lookup;

struct lookup_job {
	struct lookup *l;
	int fam; /* 0: AAAA, 1: A */
};

struct lookup {
	pthread_mutex_t mu;
	int refs; /* the caller and each running thread */
	int wake[2];
	char host[NI_MAXHOST];
	char port[8];
	struct lookup_job job[2];
	int started[2], done[2], rc[2], syserr[2];
	struct addrinfo *res[2];
};

static void
lookup_release(struct lookup *l)
{
	int refs, i;

	pthread_mutex_lock(&l->mu);
	refs = --l->refs;
	pthread_mutex_unlock(&l->mu);
	if (refs > 0)
		return;
	for (i = 0; i < 2; i++)
		if (l->res[i] != NULL)
			freeaddrinfo(l->res[i]);
	close(l->wake[0]);
	close(l->wake[1]);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* One family's getaddrinfo(), in a thread or (no thread) inline. */
static void *
lookup_run(void *arg)
{
	struct lookup_job *j = arg;
	struct lookup *l = j->l;
	struct addrinfo hints, *res = NULL;
	ssize_t n;
	int rc, syserr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = j->fam == 0 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(l->host, l->port, &hints, &res);
	syserr = errno;
	pthread_mutex_lock(&l->mu);
	l->rc[j->fam] = rc;
	l->syserr[j->fam] = syserr;
	l->res[j->fam] = rc == 0 ? res : NULL;
	l->done[j->fam] = 1;
	pthread_mutex_unlock(&l->mu);
	n = write(l->wake[1], "", 1); /* the pipe lives while we hold a ref */
	(void)n;
	lookup_release(l);
	return NULL;
}

/* A literal address needs no thread: nonzero if host is one. */
static int
lookup_numeric(struct lookup *l, const int want[2])
{
	struct addrinfo hints, *res = NULL;
	int i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(l->host, l->port, &hints, &res) != 0)
		return 0;
	i = res->ai_family == AF_INET6 ? 0 : 1;
	l->started[i] = l->done[i] = 1;
	if (want[i])
		l->res[i] = res;
	else {
		l->rc[i] = EAI_FAMILY;
		freeaddrinfo(res);
	}
	return 1;
}

/* Start the lookups of the families wanted (want[0]: AAAA, want[1]: A);
 * NULL if no pipe could be made (errno). */
static struct lookup *
lookup_start(const char *host, unsigned port, const int want[2])
{
	struct lookup *l = xcalloc(1, sizeof(*l));
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int i;

	if (pthread_mutex_init(&l->mu, NULL) != 0)
		fatal("pthread_mutex_init failed");
	if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		pthread_mutex_destroy(&l->mu);
		free(l);
		return NULL;
	}
	str_copy(l->host, host, sizeof(l->host));
	(void)snprintf(l->port, sizeof(l->port), "%u", port);
	l->refs = 1;
	if (lookup_numeric(l, want))
		return l;
	/* Signals stay with the caller's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		l->job[i].l = l;
		l->job[i].fam = i;
		l->started[i] = 1;
		l->refs++;
		if (pthread_create(&t, &attr, lookup_run, &l->job[i]) != 0)
			(void)lookup_run(&l->job[i]); /* no thread: inline */
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return l;
}

struct attempt {
	int fd;
	long long deadline;
	char addr[INET6_ADDRSTRLEN];
};

struct he {
	const char *host;
	unsigned port;
	const struct net_params *p;
	struct lookup *l;
	int taken[2];		 /* the family's results are in q[] */
	long long a_time;	 /* when A answered (resolution delay) */
	struct addrinfo *res[2]; /* owned, moved from the lookup */
	struct addrinfo *q[2][HE_MAX_ADDRS];
	size_t nq[2], next[2];
	int last; /* family of the last attempt, -1 before the first */
	struct attempt at[HE_MAX_ATTEMPTS];
	size_t nat;
	long long next_start;
	/* Failures so far, for the message when all fail. */
	char errs[sizeof(((struct err *)0)->text)];
	size_t nerrs, nlost;
	struct err cfg; /* a failure of the configuration's (source_ip) */
	struct sockaddr_storage src; /* source_ip */
	socklen_t srclen;	     /* 0: no source_ip */
	char won[INET6_ADDRSTRLEN];  /* the winner's address */
};

/* Keep "ADDR: why" for the message if it fits beside the host, the port
 * and a count of the rest in one struct err; else count it. */
static void
he_failed(struct he *h, const char *addr, const char *why)
{
	size_t len = strlen(h->errs), room = sizeof(h->errs) - 1;
	size_t fixed = strlen(h->host) + sizeof("connect to  port 65535: ") +
		       sizeof("; 99 more");
	int n;

	room = fixed < room ? room - fixed : 0;
	n = snprintf(h->errs + len, sizeof(h->errs) - len, "%s%s: %s",
	    len > 0 ? "; " : "", addr, why);
	if (n < 0 || len + (size_t)n > room) {
		h->errs[len] = '\0'; /* keep whole entries only */
		h->nlost++;
	} else
		h->nerrs++;
}

/* Move the finished lookups' addresses into the queues. */
static void
he_take(struct he *h, long long now)
{
	char b[16];
	struct addrinfo *ai;
	int i;

	while (read(h->l->wake[0], b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&h->l->mu);
	for (i = 0; i < 2; i++) {
		if (!h->l->done[i] || h->taken[i])
			continue;
		h->taken[i] = 1;
		h->res[i] = h->l->res[i];
		h->l->res[i] = NULL;
		if (i == 1)
			h->a_time = now;
		for (ai = h->res[i]; ai != NULL && h->nq[i] < HE_MAX_ADDRS;
		     ai = ai->ai_next)
			h->q[i][h->nq[i]++] = ai;
	}
	pthread_mutex_unlock(&h->l->mu);
}

static int
he_resolving(const struct he *h)
{
	return (h->l->started[0] && !h->taken[0]) ||
	       (h->l->started[1] && !h->taken[1]);
}

/* The next address to try, or NULL (none yet, or *wait_until: the end of
 * the resolution delay). */
static const struct addrinfo *
he_next_addr(struct he *h, long long now, long long *wait_until)
{
	int f, avail[2];

	avail[0] = h->next[0] < h->nq[0];
	avail[1] = h->next[1] < h->nq[1];
	/* RFC 8305 3: A first, AAAA still pending: give AAAA a moment. */
	if (avail[1] && !avail[0] && h->last == -1 && h->l->started[0] &&
	    !h->taken[0] && now < h->a_time + HE_RESOLUTION_DELAY) {
		*wait_until = h->a_time + HE_RESOLUTION_DELAY;
		return NULL;
	}
	if (!avail[0] && !avail[1])
		return NULL;
	/* Alternate, IPv6 first (RFC 8305 4). */
	f = h->last == 0 ? 1 : 0;
	if (!avail[f])
		f = 1 - f;
	h->last = f;
	return h->q[f][h->next[f]++];
}

static int
he_queued(const struct he *h)
{
	return h->next[0] < h->nq[0] || h->next[1] < h->nq[1];
}

/* Bind an attempt's socket to source_ip.  An address this host does not
 * have is the configuration's mistake, and ends the whole connect. */
static int
bind_source(int fd, struct he *h, const char *addr)
{
	if (bind(fd, (const struct sockaddr *)&h->src, h->srclen) == 0)
		return 0;
	if (errno == EADDRNOTAVAIL)
		return err_set(&h->cfg, ERR_CONFIG,
		    "source_ip %s is not an address of this host (%s)",
		    h->p->source_ip, strerror(errno));
	he_failed(h, addr, strerror(errno));
	return -1;
}

/* Start an attempt on ai: 0 pending, -1 failed at once (recorded). */
static int
he_start(struct he *h, const struct addrinfo *ai, long long now)
{
	struct attempt *a = &h->at[h->nat];
	char addr[INET6_ADDRSTRLEN];
	int fd;

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL,
		0, NI_NUMERICHOST) != 0)
		str_copy(addr, "?", sizeof(addr));
	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		he_failed(h, addr, strerror(errno));
		return -1;
	}
	if (h->srclen > 0 && bind_source(fd, h, addr) == -1)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		he_failed(h, addr, strerror(errno));
		goto fail;
	}
	/* Connected at once (loopback) or in progress: poll() tells. */
	a->fd = fd;
	a->deadline = now + (long long)h->p->timeout * 1000;
	str_copy(a->addr, addr, sizeof(a->addr));
	h->nat++;
	return 0;
fail:
	close(fd);
	return -1;
}

/* Close attempt i and forget it. */
static void
he_drop(struct he *h, size_t i)
{
	close(h->at[i].fd);
	h->at[i] = h->at[--h->nat];
}

/* Look at the attempts poll() reported on or whose time is up: the fd of
 * the first that connected (the attempt is forgotten), else -1. */
static int
he_check(struct he *h, const struct pollfd *pfd, long long now)
{
	int soerr, fd;
	socklen_t len;
	size_t i = h->nat;

	/* From the end: he_drop() moves the last attempt into slot i. */
	while (i-- > 0) {
		if (pfd[i].revents == 0) {
			if (now >= h->at[i].deadline) {
				he_failed(h, h->at[i].addr, "timed out");
				he_drop(h, i);
				h->next_start = now;
			}
			continue;
		}
		soerr = 0;
		len = sizeof(soerr);
		if (getsockopt(h->at[i].fd, SOL_SOCKET, SO_ERROR, &soerr,
			&len) == -1)
			soerr = errno;
		if (soerr == 0) {
			fd = h->at[i].fd;
			str_copy(h->won, h->at[i].addr, sizeof(h->won));
			h->at[i] = h->at[--h->nat];
			return fd;
		}
		he_failed(h, h->at[i].addr, strerror(soerr));
		he_drop(h, i);
		h->next_start = now; /* RFC 8305 5: the next one at once */
	}
	return -1;
}

/* poll() on the lookups and the attempts until the earliest of wake and
 * the attempts' deadlines. */
static void
he_wait(struct he *h, struct pollfd *pfd, long long wake, long long now)
{
	size_t i, n = h->nat;
	long long left;

	for (i = 0; i < h->nat; i++) {
		pfd[i].fd = h->at[i].fd;
		pfd[i].events = POLLOUT;
		pfd[i].revents = 0;
		if (h->at[i].deadline < wake)
			wake = h->at[i].deadline;
	}
	pfd[n].fd = h->l->wake[0];
	pfd[n].events = POLLIN;
	pfd[n].revents = 0;
	left = wake - now;
	if (left < 0)
		left = 0;
	if (poll(pfd, n + 1, left > 60000 ? 60000 : (int)left) == -1 &&
	    errno != EINTR)
		fatal("poll: %s", strerror(errno));
}

static int
gai_missing(int rc)
{
	switch (rc) {
	case EAI_NONAME:
	case EAI_FAMILY:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return 1;
	}
	return 0;
}

/* No address to try: say why (the lookups' failures, or the deadline). */
static int
he_resolve_error(const struct he *h, struct err *e)
{
	const struct lookup *l = h->l;
	int i = l->started[1] ? 1 : 0, rc;

	if (he_resolving(h))
		return err_set(e, ERR_TEMP, "cannot resolve %s: timed out",
		    h->host);
	/* A real failure (EAI_AGAIN...) says more than "no AAAA". */
	if (gai_missing(l->rc[i]) && l->started[1 - i] &&
	    !gai_missing(l->rc[1 - i]) && l->rc[1 - i] != 0)
		i = 1 - i;
	rc = l->rc[i];
	if (h->srclen > 0 && gai_missing(rc))
		return err_set(e, ERR_TEMP,
		    "%s has no %s address to reach from source_ip %s", h->host,
		    h->src.ss_family == AF_INET6 ? "IPv6" : "IPv4",
		    h->p->source_ip);
	/* EAI_AGAIN and EAI_NONAME alike: keep the mail, the admin fixes. */
	return err_set(e, ERR_TEMP, "cannot resolve %s: %s", h->host,
	    rc == EAI_SYSTEM ? strerror(l->syserr[i]) : gai_strerror(rc));
}

static int
he_fail(const struct he *h, struct err *e)
{
	if (h->nerrs == 0 && h->nlost == 0)
		return he_resolve_error(h, e);
	if (h->nerrs == 0)
		return err_set(e, ERR_TEMP,
		    "connect to %s port %u: %zu addresses failed", h->host,
		    h->port, h->nlost);
	if (h->nlost > 0)
		return err_set(e, ERR_TEMP,
		    "connect to %s port %u: %s; %zu more", h->host, h->port,
		    h->errs, h->nlost);
	return err_set(e, ERR_TEMP, "connect to %s port %u: %s", h->host,
	    h->port, h->errs);
}

/* Run the lookups and attempts until one connects (its fd) or all fail. */
static int
he_run(struct he *h, struct err *e)
{
	struct pollfd pfd[HE_MAX_ATTEMPTS + 1];
	const struct addrinfo *ai;
	long long now, wake, resolve_end;
	int fd;

	resolve_end = now_ms() + (long long)h->p->timeout * 1000;
	for (;;) {
		now = now_ms();
		he_take(h, now);
		wake = LLONG_MAX;
		if (now >= h->next_start &&
		    (ai = he_next_addr(h, now, &wake)) != NULL) {
			h->next_start = he_start(h, ai, now) == 0
					    ? now + HE_ATTEMPT_DELAY
					    : now;
			if (h->cfg.kind != ERR_NONE)
				break;
			continue;
		}
		if (h->nat == 0 && !he_queued(h) &&
		    (!he_resolving(h) || now >= resolve_end))
			break;
		if (he_queued(h) && h->next_start < wake)
			wake = h->next_start;
		if (he_resolving(h) && resolve_end < wake)
			wake = resolve_end;
		he_wait(h, pfd, wake, now);
		if ((fd = he_check(h, pfd, now_ms())) != -1)
			return fd;
	}
	if (h->cfg.kind != ERR_NONE) {
		*e = h->cfg;
		return -1;
	}
	return he_fail(h, e);
}

/* source_ip: the numeric address to bind each attempt to. */
static int
he_source(struct he *h, struct err *e)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
	const char *src = h->p->source_ip;

	if (src == NULL)
		return 0;
	memset(&h->src, 0, sizeof(h->src));
	if (inet_pton(AF_INET, src, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		h->srclen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, src, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		h->srclen = sizeof(*s6);
	} else
		return err_set(e, ERR_CONFIG,
		    "source_ip %s: not an IPv4 or IPv6 address", src);
	return 0;
}

/* Happy Eyeballs to host: the connected fd, its address in won. */
static int
he_connect(const char *host, unsigned port, const struct net_params *p,
    char *won, size_t wonsz, struct err *e)
{
	struct he h;
	int want[2] = {1, 1}, fd = -1;
	size_t i;

	memset(&h, 0, sizeof(h));
	h.host = host;
	h.port = port;
	h.p = p;
	h.last = -1;
	if (strlen(host) >= NI_MAXHOST)
		return err_set(e, ERR_CONFIG, "host name too long");
	if (he_source(&h, e) == -1)
		return -1;
	if (h.srclen > 0) {
		want[0] = h.src.ss_family == AF_INET6;
		want[1] = !want[0];
	}
	if ((h.l = lookup_start(host, port, want)) == NULL)
		return err_set(e, ERR_TEMP, "pipe: %s", strerror(errno));
	fd = he_run(&h, e);
	for (i = 0; i < h.nat; i++)
		close(h.at[i].fd);
	for (i = 0; i < 2; i++)
		if (h.res[i] != NULL)
			freeaddrinfo(h.res[i]);
	lookup_release(h.l);
	if (fd != -1)
		str_copy(won, h.won, wonsz);
	return fd;
}

static struct conn *
conn_new(int fd, const char *peer)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	nodelay(fd);
	c->fd = fd;
	str_copy(c->peer, peer, sizeof(c->peer));
	return c;
}

static int proxy_connect(const char *host, unsigned port,
    const struct net_params *p, struct conn **out, struct err *e);

int
net_connect(const char *host, unsigned port, const struct net_params *p,
    struct conn **out, struct err *e)
{
	char won[INET6_ADDRSTRLEN];
	int fd;

	if (p->proxy != NULL)
		return proxy_connect(host, port, p, out, e);
	if ((fd = he_connect(host, port, p, won, sizeof(won), e)) == -1)
		return -1;
	*out = conn_new(fd, won);
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
	/* Inside a flight, the handshake's last flight stays held for the
	 * caller's next write (TLS 1.3: application data may follow the
	 * client Finished at once); each earlier one leaves before we wait. */
	while ((r = tls_handshake(c->tls, e)) != TLS_IO_DONE) {
		if (r == TLS_IO_ERROR)
			return -1;
		if (r == TLS_IO_EOF)
			return err_set(e, ERR_TEMP,
			    "connection closed during the TLS handshake");
		if (c->corked)
			cork(c->fd, 0);
		if (io_wait(c, r, deadline, e) == -1)
			return err_prefix(e, "TLS handshake");
		if (c->corked)
			cork(c->fd, 1);
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
		net_flight_end(c); /* never hold bytes while we wait */
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

/* ---- through a SOCKS5 proxy (socks.c builds and checks the bytes) ---- */

/* Exactly n bytes from the proxy: what follows its reply is the server's. */
static int
read_exact(struct conn *c, unsigned char *p, size_t n, long long deadline,
    struct err *e)
{
	ssize_t r;

	while (n > 0) {
		r = recv(c->fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return err_set(e, ERR_TEMP, "connection closed");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return err_set(e, ERR_TEMP, "read: %s",
			    strerror(errno));
		if (wait_fd(c->fd, POLLIN, deadline, e) == -1)
			return -1;
	}
	return 0;
}

/* A literal address goes to the proxy as one (4 or 16 bytes), a name as
 * a name: postseal never resolves the smarthost's name itself. */
static size_t
literal_addr(const char *host, unsigned char *addr)
{
	if (inet_pton(AF_INET, host, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, host, addr) == 1)
		return 16;
	return 0;
}

/* Method selection and, if the proxy asks, RFC 1929 authentication. */
static int
socks_login(struct conn *c, const struct socks_proxy *px, long long deadline,
    struct err *e)
{
	unsigned char msg[SOCKS_MAX_MSG], in[2];
	const char *why;
	size_t n;
	int auth, r;

	n = socks_hello(px, msg);
	if (write_plain(c, (const char *)msg, n, deadline, e) == -1 ||
	    read_exact(c, in, 2, deadline, e) == -1)
		return -1;
	if ((why = socks_hello_reply(px, in, &auth)) != NULL)
		return err_set(e, in[0] == 5 ? ERR_CONFIG : ERR_PROTOCOL, "%s",
		    why);
	if (!auth)
		return 0;
	n = socks_auth(px, msg);
	r = write_plain(c, (const char *)msg, n, deadline, e);
	sodium_memzero(msg, sizeof(msg));
	if (r == -1 || read_exact(c, in, 2, deadline, e) == -1)
		return -1;
	if ((why = socks_auth_reply(in)) != NULL)
		return err_set(e, in[0] == 1 ? ERR_AUTH : ERR_PROTOCOL, "%s",
		    why);
	return 0;
}

/* CONNECT to host:port and read the reply, exactly. */
static int
socks_request(struct conn *c, const char *host, unsigned port,
    long long deadline, struct err *e)
{
	unsigned char msg[SOCKS_MAX_MSG], addr[16];
	size_t n, alen;
	const char *why;

	alen = literal_addr(host, addr);
	if ((n = socks_connect(host, addr, alen, port, msg)) == 0)
		return err_set(e, ERR_CONFIG, "host name too long for SOCKS");
	if (write_plain(c, (const char *)msg, n, deadline, e) == -1 ||
	    read_exact(c, msg, 5, deadline, e) == -1)
		return -1;
	if ((n = socks_connect_reply(msg, &why)) == 0)
		return err_set(e,
		    msg[0] == 5 && msg[2] == 0 ? ERR_TEMP : ERR_PROTOCOL, "%s",
		    why);
	return read_exact(c, msg + 5, n - 5, deadline, e);
}

/* An HTTP proxy's CONNECT (RFC 9110 9.3.6); the reply header is read a
 * byte at a time, since what follows its blank line is the server's. */
static int
http_connect(struct conn *c, const struct socks_proxy *px, const char *host,
    unsigned port, long long deadline, struct err *e)
{
	char msg[SOCKS_HTTP_MAX], why[96];
	const char *r;
	size_t n;
	int code, w;

	if ((n = socks_http_request(px, host, port, msg)) == 0)
		return err_set(e, ERR_CONFIG, "host name unfit for CONNECT");
	w = write_plain(c, msg, n, deadline, e);
	sodium_memzero(msg, sizeof(msg));
	if (w == -1)
		return -1;
	for (n = 0;;) {
		if (n == sizeof(msg))
			return err_set(e, ERR_PROTOCOL,
			    "reply header from the HTTP proxy over %d bytes",
			    SOCKS_HTTP_MAX);
		if (read_exact(c, (unsigned char *)msg + n, 1, deadline, e) ==
		    -1)
			return -1;
		n++;
		if ((n >= 4 && memcmp(msg + n - 4, "\r\n\r\n", 4) == 0) ||
		    (n >= 2 && memcmp(msg + n - 2, "\n\n", 2) == 0))
			break;
	}
	if ((r = socks_http_reply(msg, n, &code, why, sizeof(why))) == NULL)
		return 0;
	if (code == 0)
		return err_set(e, ERR_PROTOCOL, "%s", r);
	/* 407 (RFC 9110 15.5.8); tinyproxy says 401. */
	return err_set(e, code == 407 || code == 401 ? ERR_AUTH : ERR_TEMP,
	    "the HTTP proxy said %s", r);
}

static int
proxy_connect(const char *host, unsigned port, const struct net_params *p,
    struct conn **out, struct err *e)
{
	struct socks_proxy px;
	struct net_params direct = *p;
	struct conn *c = NULL;
	char won[INET6_ADDRSTRLEN], peer[64];
	const char *why;
	long long deadline = net_deadline(p->timeout);
	int fd, r = -1;

	if ((why = socks_parse_url(p->proxy, &px)) != NULL)
		return err_set(e, ERR_CONFIG, "proxy: %s", why);
	direct.proxy = NULL;
	if ((fd = he_connect(px.host, px.port, &direct, won, sizeof(won), e)) ==
	    -1) {
		err_prefix(e, "proxy");
		goto out;
	}
	(void)snprintf(peer, sizeof(peer), "proxy %s", won);
	c = conn_new(fd, peer);
	if (px.kind == SOCKS_HTTP
		? http_connect(c, &px, host, port, deadline, e) == -1
		: (socks_login(c, &px, deadline, e) == -1 ||
		      socks_request(c, host, port, deadline, e) == -1)) {
		err_prefix(e, "proxy %s port %u to %s port %u", px.host,
		    px.port, host, port);
		net_close(c);
		goto out;
	}
	*out = c;
	r = 0;
out:
	socks_proxy_wipe(&px);
	return r;
}

int
net_close_write(struct conn *c)
{
	return c != NULL && c->tls != NULL ? tls_close_write(c->tls) : -1;
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
