#!/bin/sh
# Dot-stuffing round trip: lines ".", "..", ".foo", ". ", a "\n.\n" in the
# middle and a lone "." as the last line arrive unchanged; on the wire
# each leading dot is doubled; piped input is never cut at a lone "."
# (with or without -i).
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

printf 'Subject: dots\n\nfirst\n.\n..\n.foo\n. \nmiddle\n.\nafter the lone dot\n...\n.\n' >"$T/msg"
printf 'first\r\n.\r\n..\r\n.foo\r\n. \r\nmiddle\r\n.\r\nafter the lone dot\r\n...\r\n.\r\n' >"$T/want"

n=0
for flags in "" "-i" "-oi"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	run_postseal -C "$CFG" $flags rcpt@example.org <"$T/msg"
	assert_exit 0 "postseal $flags"
	assert_file_count "$SPOOL" '*.eml' "$n" "spool after '$flags'"
	eml_part "$SPOOL/$n.eml" body >"$T/got"
	assert_same_file "$T/got" "$T/want" "body with '$flags'"
done

# What went over the wire for the first message: stuffed lines.
sed -n '/^1 tls DATA$/,/^1 tls \.$/p' "$RECORD" | sed 's/^1 tls //' >"$T/wire"
printf '%s\n' DATA first .. ... ..foo '.. ' middle .. 'after the lone dot' \
    .... .. . >"$T/wire.want"
sed -n '/^first$/,$p' "$T/wire" >"$T/wire.body"
sed -n '/^first$/,$p' "$T/wire.want" >"$T/wire.want.body"
assert_same_file "$T/wire.body" "$T/wire.want.body" "dot-stuffed DATA on the wire"

# H8 through a real pipe (the runs above read a regular file): no -i, and
# the lone "." lines still do not end the message.
{
	cat "$T/msg"
	echo $? >"$T/cat.rc"
} | "$POSTSEAL" -C "$CFG" rcpt@example.org >"$T/pipe.out" 2>"$T/pipe.err"
RC=$?
assert_exit 0 "piped input without -i"
assert_delivered 4 "piped input delivered"
eml_part "$SPOOL/4.eml" body >"$T/got"
assert_same_file "$T/got" "$T/want" "body read from a pipe without -i"
e2e_done
