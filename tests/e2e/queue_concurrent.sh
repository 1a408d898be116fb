#!/bin/sh
# Concurrency: 200 queued messages, two "postseal -q" at once, and 20
# submissions delivering at once while those runs go on.  Every message
# arrives exactly once: an entry is locked while it is sent, a run skips
# locked entries, and an entry sent by one run is gone (or no longer due)
# when the other gets to it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "durable queue"
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

i=0
while [ $i -lt 200 ]; do
	sample_message "queued-$i" >"$T/msg"
	"$POSTSEAL" -C "$CFG" -odq rcpt@example.org <"$T/msg" ||
	    fail "-odq $i: exit $?"
	i=$((i + 1))
done
assert_eq "$(q_count active)" 200 "entries queued"

"$POSTSEAL" -C "$CFG" -q 2>"$T/run1.err" &
r1=$!
"$POSTSEAL" -C "$CFG" -q 2>"$T/run2.err" &
r2=$!
track_pid "$r1"
track_pid "$r2"
i=0
while [ $i -lt 20 ]; do
	sample_message "racing-$i" >"$T/msg.$i"
	"$POSTSEAL" -C "$CFG" rcpt@example.org <"$T/msg.$i" \
	    2>"$T/racing-$i.err" &
	eval "s$i=\$!"
	i=$((i + 1))
done
wait "$r1"
RC=$?
assert_exit 0 "first queue run"
wait "$r2"
RC=$?
assert_exit 0 "second queue run"
i=0
while [ $i -lt 20 ]; do
	eval "wait \$s$i"
	RC=$?
	assert_exit 0 "racing submission $i"
	i=$((i + 1))
done
cat "$T/run1.err" "$T/run2.err"

assert_eq "$(q_count active)" 0 "entries left in active/"
ok
"$PYTHON" -c 'import collections, email.parser, glob, sys
seen = collections.Counter()
for f in glob.glob(sys.argv[1] + "/*.eml"):
    h = email.parser.BytesHeaderParser().parse(open(f, "rb"))
    seen[str(h["Subject"])] += 1
want = ["queued-%d" % i for i in range(200)] + \
       ["racing-%d" % i for i in range(20)]
bad = ["%s x%d" % (s, seen[s]) for s in want if seen[s] != 1]
extra = sorted(set(seen) - set(want))
if bad or extra:
    print("not exactly once: " + " ".join(bad + extra))
    sys.exit(1)' "$SPOOL" >"$T/tally" || fail "$(cat "$T/tally")"
e2e_done
