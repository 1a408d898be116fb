#!/bin/sh
# The server stops answering (at the greeting, after MAIL, after the final
# dot): with "timeout 3" (and "timeout_data_end 3" for the reply to the
# final dot) postseal gives up within a few seconds with a
# temporary failure; nothing delivered.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for s in greeting ehlo mail dot; do
	# The reply to the final dot has its own deadline (timeout_data_end).
	CFG_TIMEOUT_DATA_END=3 FAULT_TIMEOUT=3 FAULT_MAX_SECONDS=15 \
	    fault_case "$s-stall" temp --fault "$s:stall" --stall 60
	assert_grep_i 'time' "$ERR" "stderr ($s: says timeout)"
done
e2e_done
