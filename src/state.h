/*
 * state.h -- small private files that caches keep in the per-user state
 * directory ($XDG_STATE_HOME/postseal, else ~/.local/state/postseal), or
 * for root's run of the system configuration in the system queue's
 * state/ (state_set_dir()).
 *
 * Everything here is an optimisation: a cache that cannot be read or
 * written is simply not used, so these functions report failure by their
 * return value only and fill no struct err.  Files are mode 0600 in
 * directories of mode 0700; a file that is not a regular file owned by
 * the effective user with no group or other permission bits is ignored.
 */
#ifndef POSTSEAL_STATE_H
#define POSTSEAL_STATE_H

#include <stddef.h>

/*
 * The path of NAME in the subdirectory SUB of the state directory, made
 * (mode 0700) as needed.  NAME must not contain '/'.  Returns 0, or -1
 * when there is no usable state directory.
 */
int state_path(const char *sub, const char *name, char *out, size_t size);

/*
 * From now on, the state directory is dir (an absolute path, made 0700
 * as needed) instead of the user's: root's run of the system
 * configuration keeps its caches beside the system queue
 * (POSTSEAL_SYSTEM_QUEUE/state), not in root's home.  Returns 0, or -1
 * if dir is not absolute or too long (nothing changes then).
 */
int state_set_dir(const char *dir);

/*
 * Read the whole file (at most max bytes) into a new buffer.  Returns 0
 * and sets *data and *len, or -1 (missing, too large, unsafe owner or
 * mode).  Free with state_free(), which wipes the bytes.
 */
int state_read(const char *path, size_t max, unsigned char **data, size_t *len);
void state_free(unsigned char *data, size_t len);

/*
 * Replace the file atomically (a temporary file in the same directory,
 * mode 0600, then rename()).  Not synced: losing a cache costs only the
 * work it saved.  Returns 0 or -1.
 */
int state_write(const char *path, const void *data, size_t len);

/* Remove the file; a missing file is fine. */
void state_remove(const char *path);

/* Lower-case hex of the n bytes at p into out (2 * n + 1 bytes). */
void state_hex(const unsigned char *p, size_t n, char *out);

#endif
