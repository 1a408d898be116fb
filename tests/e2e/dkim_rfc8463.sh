#!/bin/sh
# RFC 8463 Appendix A: --dkim-sign with the RFC's keys, time and header
# list gives the RFC's bh= and signatures that verify (ours, dkimpy,
# OpenDKIM); --dkim-verify passes the RFC's own signed message and fails
# tampered copies.  (The RFC's b= values byte for byte: test_dkim.)
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
R=$DKDATA/rfc8463
BH=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=
DOMAIN=football.example.com
cp "$R/rfc8463-ed25519.key" "$T/brisbane.key"
cp "$R/rfc8463-rsa.key" "$T/test.key"
chmod 600 "$T/brisbane.key" "$T/test.key"
for s in brisbane test; do
	dkim_add_record "$s._domainkey.$DOMAIN" \
	    "$R/dns-rfc8463/$s._domainkey.$DOMAIN"
done
dkim_config relaxed/relaxed brisbane ed25519 test rsa

# Signing: the RFC's bh=, rsa topmost, t= and h= as asked.
dkim_sign "$R/rfc8463-unsigned.eml" "$T/signed.eml" --dkim-time 1528637909 \
    --dkim-headers from:to:subject:date:message-id:from:subject:date
assert_eq "$(grep -c "bh=$BH;" "$T/signed.eml")" 2 "bh= of both signatures"
assert_grep '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;' \
    "$T/signed.eml" "first field"
assert_eq "$(sed -n 1p "$T/signed.eml" | grep -c 'a=rsa-sha256')" 1 \
    "rsa-sha256 topmost"
assert_eq "$(grep -c 't=1528637909;' "$T/signed.eml")" 2 "t="
assert_eq "$(tr -d '\r\n ' <"$T/signed.eml" |
    grep -o 'h=from:to:subject:date:message-id:from:subject:date;' |
    wc -l)" 2 "h="
# Everything after the signatures is the input, byte for byte.
sed -n '/^From:/,$p' "$T/signed.eml" >"$T/rest"
assert_same_file "$T/rest" "$R/rfc8463-unsigned.eml" \
    "message after the signatures"
verify_everywhere "$T/signed.eml" "RFC 8463 message signed by postseal"

# Ed25519 alone (the second key on its own gives the same field again:
# Ed25519 is deterministic).
dkim_config relaxed/relaxed brisbane ed25519
dkim_sign "$R/rfc8463-unsigned.eml" "$T/ed.eml" --dkim-time 1528637909 \
    --dkim-headers from:to:subject:date:message-id:from:subject:date
sed -n '/a=ed25519/,/^From:/p' "$T/signed.eml" | sed '$d' >"$T/ed-two"
sed '/^From:/,$d' "$T/ed.eml" >"$T/ed-one"
assert_same_file "$T/ed-one" "$T/ed-two" "deterministic Ed25519 field"
verify_everywhere "$T/ed.eml" "RFC 8463 message, ed25519 only"

# The RFC's own signed message verifies everywhere.
verify_everywhere "$R/rfc8463-message.eml" "RFC 8463 signed message"
assert_grep '^signature 1: pass d=football.example.com s=brisbane a=ed25519-sha256$' \
    "$T/ours.out"
assert_grep '^signature 2: pass d=football.example.com s=test a=rsa-sha256$' \
    "$T/ours.out"

# Tampered copies fail.
M=$R/rfc8463-message.eml
tamper "$M" "$T/t-body.eml" 's/We lost the game/We won the game/'
verify_fails "$T/t-body.eml" "body changed"
assert_eq "$(grep -c 'body hash mismatch' "$T/ours.out")" 2 "body changed: why"
tamper "$M" "$T/t-subject.eml" 's/^Subject: Is dinner ready?/Subject: Is lunch ready?/'
verify_fails "$T/t-subject.eml" "Subject changed"
assert_eq "$(grep -c 'signature does not verify' "$T/ours.out")" 2 \
    "Subject changed: why"
tamper "$M" "$T/t-from.eml" 's/^From: Joe/From: Mallory <m@evil.example>\r\nFrom: Joe/'
verify_fails "$T/t-from.eml" "second From added"
tamper "$M" "$T/t-date.eml" '/^Date:/d'
verify_fails "$T/t-date.eml" "Date removed"
tamper "$M" "$T/t-b.eml" 's/^ b=F45dVWDf/ b=F45dVWDg/'
verify_fails "$T/t-b.eml" "rsa b= changed"
assert_grep '^signature 1: pass ' "$T/ours.out" "ed25519 still passes"
assert_grep '^signature 2: fail ' "$T/ours.out" "rsa fails"
{ cat "$M"; printf 'P.S. send money\r\n'; } >"$T/t-append.eml"
verify_fails "$T/t-append.eml" "line appended to the body"
{ cat "$M"; printf '\r\n\r\n'; } >"$T/t-blank.eml"
verify_everywhere "$T/t-blank.eml" "empty lines appended (relaxed body)"

# Offline means offline: a record not given is a failure, not a lookup.
run_postseal --dkim-verify --dns-record \
    "brisbane._domainkey.$DOMAIN=$R/dns-rfc8463/brisbane._domainkey.$DOMAIN" \
    <"$M"
assert_exit 65 "one record missing"
assert_grep '^signature 2: fail .*no TXT record' "$OUT"
# A message without a signature does not pass.
run_postseal --dkim-verify <"$R/rfc8463-unsigned.eml"
assert_exit 65 "unsigned message"
assert_grep 'no DKIM-Signature' "$OUT"
run_postseal --dkim-verify --dns-record nonsense <"$M"
assert_exit 64 "--dns-record without ="
dkim_done
