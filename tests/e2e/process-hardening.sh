#!/bin/sh
# The running process (L4, L6, L7), checked from outside while postseal
# waits for its message on stdin (a FIFO this test holds open):
#   - umask 077 (/proc/PID/status);
#   - RLIMIT_CORE 0, soft and hard, as the process really has it
#     (/proc/PID/limits), although it was started with "ulimit -c
#     unlimited" (checked: a child of this shell sees a non-zero limit);
#   - not dumpable (PR_SET_DUMPABLE 0): run as another, unprivileged uid,
#     its /proc/PID files belong to root (proc(5)), and PTRACE_SEIZE from
#     that same uid fails with EPERM, while it succeeds on a control
#     process of that uid (so the refusal is postseal's doing);
#   - passwordeval's child gets exactly postseal's exec-time environment
#     (nothing added) and the password is in no argv or environment.
# The dumpable part needs root (to switch uid: setpriv with a numeric uid
# that no account uses; /etc is not touched); without root it is reported
# as a skipped part and the test exits 77.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
[ -r /proc/self/status ] || skip "no /proc"
grep -q '^Umask:' /proc/self/status || skip "kernel too old for Umask in /proc"
PW='Pr0c-S3cret!pw'
start_server --tls starttls --user u --password "$PW"

# A uid and gid for the postseal under test: ours, or (as root) a fresh
# numeric one that owns no process and no account.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	RUID=$("$PYTHON" -c 'import os, pwd, random
used = {p.pw_uid for p in pwd.getpwall()}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        used.add(os.stat("/proc/" + pid).st_uid)
    except OSError:
        pass
while True:
    u = random.randrange(200000, 260000)
    if u not in used:
        print(u)
        break')
	AS="setpriv --reuid=$RUID --regid=$RUID --clear-groups"
else
	RUID=$(id -u)
	AS=
fi
U=$T/u
mkdir -p "$U/queue" "$U/home"
chmod 700 "$U/queue"
cat >"$U/pweval" <<EOF
#!/bin/sh
tr '\\0' '\\n' </proc/\$\$/environ >"$U/child.environ"
tr '\\0' '\\n' </proc/\$\$/cmdline >"$U/child.cmdline"
printf '%s' '$PW'
EOF
chmod 755 "$U/pweval"
{
	base_config starttls | sed "/^auth off\$/d; s|^queue_dir .*|queue_dir $U/queue|"
	printf 'auth on\nuser u\npasswordeval %s\n' "$U/pweval"
} | write_config "$U/config"
if [ -n "$AS" ]; then
	chmod 711 "$T"
	chown -R "$RUID:$RUID" "$U"
fi
mkfifo "$U/stdin"
exec 3<>"$U/stdin" # held open: postseal blocks reading its message

# The precondition: what a child of this shell gets is not 0.
umask 022
ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)" 2>/dev/null
core=$(sh -c 'sed -n "s/^Max core file size *\([^ ]*\) .*/\1/p" /proc/self/limits')
[ -n "$core" ] && [ "$core" != 0 ] ||
    hard_error "precondition: cannot give postseal a core limit above 0 (got '$core')"

HOME=$U/home $AS "$POSTSEAL" -C "$U/config" rcpt@example.org \
    <"$U/stdin" >"$T/ph.out" 2>"$T/ph.err" 3>&- &
ps_pid=$!
track_pid "$ps_pid"

# wait_for WHAT CMD...: up to 10 s for CMD to succeed; fail if it never does.
wait_for() {
	_what=$1
	shift
	_n=0
	until "$@"; do
		_n=$((_n + 1))
		if [ $_n -gt 200 ] || ! kill -0 "$ps_pid" 2>/dev/null; then
			fail "$_what (postseal $(kill -0 "$ps_pid" 2>/dev/null &&
			    echo still running || echo gone))"
			return 1
		fi
		sleep 0.05
	done
	ok
	return 0
}
started() {
	grep -q 'postseal' "/proc/$ps_pid/cmdline" 2>/dev/null
}
umask_set() {
	grep -Eq '^Umask:[[:space:]]+0077$' "/proc/$ps_pid/status"
}
no_core() {
	grep -Eq '^Max core file size[[:space:]]+0[[:space:]]+0 ' \
	    "/proc/$ps_pid/limits"
}
wait_for "postseal started" started
wait_for "umask 077 (/proc/PID/status)" umask_set
wait_for "core dumps off: soft and hard limit 0 (/proc/PID/limits)" no_core
# Its exec-time environment (a non-dumpable process's is readable by root
# only) and argv, for the checks at the end.
tr '\0' '\n' <"/proc/$ps_pid/environ" 2>/dev/null | sort >"$T/ps.environ"
tr '\0' '\n' <"/proc/$ps_pid/cmdline" >"$T/cmdline"

# ptrace_seize PID: "ok" or the errno name, from this process's uid.
ptrace_seize() {
	$AS "$PYTHON" -c 'import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
r = libc.ptrace(0x4206, int(sys.argv[1]), None, None)  # PTRACE_SEIZE
print("ok" if r == 0 else errno.errorcode.get(ctypes.get_errno(), "?"))' "$1"
}

if [ -n "$AS" ]; then
	owner() { stat -c %u "/proc/$1/status"; }
	$AS sleep 30 3>&- &
	ctl=$!
	track_pid "$ctl"
	# Wait for sleep itself: setpriv's argv names sleep too, and setpriv
	# runs as root until it has switched uid and exec'd.
	ctl_started() { [ "$(cat "/proc/$ctl/comm" 2>/dev/null)" = sleep ]; }
	wait_for "control process started" ctl_started
	assert_eq "$(owner "$ctl")" "$RUID" "control: /proc/PID owner (dumpable)"
	assert_eq "$(ptrace_seize "$ctl")" ok "control: ptrace from uid $RUID"
	kill "$ctl"
	wait "$ctl" 2>/dev/null
	PIDS=$(printf ' %s ' $PIDS | sed "s/ $ctl / /")
	assert_eq "$(owner "$ps_pid")" 0 "postseal: /proc/PID owner (not dumpable)"
	assert_eq "$(ptrace_seize "$ps_pid")" EPERM "postseal: ptrace from uid $RUID"
else
	partial_skip "not dumpable / ptrace: needs root to run postseal as another uid"
fi

# Let it finish: the message goes through.
sample_message hardening >&3
exec 3>&-
wait "$ps_pid"
RC=$?
assert_exit 0 "postseal after the checks"
assert_delivered 1

# passwordeval's child (run once the message was read) got postseal's own
# exec-time environment, unchanged (a shell adds PWD, SHLVL and _), and
# the password is in no argv or environment.
if [ -s "$T/ps.environ" ]; then
	sort "$U/child.environ" | grep -v '^PWD=\|^OLDPWD=\|^SHLVL=\|^_=' \
	    >"$T/child.environ"
	grep -v '^PWD=\|^OLDPWD=\|^SHLVL=\|^_=' "$T/ps.environ" >"$T/ps.environ.cmp"
	assert_same_file "$T/child.environ" "$T/ps.environ.cmp" \
	    "passwordeval's environment"
else
	partial_skip "passwordeval's environment: postseal's environ is not readable"
fi
assert_no_secret u "$PW" "$T/cmdline" "$T/ps.environ" "$U/child.environ" \
    "$U/child.cmdline"
e2e_done
