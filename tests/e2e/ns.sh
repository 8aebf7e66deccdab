# The isolation every live script in tests/e2e starts with. Sourced (after `set -euo pipefail`)
# inside `unshare --net --mount --uts --pid --fork --mount-proc` (common::run_live): it brings up
# lo only, names the host mailsrv(.example.test), mounts a private /run and /var/log, binds
# private copies over every file a script or the wizard may change (so the machine's real
# /etc/mail is never touched), binds a private state directory over /var/lib/smtpauth-wizard,
# adds a throwaway user $SMTP_USER (password $E2E_PASSWORD) to the private passwd/shadow only,
# and lets 127.0.0.2 (the test client) send mail without relaying through Debian's
# Connect:127 RELAY (FACTS.md). Traffic goes only to 127.0.0.0/8.
#
# Needs $W (the work directory) and $E2E_PASSWORD; sets SMTP_USER and pidfile. A script that
# starts more processes sets EXTRA_PIDS; `ns_cleanup` (the EXIT trap) stops sendmail,
# saslauthd and those by their pids.

: "${W:?}" "${E2E_PASSWORD:?}"
SMTP_USER=${SMTP_USER:-smtptest}
pidfile=/run/sendmail/mta/sendmail.pid
EXTRA_PIDS=${EXTRA_PIDS:-}

ns_cleanup() {
  local f p
  for f in /run/sendmail/mta/sendmail.pid /run/saslauthd/saslauthd.pid; do
    [ -f "$f" ] && kill "$(head -n1 "$f")" 2>/dev/null || true
  done
  for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null || true; done
}
trap ns_cleanup EXIT

echo "== isolating: loopback only, host name mailsrv, private /run, /var/log and copies of /etc/mail"
ip link set lo up
hostname mailsrv
mount -t tmpfs tmpfs /run
mkdir -p /run/saslauthd /run/sendmail/mta /run/lock
printf '127.0.0.1\tmailsrv.example.test mailsrv localhost\n127.0.0.2\tclient.example.test client\n' > "$W/hosts"
mount --bind "$W/hosts" /etc/hosts
private() { # private copy of a file or directory, bind-mounted over the original
  local name
  name=$(echo "$1" | tr / _)
  cp -a "$1" "$W/$name"
  mount --bind "$W/$name" "$1"
}
for p in /etc/mail /etc/default /etc/cron.d /etc/pam.d /etc/passwd /etc/shadow /etc/group \
  /etc/sasldb2 /var/lib/sendmail /var/spool/mqueue /var/spool/mqueue-client; do
  [ -e "$p" ] && private "$p"
done
mkdir -p "$W/state" /var/lib/smtpauth-wizard
mount --bind "$W/state" /var/lib/smtpauth-wizard
# The audit log goes to /var/log/smtpauth-wizard.log: a private /var/log keeps it off the host.
mkdir -p "$W/log"
mount --bind "$W/log" /var/log

echo "== a throwaway user $SMTP_USER (in the private passwd/shadow only)"
echo "$SMTP_USER:x:4999:4999:e2e:/nonexistent:/usr/sbin/nologin" >> /etc/passwd
echo "$SMTP_USER:x:4999:" >> /etc/group
hash=$(printf '%s' "$E2E_PASSWORD" | openssl passwd -6 -stdin)
echo "$SMTP_USER:$hash:19000:0:99999:7:::" >> /etc/shadow

echo "== 127.0.0.2 must not relay through Debian's Connect:127 RELAY (FACTS.md)"
printf 'Connect:127.0.0.2\t\tOK\n' >> /etc/mail/access
makemap hash /etc/mail/access < /etc/mail/access
