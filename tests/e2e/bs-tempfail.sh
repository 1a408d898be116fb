#!/bin/sh
# -bs: 250 only once a message is delivered or durably queued; a
# temporary problem is a 4xx, never a false 250; a permanent one a 5xx;
# a dialogue cut off in DATA acknowledges nothing (issue 9).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "-bs"
. "$E2E/callers_common.sh"

one_message() { # one_message FILE DOT-CODE
	cat >"$1" <<SCRIPT
expect 220
send EHLO x
expect 250
send MAIL FROM:<sender@example.org>
expect 250
send RCPT TO:<rcpt@example.org>
expect 250
send DATA
expect 354
send Subject: t
send
send hello
send .
expect $2
send QUIT
expect 221
SCRIPT
}

# 1. The smarthost says 451 at the dot: the message is queued, so 250.
start_server --name t4 --tls none --fault dot:4xx
: | caller_config plain
one_message "$T/s1" 250
bs_run "$T/s1" -C "$CFG" -odi
assert_bs_ok "4xx at the smarthost: queued, 250"
assert_eq "$(queue_entries active)" 1 "queued after the smarthost's 4xx"
assert_nothing_delivered

# 2. The queue cannot be written: 451 to the client, nothing delivered.
start_server --name nq --tls none
: >"$T/not-a-dir"
{ base_config plain | sed "s|^queue_dir .*|queue_dir $T/not-a-dir/q|"; } |
    write_config
one_message "$T/s2" 451
bs_run "$T/s2" -C "$CFG" -odi
assert_bs_ok "unwritable queue: 451"
assert_grep '^< 451 4\.3\.0 ' "$T/bs.transcript"
assert_no_grep '^< 250 2\.0\.0' "$T/bs.transcript"
assert_nothing_delivered
assert_eq "$BS_EXIT" 0 "exit status after QUIT"

# 3. The smarthost refuses the message: a 5xx, not a 250.
start_server --name p5 --tls none --fault dot:5xx
: | caller_config plain
one_message "$T/s3" 5xx
bs_run "$T/s3" -C "$CFG" -odi
assert_bs_ok "5xx at the smarthost: 5xx"
assert_nothing_delivered

# 4. End of input in DATA: no reply to a dot that never came, nothing
# sent or queued, and a non-zero exit.
start_server --name eof --tls none
: | caller_config plain
cat >"$T/s4" <<'SCRIPT'
expect 220
send EHLO x
expect 250
send MAIL FROM:<sender@example.org>
expect 250
send RCPT TO:<rcpt@example.org>
expect 250
send DATA
expect 354
send Subject: cut
send
send half a message
close
SCRIPT
q0=$(queue_entries active)
bs_run "$T/s4" -C "$CFG" -odi
assert_bs_ok "cut off in DATA"
assert_nothing_delivered
assert_eq "$(queue_entries active)" "$q0" "nothing queued for a cut-off DATA"
assert_eq "$BS_EXIT" 75 "exit status after end of input in DATA"
assert_grep 'end of input in DATA' "$T/bs.err"

# 5. A configuration that cannot be read: a 421 naming it instead of the
# greeting (the client retries later), exit 78.
printf 'expect 421\n' >"$T/s5"
bs_run "$T/s5" -C "$T/no-such-config"
assert_bs_ok "unreadable configuration: 421"
assert_grep "^< 421 4\\.3\\.0 postseal cannot accept mail: .*no-such-config" "$T/bs.transcript"
assert_eq "$BS_EXIT" 78 "exit status with no configuration"

# 6. -odb: each message is handed to a detached child; a second
# transaction pipelined behind the first is the parent's alone (the
# child must not run it again): two messages, each delivered once.
start_server --name odb --tls none
: | caller_config plain
cat >"$T/s6" <<'SCRIPT'
expect 220
raw EHLO x\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<o1@example.org>\r\nDATA\r\nSubject: odb1\r\n\r\nb\r\n.\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<o2@example.org>\r\nDATA\r\nSubject: odb2\r\n\r\nb\r\n.\r\nQUIT\r\n
expect 250
expectn 2 250
expect 354
expect 250
expectn 2 250
expect 354
expect 250
expect 221
SCRIPT
bs_run "$T/s6" -C "$CFG" -odb
assert_bs_ok "-odb, pipelined"
n=0
while [ "$(find "$SPOOL" -name '*.eml' | wc -l)" -lt 2 ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
sleep 1 # a duplicate would come from the first child by now
assert_file_count "$SPOOL" '*.eml' 2 "-odb: each message once"
assert_eq "$(cat "$SPOOL"/*.json | grep -c 'o2@example.org')" 1 "-odb: the second message once"
e2e_done
