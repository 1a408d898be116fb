#!/bin/sh
# No greeting within a few seconds on a STARTTLS or plain connection to a
# port other than 25 and 587 (issue 9): the port may expect implicit TLS.
# Against a TLS-only server on a random port, postseal says so and how to
# fix it (tls_starttls off) after about 5 s, instead of "reply to
# greeting: timed out" after the whole timeout; the message stays queued.
# A peer that sends a TLS record instead of a greeting gets the same hint.
# A server that greets late but within the probe is still used, and with a
# timeout of 5 s or less the probe is not used at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "greeting hint"
make_ca

start_server --name implicit --tls implicit
for mode in starttls plain; do
	fresh_queue
	CFG_TIMEOUT=60 base_config "$mode" | write_config
	sample_message "$mode" >"$T/msg"
	t0=$(now)
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	t1=$(now)
	assert_queued "$mode to an implicit-TLS port"
	assert_grep "no greeting within 5 s on port $PORT \(fix: the port may expect implicit TLS; if so, set tls_starttls off" \
	    "$ERR" "$mode: the hint"
	assert_no_grep 'reply to greeting: timed out' "$ERR" "$mode: not just a timeout"
	ok
	[ $((t1 - t0)) -le 15 ] || fail "$mode: took $((t1 - t0)) s (probe 5 s)"
done
assert_grep 'set tls_starttls off and tls on\)' "$ERR" "plain: also tls on"
assert_nothing_delivered

# The same account with tls_starttls off works.
fresh_queue
CFG_TIMEOUT=60 base_config implicit | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "implicit TLS: delivered"
assert_eq "$(spool_count plain)" 1 "implicit TLS: in the spool"
stop_server

# A peer that sends a TLS record (an alert) instead of a greeting.
"$PYTHON" -c 'import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(60)
c, _ = s.accept()
c.sendall(b"\x15\x03\x03\x00\x02\x02\x46")
c.settimeout(30)
try:
    c.recv(1)
except OSError:
    pass' "$T/alert.port" &
track_pid $!
n=0
while [ ! -s "$T/alert.port" ] && [ $n -lt 100 ]; do
	n=$((n + 1))
	sleep 0.05
done
PORT=$(cat "$T/alert.port")
fresh_queue
CFG_TIMEOUT=60 base_config starttls | write_config
sample_message alert >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_queued "a TLS alert instead of a greeting"
assert_grep "TLS data instead of an SMTP greeting on port $PORT \(fix: the port may expect implicit TLS; if so, set tls_starttls off\)" \
    "$ERR" "TLS alert: the hint"

# A server that greets after 2 s (plain text, a minimal inline server):
# still used.
"$PYTHON" -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(60)
c, _ = s.accept()
time.sleep(2)
f = c.makefile("rwb")
def say(x):
    f.write(x + b"\r\n")
    f.flush()
say(b"220 late.example.org ESMTP")
out = open(sys.argv[2], "wb")
while True:
    l = f.readline()
    if not l:
        break
    w = l.split(b" ")[0].strip().upper()
    if w == b"EHLO":
        say(b"250 late.example.org")
    elif w == b"DATA":
        say(b"354 go")
        while True:
            d = f.readline()
            if d in (b".\r\n", b""):
                break
            out.write(d)
        out.close()
        say(b"250 ok")
    elif w == b"QUIT":
        say(b"221 bye")
        break
    else:
        say(b"250 ok")' "$T/late.port" "$T/late.msg" &
track_pid $!
n=0
while [ ! -s "$T/late.port" ] && [ $n -lt 100 ]; do
	n=$((n + 1))
	sleep 0.05
done
PORT=$(cat "$T/late.port")
fresh_queue
CFG_TIMEOUT=60 base_config plain | write_config
sample_message late >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "greeting after 2 s: delivered"
assert_grep '^Subject: late' "$T/late.msg" "greeting after 2 s: received"
e2e_done
