/* Unit tests for buf.c and err.c. */

#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "err.h"

static const struct {
	const char *in;
	unsigned long long max;
	int ok;
	unsigned long long want;
	const char *rest;
} uints[] = {
    {"0", 10, 0, 0, ""},
    {"10", 10, 0, 10, ""},
    {"11", 10, -1, 0, "11"},
    {"42abc", 100, 0, 42, "abc"},
    {"", 100, -1, 0, ""},
    {"-1", 100, -1, 0, "-1"},
    {"+1", 100, -1, 0, "+1"},
    {" 1", 100, -1, 0, " 1"},
    {"18446744073709551615", ~0ULL, 0, ~0ULL, ""},
    {"18446744073709551616", ~0ULL, -1, 0, "18446744073709551616"},
    {"99999999999999999999999", ~0ULL, -1, 0, "99999999999999999999999"},
};

static void
test_parse_uint(void)
{
	size_t i;

	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		const char *p = uints[i].in;
		unsigned long long v = 12345;
		int r = parse_uint(&p, uints[i].max, &v);
		CHECK(r == uints[i].ok);
		if (r == 0)
			CHECK(v == uints[i].want);
		CHECK_STR(p, uints[i].rest);
	}
}

static void
test_buf_cap(void)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK(buf_addstr(&b, "12345") == 0);
	CHECK(buf_addstr(&b, "678") == 0);
	CHECK(b.len == 8);
	CHECK(buf_addch(&b, 'x') == -1 && errno == EMSGSIZE);
	CHECK(b.len == 8);
	CHECK_STR(b.data, "12345678");
	buf_consume(&b, 3);
	CHECK_STR(b.data, "45678");
	CHECK(buf_printf(&b, "%d", 123) == 0);
	CHECK_STR(b.data, "45678123");
	buf_wipe(&b);
	CHECK(b.data == NULL && b.len == 0);
}

static void
test_err(void)
{
	struct err e;

	CHECK(err_set(&e, ERR_TEMP, "a\r\nb%s", "\x01") == -1);
	CHECK_STR(e.text, "a??b?");
	CHECK(err_is_temporary(&e));
	err_prefix(&e, "file %s", "x");
	CHECK_STR(e.text, "file x: a??b?");
	CHECK(err_exit_code(ERR_AUTH) == EX_NOPERM);
	CHECK(err_exit_code(ERR_CONFIG) == EX_CONFIG);
	CHECK(err_exit_code(ERR_TEMP) == EX_TEMPFAIL);
	CHECK(has_crlfnul("ab\n", 3) && !has_crlfnul("abc", 3));
	CHECK(ascii_casecmp("AUTH", "auth") == 0);
	CHECK(ascii_ncasecmp("STARTTLSX", "starttls", 8) == 0);
}

/* copy_printable(): cut to fit, non-printables '?', optional lower case;
 * fd_write_all(): every byte through a pipe. */
static void
test_copy_write(void)
{
	char d[6], got[16];
	int fds[2];

	copy_printable(d, sizeof(d), "Ab\r\n\x7f\xffXYZ", 9, 0);
	CHECK_STR(d, "Ab???");
	copy_printable(d, sizeof(d), "MiXeD", 5, 1);
	CHECK_STR(d, "mixed");
	copy_printable(d, 1, "abc", 3, 0);
	CHECK_STR(d, "");
	CHECK(ascii_lower('Q') == 'q' && ascii_lower('[') == '[');
	CHECK(pipe(fds) == 0);
	CHECK(fd_write_all(fds[1], "hello, pipe", 11) == 0);
	close(fds[1]);
	CHECK(read(fds[0], got, sizeof(got)) == 11 &&
	      memcmp(got, "hello, pipe", 11) == 0);
	close(fds[0]);
	CHECK(fd_write_all(fds[1], "x", 1) == -1 && errno == EBADF);
}

int
main(void)
{
	test_parse_uint();
	test_buf_cap();
	test_err();
	test_copy_write();
	return check_done();
}
