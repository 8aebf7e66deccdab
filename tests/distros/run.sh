#!/usr/bin/env bash
# One Debian release, booted with systemd as PID 1, with the project's .deb installed by dpkg
# and the live scenario (tests/distros/scenario.sh) run inside. Started by tests/distros.rs.
#
# Usage: run.sh SUITE DEB   (SUITE: a Debian code name: bullseye, trixie, ...)
# Needs root, debootstrap, systemd-nspawn (systemd-container), nsenter, unshare. The first run
# builds the pristine root (debootstrap; see lib.sh for the cache); later ones unpack it.
# Prints DISTRO-OK SUITE at the end. The container is stopped by its systemd-nspawn pid on
# every exit (also on SIGTERM/SIGINT), and its copy of the root is deleted.
set -euo pipefail
SUITE=$1
DEB=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

t0=$SECONDS
distro_workspace "$SUITE" distro
echo "copy ready after $((SECONDS - t0)) s"
mkdir -m 700 "$root/root/distro-test"
cp "$DEB" "$root/root/distro-test/"
cp "$HERE/scenario.sh" "$HERE/../e2e/checks.sh" "$root/root/distro-test/"
# A random password for the throwaway user, in a root-only file inside the container.
(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$root/root/distro-test/password")

distro_boot "$root" "smtpauth-$SUITE-$$" "$work/console.log"
echo "booted after $((SECONDS - t0)) s"

distro_log "dpkg -i $(basename "$DEB") inside Debian $SUITE"
distro_enter dpkg -i "/root/distro-test/$(basename "$DEB")" || distro_die "dpkg -i refused the package on Debian $SUITE"
distro_enter /usr/bin/smtpauth-wizard --version || distro_die "the installed binary does not run on Debian $SUITE"

distro_enter /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  bash /root/distro-test/scenario.sh /root/distro-test
echo "scenario done after $((SECONDS - t0)) s"
distro_stop
echo "DISTRO-OK $SUITE ($((SECONDS - t0)) s)"
