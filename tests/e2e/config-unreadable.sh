#!/bin/sh
# Never lose a caller's mail (issue 9): a message whose configuration
# cannot be read or parsed (permissions, a typo, a missing file) is still
# held in the default queue with the configuration error as its last
# error, and sent by the first queue run after the configuration is fixed;
# the caller is told on stderr and exits 0 only if the message was queued.
# Run as cron runs us: stdin a pipe, no controlling terminal (setsid).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_common.sh"
e2e_init
postseal_only "holding mail for a broken configuration"
need_cmd setsid

# The default queue (no queue_dir can be read from a broken file).
XDG_STATE_HOME=$T/state
export XDG_STATE_HOME
QUEUE=$XDG_STATE_HOME/postseal/queue

# cron_run ARGS...: $T/msg piped into postseal in a new session.
cron_run() {
	OUT=$T/cron.out
	ERR=$T/cron.err
	e2e_log "cron: postseal $*"
	cat "$T/msg" | setsid timeout 60 "$POSTSEAL" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	sed 's/^/  stderr: /' "$ERR"
}

start_server --tls none
good() { # a usable configuration, without queue_dir
	base_config plain | grep -v '^queue_dir'
}

# ---- 1. a password file others can read (0644) ----
{ good; printf 'password s3cret-pass\n'; } | write_config
chmod 644 "$CFG"
printf 'Subject: perms\n\nfrom cron\n' >"$T/msg"
cron_run -C "$CFG" -FCronDaemon -i -B8BITMIME -oem root@example.org
assert_exit 0 "unsafe permissions: held, exit 0"
assert_grep "$CFG" "$ERR" "the configuration error names the file"
assert_grep 'held in the queue as [0-9a-f]{20} ' "$ERR" "stderr: held"
assert_grep 'first queue run \(postseal -q\)' "$ERR" "stderr: how it leaves"
assert_eq "$(q_count active)" 1 "held entry in the default queue"
id=$(q_ids active)
assert_grep "^error .*$CFG" "$QUEUE/active/$id/env" \
    "the configuration error is the entry's last error"
assert_nothing_delivered
run_postseal -C "$CFG" -q
assert_exit 78 "-q with the broken configuration"
assert_eq "$(q_count active)" 1 "-q with the broken configuration: kept"
chmod 600 "$CFG"
run_postseal -C "$CFG" -bp
assert_grep "^$id# .*<sender@example.org>|^$id# " "$OUT" "mailq marks it (#)"
run_postseal -C "$CFG" -q
assert_exit 0 "-q after the fix"
assert_eq "$(spool_count perms)" 1 "sent by the first run after the fix"
assert_eq "$(q_count active)" 0 "queue empty"
f=$(ls "$SPOOL"/*.eml | head -n 1)
assert_grep '^From: CronDaemon <sender@example.org>' "$f" \
    "From completed with -F by the fixed configuration"
assert_grep '^Message-ID: ' "$f" "Message-ID added"
assert_grep '^from cron' "$f" "body intact"
rm -f "$SPOOL"/*

# ---- 2. a typo; -t with Bcc and -f ----
{ good; printf 'hots 127.0.0.1\n'; } | write_config
printf 'To: a@example.org\nBcc: hidden@example.org\nSubject: typo\n\nbody\n' \
    >"$T/msg"
cron_run -C "$CFG" -t -f cron@example.org
assert_exit 0 "typo: held, exit 0"
assert_grep "$CFG:[0-9]+: .*hots" "$ERR" "the typo is named with its line"
good | write_config
run_postseal -C "$CFG" -q
assert_exit 0 "-q after fixing the typo"
assert_eq "$(spool_count typo)" 1 "typo: sent after the fix"
j=$(ls "$SPOOL"/*.json | head -n 1)
assert_eq "$(json_get "$j" mail_from)" cron@example.org "-f kept"
assert_grep 'hidden@example.org' "$j" "-t: the Bcc recipient is in the envelope"
assert_no_grep '^Bcc:' "$(ls "$SPOOL"/*.eml | head -n 1)" "Bcc removed"
rm -f "$SPOOL"/*

# ---- 3. a missing file ----
printf 'Subject: missing\n\nbody\n' >"$T/msg"
cron_run -C "$T/no-such-config" rcpt@example.org
assert_exit 0 "missing file: held, exit 0"
assert_grep 'no-such-config' "$ERR" "missing file: named"
run_postseal -C "$CFG" -q
assert_exit 0 "-q with a configuration"
assert_eq "$(spool_count missing)" 1 "missing file: sent by the run"

# ---- 4. the queue cannot take it either: non-zero, said so ----
rm -rf "$T/state"
: >"$T/state" # XDG_STATE_HOME is a file: the queue cannot be made
cron_run -C "$T/no-such-config" rcpt@example.org
assert_exit_in "66 78" "not held: non-zero"
assert_grep 'not queued either' "$ERR" "not held: said so"
rm -f "$T/state"

# ---- 5. no recipients: a usage error, as with a configuration ----
cron_run -C "$T/no-such-config" -t
assert_exit 64 "-t without recipients: usage error"
e2e_done
