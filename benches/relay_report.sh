#!/usr/bin/env bash
# Benchmark of the relay report (HOWTO step 13) against `grep -c 'Relaying denied'`, at three
# densities of the lines that matter:
#   quiet  ~0.1% of lines "Relaying denied" (a well-configured server)
#   busy   ~2% "Relaying denied", 1% AUTH failures, 2% successful AUTH, the rest ordinary
#          from=/to= deliveries, the refusals from some 60 clients (a relay-probing campaign)
#   10%    ~10% refusals, from many clients
# For each: generates a synthetic sendmail mail.log (default 1 GiB; one at a time, deleted
# after), writes it back to disk (sync) and puts it in the page cache, then times, in $RUNS
# rounds of one run of each in turn (so that a slow minute on a shared machine slows all three,
# not just the one that happened to run then):
#   smtpauth-wizard relay-report --log FILE --format json
#   grep -c 'Relaying denied' FILE
#   the report again pinned to one core (taskset -c 0)
# checks that the two reports are the same, and prints the median and best times, the ratios of
# the medians (targets: <= 0.5 with two cores, <= 1.0 on one core), the report's peak RSS
# (target < 32 MiB, "Maximum resident set size" of /usr/bin/time -v) and the median CPU time
# (user + system) of each with its ratio to grep's: on a loaded machine the wall times say more
# about the load than about the program, CPU time much less so. The output goes to a file, not
# /dev/null: GNU grep notices /dev/null and stops at the first match. The load average is
# printed with each row: on a shared machine the times are only as good as that.
#
# With JOURNAL_MB=N (and systemd-journal-remote installed), also: the first N MB of the busy
# log as a real journal (systemd-journal-remote), read with `relay-report --journal-dir`, and
# `journalctl` alone on it, both given per GiB of log text.
#
# Usage: benches/relay_report.sh [BYTES]   env: RUNS (5), MIXES ("quiet busy 10%"), JOURNAL_MB,
#                                               TMPDIR, CARGO_TARGET_DIR
set -euo pipefail

cd "$(dirname "$0")/.."
size=${1:-$((1 << 30))}
runs=${RUNS:-5}
mixes=${MIXES:-quiet busy 10%}
target=${CARGO_TARGET_DIR:-target}

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (package 'time') for peak RSS" >&2
    apt-get install -y -q time >/dev/null
fi

cargo build --release -q
cargo build --release -q --example gen_maillog

work=$(mktemp -d "${TMPDIR:-/tmp}/relay-report-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
log=$work/mail.log
bin=$target/release/smtpauth-wizard

# One run of "$@" (standard output to the file $1, shifted off): prints "microseconds
# peak_rss_kib cpu_microseconds" (CPU: user + system time of all its threads, from GNU time;
# less disturbed by other load than the wall time). The previous run's output is removed before
# the clock starts: the redirection truncating it inside the timing charged the report (8 MB of
# JSON at 10%) 5 ms of freeing page cache per run, and grep (one line) nothing.
measure() {
    local out=$1 start end
    shift
    rm -f "$out"
    start=$(date +%s%N)
    /usr/bin/time -v -o "$work/time" "$@" >"$out"
    end=$(date +%s%N)
    echo "$(((end - start) / 1000)) $(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")" \
        "$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1e6}' "$work/time")"
}

median() { sort -n | awk '{ t[NR] = $1 } END { printf "%d", (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }

# "median_us best_us max_rss median_cpu_us" of runs whose times and CPU times are in the arrays
# named $1 and $2, and whose highest peak RSS is $3.
summary() {
    local -n ts=$1 cs=$2
    echo "$(printf '%s\n' "${ts[@]}" | median) $(printf '%s\n' "${ts[@]}" | sort -n | head -n1) $3" \
        "$(printf '%s\n' "${cs[@]}" | median)"
}

# Median and best time, highest RSS and median CPU time of $runs runs of "$@" in a row (output
# in $work/out): "median_us best_us max_rss median_cpu_us".
stats() {
    local us rss cpu i max_rss=0 times=() cpus=()
    for ((i = 0; i < runs; i++)); do
        read -r us rss cpu < <(measure "$work/out" "$@")
        times+=("$us")
        cpus+=("$cpu")
        if [ "$rss" -gt "$max_rss" ]; then max_rss=$rss; fi
    done
    summary times cpus "$max_rss"
}

# The three commands of a row, $runs rounds of one run each in turn (report on all cores, grep,
# report on one core), so that a slow minute on a shared machine slows all three alike rather
# than one of them. Prints one line per command: "median_us best_us max_rss median_cpu_us".
rounds() {
    local i k us rss cpu
    local -a t0 t1 t2 c0 c1 c2
    local r0=0 r1=0 r2=0
    for ((i = 0; i < runs; i++)); do
        for k in 0 1 2; do
            case $k in
                0) read -r us rss cpu < <(measure "$work/out-report" "$bin" relay-report --log "$log" --format json) ;;
                1) read -r us rss cpu < <(measure "$work/out-grep" grep -c 'Relaying denied' "$log") ;;
                2) read -r us rss cpu < <(measure "$work/out-one" taskset -c 0 "$bin" relay-report --log "$log" --format json) ;;
            esac
            local -n t=t$k c=c$k r=r$k
            t+=("$us")
            c+=("$cpu")
            if [ "$rss" -gt "$r" ]; then r=$rss; fi
            unset -n t c r
        done
    done
    summary t0 c0 "$r0"
    summary t1 c1 "$r1"
    summary t2 c2 "$r2"
}

secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
verdict() { if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo met; else echo "NOT met"; fi; }

printf '%s cores; %s runs each; times are medians (best in brackets)\n' "$(nproc)" "$runs"
printf '| density | lines | refusals | relay-report | grep -c | ratio (<= 0.5) | one core | ratio (<= 1.0) | peak RSS (< 32 MiB) | CPU: report / grep / one core | CPU ratios | load |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
mismatch=0
for mix in $mixes; do
    case $mix in
        quiet) arg=0.001 ;;
        busy) arg=busy ;;
        10%) arg=0.1 ;;
        *) arg=$mix ;;
    esac
    "$target/release/examples/gen_maillog" "$log" "$size" "$arg" 2>/dev/null
    # Written back before timing: a log just generated is 1 GiB of dirty pages, and reading it
    # while it is dirty (or while the kernel writes it back) made the two-core report up to
    # 40% slower (quiet log: 0.22-0.30 s dirty, 0.21-0.22 s after sync; grep unchanged). A real
    # log is clean but for its last few seconds.
    sync "$log"
    cat "$log" >/dev/null # the file in the page cache for all
    {
        read -r r_med r_best r_rss r_cpu
        read -r g_med g_best _ g_cpu
        read -r s_med s_best _ s_cpu
    } < <(rounds)
    denied=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["relay_denied"])' "$work/out-report")
    lines=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lines_read"])' "$work/out-report")
    grep_count=$(cat "$work/out-grep")
    if ! cmp -s "$work/out-report" "$work/out-one"; then
        echo "MISMATCH ($mix): the report on one core differs from the one on all cores" >&2
        mismatch=1
    fi
    r2=$(ratio "$r_med" "$g_med")
    r1=$(ratio "$s_med" "$g_med")
    rss=$(awk -v k="$r_rss" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '| %s | %s | %s (%.1f%%) | %s s (%s) | %s s (%s) | %s %s | %s s (%s) | %s %s | %s MiB %s | %s / %s / %s s | %s / %s | %s |\n' \
        "$mix" "$lines" "$denied" "$(awk -v d="$denied" -v l="$lines" 'BEGIN { print 100 * d / l }')" \
        "$(secs "$r_med")" "$(secs "$r_best")" "$(secs "$g_med")" "$(secs "$g_best")" \
        "$r2" "$(verdict "$r2" 0.5)" "$(secs "$s_med")" "$(secs "$s_best")" "$r1" "$(verdict "$r1" 1.0)" \
        "$rss" "$(verdict "$rss" 31.99)" "$(secs "$r_cpu")" "$(secs "$g_cpu")" "$(secs "$s_cpu")" \
        "$(ratio "$r_cpu" "$g_cpu")" "$(ratio "$s_cpu" "$g_cpu")" "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$denied" != "$grep_count" ]; then
        echo "MISMATCH ($mix): the report counted $denied refusals, grep $grep_count lines" >&2
        mismatch=1
    fi
    if [ "$mix" = busy ] && [ -n "${JOURNAL_MB:-}" ]; then
        remote=$(ls /lib/systemd/systemd-journal-remote /usr/lib/systemd/systemd-journal-remote 2>/dev/null | head -n1)
        jdir=$work/journal
        mkdir -p "$jdir"
        head -c "$((JOURNAL_MB * 1000000))" "$log" | python3 benches/syslog_to_journal.py | "$remote" --output="$jdir/system.journal" - 2>/dev/null
        text=$((JOURNAL_MB * 1000000))
        read -r j_med j_best j_rss < <(stats "$bin" relay-report --journal-dir "$jdir" --format json)
        jd=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["relay_denied"])' "$work/out")
        read -r c_med _ _ < <(stats journalctl --directory "$jdir" --quiet --no-pager --output=short-iso -t sm-mta -t sendmail -t saslauthd)
        per_gib() { awk -v us="$1" -v b="$text" 'BEGIN { printf "%.1f", us / 1e6 * 1073741824 / b }'; }
        printf '\njournal: %s MB of the busy log as a journal (%s MiB of journal files), %s refusals\n' \
            "$JOURNAL_MB" "$(du -sm "$jdir" | cut -f1)" "$jd"
        printf '  relay-report --journal-dir: %s s median = %s s per GiB of log text; peak RSS %s MiB\n' \
            "$(secs "$j_med")" "$(per_gib "$j_med")" "$(awk -v k="$j_rss" 'BEGIN { printf "%.1f", k / 1024 }')"
        printf '  journalctl alone:           %s s median = %s s per GiB of log text\n\n' \
            "$(secs "$c_med")" "$(per_gib "$c_med")"
        rm -rf "$jdir"
    fi
    rm -f "$log"
done
exit "$mismatch"
