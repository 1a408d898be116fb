#!/bin/sh
# -v shows the SMTP dialogue on stderr but never the password: not in
# clear, not as PLAIN's base64("\0user\0pass") or ("user\0pass"), not as
# LOGIN's base64(pass).  With -v and -v -v, PLAIN and LOGIN.
. "$(dirname "$0")/lib.sh"
e2e_init
make_ca
user=verbose.user@example.org
pw='V3rb0se-Secret_pw'
start_server --tls starttls --user "$user" --password "$pw"
sample_message >"$T/msg"
n=0
for mech in plain login; do
	{ base_config starttls "$user" "$pw"; echo "auth $mech"; } | write_config
	for v in "-v" "-v -v"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		run_postseal -C "$CFG" $v rcpt@example.org <"$T/msg"
		assert_exit 0 "$mech $v"
		# The transcript goes to stderr (msmtp: stdout).
		cat "$ERR" "$OUT" >"$T/both"
		assert_grep_i 'EHLO' "$T/both" "-v shows the dialogue ($mech $v)"
		assert_grep_i 'AUTH' "$T/both" "-v shows AUTH ($mech $v)"
		assert_no_secret "$user" "$pw" "$ERR" "$OUT"
	done
done
assert_file_count "$SPOOL" '*.eml' "$n" "server spool"
e2e_done
