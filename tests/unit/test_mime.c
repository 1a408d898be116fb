/*
 * Unit tests for mime.c: attachment names (filename=, name=, RFC 2231
 * filename*=), nested multiparts, message/rfc822, names inside a zip
 * archive's central directory, HTML links whose text shows another host,
 * quoted-printable and base64 parts, and the bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "mime.h"

static struct mime_scan s;

static void
scan(const char *ct, const char *cte, const char *body)
{
	mime_scan(ct, cte, body, strlen(body), &s);
}

static void
test_names(void)
{
	scan("multipart/mixed; boundary=\"b1\"", NULL,
	    "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
	    "--b1\r\nContent-Type: application/octet-stream; name=\"a.exe\"\r\n"
	    "\r\nMZ\r\n--b1\r\nContent-Disposition: attachment;\r\n "
	    "filename*=utf-8''r%C3%A9sum%C3%A9.docm\r\n\r\nPK\r\n"
	    "--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
	    "--b2\r\nContent-Type: text/plain; name=inner.js\r\n\r\nx\r\n"
	    "--b2--\r\n--b1--\r\nepilogue\r\n");
	CHECK(s.nnames == 3);
	CHECK_STR(s.names[0].name, "a.exe");
	CHECK_STR(s.names[1].name, "r%C3%A9sum%C3%A9.docm");
	CHECK_STR(s.names[2].name, "inner.js");
	CHECK(!s.limited);
	scan("message/rfc822", NULL,
	    "Content-Type: text/plain; name=\"fwd.vbs\"\r\n\r\nx\r\n");
	CHECK(s.nnames == 1 && strcmp(s.names[0].name, "fwd.vbs") == 0);
}

/* A zip with entries readme.txt and bin/run.exe (stored, no data). */
static void
test_zip(void)
{
	static const unsigned char zip[] = {/* central directory entry 1 at 0 */
	    0x50, 0x4b, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 'r', 'e', 'a', 'd', 'm', 'e', '.', 't', 'x', 't',
	    /* entry 2 at 56 */
	    0x50, 0x4b, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 'b', 'i', 'n', '/', 'r', 'u', 'n', '.', 'e', 'x',
	    'e',
	    /* end of central directory: 2 entries at offset 0 */
	    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 2, 0, 2, 0, 113, 0, 0, 0, 0, 0,
	    0, 0, 0, 0};
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char bad[sizeof(zip)];
	struct buf body;
	size_t i;
	unsigned v;

	buf_init(&body, 4096);
	buf_addstr(&body, "--z\r\nContent-Type: application/zip; name=a.zip\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n");
	for (i = 0; i < sizeof(zip); i += 3) {
		v = (unsigned)zip[i] << 16 |
		    (i + 1 < sizeof(zip) ? (unsigned)zip[i + 1] << 8 : 0) |
		    (i + 2 < sizeof(zip) ? zip[i + 2] : 0);
		buf_addch(&body, b64[v >> 18 & 63]);
		buf_addch(&body, b64[v >> 12 & 63]);
		buf_addch(&body, i + 1 < sizeof(zip) ? b64[v >> 6 & 63] : '=');
		buf_addch(&body, i + 2 < sizeof(zip) ? b64[v & 63] : '=');
		if (i % 57 == 54)
			buf_addstr(&body, "\r\n");
	}
	buf_addstr(&body, "\r\n--z--\r\n");
	scan("multipart/mixed; boundary=z", NULL, body.data);
	CHECK(s.nnames == 3);
	CHECK_STR(s.names[0].name, "a.zip");
	CHECK_STR(s.names[1].name, "readme.txt");
	CHECK_STR(s.names[1].archive, "a.zip");
	CHECK_STR(s.names[2].name, "bin/run.exe");
	/* cut short: the directory is not read past the end */
	mime_scan("application/zip", NULL, (const char *)zip, sizeof(zip) - 30,
	    &s);
	CHECK(s.nnames == 0);
	memcpy(bad, zip, sizeof(zip));
	bad[sizeof(zip) - 6] = 200; /* the directory offset points outside */
	mime_scan("application/zip", NULL, (const char *)bad, sizeof(bad), &s);
	CHECK(s.nnames == 0);
	bad[sizeof(zip) - 6] = 56; /* at entry 2, then the end record */
	mime_scan("application/zip", NULL, (const char *)bad, sizeof(bad), &s);
	CHECK(s.nnames == 1 && strcmp(s.names[0].name, "bin/run.exe") == 0);
	buf_reset(&body);
}

static void
test_links(void)
{
	scan("text/html", "quoted-printable",
	    "<a href=3D\"https://login.evil.test/x\">https://www.bank.com/=\r\n"
	    "login</a> <A HREF='http://ok.test/'>ok.test</A>\r\n"
	    "<a href=\"https://a.test/\"><b>Click</b> here</a>\r\n"
	    "<a href=https://user@b.test:8080/p>see c.example.com now</a>");
	CHECK(s.nlinks == 2);
	CHECK_STR(s.links[0].href_host, "login.evil.test");
	CHECK_STR(s.links[0].text_host, "www.bank.com");
	CHECK_STR(s.links[1].href_host, "b.test");
	CHECK_STR(s.links[1].text_host, "c.example.com");
	scan("text/html", NULL, "<a href=\"mailto:x@y.test\">z.test</a><a");
	CHECK(s.nlinks == 0);
	scan("text/plain", NULL, "<a href=\"https://x.test\">y.test</a>");
	CHECK(s.nlinks == 0); /* only HTML parts */
}

static void
test_bounds(void)
{
	struct buf b;
	int i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < MIME_MAX_DEPTH + 4; i++)
		buf_printf(&b,
		    "--d%d\r\nContent-Type: multipart/mixed; "
		    "boundary=d%d\r\n\r\n",
		    i, i + 1);
	scan("multipart/mixed; boundary=d0", NULL, b.data);
	CHECK(s.limited);
	buf_clear(&b);
	for (i = 0; i < MIME_MAX_PARTS + 10; i++)
		buf_printf(&b,
		    "--p\r\nContent-Type: text/plain; "
		    "name=f%d.txt\r\n\r\nx\r\n",
		    i);
	scan("multipart/mixed; boundary=p", NULL, b.data);
	CHECK(s.limited && s.nnames == MIME_MAX_NAMES);
	scan("multipart/mixed", NULL, "--x\r\n\r\n"); /* no boundary */
	CHECK(s.nnames == 0 && !s.limited);
	buf_reset(&b);
}

int
main(void)
{
	test_names();
	test_zip();
	test_links();
	test_bounds();
	return check_done();
}
