# Checks shared by the live scenarios: tests/e2e/live.sh (Debian 12, init scripts, in a
# namespace) and tests/distros/scenario.sh (Debian 11 and 13 booted with systemd). Sourced;
# they need $W (a work directory), $SMTP_USER and $E2E_PASSWORD, and the real swaks and perl.
# Traffic goes only to 127.0.0.1 from 127.0.0.2.

fail() { echo "E2E-FAIL: $*"; exit 1; }
say() { echo "== $*"; }

# Every file's path, mode, owner, group and mtime, then every file's sha256.
snap() { (cd "$1" && find . -type f -printf '%p %m %u %g %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# Whether something listens on port 25 of 0.0.0.0 (not only on loopback).
listens_beyond_loopback() { grep -q ' 00000000:0019 00000000:0000 0A' /proc/net/tcp; }
listens_on_loopback() { grep -q ' 0100007F:0019 00000000:0000 0A' /proc/net/tcp; }

# EHLO from 127.0.0.2; the answer goes to $1.
ehlo_from_client() { swaks --server 127.0.0.1 --local-interface 127.0.0.2 --quit-after EHLO > "$1" 2>&1 || true; }

# Issue 11: STARTTLS with `A p y` (the tls step): before TLS 250-STARTTLS and no LOGIN or
# PLAIN; after STARTTLS AUTH LOGIN PLAIN.
check_ehlo_advertises_login_plain() {
  say "EHLO from 127.0.0.2: 250-STARTTLS and no LOGIN/PLAIN before TLS; AUTH LOGIN PLAIN after STARTTLS"
  ehlo_from_client "$W/ehlo.out"
  cat "$W/ehlo.out"
  grep -q '250-STARTTLS' "$W/ehlo.out" || fail "STARTTLS is not offered"
  grep -Eq '250-AUTH .*(LOGIN|PLAIN)' "$W/ehlo.out" && fail "LOGIN or PLAIN is offered before TLS"
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --quit-after EHLO > "$W/ehlo-tls.out" 2>&1 || true
  grep -E '250-AUTH|TLS' "$W/ehlo-tls.out" || true
  grep -Eq '250-AUTH .*LOGIN' "$W/ehlo-tls.out" && grep -Eq '250-AUTH .*PLAIN' "$W/ehlo-tls.out" || fail "after STARTTLS EHLO does not advertise LOGIN PLAIN"
}

check_auth_relays() {
  local mech
  for mech in PLAIN LOGIN; do
    say "swaks STARTTLS + AUTH $mech from 127.0.0.2 relays (235, then 250 for an external RCPT)"
    swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
      --auth "$mech" --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after RCPT > "$W/auth-$mech.out" 2>&1 || true
    grep -v 'AUTH\|334\|^ -> [A-Za-z0-9+/=]*$' "$W/auth-$mech.out" | sed -n '1,40p'
    grep -q '235 2.0.0 OK Authenticated' "$W/auth-$mech.out" || fail "AUTH $mech was not accepted"
    grep -Eq '250 2.1.5 .*Recipient ok' "$W/auth-$mech.out" || fail "authenticated relay ($mech) was not accepted"
  done
  say "swaks AUTH PLAIN without STARTTLS: the server offers no AUTH there, no password is sent"
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --from '' --to relay-test@example.com \
    --auth PLAIN --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after RCPT > "$W/auth-clear.out" 2>&1 || true
  grep -q 'Host did not advertise authentication' "$W/auth-clear.out" || { grep -v '^ -> [A-Za-z0-9+/=]*$' "$W/auth-clear.out"; fail "AUTH PLAIN without TLS was not refused by the server's offer"; }
}

check_relay_refused_without_auth() {
  say "without AUTH the external RCPT is refused with 550 5.7.1"
  swaks --server 127.0.0.1 --local-interface 127.0.0.2 --from '' --to relay-test@example.com --quit-after RCPT > "$W/noauth.out" 2>&1 || true
  cat "$W/noauth.out"
  grep -q '550 5.7.1 .*Relaying denied. Proper authentication required.' "$W/noauth.out" || fail "relaying without AUTH was not refused"
}

# Another process holds port 25 on 127.0.0.2, so a new wildcard listener cannot bind; its pid
# goes to DUMMY_PID (the caller stops it). Waits until it listens.
hold_port_25_on_client_address() {
  say "failure path: port 25 is taken on 127.0.0.2, so the new wildcard listener cannot bind"
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.2", LocalPort => 25, Listen => 5, ReuseAddr => 1)
      or die "cannot listen on 127.0.0.2:25: $!\n";
    sleep 600;' &
  DUMMY_PID=$!
  EXTRA_PIDS="${EXTRA_PIDS:-} $DUMMY_PID"
  local i
  for i in $(seq 1 100); do
    grep -q ' 0200007F:0019 00000000:0000 0A' /proc/net/tcp && return 0
    kill -0 "$DUMMY_PID" 2>/dev/null || fail "the port holder did not start"
    sleep 0.1
  done
  fail "the port holder does not listen on 127.0.0.2:25"
}

# apply's output is in $1, its exit status $2: it must have failed and rolled back by itself.
check_apply_rolled_back_by_itself() {
  cat "$1"
  [ "$2" = 1 ] || fail "apply should fail when sendmail cannot listen (exit $2)"
  grep -q 'Rolling back every change of this run' "$1" || fail "restart did not roll back by itself"
  grep -q 'Restarted sendmail on the old configuration' "$1" || fail "the old configuration was not restarted"
  # The new daemon could not bind, so it wrote no pid file and the init script's stop missed
  # it: left running it would take port 25 with the rolled-back configuration once the port
  # is free (Debian 13). The wizard stops it by its pid.
  local stray
  stray=$(sed -n 's/.*the new daemon (pid \([0-9]*\)) was stopped.*/\1/p' "$1" | head -n1)
  [ -n "$stray" ] || fail "the failed apply did not say it stopped the new daemon"
  [ ! -e "/proc/$stray" ] || fail "the new daemon (pid $stray) still runs after the rollback"
}

check_audit_log() {
  say "the audit log has the apply, the rollback and the failed apply"
  cat /var/log/smtpauth-wizard.log
  grep -q ' apply result=ok .*steps=backup,.*restart' /var/log/smtpauth-wizard.log || fail "no audit line for the apply"
  grep -q ' rollback result=ok ' /var/log/smtpauth-wizard.log || fail "no audit line for the rollback"
  grep -q ' apply result=failed ' /var/log/smtpauth-wizard.log || fail "no audit line for the failed apply"
}

# Issue 11 item 3: port 587 (0x024B) listens beyond loopback, refuses MAIL without AUTH with
# 530 5.7.0, and relays after STARTTLS + AUTH LOGIN from 127.0.0.2.
check_submission_587() {
  say "587 listens beyond loopback, answers 530 5.7.0 without AUTH, relays after STARTTLS + AUTH LOGIN"
  local i
  for i in $(seq 1 100); do
    grep -q ' 00000000:024B 00000000:0000 0A' /proc/net/tcp && break
    sleep 0.1
  done
  grep -q ' 00000000:024B 00000000:0000 0A' /proc/net/tcp || { cat /proc/net/tcp; fail "587 does not listen on 0.0.0.0"; }
  swaks --server 127.0.0.1 --port 587 --local-interface 127.0.0.2 --from '' --to relay-test@example.com \
    --quit-after RCPT > "$W/587-noauth.out" 2>&1 || true
  grep -q '530 5.7.0' "$W/587-noauth.out" || { cat "$W/587-noauth.out"; fail "587 accepted MAIL without AUTH"; }
  swaks --server 127.0.0.1 --port 587 --local-interface 127.0.0.2 --tls --from '' --to relay-test@example.com \
    --auth LOGIN --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after RCPT > "$W/587-auth.out" 2>&1 || true
  grep -q '235 2.0.0 OK Authenticated' "$W/587-auth.out" || { cat "$W/587-auth.out"; fail "587: AUTH LOGIN over TLS was not accepted"; }
  grep -Eq '250 2.1.5 .*Recipient ok' "$W/587-auth.out" || { cat "$W/587-auth.out"; fail "587: the authenticated relay was not accepted"; }
}

# The wizard's probe agrees with swaks: STARTTLS established (TLS version named), no PLAIN or
# LOGIN before it, both after it, relay refused without AUTH, both logins relay. The server's
# certificate is self-signed (the wizard's or Debian's): the probe logs in over the unverified
# TLS on loopback (--no-verify-cert), as a client told to trust it would. Read with perl's
# JSON::PP (the containers have perl for swaks, not python).
check_probe_over_tls() {
  say "smtpauth-wizard probe agrees with swaks over STARTTLS"
  local rc=0
  E2E_PASSWORD="$E2E_PASSWORD" "$BIN" probe 127.0.0.1:25 --source-ip 127.0.0.2 --no-verify-cert \
    --user "$SMTP_USER" --password-env E2E_PASSWORD --format json > "$W/probe.json" || rc=$?
  [ "$rc" = 0 ] || { cat "$W/probe.json"; fail "probe exited $rc"; }
  perl -MJSON::PP -e '
    local $/; open my $f, "<", $ARGV[0] or die; my $r = decode_json(<$f>);
    my %st = map { $_->{id} => $_->{status} } @{ $r->{checks} };
    my $t = $r->{tls} or die "no tls object\n";
    $r->{starttls} && $t->{established} && $t->{version} =~ /^TLSv1\./ or die "no TLS\n";
    grep({ $_ eq "PLAIN" || $_ eq "LOGIN" } @{ $r->{auth_mechanisms} || [] }) and die "PLAIN/LOGIN before TLS\n";
    my %after = map { $_ => 1 } @{ $t->{auth_mechanisms} || [] };
    $after{LOGIN} && $after{PLAIN} or die "no LOGIN PLAIN after TLS\n";
    for my $k (qw(relay-denied auth-plain auth-login relay-authenticated-plain relay-authenticated-login)) {
      ($st{$k} // "") eq "pass" or die "$k: " . ($st{$k} // "missing") . "\n";
    }
    print "probe: $t->{version}, checks pass\n";' "$W/probe.json" || { cat "$W/probe.json"; fail "the probe disagrees with swaks"; }
  if grep -qF "$E2E_PASSWORD" "$W/probe.json"; then fail "the password is in the probe's report"; fi
}
