#!/usr/bin/env bash
# relay-report on a system that logs only to the journal: Debian 13 (trixie) booted with
# systemd as PID 1 (systemd-nspawn, private network), WITHOUT rsyslog, so there is no
# /var/log/mail.log. The wizard built on this host is copied in (trixie's glibc runs it), and
# tests/distros/journal_inside.sh runs inside: real refusals and logins with swaks from
# 127.0.0.2, then relay-report with no options (it must read the journal by itself and say so),
# --journal --since, and --follow. Started by tests/journal_container.rs.
#
# Usage: journal.sh BINARY   Needs root, debootstrap (first run only), systemd-nspawn,
# nsenter, unshare. Prints JOURNAL-OK at the end. The container is stopped by its
# systemd-nspawn pid on every exit (also on SIGTERM/SIGINT) and checked gone; its copy of the
# root is deleted.
set -euo pipefail
BIN=$(realpath "$1")
SUITE=trixie
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

t0=$SECONDS
distro_workspace "$SUITE" journal
mkdir -m 700 "$root/root/journal-test"
install -m 755 "$BIN" "$root/usr/local/bin/smtpauth-wizard"
cp "$HERE/journal_inside.sh" "$HERE/../e2e/checks.sh" "$root/root/journal-test/"
(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$root/root/journal-test/password")

distro_boot "$root" "smtpauth-journal-$$" "$work/console.log"
echo "booted after $((SECONDS - t0)) s"
distro_enter /usr/local/bin/smtpauth-wizard --version || distro_die "the host-built binary does not run on Debian $SUITE"

distro_enter /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  bash /root/journal-test/journal_inside.sh /root/journal-test
echo "inside done after $((SECONDS - t0)) s"
distro_stop
echo "JOURNAL-OK $SUITE ($((SECONDS - t0)) s)"
