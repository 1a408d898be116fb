#!/bin/sh
# Scripted servers that break the protocol before the client has said
# anything: a greeting followed by an unsolicited "250" line, a greeting
# whose continuation lines never end in a final line before the server
# closes, and a greeting that is not SMTP at all.  Each is a temporary
# failure without MAIL.
. "$(dirname "$0")/lib.sh"
e2e_init
n=0
for script in 'raw 220 hi\r\n250 surprise\r\n|expect EHLO|send 250 ok|expect MAIL|send 250 ok|expect RCPT|send 250 ok|expect DATA|send 354 go|readdata|send 250 ok' \
    'raw 220-hi\r\n220-still\r\n|sleep 1|close' \
    'send HTTP/1.1 400 Bad Request|expect EHLO|send 250 ok|expect MAIL|send 250 ok|expect RCPT|send 250 ok|expect DATA|send 354 go|readdata|send 250 ok'; do
	n=$((n + 1))
	printf '%s\n' "$script" | tr '|' '\n' >"$T/script$n"
	start_server --name s$n --tls none --script "$T/script$n"
	CFG_TIMEOUT=3 base_config plain | write_config
	sample_message >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_tempfail_or_queued "script $n"
	assert_no_command MAIL
done
e2e_done
