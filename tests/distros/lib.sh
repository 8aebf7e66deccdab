# Debian roots booted with systemd as PID 1, for tests (sourced by tests/distros/run.sh, and
# meant to be sourced by other harnesses too). Needs root, debootstrap and systemd-container.
#
#   distro_cached_tarball SUITE   builds (once) and prints the pristine root's tarball
#   distro_unpack SUITE DIR       a fresh copy of that root in DIR (seconds)
#   distro_boot DIR NAME LOG      boots DIR with systemd-nspawn (private network), waits until
#                                 `systemctl is-system-running` says running or degraded;
#                                 sets DISTRO_NSPAWN_PID and DISTRO_INIT_PID
#   distro_workspace SUITE TAG    a work directory $work under /var/tmp with a fresh copy of
#                                 SUITE's root in $root, whose /etc/hosts names mailsrv
#                                 (127.0.0.1) and client (127.0.0.2); on exit (also on
#                                 SIGTERM/SIGINT) the container is stopped and $work removed
#   distro_enter CMD...           runs CMD inside the booted container (nsenter, all namespaces)
#   distro_stop                   kills the systemd-nspawn process by its pid, waits for it and
#                                 for the container's init, and fails if either is still there
#
# The cache directory is $SMTPAUTH_WIZARD_DISTRO_CACHE (default
# /var/cache/smtpauth-wizard-tests); each tarball's name carries a hash of the recipe below,
# so a changed package list builds a new one. A build takes the archive
# ($SMTPAUTH_WIZARD_DEBIAN_MIRROR, default: the first URI of
# /etc/apt/sources.list.d/debian.sources, else http://deb.debian.org/debian); everything
# after it runs offline.

DISTRO_CACHE=${SMTPAUTH_WIZARD_DISTRO_CACHE:-/var/cache/smtpauth-wizard-tests}
# libio-socket-ssl-perl and libnet-ssleay-perl: swaks --tls (checks.sh speaks STARTTLS since
# the tls step sets A p y, issue 11); swaks only recommends them.
DISTRO_PACKAGES="systemd-sysv dbus iproute2 sendmail sasl2-bin libsasl2-modules swaks libio-socket-ssl-perl libnet-ssleay-perl m4 openssl ca-certificates procps"
DISTRO_RECIPE_VERSION=1

distro_log() { echo "== [distro] $*" >&2; }
distro_die() { echo "DISTRO-FAIL: $*" >&2; exit 1; }

distro_mirror() {
  if [ -n "${SMTPAUTH_WIZARD_DEBIAN_MIRROR:-}" ]; then
    echo "$SMTPAUTH_WIZARD_DEBIAN_MIRROR"
    return
  fi
  local u
  u=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  echo "${u:-http://deb.debian.org/debian}"
}

distro_tarball_path() {
  local key
  key=$(printf '%s\n' "$1" "$DISTRO_PACKAGES" "$DISTRO_RECIPE_VERSION" | sha256sum | cut -c1-12)
  echo "$DISTRO_CACHE/debian-$1-$key.tar"
}

# Builds the pristine root of SUITE into the tarball $2 (called under the suite's lock).
distro_build() {
  local suite=$1 out=$2 build
  mkdir -p /var/tmp
  build=$(mktemp -d /var/tmp/smtpauth-distro-build.XXXXXX)
  distro_log "building a pristine Debian $suite root in $build (debootstrap from $(distro_mirror))"
  # A private mount and pid namespace: the /proc mounted for the chroot, and anything a
  # maintainer script leaves running, go away with it.
  if ! unshare --mount --pid --fork --mount-proc bash -euo pipefail -c '
      suite=$1 root=$2/root mirror=$3; shift 3
      debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
        { tail -n 30 "$root.debootstrap.log"; exit 1; }
      mount -t proc proc "$root/proc"
      printf "#!/bin/sh\nexit 101\n" > "$root/usr/sbin/policy-rc.d"
      chmod 755 "$root/usr/sbin/policy-rc.d"
      chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq update
      chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq install --no-install-recommends "$@" > "$root.install.log" 2>&1 ||
        { tail -n 30 "$root.install.log"; exit 1; }
      rm -f "$root/usr/sbin/policy-rc.d"
      chroot "$root" systemctl enable sendmail saslauthd > /dev/null 2>&1
      chroot "$root" apt-get clean
      umount "$root/proc"
    ' bash "$suite" "$build" "$(distro_mirror)" $DISTRO_PACKAGES; then
    rm -rf "$build"
    distro_die "could not build the Debian $suite root"
  fi
  mkdir -p "$DISTRO_CACHE"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$build/root" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$build"
}

distro_cached_tarball() {
  local suite=$1 tarball
  tarball=$(distro_tarball_path "$suite")
  mkdir -p "$DISTRO_CACHE"
  (
    flock 9
    [ -s "$tarball" ] || distro_build "$suite" "$tarball"
  ) 9> "$DISTRO_CACHE/debian-$suite.lock" || exit 1
  echo "$tarball"
}

distro_unpack() {
  local suite=$1 dir=$2 tarball
  tarball=$(distro_cached_tarball "$suite") || exit 1
  mkdir -p "$dir"
  tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball" -C "$dir"
}

distro_workspace() {
  local suite=$1 tag=$2
  work=$(mktemp -d /var/tmp/smtpauth-"$tag"-"$suite".XXXXXX)
  root=$work/root
  trap distro_cleanup EXIT
  trap 'exit 143' TERM INT
  distro_log "Debian $suite: a copy of the pristine root in $root"
  distro_unpack "$suite" "$root"
  # The names the scenarios use resolve without DNS (there is none on the private network).
  printf '127.0.0.1\tmailsrv.example.test mailsrv localhost\n127.0.0.2\tclient.example.test client\n' > "$root/etc/hosts"
  echo mailsrv > "$root/etc/hostname"
}

# The EXIT trap of distro_workspace: the container stopped (and seen gone), the copy removed.
distro_cleanup() {
  local rc=$?
  distro_stop || rc=1
  rm -rf "$work"
  exit "$rc"
}

distro_boot() {
  local dir=$1 name=$2 log=$3 i state
  # nspawn refuses a /run that is not a tmpfs: a private one, in a private mount namespace.
  unshare --mount sh -c 'mount -t tmpfs tmpfs /run; exec systemd-nspawn -q -b -D "$1" --private-network --register=no --keep-unit --machine="$2" --hostname=mailsrv --console=read-only' \
    sh "$dir" "$name" < /dev/null > "$log" 2>&1 &
  DISTRO_NSPAWN_PID=$!
  DISTRO_INIT_PID=
  # The container's systemd is the child of the systemd-nspawn process (unshare and sh exec).
  for i in $(seq 1 600); do
    kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null || { cat "$log" >&2; distro_die "systemd-nspawn exited while booting $dir"; }
    for c in $(cat /proc/"$DISTRO_NSPAWN_PID"/task/*/children 2>/dev/null); do
      [ "$(cat /proc/"$c"/comm 2>/dev/null)" = systemd ] && DISTRO_INIT_PID=$c
    done
    [ -n "$DISTRO_INIT_PID" ] && break
    sleep 0.2
  done
  [ -n "$DISTRO_INIT_PID" ] || distro_die "no systemd under systemd-nspawn (pid $DISTRO_NSPAWN_PID)"
  # Bounded only so that a broken boot fails instead of hanging (120 s; boots take 5-15 s).
  for i in $(seq 1 600); do
    state=$(distro_enter systemctl is-system-running 2>/dev/null || true)
    case $state in
      running|degraded) break ;;
    esac
    kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null || { cat "$log" >&2; distro_die "the container stopped while booting"; }
    sleep 0.2
  done
  case $state in
    running|degraded) distro_log "booted $dir: systemd pid $DISTRO_INIT_PID, system $state" ;;
    *) distro_enter systemctl --failed --no-pager >&2 || true; distro_die "the container did not finish booting (state: ${state:-none})" ;;
  esac
}

distro_enter() {
  nsenter -t "$DISTRO_INIT_PID" -a "$@"
}

distro_stop() {
  local i
  [ -n "${DISTRO_NSPAWN_PID:-}" ] || return 0
  kill -TERM "$DISTRO_NSPAWN_PID" 2>/dev/null || true
  # nspawn asks the container's systemd to power off; a hung one gets SIGKILL after 30 s.
  for i in $(seq 1 150); do
    kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null; then
    distro_log "systemd-nspawn $DISTRO_NSPAWN_PID did not stop: SIGKILL"
    kill -KILL "$DISTRO_NSPAWN_PID" 2>/dev/null || true
  fi
  wait "$DISTRO_NSPAWN_PID" 2>/dev/null || true
  if kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null; then
    distro_die "systemd-nspawn (pid $DISTRO_NSPAWN_PID) is still running"
  fi
  if [ -n "${DISTRO_INIT_PID:-}" ] && [ -d /proc/"$DISTRO_INIT_PID" ] &&
     [ "$(cat /proc/"$DISTRO_INIT_PID"/comm 2>/dev/null)" = systemd ]; then
    # systemd-nspawn is gone (killed after a power-off that hung) and left the container's
    # systemd running: that is killed by its pid too, everything in its pid namespace with it,
    # so that a failed run leaves no container behind. The run still fails.
    kill -KILL "$DISTRO_INIT_PID" 2>/dev/null || true
    for i in $(seq 1 50); do
      [ -d /proc/"$DISTRO_INIT_PID" ] || break
      sleep 0.2
    done
    if [ -d /proc/"$DISTRO_INIT_PID" ]; then
      distro_die "the container's systemd (pid $DISTRO_INIT_PID) is still running after SIGKILL"
    fi
    distro_die "the container's systemd (pid $DISTRO_INIT_PID) outlived systemd-nspawn; killed by its pid"
  fi
  distro_log "stopped: systemd-nspawn $DISTRO_NSPAWN_PID and the container's systemd $DISTRO_INIT_PID are gone"
  DISTRO_NSPAWN_PID= DISTRO_INIT_PID=
}
