#!/bin/sh
# install.sh -- "make install" puts the binary, the sendmail/mailq/newaliases
# links, the man pages, the system configuration directory with its example,
# the system queue and the contrib files where configure said, with the
# configured paths written into everything that names one; "make uninstall"
# removes every file it installed.  Installs into a DESTDIR of its own.
. "${top_srcdir:-.}/tests/e2e/lib.sh"
e2e_init
postseal_only
[ -n "${INSTALL_PATHS:-}" ] || skip "run from make check (needs INSTALL_PATHS)"
eval "$INSTALL_PATHS"
need_cmd make
D=$T/dest
make -s -C "$top_builddir" install DESTDIR="$D" >"$T/install.out" 2>&1
RC=$?
assert_exit 0 "make install"

# The binary and the links, by the names sendmail's callers use.
[ -x "$D$bindir/postseal" ] || fail "no $bindir/postseal"
for l in "$sbindir/sendmail" "$bindir/mailq" "$bindir/newaliases"; do
	ok
	[ -L "$D$l" ] || { fail "$l is not a link"; continue; }
	t=$(readlink "$D$l")
	case $t in
	"$bindir/postseal" | postseal) ;;
	*) fail "$l points at $t" ;;
	esac
done

# The paths compiled in are the configured ones.
"$D$bindir/postseal" --version >"$T/version.out" 2>&1
assert_grep_fixed "system configuration: $confdir" "$T/version.out"
assert_grep_fixed "system queue: $queuedir" "$T/version.out"

# Man pages and units name the configured paths, never another's.
man1=$D$mandir/man1/postseal.1
man5=$D$mandir/man5/postseal.conf.5
unit=$D$unitdir/postseal-queue.service
uunit=$D$userunitdir/postseal-queue.service
for f in "$man1" "$man5" "$unit" "$D$unitdir/postseal-queue.timer" "$uunit" \
    "$D$unitdir/postseal-incoming.path" "$D$pkglibexecdir/postseal-drop" \
    "$D$userunitdir/postseal-queue.timer" "$D$complete/postseal" \
    "$D$confdir/config.example" "$D$sysconfdir/logrotate.d/postseal"; do
	ok
	[ -s "$f" ] || fail "not installed: ${f#$D}"
done
assert_grep_fixed "$confdir/config" "$man1" "postseal(1)"
assert_grep_fixed "$confdir/config" "$man5" "postseal.conf(5)"
assert_grep_fixed "$queuedir" "$man5" "postseal.conf(5)"
assert_grep "^ExecStart=$bindir/postseal " "$unit" "system unit"
assert_grep "^ReadWritePaths=$queuedir\$" "$unit" "system unit"
assert_grep "^PathChanged=$queuedir/incoming\$" \
    "$D$unitdir/postseal-incoming.path" "path unit"
assert_grep "^ExecStart=$bindir/postseal " "$uunit" "user unit"
assert_grep_fixed "$confdir/config" "$D$complete/postseal" "completion"
# No other path to the configuration or the binary is left in them (the
# configured ones are cut out first: /usr/local/etc/postseal holds
# "/etc/postseal").
for f in "$man1" "$man5" "$unit" "$uunit" "$D$complete/postseal"; do
	sed -e "s|$confdir||g" -e "s|$bindir/postseal||g" \
	    -e "s|$queuedir||g" "$f" >"$T/cut"
	assert_no_grep_fixed "/etc/postseal" "$T/cut" "${f#$D}"
	assert_no_grep_fixed "/usr/bin/postseal" "$T/cut" "${f#$D}"
	assert_no_grep_fixed "/var/spool/postseal" "$T/cut" "${f#$D}"
done

# The system queue exists, private; the configuration directory is there
# with its accounts folder, and postseal reads neither file it installed.
ok
[ -d "$D$queuedir" ] || fail "no system queue $queuedir"
assert_eq "$(stat -c %a "$D$queuedir" 2>/dev/null)" 700 "queue mode"
ok
[ -d "$D$confdir/accounts" ] || fail "no $confdir/accounts"

# The completion offers the options of this binary and the accounts.
if command -v bash >/dev/null 2>&1; then
	mkdir -p "$HOME/.config/postseal"
	printf 'account alpha\nhost h\naccount beta : alpha\n' \
	    >"$HOME/.config/postseal/config"
	bash -c '. "$1"; COMP_WORDS=("$2" -a ""); COMP_CWORD=2
		_postseal; printf "%s\n" "${COMPREPLY[@]}"' sh \
	    "$D$complete/postseal" "$D$bindir/postseal" >"$T/comp.out" 2>&1
	assert_grep '^alpha$' "$T/comp.out" "completion of -a"
	assert_grep '^beta$' "$T/comp.out" "completion of -a"
	bash -c '. "$1"; COMP_WORDS=("$2" --dkim-k); COMP_CWORD=1
		_postseal; printf "%s\n" "${COMPREPLY[@]}"' sh \
	    "$D$complete/postseal" "$D$bindir/postseal" >"$T/comp2.out" 2>&1
	assert_grep '^--dkim-keygen$' "$T/comp2.out" "completion of options"
fi

# Uninstall leaves no file behind.
make -s -C "$top_builddir" uninstall DESTDIR="$D" >"$T/uninstall.out" 2>&1
RC=$?
assert_exit 0 "make uninstall"
find "$D" ! -type d >"$T/left.out"
ok
[ -s "$T/left.out" ] && fail "left after uninstall: $(tr '\n' ' ' <"$T/left.out")"
e2e_done
