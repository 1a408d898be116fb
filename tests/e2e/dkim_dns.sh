#!/bin/sh
# --dkim-verify through the real resolver path (dns.c: libunbound with
# the system's resolv.conf; TXT records split into several strings), not
# --dns-record: a private mount and network namespace (unshare -m -n)
# where 127.0.0.1:53 is a real nameserver (NSD through nameserver.sh,
# authoritative for example.com) and /etc/resolv.conf is bind-mounted to
# point at it.  The host's /etc and network are not touched.  Checked: rsa-sha256 (its key is two
# TXT strings) and ed25519-sha256 signatures pass; a changed body fails; a
# selector with no record (NXDOMAIN) is "no TXT record", not a failed
# lookup; a nameserver that does not answer is a failed lookup, not a
# missing key (both exit 65: postseal(1) says 0 only when all pass).
# Needs root, unshare, ip and nsd; else exit 77.  The test re-runs itself
# inside the namespaces, so nsd is nameserver.sh's, on its fixed port 53.
. "$(dirname "$0")/lib.sh"
if [ -z "${DKIM_DNS_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] ||
	    skip "needs root (a private mount and network namespace)"
	need_cmd unshare ip
	unshare -m -n true 2>/dev/null ||
	    skip "unshare -m -n is not permitted here"
	DKIM_DNS_NETNS=1 exec unshare -m -n sh "$0" "$@"
fi
ip link set lo up || hard_error "cannot bring up lo in the namespace"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only "--dkim-verify"

D=example.com
for k in "rsa rs" "ed25519 ed"; do
	set -- $k
	run_postseal --dkim-keygen --type "$1" --domain $D --selector "$2" \
	    --out "$T/$2.key"
	assert_exit 0 "--dkim-keygen --type $1"
	cp "$OUT" "$T/$2.rec"
done
assert_grep '^rs\._domainkey\.example\.com\. IN TXT \($' "$T/rs.rec" \
    "the rsa record is split into strings (zone-file form)"
cat "$T/rs.rec" "$T/ed.rec" | ns_zone $D
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"

{
	printf 'account dk\nhost 127.0.0.1\nfrom joe@%s\ndkim_domain %s\n' $D $D
	printf 'dkim_key rs rsa %s\ndkim_key ed ed25519 %s\n' "$T/rs.key" "$T/ed.key"
	printf '\naccount default : dk\n'
} | write_config
printf 'From: Joe <joe@%s>\nTo: sue@example.org\nSubject: dns\n\nBody.\n' $D \
    >"$T/msg"
run_postseal --dkim-sign -C "$CFG" <"$T/msg"
assert_exit 0 "--dkim-sign"
cp "$OUT" "$T/signed.eml"
assert_eq "$(grep -c '^DKIM-Signature:' "$T/signed.eml")" 2 "two signatures"
sed 's/^Body\./Body!/' "$T/signed.eml" >"$T/bad.eml"
ok
cmp -s "$T/signed.eml" "$T/bad.eml" && fail "no body line to change"
sed 's/ s=ed;/ s=gone;/' "$T/signed.eml" >"$T/gone.eml"
ok
cmp -s "$T/signed.eml" "$T/gone.eml" && fail "no s=ed; to change"

# nsd on 127.0.0.1:53 of this namespace; the system's resolver path
# (resolv.conf, bind-mounted over /etc/resolv.conf here only) points at it.
ns_start 53
mount --bind "$T/resolv.conf" /etc/resolv.conf ||
    hard_error "cannot bind-mount resolv.conf in the namespace"
at_cleanup 'umount /etc/resolv.conf 2>/dev/null'
for m in signed bad gone; do
	"$POSTSEAL" --dkim-verify <"$T/$m.eml" >"$T/$m.out" 2>"$T/$m.err"
	echo $? >"$T/$m.rc"
done
ns_stop
"$POSTSEAL" --dkim-verify <"$T/signed.eml" >"$T/down.out" 2>"$T/down.err"
echo $? >"$T/down.rc"
for m in signed bad gone down; do
	sed "s/^/  $m: /" "$T/$m.out" "$T/$m.err"
done
assert_eq "$(cat "$T/signed.rc")" 0 "signed: --dkim-verify exit status"
assert_grep '^signature 1: pass .*rsa-sha256' "$T/signed.out" "signed: rsa-sha256 passes"
assert_grep '^signature 2: pass .*ed25519-sha256' "$T/signed.out" "signed: ed25519-sha256 passes"
assert_eq "$(cat "$T/bad.rc")" 65 "changed body: exit status"
assert_eq "$(grep -c '^signature [0-9]*: fail .*body hash' "$T/bad.out")" 2 \
    "changed body: both signatures fail on the body hash"
assert_grep '^signature 1: pass ' "$T/gone.out" "unknown selector: the other signature passes"
assert_grep_i '^signature 2: (fail|permerror|none|nokey).*(no (TXT|key)|record)' \
    "$T/gone.out" "unknown selector: no key (NXDOMAIN)"
assert_no_grep '[Tt]emporar|DNS lookup failed' "$T/gone.out" \
    "unknown selector: not a temporary DNS failure"
assert_eq "$(cat "$T/down.rc")" 65 "nameserver down: exit status (postseal(1): 65 unless all pass)"
assert_eq "$(grep -c '^signature [0-9]*: fail .*DNS lookup failed' "$T/down.out")" 2 \
    "nameserver down: both fail as a failed lookup, not as a missing key"
e2e_done
