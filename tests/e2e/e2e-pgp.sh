#!/bin/sh
# End-to-end protection with OpenPGP/MIME (issue 15, RFC 3156): keys made
# now in throwaway GnuPG homes; what the server received is checked with
# gpg --verify / --decrypt under the recipients' keys, DKIM with the
# outside verifiers after the transformation, a multipart message with an
# attachment comes back byte for byte; each refusal ("always" without a
# key, an expired, revoked or untrusted key, a locked key
# without pgp_passphrase_eval) exits 65/78 with the reason and queues
# nothing.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
need_cmd gpg
need_cmd gpgconf
dkim_keygen rsa rs

# gpg-agent's socket lives in the home: keep the path short.
G=$(mktemp -d /tmp/ps-e2e.XXXXXX) || hard_error "mktemp"
S=$G/s R=$G/r
mkdir -m 700 "$S" "$R"
at_cleanup "GNUPGHOME=$S gpgconf --kill all; GNUPGHOME=$R gpgconf --kill all; rm -rf $G"
gpg_agent_up "$S"
gpg_agent_up "$R"
gs() { gpg --homedir "$S" --batch --yes --pinentry-mode loopback --passphrase '' "$@"; }
gr() { gpg --homedir "$R" --batch --yes --pinentry-mode loopback --passphrase '' "$@"; }
fpr() { gpg --homedir "$1" --with-colons --list-keys "$2" | awk -F: '$1 == "fpr" { print $10; exit }'; }

gs --quick-gen-key 'Sender <sender@example.org>' default default 1y >/dev/null 2>&1 ||
    hard_error "gpg --quick-gen-key (sender)"
gr --quick-gen-key 'Rcpt <rcpt@example.org>' default default 1y >/dev/null 2>&1 ||
    hard_error "gpg --quick-gen-key (rcpt)"
SF=$(fpr "$S" sender@example.org)
RF=$(fpr "$R" rcpt@example.org)
gr --export "$RF" | gs --import 2>/dev/null
gs --export "$SF" | gr --import 2>/dev/null
gs --quick-lsign-key "$RF" 2>/dev/null || hard_error "lsign rcpt key"
gr --quick-lsign-key "$SF" 2>/dev/null || hard_error "lsign sender key"
# Keys the sender knows but must refuse: untrusted, expired, revoked.
for who in untrusted expired revoked; do
	gr --quick-gen-key "$who <$who@example.org>" default default 1y >/dev/null 2>&1
	f=$(fpr "$R" "$who@example.org")
	case $who in
	expired) gr --quick-set-expire "$f" seconds=1 '*' 2>/dev/null
		gr --quick-set-expire "$f" seconds=1 2>/dev/null ;;
	esac
	gr --export "$f" | gs --import 2>/dev/null
	[ $who != untrusted ] && gs --quick-lsign-key "$f" 2>/dev/null
	if [ $who = revoked ]; then
		gr --gen-revoke "$f" >/dev/null 2>&1 # nothing, for the record
		gs --import "$R/openpgp-revocs.d/$f.rev" 2>/dev/null ||
		    sed 's/^:-----BEGIN/-----BEGIN/' "$R/openpgp-revocs.d/$f.rev" | gs --import 2>/dev/null
	fi
done
sleep 2 # the "expired" key's second has passed

start_server --tls none
conf() {
	{ base_config plain
	printf 'dkim_domain example.com\ndkim_key rs rsa %s\n' "$T/rs.key"
	printf 'gpg_home %s\n' "$S"
	printf '%s\n' "$@"; } | write_config
}
n_eml() { find "$SPOOL" -name '*.eml' | wc -l; }

# A multipart message with an attachment, as mutt writes it.
printf 'hello\000\001\002binary\377' >"$T/att.bin"
att=$(base64 "$T/att.bin")
cat >"$T/multi" <<EOM
From: Sender <sender@example.org>
To: rcpt@example.org
Subject: quarterly figures
Message-ID: <e2e-multi@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mutt-b0undary"
Content-Disposition: inline

--mutt-b0undary
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline

The figures are attached.

--mutt-b0undary
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="att.bin"
Content-Transfer-Encoding: base64

$att

--mutt-b0undary--
EOM
# What the protected entity must be: the Content-* fields and the body.
{ grep '^Content-' "$T/multi" | sed -n '1,2p'; echo; sed '1,/^$/d' "$T/multi"; } |
    sed 's/$/\r/' >"$T/multi.entity"

# 1. pgp_sign: multipart/signed that gpg verifies with the sender's key.
conf "pgp_sign $SF"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_exit 0 "pgp_sign"
assert_delivered 1
E=$SPOOL/1.eml
"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$E" "$T/p1"
assert_grep_i '^Content-Type: multipart/signed; micalg=pgp-sha[0-9]+;' "$T/p1/headers" "signed: top-level type"
assert_grep_i 'protocol="application/pgp-signature"' "$T/p1/headers" "signed: protocol"
gr --verify "$T/p1/2.body" "$T/p1/1" 2>"$T/v1" || fail "gpg --verify rejects the signature: $(cat "$T/v1")"
assert_grep 'Good signature from "Sender <sender@example.org>"' "$T/v1" "gpg --verify"
assert_same_file "$T/p1/1" "$T/multi.entity" "signed entity = the original content"
assert_crlf "$E"
verify_everywhere "$E" "signed, then DKIM"

# 2. pgp_encrypt always with signing: multipart/encrypted; the recipient
#    and the sender both decrypt; the entity comes back byte for byte.
conf "pgp_sign $SF" "pgp_encrypt always"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_exit 0 "pgp_encrypt always"
assert_delivered 2
E=$SPOOL/2.eml
"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$E" "$T/p2"
assert_grep_i '^Content-Type: multipart/encrypted;' "$T/p2/headers" "encrypted: top-level type"
assert_grep_i 'protocol="application/pgp-encrypted"' "$T/p2/headers" "encrypted: protocol"
assert_grep '^Version: 1' "$T/p2/1" "encrypted: version part"
assert_no_grep 'figures are attached' "$E" "encrypted: no plain text on the wire"
gr --decrypt "$T/p2/2.body" >"$T/d2" 2>"$T/d2.err" || fail "rcpt cannot decrypt: $(cat "$T/d2.err")"
assert_same_file "$T/d2" "$T/multi.entity" "decrypted entity (recipient)"
assert_grep 'Good signature from "Sender' "$T/d2.err" "decrypt: inner signature good"
gs --decrypt "$T/p2/2.body" >"$T/d2s" 2>/dev/null || fail "the sender cannot read its own copy"
assert_same_file "$T/d2s" "$T/multi.entity" "decrypted entity (sender)"
assert_grep '^Subject: quarterly figures' "$T/p2/headers" "Subject outside without e2e_protect_headers"
verify_everywhere "$E" "encrypted, then DKIM"

# 3. e2e_protect_headers: Subject "..." outside, the real one inside
#    (RFC 9788 hp="cipher").
conf "pgp_sign $SF" "pgp_encrypt always" "e2e_protect_headers on"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_exit 0 "e2e_protect_headers"
assert_delivered 3
"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$SPOOL/3.eml" "$T/p3"
assert_grep '^Subject: \.\.\.' "$T/p3/headers" "outer Subject"
assert_no_grep 'quarterly' "$SPOOL/3.eml" "real Subject nowhere in clear"
gr --decrypt "$T/p3/2.body" >"$T/d3" 2>/dev/null || fail "decrypt (protected headers)"
assert_grep 'hp="cipher"' "$T/d3" "inner hp parameter"
assert_grep '^Subject: quarterly figures' "$T/d3" "inner Subject"
assert_grep '^HP-Outer: Subject: \.\.\.' "$T/d3" "HP-Outer"

# 4. Refusals: exit 65 naming each recipient, nothing sent or queued.
refused() { # WHAT ERE RCPTS...
	_what=$1 _ere=$2
	shift 2
	_n=$(n_eml)
	# The recipients in To (but the last for the Bcc case).
	_to=$(echo "$*" | sed 's/ /, /g')
	case $_what in Bcc*) _to=rcpt@example.org ;; esac
	sed "s/^To: .*/To: $_to/" "$T/multi" >"$T/refused"
	run_postseal -C "$CFG" "$@" <"$T/refused"
	assert_exit 65 "$_what"
	assert_grep_i "$_ere" "$ERR" "$_what: stderr"
	assert_eq "$(n_eml)" "$_n" "$_what: nothing delivered"
	assert_queue_empty "$_what"
}
refused "no key" 'pgp_encrypt always: no valid key for nokey@example.org \(no key\)' rcpt@example.org nokey@example.org
refused "two without keys" 'nokey@example.org \(no key\), other@example.net \(no key\)' nokey@example.org other@example.net
refused "untrusted key" 'untrusted@example.org \(not trusted\)' untrusted@example.org
refused "expired key" 'expired@example.org \(expired\)' expired@example.org
refused "revoked key" 'revoked@example.org \(revoked\)' revoked@example.org
# A Bcc recipient without a key: refused, and the To copy is not sent.
refused "Bcc without a key" 'pgp_encrypt always: no valid key for nokey@example.org \(no key\)' rcpt@example.org nokey@example.org

# 4b. A Bcc recipient with a key gets a copy of its own: neither copy
#     names the other's key (RFC 3156 leaves key IDs in the clear).
gr --quick-gen-key 'Bcc <bcc@example.org>' default default 1y >/dev/null 2>&1
BF=$(fpr "$R" bcc@example.org)
gr --export "$BF" | gs --import 2>/dev/null
gs --quick-lsign-key "$BF" 2>/dev/null
keyids() { # encrypted part -> the encryption subkey IDs, sorted
	gpg --homedir "$S" --list-packets "$1" 2>/dev/null |
	    sed -n 's/.*:pubkey enc packet:.*keyid \([0-9A-F]*\).*/\1/p' | sort
}
subkey() { # home addr -> encryption subkey ID
	gpg --homedir "$1" --with-colons --list-keys "$2" |
	    awk -F: '$1 == "sub" && $12 ~ /e/ { print $5; exit }'
}
conf "pgp_sign $SF" "pgp_encrypt always"
_n=$(n_eml)
run_postseal -C "$CFG" rcpt@example.org bcc@example.org <"$T/multi"
assert_exit 0 "Bcc with a key"
assert_eq "$(n_eml)" $((_n + 2)) "Bcc: two copies delivered"
for f in $(ls -tr "$SPOOL"/*.eml | tail -n 2); do
	"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$f" "$T/pb"
	ids=$(keyids "$T/pb/2.body" | tr '\n' ' ')
	if gr --decrypt "$T/pb/2.body" >"$T/db" 2>"$T/db.err" &&
	    grep -q "$(subkey "$R" rcpt@example.org)" "$T/db.err"; then
		who=rcpt other=bcc
	else
		who=bcc other=rcpt
	fi
	assert_same_file "$T/db" "$T/multi.entity" "Bcc: the $who copy decrypts"
	want=$(printf '%s\n%s\n' "$(subkey "$S" sender@example.org)" \
	    "$(subkey "$S" $who@example.org)" | sort | tr '\n' ' ')
	assert_eq "$ids" "$want" "Bcc: the $who copy is for $who and the sender only"
	assert_no_grep "$(subkey "$S" $other@example.org)" "$T/db.err" "Bcc: the $who copy names no $other key"
done
assert_queue_empty "Bcc copies"

# 5. opportunistic: a recipient without a key gets a signed message.
conf "pgp_sign $SF" "pgp_encrypt opportunistic"
sed 's/^To: .*/To: rcpt@example.org, nokey@example.org/' "$T/multi" >"$T/opp"
run_postseal -C "$CFG" rcpt@example.org nokey@example.org <"$T/opp"
assert_exit 0 "opportunistic without a key"
_n4=$(n_eml)
assert_grep_i '^Content-Type: multipart/signed' "$SPOOL/$_n4.eml" "opportunistic falls back to signing"
assert_grep_i 'not encrypted: no valid key for nokey@example.org' "$ERR" "opportunistic says why"

# 6. A locked key: pgp_passphrase_eval through the loopback pinentry;
#    without it a clear refusal, never a prompt.
gs --quick-gen-key 'Locked <locked@example.org>' default default 1y >/dev/null 2>&1
LF=$(fpr "$S" locked@example.org)
gs --passphrase 'Pgp-Pass-77' --change-passphrase "$LF" 2>/dev/null ||
    gpg --homedir "$S" --batch --yes --pinentry-mode loopback --passphrase-fd 3 \
	--change-passphrase "$LF" 3<<EOP 2>/dev/null
Pgp-Pass-77
EOP
GNUPGHOME=$S gpgconf --kill gpg-agent
gpg_agent_up "$S"
conf "pgp_sign $LF"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi" </dev/null
assert_exit 78 "locked key without pgp_passphrase_eval"
assert_grep_i 'locked.*pgp_passphrase_eval' "$ERR" "locked key: stderr"
assert_delivered 6 "locked key: nothing sent"
printf 'Pgp-Pass-77\n' >"$T/pp"
conf "pgp_sign $LF" "pgp_passphrase_eval cat $T/pp"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_exit 0 "locked key with pgp_passphrase_eval"
assert_delivered 7
"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$SPOOL/7.eml" "$T/p5"
gs --verify "$T/p5/2.body" "$T/p5/1" 2>"$T/v5" || fail "locked key: bad signature"
assert_no_secret x Pgp-Pass-77 "$ERR" "$OUT"

# 7. autocrypt on: the sender's key in an Autocrypt header gpg imports.
conf "pgp_sign $SF" "autocrypt on"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_exit 0 "autocrypt"
assert_delivered 8
assert_grep '^Autocrypt: addr=sender@example.org; keydata=' "$SPOOL/8.eml" "Autocrypt header"
"$PYTHON" -c 'import re, sys, base64
h = open(sys.argv[1], "rb").read().split(b"\r\n\r\n")[0]
m = re.search(rb"Autocrypt: addr=[^;]*; keydata=((?:\r\n [A-Za-z0-9+/=]+)+)", h)
sys.stdout.buffer.write(base64.b64decode(re.sub(rb"\s", b"", m.group(1))))' \
    "$SPOOL/8.eml" >"$T/ac.key" || fail "Autocrypt keydata not base64"
gpg --show-keys --with-colons "$T/ac.key" 2>/dev/null | grep -q "$SF" ||
    fail "Autocrypt keydata is not the sender's key"

# 7b. -odq, then a queue run: the queue holds the encrypted bytes (no
#     clear text on disk) and the run sends them unchanged.
conf "pgp_sign $SF" "pgp_encrypt always"
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/multi"
assert_exit 0 "-odq encrypted"
assert_delivered 8 "-odq: nothing sent yet"
grep -r -q 'figures are attached' "$QUEUE" && fail "clear text in the queue"
grep -r -q -- '-----BEGIN PGP MESSAGE-----' "$QUEUE" || fail "no OpenPGP message in the queue"
run_postseal -C "$CFG" -q
assert_exit 0 "queue run"
assert_delivered 9
"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$SPOOL/9.eml" "$T/p9"
gr --decrypt "$T/p9/2.body" >"$T/d9" 2>/dev/null || fail "queue run: decrypt"
assert_same_file "$T/d9" "$T/multi.entity" "queue run: decrypted entity"
assert_queue_empty "after the queue run"

# 8. Configuration checked at load (the message is held, never sent
#    unprotected: see postseal(1), a configuration that cannot be used).
conf "pgp_encrypt sometimes"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_grep 'pgp_encrypt: expected never, opportunistic or always' "$ERR" "bad policy"
conf "pgp_encrypt always" "smime_encrypt always"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_grep_fixed 'the OpenPGP (pgp_*) and S/MIME (smime_*) settings exclude each other' "$ERR" "pgp and smime together"
conf "autocrypt on"
run_postseal -C "$CFG" rcpt@example.org <"$T/multi"
assert_grep 'autocrypt needs pgp_sign' "$ERR" "autocrypt without a key"
assert_delivered 9 "bad configurations: nothing sent"

# 9. --doctor reports the signing key: ok, a warning within 30 days of
#    its expiry, an error when it has none usable.  Its DNS checks ask
#    the test's nameserver only.
. "$top_srcdir/tests/e2e/nameserver.sh"
ns_zone example.org <<'EOF2'
@	TXT	"v=spf1 -all"
EOF2
ns_start
gs --quick-gen-key 'Soon <soon@example.org>' default default 10d >/dev/null 2>&1 ||
    hard_error "gpg --quick-gen-key (soon)"
conf "pgp_sign $SF" "dns_server 127.0.0.1:$NS_PORT"
run_postseal -C "$CFG" --doctor
assert_grep "^e2e: ok: pgp_sign $SF: " "$OUT" "doctor: signing key ok"
conf "pgp_sign soon@example.org" "dns_server 127.0.0.1:$NS_PORT"
run_postseal -C "$CFG" --doctor
assert_grep "^e2e: warning: pgp_sign soon@example.org: .*expires in [0-9]+ days" \
    "$OUT" "doctor: key expiring within 30 days"
conf "pgp_sign nobody@example.org" "dns_server 127.0.0.1:$NS_PORT"
run_postseal -C "$CFG" --doctor
assert_exit 1 "doctor: no signing key"
assert_grep "^e2e: error: pgp_sign nobody@example.org" "$OUT" \
    "doctor: missing signing key is an error"
dkim_done
