#!/bin/sh
# The libraries of the features a plain submission does not use are
# loaded on first use, not linked (src/dl.h, issue 12): the binary needs
# only GnuTLS, libgsasl, libsodium and libc; a submission over STARTTLS
# with AUTH loads none of the others (the dynamic linker's own record,
# LD_DEBUG=files); --inspect, which looks up DNS (nsd on loopback) and the
# organisational domain, loads libunbound and libpsl; and a library that
# lacks a function is named in a clear error, exit 71.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nameserver.sh"
e2e_init
postseal_only "libraries loaded on first use"
need_cmd readelf
need_cmd cc
[ -r /usr/share/publicsuffix/public_suffix_list.dat ] ||
    skip "needs the publicsuffix package"
LAZY='libunbound|libgnutls-dane|libpsl|libjson-c|libexpat|libgpgme|libcurl'

# ldtrace NAME ARGS... <FILE: run postseal with the dynamic linker's
# record of every library it loads in $T/NAME.ld.
ldtrace() {
	_n=$1
	shift
	rm -f "$T/$_n".ld.*
	LD_DEBUG=files LD_DEBUG_OUTPUT=$T/$_n.ld run_postseal "$@"
	cat "$T/$_n".ld.* >"$T/$_n.ld" 2>/dev/null ||
	    hard_error "$_n: LD_DEBUG wrote nothing"
	grep -o 'file=[^ ]*' "$T/$_n.ld" | sort -u | sed "s/^/  $_n: /"
}

readelf -d "$POSTSEAL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$T/needed"
sed 's/^/  needed: /' "$T/needed"
assert_grep '^libgnutls\.so' "$T/needed" "GnuTLS is linked"
assert_no_grep "^($LAZY)" "$T/needed" \
    "none of the on-demand libraries is linked"

make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config
sample_message >"$T/msg"
ldtrace plain -C "$CFG" rcpt@example.org <"$T/msg"
assert_exit 0 "a submission over STARTTLS with AUTH"
assert_delivered 1
assert_grep 'file=libgsasl' "$T/plain.ld" "the record names libgsasl"
assert_no_grep "file=($LAZY)" "$T/plain.ld" \
    "a plain submission loads none of the on-demand libraries"

ns_zone example.com <<'EOF2'
@	TXT	"v=spf1 ip4:127.0.0.1 -all"
_dmarc	TXT	"v=DMARC1; p=none"
EOF2
ns_start
# In "defaults": every account's lookups go to nsd, never elsewhere.
base_config starttls u p | sed "/^defaults\$/a dns_server 127.0.0.1:$NS_PORT" |
    write_config "$T/dns.cfg"
assert_grep "^dns_server 127.0.0.1:$NS_PORT\$" "$T/dns.cfg" "dns_server is in defaults"
printf 'Return-Path: <joe@example.com>\nFrom: Joe <joe@example.com>\nTo: bob@example.org\nSubject: on demand\nDate: Thu, 03 Dec 2026 12:00:00 +0000\nMessage-ID: <1@example.com>\n\nBody.\n' \
    >"$T/in.eml"
ldtrace inspect -C "$T/dns.cfg" -a test --inspect "$T/in.eml" </dev/null
sed 's/^/  | /' "$OUT"
assert_exit 1 "--inspect of an unsigned message (verdict: not authenticated)"
assert_grep 'file=libunbound\.so[^ ]*.*dynamically loaded' "$T/inspect.ld" \
    "--inspect loads libunbound on demand"
assert_grep 'file=libpsl\.so[^ ]*.*dynamically loaded' "$T/inspect.ld" \
    "--inspect loads libpsl on demand"
assert_grep_fixed 'dmarc: fail for example.com (p=none)' "$OUT" \
    "--inspect found the DMARC record through the resolver"

# A libunbound without its functions, found first through LD_LIBRARY_PATH.
UB=$(sed -n 's/.*file=\(libunbound\.so[^ ]*\) .*dynamically loaded.*/\1/p' \
    "$T/inspect.ld" | head -n 1)
mkdir -p "$T/fake"
printf 'int postseal_fake(void) { return 0; }\n' >"$T/fake.c"
cc -shared -fPIC -o "$T/fake/$UB" "$T/fake.c" ||
    hard_error "cannot build the fake $UB"
LD_LIBRARY_PATH=$T/fake run_postseal -C "$T/dns.cfg" -a test --inspect "$T/in.eml" </dev/null
assert_exit 71 "--inspect with a libunbound that lacks its functions"
assert_grep_fixed "$UB lacks ub_" "$ERR" "the error names the library and what it lacks"
