#!/usr/bin/env bash
# tlsfuzzer.test.sh -- tlsfuzzer's conformance scripts against `mtls server` on loopback.
#
# tlsfuzzer (github.com/tlsfuzzer/tlsfuzzer, with tlslite-ng) is the suite OpenSSL, GnuTLS and NSS
# run.  It is not packaged for Debian and PyPI is out of reach, so this test runs only where the two
# source trees are present:
#
#   MTLS_TLSFUZZER_DIR   a directory holding tlsfuzzer/ and tlslite-ng/ (default: ../tlsf beside
#                        the source tree); python3-ecdsa from Debian
#
# and reports itself SKIPPED (exit 77, ctest's SKIP_RETURN_CODE) where they are not.
#
# What runs is tests/conformance/tlsfuzzer.list: one line per script,
#   PROFILE SCRIPT ARGS...
# PROFILE names the server setup (see `profile` below).  ARGS are split as the shell would split
# them, so a probe name with spaces is quoted ("huge hello").  SCRIPT written aead:NAME runs NAME
# through tests/conformance/aead.py, which gives a script that offers only CBC suites the AEAD
# suite with the same key exchange (mtls has no CBC; docs/NOT-SUPPORTED.md).  A script passes
# when it exits 0; probes we fail on purpose are passed with tlsfuzzer's own -x/-X (expected
# failure, with the message), and each such line carries a comment giving the RFC section.  Ends with a table and "N passed, N
# failed".  TLSFUZZER_ONLY=REGEX runs the matching lines only; VERBOSE=1 shows every script's tail.
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/interop/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
TF=${MTLS_TLSFUZZER_DIR:-$SRC/../tlsf}
LIST=${TLSFUZZER_LIST:-$SRC/tests/conformance/tlsfuzzer.list}

if [ ! -f "$TF/tlsfuzzer/scripts/test-conversation.py" ] || [ ! -d "$TF/tlslite-ng/tlslite" ]; then
    echo "SKIPPED: tlsfuzzer trees not found under $TF (set MTLS_TLSFUZZER_DIR; see the header)"
    exit 77
fi
if ! /usr/bin/python3 -c 'import ecdsa' 2>/dev/null; then
    echo "SKIPPED: python3-ecdsa is not installed (apt-get install -y python3-ecdsa)"
    exit 77
fi
[ -x "$MTLS" ] || { echo "FAIL: $MTLS not built"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-tlsfuzzer.XXXXXX")
PIDS=()
trap lib_cleanup EXIT
trap 'exit 130' INT TERM
sh "$SRC/tests/pki/make-pki.sh" "$W/pki" >/dev/null 2>&1

# profile NAME: the server arguments for NAME
profile() {
    local p=$W/pki
    case $1 in
    rsa) echo "--cert $p/good.crt --key $p/good.key" ;;
    ecdsa) echo "--cert $p/ecdsa256.crt --key $p/ecdsa256.key" ;;
    rsa-require) echo "--cert $p/good.crt --key $p/good.key --ca $p/ca.crt --verify-client require" ;;
    rsa-optional) echo "--cert $p/good.crt --key $p/good.key --ca $p/ca.crt --verify-client optional" ;;
    rsa-alpn) echo "--cert $p/good.crt --key $p/good.key --alpn http/1.1,h2" ;;
    *) echo "unknown profile $1" >&2; return 1 ;;
    esac
}

PASS=0 FAIL=0
TABLE=()
CUR_PROFILE=
while read -r prof script args; do
    case $prof in ''|'#'*) continue ;; esac
    args=${args%%#*}
    line="$prof $script $args"
    if [ -n "${TLSFUZZER_ONLY:-}" ] && ! [[ $line =~ $TLSFUZZER_ONLY ]]; then continue; fi
    if [ "$prof" != "$CUR_PROFILE" ]; then
        [ -n "${LISTEN_PID:-}" ] && { kill "$LISTEN_PID" 2>/dev/null || true; wait "$LISTEN_PID" 2>/dev/null || true; }
        # shellcheck disable=SC2046
        mtls_listen "$W/server-$prof.log" 3600 $(profile "$prof") --http -q --timeout 10 ||
            { echo "FAIL: mtls server ($prof) did not start"; show_log "$W/server-$prof.log"; exit 1; }
        CUR_PROFILE=$prof
    fi
    out=$W/$(basename "${script#aead:}" .py)-$PASS-$FAIL.log
    run=("scripts/$script")
    [ "${script#aead:}" != "$script" ] && run=("$SRC/tests/conformance/aead.py" "scripts/${script#aead:}")
    eval "argv=($args)" # the list is ours: quotes group a probe name with spaces
    st=0
    (cd "$TF/tlsfuzzer" && timeout 900 env PYTHONPATH="$TF/tlsfuzzer:$TF/tlslite-ng" \
        /usr/bin/python3 "${run[@]}" -h 127.0.0.1 -p "$LISTEN_PORT" "${argv[@]}") >"$out" 2>&1 || st=$?
    summary=$(grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP): ' "$out" | tr '\n' ' ')
    if [ $st -eq 0 ]; then
        PASS=$((PASS + 1)); TABLE+=("ok    $prof $script  $summary")
        [ "${VERBOSE:-0}" = 1 ] && TAIL=20 show_log "$out"
    else
        FAIL=$((FAIL + 1)); TABLE+=("FAIL  $prof $script (exit $st)  $summary")
        echo "FAIL: $line"
        sed -n '/^FAILED:/,$p' "$out" | head -n 30 | sed 's/^/    /'
        TAIL=15 show_log "$out" "$W/server-$prof.log"
    fi
done < "$LIST"

printf '%s\n' "${TABLE[@]}"
echo "tlsfuzzer: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
