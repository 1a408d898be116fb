#!/bin/sh
# SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, 7677) against smtpd.py's
# own SCRAM server, which verifies the proof and the channel binding data
# independently of GNU SASL (Python hashlib/hmac, OpenSSL's exporter):
#   explicit "auth scram-sha-256"; wrong password -> 77;
#   "auth on" with PLAIN, LOGIN, SCRAM-SHA-256 and -PLUS offered, over
#   TLS 1.3 and TLS 1.2: the strongest (-PLUS) is chosen and its binding
#   verified; explicit "auth scram-sha-256-plus";
#   a server whose binding data differs (as behind a TLS-terminating man
#   in the middle) must fail the authentication: 77, nothing delivered.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "msmtp has no -PLUS mechanisms"
make_ca
sample_message >"$T/msg"
pw='Scram-Pw%9'

start_server --name scram --tls starttls --user u --password "$pw" \
    --mechs SCRAM-SHA-256
{ base_config starttls u "$pw"; echo 'auth scram-sha-256'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "auth scram-sha-256"
assert_delivered 1
{
	assert_eq "$(json_get "$SPOOL/1.json" auth_mech)" SCRAM-SHA-256 "mechanism"
	# The server offers no -PLUS, so "y" (could bind) or "n" is right.
	assert_grep '"auth_gs2": "[ny],,"' "$SPOOL/1.json" "GS2 header"
}
{ base_config starttls u wrong-pw; echo 'auth scram-sha-256'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "scram-sha-256, wrong password"
assert_file_count "$SPOOL" '*.eml' 1 "scram spool"
assert_no_secret u "$pw" "$ERR" "$OUT"

for tlsv in 1.3 1.2; do
	start_server --name plus-$tlsv --tls starttls --user u --password "$pw" \
	    --mechs PLAIN,LOGIN,SCRAM-SHA-256,SCRAM-SHA-256-PLUS --tls-max $tlsv
	k=0
	for auth in on scram-sha-256-plus; do
		{ base_config starttls u "$pw"; echo "auth $auth"; } | write_config
		run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
		assert_exit 0 "auth $auth, TLS $tlsv"
		k=$((k + 1))
		assert_delivered "$k" "auth $auth, TLS $tlsv: delivered"
		last=$SPOOL/$k.json
		assert_eq "$(json_get "$last" tls_version)" "TLSv$tlsv" "TLS version"
		assert_eq "$(json_get "$last" auth_mech)" SCRAM-SHA-256-PLUS "mechanism (auth $auth, TLS $tlsv)"
		cb=$(json_get "$last" auth_cb)
		e2e_log "TLS $tlsv, auth $auth: channel binding $cb"
		case $tlsv in
		1.3) assert_eq "$cb" tls-exporter "binding type on TLS 1.3" ;;
		*) assert_grep '"auth_cb": "tls-(unique|exporter)"' "$last" "binding type on TLS 1.2" ;;
		esac
	done
done

# The binding data the server expects is not that of this TLS session.
start_server --name mitm --tls starttls --user u --password "$pw" \
    --mechs SCRAM-SHA-256-PLUS --cb-corrupt
{ base_config starttls u "$pw"; echo 'auth scram-sha-256-plus'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "channel binding mismatch"
assert_nothing_delivered
assert_no_command MAIL
# The SaltedPassword postseal computes (GnuTLS PBKDF2 of the SASLprep'ed
# password, sasl.c) is the one the server expects at another iteration
# count too; an iteration count past 1000000 is refused before any PBKDF2
# work, naming the reason, as an authentication failure (77).
start_server --name scram-iter --tls starttls --user u --password "$pw" \
    --mechs SCRAM-SHA-256 --scram-iterations 10000
{ base_config starttls u "$pw"; echo 'auth scram-sha-256'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "scram-sha-256, 10000 iterations"
assert_file_count "$SPOOL" '*.eml' 1 "spool, 10000 iterations"
start_server --name scram-huge --tls starttls --user u --password "$pw" \
    --mechs SCRAM-SHA-256 --scram-iterations 2000000000
{ base_config starttls u "$pw"; echo 'auth scram-sha-256'; } | write_config
t0=$(now)
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
t1=$(now)
assert_exit 77 "scram-sha-256, 2000000000 iterations"
assert_grep_fixed "iteration count out of range" "$ERR" \
    "stderr names the refused iteration count"
assert_file_count "$SPOOL" '*.eml' 0 "spool, 2000000000 iterations"
ok
[ $((t1 - t0)) -lt 30 ] || fail "refusing took $((t1 - t0)) s (PBKDF2 ran?)"
e2e_done
