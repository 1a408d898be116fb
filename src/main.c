/*
 * main.c -- wiring: argv and config in, one mode run, a struct err turned
 * into the exit status.  The only exit() outside fatal().
 *
 * Invariant (STYLE.md): exit 0 only after a 2xx to the final "." or once
 * the message and its envelope are durably queued.  Anything else exits
 * non-zero so the caller keeps the mail.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <sodium.h>

#include "addr.h"
#include "aliases.h"
#include "buf.h"
#include "cli.h"
#include "config.h"
#include "dkim.h"
#include "dkim_tool.h"
#include "discover.h"
#include "doctor.h"
#include "inspect.h"
#include "log.h"
#include "message.h"
#include "oauth2.h"
#include "privsep.h"
#include "installdirs.h"
#include "runq.h"
#include "server.h"
#include "smtp.h"
#include "state.h"
#include "submit.h"

/* No core dumps while secrets may be in memory; files we create are ours. */
static void
harden_process(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	/* A file size limit must be an error we report, not a silent death. */
	signal(SIGXFSZ, SIG_IGN);
#ifdef HAVE_SYS_PRCTL_H
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	umask(077);
}

static int
run_serverinfo(const struct opts *o, const struct config *cfg, struct err *e)
{
	const struct account *a;

	if ((a = config_find(cfg, o->account, o->sender, e)) == NULL)
		return -1;
	/* Issue 11: the token state and whether a grant works now; the
	 * server is shown either way, the grant's failure is the result. */
	if (oauth2_enabled(a) && oauth2_report(a, stdout, e) == -1) {
		struct err se = {0};

		fflush(stdout);
		if (smtp_serverinfo(a, a->hosts[0], stdout, &se) == -1)
			log_warn("%s", se.text);
		return -1;
	}
	return smtp_serverinfo(a, a->hosts[0], stdout, e);
}

/* -q, --queue-run-due, -qR/-qS/-qI. */
static int
run_queue(const struct opts *o, const struct config *cfg, struct err *e)
{
	struct runq_select sel;

	sel.due_only = o->queue_due;
	sel.rcpt = o->queue_match_rcpt;
	sel.sender = o->queue_match_sender;
	sel.id = o->queue_match_id;
	return runq_run_select(cfg, &sel, isatty(STDERR_FILENO), e);
}

/* Issue 9: a caller's mail is never lost to a configuration that cannot
 * be read or parsed: sendmail mode holds it in the queue (exit 0 only once
 * it is queued); the other modes just fail. */
static int
config_unusable(const struct opts *o, struct err *e)
{
	struct err why = *e;

	if (o->mode != MODE_SEND)
		return -1;
	return submit_unconfigured(o, &why, e);
}

/* newaliases, -bi, -I: check every account's aliases file (there is no
 * database to build); the first bad line is the error. */
static int
run_newaliases(const struct config *cfg, struct err *e)
{
	struct aliases *al;
	size_t i, j, checked = 0;

	for (i = 0; i < cfg->naccounts; i++) {
		const char *f = cfg->accounts[i].aliases;
		for (j = 0; f != NULL && j < i; j++)
			if (cfg->accounts[j].aliases != NULL &&
			    strcmp(cfg->accounts[j].aliases, f) == 0)
				break;
		if (f == NULL || j < i)
			continue;
		if (aliases_load(f, &al, e) == -1)
			return -1;
		printf("%s: %zu aliases\n", f, aliases_count(al));
		aliases_free(al);
		checked++;
	}
	if (checked == 0)
		printf("no aliases file configured (see \"aliases\" in "
		       "postseal.conf(5))\n");
	return 0;
}

static int
run_oauth2_login(const struct opts *o, const struct config *cfg, struct err *e)
{
	static const enum oauth2_login_how how[3] = {OAUTH2_LOGIN_AUTO,
	    OAUTH2_LOGIN_DEVICE, OAUTH2_LOGIN_BROWSER};
	const struct account *a;

	if ((a = config_find(cfg, o->account, o->sender, e)) == NULL)
		return -1;
	if (!oauth2_enabled(a))
		return err_set(e, ERR_CONFIG,
		    "account %s: no oauth2_provider "
		    "or oauth2_flow set",
		    a->name);
	return oauth2_login(a, how[o->oauth2_how], o->oauth2_no_browser, stdout,
	    e);
}

/* The modes that need no configuration; 1 if o->mode is not one. */
static int
run_unconfigured(const struct opts *o, int *r, struct err *e)
{
	switch (o->mode) {
	case MODE_VERSION:
		printf("postseal %s\nTLS: GnuTLS; SASL: GNU SASL; "
		       "crypto: libsodium %s\n"
		       "system configuration: %s\nsystem queue: %s\n",
		    PACKAGE_VERSION, sodium_version_string(),
		    SYSCONFDIR_POSTSEAL, POSTSEAL_SYSTEM_QUEUE);
		*r = 0;
		return 0;
	case MODE_HELP:
		cli_usage(stdout);
		*r = 0;
		return 0;
	case MODE_DKIM_KEYGEN:
		*r = dkim_tool_keygen(o, e);
		return 0;
	case MODE_DKIM_VERIFY:
		*r = dkim_tool_verify(o, e);
		return 0;
	case MODE_CHECK_DOMAIN: /* 0 clean, 1 errors found (issue 13) */
		*r = doctor_check_domain(o, stdout, e);
		return 0;
	case MODE_INSPECT: /* 0 authenticated and aligned, 1 not (issue 14) */
		*r = inspect_run(o, stdout, e);
		return 0;
	case MODE_DOCTOR: /* 0 clean, 1 errors found (issue 13) */
		*r = doctor_run(o, stdout, e);
		return 0;
	case MODE_CONFIGURE: /* issue 16: writes no more than -C or the
				user's file, which it creates */
		*r = discover_run(o, stdout, e);
		return 0;
	default:
		return 1;
	}
}

/* The modes that read the configuration cfg. */
static int
run_configured(const struct opts *o, const struct config *cfg, struct err *e)
{
	int r;

	/* The sender's caches (TLS sessions, the CA index, SCRAM) for the
	 * system account belong with the system queue, not in a home. */
	if (privsep_is_sender() && runq_is_system(cfg))
		(void)state_set_dir(POSTSEAL_SYSTEM_QUEUE "/state");
	switch (o->mode) {
	case MODE_DKIM_SIGN:
		return submit_dkim_filter(o, cfg, e);
	case MODE_SERVERINFO:
		return run_serverinfo(o, cfg, e);
	case MODE_OAUTH2:
		return run_oauth2_login(o, cfg, e);
	case MODE_QUEUE_RUN:
		submit_release_held(cfg);
		r = run_queue(o, cfg, e);
		runq_write_status(cfg);
		return r;
	case MODE_QUEUE_LIST:
		return runq_list(cfg, o->json, stdout, e);
	case MODE_QUEUE_DROP:
		return runq_drop(cfg, o->queue_id, e);
	case MODE_QUEUE_RETRY:
		return runq_retry(cfg, o->queue_id, e);
	case MODE_SMTP:
		return server_run(o, cfg, STDIN_FILENO, STDOUT_FILENO, e);
	case MODE_NEWALIASES:
		return run_newaliases(cfg, e);
	default:
		return submit(o, cfg, e);
	}
}

/*
 * Root about to use the system configuration (found by default, or a file
 * of it named with -C) goes on as the system queue's own user, the
 * sender (privsep.c), before it reads a byte of it.
 */
static int
become_sender(const struct opts *o, struct err *e)
{
	size_t n = strlen(SYSCONFDIR_POSTSEAL);
	int sys;

	if (geteuid() != 0)
		return 0;
	sys = o->config_file == NULL
		  ? config_is_system(NULL)
		  : strncmp(o->config_file, SYSCONFDIR_POSTSEAL, n) == 0 &&
			o->config_file[n] == '/';
	return sys ? privsep_become_sender(e) : 0;
}

static int
run_mode(const struct opts *o, struct err *e)
{
	struct config *cfg = NULL;
	int r = -1;

	if (run_unconfigured(o, &r, e) == 0)
		return r;
	if (become_sender(o, e) == -1)
		return -1;
	if (submit_via_drop(o)) {
		if (o->mode == MODE_QUEUE_LIST)
			return privsep_mailq(o->json, e);
		if (o->mode == MODE_SMTP) /* each message: the drop step */
			return server_run(o, NULL, STDIN_FILENO, STDOUT_FILENO,
			    e);
		return submit_drop(o, e);
	}
	if (config_load(o->config_file, &cfg, e) == -1) {
		if (o->mode == MODE_SMTP) {
			server_refuse(STDOUT_FILENO, e);
			return -1;
		}
		return config_unusable(o, e);
	}
	r = run_configured(o, cfg, e);
	config_free(cfg);
	return r;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct err e = {0};
	int r;

	harden_process();
	log_init("postseal");
	if (sodium_init() < 0) {
		log_error("cannot initialise libsodium");
		return EX_SOFTWARE;
	}
	if (cli_parse(argc, argv, &o, &e) == -1) {
		log_error("%s", e.text);
		if (e.kind == ERR_USAGE)
			fputs("Try 'postseal --help'.\n", stderr);
		opts_free(&o);
		return err_exit_code(e.kind);
	}
	log_set_verbose(o.verbose);
	r = run_mode(&o, &e);
	opts_free(&o);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (r >= 0)
			err_set(&e, ERR_IO,
			    "write error on standard output: %s",
			    strerror(errno));
		r = -1;
	}
	if (r == 0)
		return EX_OK;
	/* --check-domain, --doctor: a finding is an error; --inspect */
	if (r == 1)
		return 1;
	log_error("%s", e.text);
	return err_exit_code(e.kind);
}
