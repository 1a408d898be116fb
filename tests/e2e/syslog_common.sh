# syslog_common.sh -- a real syslog receiver for the tests (issue 9).
#
# postseal logs through syslog(3), which writes datagrams to /dev/log.  A
# test sources this after lib.sh and calls, in this order:
#
#   syslog_namespace "$@"  re-run the test in a private mount namespace
#                          (unshare -m); skip (77) when not root or when
#                          unshare is refused
#   e2e_init
#   syslog_start           the test's own listener on a unix datagram
#                          socket, bind-mounted on /dev/log inside the
#                          namespace only (the real /dev is untouched:
#                          a tmpfs hides it there, its entries bound back)
#   syslog_wait N          wait (2 s at most) for N lines in $SYSLOG
#
# $SYSLOG holds one received datagram per line, e.g.
# "<22>Dec  2 06:02:00 postseal[123]: id=... outcome=delivered".

syslog_namespace() {
	if [ -n "${POSTSEAL_SYSLOG_NS:-}" ]; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
	command -v unshare >/dev/null 2>&1 || skip "unshare is not installed"
	unshare -m true 2>/dev/null || skip "unshare -m is not permitted here"
	POSTSEAL_SYSLOG_NS=1 exec unshare -m --propagation private \
	    sh "$0" "$@"
}

syslog_start() {
	SYSLOG=$T/syslog.txt
	: >"$SYSLOG"
	"$PYTHON" -c 'import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
out = open(sys.argv[2], "ab", buffering=0)
while True:
    d = s.recv(65536)
    out.write(d.rstrip(b"\0\n").replace(b"\n", b"\\n") + b"\n")' \
	    "$T/log.sock" "$SYSLOG" &
	track_pid $!
	_n=0
	while [ ! -S "$T/log.sock" ]; do
		_n=$((_n + 1))
		[ $_n -gt 100 ] && hard_error "syslog listener did not start"
		sleep 0.05
	done
	# The real /dev stays reachable at $_rd while the tmpfs is filled.
	# $_rd is outside $T and only ever rmdir()ed: the cleanup's rm -rf
	# must never see a bind of the real /dev.
	_rd=/tmp/postseal-realdev.$$
	mkdir "$_rd" || hard_error "mkdir $_rd"
	mount --rbind /dev "$_rd" || hard_error "mount --rbind /dev"
	mount -t tmpfs -o mode=755 postseal-dev /dev ||
		hard_error "mount tmpfs on /dev"
	for _d in "$_rd"/* "$_rd"/.[!.]*; do
		[ -e "$_d" ] || [ -L "$_d" ] || continue
		_b=/dev/$(basename "$_d")
		if [ -L "$_d" ]; then
			cp -P "$_d" "$_b"
		elif [ -d "$_d" ]; then
			mkdir "$_b" && mount --rbind "$_d" "$_b"
		else
			: >"$_b" && mount --bind "$_d" "$_b"
		fi
	done
	umount -l "$_rd" && rmdir "$_rd"
	: >/dev/log
	mount --bind "$T/log.sock" /dev/log || hard_error "bind /dev/log"
}

# syslog_wait N: until $SYSLOG has N lines or 2 s passed.
syslog_wait() {
	_n=0
	while [ "$(wc -l <"$SYSLOG")" -lt "$1" ] && [ $_n -lt 40 ]; do
		_n=$((_n + 1))
		sleep 0.05
	done
}
