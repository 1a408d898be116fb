#!/bin/sh
# mkca.sh DIR -- make a throw-away test PKI with GnuTLS certtool.
#
# Writes into DIR (created if needed), all keys ECDSA P-256:
#   ca.pem ca.key                 the test CA (trust anchor for the tests)
#   server.pem server.key         localhost, 127.0.0.1, ::1; signed by ca
#   wrongname.pem wrongname.key   only "wrong.example"; signed by ca
#   dnsonly.pem dnsonly.key       only the DNS name "localhost"; signed by ca
#   iponly.pem iponly.key         only the IP 127.0.0.1 (CN "ip only"); ca
#   expired.pem expired.key       localhost; valid 2001-01-01..2002-01-01
#   notyet.pem notyet.key         localhost; valid from 2090-01-01
#   expiring.pem expiring.key     localhost, 127.0.0.1; valid for 5 days
#   selfsigned.pem selfsigned.key localhost; self-signed, not a CA
#   ca2.pem ca2.key               a second CA that nobody trusts
#   untrusted.pem untrusted.key   localhost; signed by ca2
#   client.pem client.key         a client certificate signed by ca
#   NAME.sha256                   for every leaf NAME above (server,
#                                 wrongname, ...): SHA-256 of its DER,
#                                 64 lowercase hex digits, as certtool
#                                 prints it (a tls_fingerprint value)
# Every leaf .pem holds the leaf only (the CA is not appended).
# Exit status: 0 made, 77 certtool missing, 99 anything else.
set -eu

dir=${1:?usage: mkca.sh DIR}
if ! command -v certtool >/dev/null 2>&1; then
	echo "mkca.sh: certtool not found (apt-get install gnutls-bin)" >&2
	exit 77
fi
mkdir -p "$dir"
cd "$dir" || exit 99
trap 'echo "mkca.sh: failed" >&2; exit 99' HUP INT TERM

# Quiet certtool but keep its errors.
ct() {
	certtool "$@" >/dev/null 2>ct.err || { cat ct.err >&2; exit 99; }
}

newkey() {
	ct --generate-privkey --key-type=ecdsa --curve=secp256r1 \
	    --outfile "$1.key"
}

# tmpl NAME CN [extra template lines...]
tmpl() {
	name=$1
	cn=$2
	shift 2
	{
		echo "organization = \"postseal tests\""
		echo "cn = \"$cn\""
		echo "serial = $(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
		for line in "$@"; do
			echo "$line"
		done
	} >"$name.tmpl"
}

# leaf NAME CN SIGNER [extra template lines...]: a TLS server leaf
leaf() {
	name=$1
	cn=$2
	signer=$3
	shift 3
	newkey "$name"
	tmpl "$name" "$cn" tls_www_server signing_key encryption_key "$@"
	if [ "$signer" = self ]; then
		ct --generate-self-signed --load-privkey "$name.key" \
		    --template "$name.tmpl" --outfile "$name.pem"
	else
		ct --generate-certificate --load-privkey "$name.key" \
		    --load-ca-certificate "$signer.pem" \
		    --load-ca-privkey "$signer.key" \
		    --template "$name.tmpl" --outfile "$name.pem"
	fi
}

ca() {
	newkey "$1"
	tmpl "$1" "$2" ca cert_signing_key crl_signing_key \
	    "expiration_days = 3650"
	ct --generate-self-signed --load-privkey "$1.key" \
	    --template "$1.tmpl" --outfile "$1.pem"
}

ca ca "postseal test CA"
ca ca2 "postseal untrusted CA"

leaf server localhost ca 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' 'ip_address = "::1"' 'expiration_days = 3650'
leaf wrongname wrong.example ca 'dns_name = "wrong.example"' \
    'expiration_days = 3650'
leaf dnsonly localhost ca 'dns_name = "localhost"' 'expiration_days = 3650'
leaf iponly "ip only" ca 'ip_address = "127.0.0.1"' 'expiration_days = 3650'
leaf expired localhost ca 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' \
    'activation_date = "2001-01-01 00:00:00"' \
    'expiration_date = "2002-01-01 00:00:00"'
leaf notyet localhost ca 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' \
    'activation_date = "2090-01-01 00:00:00"' \
    'expiration_date = "2091-01-01 00:00:00"'
leaf expiring localhost ca 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' 'expiration_days = 5'
leaf selfsigned localhost self 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' 'expiration_days = 3650'
leaf untrusted localhost ca2 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' 'expiration_days = 3650'

newkey client
tmpl client "postseal test client" tls_www_client signing_key \
    'expiration_days = 3650'
ct --generate-certificate --load-privkey client.key \
    --load-ca-certificate ca.pem --load-ca-privkey ca.key \
    --template client.tmpl --outfile client.pem

# Fingerprints of the leaves for the tls_fingerprint tests.
for name in server wrongname dnsonly iponly expired notyet expiring \
    selfsigned untrusted; do
	certtool --certificate-info --infile "$name.pem" 2>/dev/null |
	    sed -n '/Fingerprint:/,/sha256:/s/^[[:space:]]*sha256:[[:space:]]*//p' |
	    head -n 1 >"$name.sha256"
	grep -Eq '^[0-9a-f]{64}$|^([0-9a-f]{2}:){31}[0-9a-f]{2}$' "$name.sha256" ||
	    { echo "mkca.sh: no fingerprint for $name" >&2; exit 99; }
done

chmod 600 ./*.key
rm -f ./*.tmpl ct.err
exit 0
