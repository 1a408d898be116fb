/*
 * test_oauth2.c -- the token-endpoint response parser of oauth2.c, as a
 * table of (body, expected reason or fields), hostile bodies included.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "oauth2.h"

static const struct row {
	const char *body;
	const char *why; /* NULL: accepted */
	const char *access, *refresh, *error;
	long long expires_in;
} rows[] = {
    {"{\"access_token\":\"at-1\",\"expires_in\":3599,\"refresh_token\":"
     "\"rt-1\",\"token_type\":\"Bearer\"}",
	NULL, "at-1", "rt-1", "", 3599},
    {"{\"access_token\":\"at-2\",\"expires_in\":\"60\"}", NULL, "at-2", NULL,
	"", 60},
    {"{\"access_token\":\"at-3\"}", NULL, "at-3", NULL, "", -1},
    {"{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70000\"}",
	NULL, NULL, NULL, "invalid_grant", -1},
    /* The provider's text is made printable. */
    {"{\"error\":\"bad\\u001b[31m\\r\\n\"}", NULL, NULL, NULL,
	"bad\\x1b[31m\\x0d\\x0a", -1},
    {"", "an empty body", NULL, NULL, NULL, 0},
    {"{\"access_token\":\"at-x\",\"expires_in\":", "malformed JSON", NULL, NULL,
	NULL, 0},
    {"<html>login</html>", "malformed JSON", NULL, NULL, NULL, 0},
    {"[\"access_token\"]", "JSON that is not an object", NULL, NULL, NULL, 0},
    {"{\"access_token\":\"a\"} {}", "malformed JSON", NULL, NULL, NULL, 0},
    {"{\"access_token\":\"a\"}\r\n", NULL, "a", NULL, "", -1},
    /* Tokens go on the AUTH line and into the state file unescaped. */
    {"{\"access_token\":\"at \\r\\nMAIL FROM:<x>\"}",
	"a field of the wrong type or form", NULL, NULL, NULL, 0},
    {"{\"access_token\":\"at-\\u0000x\"}", "a field of the wrong type or form",
	NULL, NULL, NULL, 0},
    {"{\"access_token\":\"a\\\"b\"}", "a field of the wrong type or form", NULL,
	NULL, NULL, 0},
    {"{\"access_token\":\"\"}", "a field of the wrong type or form", NULL, NULL,
	NULL, 0},
    {"{\"access_token\":42}", "a field of the wrong type or form", NULL, NULL,
	NULL, 0},
    {"{\"access_token\":\"a\",\"expires_in\":-5}",
	"a field of the wrong type or form", NULL, NULL, NULL, 0},
    {"{\"access_token\":\"a\",\"expires_in\":\"5x\"}",
	"a field of the wrong type or form", NULL, NULL, NULL, 0},
    {"{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}", "malformed JSON", NULL, NULL, NULL,
	0},
};

static void
test_rows(void)
{
	struct oauth2_reply r;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];

		why = oauth2_parse_reply(t->body, strlen(t->body), &r);
		if (t->why != NULL) {
			CHECK_STR(why, t->why);
			CHECK(
			    r.access_token == NULL && r.refresh_token == NULL);
			continue;
		}
		CHECK(why == NULL);
		if (why != NULL) {
			fprintf(stderr, "row %zu: %s\n", i, why);
			continue;
		}
		CHECK(t->access ? r.access_token != NULL &&
				      strcmp(r.access_token, t->access) == 0
				: r.access_token == NULL);
		CHECK(t->refresh ? r.refresh_token != NULL &&
				       strcmp(r.refresh_token, t->refresh) == 0
				 : r.refresh_token == NULL);
		CHECK_STR(r.error, t->error);
		CHECK(r.expires_in == t->expires_in);
		oauth2_reply_free(&r);
	}
}

static void
test_limits(void)
{
	struct oauth2_reply r;
	size_t n = OAUTH2_MAX_RESPONSE + 1;
	char *big = malloc(n);
	const char *why;

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	CHECK_STR(oauth2_parse_reply(big, n, &r), "a body too large");
	CHECK(oauth2_parse_reply(big, n - 1, &r) != NULL);
	free(big);

	/* A NUL inside the body, outside any string. */
	why = oauth2_parse_reply("{}\0{}", 5, &r);
	CHECK_STR(why, "a NUL byte in the body");

	/* The device authorization response (RFC 8628 3.2). */
	why = oauth2_parse_reply("{\"device_code\":\"dc\",\"user_code\":\"AB-"
				 "CD\","
				 "\"verification_url\":\"https://x/d\","
				 "\"interval\":5}",
	    86, &r);
	CHECK(why == NULL);
	if (why == NULL) {
		CHECK_STR(r.device_code, "dc");
		CHECK_STR(r.user_code, "AB-CD");
		CHECK_STR(r.verification_uri, "https://x/d");
		CHECK(r.interval == 5);
		oauth2_reply_free(&r);
	}
}

int
main(void)
{
	test_rows();
	test_limits();
	return check_done();
}
