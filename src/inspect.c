/*
 * inspect.c -- "postseal --inspect [FILE]" (issue 14): a report on a
 * received message, assembled from the modules below (trace.c parses the
 * fields; dkim.c verifies; spf.c, dmarc.c and dns.c evaluate).
 *
 * What it shows: the Received path (each hop: names, address, protocol,
 * TLS, time and the delay since the previous hop) with the boundary, the
 * first hop outside the receiving organisation; the identities (envelope,
 * From, Sender, Reply-To, DKIM d=) and their alignment; DKIM, SPF, DMARC
 * and the ARC chain (RFC 8617: its structure, cv=, every seal and the latest
 * message signature, verified with dkim.c) computed now beside what the
 * receiver recorded in its
 * Authentication-Results; red flags with their evidence; one verdict.
 *
 * The receiving organisation is the one named by the topmost
 * Authentication-Results authserv-id, plus --trusted-hosts; without
 * either, the organisation of the topmost Received "by" host.  A hop is
 * inside when both its "by" and its reverse name (else its HELO name) are.
 *
 * Non-goals: fetching anything (links, remote content, keys other than by
 * DNS), rendering the body (mime.c only finds
 * attachment names, names inside zip archives and HTML links), and
 * overruling the receiver: a result computed now that differs from the
 * recorded one is shown as differing.
 *
 * Bounds (hostile input): message.c's header caps (1000 fields, 1 MiB of
 * header, 64 KiB per field), INSPECT_MAX_SIZE for the whole message, and
 * the INSPECT_MAX_* caps of inspect.h; fields beyond a cap are counted and
 * said to be skipped.  The body: its first INSPECT_MAX_SCAN bytes, with
 * mime.c's bounds (MIME depth, parts, names, links, zip entries); a scan
 * that reached one says so.  DNS: at most INSPECT_MAX_LOOKUPS queries per
 * message (SPF's own limit of 10 DNS terms applies inside), each with the
 * resolver's timeout; past the budget a lookup fails as a temporary error.
 *
 * Output: every string from the message or DNS is made printable before
 * it is shown; text lines are wrapped at 80 columns; colour only when the
 * output is a terminal and NO_COLOR is unset.
 *
 * Failure policy: an unreadable or malformed message is ERR_NOINPUT or
 * ERR_DATA; DNS trouble is reported as "temperror", never as a missing
 * record; a field that does not parse is reported, not fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "idn.h"
#include "inspect.h"
#include "log.h"
#include "message.h"
#include "mime.h"
#include "spf.h"
#include "trace.h"

#define NAME 256
#define WIDTH 80

struct hop {
	struct trace_received r;
	const char *why; /* parse problem, or NULL */
	long long delay;
	int has_delay;
};

struct dkimsig {
	struct trace_tags t;
	const char *why; /* tag problem, or NULL */
	struct dkim_result res;
	const char *problem; /* "body", "header", "key", "other" */
	int weak;
	char recorded[32];
};

struct flag {
	char kind[24];
	char text[320];
};

struct budget {
	struct dns_resolver inner;
	unsigned used;
	/* DKIM keys fetched: name, and an RSA key's size as parsed */
	struct {
		char name[NAME * 2];
		unsigned bits; /* 0: not an RSA key that parsed */
		int rsa;
	} keys[INSPECT_MAX_DKIM];
	size_t nkeys;
};

struct insp {
	struct message *m;
	struct hop hop[INSPECT_MAX_HOPS];
	size_t nhop, skipped_hops;
	struct trace_authres *ar; /* INSPECT_MAX_AUTHRES */
	size_t nar;
	struct trace_tags as[INSPECT_MAX_ARC], ams[INSPECT_MAX_ARC];
	size_t nas, nams, naar;
	unsigned aar_inst[INSPECT_MAX_ARC];
	struct dkimsig sig[INSPECT_MAX_DKIM];
	size_t nsig;
	char receiver[NAME], trusted_org[NAME];
	long boundary; /* index into hop[], -1: none found */
	char ptr[NAME];
	int fcrdns; /* 1 confirmed, 0 not, -1 unknown */
	char from[NAME], from_name[NAME], from_dom[NAME], from_org[NAME];
	char sender[NAME], reply_to[NAME], env[NAME], env_src[32];
	char subject[NAME];
	struct spf_outcome spf;
	int spf_done;
	char spf_recorded[32];
	struct dmarc_result dmarc;
	int dmarc_done;
	const char *dmarc_res; /* pass, fail, none, temperror */
	int dkim_aligned, spf_aligned;
	char dmarc_recorded[32], arc_recorded[32];
	const char *arc_state; /* NULL: no ARC fields */
	char arc_cv[8], arc_why[600];
	int scanned, scan_limited;
	struct flag flag[INSPECT_MAX_FLAGS];
	size_t nflag;
	const char *verdict, *verdict_key;
	struct budget b;
};

static void add_flag(struct insp *in, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_flag(struct insp *in, const char *kind, const char *fmt, ...)
{
	va_list ap;
	struct flag *f;

	if (in->nflag == INSPECT_MAX_FLAGS)
		return;
	f = &in->flag[in->nflag++];
	str_copy(f->kind, kind, sizeof(f->kind));
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

/* Printable ASCII in place: everything else from outside becomes '?'. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void
lower_str(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* ---- reading ---- */

static int
open_input(const char *file, int *fd, struct err *e)
{
	if (file == NULL || strcmp(file, "-") == 0) {
		*fd = STDIN_FILENO;
		return 0;
	}
	if ((*fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(e, ERR_NOINPUT, "%s: %s", file, strerror(errno));
	return 0;
}

/* The field's name is name (any case); *v, *n: its value, unfolded later. */
static int
field_value(const char *f, size_t len, const char *name, const char **v,
    size_t *n)
{
	size_t nl = strlen(name);

	if (len <= nl || ascii_ncasecmp(f, name, nl) != 0 || f[nl] != ':')
		return 0;
	*v = f + nl + 1;
	*n = len - nl - 1;
	while (*n > 0 && (f[len - 1] == '\r' || f[len - 1] == '\n'))
		len--, (*n)--;
	return 1;
}

/* The value without its line breaks (FWS folding, RFC 5322 2.2.3). */
static void
unfold(const char *v, size_t n, struct buf *out)
{
	size_t i;

	buf_clear(out);
	for (i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			buf_addch(out, v[i]);
}

static void
collect_hop(struct insp *in, const char *v, size_t n)
{
	struct hop *h;

	if (in->nhop == INSPECT_MAX_HOPS) {
		in->skipped_hops++;
		return;
	}
	h = &in->hop[in->nhop++];
	h->why = trace_received_parse(v, n, &h->r);
}

static void
collect_arc(struct insp *in, const char *name, const char *v, size_t n)
{
	struct trace_authres *tmp;
	struct trace_tags t;

	if (ascii_casecmp(name, "ARC-Authentication-Results") == 0) {
		tmp = xcalloc(1, sizeof(*tmp));
		if (trace_authres_parse(v, n, 1, tmp) == NULL &&
		    in->naar < INSPECT_MAX_ARC)
			in->aar_inst[in->naar++] = tmp->instance;
		free(tmp);
		return;
	}
	if (trace_tags_parse(v, n, 1, &t) != NULL)
		t.i = 0; /* counted as broken below */
	if (ascii_casecmp(name, "ARC-Seal") == 0 && in->nas < INSPECT_MAX_ARC)
		in->as[in->nas++] = t;
	else if (ascii_casecmp(name, "ARC-Message-Signature") == 0 &&
		 in->nams < INSPECT_MAX_ARC)
		in->ams[in->nams++] = t;
}

static void
collect_one(struct insp *in, const char *f, size_t len, struct buf *u)
{
	static const char *const arc[] = {"ARC-Seal", "ARC-Message-Signature",
	    "ARC-Authentication-Results"};
	const char *v;
	size_t n, i;

	if (field_value(f, len, "Received", &v, &n)) {
		unfold(v, n, u);
		collect_hop(in, u->data ? u->data : "", u->len);
	} else if (field_value(f, len, "Authentication-Results", &v, &n)) {
		unfold(v, n, u);
		if (in->nar < INSPECT_MAX_AUTHRES &&
		    trace_authres_parse(u->data ? u->data : "", u->len, 0,
			&in->ar[in->nar]) == NULL)
			in->nar++;
	} else if (field_value(f, len, "DKIM-Signature", &v, &n)) {
		if (in->nsig < INSPECT_MAX_DKIM) {
			in->sig[in->nsig].why =
			    trace_tags_parse(v, n, 0, &in->sig[in->nsig].t);
			in->nsig++;
		}
	} else
		for (i = 0; i < 3; i++)
			if (field_value(f, len, arc[i], &v, &n)) {
				unfold(v, n, u);
				collect_arc(in, arc[i], u->data ? u->data : "",
				    u->len);
			}
}

static void
collect(struct insp *in)
{
	struct buf u;
	const char *f;
	size_t i, len;

	buf_init(&u, MESSAGE_MAX_FIELD);
	for (i = 0; i < message_nheaders(in->m); i++) {
		f = message_header(in->m, i, &len);
		collect_one(in, f, len, &u);
	}
	buf_reset(&u);
}

/* ---- identities ---- */

static const char *
dom_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* The first address of a header value, and the display name before it. */
static void
first_addr(const char *v, char *addr, size_t asize, char *dname, size_t dsize)
{
	struct addr_list l = {NULL, 0};
	struct err e;
	const char *lt;
	size_t n;

	addr[0] = '\0';
	if (dname != NULL)
		dname[0] = '\0';
	if (v == NULL)
		return;
	if (addr_parse_list(v, strlen(v), &l, &e) == 0 && l.n > 0)
		str_copy(addr, l.v[0], asize);
	addr_list_free(&l);
	if (addr[0] == '\0' && (lt = strchr(v, '<')) != NULL) {
		n = strcspn(lt + 1, ">");
		if (n < asize) {
			memcpy(addr, lt + 1, n);
			addr[n] = '\0';
		}
	}
	lower_str(addr);
	sanitize(addr);
	if (dname != NULL && (lt = strrchr(v, '<')) != NULL) {
		n = (size_t)(lt - v);
		if (n >= dsize)
			n = dsize - 1;
		while (n > 0 && (*v == ' ' || *v == '\t' || *v == '"'))
			v++, n--;
		while (n > 0 &&
		       (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '"'))
			n--;
		memcpy(dname, v, n);
		dname[n] = '\0';
		sanitize(dname);
	}
}

static void
org_of(const char *d, char *out, size_t size)
{
	if (d[0] == '\0' || dmarc_org_domain(d, out, size) == -1)
		str_copy(out, d, size);
	lower_str(out);
}

static void
identities(struct insp *in)
{
	const char *rp = message_get(in->m, "Return-Path");
	const char *s;
	size_t i, j;

	first_addr(message_get(in->m, "From"), in->from, sizeof(in->from),
	    in->from_name, sizeof(in->from_name));
	str_copy(in->from_dom, dom_of(in->from), sizeof(in->from_dom));
	org_of(in->from_dom, in->from_org, sizeof(in->from_org));
	first_addr(message_get(in->m, "Sender"), in->sender, sizeof(in->sender),
	    NULL, 0);
	first_addr(message_get(in->m, "Reply-To"), in->reply_to,
	    sizeof(in->reply_to), NULL, 0);
	if ((s = message_get(in->m, "Subject")) != NULL) {
		str_copy(in->subject, s, sizeof(in->subject));
		sanitize(in->subject);
	}
	if (rp != NULL) {
		first_addr(rp, in->env, sizeof(in->env), NULL, 0);
		str_copy(in->env_src, "Return-Path", sizeof(in->env_src));
		return;
	}
	for (i = 0; i < in->nar; i++) /* else the receiver's smtp.mailfrom */
		for (j = 0; j < in->ar[i].nm; j++)
			if (strcmp(in->ar[i].authserv_id, in->receiver) == 0 &&
			    (s = trace_method_prop(&in->ar[i].m[j], "smtp",
				 "mailfrom")) != NULL &&
			    in->env[0] == '\0') {
				str_copy(in->env, strchr(s, '@') ? s : "",
				    sizeof(in->env));
				lower_str(in->env);
				str_copy(in->env_src, "smtp.mailfrom",
				    sizeof(in->env_src));
			}
}

/* ---- the path ---- */

/* name is t or below it, or shares its organisational domain. */
static int
within(const char *name, const char *t)
{
	size_t n = strlen(name), k = strlen(t);
	char o1[NAME], o2[NAME];

	if (n == 0 || k == 0)
		return 0;
	if (ascii_casecmp(name, t) == 0 ||
	    (n > k && name[n - k - 1] == '.' &&
		ascii_casecmp(name + n - k, t) == 0))
		return 1;
	org_of(name, o1, sizeof(o1));
	org_of(t, o2, sizeof(o2));
	return strchr(o1, '.') != NULL && ascii_casecmp(o1, o2) == 0;
}

static int
trusted(const struct insp *in, const char *trust, const char *name)
{
	const char *p = trust, *q;
	char one[NAME];
	size_t n;

	if (within(name, in->trusted_org))
		return 1;
	while (p != NULL && *p != '\0') {
		q = strchr(p, ',');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		if (n > 0 && n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			if (within(name, one))
				return 1;
		}
		p = q != NULL ? q + 1 : NULL;
	}
	return 0;
}

static void
find_boundary(struct insp *in, const char *trust)
{
	const struct trace_received *r;
	const char *who;
	size_t i;

	if (in->nar > 0)
		str_copy(in->receiver, in->ar[0].authserv_id,
		    sizeof(in->receiver));
	if (in->receiver[0] != '\0')
		org_of(in->receiver, in->trusted_org, sizeof(in->trusted_org));
	else if ((trust == NULL || *trust == '\0') && in->nhop > 0)
		org_of(in->hop[0].r.by, in->trusted_org,
		    sizeof(in->trusted_org));
	in->boundary = -1;
	for (i = 0; i < in->nhop; i++) {
		r = &in->hop[i].r;
		if (r->by[0] != '\0' && !trusted(in, trust, r->by))
			break;
		who = r->from_rdns[0] != '\0' &&
			      strcmp(r->from_rdns, "unknown") != 0
			  ? r->from_rdns
			  : r->from;
		if (r->from[0] == '\0' && r->ip[0] == '\0')
			continue; /* a local hop ("by host with LMTP") */
		if (!trusted(in, trust, who)) {
			in->boundary = (long)i;
			break;
		}
	}
}

static void
hop_times(struct insp *in)
{
	struct hop *h, *prev;
	size_t i;

	for (i = 0; i + 1 < in->nhop; i++) {
		h = &in->hop[i];
		prev = &in->hop[i + 1]; /* the hop before, further down */
		if (!h->r.has_time || !prev->r.has_time)
			continue;
		h->has_delay = 1;
		h->delay = h->r.time - prev->r.time;
		if (h->delay < -60)
			add_flag(in, "hop-order",
			    "Received hop %zu (by %s) is dated %lld s before "
			    "the hop it came from (by %s): the chain is out of "
			    "order or a field was forged",
			    in->nhop - i, h->r.by, -h->delay, prev->r.by);
	}
}

/* ---- DNS with a budget ---- */

static enum dns_status
budget_lookup(void *arg, const char *name, enum dns_type type,
    struct dns_answer *ans)
{
	struct budget *b = arg;

	if (b->used >= INSPECT_MAX_LOOKUPS) {
		memset(ans, 0, sizeof(*ans));
		ans->status = DNS_FAILED;
		snprintf(ans->why, sizeof(ans->why),
		    "lookup budget of %d per message spent",
		    INSPECT_MAX_LOOKUPS);
		return ans->status;
	}
	b->used++;
	return b->inner.lookup(b->inner.arg, name, type, ans);
}

static void
note_key(struct budget *b, const char *name, const char *txt, size_t len)
{
	unsigned bits = 0;
	int rsa = memmem(txt, len, "k=ed25519", 9) == NULL;

	if (b->nkeys == INSPECT_MAX_DKIM)
		return;
	/* The modulus itself, parsed as the verifier parses it. */
	if (rsa)
		(void)dkim_key_record_check(txt, len, DKIM_RSA_SHA256, &bits);
	str_copy(b->keys[b->nkeys].name, name, sizeof(b->keys[0].name));
	b->keys[b->nkeys].bits = bits;
	b->keys[b->nkeys].rsa = rsa;
	b->nkeys++;
}

/* dkim.c's TXT lookup, answered through the budgeted resolver. */
static int
dkim_lookup(void *arg, const char *name, struct buf *txt, struct err *e)
{
	struct budget *b = arg;
	struct dns_answer a;
	enum dns_status s = budget_lookup(b, name, DNS_T_TXT, &a);
	int rc = 0;

	buf_clear(txt);
	if (s == DNS_FOUND && a.nrr > 0) {
		if (buf_add(txt, a.rr[0].text, a.rr[0].len) == -1)
			rc = err_set(e, ERR_DATA, "key record too long");
		else
			note_key(b, name, a.rr[0].text, a.rr[0].len);
	} else if (s == DNS_NXDOMAIN || s == DNS_NODATA || s == DNS_FOUND)
		rc = err_set(e, ERR_NOINPUT, "no key record");
	else
		rc = err_set(e, ERR_TEMP, "key lookup: %s", a.why);
	dns_answer_free(&a);
	return rc;
}

/* ---- authentication ---- */

/* What the receiver recorded for method (and, for dkim, d=). */
static void
recorded(const struct insp *in, const char *method, const char *d, char *out,
    size_t size)
{
	const char *hd;
	size_t i, j;

	out[0] = '\0';
	for (i = 0; i < in->nar; i++) {
		if (strcmp(in->ar[i].authserv_id, in->receiver) != 0)
			continue;
		for (j = 0; j < in->ar[i].nm; j++) {
			const struct trace_method *m = &in->ar[i].m[j];

			if (strcmp(m->method, method) != 0)
				continue;
			hd = trace_method_prop(m, "header", "d");
			if (d != NULL && hd != NULL &&
			    ascii_casecmp(hd, d) != 0)
				continue;
			str_copy(out, m->result, size);
			return;
		}
	}
}

static void
dkim_flags(struct insp *in, struct dkimsig *s, size_t idx)
{
	static const char *const must[] = {"from", "subject", "to"};
	char name[NAME * 2];
	size_t i;

	if (s->why != NULL)
		return;
	for (i = 0; i < 3; i++)
		if (!trace_list_has(s->t.h, must[i]))
			add_flag(in, "dkim-coverage",
			    "DKIM signature %zu (d=%s) does not cover %s: it "
			    "could be changed without breaking the signature",
			    idx + 1, s->t.d, must[i]);
	if (s->t.has_l)
		add_flag(in, "dkim-l",
		    "DKIM signature %zu (d=%s) has l=%llu: text appended "
		    "after the signed body would still verify",
		    idx + 1, s->t.d, s->t.l);
	snprintf(name, sizeof(name), "%s._domainkey.%s", s->t.s, s->t.d);
	for (i = 0; i < in->b.nkeys; i++)
		if (ascii_casecmp(in->b.keys[i].name, name) == 0 &&
		    in->b.keys[i].rsa && in->b.keys[i].bits > 0 &&
		    in->b.keys[i].bits < 2048) {
			s->weak = 1;
			add_flag(in, "dkim-weak-key",
			    "DKIM key %s is an RSA key shorter than 2048 bits "
			    "(%u)",
			    name, in->b.keys[i].bits);
		}
}

static void
verify_dkim(struct insp *in)
{
	struct dkim_result *res = NULL;
	size_t n = 0, i;
	struct err e = {0};
	struct dkimsig *s;

	if (in->nsig == 0)
		return;
	if (dkim_verify_message(in->m, -1, dkim_lookup, &in->b, &res, &n, &e) ==
	    -1) {
		add_flag(in, "dkim", "DKIM could not be checked: %s", e.text);
		return;
	}
	for (i = 0; i < n && i < in->nsig; i++) {
		s = &in->sig[i];
		s->res = res[i];
		sanitize(s->res.line);
		s->problem = s->res.pass			      ? ""
			     : strstr(s->res.line, "body hash")	      ? "body"
			     : strstr(s->res.line, "does not verify") ? "header"
			     : strstr(s->res.line, "key")	      ? "key"
								      : "other";
		recorded(in, "dkim", s->t.d, s->recorded, sizeof(s->recorded));
		dkim_flags(in, s, i);
	}
	free(res);
}

static void
check_spf(struct insp *in)
{
	const struct trace_received *r;
	struct spf_ip ip;
	struct dns_resolver br = {budget_lookup, &in->b};

	recorded(in, "spf", NULL, in->spf_recorded, sizeof(in->spf_recorded));
	if (in->boundary < 0 || in->env[0] == '\0')
		return;
	r = &in->hop[in->boundary].r;
	if (spf_ip_parse(r->ip, &ip) == -1)
		return;
	spf_check_host(&br, &ip, dom_of(in->env), in->env, r->from, &in->spf);
	in->spf_done = 1;
}

static void
check_rdns(struct insp *in)
{
	struct dns_resolver br = {budget_lookup, &in->b};
	struct spf_ip ip;
	struct dns_answer a;
	char rev[80];
	size_t i;

	in->fcrdns = -1;
	if (in->boundary < 0 ||
	    spf_ip_parse(in->hop[in->boundary].r.ip, &ip) == -1)
		return;
	dns_reverse_name(ip.family, ip.addr, rev, sizeof(rev));
	if (budget_lookup(&in->b, rev, DNS_T_PTR, &a) == DNS_FOUND) {
		in->fcrdns = 0;
		for (i = 0; i < a.nrr && i < 4 && in->fcrdns != 1; i++) {
			str_copy(in->ptr, a.rr[i].text, sizeof(in->ptr));
			in->fcrdns = spf_name_has_ip(&br, a.rr[i].text, &ip);
		}
		sanitize(in->ptr);
	} else if (a.status == DNS_NXDOMAIN || a.status == DNS_NODATA)
		in->fcrdns = 0;
	dns_answer_free(&a);
}

static void
check_dmarc(struct insp *in)
{
	struct dns_resolver br = {budget_lookup, &in->b};
	size_t i;

	recorded(in, "dmarc", NULL, in->dmarc_recorded,
	    sizeof(in->dmarc_recorded));
	if (in->from_dom[0] == '\0')
		return;
	in->dmarc_done = 1;
	dmarc_lookup(&br, in->from_dom, &in->dmarc);
	for (i = 0; i < in->nsig; i++)
		if (in->sig[i].res.pass &&
		    dmarc_aligned(in->sig[i].t.d, in->from_dom,
			in->dmarc.status == DMARC_FOUND ? in->dmarc.rec.adkim
							: DMARC_RELAXED) == 1)
			in->dkim_aligned = 1;
	if (in->spf_done && in->spf.result == SPF_PASS &&
	    dmarc_aligned(dom_of(in->env), in->from_dom,
		in->dmarc.status == DMARC_FOUND ? in->dmarc.rec.aspf
						: DMARC_RELAXED) == 1)
		in->spf_aligned = 1;
	if (in->dmarc.status == DMARC_TEMP)
		in->dmarc_res = "temperror";
	else if (in->dmarc.status != DMARC_FOUND)
		in->dmarc_res = "none";
	else
		in->dmarc_res =
		    in->dkim_aligned || in->spf_aligned ? "pass" : "fail";
}

/* The signatures (RFC 8617 5.2): every seal and the latest message
 * signature verify, with dkim.c's code. */
static void
verify_arc(struct insp *in, unsigned n)
{
	struct dkim_result ams, seal;
	struct err e = {0};
	unsigned i;

	for (i = n; i >= 1; i--) {
		if (dkim_verify_arc(in->m, i, -1, dkim_lookup, &in->b, &ams,
			&seal, &e) == -1) {
			in->arc_state = "fail";
			snprintf(in->arc_why, sizeof(in->arc_why), "%s",
			    e.text);
			return;
		}
		if (i == n && !ams.pass) {
			in->arc_state = "fail";
			snprintf(in->arc_why, sizeof(in->arc_why),
			    "ARC-Message-Signature i=%u: %s", i, ams.line);
			return;
		}
		if (!seal.pass) {
			in->arc_state = "fail";
			snprintf(in->arc_why, sizeof(in->arc_why),
			    "ARC-Seal i=%u: %s", i, seal.line);
			return;
		}
	}
	in->arc_state = "pass";
	snprintf(in->arc_why, sizeof(in->arc_why),
	    "%u seal%s and the latest message signature verify", n,
	    n == 1 ? "" : "s");
}

/* ARC (RFC 8617 5.2): instances 1..N, one of each field per instance,
 * cv=none at 1 and cv=pass above, then the signatures. */
static void
check_arc(struct insp *in)
{
	unsigned n = 0, i;
	size_t k, cas, cams, caar;

	recorded(in, "arc", NULL, in->arc_recorded, sizeof(in->arc_recorded));
	if (in->nas + in->nams + in->naar == 0)
		return;
	for (k = 0; k < in->nas; k++)
		if (in->as[k].i > n)
			n = in->as[k].i;
	in->arc_state = "intact";
	for (i = 1; i <= n; i++) {
		cas = cams = caar = 0;
		for (k = 0; k < in->nas; k++)
			if (in->as[k].i == i) {
				cas++;
				if (i == n)
					str_copy(in->arc_cv, in->as[k].cv,
					    sizeof(in->arc_cv));
				if (strcmp(in->as[k].cv,
					i == 1 ? "none" : "pass") != 0)
					in->arc_state = "failed (cv=)";
			}
		for (k = 0; k < in->nams; k++)
			cams += in->ams[k].i == i;
		for (k = 0; k < in->naar; k++)
			caar += in->aar_inst[k] == i;
		if (cas != 1 || cams != 1 || caar != 1)
			in->arc_state = "broken (a missing, doubled or "
					"malformed ARC field)";
	}
	if (n == 0 || in->nas + in->nams + in->naar != 3 * (size_t)n)
		in->arc_state = "broken (a missing, doubled or malformed ARC "
				"field)";
	if (strcmp(in->arc_state, "intact") == 0)
		verify_arc(in, n);
	sanitize(in->arc_why);
}

/* ---- red flags ---- */

static const char *const well_known[] = {"amazon.com", "apple.com",
    "docusign.com", "dropbox.com", "facebook.com", "github.com", "gmail.com",
    "google.com", "icloud.com", "linkedin.com", "microsoft.com", "netflix.com",
    "office.com", "outlook.com", "paypal.com", "yahoo.com"};

/* Levenshtein distance, capped at 3 (enough to say "1 or 2"). */
static unsigned
edit_distance(const char *a, const char *b)
{
	unsigned row[NAME + 1], prev, tmp, best;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > NAME || lb > NAME)
		return 3;
	if ((la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (unsigned)i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb] > 3 ? 3 : row[lb];
}

static int
known(const char *org)
{
	size_t i;

	for (i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
		if (ascii_casecmp(org, well_known[i]) == 0)
			return 1;
	return 0;
}

static void
lookalike_one(struct insp *in, const char *what, const char *d,
    const char *target)
{
	unsigned dist;

	if (target[0] == '\0' || ascii_casecmp(d, target) == 0)
		return;
	dist = edit_distance(d, target);
	if (dist >= 1 && dist <= 2 && strlen(target) >= 6)
		add_flag(in, "lookalike",
		    "%s domain %s is %u edit%s from %s: a look-alike?", what, d,
		    dist, dist == 1 ? "" : "s", target);
}

static void
lookalike(struct insp *in, const char *what, const char *d)
{
	char org[NAME], rorg[NAME];
	struct idn_info ii;
	const char *as = d;
	size_t i;

	if (d[0] == '\0')
		return;
	idn_analyse(d, &ii);
	if (ii.mixed)
		add_flag(in, "idn",
		    "%s domain %s mixes scripts (%s) in one label; it reads "
		    "as %s",
		    what, d, ii.scripts, ii.skeleton);
	else if (ii.idn)
		add_flag(in, "idn",
		    "%s domain %s is an internationalised (punycode) name: "
		    "check it is the one you expect",
		    what, d);
	if (ii.idn)
		as = !ii.bad && strchr(ii.skeleton, '?') == NULL ? ii.skeleton
								 : NULL;
	if (as == NULL)
		return;
	org_of(as, org, sizeof(org));
	org_of(in->receiver, rorg, sizeof(rorg));
	if (ii.idn && (ascii_casecmp(org, rorg) == 0 || known(org)))
		add_flag(in, "lookalike",
		    "%s domain %s reads as %s: letters of another script "
		    "imitate it",
		    what, d, org);
	lookalike_one(in, what, org, rorg);
	for (i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
		lookalike_one(in, what, org, well_known[i]);
}

static void
red_flags(struct insp *in)
{
	char a[NAME], o[NAME];
	size_t i;

	if (in->from_name[0] != '\0' && strchr(in->from_name, '@') != NULL) {
		first_addr(in->from_name, a, sizeof(a), NULL, 0);
		if (a[0] == '\0' && strchr(in->from_name, '@') != NULL)
			str_copy(a, in->from_name, sizeof(a));
		if (ascii_casecmp(a, in->from) != 0)
			add_flag(in, "display-name",
			    "From display name \"%s\" holds an address that is "
			    "not the sender's (%s)",
			    in->from_name, in->from);
	}
	if (in->reply_to[0] != '\0') {
		org_of(dom_of(in->reply_to), o, sizeof(o));
		if (ascii_casecmp(o, in->from_org) != 0)
			add_flag(in, "reply-to",
			    "Reply-To %s is on %s, unrelated to From's %s: "
			    "replies go elsewhere",
			    in->reply_to, o, in->from_org);
	}
	if (in->env[0] != '\0' && in->from_org[0] != '\0') {
		org_of(dom_of(in->env), o, sizeof(o));
		if (ascii_casecmp(o, in->from_org) != 0)
			add_flag(in, "return-path",
			    "envelope sender %s is on %s, unrelated to From's "
			    "%s",
			    in->env, o, in->from_org);
	}
	lookalike(in, "From", in->from_dom);
	if (in->reply_to[0] != '\0')
		lookalike(in, "Reply-To", dom_of(in->reply_to));
	for (i = 0; i < in->nsig; i++)
		if (in->sig[i].res.pass &&
		    ascii_casecmp(in->sig[i].t.d, in->from_dom) != 0)
			lookalike(in, "DKIM d=", in->sig[i].t.d);
}

/* Executable, script and macro-enabled types (by name only). */
static const char *const risky_ext[] = {".exe", ".scr", ".com", ".pif", ".bat",
    ".cmd", ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".msi",
    ".jar", ".ps1", ".lnk", ".iso", ".img", ".reg", ".cpl", ".dll", ".docm",
    ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppsm", ".sldm"};

static int
risky(const char *name)
{
	size_t n = strlen(name), k, i;

	for (i = 0; i < sizeof(risky_ext) / sizeof(risky_ext[0]); i++) {
		k = strlen(risky_ext[i]);
		if (n > k && ascii_casecmp(name + n - k, risky_ext[i]) == 0)
			return 1;
	}
	return 0;
}

/* The body, at most INSPECT_MAX_SCAN bytes of it, through mime.c. */
static void
scan_body(struct insp *in)
{
	unsigned long long size = message_body_size(in->m);
	size_t n = size > INSPECT_MAX_SCAN ? INSPECT_MAX_SCAN : (size_t)size;
	char *body = xcalloc(1, n + 1), o1[NAME], o2[NAME];
	struct mime_scan *ms = xcalloc(1, sizeof(*ms));
	ssize_t r = n > 0 ? pread(message_body_fd(in->m), body, n, 0) : 0;
	size_t i;

	if (r >= 0) {
		mime_scan(message_get(in->m, "Content-Type"),
		    message_get(in->m, "Content-Transfer-Encoding"), body,
		    (size_t)r, ms);
		in->scanned = 1;
		in->scan_limited = ms->limited || size > n;
	}
	for (i = 0; i < ms->nnames; i++)
		if (risky(ms->names[i].name))
			add_flag(in, "attachment",
			    "%s%s%s: an executable, script or macro-enabled "
			    "file (do not open it)",
			    ms->names[i].archive[0] ? ms->names[i].archive
						    : "attachment",
			    ms->names[i].archive[0] ? " holds " : " ",
			    ms->names[i].name);
	for (i = 0; i < ms->nlinks; i++) {
		org_of(ms->links[i].href_host, o1, sizeof(o1));
		org_of(ms->links[i].text_host, o2, sizeof(o2));
		if (ascii_casecmp(o1, o2) != 0)
			add_flag(in, "link", "a link shows %s but goes to %s",
			    ms->links[i].text_host, ms->links[i].href_host);
	}
	free(ms);
	free(body);
}

static int
spoof_flag(const struct insp *in)
{
	size_t i;

	for (i = 0; i < in->nflag; i++)
		if (strcmp(in->flag[i].kind, "display-name") == 0 ||
		    strcmp(in->flag[i].kind, "lookalike") == 0 ||
		    strcmp(in->flag[i].kind, "idn") == 0 ||
		    strcmp(in->flag[i].kind, "reply-to") == 0 ||
		    strcmp(in->flag[i].kind, "link") == 0 ||
		    strcmp(in->flag[i].kind, "hop-order") == 0)
			return 1;
	return 0;
}

static void
verdict(struct insp *in)
{
	size_t i;
	int any = in->spf_done && in->spf.result == SPF_PASS;

	for (i = 0; i < in->nsig; i++)
		any |= in->sig[i].res.pass;
	if (in->dkim_aligned || in->spf_aligned) {
		in->verdict_key = "authenticated-aligned";
		in->verdict = "authenticated and aligned";
	} else if (any && !spoof_flag(in)) {
		/* Authenticated for a domain other than From's, without a
		 * sign of imitation; with one, it is the phishing pattern. */
		in->verdict_key = "authenticated-not-aligned";
		in->verdict = "authenticated, not aligned";
	} else if (spoof_flag(in) ||
		   (in->dmarc_done && in->dmarc.status == DMARC_FOUND &&
		       in->dmarc.policy != DMARC_P_NONE)) {
		in->verdict_key = "forged-looking";
		in->verdict = "forged-looking";
	} else {
		in->verdict_key = "not-authenticated";
		in->verdict = "not authenticated";
	}
}

/* ---- output: text ---- */

struct out {
	FILE *fp;
	int colour;
};

/* One item, wrapped at WIDTH with continuation lines indented. */
static void out_line(struct out *o, int indent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
out_line(struct out *o, int indent, const char *fmt, ...)
{
	char text[1024], *p;
	size_t n, cut, room;
	va_list ap;
	int first = 1;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sanitize(text);
	p = text;
	while (*p != '\0') {
		room = (size_t)(WIDTH - indent - (first ? 0 : 4));
		n = strlen(p);
		cut = n;
		if (n > room) {
			for (cut = room; cut > room / 2 && p[cut] != ' '; cut--)
				;
			if (p[cut] != ' ')
				cut = room;
		}
		fprintf(o->fp, "%*s%.*s\n", indent + (first ? 0 : 4), "",
		    (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		first = 0;
	}
}

static const char *
or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static void
text_path(struct out *o, const struct insp *in)
{
	const struct trace_received *r;
	size_t i, k;

	out_line(o, 0,
	    "path (%zu hop%s, earliest first; receiver %s):", in->nhop,
	    in->nhop == 1 ? "" : "s", or_dash(in->receiver));
	for (k = in->nhop; k > 0; k--) {
		i = k - 1;
		r = &in->hop[i].r;
		out_line(o, 2, "%zu%s from %s (%s [%s]) by %s with %s%s%s%s%s",
		    in->nhop - i, (long)i == in->boundary ? "*" : "",
		    or_dash(r->from), or_dash(r->from_rdns), or_dash(r->ip),
		    or_dash(r->by), or_dash(r->with), r->tls[0] ? " " : "",
		    r->tls, r->cipher[0] ? " " : "", r->cipher);
		if (in->hop[i].has_delay)
			out_line(o, 6, "delay %+llds", in->hop[i].delay);
		else if (!r->has_time)
			out_line(o, 6, "no date: %s", or_dash(in->hop[i].why));
	}
	if (in->skipped_hops > 0)
		out_line(o, 2, "(%zu more Received fields not examined)",
		    in->skipped_hops);
	if (in->boundary < 0) {
		out_line(o, 2, "boundary: not found (no hop from outside %s)",
		    or_dash(in->trusted_org));
		return;
	}
	out_line(o, 2, "boundary: hop %zu (*), %s, reverse DNS %s%s",
	    in->nhop - (size_t)in->boundary,
	    or_dash(in->hop[in->boundary].r.ip), or_dash(in->ptr),
	    in->fcrdns == 1		    ? " (forward-confirmed)"
	    : in->fcrdns == 0 && in->ptr[0] ? " (NOT forward-confirmed)"
	    : in->fcrdns == 0		    ? " (none)"
					    : " (could not check)");
}

static void
text_ids(struct out *o, const struct insp *in)
{
	char org[NAME];
	size_t i;

	out_line(o, 0, "identities:");
	out_line(o, 2, "From:        %s%s%s%s (org %s)", or_dash(in->from),
	    in->from_name[0] ? " \"" : "", in->from_name,
	    in->from_name[0] ? "\"" : "", or_dash(in->from_org));
	org_of(dom_of(in->env), org, sizeof(org));
	out_line(o, 2, "envelope:    %s (%s; org %s)", or_dash(in->env),
	    or_dash(in->env_src), or_dash(org));
	out_line(o, 2, "Sender:      %s", or_dash(in->sender));
	out_line(o, 2, "Reply-To:    %s", or_dash(in->reply_to));
	for (i = 0; i < in->nsig; i++) {
		org_of(in->sig[i].t.d, org, sizeof(org));
		out_line(o, 2, "DKIM d=:     %s (org %s)%s",
		    or_dash(in->sig[i].t.d), or_dash(org),
		    ascii_casecmp(org, in->from_org) == 0 ? ", aligns with From"
							  : "");
	}
}

static void
text_compare(struct out *o, const char *now, const char *rec)
{
	if (rec[0] == '\0')
		return;
	if (ascii_casecmp(now, rec) == 0)
		out_line(o, 6, "receiver recorded %s too", rec);
	else if (strcmp(now, "temperror") == 0)
		out_line(o, 6,
		    "receiver recorded %s (not comparable: the lookup failed "
		    "now)",
		    rec);
	else
		out_line(o, 6,
		    "receiver recorded %s: differs (keys rotated or DNS "
		    "changed since?)",
		    rec);
}

static void
text_auth(struct out *o, const struct insp *in)
{
	const struct dkimsig *s;
	size_t i;

	out_line(o, 0, "authentication (computed now):");
	if (in->nsig == 0)
		out_line(o, 2, "dkim: none (no DKIM-Signature)");
	for (i = 0; i < in->nsig; i++) {
		s = &in->sig[i];
		out_line(o, 2, "dkim %zu: %s", i + 1, s->res.line);
		text_compare(o, s->res.pass ? "pass" : "fail", s->recorded);
	}
	if (in->spf_done)
		out_line(o, 2, "spf: %s for %s as %s%s%s",
		    spf_result_name(in->spf.result), in->hop[in->boundary].r.ip,
		    in->env, in->spf.problem[0] ? ": " : "", in->spf.problem);
	else
		out_line(o, 2, "spf: not checked (%s)",
		    in->env[0] == '\0' ? "no envelope sender"
				       : "no boundary hop address");
	if (in->spf_done)
		text_compare(o, spf_result_name(in->spf.result),
		    in->spf_recorded);
	if (in->dmarc_done)
		out_line(o, 2, "dmarc: %s for %s (%s%s%s)", in->dmarc_res,
		    in->from_dom, in->dmarc.status == DMARC_FOUND ? "p=" : "",
		    in->dmarc.status == DMARC_FOUND
			? dmarc_policy_name(in->dmarc.policy)
			: in->dmarc.problem,
		    in->dkim_aligned  ? "; aligned DKIM"
		    : in->spf_aligned ? "; aligned SPF"
				      : "");
	if (in->dmarc_done)
		text_compare(o, in->dmarc_res, in->dmarc_recorded);
	if (in->arc_state != NULL)
		out_line(o, 2, "arc: chain %s, last cv=%s%s%s", in->arc_state,
		    or_dash(in->arc_cv), in->arc_why[0] ? ": " : "",
		    in->arc_why);
	if (in->arc_state != NULL && in->arc_recorded[0] != '\0')
		out_line(o, 6, "receiver recorded arc=%s", in->arc_recorded);
}

static void
text_report(struct out *o, const struct insp *in)
{
	static const char *const col[] = {"\033[32m", "\033[33m", "\033[31m"};
	int c = strcmp(in->verdict_key, "authenticated-aligned") == 0 ? 0
		: strcmp(in->verdict_key, "forged-looking") == 0      ? 2
								      : 1;
	size_t i;

	fprintf(o->fp, "%sverdict: %s%s", o->colour ? col[c] : "", in->verdict,
	    o->colour ? "\033[0m" : "");
	if (in->nflag > 0)
		fprintf(o->fp, " (%zu red flag%s)", in->nflag,
		    in->nflag == 1 ? "" : "s");
	fputc('\n', o->fp);
	if (in->subject[0] != '\0')
		out_line(o, 0, "subject: %s", in->subject);
	text_path(o, in);
	text_ids(o, in);
	text_auth(o, in);
	out_line(o, 0, "red flags:%s", in->nflag == 0 ? " none" : "");
	for (i = 0; i < in->nflag; i++)
		out_line(o, 2, "%s: %s", in->flag[i].kind, in->flag[i].text);
	if (in->scan_limited)
		out_line(o, 0,
		    "body: scanned in part (a MIME limit was reached): "
		    "links and attachments past it were not checked");
	out_line(o, 0, "dns: %u of %d lookups used", in->b.used,
	    INSPECT_MAX_LOOKUPS);
}

/* ---- output: JSON ---- */

static void
jstr(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < ' ' || c >= 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static void
jkv(FILE *fp, const char *k, const char *v, int comma)
{
	jstr(fp, k);
	fputc(':', fp);
	if (v == NULL || v[0] == '\0')
		fputs("null", fp);
	else
		jstr(fp, v);
	if (comma)
		fputc(',', fp);
}

static void
json_hops(FILE *fp, const struct insp *in)
{
	const struct trace_received *r;
	size_t i, k;

	fputs("\"hops\":[", fp);
	for (k = in->nhop; k > 0; k--) {
		i = k - 1;
		r = &in->hop[i].r;
		fprintf(fp, "%s{\"n\":%zu,", k == in->nhop ? "" : ",",
		    in->nhop - i);
		jkv(fp, "from", r->from, 1);
		jkv(fp, "rdns", r->from_rdns, 1);
		jkv(fp, "ip", r->ip, 1);
		jkv(fp, "by", r->by, 1);
		jkv(fp, "with", r->with, 1);
		jkv(fp, "tls", r->tls, 1);
		jkv(fp, "cipher", r->cipher, 1);
		if (r->has_time)
			fprintf(fp, "\"time\":%lld,", r->time);
		else
			fputs("\"time\":null,", fp);
		if (in->hop[i].has_delay)
			fprintf(fp, "\"delay\":%lld,", in->hop[i].delay);
		else
			fputs("\"delay\":null,", fp);
		fprintf(fp, "\"boundary\":%s}",
		    (long)i == in->boundary ? "true" : "false");
	}
	fputs("],", fp);
	if (in->boundary < 0) {
		fputs("\"boundary\":null,", fp);
		return;
	}
	fputs("\"boundary\":{", fp);
	fprintf(fp, "\"hop\":%zu,", in->nhop - (size_t)in->boundary);
	jkv(fp, "ip", in->hop[in->boundary].r.ip, 1);
	jkv(fp, "ptr", in->ptr, 1);
	fprintf(fp, "\"fcrdns\":%s},",
	    in->fcrdns == 1   ? "true"
	    : in->fcrdns == 0 ? "false"
			      : "null");
}

static void
json_dkim(FILE *fp, const struct insp *in)
{
	const struct dkimsig *s;
	size_t i;

	fputs("\"dkim\":[", fp);
	for (i = 0; i < in->nsig; i++) {
		s = &in->sig[i];
		fputs(i > 0 ? ",{" : "{", fp);
		jkv(fp, "d", s->t.d, 1);
		jkv(fp, "s", s->t.s, 1);
		jkv(fp, "a", s->t.a, 1);
		jkv(fp, "result", s->res.pass ? "pass" : "fail", 1);
		jkv(fp, "problem", s->problem, 1);
		jkv(fp, "detail", s->res.line, 1);
		jkv(fp, "recorded", s->recorded, 1);
		if (s->t.has_l)
			fprintf(fp, "\"l\":%llu,", s->t.l);
		else
			fputs("\"l\":null,", fp);
		fprintf(fp,
		    "\"covers\":{\"from\":%s,\"subject\":%s,\"to\":%s},"
		    "\"weak_key\":%s}",
		    trace_list_has(s->t.h, "from") ? "true" : "false",
		    trace_list_has(s->t.h, "subject") ? "true" : "false",
		    trace_list_has(s->t.h, "to") ? "true" : "false",
		    s->weak ? "true" : "false");
	}
	fputs("],", fp);
}

static void
json_auth(FILE *fp, const struct insp *in)
{
	fputs("\"spf\":{", fp);
	jkv(fp, "result", in->spf_done ? spf_result_name(in->spf.result) : NULL,
	    1);
	jkv(fp, "ip", in->spf_done ? in->hop[in->boundary].r.ip : NULL, 1);
	jkv(fp, "domain", dom_of(in->env), 1);
	jkv(fp, "recorded", in->spf_recorded, 0);
	fputs("},\"dmarc\":{", fp);
	jkv(fp, "result", in->dmarc_res, 1);
	jkv(fp, "policy",
	    in->dmarc_done && in->dmarc.status == DMARC_FOUND
		? dmarc_policy_name(in->dmarc.policy)
		: NULL,
	    1);
	jkv(fp, "record", in->dmarc_done ? in->dmarc.where : NULL, 1);
	fprintf(fp, "\"dkim_aligned\":%s,\"spf_aligned\":%s,",
	    in->dkim_aligned ? "true" : "false",
	    in->spf_aligned ? "true" : "false");
	jkv(fp, "recorded", in->dmarc_recorded, 0);
	fputs("},\"arc\":{", fp);
	jkv(fp, "chain", in->arc_state, 1);
	jkv(fp, "cv", in->arc_cv, 1);
	jkv(fp, "detail", in->arc_why, 1);
	jkv(fp, "recorded", in->arc_recorded, 0);
	fputs("},", fp);
}

static void
json_report(FILE *fp, const struct insp *in)
{
	size_t i;

	fputc('{', fp);
	jkv(fp, "verdict", in->verdict_key, 1);
	jkv(fp, "verdict_text", in->verdict, 1);
	jkv(fp, "subject", in->subject, 1);
	jkv(fp, "receiver", in->receiver, 1);
	json_hops(fp, in);
	fputs("\"identities\":{", fp);
	jkv(fp, "from", in->from, 1);
	jkv(fp, "from_name", in->from_name, 1);
	jkv(fp, "from_domain", in->from_dom, 1);
	jkv(fp, "from_org", in->from_org, 1);
	jkv(fp, "sender", in->sender, 1);
	jkv(fp, "reply_to", in->reply_to, 1);
	jkv(fp, "envelope", in->env, 0);
	fputs("},", fp);
	json_dkim(fp, in);
	json_auth(fp, in);
	fputs("\"flags\":[", fp);
	for (i = 0; i < in->nflag; i++) {
		fputs(i > 0 ? ",{" : "{", fp);
		jkv(fp, "kind", in->flag[i].kind, 1);
		jkv(fp, "text", in->flag[i].text, 0);
		fputc('}', fp);
	}
	fprintf(fp, "],\"body_scan_partial\":%s,\"dns_lookups\":%u}\n",
	    in->scan_limited ? "true" : "false", in->b.used);
}

/* ---- the run ---- */

static int
open_dns(const struct opts *o, struct dns **dns, struct err *e)
{
	struct config *cfg = NULL;
	const struct account *a = NULL;
	struct err ce = {0};
	int rc;

	if (config_load(o->config_file, &cfg, &ce) == 0)
		a = config_find(cfg, o->account, o->sender, &ce);
	if (a == NULL && (o->config_file != NULL || o->account != NULL)) {
		*e = ce;
		config_free(cfg);
		return -1;
	}
	rc = dns_open_ta(a != NULL ? a->dns_server : NULL,
	    a != NULL ? a->dns_trust_anchor : NULL,
	    a != NULL && a->timeout > 0 ? a->timeout * 1000 : 10000, dns, e);
	config_free(cfg);
	return rc;
}

static int
read_message(const struct opts *o, struct message **m, struct err *e)
{
	struct message_read_opts ro;
	int fd = -1, rc;

	memset(&ro, 0, sizeof(ro));
	ro.ignore_dots = 1;
	ro.max_size = INSPECT_MAX_SIZE;
	if (open_input(o->inspect_file, &fd, e) == -1)
		return -1;
	rc = message_read(fd, &ro, m, e);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc == -1 && o->inspect_file != NULL)
		err_prefix(e, "%s", o->inspect_file);
	return rc;
}

int
inspect_run(const struct opts *o, FILE *out, struct err *e)
{
	struct insp *in = xcalloc(1, sizeof(*in));
	struct dns *dns = NULL;
	struct out ou = {out, 0};
	int rc = -1;

	in->ar = xcalloc(INSPECT_MAX_AUTHRES, sizeof(*in->ar));
	if (read_message(o, &in->m, e) == -1 || open_dns(o, &dns, e) == -1)
		goto out;
	in->b.inner = dns_resolver_of(dns);
	collect(in);
	find_boundary(in, o->inspect_trusted);
	identities(in);
	hop_times(in);
	verify_dkim(in);
	check_spf(in);
	check_rdns(in);
	check_dmarc(in);
	check_arc(in);
	red_flags(in);
	scan_body(in);
	verdict(in);
	ou.colour =
	    !o->json && isatty(fileno(out)) && getenv("NO_COLOR") == NULL;
	if (o->json)
		json_report(out, in);
	else
		text_report(&ou, in);
	rc = strcmp(in->verdict_key, "authenticated-aligned") == 0 ? 0 : 1;
out:
	dns_close(dns);
	message_free(in->m);
	free(in->ar);
	free(in);
	return rc;
}
