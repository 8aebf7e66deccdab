#!/usr/bin/env bash
# Who may log in (issue 11 item 4), on Debian's REAL sendmail, saslauthd, PAM and sasldb tools.
#
# Part A, --login-group: before the wizard, root, the throwaway user and a second user all pass
# PAM for the smtp service (testsaslauthd, the real saslauthd). `apply --login-group smtpusers`
# (smtpusers holds smtptest and root): smtptest logs in over SMTP (235) and relays; the second
# user (not in the group) and root (in the group, but uid 0) are refused (535); rollback puts
# /etc/pam.d/smtp back byte for byte (content, mode, owner, mtime).
#
# Part B, --password-source sasldb: `apply --password-source sasldb`, `users add` with
# --password-env, EHLO offers CRAM-MD5, a CRAM-MD5 login from 127.0.0.2 relays, a system user
# (right password) is refused, the password is in no file but sasldb (the wizard's state and
# journal, /var/log with the audit log, /etc, /run, every output), sasldb is root:sasl 0640;
# rollback restores every byte of /etc/mail, /etc/pam.d and /etc/default; `users remove` takes
# the user out again.
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc` (started by
# tests/login.rs through common::run_live): see tests/e2e/ns.sh. Traffic only to 127.0.0.0/8;
# every daemon is stopped by its pid.
#
# Usage: login.sh WORKDIR BINARY   (the throwaway users' password comes in $E2E_PASSWORD)
set -euo pipefail
W=$1
BIN=$2
: "${E2E_PASSWORD:?}"
SMTP_USER=smtptest
OTHER_USER=smtpother
GROUP=smtpusers
MAILONLY=mailonly
MAILONLY_PW="mo-${E2E_PASSWORD}-x"

source "$(dirname "$0")/checks.sh"
source "$(dirname "$0")/ns.sh"

# /etc/sasldb2 must be the private copy ns.sh bound over it, never the machine's own.
findmnt -n /etc/sasldb2 >/dev/null || fail "/etc/sasldb2 is not a private copy (no bind mount)"
findmnt -n /etc/group >/dev/null || fail "/etc/group is not a private copy"

say "a second user $OTHER_USER (uid 4998, not in $GROUP), group $GROUP (smtptest and root), root's password set (private copies only)"
hash=$(printf '%s' "$E2E_PASSWORD" | openssl passwd -6 -stdin)
echo "$OTHER_USER:x:4998:4998:e2e:/nonexistent:/usr/sbin/nologin" >> /etc/passwd
echo "$OTHER_USER:x:4998:" >> /etc/group
echo "$OTHER_USER:$hash:19000:0:99999:7:::" >> /etc/shadow
echo "$GROUP:x:4990:$SMTP_USER,root" >> /etc/group
# (a bind-mounted file cannot be renamed over: rewrite it in place)
sed "s|^root:[^:]*:|root:$hash:|" /etc/shadow > "$W/shadow.new"
cat "$W/shadow.new" > /etc/shadow
grep -q '^root:[$]6[$]' /etc/shadow || fail "root's password was not set in the private shadow"

smtp_login() { # user password mech output -> the swaks transcript in $W/output
  # Inside STARTTLS: the tls step sets A p y, so PLAIN and LOGIN are offered only after it.
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
    --auth "$3" --auth-user "$1" --auth-password "$2" --quit-after RCPT > "$W/$4" 2>&1 || true
  grep -v '^ -> [A-Za-z0-9+/=]*$' "$W/$4" | grep -E '^(<-|<~|\*\*\*)' | sed -n '1,30p'
}
expect_relays() { # output what
  grep -q '235 2.0.0 OK Authenticated' "$W/$1" || fail "$2: AUTH was not accepted"
  grep -Eq '250 2.1.5 .*Recipient ok' "$W/$1" || fail "$2: the authenticated relay was not accepted"
}
expect_refused() { # output what
  grep -q '535 5.7.0 authentication failed' "$W/$1" || fail "$2: AUTH was not refused with 535"
  grep -q '235 ' "$W/$1" && fail "$2: AUTH was accepted"
  return 0
}

say "the server as the HOWTO finds it; saslauthd (PAM) started directly"
/etc/init.d/sendmail start >/dev/null
/usr/sbin/saslauthd -a pam -m /run/saslauthd -n 1
for _ in $(seq 1 100); do [ -S /run/saslauthd/mux ] && break; sleep 0.1; done
for u in root "$SMTP_USER" "$OTHER_USER"; do
  testsaslauthd -u "$u" -p "$E2E_PASSWORD" -s smtp -f /run/saslauthd/mux > "$W/pam-before-$u.out" 2>&1 || true
  grep -q '0: OK' "$W/pam-before-$u.out" || { cat "$W/pam-before-$u.out"; fail "before the wizard, $u does not pass PAM for smtp"; }
done
echo "before: root, $SMTP_USER and $OTHER_USER all pass PAM (service smtp)"

for d in /etc/mail /etc/pam.d /etc/default; do cp -a "$d" "$W/orig$(echo $d | tr / _)"; done
cp -a /etc/sasldb2 "$W/orig-sasldb2"
stat -c '%a %U %G %Y %s' /etc/pam.d/smtp > "$W/pam.stat"

say "A: smtpauth-wizard apply --yes --login-group $GROUP"
"$BIN" apply --yes --login-group "$GROUP" 2>&1 | tee "$W/apply-a.out" || fail "apply --login-group failed"
cat /etc/pam.d/smtp
grep -Eq '^auth\s+requisite\s+pam_succeed_if.so uid >= 1$' /etc/pam.d/smtp || fail "no uid line"
grep -Eq "^auth\s+requisite\s+pam_succeed_if.so user ingroup $GROUP$" /etc/pam.d/smtp || fail "no group line"
grep -q '^@include common-auth' /etc/pam.d/smtp || fail "the admin's include was lost"

for u in root "$SMTP_USER" "$OTHER_USER"; do
  testsaslauthd -u "$u" -p "$E2E_PASSWORD" -s smtp -f /run/saslauthd/mux > "$W/pam-after-$u.out" 2>&1 || true
  echo "testsaslauthd $u: $(cat "$W/pam-after-$u.out")"
done

say "A: $SMTP_USER (in $GROUP) logs in over SMTP (PLAIN and LOGIN) and relays"
smtp_login "$SMTP_USER" "$E2E_PASSWORD" PLAIN a-member-plain.out
expect_relays a-member-plain.out "$SMTP_USER PLAIN"
smtp_login "$SMTP_USER" "$E2E_PASSWORD" LOGIN a-member-login.out
expect_relays a-member-login.out "$SMTP_USER LOGIN"
say "A: $OTHER_USER (not in $GROUP, right password) is refused"
smtp_login "$OTHER_USER" "$E2E_PASSWORD" PLAIN a-other.out
expect_refused a-other.out "$OTHER_USER"
say "A: root (in $GROUP, right password, uid 0) is refused"
smtp_login root "$E2E_PASSWORD" PLAIN a-root.out
expect_refused a-root.out root
smtp_login root "$E2E_PASSWORD" LOGIN a-root-login.out
expect_refused a-root-login.out "root (LOGIN)"

say "A: check after apply is done for pam (idempotent)"
"$BIN" check --login-group "$GROUP" --format json > "$W/check-a.json" || true
python3 - "$W/check-a.json" <<'PY' || fail "pam is not done after apply"
import json, sys
r = json.load(open(sys.argv[1]))
st = {s["id"]: s["status"] for s in r["steps"]}
print("pam:", st["pam"])
assert st["pam"] == "done", st
PY

say "A: rollback restores /etc/pam.d/smtp byte for byte"
"$BIN" rollback --yes 2>&1 | tee "$W/rollback-a.out" || fail "rollback failed"
cmp /etc/pam.d/smtp "$W/orig_etc_pam.d/smtp" || fail "/etc/pam.d/smtp content differs after rollback"
stat -c '%a %U %G %Y %s' /etc/pam.d/smtp | diff "$W/pam.stat" - || fail "/etc/pam.d/smtp mode/owner/mtime differ after rollback"
for d in /etc/mail /etc/pam.d /etc/default; do
  diff <(snap "$W/orig$(echo $d | tr / _)") <(snap "$d") || fail "rollback did not restore $d"
done

say "B: smtpauth-wizard plan --password-source sasldb says system users can no longer log in"
"$BIN" plan --password-source sasldb > "$W/plan-b.out" 2>&1 || true
grep -q 'system users (PAM, saslauthd) can no longer log in' "$W/plan-b.out" || { cat "$W/plan-b.out"; fail "the plan does not say system users can no longer log in"; }

say "B: apply --yes --password-source sasldb"
"$BIN" apply --yes --password-source sasldb 2>&1 | tee "$W/apply-b.out" || fail "apply --password-source sasldb failed"
grep -E '^(pwcheck_method|auxprop_plugin|mech_list)' /etc/mail/sasl/Sendmail.conf.2

say "B: users add $MAILONLY --password-env (the password only on saslpasswd2's stdin)"
MO_PW="$MAILONLY_PW" "$BIN" users add "$MAILONLY" --password-env MO_PW 2>&1 | tee "$W/users-add.out" || fail "users add failed"
grep -q "added $MAILONLY@mailsrv.example.test" "$W/users-add.out" || fail "users add did not say what it added"
stat -c '%a %U %G' /etc/sasldb2 | tee "$W/sasldb.stat"
[ "$(cat "$W/sasldb.stat")" = "640 root sasl" ] || fail "sasldb is not root:sasl 0640"
"$BIN" users list --format json | tee "$W/users-list.json"
python3 - "$W/users-list.json" "$MAILONLY" <<'PY' || fail "users list"
import json, sys
r = json.load(open(sys.argv[1]))
assert {"user": sys.argv[2], "realm": "mailsrv.example.test"} in r["users"], r
assert r["note"] is None, r
PY

say "B: EHLO offers CRAM-MD5; a CRAM-MD5 login from 127.0.0.2 relays"
ehlo_from_client "$W/ehlo-b.out"
grep -E '250-AUTH' "$W/ehlo-b.out"
grep -Eq '250-AUTH .*CRAM-MD5' "$W/ehlo-b.out" || fail "CRAM-MD5 is not offered"
smtp_login "$MAILONLY" "$MAILONLY_PW" CRAM-MD5 b-cram.out
expect_relays b-cram.out "$MAILONLY CRAM-MD5"
smtp_login "$MAILONLY" "$MAILONLY_PW" PLAIN b-plain.out
expect_relays b-plain.out "$MAILONLY PLAIN"
smtp_login "$MAILONLY" "wrong-$MAILONLY_PW" CRAM-MD5 b-wrong.out
expect_refused b-wrong.out "$MAILONLY with a wrong password"
say "B: a system user (right password) can no longer log in"
smtp_login "$SMTP_USER" "$E2E_PASSWORD" PLAIN b-system.out
expect_refused b-system.out "system user $SMTP_USER under sasldb"

say "B: the password is in no file but sasldb"
grep -aqF "$MAILONLY_PW" /etc/sasldb2 || echo "(sasldb keeps it in its own encoding)"
# Everything the wizard wrote or printed (the swaks transcripts are the test's own, left out).
wizard_out() { ls "$W"/apply-*.out "$W"/rollback-*.out "$W"/plan-*.out "$W"/users-*.out "$W"/users-*.json "$W"/check-*.json 2>/dev/null; }
no_password_anywhere() {
  local found
  found=$(grep -rlaF "$MAILONLY_PW" /var/lib/smtpauth-wizard /var/log /etc /run $(wizard_out) 2>/dev/null | grep -v '^/etc/sasldb2$' || true)
  [ -z "$found" ] || fail "the password is in: $found"
  echo "the password is in none of: /var/lib/smtpauth-wizard (state, journal), /var/log (audit log), /etc (but /etc/sasldb2), /run, the wizard's output"
}
no_password_anywhere
grep 'users add' /var/log/smtpauth-wizard.log || fail "no audit line for users add"

say "B: rollback restores every byte of /etc/mail, /etc/pam.d and /etc/default"
"$BIN" rollback --yes 2>&1 | tee "$W/rollback-b.out" || fail "rollback failed"
for d in /etc/mail /etc/pam.d /etc/default; do
  diff <(snap "$W/orig$(echo $d | tr / _)") <(snap "$d") || fail "rollback did not restore $d"
done

say "B: users remove $MAILONLY; users list is empty again"
"$BIN" users remove "$MAILONLY" 2>&1 | tee "$W/users-remove.out" || fail "users remove failed"
"$BIN" users list --format json > "$W/users-list2.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["users"]==[], r' "$W/users-list2.json" || fail "the user is still listed"
set +e
"$BIN" users remove "$MAILONLY" > "$W/users-remove2.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "there is no user $MAILONLY@mailsrv.example.test" "$W/users-remove2.out" || { cat "$W/users-remove2.out"; fail "removing a missing user is not an error"; }
grep -c 'users remove' /var/log/smtpauth-wizard.log
no_password_anywhere
say "sasldb holds the users it held before (none added by the test remain); its mode is the wizard's root:sasl 0640"
sasldblistusers2 -f "$W/orig-sasldb2" 2>&1 | sort > "$W/sasldb-before.list" || true
sasldblistusers2 -f /etc/sasldb2 2>&1 | sort > "$W/sasldb-after.list" || true
diff "$W/sasldb-before.list" "$W/sasldb-after.list" || fail "sasldb users differ from before"
echo "before: $(stat -c '%a %U:%G' "$W/orig-sasldb2"), now: $(stat -c '%a %U:%G' /etc/sasldb2) (sasldb is not journaled: users add/remove change it)"
grep -q sasldb2 /var/lib/smtpauth-wizard/journal.yaml && fail "sasldb is in the journal"
echo "E2E-OK"
