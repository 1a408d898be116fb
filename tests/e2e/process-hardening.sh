#!/bin/sh
# The running process: umask 077, no core dumps (RLIMIT_CORE 0), and the
# password neither on the command line nor in the environment, checked in
# /proc while postseal waits for its message on stdin.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
[ -r /proc/self/status ] || skip "no /proc"
grep -q '^Umask:' /proc/self/status || skip "kernel too old for Umask in /proc"
PW='Pr0c-S3cret!pw'
start_server --tls starttls --user u --password "$PW"
base_config starttls u "$PW" | write_config

umask 022
ulimit -c unlimited 2>/dev/null || ulimit -c 1024 2>/dev/null || true
sleep 20 | "$POSTSEAL" -C "$CFG" rcpt@example.org >"$T/out" 2>"$T/err" &
ps_pid=$!
# Wait until postseal has read its configuration (it then blocks on stdin).
i=0
while [ $i -lt 50 ]; do
	grep -q 'postseal' "/proc/$ps_pid/cmdline" 2>/dev/null &&
	    grep -q '^State:.*S' "/proc/$ps_pid/status" 2>/dev/null && break
	sleep 0.1
	i=$((i + 1))
done
sleep 0.3
assert_grep '^Umask:[[:space:]]+0077$' "/proc/$ps_pid/status" "umask"
assert_grep '^Max core file size[[:space:]]+0[[:space:]]+0 ' \
    "/proc/$ps_pid/limits" "core dumps off (soft and hard limit 0)"
tr '\0' '\n' <"/proc/$ps_pid/cmdline" >"$T/cmdline"
tr '\0' '\n' <"/proc/$ps_pid/environ" >"$T/environ" 2>/dev/null || : >"$T/environ"
assert_no_secret u "$PW" "$T/cmdline" "$T/environ"
kill "$ps_pid" 2>/dev/null
wait "$ps_pid" 2>/dev/null
e2e_done
