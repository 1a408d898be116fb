/*
 * ispdb.c -- autoconfig documents (ISP database format) through expat.
 *
 * Purpose: turn the XML a provider serves at autoconfig.DOMAIN into the
 * outgoing servers it names (ispdb.h).  The only file that includes
 * expat.h.
 *
 * Invariants: a document is parsed in one call, bounded in size and
 * depth; a DOCTYPE or an entity declaration stops the parser, so no
 * entity is ever expanded (no "billion laughs", no external entities);
 * text is collected per element up to ISPDB_MAX_TEXT bytes, past that
 * the document is refused rather than cut.
 *
 * Failure policy: every refusal is ERR_DATA with one reason; db is left
 * with the servers parsed so far only on success.
 */
#include <stdio.h>
#include <string.h>

#include <expat.h>

#include "buf.h"
#include "dl.h"
#include "ispdb.h"

/* expat, loaded by ispdb_parse() on first use (dl.h). */
/* clang-format off */
#define EXPAT_FUNCTIONS(X) X(XML_ErrorString) X(XML_GetCurrentLineNumber) \
	X(XML_GetErrorCode) X(XML_Parse) X(XML_ParserCreate) \
	X(XML_ParserFree) X(XML_SetCharacterDataHandler) \
	X(XML_SetElementHandler) X(XML_SetEntityDeclHandler) \
	X(XML_SetParamEntityParsing) X(XML_SetStartDoctypeDeclHandler) \
	X(XML_SetUserData) X(XML_StopParser)
/* clang-format on */
DL_LIBRARY(EXPAT_FUNCTIONS);

/* Where the parser is, by element path. */
enum where {
	W_OTHER = 0,
	W_OUT,	     /* clientConfig/emailProvider/outgoingServer[smtp] */
	W_OUT_FIELD, /* a child of it */
};

struct parse {
	XML_Parser p;
	struct ispdb *db;
	unsigned depth;
	enum where where;
	unsigned out_depth; /* depth of the outgoingServer element */
	char field[32];	    /* the child being read */
	char text[ISPDB_MAX_TEXT + 1];
	size_t ntext;
	int have_port, have_sock;
	const char *why; /* set on refusal */
};

static void
stop(struct parse *ps, const char *why)
{
	if (ps->why == NULL)
		ps->why = why;
	lib.XML_StopParser(ps->p, XML_FALSE);
}

static int
valid_host(const char *s)
{
	size_t n = strlen(s), i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

static const char *
attr(const XML_Char **atts, const char *name)
{
	size_t i;

	for (i = 0; atts[i] != NULL && atts[i + 1] != NULL; i += 2)
		if (strcmp(atts[i], name) == 0)
			return atts[i + 1];
	return NULL;
}

/* The element path that leads to an outgoing server: clientConfig at
 * depth 1, emailProvider at 2, outgoingServer type="smtp" at 3. */
static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct parse *ps = arg;
	const char *type;

	if (++ps->depth > ISPDB_MAX_DEPTH) {
		stop(ps, "elements nested too deeply");
		return;
	}
	ps->ntext = 0;
	if (ps->depth == 1 && strcmp(name, "clientConfig") != 0) {
		stop(ps, "not a clientConfig document");
		return;
	}
	if (ps->where == W_OTHER && ps->depth == 3 &&
	    strcmp(name, "outgoingServer") == 0 &&
	    (type = attr(atts, "type")) != NULL && strcmp(type, "smtp") == 0) {
		if (ps->db->nout >= ISPDB_MAX_SERVERS) {
			stop(ps, "too many outgoing servers");
			return;
		}
		memset(&ps->db->out[ps->db->nout], 0, sizeof(ps->db->out[0]));
		ps->where = W_OUT;
		ps->out_depth = ps->depth;
		ps->have_port = ps->have_sock = 0;
		return;
	}
	if (ps->where == W_OUT && ps->depth == ps->out_depth + 1) {
		ps->where = W_OUT_FIELD;
		if (str_copy(ps->field, name, sizeof(ps->field)) == -1)
			ps->field[0] = '\0'; /* an unknown child */
	}
}

static int
set_field(struct parse *ps, struct ispdb_server *s, const char *f,
    const char *v)
{
	unsigned long long port;

	if (strcmp(f, "hostname") == 0) {
		if (!valid_host(v) ||
		    str_copy(s->host, v, sizeof(s->host)) == -1)
			return ps->why = "bad hostname", -1;
	} else if (strcmp(f, "port") == 0) {
		if (parse_uint_str(v, 65535, &port) == -1 || port == 0)
			return ps->why = "bad port", -1;
		s->port = (unsigned)port;
		ps->have_port = 1;
	} else if (strcmp(f, "socketType") == 0) {
		if (strcmp(v, "SSL") == 0)
			s->sock = ISPDB_TLS;
		else if (strcmp(v, "STARTTLS") == 0)
			s->sock = ISPDB_STARTTLS;
		else if (strcmp(v, "plain") == 0)
			s->sock = ISPDB_PLAIN;
		else
			return ps->why = "bad socketType", -1;
		ps->have_sock = 1;
	} else if (strcmp(f, "authentication") == 0) {
		if (strcmp(v, "password-cleartext") == 0 ||
		    strcmp(v, "plain") == 0)
			s->auth |= ISPDB_AUTH_CLEARTEXT;
		else if (strcmp(v, "password-encrypted") == 0 ||
			 strcmp(v, "secure") == 0)
			s->auth |= ISPDB_AUTH_ENCRYPTED;
		else if (strcmp(v, "OAuth2") == 0)
			s->auth |= ISPDB_AUTH_OAUTH2;
		else if (strcmp(v, "none") == 0 ||
			 strcmp(v, "client-IP-address") == 0)
			s->auth |= ISPDB_AUTH_NONE;
		else
			s->auth |= ISPDB_AUTH_OTHER;
	} else if (strcmp(f, "username") == 0) {
		if (has_crlfnul(v, strlen(v)) ||
		    str_copy(s->user, v, sizeof(s->user)) == -1)
			return ps->why = "bad username", -1;
	}
	return 0;
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct parse *ps = arg;
	struct ispdb_server *s = &ps->db->out[ps->db->nout];

	(void)name;
	ps->text[ps->ntext] = '\0';
	if (ps->where == W_OUT_FIELD && ps->depth == ps->out_depth + 1) {
		if (set_field(ps, s, ps->field, ps->text) == -1) {
			stop(ps, ps->why);
			return;
		}
		ps->where = W_OUT;
	} else if (ps->where == W_OUT && ps->depth == ps->out_depth) {
		ps->where = W_OTHER;
		if (s->host[0] == '\0' || !ps->have_port || !ps->have_sock) {
			stop(ps, "an outgoing server without hostname, port "
				 "or socketType");
			return;
		}
		ps->db->nout++;
	}
	ps->ntext = 0;
	ps->depth--;
}

static void XMLCALL
on_text(void *arg, const XML_Char *s, int len)
{
	struct parse *ps = arg;

	if (ps->where != W_OUT_FIELD)
		return;
	/* surrounding blanks are layout; they are trimmed below */
	if (len < 0 || (size_t)len > ISPDB_MAX_TEXT - ps->ntext) {
		stop(ps, "a value longer than 255 bytes");
		return;
	}
	memcpy(ps->text + ps->ntext, s, (size_t)len);
	ps->ntext += (size_t)len;
}

static void XMLCALL
on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	stop(arg, "a DOCTYPE (refused: no entities)");
}

static void XMLCALL
on_entity(void *arg, const XML_Char *name, int is_param, const XML_Char *value,
    int value_len, const XML_Char *base, const XML_Char *sysid,
    const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len;
	(void)base, (void)sysid, (void)pubid, (void)notation;
	stop(arg, "an entity declaration");
}

/* Trim the blanks around each kept value in place. */
static void
trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			    s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	s[n] = '\0';
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
		i++;
	memmove(s, s + i, n - i + 1);
}

static void XMLCALL
on_end_trim(void *arg, const XML_Char *name)
{
	struct parse *ps = arg;

	ps->text[ps->ntext] = '\0';
	trim(ps->text);
	ps->ntext = strlen(ps->text);
	on_end(arg, name);
}

int
ispdb_parse(const char *xml, size_t len, struct ispdb *db, struct err *e)
{
	struct parse ps;
	enum XML_Status st;

	memset(db, 0, sizeof(*db));
	if (len > ISPDB_MAX_XML)
		return err_set(e, ERR_DATA,
		    "autoconfig: document larger than %d bytes", ISPDB_MAX_XML);
	if (DL_LOAD(EXPAT_SONAME, e) == -1)
		return err_prefix(e, "autoconfig");
	memset(&ps, 0, sizeof(ps));
	ps.db = db;
	if ((ps.p = lib.XML_ParserCreate("UTF-8")) == NULL)
		fatal_oom();
	lib.XML_SetUserData(ps.p, &ps);
	lib.XML_SetElementHandler(ps.p, on_start, on_end_trim);
	lib.XML_SetCharacterDataHandler(ps.p, on_text);
	lib.XML_SetStartDoctypeDeclHandler(ps.p, on_doctype);
	lib.XML_SetEntityDeclHandler(ps.p, on_entity);
	lib.XML_SetParamEntityParsing(ps.p, XML_PARAM_ENTITY_PARSING_NEVER);
	st = lib.XML_Parse(ps.p, xml, (int)len, XML_TRUE);
	if (st != XML_STATUS_OK && ps.why == NULL)
		err_set(e, ERR_DATA,
		    "autoconfig: malformed XML at line %lu: %s",
		    (unsigned long)lib.XML_GetCurrentLineNumber(ps.p),
		    lib.XML_ErrorString(lib.XML_GetErrorCode(ps.p)));
	else if (ps.why != NULL)
		err_set(e, ERR_DATA, "autoconfig: %s at line %lu", ps.why,
		    (unsigned long)lib.XML_GetCurrentLineNumber(ps.p));
	lib.XML_ParserFree(ps.p);
	if (st != XML_STATUS_OK || ps.why != NULL) {
		memset(db, 0, sizeof(*db));
		return -1;
	}
	return 0;
}

const struct ispdb_server *
ispdb_choose(const struct ispdb *db)
{
	size_t i;

	for (i = 0; i < db->nout; i++)
		if (db->out[i].sock == ISPDB_TLS)
			return &db->out[i];
	for (i = 0; i < db->nout; i++)
		if (db->out[i].sock == ISPDB_STARTTLS)
			return &db->out[i];
	return NULL;
}

int
ispdb_user(const char *tmpl, const char *address, char *out, size_t size)
{
	static const char *const names[] = {"%EMAILADDRESS%",
	    "%EMAILLOCALPART%", "%EMAILDOMAIN%"};
	const char *at = strrchr(address, '@'), *p = tmpl;
	struct buf b;
	int r = 0;

	if (at == NULL || size == 0)
		return -1;
	buf_init(&b, size - 1);
	while (*p != '\0' && r == 0) {
		size_t k, n;

		if (*p != '%') {
			r = buf_addch(&b, *p++);
			continue;
		}
		for (k = 0; k < 3; k++)
			if (strncmp(p, names[k], strlen(names[k])) == 0)
				break;
		if (k == 3) {
			r = -1;
			break;
		}
		p += strlen(names[k]);
		n = k == 0   ? strlen(address)
		    : k == 1 ? (size_t)(at - address)
			     : strlen(at + 1);
		r = buf_add(&b, k == 2 ? at + 1 : address, n);
	}
	if (r == 0)
		r = str_copy(out, b.data != NULL ? b.data : "", size);
	buf_reset(&b);
	return r;
}

/* A value written in double quotes: printable ASCII only, '"' and '\\'
 * escaped. */
static int
add_quoted(struct buf *b, const char *v)
{
	const char *p;

	if (buf_addch(b, '"') == -1)
		return -1;
	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
			return -1;
		if ((*p == '"' || *p == '\\') && buf_addch(b, '\\') == -1)
			return -1;
		if (buf_addch(b, *p) == -1)
			return -1;
	}
	return buf_addstr(b, "\"\n");
}

int
ispdb_account(const struct ispdb_server *s, const char *address,
    const char *name, struct buf *out, struct err *e)
{
	char user[ISPDB_MAX_TEXT + 1];
	unsigned pw = ISPDB_AUTH_CLEARTEXT | ISPDB_AUTH_ENCRYPTED;
	int auth = s->auth == 0 || (s->auth & (pw | ISPDB_AUTH_OAUTH2)) != 0;
	int r;

	if (s->sock == ISPDB_PLAIN)
		return err_set(e, ERR_DATA,
		    "autoconfig: %s:%u offers only plaintext, which postseal "
		    "never uses",
		    s->host, s->port);
	if (!auth && (s->auth & ISPDB_AUTH_NONE) == 0)
		return err_set(e, ERR_DATA,
		    "autoconfig: %s:%u offers no authentication postseal "
		    "supports (NTLM, GSSAPI or client certificates only)",
		    s->host, s->port);
	if (auth && ispdb_user(s->user[0] != '\0' ? s->user : "%EMAILADDRESS%",
			address, user, sizeof(user)) == -1)
		return err_set(e, ERR_DATA,
		    "autoconfig: username template \"%s\" not understood",
		    s->user);
	r = buf_printf(out, "account %s\nfrom ", name);
	r = r == 0 ? add_quoted(out, address) : r;
	if (r == 0)
		r = buf_printf(out,
		    "host %s\nport %u\ntls on\ntls_starttls %s\n", s->host,
		    s->port, s->sock == ISPDB_TLS ? "off" : "on");
	if (r == 0 && !auth)
		r = buf_addstr(out, "auth off\n");
	else if (r == 0) {
		r = buf_addstr(out, "auth on\nuser ");
		r = r == 0 ? add_quoted(out, user) : r;
		if (r == 0 && (s->auth & ISPDB_AUTH_OAUTH2) != 0)
			r = buf_addstr(out,
			    "# The provider offers OAuth2: see oauth2_provider "
			    "in postseal.conf(5).\n");
		if (r == 0)
			r = buf_addstr(out,
			    "# No password is written: add one, e.g.\n"
			    "# passwordeval \"pass show mail/account\"\n");
	}
	if (r == -1)
		return err_set(e, ERR_DATA,
		    "autoconfig: cannot write the account (address or name "
		    "not printable, or too long)");
	return 0;
}
