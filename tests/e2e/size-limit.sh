#!/bin/sh
# The server advertises SIZE 2000 and the message is about 6000 bytes:
# permanent failure (exit 69) before DATA (checked by the client, or MAIL
# with SIZE= refused by the server), nothing delivered.  A message under
# the limit goes through with SIZE=.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p --size 2000
base_config starttls u p | write_config
{
	printf 'To: rcpt@example.org\nSubject: big\n\n'
	i=0
	while [ $i -lt 100 ]; do
		printf 'line %03d 0123456789012345678901234567890123456789012345\n' $i
		i=$((i + 1))
	done
} >"$T/big"
run_postseal -C "$CFG" rcpt@example.org <"$T/big"
assert_exit 69 "message over SIZE"
# Either the client compares with the advertised SIZE itself and sends no
# MAIL, or it declares SIZE= on MAIL and gets the server's 552.
if grep -q '^1 tls MAIL FROM:' "$RECORD"; then
	assert_grep '^1 tls MAIL FROM:<sender@example\.org>.* SIZE=[0-9]+' "$RECORD" "record (SIZE= on MAIL)"
	assert_reply_code 552 "$ERR" "stderr (reply code)"
else
	assert_grep_i 'size|limit|exceed|large' "$ERR" "stderr (says the message is too big)"
	assert_grep '2000' "$ERR" "stderr (names the server's limit)"
fi
assert_no_grep '^1 tls DATA' "$RECORD" "record (DATA for the refused message)"
assert_nothing_delivered
assert_queue_empty "queue"

assert_one_session "after the refused message"

sample_message >"$T/small"
run_postseal -C "$CFG" rcpt@example.org <"$T/small"
assert_exit 0 "message under SIZE"
last=$(ls "$SPOOL"/*.json 2>/dev/null | sort -t/ -k1 | tail -n 1)
if [ -n "$last" ]; then
	assert_header "${last%.json}.eml" Subject '^e2e test$'
	size=$(json_get "$last" size)
	sid=$(json_get "$last" session)
	declared=$(grep "^$sid tls MAIL FROM:" "$RECORD" | grep -o 'SIZE=[0-9]*' |
	    cut -d= -f2)
	ok
	# RFC 1870: the declared size is an estimate, but not below the data.
	if [ -z "$declared" ] || [ "$declared" -lt "$size" ]; then
		fail "SIZE=$declared declared for $size bytes of data"
	fi
else
	fail "message under SIZE not received"
fi
e2e_done
