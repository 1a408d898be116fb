#!/bin/sh
# S4: capabilities learned before STARTTLS are discarded.  Before TLS the
# server offers PIPELINING, SIZE 100, DSN and 8BITMIME; after TLS none of
# them.  A client that kept the plaintext list would pipeline (a sync
# error), refuse or declare the 2 KB message against SIZE 100 (SIZE= is
# refused by a server without SIZE), send NOTIFY= for -N and BODY=8BITMIME
# for an 8-bit body: each is refused here.  Then the reverse: SIZE 100 is
# offered only after TLS, and the same message is refused as too big
# before MAIL, so the list after TLS is the one used.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p --no-pipelining \
    --no-8bitmime --ehlo-plain-extra PIPELINING \
    --ehlo-plain-extra 'SIZE 100' --ehlo-plain-extra DSN \
    --ehlo-plain-extra 8BITMIME
base_config starttls u p | write_config
{
	printf 'To: a@example.org\nSubject: caps\nMIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=utf-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n\n'
	i=0
	while [ $i -lt 40 ]; do
		printf 'Gr\303\274\303\237e, line %d of a message over 100 bytes\n' $i
		i=$((i + 1))
	done
} >"$T/msg"
run_postseal -C "$CFG" -N success,failure a@example.org b@example.org <"$T/msg"
assert_exit 0 "plaintext capabilities not used over TLS"
assert_delivered 1
assert_grep '^1 plain EHLO ' "$RECORD" "EHLO before TLS"
assert_grep '^1 tls EHLO ' "$RECORD" "EHLO again over TLS"
assert_grep '^1 tls RCPT TO:<b@example.org>$' "$RECORD" "both recipients"
assert_no_grep 'sync-error' "$RECORD" "no pipelining (offered before TLS only)"
assert_no_grep ' MAIL FROM:.*(SIZE|BODY)=' "$RECORD" \
    "no SIZE= or BODY= on MAIL (offered before TLS only)"
assert_no_grep ' RCPT TO:.*NOTIFY=' "$RECORD" "no NOTIFY= (DSN offered before TLS only)"

start_server --name tls-size --tls starttls --user u --password p \
    --ehlo-tls-extra 'SIZE 100'
base_config starttls u p | write_config
run_postseal -C "$CFG" a@example.org <"$T/msg"
ok
[ "$RC" != 0 ] || fail "a message over SIZE 100 (offered over TLS) was accepted"
assert_nothing_delivered
assert_no_grep '^1 tls (RCPT|DATA)' "$RECORD" "refused before RCPT, by the size"
assert_grep_i 'size|big|large|limit' "$ERR" "stderr names the size"
e2e_done
