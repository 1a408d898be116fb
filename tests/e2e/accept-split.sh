#!/bin/sh
# One recipient limit (issue 8, item 7): a message may have up to 10000
# recipients (argv and -t together, ADDR_LIST_MAX); a queue entry holds
# at most 1000, so a larger message is stored as several entries, not
# refused.  2500 recipients on the command line: exit 0, three
# transactions of 1000, 1000 and 500, every recipient exactly once,
# nothing left queued.  1200 recipients read with -t: two transactions.
# 10001: refused before anything is stored or sent (exit 65, the limit
# named).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "recipient limit"

# rcpt_file N FILE: N distinct addresses, one per line.
rcpt_file() {
	"$PYTHON" -c 'import sys
for i in range(int(sys.argv[1])):
    print("r%05d@example.org" % i)' "$1" >"$2"
}

# check_spool N WANT-SIZES: the spool holds one copy for each of the N
# recipients, in transactions of the sizes given ("1000 1000 500").
check_spool() {
	got=$("$PYTHON" -c 'import glob, json, sys
seen = []
sizes = []
for f in sorted(glob.glob(sys.argv[1] + "/*.json"),
                key=lambda p: int(p.rsplit("/", 1)[1].split(".")[0])):
    r = json.load(open(f))["rcpt_tos"]
    sizes.append(len(r))
    seen += r
want = ["r%05d@example.org" % i for i in range(int(sys.argv[2]))]
print(" ".join(map(str, sizes)),
      "all-once" if sorted(seen) == want else "MISMATCH")' "$SPOOL" "$1")
	assert_eq "$got" "$2 all-once" "spool: transaction sizes, recipients"
}

fresh_queue
start_server --name argv --tls none
base_config plain | write_config
rcpt_file 2500 "$T/rcpts"
sample_message split >"$T/msg"
# shellcheck disable=SC2046 # one argument per recipient
run_postseal -C "$CFG" $(cat "$T/rcpts") <"$T/msg"
assert_exit 0 "2500 recipients"
check_spool 2500 "1000 1000 500"
assert_eq "$(q_count active)" 0 "2500: active/"
assert_eq "$(q_count failed)" 0 "2500: failed/"

fresh_queue
start_server --name dasht --tls none
base_config plain | write_config
rcpt_file 1200 "$T/rcpts"
{
	printf 'Subject: split -t\nTo: r00000@example.org'
	tail -n +2 "$T/rcpts" | sed 's/^/,\n  /' | tr -d '\n'
	printf '\n\nHello.\n'
} >"$T/msg"
run_postseal -C "$CFG" -t <"$T/msg"
assert_exit 0 "-t with 1200 recipients"
check_spool 1200 "1000 200"
assert_eq "$(q_count active)" 0 "-t: active/"

fresh_queue
start_server --name over --tls none
base_config plain | write_config
rcpt_file 10001 "$T/rcpts"
sample_message over >"$T/msg"
# shellcheck disable=SC2046 # one argument per recipient
run_postseal -C "$CFG" $(cat "$T/rcpts") <"$T/msg"
assert_exit 65 "10001 recipients"
assert_grep '10000' "$ERR" "10001: the limit named"
assert_nothing_delivered
assert_eq "$(q_count active)" 0 "10001: active/"
assert_eq "$(q_count failed)" 0 "10001: failed/"
assert_no_grep 'MAIL FROM' "$RECORD" "10001: record (a transaction)"
e2e_done
