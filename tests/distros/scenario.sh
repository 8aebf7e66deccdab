#!/usr/bin/env bash
# The live scenario inside a Debian root booted with systemd as PID 1 (tests/distros/run.sh
# copies it, with tests/e2e/checks.sh, into the container and runs it there with nsenter).
# The container has its own network (loopback only), so nothing here reaches the host's.
#
# Usage: scenario.sh WORKDIR   (the throwaway user's password is in WORKDIR/password)
set -euo pipefail
W=$1
BIN=/usr/bin/smtpauth-wizard
SMTP_USER=smtptest
E2E_PASSWORD=$(cat "$W/password")
source "$(dirname "$0")/checks.sh"
# On a failure, also what systemd says about the services (CI prints only this output).
fail() {
  echo "E2E-FAIL: $*"
  systemctl status sendmail saslauthd --no-pager -l 2>&1 | sed 's/^/[status] /' || true
  journalctl -u sendmail -u saslauthd --no-pager -n 60 2>&1 | sed 's/^/[journal] /' || true
  exit 1
}
pidfile=/run/sendmail/mta/sendmail.pid
export NO_COLOR=1

# The running daemon's pid, and a check that systemd started it (it is in sendmail.service's
# cgroup, not in the cgroup of this nsenter'd shell).
daemon_pid() { head -n1 "$pidfile"; }
started_by_systemd() {
  grep -q 'sendmail\.service' "/proc/$1/cgroup" || { cat "/proc/$1/cgroup"; fail "sendmail (pid $1) was not started by systemd (cgroup above)"; }
  [ "$(systemctl is-active sendmail)" = active ] || fail "systemctl says sendmail is not active"
}
wait_listening() { # $1: loopback|network; bounded only so that a broken daemon fails, not hangs
  local i
  for i in $(seq 1 100); do
    if [ "$1" = network ]; then listens_beyond_loopback && return 0; else listens_on_loopback && ! listens_beyond_loopback && return 0; fi
    sleep 0.1
  done
  fail "sendmail does not listen as expected ($1)"
}
auth_line() { swaks --server 127.0.0.1 --quit-after EHLO 2>&1 | grep -E '^<-  250-AUTH' || true; }

say "PID 1 is $(cat /proc/1/comm); $(. /etc/os-release; echo "$PRETTY_NAME"); sendmail $(dpkg-query -W -f='${Version}' sendmail-bin); the wizard: $("$BIN" --version)"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is not systemd"

say "a throwaway user $SMTP_USER"
useradd -M -s /usr/sbin/nologin "$SMTP_USER"
printf '%s:%s\n' "$SMTP_USER" "$E2E_PASSWORD" | chpasswd

say "127.0.0.2 must not relay through Debian's Connect:127 RELAY (FACTS.md)"
printf 'Connect:127.0.0.2\t\tOK\n' >> /etc/mail/access
makemap hash /etc/mail/access < /etc/mail/access

say "the server as the HOWTO finds it: loopback only, started by systemd at boot"
wait_listening loopback
# Debian 13's init script (run by sendmail.service) rewrites /etc/mail/sendmail.conf with the
# same bytes on every start. Files a plain restart changes this way are found here, without
# the wizard, and only their mtime is left out of the byte-for-byte comparisons below.
snap /etc/mail > "$W/plain0.snap"
systemctl restart sendmail
wait_listening loopback
snap /etc/mail > "$W/plain1.snap"
touched=$(diff "$W/plain0.snap" "$W/plain1.snap" | sed -n 's|^> \(\./[^ ]*\) .*|\1|p' | grep -v '^\./.*  ' || true)
[ "$(grep -c '^[0-9a-f]\{64\}' "$W/plain0.snap")" -gt 0 ] || fail "empty snapshot of /etc/mail"
if ! diff <(grep '^[0-9a-f]\{64\}' "$W/plain0.snap") <(grep '^[0-9a-f]\{64\}' "$W/plain1.snap"); then
  fail "a plain \`systemctl restart sendmail\` changed the contents of files in /etc/mail"
fi
echo "a plain restart changes the mtime of: ${touched:-nothing}"
# snap, with the mtime of those files replaced by "-"
snap_mail() { snap /etc/mail | awk -v t="$touched" 'BEGIN { n = split(t, a, "\n"); for (i = 1; i <= n; i++) skip[a[i]] = 1 } ($1 in skip) && NF == 5 { $5 = "-" } { print }'; }
pid0=$(daemon_pid)
started_by_systemd "$pid0"
old_auth=$(auth_line)
echo "EHLO before: ${old_auth:-(no AUTH line)}"
cp -a /etc/mail "$W/orig-mail"
cp -a /etc/default/saslauthd "$W/orig-saslauthd"
snap_mail > "$W/orig.snap"

say "smtpauth-wizard apply --yes"
"$BIN" apply --yes 2>&1 | tee "$W/apply.out" || fail "apply failed"
pid1=$(daemon_pid)
[ "$pid1" != "$pid0" ] || fail "sendmail was not restarted by the wizard (pid $pid0)"
started_by_systemd "$pid1"
grep -qx '  running systemctl restart sendmail' "$W/apply.out" || fail "apply did not restart through \`systemctl restart sendmail\`"
grep -q '^`systemctl restart sendmail` exited 0' "$W/apply.out" || fail "\`systemctl restart sendmail\` did not succeed"
[ "$(systemctl is-active saslauthd)" = active ] && pgrep -x saslauthd > /dev/null || fail "saslauthd is not running under systemd"
wait_listening network

check_ehlo_advertises_login_plain
check_auth_relays
check_relay_refused_without_auth
check_submission_587
check_probe_over_tls
if grep -rqF "$E2E_PASSWORD" /etc/mail /var/lib/smtpauth-wizard "$W/apply.out" /var/log/smtpauth-wizard.log; then fail "the password appears in a file"; fi

say "smtpauth-wizard rollback --yes"
"$BIN" rollback --yes 2>&1 | tee "$W/rollback.out" || fail "rollback failed"
grep -q 'systemctl restart sendmail' "$W/rollback.out" || fail "rollback did not restart through systemctl"
pid2=$(daemon_pid)
[ "$pid2" != "$pid1" ] || fail "sendmail was not restarted on the old configuration"
started_by_systemd "$pid2"
snap_mail > "$W/back.snap"
diff "$W/orig.snap" "$W/back.snap" || fail "rollback did not restore /etc/mail byte-identical (content, mode, owner, mtime)"
cmp /etc/default/saslauthd "$W/orig-saslauthd" || fail "/etc/default/saslauthd was not restored"
wait_listening loopback
[ "$(auth_line)" = "$old_auth" ] || fail "after rollback EHLO is not the old one: $(auth_line)"

hold_port_25_on_client_address
set +e
"$BIN" apply --yes > "$W/apply-fail.out" 2>&1
rc=$?
set -e
check_apply_rolled_back_by_itself "$W/apply-fail.out" "$rc"
grep -q 'systemctl restart sendmail' "$W/apply-fail.out" || fail "the automatic rollback did not restart through systemctl"
snap_mail > "$W/back2.snap"
diff "$W/orig.snap" "$W/back2.snap" || fail "files differ after the automatic rollback"
pid3=$(daemon_pid)
started_by_systemd "$pid3"
wait_listening loopback
[ "$(auth_line)" = "$old_auth" ] || fail "the server does not answer on the old configuration: $(auth_line)"
kill "$DUMMY_PID"; wait "$DUMMY_PID" 2>/dev/null || true; DUMMY_PID=
check_audit_log

# Issue 11 item 4 on this release: who may log in. A: only members of a group, never root.
# B: mail-only users in sasldb (CRAM-MD5), system users then refused. Each rolled back.
cross_login() { # user password mech output
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
    --auth "$3" --auth-user "$1" --auth-password "$2" --quit-after RCPT > "$W/$4" 2>&1 || true
}
login_relays() { grep -q '235 2.0.0 OK Authenticated' "$W/$1" && grep -Eq '250 2.1.5 .*Recipient ok' "$W/$1" || { cat "$W/$1"; fail "$2: AUTH or the relay was not accepted"; }; }
login_refused() { grep -q '535 5.7.0 authentication failed' "$W/$1" && ! grep -q '235 ' "$W/$1" || { cat "$W/$1"; fail "$2: AUTH was not refused with 535"; }; }

say "who may log in: a second user smtpother (not in smtpusers), smtpusers = smtptest and root, root's password set"
useradd -M -s /usr/sbin/nologin smtpother
printf 'smtpother:%s\nroot:%s\n' "$E2E_PASSWORD" "$E2E_PASSWORD" | chpasswd
groupadd smtpusers
usermod -aG smtpusers "$SMTP_USER"
usermod -aG smtpusers root
cp -a /etc/pam.d/smtp "$W/orig-pam-smtp"
snap_mail > "$W/orig-a.snap"

say "A: apply --yes --login-group smtpusers"
"$BIN" apply --yes --login-group smtpusers 2>&1 | tee "$W/apply-a.out" || fail "apply --login-group failed"
grep -Eq '^auth\s+requisite\s+pam_succeed_if.so user ingroup smtpusers$' /etc/pam.d/smtp || { cat /etc/pam.d/smtp; fail "no group line in /etc/pam.d/smtp"; }
grep -q 'who may log in: the members of group smtpusers' "$W/apply-a.out" || fail "the ehlo step does not say who may log in"
cross_login "$SMTP_USER" "$E2E_PASSWORD" PLAIN a-member.out
login_relays a-member.out "$SMTP_USER (in smtpusers)"
cross_login smtpother "$E2E_PASSWORD" PLAIN a-other.out
login_refused a-other.out "smtpother (not in smtpusers)"
cross_login root "$E2E_PASSWORD" LOGIN a-root.out
login_refused a-root.out "root (in smtpusers, uid 0)"
"$BIN" rollback --yes > "$W/rollback-a.out" 2>&1 || { cat "$W/rollback-a.out"; fail "rollback after --login-group failed"; }
cmp /etc/pam.d/smtp "$W/orig-pam-smtp" || fail "/etc/pam.d/smtp was not restored"
snap_mail > "$W/back-a.snap"
diff "$W/orig-a.snap" "$W/back-a.snap" || fail "rollback after --login-group did not restore /etc/mail"

say "B: apply --yes --password-source sasldb; users add mailonly; CRAM-MD5 relays; a system user is refused"
MO_PW="mo-$E2E_PASSWORD"
"$BIN" apply --yes --password-source sasldb 2>&1 | tee "$W/apply-b.out" || fail "apply --password-source sasldb failed"
MO_PW="$MO_PW" "$BIN" users add mailonly --password-env MO_PW 2>&1 | tee "$W/users-add.out" || fail "users add failed"
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --quit-after EHLO > "$W/ehlo-b.out" 2>&1 || true
grep -Eq '250-AUTH .*CRAM-MD5' "$W/ehlo-b.out" || { cat "$W/ehlo-b.out"; fail "CRAM-MD5 is not offered under sasldb"; }
cross_login mailonly "$MO_PW" CRAM-MD5 b-cram.out
login_relays b-cram.out "mailonly (sasldb, CRAM-MD5)"
cross_login "$SMTP_USER" "$E2E_PASSWORD" PLAIN b-system.out
login_refused b-system.out "system user $SMTP_USER under sasldb"
if grep -rqF "$MO_PW" /etc/mail /etc/pam.d /var/lib/smtpauth-wizard /var/log/smtpauth-wizard.log "$W/apply-b.out" "$W/users-add.out"; then fail "the sasldb password appears outside sasldb"; fi
"$BIN" rollback --yes > "$W/rollback-b.out" 2>&1 || { cat "$W/rollback-b.out"; fail "rollback after sasldb failed"; }
"$BIN" users remove mailonly > /dev/null 2>&1 || fail "users remove failed"
snap_mail > "$W/back-b.snap"
diff "$W/orig-a.snap" "$W/back-b.snap" || fail "rollback after sasldb did not restore /etc/mail"

echo "E2E-OK"
