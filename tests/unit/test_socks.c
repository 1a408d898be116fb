/*
 * test_socks.c -- socks.c: proxy URLs (good and hostile) and the SOCKS5
 * messages, byte for byte against RFC 1928 and RFC 1929.
 */
#include <string.h>

#include "../../src/socks.h"
#include "check.h"

static const struct {
	const char *url;
	const char *why; /* NULL: accepted */
	int kind, auth;
	const char *host, *user, *pass;
	unsigned port;
} urls[] = {
    {"socks5://127.0.0.1:1080", NULL, SOCKS_5, 0, "127.0.0.1", "", "", 1080},
    {"SOCKS5H://proxy.example", NULL, SOCKS_5H, 0, "proxy.example", "", "",
	1080},
    {"socks5h://u:p@[::1]:9050/", NULL, SOCKS_5H, 1, "::1", "u", "p", 9050},
    {"socks5://us%40r:p%3aw%25@h:1", NULL, SOCKS_5, 1, "h", "us@r", "p:w%", 1},
    {"socks5://a@b@h:2", NULL, SOCKS_5, 1, "h", "a@b", "", 2},
    {"socks5://u:@h:3", NULL, SOCKS_5, 1, "h", "u", "", 3},
    {"http://h:1", "expected socks5://, socks5h:// or http-connect://", 0, 0, 0,
	0, 0, 0},
    {"http-connect://Aladdin:open%20sesame@proxy.example", NULL, SOCKS_HTTP, 1,
	"proxy.example", "Aladdin", "open sesame", 8080},
    {"socks5://", "no proxy host", 0, 0, 0, 0, 0, 0},
    {"socks5://:p@h:1", "empty proxy user name", 0, 0, 0, 0, 0, 0},
    {"socks5://h:0", "bad proxy port", 0, 0, 0, 0, 0, 0},
    {"socks5://h:65536", "bad proxy port", 0, 0, 0, 0, 0, 0},
    {"socks5://h:12x", "unexpected text after the proxy's host and port", 0, 0,
	0, 0, 0, 0},
    {"socks5://[::1", "unterminated [IPv6 address]", 0, 0, 0, 0, 0, 0},
    {"socks5://u:%4@h", "bad percent-encoding", 0, 0, 0, 0, 0, 0},
    {"socks5://u:%zz@h", "bad percent-encoding", 0, 0, 0, 0, 0, 0},
    {"socks5://u:%00@h", "NUL in the user name or password", 0, 0, 0, 0, 0, 0},
    {"socks5://u:p w@h", "blank or control character in the proxy URL", 0, 0, 0,
	0, 0, 0},
    {"socks5://h/x", "unexpected text after the proxy's host and port", 0, 0, 0,
	0, 0, 0},
};

static void
test_urls(void)
{
	struct socks_proxy p;
	const char *why;
	size_t i;
	char longurl[600];

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		why = socks_parse_url(urls[i].url, &p);
		if (urls[i].why != NULL) {
			CHECK_STR(why != NULL ? why : "(accepted)",
			    urls[i].why);
			CHECK(p.pass[0] == '\0'); /* wiped */
			continue;
		}
		CHECK_STR(why != NULL ? why : "", "");
		if (why != NULL)
			continue;
		CHECK((int)p.kind == urls[i].kind && p.auth == urls[i].auth);
		CHECK_STR(p.host, urls[i].host);
		CHECK_STR(p.user, urls[i].user);
		CHECK_STR(p.pass, urls[i].pass);
		CHECK(p.port == urls[i].port);
		socks_proxy_wipe(&p);
		CHECK(p.pass[0] == '\0' && p.user[0] == '\0');
	}
	/* A 256-byte password is one too many (RFC 1929: PLEN is a byte). */
	memcpy(longurl, "socks5://u:", 11);
	memset(longurl + 11, 'x', 256);
	memcpy(longurl + 11 + 256, "@h", 3);
	CHECK_STR(socks_parse_url(longurl, &p),
	    "user name or password longer than 255 bytes");
	longurl[11 + 255] = '@';
	longurl[11 + 256] = 'h';
	longurl[11 + 257] = '\0';
	CHECK(socks_parse_url(longurl, &p) == NULL && strlen(p.pass) == 255);
}

static void
test_messages(void)
{
	static const unsigned char hello_auth[] = {5, 2, 0, 2};
	static const unsigned char auth[] = {1, 2, 'm', 'e', 3, 's', '3', 'c'};
	static const unsigned char conn_name[] = {5, 1, 0, 3, 4, 'm', 'x', '.',
	    't', 0x02, 0x4b};
	static const unsigned char conn_v4[] = {5, 1, 0, 1, 127, 0, 0, 1, 0,
	    25};
	static const unsigned char ip[4] = {127, 0, 0, 1};
	unsigned char out[SOCKS_MAX_MSG], in[5];
	struct socks_proxy p;
	const char *why;
	int a;

	CHECK(socks_parse_url("socks5h://me:s3c@h:1", &p) == NULL);
	CHECK(socks_hello(&p, out) == 4 && memcmp(out, hello_auth, 4) == 0);
	CHECK(socks_auth(&p, out) == sizeof(auth) &&
	      memcmp(out, auth, sizeof(auth)) == 0);
	CHECK(
	    socks_hello_reply(&p, (const unsigned char *)"\5\2", &a) == NULL &&
	    a == 1);
	CHECK(
	    socks_hello_reply(&p, (const unsigned char *)"\5\0", &a) == NULL &&
	    a == 0);
	CHECK_STR(socks_hello_reply(&p, (const unsigned char *)"\5\377", &a),
	    "the proxy accepts none of our authentication methods");
	CHECK_STR(socks_hello_reply(&p, (const unsigned char *)"\4\0", &a),
	    "not a SOCKS5 proxy");
	CHECK_STR(socks_hello_reply(&p, (const unsigned char *)"\5\1", &a),
	    "the proxy chose a method we did not offer");
	socks_proxy_wipe(&p);
	CHECK(socks_parse_url("socks5://h", &p) == NULL);
	CHECK(socks_hello(&p, out) == 3 && out[1] == 1 && out[2] == 0);
	CHECK_STR(socks_hello_reply(&p, (const unsigned char *)"\5\2", &a),
	    "the proxy wants a user name and password");
	CHECK(socks_auth_reply((const unsigned char *)"\1\0") == NULL);
	CHECK_STR(socks_auth_reply((const unsigned char *)"\1\1"),
	    "the proxy refused the user name or password");
	CHECK(socks_connect("mx.t", NULL, 0, 587, out) == sizeof(conn_name) &&
	      memcmp(out, conn_name, sizeof(conn_name)) == 0);
	CHECK(socks_connect("x", ip, 4, 25, out) == sizeof(conn_v4) &&
	      memcmp(out, conn_v4, sizeof(conn_v4)) == 0);
	CHECK(socks_connect("", NULL, 0, 25, out) == 0);
	memcpy(in, "\5\0\0\1\177", 5);
	CHECK(socks_connect_reply(in, &why) == 10 && why == NULL);
	memcpy(in, "\5\0\0\4\0", 5);
	CHECK(socks_connect_reply(in, &why) == 22);
	memcpy(in, "\5\0\0\3\7", 5);
	CHECK(socks_connect_reply(in, &why) == 14);
	memcpy(in, "\5\0\0\3\0", 5);
	CHECK(socks_connect_reply(in, &why) == 0);
	CHECK_STR(why, "malformed reply from the proxy");
	memcpy(in, "\5\5\0\1\0", 5);
	CHECK(socks_connect_reply(in, &why) == 0);
	CHECK_STR(why, "connection refused");
	memcpy(in, "\5\77\0\1\0", 5);
	CHECK(socks_connect_reply(in, &why) == 0);
	CHECK_STR(why, "the proxy refused the connection");
	memcpy(in, "\5\0\0\2\0", 5);
	CHECK(socks_connect_reply(in, &why) == 0);
	memcpy(in, "\4\0\0\1\0", 5);
	CHECK(socks_connect_reply(in, &why) == 0);
}

static void
test_http(void)
{
	struct socks_proxy p;
	char out[SOCKS_HTTP_MAX], why[96];
	const char *r;
	size_t n;
	int code;

	CHECK(socks_parse_url("http-connect://Aladdin:open%20sesame@h:3128",
		  &p) == NULL);
	n = socks_http_request(&p, "mx.example", 587, out);
	/* RFC 7617 2's example credentials. */
	CHECK_STR(out, "CONNECT mx.example:587 HTTP/1.1\r\n"
		       "Host: mx.example:587\r\n"
		       "Proxy-Authorization: Basic "
		       "QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
	CHECK(n == strlen(out));
	CHECK(socks_http_request(&p, "mx\r\nX: y", 25, out) == 0);
	socks_proxy_wipe(&p);
	CHECK(socks_parse_url("http-connect://h", &p) == NULL);
	socks_http_request(&p, "2001:db8::1", 465, out);
	CHECK_STR(out, "CONNECT [2001:db8::1]:465 HTTP/1.1\r\n"
		       "Host: [2001:db8::1]:465\r\n\r\n");
	r = "HTTP/1.1 200 Connection established\r\n\r\n";
	CHECK(socks_http_reply(r, strlen(r), &code, why, sizeof(why)) == NULL &&
	      code == 200);
	r = "HTTP/1.0 407 Proxy Authentication Required\r\nX: \033\r\n\r\n";
	CHECK_STR(socks_http_reply(r, strlen(r), &code, why, sizeof(why)),
	    "407 Proxy Authentication Required");
	CHECK(code == 407);
	r = "HTTP/1.1 403 \033[1mno\r\n\r\n";
	CHECK_STR(socks_http_reply(r, strlen(r), &code, why, sizeof(why)),
	    "403 ?[1mno");
	r = "HTTP/2 200 ok\r\n\r\n";
	CHECK_STR(socks_http_reply(r, strlen(r), &code, why, sizeof(why)),
	    "malformed reply from the HTTP proxy");
	CHECK(code == 0);
	r = "HTTP/1.1 2000 ok\r\n\r\n";
	CHECK(socks_http_reply(r, strlen(r), &code, why, sizeof(why)) != NULL &&
	      code == 0);
	CHECK(socks_http_reply("HTTP/1.1 20", 11, &code, why, 4) != NULL);
}

int
main(void)
{
	test_urls();
	test_messages();
	test_http();
	return check_done();
}
