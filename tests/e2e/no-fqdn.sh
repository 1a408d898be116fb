#!/bin/sh
# No fully qualified host name (issue 9): without maildomain and
# /etc/mailname, on a machine whose host name has no domain, a message
# with a bare local address (cron: "-oem root", "From: root (Cron
# Daemon)", "To: root") is neither sent as root@shortname nor lost: it is
# held in the queue with the reason as its last error, said once on stderr
# and once in the log with the fix (maildomain or /etc/mailname), exit 0
# once stored; a queue run before the fix keeps it held, the first one
# after the fix sends it.  Qualified mail is not held.  Each run is in a
# private UTS namespace (unshare -u), the host's name is not touched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/syslog_common.sh"
. "$(dirname "$0")/queue_common.sh"
postseal_only "holding mail when the host has no domain"
syslog_namespace "$@"
e2e_init
[ -e /etc/mailname ] && skip "/etc/mailname exists on this machine"
unshare -u true 2>/dev/null || skip "unshare -u is not permitted here"
syslog_start
XDG_STATE_HOME=$T/state
export XDG_STATE_HOME
QUEUE=$XDG_STATE_HOME/postseal/queue # where held mail goes

# short ARGS...: postseal as cron runs it, on a host named "shortname".
short() {
	e2e_log "run (host shortname): postseal $*"
	unshare -u sh -c 'hostname shortname && exec "$@"' sh \
	    "$POSTSEAL" "$@" <"$T/msg" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$T/out
	ERR=$T/err
	sed 's/^/  stderr: /' "$ERR"
}

start_server --tls none
# No from, no domain, no maildomain, no queue_dir: what a new user has.
base_config plain | sed '/^from /d; /^domain /d; /^queue_dir /d' |
    write_config
printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron job\n\njob output\n' \
    >"$T/msg"

# ---- 1. Debian cron's argv: held, said once, exit 0 ----
short -C "$CFG" -FCronDaemon -i -B8BITMIME -oem root
assert_exit 0 "held, exit 0"
assert_eq "$(grep -c . "$ERR")" 1 "said once on stderr"
assert_grep "cannot qualify it: the host name has no domain" "$ERR" "why"
assert_grep_fixed "set maildomain in the configuration, or write the mail domain to /etc/mailname" \
    "$ERR" "the fix"
assert_grep "held in the queue as [0-9a-f]{20} " "$ERR" "stderr: held"
assert_grep_fixed "first queue run (postseal -q)" "$ERR" "how it leaves"
assert_no_grep 'root@shortname' "$ERR" "no root@shortname"
assert_nothing_delivered
assert_eq "$(q_count active)" 1 "held in the default queue"
id=$(q_ids active)
assert_grep "^error .*cannot qualify it" "$QUEUE/active/$id/env" \
    "the reason is the entry's last error"
syslog_wait 1
assert_eq "$(grep -c 'cannot qualify it' "$SYSLOG")" 1 "said once in the log"
assert_grep "id=$id .*outcome=held" "$SYSLOG" "log: held, with the queue ID"

# ---- 2. only the headers are bare (-f and the recipient qualified) ----
printf 'From: root\nTo: ops@example.net\nSubject: hdr\n\nbody\n' >"$T/msg"
short -C "$CFG" -f cron@example.org ops@example.net
assert_exit 0 "bare From header: held"
assert_grep "the From header has an address without a domain" "$ERR" \
    "names the header"
assert_eq "$(q_count active)" 2 "second held entry"

# ---- 3. fully qualified mail is not held ----
printf 'From: cron@example.org\nTo: ops@example.net\nSubject: fq\n\nbody\n' \
    >"$T/msg"
short -C "$CFG" -f cron@example.org ops@example.net
assert_exit 0 "qualified: sent"
assert_eq "$(spool_count fq)" 1 "qualified mail sent at once"
assert_eq "$(q_count active)" 2 "qualified mail not held"
rm -f "$SPOOL"/*

# ---- 4. a queue run before the fix keeps them held ----
short -C "$CFG" -q
assert_eq "$(q_count active)" 2 "-q before the fix: still held"
assert_eq "$(q_count failed)" 0 "-q before the fix: nothing failed"
assert_nothing_delivered

# ---- 5. the fix (maildomain), then the first queue run sends both ----
printf 'maildomain example.org\n' >>"$CFG"
short -C "$CFG" -q
assert_exit 0 "-q after the fix"
assert_eq "$(q_count active)" 0 "queue empty after the fix"
assert_eq "$(spool_count "Cron job")" 1 "the cron mail sent"
f=$(grep -l 'Subject: Cron' "$SPOOL"/*.eml)
j=${f%.eml}.json
assert_eq "$(json_get "$j" rcpt_tos)" '["root@example.org"]' "recipient qualified"
assert_header "$f" From '^Cron Daemon <root@example\.org>$'
assert_header "$f" To '^root@example\.org$'
assert_no_grep 'shortname>' "$f" "no short host name in an address"
assert_eq "$(spool_count hdr)" 1 "the bare-header mail sent"
f=$(grep -l 'Subject: hdr' "$SPOOL"/*.eml)
assert_header "$f" From '^root@example\.org$'
e2e_done
