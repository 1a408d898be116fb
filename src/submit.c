/*
 * submit.c -- sendmail mode, from stdin to "delivered" or "queued".
 *
 *   argv --> envelope sender, account, recipients (+ -t headers)
 *   stdin --> message_read --> message_complete --> message_make_safe
 *         --> e2e_submit (a copy per Bcc recipient when encrypting)
 *         --> dkim_sign_message, per copy
 *         --> hand-off (queue, then smarthost)
 *
 * Everything that can be refused (bad addresses, no recipients, a DKIM key
 * that does not load, an oversized message) is refused before the message
 * is accepted, so a failure here always exits non-zero and the caller keeps
 * the mail.  Non-goals: SMTP (smtp.c), storage and retries (queue.c, runq.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "buf.h"
#include "dkim.h"
#include "e2e.h"
#include "log.h"
#include "message.h"
#include "runq.h"
#include "smtp.h"
#include "privsep.h"
#include "submit.h"

/* Bytes of a Message-ID kept in the queue envelope (for logs). */
#define SUBMIT_MSGID_LOG_MAX 256

/* The envelope being built; strings owned. */
struct envelope {
	char *from; /* "" is the null sender */
	struct addr_list rcpts;
	int utf8; /* some address needs SMTPUTF8 */
	char *maildomain;
	char *local_user;	      /* login@maildomain */
	unsigned long long submitter; /* a dropped entry's uid, or 0: us */
	struct aliases *aliases;      /* the account's aliases file, or NULL */
	char host[2][256]; /* short host name, FQDN (local domains) */
	const char *local_domains[4];
	int no_fqdn;	  /* maildomain is a short host name */
	int fqdn_missing; /* an address needed the domain no_fqdn lacks */
};

static void
envelope_free(struct envelope *env)
{
	free(env->from);
	addr_list_free(&env->rcpts);
	free(env->maildomain);
	free(env->local_user);
	aliases_free(env->aliases);
}

static int
domain_ok(const char *domain)
{
	char probe[ADDR_MAX_PATH + 8];

	if (snprintf(probe, sizeof(probe), "x@%s", domain) >=
	    (int)sizeof(probe))
		return 0;
	return addr_check(probe, 0, NULL) == NULL;
}

/* maildomain, else /etc/mailname, else the EHLO name (the FQDN). */
static char *
find_maildomain(const struct account *a)
{
	char line[256];
	FILE *fp;

	if (a->maildomain != NULL)
		return xstrdup(a->maildomain);
	if ((fp = fopen("/etc/mailname", "r")) != NULL) {
		if (fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, " \t\r\n")] = '\0';
			if (line[0] != '\0' && domain_ok(line)) {
				fclose(fp);
				return xstrdup(line);
			}
		}
		fclose(fp);
	}
	return xstrdup(a->domain != NULL ? a->domain : "localhost");
}

/* The mail domain for bare names, or NULL when the machine has no fully
 * qualified name and nothing else gives one: then "root" is refused
 * (fqdn_why()) rather than sent as root@shortname. */
static char *
qual(const struct envelope *env, const char *addr)
{
	return addr_qualify(addr, env->no_fqdn ? NULL : env->maildomain);
}

#define FQDN_WHY                                                               \
	"cannot qualify it: the host name has no domain and neither "          \
	"maildomain nor /etc/mailname is set (set maildomain in the "          \
	"configuration, or write the mail domain to /etc/mailname)"

static const char *
fqdn_why(struct envelope *env, const char *addr, const char *why)
{
	if (env->no_fqdn && addr[0] != '\0' && addr_domain(addr) == NULL) {
		env->fqdn_missing = 1;
		return FQDN_WHY;
	}
	return why;
}

/* 1 (e filled) if a header address needs the domain we do not have. */
static int
unqualified(struct envelope *env, const struct message *m, struct err *e)
{
	const char *h;

	if (!env->no_fqdn || (h = message_unqualified(m)) == NULL)
		return 0;
	env->fqdn_missing = 1;
	err_set(e, ERR_CONFIG,
	    "the %s header has an address without a domain: " FQDN_WHY, h);
	return 1;
}

static int
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/*
 * allow_from_override off with a pattern as "from" (from *@example.org):
 * the envelope sender, whether from -f or the login name, must match it.
 * One that does not is never sent (ERR_AUTH, exit 77), before stdin is
 * read, so nothing is queued.
 */
static int
sender_allowed(const struct account *a, const char *from, struct err *e)
{
	if (a->allow_from_override || a->from == NULL || !has_glob(a->from) ||
	    config_from_matches(a, from))
		return 0;
	return err_set(e, ERR_AUTH,
	    "envelope sender '%s' is not allowed: account %s has "
	    "allow_from_override off and from %s",
	    from[0] != '\0' ? from : "<>", a->name, a->from);
}

/* -f, else the account's from (when it is an address, not a pattern),
 * else the login name at the mail domain. */
static int
find_sender(const struct opts *o, const struct account *a, struct envelope *env,
    struct err *e)
{
	const struct passwd *pw = getpwuid(
	    env->submitter != 0 ? (uid_t)env->submitter : privsep_caller_uid());
	const char *why;

	env->local_user = qual(env, pw != NULL ? pw->pw_name : "postmaster");
	if (o->sender != NULL && !a->allow_from_override && a->from != NULL &&
	    !has_glob(a->from)) {
		log_debug("-f %s ignored: account %s has allow_from_override "
			  "off",
		    o->sender, a->name);
		env->from = qual(env, a->from);
	} else if (o->sender != NULL)
		env->from =
		    o->sender[0] == '\0' ? xstrdup("") : qual(env, o->sender);
	else if (a->from != NULL && !has_glob(a->from))
		env->from = qual(env, a->from);
	else
		env->from = xstrdup(env->local_user);
	if ((why = addr_check(env->from, 1, &env->utf8)) != NULL)
		return err_set(e, o->sender ? ERR_USAGE : ERR_CONFIG,
		    "invalid sender address '%s': %s", env->from,
		    fqdn_why(env, env->from, why));
	return sender_allowed(a, env->from, e);
}

static int add_one_rcpt(struct envelope *env, const char *addr,
    enum err_kind kind, struct err *e);

/* A local recipient (root, root@localhost, root@<this host>) goes through
 * the aliases file when the account names one (aliases.h). */
static int
add_rcpt(struct envelope *env, const char *addr, enum err_kind kind,
    struct err *e)
{
	struct addr_list l = {0};
	size_t i;
	int r = 0;

	if (env->aliases == NULL || !aliases_is_local(addr, env->local_domains))
		return add_one_rcpt(env, addr, kind, e);
	r = aliases_expand(env->aliases, addr, env->local_domains, &l, e);
	for (i = 0; r == 0 && i < l.n; i++) {
		log_debug("alias: %s -> %s", addr, l.v[i]);
		r = add_one_rcpt(env, l.v[i], kind, e);
	}
	addr_list_free(&l);
	return r;
}

static int
add_one_rcpt(struct envelope *env, const char *addr, enum err_kind kind,
    struct err *e)
{
	char *q = qual(env, addr);
	const char *why;
	int utf8 = 0, r;
	size_t i;

	if ((why = addr_check(q, 0, &utf8)) != NULL) {
		err_set(e, env->no_fqdn ? ERR_CONFIG : kind,
		    "invalid recipient address '%s': %s", q,
		    fqdn_why(env, q, why));
		free(q);
		return -1;
	}
	env->utf8 |= utf8;
	/* Each recipient once, as in sendmail: "a, a" or -t plus argv. */
	for (i = 0; i < env->rcpts.n; i++)
		if (strcmp(env->rcpts.v[i], q) == 0) {
			free(q);
			return 0;
		}
	r = addr_list_add(&env->rcpts, q, strlen(q), e);
	free(q);
	return r;
}

/* argv recipients, plus the header recipients with -t. */
static int
find_rcpts(const struct opts *o, const struct message *m, struct envelope *env,
    struct err *e)
{
	const struct addr_list *hdr;
	size_t i;

	for (i = 0; i < o->nrcpts; i++)
		if (add_rcpt(env, o->rcpts[i], ERR_DATA, e) == -1)
			return -1;
	if (o->read_recipients) {
		if (message_rcpts(m, &hdr, e) == -1)
			return -1;
		for (i = 0; i < hdr->n; i++)
			if (add_rcpt(env, hdr->v[i], ERR_DATA, e) == -1)
				return -1;
	}
	if (env->rcpts.n == 0)
		return err_set(e, ERR_USAGE,
		    o->read_recipients
			? "no recipients: none on the command line and "
			  "none in To, Cc or Bcc"
			: "no recipients given (use -t to read them from "
			  "the headers)");
	return 0;
}

/*
 * addr_map_fn for From, To and Cc with "aliases_headers on": a local
 * address (bare, @localhost, @<host name>) through the aliases file, when
 * it stands for exactly one address (a list stays an envelope matter);
 * else NULL and the address is only qualified.
 */
static char *
alias_map(void *arg, const char *spec)
{
	const struct envelope *env = arg;
	struct addr_list l = {0};
	struct err e;
	char *r = NULL;

	if (!aliases_is_local(spec, env->local_domains))
		return NULL;
	if (aliases_expand(env->aliases, spec, env->local_domains, &l, &e) ==
		0 &&
	    l.n == 1)
		r = qual(env, l.v[0]);
	addr_list_free(&l);
	if (r != NULL && addr_check(r, 0, NULL) != NULL) {
		free(r);
		r = NULL;
	}
	if (r != NULL)
		log_debug("alias (header): %s -> %s", spec, r);
	return r;
}

static enum message_policy
policy(enum set_header s)
{
	return s == SETHDR_ON	 ? MSG_ALWAYS
	       : s == SETHDR_OFF ? MSG_NEVER
				 : MSG_AUTO;
}

static int
complete(const struct opts *o, const struct account *a,
    const struct envelope *env, long long now, struct message *m, struct err *e)
{
	/* -B 7BIT, or a smarthost without 8BITMIME: re-encode 8-bit bodies
	 * now, before signing, so the signature covers what is sent. */
	/* End-to-end protection signs 7-bit entities (RFC 3156 3). */
	int allow_8bit =
	    a->smtp_8bitmime && !e2e_active(a) &&
	    (o->body_type == NULL || ascii_casecmp(o->body_type, "7BIT") != 0);
	struct message_complete_opts co = {0};
	const char *d = addr_domain(env->from);

	co.envelope_from = env->from;
	/* A missing From: names the envelope sender; for the null sender
	 * (bounces, notices) the local user at the mail domain. */
	co.from_addr = env->from[0] != '\0' ? env->from : env->local_user;
	co.fullname = o->fullname;
	co.msgid_domain = d != NULL ? d : env->maildomain;
	co.set_from = policy(a->set_from_header);
	co.set_date = policy(a->set_date_header);
	co.set_msgid = policy(a->set_msgid_header);
	co.remove_bcc = a->remove_bcc_headers;
	co.undisclosed_recipients = a->undisclosed_recipients;
	co.now = now;
	co.qualify_domain = env->no_fqdn ? NULL : env->maildomain;
	if (a->rewrite_local_from)
		co.local_from = env->from;
	if (env->aliases != NULL && a->aliases_headers) {
		co.header_map = alias_map;
		co.header_map_arg = (void *)(uintptr_t)env;
	}
	if (message_complete(m, &co, e) == -1)
		return -1;
	return message_make_safe(m, allow_8bit, e);
}

/* Sign with every configured key; a failure stops the submission unless
 * the account says "dkim_on_error send". */
static int
sign(const struct account *a, struct message *m, struct err *e)
{
	struct dkim_signer *s = NULL;
	int r;

	if (a->ndkim_keys == 0)
		return 0;
	r = dkim_signer_load(a, &s, e);
	if (r == 0 && a->dkim_expire > 0)
		dkim_signer_set_expire(s, a->dkim_expire);
	if (r == 0)
		r = dkim_sign_message(s, m, -1, NULL, e);
	dkim_signer_free(s);
	if (r == -1 && a->dkim_on_error_send) {
		log_warn("DKIM signing failed, sending unsigned: %s", e->text);
		return 0;
	}
	return r;
}

static int
write_message(void *arg, int fd, struct err *e)
{
	return message_write(arg, fd, e);
}

/*
 * The Message-ID as the queue keeps it, for logs only: white space runs
 * (a folded field keeps its TAB) and control characters become one space,
 * and it is cut at a character boundary to fit out (an ellipsis marks the
 * cut).  A log-only value is never a reason to refuse mail.  NULL if the
 * message has none, or only white space.
 */
static const char *
log_msgid(const char *v, char *out, size_t size)
{
	size_t i, n = 0;
	int space = 0, cut = 0;

	if (v == NULL || size < 8)
		return NULL;
	for (i = 0; v[i] != '\0' && !cut; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= ' ' || c == 0x7f) {
			space = n > 0;
		} else if (n + (space ? 2 : 1) > size - 1) {
			cut = 1;
		} else {
			if (space)
				out[n++] = ' ';
			out[n++] = (char)c;
			space = 0;
		}
	}
	if (cut) {
		if (n > size - 4)
			n = size - 4;
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return n > 0 ? out : NULL;
}

/* Spool first, then deliver as -od says (runq.c). */
static int
hand_off(const struct opts *o, const struct config *cfg,
    const struct account *a, const struct envelope *env, struct message *m,
    struct err *e)
{
	struct queue_envelope qe = {0};
	char msgid[SUBMIT_MSGID_LOG_MAX + 1];

	qe.account = a->name;
	qe.from = env->from;
	qe.rcpts = (const char *const *)env->rcpts.v;
	qe.nrcpts = env->rcpts.n;
	qe.dsn_notify = o->dsn_notify != NULL ? o->dsn_notify : a->dsn_notify;
	qe.dsn_return = o->dsn_return != NULL ? o->dsn_return : a->dsn_return;
	qe.dsn_envid = o->dsn_envid;
	/* What is left 8-bit after make_safe() (or -B 8BITMIME) is declared. */
	qe.body_8bit = message_has_8bit(m) ||
		       (o->body_type != NULL &&
			   ascii_casecmp(o->body_type, "8BITMIME") == 0);
	qe.smtputf8 = env->utf8;
	qe.size = message_size(m);
	return runq_submit(cfg, a, &qe, write_message, m, o->deliver,
	    log_msgid(message_get(m, "Message-ID"), msgid, sizeof(msgid)), e);
}

/* One copy from e2e_submit(): DKIM-signed, then handed off to rcpts. */
struct copy_ctx {
	const struct opts *o;
	const struct config *cfg;
	const struct account *a;
	const struct envelope *env;
};

static int
send_copy(void *arg, char **rcpts, size_t n, struct message *m, struct err *e)
{
	const struct copy_ctx *cc = arg;
	struct envelope sub = *cc->env; /* shallow: not freed */

	sub.rcpts.v = rcpts;
	sub.rcpts.n = n;
	if (sign(cc->a, m, e) == -1)
		return -1;
	return hand_off(cc->o, cc->cfg, cc->a, &sub, m, e);
}

/* The account's aliases file and the domains that count as local. */
static int
local_names(const struct account *a, struct envelope *env, struct err *e)
{
	size_t n = 0;

	if (a->aliases == NULL)
		return 0;
	env->local_domains[n++] = "localhost";
	if (gethostname(env->host[0], sizeof(env->host[0])) == 0) {
		env->host[0][sizeof(env->host[0]) - 1] = '\0';
		env->local_domains[n++] = env->host[0];
	}
	if (a->domain != NULL &&
	    str_copy(env->host[1], a->domain, sizeof(env->host[1])) == 0)
		env->local_domains[n++] = env->host[1];
	env->local_domains[n] = NULL;
	return aliases_load(a->aliases, &env->aliases, e);
}

/*
 * Everything a submission does before the hand-off: the envelope, the
 * message read, its recipients (required unless for the --dkim-sign filter),
 * its headers completed with the time now (-1: the current time), and the
 * body made SMTP-safe.  On success the caller frees *mp and env.
 */
static int
prepare(const struct opts *o, const struct account *a, int need_rcpts,
    long long now, int fd, struct envelope *env, struct message **mp,
    struct err *e)
{
	struct message_read_opts ro = {0};

	env->maildomain = find_maildomain(a);
	env->no_fqdn =
	    a->maildomain == NULL && strchr(env->maildomain, '.') == NULL;
	ro.ignore_dots = o->ignore_dots;
	ro.stdin_is_tty = isatty(fd);
	ro.max_size = a->max_message_size;
	if ((need_rcpts && local_names(a, env, e) == -1) ||
	    find_sender(o, a, env, e) == -1 ||
	    message_read(fd, &ro, mp, e) == -1)
		return -1;
	if (need_rcpts && find_rcpts(o, *mp, env, e) == -1)
		return -1;
	if (need_rcpts && unqualified(env, *mp, e))
		return -1;
	return complete(o, a, env, now, *mp, e);
}

static int hold_no_fqdn(const struct opts *o, int fd, struct message *m,
    struct err *e);

int
submit(const struct opts *o, const struct config *cfg, struct err *e)
{
	return submit_fd(o, cfg, STDIN_FILENO, e);
}

int
submit_fd(const struct opts *o, const struct config *cfg, int fd, struct err *e)
{
	struct envelope env = {0};
	struct message *m = NULL;
	const struct account *a;
	int r = -1;

	if ((a = config_find(cfg, o->account, o->sender, e)) == NULL)
		return -1;
	/* A configuration error is reported now, never from a queue entry. */
	if (smtp_check_account(a, e) == -1)
		return err_prefix(e, "%s:%u: account %s", a->file, a->line,
		    a->name);
	/* Signed and encrypted before spooling (e2e.c): a queue run sends
	 * exactly these bytes, and an "always" refusal is reported now. */
	if (prepare(o, a, 1, -1, fd, &env, &m, e) == 0) {
		struct copy_ctx cc = {o, cfg, a, &env};
		r = e2e_submit(a, env.from, env.rcpts.v, env.rcpts.n, m,
		    send_copy, &cc, e);
	} else if (env.fqdn_missing)
		r = hold_no_fqdn(o, fd, m, e);
	message_free(m);
	envelope_free(&env);
	return r;
}

int
submit_dkim_filter(const struct opts *o, const struct config *cfg,
    struct err *e)
{
	struct dkim_signer *s = NULL;
	struct envelope env = {0};
	struct message *m = NULL;
	const struct account *a;
	int r = -1;

	if ((a = config_find(cfg, o->account, o->sender, e)) == NULL)
		return -1;
	if (a->ndkim_keys == 0)
		return err_set(e, ERR_CONFIG, "account %s has no dkim_key",
		    a->name);
	/* Keys first: a bad key is reported before stdin is read. */
	if (dkim_signer_load(a, &s, e) == -1)
		return -1;
	if (a->dkim_expire > 0)
		dkim_signer_set_expire(s, a->dkim_expire);
	if (prepare(o, a, 0, o->dkim_time, STDIN_FILENO, &env, &m, e) == 0 &&
	    dkim_sign_message(s, m, o->dkim_time, o->dkim_headers, e) == 0)
		r = message_write(m, STDOUT_FILENO, e);
	message_free(m);
	envelope_free(&env);
	dkim_signer_free(s);
	return r;
}

/* ---- without a usable configuration (issue 9) ---- */

#ifndef SYSCONFDIR_POSTSEAL
#define SYSCONFDIR_POSTSEAL "/etc/postseal"
#endif

/*
 * The options a held entry keeps (queue.c's "held" value), beside what
 * the envelope holds anyway (-a as the account, "*" for none; -f as the
 * sender; -N, -R, -V; the recipients, -t's included):
 * "f=0|1 B=7BIT|8BITMIME|- F=<the full name: the rest of the line>".
 */
static int
held_encode(const struct opts *o, char *out, size_t size)
{
	int n = snprintf(out, size, "f=%d B=%s F=%s", o->sender != NULL,
	    o->body_type != NULL ? o->body_type : "-",
	    o->fullname != NULL ? o->fullname : "");

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Fill o from a held entry; strings point into env. */
static int
held_decode(const struct queue_envelope *env, struct opts *o, struct err *e)
{
	const char *h = env->held, *f;

	if (strncmp(h, "f=", 2) != 0 || (h[2] != '0' && h[2] != '1') ||
	    (f = strstr(h, " F=")) == NULL)
		return err_set(e, ERR_DATA, "malformed held entry");
	o->sender = h[2] == '1' ? env->from : NULL;
	if (strncmp(h + 3, " B=7BIT ", 8) == 0)
		o->body_type = "7BIT";
	else if (strncmp(h + 3, " B=8BITMIME ", 12) == 0)
		o->body_type = "8BITMIME";
	o->fullname = f[3] != '\0' ? f + 3 : NULL;
	o->account = strcmp(env->account, "*") != 0 ? env->account : NULL;
	o->dsn_notify = env->dsn_notify;
	o->dsn_return = env->dsn_return;
	o->dsn_envid = env->dsn_envid;
	o->ignore_dots = 1; /* the stored bytes are the whole message */
	o->deliver = DELIVER_QUEUE;
	return 0;
}

/* argv's recipients and, with -t, the headers': borrowed, caller frees
 * the array. */
static int
held_rcpts(const struct opts *o, const struct message *m, const char ***out,
    size_t *n, struct err *e)
{
	const struct addr_list *hdr = NULL;
	size_t i;

	*out = NULL;
	*n = 0;
	if (o->read_recipients && message_rcpts(m, &hdr, e) == -1)
		return -1;
	*out =
	    xcalloc(o->nrcpts + (hdr != NULL ? hdr->n : 0) + 1, sizeof(**out));
	for (i = 0; i < o->nrcpts; i++)
		(*out)[(*n)++] = o->rcpts[i];
	for (i = 0; hdr != NULL && i < hdr->n; i++)
		(*out)[(*n)++] = hdr->v[i];
	if (*n == 0)
		return err_set(e, ERR_USAGE, "no recipients given");
	return 0;
}

static int
system_queue(const struct opts *o)
{
	size_t n = strlen(SYSCONFDIR_POSTSEAL);

	return privsep_is_sender() &&
	       (o->config_file == NULL ||
		   (strncmp(o->config_file, SYSCONFDIR_POSTSEAL, n) == 0 &&
		       o->config_file[n] == '/'));
}

/*
 * Issue 10: every address in the From and Sender fields of a local user's
 * message through the system account must be a local one or one the
 * policy's allow_from gives the user (privsep_policy_check()).  Checked
 * in the user's process, for a synchronous 77, and again by the sender.
 */
static int
header_senders_ok(const struct message *m, uid_t uid, const char *account,
    struct err *e)
{
	static const char *const names[] = {"From", "Sender"};
	struct addr_list l = {0};
	const char *v;
	size_t i;
	int use, r = 0;

	for (i = 0; r == 0 && i < 2; i++)
		if ((v = message_get(m, names[i])) != NULL)
			r = addr_parse_list(v, strlen(v), &l, e);
	for (i = 0; r == 0 && i < l.n; i++)
		r = privsep_policy_check(SYSCONFDIR_POSTSEAL "/policy", uid,
		    account, l.v[i], &use, e);
	addr_list_free(&l);
	return r;
}

/* Store the message (read from fd unless given as rm, exactly as read);
 * with drop, hand it to the drop step instead.  id and dir say where. */
static int
hold(const struct opts *o, int fd, struct message *rm, const struct err *why,
    int drop, char *id, char *dir, size_t dirsize, struct err *e)
{
	struct message_read_opts ro = {0};
	struct queue_envelope qe = {0};
	struct message *m = rm;
	const char **rcpts = NULL;
	char held[QUEUE_MAX_VALUE + 1];
	size_t n = 0;
	int r = -1;

	ro.ignore_dots = o->ignore_dots;
	ro.stdin_is_tty = isatty(fd);
	if ((m == NULL && message_read(fd, &ro, &m, e) == -1) ||
	    held_rcpts(o, m, &rcpts, &n, e) == -1)
		goto out;
	if (held_encode(o, held, sizeof(held)) == -1) {
		err_set(e, ERR_USAGE, "the full name (-F) is too long");
		goto out;
	}
	qe.account = o->account != NULL ? o->account : "*";
	qe.from = o->sender != NULL ? o->sender : "";
	qe.rcpts = rcpts;
	qe.nrcpts = n;
	qe.dsn_notify = o->dsn_notify;
	qe.dsn_return = o->dsn_return;
	qe.dsn_envid = o->dsn_envid;
	qe.msgid = message_get(m, "Message-ID");
	qe.body_8bit = message_has_8bit(m);
	qe.held = held;
	if (drop && header_senders_ok(m, getuid(), qe.account, e) == -1)
		r = -1;
	else if (drop)
		r = privsep_submit(&qe, write_message, m, message_size(m), e);
	else
		r = runq_hold(system_queue(o), &qe, write_message, m, why, id,
		    dir, dirsize, e);
out:
	free(rcpts);
	if (m != rm)
		message_free(m);
	return r;
}

int
submit_unconfigured(const struct opts *o, const struct err *why, struct err *e)
{
	char id[QUEUE_ID_LEN + 1], dir[PATH_MAX];
	struct err he;

	if (hold(o, STDIN_FILENO, NULL, why, 0, id, dir, sizeof(dir), &he) ==
	    -1) {
		err_set(e,
		    he.kind == ERR_USAGE || he.kind == ERR_DATA ? he.kind
								: why->kind,
		    "%s; the message was not queued either: %s", why->text,
		    he.text);
		return -1;
	}
	log_error("%s", why->text);
	log_warn("the configuration cannot be used, so the message is held "
		 "in the queue as %s (%s); the first queue run (postseal -q) "
		 "after the configuration is fixed sends it",
	    id, dir);
	return 0;
}

/*
 * Issue 9: an address needs the mail domain, and the machine has no fully
 * qualified name, no /etc/mailname and no maildomain.  Rather than send
 * root@shortname or lose cron's mail, hold it (as for a configuration that
 * cannot be used) with the reason as its last error; said once, with the
 * fix.  m: the message if prepare() read it already (unchanged: it fails
 * before completing the header), else it is read from fd now.
 */
static int
hold_no_fqdn(const struct opts *o, int fd, struct message *m, struct err *e)
{
	char id[QUEUE_ID_LEN + 1], dir[PATH_MAX];
	struct err why = *e, he;

	if (hold(o, fd, m, &why, 0, id, dir, sizeof(dir), &he) == -1) {
		err_set(e,
		    he.kind == ERR_USAGE || he.kind == ERR_DATA ? he.kind
								: why.kind,
		    "%s; the message was not queued either: %s", why.text,
		    he.text);
		return -1;
	}
	log_warn("%s; the message is held in the queue as %s (%s), and the "
		 "first queue run (postseal -q) after the fix sends it",
	    why.text, id, dir);
	return 0;
}

/* Every file of the system configuration we would read can be read. */
static int
system_readable(void)
{
	const char *dir = SYSCONFDIR_POSTSEAL "/accounts";
	char path[PATH_MAX];
	struct dirent *de;
	size_t n;
	DIR *d;
	int ok = 1;

	if (access(SYSCONFDIR_POSTSEAL "/config", F_OK) == 0 &&
	    access(SYSCONFDIR_POSTSEAL "/config", R_OK) != 0)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT;
	while (ok && (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			(int)sizeof(path) ||
		    access(path, R_OK) != 0)
			ok = 0;
	}
	closedir(d);
	return ok;
}

int
submit_via_drop(const struct opts *o)
{
	return (o->mode == MODE_SEND || o->mode == MODE_SMTP ||
		   o->mode == MODE_QUEUE_LIST) &&
	       !privsep_is_sender() && config_is_system(o->config_file) &&
	       !system_readable();
}

int
submit_drop(const struct opts *o, struct err *e)
{
	char id[QUEUE_ID_LEN + 1], dir[PATH_MAX];
	struct err why = {0};

	return hold(o, STDIN_FILENO, NULL, &why, 1, id, dir, sizeof(dir), e);
}

int
submit_drop_fd(const struct opts *o, int fd, struct err *e)
{
	char id[QUEUE_ID_LEN + 1], dir[PATH_MAX];
	struct err why = {0};

	return hold(o, fd, NULL, &why, 1, id, dir, sizeof(dir), e);
}

struct release {
	const struct config *cfg;
};

/* The held entry's recipients, qualified and checked now. */
static int
held_rcpts_add(const struct queue_envelope *qenv, struct envelope *env,
    struct err *e)
{
	size_t i;

	for (i = 0; i < qenv->nrcpts; i++)
		if (add_rcpt(env, qenv->rcpts[i], ERR_DATA, e) == -1)
			return -1;
	return 0;
}

/* runq_release_fn: a held entry, now with a configuration. */
static int
release_held(void *arg, const struct queue_envelope *qenv, int fd,
    struct err *e)
{
	const struct release *rel = arg;
	struct account shared;
	int use;
	struct message_read_opts ro = {0};
	struct envelope env = {0};
	struct message *m = NULL;
	const struct account *a;
	struct opts o;
	int r = -1;

	memset(&o, 0, sizeof(o));
	if (held_decode(qenv, &o, e) == -1 ||
	    (a = config_find(rel->cfg, o.account, o.sender, e)) == NULL)
		return -1;
	if (qenv->uid != 0) {
		/* A local user's message through the drop step (SECURITY.md
		 * P8): the policy again (it may have changed, and we trust
		 * nothing the drop step wrote), then the account's own sender
		 * unless allow_from allows the user's -f; the login name is
		 * the submitter's, not ours. */
		if (privsep_policy_check(SYSCONFDIR_POSTSEAL "/policy",
			(uid_t)qenv->uid, qenv->account, o.sender, &use,
			e) == -1)
			return -1;
		shared = *a;
		shared.allow_from_override = use;
		a = &shared;
		env.submitter = qenv->uid;
	}
	env.maildomain = find_maildomain(a);
	env.no_fqdn =
	    a->maildomain == NULL && strchr(env.maildomain, '.') == NULL;
	ro.ignore_dots = 1;
	ro.max_size = a->max_message_size;
	if (local_names(a, &env, e) == 0 && find_sender(&o, a, &env, e) == 0 &&
	    message_read(fd, &ro, &m, e) == 0 &&
	    (qenv->uid == 0 || header_senders_ok(m, (uid_t)qenv->uid,
				   qenv->account, e) == 0) &&
	    held_rcpts_add(qenv, &env, e) == 0 && !unqualified(&env, m, e) &&
	    complete(&o, a, &env, -1, m, e) == 0 && sign(a, m, e) == 0)
		r = hand_off(&o, rel->cfg, a, &env, m, e);
	/* Still no mail domain: stays held (retried), never failed. */
	if (r == -1 && env.fqdn_missing)
		e->kind = ERR_TEMP;
	message_free(m);
	envelope_free(&env);
	return r;
}

void
submit_release_held(const struct config *cfg)
{
	struct release rel = {cfg};

	runq_release_held(cfg, release_held, &rel);
}
