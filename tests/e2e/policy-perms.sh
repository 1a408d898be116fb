#!/bin/sh
# Files that can run a command or hold a secret, and the directories they
# are in, may be written only by the user or root (issue 8, item 6): a
# group-writable configuration with passwordeval, a configuration in a
# group-writable directory, a DKIM key or a TLS client key in a
# group-writable directory, a group-writable TLS client key.  Each is
# refused with exit 78 naming the file and the chmod that fixes it; the
# passwordeval command never runs; nothing is queued or sent.  (Another
# owner than the user or root: policy-owner.sh.)
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "permission checks"
make_ca
start_server --tls starttls --user u --password p
sample_message "perms" >"$T/msg"
printf '#!/bin/sh\ntouch "%s"\necho p\n' "$T/ran" >"$T/pw.sh"
chmod 700 "$T/pw.sh"
cfg() {
	base_config starttls | sed 's/^auth off$/auth on\nuser u/'
	printf 'passwordeval %s\n' "$T/pw.sh"
}

# refused held|78 WHAT FILE-IN-TEXT FIX-IN-TEXT [ARGS]: the file and the
# fix named, passwordeval not run.  A configuration refused while it is
# loaded cannot be used at all, so the message is held in the default
# queue (issue 9: exit 0 once it is stored, sent by the first queue run
# after the fix); a key refused when the account is checked exits 78 with
# nothing stored.
HELD=0
refused() {
	_how=$1 _what=$2 _file=$3 _fix=$4
	shift 4
	rm -f "$T/ran"
	run_postseal "$@" rcpt@example.org <"$T/msg"
	if [ "$_how" = held ]; then
		HELD=$((HELD + 1))
		assert_exit 0 "$_what"
		assert_grep_fixed "message is held in the queue" "$ERR" \
		    "$_what: says the message is held"
		assert_eq "$(ls "$DEFAULT_QUEUE/active" 2>/dev/null | wc -l)" \
		    "$HELD" "$_what: held messages in the default queue"
	else
		assert_exit 78 "$_what"
	fi
	assert_grep_fixed "$_file" "$ERR" "$_what: names $_file"
	assert_grep_fixed "$_fix" "$ERR" "$_what: says how to fix it"
	[ -e "$T/ran" ] && fail "$_what: passwordeval ran"
}

cfg | write_config
chmod 620 "$CFG"
refused held "group-writable config" "$CFG: writable by group or others" \
    "run: chmod go-w $CFG" -C "$CFG"
chmod 600 "$CFG"

mkdir -m 770 "$T/cdir"
cfg | write_config "$T/cdir/config"
refused held "config in a group-writable directory" \
    "$T/cdir/config: directory $T/cdir is writable by group or others" \
    "run: chmod go-w $T/cdir" -C "$T/cdir/config"

mkdir -m 700 "$T/kdir"
run_postseal --dkim-keygen --type ed25519 --domain example.org \
    --selector s --out "$T/kdir/s.key"
assert_exit 0 "--dkim-keygen"
{ cfg; printf 'dkim_domain example.org\ndkim_key s ed25519 %s\n' \
    "$T/kdir/s.key"; } | write_config "$T/dkim.cfg"
chmod 770 "$T/kdir"
refused 78 "DKIM key in a group-writable directory" \
    "DKIM key: $T/kdir/s.key: directory $T/kdir is writable by group or others" \
    "run: chmod go-w $T/kdir" -C "$T/dkim.cfg"
chmod 700 "$T/kdir"

cp "$CA/client.key" "$CA/client.pem" "$T/kdir/"
{ cfg; printf 'tls_cert_file %s\ntls_key_file %s\n' "$T/kdir/client.pem" \
    "$T/kdir/client.key"; } | write_config "$T/client.cfg"
chmod 660 "$T/kdir/client.key"
refused held "group-writable TLS client key" \
    "$T/kdir/client.key: writable by group or others" \
    "run: chmod go-w $T/kdir/client.key" -C "$T/client.cfg"
chmod 604 "$T/kdir/client.key"
refused held "TLS client key others can read" \
    "$T/kdir/client.key: a private key others can read" \
    "run: chmod o-rwx $T/kdir/client.key" -C "$T/client.cfg"
chmod 600 "$T/kdir/client.key"
chmod 730 "$T/kdir"
refused held "TLS client key in a group-writable directory" \
    "$T/kdir/client.key: directory $T/kdir is writable by group or others" \
    "run: chmod go-w $T/kdir" -C "$T/client.cfg"
chmod 700 "$T/kdir"

assert_queue_empty "after the refusals"
assert_eq "$(queue_entries failed)" 0 "failed/ after the refusals"
assert_nothing_delivered
assert_no_command AUTH MAIL

# The same files, fixed, are used: passwordeval runs, all three send.
for c in "$CFG" "$T/dkim.cfg" "$T/client.cfg"; do
	rm -f "$T/ran"
	run_postseal -C "$c" rcpt@example.org <"$T/msg"
	assert_exit 0 "fixed: $(basename "$c")"
	[ -e "$T/ran" ] || fail "fixed: $(basename "$c"): passwordeval did not run"
done
assert_file_count "$SPOOL" '*.eml' 3 "delivered once fixed"
e2e_done
