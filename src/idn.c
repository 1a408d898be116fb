/*
 * idn.c -- look-alike analysis of internationalised domain names (see
 * idn.h).
 *
 * Non-goals: IDNA2008 validation or normalisation (a registry decides what
 * it registers; we only ask what a name looks like), the whole Unicode
 * confusables table (a short table of the Cyrillic and Greek letters that
 * are commonly used to imitate Latin ones is enough to catch the classic
 * homograph attacks), and scripts beyond a coarse classification.
 *
 * Invariants: punycode decoding is RFC 3492 6.2 with every overflow check
 * of the RFC, at most IDN_MAX_LABEL code points per label; UTF-8 is
 * decoded strictly (no overlong forms, no surrogates); all output strings
 * are NUL-terminated ASCII.
 *
 * Failure policy: a label that does not decode sets "bad" and is kept as
 * '?' in the skeleton; nothing fails.
 */
#include <string.h>

#include "buf.h"
#include "idn.h"

/* ---- punycode (RFC 3492) ---- */

enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700 };
#define MAXINT 0x7fffffffU

static unsigned
adapt(unsigned delta, unsigned npoints, int first)
{
	unsigned k = 0;

	delta = first ? delta / DAMP : delta / 2;
	delta += delta / npoints;
	while (delta > ((BASE - TMIN) * TMAX) / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

static int
digit_of(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	return BASE;
}

int
idn_punycode_decode(const char *in, size_t n, unsigned *out, size_t *outn,
    size_t max)
{
	unsigned cp = 128, i = 0, bias = 72, oldi, w, k, t, digit;
	size_t b = 0, j, o = 0, pos;

	for (j = 0; j < n; j++)
		if (in[j] == '-')
			b = j;
	for (j = 0; j < b; j++) {
		if ((unsigned char)in[j] >= 0x80 || o == max)
			return -1;
		out[o++] = (unsigned char)in[j];
	}
	for (pos = b > 0 ? b + 1 : 0; pos < n;) {
		for (oldi = i, w = 1, k = BASE;; k += BASE) {
			if (pos >= n ||
			    (digit = (unsigned)digit_of(in[pos++])) >= BASE)
				return -1;
			if (digit > (MAXINT - i) / w)
				return -1;
			i += digit * w;
			t = k <= bias	       ? TMIN
			    : k >= bias + TMAX ? TMAX
					       : k - bias;
			if (digit < t)
				break;
			if (w > MAXINT / (BASE - t))
				return -1;
			w *= BASE - t;
		}
		bias = adapt(i - oldi, (unsigned)o + 1, oldi == 0);
		if (i / (o + 1) > MAXINT - cp || o == max)
			return -1;
		cp += i / (unsigned)(o + 1);
		i %= (unsigned)(o + 1);
		memmove(out + i + 1, out + i, (o - i) * sizeof(*out));
		out[i++] = cp;
		o++;
	}
	*outn = o;
	return 0;
}

/* ---- UTF-8 ---- */

static int
utf8_decode(const char *p, size_t n, unsigned *out, size_t *outn, size_t max)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, o = 0, len, k;
	unsigned c, min;

	while (i < n) {
		c = s[i];
		len = c < 0x80		   ? 1
		      : (c & 0xe0) == 0xc0 ? 2
		      : (c & 0xf0) == 0xe0 ? 3
		      : (c & 0xf8) == 0xf0 ? 4
					   : 0;
		if (len == 0 || i + len > n || o == max)
			return -1;
		min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
		c = len == 1 ? c : c & (0x7fU >> len);
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if ((len > 1 && c < min) || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff))
			return -1;
		out[o++] = c;
		i += len;
	}
	*outn = o;
	return 0;
}

/* ---- scripts and skeletons ---- */

enum script {
	S_COMMON,
	S_LATIN,
	S_GREEK,
	S_CYRILLIC,
	S_ARMENIAN,
	S_HEBREW,
	S_ARABIC,
	S_CJK,
	S_OTHER,
	S_N
};

static const char *const script_names[S_N] = {"common", "latin", "greek",
    "cyrillic", "armenian", "hebrew", "arabic", "cjk", "other"};

static enum script
script_of(unsigned c)
{
	if ((c >= '0' && c <= '9') || c == '-' || c == '_')
		return S_COMMON;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= 0xc0 && c <= 0x24f && c != 0xd7 && c != 0xf7))
		return S_LATIN;
	if (c >= 0x370 && c <= 0x3ff)
		return S_GREEK;
	if (c >= 0x400 && c <= 0x52f)
		return S_CYRILLIC;
	if (c >= 0x530 && c <= 0x58f)
		return S_ARMENIAN;
	if (c >= 0x590 && c <= 0x5ff)
		return S_HEBREW;
	if (c >= 0x600 && c <= 0x6ff)
		return S_ARABIC;
	if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x4e00 && c <= 0x9fff) ||
	    (c >= 0xac00 && c <= 0xd7af))
		return S_CJK;
	return S_OTHER;
}

/* Letters that look like Latin ones (lower case; a subset of Unicode's
 * confusables for Cyrillic, Greek and accented Latin). */
static const struct {
	unsigned cp;
	char ascii;
} confusable[] = {
    {0x430, 'a'},
    {0x410, 'a'},
    {0x435, 'e'},
    {0x415, 'e'},
    {0x43e, 'o'},
    {0x41e, 'o'},
    {0x440, 'p'},
    {0x420, 'p'},
    {0x441, 'c'},
    {0x421, 'c'},
    {0x443, 'y'},
    {0x445, 'x'},
    {0x425, 'x'},
    {0x455, 's'},
    {0x456, 'i'},
    {0x406, 'i'},
    {0x458, 'j'},
    {0x501, 'd'},
    {0x4bb, 'h'},
    {0x4cf, 'l'},
    {0x51b, 'q'},
    {0x51d, 'w'},
    {0x3bf, 'o'},
    {0x39f, 'o'},
    {0x3b1, 'a'},
    {0x3bd, 'v'},
    {0x3b9, 'i'},
    {0x3ba, 'k'},
    {0x3c1, 'p'},
    {0x3c5, 'u'},
    {0x3c4, 't'},
    {0xe0, 'a'},
    {0xe1, 'a'},
    {0xe2, 'a'},
    {0xe3, 'a'},
    {0xe4, 'a'},
    {0xe5, 'a'},
    {0xe7, 'c'},
    {0xe8, 'e'},
    {0xe9, 'e'},
    {0xea, 'e'},
    {0xeb, 'e'},
    {0xec, 'i'},
    {0xed, 'i'},
    {0xee, 'i'},
    {0xef, 'i'},
    {0xf1, 'n'},
    {0xf2, 'o'},
    {0xf3, 'o'},
    {0xf4, 'o'},
    {0xf5, 'o'},
    {0xf6, 'o'},
    {0xf9, 'u'},
    {0xfa, 'u'},
    {0xfb, 'u'},
    {0xfc, 'u'},
    {0xfd, 'y'},
    {0xff, 'y'},
    {0x131, 'i'},
    {0x261, 'g'},
};

static char
skeleton_of(unsigned c)
{
	size_t i;

	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : (char)c;
	for (i = 0; i < sizeof(confusable) / sizeof(confusable[0]); i++)
		if (confusable[i].cp == c)
			return confusable[i].ascii;
	return '?';
}

static void
label_scripts(struct idn_info *out, const unsigned *cp, size_t n)
{
	int seen[S_N] = {0}, kinds = 0, s;
	size_t i;

	for (i = 0; i < n; i++)
		seen[script_of(cp[i])] = 1;
	for (s = S_LATIN; s < S_N; s++)
		kinds += seen[s];
	if (kinds < 2 || out->mixed)
		return;
	out->mixed = 1;
	out->scripts[0] = '\0';
	for (s = S_LATIN; s < S_N; s++)
		if (seen[s]) {
			if (out->scripts[0] != '\0')
				strncat(out->scripts, "+",
				    sizeof(out->scripts) -
					strlen(out->scripts) - 1);
			strncat(out->scripts, script_names[s],
			    sizeof(out->scripts) - strlen(out->scripts) - 1);
		}
}

static void
add_skel(struct idn_info *out, size_t *o, char c)
{
	if (*o + 1 < sizeof(out->skeleton))
		out->skeleton[(*o)++] = c;
	out->skeleton[*o] = '\0';
}

void
idn_analyse(const char *domain, struct idn_info *out)
{
	unsigned cp[IDN_MAX_LABEL * 4];
	const char *p = domain, *dot;
	size_t n, ncp, i, o = 0;
	int r, hi;

	memset(out, 0, sizeof(*out));
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		hi = 0;
		for (i = 0; i < n; i++)
			hi |= (unsigned char)p[i] >= 0x80;
		if (n > 4 && ascii_ncasecmp(p, "xn--", 4) == 0) {
			out->idn = 1;
			r = idn_punycode_decode(p + 4, n - 4, cp, &ncp,
			    IDN_MAX_LABEL);
		} else {
			out->idn |= hi;
			r = utf8_decode(p, n, cp, &ncp,
			    sizeof(cp) / sizeof(cp[0]));
		}
		if (r == -1) {
			out->bad = 1;
			add_skel(out, &o, '?');
		} else {
			label_scripts(out, cp, ncp);
			for (i = 0; i < ncp; i++)
				add_skel(out, &o, skeleton_of(cp[i]));
		}
		if (dot == NULL)
			break;
		add_skel(out, &o, '.');
		p = dot + 1;
	}
}
