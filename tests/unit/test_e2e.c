/*
 * Unit tests for e2e.c's key report (the --doctor line): keys made now
 * with gpg in a mkdtemp() GnuPG home; one expiring within 30 days warns,
 * one valid for a year is ok, a missing one fails.  Skips (77) without gpg.
 */
#include "e2e.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "log.h"

static char dir[64];

static int
gen(const char *uid, const char *expire)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
	    "gpg --homedir '%s' --batch --pinentry-mode loopback "
	    "--passphrase '' --quick-gen-key '%s' default default %s "
	    ">/dev/null 2>&1",
	    dir, uid, expire);
	return system(cmd);
}

/* The report for pgp_sign key (NULL: none) and, when from is not NULL,
 * pgp_encrypt opportunistic from that sender: its return and its text in
 * out. */
static int
report_enc(const char *key, const char *from, char *out, size_t size)
{
	struct account a;
	FILE *f = tmpfile();
	size_t n;
	int r;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t) "t";
	a.gpg_home = dir;
	a.pgp_sign = (char *)(uintptr_t)key;
	if (from != NULL) {
		a.from = (char *)(uintptr_t)from;
		a.pgp_encrypt = CONF_ENCRYPT_OPPORTUNISTIC;
	}
	if (f == NULL)
		fatal("tmpfile");
	r = e2e_report(&a, f);
	rewind(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
	return r;
}

static int
report(const char *key, char *out, size_t size)
{
	return report_enc(key, NULL, out, size);
}

int
main(void)
{
	char out[1024], cmd[256];
	struct account none;

	log_init("test_e2e");
	if (system("gpg --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_e2e: gpg not installed\n");
		return 77;
	}
	if (mkdtemp(memcpy(dir, "/tmp/ps-e2eu-XXXXXX", 20)) == NULL)
		fatal("mkdtemp");
	/* The agent up before gpg needs it: gpg gives up on one it
	 * autostarts after 5 s, which a loaded machine can exceed. */
	snprintf(cmd, sizeof(cmd),
	    "gpg-agent --homedir '%s' --daemon >/dev/null 2>&1", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_e2e: gpg-agent --daemon failed\n");
	CHECK(gen("Soon <soon@example.org>", "10d") == 0);
	CHECK(gen("Long <long@example.org>", "1y") == 0);
	CHECK(report("soon@example.org", out, sizeof(out)) == 1);
	CHECK(strncmp(out, "warn pgp_sign soon@example.org: ", 32) == 0);
	CHECK(strstr(out, "expires in 9 days") != NULL ||
	      strstr(out, "expires in 10 days") != NULL);
	CHECK(report("long@example.org", out, sizeof(out)) == 0);
	CHECK(strncmp(out, "ok   pgp_sign long@example.org: ", 32) == 0);
	CHECK(report("missing@example.org", out, sizeof(out)) == 2);
	CHECK_STR(out, "fail pgp_sign missing@example.org: no key\n");
	/* Encryption: the sender's own key is reported too. */
	CHECK(report_enc(NULL, "long@example.org", out, sizeof(out)) == 0);
	CHECK(strncmp(out,
		  "ok   pgp_encrypt (own key) long@example.org: ", 45) == 0);
	CHECK(report_enc(NULL, "nokey@example.org", out, sizeof(out)) == 2);
	CHECK_STR(out,
	    "fail pgp_encrypt (own key) nokey@example.org: no key\n");
	CHECK(report_enc(NULL, "", out, sizeof(out)) == 2);
	CHECK_STR(out,
	    "fail pgp_encrypt: no sender address to encrypt to as well\n");
	/* Nothing configured: nothing to say. */
	memset(&none, 0, sizeof(none));
	CHECK(e2e_report(&none, stdout) == 0);
	snprintf(cmd, sizeof(cmd),
	    "GNUPGHOME='%s' gpgconf --kill all; rm -rf '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean up %s\n", dir);
	return check_done();
}
