#!/bin/sh
# allow_from_override off with a pattern as "from" (issue 8, item 3): an
# envelope sender the pattern does not cover is never sent.  -f
# ceo@bank.example, the null sender and a login name outside the pattern
# are refused with exit 77, before anything is queued or sent; -f inside
# the pattern is used as given; with allow_from_override on (the default)
# -f still overrides.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "allow_from_override off with a from pattern"
make_ca
start_server --tls starttls --user u --password p
{
	base_config starttls u p | sed 's/^from .*/from *@example.org/'
	echo 'allow_from_override off'
} | write_config
sample_message "override" >"$T/msg"

for f in ceo@bank.example '' ceo@example.org.evil; do
	run_postseal -C "$CFG" -f "$f" rcpt@example.org <"$T/msg"
	assert_exit 77 "-f '$f' outside from *@example.org"
	assert_grep_fixed "envelope sender '${f:-<>}' is not allowed: account default has allow_from_override off and from *@example.org" \
	    "$ERR" "stderr for -f '$f'"
done
# No -f: the login name at the mail domain (maildomain) is outside too.
{
	base_config starttls u p | sed 's/^from .*/from *@example.org/'
	printf 'allow_from_override off\nmaildomain elsewhere.example\n'
} | write_config "$T/login.cfg"
run_postseal -C "$T/login.cfg" rcpt@example.org <"$T/msg"
assert_exit 77 "login name outside the pattern"
assert_grep "envelope sender '[^']*@elsewhere\.example' is not allowed" \
    "$ERR" "stderr for the login name"
assert_queue_empty "queue after the refusals"
assert_eq "$(queue_entries failed)" 0 "failed/ after the refusals"
assert_nothing_delivered
assert_no_command MAIL

# Inside the pattern: sent as given (the domain part in any case).
run_postseal -C "$CFG" -f Boss@EXAMPLE.org rcpt@example.org <"$T/msg"
assert_exit 0 "-f inside the pattern"
assert_eq "$(json_get "$SPOOL/1.json" mail_from_raw)" "<Boss@EXAMPLE.org>" \
    "MAIL FROM inside the pattern"

# allow_from_override on: -f overrides, as in msmtp.
base_config starttls u p | sed 's/^from .*/from *@example.org/' |
    write_config "$T/on.cfg"
run_postseal -C "$T/on.cfg" -f ceo@bank.example rcpt@example.org <"$T/msg"
assert_exit 0 "allow_from_override on"
assert_eq "$(json_get "$SPOOL/2.json" mail_from_raw)" "<ceo@bank.example>" \
    "MAIL FROM with allow_from_override on"
e2e_done
