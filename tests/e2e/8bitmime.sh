#!/bin/sh
# An 8-bit body is sent with BODY=8BITMIME, unchanged; a 7-bit one without
# BODY=8BITMIME.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config
printf 'To: rcpt@example.org\nSubject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e, \342\202\254 \377\n' >"$T/msg8"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg8"
assert_exit 0 "8-bit message"
if [ -f "$SPOOL/1.json" ]; then
	assert_grep 'BODY=8BITMIME' "$SPOOL/1.json" "mail_options of the 8-bit message"
	printf 'Gr\303\274\303\237e, \342\202\254 \377\r\n' >"$T/want"
	eml_part "$SPOOL/1.eml" body >"$T/got"
	assert_same_file "$T/got" "$T/want" "8-bit body"
else
	fail "8-bit message not received"
fi
sample_message >"$T/msg7"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg7"
assert_exit 0 "7-bit message"
[ -f "$SPOOL/2.json" ] &&
    assert_no_grep 'BODY=8BITMIME' "$SPOOL/2.json" "mail_options of the 7-bit message"
e2e_done
