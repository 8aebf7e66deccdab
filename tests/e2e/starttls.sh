#!/usr/bin/env bash
# The probe's STARTTLS against Debian's REAL sendmail and saslauthd, set up as issue 11 wants
# the end state (TLS.md): a certificate for mailsrv.example.test with a subjectAltName (made by
# the real openssl), confSERVER_CERT/KEY and confCACERT in the mc, `A p y`, LOGIN PLAIN.
# Checks: swaks sees 250-STARTTLS and no AUTH before TLS and AUTH LOGIN PLAIN after it; the
# probe trusting that certificate (--tls-ca, --tls-name) logs in over TLS and relays (exit 0,
# TLS version named, AUTH only after STARTTLS); without --tls-ca (unknown issuer) and with a
# wrong name it sends no AUTH command at all; --no-verify-cert logs in
# over the unverified TLS on loopback and says "certificate not verified".
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc` (started by tests/tls.rs),
# like tests/e2e/auth_sasl.sh: only lo, a private /run and /var/log, bind-mounted copies of
# every file that changes; traffic only to 127.0.0.0/8; every daemon stopped by its pid.
#
# Usage: starttls.sh WORKDIR BINARY   (the throwaway user's password comes in $E2E_PASSWORD)
set -euo pipefail
W=$1
BIN=$2
: "${E2E_PASSWORD:?}"
SMTP_USER=smtptest
NAME=mailsrv.example.test

# fail, say, snap and the checks shared with tests/distros/scenario.sh
source "$(dirname "$0")/checks.sh"

source "$(dirname "$0")/ns.sh"

say "a certificate for $NAME with a subjectAltName (openssl), key root 0600"
T=/etc/mail/tlstest
mkdir -p "$T"
chmod 0755 "$T"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -subj "/CN=$NAME" \
  -addext "subjectAltName=DNS:$NAME" -keyout "$T/server.key" -out "$T/server.crt" 2>/dev/null
chmod 0600 "$T/server.key"
chmod 0644 "$T/server.crt"

say "sendmail.mc: STARTTLS with that certificate, AUTH LOGIN PLAIN only after TLS (A p y)"
sed -i "s|^MAILER_DEFINITIONS|define(\`confAUTH_MECHANISMS', \`LOGIN PLAIN')dnl\nTRUST_AUTH_MECH(\`LOGIN PLAIN')dnl\ndefine(\`confAUTH_OPTIONS', \`A p y')dnl\ndefine(\`confCACERT_PATH', \`$T')dnl\ndefine(\`confCACERT', \`$T/server.crt')dnl\ndefine(\`confSERVER_CERT', \`$T/server.crt')dnl\ndefine(\`confSERVER_KEY', \`$T/server.key')dnl\nMAILER_DEFINITIONS|" /etc/mail/sendmail.mc
m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf || fail "m4"
grep -E '^O (ServerCertFile|ServerKeyFile|AuthOptions)' /etc/mail/sendmail.cf

say "saslauthd (PAM) and sendmail, started directly, stopped by their pids"
/usr/sbin/saslauthd -a pam -m /run/saslauthd -n 1
/usr/sbin/sendmail-mta -bd -O LogLevel=14
up=no
for _ in $(seq 1 100); do
  if swaks --server 127.0.0.1 --local-interface 127.0.0.2 --quit-after CONNECT --timeout 2 >/dev/null 2>&1; then up=yes; break; fi
  sleep 0.1
done
[ "$up" = yes ] || fail "sendmail does not answer on 127.0.0.1:25"

say "swaks: before TLS 250-STARTTLS and no AUTH; after STARTTLS AUTH LOGIN PLAIN"
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --quit-after EHLO > "$W/swaks-plain.out" 2>&1 || true
grep -q '250-STARTTLS' "$W/swaks-plain.out" || { cat "$W/swaks-plain.out"; fail "STARTTLS is not offered"; }
grep -q '250-AUTH' "$W/swaks-plain.out" && fail "AUTH is offered before TLS despite p"
swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --quit-after EHLO > "$W/swaks-tls.out" 2>&1 || true
grep -Eq '250-AUTH LOGIN PLAIN' "$W/swaks-tls.out" || { cat "$W/swaks-tls.out"; fail "AUTH is not offered after STARTTLS"; }

probe() {
  local out=$1; shift
  set +e
  E2E_PW="$E2E_PASSWORD" "$BIN" probe 127.0.0.1 --source-ip 127.0.0.2 --ehlo-name client.example.test \
    --user "$SMTP_USER" --password-env E2E_PW --timeout 10 "$@" --format json > "$W/$out.json" 2> "$W/$out.err"
  echo $? > "$W/$out.rc"
  set -e
}

say "probe trusting the certificate (--tls-ca, --tls-name): logs in over TLS, exit 0"
probe verified --tls-ca "$T/server.crt" --tls-name "$NAME"
python3 - "$W/verified.json" "$(cat "$W/verified.rc")" <<'PY' || fail "probe with a trusted certificate"
import json, sys
r = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
st = {c["id"]: c["status"] for c in r["checks"]}
t = r["tls"]
for c in r["checks"]:
    if c["status"] != "pass": print("  ", c["id"], c["status"], c["detail"])
print("checks:", st); print("tls:", {k: t[k] for k in ("version", "cipher", "verification", "auth_mechanisms")})
assert rc == 0, rc
assert t["established"] and t["verified"] and t["version"].startswith("TLSv1."), t
assert r["starttls"] and r["auth_mechanisms"] is None, r["auth_mechanisms"]
assert "LOGIN" in t["auth_mechanisms"] and "PLAIN" in t["auth_mechanisms"], t
assert t["certificate"]["san"] == ["DNS:mailsrv.example.test"], t["certificate"]
for c in ("starttls", "auth-after-tls", "auth-advertised", "relay-denied", "auth-plain",
          "relay-authenticated-plain", "auth-login", "relay-authenticated-login"):
    assert st[c] == "pass", (c, st)
PY

say "probe without --tls-ca (self-signed: unknown issuer) and with a wrong name: no password sent"
probe unknown
probe wrongname --tls-ca "$T/server.crt" --tls-name other.example.test
for case in unknown:unknown\ issuer wrongname:wrong\ name; do
  f=${case%%:*}; why=${case#*:}
  python3 - "$W/$f.json" "$(cat "$W/$f.rc")" "$why" <<'PY' || fail "probe $f"
import json, sys
r = json.load(open(sys.argv[1])); rc = int(sys.argv[2]); why = sys.argv[3]
st = {c["id"]: c for c in r["checks"]}
print(sys.argv[1], rc, st["starttls"]["detail"])
assert rc != 0
assert st["starttls"]["status"] == "fail" and why in st["starttls"]["detail"], st["starttls"]
assert not r["tls"]["established"] and r["tls"]["verification"].startswith("failed"), r["tls"]
for a in ("auth-plain", "auth-login"):
    assert st[a]["status"] == "error" and st[a]["detail"].startswith("not tried"), st[a]
assert not any(l["text"].upper().startswith("AUTH") for l in r["transcript"]), r["transcript"]
PY
done

say "probe --no-verify-cert: logs in over unverified TLS on loopback, says so"
probe noverify --no-verify-cert
python3 - "$W/noverify.json" "$(cat "$W/noverify.rc")" <<'PY' || fail "probe --no-verify-cert"
import json, sys
r = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
st = {c["id"]: c["status"] for c in r["checks"]}
print("checks:", st, "verification:", r["tls"]["verification"])
assert rc == 0, rc
assert st["starttls"] == "warn" and st["auth-plain"] == "pass" and st["auth-login"] == "pass", st
assert r["tls"]["verification"].startswith("certificate not verified"), r["tls"]
PY

grep -q "$E2E_PASSWORD" "$W"/*.json "$W"/*.err && fail "the password appears in the probe's output"
echo "E2E-OK"
