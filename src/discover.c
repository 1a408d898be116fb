/*
 * discover.c -- postseal --configure ADDRESS [--write] (issue 16).
 *
 * Purpose: find the submission server for an address's domain from its
 * RFC 6186/8314 SRV records (_submissions._tcp, then _submission._tcp)
 * and the provider's autoconfig document (ispdb.c) fetched over verified
 * HTTPS (http.c), and print, or with --write create, the account.
 *
 * Invariants: never a plaintext server; implicit TLS is preferred to
 * STARTTLS whatever the source; the HTTPS hosts are looked up through
 * postseal's resolver (dns.c) and handed to libcurl, which asks no DNS
 * server; no password is ever written; --write creates the file
 * (O_EXCL, mode 0600) or changes nothing.
 *
 * Failure policy: a source that fails is a warning while another one
 * answers; with no server found the last failure is the error (ERR_PERM
 * when nothing was offered at all).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "discover.h"
#include "dns.h"
#include "http.h"
#include "ispdb.h"
#include "log.h"

#define DISCOVER_TIMEOUT 10 /* seconds, each lookup and fetch */

/* A server found, and where it came from. */
struct found {
	int have;
	struct ispdb_server s;
	char src[700];
	int secure; /* SRV: DNSSEC-validated; autoconfig: always (HTTPS) */
};

struct disc {
	const struct opts *o;
	const char *addr, *domain;
	struct dns *dns;
	struct found srv_tls, srv_starttls, ac;
	struct err last; /* the last source that failed */
};

/* A source that failed: warned about; the error of the run when no
 * source answers, unless it only found nothing there (ERR_PERM: no such
 * name, HTTP 404), which says less than any other failure. */
static void
failed(struct disc *d, const struct err *e)
{
	log_warn("%s", e->text);
	if (e->kind != ERR_PERM)
		d->last = *e;
}

/* Letters, digits, '-' and '.': a host name fit for the account. */
static int
host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253)
		return 0;
	for (; *h != '\0'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
			(*h >= '0' && *h <= '9') || *h == '-' || *h == '.'))
			return 0;
	return 1;
}

/* _submissions._tcp (implicit TLS) or _submission._tcp (STARTTLS). */
static void
srv_lookup(struct disc *d, int tls)
{
	struct found *f = tls ? &d->srv_tls : &d->srv_starttls;
	struct dns_answer ans;
	struct err e = {0};
	char name[300];
	size_t i;

	snprintf(name, sizeof(name), "%s._tcp.%s",
	    tls ? "_submissions" : "_submission", d->domain);
	dns_lookup(d->dns, name, DNS_T_SRV, &ans);
	if (ans.status == DNS_NXDOMAIN || ans.status == DNS_NODATA)
		log_debug("SRV %s: %s", name, dns_status_name(ans.status));
	else if (ans.status != DNS_FOUND) {
		err_set(&e, ERR_TEMP, "SRV %s: %s%s%s", name,
		    dns_status_name(ans.status), ans.why[0] != '\0' ? ": " : "",
		    ans.why);
		failed(d, &e);
	} else {
		dns_srv_sort(&ans);
		/* RFC 2782: a single "." target: the service is not
		 * offered; otherwise the first usable record in order. */
		for (i = 0; i < ans.nrr && !f->have; i++) {
			const struct dns_rr *rr = &ans.rr[i];

			if (rr->text[0] == '\0' || rr->port == 0)
				continue;
			if (!host_ok(rr->text) ||
			    strlen(rr->text) >= sizeof(f->s.host)) {
				err_set(&e, ERR_DATA,
				    "SRV %s: target not a host name", name);
				failed(d, &e);
				continue;
			}
			f->have = 1;
			snprintf(f->s.host, sizeof(f->s.host), "%s", rr->text);
			f->s.port = rr->port;
			f->s.sock = tls ? ISPDB_TLS : ISPDB_STARTTLS;
			f->secure = ans.sec == DNS_SECURE;
			snprintf(f->src, sizeof(f->src),
			    "SRV %s (priority %u, weight %u; DNSSEC %s)", name,
			    rr->pref, rr->weight, dns_sec_name(ans.sec));
		}
		if (!f->have && ans.nrr > 0 && ans.rr[0].text[0] == '\0')
			log_warn("SRV %s: the service is not offered (\".\")",
			    name);
	}
	dns_answer_free(&ans);
}

#define RESOLVE_MAX_ADDRS 8 /* of each family, for libcurl */

/* "HOST:PORT:ADDR,ADDR" from the AAAA and A records of host (at most
 * RESOLVE_MAX_ADDRS of each); *sec: DNS_SECURE only if every answer
 * with addresses was validated. */
static int
resolve_host(struct disc *d, const char *host, unsigned port, struct buf *b,
    enum dns_sec *sec, struct err *e)
{
	static const enum dns_type types[2] = {DNS_T_AAAA, DNS_T_A};
	struct dns_answer ans;
	enum dns_status worst = DNS_NXDOMAIN;
	size_t i, n = 0;
	int t, secure = 1;

	if (buf_printf(b, "%s:%u:", host, port) == -1)
		return err_set(e, ERR_DATA, "autoconfig: %s: name too long",
		    host);
	for (t = 0; t < 2; t++) {
		size_t k = 0;

		dns_lookup(d->dns, host, types[t], &ans);
		if (ans.status != DNS_FOUND && ans.status != DNS_NXDOMAIN &&
		    ans.status != DNS_NODATA)
			worst = ans.status;
		if (ans.status == DNS_FOUND && ans.sec != DNS_SECURE)
			secure = 0;
		for (i = 0; i < ans.nrr && k < RESOLVE_MAX_ADDRS; i++) {
			const struct dns_rr *rr = &ans.rr[i];

			if (rr->family == 0 ||
			    buf_printf(b,
				rr->family == AF_INET6 ? "%s[%s]" : "%s%s",
				n > 0 ? "," : "", rr->text) == -1)
				continue;
			n++;
			k++;
		}
		dns_answer_free(&ans);
	}
	*sec = n > 0 && secure ? DNS_SECURE : DNS_INSECURE;
	if (n == 0)
		return err_set(e, worst == DNS_NXDOMAIN ? ERR_PERM : ERR_TEMP,
		    "autoconfig: %s: no address (%s)", host,
		    dns_status_name(worst));
	return 0;
}

/* Fetch and parse one autoconfig URL; 0 with d->ac set, or -1. */
static int
autoconfig_url(struct disc *d, const char *host, const char *path,
    struct err *e)
{
	unsigned port = d->o->configure_port != 0 ? d->o->configure_port : 443;
	char url[600], portstr[16] = "";
	struct http_req rq;
	struct http h;
	struct buf res;
	struct ispdb db;
	const struct ispdb_server *s;
	enum dns_sec sec = DNS_INSECURE;
	int r = -1;

	if (port != 443)
		snprintf(portstr, sizeof(portstr), ":%u", port);
	snprintf(url, sizeof(url), "https://%s%s%s", host, portstr, path);
	buf_init(&res, 4096);
	memset(&h, 0, sizeof(h));
	if (resolve_host(d, host, port, &res, &sec, e) == -1)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.url = url;
	rq.trust_file = d->o->configure_trust;
	rq.timeout = DISCOVER_TIMEOUT;
	rq.accept = "application/xml, text/xml";
	rq.max = ISPDB_MAX_XML;
	rq.what = "autoconfig";
	rq.resolve = res.data;
	if (http_request(&rq, &h, e) == -1) {
		char why[sizeof(e->text)];

		snprintf(why, sizeof(why), "%s", e->text);
		err_set(e, e->kind, "autoconfig: %s", why);
		goto out;
	}
	if (h.status != 200) {
		err_set(e,
		    h.status == 404 || h.status == 410 ? ERR_PERM : ERR_TEMP,
		    "autoconfig: %s: HTTP status %ld", url, h.status);
		goto out;
	}
	if (ispdb_parse(h.body.data != NULL ? h.body.data : "", h.body.len, &db,
		e) == -1) {
		char why[sizeof(e->text)];

		snprintf(why, sizeof(why), "%s", e->text);
		err_set(e, ERR_DATA, "autoconfig: %s: %s", url,
		    why + (strncmp(why, "autoconfig: ", 12) == 0 ? 12 : 0));
		goto out;
	}
	if (db.nout == 0) {
		err_set(e, ERR_DATA, "autoconfig: %s names no SMTP server",
		    url);
		goto out;
	}
	if ((s = ispdb_choose(&db)) == NULL) {
		err_set(e, ERR_DATA,
		    "autoconfig: %s offers only plaintext SMTP, which postseal "
		    "never uses",
		    url);
		goto out;
	}
	d->ac.have = 1;
	d->ac.s = *s;
	d->ac.secure = 1;
	snprintf(d->ac.src, sizeof(d->ac.src),
	    "autoconfig %s (verified HTTPS; address DNSSEC %s)", url,
	    dns_sec_name(sec));
	r = 0;
out:
	buf_reset(&h.body);
	buf_reset(&res);
	return r;
}

static void
autoconfig(struct disc *d)
{
	struct err e = {0};
	char host[300];

	snprintf(host, sizeof(host), "autoconfig.%s", d->domain);
	if (autoconfig_url(d, host, "/mail/config-v1.1.xml", &e) == 0)
		return;
	failed(d, &e);
	memset(&e, 0, sizeof(e));
	if (autoconfig_url(d, d->domain,
		"/.well-known/autoconfig/mail/config-v1.1.xml", &e) == 0)
		return;
	failed(d, &e);
}

/*
 * Implicit TLS before STARTTLS; of two servers of the same kind, SRV
 * records validated by DNSSEC, then the autoconfig document (verified
 * HTTPS), then SRV records that are not validated.
 */
static const struct found *
choose(const struct disc *d)
{
	const struct found *srv[2] = {&d->srv_tls, &d->srv_starttls};
	enum ispdb_socket sock[2] = {ISPDB_TLS, ISPDB_STARTTLS};
	int k;

	for (k = 0; k < 2; k++) {
		int ac = d->ac.have && d->ac.s.sock == sock[k];

		if (srv[k]->have && (srv[k]->secure || !ac))
			return srv[k];
		if (ac)
			return &d->ac;
	}
	return NULL;
}

static int
account_text(const struct disc *d, const struct found *f, struct buf *out,
    struct err *e)
{
	static const char *const kind[3] = {"plaintext", "implicit TLS",
	    "STARTTLS"};
	struct ispdb_server s = f->s;
	const struct found *other[3] = {&d->srv_tls, &d->srv_starttls, &d->ac};
	int i;

	if (f != &d->ac) {
		/* SRV names no login: the document's, if there is one, else
		 * the address (RFC 6186 3.1) */
		s.auth = d->ac.have ? d->ac.s.auth : 0;
		snprintf(s.user, sizeof(s.user), "%s",
		    d->ac.have ? d->ac.s.user : "");
	}
	buf_printf(out,
	    "# Written by postseal --configure %s\n"
	    "# host, port, tls (%s): from %s\n"
	    "# auth, user: from %s\n",
	    d->addr, kind[s.sock], f->src,
	    d->ac.have ? d->ac.src : "no document: the address is the user");
	for (i = 0; i < 3; i++)
		if (other[i] != f && other[i]->have)
			buf_printf(out, "# not used: %s %s:%u from %s\n",
			    kind[other[i]->s.sock], other[i]->s.host,
			    other[i]->s.port, other[i]->src);
	return ispdb_account(&s, d->addr, d->domain, out, e);
}

/* Create path (O_EXCL, 0600) holding the account; nothing is left
 * behind on failure. */
static int
write_new(const char *path, const struct buf *b, struct err *e)
{
	char dir[4096];
	char *slash;
	int fd, saved;

	/* the missing directories (~/.config/postseal on a new account),
	 * mode 0700, as mkdir -p */
	if (strlen(path) >= sizeof(dir))
		return err_set(e, ERR_CANTCREAT, "%.64s...: name too long",
		    path);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			saved = errno;
			*slash = '/';
			return err_set(e, ERR_CANTCREAT, "%s: %s", path,
			    strerror(saved));
		}
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 && errno == EEXIST)
		return err_set(e, ERR_CANTCREAT,
		    "%s exists: postseal --configure never overwrites a "
		    "file (add the account printed without --write by hand, "
		    "or use -C NEWFILE)",
		    path);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "%s: %s", path,
		    strerror(errno));
	if (fd_write_all(fd, b->data, b->len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		return err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(path);
		return err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
	}
	return 0;
}

int
discover_run(const struct opts *o, FILE *out, struct err *e)
{
	struct disc d;
	const struct found *f;
	struct buf acct;
	char *path = NULL;
	struct stat st;
	int r = -1;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.addr = o->configure_addr;
	d.domain = strrchr(d.addr, '@') + 1;
	buf_init(&acct, 16384);
	if (o->configure_write) {
		path = o->config_file != NULL ? xstrdup(o->config_file)
					      : config_user_file();
		if (path == NULL)
			return err_set(e, ERR_CANTCREAT,
			    "no home directory: use -C FILE with --write");
		/* checked before any lookup, so nothing is done in vain;
		 * O_EXCL decides in the end */
		if (lstat(path, &st) == 0) {
			err_set(e, ERR_CANTCREAT,
			    "%s exists: postseal --configure never overwrites "
			    "a file (add the account printed without --write "
			    "by hand, or use -C NEWFILE)",
			    path);
			goto out;
		}
	}
	if (dns_open_ta(o->configure_dns, o->configure_anchor,
		DISCOVER_TIMEOUT * 1000, &d.dns, e) == -1)
		goto out;
	srv_lookup(&d, 1);
	srv_lookup(&d, 0);
	autoconfig(&d);
	if ((f = choose(&d)) == NULL) {
		if (d.last.kind != ERR_NONE)
			err_set(e, d.last.kind,
			    "%s: no submission server found (%s)", d.domain,
			    d.last.text);
		else
			err_set(e, ERR_PERM,
			    "%s: no submission server found: no SRV record "
			    "(_submissions._tcp, _submission._tcp) and no "
			    "autoconfig document",
			    d.domain);
		goto out;
	}
	if (account_text(&d, f, &acct, e) == -1)
		goto out;
	if (path != NULL && write_new(path, &acct, e) == -1)
		goto out;
	fwrite(acct.data, 1, acct.len, out);
	if (path != NULL)
		fprintf(out,
		    "# written to %s (mode 0600): add a password "
		    "or passwordeval\n",
		    path);
	r = 0;
out:
	free(path);
	buf_reset(&acct);
	dns_close(d.dns);
	return r;
}
