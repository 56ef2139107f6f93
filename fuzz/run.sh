#!/usr/bin/env bash
# Fuzzes each cargo-fuzz target for a bounded time and fails if any of them crashes.
#
#   fuzz/run.sh          # 60 s per target
#   fuzz/run.sh 300      # 300 s per target
#
# Runs on a stable toolchain: `-s none` builds libFuzzer's coverage instrumentation without a
# sanitizer (the code is safe Rust; a panic, an overflow in debug-assertion builds, a
# timeout or memory blow-up are what it finds). Corpora grow under fuzz/corpus/<target>/
# (only the seed-* files are committed); a crashing input is saved under
# fuzz/artifacts/<target>/ and must become a regression test in the crate that owns the code.
set -uo pipefail
cd "$(dirname "$0")"
each=${1:-60}
targets=(authorize_request token_request inbound_assertion device_jwk apply_document change_payload forwarded)

cargo fuzz build -s none || exit 1
failed=()
for t in "${targets[@]}"; do
  echo "== $t: ${each} s"
  mkdir -p "corpus/$t"
  log=$(mktemp)
  if ! cargo fuzz run -s none "$t" -- -max_total_time="$each" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    failed+=("$t")
    grep -E -A20 'panicked|deadly signal|ERROR: libFuzzer' "$log" | head -40
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz/run.sh: no crashes"
