# verifiers.sh -- DKIM helpers for tests/e2e/dkim_*.sh; source it after
# tests/e2e/lib.sh.  Every signature a test makes goes through
# verify_everywhere: postseal --dkim-verify and independent verifiers,
# dkimpy (pyverify.py), OpenDKIM ("opendkim -t" with TestPublicKeys) and,
# for rsa-sha256, Mail::DKIM (plverify.pl).  None looks at DNS: keys come
# from the records registered here.
#
#	dkim_init                   e2e_init, then skip unless the verifiers
#	                            of tests/data/dkim/PACKAGES are installed
#	dkim_keygen TYPE SEL [DOM]  $T/SEL.key and $T/SEL.rec, registered
#	dkim_add_record NAME FILE   register a TXT record file
#	dkim_config CANON SEL TYPE [SEL TYPE...]   account "dk" in $CFG
#	dkim_sign IN SIGNED ARGS... postseal --dkim-sign, must exit 0
#	verify_everywhere FILE WHAT every signature passes everywhere
#	verify_fails FILE WHAT      a signature fails (postseal, dkimpy)
#	dkim_done                   run the queued dkimpy checks, e2e_done
#	tamper IN OUT SED-SCRIPT    a changed copy (sed -e), must differ

DKDATA=$top_srcdir/tests/data/dkim
RECS=

dkim_init() {
	e2e_init
	postseal_only "DKIM modes"
	"$PYTHON" -c 'import dkim, nacl.signing' 2>/dev/null ||
	    skip "needs python3-dkim and python3-nacl (tests/data/dkim/PACKAGES)"
	OPENDKIM=$(command -v opendkim 2>/dev/null || echo /usr/sbin/opendkim)
	[ -x "$OPENDKIM" ] || skip "needs opendkim (tests/data/dkim/PACKAGES)"
	perl -MMail::DKIM::Verifier -e 1 2>/dev/null ||
	    skip "needs libmail-dkim-perl (tests/data/dkim/PACKAGES)"
	DOMAIN=example.com
}

dkim_add_record() {
	RECS="$RECS $1=$2"
}

dkim_keygen() {
	_dom=${3:-$DOMAIN}
	run_postseal --dkim-keygen --type "$1" --domain "$_dom" \
	    --selector "$2" --out "$T/$2.key"
	assert_exit 0 "--dkim-keygen --type $1"
	cp "$OUT" "$T/$2.rec"
	dkim_add_record "$2._domainkey.$_dom" "$T/$2.rec"
}

dkim_config() {
	_canon=$1
	shift
	{
		printf 'account dk\nhost 127.0.0.1\nfrom joe@%s\n' "$DOMAIN"
		printf 'dkim_domain %s\n' "$DOMAIN"
		[ -n "$_canon" ] && printf 'dkim_canon %s\n' "$_canon"
		while [ $# -ge 2 ]; do
			printf 'dkim_key %s %s %s\n' "$1" "$2" "$T/$1.key"
			shift 2
		done
		printf '\naccount default : dk\n'
	} | write_config
}

dkim_sign() {
	_in=$1
	_signed=$2
	shift 2
	run_postseal --dkim-sign -C "$CFG" "$@" <"$_in"
	assert_exit 0 "--dkim-sign $(basename "$_in")"
	cp "$OUT" "$_signed"
}

# The text of a record file: plain, or the quoted strings of zone-file
# form joined.
rec_text() {
	if grep -q '"' "$1"; then
		grep -o '"[^"]*"' "$1" | tr -d '"\n'
	else
		tr -d '\n' <"$1"
	fi
}

# Run the verifiers on FILE: postseal always, then those named in $2
# ("py od pl"); output in $T/{ours,dkimpy,opendkim,perl}.out.
run_verifiers() {
	_dns=
	for _r in $RECS; do
		_dns="$_dns --dns-record $_r"
	done
	# shellcheck disable=SC2086 # one word per option
	run_postseal --dkim-verify $_dns <"$1"
	cp "$OUT" "$T/ours.out"
	case " $2 " in *" py "*) py_queue "$1" "$3" "$4" ;; esac
	case " $2 " in *" pl "*)
		# shellcheck disable=SC2086
		perl "$DKDATA/plverify.pl" "$1" $RECS >"$T/perl.out" 2>&1 ;;
	esac
	case " $2 " in *" od "*)
		: >"$T/opendkim.keys"
		for _r in $RECS; do
			printf '%s %s\n' "${_r%%=*}" "$(rec_text "${_r#*=}")" \
			    >>"$T/opendkim.keys"
		done
		printf 'TestPublicKeys %s\nMode v\nSyslog no\n' \
		    "$T/opendkim.keys" >"$T/opendkim.conf"
		"$OPENDKIM" -x "$T/opendkim.conf" -t "$1" -vv \
		    >"$T/opendkim.out" 2>&1 ;;
	esac
}

# Every signature of FILE passes in postseal, dkimpy and OpenDKIM, and
# every rsa-sha256 one in Mail::DKIM too (NO_PERL: not Mail::DKIM).  With NO_OPENDKIM set, OpenDKIM
# is left out: "opendkim -t" feeds fields through the milter interface,
# which drops the text between the colon and the value and puts back one
# SP, so it cannot check simple header canonicalisation of a signed field
# written "Name:value" or "Name:   value" (dkimpy and Mail::DKIM can).
verify_everywhere() {
	_n=$(grep -c '^DKIM-Signature:' "$1")
	_nrsa=$(grep -c '^DKIM-Signature: v=1; a=rsa-sha256' "$1")
	run_verifiers "$1" "py ${NO_PERL:+no}pl ${NO_OPENDKIM:+no}od" pass "$2"
	assert_exit 0 "$2: postseal --dkim-verify"
	assert_eq "$(grep -c '^signature [0-9]*: pass ' "$T/ours.out")" "$_n" \
	    "$2: postseal --dkim-verify pass lines"
	if [ -z "${NO_PERL:-}" ]; then
		assert_eq "$(grep -c '^perl: pass rsa-sha256' "$T/perl.out")" \
		    "$_nrsa" "$2: Mail::DKIM rsa-sha256 passes"
	fi
	if [ -z "${NO_OPENDKIM:-}" ]; then
		assert_eq "$(grep -c 'dkim=pass' "$T/opendkim.out")" "$_n" \
		    "$2: opendkim -t dkim=pass results"
	fi
	if [ "$FAILS" -gt 0 ]; then
		cat "$T/ours.out" "$T/perl.out" | sed 's/^/    /'
		[ -n "${NO_OPENDKIM:-}" ] ||
		    grep 'dkim=' "$T/opendkim.out" | sed 's/^/    /'
	fi
}

# A signature of FILE fails in postseal (exit 65) and in dkimpy (NO_PY:
# in postseal only).
verify_fails() {
	run_verifiers "$1" "${NO_PY:+no}py" fail "$2"
	assert_exit 65 "$2: postseal --dkim-verify"
	assert_grep '^signature [0-9]*: fail ' "$T/ours.out" \
	    "$2: postseal --dkim-verify"
}

# dkimpy checks wait for dkim_done (one Python run for them all): each
# message is frozen as it is now.
py_queue() {
	PYN=$((${PYN:-0} + 1))
	mkdir -p "$T/py"
	cp "$1" "$T/py/$PYN.eml"
	printf '%s %s %s\n' "$2" "$T/py/$PYN.eml" "$3" >>"$T/py/list"
}

dkim_done() {
	if [ -s "$T/py/list" ]; then
		# shellcheck disable=SC2086
		"$PYTHON" "$DKDATA/pyverify.py" --batch "$T/py/list" $RECS \
		    >"$T/dkimpy.out" 2>&1
		_rc=$?
		sed 's/^/  /' "$T/dkimpy.out"
		assert_eq "$_rc" 0 "dkimpy (every queued message as expected)"
		assert_eq "$(grep -c . "$T/py/list")" "${PYN:-0}" "dkimpy queue"
	fi
	e2e_done
}

tamper() {
	sed -e "$3" "$1" >"$2"
	ok
	cmp -s "$1" "$2" && fail "tamper $(basename "$2"): '$3' changed nothing"
	return 0
}
