#!/bin/sh
# failed/ is not kept forever (issue 8, item 9): a queue run removes
# failed/ entries older than failed_max_age (default 30 days; counted from
# when the message was queued or last retried), and leaves younger ones.
# The interactive half ("no copy of a failure the caller was told about")
# is checked by queue_faults.sh, queue_ops.sh and rcpt-partial.sh (Q3).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "failed_max_age"

start_server --tls none --reject-rcpt bad@example.org
{
	base_config plain
	printf 'failed_max_age 8s\n'
} | write_config
sample_message expire >"$T/msg"
run_postseal -C "$CFG" -odq bad@example.org <"$T/msg"
assert_exit 0 "-odq"
run_postseal -C "$CFG" -q
assert_exit 69 "queue run with a 550" # a permanent failure in the run
assert_eq "$(q_count failed)" 1 "failed/ after the 550"
old=$(q_ids failed)
# A second failure, younger: it must stay when the first goes.
sleep 3
run_postseal -C "$CFG" -odq bad@example.org <"$T/msg"
run_postseal -C "$CFG" -q
assert_eq "$(q_count failed)" 2 "failed/ with two entries"
sleep 5
run_postseal -C "$CFG" -q
assert_exit 0 "queue run after failed_max_age"
assert_eq "$(q_count failed)" 1 "failed/ after the sweep"
ok
[ ! -d "$QUEUE/failed/$old" ] || fail "the old entry is still in failed/"
assert_eq "$(q_count active)" 0 "active/"

# The default keeps it (30 days): a config without failed_max_age.
base_config plain | write_config
run_postseal -C "$CFG" -q
assert_eq "$(q_count failed)" 1 "failed/ with the default failed_max_age"
# A bad value is a configuration error.
{
	base_config plain
	printf 'failed_max_age soon\n'
} | write_config
run_postseal -C "$CFG" -q
assert_exit 78 "failed_max_age soon"
assert_grep 'failed_max_age' "$ERR" "stderr names the keyword"
e2e_done
