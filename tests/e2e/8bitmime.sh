#!/bin/sh
# An 8-bit body is sent with BODY=8BITMIME, unchanged; a 7-bit one without
# BODY=8BITMIME.  With "smtp_8bitmime off" (a smarthost without 8BITMIME)
# or -B 7BIT, an 8-bit body is re-encoded quoted-printable before it is
# queued and signed, and sent without BODY=8BITMIME.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config
printf 'To: rcpt@example.org\nSubject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e, \342\202\254 \377\n' >"$T/msg8"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg8"
assert_exit 0 "8-bit message"
assert_delivered 1 "8-bit message received"
assert_grep 'BODY=8BITMIME' "$SPOOL/1.json" "mail_options of the 8-bit message"
printf 'Gr\303\274\303\237e, \342\202\254 \377\r\n' >"$T/want"
eml_part "$SPOOL/1.eml" body >"$T/got"
assert_same_file "$T/got" "$T/want" "8-bit body"
sample_message >"$T/msg7"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg7"
assert_exit 0 "7-bit message"
assert_delivered 2
assert_no_grep 'BODY=8BITMIME' "$SPOOL/2.json" "mail_options of the 7-bit message"
start_server --name no8bit --tls starttls --user u --password p --no-8bitmime
{ base_config starttls u p; printf 'smtp_8bitmime off\n'; } | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg8"
assert_exit 0 "8-bit message, smtp_8bitmime off"
M=$SPOOL/1.eml
assert_no_grep 'BODY=8BITMIME' "$SPOOL/1.json" "no BODY=8BITMIME"
assert_header "$M" Content-Transfer-Encoding '^quoted-printable$'
ok
LC_ALL=C grep -q "$(printf '[\200-\377]')" "$M" && fail "8-bit bytes reached a server without 8BITMIME"
eml_part "$M" body | "$PYTHON" -c 'import quopri, sys
sys.stdout.buffer.write(quopri.decodestring(sys.stdin.buffer.read()))' >"$T/got"
printf 'Gr\303\274\303\237e, \342\202\254 \377\r\n' >"$T/want"
assert_same_file "$T/got" "$T/want" "decoded body"
assert_no_grep '8BITMIME' "$ERR" "no warning: nothing 8-bit was sent"

# -B 7BIT does the same for one message.
base_config starttls u p | write_config
run_postseal -C "$CFG" -B 7BIT rcpt@example.org <"$T/msg8"
assert_exit 0 "-B 7BIT"
assert_header "$SPOOL/2.eml" Content-Transfer-Encoding '^quoted-printable$'
assert_no_grep 'BODY=8BITMIME' "$SPOOL/2.json" "-B 7BIT: no BODY=8BITMIME"
e2e_done
