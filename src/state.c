/*
 * state.c -- private cache files in the per-user state directory.
 *
 * Purpose: a place for what a run may reuse from an earlier one (the
 * trust store index and TLS session tickets of tls.c, SCRAM's
 * SaltedPassword in sasl.c).  The directory is $XDG_STATE_HOME/postseal
 * (an absolute $XDG_STATE_HOME only), else $HOME/.local/state/postseal,
 * as for oauth2.c's token state; for root's run of the system
 * configuration, the system queue's state/ (state_set_dir(), main.c).
 *
 * Non-goals: durability.  Files are replaced by rename() but never
 * synced; a lost or torn cache is detected by its reader (each format
 * carries its own checks) and rebuilt.
 *
 * Invariants: files are created 0600 with O_EXCL and O_NOFOLLOW; a file
 * is read only if it is a regular file of the effective user with mode
 * 0600 or stricter, at most the caller's limit.
 *
 * Failure policy: none of this is an error; -1 means "no cache".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "state.h"

/* state_set_dir()'s directory, or "" for the user's. */
static char state_root[PATH_MAX / 2];

int
state_set_dir(const char *dir)
{
	if (dir[0] != '/' || strlen(dir) >= sizeof(state_root))
		return -1;
	memcpy(state_root, dir, strlen(dir) + 1);
	return 0;
}

int
state_path(const char *sub, const char *name, char *out, size_t size)
{
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	char dir[PATH_MAX];
	int n;

	if (strchr(name, '/') != NULL || strchr(sub, '/') != NULL)
		return -1;
	if (state_root[0] != '\0')
		n = snprintf(dir, sizeof(dir), "%s/%s", state_root, sub);
	else if (x != NULL && x[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/postseal/%s", x, sub);
	else if (h != NULL && h[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.local/state/postseal/%s", h,
		    sub);
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		/* The parents too, private (as oauth2.c makes them). */
		for (char *p = dir + 1; *p != '\0'; p++)
			if (*p == '/') {
				*p = '\0';
				(void)mkdir(dir, 0700);
				*p = '/';
			}
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	n = snprintf(out, size, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
state_read(const char *path, size_t max, unsigned char **data, size_t *len)
{
	struct stat st;
	unsigned char *p;
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size <= 0 || (unsigned long long)st.st_size > max) {
		close(fd);
		return -1;
	}
	p = xcalloc(1, (size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		r = read(fd, p + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		state_free(p, (size_t)st.st_size);
		return -1;
	}
	*data = p;
	*len = got;
	return 0;
}

void
state_free(unsigned char *data, size_t len)
{
	if (data == NULL)
		return;
	sodium_memzero(data, len);
	free(data);
}

int
state_write(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	unsigned char rnd[8];
	char hex[sizeof(rnd) * 2 + 1];
	const char *p = data;
	ssize_t r;
	int fd;

	randombytes_buf(rnd, sizeof(rnd));
	state_hex(rnd, sizeof(rnd), hex);
	if (snprintf(tmp, sizeof(tmp), "%s.%s.tmp", path, hex) >=
	    (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	while (len > 0) {
		r = write(fd, p, len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		p += r;
		len -= (size_t)r;
	}
	if (close(fd) == -1 || len != 0 || rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

void
state_remove(const char *path)
{
	(void)unlink(path);
}

void
state_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}
