#!/bin/sh
# The queue from the user's side: -odq, mailq / -bp (text and --json),
# --queue-drop, --queue-retry (also of a failed entry), the retry backoff,
# expiry with a failure notice, failure notices (content; none for the null
# sender or with "bounce_notices off"), -odb returning before the server
# has even greeted, the client-side rate limit, the default queue location
# ($XDG_STATE_HOME/postseal/queue), file modes and no secret in the queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "durable queue"
make_ca
PW=Sekr1t-queue-pass

server() { # NAME SMTPD-ARGS...
	n=$1
	shift
	fresh_queue
	start_server --name "$n" --tls starttls --user u --password "$PW" "$@"
}

config() { # extra lines on stdin are appended
	{
		base_config starttls u "$PW"
		cat
	} | write_config
}

sessions() { # sessions the server saw
	awk '{print $1}' "$RECORD" | sort -u | wc -l
}

# ---- -odq, mailq, --json, modes, no secrets, drop ----
server basic
config </dev/null
sample_message "basic one" >"$T/msg"
run_postseal -C "$CFG" -odq rcpt@example.org other@example.org <"$T/msg"
assert_exit 0 "-odq"
assert_eq "$(q_count active)" 1 "-odq: queued"
assert_eq "$(sessions)" 0 "-odq: no connection"
id=$(q_ids active)
run_postseal -C "$CFG" -bp
assert_exit 0 "-bp"
assert_grep "^$id  +[0-9]+ +[0-9]+s +0  <sender@example.org> -> rcpt@example.org, other@example.org\$" \
    "$OUT" "-bp line"
ln -s "$POSTSEAL" "$T/mailq"
"$T/mailq" -C "$CFG" >"$T/mailq.out" 2>&1
assert_grep "^$id " "$T/mailq.out" "mailq (argv[0])"
run_postseal -C "$CFG" -bp --json
assert_exit 0 "-bp --json"
"$PYTHON" -c 'import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
assert len(e) == 1, e
e = e[0]
assert e["id"] == sys.argv[2] and e["state"] == "queued", e
assert e["sender"] == "sender@example.org", e
assert e["recipients"] == ["rcpt@example.org", "other@example.org"], e
assert e["attempts"] == 0 and e["last_error"] is None, e
assert e["size"] > 0 and e["age"] >= 0, e' "$OUT" "$id" ||
	fail "-bp --json: $(cat "$OUT")"
ok
[ -z "$(find "$QUEUE" -type f ! -perm 600)" ] ||
	fail "queue files not 0600: $(find "$QUEUE" -type f ! -perm 600)"
ok
[ -z "$(find "$QUEUE" -type d ! -perm 700)" ] ||
	fail "queue directories not 0700: $(find "$QUEUE" -type d ! -perm 700)"
ok
! grep -r -q -F "$PW" "$QUEUE" || fail "the password is in the queue"
run_postseal -C "$CFG" --queue-drop 0123456789abcdef0123
assert_exit 66 "--queue-drop of an unknown ID"
run_postseal -C "$CFG" --queue-drop ../../etc
assert_exit 64 "--queue-drop of a malformed ID"
run_postseal -C "$CFG" --queue-drop "$id"
assert_exit 0 "--queue-drop"
assert_eq "$(q_count active)" 0 "--queue-drop: gone"
run_postseal -C "$CFG" -bp
assert_grep '^Mail queue is empty$' "$OUT" "-bp of an empty queue"
run_postseal -C "$CFG" -q
assert_exit 0 "-q of an empty queue"
assert_eq "$(spool_count "basic one")" 0 "dropped, not sent"
stop_server

# ---- backoff: a 4xx defers; not retried before it is due ----
server backoff --fault mail:4xx#1
config </dev/null
sample_message backoff >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_queued "4xx at MAIL"
assert_reply_code 451 "$ERR" "4xx: the reply in the queued line"
id=$(q_ids active)
run_postseal -C "$CFG" --queue-run-due
assert_exit 0 "--queue-run-due before the retry is due"
assert_eq "$(sessions)" 1 "-q before due: no connection"
run_postseal -C "$CFG" -bp --json
assert_grep '"attempts":1,' "$OUT" "-bp: one attempt"
assert_grep '"last_error":"[^"]*451' "$OUT" "-bp: the last error"
run_postseal -C "$CFG" --queue-retry "$id"
assert_exit 0 "--queue-retry"
run_postseal -C "$CFG" -q
assert_exit 0 "-q after --queue-retry"
assert_eq "$(spool_count backoff)" 1 "delivered after the retry"
assert_eq "$(q_count active)" 0 "backoff: queue empty"
stop_server

# ---- a 5xx while the submitter waits: the error, no copy, no notice ----
server rcpt5xx --fault rcpt:5xx#2
config </dev/null
printf 'To: rcpt@example.org\nSubject: refused\nX-Mark: original\n\nBody.\n' \
    >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_failed "5xx at RCPT" 67
assert_reply_code 550 "$ERR" "5xx: the server's reply"
assert_eq "$(notice_count)" 0 "5xx, submitter waiting: no notice"

# ---- a 5xx in a queue run: failed/, a notice; --queue-retry brings it back
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
assert_exit 0 "-odq"
run_postseal -C "$CFG" -q
assert_exit 69 "-q with a 5xx (a permanent failure in the run)"
assert_eq "$(q_count failed)" 1 "5xx in a queue run: failed/"
assert_eq "$(notice_count)" 1 "5xx in a queue run: one notice"
for j in "$SPOOL"/*.json; do
	[ "$(json_get "$j" mail_from)" = "" ] || continue
	n=${j%.json}.eml
	assert_eq "$(json_get "$j" rcpt_tos)" '["sender@example.org"]' \
	    "notice: to the sender"
	assert_header "$n" To 'sender@example.org'
	assert_header "$n" Auto-Submitted 'auto-replied'
	assert_header "$n" Content-Type 'multipart/report'
	assert_grep 'Status: 5\.1\.1' "$n" "notice: status"
	assert_grep 'Final-Recipient: rfc822; rcpt@example.org' "$n" \
	    "notice: recipient"
	assert_grep '^X-Mark: original' "$n" "notice: original headers"
	assert_no_grep '^Body\.' "$n" "notice: not the original body"
done
id=$(q_ids failed)
run_postseal -C "$CFG" -bp
assert_grep "^$id! " "$OUT" "-bp marks the failed entry"
run_postseal -C "$CFG" --queue-retry "$id"
assert_exit 0 "--queue-retry of a failed entry"
assert_eq "$(q_count active)" 1 "retried: back in active/"
assert_eq "$(q_count failed)" 0 "retried: not in failed/"
run_postseal -C "$CFG" -q
assert_eq "$(spool_count refused)" 1 "delivered after --queue-retry"
stop_server

# ---- no notice for the null sender, nor with bounce_notices off ----
server nullsender --fault rcpt:5xx#1
config </dev/null
sample_message nullsender >"$T/msg"
run_postseal -C "$CFG" -odq -f '' rcpt@example.org <"$T/msg"
run_postseal -C "$CFG" -q
assert_eq "$(q_count failed)" 1 "null sender, 5xx: failed/"
assert_eq "$(notice_count)" 0 "null sender: no notice"
run_postseal -C "$CFG" --queue-drop "$(q_ids failed)"
assert_exit 0 "--queue-drop of a failed entry"
assert_eq "$(q_count failed)" 0 "--queue-drop of a failed entry: gone"
stop_server
server nonotice --fault rcpt:5xx#1
printf 'bounce_notices off\n' | config
rm -rf "$QUEUE"/failed/*
sample_message nonotice >"$T/msg"
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
run_postseal -C "$CFG" -q
assert_eq "$(q_count failed)" 1 "bounce_notices off, 5xx: failed/"
assert_eq "$(notice_count)" 0 "bounce_notices off: no notice"
stop_server

# ---- expiry ----
server expiry
printf 'queue_max_age 1s\n' | config
sample_message expiry >"$T/msg"
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
sleep 2
run_postseal -C "$CFG" -q
assert_exit 69 "-q with an expired entry"
assert_grep_i 'failed' "$ERR" "expiry reported"
assert_eq "$(q_count failed)" 1 "expired: in failed/"
assert_eq "$(spool_count expiry)" 0 "expired: not sent"
assert_eq "$(notice_count)" 1 "expired: a notice"
assert_grep 'Status: 4\.4\.7' "$SPOOL/1.eml" "expiry notice status"
stop_server

# ---- rate limit: the third message in a minute waits ----
server rate
printf 'rate_limit 2/minute\n' | config
for k in 1 2 3; do
	sample_message "rate $k" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_exit 0 "rate limit: message $k"
done
assert_grep_i 'queued.*rate limit' "$ERR" "the third is held back"
assert_eq "$(q_count active)" 1 "rate limit: one waits"
assert_eq "$(spool_count "rate 3")" 0 "rate limit: not sent yet"
run_postseal -C "$CFG" -q
assert_eq "$(spool_count "rate 3")" 0 "rate limit: -q keeps it back"
# The window passes (the rate log emptied), the entry is made due.
for f in "$QUEUE"/rate/*; do : >"$f"; done
run_postseal -C "$CFG" --queue-retry "$(q_ids active)"
run_postseal -C "$CFG" -q
assert_eq "$(spool_count "rate 3")" 1 "rate limit: sent when allowed"
stop_server

# ---- -odb: back at once, delivered by the detached child ----
cat >"$T/slow.script" <<'SCRIPT'
sleep 3
send 220 slow.example ESMTP
expect EHLO
send 250 slow.example
expect MAIL
send 250 2.1.0 ok
expect RCPT
send 250 2.1.5 ok
expect DATA
send 354 go ahead
readdata
send 250 2.0.0 queued
expect QUIT
send 221 2.0.0 bye
SCRIPT
fresh_queue
start_server --name slow --tls none --script "$T/slow.script"
base_config plain | write_config
sample_message background >"$T/msg"
t0=$(date +%s%N)
{
	"$POSTSEAL" -C "$CFG" -odb rcpt@example.org <"$T/msg"
	echo $? >"$T/odb.rc"
} | cat >/dev/null
t1=$(date +%s%N)
assert_eq "$(cat "$T/odb.rc")" 0 "-odb: exit status"
ok
# The server holds its greeting back 3 s (less than the 5 s after which
# a silent server on a port other than 25/587 is taken for implicit TLS);
# a bound that still tells "came back at once" from "waited" under load.
[ $(((t1 - t0) / 1000000)) -lt 2500 ] ||
	fail "-odb took $(((t1 - t0) / 1000000)) ms (the server waits 3 s)"
n=0
while [ $n -lt 300 ] && ! grep -q ' QUIT$' "$RECORD"; do
	sleep 0.1
	n=$((n + 1))
done
assert_grep '^1 plain Subject: background$' "$RECORD" "-odb: delivered"
n=0
while [ $n -lt 100 ] && [ "$(q_count active)" != 0 ]; do
	sleep 0.1 # the child removes the entry after the server's 250
	n=$((n + 1))
done
assert_eq "$(q_count active)" 0 "-odb: removed after delivery"
stop_server

# ---- the default queue: $XDG_STATE_HOME/postseal/queue ----
server location
base_config starttls u "$PW" | grep -v '^queue_dir' | write_config
sample_message location >"$T/msg"
XDG_STATE_HOME=$T/state
export XDG_STATE_HOME
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
assert_exit 0 "-odq to the default queue"
QUEUE=$T/state/postseal/queue
assert_eq "$(q_count active)" 1 "entry under \$XDG_STATE_HOME"
ok
[ "$(stat -c %a "$T/state/postseal")" = 700 ] ||
	fail "$T/state/postseal is not 0700"
run_postseal -C "$CFG" -q
unset XDG_STATE_HOME
assert_eq "$(spool_count location)" 1 "sent from the default queue"
stop_server
e2e_done
