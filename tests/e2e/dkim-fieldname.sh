#!/bin/sh
# DKIM and white space before a field's colon (issue 8, item 10):
# "Subject : x" and "Subject<TAB>: x" are obsolete syntax (RFC 5322 4.5.3)
# that Postfix rewrites to "Subject: x".  postseal must sign what arrives:
# signed with simple/simple (and relaxed/relaxed), sent through a real
# Postfix (a private instance with Dovecot SASL, tests/e2e/postfix_env.sh,
# relaying to smtpd.py), every signature verifies with dkimpy at the
# receiving side.
#
# Needs root, Debian's postfix, dovecot-core and python3-dkim; skips (77)
# otherwise.  Never calls /usr/sbin/sendmail; only processes started here,
# stopped at the end.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "DKIM signing"
. "$(dirname "$0")/postfix_env.sh"
pf_require
"$PYTHON" -c 'import dkim, nacl.signing' 2>/dev/null ||
    skip "needs python3-dkim and python3-nacl"
make_ca
pf_start dkuser Dk-Pw.8

"$POSTSEAL" --dkim-keygen --type rsa --domain example.com --selector rs \
    --out "$T/rs.key" >"$T/rs.rec" || hard_error "dkim-keygen rsa"
"$POSTSEAL" --dkim-keygen --type ed25519 --domain example.com --selector ed \
    --out "$T/ed.key" >"$T/ed.rec" || hard_error "dkim-keygen ed25519"

n=0
for canon in simple/simple relaxed/relaxed; do
	n=$((n + 1))
	{
		printf 'account dk\nhost localhost\nport %s\ntls on\n' \
		    "$PF_STARTTLS_PORT"
		printf 'tls_starttls on\ntls_trust_file %s\n' "$CA/ca.pem"
		printf 'auth on\nuser dkuser\npassword Dk-Pw.8\n'
		printf 'domain client.example.com\nfrom joe@example.com\n'
		printf 'queue_dir %s\ndkim_domain example.com\n' "$QUEUE"
		printf 'dkim_canon %s\ndkim_key rs rsa %s\n' "$canon" "$T/rs.key"
		printf 'dkim_key ed ed25519 %s\naccount default : dk\n' "$T/ed.key"
	} | write_config
	printf 'From: Joe <joe@example.com>\nTo : Sue <sue@example.org>\nSubject : spaced %s\nCc\t: tabbed@example.org\nDate \t : Tue, 14 Nov 2023 22:13:20 +0000\nX-Plain: unchanged\n\nbody\n' \
	    "$n" >"$T/msg"
	run_postseal -C "$CFG" sue@example.org <"$T/msg"
	assert_exit 0 "$canon: submitted to Postfix"
	i=0
	while [ $i -lt 300 ] && [ ! -s "$FINAL_SPOOL/$n.eml" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	f=$FINAL_SPOOL/$n.eml
	if [ ! -s "$f" ]; then
		fail "$canon: nothing arrived through Postfix"
		pf_dump
		continue
	fi
	assert_grep "^Received: from client\\.example\\.com" "$f" \
	    "$canon: it went through Postfix"
	assert_grep "^Subject: spaced $n$(printf '\r')\$" "$f" "$canon: Subject: as received"
	assert_grep "^Cc: tabbed@example.org$(printf '\r')\$" "$f" "$canon: Cc: as received"
	"$PYTHON" "$top_srcdir/tests/data/dkim/pyverify.py" "$f" \
	    "rs._domainkey.example.com=$T/rs.rec" \
	    "ed._domainkey.example.com=$T/ed.rec" >"$T/py.out" 2>&1
	RC=$?
	sed 's/^/  /' "$T/py.out"
	assert_exit 0 "$canon: dkimpy at the receiving side"
	assert_eq "$(grep -c ': pass ' "$T/py.out")" 2 "$canon: both signatures pass"
done
e2e_done
