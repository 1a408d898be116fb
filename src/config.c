/*
 * config.c -- the configuration: msmtp-compatible files to a const
 * struct config.
 *
 * Purpose: read one main file plus one account per file in an accounts/
 * directory beside it, apply msmtp's inheritance rules, fill in secure
 * defaults, and refuse anything that would weaken security or could
 * smuggle CR/LF into the protocol.
 *
 * Files (config_load(NULL, ...)):
 *   1. user: $XDG_CONFIG_HOME/postseal/config (XDG_CONFIG_HOME must be
 *      absolute, else ~/.config is used; ~ is the passwd entry's home, not
 *      $HOME) and every file named *.conf in the accounts directory
 *      beside it;
 *   2. if the user has neither: SYSCONFDIR_POSTSEAL/config and accounts/;
 *   3. if neither exists: ~/.msmtprc.
 * With -C FILE only FILE is read, plus the accounts/ directory beside it
 * when FILE's basename is "config" (so an msmtprc passed with -C never
 * picks up unrelated files).
 *
 * Syntax (msmtp's): "keyword value" per line; blank lines and lines whose
 * first non-blank character is '#' are ignored ('#' elsewhere is part of
 * the value, so passwords may hold it).  A value enclosed in double quotes
 * loses them; inside, \" and \\ stand for " and \ (any other backslash is
 * kept).  An on/off keyword without a value means "on".  "defaults" starts
 * settings inherited by every later account; "account NAME [: A, B]"
 * starts an account that inherits the defaults as they were at that line,
 * then A's and B's settings (later ones win), then its own lines.  Parents
 * may be defined later or in accounts/ (msmtp requires them earlier).
 * "host a, b" or repeated host lines in one section give up to
 * CONFIG_MAX_HOSTS smarthosts, tried in order.
 *
 * Files in accounts/ (sorted by name, "*.conf" only) each hold exactly one
 * account and may not hold "defaults"; they inherit the main file's
 * defaults.
 *
 * Durations (queue_backoff, queue_max_age, delay_warning_time) are seconds, or
 * a number with one suffix s, m, h or d.  Sizes (max_message_size) are bytes,
 * or a number with k, m or g (powers of 1024).
 *
 * Secure defaults, filled after inheritance: tls on, tls_certcheck on,
 * implicit TLS on port 465; with tls_starttls on, port 587; with tls off,
 * port 25.  When tls_starttls is not set but a port other than 465 is,
 * STARTTLS is used (an msmtprc with "port 587" and "tls on" means that).
 * auth on whenever user is set, timeout 60 s, EHLO domain = the FQDN.
 *
 * Permissions: every file must belong to the user or root and must not be
 * writable by group or others (it can run commands through passwordeval),
 * and neither may any directory it is in, up to "/", as named or resolved
 * (sticky ones such as /tmp excepted); the same for DKIM and TLS client
 * keys (config_check_private()), and others may not read a key.  A file
 * holding a password is refused if (mode & 007) != 0, or if (mode & 070)
 * is anything but group-read on a root-owned file whose group is not root
 * (a deliberate group, as in 0640 root:mail); the user's own files must
 * be 0600 or 0400.
 *
 * Account choice (config_find): -a NAME; else the first account whose
 * "from" matches the envelope sender (fnmatch globs; the domain part
 * case-insensitively); else the account "default"; else the only account
 * if there is just one.
 *
 * passwordeval runs with execvp() when the command is plain words
 * (letters, digits, blanks, -_./,:@+=%^ and a leading ~/), else with
 * /bin/sh -c; stdin is /dev/null; its stdout (at most 64 KiB) must be one
 * line, whose final LF or CRLF is dropped; a non-zero exit is ERR_CONFIG
 * with the first line of its stderr.
 *
 * msmtp keywords we do not implement are ignored with a warning when that
 * is harmless; ones whose loss would weaken security or change where mail
 * goes (tls_crl_file, proxy_host, proxy_port, socket, eval, protocol lmtp)
 * are refused.
 *
 * Non-goals: msmtp's system-plus-user merging, netrc and keyrings,
 * settings from the environment or the command line, a passwordeval
 * time limit (gpg-agent may wait for the user).
 *
 * Invariants: after config_load() no string in the struct holds CR, LF or
 * NUL; every account has its defaults filled in; secrets are only in
 * "password" fields and are wiped when freed.  Lines are at most
 * CONF_LINE_MAX bytes, read into one preallocated buffer that is wiped.
 *
 * Failure policy: every problem is ERR_CONFIG (exit 78) with "file:line:"
 * where a line is to blame; nothing is guessed or skipped silently.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "installdirs.h"
#include "socks.h"

#define CONF_LINE_MAX (64 * 1024) /* long enough for OAuth tokens */
#define CONF_MAX_ACCOUNTS 1000	  /* in all files together */
#define CONF_EVAL_OUT_MAX (64 * 1024)
#define CONF_EVAL_ERR_MAX 4096
#define DEFAULT_TIMEOUT 60
#define MAX_TIMEOUT 3600
#define DEFAULT_BACKOFF_MIN 60
#define DEFAULT_BACKOFF_MAX 3600
#define DEFAULT_MAX_AGE (5 * 86400)
#define DEFAULT_DELAY_WARN (4 * 3600)
#define DEFAULT_FAILED_MAX_AGE (30 * 86400)
#define DEFAULT_TIMEOUT_DATA_END 600 /* RFC 5321 4.5.3.2.6 */
#define MAX_DURATION (365 * 86400)

/* ---- the fields of struct account, for inheritance and freeing ---- */

enum ftype {
	F_STR,	  /* char * */
	F_SECRET, /* password and passwordeval: one setting, two pointers */
	F_INT,
	F_UINT,
	F_UINT2, /* two unsigned set together */
	F_ULL,
	F_SETHDR,
	F_HOSTS,
	F_DKIM,
};

enum fid {
	FID_HOSTS,
	FID_PORT,
	FID_DOMAIN,
	FID_TIMEOUT,
	FID_FROM,
	FID_MAILDOMAIN,
	FID_ALIASES,
	FID_ALIASES_HEADERS,
	FID_REWRITE_LOCAL_FROM,
	FID_SET_FROM,
	FID_SET_DATE,
	FID_SET_MSGID,
	FID_REMOVE_BCC,
	FID_UNDISCLOSED,
	FID_DSN_NOTIFY,
	FID_DSN_RETURN,
	FID_TLS,
	FID_STARTTLS,
	FID_CERTCHECK,
	FID_TRUST_FILE,
	FID_FINGERPRINT,
	FID_CERT_FILE,
	FID_KEY_FILE,
	FID_PRIORITIES,
	FID_HOST_OVERRIDE,
	FID_AUTH,
	FID_USER,
	FID_SECRET,
	FID_LOGFILE,
	FID_SYSLOG,
	FID_DKIM_DOMAIN,
	FID_DKIM_KEYS,
	FID_DKIM_CANON,
	FID_DKIM_HEADERS,
	FID_DKIM_OVERSIGN,
	FID_DKIM_ON_ERROR,
	FID_QUEUE_DIR,
	FID_BACKOFF,
	FID_MAX_AGE,
	FID_RATE,
	FID_BOUNCE,
	FID_MAX_SIZE,
	FID_ALLOW_FROM,
	FID_DKIM_EXPIRE,
	FID_8BITMIME,
	FID_DELAY_WARN, /* issue 9 */
	FID_TIMEOUT_DATA_END,
	FID_FAILED_MAX_AGE,
	FID_DNS_SERVER,
	FID_DNSBL_ZONES,
	FID_OAUTH2_PROVIDER,
	FID_OAUTH2_TENANT,
	FID_OAUTH2_CLIENT_ID,
	FID_OAUTH2_SECRET,
	FID_OAUTH2_TOKEN_EP,
	FID_OAUTH2_DEVICE_EP,
	FID_OAUTH2_AUTHZ_EP,
	FID_OAUTH2_SCOPE,
	FID_OAUTH2_FLOW,
	FID_OAUTH2_TRUST_FILE,
	FID_OAUTH2_STATE_FILE,
	FID_OAUTH2_SA_FILE,
	FID_OAUTH2_CLIENT_KEY,
	FID_OAUTH2_CLIENT_CERT,
	FID_SOURCE_IP, /* issue 16 */
	FID_PROXY,
	FID_TLS_DANE,
	FID_DNS_TRUST_ANCHOR,
	FID_GPG_HOME, /* issue 15: end-to-end protection (e2e.c) */
	FID_PGP_SIGN,
	FID_SMIME_SIGN,
	FID_PGP_ENCRYPT,
	FID_SMIME_ENCRYPT,
	FID_E2E_HEADERS,
	FID_AUTOCRYPT,
	FID_PGP_PASSEVAL,
	FID_COUNT,
	FID_NONE = -1,
};

struct field {
	enum ftype type;
	size_t off, off2;
};

#define FLD(t, m)                                                              \
	{                                                                      \
		t, offsetof(struct account, m), 0                              \
	}
#define FLD2(t, m, n)                                                          \
	{                                                                      \
		t, offsetof(struct account, m), offsetof(struct account, n)    \
	}

static const struct field fields[FID_COUNT] = {
    [FID_HOSTS] = {F_HOSTS, 0, 0},
    [FID_PORT] = FLD(F_UINT, port),
    [FID_DOMAIN] = FLD(F_STR, domain),
    [FID_TIMEOUT] = FLD(F_UINT, timeout),
    [FID_FROM] = FLD(F_STR, from),
    [FID_MAILDOMAIN] = FLD(F_STR, maildomain),
    [FID_ALIASES] = FLD(F_STR, aliases),
    [FID_ALIASES_HEADERS] = FLD(F_INT, aliases_headers),
    [FID_REWRITE_LOCAL_FROM] = FLD(F_INT, rewrite_local_from),
    [FID_SET_FROM] = FLD(F_SETHDR, set_from_header),
    [FID_SET_DATE] = FLD(F_SETHDR, set_date_header),
    [FID_SET_MSGID] = FLD(F_SETHDR, set_msgid_header),
    [FID_REMOVE_BCC] = FLD(F_INT, remove_bcc_headers),
    [FID_UNDISCLOSED] = FLD(F_INT, undisclosed_recipients),
    [FID_DSN_NOTIFY] = FLD(F_STR, dsn_notify),
    [FID_DSN_RETURN] = FLD(F_STR, dsn_return),
    [FID_TLS] = FLD(F_INT, tls),
    [FID_STARTTLS] = FLD(F_INT, tls_starttls),
    [FID_CERTCHECK] = FLD(F_INT, tls_certcheck),
    [FID_TRUST_FILE] = FLD(F_STR, tls_trust_file),
    [FID_FINGERPRINT] = FLD(F_STR, tls_fingerprint),
    [FID_CERT_FILE] = FLD(F_STR, tls_cert_file),
    [FID_KEY_FILE] = FLD(F_STR, tls_key_file),
    [FID_PRIORITIES] = FLD(F_STR, tls_priorities),
    [FID_HOST_OVERRIDE] = FLD(F_STR, tls_host_override),
    [FID_AUTH] = FLD(F_STR, auth),
    [FID_USER] = FLD(F_STR, user),
    [FID_SECRET] = FLD2(F_SECRET, password, passwordeval),
    [FID_LOGFILE] = FLD(F_STR, logfile),
    [FID_SYSLOG] = FLD(F_STR, syslog),
    [FID_DKIM_DOMAIN] = FLD(F_STR, dkim_domain),
    [FID_DKIM_KEYS] = {F_DKIM, 0, 0},
    [FID_DKIM_CANON] = FLD(F_STR, dkim_canon),
    [FID_DKIM_HEADERS] = FLD(F_STR, dkim_headers),
    [FID_DKIM_OVERSIGN] = FLD(F_STR, dkim_oversign),
    [FID_DKIM_ON_ERROR] = FLD(F_INT, dkim_on_error_send),
    [FID_QUEUE_DIR] = FLD(F_STR, queue_dir),
    [FID_BACKOFF] = FLD2(F_UINT2, queue_backoff_min, queue_backoff_max),
    [FID_MAX_AGE] = FLD(F_UINT, queue_max_age),
    [FID_RATE] = FLD2(F_UINT2, rate_limit_count, rate_limit_period),
    [FID_BOUNCE] = FLD(F_INT, bounce_notices),
    [FID_MAX_SIZE] = FLD(F_ULL, max_message_size),
    [FID_ALLOW_FROM] = FLD(F_INT, allow_from_override),
    [FID_DKIM_EXPIRE] = FLD(F_UINT, dkim_expire),
    [FID_8BITMIME] = FLD(F_INT, smtp_8bitmime),
    [FID_DELAY_WARN] = FLD(F_UINT, delay_warning_time),
    [FID_TIMEOUT_DATA_END] = FLD(F_UINT, timeout_data_end),
    [FID_FAILED_MAX_AGE] = FLD(F_UINT, failed_max_age),
    [FID_DNS_SERVER] = FLD(F_STR, dns_server),
    [FID_DNSBL_ZONES] = FLD(F_STR, dnsbl_zones),
    [FID_TLS_DANE] = FLD(F_INT, tls_dane),
    [FID_DNS_TRUST_ANCHOR] = FLD(F_STR, dns_trust_anchor),
    [FID_OAUTH2_PROVIDER] = FLD(F_STR, oauth2_provider),
    [FID_OAUTH2_TENANT] = FLD(F_STR, oauth2_tenant),
    [FID_OAUTH2_CLIENT_ID] = FLD(F_STR, oauth2_client_id),
    [FID_OAUTH2_SECRET] =
	FLD2(F_SECRET, oauth2_client_secret_file, oauth2_client_secret_eval),
    [FID_OAUTH2_TOKEN_EP] = FLD(F_STR, oauth2_token_endpoint),
    [FID_OAUTH2_DEVICE_EP] = FLD(F_STR, oauth2_device_endpoint),
    [FID_OAUTH2_AUTHZ_EP] = FLD(F_STR, oauth2_authorization_endpoint),
    [FID_OAUTH2_SCOPE] = FLD(F_STR, oauth2_scope),
    [FID_OAUTH2_FLOW] = FLD(F_STR, oauth2_flow),
    [FID_OAUTH2_TRUST_FILE] = FLD(F_STR, oauth2_trust_file),
    [FID_OAUTH2_STATE_FILE] = FLD(F_STR, oauth2_state_file),
    [FID_OAUTH2_SA_FILE] = FLD(F_STR, oauth2_service_account_file),
    [FID_OAUTH2_CLIENT_KEY] = FLD(F_STR, oauth2_client_key),
    [FID_OAUTH2_CLIENT_CERT] = FLD(F_STR, oauth2_client_cert),
    [FID_SOURCE_IP] = FLD(F_STR, source_ip),
    [FID_PROXY] = FLD(F_STR, proxy),
    [FID_GPG_HOME] = FLD(F_STR, gpg_home),
    [FID_PGP_SIGN] = FLD(F_STR, pgp_sign),
    [FID_SMIME_SIGN] = FLD(F_STR, smime_sign),
    [FID_PGP_ENCRYPT] = FLD(F_INT, pgp_encrypt),
    [FID_SMIME_ENCRYPT] = FLD(F_INT, smime_encrypt),
    [FID_E2E_HEADERS] = FLD(F_INT, e2e_protect_headers),
    [FID_AUTOCRYPT] = FLD(F_INT, autocrypt),
    [FID_PGP_PASSEVAL] = FLD(F_STR, pgp_passphrase_eval),
};

/* A set of fields (which were given a value), one bit per field id. */
#define FSET_WORDS 2
struct fset {
	uint64_t w[FSET_WORDS];
};

_Static_assert(FID_COUNT <= 64 * FSET_WORDS, "widen FSET_WORDS");

static int
fset_has(const struct fset *s, int fid)
{
	return (int)((s->w[fid / 64] >> (fid % 64)) & 1);
}

static void
fset_add(struct fset *s, int fid)
{
	s->w[fid / 64] |= (uint64_t)1 << (fid % 64);
}

static void
fset_union(struct fset *dst, const struct fset *src)
{
	for (size_t i = 0; i < FSET_WORDS; i++)
		dst->w[i] |= src->w[i];
}

/* Settings of one section, or an account's resolved settings. */
struct layer {
	struct account a;
	struct fset set; /* every field given a value */
};

/* An account as read, before inheritance is resolved. */
struct pending {
	char *name;
	const char *file;
	unsigned line;
	char **parents;
	size_t nparents;
	struct layer base; /* the defaults as they were at the account line */
	struct layer own;  /* its own lines */
	struct layer res;  /* base + parents + own */
	enum { P_NEW, P_BUSY, P_DONE } state;
};

struct loader {
	struct config *c;
	struct layer defaults;
	struct pending *acct;
	size_t nacct, cap;
	char *home; /* from the passwd entry; NULL if unknown */
};

#define CUR_NONE (-2)
#define CUR_DEFAULTS (-1)

/* One file being read. */
struct ctx {
	struct loader *ld;
	const char *file; /* owned by ld->c->files */
	unsigned line;
	struct stat st;
	int accounts_file; /* a file from accounts/ */
	int naccounts;	   /* account lines in this file */
	long cur;	   /* CUR_NONE, CUR_DEFAULTS or an index in ld->acct */
	struct fset section_set; /* fields given in the current section */
	int perm_checked;
	struct err *e;
};

static int perr(const struct ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
perr(const struct ctx *cx, const char *fmt, ...)
{
	char msg[sizeof(cx->e->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cx->line == 0)
		return err_set(cx->e, ERR_CONFIG, "%s: %s", cx->file, msg);
	return err_set(cx->e, ERR_CONFIG, "%s:%u: %s", cx->file, cx->line, msg);
}

/* ---- layers ---- */

static char **
str_at(struct account *a, size_t off)
{
	return (char **)(void *)((char *)a + off);
}

static const char *const *
cstr_at(const struct account *a, size_t off)
{
	return (const char *const *)(const void *)((const char *)a + off);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
hosts_clear(struct account *a)
{
	size_t i;

	for (i = 0; i < a->nhosts; i++) {
		free(a->hosts[i]);
		a->hosts[i] = NULL;
	}
	a->nhosts = 0;
}

static void
dkim_clear(struct account *a)
{
	size_t i;

	for (i = 0; i < a->ndkim_keys; i++) {
		free(a->dkim_keys[i].selector);
		free(a->dkim_keys[i].type);
		free(a->dkim_keys[i].file);
	}
	memset(a->dkim_keys, 0, sizeof(a->dkim_keys));
	a->ndkim_keys = 0;
}

/* Free the value of one field (wiping strings: one may be a secret). */
static void
field_free(struct account *a, int fid)
{
	const struct field *f = &fields[fid];

	switch (f->type) {
	case F_SECRET:
		str_wipe_free(*str_at(a, f->off2));
		*str_at(a, f->off2) = NULL;
		/* FALLTHROUGH */
	case F_STR:
		str_wipe_free(*str_at(a, f->off));
		*str_at(a, f->off) = NULL;
		break;
	case F_HOSTS:
		hosts_clear(a);
		break;
	case F_DKIM:
		dkim_clear(a);
		break;
	default:
		break;
	}
}

static void
copy_lists(struct account *d, const struct account *s, enum ftype type)
{
	size_t i;

	if (type == F_HOSTS) {
		for (i = 0; i < s->nhosts; i++)
			d->hosts[i] = xstrdup(s->hosts[i]);
		d->nhosts = s->nhosts;
		return;
	}
	for (i = 0; i < s->ndkim_keys; i++) {
		d->dkim_keys[i].selector = xstrdup(s->dkim_keys[i].selector);
		d->dkim_keys[i].type = xstrdup(s->dkim_keys[i].type);
		d->dkim_keys[i].file = xstrdup(s->dkim_keys[i].file);
	}
	d->ndkim_keys = s->ndkim_keys;
}

/* Give d's field fid the value it has in s. */
static void
field_copy(struct account *d, const struct account *s, int fid)
{
	const struct field *f = &fields[fid];
	char *dp = (char *)d;
	const char *sp = (const char *)s;

	field_free(d, fid);
	switch (f->type) {
	case F_SECRET:
		*str_at(d, f->off2) = dup_or_null(*cstr_at(s, f->off2));
		/* FALLTHROUGH */
	case F_STR:
		*str_at(d, f->off) = dup_or_null(*cstr_at(s, f->off));
		break;
	case F_INT:
		memcpy(dp + f->off, sp + f->off, sizeof(int));
		break;
	case F_UINT2:
		memcpy(dp + f->off2, sp + f->off2, sizeof(unsigned));
		/* FALLTHROUGH */
	case F_UINT:
		memcpy(dp + f->off, sp + f->off, sizeof(unsigned));
		break;
	case F_ULL:
		memcpy(dp + f->off, sp + f->off, sizeof(unsigned long long));
		break;
	case F_SETHDR:
		memcpy(dp + f->off, sp + f->off, sizeof(enum set_header));
		break;
	case F_HOSTS:
	case F_DKIM:
		copy_lists(d, s, f->type);
		break;
	}
}

/* Everything set in src overrides dst (msmtp's override_account()). */
static void
layer_merge(struct layer *dst, const struct layer *src)
{
	int fid;

	for (fid = 0; fid < FID_COUNT; fid++)
		if (fset_has(&src->set, fid))
			field_copy(&dst->a, &src->a, fid);
	fset_union(&dst->set, &src->set);
}

static void
account_clear(struct account *a)
{
	int fid;

	for (fid = 0; fid < FID_COUNT; fid++)
		field_free(a, fid);
	free(a->name);
	a->name = NULL;
}

static void
layer_set_str(struct layer *l, int fid, const char *v)
{
	field_free(&l->a, fid);
	*str_at(&l->a, fields[fid].off) = dup_or_null(v);
	fset_add(&l->set, fid);
}

static void
layer_set_int(struct layer *l, int fid, int v)
{
	memcpy((char *)&l->a + fields[fid].off, &v, sizeof(v));
	fset_add(&l->set, fid);
}

static void
layer_set_uint(struct layer *l, int fid, unsigned v)
{
	memcpy((char *)&l->a + fields[fid].off, &v, sizeof(v));
	fset_add(&l->set, fid);
}

/* ---- value checks ---- */

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static char *
trim(char *s)
{
	char *end;

	while (is_blank((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_blank((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Host or domain name, or an address literal such as [192.0.2.1]. */
static int
valid_domain(const char *s)
{
	size_t n = strlen(s);
	const char *p;

	if (n == 0 || n > 255)
		return 0;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']' &&
		       strspn(s + 1, "0123456789abcdefABCDEFIPv6:.") == n - 2;
	for (p = s; *p != '\0'; p++)
		if (!is_alnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
	return s[0] != '.' && s[0] != '-';
}

/* A smarthost: a name or a literal address (IPv6 with or without []). */
static int
valid_host(const char *s)
{
	if (strchr(s, ':') != NULL && s[0] != '[')
		return strspn(s, "0123456789abcdefABCDEF:.") == strlen(s);
	return valid_domain(s);
}

static int
parse_onoff(const char *v, int *on)
{
	if (*v == '\0' || ascii_casecmp(v, "on") == 0)
		*on = 1;
	else if (ascii_casecmp(v, "off") == 0)
		*on = 0;
	else
		return -1;
	return 0;
}

/* "~" or "~/..." at the start of a file name is the home directory. */
static int
expand_tilde(const struct ctx *cx, const char *v, char **out)
{
	struct buf b;

	if (v[0] != '~' || (v[1] != '/' && v[1] != '\0')) {
		*out = xstrdup(v);
		return 0;
	}
	if (cx->ld->home == NULL)
		return perr(cx, "cannot expand ~: no home directory");
	buf_init(&b, 2 * CONF_LINE_MAX);
	if (buf_addstr(&b, cx->ld->home) == -1 || buf_addstr(&b, v + 1) == -1)
		fatal_oom();
	*out = buf_steal(&b, NULL);
	if (*out == NULL)
		fatal_oom();
	return 0;
}

/* Split v in place at blanks into at most max words; -1 if more. */
static int
split_words(char *v, char **w, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (is_blank((unsigned char)*v))
			*v++ = '\0';
		if (*v == '\0')
			return (int)n;
		if (n == max)
			return -1;
		w[n++] = v;
		while (*v != '\0' && !is_blank((unsigned char)*v))
			v++;
	}
}

/* "90", "90s", "15m", "2h", "5d": seconds, at most max. */
static int
parse_duration(const char *s, unsigned max, unsigned *out)
{
	unsigned long long v, mult = 1;
	const char *p = s;

	if (parse_uint(&p, MAX_DURATION, &v) == -1)
		return -1;
	switch (*p) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -1;
	}
	if (*p != '\0' && p[1] != '\0')
		return -1;
	if (v * mult > max)
		return -1;
	*out = (unsigned)(v * mult);
	return 0;
}

/* "1000000", "512k", "25m", "1g". */
static int
parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mult = 1;
	const char *p = s;

	if (parse_uint(&p, 1ULL << 40, &v) == -1)
		return -1;
	if (*p == 'k' || *p == 'K')
		mult = 1024;
	else if (*p == 'm' || *p == 'M')
		mult = 1024 * 1024;
	else if (*p == 'g' || *p == 'G')
		mult = 1024 * 1024 * 1024;
	else if (*p != '\0')
		return -1;
	if ((*p != '\0' && p[1] != '\0') || v > (1ULL << 40) / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* A colon-separated list of header field names (RFC 5322 ftext). */
static int
valid_header_list(const char *s)
{
	const char *p;
	int empty = 1;

	for (p = s; *p != '\0'; p++) {
		if (*p == ':') {
			if (empty)
				return 0;
			empty = 1;
		} else if ((unsigned char)*p <= 32 ||
			   (unsigned char)*p >= 127) {
			return 0;
		} else {
			empty = 0;
		}
	}
	return !empty;
}

/* ---- keywords ---- */

struct keyword;
typedef int kw_fn(struct ctx *, struct layer *, const struct keyword *, char *);

struct keyword {
	const char *name;
	int fid; /* the field it sets, or FID_NONE */
	kw_fn *fn;
	int arg;	 /* meaning depends on fn */
	const char *why; /* for unsupported keywords */
};

/* kw_value() flags */
#define V_REQ 0x1     /* an empty value is an error (else: unset) */
#define V_NOBLANK 0x2 /* no blanks in the value */
#define V_FILE 0x4    /* a file name: ~ is expanded */
#define V_DOMAIN 0x8  /* a domain name */

/* kw_unsupported() policies */
#define U_WARN 0       /* ignored with a warning */
#define U_REFUSE_SET 1 /* refused unless empty or "off" */
#define U_REFUSE_OFF 2 /* refused when "off" (we always behave as "on") */
#define U_WARN_ON 3    /* warning when "on", silent when "off" */

static int
kw_value(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	char *exp = NULL;

	if (*v == '\0') {
		if (k->arg & V_REQ)
			return perr(cx, "%s needs a value", k->name);
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	if ((k->arg & V_NOBLANK) && strpbrk(v, " \t") != NULL)
		return perr(cx, "%s: the value must not contain blanks",
		    k->name);
	if ((k->arg & V_DOMAIN) && !valid_domain(v))
		return perr(cx, "%s: '%s' is not a valid domain name", k->name,
		    v);
	if ((k->arg & V_FILE) && expand_tilde(cx, v, &exp) == -1)
		return -1;
	layer_set_str(l, k->fid, exp != NULL ? exp : v);
	free(exp);
	return 0;
}

/* arg 1: the keyword means the opposite of the field (keepbcc). */
static int
kw_bool(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	int on;

	if (parse_onoff(v, &on) == -1)
		return perr(cx, "%s expects on or off, not '%s'", k->name, v);
	layer_set_int(l, k->fid, k->arg ? !on : on);
	return 0;
}

/* msmtp 1.2's tls_nostarttls and tls_nocertcheck: no value, field off. */
static int
kw_flag_off(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (*v != '\0')
		return perr(cx, "%s takes no value", k->name);
	layer_set_int(l, k->fid, 0);
	return 0;
}

static int
kw_sethdr(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	enum set_header h;

	if (ascii_casecmp(v, "auto") == 0)
		h = SETHDR_AUTO;
	else if (*v == '\0' || ascii_casecmp(v, "on") == 0)
		h = SETHDR_ON;
	else if (ascii_casecmp(v, "off") == 0)
		h = SETHDR_OFF;
	else
		return perr(cx, "%s expects auto, on or off, not '%s'", k->name,
		    v);
	memcpy((char *)&l->a + fields[k->fid].off, &h, sizeof(h));
	fset_add(&l->set, k->fid);
	return 0;
}

/* msmtp's add_missing_from_header/add_missing_date_header: on = auto. */
static int
kw_add_missing(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	int on;
	enum set_header h;

	if (parse_onoff(v, &on) == -1)
		return perr(cx, "%s expects on or off, not '%s'", k->name, v);
	h = on ? SETHDR_AUTO : SETHDR_OFF;
	memcpy((char *)&l->a + fields[k->fid].off, &h, sizeof(h));
	fset_add(&l->set, k->fid);
	return 0;
}

/*
 * "host a, b" appends; the first host line of a section replaces what the
 * section inherited.
 */
static int
kw_host(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	char *p = v, *comma;

	if (*v == '\0')
		return perr(cx, "%s needs a value", k->name);
	if (!(fset_has(&cx->section_set, FID_HOSTS)))
		hosts_clear(&l->a);
	for (;;) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		p = trim(p);
		if (!valid_host(p))
			return perr(cx, "host: '%s' is not a host name", p);
		if (l->a.nhosts == CONFIG_MAX_HOSTS)
			return perr(cx, "host: more than %d hosts",
			    CONFIG_MAX_HOSTS);
		l->a.hosts[l->a.nhosts++] = xstrdup(p);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	fset_add(&l->set, FID_HOSTS);
	return 0;
}

static int
kw_port(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	unsigned long long n;

	if (parse_uint_str(v, 65535, &n) == -1 || n == 0)
		return perr(cx, "%s: '%s' is not a port number (1-65535)",
		    k->name, v);
	layer_set_uint(l, k->fid, (unsigned)n);
	return 0;
}

static int
kw_timeout(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	unsigned long long n;

	if (ascii_casecmp(v, "off") == 0) {
		log_warn("%s:%u: timeouts cannot be turned off; using %d s",
		    cx->file, cx->line, DEFAULT_TIMEOUT);
		layer_set_uint(l, k->fid, DEFAULT_TIMEOUT);
		return 0;
	}
	if (parse_uint_str(v, MAX_TIMEOUT, &n) == -1 || n == 0)
		return perr(cx, "%s: '%s' is not a number of seconds (1-%d)",
		    k->name, v, MAX_TIMEOUT);
	layer_set_uint(l, k->fid, (unsigned)n);
	return 0;
}

static const char *const auth_mechs[] = {
    "plain",
    "login",
    "cram-md5",
    "digest-md5",
    "scram-sha-1",
    "scram-sha-1-plus",
    "scram-sha-256",
    "scram-sha-256-plus",
    "gssapi",
    "external",
    "ntlm",
    "oauthbearer",
    "xoauth2",
};

/* "on" (choose), "off", or a mechanism, stored upper case ("PLAIN"). */
static int
kw_auth(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	size_t i;
	char *p;

	if (*v == '\0' || ascii_casecmp(v, "on") == 0) {
		layer_set_str(l, k->fid, "on");
		return 0;
	}
	if (ascii_casecmp(v, "off") == 0) {
		layer_set_str(l, k->fid, "off");
		return 0;
	}
	for (i = 0; i < sizeof(auth_mechs) / sizeof(auth_mechs[0]); i++)
		if (ascii_casecmp(v, auth_mechs[i]) == 0)
			break;
	if (i == sizeof(auth_mechs) / sizeof(auth_mechs[0]))
		return perr(cx, "auth: unknown method '%s'", v);
	for (p = v; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	layer_set_str(l, k->fid, v);
	return 0;
}

/* See the permission rules at the top of this file. */
static int
check_secret_perms(struct ctx *cx)
{
	mode_t m = cx->st.st_mode;
	int group_ok;

	if (cx->perm_checked)
		return 0;
	group_ok = (m & 070) == 0 || ((m & 070) == 040 && cx->st.st_uid == 0 &&
					 cx->st.st_gid != 0);
	if ((m & 007) != 0 || !group_ok)
		return err_set(cx->e, ERR_CONFIG,
		    "%s: holds a password but is readable by others; "
		    "run: chmod 600 %s",
		    cx->file, cx->file);
	cx->perm_checked = 1;
	return 0;
}

/* arg 0: password; arg 1: passwordeval.  Setting one unsets the other. */
static int
kw_secret(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (k->arg == 0 && *v != '\0' && check_secret_perms(cx) == -1)
		return -1;
	field_free(&l->a, FID_SECRET);
	if (*v != '\0') {
		if (k->arg == 0)
			l->a.password = xstrdup(v);
		else
			l->a.passwordeval = xstrdup(v);
	}
	fset_add(&l->set, FID_SECRET);
	return 0;
}

/* "system" (or nothing) is the system trust store, NULL in the struct. */
static int
kw_trust_file(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (*v == '\0' || strcmp(v, "system") == 0) {
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	return kw_value(cx, l, k, v);
}

/* SHA-256 only: 64 hex digits, or 32 pairs separated by colons. */
static int
kw_fingerprint(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	size_t i, n = strlen(v), digits = 0;
	int colons = n > 2 && v[2] == ':';

	if (n == 0) {
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (colons && i % 3 == 2) {
			if (v[i] != ':')
				break;
		} else if (strchr("0123456789abcdefABCDEF", v[i]) != NULL) {
			digits++;
		} else {
			break;
		}
	}
	if (i == n && (digits == 40 || digits == 32))
		return perr(cx, "tls_fingerprint: SHA-1 and MD5 fingerprints "
				"are not accepted; use the SHA-256 one");
	if (i != n || digits != 64 || (colons && n != 95))
		return perr(cx, "tls_fingerprint: expected a SHA-256 "
				"fingerprint (64 hex digits, colons allowed)");
	layer_set_str(l, k->fid, v);
	return 0;
}

/* "off", "never", or a list of success, failure, delay (RFC 3461). */
static int
kw_dsn_notify(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	static const char *const conds[] = {"success", "failure", "delay"};
	const char *w[3];
	char *p, *comma;
	size_t i, j, n = 0;

	if (*v == '\0' || ascii_casecmp(v, "off") == 0) {
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	for (p = v; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (strcmp(v, "never") == 0) {
		layer_set_str(l, k->fid, "never");
		return 0;
	}
	for (p = v;; p = comma + 1) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		for (i = 0; i < 3 && strcmp(p, conds[i]) != 0; i++)
			;
		for (j = 0; i < 3 && j < n && w[j] != conds[i]; j++)
			;
		if (i == 3 || j < n)
			return perr(cx, "dsn_notify: expected off, never, or "
					"a list of success, failure, delay");
		w[n++] = conds[i];
		if (comma == NULL)
			break;
		*comma = ',';
	}
	layer_set_str(l, k->fid, v);
	return 0;
}

/* "off", "headers" (or sendmail's "hdrs"), "full"; stored hdrs/full. */
static int
kw_dsn_return(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (*v == '\0' || ascii_casecmp(v, "off") == 0)
		layer_set_str(l, k->fid, NULL);
	else if (ascii_casecmp(v, "headers") == 0 ||
		 ascii_casecmp(v, "hdrs") == 0)
		layer_set_str(l, k->fid, "hdrs");
	else if (ascii_casecmp(v, "full") == 0)
		layer_set_str(l, k->fid, "full");
	else
		return perr(cx, "dsn_return: expected off, headers or full");
	return 0;
}

/* "on" is LOG_MAIL (msmtp uses LOG_USER; we are a mail program). */
static int
kw_syslog(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	char name[32];
	const char *p;
	size_t i;
	int on;

	if (parse_onoff(v, &on) == 0) {
		layer_set_str(l, k->fid, on ? "LOG_MAIL" : NULL);
		return 0;
	}
	if (log_facility(v) == -1)
		return perr(cx,
		    "syslog: expected on, off or a facility such "
		    "as LOG_MAIL, not '%s'",
		    v);
	p = ascii_ncasecmp(v, "LOG_", 4) == 0 ? v + 4 : v;
	str_copy(name, "LOG_", sizeof(name));
	for (i = 4; *p != '\0' && i + 1 < sizeof(name); p++, i++)
		name[i] =
		    (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
	name[i] = '\0';
	layer_set_str(l, k->fid, name);
	return 0;
}

/* "-" is standard error. */
static int
kw_logfile(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (strcmp(v, "-") == 0) {
		layer_set_str(l, k->fid, "-");
		return 0;
	}
	return kw_value(cx, l, k, v);
}

static int
valid_selector(const char *s)
{
	const char *p;

	if (*s == '\0' || strlen(s) > 63)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!is_alnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
	return 1;
}

/* "dkim_key SELECTOR rsa|ed25519 FILE", repeatable within a section. */
static int
kw_dkim_key(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	struct dkim_keyspec *ks;
	char *w[3], *file = NULL;

	if (split_words(v, w, 3) != 3)
		return perr(cx, "dkim_key: expected SELECTOR rsa|ed25519 FILE");
	if (!valid_selector(w[0]))
		return perr(cx, "dkim_key: '%s' is not a valid selector", w[0]);
	if (strcmp(w[1], "rsa") != 0 && strcmp(w[1], "ed25519") != 0)
		return perr(cx,
		    "dkim_key: key type must be rsa or ed25519, "
		    "not '%s'",
		    w[1]);
	if (!(fset_has(&cx->section_set, k->fid)))
		dkim_clear(&l->a);
	if (l->a.ndkim_keys == CONFIG_MAX_DKIM_KEYS)
		return perr(cx, "dkim_key: more than %d keys",
		    CONFIG_MAX_DKIM_KEYS);
	if (expand_tilde(cx, w[2], &file) == -1)
		return -1;
	ks = &l->a.dkim_keys[l->a.ndkim_keys++];
	ks->selector = xstrdup(w[0]);
	ks->type = xstrdup(w[1]);
	ks->file = file;
	fset_add(&l->set, k->fid);
	return 0;
}

/* "relaxed", "simple", "relaxed/simple", ... (RFC 6376 section 3.4). */
static int
kw_dkim_canon(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	char *slash = strchr(v, '/');
	int ok;

	if (slash != NULL)
		*slash = '\0';
	ok = strcmp(v, "relaxed") == 0 || strcmp(v, "simple") == 0;
	if (slash != NULL) {
		ok = ok && (strcmp(slash + 1, "relaxed") == 0 ||
			       strcmp(slash + 1, "simple") == 0);
		*slash = '/';
	}
	if (!ok)
		return perr(cx, "dkim_canon: expected relaxed or simple, or "
				"header/body such as relaxed/simple");
	layer_set_str(l, k->fid, v);
	return 0;
}

static int
kw_header_list(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	if (*v == '\0') {
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	if (!valid_header_list(v))
		return perr(cx,
		    "%s: expected header names separated by "
		    "colons, such as from:to:subject",
		    k->name);
	layer_set_str(l, k->fid, v);
	return 0;
}

static int
kw_dkim_on_error(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	if (strcmp(v, "send") == 0)
		layer_set_int(l, k->fid, 1);
	else if (strcmp(v, "fail") == 0)
		layer_set_int(l, k->fid, 0);
	else
		return perr(cx, "dkim_on_error: expected send or fail");
	return 0;
}

/* "queue_backoff MIN MAX": the first retry after MIN, doubling to MAX. */
static int
kw_backoff(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	char *w[2];
	unsigned lo, hi;

	if (split_words(v, w, 2) != 2 ||
	    parse_duration(w[0], MAX_DURATION, &lo) == -1 ||
	    parse_duration(w[1], MAX_DURATION, &hi) == -1 || lo == 0 || hi < lo)
		return perr(cx, "queue_backoff: expected MIN MAX durations "
				"with 0 < MIN <= MAX, such as 1m 1h");
	l->a.queue_backoff_min = lo;
	l->a.queue_backoff_max = hi;
	fset_add(&l->set, k->fid);
	return 0;
}

static int
kw_duration(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	unsigned d;

	if (parse_duration(v, MAX_DURATION, &d) == -1 || d == 0)
		return perr(cx, "%s: expected a duration such as 90m or 5d",
		    k->name);
	layer_set_uint(l, k->fid, d);
	return 0;
}

/* A duration where 0 or "off" turns the feature off (delay_warning_time). */
static int
kw_duration_off(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	unsigned d;

	if (ascii_casecmp(v, "off") == 0)
		d = 0;
	else if (parse_duration(v, MAX_DURATION, &d) == -1)
		return perr(cx, "%s: expected a duration such as 4h, or off",
		    k->name);
	layer_set_uint(l, k->fid, d);
	return 0;
}

/* "N/minute", "N/hour", "N/day"; "off" for none. */
static int
kw_rate(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	static const struct {
		const char *unit;
		unsigned secs;
	} units[] = {{"minute", 60}, {"hour", 3600}, {"day", 86400}};
	unsigned long long n = 0;
	const char *p = v;
	size_t i = 0;

	if (ascii_casecmp(v, "off") != 0) {
		if (parse_uint(&p, 1000000, &n) == -1 || n == 0 || *p++ != '/')
			i = sizeof(units) / sizeof(units[0]);
		for (; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(p, units[i].unit) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return perr(cx, "rate_limit: expected N/minute, "
					"N/hour, N/day or off");
	}
	l->a.rate_limit_count = (unsigned)n;
	l->a.rate_limit_period = n != 0 ? units[i].secs : 0;
	fset_add(&l->set, k->fid);
	return 0;
}

static int
kw_size(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	unsigned long long n;

	if (parse_size(v, &n) == -1)
		return perr(cx,
		    "%s: expected a size in bytes (k, m, g "
		    "suffixes allowed)",
		    k->name);
	l->a.max_message_size = n;
	fset_add(&l->set, k->fid);
	return 0;
}

/* tls_dane off|on|auto (CONFIG_DANE_*). */
static int
kw_tls_dane(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	int mode;

	if (strcmp(v, "auto") == 0)
		mode = CONFIG_DANE_AUTO;
	else if (strcmp(v, "on") == 0)
		mode = CONFIG_DANE_ON;
	else if (strcmp(v, "off") == 0)
		mode = CONFIG_DANE_OFF;
	else
		return perr(cx, "%s expects on, off or auto, not '%s'", k->name,
		    v);
	layer_set_int(l, k->fid, mode);
	return 0;
}

static int
kw_protocol(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	(void)l;
	(void)k;
	if (strcmp(v, "smtp") == 0)
		return 0;
	if (strcmp(v, "lmtp") == 0)
		return perr(cx, "protocol lmtp is not supported");
	return perr(cx, "protocol: expected smtp");
}

/* msmtp keywords postseal does not implement; see the top of this file. */
static int
kw_unsupported(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	int off = *v == '\0' || ascii_casecmp(v, "off") == 0;
	int on = *v == '\0' || ascii_casecmp(v, "on") == 0;

	(void)l;
	if ((k->arg == U_REFUSE_SET && !off) || (k->arg == U_REFUSE_OFF && !on))
		return perr(cx, "%s is not supported: %s", k->name, k->why);
	if (k->arg == U_WARN || (k->arg == U_WARN_ON && !off))
		log_warn("%s:%u: ignoring %s: %s", cx->file, cx->line, k->name,
		    k->why);
	return 0;
}

/* ---- OAuth2 keywords (issue 11) ---- */

static const char *const oauth2_choices[][4] = {
    {"microsoft", "gmail", "custom", NULL},
    {"refresh_token", "client_credentials", "jwt_bearer", NULL},
};

/* arg: the row of oauth2_choices the value must be one of. */
static int
kw_oauth2_choice(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	const char *const *c = oauth2_choices[k->arg];
	size_t i;

	if (*v == '\0') {
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	for (i = 0; c[i] != NULL; i++)
		if (strcmp(v, c[i]) == 0) {
			layer_set_str(l, k->fid, v);
			return 0;
		}
	return perr(cx, "%s: unknown value '%s'", k->name, v);
}

/* Endpoints are https:// URLs without blanks (RFC 6749 3.1, 3.2). */
static int
kw_oauth2_url(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (*v != '\0' &&
	    (ascii_ncasecmp(v, "https://", 8) != 0 || v[8] == '\0'))
		return perr(cx, "%s: expected an https:// URL", k->name);
	return kw_value(cx, l, k, v);
}

/* source_ip: a literal IPv4 or IPv6 address (net.c binds it). */
static int
kw_source_ip(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	unsigned char a[sizeof(struct in6_addr)];

	if (*v != '\0' && inet_pton(AF_INET, v, a) != 1 &&
	    inet_pton(AF_INET6, v, a) != 1)
		return perr(cx, "%s: '%s' is not an IPv4 or IPv6 address",
		    k->name, v);
	return kw_value(cx, l, k, v);
}

/* proxy: a SOCKS5 URL (socks.h).  One with a password is a secret: the
 * file's permissions are those of a password, and the URL is never
 * quoted in a message. */
static int
kw_proxy(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	struct socks_proxy px;
	const char *why;
	int secret;

	if (*v == '\0') {
		layer_set_str(l, k->fid, NULL);
		return 0;
	}
	why = socks_parse_url(v, &px);
	secret = why == NULL && px.pass[0] != '\0';
	socks_proxy_wipe(&px);
	if (why != NULL)
		return perr(cx, "%s: %s", k->name, why);
	if (secret && check_secret_perms(cx) == -1)
		return -1;
	layer_set_str(l, k->fid, v);
	return 0;
}

/* arg 0: oauth2_client_secret_file; 1: ..._eval.  One unsets the other. */
static int
kw_oauth2_secret(struct ctx *cx, struct layer *l, const struct keyword *k,
    char *v)
{
	char *exp = NULL;

	if (k->arg == 0 && *v != '\0' && expand_tilde(cx, v, &exp) == -1)
		return -1;
	field_free(&l->a, FID_OAUTH2_SECRET);
	if (*v != '\0') {
		if (k->arg == 0)
			l->a.oauth2_client_secret_file = xstrdup(exp ? exp : v);
		else
			l->a.oauth2_client_secret_eval = xstrdup(v);
	}
	free(exp);
	fset_add(&l->set, FID_OAUTH2_SECRET);
	return 0;
}

/* ---- end-to-end protection keywords (issue 15) ---- */

/* pgp_encrypt, smime_encrypt: never, opportunistic or always. */
static int
kw_encrypt(struct ctx *cx, struct layer *l, const struct keyword *k, char *v)
{
	if (strcmp(v, "never") == 0)
		layer_set_int(l, k->fid, CONF_ENCRYPT_NEVER);
	else if (strcmp(v, "opportunistic") == 0)
		layer_set_int(l, k->fid, CONF_ENCRYPT_OPPORTUNISTIC);
	else if (strcmp(v, "always") == 0)
		layer_set_int(l, k->fid, CONF_ENCRYPT_ALWAYS);
	else
		return perr(cx, "%s: expected never, opportunistic or always",
		    k->name);
	return 0;
}

/* Grouped by topic; looked up linearly. */
static const struct keyword keywords[] = {
    {"host", FID_HOSTS, kw_host, 0, NULL},
    {"port", FID_PORT, kw_port, 0, NULL},
    {"timeout", FID_TIMEOUT, kw_timeout, 0, NULL},
    {"connect_timeout", FID_TIMEOUT, kw_timeout, 0, NULL}, /* msmtp 1.4 */
    {"timeout_data_end", FID_TIMEOUT_DATA_END, kw_timeout, 0, NULL},
    {"source_ip", FID_SOURCE_IP, kw_source_ip, 0, NULL},
    {"proxy", FID_PROXY, kw_proxy, 0, NULL},
    {"domain", FID_DOMAIN, kw_value, V_DOMAIN, NULL},
    {"from", FID_FROM, kw_value, V_NOBLANK, NULL},
    {"maildomain", FID_MAILDOMAIN, kw_value, V_DOMAIN, NULL},
    {"aliases", FID_ALIASES, kw_value, V_FILE, NULL},
    {"aliases_headers", FID_ALIASES_HEADERS, kw_bool, 0, NULL},
    {"rewrite_local_from", FID_REWRITE_LOCAL_FROM, kw_bool, 0, NULL},
    {"set_from_header", FID_SET_FROM, kw_sethdr, 0, NULL},
    {"set_date_header", FID_SET_DATE, kw_sethdr, 0, NULL},
    {"set_msgid_header", FID_SET_MSGID, kw_sethdr, 0, NULL},
    {"add_missing_from_header", FID_SET_FROM, kw_add_missing, 0, NULL},
    {"add_missing_date_header", FID_SET_DATE, kw_add_missing, 0, NULL},
    {"remove_bcc_headers", FID_REMOVE_BCC, kw_bool, 0, NULL},
    {"keepbcc", FID_REMOVE_BCC, kw_bool, 1, NULL}, /* msmtp < 1.8 */
    {"undisclosed_recipients", FID_UNDISCLOSED, kw_bool, 0, NULL},
    {"dsn_notify", FID_DSN_NOTIFY, kw_dsn_notify, 0, NULL},
    {"dsn_return", FID_DSN_RETURN, kw_dsn_return, 0, NULL},
    {"tls", FID_TLS, kw_bool, 0, NULL},
    {"tls_starttls", FID_STARTTLS, kw_bool, 0, NULL},
    {"tls_nostarttls", FID_STARTTLS, kw_flag_off, 0, NULL}, /* 1.2 */
    {"tls_certcheck", FID_CERTCHECK, kw_bool, 0, NULL},
    {"tls_nocertcheck", FID_CERTCHECK, kw_flag_off, 0, NULL}, /* 1.2 */
    {"tls_trust_file", FID_TRUST_FILE, kw_trust_file, V_FILE, NULL},
    {"tls_fingerprint", FID_FINGERPRINT, kw_fingerprint, 0, NULL},
    {"tls_cert_file", FID_CERT_FILE, kw_value, V_FILE, NULL},
    {"tls_key_file", FID_KEY_FILE, kw_value, V_FILE, NULL},
    {"tls_priorities", FID_PRIORITIES, kw_value, 0, NULL},
    {"tls_host_override", FID_HOST_OVERRIDE, kw_value, V_DOMAIN, NULL},
    {"tls_dane", FID_TLS_DANE, kw_tls_dane, 0, NULL},
    {"auth", FID_AUTH, kw_auth, 0, NULL},
    {"user", FID_USER, kw_value, 0, NULL},
    {"password", FID_SECRET, kw_secret, 0, NULL},
    {"passwordeval", FID_SECRET, kw_secret, 1, NULL},
    {"logfile", FID_LOGFILE, kw_logfile, V_FILE, NULL},
    {"syslog", FID_SYSLOG, kw_syslog, 0, NULL},
    {"dkim_domain", FID_DKIM_DOMAIN, kw_value, V_DOMAIN, NULL},
    {"dkim_key", FID_DKIM_KEYS, kw_dkim_key, 0, NULL},
    {"dkim_canon", FID_DKIM_CANON, kw_dkim_canon, 0, NULL},
    {"dkim_headers", FID_DKIM_HEADERS, kw_header_list, 0, NULL},
    {"dkim_oversign", FID_DKIM_OVERSIGN, kw_header_list, 0, NULL},
    {"dkim_on_error", FID_DKIM_ON_ERROR, kw_dkim_on_error, 0, NULL},
    {"queue_dir", FID_QUEUE_DIR, kw_value, V_FILE | V_REQ, NULL},
    {"queue_backoff", FID_BACKOFF, kw_backoff, 0, NULL},
    {"queue_max_age", FID_MAX_AGE, kw_duration, 0, NULL},
    {"failed_max_age", FID_FAILED_MAX_AGE, kw_duration, 0, NULL},
    {"dkim_expire", FID_DKIM_EXPIRE, kw_duration, 0, NULL},
    {"rate_limit", FID_RATE, kw_rate, 0, NULL},
    {"bounce_notices", FID_BOUNCE, kw_bool, 0, NULL},
    {"allow_from_override", FID_ALLOW_FROM, kw_bool, 0, NULL},
    {"smtp_8bitmime", FID_8BITMIME, kw_bool, 0, NULL},
    {"delay_warning_time", FID_DELAY_WARN, kw_duration_off, 0, NULL},
    {"max_message_size", FID_MAX_SIZE, kw_size, 0, NULL},
    /* issue 13: checked by dns.c when a lookup needs it */
    {"dns_server", FID_DNS_SERVER, kw_value, V_NOBLANK, NULL},
    {"dns_trust_anchor", FID_DNS_TRUST_ANCHOR, kw_value, V_FILE, NULL},
    /* issue 13: the doctor's DNSBL zones; checked when used */
    {"dnsbl_zones", FID_DNSBL_ZONES, kw_value, 0, NULL},
    {"protocol", FID_NONE, kw_protocol, 0, NULL},
    /* OAuth2 (issue 11) */
    {"oauth2_provider", FID_OAUTH2_PROVIDER, kw_oauth2_choice, 0, NULL},
    {"oauth2_tenant", FID_OAUTH2_TENANT, kw_value, V_NOBLANK, NULL},
    {"oauth2_client_id", FID_OAUTH2_CLIENT_ID, kw_value, V_NOBLANK, NULL},
    {"oauth2_client_secret_file", FID_OAUTH2_SECRET, kw_oauth2_secret, 0, NULL},
    {"oauth2_client_secret_eval", FID_OAUTH2_SECRET, kw_oauth2_secret, 1, NULL},
    {"oauth2_token_endpoint", FID_OAUTH2_TOKEN_EP, kw_oauth2_url, V_NOBLANK,
	NULL},
    {"oauth2_device_endpoint", FID_OAUTH2_DEVICE_EP, kw_oauth2_url, V_NOBLANK,
	NULL},
    {"oauth2_authorization_endpoint", FID_OAUTH2_AUTHZ_EP, kw_oauth2_url,
	V_NOBLANK, NULL},
    {"oauth2_scope", FID_OAUTH2_SCOPE, kw_value, 0, NULL},
    {"oauth2_flow", FID_OAUTH2_FLOW, kw_oauth2_choice, 1, NULL},
    {"oauth2_trust_file", FID_OAUTH2_TRUST_FILE, kw_trust_file, V_FILE, NULL},
    {"oauth2_state_file", FID_OAUTH2_STATE_FILE, kw_value, V_FILE, NULL},
    {"oauth2_service_account_file", FID_OAUTH2_SA_FILE, kw_value, V_FILE, NULL},
    {"oauth2_client_key", FID_OAUTH2_CLIENT_KEY, kw_value, V_FILE, NULL},
    {"oauth2_client_cert", FID_OAUTH2_CLIENT_CERT, kw_value, V_FILE, NULL},
    /* end-to-end protection (issue 15, e2e.c) */
    {"gpg_home", FID_GPG_HOME, kw_value, V_FILE, NULL},
    {"pgp_sign", FID_PGP_SIGN, kw_value, V_NOBLANK, NULL},
    {"smime_sign", FID_SMIME_SIGN, kw_value, V_NOBLANK, NULL},
    {"pgp_encrypt", FID_PGP_ENCRYPT, kw_encrypt, 0, NULL},
    {"smime_encrypt", FID_SMIME_ENCRYPT, kw_encrypt, 0, NULL},
    {"e2e_protect_headers", FID_E2E_HEADERS, kw_bool, 0, NULL},
    {"autocrypt", FID_AUTOCRYPT, kw_bool, 0, NULL},
    {"pgp_passphrase_eval", FID_PGP_PASSEVAL, kw_value, 0, NULL},
    /* msmtp keywords that are harmless to ignore */
    {"tls_min_dh_prime_bits", FID_NONE, kw_unsupported, U_WARN,
	"GnuTLS's defaults apply"},
    {"tls_force_sslv3", FID_NONE, kw_unsupported, U_WARN_ON,
	"SSLv3 is never used"},
    {"ntlmdomain", FID_NONE, kw_unsupported, U_WARN, "NTLM is not supported"},
    {"source_ip", FID_NONE, kw_unsupported, U_WARN,
	"the system chooses the source address"},
    {"logfile_time_format", FID_NONE, kw_unsupported, U_WARN,
	"log lines use ISO 8601 times"},
    {"from_full_name", FID_NONE, kw_unsupported, U_WARN,
	"use -F to set the full name"},
    {"auto_from", FID_NONE, kw_unsupported, U_WARN_ON, "set from or use -f"},
    /* msmtp keywords whose loss would weaken security or reroute mail */
    {"tls_crl_file", FID_NONE, kw_unsupported, U_REFUSE_SET,
	"revocation lists cannot be checked; remove the line or use "
	"tls_fingerprint"},
    {"proxy_host", FID_NONE, kw_unsupported, U_REFUSE_SET,
	"mail would bypass the proxy"},
    {"proxy_port", FID_NONE, kw_unsupported, U_REFUSE_SET,
	"mail would bypass the proxy"},
    {"socket", FID_NONE, kw_unsupported, U_REFUSE_SET, "use host and port"},
    {"eval", FID_NONE, kw_unsupported, U_REFUSE_SET,
	"write the settings into the file"},
};

#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

static const struct keyword *
keyword_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYWORDS; i++)
		if (strcmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

/* Levenshtein distance, capped: enough to suggest a keyword. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp;
	size_t row[64];

	if (la >= sizeof(row) / sizeof(row[0]) ||
	    lb >= sizeof(row) / sizeof(row[0]))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (ascii_ncasecmp(a + i - 1,
						  b + j - 1, 1) != 0);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The keyword closest to name, if it is close enough to be a typo. */
static const char *
keyword_suggest(const char *name)
{
	static const char *const sections[] = {"account", "defaults"};
	const char *best = NULL;
	size_t i, d, bestd = SIZE_MAX;

	for (i = 0; i < NKEYWORDS + 2; i++) {
		const char *kw =
		    i < NKEYWORDS ? keywords[i].name : sections[i - NKEYWORDS];
		d = edit_distance(name, kw);
		if (d < bestd) {
			bestd = d;
			best = kw;
		}
	}
	if (bestd <= 2 || (bestd <= 4 && bestd * 3 <= strlen(name)))
		return best;
	return NULL;
}

/* ---- lines and sections ---- */

static struct layer *
cur_layer(struct ctx *cx)
{
	if (cx->cur == CUR_DEFAULTS)
		return &cx->ld->defaults;
	if (cx->cur >= 0)
		return &cx->ld->acct[cx->cur].own;
	return NULL;
}

static struct pending *
pending_find(const struct loader *ld, const char *name)
{
	size_t i;

	for (i = 0; i < ld->nacct; i++)
		if (strcmp(ld->acct[i].name, name) == 0)
			return &ld->acct[i];
	return NULL;
}

static int
valid_account_name(const char *s)
{
	const char *p;

	if (*s == '\0' || strlen(s) > 255)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (is_blank((unsigned char)*p) || *p == ':' || *p == ',')
			return 0;
	return 1;
}

static int
section_defaults(struct ctx *cx, const char *val)
{
	if (*val != '\0')
		return perr(cx, "defaults takes no value");
	if (cx->accounts_file)
		return perr(cx, "defaults belongs in the main configuration "
				"file, not in accounts/");
	cx->cur = CUR_DEFAULTS;
	memset(&cx->section_set, 0, sizeof(cx->section_set));
	return 0;
}

/* ": a, b" after an account name. */
static int
parse_parents(struct ctx *cx, struct pending *p, char *list)
{
	char *name, *comma;

	for (;;) {
		if ((comma = strchr(list, ',')) != NULL)
			*comma = '\0';
		name = trim(list);
		if (!valid_account_name(name))
			return perr(cx,
			    "account %s: expected account names "
			    "after ':'",
			    p->name);
		if (strcmp(name, p->name) == 0)
			return perr(cx, "account %s inherits from itself",
			    p->name);
		p->parents = xreallocarray(p->parents, p->nparents + 1,
		    sizeof(*p->parents));
		p->parents[p->nparents++] = xstrdup(name);
		if (comma == NULL)
			return 0;
		list = comma + 1;
	}
}

static struct pending *
pending_add(struct loader *ld)
{
	struct pending *p;

	if (ld->nacct == ld->cap) {
		ld->cap = ld->cap ? 2 * ld->cap : 8;
		ld->acct = xreallocarray(ld->acct, ld->cap, sizeof(*ld->acct));
	}
	p = &ld->acct[ld->nacct++];
	memset(p, 0, sizeof(*p));
	return p;
}

/* "account NAME [: PARENT, ...]" */
static int
section_account(struct ctx *cx, char *val)
{
	struct loader *ld = cx->ld;
	const struct pending *dup;
	struct pending *p;
	char *colon, *name;

	if (cx->accounts_file && cx->naccounts > 0)
		return perr(cx, "a second account; each file in accounts/ "
				"holds exactly one");
	if ((colon = strchr(val, ':')) != NULL)
		*colon++ = '\0';
	name = trim(val);
	if (!valid_account_name(name))
		return perr(cx, "account: expected a name without blanks, "
				"':' or ','");
	if ((dup = pending_find(ld, name)) != NULL)
		return perr(cx, "account %s is already defined at %s:%u", name,
		    dup->file, dup->line);
	if (ld->nacct == CONF_MAX_ACCOUNTS)
		return perr(cx, "more than %d accounts", CONF_MAX_ACCOUNTS);
	p = pending_add(ld);
	p->name = xstrdup(name);
	p->file = cx->file;
	p->line = cx->line;
	layer_merge(&p->base, &ld->defaults);
	if (colon != NULL && parse_parents(cx, p, colon) == -1)
		return -1;
	cx->cur = (long)(ld->nacct - 1);
	cx->naccounts++;
	memset(&cx->section_set, 0, sizeof(cx->section_set));
	return 0;
}

/*
 * Remove the quotes around a value that starts and ends with '"'; inside,
 * \" and \\ are escapes and any other backslash is literal.
 */
static int
unquote(struct ctx *cx, char *v)
{
	size_t n = strlen(v), i, o = 0;

	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return perr(cx, "unterminated quoted value");
	for (i = 1; i < n - 1; i++) {
		if (v[i] == '\\' && (v[i + 1] == '"' || v[i + 1] == '\\')) {
			if (i + 1 == n - 1)
				return perr(cx, "unterminated quoted value");
			i++;
		} else if (v[i] == '"') {
			return perr(cx, "unescaped '\"' inside a quoted value");
		}
		v[o++] = v[i];
	}
	v[o] = '\0';
	return 0;
}

/* No NUL, CR or other control character anywhere (tabs are blanks). */
static int
check_bytes(struct ctx *cx, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return perr(cx, "NUL byte in line");
		if (c == '\r')
			return perr(cx, "carriage return (CR) in line");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(cx, "control character 0x%02x in line", c);
	}
	return 0;
}

static int
dispatch(struct ctx *cx, const char *kw, char *val)
{
	const struct keyword *k;
	const char *sug;
	struct layer *l;

	if (strcmp(kw, "defaults") == 0)
		return section_defaults(cx, val);
	if (strcmp(kw, "account") == 0)
		return section_account(cx, val);
	if ((k = keyword_find(kw)) == NULL) {
		if ((sug = keyword_suggest(kw)) != NULL)
			return perr(cx,
			    "unknown keyword '%s'; did you mean "
			    "'%s'?",
			    kw, sug);
		return perr(cx, "unknown keyword '%s'", kw);
	}
	if ((l = cur_layer(cx)) == NULL)
		return perr(cx,
		    "'%s' before the first 'account' or "
		    "'defaults' line",
		    kw);
	if (k->fn(cx, l, k, val) == -1)
		return -1;
	if (k->fid != FID_NONE)
		fset_add(&cx->section_set, k->fid);
	return 0;
}

/* One line without its LF; s[len] is writable. */
static int
parse_line(struct ctx *cx, char *s, size_t len)
{
	char *kw, *val;

	if (len > 0 && s[len - 1] == '\r')
		len--; /* CRLF line ends */
	s[len] = '\0';
	if (check_bytes(cx, s, len) == -1)
		return -1;
	while (is_blank((unsigned char)*s))
		s++;
	if (*s == '#' || *s == '\0')
		return 0;
	kw = s;
	while (*s != '\0' && !is_blank((unsigned char)*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	val = trim(s);
	if (unquote(cx, val) == -1)
		return -1;
	return dispatch(cx, kw, val);
}

/* ---- files ---- */

static char *
path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = xcalloc(a + b + 2, 1);

	memcpy(p, dir, a);
	if (a == 0 || dir[a - 1] != '/')
		p[a++] = '/';
	memcpy(p + a, name, b + 1);
	return p;
}

static char *
home_dir(void)
{
	const struct passwd *pw = getpwuid(getuid());

	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/')
		return NULL;
	return xstrdup(pw->pw_dir);
}

static int
path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The file name kept for messages; owned by the config. */
static const char *
intern_file(struct loader *ld, const char *path)
{
	struct config *c = ld->c;

	c->files = xreallocarray(c->files, c->nfiles + 1, sizeof(*c->files));
	c->files[c->nfiles] = xstrdup(path);
	return c->files[c->nfiles++];
}

/* ---- files that can run a command or hold a secret ---- */

static int
owner_ok(uid_t uid)
{
	return uid == geteuid() || uid == 0;
}

/* dir (absolute) and every directory above it: ours or root's, and
 * writable by nobody else unless sticky (nobody can then replace our
 * entries, as in /tmp). */
static int
check_dir_chain(const char *file, const char *dir, struct err *e)
{
	char p[PATH_MAX];
	struct stat st;
	size_t n;

	if (str_copy(p, dir, sizeof(p)) == -1)
		return err_set(e, ERR_CONFIG, "%s: path too long", file);
	for (;;) {
		if (stat(p, &st) == -1)
			return err_set(e, ERR_CONFIG, "%s: directory %s: %s",
			    file, p, strerror(errno));
		if (!owner_ok(st.st_uid))
			return err_set(e, ERR_CONFIG,
			    "%s: directory %s belongs to uid %lu; it must "
			    "belong to you or root",
			    file, p, (unsigned long)st.st_uid);
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(st.st_mode & S_ISVTX))
			return err_set(e, ERR_CONFIG,
			    "%s: directory %s is writable by group or "
			    "others; run: chmod go-w %s",
			    file, p, p);
		if ((n = strlen(p)) <= 1)
			return 0;
		while (n > 1 && p[n - 1] != '/')
			n--;
		while (n > 1 && p[n - 1] == '/')
			n--;
		p[n] = '\0';
	}
}

/* The directories file is in, as named (made absolute) and as resolved. */
static int
check_dirs(const char *file, struct err *e)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(file, '/');
	size_t n = 0;

	if (file[0] != '/') {
		if (getcwd(dir, sizeof(dir)) == NULL)
			return err_set(e, ERR_CONFIG, "%s: getcwd: %s", file,
			    strerror(errno));
		n = strlen(dir);
	}
	if (slash != NULL) {
		size_t k = (size_t)(slash - file) + (slash == file ? 1 : 0);
		if (n + 1 + k >= sizeof(dir))
			return err_set(e, ERR_CONFIG, "%s: path too long",
			    file);
		if (n > 0)
			dir[n++] = '/';
		memcpy(dir + n, file, k);
		dir[n + k] = '\0';
	}
	if (check_dir_chain(file, dir, e) == -1)
		return -1;
	if (realpath(dir, real) == NULL)
		return err_set(e, ERR_CONFIG, "%s: %s", file, strerror(errno));
	return strcmp(real, dir) == 0 ? 0 : check_dir_chain(file, real, e);
}

int
config_check_private(const char *file, const struct stat *st, struct err *e)
{
	if (!owner_ok(st->st_uid))
		return err_set(e, ERR_CONFIG,
		    "%s: owned by uid %lu; it must belong to you or root", file,
		    (unsigned long)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, ERR_CONFIG,
		    "%s: writable by group or others; run: chmod go-w %s", file,
		    file);
	return check_dirs(file, e);
}

/*
 * Open a configuration file: a regular file that config_check_private()
 * accepts (any of them can run commands through passwordeval).
 */
static int
open_config(struct ctx *cx, FILE **fpp)
{
	int fd;

	if ((fd = open(cx->file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return perr(cx, "%s", strerror(errno));
	if (fstat(fd, &cx->st) == -1) {
		perr(cx, "%s", strerror(errno));
	} else if (!S_ISREG(cx->st.st_mode)) {
		perr(cx, "not a regular file");
	} else if (config_check_private(cx->file, &cx->st, cx->e) == -1) {
		/* e is filled */
	} else if ((*fpp = fdopen(fd, "r")) != NULL) {
		return 0;
	} else {
		perr(cx, "%s", strerror(errno));
	}
	close(fd);
	return -1;
}

/* Read one line (without LF) into line; 1: a line, 0: end of file. */
static int
read_line(struct ctx *cx, FILE *fp, char *line, size_t *lenp)
{
	size_t n = 0;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (n == CONF_LINE_MAX)
			return perr(cx, "line longer than %d bytes",
			    CONF_LINE_MAX);
		line[n++] = (char)c;
	}
	if (c == EOF && ferror(fp)) {
		cx->line = 0;
		return perr(cx, "read error: %s", strerror(errno));
	}
	if (c == EOF && n == 0)
		return 0;
	*lenp = n;
	return 1;
}

static int
read_file(struct loader *ld, const char *path, int accounts_file, struct err *e)
{
	struct ctx cx;
	FILE *fp = NULL;
	char iobuf[BUFSIZ], *line;
	size_t len = 0;
	int r;

	memset(&cx, 0, sizeof(cx));
	cx.ld = ld;
	cx.e = e;
	cx.accounts_file = accounts_file;
	cx.cur = CUR_NONE;
	cx.file = intern_file(ld, path);
	if (open_config(&cx, &fp) == -1)
		return -1;
	/* Our own stdio buffer, so that it can be wiped (passwords). */
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	line = xcalloc(1, CONF_LINE_MAX + 1);
	for (;;) {
		cx.line++;
		if ((r = read_line(&cx, fp, line, &len)) != 1)
			break;
		if ((r = parse_line(&cx, line, len)) == -1)
			break;
	}
	if (r == 0 && accounts_file && cx.naccounts == 0) {
		cx.line = 0;
		r = perr(&cx, "holds no account");
	}
	fclose(fp);
	sodium_memzero(iobuf, sizeof(iobuf));
	sodium_memzero(line, CONF_LINE_MAX + 1);
	free(line);
	return r == 0 ? 0 : -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The "*.conf" names in dir, sorted; caller frees. */
static int
list_account_files(const char *dir, char ***namesp, size_t *np, struct err *e)
{
	DIR *d;
	const struct dirent *de;
	char **names = NULL;
	size_t n = 0, len;
	int full = 0;

	if ((d = opendir(dir)) == NULL)
		return err_set(e, ERR_CONFIG, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == CONF_MAX_ACCOUNTS) {
			full = 1;
			err_set(e, ERR_CONFIG, "%s: more than %d files", dir,
			    CONF_MAX_ACCOUNTS);
			break;
		}
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	*namesp = names;
	*np = n;
	if (full)
		return -1; /* the caller frees names */
	qsort(names, n, sizeof(*names), cmp_names);
	return 0;
}

static int
read_accounts_dir(struct loader *ld, const char *dir, struct err *e)
{
	char **names = NULL, *path;
	size_t i, n = 0;
	int r = 0;

	if (list_account_files(dir, &names, &n, e) == -1)
		r = -1;
	for (i = 0; i < n; i++) {
		if (r == 0) {
			path = path_join(dir, names[i]);
			r = read_file(ld, path, 1, e);
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

/* dir/config and dir/accounts, where they exist; 0 if neither does. */
static int
try_dir(const char *dir, char **mainp, char **dirp)
{
	char *cfg = path_join(dir, "config");
	char *acc = path_join(dir, "accounts");

	if (path_exists(cfg))
		*mainp = cfg;
	else
		free(cfg);
	if (is_dir(acc))
		*dirp = acc;
	else
		free(acc);
	return *mainp != NULL || *dirp != NULL;
}

/* -C FILE: FILE, and accounts/ beside it only if FILE is ".../config". */
static void
given_files(const char *path, char **mainp, char **dirp)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	char *dir;

	*mainp = xstrdup(path);
	if (strcmp(base, "config") != 0)
		return;
	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	*dirp = path_join(dir, "accounts");
	free(dir);
	if (!is_dir(*dirp)) {
		free(*dirp);
		*dirp = NULL;
	}
}

static char *
user_dir(const char *home)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *base, *dir;

	/* The XDG spec: a relative XDG_CONFIG_HOME is ignored. */
	if (xdg != NULL && xdg[0] == '/')
		return path_join(xdg, "postseal");
	if (home == NULL)
		return NULL;
	base = path_join(home, ".config");
	dir = path_join(base, "postseal");
	free(base);
	return dir;
}

/*
 * *systemp: 1 when the system files were chosen (no -C, and the user has no
 * configuration of their own in the XDG directory), whether config or
 * accounts/ or both exist there.  A -C file is never the system
 * configuration, even when it names one of its files: with -C postseal
 * runs as the caller and nothing else (SECURITY.md, P1).
 */
static int
choose_files(const struct loader *ld, const char *path, char **mainp,
    char **dirp, int *systemp, struct err *e)
{
	char *udir, *rc;

	*systemp = 0;
	if (path != NULL) {
		given_files(path, mainp, dirp);
		return 0;
	}
	udir = user_dir(ld->home);
	if (udir != NULL && try_dir(udir, mainp, dirp)) {
		free(udir);
		return 0;
	}
	if (try_dir(SYSCONFDIR_POSTSEAL, mainp, dirp)) {
		*systemp = 1;
		free(udir);
		return 0;
	}
	if (ld->home != NULL) {
		rc = path_join(ld->home, ".msmtprc");
		if (path_exists(rc)) {
			*mainp = rc;
			free(udir);
			return 0;
		}
		free(rc);
	}
	err_set(e, ERR_CONFIG,
	    "no configuration: create %s/config (see postseal.conf(5)) or "
	    "use -C FILE",
	    udir != NULL ? udir : SYSCONFDIR_POSTSEAL);
	free(udir);
	return -1;
}

/* ---- inheritance, defaults, the final struct ---- */

static int
resolve(struct loader *ld, size_t i, struct err *e)
{
	struct pending *p = &ld->acct[i];
	const struct pending *q;
	size_t j;

	if (p->state == P_DONE)
		return 0;
	if (p->state == P_BUSY)
		return err_set(e, ERR_CONFIG,
		    "%s:%u: account %s: inheritance loop", p->file, p->line,
		    p->name);
	p->state = P_BUSY;
	layer_merge(&p->res, &p->base);
	for (j = 0; j < p->nparents; j++) {
		if ((q = pending_find(ld, p->parents[j])) == NULL)
			return err_set(e, ERR_CONFIG,
			    "%s:%u: account %s inherits from %s, which is "
			    "not defined",
			    p->file, p->line, p->name, p->parents[j]);
		if (resolve(ld, (size_t)(q - ld->acct), e) == -1)
			return -1;
		layer_merge(&p->res, &q->res);
	}
	layer_merge(&p->res, &p->own);
	p->state = P_DONE;
	return 0;
}

/* The machine's FQDN for EHLO; the plain host name if DNS has none. */
static char *
machine_fqdn(void)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	char *r = NULL;

	if (gethostname(host, sizeof(host)) == -1)
		return xstrdup("localhost");
	host[sizeof(host) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL && strchr(res->ai_canonname, '.') &&
	    valid_domain(res->ai_canonname))
		r = xstrdup(res->ai_canonname);
	if (res != NULL)
		freeaddrinfo(res);
	if (r == NULL)
		r = xstrdup(valid_domain(host) ? host : "localhost");
	return r;
}

/* The first word of /etc/mailname, or NULL. */
static char *
etc_mailname(void)
{
	char line[256];
	FILE *fp;
	char *r = NULL;

	if ((fp = fopen("/etc/mailname", "r")) == NULL)
		return NULL;
	if (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] != '\0' && valid_domain(line))
			r = xstrdup(line);
	}
	fclose(fp);
	return r;
}

/* One msmtp "from" substitution: %U login, %H host name, %C canonical
 * host name, %M /etc/mailname (else %C). NULL for an unknown letter. */
static char *
from_subst(char c, char **fqdn)
{
	const struct passwd *pw;
	char host[256];

	switch (c) {
	case 'U':
		pw = getpwuid(getuid());
		return xstrdup(pw != NULL ? pw->pw_name : "unknown");
	case 'H':
		if (gethostname(host, sizeof(host)) == -1)
			return xstrdup("localhost");
		host[sizeof(host) - 1] = '\0';
		return xstrdup(host);
	case 'M': {
		char *m = etc_mailname();
		if (m != NULL)
			return m;
	}
		/* FALLTHROUGH */
	case 'C':
		if (*fqdn == NULL)
			*fqdn = machine_fqdn();
		return xstrdup(*fqdn);
	case '%':
		return xstrdup("%");
	default:
		return NULL;
	}
}

/* Expand msmtp's %U, %H, %C, %M and %% in a "from" value. */
static int
expand_from(struct account *a, char **fqdn, struct err *e)
{
	struct buf b;
	const char *p;
	char *sub;

	if (a->from == NULL || strchr(a->from, '%') == NULL)
		return 0;
	buf_init(&b, 1024);
	for (p = a->from; *p != '\0'; p++) {
		if (*p != '%') {
			if (buf_addch(&b, *p) == -1)
				goto toolong;
			continue;
		}
		if ((sub = from_subst(p[1], fqdn)) == NULL) {
			buf_reset(&b);
			return err_set(e, ERR_CONFIG,
			    "%s:%u: account %s: unknown %%%c in from (known: "
			    "%%U %%H %%C %%M)",
			    a->file, a->line, a->name, p[1] ? p[1] : ' ');
		}
		if (buf_addstr(&b, sub) == -1) {
			free(sub);
			goto toolong;
		}
		free(sub);
		p++;
	}
	free(a->from);
	a->from = buf_steal(&b, NULL);
	return 0;
toolong:
	buf_reset(&b);
	return err_set(e, ERR_CONFIG, "%s:%u: account %s: from is too long",
	    a->file, a->line, a->name);
}

static void
fill_defaults(struct account *a, const struct fset *set, char **fqdn)
{
	if (!(fset_has(set, FID_TLS)))
		a->tls = 1;
	if (!(fset_has(set, FID_CERTCHECK)))
		a->tls_certcheck = 1;
	/* An msmtprc's "port 587" with "tls on" means STARTTLS. */
	if (!(fset_has(set, FID_STARTTLS)))
		a->tls_starttls = (fset_has(set, FID_PORT)) && a->port != 465;
	if (!a->tls)
		a->tls_starttls = 0;
	if (!(fset_has(set, FID_PORT)))
		a->port = !a->tls ? 25 : a->tls_starttls ? 587 : 465;
	if (a->timeout == 0)
		a->timeout = DEFAULT_TIMEOUT;
	if (a->auth == NULL)
		a->auth = xstrdup(a->user != NULL ? "on" : "off");
	if (a->domain == NULL) {
		if (*fqdn == NULL)
			*fqdn = machine_fqdn();
		a->domain = xstrdup(*fqdn);
	}
	if (!(fset_has(set, FID_REMOVE_BCC)))
		a->remove_bcc_headers = 1;
	if (!(fset_has(set, FID_BOUNCE)))
		a->bounce_notices = 1;
	if (!(fset_has(set, FID_ALLOW_FROM)))
		a->allow_from_override = 1;
	if (!(fset_has(set, FID_8BITMIME)))
		a->smtp_8bitmime = 1;
	if (a->dkim_canon == NULL)
		a->dkim_canon = xstrdup("relaxed/relaxed");
	if (!(fset_has(set, FID_BACKOFF))) {
		a->queue_backoff_min = DEFAULT_BACKOFF_MIN;
		a->queue_backoff_max = DEFAULT_BACKOFF_MAX;
	}
	if (!(fset_has(set, FID_MAX_AGE)))
		a->queue_max_age = DEFAULT_MAX_AGE;
	/* As every MTA: a line per state change to syslog (mail), unless
	 * the configuration says "syslog off" (issue 9). */
	if (!(fset_has(set, FID_SYSLOG)))
		a->syslog = xstrdup("LOG_MAIL");
	if (!(fset_has(set, FID_DELAY_WARN)))
		a->delay_warning_time = DEFAULT_DELAY_WARN;
	if (!(fset_has(set, FID_FAILED_MAX_AGE)))
		a->failed_max_age = DEFAULT_FAILED_MAX_AGE;
	if (!(fset_has(set, FID_TIMEOUT_DATA_END)))
		a->timeout_data_end = DEFAULT_TIMEOUT_DATA_END;
}

/*
 * The TLS client key is read by GnuTLS (tls.c), so its rules are checked
 * here: config_check_private(), and nothing for others (group read stays
 * allowed: 0640 root:ssl-cert is Debian's convention).  A missing file is
 * reported when it is loaded.
 */
static int
check_key_file(const char *file, struct err *e)
{
	struct stat st;

	if (file == NULL || stat(file, &st) == -1)
		return 0;
	if (config_check_private(file, &st, e) == -1)
		return -1;
	if (st.st_mode & S_IRWXO)
		return err_set(e, ERR_CONFIG,
		    "%s: a private key others can read; run: chmod o-rwx %s",
		    file, file);
	return 0;
}

static int
check_account(const struct account *a, struct err *e)
{
	if ((a->tls_cert_file == NULL) != (a->tls_key_file == NULL))
		return err_set(e, ERR_CONFIG,
		    "%s:%u: account %s: tls_cert_file and tls_key_file go "
		    "together",
		    a->file, a->line, a->name);
	if (a->ndkim_keys > 0 && a->dkim_domain == NULL)
		return err_set(e, ERR_CONFIG,
		    "%s:%u: account %s: dkim_key needs dkim_domain", a->file,
		    a->line, a->name);
	if ((a->pgp_sign != NULL || a->pgp_encrypt != CONF_ENCRYPT_NEVER) &&
	    (a->smime_sign != NULL || a->smime_encrypt != CONF_ENCRYPT_NEVER))
		return err_set(e, ERR_CONFIG,
		    "%s:%u: account %s: the OpenPGP (pgp_*) and S/MIME "
		    "(smime_*) settings exclude each other",
		    a->file, a->line, a->name);
	if (a->autocrypt && a->pgp_sign == NULL)
		return err_set(e, ERR_CONFIG,
		    "%s:%u: account %s: autocrypt needs pgp_sign", a->file,
		    a->line, a->name);
	return check_key_file(a->tls_key_file, e);
}

static int
finish(struct loader *ld, struct err *e)
{
	struct config *c = ld->c;
	char *fqdn = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < ld->nacct; i++)
		if (resolve(ld, i, e) == -1)
			return -1;
	c->accounts = xcalloc(ld->nacct, sizeof(*c->accounts));
	for (i = 0; i < ld->nacct && r == 0; i++) {
		struct pending *p = &ld->acct[i];
		struct account *a = &c->accounts[c->naccounts++];

		*a = p->res.a;
		memset(&p->res.a, 0, sizeof(p->res.a));
		a->name = xstrdup(p->name);
		a->file = p->file;
		a->line = p->line;
		fill_defaults(a, &p->res.set, &fqdn);
		r = expand_from(a, &fqdn, e);
		if (r == 0)
			r = check_account(a, e);
		if (strcmp(a->name, "default") == 0)
			c->deflt = a;
	}
	free(fqdn);
	return r;
}

static void
loader_free(struct loader *ld)
{
	size_t i, j;

	for (i = 0; i < ld->nacct; i++) {
		struct pending *p = &ld->acct[i];
		free(p->name);
		for (j = 0; j < p->nparents; j++)
			free(p->parents[j]);
		free(p->parents);
		account_clear(&p->base.a);
		account_clear(&p->own.a);
		account_clear(&p->res.a);
	}
	free(ld->acct);
	account_clear(&ld->defaults.a);
	free(ld->home);
	config_free(ld->c);
}

int
config_load(const char *path, struct config **out, struct err *e)
{
	struct loader ld;
	char *mainf = NULL, *accdir = NULL;
	int r = -1, sys;

	memset(&ld, 0, sizeof(ld));
	ld.c = xcalloc(1, sizeof(*ld.c));
	ld.home = home_dir();
	if (choose_files(&ld, path, &mainf, &accdir, &sys, e) == -1)
		goto out;
	ld.c->system = sys;
	if (mainf != NULL && read_file(&ld, mainf, 0, e) == -1)
		goto out;
	if (accdir != NULL && read_accounts_dir(&ld, accdir, e) == -1)
		goto out;
	if (ld.nacct == 0) {
		err_set(e, ERR_CONFIG, "%s: no account defined",
		    mainf != NULL ? mainf : accdir);
		goto out;
	}
	if (finish(&ld, e) == -1)
		goto out;
	ld.c->main_file = mainf;
	mainf = NULL;
	*out = ld.c;
	ld.c = NULL;
	r = 0;
out:
	loader_free(&ld);
	free(mainf);
	free(accdir);
	return r;
}

int
config_is_system(const char *path)
{
	struct loader ld;
	struct err e;
	char *mainf = NULL, *accdir = NULL;
	int sys = 0;

	if (path != NULL)
		return 0;
	memset(&ld, 0, sizeof(ld));
	ld.home = home_dir();
	if (choose_files(&ld, NULL, &mainf, &accdir, &sys, &e) == -1)
		sys = 0;
	free(mainf);
	free(accdir);
	free(ld.home);
	return sys;
}

char *
config_user_file(void)
{
	char *home = home_dir(), *dir, *f = NULL;

	if ((dir = user_dir(home)) != NULL)
		f = path_join(dir, "config");
	free(dir);
	free(home);
	return f;
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->naccounts; i++)
		account_clear(&c->accounts[i]);
	free(c->accounts);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->main_file);
	free(c);
}

/* ---- choosing an account ---- */

/* "from" may hold globs; domains compare case-insensitively. */
static int
from_matches(const char *pat, const char *addr)
{
	const char *pat_at = strrchr(pat, '@'), *addr_at = strrchr(addr, '@');
	char *pl, *al;
	int r;

	if (pat_at == NULL || addr_at == NULL)
		return fnmatch(pat, addr, 0) == 0;
	pl = xstrndup(pat, (size_t)(pat_at - pat));
	al = xstrndup(addr, (size_t)(addr_at - addr));
	r = fnmatch(pl, al, 0) == 0 &&
	    fnmatch(pat_at + 1, addr_at + 1, FNM_CASEFOLD) == 0;
	free(pl);
	free(al);
	return r;
}

static const struct account *
find_by_name(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}

static const struct account *
find_by_from(const struct config *c, const char *from)
{
	size_t i;

	if (from == NULL || *from == '\0')
		return NULL;
	for (i = 0; i < c->naccounts; i++)
		if (c->accounts[i].from != NULL &&
		    from_matches(c->accounts[i].from, from))
			return &c->accounts[i];
	return NULL;
}

const struct account *
config_find(const struct config *c, const char *name, const char *envelope_from,
    struct err *e)
{
	const char *where =
	    c->main_file != NULL ? c->main_file : "the configuration";
	const struct account *a;

	if (name != NULL) {
		if ((a = find_by_name(c, name)) == NULL) {
			err_set(e, ERR_CONFIG, "no account named %s in %s",
			    name, where);
			return NULL;
		}
	} else if ((a = find_by_from(c, envelope_from)) == NULL &&
		   (a = c->deflt) == NULL) {
		/* A single account needs no "account default : x". */
		if (c->naccounts != 1) {
			err_set(e, ERR_CONFIG,
			    "no account chosen: use -a, or add "
			    "'account default : NAME' to %s",
			    where);
			return NULL;
		}
		a = &c->accounts[0];
	}
	if (a->nhosts == 0) {
		err_set(e, ERR_CONFIG, "%s:%u: account %s has no host", a->file,
		    a->line, a->name);
		return NULL;
	}
	return a;
}

int
config_from_matches(const struct account *a, const char *addr)
{
	return a->from != NULL && from_matches(a->from, addr);
}

const char *
config_envelope_from(const struct account *a)
{
	if (a->from == NULL || strpbrk(a->from, "*?[") != NULL)
		return NULL;
	return a->from;
}

/* ---- passwords ---- */

struct eval {
	pid_t pid;
	int fd[2]; /* read ends: the command's stdout and stderr */
	char *out; /* CONF_EVAL_OUT_MAX bytes, wiped after use */
	size_t outlen;
	int overflow; /* stdout was longer than CONF_EVAL_OUT_MAX */
	char err[CONF_EVAL_ERR_MAX + 1];
	size_t errlen;
};

static void
words_free(char **w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; w[i] != NULL; i++)
		free(w[i]);
	free(w);
}

static int
shell_free_char(int c)
{
	return is_alnum(c) || is_blank(c) ||
	       (c != '\0' && strchr("-_./,:@+=%^~", c) != NULL);
}

/* A word's "~" or "~/" prefix is fine (we expand it); other ~ is not. */
static int
tilde_ok(const char *w, const char *home)
{
	const char *t = strchr(w, '~');

	if (t == NULL)
		return 1;
	return t == w && (w[1] == '/' || w[1] == '\0') &&
	       strchr(w + 1, '~') == NULL && home != NULL;
}

/*
 * The command's words when it needs no shell: letters, digits, blanks and
 * -_./,:@+=%^ only, ~ only at the start of a word, no '=' in the first
 * word (an assignment).  NULL when /bin/sh is needed.  Caller frees with
 * words_free().
 */
static char **
eval_words(const char *cmd, const char *home)
{
	char **w = NULL, *copy, *tok[64];
	const char *p;
	int n, i;

	for (p = cmd; *p != '\0'; p++)
		if (!shell_free_char((unsigned char)*p))
			return NULL;
	copy = xstrdup(cmd);
	n = split_words(copy, tok, sizeof(tok) / sizeof(tok[0]));
	for (i = 0; i < n && tilde_ok(tok[i], home); i++)
		;
	if (n > 0 && i == n && strchr(tok[0], '=') == NULL) {
		w = xcalloc((size_t)n + 1, sizeof(*w));
		for (i = 0; i < n; i++)
			w[i] = tok[i][0] == '~' ? path_join(home, tok[i] + 1)
						: xstrdup(tok[i]);
	}
	free(copy);
	return w;
}

static char **
shell_words(const char *cmd)
{
	char **w = xcalloc(4, sizeof(*w));

	w[0] = xstrdup("/bin/sh");
	w[1] = xstrdup("-c");
	w[2] = xstrdup(cmd);
	return w;
}

static int
pipe_cloexec(int p[2])
{
	if (pipe(p) == -1)
		return -1;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) == -1) {
		close(p[0]);
		close(p[1]);
		p[0] = p[1] = -1;
		return -1;
	}
	return 0;
}

/* In the child: stdin /dev/null, stdout and stderr to the pipes. */
static void __attribute__((noreturn))
eval_child(char **argv, int outfd, int errfd)
{
	char msg[512];
	int fd = open("/dev/null", O_RDONLY);
	ssize_t w;

	if (fd == -1 || dup2(fd, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(errfd, 2) == -1)
		_exit(126);
	execvp(argv[0], argv);
	snprintf(msg, sizeof(msg), "cannot run %s: %s\n", argv[0],
	    strerror(errno));
	w = write(2, msg, strlen(msg));
	(void)w;
	_exit(127);
}

static int
eval_spawn(struct eval *ev, char **argv, struct err *e)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1};

	if (pipe_cloexec(po) == -1 || pipe_cloexec(pe) == -1 ||
	    (ev->pid = fork()) == -1) {
		err_set(e, ERR_OS, "passwordeval: %s", strerror(errno));
		if (po[0] != -1) {
			close(po[0]);
			close(po[1]);
		}
		if (pe[0] != -1) {
			close(pe[0]);
			close(pe[1]);
		}
		return -1;
	}
	if (ev->pid == 0)
		eval_child(argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	ev->fd[0] = po[0];
	ev->fd[1] = pe[0];
	return 0;
}

static void
eval_keep(struct eval *ev, int which, const char *p, size_t n)
{
	size_t room;

	if (which == 0) {
		room = CONF_EVAL_OUT_MAX - ev->outlen;
		if (n > room) {
			ev->overflow = 1;
			n = room;
		}
		memcpy(ev->out + ev->outlen, p, n);
		ev->outlen += n;
		return;
	}
	room = CONF_EVAL_ERR_MAX - ev->errlen;
	memcpy(ev->err + ev->errlen, p, n < room ? n : room);
	ev->errlen += n < room ? n : room;
}

/* Read both pipes to their end (the command may fill either first). */
static void
eval_collect(struct eval *ev)
{
	struct pollfd pfd[2];
	char chunk[4096];
	ssize_t n;
	int k;

	while (ev->fd[0] != -1 || ev->fd[1] != -1) {
		for (k = 0; k < 2; k++) {
			pfd[k].fd = ev->fd[k];
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
		}
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (k = 0; k < 2; k++) {
			if (ev->fd[k] == -1 || pfd[k].revents == 0)
				continue;
			n = read(ev->fd[k], chunk, sizeof(chunk));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(ev->fd[k]);
				ev->fd[k] = -1;
				continue;
			}
			eval_keep(ev, k, chunk, (size_t)n);
		}
	}
	sodium_memzero(chunk, sizeof(chunk));
	for (k = 0; k < 2; k++)
		if (ev->fd[k] != -1)
			close(ev->fd[k]);
}

/* Wait for the command; non-zero exit is an error with its stderr. */
static int
eval_wait(struct eval *ev, const struct account *a, struct err *e)
{
	int status;
	char *nl;

	while (waitpid(ev->pid, &status, 0) == -1)
		if (errno != EINTR)
			return err_set(e, ERR_OS, "passwordeval: %s",
			    strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	ev->err[ev->errlen] = '\0';
	if ((nl = strchr(ev->err, '\n')) != NULL)
		*nl = '\0';
	if (WIFSIGNALED(status))
		return err_set(e, ERR_CONFIG,
		    "account %s: passwordeval killed by signal %d%s%s", a->name,
		    WTERMSIG(status), ev->err[0] ? ": " : "", ev->err);
	return err_set(e, ERR_CONFIG,
	    "account %s: passwordeval failed with exit status %d%s%s", a->name,
	    WEXITSTATUS(status), ev->err[0] ? ": " : "", ev->err);
}

/* One line of output, its final LF or CRLF stripped. */
static int
eval_output(struct eval *ev, const struct account *a, char **out, struct err *e)
{
	size_t n = ev->outlen;

	if (ev->overflow)
		return err_set(e, ERR_CONFIG,
		    "account %s: passwordeval printed more than %d bytes",
		    a->name, CONF_EVAL_OUT_MAX);
	if (n > 0 && ev->out[n - 1] == '\n')
		n--;
	if (n > 0 && ev->out[n - 1] == '\r')
		n--;
	if (n == 0)
		return err_set(e, ERR_CONFIG,
		    "account %s: passwordeval printed nothing", a->name);
	if (has_crlfnul(ev->out, n))
		return err_set(e, ERR_CONFIG,
		    "account %s: passwordeval printed more than one line "
		    "(or a NUL byte)",
		    a->name);
	*out = xstrndup(ev->out, n);
	return 0;
}

static int
eval_command(const struct account *a, const char *cmd, char **out,
    struct err *e)
{
	struct eval ev;
	char **argv, *home = home_dir();
	int r = -1;

	memset(&ev, 0, sizeof(ev));
	ev.fd[0] = ev.fd[1] = -1;
	ev.out = xcalloc(1, CONF_EVAL_OUT_MAX);
	if ((argv = eval_words(cmd, home)) == NULL)
		argv = shell_words(cmd);
	log_debug("account %s: running passwordeval (%s)", a->name, argv[0]);
	if (eval_spawn(&ev, argv, e) == 0) {
		eval_collect(&ev);
		r = eval_wait(&ev, a, e);
		if (r == 0)
			r = eval_output(&ev, a, out, e);
	}
	sodium_memzero(ev.out, CONF_EVAL_OUT_MAX);
	free(ev.out);
	words_free(argv);
	free(home);
	return r;
}

static int
eval_password(const struct account *a, char **out, struct err *e)
{
	return eval_command(a, a->passwordeval, out, e);
}

int
config_oauth2_secret_eval(const struct account *a, char **out, struct err *e)
{
	*out = NULL;
	if (a->oauth2_client_secret_eval == NULL)
		return 0;
	if (eval_command(a, a->oauth2_client_secret_eval, out, e) == -1)
		return err_prefix(e, "oauth2_client_secret_eval");
	return 0;
}

int
config_pgp_passphrase(const struct account *a, char **out, struct err *e)
{
	*out = NULL;
	if (a->pgp_passphrase_eval == NULL)
		return 0;
	if (eval_command(a, a->pgp_passphrase_eval, out, e) == -1)
		return err_prefix(e, "pgp_passphrase_eval");
	return 0;
}

int
config_password(const struct account *a, char **out, struct err *e)
{
	*out = NULL;
	if (a->password != NULL) {
		*out = xstrdup(a->password);
		return 0;
	}
	if (a->passwordeval == NULL)
		return 0;
	return eval_password(a, out, e);
}
