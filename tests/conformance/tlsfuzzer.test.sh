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
# What runs is tests/conformance/tlsfuzzer.list: one entry per script run,
#   PROFILE SCRIPT ARGS...
# on a line that starts in column 1 and the indented lines after it.  PROFILE names the server
# setup (see `profile` below).  SCRIPT written aead:SCRIPT runs through tlsfuzzer-aead.py, which
# gives a script that hard-codes CBC suites the GCM suite instead (see that file).  ARGS are split
# like shell words: a probe name with spaces is quoted ('-x "probe name" -X "message"'), a word
# starting with # begins a comment, and $PKI is the test PKI of the run ($PKI/client.key).  A
# script passes when it exits 0; probes we fail on purpose are passed with tlsfuzzer's own -x/-X
# (expected failure, with the message) or -e (not run), each with a comment giving the reason and
# the RFC section.  Ends with a table (seconds and tlsfuzzer's counts per entry) and "N passed, N
# failed".  TLSFUZZER_ONLY=REGEX runs the matching entries only; VERBOSE=1 shows every script's
# tail; KEEP=1 keeps the logs.  docs/CONFORMANCE.md has the results and every exception.
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
# The revocation PKI (an RSA leaf with a fresh OCSP response, made by `openssl ocsp`) for rsa-ocsp.
sh "$SRC/tests/pki/make-revocation.sh" "$W/rev" >/dev/null 2>&1
# tlsfuzzer's -c sends only the first certificate of its file (the leaf), so the client-certificate
# profiles trust the test PKI's intermediate as well as its root.
cat "$W/pki/ca.crt" "$W/pki/int.crt" > "$W/pki/ca-int.crt"
# The client key and chains the list passes with -k/-c: $PKI/client.key and so on.
# shellcheck disable=SC2034  # (read by the eval below)
PKI=$W/pki

# profile NAME: the server arguments for NAME
profile() {
    local p=$W/pki
    local rsa="--cert $p/good.crt --key $p/good.key"
    case $1 in
    rsa) echo "$rsa --http" ;;
    ecdsa) echo "--cert $p/ecdsa256.crt --key $p/ecdsa256.key --http" ;;
    rsa-require) echo "$rsa --ca $p/ca-int.crt --verify-client require --http" ;;
    rsa-optional) echo "$rsa --ca $p/ca-int.crt --verify-client optional --http" ;;
    rsa-alpn) echo "$rsa --alpn h2,http/1.1 --http" ;; # two protocols, for ALPN changes
    rsa-echo) echo "$rsa --echo" ;;                     # echoes what it reads (test-lengths)
    rsa-ems) echo "$rsa --require-ems --http" ;;        # refuses clients without EMS
    rsa-ocsp) echo "--cert $W/rev/goodrsa.crt --key $W/rev/goodrsa.key --ocsp-staple $W/rev/ocsp-goodrsa.der --http" ;;
    # asks nothing in the handshake; GET /secret gets a post-handshake CertificateRequest first
    rsa-pha) echo "$rsa --ca $p/ca-int.crt --http --post-auth /secret" ;;
    *) echo "unknown profile $1" >&2; return 1 ;;
    esac
}

# The entries of the list: a line that starts in column 1 (not with #) and the indented lines
# after it, joined by newlines (a trailing \ on a line is dropped).
ENTRIES=()
cur=
while IFS= read -r l || [ -n "$l" ]; do
    l=${l%\\}
    if [[ $l =~ ^[[:space:]] ]]; then
        [ -n "$cur" ] && cur+=$'\n'$l
        continue
    fi
    [ -n "$cur" ] && ENTRIES+=("$cur")
    cur=
    case $l in '' | '#'*) continue ;; esac
    cur=$l
done < "$LIST"
[ -n "$cur" ] && ENTRIES+=("$cur")

PASS=0 FAIL=0
TABLE=()
CUR_PROFILE=
for entry in "${ENTRIES[@]}"; do
    first=${entry%%$'\n'*}
    read -r prof script rest <<< "$first"
    rest+=${entry:${#first}}
    # The list is ours (not input from elsewhere): eval splits it like shell words, quotes and
    # comments included; the newline ends a trailing comment before the closing parenthesis.
    args=()
    eval "args=($rest
)"
    line="$prof $script ${args[*]}"
    if [ -n "${TLSFUZZER_ONLY:-}" ] && ! [[ $line =~ $TLSFUZZER_ONLY ]]; then continue; fi
    if [ "$prof" != "$CUR_PROFILE" ]; then
        [ -n "${LISTEN_PID:-}" ] && { kill "$LISTEN_PID" 2>/dev/null || true; wait "$LISTEN_PID" 2>/dev/null || true; }
        # shellcheck disable=SC2046
        mtls_listen "$W/server-$prof.log" 3600 $(profile "$prof") -q --timeout 10 ||
            { echo "FAIL: mtls server ($prof) did not start"; show_log "$W/server-$prof.log"; exit 1; }
        CUR_PROFILE=$prof
    fi
    runner=()
    if [[ $script == aead:* ]]; then
        script=${script#aead:}
        runner=("$SRC/tests/conformance/tlsfuzzer-aead.py")
    fi
    out=$W/$(basename "$script" .py)-$PASS-$FAIL.log
    st=0
    t0=$SECONDS
    (cd "$TF/tlsfuzzer" && timeout 900 env PYTHONPATH="$TF/tlsfuzzer:$TF/tlslite-ng" \
        /usr/bin/python3 "${runner[@]}" "scripts/$script" -h 127.0.0.1 -p "$LISTEN_PORT" \
        "${args[@]}") >"$out" 2>&1 </dev/null || st=$?
    secs=$((SECONDS - t0))
    summary=$(grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP): ' "$out" | tr '\n' ' ')
    if [ $st -eq 0 ]; then
        PASS=$((PASS + 1)); TABLE+=("ok    $prof $script (${secs}s)  $summary")
        [ "${VERBOSE:-0}" = 1 ] && TAIL=20 show_log "$out"
    else
        FAIL=$((FAIL + 1)); TABLE+=("FAIL  $prof $script (exit $st, ${secs}s)  $summary")
        echo "FAIL: $prof $script (line: $first)"
        sed -n '/^FAILED:/,$p' "$out" | head -n 30 | sed 's/^/    /'
        TAIL=15 show_log "$out" "$W/server-$prof.log"
    fi
done

printf '%s\n' "${TABLE[@]}"
echo "tlsfuzzer: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
