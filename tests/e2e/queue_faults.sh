#!/bin/sh
# The fault matrix of the durable queue.  At each stage (greeting, EHLO,
# STARTTLS, the TLS handshake, AUTH, MAIL, RCPT, DATA, mid-body, after the
# final dot before the reply) the server, once, drops the connection,
# answers 4xx, answers 5xx or stalls past the timeout.  For each case the
# outcome and exit status are checked:
#   queued   exit 0, one line on stderr saying "queued" and why, the entry
#            in active/, nothing delivered;
#   failed   exit non-zero (69, 67 for a refused recipient, 77 for refused
#            credentials), no entry left (not even in failed/), and no
#            failure notice: the submitter waited, got the error and keeps
#            the mail (notices are for failures in queue runs; see
#            queue_ops.sh).
# Then "postseal -q" against the now healthy server must deliver every
# queued message exactly once and must not send a failed one.
#
# A drop after the final dot: when a real server had already taken the
# message, it arrives twice (postseal could not know); this server discards
# the message in that case, so it arrives once here.  See postseal(1).
#
# Each case has its own server, configuration and queue; the cases of one
# action run side by side so that the 1 s backoff is waited for once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "durable queue"
make_ca

# Timeout 2 s; the first retry due after 1 s.
fault_config() {
	{
		CFG_TIMEOUT=2 base_config starttls u p
		printf 'queue_backoff 1s 1s\ntimeout_data_end 2\n'
	} | write_config
}

use_case() {
	QUEUE=$T/q-$1
	CFG=$T/cfg-$1
}

after_submit() { # NAME EXPECT SPOOL
	case $2 in
	queued)
		assert_queued "$1"
		assert_eq "$(spool_count "$1" "$3")" 0 "$1: delivered at once"
		;;
	failed:*)
		st=${2#failed:}
		assert_failed "$1" "${st%%:*}"
		assert_eq "$(notice_count "$3")" 0 "$1: failure notices"
		;;
	esac
}

# submit_case NAME STAGE ACTION EXPECT
submit_case() {
	use_case "$1"
	fresh_queue
	start_server --name "$1" --tls starttls --user u --password p \
	    --stall 4 --fault "$2:$3#1"
	fault_config
	sample_message "$1" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	after_submit "$1" "$4" "$SPOOL"
}

# run_case NAME EXPECT [SERVER-NAME]: the queue run, the healthy server.
run_case() {
	use_case "$1"
	spool=$T/${3:-$1}.spool
	# The short timeout was for the stalls at submission; the queue run
	# talks to a healthy server and must not time out on a loaded machine.
	sed 's/^timeout .*/timeout 30/' "$CFG" | write_config "$CFG.run"
	run_postseal -C "$CFG.run" -q
	assert_exit 0 "$1: postseal -q"
	assert_eq "$(q_count active)" 0 "$1: active/ after the queue run"
	case $2 in
	queued) assert_eq "$(spool_count "$1" "$spool")" 1 "$1: delivered" ;;
	*) assert_eq "$(spool_count "$1" "$spool")" 0 "$1: failed, sent" ;;
	esac
	stop_server "${3:-$1}"
}

# group ACTION STAGE=EXPECT...
group() {
	action=$1
	shift
	for c in "$@"; do
		submit_case "${c%%=*}-$action" "${c%%=*}" "$action" "${c#*=}"
	done
	sleep 2 # the retries are due after the 1 s backoff (whole seconds)
	for c in "$@"; do
		run_case "${c%%=*}-$action" "${c#*=}"
	done
}

all_queued="greeting=queued ehlo=queued starttls=queued auth=queued
mail=queued rcpt=queued data=queued body=queued dot=queued"
# shellcheck disable=SC2086 # one word per case
group drop $all_queued
# shellcheck disable=SC2086
group 4xx $all_queued
# shellcheck disable=SC2086
group stall $all_queued
# 5xx: refused for good.  A 5xx to STARTTLS is a server that will not do
# TLS: kept and retried (the admin must act), never sent in clear.
group 5xx greeting=failed:69 ehlo=failed:69 starttls=queued \
    auth=failed:77 mail=failed:69 rcpt=failed:67 data=failed:69 \
    body=failed:69 dot=failed:69

# The TLS handshake: a scripted server answers STARTTLS with 220 and then
# closes, stalls, or sends a 4xx or 5xx line instead of a ServerHello.
# For the queue run the account points at a healthy server (entries name
# the account, not the host).
handshake_submit() {
	name=handshake-$1
	use_case "$name"
	fresh_queue
	{
		printf 'send 220 hs.example ESMTP\nexpect EHLO\n'
		printf 'send 250-hs.example\nsend 250 STARTTLS\n'
		printf 'expect STARTTLS\nsend 220 2.0.0 go ahead\n'
		case $1 in
		drop) printf 'close\n' ;;
		stall) printf 'sleep 4\nclose\n' ;;
		4xx) printf 'send 454 4.7.0 TLS not available\nclose\n' ;;
		5xx) printf 'send 554 5.7.3 TLS refused\nclose\n' ;;
		esac
	} >"$T/$name.script"
	start_server --name "$name" --tls none --script "$T/$name.script"
	fault_config
	sample_message "$name" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	after_submit "$name" queued "$SPOOL"
	stop_server
	start_server --name "$name-ok" --tls starttls --user u --password p
	fault_config
}

for action in drop 4xx 5xx stall; do
	handshake_submit "$action"
done
sleep 2
for action in drop 4xx 5xx stall; do
	run_case "handshake-$action" queued "handshake-$action-ok"
done
e2e_done
