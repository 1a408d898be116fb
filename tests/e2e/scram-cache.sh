#!/bin/sh
# SCRAM's SaltedPassword cache (src/sasl.c) against Dovecot with stored
# SCRAM-SHA-256 credentials (a fixed salt), through the real Postfix:
# the first run computes SaltedPassword and keeps it (0600, in the state
# directory's scram/) only after the server proved it knows it; the next
# run uses the file (a wrong value in it makes Dovecot refuse, and the
# refused value is removed so that the run after computes it again); a
# password changed on the server (new salt) misses the cache; an entry
# works only with the password it was made with.
. "$(dirname "$0")/lib.sh"
e2e_init
postseal_only
. "$(dirname "$0")/postfix_env.sh"
pf_require
make_ca
DV_SCHEME=SCRAM-SHA-256
pf_start scuser Scram-Pw.1
PORT=$PF_SMTPS_PORT
RECORD=$T/none.record
: >"$RECORD"
C=$XDG_STATE_HOME/postseal/scram
n=0
send() { # PASSWORD [WHAT]
	{ base_config implicit scuser "$1"; echo 'auth scram-sha-256'; } |
	    write_config
	sample_message "${2:-scram}" >"$T/msg"
	run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
}
cached() { find "$C" -type f ! -name '*.tmp' 2>/dev/null | wc -l; }

send Scram-Pw.1 first
assert_exit 0 "first run"
n=$((n + 1))
pf_wait_spool $n || fail "first message not relayed"
assert_eq "$(cached)" 1 "cache entries after the first run"
f=$(find "$C" -type f | head -n 1)
assert_eq "$(stat -c '%a %s' "$f" 2>/dev/null)" "600 32" "cache file mode and size"
assert_eq "$(stat -c %a "$C")" 700 "cache directory mode"
ino=$(stat -c %i "$f")

send Scram-Pw.1 second
assert_exit 0 "second run (cached)"
n=$((n + 1))
pf_wait_spool $n || fail "second message not relayed"
assert_eq "$(stat -c %i "$f" 2>/dev/null)" "$ino" "cache file kept, not rewritten"

# Proof that the file is used: a wrong SaltedPassword in it is refused.
head -c 32 /dev/urandom >"$f"
send Scram-Pw.1 stale
assert_exit 77 "a wrong cached SaltedPassword"
assert_eq "$(cached)" 0 "the refused value is removed"
send Scram-Pw.1 recomputed
assert_exit 0 "after the stale value: computed again"
n=$((n + 1))
pf_wait_spool $n || fail "message after the stale value not relayed"
assert_eq "$(cached)" 1 "cache entries after recomputing"

# A new password on the server comes with a new salt: a new entry.
sleep 1 # Dovecot rereads the passwd-file when its mtime changes
printf 'scuser:%s::::::\n' "$(doveadm pw -s SCRAM-SHA-256 -p New-Pw.2)" \
    >"$DV/passwd"
send New-Pw.2 newpw
assert_exit 0 "new password (new salt)"
n=$((n + 1))
pf_wait_spool $n || fail "message with the new password not relayed"
assert_eq "$(cached)" 2 "cache entries after a new salt"
# The cache is bound to the configured password: the old one, with the
# new salt's entry present, fails as it would without a cache.
send Scram-Pw.1 oldpw
assert_exit 77 "the old password against the new salt's entry"
assert_eq "$(cached)" 1 "the entry the old password could not use is gone"
assert_grep "sasl_method=SCRAM-SHA-256, sasl_username=scuser" "$PF/maillog" \
    "Postfix log (SCRAM)"
e2e_done
