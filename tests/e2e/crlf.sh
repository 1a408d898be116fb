#!/bin/sh
# Line endings: LF, CRLF, CR-only and mixed input all arrive as CRLF, with
# no line added, lost or merged; a final line without a newline is ended.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

n=0
check() { # NAME PRINTF-FORMAT-OF-INPUT
	n=$((n + 1))
	printf "$2" >"$T/in.$1"
	run_postseal -C "$CFG" rcpt@example.org <"$T/in.$1"
	assert_exit 0 "$1"
	assert_file_count "$SPOOL" '*.eml' "$n" "spool after $1"
	assert_crlf "$SPOOL/$n.eml"
	eml_part "$SPOOL/$n.eml" body >"$T/got.$1"
	printf 'a\r\nb\r\n\r\nc\r\n' >"$T/want"
	assert_same_file "$T/got.$1" "$T/want" "$1 body"
	assert_header "$SPOOL/$n.eml" Subject "^$1\$"
}

check lf 'Subject: lf\n\na\nb\n\nc\n'
check crlf 'Subject: crlf\r\n\r\na\r\nb\r\n\r\nc\r\n'
check nofinal 'Subject: nofinal\n\na\nb\n\nc'
if ! is_msmtp; then
	check cr 'Subject: cr\r\ra\rb\r\rc\r'
	check mixed 'Subject: mixed\r\n\na\rb\r\n\nc\n'
fi
e2e_done
