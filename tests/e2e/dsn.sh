#!/bin/sh
# DSN (RFC 3461): -N success,failure and -R hdrs become NOTIFY= on every
# RCPT and RET=HDRS on MAIL; -R full gives RET=FULL; -N never gives
# NOTIFY=NEVER; without -N/-R no DSN parameter is sent.  The config's
# dsn_notify/dsn_return work the same way.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p --dsn
base_config starttls u p | write_config
sample_message >"$T/msg"

run_postseal -C "$CFG" -N success,failure -R hdrs a@example.org b@example.org <"$T/msg"
assert_exit 0 "-N success,failure -R hdrs"
assert_delivered 1
assert_grep '"RET=HDRS"' "$SPOOL/1.json" "MAIL parameters"
assert_eq "$(grep -c 'NOTIFY=SUCCESS,FAILURE' "$RECORD")" 2 "NOTIFY= on each RCPT"

run_postseal -C "$CFG" -N never -R full a@example.org <"$T/msg"
assert_exit 0 "-N never -R full"
assert_delivered 2
{
	assert_grep '"RET=FULL"' "$SPOOL/2.json" "MAIL parameters (-R full)"
	assert_grep '"NOTIFY=NEVER"' "$SPOOL/2.json" "RCPT parameters (-N never)"
}

run_postseal -C "$CFG" a@example.org <"$T/msg"
assert_exit 0 "no DSN options"
assert_delivered 3
{
	assert_no_grep 'RET=|NOTIFY=|ENVID=' "$SPOOL/3.json" "no DSN parameters"
}

{ base_config starttls u p; echo 'dsn_notify delay'; echo 'dsn_return headers'; } |
    write_config
run_postseal -C "$CFG" a@example.org <"$T/msg"
assert_exit 0 "dsn_notify/dsn_return in the config"
assert_delivered 4
{
	assert_grep '"RET=HDRS"' "$SPOOL/4.json" "MAIL parameters (config)"
	assert_grep '"NOTIFY=DELAY"' "$SPOOL/4.json" "RCPT parameters (config)"
}
e2e_done
