#!/usr/bin/env bash
# Runs the ctest tests of one build tree (docs/testing.md):
#   run-tests.sh [BUILD]          release tree: unit and integration in parallel,
#                                 then e2e (root only; they build their own
#                                 namespaces) with bounded parallelism
#   run-tests.sh --asan BUILD     ASan+UBSan tree (make asan): unit and integration
#   run-tests.sh --tsan BUILD     ThreadSanitizer tree (make tsan): label threaded
# In the sanitizer modes, arguments after BUILD go to ctest, e.g.
#   run-tests.sh --asan build-fuzz -R hbone_integration_test
# Sanitizer reports fail the test that produced them; tests/sanitizers/*.supp
# hold the suppressions (third-party false positives only, each explained).
set -uo pipefail
mode=release
case "${1:-}" in
  --asan) mode=asan; shift ;;
  --tsan) mode=tsan; shift ;;
esac
build="${1:-build}"
[ $# -gt 0 ] && shift
extra=("$@")
if [ "$mode" = release ] && [ ${#extra[@]} -gt 0 ]; then
  echo "run-tests.sh: ctest arguments are for --asan and --tsan only" >&2; exit 2
fi
supp="$(cd "$(dirname "$0")/.." && pwd)/tests/sanitizers"
cd "$build"
jobs="$(nproc)"
rc=0
case "$mode" in
  release)
    ctest -LE e2e -j "$jobs" --output-on-failure --timeout 300 || rc=1
    if [ "$(id -u)" -eq 0 ]; then
      ctest -L e2e -j 2 --output-on-failure --timeout 900 || rc=1
    else
      echo "e2e: SKIPPED — needs root (CI runs as root)"
    fi
    ;;
  asan)
    # A finding ends the process with exit code 1, so its test fails: ASan
    # halts at the first error, UBSan too (built with
    # -fno-sanitize-recover=undefined, and halt_on_error here), LeakSanitizer
    # (part of ASan) reports at exit.
    export ASAN_OPTIONS="halt_on_error=1:exitcode=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0:exitcode=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=1"
    echo "== ASan+UBSan tree ($build): unit and integration tests"
    ctest -L 'unit|integration' -LE source --no-tests=error -j "$jobs" --output-on-failure --timeout 600 \
      "${extra[@]}" || rc=1
    ;;
  tsan)
    # Every race is reported (halt_on_error=0) and the process then exits with
    # 66 instead of its own status, so its test fails.
    export TSAN_OPTIONS="suppressions=$supp/tsan.supp:print_suppressions=0:second_deadlock_stack=1:halt_on_error=0:exitcode=66"
    # TSan needs the fixed memory layout it was built for; kernels with more
    # mmap randomisation bits break it, so run without address randomisation.
    norand=()
    if setarch "$(uname -m)" -R true 2>/dev/null; then norand=(setarch "$(uname -m)" -R); fi
    echo "== ThreadSanitizer tree ($build): tests labelled threaded"
    "${norand[@]}" ctest -L threaded --no-tests=error -j "$jobs" --output-on-failure --timeout 600 \
      "${extra[@]}" || rc=1
    ;;
esac
exit $rc
