#!/bin/sh
# Files that can run a command or hold a secret, and their directories,
# must belong to the user or root (issue 8, item 6): a configuration in a
# directory of another user, a DKIM key or a TLS client key of another
# user, are refused naming the file (held or 78, see refused() below);
# passwordeval does not run; nothing is sent.  Needs a second uid: run as root, the
# files are given to uid 65534 (only the number is used, no account is
# made); skipped otherwise.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "permission checks"
[ "$(id -u)" = 0 ] || skip "needs root to give files to another uid"
OTHER=65534
make_ca
start_server --tls starttls --user u --password p
sample_message "owner" >"$T/msg"
printf '#!/bin/sh\ntouch "%s"\necho p\n' "$T/ran" >"$T/pw.sh"
chmod 700 "$T/pw.sh"
cfg() {
	base_config starttls | sed 's/^auth off$/auth on\nuser u/'
	printf 'passwordeval %s\n' "$T/pw.sh"
}
# refused held|78 WHAT TEXT ARGS...: as in policy-perms.sh, a file refused
# while the configuration loads holds the message in the default queue
# (exit 0), a key refused by the account check exits 78.
HELD=0
refused() {
	_how=$1 _what=$2 _text=$3
	shift 3
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
	assert_grep_fixed "$_text" "$ERR" "$_what: stderr"
	[ -e "$T/ran" ] && fail "$_what: passwordeval ran"
}

mkdir -m 755 "$T/theirs"
cfg | write_config "$T/theirs/config"
chown "$OTHER" "$T/theirs"
refused held "config in another user's directory" \
    "$T/theirs/config: directory $T/theirs belongs to uid $OTHER; it must belong to you or root" \
    -C "$T/theirs/config"
chown "$OTHER" "$T/theirs/config"
chown 0 "$T/theirs"
refused held "config of another user" \
    "$T/theirs/config: owned by uid $OTHER; it must belong to you or root" \
    -C "$T/theirs/config"

mkdir -m 700 "$T/kdir"
run_postseal --dkim-keygen --type ed25519 --domain example.org \
    --selector s --out "$T/kdir/s.key"
assert_exit 0 "--dkim-keygen"
{ cfg; printf 'dkim_domain example.org\ndkim_key s ed25519 %s\n' \
    "$T/kdir/s.key"; } | write_config "$T/dkim.cfg"
chown "$OTHER" "$T/kdir/s.key"
refused 78 "DKIM key of another user" \
    "DKIM key: $T/kdir/s.key: owned by uid $OTHER; it must belong to you or root" \
    -C "$T/dkim.cfg"

cp "$CA/client.key" "$CA/client.pem" "$T/kdir/"
{ cfg; printf 'tls_cert_file %s\ntls_key_file %s\n' "$T/kdir/client.pem" \
    "$T/kdir/client.key"; } | write_config "$T/client.cfg"
chown "$OTHER" "$T/kdir/client.key"
refused held "TLS client key of another user" \
    "$T/kdir/client.key: owned by uid $OTHER; it must belong to you or root" \
    -C "$T/client.cfg"

assert_queue_empty "after the refusals"
assert_eq "$(queue_entries failed)" 0 "failed/ after the refusals"
assert_nothing_delivered
assert_no_command AUTH MAIL

chown 0 "$T/kdir/s.key" "$T/kdir/client.key"
for c in "$T/dkim.cfg" "$T/client.cfg"; do
	run_postseal -C "$c" rcpt@example.org <"$T/msg"
	assert_exit 0 "back to root: $(basename "$c")"
done
assert_file_count "$SPOOL" '*.eml' 2 "delivered once fixed"
e2e_done
