/*
 * Unit tests for cli.c (and log.c, which it links): a table of argv
 * vectors and the options they give, summarised as one string, or the
 * usage error they must produce.
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
#include "cli.h"
#include "err.h"
#include "log.h"

static const char *const mode_names[] = {
    [MODE_SEND] = "send",
    [MODE_VERSION] = "version",
    [MODE_HELP] = "help",
    [MODE_SERVERINFO] = "serverinfo",
    [MODE_QUEUE_RUN] = "queue-run",
    [MODE_QUEUE_LIST] = "queue-list",
    [MODE_QUEUE_DROP] = "queue-drop",
    [MODE_QUEUE_RETRY] = "queue-retry",
    [MODE_DKIM_KEYGEN] = "keygen",
    [MODE_DKIM_SIGN] = "sign",
    [MODE_DKIM_VERIFY] = "verify",
    [MODE_SMTP] = "smtp",
    [MODE_NEWALIASES] = "newaliases",
    [MODE_CHECK_DOMAIN] = "check-domain",
    [MODE_OAUTH2] = "oauth2",
    [MODE_INSPECT] = "inspect",
};

static void
add(struct buf *b, const char *key, const char *val)
{
	if (val == NULL)
		return;
	if (b->len > 0)
		buf_addch(b, ' ');
	buf_printf(b, "%s=[%s]", key, val);
}

static void
flag(struct buf *b, const char *name, int on)
{
	if (!on)
		return;
	if (b->len > 0)
		buf_addch(b, ' ');
	buf_addstr(b, name);
}

/* Everything that differs from the defaults, in a fixed order. */
static void
summarise(const struct opts *o, struct buf *b)
{
	size_t i;
	char num[32];

	if (o->mode != MODE_SEND)
		add(b, "mode", mode_names[o->mode]);
	flag(b, "t", o->read_recipients);
	flag(b, "i", o->ignore_dots);
	snprintf(num, sizeof(num), "%d", o->verbose);
	add(b, "v", o->verbose ? num : NULL);
	add(b, "f", o->sender);
	add(b, "F", o->fullname);
	add(b, "C", o->config_file);
	add(b, "a", o->account);
	add(b, "B", o->body_type);
	add(b, "N", o->dsn_notify);
	add(b, "R", o->dsn_return);
	add(b, "V", o->dsn_envid);
	add(b, "od",
	    o->deliver == DELIVER_BACKGROUND ? "b"
	    : o->deliver == DELIVER_QUEUE    ? "q"
					     : NULL);
	flag(b, "json", o->json);
	add(b, "id", o->queue_id);
	flag(b, "due", o->queue_due);
	add(b, "qR", o->queue_match_rcpt);
	add(b, "qS", o->queue_match_sender);
	add(b, "qI", o->queue_match_id);
	add(b, "type", o->dkim_type);
	snprintf(num, sizeof(num), "%u", o->dkim_bits);
	add(b, "bits", o->dkim_bits ? num : NULL);
	add(b, "domain", o->dkim_domain);
	add(b, "selector", o->dkim_selector);
	add(b, "out", o->dkim_out);
	snprintf(num, sizeof(num), "%lld", o->dkim_time);
	add(b, "time", o->dkim_time != -1 ? num : NULL);
	add(b, "headers", o->dkim_headers);
	for (i = 0; i < o->ndns_records; i++)
		add(b, "dns", o->dns_records[i]);
	add(b, "file", o->inspect_file);
	add(b, "trusted", o->inspect_trusted);
	for (i = 0; i < o->nrcpts; i++)
		add(b, "rcpt", o->rcpts[i]);
}

#define END NULL
static const struct {
	const char *argv[12]; /* argv[0] first */
	const char *want;     /* summary, or "ERR:" and part of the error */
} rows[] = {
    /* recipients */
    {{"sendmail", "a@b", END}, "rcpt=[a@b]"},
    {{"sendmail", "a@b, c@d,,  <e@f> ", "g@h", END},
	"rcpt=[a@b] rcpt=[c@d] rcpt=[e@f] rcpt=[g@h]"},
    {{"sendmail", "--", "-odd@b", "-t", END}, "rcpt=[-odd@b] rcpt=[-t]"},
    {{"sendmail", "a@b", "-f", "x@y", "-i", END},
	"i f=[x@y] rcpt=[a@b]"}, /* options after recipients */
    {{"sendmail", "a@b\r\nRCPT TO:<evil@x>", END},
	"ERR:recipient contains CR or LF"},
    {{"sendmail", "a@b,c\n", END}, "ERR:recipient contains CR or LF"},
    {{"sendmail", END}, "ERR:no recipients given"},
    {{"sendmail", ",", " ", END}, "ERR:no recipients given"},
    {{"sendmail", "-", END}, "ERR:unexpected argument '-'"},
    /* -t, -i, -oi, grouping, -v */
    {{"sendmail", "-t", END}, "t"},
    {{"sendmail", "-ti", END}, "t i"},
    {{"sendmail", "-t", "-oi", "x@y", END}, "t i rcpt=[x@y]"},
    {{"sendmail", "-vv", "-t", "-v", END}, "t v=[3]"},
    {{"sendmail", "-tif", "s@x", END}, "t i f=[s@x]"},
    {{"sendmail", "-tfs@x", END}, "t f=[s@x]"},
    {{"sendmail", "-tZ", END}, "ERR:unknown option -Z in -tZ"},
    /* -f / -r and the null sender */
    {{"sendmail", "-f", "a@b", "-t", END}, "t f=[a@b]"},
    {{"sendmail", "-fa@b", "-t", END}, "t f=[a@b]"},
    {{"sendmail", "-r", "a@b", "-t", END}, "t f=[a@b]"},
    {{"sendmail", "-ra@b", "-t", END}, "t f=[a@b]"},
    {{"sendmail", "-f", "", "-t", END}, "t f=[]"},
    {{"sendmail", "-f", "<>", "-t", END}, "t f=[]"},
    {{"sendmail", "-f<>", "-t", END}, "t f=[]"},
    {{"sendmail", "-f", "<a@b>", "-t", END}, "t f=[a@b]"},
    {{"sendmail", "-f", "<a@b", "-t", END}, "t f=[<a@b]"},
    {{"sendmail", "-f", "x@y", "-f", "z@w", "-t", END}, "t f=[z@w]"},
    {{"sendmail", "-f", "a@b\nRCPT TO:<x@y>", "-t", END},
	"ERR:-f: the sender contains CR or LF"},
    {{"sendmail", "-r", "a@b\r", "-t", END},
	"ERR:-r: the sender contains CR or LF"},
    {{"sendmail", "-t", "-f", END}, "ERR:-f needs an argument"},
    /* -F */
    {{"sendmail", "-F", "Joe Bloggs", "-t", END}, "t F=[Joe Bloggs]"},
    {{"sendmail", "-FJoe Bloggs", "-t", END}, "t F=[Joe Bloggs]"},
    {{"sendmail", "-F", "Joe\r\nBcc: x@y", "-t", END},
	"ERR:-F: the full name contains CR or LF"},
    /* -B, -N, -R, -V */
    {{"sendmail", "-B", "8bitmime", "-t", END}, "t B=[8BITMIME]"},
    {{"sendmail", "-B7BIT", "-t", END}, "t B=[7BIT]"},
    {{"sendmail", "-B", "binarymime", "-t", END},
	"ERR:-B: expected 7BIT or 8BITMIME"},
    {{"sendmail", "-N", "never", "-t", END}, "t N=[never]"},
    {{"sendmail", "-N", "Delay,SUCCESS", "-t", END}, "t N=[success,delay]"},
    {{"sendmail", "-Nfailure,delay,success", "-t", END},
	"t N=[success,failure,delay]"},
    {{"sendmail", "-N", "never,success", "-t", END}, "ERR:-N: expected"},
    {{"sendmail", "-N", "success,success", "-t", END}, "ERR:-N: expected"},
    {{"sendmail", "-N", "", "-t", END}, "ERR:-N: expected"},
    {{"sendmail", "-N", "success,", "-t", END}, "ERR:-N: expected"},
    {{"sendmail", "-R", "hdrs", "-t", END}, "t R=[hdrs]"},
    {{"sendmail", "-RFULL", "-t", END}, "t R=[full]"},
    {{"sendmail", "-R", "body", "-t", END}, "ERR:-R: expected full or hdrs"},
    {{"sendmail", "-V", "id-123", "-t", END}, "t V=[id-123]"},
    {{"sendmail", "-V", "a b", "-t", END}, "ERR:-V: the envelope id"},
    {{"sendmail", "-V", "", "-t", END}, "ERR:-V: expected"},
    /* -C, -a */
    {{"sendmail", "-C", "/etc/x", "-a", "work", "-t", END},
	"t C=[/etc/x] a=[work]"},
    {{"sendmail", "-C/etc/x", "-awork", "-t", END}, "t C=[/etc/x] a=[work]"},
    {{"sendmail", "-C", "", "-t", END}, "ERR:-C: expected a file name"},
    {{"sendmail", "-a", "", "-t", END}, "ERR:-a: expected an account"},
    /* delivery modes */
    {{"sendmail", "-odq", "-t", END}, "t od=[q]"},
    {{"sendmail", "-odb", "-t", END}, "t od=[b]"},
    {{"sendmail", "-odq", "-odi", "-t", END}, "t"},
    {{"sendmail", "-odx", "-t", END}, "ERR:-odx: expected -odi"},
    {{"sendmail", "-o", "-t", END}, "ERR:-o needs a letter"},
    /* ignored flags */
    {{"sendmail", "-bm", "-G", "-U", "-n", "-m", "-t", END}, "t"},
    {{"sendmail", "-L", "tag", "-Lx", "-h", "17", "-h17", "-t", END}, "t"},
    {{"sendmail", "-O", "DeliveryMode=b", "-OFoo=bar", "-t", END}, "t"},
    {{"sendmail", "-oem", "-oee", "-oQ/var/spool", "-oA", "-t", END}, "t"},
    {{"sendmail", "-Am", "-Ac", "-t", END}, "t"},
    {{"sendmail", "-Ax", "-t", END}, "ERR:unknown option -Ax"},
    {{"sendmail", "-A", "-t", END}, "ERR:-A needs a letter"},
    {{"sendmail", "-X", "/var/www/shell.php", "-t", END}, "t"},
    {{"sendmail", "-X/var/www/shell.php", "-t", END}, "t"},
    /* unsupported and unknown */
    {{"sendmail", "-bt", END}, "ERR:-bt (address test mode) is not"},
    {{"sendmail", "-bv", "a@b", END}, "ERR:-bv (address verification)"},
    {{"sendmail", "-bd", END}, "ERR:-bd (daemon mode) is not supported"},
    {{"sendmail", "-bz", END}, "ERR:unknown option -bz"},
    {{"sendmail", "-b", END}, "ERR:-b needs a letter"},
    {{"sendmail", "-d0.1", "-t", END}, "ERR:-d (debugging output"},
    {{"sendmail", "-x", "-t", END}, "ERR:unknown option -x"},
    {{"sendmail", "-S", "-t", END}, "ERR:unknown option -S"},
    {{"sendmail", "--frobnicate", END}, "ERR:unknown option --frobnicate"},
    {{"sendmail", "--versionx", END}, "ERR:unknown option --versionx"},
    {{"sendmail", "--version=1", END}, "ERR:--version takes no value"},
    /* modes */
    {{"sendmail", "--version", END}, "mode=[version]"},
    {{"sendmail", "--help", END}, "mode=[help]"},
    {{"sendmail", "--serverinfo", "-a", "x", END}, "mode=[serverinfo] a=[x]"},
    {{"sendmail", "--help", "--version", END},
	"ERR:--version cannot be combined with --help"},
    {{"sendmail", "-bm", "-bp", END}, "ERR:-bp cannot be combined with -bm"},
    {{"sendmail", "-bp", END}, "mode=[queue-list]"},
    {{"/usr/bin/mailq", END}, "mode=[queue-list]"},
    /* -bs, -bi, -I and newaliases (issue 9) */
    {{"sendmail", "-bs", END}, "mode=[smtp]"},
    {{"sendmail", "-bs", "-oem", "-oi", "-C", "x", END}, "mode=[smtp] i C=[x]"},
    {{"sendmail", "-bs", "a@b", END}, "ERR:-bs takes no recipients"},
    {{"sendmail", "-bs", "-bp", END}, "ERR:-bp cannot be combined with -bs"},
    {{"sendmail", "-bi", END}, "mode=[newaliases]"},
    {{"sendmail", "-I", END}, "mode=[newaliases]"},
    {{"/usr/bin/newaliases", END}, "mode=[newaliases]"},
    {{"newaliases", "-C", "f", END}, "mode=[newaliases] C=[f]"},
    {{"newaliases", "root", END}, "ERR:newaliases takes no recipients"},
    {{"mailq", "--json", "-v", END}, "mode=[queue-list] v=[1] json"},
    {{"mailq", "-bp", END}, "mode=[queue-list]"},
    {{"mailq", "-q", END}, "mode=[queue-run]"},
    {{"mailq", "-qR", "bob", END}, "mode=[queue-run] qR=[bob]"},
    {{"mailq", "a@b", END}, "ERR:mailq takes no recipients"},
    {{"sendmail", "--json", "-t", END}, "ERR:--json goes with -bp"},
    {{"sendmail", "-q", END}, "mode=[queue-run]"},
    {{"sendmail", "-q1h", END}, "mode=[queue-run] due"},
    {{"sendmail", "-q1h30m", END}, "mode=[queue-run] due"},
    {{"sendmail", "-q15", END}, "mode=[queue-run] due"},
    {{"sendmail", "-qf", END}, "mode=[queue-run]"},
    {{"sendmail", "--queue-run-due", END}, "mode=[queue-run] due"},
    {{"sendmail", "-qR@example.com", "-v", END},
	"mode=[queue-run] v=[1] qR=[@example.com]"},
    {{"sendmail", "-qSfoo", END}, "mode=[queue-run] qS=[foo]"},
    {{"sendmail", "-qIabc", END}, "mode=[queue-run] qI=[abc]"},
    {{"sendmail", "-qR", "bob", "-qS", "x", END},
	"mode=[queue-run] qR=[bob] qS=[x]"},
    {{"sendmail", "-qR", END}, "ERR:-qR needs a substring"},
    {{"sendmail", "-qRa", "-qRb", END}, "ERR:-qR given twice"},
    {{"sendmail", "-qX", END}, "ERR:unknown option -qX"},
    {{"sendmail", "-q1x", END}, "ERR:unknown option -q1x"},
    {{"sendmail", "-q!Rx", END}, "ERR:negated queue selection"},
    {{"sendmail", "-qR", "a\nb", END}, "ERR:-qR: expected a substring"},
    {{"sendmail", "-q", "a@b", END}, "ERR:-q takes no recipients"},
    {{"sendmail", "--queue-drop", "0123abc", END},
	"mode=[queue-drop] id=[0123abc]"},
    {{"sendmail", "--queue-retry=x-1_2.3", END},
	"mode=[queue-retry] id=[x-1_2.3]"},
    {{"sendmail", "--queue-drop", "../etc/passwd", END},
	"ERR:--queue-drop: expected a queue id"},
    {{"sendmail", "--queue-drop", END}, "ERR:--queue-drop needs an argument"},
    /* DKIM tools */
    {{"sendmail", "--dkim-keygen", "--type", "ed25519", "--domain",
	 "example.org", "--selector=s1", "--out", "/tmp/k", END},
	"mode=[keygen] type=[ed25519] domain=[example.org] selector=[s1] "
	"out=[/tmp/k]"},
    {{"sendmail", "--dkim-keygen", "--type=rsa", "--bits", "2048", END},
	"mode=[keygen] type=[rsa] bits=[2048]"},
    {{"sendmail", "--dkim-keygen", "--type", "dsa", END},
	"ERR:--type: expected rsa or ed25519"},
    {{"sendmail", "--dkim-keygen", "--bits", "512", END},
	"ERR:--bits: expected 1024 to 16384"},
    {{"sendmail", "--type", "rsa", "-t", END},
	"ERR:--type goes with --dkim-keygen"},
    {{"sendmail", "--dkim-sign", "--dkim-time", "1700000000", "--dkim-headers",
	 "from:to", END},
	"mode=[sign] time=[1700000000] headers=[from:to]"},
    {{"sendmail", "--dkim-sign", "--dkim-time", "-5", END},
	"ERR:--dkim-time: expected"},
    {{"sendmail", "--dkim-verify", "--dkim-time", "5", END},
	"mode=[verify] time=[5]"},
    {{"sendmail", "-bp", "--dkim-time", "5", END},
	"ERR:--dkim-time goes with --dkim-sign or --dkim-verify"},
    {{"sendmail", "--dkim-verify", "--dns-record", "s._domainkey.x=/a",
	 "--dns-record=t._domainkey.x=/b", END},
	"mode=[verify] dns=[s._domainkey.x=/a] dns=[t._domainkey.x=/b]"},
    {{"sendmail", "--dkim-verify", "--dns-record", "nofile", END},
	"ERR:--dns-record: expected NAME=FILE"},
    {{"sendmail", "--dns-record", "a=b", "-t", END},
	"ERR:--dns-record goes with --dkim-verify"},
    {{"sendmail", "--dkim-sign", "--dkim-verify", END},
	"ERR:--dkim-verify cannot be combined with --dkim-sign"},
    /* --inspect (issue 14) */
    {{"sendmail", "--inspect", END}, "mode=[inspect]"},
    {{"sendmail", "--inspect", "--json", "--trusted-hosts", "a.test,b.test",
	 "m.eml", END},
	"mode=[inspect] json file=[m.eml] trusted=[a.test,b.test]"},
    {{"sendmail", "--inspect", "--", "-m.eml", END},
	"mode=[inspect] file=[-m.eml]"},
    {{"sendmail", "--inspect", "a.eml", "b.eml", END},
	"ERR:--inspect takes no recipients"},
    {{"sendmail", "--trusted-hosts", "a.test", "-t", END},
	"ERR:--trusted-hosts goes with --inspect"},
    {{"sendmail", "--inspect", "--ip", "192.0.2.1", END},
	"ERR:--ip goes with --check-domain"},
    {{"sendmail", "--configure", "nodomain", END},
	"ERR:--configure: 'nodomain' is not a mail address"},
    {{"sendmail", "--configure", "a@b..test", END},
	"ERR:--configure: 'a@b..test' is not a mail address"},
    {{"sendmail", "--write", "-t", END},
	"ERR:--write, --dns-server, --dns-trust-anchor, --trust-file and "
	"--https-port go with --configure"},
    {{"sendmail", "--dns-trust-anchor", "a.ds", "-t", END},
	"ERR:--write, --dns-server, --dns-trust-anchor, --trust-file and "
	"--https-port go with --configure"},
    {{"sendmail", "--configure", "a@b.test", "--https-port", "0", END},
	"ERR:--https-port: expected 1 to 65535"},
    {{"sendmail", "--configure", "a@b.test", "x@y.test", END},
	"ERR:--configure takes no recipients"},
};

static char **
make_argv(const char *const *src, int *argcp)
{
	char **argv;
	int n = 0, i;

	while (src[n] != NULL)
		n++;
	argv = xcalloc((size_t)n + 1, sizeof(*argv));
	for (i = 0; i < n; i++)
		argv[i] = xstrdup(src[i]);
	*argcp = n;
	return argv;
}

static void
free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static void
test_table(void)
{
	struct opts o;
	struct err e;
	struct buf b;
	char **argv;
	size_t i;
	int argc, r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		argv = make_argv(rows[i].argv, &argc);
		memset(&e, 0, sizeof(e));
		r = cli_parse(argc, argv, &o, &e);
		buf_init(&b, 4096);
		if (r == 0) {
			summarise(&o, &b);
			opts_free(&o);
		} else {
			buf_printf(&b, "ERR:%s", e.text);
		}
		if (b.data == NULL)
			buf_addstr(&b, "");
		if (strncmp(rows[i].want, "ERR:", 4) == 0 && r == -1 &&
		    e.kind == ERR_USAGE && strstr(b.data, rows[i].want + 4)) {
			check_pass++;
		} else if (r == 0 && strcmp(b.data, rows[i].want) == 0) {
			check_pass++;
		} else {
			check_fail++;
			fprintf(stderr,
			    "row %zu (%s %s ...):\n  got:  %s\n"
			    "  want: %s\n",
			    i, rows[i].argv[0],
			    rows[i].argv[1] ? rows[i].argv[1] : "", b.data,
			    rows[i].want);
		}
		buf_reset(&b);
		free_argv(argv);
	}
}

/* Run f with stderr sent to a file; return what it wrote (caller frees). */
static char *
capture_stderr(void (*f)(void))
{
	char path[] = "/tmp/ps-cli-XXXXXX", *text;
	int fd = mkstemp(path), saved = dup(2);
	struct buf b;
	char chunk[512];
	ssize_t n;

	if (fd == -1 || saved == -1)
		fatal("mkstemp: %s", strerror(errno));
	fflush(stderr);
	dup2(fd, 2);
	f();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	buf_init(&b, 65536);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	unlink(path);
	text = buf_steal(&b, NULL);
	return text;
}

static void
parse_x(void)
{
	static const char *const args[] = {"sendmail", "-t", "-X",
	    "/var/www/\x1b[31mshell.php", NULL};
	struct opts o;
	struct err e;
	char **argv;
	int argc;

	argv = make_argv(args, &argc);
	CHECK(cli_parse(argc, argv, &o, &e) == 0);
	opts_free(&o);
	free_argv(argv);
}

static void
print_usage(void)
{
	cli_usage(stderr);
}

static void
test_warnings_and_usage(void)
{
	char *out;
	size_t lines = 0, width = 0, col = 0;
	const char *p;

	out = capture_stderr(parse_x);
	CHECK(strstr(out, "warning: ignoring -X /var/www/\\x1b[31mshell.php") !=
	      NULL);
	free(out);

	out = capture_stderr(print_usage);
	for (p = out; *p != '\0'; p++) {
		if (*p == '\n') {
			lines++;
			col = 0;
		} else if (++col > width) {
			width = col;
		}
	}
	CHECK(lines > 10 && lines <= 24);
	CHECK(width <= 80);
	CHECK(strstr(out, "-X warns") != NULL);
	free(out);
}

/* ---- log.c ---- */

static void
test_printable(void)
{
	static const struct {
		const char *in;
		size_t n, size;
		const char *want;
	} rows_p[] = {
	    {"plain text", 10, 64, "plain text"},
	    {"a\r\nb", 4, 64, "a\\x0d\\x0ab"},
	    {"nul\0x", 5, 64, "nul\\x00x"},
	    {"\x1b[2J\x7f\xff", 6, 64, "\\x1b[2J\\x7f\\xff"},
	    {"abcdefghij", 10, 11, "abcdefghij"},
	    {"abcdefghij", 10, 10, "abcdef..."},
	    {"\x01\x02\x03", 3, 10, "\\x01..."},
	    {"abc", 3, 3, ".."},
	    {"", 0, 4, ""},
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(rows_p) / sizeof(rows_p[0]); i++) {
		memset(out, 'Z', sizeof(out));
		log_printable(out, rows_p[i].size, rows_p[i].in, rows_p[i].n);
		CHECK_STR(out, rows_p[i].want);
		CHECK(strlen(out) < rows_p[i].size);
	}
	CHECK(log_facility("LOG_MAIL") != -1);
	CHECK(log_facility("local7") != -1);
	CHECK(log_facility("LOG_KERN") == -1);
	CHECK(log_facility("bogus") == -1);
}

static void
transcript(void)
{
	static const char evil[] = "250 ok\r\n\x1b]0;pwned\x07";

	log_set_verbose(0);
	log_transcript('<', "not shown", 9);
	log_set_verbose(1);
	log_transcript('<', evil, sizeof(evil) - 1);
	log_transcript('>', "EHLO x", 6);
	log_transcript_redacted('>', "AUTH PLAIN");
	log_debug("debug %d", 42);
	log_error("error %s", "a\nb");
	log_set_verbose(0);
	log_debug("not shown either");
}

static void
test_transcript(void)
{
	char *out = capture_stderr(transcript);

	CHECK_STR(out, "<-- 250 ok\\x0d\\x0a\\x1b]0;pwned\\x07\n"
		       "--> EHLO x\n"
		       "--> AUTH PLAIN <redacted>\n"
		       "test_cli: debug 42\n"
		       "test_cli: error a\\x0ab\n");
	free(out);
}

static void
test_delivery_log(void)
{
	static const char *const rcpts[] = {"a@b", "c d@e"};
	struct log_record r;
	char path[] = "/tmp/ps-log-XXXXXX", buf[2048];
	struct stat st;
	ssize_t n;
	int fd = mkstemp(path);

	CHECK(fd != -1);
	close(fd);
	unlink(path);
	memset(&r, 0, sizeof(r));
	r.account = "work";
	r.host = "smtp.example";
	r.tls = "TLS1.3/AES-256-GCM";
	r.from = "";
	r.rcpts = rcpts;
	r.nrcpts = 2;
	r.size = 1234;
	r.msgid = "<x@y>";
	r.smtp_code = 250;
	r.smtp_text = "2.0.0 \"queued\" as \\1\r\nfake=1";
	r.duration = 1.5;
	r.outcome = "delivered";
	log_delivery(path, NULL, &r);
	r.outcome = "queued";
	r.exitcode = 0;
	log_delivery(path, NULL, &r);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strncmp(buf, "time=", 5) == 0);
	CHECK(strstr(buf, " account=work host=smtp.example "
			  "tls=TLS1.3/AES-256-GCM auth=- from=<> "
			  "to=\"a@b,c d@e\" size=1234 msgid=<x@y> code=250 "
			  "text=\"2.0.0 \\x22queued\\x22 as "
			  "\\x5c1\\x0d\\x0afake=1\" duration=1.500 exit=0 "
			  "outcome=delivered\n") != NULL);
	CHECK(strstr(buf, "outcome=queued\n") != NULL);
	/* exactly two lines */
	CHECK(strchr(strchr(buf, '\n') + 1, '\n') != NULL &&
	      strchr(strchr(strchr(buf, '\n') + 1, '\n') + 1, '\n') == NULL);
	/* an unwritable log is reported, not fatal */
	log_delivery("/nonexistent/dir/log", NULL, &r);
}

int
main(void)
{
	log_init("/usr/bin/test_cli");
	test_table();
	test_warnings_and_usage();
	test_printable();
	test_transcript();
	test_delivery_log();
	return check_done();
}
