#!/bin/sh
# The cron daemons' argv and stdin, replayed exactly (issue 9): Debian
# cron (one recipient, and MAILTO=a,b as one argument), cronie (-t -f
# user), systemd-cron.  "From: root (Cron Daemon)" and "To: root" leave
# qualified, the comment kept as the display name; without maildomain or
# /etc/mailname, the machine's fully qualified name is the domain (a
# short one: no-fqdn.sh).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "local address qualification"
. "$E2E/callers_common.sh"
install_prefix
start_server --tls none
# No "from": the envelope sender is the login name at the mail domain,
# as for a real cron job.
{ base_config plain | sed '/^from /d'; printf 'maildomain example.org\n'; } |
    write_config
me=$(id -un)

# Debian cron 3.0pl1 (do_command.c): these headers, an 8-bit body.
cron_mail() { # cron_mail TO
	printf 'From: root (Cron Daemon)\nTo: %s\n' "$1"
	printf 'Subject: Cron <root@vm> /usr/local/bin/job\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n'
	printf 'X-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/root>\n'
	printf 'X-Cron-Env: <PATH=/usr/bin:/bin>\nX-Cron-Env: <LOGNAME=root>\n\n'
	printf 'job output \303\251t\303\251\n.\nlast line\n'
}
cron_mail root >"$T/cron1"
run_postseal -C "$CFG" -FCronDaemon -i -B8BITMIME -oem root <"$T/cron1"
assert_exit 0 "Debian cron"
m=$SPOOL/1.eml
assert_eq "$(json_get "$SPOOL/1.json" rcpt_tos)" '["root@example.org"]' "cron: recipient"
assert_eq "$(json_get "$SPOOL/1.json" mail_from)" "$me@example.org" "cron: sender"
assert_header "$m" From '^Cron Daemon <root@example\.org>$'
assert_header "$m" To '^root@example\.org$'
assert_header "$m" Date '.'
assert_header "$m" Message-ID '^<[^@>]+@example\.org>$'
assert_eq "$(header_count "$m" From)" 1 "cron: one From"
assert_header "$m" X-Cron-Env '^<SHELL=/bin/sh>$'
printf 'job output \303\251t\303\251\r\n.\r\nlast line\r\n' >"$T/want1"
eml_part "$m" body >"$T/got1"
assert_same_file "$T/got1" "$T/want1" "cron: body (8-bit, lone dot kept by -i)"

# MAILTO=a@x,b@y is passed as one argument and is the To: header.
cron_mail 'ops@example.net,admin@example.com' >"$T/cron2"
run_postseal -C "$CFG" -FCronDaemon -i -B8BITMIME -oem 'ops@example.net,admin@example.com' <"$T/cron2"
assert_exit 0 "Debian cron, MAILTO with two addresses"
assert_eq "$(json_get "$SPOOL/2.json" rcpt_tos)" '["ops@example.net", "admin@example.com"]' "MAILTO: recipients"
assert_header "$SPOOL/2.eml" To '^ops@example\.net,admin@example\.com$'

# cronie (do_command.c): -t, -f user; its headers name the user.
printf 'From: "(Cron Daemon)" <%s>\nTo: %s\nSubject: Cron <%s@vm> job\n\nout\n' \
    "$me" "$me" "$me" >"$T/cronie"
run_postseal -C "$CFG" -FCronDaemon -i -odi -oem -oi -t -f "$me" <"$T/cronie"
assert_exit 0 "cronie"
assert_eq "$(json_get "$SPOOL/3.json" rcpt_tos)" "[\"$me@example.org\"]" "cronie: recipient from To:"
assert_eq "$(json_get "$SPOOL/3.json" mail_from)" "$me@example.org" "cronie: -f user qualified"
assert_header "$SPOOL/3.eml" From "^\"\\(Cron Daemon\\)\" <$me@example\\.org>\$"
assert_header "$SPOOL/3.eml" To "^$me@example\\.org\$"

# systemd-cron: -i -B8BITMIME addr, headers of its own.
printf 'From: root\nTo: admin@example.com\nSubject: [vm] job.service failed\n\nlog\n' >"$T/sdcron"
run_postseal -C "$CFG" -i -B8BITMIME admin@example.com <"$T/sdcron"
assert_exit 0 "systemd-cron"
assert_eq "$(json_get "$SPOOL/4.json" rcpt_tos)" '["admin@example.com"]' "systemd-cron: recipient"
assert_header "$SPOOL/4.eml" From '^root@example\.org$'

# Without maildomain: the machine's fully qualified name (in a private UTS
# namespace, so the host's name is not touched).
if [ -e /etc/mailname ]; then
	e2e_log "SKIP (partly): /etc/mailname exists on this machine"
elif ! unshare -u true 2>/dev/null; then
	e2e_log "SKIP (partly): unshare -u needs root"
else
	base_config plain | sed '/^from /d; /^domain /d' | write_config
	unshare -u sh -c 'hostname host.example.test && exec "$@"' sh \
	    "$POSTSEAL" -C "$CFG" -FCronDaemon -i -B8BITMIME -oem root \
	    <"$T/cron1" >"$T/fq.out" 2>"$T/fq.err"
	RC=$?
	assert_exit 0 "fully qualified host name"
	assert_eq "$(json_get "$SPOOL/5.json" rcpt_tos)" '["root@host.example.test"]' "FQDN: recipient"
	assert_header "$SPOOL/5.eml" From '^Cron Daemon <root@host\.example\.test>$'
	assert_header "$SPOOL/5.eml" To '^root@host\.example\.test$'
	# A short host name: held, not lost (no-fqdn.sh).
fi
e2e_done
