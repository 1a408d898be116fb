#!/bin/sh
# demo.sh -- the README quick start, runnable by hand: sh tests/e2e/demo.sh
#
# Makes a throw-away CA, starts smtpd.py on 127.0.0.1 with STARTTLS and
# AUTH, writes a postseal config for it, pipes a sample message through
# postseal ($POSTSEAL, default src/postseal of the repo or build tree) and
# prints the message as the server received it.  Exits non-zero on any
# failure (77 if a tool it needs is missing).
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${top_srcdir:=$top}"
: "${top_builddir:=$top}"
export top_srcdir top_builddir
. "$here/lib.sh"
e2e_init
make_ca

# 1. A submission server on loopback: STARTTLS, AUTH PLAIN/LOGIN.
start_server --tls starttls --user demo --password 'demo-password'
echo "demo: smtpd.py listening on 127.0.0.1 port $PORT (STARTTLS, AUTH)"

# 2. A config in postseal's (msmtp's) syntax; mode 0600 as it holds a
#    password.
write_config <<CONF
defaults
tls on
tls_starttls on
tls_trust_file $CA/ca.pem
queue_dir $QUEUE

account demo
host 127.0.0.1
port $PORT
from demo@example.org
auth on
user demo
password demo-password

account default : demo
CONF
echo "demo: config $CFG:"
sed 's/^password .*/password ********/; s/^/    /' "$CFG"

# 3. Send a message, as a program calling sendmail would.
cat >"$T/msg" <<'MSG'
To: Friend <friend@example.org>
Bcc: secret-copy@example.org
Subject: Hello from postseal

This message went through postseal, over TLS, with SASL AUTH.
.
A lone dot above did not end it.
MSG
echo "demo: running: $POSTSEAL -C $CFG -t < message"
run_postseal -C "$CFG" -t <"$T/msg"
if [ "$RC" != 0 ]; then
	echo "demo: postseal failed with exit status $RC" >&2
	exit 1
fi

# 4. What the server received.
if [ ! -f "$SPOOL/1.eml" ]; then
	echo "demo: the server received nothing" >&2
	exit 1
fi
echo "demo: the server received, from $(json_get "$SPOOL/1.json" mail_from) to $(json_get "$SPOOL/1.json" rcpt_tos)"
echo "      (TLS: $(json_get "$SPOOL/1.json" tls_version), AUTH: $(json_get "$SPOOL/1.json" auth_mech) as $(json_get "$SPOOL/1.json" auth_user)):"
tr -d '\r' <"$SPOOL/1.eml" | sed 's/^/    | /'
exit 0
