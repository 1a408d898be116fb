#!/bin/sh
# A certificate from a CA that is not in tls_trust_file is refused.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
tls_refused_case untrusted 'trust|issuer|signer|unknown|verif'
e2e_done
