/*
 * Unit tests for dns.c's parts that need no server: dns_server syntax,
 * reverse names, the bounds of an answer, outcome names.  The lookups
 * themselves are tested against nsd (tests/e2e/spf-check.sh).
 */
#include <arpa/inet.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "dns.h"

static const struct {
	const char *in, *want, *why;
} servers[] = {
    {"127.0.0.1", "127.0.0.1@53", NULL},
    {"127.0.0.1:5353", "127.0.0.1@5353", NULL},
    {"::1", "::1@53", NULL},
    {"[::1]:5353", "::1@5353", NULL},
    {"[2001:db8::53]", "2001:db8::53@53", NULL},
    {"2001:db8::53", "2001:db8::53@53", NULL},
    {"resolver.example", NULL, "expected an IP address (not a host name)"},
    {"127.0.0.1:0", NULL, "expected a port from 1 to 65535"},
    {"127.0.0.1:65536", NULL, "expected a port from 1 to 65535"},
    {"127.0.0.1:x", NULL, "expected a port from 1 to 65535"},
    {"127.0.0.1:", NULL, "expected a port from 1 to 65535"},
    {"[::1", NULL, "missing ']'"},
    {"[::1]x", NULL, "expected [ADDRESS]:PORT"},
    {"", NULL, "expected an IP address"},
    {":53", NULL, "expected an IP address"},
    {"1.2.3.4.5", NULL, "expected an IP address (not a host name)"},
};

static void
test_servers(void)
{
	char out[96];
	size_t i;

	for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		const char *why =
		    dns_parse_server(servers[i].in, out, sizeof(out));
		if (servers[i].why != NULL) {
			CHECK_STR(why, servers[i].why);
		} else {
			CHECK(why == NULL);
			CHECK_STR(why == NULL ? out : why, servers[i].want);
		}
	}
	CHECK(dns_parse_server("127.0.0.1:5353", out, 8) != NULL);
}

static void
test_reverse(void)
{
	unsigned char ip[16];
	char out[80];

	CHECK(inet_pton(AF_INET, "192.0.2.10", ip) == 1);
	CHECK(dns_reverse_name(AF_INET, ip, out, sizeof(out)) == 0);
	CHECK_STR(out, "10.2.0.192.in-addr.arpa");
	CHECK(inet_pton(AF_INET6, "2001:db8::cb01", ip) == 1);
	CHECK(dns_reverse_name(AF_INET6, ip, out, sizeof(out)) == 0);
	CHECK_STR(out,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	    "1.0.0.2.ip6.arpa");
	CHECK(dns_reverse_name(AF_INET6, ip, out, 20) == -1);
}

static void
test_bounds(void)
{
	struct dns_answer a;
	struct dns_rr rr;
	char big[DNS_MAX_ANSWER_TEXT + 1], spf[] = "v=spf1 -all";
	size_t i;

	memset(&a, 0, sizeof(a));
	memset(&rr, 0, sizeof(rr));
	rr.text = spf;
	rr.len = 11;
	for (i = 0; i < DNS_MAX_RR; i++)
		CHECK(dns_answer_add(&a, &rr) == 0);
	CHECK(dns_answer_add(&a, &rr) == -1); /* one record too many */
	CHECK(a.nrr == DNS_MAX_RR);
	CHECK(a.rr[0].text[11] == '\0' && strcmp(a.rr[0].text, rr.text) == 0);
	dns_answer_free(&a);
	CHECK(a.nrr == 0 && a.rr == NULL);
	memset(big, 'a', sizeof(big));
	rr.text = big;
	rr.len = DNS_MAX_ANSWER_TEXT;
	CHECK(dns_answer_add(&a, &rr) == 0);
	rr.len = 1;
	CHECK(dns_answer_add(&a, &rr) == -1); /* the text cap */
	dns_answer_free(&a);
	dns_answer_free(NULL);
}

static void
test_names(void)
{
	CHECK_STR(dns_status_name(DNS_NXDOMAIN), "no such name");
	CHECK_STR(dns_status_name(DNS_SERVFAIL), "server failure");
	CHECK_STR(dns_status_name(DNS_TIMEOUT), "timeout");
	CHECK_STR(dns_sec_name(DNS_SECURE), "secure");
	CHECK_STR(dns_sec_name(DNS_SEC_BOGUS), "bogus");
	/* Only NXDOMAIN and NODATA say the record is missing. */
	CHECK(!dns_status_temporary(DNS_FOUND));
	CHECK(!dns_status_temporary(DNS_NXDOMAIN));
	CHECK(!dns_status_temporary(DNS_NODATA));
	CHECK(dns_status_temporary(DNS_SERVFAIL));
	CHECK(dns_status_temporary(DNS_TIMEOUT));
	CHECK(dns_status_temporary(DNS_BOGUS));
	CHECK(dns_status_temporary(DNS_FAILED));
}

/* SRV rdata: priority, weight, port, target (RFC 2782). */
static void
test_srv(void)
{
	static const unsigned char ok[] = {0, 10, 0, 5, 0x01, 0xd1, 4, 'm', 'a',
	    'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	static const unsigned char root[] = {0, 0, 0, 0, 0, 0, 0};
	static const unsigned char heavy[] = {0, 10, 0, 9, 0x02, 0x4b, 1, 'b',
	    0};
	static const unsigned char first[] = {0, 1, 0, 0, 0x02, 0x4b, 1, 'c',
	    0};
	static const unsigned char bad[][12] = {
	    {0, 1, 0, 0, 0, 25},	       /* no target */
	    {0, 1, 0, 0, 0, 25, 5, 'a', 0},    /* label past the end */
	    {0, 1, 0, 0, 0, 25, 1, 'a', 0, 0}, /* bytes after the name */
	    {0, 1, 0, 0, 0, 25, 1, ' ', 0},    /* a blank in a label */
	    {0, 1, 0, 0, 0, 25, 2, 'a', '.', 1, 'b', 0}, /* a dot in a label */
	};
	static const size_t badlen[] = {6, 9, 10, 9, 12};
	struct dns_answer a;
	size_t i;

	memset(&a, 0, sizeof(a));
	CHECK(dns_rdata_add(&a, DNS_T_SRV, ok, sizeof(ok)) == 0);
	CHECK(a.nrr == 1 && a.rr[0].pref == 10 && a.rr[0].weight == 5 &&
	      a.rr[0].port == 465);
	CHECK_STR(a.rr[0].text, "mail.example");
	CHECK(dns_rdata_add(&a, DNS_T_SRV, root, sizeof(root)) == 0);
	CHECK(a.nrr == 2 && a.rr[1].len == 0 && a.rr[1].port == 0);
	CHECK_STR(a.rr[1].text, "");
	for (i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++)
		CHECK(dns_rdata_add(&a, DNS_T_SRV, bad[i], badlen[i]) == -1);
	CHECK(a.nrr == 2);
	CHECK(dns_rdata_add(&a, DNS_T_SRV, heavy, sizeof(heavy)) == 0);
	CHECK(dns_rdata_add(&a, DNS_T_SRV, first, sizeof(first)) == 0);
	dns_srv_sort(&a);
	/* priority ascending, then the heavier weight first */
	CHECK(a.nrr == 4 && a.rr[0].pref == 0 && a.rr[1].pref == 1);
	CHECK_STR(a.rr[1].text, "c");
	CHECK_STR(a.rr[2].text, "b");
	CHECK_STR(a.rr[3].text, "mail.example");
	dns_answer_free(&a);
}

static void
test_open(void)
{
	struct dns *d = NULL;
	struct err e = {0};

	CHECK(dns_open("resolver.example", 1000, &d, &e) == -1);
	CHECK(d == NULL && e.kind == ERR_CONFIG);
	CHECK_STR(e.text, "dns_server resolver.example: expected an IP address "
			  "(not a host name)");
	CHECK(dns_open("127.0.0.1:53", 1000, &d, &e) == 0 && d != NULL);
	dns_close(d);
	dns_close(NULL);
}

int
main(void)
{
	test_servers();
	test_reverse();
	test_bounds();
	test_names();
	test_srv();
	test_open();
	return check_done();
}
