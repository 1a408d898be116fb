#!/bin/sh
# "aliases_headers on" (issue 9): the aliases file also rewrites the local
# addresses (bare, @localhost, @<host name>) of the From, To and Cc header
# fields, display names and comments kept ("root (Cron Daemon)" becomes
# "Cron Daemon <admin@example.org>"); a name that stands for several
# addresses is only qualified; the result is folded validly and DKIM signs
# the rewritten header.  Off (the default, as msmtp and Postfix's
# sendmail leave headers alone): only qualified.  Checked on the exact
# bytes the smarthost received.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
dkim_keygen ed25519 ed example.org
start_server --tls none
host=$(hostname)
cat >"$T/aliases" <<'ALIASES'
root:       admin@example.org
ops:        ops@example.net
postmaster: root
team:       a@example.org, b@example.org
ALIASES
# conf [EXTRA...]: aliases, maildomain, DKIM for example.org.
conf() {
	{
		base_config plain | sed '/^from /d'
		printf 'aliases %s\nmaildomain example.org\n' "$T/aliases"
		printf 'dkim_domain example.org\ndkim_key ed ed25519 %s\n' \
		    "$T/ed.key"
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
	} | write_config
}
# Debian cron's header, and lists with the other local forms.
{
	printf 'From: root (Cron Daemon)\r\n'
	printf 'To: root, "Ops Team" <ops@localhost>,\r\n someone@example.com\r\n'
	printf 'Cc: Post Master <postmaster@%s>, nobody, team\r\n' "$host"
	printf 'Subject: aliased headers\r\n\r\nbody\r\n'
} >"$T/msg"

# headers FILE: the received header without Date, Message-ID and the
# DKIM-Signature (random or time-dependent), bytes as received.
headers() {
	"$PYTHON" - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
fields = re.findall(rb"[^\r\n]+\r\n(?:[ \t][^\r\n]*\r\n)*", head)
skip = (b"date:", b"message-id:", b"dkim-signature:")
sys.stdout.buffer.write(b"".join(f for f in fields
                                 if not f.lower().startswith(skip)))
PY
}

# ---- 1. on ----
conf "aliases_headers on"
run_postseal -C "$CFG" -FCronDaemon -i -oem root <"$T/msg"
assert_exit 0 "aliases_headers on"
f=$SPOOL/1.eml
assert_eq "$(json_get "$SPOOL/1.json" rcpt_tos)" '["admin@example.org"]' \
    "envelope aliased as before"
{
	printf 'From: Cron Daemon <admin@example.org>\r\n'
	printf 'To: admin@example.org, "Ops Team" <ops@example.net>, someone@example.com\r\n'
	printf 'Cc: Post Master <admin@example.org>, nobody@example.org, team@example.org\r\n'
	printf 'Subject: aliased headers\r\n'
} >"$T/want1"
headers "$f" >"$T/got1"
assert_same_file "$T/got1" "$T/want1" "on: the header bytes received"
assert_eq "$(header_count "$f" DKIM-Signature)" 1 "signed"
verify_everywhere "$f" "on: DKIM over the rewritten header"

# A long list: refolded, every line within 78 bytes, continuation lines
# start with a blank, and the unfolded value is the rewritten list.
{
	printf 'From: root\r\nTo: root'
	for i in 1 2 3 4 5 6 7 8; do
		printf ', "Operator Number %s" <ops@localhost>' "$i"
	done
	printf '\r\nSubject: long\r\n\r\nbody\r\n'
} >"$T/long"
run_postseal -C "$CFG" -i root <"$T/long"
assert_exit 0 "long To"
f=$SPOOL/2.eml
headers "$f" | awk 'length($0) > 79 { bad = 1 } END { exit bad }' ||
    fail "long To: a line over 78 bytes"
ok
headers "$f" | grep -c '^ ' | grep -qx 4 || fail "long To: on 5 lines"
ok
to=$(header_value "$f" To)
want='admin@example.org'
for i in 1 2 3 4 5 6 7 8; do
	want="$want, \"Operator Number $i\" <ops@example.net>"
done
assert_eq "$(printf '%s' "$to" | tr -s ' ')" "$want" "long To: rewritten list"
assert_grep '^To: admin@example\.org, "Operator Number 1" <ops@example\.net>,.?$' \
    "$f" "long To: folded after a comma"
verify_everywhere "$f" "long To: DKIM"

# ---- 2. off (the default): only qualified ----
conf
run_postseal -C "$CFG" -FCronDaemon -i -oem root <"$T/msg"
assert_exit 0 "aliases_headers off"
f=$SPOOL/3.eml
{
	printf 'From: Cron Daemon <root@example.org>\r\n'
	printf 'To: root@example.org, "Ops Team" <ops@localhost>, someone@example.com\r\n'
	printf 'Cc: Post Master <postmaster@%s>, nobody@example.org, team@example.org\r\n' "$host"
	printf 'Subject: aliased headers\r\n'
} >"$T/want3"
headers "$f" >"$T/got3"
assert_same_file "$T/got3" "$T/want3" "off: only qualified"
assert_eq "$(json_get "$SPOOL/3.json" rcpt_tos)" '["admin@example.org"]' \
    "off: the envelope is still aliased"

# ---- 3. a bad value ----
conf "aliases_headers maybe"
run_postseal -C "$CFG" -bi
assert_exit 78 "aliases_headers maybe"
assert_grep "aliases_headers expects on or off" "$ERR" "bad value named"
dkim_done
