#!/usr/bin/env bash
# Fills tests/fuzz/corpus/TARGET/ with real inputs to start the fuzzers from:
#   mc_editor     every sendmail.mc of ../shared/corpus (and its m4 includes), the fixtures' and
#                 the golden (already edited) ones
#   smtp_reply    the replies in seeds/smtp_reply/ (a real sendmail 8.17's greeting, EHLO, AUTH and
#                 relay answers) and the reject texts of ../shared/corpus/logs
#   journal_load  journals written by the real binary: `apply --yes`, then `rollback --yes`, on a
#                 copy of every fixture root (needs m4 and the sendmail cf tree)
#   profile_load  assets/profiles/*.yaml
# Existing corpus files are kept (a corpus only grows). SHARED_CORPUS overrides ../shared/corpus.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${SHARED_CORPUS:-$repo/../shared/corpus}
c=$here/corpus
mkdir -p "$c"/mc_editor "$c"/smtp_reply "$c"/journal_load "$c"/profile_load

cp "$shared"/mc/*.mc "$shared"/other/*.m4 "$c"/mc_editor/
for d in "$repo"/tests/fixtures/*/; do
  n=$(basename "$d")
  cp "$d"etc/mail/sendmail.mc "$c/mc_editor/fixture-$n.mc"
done
for f in "$repo"/tests/golden/*/etc/mail/sendmail.mc; do
  n=$(basename "$(dirname "$(dirname "$(dirname "$f")")")")
  cp "$f" "$c/mc_editor/golden-$n.mc"
done

cp "$here"/seeds/smtp_reply/* "$c"/smtp_reply/
i=0
grep -o 'reject=[0-9].*' "$shared"/logs/*.log | sed 's/^reject=//' | while IFS= read -r l; do
  i=$((i + 1))
  printf '%s\r\n' "$l" > "$c/smtp_reply/log-reject-$i"
done

cp "$repo"/assets/profiles/*.yaml "$c"/profile_load/

printf 'version: 1\nruns: []\n' > "$c"/journal_load/empty.yaml
if [ -f /usr/share/sendmail/cf/m4/cf.m4 ] && command -v m4 >/dev/null; then
  cargo build --quiet --manifest-path "$repo/Cargo.toml" --bin smtpauth-wizard
  bin=${CARGO_TARGET_DIR:-$repo/target}/debug/smtpauth-wizard
  for d in "$repo"/tests/fixtures/*/; do
    n=$(basename "$d")
    t=$(mktemp -d)
    cp -a "$d". "$t"/
    if [ "$n" = debian12 ]; then cf=usr/share/sendmail/cf; else cf=usr/share/sendmail-cf; fi
    mkdir -p "$t/$(dirname "$cf")"
    cp -a /usr/share/sendmail/cf "$t/$cf"
    "$bin" apply --yes --root "$t" >/dev/null 2>&1
    cp "$t"/var/lib/smtpauth-wizard/journal.yaml "$c/journal_load/applied-$n.yaml"
    "$bin" rollback --yes --root "$t" >/dev/null 2>&1
    cp "$t"/var/lib/smtpauth-wizard/journal.yaml "$c/journal_load/rolled-back-$n.yaml"
    rm -rf "$t"
  done
else
  echo "seed.sh: m4 or the sendmail cf tree is missing: journal seeds are only the empty journal" >&2
fi
for t in mc_editor smtp_reply journal_load profile_load; do
  echo "$t: $(ls "$c/$t" | wc -l) files"
done
