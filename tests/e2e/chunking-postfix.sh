#!/bin/sh
# BDAT against a real Postfix 3.7 (CHUNKING and PIPELINING offered) with
# Dovecot SASL, implicit TLS (postfix_env.sh); Postfix relays to smtpd.py,
# whose spool is compared byte for byte (issue 12):
# - a 1 MB body (several BDAT chunks) arrives unchanged;
# - lines starting with ".", "..", and a lone "." arrive unchanged (no
#   dot-stuffing with BDAT, and no early end of the message);
# - three recipients, one refused (554 to its RCPT): exit 0, the message
#   relayed once, to the two accepted; the refused one named on stderr;
# - every recipient refused: Postfix answers BDAT with 554, exit 67,
#   nothing relayed, nothing left in the queue.
# Postfix's log shows that BDAT was used (bdat=N) and DATA was not.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$(dirname "$0")/postfix_env.sh"
pf_require
make_ca
pf_start chuser 'Chunk-Pw.4'
PORT=$PF_SMTPS_PORT
{ base_config implicit chuser 'Chunk-Pw.4'; echo 'auth plain'; } |
    write_config

rcpts_of() {
	"$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' \
	    "$FINAL_SPOOL/$1.json"
}

# 1. A 1 MB body: about 17 000 lines of varied text, CRLF.
"$PYTHON" - "$T/big" "$T/big.want" <<'PY'
import sys
lines = [("line %06d " % i + "abcdefghijklmnopqrstuvwxyz" * (i % 3 + 1))
         for i in range(17000)]
body = "\r\n".join(lines) + "\r\n"
head = "From: sender@example.org\r\nTo: rcpt@example.org\r\nSubject: big\r\n\r\n"
open(sys.argv[1], "w", newline="").write(head + body)
open(sys.argv[2], "w", newline="").write(body)
PY
ok
[ "$(wc -c <"$T/big.want")" -gt 1000000 ] || fail "the big body is too small"
run_postseal -C "$CFG" rcpt@example.org <"$T/big"
assert_exit 0 "1 MB body"
if pf_wait_spool 1; then
	eml_part "$FINAL_SPOOL/1.eml" body >"$T/got1"
	assert_same_file "$T/got1" "$T/big.want" "1 MB body through Postfix"
else
	fail "1 MB body: nothing arrived"
	pf_dump
fi

# 2. Dots at line starts.
printf 'Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n..two\r\nend .\r\n.\r\n' \
    >"$T/dots"
printf '.\r\n..\r\n.leading\r\n..two\r\nend .\r\n.\r\n' >"$T/dots.want"
run_postseal -C "$CFG" rcpt@example.org <"$T/dots"
assert_exit 0 "dots"
if pf_wait_spool 2; then
	eml_part "$FINAL_SPOOL/2.eml" body >"$T/got2"
	assert_same_file "$T/got2" "$T/dots.want" "dot lines through Postfix"
else
	fail "dots: nothing arrived"
	pf_dump
fi

# 3. Three recipients, the middle one refused by Postfix.
printf 'Subject: three\r\n\r\nto two of three\r\n' >"$T/three"
run_postseal -C "$CFG" a@example.org refused@example.org b@example.org \
    <"$T/three"
assert_exit 0 "one of three refused"
assert_grep 'refused@example\.org.*554' "$ERR" "stderr names the refused one"
if pf_wait_spool 3; then
	# The notice to the sender about refused@ may come as well.
	found=
	for k in 3 4; do
		[ -f "$FINAL_SPOOL/$k.json" ] || continue
		[ "$(rcpts_of $k)" = "a@example.org b@example.org" ] && found=$k
	done
	ok
	[ -n "$found" ] || fail "no message to a@ and b@ (got: $(rcpts_of 3))"
	[ -n "$found" ] && {
		printf 'to two of three\r\n' >"$T/three.want"
		eml_part "$FINAL_SPOOL/$found.eml" body >"$T/got3"
		assert_same_file "$T/got3" "$T/three.want" "body to two of three"
	}
else
	fail "one of three refused: nothing arrived"
	pf_dump
fi
sleep 1
before=$(ls "$FINAL_SPOOL"/*.eml | wc -l)
copies=0
for j in "$FINAL_SPOOL"/*.json; do
	case $("$PYTHON" -c 'import json, sys
print(" ".join(json.load(open(sys.argv[1]))["rcpt_tos"]))' "$j") in
	*a@example.org*) copies=$((copies + 1)) ;;
	esac
done
assert_eq "$copies" 1 "copies to a@example.org (never twice)"

# 4. Every recipient refused: 554 to BDAT, nothing delivered or kept
# (3. left its entry in failed/, with the refused recipient).
qbefore=$(find "$QUEUE" -mindepth 2 -maxdepth 2 -type d | wc -l)
run_postseal -C "$CFG" refused@example.org refused2@example.org <"$T/three"
assert_exit 67 "every recipient refused"
assert_grep 'refused2@example\.org.*554' "$ERR" "stderr names refused2@"
assert_eq "$(find "$QUEUE" -mindepth 2 -maxdepth 2 -type d | wc -l)" "$qbefore" \
    "queue entries after every recipient was refused"
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$before" \
    "final spool after every recipient was refused"

# Postfix saw BDAT, never DATA; the refused BDAT shows as bdat=0/1.
assert_grep ' bdat=[0-9]' "$PF/maillog" "Postfix log: BDAT used"
assert_no_grep ' data=[0-9]' "$PF/maillog" "Postfix log: DATA not used"
assert_grep ' bdat=0/1' "$PF/maillog" "Postfix log: the refused BDAT"
e2e_done
