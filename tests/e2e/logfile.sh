#!/bin/sh
# logfile: one line per delivery attempt with time, account, host, TLS,
# mechanism, sender, recipients, size, Message-ID, SMTP status, duration,
# exit status and outcome; never the password (nor its base64 forms).
# Each submission also logs a "queued" line (issue 9: a line per state
# change, each with the queue ID); attempts() leaves those out.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
PW='L0g-S3cret!pw'
LOG=$T/postseal.log
attempts() { grep -v ' outcome=queued$' "$LOG"; }

start_server --tls starttls --user alice --password "$PW" --mechs PLAIN \
    --fault rcpt:5xx#1 --fault mail:4xx#1
{
	base_config starttls alice "$PW" | sed '/^account default/d'
	printf 'logfile %s\n' "$LOG"
	printf '\naccount default : test\n'
} | write_config

# 1. MAIL answered 4xx (the first fault): "deferred", exit 0 (queued).
printf 'Subject: one\n\nbody\n' >"$T/msg"
run_postseal -C "$CFG" a@example.org b@example.org <"$T/msg"
assert_exit 0
assert_eq "$(attempts | wc -l | tr -d ' ')" 1 "log lines after one attempt"
assert_eq "$(grep -c ' outcome=queued$' "$LOG")" 1 "one queued line"
L1=$(attempts | sed -n 1p)
Q1=$(grep ' outcome=queued$' "$LOG")
assert_match "$L1" ' id=[0-9a-f]{20} ' "the queue ID"
assert_eq "$(echo "$L1" | sed 's/.* id=\([0-9a-f]*\) .*/\1/')" \
    "$(echo "$Q1" | sed 's/.* id=\([0-9a-f]*\) .*/\1/')" \
    "the same queue ID on the queued and the deferred line"
assert_match "$L1" '^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[-+][0-9]{4} ' "time"
assert_match "$L1" ' host=localhost ' "host (base_config connects by name)"
assert_match "$L1" ' tls=TLS1\.[23]/' "TLS version and cipher"
assert_match "$L1" ' auth=PLAIN ' "mechanism"
assert_match "$L1" ' from=sender@example\.org ' "sender"
assert_match "$L1" ' to=a@example\.org,b@example\.org ' "recipients"
assert_match "$L1" ' code=451 ' "4xx code"
assert_match "$L1" ' exit=0 outcome=deferred$' "deferred, queued"

# 2. RCPT refused (the second fault): one "failed" line.
printf 'Subject: two\n\nbody\n' >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 67
L2=$(attempts | sed -n 2p)
assert_match "$L2" ' code=550 ' "5xx code"
assert_match "$L2" ' text="[^"]*550 5\.1\.1[^"]*" ' "server text"
assert_match "$L2" ' exit=67 outcome=failed$' "failed"

# 3. A healthy delivery.
printf 'Subject: three\nMessage-ID: <three@example.org>\n\nbody\n' >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0
L3=$(attempts | sed -n 3p)
assert_match "$L3" ' msgid=<three@example\.org> ' "Message-ID"
assert_match "$L3" ' size=[1-9][0-9]* ' "size"
assert_match "$L3" ' code=250 ' "2xx code"
assert_match "$L3" ' duration=[0-9]+\.[0-9]+ ' "duration"
assert_match "$L3" ' exit=0 outcome=delivered$' "delivered"
assert_eq "$(attempts | wc -l | tr -d ' ')" 3 "one line per attempt"
assert_no_secret alice "$PW" "$LOG"
ok
[ "$(stat -c %a "$LOG")" = 600 ] || fail "log file mode $(stat -c %a "$LOG"), expected 600"
e2e_done
