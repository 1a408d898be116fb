/*
 * dkim_tool.c -- the DKIM command-line modes: key generation with the DNS
 * record to publish, and a verifier (the signing filter is in submit.c).  All
 * DKIM work is done by dkim.c; this file handles arguments, files and output.
 *
 * Non-goals: sending mail (the filter only writes stdout), key rotation,
 * publishing records.
 *
 * Invariants: a key file is created with O_EXCL and mode 0600 and is
 * removed again if writing it fails; the record is printed only after the
 * key is safely on disk.  --dns-record files are read whole, capped at
 * 64 KiB each.
 *
 * Failure policy: bad arguments are ERR_USAGE, an unreadable record file
 * ERR_NOINPUT, a key file that exists ERR_CANTCREAT; verification that
 * fails is ERR_DATA after every result line has been printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "dkim.h"
#include "dkim_tool.h"
#include "err.h"
#include "message.h"

#define RECORD_FILE_MAX 65536
#define TXT_STRING_MAX 255 /* RFC 1035 character-string */

/* ---- --dkim-keygen ---- */

static int
keygen_args(const struct opts *o, enum dkim_alg *alg, unsigned *bits,
    struct err *e)
{
	if (o->dkim_type != NULL && strcmp(o->dkim_type, "rsa") == 0)
		*alg = DKIM_RSA_SHA256;
	else if (o->dkim_type != NULL && strcmp(o->dkim_type, "ed25519") == 0)
		*alg = DKIM_ED25519_SHA256;
	else
		return err_set(e, ERR_USAGE,
		    "--dkim-keygen needs --type rsa "
		    "or --type ed25519");
	if (*alg == DKIM_ED25519_SHA256 && o->dkim_bits != 0)
		return err_set(e, ERR_USAGE, "--bits applies to rsa keys only");
	*bits = o->dkim_bits != 0 ? o->dkim_bits : 2048;
	if (*alg == DKIM_RSA_SHA256 &&
	    (*bits < DKIM_RSA_MIN_BITS || *bits > DKIM_RSA_MAX_BITS))
		return err_set(e, ERR_USAGE, "--bits: %d to %d",
		    DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
	if (o->dkim_domain == NULL || !dkim_valid_name(o->dkim_domain))
		return err_set(e, ERR_USAGE,
		    "--dkim-keygen needs a valid "
		    "--domain");
	if (o->dkim_selector == NULL || !dkim_valid_name(o->dkim_selector))
		return err_set(e, ERR_USAGE,
		    "--dkim-keygen needs a valid "
		    "--selector");
	if (o->dkim_out == NULL || o->dkim_out[0] == '\0')
		return err_set(e, ERR_USAGE, "--dkim-keygen needs --out FILE");
	return 0;
}

/* Create path (never overwriting), mode 0600, durably. */
static int
write_key_file(const char *path, const char *data, size_t n, struct err *e)
{
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "%s: %s%s", path,
		    strerror(errno),
		    errno == EEXIST ? " (not overwriting a key)" : "");
	if (fchmod(fd, 0600) == -1 || fd_write_all(fd, data, n) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		return err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(path);
		return err_set(e, ERR_IO, "%s: %s", path, strerror(saved));
	}
	return 0;
}

/* Zone-file form; the text split into strings of at most 255 bytes. */
static void
print_record(FILE *fp, const char *selector, const char *domain,
    const char *txt, size_t n)
{
	size_t k;

	fprintf(fp, "%s._domainkey.%s. IN TXT", selector, domain);
	if (n <= TXT_STRING_MAX) {
		fprintf(fp, " \"%.*s\"\n", (int)n, txt);
		return;
	}
	fputs(" (\n", fp);
	while (n > 0) {
		k = n > TXT_STRING_MAX ? TXT_STRING_MAX : n;
		fprintf(fp, "\t\"%.*s\"%s\n", (int)k, txt, k == n ? " )" : "");
		txt += k;
		n -= k;
	}
}

int
dkim_tool_keygen(const struct opts *o, struct err *e)
{
	enum dkim_alg alg = DKIM_RSA_SHA256;
	unsigned bits = 0;
	struct buf pem, rec;
	struct dkim_key *k = NULL;
	int rc = -1;

	if (keygen_args(o, &alg, &bits, e) == -1)
		return -1;
	buf_init(&pem, RECORD_FILE_MAX);
	buf_init(&rec, RECORD_FILE_MAX);
	/* Parse what we generated: the file we write is one we can load. */
	if (dkim_key_generate(alg, bits, &pem, e) == 0 &&
	    dkim_key_parse(pem.data, pem.len, alg, &k, e) == 0 &&
	    dkim_key_record(k, &rec, e) == 0 &&
	    write_key_file(o->dkim_out, pem.data, pem.len, e) == 0) {
		print_record(stdout, o->dkim_selector, o->dkim_domain, rec.data,
		    rec.len);
		rc = 0;
	}
	dkim_key_free(k);
	buf_wipe(&pem);
	buf_reset(&rec);
	return rc;
}

/* ---- --dkim-verify ---- */

struct record {
	char *name; /* without a final dot */
	struct buf txt;
};

struct records {
	struct record *r;
	size_t n;
};

/* Join the quoted strings of zone-file text ("a" "b" -> ab). */
static int
join_quoted(const char *p, size_t n, struct buf *out)
{
	const char *end = p + n;
	int in = 0, r = 0;

	for (; p < end && r == 0; p++) {
		if (*p == '"')
			in = !in;
		else if (in && *p == '\\' && p + 1 < end)
			r = buf_addch(out, *++p);
		else if (in)
			r = buf_addch(out, *p);
	}
	return in ? -1 : r;
}

/* Read a file of at most RECORD_FILE_MAX bytes; -1 with errno set. */
static int
read_small(const char *path, char *data, size_t *len)
{
	ssize_t r = 0;
	int fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		r = read(fd, data + *len, RECORD_FILE_MAX + 1 - *len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
		if (*len > RECORD_FILE_MAX) {
			errno = EFBIG;
			r = -1;
			break;
		}
	}
	close(fd);
	return r == -1 ? -1 : 0;
}

static int
record_text(const char *path, struct buf *txt, struct err *e)
{
	char *data = xcalloc(1, RECORD_FILE_MAX + 1);
	size_t len = 0;
	int rc = 0;

	if (read_small(path, data, &len) == -1)
		rc = err_set(e, ERR_NOINPUT, "%s: %s", path, strerror(errno));
	else if (memchr(data, '\0', len) != NULL)
		rc = err_set(e, ERR_NOINPUT, "%s: NUL in the record", path);
	else if (memchr(data, '"', len) != NULL) {
		if (join_quoted(data, len, txt) == -1)
			rc = err_set(e, ERR_NOINPUT, "%s: unbalanced quotes",
			    path);
	} else {
		while (len > 0 && strchr(" \t\r\n", data[len - 1]) != NULL)
			len--;
		rc = buf_add(txt, data, len);
	}
	free(data);
	return rc;
}

static void
records_free(struct records *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->r[i].name);
		buf_reset(&rs->r[i].txt);
	}
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

static int
records_load(const struct opts *o, struct records *rs, struct err *e)
{
	const char *arg, *eq;
	struct record *r;
	size_t i, nl;

	rs->r = xcalloc(o->ndns_records + 1, sizeof(*rs->r));
	rs->n = 0;
	for (i = 0; i < o->ndns_records; i++) {
		arg = o->dns_records[i];
		if ((eq = strchr(arg, '=')) == NULL || eq == arg)
			return err_set(e, ERR_USAGE,
			    "--dns-record %s: NAME=FILE expected", arg);
		nl = (size_t)(eq - arg);
		if (arg[nl - 1] == '.')
			nl--;
		r = &rs->r[rs->n++];
		r->name = xstrndup(arg, nl);
		buf_init(&r->txt, RECORD_FILE_MAX);
		if (record_text(eq + 1, &r->txt, e) == -1)
			return -1;
	}
	return 0;
}

static int
records_lookup(void *arg, const char *name, struct buf *txt, struct err *e)
{
	const struct records *rs = arg;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (ascii_casecmp(rs->r[i].name, name) != 0)
			continue;
		buf_clear(txt);
		if (buf_add(txt, rs->r[i].txt.data ? rs->r[i].txt.data : "",
			rs->r[i].txt.len) == -1)
			return err_set(e, ERR_DATA, "record too long");
		return 0;
	}
	return err_set(e, ERR_NOINPUT,
	    "no TXT record (none given with "
	    "--dns-record)");
}

static int
report(const struct dkim_result *res, size_t n, struct err *e)
{
	size_t i, nfail = 0;

	for (i = 0; i < n; i++) {
		printf("signature %zu: %s\n", i + 1, res[i].line);
		nfail += res[i].pass ? 0 : 1;
	}
	if (n == 0) {
		printf("no DKIM-Signature field\n");
		return err_set(e, ERR_DATA, "the message is not DKIM-signed");
	}
	if (nfail > 0)
		return err_set(e, ERR_DATA, "%zu of %zu DKIM signatures failed",
		    nfail, n);
	return 0;
}

int
dkim_tool_verify(const struct opts *o, struct err *e)
{
	struct records rs = {NULL, 0};
	struct message *m = NULL;
	struct message_read_opts ro;
	struct dkim_result *res = NULL;
	size_t nres = 0;
	int rc = -1;

	memset(&ro, 0, sizeof(ro));
	ro.ignore_dots = 1;
	if (records_load(o, &rs, e) == 0 &&
	    message_read(STDIN_FILENO, &ro, &m, e) == 0 &&
	    dkim_verify_message(m, o->dkim_time,
		rs.n > 0 ? records_lookup : dkim_dns_txt, &rs, &res, &nres,
		e) == 0)
		rc = report(res, nres, e);
	free(res);
	message_free(m);
	records_free(&rs);
	return rc;
}
