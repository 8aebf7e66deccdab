#!/usr/bin/env bash
# Runs one fuzz target (or all four, one after the other) for SECONDS each (default 600),
# starting from the corpus seed.sh builds. Needs cargo-fuzz (`cargo install cargo-fuzz`) and a
# nightly toolchain, or a stable one with RUSTC_BOOTSTRAP=1 (set here if unset).
# Usage: tests/fuzz/run.sh [TARGET|all] [SECONDS]
# FUZZ_SANITIZER=none runs without AddressSanitizer (several times faster; the mc editor is safe
# Rust, but the YAML parser under the journal and profile loaders is not, so keep it there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${1:-all}
secs=${2:-600}
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}
[ -d "$here/corpus" ] || "$here/seed.sh"
if [ "$target" = all ]; then
  set -- mc_editor smtp_reply journal_load profile_load
else
  set -- "$target"
fi
cd "$repo"
for t in "$@"; do
  echo "== $t for $secs s"
  nice -n 19 cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" --fuzz-dir tests/fuzz "$t" \
    -- -max_total_time="$secs" -print_final_stats=1
done
