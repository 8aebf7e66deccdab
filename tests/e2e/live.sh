#!/usr/bin/env bash
# End-to-end test of the live steps against Debian's real sendmail, saslauthd and swaks.
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc` (started by tests/e2e.rs):
# a private network with only lo, a private /run, and bind-mounted copies of every file the
# wizard or this test may change, so the machine's real /etc/mail is never touched. Traffic
# goes only to 127.0.0.0/8. Every daemon started here is stopped by its pid at the end (and
# the pid namespace takes anything left with it).
#
# Usage: live.sh WORKDIR BINARY   (the throwaway user's password comes in $E2E_PASSWORD)
set -euo pipefail
W=$1
BIN=$2
: "${E2E_PASSWORD:?}"
SMTP_USER=smtptest

# fail, say, snap and the checks shared with tests/distros/scenario.sh
source "$(dirname "$0")/checks.sh"

source "$(dirname "$0")/ns.sh"

say "the server as the HOWTO finds it: loopback only"
/etc/init.d/sendmail start >/dev/null
sleep 0.5
pid0=$(head -n1 $pidfile)
listens_on_loopback || fail "sendmail is not listening on 127.0.0.1:25 before the wizard"
cp -a /etc/mail "$W/orig-mail"
cp -a /etc/default/saslauthd "$W/orig-saslauthd"
snap "$W/orig-mail" > "$W/orig.snap"

say "smtpauth-wizard apply --yes"
"$BIN" apply --yes 2>&1 | tee "$W/apply.out" || fail "apply failed"
pid1=$(head -n1 $pidfile)
[ "$pid1" != "$pid0" ] || fail "sendmail was not restarted by the wizard (pid $pid0)"
grep -q 'restart' "$W/apply.out" || fail "apply did not report the restart"

check_ehlo_advertises_login_plain
check_auth_relays
check_relay_refused_without_auth

check_submission_587
check_probe_over_tls
if grep -rqF "$E2E_PASSWORD" "$W/probe.json" /etc/mail /var/lib/smtpauth-wizard "$W/apply.out"; then fail "the password appears in a file"; fi

say "smtpauth-wizard rollback --yes"
"$BIN" rollback --yes 2>&1 | tee "$W/rollback.out" || fail "rollback failed"
pid2=$(head -n1 $pidfile)
[ "$pid2" != "$pid1" ] || fail "sendmail was not restarted on the old configuration"
snap /etc/mail > "$W/back.snap"
diff "$W/orig.snap" "$W/back.snap" || fail "rollback did not restore /etc/mail byte-identical (content, mode, owner, mtime)"
cmp /etc/default/saslauthd "$W/orig-saslauthd" || fail "/etc/default/saslauthd was not restored"
sleep 0.5
listens_beyond_loopback && fail "after rollback sendmail still listens beyond loopback"
swaks --server 127.0.0.1 --quit-after EHLO > "$W/ehlo-old.out" 2>&1 || true
grep -q '250-AUTH DIGEST-MD5 CRAM-MD5$' "$W/ehlo-old.out" || { cat "$W/ehlo-old.out"; fail "after rollback EHLO is not the old one"; }

hold_port_25_on_client_address
set +e
"$BIN" apply --yes > "$W/apply-fail.out" 2>&1
rc=$?
set -e
check_apply_rolled_back_by_itself "$W/apply-fail.out" "$rc"
check_audit_log
snap /etc/mail > "$W/back2.snap"
diff "$W/orig.snap" "$W/back2.snap" || fail "files differ after the automatic rollback"
swaks --server 127.0.0.1 --quit-after EHLO > "$W/ehlo-old2.out" 2>&1 || true
grep -q '250-AUTH DIGEST-MD5 CRAM-MD5$' "$W/ehlo-old2.out" || { cat "$W/ehlo-old2.out"; fail "the server does not answer on the old configuration"; }
kill "$DUMMY_PID"; wait "$DUMMY_PID" 2>/dev/null || true; DUMMY_PID=

echo "E2E-OK"
