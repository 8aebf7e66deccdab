#!/usr/bin/env bash
# The relay report read from the systemd journal, per GiB, beside the same log read as a file
# (issue 12 item 5). Generates the "busy" mix of benches/relay_report.sh (about 2% "Relaying
# denied", 1% AUTH failures, 2% successful AUTH, from some 60 clients) as a syslog file of
# MB megabytes (default 300), writes it as a real journal with systemd-journal-remote (one
# entry per line, identifier and pid from the syslog tag, a millisecond apart), puts both in
# the page cache, then times, $RUNS times each, in the same run:
#   journal:  smtpauth-wizard relay-report --journal-dir DIR --format json
#             journalctl -D DIR -o short-iso | grep -c 'Relaying denied'
#   file:     smtpauth-wizard relay-report --log FILE --format json
#             grep -c 'Relaying denied' FILE
# and prints the medians (best in brackets), each extrapolated to one GiB of journal files
# (the journal rows) or of log text (the file rows), and the ratios report / (journalctl |
# grep) and report / grep. Output goes to files, not /dev/null (GNU grep stops at the first
# match on /dev/null). The counts of the report and of grep must agree, else it exits 1.
# The load average is printed: on a shared machine the times are only as good as that.
#
# Usage: benches/relay_report_journal.sh [MB]   env: RUNS (3), TMPDIR, CARGO_TARGET_DIR
# Needs systemd-journal-remote and journalctl (package systemd-journal-remote), python3.
set -euo pipefail

cd "$(dirname "$0")/.."
mb=${1:-300}
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-target}
remote=$(ls /lib/systemd/systemd-journal-remote /usr/lib/systemd/systemd-journal-remote 2>/dev/null | head -n1 || true)
[ -n "$remote" ] || { echo "systemd-journal-remote is not installed (apt-get install systemd-journal-remote)" >&2; exit 2; }
command -v journalctl > /dev/null || { echo "journalctl is not installed" >&2; exit 2; }

cargo build --release -q --bin smtpauth-wizard --example gen_maillog
bin=$target/release/smtpauth-wizard

work=$(mktemp -d "${TMPDIR:-/tmp}/relay-report-journal-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
log=$work/mail.log
jdir=$work/journal
mkdir -p "$jdir"

echo "generating $mb MB of the busy mix and writing it as a journal..." >&2
"$target/release/examples/gen_maillog" "$log" "$((mb * 1000000))" busy 2>/dev/null
python3 benches/syslog_to_journal.py < "$log" | "$remote" --output="$jdir/system.journal" - 2>/dev/null
text_bytes=$(stat -c %s "$log")
journal_bytes=$(du -sb "$jdir" | cut -f1)
cat "$log" "$jdir"/* > /dev/null # in the page cache for all

# One run of "$@" with stdout to $work/out: microseconds.
measure() {
    local start end
    start=$(date +%s%N)
    "$@" > "$work/out"
    end=$(date +%s%N)
    echo $(((end - start) / 1000))
}
# Median and best of $runs runs: "median_us best_us"; the last run's output stays in $work/out.
stats() {
    local i times=()
    for ((i = 0; i < runs; i++)); do times+=("$(measure "$@")"); done
    printf '%s\n' "${times[@]}" | sort -n | awk '
        { t[NR] = $1 } END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2;
                             printf "%d %d\n", m, t[1] }'
}
denied() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["relay_denied"])' "$work/out"; }
per_gib() { awk -v us="$1" -v b="$2" 'BEGIN { printf "%.2f", us / 1e6 * 1073741824 / b }'; }
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
journal_grep() { journalctl -D "$jdir" -o short-iso --no-pager | grep -c 'Relaying denied'; }

read -r jr_med jr_best < <(stats "$bin" relay-report --journal-dir "$jdir" --format json)
jr_denied=$(denied)
read -r jg_med jg_best < <(stats journal_grep)
jg_count=$(cat "$work/out")
read -r fr_med fr_best < <(stats "$bin" relay-report --log "$log" --format json)
fr_denied=$(denied)
read -r fg_med fg_best < <(stats grep -c 'Relaying denied' "$log")
fg_count=$(cat "$work/out")

printf '%s cores; %s runs each; medians (best in brackets); load %s\n' "$(nproc)" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'busy mix: %s lines, %s MB of log text, %s MB of journal files (%s), %s refusals\n\n' \
    "$(wc -l < "$log")" "$((text_bytes / 1000000))" "$((journal_bytes / 1000000))" \
    "$(ls "$jdir" | wc -l) file(s)" "$jr_denied"
printf '| source | relay-report | per GiB | baseline | per GiB | ratio |\n|---|---|---|---|---|---|\n'
printf '| journal (per GiB of journal files) | %s s (%s) | %s s | journalctl -o short-iso \\| grep -c: %s s (%s) | %s s | %s |\n' \
    "$(secs "$jr_med")" "$(secs "$jr_best")" "$(per_gib "$jr_med" "$journal_bytes")" \
    "$(secs "$jg_med")" "$(secs "$jg_best")" "$(per_gib "$jg_med" "$journal_bytes")" "$(ratio "$jr_med" "$jg_med")"
printf '| journal (per GiB of the same log text) | | %s s | | %s s | |\n' \
    "$(per_gib "$jr_med" "$text_bytes")" "$(per_gib "$jg_med" "$text_bytes")"
printf '| file (per GiB of log text) | %s s (%s) | %s s | grep -c: %s s (%s) | %s s | %s |\n' \
    "$(secs "$fr_med")" "$(secs "$fr_best")" "$(per_gib "$fr_med" "$text_bytes")" \
    "$(secs "$fg_med")" "$(secs "$fg_best")" "$(per_gib "$fg_med" "$text_bytes")" "$(ratio "$fr_med" "$fg_med")"
printf '\njournal / file, relay-report: %s x the time for the same events\n' "$(ratio "$jr_med" "$fr_med")"
rc=0
for pair in "journal report:$jr_denied" "journalctl|grep:$jg_count" "file report:$fr_denied" "grep:$fg_count"; do
    [ "${pair#*:}" = "$fg_count" ] || { echo "MISMATCH: ${pair%%:*} counted ${pair#*:}, grep -c on the file $fg_count" >&2; rc=1; }
done
exit "$rc"
