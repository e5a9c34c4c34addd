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
# tail; KEEP=1 keeps the logs; TLSFUZZER_RESULTS=FILE writes one tab-separated line per entry
# (result, profile, script, seconds, tlsfuzzer's pass/xfail/fail/xpass counts, the arguments
# separated by \x1f), from which tests/conformance/tlsfuzzer-table.py makes the results table of
# docs/CONFORMANCE.md.  docs/CONFORMANCE.md has the results and every exception.
#
# TLSFUZZER_SERVER=openssl runs the list against OpenSSL's `openssl s_server` (from PATH) instead,
# each profile given the same key, certificates and client-certificate mode: the comparison of
# docs/CONFORMANCE.md, with tests/conformance/tlsfuzzer-openssl.list (the TLS 1.3 scripts with the
# options that describe OpenSSL, no expected failures).  Not a ctest: OpenSSL fails some probes.
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/interop/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
TF=${MTLS_TLSFUZZER_DIR:-$SRC/../tlsf}
LIST=${TLSFUZZER_LIST:-$SRC/tests/conformance/tlsfuzzer.list}
SERVER=${TLSFUZZER_SERVER:-mtls}

if [ ! -f "$TF/tlsfuzzer/scripts/test-conversation.py" ] || [ ! -d "$TF/tlslite-ng/tlslite" ]; then
    echo "SKIPPED: tlsfuzzer trees not found under $TF (set MTLS_TLSFUZZER_DIR; see the header)"
    exit 77
fi
if ! /usr/bin/python3 -c 'import ecdsa' 2>/dev/null; then
    echo "SKIPPED: python3-ecdsa is not installed (apt-get install -y python3-ecdsa)"
    exit 77
fi
case $SERVER in
mtls) [ -x "$MTLS" ] || { echo "FAIL: $MTLS not built"; exit 1; } ;;
openssl) command -v openssl >/dev/null || { echo "SKIPPED: no openssl command"; exit 77; } ;;
*) echo "FAIL: TLSFUZZER_SERVER is mtls or openssl"; exit 1 ;;
esac

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
if [ "$SERVER" = openssl ]; then
    # What OpenSSL has and mtls has not, for the comparison: an RSASSA-PSS server key (rsapss) and
    # an Ed25519 client certificate from the intermediate.
    (
        cd "$PKI"
        openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out pss.key
        openssl req -x509 -new -key pss.key -subj /CN=good.test -days 30 -out pss.crt
        openssl genpkey -algorithm ED25519 -out client-ed25519.key
        printf '[x]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > ed.cnf
        openssl req -new -key client-ed25519.key -subj /CN=client-ed25519.test |
            openssl x509 -req -CA int.crt -CAkey int.key -set_serial 9001 -days 30 \
                -extfile ed.cnf -extensions x -out client-ed25519.crt
    ) >/dev/null 2>&1
fi

# profile NAME: the server arguments for NAME
profile() {
    local p=$W/pki
    local rsa="--cert $p/good.crt --key $p/good.key"
    case $1 in
    rsa) echo "$rsa --http" ;;
    ecdsa) echo "--cert $p/ecdsa256.crt --key $p/ecdsa256.key --http" ;;
    ecdsa384) echo "--cert $p/ecdsa384.crt --key $p/ecdsa384.key --http" ;;
    rsa-require) echo "$rsa --ca $p/ca-int.crt --verify-client require --http" ;;
    rsa-optional) echo "$rsa --ca $p/ca-int.crt --verify-client optional --http" ;;
    rsa-alpn) echo "$rsa --alpn h2,http/1.1 --http" ;; # two protocols, for ALPN changes
    rsa-echo) echo "$rsa --echo" ;;                     # echoes what it reads (test-lengths)
    rsa-ems) echo "$rsa --require-ems --http" ;;        # refuses clients without EMS
    rsa-tls12) echo "$rsa --tls1.2 --http" ;;           # TLS 1.2 only (test-tls13-non-support)
    rsa-ocsp) echo "--cert $W/rev/goodrsa.crt --key $W/rev/goodrsa.key --ocsp-staple $W/rev/ocsp-goodrsa.der --http" ;;
    # asks nothing in the handshake; GET /secret gets a post-handshake CertificateRequest first
    rsa-pha) echo "$rsa --ca $p/ca-int.crt --http --post-auth /secret" ;;
    *) echo "unknown profile $1" >&2; return 1 ;;
    esac
}

# profile_openssl NAME: the `openssl s_server` arguments for NAME (-www answers HTTP GETs; -rev
# answers every line with one as long, which is what test-tls13-lengths checks)
profile_openssl() {
    local p=$W/pki
    local rsa="-cert $p/good.crt -key $p/good.key"
    case $1 in
    rsa) echo "$rsa -www" ;;
    ecdsa) echo "-cert $p/ecdsa256.crt -key $p/ecdsa256.key -www" ;;
    ecdsa384) echo "-cert $p/ecdsa384.crt -key $p/ecdsa384.key -www" ;;
    rsa-require) echo "$rsa -CAfile $p/ca-int.crt -Verify 5 -verify_return_error -www" ;;
    rsa-optional) echo "$rsa -CAfile $p/ca-int.crt -verify 5 -verify_return_error -www" ;;
    rsa-echo) echo "$rsa -rev" ;;
    rsa-tls12) echo "$rsa -no_tls1_3 -www" ;;
    rsapss) echo "-cert $p/pss.crt -key $p/pss.key -www" ;;       # OpenSSL only
    rsa-psk) echo "$rsa -psk aa -psk_identity test -www" ;;       # OpenSSL only: an external PSK
    *) echo "unknown profile $1" >&2; return 1 ;;
    esac
}

# start_server PROFILE: the server under test for PROFILE, on LISTEN_PORT
start_server() {
    local log=$W/server-$1.log
    if [ "$SERVER" = mtls ]; then
        # shellcheck disable=SC2046
        mtls_listen "$log" 3600 $(profile "$1") -q --timeout 10
        return
    fi
    LISTEN_PORT=$(free_port)
    # shellcheck disable=SC2046
    timeout 3600 openssl s_server -accept "127.0.0.1:$LISTEN_PORT" $(profile_openssl "$1") \
        </dev/null >"$log" 2>&1 &
    LISTEN_PID=$!
    PIDS+=("$LISTEN_PID")
    wait_for "$log" '^ACCEPT' 10
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
RESULTS=${TLSFUZZER_RESULTS:-}
if [ -n "$RESULTS" ]; then
    if [ "$SERVER" = mtls ]; then echo "# server mtls server"; else echo "# server $(openssl version)"; fi > "$RESULTS"
fi
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
        start_server "$prof" ||
            { echo "FAIL: $SERVER server ($prof) did not start"; show_log "$W/server-$prof.log"; exit 1; }
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
    if [ -n "$RESULTS" ]; then
        count() { sed -n "s/^$1: \([0-9]*\)\$/\1/p" "$out" | tail -n 1; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$([ $st -eq 0 ] && echo ok || echo FAIL)" \
            "$prof" "${runner:+aead:}$script" "$secs" "$(count PASS)" "$(count XFAIL)" \
            "$(count FAIL)" "$(count XPASS)" "$(IFS=$'\x1f'; echo "${args[*]}")" >> "$RESULTS"
    fi
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
echo "tlsfuzzer: $PASS passed, $FAIL failed (${SECONDS}s)"
[ -n "$RESULTS" ] && echo "# ${SECONDS}s in all" >> "$RESULTS"
[ "$FAIL" -eq 0 ]
