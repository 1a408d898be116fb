/*
 * tls.h -- a TLS client session on a connected, non-blocking socket
 * (GnuTLS).  The only module that touches a gnutls_session_t.
 *
 * Nothing here waits: every operation returns TLS_IO_WANT_READ or
 * TLS_IO_WANT_WRITE when the socket is not ready, and net.c polls with the
 * deadline and calls again.  Verification is part of the handshake: when
 * tls_handshake() returns TLS_IO_DONE the peer is authenticated (trusted
 * chain and host name, and/or the pinned SHA-256 fingerprint) and the
 * protocol is TLS 1.2 or newer.  A session this client verified under the
 * same settings may be resumed (kept in the state directory, state.c):
 * see tls.c, ticket_path(), and SECURITY.md N7.
 */
#ifndef POSTSEAL_TLS_H
#define POSTSEAL_TLS_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct tls;

struct tls_params {
	const char *host;	 /* SNI and certificate name (required) */
	int certcheck;		 /* 0: only the fingerprint authenticates */
	const char *trust_file;	 /* PEM CA file; NULL or "system": system */
	const char *fingerprint; /* SHA-256 hex, colons optional, or NULL */
	const char *cert_file;	 /* client certificate (PEM) or NULL */
	const char *key_file;	 /* its key (PEM) or NULL */
	const char *priorities;	 /* GnuTLS priority string or NULL */
	/* DANE (RFC 7672, tls_dane): the smarthost's DNSSEC-validated
	 * TLSA records as "USAGE SELECTOR MTYPE HEX" (dns.h), or none.
	 * With records, the usable ones (DANE-TA(2), DANE-EE(3)) verify
	 * the peer instead of the CA check; with none usable the CA check
	 * applies, unless dane_required (tls_dane on): then it fails. */
	const char *const *tlsa;
	size_t ntlsa; /* at most TLS_DANE_MAX */
	int dane_required;
	const char *tlsa_name;	   /* "_PORT._tcp.HOST", for messages */
	const char *dane_alt_name; /* HOST's CNAME expansion or NULL:
				    * DANE-TA accepts it too */
};

#define TLS_DANE_MAX 16 /* TLSA records one verification considers */

enum tls_io {
	TLS_IO_DONE = 0,
	TLS_IO_WANT_READ,
	TLS_IO_WANT_WRITE,
	TLS_IO_EOF,
	TLS_IO_ERROR /* e is filled */
};

/*
 * Prepare a client session on fd (borrowed; not closed by tls_free()).
 * Checks the parameters: tls_certcheck off without a fingerprint, a bad
 * fingerprint, a certificate without key and the like are ERR_CONFIG; a
 * trust or key file that cannot be loaded is ERR_CONFIG too.  With a
 * connected fd, a cached session for these parameters and this peer is
 * offered.  The minimum
 * protocol is TLS 1.2: our default priority string is
 * "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", and a user's string gets
 * ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1" appended.  On success *out is
 * set; free with tls_free().
 */
int tls_new(int fd, const struct tls_params *p, struct tls **out,
    struct err *e);

/*
 * Advance the handshake.  TLS_IO_ERROR (ERR_TEMP) for a failed handshake,
 * a certificate that does not verify (the reason is in the text), a
 * fingerprint mismatch or a protocol older than TLS 1.2.
 */
enum tls_io tls_handshake(struct tls *t, struct err *e);

/*
 * Read up to n bytes of application data into buf; *got is set on
 * TLS_IO_DONE (at least 1).  TLS_IO_EOF on close_notify or an orderly TCP
 * close.  Warning alerts and renegotiation requests are ignored (reported
 * as TLS_IO_WANT_READ so the caller re-checks its deadline).
 */
enum tls_io tls_recv(struct tls *t, void *buf, size_t n, size_t *got,
    struct err *e);

/* Application data GnuTLS holds already decrypted (check before poll()). */
size_t tls_pending(const struct tls *t);

/*
 * The plaintext one record carries at most (16384 unless the server asked
 * for less, RFC 8449), for writes that end where a record does; 0 for no
 * TLS (t NULL) or an unusual size.
 */
size_t tls_record_size(const struct tls *t);

/*
 * Writing: tls_queue() buffers n bytes as TLS records (the session is
 * corked, so a flight leaves in as few TCP writes as possible) and
 * tls_flush() pushes them out; call tls_flush() again after
 * TLS_IO_WANT_WRITE/READ until TLS_IO_DONE.
 */
int tls_queue(struct tls *t, const void *buf, size_t n, struct err *e);
enum tls_io tls_flush(struct tls *t, struct err *e);

/*
 * Channel binding for SCRAM-*-PLUS: tls-exporter (RFC 9266) on TLS 1.3,
 * tls-unique (RFC 5929) on TLS 1.2.  Copies at most size bytes to out and
 * sets *len and *exporter (1: tls-exporter, 0: tls-unique).  Returns -1
 * when no binding is available (no error is filled: callers just skip
 * the -PLUS mechanisms).
 */
int tls_channel_binding(struct tls *t, unsigned char *out, size_t size,
    size_t *len, int *exporter);

/* "TLS1.3/AES-256-GCM" after the handshake, else NULL. */
const char *tls_info(const struct tls *t);

/*
 * --serverinfo: print the session parameters and the peer certificate
 * (subject, issuer, validity, SHA-256 fingerprint) to out.
 */
void tls_print(const struct tls *t, FILE *out);

/*
 * Send close_notify now, without waiting (so it can leave in the same
 * flight as the last application data, QUIT); reading stays possible
 * (TLS 1.3 closes each direction on its own).  Once only; tls_free()
 * does not send it again.  Returns 0, or -1 if it was not sent.
 */
int tls_close_write(struct tls *t);

/*
 * Keep the session for resumption if the handshake succeeded, send
 * close_notify if possible without waiting, then free.  NULL is ok.
 */
void tls_free(struct tls *t);

/*
 * Parse a SHA-256 fingerprint: 64 hex digits, optionally separated by
 * colons between the bytes.  Returns 0 or -1.  Exposed for the tests.
 */
int tls_parse_fingerprint(const char *s, unsigned char out[32]);

/*
 * Parse one TLSA record's text ("3 1 1 0a1b...") into its RDATA
 * (RFC 6698 2.1) in out (size bytes); sets *len.  Returns 0, or -1 for
 * malformed text.  *usable is set to 1 for a record RFC 7672 3.1 lets
 * SMTP use: usage DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching
 * type 0, 1 (32 bytes) or 2 (64 bytes).  Exposed for the tests.
 */
int tls_parse_tlsa(const char *s, unsigned char *out, size_t size, size_t *len,
    int *usable);

/* After the handshake: 3 when a DANE-EE record authenticated the peer,
 * 2 for DANE-TA, 0 when DANE did not (or a resumed session). */
int tls_dane_usage(const struct tls *t);

/* The peer certificate's notAfter (seconds since the epoch), or -1
 * (for the doctor's days-to-expiry). */
long long tls_peer_expiry(const struct tls *t);

#endif
