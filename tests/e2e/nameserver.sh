# nameserver.sh -- a real authoritative DNS server (Debian's nsd) on
# 127.0.0.1 for the end-to-end tests, serving zones the test writes.
# Source it after lib.sh and e2e_init:
#
#	. "$(dirname "$0")/nameserver.sh"
#	ns_zone good.test <<EOF
#	@	TXT	"v=spf1 ip4:192.0.2.0/24 -all"
#	_dmarc	TXT	"v=DMARC1; p=reject"
#	EOF
#	ns_sign good.test        # optional: DNSSEC-sign it (see ns_sign)
#	ns_start                 # sets NS_PORT; point dns_server at it
#	ns_blackhole             # sets NS_DEAD_PORT: UDP/TCP that never answer
#	ns_stop                  # optional: e2e_cleanup stops it anyway
#
# ns_zone adds the SOA and NS records; the body is zone-file text relative
# to the zone's origin (it may come through a pipe: the list of zones is a
# file, not a variable of the shell ns_zone ran in).  ns_start checks each
# zone with nsd-checkzone first, so a bad record is a harness error, not a
# zone nsd silently does not serve.  Names nsd does not serve are REFUSED,
# which a resolver reports as SERVFAIL.  "ns_start 53" uses that port
# instead of a free one: for a test in a network namespace of its own
# (unshare -n, as dkim_dns.sh does), where the system's resolver path is
# pointed at 127.0.0.1:53.  Self-contained (only lib.sh's free_port,
# track_pid, skip and hard_error).

NS_DIR=
NS_PORT=
NS_PID=
NS_DEAD_PORT=
NS_ANCHORS=

ns_init() {
	command -v nsd >/dev/null 2>&1 ||
	    [ -x /usr/sbin/nsd ] || skip "needs nsd (apt-get install nsd)"
	NSD=$(command -v nsd 2>/dev/null || echo /usr/sbin/nsd)
	NS_DIR=$T/ns
	mkdir -p "$NS_DIR"
	# Once per test ($T is new): a second ns_init (after an ns_zone in a
	# subshell) keeps the zones already listed.
	[ -e "$NS_DIR/zones.conf" ] || : >"$NS_DIR/zones.conf"
}

# ns_zone NAME <BODY: write NAME's zone file and add it to the server.
ns_zone() {
	[ -n "$NS_DIR" ] || ns_init
	{
		printf '$ORIGIN %s.\n$TTL 60\n' "$1"
		printf '@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n' \
		    "$1" "$1"
		printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1"
		cat
	} >"$NS_DIR/$1.zone" || hard_error "cannot write the zone $1"
	printf 'zone:\n\tname: "%s"\n\tzonefile: "%s/%s.zone"\n' \
	    "$1" "$NS_DIR" "$1" >>"$NS_DIR/zones.conf"
}

# ns_sign NAME: DNSSEC-sign the zone NAME (after its ns_zone) with a new
# KSK and ZSK (ldns-keygen, ECDSA P-256; NSEC3 by ldns-signzone -n) and
# serve the signed file.  The KSK's DS record is appended to NS_ANCHORS
# ($NS_DIR/anchors.ds), a trust anchor file for dns_trust_anchor.  Tests
# that tamper with the signed data edit $NS_DIR/NAME.zone.signed before
# ns_start.
ns_sign() {
	command -v ldns-signzone >/dev/null 2>&1 ||
	    skip "needs ldns-keygen and ldns-signzone (apt-get install ldnsutils)"
	NS_ANCHORS=$NS_DIR/anchors.ds
	(
		cd "$NS_DIR" || exit 1
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$1") || exit 1
		zsk=$(ldns-keygen -a ECDSAP256SHA256 "$1") || exit 1
		ldns-signzone -n "$1.zone" "$ksk" "$zsk" || exit 1
		cat "$ksk.ds" >>anchors.ds
	) >"$NS_DIR/sign-$1.log" 2>&1 || {
		cat "$NS_DIR/sign-$1.log" >&2
		hard_error "cannot sign the zone $1"
	}
	sed "s|^\(	zonefile: \"$NS_DIR/$1.zone\)\"\$|\1.signed\"|" \
	    "$NS_DIR/zones.conf" >"$NS_DIR/zones.conf.new" &&
	    mv "$NS_DIR/zones.conf.new" "$NS_DIR/zones.conf" ||
	    hard_error "cannot serve the signed zone $1"
	grep -q "$1.zone.signed" "$NS_DIR/zones.conf" ||
	    hard_error "ns_sign: $1 is not a zone of ns_zone"
}

ns_write_conf() {
	cat >"$NS_DIR/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1@$NS_PORT
	port: $NS_PORT
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$NS_DIR"
	database: ""
	zonelistfile: "$NS_DIR/zone.list"
	xfrdfile: "$NS_DIR/xfrd.state"
	xfrdir: "$NS_DIR"
	pidfile: "$NS_DIR/nsd.pid"
	logfile: "$NS_DIR/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	refuse-any: yes
remote-control:
	control-enable: no
EOF
	cat "$NS_DIR/zones.conf" >>"$NS_DIR/nsd.conf"
}

# ns_check_zones: nsd-checkzone on every zone listed (when installed).
ns_check_zones() {
	command -v nsd-checkzone >/dev/null 2>&1 || return 0
	sed -n 's/^[[:space:]]*name: "\(.*\)"$/\1/p' "$NS_DIR/zones.conf" |
	    while read -r _z; do
		nsd-checkzone "$_z" "$NS_DIR/$_z.zone" \
		    >"$NS_DIR/checkzone.log" 2>&1 || {
			cat "$NS_DIR/checkzone.log" >&2
			exit 1
		}
	done || hard_error "nsd-checkzone refused a zone"
}

# ns_start [PORT]: run nsd in the foreground of a background job on PORT
# (default: a free port) and wait until it answers a query for the first
# zone's SOA.
ns_start() {
	[ -n "$NS_DIR" ] || ns_init
	NS_PORT=${1:-$(free_port)}
	ns_check_zones
	ns_write_conf
	if command -v nsd-checkconf >/dev/null 2>&1 &&
	    ! nsd-checkconf "$NS_DIR/nsd.conf" >"$NS_DIR/checkconf.log" 2>&1; then
		cat "$NS_DIR/checkconf.log" >&2
		hard_error "nsd-checkconf refused the configuration"
	fi
	"$NSD" -d -c "$NS_DIR/nsd.conf" >"$T/nsd.log" 2>&1 &
	NS_PID=$!
	track_pid "$NS_PID"
	_zone=$(sed -n 's/^[[:space:]]*name: "\(.*\)"$/\1/p' \
	    "$NS_DIR/zones.conf" | head -n 1)
	_n=0
	while ! ns_probe "$_zone"; do
		kill -0 "$NS_PID" 2>/dev/null || {
			cat "$T/nsd.log" "$NS_DIR/nsd.log" 2>/dev/null >&2
			hard_error "nsd did not start"
		}
		_n=$((_n + 1))
		[ $_n -lt 100 ] || hard_error "nsd does not answer on $NS_PORT"
		sleep 0.1
	done
}

# ns_probe ZONE: does the server answer ZONE's SOA (a raw UDP query)?
ns_probe() {
	"$PYTHON" - "$NS_PORT" "$1" <<'EOF'
import socket, struct, sys
port, zone = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0)
for label in zone.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 6, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
try:
    s.sendto(q, ("127.0.0.1", port))
    r = s.recv(512)
except OSError:
    sys.exit(1)
sys.exit(0 if r[:2] == q[:2] and (r[3] & 15) == 0 else 1)
EOF
}

ns_stop() {
	[ -n "$NS_PID" ] || return 0
	kill -TERM "$NS_PID" 2>/dev/null
	wait "$NS_PID" 2>/dev/null
	NS_PID=
}

# ns_blackhole: a UDP and TCP port on 127.0.0.1 that take queries and
# never answer (a dead or firewalled server: lookups time out).
ns_blackhole() {
	NS_DEAD_PORT=$(free_port)
	"$PYTHON" - "$NS_DEAD_PORT" >"$T/blackhole.log" 2>&1 <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(16)
print("ready", flush=True)
conns = []
while True:
    u.recvfrom(4096)
EOF
	track_pid $!
	_n=0
	while ! grep -q ready "$T/blackhole.log" 2>/dev/null; do
		_n=$((_n + 1))
		[ $_n -lt 100 ] || hard_error "the blackhole did not start"
		sleep 0.05
	done
}
