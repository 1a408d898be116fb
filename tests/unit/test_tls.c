/*
 * test_tls.c -- tls.c: the TLSA record text dns.c produces, parsed into
 * RDATA, with the records RFC 7672 3.1 lets SMTP use told apart.
 */
#include <string.h>

#include "../../src/tls.h"
#include "check.h"

#define H32 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
	const char *text;
	int ok;	    /* parses */
	int usable; /* DANE-TA/DANE-EE, known selector and matching type */
	size_t len; /* RDATA bytes when ok */
} rows[] = {
    {"3 1 1 " H32, 1, 1, 35},
    {"2 0 1 " H32, 1, 1, 35},
    {"3 0 2 " H32 H32, 1, 1, 67},
    {"3 1 0 3059301306", 1, 1, 8}, /* full SPKI: any length */
    {"3 1 1 0123", 1, 0, 5},	   /* SHA-256 of the wrong length */
    {"3 1 2 " H32, 1, 0, 35},	   /* SHA-512 of the wrong length */
    {"1 1 1 " H32, 1, 0, 35},	   /* PKIX-EE: unusable for SMTP */
    {"0 0 1 " H32, 1, 0, 35},	   /* PKIX-TA: unusable for SMTP */
    {"3 2 1 " H32, 1, 0, 35},	   /* unknown selector */
    {"3 1 3 " H32, 1, 0, 35},	   /* unknown matching type */
    {"255 255 255 00", 1, 0, 4},
    {"3 1 1 ", 0, 0, 0},     /* no data */
    {"3 1 1", 0, 0, 0},	     /* no data, no blank */
    {"3 1 1 0", 0, 0, 0},    /* odd hex */
    {"3 1 1 zz", 0, 0, 0},   /* not hex */
    {"256 1 1 00", 0, 0, 0}, /* field out of range */
    {"3  1 1 00", 0, 0, 0},  /* two blanks */
    {"-3 1 1 00", 0, 0, 0},  /* sign */
    {"03 1 1 00", 0, 0, 0},  /* leading zero (dns.c prints none) */
    {"0 0 0 00", 1, 0, 4},
    {"3 1 1 00 11", 0, 0, 0}, /* blank in the data */
    {"", 0, 0, 0},
};

int
main(void)
{
	unsigned char rd[256];
	size_t i, len;
	int usable, r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		len = 0;
		r = tls_parse_tlsa(rows[i].text, rd, sizeof(rd), &len, &usable);
		CHECK((r == 0) == rows[i].ok);
		if (r != 0)
			continue;
		CHECK(usable == rows[i].usable);
		CHECK(len == rows[i].len);
	}
	/* Fields and data land in order; data past the buffer is refused. */
	CHECK(tls_parse_tlsa("3 1 1 " H32, rd, sizeof(rd), &len, &usable) == 0);
	CHECK(rd[0] == 3 && rd[1] == 1 && rd[2] == 1 && rd[3] == 0x01 &&
	      rd[34] == 0xef);
	CHECK(tls_parse_tlsa("3 1 1 " H32, rd, 34, &len, &usable) == -1);
	CHECK(tls_parse_tlsa("3 1 1 00", rd, 3, &len, &usable) == -1);
	return check_done();
}
