/*
 * fuzz_drop.c -- libFuzzer harness for the drop step's record reader
 * (privsep.c, SECURITY.md P6): the input is what a local user writes to
 * the setgid postseal-drop.
 *
 * For every input, privsep_drop() reads it from a file descriptor into a
 * private incoming directory (no policy file) and either
 *   - fails with ERR_DATA, ERR_AUTH (a foreign -f) or ERR_TEMP, a
 *     printable message, and leaves the directory empty; or
 *   - leaves exactly one file, named <uid>-<id> with the id it returned,
 *     whose envelope (after the magic line) parses, carries our uid, and
 *     whose message bytes are exactly the input's after its envelope.
 *
 * Invariants: the directory is emptied after every input; everything is
 * freed, so LeakSanitizer sees any leak.
 *
 * Failure policy: a broken promise is reported on stderr and abort()s.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "privsep.h"
#include "queue.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
remove_dir(void)
{
	rmdir(dir);
}

static void
broken(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_drop: %s: %s\n", what, detail);
	abort();
}

/* The one file in dir (its name into name), or 0 if none; empties dir. */
static int
take_file(char *name, size_t size, char **text, size_t *len)
{
	char path[256];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	FILE *f;
	int n = 0;

	*text = NULL;
	*len = 0;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n++ == 0 && stat(path, &st) == 0 &&
		    (f = fopen(path, "rb")) != NULL) {
			str_copy(name, de->d_name, size);
			*text = malloc((size_t)st.st_size + 1);
			*len = fread(*text, 1, (size_t)st.st_size, f);
			fclose(f);
		}
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static void
check_file(const uint8_t *data, size_t size, const char *id)
{
	char name[128], want[128];
	struct queue_envelope env;
	struct err e;
	const char *end;
	char *text;
	size_t len, m = sizeof(PRIVSEP_MAGIC) - 1, envlen, inlen;

	if (take_file(name, sizeof(name), &text, &len) != 1)
		broken("stored", "not exactly one file");
	snprintf(want, sizeof(want), "%lu-%s", (unsigned long)getuid(), id);
	if (strcmp(name, want) != 0)
		broken("file name", name);
	if (len < m || memcmp(text, PRIVSEP_MAGIC, m) != 0 ||
	    (end = memmem(text, len, "\nend\n", 5)) == NULL)
		broken("stored record", "no magic or end line");
	envlen = (size_t)(end - text) + 5;
	if (queue_env_parse(text + m, envlen - m, &env, &e) == -1)
		broken("stored envelope does not parse", e.text);
	if (env.uid != getuid() || env.size != len - envlen)
		broken("stored envelope", "uid or size");
	end = memmem(data, size, "\nend\n", 5);
	inlen = end != NULL ? size - ((size_t)((const uint8_t *)end - data) + 5)
			    : 0;
	if (end == NULL || inlen != env.size ||
	    memcmp(text + envlen, data + size - inlen, inlen) != 0)
		broken("stored message", "not the input's bytes");
	queue_env_free(&env);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[QUEUE_ID_LEN + 1], name[128], *text;
	struct err e = {0};
	const char *p;
	size_t len;
	FILE *in;
	int r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (dir[0] == '\0') {
		str_copy(dir, "/tmp/fuzz_drop.XXXXXX", sizeof(dir));
		if (mkdtemp(dir) == NULL)
			broken("mkdtemp", dir);
		atexit(remove_dir);
	}
	if ((in = tmpfile()) == NULL || fwrite(data, 1, size, in) != size ||
	    fflush(in) != 0 || lseek(fileno(in), 0, SEEK_SET) != 0)
		broken("tmpfile", "cannot write the input");
	r = privsep_drop(fileno(in), dir, "/nonexistent/policy", NULL, getuid(),
	    id, &e);
	fclose(in);
	if (r == 0) {
		check_file(data, size, id);
		return 0;
	}
	if (e.kind != ERR_DATA && e.kind != ERR_AUTH && e.kind != ERR_TEMP)
		broken("failure kind", e.text);
	for (p = e.text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			broken("unprintable error text", e.text);
	if (take_file(name, sizeof(name), &text, &len) != 0)
		broken("a refused record left a file", name);
	free(text);
	return 0;
}
