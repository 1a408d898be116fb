#!/bin/sh
# sendmail options: -X FILE is ignored with a warning (and FILE is not
# written); options that mean nothing here (-oi -oem -odi -bm -em -U -L
# -N and friends) are accepted; -- ends the options.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "msmtp implements -X as its log file"
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config
sample_message >"$T/msg"

run_postseal -C "$CFG" -X "$T/xlog" rcpt@example.org <"$T/msg"
assert_exit 0 "-X FILE"
assert_grep '(^|[^A-Za-z])-X' "$ERR" "stderr warns about -X"
ok
[ -e "$T/xlog" ] && fail "-X FILE was created"

run_postseal -C "$CFG" -oi -oem -odi -bm -em -U -L tag -- rcpt@example.org <"$T/msg"
assert_exit 0 "ignored sendmail options"
assert_no_grep '.' "$OUT" "stdout (nothing printed)"
assert_file_count "$SPOOL" '*.eml' 2 "server spool"
assert_delivered 2
assert_eq "$(json_get "$SPOOL/2.json" rcpt_tos)" '["rcpt@example.org"]' "recipients after --"

# --help names every mode a user may look for there.
run_postseal --help
assert_exit 0 "--help"
for m in -bs -bi --serverinfo --check-domain --doctor --inspect \
    --trusted-hosts --oauth2-login --dkim-verify --queue-run-due \
    --configure; do
	assert_grep_fixed "$m" "$OUT" "--help names $m"
done
e2e_done
