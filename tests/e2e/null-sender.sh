#!/bin/sh
# -f with the null sender: -f '', -f '<>' and -f'<>' all give
# MAIL FROM:<>; the message still gets a From header with an address
# (msmtp writes an empty "From: ").
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

forms='-f| -f|<> -f<>'
# msmtp has no -r.
is_msmtp || forms="$forms -r|<>"
n=0
for form in $forms; do
	n=$((n + 1))
	a1=${form%%|*}
	case $form in
	*"|"*) a2=${form#*|}; set -- "$a1" "$a2" ;;
	*) set -- "$a1" ;;
	esac
	sample_message "null $n" >"$T/msg"
	run_postseal -C "$CFG" "$@" rcpt@example.org <"$T/msg"
	assert_exit 0 "postseal $form"
	assert_delivered "$n" "received for $form"
	assert_eq "$(json_get "$SPOOL/$n.json" mail_from_raw)" "<>" "MAIL FROM for $form"
	assert_header "$SPOOL/$n.eml" From '@'
done
e2e_done
