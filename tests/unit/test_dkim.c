/*
 * Unit tests for dkim.c: body canonicalisation against a naive reference
 * (tables, random inputs, every chunking), header canonicalisation, keys,
 * the RFC 8463 Appendix A vector byte for byte, signing round trips for
 * both algorithms and all four canonicalisations, verification of
 * tampered messages, signer configuration errors and DNS answers.
 *
 * Test data: $top_srcdir/tests/data/dkim/rfc8463/ (copied from the RFC).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "buf.h"
#include "check.h"
#include "config.h"
#include "dkim.h"
#include "err.h"
#include "message.h"

#define RFC_BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define RFC_HLIST "from:to:subject:date:message-id:from:subject:date"
#define RFC_TIME 1528637909
#define MAXF 64

static char tmpdir[] = "/tmp/test_dkim.XXXXXX";

/* ---- helpers ---- */

static char *
slurp_path(const char *path, size_t *n)
{
	struct buf b;
	char chunk[4096];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd == -1) {
		fprintf(stderr, "test_dkim: %s: %s\n", path, strerror(errno));
		exit(99);
	}
	buf_init(&b, 1 << 20);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)r) == -1)
			exit(99);
	close(fd);
	return buf_steal(&b, n);
}

/* A file of tests/data/dkim/. */
static char *
slurp(const char *rel, size_t *n)
{
	const char *top = getenv("top_srcdir");
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/data/dkim/%s",
	    top != NULL ? top : ".", rel);
	return slurp_path(path, n);
}

/* LF to CRLF (for files kept with LF endings). */
static char *
crlf(const char *s, size_t *n)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (; *s != '\0'; s++) {
		if (*s == '\n' && buf_addch(&b, '\r') == -1)
			exit(99);
		if (buf_addch(&b, *s) == -1)
			exit(99);
	}
	return buf_steal(&b, n);
}

/* Split a CRLF message into fields and body (pointers into msg). */
static size_t
split_message(const char *msg, size_t n, struct dkim_field *f,
    const char **body, size_t *blen)
{
	const char *p = msg, *end = msg + n, *q;
	size_t nf = 0;

	while (p < end && !(end - p >= 2 && p[0] == '\r' && p[1] == '\n')) {
		q = p;
		for (;;) {
			q = memchr(q, '\n', (size_t)(end - q));
			if (q == NULL || ++q == end ||
			    (*q != ' ' && *q != '\t'))
				break;
		}
		if (q == NULL)
			q = end;
		if (nf < MAXF) {
			f[nf].p = p;
			f[nf].len = (size_t)(q - p);
			nf++;
		}
		p = q;
	}
	if (p < end)
		p += 2;
	*body = p;
	*blen = (size_t)(end - p);
	return nf;
}

/* An unlinked temporary file holding the bytes. */
static int
body_file(const char *p, size_t n)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/bodyXXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1)
		exit(99);
	unlink(path);
	if (n > 0 && write(fd, p, n) != (ssize_t)n)
		exit(99);
	return fd;
}

static void
write_file(const char *path, const char *data, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1 || write(fd, data, n) != (ssize_t)n)
		exit(99);
	fchmod(fd, mode);
	close(fd);
}

/* The unfolded value of tag name in a DKIM-Signature field ("" if none). */
static void
tag_value(const char *field, const char *name, char *out, size_t size)
{
	char pat[16];
	const char *p;
	size_t k = 0;

	snprintf(pat, sizeof(pat), " %s=", name);
	out[0] = '\0';
	if ((p = strstr(field, pat)) == NULL)
		return;
	for (p += strlen(pat); *p != '\0' && *p != ';' && k + 1 < size; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			out[k++] = *p;
	out[k] = '\0';
}

/* ---- lookups from a table ---- */

struct rec {
	const char *name;
	const char *txt;
};

static int
table_lookup(void *arg, const char *name, struct buf *txt, struct err *e)
{
	const struct rec *r;

	for (r = arg; r->name != NULL; r++) {
		if (strcmp(r->name, name) != 0)
			continue;
		buf_clear(txt);
		if (buf_addstr(txt, r->txt) == -1)
			return err_set(e, ERR_DATA, "too long");
		return 0;
	}
	return err_set(e, ERR_NOINPUT, "no TXT record");
}

/* ---- body canonicalisation ---- */

static void
ref_relaxed(const char *in, size_t n, struct buf *o)
{
	size_t pos = 0, end, i, keep = 0;
	int sp, nonempty;

	while (pos < n) {
		for (end = pos; end < n && !(in[end] == '\r' && end + 1 < n &&
					       in[end + 1] == '\n');
		     end++)
			;
		sp = nonempty = 0;
		for (i = pos; i < end; i++) {
			if (in[i] == ' ' || in[i] == '\t') {
				sp = 1;
				continue;
			}
			if (sp)
				buf_addch(o, ' ');
			sp = 0;
			nonempty = 1;
			buf_addch(o, in[i]);
		}
		buf_add(o, "\r\n", 2);
		if (nonempty)
			keep = o->len; /* trailing empty lines go */
		pos = end < n ? end + 2 : n;
	}
	o->len = keep;
	if (o->data != NULL)
		o->data[keep] = '\0';
}

/* RFC 6376 3.4.3/3.4.4 written the naive way, whole body in memory. */
static void
ref_canon(enum dkim_canon c, const char *in, size_t n, struct buf *o)
{
	size_t m = n;

	if (c == DKIM_RELAXED) {
		ref_relaxed(in, n, o);
		return;
	}
	while (m >= 2 && in[m - 2] == '\r' && in[m - 1] == '\n')
		m -= 2;
	buf_add(o, in, m);
	buf_add(o, "\r\n", 2);
}

/* Digest from dkim_bh fed in pieces of at most step bytes (0: random). */
static void
bh_digest(enum dkim_canon c, const char *in, size_t n, size_t step,
    unsigned char out[32])
{
	struct dkim_bh *b = NULL;
	struct err e;
	size_t off = 0, k;

	CHECK(dkim_bh_new(c, ~0ULL, &b, &e) == 0);
	while (off < n) {
		k = step != 0 ? step : 1 + (size_t)rand() % 97;
		if (k > n - off)
			k = n - off;
		dkim_bh_update(b, in + off, k);
		off += k;
	}
	CHECK(dkim_bh_final(b, out, NULL, &e) == 0);
	dkim_bh_free(b);
}

static int
bh_matches(enum dkim_canon c, const char *in, size_t n, const char *want,
    size_t wlen)
{
	unsigned char ref[32], got[32];
	size_t steps[] = {0, 1, 2, 3, 7, 64, 100000};
	size_t i;
	int ok = 1;

	gnutls_hash_fast(GNUTLS_DIG_SHA256, want, wlen, ref);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bh_digest(c, in, n, steps[i], got);
		ok &= memcmp(got, ref, 32) == 0;
	}
	return ok;
}

static const struct {
	enum dkim_canon c;
	const char *in, *want;
} bodies[] = {
    {DKIM_SIMPLE, "", "\r\n"},
    {DKIM_RELAXED, "", ""},
    {DKIM_SIMPLE, "\r\n", "\r\n"},
    {DKIM_RELAXED, "\r\n", ""},
    {DKIM_SIMPLE, "\r\n\r\n\r\n", "\r\n"},
    {DKIM_RELAXED, "\r\n\r\n\r\n", ""},
    {DKIM_SIMPLE, "abc", "abc\r\n"},
    {DKIM_RELAXED, "abc", "abc\r\n"},
    {DKIM_SIMPLE, "abc\r\n\r\n\r\n", "abc\r\n"},
    {DKIM_RELAXED, "abc\r\n\r\n\r\n", "abc\r\n"},
    {DKIM_RELAXED, "a  b \t c\t\r\n", "a b c\r\n"},
    {DKIM_SIMPLE, "a  b \t c\t\r\n", "a  b \t c\t\r\n"},
    {DKIM_RELAXED, "  \r\n", ""},
    {DKIM_SIMPLE, "  \r\n", "  \r\n"},
    {DKIM_RELAXED, "\r\nabc\r\n", "\r\nabc\r\n"},
    {DKIM_SIMPLE, "\r\nabc\r\n", "\r\nabc\r\n"},
    {DKIM_RELAXED, "\t\tx \r\n", " x\r\n"},
    {DKIM_RELAXED, "a\r\n \r\n\t\r\nb", "a\r\n\r\n\r\nb\r\n"},
    {DKIM_SIMPLE, "a\r\n \r\n\t\r\nb", "a\r\n \r\n\t\r\nb\r\n"},
    {DKIM_RELAXED, "a\r\n  \r\n\t\r\n", "a\r\n"},
    {DKIM_RELAXED, "abc  ", "abc\r\n"},
    /* RFC 6376 section 3.4.5 */
    {DKIM_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n"},
    {DKIM_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n"},
    /* bare CR and LF are ordinary bytes */
    {DKIM_RELAXED, "a\rb\r\n", "a\rb\r\n"},
    {DKIM_RELAXED, "a \rb", "a \rb\r\n"},
    {DKIM_RELAXED, "a\nb \n\r\n", "a\nb \n\r\n"},
    {DKIM_SIMPLE, "a\r\r\n\r\n", "a\r\r\n"},
    {DKIM_RELAXED, "x\r", "x\r\r\n"},
    /* 8-bit */
    {DKIM_RELAXED, "\xc3\xa9t\xc3\xa9  \xff \r\n",
	"\xc3\xa9t\xc3\xa9 \xff\r\n"},
    {DKIM_SIMPLE, "\xff\xfe\r\n\r\n", "\xff\xfe\r\n"},
};

static void
test_body_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct buf ref;
		int ok =
		    bh_matches(bodies[i].c, bodies[i].in, strlen(bodies[i].in),
			bodies[i].want, strlen(bodies[i].want));
		buf_init(&ref, 1 << 16);
		ref_canon(bodies[i].c, bodies[i].in, strlen(bodies[i].in),
		    &ref);
		if (!ok || ref.len != strlen(bodies[i].want) ||
		    memcmp(ref.data ? ref.data : "", bodies[i].want, ref.len))
			fprintf(stderr, "body case %zu\n", i);
		CHECK(ok);
		/* The reference agrees with the table too. */
		CHECK(ref.len == strlen(bodies[i].want) &&
		      memcmp(ref.data ? ref.data : "", bodies[i].want,
			  ref.len) == 0);
		buf_reset(&ref);
	}
}

/* Random bodies from an alphabet rich in the bytes that matter. */
static void
test_body_random(void)
{
	static const char alpha[] = "ab  \t\r\n\r\n\r\r\n\xff.";
	char in[200];
	size_t i, k, n, bad = 0;
	int c;

	srand(1);
	for (i = 0; i < 4000; i++) {
		n = (size_t)rand() % sizeof(in);
		for (k = 0; k < n; k++)
			in[k] = alpha[(size_t)rand() % (sizeof(alpha) - 1)];
		for (c = 0; c < 2; c++) {
			struct buf ref;
			buf_init(&ref, 1 << 16);
			ref_canon((enum dkim_canon)c, in, n, &ref);
			if (!bh_matches((enum dkim_canon)c, in, n,
				ref.data ? ref.data : "", ref.len))
				bad++;
			buf_reset(&ref);
		}
	}
	CHECK(bad == 0);
}

/* A few MB of text-like data: the fast path and the staging buffer. */
static void
test_body_large(void)
{
	static const char *words[] = {"hello", " ", "  ", "\t", "world", "\r\n",
	    "\r\n\r\n", " \r\n", "QUJD", "\xc3\xa9", "x"};
	size_t n = 3 * 1024 * 1024, k = 0, w;
	char *in = xcalloc(1, n + 16);
	int c;

	srand(7);
	while (k < n) {
		w = (size_t)rand() % (sizeof(words) / sizeof(words[0]));
		memcpy(in + k, words[w], strlen(words[w]));
		k += strlen(words[w]);
	}
	for (c = 0; c < 2; c++) {
		struct buf ref;
		buf_init(&ref, 2 * n);
		ref_canon((enum dkim_canon)c, in, k, &ref);
		CHECK(bh_matches((enum dkim_canon)c, in, k, ref.data, ref.len));
		buf_reset(&ref);
	}
	free(in);
}

/* l=: only the first l canonical bytes are hashed; the length is told. */
static void
test_body_limit(void)
{
	struct dkim_bh *b = NULL;
	struct err e;
	unsigned char got[32], want[32];
	unsigned long long len = 0;

	CHECK(dkim_bh_new(DKIM_RELAXED, 4, &b, &e) == 0);
	dkim_bh_update(b, "ab  cd\r\n\r\n", 10);
	CHECK(dkim_bh_final(b, got, &len, &e) == 0);
	dkim_bh_free(b);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, "ab c", 4, want);
	CHECK(memcmp(got, want, 32) == 0);
	CHECK(len == 7); /* "ab cd\r\n" */
}

/* ---- header canonicalisation ---- */

static const struct {
	enum dkim_canon c;
	const char *in, *want; /* want NULL: refused */
} fields[] = {
    {DKIM_RELAXED, "SUBJECT :  Hello \r\n\tWorld  \r\n",
	"subject:Hello World\r\n"},
    {DKIM_RELAXED, "Subject:foo", "subject:foo\r\n"},
    {DKIM_RELAXED, "A: X\r\n", "a:X\r\n"},
    {DKIM_RELAXED, "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
    {DKIM_SIMPLE, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n"},
    {DKIM_SIMPLE, "X:y", "X:y\r\n"},
    {DKIM_RELAXED, "Empty:   \r\n", "empty:\r\n"},
    {DKIM_RELAXED, "Mixed-CASE: A\xc3\xa9  b", "mixed-case:A\xc3\xa9 b\r\n"},
    {DKIM_RELAXED, "NoColon\r\n", NULL},
};

static void
test_fields(void)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct buf o;
		int r;
		buf_init(&o, 4096);
		r = dkim_canon_field(&o, fields[i].c, fields[i].in,
		    strlen(fields[i].in));
		if (fields[i].want == NULL)
			CHECK(r == -1);
		else
			CHECK(r == 0 && o.data != NULL &&
			      strcmp(o.data, fields[i].want) == 0);
		buf_reset(&o);
	}
}

static const struct {
	const char *in;
	int ok;
	enum dkim_canon h, b;
} canons[] = {
    {"relaxed/relaxed", 0, DKIM_RELAXED, DKIM_RELAXED},
    {"simple/simple", 0, DKIM_SIMPLE, DKIM_SIMPLE},
    {"relaxed/simple", 0, DKIM_RELAXED, DKIM_SIMPLE},
    {"simple/relaxed", 0, DKIM_SIMPLE, DKIM_RELAXED},
    {"relaxed", 0, DKIM_RELAXED, DKIM_RELAXED},
    {"Simple", 0, DKIM_SIMPLE, DKIM_SIMPLE},
    {"relaxed/", -1, DKIM_SIMPLE, DKIM_SIMPLE},
    {"nofws", -1, DKIM_SIMPLE, DKIM_SIMPLE},
    {"", -1, DKIM_SIMPLE, DKIM_SIMPLE},
    {"relaxed/relaxed/relaxed", -1, DKIM_SIMPLE, DKIM_SIMPLE},
};

static void
test_canon_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(canons) / sizeof(canons[0]); i++) {
		enum dkim_canon h = DKIM_SIMPLE, b = DKIM_SIMPLE;
		int r = dkim_canon_parse(canons[i].in, &h, &b);
		CHECK(r == canons[i].ok);
		if (r == 0)
			CHECK(h == canons[i].h && b == canons[i].b);
	}
}

/* ---- keys ---- */

static const char ed_prefix[16] = "\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b"
				  "\x65\x70\x04\x22\x04\x20";

/* A PKCS#8 PEM for the seed; prefix byte 11 replaced by oid_last. */
static void
ed_pem(const unsigned char seed[32], unsigned char oid_last, size_t cut,
    char *out, size_t size)
{
	unsigned char der[48];
	char b64[80];

	memcpy(der, ed_prefix, 16);
	der[11] = oid_last;
	memcpy(der + 16, seed, 32);
	sodium_bin2base64(b64, sizeof(b64), der, sizeof(der) - cut,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, size,
	    "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
	    b64);
}

static char *
rsa_pem(unsigned bits)
{
	gnutls_x509_privkey_t k;
	gnutls_datum_t d = {NULL, 0};
	char *s = NULL;

	if (gnutls_x509_privkey_init(&k) < 0)
		return NULL;
	if (gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, bits, 0) >= 0 &&
	    gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL,
		GNUTLS_PKCS_PLAIN, &d) >= 0)
		s = xstrndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	gnutls_x509_privkey_deinit(k);
	return s;
}

static int
record_is(const struct dkim_key *k, const char *want)
{
	struct buf o;
	struct err e;
	int ok;

	buf_init(&o, 4096);
	ok = dkim_key_record(k, &o, &e) == 0 && o.data != NULL &&
	     strcmp(o.data, want) == 0;
	if (!ok)
		fprintf(stderr, "record: %s\n", o.data ? o.data : "(none)");
	buf_reset(&o);
	return ok;
}

static void
test_keys_ed25519(void)
{
	static const char pub[] =
	    "v=DKIM1; k=ed25519; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	struct dkim_key *k = NULL;
	struct err e;
	unsigned char seed[32];
	char *raw, pem[256];
	size_t n, sl;

	raw = slurp("rfc8463/rfc8463-ed25519.key", &n);
	CHECK(dkim_key_parse(raw, n, DKIM_ED25519_SHA256, &k, &e) == 0);
	CHECK(k != NULL && record_is(k, pub));
	dkim_key_free(k);
	CHECK(sodium_base642bin(seed, sizeof(seed), raw, n, "\n", &sl, NULL,
		  sodium_base64_VARIANT_ORIGINAL) == 0 &&
	      sl == 32);
	ed_pem(seed, 0x70, 0, pem, sizeof(pem));
	CHECK(
	    dkim_key_parse(pem, strlen(pem), DKIM_ED25519_SHA256, &k, &e) == 0);
	CHECK(k != NULL && record_is(k, pub));
	dkim_key_free(k);
	ed_pem(seed, 0x6e, 0, pem, sizeof(pem)); /* X25519, not Ed25519 */
	CHECK(dkim_key_parse(pem, strlen(pem), DKIM_ED25519_SHA256, &k, &e) ==
		  -1 &&
	      e.kind == ERR_CONFIG && k == NULL);
	ed_pem(seed, 0x70, 1, pem, sizeof(pem)); /* 47 bytes */
	CHECK(dkim_key_parse(pem, strlen(pem), DKIM_ED25519_SHA256, &k, &e) ==
	      -1);
	CHECK(dkim_key_parse(raw, n - 3, DKIM_ED25519_SHA256, &k, &e) == -1);
	CHECK(dkim_key_parse("", 0, DKIM_ED25519_SHA256, &k, &e) == -1);
	CHECK(dkim_key_parse(raw, n, DKIM_RSA_SHA256, &k, &e) == -1 &&
	      e.kind == ERR_CONFIG);
	free(raw);
}

static void
test_keys_rsa(void)
{
	char *pem, *small;
	size_t n;
	struct dkim_key *k = NULL;
	struct err e;
	char *dns;
	const char *p;

	pem = slurp("rfc8463/rfc8463-rsa.key", &n);
	CHECK(dkim_key_parse(pem, n, DKIM_RSA_SHA256, &k, &e) == 0);
	dns = slurp("rfc8463/dns-rfc8463/test._domainkey.football.example.com",
	    &n);
	p = strstr(dns, "p=");
	CHECK(k != NULL && p != NULL);
	if (k != NULL && p != NULL) {
		char want[1024];
		snprintf(want, sizeof(want), "v=DKIM1; k=rsa; %.*s",
		    (int)strcspn(p, "\r\n"), p);
		CHECK(record_is(k, want));
	}
	dkim_key_free(k);
	CHECK(dkim_key_parse(pem, n / 2, DKIM_RSA_SHA256, &k, &e) == -1 &&
	      e.kind == ERR_CONFIG);
	CHECK(dkim_key_parse(pem, n, DKIM_ED25519_SHA256, &k, &e) == -1);
	if ((small = rsa_pem(768)) != NULL) {
		CHECK(dkim_key_parse(small, strlen(small), DKIM_RSA_SHA256, &k,
			  &e) == -1 &&
		      e.kind == ERR_CONFIG && strstr(e.text, "768 bits"));
		free(small);
	}
	free(pem);
	free(dns);
}

static void
test_key_files(void)
{
	char path[128], *raw;
	size_t n;
	struct dkim_key *k = NULL;
	struct err e;

	raw = slurp("rfc8463/rfc8463-ed25519.key", &n);
	snprintf(path, sizeof(path), "%s/ed.key", tmpdir);
	write_file(path, raw, n, 0600);
	CHECK(dkim_key_load(path, DKIM_ED25519_SHA256, &k, &e) == 0);
	dkim_key_free(k);
	chmod(path, 0644);
	CHECK(dkim_key_load(path, DKIM_ED25519_SHA256, &k, &e) == -1 &&
	      e.kind == ERR_CONFIG && strstr(e.text, path) &&
	      strstr(e.text, "0644"));
	chmod(path, 0640);
	CHECK(dkim_key_load(path, DKIM_ED25519_SHA256, &k, &e) == -1);
	chmod(path, 0600);
	CHECK(dkim_key_load(path, DKIM_RSA_SHA256, &k, &e) == -1 &&
	      e.kind == ERR_CONFIG && strstr(e.text, path));
	CHECK(dkim_key_load(tmpdir, DKIM_RSA_SHA256, &k, &e) == -1 &&
	      e.kind == ERR_CONFIG);
	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	CHECK(dkim_key_load(path, DKIM_RSA_SHA256, &k, &e) == -1 &&
	      e.kind == ERR_CONFIG && strstr(e.text, path));
	free(raw);
}

/* ---- RFC 8463 Appendix A ---- */

struct rfcmsg {
	char *text;
	size_t len;
	struct dkim_field f[MAXF];
	size_t nf;
	const char *body;
	size_t blen;
	int fd;
};

static void
rfc_load(const char *file, struct rfcmsg *m)
{
	m->text = slurp(file, &m->len);
	m->nf = split_message(m->text, m->len, m->f, &m->body, &m->blen);
	m->fd = body_file(m->body, m->blen);
}

static void
rfc_free(struct rfcmsg *m)
{
	close(m->fd);
	free(m->text);
}

static struct rec rfc_recs[3];
static char *rfc_txt[2];

static void
rfc_records(void)
{
	size_t n;

	rfc_txt[0] = slurp(
	    "rfc8463/dns-rfc8463/brisbane._domainkey.football.example.com", &n);
	rfc_txt[1] =
	    slurp("rfc8463/dns-rfc8463/test._domainkey.football.example.com",
		&n);
	rfc_recs[0].name = "brisbane._domainkey.football.example.com";
	rfc_recs[0].txt = rfc_txt[0];
	rfc_recs[1].name = "test._domainkey.football.example.com";
	rfc_recs[1].txt = rfc_txt[1];
}

/* The signing core, fed the RFC's own header text, gives the RFC's b=. */
static void
rfc_core(const struct rfcmsg *m, const char *sig, const char *keyfile,
    enum dkim_alg alg)
{
	struct dkim_key *k = NULL;
	struct buf b64;
	struct err e;
	char want[512], *key;
	const char *b = strstr(sig, "\r\n b=");
	size_t n;

	key = slurp(keyfile, &n);
	CHECK(b != NULL && dkim_key_parse(key, n, alg, &k, &e) == 0);
	if (b == NULL || k == NULL)
		return;
	tag_value(sig, "b", want, sizeof(want));
	buf_init(&b64, 4096);
	CHECK(dkim_sign_template(k, m->f, m->nf, sig, (size_t)(b + 5 - sig),
		  &b64, &e) == 0);
	CHECK_STR(b64.data, want);
	/* A template with the b= value still in is signed the same. */
	buf_clear(&b64);
	CHECK(dkim_sign_template(k, m->f, m->nf, sig, strlen(sig), &b64, &e) ==
	      0);
	CHECK_STR(b64.data, want);
	buf_reset(&b64);
	dkim_key_free(k);
	free(key);
}

static void
test_rfc8463(void)
{
	struct rfcmsg m;
	unsigned char bh[32];
	char b64[64], *exp, *sigs, *second;
	struct err e;
	size_t n;

	rfc_load("rfc8463/rfc8463-unsigned.eml", &m);
	CHECK(m.nf == 5);
	CHECK(dkim_body_hash_fd(m.fd, m.blen, DKIM_RELAXED, bh, &e) == 0);
	sodium_bin2base64(b64, sizeof(b64), bh, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	CHECK_STR(b64, RFC_BH);
	exp = slurp("rfc8463/expected-signatures.txt", &n);
	sigs = crlf(exp, &n);
	second = strstr(sigs + 1, "DKIM-Signature:");
	CHECK(second != NULL);
	if (second != NULL) {
		second[-2] = '\0'; /* end the first field before its CRLF */
		rfc_core(&m, sigs, "rfc8463/rfc8463-ed25519.key",
		    DKIM_ED25519_SHA256);
		second[strlen(second) - 2] = '\0';
		rfc_core(&m, second, "rfc8463/rfc8463-rsa.key",
		    DKIM_RSA_SHA256);
	}
	free(exp);
	free(sigs);
	rfc_free(&m);
}

/* ---- verification of the RFC message and tampered copies ---- */

static const struct {
	const char *from, *to; /* replace the first from by to */
	const char *want0, *want1;
} tampers[] = {
    {NULL, NULL, "pass d=football.example.com s=brisbane a=ed25519-sha256",
	"pass d=football.example.com s=test a=rsa-sha256"},
    {"Joe.", "Jim.", "body hash mismatch", "body hash mismatch"},
    {"game.  Are", "game. Are", "pass", "pass"}, /* relaxed body */
    {"Joe.\r\n\r\n", "Joe.\r\n\r\n\r\n\r\n", "pass", "pass"},
    {"Is dinner", "Is  dinner", "pass", "pass"}, /* relaxed header */
    {"Is dinner", "Is Dinner", "does not verify", "does not verify"},
    {"Subject:", "subject :", "pass", "pass"},
    {"Date: Fri", "X-Date: Fri", "does not verify", "does not verify"},
    {"From: Joe", "X-Extra: 1\r\nFrom: Joe", "pass", "pass"},
    {"\r\nFrom: Joe", "\r\nFrom: Evil <e@x>\r\nFrom: Joe", "does not verify",
	"does not verify"},
    {"b=/gCr", "b=/gCR", "does not verify", "pass"},
    {"b=F45d", "b=F45e", "pass", "does not verify"},
    {"bh=2jUSOH9N", "bh=2jUSOH9M", "body hash mismatch", "pass"},
    {"s=brisbane", "s=nokey", "no TXT record", "pass"},
    {"a=ed25519-sha256", "a=rsa-sha1", "rsa-sha1", "pass"},
    {"v=1; a=rsa", "v=2; a=rsa", "pass", "v= tag"},
    {"d=football.example.com; i=@football.example.com;\r\n q=dns/txt; "
     "s=test",
	"d=football.example.com; i=@evil.example;\r\n q=dns/txt; s=test",
	"pass", "i= is not within d="},
    {"t=1528637909; h=from : to :\r\n",
	"t=1528637909; x=1528637910; "
	"h=from : to :\r\n",
	"expired", "pass"},
    {"h=from : to :\r\n subject : date : message-id : from :",
	"h=to :\r\n subject : date : message-id :", "h= does not name From",
	"pass"},
    {"h=from : to :\r\n", "h=to :\r\n", "does not verify", "pass"},
};

static char *
replace_once(const char *s, const char *from, const char *to, size_t *n)
{
	const char *p = strstr(s, from);
	struct buf b;

	buf_init(&b, 1 << 20);
	if (p == NULL) {
		fprintf(stderr, "tamper: '%s' not found\n", from);
		buf_addstr(&b, s);
	} else {
		buf_add(&b, s, (size_t)(p - s));
		buf_addstr(&b, to);
		buf_addstr(&b, p + strlen(from));
	}
	return buf_steal(&b, n);
}

static void
verify_text(const char *text, size_t n, struct rec *recs, long long now,
    struct dkim_result **res, size_t *nres)
{
	struct dkim_field f[MAXF];
	const char *body;
	size_t nf, blen;
	struct err e;
	int fd;

	nf = split_message(text, n, f, &body, &blen);
	fd = body_file(body, blen);
	CHECK(dkim_verify_fields(f, nf, fd, blen, now, table_lookup, recs, res,
		  nres, &e) == 0);
	close(fd);
}

static void
test_verify_rfc(void)
{
	struct dkim_result *res;
	size_t i, n, nres;
	char *msg, *t;

	msg = slurp("rfc8463/rfc8463-message.eml", &n);
	for (i = 0; i < sizeof(tampers) / sizeof(tampers[0]); i++) {
		t = tampers[i].from == NULL
			? xstrdup(msg)
			: replace_once(msg, tampers[i].from, tampers[i].to, &n);
		res = NULL;
		nres = 0;
		verify_text(t, strlen(t), rfc_recs, RFC_TIME + 10, &res, &nres);
		CHECK(nres == 2);
		if (nres == 2 && (!strstr(res[0].line, tampers[i].want0) ||
				     !strstr(res[1].line, tampers[i].want1)))
			fprintf(stderr, "tamper %zu:\n  %s\n  %s\n", i,
			    res[0].line, res[1].line);
		if (nres == 2) {
			CHECK(strstr(res[0].line, tampers[i].want0) != NULL);
			CHECK(strstr(res[1].line, tampers[i].want1) != NULL);
			CHECK(res[0].pass ==
			      (strncmp(res[0].line, "pass", 4) == 0));
		}
		free(res);
		free(t);
	}
	free(msg);
}

/* Key records that must make the ed25519 signature fail. */
static void
test_verify_keys(void)
{
	static const struct {
		const char *txt, *want;
	} recs[] = {
	    {"v=DKIM1; k=ed25519; p=", "revoked"},
	    {"v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"k= does not match"},
	    {"v=DKIM2; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcH"
	     "URo=",
		"unknown v="},
	    {"v=DKIM1; k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMl"
	     "rwIaaPcHURo=",
		"sha256"},
	    {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPc",
		"bad p="},
	    {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcH",
		"32-byte"},
	    {"v=DKIM1; k=ed25519; s=ftp; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlr"
	     "wIaaPcHURo=",
		"s= excludes"},
	    {"v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	     "AAA=",
		"does not verify"},
	    {"garbage", "tag without"},
	};
	struct rec table[3];
	struct dkim_result *res = NULL;
	size_t i, n, nres = 0;
	char *msg = slurp("rfc8463/rfc8463-message.eml", &n);

	table[1] = rfc_recs[1];
	table[2].name = NULL;
	table[0].name = rfc_recs[0].name;
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		table[0].txt = recs[i].txt;
		verify_text(msg, n, table, RFC_TIME, &res, &nres);
		CHECK(nres == 2 && !res[0].pass && res[1].pass &&
		      strstr(res[0].line, recs[i].want) != NULL);
		if (nres == 2 && !strstr(res[0].line, recs[i].want))
			fprintf(stderr, "key %zu: %s\n", i, res[0].line);
		free(res);
	}
	free(msg);
}

/* Hostile volume: many signatures, a long h= list. */
static void
test_verify_limits(void)
{
	struct rfcmsg m;
	struct dkim_field f[MAXF];
	struct dkim_result *res = NULL;
	struct dkim_key *k = NULL;
	struct buf tmpl, b64;
	struct err e;
	size_t i, nres = 0, n;
	char *key;

	rfc_load("rfc8463/rfc8463-message.eml", &m);
	for (i = 0; i < 17; i++)
		f[i] = m.f[0]; /* the ed25519 signature, 17 times */
	memcpy(f + 17, m.f + 2, 5 * sizeof(f[0]));
	CHECK(dkim_verify_fields(f, 22, m.fd, m.blen, RFC_TIME, table_lookup,
		  rfc_recs, &res, &nres, &e) == 0);
	CHECK(nres == 17 && res[15].pass && !res[16].pass &&
	      strstr(res[16].line, "not checked") != NULL);
	free(res);
	buf_init(&tmpl, 1 << 16);
	buf_addstr(&tmpl, "DKIM-Signature: v=1; a=ed25519-sha256; h=from");
	for (i = 0; i < 256; i++)
		buf_addstr(&tmpl, ":to");
	buf_addstr(&tmpl, "; bh=; b=");
	key = slurp("rfc8463/rfc8463-ed25519.key", &n);
	CHECK(dkim_key_parse(key, n, DKIM_ED25519_SHA256, &k, &e) == 0);
	buf_init(&b64, 4096);
	CHECK(k != NULL &&
	      dkim_sign_template(k, m.f + 2, 5, tmpl.data, tmpl.len, &b64,
		  &e) == -1 &&
	      strstr(e.text, "more than 256") != NULL);
	buf_reset(&b64);
	buf_reset(&tmpl);
	dkim_key_free(k);
	free(key);
	rfc_free(&m);
}

/* ---- the signer: configuration, round trips ---- */

static char ed_file[128], ed_pem_file[128], rsa_file[128], rsa_small[128];
static char ed_rec[256], rsa_rec[1024];

static void
make_keys(void)
{
	unsigned char seed[32];
	char b64[64], pem[256], *rsa;
	struct dkim_key *k = NULL;
	struct buf o;
	struct err e;

	randombytes_buf(seed, sizeof(seed));
	sodium_bin2base64(b64, sizeof(b64), seed, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(ed_file, sizeof(ed_file), "%s/ed.seed", tmpdir);
	write_file(ed_file, b64, strlen(b64), 0600);
	ed_pem(seed, 0x70, 0, pem, sizeof(pem));
	snprintf(ed_pem_file, sizeof(ed_pem_file), "%s/ed.pem", tmpdir);
	write_file(ed_pem_file, pem, strlen(pem), 0600);
	rsa = rsa_pem(2048);
	CHECK(rsa != NULL);
	snprintf(rsa_file, sizeof(rsa_file), "%s/rsa.pem", tmpdir);
	write_file(rsa_file, rsa, strlen(rsa), 0600);
	free(rsa);
	rsa = rsa_pem(768);
	snprintf(rsa_small, sizeof(rsa_small), "%s/rsa768.pem", tmpdir);
	write_file(rsa_small, rsa ? rsa : "x", rsa ? strlen(rsa) : 1, 0600);
	free(rsa);
	buf_init(&o, 4096);
	CHECK(dkim_key_load(ed_file, DKIM_ED25519_SHA256, &k, &e) == 0);
	CHECK(k != NULL && dkim_key_record(k, &o, &e) == 0);
	str_copy(ed_rec, o.data ? o.data : "", sizeof(ed_rec));
	dkim_key_free(k);
	buf_clear(&o);
	CHECK(dkim_key_load(rsa_file, DKIM_RSA_SHA256, &k, &e) == 0);
	CHECK(k != NULL && dkim_key_record(k, &o, &e) == 0);
	str_copy(rsa_rec, o.data ? o.data : "", sizeof(rsa_rec));
	dkim_key_free(k);
	buf_reset(&o);
}

static void
account_init(struct account *a, const char *canon)
{
	memset(a, 0, sizeof(*a));
	a->name = (char *)(uintptr_t) "test";
	a->dkim_domain = (char *)(uintptr_t) "example.com";
	a->dkim_canon = (char *)(uintptr_t)canon;
	/* ed25519 listed first: the signer must still put rsa on top. */
	a->dkim_keys[0].selector = (char *)(uintptr_t) "ed";
	a->dkim_keys[0].type = (char *)(uintptr_t) "ed25519";
	a->dkim_keys[0].file = ed_file;
	a->dkim_keys[1].selector = (char *)(uintptr_t) "rs";
	a->dkim_keys[1].type = (char *)(uintptr_t) "rsa";
	a->dkim_keys[1].file = rsa_file;
	a->ndkim_keys = 2;
}

static const char *const msg_fields[] = {
    "From: A <a@example.com>\r\n",
    "To: b@example.net\r\n",
    "SUBJECT:hello   there\r\n",
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n",
    "Message-ID: <x@example.com>\r\n",
    "X-Other: 1\r\n",
    "To: c@example.net,\r\n\td@example.net\r\n",
};

#define MSG_BODY "Hello  world \r\n\xc3\xa9\r\n\r\n\r\n"

static struct rec round_recs[] = {
    {"ed._domainkey.example.com", ed_rec},
    {"rs._domainkey.example.com", rsa_rec},
    {NULL, NULL},
};

/* Sign the test message; fields f get the signatures on top. */
static size_t
sign_msg(const struct dkim_signer *s, const char *headers, long long now,
    struct dkim_field *f, char **sigs, const char *body)
{
	struct err e;
	size_t i, nsigs = 0, nf = sizeof(msg_fields) / sizeof(msg_fields[0]);
	int fd = body_file(body, strlen(body));

	CHECK(dkim_sign_fields(s, NULL, 0, fd, 0, now, headers, sigs, &nsigs,
		  &e) == -1 ||
	      headers != NULL); /* no From */
	for (i = 0; i < nsigs; i++)
		free(sigs[i]);
	nsigs = 0;
	for (i = 0; i < nf; i++) {
		f[DKIM_MAX_KEYS + i].p = msg_fields[i];
		f[DKIM_MAX_KEYS + i].len = strlen(msg_fields[i]);
	}
	CHECK(dkim_sign_fields(s, f + DKIM_MAX_KEYS, nf, fd, strlen(body), now,
		  headers, sigs, &nsigs, &e) == 0);
	close(fd);
	for (i = 0; i < nsigs; i++) {
		f[DKIM_MAX_KEYS - nsigs + i].p = sigs[i];
		f[DKIM_MAX_KEYS - nsigs + i].len = strlen(sigs[i]);
	}
	return nsigs;
}

static int
lines_fit(const char *s)
{
	const char *p;

	for (; (p = strstr(s, "\r\n")) != NULL; s = p + 3)
		if (p - s > 78 || p[2] != ' ')
			return 0;
	return strlen(s) <= 78;
}

static int
in_order(const char *s, const char *const *tags)
{
	const char *last = s, *p;

	for (; *tags != NULL; tags++) {
		if ((p = strstr(s, *tags)) == NULL || p < last)
			return 0;
		last = p;
	}
	return 1;
}

static void
check_sigs(char **sigs, size_t n, const char *canon, long long now)
{
	static const char *const order[] = {"DKIM-Signature: v=1;",
	    " a=", " c=", " d=example.com;",
	    " s=", " t=", " h=", " bh=", " b=", NULL};
	char v[1024], want[64];

	CHECK(n == 2);
	if (n != 2)
		return;
	CHECK(strstr(sigs[0], "a=rsa-sha256;") && strstr(sigs[0], "s=rs;"));
	CHECK(strstr(sigs[1], "a=ed25519-sha256;") && strstr(sigs[1], "s=ed;"));
	CHECK(in_order(sigs[0], order) && in_order(sigs[1], order));
	CHECK(lines_fit(sigs[0]) && lines_fit(sigs[1]));
	CHECK(strstr(sigs[0], " l=") == NULL && strstr(sigs[0], " i=") == NULL);
	tag_value(sigs[0], "c", v, sizeof(v));
	CHECK_STR(v, canon);
	tag_value(sigs[1], "t", v, sizeof(v));
	snprintf(want, sizeof(want), "%lld", now);
	CHECK_STR(v, want);
}

static void
verify_fields(const struct dkim_field *f, size_t nf, const char *body,
    long long now, const char *want0, const char *want1)
{
	struct dkim_result *res = NULL;
	size_t nres = 0;
	struct err e;
	int fd = body_file(body, strlen(body));

	CHECK(dkim_verify_fields(f, nf, fd, strlen(body), now, table_lookup,
		  round_recs, &res, &nres, &e) == 0);
	CHECK(nres == 2 && strstr(res[0].line, want0) &&
	      strstr(res[1].line, want1));
	if (nres == 2 &&
	    (!strstr(res[0].line, want0) || !strstr(res[1].line, want1)))
		fprintf(stderr, "  %s\n  %s\n", res[0].line, res[1].line);
	free(res);
	close(fd);
}

/* Fields an attacker could add on top of a signed message. */
static const char *const added[] = {
    "From: Evil <e@example.org>\r\n",
    "Subject: Evil\r\n",
    "To: evil@example.org\r\n",
    "Cc: evil@example.org\r\n",
    "Date: Wed, 15 Nov 2023 22:13:20 +0000\r\n",
    "Reply-To: evil@example.org\r\n",
    "Message-ID: <evil@example.org>\r\n",
    "MIME-Version: 1.0\r\n",
    "Content-Type: text/html\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Keywords: not oversigned\r\n",
};

static void
round_trip(const char *canon)
{
	struct account a;
	struct dkim_signer *s = NULL;
	struct dkim_field f[DKIM_MAX_KEYS + MAXF];
	char *sigs[DKIM_MAX_KEYS], v[1024];
	size_t n, i, nf = sizeof(msg_fields) / sizeof(msg_fields[0]);
	struct err e;

	account_init(&a, canon);
	CHECK(dkim_signer_load(&a, &s, &e) == 0 && s != NULL);
	if (s == NULL)
		return;
	n = sign_msg(s, NULL, 1700000000, f, sigs, MSG_BODY);
	check_sigs(sigs, n, canon, 1700000000);
	tag_value(sigs[0], "h", v, sizeof(v));
	/* The list's fields once each, then the oversigned set once more. */
	CHECK_STR(v, "from:subject:date:to:to:message-id:from:subject:to:cc:"
		     "date:reply-to:message-id:mime-version:content-type:"
		     "content-transfer-encoding");
	verify_fields(f + DKIM_MAX_KEYS - n, nf + n, MSG_BODY, 1700000000,
	    "pass d=example.com s=rs a=rsa-sha256",
	    "pass d=example.com s=ed a=ed25519-sha256");
	verify_fields(f + DKIM_MAX_KEYS - n, nf + n, "Hello world\r\n",
	    1700000000, "body hash mismatch", "body hash mismatch");
	/* A field of the oversigned set added on top, present already or
	 * not (the message has no Cc, Reply-To or MIME fields): the
	 * signature breaks.  An unlisted field (Keywords) may be added. */
	for (i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
		f[DKIM_MAX_KEYS - n - 1].p = added[i];
		f[DKIM_MAX_KEYS - n - 1].len = strlen(added[i]);
		verify_fields(f + DKIM_MAX_KEYS - n - 1, nf + n + 1, MSG_BODY,
		    1700000000, added[i][0] == 'K' ? "pass" : "does not verify",
		    added[i][0] == 'K' ? "pass" : "does not verify");
	}
	for (i = 0; i < n; i++)
		free(sigs[i]);
	dkim_signer_free(s);
}

static void
test_round_trips(void)
{
	round_trip("relaxed/relaxed");
	round_trip("simple/simple");
	round_trip("relaxed/simple");
	round_trip("simple/relaxed");
}

static void
test_sign_options(void)
{
	struct account a;
	struct dkim_signer *s = NULL;
	struct dkim_field f[DKIM_MAX_KEYS + MAXF];
	char *sigs[DKIM_MAX_KEYS], v[1024];
	size_t n, i, nf = sizeof(msg_fields) / sizeof(msg_fields[0]);
	struct err e;

	account_init(&a, NULL);
	a.dkim_headers = (char *)(uintptr_t) "Subject : X-Other";
	a.dkim_oversign = (char *)(uintptr_t) "Reply-To:subject";
	CHECK(dkim_signer_load(&a, &s, &e) == 0 && s != NULL);
	if (s == NULL)
		return;
	dkim_signer_set_expire(s, 3600);
	n = sign_msg(s, NULL, 1700000000, f, sigs, MSG_BODY);
	check_sigs(sigs, n, "relaxed/relaxed", 1700000000);
	tag_value(sigs[1], "h", v, sizeof(v));
	CHECK_STR(v, "from:subject:x-other:from:reply-to:subject");
	tag_value(sigs[1], "x", v, sizeof(v));
	CHECK_STR(v, "1700003600");
	verify_fields(f + DKIM_MAX_KEYS - n, nf + n, MSG_BODY, 1700003600,
	    "pass", "pass");
	verify_fields(f + DKIM_MAX_KEYS - n, nf + n, MSG_BODY, 1700003601,
	    "expired", "expired");
	for (i = 0; i < n; i++)
		free(sigs[i]);
	n = sign_msg(s, "From:to: Subject", 5, f, sigs, "");
	tag_value(sigs[0], "h", v, sizeof(v));
	CHECK_STR(v, "From:to:Subject");
	verify_fields(f + DKIM_MAX_KEYS - n, nf + n, "", 5, "pass", "pass");
	for (i = 0; i < n; i++)
		free(sigs[i]);
	CHECK(dkim_sign_fields(s, f + DKIM_MAX_KEYS, nf, -1, 0, 5, "to:subject",
		  sigs, &n, &e) == -1 &&
	      e.kind == ERR_USAGE && n == 0);
	CHECK(dkim_sign_fields(s, f + DKIM_MAX_KEYS, nf, -1, 0, 5, "from::to",
		  sigs, &n, &e) == -1 &&
	      e.kind == ERR_USAGE);
	dkim_signer_free(s);

	/* An oversigned name the list leaves out: each occurrence, + 1. */
	s = NULL;
	a.dkim_headers = (char *)(uintptr_t) "from";
	a.dkim_oversign = (char *)(uintptr_t) "To:Cc";
	CHECK(dkim_signer_load(&a, &s, &e) == 0 && s != NULL);
	if (s == NULL)
		return;
	n = sign_msg(s, NULL, 1700000000, f, sigs, MSG_BODY);
	tag_value(sigs[0], "h", v, sizeof(v));
	CHECK_STR(v, "from:from:to:to:to:cc");
	verify_fields(f + DKIM_MAX_KEYS - n, nf + n, MSG_BODY, 1700000000,
	    "pass", "pass");
	f[DKIM_MAX_KEYS - n - 1].p = "Cc: evil@example.org\r\n";
	f[DKIM_MAX_KEYS - n - 1].len = strlen(f[DKIM_MAX_KEYS - n - 1].p);
	verify_fields(f + DKIM_MAX_KEYS - n - 1, nf + n + 1, MSG_BODY,
	    1700000000, "does not verify", "does not verify");
	for (i = 0; i < n; i++)
		free(sigs[i]);
	dkim_signer_free(s);
}

/* The same seed as PEM and as base64 signs identically (Ed25519 is
 * deterministic). */
static void
test_ed_formats(void)
{
	struct account a;
	struct dkim_signer *s1 = NULL, *s2 = NULL;
	struct dkim_field f[DKIM_MAX_KEYS + MAXF];
	char *sig1[DKIM_MAX_KEYS], *sig2[DKIM_MAX_KEYS];
	struct err e;
	size_t n1, n2;

	account_init(&a, NULL);
	a.ndkim_keys = 1;
	CHECK(dkim_signer_load(&a, &s1, &e) == 0);
	a.dkim_keys[0].file = ed_pem_file;
	CHECK(dkim_signer_load(&a, &s2, &e) == 0);
	if (s1 == NULL || s2 == NULL)
		return;
	n1 = sign_msg(s1, NULL, 1, f, sig1, MSG_BODY);
	n2 = sign_msg(s2, NULL, 1, f, sig2, MSG_BODY);
	CHECK(n1 == 1 && n2 == 1 && strcmp(sig1[0], sig2[0]) == 0);
	free(sig1[0]);
	free(sig2[0]);
	dkim_signer_free(s1);
	dkim_signer_free(s2);
}

static void
test_signer_errors(void)
{
	struct account a;
	struct dkim_signer *s = NULL;
	struct err e;
	char bad[128];

	account_init(&a, NULL);
	a.ndkim_keys = 0;
	CHECK(dkim_signer_load(&a, &s, &e) == 0 && s == NULL);
	CHECK(dkim_sign_message(NULL, NULL, 0, NULL, &e) == 0);
#define EXPECT_CONFIG(what)                                                    \
	do {                                                                   \
		CHECK(dkim_signer_load(&a, &s, &e) == -1 && s == NULL &&       \
		      e.kind == ERR_CONFIG && strstr(e.text, what) != NULL);   \
		if (strstr(e.text, what) == NULL)                              \
			fprintf(stderr, "got: %s\n", e.text);                  \
		account_init(&a, NULL);                                        \
	} while (0)
	account_init(&a, NULL);
	a.dkim_domain = NULL;
	EXPECT_CONFIG("dkim_domain");
	a.dkim_domain = (char *)(uintptr_t) "exa;mple.com";
	EXPECT_CONFIG("dkim_domain");
	a.dkim_keys[1].type = (char *)(uintptr_t) "dsa";
	EXPECT_CONFIG("type must be");
	a.dkim_keys[0].selector = (char *)(uintptr_t) "a b";
	EXPECT_CONFIG("bad selector");
	a.dkim_keys[1].selector = (char *)(uintptr_t) "ed";
	EXPECT_CONFIG("given twice");
	a.dkim_canon = (char *)(uintptr_t) "relaxed/strict";
	EXPECT_CONFIG("dkim_canon");
	a.dkim_headers = (char *)(uintptr_t) "from::to";
	EXPECT_CONFIG("dkim_headers");
	a.dkim_oversign = (char *)(uintptr_t) "from;to";
	EXPECT_CONFIG("dkim_oversign");
	snprintf(bad, sizeof(bad), "%s/nonexistent", tmpdir);
	a.dkim_keys[1].file = bad;
	EXPECT_CONFIG(bad);
	a.dkim_keys[1].file = ed_file; /* an ed25519 key as rsa */
	EXPECT_CONFIG(ed_file);
	a.dkim_keys[1].file = rsa_small;
	EXPECT_CONFIG(rsa_small);
	chmod(rsa_file, 0604);
	EXPECT_CONFIG("0604");
	chmod(rsa_file, 0600);
#undef EXPECT_CONFIG
}

/* ---- with message.c: sign a struct message in place ---- */

/* A signer with the RFC 8463 keys (files written 0600 under tmpdir). */
static struct dkim_signer *
rfc_signer(void)
{
	static char path[2][128];
	static const char *const src[2] = {"rfc8463/rfc8463-ed25519.key",
	    "rfc8463/rfc8463-rsa.key"};
	struct account a;
	struct dkim_signer *s = NULL;
	struct err e;
	char *key;
	size_t i, n;

	account_init(&a, NULL);
	a.dkim_domain = (char *)(uintptr_t) "football.example.com";
	a.dkim_keys[0].selector = (char *)(uintptr_t) "brisbane";
	a.dkim_keys[1].selector = (char *)(uintptr_t) "test";
	for (i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/rfc%zu.key", tmpdir, i);
		key = slurp(src[i], &n);
		write_file(path[i], key, n, 0600);
		free(key);
		a.dkim_keys[i].file = path[i];
	}
	CHECK(dkim_signer_load(&a, &s, &e) == 0);
	return s;
}

/* message.c's struct message, signed in place: rsa on top, then ed25519. */
static void
test_sign_message(void)
{
	struct dkim_signer *s;
	struct message *m = NULL;
	struct message_read_opts ro;
	struct dkim_result *res = NULL;
	struct rfcmsg in;
	struct err e;
	char v[1024];
	const char *h;
	size_t n, nres = 0;
	int fd;

	rfc_load("rfc8463/rfc8463-unsigned.eml", &in);
	memset(&ro, 0, sizeof(ro));
	ro.ignore_dots = 1;
	ro.tmpdir = tmpdir;
	fd = body_file(in.text, in.len);
	lseek(fd, 0, SEEK_SET);
	CHECK(message_read(fd, &ro, &m, &e) == 0);
	close(fd);
	s = rfc_signer();
	if (m != NULL && s != NULL) {
		CHECK(dkim_sign_message(s, m, RFC_TIME, RFC_HLIST, &e) == 0);
		CHECK(message_nheaders(m) == 7);
		h = message_header(m, 0, &n);
		CHECK(h != NULL && strstr(h, "a=rsa-sha256") != NULL);
		tag_value(h, "bh", v, sizeof(v));
		CHECK_STR(v, RFC_BH);
		h = message_header(m, 1, &n);
		CHECK(h != NULL && strstr(h, "a=ed25519-sha256") != NULL);
		CHECK(dkim_verify_message(m, RFC_TIME, table_lookup, rfc_recs,
			  &res, &nres, &e) == 0);
		CHECK(nres == 2 && res[0].pass && res[1].pass);
		free(res);
	}
	message_free(m);
	dkim_signer_free(s);
	rfc_free(&in);
}

/* Postfix's cleanup: white space between a field name and its colon is
 * dropped ("Subject : x" arrives as "Subject: x").  In place; new length. */
static size_t
postfix_names(char *t, size_t n)
{
	size_t i = 0, o = 0, k, colon;

	while (i < n && !(i + 1 < n && t[i] == '\r' && t[i + 1] == '\n')) {
		for (k = i; k < n && t[k] != '\n'; k++)
			;
		colon = i;
		if (t[i] != ' ' && t[i] != '\t')
			while (colon < k && t[colon] != ':')
				colon++;
		for (; i <= k && i < n; i++) {
			if (i < colon && colon < k &&
			    (t[i] == ' ' || t[i] == '\t'))
				continue;
			t[o++] = t[i];
		}
	}
	memmove(t + o, t + i, n - i);
	return o + n - i;
}

/* "Subject : x" is signed as it arrives (issue 8, item 10): normalised by
 * message_complete(), signed simple/simple, then passed through Postfix's
 * rewrite, both signatures verify. */
static void
test_sign_fieldnames(void)
{
	static const char in[] = "From: A <a@example.com>\r\n"
				 "Subject : hello\r\n"
				 "To\t: b@example.net\r\n"
				 "Cc \t : c@example.net\r\n"
				 "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
				 "Message-ID: <x@example.com>\r\n"
				 "\r\n"
				 "body\r\n";
	struct message_complete_opts co;
	struct message_read_opts ro;
	struct dkim_signer *s = NULL;
	struct dkim_result *res = NULL;
	struct message *m = NULL;
	struct account a;
	struct err e;
	char text[4096];
	size_t i, n, nres = 0;
	const char *h;
	ssize_t got;
	int fd;

	memset(&ro, 0, sizeof(ro));
	ro.ignore_dots = 1;
	ro.tmpdir = tmpdir;
	fd = body_file(in, sizeof(in) - 1);
	lseek(fd, 0, SEEK_SET);
	CHECK(message_read(fd, &ro, &m, &e) == 0);
	close(fd);
	memset(&co, 0, sizeof(co));
	co.envelope_from = co.from_addr = "a@example.com";
	co.msgid_domain = "example.com";
	co.set_from = co.set_date = co.set_msgid = MSG_NEVER;
	co.now = 1700000000;
	account_init(&a, "simple/simple");
	CHECK(dkim_signer_load(&a, &s, &e) == 0);
	if (m == NULL || s == NULL || message_complete(m, &co, &e) == -1) {
		CHECK(0);
		goto out;
	}
	for (i = 0; i < message_nheaders(m); i++) {
		h = message_header(m, i, &n);
		CHECK(strstr(h, " :") == NULL && strstr(h, "\t:") == NULL);
	}
	CHECK(dkim_sign_message(s, m, 1700000000, NULL, &e) == 0);
	fd = body_file("", 0);
	CHECK(message_write(m, fd, &e) == 0);
	got = pread(fd, text, sizeof(text), 0);
	close(fd);
	CHECK(got > 0 && (size_t)got < sizeof(text));
	if (got <= 0 || (size_t)got >= sizeof(text))
		goto out;
	n = postfix_names(text, (size_t)got);
	text[n] = '\0';
	CHECK(strstr(text, "\r\nSubject: hello\r\n") != NULL);
	verify_text(text, n, round_recs, 1700000000, &res, &nres);
	CHECK(nres == 2 && res[0].pass && res[1].pass);
	free(res);
out:
	message_free(m);
	dkim_signer_free(s);
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 99;
	test_body_table();
	test_body_random();
	test_body_large();
	test_body_limit();
	test_fields();
	test_canon_parse();
	test_keys_ed25519();
	test_keys_rsa();
	test_key_files();
	rfc_records();
	test_rfc8463();
	test_verify_rfc();
	test_verify_keys();
	test_verify_limits();
	make_keys();
	test_round_trips();
	test_sign_options();
	test_ed_formats();
	test_signer_errors();
	test_sign_message();
	test_sign_fieldnames();
	free(rfc_txt[0]);
	free(rfc_txt[1]);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return check_done();
}
