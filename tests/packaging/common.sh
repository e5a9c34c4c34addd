# common.sh -- shared by tests/packaging/*.test.sh (sourced, not run by ctest).
#
# Gives: a work directory removed on exit, servers killed on exit, pass/fail counters with a
# final "N passed, N failed" line, a throwaway PKI made with the openssl command, and a bounded
# wait for a server's "listening on 127.0.0.1:PORT" line.

: "${MTLS_SRC_DIR:?set MTLS_SRC_DIR to the source tree}"
: "${MTLS_BUILD_DIR:?set MTLS_BUILD_DIR to the build tree}"
MTLS_TOOL=$MTLS_BUILD_DIR/tools/mtls

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-pkg.XXXXXX")
PIDS=()
PASSED=0
FAILED=0

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

# check NAME CMD...: run CMD (its output goes to $WORK/NAME.log), pass when it exits 0.
check() {
    local name=$1
    shift
    if "$@" >"$WORK/$name.log" 2>&1; then
        pass "$name"
    else
        fail "$name (exit $?); output:"
        sed 's/^/    /' "$WORK/$name.log"
    fi
}

# expect_output NAME PATTERN: the last check's log contains PATTERN (grep -E).
expect_output() {
    if grep -Eq -- "$2" "$WORK/$1.log"; then
        pass "$1 prints /$2/"
    else
        fail "$1 does not print /$2/; output:"
        sed 's/^/    /' "$WORK/$1.log"
    fi
}

summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# make_pki DIR: ca.pem (+ ca.key), server.pem/.key (SAN DNS:localhost, IP:127.0.0.1, serverAuth),
# client.pem/.key (clientAuth), and other-ca.pem, a CA that signed none of them.  P-256 keys.
make_pki() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        for ca in ca other-ca; do
            key $ca.key
            openssl req -x509 -new -key $ca.key -subj "/CN=mtls example $ca" -days 2 -sha256 \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" -out $ca.pem 2>/dev/null
        done
        # leaf NAME SUBJECT EXTENSIONS: NAME.pem signed by ca, NAME.key
        leaf() {
            key "$1.key"
            printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' \
                "$3" >"$1.ext"
            openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
            openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
                -days 2 -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
        }
        leaf server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
        leaf client "/CN=example client" "extendedKeyUsage=clientAuth"
    )
    [ -s "$d/server.pem" ] && [ -s "$d/client.pem" ] && [ -s "$d/other-ca.pem" ]
}

# start_server NAME CMD...: start CMD in the background (output in $WORK/NAME.log) and wait at
# most 10 s for its "listening on 127.0.0.1:PORT" line; sets PORT.  Returns 1 if it never comes.
start_server() {
    local name=$1 log="$WORK/$1.log" i
    shift
    : >"$log"
    "$@" >"$log" 2>&1 &
    PIDS+=($!)
    PORT=
    for i in $(seq 100); do
        PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
        [ -n "$PORT" ] && return 0
        kill -0 "${PIDS[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "server $name did not start; output:"
    sed 's/^/    /' "$log"
    return 1
}

# wait_exit PID SECONDS: wait for a background process to end by itself; its exit status, or 124
# (and it is killed) when it is still running after SECONDS.
wait_exit() {
    local pid=$1 i
    for i in $(seq $(($2 * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 124
    fi
    wait "$pid"
}

# The compiler and sanitizer flags of the build under test, so that programs built here against
# its libraries link (an ASan-instrumented libmtls needs the ASan runtime in the program).
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$MTLS_BUILD_DIR/CMakeCache.txt" 2>/dev/null | head -n1; }
BUILD_CC=$(cache_get CMAKE_C_COMPILER)
BUILD_CC=${BUILD_CC:-cc}
SAN_FLAGS=
if [ "$(cache_get MTLS_SANITIZE)" = ON ]; then
    SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi

# skip REASON: end the script without testing anything, as skipped: exit 77, which ctest reports
# as "Skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt), never as passed.
skip() {
    echo "skipped: $*"
    exit 77
}
