#!/bin/sh
# A server that trickles its replies one byte per second (a 230-byte
# greeting; a 230-byte reply to MAIL) must not keep the client forever:
# with "timeout 3" every reply has a deadline, so postseal gives up within
# a bounded time with a temporary failure and nothing delivered.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for s in greeting mail; do
	FAULT_TIMEOUT=3 FAULT_MAX_SECONDS=20 \
	    fault_case "$s-slowloris" temp --fault "$s:slowloris"
done
e2e_done
