#!/bin/sh
# Delay warnings (issue 9): once a message has waited longer than
# delay_warning_time (default 4h; 0 or off: never) and is deferred again,
# its sender gets one RFC 3464 report with "Action: delayed", sent with
# the null sender through the same account; once per message ("warned" is
# recorded in the entry); never for the null sender.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "delay warnings"

# slow@ is always refused with a 4xx; the sender's address is accepted.
start_server --tls none --fault rcpt=slow@example.org:4xx
config() { # DELAY_WARNING_TIME
	{ base_config plain; printf 'delay_warning_time %s\n' "$1"; } |
	    write_config
}
warnings() { # delay warnings in the spool
	n=0
	for f in "$SPOOL"/*.eml; do
		[ -f "$f" ] || continue
		grep -q '^Action: delayed' "$f" && n=$((n + 1))
	done
	echo "$n"
}

# ---- the warning, once ----
fresh_queue
config 1s
printf 'To: slow@example.org\nSubject: slow one\nMessage-ID: <slow@example.org>\n\nbody\n' \
    >"$T/msg"
run_postseal -C "$CFG" slow@example.org <"$T/msg"
assert_queued "4xx"
assert_eq "$(warnings)" 0 "no warning at submission"
id=$(q_ids active)
sleep 2
run_postseal -C "$CFG" -q
assert_exit 0 "-q: deferred again"
assert_eq "$(warnings)" 1 "one delay warning"
f=$(grep -l '^Action: delayed' "$SPOOL"/*.eml | head -n 1)
j=${f%.eml}.json
assert_eq "$(json_get "$j" mail_from)" "" "warning: null sender"
assert_grep 'sender@example.org' "$j" "warning: to the sender"
tr -d "$CR" <"$f" >"$T/w"
assert_grep '^Subject: Delayed Mail' "$T/w" "warning: subject"
assert_grep '^Auto-Submitted: auto-replied' "$T/w" "warning: Auto-Submitted"
assert_grep 'report-type=delivery-status' "$T/w" "warning: multipart/report"
assert_grep '^Final-Recipient: rfc822; slow@example.org' "$T/w" \
    "warning: Final-Recipient"
assert_grep '^Status: 4\.[0-9]+\.[0-9]+' "$T/w" "warning: a 4.x.x status"
assert_grep '^Diagnostic-Code: smtp; 450' "$T/w" "warning: the server's reply"
assert_grep "still being retried" "$T/w" "warning: says it is retried"
assert_grep "$id" "$T/w" "warning: names the queue ID"
assert_grep '^Message-ID: <slow@example.org>' "$T/w" \
    "warning: the original headers"
assert_eq "$(q_count active)" 1 "the message itself is still queued"
assert_grep '^warned [0-9]+$' "$QUEUE/active/$id/env" "warned recorded"
sleep 1
run_postseal -C "$CFG" -q
assert_eq "$(warnings)" 1 "no second warning"

# ---- delay_warning_time off and 0: none; default 4h: none yet ----
for v in off 0 ""; do
	rm -f "$SPOOL"/*
	fresh_queue
	if [ -n "$v" ]; then config "$v"; else base_config plain | write_config; fi
	run_postseal -C "$CFG" slow@example.org <"$T/msg"
	sleep 2
	run_postseal -C "$CFG" -q
	assert_eq "$(warnings)" 0 "delay_warning_time '${v:-default}': no warning"
done

# ---- never for the null sender ----
rm -f "$SPOOL"/*
fresh_queue
config 1s
run_postseal -C "$CFG" -f '' slow@example.org <"$T/msg"
sleep 2
run_postseal -C "$CFG" -q
assert_eq "$(warnings)" 0 "null sender: no warning"

# ---- a bad value ----
config 'soon'
run_postseal -C "$CFG" -q
assert_exit 78 "delay_warning_time soon"
assert_grep 'delay_warning_time: expected a duration' "$ERR" "named"
e2e_done
