#!/bin/sh
# tls_dane (issue 16, RFC 7672) against real servers on loopback: nsd
# serves a DNSSEC-signed zone (ldns-signzone), an unsigned one and a
# signed one whose TLSA record was altered after signing; postseal's
# resolver (libunbound) validates from the zones' DS records given as
# dns_trust_anchor.  smtpd.py presents the test CA's certificates.
# Checked: a matching DANE-EE record authenticates a certificate the CA
# check refuses (untrusted CA, another name); a DANE-TA record does so
# through the chain, with the name checked; a mismatching record refuses
# a certificate the CA check accepts, in auto mode too; unsigned,
# unvalidated (no anchor) and bogus answers fail "on" and leave "auto"
# with the CA check, never a weaker one; no TLSA record fails "on" and
# falls back in "auto"; PKIX usages are unusable; a host that is a CNAME
# alias uses the expanded name's records (and, for DANE-TA, its name).  Every refusal keeps
# the message queued and sends nothing.  The host names resolve through
# a hosts file mounted in a mount namespace of the test's own.
. "$(dirname "$0")/lib.sh"
postseal_only "tls_dane"
if [ -z "${E2E_IN_MOUNTNS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root for a mount namespace"
	need_cmd unshare mount openssl certtool
	unshare -m true 2>/dev/null || skip "cannot create a mount namespace"
	E2E_IN_MOUNTNS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/nameserver.sh"
e2e_init
make_ca

NAMES="ee.dane.test ta.dane.test bad.dane.test none.dane.test \
pkix.dane.test taname.dane.test alias.dane.test talias.dane.test \
exp.dane.test
ee.plain.test ee.bogus.test"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$T/hosts"
for n in $NAMES; do
	printf '127.0.0.1 %s\n' "$n" >>"$T/hosts"
done
mount --bind "$T/hosts" /etc/hosts || hard_error "cannot mount the hosts file"

# A leaf for the DANE-TA names, signed by the test CA, served with the CA
# in its chain (DANE-TA needs the anchor among the certificates sent).
cat >"$T/ta.tmpl" <<TMPL
organization = "postseal tests"
cn = "ta.dane.test"
dns_name = "ta.dane.test"
dns_name = "bad.dane.test"
dns_name = "none.dane.test"
dns_name = "pkix.dane.test"
tls_www_server
signing_key
expiration_days = 30
TMPL
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
    --outfile "$T/ta.key" >/dev/null 2>&1 &&
    certtool --generate-certificate --load-privkey "$T/ta.key" \
    --load-ca-certificate "$CA/ca.pem" --load-ca-privkey "$CA/ca.key" \
    --template "$T/ta.tmpl" --outfile "$T/ta.pem" >/dev/null 2>&1 ||
    hard_error "cannot make the DANE-TA certificate"
cat "$T/ta.pem" "$CA/ca.pem" >"$T/ta-chain.pem"

# SHA-256 of a certificate's public key (selector 1) and of its DER
# (selector 0), as TLSA data.
spki() {
	openssl x509 -in "$1" -noout -pubkey |
	    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}
der() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}
EE=$(spki "$CA/server.pem")
OTHER=$(spki "$CA/untrusted.pem")
CADER=$(der "$CA/ca.pem")
[ ${#EE} = 64 ] && [ ${#OTHER} = 64 ] && [ ${#CADER} = 64 ] ||
    hard_error "cannot compute the TLSA data"

# srv: the "localhost" leaf alone; tasrv: the DANE-TA chain.
start_server --name srv --tls starttls
P1=$PORT
SPOOL1=$SPOOL
RECORD1=$RECORD
cp "$T/ta-chain.pem" "$CA/tachain.pem"
cp "$T/ta.key" "$CA/tachain.key"
start_server --name tasrv --cert tachain --tls starttls
P2=$PORT
SPOOL2=$SPOOL
RECORD2=$RECORD

# expsrv: an expired leaf, which DANE-EE accepts (RFC 7672 3.1.1).
start_server --name expsrv --cert expired --tls starttls
P3=$PORT
SPOOL3=$SPOOL
RECORD3=$RECORD

ns_zone dane.test <<ZONE
exp	A	127.0.0.1
_$P3._tcp.exp	TLSA	3 1 1 $(spki "$CA/expired.pem")
ee	A	127.0.0.1
_$P1._tcp.ee	TLSA	3 1 1 $EE
ta	A	127.0.0.1
_$P2._tcp.ta	TLSA	2 0 1 $CADER
taname	A	127.0.0.1
_$P2._tcp.taname	TLSA	2 0 1 $CADER
bad	A	127.0.0.1
_$P2._tcp.bad	TLSA	3 1 1 $OTHER
none	A	127.0.0.1
pkix	A	127.0.0.1
alias	CNAME	ee
talias	CNAME	ta
_$P2._tcp.pkix	TLSA	1 1 1 $(spki "$T/ta.pem")
ZONE
ns_sign dane.test
ns_zone plain.test <<ZONE
ee	A	127.0.0.1
_$P1._tcp.ee	TLSA	3 1 1 $EE
ZONE
# bogus.test: signed over a record that does not match, then altered to
# one that does: only DNSSEC tells the forgery.
ns_zone bogus.test <<ZONE
ee	A	127.0.0.1
_$P1._tcp.ee	TLSA	3 1 1 $OTHER
ZONE
ns_sign bogus.test
grep -q "$OTHER" "$NS_DIR/bogus.test.zone.signed" ||
    hard_error "no TLSA record in the signed bogus.test"
sed "s/$OTHER/$EE/" "$NS_DIR/bogus.test.zone.signed" >"$T/bogus.signed" &&
    cp "$T/bogus.signed" "$NS_DIR/bogus.test.zone.signed" ||
    hard_error "cannot alter bogus.test"
ns_start

# dane_config NAME HOST PORT MODE TRUST [ANCHOR]: write the config and the
# message for one run (TRUST: the CA file for the CA check; ANCHOR
# "none": no dns_trust_anchor); dane_case: and submit the message.
dane_config() {
	_port=$3
	{
		PORT=$_port E2E_HOST=$2 base_config starttls |
		    sed "s|^tls_trust_file .*|tls_trust_file $5|"
		printf 'tls_dane %s\ndns_server 127.0.0.1:%s\n' "$4" "$NS_PORT"
		[ "${6:-}" = none ] ||
		    printf 'dns_trust_anchor %s\n' "$NS_ANCHORS"
	} | write_config
	sample_message "$1" >"$T/msg"
	MAILS_BEFORE=$(mails)
}
dane_case() {
	dane_config "$@"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
}

# MAIL commands either server has seen so far.
mails() {
	cat "$RECORD1" "$RECORD2" "$RECORD3" | grep -E -c '^[0-9]+ (plain|tls) MAIL '
}

# delivered_to SPOOL N WHAT / refused WHAT ERE: the outcome of the run.
delivered_to() {
	assert_exit 0 "$3"
	assert_no_grep_fixed queued "$ERR" "$3: stderr"
	assert_file_count "$1" '*.eml' "$2" "$3: server spool"
}
refused() {
	assert_tempfail_or_queued "$1"
	assert_grep "$2" "$ERR" "$1: stderr"
	assert_eq "$(mails)" "$MAILS_BEFORE" "$1: MAIL commands sent"
}
CA1=$CA/ca.pem
CA2=$CA/ca2.pem

# The CA check alone refuses srv for ee.dane.test (untrusted CA, and the
# certificate names localhost): what DANE-EE must replace.
dane_case off ee.dane.test "$P1" off "$CA2"
refused "off, CA check" 'certificate of ee\.dane\.test is (for another name|not trusted)'

# DANE-EE(3) match: delivered in on and auto, the CA check replaced.
dane_case ee-on ee.dane.test "$P1" on "$CA2"
delivered_to "$SPOOL1" 1 "DANE-EE on"
dane_case ee-auto ee.dane.test "$P1" auto "$CA2"
delivered_to "$SPOOL1" 2 "DANE-EE auto"

# DANE-EE checks no dates: an expired certificate that matches is fine,
# and the CA check alone refuses it.
dane_case exp-off exp.dane.test "$P3" off "$CA1"
refused "expired, off" 'certificate of exp\.dane\.test .*expired'
dane_case exp-on exp.dane.test "$P3" on "$CA1"
delivered_to "$SPOOL3" 1 "expired, DANE-EE on"

# DANE-TA(2): the chain verifies from the CA the record names.
dane_case ta-on ta.dane.test "$P2" on "$CA2"
delivered_to "$SPOOL2" 1 "DANE-TA on"
# ... and the name is checked: taname.dane.test is not in the certificate.
dane_case ta-name taname.dane.test "$P2" on "$CA2"
refused "DANE-TA, wrong name" \
    'DANE: certificate of taname\.dane\.test does not verify from the CA its DANE-TA record names \(fix: .*_'"$P2"'\._tcp\.taname\.dane\.test'

# A host name that is a CNAME alias: the expanded name's records count,
# and DANE-TA accepts the expanded name in the certificate.
dane_case alias-ee alias.dane.test "$P1" on "$CA2"
delivered_to "$SPOOL1" 3 "CNAME alias, DANE-EE"
dane_case alias-ta talias.dane.test "$P2" on "$CA2"
delivered_to "$SPOOL2" 2 "CNAME alias, DANE-TA"

# A mismatching record refuses a certificate the CA check accepts.
dane_case bad-off bad.dane.test "$P2" off "$CA1"
delivered_to "$SPOOL2" 3 "mismatch, off (the CA check passes)"
dane_case bad-auto bad.dane.test "$P2" auto "$CA1"
refused "mismatch, auto" \
    'DANE: certificate of bad\.dane\.test matches none of its TLSA records \(fix: '
dane_case bad-on bad.dane.test "$P2" on "$CA1"
refused "mismatch, on" 'matches none of its TLSA records'

# Only a PKIX-EE(1) record: unusable for SMTP.
dane_case pkix-on pkix.dane.test "$P2" on "$CA1"
refused "PKIX only, on" 'has no TLSA record usable for SMTP'
dane_case pkix-auto pkix.dane.test "$P2" auto "$CA1"
delivered_to "$SPOOL2" 4 "PKIX only, auto (the CA check)"

# No TLSA record (a validated denial).
dane_case none-on none.dane.test "$P2" on "$CA1"
refused "no TLSA, on" 'DANE: no TLSA records at _'"$P2"'\._tcp\.none\.dane\.test \(fix: '
dane_case none-auto none.dane.test "$P2" auto "$CA1"
delivered_to "$SPOOL2" 5 "no TLSA, auto"

# Unsigned zone: the matching record is not trusted.
dane_case plain-on ee.plain.test "$P1" on "$CA2"
refused "unsigned, on" 'TLSA lookup of _'"$P1"'\._tcp\.ee\.plain\.test is not DNSSEC-validated \(fix: '
dane_case plain-auto ee.plain.test "$P1" auto "$CA2"
refused "unsigned, auto (the CA check)" 'certificate of ee\.plain\.test is (for another name|not trusted)'

# Signed zone, no trust anchor: insecure, as unsigned.
dane_case noanchor-on ee.dane.test "$P1" on "$CA2" none
refused "no anchor, on" 'is not DNSSEC-validated'
dane_case noanchor-auto ee.dane.test "$P1" auto "$CA2" none
refused "no anchor, auto (the CA check)" 'certificate of ee\.dane\.test is (for another name|not trusted)'

# Altered after signing: bogus, never used although it matches.
dane_case bogus-on ee.bogus.test "$P1" on "$CA2"
refused "bogus, on" 'TLSA lookup of _'"$P1"'\._tcp\.ee\.bogus\.test failed \(fix: its DNSSEC signatures must be repaired, or set tls_dane auto\): DNSSEC validation failed'
dane_case bogus-auto ee.bogus.test "$P1" auto "$CA2"
refused "bogus, auto (the CA check)" 'certificate of ee\.bogus\.test is (for another name|not trusted)'

# A resolver that never answers: "on" fails after the time-out, "auto"
# delivers with the CA check; each waits two lookups (address, TLSA) of
# the account's timeout (2 s here), not longer.
ns_blackhole
for mode in on auto; do
	CFG_TIMEOUT=2 dane_config "dead-$mode" none.dane.test "$P2" "$mode" \
	    "$CA1"
	sed "s|^dns_server .*|dns_server 127.0.0.1:$NS_DEAD_PORT|" "$CFG" |
	    write_config "$T/dead.conf"
	t0=$(date +%s)
	run_postseal -C "$T/dead.conf" rcpt@example.org <"$T/msg"
	t=$(($(date +%s) - t0))
	[ "$t" -le 8 ] || fail "dead resolver, $mode: took $t s"
	ok
	if [ "$mode" = on ]; then
		refused "dead resolver, on" \
		    'TLSA lookup of _'"$P2"'\._tcp\.none\.dane\.test failed \(fix: check dns_server and the network, or set tls_dane auto\): timeout'
	else
		delivered_to "$SPOOL2" 6 "dead resolver, auto (the CA check)"
	fi
done

# The doctor says what authenticated the server (in a full handshake: the
# sessions the deliveries above cached are dropped).
rm -rf "$XDG_STATE_HOME/postseal/tls"
dane_config doctor-ee ee.dane.test "$P1" on "$CA2"
run_postseal -C "$CFG" --doctor
assert_grep '^tls: ok: DANE: the certificate matches a DANE-EE record' \
    "$OUT" "doctor, DANE-EE"
dane_config doctor-ta ta.dane.test "$P2" auto "$CA2"
run_postseal -C "$CFG" --doctor
assert_grep '^tls: ok: DANE: the certificate verifies from the CA a DANE-TA record names' \
    "$OUT" "doctor, DANE-TA"
dane_config doctor-auto none.dane.test "$P2" auto "$CA1"
run_postseal -C "$CFG" --doctor
assert_grep '^tls: ok: tls_dane auto: no usable DNSSEC-validated TLSA records' \
    "$OUT" "doctor, auto without records"
assert_grep '^tls: ok: certificate chain valid' "$OUT" \
    "doctor, auto without records: the CA check"

# Refused before the message is stored: an address as host, a proxy
# (the lookup would bypass it), an unreadable trust anchor.
config_refused() {
	assert_exit 78 "$1"
	assert_grep "$2" "$ERR" "$1: stderr"
	assert_eq "$(queue_entries)" "$Q_BEFORE" "$1: queue entries"
	assert_eq "$(mails)" "$MAILS_BEFORE" "$1: MAIL commands sent"
}
dane_case addr 127.0.0.1 "$P1" on "$CA2"
config_refused "address, on" 'tls_dane on: host 127\.0\.0\.1 is an address.*\(fix: set host'
dane_config proxy ee.dane.test "$P1" on "$CA2"
printf 'proxy socks5h://127.0.0.1:%s\n' "$(free_port)" >>"$CFG"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
config_refused "proxy, on" 'would bypass the proxy \(fix: '
sed "s|^dns_trust_anchor .*|dns_trust_anchor $T/missing.ds|" "$CFG" |
    grep -v '^proxy ' | write_config "$T/noanchor.conf"
run_postseal -C "$T/noanchor.conf" rcpt@example.org <"$T/msg"
config_refused "unreadable anchor" "dns_trust_anchor $T/missing.ds: .*\\(fix: "
dane_config tls-off ee.dane.test "$P1" on "$CA2"
sed 's/^tls_starttls on$/tls_starttls off/; s/^tls on$/tls off/' "$CFG" |
    write_config "$T/tlsoff.conf"
grep -q '^tls off$' "$T/tlsoff.conf" || hard_error "no tls off in tlsoff.conf"
run_postseal -C "$T/tlsoff.conf" rcpt@example.org <"$T/msg"
config_refused "tls off, on" 'tls_dane on needs TLS, but tls is off \(fix: '

assert_file_count "$SPOOL1" '*.eml' 3 "srv spool at the end"
assert_file_count "$SPOOL2" '*.eml' 6 "tasrv spool at the end"
e2e_done
