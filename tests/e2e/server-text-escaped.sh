#!/bin/sh
# S6: server text is escaped before it is printed or logged.  The server's
# reply to RCPT carries terminal escapes (ESC [2J, an OSC title ending in
# BEL), and its greeting text such a sequence too: neither stderr, the -v
# transcript nor the log file gets an ESC, BEL or other control byte, and
# the mail is not lost (a reply with control characters is a protocol
# error: temporary, queued).  A reply with 8-bit C1 controls (0x9b CSI)
# is valid (S1) and refuses the recipient: its text is printed, escaped.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "the log file and the escaping of server text"
make_ca
LOG=$T/postseal.log
sample_message escapes >"$T/msg"

# no_ctl FILE WHAT: no byte below 0x20 other than TAB and LF, no DEL, and
# no C1 control (0x80-0x9f: 0x9b is CSI on some terminals).
no_ctl() {
	ok
	_bad=$(LC_ALL=C tr -d '\t\n\040-\176\240-\377' <"$1" | od -An -c | head -n 2)
	if [ ! -f "$1" ]; then
		fail "$2: $1 does not exist"
	elif [ -n "$(printf '%s' "$_bad" | tr -d ' ')" ]; then
		fail "$2: control bytes:$_bad"
	fi
}

for stage in rcpt greeting c1; do
	case $stage in
	c1) f='rcpt:reply=550 5.1.1 \x9b2J\x9d0;owned\x9c gone\r\n' ;;
	rcpt) f='rcpt:reply=550 5.1.1 \x1b[2J\x1b]0;owned\x07 gone\r\n' ;;
	greeting) f='greeting:reply=220 evil.example \x1b[31mESMTP\x1b[0m\r\n' ;;
	esac
	start_server --name "esc-$stage" --tls starttls --user u --password p \
	    --fault "$f"
	{ base_config starttls u p; printf 'logfile %s\n' "$LOG"; } | write_config
	run_postseal -C "$CFG" -v rcpt@example.org <"$T/msg"
	assert_nothing_delivered
	if [ $stage = c1 ]; then
		# 8-bit text is a valid reply: printed, escaped as \xNN.
		assert_exit 67 "c1: the recipient refused"
		assert_grep_fixed '550 5.1.1 \x9b2J\x9d0;owned\x9c gone' "$ERR" \
		    "c1: the reply text, escaped"
	else
		assert_tempfail_or_queued "$stage: control characters in a reply"
		assert_grep_i "control character" "$ERR" "$stage: why"
	fi
	no_ctl "$ERR" "$stage: stderr and the -v transcript"
	no_ctl "$OUT" "$stage: stdout"
	no_ctl "$LOG" "$stage: log file"
	assert_grep '.' "$LOG" "$stage: the attempt was logged"
done
e2e_done
