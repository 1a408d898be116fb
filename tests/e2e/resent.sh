#!/bin/sh
# -t with Resent- headers: the recipients are the Resent-To/Cc/Bcc of the
# (topmost) Resent- block, not To/Cc; Resent-Bcc is removed.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

cat >"$T/msg" <<'MSG'
Resent-From: sender@example.org
Resent-Date: Fri, 02 Jan 2015 00:00:00 +0000
Resent-To: new1@example.org
Resent-Cc: new2@example.org
Resent-Bcc: new3@example.org
From: original@example.org
To: old1@example.org
Cc: old2@example.org
Subject: resent

body
MSG
run_postseal -C "$CFG" -t <"$T/msg"
assert_exit 0
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
got=$("$PYTHON" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["rcpt_tos"])))' "$SPOOL/1.json")
assert_eq "$got" "new1@example.org new2@example.org new3@example.org" "recipients from the Resent- block"
# msmtp keeps Resent-Bcc; postseal must not.
is_msmtp || assert_no_header "$SPOOL/1.eml" Resent-Bcc
assert_header "$SPOOL/1.eml" To 'old1@example\.org'
assert_header "$SPOOL/1.eml" Resent-To 'new1@example\.org'
e2e_done
