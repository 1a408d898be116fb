#!/bin/sh
# Per-recipient delivery (issue 8, item 2), beyond rcpt-5xx.sh:
#  Q1  a queue run with one accepted, one 5xx and one 4xx recipient: the
#      message goes to the accepted one; a notice lists only the 5xx one
#      with its own diagnostic; the 4xx one stays queued alone (env:
#      sent/failed/rcpt+why) and a later run delivers to it only, so the
#      accepted one receives the message exactly once;
#  Q2  "452 4.5.3 Too many recipients" after 2 per transaction: 5
#      recipients arrive in 3 transactions on one connection, exit 0,
#      nothing queued;
#  Q3  every recipient refused with 5xx, caller waiting: exit 67, both
#      named on stderr, no entry kept (not even in failed/), no notice;
#  Q4  one 4xx and one 5xx, nothing delivered, caller waiting: exit 0
#      (the 4xx one is queued, said on stderr; the 5xx one is named as
#      refused and gets a notice).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "per-recipient delivery"

# rcpt_count ADDR [RECORD]: RCPT commands for ADDR the server saw.
rcpt_count() {
	grep -c "RCPT TO:<$1>" "${2:-$RECORD}"
}

# received ADDR: messages (not notices) the server took for ADDR.
received() {
	n=0
	for j in "$SPOOL"/*.json; do
		[ -f "$j" ] || continue
		[ "$(json_get "$j" mail_from)" = "" ] && continue
		json_get "$j" rcpt_tos | grep -q "\"$1\"" && n=$((n + 1))
	done
	echo "$n"
}

# ---- Q1 ----
fresh_queue
start_server --name q1 --tls none --fault rcpt=bad@example.org:5xx \
    --fault 'rcpt=later@example.org:4xx#1'
{
	base_config plain
	printf 'queue_backoff 1s 1s\n'
} | write_config
sample_message q1 >"$T/msg"
run_postseal -C "$CFG" -odq good@example.org bad@example.org \
    later@example.org <"$T/msg"
assert_exit 0 "Q1: -odq"
run_postseal -C "$CFG" -q
assert_exit 0 "Q1: first run"
assert_eq "$(received good@example.org)" 1 "Q1: good@ received"
assert_eq "$(received later@example.org)" 0 "Q1: later@ received at once"
assert_eq "$(notice_count)" 1 "Q1: notices after the first run"
for j in "$SPOOL"/*.json; do
	[ "$(json_get "$j" mail_from)" = "" ] || continue
	n=${j%.json}.eml
	assert_eq "$(grep -c '^Final-Recipient:' "$n")" 1 "Q1: notice blocks"
	assert_grep '^Final-Recipient: rfc822; bad@example.org' "$n" \
	    "Q1: notice: the refused recipient"
	assert_grep '^Diagnostic-Code: smtp; 550 5\.1\.1' "$n" \
	    "Q1: notice: its diagnostic"
	assert_no_grep '(good|later)@example\.org' "$n" \
	    "Q1: notice (another recipient listed)"
done
assert_eq "$(q_count active)" 1 "Q1: active/ after the first run"
env=$(find "$QUEUE/active" -name env | head -n 1)
assert_grep '^postseal-queue 2$' "$env" "Q1: env version"
assert_grep '^sent <good@example\.org>$' "$env" "Q1: env: good sent"
assert_grep '^failed <bad@example\.org>$' "$env" "Q1: env: bad failed"
assert_grep '^rcpt <later@example\.org>$' "$env" "Q1: env: later pending"
assert_grep '^why 450 4\.2\.1' "$env" "Q1: env: later's reason"
sleep 1.2
run_postseal -C "$CFG" -q
assert_exit 0 "Q1: second run"
assert_eq "$(received later@example.org)" 1 "Q1: later@ received"
assert_eq "$(received good@example.org)" 1 "Q1: good@ received (again?)"
assert_eq "$(rcpt_count good@example.org)" 1 "Q1: RCPTs for good@"
assert_eq "$(rcpt_count bad@example.org)" 1 "Q1: RCPTs for bad@"
assert_eq "$(notice_count)" 1 "Q1: notices after the second run"
assert_eq "$(q_count active)" 0 "Q1: active/ at the end"
assert_eq "$(q_count failed)" 1 "Q1: failed/ at the end (bad@)"

# ---- Q2 ----
fresh_queue
start_server --name q2 --tls none --rcpt-limit 2
base_config plain | write_config
sample_message q2 >"$T/msg"
run_postseal -C "$CFG" r1@example.org r2@example.org r3@example.org \
    r4@example.org r5@example.org <"$T/msg"
assert_exit 0 "Q2: 452 after 2 recipients"
assert_no_grep '[Qq]ueued|[Rr]efused' "$ERR" "Q2: stderr"
assert_file_count "$SPOOL" '*.eml' 3 "Q2: transactions"
for r in 1 2 3 4 5; do
	assert_eq "$(received r$r@example.org)" 1 "Q2: r$r@ received"
done
assert_eq "$(grep -c "452 4.5.3" "$SLOG")" 4 "Q2: 452 replies (3, then 1)"
assert_one_session "Q2"
assert_eq "$(q_count active)" 0 "Q2: active/"
assert_eq "$(q_count failed)" 0 "Q2: failed/"

# ---- Q3 ----
fresh_queue
start_server --name q3 --tls none --reject-rcpt a@example.org \
    --reject-rcpt b@example.org
base_config plain | write_config
sample_message q3 >"$T/msg"
run_postseal -C "$CFG" a@example.org b@example.org <"$T/msg"
assert_exit 67 "Q3: every recipient refused"
assert_grep 'a@example\.org.*550' "$ERR" "Q3: stderr names a@"
assert_grep 'b@example\.org.*550' "$ERR" "Q3: stderr names b@"
assert_nothing_delivered
assert_eq "$(q_count active)" 0 "Q3: active/"
assert_eq "$(q_count failed)" 0 "Q3: failed/ (the caller keeps the mail)"
assert_one_session "Q3"

# ---- Q4 ----
fresh_queue
start_server --name q4 --tls none --reject-rcpt bad@example.org \
    --fault 'rcpt=later@example.org:4xx'
base_config plain | write_config
sample_message q4 >"$T/msg"
run_postseal -C "$CFG" later@example.org bad@example.org <"$T/msg"
assert_exit 0 "Q4: one 4xx, one 5xx"
assert_grep 'bad@example\.org.*refused.*550' "$ERR" "Q4: stderr: bad@ refused"
assert_grep 'later@example\.org.*queued' "$ERR" "Q4: stderr: later@ queued"
assert_eq "$(received later@example.org)" 0 "Q4: later@ received"
assert_eq "$(notice_count)" 1 "Q4: notice for bad@"
assert_eq "$(q_count active)" 1 "Q4: active/ (later@)"
env=$(find "$QUEUE/active" -name env | head -n 1)
assert_grep '^rcpt <later@example\.org>$' "$env" "Q4: env: later pending"
assert_grep '^failed <bad@example\.org>$' "$env" "Q4: env: bad failed"
e2e_done
