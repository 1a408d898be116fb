# callers_common.sh -- helpers for the caller tests (issue 9): -bs
# dialogues, a test prefix with postseal installed as sendmail, and the
# aliases file.  Source it after lib.sh and e2e_init.

BSCLIENT=$E2E/bs-client.py

# bs_run SCRIPT [POSTSEAL-ARGS...]: run a -bs dialogue from SCRIPT
# (bs-client.py's format) against postseal -bs with the arguments.  Sets
# BS_RC (0: every expect matched), BS_EXIT (postseal's status), and
# $T/bs.transcript.
bs_run() {
	_script=$1
	shift
	e2e_log "run: postseal -bs $* <$(basename "$_script")"
	timeout -k 5 "${E2E_TIMEOUT:-120}" "$PYTHON" "$BSCLIENT" "$_script" \
	    "$T/bs.transcript" -- "$POSTSEAL" -bs "$@" >"$T/bs.client" 2>"$T/bs.err"
	BS_RC=$?
	BS_EXIT=$(sed -n 's/^exit //p' "$T/bs.transcript" | tail -n 1)
	if [ "$BS_RC" != 0 ]; then
		sed 's/^/  client: /' "$T/bs.client" | head -n 5
		tail -n 20 "$T/bs.transcript" | sed 's/^/  transcript: /'
	fi
	[ -s "$T/bs.err" ] && sed 's/^/  stderr: /' "$T/bs.err" | head -n 20
	return 0
}

# assert_bs_ok [WHAT]: every expected reply code came.
assert_bs_ok() {
	ok
	[ "$BS_RC" = 0 ] || fail "${1:--bs dialogue}: client status $BS_RC" \
	    "($(head -n 1 "$T/bs.client"))"
}

# install_prefix: $PREFIX/sbin/{sendmail,mailq,newaliases} and
# $PREFIX/bin/mail... are symlinks to $POSTSEAL, as a package installs
# them; nothing outside $T is touched.
install_prefix() {
	PREFIX=$T/prefix
	mkdir -p "$PREFIX/sbin" "$PREFIX/lib"
	for _n in sendmail mailq newaliases; do
		ln -sf "$POSTSEAL" "$PREFIX/sbin/$_n"
	done
	SENDMAIL=$PREFIX/sbin/sendmail
}

# A config for the server started last, written to $CFG, with the lines
# from stdin (e.g. "aliases FILE") in its defaults section, so that every
# account has them (lines after "account default : test" would belong to
# the default account only, not to "test" found by its from address).
caller_config() {
	cat >"$T/config.extra"
	base_config "${1:-plain}" | sed "1r $T/config.extra" | write_config
}
