#!/usr/bin/env bash
# Benchmark of `smtpauth-wizard probe` with STARTTLS against `swaks --tls` (issue 11,
# "Performance": the probe at most 0.3x swaks in the same run), both against Debian's REAL
# sendmail and saslauthd with STARTTLS, set up as tests/e2e/starttls.sh does (a certificate
# for mailsrv.example.test made by openssl, confSERVER_CERT/KEY, `A p y`, LOGIN PLAIN,
# saslauthd with PAM, the throwaway user of tests/e2e/ns.sh), inside
# `unshare --net --mount --uts --pid --fork --mount-proc --kill-child`: only lo, private
# copies of /etc/mail etc., traffic only to 127.0.0.0/8, every daemon stopped by its pid.
#
# What each tool does in one run (from 127.0.0.2 to 127.0.0.1:25):
#   probe      smtpauth-wizard probe 127.0.0.1 --source-ip 127.0.0.2 --tls-ca CRT
#              --tls-name mailsrv.example.test --user U --password-env PW --format json:
#              TWO connections. 1st: greeting, EHLO, MAIL/RCPT to an external address without
#              AUTH (must be refused), RSET, STARTTLS + handshake (certificate VERIFIED against
#              --tls-ca), EHLO, AUTH PLAIN, MAIL/RCPT (must be accepted), RSET, QUIT.
#              2nd: greeting, EHLO, STARTTLS + handshake, EHLO, AUTH LOGIN, MAIL/RCPT, RSET,
#              QUIT. Plus loading the system trust store once.
#   swaks      swaks --server 127.0.0.1 --local-interface 127.0.0.2 --tls --auth PLAIN
#              --auth-user U --auth-password PW --quit-after AUTH: ONE connection: greeting,
#              EHLO, STARTTLS + handshake (certificate NOT verified: swaks' default), EHLO,
#              AUTH PLAIN, QUIT.
#   swaks x2   the same with --auth PLAIN, then with --auth LOGIN: two connections, the
#              closest to the probe's work (the probe still sends 3 MAIL/RCPT pairs more).
# Each round runs the three in turn, the order rotated every round, $RUNS rounds. Reported:
# median wall time, median CPU (user+sys of the tool's process tree, getrusage; the
# server's CPU is not in it), the ratios probe/swaks (per run) and per connection
# (probe/2 vs swaks), and probe/(swaks x2); the target is <= 0.3 on the wall time.
#
# The server's own delays are measured too (a Python client timing TCP connect -> 220 and
# EHLO -> 250, so no interpreter start-up is in them), and everything runs twice:
#   as-is      Debian's sendmail.mc as installed, plus only what STARTTLS/AUTH needs
#              (FEATURE(greet_pause) and the access db's `GreetPause:127 0` stay; that entry is
#              why 127.0.0.2 gets no pause);
#   no-delays  the private copy without FEATURE(greet_pause), confCONNECTION_RATE_THROTTLE,
#              confBAD_RCPT_THROTTLE, conncontrol and ratecontrol; sendmail restarted by pid.
#
# Usage: benches/probe_tls.sh   env: RUNS (20), BIN (a built smtpauth-wizard; default: a
#        release build, made once), PHASES ("as-is no-delays"), CARGO_TARGET_DIR, TMPDIR.
# Needs root, sendmail-mta, saslauthd (sasl2-bin), swaks, openssl, m4, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${PBENCH_IN_NS:-}" ]; then
    cd "$here"
    [ "$(id -u)" = 0 ] || { echo "probe_tls.sh: needs root (unshare, bind mounts, port 25)" >&2; exit 2; }
    for t in /usr/sbin/sendmail-mta /usr/sbin/saslauthd /usr/bin/swaks /usr/bin/openssl /usr/bin/m4 \
        /usr/bin/python3 /usr/bin/unshare; do
        [ -x "$t" ] || { echo "probe_tls.sh: $t is not installed" >&2; exit 2; }
    done
    if [ -z "${BIN:-}" ]; then
        cargo build --release -q
        BIN=$here/${CARGO_TARGET_DIR:-target}/release/smtpauth-wizard
    fi
    BIN=$(readlink -f "$BIN")
    W=$(mktemp -d "${TMPDIR:-/tmp}/probe-tls-bench.XXXXXX")
    chmod 0755 "$W"
    upid=
    cleanup() {
        if [ -n "$upid" ]; then kill "$upid" 2>/dev/null || true; fi
        rm -rf "$W"
    }
    trap cleanup EXIT
    trap 'exit 143' TERM INT
    pw="bench-$$-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    # --kill-child: should unshare be killed, the namespace's init and with it every process
    # in the namespace goes too.
    E2E_PASSWORD=$pw PBENCH_IN_NS=1 BIN=$BIN W=$W NO_COLOR=1 \
        unshare --net --mount --uts --pid --fork --mount-proc --kill-child bash "$0" "$@" </dev/null &
    upid=$!
    set +e
    wait "$upid"
    rc=$?
    set -e
    upid=
    exit "$rc"
fi

# ---- inside the namespace ----
: "${W:?}" "${BIN:?}" "${E2E_PASSWORD:?}"
runs=${RUNS:-20}
phases=${PHASES:-as-is no-delays}
NAME=mailsrv.example.test
source "$here/tests/e2e/checks.sh"
source "$here/tests/e2e/ns.sh" >"$W/ns.log"

T=/etc/mail/tlstest
mkdir -p "$T"
chmod 0755 "$T"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -subj "/CN=$NAME" \
    -addext "subjectAltName=DNS:$NAME" -keyout "$T/server.key" -out "$T/server.crt" 2>/dev/null
chmod 0600 "$T/server.key"
chmod 0644 "$T/server.crt"
sed -i "s|^MAILER_DEFINITIONS|define(\`confAUTH_MECHANISMS', \`LOGIN PLAIN')dnl\nTRUST_AUTH_MECH(\`LOGIN PLAIN')dnl\ndefine(\`confAUTH_OPTIONS', \`A p y')dnl\ndefine(\`confCACERT_PATH', \`$T')dnl\ndefine(\`confCACERT', \`$T/server.crt')dnl\ndefine(\`confSERVER_CERT', \`$T/server.crt')dnl\ndefine(\`confSERVER_KEY', \`$T/server.key')dnl\nMAILER_DEFINITIONS|" /etc/mail/sendmail.mc
m4 /etc/mail/sendmail.mc >/etc/mail/sendmail.cf || fail "m4"

/usr/sbin/saslauthd -a pam -m /run/saslauthd -n 1

start_sendmail() {
    /usr/sbin/sendmail-mta -bd
    local _
    for _ in $(seq 1 100); do
        if python3 - <<'PY' 2>/dev/null; then return 0; fi
import socket
s = socket.create_connection(("127.0.0.1", 25), timeout=2, source_address=("127.0.0.2", 0))
assert s.recv(512).startswith(b"220")
s.sendall(b"QUIT\r\n"); s.recv(512)
PY
        sleep 0.1
    done
    fail "sendmail does not answer on 127.0.0.1:25"
}

stop_sendmail() {
    local pid _
    pid=$(head -n1 "$pidfile")
    kill "$pid"
    for _ in $(seq 1 100); do
        [ -d "/proc/$pid" ] || return 0
        sleep 0.1
    done
    fail "sendmail ($pid) did not stop"
}

# The server's own latency as a client without start-up cost sees it: median milliseconds of
# TCP connect -> 220 greeting, and of EHLO -> 250, over $runs connections.
server_delays() {
    python3 - "$runs" <<'PY'
import socket, statistics, sys, time
def reply(s):
    buf = b""
    while True:
        buf += s.recv(4096)
        lines = buf.split(b"\r\n")
        if len(lines) > 1 and all(len(l) >= 4 for l in lines[:-1]) and lines[-2][3:4] == b" ":
            return buf
g, e = [], []
for _ in range(int(sys.argv[1])):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", 25), timeout=10, source_address=("127.0.0.2", 0))
    assert reply(s).startswith(b"220")
    t1 = time.perf_counter()
    s.sendall(b"EHLO client.example.test\r\n")
    assert reply(s).startswith(b"250")
    t2 = time.perf_counter()
    s.sendall(b"QUIT\r\n"); reply(s); s.close()
    g.append((t1 - t0) * 1000); e.append((t2 - t1) * 1000)
print("%.1f %.1f" % (statistics.median(g), statistics.median(e)))
PY
}

# One run of "$@" (output to $W/out): "wall_us cpu_us", CPU = user+sys of the command and its
# children (getrusage; /usr/bin/time's 10 ms steps would round the probe to 0).
cat >"$W/measure.py" <<'PY'
import resource, subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(int((t1 - t0) * 1e6), int(cpu * 1e6))
PY
measure() { python3 "$W/measure.py" "$W/out" "$@"; }

export PW=$E2E_PASSWORD
probe_cmd=("$BIN" probe 127.0.0.1 --source-ip 127.0.0.2 --ehlo-name client.example.test
    --tls-ca "$T/server.crt" --tls-name "$NAME" --user "$SMTP_USER" --password-env PW
    --timeout 10 --format json)
swaks_cmd=(swaks --server 127.0.0.1 --local-interface 127.0.0.2 --ehlo client.example.test --tls
    --auth-user "$SMTP_USER" --auth-password "$E2E_PASSWORD" --quit-after AUTH --auth) # + PLAIN/LOGIN

# Checks that a run did what it is supposed to (a benchmark of failures would be worthless).
check_probe() {
    python3 - "$W/out" "$W/resumed" <<'PY' || { cat "$W/out"; fail "the probe did not pass every check"; }
import json, sys
r = json.load(open(sys.argv[1]))
st = {c["id"]: c["status"] for c in r["checks"]}
for c in ("starttls", "auth-plain", "auth-login", "relay-denied",
          "relay-authenticated-plain", "relay-authenticated-login"):
    assert st.get(c) == "pass", (c, st)
assert r["tls"]["verified"], r["tls"]
started = [l["text"] for l in r["transcript"] if l["text"].startswith("[TLS started")]
with open(sys.argv[2], "a") as f:
    f.write("%d\n" % any("session resumed" in t for t in started))
PY
}
check_swaks() {
    grep -q '^<~  235 ' "$W/out" || { cat "$W/out"; fail "swaks $1 did not authenticate over TLS"; }
}

median() { sort -n | awk '{ t[NR] = $1 } END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%d", m }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo met; else echo "NOT met"; fi; }

tweak_no_delays() {
    sed -i -e '/^FEATURE(`greet_pause'"'"'/d' -e '/^define(`confCONNECTION_RATE_THROTTLE'"'"'/d' \
        -e '/^define(`confBAD_RCPT_THROTTLE'"'"'/d' -e '/^FEATURE(`conncontrol'"'"'/d' \
        -e '/^FEATURE(`ratecontrol'"'"'/d' /etc/mail/sendmail.mc
    m4 /etc/mail/sendmail.mc >/etc/mail/sendmail.cf || fail "m4 (no-delays)"
    if grep -Eq '^O (ConnectionRateThrottle|BadRcptThrottle)=|greet_pause' /etc/mail/sendmail.cf; then
        fail "a delay is still in the no-delays sendmail.cf"
    fi
}

printf '%s cores; load %s; %s rounds; medians; CPU = user+sys of the tool (not the server)\n' \
    "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$runs"
printf 'probe: 2 connections (STARTTLS, verified certificate, AUTH PLAIN / AUTH LOGIN, 3 MAIL/RCPT); swaks: 1 connection (STARTTLS, unverified, AUTH PLAIN, quit after AUTH); swaks x2: PLAIN + LOGIN\n\n'
printf '| server config | greeting / EHLO (server) | probe wall | probe CPU | 2nd TLS resumed | swaks wall | swaks CPU | swaks x2 wall | ratio probe/swaks | per connection | probe/(swaks x2) (<= 0.3) | CPU ratio | load |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
first=yes
for phase in $phases; do
    case $phase in
        as-is) ;;
        no-delays) tweak_no_delays ;;
        *) fail "unknown phase $phase (as-is, no-delays)" ;;
    esac
    [ "$first" = yes ] || stop_sendmail
    first=no
    start_sendmail
    read -r greet ehlo < <(server_delays)
    pw_=() pc=() sw=() sc=() s2=()
    : >"$W/resumed"
    for ((i = 0; i < runs; i++)); do
        # rotate the order: no tool always runs first (or right after the other)
        for k in $(printf '%s\n' 0 1 2 0 1 | sed -n "$((i % 3 + 1)),$((i % 3 + 3))p"); do
            case $k in
                0)
                    read -r us cpu < <(measure "${probe_cmd[@]}")
                    check_probe
                    pw_+=("$us") pc+=("$cpu")
                    ;;
                1)
                    read -r us cpu < <(measure "${swaks_cmd[@]}" PLAIN)
                    check_swaks PLAIN
                    sw+=("$us") sc+=("$cpu")
                    ;;
                2)
                    read -r us cpu < <(measure "${swaks_cmd[@]}" LOGIN)
                    check_swaks LOGIN
                    read -r us1 _ < <(measure "${swaks_cmd[@]}" PLAIN)
                    check_swaks PLAIN
                    s2+=("$((us + us1))")
                    ;;
            esac
        done
    done
    p_med=$(printf '%s\n' "${pw_[@]}" | median)
    p_cpu=$(printf '%s\n' "${pc[@]}" | median)
    s_med=$(printf '%s\n' "${sw[@]}" | median)
    s_cpu=$(printf '%s\n' "${sc[@]}" | median)
    x2_med=$(printf '%s\n' "${s2[@]}" | median)
    r1=$(ratio "$p_med" "$s_med")
    rc=$(ratio "$((p_med / 2))" "$s_med")
    r2=$(ratio "$p_med" "$x2_med")
    rcpu=$(ratio "$p_cpu" "$s_cpu")
    resumed="$(grep -c 1 "$W/resumed" || true)/$(wc -l <"$W/resumed")"
    printf '| %s | %s ms / %s ms | %s ms | %s ms | %s | %s ms | %s ms | %s ms | %s | %s | %s %s | %s | %s |\n' \
        "$phase" "$greet" "$ehlo" "$(ms "$p_med")" "$(ms "$p_cpu")" "$resumed" "$(ms "$s_med")" "$(ms "$s_cpu")" "$(ms "$x2_med")" \
        "$r1" "$rc" "$r2" "$(verdict "$r2" 0.3)" "$rcpu" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'RATIO %s probe/swaks=%s per-connection=%s probe/swaks-x2=%s target<=0.3 %s\n' \
        "$phase" "$r1" "$rc" "$r2" "$(verdict "$r2" 0.3)" >>"$W/ratios"
done
echo
cat "$W/ratios"
echo "BENCH-OK"
