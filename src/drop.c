/*
 * drop.c -- postseal-drop, the setgid step of the system install (issue
 * 10; SECURITY.md section P).  Installed setgid to the group that alone
 * may write the incoming spool, it reads one drop record on stdin and
 * stores it there (privsep_drop()); that is all it can do.
 *
 * It trusts nothing from the caller: the environment is cleared before
 * anything else, no core dump and no ptrace (PR_SET_DUMPABLE 0, besides
 * the kernel's own rule for set-id programs), file descriptors 0-2 are
 * made to exist, every other is closed, no argument is read, no
 * configuration either (it reads no file with a secret: the group it runs
 * as reads nothing), and the only paths it opens are the compiled-in
 * incoming directory and policy file.  The caller is its real uid.
 *
 * Exit: 0 stored, 65 a malformed record, 77 refused by the policy file
 * (SYSCONFDIR_POSTSEAL/policy, not secret), 75 the per-user limit or a
 * full disk (try later, as Postfix's sendmail does when the queue is
 * full: the caller keeps the message), 78 a bad policy file, 71 a broken
 * installation; one line on stderr says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <sodium.h>

#include "err.h"
#include "installdirs.h"
#include "privsep.h"
#include "queue.h"

extern char **environ;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DROP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(DROP_ASAN)
/*
 * Sanitizer builds only: LeakSanitizer stops the process with ptrace at
 * exit, which the kernel refuses for a set-id program (not dumpable), so
 * it would turn every exit into a failure.  Leaks in privsep.c are found
 * by fuzz_drop, which runs the same code without set-id.
 */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return 1;
}
#endif

static void
harden(void)
{
	static char *empty[] = {NULL};
	struct rlimit rl = {0, 0};
	int fd;

	environ = empty;
	setrlimit(RLIMIT_CORE, &rl);
#ifdef HAVE_SYS_PRCTL_H
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	/* A closed 0-2 would make our next open() the caller's stderr. */
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(71);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
}

int
main(int argc, char **argv)
{
	char id[QUEUE_ID_LEN + 1];
	struct err e = {0};

	harden();
	if (argc == 2 &&
	    (strcmp(argv[1], "-l") == 0 || strcmp(argv[1], "-j") == 0)) {
		/* mailq (-j: --json): this user's own entries, nothing
		 * else. */
		if ((argv[1][1] == 'l'
			    ? privsep_show(POSTSEAL_STATUS, POSTSEAL_INCOMING,
				  getuid(), stdout, &e)
			    : privsep_show_json(POSTSEAL_STATUS,
				  POSTSEAL_INCOMING, getuid(), stdout, &e)) ==
		    -1) {
			fprintf(stderr, "postseal-drop: %s\n", e.text);
			return err_exit_code(e.kind);
		}
		return 0;
	}
	if (argc > 1) {
		fputs("postseal-drop: takes no arguments but -l or -j; "
		      "postseal "
		      "runs it\n",
		    stderr);
		return 64;
	}
	if (sodium_init() < 0) {
		fputs("postseal-drop: cannot initialise libsodium\n", stderr);
		return 71;
	}
	if (privsep_drop(STDIN_FILENO, POSTSEAL_INCOMING,
		SYSCONFDIR_POSTSEAL "/policy", POSTSEAL_STATUS, getuid(), id,
		&e) == -1) {
		fprintf(stderr, "postseal-drop: %s\n", e.text);
		return err_exit_code(e.kind);
	}
	return 0;
}
