#!/usr/bin/env bash
# Issue 11 item 3 on Debian's REAL sendmail and saslauthd: the submission step opens port 587
# (M=Ea) to the network. STARTTLS is set up by hand first, as tests/e2e/starttls.sh does (a
# certificate for mailsrv.example.test made by the real openssl, confSERVER_CERT/KEY in the mc),
# because the tls step is another branch's. Checks: before apply 587 listens on loopback only;
# after `apply --yes` 587 listens on 0.0.0.0 (/proc/net/tcp), answers MAIL without AUTH with
# `530 5.7.0`, and relays after STARTTLS + AUTH LOGIN from 127.0.0.2 (swaks --tls --port 587);
# port 25 still takes inbound mail for a local user without AUTH; the ehlo step reports 587;
# `rollback --yes` restores every byte of /etc/mail and restarts the old daemon (587 on
# loopback again).
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc` (tests/submission.rs via
# common::run_live): only lo, a private /run and /var/log, bind-mounted copies of every file that
# changes (tests/e2e/ns.sh); traffic only to 127.0.0.0/8; every daemon stopped by its pid.
#
# Usage: submission.sh WORKDIR BINARY   (the throwaway user's password comes in $E2E_PASSWORD)
set -euo pipefail
W=$1
BIN=$2
: "${E2E_PASSWORD:?}"
SMTP_USER=smtptest
NAME=mailsrv.example.test

source "$(dirname "$0")/checks.sh"
source "$(dirname "$0")/ns.sh"

# 587 = 0x024B in /proc/net/tcp.
listens_587_any() { grep -q ' 00000000:024B 00000000:0000 0A' /proc/net/tcp; }
listens_587_loopback() { grep -q ' 0100007F:024B 00000000:0000 0A' /proc/net/tcp; }

say "STARTTLS by hand (as starttls.sh): a certificate for $NAME, key root 0600, the TLS defines in sendmail.mc"
T=/etc/mail/tlstest
mkdir -p "$T"
chmod 0755 "$T"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -subj "/CN=$NAME" \
  -addext "subjectAltName=DNS:$NAME" -keyout "$T/server.key" -out "$T/server.crt" 2>/dev/null
chmod 0600 "$T/server.key"
chmod 0644 "$T/server.crt"
sed -i "s|^MAILER_DEFINITIONS|define(\`confCACERT_PATH', \`$T')dnl\ndefine(\`confCACERT', \`$T/server.crt')dnl\ndefine(\`confSERVER_CERT', \`$T/server.crt')dnl\ndefine(\`confSERVER_KEY', \`$T/server.key')dnl\nMAILER_DEFINITIONS|" /etc/mail/sendmail.mc
m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf || fail "m4"
grep -E '^O (ServerCertFile|ServerKeyFile)' /etc/mail/sendmail.cf
grep -E '^O DaemonPortOptions' /etc/mail/sendmail.cf

say "the server before the wizard: 25 and 587 on loopback only"
/etc/init.d/sendmail start >/dev/null
for _ in $(seq 1 100); do listens_587_loopback && break; sleep 0.1; done
pid0=$(head -n1 $pidfile)
listens_587_loopback || fail "587 does not listen on 127.0.0.1 before the wizard"
listens_587_any && fail "587 already listens beyond loopback before the wizard"
cp -a /etc/mail "$W/orig-mail"
snap "$W/orig-mail" > "$W/orig.snap"

say "smtpauth-wizard apply --yes"
"$BIN" apply --yes 2>&1 | tee "$W/apply.out" || fail "apply failed"
pid1=$(head -n1 $pidfile)
[ "$pid1" != "$pid0" ] || fail "sendmail was not restarted by the wizard (pid $pid0)"
grep -E '^(DAEMON_OPTIONS|dnl DAEMON_OPTIONS)' /etc/mail/sendmail.mc
grep -q "^DAEMON_OPTIONS(\`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl$" /etc/mail/sendmail.mc \
  || fail "sendmail.mc has no MSA-v4 line without Addr"
grep -q "^O DaemonPortOptions=Family=inet,  Name=MSA-v4, Port=submission, M=Ea$" /etc/mail/sendmail.cf \
  || fail "sendmail.cf has no MSA-v4 line"
for _ in $(seq 1 100); do listens_587_any && break; sleep 0.1; done

say "587 listens beyond loopback; 25 too"
listens_587_any || { cat /proc/net/tcp; fail "587 does not listen on 0.0.0.0"; }
listens_beyond_loopback || fail "25 does not listen on 0.0.0.0"

say "587 without AUTH: MAIL gets 530 5.7.0"
swaks --server 127.0.0.1 --port 587 --local-interface 127.0.0.2 --from '' --to relay-test@example.com \
  --quit-after RCPT > "$W/587-noauth.out" 2>&1 || true
cat "$W/587-noauth.out"
grep -q '530 5.7.0' "$W/587-noauth.out" || fail "587 accepted MAIL without AUTH"

say "587 with STARTTLS and AUTH LOGIN from 127.0.0.2 relays"
swaks --server 127.0.0.1 --port 587 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
  --auth LOGIN --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after RCPT > "$W/587-auth.out" 2>&1 || true
grep -v 'AUTH\|334\|^ -> [A-Za-z0-9+/=]*$\|^ <~ [A-Za-z0-9+/=]*$\|^ ~> [A-Za-z0-9+/=]*$' "$W/587-auth.out" | sed -n '1,60p'
grep -q 'STARTTLS' "$W/587-auth.out" || fail "587: no STARTTLS"
grep -q '235 2.0.0 OK Authenticated' "$W/587-auth.out" || fail "587: AUTH LOGIN over TLS was not accepted"
grep -Eq '250 2.1.5 .*Recipient ok' "$W/587-auth.out" || fail "587: authenticated relay was not accepted"

say "port 25 still takes inbound mail for a local user without AUTH"
swaks --server 127.0.0.1 --port 25 --local-interface 127.0.0.2 --from "" \
  --to "$SMTP_USER@$NAME" --quit-after RCPT > "$W/25-inbound.out" 2>&1 || true
cat "$W/25-inbound.out"
grep -Eq '250 2.1.5 .*Recipient ok' "$W/25-inbound.out" || fail "port 25 no longer takes inbound mail"
check_relay_refused_without_auth

say "the ehlo step reports TLS with the certificate verdict, 587, who may log in and what to tell users"
grep -E 'TLS: |port 587: |who may log in: |what to tell users: ' "$W/apply.out"
grep -q 'TLS: STARTTLS TLSv1\.[23], .*certificate CN=mailsrv.example.test, SAN DNS:mailsrv.example.test' "$W/apply.out" \
  || fail "the ehlo step does not report STARTTLS with the certificate"
grep -q 'the certificate does not verify for mailsrv.example.test: unknown issuer' "$W/apply.out" \
  || fail "the ehlo step does not give the self-signed certificate's verdict for the host's full name"
grep -q 'port 587: listening beyond loopback; MAIL without AUTH gets 530 5.7.0' "$W/apply.out" \
  || fail "the ehlo step does not report 587"
grep -q 'who may log in: every system account with a password' "$W/apply.out" || fail "no 'who may log in'"
grep -q 'what to tell users: Outgoing mail server (SMTP): mailsrv.example.test; Port: 587 (submission).*Connection security: STARTTLS.*requires authentication' "$W/apply.out" \
  || fail "no 'what to tell users'"

if grep -rqF "$E2E_PASSWORD" /etc/mail /var/lib/smtpauth-wizard "$W/apply.out"; then fail "the password appears in a file"; fi

say "smtpauth-wizard rollback --yes"
"$BIN" rollback --yes 2>&1 | tee "$W/rollback.out" || fail "rollback failed"
pid2=$(head -n1 $pidfile)
[ "$pid2" != "$pid1" ] || fail "sendmail was not restarted on the old configuration"
snap /etc/mail > "$W/back.snap"
diff "$W/orig.snap" "$W/back.snap" || fail "rollback did not restore /etc/mail byte-identical (content, mode, owner, mtime)"
for _ in $(seq 1 100); do listens_587_loopback && break; sleep 0.1; done
listens_587_loopback || fail "after rollback 587 does not listen on loopback"
listens_587_any && fail "after rollback 587 still listens beyond loopback"
echo "E2E-OK"
