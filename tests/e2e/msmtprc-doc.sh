#!/bin/sh
# The configuration examples from msmtp's documentation work unchanged
# with -C; only values are adapted to the local test server (host, port,
# the password command), plus one tls_trust_file line for the test CA.
#   user example: defaults, STARTTLS, passwordeval, account inheritance
#                 ("account freemail2 : freemail"), "account default : x";
#   system example: implicit TLS, "from %U@...", allow_from_override off,
#                 set_from_header on, syslog.
. "$(dirname "$0")/lib.sh"
e2e_init
EX=/usr/share/doc/msmtp/examples
[ -r "$EX/msmtprc-user.example" ] || skip "msmtp's examples not installed ($EX)"
make_ca

printf 'Joe-Doc-Pw.1\n' >"$T/pw"
start_server --name user --tls starttls --user joe.smith --password Joe-Doc-Pw.1
sed -e "s|^port 587\$|port $PORT\\
tls_trust_file $CA/ca.pem|" \
    -e "s|^host smtp.freemail.example\$|host 127.0.0.1|" \
    -e "s|^passwordeval gpg2 .*|passwordeval cat $T/pw|" \
    "$EX/msmtprc-user.example" | write_config
# The adaptation must have hit every line it meant to.
for want in "port $PORT" "host 127.0.0.1" "passwordeval cat $T/pw"; do
	grep -q -x -F "$want" "$CFG" || hard_error "example changed: no '$want'"
done
sample_message >"$T/msg"
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "user example, default account"
run_postseal -C "$CFG" -a freemail2 rcpt@example.org <"$T/msg"
assert_exit 0 "user example, -a freemail2"
assert_file_count "$SPOOL" '*.eml' 2 "user example spool"
{
	assert_eq "$(json_get "$SPOOL/1.json" mail_from)" joe_smith@freemail.example "default account sender"
	assert_eq "$(json_get "$SPOOL/1.json" auth_user)" joe.smith "default account user"
}
{
	assert_eq "$(json_get "$SPOOL/2.json" mail_from)" joey@freemail.example "freemail2 sender"
	assert_eq "$(json_get "$SPOOL/2.json" auth_user)" joe.smith "freemail2 inherits user"
}

start_server --name system --tls implicit
sed -e "s|^port 465\$|port $PORT\\
tls_trust_file $CA/ca.pem|" \
    -e "s|^host mail.oursite.example\$|host 127.0.0.1|" \
    "$EX/msmtprc-system.example" | write_config
for want in "port $PORT" "host 127.0.0.1"; do
	grep -q -x -F "$want" "$CFG" || hard_error "example changed: no '$want'"
done
me=$(id -un)
printf 'From: Someone Else <else@example.org>\nTo: rcpt@example.org\nSubject: sys\n\nx\n' >"$T/msg2"
run_postseal -C "$CFG" -f other@example.org rcpt@example.org <"$T/msg2"
assert_exit 0 "system example"
assert_file_count "$SPOOL" '*.eml' 1 "system example spool"
assert_delivered 1
{
	assert_eq "$(json_get "$SPOOL/1.json" mail_from)" "$me@oursite.example" "%U sender, -f overridden"
	assert_header "$SPOOL/1.eml" From "$me@oursite\\.example"
}
e2e_done
