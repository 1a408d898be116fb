/*
 * sasl.c -- SMTP AUTH mechanisms: the choice, and the client messages.
 * The only file that includes gsasl.h.
 *
 * Purpose: pick the strongest mechanism both sides have and produce the
 * base64 client messages; smtp.c moves them over the wire.  SCRAM-*,
 * PLAIN and LOGIN are computed by libgsasl; XOAUTH2 and OAUTHBEARER
 * (RFC 7628) are a single client message built here.
 *
 * Non-goals: security layers (TLS protects the session), CRAM-MD5,
 * DIGEST-MD5, NTLM, GSSAPI (obsolete or out of scope: refused as
 * unsupported when forced).
 *
 * Invariants: no credential is used without TLS (sasl_choose() refuses);
 * -PLUS mechanisms only with channel binding data; every copy of a secret
 * is wiped before it is freed.
 *
 * SCRAM's SaltedPassword (RFC 5802 section 3: PBKDF2 of the SASLprep'ed
 * password, the server's salt and iteration count) is computed here with
 * GnuTLS's gnutls_pbkdf2() (nettle) and handed to libgsasl through its
 * GSASL_SCRAM_SALTED_PASSWORD property: libgsasl's own PBKDF2 was 84% of
 * the instructions of a whole SCRAM-SHA-256 submission.  The result is the
 * same bytes; libgsasl still does the rest of SCRAM.  A server asking for
 * more than SCRAM_MAX_ITER iterations is refused instead of burning CPU.
 *
 * Failure policy: configuration mistakes are ERR_CONFIG, everything the
 * server or the exchange gets wrong is ERR_AUTH.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gsasl.h>
#include <sodium.h>

#include "buf.h"
#include "sasl.h"
#include "state.h"

#define M_PLUS 0x01  /* needs channel binding */
#define M_AUTO 0x02  /* chosen by "auth on" */
#define M_GSASL 0x04 /* computed by libgsasl */
#define M_IR 0x08    /* initial response with AUTH */
#define M_SCRAM 0x10 /* the server must prove itself */

#define SASL_MAX_ROUNDS 8
#define SCRAM_MAX_ITER 1000000 /* ~0.15 s of PBKDF2-SHA-256 here */
#define SCRAM_MAX_SALT 1024    /* bytes of base64 */

static const struct mech {
	const char *name;
	unsigned flags;
} mechs[] = {
    /* Strongest first: the automatic choice takes the first match. */
    {"SCRAM-SHA-256-PLUS", M_PLUS | M_AUTO | M_GSASL | M_IR | M_SCRAM},
    {"SCRAM-SHA-1-PLUS", M_PLUS | M_AUTO | M_GSASL | M_IR | M_SCRAM},
    {"SCRAM-SHA-256", M_AUTO | M_GSASL | M_IR | M_SCRAM},
    {"SCRAM-SHA-1", M_AUTO | M_GSASL | M_IR | M_SCRAM},
    {"PLAIN", M_AUTO | M_GSASL | M_IR},
    {"LOGIN", M_AUTO | M_GSASL},
    {"XOAUTH2", M_IR},
    {"OAUTHBEARER", M_IR},
};

struct sasl {
	const struct mech *m;
	Gsasl *ctx;
	Gsasl_session *sess;
	char *user;
	char *secret;
	char *host;
	unsigned port;
	int rounds;
	int complete;
	const char *refused; /* why the SCRAM parameters were refused */
	/* The SaltedPassword cache (see salted_cached()). */
	char cache[4096]; /* its file, "" without a state directory */
	/* Computed here, written once the server proves it knows it. */
	unsigned char salted[32];
	size_t saltedlen;
	unsigned char key[32]; /* SHA-256 of the fields that name the file */
	int from_cache;
};

static const struct mech *
find_mech(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (ascii_casecmp(mechs[i].name, name) == 0)
			return &mechs[i];
	return NULL;
}

/* Is name a whole word of the space-separated list (case-insensitive)? */
static int
offered(const char *list, const char *name)
{
	size_t n = strlen(name), w;

	while (*list != '\0') {
		while (*list == ' ')
			list++;
		w = strcspn(list, " ");
		if (w == n && ascii_ncasecmp(list, name, n) == 0)
			return 1;
		list += w;
	}
	return 0;
}

static const char *
choose_forced(const struct mech *m, const char *server_mechs, int have_cb,
    struct err *e)
{
	if (!offered(server_mechs, m->name)) {
		err_set(e, ERR_AUTH,
		    "the server does not offer %s (it offers: %.120s)", m->name,
		    server_mechs);
		return NULL;
	}
	if ((m->flags & M_PLUS) && !have_cb) {
		err_set(e, ERR_AUTH,
		    "%s needs channel binding, which this TLS session does not "
		    "provide",
		    m->name);
		return NULL;
	}
	return m->name;
}

/* An OAuth2 account with "auth on": RFC 7628's mechanism, else Google's
 * and Microsoft's XOAUTH2 (issue 11). */
static const char *
choose_bearer(const char *server_mechs, struct err *e)
{
	if (offered(server_mechs, "OAUTHBEARER"))
		return "OAUTHBEARER";
	if (offered(server_mechs, "XOAUTH2"))
		return "XOAUTH2";
	err_set(e, ERR_AUTH,
	    "the server offers neither OAUTHBEARER nor "
	    "XOAUTH2 (it offers: %.120s)",
	    server_mechs);
	return NULL;
}

const char *
sasl_choose(const char *server_mechs, const char *setting, int tls, int have_cb,
    struct err *e)
{
	const struct mech *m = NULL;
	size_t i;

	if (setting != NULL && ascii_casecmp(setting, "off") == 0) {
		err_set(e, ERR_SOFTWARE, "authentication is off");
		return NULL;
	}
	if (setting != NULL && ascii_casecmp(setting, "on") != 0 &&
	    ascii_casecmp(setting, SASL_BEARER) != 0 &&
	    (m = find_mech(setting)) == NULL) {
		err_set(e, ERR_CONFIG,
		    "unsupported authentication mechanism %.40s", setting);
		return NULL;
	}
	if (!tls) {
		err_set(e, ERR_CONFIG,
		    "refusing to authenticate without TLS (set tls on, or auth "
		    "off)");
		return NULL;
	}
	if (server_mechs == NULL || server_mechs[0] == '\0') {
		err_set(e, ERR_AUTH, "the server offers no authentication");
		return NULL;
	}
	if (m != NULL)
		return choose_forced(m, server_mechs, have_cb, e);
	if (setting != NULL && ascii_casecmp(setting, SASL_BEARER) == 0)
		return choose_bearer(server_mechs, e);
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		m = &mechs[i];
		if (!(m->flags & M_AUTO) || ((m->flags & M_PLUS) && !have_cb))
			continue;
		if (offered(server_mechs, m->name))
			return m->name;
	}
	err_set(e, ERR_AUTH,
	    "no authentication mechanism in common with the server (it offers: "
	    "%.120s)",
	    server_mechs);
	return NULL;
}

int
sasl_has_initial(const char *mech)
{
	const struct mech *m = find_mech(mech);

	return m != NULL && (m->flags & M_IR);
}

static int
set_cb(struct sasl *s, const unsigned char *cb, size_t cblen, int exporter,
    struct err *e)
{
	char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];

	if (cb == NULL || cblen == 0 || cblen > 64)
		return err_set(e, ERR_AUTH, "%s: no channel binding data",
		    s->m->name);
	sodium_bin2base64(b64, sizeof(b64), cb, cblen,
	    sodium_base64_VARIANT_ORIGINAL);
	gsasl_property_set(s->sess,
	    exporter ? GSASL_CB_TLS_EXPORTER : GSASL_CB_TLS_UNIQUE, b64);
	return 0;
}

/* PBKDF2 (hash of mech) of the SASLprep'ed password, salt and iterations,
 * into out (hashlen bytes; NULL: check salt and iterations only).
 * Returns a reason for refusing, or NULL. */
static const char *
pbkdf2(Gsasl_session *sess, const struct sasl *s, unsigned char *out,
    size_t hashlen)
{
	const char *iter_s = gsasl_property_fast(sess, GSASL_SCRAM_ITER);
	const char *salt_b64 = gsasl_property_fast(sess, GSASL_SCRAM_SALT);
	unsigned long long iter;
	char *salt = NULL, *prep = NULL;
	size_t saltlen = 0;
	gnutls_datum_t key, sd;
	const char *why = NULL;
	int r;

	if (iter_s == NULL || salt_b64 == NULL ||
	    parse_uint_str(iter_s, SCRAM_MAX_ITER, &iter) == -1 || iter == 0)
		return "an iteration count out of range (at most 1000000)";
	if (strlen(salt_b64) > SCRAM_MAX_SALT ||
	    gsasl_base64_from(salt_b64, strlen(salt_b64), &salt, &saltlen) !=
		GSASL_OK)
		return "a salt that is not valid base64 or too long";
	if (out == NULL) /* only the checks */
		goto out;
	if (gsasl_saslprep(s->secret, GSASL_ALLOW_UNASSIGNED, &prep, NULL) !=
	    GSASL_OK) {
		why = "a password SASLprep refuses";
		goto out;
	}
	key.data = (unsigned char *)prep;
	key.size = (unsigned)strlen(prep);
	sd.data = (unsigned char *)salt;
	sd.size = (unsigned)saltlen;
	r = gnutls_pbkdf2(hashlen == 32 ? GNUTLS_MAC_SHA256 : GNUTLS_MAC_SHA1,
	    &key, &sd, (unsigned)iter, out, hashlen);
	if (r < 0)
		why = "a PBKDF2 failure";
out:
	if (prep != NULL) {
		sodium_memzero(prep, strlen(prep));
		gsasl_free(prep);
	}
	gsasl_free(salt);
	return why;
}

/*
 * The SaltedPassword cache (RFC 5802 section 5.1 lets a client keep it).
 * One file per (mechanism, server, port, user, salt, iteration count), in
 * the state directory's scram/ (mode 0600, state.c), named by the SHA-256
 * of those fields; it holds the bytes alone.  It saves the PBKDF2 of each
 * submission (4096 iterations: about 27 M of the 55 M instructions of a
 * SCRAM-SHA-256 submission under callgrind).  A value is written only
 * after the server proved it knows the same SaltedPassword (a verified
 * server-final message, s->complete), and a cached value is removed when
 * the exchange does not end that way (the server refused it: the
 * password changed without a new salt).  A new password on the server
 * comes with a new salt and so misses the cache.  The file is worth what
 * the password is to this server (it lets its reader authenticate there,
 * not recover the password faster than from the exchange itself), which
 * is why it is as private as the configuration that holds the password.
 */
static void
cache_name(struct sasl *s, Gsasl_session *sess)
{
	const char *iter = gsasl_property_fast(sess, GSASL_SCRAM_ITER);
	const char *salt = gsasl_property_fast(sess, GSASL_SCRAM_SALT);
	crypto_hash_sha256_state h;
	unsigned char d[32];
	char port[16], hex[65];

	s->cache[0] = '\0';
	if (iter == NULL || salt == NULL)
		return;
	snprintf(port, sizeof(port), "%u", s->port);
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const unsigned char *)"scram1", 7);
	crypto_hash_sha256_update(&h, (const unsigned char *)s->m->name,
	    strlen(s->m->name) + 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)s->host,
	    strlen(s->host) + 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)port,
	    strlen(port) + 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)s->user,
	    strlen(s->user) + 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)salt,
	    strlen(salt) + 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)iter,
	    strlen(iter) + 1);
	crypto_hash_sha256_final(&h, d);
	memcpy(s->key, d, sizeof(d));
	state_hex(d, sizeof(d), hex);
	if (state_path("scram", hex, s->cache, sizeof(s->cache)) == -1)
		s->cache[0] = '\0';
}

/*
 * The file holds SaltedPassword XOR SHA-256(key fields, password): the
 * password of the configuration takes part, so a different one yields a
 * wrong value that the server refuses, as it would refuse that password
 * (and the entry goes); yet the file alone confirms no password guess
 * faster than the PBKDF2 itself (there is no check value to test a guess
 * against).
 */
static void
cache_pad(const struct sasl *s, unsigned char *p, size_t n)
{
	crypto_hash_sha256_state h;
	unsigned char pad[32];
	size_t i;

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, s->key, sizeof(s->key));
	crypto_hash_sha256_update(&h, (const unsigned char *)s->secret,
	    strlen(s->secret));
	crypto_hash_sha256_final(&h, pad);
	for (i = 0; i < n && i < sizeof(pad); i++)
		p[i] ^= pad[i];
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(&h, sizeof(h));
}

/* The cached SaltedPassword of n bytes into out: 0, or -1 (none). */
static int
salted_cached(struct sasl *s, unsigned char *out, size_t n)
{
	unsigned char *d;
	size_t len;

	if (s->cache[0] == '\0' || state_read(s->cache, 64, &d, &len) == -1)
		return -1;
	if (len != n) {
		state_free(d, len);
		state_remove(s->cache);
		return -1;
	}
	memcpy(out, d, n);
	state_free(d, len);
	cache_pad(s, out, n);
	return 0;
}

/* libgsasl asks for a property it does not have: SaltedPassword only. */
static int
property_callback(Gsasl *ctx, Gsasl_session *sess, Gsasl_property prop)
{
	struct sasl *s = gsasl_session_hook_get(sess);
	unsigned char salted[32];
	char hex[2 * sizeof(salted) + 1];
	size_t n;

	(void)ctx;
	if (prop != GSASL_SCRAM_SALTED_PASSWORD || s == NULL)
		return GSASL_NO_CALLBACK;
	n = strstr(s->m->name, "SHA-256") != NULL ? 32 : 20;
	cache_name(s, sess);
	/* The bounds on salt and iterations apply to a cached value too. */
	if ((s->refused = pbkdf2(sess, s, NULL, n)) == NULL) {
		if (salted_cached(s, salted, n) == 0)
			s->from_cache = 1;
		else
			s->refused = pbkdf2(sess, s, salted, n);
	}
	if (s->refused != NULL) {
		/* No password either: libgsasl must not compute it itself. */
		gsasl_property_set(sess, GSASL_PASSWORD, NULL);
		return GSASL_NO_CALLBACK;
	}
	memcpy(s->salted, salted, n);
	s->saltedlen = n;
	sodium_bin2hex(hex, sizeof(hex), salted, n);
	gsasl_property_set(sess, GSASL_SCRAM_SALTED_PASSWORD, hex);
	sodium_memzero(salted, sizeof(salted));
	sodium_memzero(hex, sizeof(hex));
	return GSASL_OK;
}

static int
start_gsasl(struct sasl *s, const unsigned char *cb, size_t cblen, int exporter,
    struct err *e)
{
	int r;

	if ((r = gsasl_init(&s->ctx)) != GSASL_OK) {
		s->ctx = NULL;
		return err_set(e, ERR_TEMP, "libgsasl: %s", gsasl_strerror(r));
	}
	if (!gsasl_client_support_p(s->ctx, s->m->name))
		return err_set(e, ERR_AUTH, "libgsasl does not support %s",
		    s->m->name);
	if ((r = gsasl_client_start(s->ctx, s->m->name, &s->sess)) !=
	    GSASL_OK) {
		s->sess = NULL;
		return err_set(e, ERR_AUTH, "%s: %s", s->m->name,
		    gsasl_strerror(r));
	}
	gsasl_callback_set(s->ctx, property_callback);
	gsasl_session_hook_set(s->sess, s);
	gsasl_property_set(s->sess, GSASL_AUTHID, s->user);
	gsasl_property_set(s->sess, GSASL_PASSWORD, s->secret);
	gsasl_property_set(s->sess, GSASL_SERVICE, "smtp");
	gsasl_property_set(s->sess, GSASL_HOSTNAME, s->host);
	/* Only -PLUS gets the binding: a non-PLUS SCRAM then says "n", not
	 * "y" (which would fail against a server offering -PLUS). */
	if ((s->m->flags & M_PLUS) && set_cb(s, cb, cblen, exporter, e) == -1)
		return -1;
	return 0;
}

int
sasl_start(const char *mech, const char *user, const char *secret,
    const char *host, unsigned port, const unsigned char *cb, size_t cblen,
    int exporter, struct sasl **out, struct err *e)
{
	const struct mech *m = find_mech(mech);
	struct sasl *s;

	if (m == NULL)
		return err_set(e, ERR_CONFIG,
		    "unsupported authentication mechanism %.40s", mech);
	if (user == NULL || user[0] == '\0')
		return err_set(e, ERR_CONFIG, "authentication needs a user");
	if (secret == NULL)
		return err_set(e, ERR_CONFIG, "authentication needs a %s",
		    (m->flags & M_GSASL) ? "password" : "token (password)");
	s = xcalloc(1, sizeof(*s));
	s->m = m;
	s->user = xstrdup(user);
	s->secret = xstrdup(secret);
	s->host = xstrdup(host != NULL ? host : "");
	s->port = port;
	if ((m->flags & M_GSASL) && start_gsasl(s, cb, cblen, exporter, e))
		goto fail;
	*out = s;
	return 0;
fail:
	sasl_free(s);
	return -1;
}

/* base64 of the n bytes at p, in a new string. */
static char *
b64_new(const char *p, size_t n)
{
	size_t len =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = xcalloc(1, len);

	sodium_bin2base64(out, len, (const unsigned char *)p, n,
	    sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* RFC 7628 saslname: ',' and '=' are escaped as =2C and =3D. */
static int
add_saslname(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ','	? buf_addstr(b, "=2C")
		    : *s == '=' ? buf_addstr(b, "=3D")
				: buf_addch(b, *s))
			return -1;
	}
	return 0;
}

/* The single client message of XOAUTH2 or OAUTHBEARER. */
static int
bearer_message(struct sasl *s, char **out, struct err *e)
{
	struct buf b;
	int r;

	if (strchr(s->user, '\001') || strchr(s->secret, '\001') ||
	    strchr(s->host, '\001'))
		return err_set(e, ERR_CONFIG,
		    "%s: control character in the user or token", s->m->name);
	buf_init(&b, 64 * 1024);
	if (strcmp(s->m->name, "XOAUTH2") == 0)
		r = buf_printf(&b, "user=%s\001auth=Bearer %s\001\001", s->user,
		    s->secret);
	else
		r = buf_addstr(&b, "n,a=") || add_saslname(&b, s->user) ||
		    buf_printf(&b,
			",\001host=%s\001port=%u\001auth=Bearer %s\001\001",
			s->host, s->port, s->secret);
	if (r != 0) {
		buf_wipe(&b);
		return err_set(e, ERR_CONFIG, "%s: token too long", s->m->name);
	}
	*out = b64_new(b.data, b.len);
	buf_wipe(&b);
	return 0;
}

static int
bearer_step(struct sasl *s, const char *challenge, char **out, struct err *e)
{
	if (challenge == NULL && s->rounds == 1) {
		if (bearer_message(s, out, e) == -1)
			return -1;
		s->complete = 1;
		return 0;
	}
	/*
	 * A challenge after the token carries the server's error (JSON);
	 * the client answers with an empty message (XOAUTH2) or a lone
	 * %x01 (RFC 7628 section 3.2.3) and the server then fails the AUTH.
	 */
	s->complete = 0;
	*out = xstrdup(strcmp(s->m->name, "XOAUTH2") == 0 ? "" : "AQ==");
	return 0;
}

static int
gsasl_next(struct sasl *s, const char *challenge, char **out, struct err *e)
{
	char *o = NULL;
	int r = gsasl_step64(s->sess, challenge, &o);

	if (r != GSASL_OK && r != GSASL_NEEDS_MORE) {
		if (o != NULL) {
			sodium_memzero(o, strlen(o));
			gsasl_free(o);
		}
		if (s->refused != NULL)
			return err_set(e, ERR_AUTH, "%s: the server sent %s",
			    s->m->name, s->refused);
		return err_set(e, ERR_AUTH, "%s: %s", s->m->name,
		    r == GSASL_AUTHENTICATION_ERROR
			? "the server failed to prove it knows the password"
			: gsasl_strerror(r));
	}
	s->complete = r == GSASL_OK;
	/* The server proved it knows this SaltedPassword: keep it. */
	if (s->complete && s->saltedlen > 0 && !s->from_cache &&
	    s->cache[0] != '\0') {
		cache_pad(s, s->salted, s->saltedlen);
		(void)state_write(s->cache, s->salted, s->saltedlen);
		sodium_memzero(s->salted, sizeof(s->salted));
	}
	*out = xstrdup(o != NULL ? o : "");
	if (o != NULL) {
		sodium_memzero(o, strlen(o));
		gsasl_free(o);
	}
	return 0;
}

int
sasl_step(struct sasl *s, const char *challenge, char **out, struct err *e)
{
	int r;

	if (++s->rounds > SASL_MAX_ROUNDS)
		return err_set(e, ERR_AUTH, "%s: too many rounds", s->m->name);
	if (s->m->flags & M_GSASL)
		r = gsasl_next(s, challenge, out, e);
	else
		r = bearer_step(s, challenge, out, e);
	return r;
}

int
sasl_complete(const struct sasl *s)
{
	return s->complete;
}

void
sasl_response_free(char *out)
{
	str_wipe_free(out);
}

void
sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	/* A cached value the exchange did not confirm is stale. */
	if (s->from_cache && !s->complete)
		state_remove(s->cache);
	sodium_memzero(s->salted, sizeof(s->salted));
	if (s->sess != NULL)
		gsasl_finish(s->sess);
	if (s->ctx != NULL)
		gsasl_done(s->ctx);
	str_wipe_free(s->user);
	str_wipe_free(s->secret);
	free(s->host);
	free(s);
}
