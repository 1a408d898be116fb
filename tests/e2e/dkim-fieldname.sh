#!/bin/sh
# DKIM and white space before a field's colon (issue 8, item 10):
# "Subject : x" and "Subject<TAB>: x" are obsolete syntax (RFC 5322 4.5.3)
# that Postfix rewrites to "Subject: x".  postseal must sign what arrives:
# signed with simple/simple (and relaxed/relaxed), sent through a real
# Postfix (a private instance, as in interop-postfix.sh, relaying to
# smtpd.py), every signature verifies with dkimpy at the receiving side.
#
# Needs root, Debian's postfix, python3-dkim; skips (77) otherwise.  Never
# calls /usr/sbin/sendmail; only processes started here, stopped at the end.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "DKIM signing"
[ "$(id -u)" = 0 ] || skip "needs root to run Postfix"
PFSBIN=/usr/lib/postfix/sbin
[ -x "$PFSBIN/master" ] || skip "postfix is not installed"
id postfix >/dev/null 2>&1 || skip "no postfix user"
"$PYTHON" -c 'import dkim, nacl.signing' 2>/dev/null ||
    skip "needs python3-dkim and python3-nacl"
chmod 755 "$T"

start_server --name final --tls none --no-pipelining
FINAL_SPOOL=$SPOOL

SUB_PORT=$(free_port)
PF=$T/postfix
mkdir -p "$PF/conf" "$PF/queue" "$PF/data"
chown postfix "$PF/data"
cat >"$PF/conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
command_directory = /usr/sbin
daemon_directory = $PFSBIN
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.fieldname.test
mydomain = fieldname.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$PORT
smtp_tls_security_level = none
smtp_host_lookup = native
smtp_dns_support_level = disabled
maillog_file = $PF/maillog
maillog_file_prefixes = $T
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
CONF
cat >"$PF/conf/master.cf" <<CONF
127.0.0.1:$SUB_PORT inet n - n - - smtpd
pickup    unix  n - n 60  1 pickup
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -   - proxymap
smtp      unix  - - n -   - smtp
relay     unix  - - n -   - smtp
showq     unix  n - n -   - showq
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
postfix -c "$PF/conf" check >"$PF/check.out" 2>&1 ||
    { cat "$PF/check.out" "$PF/maillog" 2>/dev/null; hard_error "postfix check failed"; }
"$PFSBIN/master" -c "$PF/conf" -d >"$PF/master.out" 2>&1 &
track_pid $!
"$PYTHON" -c 'import socket, sys, time
end = time.time() + 15
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)' "$SUB_PORT" ||
    { cat "$PF/master.out" "$PF/maillog" 2>/dev/null; hard_error "postfix did not start"; }

"$POSTSEAL" --dkim-keygen --type rsa --domain example.com --selector rs \
    --out "$T/rs.key" >"$T/rs.rec" || hard_error "dkim-keygen rsa"
"$POSTSEAL" --dkim-keygen --type ed25519 --domain example.com --selector ed \
    --out "$T/ed.key" >"$T/ed.rec" || hard_error "dkim-keygen ed25519"

n=0
for canon in simple/simple relaxed/relaxed; do
	n=$((n + 1))
	{
		printf 'account dk\nhost 127.0.0.1\nport %s\ntls off\nauth off\n' \
		    "$SUB_PORT"
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
		tail -n 20 "$PF/maillog" 2>/dev/null
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
