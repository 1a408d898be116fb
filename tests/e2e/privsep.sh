#!/bin/sh
# privsep.sh -- the system install's privilege model (issue 10, SECURITY.md
# section P): "make install" + "make install-system" as root, one system
# account (accounts/sys.conf, 0640 root:GROUP, no config file beside it),
# then a local user outside every group sends with plain sendmail through
# the setgid drop step, root's queue run (as the sender user, which it
# becomes) takes the message from incoming/ and sends it with the
# account's password, and an attacker user tries to
# get that password or abuse the spool.  The password is a random string;
# nothing the attacker could read may hold it.
#
# Runs in a private mount namespace with an overlay on the configured
# prefix, so the install never touches the machine's files; the users and
# groups it creates (unique names) are removed at the end.  Needs root.
if [ -z "${PRIVSEP_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "privsep: SKIP: needs root (users, groups, a setgid program)"
		exit 77
	fi
	command -v unshare >/dev/null 2>&1 || {
		echo "privsep: SKIP: unshare (util-linux) missing"
		exit 77
	}
	PRIVSEP_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/queue_common.sh"
e2e_init
postseal_only
[ -n "${INSTALL_PATHS:-}" ] || skip "run from make check (needs INSTALL_PATHS)"
eval "$INSTALL_PATHS"
for c in useradd userdel groupadd groupdel setpriv getent make; do
	need_cmd "$c"
done
grep -q '^NoNewPrivs:[[:space:]]*0' /proc/self/status ||
    skip "no_new_privs is set: set-id programs cannot work here"
case $prefix in
/ | /usr | "") skip "prefix $prefix: the overlay would cover the system" ;;
esac
for d in "$confdir" "$queuedir" "$pkglibexecdir" "$bindir" "$sbindir"; do
	case $d in
	"$prefix"/*) ;;
	*) skip "$d is not under the prefix $prefix" ;;
	esac
done

# The overlay: writes under the prefix go to a tmpfs of this namespace.
mkdir -p "$T/ov"
mount -t tmpfs -o mode=755 tmpfs "$T/ov" || skip "cannot mount a tmpfs"
mkdir -p "$T/ov/up" "$T/ov/work" "$prefix"
mount -t overlay overlay \
    -o "lowerdir=$prefix,upperdir=$T/ov/up,workdir=$T/ov/work" "$prefix" ||
    skip "cannot mount an overlay on $prefix"
at_cleanup "umount -l '$prefix' 2>/dev/null; umount -l '$T/ov' 2>/dev/null"

# Users and groups with names of this run only.
tag=$$
PG=pstg$tag
DG=pstd$tag
U1=pstu$tag
U2=psta$tag
SU=psts$tag
at_cleanup "userdel '$U1' 2>/dev/null; userdel '$U2' 2>/dev/null; \
    userdel '$SU' 2>/dev/null; \
    groupdel '$DG' 2>/dev/null; groupdel '$PG' 2>/dev/null; \
    groupdel '$U1' 2>/dev/null; groupdel '$U2' 2>/dev/null"
for u in "$U1" "$U2"; do
	useradd -M -U -d /nonexistent -s /bin/sh "$u" ||
	    hard_error "useradd $u"
done

make -s -C "$top_builddir" install >"$T/install.out" 2>&1
RC=$?
assert_exit 0 "make install"
make -s -C "$top_builddir" install-system POSTSEAL_GROUP="$PG" \
    DROP_GROUP="$DG" SENDER_USER="$SU" >"$T/install-system.out" 2>&1
RC=$?
assert_exit 0 "make install-system"
DROP=$pkglibexecdir/postseal-drop
INC=$queuedir/incoming
assert_eq "$(stat -c '%a %U %G' "$DROP")" "2755 root $DG" "drop: setgid"
assert_eq "$(stat -c '%a %U %G' "$INC")" "1770 $SU $DG" "incoming/"
assert_eq "$(stat -c '%a %U %G' "$queuedir")" "710 $SU $DG" "system queue"
assert_eq "$(id -gn "$SU") $(id -Gn "$SU" | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "$PG $(printf '%s\n' "$DG" "$PG" | sort | tr '\n' ' ')" \
    "the sender user: group $PG, and $DG"
assert_eq "$(getent passwd "$SU" | cut -d: -f6,7)" \
    "/nonexistent:/usr/sbin/nologin" "the sender user: no home, no shell"
assert_eq "$(stat -c '%a %U %G' "$confdir/accounts")" "750 root $PG" \
    "accounts/"

# The system account: accounts/ only, no config file (the file-selection
# bug: the system queue was used only when config existed).
make_ca
# The sender reads the trust file: where the test's private $T is not.
install -m 644 "$CA/ca.pem" "$confdir/ca.pem"
SECRET=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
start_server --tls starttls --user sysuser --password "$SECRET"
{
	printf 'account sys\nhost localhost\nport %s\n' "$PORT"
	printf 'tls on\ntls_starttls on\ntls_trust_file %s\n' "$confdir/ca.pem"
	printf 'timeout 10\ndomain client.example.org\n'
	printf 'from sender@example.org\nrewrite_local_from on\n'
	printf 'auth on\nuser sysuser\n'
	printf 'password %s\n' "$SECRET"
} >"$confdir/accounts/sys.conf"
chown root:"$PG" "$confdir/accounts/sys.conf"
chmod 640 "$confdir/accounts/sys.conf"
SENDMAIL=$sbindir/sendmail
PS=$bindir/postseal

# as USER CMD...: run CMD as USER, no supplementary group, an environment
# of our choosing; stdout and stderr to $T/as.out (readable by us only),
# appended to $T/attacker.all, the whole of what the users saw.
as() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$_u" --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME=/nonexistent LOGNAME="$_u" "$@" \
	    >"$T/as.out" 2>&1
	RC=$?
	cat "$T/as.out" >>"$T/attacker.all"
	sed 's/^/  as: /' "$T/as.out" | head -n 20
}
# out_of_reach USER PID WHAT: USER can neither read PID's environ or mem,
# nor list its descriptors, nor trace it.
out_of_reach() {
	for _f in environ mem; do
		as "$1" cat "/proc/$2/$_f"
		[ "$RC" -ne 0 ] || fail "$1 read /proc/PID/$_f of $3"
	done
	as "$1" ls "/proc/$2/fd"
	[ "$RC" -ne 0 ] || fail "$1 listed /proc/PID/fd of $3"
	if command -v gdb >/dev/null 2>&1; then
		as "$1" gdb -batch -p "$2"
		assert_grep 'ptrace|Operation not permitted|not permitted' \
		    "$T/as.out" "ptrace of $3 refused"
	fi
}
n_incoming() {
	find "$INC" -mindepth 1 -maxdepth 1 | wc -l
}

# ---- 1. a local user sends with plain sendmail ----
printf 'Subject: from a user\n\nhello from cron\n' >"$T/msg"
chmod 644 "$T/msg"
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/msg"
assert_exit 0 "user: sendmail through the drop step"
assert_eq "$(n_incoming)" 1 "one record in incoming/"
f=$(find "$INC" -mindepth 1 -maxdepth 1 | head -n 1)
assert_match "$(basename "$f")" "^$(id -u "$U1")-[0-9a-f]{20}\$" \
    "record named uid-id"
assert_eq "$(stat -c '%U %G %a %h' "$f")" "$U1 $DG 640 1" "record owner"
assert_grep "^uid $(id -u "$U1")\$" "$f" "the drop step recorded the uid"
assert_nothing_delivered

# Root's queue run takes it, signs and sends with the account.
run_postseal_as_root() {
	OUT=$T/root.out
	ERR=$T/root.err
	timeout -k 5 60 "$PS" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	sed 's/^/  root: /' "$ERR" | head -n 20
}
# Root's queue run goes on as the sender user: its caches for the system
# account (TLS sessions here) go to the system queue's state/, not root's
# home, and nothing of the queue is root's.
RH=$T/roothome
mkdir -m 700 "$RH"
run_postseal_as_root_home() {
	OUT=$T/root.out
	ERR=$T/root.err
	env -u XDG_STATE_HOME HOME="$RH" timeout -k 5 60 "$PS" "$@" \
	    >"$OUT" 2>"$ERR"
	RC=$?
	sed 's/^/  root: /' "$ERR" | head -n 20
}
run_postseal_as_root_home -v -q
assert_exit 0 "root: -q"
assert_eq "$(stat -c '%a %U' "$queuedir/state" "$queuedir/state/tls")" \
    "700 $SU
700 $SU" "the sender's caches: the system queue's state/, 0700 $SU"
assert_eq "$(find "$queuedir/state/tls" -type f -user "$SU" -perm 600 |
    wc -l)" 1 "the sender's caches: the TLS session of the system account"
assert_eq "$(find "$queuedir" -user root | wc -l)" 0 \
    "nothing in the system queue is root's after root's run"
assert_eq "$(find "$RH" -mindepth 1 | wc -l)" 0 \
    "root's caches: nothing under HOME"
assert_eq "$(n_incoming)" 0 "incoming/ emptied"
assert_eq "$(spool_count 'from a user')" 1 "delivered once"
m=$(grep -l 'from a user' "$SPOOL"/*.eml | head -n 1)
assert_grep '^From: .*sender@example.org' "$m" "From is the account's"
assert_eq "$(find "$queuedir/active" -mindepth 1 | wc -l)" 0 \
    "system queue empty after the run"

# Root itself sends directly through the system account (no drop step).
printf 'Subject: from root itself\n\nhello\n' | run_postseal_as_root -i rcpt@example.org
assert_exit 0 "root: direct send with accounts/ only"
assert_eq "$(n_incoming)" 0 "root never uses incoming/"
assert_eq "$(spool_count 'from root itself')" 1 "root's message delivered"
assert_eq "$(find "$queuedir" -user root | wc -l)" 0 \
    "nothing in the system queue is root's after root's send"

# ---- 1b. -bs (Symfony Mailer, Laravel) and mailq --json, as a user ----
# Each message of the dialogue goes through the drop step: 250 only once
# it is in incoming/, the policy's refusals as SMTP replies.
BD=$(mktemp -d /tmp/postseal-bs.XXXXXX) || hard_error "mktemp"
at_cleanup "rm -rf '$BD'"
chmod 755 "$BD"
cp "$top_srcdir/tests/e2e/bs-client.py" "$BD/bs-client.py"
chmod 644 "$BD/bs-client.py"
cat >"$BD/script" <<'SCRIPT'
expect 220
send EHLO app.example
expect 250
send MAIL FROM:<ceo@bank.example>
expect 550
send MAIL FROM:<>
expect 250
send RCPT TO:<rcpt@example.org>
expect 250
send DATA
expect 354
send From: The CEO <ceo@bank.example>
send Subject: bs forged
send
send forged
send .
expect 550
send MAIL FROM:<>
expect 250
send RCPT TO:<rcpt@example.org>
expect 250
send DATA
expect 354
send Subject: bs one
send
send first
send .
expect 250
send MAIL FROM:<>
expect 250
send RCPT TO:<rcpt2@example.org>
expect 250
send DATA
expect 354
send Subject: bs two
send
send second
send .
expect 250
send QUIT
expect 221
SCRIPT
chmod 644 "$BD/script"
touch "$BD/bs.transcript"
chown "$U1" "$BD/bs.transcript"
as "$U1" /usr/bin/python3 "$BD/bs-client.py" "$BD/script" \
    "$BD/bs.transcript" -- "$SENDMAIL" -bs
assert_exit 0 "user: -bs dialogue through the drop step"
sed 's/^/  bs: /' "$BD/bs.transcript" | head -n 40
cat "$BD/bs.transcript" >>"$T/attacker.all"
assert_eq "$(grep -c "^< 550 5.7.1 Refused: sender 'ceo@bank.example' is not allowed" "$BD/bs.transcript")" 2 \
    "-bs: a foreign MAIL FROM and From: are 550 5.7.1, saying why"
assert_eq "$(grep -c '^< 250 2.0.0' "$BD/bs.transcript")" 2 \
    "-bs: two messages acknowledged"
assert_eq "$(n_incoming)" 2 "-bs: two records in incoming/, not the forged"
# Another user's message, which the first user's listing must not show.
printf 'Subject: other user\n\nnot yours\n' >"$T/other"
chmod 644 "$T/other"
as "$U2" "$SENDMAIL" -i other@example.org <"$T/other"
assert_exit 0 "second user: sendmail"
as "$U1" "$bindir/mailq" --json
assert_exit 0 "user: mailq --json"
cp "$T/as.out" "$BD/mailq.json"
/usr/bin/python3 - "$BD/mailq.json" <<'PY' >"$BD/mailq.check"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = {"id", "state", "queue", "account", "size", "created", "age",
        "sender", "recipients", "delivered", "attempts", "next_try",
        "last_code", "last_error", "held", "needs_admin", "message_id"}
for r in rows:
    assert set(r) == keys, sorted(set(r) ^ keys)
print(" ".join(sorted(x for r in rows for x in r["recipients"])))
PY
RC=$?
assert_exit 0 "mailq --json parses with the -bp --json schema"
assert_eq "$(cat "$BD/mailq.check")" \
    "rcpt2@example.org rcpt@example.org" \
    "mailq --json: exactly the user's two entries"
as "$U2" "$bindir/mailq" --json
assert_exit 0 "second user: mailq --json"
assert_eq "$(grep -c '"other@example.org"' "$T/as.out")" 1 \
    "second user: sees their entry"
assert_no_grep 'rcpt2@example.org' "$T/as.out" \
    "second user: not the first user's"
# A UTF-8 recipient (RFC 6531) is shown as it is, not as U+FFFD.
printf 'Subject: utf8 rcpt\n\nhi\n' >"$T/u8"
chmod 644 "$T/u8"
as "$U2" "$SENDMAIL" -i 'jürgen@example.org' <"$T/u8"
assert_exit 0 "second user: a message to a UTF-8 address"
as "$U2" "$bindir/mailq" --json
/usr/bin/python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
print(" ".join(x for r in rows for x in r["recipients"]))' "$T/as.out" \
    >"$BD/u8.check"
assert_grep_fixed 'jürgen@example.org' "$BD/u8.check" \
    "mailq --json: the UTF-8 recipient as it is"
rm -f "$(grep -l 'utf8 rcpt' "$INC"/* | head -n 1)"
run_postseal_as_root -q
assert_exit 0 "root: -q after -bs"
assert_eq "$(spool_count 'bs one')" 1 "-bs: first message delivered"
assert_eq "$(spool_count 'bs two')" 1 "-bs: second message delivered"
assert_eq "$(spool_count 'bs forged')" 0 "-bs: the refused one was not"
assert_eq "$(spool_count 'other user')" 1 "the second user's delivered"
assert_no_secret sysuser "$SECRET" "$BD/bs.transcript"

# ---- 2. the attacker: the account file, -C, -v/-d, environment ----
as "$U2" cat "$confdir/accounts/sys.conf"
assert_exit 1 "attacker: cat the account file"
as "$U2" "$PS" -C "$confdir/accounts/sys.conf" -i rcpt@example.org
assert_exit_in "66 78" "attacker: -C the account file"
as "$U2" "$PS" -C "$confdir/accounts/sys.conf" --serverinfo
assert_eq "$(n_incoming)" 0 "-C never reaches the drop step"
as "$U2" env TMPDIR=/nonexistent "$PS" -i rcpt@example.org <"$T/msg"
assert_exit 75 "attacker: TMPDIR only harms the attacker's own process"
as "$U2" env GNUTLS_DEBUG_LEVEL=99 LD_PRELOAD=/nonexistent.so \
    XDG_STATE_HOME=/nonexistent "$PS" -v -i rcpt@example.org <"$T/msg"
assert_exit 0 "attacker: -v with a hostile environment, via drop"
as "$U2" "$SENDMAIL" -i -f ceo@bank.example rcpt@example.org <"$T/msg"
assert_exit 77 "no policy file: a foreign -f is refused at once"
assert_grep "sender 'ceo@bank.example' is not allowed" "$T/as.out" \
    "the refusal names the sender"
printf 'From: The CEO <ceo@bank.example>\nSubject: forged\n\nx\n' >"$T/forged"
chmod 644 "$T/forged"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/forged"
assert_exit 77 "a foreign From: header is refused at once"
assert_grep "sender 'ceo@bank.example' is not allowed" "$T/as.out" \
    "the refusal names the From address"
printf 'From: Cron Daemon <root>\nSubject: cron local\n\ncron\n' >"$T/cron"
chmod 644 "$T/cron"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/cron"
assert_exit 0 "a local From: (cron's) is not refused"
as "$U2" "$PS" -a sys --serverinfo
assert_eq "$(n_incoming)" 2 "the attacker's messages wait in incoming/"

# ---- 3. the spool: list, plant, overwrite ----
as "$U2" ls "$INC"
assert_exit 2 "attacker: list incoming/"
as "$U2" ln -s "$confdir/accounts/sys.conf" "$INC/$(id -u "$U2")-0000000000000000aaaa"
[ "$RC" -ne 0 ] || fail "attacker planted a symlink in incoming/"
as "$U2" sh -c "echo x >'$queuedir/active/x'"
[ "$RC" -ne 0 ] || fail "attacker wrote into the system queue"

# A record that names a file, has data after the message, or is garbage:
# refused by the drop step, nothing left.
printf 'postseal-drop 1\npostseal-queue 1\nid 00000000000000000000\naccount *\nfrom <>\nrcpt <rcpt@example.org>\nbody8bit 0\nsmtputf8 0\nsize 3\ncreated 1\nattempts 0\nnext 1\nheld f=0 B=- F=\nend\nabcdEXTRA' >"$T/rec.bad"
chmod 644 "$T/rec.bad"
as "$U2" "$DROP" <"$T/rec.bad"
assert_exit 65 "drop: data after the message"
assert_grep 'data after the message' "$T/as.out" "drop: says why"
printf 'postseal-drop 1\nmsg /etc/shadow\nend\n' >"$T/rec.bad2"
chmod 644 "$T/rec.bad2"
as "$U2" "$DROP" <"$T/rec.bad2"
assert_exit 65 "drop: a record naming a file"
as "$U2" "$DROP" </dev/null
assert_exit 65 "drop: empty input"
assert_eq "$(n_incoming)" 2 "refused records leave nothing"

# ---- 4. /proc and ptrace of the drop step; kill it halfway ----
# held_drop NAME SIZE BYTES: a drop step of U2's, fed the first BYTES of
# a record declaring SIZE message bytes through the FIFO $T/NAME, then
# nothing for 30 s; its pid in dpid, its feeder's in feeder, its output
# in $T/NAME.out.
held_drop() {
	mkfifo "$T/$1"
	chmod 666 "$T/$1"
	{ sed "s/size 3/size $2/" "$T/rec.bad" | head -c "$3"; sleep 30; } \
	    >"$T/$1" &
	feeder=$!
	track_pid "$feeder"
	setpriv --reuid="$U2" --regid="$U2" --clear-groups env -i "$DROP" \
	    <"$T/$1" >"$T/$1.out" 2>&1 &
	dpid=$!
	track_pid "$dpid"
}
held_drop halfway 100000 300
sleep 1
out_of_reach "$U2" "$dpid" "the drop step"
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
kill "$feeder" 2>/dev/null
assert_eq "$(find "$INC" -name "t*" | wc -l)" 1 \
    "killed halfway: a partial t* record"
run_postseal_as_root -q
assert_exit 0 "root: -q after the kill"
assert_eq "$(spool_count 'from a user')" 2 \
    "the attacker's whole message sent, the partial one not"
assert_eq "$(spool_count 'cron local')" 1 "the local From: one sent"
m=$(grep -l 'Subject: cron local' "$SPOOL"/*.eml | head -n 1)
assert_header "$m" From '^Cron Daemon <sender@example\.org>$'
assert_eq "$(find "$INC" -name "t*" | wc -l)" 1 \
    "the partial record waits to be swept"
# The account's sender, not the attacker's -f.
assert_no_grep_fixed 'MAIL FROM:<ceo@bank.example>' "$RECORD" \
    "a local user cannot choose a foreign envelope sender"
assert_grep_fixed "MAIL FROM:<sender@example.org>" "$RECORD" "the account's"

# ---- 5. the per-user limit ----
i=0
while [ $i -lt 100 ]; do
	setpriv --reuid="$U2" --regid="$U2" --clear-groups env -i \
	    "$SENDMAIL" -i rcpt@example.org <"$T/msg" >/dev/null 2>&1 ||
	    break
	i=$((i + 1))
done
assert_eq "$i" 99 "the limit: 100 records at once, the partial one counts"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/msg"
assert_exit 75 "over the limit: try later"
assert_grep 'limit' "$T/as.out" "over the limit: says so"
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/msg"
assert_exit 0 "another user is not held by the attacker's limit"
find "$INC" -mindepth 1 -delete

# ---- 6. the policy file: who may send, and as whom ----
POL=$confdir/policy
printf '%s\n' "# test policy" "allow_users $U1" \
    "allow_from *@users.example.org" "account other" \
    "allow_users nobody-at-all" >"$POL"
chmod 644 "$POL"
before=$(spool_count 'from a user')
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/msg"
assert_exit 77 "policy: a user not in allow_users"
assert_grep "user $U2 may not send" "$T/as.out" "policy: says who"
as "$U1" "$SENDMAIL" -i -f ceo@bank.example rcpt@example.org <"$T/msg"
assert_exit 77 "policy: a foreign -f outside allow_from"
assert_grep "sender 'ceo@bank.example' is not allowed" "$T/as.out" \
    "policy: says which sender"
as "$U1" "$SENDMAIL" -i -a other rcpt@example.org <"$T/msg"
assert_exit 77 "policy: -a an account whose section refuses the user"
assert_eq "$(n_incoming)" 0 "refused submissions queue nothing"
as "$U1" "$SENDMAIL" -i -f alice@Users.Example.org rcpt@example.org <"$T/msg"
assert_exit 0 "policy: -f inside allow_from"
as "$U1" "$SENDMAIL" -i -f cron rcpt@example.org <"$T/msg"
assert_exit 0 "policy: a local -f is not refused"
: >"$RECORD"
run_postseal_as_root -q
assert_exit 0 "root: -q with the policy"
assert_eq "$(spool_count 'from a user')" $((before + 2)) "both sent"
assert_grep_fixed 'MAIL FROM:<alice@Users.Example.org>' "$RECORD" \
    "the allowed -f is kept"
assert_grep_fixed 'MAIL FROM:<sender@example.org>' "$RECORD" \
    "the local -f becomes the account's from"
# The sender checks again: a record the policy no longer allows fails.
as "$U1" "$SENDMAIL" -i -f bob@users.example.org rcpt@example.org <"$T/msg"
assert_exit 0 "policy: queued while allowed"
printf 'allow_users %s\n' "$U1" >"$POL"
run_postseal_as_root -q
assert_eq "$(spool_count 'from a user')" $((before + 2)) \
    "not sent once the policy forbids it"
assert_eq "$(find "$queuedir/failed" -mindepth 1 -maxdepth 1 | wc -l)" 1 \
    "kept in failed/"
# mailq: each user sees their own entries only, through the drop step.
assert_eq "$(stat -c '%a %U %G' "$queuedir/status")" "750 $SU $DG" \
    "status/: the drop step's group only"
# A listing a run left half written (it died) goes once it is an hour
# old; a fresh one may be another run's, at work: it stays.
for f in 99999.tmp 99998.json.tmp 99997.tmp; do
	: >"$queuedir/status/$f"
done
touch -d '2 hours ago' "$queuedir/status/99999.tmp" \
    "$queuedir/status/99998.json.tmp"
run_postseal_as_root -q
assert_eq "$(cd "$queuedir/status" && ls -d 9999* 2>/dev/null | tr '\n' ' ')" \
    "99997.tmp " "status/: stale half-written listings swept, a fresh one kept"
rm -f "$queuedir/status/99997.tmp"
as "$U1" "$bindir/mailq"
assert_exit 0 "user: mailq"
assert_grep '^-- 1 entry \(1 failed' "$T/as.out" "user: their failed entry"
assert_grep_fixed 'bob@users.example.org' "$T/as.out" "user: their sender"
as "$U2" "$bindir/mailq"
assert_exit 0 "another user: mailq"
assert_grep '^Mail queue is empty' "$T/as.out" "another user sees none of it"
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/msg"
as "$U1" "$bindir/mailq"
assert_grep '^-- 1 message \([0-9]+ bytes\) waiting' "$T/as.out" \
    "user: a record not yet taken"
run_postseal_as_root -bp
assert_grep_fixed 'bob@users.example.org' "$OUT" "root's mailq sees it all"
chmod 666 "$POL"
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/msg"
assert_exit 78 "policy: a policy file others can write is refused"
rm -f "$POL"

# The sender checks the From: header itself: a record written straight
# to the drop step (no user-side check) with a forged From fails.
body='From: ceo@bank.example
Subject: forged

x
'
{
	printf 'postseal-drop 1\npostseal-queue 1\nid 00000000000000000000\n'
	printf 'account *\nfrom <>\nrcpt <rcpt@example.org>\nbody8bit 0\n'
	printf 'smtputf8 0\nsize %s\ncreated 1\nattempts 0\nnext 1\n' \
	    "$(printf "$body" | wc -c)"
	printf 'held f=0 B=- F=\nend\n'
	printf "$body"
} >"$T/rec.forged"
chmod 644 "$T/rec.forged"
as "$U2" "$DROP" <"$T/rec.forged"
assert_exit 0 "the drop step takes a well-formed record"
nf=$(find "$queuedir/failed" -mindepth 1 -maxdepth 1 | wc -l)
run_postseal_as_root -q
assert_eq "$(find "$queuedir/failed" -mindepth 1 -maxdepth 1 | wc -l)" \
    $((nf + 1)) "the sender refuses the forged From: (failed/)"
assert_no_grep_fixed 'From: ceo@bank.example' "$RECORD" "never sent"

# ---- 7. configurable per-user limits (policy file) ----
# Each user now has one failed entry in the system queue (status/<uid>):
# it counts, with what waits in incoming/.
u1=$(id -u "$U1")
assert_grep '^-- 1 entry' "$queuedir/status/$u1" "U1's failed entry listed"
as "$U1" "$bindir/mailq" --json
assert_exit 0 "user: mailq --json with a failed entry"
/usr/bin/python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(" ".join(r["state"] for r in rows))' "$T/as.out" >"$BD/failed.check"
assert_eq "$(cat "$BD/failed.check")" "failed" \
    "mailq --json: U1's failed entry of the system queue, nothing else"
printf '%s\n' "max_user_messages 3" "max_user_queue 64k" \
    "max_message_size 3k" >"$POL"
chmod 644 "$POL"
{
	printf 'Subject: limit big\n\n'
	head -c 4000 /dev/zero | tr '\0' 'b' | fold -w 70
} >"$T/big"
{
	printf 'Subject: limit ok\n\n'
	head -c 1500 /dev/zero | tr '\0' 'o' | fold -w 70
} >"$T/mid"
chmod 644 "$T/big" "$T/mid"
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/big"
assert_exit 65 "limits: a message over max_message_size"
assert_grep 'too large .*max_message_size 3072' "$T/as.out" \
    "limits: says which limit"
assert_eq "$(n_incoming)" 0 "limits: nothing stored for the big one"
for n in 1 2; do
	as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
	assert_exit 0 "limits: message $n within the limit"
done
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
assert_exit 75 "limits: the queued entry and 2 records reach 3"
assert_grep 'reach your limit \(4 messages.*with this one; max_user_messages 3' \
    "$T/as.out" "limits: says the count and the keyword"
assert_eq "$(find "$INC" -name "$u1-*" | wc -l)" 2 \
    "limits: 2 of U1's records in incoming/, so the queue counted"
cat >"$BD/limit.script" <<'SCRIPT'
expect 220
send HELO app.example
expect 250
send MAIL FROM:<>
expect 250
send RCPT TO:<rcpt@example.org>
expect 250
send DATA
expect 354
send Subject: bs limit
send
send over
send .
expect 452
send QUIT
expect 221
SCRIPT
chmod 644 "$BD/limit.script"
as "$U1" /usr/bin/python3 "$BD/bs-client.py" "$BD/limit.script" \
    "$BD/bs.transcript" -- "$SENDMAIL" -bs
assert_exit 0 "limits: -bs over the limit"
assert_grep '^< 452 4.3.1 ' "$BD/bs.transcript" "limits: -bs gets 452 4.3.1"
assert_grep '^< 452 4.3.1 .*reach your limit .*max_user_messages 3' \
    "$BD/bs.transcript" "limits: -bs's reply says the drop step's reason"
cat "$BD/bs.transcript" >>"$T/attacker.all"
assert_eq "$(find "$INC" -name "$u1-*" | wc -l)" 2 \
    "limits: -bs over the limit stored nothing"
assert_eq "$(find "$INC" -name "t*" | wc -l)" 0 "limits: no partial record"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
assert_exit 0 "limits: another user is not held by U1's limit"
printf '%s\n' "max_user_queue 3k" >"$POL"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
assert_exit 75 "limits: over max_user_queue"
assert_grep 'max_user_queue 3072' "$T/as.out" "limits: names max_user_queue"
# A drop step still reading its message holds its whole declared size
# already: a second drop of the same user at the same time cannot pass
# the limit beside it (the partial record is made at full size first,
# then the limit checked).
printf '%s\n' "max_user_queue 8k" >"$POL"
held_drop resv 6000 260
i=0
while [ $i -lt 50 ] && [ "$(find "$INC" -name "t$(id -u "$U2")-*" | wc -l)" = 0 ]; do
	sleep 0.1
	i=$((i + 1))
done
assert_eq "$(find "$INC" -name "t$(id -u "$U2")-*" -size 6000c | wc -l)" 1 \
    "limits: the partial record reserves its declared 6000 bytes"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
assert_exit 75 "limits: a drop beside one reading 6000 bytes, over 8k"
assert_grep 'max_user_queue 8192' "$T/as.out" "limits: ... names the limit"
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
kill "$feeder" 2>/dev/null
rm -f "$INC"/t* "$T/resv"
printf '%s\n' "max_user_queue lots" >"$POL"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
assert_exit 78 "limits: a bad value in the policy file"
assert_grep 'max_user_queue: bad value' "$T/as.out" "limits: says which"
printf '%s\n' "account sys" "max_user_messages 5" >"$POL"
as "$U2" "$SENDMAIL" -i rcpt@example.org <"$T/mid"
assert_exit 78 "limits: a limit inside an account section"
assert_grep 'before the first account line' "$T/as.out" "limits: says where"
assert_eq "$(n_incoming)" 3 "limits: refusals stored nothing"
rm -f "$POL"
run_postseal_as_root -q
assert_exit 0 "root: -q after the limits"
assert_eq "$(spool_count 'limit ok')" 3 \
    "limits: every message within the limit sent, none lost"
assert_eq "$(spool_count 'limit big')" 0 "limits: the big one never sent"

# ---- 8. attacks on the drop step and the spool ----
# Another user's message waits in incoming/ with a secret of its own, and
# a root-only file holds a third: neither may reach the attacker.
SPOOLSECRET=spool$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
ROOTSECRET=root$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf 'Subject: spool secret\n\n%s\n' "$SPOOLSECRET" >"$T/spoolmsg"
chmod 644 "$T/spoolmsg"
as "$U1" "$SENDMAIL" -i rcpt@example.org <"$T/spoolmsg"
assert_exit 0 "attacks: the victim's message queued"
victim=$(find "$INC" -name "$u1-*" | head -n 1)
[ -n "$victim" ] || fail "attacks: no record of the victim"
# (On the overlay, so that root can hard-link it into incoming/.)
RO=$prefix/rootonly
printf '%s\n' "$ROOTSECRET" >"$RO"
chmod 600 "$RO"

# ptrace, /proc/PID/{environ,mem} and core dumps of the running drop step,
# by the submitting user, with a control process of the user's own.
# (Outside $T, which only we can reach.)
CD=$(mktemp -d /tmp/postseal-attack.XXXXXX) || hard_error "mktemp"
at_cleanup "rm -rf '$CD'"
mkdir "$CD/cores"
chmod 755 "$CD"
chmod 777 "$CD/cores"
cp "$top_srcdir/tests/e2e/privsep-attack.py" "$CD/attack.py"
chmod 644 "$CD/attack.py"
nt0=$(find "$INC" -name "t$(id -u "$U2")-*" | wc -l)
as "$U2" /usr/bin/python3 "$CD/attack.py" "$DROP" "$CD/cores"
assert_exit 0 "attacks: the ptrace and core script ran"
# (-1: it exited instead, as a sanitizer build does on SIGSEGV.)
for sig in 11 6; do
	assert_grep "^drop signal ($sig|-1): no core\$" "$T/as.out" \
	    "attacks: no core of the drop step on signal $sig"
done
for w in environ mem; do
	assert_grep "^drop $w: Permission denied\$" "$T/as.out" \
	    "attacks: /proc/PID/$w of the drop step refused"
	assert_grep "^control $w: read\$" "$T/as.out" "attacks: control $w"
done
for w in seize attach; do
	assert_grep "^drop $w: Operation not permitted\$" "$T/as.out" \
	    "attacks: PTRACE_${w} of the drop step refused"
	assert_grep "^control $w: ok\$" "$T/as.out" "attacks: control $w"
done
case $(cat /proc/sys/kernel/core_pattern) in
'|'*) echo "  core_pattern is a pipe: the control's core is not ours to see" ;;
*)
	assert_grep '^control signal 11: core$' "$T/as.out" \
	    "attacks: the control dumps core here"
	assert_grep '^control core file: yes$' "$T/as.out" \
	    "attacks: ... into its directory"
	;;
esac
assert_no_grep_fixed "$SPOOLSECRET" "$T/as.out" "attacks: no spool data"
if grep -rlF -e "$SPOOLSECRET" -e "$SECRET" -e "$ROOTSECRET" "$CD/cores"; then
	fail "attacks: a secret in a core file"
fi
assert_no_grep '^drop core file: yes' "$T/as.out" "attacks: no core file"
assert_eq "$(find "$CD/cores" -name 'core*drop*' | wc -l)" 0 \
    "attacks: no core file of the drop step"
# The killed drop steps left partial records: aged past the grace period,
# the queue run sweeps them without sending them.
assert_eq "$(find "$INC" -name "t$(id -u "$U2")-*" | wc -l)" $((nt0 + 2)) \
    "attacks: two killed drop steps, two more partial records"

# Links in incoming/, by one who broke into the drop step's group (the
# kernel's protected_hardlinks stops its hard links; root plants those).
u2=$(id -u "$U2")
asdrop() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$_u" \
	    --groups="$(getent group "$DG" | cut -d: -f3)" env -i \
	    PATH=/usr/bin:/bin "$@" >"$T/as.out" 2>&1
	RC=$?
	cat "$T/as.out" >>"$T/attacker.all"
}
asdrop "$U2" ln -s "$RO" "$INC/$u2-00000000000000000001"
assert_exit 0 "attacks: the drop group may plant a symlink"
asdrop "$U2" ln -s "$victim" "$INC/$u2-00000000000000000002"
asdrop "$U2" ln "$victim" "$INC/$u2-00000000000000000003"
[ "$RC" -ne 0 ] || [ "$(cat /proc/sys/fs/protected_hardlinks)" = 0 ] ||
    fail "attacks: a hard link to another user's entry"
asdrop "$U2" sh -c "echo x >'$INC/$u2-00000000000000000004' && \
    mv '$INC/$u2-00000000000000000004' '$victim'"
[ "$RC" -ne 0 ] || fail "attacks: overwrote another user's entry"
asdrop "$U2" sh -c "echo x >>'$victim'"
[ "$RC" -ne 0 ] || fail "attacks: appended to another user's entry"
asdrop "$U2" rm -f "$victim"
[ -e "$victim" ] || fail "attacks: removed another user's entry"
rm -f "$INC/$u2-00000000000000000004" "$INC/$u2-00000000000000000003"
ln "$RO" "$INC/$u2-00000000000000000005"
ln "$RO" "$INC/0-00000000000000000006"
ln "$victim" "$INC/$u1-00000000000000000007"

# SIGSTOP of the drop step halfway (between writing and renaming: its
# record is a t* file): the queue run leaves it; swept once it is older
# than the grace period, the stopped drop step fails with 75 when it goes
# on; stopped and resumed in time, it stores the whole message.
stop_body='Subject: stopped
'
stop_body="$stop_body
$(head -c 3000 /dev/zero | tr '\0' 's' | fold -w 60)
"
stop_rec() {
	printf 'postseal-drop 1\npostseal-queue 1\nid 00000000000000000000\n'
	printf 'account *\nfrom <>\nrcpt <rcpt@example.org>\nbody8bit 0\n'
	printf 'smtputf8 0\nsize %s\ncreated 1\nattempts 0\nnext 1\n' \
	    "$(printf '%s' "$stop_body" | wc -c)"
	printf 'held f=0 B=- F=\nend\n%s' "$stop_body"
}
stop_rec >"$T/stop.rec"
reclen=$(wc -c <"$T/stop.rec")
stopped_drop() {
	rm -f "$T/stopfifo"
	mkfifo "$T/stopfifo"
	chmod 666 "$T/stopfifo"
	setpriv --reuid="$U2" --regid="$U2" --clear-groups env -i "$DROP" \
	    <"$T/stopfifo" >"$T/stop.out" 2>&1 &
	dpid=$!
	track_pid "$dpid"
	exec 7>"$T/stopfifo"
	head -c $((reclen - 1000)) "$T/stop.rec" >&7
	sleep 1
	as "$U2" kill -STOP "$dpid"
	assert_exit 0 "attacks: the user stops the drop step"
}
resume_drop() {
	as "$U2" kill -CONT "$dpid"
	tail -c 1000 "$T/stop.rec" >&7
	exec 7>&-
	wait "$dpid"
	RC=$?
	cat "$T/stop.out" >>"$T/attacker.all"
}
stopped_drop
nt=$(find "$INC" -name "t$u2-*" | wc -l)
run_postseal_as_root -q
assert_eq "$(spool_count stopped)" 0 "attacks: stopped: not sent"
assert_eq "$(find "$INC" -name "t$u2-*" | wc -l)" "$nt" \
    "attacks: a fresh partial record is left to its writer"
find "$INC" -name "t*" -exec touch -d '2 hours ago' {} +
run_postseal_as_root -q
assert_eq "$(find "$INC" -name "t*" | wc -l)" 0 \
    "attacks: partial records swept after the grace period"
resume_drop
assert_exit 75 "attacks: the swept drop step fails when it goes on"
assert_grep 'rename' "$T/stop.out" "attacks: says so"
stopped_drop
run_postseal_as_root -q
resume_drop
assert_exit 0 "attacks: stopped and resumed in time"
run_postseal_as_root -q
assert_exit 0 "root: -q after the attacks"
assert_eq "$(spool_count stopped)" 1 \
    "attacks: the resumed message sent once"
m=$(grep -l 'Subject: stopped' "$SPOOL"/*.eml | head -n 1)
assert_eq "$(grep -c '^s\{60\}' "$m")" 50 "attacks: ... and whole"
assert_eq "$(spool_count half)" 0 "attacks: no half record sent"
assert_eq "$(spool_count 'spool secret')" 1 \
    "attacks: the victim's message sent once, despite its hard link"
assert_eq "$(n_incoming)" 0 "attacks: planted links removed"
assert_eq "$(stat -c '%h %U %a' "$RO")" "1 root 600" \
    "attacks: the root-only file is intact"
assert_eq "$(cat "$RO")" "$ROOTSECRET" "attacks: ... unchanged"
assert_no_grep_fixed "$ROOTSECRET" "$RECORD" "attacks: root's file not sent"
if grep -lF "$ROOTSECRET" "$SPOOL"/*.eml; then
	fail "attacks: the root-only file was sent"
fi
assert_no_grep_fixed "$SPOOLSECRET" "$T/attacker.all" \
    "attacks: the victim's message never reached the attacker"
assert_no_grep_fixed "$ROOTSECRET" "$T/attacker.all" \
    "attacks: the root-only file never reached the attacker"

# Killed exactly at the rename (SIGKILL on entering renameat, injected
# by strace): the whole record stays a partial t* record, never sent and
# swept after the hour.  Killed right after it (on the directory's fsync
# that follows): the record is in place, sent once.
stop_body='Subject: at rename
'
stop_body="$stop_body
$(head -c 2000 /dev/zero | tr '\0' 'r' | fold -w 60)
"
stop_rec >"$T/rename.rec"
chmod 644 "$T/rename.rec"
at_rename() { # the strace -e inject=... of the drop step
	strace -f -qq -o /dev/null -e "inject=$1" setpriv --reuid="$U2" \
	    --regid="$U2" --clear-groups env -i "$DROP" <"$T/rename.rec" \
	    >"$T/rename.out" 2>&1
	RC=$?
}
at_rename renameat,renameat2,rename:signal=KILL
assert_eq "$RC" 137 "attacks: the drop step killed at its rename (SIGKILL)"
assert_eq "$(find "$INC" -name "t$u2-*" | wc -l)" 1 \
    "attacks: killed at the rename: one partial record"
assert_eq "$(find "$INC" -name "$u2-*" | wc -l)" 0 \
    "attacks: killed at the rename: no record in place"
run_postseal_as_root -q
assert_eq "$(spool_count 'at rename')" 0 "attacks: at the rename: not sent"
find "$INC" -name "t$u2-*" -exec touch -d '2 hours ago' {} +
run_postseal_as_root -q
assert_eq "$(find "$INC" -name "t$u2-*" | wc -l)" 0 \
    "attacks: at the rename: swept after the hour"
assert_eq "$(spool_count 'at rename')" 0 "attacks: ... and never sent"
at_rename fsync:signal=KILL:when=2
assert_eq "$RC" 137 "attacks: the drop step killed right after its rename"
assert_eq "$(find "$INC" -name "$u2-*" | wc -l)" 1 \
    "attacks: killed after the rename: the record in place"
run_postseal_as_root -q
assert_exit 0 "root: -q after the kill at the rename"
assert_eq "$(spool_count 'at rename')" 1 "attacks: after the rename: sent once"
assert_eq "$(n_incoming)" 0 "attacks: incoming/ empty again"

# ---- the secret never reached the attacker ----
assert_no_secret sysuser "$SECRET" "$T/attacker.all" "$T/halfway.out"
assert_no_grep_fixed "$SECRET" "$T/attacker.all" "attacker output"

# While root's queue run talks to the smarthost, it is the sender user,
# its real, effective and saved uids (so root cannot be got back), and
# the user who submitted a message can neither read its memory,
# environment or descriptors, nor trace or signal it.
printf 'Subject: slow\n\nslow\n' | as "$U1" "$SENDMAIL" -i rcpt@example.org
assert_exit 0 "user: a message for the slow run"
stop_server
start_server --tls starttls --user sysuser --password "$SECRET" \
    --greeting-delay 4
sed -i "s/^port .*/port $PORT/" "$confdir/accounts/sys.conf"
"$PS" -q >"$T/slow.out" 2>&1 &
pid=$!
sleep 1.5 # it waits for the greeting (4 s) by now
suid=$(id -u "$SU")
assert_eq "$(awk '/^Uid:/{print $2, $3, $4, $5}' "/proc/$pid/status")" \
    "$suid $suid $suid $suid" "root's queue run: all its uids the sender's"
pg=$(getent group "$PG" | cut -d: -f3)
assert_eq "$(awk '/^Gid:/{print $2, $3, $4, $5}' "/proc/$pid/status")" \
    "$pg $pg $pg $pg" "root's queue run: all its gids $PG's"
out_of_reach "$U1" "$pid" "the sender"
as "$U1" kill -STOP "$pid"
[ "$RC" -ne 0 ] || fail "a user stopped the sender"
as "$U1" kill -0 "$pid"
[ "$RC" -ne 0 ] || fail "a user may signal the sender"
wait "$pid"
RC=$?
assert_exit 0 "the slow queue run"
assert_eq "$(spool_count slow)" 1 "the slow run delivered"

make -s -C "$top_builddir" uninstall-system POSTSEAL_GROUP="$PG" \
    DROP_GROUP="$DG" SENDER_USER="$SU" >/dev/null 2>&1
ok
getent group "$DG" >/dev/null && fail "uninstall-system left group $DG"
getent passwd "$SU" >/dev/null && fail "uninstall-system left user $SU"
assert_eq "$(find "$queuedir" ! -user root | wc -l)" 0 \
    "uninstall-system: what is left of the queue is root's again"
e2e_done
