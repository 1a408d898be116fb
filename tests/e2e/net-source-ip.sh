#!/bin/sh
# source_ip (issue 16): the connection comes from the address given (the
# server's record of its peer says 127.0.0.2, not 127.0.0.1); an address
# this host does not have is a configuration error naming it, and nothing
# reaches the server; a source_ip of the other family than every address
# of the host is an error saying so.
. "$(dirname "$0")/lib.sh"
postseal_only "source_ip"
e2e_init
start_server --tls none
sample_message >"$T/msg"
cfg() {
	E2E_HOST=127.0.0.1 base_config plain | sed "s/^host /source_ip $1\\nhost /"
}

cfg 127.0.0.2 | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "source_ip 127.0.0.2"
assert_delivered 1
assert_eq "$(json_get "$SPOOL/1.json" peer)" 127.0.0.2 "peer the server saw"

# 192.0.2.1 (TEST-NET-1) is configured nowhere here: bind() fails with
# EADDRNOTAVAIL before any packet leaves.
cfg 192.0.2.1 | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 78 "source_ip not on this host"
assert_grep_fixed "source_ip 192.0.2.1 is not an address of this host" \
    "$ERR" "stderr names the address"
assert_delivered 1 "server spool (nothing more)"
assert_eq "$(grep -c greeting-sent "$EVENTS")" 1 "no second connection"

cfg ::1 | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
assert_tempfail_or_queued "IPv6 source_ip, IPv4 host"
assert_grep_fixed "127.0.0.1 has no IPv6 address to reach from source_ip ::1" \
    "$ERR" "stderr: family mismatch"

cfg 127.0.0.999 | write_config
run_postseal -C "$CFG" rcpt@example.org <"$T/msg"
# A configuration error: the message is held for a queue run after the fix.
assert_exit 0 "source_ip not an address (held)"
assert_grep_fixed "the configuration cannot be used" "$ERR" "stderr: held"
assert_grep_fixed "'127.0.0.999' is not an IPv4 or IPv6 address" "$ERR" \
    "stderr: bad source_ip"
e2e_done
