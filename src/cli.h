/*
 * cli.h -- argv to struct opts.  Every sendmail flag is named here, the
 * ignored ones included; anything unknown is a usage error naming it.
 */
#ifndef POSTSEAL_CLI_H
#define POSTSEAL_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

enum mode {
	MODE_SEND = 0,	  /* sendmail mode (default, -bm) */
	MODE_VERSION,	  /* --version */
	MODE_HELP,	  /* --help */
	MODE_SERVERINFO,  /* --serverinfo */
	MODE_QUEUE_RUN,	  /* -q, -qR..., -q1h ... */
	MODE_QUEUE_LIST,  /* -bp, mailq */
	MODE_QUEUE_DROP,  /* --queue-drop ID */
	MODE_QUEUE_RETRY, /* --queue-retry ID */
	MODE_DKIM_KEYGEN, /* --dkim-keygen */
	MODE_DKIM_SIGN,	  /* --dkim-sign */
	MODE_DKIM_VERIFY, /* --dkim-verify */
	MODE_SMTP,	  /* -bs: SMTP on stdin/stdout (server.c) */
	MODE_NEWALIASES,  /* -bi, -I, newaliases: check the aliases file */
	/* --check-domain D (issue 13) */
	MODE_CHECK_DOMAIN,
	MODE_DOCTOR, /* --doctor [--auth] [--json] (issue 13) */
	MODE_OAUTH2, /* --oauth2-login (issue 11) */
	/* --inspect [FILE] (issue 14) */
	MODE_INSPECT,
	/* --configure ADDRESS [--write] (issue 16) */
	MODE_CONFIGURE,
};

enum deliver_mode {
	DELIVER_INTERACTIVE = 0, /* -odi (default): wait for the server */
	DELIVER_BACKGROUND,	 /* -odb: detached child */
	DELIVER_QUEUE,		 /* -odq: only queue */
};

struct opts {
	enum mode mode;
	int verbose;		 /* -v, may repeat */
	int read_recipients;	 /* -t */
	int ignore_dots;	 /* -i, -oi */
	const char *sender;	 /* -f/-r; "" is the null sender; NULL unset */
	const char *fullname;	 /* -F */
	const char *config_file; /* -C */
	const char *account;	 /* -a */
	const char *body_type;	 /* -B: "7BIT" or "8BITMIME" */
	const char *dsn_notify;	 /* -N */
	const char *dsn_return;	 /* -R: "full" or "hdrs" */
	const char *dsn_envid;	 /* -V */
	enum deliver_mode deliver;
	int json; /* --json with -bp or --inspect */

	/* Recipients from argv, comma lists split, blanks trimmed; owned. */
	char **rcpts;
	size_t nrcpts;

	/* --queue-drop / --queue-retry argument. */
	const char *queue_id;

	/* -q: --queue-run-due or -q<interval> honours the backoff; -qR, -qS
	 * and -qI restrict the run to entries whose recipient, sender or
	 * queue ID contains the substring (NULL: no restriction). */
	int queue_due;
	const char *queue_match_rcpt;
	const char *queue_match_sender;
	const char *queue_match_id;

	/* DKIM tools. */
	const char *dkim_type;	   /* --type */
	unsigned dkim_bits;	   /* --bits, 0 = default */
	const char *dkim_domain;   /* --domain */
	const char *dkim_selector; /* --selector */
	const char *dkim_out;	   /* --out */
	long long dkim_time;	   /* --dkim-time, -1 = now */
	const char *dkim_headers;  /* --dkim-headers h1:h2 */
	const char **dns_records;  /* --dns-record NAME=FILE, owned array */
	size_t ndns_records;

	/* --check-domain DOMAIN --ip ADDR (issue 13). */
	const char *check_domain;
	const char *check_ip;
	/* --inspect [FILE] [--trusted-hosts H1,H2] (issue 14). */
	const char *inspect_file;
	const char *inspect_trusted;
	int doctor_auth; /* --doctor --auth: log in for real */
	/* --oauth2-login: 0 auto, 1 --device, 2 --browser; --no-browser. */
	int oauth2_how;
	int oauth2_no_browser;
	/* --configure ADDRESS [--write] [--dns-server S] [--trust-file F]
	 * [--dns-trust-anchor F] [--https-port N] (issue 16). */
	const char *configure_addr;
	int configure_write;
	const char *configure_dns;
	const char *configure_anchor;
	const char *configure_trust;
	unsigned configure_port; /* 0: 443 */

	/* Storage behind sender (the brackets of -f <a@b> removed); owned. */
	char *owned_sender;
};

/*
 * Parse argv (argv[0]'s basename "mailq" selects MODE_QUEUE_LIST,
 * "newaliases" MODE_NEWALIASES).
 * Strings in *o point into argv except rcpts, which the caller frees with
 * opts_free().  Unknown options, missing arguments, and CR/LF/NUL in -f, -F
 * or recipients fail with ERR_USAGE naming the option.  Ignored options
 * are accepted silently, except -X, which prints a warning.
 */
int cli_parse(int argc, char **argv, struct opts *o, struct err *e);

/* The --help text (fits on one screen). */
void cli_usage(FILE *fp);

void opts_free(struct opts *o);

#endif
