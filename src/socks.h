/*
 * socks.h -- the proxy URL and the SOCKS5 bytes (RFC 1928, RFC 1929),
 * without I/O: net.c sends what these functions build and hands back what
 * it read.
 *
 * A proxy is "socks5://[user:password@]host:port" or "socks5h://...":
 * both send the smarthost's name to the proxy, which resolves it, so no
 * DNS query for it leaves postseal (Tor-friendly).  curl resolves the
 * name itself for socks5://; we do not, since a leak by default is worse
 * than a proxy that cannot resolve names.  user and password are
 * percent-decoded.  "http-connect://[user:password@]host:port" is an HTTP
 * proxy instead, asked with CONNECT (Basic authentication, RFC 7617);
 * the name goes to the proxy there too.  Default ports: 1080, 8080.
 */
#ifndef POSTSEAL_SOCKS_H
#define POSTSEAL_SOCKS_H

#include <stddef.h>

/* RFC 1928 and 1929: names and credentials of at most 255 octets. */
#define SOCKS_MAX_NAME 255
/* The longest message either side sends: RFC 1929's request. */
#define SOCKS_MAX_MSG (3 + 2 * SOCKS_MAX_NAME)

/* How the URL was spelled: SOCKS_5 and SOCKS_5H behave the same;
 * SOCKS_HTTP is an HTTP proxy's CONNECT method (RFC 9110 9.3.6). */
enum socks_kind { SOCKS_5 = 0, SOCKS_5H, SOCKS_HTTP };

struct socks_proxy {
	enum socks_kind kind;
	char host[SOCKS_MAX_NAME + 1]; /* the proxy: a name or an address */
	unsigned port;
	char user[SOCKS_MAX_NAME + 1]; /* "" for none */
	char pass[SOCKS_MAX_NAME + 1]; /* a secret: socks_proxy_wipe() */
	int auth;		       /* user and password were given */
};

/*
 * Parse url into *p.  Returns NULL, or a reason that never quotes the URL
 * (it may hold a password).  IPv6 literals as [addr].  Every accepted
 * field is printable ASCII without blanks (user/password: any octet but
 * NUL after decoding).
 */
const char *socks_parse_url(const char *url, struct socks_proxy *p);

/* Wipe the password (sodium_memzero) and the rest. */
void socks_proxy_wipe(struct socks_proxy *p);

/* The method selection message (RFC 1928 3) into out (at least 4 bytes):
 * "no authentication", and "username/password" when p->auth.  Returns its
 * length. */
size_t socks_hello(const struct socks_proxy *p, unsigned char *out);

/* The server's method choice (2 bytes): NULL if acceptable, *auth set when
 * it chose username/password; else the reason. */
const char *socks_hello_reply(const struct socks_proxy *p,
    const unsigned char in[2], int *auth);

/* RFC 1929's request into out (SOCKS_MAX_MSG bytes); returns its length.
 * The caller wipes out after sending it. */
size_t socks_auth(const struct socks_proxy *p, unsigned char *out);

/* RFC 1929's reply (2 bytes): NULL for success, else the reason. */
const char *socks_auth_reply(const unsigned char in[2]);

/*
 * The CONNECT request (RFC 1928 4) for host (a name, sent as a domain
 * name, or with addrlen 4 or 16 an address in addr) and port into out
 * (SOCKS_MAX_MSG bytes).  Returns its length, or 0 if host is longer than
 * SOCKS_MAX_NAME.
 */
size_t socks_connect(const char *host, const unsigned char *addr,
    size_t addrlen, unsigned port, unsigned char *out);

/*
 * The reply to CONNECT (RFC 1928 6) from its first 5 bytes: its whole
 * length (the caller then reads exactly the rest, no more, since the SMTP
 * greeting follows), or 0 with *why for a malformed reply or a refusal
 * (REP != 0, named as the RFC names it).
 */
size_t socks_connect_reply(const unsigned char in[5], const char **why);

/* The longest CONNECT request and proxy reply header we handle. */
#define SOCKS_HTTP_MAX 4096

/*
 * The CONNECT request for host:port (an IPv6 literal is bracketed) into
 * out (SOCKS_HTTP_MAX bytes), with Proxy-Authorization when p->auth.
 * Returns its length, or 0 if host has bytes that cannot go into a
 * request line.  The caller wipes out after sending it.
 */
size_t socks_http_request(const struct socks_proxy *p, const char *host,
    unsigned port, char *out);

/*
 * The proxy's reply header (n bytes up to and including the blank line):
 * NULL for a 2xx status, else the reason (with the status code and its
 * text, made printable and bounded, into why of whysz bytes); *code is
 * the status code, 0 when the status line is malformed.
 */
const char *socks_http_reply(const char *in, size_t n, int *code, char *why,
    size_t whysz);

#endif
