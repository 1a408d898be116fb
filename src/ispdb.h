/*
 * ispdb.h -- the provider's autoconfig document (the Thunderbird ISP
 * database format, clientConfig version 1.1) to the outgoing servers it
 * names, for postseal --configure.
 *
 * The document comes from the network: it is bounded (ISPDB_MAX_XML
 * bytes, ISPDB_MAX_DEPTH nested elements, ISPDB_MAX_TEXT bytes of text
 * per element, ISPDB_MAX_SERVERS outgoing servers), a DOCTYPE or an
 * entity declaration refuses it (no entity expansion at all), and every
 * value kept is checked (host names, ports, placeholders).  Incoming
 * servers and everything else are skipped.
 */
#ifndef POSTSEAL_ISPDB_H
#define POSTSEAL_ISPDB_H

#include <stddef.h>

#include "err.h"

#define ISPDB_MAX_XML (64 * 1024)
#define ISPDB_MAX_DEPTH 16
#define ISPDB_MAX_TEXT 255
#define ISPDB_MAX_SERVERS 8

enum ispdb_socket {
	ISPDB_PLAIN = 0, /* "plain": never used by postseal */
	ISPDB_TLS,	 /* "SSL": implicit TLS (RFC 8314) */
	ISPDB_STARTTLS,	 /* "STARTTLS" */
};

/* authentication elements, as a set */
enum {
	ISPDB_AUTH_CLEARTEXT = 1 << 0, /* password-cleartext */
	ISPDB_AUTH_ENCRYPTED = 1 << 1, /* password-encrypted (CRAM-MD5) */
	ISPDB_AUTH_OAUTH2 = 1 << 2,    /* OAuth2 */
	ISPDB_AUTH_NONE = 1 << 3,      /* none, client-IP-address */
	ISPDB_AUTH_OTHER = 1 << 4,     /* NTLM, GSAPI, TLS-client-cert */
};

struct ispdb_server {
	char host[256]; /* checked: letters, digits, '-', '.' */
	unsigned port;	/* 1..65535 */
	enum ispdb_socket sock;
	unsigned auth;		       /* ISPDB_AUTH_* */
	char user[ISPDB_MAX_TEXT + 1]; /* the template, "" if none */
};

struct ispdb {
	struct ispdb_server out[ISPDB_MAX_SERVERS];
	size_t nout;
};

/*
 * Parse the document (len bytes).  Returns 0 with db filled (nout may be
 * 0: the document names no outgoing SMTP server), or -1 with ERR_DATA and
 * the reason (malformed, too large, a DOCTYPE, a bad value).
 */
int ispdb_parse(const char *xml, size_t len, struct ispdb *db, struct err *e);

/* The server to use: the first with implicit TLS, else the first with
 * STARTTLS, else NULL (only plaintext offered). */
const struct ispdb_server *ispdb_choose(const struct ispdb *db);

/*
 * Expand a username template for address (local@domain): %EMAILADDRESS%,
 * %EMAILLOCALPART% and %EMAILDOMAIN%; any other '%' refuses it.  Returns
 * 0, or -1 (unknown placeholder, or out too small).
 */
int ispdb_user(const char *tmpl, const char *address, char *out, size_t size);

struct buf;

/*
 * Append to out the postseal account for address through server s, named
 * name: implicit TLS (or STARTTLS with tls_starttls on, never
 * plaintext), auth from the authentication elements (OAuth2 noted as a
 * comment), user from the username template, no password (a passwordeval
 * comment).  Returns 0, or -1 with ERR_DATA (a plaintext server, only
 * unsupported mechanisms, a bad template or address).
 */
int ispdb_account(const struct ispdb_server *s, const char *address,
    const char *name, struct buf *out, struct err *e);

#endif
