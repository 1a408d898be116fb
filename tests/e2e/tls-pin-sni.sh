#!/bin/sh
# Host name, SNI and certificate pinning, as the server saw them (N1).
#
# By name (localhost): SNI "localhost" reaches the server and the name is
# checked against a DNS SAN; by address (127.0.0.1): no SNI, and the
# address is checked against an IP SAN, never a DNS SAN.  A DNS SAN for
# another name is refused during the handshake.
#
# tls_fingerprint: the right pin delivers (with and without tls_certcheck);
# a wrong pin is refused AFTER the handshake (the server records that its
# side of the handshake completed, so the post-handshake comparison in
# tls.c is what refused it), before any byte of EHLO, AUTH or the message
# goes over TLS.  Pins are computed here from the DER (not mkca.sh's text).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "tls_fingerprint checked after the handshake"
make_ca
sample_message pin >"$T/msg"

# pin_of CERT: SHA-256 of the certificate's DER, colon-separated hex.
pin_of() {
	"$PYTHON" -c 'import hashlib, ssl, sys
der = ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())
print(":".join("%02X" % b for b in hashlib.sha256(der).digest()))' "$1"
}

# sess_events SID: the events of one session of the server started last.
sess_events() {
	sed -n "s/^$1 //p" "$EVENTS"
}

# deliver_case NAME CERT HOST [CONFIG LINES...]: delivered, as one session.
deliver_case() {
	_cn=$1
	_cc=$2
	_ch=$3
	shift 3
	start_server --name "$_cn" --cert "$_cc" --tls starttls --user u \
	    --password Pin-pw-1
	{
		E2E_HOST=$_ch base_config starttls u Pin-pw-1
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
	} | write_config
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_exit 0 "$_cn"
	assert_delivered 1 "$_cn: delivered"
	assert_eq "$(json_get "$SPOOL/1.json" tls)" true "$_cn: over TLS"
	assert_eq "$(json_get "$SPOOL/1.json" auth_user)" u "$_cn: authenticated"
}

# refused_case NAME CERT HOST WHY HANDSHAKE [CONFIG LINES...]: a temporary
# failure whose stderr matches WHY; HANDSHAKE is "done" (the server
# completed its side: refused after the handshake) or "not-done" (refused
# inside it).  Either way nothing went over TLS: no EHLO, no AUTH, no mail.
refused_case() {
	_cn=$1
	_cc=$2
	_ch=$3
	_why=$4
	_hs=$5
	shift 5
	start_server --name "$_cn" --cert "$_cc" --tls starttls --user u \
	    --password Pin-pw-1
	{
		E2E_HOST=$_ch base_config starttls u Pin-pw-1
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
	} | write_config
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_tempfail_or_queued "$_cn"
	assert_grep_i "$_why" "$ERR" "$_cn: stderr (reason)"
	assert_nothing_delivered
	assert_grep '^1 plain STARTTLS$' "$RECORD" "$_cn: STARTTLS was sent"
	assert_no_grep '^[0-9]+ tls ' "$RECORD" "$_cn: nothing sent over TLS"
	assert_no_command AUTH MAIL RCPT DATA
	assert_no_secret u Pin-pw-1 "$ERR" "$OUT"
	if [ "$_hs" = done ]; then
		assert_grep '^1 tls-done ' "$EVENTS" \
		    "$_cn: the server completed the handshake"
	else
		assert_no_grep '^1 tls-done ' "$EVENTS" \
		    "$_cn: the handshake did not complete"
	fi
}

good=$(pin_of "$CA/server.pem")
other=$(pin_of "$CA/wrongname.pem")
assert_eq "$(tr 'a-f' 'A-F' <"$CA/server.sha256" | tr -d ':')" \
    "$(echo "$good" | tr -d ':')" "mkca.sh's server.sha256"

# ---- names, addresses and SNI ----
deliver_case byname server localhost
assert_eq "$(sess_events 1 | sed -n 's/^sni //p')" localhost \
    "by name: SNI the server saw"
deliver_case dnsonly dnsonly localhost
assert_eq "$(sess_events 1 | sed -n 's/^sni //p')" localhost \
    "DNS SAN only: SNI the server saw"
deliver_case byip iponly 127.0.0.1
assert_eq "$(sess_events 1 | sed -n 's/^sni //p')" - \
    "by address: no SNI (RFC 6066 3: no literal addresses)"
refused_case ip-vs-dns dnsonly 127.0.0.1 'name|host|127\.0\.0\.1' not-done
refused_case dns-vs-ip iponly localhost 'name|host|localhost' not-done
refused_case wrongname wrongname localhost 'name|host|localhost' not-done
assert_eq "$(sess_events 1 | sed -n 's/^sni //p')" localhost \
    "wrong name: SNI the server saw"

# ---- pinning ----
deliver_case pin-only server localhost 'tls_certcheck off' \
    "tls_fingerprint $good"
deliver_case pin-and-ca server localhost "tls_fingerprint $good"
# The pin alone decides with tls_certcheck off: a certificate for another
# name, whose fingerprint is pinned, is accepted.
deliver_case pin-othername wrongname localhost 'tls_certcheck off' \
    "tls_fingerprint $other"
refused_case pin-wrong server localhost 'fingerprint' done \
    'tls_certcheck off' "tls_fingerprint $other"
refused_case pin-wrong-ca server localhost 'fingerprint' done \
    "tls_fingerprint $other"

# Implicit TLS: the same post-handshake comparison.
start_server --name pin-implicit --tls implicit --user u --password Pin-pw-1
{
	base_config implicit u Pin-pw-1
	printf 'tls_certcheck off\ntls_fingerprint %s\n' "$other"
} | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "pin-implicit"
assert_grep_i 'fingerprint' "$ERR" "pin-implicit: stderr (reason)"
assert_nothing_delivered
assert_grep '^1 tls-done ' "$EVENTS" "pin-implicit: handshake completed"
assert_no_grep '^[0-9]+ tls ' "$RECORD" "pin-implicit: nothing sent over TLS"
e2e_done
