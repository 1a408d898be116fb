#!/bin/sh
# The server closes the connection instead of replying, at each stage:
# a temporary failure, nothing delivered (after the final dot the server
# did not accept the message, so it must not count as sent).
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for s in greeting ehlo starttls auth mail rcpt data body dot; do
	fault_case "$s-drop" temp --fault "$s:drop"
	case $s in
	greeting|ehlo|starttls|auth) assert_no_command MAIL ;;
	esac
done
e2e_done
