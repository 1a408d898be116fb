#!/bin/sh
# newaliases by argv[0], -bi and -I check the aliases file (there is no
# database to build): exit 0 with a count, or 78 naming the bad line;
# mailq by argv[0] lists the queue like -bp (issue 9).  postseal is
# installed as sendmail, mailq and newaliases in a test prefix.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "newaliases"
. "$E2E/callers_common.sh"
install_prefix
PORT=$(free_port) # nothing listens: messages stay queued
printf 'root: admin@example.org\npostmaster: root\n' >"$T/aliases"
printf 'aliases %s\n' "$T/aliases" | caller_config plain

for cmd in "$PREFIX/sbin/newaliases" "$SENDMAIL -bi" "$SENDMAIL -I"; do
	# shellcheck disable=SC2086 # cmd holds the program and its flag
	POSTSEAL_CMD=$cmd
	e2e_log "run: $cmd -C $CFG"
	$POSTSEAL_CMD -C "$CFG" >"$T/na.out" 2>"$T/na.err"
	RC=$?
	assert_exit 0 "$cmd"
	assert_grep "^$T/aliases: 2 aliases\$" "$T/na.out" "$cmd: stdout"
done

printf 'root: admin@example.org\n\nbad line here\n' >"$T/aliases"
"$PREFIX/sbin/newaliases" -C "$CFG" >"$T/na.out" 2>"$T/na.err"
RC=$?
assert_exit 78 "newaliases, bad file"
assert_grep "$T/aliases:3: expected 'name: address" "$T/na.err"
printf 'a: b\nb: a\n' >"$T/aliases"
"$SENDMAIL" -bi -C "$CFG" >"$T/na.out" 2>"$T/na.err"
RC=$?
assert_exit 78 "-bi, loop"
assert_grep "$T/aliases:2: alias loop: a -> b -> a" "$T/na.err"

# No aliases keyword: say so, exit 0.
: | caller_config plain
"$PREFIX/sbin/newaliases" -C "$CFG" >"$T/na.out" 2>"$T/na.err"
RC=$?
assert_exit 0 "newaliases without an aliases file"
assert_grep 'no aliases file configured' "$T/na.out"

# mailq by argv[0]: the queue, as -bp shows it.
printf 'Subject: q\n\nqueued\n' >"$T/msg"
"$SENDMAIL" -C "$CFG" -odq rcpt@example.org <"$T/msg"
assert_eq "$?" 0 "-odq"
"$PREFIX/sbin/mailq" -C "$CFG" >"$T/mailq.out" 2>&1
RC=$?
assert_exit 0 "mailq"
"$SENDMAIL" -bp -C "$CFG" >"$T/bp.out" 2>&1
assert_grep 'rcpt@example\.org' "$T/mailq.out" "mailq output"
# (the age column may tick between the two runs: compare the IDs)
assert_eq "$(awk '{print $1}' "$T/mailq.out")" "$(awk '{print $1}' "$T/bp.out")" "mailq and -bp"
e2e_done
