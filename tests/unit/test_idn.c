/*
 * Unit tests for idn.c: punycode (RFC 3492 7.1 samples and hostile
 * labels), strict UTF-8, mixed scripts and skeletons of homographs.
 */
#include <string.h>

#include "check.h"
#include "idn.h"

static void
test_punycode(void)
{
	/* RFC 3492 7.1 (B): Chinese (simplified), and (L): Russian */
	static const unsigned zh[] = {0x4ed6, 0x4eec, 0x4e3a, 0x4ec0, 0x4e48,
	    0x4e0d, 0x8bf4, 0x4e2d, 0x6587};
	static const unsigned ru[] = {0x43f, 0x440, 0x438, 0x43c, 0x435, 0x440};
	unsigned out[64];
	size_t n = 0;

	CHECK(idn_punycode_decode("ihqwcrb4cv8a8dqg056pqjye", 24, out, &n,
		  64) == 0 &&
	      n == 9 && memcmp(out, zh, sizeof(zh)) == 0);
	CHECK(idn_punycode_decode("e1afmkfd", 8, out, &n, 64) == 0 && n == 6 &&
	      memcmp(out, ru, sizeof(ru)) == 0);
	CHECK(idn_punycode_decode("mnchen-3ya", 10, out, &n, 64) == 0 &&
	      n == 7 && out[1] == 0xfc && out[0] == 'm');
	/* hostile: bad digit, truncated, overflow, too long */
	CHECK(idn_punycode_decode("mnchen-3y!", 10, out, &n, 64) == -1);
	CHECK(idn_punycode_decode("mnchen-3", 8, out, &n, 64) == -1);
	CHECK(idn_punycode_decode("99999999999", 11, out, &n, 64) == -1);
	CHECK(idn_punycode_decode("ihqwcrb4cv8a8dqg056pqjye", 24, out, &n, 4) ==
	      -1);
	CHECK(idn_punycode_decode("", 0, out, &n, 64) == 0 && n == 0);
}

static void
test_analyse(void)
{
	struct idn_info i;

	idn_analyse("xn--pypal-4ve.com", &i); /* Cyrillic a */
	CHECK(i.idn && i.mixed && !i.bad);
	CHECK_STR(i.scripts, "latin+cyrillic");
	CHECK_STR(i.skeleton, "paypal.com");
	idn_analyse("p\xd0\xb0ypal.com", &i); /* the same in UTF-8 */
	CHECK(i.idn && i.mixed);
	CHECK_STR(i.skeleton, "paypal.com");
	idn_analyse("xn--e1afmkfd.xn--p1ai", &i); /* one script per label */
	CHECK(i.idn && !i.mixed && !i.bad);
	idn_analyse("xn--exmple-cua.com", &i);
	CHECK(i.idn && !i.mixed);
	CHECK_STR(i.skeleton, "example.com");
	idn_analyse("Example.COM", &i);
	CHECK(!i.idn && !i.mixed);
	CHECK_STR(i.skeleton, "example.com");
	idn_analyse("xn--99999999999.com", &i);
	CHECK(i.idn && i.bad);
	idn_analyse("\xc0\xaf.com", &i); /* overlong UTF-8 */
	CHECK(i.bad);
	idn_analyse("\xed\xa0\x80.com", &i); /* a surrogate */
	CHECK(i.bad);
	idn_analyse("", &i);
	CHECK(!i.idn && i.skeleton[0] == '\0');
}

int
main(void)
{
	test_punycode();
	test_analyse();
	return check_done();
}
