/*
 * mime.c -- a bounded scan of a message body's MIME structure (see
 * mime.h): the file names of attachments, the names inside zip archives
 * (from the central directory only), and HTML links whose visible text
 * shows a host.
 *
 * Non-goals: rendering, charsets and encoded words (names are kept as
 * sent, made printable), other archive formats, decompressing anything,
 * and fetching anything: no link is followed.
 *
 * Invariants: every read is bounded by the (pointer, length) of the part
 * it belongs to; nesting stops at MIME_MAX_DEPTH and the scan at
 * MIME_MAX_PARTS parts (then "limited" is set); decoded parts live in
 * buffers no larger than the encoded text and are freed before the part
 * scan returns.
 *
 * Failure policy: malformed structure is skipped, never fatal; the caller
 * is told the scan was partial when a bound was reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"

struct part {
	const char *p;
	size_t n;
};

/* Case-insensitive search of w in [p, p + n). */
static const char *
find_ci(const char *p, size_t n, const char *w)
{
	size_t k = strlen(w), i;

	for (i = 0; k <= n && i <= n - k; i++)
		if (ascii_ncasecmp(p + i, w, k) == 0)
			return p + i;
	return NULL;
}

/* ---- header parameters (RFC 2045 5.1, RFC 2231 for name*=) ---- */

/* The value of parameter name in the field value v (n bytes). */
static int
param(const char *v, size_t n, const char *name, char *out, size_t size)
{
	const char *end = v + n, *p = v, *q;
	size_t k = strlen(name);

	out[0] = '\0';
	while ((q = find_ci(p, (size_t)(end - p), name)) != NULL) {
		p = q + k;
		if (q > v && q[-1] != ';' && q[-1] != ' ' && q[-1] != '\t')
			continue;
		if (p < end && *p == '*') { /* name*=charset'lang'value */
			while (p < end && *p != '=')
				p++;
			for (q = p; q < end && *q != ';'; q++)
				if (*q == '\'')
					p = q;
		}
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end || (*p != '=' && *p != '\''))
			continue;
		p++;
		if (p < end && *p == '"') {
			q = ++p;
			while (q < end && *q != '"')
				q++;
		} else
			for (q = p;
			     q < end && *q != ';' && *q != ' ' && *q != '\t';
			     q++)
				;
		copy_printable(out, size, p, (size_t)(q - p), 0);
		return 0;
	}
	return -1;
}

/* The unfolded value of header field name in hdr (n bytes), into out. */
static int
header(const char *hdr, size_t n, const char *name, char *out, size_t size)
{
	const char *end = hdr + n, *p = hdr, *q;
	size_t k = strlen(name), o = 0;

	while (p < end) {
		if ((size_t)(end - p) > k && ascii_ncasecmp(p, name, k) == 0 &&
		    p[k] == ':') {
			for (q = p + k + 1;
			     q < end && (*q == ' ' || *q == '\t');)
				q++;
			for (; q < end && o + 1 < size; q++) {
				if (*q == '\r' || *q == '\n') {
					if (q + 1 < end && *q == '\r' &&
					    q[1] == '\n')
						q++;
					if (q + 1 >= end ||
					    (q[1] != ' ' && q[1] != '\t'))
						break;
					continue;
				}
				out[o++] = *q;
			}
			out[o] = '\0';
			return 0;
		}
		q = memchr(p, '\n', (size_t)(end - p));
		p = q != NULL ? q + 1 : end;
	}
	return -1;
}

/* ---- decoding ---- */

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') ||
	       (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f');
}

/* Decode into a new buffer (at most n bytes); caller frees. */
static char *
decode(const char *cte, const char *p, size_t n, size_t *outn)
{
	char *out = xcalloc(1, n + 1);
	unsigned acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	if (ascii_casecmp(cte, "base64") == 0) {
		for (i = 0; i < n; i++) {
			if ((v = b64val(p[i])) < 0)
				continue;
			acc = (acc << 6) | (unsigned)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				out[o++] = (char)((acc >> bits) & 0xff);
			}
		}
	} else if (ascii_casecmp(cte, "quoted-printable") == 0) {
		for (i = 0; i < n; i++) {
			if (p[i] == '=' && i + 2 < n && p[i + 1] == '\r')
				i += 2; /* soft line break */
			else if (p[i] == '=' && i + 2 < n && is_hex(p[i + 1]) &&
				 is_hex(p[i + 2])) {
				char hex[3] = {p[i + 1], p[i + 2], '\0'};

				out[o++] = (char)strtoul(hex, NULL, 16);
				i += 2;
			} else
				out[o++] = p[i];
		}
	} else {
		memcpy(out, p, n);
		o = n;
	}
	*outn = o;
	return out;
}

/* ---- zip central directory (APPNOTE 4.3.12, 4.3.16) ---- */

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned long
le32(const unsigned char *p)
{
	return (unsigned long)le16(p) | (unsigned long)le16(p + 2) << 16;
}

static void
add_name(struct mime_scan *s, const char *name, size_t n, const char *arch)
{
	if (s->nnames == MIME_MAX_NAMES) {
		s->limited = 1;
		return;
	}
	copy_printable(s->names[s->nnames].name, MIME_NAME, name, n, 0);
	str_copy(s->names[s->nnames].archive, arch, MIME_NAME);
	s->nnames++;
}

static void
zip_names(struct mime_scan *s, const unsigned char *z, size_t n,
    const char *arch)
{
	size_t i, eocd = (size_t)-1, off, count, k, nl;

	if (n < 22)
		return;
	for (i = n - 22;; i--) { /* the comment is at most 65535 bytes */
		if (le32(z + i) == 0x06054b50UL) {
			eocd = i;
			break;
		}
		if (i == 0 || n - i > 22 + 65535)
			return;
	}
	count = le16(z + eocd + 10);
	off = le32(z + eocd + 16);
	for (k = 0; k < count && k < MIME_MAX_ZIP_ENTRIES; k++) {
		if (off > n || n - off < 46 || le32(z + off) != 0x02014b50UL)
			return;
		nl = le16(z + off + 28);
		if (n - off - 46 < nl)
			return;
		add_name(s, (const char *)z + off + 46, nl, arch);
		off += 46 + nl + le16(z + off + 30) + le16(z + off + 32);
	}
	if (count > MIME_MAX_ZIP_ENTRIES)
		s->limited = 1;
}

/* ---- HTML links ---- */

/* A host shown in text: "https://host/..." or a bare "host.tld". */
static int
text_host(const char *t, char *out, size_t size)
{
	const char *p = t, *q, *dot;

	while (*p != '\0') {
		if (ascii_ncasecmp(p, "http://", 7) == 0)
			p += 7;
		else if (ascii_ncasecmp(p, "https://", 8) == 0)
			p += 8;
		for (q = p;
		     (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		     (*q >= '0' && *q <= '9') || *q == '.' || *q == '-';
		     q++)
			;
		while (q > p && q[-1] == '.')
			q--;
		dot = memchr(p, '.', (size_t)(q - p));
		if (dot != NULL && dot > p && q - dot > 2) {
			const char *tld = strrchr(dot, '.');
			size_t i, letters = 1;

			for (i = 1; tld + i < q; i++)
				letters &= (tld[i] >= 'a' && tld[i] <= 'z') ||
					   (tld[i] >= 'A' && tld[i] <= 'Z');
			if (letters && q - tld > 2) {
				copy_printable(out, size, p, (size_t)(q - p),
				    1);
				return 0;
			}
		}
		p = *q != '\0' ? q + 1 : q;
	}
	return -1;
}

static int
url_host(const char *u, char *out, size_t size)
{
	size_t n;

	if (ascii_ncasecmp(u, "http://", 7) == 0)
		u += 7;
	else if (ascii_ncasecmp(u, "https://", 8) == 0)
		u += 8;
	else
		return -1;
	if (strchr(u, '@') != NULL && strchr(u, '@') < u + strcspn(u, "/?#"))
		u = strchr(u, '@') + 1; /* userinfo@host */
	n = strcspn(u, ":/?#");
	if (n == 0)
		return -1;
	copy_printable(out, size, u, n, 1);
	return 0;
}

/* The visible text of [p, end) without tags, at most size - 1 bytes. */
static void
visible(const char *p, const char *end, char *out, size_t size)
{
	size_t o = 0;
	int in_tag = 0;

	for (; p < end && o + 1 < size; p++) {
		if (*p == '<')
			in_tag = 1;
		else if (*p == '>')
			in_tag = 0;
		else if (!in_tag)
			out[o++] = *p == '\r' || *p == '\n' ? ' ' : *p;
	}
	out[o] = '\0';
}

static void
html_links(struct mime_scan *s, const char *h, size_t n)
{
	const char *end = h + n, *p = h, *a, *gt, *hr, *close, *v;
	char href[1024], text[1024], th[MIME_NAME], uh[MIME_NAME];
	size_t vl;

	while ((a = find_ci(p, (size_t)(end - p), "<a")) != NULL) {
		p = a + 2;
		if (p >= end ||
		    (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n'))
			continue;
		if ((gt = memchr(p, '>', (size_t)(end - p))) == NULL)
			return;
		if ((hr = find_ci(p, (size_t)(gt - p), "href")) == NULL)
			continue;
		for (v = hr + 4; v < gt && (*v == ' ' || *v == '='); v++)
			;
		if (v < gt && (*v == '"' || *v == '\'')) {
			const char *qe =
			    memchr(v + 1, *v, (size_t)(gt - v - 1));

			vl = qe != NULL ? (size_t)(qe - v - 1) : 0;
			v++;
		} else
			vl = strcspn(v, " \t\r\n>") < (size_t)(gt - v)
				 ? strcspn(v, " \t\r\n>")
				 : (size_t)(gt - v);
		copy_printable(href, sizeof(href), v, vl, 0);
		close = find_ci(gt, (size_t)(end - gt), "</a");
		if (close == NULL)
			close = end;
		visible(gt + 1, close, text, sizeof(text));
		p = close;
		if (url_host(href, uh, sizeof(uh)) == -1 ||
		    text_host(text, th, sizeof(th)) == -1 ||
		    strcmp(uh, th) == 0)
			continue;
		if (s->nlinks == MIME_MAX_LINKS) {
			s->limited = 1;
			return;
		}
		str_copy(s->links[s->nlinks].href_host, uh, MIME_NAME);
		str_copy(s->links[s->nlinks].text_host, th, MIME_NAME);
		s->nlinks++;
	}
}

/* ---- the walk ---- */

static void walk(struct mime_scan *s, const char *ctype, const char *cte,
    const char *disp, struct part body, int depth);

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && ascii_casecmp(s + n - k, suffix) == 0;
}

static void
leaf(struct mime_scan *s, const char *ctype, const char *cte, const char *disp,
    struct part body)
{
	char name[MIME_NAME] = "", *d;
	size_t dn;
	int html = ascii_ncasecmp(ctype, "text/html", 9) == 0;

	if (param(disp, strlen(disp), "filename", name, sizeof(name)) == -1)
		param(ctype, strlen(ctype), "name", name, sizeof(name));
	if (name[0] != '\0')
		add_name(s, name, strlen(name), "");
	if (!html && !ends_with(name, ".zip") &&
	    ascii_ncasecmp(ctype, "application/zip", 15) != 0)
		return;
	d = decode(cte, body.p, body.n, &dn);
	if (html)
		html_links(s, d, dn);
	else
		zip_names(s, (const unsigned char *)d, dn,
		    name[0] != '\0' ? name : "(zip)");
	free(d);
}

/* The headers and body of one part ("headers CRLF CRLF body"). */
static void
sub_part(struct mime_scan *s, struct part p, int depth)
{
	char ctype[512] = "text/plain", cte[64] = "7bit", disp[512] = "";
	const char *sep = NULL;
	size_t i, hn;

	if (p.n >= 2 && p.p[0] == '\r' && p.p[1] == '\n')
		sep = p.p; /* no headers */
	for (i = 0; sep == NULL && i + 3 < p.n; i++)
		if (memcmp(p.p + i, "\r\n\r\n", 4) == 0)
			sep = p.p + i + 2;
	if (sep == NULL)
		return;
	hn = (size_t)(sep - p.p);
	header(p.p, hn, "Content-Type", ctype, sizeof(ctype));
	header(p.p, hn, "Content-Transfer-Encoding", cte, sizeof(cte));
	header(p.p, hn, "Content-Disposition", disp, sizeof(disp));
	p.n -= hn + 2;
	p.p = sep + 2;
	walk(s, ctype, cte, disp, p, depth + 1);
}

/* The parts between "--boundary" delimiter lines (RFC 2046 5.1.1). */
static void
multipart(struct mime_scan *s, const char *ctype, struct part body, int depth)
{
	char b[80], delim[84];
	const char *end = body.p + body.n, *p = body.p, *q, *start = NULL;
	size_t dl;

	if (param(ctype, strlen(ctype), "boundary", b, sizeof(b)) == -1 ||
	    b[0] == '\0')
		return;
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", b);
	while (p < end) {
		q = memchr(p, '\n', (size_t)(end - p));
		q = q != NULL ? q + 1 : end;
		if ((size_t)(q - p) >= dl && memcmp(p, delim, dl) == 0) {
			if (start != NULL) {
				struct part sp = {start,
				    (size_t)(p - start) >= 2
					? (size_t)(p - start) - 2
					: 0};

				sub_part(s, sp, depth);
			}
			if ((size_t)(q - p) >= dl + 2 && p[dl] == '-' &&
			    p[dl + 1] == '-')
				return; /* the close delimiter */
			start = q;
		}
		p = q;
	}
	if (start != NULL) { /* no close delimiter: the rest is a part */
		struct part sp = {start, (size_t)(end - start)};

		sub_part(s, sp, depth);
	}
}

static void
walk(struct mime_scan *s, const char *ctype, const char *cte, const char *disp,
    struct part body, int depth)
{
	if (++s->parts > MIME_MAX_PARTS || depth > MIME_MAX_DEPTH) {
		s->limited = 1;
		return;
	}
	if (ascii_ncasecmp(ctype, "multipart/", 10) == 0)
		multipart(s, ctype, body, depth);
	else if (ascii_ncasecmp(ctype, "message/rfc822", 14) == 0)
		sub_part(s, body, depth);
	else
		leaf(s, ctype, cte, disp, body);
}

void
mime_scan(const char *ctype, const char *cte, const char *body, size_t len,
    struct mime_scan *out)
{
	struct part p = {body, len};

	memset(out, 0, sizeof(*out));
	walk(out, ctype != NULL ? ctype : "text/plain",
	    cte != NULL ? cte : "7bit", "", p, 0);
}
