/*
 * dkim.c -- DKIM signatures (RFC 6376): canonicalisation, rsa-sha256 via
 * GnuTLS, ed25519-sha256 (RFC 8463) via libsodium, SHA-256 via GnuTLS;
 * signing a message in place and verifying every signature of one.
 *
 * Non-goals: rsa-sha1 (RFC 8301: never signed, never accepted), l= when
 * signing, z=, i= when signing, ARC, DNSSEC, keys other than rsa/ed25519.
 *
 * Invariants:
 *   - The bytes signed are the bytes sent: callers hand us the message
 *     after every change (header completion, CRLF, SMTP-safe encoding).
 *   - A DKIM-Signature field is folded before it is hashed and only the
 *     b= value (which verifiers remove) is appended after that.
 *   - The body is read in fixed chunks and hashed once per body
 *     canonicalisation; memory does not grow with the message.  Header
 *     fields are bounded (FIELD_MAX) and so is every tag list.
 *   - Secrets (key files, seeds) are wiped with sodium_memzero().
 *
 * Failure policy: a key that cannot be read, is readable by others or does
 * not parse is ERR_CONFIG naming the file; a message that cannot be
 * signed is an error (never sent unsigned unless the caller decides so).
 * Verification reports each failing signature as a result line; only an
 * unreadable body is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "err.h"
#include "message.h"

#define FIELD_MAX (1024 * 1024) /* one header field, canonicalised */
#define KEY_FILE_MAX 65536
#define BODY_CHUNK (256 * 1024) /* pread() size */
#define BH_OUT 65536		/* canonical bytes staged before hashing */
#define MAX_TAGS 32
#define MAX_SIG_LEN 1024 /* RSA 8192 bits */
#define MAX_PUBKEY_DER 2048
#define FOLD_COLS 78
#define MAX_HNAMES 256	   /* names in one h= tag */
#define MAX_VERIFY_SIGS 16 /* signatures checked per message */

#define DEFAULT_HEADERS                                                        \
	"from:reply-to:subject:date:to:cc:resent-date:resent-from:"            \
	"resent-to:resent-cc:in-reply-to:references:list-id:list-help:"        \
	"list-unsubscribe:list-subscribe:list-post:list-owner:list-archive:"   \
	"message-id:mime-version:content-type:content-transfer-encoding"

/* Signed once more than they occur, so that none can be added (issue 8):
 * what a reader sees as sender, recipients, subject, date and content. */
#define DEFAULT_OVERSIGN                                                       \
	"from:subject:to:cc:date:reply-to:message-id:mime-version:"            \
	"content-type:content-transfer-encoding"

/* ---- small helpers ---- */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

struct span {
	const char *p;
	size_t n;
};

static const char *
skip_fws(const char *p, const char *end)
{
	while (p < end && is_fws((unsigned char)*p))
		p++;
	return p;
}

/* Base64 (with FWS ignored) of exactly the n bytes at p. */
static int
b64_decode(const char *p, size_t n, unsigned char *out, size_t max,
    size_t *outlen)
{
	if (sodium_base642bin(out, max, p, n, " \t\r\n", outlen, NULL,
		sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return 0;
}

static int
add_b64(struct buf *o, const unsigned char *p, size_t n)
{
	size_t sz =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *t = xcalloc(1, sz);
	int r;

	sodium_bin2base64(t, sz, p, n, sodium_base64_VARIANT_ORIGINAL);
	r = buf_add(o, t, sz - 1);
	free(t);
	return r;
}

/* A domain or selector: labels of letters, digits, '-' and '_'. */
static int
valid_dnsname(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	}
	return 1;
}

/* ---- canonicalisation names ---- */

static int
canon_word(const char *s, size_t n, enum dkim_canon *c)
{
	if (n == 6 && ascii_ncasecmp(s, "simple", 6) == 0)
		*c = DKIM_SIMPLE;
	else if (n == 7 && ascii_ncasecmp(s, "relaxed", 7) == 0)
		*c = DKIM_RELAXED;
	else
		return -1;
	return 0;
}

int
dkim_canon_parse(const char *s, enum dkim_canon *hdr, enum dkim_canon *body)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL) {
		if (canon_word(s, strlen(s), hdr) == -1)
			return -1;
		*body = *hdr;
		return 0;
	}
	if (canon_word(s, (size_t)(slash - s), hdr) == -1 ||
	    canon_word(slash + 1, strlen(slash + 1), body) == -1)
		return -1;
	return 0;
}

const char *
dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_RELAXED ? "relaxed" : "simple";
}

/* ---- private keys ---- */

struct dkim_key {
	enum dkim_alg alg;
	gnutls_privkey_t rsa;
	unsigned char ed_sk[crypto_sign_ed25519_SECRETKEYBYTES]; /* seed|pk */
	unsigned char ed_pk[crypto_sign_ed25519_PUBLICKEYBYTES];
};

/* RFC 8410 section 7: PrivateKeyInfo of an Ed25519 key, up to the seed. */
static const unsigned char ed25519_pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01,
    0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

static int
rsa_parse(struct dkim_key *k, const char *data, size_t len, struct err *e)
{
	gnutls_datum_t d;
	unsigned bits = 0;
	int r;

	if ((r = gnutls_privkey_init(&k->rsa)) < 0)
		return err_set(e, ERR_SOFTWARE, "gnutls_privkey_init: %s",
		    gnutls_strerror(r));
	d.data = (unsigned char *)(uintptr_t)data;
	d.size = (unsigned)len;
	r = gnutls_privkey_import_x509_raw(k->rsa, &d, GNUTLS_X509_FMT_PEM,
	    NULL, 0);
	if (r < 0)
		return err_set(e, ERR_CONFIG,
		    "not an unencrypted PEM RSA private key (%s)",
		    gnutls_strerror(r));
	if (gnutls_privkey_get_pk_algorithm(k->rsa, &bits) != GNUTLS_PK_RSA)
		return err_set(e, ERR_CONFIG, "not an RSA key");
	if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS)
		return err_set(e, ERR_CONFIG,
		    "RSA key of %u bits (%d to %d are accepted)", bits,
		    DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
	return 0;
}

static void
trim_space(const char **p, size_t *n)
{
	while (*n > 0 && is_fws((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && is_fws((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

static int
ed25519_seed(const char *data, size_t len, unsigned char seed[32])
{
	static const char head[] = "-----BEGIN PRIVATE KEY-----";
	static const char tail[] = "-----END PRIVATE KEY-----";
	const size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
	unsigned char der[64];
	size_t n = 0;
	int r = -1;

	trim_space(&data, &len);
	if (len >= hl + tl && memcmp(data, head, hl) == 0 &&
	    memcmp(data + len - tl, tail, tl) == 0) {
		if (b64_decode(data + hl, len - hl - tl, der, sizeof(der),
			&n) == 0 &&
		    n == 48 &&
		    memcmp(der, ed25519_pkcs8_prefix,
			sizeof(ed25519_pkcs8_prefix)) == 0) {
			memcpy(seed, der + 16, 32);
			r = 0;
		}
	} else if (b64_decode(data, len, seed, 32, &n) == 0 && n == 32) {
		r = 0;
	}
	sodium_memzero(der, sizeof(der));
	return r;
}

static int
ed25519_parse(struct dkim_key *k, const char *data, size_t len, struct err *e)
{
	unsigned char seed[32];

	if (ed25519_seed(data, len, seed) == -1)
		return err_set(e, ERR_CONFIG,
		    "not an Ed25519 key (unencrypted PKCS#8 PEM or the "
		    "base64 32-byte seed expected)");
	crypto_sign_ed25519_seed_keypair(k->ed_pk, k->ed_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return 0;
}

int
dkim_key_parse(const char *data, size_t len, enum dkim_alg alg,
    struct dkim_key **out, struct err *e)
{
	struct dkim_key *k;
	int r;

	*out = NULL;
	if (sodium_init() < 0)
		return err_set(e, ERR_SOFTWARE, "sodium_init failed");
	k = xcalloc(1, sizeof(*k));
	k->alg = alg;
	if (alg == DKIM_RSA_SHA256)
		r = rsa_parse(k, data, len, e);
	else
		r = ed25519_parse(k, data, len, e);
	if (r == -1) {
		dkim_key_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

/* Read a secret file into data (KEY_FILE_MAX + 1 bytes), refusing modes
 * that let group or others in, and an owner or directories that are not
 * the user's or root's (config_check_private(): -2, e names the file). */
static int
read_secret_file(const char *file, char *data, size_t *len, struct err *e)
{
	struct stat st;
	ssize_t n;
	int fd, r = -1;

	*len = 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return err_set(e, ERR_CONFIG, "%s", strerror(errno));
	if (fstat(fd, &st) == -1) {
		err_set(e, ERR_CONFIG, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		err_set(e, ERR_CONFIG, "not a regular file");
	} else if ((st.st_mode & 077) != 0) {
		err_set(e, ERR_CONFIG,
		    "mode %04o lets group or others access the key "
		    "(chmod 600 it)",
		    (unsigned)(st.st_mode & 07777));
	} else if (config_check_private(file, &st, e) == -1) {
		r = -2;
	} else {
		for (;;) {
			n = read(fd, data + *len, KEY_FILE_MAX + 1 - *len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			*len += (size_t)n;
			if (*len > KEY_FILE_MAX)
				break;
		}
		if (n == -1)
			err_set(e, ERR_CONFIG, "%s", strerror(errno));
		else if (*len > KEY_FILE_MAX)
			err_set(e, ERR_CONFIG, "larger than %d bytes",
			    KEY_FILE_MAX);
		else
			r = 0;
	}
	close(fd);
	return r;
}

int
dkim_key_load(const char *file, enum dkim_alg alg, struct dkim_key **out,
    struct err *e)
{
	char *data = xcalloc(1, KEY_FILE_MAX + 1);
	size_t len = 0;
	int r;

	*out = NULL;
	r = read_secret_file(file, data, &len, e);
	if (r == 0)
		r = dkim_key_parse(data, len, alg, out, e);
	sodium_memzero(data, KEY_FILE_MAX + 1);
	free(data);
	if (r == -2)
		return err_prefix(e, "DKIM key");
	if (r == -1)
		return err_prefix(e, "DKIM key %s", file);
	return 0;
}

void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	if (k->rsa != NULL)
		gnutls_privkey_deinit(k->rsa);
	sodium_memzero(k, sizeof(*k));
	free(k);
}

enum dkim_alg
dkim_key_alg(const struct dkim_key *k)
{
	return k->alg;
}

int
dkim_key_record(const struct dkim_key *k, struct buf *o, struct err *e)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der = {NULL, 0};
	int r;

	if (k->alg == DKIM_ED25519_SHA256) {
		if (buf_addstr(o, "v=DKIM1; k=ed25519; p=") == -1 ||
		    add_b64(o, k->ed_pk, sizeof(k->ed_pk)) == -1)
			return err_set(e, ERR_SOFTWARE, "record too long");
		return 0;
	}
	if ((r = gnutls_pubkey_init(&pub)) >= 0 &&
	    (r = gnutls_pubkey_import_privkey(pub, k->rsa, 0, 0)) >= 0)
		r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der);
	if (r >= 0 && (buf_addstr(o, "v=DKIM1; k=rsa; p=") == -1 ||
			  add_b64(o, der.data, der.size) == -1))
		r = GNUTLS_E_SHORT_MEMORY_BUFFER;
	gnutls_free(der.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (r < 0)
		return err_set(e, ERR_SOFTWARE, "public key: %s",
		    gnutls_strerror(r));
	return 0;
}

static int
rsa_generate(unsigned bits, struct buf *pem, struct err *e)
{
	gnutls_x509_privkey_t k = NULL;
	gnutls_datum_t d = {NULL, 0};
	int r;

	if ((r = gnutls_x509_privkey_init(&k)) >= 0 &&
	    (r = gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, bits, 0)) >= 0)
		r = gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM,
		    NULL, GNUTLS_PKCS_PLAIN, &d);
	if (r >= 0 && buf_add(pem, d.data, d.size) == -1)
		r = GNUTLS_E_SHORT_MEMORY_BUFFER;
	if (d.data != NULL) {
		sodium_memzero(d.data, d.size);
		gnutls_free(d.data);
	}
	if (k != NULL)
		gnutls_x509_privkey_deinit(k);
	if (r < 0)
		return err_set(e, ERR_SOFTWARE, "RSA key generation: %s",
		    gnutls_strerror(r));
	return 0;
}

/* RFC 8410 PKCS#8: the fixed prefix, then the 32-byte seed. */
static int
ed25519_generate(struct buf *pem, struct err *e)
{
	unsigned char der[48];
	char b64[sodium_base64_ENCODED_LEN(48, sodium_base64_VARIANT_ORIGINAL)];
	int r;

	memcpy(der, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix));
	randombytes_buf(der + 16, 32);
	sodium_bin2base64(b64, sizeof(b64), der, sizeof(der),
	    sodium_base64_VARIANT_ORIGINAL);
	r = buf_printf(pem,
	    "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
	    b64);
	sodium_memzero(der, sizeof(der));
	sodium_memzero(b64, sizeof(b64));
	if (r == -1)
		return err_set(e, ERR_SOFTWARE, "key does not fit");
	return 0;
}

int
dkim_key_generate(enum dkim_alg alg, unsigned bits, struct buf *pem,
    struct err *e)
{
	if (sodium_init() < 0)
		return err_set(e, ERR_SOFTWARE, "sodium_init failed");
	if (alg == DKIM_ED25519_SHA256)
		return ed25519_generate(pem, e);
	if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS)
		return err_set(e, ERR_USAGE,
		    "RSA keys of %d to %d bits only, not %u", DKIM_RSA_MIN_BITS,
		    DKIM_RSA_MAX_BITS, bits);
	return rsa_generate(bits, pem, e);
}

int
dkim_valid_name(const char *s)
{
	return valid_dnsname(s, strlen(s));
}

static int
key_sign(const struct dkim_key *k, const unsigned char digest[DKIM_HASH_LEN],
    struct buf *b64, struct err *e)
{
	unsigned char sig[crypto_sign_ed25519_BYTES];
	gnutls_datum_t h, s = {NULL, 0};
	int r;

	if (k->alg == DKIM_ED25519_SHA256) {
		/* RFC 8463 section 3: Ed25519 over the SHA-256 digest. */
		crypto_sign_ed25519_detached(sig, NULL, digest, DKIM_HASH_LEN,
		    k->ed_sk);
		r = add_b64(b64, sig, sizeof(sig));
	} else {
		h.data = (unsigned char *)(uintptr_t)digest;
		h.size = DKIM_HASH_LEN;
		r = gnutls_privkey_sign_hash2(k->rsa, GNUTLS_SIGN_RSA_SHA256, 0,
		    &h, &s);
		if (r < 0)
			return err_set(e, ERR_SOFTWARE, "RSA signing: %s",
			    gnutls_strerror(r));
		r = add_b64(b64, s.data, s.size);
		gnutls_free(s.data);
	}
	if (r == -1)
		return err_set(e, ERR_SOFTWARE, "signature does not fit");
	return 0;
}

/* ---- body hashing (RFC 6376 section 3.4.3, 3.4.4) ---- */

struct dkim_bh {
	gnutls_hash_hd_t h;
	enum dkim_canon canon;
	int failed;
	int cr;			  /* a CR was seen, maybe the start of CRLF */
	int wsp;		  /* relaxed: a run of WSP not yet written */
	int content;		  /* a non-empty line was written */
	unsigned long long crlfs; /* line ends held back (trailing ones go) */
	unsigned long long limit, hashed, total;
	size_t nout;
	unsigned char out[BH_OUT];
};

static void
bh_flush(struct dkim_bh *b)
{
	if (b->nout > 0 && gnutls_hash(b->h, b->out, b->nout) < 0)
		b->failed = 1;
	b->nout = 0;
}

/* Canonical bytes out: staged, or hashed directly when large. */
static void
bh_emit(struct dkim_bh *b, const void *p, size_t n)
{
	b->total += n;
	if (n > b->limit - b->hashed)
		n = (size_t)(b->limit - b->hashed);
	b->hashed += n;
	if (n > sizeof(b->out) - b->nout) {
		bh_flush(b);
		if (n >= sizeof(b->out) / 2) {
			if (gnutls_hash(b->h, p, n) < 0)
				b->failed = 1;
			return;
		}
	}
	memcpy(b->out + b->nout, p, n);
	b->nout += n;
}

static void
bh_content(struct dkim_bh *b, const void *p, size_t n)
{
	static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
	unsigned long long k;

	/* Held-back empty lines were not trailing after all. */
	while (b->crlfs > 0) {
		k = b->crlfs > 8 ? 8 : b->crlfs;
		bh_emit(b, crlfs, (size_t)(2 * k));
		b->crlfs -= k;
	}
	if (b->wsp)
		bh_emit(b, " ", 1);
	b->wsp = 0;
	bh_emit(b, p, n);
	b->content = 1;
}

/* The slow path: one byte through the state machine. */
static void
bh_byte(struct dkim_bh *b, unsigned char c)
{
	if (b->cr) {
		b->cr = 0;
		if (c == '\n') {
			b->wsp = 0; /* WSP at the end of a line goes */
			b->crlfs++;
			return;
		}
		bh_content(b, "\r", 1);
	}
	if (c == '\r')
		b->cr = 1;
	else if (b->canon == DKIM_RELAXED && is_wsp(c))
		b->wsp = 1;
	else
		bh_content(b, &c, 1);
}

/* 0x80 in each byte of x that equals v, else 0 (exact, no borrows). */
static uint64_t
bytes_eq(uint64_t x, unsigned char v)
{
	uint64_t y = x ^ (0x0101010101010101ULL * v);
	uint64_t m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((y & m) + m) | y | m);
}

static uint64_t
load8(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

/*
 * Relaxed: may the byte at q not be copied as it is?  A TAB; a bare CR;
 * SP or CR after SP (a WSP run, WSP before CRLF) or after LF (a line that
 * starts with WSP or is empty).  Conservative: a bare LF before SP is
 * content, but the slow path gets it right too.
 */
static int
relaxed_bad(const unsigned char *q, int prev)
{
	if (q[0] == '\t' || (q[0] == '\r' && q[1] != '\n'))
		return 1;
	return prev && (q[0] == ' ' || q[0] == '\r') &&
	       (q[-1] == ' ' || q[-1] == '\n');
}

#ifdef __SSE2__
/* As relaxed_bad8() for the sixteen bytes at q (q[-1], q[16] readable). */
static int
relaxed_bad16(const unsigned char *q)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
	__m128i prev = _mm_loadu_si128((const __m128i *)(const void *)(q - 1));
	__m128i next = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
	__m128i sp = _mm_set1_epi8(' '), cr = _mm_set1_epi8('\r');
	__m128i lf = _mm_set1_epi8('\n');
	__m128i iscr = _mm_cmpeq_epi8(x, cr);
	__m128i wsp = _mm_or_si128(_mm_cmpeq_epi8(x, sp), iscr);
	__m128i after =
	    _mm_or_si128(_mm_cmpeq_epi8(prev, sp), _mm_cmpeq_epi8(prev, lf));
	__m128i bad = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')),
	    _mm_andnot_si128(_mm_cmpeq_epi8(next, lf), iscr));

	bad = _mm_or_si128(bad, _mm_and_si128(wsp, after));
	return _mm_movemask_epi8(bad) != 0;
}
#endif

/* The same for the eight bytes at q (q[-1] and q[8] readable). */
static int
relaxed_bad8(const unsigned char *q)
{
	uint64_t x = load8(q), prev = load8(q - 1), next = load8(q + 1);
	uint64_t cr = bytes_eq(x, '\r'), wsp = bytes_eq(x, ' ') | cr;

	return (bytes_eq(x, '\t') | (cr & ~bytes_eq(next, '\n')) |
		   (wsp & (bytes_eq(prev, ' ') | bytes_eq(prev, '\n')))) != 0;
}

/*
 * The fast path (relaxed): the longest prefix that canonicalises to
 * itself and leaves nothing held back.  The byte before p was content
 * (the state is clean).  The prefix never ends in SP, CR or CRLF: its last
 * byte is content, so the line end dkim_bh_final() adds is never a second
 * one, and a CRLF is never split from what decides its fate.
 */
static const unsigned char *
scan_relaxed(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q = p, *limit = end - 1; /* q[1] readable */

	if (end - p < 2 || relaxed_bad(q, 0))
		return p;
	q++;
#ifdef __SSE2__
	while (limit - q >= 16 && !relaxed_bad16(q))
		q += 16;
#endif
	for (; limit - q >= 8; q += 8) {
		uint64_t x = load8(q);
		/* Most words of a base64 body hold no byte below 0x21. */
		if (((x - 0x2121212121212121ULL) & ~x &
			0x8080808080808080ULL) != 0 &&
		    relaxed_bad8(q))
			break;
	}
	for (; q < limit; q++)
		if (relaxed_bad(q, 1))
			break;
	if (q[-1] == ' ' || (q[-1] == '\r'))
		q--;
	else if (q - p >= 2 && q[-1] == '\n' && q[-2] == '\r')
		q -= 2;
	return q;
}

/* The fast path (simple): everything up to an empty line or a final CRLF
 * (again never ending just after a CRLF). */
static const unsigned char *
scan_simple(const unsigned char *p, const unsigned char *end)
{
	while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (end - p < 3 || p[1] != '\n' || p[2] == '\r')
			return p;
		p += 2;
	}
	return end;
}

int
dkim_bh_new(enum dkim_canon c, unsigned long long limit, struct dkim_bh **out,
    struct err *e)
{
	struct dkim_bh *b = xcalloc(1, sizeof(*b));
	int r;

	*out = NULL;
	if ((r = gnutls_hash_init(&b->h, GNUTLS_DIG_SHA256)) < 0) {
		free(b);
		return err_set(e, ERR_SOFTWARE, "gnutls_hash_init: %s",
		    gnutls_strerror(r));
	}
	b->canon = c;
	b->limit = limit;
	*out = b;
	return 0;
}

void
dkim_bh_update(struct dkim_bh *b, const void *data, size_t n)
{
	const unsigned char *p = data, *end = p + n, *q;

	while (p < end) {
		if (!b->cr && !b->wsp && b->crlfs == 0) {
			q = b->canon == DKIM_RELAXED ? scan_relaxed(p, end)
						     : scan_simple(p, end);
			if (q > p) {
				bh_emit(b, p, (size_t)(q - p));
				b->content = 1;
				p = q;
			}
			if (p == end)
				break;
		}
		bh_byte(b, *p++);
	}
}

int
dkim_bh_final(struct dkim_bh *b, unsigned char out[DKIM_HASH_LEN],
    unsigned long long *canon_len, struct err *e)
{
	if (b->cr) {
		b->cr = 0;
		bh_content(b, "\r", 1); /* a bare CR at the very end */
	}
	b->wsp = 0;
	/* One CRLF ends the last line; an empty body is CRLF (simple) or
	 * nothing (relaxed). */
	b->crlfs = 0;
	if (b->content || b->canon == DKIM_SIMPLE)
		bh_emit(b, "\r\n", 2);
	bh_flush(b);
	gnutls_hash_deinit(b->h, out);
	b->h = NULL;
	if (canon_len != NULL)
		*canon_len = b->total;
	if (b->failed)
		return err_set(e, ERR_SOFTWARE, "hashing failed");
	return 0;
}

void
dkim_bh_free(struct dkim_bh *b)
{
	if (b == NULL)
		return;
	if (b->h != NULL)
		gnutls_hash_deinit(b->h, NULL);
	free(b);
}

/* Feed size bytes of fd to every hasher in one pass. */
static int
hash_fd(int fd, unsigned long long size, struct dkim_bh **hs, size_t nh,
    struct err *e)
{
	unsigned char *chunk;
	unsigned long long off = 0;
	ssize_t r;
	size_t i, want;
	int rc = 0;

	if (fd < 0 || size == 0)
		return 0;
	chunk = xcalloc(1, BODY_CHUNK);
	while (off < size) {
		want =
		    size - off > BODY_CHUNK ? BODY_CHUNK : (size_t)(size - off);
		r = pread(fd, chunk, want, (off_t)off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = err_set(e, ERR_IO, "reading the message body: %s",
			    r == 0 ? "file too short" : strerror(errno));
			break;
		}
		for (i = 0; i < nh; i++)
			dkim_bh_update(hs[i], chunk, (size_t)r);
		off += (unsigned long long)r;
	}
	free(chunk);
	return rc;
}

static int
body_hash(int fd, unsigned long long size, enum dkim_canon c,
    unsigned long long limit, unsigned char out[DKIM_HASH_LEN],
    unsigned long long *canon_len, struct err *e)
{
	struct dkim_bh *b = NULL;
	int r;

	if (dkim_bh_new(c, limit, &b, e) == -1)
		return -1;
	r = hash_fd(fd, size, &b, 1, e);
	if (r == 0)
		r = dkim_bh_final(b, out, canon_len, e);
	dkim_bh_free(b);
	return r;
}

int
dkim_body_hash_fd(int fd, unsigned long long size, enum dkim_canon c,
    unsigned char out[DKIM_HASH_LEN], struct err *e)
{
	return body_hash(fd, size, c, ~0ULL, out, NULL, e);
}

/* ---- tag lists (RFC 6376 section 3.2) ---- */

struct tag {
	const char *name;
	size_t nlen;
	const char *eq;	 /* just after '=' */
	const char *val; /* the value without surrounding FWS */
	size_t vlen;
};

struct taglist {
	struct tag t[MAX_TAGS];
	size_t n;
};

static const struct tag *
tag_get(const struct taglist *tl, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < tl->n; i++)
		if (tl->t[i].nlen == n && memcmp(tl->t[i].name, name, n) == 0)
			return &tl->t[i];
	return NULL;
}

static int
tag_is(const struct tag *t, const char *s)
{
	size_t n = strlen(s);

	return t->vlen == n && ascii_ncasecmp(t->val, s, n) == 0;
}

static const char *
tag_parse_one(const char **pp, const char *end, struct tag *t)
{
	const char *p = skip_fws(*pp, end), *v;
	unsigned char c;

	t->name = p;
	if (p == end || !is_alnum((unsigned char)*p) ||
	    (*p >= '0' && *p <= '9'))
		return "bad tag name";
	while (p < end && (is_alnum((unsigned char)*p) || *p == '_'))
		p++;
	t->nlen = (size_t)(p - t->name);
	p = skip_fws(p, end);
	if (p == end || *p != '=')
		return "tag without '='";
	t->eq = ++p;
	t->val = p = skip_fws(p, end);
	for (v = p; p < end && *p != ';'; p++) {
		c = (unsigned char)*p;
		if (c >= 0x21 && c <= 0x7e)
			v = p + 1;
		else if (!is_fws(c))
			return "bad character in a tag value";
	}
	t->vlen = (size_t)(v - t->val);
	*pp = p;
	return NULL;
}

static int
tag_dup(const struct taglist *tl, const struct tag *t)
{
	size_t i;

	for (i = 0; i < tl->n; i++)
		if (tl->t[i].nlen == t->nlen &&
		    memcmp(tl->t[i].name, t->name, t->nlen) == 0)
			return 1;
	return 0;
}

/* Parse "tag=value; tag=value[;]" from p to end.  NULL or a reason. */
static const char *
taglist_parse(const char *p, const char *end, struct taglist *tl)
{
	const char *why;
	struct tag *t;

	tl->n = 0;
	for (;;) {
		p = skip_fws(p, end);
		if (p == end)
			return NULL;
		if (tl->n == MAX_TAGS)
			return "too many tags";
		t = &tl->t[tl->n];
		if ((why = tag_parse_one(&p, end, t)) != NULL)
			return why;
		if (tag_dup(tl, t))
			return "duplicate tag";
		tl->n++;
		if (p < end)
			p++; /* the ';' */
	}
}

/* Numeric tag value. */
static int
tag_uint(const struct tag *t, unsigned long long *out)
{
	char num[24];

	if (t->vlen == 0 || t->vlen >= sizeof(num))
		return -1;
	memcpy(num, t->val, t->vlen);
	num[t->vlen] = '\0';
	return parse_uint_str(num, ~0ULL, out);
}

/*
 * The next name of a colon-separated list (h=, dkim_headers) at *pp, FWS
 * allowed around names.  1 with the name, 0 at the end, -1 if malformed.
 */
static int
hlist_next(const char **pp, const char *end, struct span *name)
{
	const char *p = skip_fws(*pp, end), *q;

	if (p == end)
		return 0;
	for (q = p; q < end && *q != ':' && !is_fws((unsigned char)*q); q++)
		if ((unsigned char)*q < 0x21 || (unsigned char)*q > 0x7e ||
		    *q == ';')
			return -1;
	if (q == p)
		return -1;
	name->p = p;
	name->n = (size_t)(q - p);
	q = skip_fws(q, end);
	if (q < end) {
		if (*q != ':')
			return -1;
		if (skip_fws(++q, end) == end)
			return -1; /* a trailing ':' */
	}
	*pp = q;
	return 1;
}

/* Does the colon list (p, n) hold word (any case)? */
static int
list_has(const char *p, size_t n, const char *word)
{
	const char *end = p + n;
	struct span nm;
	size_t wl = strlen(word);

	while (hlist_next(&p, end, &nm) == 1)
		if (nm.n == wl && ascii_ncasecmp(nm.p, word, wl) == 0)
			return 1;
	return 0;
}

/* ---- header canonicalisation (RFC 6376 section 3.4.1, 3.4.2) ---- */

static size_t
trim_crlf(const char *p, size_t n)
{
	if (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n')
		return n - 2;
	return n;
}

/* The length of the field name (before ':', trailing WSP removed). */
static int
field_name(const char *p, size_t n, size_t *nlen)
{
	const char *colon = memchr(p, ':', n);
	size_t k;

	if (colon == NULL)
		return -1;
	for (k = (size_t)(colon - p); k > 0 && is_wsp((unsigned char)p[k - 1]);)
		k--;
	*nlen = k;
	return 0;
}

static int
field_is(const struct dkim_field *f, const char *name, size_t n)
{
	size_t k;

	return field_name(f->p, f->len, &k) == 0 && k == n &&
	       ascii_ncasecmp(f->p, name, n) == 0;
}

static int
canon_relaxed(struct buf *o, const char *p, size_t n)
{
	const char *v, *end = p + n;
	size_t i, nl;
	int sp = 0, any = 0, r = 0;

	if (field_name(p, n, &nl) == -1)
		return -1;
	for (i = 0; i < nl; i++)
		r |= buf_addch(o, (char)lower((unsigned char)p[i]));
	r |= buf_addch(o, ':');
	for (v = (const char *)memchr(p, ':', n) + 1; v < end; v++) {
		if (*v == '\r' || *v == '\n')
			continue; /* unfold */
		if (is_wsp((unsigned char)*v)) {
			sp = 1;
			continue;
		}
		if (sp && any)
			r |= buf_addch(o, ' ');
		sp = 0;
		any = 1;
		r |= buf_addch(o, *v);
	}
	return r;
}

/* Canonicalise one field into o; crlf: end it with CRLF. */
static int
canon_header(struct buf *o, enum dkim_canon c, const char *p, size_t n,
    int crlf)
{
	int r;

	n = trim_crlf(p, n);
	if (c == DKIM_SIMPLE)
		r = buf_add(o, p, n);
	else
		r = canon_relaxed(o, p, n);
	if (r == 0 && crlf)
		r = buf_add(o, "\r\n", 2);
	return r;
}

int
dkim_canon_field(struct buf *o, enum dkim_canon c, const char *p, size_t n)
{
	return canon_header(o, c, p, n, 1);
}

static int
hash_canon(gnutls_hash_hd_t h, enum dkim_canon c, const char *p, size_t n,
    int crlf, struct buf *tmp, struct err *e)
{
	buf_clear(tmp);
	if (canon_header(tmp, c, p, n, crlf) == -1)
		return err_set(e, ERR_DATA, "malformed or oversized field");
	if (tmp->len > 0 && gnutls_hash(h, tmp->data, tmp->len) < 0)
		return err_set(e, ERR_SOFTWARE, "hashing failed");
	return 0;
}

/* RFC 6376 section 5.4.2: each name picks the last unused instance. */
static int
hash_fields(gnutls_hash_hd_t h, enum dkim_canon c, const struct dkim_field *f,
    size_t nf, const struct tag *hl, struct buf *tmp, struct err *e)
{
	unsigned char *used = xcalloc(nf + 1, 1);
	const char *p = hl->val, *end = hl->val + hl->vlen;
	struct span nm;
	size_t i, k = 0;
	int r = 0, rc = 0;

	while (rc == 0 && (r = hlist_next(&p, end, &nm)) == 1) {
		/* Each name scans every field: bound the work. */
		if (++k > MAX_HNAMES) {
			rc = err_set(e, ERR_DATA,
			    "more than %d names in h=", MAX_HNAMES);
			break;
		}
		for (i = nf; i-- > 0;) {
			if (used[i] || !field_is(&f[i], nm.p, nm.n))
				continue;
			used[i] = 1;
			rc = hash_canon(h, c, f[i].p, f[i].len, 1, tmp, e);
			break;
		}
	}
	if (rc == 0 && r == -1)
		rc = err_set(e, ERR_DATA, "malformed h= tag");
	free(used);
	return rc;
}

/* RFC 6376 section 3.7: the signature field, b= value removed, no final
 * CRLF. */
static int
hash_sig_field(gnutls_hash_hd_t h, enum dkim_canon c, const char *sig, size_t n,
    const struct tag *b, struct buf *tmp, struct err *e)
{
	struct buf s;
	const char *vend = b->val + b->vlen;
	int rc;

	n = trim_crlf(sig, n);
	buf_init(&s, FIELD_MAX);
	if (buf_add(&s, sig, (size_t)(b->eq - sig)) == -1 ||
	    buf_add(&s, vend, (size_t)(sig + n - vend)) == -1)
		rc = err_set(e, ERR_DATA, "oversized DKIM-Signature field");
	else
		rc = hash_canon(h, c, s.data, s.len, 0, tmp, e);
	buf_reset(&s);
	return rc;
}

/* The header hash: fields named by h=, then the signature field itself
 * (whose tags tl point into sig). */
static int
header_digest(enum dkim_canon c, const struct dkim_field *f, size_t nf,
    const struct taglist *tl, const char *sig, size_t siglen,
    unsigned char out[DKIM_HASH_LEN], struct err *e)
{
	gnutls_hash_hd_t h = NULL;
	struct buf tmp;
	int rc;

	if ((rc = gnutls_hash_init(&h, GNUTLS_DIG_SHA256)) < 0)
		return err_set(e, ERR_SOFTWARE, "gnutls_hash_init: %s",
		    gnutls_strerror(rc));
	buf_init(&tmp, FIELD_MAX);
	rc = hash_fields(h, c, f, nf, tag_get(tl, "h"), &tmp, e);
	if (rc == 0)
		rc = hash_sig_field(h, c, sig, siglen, tag_get(tl, "b"), &tmp,
		    e);
	gnutls_hash_deinit(h, out);
	buf_reset(&tmp);
	return rc;
}

/* ---- the signing core ---- */

/* a=: NULL or a reason. */
static const char *
sig_alg(const struct tag *a, enum dkim_alg *alg)
{
	if (a == NULL)
		return "no a= tag";
	if (tag_is(a, "rsa-sha256"))
		*alg = DKIM_RSA_SHA256;
	else if (tag_is(a, "ed25519-sha256"))
		*alg = DKIM_ED25519_SHA256;
	else if (tag_is(a, "rsa-sha1"))
		return "rsa-sha1 is not accepted (RFC 8301)";
	else
		return "unknown algorithm";
	return NULL;
}

/* c=: "h" means "h/simple"; absent means simple/simple. */
static const char *
sig_canon(const struct tag *c, enum dkim_canon *hc, enum dkim_canon *bc)
{
	const char *slash;

	*hc = *bc = DKIM_SIMPLE;
	if (c == NULL)
		return NULL;
	slash = memchr(c->val, '/', c->vlen);
	if (slash == NULL)
		return canon_word(c->val, c->vlen, hc) == -1 ? "bad c= tag"
							     : NULL;
	if (canon_word(c->val, (size_t)(slash - c->val), hc) == -1 ||
	    canon_word(slash + 1, c->vlen - (size_t)(slash - c->val) - 1, bc) ==
		-1)
		return "bad c= tag";
	return NULL;
}

/* Parse a DKIM-Signature field's tags (pointing into p). */
static const char *
sig_tags(const char *p, size_t n, struct taglist *tl)
{
	const char *colon;
	size_t nl;

	if (field_name(p, n, &nl) == -1 || nl != 14 ||
	    ascii_ncasecmp(p, "DKIM-Signature", 14) != 0)
		return "not a DKIM-Signature field";
	colon = memchr(p, ':', n);
	return taglist_parse(colon + 1, p + trim_crlf(p, n), tl);
}

int
dkim_sign_template(const struct dkim_key *k, const struct dkim_field *fields,
    size_t nfields, const char *tmpl, size_t tmpllen, struct buf *b64,
    struct err *e)
{
	struct taglist tl;
	enum dkim_alg alg = DKIM_RSA_SHA256;
	enum dkim_canon hc, bc;
	unsigned char digest[DKIM_HASH_LEN];
	const char *why;

	why = sig_tags(tmpl, tmpllen, &tl);
	if (why == NULL)
		why = sig_alg(tag_get(&tl, "a"), &alg);
	if (why == NULL && alg != k->alg)
		why = "a= does not match the key";
	if (why == NULL)
		why = sig_canon(tag_get(&tl, "c"), &hc, &bc);
	if (why == NULL &&
	    (tag_get(&tl, "h") == NULL || tag_get(&tl, "b") == NULL))
		why = "h= or b= missing";
	if (why != NULL)
		return err_set(e, ERR_DATA, "DKIM-Signature template: %s", why);
	if (header_digest(hc, fields, nfields, &tl, tmpl, tmpllen, digest, e) ==
	    -1)
		return -1;
	return key_sign(k, digest, b64, e);
}

/* ---- the signer ---- */

struct signkey {
	char *selector;
	struct dkim_key *key;
};

struct dkim_signer {
	char *domain;
	struct signkey keys[DKIM_MAX_KEYS];
	size_t nkeys;
	enum dkim_canon hc, bc;
	char *headers;	/* "from:..." lower case, each name once */
	char *oversign; /* "from:..." signed once more */
	unsigned long long expire;
};

/* Append the names of list to o, colon-separated; dedup: lower-cased,
 * each once.  -1 if malformed or too long. */
static int
list_norm(const char *list, int dedup, struct buf *o)
{
	const char *p = list, *end = list + strlen(list);
	struct span nm;
	size_t i;
	int r;

	while ((r = hlist_next(&p, end, &nm)) == 1) {
		if (dedup && o->len > 0) {
			char w[256];
			if (nm.n >= sizeof(w))
				return -1;
			for (i = 0; i < nm.n; i++)
				w[i] = (char)lower((unsigned char)nm.p[i]);
			w[nm.n] = '\0';
			if (list_has(o->data, o->len, w))
				continue;
		}
		if (o->len > 0 && buf_addch(o, ':') == -1)
			return -1;
		for (i = 0; i < nm.n; i++)
			if (buf_addch(o,
				dedup ? (char)lower((unsigned char)nm.p[i])
				      : nm.p[i]) == -1)
				return -1;
	}
	return r;
}

static int
signer_lists(struct dkim_signer *s, const struct account *a, struct err *e)
{
	struct buf b;

	buf_init(&b, 8192);
	if (buf_addstr(&b, "from") == -1 ||
	    list_norm(a->dkim_headers != NULL ? a->dkim_headers
					      : DEFAULT_HEADERS,
		1, &b) == -1) {
		buf_reset(&b);
		return err_set(e, ERR_CONFIG,
		    "dkim_headers: bad list of "
		    "header field names");
	}
	s->headers = buf_steal(&b, NULL);
	buf_init(&b, 8192);
	if (buf_addstr(&b, "from") == -1 ||
	    list_norm(a->dkim_oversign != NULL ? a->dkim_oversign
					       : DEFAULT_OVERSIGN,
		1, &b) == -1) {
		buf_reset(&b);
		return err_set(e, ERR_CONFIG,
		    "dkim_oversign: bad list of "
		    "header field names");
	}
	s->oversign = buf_steal(&b, NULL);
	if (s->headers == NULL || s->oversign == NULL)
		fatal_oom();
	return 0;
}

static int
keyspec_alg(const char *type, enum dkim_alg *alg)
{
	if (type != NULL && strcmp(type, "rsa") == 0)
		*alg = DKIM_RSA_SHA256;
	else if (type != NULL && strcmp(type, "ed25519") == 0)
		*alg = DKIM_ED25519_SHA256;
	else
		return -1;
	return 0;
}

static int
signer_key(struct dkim_signer *s, const struct dkim_keyspec *ks,
    enum dkim_alg alg, struct err *e)
{
	struct dkim_key *k = NULL;
	size_t i;

	if (ks->selector == NULL ||
	    !valid_dnsname(ks->selector, strlen(ks->selector)))
		return err_set(e, ERR_CONFIG, "dkim_key: bad selector");
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].selector, ks->selector) == 0)
			return err_set(e, ERR_CONFIG,
			    "dkim_key: selector %s given twice", ks->selector);
	if (ks->file == NULL)
		return err_set(e, ERR_CONFIG, "dkim_key: no key file");
	if (dkim_key_load(ks->file, alg, &k, e) == -1)
		return -1;
	s->keys[s->nkeys].selector = xstrdup(ks->selector);
	s->keys[s->nkeys].key = k;
	s->nkeys++;
	return 0;
}

static int
signer_keys(struct dkim_signer *s, const struct account *a, struct err *e)
{
	enum dkim_alg alg;
	size_t i;
	int pass;

	if (a->ndkim_keys > DKIM_MAX_KEYS)
		return err_set(e, ERR_CONFIG, "more than %d dkim_key lines",
		    DKIM_MAX_KEYS);
	/* rsa first: it goes topmost, as some verifiers check only that. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < a->ndkim_keys; i++) {
			if (keyspec_alg(a->dkim_keys[i].type, &alg) == -1)
				return err_set(e, ERR_CONFIG,
				    "dkim_key: type must be rsa or ed25519");
			if ((alg == DKIM_RSA_SHA256) != (pass == 0))
				continue;
			if (signer_key(s, &a->dkim_keys[i], alg, e) == -1)
				return -1;
		}
	}
	return 0;
}

int
dkim_signer_load(const struct account *a, struct dkim_signer **out,
    struct err *e)
{
	struct dkim_signer *s;
	const char *name = a->name != NULL ? a->name : "-";

	*out = NULL;
	if (a->ndkim_keys == 0)
		return 0;
	if (a->dkim_domain == NULL ||
	    !valid_dnsname(a->dkim_domain, strlen(a->dkim_domain)))
		return err_set(e, ERR_CONFIG,
		    "account %s: dkim_key needs a valid dkim_domain", name);
	s = xcalloc(1, sizeof(*s));
	s->domain = xstrdup(a->dkim_domain);
	s->hc = s->bc = DKIM_RELAXED;
	if (a->dkim_canon != NULL &&
	    dkim_canon_parse(a->dkim_canon, &s->hc, &s->bc) == -1) {
		err_set(e, ERR_CONFIG,
		    "dkim_canon: simple, relaxed or "
		    "HEADER/BODY expected");
	} else if (signer_lists(s, a, e) == 0 && signer_keys(s, a, e) == 0) {
		*out = s;
		return 0;
	}
	dkim_signer_free(s);
	return err_prefix(e, "account %s", name);
}

void
dkim_signer_set_expire(struct dkim_signer *s, unsigned long long secs)
{
	s->expire = secs;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nkeys; i++) {
		free(s->keys[i].selector);
		dkim_key_free(s->keys[i].key);
	}
	free(s->domain);
	free(s->headers);
	free(s->oversign);
	free(s);
}

static size_t
count_fields(const struct dkim_field *f, size_t nf, const char *name, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < nf; i++)
		c += field_is(&f[i], name, n) ? 1 : 0;
	return c;
}

/* Is the name nm in the colon-separated list (any case)? */
static int
span_listed(const char *list, const struct span *nm)
{
	const char *p = list, *end = list + strlen(list);
	struct span w;

	while (hlist_next(&p, end, &w) == 1)
		if (w.n == nm->n && ascii_ncasecmp(w.p, nm->p, w.n) == 0)
			return 1;
	return 0;
}

static int
hlist_add(struct buf *o, const struct span *nm)
{
	if (o->len > 0 && buf_addch(o, ':') == -1)
		return -1;
	return buf_add(o, nm->p, nm->n);
}

/* The h= list: see dkim_sign_fields(). */
static int
build_hlist(const struct dkim_signer *s, const struct dkim_field *f, size_t nf,
    const char *override, struct buf *o, struct err *e)
{
	const char *p, *end;
	struct span nm;
	size_t k;
	int r = 0;

	if (override != NULL) {
		if (list_norm(override, 0, o) == -1 || o->len == 0)
			return err_set(e, ERR_USAGE, "bad DKIM header list");
		if (!list_has(o->data, o->len, "from"))
			return err_set(e, ERR_USAGE,
			    "the DKIM header list must name From");
		return 0;
	}
	if (count_fields(f, nf, "from", 4) == 0)
		return err_set(e, ERR_DATA, "no From field to sign");
	p = s->headers;
	end = p + strlen(p);
	while (r == 0 && hlist_next(&p, end, &nm) == 1)
		for (k = count_fields(f, nf, nm.p, nm.n); r == 0 && k > 0; k--)
			r = hlist_add(o, &nm);
	/* Each oversigned name: its occurrences, unless the list above
	 * signed them already, then one more that matches no field. */
	p = s->oversign;
	end = p + strlen(p);
	while (r == 0 && hlist_next(&p, end, &nm) == 1) {
		k = span_listed(s->headers, &nm)
			? 0
			: count_fields(f, nf, nm.p, nm.n);
		for (k++; r == 0 && k > 0; k--)
			r = hlist_add(o, &nm);
	}
	if (r == -1)
		return err_set(e, ERR_DATA, "too many header fields to sign");
	return 0;
}

struct fold {
	struct buf *b;
	size_t col;
	int err;
};

/* Add a token, on a new line if it would pass FOLD_COLS. */
static void
fold_add(struct fold *f, const char *s, size_t n, int space)
{
	if (f->col + n + (space ? 1 : 0) > FOLD_COLS && f->col > 1) {
		f->err |= buf_add(f->b, "\r\n ", 3);
		f->col = 1;
	} else if (space) {
		f->err |= buf_addch(f->b, ' ');
		f->col++;
	}
	f->err |= buf_add(f->b, s, n);
	f->col += n;
}

static void
fold_str(struct fold *f, const char *s, int space)
{
	fold_add(f, s, strlen(s), space);
}

/* Base64 may be folded anywhere (RFC 6376 section 2.4). */
static void
fold_value(struct fold *f, const char *v, size_t n)
{
	size_t k;

	while (n > 0) {
		if (f->col >= FOLD_COLS) {
			f->err |= buf_add(f->b, "\r\n ", 3);
			f->col = 1;
		}
		k = FOLD_COLS - f->col;
		if (k > n)
			k = n;
		f->err |= buf_add(f->b, v, k);
		f->col += k;
		v += k;
		n -= k;
	}
}

/* h=name:name:...; folded after a colon where needed. */
static void
fold_hlist(struct fold *f, const char *hl)
{
	const char *p = hl, *end = hl + strlen(hl);
	struct span nm;
	struct buf tok;
	int first = 1;

	buf_init(&tok, 1024);
	while (hlist_next(&p, end, &nm) == 1) {
		buf_clear(&tok);
		f->err |= buf_addstr(&tok, first ? "h=" : "");
		f->err |= buf_add(&tok, nm.p, nm.n);
		f->err |= buf_addch(&tok, p < end ? ':' : ';');
		fold_add(f, tok.data, tok.len, first);
		first = 0;
	}
	buf_reset(&tok);
}

/* Tags in the order v a c d s t [x] h bh b, b= left empty. */
static void
build_template(const struct dkim_signer *s, const struct signkey *k,
    long long t, const char *hl, const unsigned char bh[DKIM_HASH_LEN],
    struct fold *f)
{
	struct buf tok;

	buf_init(&tok, 1024);
	fold_str(f, "DKIM-Signature:", 0);
	fold_str(f, "v=1;", 1);
	fold_str(f,
	    k->key->alg == DKIM_RSA_SHA256 ? "a=rsa-sha256;"
					   : "a=ed25519-sha256;",
	    1);
	f->err |= buf_printf(&tok, "c=%s/%s;", dkim_canon_name(s->hc),
	    dkim_canon_name(s->bc));
	fold_add(f, tok.data, tok.len, 1);
	buf_clear(&tok);
	f->err |= buf_printf(&tok, "d=%s;", s->domain);
	fold_add(f, tok.data, tok.len, 1);
	buf_clear(&tok);
	f->err |= buf_printf(&tok, "s=%s;", k->selector);
	fold_add(f, tok.data, tok.len, 1);
	buf_clear(&tok);
	f->err |= buf_printf(&tok, "t=%lld;", t);
	if (s->expire > 0)
		f->err |= buf_printf(&tok, " x=%llu;",
		    (unsigned long long)t + s->expire);
	fold_add(f, tok.data, tok.len, 1);
	fold_hlist(f, hl);
	buf_clear(&tok);
	f->err |= buf_addstr(&tok, "bh=") | add_b64(&tok, bh, DKIM_HASH_LEN) |
		  buf_addch(&tok, ';');
	fold_add(f, tok.data, tok.len, 1);
	fold_str(f, "b=", 1);
	buf_reset(&tok);
}

static int
sign_one(const struct dkim_signer *s, const struct signkey *k,
    const struct dkim_field *fields, size_t nf, long long t, const char *hl,
    const unsigned char bh[DKIM_HASH_LEN], char **out, struct err *e)
{
	struct buf o, b64;
	struct fold f;
	int rc = -1;

	buf_init(&o, FIELD_MAX);
	buf_init(&b64, 4096);
	f.b = &o;
	f.col = 0;
	f.err = 0;
	build_template(s, k, t, hl, bh, &f);
	if (f.err != 0)
		err_set(e, ERR_DATA, "DKIM-Signature field too long");
	else if (dkim_sign_template(k->key, fields, nf, o.data, o.len, &b64,
		     e) == 0) {
		fold_value(&f, b64.data, b64.len);
		if (f.err != 0)
			err_set(e, ERR_DATA, "DKIM-Signature field too long");
		else if ((*out = buf_steal(&o, NULL)) == NULL)
			fatal_oom();
		else
			rc = 0;
	}
	buf_reset(&o);
	buf_reset(&b64);
	return rc;
}

int
dkim_sign_fields(const struct dkim_signer *s, const struct dkim_field *fields,
    size_t nfields, int body_fd, unsigned long long size, long long now,
    const char *headers, char *sigs[DKIM_MAX_KEYS], size_t *nsigs,
    struct err *e)
{
	struct buf hl;
	unsigned char bh[DKIM_HASH_LEN];
	long long t = now >= 0 ? now : (long long)time(NULL);
	size_t i;
	int rc = -1;

	*nsigs = 0;
	buf_init(&hl, 16384);
	/* One body pass: every key of a signer shares the body canon. */
	if (build_hlist(s, fields, nfields, headers, &hl, e) == 0 &&
	    dkim_body_hash_fd(body_fd, size, s->bc, bh, e) == 0) {
		for (i = 0; i < s->nkeys; i++) {
			if (sign_one(s, &s->keys[i], fields, nfields, t,
				hl.data, bh, &sigs[i], e) == -1)
				break;
			*nsigs = i + 1;
		}
		rc = *nsigs == s->nkeys ? 0 : -1;
	}
	if (rc == -1) {
		for (i = 0; i < *nsigs; i++)
			free(sigs[i]);
		*nsigs = 0;
	}
	buf_reset(&hl);
	return rc;
}

static struct dkim_field *
message_fields(const struct message *m, size_t *n)
{
	struct dkim_field *f;
	size_t i;

	*n = message_nheaders(m);
	f = xcalloc(*n + 1, sizeof(*f));
	for (i = 0; i < *n; i++)
		f[i].p = message_header(m, i, &f[i].len);
	return f;
}

int
dkim_sign_message(const struct dkim_signer *s, struct message *m, long long now,
    const char *headers, struct err *e)
{
	struct dkim_field *f;
	char *sigs[DKIM_MAX_KEYS];
	size_t nf, nsigs = 0, i;
	int rc;

	if (s == NULL)
		return 0;
	f = message_fields(m, &nf);
	rc = dkim_sign_fields(s, f, nf, message_body_fd(m),
	    message_body_size(m), now, headers, sigs, &nsigs, e);
	free(f);
	/* Bottom one first, so sigs[0] (rsa) ends up topmost. */
	for (i = nsigs; i-- > 0;) {
		if (rc == 0 &&
		    message_prepend(m, sigs[i], strlen(sigs[i]), e) == -1)
			rc = -1;
		free(sigs[i]);
	}
	return rc;
}

/* ---- DNS ---- */

int
dkim_dns_txt(void *arg, const char *name, struct buf *txt, struct err *e)
{
	struct dns *d = NULL;
	struct dns_answer ans;
	enum dns_status st;
	int rc;

	(void)arg;
	/* One resolver per key: a verification looks up a few keys. */
	if (dns_open_opt(NULL, DKIM_DNS_TIMEOUT_MS, 0, &d, e) == -1)
		return err_prefix(e, "DNS lookup failed");
	st = dns_lookup(d, name, DNS_T_TXT, &ans);
	buf_clear(txt);
	if (st == DNS_FOUND && ans.nrr > 0)
		rc = buf_add(txt, ans.rr[0].text, ans.rr[0].len) == -1
			 ? err_set(e, ERR_DATA, "TXT record too large")
			 : 0;
	else if (st == DNS_FOUND || st == DNS_NXDOMAIN || st == DNS_NODATA)
		rc = err_set(e, ERR_NOINPUT, "no TXT record");
	else
		rc = err_set(e, ERR_TEMP, "DNS lookup failed (%s)", ans.why);
	dns_answer_free(&ans);
	dns_close(d);
	return rc;
}

/* ---- verification ---- */

struct sigp {
	struct taglist tl;
	enum dkim_alg alg;
	enum dkim_canon hc, bc;
	char a[20], d[254], s[254];
	unsigned char bh[DKIM_HASH_LEN];
	unsigned char b[MAX_SIG_LEN];
	size_t blen;
	unsigned long long l;
	int has_l;
};

struct pubkey {
	enum dkim_alg alg;
	unsigned bits; /* RSA */
	gnutls_pubkey_t rsa;
	unsigned char ed[crypto_sign_ed25519_PUBLICKEYBYTES];
};

struct vctx {
	const struct dkim_field *f;
	size_t nf;
	int fd;
	unsigned long long size;
	long long now;
	dkim_lookup_fn *lookup;
	void *arg;
	int have[2]; /* body hashes without l=, per body canon */
	unsigned char bh[2][DKIM_HASH_LEN];
	int arc; /* 0 DKIM-Signature, ARC_AMS, ARC_AS (RFC 8617) */
	unsigned inst;
};

enum { ARC_AMS = 1, ARC_AS };

static int
copy_name(const struct tag *t, char *dst, size_t size)
{
	if (t == NULL || t->vlen >= size || !valid_dnsname(t->val, t->vlen))
		return -1;
	memcpy(dst, t->val, t->vlen);
	dst[t->vlen] = '\0';
	return 0;
}

/* i=: "[local]@domain" where domain is d= or below it. */
static const char *
sig_identity(const struct tag *i, const char *d)
{
	const char *at;
	size_t dl = strlen(d), n;

	if (i == NULL)
		return NULL;
	at = memchr(i->val, '@', i->vlen);
	if (at == NULL)
		return "bad i= tag";
	n = i->vlen - (size_t)(at + 1 - i->val);
	if (n == dl && ascii_ncasecmp(at + 1, d, dl) == 0)
		return NULL;
	if (n > dl && at[1 + n - dl - 1] == '.' &&
	    ascii_ncasecmp(at + 1 + n - dl, d, dl) == 0)
		return NULL;
	return "i= is not within d=";
}

/* The tags DKIM-Signature and ARC-Message-Signature/ARC-Seal share
 * (RFC 6376 3.5, RFC 8617 4.1): a=, d= and s=, bh=, b=. */
static const char *
sig_a_tag(struct sigp *sp)
{
	const char *why = sig_alg(tag_get(&sp->tl, "a"), &sp->alg);

	if (why != NULL)
		return why;
	str_copy(sp->a,
	    sp->alg == DKIM_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256",
	    sizeof(sp->a));
	return NULL;
}

static const char *
sig_ds_tags(struct sigp *sp)
{
	if (copy_name(tag_get(&sp->tl, "d"), sp->d, sizeof(sp->d)) == -1)
		return "missing or bad d= tag";
	if (copy_name(tag_get(&sp->tl, "s"), sp->s, sizeof(sp->s)) == -1)
		return "missing or bad s= tag";
	return NULL;
}

static const char *
sig_bh_tag(struct sigp *sp)
{
	const struct tag *t = tag_get(&sp->tl, "bh");
	size_t n = 0;

	if (t == NULL ||
	    b64_decode(t->val, t->vlen, sp->bh, sizeof(sp->bh), &n) == -1 ||
	    n != DKIM_HASH_LEN)
		return "missing or bad bh= tag";
	return NULL;
}

static const char *
sig_b_tag(struct sigp *sp)
{
	const struct tag *t = tag_get(&sp->tl, "b");

	if (t == NULL ||
	    b64_decode(t->val, t->vlen, sp->b, sizeof(sp->b), &sp->blen) ==
		-1 ||
	    sp->blen == 0)
		return "missing or bad b= tag";
	return NULL;
}

static const char *
sig_required(struct sigp *sp)
{
	const struct taglist *tl = &sp->tl;
	const struct tag *v = tag_get(tl, "v"), *t;
	const char *why;

	if ((why = sig_a_tag(sp)) != NULL)
		return why;
	if (v == NULL || !tag_is(v, "1"))
		return "missing or unknown v= tag";
	if ((why = sig_ds_tags(sp)) != NULL)
		return why;
	if ((why = sig_canon(tag_get(tl, "c"), &sp->hc, &sp->bc)) != NULL)
		return why;
	if ((why = sig_bh_tag(sp)) != NULL)
		return why;
	if ((why = sig_b_tag(sp)) != NULL)
		return why;
	t = tag_get(tl, "h");
	if (t == NULL || !list_has(t->val, t->vlen, "from"))
		return "h= does not name From";
	return NULL;
}

static const char *
sig_optional(struct sigp *sp, long long now)
{
	const struct taglist *tl = &sp->tl;
	const struct tag *q = tag_get(tl, "q"), *t = tag_get(tl, "t"),
			 *x = tag_get(tl, "x"), *l = tag_get(tl, "l");
	unsigned long long tv = 0, xv = 0;

	if (q != NULL && !list_has(q->val, q->vlen, "dns/txt"))
		return "unknown q= method";
	if ((t != NULL && tag_uint(t, &tv) == -1) ||
	    (x != NULL && tag_uint(x, &xv) == -1))
		return "bad t= or x= tag";
	if (x != NULL && t != NULL && xv < tv)
		return "x= is before t=";
	if (x != NULL && now >= 0 && xv < (unsigned long long)now)
		return "signature expired (x=)";
	if (l != NULL && tag_uint(l, &sp->l) == -1)
		return "bad l= tag";
	sp->has_l = l != NULL;
	return sig_identity(tag_get(tl, "i"), sp->d);
}

/* Key record tags (RFC 6376 section 3.6.1). */
static const char *
key_tags(const struct taglist *tl, enum dkim_alg alg)
{
	const struct tag *v = tag_get(tl, "v"), *k = tag_get(tl, "k"),
			 *h = tag_get(tl, "h"), *s = tag_get(tl, "s");

	if (v != NULL && !tag_is(v, "DKIM1"))
		return "key record: unknown v=";
	if (alg == DKIM_RSA_SHA256 && k != NULL && !tag_is(k, "rsa"))
		return "key record: k= does not match a=";
	if (alg == DKIM_ED25519_SHA256 && (k == NULL || !tag_is(k, "ed25519")))
		return "key record: k= does not match a=";
	if (h != NULL && !list_has(h->val, h->vlen, "sha256"))
		return "key record: h= excludes sha256";
	if (s != NULL && !list_has(s->val, s->vlen, "*") &&
	    !list_has(s->val, s->vlen, "email"))
		return "key record: s= excludes email";
	if (tag_get(tl, "p") == NULL)
		return "key record: no p=";
	if (tag_get(tl, "p")->vlen == 0)
		return "key revoked (empty p=)";
	return NULL;
}

static const char *
key_import(const struct tag *p, struct pubkey *pk)
{
	unsigned char *der = xcalloc(1, MAX_PUBKEY_DER);
	gnutls_datum_t d;
	unsigned bits = 0;
	size_t n = 0;
	const char *why = NULL;

	if (b64_decode(p->val, p->vlen, der, MAX_PUBKEY_DER, &n) == -1)
		why = "key record: bad p=";
	else if (pk->alg == DKIM_ED25519_SHA256) {
		if (n != sizeof(pk->ed))
			why = "key record: p= is not a 32-byte Ed25519 key";
		else
			memcpy(pk->ed, der, n);
	} else {
		d.data = der;
		d.size = (unsigned)n;
		if (gnutls_pubkey_init(&pk->rsa) < 0 ||
		    gnutls_pubkey_import(pk->rsa, &d, GNUTLS_X509_FMT_DER) <
			0 ||
		    gnutls_pubkey_get_pk_algorithm(pk->rsa, &bits) !=
			GNUTLS_PK_RSA)
			why = "key record: p= is not an RSA public key";
		else if (bits < DKIM_RSA_MIN_BITS)
			why = "key record: RSA key shorter than 1024 bits";
		pk->bits = bits;
	}
	free(der);
	return why;
}

const char *
dkim_key_record_check(const char *txt, size_t len, enum dkim_alg alg,
    unsigned *bits)
{
	struct pubkey pk;
	struct taglist tl;
	const char *r = NULL;

	memset(&pk, 0, sizeof(pk));
	pk.alg = alg;
	*bits = 0;
	if (len == 0 || memchr(txt, '\0', len) != NULL)
		r = "key record: empty or NUL in it";
	if (r == NULL)
		r = taglist_parse(txt, txt + len, &tl);
	if (r == NULL)
		r = key_tags(&tl, alg);
	if (r == NULL)
		r = key_import(tag_get(&tl, "p"), &pk);
	*bits = pk.bits;
	if (pk.rsa != NULL)
		gnutls_pubkey_deinit(pk.rsa);
	return r;
}

static int
fetch_key(struct vctx *v, const struct sigp *sp, struct pubkey *pk,
    struct err *why)
{
	struct taglist tl;
	struct buf txt;
	char name[520];
	const char *r = NULL;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sp->s, sp->d);
	buf_init(&txt, 65536);
	if (v->lookup(v->arg, name, &txt, why) == -1) {
		buf_reset(&txt);
		return err_prefix(why, "key %s", name);
	}
	pk->alg = sp->alg;
	if (txt.data == NULL || memchr(txt.data, '\0', txt.len) != NULL)
		r = "key record: empty or NUL in it";
	if (r == NULL)
		r = taglist_parse(txt.data, txt.data + txt.len, &tl);
	if (r == NULL)
		r = key_tags(&tl, sp->alg);
	if (r == NULL)
		r = key_import(tag_get(&tl, "p"), pk);
	buf_reset(&txt);
	if (r != NULL)
		return err_set(why, ERR_DATA, "%s (%s)", r, name);
	return 0;
}

static int
body_check(struct vctx *v, const struct sigp *sp, struct err *why)
{
	unsigned char bh[DKIM_HASH_LEN];
	unsigned long long len = 0;
	int c = sp->bc == DKIM_RELAXED;

	if (!sp->has_l && v->have[c]) {
		memcpy(bh, v->bh[c], sizeof(bh));
	} else {
		if (body_hash(v->fd, v->size, sp->bc, sp->has_l ? sp->l : ~0ULL,
			bh, &len, why) == -1)
			return -1;
		if (sp->has_l && sp->l > len)
			return err_set(why, ERR_DATA, "l= exceeds the body");
		if (!sp->has_l) {
			memcpy(v->bh[c], bh, sizeof(bh));
			v->have[c] = 1;
		}
	}
	if (sodium_memcmp(bh, sp->bh, sizeof(bh)) != 0)
		return err_set(why, ERR_DATA,
		    "body hash mismatch (the body was changed)");
	return 0;
}

static int digest_check(const struct sigp *sp, const struct pubkey *pk,
    const unsigned char digest[DKIM_HASH_LEN], struct err *why);

static int
sig_check(struct vctx *v, size_t idx, const struct sigp *sp,
    const struct pubkey *pk, struct err *why)
{
	unsigned char digest[DKIM_HASH_LEN];

	if (header_digest(sp->hc, v->f, v->nf, &sp->tl, v->f[idx].p,
		v->f[idx].len, digest, why) == -1)
		return -1;
	return digest_check(sp, pk, digest, why);
}

static int
digest_check(const struct sigp *sp, const struct pubkey *pk,
    const unsigned char digest[DKIM_HASH_LEN], struct err *why)
{
	gnutls_datum_t h, s;
	int ok;

	if (pk->alg == DKIM_ED25519_SHA256) {
		ok = sp->blen == crypto_sign_ed25519_BYTES &&
		     crypto_sign_ed25519_verify_detached(sp->b, digest,
			 DKIM_HASH_LEN, pk->ed) == 0;
	} else {
		h.data = (unsigned char *)(uintptr_t)digest;
		h.size = DKIM_HASH_LEN;
		s.data = (unsigned char *)(uintptr_t)sp->b;
		s.size = (unsigned)sp->blen;
		ok = gnutls_pubkey_verify_hash2(pk->rsa, GNUTLS_SIGN_RSA_SHA256,
			 0, &h, &s) >= 0;
	}
	if (!ok)
		return err_set(why, ERR_DATA,
		    "signature does not verify (header fields changed?)");
	return 0;
}

/* ---- ARC (RFC 8617) with the DKIM code ---- */

static const char *const arc_names[3] = {"ARC-Authentication-Results",
    "ARC-Message-Signature", "ARC-Seal"};

/* The instance of an ARC field: its i= tag (AAR: the leading "i=N;"). */
static unsigned
arc_instance(const struct dkim_field *f, int kind)
{
	const char *p = memchr(f->p, ':', f->len), *end = f->p + f->len;
	struct taglist tl;
	const struct tag *t;
	unsigned long long v = 0;

	if (p == NULL)
		return 0;
	if (kind == 0) { /* "i" *WSP "=" *WSP 1*DIGIT *WSP ";" */
		for (p++; p < end && strchr(" \t\r\n", *p) != NULL; p++)
			;
		if (end - p < 3 || *p != 'i')
			return 0;
		for (p++; p < end && strchr(" \t\r\n=", *p) != NULL; p++)
			;
		for (; p < end && *p >= '0' && *p <= '9' && v <= 50; p++)
			v = v * 10 + (unsigned long long)(*p - '0');
		return v >= 1 && v <= 50 ? (unsigned)v : 0;
	}
	if (taglist_parse(p + 1, f->p + trim_crlf(f->p, f->len), &tl) != NULL ||
	    (t = tag_get(&tl, "i")) == NULL || tag_uint(t, &v) == -1 || v < 1 ||
	    v > 50)
		return 0;
	return (unsigned)v;
}

/* The one field of kind (0 AAR, 1 AMS, 2 AS) with instance i, or -1 when
 * there is none or more than one (RFC 8617 5.1.1: the chain fails). */
static long
arc_find(const struct dkim_field *f, size_t nf, int kind, unsigned i)
{
	long at = -1;
	size_t k;

	for (k = 0; k < nf; k++)
		if (field_is(&f[k], arc_names[kind], strlen(arc_names[kind])) &&
		    arc_instance(&f[k], kind) == i) {
			if (at != -1)
				return -2;
			at = (long)k;
		}
	return at;
}

/* Tags of an ARC-Message-Signature or ARC-Seal: like a DKIM signature's
 * but without v= and with i= the instance; a seal has no h=, bh=, c=. */
static const char *
arc_required(struct vctx *v, size_t idx, struct sigp *sp)
{
	const struct taglist *tl = &sp->tl;
	const struct dkim_field *f = &v->f[idx];
	const char *why = NULL, *colon = memchr(f->p, ':', f->len);

	if (colon == NULL ||
	    (why = taglist_parse(colon + 1, f->p + trim_crlf(f->p, f->len),
		 &sp->tl)) != NULL)
		return why != NULL ? why : "no colon";
	if ((why = sig_a_tag(sp)) != NULL)
		return why;
	if ((why = sig_ds_tags(sp)) != NULL)
		return why;
	if ((why = sig_b_tag(sp)) != NULL)
		return why;
	sp->hc = sp->bc = DKIM_RELAXED;
	if (v->arc == ARC_AS)
		return tag_get(tl, "h") != NULL ? "h= in an ARC-Seal" : NULL;
	if ((why = sig_canon(tag_get(tl, "c"), &sp->hc, &sp->bc)) != NULL)
		return why;
	if ((why = sig_bh_tag(sp)) != NULL)
		return why;
	if (tag_get(tl, "h") == NULL)
		return "no h= tag";
	return NULL;
}

/* RFC 8617 5.1.1: the seal signs the ARC sets 1..i, each AAR, AMS, AS in
 * that order (relaxed), its own field last with b= empty and no CRLF. */
static int
seal_check(struct vctx *v, size_t idx, const struct sigp *sp,
    const struct pubkey *pk, struct err *why)
{
	unsigned char digest[DKIM_HASH_LEN];
	gnutls_hash_hd_t h = NULL;
	struct buf tmp;
	unsigned k;
	long at;
	int kind, rc = 0;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return err_set(why, ERR_SOFTWARE, "gnutls_hash_init failed");
	buf_init(&tmp, FIELD_MAX);
	for (k = 1; k <= v->inst && rc == 0; k++)
		for (kind = 0; kind < 3 && rc == 0; kind++) {
			at = arc_find(v->f, v->nf, kind, k);
			if (at < 0)
				rc = err_set(why, ERR_DATA,
				    "ARC set %u: %s missing or doubled", k,
				    arc_names[kind]);
			else if (k == v->inst && kind == 2)
				rc = hash_sig_field(h, DKIM_RELAXED,
				    v->f[idx].p, v->f[idx].len,
				    tag_get(&sp->tl, "b"), &tmp, why);
			else
				rc = hash_canon(h, DKIM_RELAXED, v->f[at].p,
				    v->f[at].len, 1, &tmp, why);
		}
	gnutls_hash_deinit(h, digest);
	buf_reset(&tmp);
	return rc == 0 ? digest_check(sp, pk, digest, why) : -1;
}

static int
verify_steps(struct vctx *v, size_t idx, struct sigp *sp, struct err *why)
{
	struct pubkey pk;
	const char *r;
	int rc;

	if (v->arc)
		r = arc_required(v, idx, sp);
	else if ((r = sig_tags(v->f[idx].p, v->f[idx].len, &sp->tl)) == NULL &&
		 (r = sig_required(sp)) == NULL)
		r = sig_optional(sp, v->now);
	if (r != NULL)
		return err_set(why, ERR_DATA, "%s", r);
	memset(&pk, 0, sizeof(pk));
	rc = fetch_key(v, sp, &pk, why);
	if (rc == 0 && v->arc != ARC_AS)
		rc = body_check(v, sp, why);
	if (rc == 0 && v->arc != ARC_AS)
		rc = sig_check(v, idx, sp, &pk, why);
	else if (rc == 0)
		rc = seal_check(v, idx, sp, &pk, why);
	if (pk.rsa != NULL)
		gnutls_pubkey_deinit(pk.rsa);
	return rc;
}

/* One signature; -1 only if the body cannot be read. */
static int
verify_one(struct vctx *v, size_t idx, struct dkim_result *res, struct err *e)
{
	struct sigp *sp = xcalloc(1, sizeof(*sp));
	struct err why;
	int rc;

	str_copy(sp->a, "?", sizeof(sp->a));
	str_copy(sp->d, "?", sizeof(sp->d));
	str_copy(sp->s, "?", sizeof(sp->s));
	memset(&why, 0, sizeof(why));
	rc = verify_steps(v, idx, sp, &why);
	res->pass = rc == 0;
	if (rc == 0)
		snprintf(res->line, sizeof(res->line),
		    "pass d=%.150s s=%.80s a=%s", sp->d, sp->s, sp->a);
	else
		snprintf(res->line, sizeof(res->line),
		    "fail d=%.150s s=%.80s a=%s: %.200s", sp->d, sp->s, sp->a,
		    why.text);
	free(sp);
	if (rc == -1 && why.kind == ERR_IO) {
		*e = why;
		return -1;
	}
	return 0;
}

int
dkim_verify_fields(const struct dkim_field *fields, size_t nfields, int body_fd,
    unsigned long long size, long long now, dkim_lookup_fn *lookup, void *arg,
    struct dkim_result **res, size_t *nres, struct err *e)
{
	struct vctx v;
	size_t i, n = 0;

	memset(&v, 0, sizeof(v));
	v.f = fields;
	v.nf = nfields;
	v.fd = body_fd;
	v.size = size;
	v.now = now >= 0 ? now : (long long)time(NULL);
	v.lookup = lookup;
	v.arg = arg;
	*res = xcalloc(nfields + 1, sizeof(**res));
	*nres = 0;
	for (i = 0; i < nfields; i++) {
		if (!field_is(&fields[i], "DKIM-Signature", 14))
			continue;
		if (n == MAX_VERIFY_SIGS) {
			/* Each costs a lookup and maybe a body pass. */
			snprintf((*res)[n].line, sizeof((*res)[n].line),
			    "fail: not checked (more than %d signatures)",
			    MAX_VERIFY_SIGS);
			n++;
			break;
		}
		if (verify_one(&v, i, &(*res)[n], e) == -1) {
			free(*res);
			*res = NULL;
			return -1;
		}
		n++;
	}
	*nres = n;
	return 0;
}

int
dkim_verify_message(const struct message *m, long long now,
    dkim_lookup_fn *lookup, void *arg, struct dkim_result **res, size_t *nres,
    struct err *e)
{
	struct dkim_field *f;
	size_t nf;
	int rc;

	f = message_fields(m, &nf);
	rc = dkim_verify_fields(f, nf, message_body_fd(m), message_body_size(m),
	    now, lookup, arg, res, nres, e);
	free(f);
	return rc;
}

int
dkim_verify_arc(const struct message *m, unsigned inst, long long now,
    dkim_lookup_fn *lookup, void *arg, struct dkim_result *ams,
    struct dkim_result *seal, struct err *e)
{
	struct vctx v;
	long at;
	int rc = 0, which;
	struct dkim_result *res[2] = {ams, seal};

	memset(&v, 0, sizeof(v));
	v.f = message_fields(m, &v.nf);
	v.fd = message_body_fd(m);
	v.size = message_body_size(m);
	v.now = now >= 0 ? now : (long long)time(NULL);
	v.lookup = lookup;
	v.arg = arg;
	v.inst = inst;
	for (which = 0; which < 2 && rc == 0; which++) {
		v.arc = which == 0 ? ARC_AMS : ARC_AS;
		memset(res[which], 0, sizeof(*res[which]));
		at = arc_find(v.f, v.nf, which + 1, inst);
		if (at < 0)
			snprintf(res[which]->line, sizeof(res[which]->line),
			    "fail: %s i=%u missing or doubled",
			    arc_names[which + 1], inst);
		else
			rc = verify_one(&v, (size_t)at, res[which], e);
	}
	free((void *)(uintptr_t)v.f);
	return rc;
}
