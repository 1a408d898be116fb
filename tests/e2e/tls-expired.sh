#!/bin/sh
# An expired certificate (valid 2001-2002) is refused.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
tls_refused_case expired 'expired'
e2e_done
