/*
 * aliases.h -- local recipients rewritten through an /etc/aliases-style
 * file (the msmtp "aliases" keyword): "root: admin@example.org".
 *
 * Syntax (aliases.c explains the details): "name: address, address",
 * continuation lines start with a blank, '#' starts a comment at the start
 * of a line or after a blank, "default:" matches names not listed.  A
 * right-hand side may name other local names; they are expanded in turn.
 * ":include:", "|command" and "/file" targets are refused (postseal
 * delivers nothing locally), as are CR, NUL, loops and duplicates.
 */
#ifndef POSTSEAL_ALIASES_H
#define POSTSEAL_ALIASES_H

#include <stddef.h>

#include "addr.h"
#include "err.h"

struct aliases;

/* Limits (past them the file is refused, ERR_CONFIG naming the line). */
#define ALIASES_MAX_FILE (1024 * 1024) /* bytes */
#define ALIASES_MAX_ENTRY 65536	       /* one entry, continuations included */
#define ALIASES_MAX_DEPTH 16	       /* name -> name -> ... */
#define ALIASES_MAX_EXPANSION 1000     /* addresses from one recipient */

/*
 * Parse the n bytes at text, read from file (named in errors).  Every
 * entry is checked, loops included.  On success *out is set (free with
 * aliases_free()).  Errors: ERR_CONFIG "file:line: reason".
 */
int aliases_parse(const char *file, const char *text, size_t n,
    struct aliases **out, struct err *e);

/* Read and parse a file (at most ALIASES_MAX_FILE bytes).  A file that
 * cannot be read is ERR_CONFIG naming it. */
int aliases_load(const char *file, struct aliases **out, struct err *e);

/* Number of entries (for newaliases' summary). */
size_t aliases_count(const struct aliases *al);

void aliases_free(struct aliases *al);

/*
 * Nonzero if addr is local: no '@', or its domain is one of the
 * NULL-terminated list local_domains (case-insensitive).
 */
int aliases_is_local(const char *addr, const char *const *local_domains);

/*
 * Expand the local address addr (its local part is looked up, case-
 * insensitively; an unlisted name takes "default:" if there is one) and
 * append the resulting addresses to out.  Addresses the file leaves local
 * (a name without an entry) are appended as the bare local part, for the
 * caller to qualify.  A name that is not listed and no default: the local
 * part itself.  Errors: ERR_CONFIG (too many addresses), ERR_DATA from
 * addr_list_add().
 */
int aliases_expand(const struct aliases *al, const char *addr,
    const char *const *local_domains, struct addr_list *out, struct err *e);

#endif
