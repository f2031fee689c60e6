#!/usr/bin/env bash
# Runs each libFuzzer target in the fuzz build for a bounded time, starting from
# its seed corpus in tests/fuzz/corpus/<target>/ (copied to a scratch dir).
# FUZZ_JOBS targets (default: the number of cores) run at the same time; each
# is one single-threaded process, so the wall time is about
# ceil(targets / FUZZ_JOBS) * seconds.
set -uo pipefail
build="$1"; seconds="${2:-20}"
jobs="${FUZZ_JOBS:-$(nproc)}"
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# fuzz_one NAME BIN: runs one target; its log and status land in $scratch.
fuzz_one() {
  local name="$1" bin="$2" work="$scratch/$1"
  mkdir -p "$work/corpus"
  local seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work/corpus"/
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1; then
    echo 0 >"$work/status"
  else
    echo 1 >"$work/status"
  fi
}

shopt -s nullglob
names=()
running=0
for bin in "$build"/bin/fuzz_*; do
  name="$(basename "$bin")"
  names+=("$name")
  echo "fuzz: $name for ${seconds}s"
  fuzz_one "$name" "$bin" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

passed=0; failed=0
for name in "${names[@]}"; do
  work="$scratch/$name"
  if [ "$(cat "$work/status" 2>/dev/null)" = 0 ]; then
    passed=$((passed + 1)); echo "fuzz: $name passed"; tail -n 3 "$work/log"
  else
    failed=$((failed + 1)); echo "fuzz: $name FAILED"; tail -n 40 "$work/log"
    for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      echo "fuzz: reproducer $(basename "$crash") (base64): $(base64 -w0 "$crash")"
    done
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
