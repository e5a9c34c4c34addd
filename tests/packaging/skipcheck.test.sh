#!/usr/bin/env bash
# skipcheck.test.sh -- scripts/check-skips.sh, the CI's guard against skipped tests, on a real
# ctest run: a throwaway test directory (a hand-written CTestTestfile.cmake, no configure step)
# with a test that passes, one that skips with exit 77 giving a reason, and one named tlsfuzzer
# that skips too.  The check must fail and name the skipped test and its reason; pass when that
# test is allowed as well; and pass when only allowed tests skipped.
set -euo pipefail
. "$(dirname "$0")/common.sh"

CHECK_SKIPS=$MTLS_SRC_DIR/scripts/check-skips.sh
CTEST=$(dirname "$(cache_get CMAKE_COMMAND)")/ctest
[ -x "$CTEST" ] || CTEST=$(command -v ctest || true)
[ -n "$CTEST" ] || skip "no ctest found beside $(cache_get CMAKE_COMMAND) nor on PATH"

# make_suite DIR SKIP_PEER: a test directory; SKIP_PEER=1 adds the test that skips for a reason.
make_suite() {
    mkdir -p "$1"
    {
        echo 'add_test(good "/bin/sh" "-c" "echo all fine")'
        echo 'add_test(tlsfuzzer "/bin/sh" "-c" "echo SKIPPED: tlsfuzzer trees not found; exit 77")'
        echo 'set_tests_properties(tlsfuzzer PROPERTIES SKIP_RETURN_CODE 77)'
        if [ "$2" = 1 ]; then
            echo 'add_test(peer "/bin/sh" "-c" "echo starting; echo skipped: the-peer-program is not installed; exit 77")'
            echo 'set_tests_properties(peer PROPERTIES SKIP_RETURN_CODE 77)'
        fi
    } >"$1/CTestTestfile.cmake"
    (cd "$1" && "$CTEST" --output-on-failure) >"$1/ctest.out" 2>&1
}

check ctest-with-skips make_suite "$WORK/a" 1
if grep -q 'peer (Skipped)' "$WORK/a/ctest.out"; then
    pass "ctest reports the exit-77 test as Skipped"
else
    fail "ctest did not report the exit-77 test as Skipped:"
    sed 's/^/    /' "$WORK/a/ctest.out"
fi

rc=0
"$CHECK_SKIPS" --allow tlsfuzzer "$WORK/a/ctest.out" "$WORK/a" >"$WORK/check-a.log" 2>&1 || rc=$?
if [ "$rc" = 1 ]; then
    pass "check-skips fails when a test that should run was skipped"
else
    fail "check-skips exit status $rc (want 1) with an unexpected skip; output:"
    sed 's/^/    /' "$WORK/check-a.log"
fi
expect_output check-a 'FAIL: peer was skipped'
expect_output check-a 'the-peer-program is not installed'
expect_output check-a 'tlsfuzzer skipped \(allowed here\)'

check check-allowed "$CHECK_SKIPS" --allow tlsfuzzer --allow peer "$WORK/a/ctest.out" "$WORK/a"
expect_output check-allowed '2 skipped, every one allowed'

check ctest-allowed-only make_suite "$WORK/b" 0
check check-b "$CHECK_SKIPS" --allow tlsfuzzer "$WORK/b/ctest.out" "$WORK/b"
expect_output check-b '1 skipped, every one allowed'

summary
