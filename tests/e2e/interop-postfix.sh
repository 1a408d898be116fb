#!/bin/sh
# Real-MTA interop: Postfix (submission with STARTTLS, certificate from
# the test CA) with Dovecot SASL (PLAIN, LOGIN, SCRAM-SHA-256), both
# started by this test on 127.0.0.1 with private configuration, queue and
# state directories; Postfix relays what it accepts to smtpd.py, whose
# spool is checked.  postseal submits with SCRAM-SHA-256, PLAIN, LOGIN
# and "auth on" (which must pick SCRAM-SHA-256, the strongest offered),
# plus a wrong password (77), and per-recipient delivery (issue 8, item
# 2): one of two recipients refused (exit 0, relayed to the other, a
# notice listing only the refused one), both refused (67, nothing
# relayed), and Postfix's smtpd_recipient_limit (452 4.5.3 after 3): 7
# recipients in 3 transactions.
#
# Needs root and Debian's postfix and dovecot-core; skips (77) otherwise.
# Never calls /usr/sbin/sendmail and touches no system service: only
# processes started here, all stopped at the end.
#
# Channel binding: Dovecot 2.3 (bookworm) has no SCRAM-*-PLUS (added in
# 2.4), and Postfix passes no channel binding to its SASL back ends, so
# -PLUS cannot be tested against a real server here; scram.sh tests it
# against smtpd.py's independent implementation.
. "$(dirname "$0")/lib.sh"
e2e_init
[ "$(id -u)" = 0 ] || skip "needs root to run Postfix and Dovecot"
PFSBIN=/usr/lib/postfix/sbin
[ -x "$PFSBIN/master" ] || skip "postfix is not installed"
command -v dovecot >/dev/null 2>&1 || skip "dovecot-core is not installed"
id postfix >/dev/null 2>&1 || skip "no postfix user"
id dovecot >/dev/null 2>&1 || skip "no dovecot user"
make_ca
# Postfix and Dovecot drop privileges: they must be able to reach $T.
chmod 755 "$T"
chmod 644 "$CA/server.key"

# 1. The final destination: smtpd.py, plaintext, no AUTH.
start_server --name final --tls none --no-pipelining
FINAL_PORT=$PORT
FINAL_SPOOL=$SPOOL

# 2. Dovecot: only the auth service, on a TCP port for Postfix.
AUTH_PORT=$(free_port)
DV=$T/dovecot
mkdir -p "$DV/run" "$DV/state"
printf 'pfuser:{PLAIN}Interop-Pw.5::::::\n' >"$DV/passwd"
chmod 644 "$DV/passwd"
cat >"$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/log
info_log_path = $DV/log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login scram-sha-256
auth_verbose = yes
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DV/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  inet_listener auth-inet {
    address = 127.0.0.1
    port = $AUTH_PORT
  }
}
service anvil {
  chroot =
}
CONF
dovecot -c "$DV/dovecot.conf" -F >"$DV/stdout" 2>&1 &
track_pid $!

# 3. Postfix: a private instance (config, queue and data directories).
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
myhostname = mx.interop.test
mydomain = interop.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
relayhost = [127.0.0.1]:$FINAL_PORT
smtp_tls_security_level = none
smtp_host_lookup = native
smtp_dns_support_level = disabled
maillog_file = $PF/maillog
maillog_file_prefixes = $T
smtpd_tls_cert_file = $CA/server.pem
smtpd_tls_key_file = $CA/server.key
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTH_PORT
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = reject_non_fqdn_recipient, check_recipient_access inline:{ refused@example.org=REJECT, refused2@example.org=REJECT }, permit
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
broken_sasl_auth_clients = no
message_size_limit = 10240000
smtpd_recipient_limit = 3
CONF
cat >"$PF/conf/master.cf" <<CONF
127.0.0.1:$SUB_PORT inet n - n - - smtpd
pickup    unix  n - n 60  1 pickup
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
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
local     unix  - n n -   - local
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
# "postfix check" creates the queue directories with their owners.
# (Its errors go to syslog or maillog_file, not to stderr.)
postfix -c "$PF/conf" check >"$PF/check.out" 2>&1 ||
    { cat "$PF/check.out" "$PF/maillog" 2>/dev/null; hard_error "postfix check failed"; }
"$PFSBIN/master" -c "$PF/conf" -d >"$PF/master.out" 2>&1 &
track_pid $!

# Wait for both to listen.
wait_port() {
	"$PYTHON" -c 'import socket, sys, time
end = time.time() + 15
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)' "$1"
}
wait_port "$AUTH_PORT" || { cat "$DV/stdout" "$DV/log" 2>/dev/null; hard_error "dovecot did not start"; }
wait_port "$SUB_PORT" || { cat "$PF/master.out" "$PF/maillog" 2>/dev/null; hard_error "postfix did not start"; }

dump_interop() {
	for f in "$PF/maillog" "$DV/log" "$PF/master.out"; do
		[ -s "$f" ] && { echo "---- $f"; tail -n 30 "$f"; }
	done
}

# wait_spool N: up to 30 s for N messages at the final server.
wait_spool() {
	i=0
	while [ $i -lt 300 ]; do
		c=$(ls "$FINAL_SPOOL"/*.eml 2>/dev/null | wc -l)
		[ "$c" -ge "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

PORT=$SUB_PORT
RECORD=$T/none.record
: >"$RECORD"
n=0
for auth in scram-sha-256 plain login on; do
	n=$((n + 1))
	{ base_config starttls pfuser Interop-Pw.5; echo "auth $auth"; } |
	    write_config
	printf 'To: Rcpt <rcpt@example.org>\nBcc: hidden@example.org\nSubject: interop %s\n\nvia Postfix with %s\n.\n..dots\n' \
	    "$auth" "$auth" >"$T/msg"
	run_postseal -C "$CFG" -t <"$T/msg"
	assert_exit 0 "postfix, auth $auth"
	if ! wait_spool $n; then
		fail "auth $auth: nothing arrived through Postfix"
		dump_interop
		continue
	fi
	M=$FINAL_SPOOL/$n.eml
	assert_header "$M" Subject "^interop $auth\$"
	assert_header "$M" Received 'mx\.interop\.test'
	assert_header "$M" Message-ID '^<[^<> ]+@[^<> ]+>$'
	assert_header "$M" Date '[0-9]{4}'
	assert_no_header "$M" Bcc
	printf 'via Postfix with %s\r\n.\r\n..dots\r\n' "$auth" >"$T/want"
	eml_part "$M" body >"$T/got"
	assert_same_file "$T/got" "$T/want" "body through Postfix ($auth)"
	got=$("$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' "$FINAL_SPOOL/$n.json")
	assert_eq "$got" "hidden@example.org rcpt@example.org" "recipients through Postfix ($auth)"
	want_mech=$(echo "$auth" | tr 'a-z' 'A-Z')
	[ "$auth" = on ] && want_mech=SCRAM-SHA-256
	assert_grep "sasl_method=$want_mech, sasl_username=pfuser" "$PF/maillog" "Postfix log (mechanism for auth $auth)"
done

# A wrong password is refused by Dovecot: 77, nothing relayed.
{ base_config starttls pfuser Wrong-Pw.5; echo 'auth scram-sha-256'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 77 "postfix, wrong password"
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool after a wrong password"

# rcpts_of N: the sorted recipients of message N at the final server.
rcpts_of() {
	"$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' \
	    "$FINAL_SPOOL/$1.json"
}

# Both recipients refused by Postfix: 67, naming them; nothing relayed,
# nothing kept (the caller keeps the mail).
{ base_config starttls pfuser Interop-Pw.5; } | write_config
run_postseal -C "$CFG" refused@example.org refused2@example.org <"$T/msg"
assert_exit 67 "postfix, every recipient refused"
assert_grep 'refused@example\.org.*554' "$ERR" "stderr names refused@"
assert_eq "$(find "$QUEUE" -mindepth 2 -maxdepth 2 -type d | wc -l)" 0 \
    "queue entries after every recipient was refused"
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool after the refusals"

# One of two refused: relayed to the other, exit 0, the refused one
# named on stderr and in a notice (through Postfix too) listing only it.
{ base_config starttls pfuser Interop-Pw.5; } | write_config
run_postseal -C "$CFG" rcpt@example.org refused2@example.org <"$T/msg"
assert_exit 0 "postfix, one recipient refused"
assert_grep 'refused2@example\.org.*554 5\.7\.1' "$ERR" \
    "stderr names the refused recipient with Postfix's reply"
if wait_spool $((n + 2)); then
	for k in $((n + 1)) $((n + 2)); do
		case $(rcpts_of $k) in
		rcpt@example.org) ;;
		sender@example.org)
			N=$FINAL_SPOOL/$k.eml
			assert_eq "$(grep -c '^Final-Recipient:' "$N")" 1 \
			    "notice via Postfix: recipient blocks"
			assert_grep '^Final-Recipient: rfc822; refused2@example.org' \
			    "$N" "notice via Postfix: the refused recipient"
			assert_grep '^Diagnostic-Code: smtp; 554 5\.7\.1' "$N" \
			    "notice via Postfix: Postfix's diagnostic"
			assert_no_grep '^Final-Recipient: .*rcpt@' "$N" \
			    "notice via Postfix (the accepted recipient)"
			;;
		*) fail "message $k via Postfix: recipients $(rcpts_of $k)" ;;
		esac
	done
else
	fail "one refused: the message and the notice did not both arrive"
	dump_interop
fi
n=$((n + 2))
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool: one copy each"

# smtpd_recipient_limit 3: Postfix answers 452 4.5.3 to the 4th RCPT; 7
# recipients go in 3 transactions (3, 3, 1), all relayed, exit 0.
run_postseal -C "$CFG" l1@example.org l2@example.org l3@example.org \
    l4@example.org l5@example.org l6@example.org l7@example.org <"$T/msg"
assert_exit 0 "postfix, 7 recipients, limit 3"
assert_no_grep '[Qq]ueued|[Rr]efused' "$ERR" "stderr (7 recipients)"
if wait_spool $((n + 3)); then
	got=$(for k in $((n + 1)) $((n + 2)) $((n + 3)); do rcpts_of $k; done |
	    tr ' ' '\n' | sort | tr '\n' ' ')
	assert_eq "$got" "l1@example.org l2@example.org l3@example.org l4@example.org l5@example.org l6@example.org l7@example.org " \
	    "recipients of the 3 transactions"
else
	fail "7 recipients: not all 3 transactions arrived"
	dump_interop
fi
sizes=$(for k in $((n + 1)) $((n + 2)) $((n + 3)); do
	[ -f "$FINAL_SPOOL/$k.json" ] && rcpts_of $k | wc -w
done | sort -n | tr '\n' ' ')
assert_eq "$sizes" "1 3 3 " "transaction sizes (Postfix's limit of 3)"
n=$((n + 3))
sleep 1
assert_file_count "$FINAL_SPOOL" '*.eml' "$n" "final spool at the end"
assert_no_secret pfuser Interop-Pw.5 "$ERR" "$OUT"
[ "$FAILS" -gt 0 ] && dump_interop
e2e_done
