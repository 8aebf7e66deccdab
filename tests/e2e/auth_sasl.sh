#!/usr/bin/env bash
# Issue 9, item 8, live: Debian's own way to turn AUTH on (include sasl.m4 in sendmail.mc)
# on the real sendmail, saslauthd and swaks. Before the wizard the server advertises what
# sasl.m4 lists (DIGEST-MD5 CRAM-MD5 ...); after `apply` it advertises only LOGIN PLAIN, AUTH
# PLAIN relays, the second check is done, and rollback restores /etc/mail byte for byte.
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc` (started by
# tests/auth_settings.rs), like tests/e2e/live.sh: only lo, a private /run, bind-mounted copies
# of every file that may change; traffic only to 127.0.0.0/8; every daemon stopped by its pid.
#
# Usage: auth_sasl.sh WORKDIR BINARY   (the throwaway user's password comes in $E2E_PASSWORD)
set -euo pipefail
W=$1
BIN=$2
: "${E2E_PASSWORD:?}"
SMTP_USER=smtptest

# fail, say, snap and the checks shared with tests/distros/scenario.sh
source "$(dirname "$0")/checks.sh"

source "$(dirname "$0")/ns.sh"

say "Debian's route: the generated sasl.m4 (from the corpus) included before the mailers"
mkdir -p /etc/mail/sasl
cp "$SASL_M4" /etc/mail/sasl/sasl.m4
chmod 0744 /etc/mail/sasl/sasl.m4
grep -q "^include(\`/etc/mail/sasl/sasl.m4')" /etc/mail/sendmail.mc \
  || sed -i "s|^MAILER_DEFINITIONS|include(\`/etc/mail/sasl/sasl.m4')dnl\nMAILER_DEFINITIONS|" /etc/mail/sendmail.mc
m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf || fail "m4 on Debian's route"
grep '^C{TrustAuthMech}' /etc/mail/sendmail.cf
/etc/init.d/sendmail start >/dev/null
sleep 0.5
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --quit-after EHLO > "$W/ehlo-before.out" 2>&1 || true
grep '250-AUTH' "$W/ehlo-before.out" || true
grep -Eq '250-AUTH .*CRAM-MD5' "$W/ehlo-before.out" || fail "before the wizard, Debian's route should offer CRAM-MD5"
cp -a /etc/mail "$W/orig-mail"
snap "$W/orig-mail" > "$W/orig.snap"

say "smtpauth-wizard apply --yes"
# --no-tls: this test is about the mechanisms of Debian's sasl.m4 route, offered before TLS as
# the HOWTO has them (STARTTLS and A p y are tests/e2e/tls_step.sh's).
"$BIN" apply --yes --no-tls > "$W/apply.out" 2>&1 || { cat "$W/apply.out"; fail "apply failed"; }
grep -A3 'sendmail-mc' "$W/apply.out" | head -5 || true
grep '^C{TrustAuthMech}\|^O AuthMechanisms' /etc/mail/sendmail.cf
grep '^C{TrustAuthMech}' /etc/mail/sendmail.cf | grep -Eq 'CRAM-MD5|DIGEST-MD5|NTLM' && fail "sendmail.cf still trusts CRAM-MD5/DIGEST-MD5/NTLM"

say "EHLO from 127.0.0.2 now advertises LOGIN PLAIN only"
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --quit-after EHLO > "$W/ehlo.out" 2>&1 || true
grep '250-AUTH' "$W/ehlo.out" || true
grep -Eq '250-AUTH LOGIN PLAIN$' "$W/ehlo.out" || fail "EHLO does not advertise exactly LOGIN PLAIN"

say "swaks AUTH PLAIN from 127.0.0.2 relays"
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --from '' --to relay-test@example.com \
  --auth PLAIN --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after RCPT > "$W/auth.out" 2>&1 || true
grep -q '235 2.0.0 OK Authenticated' "$W/auth.out" || { cat "$W/auth.out"; fail "AUTH PLAIN was not accepted"; }
grep -Eq '250 2.1.5 .*Recipient ok' "$W/auth.out" || fail "authenticated relay was not accepted"

say "a second check has nothing to do for sendmail-mc"
"$BIN" check --no-tls --format json > "$W/check.json" || true
python3 - "$W/check.json" <<'PY' || fail "sendmail-mc is not done on the second run"
import json, sys
r = json.load(open(sys.argv[1]))
st = {s["id"]: s["status"] for s in r["steps"]}
assert st["sendmail-mc"] == "done" and st["sendmail-cf"] == "done", st
print("second check:", st)
PY

say "smtpauth-wizard rollback --yes"
"$BIN" rollback --yes > "$W/rollback.out" 2>&1 || { cat "$W/rollback.out"; fail "rollback failed"; }
snap /etc/mail > "$W/back.snap"
diff "$W/orig.snap" "$W/back.snap" || fail "rollback did not restore /etc/mail byte-identical"
echo "E2E-OK"
