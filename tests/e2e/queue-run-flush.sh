#!/bin/sh
# Queue runs (issue 9): "-q" (and "sendmail -q") tries every active entry
# now, whatever its backoff; "--queue-run-due" and "-q<interval>" honour
# the backoff (cron and the systemd timer use them); -qR, -qS and -qI
# (attached or as two words) restrict the run to entries whose recipient,
# sender or queue ID contains a substring; a run in which a message fails
# permanently exits 69 (EX_UNAVAILABLE) so a systemd unit shows failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "queue runs"
make_ca

sessions() { # sessions the server saw
	awk '{print $1}' "$RECORD" | sort -u | wc -l
}

fresh_queue
start_server --name flush --tls starttls --fault mail:4xx#1
base_config starttls | write_config
sample_message flushed >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_queued "4xx at MAIL"
id=$(q_ids active)

# The periodic modes leave it alone: its retry is a minute away.
run_postseal -C "$CFG" --queue-run-due
assert_exit 0 "--queue-run-due before the retry is due"
run_postseal -C "$CFG" -q30m
assert_exit 0 "-q30m before the retry is due"
assert_eq "$(sessions)" 1 "due-only runs: no connection"
assert_eq "$(q_count active)" 1 "due-only runs: still queued"

# "sendmail -q" by hand: sent now.
ln -s "$POSTSEAL" "$T/sendmail"
"$T/sendmail" -C "$CFG" -q >"$T/q.out" 2>&1
RC=$?
assert_exit 0 "sendmail -q"
assert_eq "$(spool_count flushed)" 1 "sendmail -q: delivered despite the backoff"
assert_eq "$(q_count active)" 0 "sendmail -q: queue empty"
assert_no_grep_fixed "$id" "$T/q.out" "sendmail -q: quiet on success"
stop_server

# ---- -qR, -qS, -qI select ----
fresh_queue
start_server --name select --tls starttls
base_config starttls | write_config
for who in alice bob carol; do
	sample_message "for $who" >"$T/msg"
	run_postseal -C "$CFG" -odq -f "$who-sender@example.org" \
	    "$who@example.net" <"$T/msg"
	assert_exit 0 "-odq for $who"
done
assert_eq "$(q_count active)" 3 "three queued"
run_postseal -C "$CFG" -qRnobody
assert_exit 0 "-qR matching nothing"
assert_eq "$(sessions)" 0 "-qR nobody: no connection"
run_postseal -C "$CFG" -qR BOB@
assert_exit 0 "-qR BOB@ (two words, other case)"
assert_eq "$(spool_count "for bob")" 1 "-qR: bob's sent"
assert_eq "$(spool_count "for alice")" 0 "-qR: alice's not sent"
assert_eq "$(q_count active)" 2 "-qR: two left"
run_postseal -C "$CFG" -qScarol-sender
assert_exit 0 "-qS (attached)"
assert_eq "$(spool_count "for carol")" 1 "-qS: carol's sent"
assert_eq "$(spool_count "for alice")" 0 "-qS: alice's not sent"
id=$(q_ids active)
assert_eq "$(echo "$id" | wc -l)" 1 "one left"
run_postseal -C "$CFG" -qI 0000000000
assert_exit 0 "-qI matching nothing"
assert_eq "$(q_count active)" 1 "-qI nothing: still queued"
run_postseal -C "$CFG" -qS carol -qI "$(echo "$id" | cut -c 9-20)"
assert_exit 0 "-qS and -qI together"
assert_eq "$(q_count active)" 1 "-qS carol AND -qI alice's ID: nothing"
run_postseal -C "$CFG" -qI"$(echo "$id" | cut -c 9-20)"
assert_exit 0 "-qI (attached)"
assert_eq "$(spool_count "for alice")" 1 "-qI: alice's sent"
assert_eq "$(q_count active)" 0 "-qI: queue empty"
stop_server

# ---- a permanent failure in a run: exit 69, for cron and systemd ----
fresh_queue
start_server --name perm --tls starttls --fault rcpt=rcpt@example.org:5xx
base_config starttls | write_config
sample_message refused >"$T/msg"
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
assert_exit 0 "-odq"
run_postseal -C "$CFG" --queue-run-due
assert_exit 69 "--queue-run-due with a 5xx"
assert_grep 'failed permanently' "$ERR" "the run says a message failed"
assert_eq "$(q_count failed)" 1 "5xx: in failed/"
run_postseal -C "$CFG" -q
assert_exit 0 "-q afterwards: nothing failed in this run"
stop_server

# ---- one connection, the next message lost: the one before stays sent ----
# A message delivered to all is recorded once the next one is written
# (runq.c, settle_late()); when the next one never gets out (the server
# drops the connection at its RCPT, or refuses it), the one before is
# still recorded as sent, never sent again.  Without PIPELINING, so that
# bob's message fails before a byte of it is written.
for fault in drop 5xx; do
	fresh_queue
	start_server --name "settle$fault" --tls starttls --no-pipelining \
	    --fault "rcpt=bob@example.net:$fault#1"
	base_config starttls | write_config
	for who in alice bob carol; do
		sample_message "$fault for $who" >"$T/msg"
		run_postseal -C "$CFG" -odq "$who@example.net" <"$T/msg"
		assert_exit 0 "$fault: -odq for $who"
	done
	run_postseal -C "$CFG" -q
	assert_exit_in "0 69" "$fault: the run"
	assert_eq "$(spool_count "$fault for alice")" 1 "$fault: alice's sent"
	assert_eq "$(spool_count "$fault for bob")" 0 "$fault: bob's not"
	assert_eq "$(spool_count "$fault for carol")" 1 "$fault: carol's sent"
	run_postseal -C "$CFG" -q
	assert_exit 0 "$fault: a second run"
	assert_eq "$(spool_count "$fault for alice")" 1 \
	    "$fault: alice's never sent again"
	assert_eq "$(spool_count "$fault for carol")" 1 \
	    "$fault: carol's never sent again"
	case $fault in
	drop) assert_eq "$(spool_count "$fault for bob")" 1 \
	    "drop: bob's sent by the second run" ;;
	5xx) assert_eq "$(q_count failed)" 1 "5xx: bob's in failed/" ;;
	esac
	assert_eq "$(q_count active)" 0 "$fault: nothing left in active/"
	stop_server
done

# ---- bad -q forms ----
run_postseal -C "$CFG" -qX
assert_exit 64 "-qX"
assert_grep_fixed 'unknown option -qX' "$ERR" "-qX: named"
run_postseal -C "$CFG" -qR
assert_exit 64 "-qR without a substring"
assert_grep_fixed '-qR needs a substring' "$ERR" "-qR: named"
run_postseal -C "$CFG" -qRa -qRb
assert_exit 64 "-qR twice"
run_postseal -C "$CFG" -q!Rx
assert_exit 64 "-q!R"
run_postseal -C "$CFG" -q rcpt@example.org
assert_exit 64 "-q with a recipient"
e2e_done
