#!/bin/sh
# -bs as Symfony Mailer (and Laravel) use it: the real SendmailTransport
# from Debian's php-symfony-mailer runs "sendmail -bs" through proc_open
# and speaks SMTP to it; postseal is installed as sendmail in a test
# prefix and delivers to the test smarthost (issue 9).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "-bs"
. "$E2E/callers_common.sh"
need_cmd php
[ -f /usr/share/php/Symfony/Component/Mailer/autoload.php ] ||
    skip "php-symfony-mailer is not installed"
install_prefix
start_server --tls none
: | caller_config plain

run_php() {
	e2e_log "run: php bs-symfony.php '$1'"
	timeout -k 5 120 php "$E2E/bs-symfony.php" "$1" app@example.org \
	    rcpt@example.org hidden@example.org >"$T/php.out" 2>"$T/php.err"
	PHP_RC=$?
	sed 's/^/  php: /' "$T/php.out" "$T/php.err" | head -n 20
}

run_php "$SENDMAIL -C $CFG -bs"
assert_eq "$PHP_RC" 0 "php exit status"
assert_grep '^sent 2$' "$T/php.out"
assert_file_count "$SPOOL" '*.eml' 2 "server spool"
for n in 1 2; do
	assert_eq "$(json_get "$SPOOL/$n.json" rcpt_tos)" \
	    '["rcpt@example.org", "hidden@example.org"]' "recipients of $n"
	assert_eq "$(json_get "$SPOOL/$n.json" mail_from)" app@example.org \
	    "sender of $n"
	assert_header "$SPOOL/$n.eml" Subject "^symfony $n\$"
	assert_no_header "$SPOOL/$n.eml" Bcc
	assert_crlf "$SPOOL/$n.eml"
	# The lone dot and the leading dots arrive as Symfony wrote them
	# (it ends the data with "\r\n.\r\n" after the body's own CRLF:
	# the empty last line is Symfony's, any MTA receives it).
	eml_part "$SPOOL/$n.eml" body >"$T/body$n"
	printf 'first line\r\n.\r\nafter a lone dot\r\n.. two dots\r\nend %s\r\n\r\n' $n >"$T/want$n"
	assert_same_file "$T/body$n" "$T/want$n" "body of message $n"
done

# A refusal by the smarthost reaches the application as an exception
# (554), not as a silent success.
start_server --name refuse --tls none --fault dot:5xx
: | caller_config plain
run_php "$SENDMAIL -C $CFG -bs"
assert_eq "$PHP_RC" 1 "php exit status when the smarthost refuses"
assert_grep 'error after 0: .*TransportException.*554' "$T/php.out"
assert_nothing_delivered

# No queue, no 250: the application is told to retry (451).
start_server --name noqueue --tls none
: >"$T/not-a-dir"
base_config plain | sed "s|^queue_dir .*|queue_dir $T/not-a-dir/q|" |
    write_config
run_php "$SENDMAIL -C $CFG -bs"
assert_eq "$PHP_RC" 1 "php exit status when nothing can be queued"
assert_grep 'error after 0: .*451' "$T/php.out"
assert_nothing_delivered
e2e_done
