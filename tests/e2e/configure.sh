#!/bin/sh
# postseal --configure ADDRESS [--write] (issue 16).  nsd on loopback
# serves the SRV records (RFC 6186/8314) and the addresses of the
# autoconfig hosts; a loopback HTTPS server (Python's http.server with a
# certificate of the test CA) serves the autoconfig documents by Host.
# --https-port points the fetch at the port the test chose (the URLs
# name port 443, which only root could bind and which another test could
# hold); --dns-server at nsd, --dns-trust-anchor at the signed zone's DS,
# --trust-file at the test CA.  DNSSEC-validated SRV records beat the
# document, which beats SRV records that are not validated.  Checked: SRV
# implicit TLS preferred to the document's STARTTLS, the sources named,
# the username template used, the second URL (.well-known) used when
# autoconfig.DOMAIN has no address, a "." target read as not offered;
# the errors (no server, malformed, DOCTYPE, HTTP 404, an oversized
# body, a certificate of another CA) with their text and exit code;
# --write creating the file mode 0600 and refusing to overwrite it; and
# the written account delivering a message to smtpd.py.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only
make_ca
XDG_CONFIG_HOME=$T/xdg
export XDG_CONFIG_HOME

# A certificate for the autoconfig hosts, from the test CA.
cat >"$T/ac.tmpl" <<'EOF'
cn = "autoconfig"
dns_name = "autoconfig.mail.test"
dns_name = "ac.test"
dns_name = "autoconfig.bad.test"
dns_name = "autoconfig.doctype.test"
dns_name = "autoconfig.http404.test"
dns_name = "autoconfig.http500.test"
dns_name = "autoconfig.big.test"
dns_name = "autoconfig.plain.test"
dns_name = "autoconfig.sec.test"
tls_www_server
expiration_days = 30
EOF
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
    --outfile "$T/ac.key" >/dev/null 2>&1 &&
    certtool --generate-certificate --load-privkey "$T/ac.key" \
	--load-ca-certificate "$CA/ca.pem" --load-ca-privkey "$CA/ca.key" \
	--template "$T/ac.tmpl" --outfile "$T/ac.pem" >/dev/null 2>&1 ||
    hard_error "cannot make the autoconfig certificate"

# The smarthost: implicit TLS, a password.
start_server --tls implicit --user alice --password Pw-alice-7 \
    --auth-required
SMTP_PORT=$PORT

ns_init
ns_zone mail.test <<EOF
_submissions._tcp	SRV	10 0 $SMTP_PORT localhost.
_submissions._tcp	SRV	20 0 465 backup.mail.test.
_submission._tcp	SRV	0 0 587 smtp.mail.test.
autoconfig	A	127.0.0.1
EOF
ns_zone ac.test <<'EOF'
@	A	127.0.0.1
EOF
ns_zone weight.test <<'EOF'
_submissions._tcp	SRV	5 1 465 light.weight.test.
_submissions._tcp	SRV	5 9 465 heavy.weight.test.
_submissions._tcp	SRV	9 99 465 later.weight.test.
EOF
ns_zone dot.test <<'EOF'
_submissions._tcp	SRV	0 0 0 .
_submission._tcp	SRV	0 0 0 .
EOF
# Signed: SRV implicit TLS validated by DNSSEC, and a document naming
# another implicit TLS server.
ns_zone sec.test <<EOF
_submissions._tcp	SRV	0 0 $SMTP_PORT localhost.
autoconfig	A	127.0.0.1
EOF
ns_sign sec.test
for z in bad doctype http404 http500 big plain; do
	printf 'autoconfig\tA\t127.0.0.1\n' | ns_zone $z.test
done
ns_start

# The HTTPS server: the document for the Host asked.
cat >"$T/acd.py" <<'EOF'
import http.server, ssl, sys
cert, key, portfile = sys.argv[1:4]
DOC = """<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="%s">
 <outgoingServer type="smtp"><hostname>%s</hostname><port>%d</port>
  <socketType>%s</socketType>
  <authentication>password-cleartext</authentication>
  <username>%s</username></outgoingServer>
</emailProvider></clientConfig>
"""
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        code, body = 200, None
        if host == "autoconfig.mail.test" and self.path == "/mail/config-v1.1.xml":
            body = DOC % ("mail.test", "smtp.mail.test", 587, "STARTTLS",
                          "%EMAILLOCALPART%")
        elif host == "ac.test" and self.path == "/.well-known/autoconfig/mail/config-v1.1.xml":
            body = DOC % ("ac.test", "smtp.ac.test", 465, "SSL",
                          "%EMAILADDRESS%")
        elif host == "autoconfig.sec.test":
            body = DOC % ("sec.test", "smtps.sec.test", 465, "SSL",
                          "%EMAILADDRESS%")
        elif host == "autoconfig.plain.test":
            body = DOC % ("plain.test", "smtp.plain.test", 25, "plain",
                          "%EMAILADDRESS%")
        elif host == "autoconfig.bad.test":
            body = "<clientConfig version=\"1.1\"><emailProvider>"
        elif host == "autoconfig.doctype.test":
            body = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
                    "<clientConfig/>")
        elif host == "autoconfig.http500.test":
            code, body = 500, "broken"
        elif host == "autoconfig.big.test":
            body = "<clientConfig>" + " " * 100000 + "</clientConfig>"
        else:
            code, body = 404, "not here"
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.headers.get("Host"), fmt % a))
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
EOF
"$PYTHON" "$T/acd.py" "$T/ac.pem" "$T/ac.key" "$T/acd.port" \
    >"$T/acd.out" 2>&1 &
track_pid $!
_n=0
while [ ! -s "$T/acd.port" ]; do
	_n=$((_n + 1))
	[ $_n -gt 200 ] && { cat "$T/acd.out" >&2; hard_error "acd.py did not listen"; }
	sleep 0.05
done
HTTPS_PORT=$(cat "$T/acd.port")

conf() {
	run_postseal --configure "$@" --dns-server "127.0.0.1:$NS_PORT" \
	    --trust-file "$CA/ca.pem" --https-port "$HTTPS_PORT"
}

# SRV _submissions wins over the document's STARTTLS server; the user
# comes from the document's template.
conf alice@mail.test
assert_exit 0 "SRV and autoconfig"
assert_grep_fixed "host localhost" "$OUT" "SRV target (priority 10 first)"
assert_grep_fixed "port $SMTP_PORT" "$OUT" "SRV port"
assert_grep_fixed "tls_starttls off" "$OUT" "implicit TLS preferred"
assert_grep_fixed 'user "alice"' "$OUT" "username template"
assert_grep_fixed 'from "alice@mail.test"' "$OUT" "from"
assert_grep_fixed "# host, port, tls (implicit TLS): from SRV _submissions._tcp.mail.test (priority 10, weight 0; DNSSEC insecure)" "$OUT" "source of the server"
assert_grep_fixed "# auth, user: from autoconfig https://autoconfig.mail.test:$HTTPS_PORT/mail/config-v1.1.xml (verified HTTPS; address DNSSEC insecure)" "$OUT" "source of the user"
assert_grep_fixed "# not used: STARTTLS smtp.mail.test:587" "$OUT" "the other offers named"
assert_grep "^# passwordeval" "$OUT" "a password to fill in"
assert_no_grep "^password" "$OUT" "no password invented"
[ ! -e "$XDG_CONFIG_HOME/postseal/config" ] || fail "a file was written without --write"
ok "nothing written without --write"

# No SRV, autoconfig.ac.test has no address: the .well-known URL.
conf bob@ac.test
assert_exit 0 "well-known autoconfig"
assert_grep_fixed "host smtp.ac.test" "$OUT" "document host"
assert_grep_fixed "port 465" "$OUT" "document port"
assert_grep_fixed 'user "bob@ac.test"' "$OUT" "address as user"
assert_grep_fixed "https://ac.test:$HTTPS_PORT/.well-known/autoconfig/mail/config-v1.1.xml" "$OUT" "second URL named"
assert_grep_fixed "autoconfig.ac.test: no address" "$ERR" "first URL's failure said"

# Two implicit TLS servers: the DNSSEC-validated SRV record wins over the
# document; without the trust anchor the SRV answer is not validated and
# the document (verified HTTPS) wins.
conf dave@sec.test --dns-trust-anchor "$NS_ANCHORS"
assert_exit 0 "signed SRV"
assert_grep_fixed "host localhost" "$OUT" "validated SRV preferred"
assert_grep_fixed "from SRV _submissions._tcp.sec.test (priority 0, weight 0; DNSSEC secure)" "$OUT" "DNSSEC status named"
assert_grep_fixed "address DNSSEC secure" "$OUT" "the document's host validated"
assert_grep_fixed "# not used: implicit TLS smtps.sec.test:465 from autoconfig" "$OUT" "document named as not used"
conf dave@sec.test
assert_exit 0 "signed SRV, no anchor"
assert_grep_fixed "host smtps.sec.test" "$OUT" "document preferred to unvalidated SRV"
assert_grep_fixed "DNSSEC insecure" "$OUT" "not validated without the anchor"

# Same priority: the heavier weight first; SRV alone: the address is the
# user.
conf carol@weight.test
assert_exit 0 "SRV only"
assert_grep_fixed "host heavy.weight.test" "$OUT" "weight honoured"
assert_grep_fixed 'user "carol@weight.test"' "$OUT" "address as user (RFC 6186)"
assert_grep_fixed "# auth, user: from no document: the address is the user" "$OUT" "user's source"

# Errors.
conf x@dot.test
assert_exit 69 "nothing offered"
assert_grep_fixed "dot.test: no submission server found" "$ERR" "no server"
assert_grep_fixed "service is not offered" "$ERR" "\".\" target"
conf x@bad.test
assert_exit 65 "malformed document"
assert_grep_fixed "malformed XML" "$ERR" "malformed"
conf x@doctype.test
assert_exit 65 "DOCTYPE"
assert_grep_i "doctype" "$ERR" "DOCTYPE refused"
conf x@http404.test
assert_exit 69 "HTTP 404: nothing there"
assert_grep_fixed "HTTP status 404" "$ERR" "HTTP error"
conf x@http500.test
assert_exit 75 "HTTP 500"
assert_grep_fixed "no submission server found (autoconfig: https://autoconfig.http500.test:$HTTPS_PORT/mail/config-v1.1.xml: HTTP status 500)" "$ERR" "HTTP error as the error"
conf x@big.test
assert_exit 75 "oversized body"
assert_grep_fixed "larger than 65536 bytes" "$ERR" "bounded body"
conf x@plain.test
assert_exit 65 "plaintext only"
assert_grep_fixed "only plaintext" "$ERR" "plaintext refused"
run_postseal --configure bob@ac.test --dns-server "127.0.0.1:$NS_PORT" \
    --trust-file "$CA/ca2.pem" --https-port "$HTTPS_PORT"
assert_exit 75 "unverified certificate"
assert_grep_i "certificate" "$ERR" "certificate error"
assert_no_grep "^host" "$OUT" "no account from an unverified server"

# --write: created 0600, never overwritten; the account works.
NEW=$T/new/config
run_postseal -C "$NEW" --configure alice@mail.test --write \
    --dns-server "127.0.0.1:$NS_PORT" --trust-file "$CA/ca.pem" \
    --https-port "$HTTPS_PORT"
assert_exit 0 "--write"
assert_eq "$(stat -c %a "$NEW")" "600" "mode 0600"
assert_grep_fixed "host localhost" "$NEW" "written account"
cp "$NEW" "$T/new.saved"
run_postseal -C "$NEW" --configure bob@ac.test --write \
    --dns-server "127.0.0.1:$NS_PORT" --trust-file "$CA/ca.pem" \
    --https-port "$HTTPS_PORT"
assert_exit 73 "never overwrite"
assert_grep_fixed "$NEW exists: postseal --configure never overwrites" "$ERR" "overwrite refused"
assert_same_file "$T/new.saved" "$NEW" "file unchanged"

# Without -C: the user's file, its directory made 0700.
conf carol@weight.test --write
assert_exit 0 "--write to the user's file"
assert_eq "$(stat -c %a "$XDG_CONFIG_HOME/postseal/config")" "600" "user file mode 0600"
assert_eq "$(stat -c %a "$XDG_CONFIG_HOME/postseal")" "700" "directory mode 0700"
assert_grep_fixed "host heavy.weight.test" "$XDG_CONFIG_HOME/postseal/config" "user file written"
conf carol@weight.test --write
assert_exit 73 "user file never overwritten"
assert_grep_fixed "exists: postseal --configure never overwrites" "$ERR" "user file: overwrite refused"

# Use it: the user adds the password (and, for the test CA, the trust
# file) as the comment says.
printf 'password Pw-alice-7\ntls_trust_file %s\nqueue_dir %s\n' \
    "$CA/ca.pem" "$QUEUE" >>"$NEW"
sample_message >"$T/msg"
run_postseal -C "$NEW" -f alice@mail.test rcpt@example.org <"$T/msg"
assert_exit 0 "send through the written account"
assert_delivered 1 "delivered through the written account"

e2e_done
