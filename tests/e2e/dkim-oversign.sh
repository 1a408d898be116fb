#!/bin/sh
# Over-signing (issue 8, suspected defect): by default From, Subject, To,
# Cc, Date, Reply-To, Message-ID, MIME-Version, Content-Type and
# Content-Transfer-Encoding are signed once more than they occur, so a
# Subject, To, Cc or Reply-To added to a signed message that lacks them
# (or a second one on top) breaks the signature for dkimpy and postseal.
# "dkim_oversign from" goes back to From only, and then such an addition
# verifies (which is what every signature allowed before).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/data/dkim/verifiers.sh"
dkim_init
dkim_keygen rsa rs
dkim_keygen ed25519 ed

# No Subject, To, Cc or Reply-To: the fields an attacker would add.
printf 'From: Joe <joe@example.com>\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <os@example.com>\n\nPay the invoice.\n' >"$T/bare.in"
for canon in relaxed/relaxed simple/simple; do
	c=$(echo "$canon" | tr / -)
	dkim_config "$canon" rs rsa ed ed25519
	dkim_sign "$T/bare.in" "$T/$c.eml"
	h=$(tr -d '\r\n\t ' <"$T/$c.eml" | grep -o 'h=[^;]*;' | sed -n 1p)
	assert_eq "$h" "h=from:date:message-id:from:subject:to:cc:date:reply-to:message-id:mime-version:content-type:content-transfer-encoding;" \
	    "$canon: h= over-signs the default set"
	verify_everywhere "$T/$c.eml" "$canon: as signed"
	n=0
	for add in 'Subject: Urgent: new bank details' \
	    'To: victim@example.org' 'Cc: victim@example.org' \
	    'Reply-To: thief@example.net' 'Subject: a second one on top'; do
		n=$((n + 1))
		case $add in
		*second*) src=$T/$c.s.eml ;;
		*) src=$T/$c.eml ;;
		esac
		# Added below the signatures, where a forwarder would.
		awk -v add="$add" 'BEGIN { done = 0 }
		    !done && /^[A-Za-z-]+:/ && !/^DKIM-Signature:/ && !/^[ \t]/ {
			printf "%s\r\n", add; done = 1 }
		    { print }' "$src" >"$T/$c.$n.eml"
		[ $n = 1 ] && cp "$T/$c.$n.eml" "$T/$c.s.eml"
		verify_fails "$T/$c.$n.eml" "$canon: '$add' added"
	done
done

# dkim_oversign from: only From; an added Subject then still verifies.
dkim_config relaxed rs rsa
printf 'dkim_oversign from\n' >>"$CFG"
dkim_sign "$T/bare.in" "$T/from.eml"
h=$(tr -d '\r\n\t ' <"$T/from.eml" | grep -o 'h=[^;]*;' | sed -n 1p)
assert_eq "$h" "h=from:date:message-id:from;" "dkim_oversign from: h="
awk '!d && /^From:/ { printf "Subject: added\r\n"; d = 1 } { print }' \
    "$T/from.eml" >"$T/from.1.eml"
NO_OPENDKIM=1 NO_PERL=1 verify_everywhere "$T/from.1.eml" \
    "dkim_oversign from: an added Subject is not covered"
dkim_done
