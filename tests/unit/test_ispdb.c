/*
 * Unit tests for ispdb.c: autoconfig documents (ISP database format) to
 * outgoing servers, their bounds and refusals, the server choice and the
 * username placeholders.
 */
#include <string.h>

#include "buf.h"
#include "check.h"
#include "ispdb.h"

static const char good[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<clientConfig version=\"1.1\">\n"
    " <emailProvider id=\"example.test\">\n"
    "  <domain>example.test</domain>\n"
    "  <incomingServer type=\"imap\">\n"
    "   <hostname>imap.example.test</hostname><port>993</port>\n"
    "   <socketType>SSL</socketType>\n"
    "  </incomingServer>\n"
    "  <outgoingServer type=\"smtp\">\n"
    "   <hostname>plain.example.test</hostname><port>25</port>\n"
    "   <socketType>plain</socketType>\n"
    "   <authentication>password-cleartext</authentication>\n"
    "  </outgoingServer>\n"
    "  <outgoingServer type=\"smtp\">\n"
    "   <hostname>smtp.example.test</hostname><port>587</port>\n"
    "   <socketType>STARTTLS</socketType>\n"
    "   <authentication>password-cleartext</authentication>\n"
    "   <username>%EMAILLOCALPART%</username>\n"
    "  </outgoingServer>\n"
    "  <outgoingServer type=\"smtp\">\n"
    "   <hostname>\n    smtps.example.test\n   </hostname>\n"
    "   <port>465</port>\n"
    "   <socketType>SSL</socketType>\n"
    "   <authentication>OAuth2</authentication>\n"
    "   <authentication>password-encrypted</authentication>\n"
    "   <username>%EMAILADDRESS%</username>\n"
    "  </outgoingServer>\n"
    " </emailProvider>\n"
    "</clientConfig>\n";

static void
test_good(void)
{
	struct ispdb db;
	struct err e = {0};
	const struct ispdb_server *s;

	CHECK(ispdb_parse(good, strlen(good), &db, &e) == 0);
	CHECK(db.nout == 3);
	CHECK_STR(db.out[0].host, "plain.example.test");
	CHECK(db.out[0].sock == ISPDB_PLAIN && db.out[0].port == 25);
	CHECK(db.out[1].sock == ISPDB_STARTTLS && db.out[1].port == 587);
	CHECK(db.out[1].auth == ISPDB_AUTH_CLEARTEXT);
	CHECK_STR(db.out[1].user, "%EMAILLOCALPART%");
	CHECK_STR(db.out[2].host, "smtps.example.test"); /* trimmed */
	CHECK(db.out[2].auth == (ISPDB_AUTH_OAUTH2 | ISPDB_AUTH_ENCRYPTED));
	s = ispdb_choose(&db);
	CHECK(s == &db.out[2]); /* implicit TLS first */
	db.out[2].sock = ISPDB_PLAIN;
	CHECK(ispdb_choose(&db) == &db.out[1]);
	db.out[1].sock = ISPDB_PLAIN;
	CHECK(ispdb_choose(&db) == NULL); /* plaintext only */
}

#define HEAD "<clientConfig><emailProvider id=\"x\">"
#define TAIL "</emailProvider></clientConfig>"
#define OUT(h, p, s)                                                           \
	"<outgoingServer type=\"smtp\"><hostname>" h "</hostname><port>" p     \
	"</port><socketType>" s "</socketType></outgoingServer>"

static const struct {
	const char *xml, *why;
} bad[] = {
    {"", "autoconfig: malformed XML at line 1: no element found"},
    {HEAD, "autoconfig: malformed XML at line 1: no element found"},
    {"<clientConfig><a></b></clientConfig>",
	"autoconfig: malformed XML at line 1: mismatched tag"},
    {"<html></html>", "autoconfig: not a clientConfig document at line 1"},
    {"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><clientConfig/>",
	"autoconfig: a DOCTYPE (refused: no entities) at line 1"},
    {HEAD OUT("smtp..x", "465", "SSL") TAIL,
	"autoconfig: bad hostname at line 1"},
    {HEAD OUT("smtp x", "465", "SSL") TAIL,
	"autoconfig: bad hostname at line 1"},
    {HEAD OUT("smtp.x", "0", "SSL") TAIL, "autoconfig: bad port at line 1"},
    {HEAD OUT("smtp.x", "65536", "SSL") TAIL, "autoconfig: bad port at line 1"},
    {HEAD OUT("smtp.x", "465", "TLS1") TAIL,
	"autoconfig: bad socketType at line 1"},
    {HEAD
	"<outgoingServer type=\"smtp\"><port>465</port></outgoingServer>" TAIL,
	"autoconfig: an outgoing server without hostname, port or socketType "
	"at line 1"},
};

static void
test_bad(void)
{
	struct ispdb db;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		CHECK(
		    ispdb_parse(bad[i].xml, strlen(bad[i].xml), &db, &e) == -1);
		CHECK(e.kind == ERR_DATA && db.nout == 0);
		CHECK_STR(e.text, bad[i].why);
	}
}

static void
test_bounds(void)
{
	static char big[ISPDB_MAX_XML + 2];
	struct ispdb db;
	struct err e = {0};
	struct buf b;
	size_t i;

	/* larger than the cap: refused before parsing */
	memset(big, ' ', sizeof(big) - 1);
	CHECK(ispdb_parse(big, sizeof(big) - 1, &db, &e) == -1);
	CHECK_STR(e.text, "autoconfig: document larger than 65536 bytes");
	/* a value of 256 bytes */
	buf_init(&b, 4096);
	CHECK(buf_addstr(&b, HEAD "<outgoingServer type=\"smtp\"><username>") ==
	      0);
	for (i = 0; i < 256; i++)
		CHECK(buf_addch(&b, 'u') == 0);
	CHECK(buf_addstr(&b, "</username></outgoingServer>" TAIL) == 0);
	CHECK(ispdb_parse(b.data, b.len, &db, &e) == -1);
	CHECK_STR(e.text,
	    "autoconfig: a value longer than 255 bytes at line 1");
	buf_reset(&b);
	/* nesting */
	buf_init(&b, 4096);
	for (i = 0; i < ISPDB_MAX_DEPTH + 1; i++)
		CHECK(buf_addstr(&b, i == 0 ? "<clientConfig>" : "<a>") == 0);
	CHECK(ispdb_parse(b.data, b.len, &db, &e) == -1);
	CHECK_STR(e.text, "autoconfig: elements nested too deeply at line 1");
	buf_reset(&b);
	/* too many servers */
	buf_init(&b, 8192);
	CHECK(buf_addstr(&b, HEAD) == 0);
	for (i = 0; i < ISPDB_MAX_SERVERS + 1; i++)
		CHECK(buf_addstr(&b, OUT("s.x", "465", "SSL")) == 0);
	CHECK(buf_addstr(&b, TAIL) == 0);
	CHECK(ispdb_parse(b.data, b.len, &db, &e) == -1);
	CHECK_STR(e.text, "autoconfig: too many outgoing servers at line 1");
	buf_reset(&b);
	/* no outgoing server: parsed, none found */
	CHECK(ispdb_parse(HEAD TAIL, strlen(HEAD TAIL), &db, &e) == 0);
	CHECK(db.nout == 0 && ispdb_choose(&db) == NULL);
}

static void
test_user(void)
{
	char out[64];

	CHECK(ispdb_user("%EMAILADDRESS%", "jo@example.test", out,
		  sizeof(out)) == 0);
	CHECK_STR(out, "jo@example.test");
	CHECK(ispdb_user("%EMAILLOCALPART%", "jo@example.test", out,
		  sizeof(out)) == 0);
	CHECK_STR(out, "jo");
	CHECK(ispdb_user("u-%EMAILLOCALPART%+%EMAILDOMAIN%", "jo@example.test",
		  out, sizeof(out)) == 0);
	CHECK_STR(out, "u-jo+example.test");
	CHECK(ispdb_user("%REALNAME%", "jo@example.test", out, sizeof(out)) ==
	      -1);
	CHECK(ispdb_user("50%", "jo@example.test", out, sizeof(out)) == -1);
	CHECK(ispdb_user("%EMAILADDRESS%", "jo@example.test", out, 8) == -1);
	CHECK(ispdb_user("x", "no-at", out, sizeof(out)) == -1);
}

static void
test_account(void)
{
	struct ispdb_server s;
	struct err e = {0};
	struct buf b;

	memset(&s, 0, sizeof(s));
	strcpy(s.host, "smtps.example.test");
	s.port = 465;
	s.sock = ISPDB_TLS;
	s.auth = ISPDB_AUTH_CLEARTEXT | ISPDB_AUTH_OAUTH2;
	strcpy(s.user, "%EMAILLOCALPART%");
	buf_init(&b, 4096);
	CHECK(
	    ispdb_account(&s, "jo@example.test", "example.test", &b, &e) == 0);
	CHECK_STR(b.data,
	    "account example.test\n"
	    "from \"jo@example.test\"\n"
	    "host smtps.example.test\nport 465\n"
	    "tls on\ntls_starttls off\n"
	    "auth on\nuser \"jo\"\n"
	    "# The provider offers OAuth2: see oauth2_provider in "
	    "postseal.conf(5).\n"
	    "# No password is written: add one, e.g.\n"
	    "# passwordeval \"pass show mail/account\"\n");
	buf_clear(&b);
	s.sock = ISPDB_STARTTLS;
	s.port = 587;
	s.auth = ISPDB_AUTH_NONE;
	CHECK(ispdb_account(&s, "jo@example.test", "x", &b, &e) == 0);
	CHECK_STR(b.data, "account x\nfrom \"jo@example.test\"\n"
			  "host smtps.example.test\nport 587\n"
			  "tls on\ntls_starttls on\nauth off\n");
	buf_clear(&b);
	s.auth = ISPDB_AUTH_OTHER;
	CHECK(ispdb_account(&s, "jo@example.test", "x", &b, &e) == -1);
	CHECK_STR(e.text, "autoconfig: smtps.example.test:587 offers no "
			  "authentication postseal supports (NTLM, GSSAPI or "
			  "client certificates only)");
	s.auth = 0;
	strcpy(s.user, "%REALNAME%");
	CHECK(ispdb_account(&s, "jo@example.test", "x", &b, &e) == -1);
	CHECK_STR(e.text,
	    "autoconfig: username template \"%REALNAME%\" not understood");
	s.sock = ISPDB_PLAIN;
	s.port = 25;
	CHECK(ispdb_account(&s, "jo@example.test", "x", &b, &e) == -1);
	CHECK_STR(e.text, "autoconfig: smtps.example.test:25 offers only "
			  "plaintext, which postseal never uses");
	buf_reset(&b);
}

int
main(void)
{
	test_good();
	test_bad();
	test_bounds();
	test_user();
	test_account();
	return check_done();
}
