/*
 * Unit tests for config.c: files are written into a mkdtemp() directory
 * and loaded; tables of (file, expected error) cover the hostile cases.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "log.h"

static char dir[64];

/* Write content (n bytes; strlen if n is 0) to dir/name with mode. */
static char *
put(const char *name, const char *content, size_t n, mode_t mode)
{
	char *path = xcalloc(1, strlen(dir) + strlen(name) + 2);
	int fd;

	memcpy(path, dir, strlen(dir));
	path[strlen(dir)] = '/';
	memcpy(path + strlen(dir) + 1, name, strlen(name));
	if (n == 0)
		n = strlen(content);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, content, n) != (ssize_t)n || close(fd) == -1)
		fatal("cannot write %s: %s", path, strerror(errno));
	if (chmod(path, mode) == -1)
		fatal("chmod %s: %s", path, strerror(errno));
	return path;
}

static char *
subdir(const char *name)
{
	char *path = xcalloc(1, strlen(dir) + strlen(name) + 2);

	memcpy(path, dir, strlen(dir));
	path[strlen(dir)] = '/';
	memcpy(path + strlen(dir) + 1, name, strlen(name));
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s: %s", path, strerror(errno));
	return path;
}

/* Load content as dir/t.conf; NULL and e filled on error. */
static struct config *
load_text(const char *content, struct err *e)
{
	struct config *c = NULL;
	char *path = put("t.conf", content, 0, 0600);

	memset(e, 0, sizeof(*e));
	if (config_load(path, &c, e) == -1)
		c = NULL;
	free(path);
	return c;
}

static const struct account *
get_acct(const struct config *c, const char *name)
{
	struct err e;

	return config_find(c, name, NULL, &e);
}

/* ---- the msmtp documentation's examples, unchanged ---- */

static const char msmtprc[] =
    "# Set default values for all following accounts.\n"
    "defaults\n"
    "auth           on\n"
    "tls            on\n"
    "tls_trust_file /etc/ssl/certs/ca-certificates.crt\n"
    "logfile        ~/.msmtp.log\n"
    "\n"
    "# Gmail\n"
    "account        gmail\n"
    "host           smtp.gmail.com\n"
    "port           587\n"
    "from           username@gmail.com\n"
    "user           username\n"
    "passwordeval   \"gpg --quiet --for-your-eyes-only --no-tty --decrypt "
    "~/.msmtp-gmail.gpg\"\n"
    "\n"
    "# A freemail service\n"
    "account        freemail\n"
    "host           smtp.freemail.example\n"
    "from           joe_smith@freemail.example\n"
    "user           joe.smith\n"
    "password       secret123\n"
    "\n"
    "# A second mail address at the same freemail service\n"
    "account freemail2 : freemail\n"
    "from joey@freemail.example\n"
    "\n"
    "# The SMTP server of your ISP\n"
    "account isp\n"
    "host mail.isp.example\n"
    "from smithjoe@isp.example\n"
    "auth on\n"
    "user 12345\n"
    "tls_starttls on\n"
    "\n"
    "# Set a default account\n"
    "account default : gmail\n";

static void
test_msmtprc(void)
{
	const struct account *a;
	struct config *c;
	struct err e;
	char *path = put("msmtprc", msmtprc, 0, 0600);

	CHECK(config_load(path, &c, &e) == 0);
	if (c == NULL)
		return;
	CHECK(c->naccounts == 5);
	CHECK_STR(c->main_file, path);
	a = get_acct(c, "gmail");
	CHECK(a != NULL && a->nhosts == 1);
	CHECK_STR(a->hosts[0], "smtp.gmail.com");
	CHECK(a->port == 587 && a->tls == 1 && a->tls_starttls == 1);
	CHECK(a->tls_certcheck == 1);
	CHECK_STR(a->tls_trust_file, "/etc/ssl/certs/ca-certificates.crt");
	CHECK_STR(a->auth, "on");
	CHECK_STR(a->passwordeval, "gpg --quiet --for-your-eyes-only --no-tty "
				   "--decrypt ~/.msmtp-gmail.gpg");
	CHECK(a->password == NULL);
	CHECK(a->logfile != NULL && a->logfile[0] == '/' &&
	      strstr(a->logfile, "/.msmtp.log") != NULL);
	CHECK_STR(a->file, path);
	CHECK(a->line == 9);
	/* freemail: no port, so implicit TLS on 465; freemail2 inherits. */
	a = get_acct(c, "freemail2");
	CHECK(a != NULL && a->port == 465 && a->tls_starttls == 0);
	CHECK_STR(a->hosts[0], "smtp.freemail.example");
	CHECK_STR(a->from, "joey@freemail.example");
	CHECK_STR(a->password, "secret123");
	a = get_acct(c, "isp");
	CHECK(a != NULL && a->port == 587 && a->tls_starttls == 1);
	/* default : gmail */
	CHECK(c->deflt != NULL);
	a = config_find(c, NULL, NULL, &e);
	CHECK(a != NULL && a == c->deflt);
	CHECK(a != NULL && strcmp(a->hosts[0], "smtp.gmail.com") == 0);
	CHECK_STR(a->from, "username@gmail.com");
	config_free(c);
	free(path);
}

/* ---- inheritance and defaults ---- */

static void
test_inheritance(void)
{
	const struct account *a;
	struct config *c;
	struct err e;

	c = load_text("defaults\n"
		      "timeout 30\n"
		      "host d1, d2\n"
		      "account base\n"
		      "  port 2525\n"
		      "  user u\n"
		      "defaults\n"
		      "domain later.example\n"
		      "account child : base\n"
		      "  host c1\n"
		      "  host c2\n"
		      "account two : child, base\n"
		      "  timeout 45\n"
		      "account fwd : later\n"
		      "account later\n"
		      "  host l.example\n"
		      "  tls off\n",
	    &e);
	CHECK(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "  %s\n", e.text);
		return;
	}
	a = get_acct(c, "base");
	CHECK(a->timeout == 30 && a->port == 2525 && a->nhosts == 2);
	CHECK_STR(a->hosts[1], "d2");
	CHECK_STR(a->auth, "on"); /* user set */
	CHECK(a->domain != NULL && strcmp(a->domain, "later.example") != 0);
	/* child's own host lines replace the inherited list, and append. */
	a = get_acct(c, "child");
	CHECK(a->nhosts == 2 && a->port == 2525 && a->timeout == 30);
	CHECK_STR(a->hosts[0], "c1");
	CHECK_STR(a->hosts[1], "c2");
	CHECK_STR(a->domain, "later.example");
	CHECK_STR(a->user, "u");
	/* later parents win: two = child then base: base's hosts. */
	a = get_acct(c, "two");
	CHECK(a->nhosts == 2 && a->timeout == 45);
	CHECK_STR(a->hosts[0], "d1");
	/* a parent defined further down is fine */
	a = get_acct(c, "fwd");
	CHECK(a != NULL && a->tls == 0 && a->port == 25);
	CHECK_STR(a->hosts[0], "l.example");
	CHECK_STR(a->auth, "off");
	config_free(c);
}

static void
test_defaults(void)
{
	const struct account *a;
	struct config *c;
	struct err e;

	c = load_text("account a\nhost h\n"
		      "account s\nhost h\ntls_starttls on\n"
		      "account p\nhost h\nport 465\n",
	    &e);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	a = get_acct(c, "a");
	CHECK(a->tls == 1 && a->tls_certcheck == 1 && a->tls_starttls == 0);
	CHECK(a->port == 465 && a->timeout == 60);
	CHECK_STR(a->auth, "off");
	CHECK(a->domain != NULL && a->domain[0] != '\0');
	CHECK(a->remove_bcc_headers == 1 && a->bounce_notices == 1);
	CHECK(a->undisclosed_recipients == 0 && a->aliases_headers == 0);
	CHECK(a->set_from_header == SETHDR_AUTO);
	CHECK(a->queue_backoff_min == 60 && a->queue_backoff_max == 3600);
	CHECK(a->queue_max_age == 5 * 86400);
	CHECK(a->dkim_expire == 0);
	CHECK(a->smtp_8bitmime == 1);
	CHECK(a->tls_dane == CONFIG_DANE_OFF && a->dns_trust_anchor == NULL);
	CHECK(a->rate_limit_count == 0 && a->max_message_size == 0);
	CHECK(a->tls_trust_file == NULL);
	CHECK_STR(a->syslog, "LOG_MAIL"); /* issue 9: syslog by default */
	CHECK(a->delay_warning_time == 4 * 3600);
	CHECK_STR(a->dkim_canon, "relaxed/relaxed");
	CHECK(a->dkim_on_error_send == 0);
	a = get_acct(c, "s");
	CHECK(a->tls_starttls == 1 && a->port == 587);
	a = get_acct(c, "p");
	CHECK(a->tls_starttls == 0 && a->port == 465);
	/* only one account needs no default; several do */
	config_free(c);
	c = load_text("account only\nhost h\n", &e);
	CHECK(c != NULL && config_find(c, NULL, NULL, &e) != NULL);
	config_free(c);
}

/* Every keyword, with a value different from its default. */
static const char all_keywords[] =
    "defaults\n"
    "logfile -\n"
    "account all\n"
    "host mx1.example, [192.0.2.1]\n"
    "host 2001:db8::1\n"
    "port 2465\n"
    "timeout 120\n"
    "domain client.example\n"
    "from *@example.org\n"
    "maildomain example.org\n"
    "aliases /etc/aliases\n"
    "aliases_headers on\n"
    "set_from_header on\n"
    "set_date_header off\n"
    "set_msgid_header auto\n"
    "remove_bcc_headers off\n"
    "undisclosed_recipients\n"
    "dsn_notify FAILURE,delay\n"
    "dsn_return headers\n"
    "tls on\n"
    "tls_starttls off\n"
    "tls_certcheck off\n"
    "tls_trust_file /etc/ca.pem\n"
    "tls_fingerprint "
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:"
    "89:AB:CD:EF:01:23:45:67:89\n"
    "tls_cert_file /etc/c.pem\n"
    "tls_key_file /etc/k.pem\n"
    "tls_priorities NORMAL:-VERS-TLS1.2\n"
    "tls_host_override relay.example\n"
    "tls_dane auto\n"
    "dns_trust_anchor /etc/anchor.ds\n"
    "source_ip 2001:db8::25\n"
    "auth scram-sha-256\n"
    "user me@example.org\n"
    "password \"p#ss \\\"w\\\\rd\"\n"
    "syslog local3\n"
    "dkim_domain example.org\n"
    "dkim_key s1 rsa /etc/dkim/s1.pem\n"
    "dkim_key s2 ed25519 /etc/dkim/s2.key\n"
    "dkim_canon simple/relaxed\n"
    "dkim_headers from:to:subject\n"
    "dkim_oversign from\n"
    "dkim_on_error send\n"
    "queue_dir /var/spool/ps\n"
    "queue_backoff 30s 2h\n"
    "queue_max_age 2d\n"
    "dkim_expire 7d\n"
    "smtp_8bitmime off\n"
    "rate_limit 100/hour\n"
    "bounce_notices off\n"
    "max_message_size 25m\n"
    "protocol smtp\n";

static void
test_all_keywords(void)
{
	const struct account *a;
	struct config *c;
	struct err e;

	c = load_text(all_keywords, &e);
	CHECK(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "  %s\n", e.text);
		return;
	}
	a = &c->accounts[0];
	CHECK(a->nhosts == 3);
	CHECK_STR(a->hosts[0], "mx1.example");
	CHECK_STR(a->hosts[1], "[192.0.2.1]");
	CHECK_STR(a->hosts[2], "2001:db8::1");
	CHECK(a->port == 2465 && a->timeout == 120);
	CHECK_STR(a->domain, "client.example");
	CHECK_STR(a->from, "*@example.org");
	CHECK_STR(a->maildomain, "example.org");
	CHECK_STR(a->aliases, "/etc/aliases");
	CHECK(a->aliases_headers == 1);
	CHECK(a->set_from_header == SETHDR_ON);
	CHECK(a->set_date_header == SETHDR_OFF);
	CHECK(a->set_msgid_header == SETHDR_AUTO);
	CHECK(a->remove_bcc_headers == 0 && a->undisclosed_recipients == 1);
	CHECK_STR(a->dsn_notify, "failure,delay");
	CHECK_STR(a->dsn_return, "hdrs");
	CHECK(a->tls == 1 && a->tls_starttls == 0 && a->tls_certcheck == 0);
	CHECK_STR(a->tls_trust_file, "/etc/ca.pem");
	CHECK(a->tls_fingerprint != NULL && strlen(a->tls_fingerprint) == 95);
	CHECK_STR(a->tls_cert_file, "/etc/c.pem");
	CHECK_STR(a->tls_key_file, "/etc/k.pem");
	CHECK_STR(a->tls_priorities, "NORMAL:-VERS-TLS1.2");
	CHECK_STR(a->tls_host_override, "relay.example");
	CHECK(a->tls_dane == CONFIG_DANE_AUTO);
	CHECK_STR(a->dns_trust_anchor, "/etc/anchor.ds");
	CHECK_STR(a->source_ip, "2001:db8::25");
	CHECK_STR(a->auth, "SCRAM-SHA-256");
	CHECK_STR(a->user, "me@example.org");
	CHECK_STR(a->password, "p#ss \"w\\rd");
	CHECK_STR(a->logfile, "-");
	CHECK_STR(a->syslog, "LOG_LOCAL3");
	CHECK_STR(a->dkim_domain, "example.org");
	CHECK(a->ndkim_keys == 2);
	CHECK_STR(a->dkim_keys[1].selector, "s2");
	CHECK_STR(a->dkim_keys[1].type, "ed25519");
	CHECK_STR(a->dkim_keys[1].file, "/etc/dkim/s2.key");
	CHECK_STR(a->dkim_canon, "simple/relaxed");
	CHECK_STR(a->dkim_headers, "from:to:subject");
	CHECK_STR(a->dkim_oversign, "from");
	CHECK(a->dkim_on_error_send == 1);
	CHECK_STR(a->queue_dir, "/var/spool/ps");
	CHECK(a->queue_backoff_min == 30 && a->queue_backoff_max == 7200);
	CHECK(a->queue_max_age == 2 * 86400);
	CHECK(a->dkim_expire == 7 * 86400);
	CHECK(a->smtp_8bitmime == 0);
	CHECK(a->rate_limit_count == 100 && a->rate_limit_period == 3600);
	CHECK(a->bounce_notices == 0);
	CHECK(a->max_message_size == 25ULL * 1024 * 1024);
	config_free(c);
}

/* Compatibility keywords and ones that are ignored. */
static void
test_compat(void)
{
	const struct account *a;
	struct config *c;
	struct err e;

	c = load_text("account a\nhost h\nkeepbcc on\ntls_nocertcheck\n"
		      "tls_nostarttls\nconnect_timeout 10\n"
		      "add_missing_date_header off\ntls_min_dh_prime_bits "
		      "2048\n"
		      "ntlmdomain X\nsource_ip 192.0.2.9\ntls_crl_file\n"
		      "proxy_host\nallow_from_override on\nauto_from off\n"
		      "tls_trust_file system\nsyslog\ntimeout off\n",
	    &e);
	CHECK(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "  %s\n", e.text);
		return;
	}
	a = &c->accounts[0];
	CHECK(a->remove_bcc_headers == 0 && a->tls_certcheck == 0);
	CHECK(a->tls_starttls == 0 && a->timeout == 60);
	CHECK(a->set_date_header == SETHDR_OFF);
	CHECK(a->tls_trust_file == NULL);
	CHECK_STR(a->syslog, "LOG_MAIL");
	config_free(c);
}

/* ---- errors: each names the file and line ---- */

static const struct {
	const char *text;
	const char *want; /* substring of e.text after "DIR/t.conf" */
} bad[] = {
    {"account a\nhost h\nhots x\n",
	":3: unknown keyword 'hots'; did you mean 'host'?"},
    {"account a\nhost h\npasswordevel x\n",
	":3: unknown keyword 'passwordevel'; did you mean 'passwordeval'?"},
    {"acount a\n", ":1: unknown keyword 'acount'; did you mean 'account'?"},
    {"account a\nxyzzy_frobnicate 1\n", ":2: unknown keyword 'xyzzy_"},
    {"# c\n\naccount a\n  port 0\n", ":4: port: '0' is not a port number"},
    {"account a\nport 65536\n", ":2: port: '65536' is not a port"},
    {"account a\nport 25x\n", ":2: port: '25x'"},
    {"account a\nport -1\n", ":2: port"},
    {"account a\ntimeout 0\n", ":2: timeout"},
    {"account a\ntimeout 3601\n", ":2: timeout"},
    {"account a\nfrom a@b\rRCPT TO:<x@y>\n",
	":2: carriage return (CR) in line"},
    {"account a\nhost h\x1b[2J\n", ":2: control character 0x1b"},
    {"account a\nuser \"abc\n", ":2: unterminated quoted value"},
    {"account a\nuser \"a\"b\"\n", ":2: unescaped"},
    {"host h\n", ":1: 'host' before the first 'account'"},
    {"account a\naccount a\n", ":2: account a is already defined at "},
    {"account a : a\n", ":1: account a inherits from itself"},
    {"account a : nope\nhost h\n",
	":1: account a inherits from nope, which is not defined"},
    {"account a : b\naccount b : a\n", ": inheritance loop"},
    {"account\n", ":1: account: expected a name"},
    {"account a,b\n", ":1: account: expected a name"},
    {"defaults x\n", ":1: defaults takes no value"},
    {"account a\ntls maybe\n", ":2: tls expects on or off"},
    {"account a\nauth magic\n", ":2: auth: unknown method 'magic'"},
    {"account a\nprotocol lmtp\n", ":2: protocol lmtp is not supported"},
    {"account a\ntls_crl_file /x\n", ":2: tls_crl_file is not supported"},
    {"account a\nproxy_host 127.0.0.1\n",
	":2: proxy_host is not supported: mail would bypass the proxy"},
    {"account a\neval echo host x\n", ":2: eval is not supported"},
    {"account a\nallow_from_override maybe\n",
	":2: allow_from_override expects on or off"},
    {"account a\ntls_fingerprint "
     "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\n",
	":2: tls_fingerprint: SHA-1 and MD5"},
    {"account a\ntls_fingerprint 0011\n", ":2: tls_fingerprint: expected"},
    {"account a\nhost a b\n", ":2: host: 'a b' is not a host name"},
    {"account a\nhost a,,b\n", ":2: host: '' is not a host name"},
    {"account a\nhost 1,2,3,4,5,6,7,8,9\n", ":2: host: more than 8 hosts"},
    {"account a\ndomain bad/name\n", ":2: domain: 'bad/name' is not"},
    {"account a\nfrom a b@c\n", ":2: from: the value must not contain"},
    {"account a\ndsn_notify success,never\n", ":2: dsn_notify"},
    {"account a\ndsn_notify delay,delay\n", ":2: dsn_notify"},
    {"account a\ndsn_return everything\n", ":2: dsn_return"},
    {"account a\nsyslog LOG_KERNEL\n", ":2: syslog: expected"},
    {"account a\ndkim_key s1 dsa /k\n", ":2: dkim_key: key type must be"},
    {"account a\ndkim_key s1 rsa\n", ":2: dkim_key: expected"},
    {"account a\ndkim_key s_1/x rsa /k\n", ":2: dkim_key: 's_1/x'"},
    {"account a\ndkim_domain d\ndkim_key a rsa /k\ndkim_key b rsa /k\n"
     "dkim_key c rsa /k\ndkim_key d rsa /k\ndkim_key e rsa /k\n",
	":7: dkim_key: more than 4 keys"},
    {"account a\nhost h\ndkim_key s rsa /k\n",
	":1: account a: dkim_key needs dkim_domain"},
    {"account a\nhost h\ntls_cert_file /c\n",
	":1: account a: tls_cert_file and tls_key_file go together"},
    {"account a\ndkim_canon loose\n", ":2: dkim_canon"},
    {"account a\ndkim_headers from::to\n", ":2: dkim_headers"},
    {"account a\ndkim_on_error maybe\n", ":2: dkim_on_error"},
    {"account a\nqueue_backoff 1h 1m\n", ":2: queue_backoff"},
    {"account a\nqueue_backoff 1h\n", ":2: queue_backoff"},
    {"account a\nqueue_max_age 5w\n", ":2: queue_max_age"},
    {"account a\nqueue_max_age 0\n", ":2: queue_max_age"},
    {"account a\ndkim_expire soon\n", ":2: dkim_expire"},
    {"account a\nrate_limit 10/fortnight\n", ":2: rate_limit"},
    {"account a\nrate_limit /hour\n", ":2: rate_limit"},
    {"account a\nmax_message_size 10q\n", ":2: max_message_size"},
    {"account a\nmax_message_size 99999999999999999999\n",
	":2: max_message_size"},
    {"account a\nqueue_dir\n", ":2: queue_dir needs a value"},
    {"account a\ntls_nostarttls yes\n", ":2: tls_nostarttls takes no"},
    {"account a\nsource_ip mail.example\n",
	":2: source_ip: 'mail.example' is not an IPv4 or IPv6 address"},
    {"account a\nsource_ip 10.0.0.256\n", ":2: source_ip: '10.0.0.256'"},
    {"account a\ntls_dane yes\n",
	":2: tls_dane expects on, off or auto, not 'yes'"},
    {"account a\npgp_encrypt sometimes\n",
	":2: pgp_encrypt: expected never, opportunistic or always"},
    {"account a\nsmime_encrypt yes\n", ":2: smime_encrypt: expected"},
    {"account a\ne2e_protect_headers maybe\n",
	":2: e2e_protect_headers expects on or off"},
    {"account a\nautocrypt yes\n", ":2: autocrypt expects on or off"},
    {"account a\npgp_sign a key\n", ":2: pgp_sign: the value must not"},
    {"account a\nhost h\npgp_encrypt always\nsmime_sign me@x.example\n",
	":1: account a: the OpenPGP (pgp_*) and S/MIME (smime_*) settings "
	"exclude each other"},
    {"account a\nhost h\npgp_encrypt always\nsmime_encrypt always\n",
	"settings exclude each other"},
    {"account a\nhost h\nautocrypt on\n",
	":1: account a: autocrypt needs pgp_sign"},
    {"defaults\nhost h\n", ": no account defined"},
    {"", ": no account defined"},
};

static void
test_errors(void)
{
	struct config *c;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load_text(bad[i].text, &e);
		CHECK(c == NULL);
		CHECK(e.kind == ERR_CONFIG);
		CHECK(strstr(e.text, "t.conf") != NULL);
		if (strstr(e.text, bad[i].want) == NULL) {
			check_fail++;
			fprintf(stderr, "bad[%zu]: got [%s]\n  want [%s]\n", i,
			    e.text, bad[i].want);
		} else {
			check_pass++;
		}
		config_free(c);
	}
}

static void
test_nul_and_long_lines(void)
{
	static const char nul[] = "account a\nhost h\0x\n";
	struct config *c = NULL;
	struct err e;
	struct buf b;
	char *path;
	size_t i;

	path = put("t.conf", nul, sizeof(nul) - 1, 0600);
	CHECK(config_load(path, &c, &e) == -1);
	CHECK(strstr(e.text, "t.conf:2: NUL byte") != NULL);
	free(path);

	/* A 64 KiB line (an OAuth token) is fine; one byte more is not. */
	buf_init(&b, 200000);
	buf_addstr(&b, "account a\nhost h\npassword ");
	for (i = 0; i < 65536 - strlen("password "); i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\n");
	c = load_text(b.data, &e);
	CHECK(c != NULL && strlen(c->accounts[0].password) == 65527);
	config_free(c);
	b.data[b.len - 1] = 'y';
	buf_addstr(&b, "\n");
	c = load_text(b.data, &e);
	CHECK(c == NULL && strstr(e.text, ":3: line longer than") != NULL);
	buf_reset(&b);

	/* CRLF line ends are fine, a bare CR is not */
	c = load_text("account a\r\nhost h\r\nuser u\r\n", &e);
	CHECK(c != NULL && strcmp(c->accounts[0].user, "u") == 0);
	config_free(c);
}

/* ---- accounts/ and permissions ---- */

static void
test_accounts_dir(void)
{
	const struct account *a;
	struct config *c = NULL;
	struct err e;
	char *adir = subdir("accounts"), *mainf, *f1, *f2, *f3, *f4;

	mainf = put("config",
	    "defaults\ntimeout 77\n"
	    "account default : work\n",
	    0, 0644);
	f1 = put("accounts/work.conf",
	    "account work\nhost w.example\n"
	    "user me\npassword pw1\n",
	    0, 0600);
	f2 = put("accounts/aa.conf",
	    "# first by name\naccount aa\nhost a.example\n"
	    "passwordeval echo pw2\n",
	    0, 0644);
	f3 = put("accounts/ignored.txt", "garbage\n", 0, 0644);
	f4 = put("accounts/.hidden.conf", "garbage\n", 0, 0644);
	CHECK(config_load(mainf, &c, &e) == 0);
	if (c != NULL) {
		CHECK(c->naccounts == 3);
		CHECK_STR(c->accounts[1].name, "aa"); /* sorted */
		a = get_acct(c, "work");
		CHECK(a != NULL && a->timeout == 77);
		CHECK(a != NULL && strstr(a->file, "accounts/work.conf"));
		a = config_find(c, NULL, NULL, &e);
		CHECK(a != NULL && strcmp(a->hosts[0], "w.example") == 0);
	} else {
		fprintf(stderr, "  %s\n", e.text);
	}
	config_free(c);
	c = NULL;

	/* An msmtprc passed with -C does not pick up accounts/ */
	free(f3);
	f3 = put("msmtprc", "account solo\nhost s\n", 0, 0600);
	CHECK(config_load(f3, &c, &e) == 0 && c != NULL && c->naccounts == 1);
	config_free(c);
	c = NULL;

	/* password in a file others can read: refused, naming the fix */
	chmod(f1, 0644);
	CHECK(config_load(mainf, &c, &e) == -1 && e.kind == ERR_CONFIG);
	CHECK(strstr(e.text, "accounts/work.conf: holds a password but is "
			     "readable by others; run: chmod 600 ") != NULL);
	chmod(f1, 0604);
	CHECK(config_load(mainf, &c, &e) == -1);
	chmod(f1, 0660);
	CHECK(config_load(mainf, &c, &e) == -1);
	/* group read on the user's own file: refused too */
	chmod(f1, 0640);
	if (geteuid() == 0) {
		CHECK(chown(f1, 0, 0) == 0);
		CHECK(config_load(mainf, &c, &e) == -1);
		/* 0640 root:somegroup is a deliberate group: allowed */
		CHECK(chown(f1, 0, 1) == 0);
		CHECK(config_load(mainf, &c, &e) == 0);
		config_free(c);
		c = NULL;
	} else {
		CHECK(config_load(mainf, &c, &e) == -1);
	}
	chmod(f1, 0600);
	/* any file writable by others is refused (passwordeval) */
	chmod(f2, 0646);
	CHECK(config_load(mainf, &c, &e) == -1);
	CHECK(strstr(e.text, "aa.conf: writable by group or others") != NULL);
	chmod(f2, 0644);

	/* accounts/ files: one account, no defaults */
	free(put("accounts/zz.conf", "defaults\n", 0, 0600));
	CHECK(config_load(mainf, &c, &e) == -1);
	CHECK(
	    strstr(e.text, "zz.conf:1: defaults belongs in the main") != NULL);
	free(put("accounts/zz.conf", "account z1\nhost h\naccount z2\n", 0,
	    0600));
	CHECK(config_load(mainf, &c, &e) == -1);
	CHECK(strstr(e.text, "zz.conf:3: a second account") != NULL);
	free(put("accounts/zz.conf", "# nothing\n", 0, 0600));
	CHECK(config_load(mainf, &c, &e) == -1);
	CHECK(strstr(e.text, "zz.conf: holds no account") != NULL);
	free(put("accounts/zz.conf", "account work\nhost h\n", 0, 0600));
	CHECK(config_load(mainf, &c, &e) == -1);
	CHECK(strstr(e.text, "account work is already defined at ") != NULL);
	free(put("accounts/zz.conf", "account zz\nhost h\n", 0, 0600));

	free(adir);
	free(mainf);
	free(f1);
	free(f2);
	free(f3);
	free(f4);
}

/* ---- files that can run a command or hold a secret (issue 8, item 6) */

/* Load path; the error text (or "") in e. */
static int
try_load(const char *path, struct err *e)
{
	struct config *c = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = config_load(path, &c, e);
	config_free(c);
	return r;
}

static int
has(const struct err *e, const char *a, const char *b)
{
	if (strstr(e->text, a) != NULL && (b == NULL || strstr(e->text, b)))
		return 1;
	fprintf(stderr, "  unexpected error text: %s\n", e->text);
	return 0;
}

static void
test_private_config(void)
{
	char *pd = subdir("priv"), *f, *lnk;
	struct err e;

	f = put("priv/config", "account a\nhost h\npasswordeval echo pw\n", 0,
	    0600);
	CHECK(try_load(f, &e) == 0);
	/* group write on the file: any member could add a passwordeval */
	chmod(f, 0620);
	CHECK(try_load(f, &e) == -1 && e.kind == ERR_CONFIG);
	CHECK(has(&e,
	    "priv/config: writable by group or others; run: chmod "
	    "go-w ",
	    NULL));
	chmod(f, 0664); /* no secret in it: still refused */
	free(put("priv/config", "account a\nhost h\n", 0, 0664));
	CHECK(try_load(f, &e) == -1 && has(&e, "writable by group", NULL));
	free(put("priv/config", "account a\nhost h\npasswordeval echo pw\n", 0,
	    0600));
	/* its directory writable by the group: the file could be replaced */
	chmod(pd, 0770);
	CHECK(try_load(f, &e) == -1 && e.kind == ERR_CONFIG);
	CHECK(has(&e, "is writable by group or others; run: chmod go-w ",
	    "/priv"));
	chmod(pd, 0707);
	CHECK(try_load(f, &e) == -1 && has(&e, "directory ", "/priv is"));
	/* sticky, as /tmp: nobody can replace our file */
	chmod(pd, 01777);
	CHECK(try_load(f, &e) == 0);
	chmod(pd, 0700);
	/* reached through a symlink: the real directories are checked too
	 * (plink -> priv/inner: only the real path passes through priv) */
	free(subdir("priv/inner"));
	lnk = xcalloc(1, strlen(dir) + 16);
	memcpy(lnk, dir, strlen(dir));
	memcpy(lnk + strlen(dir), "/plink", 7);
	CHECK(symlink("priv/inner", lnk) == 0);
	free(lnk);
	lnk = put("plink/config", "account a\nhost h\n", 0, 0600);
	CHECK(try_load(lnk, &e) == 0);
	chmod(pd, 0770);
	CHECK(try_load(lnk, &e) == -1 &&
	      has(&e, "/priv is writable by group or others", NULL));
	chmod(pd, 0700);
	/* another user's directory (root only: needs a second uid) */
	if (geteuid() == 0) {
		CHECK(chown(pd, 65534, 0) == 0);
		CHECK(try_load(f, &e) == -1);
		CHECK(has(&e,
		    "/priv belongs to uid 65534; it must belong to "
		    "you or root",
		    NULL));
		CHECK(chown(pd, 0, 0) == 0);
		CHECK(chown(f, 65534, 0) == 0);
		CHECK(try_load(f, &e) == -1 &&
		      has(&e, "owned by uid 65534", NULL));
		CHECK(chown(f, 0, 0) == 0);
	}
	CHECK(try_load(f, &e) == 0);
	free(lnk);
	free(f);
	free(pd);
}

static void
test_private_keys(void)
{
	char *kd = subdir("keys"), *k, *f, conf[512];
	struct stat st;
	struct err e;

	k = put("keys/client.key", "not parsed here\n", 0, 0600);
	snprintf(conf, sizeof(conf),
	    "account a\nhost h\ntls_cert_file %s\ntls_key_file %s\n", k, k);
	f = put("kconf", conf, 0, 0600);
	CHECK(try_load(f, &e) == 0);
	chmod(k, 0640); /* 0640 root:ssl-cert: group read is fine */
	CHECK(try_load(f, &e) == 0);
	chmod(k, 0660);
	CHECK(try_load(f, &e) == -1 && e.kind == ERR_CONFIG);
	CHECK(has(&e,
	    "keys/client.key: writable by group or others; run: "
	    "chmod go-w ",
	    NULL));
	chmod(k, 0604);
	CHECK(try_load(f, &e) == -1);
	CHECK(has(&e,
	    "client.key: a private key others can read; run: chmod "
	    "o-rwx ",
	    NULL));
	chmod(k, 0600);
	chmod(kd, 0775);
	CHECK(try_load(f, &e) == -1 && has(&e, "/keys is writable", NULL));
	chmod(kd, 0700);
	if (geteuid() == 0) {
		CHECK(chown(k, 65534, 0) == 0);
		CHECK(try_load(f, &e) == -1 && has(&e, "owned by uid", NULL));
		CHECK(chown(k, 0, 0) == 0);
	}
	/* the public check, with a relative name */
	CHECK(chdir(kd) == 0);
	CHECK(stat("client.key", &st) == 0);
	CHECK(config_check_private("client.key", &st, &e) == 0);
	chmod(".", 0770);
	CHECK(config_check_private("client.key", &st, &e) == -1 &&
	      has(&e, "client.key: directory ", "/keys is writable"));
	chmod(".", 0700);
	CHECK(chdir("/") == 0);
	free(f);
	free(k);
	free(kd);
}

static void
test_default_locations(void)
{
	struct config *c = NULL;
	struct err e;
	char *x = subdir("xdg"), *p = subdir("xdg/postseal"), *f;

	setenv("XDG_CONFIG_HOME", x, 1);
	f = put("xdg/postseal/config", "account x\nhost xdg.example\n", 0,
	    0600);
	CHECK(config_load(NULL, &c, &e) == 0);
	CHECK(c != NULL && strcmp(c->main_file, f) == 0);
	config_free(c);
	c = NULL;
	/* accounts/ alone is enough */
	unlink(f);
	free(subdir("xdg/postseal/accounts"));
	free(put("xdg/postseal/accounts/y.conf", "account y\nhost y\n", 0,
	    0600));
	CHECK(config_load(NULL, &c, &e) == 0);
	CHECK(c != NULL && c->main_file == NULL && c->naccounts == 1);
	config_free(c);
	c = NULL;
	/* a missing -C file is an error naming it */
	CHECK(config_load(f, &c, &e) == -1 && e.kind == ERR_CONFIG);
	CHECK(strstr(e.text, "xdg/postseal/config: No such file") != NULL);
	unsetenv("XDG_CONFIG_HOME");
	free(x);
	free(p);
	free(f);
}

/* ---- config_find ---- */

static void
test_find(void)
{
	const struct account *a;
	struct config *c;
	struct err e;

	c = load_text("account exact\nhost e\nfrom bob@example.com\n"
		      "account glob\nhost g\nfrom *@Example.ORG\n"
		      "account nohost\nfrom nohost@example.net\n"
		      "account default\nhost d\n",
	    &e);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	a = config_find(c, "glob", "bob@example.com", &e);
	CHECK(a != NULL && strcmp(a->name, "glob") == 0);
	a = config_find(c, NULL, "bob@example.com", &e);
	CHECK(a != NULL && strcmp(a->name, "exact") == 0);
	a = config_find(c, NULL, "bob@EXAMPLE.com", &e);
	CHECK(a != NULL && strcmp(a->name, "exact") == 0);
	a = config_find(c, NULL, "Bob@example.com", &e); /* local part */
	CHECK(a != NULL && strcmp(a->name, "default") == 0);
	a = config_find(c, NULL, "anyone@example.org", &e);
	CHECK(a != NULL && strcmp(a->name, "glob") == 0);
	a = config_find(c, NULL, "x@sub.example.org", &e);
	CHECK(a != NULL && strcmp(a->name, "default") == 0);
	a = config_find(c, NULL, "", &e);
	CHECK(a != NULL && strcmp(a->name, "default") == 0);
	a = config_find(c, NULL, NULL, &e);
	CHECK(a != NULL && strcmp(a->name, "default") == 0);
	a = config_find(c, "nope", NULL, &e);
	CHECK(a == NULL && e.kind == ERR_CONFIG &&
	      strstr(e.text, "no account named nope") != NULL);
	a = config_find(c, NULL, "nohost@example.net", &e);
	CHECK(a == NULL && strstr(e.text, ":7: account nohost has no host"));
	CHECK_STR(config_envelope_from(get_acct(c, "exact")),
	    "bob@example.com");
	CHECK(config_envelope_from(get_acct(c, "glob")) == NULL);
	config_free(c);

	c = load_text("account a\nhost a\naccount b\nhost b\n", &e);
	CHECK(c != NULL);
	a = config_find(c, NULL, "x@y", &e);
	CHECK(a == NULL && strstr(e.text, "account default : NAME") != NULL);
	config_free(c);
}

/* ---- passwords ---- */

static const struct {
	const char *eval;
	int ok;
	const char *want; /* the password, or a substring of the error */
} evals[] = {
    {"echo s3cret", 0, "s3cret"}, {"printf 'a b\\r\\n'", 0, "a b"},
    {"printf x", 0, "x"}, {"printf 'x\\n\\n'", -1, "more than one line"},
    {"printf 'x\\ny\\n'", -1, "more than one line"},
    {"printf 'x\\0y'", -1, "NUL byte"}, {"true", -1, "printed nothing"},
    {"false", -1, "account a: passwordeval failed with exit status 1"},
    {"echo oops >&2; echo pw; exit 3", -1, "exit status 3: oops"},
    {"/nonexistent/cmd --flag", -1, "exit status 127: cannot run "},
    {"head -c 70000 /dev/zero | tr '\\0' x", -1, "more than 65536 bytes"},
    {"kill -9 $$", -1, "killed by signal 9"},
    {"cat", -1, "printed nothing"},	       /* stdin is /dev/null */
    {"cat ~/ps-no-such-file", -1, ": cat: /"}, /* ~ expanded */
};

static void
test_password(void)
{
	struct config *c;
	struct err e;
	struct buf b;
	char *pw;
	size_t i;

	for (i = 0; i < sizeof(evals) / sizeof(evals[0]); i++) {
		buf_init(&b, 4096);
		buf_printf(&b, "account a\nhost h\npasswordeval %s\n",
		    evals[i].eval);
		c = load_text(b.data, &e);
		buf_reset(&b);
		CHECK(c != NULL);
		if (c == NULL)
			continue;
		pw = NULL;
		CHECK(config_password(&c->accounts[0], &pw, &e) == evals[i].ok);
		if (evals[i].ok == 0) {
			CHECK_STR(pw, evals[i].want);
		} else if (strstr(e.text, evals[i].want) == NULL ||
			   e.kind != ERR_CONFIG || pw != NULL) {
			check_fail++;
			fprintf(stderr, "evals[%zu]: got [%s]\n", i, e.text);
		} else {
			check_pass++;
		}
		str_wipe_free(pw);
		config_free(c);
	}
	c = load_text("account a\nhost h\npassword pw\n"
		      "account b\nhost h\n",
	    &e);
	CHECK(c != NULL);
	CHECK(config_password(&c->accounts[0], &pw, &e) == 0);
	CHECK_STR(pw, "pw");
	str_wipe_free(pw);
	CHECK(config_password(&c->accounts[1], &pw, &e) == 0 && pw == NULL);
	config_free(c);
	/* password and passwordeval: the later one wins */
	c = load_text("defaults\npasswordeval echo x\naccount a\nhost h\n"
		      "password direct\n",
	    &e);
	CHECK(c != NULL && c->accounts[0].passwordeval == NULL);
	CHECK(c != NULL && strcmp(c->accounts[0].password, "direct") == 0);
	config_free(c);
}

/* End-to-end keywords (issue 15): values, defaults, inheritance, and
 * pgp_passphrase_eval run as passwordeval is. */
static void
test_e2e(void)
{
	const struct account *a;
	struct config *c;
	struct err e;
	char *pp = NULL;

	c = load_text("defaults\ngpg_home /g\npgp_encrypt opportunistic\n"
		      "account a\nhost h\npgp_sign ABCDEF0123456789\n"
		      "pgp_encrypt always\ne2e_protect_headers on\n"
		      "autocrypt on\npgp_passphrase_eval echo 's3cret pp'\n"
		      "account b\nhost h\n"
		      "account s\nhost h\npgp_encrypt never\n"
		      "smime_sign me@example.org\nsmime_encrypt always\n",
	    &e);
	CHECK(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "  %s\n", e.text);
		return;
	}
	a = &c->accounts[0];
	CHECK_STR(a->gpg_home, "/g");
	CHECK_STR(a->pgp_sign, "ABCDEF0123456789");
	CHECK(a->pgp_encrypt == CONF_ENCRYPT_ALWAYS);
	CHECK(a->e2e_protect_headers == 1 && a->autocrypt == 1);
	CHECK(config_pgp_passphrase(a, &pp, &e) == 0);
	CHECK_STR(pp, "s3cret pp");
	str_wipe_free(pp);
	a = &c->accounts[1];
	CHECK(a->pgp_encrypt == CONF_ENCRYPT_OPPORTUNISTIC);
	CHECK(a->pgp_sign == NULL && a->smime_encrypt == CONF_ENCRYPT_NEVER);
	CHECK(a->e2e_protect_headers == 0 && a->autocrypt == 0);
	CHECK(config_pgp_passphrase(a, &pp, &e) == 0 && pp == NULL);
	a = &c->accounts[2];
	CHECK_STR(a->smime_sign, "me@example.org");
	CHECK(a->smime_encrypt == CONF_ENCRYPT_ALWAYS);
	config_free(c);
	c = load_text("account a\nhost h\npgp_passphrase_eval exit 4\n", &e);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK(config_pgp_passphrase(&c->accounts[0], &pp, &e) == -1);
		CHECK(pp == NULL && e.kind == ERR_CONFIG);
		CHECK(strstr(e.text, "pgp_passphrase_eval") != NULL);
	}
	config_free(c);
}

int
main(void)
{
	log_init("test_config");
	if (mkdtemp(memcpy(dir, "/tmp/ps-config-XXXXXX", 22)) == NULL)
		fatal("mkdtemp: %s", strerror(errno));
	test_msmtprc();
	test_inheritance();
	test_defaults();
	test_all_keywords();
	test_compat();
	test_errors();
	test_nul_and_long_lines();
	test_accounts_dir();
	test_private_config();
	test_private_keys();
	test_default_locations();
	test_find();
	test_password();
	test_e2e();
	/* the directory is small; leave it for inspection on failure */
	if (check_fail == 0) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return check_done();
}
