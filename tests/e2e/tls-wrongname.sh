#!/bin/sh
# A certificate for another host name (wrong.example) is refused: no AUTH, no MAIL, temporary failure.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
tls_refused_case wrongname 'name|host'
e2e_done
