#!/usr/bin/env bash
# Runs each libFuzzer target in the fuzz build for a bounded time, starting from
# its seed corpus in tests/fuzz/corpus/<target>/ (copied to a scratch dir).
set -uo pipefail
build="$1"; seconds="${2:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
passed=0; failed=0
shopt -s nullglob
for bin in "$build"/bin/fuzz_*; do
  name="$(basename "$bin")"
  work="$(mktemp -d)"
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  echo "fuzz: $name for ${seconds}s"
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$work.log" 2>&1; then
    passed=$((passed + 1)); tail -n 3 "$work.log"
  else
    failed=$((failed + 1)); echo "fuzz: $name FAILED"; tail -n 40 "$work.log"
  fi
  rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
