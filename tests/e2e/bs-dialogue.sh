#!/bin/sh
# -bs: an SMTP dialogue on stdin/stdout (issue 9).  Two messages in one
# dialogue, each delivered through the normal path; RSET, NOOP, a 502 for
# commands we do not offer, 503 for commands out of order; dot-unstuffing;
# "\n.\n" and "\r.\r" are data, only CRLF.CRLF ends it.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "-bs"
. "$E2E/callers_common.sh"
start_server --tls none
: | caller_config plain

cat >"$T/script" <<'SCRIPT'
expect 220
send NOOP
expect 250
send MAIL FROM:<sender@example.org>
expect 503
send EHLO client.example
expect 250
send DATA
expect 503
send RCPT TO:<a@example.org>
expect 503
send VRFY root
expect 502
send HELP
expect 502
send STARTTLS
expect 502
send AUTH PLAIN AGFhAGI=
expect 502
send FROBNICATE
expect 500
send MAIL FROM:<sender@example.org> BODY=8BITMIME
expect 250
send MAIL FROM:<sender@example.org>
expect 503
send RCPT TO:<a@example.org> NOTIFY=NEVER
expect 555
send RCPT TO:<a@example.org>
expect 250
send RCPT TO:<bad address@example.org>
expect 501
send RCPT TO:<b@example.org>
expect 250
send DATA extra
expect 501
send DATA
expect 354
send Subject: first
send
send ..leading dot
send one\n.\ntwo
send three\r.\rfour
send \n.\r\nQUIT
send .x
send .
expect 250
send RSET
expect 250
send MAIL FROM:<>
expect 250
send RSET
expect 250
send MAIL FROM: <sender@example.org>
expect 250
send RCPT TO:<c@example.org>
expect 250
send DATA
expect 354
send Subject: second
send
send body two
send .
expect 250
send QUIT
expect 221
SCRIPT
bs_run "$T/script" -C "$CFG" -odi
assert_bs_ok
assert_eq "$BS_EXIT" 0 "postseal -bs exit status"
assert_file_count "$SPOOL" '*.eml' 2 "server spool (two messages, nothing smuggled)"
assert_eq "$(json_get "$SPOOL/1.json" rcpt_tos)" '["a@example.org", "b@example.org"]' "first recipients"
assert_eq "$(json_get "$SPOOL/1.json" mail_from)" 'sender@example.org' "first sender"
assert_eq "$(json_get "$SPOOL/2.json" rcpt_tos)" '["c@example.org"]' "second recipients"
assert_header "$SPOOL/1.eml" Subject '^first$'
assert_header "$SPOOL/2.eml" Subject '^second$'
# The first body, byte for byte: unstuffed, the look-alikes kept as data
# (made CRLF lines, which the client side dot-stuffs again on the wire).
printf '.leading dot\r\none\r\n.\r\ntwo\r\nthree\r\n.\r\nfour\r\n\r\n.\r\nQUIT\r\nx\r\n' >"$T/body1.want"
eml_part "$SPOOL/1.eml" body >"$T/body1.got"
assert_same_file "$T/body1.got" "$T/body1.want" "first body"
printf 'body two\r\n' >"$T/body2.want"
eml_part "$SPOOL/2.eml" body >"$T/body2.got"
assert_same_file "$T/body2.got" "$T/body2.want" "second body"
# The 250 came only after the smarthost had it: the server saw the dot.
assert_grep '^< 250 2.0.0 Ok: delivered' "$T/bs.transcript"
assert_queue_empty
e2e_done
