/*
 * dl.c -- libraries loaded on first use (dl.h).
 *
 * Invariants: a table is filled whole or not at all; the library is opened
 * RTLD_LOCAL, so its symbols never stand in for another library's.
 *
 * Failure policy: a library that cannot be loaded, or lacks a function, is
 * ERR_OS, naming the soname and dlerror()'s reason.
 */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include "dl.h"

static int
filled(const struct dl_fn *fn)
{
	void *p;

	memcpy(&p, fn->ptr, sizeof(p));
	return p != NULL;
}

int
dl_load(const char *soname, const struct dl_fn *fns, size_t n, struct err *e)
{
	const char *why;
	void *lib, *p;
	size_t i, missing;

	if (n == 0 || filled(&fns[n - 1]))
		return 0;
	if ((lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		return err_set(e, ERR_OS, "cannot load %s: %s", soname,
		    why != NULL ? why : "unknown reason");
	}
	for (i = 0; i < n; i++) {
		(void)dlerror();
		if ((p = dlsym(lib, fns[i].name)) == NULL)
			break;
		memcpy(fns[i].ptr, &p, sizeof(p));
	}
	if (i == n)
		return 0; /* never unloaded */
	missing = i;
	p = NULL;
	while (i-- > 0)
		memcpy(fns[i].ptr, &p, sizeof(p));
	dlclose(lib);
	return err_set(e, ERR_OS, "%s lacks %s", soname, fns[missing].name);
}
