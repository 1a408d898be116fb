#!/bin/sh
# A self-signed certificate not in tls_trust_file is refused.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
tls_refused_case selfsigned 'trust|issuer|signer|unknown|self|verif'
e2e_done
