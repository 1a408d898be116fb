#!/bin/sh
# Logging (issue 9), checked with a real syslog receiver on /dev/log (a
# private mount namespace, see syslog_common.sh): without any logging
# keyword postseal logs to syslog, facility mail; one line per state change
# (queued, deferred, delivered, failed, expired, dropped), each with the
# queue ID;
# -odq writes a line; "syslog off" writes none; "logfile" still writes the
# user's own file; a log file that cannot be opened (a directory; and a
# root-owned 0600 shared file, for user nobody via setpriv: EACCES) loses
# no mail and falls back to syslog with a warning; a TLS verification failure, which only
# defers the message, is logged at error level (it needs the admin).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/syslog_common.sh"
. "$(dirname "$0")/queue_common.sh"
postseal_only "syslog by default"
syslog_namespace "$@"
e2e_init
syslog_start

ID_RE='id=[0-9a-f]{20} '
start_server --tls none --fault rcpt=later@example.org:4xx#1 \
    --fault rcpt=never@example.org:5xx
base_config plain | write_config

# ---- delivered: one "queued" and one "delivered" line, LOG_MAIL ----
sample_message "logged" >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "delivered"
syslog_wait 2
assert_eq "$(wc -l <"$SYSLOG")" 2 "delivered: two syslog lines"
assert_grep "^<22>.* postseal\[[0-9]+\]: ${ID_RE}account=[^ ]+ .*outcome=queued" \
    "$SYSLOG" "queued line (mail.info) with the queue ID"
assert_grep "^<22>.* postseal\[[0-9]+\]: ${ID_RE}account=[^ ]+ .*code=250 .*outcome=delivered" \
    "$SYSLOG" "delivered line (mail.info) with the queue ID"
q=$(sed -n 's/.* id=\([0-9a-f]*\) .*outcome=queued.*/\1/p' "$SYSLOG")
d=$(sed -n 's/.* id=\([0-9a-f]*\) .*outcome=delivered.*/\1/p' "$SYSLOG")
assert_eq "$d" "$q" "the same queue ID on both lines"

# ---- -odq, a deferral, a 5xx, a drop ----
: >"$SYSLOG"
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
assert_exit 0 "-odq"
syslog_wait 1
assert_grep "${ID_RE}.*outcome=queued" "$SYSLOG" "-odq writes a line"
id=$(q_ids active)
run_postseal -C "$CFG" --queue-drop "$id"
assert_exit 0 "--queue-drop"
syslog_wait 2
assert_grep "id=$id .*outcome=dropped" "$SYSLOG" "dropped line"
run_postseal -C "$CFG" later@example.org <"$T/msg"
assert_exit 0 "4xx: queued"
syslog_wait 4
assert_grep "<21>.* ${ID_RE}.*code=450 .*outcome=deferred" "$SYSLOG" \
    "deferred line (mail.notice)"
run_postseal -C "$CFG" -odq never@example.org <"$T/msg"
run_postseal -C "$CFG" -qRnever
assert_exit 69 "5xx in a run"
syslog_wait 7
assert_grep "<19>.* ${ID_RE}.*code=550 .*outcome=failed" "$SYSLOG" \
    "failed line (mail.err)"
{ base_config plain; printf 'queue_max_age 1s\n'; } | write_config
run_postseal -C "$CFG" -odq rcpt@example.org <"$T/msg"
sleep 2
run_postseal -C "$CFG" -q
assert_exit 69 "an expired entry in a run"
syslog_wait 9
assert_grep "<19>.* ${ID_RE}.*outcome=expired" "$SYSLOG" "expired line (mail.err)"
base_config plain | write_config
ok
if grep -v -E "postseal\[[0-9]+\]: $ID_RE" "$SYSLOG" >"$T/noid"; then
	fail "lines without a queue ID: $(cat "$T/noid")"
fi

# ---- syslog off: nothing; logfile: the user's file ----
fresh_queue
{ base_config plain; printf 'syslog off\nlogfile %s\n' "$T/my.log"; } |
    write_config
: >"$SYSLOG"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "syslog off, logfile"
sleep 0.3
assert_eq "$(wc -l <"$SYSLOG")" 0 "syslog off: no syslog line"
assert_grep "^time=[^ ]+ ${ID_RE}.*outcome=delivered" "$T/my.log" \
    "logfile: the delivered line with the queue ID"

# ---- a log file that cannot be opened: mail sent, warning, syslog ----
{ base_config plain; printf 'syslog off\nlogfile %s\n' "$T/shared"; } |
    write_config
mkdir "$T/shared" # open(O_WRONLY) fails (EISDIR), as EACCES would
sample_message "unloggable" >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "unopenable logfile: still sent"
assert_eq "$(spool_count unloggable)" 1 "unopenable logfile: delivered"
assert_grep "warning: cannot open log file $T/shared: .*syslog" "$ERR" \
    "unopenable logfile: warning"
syslog_wait 2
assert_grep "^<22>.* ${ID_RE}.*outcome=delivered" "$SYSLOG" \
    "unopenable logfile: the line went to syslog"

# ---- a shared log file another user owns: EACCES for user nobody ----
if command -v setpriv >/dev/null 2>&1; then
	nb=$T/nobody
	mkdir -p "$nb/state"
	chown -R 65534:65534 "$nb"
	chmod 755 "$T"
	: >"$T/shared.log"
	chmod 600 "$T/shared.log" # root's, as a shared file one user cannot open
	{ base_config plain | grep -v '^queue_dir'
	  printf 'syslog off\nlogfile %s\n' "$T/shared.log"; } >"$T/nobody.cfg"
	chmod 644 "$T/nobody.cfg" # root's, no password: nobody may read it
	sample_message "as nobody" >"$T/msg"
	chmod 644 "$T/msg"
	: >"$SYSLOG"
	e2e_log "run: postseal as nobody with an unwritable shared logfile"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env XDG_STATE_HOME="$nb/state" HOME="$nb" \
	    "$POSTSEAL" -C "$T/nobody.cfg" rcpt@example.org \
	    <"$T/msg" >"$T/nobody.out" 2>"$T/nobody.err"
	RC=$?
	assert_exit 0 "nobody, shared logfile: sent"
	assert_eq "$(spool_count "as nobody")" 1 "nobody, shared logfile: delivered"
	assert_grep "cannot open log file $T/shared.log: Permission denied; logging to syslog" \
	    "$T/nobody.err" "nobody, shared logfile: warning"
	syslog_wait 2
	assert_grep "^<22>.* ${ID_RE}.*outcome=delivered" "$SYSLOG" \
	    "nobody, shared logfile: the line went to syslog"
	assert_eq "$(wc -c <"$T/shared.log")" 0 "shared logfile untouched"
fi

# ---- a certificate that fails verification: deferred, at error level ----
make_ca
start_server --name tls --cert untrusted --tls starttls
fresh_queue
base_config starttls | write_config
: >"$SYSLOG"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "untrusted certificate: queued"
syslog_wait 2
assert_grep "^<19>.* ${ID_RE}.*fix: set tls_trust_file.*outcome=deferred" \
    "$SYSLOG" "TLS verification failure: mail.err, with the fix"
e2e_done
