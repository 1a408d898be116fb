#!/bin/sh
# D2: a queue run removes an entry only after the server's 2xx to the
# final dot.  A queued message meets, in three queue runs, a 451 after the
# dot, a dropped connection after the dot, and a 451 to DATA: each time it
# stays in active/ (deferred, its attempts counted) and nothing is
# delivered.  Then a healthy server gets it exactly once and active/ is
# empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "durable queue"
make_ca
sample_message keep-until-2xx >"$T/msg"
# config_for: the server started last, retries due at once.
config_for() {
	{
		base_config starttls u p
		printf 'queue_backoff 1s 1s\n'
	} | write_config
}
start_server --name first --tls starttls --user u --password p
config_for
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
assert_exit 0 "-odq"
assert_eq "$(q_count active)" 1 "queued"
id=$(q_ids active)
stop_server first
n=0
for fault in dot:4xx dot:drop data:4xx; do
	n=$((n + 1))
	start_server --name "f$n" --tls starttls --user u --password p \
	    --fault "$fault"
	config_for
	sleep 1.2 # past the backoff
	run_postseal -C "$CFG" -q
	assert_nothing_delivered
	assert_eq "$(q_ids active)" "$id" "$fault: the entry is still in active/"
	assert_eq "$(q_count failed)" 0 "$fault: nothing in failed/"
	assert_grep "^attempts $n\$" "$QUEUE/active/$id/env" "$fault: attempt counted"
	assert_grep '^1 tls DATA$' "$RECORD" "$fault: the run got as far as DATA"
	stop_server "f$n"
done
start_server --name ok --tls starttls --user u --password p
config_for
sleep 1.2
run_postseal -C "$CFG" -q
assert_exit 0 "healthy queue run"
assert_delivered 1
assert_eq "$(spool_count keep-until-2xx)" 1 "delivered once"
assert_eq "$(q_count active)" 0 "removed after the 2xx"
e2e_done
