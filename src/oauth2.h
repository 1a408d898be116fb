/*
 * oauth2.h -- OAuth2 access tokens for XOAUTH2/OAUTHBEARER (issue 11): the
 * grants (refresh token, client credentials, device authorization, and
 * authorization code with PKCE), the per-account token state file, its
 * locking and the rotation of refresh tokens.  The only module that
 * includes curl.h and the JSON library (json-c).
 *
 * Tokens returned are secrets: the caller wipes and frees them with
 * str_wipe_free().  No function logs a token or a client secret.
 */
#ifndef POSTSEAL_OAUTH2_H
#define POSTSEAL_OAUTH2_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "err.h"

#define OAUTH2_MAX_RESPONSE (64 * 1024) /* bytes of one HTTP body */
#define OAUTH2_MAX_TOKEN 8192		/* bytes of a token */

/* Nonzero when the account takes its bearer token from this module
 * (oauth2_provider or oauth2_flow is set). */
int oauth2_enabled(const struct account *a);

/*
 * Nonzero if e is the permanent failure that only a new --oauth2-login
 * fixes (no refresh token, or the provider revoked it: invalid_grant).
 * The message is then kept in failed/ even when the caller waited and was
 * told, so that --queue-retry can send it after the login (issue 11).
 */
int oauth2_needs_login(const struct err *e);

/*
 * An access token for a (caller frees *out with str_wipe_free()).  Uses
 * the cached token while it is valid with a margin (the smaller of 60 s
 * and a tenth of its lifetime), else takes the state file's lock, re-reads
 * the file (another process may have refreshed meanwhile) and runs the
 * account's grant, storing a rotated refresh token atomically.  rejected
 * is NULL, or the token the server just refused: a cached token equal to
 * it is not used again.
 *
 * Errors: ERR_AUTH for what the user must fix (invalid_grant, no refresh
 * token yet: "run postseal --oauth2-login -a X again"; invalid_client...);
 * ERR_TEMP for an unreachable endpoint, a timeout, 5xx, 429 and malformed
 * or oversized responses; ERR_CONFIG for settings.  Provider error fields
 * are quoted bounded and printable.
 */
int oauth2_token(const struct account *a, const char *rejected, char **out,
    struct err *e);

enum oauth2_login_how {
	OAUTH2_LOGIN_AUTO = 0, /* device grant if there is an endpoint */
	OAUTH2_LOGIN_DEVICE,   /* RFC 8628 */
	OAUTH2_LOGIN_BROWSER,  /* authorization code + PKCE, RFC 8252 */
};

/*
 * --oauth2-login: obtain the first refresh token interactively and store
 * it.  The user code and verification URL (device grant) or the
 * authorization URL (browser) go to out, one per line; instructions go to
 * stderr.  With no_browser the URL is only printed, else a browser is
 * started when a display is available.
 */
int oauth2_login(const struct account *a, enum oauth2_login_how how,
    int no_browser, FILE *out, struct err *e);

/*
 * --serverinfo (and the doctor): the account's OAuth2 state to out --
 * provider and flow, token endpoint, the state file and its mode, whether
 * a refresh token is stored, the cached access token's expiry (relative
 * and absolute) -- and then whether obtaining a token works now: the
 * grant is run exactly as a submission runs it when the cached token has
 * run out (under the state file's lock; a rotated refresh token is
 * stored).  Prints no token and no secret.  Returns 0 when the grant
 * worked, else -1 with e as oauth2_token() fills it (the report on out
 * says the same: "permanent" when only a new --oauth2-login helps,
 * "temporary" for an endpoint that is down).
 */
int oauth2_report(const struct account *a, FILE *out, struct err *e);

/*
 * ---- Pure part, for the fuzz harness: one token-endpoint (or device
 * endpoint) JSON body.  Secrets in it are wiped by
 * oauth2_reply_free(). ----
 */
struct oauth2_reply {
	char *access_token;  /* NULL when absent */
	char *refresh_token; /* NULL when absent */
	char *device_code;
	long long expires_in; /* -1 when absent */
	long long interval;   /* device grant; -1 when absent */
	char error[64];	      /* "" when absent; printable */
	char error_desc[160];
	char user_code[64];
	char verification_uri[512];
};

/*
 * Parse the len bytes at body (a JSON object; at most
 * OAUTH2_MAX_RESPONSE).  Returns NULL, or a static reason the body is
 * malformed (then r holds nothing to free but may be freed anyway).
 * Tokens must be 1..OAUTH2_MAX_TOKEN bytes of printable ASCII without
 * quotes or backslashes; other fields are bounded and made printable.
 */
const char *oauth2_parse_reply(const char *body, size_t len,
    struct oauth2_reply *r);

void oauth2_reply_free(struct oauth2_reply *r);

#endif
