# lib.sh -- helpers for the end-to-end tests; source it, then call e2e_init.
#
#	. "${top_srcdir:-.}/tests/e2e/lib.sh"
#	e2e_init
#	make_ca
#	start_server --tls starttls --user u --password p
#	write_config <<EOF ... EOF         (or base_config >"$CFG")
#	run_postseal -C "$CFG" rcpt@example.org <msg
#	assert_exit 0
#	e2e_done
#
# Environment: POSTSEAL (default $top_builddir/src/postseal), PYTHON
# (default /usr/bin/python3), top_srcdir, top_builddir.  KEEP_E2E=1 keeps
# the work directory.  POSTSEAL may be pointed at msmtp to check the
# harness itself; tests of postseal-only behaviour then skip (postseal_only).
#
# Exit status of a test: 0 pass, 1 failed assertion, 77 skip, 99 the
# harness itself broke.  A test that skips only some of its cases calls
# partial_skip WHY for each: the checks that ran still count, and the test
# then exits 77 when nothing failed (a skip that CI counts, not a pass).  Assertions do not stop the test: each failure is
# printed and counted, and e2e_done (or the exit trap) turns the count into
# the exit status.  Plain POSIX sh (dash).

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fi
: "${top_builddir:=$top_srcdir}"
: "${POSTSEAL:=$top_builddir/src/postseal}"
: "${PYTHON:=/usr/bin/python3}"
E2E=$top_srcdir/tests/e2e
TEST_NAME=$(basename "$0" .sh)
FAILS=0
CHECKS=0
SKIPS=0
PIDS=
T=
RC=
PORT=
Q_BEFORE=0

# ---- lifecycle ----

e2e_log() {
	printf '%s: %s\n' "$TEST_NAME" "$*"
}

skip() {
	e2e_log "SKIP: $*"
	exit 77
}

# partial_skip WHY: one case of the test could not run.
partial_skip() {
	SKIPS=$((SKIPS + 1))
	e2e_log "SKIP (part): $*"
}

hard_error() {
	e2e_log "HARD ERROR: $*"
	exit 99
}

# at_cleanup CMD: run CMD (with eval) when the test ends, after the
# processes it started are gone.
CLEANUPS=
at_cleanup() {
	CLEANUPS="$CLEANUPS
$*"
}

e2e_cleanup() {
	_rc=$?
	trap - EXIT HUP INT TERM
	for _pid in $PIDS; do
		kill -TERM "$_pid" 2>/dev/null
	done
	for _pid in $PIDS; do
		_n=0
		while kill -0 "$_pid" 2>/dev/null && [ $_n -lt 40 ]; do
			sleep 0.05
			_n=$((_n + 1))
		done
		kill -KILL "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	done
	[ -n "$CLEANUPS" ] && eval "$CLEANUPS"
	if [ "$_rc" -eq 0 ] && [ "$FAILS" -gt 0 ]; then
		_rc=1
	elif [ "$_rc" -eq 0 ] && [ "$SKIPS" -gt 0 ]; then
		_rc=77
	fi
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 77 ] && [ -n "$T" ] &&
	    [ -d "$T" ]; then
		dump_logs
	fi
	if [ -n "$T" ] && [ -z "${KEEP_E2E:-}" ]; then
		rm -rf "$T"
	elif [ -n "$T" ]; then
		e2e_log "work directory kept: $T"
	fi
	exit "$_rc"
}

# Show what the servers saw; called when a test fails.
dump_logs() {
	for _f in "$T"/*.log "$T"/*.record "$T"/*.events "$T"/*.out; do
		[ -s "$_f" ] || continue
		echo "---- $(basename "$_f") (last 40 lines) ----"
		tail -n 40 "$_f"
	done
}

e2e_init() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/postseal-e2e.XXXXXX") ||
	    hard_error "mktemp failed"
	trap e2e_cleanup EXIT
	trap 'exit 99' HUP INT TERM
	[ -x "$PYTHON" ] || skip "$PYTHON not found"
	"$PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
	    skip "python3-aiosmtpd is not installed"
	if [ ! -x "$POSTSEAL" ]; then
		hard_error "POSTSEAL=$POSTSEAL is not an executable"
	fi
	# No user configuration may leak in (msmtp reads ~/.msmtprc).
	HOME=$T/home
	XDG_CONFIG_HOME=$T/home/.config
	# The default queue (held messages, -q without queue_dir) is the
	# test's own, never the user's.
	XDG_STATE_HOME=$T/home/.local/state
	DEFAULT_QUEUE=$XDG_STATE_HOME/postseal/queue
	export HOME XDG_CONFIG_HOME XDG_STATE_HOME
	mkdir -p "$HOME"
	unset MSMTP_CONFIG 2>/dev/null || true
	CFG=$T/config
	QUEUE=$T/queue
	mkdir -p "$QUEUE"
	chmod 700 "$QUEUE"
}

e2e_done() {
	if [ "$FAILS" -gt 0 ]; then
		e2e_log "$FAILS of $CHECKS checks failed"
		exit 1
	fi
	if [ "$SKIPS" -gt 0 ]; then
		e2e_log "all $CHECKS checks passed, but $SKIPS case(s) skipped"
		exit 77
	fi
	e2e_log "all $CHECKS checks passed"
	exit 0
}

# ---- requirements ----

need_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "needs $_c"
	done
}

is_msmtp() {
	case $(basename "$POSTSEAL") in
	msmtp*) return 0 ;;
	esac
	return 1
}

# The rest of the test checks behaviour msmtp does not have.
postseal_only() {
	if is_msmtp; then
		skip "postseal-only behaviour (POSTSEAL is msmtp): $*"
	fi
}

# ---- GnuPG ----

# Start HOME's gpg-agent now and wait until it answers. gpg and gpgsm give
# up on an agent they autostart after 5 s, which a loaded 2-core machine
# can exceed: a test's setup must not depend on that race.
gpg_agent_up() { # HOME
	_i=0
	until GNUPGHOME=$1 gpg-connect-agent --no-autostart /bye >/dev/null 2>&1; do
		[ $((_i % 20)) -eq 0 ] &&
		    gpg-agent --homedir "$1" --daemon >/dev/null 2>&1
		_i=$((_i + 1))
		[ $_i -le 120 ] || hard_error "gpg-agent in $1 does not answer"
		sleep 0.25
	done
}

# ---- certificates and servers ----

make_ca() {
	CA=$T/ca
	sh "$E2E/mkca.sh" "$CA" || {
		_rc=$?
		[ $_rc -eq 77 ] && skip "certtool (gnutls-bin) is not installed"
		hard_error "mkca.sh failed ($_rc)"
	}
}

# start_server [--name NAME] [--cert NAME] SMTPD-ARGS...
# Starts smtpd.py with spool/record/log files under $T and the CA's
# certificate NAME (default "server") unless --tls none is given; waits up
# to 10 s for the port (the server binds port 0 and writes the port it got
# to a file, so there is no race for a free port).  Sets PORT, SPOOL,
# RECORD, EVENTS, SLOG and SERVER_PID (all for NAME, default "srv"),
# writes the pid to $T/NAME.pid and remembers it for cleanup.
start_server() {
	_name=srv
	_certname=server
	while [ $# -gt 0 ]; do
		case $1 in
		--name) _name=$2; shift 2 ;;
		--cert) _certname=$2; shift 2 ;;
		*) break ;;
		esac
	done
	SPOOL=$T/$_name.spool
	RECORD=$T/$_name.record
	SLOG=$T/$_name.log
	EVENTS=$T/$_name.events
	SERVER_NAME=$_name
	_tlsargs=
	if [ -n "${CA:-}" ]; then
		_tlsargs="--cert $CA/$_certname.pem --key $CA/$_certname.key"
	fi
	rm -f "$T/$_name.port"
	mkdir -p "$SPOOL"
	: >"$RECORD"
	: >"$EVENTS"
	# shellcheck disable=SC2086 # tlsargs holds two options
	"$PYTHON" "$E2E/smtpd.py" --port-file "$T/$_name.port" \
	    --spool "$SPOOL" --record "$RECORD" --log "$SLOG" \
	    --events "$EVENTS" \
	    --max-lifetime 600 --parent-pid $$ $_tlsargs "$@" \
	    >"$T/$_name.out" 2>&1 &
	_pid=$!
	PIDS="$PIDS $_pid"
	SERVER_PID=$_pid
	echo "$_pid" >"$T/$_name.pid"
	_n=0
	while [ ! -s "$T/$_name.port" ]; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			cat "$T/$_name.out" >&2
			hard_error "smtpd.py $* exited early"
		fi
		_n=$((_n + 1))
		[ $_n -gt 200 ] && hard_error "smtpd.py did not listen in 10 s"
		sleep 0.05
	done
	PORT=$(cat "$T/$_name.port")
}

# stop_server [NAME]: stop the server NAME (default: the one started last)
# by the pid start_server recorded, and wait until it is gone.
stop_server() {
	_sname=${1:-${SERVER_NAME:-srv}}
	[ -f "$T/$_sname.pid" ] || hard_error "stop_server: no server $_sname"
	_spid=$(cat "$T/$_sname.pid")
	kill -TERM "$_spid" 2>/dev/null
	_n=0
	while kill -0 "$_spid" 2>/dev/null && [ $_n -lt 100 ]; do
		sleep 0.05
		_n=$((_n + 1))
	done
	kill -KILL "$_spid" 2>/dev/null
	wait "$_spid" 2>/dev/null
	rm -f "$T/$_sname.pid"
	# Not again at cleanup: by then the pid may belong to someone else.
	PIDS=$(printf ' %s ' $PIDS | sed "s/ $_spid / /")
	return 0
}

# Remember the pid of a process a test started in the background.
track_pid() {
	PIDS="$PIDS $1"
}

# A TCP port on 127.0.0.1 that nothing listens on (for "connection
# refused").  A port from the ephemeral range can be handed out as the
# source port of some other connect() at any time, and then it is in use.
# So: a port below the ephemeral range (ip_local_port_range), which the
# kernel never hands out by itself, that nothing has bound now.
free_port() {
	"$PYTHON" -c 'import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(max(1025, lo - 8000), lo)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break'
}

# ---- configuration ----

# write_config [FILE]: stdin to FILE (default $CFG), mode 0600.
# shellcheck disable=SC2120 # FILE is optional
write_config() {
	_f=${1:-$CFG}
	(umask 077 && cat >"$_f") || hard_error "cannot write $_f"
	chmod 600 "$_f"
}

# base_config [starttls|implicit|plain] [USER PASSWORD]: a config for the
# server started last (PORT), account "test", made default, envelope
# sender sender@example.org, timeout $CFG_TIMEOUT (10), and for postseal
# timeout_data_end $CFG_TIMEOUT_DATA_END if set; host $E2E_HOST (default
# localhost, a DNS name in the test certificate, so that SNI is sent and
# the name is checked against a DNS SAN; tests of the IP-SAN path set
# E2E_HOST=127.0.0.1).  Print it; add lines after it as needed.
base_config() {
	_mode=${1:-starttls}
	printf 'defaults\n'
	case $_mode in
	starttls) printf 'tls on\ntls_starttls on\n' ;;
	implicit) printf 'tls on\ntls_starttls off\n' ;;
	plain) printf 'tls off\n' ;;
	*) hard_error "base_config: unknown mode $_mode" ;;
	esac
	[ -n "${CA:-}" ] && printf 'tls_trust_file %s\n' "$CA/ca.pem"
	printf 'timeout %s\n' "${CFG_TIMEOUT:-10}"
	if [ -n "${CFG_TIMEOUT_DATA_END:-}" ]; then
		ps_line "timeout_data_end $CFG_TIMEOUT_DATA_END"
	fi
	printf 'domain client.example.org\n'
	ps_line "queue_dir $QUEUE"
	printf '\naccount test\nhost %s\nport %s\n' "${E2E_HOST:-localhost}" \
	    "$PORT"
	printf 'from sender@example.org\n'
	if [ $# -ge 3 ]; then
		printf 'auth on\nuser %s\npassword %s\n' "$2" "$3"
	else
		printf 'auth off\n'
	fi
	printf '\naccount default : test\n'
}

# A config line msmtp would refuse; printed only for postseal.
ps_line() {
	is_msmtp || printf '%s\n' "$*"
}

# ---- running postseal ----

# run_postseal ARGS... <FILE (stdin is the message; never pipe into it:
# a pipeline runs it in a subshell and RC is lost): stdout to $OUT, stderr to
# $ERR, status to $RC.  Killed after E2E_TIMEOUT (60) seconds, which an
# assertion then reports as a hang (status 124).
run_postseal() {
	OUT=$T/postseal.out
	ERR=$T/postseal.err
	Q_BEFORE=$(queue_entries)
	e2e_log "run: postseal $*"
	timeout -k 5 "${E2E_TIMEOUT:-60}" "$POSTSEAL" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	if [ -s "$ERR" ]; then
		sed 's/^/  stderr: /' "$ERR" | head -n 60
	fi
	return 0
}

# Seconds since the epoch, for "finished in time" checks.
now() {
	date +%s
}

# ---- assertions ----

fail() {
	FAILS=$((FAILS + 1))
	e2e_log "FAIL: $*"
}

ok() {
	CHECKS=$((CHECKS + 1))
}

# assert_exit N [WHAT]
assert_exit() {
	ok
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
		fail "${2:-postseal}: hung (killed after ${E2E_TIMEOUT:-60} s)"
	elif [ "$RC" != "$1" ]; then
		fail "${2:-postseal}: exit status $RC, expected $1"
	fi
}

# assert_exit_in "N M ..." [WHAT]
assert_exit_in() {
	ok
	for _want in $1; do
		[ "$RC" = "$_want" ] && return 0
	done
	fail "${2:-postseal}: exit status $RC, expected one of: $1"
}

# assert_grep ERE FILE [WHAT]   (case-sensitive; use (?i) via -i below)
assert_grep() {
	ok
	if [ ! -f "$2" ]; then
		fail "${3:-$2}: file $2 does not exist"
	elif ! grep -E -q -e "$1" "$2"; then
		fail "${3:-$(basename "$2")}: no line matches /$1/"
	fi
}

assert_grep_i() {
	ok
	if [ ! -f "$2" ]; then
		fail "${3:-$2}: file $2 does not exist"
	elif ! grep -E -i -q -e "$1" "$2"; then
		fail "${3:-$(basename "$2")}: no line matches /$1/i"
	fi
}

# The negative assertions fail when FILE does not exist: a missing file
# proves nothing.
assert_no_grep() {
	ok
	if [ ! -f "$2" ]; then
		fail "${3:-$2}: file $2 does not exist"
	elif grep -E -q -e "$1" "$2"; then
		fail "${3:-$(basename "$2")}: unexpected line matching /$1/:"
		grep -E -n -e "$1" "$2" | head -n 5 | sed 's/^/    /'
	fi
}

assert_grep_fixed() {
	ok
	if [ ! -f "$2" ]; then
		fail "${3:-$2}: file $2 does not exist"
	elif ! grep -F -q -e "$1" "$2"; then
		fail "${3:-$(basename "$2")}: does not contain \"$1\""
	fi
}

assert_no_grep_fixed() {
	ok
	if [ ! -f "$2" ]; then
		fail "${3:-$2}: file $2 does not exist"
	elif grep -F -q -e "$1" "$2"; then
		fail "${3:-$(basename "$2")}: contains \"$1\""
	fi
}

# assert_reply_code CODE FILE [WHAT]: FILE shows the server's reply code
# CODE as a reply code ("535 " or "535-" not inside a longer number), not
# merely the digits somewhere (a port, a size, a time).
assert_reply_code() {
	assert_grep "(^|[^0-9])$1[ -]" "$2" "${3:-$(basename "$2") (reply $1)}"
}

# assert_file_count DIR GLOB N [WHAT] (DIR must exist)
assert_file_count() {
	ok
	if [ ! -d "$1" ]; then
		fail "${4:-$1}: directory $1 does not exist"
		return 0
	fi
	_n=0
	for _f in "$1"/$2; do
		[ -e "$_f" ] && _n=$((_n + 1))
	done
	if [ "$_n" -ne "$3" ]; then
		fail "${4:-$1}: $_n files matching $2, expected $3"
	fi
}

# assert_eq GOT WANT WHAT
assert_eq() {
	ok
	if [ "$1" != "$2" ]; then
		fail "$3: got \"$1\", expected \"$2\""
	fi
}

# assert_match STRING ERE WHAT
assert_match() {
	ok
	if ! printf '%s\n' "$1" | grep -Eq -- "$2"; then
		fail "$3: \"$1\" does not match /$2/"
	fi
}

# assert_same_file GOT WANT WHAT: byte-for-byte, with a diff when not.
assert_same_file() {
	ok
	if ! cmp -s "$1" "$2"; then
		fail "$3: $(basename "$1") differs from $(basename "$2"):"
		diff -u "$2" "$1" | head -n 40 | cat -A | sed 's/^/    /'
	fi
}

# Nothing was delivered to the server started last.
assert_nothing_delivered() {
	assert_file_count "$SPOOL" '*.eml' 0 "server spool"
}

# assert_delivered N [WHAT]: exactly N messages in the spool of the server
# started last (exit 0 also means "queued": only the spool says delivered).
# Call it before reading "$SPOOL"/N.eml.
assert_delivered() {
	assert_file_count "$SPOOL" '*.eml' "$1" "${2:-server spool}"
}

# Only one connection reached the server started last (no second
# session, e.g. a failure notice sent after an immediate failure).
assert_one_session() {
	assert_no_grep '^[2-9][0-9]* |^1[0-9]+ ' "$RECORD" \
	    "record (a second connection to the server${1:+, $1})"
}

assert_no_command() {
	for _c in "$@"; do
		assert_no_grep "^[0-9]+ (plain|tls) $_c( |$)" "$RECORD" \
		    "record (command $_c)"
	done
}

# queue_entries [AREA]: entries in $QUEUE's active/ (the default: what a
# queue run will retry) or failed/ (kept for inspection), as src/queue.c
# lays them out.
queue_entries() {
	find "$QUEUE/${1:-active}" -mindepth 1 -maxdepth 1 -type d \
	    2>/dev/null | wc -l
}

# assert_queue_empty [WHAT]: nothing waits for a retry (permanent
# failures: the caller got the error; a copy may stay in failed/).
assert_queue_empty() {
	ok
	_nq=$(queue_entries active)
	if [ "$_nq" -ne 0 ]; then
		fail "${1:-queue}: $_nq active queue entries, expected none:" \
		    "$(cd "$QUEUE" && find . -mindepth 2 -maxdepth 2 -type d |
		    tr '\n' ' ')"
	fi
}

# assert_failed_kept [WHAT]: a permanent failure left exactly one entry in
# failed/ for inspection (and none active).
assert_failed_kept() {
	assert_queue_empty "$@"
	assert_eq "$(queue_entries failed)" 1 "${1:-queue}: entries in failed/"
}

# A temporary failure.  postseal (base_config always sets queue_dir)
# must queue it: exit 0, "queued" on stderr and exactly one more entry in
# $QUEUE/active than before this run.  msmtp, which has no queue, must
# exit 75 (EX_TEMPFAIL) instead.  The assertion says which form it saw
# and sets TEMPFAIL_SEEN to "queued", "75" or what else it got.
assert_tempfail_or_queued() {
	ok
	_nq=$(($(queue_entries active) - Q_BEFORE))
	if [ "$RC" = 0 ] && grep -q -i 'queued' "$ERR" && [ "$_nq" = 1 ]; then
		TEMPFAIL_SEEN=queued
	elif [ "$RC" = 75 ] && [ "$_nq" = 0 ]; then
		TEMPFAIL_SEEN=75
	else
		TEMPFAIL_SEEN="exit $RC, $_nq new queue entries"
	fi
	_want=queued
	is_msmtp && _want=75
	if [ "$RC" = 124 ]; then
		fail "${1:-postseal}: hung (killed after ${E2E_TIMEOUT:-60} s)"
	elif [ "$TEMPFAIL_SEEN" = "$_want" ]; then
		e2e_log "${1:-postseal}: temporary failure seen as: $TEMPFAIL_SEEN"
	else
		fail "${1:-postseal}: temporary failure seen as: $TEMPFAIL_SEEN;" \
		    "expected $_want (queued: exit 0, \"queued\" on stderr," \
		    "one new entry; 75: exit 75, no new entry)"
	fi
}

# ---- message and spool helpers ----

# json_get FILE KEY: a top-level field of a spool .json, JSON-encoded
# unless it is a string.
json_get() {
	"$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# eml_part FILE headers|body: the header block (without the empty line)
# or the body of a received message, bytes unchanged.
eml_part() {
	"$PYTHON" -c 'import sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"\r\n\r\n")
h, b = (d, b"") if i < 0 else (d[:i + 2], d[i + 4:])
sys.stdout.buffer.write(h if sys.argv[2] == "headers" else b)' "$1" "$2"
}

# assert_crlf FILE: every line ends in CRLF; no bare CR or LF anywhere.
assert_crlf() {
	ok
	_why=$("$PYTHON" -c 'import re, sys
d = open(sys.argv[1], "rb").read()
m = re.search(rb"\r(?!\n)|(?<!\r)\n", d)
if m:
    print("bare %s at byte %d" % ("CR" if d[m.start()] == 13 else "LF",
                                  m.start()))
elif d and not d.endswith(b"\r\n"):
    print("does not end in CRLF")' "$1")
	if [ -n "$_why" ]; then
		fail "$(basename "$1"): $_why"
	fi
}

# assert_header FILE NAME [ERE]: the message has the header (and its
# unfolded value matches ERE); assert_no_header FILE NAME.
assert_header() {
	ok
	if ! eml_part "$1" headers | grep -i -q "^$2:"; then
		fail "$(basename "$1"): no $2 header"
		return 0
	fi
	_v=$(header_value "$1" "$2")
	if [ -n "${3:-}" ] && ! printf '%s\n' "$_v" | grep -E -q -e "$3"; then
		fail "$(basename "$1"): $2: \"$_v\" does not match /$3/"
	fi
}

# header_value FILE NAME: the unfolded value of the first NAME field.
header_value() {
	"$PYTHON" -c 'import re, sys
d = open(sys.argv[1], "rb").read()
h = d.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
h = re.sub(r"\r\n(?=[ \t])", "", h)
for line in h.split("\r\n"):
    n, _, v = line.partition(":")
    if n.lower() == sys.argv[2].lower():
        print(v.strip())
        break' "$1" "$2"
}

assert_no_header() {
	ok
	if eml_part "$1" headers | grep -i -q "^$2:"; then
		fail "$(basename "$1"): unexpected $2 header:" \
		    "$(eml_part "$1" headers | grep -i "^$2:" | head -n 1)"
	fi
}

# Count of a header in a message.
header_count() {
	eml_part "$1" headers | grep -i -c "^$2:"
}

# The base64 forms a password could leak in: the password, PLAIN's
# "\0user\0pass", "user\0pass", LOGIN's base64(pass), one per line.
secret_forms() {
	"$PYTHON" -c 'import base64, sys
u, p = sys.argv[1].encode(), sys.argv[2].encode()
print(p.decode())
for s in (b"\0" + u + b"\0" + p, u + b"\0" + p, p):
    print(base64.b64encode(s).decode())' "$1" "$2"
}

# auth_payloads: the exact AUTH bytes every server of this test received
# (its --events file: the initial response and each later line of the
# exchange), one per line; lines shorter than 8 bytes ("", "*", "=") are
# left out, since they carry no secret and would match anything.
auth_payloads() {
	cat "$T"/*.events 2>/dev/null |
	    sed -n 's/^[0-9]* auth-\(ir\|line\) //p' | awk 'length($0) >= 8'
}

# assert_no_secret USER PASSWORD FILE...: none of FILE holds the password
# (or token) in clear, its usual base64 forms, or any AUTH payload a server
# recorded in this test (see auth_payloads).
assert_no_secret() {
	_u=$1
	_p=$2
	shift 2
	{
		secret_forms "$_u" "$_p"
		auth_payloads
	} | sort -u >"$T/secret.forms"
	while IFS= read -r _form; do
		for _f in "$@"; do
			assert_no_grep_fixed "$_form" "$_f" \
			    "$(basename "$_f") (secret form $_form)"
		done
	done <"$T/secret.forms"
}

# A simple message on stdout.
sample_message() {
	printf 'To: rcpt@example.org\nSubject: %s\n\nHello.\n' \
	    "${1:-e2e test}"
}

# ---- shared cases ----

# tls_refused_case CERT ERE [SMTPD-ARGS...]: a STARTTLS server presenting
# certificate CERT (a name from mkca.sh) must be refused before any
# credential or envelope is sent; stderr matches ERE (case-insensitive);
# the failure is temporary (the message is kept or queued).
tls_refused_case() {
	_cert=$1
	_why=$2
	shift 2
	start_server --cert "$_cert" --tls starttls --user tlsuser --password Zq8-tls-secret "$@"
	base_config starttls tlsuser Zq8-tls-secret | write_config
	sample_message "$_cert" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	assert_tempfail_or_queued "certificate $_cert"
	assert_grep_i "$_why" "$ERR" "stderr (reason for $_cert)"
	assert_nothing_delivered
	assert_no_command AUTH MAIL RCPT DATA
	assert_no_secret tlsuser Zq8-tls-secret "$ERR" "$OUT"
}

# fault_case NAME EXPECT SMTPD-ARGS...: start a STARTTLS+AUTH server with
# the given fault options, submit one message and check the result:
# EXPECT is "temp" (exit 75 or queued), "perm" (69) or an exit status.
# Nothing may arrive in the spool.  The queue is emptied first.
fault_case() {
	_fname=$1
	_expect=$2
	shift 2
	rm -rf "$QUEUE"
	mkdir -p "$QUEUE"
	chmod 700 "$QUEUE"
	start_server --name "$_fname" --tls starttls --user u --password p "$@"
	CFG_TIMEOUT=${FAULT_TIMEOUT:-3} base_config starttls u p | write_config
	sample_message "$_fname" >"$T/msg"
	_t0=$(now)
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
	_t1=$(now)
	case $_expect in
	temp) assert_tempfail_or_queued "$_fname" ;;
	perm) assert_exit 69 "$_fname" ;;
	*) assert_exit "$_expect" "$_fname" ;;
	esac
	assert_nothing_delivered
	ok
	if [ $((_t1 - _t0)) -gt "${FAULT_MAX_SECONDS:-20}" ]; then
		fail "$_fname: took $((_t1 - _t0)) s (timeout ${FAULT_TIMEOUT:-3} s)"
	fi
}
