#!/bin/sh
# Accepted means delivered (issue 8, item 1): once the first line of the
# reply to the final dot shows a well-formed 2xx, the message is delivered
# (its queue entry removed, logged "delivered"), whatever follows; the
# rest only makes the connection unusable.
#
# A: the issue's case.  A scripted server writes "250 ok\r\n250 injected\r\n"
# in one write after the dot.  Two messages queued, then a queue run: each
# is delivered exactly once (one final dot each in the server's record),
# both are logged delivered, the queue is empty (so the account was not
# marked down after the first), and a second queue run after the backoff
# sends nothing.
# B: with a caller waiting, the aiosmtpd server's hostile replies after
# the dot (extra line, 150 lines, a NUL, a second code, an over-long line
# after a complete 250): exit 0, exactly one message received, no queue
# entry left, a warning on stderr.
# C: a malformed reply inside one message's transaction (here to RCPT)
# defers that message only: the account is not marked down, the next
# message of the same run is delivered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "accepted means delivered"

# ---- A: scripted server, queue run ----
cat >"$T/inject.script" <<'SCRIPT'
send 220 inject.example ESMTP
expect EHLO
send 250-inject.example\r\n250 PIPELINING
expect MAIL
send 250 2.1.0 ok
expect RCPT
send 250 2.1.5 ok
expect DATA
send 354 go ahead
readdata
raw 250 2.0.0 ok\r\n250 injected\r\n
read
SCRIPT
start_server --tls none --script "$T/inject.script"
LOG=$T/deliveries.log
{
	base_config plain
	printf 'queue_backoff 1s 1s\nlogfile %s\n' "$LOG"
} | write_config
for n in 1 2; do
	sample_message "inject $n" >"$T/msg"
	run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
	assert_exit 0 "-odq message $n"
done
assert_eq "$(q_count active)" 2 "queued before the run"
run_postseal -C "$CFG" -q
assert_exit 0 "queue run"
dots=$(grep -c '^[0-9]* plain \.$' "$RECORD")
assert_eq "$dots" 2 "final dots the server received (one per message)"
assert_eq "$(q_count active)" 0 "active/ after the run"
assert_eq "$(q_count failed)" 0 "failed/ after the run"
assert_eq "$(grep -c 'outcome=delivered$' "$LOG")" 2 "log: delivered"
assert_no_grep 'outcome=(deferred|failed)' "$LOG" "log: a deferral or failure"
assert_grep_i 'accepted' "$ERR" "stderr (warning about the data after 250)"
sleep 1.2
run_postseal -C "$CFG" -q
assert_exit 0 "second queue run"
assert_eq "$(grep -c '^[0-9]* plain \.$' "$RECORD")" 2 \
    "final dots after a second run (a second copy sent)"

e2e_log "part A done"

# ---- B: hostile replies after the dot, caller waiting ----
long=$(printf '%03000d' 0 | tr 0 x)
i=0
for act in inject manylines nul mixed "reply=250 2.0.0 ok\\r\\n250 $long\\r\\n"; do
	i=$((i + 1))
	fresh_queue
	start_server --name "b$i" --tls none --fault "dot:$act"
	base_config plain | write_config
	sample_message "hostile $i" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	what="dot:$(printf '%.20s' "$act")"
	assert_exit 0 "$what"
	assert_file_count "$SPOOL" '*.eml' 1 "$what: messages the server took"
	assert_eq "$(q_count active)" 0 "$what: active/"
	assert_eq "$(q_count failed)" 0 "$what: failed/"
	assert_grep_i 'accepted' "$ERR" "$what: stderr (warning)"
	assert_no_grep_fixed 'queued' "$ERR" "$what: stderr (queued)"
done

# ---- C: a malformed reply inside one message's transaction concerns that
# message only: the next one in the same run gets a fresh connection ----
fresh_queue
start_server --name c --tls none --fault 'rcpt:mixed#1'
{
	base_config plain
	printf 'queue_backoff 1s 1s\n'
} | write_config
for n in 1 2; do
	sample_message "c $n" >"$T/msg"
	run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
done
# (Entries queued in the same second run in random order: the fault
# hits whichever goes first.)
run_postseal -C "$CFG" -q
assert_exit 0 "C: queue run"
assert_eq "$(($(spool_count 'c 1') + $(spool_count 'c 2')))" 1 \
    "C: messages delivered in the run (one malformed RCPT reply)"
assert_eq "$(grep -c '^[0-9]* plain MAIL FROM' "$RECORD")" 2 \
    "C: transactions in the run (the second message was tried)"
assert_eq "$(q_count active)" 1 "C: active/ (the first, deferred)"
sleep 1.2
run_postseal -C "$CFG" -q
assert_eq "$(spool_count 'c 1')" 1 "C: message 1, once"
assert_eq "$(spool_count 'c 2')" 1 "C: message 2, once"
assert_eq "$(q_count active)" 0 "C: active/ at the end"
e2e_done
