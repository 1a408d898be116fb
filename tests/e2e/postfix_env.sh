# postfix_env.sh -- a private Postfix submission server with Dovecot SASL on
# loopback, for tests and benchmarks.  Source it after lib.sh, e2e_init and
# make_ca; needs root, Debian's postfix and dovecot-core.
#
#	. "$E2E/postfix_env.sh"
#	pf_require                     (skips, 77, when something is missing)
#	pf_start USER PASSWORD         (final server, Dovecot, Postfix)
#
# pf_start starts, all on 127.0.0.1 and all tracked for cleanup:
#   1. the final destination: smtpd.py, plaintext, no AUTH (FINAL_PORT,
#      FINAL_SPOOL): Postfix relays everything it accepts there;
#   2. Dovecot's auth service only, with USER/PASSWORD in a passwd-file and
#      the mechanisms PLAIN, LOGIN and SCRAM-SHA-256 (AUTH_PORT);
#   3. Postfix with its own configuration, queue and data directories,
#      listening for submission with STARTTLS on PF_STARTTLS_PORT and with
#      implicit TLS (RFC 8314) on PF_SMTPS_PORT, the certificate from the
#      test CA, AUTH only inside TLS.  Its log is $PF/maillog.
# It never calls /usr/sbin/sendmail and touches no system service.
# PF_EXTRA_MAIN, if set, is appended to main.cf (one setting per line).

pf_require() {
	[ "$(id -u)" = 0 ] || skip "needs root to run Postfix and Dovecot"
	PFSBIN=/usr/lib/postfix/sbin
	[ -x "$PFSBIN/master" ] || skip "postfix is not installed"
	command -v dovecot >/dev/null 2>&1 || skip "dovecot-core is not installed"
	id postfix >/dev/null 2>&1 || skip "no postfix user"
	id dovecot >/dev/null 2>&1 || skip "no dovecot user"
}

# pf_wait_port PORT: up to 15 s for something to listen on PORT.
pf_wait_port() {
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

pf_dump() {
	for _f in "$PF/maillog" "$DV/log" "$PF/master.out"; do
		[ -s "$_f" ] && { echo "---- $_f"; tail -n 30 "$_f"; }
	done
}

# pf_wait_spool N: up to 30 s for N messages at the final server.
pf_wait_spool() {
	_i=0
	while [ $_i -lt 300 ]; do
		_c=$(ls "$FINAL_SPOOL"/*.eml 2>/dev/null | wc -l)
		[ "$_c" -ge "$1" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# DV_MECHS and DV_PASSDB, if set, replace the mechanisms and the passdb
# block (e.g. Dovecot's oauth2 passdb for the OAuth2 tests).  DV_SCHEME=
# SCRAM-SHA-256 stores the password as SCRAM credentials (a fixed salt,
# as a real server keeps it) instead of in plain text (from which Dovecot
# derives SCRAM with a new salt on every authentication).
pf_start_dovecot() { # USER PASSWORD
	AUTH_PORT=$(free_port)
	DV=$T/dovecot
	mkdir -p "$DV/run" "$DV/state"
	if [ -n "${DV_SCHEME:-}" ]; then
		_pw=$(doveadm pw -s "$DV_SCHEME" -p "$2") ||
		    hard_error "doveadm pw -s $DV_SCHEME failed"
		printf '%s:%s::::::\n' "$1" "$_pw" >"$DV/passwd"
	else
		printf '%s:{PLAIN}%s::::::\n' "$1" "$2" >"$DV/passwd"
	fi
	chmod 644 "$DV/passwd"
	_passdb=${DV_PASSDB:-"passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DV/passwd
}"}
	cat >"$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/log
info_log_path = $DV/log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = ${DV_MECHS:-plain login scram-sha-256}
auth_verbose = yes
default_internal_user = dovecot
default_login_user = dovenull
$_passdb
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
}

pf_main_cf() {
	cat <<CONF
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
message_size_limit = 204800000
CONF
	[ -n "${PF_EXTRA_MAIN:-}" ] && printf '%s\n' "$PF_EXTRA_MAIN"
}

pf_master_cf() {
	cat <<CONF
127.0.0.1:$PF_STARTTLS_PORT inet n - n - - smtpd
127.0.0.1:$PF_SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
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
}

pf_start() { # USER PASSWORD
	start_server --name final --tls none --no-pipelining
	FINAL_PORT=$PORT
	FINAL_SPOOL=$SPOOL
	# Postfix and Dovecot drop privileges: they must be able to reach $T.
	chmod 755 "$T"
	chmod 644 "$CA/server.key"
	pf_start_dovecot "$1" "$2"
	PF_STARTTLS_PORT=$(free_port)
	PF_SMTPS_PORT=$(free_port)
	PF=$T/postfix
	mkdir -p "$PF/conf" "$PF/queue" "$PF/data"
	chown postfix "$PF/data"
	pf_main_cf >"$PF/conf/main.cf"
	pf_master_cf >"$PF/conf/master.cf"
	# "postfix check" creates the queue directories with their owners.
	postfix -c "$PF/conf" check >"$PF/check.out" 2>&1 || {
		cat "$PF/check.out" "$PF/maillog" 2>/dev/null
		hard_error "postfix check failed"
	}
	"$PFSBIN/master" -c "$PF/conf" -d >"$PF/master.out" 2>&1 &
	track_pid $!
	pf_wait_port "$AUTH_PORT" || {
		cat "$DV/stdout" "$DV/log" 2>/dev/null
		hard_error "dovecot did not start"
	}
	for _p in "$PF_STARTTLS_PORT" "$PF_SMTPS_PORT"; do
		pf_wait_port "$_p" || {
			pf_dump
			hard_error "postfix did not start"
		}
	done
}
