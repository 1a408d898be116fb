/*
 * tls.c -- TLS client sessions with GnuTLS; the only file that touches a
 * gnutls_session_t.
 *
 * Purpose: authenticate the server and protect the SMTP stream.  The
 * server is authenticated during the handshake: the system trust store (or
 * tls_trust_file, either through the trust index below) and the host name
 * in verify_peer() (what gnutls_session_set_verify_cert() would install),
 * and/or a pinned SHA-256 fingerprint of the leaf certificate, compared in
 * constant time.  SNI is sent unless the name is an IP literal.
 *
 * Non-goals: waiting.  Every function here returns WANT_READ/WANT_WRITE
 * on a non-blocking socket; net.c owns the deadline and the poll().
 * No renegotiation.  Sessions are resumed across runs (ticket_load()).
 *
 * Invariants: tls_handshake() returns TLS_IO_DONE only for a verified
 * peer and a protocol >= TLS 1.2.  Writes go through sendmsg() with
 * MSG_NOSIGNAL, so a closed peer is an error, not a SIGPIPE.
 *
 * Failure policy: configuration problems are ERR_CONFIG; anything the
 * server or network does wrong is ERR_TEMP (the mail is kept).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <arpa/inet.h>

#include <gnutls/dane.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "buf.h"
#include "dl.h"
#include "log.h"
#include "state.h"
#include "tls.h"

/* libgnutls-dane, loaded by dane_records() for TLSA records (dl.h). */
/* clang-format off */
#define GNUTLS_DANE_FUNCTIONS(X) X(dane_query_deinit) X(dane_raw_tlsa) \
	X(dane_state_deinit) X(dane_state_init) X(dane_verify_crt_raw)
/* clang-format on */
DL_LIBRARY(GNUTLS_DANE_FUNCTIONS);

#define TLS_DEFAULT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_MIN_VERSION_SUFFIX ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"

/* The trust store index (see load_trust()). */
#define TRUST_INDEX_MAGIC "postseal trust index 1\n"
#define TRUST_INDEX_MAX (32u << 20) /* bytes */
#define TRUST_INDEX_ID 7	    /* uint64 fields of the bundle's stat */
#define TRUST_ANCHORS_MAX 64	    /* CAs added for one peer chain */
#define TRUST_INDEX_MIN 16384	    /* smaller files: parsing beats the index */
#define TICKET_MAX (64u << 10)	    /* bytes of a cached session */
#define TICKET_MAX_AGE (24 * 3600)  /* seconds a cached session is offered */

/* What tls_flush() gathers before a send(): four full records (16 KiB of
 * data each, with room for the record header, tag and padding). */
#define TLS_BATCH (4 * (16384 + 256))

struct tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	unsigned char *idx; /* trust index records, or NULL: store loaded */
	size_t idxlen;
	unsigned vstatus;	/* GnuTLS's verification status of the peer */
	char ticket[4096];	/* the session cache file, "" for none */
	unsigned char *offered; /* its contents, as offered in this handshake */
	size_t offeredlen;
	int resumed;
	int fd;
	int have_session;
	int certcheck;
	int pinned;
	unsigned char pin[32];
	char host[256];
	char info[64];
	/* DANE: the usable TLSA records' RDATA; DANE-TA ones are kept with
	 * the usage byte set to 3 (see verify_dane()). */
	unsigned char *ee[TLS_DANE_MAX], *ta[TLS_DANE_MAX];
	int eelen[TLS_DANE_MAX], talen[TLS_DANE_MAX];
	unsigned nee, nta;
	int dane;	    /* TLSA records were given: DANE decides */
	int dane_required;  /* tls_dane on */
	char dane_why[128]; /* why DANE refused the peer, or "" */
	char tlsa_name[280];
	char dane_alt[256]; /* a second name DANE-TA accepts, or "" */
	int dane_usage;	    /* the usage that authenticated the peer */
	int bye_sent;	    /* tls_close_write() sent close_notify */
	/* tls_flush() gathers the records of what was queued here and writes
	 * them in few send()s (push_vec()); outoff: how much has left. */
	int batch;
	size_t outlen, outoff;
	unsigned char out[TLS_BATCH];
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tls_parse_fingerprint(const char *s, unsigned char out[32])
{
	size_t i;
	int hi, lo;

	for (i = 0; i < 32; i++) {
		if (i > 0 && *s == ':')
			s++;
		if ((hi = hexval(s[0])) < 0 || (lo = hexval(s[1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return *s == '\0' ? 0 : -1;
}

/* Write what tls_flush() gathered: 0 when all has left, else -1 with
 * errno (EAGAIN: call again when the socket is writable). */
static int
drain(struct tls *t)
{
	ssize_t r;

	while (t->outoff < t->outlen) {
		r = send(t->fd, t->out + t->outoff, t->outlen - t->outoff,
		    MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		t->outoff += (size_t)r;
	}
	t->outlen = t->outoff = 0;
	return 0;
}

/*
 * Our writes, with MSG_NOSIGNAL (no SIGPIPE on a dead peer).  GnuTLS
 * pushes each record on its own when it uncorks, one 16 KiB record per
 * system call; inside tls_flush() the records are gathered into t->out
 * instead and leave in one send() per TLS_BATCH octets, in order.  When
 * t->out is full and the socket takes no more, -1/EAGAIN makes GnuTLS
 * keep the record and retry it.  Anything pushed outside a flush
 * (handshake, alerts) first writes what is gathered, so order holds.
 */
static ssize_t
push_vec(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct tls *t = ptr;
	struct msghdr m;
	size_t total = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (t->batch && total <= sizeof(t->out)) {
		if (t->outlen + total > sizeof(t->out) && drain(t) == -1)
			return -1;
		for (i = 0; i < iovcnt; i++) {
			memcpy(t->out + t->outlen, iov[i].iov_base,
			    iov[i].iov_len);
			t->outlen += iov[i].iov_len;
		}
		return (ssize_t)total;
	}
	if (t->outlen > 0 && drain(t) == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	m.msg_iov = (struct iovec *)(uintptr_t)iov;
	m.msg_iovlen = (size_t)iovcnt;
	return sendmsg(t->fd, &m, MSG_NOSIGNAL);
}

static int
is_ip_literal(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/*
 * The trust store index.  Parsing the 144-CA system bundle whole costs
 * ~64 M instructions per run (callgrind: 69.0 M for a process that loads
 * it and verifies one certificate, 4.5 M for the same with that one CA
 * given directly), five times the rest of a submission.  GnuTLS's
 * alternative, its p11-kit trust module with on-demand lookups (a
 * "pkcs11:model=p11-kit-trust" trust URL), measured 175.8 M for the same
 * process: the module parses the whole bundle itself when its token
 * loads, with its own persistence layer on top.  So the bundle is parsed
 * once, and its CAs are kept as DER in an index in the state directory
 * (state.c), keyed by the SHA-256 of each CA's raw subject DN.  A run
 * that finds the index current (the bundle's device, inode, size, mtime
 * and ctime unchanged: an update rewrites or replaces the file) adds only
 * the CAs whose subject is the subject or issuer DN of a certificate the
 * peer sent, inside the verification callback and just before GnuTLS's
 * own verification.  GnuTLS looks up anchors and trusted certificates by
 * subject DN only, so every CA of the bundle it could use for that chain
 * is in the list it verifies against, and the result is that of the
 * whole bundle: verification is exactly as strict.
 *
 * Layout: TRUST_INDEX_MAGIC, TRUST_INDEX_ID big-endian uint64 of the
 * bundle's stat, then records of a 32-byte DN hash, a 4-byte big-endian
 * length and that many bytes of DER.  A file that does not parse is
 * rebuilt; a CA that fails to import is simply not added (fails closed).
 */
static int
bundle_id(const char *file, unsigned char id[TRUST_INDEX_ID * 8])
{
	struct stat st;
	uint64_t v[TRUST_INDEX_ID];
	int i;

	if (stat(file, &st) == -1 || !S_ISREG(st.st_mode))
		return -1;
	v[0] = (uint64_t)st.st_dev;
	v[1] = (uint64_t)st.st_ino;
	v[2] = (uint64_t)st.st_size;
	v[3] = (uint64_t)st.st_mtim.tv_sec;
	v[4] = (uint64_t)st.st_mtim.tv_nsec;
	v[5] = (uint64_t)st.st_ctim.tv_sec;
	v[6] = (uint64_t)st.st_ctim.tv_nsec;
	for (i = 0; i < TRUST_INDEX_ID; i++)
		put_be(id + 8 * i, v[i], 8);
	return 0;
}

static int
sha256(const void *p, size_t n, unsigned char out[32])
{
	return crypto_hash_sha256(out, p, n) == 0 ? 0 : -1;
}

/* The index of FILE: trust/<first 16 bytes of SHA-256(FILE) in hex>. */
static int
index_path(const char *file, char *out, size_t size)
{
	unsigned char h[32];
	char hex[33];

	if (sha256(file, strlen(file), h) == -1)
		return -1;
	state_hex(h, 16, hex);
	return state_path("trust", hex, out, size);
}

/* The number of well-formed records in p, or -1. */
static long
index_records(const unsigned char *p, size_t n)
{
	long count = 0;
	uint64_t len;

	while (n > 0) {
		if (n < 36)
			return -1;
		len = get_be(p + 32, 4);
		if (len == 0 || len > n - 36)
			return -1;
		p += 36 + len;
		n -= 36 + len;
		count++;
	}
	return count;
}

static int
index_load(struct tls *t, const char *path, const unsigned char *id)
{
	const size_t ml = sizeof(TRUST_INDEX_MAGIC) - 1;
	const size_t hl = ml + TRUST_INDEX_ID * 8;
	unsigned char *d;
	size_t n;
	long count;

	if (state_read(path, TRUST_INDEX_MAX, &d, &n) == -1)
		return -1;
	if (n <= hl || memcmp(d, TRUST_INDEX_MAGIC, ml) != 0 ||
	    memcmp(d + ml, id, TRUST_INDEX_ID * 8) != 0 ||
	    (count = index_records(d + hl, n - hl)) <= 0 || count > INT_MAX) {
		state_free(d, n);
		return -1;
	}
	memmove(d, d + hl, n - hl);
	t->idx = d;
	t->idxlen = n - hl;
	return (int)count;
}

static int
index_add(struct buf *b, gnutls_x509_crt_t crt)
{
	gnutls_datum_t dn = {NULL, 0}, der = {NULL, 0};
	unsigned char h[32], len[4];
	int r = -1;

	if (gnutls_x509_crt_get_raw_dn(crt, &dn) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0 ||
	    der.size == 0 || sha256(dn.data, dn.size, h) == -1)
		goto out;
	put_be(len, der.size, 4);
	if (buf_add(b, h, sizeof(h)) == -1 ||
	    buf_add(b, len, sizeof(len)) == -1 ||
	    buf_add(b, der.data, der.size) == -1)
		goto out;
	r = 0;
out:
	gnutls_free(dn.data);
	gnutls_free(der.data);
	return r;
}

/*
 * Parse FILE whole, trust all of it for this run, and write its index.
 * Returns the number of CAs, or -1 when FILE does not parse (the caller
 * then lets GnuTLS load it, for GnuTLS's own error).
 */
static int
index_build(struct tls *t, const char *file, const char *path,
    const unsigned char *id)
{
	gnutls_datum_t data = {NULL, 0};
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0, i;
	struct buf b;
	int r, ok = 1;

	if (gnutls_load_file(file, &data) < 0)
		return -1;
	r = gnutls_x509_crt_list_import2(&list, &n, &data, GNUTLS_X509_FMT_PEM,
	    0);
	gnutls_free(data.data);
	if (r < 0)
		return -1;
	buf_init(&b, TRUST_INDEX_MAX);
	if (buf_addstr(&b, TRUST_INDEX_MAGIC) == -1 ||
	    buf_add(&b, id, TRUST_INDEX_ID * 8) == -1)
		ok = 0;
	for (i = 0; i < n && ok; i++)
		ok = index_add(&b, list[i]) == 0;
	if (ok && n > 0)
		(void)state_write(path, b.data, b.len);
	buf_reset(&b);
	r = n > 0 ? gnutls_certificate_set_x509_trust(t->cred, list, (int)n)
		  : 0;
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	return r < 0 ? -1 : (int)n;
}

/* Add the indexed CAs whose subject DN hashes to h (at most *room). */
static void
index_lookup(struct tls *t, const unsigned char h[32], gnutls_x509_crt_t *out,
    unsigned *n)
{
	const unsigned char *p = t->idx, *end = t->idx + t->idxlen;
	gnutls_datum_t der;
	gnutls_x509_crt_t crt;
	size_t len;

	for (; p < end && *n < TRUST_ANCHORS_MAX; p += 36 + len) {
		len = (size_t)get_be(p + 32, 4);
		if (memcmp(p, h, 32) != 0)
			continue;
		der.data = (unsigned char *)(uintptr_t)(p + 36);
		der.size = (unsigned)len;
		if (gnutls_x509_crt_init(&crt) < 0)
			fatal_oom();
		if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) <
		    0) {
			gnutls_x509_crt_deinit(crt);
			continue;
		}
		out[(*n)++] = crt;
	}
}

static void
dn_lookup(struct tls *t, const gnutls_datum_t *dn, gnutls_x509_crt_t *out,
    unsigned *n)
{
	unsigned char h[32];

	if (dn->data != NULL && sha256(dn->data, dn->size, h) == 0)
		index_lookup(t, h, out, n);
}

/* The CAs that can anchor the peer's chain, into the credentials. */
static void
add_anchors(struct tls *t)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt, found[TRUST_ANCHORS_MAX];
	gnutls_datum_t dn;
	unsigned ncerts = 0, n = 0, i;

	certs = gnutls_certificate_get_peers(t->session, &ncerts);
	for (i = 0; certs != NULL && i < ncerts; i++) {
		if (gnutls_x509_crt_init(&crt) < 0)
			fatal_oom();
		if (gnutls_x509_crt_import(crt, &certs[i],
			GNUTLS_X509_FMT_DER) == 0) {
			if (gnutls_x509_crt_get_raw_dn(crt, &dn) == 0) {
				dn_lookup(t, &dn, found, &n);
				gnutls_free(dn.data);
			}
			if (gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) == 0) {
				dn_lookup(t, &dn, found, &n);
				gnutls_free(dn.data);
			}
		}
		gnutls_x509_crt_deinit(crt);
	}
	if (n > 0)
		(void)gnutls_certificate_set_x509_trust(t->cred, found, (int)n);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(found[i]);
	state_free(t->idx, t->idxlen); /* once per session */
	t->idx = NULL;
	t->idxlen = 0;
}

/*
 * The trusted CAs: FILE through its index when the state directory
 * allows, else loaded whole by GnuTLS.  Returns the number of CAs or a
 * GnuTLS error code.
 */
static int
load_trust(struct tls *t, const char *file)
{
	unsigned char id[TRUST_INDEX_ID * 8];
	char path[4096];
	int system = file == NULL || strcmp(file, "system") == 0, r;

	if (system) {
#ifdef SYSTEM_TRUST_FILE
		file = SYSTEM_TRUST_FILE;
#else
		return gnutls_certificate_set_x509_system_trust(t->cred);
#endif
	}
	if (bundle_id(file, id) == 0 && get_be(id + 16, 8) >= TRUST_INDEX_MIN &&
	    index_path(file, path, sizeof(path)) == 0) {
		if ((r = index_load(t, path, id)) > 0 ||
		    (r = index_build(t, file, path, id)) >= 0)
			return r;
	}
	if (system)
		return gnutls_certificate_set_x509_system_trust(t->cred);
	return gnutls_certificate_set_x509_trust_file(t->cred, file,
	    GNUTLS_X509_FMT_PEM);
}

static int
load_credentials(struct tls *t, const struct tls_params *p, struct err *e)
{
	int r;

	if (gnutls_certificate_allocate_credentials(&t->cred) < 0)
		fatal_oom();
	if (!p->certcheck)
		r = 1; /* only the pinned fingerprint counts */
	else
		r = load_trust(t, p->trust_file);
	if (r < 0)
		return err_set(e, ERR_CONFIG,
		    "cannot load the trusted CAs (%s): %s",
		    p->trust_file ? p->trust_file : "system",
		    gnutls_strerror(r));
	if (r == 0 && !t->pinned)
		return err_set(e, ERR_CONFIG,
		    "no trusted CA certificates in %s",
		    p->trust_file ? p->trust_file : "the system store");
	if ((p->cert_file == NULL) != (p->key_file == NULL))
		return err_set(e, ERR_CONFIG,
		    "tls_cert_file and tls_key_file must be set together");
	if (p->cert_file != NULL &&
	    (r = gnutls_certificate_set_x509_key_file(t->cred, p->cert_file,
		 p->key_file, GNUTLS_X509_FMT_PEM)) < 0)
		return err_set(e, ERR_CONFIG, "cannot load %s / %s: %s",
		    p->cert_file, p->key_file, gnutls_strerror(r));
	return 0;
}

/*
 * DANE (RFC 7672 for SMTP, RFC 7671 for operations).  Debian's
 * libgnutls-dane does the matching: dane_raw_tlsa() takes our records
 * (marked secure: dane.c passes only DNSSEC-validated answers) and
 * dane_verify_crt_raw() compares a certificate or its public key, as
 * the selector says, under the matching type.
 *  - DANE-EE(3): the leaf matches a record; no name, validity or chain
 *    check (RFC 7672 3.1.1).
 *  - DANE-TA(2): a certificate the server sent above the leaf matches a
 *    record, and the chain verifies from it as the only trust anchor,
 *    with the host name and validity checked (RFC 7672 3.1.2, 3.2.2).
 *    Not gnutls-dane's own usage-2 check (verify_ca() in its dane.c):
 *    that verifies the leaf against its direct issuer among the sent
 *    certificates but not that this issuer chains to the matched one,
 *    and checks no name.  So gnutls-dane is asked only whether one
 *    certificate matches (the record given as usage 3 against that
 *    certificate alone) and GnuTLS's chain verification does the rest.
 *  - PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 3.1.3),
 *    as are unknown selectors and matching types, and digests of the
 *    wrong length.
 * Any usable record that matches authenticates the peer (RFC 7671 5: a
 * set holds old and new keys during a rollover).
 */
int
tls_parse_tlsa(const char *s, unsigned char *out, size_t size, size_t *len,
    int *usable)
{
	unsigned long long v;
	size_t n = 0;
	int i, hi, lo;

	*usable = 0;
	if (size < 4)
		return -1;
	for (i = 0; i < 3; i++) {
		/* As dns.c prints them: no leading zeros. */
		if ((s[0] == '0' && s[1] != ' ') ||
		    parse_uint(&s, 255, &v) == -1 || *s++ != ' ')
			return -1;
		out[n++] = (unsigned char)v;
	}
	while (*s != '\0') {
		if ((hi = hexval(s[0])) < 0 || (lo = hexval(s[1])) < 0 ||
		    n >= size)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	if (n == 3)
		return -1;
	*len = n;
	*usable = (out[0] == 2 || out[0] == 3) && out[1] <= 1 &&
		  (out[2] == 0 || (out[2] == 1 && n - 3 == 32) ||
		      (out[2] == 2 && n - 3 == 64));
	return 0;
}

/* Keep the usable records of p (malformed ones count as unusable). */
static int
dane_records(struct tls *t, const struct tls_params *p, struct err *e)
{
	unsigned char rd[8192];
	size_t i, len;
	int usable;

	if (p->ntlsa > TLS_DANE_MAX)
		return err_set(e, ERR_TEMP,
		    "DANE: more than %d TLSA records at %s", TLS_DANE_MAX,
		    p->tlsa_name ? p->tlsa_name : t->host);
	if (p->ntlsa > 0 && DL_LOAD(GNUTLS_DANE_SONAME, e) == -1)
		return err_prefix(e, "DANE");
	for (i = 0; i < p->ntlsa; i++) {
		if (tls_parse_tlsa(p->tlsa[i], rd, sizeof(rd), &len, &usable) ==
			-1 ||
		    !usable)
			continue;
		if (rd[0] == 3) {
			t->ee[t->nee] = xcalloc(1, len);
			memcpy(t->ee[t->nee], rd, len);
			t->eelen[t->nee++] = (int)len;
		} else {
			rd[0] = 3; /* matched against one certificate */
			t->ta[t->nta] = xcalloc(1, len);
			memcpy(t->ta[t->nta], rd, len);
			t->talen[t->nta++] = (int)len;
		}
	}
	t->dane = p->ntlsa > 0;
	t->dane_required = p->dane_required != 0;
	if (p->tlsa_name != NULL)
		str_copy(t->tlsa_name, p->tlsa_name, sizeof(t->tlsa_name));
	if (p->dane_alt_name != NULL &&
	    str_copy(t->dane_alt, p->dane_alt_name, sizeof(t->dane_alt)) == -1)
		t->dane_alt[0] = '\0';
	return 0;
}

/* Does cert match one of the n records (all usage 3)? */
static int
dane_match(unsigned char *const *recs, const int *lens, unsigned n,
    const gnutls_datum_t *cert)
{
	char *data[TLS_DANE_MAX + 1];
	int len[TLS_DANE_MAX + 1];
	dane_state_t st = NULL;
	dane_query_t q = NULL;
	unsigned i, status = 1;
	int r = -1;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		data[i] = (char *)recs[i];
		len[i] = lens[i];
	}
	data[n] = NULL;
	len[n] = 0;
	if (lib.dane_state_init(&st,
		DANE_F_IGNORE_LOCAL_RESOLVER | DANE_F_IGNORE_DNSSEC) < 0)
		return 0;
	if (lib.dane_raw_tlsa(st, &q, data, len, 1, 0) == 0)
		r = lib.dane_verify_crt_raw(st, cert, 1, GNUTLS_CRT_X509, q, 0,
		    DANE_VFLAG_ONLY_CHECK_EE_USAGE |
			DANE_VFLAG_FAIL_IF_NOT_CHECKED,
		    &status);
	if (q != NULL)
		lib.dane_query_deinit(q);
	lib.dane_state_deinit(st);
	return r == 0 && status == 0;
}

/* DANE-TA: does certs[0..ta] verify from certs[ta] alone, for t->host? */
static int
dane_ta_chain(struct tls *t, const gnutls_datum_t *certs, unsigned ta)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t chain[TLS_DANE_MAX], anchor;
	gnutls_typed_vdata_st host;
	unsigned i, nc = 0, status = GNUTLS_CERT_INVALID;
	int ok = 0;

	if (gnutls_x509_trust_list_init(&tl, 0) < 0 ||
	    gnutls_x509_crt_init(&anchor) < 0)
		fatal_oom();
	if (gnutls_x509_crt_import(anchor, &certs[ta], GNUTLS_X509_FMT_DER) <
		0 ||
	    gnutls_x509_trust_list_add_cas(tl, &anchor, 1, 0) != 1) {
		gnutls_x509_crt_deinit(anchor);
		goto out;
	}
	for (i = 0; i <= ta; i++) {
		if (gnutls_x509_crt_init(&chain[i]) < 0)
			fatal_oom();
		nc++;
		if (gnutls_x509_crt_import(chain[i], &certs[i],
			GNUTLS_X509_FMT_DER) < 0)
			goto out;
	}
	/* The host name, or its CNAME expansion (RFC 7672 3.2.2). */
	memset(&host, 0, sizeof(host));
	host.type = GNUTLS_DT_DNS_HOSTNAME;
	host.data = (unsigned char *)t->host;
	ok = gnutls_x509_trust_list_verify_crt2(tl, chain, nc, &host, 1, 0,
		 &status, NULL) == 0 &&
	     status == 0;
	if (!ok && t->dane_alt[0] != '\0') {
		host.data = (unsigned char *)t->dane_alt;
		ok = gnutls_x509_trust_list_verify_crt2(tl, chain, nc, &host, 1,
			 0, &status, NULL) == 0 &&
		     status == 0;
	}
out:
	t->vstatus = ok ? 0 : status;
	for (i = 0; i < nc; i++)
		gnutls_x509_crt_deinit(chain[i]);
	gnutls_x509_trust_list_deinit(tl, 1);
	return ok;
}

/* The peer against the TLSA records, instead of the CA check. */
static int
verify_dane(struct tls *t)
{
	const gnutls_datum_t *certs;
	unsigned n = 0, i;

	t->vstatus = 0;
	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0) {
		str_copy(t->dane_why, "sent no certificate",
		    sizeof(t->dane_why));
		return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	}
	if (dane_match(t->ee, t->eelen, t->nee, &certs[0])) {
		log_debug("DANE: %s matches a DANE-EE record", t->host);
		t->dane_usage = 3;
		return 0;
	}
	str_copy(t->dane_why, "matches none of its TLSA records",
	    sizeof(t->dane_why));
	for (i = 1; i < n && i < TLS_DANE_MAX; i++) {
		if (!dane_match(t->ta, t->talen, t->nta, &certs[i]))
			continue;
		if (dane_ta_chain(t, certs, i)) {
			log_debug("DANE: %s verifies from a DANE-TA record",
			    t->host);
			t->dane_usage = 2;
			return 0;
		}
		str_copy(t->dane_why,
		    "does not verify from the CA its DANE-TA record names",
		    sizeof(t->dane_why));
	}
	return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

/*
 * Chain and host name, inside the handshake: what
 * gnutls_session_set_verify_cert(session, host, 0) installs (GnuTLS's
 * auto_verify_cb: gnutls_certificate_verify_peers() with the host name as
 * the one typed datum, any nonzero status fails the handshake), with the
 * indexed anchors added first.  With usable TLSA records DANE decides
 * instead (verify_dane()); with records but none usable, the CA check
 * applies unless tls_dane is on.
 */
static int
verify_peer(gnutls_session_t session)
{
	struct tls *t = gnutls_session_get_ptr(session);
	gnutls_typed_vdata_st host;

	t->dane_why[0] = '\0';
	if (t->nee + t->nta > 0)
		return verify_dane(t);
	if (t->dane_required) {
		str_copy(t->dane_why,
		    "has no TLSA record usable for SMTP (DANE-TA(2) or "
		    "DANE-EE(3))",
		    sizeof(t->dane_why));
		return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	}
	if (!t->certcheck)
		return 0; /* only the pinned fingerprint counts */
	if (t->idx != NULL)
		add_anchors(t);
	memset(&host, 0, sizeof(host));
	host.type = GNUTLS_DT_DNS_HOSTNAME;
	host.data = (unsigned char *)t->host;
	t->vstatus = 0;
	if (gnutls_certificate_verify_peers(session, &host, 1, &t->vstatus) <
	    0) {
		t->vstatus = GNUTLS_CERT_INVALID;
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return t->vstatus != 0 ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

static int
set_priorities(struct tls *t, const char *user, struct err *e)
{
	struct buf b;
	const char *pos = NULL;
	int r;

	buf_init(&b, 4096);
	if (user == NULL)
		r = buf_addstr(&b, TLS_DEFAULT_PRIORITIES);
	else
		r = buf_printf(&b, "%s%s", user, TLS_MIN_VERSION_SUFFIX);
	if (r == -1) {
		buf_reset(&b);
		return err_set(e, ERR_CONFIG, "tls_priorities too long");
	}
	r = gnutls_priority_set_direct(t->session, b.data, &pos);
	if (r < 0) {
		err_set(e, ERR_CONFIG, "tls_priorities: %s at \"%.40s\"",
		    gnutls_strerror(r), pos ? pos : "");
		buf_reset(&b);
		return -1;
	}
	buf_reset(&b);
	return 0;
}

static int
setup_session(struct tls *t, const struct tls_params *p, struct err *e)
{
	int r;

	if (gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		fatal_oom();
	t->have_session = 1;
	if (set_priorities(t, p->priorities, e) == -1)
		return -1;
	r = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred);
	if (r < 0)
		return err_set(e, ERR_SOFTWARE, "TLS credentials: %s",
		    gnutls_strerror(r));
	if (!is_ip_literal(t->host) &&
	    (r = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, t->host,
		 strlen(t->host))) < 0)
		return err_set(e, ERR_CONFIG, "TLS server name %s: %s", t->host,
		    gnutls_strerror(r));
	/* Chain and host name are checked inside the handshake. */
	gnutls_session_set_ptr(t->session, t);
	if (t->certcheck || t->dane)
		gnutls_session_set_verify_function(t->session, verify_peer);
	/* Reads from the descriptor, writes through push_vec() and t. */
	gnutls_transport_set_ptr2(t->session,
	    (gnutls_transport_ptr_t)(intptr_t)t->fd, t);
	gnutls_transport_set_vec_push_function(t->session, push_vec);
	gnutls_handshake_set_timeout(t->session, 0);
	return 0;
}

static int
check_params(struct tls *t, const struct tls_params *p, struct err *e)
{
	if (p->host == NULL || p->host[0] == '\0' ||
	    str_copy(t->host, p->host, sizeof(t->host)) == -1)
		return err_set(e, ERR_CONFIG, "bad TLS host name");
	if (p->fingerprint != NULL) {
		if (tls_parse_fingerprint(p->fingerprint, t->pin) == -1)
			return err_set(e, ERR_CONFIG,
			    "tls_fingerprint: want a SHA-256 fingerprint (64 "
			    "hex digits, colons optional)");
		t->pinned = 1;
	}
	if (!p->certcheck && !t->pinned)
		return err_set(e, ERR_CONFIG,
		    "tls_certcheck off requires tls_fingerprint");
	t->certcheck = p->certcheck != 0;
	return 0;
}

/*
 * Session resumption across runs.  After a successful handshake the
 * session (a TLS 1.3 ticket, or TLS 1.2 session data) is kept in the state
 * directory's tls/ (0600, state.c), in a file named by the SHA-256 of
 * everything the verification depended on: the peer's address and port,
 * the name checked and sent as SNI (tls_host_override included),
 * tls_certcheck, the trust file and the stat of the file behind it, the
 * pinned fingerprint, the client certificate and key (names and stat)
 * and the priority string.  Any change of these names another file, so
 * the next handshake is a full one.  The next run offers it (at most
 * TICKET_MAX_AGE after the verified handshake it came from) and removes
 * it, so that concurrent runs do not offer it together, then saves the one
 * the server sends on that connection.  Postfix sends no new ticket on a
 * resumed session; the offered one is then put back, with its first time
 * (RFC 8446 appendix C.4 advises against reuse for unlinkability, which a
 * client that logs in with the same account on every connection does not
 * have anyway).  A resumed handshake has no
 * certificate to verify: the server proves that it holds the resumption
 * secret of a session this client verified under the same settings (see
 * SECURITY.md N7).  A server that declines the ticket gets a full
 * handshake, verified by verify_peer() as always.  Callgrind: the chain
 * verification (two ECDSA verifications) is ~4 M instructions.
 */
static void
hash_field(crypto_hash_sha256_state *h, const char *v)
{
	if (v == NULL)
		v = "";
	crypto_hash_sha256_update(h, (const unsigned char *)v, strlen(v) + 1);
}

static void
hash_file_id(crypto_hash_sha256_state *h, const char *file)
{
	unsigned char id[TRUST_INDEX_ID * 8];

	memset(id, 0, sizeof(id));
	if (file != NULL)
		(void)bundle_id(file, id);
	crypto_hash_sha256_update(h, id, sizeof(id));
}

static void
ticket_path(struct tls *t, const struct tls_params *p)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	crypto_hash_sha256_state h;
	unsigned char d[32];
	char hex[65];
	const char *trust = p->trust_file;
	size_t i;

	t->ticket[0] = '\0';
	memset(&ss, 0, sizeof(ss));
	if (t->fd < 0 || getpeername(t->fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (trust == NULL || strcmp(trust, "system") == 0) {
#ifdef SYSTEM_TRUST_FILE
		trust = SYSTEM_TRUST_FILE;
#else
		trust = NULL;
#endif
	}
	crypto_hash_sha256_init(&h);
	hash_field(&h, "postseal tls session 1");
	crypto_hash_sha256_update(&h, (const unsigned char *)&ss, sl);
	hash_field(&h, t->host);
	hash_field(&h, t->certcheck ? "certcheck" : "pin only");
	hash_field(&h, p->trust_file ? p->trust_file : "system");
	hash_file_id(&h, t->certcheck ? trust : NULL);
	hash_field(&h, p->fingerprint);
	hash_field(&h, p->cert_file);
	hash_file_id(&h, p->cert_file);
	hash_field(&h, p->key_file);
	hash_file_id(&h, p->key_file);
	hash_field(&h, p->priorities);
	/* DANE decided (or may decide) this peer: the records are part of
	 * what verified it (a new TLSA set means a full handshake). */
	hash_field(&h, p->dane_required ? "dane required" : "dane");
	hash_field(&h, p->dane_alt_name);
	for (i = 0; i < p->ntlsa; i++)
		hash_field(&h, p->tlsa[i]);
	crypto_hash_sha256_final(&h, d);
	state_hex(d, sizeof(d), hex);
	if (state_path("tls", hex, t->ticket, sizeof(t->ticket)) == -1)
		t->ticket[0] = '\0';
}

/* Offer the cached session, if any, once. */
static void
ticket_load(struct tls *t)
{
	unsigned char *d;
	size_t n;
	uint64_t saved, now = (uint64_t)time(NULL);
	gnutls_datum_t data;

	if (t->ticket[0] == '\0' ||
	    state_read(t->ticket, TICKET_MAX, &d, &n) == -1)
		return;
	state_remove(t->ticket);
	if (n > 8) {
		saved = get_be(d, 8);
		data.data = d + 8;
		data.size = (unsigned)(n - 8);
		if (saved <= now && now - saved <= TICKET_MAX_AGE &&
		    gnutls_session_set_data(t->session, data.data, data.size) ==
			0) {
			t->offered = d;
			t->offeredlen = n;
			return;
		}
	}
	state_free(d, n);
}

/* After a verified or resumed session: keep what resumes it. */
static void
ticket_save(struct tls *t)
{
	gnutls_datum_t d = {NULL, 0};
	struct buf b;

	if (t->ticket[0] == '\0' || t->info[0] == '\0')
		return;
	/* In TLS 1.3 the data resumes only once a ticket has arrived. */
	if (gnutls_protocol_get_version(t->session) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(t->session) &
		GNUTLS_SFLAGS_SESSION_TICKET)) {
		if (t->resumed && t->offered != NULL)
			(void)state_write(t->ticket, t->offered, t->offeredlen);
		return;
	}
	if (gnutls_session_get_data2(t->session, &d) < 0 || d.size == 0 ||
	    d.size > TICKET_MAX - 8) {
		gnutls_free(d.data);
		return;
	}
	buf_init(&b, TICKET_MAX);
	if (buf_add(&b, "\0\0\0\0\0\0\0\0", 8) == 0 &&
	    buf_add(&b, d.data, d.size) == 0) {
		put_be((unsigned char *)b.data, (uint64_t)time(NULL), 8);
		(void)state_write(t->ticket, b.data, b.len);
	}
	if (b.data != NULL)
		sodium_memzero(b.data, b.len);
	buf_reset(&b);
	sodium_memzero(d.data, d.size);
	gnutls_free(d.data);
}

int
tls_new(int fd, const struct tls_params *p, struct tls **out, struct err *e)
{
	struct tls *t = xcalloc(1, sizeof(*t));

	t->fd = fd;
	if (check_params(t, p, e) == -1 || dane_records(t, p, e) == -1 ||
	    load_credentials(t, p, e) == -1 || setup_session(t, p, e) == -1)
		goto fail;
	ticket_path(t, p);
	ticket_load(t);
	*out = t;
	return 0;
fail:
	tls_free(t);
	return -1;
}

static void
set_info(struct tls *t)
{
	const char *proto =
	    gnutls_protocol_get_name(gnutls_protocol_get_version(t->session));
	const char *cipher =
	    gnutls_cipher_get_name(gnutls_cipher_get(t->session));

	if (snprintf(t->info, sizeof(t->info), "%s/%s", proto ? proto : "?",
		cipher ? cipher : "?") < 0)
		t->info[0] = '\0';
}

static int
leaf_fingerprint(const struct tls *t, unsigned char out[32])
{
	const gnutls_datum_t *certs;
	unsigned n = 0;
	size_t len = 32;

	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0)
		return -1;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], out, &len) < 0 ||
	    len != 32)
		return -1;
	return 0;
}

/* After the handshake: protocol floor and the pinned fingerprint. */
static enum tls_io
post_handshake(struct tls *t, struct err *e)
{
	gnutls_protocol_t v = gnutls_protocol_get_version(t->session);
	unsigned char fp[32];

	if (v != GNUTLS_TLS1_2 && v != GNUTLS_TLS1_3) {
		err_set(e, ERR_TEMP, "TLS: protocol %s is too old",
		    gnutls_protocol_get_name(v));
		return TLS_IO_ERROR;
	}
	if (gnutls_certificate_type_get(t->session) != GNUTLS_CRT_X509) {
		err_set(e, ERR_TEMP, "TLS: server sent no X.509 certificate");
		return TLS_IO_ERROR;
	}
	if (t->pinned) {
		if (leaf_fingerprint(t, fp) == -1) {
			err_set(e, ERR_TEMP, "TLS: no server certificate");
			return TLS_IO_ERROR;
		}
		if (sodium_memcmp(fp, t->pin, sizeof(fp)) != 0) {
			err_set(e, ERR_TEMP,
			    "TLS: the server certificate does not match "
			    "tls_fingerprint (fix: if the server changed its "
			    "certificate, check it and update tls_fingerprint;"
			    " postseal --serverinfo shows it)");
			return TLS_IO_ERROR;
		}
	}
	set_info(t);
	t->resumed = gnutls_session_is_resumed(t->session) != 0;
	if (t->resumed)
		log_debug("TLS: session resumed");
	return TLS_IO_DONE;
}

/*
 * What is wrong with the certificate, and the likely fix (issue 9: a
 * verification failure keeps the mail queued, so it must say how to end
 * it).  The fix comes before GnuTLS's text so that a long host name
 * truncates the latter; "(fix: " is LOG_FIX_MARK, which logs it at error
 * level and marks it in mailq.
 */
static const char *
verify_hint(unsigned status)
{
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		return "is for another name (fix: check host, or set "
		       "tls_host_override to a name in the certificate, or pin "
		       "it with tls_fingerprint)";
	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		return "has expired or is not yet valid (fix: the server must "
		       "renew it, or this clock is wrong; or pin it with "
		       "tls_fingerprint)";
	return "is not trusted (fix: set tls_trust_file to the CA that "
	       "signed it, or pin it with tls_fingerprint)";
}

static void
verify_error(struct tls *t, struct err *e)
{
	gnutls_datum_t txt = {NULL, 0};
	unsigned status = t->vstatus;

	if (t->dane_why[0] != '\0') {
		err_set(e, ERR_TEMP,
		    "TLS: DANE: certificate of %s %s (fix: its TLSA records "
		    "at %s must match the certificate the server uses: ask "
		    "its operator, or set tls_dane off)",
		    t->host, t->dane_why,
		    t->tlsa_name[0] != '\0' ? t->tlsa_name : "_PORT._tcp.HOST");
		return;
	}
	if (gnutls_certificate_verification_status_print(status,
		GNUTLS_CRT_X509, &txt, 0) == 0 &&
	    txt.data != NULL) {
		while (txt.size > 0 && txt.data[txt.size - 1] == ' ')
			txt.data[--txt.size] = '\0';
		err_set(e, ERR_TEMP, "TLS: certificate of %s %s: %s", t->host,
		    verify_hint(status), (const char *)txt.data);
		gnutls_free(txt.data);
		return;
	}
	err_set(e, ERR_TEMP, "TLS: certificate of %s %s", t->host,
	    verify_hint(status));
}

static enum tls_io
want(const struct tls *t)
{
	return gnutls_record_get_direction(t->session) ? TLS_IO_WANT_WRITE
						       : TLS_IO_WANT_READ;
}

enum tls_io
tls_handshake(struct tls *t, struct err *e)
{
	int r = gnutls_handshake(t->session);

	if (r == 0)
		return post_handshake(t, e);
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return want(t);
	if (!gnutls_error_is_fatal(r))
		return TLS_IO_WANT_READ; /* e.g. a warning alert: go on */
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		verify_error(t, e);
	else
		err_set(e, ERR_TEMP, "TLS handshake with %s failed: %s",
		    t->host, gnutls_strerror(r));
	return TLS_IO_ERROR;
}

enum tls_io
tls_recv(struct tls *t, void *buf, size_t n, size_t *got, struct err *e)
{
	ssize_t r = gnutls_record_recv(t->session, buf, n);

	if (r > 0) {
		*got = (size_t)r;
		return TLS_IO_DONE;
	}
	if (r == 0)
		return TLS_IO_EOF;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return want(t);
	if (r == GNUTLS_E_PREMATURE_TERMINATION) {
		err_set(e, ERR_TEMP,
		    "TLS: connection closed without close_notify");
		return TLS_IO_ERROR;
	}
	/* Warning alerts, renegotiation requests: ignore, go on reading. */
	if (r == GNUTLS_E_REHANDSHAKE || !gnutls_error_is_fatal((int)r))
		return TLS_IO_WANT_READ;
	err_set(e, ERR_TEMP, "TLS read: %s", gnutls_strerror((int)r));
	return TLS_IO_ERROR;
}

size_t
tls_pending(const struct tls *t)
{
	return gnutls_record_check_pending(t->session);
}

size_t
tls_record_size(const struct tls *t)
{
	size_t n;

	if (t == NULL)
		return 0;
	n = gnutls_record_get_max_size(t->session);
	return n >= 512 && n <= 16384 ? n : 0;
}

int
tls_queue(struct tls *t, const void *buf, size_t n, struct err *e)
{
	const char *p = buf;
	ssize_t r;

	gnutls_record_cork(t->session);
	/* Corked, record_send() only buffers: it never returns AGAIN. */
	while (n > 0) {
		r = gnutls_record_send(t->session, p, n);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0)
			return err_set(e, ERR_TEMP, "TLS write: %s",
			    gnutls_strerror((int)r));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

enum tls_io
tls_flush(struct tls *t, struct err *e)
{
	ssize_t r;

	t->batch = 1;
	r = gnutls_record_uncork(t->session, 0);
	t->batch = 0;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return want(t);
	if (r < 0) {
		err_set(e, ERR_TEMP, "TLS write: %s", gnutls_strerror((int)r));
		return TLS_IO_ERROR;
	}
	if (drain(t) == 0)
		return TLS_IO_DONE;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return TLS_IO_WANT_WRITE;
	err_set(e, ERR_TEMP, "TLS write: %s", strerror(errno));
	return TLS_IO_ERROR;
}

int
tls_channel_binding(struct tls *t, unsigned char *out, size_t size, size_t *len,
    int *exporter)
{
	gnutls_datum_t cb = {NULL, 0};
	gnutls_protocol_t v = gnutls_protocol_get_version(t->session);
	gnutls_channel_binding_t type;

	if (v == GNUTLS_TLS1_3)
		type = GNUTLS_CB_TLS_EXPORTER;
	else if (v == GNUTLS_TLS1_2)
		type = GNUTLS_CB_TLS_UNIQUE;
	else
		return -1;
	if (gnutls_session_channel_binding(t->session, type, &cb) < 0)
		return -1;
	if (cb.size == 0 || cb.size > size) {
		gnutls_free(cb.data);
		return -1;
	}
	memcpy(out, cb.data, cb.size);
	*len = cb.size;
	*exporter = type == GNUTLS_CB_TLS_EXPORTER;
	gnutls_free(cb.data);
	return 0;
}

const char *
tls_info(const struct tls *t)
{
	return t != NULL && t->info[0] != '\0' ? t->info : NULL;
}

static void
print_dn(FILE *out, const char *what, gnutls_x509_crt_t crt, int issuer)
{
	gnutls_datum_t dn = {NULL, 0};
	int r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0)
		       : gnutls_x509_crt_get_dn3(crt, &dn, 0);

	fprintf(out, "    %s:\n        %s\n", what,
	    r == 0 && dn.data != NULL ? (const char *)dn.data : "(unknown)");
	gnutls_free(dn.data);
}

static void
print_time(FILE *out, const char *what, time_t when)
{
	struct tm tm;
	char s[64];

	if (when == (time_t)-1 || gmtime_r(&when, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		str_copy(s, "(unknown)", sizeof(s));
	fprintf(out, "        %s: %s\n", what, s);
}

static void
print_cert(const struct tls *t, FILE *out)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	unsigned char fp[32];
	unsigned n = 0;
	size_t i;

	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
		fputs("TLS certificate information:\n", out);
		print_dn(out, "Subject", crt, 0);
		print_dn(out, "Issuer", crt, 1);
		fputs("    Validity:\n", out);
		print_time(out, "Activation time",
		    gnutls_x509_crt_get_activation_time(crt));
		print_time(out, "Expiration time",
		    gnutls_x509_crt_get_expiration_time(crt));
		if (leaf_fingerprint(t, fp) == 0) {
			fputs("    Fingerprints:\n        SHA256: ", out);
			for (i = 0; i < sizeof(fp); i++)
				fprintf(out, "%s%02X", i ? ":" : "", fp[i]);
			fputc('\n', out);
		}
	}
	gnutls_x509_crt_deinit(crt);
}

void
tls_print(const struct tls *t, FILE *out)
{
	char *desc = gnutls_session_get_desc(t->session);

	fprintf(out, "TLS session parameters:\n    %s\n",
	    desc ? desc : "(unknown)");
	gnutls_free(desc);
	print_cert(t, out);
}

int
tls_close_write(struct tls *t)
{
	if (t == NULL || !t->have_session || t->info[0] == '\0' || t->bye_sent)
		return -1;
	t->bye_sent = 1;
	/* The alert is one small record: it fits the socket, never waits. */
	return gnutls_bye(t->session, GNUTLS_SHUT_WR) == 0 ? 0 : -1;
}

void
tls_free(struct tls *t)
{
	unsigned i;

	if (t == NULL)
		return;
	if (t->have_session) {
		ticket_save(t);
		/* Best effort, never waits: the socket is non-blocking. */
		if (t->info[0] != '\0' && !t->bye_sent)
			gnutls_bye(t->session, GNUTLS_SHUT_WR);
		gnutls_deinit(t->session);
	}
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	state_free(t->idx, t->idxlen);
	state_free(t->offered, t->offeredlen);
	for (i = 0; i < t->nee; i++)
		free(t->ee[i]);
	for (i = 0; i < t->nta; i++)
		free(t->ta[i]);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

int
tls_dane_usage(const struct tls *t)
{
	return t != NULL ? t->dane_usage : 0;
}

long long
tls_peer_expiry(const struct tls *t)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	unsigned n = 0;
	long long when = -1;

	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0)
		when = (long long)gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	return when;
}
