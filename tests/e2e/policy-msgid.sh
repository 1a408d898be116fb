#!/bin/sh
# A legal Message-ID never gets the message refused (issue 8, item 5): a
# folded one (its TAB survives unfolding) and one over 1000 octets are
# queued (exit 0); the queue envelope keeps a log-safe copy (printable, at
# most 256 octets + "..."); the message itself goes out unchanged.
. "$(dirname "$0")/lib.sh"
e2e_init
# A queue run also looks at the default queue: keep it private (not the
# real ~/.local/state of the user running the tests).
XDG_STATE_HOME=$T/state
export XDG_STATE_HOME
postseal_only "queue envelope"
make_ca
start_server --tls starttls --user u --password p
base_config starttls u p | write_config

long=$("$PYTHON" -c 'print("<" + "a" * 1200 + "@example.org>")')
printf 'To: rcpt@example.org\nSubject: folded\nMessage-ID:\n\t<fold@example.org>\n\t(a\tcomment)\n\nBody.\n' >"$T/folded.msg"
printf 'To: rcpt@example.org\nSubject: long\nMessage-ID: %s\n\nBody.\n' "$long" >"$T/long.msg"

for m in folded long; do
	run_postseal -C "$CFG" -odq rcpt@example.org <"$T/$m.msg"
	assert_exit 0 "$m Message-ID: queued"
done
assert_eq "$(queue_entries active)" 2 "entries in active/"
cat "$QUEUE"/active/*/env >"$T/envs"
assert_grep_fixed 'msgid <fold@example.org> (a comment)' "$T/envs" \
    "folded Message-ID in env: white space made one space"
ok
if LC_ALL=C grep -q "$(printf '\t')" "$T/envs"; then
	fail "a TAB in a queue envelope"
fi
n=$(grep '^msgid <aaaa' "$T/envs" | awk '{ print length($0) }')
assert_eq "$n" $((6 + 256)) "long Message-ID in env: 'msgid ' + 256 octets"
assert_grep '^msgid <a{252}\.\.\.$' "$T/envs" "long Message-ID cut with ..."

run_postseal -C "$CFG" -q
assert_exit 0 "queue run"
assert_queue_empty "after the queue run"
assert_file_count "$SPOOL" '*.eml' 2 "delivered"
# The field as sent: raw (folding kept) for the folded one; the long one
# may be folded by make_safe (its line is over 998 octets), so unfolded.
for f in "$SPOOL"/*.eml; do
	"$PYTHON" -c 'import re, sys
d = open(sys.argv[1], "rb").read().decode()
m = re.search(r"^Message-ID:(.*?)\r\n(?![ \t])", d, re.M | re.S)
raw = m.group(1) if m else "none"
print(repr(raw))
print(repr(raw.replace("\r\n", "").strip(" \t")))' "$f" >"$T/got"
	case $(header_value "$f" Subject) in
	folded)
		assert_eq "$(sed -n 1p "$T/got")" \
		    "'\\r\\n\\t<fold@example.org>\\r\\n\\t(a\\tcomment)'" \
		    "folded Message-ID sent unchanged" ;;
	long)
		assert_eq "$(sed -n 2p "$T/got")" "'$long'" \
		    "long Message-ID sent whole" ;;
	*) fail "unexpected message $f" ;;
	esac
done
e2e_done
