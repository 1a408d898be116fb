#!/bin/sh
# Awkward messages, signed with rsa-sha256 and ed25519-sha256 under all
# four canonicalisation pairs: every signature verifies in postseal,
# dkimpy and OpenDKIM, and a copy with the body or a header changed fails
# in all three.  The message is signed as it leaves --dkim-sign: line
# ends made CRLF, headers completed, long lines made SMTP-safe.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
dkim_keygen rsa rs
dkim_keygen ed25519 ed

H='From: Joe <joe@example.com>\r\nTo: Sue <sue@example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <edge@example.com>\r\n'
m() {
	# shellcheck disable=SC2059 # the format is the message
	printf "$2" >"$T/$1.in"
}
m barelf 'From: Joe <joe@example.com>\nTo: sue@example.org\nSubject: bare LF\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\nline one\nline  two \n\n'
m barecr 'From: Joe <joe@example.com>\rSubject: bare CR\r\rone\rtwo\r'
m nofinal "${H}Subject: no final newline\r\n\r\nlast line  "
m empty "${H}Subject: empty body\r\n\r\n"
m nobody "${H}Subject: no body, no empty line\r\n"
m trailing "${H}Subject: trailing blank lines\r\n\r\ntext\r\n\r\n\r\n  \r\n\t\r\n\r\n"
m spaces "${H}Subject:   lots    of \t spaces  \r\n\r\n  a    b\t\tc   \r\n   \r\n\t x\r\n\r\n\r\nend \t\r\n"
m folded "${H}Subject: folded\r\n  across\r\n\tthree lines\r\nTo: second@example.org\r\nReferences: <1@example.com>\r\n <2@example.com>\r\nX-Empty:\r\n\r\nbody\r\n"
m mixedcase 'fROM: Joe <joe@example.com>\r\nSUBJECT: Mixed Case\r\nmessage-ID: <mixed@example.com>\r\nDATE: Tue, 14 Nov 2023 22:13:20 +0000\r\nmime-VERSION: 1.0\r\n\r\nBody.\r\n'
m eightbit "${H}Subject: 8-bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\303\274\303\237e, \342\202\254 5\r\n\377\376 \r\n"
m nospace 'From:joe@example.com\r\nTo:sue@example.org\r\nSubject:no space after the colon\r\nDate:Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nx\r\n'
m dots "${H}Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n"
# A 3000-octet line: made quoted-printable before it is signed.
long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "0123456789" }')
m longline "${H}Subject: long line\r\n\r\n$long\r\nshort\r\n"

for canon in relaxed/relaxed simple/simple relaxed/simple simple/relaxed; do
	dkim_config "$canon" rs rsa ed ed25519
	for f in "$T"/*.in; do
		name=$(basename "$f" .in)
		what="$name $canon"
		s=$T/$name.signed
		NO_OPENDKIM=
		case $name:$canon in
		nospace:simple/* | spaces:simple/*) NO_OPENDKIM=1 ;;
		esac
		dkim_sign "$f" "$s" --dkim-time 1700000000
		assert_eq "$(sed -n 1p "$s" | grep -c 'a=rsa-sha256')" 1 \
		    "$what: rsa-sha256 topmost"
		assert_grep "^DKIM-Signature: v=1; a=ed25519-sha256; c=$canon;" \
		    "$s" "$what: ed25519"
		assert_no_grep '[; ]l=' "$s" "$what: no l="
		verify_everywhere "$s" "$what"
		{ cat "$s"; printf 'tampered\r\n'; } >"$T/tb"
		verify_fails "$T/tb" "$what: body extended"
		tamper "$s" "$T/th" 's/^\([Ss][Uu][Bb][Jj][Ee][Cc][Tt]:\)/\1X/'
		verify_fails "$T/th" "$what: Subject changed"
	done
done
# What the relaxed/relaxed long line became: quoted-printable, <= 76.
assert_grep '^Content-Transfer-Encoding: quoted-printable' \
    "$T/longline.signed" "long line re-encoded before signing"
assert_no_grep '^.{999}' "$T/longline.signed" "no line over 998"
dkim_done
