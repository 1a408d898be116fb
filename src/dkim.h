/*
 * dkim.h -- DKIM (RFC 6376) signing and verification: rsa-sha256 through
 * GnuTLS, ed25519-sha256 (RFC 8463) through libsodium, SHA-256 through
 * GnuTLS.  rsa-sha1 is never produced and never accepted (RFC 8301).
 *
 * Three layers, each usable on its own:
 *   - dkim_signer_load() + dkim_sign_message(): what sendmail mode uses;
 *   - dkim_sign_fields(): the same on header fields plus a body file;
 *   - dkim_sign_template(): the signing core, fed a prepared
 *     DKIM-Signature field whose b= is empty (the RFC 8463 test vector).
 *
 * A header field ("struct dkim_field") is the raw field as it goes on the
 * wire: "Name: value" with its CRLF folding, with or without the final
 * CRLF.  Fields are listed topmost first.  The body is read with pread()
 * from a file in chunks, so memory does not grow with the message.
 */
#ifndef POSTSEAL_DKIM_H
#define POSTSEAL_DKIM_H

#include <stddef.h>

#include "err.h"

struct account;
struct buf;
struct message;

#define DKIM_HASH_LEN 32 /* SHA-256 */
#define DKIM_MAX_KEYS 4	 /* signatures per message */
#define DKIM_RSA_MIN_BITS 1024
#define DKIM_RSA_MAX_BITS 4096

enum dkim_alg { DKIM_RSA_SHA256 = 0, DKIM_ED25519_SHA256 };
enum dkim_canon { DKIM_SIMPLE = 0, DKIM_RELAXED };

struct dkim_field {
	const char *p; /* borrowed */
	size_t len;
};

/*
 * Parse "simple", "relaxed" or "HEADER/BODY" (e.g. "relaxed/simple").  A
 * single word applies to both header and body (as in OpenDKIM; note that
 * the c= tag itself reads a single word as "word/simple").  Returns 0, or
 * -1 for anything else.
 */
int dkim_canon_parse(const char *s, enum dkim_canon *hdr,
    enum dkim_canon *body);

/* "simple" or "relaxed". */
const char *dkim_canon_name(enum dkim_canon c);

/*
 * Append the canonical form of one header field (p, n; a final CRLF is
 * ignored) to o, ending in CRLF: RFC 6376 section 3.4.1 (simple) or 3.4.2
 * (relaxed).  -1 if o's cap is reached or (relaxed) there is no colon.
 */
int dkim_canon_field(struct buf *o, enum dkim_canon c, const char *p, size_t n);

/* ---- private keys ---- */

struct dkim_key;

/*
 * Parse a private key held in memory.  rsa: PEM, PKCS#1 ("BEGIN RSA
 * PRIVATE KEY") or unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), 1024 to 4096
 * bits.  ed25519: unencrypted PKCS#8 PEM as "openssl genpkey" writes it
 * (exactly the 48-byte RFC 8410 encoding), or the 32-byte seed in base64.
 * Errors are ERR_CONFIG.  On success *out is set; free it with
 * dkim_key_free(), which wipes the secret.
 */
int dkim_key_parse(const char *data, size_t len, enum dkim_alg alg,
    struct dkim_key **out, struct err *e);

/*
 * Read and parse a key file.  Refused (ERR_CONFIG, message naming the
 * file): a file that cannot be opened or read, that is not a regular
 * file, that group or others may access (mode & 077), larger than 64 KiB,
 * or that does not parse.
 */
int dkim_key_load(const char *file, enum dkim_alg alg, struct dkim_key **out,
    struct err *e);

void dkim_key_free(struct dkim_key *k);

enum dkim_alg dkim_key_alg(const struct dkim_key *k);

/*
 * Append the DNS TXT record text for the key's public half to o:
 * "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" or
 * "v=DKIM1; k=ed25519; p=<base64 of the raw 32-byte key>".
 */
int dkim_key_record(const struct dkim_key *k, struct buf *o, struct err *e);

/*
 * Generate a private key and append it to pem as unencrypted PKCS#8 PEM
 * ("BEGIN PRIVATE KEY", as "openssl genpkey" writes it); bits is for rsa
 * only (DKIM_RSA_MIN_BITS to DKIM_RSA_MAX_BITS).  The caller wipes pem
 * with buf_wipe().  ERR_USAGE for bad bits, ERR_SOFTWARE otherwise.
 */
int dkim_key_generate(enum dkim_alg alg, unsigned bits, struct buf *pem,
    struct err *e);

/* Nonzero if s is a usable domain or selector (letters, digits, '-', '_',
 * dot-separated, at most 253 characters). */
int dkim_valid_name(const char *s);

/* ---- body hashing (RFC 6376 section 3.4.3/3.4.4), streaming ---- */

struct dkim_bh;

/*
 * A body hasher for canonicalisation c.  limit is the l= length (the
 * number of canonical bytes hashed); ~0ULL for none.  CRLF is the only
 * line end; bare CR and LF are ordinary bytes (message.c has already made
 * line ends CRLF).  Caller frees with dkim_bh_free().
 */
int dkim_bh_new(enum dkim_canon c, unsigned long long limit,
    struct dkim_bh **out, struct err *e);
void dkim_bh_update(struct dkim_bh *h, const void *p, size_t n);
/* The digest; *canon_len (may be NULL) gets the canonical body length. */
int dkim_bh_final(struct dkim_bh *h, unsigned char out[DKIM_HASH_LEN],
    unsigned long long *canon_len, struct err *e);
void dkim_bh_free(struct dkim_bh *h);

/*
 * Hash size bytes of fd from offset 0 (fd -1 or size 0: an empty body).
 * A file shorter than size is ERR_IO.
 */
int dkim_body_hash_fd(int fd, unsigned long long size, enum dkim_canon c,
    unsigned char out[DKIM_HASH_LEN], struct err *e);

/* ---- the signing core ---- */

/*
 * Sign with key k: tmpl is a complete DKIM-Signature field (without the
 * final CRLF), already folded as it will be sent, whose b= tag comes last
 * and is empty (a b= value, if present, is ignored as a verifier would).
 * Its a=, c= and h= tags choose the algorithm (it must match the key),
 * the header canonicalisation and the fields to hash; bh= is not
 * checked.  The base64 signature (unfolded) is appended to b64.
 * ERR_DATA for a malformed template, ERR_SOFTWARE for a crypto failure.
 */
int dkim_sign_template(const struct dkim_key *k,
    const struct dkim_field *fields, size_t nfields, const char *tmpl,
    size_t tmpllen, struct buf *b64, struct err *e);

/* ---- the signer: an account's keys and settings ---- */

struct dkim_signer;

/*
 * Load the account's DKIM settings and keys.  An account without
 * dkim_key lines yields *out = NULL and 0 (nothing to sign).  Errors are
 * ERR_CONFIG: dkim_key without dkim_domain, a bad selector, domain, type,
 * canonicalisation or header list, or any key dkim_key_load() refuses.
 * Keys are ordered rsa first, then ed25519, each in the order given.
 * Caller frees with dkim_signer_free().
 */
int dkim_signer_load(const struct account *a, struct dkim_signer **out,
    struct err *e);

/* Add x= (signature expiry) this many seconds after t=; 0: no x= (the
 * default). */
void dkim_signer_set_expire(struct dkim_signer *s, unsigned long long secs);

void dkim_signer_free(struct dkim_signer *s);

/*
 * Compute one DKIM-Signature field per key for the given header fields
 * and body (size bytes of body_fd, see dkim_body_hash_fd()).  now is t=
 * (-1: the current time).  headers, if not NULL, is the exact h= list
 * ("from:to:subject"; it must name From); otherwise h= names each field of
 * the account's list (default: RFC 6376 section 5.4.1 plus Message-ID,
 * MIME-Version, Content-Type, Content-Transfer-Encoding) once per
 * occurrence, then each oversigned name (From, plus dkim_oversign or by
 * default Subject, To, Cc, Date, Reply-To, Message-ID, MIME-Version,
 * Content-Type, Content-Transfer-Encoding) once per occurrence if the list
 * did not name it, and once more, so that adding one breaks the
 * signature.  The fields (folded, without final CRLF, caller frees each) go
 * into sigs[0..*nsigs-1], the one to put topmost first.  ERR_DATA if the
 * message has no From field.
 */
int dkim_sign_fields(const struct dkim_signer *s,
    const struct dkim_field *fields, size_t nfields, int body_fd,
    unsigned long long size, long long now, const char *headers,
    char *sigs[DKIM_MAX_KEYS], size_t *nsigs, struct err *e);

/*
 * Sign m in place: prepend the DKIM-Signature fields (rsa topmost).  Call
 * it last, on the bytes that go on the wire.  s == NULL does nothing.  On
 * failure no field was added (unless message_prepend() refused a field we
 * made, which would be a bug: then some may have been).
 */
int dkim_sign_message(const struct dkim_signer *s, struct message *m,
    long long now, const char *headers, struct err *e);

/* ---- verification ---- */

/*
 * A TXT lookup: put the record text for name (e.g.
 * "sel._domainkey.example.com", no final dot), its strings joined, into
 * txt (cleared first).  Returns 0, or -1 with ERR_NOINPUT (no such
 * record) or ERR_TEMP (try again later).
 */
typedef int dkim_lookup_fn(void *arg, const char *name, struct buf *txt,
    struct err *e);

/* Live DNS through dns.c (the system's resolvers, no DNSSEC validation,
 * as before); arg is unused. */
#define DKIM_DNS_TIMEOUT_MS 10000
int dkim_dns_txt(void *arg, const char *name, struct buf *txt, struct err *e);

struct dkim_result {
	int pass;
	/* "pass d=example.com s=sel a=rsa-sha256" or "fail ...: why";
	 * printable ASCII only. */
	char line[512];
};

/*
 * Verify every DKIM-Signature field among fields (topmost first) against
 * the body.  now (-1: the current time) is used for x=.  *res (caller
 * frees) gets one result per signature, in field order; *nres may be 0.
 * At most 16 are checked: one more result then fails ("not checked") and
 * the rest are ignored.  An h= tag may name at most 256 fields.
 * Returns -1 only when the body cannot be read (ERR_IO); a signature that
 * fails is a result, not an error.
 */
int dkim_verify_fields(const struct dkim_field *fields, size_t nfields,
    int body_fd, unsigned long long size, long long now, dkim_lookup_fn *lookup,
    void *arg, struct dkim_result **res, size_t *nres, struct err *e);

/* As dkim_verify_fields() for a message. */
int dkim_verify_message(const struct message *m, long long now,
    dkim_lookup_fn *lookup, void *arg, struct dkim_result **res, size_t *nres,
    struct err *e);

/*
 * ARC (RFC 8617 5.2) with the same code: verify instance inst's
 * ARC-Message-Signature (a DKIM signature without v=, i= the instance)
 * and ARC-Seal (relaxed, over the ARC sets 1..inst in order, its own b=
 * empty) of m; one result each in *ams and *seal (lines as above).  A
 * set with a field missing or doubled fails.  Returns -1 only when the
 * body cannot be read (ERR_IO).
 */
int dkim_verify_arc(const struct message *m, unsigned inst, long long now,
    dkim_lookup_fn *lookup, void *arg, struct dkim_result *ams,
    struct dkim_result *seal, struct err *e);

/*
 * A published key record (TXT text, len bytes) checked as a verifier
 * would for alg (for the doctor): NULL if usable, else the reason (bad
 * tags, k=/h= that do not fit, bad p= encoding, RSA under 1024 bits).
 * *bits gets the RSA key's size when it parsed (0 otherwise).
 */
const char *dkim_key_record_check(const char *txt, size_t len,
    enum dkim_alg alg, unsigned *bits);

#endif
