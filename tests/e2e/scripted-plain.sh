#!/bin/sh
# The exact client side of a plain, unauthenticated submission ("tls off",
# "auth off") against a scripted server, diffed against
# scripted-plain.exp: EHLO with the configured domain, MAIL, RCPT, DATA,
# the message unchanged (it has Date, Message-ID and From), the dot, QUIT.
. "$(dirname "$0")/lib.sh"
e2e_init
cat >"$T/script" <<'SCRIPT'
send 220 scripted.example ESMTP
expect EHLO
send 250-scripted.example
send 250-8BITMIME
send 250 ENHANCEDSTATUSCODES
expect MAIL
send 250 2.1.0 ok
expect RCPT
send 250 2.1.5 ok
expect DATA
send 354 go ahead
readdata
send 250 2.0.0 queued
expect QUIT
send 221 2.0.0 bye
SCRIPT
start_server --tls none --script "$T/script"
base_config plain | write_config
printf 'From: Sender <sender@example.org>\nTo: rcpt@example.org\nDate: Thu, 01 Jan 2015 00:00:00 +0000\nMessage-ID: <scripted.1@example.org>\nSubject: scripted\n\nline one\n.line two\n' >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0
sed 's/^1 plain //' "$RECORD" >"$T/got"
assert_same_file "$T/got" "$E2E/scripted-plain.exp" "client transcript"
e2e_done
