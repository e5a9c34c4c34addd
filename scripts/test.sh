#!/usr/bin/env bash
# Every test: install what is missing, build with warnings as errors, run the whole ctest suite
# (unit, in-memory handshakes, hostile peers, load, interop with OpenSSL/GnuTLS/curl), the C test
# binaries again under valgrind memcheck, the fuzz corpora replayed and a short fuzz of every target
# (scripts/fuzz-ci.sh), then the same suite again built with AddressSanitizer +
# UndefinedBehaviorSanitizer (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== build (gcc, -Werror)"
scripts/build.sh build
echo "== tests"
(cd build && ctest -j"$jobs" --output-on-failure)

echo "== valgrind memcheck (every C test binary of the gcc build)"
scripts/valgrind.sh build
echo "== fuzz targets (clang, libFuzzer + ASan + UBSan): replay every corpus, short fuzz"
scripts/fuzz-ci.sh

echo "== benchmark, short mode (mtls vs OpenSSL; figures only, no timing assertions)"
bench/run --quick --json build/bench-quick.json | tail -n 25

echo "== build (clang, ASan + UBSan)"
CC=clang scripts/build.sh build-asan -DMTLS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -j"$jobs" --output-on-failure)
