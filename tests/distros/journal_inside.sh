#!/usr/bin/env bash
# Inside Debian 13 booted with systemd, without rsyslog (tests/distros/journal.sh copies this
# file and tests/e2e/checks.sh in and runs it with nsenter). sendmail logs only to journald;
# relay-report must find that out by itself, say that it reads the journal, and count exactly
# the refusals sent here. Traffic: swaks from 127.0.0.2 to 127.0.0.1 on the container's own
# loopback.
#
# Usage: journal_inside.sh WORKDIR   (the throwaway user's password is in WORKDIR/password)
set -euo pipefail
W=$1
BIN=/usr/local/bin/smtpauth-wizard
SMTP_USER=smtptest
E2E_PASSWORD=$(cat "$W/password")
source "$(dirname "$0")/checks.sh"
export NO_COLOR=1
FOLLOW_PID=

stop_follow() {
  [ -n "$FOLLOW_PID" ] || return 0
  kill "$FOLLOW_PID" 2>/dev/null || true
  wait "$FOLLOW_PID" 2>/dev/null || true
  FOLLOW_PID=
}
trap stop_follow EXIT

wait_listening() { # bounded only so that a broken daemon fails, not hangs
  local i
  for i in $(seq 1 100); do
    if [ "$1" = network ]; then listens_beyond_loopback && return 0; else listens_on_loopback && return 0; fi
    sleep 0.1
  done
  fail "sendmail does not listen as expected ($1)"
}

# How many "Relaying denied" entries of sm-mta journalctl itself shows (the ground truth the
# report is compared with), after journald wrote out what it received.
journal_denials() {
  journalctl --sync 2>/dev/null || true
  journalctl --no-pager -q -t sm-mta -o cat | grep -c 'Relaying denied' || true
}
# Waits until the journal holds $1 refusals (journald receives syslog datagrams asynchronously;
# bounded only so that a lost entry fails instead of hanging).
wait_journal_denials() {
  local i n
  for i in $(seq 1 100); do
    n=$(journal_denials)
    [ "$n" = "$1" ] && return 0
    [ "$n" -gt "$1" ] && fail "the journal holds $n refusals, $1 were sent"
    sleep 0.1
  done
  journalctl --no-pager -q -t sm-mta | tail -n 20
  fail "the journal holds $(journal_denials) refusals after 10 s, $1 were sent"
}

refuse() { # $1: how many refusals from 127.0.0.2 (no AUTH, an external recipient)
  local i
  for i in $(seq 1 "$1"); do
    swaks --server 127.0.0.1 --local-interface 127.0.0.2 --from "probe$i@client.example.test" \
      --to "victim$i@elsewhere.example" --quit-after RCPT > "$W/refuse.out" 2>&1 || true
    grep -q '550 5.7.1 .*Relaying denied' "$W/refuse.out" || { cat "$W/refuse.out"; fail "relaying from 127.0.0.2 was not refused"; }
  done
  SENT=$((SENT + $1))
}
SENT=0

# The report's figure named $2 ("relaying denied", "failed SMTP AUTH logins", ...) in file $1.
figure() { grep -o "$2: [0-9]*" "$1" | head -n1 | sed 's/.*: //'; }

say "PID 1 is $(cat /proc/1/comm); $(. /etc/os-release; echo "$PRETTY_NAME"); sendmail $(dpkg-query -W -f='${Version}' sendmail-bin); the wizard: $("$BIN" --version)"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is not systemd"
say "no syslog daemon: rsyslog is not installed and there is no /var/log/mail.log"
if dpkg-query -W -f='${Status}' rsyslog 2>/dev/null | grep -q 'install ok installed'; then fail "rsyslog is installed"; fi
for f in /var/log/mail.log /var/log/mail.info /var/log/maillog /var/log/syslog; do
  [ ! -e "$f" ] || fail "$f exists"
done
[ "$(systemctl is-active sendmail)" = active ] || fail "sendmail is not active under systemd"
ls -d /var/log/journal/*/ /run/log/journal/*/ 2>/dev/null || true

say "a throwaway user $SMTP_USER; 127.0.0.2 is a stranger (not RELAY through Connect:127)"
useradd -M -s /usr/sbin/nologin "$SMTP_USER"
printf '%s:%s\n' "$SMTP_USER" "$E2E_PASSWORD" | chpasswd
printf 'Connect:127.0.0.2\t\tOK\n' >> /etc/mail/access
makemap hash /etc/mail/access < /etc/mail/access
wait_listening loopback

say "smtpauth-wizard apply --yes (SMTP AUTH, so that logins succeed and fail for real)"
"$BIN" apply --yes > "$W/apply.out" 2>&1 || { cat "$W/apply.out"; fail "apply failed"; }
wait_listening network
[ ! -e /var/log/mail.log ] || fail "/var/log/mail.log appeared"

say "refusals, failed and successful logins from 127.0.0.2"
base=$(journal_denials)
[ "$base" = 0 ] || fail "the journal already holds $base refusals"
refuse 3
auth_fail=0 auth_ok=0
# AUTH is offered only inside STARTTLS (the tls step sets A p y): swaks --tls.
for mech in LOGIN PLAIN; do
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
    --auth "$mech" --auth-user "$SMTP_USER" --auth-password "wrong-$mech" --quit-after AUTH > "$W/authfail.out" 2>&1 || true
  # swaks marks a reply inside TLS with `<~*`, outside with `<**`.
  grep -Eq '^<[*~]\* 535 ' "$W/authfail.out" || { cat "$W/authfail.out"; fail "a wrong password ($mech) was not refused with 535"; }
  auth_fail=$((auth_fail + 1))
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
    --auth "$mech" --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after RCPT > "$W/authok.out" 2>&1 || true
  grep -q '235 2.0.0 OK Authenticated' "$W/authok.out" || { cat "$W/authok.out"; fail "AUTH $mech was not accepted"; }
  auth_ok=$((auth_ok + 1))
done
wait_journal_denials "$SENT"
journalctl --no-pager -q -t sm-mta -t saslauthd | tail -n 30

say "relay-report with no options: it reads the journal by itself, says so, counts $SENT refusals"
"$BIN" relay-report > "$W/report.out" 2> "$W/report.err" || { cat "$W/report.out" "$W/report.err"; fail "relay-report failed"; }
cat "$W/report.out"
grep -q 'read from the systemd journal (journalctl' "$W/report.out" || fail "the report does not say it reads the journal"
grep -q 'chosen because /var/log/mail.log is absent' "$W/report.out" || fail "the report does not say why it reads the journal"
[ "$(figure "$W/report.out" 'relaying denied')" = "$SENT" ] || fail "relay-report counted $(figure "$W/report.out" 'relaying denied') refusals, $SENT were sent"
grep -Eq "127\.0\.0\.2\]?: $SENT relaying denied" "$W/report.out" || fail "the refusals are not all counted for 127.0.0.2"
[ "$(figure "$W/report.out" 'saslauthd failures')" = "$auth_fail" ] || fail "saslauthd's failures (its own journal entries) are not counted"
# What sendmail logged of the logins (LogLevel decides which are logged), and what saslauthd did.
logged_fail=$(journalctl --no-pager -q -t sm-mta -o cat | grep -c 'AUTH failure' || true)
logged_ok=$(journalctl --no-pager -q -t sm-mta -o cat | grep -c 'AUTH=server' || true)
echo "logins: $auth_fail failed and $auth_ok succeeded; sendmail logged $logged_fail 'AUTH failure' and $logged_ok 'AUTH=server' lines"
[ "$logged_fail" = "$auth_fail" ] && [ "$logged_ok" = "$auth_ok" ] || fail "sendmail did not log every login (LogLevel?)"
[ "$(figure "$W/report.out" 'failed SMTP AUTH logins')" = "$logged_fail" ] || fail "failed logins: the report does not match the journal ($logged_fail)"
[ "$(figure "$W/report.out" 'successful logins')" = "$logged_ok" ] || fail "successful logins: the report does not match the journal ($logged_ok)"

say "JSON: the same counts and the source"
"$BIN" --format json relay-report > "$W/report.json" || fail "relay-report --format json failed"
perl -MJSON::PP -e '
  local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>);
  $j->{relay_denied} == $ARGV[1] or die "relay_denied $j->{relay_denied}, want $ARGV[1]\n";
  $j->{source} =~ /systemd journal/ or die "source: $j->{source}\n";
  print "json: relay_denied=$j->{relay_denied} source=$j->{source}\n";' "$W/report.json" "$SENT" || fail "the JSON report is wrong"

say "--journal --since: only the refusals after a pause"
t1=$(date +%s)
sleep 4
refuse 2
wait_journal_denials "$SENT"
since=$(( $(date +%s) - t1 - 1 ))
"$BIN" relay-report --journal --since "${since}s" > "$W/since.out" 2>&1 || { cat "$W/since.out"; fail "relay-report --journal --since failed"; }
cat "$W/since.out"
grep -q 'read from the systemd journal' "$W/since.out" || fail "--journal: the report does not say it reads the journal"
! grep -q 'chosen because' "$W/since.out" || fail "--journal was asked for, not chosen"
[ "$(figure "$W/since.out" 'relaying denied')" = 2 ] || fail "--since ${since}s counted $(figure "$W/since.out" 'relaying denied') refusals, 2 were sent after the pause"
"$BIN" relay-report --journal > "$W/all.out" 2>&1 || fail "relay-report --journal failed"
[ "$(figure "$W/all.out" 'relaying denied')" = "$SENT" ] || fail "--journal counted $(figure "$W/all.out" 'relaying denied'), $SENT were sent"

say "--follow: a new refusal appears while it runs"
"$BIN" relay-report --follow > "$W/follow.out" 2>&1 &
FOLLOW_PID=$!
for i in $(seq 1 300); do
  grep -q "relaying denied: $SENT\b" "$W/follow.out" && break
  kill -0 "$FOLLOW_PID" 2>/dev/null || { cat "$W/follow.out"; fail "relay-report --follow exited"; }
  sleep 0.1
done
grep -q "relaying denied: $SENT\b" "$W/follow.out" || { cat "$W/follow.out"; fail "--follow did not report the $SENT refusals so far"; }
grep -q 'read from the systemd journal' "$W/follow.out" || fail "--follow does not say it reads the journal"
refuse 1
for i in $(seq 1 300); do
  grep -q "relaying denied: $SENT\b" "$W/follow.out" && break
  kill -0 "$FOLLOW_PID" 2>/dev/null || { cat "$W/follow.out"; fail "relay-report --follow exited"; }
  sleep 0.1
done
grep -q "relaying denied: $SENT\b" "$W/follow.out" || { tail -n 30 "$W/follow.out"; fail "the new refusal did not appear within the follow run"; }
children=$(cat /proc/"$FOLLOW_PID"/task/*/children 2>/dev/null || true)
echo "relay-report --follow is pid $FOLLOW_PID; its children: ${children:-none}"
kill "$FOLLOW_PID"
wait "$FOLLOW_PID" 2>/dev/null || true
kill -0 "$FOLLOW_PID" 2>/dev/null && fail "relay-report --follow (pid $FOLLOW_PID) is still running"
FOLLOW_PID=
# journalctl --follow must not outlive the report it fed.
for c in $children; do
  for i in $(seq 1 50); do [ -d /proc/"$c" ] || break; sleep 0.1; done
  if [ -d /proc/"$c" ]; then
    echo "still there: $(tr '\0' ' ' < /proc/"$c"/cmdline)"
    kill "$c" 2>/dev/null || true
    fail "the report's child $c ($(cat /proc/"$c"/comm 2>/dev/null)) outlived relay-report --follow"
  fi
done
tail -n 25 "$W/follow.out"
echo "JOURNAL-COUNTS refusals=$SENT auth_failed_sent=$auth_fail auth_ok_sent=$auth_ok logged_failed=$logged_fail logged_ok=$logged_ok"

echo "E2E-OK"
