#!/usr/bin/env bash
# check-skips.sh -- fail when ctest skipped a test that was meant to run.
#
#   scripts/check-skips.sh [--allow NAME]... CTEST_OUTPUT TEST_DIR
#
# CTEST_OUTPUT is what a ctest run printed; TEST_DIR the directory it ran in (its
# Testing/Temporary/LastTest.log holds each test's output).  A test that exits 77 is reported by
# ctest as "Skipped" (SKIP_RETURN_CODE, tests/CMakeLists.txt) and not as a failure, so a missing
# peer would otherwise pass CI unseen.  Every skipped test must be named with --allow (a test
# that legitimately cannot run there); for any other, this prints its name and the lines its
# output gave as the reason, and exits 1.  scripts/test.sh runs it after each ctest run;
# tests/packaging/skipcheck.test.sh tests it.
set -euo pipefail

allow=()
while [ $# -gt 0 ]; do
    case $1 in
    --allow)
        allow+=("$2")
        shift 2
        ;;
    *) break ;;
    esac
done
if [ $# -ne 2 ]; then
    echo "usage: $0 [--allow NAME]... CTEST_OUTPUT TEST_DIR" >&2
    exit 2
fi
out=$1
log=$2/Testing/Temporary/LastTest.log
[ -r "$out" ] || { echo "check-skips: cannot read $out" >&2; exit 2; }

# ctest ends with "The following tests did not run:" and lines "<tab> 17 - name (Skipped)".
skipped=$(sed -n 's/^[[:space:]]*[0-9][0-9]* - \(.*\) (Skipped)[[:space:]]*$/\1/p' "$out" | sort -u)

# reason NAME: the lines of the test's output that say why it skipped (all of it when short).
reason() {
    [ -r "$log" ] || { echo "(no $log)"; return; }
    awk -v t="$1" '
        $0 ~ "^[0-9]+/[0-9]+ Test: " t "$" { on = 1; next }
        on && /^<end of output>/ { exit }
        on && out { print }
        on && /^Output:/ { getline; out = 1 }
    ' "$log" >"$log.reason.$$" || true
    if grep -qi 'skip' "$log.reason.$$"; then
        grep -i 'skip' "$log.reason.$$" | head -n 5
    else
        tail -n 5 "$log.reason.$$"
    fi
    rm -f "$log.reason.$$"
}

bad=0
for t in $skipped; do
    ok=0
    for a in "${allow[@]}"; do
        [ "$t" = "$a" ] && ok=1
    done
    if [ "$ok" = 1 ]; then
        echo "check-skips: $t skipped (allowed here)"
    else
        echo "check-skips: FAIL: $t was skipped but is meant to run here; its output says:"
        reason "$t" | sed 's/^/    /'
        bad=1
    fi
done
if [ "$bad" = 0 ]; then
    echo "check-skips: $(echo "$skipped" | grep -c . || true) skipped, every one allowed"
fi
exit "$bad"
