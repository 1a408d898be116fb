#!/bin/sh
# Who may write the queue, and where it may be (issue 8: item 8 and two
# suspected defects).
#  1. A read-only queue (a read-only bind mount, root) and an unwritable one
#     (another uid, or non-root: tmp/ mode 0500) exit 75 (EX_TEMPFAIL), as
#     postseal(1) promises: a caller that retries on 75 keeps the mail.
#  2. A queue directory (or an area in it) writable by its group is refused
#     (78) unless postseal runs setgid with that group; being our own
#     effective group is not enough (users may share a primary group).
#  3. A planted symlink as the queue, a path component owned by another
#     user, a non-sticky directory others can write, or a queue that would
#     be created inside a world-writable directory: refused (78), nothing
#     created anywhere.  An existing queue of ours under a sticky
#     world-writable directory (/tmp) is fine.
. "$(dirname "$0")/lib.sh"
e2e_init
# A queue run also looks at the default queue: keep it private (not the
# real ~/.local/state of the user running the tests).
XDG_STATE_HOME=$T/state
export XDG_STATE_HOME
postseal_only "queue permissions"
start_server --tls none
OTHER=65534 # nobody: only its number is used

# cfg QUEUE-DIR: a config for the server, auth off, queue QUEUE-DIR.
cfg() {
	printf 'account test\nhost 127.0.0.1\nport %s\ntls off\nauth off\n' \
	    "$PORT"
	printf 'from sender@example.org\ndomain client.example.org\n'
	printf 'queue_dir %s\naccount default : test\n' "$1"
}
sample_message "perms" >"$T/msg"
chmod 644 "$T/msg"

# ---- 1. read-only or unwritable: 75 ----
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	cfg "$QUEUE" | write_config "$T/ro.cfg"
	"$POSTSEAL" -C "$T/ro.cfg" -odq rcpt@example.org <"$T/msg" ||
	    hard_error "cannot make the queue"
	rm -rf "${QUEUE:?}"/active/*
	unshare -m sh -c '
		mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" ||
		    exit 99
		"$2" -C "$3" rcpt@example.org <"$4/msg" >"$4/ro.out" 2>"$4/ro.err"
		echo $? >"$4/ro.rc"' sh "$QUEUE" "$POSTSEAL" "$T/ro.cfg" "$T" ||
	    hard_error "cannot bind-mount the queue read-only"
	RC=$(cat "$T/ro.rc")
	sed 's/^/  stderr: /' "$T/ro.err"
	assert_exit 75 "read-only queue"
	assert_grep_fixed "Read-only file system" "$T/ro.err" "read-only: why"
	assert_grep_fixed "message not accepted" "$T/ro.err" "read-only: not accepted"
	assert_queue_empty "read-only queue"
	assert_nothing_delivered
else
	e2e_log "not root or no private mount namespace: read-only case not run"
fi
# An unwritable queue: as another uid (root ignores mode bits; setpriv
# from util-linux), else as us.
U=$T/u
mkdir -m 700 "$U"
cfg "$U/queue" >"$U/config"
[ "$(id -u)" = 0 ] && need_cmd setpriv
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$T"
	chown "$OTHER" "$U"
	chmod 644 "$U/config"
	as_user() { setpriv --reuid "$OTHER" --regid "$OTHER" --clear-groups "$@"; }
else
	chmod 600 "$U/config"
	as_user() { "$@"; }
fi
as_user "$POSTSEAL" -C "$U/config" -odq rcpt@example.org <"$T/msg" ||
    hard_error "cannot make the queue as uid $OTHER"
rm -rf "$U"/queue/active/*
chmod 500 "$U/queue/tmp"
as_user "$POSTSEAL" -C "$U/config" rcpt@example.org <"$T/msg" \
    >"$T/unw.out" 2>"$T/unw.err"
RC=$?
sed 's/^/  stderr: /' "$T/unw.err"
assert_exit 75 "unwritable queue"
assert_grep_fixed "Permission denied" "$T/unw.err" "unwritable: why"
assert_eq "$(find "$U/queue/active" -mindepth 1 | wc -l)" 0 \
    "unwritable: entries in active/"
assert_nothing_delivered
chmod 700 "$U/queue/tmp"
[ "$(id -u)" = 0 ] && chmod 700 "$T"

# ---- 2. group write ----
cfg "$QUEUE" | write_config
for d in "$QUEUE" "$QUEUE/active"; do
	chmod 770 "$d"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_exit 78 "group-writable $d"
	assert_grep_fixed "queue $d: writable by other users; run: chmod go-w $d" \
	    "$ERR" "stderr (group-writable $d)"
	chmod 700 "$d"
done
assert_queue_empty "after group-writable queues"
assert_nothing_delivered
# A setgid install: postseal setgid to the queue's group may use group write.
if [ "$(id -u)" = 0 ] && ! findmnt -no OPTIONS -T "$T" | grep -q nosuid; then
	mkdir "$T/sg"
	cp "$POSTSEAL" "$T/sg/postseal"
	chgrp "$OTHER" "$T/sg/postseal" "$QUEUE" "$QUEUE/active" "$QUEUE/tmp" \
	    "$QUEUE/failed" "$QUEUE/rate"
	chmod 2755 "$T/sg/postseal"
	chmod 2770 "$QUEUE" "$QUEUE/active" "$QUEUE/tmp" "$QUEUE/failed" \
	    "$QUEUE/rate"
	RC=0
	"$T/sg/postseal" -C "$CFG" -odq rcpt@example.org <"$T/msg" \
	    >"$T/sg.out" 2>"$T/sg.err" || RC=$?
	sed 's/^/  stderr: /' "$T/sg.err"
	assert_exit 0 "setgid postseal, group-writable queue of its group"
	run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
	assert_exit 78 "the same queue, postseal not setgid"
	chmod 700 "$QUEUE" "$QUEUE/active" "$QUEUE/tmp" "$QUEUE/failed" \
	    "$QUEUE/rate"
	rm -rf "${QUEUE:?}"/active/*
fi

# ---- 3. where the queue is ----
W=$T/ww
mkdir "$W" "$T/target"
chmod 1777 "$W"
# case NAME QUEUE-DIR EXPECTED-TEXT
bad_place() {
	cfg "$2" | write_config "$T/$1.cfg"
	run_postseal -C "$T/$1.cfg" rcpt@example.org <"$T/msg"
	assert_exit 78 "$1"
	assert_grep_fixed "$3" "$ERR" "stderr ($1)"
}
ln -s "$T/target" "$W/planted"
bad_place symlink "$W/planted" "queue $W/planted: $W/planted is a symbolic link"
ln -s "$T/target" "$W/link"
bad_place "symlink parent" "$W/link/queue" "$W/link is a symbolic link"
bad_place "new in a world-writable dir" "$W/new" \
    "queue $W/new: $W/new would be created in a directory others can write; create it first (mkdir -m 700 $W/new)"
# A queue run only looks: a queue that does not exist there is empty.
run_postseal -C "$T/new in a world-writable dir.cfg" -q
assert_exit 0 "queue run, queue not created in a world-writable dir"
mkdir -m 755 "$W/theirs"
chown "$OTHER" "$W/theirs"
bad_place "another user's dir" "$W/theirs/queue" \
    "$W/theirs is owned by uid $OTHER"
mkdir -m 777 "$T/open"
bad_place "non-sticky open dir" "$T/open/queue" \
    "$T/open is writable by other users; run: chmod go-w $T/open"
assert_eq "$(find "$T/target" "$W/theirs" "$T/open" -mindepth 1 | wc -l)" 0 \
    "nothing created in the targets"
[ -e "$W/new" ] && fail "$W/new was created"
assert_nothing_delivered
# An existing queue of ours under the sticky dir is used.
mkdir -m 700 "$W/mine"
cfg "$W/mine" | write_config "$T/mine.cfg"
run_postseal -C "$T/mine.cfg" rcpt@example.org <"$T/msg"
assert_exit 0 "our own queue under a sticky world-writable dir"
assert_file_count "$SPOOL" '*.eml' 1 "delivered"
e2e_done
