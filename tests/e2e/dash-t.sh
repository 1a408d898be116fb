#!/bin/sh
# -t: recipients from To, Cc and Bcc (display names, quoted commas,
# folded lines, groups); Bcc removed from the message; each address once.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

cat >"$T/msg" <<'MSG'
From: Sender <sender@example.org>
To: A Person <a@example.org>, b@example.org,
  "Doe, John" <c@example.org>
Cc: Friends: d@example.org, e@example.org;
Bcc: blind@example.org
Subject: dash t

body
MSG
run_postseal -C "$CFG" -t <"$T/msg"
assert_exit 0
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
J=$SPOOL/1.json
got=$("$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' "$J")
assert_eq "$got" "a@example.org b@example.org blind@example.org c@example.org d@example.org e@example.org" "recipients from headers"
assert_no_header "$SPOOL/1.eml" Bcc
assert_no_grep_fixed blind@example.org "$SPOOL/1.eml" "message (Bcc address)"
assert_header "$SPOOL/1.eml" To 'c@example\.org'
assert_header "$SPOOL/1.eml" Cc 'Friends: d@example\.org, e@example\.org;'

# An address in two headers is sent once.
printf 'To: a@example.org\nCc: a@example.org, b@example.org\nSubject: dup\n\nx\n' >"$T/msg2"
run_postseal -C "$CFG" -t <"$T/msg2"
if ! is_msmtp; then
	assert_exit 0 "duplicate recipients"
	assert_eq "$(json_get "$SPOOL/2.json" rcpt_tos)" '["a@example.org", "b@example.org"]' "duplicates removed"
fi

# -t with no recipient in the headers fails and sends nothing.
printf 'Subject: nobody\n\nx\n' >"$T/msg3"
before=$(grep -c ' MAIL ' "$RECORD")
run_postseal -C "$CFG" -t <"$T/msg3"
assert_exit_in "64 65 69" "-t without recipients"
assert_eq "$(grep -c ' MAIL ' "$RECORD")" "$before" "no MAIL for a message without recipients"
e2e_done
