/*
 * fuzz_config.c -- libFuzzer harness for config.c: config_load() of the
 * input written to a private file (mode 0600, so the password permission
 * rules pass and the parser itself is what gets fuzzed).
 *
 * Checked on every input, beyond crashes and leaks:
 *   - failure is ERR_CONFIG with a printable message;
 *   - on success every account has its defaults filled in (port, timeout,
 *     auth, EHLO domain, DKIM canonicalisation), its lists are within
 *     CONFIG_MAX_HOSTS / CONFIG_MAX_DKIM_KEYS, TLS is not off when
 *     STARTTLS is on, and no string holds CR or LF (config.c's invariant:
 *     nothing from the file can smuggle a line break into the protocol);
 *   - config_find() and config_envelope_from() work on the result;
 *   - loading never runs a command: fork() and execvp() are replaced in
 *     this program by versions that abort, so a passwordeval run from
 *     config_load() would be a crash.  config_password(), which runs it,
 *     is never called.
 *
 * Non-goals: the accounts/ directory (the file is not named "config", so
 * it is not read), the default search path, file permission checks (unit
 * tests in tests/unit/test_config.c cover those).
 *
 * Invariants: deterministic; the same file is rewritten for every input;
 * nothing persists between runs but that file.  The warnings config.c
 * prints (ignored keywords) would flood the output, so the stderr FILE
 * points at /dev/null while config_load() runs; libFuzzer keeps its own
 * copy of the original pointer and the sanitizers write to fd 2, so their
 * reports are not affected.  EHLO defaults need the machine's FQDN:
 * gethostname() and getaddrinfo(), which /etc/hosts normally answers.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"

#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];
static FILE *real_stderr, *quiet;

static void
fail(const char *what, const char *s)
{
	if (real_stderr != NULL)
		stderr = real_stderr;
	fprintf(stderr, "fuzz_config: %s%s%s\n", what, s ? ": " : "",
	    s ? s : "");
	abort();
}

/* Running a command while loading a configuration is a bug. */
pid_t
fork(void)
{
	fail("config_load() tried to fork (passwordeval?)", NULL);
	return -1;
}

int
execvp(const char *file, char *const argv[])
{
	(void)argv;
	fail("config_load() tried to run a command", file);
	return -1;
}

static void
cleanup(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

static void
setup(void)
{
	if (dir[0] != '\0')
		return;
	memcpy(dir, "/dev/shm/fuzz_config.XXXXXX", 28);
	if (mkdtemp(dir) == NULL) {
		memcpy(dir, "/tmp/fuzz_config.XXXXXX", 24);
		if (mkdtemp(dir) == NULL)
			fail("mkdtemp", NULL);
	}
	snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
	atexit(cleanup);
	real_stderr = stderr;
	if ((quiet = fopen("/dev/null", "we")) == NULL)
		fail("cannot open /dev/null", NULL);
}

static void
write_input(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    close(fd) == -1)
		fail("cannot write the input file", path);
}

static void
check_str(const char *s, const char *what)
{
	if (s != NULL && strpbrk(s, "\r\n") != NULL)
		fail("line break in a configuration string", what);
}

static void
check_account(const struct account *a)
{
	size_t i;

	if (a->name == NULL || a->port == 0 || a->port > 65535 ||
	    a->timeout == 0 || a->auth == NULL || a->domain == NULL ||
	    a->dkim_canon == NULL)
		fail("account without its defaults", a->name);
	if (a->nhosts > CONFIG_MAX_HOSTS ||
	    a->ndkim_keys > CONFIG_MAX_DKIM_KEYS)
		fail("list over its cap", a->name);
	if (a->tls_starttls && !a->tls)
		fail("STARTTLS on with TLS off", a->name);
	for (i = 0; i < a->nhosts; i++)
		check_str(a->hosts[i], "host");
	for (i = 0; i < a->ndkim_keys; i++) {
		check_str(a->dkim_keys[i].selector, "dkim selector");
		check_str(a->dkim_keys[i].file, "dkim key file");
	}
	check_str(a->name, "account");
	check_str(a->domain, "domain");
	check_str(a->from, "from");
	check_str(a->maildomain, "maildomain");
	check_str(a->dsn_notify, "dsn_notify");
	check_str(a->dsn_return, "dsn_return");
	check_str(a->auth, "auth");
	check_str(a->user, "user");
	check_str(a->password, "password");
	check_str(a->passwordeval, "passwordeval");
	check_str(a->tls_fingerprint, "tls_fingerprint");
	check_str(a->tls_host_override, "tls_host_override");
	check_str(a->dkim_domain, "dkim_domain");
	check_str(a->dkim_headers, "dkim_headers");
	check_str(a->dkim_oversign, "dkim_oversign");
	check_str(config_envelope_from(a), "envelope from");
}

/* The first account with this name (names may repeat). */
static const struct account *
find_first(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}

static void
check_config(const struct config *c)
{
	const struct account *a, *f;
	struct err e;
	size_t i;

	if (c->naccounts == 0)
		fail("a configuration without accounts", NULL);
	for (i = 0; i < c->naccounts; i++) {
		check_account(&c->accounts[i]);
		memset(&e, 0, sizeof(e));
		a = config_find(c, c->accounts[i].name, NULL, &e);
		f = find_first(c, c->accounts[i].name);
		/* Found by name, unless it has no host (then ERR_CONFIG). */
		if (a != (f->nhosts > 0 ? f : NULL))
			fail("config_find() by name", c->accounts[i].name);
		if (a == NULL && e.kind != ERR_CONFIG)
			fail("config_find() failed, not ERR_CONFIG", e.text);
	}
	memset(&e, 0, sizeof(e));
	if (config_find(c, NULL, "user@example.org", &e) == NULL &&
	    e.kind != ERR_CONFIG)
		fail("config_find() failed, not ERR_CONFIG", e.text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	struct err e;
	int r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	setup();
	write_input(data, size);
	memset(&e, 0, sizeof(e));
	stderr = quiet; /* glibc: stderr is a variable */
	r = config_load(path, &c, &e);
	stderr = real_stderr;
	if (r == -1) {
		if (c != NULL || e.kind != ERR_CONFIG)
			fail("config_load() failed, not ERR_CONFIG", e.text);
		for (r = 0; e.text[r] != '\0'; r++)
			if ((unsigned char)e.text[r] < 0x20)
				fail("control character in an error", e.text);
		return 0;
	}
	check_config(c);
	config_free(c);
	return 0;
}
