#!/bin/sh
# Durability order, as the system calls show it (strace).  Storing an entry
# (src/queue.c, "Crash safety"): msg written then fdatasync()ed, env written
# then fdatasync()ed, the entry directory tmp/ID fsync()ed, then tmp/ID
# renamed to active/ID, then active/ fsync()ed; only after all of it does
# postseal exit 0 (-odq) or say "queued" (a temporary failure with -odi).
# Updating an envelope (a deferred retry): env.new written and
# fdatasync()ed, renamed over env, then the entry directory fsync()ed; env
# itself is never written in place.  Recording a delivery (a queue run that
# sends both entries): the entry renamed out of active/ to tmp/del-ID,
# then active/ fsync()ed, and no synced envelope for it (one sync, not
# two: src/queue.c, retire()); the first entry's record comes once the
# second message is written on the connection, before its reply is read
# (runq.c, settle_late(): the sync overlaps the server's work), the last
# one's after its reply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
# LeakSanitizer cannot run under ptrace (strace): off for a sanitizer build.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
postseal_only "durable queue"
need_cmd strace
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
make_ca
start_server --tls starttls --user u --password p --fault mail:4xx
{
	base_config starttls u p
	printf 'queue_backoff 1s 1s\n'
} | write_config

# traced FILE ARGS...: run postseal under strace, the trace in FILE.
traced() {
	_tf=$1
	shift
	sample_message "$TEST_NAME" >"$T/msg"
	Q_BEFORE=$(queue_entries)
	strace -f -y -qq -s 256 -o "$_tf" \
	    -e trace=openat,write,pwrite64,writev,copy_file_range,sendfile,splice,fsync,fdatasync,rename,renameat,renameat2,read,recvfrom,recvmsg,sendto,sendmsg \
	    "$POSTSEAL" "$@" <"$T/msg" >"$T/postseal.out" 2>"$T/postseal.err"
	RC=$?
	OUT=$T/postseal.out
	ERR=$T/postseal.err
}

# check_store TRACE WHAT [stderr]: the store order in TRACE; with
# "stderr", the "queued" message comes after the last step.
check_store() {
	ok
	_why=$("$PYTHON" - "$1" "$QUEUE" "${3:-}" <<'EOF'
import re, sys
trace, queue, want_stderr = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(trace).read().splitlines()
q = re.escape(queue)
def find(pat, start=0):
    r = re.compile(pat)
    for i in range(start, len(lines)):
        if r.search(lines[i]):
            return i
    return None
# The entry's ID: the msg file created in tmp/.
m = None
for l in lines:
    m = re.search(q + r"/tmp/([0-9a-f]{20})/msg>", l)
    if m:
        break
if not m:
    print("no queue entry created in tmp/")
    sys.exit()
i = m.group(1)
tmpd = q + "/tmp/" + i
steps = [
    ("msg written", r"^\d+\s+(write|pwrite64|writev|copy_file_range|sendfile|splice)\(.*<" + tmpd + r"/msg>"),
    ("msg synced", r"^\d+\s+f(data)?sync\(\d+<" + tmpd + r"/msg>\) = 0"),
    ("env written", r"^\d+\s+(write|pwrite64|writev|copy_file_range|sendfile|splice)\(.*<" + tmpd + r"/env>"),
    ("env synced", r"^\d+\s+f(data)?sync\(\d+<" + tmpd + r"/env>\) = 0"),
    ("tmp/ID synced", r"^\d+\s+fsync\(\d+<" + tmpd + r">\) = 0"),
    ("renamed to active/", r"^\d+\s+renameat2?\(\d+<" + q + r"/tmp>, \"" + i +
     r"\", \d+<" + q + r"/active>, \"" + i + r"\".*= 0"),
    ("active/ synced", r"^\d+\s+fsync\(\d+<" + q + r"/active>\) = 0"),
]
if want_stderr:
    steps.append(("\"queued\" on stderr",
                  r"^\d+\s+write\(2<[^>]*>, \"[^\"]*[Qq]ueued"))
at = 0
for name, pat in steps:
    # the last write of a file counts, syncs must follow it
    n = find(pat, at)
    if n is None:
        before = find(pat)
        print("%s: %s" % (name, "missing" if before is None else
                          "out of order (line %d, expected after line %d)"
                          % (before + 1, at)))
        sys.exit()
    if name.endswith("written"):
        while True:
            k = find(pat, n + 1)
            if k is None:
                break
            n = k
    at = n + 1
# Nothing written to msg or env after they were synced.
late = find(r"^\d+\s+(write|pwrite64|writev|copy_file_range|sendfile|splice)\(.*<" + tmpd + r"/(msg|env)>", at)
if late is not None:
    print("written after the rename: line %d" % (late + 1))
EOF
)
	if [ -n "$_why" ]; then
		fail "${2}: $_why"
		grep -v '/usr/\|/lib\|/etc/' "$1" | tail -n 30 | sed 's/^/    /'
	fi
}

# ---- -odq: stored, exit 0 after the last fsync ----
traced "$T/odq.trace" -C "$CFG" -odq rcpt@example.org
assert_exit 0 "-odq"
assert_eq "$(q_count active)" 1 "-odq: entries in active/"
check_store "$T/odq.trace" "-odq store"

# ---- -odi with a 4xx to MAIL: stored, then "queued" ----
traced "$T/odi.trace" -C "$CFG" -odi rcpt@example.org
assert_tempfail_or_queued "-odi 451"
check_store "$T/odi.trace" "-odi store after a 4xx" stderr

# ---- a queue run that defers: env.new, sync, rename, sync the entry ----
sleep 1.2 # past the 1 s backoff
traced "$T/run.trace" -C "$CFG" -q
assert_eq "$(q_count active)" 2 "deferred: entries still in active/"
ok
_why=$("$PYTHON" - "$T/run.trace" "$QUEUE" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
q = re.escape(sys.argv[2])
ids = sorted(set(re.findall(q + r"/active/([0-9a-f]{20})/env\.new>",
                            "\n".join(lines))))
if len(ids) != 2:
    print("env.new written for %d entries, expected 2" % len(ids))
    sys.exit()
for i in ids:
    d = q + "/active/" + i
    steps = [("env.new written", r"^\d+\s+(write|pwrite64|writev|copy_file_range|sendfile|splice)\(.*<" + d + r"/env\.new>"),
             ("env.new synced", r"^\d+\s+f(data)?sync\(\d+<" + d +
              r"/env\.new>\) = 0"),
             ("renamed over env", r"^\d+\s+renameat2?\(\d+<" + d +
              r">, \"env\.new\", \d+<" + d + r">, \"env\".*= 0"),
             ("entry synced", r"^\d+\s+fsync\(\d+<" + d + r">\) = 0")]
    at = 0
    for name, pat in steps:
        r = re.compile(pat)
        n = next((k for k in range(at, len(lines)) if r.search(lines[k])),
                 None)
        if n is None:
            print("%s: %s missing or out of order" % (i, name))
            sys.exit()
        at = n + 1
    if any(re.search(r"(write|pwrite64|writev|copy_file_range|sendfile|splice)\(.*<" + d + r"/env>", l) for l in lines):
        print("%s: env written in place" % i)
EOF
)
[ -z "$_why" ] || fail "envelope update: $_why"

# ---- a queue run that delivers: out of active/, then active/ synced ----
stop_server
start_server --tls starttls --user u --password p
{
	base_config starttls u p
	printf 'queue_backoff 1s 1s\n'
} | write_config
sleep 1.2
traced "$T/ok.trace" -C "$CFG" -q
assert_eq "$(q_count active)" 0 "delivered: entries left in active/"
assert_delivered 2 "delivered by the queue run"
ok
_why=$("$PYTHON" - "$T/ok.trace" "$QUEUE" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
q = re.escape(sys.argv[2])
pat = re.compile(r"renameat2?\(\d+<" + q + r"/active>, \"([0-9a-f]{20})\", "
                 r"\d+<" + q + r"/tmp>, \"del-\1\".*= 0")
moves = [(k, m.group(1)) for k, l in enumerate(lines)
         for m in [pat.search(l)] if m]
if len(moves) != 2:
    print("%d entries renamed out of active/, expected 2" % len(moves))
    sys.exit()
synced = re.compile(r"^\d+\s+fsync\(\d+<" + q + r"/active>\) = 0")
for k, i in moves:
    if not any(synced.search(l) for l in lines[k + 1:]):
        print("%s: active/ not synced after the rename" % i)
    d = re.compile(r"f(data)?sync\(\d+<" + q + r"/active/" + i +
                   r"(/env\.new)?>\)")
    if any(d.search(l) for l in lines):
        print("%s: the envelope or the entry synced as well" % i)
# The socket operation right before each record: for the first, the next
# message's write; for the last, the read of its own reply.
tcp = re.compile(r"^\d+\s+(write|writev|sendto|sendmsg|read|recvfrom|recvmsg)\(\d+<(TCP|socket:\[)")
for (k, i), want in zip(moves, ("write", "read")):
    prev = [l for l in lines[:k] if tcp.search(l)]
    op = tcp.search(prev[-1]).group(1) if prev else "none"
    kind = "write" if op in ("write", "writev", "sendto", "sendmsg") else "read"
    if kind != want:
        print("%s: recorded after a socket %s, expected after a %s" %
              (i, kind, want))
EOF
)
[ -z "$_why" ] || fail "delivery record: $_why"
e2e_done
