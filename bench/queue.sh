#!/bin/sh
# bench/queue.sh -- the queue's numbers (a benchmark, not a test).
#
#   sh bench/queue.sh [BUILDDIR]      (BUILDDIR holds src/postseal; default .)
#
# Against one local server (tests/e2e/smtpd.py, STARTTLS + AUTH PLAIN, a
# throw-away CA), side by side in one run:
#   1. flushing N (default 1000) queued 4 KB messages with one
#      "postseal -q" (one connection, RSET between messages, pipelined)
#      versus N sequential "msmtp" invocations (a process, a TCP
#      connection, a TLS handshake and AUTH each); target >= 20x faster;
#   2. the cost of spool-first per message: queue_store() (message and
#      envelope written and fsync()ed, renamed, directory fsync()ed) plus
#      queue_remove() after the 2xx -- all that a submission does beyond
#      delivering without spooling -- timed one message at a time in the
#      same file system as the queue (a small C program built here from
#      src/queue.c); target <= 2 ms median.
# Needs: python3-aiosmtpd, gnutls-bin (certtool), msmtp, cc, libsodium.
# Environment: N (messages), BENCH_DIR (where the queue lives; default a
# directory under $TMPDIR: its file system decides the fsync cost).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-.}" && pwd)
POSTSEAL=$build/src/postseal
PYTHON=${PYTHON:-/usr/bin/python3}
N=${N:-1000}
[ -x "$POSTSEAL" ] || { echo "bench: no $POSTSEAL (build first)" >&2; exit 1; }
command -v msmtp >/dev/null || { echo "bench: msmtp not installed" >&2; exit 1; }
w=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/postseal-bench.XXXXXX")
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

now_ms() { date +%s%3N; }

# ---- server and configurations ----
sh "$top/tests/e2e/mkca.sh" "$w/ca"
# smtpd.py with TCP_NODELAY on accepted connections: without it the
# server's pipelined replies wait for the client's delayed ACK (40 ms a
# message), and the server, not the clients, would be measured.
cat >"$w/nodelay.py" <<'PY'
import runpy, socket, sys
accept = socket.socket.accept
def nodelay_accept(self):
    conn, addr = accept(self)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn, addr
socket.socket.accept = nodelay_accept
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
PY
"$PYTHON" "$w/nodelay.py" "$top/tests/e2e/smtpd.py" --port-file "$w/port" \
    --tls starttls \
    --cert "$w/ca/server.pem" --key "$w/ca/server.key" --user u \
    --password p --max-lifetime 3600 --idle-timeout 600 >"$w/smtpd.out" 2>&1 &
srv=$!
i=0
while [ ! -s "$w/port" ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { cat "$w/smtpd.out"; exit 1; }
	sleep 0.05
done
port=$(cat "$w/port")
mkdir -m 700 "$w/queue" "$w/home"
cat >"$w/config" <<EOF
defaults
tls on
tls_starttls on
tls_trust_file $w/ca/ca.pem
queue_dir $w/queue

account bench
host 127.0.0.1
port $port
from sender@example.org
auth plain
user u
password p

account default : bench
EOF
sed '/^queue_dir/d' "$w/config" >"$w/msmtprc"
chmod 600 "$w/config" "$w/msmtprc"
"$PYTHON" -c 'import sys
body = ("x" * 74 + "\n") * 52
sys.stdout.write("To: rcpt@example.org\nSubject: bench\n\n" + body)' \
    >"$w/msg"

# ---- 1. one queue run versus N msmtp processes ----
i=0
while [ $i -lt "$N" ]; do
	HOME=$w/home "$POSTSEAL" -C "$w/config" -odq rcpt@example.org <"$w/msg"
	i=$((i + 1))
done
queued=$(find "$w/queue/active" -mindepth 1 -maxdepth 1 | wc -l)
t0=$(now_ms)
HOME=$w/home "$POSTSEAL" -C "$w/config" -q
t1=$(now_ms)
left=$(find "$w/queue/active" -mindepth 1 -maxdepth 1 | wc -l)
q_ms=$((t1 - t0))

t0=$(now_ms)
i=0
while [ $i -lt "$N" ]; do
	HOME=$w/home msmtp -C "$w/msmtprc" rcpt@example.org <"$w/msg"
	i=$((i + 1))
done
t1=$(now_ms)
m_ms=$((t1 - t0))

# ---- 2. spool-first: queue_store() + queue_remove() per message ----
cat >"$w/cost.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "queue.h"

static char body[4096];

static int
wr(void *arg, int fd, struct err *e)
{
	(void)arg;
	if (write(fd, body, sizeof(body)) != (ssize_t)sizeof(body))
		return err_set(e, ERR_IO, "write");
	return 0;
}

static double
ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const char *const rcpt[] = {"rcpt@example.org"};
	struct queue_envelope env = {0};
	struct queue_entry *qe;
	struct queue *q;
	struct err e;
	int i, n = (int)strtol(argv[2], NULL, 10);
	double *t = calloc((size_t)n, sizeof(*t)), t0;

	(void)argc;
	memset(body, 'x', sizeof(body));
	env.account = "bench";
	env.from = "sender@example.org";
	env.rcpts = rcpt;
	env.nrcpts = 1;
	if (queue_open(argv[1], 1, &q, &e) == -1)
		return fprintf(stderr, "%s\n", e.text), 1;
	for (i = 0; i < n; i++) {
		t0 = ms();
		if (queue_store(q, &env, wr, NULL, &qe, &e) == -1 ||
		    queue_remove(qe, &e) == -1)
			return fprintf(stderr, "%s\n", e.text), 1;
		t[i] = ms() - t0;
		queue_release(qe);
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%.3f %.3f %.3f\n", t[n / 2], t[n * 9 / 10], t[n - 1]);
	return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config prints several words
${CC:-cc} -O2 -D_GNU_SOURCE -I"$top/src" -o "$w/cost" "$w/cost.c" \
    "$top/src/queue.c" "$top/src/err.c" "$top/src/buf.c" \
    $(pkg-config --cflags --libs libsodium)
set -- $("$w/cost" "$w/costq" "$N")

# ---- report ----
echo "postseal bench ($N messages of 4 KB, STARTTLS + AUTH, 127.0.0.1;"
echo "queue on $(df -T "$w" | awk 'NR == 2 {print $2}'))"
echo "  queued: $queued; left after the run: $left"
printf '  postseal -q, one run:    %6d ms  (%.2f ms/message)\n' "$q_ms" \
    "$(echo "$q_ms $N" | awk '{print $1 / $2}')"
printf '  msmtp, %d invocations: %6d ms  (%.2f ms/message)\n' "$N" "$m_ms" \
    "$(echo "$m_ms $N" | awk '{print $1 / $2}')"
echo "$m_ms $q_ms" | awk '{
	r = $1 / ($2 ? $2 : 1)
	printf "  speed-up: %.1fx (target: >= 20x): %s\n", r, (r >= 20) ? "met" : "NOT met"
}'
echo "  spool-first per message (store + fsyncs + remove):"
echo "$1 $2 $3" | awk '{
	printf "    median %.3f ms, p90 %.3f ms, max %.3f ms", $1, $2, $3
	printf " (target: median <= 2 ms): %s\n", ($1 <= 2) ? "met" : "NOT met"
}'
