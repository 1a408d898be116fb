/*
 * idn.h -- look-alike analysis of internationalised domain names for
 * --inspect (issue 14): punycode (RFC 3492) and UTF-8 labels decoded, the
 * scripts each label mixes, and an ASCII "skeleton" in which letters that
 * look like Latin ones (Cyrillic "а", Greek "ο", ...) are replaced by
 * them, to compare with the domains a message may imitate.
 */
#ifndef POSTSEAL_IDN_H
#define POSTSEAL_IDN_H

#include <stddef.h>

#define IDN_MAX_LABEL 63 /* code points per decoded label */

/*
 * Decode the punycode label in (n bytes, without "xn--") into at most max
 * code points.  Returns 0, or -1 for bad input or overflow.
 */
int idn_punycode_decode(const char *in, size_t n, unsigned *out, size_t *outn,
    size_t max);

struct idn_info {
	int idn;	  /* a label was punycode or non-ASCII */
	int mixed;	  /* a label mixes scripts (e.g. Latin and Cyrillic) */
	int bad;	  /* a label did not decode */
	char scripts[64]; /* "latin+cyrillic" for the first mixed label */
	char skeleton[256]; /* lower-case ASCII; '?' for unmapped letters */
};

/* Analyse domain (ASCII with xn-- labels, or UTF-8).  Never fails. */
void idn_analyse(const char *domain, struct idn_info *out);

#endif
