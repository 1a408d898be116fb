#!/bin/sh
# Two processes needing a token at once (issue 11): the refresh token
# rotates on every use and the old one is then invalid_grant, and the
# token endpoint is slow, so without the state file's lock (and the re-read
# after taking it) one of them would fail or lose the rotated token.  Both
# must send, with one refresh per round, and the stored refresh token must
# be the newest.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$E2E/oauth2-lib.sh"
postseal_only "OAuth2 built in"
make_ca
start_oauth2d --rotate --slow-refresh 1 --lifetime 4 \
    --refresh-token "$O2_SEED"
start_smtp_oauth
oauth2_config refresh_token
seed_state

round() {
	for i in 1 2 3; do
		sample_message "round $1 process $i" >"$T/msg$i"
		timeout -k 5 60 "$POSTSEAL" -C "$CFG" rcpt@example.org \
		    <"$T/msg$i" >"$T/out$i" 2>"$T/err$i" &
		eval "pid$i=\$!"
	done
	for i in 1 2 3; do
		eval "wait \$pid$i"
		RC=$?
		ERR=$T/err$i
		sed 's/^/  stderr: /' "$ERR"
		assert_exit 0 "round $1, process $i"
		assert_no_grep_fixed queued "$ERR" "round $1, process $i sent"
		assert_no_tokens "$ERR"
	done
}

round 1
delivered 3 "round 1"
assert_eq "$(o2_stat refresh_token)" 1 "round 1: one refresh"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "round 1: newest refresh token stored"
sleep 5
round 2
delivered 6 "round 2"
assert_eq "$(o2_stat refresh_token)" 2 "round 2: one more refresh"
assert_eq "$(state_get refresh_token)" "$(o2_stat newest_refresh)" \
    "round 2: newest refresh token stored"
assert_queue_empty
e2e_done
