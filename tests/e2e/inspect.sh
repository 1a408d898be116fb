#!/bin/sh
# postseal --inspect (issue 14) on real messages: submitted by postseal
# through a real Postfix (tests/e2e/postfix_env.sh; STARTTLS, so its
# Received field states TLS), signed by postseal (rsa and ed25519) or by
# dkimpy as another signer, forwarded with an ARC set (dkimpy), then
# "received" here with a Return-Path and the receiver's
# Authentication-Results; tampered and spoofed in each red-flag way.  The
# DNS data (DKIM keys, SPF, DMARC, PTR/A) comes from nsd on loopback
# (tests/e2e/nameserver.sh).  Every expected finding is asserted in the
# text and in --json (parsed with python3).
#
# Needs root, postfix, dovecot-core, nsd, openssl, python3-dkim,
# python3-authres, python3-nacl and the publicsuffix list; skips (77)
# otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only "--inspect"
. "$(dirname "$0")/postfix_env.sh"
pf_require
"$PYTHON" -c 'import dkim, authres, nacl.signing' 2>/dev/null ||
    skip "needs python3-dkim, python3-authres and python3-nacl"
command -v openssl >/dev/null 2>&1 || skip "needs openssl"
[ -r /usr/share/publicsuffix/public_suffix_list.dat ] ||
    skip "needs the publicsuffix package"
SIGN="$top_srcdir/tests/data/inspect/sign.py"

# Keys: postseal's own (rsa rs, ed25519 ed), a 1024-bit key for the other
# signer (py: weak on purpose), the forwarder's ARC key.
"$POSTSEAL" --dkim-keygen --type rsa --domain example.com --selector rs \
    --out "$T/rs.key" >"$T/rs.rec" || hard_error "dkim-keygen rsa"
"$POSTSEAL" --dkim-keygen --type ed25519 --domain example.com --selector ed \
    --out "$T/ed.key" >"$T/ed.rec" || hard_error "dkim-keygen ed25519"
openssl genrsa -traditional -out "$T/py.key" 1024 2>/dev/null ||
    hard_error "openssl genrsa"
openssl genrsa -traditional -out "$T/arc.key" 2048 2>/dev/null ||
    hard_error "openssl genrsa"
pub() { openssl rsa -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }

ns_zone example.com <<EOF2
@	TXT	"v=spf1 ip4:127.0.0.1 -all"
_dmarc	TXT	"v=DMARC1; p=reject"
client	A	127.0.0.1
py._domainkey	TXT	"v=DKIM1; k=rsa; p=$(pub "$T/py.key")"
$(cat "$T/rs.rec")
$(cat "$T/ed.rec")
EOF2
ns_zone example.net <<EOF2
@	TXT	"v=spf1 -all"
arc._domainkey	TXT	( "v=DKIM1; k=rsa; p=$(pub "$T/arc.key" | cut -c1-200)"
	"$(pub "$T/arc.key" | cut -c201-)" )
EOF2
ns_zone paypa1.com <<'EOF2'
@	TXT	"v=spf1 -all"
EOF2
ns_start

make_ca
PF_EXTRA_MAIN="smtpd_tls_received_header = yes"
pf_start insuser Ins-Pw.9
{
	for acct in dk plain; do
		printf 'account %s\nhost localhost\nport %s\ntls on\n' \
		    "$acct" "$PF_STARTTLS_PORT"
		printf 'tls_starttls on\ntls_trust_file %s\n' "$CA/ca.pem"
		printf 'auth on\nuser insuser\npassword Ins-Pw.9\n'
		printf 'domain client.example.com\nfrom joe@example.com\n'
		printf 'queue_dir %s\ntimeout 5\n' "$QUEUE"
		printf 'dns_server 127.0.0.1:%s\n' "$NS_PORT"
		if [ $acct = dk ]; then
			printf 'dkim_domain example.com\ndkim_key rs rsa %s\n' \
			    "$T/rs.key"
			printf 'dkim_key ed ed25519 %s\n' "$T/ed.key"
		fi
	done
	printf 'account default : plain\n'
} | write_config

N=0
# send ACCOUNT NAME: $T/NAME.msg through Postfix; the delivered bytes go
# to $T/NAME.sent.  (Not in a pipeline: the checks count in this shell.)
send() {
	N=$((N + 1))
	run_postseal -C "$CFG" -a "$1" bob@example.org <"$T/$2.msg"
	assert_exit 0 "$2: submitted to Postfix"
	_i=0
	while [ $_i -lt 300 ] && [ ! -s "$FINAL_SPOOL/$N.eml" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$FINAL_SPOOL/$N.eml" ] || { pf_dump; hard_error "$2: nothing arrived"; }
	cp "$FINAL_SPOOL/$N.eml" "$T/$2.sent"
}

# receive NAME ENVELOPE RESULTS: what the receiving side stores, the
# Return-Path and its Authentication-Results on top; $T/NAME.eml.
receive() {
	printf 'Return-Path: <%s>\r\nAuthentication-Results: mx.interop.test; %s\r\n' \
	    "$2" "$3" >"$T/$1.eml"
	cat "$T/$1.sent" >>"$T/$1.eml"
}

# inspect NAME: text into $OUT, --json into $T/NAME.json
inspect() {
	run_postseal -C "$CFG" --inspect "$T/$1.eml"
	cp "$OUT" "$T/$1.txt"
	sed 's/^/  | /' "$OUT"
	"$POSTSEAL" -C "$CFG" --inspect --json <"$T/$1.eml" >"$T/$1.json" 2>&1
	"$PYTHON" -m json.tool "$T/$1.json" >/dev/null ||
	    fail "$1: --json is not JSON"
}

# jq NAME EXPR: a Python expression on the parsed report j.
jq() {
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$T/$1.json" "$2"
}

# flag NAME KIND: the text of the red flags of KIND (--json: not wrapped).
flag() {
	jq "$1" "' | '.join(f['text'] for f in j['flags'] if f['kind'] == '$2')"
}

msg() { # SUBJECT [FROM] [EXTRA-HEADER]
	printf 'From: %s\nTo: Bob <bob@example.org>\nSubject: %s\n' \
	    "${2:-Joe <joe@example.com>}" "$1"
	printf 'Date: Tue, 1 Dec 2026 10:00:00 +0000\nMessage-ID: <%s@example.com>\n' \
	    "$(echo "$1" | tr ' ' -)"
	[ -n "${3:-}" ] && printf '%s\n' "$3"
	printf '\nHello Bob,\nthe report is attached.\n'
}

GOOD='dkim=pass header.d=example.com; spf=pass smtp.mailfrom=joe@example.com; dmarc=pass header.from=example.com'

# 1. Signed by postseal, through Postfix with TLS: authenticated, aligned.
msg "good" >"$T/good.msg"
send dk good
receive good joe@example.com "$GOOD"
inspect good
assert_exit 0 "good: exit 0 for authenticated and aligned"
assert_eq "$(head -1 "$T/good.txt")" "verdict: authenticated and aligned" "good: verdict line first"
assert_grep_fixed '  1* from client.example.com (localhost [127.0.0.1]) by mx.interop.test with' "$T/good.txt" "good: the Postfix hop, the boundary marked"
assert_grep '^      ESMTPSA TLSv1\.[23] TLS_' "$T/good.txt" "good: protocol, TLS version and cipher"
assert_grep_fixed 'boundary: hop 1 (*), 127.0.0.1, reverse DNS localhost (forward-confirmed)' "$T/good.txt" "good: boundary address and its reverse DNS"
assert_grep 'dkim 1: pass d=example.com s=rs a=rsa-sha256' "$T/good.txt" "good: rsa signature verifies"
assert_grep 'dkim 2: pass d=example.com s=ed a=ed25519-sha256' "$T/good.txt" "good: ed25519 signature verifies"
assert_grep_fixed 'spf: pass for 127.0.0.1 as joe@example.com' "$T/good.txt" "good: SPF of the boundary address"
assert_grep_fixed 'dmarc: pass for example.com (p=reject; aligned DKIM)' "$T/good.txt" "good: DMARC"
assert_grep_fixed 'receiver recorded pass too' "$T/good.txt" "good: recorded results shown"
assert_grep_fixed 'red flags: none' "$T/good.txt" "good: no red flags"
assert_eq "$(awk 'length > 80' "$T/good.txt" | wc -l)" 0 "good: text fits 80 columns"
assert_no_grep "$(printf '\033')" "$T/good.txt" "good: no colour when not a terminal"
assert_eq "$(jq good 'j["verdict"]')" authenticated-aligned "good: json verdict"
assert_eq "$(jq good '[d["result"] for d in j["dkim"]]')" "['pass', 'pass']" "good: json dkim"
assert_eq "$(jq good 'j["hops"][0]["ip"], j["hops"][0]["boundary"], j["hops"][0]["tls"][:4]')" "('127.0.0.1', True, 'TLSv')" "good: json hop"
assert_eq "$(jq good 'j["spf"]["result"], j["dmarc"]["result"], j["dmarc"]["policy"]')" "('pass', 'pass', 'reject')" "good: json spf, dmarc"
assert_eq "$(jq good 'j["receiver"], j["identities"]["envelope"]')" "('mx.interop.test', 'joe@example.com')" "good: json receiver, envelope"
assert_eq "$(jq good 'j["dns_lookups"] <= 60')" True "good: lookups within the budget"

# Colour only on a terminal (script(1) gives it one), and not with NO_COLOR.
if command -v script >/dev/null 2>&1; then
	script -qec "\"$POSTSEAL\" -C \"$CFG\" --inspect \"$T/good.eml\"" /dev/null >"$T/tty.out" 2>&1
	assert_grep "$(printf '\033')\\[32mverdict: authenticated and aligned" "$T/tty.out" "tty: the verdict in green"
	NO_COLOR=1 script -qec "\"$POSTSEAL\" -C \"$CFG\" --inspect \"$T/good.eml\"" /dev/null >"$T/tty2.out" 2>&1
	assert_no_grep "$(printf '\033')" "$T/tty2.out" "tty: NO_COLOR is honoured"
fi

# The same message saved as one mbox message with LF line ends.
{ printf 'From joe@example.com Tue Dec  1 10:00:00 2026\n'; tr -d '\r' <"$T/good.eml"; } >"$T/mbox.eml"
inspect mbox
assert_eq "$(jq mbox 'j["verdict"], [d["result"] for d in j["dkim"]], j["hops"][0]["ip"]')" "('authenticated-aligned', ['pass', 'pass'], '127.0.0.1')" "mbox: From line dropped, LF read as CRLF"

# 2. The body changed after signing: a body-hash failure, and it differs
# from what the receiver recorded.
sed 's/the report is attached/the report is NOT attached/' "$T/good.eml" >"$T/body.eml"
inspect body
assert_grep 'dkim 1: fail d=example.com s=rs a=rsa-sha256: body hash mismatch' "$T/body.txt" "body: body-hash failure"
assert_grep_fixed 'receiver recorded pass: differs' "$T/body.txt" "body: differs from the recorded result"
assert_eq "$(jq body '[d["problem"] for d in j["dkim"]]')" "['body', 'body']" "body: json problem"
assert_eq "$(jq body 'j["dkim"][0]["recorded"]')" pass "body: json recorded"

# 3. A signed header changed: a signature failure, not a body one.
sed 's/^Subject: good/Subject: g00d/' "$T/good.eml" >"$T/hdr.eml"
inspect hdr
assert_grep 'dkim 1: fail .*signature does not verify' "$T/hdr.txt" "hdr: signature failure"
assert_eq "$(jq hdr '[d["problem"] for d in j["dkim"]]')" "['header', 'header']" "hdr: json problem"
assert_eq "$(jq hdr 'j["verdict"]')" authenticated-aligned "hdr: still aligned through SPF"

# 4. Another signer (dkimpy) with a 1024-bit key, h=from only and l=.
msg "other signer" | "$PYTHON" "$SIGN" dkim "$T/py.key" py example.com from 1 \
    >"$T/other.msg"
send plain other
receive other joe@example.com "$GOOD"
inspect other
assert_grep 'dkim 1: pass d=example.com s=py a=rsa-sha256' "$T/other.txt" "other: dkimpy's signature verifies"
assert_match "$(flag other dkim-coverage)" 'DKIM signature 1 \(d=example\.com\) does not cover subject' "other: Subject not covered"
assert_match "$(flag other dkim-coverage)" 'does not cover to:' "other: To not covered"
assert_match "$(flag other dkim-l)" 'DKIM signature 1 \(d=example\.com\) has l=' "other: l= flagged"
assert_match "$(flag other dkim-weak-key)" 'DKIM key py\._domainkey\.example\.com is an RSA key shorter than 2048 bits \(1024\)' "other: weak key"
assert_eq "$(jq other 'j["dkim"][0]["covers"], j["dkim"][0]["weak_key"]')" "({'from': True, 'subject': False, 'to': False}, True)" "other: json coverage and key"

# 5. Forwarded with ARC by a list at example.net: the chain is intact.
"$PYTHON" "$SIGN" arc "$T/arc.key" arc example.net mx.interop.test <"$T/good.eml" >"$T/arc.eml"
inspect arc
assert_grep_fixed 'arc: chain pass, last cv=none: 1 seal and the latest message' "$T/arc.txt" "arc: dkimpy's seal and message signature verify"
assert_eq "$(jq arc 'j["arc"]["chain"], j["arc"]["cv"]')" "('pass', 'none')" "arc: json"
# A second hop of the list: cv=pass over both sets.
{ printf 'Authentication-Results: fwd2.example.net; arc=pass\r\n'; cat "$T/arc.eml"; } |
    "$PYTHON" "$SIGN" arc "$T/arc.key" arc example.net fwd2.example.net >"$T/arc2.eml"
inspect arc2
assert_eq "$(jq arc2 'j["arc"]["chain"], j["arc"]["cv"], j["arc"]["detail"]')" "('pass', 'pass', '2 seals and the latest message signature verify')" "arc2: two sets verify"
# Changed after the forwarder sealed it: the message signature fails.
sed 's/^Subject: good/Subject: changed/' "$T/arc.eml" >"$T/arcmod.eml"
inspect arcmod
assert_match "$(jq arcmod 'j["arc"]["chain"], j["arc"]["detail"]')" "^\\('fail', 'ARC-Message-Signature i=1: fail d=example.net s=arc a=rsa-sha256: signature does not verify" "arcmod: the change is found"
"$PYTHON" - "$T/arc.eml" "$T/arcbroken.eml" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
d = re.sub(rb"ARC-Seal:.*?\r\n(?=\S)", b"", d, count=1, flags=re.S)
open(sys.argv[2], "wb").write(d)
PY
inspect arcbroken
assert_grep_fixed 'arc: chain broken' "$T/arcbroken.txt" "arc: a missing ARC-Seal breaks the chain"

# 6. Spoofs, each sent through Postfix unsigned.
msg "display" '"security@paypal.com" <joe@example.com>' >"$T/display.msg"
send plain display
receive display joe@example.com 'spf=pass smtp.mailfrom=joe@example.com'
inspect display
assert_match "$(flag display display-name)" 'From display name "security@paypal\.com" holds an address that is not the sender'"'"'s \(joe@example\.com\)' "display: flagged"
assert_grep_fixed '  display-name: From display name "security@paypal.com" holds' "$T/display.txt" "display: in the text report"
assert_eq "$(awk 'length > 80' "$T/display.txt" | wc -l)" 0 "display: wrapped at 80 columns"

msg "lookalike" 'PayPal <service@paypa1.com>' >"$T/lookalike.msg"
send plain lookalike
receive lookalike bounce@paypa1.com 'spf=fail smtp.mailfrom=bounce@paypa1.com'
inspect lookalike
assert_exit 1 "lookalike: exit 1"
assert_eq "$(head -1 "$T/lookalike.txt")" "verdict: forged-looking (1 red flag)" "lookalike: verdict"
assert_match "$(flag lookalike lookalike)" 'From domain paypa1\.com is 1 edit from paypal\.com' "lookalike: edit distance"
assert_grep_fixed 'spf: fail for 127.0.0.1 as bounce@paypa1.com' "$T/lookalike.txt" "lookalike: SPF fails now too"
assert_eq "$(jq lookalike '[f["kind"] for f in j["flags"]]')" "['lookalike']" "lookalike: json flags"

msg "punycode" 'Joe <joe@xn--exmple-cua.com>' >"$T/puny.msg"
send plain puny
receive puny joe@example.com 'spf=pass smtp.mailfrom=joe@example.com'
inspect puny
assert_match "$(flag puny idn)" 'From domain xn--exmple-cua\.com is an internationalised \(punycode\) name' "puny: flagged"
assert_match "$(flag puny return-path)" 'envelope sender joe@example\.com is on example\.com, unrelated to From' "puny: envelope unrelated"

# An IDN homograph: "paypal" with a Cyrillic "a".
msg "homograph" 'PayPal <service@xn--pypal-4ve.com>' >"$T/homograph.msg"
send plain homograph
receive homograph bounce@example.com 'spf=pass smtp.mailfrom=bounce@example.com'
inspect homograph
assert_match "$(flag homograph idn)" '^From domain xn--pypal-4ve\.com mixes scripts \(latin\+cyrillic\) in one label; it reads as paypal\.com$' "homograph: mixed scripts"
assert_match "$(flag homograph lookalike)" 'From domain xn--pypal-4ve\.com reads as paypal\.com: letters of another script imitate it' "homograph: the imitated domain"
assert_eq "$(jq homograph 'j["verdict"]')" forged-looking "homograph: verdict"

msg "replyto" "" 'Reply-To: collect@example.net' >"$T/replyto.msg"
send dk replyto
receive replyto joe@example.com "$GOOD"
inspect replyto
assert_match "$(flag replyto reply-to)" 'Reply-To collect@example\.net is on example\.net, unrelated to From'"'"'s example\.com' "replyto: flagged"
assert_eq "$(head -1 "$T/replyto.txt")" "verdict: authenticated and aligned (1 red flag)" "replyto: verdict keeps the count"

# A forged hop below the real one, dated after it.
msg "hops" "" 'Received: from a.example.com by b.example.com with SMTP; Tue, 1 Dec 2099 10:00:00 +0000' \
    >"$T/hops.msg"
send plain hops
receive hops joe@example.com 'spf=pass smtp.mailfrom=joe@example.com'
inspect hops
assert_match "$(flag hops hop-order)" 'Received hop 2 \(by mx\.interop\.test\) is dated [0-9]* s before the hop it came from \(by b\.example\.com\)' "hops: out of order"

# Links and attachments: an HTML link whose text shows another host, a
# zip holding an executable (found by name in its central directory), a
# macro-enabled document.
"$PYTHON" - "$T/mime.msg" <<'PY'
import io, sys, zipfile
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Joe <joe@example.com>"
m["To"] = "Bob <bob@example.org>"
m["Subject"] = "invoice"
m["Date"] = "Tue, 1 Dec 2026 10:00:00 +0000"
m["Message-ID"] = "<invoice@example.com>"
m.set_content("The invoice is attached.")
m.add_alternative('<p>Pay at <a href="https://pay.example.net/x">'
                  'https://www.example.com/pay</a> or <a '
                  'href="https://example.com/ok">example.com</a></p>',
                  subtype="html")
z = io.BytesIO()
with zipfile.ZipFile(z, "w") as zf:
    zf.writestr("readme.txt", "hi")
    zf.writestr("invoice.pdf.exe", "MZ")
m.add_attachment(z.getvalue(), maintype="application", subtype="zip",
                 filename="invoice.zip")
m.add_attachment(b"PK", maintype="application",
                 subtype="vnd.ms-word.document.macroEnabled.12",
                 filename="report.docm")
open(sys.argv[1], "wb").write(bytes(m))
PY
send dk mime
receive mime joe@example.com "$GOOD"
inspect mime
assert_match "$(flag mime link)" '^a link shows www\.example\.com but goes to pay\.example\.net$' "mime: the deceptive link, not the honest one"
assert_match "$(flag mime attachment)" 'invoice\.zip holds invoice\.pdf\.exe: an executable' "mime: an executable inside the zip"
assert_match "$(flag mime attachment)" 'attachment report\.docm: an executable, script or macro-enabled' "mime: a macro-enabled document"
assert_no_grep 'readme\.txt' "$T/mime.txt" "mime: harmless names are not flagged"
assert_eq "$(jq mime 'j["verdict"], j["body_scan_partial"]')" "('authenticated-aligned', False)" "mime: verdict and a complete scan"

# The receiving organisation delivers internally (imap.example.org, whose
# Authentication-Results these are): its relay mx.interop.test is outside
# unless --trusted-hosts names it.
{
	printf 'Return-Path: <joe@example.com>\r\n'
	printf 'Authentication-Results: imap.example.org; spf=pass smtp.mailfrom=joe@example.com\r\n'
	printf 'Received: from mx.interop.test (mx.interop.test [192.0.2.25])\r\n\tby imap.example.org (Dovecot) with LMTP id 7; Wed, 2 Dec 2099 10:00:00 +0000\r\n'
	cat "$T/good.sent"
} >"$T/internal.eml"
inspect internal
assert_eq "$(jq internal 'j["boundary"]["hop"], j["boundary"]["ip"]')" "(2, '192.0.2.25')" "internal: without --trusted-hosts the relay is the boundary"
run_postseal -C "$CFG" --inspect --json --trusted-hosts interop.test,example.net "$T/internal.eml"
cp "$OUT" "$T/internal.json"
assert_eq "$(jq internal 'j["boundary"]["hop"], j["boundary"]["ip"], j["spf"]["result"]')" "(1, '127.0.0.1', 'pass')" "internal: --trusted-hosts moves the boundary to the first outside hop"

# The receiver computed something else than now: DNS changed since.
receive good joe@example.com 'dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=joe@example.com; dmarc=fail'
inspect good
assert_grep_fixed 'receiver recorded softfail: differs' "$T/good.txt" "differs: SPF"
assert_eq "$(jq good 'j["spf"]["recorded"], j["dmarc"]["recorded"]')" "('softfail', 'fail')" "differs: json"

# Hostile input: no message, and a file that does not exist.
: >"$T/empty.eml"
run_postseal -C "$CFG" --inspect "$T/nosuch.eml"
assert_exit 66 "missing file: EX_NOINPUT"
assert_grep_fixed 'nosuch.eml' "$ERR" "missing file: named"
run_postseal -C "$CFG" --inspect --ip 127.0.0.1
assert_exit 64 "--ip does not go with --inspect"
e2e_done
