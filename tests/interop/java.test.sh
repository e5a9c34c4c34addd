#!/usr/bin/env bash
# java.test.sh -- the `mtls` command against Java's TLS stack (JSSE, OpenJDK 17) on loopback.
#
#   (a) Java client (SSLSocket)        ->  mtls server
#   (b) mtls client                    ->  Java server (SSLServerSocket, needClientAuth)
#   (c) session resumption both ways: a Java client reconnecting with one SSLContext (by ticket;
#       by session id against `mtls server --no-tickets`), and `mtls client --reconnect 5` against
#       the Java server (ticket; `--no-tickets`: session id)
#
# for ECDHE-ECDSA, ECDHE-RSA, static RSA and mutual authentication, TLS 1.2 only, each with a
# random token checked end to end, the suite checked on both sides and, for mutual
# authentication, the client certificate seen by the server.  The Java peer is
# tests/interop/java/TlsPeer.java, compiled here with javac into the work directory; one JVM
# runs every client case of (a) and (c), one JVM serves every case of (b) and (c): the JVM is
# slow to start.  Key and trust stores are PKCS12 files made here from tests/pki/make-pki.sh.
#
# Static RSA (TLS_RSA_*): recent JDKs disable it in jdk.tls.disabledAlgorithms (JDK 24, and
# backports).  The JVMs run with -Djava.security.properties=<file made here> which sets that
# property to JDK 17's default list, which has no TLS_RSA_* entry, so the case runs on every JDK.
#
# A failing case is run again alone with -Djavax.net.debug=ssl:handshake on the Java side and
# --trace on the mtls side; both logs are kept in the work directory (KEEP=1) and their tails
# printed.  Servers listen on 127.0.0.1 on ports picked by the kernel (port 0); every wait is
# bounded with `timeout`; a trap kills every background process.  A missing program (java,
# javac, keytool, openssl) is named and the script fails.  Ends with a matrix and
# "N passed, N failed".
#
# Environment: MTLS_BUILD_DIR (tool at $MTLS_BUILD_DIR/tools/mtls), MTLS_SRC_DIR, and optionally
# MTLS_BIN (another tool binary), KEEP=1 (keep the work directory), VERBOSE=1 (show the logs).
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shared helpers: show_log, wait_for, wait_exit, free_port, token, lib_cleanup
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-java.XXXXXX")
PIDS=()
PASS=0
FAIL=0
SKIP=0
PW=changeit

trap lib_cleanup EXIT
trap 'exit 130' INT TERM

declare -A RESULT
ROWS=("java-client->mtls-server" "mtls-client->java-server")
COLS=(ecdhe-ecdsa ecdhe-rsa static-rsa mutual resume-ticket resume-id)

note() { printf '%s\n' "$*"; }
die() { # MESSAGE: a setup failure
    note "java: $*"
    echo "0 passed, 1 failed"
    exit 1
}

record() { # ROW COL pass|skip|"FAIL: reason"
    local row=$1 col=$2 verdict=$3
    case $verdict in
    pass)
        PASS=$((PASS + 1))
        RESULT[$row|$col]=pass
        note "  pass  $row / $col"
        ;;
    skip*)
        SKIP=$((SKIP + 1))
        RESULT[$row|$col]=skip
        note "  skip  $row / $col: ${verdict#skip: }"
        ;;
    *)
        FAIL=$((FAIL + 1))
        RESULT[$row|$col]=FAIL
        note "  FAIL  $row / $col: ${verdict#FAIL: }"
        ;;
    esac
}

# ---- preflight -----------------------------------------------------------------------------

[ -x "$MTLS" ] || die "$MTLS is not built; build first (cmake --build build)"
MTLS=$(cd "$(dirname "$MTLS")" && pwd)/$(basename "$MTLS")   # we cd into the work directory
missing=()
for prog in java javac keytool openssl; do
    command -v "$prog" > /dev/null 2>&1 || missing+=("$prog")
done
[ ${#missing[@]} -eq 0 ] ||
    die "missing program(s): ${missing[*]} (install: apt-get install openjdk-17-jdk-headless openssl)"
note "java: $(java -version 2>&1 | head -n1)"

# ---- PKI and Java stores -------------------------------------------------------------------
# make-pki.sh: ca.crt (RSA root), good (RSA-2048, good.test), ecdsa256 (P-256, good.test),
# client (RSA, clientAuth), client-ecdsa (P-256, clientAuth); every *.crt is leaf + intermediate.
PKI=$W/pki
timeout 120 sh "$SRC/tests/pki/make-pki.sh" "$PKI" > "$W/pki.log" 2>&1 ||
    { show_log "$W/pki.log"; die "tests/pki/make-pki.sh failed"; }
CA=$PKI/ca.crt
timeout 60 keytool -importcert -noprompt -alias mtls-test-root -file "$CA" -storetype PKCS12 \
    -keystore "$W/trust.p12" -storepass "$PW" > "$W/keytool.log" 2>&1 ||
    { show_log "$W/keytool.log"; die "keytool could not make the trust store"; }
for n in good ecdsa256 client client-ecdsa; do
    openssl pkcs12 -export -in "$PKI/$n.crt" -inkey "$PKI/$n.key" -name "$n" \
        -out "$W/$n.p12" -passout "pass:$PW" 2> "$W/pkcs12.log" ||
        { show_log "$W/pkcs12.log"; die "openssl pkcs12 could not make $n.p12"; }
done

# Static RSA on: JDK 17's default jdk.tls.disabledAlgorithms, which has no TLS_RSA_* entry.
cat > "$W/java.security" << 'EOF'
jdk.tls.disabledAlgorithms=SSLv3, TLSv1, TLSv1.1, DTLSv1.0, RC4, DES, MD5withRSA, \
    DH keySize < 1024, EC keySize < 224, 3DES_EDE_CBC, anon, NULL, ECDH
EOF

timeout 120 javac -d "$W/classes" "$SRC/tests/interop/java/TlsPeer.java" > "$W/javac.log" 2>&1 ||
    { show_log "$W/javac.log"; die "javac failed on tests/interop/java/TlsPeer.java"; }

# jvm SECONDS [JAVA OPTIONS...] -- TLSPEER ARGS...: the Java peer, with the security override,
# bounded by `timeout SECONDS`
jvm() {
    local secs=$1 opts=()
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    timeout "$secs" java -Xshare:auto -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        "-Djava.security.properties=$W/java.security" "${opts[@]}" \
        -cp "$W/classes" TlsPeer "$@"
}

cd "$W"

# Per column: the server's certificate, the one suite both sides allow, the client's store.
cert_for() { case $1 in ecdhe-rsa | static-rsa) echo good ;; *) echo ecdsa256 ;; esac; }
suite_for() {
    case $1 in
    ecdhe-ecdsa) echo TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ;;
    ecdhe-rsa) echo TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 ;;
    static-rsa) echo TLS_RSA_WITH_AES_128_GCM_SHA256 ;;
    mutual) echo TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ;;
    resume-*) echo TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ;;
    esac
}
# (a): only mutual and the resumption cases present a client certificate to mtls server;
# (b): the Java server requires one in every case: the RSA one, the ECDSA one for `mutual`.
client_cert_for() { case $1 in mutual) echo client ;; resume-*) echo client-ecdsa ;; esac; }
server_side_client_cert() { case $1 in mutual | resume-*) echo client-ecdsa ;; *) echo client ;; esac; }
conns_for() { case $1 in resume-*) echo 3 ;; *) echo 1 ;; esac; }

# ---- (a) + (c): Java client -> mtls server -------------------------------------------------

# start_mtls_server COL LOG [EXTRA...]: sets SPID, SPORT
start_mtls_server() {
    local col=$1 log=$2 c
    shift 2
    c=$(cert_for "$col")
    local args=(--timeout 20 --cert "$PKI/$c.crt" --key "$PKI/$c.key") st=0
    [ -n "$(client_cert_for "$col")" ] && args+=(--ca "$CA" --verify-client require)
    case $col in
    resume-*) ;;          # several connections: stopped by us
    *) args+=(--once) ;;  # one connection, exits 0 on a clean close
    esac
    [ "$col" = resume-id ] && args+=(--no-tickets)
    mtls_listen "$log" 120 "${args[@]}" "$@" || st=$?
    SPID=$LISTEN_PID
    SPORT=$LISTEN_PORT
    return $st
}

client_case_spec() { # COL PORT
    local k
    k=$(client_cert_for "$1")
    printf '%s,%s,%s,%s,%s' "$1" "$2" "$(suite_for "$1")" "${k:+$W/$k.p12}" "$(conns_for "$1")"
}

# judge_a COL SERVER_LOG SERVER_STATUS JAVA_OUT: empty when the case passed, else why
judge_a() {
    local col=$1 slog=$2 sst=$3 jout=$4 n lines suite k
    suite=$(suite_for "$col")
    n=$(conns_for "$col")
    lines=$(grep -c "^RESULT $col #" "$jout" || true)
    if grep -q "^RESULT $col #[0-9]* FAIL" "$jout"; then
        grep -m1 "^RESULT $col #[0-9]* FAIL" "$jout" | cut -d' ' -f3- | cut -c1-300
        return
    fi
    [ "$lines" = "$n" ] || { echo "the Java client reported $lines of $n connections"; return; }
    grep "^RESULT $col #" "$jout" | grep -vq "protocol=TLSv1.2 suite=$suite " &&
        { echo "Java negotiated something else: $(grep -m1 "^RESULT $col #" "$jout" | cut -c1-200)"; return; }
    [ "$(grep -c "^mtls: #[0-9]* .*TLS 1.2, $suite" "$slog" || true)" = "$n" ] ||
        { echo "mtls server did not report TLS 1.2, $suite for $n connection(s)"; return; }
    [ "$(grep -c '^mtls: #[0-9]* closed cleanly' "$slog" || true)" = "$n" ] ||
        { echo "mtls server saw fewer than $n clean closes (close_notify)"; return; }
    if [ -n "$(client_cert_for "$col")" ]; then
        [ "$(grep -c "^mtls: #.*client certificate: CN=$(client_cert_for "$col").test" "$slog" || true)" = "$n" ] ||
            { echo "mtls server did not report the client certificate CN=$(client_cert_for "$col").test"; return; }
    fi
    case $col in
    resume-*)
        local how want
        [ "$col" = resume-ticket ] && how=ticket want="found in the ticket"
        [ "$col" = resume-id ] && how="session id" want="found in the session cache"
        k=$(grep "^RESULT $col #" "$jout" | grep -c ' resumed=yes ' || true)
        [ "$k" = $((n - 1)) ] ||
            { echo "Java did not resume (same session id and creation time): $k of $((n - 1)) reconnections"; return; }
        [ "$(grep -c '^mtls: #.*resumed session (abbreviated handshake)' "$slog" || true)" = $((n - 1)) ] ||
            { echo "mtls server logged $(grep -c '^mtls: #.*resumed session' "$slog" || true) of $((n - 1)) resumed sessions"; return; }
        [ "$(grep -c "Resumption .*$want" "$slog" || true)" = $((n - 1)) ] ||
            { echo "mtls server's trace does not show resumption by $how ('$want')"; return; }
        ;;
    *)
        [ "$sst" = 0 ] || { echo "mtls server --once exited with status $sst (not a clean close)"; return; }
        ;;
    esac
    return 0
}

# trace_a COL: run one failing client case again, Java handshake debug and mtls --trace on
trace_a() {
    local col=$1
    note "    re-running $col with -Djavax.net.debug=ssl:handshake and mtls --trace:" \
        "$W/a-$col.trace.log, $W/a-$col.javadebug.log"
    if start_mtls_server "$col" "$W/a-$col.trace.log" --trace; then
        jvm 120 -Djavax.net.debug=ssl:handshake -- client "$W/trust.p12" "$PW" \
            "$(client_case_spec "$col" "$SPORT")" > "$W/a-$col.javadebug.log" 2>&1 || true
        kill "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
        TAIL=25 show_log "$W/a-$col.trace.log"
        grep -Ei 'fatal|exception|RESULT' "$W/a-$col.javadebug.log" | grep -v 'Debug info only' |
            tail -n 12 | cut -c1-300 |
            sed 's/^/    java: /' || true
    fi
}

note "Java client -> mtls server"
row=${ROWS[0]}
declare -A APID
specs=()
for col in "${COLS[@]}"; do
    if start_mtls_server "$col" "$W/a-$col.log" --trace; then
        APID[$col]=$SPID
        specs+=("$(client_case_spec "$col" "$SPORT")")
    else
        record "$row" "$col" "FAIL: mtls server did not start"
        show_log "$W/a-$col.log"
    fi
done
t0=$(date +%s)
st=0
jvm 180 -- client "$W/trust.p12" "$PW" "${specs[@]}" > "$W/a-java.out" 2> "$W/a-java.err" || st=$?
note "  (one JVM, ${#specs[@]} cases, $(($(date +%s) - t0)) s, exit status $st)"
for col in "${COLS[@]}"; do
    [ -n "${APID[$col]:-}" ] || continue
    sst=0
    case $col in
    resume-*)
        kill "${APID[$col]}" 2>/dev/null || true
        wait "${APID[$col]}" 2>/dev/null || true
        ;;
    *) # --once: ends by itself once the Java client closed
        for ((i = 0; i < 100; i++)); do kill -0 "${APID[$col]}" 2>/dev/null || break; sleep 0.1; done
        kill "${APID[$col]}" 2>/dev/null || true
        wait "${APID[$col]}" 2>/dev/null || sst=$?
        ;;
    esac
    why=$(judge_a "$col" "$W/a-$col.log" "$sst" "$W/a-java.out")
    if [ -z "$why" ]; then
        record "$row" "$col" pass
        [ "${VERBOSE:-0}" = 1 ] && { grep "^RESULT $col " "$W/a-java.out" | sed 's/^/    /'; show_log "$W/a-$col.log"; }
    else
        record "$row" "$col" "FAIL: $why"
        grep "^RESULT $col " "$W/a-java.out" | cut -c1-300 | sed 's/^/    /' || true
        show_log "$W/a-$col.log" "$W/a-java.err"
        trace_a "$col"
    fi
done

# ---- (b) + (c): mtls client -> Java server -------------------------------------------------

HAVE_RECONNECT=0
"$MTLS" client --help 2>&1 | grep -q -- '--reconnect' && HAVE_RECONNECT=1

server_spec() { # COL: name,keystore,suite,connections
    local n=1
    case $1 in resume-*) n=6 ;; esac
    printf '%s,%s,%s,%s' "$1" "$W/$(cert_for "$1").p12" "$(suite_for "$1")" "$n"
}

# start_java_server LOG JAVAOPTS... -- SPECS...: sets JPID; ports in the LISTEN lines of LOG
start_java_server() {
    local log=$1 opts=()
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    jvm 240 "${opts[@]}" -- server "$W/trust.p12" "$PW" "$@" > "$log" 2> "$log.err" &
    JPID=$!
    PIDS+=("$JPID")
    wait_for "$log" '^READY' 60
}
java_port() { awk -v n="$1" '$1 == "LISTEN" && $2 == n { print $3 }' "$2"; }

# run_mtls_client COL PORT OUT ERR [EXTRA...]
run_mtls_client() {
    local col=$1 port=$2 out=$3 err=$4 k
    shift 4
    k=$(server_side_client_cert "$col")
    local args=(client "127.0.0.1:$port" --servername good.test --ca "$CA" --timeout 10
        --cert "$PKI/$k.crt" --key "$PKI/$k.key")
    case $col in
    resume-ticket) args+=(--reconnect 5) ;;
    resume-id) args+=(--reconnect 5 --no-tickets) ;;
    esac
    printf '%s\n' "$TOK" | timeout 60 "$MTLS" "${args[@]}" "$@" > "$out" 2> "$err"
}

# judge_b COL CLIENT_STATUS OUT ERR JAVA_LOG: empty when the case passed
judge_b() {
    local col=$1 cst=$2 out=$3 err=$4 jlog=$5 suite k n=1
    suite=$(suite_for "$col")
    k=$(server_side_client_cert "$col")
    case $col in resume-*) n=6 ;; esac
    [ "$cst" = 0 ] || { echo "mtls client exited with status $cst: $(grep -v '^mtls: connection ' "$err" | tail -n1)"; return; }
    grep -qx -- "$TOK" "$out" || { echo "token not echoed back by the Java server"; return; }
    grep -q "TLS 1.2, $suite" "$err" || { echo "mtls client did not report TLS 1.2, $suite"; return; }
    if grep -q "^CONN $col #[0-9]* FAIL" "$jlog"; then
        echo "Java server: $(grep -m1 "^CONN $col #[0-9]* FAIL" "$jlog" | cut -d' ' -f3- | cut -c1-300)"
        return
    fi
    [ "$(grep -c "^CONN $col #[0-9]* ok protocol=TLSv1.2 suite=$suite peer=CN=$k.test " "$jlog" || true)" = "$n" ] ||
        { echo "the Java server did not see $n TLS 1.2 $suite connection(s) with client certificate CN=$k.test"; return; }
    grep -q "^CONN $col #1 .* echoed=$((${#TOK} + 1))\$" "$jlog" ||
        { echo "the Java server did not echo the $((${#TOK} + 1)) bytes sent"; return; }
    case $col in
    resume-*)
        local how="session ticket"
        [ "$col" = resume-id ] && how="session id"
        grep -q '^mtls: resumed 5 of 5 reconnections' "$err" ||
            { echo "mtls client: $(grep 'reconnections' "$err" || echo 'no reconnection total')"; return; }
        [ "$(grep -c "^mtls: connection [2-6]: resumed ($how)" "$err" || true)" = 5 ] ||
            { echo "mtls client did not resume by $how: $(grep -m1 '^mtls: connection 2' "$err")"; return; }
        [ "$(grep -c "^CONN $col #[2-6] ok .* resumed=yes " "$jlog" || true)" = 5 ] ||
            { echo "the Java server did not see 5 resumed sessions (same id and creation time)"; return; }
        ;;
    esac
    return 0
}

# trace_b COL: run one failing case again, Java server with handshake debug, mtls --trace
trace_b() {
    local col=$1
    local jl=$W/b-$col.javadebug.log
    note "    re-running $col with -Djavax.net.debug=ssl:handshake and mtls --trace:" \
        "$W/b-$col.trace.log, $jl"
    if start_java_server "$jl" -Djavax.net.debug=ssl:handshake -- "$(server_spec "$col")"; then
        run_mtls_client "$col" "$(java_port "$col" "$jl")" "$W/b-$col.trace.out" \
            "$W/b-$col.trace.log" --trace || true
        kill "$JPID" 2>/dev/null || true
        wait "$JPID" 2>/dev/null || true
        TAIL=25 show_log "$W/b-$col.trace.log"
        grep -hEi 'fatal|exception|^CONN' "$jl" "$jl.err" 2>/dev/null | grep -v 'Debug info only' |
            tail -n 12 | cut -c1-300 |
            sed 's/^/    java: /' || true
    fi
}

note "mtls client -> Java server (client certificate required)"
row=${ROWS[1]}
specs=()
for col in "${COLS[@]}"; do
    case $col in resume-*) [ "$HAVE_RECONNECT" = 1 ] || continue ;; esac
    specs+=("$(server_spec "$col")")
done
t0=$(date +%s)
if ! start_java_server "$W/b-java.out" -- "${specs[@]}"; then
    show_log "$W/b-java.out" "$W/b-java.out.err"
    for col in "${COLS[@]}"; do record "$row" "$col" "FAIL: the Java server did not start"; done
else
    for col in "${COLS[@]}"; do
        case $col in
        resume-*)
            if [ "$HAVE_RECONNECT" != 1 ]; then
                record "$row" "$col" "skip: this mtls client has no --reconnect (mtls client --help)"
                continue
            fi
            ;;
        esac
        TOK=$(token)
        cst=0
        run_mtls_client "$col" "$(java_port "$col" "$W/b-java.out")" "$W/b-$col.out" "$W/b-$col.err" || cst=$?
        # the Java server logs a connection once the client's close_notify arrived
        n=1
        case $col in resume-*) n=6 ;; esac
        wait_for "$W/b-java.out" "^CONN $col #$n |^DONE $col" 10 || true
        why=$(judge_b "$col" "$cst" "$W/b-$col.out" "$W/b-$col.err" "$W/b-java.out")
        if [ -z "$why" ]; then
            record "$row" "$col" pass
            [ "${VERBOSE:-0}" = 1 ] && { show_log "$W/b-$col.err"; grep "^CONN $col " "$W/b-java.out" | sed 's/^/    /'; }
        else
            record "$row" "$col" "FAIL: $why"
            show_log "$W/b-$col.err" "$W/b-$col.out"
            grep "^CONN $col " "$W/b-java.out" | cut -c1-300 | sed 's/^/    /' || true
            trace_b "$col"
        fi
    done
    # every SPEC has served its connections (or fails by its accept timeout): the JVM ends
    timeout 90 bash -c "while kill -0 $JPID 2>/dev/null; do sleep 0.2; done" || kill "$JPID" 2>/dev/null || true
    wait "$JPID" 2>/dev/null || true
fi
note "  (one JVM server, $(($(date +%s) - t0)) s)"

# ---- matrix ---------------------------------------------------------------------------------

echo
echo "Java (JSSE) interop matrix: TLS 1.2; $(java -version 2>&1 | head -n1)"
echo "suites: ecdhe-ecdsa $(suite_for ecdhe-ecdsa), ecdhe-rsa $(suite_for ecdhe-rsa),"
echo "        static-rsa $(suite_for static-rsa) (TLS_RSA_* re-enabled via -Djava.security.properties),"
echo "        mutual $(suite_for mutual), resume-* $(suite_for resume-ticket)"
echo "(a) mutual: Java presents an RSA client cert; (b) every case requires a client cert (RSA;"
echo "ECDSA for mutual and resume-*); resume-*: (a) 1 + 2 reconnections, (b) mtls --reconnect 5"
printf '%-26s' ""
for col in "${COLS[@]}"; do printf '%-14s' "$col"; done
echo
for row in "${ROWS[@]}"; do
    printf '%-26s' "$row"
    for col in "${COLS[@]}"; do printf '%-14s' "${RESULT[$row|$col]:--}"; done
    echo
done
echo
[ "$SKIP" -gt 0 ] && note "($SKIP skipped: see above)"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] || exit 1
# Cases that could not run here make the test skipped (exit 77, ctest's SKIP_RETURN_CODE), not
# passed: ctest and the CI's skip check (scripts/check-skips.sh) then show it.
[ "$SKIP" -eq 0 ] || exit 77
