#!/bin/sh
# DKIM keys and sendmail mode.  --dkim-keygen writes 0600 keys and prints
# the exact TXT record; keys written by OpenSSL are accepted; a key that is
# missing, readable by others, malformed, of the wrong type or too small is
# refused with exit 78 naming the file, both by --dkim-sign and in sendmail
# mode, where nothing is sent unsigned (unless "dkim_on_error send").  What
# the server receives from sendmail mode carries rsa then ed25519
# signatures over the completed, SMTP-safe, dot-unstuffed message, and they
# verify everywhere.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
need_cmd openssl

# ---- --dkim-keygen ----
dkim_keygen rsa rs
dkim_keygen ed25519 ed
for k in rs ed; do
	assert_eq "$(stat -c %a "$T/$k.key")" 600 "mode of $k.key"
done
assert_grep '^rs\._domainkey\.example\.com\. IN TXT \($' "$T/rs.rec"
assert_eq "$(grep -o '"[^"]*"' "$T/rs.rec" | awk 'length($0) > 257' | wc -l)" \
    0 "RSA record strings of at most 255 bytes"
assert_eq "$(grep -c '"' "$T/rs.rec")" 2 "2048-bit RSA record: two strings"
p=$(rec_text "$T/rs.rec" | sed -n 's/^v=DKIM1; k=rsa; p=//p')
want=$(openssl pkey -in "$T/rs.key" -pubout -outform DER | base64 -w 0)
assert_eq "$p" "$want" "RSA p= is the key's SubjectPublicKeyInfo"
openssl pkey -in "$T/rs.key" -noout -text >"$T/rs.txt" 2>&1
assert_grep 'Private-Key: \(2048 bit' "$T/rs.txt" "RSA key: 2048 bits"
assert_grep '^ed\._domainkey\.example\.com\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$' \
    "$T/ed.rec"
p=$(rec_text "$T/ed.rec" | sed -n 's/^v=DKIM1; k=ed25519; p=//p')
want=$(openssl pkey -in "$T/ed.key" -pubout -outform DER | tail -c 32 |
    base64 -w 0)
assert_eq "$p" "$want" "ed25519 p= is the raw 32-byte key"
assert_grep '^-----BEGIN PRIVATE KEY-----$' "$T/ed.key" "ed25519 key: PKCS#8"
run_postseal --dkim-keygen --type rsa --bits 1024 --domain example.com \
    --selector small --out "$T/small.key"
assert_exit 0 "--bits 1024"
assert_eq "$(grep -c '"' "$OUT")" 1 "1024-bit RSA record: one string"
cp "$T/rs.key" "$T/rs.copy"
run_postseal --dkim-keygen --type rsa --domain example.com --selector rs \
    --out "$T/rs.key"
assert_exit 73 "existing --out file"
assert_same_file "$T/rs.key" "$T/rs.copy" "existing key left alone"
assert_eq "$(wc -c <"$OUT")" 0 "no record printed for a failed keygen"
run_postseal --dkim-keygen --type rsa --bits 4097 --domain example.com \
    --selector x --out "$T/x.key"
assert_exit 64 "--bits 4097"
run_postseal --dkim-keygen --type ed25519 --bits 2048 --domain example.com \
    --selector x --out "$T/x.key"
assert_exit 64 "--bits with ed25519"
run_postseal --dkim-keygen --type dsa --domain example.com --selector x \
    --out "$T/x.key"
assert_exit 64 "--type dsa"
run_postseal --dkim-keygen --type rsa --domain example.com --selector 'a;b' \
    --out "$T/x.key"
assert_exit 64 "bad selector"
ok
[ -e "$T/x.key" ] && fail "a key file was left by a failed keygen"

# ---- keys written by OpenSSL ----
openssl genpkey -algorithm ed25519 -out "$T/oed.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/ors.key" 2>/dev/null
openssl genrsa -traditional -out "$T/ors1.key" 2048 2>/dev/null
chmod 600 "$T/oed.key" "$T/ors.key" "$T/ors1.key"
printf 'v=DKIM1; k=ed25519; p=%s\n' "$(openssl pkey -in "$T/oed.key" \
    -pubout -outform DER | tail -c 32 | base64 -w 0)" >"$T/oed.rec"
for k in ors ors1; do
	printf 'v=DKIM1; k=rsa; p=%s\n' "$(openssl pkey -in "$T/$k.key" \
	    -pubout -outform DER | base64 -w 0)" >"$T/$k.rec"
done
for k in oed ors ors1; do
	dkim_add_record "$k._domainkey.example.com" "$T/$k.rec"
done
assert_grep 'BEGIN RSA PRIVATE KEY' "$T/ors1.key" "PKCS#1 from genrsa"
dkim_config relaxed/relaxed oed ed25519 ors rsa ors1 rsa
printf 'From: joe@example.com\nTo: sue@example.org\nSubject: openssl keys\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <o@example.com>\n\nHi.\n' \
    >"$T/plain.in"
dkim_sign "$T/plain.in" "$T/openssl.eml" --dkim-time 1700000000
assert_eq "$(grep -c '^DKIM-Signature:' "$T/openssl.eml")" 3 \
    "three signatures"
assert_grep '^DKIM-Signature: v=1; a=ed25519-sha256' "$T/openssl.eml"
assert_eq "$(grep '^DKIM-Signature:' "$T/openssl.eml" | sed -n 3p |
    grep -c ed25519)" 1 "ed25519 below both rsa signatures"
verify_everywhere "$T/openssl.eml" "keys from openssl"

# ---- dkim_expire: x= is t= plus the configured time ----
dkim_config relaxed/relaxed oed ed25519
printf 'dkim_expire 2h\n' >>"$CFG"
dkim_sign "$T/plain.in" "$T/expire.eml" --dkim-time 1700000000
assert_grep 't=1700000000; x=1700007200;' "$T/expire.eml" "x= after t="
run_postseal --dkim-verify --dkim-time 1700000100 \
    --dns-record "oed._domainkey.example.com=$T/oed.rec" <"$T/expire.eml"
assert_exit 0 "--dkim-verify before x="
run_postseal --dkim-verify --dkim-time 1700007300 \
    --dns-record "oed._domainkey.example.com=$T/oed.rec" <"$T/expire.eml"
assert_exit 65 "--dkim-verify after x="

# ---- keys that must be refused: exit 78, naming the file ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:768 \
    -out "$T/r768.key" 2>/dev/null
head -c 400 "$T/rs.key" >"$T/trunc.key"
printf 'not a key\n' >"$T/junk.key"
cp "$T/ed.key" "$T/world.key"
cp "$T/ed.key" "$T/group.key"
chmod 600 "$T/r768.key" "$T/trunc.key" "$T/junk.key"
chmod 644 "$T/world.key"
chmod 640 "$T/group.key"
bad_key() { # NAME TYPE WHAT: the bad key alone
	dkim_config relaxed/relaxed "$1" "$2"
	run_postseal --dkim-sign -C "$CFG" <"$T/plain.in"
	assert_exit 78 "--dkim-sign, $3"
	assert_grep_fixed "$T/$1.key" "$ERR" "--dkim-sign, $3: file named"
	assert_eq "$(wc -c <"$OUT")" 0 "--dkim-sign, $3: nothing written"
}
bad_key missing rsa "missing key"
bad_key world ed25519 "key readable by others"
bad_key group ed25519 "key readable by the group"
bad_key junk ed25519 "garbage key"
bad_key trunc rsa "truncated PEM"
bad_key ed rsa "ed25519 key given as rsa"
bad_key rs ed25519 "rsa key given as ed25519"
bad_key r768 rsa "768-bit RSA key"
assert_grep "key of 768 bits" "$ERR" "768-bit RSA key: size named (not only the file name r768.key)"
# One bad key of two: still refused, nothing half-signed.
dkim_config relaxed/relaxed ed ed25519 missing rsa
run_postseal --dkim-sign -C "$CFG" <"$T/plain.in"
assert_exit 78 "--dkim-sign, one good and one missing key"
assert_eq "$(wc -c <"$OUT")" 0 "one good and one missing key: nothing written"

# ---- sendmail mode ----
start_server --tls none
sendmail_config() { # KEY-LINES...
	{
		base_config plain | sed '/^account default/d'
		printf 'dkim_domain example.com\n'
		for l in "$@"; do
			printf '%s\n' "$l"
		done
		printf '\naccount default : test\n'
	} | write_config
}
long=$(awk 'BEGIN { for (i = 0; i < 120; i++) printf "0123456789" }')
printf 'To: rcpt@example.org\nSubject: from sendmail mode\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n.leading dot\n.\n..\nGr\303\274\303\237e\n%s\n' \
    "$long" >"$T/sm.in"
sendmail_config "dkim_key rs rsa $T/rs.key" "dkim_key ed ed25519 $T/ed.key"
run_postseal -C "$CFG" -i rcpt@example.org <"$T/sm.in"
assert_exit 0 "sendmail mode, signed"
assert_delivered 1 "sendmail mode: received"
assert_eq "$(sed -n 1p "$SPOOL/1.eml" | grep -c 'a=rsa-sha256')" 1 \
    "received: rsa-sha256 topmost"
assert_eq "$(grep -c '^DKIM-Signature:' "$SPOOL/1.eml")" 2 \
    "received: two signatures"
tr -d '\r\n ' <"$SPOOL/1.eml" | grep -o 'h=[^;]*;' | sed -n 1p \
    >"$T/h"
assert_grep 'date' "$T/h" "completed Date signed"
assert_grep 'message-id' "$T/h" "completed Message-ID signed"
assert_grep '^\.leading dot' "$SPOOL/1.eml" "dot line kept"
assert_grep "^\\.$(printf '\r')\$" "$SPOOL/1.eml" "lone dot kept"
assert_grep "^\\.\\.$(printf '\r')\$" "$SPOOL/1.eml" "double dot kept"
verify_everywhere "$SPOOL/1.eml" "received from sendmail mode"
sendmail_config "dkim_key rs rsa $T/missing.key" \
    "dkim_key ed ed25519 $T/ed.key"
run_postseal -C "$CFG" rcpt@example.org <"$T/sm.in"
assert_exit 78 "sendmail mode, missing key"
assert_grep_fixed "$T/missing.key" "$ERR" "sendmail mode: file named"
assert_file_count "$SPOOL" '*.eml' 1 "nothing sent unsigned"
sendmail_config "dkim_key rs rsa $T/world.key" "dkim_on_error send"
run_postseal -C "$CFG" rcpt@example.org <"$T/sm.in"
assert_exit 0 "sendmail mode, bad key, dkim_on_error send"
assert_grep_i 'dkim' "$ERR" "dkim_on_error send: warning"
assert_file_count "$SPOOL" '*.eml' 2 "sent unsigned as configured"
assert_delivered 2
assert_no_grep '^DKIM-Signature:' "$SPOOL/2.eml" "sent unsigned"
dkim_done
