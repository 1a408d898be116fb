#!/bin/sh
# The sysexits codes that no other test covers, and that nothing reaches
# the server in each case: 64 unknown option, 65 malformed recipient, 75
# connection refused, 78 configuration errors (syntax, unknown account,
# a password file others can read, a missing -C file: in sendmail mode
# these hold the message instead, see config-unreadable.sh, so a queue run
# is used here), 0 success.
# (67 rcpt-5xx.sh, 69 mail-5xx.sh, 77 auth-wrong-password.sh.)
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
XDG_STATE_HOME=$T/state # a held message must not reach the real home
export XDG_STATE_HOME
start_server --tls starttls --user u --password p
base_config starttls u p | write_config
sample_message >"$T/msg"

run_postseal -C "$CFG" --no-such-option rcpt@example.org <"$T/msg"
assert_exit 64 "unknown long option"
assert_grep_fixed 'no-such-option' "$ERR" "stderr names the option"
run_postseal -C "$CFG" -Z rcpt@example.org <"$T/msg"
assert_exit 64 "unknown option -Z"
assert_grep 'Z' "$ERR" "stderr names -Z"

if ! is_msmtp; then
	for bad in 'a@@example.org' '<rcpt@example.org' 'a b@example.org' \
	    'rcpt@example.org>'; do
		run_postseal -C "$CFG" "$bad" <"$T/msg"
		assert_exit 65 "malformed recipient '$bad'"
	done
fi

assert_queue_empty "queue after usage errors"

# Connection refused: temporary.
{ base_config starttls u p; } | sed "s/^port .*/port $(free_port)/" | write_config "$T/refused.cfg"
run_postseal -C "$T/refused.cfg" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "connection refused"
assert_grep_i 'refused|connect' "$ERR" "stderr (connection refused)"
rm -rf "${QUEUE:?}"/*

# Configuration errors: 78, with file and line for the syntax error.
{ base_config starttls u p; echo 'no_such_keyword 1'; } | write_config "$T/bad.cfg"
run_postseal -C "$T/bad.cfg" -q
assert_exit 78 "unknown keyword"
assert_grep_fixed 'no_such_keyword' "$ERR" "stderr names the keyword"
line=$(wc -l <"$T/bad.cfg")
assert_grep "bad\\.cfg.*[^0-9]$line([^0-9]|\$)" "$ERR" "stderr gives file and line $line"

run_postseal -C "$CFG" -a nosuchaccount rcpt@example.org <"$T/msg"
assert_exit 78 "unknown account"
assert_grep_fixed 'nosuchaccount' "$ERR" "stderr names the account"

base_config starttls u p >"$T/open.cfg"
chmod 644 "$T/open.cfg"
run_postseal -C "$T/open.cfg" -q
assert_exit 78 "password in a file others can read"
assert_grep_i 'permission|mode|readable|0?6[04]4|others|group' "$ERR" "stderr (why the file is refused)"

run_postseal -C "$T/does-not-exist.cfg" -q
assert_exit_in "66 78" "missing -C file"

assert_nothing_delivered
assert_no_command AUTH MAIL
assert_queue_empty "queue after configuration errors"

run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "a good run after all that"
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
e2e_done
