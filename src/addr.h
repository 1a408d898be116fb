/*
 * addr.h -- e-mail addresses: RFC 5321 validation for the envelope and
 * RFC 5322 address-list parsing for To/Cc/Bcc (-t).  Pure functions on
 * bounded input; fuzzed by tests/fuzz/fuzz_addr.c.
 */
#ifndef POSTSEAL_ADDR_H
#define POSTSEAL_ADDR_H

#include <stddef.h>

#include "err.h"

#define ADDR_MAX_LOCAL 64
#define ADDR_MAX_DOMAIN 255
#define ADDR_MAX_PATH 256

/*
 * Check an envelope address (without angle brackets; "" is the null
 * sender and is valid only when allow_null).  Returns NULL if it is a valid
 * RFC 5321 Mailbox (or RFC 6531 with UTF-8, then *utf8 is set to 1), else a
 * static reason ("contains a line break", "local part longer than 64
 * octets", ...).  utf8 may be NULL.
 */
const char *addr_check(const char *addr, int allow_null, int *utf8);

/* Nonzero for an RFC 5322 atext character (ASCII only). */
int addr_is_atext(int c);

/* Caps of an addr_list: addresses, and octets per address. */
#define ADDR_LIST_MAX 10000
#define ADDR_LIST_MAX_LEN 1024

/* A list of addresses; owned strings. */
struct addr_list {
	char **v;
	size_t n;
};

void addr_list_free(struct addr_list *l);
/* Append a copy of addr (n bytes). Returns 0 or -1 (ERR_DATA past max). */
int addr_list_add(struct addr_list *l, const char *addr, size_t n,
    struct err *e);

/*
 * Parse an RFC 5322 address-list (a header field body, unfolded or not):
 * display names, comments, quoted strings, groups ("undisclosed:;") and
 * bare addresses; append each addr-spec to l.  Malformed input: ERR_DATA.
 */
int addr_parse_list(const char *value, size_t len, struct addr_list *l,
    struct err *e);

/*
 * Return a newly allocated copy of addr qualified with domain when it has no
 * '@' (cron sends to "root"), else a plain copy.  Caller frees.
 */
char *addr_qualify(const char *addr, const char *domain);

struct buf;

/*
 * Qualify an address-list field body (To, Cc, From...; folded or not):
 * every addr-spec without a domain gets "@domain", and a bare one with a
 * comment, "root (Cron Daemon)", becomes "Cron Daemon <root@domain>" (the
 * comment kept as the display name).  Returns 1 with the whole new value
 * (unfolded) appended to out, 0 when nothing needed a domain (out holds a
 * copy), -1 when the value does not parse, holds a NUL or a group that
 * needs qualifying, or out's cap was reached (then leave the field alone).
 */
int addr_qualify_header(const char *value, size_t len, const char *domain,
    struct buf *out);

/*
 * A rewrite of one addr-spec of a header field (the aliases file, issue
 * 9): returns a new single addr-spec (caller frees) to put in its place,
 * or NULL to leave it to qualification.  spec is the address without
 * comments or display name, as written (it may hold a domain).
 */
typedef char *addr_map_fn(void *arg, const char *spec);

/*
 * As addr_qualify_header(), but every addr-spec is first offered to map
 * (when not NULL): a replacement takes its place, the display name or
 * comment kept ("Root <root>" -> "Root <admin@example.org>", "root (Cron
 * Daemon)" -> "Cron Daemon <admin@example.org>").  The result is checked
 * as a whole (it parses, every address has a domain, no CR, LF or NUL);
 * else -1 and the field is left alone.
 */
int addr_rewrite_header(const char *value, size_t len, const char *domain,
    addr_map_fn *map, void *arg, struct buf *out);

/* The domain part of addr (after the last '@' outside a quoted local
 * part), or NULL. */
const char *addr_domain(const char *addr);

/*
 * Incremental UTF-8 validation (RFC 3629: no overlong forms, surrogates or
 * code points past U+10FFFF).  Start from a zeroed struct and feed bytes in
 * any chunks; the input was valid UTF-8 if !bad && need == 0 at the end.
 */
struct addr_utf8 {
	unsigned need, lo, hi, bad;
};
void addr_utf8_feed(struct addr_utf8 *s, const void *p, size_t n);
/* Nonzero if the n bytes at p are valid UTF-8 (ASCII included). */
int addr_utf8_valid(const char *p, size_t n);

#endif
