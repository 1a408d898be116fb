#!/bin/sh
# The reply to the final dot waits its own deadline, timeout_data_end
# (issue 8, item 4; RFC 5321 4.5.3.2.6 gives 10 minutes), not "timeout".
# A scripted server takes 3 s to answer the final dot.  With timeout 1
# and timeout_data_end 6 the message is delivered (exit 0, queue empty,
# nothing on stderr about queueing); with timeout_data_end 1 it is a
# timeout (queued, "timed out" on stderr) after about 1 s, not 3.  Every
# other read still has "timeout": a server slow to answer DATA is cut off
# after 1 s even with timeout_data_end 6.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "timeout_data_end"

# script SLEEP-BEFORE-354 SLEEP-BEFORE-250
script() {
	cat <<SCRIPT
send 220 slow.example ESMTP
expect EHLO
send 250 slow.example
expect MAIL
send 250 2.1.0 ok
expect RCPT
send 250 2.1.5 ok
expect DATA
sleep $1
send 354 go ahead
readdata
sleep $2
send 250 2.0.0 taken
expect QUIT
send 221 bye
SCRIPT
}

# run_case NAME TIMEOUT_DATA_END SLEEP-354 SLEEP-250
run_case() {
	fresh_queue
	script "$3" "$4" >"$T/$1.script"
	start_server --name "$1" --tls none --script "$T/$1.script"
	CFG_TIMEOUT=1 CFG_TIMEOUT_DATA_END=$2 base_config plain | write_config
	sample_message "$1" >"$T/msg"
	t0=$(now)
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	took=$(($(now) - t0))
}

run_case slow-dot 6 0 3
assert_exit 0 "slow-dot: 3 s for the reply to the dot, timeout_data_end 6"
assert_no_grep '[Qq]ueued|[Tt]imed out' "$ERR" "slow-dot: stderr"
assert_eq "$(q_count active)" 0 "slow-dot: active/"
assert_grep '^1 plain \.$' "$RECORD" "slow-dot: the final dot sent"
assert_grep '^1 plain QUIT$' "$RECORD" "slow-dot: QUIT after the reply"

run_case short-end 1 0 3
assert_exit 0 "short-end: exit (queued)"
assert_grep_i 'queued' "$ERR" "short-end: stderr says queued"
assert_grep_i 'end of data: timed out' "$ERR" "short-end: stderr says why"
assert_eq "$(q_count active)" 1 "short-end: active/"
ok
[ "$took" -le 2 ] || fail "short-end: took $took s, timeout_data_end 1"

run_case slow-data 6 3 0
assert_exit 0 "slow-data: exit (queued)"
assert_grep_i 'reply to DATA: timed out' "$ERR" \
    "slow-data: the DATA reply still has timeout 1"
assert_eq "$(q_count active)" 1 "slow-data: active/"
ok
[ "$took" -le 2 ] || fail "slow-data: took $took s, timeout 1"
e2e_done
