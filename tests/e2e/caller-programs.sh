#!/bin/sh
# The real programs from Debian's packages that call sendmail (issue 9):
# PHP mail() (php-cli), bsd-mailx "mail -s" (and apticron's mailx -a
# argv), mutt, git send-email (git-email), s-nail.  postseal is installed
# as sendmail in a test prefix and each program is pointed at it with its
# own option (nothing touches /usr/sbin/sendmail); postseal reads the user
# configuration ($XDG_CONFIG_HOME/postseal/config) as it would for them.
# Each program is skipped (not failed) when its package is missing.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "callers"
. "$E2E/callers_common.sh"
install_prefix
start_server --tls none
printf 'root: admin@example.org\n' >"$T/aliases"
mkdir -p "$XDG_CONFIG_HOME/postseal"
CFG=$XDG_CONFIG_HOME/postseal/config
printf 'aliases %s\nmaildomain example.org\n' "$T/aliases" | caller_config plain
N=0
ran=0

# next_eml WHAT: the next message the smarthost received, in $M.
next_eml() {
	N=$((N + 1))
	M=$SPOOL/$N.eml
	ran=$((ran + 1))
	assert_file_count "$SPOOL" "$N.eml" 1 "$1: received"
}

# PHP mail(): sendmail_path "sendmail -t -i", -f from the fifth argument,
# CRLF headers and a body with mixed line endings.
if command -v php >/dev/null 2>&1; then
	php -d sendmail_path="$SENDMAIL -t -i" -r '
	    exit(mail("rcpt@example.org", "php subject",
	        "line1\r\nline2\nline3\r\n.\nend",
	        "From: app@example.org\r\nCc: cc@example.org",
	        "-fbounce@example.org") ? 0 : 1);' >"$T/php.out" 2>&1
	assert_eq "$?" 0 "php mail() with From"
	next_eml "php mail()"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["rcpt@example.org", "cc@example.org"]' "php: recipients"
	assert_eq "$(json_get "$SPOOL/$N.json" mail_from)" bounce@example.org "php: -f"
	assert_header "$M" From '^app@example\.org$'
	assert_header "$M" Subject '^php subject$'
	assert_crlf "$M"
	printf 'line1\r\nline2\r\nline3\r\n.\r\nend\r\n' >"$T/php.want"
	eml_part "$M" body >"$T/php.got"
	assert_same_file "$T/php.got" "$T/php.want" "php: body"
	php -d sendmail_path="$SENDMAIL -t -i" -r '
	    exit(mail("root", "no from", "x") ? 0 : 1);' >"$T/php.out" 2>&1
	assert_eq "$?" 0 "php mail() without From, to root"
	next_eml "php mail() without From"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["admin@example.org"]' "php: root aliased"
	assert_header "$M" From '^sender@example\.org$'
	assert_header "$M" To '^root@example\.org$'
else
	e2e_log "SKIP (partly): php-cli is not installed"
fi

# bsd-mailx: "mail -s", sendmail from a MAILRC file; then apticron's argv.
if [ -x /usr/bin/bsd-mailx ]; then
	printf 'set sendmail=%s\n' "$SENDMAIL" >"$T/mailrc"
	printf 'mailx body\n' | MAILRC=$T/mailrc /usr/bin/bsd-mailx \
	    -s "bsd-mailx subject" root >"$T/mailx.out" 2>&1
	assert_eq "$?" 0 "bsd-mailx"
	next_eml "bsd-mailx"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["admin@example.org"]' "bsd-mailx: root aliased"
	assert_header "$M" To '^root@example\.org$'
	assert_header "$M" Subject '^bsd-mailx subject$'
	printf 'apticron: 2 updates \303\251\n' | MAILRC=$T/mailrc /usr/bin/bsd-mailx \
	    -a "MIME-Version: 1.0" -a "Content-type: text/plain; charset=UTF-8" \
	    -a "Content-transfer-encoding: 8bit" \
	    -s "2 Debian package update(s) for vm" root >"$T/mailx.out" 2>&1
	assert_eq "$?" 0 "apticron through bsd-mailx"
	next_eml "apticron"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["admin@example.org"]' "apticron: root aliased"
	printf 'apticron: 2 updates \303\251\r\n' >"$T/apt.want"
	eml_part "$M" body >"$T/apt.got"
	assert_same_file "$T/apt.got" "$T/apt.want" "apticron: 8-bit body"
else
	e2e_log "SKIP (partly): bsd-mailx is not installed"
fi

# mutt: "sendmail -oem -oi -- rcpts".
if command -v mutt >/dev/null 2>&1; then
	cat >"$T/muttrc" <<MUTTRC
set sendmail="$SENDMAIL -oem -oi"
set from=me@example.org
set use_from=yes
set record=""
set folder=$T
set spoolfile=/dev/null
MUTTRC
	printf 'mutt body\n' | mutt -n -F "$T/muttrc" -s "mutt subject" \
	    -c cc@example.org rcpt@example.org >"$T/mutt.out" 2>&1
	assert_eq "$?" 0 "mutt"
	next_eml "mutt"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["rcpt@example.org", "cc@example.org"]' "mutt: recipients"
	assert_header "$M" From '<me@example\.org>$'
	assert_header "$M" Subject '^mutt subject$'
else
	e2e_log "SKIP (partly): mutt is not installed"
fi

# git send-email --smtp-server=PATH: "sendmail -i rcpts".
if [ -x "$(git --exec-path 2>/dev/null)/git-send-email" ]; then
	git init -q "$T/repo" && (
		cd "$T/repo" && git config user.email dev@example.org &&
		    git config user.name "Dev Eloper" && echo x >f &&
		    git add f && git commit -qm "a change" &&
		    git format-patch -q -1 -o "$T/patches"
	) >/dev/null 2>&1 || hard_error "cannot make a patch"
	(cd "$T/repo" && git send-email --smtp-server="$SENDMAIL" \
	    --to=rcpt@example.org --from="Dev <dev@example.org>" \
	    --confirm=never --quiet "$T"/patches/*.patch) >"$T/git.out" 2>&1
	assert_eq "$?" 0 "git send-email"
	next_eml "git send-email"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["rcpt@example.org", "dev@example.org"]' "git: recipients"
	assert_header "$M" Subject '^\[PATCH\] a change$'
	assert_grep_fixed '+x' "$M" "git: the patch"
else
	e2e_log "SKIP (partly): git-email is not installed"
fi

# s-nail: -S mta=PATH, "sendmail -i -- rcpts".
if command -v s-nail >/dev/null 2>&1; then
	printf 's-nail body\n' | s-nail -n -S mta="$SENDMAIL" \
	    -s "s-nail subject" root >"$T/snail.out" 2>&1
	assert_eq "$?" 0 "s-nail"
	next_eml "s-nail"
	assert_eq "$(json_get "$SPOOL/$N.json" rcpt_tos)" '["admin@example.org"]' "s-nail: root aliased"
	assert_header "$M" Subject '^s-nail subject$'
else
	e2e_log "SKIP (partly): s-nail is not installed"
fi
[ "$ran" -gt 0 ] || skip "none of php-cli, bsd-mailx, mutt, git-email, s-nail is installed"
assert_queue_empty
e2e_done
