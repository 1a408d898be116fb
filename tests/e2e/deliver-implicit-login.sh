#!/bin/sh
# Implicit TLS (tls_starttls off) + AUTH LOGIN; CRLF input stays as it is;
# the server saw no plaintext at all.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls implicit --user bob@example.org --password 'pa ss:word' \
    --mechs LOGIN
{ base_config implicit bob@example.org 'pa ss:word'; echo 'auth login'; } |
    write_config

printf 'From: Bob <bob@example.org>\r\nTo: rcpt@example.org\r\nSubject: implicit\r\nDate: Thu, 01 Jan 2015 00:00:00 +0000\r\nMessage-ID: <fixed.1@example.org>\r\n\r\nLine 1\r\nLine 2\r\n' >"$T/msg"
run_postseal -C "$CFG" -f bob@example.org rcpt@example.org <"$T/msg"
assert_exit 0
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
M=$SPOOL/1.eml
assert_crlf "$M"
# Existing Date, Message-ID and From are kept, not duplicated.
assert_same_file "$M" "$T/msg" "received message"
J=$SPOOL/1.json
assert_eq "$(json_get "$J" tls)" true "TLS"
assert_eq "$(json_get "$J" auth_user)" bob@example.org "authenticated user"
assert_eq "$(json_get "$J" auth_mech)" LOGIN "mechanism"
assert_eq "$(json_get "$J" mail_from)" bob@example.org "envelope sender"
assert_no_grep '^[0-9]+ plain ' "$RECORD" "record (plaintext lines)"
assert_grep '^1 tls AUTH LOGIN' "$RECORD"
assert_no_secret bob@example.org 'pa ss:word' "$ERR" "$OUT"
e2e_done
