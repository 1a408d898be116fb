#!/bin/sh
# Real-MTA interop: Postfix (submission with STARTTLS, certificate from
# the test CA) with Dovecot SASL (PLAIN, LOGIN, SCRAM-SHA-256), both
# started by this test on 127.0.0.1 with private configuration, queue and
# state directories; Postfix relays what it accepts to smtpd.py, whose
# spool is checked.  postseal submits with SCRAM-SHA-256, PLAIN, LOGIN
# and "auth on" (which must pick SCRAM-SHA-256, the strongest offered),
# plus a wrong password (77), and per-recipient delivery (issue 8, item
# 2): one of two recipients refused (exit 0, relayed to the other, a
# notice listing only the refused one), both refused (67, nothing
# relayed), and Postfix's smtpd_recipient_limit (452 4.5.3 after 3): 7
# recipients in 3 transactions.
#
# Needs root and Debian's postfix and dovecot-core; skips (77) otherwise.
# Never calls /usr/sbin/sendmail and touches no system service: only
# processes started here, all stopped at the end.
#
# Channel binding: Dovecot 2.3 (bookworm) has no SCRAM-*-PLUS (added in
# 2.4), and Postfix passes no channel binding to its SASL back ends, so
# -PLUS cannot be tested against a real server here; scram.sh tests it
# against smtpd.py's independent implementation.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$(dirname "$0")/postfix_env.sh"
pf_require
make_ca
# Postfix refuses a 4th recipient in one transaction (452 4.5.3).
PF_EXTRA_MAIN='smtpd_recipient_limit = 3'
pf_start pfuser Interop-Pw.5
SUB_PORT=$PF_STARTTLS_PORT
dump_interop() { pf_dump; }
wait_spool() { pf_wait_spool "$1"; }

PORT=$SUB_PORT
RECORD=$T/none.record
: >"$RECORD"
n=0
for auth in scram-sha-256 plain login on; do
	n=$((n + 1))
	{ base_config starttls pfuser Interop-Pw.5; echo "auth $auth"; } |
	    write_config
	printf 'To: Rcpt <rcpt@example.org>\nBcc: hidden@example.org\nSubject: interop %s\n\nvia Postfix with %s\n.\n..dots\n' \
	    "$auth" "$auth" >"$T/msg"
	run_postseal -C "$CFG" -t <"$T/msg"
	assert_exit 0 "postfix, auth $auth"
	if ! wait_spool $n; then
		fail "auth $auth: nothing arrived through Postfix"
		dump_interop
		continue
	fi
	M=$FINAL_SPOOL/$n.eml
	assert_header "$M" Subject "^interop $auth\$"
	assert_header "$M" Received 'mx\.interop\.test'
	assert_header "$M" Message-ID '^<[^<> ]+@[^<> ]+>$'
	assert_header "$M" Date '[0-9]{4}'
	assert_no_header "$M" Bcc
	printf 'via Postfix with %s\r\n.\r\n..dots\r\n' "$auth" >"$T/want"
	eml_part "$M" body >"$T/got"
	assert_same_file "$T/got" "$T/want" "body through Postfix ($auth)"
	got=$("$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' "$FINAL_SPOOL/$n.json")
	assert_eq "$got" "hidden@example.org rcpt@example.org" "recipients through Postfix ($auth)"
	want_mech=$(echo "$auth" | tr 'a-z' 'A-Z')
	[ "$auth" = on ] && want_mech=SCRAM-SHA-256
	assert_grep "sasl_method=$want_mech, sasl_username=pfuser" "$PF/maillog" "Postfix log (mechanism for auth $auth)"
done

# A wrong password is refused by Dovecot: 77, nothing relayed.
{ base_config starttls pfuser Wrong-Pw.5; echo 'auth scram-sha-256'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "postfix, wrong password"
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool after a wrong password"

# rcpts_of N: the sorted recipients of message N at the final server.
rcpts_of() {
	"$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' \
	    "$FINAL_SPOOL/$1.json"
}

# Both recipients refused by Postfix: 67, naming them; nothing relayed,
# nothing kept (the caller keeps the mail).
{ base_config starttls pfuser Interop-Pw.5; } | write_config
run_postseal -C "$CFG" refused@example.org refused2@example.org <"$T/msg"
assert_exit 67 "postfix, every recipient refused"
assert_grep 'refused@example\.org.*554' "$ERR" "stderr names refused@"
assert_eq "$(find "$QUEUE" -mindepth 2 -maxdepth 2 -type d | wc -l)" 0 \
    "queue entries after every recipient was refused"
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool after the refusals"

# One of two refused: relayed to the other, exit 0, the refused one
# named on stderr and in a notice (through Postfix too) listing only it.
{ base_config starttls pfuser Interop-Pw.5; } | write_config
run_postseal -C "$CFG" rcpt@example.org refused2@example.org <"$T/msg"
assert_exit 0 "postfix, one recipient refused"
assert_grep 'refused2@example\.org.*554 5\.7\.1' "$ERR" \
    "stderr names the refused recipient with Postfix's reply"
if wait_spool $((n + 2)); then
	for k in $((n + 1)) $((n + 2)); do
		case $(rcpts_of $k) in
		rcpt@example.org) ;;
		sender@example.org)
			N=$FINAL_SPOOL/$k.eml
			assert_eq "$(grep -c '^Final-Recipient:' "$N")" 1 \
			    "notice via Postfix: recipient blocks"
			assert_grep '^Final-Recipient: rfc822; refused2@example.org' \
			    "$N" "notice via Postfix: the refused recipient"
			assert_grep '^Diagnostic-Code: smtp; 554 5\.7\.1' "$N" \
			    "notice via Postfix: Postfix's diagnostic"
			assert_no_grep '^Final-Recipient: .*rcpt@' "$N" \
			    "notice via Postfix (the accepted recipient)"
			;;
		*) fail "message $k via Postfix: recipients $(rcpts_of $k)" ;;
		esac
	done
else
	fail "one refused: the message and the notice did not both arrive"
	dump_interop
fi
n=$((n + 2))
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool: one copy each"

# smtpd_recipient_limit 3: Postfix answers 452 4.5.3 to the 4th RCPT; 7
# recipients go in 3 transactions (3, 3, 1), all relayed, exit 0.
run_postseal -C "$CFG" l1@example.org l2@example.org l3@example.org \
    l4@example.org l5@example.org l6@example.org l7@example.org <"$T/msg"
assert_exit 0 "postfix, 7 recipients, limit 3"
assert_no_grep '[Qq]ueued|[Rr]efused' "$ERR" "stderr (7 recipients)"
if wait_spool $((n + 3)); then
	got=$(for k in $((n + 1)) $((n + 2)) $((n + 3)); do rcpts_of $k; done |
	    tr ' ' '\n' | sort | tr '\n' ' ')
	assert_eq "$got" "l1@example.org l2@example.org l3@example.org l4@example.org l5@example.org l6@example.org l7@example.org " \
	    "recipients of the 3 transactions"
else
	fail "7 recipients: not all 3 transactions arrived"
	dump_interop
fi
sizes=$(for k in $((n + 1)) $((n + 2)) $((n + 3)); do
	[ -f "$FINAL_SPOOL/$k.json" ] && rcpts_of $k | wc -w
done | sort -n | tr '\n' ' ')
assert_eq "$sizes" "1 3 3 " "transaction sizes (Postfix's limit of 3)"
n=$((n + 3))
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool at the end"
assert_no_secret pfuser Interop-Pw.5 "$ERR" "$OUT"
[ "$FAILS" -gt 0 ] && dump_interop
e2e_done
