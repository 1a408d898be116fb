#!/bin/sh
# The trust store index (src/tls.c, load_trust()): a CA bundle large enough
# to be indexed (the system bundle plus the test CA) is parsed whole once;
# later runs take from the index only the CAs that can anchor the peer's
# chain.  Verification stays as strict as with the whole bundle: with the
# index warm a wrong name, an expired and an untrusted certificate still
# fail, and a changed bundle invalidates the index (the test CA removed:
# refused; put back: accepted again).
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only
make_ca
SYS=/etc/ssl/certs/ca-certificates.crt
[ -s "$SYS" ] || skip "no system CA bundle at $SYS"
BUNDLE=$T/bundle.pem
cat "$SYS" "$CA/ca.pem" >"$BUNDLE"
IDX=$XDG_STATE_HOME/postseal/trust

# submit CERT: one message to a new server with certificate CERT.
N=0
submit() {
	N=$((N + 1))
	start_server --name "s$N" --cert "$1" --tls starttls
	base_config starttls |
	    sed "s|^tls_trust_file .*|tls_trust_file $BUNDLE|" | write_config
	sample_message "$1" >"$T/msg"
	Q_BEFORE=$(queue_entries active)
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
}

submit server
assert_exit 0
assert_delivered 1 "first run (index built)"
assert_eq "$(find "$IDX" -type f ! -name '*.tmp' | wc -l)" 1 "index files"
f=$(find "$IDX" -type f | head -n 1)
assert_eq "$(stat -c %a "$f" 2>/dev/null)" 600 "index file mode"
assert_eq "$(stat -c %a "$IDX")" 700 "index directory mode"
before=$(stat -c %Y.%i "$f")

submit server
assert_exit 0
assert_delivered 1 "second run (from the index)"
assert_eq "$(stat -c %Y.%i "$f")" "$before" "index reused, not rebuilt"

for c in wrongname:'name|host' expired:'expired' untrusted:'not trusted'; do
	submit "${c%%:*}"
	assert_tempfail_or_queued "${c%%:*} with the index warm"
	assert_grep_i "${c#*:}" "$ERR" "stderr (${c%%:*})"
	assert_nothing_delivered
	assert_no_command AUTH MAIL
done

# The bundle changes: the index must follow it.
cp "$SYS" "$BUNDLE"
submit server
assert_tempfail_or_queued "test CA removed from the bundle"
assert_grep_i "not trusted" "$ERR" "stderr (test CA removed)"
assert_nothing_delivered
cat "$SYS" "$CA/ca.pem" >"$BUNDLE"
submit server
assert_exit 0
assert_delivered 1 "test CA back in the bundle"

# A damaged index is rebuilt, never trusted into accepting.
printf 'garbage' >"$f"
submit untrusted
assert_tempfail_or_queued "untrusted with a damaged index"
assert_nothing_delivered
submit server
assert_exit 0
assert_delivered 1 "damaged index rebuilt"
e2e_done
