#!/bin/sh
# STARTTLS + AUTH PLAIN: the message arrives once, with Date, Message-ID and
# From added, Bcc removed, CRLF line endings; only EHLO and STARTTLS were
# sent in plaintext; AUTH went over TLS.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user alice --password 'S3cret!pw' \
    --mechs PLAIN
base_config starttls alice 'S3cret!pw' | write_config

printf 'To: Rcpt <rcpt@example.org>\nBcc: hidden@example.org\nSubject: starttls plain\n\nHello, world.\nSecond line.\n' >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org hidden@example.org <"$T/msg"
assert_exit 0

assert_file_count "$SPOOL" '*.eml' 1 "server spool"
M=$SPOOL/1.eml
assert_crlf "$M"
assert_header "$M" Date '^[A-Z][a-z][a-z], [ 0-9]?[0-9] [A-Z][a-z][a-z] [0-9]{4} [0-9]{2}:[0-9]{2}(:[0-9]{2})? [-+][0-9]{4}'
assert_header "$M" Message-ID '^<[^<> ]+@[^<> ]+>$'
assert_header "$M" From 'sender@example\.org'
assert_header "$M" Subject '^starttls plain$'
assert_header "$M" To 'rcpt@example\.org'
assert_no_header "$M" Bcc
assert_no_grep_fixed hidden@example.org "$M" "message (Bcc address)"
assert_eq "$(header_count "$M" Date)" 1 "Date header count"
assert_eq "$(header_count "$M" Message-ID)" 1 "Message-ID header count"
printf 'Hello, world.\r\nSecond line.\r\n' >"$T/want.body"
eml_part "$M" body >"$T/got.body"
assert_same_file "$T/got.body" "$T/want.body" "body"

J=$SPOOL/1.json
assert_eq "$(json_get "$J" mail_from)" sender@example.org "envelope sender"
assert_eq "$(json_get "$J" rcpt_tos)" '["rcpt@example.org", "hidden@example.org"]' "recipients"
assert_eq "$(json_get "$J" tls)" true "TLS up during the transaction"
assert_eq "$(json_get "$J" auth_user)" alice "authenticated user"
assert_eq "$(json_get "$J" auth_mech)" PLAIN "mechanism"

# Plaintext: exactly EHLO then STARTTLS.
grep ' plain ' "$RECORD" | cut -d' ' -f3 | tr '\n' ' ' >"$T/plain"
assert_eq "$(cat "$T/plain")" "EHLO STARTTLS " "commands sent before TLS"
assert_grep '^1 tls EHLO ' "$RECORD" "EHLO repeated after TLS"
assert_grep '^1 tls AUTH PLAIN' "$RECORD"
assert_no_grep 'sync-error' "$RECORD"
assert_no_secret alice 'S3cret!pw' "$ERR" "$OUT"
e2e_done
