#!/bin/sh
# Malformed server replies (STYLE.md, "Bounded parsing of network input"):
# a 3000-byte line, 150 lines, a NUL, a bad code shape ("2500"), mixed
# codes in one reply, unsolicited extra lines after a reply, at the
# greeting, EHLO and MAIL.  The server otherwise behaves as if its reply
# were fine, so a client that accepts the reply goes on and delivers:
# each case must instead be a temporary failure (protocol error) with
# nothing delivered, and for greeting/EHLO no AUTH or MAIL.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for s in greeting ehlo mail; do
	for act in overlong manylines nul badcode mixed inject; do
		fault_case "$s-$act" temp --fault "$s:$act"
		case $s in
		greeting|ehlo) assert_no_command AUTH MAIL ;;
		esac
	done
done
e2e_done
