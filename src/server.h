/*
 * server.h -- -bs: an SMTP dialogue on standard input and output, as
 * Symfony Mailer and Laravel speak it to "sendmail -bs".  Each message
 * takes the normal path (submit_fd(): aliases, headers, DKIM, queue,
 * smarthost); its 250 comes only once it is delivered or durably queued.
 */
#ifndef POSTSEAL_SERVER_H
#define POSTSEAL_SERVER_H

#include <stddef.h>

#include "cli.h"
#include "config.h"
#include "err.h"

/* Bounds (RFC 5321 section 4.5.3 minimums, and our client's). */
#define SERVER_MAX_LINE 2048  /* a command line with its CRLF (NET_MAX_LINE) */
#define SERVER_MAX_RCPTS 1000 /* per message; past it 452 */
#define SERVER_MAX_ERRORS 20  /* bad commands before 421 and the end */
#define SERVER_TIMEOUT 300    /* seconds per read (RFC 5321 4.5.3.2.7) */
#define SERVER_MAX_MESSAGES 1000 /* per dialogue */

/*
 * Run the dialogue on fds in (commands, data) and out (replies) until
 * QUIT, end of input, a timeout or too many errors.  o gives the defaults
 * (-C, -a, -od..., -v); MAIL FROM and RCPT TO the envelope.  Returns 0
 * after QUIT or end of input between transactions; -1 with e filled if
 * the dialogue broke off (a message in progress was not acknowledged, so
 * the client still has it) or a reply could not be written.
 */
int server_run(const struct opts *o, const struct config *cfg, int in, int out,
    struct err *e);

/* Instead of the greeting, when the configuration cannot be loaded: one
 * "421 4.3.0 ..." line naming the problem, so the client retries later. */
void server_refuse(int out, const struct err *e);

/*
 * The command parser on its own (for tests and fuzzing): split one
 * command line (without CRLF) into its verb index in the command table
 * (-1: unknown) and its argument.  Returns the index.
 */
int server_parse_verb(const char *line, size_t len, const char **arg);

/*
 * Parse the path of "MAIL FROM:" or "RCPT TO:" (arg points after the
 * colon): "<addr>" (a source route is dropped), then parameters.  On
 * success *addr is a copy (caller frees) and *params points at the rest.
 * Returns NULL, or a static reason for a 501.
 */
const char *server_parse_path(const char *arg, char **addr,
    const char **params);

#endif
