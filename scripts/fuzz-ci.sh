#!/usr/bin/env bash
# scripts/fuzz-ci.sh -- CI's fuzzing stage: build the libFuzzer targets (clang, ASan+UBSan,
# build-fuzz/), replay every corpus once, then fuzz every target for FUZZ_CI_SECONDS (default 5)
# one after the other.  Fails on any crash, leak or sanitizer report (open findings listed in
# fuzz/FINDINGS.md excepted); the last line is fuzz/run.sh's "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${FUZZ_BUILD_DIR:-build-fuzz}
echo "== fuzz: replay every corpus"
fuzz/run.sh --replay --build "$dir"
secs=${FUZZ_CI_SECONDS:-5}
if [ "$secs" -gt 0 ]; then
  echo "== fuzz: ${secs} s per target"
  fuzz/run.sh --fuzz "$secs" --build "$dir"
fi
