/*
 * deliver.c -- one delivery attempt of one message through one account.
 *
 * Tries the account's smarthosts in order: a connection failure or a
 * temporary reply (4xx, timeout, TLS failure, protocol error) moves on to
 * the next host; a permanent reply (5xx), an authentication failure or a
 * configuration error stops at once, since another host of the same
 * provider would answer the same.  A connection that worked is kept in
 * *connp for the next message of a queue run (RSET between messages).
 *
 * Recipients: the message goes to those the server accepts; each refused
 * one keeps its own reply.  Recipients refused as "too many for one
 * transaction" (452) are sent at once in a further transaction on the
 * same connection, for as long as each transaction delivers to someone.
 *
 * Non-goals: retries over time and the queue (runq.c), message content.
 * Every transaction ends in log lines (log_delivery()): one for the
 * recipients it delivered to, one per refused recipient, or one for all
 * when it failed as a whole.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "oauth2.h"

struct deliver_conn {
	const struct account *account;
	struct smtp_session *session;
	size_t host; /* index into account->hosts */
};

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
deliver_close(struct deliver_conn *c)
{
	if (c == NULL)
		return;
	smtp_close(c->session);
	free(c);
}

/* Errors after which trying another smarthost may help. */
static int
next_host_helps(const struct err *e)
{
	return err_is_temporary(e);
}

/* The secret for AUTH: an OAuth2 access token (issue 11) or the
 * password/passwordeval.  rejected: the token a server just refused. */
static int
get_secret(const struct account *a, const char *rejected, char **out,
    struct err *e)
{
	if (oauth2_enabled(a))
		return oauth2_token(a, rejected, out, e);
	return config_password(a, out, e);
}

/* A server refused a bearer token that looked valid (RFC 7628 3.2.2):
 * once per connection attempt, obtain a fresh one and try again. */
static int
token_refused(const struct account *a, const struct err *e)
{
	return oauth2_enabled(a) && e->kind == ERR_AUTH && e->smtp_code >= 500;
}

/* Open a session on the first host from *hostp on that accepts us. */
static int
open_session(const struct account *a, size_t *hostp, struct smtp_session **sp,
    struct err *e)
{
	char *password = NULL, *fresh = NULL;
	int r = -1, retried = 0;
	size_t i;

	if (get_secret(a, NULL, &password, e) == -1)
		return -1;
	for (i = *hostp; i < a->nhosts; i++) {
		if (smtp_open(a, a->hosts[i], password, sp, e) == 0) {
			*hostp = i;
			r = 0;
			break;
		}
		if (!retried && token_refused(a, e)) {
			retried = 1;
			log_debug("%s: token refused; obtaining a new one",
			    a->hosts[i]);
			if (get_secret(a, password, &fresh, e) == -1)
				break;
			str_wipe_free(password);
			password = fresh;
			i--; /* the same host again */
			continue;
		}
		if (!next_host_helps(e))
			break;
		if (i + 1 < a->nhosts)
			log_debug("%s: %s; trying %s", a->hosts[i], e->text,
			    a->hosts[i + 1]);
	}
	str_wipe_free(password);
	return r;
}

/* Reuse *connp if it is still good, else open a new connection. */
static int
get_conn(const struct account *a, struct deliver_conn **connp, size_t first,
    struct err *e)
{
	struct deliver_conn *c = *connp;
	struct err ignored;

	if (c != NULL && c->account == a && c->host >= first &&
	    smtp_reset(c->session, &ignored) == 0)
		return 0;
	deliver_close(c);
	*connp = NULL;
	c = xcalloc(1, sizeof(*c));
	c->account = a;
	c->host = first;
	if (open_session(a, &c->host, &c->session, e) == -1) {
		free(c);
		return -1;
	}
	*connp = c;
	return 0;
}

static void
log_attempt(const struct account *a, const struct deliver_conn *c,
    const struct smtp_envelope *env, const char *msgid, double t0,
    const struct err *e)
{
	struct log_record rec = {0};

	rec.account = a->name;
	rec.host = c != NULL ? a->hosts[c->host] : a->hosts[0];
	rec.tls = c != NULL ? smtp_tls_info(c->session) : NULL;
	rec.auth = c != NULL ? smtp_auth_mech(c->session) : NULL;
	rec.from = env->from;
	rec.rcpts = env->rcpts;
	rec.nrcpts = env->nrcpts;
	rec.size = env->size;
	rec.msgid = msgid;
	rec.duration = now_seconds() - t0;
	if (e == NULL) {
		rec.smtp_code = smtp_last_code(c->session);
		rec.smtp_text = smtp_last_text(c->session);
		rec.outcome = "delivered";
	} else {
		rec.smtp_code = e->smtp_code;
		rec.smtp_text = e->text;
		/* Every message we send is already queued: a deferral leaves
		 * it there, and the submitter's status is 0. */
		rec.exitcode = err_is_temporary(e) ? 0 : err_exit_code(e->kind);
		rec.outcome = err_is_temporary(e) ? "deferred" : "failed";
	}
	log_delivery(a->logfile, a->syslog, &rec);
}

/* One log line for the delivered recipients of a transaction, one for
 * each refused one. */
static void
log_txn(const struct account *a, const struct deliver_conn *c,
    const struct smtp_envelope *env, const char *msgid, double t0,
    const struct err *rerr)
{
	struct smtp_envelope one = *env;
	const char **ok = xcalloc(env->nrcpts + 1, sizeof(*ok));
	size_t i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (rerr[i].kind == ERR_NONE)
			ok[n++] = env->rcpts[i];
	one.rcpts = ok;
	one.nrcpts = n;
	if (n > 0)
		log_attempt(a, c, &one, msgid, t0, NULL);
	one.nrcpts = 1;
	for (i = 0; i < env->nrcpts; i++) {
		if (rerr[i].kind == ERR_NONE)
			continue;
		one.rcpts = &env->rcpts[i];
		log_attempt(a, c, &one, msgid, t0, &rerr[i]);
	}
	free(ok);
}

/* One transaction for env, trying the hosts in turn: 0 (delivered to the
 * recipients whose rerr is ERR_NONE) or -1. */
static int
deliver_txn(const struct account *a, struct deliver_conn **connp,
    const struct smtp_envelope *env, int data_fd, struct err *rerr,
    int *at_open, struct err *e)
{
	size_t first = 0;
	int r = -1;

	*at_open = 0;
	while (first < a->nhosts) {
		if (get_conn(a, connp, first, e) == -1) {
			*at_open = 1;
			break;
		}
		if (lseek(data_fd, 0, SEEK_SET) == -1) {
			err_set(e, ERR_IO, "cannot rewind the message");
			break;
		}
		r = smtp_send((*connp)->session, env, data_fd, rerr, e);
		if (r == 0)
			break;
		/* A 4xx for the message: the next smarthost may take it. */
		first = (*connp)->host + 1;
		if (!next_host_helps(e) || first >= a->nhosts)
			break;
		log_debug("%s: %s; trying %s", a->hosts[first - 1], e->text,
		    a->hosts[first]);
		deliver_close(*connp);
		*connp = NULL;
	}
	return r;
}

/* Keep the recipients to send again now ("too many recipients") in sub
 * and map; record the others' outcome in res.  Returns how many remain. */
static size_t
sort_rcpts(struct smtp_envelope *sub, const char **v, size_t *map,
    const struct err *rerr, struct deliver_result *res)
{
	size_t k, m = 0;

	for (k = 0; k < sub->nrcpts; k++) {
		res->rcpt[map[k]] = rerr[k];
		if (rerr[k].kind == ERR_NONE) {
			res->delivered++;
		} else if (smtp_rcpt_retry_now(&rerr[k])) {
			v[m] = v[k];
			map[m++] = map[k];
		}
	}
	sub->nrcpts = m;
	return m;
}

int
deliver(const struct account *a, struct deliver_conn **connp,
    const struct smtp_envelope *env, int data_fd, const char *msgid,
    struct deliver_result *res, struct err *e)
{
	struct smtp_envelope sub = *env;
	const char **v = xcalloc(env->nrcpts + 1, sizeof(*v));
	size_t *map = xcalloc(env->nrcpts + 1, sizeof(*map));
	struct err *rerr = xcalloc(env->nrcpts + 1, sizeof(*rerr));
	double t0 = now_seconds();
	size_t k;
	int r;

	res->delivered = 0;
	res->at_open = 0;
	for (k = 0; k < env->nrcpts; k++) {
		v[k] = env->rcpts[k];
		map[k] = k;
	}
	sub.rcpts = v;
	if (a->nhosts == 0)
		err_set(e, ERR_CONFIG, "account %s: no host", a->name);
	for (;;) {
		if (a->nhosts == 0 || deliver_txn(a, connp, &sub, data_fd, rerr,
					  &res->at_open, e) == -1) {
			for (k = 0; k < sub.nrcpts; k++)
				res->rcpt[map[k]] =
				    rerr[k].kind != ERR_NONE ? rerr[k] : *e;
			log_attempt(a, *connp, &sub, msgid, t0, e);
			deliver_close(*connp);
			*connp = NULL;
			break;
		}
		log_txn(a, *connp, &sub, msgid, t0, rerr);
		/* Each round delivers to someone, so this ends. */
		if (sort_rcpts(&sub, v, map, rerr, res) == 0)
			break;
		log_debug("%zu recipients left over (too many for one "
			  "transaction); sending them in another",
		    sub.nrcpts);
		t0 = now_seconds();
	}
	r = res->delivered > 0 ? 0 : -1;
	free(v);
	free(map);
	free(rerr);
	return r;
}
