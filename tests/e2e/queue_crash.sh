#!/bin/sh
# Crash consistency: 200 trials, each killing postseal with SIGKILL at a
# random moment during a submission (-odq, or delivering at once) or
# during a queue run: from 0 to 1.5 times as long as one submission took
# here (measured first, so that the kills land mid-operation on a fast
# build and under a sanitizer alike).  Afterwards every entry parses and is
# whole (mailq --json reports no unreadable entry), and a queue run
# delivers every message whose submission had exited 0.  A message may
# arrive twice only when the kill fell between the server's 250 to the
# final dot and the removal from the queue (at-least-once); those are
# counted and shown, not failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "durable queue"
make_ca
start_server --tls starttls --user u --password p
{
	base_config starttls u p
	printf 'queue_backoff 1s 1s\n'
} | write_config

# tmp_entries: entries being stored in tmp/ (not del-ID, being removed).
tmp_entries() {
	find "$QUEUE/tmp" -mindepth 1 -maxdepth 1 -type d ! -name 'del-*' \
	    2>/dev/null | wc -l
}
: >"$T/accepted"
: >"$T/outcomes"
# How long one submission that delivers takes here, in seconds.  The
# first one is slower than the rest (a full TLS handshake, where later
# ones resume the session it saved): it warms up, the second is timed.
sample_message warm-up >"$T/msg"
"$POSTSEAL" -C "$CFG" rcpt@example.org <"$T/msg" 2>>"$T/submit.err" ||
    hard_error "the warm-up submission failed"
sample_message calibrate >"$T/msg"
t0=$(date +%s%N)
"$POSTSEAL" -C "$CFG" rcpt@example.org <"$T/msg" 2>>"$T/submit.err" ||
    hard_error "the calibrating submission failed"
t1=$(date +%s%N)
span=$("$PYTHON" -c 'import sys; print("%.3f" % max(0.02, 1.5 * int(sys.argv[1]) / 1e9))' \
    $((t1 - t0)))
e2e_log "one submission took $(((t1 - t0) / 1000000)) ms: kills within ${span} s"
i=0
for d in $(random_delays 200 "$span" 42); do
	subj=crash-$i
	sample_message "$subj" >"$T/msg"
	tmp_before=$(tmp_entries)
	case $((i % 4)) in
	0) mode=-odq ;;
	3) mode=run ;;
	*) mode=-odi ;;
	esac
	if [ "$mode" = run ]; then
		# Something to send, then a queue run killed part-way.
		if "$POSTSEAL" -C "$CFG" -odq rcpt@example.org <"$T/msg" \
		    2>>"$T/submit.err"; then
			echo "$subj" >>"$T/accepted"
		fi
		"$POSTSEAL" -C "$CFG" -q 2>>"$T/run.err" &
	else
		"$POSTSEAL" -C "$CFG" "$mode" rcpt@example.org <"$T/msg" \
		    2>>"$T/submit.err" &
	fi
	p=$!
	sleep "$d"
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null # (no "Killed" from the shell)
	rc=$?
	if [ "$mode" != run ] && [ "$rc" = 0 ]; then
		echo "$subj" >>"$T/accepted"
	fi
	# What the kill hit: 137 = killed while running (else it had ended);
	# "tmp": a new entry was left in tmp/ (killed between its mkdir and
	# the rename to active/).
	where=done
	[ "$rc" = 137 ] && where=killed
	[ "$where" = killed ] && [ "$(tmp_entries)" -gt "$tmp_before" ] &&
	    where=killed-tmp
	echo "$mode $where" >>"$T/outcomes"
	i=$((i + 1))
done
e2e_log "$(wc -l <"$T/accepted") of 200 submissions exited 0 before the kill"
# The kills must have landed mid-operation, not only after the fact: a
# test whose every kill came too late (or too early) proves nothing.
killed=$(grep -c ' killed' "$T/outcomes")
killed_run=$(grep -c '^run killed' "$T/outcomes")
in_tmp=$(grep -c ' killed-tmp' "$T/outcomes")
finished=$(grep -c ' done$' "$T/outcomes")
e2e_log "kills: $killed while running ($killed_run in queue runs," \
    "$in_tmp with an entry in tmp/), $finished after the process ended"
ok
[ "$killed" -ge 40 ] ||
    fail "only $killed of 200 kills landed while postseal ran (want >= 40)"
ok
[ "$killed_run" -ge 10 ] ||
    fail "only $killed_run of 50 queue runs were killed mid-run (want >= 10)"
ok
[ "$finished" -ge 10 ] ||
    fail "only $finished of 200 runs finished before the kill (want >= 10)"

# Every entry left behind parses and is whole.
run_postseal -C "$CFG" -bp --json
assert_exit 0 "mailq --json after the kills"
assert_no_grep '"corrupt"' "$OUT" "mailq --json (unreadable entries)"
"$PYTHON" -c 'import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$OUT" || fail "mailq --json: not JSON lines"
for d in "$QUEUE"/active/* "$QUEUE"/failed/*; do
	[ -d "$d" ] || continue
	ok
	if [ ! -f "$d/msg" ] || [ ! -f "$d/env" ] ||
	    [ "$(tail -n 1 "$d/env")" != end ]; then
		fail "entry $(basename "$d") is not whole"
	fi
done

# One queue run (after the 1 s backoff) delivers everything accepted.
sleep 1
run_postseal -C "$CFG" -q
assert_exit 0 "postseal -q after the kills"
assert_eq "$(q_count active)" 0 "entries left in active/"
assert_eq "$(q_count failed)" 0 "entries in failed/"
ok
"$PYTHON" -c 'import collections, email.parser, glob, sys
seen = collections.Counter()
for f in glob.glob(sys.argv[1] + "/*.eml"):
    h = email.parser.BytesHeaderParser().parse(open(f, "rb"))
    seen[str(h["Subject"])] += 1
missing = [s.strip() for s in open(sys.argv[2]) if seen[s.strip()] == 0]
dups = sorted(s for s, n in seen.items() if n > 1)
print("delivered %d distinct, %d twice or more: %s"
      % (len(seen), len(dups), " ".join(dups)))
if missing:
    print("accepted but never delivered: " + " ".join(missing))
    sys.exit(1)' "$SPOOL" "$T/accepted" >"$T/tally" ||
	fail "$(cat "$T/tally")"
e2e_log "$(cat "$T/tally")"
e2e_done
