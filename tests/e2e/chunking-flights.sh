#!/bin/sh
# Round trips (issue 12): the client's flights on one connection, counted
# by bench/flightproxy.py between postseal and a real Postfix 3.7 with
# Dovecot SASL (postfix_env.sh; Postfix offers CHUNKING and PIPELINING).
# A flight is a maximal run of client bytes with no server bytes between,
# TLS handshake and close_notify included.  The counts are deterministic:
#
#   465 + AUTH PLAIN           ClientHello, Finished, EHLO, AUTH,
#                              MAIL RCPT BDAT-LAST body, QUIT+close_notify 6
#   465 + SCRAM-SHA-256        ... AUTH client-first, client-final, "" ... 8
#   587 STARTTLS + AUTH PLAIN  EHLO, STARTTLS, ClientHello,
#                              Finished+EHLO, AUTH, MAIL..body, QUIT+c_n  7
#   465 + PLAIN, no CHUNKING   ... MAIL RCPT DATA, body ".", QUIT+c_n     7
#                              (smtpd.py, which offers no CHUNKING)
#
# QUIT and the close_notify go as one flight after the reply to the data,
# and the 221 is never awaited.  (The issue's targets, one less each,
# need the close_notify behind the data: tried, it made both Postfix and
# aiosmtpd drop their replies to the data; see write_quit() in smtp.c.)
# Each message must arrive: nothing may be pipelined behind AUTH or sent
# before the server may take it (Postfix would refuse it).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "flight counts"
. "$(dirname "$0")/postfix_env.sh"
pf_require
make_ca
pf_start fluser 'Flight-Pw.3'
PF_PORTS="$PF_SMTPS_PORT $PF_STARTTLS_PORT"
sample_message >"$T/msg"

# flights LABEL UPSTREAM_PORT MODE AUTH WANT USER PASSWORD: the message
# (MSG, default $T/msg) through flightproxy.py; sets RECORDS, the client's
# TLS records.
n=0
flights() {
	pp=$(free_port)
	rep=$T/flights.$pp
	"$PYTHON" "$top_srcdir/bench/flightproxy.py" "$pp" "$2" 0 "$rep" &
	proxy=$!
	track_pid $proxy
	pf_wait_port "$pp" || hard_error "flightproxy did not start"
	PORT=$pp
	{ base_config "$3" "$6" "$7"; echo "auth $4"; } | write_config
	run_postseal -C "$CFG" rcpt@example.org <"${MSG:-$T/msg}"
	assert_exit 0 "$1: delivered"
	# postseal exits before the server closes (no wait for the 221); the
	# proxy reports a connection once both sides have ended.
	_w=0
	while [ "$(wc -l <"$rep")" -lt 2 ] && [ $_w -lt 100 ]; do
		sleep 0.1
		_w=$((_w + 1))
	done
	kill "$proxy"
	wait "$proxy" 2>/dev/null
	# The last line: pf_wait_port's probe came first.
	set -- "$@" $("$PYTHON" -c 'import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(r["client_flights"], r["client_records"])' "$rep")
	[ -z "$5" ] || assert_eq "$8" "$5" "$1: client flights"
	RECORDS=$9
}

flights "465 + AUTH PLAIN" "$PF_SMTPS_PORT" implicit plain 6 fluser Flight-Pw.3
pf_wait_spool 1 || fail "465 PLAIN: nothing arrived through Postfix"
flights "465 + SCRAM-SHA-256" "$PF_SMTPS_PORT" implicit scram-sha-256 8 \
    fluser Flight-Pw.3
pf_wait_spool 2 || fail "465 SCRAM: nothing arrived through Postfix"
flights "587 STARTTLS + AUTH PLAIN" "$PF_STARTTLS_PORT" starttls plain 7 \
    fluser Flight-Pw.3
pf_wait_spool 3 || fail "587 STARTTLS: nothing arrived through Postfix"
# Postfix saw BDAT (its log names the command counts of each session).
assert_grep 'bdat=1 quit=1' "$PF/maillog" "BDAT used with Postfix"
assert_no_grep 'data=1' "$PF/maillog" "no DATA with CHUNKING offered"

# TLS records for bench/run's 1 MB message (13 617 lines of 77 octets):
# its BDAT chunks end where records do (chunk_len() in smtp.c), so the
# data flight takes the 65 records its ~1 048 900 octets need (MAIL, RCPT,
# five BDAT lines, the fields postseal adds), not one short record more per
# chunk; with ClientHello, ChangeCipherSpec, Finished, EHLO, AUTH, QUIT and
# the close_notify: 72 (76 before).
"$PYTHON" - "$T/1m" <<'PY'
import sys
body = (("x" * 75) + "\r\n") * (1048576 // 77)
open(sys.argv[1], "w", newline="").write(
    "From: bench@example.org\r\nTo: rcpt@example.org\r\n"
    "Subject: bench\r\n\r\n" + body)
PY
# (Its flights are not counted: Postfix answers each chunk as it arrives.)
MSG=$T/1m flights "465 + AUTH PLAIN, 1 MB" "$PF_SMTPS_PORT" implicit plain "" \
    fluser Flight-Pw.3
pf_wait_spool 4 || fail "465 PLAIN 1 MB: nothing arrived through Postfix"
assert_eq "$RECORDS" 72 "465 PLAIN 1 MB: client TLS records"

# The DATA fallback: smtpd.py offers PIPELINING but no CHUNKING.
start_server --name nochunk --tls implicit --user u@example.org \
    --password 'pw-9'
flights "465 + AUTH PLAIN, DATA" "$PORT" implicit plain 7 u@example.org pw-9
assert_file_count "$SPOOL" '*.eml' 1 "DATA fallback delivered"
assert_grep_fixed 'QUIT' "$RECORD" "QUIT sent after the data"
assert_no_grep 'BDAT' "$RECORD" "no BDAT without CHUNKING"
e2e_done
