/*
 * cli.c -- argv to struct opts.
 *
 * Purpose: parse sendmail's command line, which getopt cannot: flags group
 * ("-ti"), an option's argument may be attached or separate ("-faddr",
 * "-f addr"), several options are a letter plus a word ("-bm", "-oi",
 * "-odq", "-q1h", "-Am"), and programs pass flags that mean nothing to a
 * submission client.  Every flag is named in the tables below, the
 * ignored ones included; anything else is a usage error naming it.
 *
 * Grammar: options may come before or after recipients, as with GNU
 * getopt (msmtp, Postfix on Linux); after "--" every argument is a
 * recipient.  Each recipient argument may hold a comma-separated list:
 * pieces are trimmed of blanks, empty pieces skipped, and one pair of
 * angle brackets around a piece removed.  "-f ''", "-f '<>'" and "-f<>"
 * give the null sender; "-f <a@b>" loses its brackets.
 *
 * Non-goals: validating address syntax (addr.c does that), reading the
 * configuration.
 *
 * Invariants: no string in struct opts holds CR or LF; strings point into
 * argv or at static tables, except rcpts, dns_records and the copied
 * sender, which opts_free() releases.
 *
 * Failure policy: every problem is ERR_USAGE (exit 64) naming the option;
 * nothing is sent.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"

struct cli {
	struct opts *o;
	int mode_set;
	char mode_opt[32];    /* the option that chose the mode */
	int dkim_opt_seen[3]; /* keygen, sign, verify options seen */
	int dkim_time_seen;   /* --dkim-time: sign or verify */
	char dkim_opt[3][32];
};

enum argkind {
	ARG_NONE,     /* a flag: may be grouped, "-ti" */
	ARG_REQ,      /* "-fADDR" or "-f ADDR" */
	ARG_ATTACHED, /* "-oi": the rest of the word, which is required */
	ARG_OPTIONAL, /* "-q" or "-q1h": the rest of the word, maybe empty */
};

typedef int opt_fn(struct cli *, const char *name, const char *val,
    struct err *);

struct shortopt {
	char letter;
	enum argkind arg;
	opt_fn *fn; /* NULL: not supported, see note */
	const char *note;
};

struct longopt {
	const char *name;
	enum argkind arg; /* ARG_NONE or ARG_REQ ("--x=V" or "--x V") */
	opt_fn *fn;
};

static int usage(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage(struct err *e, const char *fmt, ...)
{
	char msg[sizeof(e->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, ERR_USAGE, "%s", msg);
}

static int
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static int
set_mode(struct cli *cl, enum mode m, const char *name, struct err *e)
{
	/* "mailq -q" (Postfix, sendmail): the queue run, not the list. */
	if (cl->mode_set && cl->o->mode == MODE_QUEUE_LIST &&
	    m == MODE_QUEUE_RUN && strcmp(cl->mode_opt, "mailq") == 0)
		cl->mode_set = 0;
	if (cl->mode_set && cl->o->mode != m)
		return usage(e, "%s cannot be combined with %s", name,
		    cl->mode_opt);
	cl->o->mode = m;
	cl->mode_set = 1;
	str_copy(cl->mode_opt, name, sizeof(cl->mode_opt));
	return 0;
}

/* ---- recipients ---- */

static void
rcpt_add(struct opts *o, const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>')
		p++, n -= 2;
	if (n == 0)
		return;
	o->rcpts = xreallocarray(o->rcpts, o->nrcpts + 1, sizeof(*o->rcpts));
	o->rcpts[o->nrcpts++] = xstrndup(p, n);
}

/* One argument: a comma-separated list of recipients. */
static int
rcpts_from_arg(struct cli *cl, const char *arg, struct err *e)
{
	const char *comma;

	if (has_crlf(arg))
		return usage(e, "recipient contains CR or LF");
	for (;;) {
		comma = strchr(arg, ',');
		rcpt_add(cl->o, arg,
		    comma ? (size_t)(comma - arg) : strlen(arg));
		if (comma == NULL)
			return 0;
		arg = comma + 1;
	}
}

/* ---- short options ---- */

static int
opt_ignore(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)cl;
	(void)name;
	(void)val;
	(void)e;
	return 0;
}

static int
opt_t(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)name;
	(void)val;
	(void)e;
	cl->o->read_recipients = 1;
	return 0;
}

static int
opt_i(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)name;
	(void)val;
	(void)e;
	cl->o->ignore_dots = 1;
	return 0;
}

static int
opt_v(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)name;
	(void)val;
	(void)e;
	cl->o->verbose++;
	return 0;
}

/* -f/-r: '' and <> are the null sender; <a@b> loses its brackets. */
static int
opt_f(struct cli *cl, const char *name, const char *val, struct err *e)
{
	size_t n = strlen(val);

	if (has_crlf(val))
		return usage(e, "%s: the sender contains CR or LF", name);
	free(cl->o->owned_sender);
	if (n >= 2 && val[0] == '<' && val[n - 1] == '>')
		cl->o->owned_sender = xstrndup(val + 1, n - 2);
	else
		cl->o->owned_sender = xstrdup(val);
	cl->o->sender = cl->o->owned_sender;
	return 0;
}

static int
opt_F(struct cli *cl, const char *name, const char *val, struct err *e)
{
	if (has_crlf(val))
		return usage(e, "%s: the full name contains CR or LF", name);
	cl->o->fullname = val;
	return 0;
}

static int
opt_B(struct cli *cl, const char *name, const char *val, struct err *e)
{
	if (ascii_casecmp(val, "7BIT") == 0)
		cl->o->body_type = "7BIT";
	else if (ascii_casecmp(val, "8BITMIME") == 0)
		cl->o->body_type = "8BITMIME";
	else
		return usage(e, "%s: expected 7BIT or 8BITMIME", name);
	return 0;
}

static int
opt_C(struct cli *cl, const char *name, const char *val, struct err *e)
{
	if (*val == '\0' || has_crlf(val))
		return usage(e, "%s: expected a file name", name);
	cl->o->config_file = val;
	return 0;
}

static int
opt_a(struct cli *cl, const char *name, const char *val, struct err *e)
{
	if (*val == '\0' || has_crlf(val))
		return usage(e, "%s: expected an account name", name);
	cl->o->account = val;
	return 0;
}

/*
 * -N never, or a list of success, failure, delay (RFC 3461 NOTIFY), in
 * any case and order; stored in one canonical order.
 */
static int
opt_N(struct cli *cl, const char *name, const char *val, struct err *e)
{
	static const char *const words[] = {"success", "failure", "delay"};
	static const char *const canon[8] = {NULL, "success", "failure",
	    "success,failure", "delay", "success,delay", "failure,delay",
	    "success,failure,delay"};
	const char *p = val, *comma;
	unsigned seen = 0, bit;
	size_t i, n;

	if (ascii_casecmp(val, "never") == 0) {
		cl->o->dsn_notify = "never";
		return 0;
	}
	for (;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < 3; i++)
			if (n == strlen(words[i]) &&
			    ascii_ncasecmp(p, words[i], n) == 0)
				break;
		bit = 1u << i;
		if (i == 3 || (seen & bit))
			return usage(e,
			    "%s: expected never, or a list of "
			    "success, failure, delay",
			    name);
		seen |= bit;
		if (comma == NULL)
			break;
	}
	cl->o->dsn_notify = canon[seen];
	return 0;
}

static int
opt_R(struct cli *cl, const char *name, const char *val, struct err *e)
{
	if (ascii_casecmp(val, "full") == 0)
		cl->o->dsn_return = "full";
	else if (ascii_casecmp(val, "hdrs") == 0 ||
		 ascii_casecmp(val, "headers") == 0)
		cl->o->dsn_return = "hdrs";
	else
		return usage(e, "%s: expected full or hdrs", name);
	return 0;
}

/* RFC 3461 ENVID: at most 100 printable ASCII characters. */
static int
opt_V(struct cli *cl, const char *name, const char *val, struct err *e)
{
	const char *p;

	if (*val == '\0' || strlen(val) > 100)
		return usage(e,
		    "%s: expected an envelope id of 1 to 100 "
		    "characters",
		    name);
	for (p = val; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return usage(e,
			    "%s: the envelope id must be "
			    "printable ASCII without blanks",
			    name);
	cl->o->dsn_envid = val;
	return 0;
}

/* -X FILE is sendmail's traffic log: the PHPMailer file-writing attack. */
static int
opt_X(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)cl;
	(void)e;
	log_warn("ignoring %s %s: postseal writes no traffic log", name, val);
	return 0;
}

/* -bm sends; -bp lists the queue; -bs speaks SMTP on stdin; -bi checks
 * the aliases file; the others are sendmail's modes. */
static int
opt_b(struct cli *cl, const char *name, const char *val, struct err *e)
{
	static const struct {
		const char *mode;
		const char *what;
	} modes[] = {
	    {"a", "ARPANET mode"},
	    {"d", "daemon mode"},
	    {"D", "daemon mode"},
	    {"h", "the host status"},
	    {"H", "the host status"},
	    {"P", "queue statistics"},
	    {"t", "address test mode"},
	    {"v", "address verification"},
	};
	size_t i;

	(void)name;
	if (strcmp(val, "m") == 0)
		return set_mode(cl, MODE_SEND, "-bm", e);
	if (strcmp(val, "p") == 0)
		return set_mode(cl, MODE_QUEUE_LIST, "-bp", e);
	if (strcmp(val, "s") == 0)
		return set_mode(cl, MODE_SMTP, "-bs", e);
	if (strcmp(val, "i") == 0)
		return set_mode(cl, MODE_NEWALIASES, "-bi", e);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(val, modes[i].mode) == 0)
			return usage(e, "-b%s (%s) is not supported", val,
			    modes[i].what);
	return usage(e, "unknown option -b%s", val);
}

/* -oi, -odi/-odb/-odq; every other -oX (sendmail options) is ignored. */
static int
opt_o(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)name;
	if (strcmp(val, "i") == 0) {
		cl->o->ignore_dots = 1;
	} else if (val[0] == 'd') {
		if (strcmp(val, "di") == 0)
			cl->o->deliver = DELIVER_INTERACTIVE;
		else if (strcmp(val, "db") == 0)
			cl->o->deliver = DELIVER_BACKGROUND;
		else if (strcmp(val, "dq") == 0)
			cl->o->deliver = DELIVER_QUEUE;
		else
			return usage(e, "-o%s: expected -odi, -odb or -odq",
			    val);
	}
	return 0;
}

/* -qRsubstr, -qSsubstr, -qIsubstr (also "-qR substr"): one each. */
static int
opt_q_match(struct cli *cl, char what, const char *sub, struct err *e)
{
	const char **slot = what == 'R'	  ? &cl->o->queue_match_rcpt
			    : what == 'S' ? &cl->o->queue_match_sender
					  : &cl->o->queue_match_id;

	if (*sub == '\0' || has_crlf(sub))
		return usage(e, "-q%c: expected a substring", what);
	if (*slot != NULL)
		return usage(e, "-q%c given twice", what);
	*slot = sub;
	return set_mode(cl, MODE_QUEUE_RUN, "-q", e);
}

/* sendmail's queue interval, "30m", "1h30m", "15": digits and units. */
static int
is_interval(const char *p)
{
	if (*p < '0' || *p > '9')
		return 0;
	while (*p != '\0') {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != '\0' && strchr("smhdw", *p) == NULL)
			return 0;
		if (*p != '\0')
			p++;
		if (*p != '\0' && (*p < '0' || *p > '9'))
			return 0;
	}
	return 1;
}

/*
 * -q: every active entry now, backoff ignored (Postfix's sendmail -q);
 * -qf the same (sendmail's "in the foreground"); -q<interval>, as in a
 * periodic "sendmail -q30m", only the due entries (the interval itself
 * is not used: cron or a timer repeats the run); -qR/-qS/-qI select.
 */
static int
opt_q(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)name;
	if (val[0] == 'R' || val[0] == 'S' || val[0] == 'I')
		return opt_q_match(cl, val[0], val + 1, e);
	if (val[0] == '!')
		return usage(e,
		    "-q!%s: negated queue selection is not "
		    "supported",
		    val + 1);
	if (is_interval(val))
		cl->o->queue_due = 1;
	else if (val[0] != '\0' && strcmp(val, "f") != 0)
		return usage(e,
		    "unknown option -q%s (expected -q, -q<interval>, "
		    "-qR, -qS or -qI)",
		    val);
	return set_mode(cl, MODE_QUEUE_RUN, "-q", e);
}

/* -Am and -Ac (which submission file to use) mean nothing here. */
static int
opt_A(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)cl;
	(void)name;
	if (strcmp(val, "m") != 0 && strcmp(val, "c") != 0)
		return usage(e, "unknown option -A%s", val);
	return 0;
}

/* -I is an old name of -bi. */
static int
opt_I(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	return set_mode(cl, MODE_NEWALIASES, name, e);
}

/* In ASCII order of the letter. */
static const struct shortopt shortopts[] = {
    {'A', ARG_ATTACHED, opt_A, NULL},  /* -Am, -Ac: ignored */
    {'B', ARG_REQ, opt_B, NULL},       /* body type */
    {'C', ARG_REQ, opt_C, NULL},       /* configuration file */
    {'F', ARG_REQ, opt_F, NULL},       /* full name */
    {'G', ARG_NONE, opt_ignore, NULL}, /* gateway submission: ignored */
    {'I', ARG_NONE, opt_I, NULL},      /* = -bi (newaliases) */
    {'L', ARG_REQ, opt_ignore, NULL},  /* syslog label: ignored */
    {'N', ARG_REQ, opt_N, NULL},       /* DSN NOTIFY */
    {'O', ARG_REQ, opt_ignore, NULL},  /* -O option=value: ignored */
    {'R', ARG_REQ, opt_R, NULL},       /* DSN RET */
    {'U', ARG_NONE, opt_ignore, NULL}, /* initial submission: ignored */
    {'V', ARG_REQ, opt_V, NULL},       /* DSN ENVID */
    {'X', ARG_REQ, opt_X, NULL},       /* traffic log: ignored, warns */
    {'a', ARG_REQ, opt_a, NULL},       /* account */
    {'b', ARG_ATTACHED, opt_b, NULL},  /* -bm, -bp */
    {'d', ARG_REQ, NULL, "debugging output; use -v"},
    {'e', ARG_ATTACHED, opt_ignore, NULL}, /* -ep, -em...: error mode */
    {'f', ARG_REQ, opt_f, NULL},	   /* envelope sender */
    {'h', ARG_REQ, opt_ignore, NULL},	   /* hop count: ignored */
    {'i', ARG_NONE, opt_i, NULL},	   /* a lone dot is data */
    {'m', ARG_NONE, opt_ignore, NULL},	   /* me too: ignored */
    {'n', ARG_NONE, opt_ignore, NULL},	   /* no aliasing: ignored */
    {'o', ARG_ATTACHED, opt_o, NULL},	   /* -oi, -odX, -o*: ignored */
    {'q', ARG_OPTIONAL, opt_q, NULL},	   /* queue run */
    {'r', ARG_REQ, opt_f, NULL},	   /* old name of -f */
    {'t', ARG_NONE, opt_t, NULL},	   /* recipients from the headers */
    {'v', ARG_NONE, opt_v, NULL},	   /* transcript */
};

static const struct shortopt *
short_find(char c)
{
	size_t i;

	for (i = 0; i < sizeof(shortopts) / sizeof(shortopts[0]); i++)
		if (shortopts[i].letter == c)
			return &shortopts[i];
	return NULL;
}

/* One argument starting with '-': flags, maybe grouped ("-tif addr"). */
static int
parse_short(struct cli *cl, int argc, char **argv, int *ip, struct err *e)
{
	const char *arg = argv[*ip], *p = arg + 1;
	const struct shortopt *so;
	char name[3] = {'-', '\0', '\0'};

	for (; *p != '\0'; p++) {
		name[1] = *p;
		if ((so = short_find(*p)) == NULL)
			return usage(e, "unknown option -%c%s%s", *p,
			    p > arg + 1 ? " in " : "", p > arg + 1 ? arg : "");
		if (so->fn == NULL)
			return usage(e, "-%c (%s) is not supported", *p,
			    so->note);
		if (so->arg == ARG_NONE) {
			if (so->fn(cl, name, NULL, e) == -1)
				return -1;
			continue;
		}
		/* "-qR substr": the substring is the next argument. */
		if (so->arg == ARG_OPTIONAL && p[1] != '\0' && p[2] == '\0' &&
		    strchr("RSI", p[1]) != NULL) {
			if (*ip + 1 >= argc)
				return usage(e, "-q%c needs a substring", p[1]);
			return opt_q_match(cl, p[1], argv[++*ip], e);
		}
		if (so->arg == ARG_ATTACHED && p[1] == '\0')
			return usage(e, "-%c needs a letter after it", *p);
		if (so->arg != ARG_REQ || p[1] != '\0')
			return so->fn(cl, name, p + 1, e);
		if (*ip + 1 >= argc)
			return usage(e, "-%c needs an argument", *p);
		return so->fn(cl, name, argv[++*ip], e);
	}
	return 0;
}

/* ---- long options ---- */

static int
opt_version(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	return set_mode(cl, MODE_VERSION, name, e);
}

static int
opt_help(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	return set_mode(cl, MODE_HELP, name, e);
}

static int
opt_serverinfo(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	return set_mode(cl, MODE_SERVERINFO, name, e);
}

static int
opt_queue_due(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	cl->o->queue_due = 1;
	return set_mode(cl, MODE_QUEUE_RUN, name, e);
}

static int
opt_json(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)name;
	(void)val;
	(void)e;
	cl->o->json = 1;
	return 0;
}

/* Queue ids are file names in the queue: [A-Za-z0-9._-], no leading dot. */
static int
opt_queue_id(struct cli *cl, const char *name, const char *val, struct err *e)
{
	enum mode m = strcmp(name, "--queue-drop") == 0 ? MODE_QUEUE_DROP
							: MODE_QUEUE_RETRY;
	const char *p;

	if (*val == '\0' || *val == '.' || strlen(val) > 128)
		return usage(e, "%s: expected a queue id", name);
	for (p = val; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
			*p == '-'))
			return usage(e, "%s: expected a queue id", name);
	cl->o->queue_id = val;
	return set_mode(cl, m, name, e);
}

static int
opt_dkim_mode(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	if (strcmp(name, "--dkim-keygen") == 0)
		return set_mode(cl, MODE_DKIM_KEYGEN, name, e);
	if (strcmp(name, "--dkim-sign") == 0)
		return set_mode(cl, MODE_DKIM_SIGN, name, e);
	return set_mode(cl, MODE_DKIM_VERIFY, name, e);
}

/* Remember that an option of a DKIM tool (0 keygen, 1 sign, 2 verify)
 * was given, to check it goes with its mode. */
static void
dkim_seen(struct cli *cl, int tool, const char *name)
{
	cl->dkim_opt_seen[tool] = 1;
	str_copy(cl->dkim_opt[tool], name, sizeof(cl->dkim_opt[tool]));
}

static int
opt_keygen(struct cli *cl, const char *name, const char *val, struct err *e)
{
	unsigned long long n;
	struct opts *o = cl->o;

	dkim_seen(cl, 0, name);
	if (*val == '\0' || has_crlf(val))
		return usage(e, "%s: expected a value", name);
	if (strcmp(name, "--type") == 0) {
		if (strcmp(val, "rsa") == 0)
			o->dkim_type = "rsa";
		else if (strcmp(val, "ed25519") == 0)
			o->dkim_type = "ed25519";
		else
			return usage(e, "--type: expected rsa or ed25519");
	} else if (strcmp(name, "--bits") == 0) {
		if (parse_uint_str(val, 16384, &n) == -1 || n < 1024)
			return usage(e, "--bits: expected 1024 to 16384");
		o->dkim_bits = (unsigned)n;
	} else if (strcmp(name, "--domain") == 0) {
		o->dkim_domain = val;
	} else if (strcmp(name, "--selector") == 0) {
		o->dkim_selector = val;
	} else {
		o->dkim_out = val;
	}
	return 0;
}

static int
opt_sign(struct cli *cl, const char *name, const char *val, struct err *e)
{
	unsigned long long t;

	if (strcmp(name, "--dkim-time") == 0) {
		/* The signing time, or "now" for checking x= when verifying:
		 * the only option both modes take (checked at the end). */
		cl->dkim_time_seen = 1;
		/* up to the year 9999 */
		if (parse_uint_str(val, 253402300799ULL, &t) == -1)
			return usage(e, "--dkim-time: expected seconds since "
					"1970");
		cl->o->dkim_time = (long long)t;
		return 0;
	}
	dkim_seen(cl, 1, name);
	if (*val == '\0' || has_crlf(val) || strchr(val, ' ') != NULL)
		return usage(e, "--dkim-headers: expected h1:h2:...");
	cl->o->dkim_headers = val;
	return 0;
}

static int
opt_dns_record(struct cli *cl, const char *name, const char *val, struct err *e)
{
	const char *eq = strchr(val, '=');
	struct opts *o = cl->o;

	dkim_seen(cl, 2, name);
	if (eq == NULL || eq == val || eq[1] == '\0' || has_crlf(val))
		return usage(e, "%s: expected NAME=FILE", name);
	o->dns_records = xreallocarray(o->dns_records, o->ndns_records + 1,
	    sizeof(*o->dns_records));
	o->dns_records[o->ndns_records++] = val;
	return 0;
}

/* A host name: labels of 1-63 letters, digits, '-' or '_'. */
static int
is_domain(const char *s)
{
	size_t lab = 0;

	for (; *s != '\0'; s++)
		if (*s == '.' && (lab == 0 || s[1] == '\0'))
			return 0;
		else if (*s == '.')
			lab = 0;
		else if (!((*s >= 'a' && *s <= 'z') ||
			     (*s >= 'A' && *s <= 'Z') ||
			     (*s >= '0' && *s <= '9') || *s == '-' ||
			     *s == '_') ||
			 ++lab > 63)
			return 0;
	return lab > 0;
}

/* --check-domain DOMAIN and its --ip ADDR (issue 13). */
static int
opt_check(struct cli *cl, const char *name, const char *val, struct err *e)
{
	unsigned char ip[16];

	if (name[2] == 'i') {
		if (inet_pton(AF_INET, val, ip) != 1 &&
		    inet_pton(AF_INET6, val, ip) != 1)
			return usage(e, "--ip: expected an IP address");
		cl->o->check_ip = val;
		return 0;
	}
	if (strlen(val) > 253 || !is_domain(val))
		return usage(e, "--check-domain: '%.64s' is not a domain name",
		    val);
	cl->o->check_domain = val;
	return set_mode(cl, MODE_CHECK_DOMAIN, name, e);
}

/* --inspect [FILE] and --trusted-hosts LIST (issue 14). */
static int
opt_inspect(struct cli *cl, const char *name, const char *val, struct err *e)
{
	if (strcmp(name, "--inspect") == 0)
		return set_mode(cl, MODE_INSPECT, name, e);
	cl->o->inspect_trusted = val;
	return 0;
}

/* --doctor and its --auth (issue 13). */
static int
opt_doctor(struct cli *cl, const char *name, const char *val, struct err *e)
{
	(void)val;
	if (strcmp(name, "--auth") == 0) {
		cl->o->doctor_auth = 1;
		return 0;
	}
	return set_mode(cl, MODE_DOCTOR, name, e);
}

/* --configure ADDRESS and its --write, --dns-server, --dns-trust-anchor,
 * --trust-file and --https-port (issue 16). */
static int
opt_configure(struct cli *cl, const char *name, const char *val, struct err *e)
{
	struct opts *o = cl->o;
	const char *at;
	unsigned long long port;

	if (strcmp(name, "--write") == 0) {
		o->configure_write = 1;
		return 0;
	}
	if (strcmp(name, "--dns-server") == 0) {
		o->configure_dns = val;
		return 0;
	}
	if (strcmp(name, "--dns-trust-anchor") == 0) {
		o->configure_anchor = val;
		return 0;
	}
	if (strcmp(name, "--trust-file") == 0) {
		o->configure_trust = val;
		return 0;
	}
	if (strcmp(name, "--https-port") == 0) {
		if (parse_uint_str(val, 65535, &port) == -1 || port == 0)
			return usage(e, "--https-port: expected 1 to 65535");
		o->configure_port = (unsigned)port;
		return 0;
	}
	at = strrchr(val, '@');
	if (at == NULL || at == val || strlen(val) > 254 ||
	    strlen(at + 1) > 253 || !is_domain(at + 1) || has_crlf(val) ||
	    strchr(val, '"') != NULL || strchr(val, ' ') != NULL)
		return usage(e, "--configure: '%.64s' is not a mail address",
		    val);
	o->configure_addr = val;
	return set_mode(cl, MODE_CONFIGURE, name, e);
}

/* --oauth2-login and its flags (issue 11). */
static int
opt_oauth2(struct cli *cl, const char *name, const char *val, struct err *e)
{
	struct opts *o = cl->o;
	int how = strcmp(name, "--device") == 0	   ? 1
		  : strcmp(name, "--browser") == 0 ? 2
						   : 0;

	(void)val;
	if (strcmp(name, "--oauth2-login") == 0)
		return set_mode(cl, MODE_OAUTH2, name, e);
	if (strcmp(name, "--no-browser") == 0) {
		o->oauth2_no_browser = 1;
		return 0;
	}
	if (o->oauth2_how != 0 && o->oauth2_how != how)
		return usage(e, "--device cannot be combined with --browser");
	o->oauth2_how = how;
	return 0;
}

static const struct longopt longopts[] = {
    {"version", ARG_NONE, opt_version},
    {"help", ARG_NONE, opt_help},
    {"serverinfo", ARG_NONE, opt_serverinfo},
    {"json", ARG_NONE, opt_json},
    {"queue-run-due", ARG_NONE, opt_queue_due},
    {"queue-drop", ARG_REQ, opt_queue_id},
    {"queue-retry", ARG_REQ, opt_queue_id},
    {"dkim-keygen", ARG_NONE, opt_dkim_mode},
    {"type", ARG_REQ, opt_keygen},
    {"bits", ARG_REQ, opt_keygen},
    {"domain", ARG_REQ, opt_keygen},
    {"selector", ARG_REQ, opt_keygen},
    {"out", ARG_REQ, opt_keygen},
    {"dkim-sign", ARG_NONE, opt_dkim_mode},
    {"dkim-time", ARG_REQ, opt_sign},
    {"dkim-headers", ARG_REQ, opt_sign},
    {"dkim-verify", ARG_NONE, opt_dkim_mode},
    {"dns-record", ARG_REQ, opt_dns_record},
    {"check-domain", ARG_REQ, opt_check},
    {"ip", ARG_REQ, opt_check},
    {"inspect", ARG_NONE, opt_inspect},
    {"trusted-hosts", ARG_REQ, opt_inspect},
    {"doctor", ARG_NONE, opt_doctor},
    {"auth", ARG_NONE, opt_doctor},
    {"oauth2-login", ARG_NONE, opt_oauth2},
    {"device", ARG_NONE, opt_oauth2},
    {"browser", ARG_NONE, opt_oauth2},
    {"no-browser", ARG_NONE, opt_oauth2},
    {"configure", ARG_REQ, opt_configure},
    {"write", ARG_NONE, opt_configure},
    {"dns-server", ARG_REQ, opt_configure},
    {"dns-trust-anchor", ARG_REQ, opt_configure},
    {"trust-file", ARG_REQ, opt_configure},
    {"https-port", ARG_REQ, opt_configure},
};

/* "--name", "--name=value" or "--name value". */
static int
parse_long(struct cli *cl, int argc, char **argv, int *ip, struct err *e)
{
	const char *arg = argv[*ip] + 2, *eq = strchr(arg, '=');
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg), i;
	const struct longopt *lo = NULL;
	char name[32];

	for (i = 0; i < sizeof(longopts) / sizeof(longopts[0]); i++)
		if (strlen(longopts[i].name) == n &&
		    strncmp(longopts[i].name, arg, n) == 0)
			lo = &longopts[i];
	if (lo == NULL)
		return usage(e, "unknown option --%.*s", (int)(n < 64 ? n : 64),
		    arg);
	snprintf(name, sizeof(name), "--%s", lo->name);
	if (lo->arg == ARG_NONE) {
		if (eq != NULL)
			return usage(e, "%s takes no value", name);
		return lo->fn(cl, name, NULL, e);
	}
	if (eq != NULL)
		return lo->fn(cl, name, eq + 1, e);
	if (*ip + 1 >= argc)
		return usage(e, "%s needs an argument", name);
	return lo->fn(cl, name, argv[++*ip], e);
}

/* ---- the whole command line ---- */

static const char *const dkim_mode_name[3] = {"--dkim-keygen", "--dkim-sign",
    "--dkim-verify"};

static int
check_combination(struct cli *cl, struct err *e)
{
	static const enum mode dkim_modes[3] = {MODE_DKIM_KEYGEN,
	    MODE_DKIM_SIGN, MODE_DKIM_VERIFY};
	const struct opts *o = cl->o;
	int t;

	for (t = 0; t < 3; t++)
		if (cl->dkim_opt_seen[t] && o->mode != dkim_modes[t])
			return usage(e, "%s goes with %s", cl->dkim_opt[t],
			    dkim_mode_name[t]);
	if (cl->dkim_time_seen && o->mode != MODE_DKIM_SIGN &&
	    o->mode != MODE_DKIM_VERIFY)
		return usage(e, "--dkim-time goes with --dkim-sign or "
				"--dkim-verify");
	if (o->check_ip != NULL && o->mode != MODE_CHECK_DOMAIN)
		return usage(e, "--ip goes with --check-domain");
	if (o->mode == MODE_CHECK_DOMAIN && o->check_ip == NULL)
		return usage(e,
		    "--check-domain needs --ip ADDRESS (the address "
		    "your mail leaves from)");
	if (o->doctor_auth && o->mode != MODE_DOCTOR)
		return usage(e, "--auth goes with --doctor");
	if (o->json && o->mode != MODE_QUEUE_LIST && o->mode != MODE_INSPECT &&
	    o->mode != MODE_DOCTOR)
		return usage(e,
		    "--json goes with -bp (mailq), --inspect or --doctor");
	if (o->inspect_trusted != NULL && o->mode != MODE_INSPECT)
		return usage(e, "--trusted-hosts goes with --inspect");
	if ((o->oauth2_how != 0 || o->oauth2_no_browser) &&
	    o->mode != MODE_OAUTH2)
		return usage(e, "--device, --browser and --no-browser go with "
				"--oauth2-login");
	if ((o->configure_write || o->configure_dns != NULL ||
		o->configure_anchor != NULL || o->configure_trust != NULL ||
		o->configure_port != 0) &&
	    o->mode != MODE_CONFIGURE)
		return usage(e, "--write, --dns-server, --dns-trust-anchor, "
				"--trust-file and --https-port go with "
				"--configure");
	if (o->mode == MODE_SEND && o->nrcpts == 0 && !o->read_recipients)
		return usage(e, "no recipients given (use -t to read them "
				"from the message)");
	if (o->mode != MODE_SEND && o->nrcpts > 0)
		return usage(e, "%s takes no recipients", cl->mode_opt);
	return 0;
}

static int
is_named(const char *argv0, const char *name)
{
	const char *slash = strrchr(argv0, '/');

	return strcmp(slash != NULL ? slash + 1 : argv0, name) == 0;
}

int
cli_parse(int argc, char **argv, struct opts *o, struct err *e)
{
	struct cli cl;
	int i, r = 0, dashdash = 0;

	memset(o, 0, sizeof(*o));
	o->dkim_time = -1;
	memset(&cl, 0, sizeof(cl));
	cl.o = o;
	if (argc > 0 && argv[0] != NULL && is_named(argv[0], "mailq"))
		r = set_mode(&cl, MODE_QUEUE_LIST, "mailq", e);
	if (argc > 0 && argv[0] != NULL && is_named(argv[0], "newaliases"))
		r = set_mode(&cl, MODE_NEWALIASES, "newaliases", e);
	for (i = 1; i < argc && r == 0; i++) {
		const char *arg = argv[i];
		if ((dashdash || arg[0] != '-') && o->mode == MODE_INSPECT &&
		    o->inspect_file == NULL)
			o->inspect_file = arg; /* --inspect FILE */
		else if (dashdash || arg[0] != '-')
			r = rcpts_from_arg(&cl, arg, e);
		else if (strcmp(arg, "--") == 0)
			dashdash = 1;
		else if (arg[1] == '\0')
			r = usage(e, "unexpected argument '-'");
		else if (arg[1] == '-')
			r = parse_long(&cl, argc, argv, &i, e);
		else
			r = parse_short(&cl, argc, argv, &i, e);
	}
	if (r == 0)
		r = check_combination(&cl, e);
	if (r == -1)
		opts_free(o);
	return r;
}

void
cli_usage(FILE *fp)
{
	fputs("usage: postseal [options] [--] recipient...  send standard "
	      "input\n"
	      "       postseal -t [options] [recipient...]  recipients from "
	      "To/Cc/Bcc too\n"
	      "       postseal -q [-qR|-qS|-qI SUBSTR] | --queue-run-due | "
	      "-bp [--json]\n"
	      "       postseal --queue-drop ID | --queue-retry ID | "
	      "--configure "
	      "ADDR [--write]\n"
	      "       postseal -bs | -bi (newaliases) | --serverinfo | "
	      "--version | --help\n"
	      "       postseal --dkim-keygen --type rsa|ed25519 [--bits N] "
	      "--domain D\n"
	      "                --selector S --out FILE\n"
	      "       postseal --dkim-sign [--dkim-time T] [--dkim-headers "
	      "h1:h2]\n"
	      "       postseal --dkim-verify [--dns-record NAME=FILE]...\n"
	      "       postseal --check-domain DOMAIN --ip ADDRESS [-f SENDER] "
	      "[-a ACCOUNT]\n"
	      "       postseal --doctor [--auth] | --inspect [--trusted-hosts "
	      "H,..] [FILE]\n"
	      "       postseal --oauth2-login [-a ACCT] [--device|--browser] "
	      "[--no-browser]\n"
	      "  -f ADDR, -r ADDR  envelope sender ('' or '<>': null sender)\n"
	      "  -F NAME           full name for a From header we add\n"
	      "  -t                read recipients from the message headers\n"
	      "  -i, -oi           a line with a single dot does not end "
	      "input\n"
	      "  -C FILE           configuration file\n"
	      "  -a ACCOUNT        account (default: the one whose from "
	      "matches)\n"
	      "  -N never|success,failure,delay  -R full|hdrs  -V ENVID   DSN "
	      "(RFC 3461)\n"
	      "  -B 7BIT|8BITMIME  body type\n"
	      "  -odi, -odb, -odq  deliver now, in the background, or queue\n"
	      "  -v                show the SMTP dialogue (passwords hidden)\n"
	      "Ignored: -bm -G -U -n -m -L x -h n -O k=v -o* -Am -Ac -e*; "
	      "-X warns.\n"
	      "See postseal(1) and postseal.conf(5).\n",
	    fp);
}

void
opts_free(struct opts *o)
{
	size_t i;

	for (i = 0; i < o->nrcpts; i++)
		free(o->rcpts[i]);
	free(o->rcpts);
	o->rcpts = NULL;
	o->nrcpts = 0;
	free(o->dns_records);
	o->dns_records = NULL;
	o->ndns_records = 0;
	free(o->owned_sender);
	o->owned_sender = NULL;
	o->sender = NULL;
}
