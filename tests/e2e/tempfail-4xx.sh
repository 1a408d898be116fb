#!/bin/sh
# A 4xx reply at each stage (greeting 421, EHLO 421, STARTTLS 454, AUTH
# 454, MAIL 451, RCPT 450, DATA 451, 421 in the middle of the data, 451
# after the final dot): a temporary failure (exit 75, or 0 and queued),
# the reply's code in the error, nothing delivered.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
for stage in greeting:421 ehlo:421 starttls:454 auth:454 mail:451 \
    rcpt:450 data:451 body:421 dot:451; do
	s=${stage%:*}
	code=${stage#*:}
	fault_case "$s-4xx" temp --fault "$s:4xx"
	assert_grep "$code" "$ERR" "stderr ($s: reply code $code)"
	case $s in
	greeting|ehlo|starttls|auth) assert_no_command MAIL ;;
	esac
done
e2e_done
