#!/bin/sh
# An 8-bit multipart (a UTF-8 text part and a binary attachment sent as
# 8bit, beside a base64 and a 7bit part) is made 7-bit part by part: to a
# server without 8BITMIME, with -B 7BIT, and under pgp_sign (RFC 3156:
# signed content is 7-bit).  On what the server received: no 8-bit octet,
# lines <= 998 (<= 76 in re-encoded parts), the text part quoted-printable
# and the binary one base64, every part decodes to exactly its original
# bytes, the untouched parts are byte-identical, DKIM verifies (dkimpy and
# the other verifiers) and gpg --verify accepts the signature.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
dkim_keygen rsa rs

# The message, CRLF already (so reading changes nothing), and each part's
# content as the original bytes in $T/orig/N.
"$PYTHON" - "$T" <<'EOP'
import os, sys
t = sys.argv[1]
os.makedirs(t + "/orig", exist_ok=True)
text = ("Gr\u00fc\u00dfe, \u20ac 5 \u2014 na\u00efve caf\u00e9 " * 40).encode() + \
    b"\r\nline two ends in white space \t\r\n" + b"=3D not an escape\r\n.\r\n"
binary = bytes(b for b in range(256) if b not in (10, 13)) * 6 + b"\r\nend\x00\xff"
b64 = b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
ascii = b"plain ascii, left alone\r\n\r\nsecond paragraph"
parts = [
    (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n", text),
    (b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"blob.bin\"\r\nContent-Transfer-Encoding: 8bit\r\n", binary),
    (b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n", b64),
    (b"Content-Type: text/plain; charset=us-ascii\r\n", ascii),
]
m = (b"From: Sender <sender@example.org>\r\nTo: rcpt@example.org\r\n"
     b"Subject: 8-bit multipart\r\nMessage-ID: <mp8@example.org>\r\n"
     b"MIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"=_mp 8bit\"\r\n"
     b"Content-Transfer-Encoding: 8bit\r\n\r\n"
     b"This is a multi-part message in MIME format.\r\n")
for n, (h, c) in enumerate(parts, 1):
    m += b"--=_mp 8bit\r\n" + h + b"\r\n" + c + b"\r\n"
    open("%s/orig/%d" % (t, n), "wb").write(c)
    open("%s/orig/%d.hdr" % (t, n), "wb").write(h)
m += b"--=_mp 8bit--\r\n"
open(t + "/msg", "wb").write(m)
# The same with lines under 998 octets and no NUL: nothing needs work
# under 8BITMIME.
short = m.replace(b"caf\xc3\xa9 Gr", b"caf\xc3\xa9\r\nGr").replace(
    b"\xfe\xff\x00", b"\xfe\xff\r\n\x00").replace(b"\x00", b"\x01")
assert not any(len(l) > 998 for l in short.split(b"\r\n"))
open(t + "/msg8", "wb").write(short)
EOP

# check_parts ENTITY: the checks above on a MIME entity (header + body).
check_parts() {
	"$PYTHON" - "$1" "$T/orig" >"$T/check.out" 2>&1 <<'EOP'
import base64, re, sys
d = open(sys.argv[1], "rb").read()
orig = sys.argv[2]
bad = []
if re.search(rb"[\x80-\xff\x00]", d):
    bad.append("8-bit octet or NUL in the message")
if any(len(l) > 998 for l in d.split(b"\r\n")):
    bad.append("a line over 998 octets")
i = d.find(b"\r\n\r\n")
head, body = d[:i + 2], d[i + 4:]
m = re.search(rb'(?im)^content-type:.*?boundary="([^"]+)"', re.sub(rb"\r\n[ \t]+", b" ", head))
pieces = (b"\r\n" + body).split(b"\r\n--" + m.group(1))
if len(pieces) != 6 or not pieces[5].startswith(b"--"):
    bad.append("not 4 parts and a close delimiter: %d" % len(pieces))
def qp(s):
    s = s.replace(b"=\r\n", b"")
    return re.sub(rb"=([0-9A-F]{2})", lambda x: bytes([int(x.group(1), 16)]), s)
for n in range(1, 5):
    p = pieces[n][2:]
    j = p.find(b"\r\n\r\n")
    h, c = p[:j + 2], p[j + 4:]
    want = open("%s/%d" % (orig, n), "rb").read()
    wanth = open("%s/%d.hdr" % (orig, n), "rb").read()
    cte = re.search(rb"(?im)^content-transfer-encoding:\s*(\S+)", h)
    cte = cte.group(1).lower() if cte else b""
    if n == 1:
        ok = cte == b"quoted-printable" and qp(c) == want and \
            all(len(l) <= 76 for l in c.split(b"\r\n")) and \
            not re.search(rb"[ \t]\r\n", c + b"\r\n")
    elif n == 2:
        ok = cte == b"base64" and base64.b64decode(c) == want and \
            all(len(l) <= 76 for l in c.split(b"\r\n"))
    else:
        ok = c == want and h == wanth
    if not ok:
        bad.append("part %d (%s) does not give the original" % (n, cte.decode()))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOP
}

# 1. A server without 8BITMIME ("smtp_8bitmime off"), DKIM signed.
start_server --name no8bit --tls none --no-8bitmime
conf() {
	{ base_config plain
	printf 'dkim_domain example.com\ndkim_key rs rsa %s\n' "$T/rs.key"
	printf '%s\n' "$@"; } | write_config
}
conf 'smtp_8bitmime off'
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "8-bit multipart, no 8BITMIME"
assert_delivered 1
E=$SPOOL/1.eml
assert_no_grep 'BODY=8BITMIME' "$SPOOL/1.json" "no BODY=8BITMIME"
ok
check_parts "$E" || fail "no 8BITMIME: $(cat "$T/check.out")"
assert_header "$E" Content-Transfer-Encoding '^7bit$'
verify_everywhere "$E" "re-encoded multipart, DKIM"

# 2. -B 7BIT to a server that has 8BITMIME.
start_server --tls none
conf
run_postseal -C "$CFG" -B 7BIT rcpt@example.org <"$T/msg"
assert_exit 0 "-B 7BIT"
assert_delivered 1
E=$SPOOL/1.eml
assert_no_grep 'BODY=8BITMIME' "$SPOOL/1.json" "-B 7BIT: no BODY=8BITMIME"
ok
check_parts "$E" || fail "-B 7BIT: $(cat "$T/check.out")"
verify_everywhere "$E" "-B 7BIT, DKIM"

# 3. With 8BITMIME the parts with lines over 998 octets are still
#    re-encoded (before, the whole body was cut every 998 octets, which
#    changed the content); an 8-bit multipart with short lines goes as it
#    is, with BODY=8BITMIME.
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "8BITMIME, long lines"
assert_delivered 2
ok
check_parts "$SPOOL/2.eml" || fail "8BITMIME, long lines: $(cat "$T/check.out")"
verify_everywhere "$SPOOL/2.eml" "8BITMIME, long lines, DKIM"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg8"
assert_exit 0 "8BITMIME"
assert_delivered 3
assert_grep 'BODY=8BITMIME' "$SPOOL/3.json" "8-bit multipart: BODY=8BITMIME"
eml_part "$SPOOL/3.eml" body >"$T/got3"
sed '1,/^\r$/d' "$T/msg8" >"$T/want3"
assert_same_file "$T/got3" "$T/want3" "8-bit multipart sent unchanged"

# 4. pgp_sign: the signed entity is 7-bit, gpg --verify accepts it, and
#    its parts decode to the originals.
if command -v gpg >/dev/null 2>&1 && command -v gpgconf >/dev/null 2>&1; then
	G=$(mktemp -d /tmp/ps-mp8.XXXXXX) || hard_error "mktemp"
	S=$G/s R=$G/r
	mkdir -m 700 "$S" "$R"
	at_cleanup "GNUPGHOME=$S gpgconf --kill all; GNUPGHOME=$R gpgconf --kill all; rm -rf $G"
	gpg_agent_up "$S"
	gpg_agent_up "$R"
	gs() { gpg --homedir "$S" --batch --yes --pinentry-mode loopback --passphrase '' "$@"; }
	gr() { gpg --homedir "$R" --batch --yes --pinentry-mode loopback --passphrase '' "$@"; }
	gs --quick-gen-key 'Sender <sender@example.org>' default default 1y >/dev/null 2>&1 ||
	    hard_error "gpg --quick-gen-key"
	SF=$(gpg --homedir "$S" --with-colons --list-keys sender@example.org |
	    awk -F: '$1 == "fpr" { print $10; exit }')
	gr --quick-gen-key 'Rcpt <rcpt@example.org>' default default 1y >/dev/null 2>&1 ||
	    hard_error "gpg --quick-gen-key (rcpt)"
	gs --export "$SF" | gr --import 2>/dev/null
	gr --quick-lsign-key "$SF" 2>/dev/null || hard_error "lsign sender key"
	conf "gpg_home $S" "pgp_sign $SF"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_exit 0 "pgp_sign, 8-bit multipart"
	assert_delivered 4
	E=$SPOOL/4.eml
	"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$E" "$T/s"
	assert_grep_i '^Content-Type: multipart/signed;' "$T/s/headers" "signed"
	gr --verify "$T/s/2.body" "$T/s/1" 2>"$T/v" || fail "gpg --verify: $(cat "$T/v")"
	assert_grep 'Good signature from "Sender <sender@example.org>"' "$T/v" "gpg --verify"
	ok
	check_parts "$T/s/1" || fail "signed entity: $(cat "$T/check.out")"
	ok
	LC_ALL=C grep -q "$(printf '[\200-\377]')" "$E" && fail "8-bit octets in the signed message"
	verify_everywhere "$E" "signed multipart, DKIM"
else
	echo "# pgp_sign case skipped: needs gpg and gpgconf"
fi
e2e_done
