#!/bin/sh
# Command synchronisation: a client must not talk before the greeting and
# must not pipeline to a server that does not offer PIPELINING (S5).
# smtpd.py marks a line that arrives while it still owes a reply with
# "! sync-error" in its record, whatever the TCP segmentation; its
# greeting comes 1 s late here, so a client that talks first is caught.
# Controls first: a raw client that talks before the greeting, and one that
# sends its second command before the first reply, are both caught (the
# detector can fire).  Three recipients make pipelining visible.  With
# PIPELINING offered the same message goes through too.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
sample_message >"$T/msg"

# raw_client PORT LINE...: send each line without waiting for any reply
# ("@greeting" waits for the greeting first), then read what comes.
raw_client() {
	"$PYTHON" - "$@" <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
for line in sys.argv[2:]:
    if line == "@greeting":
        s.recv(4096)
        continue
    s.sendall(line.encode() + b"\r\n")
    time.sleep(0.2)  # separate segments: segmentation must not matter
time.sleep(0.5)
s.close()
PYEOF
}
start_server --name early --tls none --no-pipelining --greeting-delay 1
raw_client "$PORT" "EHLO early.example"
assert_grep '^1 ! sync-error$' "$RECORD" "control: talking before the greeting is caught"
start_server --name nowait --tls none --no-pipelining --greeting-delay 0.2 \
    --fault mail:stall
raw_client "$PORT" @greeting "EHLO x.example" "MAIL FROM:<a@example.org>" \
    "RCPT TO:<b@example.org>"
assert_grep '^1 ! sync-error$' "$RECORD" "control: a command before the reply is caught"

for variant in off on; do
	if [ $variant = off ]; then
		start_server --name pl-$variant --tls starttls --user u \
		    --password p --no-pipelining --greeting-delay 1
	else
		start_server --name pl-$variant --tls starttls --user u \
		    --password p --greeting-delay 1
	fi
	base_config starttls u p | write_config
	run_postseal -C "$CFG" a@example.org b@example.org c@example.org <"$T/msg"
	assert_exit 0 "PIPELINING $variant"
	assert_delivered 1 "spool (PIPELINING $variant)"
	assert_grep '^1 greeting-sent$' "$EVENTS" "greeting sent (PIPELINING $variant)"
	assert_no_grep 'sync-error' "$RECORD" "record (PIPELINING $variant)"
	assert_eq "$(grep -c ' RCPT TO:' "$RECORD")" 3 "RCPT commands (PIPELINING $variant)"
done
e2e_done
