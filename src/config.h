/*
 * config.h -- the configuration: accounts read from an msmtp-compatible
 * file plus one account per file in an accounts/ directory beside it.
 *
 * Built once by config_load(), then used only through const pointers.
 * Strings are owned by the struct config; NULL means "not set".
 */
#ifndef POSTSEAL_CONFIG_H
#define POSTSEAL_CONFIG_H

#include <stddef.h>

#include "err.h"

enum tri { TRI_UNSET = -1, TRI_OFF = 0, TRI_ON = 1 };

enum set_header { SETHDR_AUTO = 0, SETHDR_ON, SETHDR_OFF };

#define CONFIG_MAX_HOSTS 8
#define CONFIG_MAX_DKIM_KEYS 4

/* tls_dane (issue 16): off (default), on (DANE required), auto. */
#define CONFIG_DANE_OFF 0
#define CONFIG_DANE_ON 1
#define CONFIG_DANE_AUTO 2

struct dkim_keyspec {
	char *selector;
	char *type; /* "rsa" or "ed25519" */
	char *file;
};

struct account {
	char *name;
	const char *file; /* where it was defined (for messages) */
	unsigned line;

	/* Server.  hosts[0] is tried first; see postseal.conf(5). */
	char *hosts[CONFIG_MAX_HOSTS];
	size_t nhosts;
	unsigned port;	  /* 0 until resolved: 465, or 587 with STARTTLS */
	char *domain;	  /* EHLO name; default: the machine's FQDN */
	unsigned timeout; /* seconds, per read/write; default 60 */
	char *source_ip;  /* local address to connect from (issue 16) */
	char *proxy;	  /* socks5[h]:// URL; may hold a password */
	unsigned timeout_data_end; /* reply to the final dot; default 600 */

	/* Envelope and headers. */
	char *from;	     /* envelope sender; may hold globs for matching */
	char *maildomain;    /* qualifies bare local parts (root) */
	char *aliases;	     /* aliases file, as in msmtp */
	int aliases_headers; /* also rewrite From/To/Cc (default off) */
	int rewrite_local_from; /* a local From: names our from (off) */
	enum set_header set_from_header;
	enum set_header set_date_header;
	enum set_header set_msgid_header;
	int remove_bcc_headers;	    /* default on */
	int undisclosed_recipients; /* default off */
	char *dsn_notify;
	char *dsn_return;

	/* TLS. */
	int tls;	  /* default on */
	int tls_starttls; /* default off (implicit TLS on 465) */
	int tls_certcheck;
	char *tls_trust_file;  /* NULL: system trust store */
	char *tls_fingerprint; /* SHA-256, hex with or without colons */
	char *tls_cert_file;
	char *tls_key_file;
	char *tls_priorities;
	char *tls_host_override; /* name to verify instead of host */
	int tls_dane;		 /* CONFIG_DANE_*: default off (issue 16) */

	/* Authentication. */
	char *auth; /* NULL/"on": choose; "off"; or a mechanism name */
	char *user;
	char *password;	    /* wiped in config_free() */
	char *passwordeval; /* command whose output is the password */

	/* Logging. */
	char *logfile;
	char *syslog; /* facility name, or NULL for none */

	/* DKIM (issue: DKIM). */
	char *dkim_domain;
	struct dkim_keyspec dkim_keys[CONFIG_MAX_DKIM_KEYS];
	size_t ndkim_keys;
	char *dkim_canon;   /* "relaxed/relaxed" default */
	char *dkim_headers; /* colon-separated list or NULL for default */
	char *dkim_oversign;
	int dkim_on_error_send; /* "dkim_on_error send": default off */

	/* Queue (issue: durable queue). */
	char *queue_dir;
	unsigned queue_backoff_min;  /* seconds, default 60 */
	unsigned queue_backoff_max;  /* seconds, default 3600 */
	unsigned queue_max_age;	     /* seconds, default 5 days */
	unsigned failed_max_age;     /* failed/ entries: default 30 days */
	unsigned rate_limit_count;   /* 0: none */
	unsigned rate_limit_period;  /* seconds */
	int bounce_notices;	     /* default on */
	unsigned delay_warning_time; /* seconds; default 4 h, 0: no warning */

	/* Message limits (issue: hardening). */
	unsigned long long max_message_size; /* 0: no limit of our own */

	/* msmtp's allow_from_override: off means -f cannot replace "from". */
	int allow_from_override; /* default on */

	unsigned dkim_expire; /* x= this many seconds after t=; 0: none */

	/* "smtp_8bitmime off": the smarthost lacks 8BITMIME, so 8-bit bodies
	 * are re-encoded before signing (the message is spooled before we
	 * see the server's EHLO, so this cannot be learned in time). */
	int smtp_8bitmime; /* default on */
	/* "dns_server ADDR[:PORT]" (issue 13): the resolver for the
	 * doctor's lookups; NULL: the system's (/etc/resolv.conf). */
	char *dns_server;
	/* "dnsbl_zones ZONE..." (issue 13): DNS block lists the doctor
	 * looks the smarthosts' addresses up in; NULL: none. */
	char *dnsbl_zones;
	/* "dns_trust_anchor FILE" (issue 16): the DNSSEC trust anchor (DS
	 * or DNSKEY records, zone-file syntax) lookups through dns_server
	 * validate from; NULL: none with dns_server, the root's without. */
	char *dns_trust_anchor;

	/* OAuth2 (issue 11): see oauth2.h and postseal.conf(5).  Set when
	 * oauth2_provider or oauth2_flow is; the token replaces passwordeval.
	 */
	char *oauth2_provider; /* "microsoft", "gmail" or "custom" */
	char *oauth2_tenant;   /* Microsoft; default "organizations" */
	char *oauth2_client_id;
	char *oauth2_client_secret_file; /* one setting with ..._eval */
	char *oauth2_client_secret_eval;
	char *oauth2_token_endpoint; /* https:// URLs; override the preset */
	char *oauth2_device_endpoint;
	char *oauth2_authorization_endpoint;
	char *oauth2_scope;
	char *oauth2_flow; /* refresh_token, client_credentials, jwt_bearer */
	char *oauth2_trust_file; /* NULL: the system trust store */
	char *oauth2_state_file; /* NULL: the default in the state dir */
	char *oauth2_service_account_file; /* jwt_bearer: Google's JSON key */
	char *oauth2_client_key;	   /* private_key_jwt (RFC 7523 2.2) */
	char *oauth2_client_cert;	   /* its certificate (x5t) */

	/* End-to-end protection (issue 15, e2e.c; postseal.conf(5)). */
	char *gpg_home;	  /* GnuPG home; NULL: the user's */
	char *pgp_sign;	  /* OpenPGP signing key (fingerprint or address) */
	char *smime_sign; /* S/MIME signing certificate, likewise */
	int pgp_encrypt;  /* CONF_ENCRYPT_* */
	int smime_encrypt;
	int e2e_protect_headers;   /* RFC 9788: Subject inside only */
	int autocrypt;		   /* Autocrypt: header with pgp_sign's key */
	char *pgp_passphrase_eval; /* command printing the key passphrase */
};

/* pgp_encrypt / smime_encrypt. */
enum {
	CONF_ENCRYPT_NEVER = 0,
	CONF_ENCRYPT_OPPORTUNISTIC,
	CONF_ENCRYPT_ALWAYS
};

struct config {
	struct account *accounts;
	size_t naccounts;
	const struct account *deflt; /* "account default : x", or NULL */
	char *main_file;	     /* the file that was read, or NULL */
	int system; /* the system files (SYSCONFDIR_POSTSEAL), never -C's */

	/* Every file read, owned here; struct account's file points in. */
	char **files;
	size_t nfiles;
};

/*
 * Read the configuration.  path is -C's argument or NULL for the default
 * locations (user: $XDG_CONFIG_HOME/postseal/config and accounts/ beside it,
 * else ~/.msmtprc-compatible fallbacks as documented; system:
 * SYSCONFDIR_POSTSEAL/config and accounts/).  Errors (ERR_CONFIG) name file
 * and line.  A file holding a password that group/other can read is refused.
 * On success *out is set; the caller frees it with config_free().
 */
int config_load(const char *path, struct config **out, struct err *e);

/*
 * 1 if config_load(path) would read the system configuration: path (-C) is
 * NULL, the user has no configuration directory of their own, and
 * SYSCONFDIR_POSTSEAL holds config or accounts/.  Reads no file.
 */
int config_is_system(const char *path);

/* The user's configuration file, $XDG_CONFIG_HOME/postseal/config or
 * ~/.config/postseal/config (~ from the passwd entry), malloc()ed; NULL
 * when there is no home directory.  It need not exist. */
char *config_user_file(void);

/*
 * Choose the account: by name if name is not NULL, else the first whose
 * "from" (globs allowed) matches envelope_from (may be NULL), else the
 * default.  Returns NULL and fills e (ERR_CONFIG) if none fits.
 */
const struct account *config_find(const struct config *c, const char *name,
    const char *envelope_from, struct err *e);

/*
 * The account's password: "password" or the output of "passwordeval" (run
 * without a shell where possible, exit status checked, final newline
 * stripped).  NULL password and no passwordeval yields *out = NULL.  The
 * caller wipes and frees *out with str_wipe_free().
 */
int config_password(const struct account *a, char **out, struct err *e);

/*
 * The OAuth2 client secret: oauth2_client_secret_eval's output, run as
 * passwordeval is (see config_password()); *out = NULL when it is not set
 * (oauth2_client_secret_file is read by oauth2.c).  The caller wipes and
 * frees *out with str_wipe_free().
 */
/*
 * The passphrase of the signing key: pgp_passphrase_eval's output, run as
 * passwordeval is (see config_password()); *out = NULL when it is not set.
 * Caller wipes and frees.
 */
int config_pgp_passphrase(const struct account *a, char **out, struct err *e);

int config_oauth2_secret_eval(const struct account *a, char **out,
    struct err *e);

/* Free everything, wiping secrets.  NULL is fine. */
void config_free(struct config *c);

/*
 * The envelope sender the account implies: its "from" when that holds no
 * glob characters (* ? [), else NULL.  Borrowed from the account.
 */
const char *config_envelope_from(const struct account *a);

struct stat;

/*
 * A file that can run a command or holds a secret (every configuration
 * file, DKIM and TLS client keys), given its fstat() st: it must belong to
 * the user (effective uid) or root and not be writable by group or others,
 * and so must every directory it is in, up to "/", both as named and as
 * resolved (a sticky directory such as /tmp may be writable: nobody can
 * replace our entries in it).  Whether others may read it is the caller's
 * rule.  ERR_CONFIG naming the file, the directory and the fix.
 */
int config_check_private(const char *file, const struct stat *st,
    struct err *e);

/*
 * Nonzero if addr matches the account's "from" (globs allowed, the domain
 * part case-insensitively); 0 if it does not or the account has no from.
 */
int config_from_matches(const struct account *a, const char *addr);

/* Parse "a/b" canonicalisation or similar helpers live in their modules. */

#endif
