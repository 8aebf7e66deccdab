#!/usr/bin/env bash
# The tls step (issue 11 items 1 and 2) on Debian's REAL sendmail, saslauthd and swaks, as the
# wizard does it by itself: `apply --yes` on the stock server includes Debian's starttls.m4
# (update_tls's pair) and sets `A p y`; swaks then sees 250-STARTTLS and no AUTH before TLS,
# AUTH LOGIN PLAIN after STARTTLS, TLS + AUTH PLAIN from 127.0.0.2 relays, no AUTH gets 550
# 5.7.1; rollback restores every byte and the old daemon. Then with Debian's key world-readable
# the wizard makes its own self-signed certificate (rcgen), which sendmail serves and openssl
# verifies for the host's name, and rollback removes it. Last, a key that sendmail refuses at the restart (made world-readable by the
# restart command itself, after the wizard's checks passed) makes the post-restart STARTTLS
# check fail, and the run rolls back by itself and restarts the old daemon.
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc` (started by
# tests/tls_step.rs): only lo, private /run and /var/log, bind-mounted copies of every file that
# changes; traffic only to 127.0.0.0/8; every daemon stopped by its pid.
#
# Usage: tls_step.sh WORKDIR BINARY   (the throwaway user's password comes in $E2E_PASSWORD)
set -euo pipefail
W=$1
BIN=$2
: "${E2E_PASSWORD:?}"
SMTP_USER=smtptest

# fail, say, snap and the checks shared with live.sh and tests/distros/scenario.sh
source "$(dirname "$0")/checks.sh"

source "$(dirname "$0")/ns.sh"

old_ehlo_ok() {
  swaks --server 127.0.0.1 --quit-after EHLO > "$1" 2>&1 || true
  grep -q '250-AUTH DIGEST-MD5 CRAM-MD5$' "$1" && ! grep -q '250-STARTTLS' "$1"
}

say "the stock server: loopback only, no STARTTLS"
/etc/init.d/sendmail start >/dev/null
sleep 0.5
pid0=$(head -n1 $pidfile)
old_ehlo_ok "$W/ehlo-0.out" || { cat "$W/ehlo-0.out"; fail "the stock server is not as expected"; }
snap /etc/mail > "$W/orig.snap"

say "smtpauth-wizard plan: the tls step uses Debian's starttls.m4 pair and sets A p y"
"$BIN" plan > "$W/plan.out" 2>&1 || true
sed -n '/ tls /,/-> writes/p' "$W/plan.out" || true
grep -q "include(\`/etc/mail/tls/starttls.m4')dnl" "$W/plan.out" || fail "the plan does not include starttls.m4"
grep -q "confAUTH_OPTIONS', \`A p y')" "$W/plan.out" || fail "the plan does not set A p y"

say "smtpauth-wizard apply --yes"
"$BIN" apply --yes > "$W/apply.out" 2>&1 || { cat "$W/apply.out"; fail "apply failed"; }
cat "$W/apply.out"
grep -q 'offers STARTTLS' "$W/apply.out" || fail "the restart step did not report its STARTTLS check"
pid1=$(head -n1 $pidfile)
[ "$pid1" != "$pid0" ] || fail "sendmail was not restarted"
check_ehlo_advertises_login_plain
check_auth_relays
check_relay_refused_without_auth
if grep -rqF "$E2E_PASSWORD" /etc/mail /var/lib/smtpauth-wizard "$W/apply.out"; then fail "the password appears in a file"; fi

say "smtpauth-wizard rollback --yes: every byte and the old daemon"
"$BIN" rollback --yes > "$W/rollback.out" 2>&1 || { cat "$W/rollback.out"; fail "rollback failed"; }
pid2=$(head -n1 $pidfile)
[ "$pid2" != "$pid1" ] || fail "sendmail was not restarted on the old configuration"
snap /etc/mail > "$W/back.snap"
diff "$W/orig.snap" "$W/back.snap" || fail "rollback did not restore /etc/mail byte-identical"
old_ehlo_ok "$W/ehlo-1.out" || { cat "$W/ehlo-1.out"; fail "after rollback EHLO is not the old one"; }

say "Debian's key world-readable (sendmail would refuse it): the wizard's own self-signed certificate"
# (Not /etc/mail/tls moved away: Debian's /etc/mail/Makefile, run by the init script, then makes
# a new one with update_tls at the restart.)
chmod 0644 /etc/mail/tls/sendmail-common.key
snap /etc/mail > "$W/orig2.snap"
"$BIN" apply --yes > "$W/apply2.out" 2>&1 || { cat "$W/apply2.out"; fail "apply (self-signed) failed"; }
[ "$(stat -c '%a %U' /etc/mail/tls/smtpauth-wizard.key)" = "600 root" ] || fail "the key is not root 0600"
openssl x509 -in /etc/mail/tls/smtpauth-wizard.crt -noout -ext subjectAltName | grep -q 'DNS:mailsrv' || fail "no subjectAltName"
grep -q "starttls.m4" /etc/mail/sendmail.mc && fail "Debian's unusable pair was included"
check_ehlo_advertises_login_plain
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --quit-after EHLO > "$W/tls2.out" 2>&1 || true
grep -q 'TLS peer DN="/CN=mailsrv' "$W/tls2.out" || { cat "$W/tls2.out"; fail "sendmail does not serve the wizard's certificate"; }
echo | openssl s_client -connect 127.0.0.1:25 -starttls smtp -CAfile /etc/mail/tls/smtpauth-wizard.crt \
  -verify_hostname "$(hostname -f)" 2>/dev/null > "$W/s_client.out" || true
grep -q 'Verify return code: 0 (ok)' "$W/s_client.out" || { grep -i verify "$W/s_client.out"; fail "the certificate does not verify for $(hostname -f)"; }
"$BIN" rollback --yes > "$W/rollback2.out" 2>&1 || { cat "$W/rollback2.out"; fail "rollback (self-signed) failed"; }
[ -e /etc/mail/tls/smtpauth-wizard.key ] && fail "rollback left the wizard's key"
snap /etc/mail > "$W/back2.snap"
diff "$W/orig2.snap" "$W/back2.snap" || fail "rollback (self-signed) did not restore /etc/mail"
chmod 0640 /etc/mail/tls/sendmail-common.key
old_ehlo_ok "$W/ehlo-2.out" || { cat "$W/ehlo-2.out"; fail "after the second rollback EHLO is not the old one"; }

say "a key sendmail refuses at the restart: the STARTTLS check fails, the run rolls back by itself"
# The profile's restart command breaks the key (world-readable: sendmail logs "unsafe" and
# silently offers no STARTTLS, TLS.md) after every check of the wizard passed, then restarts.
cat > "$W/restart-breaking-key" <<'SH'
#!/bin/sh
chmod 0644 /etc/mail/tls/sendmail-common.key
exec /etc/init.d/sendmail restart
SH
chmod 0755 "$W/restart-breaking-key"
sed "s|^service:|service:\n  restart_command: [$W/restart-breaking-key]|" \
  "$(dirname "$0")/../../assets/profiles/debian.yaml" > "$W/debian-breaking.yaml"
set +e
"$BIN" apply --yes --profile "$W/debian-breaking.yaml" > "$W/apply-fail.out" 2>&1
rc=$?
set -e
cat "$W/apply-fail.out"
[ "$rc" = 1 ] || fail "apply should fail when sendmail offers no STARTTLS (exit $rc)"
grep -q 'does not offer STARTTLS' "$W/apply-fail.out" || fail "the failure does not say STARTTLS is missing"
grep -q 'Rolling back every change of this run' "$W/apply-fail.out" || fail "the run did not roll back by itself"
grep -q 'Restarted sendmail on the old configuration' "$W/apply-fail.out" || fail "the old configuration was not restarted"
chmod 0640 /etc/mail/tls/sendmail-common.key
snap /etc/mail > "$W/back3.snap"
diff "$W/orig.snap" "$W/back3.snap" || fail "files differ after the automatic rollback"
old_ehlo_ok "$W/ehlo-3.out" || { cat "$W/ehlo-3.out"; fail "the old daemon does not answer as before"; }

echo "E2E-OK"
