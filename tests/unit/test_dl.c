/*
 * Unit tests for dl.c: a library loaded on first use (libpsl, which
 * nothing here links), a soname that does not exist, and a library that
 * lacks one function of the table, which leaves the whole table empty.
 */
#include "config.h"

#include <string.h>

#include <libpsl.h>

#include "check.h"
#include "dl.h"

/* Declared for its type only: no library has it. */
int postseal_no_such_function(void);

static void
test_loaded(void)
{
#define GOOD(X) X(psl_latest) X(psl_registrable_domain) X(psl_free)
	DL_LIBRARY(GOOD);
	struct err e = {0};
	psl_ctx_t *psl;
	const char *reg;

	CHECK(lib.psl_latest == NULL);
	CHECK(DL_LOAD(PSL_SONAME, &e) == 0);
	CHECK(lib.psl_latest != NULL && lib.psl_free != NULL);
	if (lib.psl_latest == NULL)
		return;
	CHECK((psl = lib.psl_latest(NULL)) != NULL);
	if (psl == NULL)
		return;
	reg = lib.psl_registrable_domain(psl, "a.b.example.co.uk");
	CHECK_STR(reg, "example.co.uk");
	lib.psl_free(psl);
	/* Once filled, a second call only checks the table. */
	CHECK(DL_LOAD("libpostseal-absent.so.0", &e) == 0);
#undef GOOD
}

static void
test_absent(void)
{
#define ABSENT(X) X(psl_latest)
	DL_LIBRARY(ABSENT);
	struct err e = {0};

	CHECK(DL_LOAD("libpostseal-absent.so.0", &e) == -1);
	CHECK(e.kind == ERR_OS);
	CHECK(
	    strncmp(e.text, "cannot load libpostseal-absent.so.0: ", 37) == 0);
	CHECK(lib.psl_latest == NULL);
	/* A NULL err is allowed (dmarc.c). */
	CHECK(DL_LOAD("libpostseal-absent.so.0", NULL) == -1);
#undef ABSENT
}

static void
test_lacking(void)
{
#define LACKING(X) X(psl_latest) X(psl_free) X(postseal_no_such_function)
	DL_LIBRARY(LACKING);
	struct err e = {0};
	char want[128];

	CHECK(DL_LOAD(PSL_SONAME, &e) == -1);
	CHECK(e.kind == ERR_OS);
	snprintf(want, sizeof(want), "%s lacks postseal_no_such_function",
	    PSL_SONAME);
	CHECK_STR(e.text, want);
	CHECK(lib.psl_latest == NULL && lib.psl_free == NULL &&
	      lib.postseal_no_such_function == NULL);
#undef LACKING
}

int
main(void)
{
	test_absent();
	test_lacking();
	test_loaded();
	return check_done();
}
