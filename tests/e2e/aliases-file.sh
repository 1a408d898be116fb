#!/bin/sh
# The msmtp "aliases" keyword (issue 9): local recipients (root,
# root@localhost, root@<host name>, postmaster) are rewritten in the
# envelope through an /etc/aliases-style file, with default: for the rest;
# the To: header is only qualified, as msmtp leaves it; a bad file is an
# error naming file and line, before anything is stored.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "aliases"
. "$E2E/callers_common.sh"
start_server --tls none
cat >"$T/aliases" <<'ALIASES'
# root's mail goes to the admins
root:       admin@example.org,
            ops
ops:        ops@example.net   # the on-call list
postmaster: root
default:    catchall@example.org
ALIASES
printf 'aliases %s\nmaildomain example.org\n' "$T/aliases" | caller_config plain
host=$(hostname)

printf 'To: root\nSubject: cron\n\nhello\n' >"$T/msg"
run_postseal -C "$CFG" root <"$T/msg"
assert_exit 0
assert_eq "$(json_get "$SPOOL/1.json" rcpt_tos)" '["admin@example.org", "ops@example.net"]' "root aliased"
assert_header "$SPOOL/1.eml" To '^root@example\.org$'

run_postseal -C "$CFG" root@localhost "postmaster@$host" nobody ext@example.com <"$T/msg"
assert_exit 0
assert_eq "$(json_get "$SPOOL/2.json" rcpt_tos)" '["admin@example.org", "ops@example.net", "catchall@example.org", "ext@example.com"]' "localhost, host name, default, and a remote address untouched"

# -t reads "To: root" and aliases it too.
run_postseal -C "$CFG" -t <"$T/msg"
assert_exit 0
assert_eq "$(json_get "$SPOOL/3.json" rcpt_tos)" '["admin@example.org", "ops@example.net"]' "-t root aliased"

# -bs takes the same path: RCPT TO:<root> is aliased too.
cat >"$T/bs" <<'SCRIPT'
expect 220
send HELO x
expect 250
send MAIL FROM:<sender@example.org>
expect 250
send RCPT TO:<root@localhost>
expect 250
send DATA
expect 354
send Subject: bs
send
send hi
send .
expect 250
send QUIT
expect 221
SCRIPT
bs_run "$T/bs" -C "$CFG"
assert_bs_ok "-bs with aliases"
assert_eq "$(json_get "$SPOOL/4.json" rcpt_tos)" '["admin@example.org", "ops@example.net"]' "-bs: root@localhost aliased"

# A bad file: exit 78, file and line named, nothing queued or sent.
bad_case() { # bad_case WHAT ERE (the file on stdin)
	cat >"$T/aliases"
	run_postseal -C "$CFG" root <"$T/msg"
	assert_exit 78 "$1"
	assert_grep "$2" "$ERR" "$1: stderr"
	assert_file_count "$SPOOL" '*.eml' 4 "$1: nothing sent"
	assert_eq "$(queue_entries active)" 0 "$1: nothing queued"
}
printf 'root: a@example.org\nops: ops\n' |
    bad_case "loop" "$T/aliases:2: alias loop: ops -> ops"
printf 'root: a@example.org\n\nops: :include:/etc/list\n' |
    bad_case ":include:" "$T/aliases:3: :include: is not supported"
printf 'root: a@exa\rmple.org\n' |
    bad_case "CR" "$T/aliases:1: carriage return"
printf 'root a@example.org\n' |
    bad_case "syntax" "$T/aliases:1: expected 'name: address"
printf 'root: |/usr/bin/procmail\n' |
    bad_case "pipe" "$T/aliases:1: delivery to a command is not supported"
rm -f "$T/aliases"
run_postseal -C "$CFG" root <"$T/msg"
assert_exit 78 "missing file"
assert_grep "aliases file $T/aliases: No such file" "$ERR"
assert_file_count "$SPOOL" '*.eml' 4 "missing file: nothing sent"
e2e_done
