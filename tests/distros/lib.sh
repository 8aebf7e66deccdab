# Booting a Debian root with systemd as PID 1 in a container (shared/reference/DISTROS.md).
# Source it; needs root and systemd-nspawn (package systemd-container).
# NOTE: helper `distros` writes the shared version of these functions in its own branch; this
# copy (same recipe) lets tests/fresh_server.rs run before that is merged.
#   boot DIR NAME   starts the container; sets NSPAWN_PID (systemd-nspawn) and CT_PID (its init)
#   enter CMD...    runs CMD inside (all namespaces of CT_PID)
#   wait_booted     until `systemctl is-system-running` says running or degraded (bounded)
#   stop            kills the container by NSPAWN_PID and waits for it

boot() {
  local dir=$1 name=$2
  unshare --mount sh -c 'mount -t tmpfs tmpfs /run; exec systemd-nspawn -q -b -D "$0" --private-network --register=no --keep-unit --machine="$1"' "$dir" "$name" \
    >"${BOOT_LOG:-/dev/null}" 2>&1 &
  NSPAWN_PID=$!
  CT_PID=
  local i
  for i in $(seq 1 200); do
    # unshare execs sh, which execs systemd-nspawn: NSPAWN_PID is nspawn; its child is the init.
    CT_PID=$(pgrep -P "$NSPAWN_PID" 2>/dev/null | head -1 || true)
    [ -n "$CT_PID" ] && [ "$(cat /proc/$CT_PID/comm 2>/dev/null)" = systemd ] && return 0
    kill -0 "$NSPAWN_PID" 2>/dev/null || { echo "systemd-nspawn exited" >&2; return 1; }
    sleep 0.1
  done
  echo "no systemd inside the container" >&2
  return 1
}

enter() {
  nsenter -t "$CT_PID" -a "$@"
}

wait_booted() {
  local i s
  for i in $(seq 1 600); do
    s=$(enter systemctl is-system-running 2>/dev/null || true)
    case "$s" in running|degraded) return 0 ;; esac
    sleep 0.1
  done
  echo "the container did not finish booting: $s" >&2
  return 1
}

stop() {
  [ -n "${NSPAWN_PID:-}" ] || return 0
  kill "$NSPAWN_PID" 2>/dev/null || true
  wait "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=
}
