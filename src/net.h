/*
 * net.h -- a TCP connection to the server, optionally wrapped in TLS, with
 * deadlines on everything: connect, line reads, writes, the handshake.
 *
 * Deadlines are absolute times on the monotonic clock in milliseconds
 * (net_deadline()).  A caller that wants a bound on a whole reply passes
 * the same deadline to every net_read_line() of that reply, so a server
 * trickling one byte per second is cut off when the deadline passes.
 */
#ifndef POSTSEAL_NET_H
#define POSTSEAL_NET_H

#include <stddef.h>

#include "err.h"
#include "tls.h"

/* The longest line we read, terminator included (STYLE.md). */
#define NET_MAX_LINE 2048

struct conn;

/* now + seconds on the monotonic clock, in ms. */
long long net_deadline(unsigned seconds);

/* How to reach a server (the account's settings). */
struct net_params {
	unsigned timeout;      /* seconds: each attempt, and the lookups */
	const char *source_ip; /* numeric local address, or NULL */
	const char *proxy;     /* socks5:// or socks5h:// URL, or NULL */
};

/*
 * Resolve host (AAAA and A side by side) and connect to port by Happy
 * Eyeballs (RFC 8305): attempts interleaved by family, IPv6 first, a new
 * one every 250 ms while the earlier ones are pending, the first to
 * connect wins.  Each attempt has p->timeout seconds.  With source_ip,
 * only addresses of its family are tried, each from that address.
 * Failures are ERR_TEMP (DNS failures included: the mail is kept), the
 * text naming every address tried and why it failed; a source_ip this
 * host does not have is ERR_CONFIG.
 *
 * With p->proxy (see socks.h), the connection goes to the proxy instead
 * (Happy Eyeballs and source_ip apply to it) and then through it to
 * host:port; net_peer() says "proxy ADDR".  A refusal by the proxy is
 * ERR_TEMP, refused credentials ERR_AUTH, a bad URL ERR_CONFIG, a reply
 * that is not SOCKS5 ERR_PROTOCOL; no error holds the proxy's password.
 *
 * On success *out is set; free with net_close().
 */
int net_connect(const char *host, unsigned port, const struct net_params *p,
    struct conn **out, struct err *e);

/*
 * Start TLS on the connection (implicit TLS, or after STARTTLS's 220).
 * Refuses (ERR_PROTOCOL) if bytes from the server are buffered unread:
 * plaintext after 220 would otherwise be taken as protected.  Errors from
 * tls_new() and tls_handshake() are passed on (ERR_CONFIG, ERR_TEMP).
 */
int net_start_tls(struct conn *c, const struct tls_params *p,
    long long deadline, struct err *e);

/* The TLS session, or NULL before net_start_tls(). */
struct tls *net_tls(const struct conn *c);

/* The peer's numeric address, e.g. "192.0.2.1" or "2001:db8::1". */
const char *net_peer(const struct conn *c);

/*
 * Read one line.  *line points into the connection's buffer (valid until
 * the next call), *len excludes the CRLF or bare LF that ended it.  A line
 * longer than NET_MAX_LINE is ERR_PROTOCOL; EOF, a read error and the
 * deadline are ERR_TEMP.
 */
int net_read_line(struct conn *c, long long deadline, const char **line,
    size_t *len, struct err *e);

/* Bytes received but not yet returned by net_read_line(). */
size_t net_pending(const struct conn *c);

/*
 * Write all n bytes before the deadline; one write(2) call (or one TLS
 * flush) unless the kernel takes fewer.  Errors are ERR_TEMP.
 */
int net_write(struct conn *c, const void *p, size_t n, long long deadline,
    struct err *e);

/*
 * One flight in several writes: between net_flight_begin() and
 * net_flight_end() writes are held (TCP_CORK on Linux) and leave
 * together at the end, or as soon as a read has to wait.  A TLS handshake
 * started inside a flight sends each of its flights before waiting, but
 * its last (the client Finished) stays held for the writes after it.
 */
void net_flight_begin(struct conn *c);
void net_flight_end(struct conn *c);

/*
 * Before the greeting (issue 9): wait until the deadline for the server's
 * first bytes without reading them.  NET_PROBE_DATA: something arrived
 * (or the connection closed, or poll failed: the read that follows says
 * why); NET_PROBE_SILENT: nothing by the deadline; NET_PROBE_TLS: the
 * bytes look like a TLS record (handshake or alert), not text.
 */
enum net_probe { NET_PROBE_DATA = 0, NET_PROBE_SILENT, NET_PROBE_TLS };
enum net_probe net_probe(struct conn *c, long long deadline);

/* On TLS, send close_notify now (inside a flight: with its last bytes);
 * reading goes on.  Returns -1 on plain TCP or when it was not sent. */
int net_close_write(struct conn *c);

/* TLS close_notify (best effort), close the socket, free.  NULL is ok. */
void net_close(struct conn *c);

/*
 * The pure line splitter behind net_read_line(), for tests and fuzzing:
 * looks for a line in the n bytes at p.  Returns 1 and sets *linelen (the
 * line without its terminator) and *skip (with it) when one is complete,
 * 0 when more bytes are needed, -1 when the line is longer than max bytes
 * with its terminator.  A line ends at LF; a CR right before it is part of
 * the terminator (a CR elsewhere stays in the line for the caller to
 * reject).
 */
int net_split_line(const char *p, size_t n, size_t max, size_t *linelen,
    size_t *skip);

#endif
