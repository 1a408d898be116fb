#!/bin/sh
# --dkim-verify through the real resolver path (dns.c: libunbound with
# the system's resolv.conf; TXT records split into several strings), not
# --dns-record: a private mount and network namespace (unshare -m -n)
# where 127.0.0.1:53 is a real nameserver (NSD, authoritative for example.com, from a zone file
# made here) and /etc/resolv.conf is bind-mounted to point at it.  The host's
# /etc and network are not touched.  Checked: rsa-sha256 (its key is two
# TXT strings) and ed25519-sha256 signatures pass; a changed body fails; a
# selector with no record (NXDOMAIN) is "no TXT record", not a failed
# lookup; a nameserver that does not answer is a failed lookup, not a
# missing key (both exit 65: postseal(1) says 0 only when all pass).
# Needs root, unshare, ip and nsd; else exit 77.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only "--dkim-verify"
[ "$(id -u)" = 0 ] || skip "needs root (a private mount and network namespace)"
need_cmd unshare ip
NSD=$(command -v nsd 2>/dev/null || echo /usr/sbin/nsd)
[ -x "$NSD" ] || skip "needs nsd (tests/e2e/PACKAGES)"
unshare -m -n true 2>/dev/null || skip "unshare -m -n is not permitted here"

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
{
	printf '$ORIGIN %s.\n$TTL 60\n' $D
	printf '@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n' $D $D
	printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' $D
	cat "$T/rs.rec" "$T/ed.rec"
} >"$T/zone"
cat >"$T/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$T"
	database: ""
	zonelistfile: "$T/zone.list"
	xfrdfile: "$T/xfrd.state"
	xfrdir: "$T"
	pidfile: "$T/nsd.pid"
	logfile: "$T/nsd.log"
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: "$D"
	zonefile: "$T/zone"
EOF
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

# Inside the namespaces: start NSD, wait until it answers, point the
# resolver at it, verify; each result in $T/NAME.{out,err,rc}.
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m -n sh -c '
	T=$1 POSTSEAL=$2 NSD=$3 PY=$4
	ip link set lo up || exit 3
	"$NSD" -d -c "$T/nsd.conf" >"$T/nsd.out" 2>&1 &
	nsd=$!
	"$PY" - <<PYEOF || { kill $nsd; exit 4; }
import socket, struct, time
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
for label in b"ed._domainkey.example.com".split(b"."):
    q += bytes([len(label)]) + label
q += b"\0" + struct.pack(">HH", 16, 1)
end = time.time() + 20
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, ("127.0.0.1", 53))
        if s.recv(4096)[:2] == q[:2]:
            raise SystemExit(0)
    except OSError:
        time.sleep(0.1)
raise SystemExit(1)
PYEOF
	mount --bind "$T/resolv.conf" /etc/resolv.conf || { kill $nsd; exit 5; }
	for m in signed bad gone; do
		"$POSTSEAL" --dkim-verify <"$T/$m.eml" >"$T/$m.out" 2>"$T/$m.err"
		echo $? >"$T/$m.rc"
	done
	kill $nsd
	wait $nsd
	"$POSTSEAL" --dkim-verify <"$T/signed.eml" >"$T/down.out" \
	    2>"$T/down.err"
	echo $? >"$T/down.rc"
' sh "$T" "$POSTSEAL" "$NSD" "$PYTHON"
rc=$?
[ $rc -eq 0 ] || {
	cat "$T/nsd.out" "$T/nsd.log" 2>/dev/null | sed 's/^/  nsd: /'
	hard_error "the namespace with NSD did not come up (step $rc)"
}
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
