#!/bin/sh
# tests/deps.sh [demo] -- install what postseal needs to build and to run
# its whole test suite on Debian 12 (with "demo": only what building and
# tests/e2e/demo.sh need).  As root it installs the missing packages with
# apt-get; as another user it only lists what is missing (the tests that
# need those packages then skip, saying why).
set -eu
cd "$(dirname "$0")/.."

build="autoconf automake make pkg-config gcc clang clang-format
libgnutls28-dev libgsasl-dev libsodium-dev libclang-rt-14-dev
libunbound-dev libpsl-dev publicsuffix dns-root-data
libcurl4-gnutls-dev libjson-c-dev libgpgme-dev libexpat1-dev"
# Each test area lists its own packages, one per line.
if [ "${1:-}" = demo ]; then
	extra="python3 python3-aiosmtpd gnutls-bin"
else
	extra=$(cat tests/e2e/PACKAGES tests/data/dkim/PACKAGES tests/deb/PACKAGES 2>/dev/null |
		sed 's/#.*//' | tr -s ' \n' '\n' | sort -u)
fi
want=$(printf '%s\n%s\n' "$build" "$extra" | tr -s ' \n' '\n' | sort -u |
	grep -v '^$')

missing=
for p in $want; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; missing packages:$missing" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start services on a build machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "deps: installing$missing" >&2
apt-get update -qq
# postfix asks questions unless told what it is for.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections 2>/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
