/*
 * socks.c -- SOCKS5 (RFC 1928) with username/password authentication
 * (RFC 1929), as bytes: the messages we send are built here, the replies
 * checked here; net.c does the I/O with its deadlines.
 *
 * Why by hand and not libcurl's CURLOPT_CONNECT_ONLY: the protocol is
 * four short messages; through curl the connection would come from
 * curl's own resolver and connect logic (not our Happy Eyeballs,
 * source_ip or deadlines), its errors in curl's words, and the socket
 * owned by a curl handle kept alive beside ours.  Here every reply is a
 * fixed-size or length-prefixed record, read exactly, checked before use.
 *
 * HTTP proxies (http-connect://): one CONNECT request, and the reply
 * header read byte by byte up to its blank line (net.c), so again nothing
 * of the server's greeting is consumed.
 *
 * Non-goals: SOCKS4, GSSAPI authentication (RFC 1961), BIND and UDP; TLS
 * to an HTTP proxy (https://), Digest or NTLM proxy authentication.
 *
 * Invariants: nothing here logs or returns the password; reasons never
 * quote the proxy URL.
 */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "socks.h"

/* Percent-decode [s, s + n) into out (size SOCKS_MAX_NAME + 1). */
static const char *
pct_decode(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const char *h1, *h2;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (o >= SOCKS_MAX_NAME)
			return "user name or password longer than 255 bytes";
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return "bad percent-encoding";
		/* Printable octets only (socks_parse_url()): never NUL. */
		h1 = strchr(hex, s[i + 1] | 0x20);
		h2 = strchr(hex, s[i + 2] | 0x20);
		if (h1 == NULL || h2 == NULL)
			return "bad percent-encoding";
		out[o] = (char)((h1 - hex) << 4 | (h2 - hex));
		if (out[o++] == '\0')
			return "NUL in the user name or password";
		i += 2;
	}
	out[o] = '\0';
	return NULL;
}

/* host[:port] or [v6][:port], then nothing or "/". */
static const char *
parse_hostport(const char *s, struct socks_proxy *p)
{
	const char *end, *q;
	unsigned long long port = p->kind == SOCKS_HTTP ? 8080 : 1080;
	size_t n;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return "unterminated [IPv6 address]";
		s++;
		q = end + 1;
	} else {
		end = s + strcspn(s, ":/");
		q = end;
	}
	n = (size_t)(end - s);
	if (n == 0)
		return "no proxy host";
	if (n > SOCKS_MAX_NAME)
		return "proxy host name too long";
	memcpy(p->host, s, n);
	p->host[n] = '\0';
	if (strpbrk(p->host, " \t@[]/") != NULL)
		return "bad proxy host";
	if (*q == ':') {
		q++;
		if (parse_uint(&q, 65535, &port) == -1 || port == 0)
			return "bad proxy port";
	}
	if (*q == '/')
		q++;
	if (*q != '\0')
		return "unexpected text after the proxy's host and port";
	p->port = (unsigned)port;
	return NULL;
}

const char *
socks_parse_url(const char *url, struct socks_proxy *p)
{
	const char *s, *at, *colon, *why, *c;

	memset(p, 0, sizeof(*p));
	for (c = url; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return "blank or control character in the proxy URL";
	if (ascii_ncasecmp(url, "socks5://", 9) == 0) {
		p->kind = SOCKS_5;
		s = url + 9;
	} else if (ascii_ncasecmp(url, "socks5h://", 10) == 0) {
		p->kind = SOCKS_5H;
		s = url + 10;
	} else if (ascii_ncasecmp(url, "http-connect://", 15) == 0) {
		p->kind = SOCKS_HTTP;
		s = url + 15;
	} else
		return "expected socks5://, socks5h:// or http-connect://";
	/* userinfo ends at the last '@' before the path (RFC 3986 3.2). */
	at = NULL;
	for (c = s; *c != '\0' && *c != '/'; c++)
		if (*c == '@')
			at = c;
	if (at != NULL) {
		colon = memchr(s, ':', (size_t)(at - s));
		if (colon == NULL)
			colon = at;
		if ((why = pct_decode(s, (size_t)(colon - s), p->user)) !=
			NULL ||
		    (colon < at &&
			(why = pct_decode(colon + 1, (size_t)(at - colon - 1),
			     p->pass)) != NULL)) {
			socks_proxy_wipe(p);
			return why;
		}
		if (p->user[0] == '\0') {
			socks_proxy_wipe(p);
			return "empty proxy user name";
		}
		p->auth = 1;
		s = at + 1;
	}
	if ((why = parse_hostport(s, p)) != NULL) {
		socks_proxy_wipe(p);
		return why;
	}
	return NULL;
}

void
socks_proxy_wipe(struct socks_proxy *p)
{
	sodium_memzero(p, sizeof(*p));
}

size_t
socks_hello(const struct socks_proxy *p, unsigned char *out)
{
	out[0] = 5;
	out[1] = p->auth ? 2 : 1;
	out[2] = 0x00; /* no authentication */
	out[3] = 0x02; /* username/password */
	return p->auth ? 4 : 3;
}

const char *
socks_hello_reply(const struct socks_proxy *p, const unsigned char in[2],
    int *auth)
{
	*auth = 0;
	if (in[0] != 5)
		return "not a SOCKS5 proxy";
	if (in[1] == 0x00)
		return NULL;
	if (in[1] == 0x02 && p->auth) {
		*auth = 1;
		return NULL;
	}
	if (in[1] == 0x02 || in[1] == 0xff)
		return p->auth ? "the proxy accepts none of our authentication "
				 "methods"
			       : "the proxy wants a user name and password";
	return "the proxy chose a method we did not offer";
}

size_t
socks_auth(const struct socks_proxy *p, unsigned char *out)
{
	size_t ul = strlen(p->user), pl = strlen(p->pass), n = 0;

	out[n++] = 1; /* RFC 1929 2: the subnegotiation's version */
	out[n++] = (unsigned char)ul;
	memcpy(out + n, p->user, ul);
	n += ul;
	out[n++] = (unsigned char)pl;
	memcpy(out + n, p->pass, pl);
	return n + pl;
}

const char *
socks_auth_reply(const unsigned char in[2])
{
	if (in[0] != 1)
		return "malformed authentication reply from the proxy";
	return in[1] == 0 ? NULL
			  : "the proxy refused the user name or password";
}

size_t
socks_connect(const char *host, const unsigned char *addr, size_t addrlen,
    unsigned port, unsigned char *out)
{
	size_t n = 0, hl;

	out[n++] = 5;
	out[n++] = 1; /* CONNECT */
	out[n++] = 0;
	if (addrlen == 4 || addrlen == 16) {
		out[n++] = addrlen == 4 ? 1 : 4;
		memcpy(out + n, addr, addrlen);
		n += addrlen;
	} else {
		if ((hl = strlen(host)) == 0 || hl > SOCKS_MAX_NAME)
			return 0;
		out[n++] = 3; /* DOMAINNAME */
		out[n++] = (unsigned char)hl;
		memcpy(out + n, host, hl);
		n += hl;
	}
	out[n++] = (unsigned char)(port >> 8);
	out[n++] = (unsigned char)(port & 0xff);
	return n;
}

size_t
socks_connect_reply(const unsigned char in[5], const char **why)
{
	static const char *const rep[] = {
	    NULL,
	    "general SOCKS server failure",
	    "connection not allowed by ruleset",
	    "network unreachable",
	    "host unreachable",
	    "connection refused",
	    "TTL expired",
	    "command not supported",
	    "address type not supported",
	};

	*why = NULL;
	if (in[0] != 5 || in[2] != 0) {
		*why = "malformed reply from the proxy";
		return 0;
	}
	if (in[1] != 0) {
		*why = in[1] < sizeof(rep) / sizeof(rep[0])
			   ? rep[in[1]]
			   : "the proxy refused the connection";
		return 0;
	}
	switch (in[3]) {
	case 1:
		return 4 + 4 + 2;
	case 4:
		return 4 + 16 + 2;
	case 3:
		if (in[4] > 0)
			return 4 + 1 + (size_t)in[4] + 2;
		break;
	}
	*why = "malformed reply from the proxy";
	return 0;
}

size_t
socks_http_request(const struct socks_proxy *p, const char *host, unsigned port,
    char *out)
{
	char hp[SOCKS_MAX_NAME + 16], cred[2 * SOCKS_MAX_NAME + 2];
	char b64[sizeof(cred) * 4 / 3 + 4];
	const char *c;
	int v6 = strchr(host, ':') != NULL, n;

	for (c = host; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return 0;
	if (strlen(host) > SOCKS_MAX_NAME)
		return 0;
	(void)snprintf(hp, sizeof(hp), "%s%s%s:%u", v6 ? "[" : "", host,
	    v6 ? "]" : "", port);
	b64[0] = '\0';
	if (p->auth) {
		n = snprintf(cred, sizeof(cred), "%s:%s", p->user, p->pass);
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)cred,
		    (size_t)n, sodium_base64_VARIANT_ORIGINAL);
		sodium_memzero(cred, sizeof(cred));
	}
	n = snprintf(out, SOCKS_HTTP_MAX,
	    "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", hp, hp,
	    p->auth ? "Proxy-Authorization: Basic " : "", b64,
	    p->auth ? "\r\n" : "");
	sodium_memzero(b64, sizeof(b64));
	return n > 0 && n < SOCKS_HTTP_MAX ? (size_t)n : 0;
}

const char *
socks_http_reply(const char *in, size_t n, int *code, char *why, size_t whysz)
{
	size_t i, o = 0, end;

	*code = 0;
	/* RFC 9112 4: HTTP/1.x SP 3DIGIT SP [reason] CRLF */
	if (n < 12 || memcmp(in, "HTTP/1.", 7) != 0 ||
	    (in[7] != '0' && in[7] != '1') || in[8] != ' ' || in[9] < '1' ||
	    in[9] > '5' || in[10] < '0' || in[10] > '9' || in[11] < '0' ||
	    in[11] > '9' || (n > 12 && in[12] != ' ' && in[12] != '\r'))
		return "malformed reply from the HTTP proxy";
	*code = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
	if (*code / 100 == 2)
		return NULL;
	for (end = 9; end < n && in[end] != '\r' && in[end] != '\n'; end++)
		;
	for (i = 9; i < end && o + 1 < whysz && o < 80; i++)
		why[o++] = (in[i] >= ' ' && in[i] < 0x7f) ? in[i] : '?';
	why[o] = '\0';
	return why;
}
