/*
 * e2e.c -- end-to-end protection of a submitted message, through GPGME:
 * OpenPGP/MIME (RFC 3156) with gpg and S/MIME (RFC 8551) with gpgsm.
 *
 * The message is complete and 7-bit when it arrives here (submit.c calls
 * message_make_safe() without 8-bit first), so the entity signed is the
 * entity sent: its Content-* fields and its body, CRLF throughout.  The
 * result is a new message (outer headers, then the MIME structure) read
 * back through message_read(), so DKIM (dkim.c) signs it afterwards and the
 * queue stores exactly these bytes: a queue run never signs or encrypts.
 *
 * Policy: pgp_encrypt / smime_encrypt "opportunistic" encrypts only when
 * every recipient and the sender have a valid, trusted key, "always"
 * refuses otherwise (ERR_DATA naming each recipient).  Encryption is always
 * to the sender's own key too.  A recipient that is in no To/Cc field (a
 * Bcc) would be named by its key in the copy everyone gets, so with
 * encryption each gets a copy of its own (e2e_submit()), and every copy is
 * protected before the first is handed off.  e2e_protect_headers copies
 * the header fields into the protected part (RFC 9788) and, when
 * encrypting, sends Subject "..." outside.
 *
 * Passphrases never come from a prompt: OpenPGP's pinentry is in loopback
 * mode and the callback answers with pgp_passphrase_eval's output or
 * cancels.  GPGME's gpgsm engine takes no callback, so a locked S/MIME key
 * is unlocked in gpg-agent itself first (smime_unlock()), with the same
 * command's output.
 * Non-goals: decryption, verification, key management.  This is the only
 * file that includes gpgme.h.
 */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gpgme.h>

#include "addr.h"
#include "buf.h"
#include "dl.h"
#include "e2e.h"
#include "log.h"

/* GPGME, loaded by job_open() on first use (dl.h). */
/* clang-format off */
#define GPGME_FUNCTIONS(X) X(gpgme_check_version_internal) \
	X(gpgme_ctx_set_engine_info) X(gpgme_data_new) \
	X(gpgme_data_new_from_mem) X(gpgme_data_release) \
	X(gpgme_data_release_and_get_mem) X(gpgme_engine_check_version) \
	X(gpgme_free) X(gpgme_hash_algo_name) X(gpgme_io_writen) \
	X(gpgme_key_unref) X(gpgme_new) X(gpgme_op_assuan_transact_ext) \
	X(gpgme_op_conf_dir) X(gpgme_op_encrypt) X(gpgme_op_encrypt_sign) \
	X(gpgme_op_export) X(gpgme_op_keylist_end) X(gpgme_op_keylist_next) \
	X(gpgme_op_keylist_start) X(gpgme_op_sign) X(gpgme_op_sign_result) \
	X(gpgme_release) X(gpgme_set_armor) X(gpgme_set_keylist_mode) \
	X(gpgme_set_passphrase_cb) X(gpgme_set_pinentry_mode) \
	X(gpgme_set_protocol) X(gpgme_signers_add) X(gpgme_strerror)
/* clang-format on */
DL_LIBRARY(GPGME_FUNCTIONS);

/* The protected entity and its wrapping are built in memory. */
#define E2E_MAX (256ULL * 1024 * 1024)
#define E2E_WARN_DAYS 30
/* The hash smime_unlock() has the agent sign. */
#define ZERO_SHA256                                                            \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct job {
	const struct account *a;
	gpgme_ctx_t ctx;
	gpgme_protocol_t proto;
	gpgme_key_t signer;
	gpgme_key_t *keys; /* NULL-terminated; room for rcpts + sender */
	size_t nkeys;
	int sign, encrypt, hp;
	char boundary[48];
	char *pass;
	int pass_asked;
};

int
e2e_active(const struct account *a)
{
	return a->pgp_sign != NULL || a->smime_sign != NULL ||
	       a->pgp_encrypt != CONF_ENCRYPT_NEVER ||
	       a->smime_encrypt != CONF_ENCRYPT_NEVER || a->autocrypt;
}

static int
gerr(struct err *e, enum err_kind k, const char *what, gpgme_error_t g)
{
	return err_set(e, k, "%s: %s", what, lib.gpgme_strerror(g));
}

/* Loopback pinentry (never a prompt): pgp_passphrase_eval or cancel. */
static gpgme_error_t
pass_cb(void *hook, const char *uid_hint, const char *info, int prev_bad,
    int fd)
{
	struct job *j = hook;
	struct err e2 = {0};

	(void)uid_hint;
	(void)info;
	if (prev_bad || j->pass_asked++ > 0)
		return gpg_error(GPG_ERR_BAD_PASSPHRASE);
	if (j->pass == NULL &&
	    (config_pgp_passphrase(j->a, &j->pass, &e2) == -1 ||
		j->pass == NULL)) {
		if (e2.text[0] != '\0')
			log_warn("%s", e2.text);
		return gpg_error(GPG_ERR_NO_PASSPHRASE);
	}
	if (lib.gpgme_io_writen(fd, j->pass, strlen(j->pass)) != 0 ||
	    lib.gpgme_io_writen(fd, "\n", 1) != 0)
		return gpg_error(GPG_ERR_CANCELED);
	return 0;
}

static int
job_open(struct job *j, const struct account *a, struct err *e)
{
	gpgme_error_t g;

	j->a = a;
	j->proto =
	    a->smime_sign != NULL || a->smime_encrypt != CONF_ENCRYPT_NEVER
		? GPGME_PROTOCOL_CMS
		: GPGME_PROTOCOL_OpenPGP;
	if (DL_LOAD(GPGME_SONAME, e) == -1)
		return err_prefix(e, "%s",
		    j->proto == GPGME_PROTOCOL_CMS ? "S/MIME" : "OpenPGP");
	/* GPGME's macro: the version check that also sets up the library. */
	lib.gpgme_check_version(NULL);
	if ((g = lib.gpgme_engine_check_version(j->proto)) != 0)
		return gerr(e, ERR_CONFIG,
		    j->proto == GPGME_PROTOCOL_CMS ? "gpgsm" : "gpg", g);
	if ((g = lib.gpgme_new(&j->ctx)) != 0)
		return gerr(e, ERR_TEMP, "gpgme", g);
	if ((g = lib.gpgme_set_protocol(j->ctx, j->proto)) != 0 ||
	    (a->gpg_home != NULL && (g = lib.gpgme_ctx_set_engine_info(j->ctx,
					 j->proto, NULL, a->gpg_home)) != 0) ||
	    (g = lib.gpgme_set_pinentry_mode(j->ctx,
		 GPGME_PINENTRY_MODE_LOOPBACK)) != 0)
		return gerr(e, ERR_CONFIG, "gpg_home", g);
	/* GPGME's gpgsm engine takes no passphrase callback ("Not
	 * implemented"): see smime_unlock(). */
	if (j->proto == GPGME_PROTOCOL_OpenPGP)
		lib.gpgme_set_passphrase_cb(j->ctx, pass_cb, j);
	lib.gpgme_set_armor(j->ctx, j->proto == GPGME_PROTOCOL_OpenPGP);
	lib.gpgme_set_keylist_mode(j->ctx,
	    GPGME_KEYLIST_MODE_LOCAL | GPGME_KEYLIST_MODE_VALIDATE);
	return 0;
}

static void
job_close(struct job *j)
{
	size_t i;

	for (i = 0; i < j->nkeys; i++)
		lib.gpgme_key_unref(j->keys[i]);
	free(j->keys);
	if (j->signer != NULL)
		lib.gpgme_key_unref(j->signer);
	if (j->ctx != NULL)
		lib.gpgme_release(j->ctx);
	str_wipe_free(j->pass);
}

/* ---- keys ---- */

/* The uid names exactly this address (gpg: "address", gpgsm: "<...>"). */
static int
uid_is(const gpgme_user_id_t u, const char *addr)
{
	const char *s = u->address != NULL ? u->address : u->email;
	size_t n;

	if (s == NULL)
		return 0;
	if (*s == '<')
		s++;
	n = strlen(addr);
	return ascii_ncasecmp(s, addr, n) == 0 &&
	       (s[n] == '\0' || (s[n] == '>' && s[n + 1] == '\0'));
}

/* NULL if k can do the job for addr (NULL: any uid), else why not. */
static const char *
key_unusable(const gpgme_key_t k, const char *addr, int secret)
{
	gpgme_user_id_t u;
	int valid = 0;

	if (k->revoked)
		return "revoked";
	if (k->expired)
		return "expired";
	if (k->disabled || k->invalid)
		return "disabled or invalid";
	if (secret ? !k->can_sign || !k->secret : !k->can_encrypt)
		return secret ? "not a signing key" : "not an encryption key";
	for (u = k->uids; u != NULL; u = u->next) {
		if (u->revoked || u->invalid || (addr && !uid_is(u, addr)))
			continue;
		if (secret || u->validity >= GPGME_VALIDITY_FULL)
			valid = 1;
	}
	if (!valid)
		return addr != NULL ? "not trusted" : "no valid user ID";
	return NULL;
}

/*
 * The first usable key for pattern; *why says why none was (the reason of
 * the last key seen, or "no key").
 */
static gpgme_key_t
find_key(struct job *j, const char *pattern, const char *addr, int secret,
    const char **why)
{
	gpgme_key_t k, found = NULL;
	const char *r;

	*why = "no key";
	if (lib.gpgme_op_keylist_start(j->ctx, pattern, secret) != 0)
		return NULL;
	while (found == NULL && lib.gpgme_op_keylist_next(j->ctx, &k) == 0) {
		if ((r = key_unusable(k, addr, secret)) == NULL)
			found = k;
		else {
			*why = r;
			lib.gpgme_key_unref(k);
		}
	}
	lib.gpgme_op_keylist_end(j->ctx);
	return found;
}

static int
load_signer(struct job *j, struct err *e)
{
	const char *name =
	    j->proto == GPGME_PROTOCOL_CMS ? j->a->smime_sign : j->a->pgp_sign;
	const char *why;
	gpgme_error_t g;

	if (name == NULL)
		return 0;
	if ((j->signer = find_key(j, name, NULL, 1, &why)) == NULL)
		return err_set(e, ERR_CONFIG, "account %s: %s %s: %s",
		    j->a->name,
		    j->proto == GPGME_PROTOCOL_CMS ? "smime_sign" : "pgp_sign",
		    name, why);
	if ((g = lib.gpgme_signers_add(j->ctx, j->signer)) != 0)
		return gerr(e, ERR_TEMP, "gpgme_signers_add", g);
	j->sign = 1;
	return 0;
}

/* Append "addr (why)" to the list of recipients without a key. */
static void
note_missing(struct buf *b, const char *addr, const char *why)
{
	if (b->len > 0)
		(void)buf_addstr(b, ", ");
	(void)buf_printf(b, "%s (%s)", addr, why);
}

static int
add_key(struct job *j, const char *addr, struct buf *missing)
{
	char pat[ADDR_LIST_MAX_LEN + 3];
	const char *why;
	gpgme_key_t k;
	size_t i;

	for (i = 0; i < j->nkeys; i++) /* the sender may also be a rcpt */
		if (j->keys[i]->subkeys != NULL && j->keys[i]->uids != NULL &&
		    key_unusable(j->keys[i], addr, 0) == NULL)
			return 0;
	if (snprintf(pat, sizeof(pat), "<%s>", addr) >= (int)sizeof(pat)) {
		note_missing(missing, addr, "address too long");
		return -1;
	}
	if ((k = find_key(j, pat, addr, 0, &why)) == NULL) {
		note_missing(missing, addr, why);
		return -1;
	}
	j->keys[j->nkeys++] = k;
	j->keys[j->nkeys] = NULL;
	return 0;
}

/* ---- policy ---- */

/* The addresses in To and Cc (and their Resent- forms) into seen. */
static void
visible_rcpts(const struct message *m, struct addr_list *seen)
{
	static const char *const names[] = {"To", "Cc", "Resent-To",
	    "Resent-Cc"};
	struct err e2;
	size_t k, h, len, nl;
	const char *f;

	for (h = 0; h < message_nheaders(m); h++) {
		f = message_header(m, h, &len);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			nl = strlen(names[k]);
			if (len > nl && f[nl] == ':' &&
			    ascii_ncasecmp(f, names[k], nl) == 0)
				(void)addr_parse_list(f + nl + 1, len - nl - 1,
				    seen, &e2);
		}
	}
}

static int
is_visible(const struct addr_list *seen, const char *addr)
{
	size_t k;

	for (k = 0; k < seen->n; k++)
		if (ascii_casecmp(seen->v[k], addr) == 0)
			return 1;
	return 0;
}

/* Every envelope recipient appears in To or Cc. */
static int
no_bcc(const struct message *m, char *const *rcpts, size_t n)
{
	struct addr_list seen = {0};
	size_t i;
	int ok = 1;

	visible_rcpts(m, &seen);
	for (i = 0; i < n && ok; i++)
		ok = is_visible(&seen, rcpts[i]);
	addr_list_free(&seen);
	return ok;
}

/* bcc_ok: this copy goes to one Bcc recipient alone (e2e_submit()). */
static int
decide_encrypt(struct job *j, const struct message *m, const char *from,
    char *const *rcpts, size_t n, int bcc_ok, struct err *e)
{
	int policy = j->proto == GPGME_PROTOCOL_CMS ? j->a->smime_encrypt
						    : j->a->pgp_encrypt;
	const char *kw =
	    j->proto == GPGME_PROTOCOL_CMS ? "smime_encrypt" : "pgp_encrypt";
	struct buf missing;
	size_t i;
	int r = 0;

	if (policy == CONF_ENCRYPT_NEVER)
		return 0;
	buf_init(&missing, sizeof(e->text) - 64);
	if (*from == '\0' || add_key(j, from, &missing) == -1)
		r = -1;
	for (i = 0; i < n; i++)
		if (add_key(j, rcpts[i], &missing) == -1)
			r = -1;
	if (r == -1 && policy == CONF_ENCRYPT_ALWAYS)
		err_set(e, ERR_DATA, "%s always: no valid key for %.*s", kw,
		    (int)missing.len, missing.data ? missing.data : "");
	else if (r == -1)
		log_warn("%s: not encrypted: no valid key for %.*s", kw,
		    (int)missing.len, missing.data ? missing.data : "");
	else if (!bcc_ok && !no_bcc(m, rcpts, n)) {
		/* e2e_submit() splits first; this is a broken invariant. */
		r = err_set(e, ERR_SOFTWARE,
		    "%s: a Bcc recipient in a shared "
		    "copy",
		    kw);
	} else
		j->encrypt = 1;
	buf_reset(&missing);
	return policy == CONF_ENCRYPT_ALWAYS ? r : 0;
}

/* ---- MIME ---- */

static int
is_field(const char *f, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && f[n] == ':' && ascii_ncasecmp(f, name, n) == 0;
}

static int
is_content_field(const char *f, size_t len)
{
	return len > 8 && ascii_ncasecmp(f, "Content-", 8) == 0;
}

/* RFC 9788 3.1: the fields copied into the protected part. */
static int
is_protected(const char *f, size_t len)
{
	static const char *const names[] = {"From", "To", "Cc", "Subject",
	    "Date", "Message-ID", "Reply-To", "In-Reply-To", "References"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (is_field(f, len, names[i]))
			return 1;
	return 0;
}

/* Append p with every bare LF made CRLF (gpg's armor ends lines in LF). */
static int
add_crlf(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r') &&
		    buf_addch(b, '\r') == -1)
			return -1;
		if (buf_addch(b, p[i]) == -1)
			return -1;
	}
	return 0;
}

/* Base64 in lines of 76 (RFC 2045 6.8). */
static int
add_base64(struct buf *b, const unsigned char *p, size_t n)
{
	char line[80];
	size_t i, c;

	for (i = 0; i < n; i += 57) {
		c = n - i < 57 ? n - i : 57;
		sodium_bin2base64(line, sizeof(line), p + i, c,
		    sodium_base64_VARIANT_ORIGINAL);
		if (buf_addstr(b, line) == -1 || buf_addstr(b, "\r\n") == -1)
			return -1;
	}
	return 0;
}

/*
 * The entity to protect: the Content-* fields (text/plain if none), with
 * the header copies of RFC 9788 when asked, the empty line and the body.
 */
static int
build_content(const struct job *j, const struct message *m, struct buf *c)
{
	char tmp[65536];
	unsigned long long off = 0, size = message_body_size(m);
	size_t i, len;
	int has_ct = 0, r = 0;
	ssize_t got;

	for (i = 0; i < message_nheaders(m) && r == 0; i++) {
		const char *f = message_header(m, i, &len);
		if (is_field(f, len, "Content-Type")) {
			has_ct = 1;
			r = buf_add(c, f, len - 2);
			if (r == 0 && j->hp)
				r = buf_printf(c, ";\r\n hp=\"%s\"",
				    j->encrypt ? "cipher" : "clear");
			if (r == 0)
				r = buf_addstr(c, "\r\n");
		} else if (is_content_field(f, len))
			r = buf_add(c, f, len);
	}
	if (r == 0 && !has_ct)
		r = buf_printf(c,
		    "Content-Type: text/plain; charset=us-ascii%s\r\n",
		    j->hp ? (j->encrypt ? "; hp=\"cipher\"" : "; hp=\"clear\"")
			  : "");
	for (i = 0; j->hp && i < message_nheaders(m) && r == 0; i++) {
		const char *f = message_header(m, i, &len);
		if (is_protected(f, len))
			r = buf_add(c, f, len);
		if (r == 0 && j->encrypt && is_field(f, len, "Subject"))
			r = buf_printf(c, "HP-Outer: Subject: ...\r\n");
	}
	if (r == 0)
		r = buf_addstr(c, "\r\n");
	while (r == 0 && off < size) {
		got = pread(message_body_fd(m), tmp, sizeof(tmp), (off_t)off);
		if (got <= 0)
			return -1;
		r = buf_add(c, tmp, (size_t)got);
		off += (unsigned long long)got;
	}
	return r;
}

/* ---- the crypto operations ---- */

/* The agent's PASSPHRASE inquiry in loopback mode: the passphrase, once. */
static gpgme_error_t
agent_inq(void *hook, const char *name, const char *args, gpgme_data_t *r)
{
	struct job *j = hook;

	(void)args;
	if (name == NULL) /* GPGME is done with *r */
		return 0;
	if (strcmp(name, "PASSPHRASE") != 0)
		return 0; /* a notice, e.g. PINENTRY_LAUNCHED */
	if (j->pass_asked++ > 0)
		return gpg_error(GPG_ERR_BAD_PASSPHRASE);
	return lib.gpgme_data_new_from_mem(r, j->pass, strlen(j->pass), 0);
}

/* KEYINFO's "S KEYINFO grip type serial idstr cached protection ...":
 * *needs set when the key is protected and its passphrase not cached. */
static gpgme_error_t
agent_keyinfo(void *hook, const char *status, const char *args)
{
	int *needs = hook;
	char cached[8], prot[8];

	if (strcmp(status, "KEYINFO") == 0 &&
	    sscanf(args, "%*s %*s %*s %*s %7s %7s", cached, prot) == 2)
		*needs = strcmp(cached, "1") != 0 && strcmp(prot, "P") == 0;
	return 0;
}

static gpgme_error_t
agent_cmd(gpgme_ctx_t ag, const char *cmd, struct job *j, int *needs)
{
	gpgme_error_t g, op = 0;

	g = lib.gpgme_op_assuan_transact_ext(ag, cmd, NULL, NULL, agent_inq, j,
	    needs != NULL ? agent_keyinfo : NULL, needs, &op);
	return g != 0 ? g : op;
}

/*
 * Unlock the S/MIME signing key with pgp_passphrase_eval: gpgsm cannot be
 * handed a passphrase through GPGME, so postseal asks gpg-agent itself, on
 * the home's own agent socket.  When KEYINFO says the key is protected and
 * not in the cache, the agent signs a dummy hash with it in loopback mode,
 * answering its PASSPHRASE inquiry with the command's output (run only
 * then).  That checks the passphrase and leaves it in the agent's cache
 * (default-cache-ttl, as OpenPGP's loopback does), from which gpgsm then
 * signs; the dummy signature is dropped.  Needs the agent that gpgsm's key
 * listing started, and its default allow-loopback-pinentry.
 */
static int
smime_unlock(struct job *j, struct err *e)
{
	const char *grip =
	    j->signer->subkeys != NULL ? j->signer->subkeys->keygrip : NULL;
	gpgme_ctx_t conf = NULL, ag = NULL;
	char *sock = NULL, cmd[128];
	gpgme_error_t g;
	size_t i;
	int needs = 0, r = -1;

	if (grip == NULL)
		return err_set(e, ERR_CONFIG,
		    "account %s: smime_sign %s: gpgsm gave no keygrip",
		    j->a->name, j->a->smime_sign);
	if ((g = lib.gpgme_new(&conf)) != 0 ||
	    (g = lib.gpgme_set_protocol(conf, GPGME_PROTOCOL_GPGCONF)) != 0 ||
	    (j->a->gpg_home != NULL &&
		(g = lib.gpgme_ctx_set_engine_info(conf, GPGME_PROTOCOL_GPGCONF,
		     NULL, j->a->gpg_home)) != 0) ||
	    (g = lib.gpgme_op_conf_dir(conf, "agent-socket", &sock)) != 0) {
		gerr(e, ERR_TEMP, "gpgconf --list-dirs agent-socket", g);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "KEYINFO %s", grip);
	if ((g = lib.gpgme_new(&ag)) != 0 ||
	    (g = lib.gpgme_set_protocol(ag, GPGME_PROTOCOL_ASSUAN)) != 0 ||
	    (g = lib.gpgme_ctx_set_engine_info(ag, GPGME_PROTOCOL_ASSUAN, sock,
		 NULL)) != 0 ||
	    (g = agent_cmd(ag, cmd, j, &needs)) != 0) {
		gerr(e, ERR_TEMP, "gpg-agent KEYINFO", g);
		goto out;
	}
	if (!needs) {
		r = 0;
		goto out;
	}
	if (j->pass == NULL &&
	    (config_pgp_passphrase(j->a, &j->pass, e) == -1 || j->pass == NULL))
		goto out;
	snprintf(cmd, sizeof(cmd), "SIGKEY %s", grip);
	for (i = 0; i < 4; i++) {
		const char *c[] = {"OPTION pinentry-mode=loopback", cmd,
		    "SETHASH --hash=sha256 " ZERO_SHA256, "PKSIGN"};

		if ((g = agent_cmd(ag, c[i], j, NULL)) != 0) {
			err_set(e, ERR_CONFIG,
			    "account %s: the S/MIME signing key is locked "
			    "and gpg-agent did not take "
			    "pgp_passphrase_eval's passphrase: %s",
			    j->a->name, lib.gpgme_strerror(g));
			goto out;
		}
	}
	r = 0;
out:
	lib.gpgme_release(ag);
	lib.gpgme_release(conf);
	lib.gpgme_free(sock);
	return r;
}

/* The error of a key that needs a passphrase postseal did not give. */
static int
locked(gpgme_error_t g)
{
	switch (gpgme_err_code(g)) {
	case GPG_ERR_NO_PASSPHRASE:
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_NO_PIN_ENTRY:
	case GPG_ERR_ENOTTY:
	case GPG_ERR_CANCELED:
		return 1;
	default:
		return 0;
	}
}

/* detach: a detached signature (no encryption); else encrypt (and sign,
 * OpenPGP, when there is a signer). */
static int
run_op(struct job *j, const struct buf *in, int detach, struct buf *out,
    const char **hash, struct err *e)
{
	gpgme_data_t din = NULL, dout = NULL;
	/* Trust was checked key by key (key_unusable()); gpgsm has no such
	 * flag and checks the chain itself. */
	gpgme_encrypt_flags_t trust =
	    j->proto == GPGME_PROTOCOL_OpenPGP ? GPGME_ENCRYPT_ALWAYS_TRUST : 0;
	gpgme_error_t g;
	char *p;
	size_t n;
	int r = -1;

	if ((g = lib.gpgme_data_new_from_mem(&din, in->data, in->len, 0)) !=
		0 ||
	    (g = lib.gpgme_data_new(&dout)) != 0) {
		gerr(e, ERR_TEMP, "gpgme_data", g);
		goto out;
	}
	if (detach && j->proto == GPGME_PROTOCOL_CMS &&
	    j->a->pgp_passphrase_eval != NULL && smime_unlock(j, e) == -1)
		goto out;
	if (detach)
		g = lib.gpgme_op_sign(j->ctx, din, dout, GPGME_SIG_MODE_DETACH);
	else if (j->sign && j->proto == GPGME_PROTOCOL_OpenPGP)
		g = lib.gpgme_op_encrypt_sign(j->ctx, j->keys, trust, din,
		    dout);
	else
		g = lib.gpgme_op_encrypt(j->ctx, j->keys, trust, din, dout);
	if (g != 0) {
		if (locked(g))
			err_set(e, ERR_CONFIG,
			    "account %s: the signing key is locked: %s (%s)",
			    j->a->name, lib.gpgme_strerror(g),
			    j->a->pgp_passphrase_eval != NULL
				? "pgp_passphrase_eval gave a wrong passphrase"
				: "set pgp_passphrase_eval");
		else
			gerr(e, ERR_TEMP, detach ? "sign" : "encrypt", g);
		goto out;
	}
	if (hash != NULL) {
		gpgme_sign_result_t s = lib.gpgme_op_sign_result(j->ctx);
		*hash = s && s->signatures
			    ? lib.gpgme_hash_algo_name(s->signatures->hash_algo)
			    : NULL;
	}
	p = lib.gpgme_data_release_and_get_mem(dout, &n);
	dout = NULL;
	r = j->proto == GPGME_PROTOCOL_OpenPGP
		? add_crlf(out, p, n)
		: add_base64(out, (const unsigned char *)p, n);
	lib.gpgme_free(p);
	if (r == -1)
		err_set(e, ERR_DATA, "message too large to protect");
out:
	lib.gpgme_data_release(din);
	lib.gpgme_data_release(dout);
	return r;
}

static void
new_boundary(struct job *j)
{
	unsigned char rnd[12];
	char hex[sizeof(rnd) * 2 + 1];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(j->boundary, sizeof(j->boundary), "=_postseal_%s", hex);
}

/* "pgp-sha256" (RFC 3156 5) or "sha-256" (RFC 8551 3.5.3.2). */
static void
micalg(const struct job *j, const char *hash, char *out, size_t size)
{
	size_t i, n = 0;

	if (hash == NULL)
		hash = "SHA256";
	if (j->proto == GPGME_PROTOCOL_OpenPGP)
		n = (size_t)snprintf(out, size, "pgp-");
	for (i = 0; hash[i] != '\0' && n + 2 < size; i++) {
		if (j->proto == GPGME_PROTOCOL_CMS && i == 3)
			out[n++] = '-';
		out[n++] = (char)tolower((unsigned char)hash[i]);
	}
	out[n] = '\0';
}

/* multipart/signed around c (RFC 3156 5, RFC 8551 3.5.3): into body and
 * the top-level Content-Type into ct. */
static int
make_signed(struct job *j, const struct buf *c, struct buf *ct,
    struct buf *body, struct err *e)
{
	int cms = j->proto == GPGME_PROTOCOL_CMS;
	struct buf sig;
	const char *hash = NULL;
	char alg[32];
	int r;

	buf_init(&sig, E2E_MAX);
	new_boundary(j);
	r = run_op(j, c, 1, &sig, &hash, e);
	micalg(j, hash, alg, sizeof(alg));
	if (r == 0 &&
	    (buf_printf(ct,
		 "Content-Type: multipart/signed; micalg=%s;\r\n"
		 " protocol=\"application/%s\";\r\n boundary=\"%s\"\r\n",
		 alg, cms ? "pkcs7-signature" : "pgp-signature",
		 j->boundary) == -1 ||
		buf_printf(body, "This is a%s signed message.\r\n--%s\r\n",
		    cms ? "n S/MIME" : "n OpenPGP/MIME", j->boundary) == -1 ||
		buf_add(body, c->data, c->len) == -1 ||
		buf_printf(body, "\r\n--%s\r\n", j->boundary) == -1 ||
		buf_printf(body,
		    cms ? "Content-Type: application/pkcs7-signature; "
			  "name=smime.p7s\r\nContent-Transfer-Encoding: "
			  "base64\r\nContent-Disposition: attachment; "
			  "filename=smime.p7s\r\n\r\n"
			: "Content-Type: application/pgp-signature; "
			  "name=signature.asc\r\nContent-Disposition: "
			  "attachment; filename=signature.asc\r\n\r\n") == -1 ||
		buf_add(body, sig.data, sig.len) == -1 ||
		buf_printf(body, "\r\n--%s--\r\n", j->boundary) == -1))
		r = err_set(e, ERR_DATA, "message too large to protect");
	buf_reset(&sig);
	return r;
}

/* multipart/encrypted (RFC 3156 4) or application/pkcs7-mime (RFC 8551
 * 3.3): c encrypted (and signed, OpenPGP) to j->keys. */
static int
make_encrypted(struct job *j, const struct buf *c, struct buf *ct,
    struct buf *body, struct err *e)
{
	int r;

	new_boundary(j);
	if (j->proto == GPGME_PROTOCOL_CMS) {
		if (buf_addstr(ct, "Content-Type: application/pkcs7-mime; "
				   "smime-type=enveloped-data;\r\n"
				   " name=smime.p7m\r\n"
				   "Content-Transfer-Encoding: base64\r\n"
				   "Content-Disposition: attachment; "
				   "filename=smime.p7m\r\n") == -1)
			return err_set(e, ERR_DATA, "message too large");
		return run_op(j, c, 0, body, NULL, e);
	}
	if (buf_printf(ct,
		"Content-Type: multipart/encrypted;\r\n"
		" protocol=\"application/pgp-encrypted\";\r\n"
		" boundary=\"%s\"\r\n",
		j->boundary) == -1 ||
	    buf_printf(body,
		"This is an OpenPGP/MIME encrypted message.\r\n--%s\r\n"
		"Content-Type: application/pgp-encrypted\r\n"
		"Content-Description: PGP/MIME version identification\r\n"
		"\r\nVersion: 1\r\n\r\n--%s\r\n"
		"Content-Type: application/octet-stream; name=encrypted.asc\r\n"
		"Content-Disposition: inline; filename=encrypted.asc\r\n\r\n",
		j->boundary, j->boundary) == -1)
		return err_set(e, ERR_DATA, "message too large");
	r = run_op(j, c, 0, body, NULL, e);
	if (r == 0 && buf_printf(body, "\r\n--%s--\r\n", j->boundary) == -1)
		r = err_set(e, ERR_DATA, "message too large");
	return r;
}

/* ---- Autocrypt Level 1 (autocrypt.org/level1.html 2.1) ---- */

static int
add_autocrypt(struct job *j, const struct message *m, struct buf *h,
    struct err *e)
{
	struct addr_list from = {0};
	const char *v = message_get(m, "From");
	gpgme_data_t d = NULL;
	struct buf kd;
	char *p;
	size_t n, i;
	int r = -1;

	buf_init(&kd, E2E_MAX);
	if (v == NULL || addr_parse_list(v, strlen(v), &from, e) == -1 ||
	    from.n != 1) {
		err_set(e, ERR_DATA, "autocrypt: From must name one address");
		goto out;
	}
	lib.gpgme_set_armor(j->ctx, 0);
	if (lib.gpgme_data_new(&d) != 0 ||
	    lib.gpgme_op_export(j->ctx, j->signer->subkeys->fpr,
		GPGME_EXPORT_MODE_MINIMAL, d) != 0) {
		err_set(e, ERR_TEMP, "autocrypt: cannot export the key");
		goto out;
	}
	lib.gpgme_set_armor(j->ctx, 1);
	p = lib.gpgme_data_release_and_get_mem(d, &n);
	d = NULL;
	r = add_base64(&kd, (const unsigned char *)p, n);
	lib.gpgme_free(p);
	if (r == 0)
		r = buf_printf(h, "Autocrypt: addr=%s; keydata=\r\n",
		    from.v[0]);
	/* Each base64 line becomes a folded continuation line. */
	for (i = 0; r == 0 && i < kd.len; i++) {
		if ((i == 0 || kd.data[i - 1] == '\n') && buf_addch(h, ' '))
			r = -1;
		else if (buf_addch(h, kd.data[i]) == -1)
			r = -1;
	}
	if (r == -1)
		err_set(e, ERR_DATA, "autocrypt: header too large");
out:
	lib.gpgme_data_release(d);
	buf_reset(&kd);
	addr_list_free(&from);
	return r;
}

/* ---- the new message ---- */

static int
outer_headers(struct job *j, const struct message *m, struct buf *h)
{
	size_t i, len;
	int r = 0;

	for (i = 0; i < message_nheaders(m) && r == 0; i++) {
		const char *f = message_header(m, i, &len);
		if (is_content_field(f, len) ||
		    is_field(f, len, "MIME-Version"))
			continue;
		if (j->hp && j->encrypt && is_field(f, len, "Subject"))
			r = buf_addstr(h, "Subject: ...\r\n");
		else
			r = buf_add(h, f, len);
	}
	if (r == 0)
		r = buf_addstr(h, "MIME-Version: 1.0\r\n");
	return r;
}

static int
replace_message(const struct buf *h, const struct buf *ct,
    const struct buf *body, struct message **mp, struct err *e)
{
	struct message_read_opts ro = {0};
	struct message *nm = NULL;
	FILE *f;
	int r = -1;

	if ((f = tmpfile()) == NULL)
		return err_set(e, ERR_TEMP, "tmpfile: %s", strerror(errno));
	if (fwrite(h->data, 1, h->len, f) != h->len ||
	    fwrite(ct->data, 1, ct->len, f) != ct->len ||
	    fwrite("\r\n", 1, 2, f) != 2 ||
	    fwrite(body->data, 1, body->len, f) != body->len ||
	    fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
		err_set(e, ERR_TEMP, "tmpfile: %s", strerror(errno));
	else {
		ro.ignore_dots = 1;
		if ((r = message_read(fileno(f), &ro, &nm, e)) == 0) {
			message_free(*mp);
			*mp = nm;
		}
	}
	fclose(f);
	return r;
}

static int
transform(struct job *j, struct message **mp, struct err *e)
{
	struct buf c, s, h, ct, body;
	int r;

	buf_init(&c, E2E_MAX);
	buf_init(&s, E2E_MAX);
	buf_init(&h, E2E_MAX);
	buf_init(&ct, 4096);
	buf_init(&body, E2E_MAX);
	j->hp = j->a->e2e_protect_headers;
	r = build_content(j, *mp, &c);
	if (r == -1)
		err_set(e, ERR_DATA, "message too large to protect");
	if (r == 0 && j->sign && !j->encrypt)
		r = make_signed(j, &c, &ct, &body, e);
	else if (r == 0 && j->encrypt && j->sign &&
		 j->proto == GPGME_PROTOCOL_CMS) {
		/* S/MIME signs, then encrypts the signed entity (RFC 8551
		 * 3.7); the signature goes inside. */
		r = make_signed(j, &c, &ct, &s, e);
		if (r == 0 && (buf_addstr(&ct, "\r\n") == -1 ||
				  buf_add(&ct, s.data, s.len) == -1))
			r = err_set(e, ERR_DATA, "message too large");
		buf_clear(&c);
		if (r == 0 && buf_add(&c, ct.data, ct.len) == -1)
			r = err_set(e, ERR_DATA, "message too large");
		buf_clear(&ct);
		if (r == 0)
			r = make_encrypted(j, &c, &ct, &body, e);
	} else if (r == 0 && j->encrypt)
		r = make_encrypted(j, &c, &ct, &body, e);
	if (r == 0 && outer_headers(j, *mp, &h) == -1)
		r = err_set(e, ERR_DATA, "message too large");
	if (r == 0 && j->a->autocrypt)
		r = add_autocrypt(j, *mp, &h, e);
	if (r == 0 && (j->sign || j->encrypt))
		r = replace_message(&h, &ct, &body, mp, e);
	buf_wipe(&c);
	buf_wipe(&s);
	buf_reset(&h);
	buf_reset(&ct);
	buf_reset(&body);
	return r;
}

static int
protect(const struct account *a, const char *from, char *const *rcpts,
    size_t nrcpts, int bcc_ok, struct message **mp, struct err *e)
{
	struct job j;
	int r;

	memset(&j, 0, sizeof(j));
	if (nrcpts > ADDR_LIST_MAX)
		return err_set(e, ERR_DATA, "too many recipients");
	j.keys = xcalloc(nrcpts + 2, sizeof(*j.keys));
	r = job_open(&j, a, e);
	if (r == 0)
		r = load_signer(&j, e);
	if (r == 0)
		r = decide_encrypt(&j, *mp, from, rcpts, nrcpts, bcc_ok, e);
	if (r == 0 && a->autocrypt && !j.sign)
		r = err_set(e, ERR_CONFIG, "autocrypt needs pgp_sign");
	if (r == 0 && (j.sign || j.encrypt || a->autocrypt))
		r = transform(&j, mp, e);
	job_close(&j);
	return r;
}

/* A copy of m through a temporary file (the body never sits in memory). */
static int
dup_message(const struct message *m, struct message **out, struct err *e)
{
	struct message_read_opts ro = {0};
	FILE *f;
	int r = -1;

	if ((f = tmpfile()) == NULL)
		return err_set(e, ERR_TEMP, "tmpfile: %s", strerror(errno));
	if (message_write(m, fileno(f), e) == 0) {
		if (lseek(fileno(f), 0, SEEK_SET) == -1)
			err_set(e, ERR_TEMP, "lseek: %s", strerror(errno));
		else {
			ro.ignore_dots = 1;
			r = message_read(fileno(f), &ro, out, e);
		}
	}
	fclose(f);
	return r;
}

struct copy {
	struct message *m;
	char **rcpts; /* borrowed strings */
	size_t n;
	int bcc; /* for one Bcc recipient alone */
};

/*
 * The copies to protect: one for the To/Cc recipients and one for each
 * other (Bcc) recipient when the account encrypts, else one for all.
 */
static size_t
plan_copies(const struct account *a, const struct message *m,
    char *const *rcpts, size_t n, struct copy *c)
{
	struct addr_list seen = {0};
	size_t i, nc = 1;
	int split = a->pgp_encrypt != CONF_ENCRYPT_NEVER ||
		    a->smime_encrypt != CONF_ENCRYPT_NEVER;

	c[0].rcpts = xcalloc(n + 1, sizeof(char *));
	if (split)
		visible_rcpts(m, &seen);
	for (i = 0; i < n; i++) {
		if (!split || is_visible(&seen, rcpts[i])) {
			c[0].rcpts[c[0].n++] = rcpts[i];
			continue;
		}
		c[nc].rcpts = xcalloc(2, sizeof(char *));
		c[nc].rcpts[0] = rcpts[i];
		c[nc].bcc = 1;
		c[nc++].n = 1;
	}
	addr_list_free(&seen);
	if (c[0].n == 0) { /* only Bcc recipients */
		free(c[0].rcpts);
		memmove(c, c + 1, (nc - 1) * sizeof(*c));
		nc--;
	}
	return nc;
}

int
e2e_submit(const struct account *a, const char *from, char *const *rcpts,
    size_t nrcpts, struct message *m, e2e_send_fn send, void *arg,
    struct err *e)
{
	struct copy *c;
	size_t i, nc;
	int r = 0;

	if (!e2e_active(a))
		return send(arg, (char **)(uintptr_t)rcpts, nrcpts, m, e);
	if (nrcpts > ADDR_LIST_MAX)
		return err_set(e, ERR_DATA, "too many recipients");
	c = xcalloc(nrcpts + 1, sizeof(*c));
	nc = plan_copies(a, m, rcpts, nrcpts, c);
	/* Every copy is protected before any is handed off: a refusal
	 * leaves nothing queued. */
	for (i = 0; i < nc && r == 0; i++) {
		r = dup_message(m, &c[i].m, e);
		if (r == 0)
			r = protect(a, from, c[i].rcpts, c[i].n,
			    nc > 1 || i > 0, &c[i].m, e);
	}
	for (i = 0; i < nc && r == 0; i++)
		r = send(arg, c[i].rcpts, c[i].n, c[i].m, e);
	for (i = 0; i < nc; i++) {
		message_free(c[i].m);
		free(c[i].rcpts);
	}
	free(c);
	return r;
}

/* ---- --doctor ---- */

static int
report_key(struct job *j, const char *what, const char *name, int secret,
    FILE *out)
{
	const char *why;
	gpgme_key_t k;
	long long left;

	if (name == NULL)
		return 0;
	k = find_key(j, name, secret ? NULL : name, secret, &why);
	if (k == NULL) {
		fprintf(out, "fail %s %s: %s\n", what, name, why);
		return 2;
	}
	left = k->subkeys->expires > 0
		   ? ((long long)k->subkeys->expires - (long long)time(NULL))
		   : -1;
	if (left >= 0 && left < E2E_WARN_DAYS * 86400LL) {
		fprintf(out, "warn %s %s: %s expires in %lld days\n", what,
		    name, k->subkeys->fpr, left / 86400);
		lib.gpgme_key_unref(k);
		return 1;
	}
	fprintf(out, "ok   %s %s: %s%s\n", what, name, k->subkeys->fpr,
	    left < 0 ? " (no expiry)" : "");
	lib.gpgme_key_unref(k);
	return 0;
}

int
e2e_report(const struct account *a, FILE *out)
{
	struct job j;
	struct err e = {0};
	const char *from;
	int w = 0, r, cms;

	if (!e2e_active(a))
		return 0;
	memset(&j, 0, sizeof(j));
	if (job_open(&j, a, &e) == -1) {
		fprintf(out, "fail account %s: %s\n", a->name, e.text);
		job_close(&j);
		return 2;
	}
	r = report_key(&j, "pgp_sign",
	    j.proto == GPGME_PROTOCOL_OpenPGP ? a->pgp_sign : NULL, 1, out);
	w = r > w ? r : w;
	r = report_key(&j, "smime_sign",
	    j.proto == GPGME_PROTOCOL_CMS ? a->smime_sign : NULL, 1, out);
	w = r > w ? r : w;
	/* Encryption is always to the sender too: its own key must be
	 * there, or every encrypted message is refused. */
	cms = j.proto == GPGME_PROTOCOL_CMS;
	from = config_envelope_from(a);
	r = 0;
	if ((cms ? a->smime_encrypt : a->pgp_encrypt) == CONF_ENCRYPT_NEVER)
		;
	else if (from == NULL || *from == '\0') {
		fprintf(out,
		    "fail %s: no sender address to encrypt to as "
		    "well\n",
		    cms ? "smime_encrypt" : "pgp_encrypt");
		r = 2;
	} else
		r = report_key(&j,
		    cms ? "smime_encrypt (own key)" : "pgp_encrypt (own key)",
		    from, 0, out);
	w = r > w ? r : w;
	job_close(&j);
	return w;
}
