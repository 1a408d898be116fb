/*
 * err.c -- struct err: filling, classifying and mapping to sysexits.
 *
 * Invariant: e->text is always a NUL-terminated line of printable
 * characters, so it can go to stderr and logs without escaping.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int vset(struct err *e, enum err_kind kind, int code, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

static int
vset(struct err *e, enum err_kind kind, int code, const char *fmt, va_list ap)
{
	if (e == NULL)
		return -1;
	e->kind = kind;
	e->smtp_code = code;
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	sanitize(e->text);
	return -1;
}

int
err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(e, kind, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_set_smtp(struct err *e, enum err_kind kind, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(e, kind, code, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char head[sizeof(e->text)], old[sizeof(e->text)];
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, e->text, sizeof(old));
	/* A prefix that does not fit leaves the text truncated, as promised. */
	if (snprintf(e->text, sizeof(e->text), "%s: %s", head, old) < 0)
		e->text[0] = '\0';
	sanitize(e->text);
	return -1;
}

int
err_is_temporary(const struct err *e)
{
	return e->kind == ERR_TEMP || e->kind == ERR_PROTOCOL;
}

static const struct {
	enum err_kind kind;
	int code;
	const char *name;
} kinds[] = {
    {ERR_NONE, EX_OK, "ok"},
    {ERR_USAGE, EX_USAGE, "usage"},
    {ERR_DATA, EX_DATAERR, "data"},
    {ERR_NOINPUT, EX_NOINPUT, "no input"},
    {ERR_NOUSER, EX_NOUSER, "recipient rejected"},
    {ERR_PERM, EX_UNAVAILABLE, "permanent"},
    {ERR_SOFTWARE, EX_SOFTWARE, "internal"},
    {ERR_OS, EX_OSERR, "system"},
    {ERR_CANTCREAT, EX_CANTCREAT, "cannot create"},
    {ERR_IO, EX_IOERR, "i/o"},
    {ERR_TEMP, EX_TEMPFAIL, "temporary"},
    {ERR_PROTOCOL, EX_TEMPFAIL, "protocol"},
    {ERR_AUTH, EX_NOPERM, "authentication"},
    {ERR_CONFIG, EX_CONFIG, "config"},
};

int
err_exit_code(enum err_kind kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].code;
	return EX_SOFTWARE;
}

const char *
err_kind_name(enum err_kind kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "unknown";
}
