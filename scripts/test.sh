#!/usr/bin/env bash
# Every test: install what is missing, build with warnings as errors, run the whole ctest suite
# (unit, in-memory handshakes, interop with OpenSSL/GnuTLS/curl), then the same suite again built
# with AddressSanitizer + UndefinedBehaviorSanitizer (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== build (gcc, -Werror)"
scripts/build.sh build
echo "== tests"
(cd build && ctest -j"$jobs" --output-on-failure)

echo "== build (clang, ASan + UBSan)"
CC=clang scripts/build.sh build-asan -DMTLS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -j"$jobs" --output-on-failure)
