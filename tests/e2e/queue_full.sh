#!/bin/sh
# A queue that cannot take the message: a full file system (a small tmpfs,
# in a private mount namespace), the file size limit (RLIMIT_FSIZE, with
# SIGXFSZ ignored and with its default action), a read-only queue.  Each
# time: a non-zero exit status, a clear message when postseal lives to
# give one, nothing claimed accepted (no new entry in active/, nothing
# delivered).  Afterwards an ordinary submission still works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "durable queue"
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

# message SUBJECT BODY-BYTES
message() {
	printf 'To: rcpt@example.org\nSubject: %s\n\n' "$1"
	"$PYTHON" -c 'import sys
sys.stdout.write(("x" * 75 + "\n") * (int(sys.argv[1]) // 76))' "$2"
}

# capture NAME CMD...: stdout/stderr to $T/NAME.out/.err, status to RC.
capture() {
	name=$1
	shift
	ERR=$T/$name.err
	"$@" >"$T/$name.out" 2>"$ERR"
	RC=$?
	sed 's/^/  stderr: /' "$ERR" | head -n 5
}

assert_refused() { # WHAT SUBJECT ACTIVE-BEFORE
	ok
	if [ "$RC" = 0 ] || [ "$RC" = 124 ]; then
		fail "$1: exit status $RC, expected a failure"
	fi
	assert_eq "$(q_count active)" "$3" "$1: entries in active/"
	assert_eq "$(spool_count "$2")" 0 "$1: delivered"
}

# ---- RLIMIT_FSIZE: the message is spooled by message.c below the limit,
# but the queue file (with the completed headers) is over it. ----
limit_run() { # BYTES IGNORE-SIGXFSZ CMD...
	timeout -k 5 60 "$PYTHON" -c 'import os, resource, signal, sys
n = int(sys.argv[1])
signal.signal(signal.SIGXFSZ,
              signal.SIG_IGN if sys.argv[2] == "1" else signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
os.execv(sys.argv[3], sys.argv[3:])' "$@"
}
message fsize 3000 >"$T/fsize.msg"
capture fsize-ign limit_run 3100 1 "$POSTSEAL" -C "$CFG" rcpt@example.org \
    <"$T/fsize.msg"
assert_refused "RLIMIT_FSIZE, SIGXFSZ ignored" fsize 0
assert_grep_i 'file too large|not accepted' "$ERR" "RLIMIT_FSIZE: message"
assert_eq "$(find "$QUEUE/tmp" -mindepth 1 2>/dev/null | wc -l)" 0 \
    "RLIMIT_FSIZE: leftovers in tmp/"
capture fsize-dfl limit_run 3100 0 "$POSTSEAL" -C "$CFG" rcpt@example.org \
    <"$T/fsize.msg"
assert_refused "RLIMIT_FSIZE, SIGXFSZ default" fsize 0

# ---- a full file system and a read-only one (root: private mounts) ----
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir -p "$T/small"
	saved=$QUEUE
	QUEUE=$T/small/queue
	base_config starttls u p | write_config "$T/small.cfg"
	message full 150000 >"$T/full.msg"
	message ro 100 >"$T/ro.msg"
	unshare -m sh -c '
		mount -t tmpfs -o size=256k,mode=0755 tmpfs "$1" || exit 1
		mkdir -m 700 "$1/queue"
		# Fill all but about 60 KB.
		dd if=/dev/zero of="$1/fill" bs=1024 count=190 2>/dev/null
		"$2" -C "$3" rcpt@example.org <"$4/full.msg" \
		    >"$4/full.out" 2>"$4/full.err"
		echo $? >"$4/full.rc"
		find "$1/queue/active" "$1/queue/tmp" -mindepth 1 \
		    >"$4/full.left"
		rm -f "$1/fill"
		"$2" -C "$3" -odq rcpt@example.org <"$4/ro.msg" 2>/dev/null
		mount -o remount,ro "$1" || exit 1
		"$2" -C "$3" rcpt@example.org <"$4/ro.msg" \
		    >"$4/ro.out" 2>"$4/ro.err"
		echo $? >"$4/ro.rc"
		find "$1/queue/active" -mindepth 1 -maxdepth 1 >"$4/ro.left"
	' sh "$T/small" "$POSTSEAL" "$T/small.cfg" "$T" ||
		hard_error "cannot mount a tmpfs in a private namespace"
	QUEUE=$saved
	RC=$(cat "$T/full.rc")
	ERR=$T/full.err
	sed 's/^/  stderr: /' "$ERR"
	assert_refused "full file system" full 0
	assert_grep_i 'space|not accepted' "$ERR" "full file system: message"
	assert_eq "$(wc -l <"$T/full.left")" 0 "full file system: leftovers"
	RC=$(cat "$T/ro.rc")
	ERR=$T/ro.err
	sed 's/^/  stderr: /' "$ERR"
	assert_refused "read-only queue" ro 0
	assert_grep_i 'read-only|not accepted' "$ERR" "read-only: message"
	assert_eq "$(wc -l <"$T/ro.left")" 1 "read-only: entries (one, -odq)"
elif [ "$(id -u)" != 0 ]; then
	# Without root: a queue whose tmp/ we may not write.
	chmod 500 "$QUEUE/tmp"
	message ro 100 >"$T/ro.msg"
	capture ro timeout -k 5 60 "$POSTSEAL" -C "$CFG" rcpt@example.org \
	    <"$T/ro.msg"
	chmod 700 "$QUEUE/tmp"
	assert_refused "unwritable queue" ro 0
	assert_grep_i 'permission|not accepted' "$ERR" "unwritable: message"
	partial_skip "full and read-only file system: need root (a private mount namespace)"
else
	partial_skip "full and read-only file system: no private mount namespace (unshare -m)"
fi

# ---- and an ordinary submission works ----
message after 100 >"$T/after.msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/after.msg"
assert_exit 0 "a submission afterwards"
assert_eq "$(spool_count after)" 1 "delivered afterwards"
e2e_done
