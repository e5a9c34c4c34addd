#!/usr/bin/env bash
# scripts/valgrind.sh [BUILD_DIR] -- every C test binary of a normal (non-sanitized) build under
# valgrind memcheck: any error, or a definite leak, fails the run.  Shell tests (*.test.sh) are
# skipped.  Runs $VALGRIND_JOBS binaries at once (default: nproc), the slowest first
# (VALGRIND_EXTRA=--track-origins=yes to chase an uninitialised value).  Prints one line per binary
# and an "N passed, N failed" summary last.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
[ -d "$dir/tests" ] || { echo "valgrind: no tests in $dir (build it first: scripts/build.sh $dir)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind: not installed (scripts/deps.sh)" >&2; exit 2; }
logs="$dir/valgrind"
mkdir -p "$logs"
export MTLS_SRC_DIR=$PWD MTLS_BUILD_DIR=$PWD/$dir
# Slowest first (by their size as a rough guide, a known heavy one at the head) so that the jobs
# finish together.
mapfile -t bins < <(find "$dir/tests" -maxdepth 2 -type f -name 'test_*' -perm -u+x \
                      -printf '%s %p\n' | sort -rn | cut -d' ' -f2- |
                      awk '/test_negative$/ {print; next} {rest[n++]=$0} END {for (i=0;i<n;i++) print rest[i]}')
[ "${#bins[@]}" -gt 0 ] || { echo "valgrind: no test binaries under $dir/tests" >&2; exit 2; }

run_one() {
  local bin=$1 name log start rc
  name=$(basename "$bin")
  log="$logs/$name.log"
  start=$(date +%s)
  rc=0
  timeout "${VALGRIND_TIMEOUT:-900}" valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite ${VALGRIND_EXTRA:-} \
    --log-file="$log.vg" "$bin" >"$log" 2>&1 || rc=$?
  if [ "$rc" = 0 ] && [ ! -s "$log.vg" ]; then
    echo "ok    $name ($(( $(date +%s) - start )) s)"
  else
    echo "FAIL  $name (exit $rc, $(( $(date +%s) - start )) s): $log.vg"
    head -30 "$log.vg" | sed 's/^/      /'
    tail -3 "$log" | sed 's/^/      /'
  fi
}
export -f run_one
export logs
results=$(printf '%s\n' "${bins[@]}" | xargs -P "${VALGRIND_JOBS:-$(nproc)}" -I{} bash -c 'run_one {}')
echo "$results"
pass=$(grep -c '^ok' <<<"$results" || true)
fail=$(grep -c '^FAIL' <<<"$results" || true)
echo "valgrind: $pass passed, $fail failed"
[ "$fail" = 0 ]
