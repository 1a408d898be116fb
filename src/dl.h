/*
 * dl.h -- libraries loaded on first use, through dlopen().
 *
 * Only what every submission needs is linked: GnuTLS, libgsasl, libsodium.
 * The libraries of the other features (libunbound for DNS, libgnutls-dane,
 * libpsl, json-c, expat, GPGME, libcurl) are each loaded by the one module
 * that uses it, the first time it is needed.  Linked, they and what they pull
 * in cost every run their dynamic linking: an empty main() linked with them
 * takes 2.5 M instructions and 1.2 MB more than one without (callgrind,
 * massif), about a fifth of a whole PLAIN submission.
 *
 * A module names the functions it uses once, in a list whose pointers are
 * typed from the library's own header, and calls them through "lib":
 *
 *	#define UNBOUND_FUNCTIONS(X) X(ub_ctx_create) X(ub_ctx_delete)
 *	DL_LIBRARY(UNBOUND_FUNCTIONS);
 *	...
 *	if (DL_LOAD(UNBOUND_SONAME, e) == -1)
 *		return -1;
 *	ctx = lib.ub_ctx_create();
 *
 * Each such module loads one library, so "lib" is always that one.
 * The sonames come from configure (the library pkg-config or the compiler
 * links against), so a build loads the version it was compiled with.
 */
#ifndef POSTSEAL_DL_H
#define POSTSEAL_DL_H

#include <stddef.h>

#include "err.h"

struct dl_fn {
	const char *name; /* the symbol */
	void *ptr;	  /* the address of the function pointer to fill */
};

#define DL_PTR(f) __typeof__(f) *f;
#define DL_FN(f) {#f, &lib.f},
#define DL_LIBRARY(LIST)                                                       \
	static struct {                                                        \
		LIST(DL_PTR)                                                   \
	} lib;                                                                 \
	static const struct dl_fn lib_fns[] = {LIST(DL_FN)}
#define DL_LOAD(soname, e)                                                     \
	dl_load((soname), lib_fns, sizeof(lib_fns) / sizeof(lib_fns[0]), (e))

/*
 * Fill every pointer of fns from the library soname, loading it if this is
 * the first call; once filled, the call returns 0 at once.  On failure (the
 * library missing, or a function absent from it) every pointer is left NULL
 * and e says which, as ERR_OS.  The library is never unloaded.
 */
int dl_load(const char *soname, const struct dl_fn *fns, size_t n,
    struct err *e);

#endif
