#!/bin/sh
# passwordeval: the command's output (final newline stripped) is the
# password; a command that fails is an error and nothing is sent; the
# password from the command never shows up in the output.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
start_server --tls starttls --user u --password 'Eval-Pw-42 x'
printf 'Eval-Pw-42 x\n' >"$T/pw"
sample_message >"$T/msg"

{ base_config starttls; echo 'auth on'; echo 'user u'; echo "passwordeval cat $T/pw"; } |
    sed '/^auth off$/d' | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "passwordeval cat"
assert_delivered 1
assert_eq "$(json_get "$SPOOL/1.json" auth_user)" u "authenticated user"
assert_no_secret u 'Eval-Pw-42 x' "$ERR" "$OUT"

{ base_config starttls; echo 'auth on'; echo 'user u'; echo 'passwordeval exit 3'; } |
    sed '/^auth off$/d' | write_config
n=$(grep -c . "$RECORD")
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
ok
[ "$RC" = 0 ] && fail "a failing passwordeval: exit 0"
assert_exit_in "75 77 78" "a failing passwordeval"
assert_grep_i 'passwordeval|password|exit 3' "$ERR" "stderr (names passwordeval or its command)"
assert_eq "$(sed -n "$((n + 1)),\$p" "$RECORD" | grep -c ' AUTH ')" 0 "AUTH after a failing passwordeval"
assert_file_count "$SPOOL" '*.eml' 1 "server spool"
e2e_done
