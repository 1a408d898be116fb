#!/bin/sh
# A certificate that is not valid yet (from 2090) is refused.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
tls_refused_case notyet 'not yet|activat|future'
e2e_done
