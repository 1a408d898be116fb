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
 * Non-goals: retries over time and the queue (runq.c), message content.
 * Every attempt ends in exactly one log line (log_delivery()).
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
    const struct smtp_envelope *env, const char *msgid, double t0, int r,
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
	if (r == 0) {
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

int
deliver(const struct account *a, struct deliver_conn **connp,
    const struct smtp_envelope *env, int data_fd, const char *msgid,
    struct err *e)
{
	double t0 = now_seconds();
	size_t first = 0;
	int r = -1;

	if (a->nhosts == 0)
		return err_set(e, ERR_CONFIG, "account %s: no host", a->name);
	while (first < a->nhosts) {
		if (get_conn(a, connp, first, e) == -1)
			break;
		if (lseek(data_fd, 0, SEEK_SET) == -1) {
			err_set(e, ERR_IO, "cannot rewind the message");
			break;
		}
		if ((r = smtp_send((*connp)->session, env, data_fd, e)) == 0)
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
	log_attempt(a, *connp, env, msgid, t0, r, e);
	if (r == -1) {
		deliver_close(*connp);
		*connp = NULL;
	}
	return r;
}
