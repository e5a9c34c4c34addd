#!/usr/bin/env bash
# fuzz/coverage.sh [CORPUS_DIRS...] -- line and region coverage of src/ reached by the fuzz
# targets: builds them with source-based coverage (build-fuzz-cov/), runs every target once over
# its checked-in seeds and, when present, what fuzzing found (build-fuzz/corpus-work/<target>),
# merges the profiles and prints llvm-cov's report for the library's sources.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-fuzz-cov
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTLS_FUZZ=ON \
        -DMTLS_FUZZ_COVERAGE=ON -DMTLS_BUILD_TESTS=OFF -DMTLS_BUILD_TOOLS=OFF \
        -DMTLS_BUILD_EXAMPLES=OFF -DMTLS_INSTALL=OFF >/dev/null
fi
cmake --build "$dir" -j"$(nproc)" >/dev/null
rm -rf "$dir/prof"
mkdir -p "$dir/prof"
bins=()
while read -r t; do
  [ -n "$t" ] || continue
  dirs=("fuzz/corpus/$t")
  [ -d "build-fuzz/corpus-work/$t" ] && dirs+=("build-fuzz/corpus-work/$t")
  LLVM_PROFILE_FILE="$dir/prof/$t.profraw" nice -n 19 "$dir/fuzz/fuzz_$t" -runs=0 "${dirs[@]}" \
    >"$dir/prof/$t.log" 2>&1 || echo "coverage: $t exited $? (see $dir/prof/$t.log)" >&2
  bins+=("$dir/fuzz/fuzz_$t")
done <"$dir/fuzz/targets.txt"
llvm-profdata merge -sparse "$dir"/prof/*.profraw -o "$dir/prof/all.profdata"
others=()
for b in "${bins[@]:1}"; do others+=(-object "$b"); done
llvm-cov report "${bins[0]}" "${others[@]}" -instr-profile="$dir/prof/all.profdata" \
  "$PWD/src" | tail -n "${COV_LINES:-60}"
