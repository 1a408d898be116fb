/*
 * Unit tests for trace.c: Received fields as Postfix, Exim, Sendmail,
 * Microsoft and Gmail write them; dates; Authentication-Results and
 * ARC-Authentication-Results (RFC 8601 appendix B examples among them);
 * DKIM and ARC tag lists; hostile input.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "trace.h"

static const struct {
	const char *v;
	const char *from, *rdns, *ip, *by, *with, *tls, *cipher;
	long long time; /* -1: no date */
} received[] = {
    {"from mail.example.com (mail.example.com [192.0.2.1])\r\n"
     "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
     "\t key-exchange X25519 server-signature RSA-PSS (2048 bits))\r\n"
     "\t(No client certificate requested)\r\n"
     "\tby mx.example.org (Postfix) with ESMTPS id 4ABC\r\n"
     "\tfor <user@example.org>; Tue, 1 Dec 2026 10:00:00 +0000 (UTC)",
	"mail.example.com", "mail.example.com", "192.0.2.1", "mx.example.org",
	"ESMTPS", "TLSv1.3", "TLS_AES_256_GCM_SHA384", 1796119200},
    {"from client.test (localhost [127.0.0.1]) by mx.test (Postfix) with "
     "ESMTP id 1; Tue, 1 Dec 2026 11:00:00 +0100",
	"client.test", "localhost", "127.0.0.1", "mx.test", "ESMTP", "", "",
	1796119200},
    {"from [198.51.100.7] (helo=laptop)\r\n by smtp.exim.test with esmtpsa "
     "(TLS1.3) tls TLS_AES_128_GCM_SHA256 (Exim 4.96)\r\n (envelope-from "
     "<a@b.test>) id 1x; Tue, 01 Dec 2026 05:00:00 -0500",
	"[198.51.100.7]", "", "198.51.100.7", "smtp.exim.test", "esmtpsa",
	"TLS1.3", "TLS_AES_128_GCM_SHA256", 1796119200},
    {"from relay.test (relay.test [IPv6:2001:db8::25]) by sm.test "
     "(8.17.1/8.17.1) with ESMTPS id x (version=TLSv1.2 "
     "cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 verify=NOT); 1 Dec 26 "
     "10:00 GMT",
	"relay.test", "relay.test", "2001:db8::25", "sm.test", "ESMTPS",
	"TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", 1796119200},
    {"from EX1.corp.test (2001:db8::1) by EX2.corp.test (2001:db8::2) with "
     "Microsoft SMTP Server (version=TLS1_2, "
     "cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.2; Tue, 1 Dec "
     "2026 10:00:00 +0000",
	"ex1.corp.test", "2001:db8::1", "", "ex2.corp.test", "Microsoft",
	"TLS1_2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 1796119200},
    {"by 2002:a05:6a20:1:b0:1 with SMTP id x; Tue, 1 Dec 2026 02:00:00 "
     "-0800 (PST)",
	"", "", "", "2002:a05:6a20:1:b0:1", "SMTP", "", "", 1796119200},
    {"from x by y", "x", "", "", "y", "", "", "", -1},
    {"from x ((((((((((((((((((((((((((((( by y; junk", "x", "", "", "", "", "",
	"", -1},
    {"", "", "", "", "", "", "", "", -1},
};

static void
test_received(void)
{
	struct trace_received r;
	size_t i;
	const char *why;

	for (i = 0; i < sizeof(received) / sizeof(received[0]); i++) {
		why = trace_received_parse(received[i].v, strlen(received[i].v),
		    &r);
		CHECK_STR(r.from, received[i].from);
		CHECK_STR(r.from_rdns, received[i].rdns);
		CHECK_STR(r.ip, received[i].ip);
		CHECK_STR(r.by, received[i].by);
		CHECK_STR(r.with, received[i].with);
		CHECK_STR(r.tls, received[i].tls);
		CHECK_STR(r.cipher, received[i].cipher);
		if (received[i].time == -1) {
			CHECK(why != NULL);
			CHECK(!r.has_time);
		} else {
			CHECK(why == NULL);
			CHECK(r.has_time && r.time == received[i].time);
			if (r.time != received[i].time)
				fprintf(stderr, "row %zu: time %lld\n", i,
				    r.time);
		}
	}
}

static void
test_dates(void)
{
	long long t = 0;

	CHECK(trace_date_parse("1 Jan 1970 00:00:00 +0000", 25, &t) == NULL &&
	      t == 0);
	CHECK(trace_date_parse("Thu, 29 Feb 2024 23:59:60 -0000", 31, &t) ==
		  NULL &&
	      t == 1709251200);
	CHECK(trace_date_parse("32 Jan 2024 00:00 +0000", 23, &t) != NULL);
	CHECK(trace_date_parse("1 Foo 2024 00:00 +0000", 22, &t) != NULL);
	CHECK(trace_date_parse("1 Jan 2024 25:00 +0000", 22, &t) != NULL);
	CHECK(trace_date_parse("1 Jan 2024 10:00 +01", 20, &t) != NULL);
	CHECK(trace_date_parse("", 0, &t) != NULL);
}

static void
test_authres(void)
{
	struct trace_authres *ar = calloc(1, sizeof(*ar));
	const char *v;

	v = "mx.example.org; dkim=pass (2048-bit key) header.d=example.com "
	    "header.i=@example.com header.b=\"AbC+/12\";\r\n spf=pass "
	    "(mx.example.org: domain of a@example.com designates 192.0.2.1 "
	    "as permitted sender) smtp.mailfrom=a@example.com;\r\n "
	    "dmarc=fail reason=\"p=reject; dis=none\" header.from=example.com";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) == NULL);
	CHECK_STR(ar->authserv_id, "mx.example.org");
	CHECK(ar->nm == 3);
	CHECK_STR(ar->m[0].method, "dkim");
	CHECK_STR(ar->m[0].result, "pass");
	CHECK_STR(trace_method_prop(&ar->m[0], "header", "d"), "example.com");
	CHECK_STR(trace_method_prop(&ar->m[0], "header", "b"), "AbC+/12");
	CHECK_STR(ar->m[1].method, "spf");
	CHECK_STR(trace_method_prop(&ar->m[1], "smtp", "mailfrom"),
	    "a@example.com");
	CHECK_STR(ar->m[2].result, "fail");
	CHECK_STR(ar->m[2].reason, "p=reject; dis=none");
	CHECK(trace_method_prop(&ar->m[2], "header", "d") == NULL);

	/* RFC 8601 B.2 and B.4 */
	v = "example.org 1; none";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) == NULL && ar->nm == 0);
	v = "example.com; auth=pass (cram-md5) smtp.auth=sender@example.net; "
	    "spf=pass smtp.mailfrom=example.net";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) == NULL && ar->nm == 2);
	CHECK_STR(ar->m[0].method, "auth");
	v = "example.com; dkim/1=Pass header.d=x.test";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) == NULL);
	CHECK_STR(ar->m[0].method, "dkim");
	CHECK_STR(ar->m[0].result, "pass");

	v = "i=2; lists.test; arc=pass (i=1 as.d=ex.test); dkim=pass "
	    "header.d=lists.test";
	CHECK(trace_authres_parse(v, strlen(v), 1, ar) == NULL);
	CHECK(ar->instance == 2 && ar->nm == 2);
	CHECK_STR(ar->authserv_id, "lists.test");
	CHECK_STR(ar->m[0].method, "arc");

	/* hostile */
	CHECK(trace_authres_parse("", 0, 0, ar) != NULL);
	v = "a; dkim";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) != NULL);
	v = "a; dkim=pass header=x";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) != NULL);
	v = "a; dkim=pass header.d=\"unterminated";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) != NULL);
	v = "i=0; a; dkim=pass";
	CHECK(trace_authres_parse(v, strlen(v), 1, ar) != NULL);
	v = "i=51; a; dkim=pass";
	CHECK(trace_authres_parse(v, strlen(v), 1, ar) != NULL);
	v = "a b; dkim=pass";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) != NULL);
	v = "a; x=1; x=1; x=1; x=1; x=1; x=1; x=1; x=1; x=1; x=1; x=1; x=1; "
	    "x=1; x=1; x=1; x=1; x=1; x=1";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) == NULL);
	CHECK(ar->nm == TRACE_MAX_RESULTS && ar->more);
	v = "a\x01\x7f; dkim=pass";
	CHECK(trace_authres_parse(v, strlen(v), 0, ar) == NULL);
	CHECK_STR(ar->authserv_id, "a??");
	free(ar);
}

static void
test_tags(void)
{
	struct trace_tags t;
	const char *v;

	v = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=Example.COM; s=sel;\r\n"
	    "\th=From : To:\r\n\tSubject; l=12; bh=x; b=y";
	CHECK(trace_tags_parse(v, strlen(v), 0, &t) == NULL);
	CHECK_STR(t.d, "example.com");
	CHECK_STR(t.s, "sel");
	CHECK_STR(t.h, "from:to:subject");
	CHECK(t.has_l && t.l == 12);
	CHECK(trace_list_has(t.h, "To") && trace_list_has(t.h, "subject"));
	CHECK(!trace_list_has(t.h, "cc") && !trace_list_has(t.h, "t"));
	v = "i=1; a=rsa-sha256; cv=none; d=ex.test; s=arc; t=1; b=x";
	CHECK(trace_tags_parse(v, strlen(v), 1, &t) == NULL);
	CHECK(t.i == 1);
	CHECK_STR(t.cv, "none");
	v = "i=51; cv=none";
	CHECK(trace_tags_parse(v, strlen(v), 1, &t) != NULL);
	v = "cv=none; d=x";
	CHECK(trace_tags_parse(v, strlen(v), 1, &t) != NULL);
	v = "i=1; cv=maybe";
	CHECK(trace_tags_parse(v, strlen(v), 1, &t) != NULL);
	v = "d=x; junk";
	CHECK(trace_tags_parse(v, strlen(v), 0, &t) != NULL);
	v = "d=x; l=-1";
	CHECK(trace_tags_parse(v, strlen(v), 0, &t) != NULL);
}

int
main(void)
{
	test_received();
	test_dates();
	test_authres();
	test_tags();
	return check_done();
}
