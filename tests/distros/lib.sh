# Debian roots booted with systemd as PID 1, for tests (sourced by tests/distros/run.sh, and
# meant to be sourced by other harnesses too). Needs root, debootstrap and systemd-container.
#
#   distro_cached_tarball SUITE   builds (once) and prints the pristine root's tarball
#   distro_unpack SUITE DIR       a fresh copy of that root in DIR (seconds)
#   distro_boot DIR NAME LOG      boots DIR with systemd-nspawn (private network, cgroups of
#                                 its own), waits until `systemctl is-system-running` says
#                                 running or degraded; sets DISTRO_NSPAWN_PID, DISTRO_INIT_PID
#                                 and DISTRO_CGROUPS
#   distro_workspace SUITE TAG    a work directory $work under /var/tmp with a fresh copy of
#                                 SUITE's root in $root, whose /etc/hosts names mailsrv
#                                 (127.0.0.1) and client (127.0.0.2); on exit (also on
#                                 SIGTERM/SIGINT) the container is stopped and $work removed
#   distro_enter CMD...           runs CMD inside the booted container (nsenter, all namespaces)
#   distro_stop                   kills the systemd-nspawn process by its pid, waits for it and
#                                 for the container's init, removes its cgroups, and returns 1
#                                 (after a DISTRO-FAIL line) if any of them is still there or
#                                 the power-off hung
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
distro_fail() { echo "DISTRO-FAIL: $*" >&2; }
distro_die() { distro_fail "$@"; exit 1; }

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

# Makes, for the container NAME, a cgroup of its own under this shell's cgroup in each
# hierarchy systemd uses (the unified cgroup2 one, and name=systemd on a legacy or hybrid
# host), and prints their directories.
#
# With --keep-unit (there is no host systemd to ask for a scope) systemd-nspawn puts the
# container in "payload" under the cgroup it was started in. Two containers started from the
# same cgroup (the two tests of tests/distros.rs run at once) then had one cgroup tree managed
# by two systemd: both containers' saslauthd were in one saslauthd.service cgroup, which each
# systemd made, watched and removed as its own. Now and then (in CI, and in about one run in
# eight here) one container's power-off then waited for saslauthd.service with no process of
# its own left, until the 90 s stop timeout.
distro_cgroups() {
  local name=$1 mnt rel d
  while read -r mnt rel; do
    [ -n "$mnt" ] || continue
    d="$mnt${rel%/}/$name"
    mkdir -p "$d" || distro_die "cannot make a cgroup of its own for the container in $d"
    echo "$d"
  done < <(
    awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts |
      while read -r mnt; do echo "$mnt $(sed -n 's/^0:://p' /proc/self/cgroup)"; done
    awk '$3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/ { print $2; exit }' /proc/mounts |
      while read -r mnt; do echo "$mnt $(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)"; done
  )
}

# Removes the cgroups of distro_cgroups once the container is gone (nspawn's payload and
# supervisor below them first); fails (returns 1) if one cannot be removed.
distro_remove_cgroups() {
  local d i left
  for d in ${DISTRO_CGROUPS:-}; do
    for i in $(seq 1 50); do
      [ -d "$d" ] || break
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      sleep 0.2
    done
    if [ -d "$d" ]; then
      left=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
      distro_fail "the container's cgroup $d is still there, holding: ${left:-no process}"
      return 1
    fi
  done
  DISTRO_CGROUPS=
}

distro_boot() {
  local dir=$1 name=$2 log=$3 i state
  DISTRO_CGROUPS=$(distro_cgroups "$name") || { distro_remove_cgroups; exit 1; }
  [ -n "$DISTRO_CGROUPS" ] || distro_die "no cgroup2 or name=systemd hierarchy in /proc/mounts for systemd-nspawn"
  # nspawn refuses a /run that is not a tmpfs: a private one, in a private mount namespace.
  # It starts in the container's own cgroups (sh moves itself there, then execs it).
  unshare --mount sh -c 'dir=$1 name=$2; shift 2; for d in "$@"; do echo $$ > "$d/cgroup.procs" || exit 1; done
    mount -t tmpfs tmpfs /run; exec systemd-nspawn -q -b -D "$dir" --private-network --register=no --keep-unit --machine="$name" --hostname=mailsrv --console=read-only' \
    sh "$dir" "$name" $DISTRO_CGROUPS < /dev/null > "$log" 2>&1 &
  DISTRO_NSPAWN_PID=$!
  DISTRO_INIT_PID=
  DISTRO_CONSOLE_LOG=$log
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

# What a power-off that hangs was waiting for, before anything is killed and the copy (with
# its console log) removed: the end of the console (systemd prints "A stop job is running for
# ..." there), systemd's jobs and the status of the running ones' units, the container's
# non-empty cgroups with their processes, and every process still in its pid namespace.
distro_show_hung_poweroff() {
  local ns p jobs unit d f procs q
  if [ -n "${DISTRO_CONSOLE_LOG:-}" ] && [ -f "$DISTRO_CONSOLE_LOG" ]; then
    distro_log "the last 40 lines of the container's console ($DISTRO_CONSOLE_LOG):"
    tail -n 40 "$DISTRO_CONSOLE_LOG" | tr -d '\r' | sed 's/^/   | /' >&2
  fi
  [ -n "${DISTRO_INIT_PID:-}" ] || return 0
  distro_log "the container's systemd on its jobs, and what each job's unit holds:"
  jobs=$(distro_enter timeout 10 systemctl list-jobs --no-pager --no-legend 2>&1) || true
  printf '%s\n' "$jobs" | sed 's/^/   | /' >&2
  for unit in $(printf '%s\n' "$jobs" | awk '$4 == "running" { print $2 }'); do
    distro_enter timeout 10 systemctl status "$unit" --no-pager -l 2>&1 | sed 's/^/   | /' >&2 || true
  done
  # The container's own cgroup2 tree (distro_cgroups; also on a hybrid host), where systemd
  # waits for a unit's cgroup to become empty: every non-empty one, with its processes
  # (zombies too), and the populated flag of each service.
  for d in ${DISTRO_CGROUPS:-}; do
    [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] || continue
    distro_log "non-empty cgroups under $d:"
    find "$d" -name cgroup.procs | while read -r f; do
      procs=$(cat "$f" 2>/dev/null) || continue
      [ -n "$procs" ] || continue
      printf '   | %s: %s\n' "${f%/cgroup.procs}" "$(for q in $procs; do printf '%s(%s %s) ' "$q" "$(cut -d' ' -f3 /proc/"$q"/stat 2>/dev/null)" "$(cat /proc/"$q"/comm 2>/dev/null)"; done)" >&2
    done || true
    for f in "$d"/payload/system.slice/*/cgroup.events; do
      [ -f "$f" ] && printf '   | %s: %s\n' "${f%/cgroup.events}" "$(tr '\n' ' ' < "$f")" >&2
    done
  done
  ns=$(readlink /proc/"$DISTRO_INIT_PID"/ns/pid 2>/dev/null) || return 0
  distro_log "processes left in the container's pid namespace ($ns):"
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p"/ns/pid 2>/dev/null)" = "$ns" ] || continue
    printf '   | %s %s [%s] %s\n' "${p#/proc/}" "$(awk '{print $3}' "$p"/stat 2>/dev/null)" \
      "$(cat "$p"/cgroup 2>/dev/null | tail -n 1)" "$(tr '\0' ' ' < "$p"/cmdline 2>/dev/null | cut -c1-120)" >&2
  done
}

distro_stop() {
  local i t0=$SECONDS rc=0
  [ -n "${DISTRO_NSPAWN_PID:-}" ] || { distro_remove_cgroups; return; }
  kill -TERM "$DISTRO_NSPAWN_PID" 2>/dev/null || true
  # nspawn asks the container's systemd to power off; a hung one gets SIGKILL after 30 s.
  for i in $(seq 1 150); do
    kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null; then
    distro_fail "the container's power-off did not finish within 30 s of SIGTERM to systemd-nspawn $DISTRO_NSPAWN_PID"
    distro_show_hung_poweroff
    rc=1
    distro_log "systemd-nspawn $DISTRO_NSPAWN_PID: SIGKILL"
    kill -KILL "$DISTRO_NSPAWN_PID" 2>/dev/null || true
  fi
  wait "$DISTRO_NSPAWN_PID" 2>/dev/null || true
  if kill -0 "$DISTRO_NSPAWN_PID" 2>/dev/null; then
    distro_fail "systemd-nspawn (pid $DISTRO_NSPAWN_PID) is still running"
    return 1
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
      distro_fail "the container's systemd (pid $DISTRO_INIT_PID) is still running after SIGKILL"
      return 1
    fi
    distro_fail "the container's systemd (pid $DISTRO_INIT_PID) outlived systemd-nspawn; killed by its pid"
    rc=1
  else
    distro_log "stopped: systemd-nspawn $DISTRO_NSPAWN_PID and the container's systemd $DISTRO_INIT_PID are gone ($((SECONDS - t0)) s after SIGTERM)"
  fi
  DISTRO_NSPAWN_PID= DISTRO_INIT_PID=
  distro_remove_cgroups || rc=1
  return "$rc"
}
