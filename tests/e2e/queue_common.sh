# queue_common.sh -- helpers shared by the queue_*.sh tests; source it after
# lib.sh and e2e_init.  The queue's layout is described at the top of
# src/queue.c: $QUEUE/active/ID/{msg,env}, $QUEUE/failed/ID/..., tmp/, rate/.

CR=$(printf '\r')

# q_count AREA: entries in $QUEUE/AREA (active or failed).
q_count() {
	n=0
	for d in "$QUEUE/$1"/*; do
		[ -d "$d" ] && n=$((n + 1))
	done
	echo "$n"
}

# q_ids AREA: the IDs in an area, one per line.
q_ids() {
	for d in "$QUEUE/$1"/*; do
		[ -d "$d" ] && basename "$d"
	done
	return 0
}

# spool_count SUBJECT [SPOOL...]: messages with this exact Subject in the
# spools (default $SPOOL).
spool_count() {
	subj=$1
	shift
	[ $# -eq 0 ] && set -- "$SPOOL"
	n=0
	for s in "$@"; do
		for f in "$s"/*.eml; do
			[ -f "$f" ] || continue
			if eml_part "$f" headers | tr -d "$CR" |
			    grep -q -x -F "Subject: $subj"; then
				n=$((n + 1))
			fi
		done
	done
	echo "$n"
}

# notice_count [SPOOL...]: messages with the null sender (failure notices).
notice_count() {
	[ $# -eq 0 ] && set -- "$SPOOL"
	n=0
	for s in "$@"; do
		for f in "$s"/*.json; do
			[ -f "$f" ] || continue
			[ "$(json_get "$f" mail_from)" = "" ] && n=$((n + 1))
		done
	done
	echo "$n"
}

# fresh_queue: an empty queue directory.
fresh_queue() {
	rm -rf "$QUEUE"
	mkdir -p "$QUEUE"
	chmod 700 "$QUEUE"
}

# stop_server [NAME] is in lib.sh: it stops a server by its recorded pid.

# assert_queued WHAT: exit 0, "queued" on stderr, one entry in active/.
assert_queued() {
	assert_exit 0 "$1"
	assert_grep_i 'queued' "$ERR" "$1: stderr says queued"
	assert_eq "$(q_count active)" 1 "$1: entries in active/"
	assert_eq "$(q_count failed)" 0 "$1: entries in failed/"
}

# assert_failed WHAT STATUS: exit STATUS and no entry left in active/ or
# failed/: the submitter waited, got the error and keeps the mail, so
# postseal keeps no copy to retry or expire (issue 8, item 9).
assert_failed() {
	assert_exit "$2" "$1"
	assert_eq "$(q_count active)" 0 "$1: entries in active/"
	assert_eq "$(q_count failed)" 0 "$1: entries in failed/"
}

# Random delays in seconds (for kill tests): N values in [0, MAX).
random_delays() {
	"$PYTHON" -c 'import random, sys
random.seed(int(sys.argv[3]))
print(" ".join("%.3f" % random.uniform(0, float(sys.argv[2]))
               for _ in range(int(sys.argv[1]))))' "$1" "$2" "${3:-1}"
}
