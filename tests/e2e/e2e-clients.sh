#!/bin/sh
# End-to-end protection (issue 15) of messages as real mail clients write
# them: mutt with a binary attachment, and PHP's mail() with a MIME body
# built by the script, each captured from the client's own sendmail call.
# Through pgp_sign and pgp_encrypt always, the recipient decrypts the
# entity (the Content-* fields and the body) byte for byte, the inner
# signature is good, and DKIM verifies on what the server received.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
need_cmd gpg
need_cmd gpgconf
need_cmd mutt
need_cmd php
dkim_keygen rsa rs

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

start_server --tls none
{ base_config plain
printf 'dkim_domain example.com\ndkim_key rs rsa %s\n' "$T/rs.key"
printf 'gpg_home %s\npgp_sign %s\npgp_encrypt always\n' "$S" "$SF"; } | write_config

# The clients' sendmail: keep what they hand over.
printf '#!/bin/sh\ncat >"$CAPTURE"\n' >"$T/capture"
chmod +x "$T/capture"
head -c 3000 /dev/urandom >"$T/att.bin"
printf 'The figures are attached.\n\n-- \nSender\n' >"$T/body.txt"

# mutt, batch mode, its own MIME encoder (base64 for the attachment).
mkdir -p "$HOME"
CAPTURE=$T/mutt.eml EMAIL=sender@example.org \
    mutt -n -F /dev/null -e "set sendmail=\"$T/capture\"" \
	-e 'set from="Sender <sender@example.org>"' -e 'set use_from=yes' \
	-e 'set send_charset=us-ascii' -e 'set hostname=example.org' \
	-s 'mutt figures' -a "$T/att.bin" -- rcpt@example.org \
	<"$T/body.txt" >"$T/mutt.out" 2>&1 ||
    hard_error "mutt: $(cat "$T/mutt.out")"
[ -s "$T/mutt.eml" ] || hard_error "mutt handed over nothing"
grep -qi '^Content-Type: multipart/mixed' "$T/mutt.eml" ||
    hard_error "mutt wrote no multipart: $(head -20 "$T/mutt.eml")"

# PHP mail() with a MIME body, as web applications write it.
CAPTURE=$T/php.eml php -n -d sendmail_path="$T/capture" -r '
$b = "php-b0undary-" . bin2hex(random_bytes(6));
$att = chunk_split(base64_encode(file_get_contents($argv[1])));
$body = "This is a multi-part message in MIME format.\r\n\r\n--$b\r\n"
    . "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    . "Your order is attached.\r\n\r\n--$b\r\n"
    . "Content-Type: application/pdf; name=\"order.pdf\"\r\n"
    . "Content-Transfer-Encoding: base64\r\n"
    . "Content-Disposition: attachment; filename=\"order.pdf\"\r\n\r\n"
    . $att . "\r\n--$b--\r\n";
$h = "From: Shop <sender@example.org>\r\nMIME-Version: 1.0\r\n"
    . "Content-Type: multipart/mixed;\r\n boundary=\"$b\"";
exit(mail("rcpt@example.org", "php order", $body, $h) ? 0 : 1);
' "$T/att.bin" >"$T/php.out" 2>&1 || hard_error "php mail(): $(cat "$T/php.out")"
[ -s "$T/php.eml" ] || hard_error "php handed over nothing"

# What the protected entity must be: the client's Content-* fields, folded
# lines and all, the empty line, the body; CRLF.
entity() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import sys
raw = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
head, body = raw.split(b"\n\n", 1)
fields = []
for line in head.split(b"\n"):
    if line[:1] in (b" ", b"\t") and fields:
        fields[-1] += b"\n" + line
    else:
        fields.append(line)
content = [f for f in fields if f.lower().startswith(b"content-")]
out = b"\n".join(content) + b"\n\n" + body
open(sys.argv[2], "wb").write(out.replace(b"\n", b"\r\n"))
EOF
}

n=0
for c in mutt php; do
	n=$((n + 1))
	entity "$T/$c.eml" "$T/$c.entity"
	run_postseal -C "$CFG" rcpt@example.org <"$T/$c.eml"
	assert_exit 0 "$c: pgp_sign + pgp_encrypt always"
	assert_delivered $n
	E=$SPOOL/$n.eml
	"$PYTHON" "$top_srcdir/tests/e2e/mimeparts.py" "$E" "$T/p$n"
	assert_grep_i '^Content-Type: multipart/encrypted;' "$T/p$n/headers" "$c: encrypted"
	assert_no_grep 'attached' "$E" "$c: no clear text on the wire"
	gr --decrypt "$T/p$n/2.body" >"$T/$c.dec" 2>"$T/$c.err" ||
	    fail "$c: rcpt cannot decrypt: $(cat "$T/$c.err")"
	assert_same_file "$T/$c.dec" "$T/$c.entity" "$c: decrypted entity = the client's"
	assert_grep 'Good signature from "Sender' "$T/$c.err" "$c: inner signature"
	assert_crlf "$E"
	verify_everywhere "$E" "$c: encrypted, then DKIM"
done
# The attachment itself, decoded from the decrypted entity, is the file.
"$PYTHON" - "$T/mutt.dec" "$T/att.bin" <<'EOF' || fail "mutt: attachment differs after decryption"
import email, sys
m = email.message_from_bytes(b"MIME-Version: 1.0\r\n" + open(sys.argv[1], "rb").read())
parts = [p for p in m.walk() if p.get_filename()]
sys.exit(0 if parts and parts[0].get_payload(decode=True) == open(sys.argv[2], "rb").read() else 1)
EOF
dkim_done
