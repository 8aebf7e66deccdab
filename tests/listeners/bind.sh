#!/usr/bin/env bash
# Does the real sendmail daemon hold every socket a sendmail.cf asks for? (tests/listeners.rs)
#
# Runs inside `unshare --net --mount --uts --pid --fork --mount-proc`: a private network with
# only lo (plus the addresses the cf names, added to lo), host name mailsrv with a hosts file
# that qualifies it (else sendmail stalls 60 s, FACTS.md), private copies of the directories
# the daemon may write. Nothing here can reach or bind a real interface. The daemon runs in the
# foreground (-bD), is stopped by its pid, and the pid namespace takes anything left with it.
#
# Usage: bind.sh WORKDIR CF [ADDR...] -- [tcp|tcp6 HEXADDR:HEXPORT]...
#   ADDR: an address to add to lo (IPv4 or IPv6); the sockets: /proc/net/tcp{,6} local
#   addresses that must all be listening.
# Prints "RESULT BOUND" when all are, or "RESULT FAILED: why" when the daemon says it cannot
# bind or listen, or exits, first. /proc/net/tcp{,6} end up in WORKDIR/tcp{,6}, the daemon's
# output in WORKDIR/daemon.out.
set -euo pipefail
W=$1
CF=$2
shift 2
addrs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do addrs+=("$1"); shift; done
[ $# -gt 0 ] && shift
socks=("$@")

ip link set lo up
hostname mailsrv
mount -t tmpfs tmpfs /run
printf '127.0.0.1\tmailsrv.example.test mailsrv localhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$W/hosts"
mount --bind "$W/hosts" /etc/hosts
for p in /var/spool/mqueue /var/spool/mqueue-client /var/lib/sendmail; do
  if [ -e "$p" ]; then
    name=$(echo "$p" | tr / _)
    cp -a "$p" "$W/$name"
    mount --bind "$W/$name" "$p"
  fi
done
for a in "${addrs[@]}"; do
  case $a in
    *:*) ip -6 addr add "$a/128" dev lo nodad ;;
    *) ip addr add "$a/32" dev lo ;;
  esac
done

/usr/sbin/sendmail-mta -bD -C "$CF" -O "PidFile=$W/sendmail.pid" \
  -O "ControlSocketName=$W/control" > "$W/daemon.out" 2>&1 &
pid=$!
# SIGTERM first; a daemon stuck retrying a socket only acts on it after its retries (about
# 50 s), so it gets SIGKILL (by its pid) when it is still there a moment later.
stop() {
  kill "$pid" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap stop EXIT

listening() { # every wanted socket is in LISTEN state (0A)
  local kind sock
  for s in "${socks[@]}"; do
    kind=${s%% *}
    sock=${s#* }
    grep -q "^ *[0-9]*: $sock [0-9A-F:]* 0A " "/proc/net/$kind" || return 1
  done
}

result=""
# The daemon either binds everything (usually within a second) or says why not at once
# ("cannot bind"/"cannot listen"); it gives up by itself after about 50 s ("wedged"). The
# bound below only guards against a hang.
for _ in $(seq 1 600); do
  if listening; then result="BOUND"; break; fi
  if grep -Eq 'cannot (bind|listen)|wedged' "$W/daemon.out"; then
    result="FAILED: $(grep -E 'cannot (bind|listen)|wedged' "$W/daemon.out" | head -n1)"
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then result="FAILED: the daemon exited"; break; fi
  sleep 0.2
done
cp /proc/net/tcp "$W/tcp"
cp /proc/net/tcp6 "$W/tcp6"
echo "RESULT ${result:-FAILED: no answer from the daemon within 120 s}"
