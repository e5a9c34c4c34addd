#!/usr/bin/env bash
# tls13-runtimes.test.sh -- the TLS 1.3 interop matrix against the TLS stacks of language
# runtimes on loopback, both roles:
#
#   Go (crypto/tls)      tests/interop/go/peer.go, built here (standard library, no network)
#   Java 17 (JSSE)       tests/interop/java/TlsPeer.java, compiled here
#   Node.js (node:tls)   tests/interop/node/peer.js
#   Python (ssl)         tests/interop/python/peer.py
#
# with TLS 1.3 pinned (mtls --tls1.3, the peer held to TLS 1.3) and by default negotiation (no
# version option on either side; TLS 1.3 must come out), the cases of tls13lib.sh.  The peers
# report one line per connection (version, suite, resumed, the other side's certificate, the
# token), checked here together with mtls's own report and trace:
#
#   full       mutual authentication, a token echoed
#   hrr        as server the peer is limited to P-256 (Go -curves P256, Node ecdhCurve P-256,
#              Python set_ecdh_curve, Java -Djdk.tls.namedGroups=secp256r1); as client it meets
#              mtls server --groups secp256r1 (Java, which sends X25519 and P-256 shares:
#              secp384r1)
#   resume     the peer client connects twice with one session cache (Go LRU cache, Node's
#              `session` event, Python's SSLSocket.session, one Java SSLContext) and must report
#              the second resumed; against a peer server, mtls client --sess-out then --sess-in,
#              and the peer server must report the second connection resumed
#   keyupdate  Java only: JSSE sends KeyUpdate (update_requested) once a key has protected more
#              than jdk.tls.keyLimits allows, here a few bytes, so that tokens cross it.  Go,
#              Node and Python have no way to send one (n/a).
#
# Every wait is bounded, every server listens on 127.0.0.1 and ends by itself (connection
# counts, accept timeouts, `timeout`).  A missing runtime makes its cells "skip".
#
# Environment: MTLS_BUILD_DIR, MTLS_SRC_DIR; optionally MTLS_BIN, KEEP=1, VERBOSE=1, T13_PEERS (a
# subset of "go java node python").
set -u

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tls13lib.sh"
TAIL=${TAIL:-12}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-tls13-rt.XXXXXX")
PIDS=()
HOST=good.test
PEERS=${T13_PEERS:-go java node python}
VERSIONS=(1.3 default)
CASES=(full hrr resume)
PW=changeit

trap lib_cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$MTLS" ]; then
    echo "tls13-runtimes: $MTLS is not built; build first (cmake --build build)"
    exit 1
fi
MTLS=$(cd "$(dirname "$MTLS")" && pwd)/$(basename "$MTLS")
# without openssl there is no test PKI, and no cell can run
command -v openssl > /dev/null || { echo "tls13-runtimes: the openssl command makes the test PKI: nothing can run (apt-get install openssl)"; exit 77; }
t13_pki || { show_log "$W/pki.log"; echo "tls13-runtimes: tests/pki/make-pki.sh failed"; exit 1; }
cd "$W" || exit 1

want() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }

judged() { # PEER ROLE VERSION CASE WHY DETAIL LOG...
    local peer=$1 role=$2 ver=$3 cs=$4 why=$5 detail=$6
    shift 6
    if [ -z "$why" ]; then
        cell "$peer" "$role" "$ver" "$cs" pass "$detail"
        [ "${VERBOSE:-0}" = 1 ] && show_log "$@"
    else
        cell "$peer" "$role" "$ver" "$cs" FAIL "$why"
        show_log "$@"
    fi
    return 0
}

skip_all() { # PEER ROLES REASON: every cell of PEER skipped (keyupdate: Java's only)
    local ver cs role
    for role in $2; do
        for ver in "${VERSIONS[@]}"; do
            for cs in "${CASES[@]}"; do cell "$1" "$role" "$ver" "$cs" skip "$3"; done
            [ "$1" = java ] && cell "$1" "$role" "$ver" keyupdate skip "$3"
        done
    done
}

na_keyupdate() { # PEER REASON
    local ver role
    for role in mtls-server mtls-client; do
        for ver in "${VERSIONS[@]}"; do cell "$1" "$role" "$ver" keyupdate n/a "$2"; done
    done
}

conns_for() { [ "$1" = resume ] && echo 2 || echo 1; }

# ---- the peers with one command line: Go, Node, Python (peer.go's options and report lines) ----

# judge_peer_client OUT CASE N SERVER_CN: why the peer client's RESULT lines do not show the case
judge_peer_client() {
    local out=$1 cs=$2 n=$3 cn=$4 i line
    for ((i = 1; i <= n; i++)); do
        line=$(grep -m1 "^RESULT $cs #$i " "$out" || true)
        [ -n "$line" ] || { echo "no report of connection $i: $(grep -m1 -v '^RESULT' "$out" | cut -c1-200)"; return; }
        [[ $line == *" FAIL "* ]] && { echo "connection $i: ${line#* FAIL }"; return; }
        [[ $line == *" ok version=TLS1.3 "* ]] || { echo "connection $i: ${line#RESULT }"; return; }
        [[ $line == *" client-cert=sent"* ]] || { echo "connection $i: no client certificate sent"; return; }
        if [ "$i" = 1 ]; then
            [[ $line == *" resumed=no "* && $line == *" server=CN=$cn "* ]] ||
                { echo "connection 1 was not a full handshake with CN=$cn: ${line#RESULT }"; return; }
        else
            [[ $line == *" resumed=yes "* ]] || { echo "connection $i did not resume: ${line#RESULT }"; return; }
        fi
    done
    return 0
}

# judge_peer_server OUT CASE N CLIENT_CN: why the peer server's CONN lines do not show the case
judge_peer_server() {
    local out=$1 cs=$2 n=$3 cn=$4 i line
    for ((i = 1; i <= n; i++)); do
        line=$(grep -m1 "^CONN $cs #$i " "$out" || true)
        [ -n "$line" ] || { echo "no report of connection $i: $(grep -m1 -v '^LISTEN' "$out" | cut -c1-200)"; return; }
        [[ $line == *" FAIL "* ]] && { echo "connection $i: ${line#* FAIL }"; return; }
        [[ $line == *" ok version=TLS1.3 "* ]] || { echo "connection $i: ${line#CONN }"; return; }
        [[ $line == *" peer=CN=$cn "* ]] || { echo "connection $i: not the client certificate CN=$cn: ${line#CONN }"; return; }
        [[ $line == *" token=ok" ]] || { echo "connection $i: the token did not arrive: ${line#CONN }"; return; }
        if [ "$i" = 1 ]; then
            [[ $line == *" resumed=no "* ]] || { echo "connection 1 resumed"; return; }
        else
            [[ $line == *" resumed=yes "* ]] || { echo "connection $i did not resume: ${line#CONN }"; return; }
        fi
    done
    return 0
}

# peer_client_cell PEER VERSION CASE PEERCMD...: the peer as client -> mtls server
peer_client_cell() {
    local peer=$1 ver=$2 cs=$3 pre k c n why="" pst=0 sst=0 pv=any
    shift 3
    pre=$W/$peer-c-$ver-$cs
    k=$(t13_client_cert "$cs")
    c=$(t13_server_cert "$cs")
    n=$(conns_for "$cs")
    [ "$ver" = 1.3 ] && pv=1.3
    if ! t13_mtls_server "$pre.log" "$ver" "$cs"; then
        judged "$peer" mtls-server "$ver" "$cs" "mtls server did not start" "" "$pre.log"
        return
    fi
    TOK=$(token)
    timeout 60 "$@" client -name "$cs" -connect "127.0.0.1:$SPORT" -ca "$CA" -servername "$HOST" \
        -cert "$PKI/$k.crt" -key "$PKI/$k.key" -version "$pv" -conns "$n" -token "$TOK" \
        > "$pre.out" 2>&1 || pst=$?
    t13_stop_server "$n" || sst=$?
    why=$(judge_peer_client "$pre.out" "$cs" "$n" "$(cn_of "$c")")
    [ -z "$why" ] && [ "$pst" != 0 ] && why="the $peer client exited with status $pst"
    if [ -z "$why" ]; then
        why=$(t13_judge_server "$pre.log" "$cs" "$(cn_of "$k")" "$n")
        [ -z "$why" ] && [ "$cs" != resume ] && [ "$sst" != 0 ] && why="mtls server --once exited with status $sst"
    fi
    local detail
    detail="$peer: $(grep -m1 "^RESULT $cs #$n ok" "$pre.out" | grep -o 'version=[^ ]* suite=[^ ]* resumed=[a-z]*')"
    judged "$peer" mtls-server "$ver" "$cs" "$why" "$detail" "$pre.log" "$pre.out"
}

# peer_server_cell PEER VERSION CASE CURVES PEERCMD...: mtls client -> the peer as server
peer_server_cell() {
    local peer=$1 ver=$2 cs=$3 curves=$4 pre k c n why="" cst=0 pv=any
    shift 4
    pre=$W/$peer-s-$ver-$cs
    k=$(t13_client_cert "$cs")
    c=$(t13_server_cert "$cs")
    n=$(conns_for "$cs")
    [ "$ver" = 1.3 ] && pv=1.3
    TOK=$(token)
    local args=(server -name "$cs" -cert "$PKI/$c.crt" -key "$PKI/$c.key" -ca "$CA" -require-client-cert
        -version "$pv" -conns "$n" -token "$TOK" -accept-timeout 30)
    [ "$cs" = hrr ] && args+=(-curves "$curves")
    rm -f "$pre.out"
    timeout 90 "$@" "${args[@]}" > "$pre.out" 2>&1 &
    local ppid=$!
    PIDS+=("$ppid")
    if ! wait_for "$pre.out" '^LISTEN [0-9]+' 20; then
        judged "$peer" mtls-client "$ver" "$cs" "the $peer server did not start" "" "$pre.out"
        return
    fi
    local port
    port=$(awk '$1 == "LISTEN" { print $2; exit }' "$pre.out")
    if [ "$cs" = resume ]; then
        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c1" "$port" "$ver" "$cs" --sess-out "$pre.sess" || cst=$?
        why=$(t13_judge_client "$pre.c1" "$cst" "$cs" "$(cn_of "$c")")
        if [ -z "$why" ]; then
            printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$port" "$ver" "$cs" --sess-in "$pre.sess" || cst=$?
            why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")" resumed)
        fi
    else
        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$port" "$ver" "$cs" || cst=$?
        why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")")
    fi
    wait_for "$pre.out" "^DONE $cs" 10
    wait_exit "$ppid" 5
    [ -z "$why" ] && ! grep -qx -- "$TOK" "$pre.c.out" && why="the token did not come back from the $peer server"
    [ -z "$why" ] && why=$(judge_peer_server "$pre.out" "$cs" "$n" "$(cn_of "$k")")
    local detail
    detail="$peer: $(grep -m1 "^CONN $cs #$n ok" "$pre.out" | grep -o 'version=[^ ]* suite=[^ ]* resumed=[a-z]*')"
    judged "$peer" mtls-client "$ver" "$cs" "$why" "$detail" "$pre.c.err" "$pre.c1.err" "$pre.out"
}

# run_peer PEER HRR_GROUP CURVES PEERCMD...: every cell of one of these peers
run_peer() {
    local peer=$1 hg=$2 curves=$3 ver cs
    shift 3
    for ver in "${VERSIONS[@]}"; do
        for cs in "${CASES[@]}"; do HRR_GROUP=$hg peer_client_cell "$peer" "$ver" "$cs" "$@"; done
    done
    for ver in "${VERSIONS[@]}"; do
        for cs in "${CASES[@]}"; do peer_server_cell "$peer" "$ver" "$cs" "$curves" "$@"; done
    done
}

# ---- Go -------------------------------------------------------------------------------------

if want go; then
    na_keyupdate go "crypto/tls has no call that sends KeyUpdate"
    if ! command -v go > /dev/null; then
        skip_all go "mtls-server mtls-client" "go missing (apt-get install golang-go)"
    else
        peer_info go "$(go version | head -n1)"
        mkdir -p "$W/go/home" "$W/go/cache" "$W/go/path"
        # a single file with the standard library only: no module, no proxy, no network
        if (cd "$W/go" && HOME=$W/go/home GOCACHE=$W/go/cache GOPATH=$W/go/path GO111MODULE=off \
            GOFLAGS='' GOPROXY=off GOTOOLCHAIN=local GOENV=off \
            timeout 300 go build -o "$W/go/peer" "$SRC/tests/interop/go/peer.go") > "$W/go/build.log" 2>&1; then
            run_peer go secp256r1 P256 "$W/go/peer"
        else
            show_log "$W/go/build.log"
            for ver in "${VERSIONS[@]}"; do
                for cs in "${CASES[@]}"; do
                    cell go mtls-server "$ver" "$cs" FAIL "go build failed on tests/interop/go/peer.go"
                    cell go mtls-client "$ver" "$cs" FAIL "go build failed on tests/interop/go/peer.go"
                done
            done
        fi
    fi
fi

# ---- Node -----------------------------------------------------------------------------------

if want node; then
    na_keyupdate node "node:tls has no call that sends KeyUpdate"
    if ! command -v node > /dev/null; then
        skip_all node "mtls-server mtls-client" "node missing (apt-get install nodejs)"
    else
        peer_info node "Node.js $(node --version) (OpenSSL $(node -p process.versions.openssl))"
        run_peer node secp256r1 P-256 node "$SRC/tests/interop/node/peer.js"
    fi
fi

# ---- Python ---------------------------------------------------------------------------------

if want python; then
    na_keyupdate python "the ssl module has no call that sends KeyUpdate"
    if ! command -v python3 > /dev/null; then
        skip_all python "mtls-server mtls-client" "python3 missing (apt-get install python3)"
    else
        peer_info python "Python $(python3 -c 'import platform, ssl; print(platform.python_version(), "(" + ssl.OPENSSL_VERSION + ")")')"
        run_peer python secp256r1 prime256v1 python3 "$SRC/tests/interop/python/peer.py"
    fi
fi

# ---- Java -----------------------------------------------------------------------------------

# The Java peer runs several cases per JVM (it starts slowly): java.test.sh's TlsPeer, its specs
# extended with the protocols (TLSv1.3, or TLSv1.3+TLSv1.2 -- the JDK 17 default -- for
# "default") and, for a client, the number of token lines per connection.

java_protocols() { [ "$1" = 1.3 ] && echo TLSv1.3 || echo TLSv1.3+TLSv1.2; }

# jvm SECONDS [JAVA OPTIONS...] -- TLSPEER ARGS...
jvm() {
    local secs=$1 opts=()
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    timeout "$secs" java -Xshare:auto -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${opts[@]}" \
        -cp "$W/java/classes" TlsPeer "$@"
}

# JSSE sends KeyUpdate once a key has protected more than this (bytes, as 2^N): a token line is 29
KEYLIMITS='jdk.tls.keyLimits=AES/GCM/NoPadding KeyUpdate 2^4, ChaCha20-Poly1305 KeyUpdate 2^4'

java_cells() {
    local ver cs pre k c n why

    # -- Java client -> mtls server: every mtls server first, then one JVM for full, hrr,
    # resume, one (with the key limits) for keyupdate
    declare -A jport
    local specs=() kspecs=()
    for ver in "${VERSIONS[@]}"; do
        for cs in "${CASES[@]}" keyupdate; do
            pre=$W/java-c-$ver-$cs
            if ! HRR_GROUP=secp384r1 t13_mtls_server "$pre.log" "$ver" "$cs"; then
                judged java mtls-server "$ver" "$cs" "mtls server did not start" "" "$pre.log"
                continue
            fi
            jport[$ver-$cs]=$SPID:$SPORT:$T13_ONCE
            k=$(t13_client_cert "$cs")
            local spec="$ver-$cs,$SPORT,-,$W/java/$k.p12,$(conns_for "$cs"),$(java_protocols "$ver")"
            if [ "$cs" = keyupdate ]; then kspecs+=("$spec,4"); else specs+=("$spec,1"); fi
        done
    done
    [ ${#specs[@]} -gt 0 ] && jvm 120 -- client "$W/java/trust.p12" "$PW" "${specs[@]}" > "$W/java-c.out" 2>&1
    [ ${#kspecs[@]} -gt 0 ] && jvm 120 "-Djava.security.properties=$W/java/ku.security" -- \
        client "$W/java/trust.p12" "$PW" "${kspecs[@]}" > "$W/java-c-ku.out" 2>&1
    cat "$W/java-c.out" "$W/java-c-ku.out" > "$W/java-c.all" 2>/dev/null
    for ver in "${VERSIONS[@]}"; do
        for cs in "${CASES[@]}" keyupdate; do
            [ -n "${jport[$ver-$cs]:-}" ] || continue
            pre=$W/java-c-$ver-$cs
            k=$(t13_client_cert "$cs")
            c=$(t13_server_cert "$cs")
            n=$(conns_for "$cs")
            SPID=${jport[$ver-$cs]%%:*} T13_ONCE=${jport[$ver-$cs]##*:} T13_LOG=$pre.log
            local sst=0
            t13_stop_server "$n" || sst=$?
            why=""
            local i line
            for ((i = 1; i <= n; i++)); do
                line=$(grep -m1 "^RESULT $ver-$cs #$i " "$W/java-c.all" || true)
                if [ -z "$line" ]; then why="no report of connection $i from the Java client"; break; fi
                if [[ $line == *" FAIL "* ]]; then why="connection $i: ${line#* FAIL }"; break; fi
                if [[ $line != *" ok protocol=TLSv1.3 "* || $line != *" local-cert=sent "* ]]; then
                    why="connection $i: ${line#RESULT }"
                    break
                fi
                if [ "$i" -gt 1 ] && [[ $line != *" resumed=yes "* ]]; then
                    why="the Java client did not resume connection $i (same creation time)"
                    break
                fi
            done
            if [ -z "$why" ]; then
                why=$(t13_judge_server "$pre.log" "$cs" "$(cn_of "$k")" "$n")
                [ -z "$why" ] && [ "$cs" != resume ] && [ "$sst" != 0 ] && why="mtls server --once exited with status $sst"
            fi
            local detail="java: $(grep -m1 "^RESULT $ver-$cs #$n ok" "$W/java-c.all" | grep -o 'protocol=[^ ]* suite=[^ ]* resumed=[a-z]*')"
            [ "$cs" = keyupdate ] && detail="java: key limit 2^4 bytes, 4 tokens echoed"
            judged java mtls-server "$ver" "$cs" "$why" "$detail" "$pre.log" "$W/java-c.all"
        done
    done

    # -- mtls client -> Java server: one JVM for full and resume, one limited to secp256r1 for
    # hrr, one with the key limits for keyupdate
    local jvms=("full resume" "hrr" "keyupdate")
    local j
    for j in 0 1 2; do
        local opts=() sspecs=()
        [ "$j" = 1 ] && opts=(-Djdk.tls.namedGroups=secp256r1)
        [ "$j" = 2 ] && opts=("-Djava.security.properties=$W/java/ku.security")
        for ver in "${VERSIONS[@]}"; do
            for cs in ${jvms[$j]}; do
                c=$(t13_server_cert "$cs")
                sspecs+=("$ver-$cs,$W/java/$c.p12,-,$(conns_for "$cs"),$(java_protocols "$ver")")
            done
        done
        local jl=$W/java-s$j.out
        rm -f "$jl"
        jvm 180 "${opts[@]}" -- server "$W/java/trust.p12" "$PW" "${sspecs[@]}" > "$jl" 2>&1 &
        local jpid=$!
        PIDS+=("$jpid")
        if ! wait_for "$jl" '^READY' 60; then
            for ver in "${VERSIONS[@]}"; do
                for cs in ${jvms[$j]}; do judged java mtls-client "$ver" "$cs" "the Java server did not start" "" "$jl"; done
            done
            kill "$jpid" 2>/dev/null
            continue
        fi
        for ver in "${VERSIONS[@]}"; do
            for cs in ${jvms[$j]}; do
                pre=$W/java-s-$ver-$cs
                k=$(t13_client_cert "$cs")
                c=$(t13_server_cert "$cs")
                n=$(conns_for "$cs")
                local port cst=0
                port=$(awk -v n="$ver-$cs" '$1 == "LISTEN" && $2 == n { print $3 }' "$jl")
                TOK=$(token)
                case $cs in
                resume)
                    printf '%s\n' "$TOK" | t13_mtls_client "$pre.c1" "$port" "$ver" "$cs" --sess-out "$pre.sess" || cst=$?
                    why=$(t13_judge_client "$pre.c1" "$cst" "$cs" "$(cn_of "$c")")
                    if [ -z "$why" ]; then
                        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$port" "$ver" "$cs" --sess-in "$pre.sess" || cst=$?
                        why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")" resumed)
                    fi
                    ;;
                keyupdate)
                    # three tokens, each sent once the one before came back: the Java server
                    # passes its key limit on the first and sends KeyUpdate
                    local t2 t3
                    t2=$(token) t3=$(token)
                    rm -f "$pre.c.out"
                    {
                        printf '%s\n' "$TOK"
                        wait_for "$pre.c.out" "^$TOK\$" 15 && printf '%s\n' "$t2" &&
                            wait_for "$pre.c.out" "^$t2\$" 15 && printf '%s\n' "$t3" &&
                            wait_for "$pre.c.out" "^$t3\$" 15
                    } | t13_mtls_client "$pre.c" "$port" "$ver" "$cs" || cst=$?
                    why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")")
                    [ -z "$why" ] && ! { grep -qx -- "$t2" "$pre.c.out" && grep -qx -- "$t3" "$pre.c.out"; } &&
                        why="the tokens after the key update did not come back"
                    ;;
                *)
                    printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$port" "$ver" "$cs" || cst=$?
                    why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")")
                    ;;
                esac
                wait_for "$jl" "^CONN $ver-$cs #$n " 10
                [ -z "$why" ] && ! grep -qx -- "$TOK" "$pre.c.out" && why="the token did not come back from the Java server"
                if [ -z "$why" ]; then
                    local i line
                    for ((i = 1; i <= n; i++)); do
                        line=$(grep -m1 "^CONN $ver-$cs #$i " "$jl" || true)
                        if [[ $line != *" ok protocol=TLSv1.3 "* || $line != *" peer=CN=$(cn_of "$k") "* ]]; then
                            why="Java server, connection $i: ${line:-no report}"
                            break
                        fi
                        if [ "$i" -gt 1 ] && [[ $line != *" resumed=yes "* ]]; then
                            why="the Java server did not resume connection $i (same creation time)"
                            break
                        fi
                    done
                fi
                local detail="java: $(grep -m1 "^CONN $ver-$cs #$n ok" "$jl" | grep -o 'protocol=[^ ]* suite=[^ ]*') resumed=$(grep -m1 "^CONN $ver-$cs #$n ok" "$jl" | grep -o 'resumed=[a-z]*' | cut -d= -f2)"
                [ "$cs" = keyupdate ] && detail="java: key limit 2^4 bytes, 3 tokens echoed"
                judged java mtls-client "$ver" "$cs" "$why" "$detail" "$pre.c.err" "$pre.c1.err" "$jl"
            done
        done
        # every spec has served its connections: the JVM ends (bounded)
        wait_exit "$jpid" 20
    done
}

java_build() { # the classes, the trust store, a PKCS#12 store per certificate
    timeout 120 javac -d "$W/java/classes" "$SRC/tests/interop/java/TlsPeer.java" &&
        timeout 60 keytool -importcert -noprompt -alias mtls-test-root -file "$CA" -storetype PKCS12 \
            -keystore "$W/java/trust.p12" -storepass "$PW" || return 1
    local n
    for n in good ecdsa256 client client-ecdsa; do
        openssl pkcs12 -export -in "$PKI/$n.crt" -inkey "$PKI/$n.key" -name "$n" \
            -out "$W/java/$n.p12" -passout "pass:$PW" || return 1
    done
}

if want java; then
    if ! command -v java > /dev/null || ! command -v javac > /dev/null || ! command -v keytool > /dev/null; then
        skip_all java "mtls-server mtls-client" "java, javac or keytool missing (apt-get install openjdk-17-jdk-headless)"
    else
        peer_info java "$(java -version 2>&1 | head -n1)"
        mkdir -p "$W/java"
        printf '%s\n' "$KEYLIMITS" > "$W/java/ku.security"
        if java_build > "$W/java/build.log" 2>&1; then
            java_cells
        else
            show_log "$W/java/build.log"
            for ver in "${VERSIONS[@]}"; do
                for cs in "${CASES[@]}" keyupdate; do
                    cell java mtls-server "$ver" "$cs" FAIL "the Java peer could not be built (javac, keytool, pkcs12)"
                    cell java mtls-client "$ver" "$cs" FAIL "the Java peer could not be built (javac, keytool, pkcs12)"
                done
            done
        fi
    fi
fi

t13_summary
