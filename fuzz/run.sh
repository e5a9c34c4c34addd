#!/usr/bin/env bash
# fuzz/run.sh -- build the libFuzzer targets and run them.
#   fuzz/run.sh --replay          every target runs each input of its corpus once (CI)
#   fuzz/run.sh --fuzz SECONDS    then fuzz each target for SECONDS (one at a time, nice 19)
#   options: --build DIR (default build-fuzz), --only NAME (one target), --gen (rewrite seeds)
# New inputs go to DIR/corpus-work/<target> (not the checked-in seeds); a crash leaves its input
# in DIR/artifacts/ and fails the run: copy it to fuzz/corpus/<target>/ as a regression input.
# Prints per target: inputs, executions, coverage (libFuzzer's cov: edges / ft: features) and
# CPU seconds; the last line is a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=replay secs=0 dir=build-fuzz only="" gen=0
while [ $# -gt 0 ]; do
  case "$1" in
    --replay) mode=replay ;;
    --fuzz) mode=fuzz; secs=${2:?seconds}; shift ;;
    --build) dir=${2:?dir}; shift ;;
    --only) only=${2:?name}; shift ;;
    --gen) gen=1 ;;
    *) echo "usage: $0 [--replay | --fuzz SECONDS] [--build DIR] [--only NAME] [--gen]" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTLS_WERROR=ON \
        -DMTLS_FUZZ=ON -DMTLS_BUILD_TESTS=OFF -DMTLS_BUILD_TOOLS=OFF -DMTLS_BUILD_EXAMPLES=OFF \
        -DMTLS_INSTALL=OFF >/dev/null
fi
cmake --build "$dir" -j"$(nproc)" >/dev/null
fz="$dir/fuzz"
if [ "$gen" = 1 ]; then
  "$fz/gen_corpus" fuzz/corpus
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/artifacts" "$dir/logs"
# CPU seconds (user + system) used so far by this shell's finished children (bash's `times`).
# Sets $CPU; must run in this shell (not in $(...), where `times` sees only the subshell).
children_cpu() {
  times >"$dir/logs/.times"
  CPU=$(tail -1 "$dir/logs/.times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m");
                                             sub("s", "", a[2]); s += a[1] * 60 + a[2] }
                                           printf "%.2f", s }')
}
pass=0 fail=0 total_cpu=0
# The recordings the stateful targets replay must still replay to the end with this library,
# else those targets and their seeds stop short of what they are meant to reach.
if [ -x "$fz/gen_corpus" ] && [ -z "$only" ]; then
  if "$fz/gen_corpus" --check >"$dir/logs/recordings.log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL recordings: $(tail -1 "$dir/logs/recordings.log")" >&2
  fi
fi
printf '%-32s %7s %10s %7s %7s %8s\n' target inputs execs cov ft cpu_s
while read -r t; do
  [ -n "$t" ] || continue
  [ -z "$only" ] || [ "$only" = "$t" ] || continue
  seeds="fuzz/corpus/$t"
  [ -d "$seeds" ] || { echo "$t: no corpus at $seeds" >&2; fail=$((fail + 1)); continue; }
  log="$dir/logs/$t.$mode.log"
  args=(-print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" -timeout=25 -rss_limit_mb=2048)
  if [ "$mode" = replay ]; then
    # the files one by one: libFuzzer runs each once and writes nothing into the seeds
    mapfile -t files < <(find "$seeds" -maxdepth 1 -type f | sort)
    args+=("${files[@]}")
  else
    work="$dir/corpus-work/$t"
    mkdir -p "$work"
    args+=(-max_total_time="$secs" "$work" "$seeds")
  fi
  rc=0
  children_cpu
  before=$CPU
  nice -n 19 "$fz/fuzz_$t" "${args[@]}" >"$log" 2>&1 || rc=$?
  children_cpu
  cpu=$(awk -v a="$before" -v b="$CPU" 'BEGIN{printf "%.1f", b-a}')
  total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN{printf "%.1f", a+b}')
  line=$(grep -E '^#[0-9]+.*(INITED|DONE|pulse)' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line"); ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  inputs=$(ls "$seeds" | wc -l)
  [ "$mode" = fuzz ] || cov=- ft=-
  printf '%-32s %7s %10s %7s %7s %8s\n' "$t" "$inputs" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$cpu"
  if [ "$rc" != 0 ]; then
    fail=$((fail + 1))
    echo "FAIL $t (exit $rc): see $log" >&2
    grep -E 'ERROR|SUMMARY|Test unit written|runtime error' "$log" | head -5 >&2 || true
  else
    pass=$((pass + 1))
  fi
done <"$fz/targets.txt"
# Crash reproducers of bugs not fixed yet live in fuzz/regressions/<target>/ (outside the corpus,
# so that fuzzing is not stopped by them at startup).  Each is replayed: one still listed as open
# in fuzz/FINDINGS.md is an expected failure (MTLS_STRICT=1 fails on it); a fixed one says so and
# belongs in fuzz/corpus/<target>/ from then on.
xfail=0
for f in fuzz/regressions/*/*; do
  [ -f "$f" ] || continue
  t=$(basename "$(dirname "$f")") name=$(basename "$f")
  [ -z "$only" ] || [ "$only" = "$t" ] || continue
  if MTLS_FUZZ_NO_WORKAROUNDS=1 nice -n 19 "$fz/fuzz_$t" -runs=1 "$f" >"$dir/logs/regression-$name.log" 2>&1; then
    echo "regression $t/$name: passes now (fixed): move it to fuzz/corpus/$t/ and close it in fuzz/FINDINGS.md"
  elif [ -z "${MTLS_STRICT:-}" ] && grep -q "OPEN.*$name" fuzz/FINDINGS.md; then
    echo "regression $t/$name: still crashes (known, open in fuzz/FINDINGS.md)"
    xfail=$((xfail + 1))
  else
    echo "FAIL regression $t/$name: see $dir/logs/regression-$name.log" >&2
    fail=$((fail + 1))
  fi
done
[ "$xfail" = 0 ] || echo "fuzz: $xfail known open finding(s), see fuzz/FINDINGS.md"
echo "fuzz $mode: total CPU ${total_cpu}s ($(awk -v s="$total_cpu" 'BEGIN{printf "%.3f", s/3600}') h)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
