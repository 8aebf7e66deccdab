#!/bin/bash
# Builds the Debian 13 (trixie) roots tests/fresh_server.rs boots with systemd-nspawn, once,
# as tarballs under /var/cache/smtpauth-wizard-tests/ (needs root and the Debian archive):
#   trixie-nomta.tar:  systemd, swaks, openssl, no MTA; sendmail, sendmail-cf, m4 and the SASL
#                      packages only downloaded into apt's cache (apt-get --download-only).
#   trixie-exim4.tar:  the same with exim4-daemon-light installed (Debian's default MTA).
# Recipe: shared/reference/DISTROS.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# The cache directory, the mirror and the tarball names (with a hash of this recipe, so a
# changed recipe builds new roots) come from the distros harness.
. "$HERE/../distros/lib.sh"
. "$HERE/roots.sh"
MIRROR=$(distro_mirror)
NOMTA=$(fresh_tarball nomta) EXIM4=$(fresh_tarball exim4)
mkdir -p "$DISTRO_CACHE"
[ -s "$NOMTA" ] && [ -s "$EXIM4" ] && exit 0
W=$(mktemp -d /var/tmp/fresh-build.XXXXXX)
trap 'umount -R "$W/root/proc" 2>/dev/null || true; rm -rf "$W"' EXIT
R=$W/root
unshare --mount --pid --fork debootstrap --variant=minbase trixie "$R" "$MIRROR" >"$W/debootstrap.log" 2>&1 \
  || { tail -20 "$W/debootstrap.log"; exit 1; }
in_root() { unshare --mount --pid --fork sh -c "mount -t proc proc '$R/proc' && chroot '$R' $*"; }
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
export DEBIAN_FRONTEND=noninteractive
in_root apt-get install -y --no-install-recommends systemd-sysv dbus iproute2 swaks openssl ca-certificates procps
# The packages the debian profile installs, downloaded only, with what they depend on and
# recommend: the profile's command (apt-get install -y) installs recommends too.
in_root apt-get install -y --download-only m4 sendmail-bin sendmail-cf libsasl2-2 libsasl2-modules sasl2-bin
rm -f "$R/usr/sbin/policy-rc.d"
printf 'mailsrv\n' >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 mailsrv.example.test mailsrv\n127.0.0.2 client.example.test client\n' >"$R/etc/hosts"
# A test user for AUTH PLAIN through saslauthd/PAM.
in_root useradd -m smtptest
echo 'smtptest:fresh-secret' | in_root chpasswd
tar --numeric-owner --xattrs --xattrs-include="*" -C "$R" -cf "$NOMTA.part" . && mv "$NOMTA.part" "$NOMTA"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
in_root apt-get install -y --no-install-recommends exim4-daemon-light
# keep the cache of the sendmail packages (apt-get clean is not run by install).
rm -f "$R/usr/sbin/policy-rc.d"
in_root systemctl enable exim4 || true
tar --numeric-owner --xattrs --xattrs-include="*" -C "$R" -cf "$EXIM4.part" . && mv "$EXIM4.part" "$EXIM4"
ls -la "$NOMTA" "$EXIM4"
