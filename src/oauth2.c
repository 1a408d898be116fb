/*
 * oauth2.c -- OAuth2 bearer tokens for SMTP AUTH (issue 11).
 *
 * Purpose: give deliver.c an access token for an account with oauth2_*
 * settings, and give --oauth2-login the interactive grants that obtain the
 * first refresh token.  Grants: refresh_token and client_credentials with
 * a client secret (RFC 6749 6, 4.4), the JWT bearer grant with a Google
 * service account's key (RFC 7523 2.1, RS256 signed with GnuTLS), the
 * device authorization grant (RFC 8628) and the authorization-code grant
 * with PKCE S256 and a loopback redirect (RFC 7636, RFC 8252 7.3).  Client
 * authentication is client_secret_post (RFC 6749 2.3.1), which Microsoft
 * and Google accept, or a private_key_jwt client assertion (RFC 7523 2.2)
 * signed with the key of a certificate registered with the provider.
 *
 * Libraries (STYLE.md: one library behind one file):
 *   - HTTPS is libcurl, Debian's GnuTLS build (libcurl4-gnutls-dev): the
 *     same TLS library and trust store handling as the rest of postseal,
 *     certificate and host name verified by curl (oauth2_trust_file, else
 *     the system store), a maintained HTTP/1.1+TLS client instead of a
 *     hand-written one.  Only https:// is allowed, no redirects are
 *     followed, every transfer has a deadline (the account's timeout) and
 *     a body larger than OAUTH2_MAX_RESPONSE aborts it.
 *   - JSON is json-c (libjson-c-dev): small, long maintained, in Debian
 *     main, with a depth limit on its tokener.  We write the state file
 *     ourselves (tokens are checked to need no escaping) so that every
 *     copy of a token we make can be wiped.
 *
 * State file (oauth2_state_file, default $XDG_STATE_HOME/postseal/oauth2/
 * ACCOUNT.json or ~/.local/state/...): one JSON object {"refresh_token",
 * "access_token", "expires_at", "obtained_at"}, mode 0600, owned by the
 * user, refused when others can read it.  Updates are written to a
 * temporary file, fsync()ed and renamed over it, then the directory is
 * fsync()ed.  Refreshing holds flock() on STATE.lock (a separate file: the
 * state file itself is replaced by rename) and re-reads the state after
 * taking it, so two processes never use the same refresh token twice and
 * a rotated refresh token is never lost.
 *
 * Non-goals (for now): token revocation, refreshing ahead of need,
 * proxies beyond libcurl's environment handling, HTTP client
 * authentication (client_secret_basic).
 *
 * Invariants: tokens and client secrets never reach the log, -v output or
 * an error text; our copies are wiped with sodium_memzero() before they
 * are freed (libcurl's and json-c's internal buffers are outside our
 * reach: we hand them as little as possible).
 *
 * Failure policy: what the user must fix (invalid_grant, consent revoked,
 * a bad client) is ERR_AUTH naming the provider's error and
 * error_description; endpoints unreachable, timeouts, 5xx, 429 and broken
 * responses are ERR_TEMP (the message stays queued); settings are
 * ERR_CONFIG.
 */
#include "oauth2.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json.h>
#include <sodium.h>

#include "buf.h"
#include "dl.h"
#include "http.h"
#include "log.h"

/* json-c, loaded by json_parser() on first use (dl.h). */
/* clang-format off */
#define JSONC_FUNCTIONS(X) X(json_object_get_int64) X(json_object_get_string) \
	X(json_object_get_string_len) X(json_object_is_type) \
	X(json_object_object_get_ex) X(json_object_put) X(json_tokener_free) \
	X(json_tokener_get_error) X(json_tokener_get_parse_end) \
	X(json_tokener_new_ex) X(json_tokener_parse_ex) \
	X(json_tokener_set_flags)
/* clang-format on */
DL_LIBRARY(JSONC_FUNCTIONS);

#define O2_URL_MAX 1024
#define O2_FORM_MAX (32 * 1024)
#define O2_SECRET_MAX 4096
#define O2_STATE_MAX (64 * 1024)
#define O2_MAX_LIFETIME (10LL * 365 * 86400)
#define O2_DEFAULT_LIFETIME 600 /* expires_in missing (RFC 6749 5.1) */
#define O2_DEVICE_DEFAULT_WAIT 900
#define O2_LOGIN_WAIT 300 /* seconds for the browser's redirect */
#define O2_REQ_MAX 8192	  /* the redirect request */

extern char **environ;

/* ---- provider presets (issue 11) ---- */

#define MS_BASE "https://login.microsoftonline.com/"

struct o2 {
	const struct account *a;
	char token_ep[O2_URL_MAX];
	char device_ep[O2_URL_MAX];
	char authz_ep[O2_URL_MAX];
	char scope[1024];
	char state[PATH_MAX];
	char lock[PATH_MAX];
	int gmail;
	int client_credentials;
	int jwt_bearer;
	unsigned timeout;
	char *secret; /* client secret or NULL; wiped */
};

static int
set_url(char *dst, const char *tenant, const char *what, struct err *e)
{
	int n = snprintf(dst, O2_URL_MAX, MS_BASE "%s/oauth2/v2.0/%s", tenant,
	    what);

	if (n < 0 || n >= O2_URL_MAX)
		return err_set(e, ERR_CONFIG, "oauth2_tenant too long");
	return 0;
}

/* Endpoints and scope from the preset; explicit settings override. */
static int
o2_presets(struct o2 *o, struct err *e)
{
	const struct account *a = o->a;
	const char *p = a->oauth2_provider ? a->oauth2_provider : "custom";
	const char *t = a->oauth2_tenant ? a->oauth2_tenant : "organizations";
	const char *scope = "";

	if (strcmp(p, "microsoft") == 0) {
		if (set_url(o->token_ep, t, "token", e) == -1 ||
		    set_url(o->device_ep, t, "devicecode", e) == -1 ||
		    set_url(o->authz_ep, t, "authorize", e) == -1)
			return -1;
		scope = o->client_credentials
			    ? "https://outlook.office365.com/.default"
			    : "https://outlook.office.com/SMTP.Send "
			      "offline_access";
	} else if (strcmp(p, "gmail") == 0) {
		/* Google refuses the mail scope for device codes. */
		str_copy(o->token_ep, "https://oauth2.googleapis.com/token",
		    O2_URL_MAX);
		str_copy(o->authz_ep,
		    "https://accounts.google.com/o/oauth2/v2/auth", O2_URL_MAX);
		scope = "https://mail.google.com/";
		o->gmail = 1;
	}
	str_copy(o->scope, scope, sizeof(o->scope));
	return 0;
}

static int
o2_override(char *dst, size_t size, const char *v, const char *what,
    struct err *e)
{
	if (v != NULL && str_copy(dst, v, size) == -1)
		return err_set(e, ERR_CONFIG, "%s too long", what);
	return 0;
}

/* A file name for the account: no '/', no leading dot. */
static int
default_state(struct o2 *o, struct err *e)
{
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	const char *name = o->a->name;
	char dir[PATH_MAX];
	int n;

	if (strchr(name, '/') != NULL || name[0] == '.')
		return err_set(e, ERR_CONFIG,
		    "account %s: set oauth2_state_file", name);
	if (x != NULL && x[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/postseal", x);
	else if (h != NULL && h[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.local/state/postseal", h);
	else
		return err_set(e, ERR_CONFIG,
		    "account %s: no HOME; set oauth2_state_file", name);
	if (n < 0 || (size_t)n + 8 >= sizeof(dir))
		return err_set(e, ERR_CONFIG, "state directory too long");
	/* Made as needed, private (the parents of $XDG_STATE_HOME too). */
	for (char *p = dir + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(dir, 0700);
			*p = '/';
		}
	(void)mkdir(dir, 0700);
	memcpy(dir + n, "/oauth2", 8);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, ERR_IO, "%s: %s", dir, strerror(errno));
	n = snprintf(o->state, sizeof(o->state), "%s/%s.json", dir, name);
	if (n < 0 || (size_t)n >= sizeof(o->state))
		return err_set(e, ERR_CONFIG, "state file name too long");
	return 0;
}

static int read_secret_file(const char *file, char **out, struct err *e);

static int
o2_secret(struct o2 *o, struct err *e)
{
	const struct account *a = o->a;

	if (a->oauth2_client_secret_file != NULL)
		return read_secret_file(a->oauth2_client_secret_file,
		    &o->secret, e);
	return config_oauth2_secret_eval(a, &o->secret, e);
}

static void
o2_free(struct o2 *o)
{
	str_wipe_free(o->secret);
	o->secret = NULL;
}

static int
o2_init(struct o2 *o, const struct account *a, struct err *e)
{
	const char *flow = a->oauth2_flow ? a->oauth2_flow : "refresh_token";
	int n;

	memset(o, 0, sizeof(*o));
	o->a = a;
	o->timeout = a->timeout ? a->timeout : 60;
	o->client_credentials = strcmp(flow, "client_credentials") == 0;
	o->jwt_bearer = strcmp(flow, "jwt_bearer") == 0;
	if (a->oauth2_client_id == NULL && !o->jwt_bearer)
		return err_set(e, ERR_CONFIG,
		    "account %s: oauth2_client_id "
		    "is not set",
		    a->name);
	if (o2_presets(o, e) == -1 ||
	    o2_override(o->token_ep, O2_URL_MAX, a->oauth2_token_endpoint,
		"oauth2_token_endpoint", e) == -1 ||
	    o2_override(o->device_ep, O2_URL_MAX, a->oauth2_device_endpoint,
		"oauth2_device_endpoint", e) == -1 ||
	    o2_override(o->authz_ep, O2_URL_MAX,
		a->oauth2_authorization_endpoint,
		"oauth2_authorization_endpoint", e) == -1 ||
	    o2_override(o->scope, sizeof(o->scope), a->oauth2_scope,
		"oauth2_scope", e) == -1)
		return -1;
	if (o->token_ep[0] == '\0')
		return err_set(e, ERR_CONFIG,
		    "account %s: oauth2_provider "
		    "custom needs oauth2_token_endpoint",
		    a->name);
	if (a->oauth2_state_file != NULL) {
		if (str_copy(o->state, a->oauth2_state_file,
			sizeof(o->state)) == -1)
			return err_set(e, ERR_CONFIG,
			    "oauth2_state_file too "
			    "long");
	} else if (default_state(o, e) == -1) {
		return -1;
	}
	n = snprintf(o->lock, sizeof(o->lock), "%s.lock", o->state);
	if (n < 0 || (size_t)n >= sizeof(o->lock))
		return err_set(e, ERR_CONFIG, "oauth2_state_file too long");
	return 0;
}

/* The client secret, when one is configured (client_credentials needs it). */
static int
o2_load_secret(struct o2 *o, struct err *e)
{
	if (o->secret == NULL && o2_secret(o, e) == -1)
		return -1;
	if (o->client_credentials && o->secret == NULL &&
	    o->a->oauth2_client_key == NULL)
		return err_set(e, ERR_CONFIG,
		    "account %s: oauth2_flow "
		    "client_credentials needs oauth2_client_secret_file or "
		    "oauth2_client_secret_eval",
		    o->a->name);
	return 0;
}

/* The two errors that say so end with "run postseal --oauth2-login -a X"
 * (and "again" for a revoked token); the ERR_CONFIG one about a broken
 * state file is a configuration error, not this. */
int
oauth2_needs_login(const struct err *e)
{
	return e->kind == ERR_AUTH &&
	       strstr(e->text, "; run postseal --oauth2-login -a ") != NULL;
}

int
oauth2_enabled(const struct account *a)
{
	return a->oauth2_provider != NULL || a->oauth2_flow != NULL;
}

/* ---- secret files: the mode rules of password-holding config files ---- */

static int
secret_mode_ok(const struct stat *st)
{
	mode_t m = st->st_mode;
	int group_ok = (m & 070) == 0 ||
		       ((m & 070) == 040 && st->st_uid == 0 && st->st_gid != 0);

	return (m & 007) == 0 && group_ok;
}

/* The whole file, at most max bytes, NUL-terminated, in *data. */
static int
read_small_file(int fd, const char *file, size_t max, struct buf *b,
    struct err *e)
{
	char chunk[4096];
	ssize_t n;
	int r = 0;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = err_set(e, ERR_IO, "%s: %s", file, strerror(errno));
			break;
		}
		if (b->len + (size_t)n > max || buf_add(b, chunk, (size_t)n)) {
			r = err_set(e, ERR_CONFIG, "%s: larger than %zu bytes",
			    file, max);
			break;
		}
	}
	sodium_memzero(chunk, sizeof(chunk));
	return r;
}

static int
open_private(const char *file, const char *what, int *fdp, struct err *e)
{
	struct stat st;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) ==
	    -1)
		return err_set(e, errno == ENOENT ? ERR_NOINPUT : ERR_CONFIG,
		    "%s: %s", file, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_CONFIG, "%s: not a regular file", file);
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return err_set(e, ERR_CONFIG,
		    "%s: owned by uid %lu; it must "
		    "belong to you or root",
		    file, (unsigned long)st.st_uid);
	}
	if (!secret_mode_ok(&st)) {
		close(fd);
		return err_set(e, ERR_CONFIG,
		    "%s: holds %s but is readable "
		    "by others; run: chmod 600 %s",
		    file, what, file);
	}
	*fdp = fd;
	return 0;
}

static int
read_secret_file(const char *file, char **out, struct err *e)
{
	struct buf b;
	int fd, r;
	size_t n;

	if (open_private(file, "a client secret", &fd, e) == -1)
		return -1;
	buf_init(&b, O2_SECRET_MAX);
	r = read_small_file(fd, file, O2_SECRET_MAX, &b, e);
	close(fd);
	n = b.len;
	while (
	    r == 0 && n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
		n--;
	if (r == 0 && (n == 0 || has_crlfnul(b.data, n)))
		r = err_set(e, ERR_CONFIG,
		    "%s: expected the client secret on "
		    "one line",
		    file);
	if (r == 0)
		*out = xstrndup(b.data, n);
	buf_wipe(&b);
	return r;
}

/* ---- token-endpoint JSON (RFC 6749 5.1, 5.2; RFC 8628 3.2) ---- */

/* Tokens go on the AUTH line and into the state file unescaped. */
static int
token_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > OAUTH2_MAX_TOKEN)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

/* A string member, or NULL when absent; *bad set when not a string. */
/*
 * A strict JSON parser nesting at most depth levels, or NULL with *why set
 * when json-c cannot be loaded.
 */
static struct json_tokener *
json_parser(int depth, const char **why)
{
	static struct err le; /* why json-c could not be loaded */
	struct json_tokener *tok;

	if (DL_LOAD(JSONC_SONAME, &le) == -1) {
		*why = le.text;
		return NULL;
	}
	if ((tok = lib.json_tokener_new_ex(depth)) == NULL)
		fatal_oom();
	return tok;
}

static const char *
member_str(struct json_object *o, const char *key, size_t *lenp, int *bad)
{
	struct json_object *v;

	if (!lib.json_object_object_get_ex(o, key, &v) ||
	    lib.json_object_is_type(v, json_type_null))
		return NULL;
	if (!lib.json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	*lenp = (size_t)lib.json_object_get_string_len(v);
	return lib.json_object_get_string(v);
}

/* A bounded non-negative integer, as a number or a numeric string (some
 * providers send "3599"); -1 when absent. */
static long long
member_int(struct json_object *o, const char *key, long long max, int *bad)
{
	struct json_object *v;
	unsigned long long u;
	int64_t i;

	if (!lib.json_object_object_get_ex(o, key, &v))
		return -1;
	if (lib.json_object_is_type(v, json_type_int)) {
		i = lib.json_object_get_int64(v);
		if (i >= 0 && i <= max)
			return (long long)i;
	} else if (lib.json_object_is_type(v, json_type_string) &&
		   parse_uint_str(lib.json_object_get_string(v),
		       (unsigned long long)max, &u) == 0) {
		return (long long)u;
	}
	*bad = 1;
	return -1;
}

/* Wipe a string member in place (json-c frees it without wiping). */
static void
member_wipe(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (lib.json_object_object_get_ex(o, key, &v) &&
	    lib.json_object_is_type(v, json_type_string))
		sodium_memzero((void *)(uintptr_t)lib.json_object_get_string(v),
		    (size_t)lib.json_object_get_string_len(v));
}

static char *
member_token(struct json_object *o, const char *key, int *bad)
{
	const char *s;
	size_t n = 0;

	if ((s = member_str(o, key, &n, bad)) == NULL)
		return NULL;
	if (!token_ok(s, n)) {
		*bad = 1;
		return NULL;
	}
	return xstrndup(s, n);
}

static void
member_text(struct json_object *o, const char *key, char *dst, size_t size,
    int *bad)
{
	const char *s;
	size_t n = 0;

	dst[0] = '\0';
	if ((s = member_str(o, key, &n, bad)) != NULL)
		log_printable(dst, size, s, n);
}

static const char *
reply_fields(struct json_object *o, struct oauth2_reply *r)
{
	int bad = 0;

	r->access_token = member_token(o, "access_token", &bad);
	r->refresh_token = member_token(o, "refresh_token", &bad);
	r->device_code = member_token(o, "device_code", &bad);
	r->expires_in = member_int(o, "expires_in", O2_MAX_LIFETIME, &bad);
	r->interval = member_int(o, "interval", 3600, &bad);
	member_text(o, "error", r->error, sizeof(r->error), &bad);
	member_text(o, "error_description", r->error_desc,
	    sizeof(r->error_desc), &bad);
	member_text(o, "user_code", r->user_code, sizeof(r->user_code), &bad);
	member_text(o, "verification_uri", r->verification_uri,
	    sizeof(r->verification_uri), &bad);
	if (r->verification_uri[0] == '\0') /* Google's older name */
		member_text(o, "verification_url", r->verification_uri,
		    sizeof(r->verification_uri), &bad);
	member_wipe(o, "access_token");
	member_wipe(o, "refresh_token");
	member_wipe(o, "device_code");
	return bad ? "a field of the wrong type or form" : NULL;
}

const char *
oauth2_parse_reply(const char *body, size_t len, struct oauth2_reply *r)
{
	struct json_tokener *tok;
	struct json_object *o;
	const char *why = NULL;

	memset(r, 0, sizeof(*r));
	r->expires_in = r->interval = -1;
	if (len == 0)
		return "an empty body";
	if (len > OAUTH2_MAX_RESPONSE || len > INT_MAX)
		return "a body too large";
	if (memchr(body, '\0', len) != NULL)
		return "a NUL byte in the body";
	if ((tok = json_parser(8, &why)) == NULL)
		return why;
	lib.json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = lib.json_tokener_parse_ex(tok, body, (int)len);
	if (o == NULL ||
	    lib.json_tokener_get_error(tok) != json_tokener_success)
		why = "malformed JSON";
	else if ((size_t)lib.json_tokener_get_parse_end(tok) != len)
		why = "data after the JSON object";
	else if (!lib.json_object_is_type(o, json_type_object))
		why = "JSON that is not an object";
	else
		why = reply_fields(o, r);
	lib.json_object_put(o);
	lib.json_tokener_free(tok);
	if (why != NULL)
		oauth2_reply_free(r);
	return why;
}

void
oauth2_reply_free(struct oauth2_reply *r)
{
	str_wipe_free(r->access_token);
	str_wipe_free(r->refresh_token);
	str_wipe_free(r->device_code);
	r->access_token = r->refresh_token = r->device_code = NULL;
}

/* ---- HTTPS POST (http.c) ---- */

/* POST the form f to url; h->body (wiped by the caller) gets the body. */
static int
http_post(const struct o2 *o, const char *url, const struct buf *f,
    struct http *h, struct err *e)
{
	struct http_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.url = url;
	rq.trust_file = o->a->oauth2_trust_file;
	rq.timeout = (long)o->timeout;
	rq.post = f->data != NULL ? f->data : "";
	rq.post_len = f->len;
	rq.accept = "application/json";
	rq.max = OAUTH2_MAX_RESPONSE;
	rq.what = "oauth2";
	return http_request(&rq, h, e);
}

/* ---- forms (application/x-www-form-urlencoded) ---- */

static int
pct_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int r = 0;

	for (p = (const unsigned char *)s; *p != '\0' && r == 0; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			r = buf_addch(b, (char)*p);
		else
			r = buf_addch(b, '%') | buf_addch(b, hex[*p >> 4]) |
			    buf_addch(b, hex[*p & 15]);
	}
	return r;
}

/* Append "&key=value" (no '&' first); a NULL value adds nothing. */
static int
form_add(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if ((b->len > 0 && buf_addch(b, '&') == -1) ||
	    buf_addstr(b, key) == -1 || buf_addch(b, '=') == -1)
		return -1;
	return pct_encode(b, value);
}

static int client_assertion(const struct o2 *o, struct buf *f, struct err *e);

/* client_id and, when there is one, client_secret (RFC 6749 2.3.1) or a
 * signed client assertion (private_key_jwt, RFC 7523 2.2).  Adds nothing
 * and fills e on failure. */
static int
form_client(struct buf *b, const struct o2 *o, struct err *e)
{
	if (form_add(b, "client_id", o->a->oauth2_client_id) != 0)
		return err_set(e, ERR_CONFIG, "token request too large");
	if (o->a->oauth2_client_key != NULL)
		return client_assertion(o, b, e);
	if (form_add(b, "client_secret", o->secret) != 0)
		return err_set(e, ERR_CONFIG, "token request too large");
	return 0;
}

/* ---- one token request: POST, parse, classify ---- */

static void
err_append(struct err *e, const char *s)
{
	size_t n = strlen(e->text);

	str_copy(e->text + n, s, sizeof(e->text) - n);
}

static int
provider_err(const struct o2 *o, const char *url, const struct oauth2_reply *r,
    long status, struct err *e)
{
	const char *a = o->a->name;
	char why[240];

	if (r->error[0] != '\0')
		snprintf(why, sizeof(why), "%s%s%s%s", r->error,
		    r->error_desc[0] ? " (" : "", r->error_desc,
		    r->error_desc[0] ? ")" : "");
	else
		snprintf(why, sizeof(why), "HTTP status %ld", status);
	if (strcmp(r->error, "invalid_grant") == 0 && !o->client_credentials &&
	    !o->jwt_bearer)
		return err_set(e, ERR_AUTH,
		    "account %s: token endpoint: %s; "
		    "run postseal --oauth2-login -a %s again",
		    a, why, a);
	if (status == 429 || status >= 500 || status == 408)
		return err_set(e, ERR_TEMP, "account %s: %s: %s%s", a, url, why,
		    status == 429 ? " (rate limited)" : "");
	if (r->error[0] != '\0' || status == 400 || status == 401)
		return err_set(e, ERR_AUTH, "account %s: token endpoint: %s", a,
		    why);
	return err_set(e, status >= 400 && status < 500 ? ERR_CONFIG : ERR_TEMP,
	    "account %s: %s: %s", a, url, why);
}

/*
 * POST f to url and parse the reply into r.  Returns 0 for a 200 with a
 * well-formed body, else fills e; for 4xx with an error field, r->error
 * is kept so callers can handle authorization_pending and slow_down.
 */
static int
token_request(const struct o2 *o, const char *url, const struct buf *f,
    struct oauth2_reply *r, struct err *e)
{
	struct http h;
	const char *why;
	char ra[48] = "";
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (http_post(o, url, f, &h, e) == 0) {
		why = oauth2_parse_reply(h.body.data, h.body.len, r);
		if (h.retry_after > 0)
			snprintf(ra, sizeof(ra), ", retry after %llu s",
			    h.retry_after);
		if (h.status == 200 && why == NULL)
			ret = 0;
		else if (h.status == 200 ||
			 (why != NULL && h.status < 500 && h.status != 429))
			err_set(e, ERR_TEMP, "account %s: %s: HTTP %ld with %s",
			    o->a->name, url, h.status, why ? why : "no token");
		else
			provider_err(o, url, r, h.status, e);
		if (ret == -1 && ra[0] != '\0')
			err_append(e, ra);
	}
	buf_wipe(&h.body);
	return ret;
}

/* ---- the state file ---- */

struct state {
	char *refresh; /* wiped */
	char *access;  /* wiped */
	long long expires_at, obtained_at;
};

static void
state_clear(struct state *s)
{
	str_wipe_free(s->refresh);
	str_wipe_free(s->access);
	memset(s, 0, sizeof(*s));
}

static const char *
state_parse(const char *p, size_t n, struct state *s)
{
	struct json_tokener *tok;
	struct json_object *o;
	const char *why = NULL;
	int bad = 0;

	if ((tok = json_parser(4, &why)) == NULL)
		return why;
	o = lib.json_tokener_parse_ex(tok, p, (int)n);
	if (o == NULL || !lib.json_object_is_type(o, json_type_object) ||
	    memchr(p, '\0', n) != NULL) {
		why = "malformed JSON";
	} else {
		s->refresh = member_token(o, "refresh_token", &bad);
		s->access = member_token(o, "access_token", &bad);
		s->expires_at =
		    member_int(o, "expires_at", INT64_MAX / 2, &bad);
		s->obtained_at =
		    member_int(o, "obtained_at", INT64_MAX / 2, &bad);
		member_wipe(o, "refresh_token");
		member_wipe(o, "access_token");
		if (bad)
			why = "a field of the wrong type or form";
	}
	lib.json_object_put(o);
	lib.json_tokener_free(tok);
	return why;
}

/* Read the state; a missing file is an empty state. */
static int
state_read(const struct o2 *o, struct state *s, struct err *e)
{
	struct buf b;
	const char *why;
	int fd, r;

	memset(s, 0, sizeof(*s));
	if (open_private(o->state, "OAuth2 tokens", &fd, e) == -1) {
		if (e->kind != ERR_NOINPUT)
			return -1;
		memset(e, 0, sizeof(*e)); /* no file yet: an empty state */
		return 0;
	}
	buf_init(&b, O2_STATE_MAX);
	r = read_small_file(fd, o->state, O2_STATE_MAX, &b, e);
	close(fd);
	if (r == 0 && b.len > 0 && (why = state_parse(b.data, b.len, s))) {
		state_clear(s);
		r = err_set(e, ERR_CONFIG,
		    "%s: %s; remove it and run "
		    "postseal --oauth2-login -a %s",
		    o->state, why, o->a->name);
	}
	buf_wipe(&b);
	return r;
}

static int
fsync_dir(const char *file)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r;

	str_copy(dir, file, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		str_copy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Write to STATE.tmp.PID, fsync, rename over STATE, fsync the directory
 * (the queue's rule: a complete file or the old one, never half). */
static int
state_store(const struct o2 *o, const struct buf *b, struct err *e)
{
	char tmp[PATH_MAX + 32];
	int fd, n, r = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", o->state, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return err_set(e, ERR_CONFIG, "oauth2_state_file too long");
	(void)unlink(tmp); /* left by a crashed run with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "%s: %s", tmp,
		    strerror(errno));
	if (fd_write_all(fd, b->data, b->len) == -1 || fsync(fd) == -1)
		r = -1;
	if (close(fd) == -1)
		r = -1;
	if (r == 0 && rename(tmp, o->state) == -1)
		r = -1;
	if (r == -1) {
		err_set(e, ERR_IO, "cannot store the tokens in %s: %s",
		    o->state, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	if (fsync_dir(o->state) == -1)
		return err_set(e, ERR_IO, "%s: fsync of its directory: %s",
		    o->state, strerror(errno));
	return 0;
}

static int
state_write(const struct o2 *o, const struct state *s, struct err *e)
{
	struct buf b;
	int r;

	buf_init(&b, O2_STATE_MAX);
	/* token_ok() tokens need no JSON escaping. */
	if (buf_printf(&b,
		"{\"refresh_token\": %s%s%s, \"access_token\": "
		"%s%s%s, \"expires_at\": %lld, \"obtained_at\": %lld}\n",
		s->refresh ? "\"" : "", s->refresh ? s->refresh : "null",
		s->refresh ? "\"" : "", s->access ? "\"" : "",
		s->access ? s->access : "null", s->access ? "\"" : "",
		s->expires_at, s->obtained_at) == -1)
		r = err_set(e, ERR_SOFTWARE, "token state too large");
	else
		r = state_store(o, &b, e);
	buf_wipe(&b);
	return r;
}

static int
state_lock(const struct o2 *o, int *fdp, struct err *e)
{
	int fd;

	fd = open(o->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "%s: %s", o->lock,
		    strerror(errno));
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			close(fd);
			return err_set(e, ERR_IO, "%s: lock: %s", o->lock,
			    strerror(errno));
		}
	}
	*fdp = fd;
	return 0;
}

static void
state_unlock(int fd)
{
	if (fd != -1)
		close(fd); /* releases the flock */
}

/* The cached access token, if still valid with the margin (issue 11:
 * the smaller of 60 s and a tenth of its lifetime). */
static int
state_usable(const struct state *s, const char *rejected)
{
	long long now = (long long)time(NULL), life, margin;

	if (s->access == NULL ||
	    (rejected != NULL && strcmp(s->access, rejected) == 0))
		return 0;
	life = s->expires_at - s->obtained_at;
	margin = life / 10 < 60 ? life / 10 : 60;
	if (margin < 0)
		margin = 0;
	return now + margin < s->expires_at;
}

/* Take what a successful token response carries; a refresh token is kept
 * unless the provider rotated it (RFC 6749 6). */
static int
state_apply(const struct o2 *o, struct state *s, struct oauth2_reply *r,
    struct err *e)
{
	long long now = (long long)time(NULL);

	if (r->access_token == NULL)
		return err_set(e, ERR_TEMP,
		    "account %s: the token endpoint "
		    "returned no access_token",
		    o->a->name);
	str_wipe_free(s->access);
	s->access = r->access_token;
	r->access_token = NULL;
	if (r->refresh_token != NULL) {
		str_wipe_free(s->refresh);
		s->refresh = r->refresh_token;
		r->refresh_token = NULL;
	}
	s->obtained_at = now;
	s->expires_at =
	    now + (r->expires_in >= 0 ? r->expires_in : O2_DEFAULT_LIFETIME);
	return 0;
}

/* ---- jwt_bearer: a Google service account (RFC 7523 2.1, 3) ---- */

#define O2_JWT_LIFETIME 3600 /* Google's maximum */

struct sa {
	char email[256];
	char *key; /* PEM; wiped */
};

/* Goes into the claims unescaped. */
static int
json_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' ||
		    *s == 0x7f)
			return 0;
	return 1;
}

static const char *
sa_parse(const char *p, size_t n, struct sa *sa)
{
	struct json_tokener *tok;
	struct json_object *o;
	const char *why = NULL, *v;
	size_t len = 0;
	int bad = 0;

	if ((tok = json_parser(4, &why)) == NULL)
		return why;
	o = lib.json_tokener_parse_ex(tok, p, (int)n);
	if (o == NULL || !lib.json_object_is_type(o, json_type_object) ||
	    memchr(p, '\0', n) != NULL) {
		why = "malformed JSON";
	} else if ((v = member_str(o, "client_email", &len, &bad)) == NULL ||
		   len >= sizeof(sa->email) || memchr(v, '\0', len) ||
		   !json_safe(v)) {
		why = "no usable client_email";
	} else {
		memcpy(sa->email, v, len + 1);
		v = member_str(o, "private_key", &len, &bad);
		if (v == NULL || len == 0 || memchr(v, '\0', len) != NULL)
			why = "no private_key";
		else
			sa->key = xstrndup(v, len);
		member_wipe(o, "private_key");
	}
	lib.json_object_put(o);
	lib.json_tokener_free(tok);
	return why;
}

static int
sa_read(const struct o2 *o, struct sa *sa, struct err *e)
{
	const char *file = o->a->oauth2_service_account_file, *why;
	struct buf b;
	int fd, r;

	memset(sa, 0, sizeof(*sa));
	if (file == NULL)
		return err_set(e, ERR_CONFIG,
		    "account %s: oauth2_flow "
		    "jwt_bearer needs oauth2_service_account_file",
		    o->a->name);
	if (open_private(file, "a private key", &fd, e) == -1)
		return e->kind == ERR_NOINPUT ? err_set(e, ERR_CONFIG, "%s: %s",
						    file, strerror(ENOENT))
					      : -1;
	buf_init(&b, O2_STATE_MAX);
	r = read_small_file(fd, file, O2_STATE_MAX, &b, e);
	close(fd);
	if (r == 0 && (why = sa_parse(b.data ? b.data : "", b.len, sa)))
		r = err_set(e, ERR_CONFIG, "%s: %s", file, why);
	buf_wipe(&b);
	return r;
}

static void
b64url(const unsigned char *in, size_t n, char *out, size_t size)
{
	sodium_bin2base64(out, size, in, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int
b64url_add(struct buf *b, const void *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *t = xcalloc(1, len);
	int r;

	sodium_bin2base64(t, len, p, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	r = buf_addstr(b, t);
	free(t);
	return r;
}

/* Append "." and the RS256 signature of the bytes of jwt so far. */
static int
jwt_sign(const char *pem, struct buf *jwt, struct err *e)
{
	gnutls_privkey_t k = NULL;
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem,
	    (unsigned)strlen(pem)};
	gnutls_datum_t data = {(unsigned char *)jwt->data, (unsigned)jwt->len};
	gnutls_datum_t sig = {NULL, 0};
	int r;

	if ((r = gnutls_privkey_init(&k)) >= 0 &&
	    (r = gnutls_privkey_import_x509_raw(k, &d, GNUTLS_X509_FMT_PEM,
		 NULL, 0)) >= 0 &&
	    gnutls_privkey_get_pk_algorithm(k, NULL) != GNUTLS_PK_RSA)
		r = GNUTLS_E_UNKNOWN_PK_ALGORITHM;
	if (r >= 0)
		r = gnutls_privkey_sign_data(k, GNUTLS_DIG_SHA256, 0, &data,
		    &sig);
	gnutls_privkey_deinit(k);
	if (r < 0)
		return err_set(e, ERR_CONFIG, "%s: private_key: %s",
		    "oauth2_service_account_file", gnutls_strerror(r));
	r = buf_addch(jwt, '.') | b64url_add(jwt, sig.data, sig.size);
	gnutls_free(sig.data);
	return r == 0 ? 0 : err_set(e, ERR_SOFTWARE, "assertion too long");
}

/* The signed assertion: iss = the service account, sub = the user whose
 * mail is sent (domain-wide delegation), aud = the token endpoint. */
static int
jwt_build(const struct o2 *o, const struct sa *sa, struct buf *jwt,
    struct err *e)
{
	static const char hdr[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	const char *user = o->a->user;
	long long now = (long long)time(NULL);
	struct buf c;
	int r;

	if (!json_safe(o->scope) || !json_safe(o->token_ep) ||
	    (user != NULL && !json_safe(user)))
		return err_set(e, ERR_CONFIG,
		    "account %s: user, scope or "
		    "token endpoint unusable in a JWT",
		    o->a->name);
	buf_init(&c, O2_FORM_MAX);
	r = buf_printf(&c,
	    "{\"iss\":\"%s\",\"scope\":\"%s\",\"aud\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld%s%s%s}",
	    sa->email, o->scope, o->token_ep, now, now + O2_JWT_LIFETIME,
	    user ? ",\"sub\":\"" : "", user ? user : "", user ? "\"" : "");
	r |= b64url_add(jwt, hdr, sizeof(hdr) - 1) | buf_addch(jwt, '.') |
	     b64url_add(jwt, c.data, c.len);
	buf_reset(&c);
	if (r != 0)
		return err_set(e, ERR_CONFIG, "assertion too long");
	return jwt_sign(sa->key, jwt, e);
}

static int
jwt_form(const struct o2 *o, struct buf *f, struct err *e)
{
	struct sa sa;
	struct buf jwt;
	int r = -1;

	if (sa_read(o, &sa, e) == -1)
		return -1;
	buf_init(&jwt, O2_FORM_MAX / 2);
	if (jwt_build(o, &sa, &jwt, e) == 0) {
		r = form_add(f, "grant_type",
			"urn:ietf:params:oauth:grant-type:jwt-bearer") |
		    form_add(f, "assertion", jwt.data);
		if (r != 0)
			r = err_set(e, ERR_CONFIG, "token request too large");
	}
	buf_wipe(&jwt);
	str_wipe_free(sa.key);
	return r;
}

/* ---- private_key_jwt: a client certificate's key (RFC 7523 2.2, 3) ---- */

static int
read_pem(const char *file, const char *what, int private, struct buf *b,
    struct err *e)
{
	int fd, r;

	buf_init(b, O2_STATE_MAX);
	if (private) {
		if (open_private(file, what, &fd, e) == -1)
			return -1;
	} else if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		return err_set(e, ERR_CONFIG, "%s: %s", file, strerror(errno));
	}
	r = read_small_file(fd, file, O2_STATE_MAX, b, e);
	close(fd);
	if (r == 0 && (b->len == 0 || memchr(b->data, '\0', b->len)))
		r = err_set(e, ERR_CONFIG, "%s: not a PEM file", file);
	return r;
}

/* x5t: the base64url SHA-1 thumbprint of the certificate, which Microsoft
 * uses to find the credential (RFC 7515 4.1.7). */
static int
cert_x5t(const char *file, char *out, size_t size, struct err *e)
{
	unsigned char fp[20];
	size_t fplen = sizeof(fp);
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	struct buf b;
	int r;

	if (read_pem(file, "a certificate", 0, &b, e) == -1) {
		buf_reset(&b);
		return -1;
	}
	d.data = (unsigned char *)b.data;
	d.size = (unsigned)b.len;
	if ((r = gnutls_x509_crt_init(&crt)) >= 0 &&
	    (r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) >= 0)
		r = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA1, fp,
		    &fplen);
	gnutls_x509_crt_deinit(crt);
	buf_reset(&b);
	if (r < 0 || fplen != sizeof(fp))
		return err_set(e, ERR_CONFIG, "%s: %s", file,
		    r < 0 ? gnutls_strerror(r) : "bad fingerprint");
	b64url(fp, fplen, out, size);
	return 0;
}

static int
assertion_build(const struct o2 *o, const char *x5t, const char *key,
    struct buf *jwt, struct err *e)
{
	const char *id = o->a->oauth2_client_id;
	long long now = (long long)time(NULL);
	unsigned char rnd[16];
	char jti[32];
	struct buf h, c;
	int r;

	if (id == NULL || !json_safe(id) || !json_safe(o->token_ep))
		return err_set(e, ERR_CONFIG,
		    "account %s: oauth2_client_id "
		    "unusable in a JWT",
		    o->a->name);
	randombytes_buf(rnd, sizeof(rnd));
	b64url(rnd, sizeof(rnd), jti, sizeof(jti));
	buf_init(&h, 256);
	buf_init(&c, O2_FORM_MAX);
	r = buf_printf(&h, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"%s\"}",
	    x5t);
	r |= buf_printf(&c,
	    "{\"aud\":\"%s\",\"iss\":\"%s\",\"sub\":\"%s\","
	    "\"jti\":\"%s\",\"nbf\":%lld,\"iat\":%lld,\"exp\":%lld}",
	    o->token_ep, id, id, jti, now, now, now + 600);
	r |= b64url_add(jwt, h.data, h.len) | buf_addch(jwt, '.') |
	     b64url_add(jwt, c.data, c.len);
	buf_reset(&h);
	buf_reset(&c);
	if (r != 0)
		return err_set(e, ERR_CONFIG, "assertion too long");
	return jwt_sign(key, jwt, e);
}

static int
client_assertion(const struct o2 *o, struct buf *f, struct err *e)
{
	char x5t[64];
	struct buf key, jwt;
	int r = -1;

	if (o->a->oauth2_client_cert == NULL) {
		err_set(e, ERR_CONFIG,
		    "account %s: oauth2_client_key needs "
		    "oauth2_client_cert",
		    o->a->name);
		return -1;
	}
	if (cert_x5t(o->a->oauth2_client_cert, x5t, sizeof(x5t), e) == -1)
		return -1;
	buf_init(&jwt, O2_FORM_MAX / 2);
	if (read_pem(o->a->oauth2_client_key, "a private key", 1, &key, e) ==
		0 &&
	    assertion_build(o, x5t, key.data, &jwt, e) == 0) {
		r = form_add(f, "client_assertion_type",
			"urn:ietf:params:oauth:client-assertion-type:"
			"jwt-bearer") |
		    form_add(f, "client_assertion", jwt.data);
		if (r != 0)
			r = err_set(e, ERR_CONFIG, "token request too large");
	}
	buf_wipe(&key);
	buf_wipe(&jwt);
	return r;
}

/* The state file's directory, made private if missing (one level). */
static void
make_parent(const char *file)
{
	char dir[PATH_MAX];
	char *slash;

	str_copy(dir, file, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0700);
	}
}

/* ---- unattended grants ---- */

/* The grant's own form fields. */
static int
grant_form(const struct o2 *o, const struct state *s, struct buf *f,
    struct err *e)
{
	int r;

	if (o->jwt_bearer)
		return jwt_form(o, f, e);
	if (o->client_credentials)
		r = form_add(f, "grant_type", "client_credentials");
	else if (s->refresh == NULL)
		return err_set(e, ERR_AUTH,
		    "account %s: no refresh token in "
		    "%s; run postseal --oauth2-login -a %s",
		    o->a->name, o->state, o->a->name);
	else
		r = form_add(f, "grant_type", "refresh_token") |
		    form_add(f, "refresh_token", s->refresh);
	if (r != 0)
		return err_set(e, ERR_CONFIG, "token request too large");
	return form_client(f, o, e);
}

static int
grant(const struct o2 *o, struct state *s, struct err *e)
{
	static const char *const names[] = {"refresh_token",
	    "client_credentials", "jwt_bearer"};
	struct oauth2_reply r;
	struct buf f;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	buf_init(&f, O2_FORM_MAX);
	if (grant_form(o, s, &f, e) == -1)
		goto out;
	if (form_add(&f, "scope", o->scope[0] ? o->scope : NULL) != 0) {
		err_set(e, ERR_CONFIG, "token request too large");
		goto out;
	}
	log_debug("oauth2: account %s: %s grant", o->a->name,
	    names[o->jwt_bearer ? 2 : o->client_credentials]);
	ret = token_request(o, o->token_ep, &f, &r, e);
	if (ret == 0)
		ret = state_apply(o, s, &r, e);
out:
	oauth2_reply_free(&r);
	buf_wipe(&f);
	return ret;
}

int
oauth2_token(const struct account *a, const char *rejected, char **out,
    struct err *e)
{
	struct state st = {0};
	struct o2 o;
	int lockfd = -1, r = -1;

	*out = NULL;
	if (o2_init(&o, a, e) == -1 || state_read(&o, &st, e) == -1)
		goto done;
	if (!state_usable(&st, rejected) && !o.client_credentials &&
	    !o.jwt_bearer && st.refresh == NULL) {
		grant(&o, &st, e); /* fills e: log in first */
		goto done;
	}
	if (!state_usable(&st, rejected)) {
		state_clear(&st);
		/* Another process may refresh now: wait for it, re-read. */
		make_parent(o.state);
		if (state_lock(&o, &lockfd, e) == -1 ||
		    state_read(&o, &st, e) == -1)
			goto done;
		if (!state_usable(&st, rejected) &&
		    (o2_load_secret(&o, e) == -1 || grant(&o, &st, e) == -1 ||
			state_write(&o, &st, e) == -1))
			goto done;
	} else {
		log_debug("oauth2: account %s: cached token valid for %lld s",
		    a->name, st.expires_at - (long long)time(NULL));
	}
	*out = xstrdup(st.access);
	r = 0;
done:
	state_unlock(lockfd);
	state_clear(&st);
	o2_free(&o);
	return r;
}

/* "2026-12-02 14:05:00 UTC" */
static void
utc_time(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, size, "@%lld", t);
}

/* The cached access token's expiry, relative and absolute. */
static void
report_expiry(const struct state *st, FILE *out)
{
	long long left = st->expires_at - (long long)time(NULL);
	char when[40];

	if (st->access == NULL) {
		fprintf(out, "    access token:  none cached\n");
		return;
	}
	utc_time(st->expires_at, when, sizeof(when));
	if (left > 0)
		fprintf(out, "    access token:  valid for %lld s (until %s)\n",
		    left, when);
	else
		fprintf(out, "    access token:  expired %lld s ago (at %s)\n",
		    -left, when);
}

/* What the last check of the grant found, in words for the report. */
static const char *
report_verdict(const struct err *e)
{
	if (oauth2_needs_login(e))
		return "FAILED (permanent: a new login is needed)";
	if (e->kind == ERR_TEMP)
		return "FAILED (temporary: a later submission or queue run "
		       "retries)";
	return "FAILED";
}

int
oauth2_report(const struct account *a, FILE *out, struct err *e)
{
	static const char *const flows[] = {"refresh_token",
	    "client_credentials", "jwt_bearer"};
	struct state st = {0};
	struct stat sb;
	struct o2 o;
	int lockfd = -1, r = -1;

	if (o2_init(&o, a, e) == -1)
		return -1;
	if (state_read(&o, &st, e) == -1)
		goto done;
	fprintf(out,
	    "OAuth2:\n    provider:      %s\n    flow:          %s\n"
	    "    token endpoint: %s\n",
	    a->oauth2_provider != NULL ? a->oauth2_provider : "custom",
	    flows[o.jwt_bearer ? 2 : o.client_credentials], o.token_ep);
	if (stat(o.state, &sb) == 0)
		fprintf(out, "    state file:    %s (mode %04o%s)\n", o.state,
		    (unsigned)(sb.st_mode & 07777),
		    secret_mode_ok(&sb) ? "" : ", TOO OPEN");
	else
		fprintf(out, "    state file:    %s (none yet)\n", o.state);
	if (!o.client_credentials && !o.jwt_bearer)
		fprintf(out, "    refresh token: %s\n",
		    st.refresh != NULL ? "stored" : "none");
	report_expiry(&st, out);
	/* Now obtain a new token exactly as a submission would when the
	 * cached one runs out: under the lock, re-read, grant, store (a
	 * rotated refresh token included). */
	state_clear(&st);
	make_parent(o.state);
	if (state_lock(&o, &lockfd, e) == 0 && state_read(&o, &st, e) == 0 &&
	    o2_load_secret(&o, e) == 0 && grant(&o, &st, e) == 0 &&
	    state_write(&o, &st, e) == 0)
		r = 0;
	if (r == 0) {
		fprintf(out, "    token grant:   ok (%s)\n",
		    o.client_credentials || o.jwt_bearer ? "new access token"
							 : "refresh works");
		report_expiry(&st, out);
	} else {
		fprintf(out, "    token grant:   %s\n", report_verdict(e));
		fprintf(out, "    error:         %s\n", e->text);
	}
done:
	state_unlock(lockfd);
	state_clear(&st);
	o2_free(&o);
	return r;
}

/* ---- --oauth2-login: the device authorization grant (RFC 8628) ---- */

static int
device_start(const struct o2 *o, struct oauth2_reply *dr, struct err *e)
{
	struct buf f;
	int r;

	buf_init(&f, O2_FORM_MAX);
	if (form_client(&f, o, e) == -1) {
		buf_wipe(&f);
		return -1;
	}
	if (form_add(&f, "scope", o->scope[0] ? o->scope : NULL) != 0) {
		buf_wipe(&f);
		return err_set(e, ERR_CONFIG, "device request too large");
	}
	r = token_request(o, o->device_ep, &f, dr, e);
	buf_wipe(&f);
	if (r == 0 &&
	    (dr->device_code == NULL || dr->user_code[0] == '\0' ||
		ascii_ncasecmp(dr->verification_uri, "https://", 8) != 0))
		r = err_set(e, ERR_TEMP,
		    "%s: incomplete device authorization "
		    "response",
		    o->device_ep);
	return r;
}

/* Poll the token endpoint until the user approved (RFC 8628 3.4, 3.5). */
static int
device_poll(const struct o2 *o, const struct oauth2_reply *dr,
    struct oauth2_reply *r, struct err *e)
{
	long long interval = dr->interval > 0 ? dr->interval : 5;
	time_t end = time(NULL) + (dr->expires_in > 0 ? dr->expires_in
						      : O2_DEVICE_DEFAULT_WAIT);
	struct buf f;
	int ret = -1;

	buf_init(&f, O2_FORM_MAX);
	if ((form_add(&f, "grant_type",
		 "urn:ietf:params:oauth:grant-type:device_code") |
		form_add(&f, "device_code", dr->device_code)) != 0)
		err_set(e, ERR_CONFIG, "token request too large");
	else if (form_client(&f, o, e) == 0)
		ret = 0;
	if (ret == -1) {
		buf_wipe(&f);
		return -1;
	}
	while (time(NULL) + interval <= end) {
		sleep((unsigned)interval);
		oauth2_reply_free(r);
		if ((ret = token_request(o, o->token_ep, &f, r, e)) == 0)
			break;
		if (strcmp(r->error, "slow_down") == 0)
			interval += 5; /* RFC 8628 3.5 */
		else if (strcmp(r->error, "authorization_pending") != 0)
			break;
		log_debug("oauth2: %s; polling every %lld s", r->error,
		    interval);
	}
	if (ret == -1 && (strcmp(r->error, "authorization_pending") == 0 ||
			     strcmp(r->error, "slow_down") == 0))
		err_set(e, ERR_AUTH,
		    "account %s: the code was not approved in "
		    "time",
		    o->a->name);
	buf_wipe(&f);
	return ret;
}

static int
login_device(const struct o2 *o, FILE *out, struct oauth2_reply *r,
    struct err *e)
{
	struct oauth2_reply dr;
	int ret;

	if (o->device_ep[0] == '\0')
		return err_set(e, ERR_CONFIG,
		    "account %s: no device "
		    "endpoint (set oauth2_device_endpoint, or use --browser)",
		    o->a->name);
	if (device_start(o, &dr, e) == -1) {
		oauth2_reply_free(&dr);
		return -1;
	}
	fprintf(stderr, "To sign in, open the address below and enter the "
			"code (both on standard output):\n");
	fprintf(out, "%s\n%s\n", dr.user_code, dr.verification_uri);
	fflush(out);
	ret = device_poll(o, &dr, r, e);
	oauth2_reply_free(&dr);
	return ret;
}

/* ---- --oauth2-login: authorization code + PKCE, loopback redirect ---- */

static int
loopback_listen(int *fdp, unsigned *portp, struct err *e)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* RFC 8252 8.3 */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(e, ERR_OS, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return err_set(e, ERR_OS, "loopback listener: %s",
		    strerror(errno));
	}
	*fdp = fd;
	*portp = ntohs(sin.sin_port);
	return 0;
}

struct pkce {
	char verifier[64]; /* 32 random bytes: 43 characters (RFC 7636 4.1) */
	char challenge[64];
	char state[32];
	char redirect[64];
};

static void
pkce_new(struct pkce *p, unsigned port)
{
	unsigned char rnd[32], h[crypto_hash_sha256_BYTES];

	randombytes_buf(rnd, sizeof(rnd));
	b64url(rnd, sizeof(rnd), p->verifier, sizeof(p->verifier));
	crypto_hash_sha256(h, (const unsigned char *)p->verifier,
	    strlen(p->verifier));
	b64url(h, sizeof(h), p->challenge, sizeof(p->challenge));
	randombytes_buf(rnd, 16);
	b64url(rnd, 16, p->state, sizeof(p->state));
	snprintf(p->redirect, sizeof(p->redirect), "http://127.0.0.1:%u/",
	    port);
	sodium_memzero(rnd, sizeof(rnd));
}

static int
authz_url(const struct o2 *o, const struct pkce *p, struct buf *u)
{
	struct buf q;
	int r;

	buf_init(&q, O2_FORM_MAX);
	r = form_add(&q, "response_type", "code") |
	    form_add(&q, "client_id", o->a->oauth2_client_id) |
	    form_add(&q, "redirect_uri", p->redirect) |
	    form_add(&q, "scope", o->scope[0] ? o->scope : NULL) |
	    form_add(&q, "state", p->state) |
	    form_add(&q, "code_challenge", p->challenge) |
	    form_add(&q, "code_challenge_method", "S256");
	if (o->gmail) /* a refresh token, every time */
		r |= form_add(&q, "access_type", "offline") |
		     form_add(&q, "prompt", "consent");
	if (r == 0)
		r = buf_addstr(u, o->authz_ep) |
		    buf_addch(u, strchr(o->authz_ep, '?') ? '&' : '?') |
		    buf_add(u, q.data, q.len);
	buf_reset(&q);
	return r;
}

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

/* Percent-decode the value of key in the query q into dst. */
static int
query_get(const char *q, const char *key, char *dst, size_t size)
{
	size_t k = strlen(key), i = 0;
	const char *p;
	int c;

	dst[0] = '\0';
	for (p = q; p != NULL && *p != '\0';
	     p = strchr(p, '&'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, k) != 0 || p[k] != '=')
			continue;
		for (p += k + 1; *p != '\0' && *p != '&' && i + 1 < size; p++) {
			if (*p == '%') {
				if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
					return -1;
				c = hexval(p[1]) * 16 + hexval(p[2]);
				p += 2;
			} else {
				c = *p == '+' ? ' ' : (unsigned char)*p;
			}
			if (c < 0x20 || c == 0x7f)
				return -1;
			dst[i++] = (char)c;
		}
		dst[i] = '\0';
		return *p == '\0' || *p == '&' ? 1 : -1;
	}
	return 0;
}

static void
respond(int fd, const char *status, const char *text)
{
	char b[512];
	int n;

	n = snprintf(b, sizeof(b),
	    "HTTP/1.1 %s\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n"
	    "%s",
	    status, strlen(text), text);
	if (n > 0 && (size_t)n < sizeof(b))
		(void)fd_write_all(fd, b, (size_t)n);
}

/* Read the request head, at most O2_REQ_MAX bytes, within 10 s. */
static int
read_request(int fd, char *req, size_t size)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size) {
		if (poll(&pfd, 1, 10000) <= 0)
			return -1;
		if ((r = read(fd, req + n, size - 1 - n)) <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n"))
			return 0;
	}
	return -1;
}

/*
 * One request to the redirect listener.  Returns 1 with the code, 0 to
 * keep waiting (another path, a wrong state: RFC 6749 10.12), -1 with e
 * filled when the provider reports an error for our state.
 */
static int
handle_request(int fd, const struct pkce *p, char *code, size_t size,
    struct err *e)
{
	char req[O2_REQ_MAX], st[64], err[64], desc[160];
	char *q, *sp;
	int r = 0;

	if (read_request(fd, req, sizeof(req)) == -1 ||
	    strncmp(req, "GET /", 5) != 0 ||
	    (sp = strchr(req + 4, ' ')) == NULL) {
		respond(fd, "400 Bad Request", "Bad request.\n");
		return 0;
	}
	*sp = '\0';
	if (req[5] != '?' && req[5] != '\0') {
		respond(fd, "404 Not Found", "Not found.\n");
		return 0;
	}
	q = req[5] == '?' ? req + 6 : req + 5;
	if (query_get(q, "state", st, sizeof(st)) != 1 ||
	    strcmp(st, p->state) != 0) {
		log_warn("oauth2: a redirect with a wrong state was ignored");
		respond(fd, "400 Bad Request", "Wrong state.\n");
		return 0;
	}
	if (query_get(q, "error", err, sizeof(err)) == 1) {
		if (query_get(q, "error_description", desc, sizeof(desc)) != 1)
			desc[0] = '\0';
		respond(fd, "200 OK", "Sign-in failed; see the terminal.\n");
		return err_set(e, ERR_AUTH, "authorization refused: %s%s%s%s",
		    err, desc[0] ? " (" : "", desc, desc[0] ? ")" : "");
	}
	if ((r = query_get(q, "code", code, size)) != 1 || code[0] == '\0') {
		respond(fd, "400 Bad Request", "No code.\n");
		r = 0;
	} else {
		respond(fd, "200 OK",
		    "Signed in; you may close this "
		    "window.\n");
	}
	sodium_memzero(req, sizeof(req));
	return r;
}

static int
wait_redirect(int lfd, const struct pkce *p, char *code, size_t size,
    struct err *e)
{
	struct pollfd pfd = {lfd, POLLIN, 0};
	time_t end = time(NULL) + O2_LOGIN_WAIT;
	int fd, r = 0;

	while (r == 0) {
		if (time(NULL) >= end ||
		    poll(&pfd, 1, 1000 * (int)(end - time(NULL) + 1)) == 0)
			return err_set(e, ERR_AUTH, "no sign-in within %d s",
			    O2_LOGIN_WAIT);
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return err_set(e, ERR_OS, "accept: %s",
			    strerror(errno));
		}
		r = handle_request(fd, p, code, size, e);
		close(fd);
	}
	return r == 1 ? 0 : -1;
}

/* Start a browser when there is a display; the URL is printed anyway. */
static void
open_browser(const char *url)
{
	posix_spawn_file_actions_t fa;
	char *argv[3];
	pid_t pid;

	if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
		return;
	argv[0] = xstrdup("xdg-open");
	argv[1] = xstrdup(url);
	argv[2] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		log_warn("cannot start a browser; open the address yourself");
	posix_spawn_file_actions_destroy(&fa);
	free(argv[0]);
	free(argv[1]);
}

static int
code_exchange(const struct o2 *o, const struct pkce *p, const char *code,
    struct oauth2_reply *r, struct err *e)
{
	struct buf f;
	int ret;

	buf_init(&f, O2_FORM_MAX);
	if ((form_add(&f, "grant_type", "authorization_code") |
		form_add(&f, "code", code) |
		form_add(&f, "redirect_uri", p->redirect) |
		form_add(&f, "code_verifier", p->verifier)) != 0) {
		buf_wipe(&f);
		return err_set(e, ERR_CONFIG, "token request too large");
	}
	if (form_client(&f, o, e) == -1) {
		buf_wipe(&f);
		return -1;
	}
	ret = token_request(o, o->token_ep, &f, r, e);
	buf_wipe(&f);
	return ret;
}

static int
login_browser(const struct o2 *o, int no_browser, FILE *out,
    struct oauth2_reply *r, struct err *e)
{
	struct pkce p;
	struct buf u;
	char code[2048];
	unsigned port = 0;
	int lfd = -1, ret = -1;

	if (o->authz_ep[0] == '\0')
		return err_set(e, ERR_CONFIG,
		    "account %s: no authorization "
		    "endpoint (set oauth2_authorization_endpoint)",
		    o->a->name);
	if (loopback_listen(&lfd, &port, e) == -1)
		return -1;
	pkce_new(&p, port);
	buf_init(&u, O2_FORM_MAX);
	if (authz_url(o, &p, &u) != 0) {
		err_set(e, ERR_CONFIG, "authorization URL too long");
	} else {
		fprintf(stderr,
		    "To sign in, open the address below (on "
		    "standard output) in a browser on this machine:\n");
		fprintf(out, "%s\n", u.data);
		fflush(out);
		if (!no_browser)
			open_browser(u.data);
		if (wait_redirect(lfd, &p, code, sizeof(code), e) == 0)
			ret = code_exchange(o, &p, code, r, e);
	}
	close(lfd);
	buf_reset(&u);
	sodium_memzero(code, sizeof(code));
	sodium_memzero(&p, sizeof(p));
	return ret;
}

static int
login_store(const struct o2 *o, struct oauth2_reply *r, struct err *e)
{
	struct state st = {0};
	int lockfd = -1, ret = -1;

	make_parent(o->state);
	if (r->refresh_token == NULL)
		return err_set(e, ERR_AUTH,
		    "account %s: the provider returned "
		    "no refresh token (does oauth2_scope ask for one, e.g. "
		    "offline_access?)",
		    o->a->name);
	if (state_lock(o, &lockfd, e) == 0 && state_apply(o, &st, r, e) == 0 &&
	    state_write(o, &st, e) == 0) {
		fprintf(stderr,
		    "Signed in; tokens for account %s stored in "
		    "%s\n",
		    o->a->name, o->state);
		ret = 0;
	}
	state_unlock(lockfd);
	state_clear(&st);
	return ret;
}

int
oauth2_login(const struct account *a, enum oauth2_login_how how, int no_browser,
    FILE *out, struct err *e)
{
	struct oauth2_reply r;
	struct o2 o;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	if (o2_init(&o, a, e) == -1 || o2_secret(&o, e) == -1)
		goto done;
	if (o.client_credentials || o.jwt_bearer) {
		err_set(e, ERR_USAGE,
		    "account %s: oauth2_flow %s needs no login", a->name,
		    a->oauth2_flow);
		goto done;
	}
	if (how == OAUTH2_LOGIN_AUTO)
		how = o.device_ep[0] != '\0' ? OAUTH2_LOGIN_DEVICE
					     : OAUTH2_LOGIN_BROWSER;
	if (how == OAUTH2_LOGIN_DEVICE)
		ret = login_device(&o, out, &r, e);
	else
		ret = login_browser(&o, no_browser, out, &r, e);
	if (ret == 0)
		ret = login_store(&o, &r, e);
done:
	oauth2_reply_free(&r);
	o2_free(&o);
	return ret;
}
