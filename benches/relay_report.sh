#!/usr/bin/env bash
# Benchmark of the relay report (HOWTO step 13) against `grep -c 'Relaying denied'`.
#
# Generates a synthetic sendmail mail.log (default 1 GiB, ~0.1% of lines "Relaying denied"),
# puts it in the page cache, then times, best of $RUNS each, in the same run:
#   smtpauth-wizard relay-report --log FILE --format json   (or, until the CLI subcommand is
#                                                           wired, examples/relay_report_bench)
#   grep -c 'Relaying denied' FILE
# and prints both times, their ratio (target <= 0.5) and the report's peak RSS (target < 32 MiB,
# "Maximum resident set size" of /usr/bin/time -v). The log is deleted on exit.
#
# Usage: benches/relay_report.sh [BYTES]      env: RUNS (3), TMPDIR, CARGO_TARGET_DIR
set -euo pipefail

cd "$(dirname "$0")/.."
size=${1:-$((1 << 30))}
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-target}

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (package 'time') for peak RSS" >&2
    apt-get install -y -q time >/dev/null
fi

cargo build --release -q
cargo build --release -q --example gen_maillog --example relay_report_bench

work=$(mktemp -d "${TMPDIR:-/tmp}/relay-report-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
log=$work/mail.log

"$target/release/examples/gen_maillog" "$log" "$size"

# Prefer the real CLI when it has the subcommand: it must print a JSON report.
head -n 2000 "$log" >"$work/small.log"
bin=$target/release/smtpauth-wizard
if "$bin" relay-report --log "$work/small.log" --format json 2>/dev/null |
    python3 -c 'import json,sys; sys.exit(0 if "relay_denied" in json.load(sys.stdin) else 1)' 2>/dev/null; then
    report=("$bin" relay-report --log "$log" --format json)
else
    echo "(smtpauth-wizard has no relay-report subcommand yet: using examples/relay_report_bench)" >&2
    report=("$target/release/examples/relay_report_bench" "$log")
fi

# One run of "$@": prints "microseconds peak_rss_kib". The output goes to a file, not
# /dev/null: GNU grep notices /dev/null and stops at the first match.
measure() {
    local start end
    start=$(date +%s%N)
    /usr/bin/time -v -o "$work/time" "$@" >"$work/out"
    end=$(date +%s%N)
    echo "$(((end - start) / 1000)) $(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")"
}

# Best time and highest RSS of $runs runs.
best() {
    local best_us= max_rss=0 us rss i
    for ((i = 0; i < runs; i++)); do
        read -r us rss < <(measure "$@")
        if [ -z "$best_us" ] || [ "$us" -lt "$best_us" ]; then best_us=$us; fi
        if [ "$rss" -gt "$max_rss" ]; then max_rss=$rss; fi
    done
    echo "$best_us $max_rss"
}

cat "$log" >/dev/null # warm-up: the file in the page cache for both
read -r report_us report_rss < <(best "${report[@]}")
denied=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["relay_denied"])' "$work/out")
read -r grep_us grep_rss < <(best grep -c 'Relaying denied' "$log")
grep_count=$(cat "$work/out")

# For the record: the same on one core (the report reads and prescans on one thread per core).
read -r single_us _ < <(best taskset -c 0 "${report[@]}")

bytes=$(stat -c %s "$log")
lines=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lines_read"])' "$work/out" 2>/dev/null || true)
ratio=$(awk -v a="$report_us" -v b="$grep_us" 'BEGIN { printf "%.2f", a / b }')
rss_mib=$(awk -v k="$report_rss" 'BEGIN { printf "%.1f", k / 1024 }')
verdict() { if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo met; else echo "NOT met"; fi; }

printf 'log:            %s bytes (%s MiB), %s lines, %s cores, load %s\n' "$bytes" "$((bytes >> 20))" "$lines" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'relay-report:   %d.%03d s (best of %d), peak RSS %s KiB = %s MiB; %s relaying denied\n' \
    $((report_us / 1000000)) $((report_us / 1000 % 1000)) "$runs" "$report_rss" "$rss_mib" "$denied"
printf 'grep -c:        %d.%03d s (best of %d), peak RSS %s KiB; count %s\n' \
    $((grep_us / 1000000)) $((grep_us / 1000 % 1000)) "$runs" "$grep_rss" "$grep_count"
printf 'one core:       %d.%03d s (relay-report under taskset -c 0)\n' $((single_us / 1000000)) $((single_us / 1000 % 1000))
printf 'ratio:          %s (target <= 0.5: %s)\n' "$ratio" "$(verdict "$ratio" 0.5)"
printf 'peak RSS:       %s MiB (target < 32 MiB: %s)\n' "$rss_mib" "$(verdict "$rss_mib" 31.99)"
if [ "$denied" != "$grep_count" ]; then
    echo "MISMATCH: the report counted $denied refusals, grep $grep_count lines" >&2
    exit 1
fi
