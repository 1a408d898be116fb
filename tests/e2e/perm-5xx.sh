#!/bin/sh
# A 5xx reply at the greeting, to DATA and after the final dot: permanent
# failure (exit 69), the reply in the error, nothing delivered or queued.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for stage in greeting:554 data:554 dot:554; do
	s=${stage%:*}
	fault_case "$s-5xx" perm --fault "$s:5xx"
	assert_grep "${stage#*:}" "$ERR" "stderr ($s: reply code)"
	assert_queue_empty "queue ($s)"
	assert_one_session "$s"
done
e2e_done
