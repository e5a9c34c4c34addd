#!/usr/bin/env bash
# interop.test.sh -- the `mtls` command against real TLS 1.2 stacks on loopback.
#
#   mtls client  ->  openssl s_server, gnutls-serv
#   openssl s_client, gnutls-cli, curl  ->  mtls server
#
# each with ECDHE-ECDSA, ECDHE-RSA, static RSA and mutual authentication (the peer requires, or
# supplies, a client certificate), a random token checked end to end and the negotiated suite
# checked in mtls's own report; then tshark decrypts a captured session with the key log that
# mtls wrote (server --keylog and client $SSLKEYLOGFILE), with a control that it cannot without;
# then s_client shows the CA names mtls server sends in its CertificateRequest (and none with
# --no-ca-names).
#
# Servers listen on 127.0.0.1 (gnutls-serv has no bind option and listens on all addresses, on a
# random high port, for one case at a time).  Ports are picked at run time; every wait is bounded
# with `timeout`; a trap kills every background process.  A missing peer program is reported and
# counted as a failure, never skipped.  Ends with a matrix and "N passed, N failed".
#
# Environment: MTLS_BUILD_DIR (tool at $MTLS_BUILD_DIR/tools/mtls), MTLS_SRC_DIR, and optionally
# MTLS_BIN (another tool binary), KEEP=1 (keep the work directory), VERBOSE=1 (show peer logs).
set -u

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shared helpers: show_log, wait_for, wait_exit, free_port, token, lib_cleanup
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TAIL=${TAIL:-8}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-interop.XXXXXX")
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASS=0
FAIL=0
declare -A RESULT
ROWS=()
COLS=(ecdhe-ecdsa ecdhe-rsa static-rsa mutual)

note() { printf '%s\n' "$*"; }

# record ROW COL pass|fail|"FAIL: reason"
record() {
    local row=$1 col=$2 verdict=$3
    case " ${ROWS[*]} " in *" $row "*) ;; *) ROWS+=("$row") ;; esac
    if [ "$verdict" = pass ]; then
        PASS=$((PASS + 1))
        RESULT[$row|$col]=pass
        note "  pass  $row / $col"
    else
        FAIL=$((FAIL + 1))
        RESULT[$row|$col]=FAIL
        note "  FAIL  $row / $col: ${verdict#FAIL: }"
    fi
}

have() { # PROGRAM: present, or say so (the caller counts the cases as failed)
    command -v "$1" >/dev/null 2>&1 && return 0
    note "  missing program: $1 (install it: apt-get install ${2:-$1}); its cases count as failed"
    return 1
}

# ---- preflight -----------------------------------------------------------------------------

if [ ! -x "$MTLS" ]; then
    echo "interop: $MTLS is not built; build first (cmake --build build)"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v openssl >/dev/null; then
    echo "interop: the openssl command is needed to make the test PKI (apt-get install openssl)"
    echo "0 passed, 1 failed"
    exit 1
fi

# ---- test PKI ------------------------------------------------------------------------------
# tests/pki/make-pki.sh when present (root -> intermediate -> leaves for good.test); otherwise the
# same names made here: ca.crt, good.{crt,key} (RSA-2048), ecdsa256.{crt,key} (P-256),
# client.{crt,key} (RSA, clientAuth), client-ecdsa.{crt,key} (P-256, clientAuth).
PKI=$W/pki
HOST=good.test
make_own_pki() {
    mkdir -p "$PKI" && cd "$PKI" || return 1
    local s=100
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null &&
        openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=mtls interop CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt 2>/dev/null || return 1
    leaf() { # NAME ALG EKU
        if [ "$2" = rsa ]; then
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
        else
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
        fi
        printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s,IP:127.0.0.1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
            "$3" "$HOST" > "$1.ext"
        s=$((s + 1))
        openssl req -new -key "$1.key" -subj "/CN=$HOST/O=mtls interop $1" -out "$1.csr" 2>/dev/null &&
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "$s" -days 1 \
                -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    leaf good rsa serverAuth,clientAuth && leaf ecdsa256 ec serverAuth,clientAuth &&
        leaf client rsa clientAuth && leaf client-ecdsa ec clientAuth
}
if [ -x "$SRC/tests/pki/make-pki.sh" ] || [ -f "$SRC/tests/pki/make-pki.sh" ]; then
    note "making the test PKI with tests/pki/make-pki.sh"
    if ! timeout 120 sh "$SRC/tests/pki/make-pki.sh" "$PKI" > "$W/pki.log" 2>&1; then
        note "  make-pki.sh failed (see below); making a small PKI here instead"
        show_log "$W/pki.log"
        rm -rf "$PKI"
        make_own_pki || { echo "interop: cannot make a test PKI"; echo "0 passed, 1 failed"; exit 1; }
    fi
else
    note "making a small test PKI with openssl"
    make_own_pki || { echo "interop: cannot make a test PKI"; echo "0 passed, 1 failed"; exit 1; }
fi
cd "$W" || exit 1
CA=$PKI/ca.crt
for f in "$CA" "$PKI/good.crt" "$PKI/ecdsa256.crt" "$PKI/client.crt" "$PKI/client-ecdsa.crt"; do
    [ -s "$f" ] || { echo "interop: $f is missing from the PKI"; echo "0 passed, 1 failed"; exit 1; }
done

# Per column: server certificate, suite for OpenSSL-based peers, GnuTLS key exchange, expected
# suite prefix in mtls's report.
cert_for() { case $1 in ecdhe-rsa | static-rsa) echo good ;; *) echo ecdsa256 ;; esac; }
ossl_cipher() {
    case $1 in
    ecdhe-ecdsa | mutual) echo ECDHE-ECDSA-AES128-GCM-SHA256 ;;
    ecdhe-rsa) echo ECDHE-RSA-AES256-GCM-SHA384 ;;
    static-rsa) echo AES128-GCM-SHA256 ;;
    esac
}
gnutls_prio() {
    local base="NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL"
    case $1 in
    ecdhe-ecdsa | mutual) echo "$base:+ECDHE-ECDSA" ;;
    ecdhe-rsa) echo "$base:+ECDHE-RSA:-AES-128-GCM:-AES-256-GCM:+CHACHA20-POLY1305" ;;
    static-rsa) echo "$base:+RSA" ;;
    esac
}
suite_re() {
    case $1 in
    ecdhe-ecdsa | mutual) echo 'TLS_ECDHE_ECDSA_WITH_' ;;
    ecdhe-rsa) echo 'TLS_ECDHE_RSA_WITH_' ;;
    static-rsa) echo 'TLS_RSA_WITH_' ;;
    esac
}

# ---- mtls server side helpers --------------------------------------------------------------

# start_mtls_server LOG ARGS...: sets MPID and MPORT
start_mtls_server() {
    local log=$1 st=0
    shift
    mtls_listen "$log" 60 --once --timeout 20 "$@" || st=$?
    MPID=$LISTEN_PID
    MPORT=$LISTEN_PORT
    return $st
}

# finish_mtls_server: wait (bounded) for the --once server; its exit status
finish_mtls_server() {
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$MPID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$MPID" 2>/dev/null
    wait "$MPID" 2>/dev/null
}

server_args() { # COL: certificate and client-auth options for mtls server
    local c
    c=$(cert_for "$1")
    echo "--cert $PKI/$c.crt --key $PKI/$c.key"
    [ "$1" = mutual ] && echo "--ca $CA --verify-client require"
}

# check_server_side ROW COL LOG OUT TOKEN STATUS PEER_STATUS
check_server_side() {
    local row=$1 col=$2 log=$3 out=$4 tok=$5 st=$6 pst=$7 why=""
    if [ "$pst" != 0 ]; then
        why="peer exited with status $pst"
    elif ! grep -q -- "$tok" "$out"; then
        why="token not echoed back"
    elif ! grep -Eq "$(suite_re "$col")" "$log"; then
        why="unexpected suite: $(grep -o 'TLS_[A-Z0-9_]*' "$log" | head -n1)"
    elif [ "$col" = mutual ] && ! grep -q 'client certificate: .*CN=' "$log"; then
        why="mtls server did not report the client certificate"
    elif [ "$st" != 0 ]; then
        why="mtls server exited with status $st (not a clean close)"
    fi
    if [ -z "$why" ]; then
        record "$row" "$col" pass
    else
        record "$row" "$col" "FAIL: $why"
        show_log "$log" "$out" "$W/peer.err"
    fi
    [ "${VERBOSE:-0}" = 1 ] && show_log "$log" "$out" "$W/peer.err"
}

# ---- mtls client side helpers --------------------------------------------------------------

# run_mtls_client PORT TOKEN ARGS...: stdout in $W/client.out, stderr in $W/client.err
run_mtls_client() {
    local port=$1 tok=$2
    shift 2
    printf '%s\n' "$tok" | timeout 30 "$MTLS" client "127.0.0.1:$port" --servername "$HOST" \
        --ca "$CA" --timeout 10 "$@" > "$W/client.out" 2> "$W/client.err"
}

client_args() { # COL
    [ "$1" = mutual ] && echo "--cert $PKI/client.crt --key $PKI/client.key"
}

# check_client_side ROW COL STATUS EXPECTED_OUTPUT SERVER_LOG
check_client_side() {
    local row=$1 col=$2 st=$3 want=$4 slog=$5 why=""
    if [ "$st" != 0 ]; then
        why="mtls client exited with status $st: $(tail -n1 "$W/client.err")"
    elif ! grep -q -- "$want" "$W/client.out"; then
        why="token not received back"
    elif ! grep -Eq "$(suite_re "$col")" "$W/client.err"; then
        why="unexpected suite: $(grep -o 'TLS_[A-Z0-9_]*' "$W/client.err" | head -n1)"
    fi
    if [ -z "$why" ]; then
        record "$row" "$col" pass
    else
        record "$row" "$col" "FAIL: $why"
        show_log "$W/client.err" "$W/client.out" "$slog"
    fi
    [ "${VERBOSE:-0}" = 1 ] && show_log "$W/client.err" "$slog"
}

# ---- 1. mtls client -> openssl s_server ----------------------------------------------------

note "mtls client -> openssl s_server"
for col in "${COLS[@]}"; do
    row="mtls-client->openssl"
    have openssl || { record "$row" "$col" "FAIL: openssl missing"; continue; }
    c=$(cert_for "$col")
    extra=()
    [ "$col" = mutual ] && extra=(-Verify 2 -CAfile "$CA" -verify_return_error)
    started=0
    for try in 1 2 3; do
        port=$(free_port)
        rm -f "$W/peer.log"
        timeout 60 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev -tls1_2 \
            -cert "$PKI/$c.crt" -cert_chain "$PKI/$c.crt" -key "$PKI/$c.key" -cipher "$(ossl_cipher "$col")" \
            "${extra[@]}" > "$W/peer.log" 2>&1 < /dev/null &
        spid=$!
        PIDS+=("$spid")
        if wait_for "$W/peer.log" '^ACCEPT' 10; then
            started=1
            break
        fi
        kill "$spid" 2>/dev/null
    done
    if [ "$started" != 1 ]; then
        record "$row" "$col" "FAIL: openssl s_server did not start"
        show_log "$W/peer.log"
        continue
    fi
    tok=$(token)
    # shellcheck disable=SC2046
    run_mtls_client "$port" "$tok" $(client_args "$col")
    st=$?
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    check_client_side "$row" "$col" "$st" "$(printf '%s' "$tok" | rev)" "$W/peer.log"
done

# ---- 2. mtls client -> gnutls-serv ---------------------------------------------------------

note "mtls client -> gnutls-serv"
for col in "${COLS[@]}"; do
    row="mtls-client->gnutls"
    have gnutls-serv gnutls-bin || { record "$row" "$col" "FAIL: gnutls-serv missing"; continue; }
    c=$(cert_for "$col")
    if [ "$col" = mutual ]; then
        extra=(--require-client-cert --verify-client-cert --x509cafile "$CA")
    else
        extra=(--disable-client-cert)
    fi
    started=0
    for try in 1 2 3; do
        port=$(free_port)
        rm -f "$W/peer.log"
        timeout 60 gnutls-serv --echo -p "$port" --x509certfile "$PKI/$c.crt" \
            --x509keyfile "$PKI/$c.key" --priority "$(gnutls_prio "$col")" "${extra[@]}" \
            > "$W/peer.log" 2>&1 < /dev/null &
        spid=$!
        PIDS+=("$spid")
        # gnutls-serv says "listening" for IPv6 even when the IPv4 bind failed: check both
        if wait_for "$W/peer.log" 'listening' 10 && ! grep -q 'bind() failed' "$W/peer.log"; then
            started=1
            break
        fi
        kill "$spid" 2>/dev/null
    done
    if [ "$started" != 1 ]; then
        record "$row" "$col" "FAIL: gnutls-serv did not start"
        show_log "$W/peer.log"
        continue
    fi
    tok=$(token)
    # shellcheck disable=SC2046
    run_mtls_client "$port" "$tok" $(client_args "$col")
    st=$?
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    check_client_side "$row" "$col" "$st" "$tok" "$W/peer.log"
done

# ---- 3. openssl s_client -> mtls server ----------------------------------------------------

note "openssl s_client -> mtls server"
for col in "${COLS[@]}"; do
    row="openssl->mtls-server"
    have openssl || { record "$row" "$col" "FAIL: openssl missing"; continue; }
    # shellcheck disable=SC2046
    if ! start_mtls_server "$W/server.log" $(server_args "$col"); then
        record "$row" "$col" "FAIL: mtls server did not start"
        show_log "$W/server.log"
        continue
    fi
    extra=()
    [ "$col" = mutual ] && extra=(-cert "$PKI/client.crt" -cert_chain "$PKI/client.crt" -key "$PKI/client.key")
    tok=$(token)
    (printf '%s\n' "$tok"; sleep 1) | timeout 30 openssl s_client -connect "127.0.0.1:$MPORT" \
        -tls1_2 -cipher "$(ossl_cipher "$col")" -servername "$HOST" -verify_hostname "$HOST" \
        -CAfile "$CA" -verify_return_error -quiet -no_ign_eof "${extra[@]}" \
        > "$W/peer.out" 2> "$W/peer.err"
    pst=$?
    finish_mtls_server
    check_server_side "$row" "$col" "$W/server.log" "$W/peer.out" "$tok" "$?" "$pst"
done

# ---- 4. gnutls-cli -> mtls server ----------------------------------------------------------

note "gnutls-cli -> mtls server"
for col in "${COLS[@]}"; do
    row="gnutls->mtls-server"
    have gnutls-cli gnutls-bin || { record "$row" "$col" "FAIL: gnutls-cli missing"; continue; }
    # shellcheck disable=SC2046
    if ! start_mtls_server "$W/server.log" $(server_args "$col"); then
        record "$row" "$col" "FAIL: mtls server did not start"
        show_log "$W/server.log"
        continue
    fi
    extra=()
    [ "$col" = mutual ] && extra=(--x509certfile "$PKI/client-ecdsa.crt" --x509keyfile "$PKI/client-ecdsa.key")
    tok=$(token)
    (printf '%s\n' "$tok"; sleep 1) | timeout 30 gnutls-cli -p "$MPORT" --x509cafile "$CA" \
        --priority "$(gnutls_prio "$col")" --verify-hostname "$HOST" "${extra[@]}" 127.0.0.1 \
        > "$W/peer.out" 2> "$W/peer.err"
    pst=$?
    finish_mtls_server
    check_server_side "$row" "$col" "$W/server.log" "$W/peer.out" "$tok" "$?" "$pst"
done

# ---- 5. curl -> mtls server --http ---------------------------------------------------------

note "curl -> mtls server --http"
for col in "${COLS[@]}"; do
    row="curl->mtls-server"
    have curl || { record "$row" "$col" "FAIL: curl missing"; continue; }
    # shellcheck disable=SC2046
    if ! start_mtls_server "$W/server.log" --http $(server_args "$col"); then
        record "$row" "$col" "FAIL: mtls server did not start"
        show_log "$W/server.log"
        continue
    fi
    extra=()
    [ "$col" = mutual ] && extra=(--cert "$PKI/client.crt" --key "$PKI/client.key")
    tok=$(token)
    timeout 30 curl -sS --max-time 20 --tlsv1.2 --tls-max 1.2 --ciphers "$(ossl_cipher "$col")" \
        --cacert "$CA" --resolve "$HOST:$MPORT:127.0.0.1" "${extra[@]}" \
        "https://$HOST:$MPORT/$tok" > "$W/peer.out" 2> "$W/peer.err"
    pst=$?
    finish_mtls_server
    check_server_side "$row" "$col" "$W/server.log" "$W/peer.out" "$tok" "$?" "$pst"
done

# ---- 6. key log: tshark decrypts a captured session ----------------------------------------

note "key log -> tshark"
keylog_case() { # NAME VERSION: "server" (mtls server --keylog) or "client" ($SSLKEYLOGFILE); 1.2 or 1.3
    local name=$1 version=$2 row="keylog(tshark)" kl="$W/keylog-$1.txt" cap="$W/cap-$1.pcapng" why=""
    local key=$name line
    [ "$version" = 1.3 ] && key=$name-tls13
    rm -f "$kl" "$cap"
    local sargs=(--cert "$PKI/ecdsa256.crt" --key "$PKI/ecdsa256.key" "--tls$version")
    [ "$name" = server ] && sargs+=(--keylog "$kl")
    # TLS 1.2: the master secret by client random; TLS 1.3: the traffic secrets (RFC 8446 7.1)
    if [ "$version" = 1.3 ]; then
        line='^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]\{64\} [0-9a-f]\{64\}$'
    else
        line='^CLIENT_RANDOM [0-9a-f]\{64\} [0-9a-f]\{96\}$'
    fi
    if ! start_mtls_server "$W/server.log" "${sargs[@]}"; then
        record "$row" "$key" "FAIL: mtls server did not start"
        return
    fi
    # A UDP probe port rides in the same capture: tshark says 'Capturing on' before its capture
    # child has the filter on the socket, and on a busy machine a whole session can go by in
    # between (0 packets captured).  Probes go out until one is in the capture file, so the
    # session starts only once the capture provably sees loopback traffic.
    local probe=$((MPORT + 1))
    timeout 90 tshark -i lo -f "tcp port $MPORT or udp port $probe" -w "$cap" -a duration:80 \
        > "$W/tshark.log" 2>&1 &
    local tpid=$!
    PIDS+=("$tpid")
    if ! wait_for "$W/tshark.log" 'Capturing on' 15; then
        record "$row" "$key" "FAIL: tshark cannot capture on lo (needs root or the wireshark group): $(grep -v '^Running as' "$W/tshark.log" | head -n1)"
        kill "$tpid" "$MPID" 2>/dev/null
        return
    fi
    local live=0
    for ((i = 0; i < 60; i++)); do
        printf 'probe' > "/dev/udp/127.0.0.1/$probe" 2>/dev/null
        if [ "$(timeout 10 tshark -r "$cap" -Y udp 2>/dev/null | wc -l)" -ge 1 ]; then
            live=1
            break
        fi
        sleep 0.25
    done
    if [ "$live" != 1 ]; then
        record "$row" "$key" "FAIL: tshark's capture on lo saw none of 60 probe packets in 15 s"
        kill "$tpid" "$MPID" 2>/dev/null
        return
    fi
    local tok
    tok=$(token)
    if [ "$name" = client ]; then
        SSLKEYLOGFILE=$kl run_mtls_client "$MPORT" "$tok"
    else
        run_mtls_client "$MPORT" "$tok"
    fi
    local st=$?
    finish_mtls_server
    # The capture is delivered in blocks (libpcap's TPACKET_V3 waits up to its block timeout), so
    # stopping tshark right after the client ends can lose every packet on a busy machine: wait
    # until the capture holds the session (a handshake and the token are well over 8 packets).
    for ((i = 0; i < 100; i++)); do
        [ "$(timeout 10 tshark -r "$cap" -Y tcp 2>/dev/null | wc -l)" -ge 8 ] && break
        sleep 0.1
    done
    kill -INT "$tpid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
    wait "$tpid" 2>/dev/null
    local hex
    hex=$(printf '%s' "$tok" | od -An -tx1 | tr -d ' \n')
    if [ "$st" != 0 ]; then
        why="mtls client failed: $(tail -n1 "$W/client.err")"
    elif ! grep -q "$line" "$kl" 2>/dev/null; then
        why="no line matching $line in the key log"
    elif ! timeout 60 tshark -r "$cap" -o "tls.keylog_file:$kl" -d "tcp.port==$MPORT,tls" \
        -T fields -e data.data 2> "$W/tshark-read.log" | grep -q "$hex"; then
        why="tshark did not decrypt the token with the key log"
    elif timeout 60 tshark -r "$cap" -o "tls.keylog_file:/dev/null" -d "tcp.port==$MPORT,tls" \
        -T fields -e data.data 2> /dev/null | grep -q "$hex"; then
        why="control failed: the token is visible without the key log"
    fi
    if [ -z "$why" ]; then
        record "$row" "$key" pass
    else
        record "$row" "$key" "FAIL: $why"
        show_log "$W/tshark.log" "$W/tshark-read.log" "$W/client.err"
    fi
}
if have tshark; then
    keylog_case server 1.2
    keylog_case client 1.2
    keylog_case server 1.3
    keylog_case client 1.3
else
    for k in server client server-tls13 client-tls13; do
        record "keylog(tshark)" "$k" "FAIL: tshark missing"
    done
fi

# ---- 7. errors a person can act on ---------------------------------------------------------

note "actionable errors"
row="errors"
# A server that requires a client certificate, and a client without one (TLS 1.2: the server's
# handshake_failure ends the handshake; TLS 1.3 below).
if start_mtls_server "$W/server.log" --cert "$PKI/ecdsa256.crt" --key "$PKI/ecdsa256.key" \
    --ca "$CA" --verify-client require --tls1.2; then
    run_mtls_client "$MPORT" "$(token)"
    st=$?
    finish_mtls_server
    if [ "$st" != 0 ] && [ "$(wc -l < "$W/client.err")" -le 2 ] &&
        grep -q -- '--cert and --key' "$W/client.err"; then
        record "$row" no-client-cert pass
    else
        record "$row" no-client-cert "FAIL: status $st, message: $(tail -n1 "$W/client.err")"
    fi
else
    record "$row" no-client-cert "FAIL: mtls server did not start"
fi
# The same in TLS 1.3: the client has finished its handshake when the server's
# certificate_required comes (RFC 8446 4.4.2.4), so its "connected" lines come first.
if start_mtls_server "$W/server.log" --cert "$PKI/ecdsa256.crt" --key "$PKI/ecdsa256.key" \
    --ca "$CA" --verify-client require --tls1.3; then
    run_mtls_client "$MPORT" "$(token)"
    st=$?
    finish_mtls_server
    if [ "$st" != 0 ] && grep -q 'certificate_required' "$W/client.err" &&
        grep -q -- '--cert and --key' "$W/client.err"; then
        record "$row" no-client-cert-tls13 pass
    else
        record "$row" no-client-cert-tls13 "FAIL: status $st, message: $(tail -n1 "$W/client.err")"
    fi
else
    record "$row" no-client-cert-tls13 "FAIL: mtls server did not start"
fi
# A client that does not trust the server's CA (it trusts another, throwaway one).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/other.key" \
    -out "$W/other-ca.crt" -subj "/CN=mtls interop other CA" -days 1 > /dev/null 2>&1
if start_mtls_server "$W/server.log" --cert "$PKI/ecdsa256.crt" --key "$PKI/ecdsa256.key"; then
    printf 'x\n' | timeout 30 "$MTLS" client "127.0.0.1:$MPORT" --servername "$HOST" \
        --ca "$W/other-ca.crt" --timeout 10 > "$W/client.out" 2> "$W/client.err"
    st=$?
    finish_mtls_server
    if [ "$st" != 0 ] && grep -q -- '--ca' "$W/client.err"; then
        record "$row" unknown-ca pass
    else
        record "$row" unknown-ca "FAIL: status $st, message: $(tail -n1 "$W/client.err")"
    fi
else
    record "$row" unknown-ca "FAIL: mtls server did not start"
fi

# ---- 8. CA names in the CertificateRequest -------------------------------------------------

# RFC 5246 7.4.4 certificate_authorities, as openssl s_client shows it: mtls server names its
# --ca CA ("Acceptable client certificate CA names" then the CA's subject, as `openssl x509
# -subject` prints it), and none with --no-ca-names; the session goes through either way.
note "CA names -> openssl s_client"
row="ca-names"
ca_subject=$(openssl x509 -in "$CA" -noout -subject 2>/dev/null | sed 's/^subject= *//')
ca_names_case() { # NAME [SERVER ARGS...]
    local name=$1 why=""
    shift
    if ! start_mtls_server "$W/server.log" --cert "$PKI/ecdsa256.crt" --key "$PKI/ecdsa256.key" \
        --ca "$CA" --verify-client require "$@"; then
        record "$row" "$name" "FAIL: mtls server did not start"
        return
    fi
    local tok
    tok=$(token)
    (printf '%s\n' "$tok"; sleep 1) | timeout 30 openssl s_client -connect "127.0.0.1:$MPORT" \
        -tls1_2 -servername "$HOST" -CAfile "$CA" -cert "$PKI/client.crt" \
        -cert_chain "$PKI/client.crt" -key "$PKI/client.key" -no_ign_eof > "$W/ossl.out" 2> "$W/peer.err"
    finish_mtls_server
    # the line after the heading, up to the next heading
    local listed
    listed=$(sed -n '/^Acceptable client certificate CA names/,/^[A-Z][a-z]* [A-Za-z ]*:/p' "$W/ossl.out" |
        sed '1d;$d')
    if ! grep -q 'client certificate: .*CN=' "$W/server.log"; then
        why="mtls server did not report the client certificate"
    elif [ "$name" = sent ] && [ "$listed" != "$ca_subject" ]; then
        why="s_client lists '${listed:-nothing}', expected '$ca_subject'"
    elif [ "$name" = none ] && ! grep -q '^No client certificate CA names sent' "$W/ossl.out"; then
        why="s_client does not say 'No client certificate CA names sent'"
    fi
    if [ -z "$why" ]; then
        record "$row" "$name" pass
    else
        record "$row" "$name" "FAIL: $why"
        show_log "$W/server.log" "$W/ossl.out" "$W/peer.err"
    fi
}
if have openssl; then
    ca_names_case sent
    ca_names_case none --no-ca-names
else
    record "$row" sent "FAIL: openssl missing"
    record "$row" none "FAIL: openssl missing"
fi

# ---- matrix ---------------------------------------------------------------------------------

echo
echo "interop matrix (TLS 1.2; pass/FAIL; - not applicable)"
printf '%-24s' ""
for col in "${COLS[@]}"; do printf '%-13s' "$col"; done
echo
for row in "${ROWS[@]}"; do
    case $row in keylog* | errors | ca-names) continue ;; esac
    printf '%-24s' "$row"
    for col in "${COLS[@]}"; do printf '%-13s' "${RESULT[$row|$col]:--}"; done
    echo
done
printf '%-24s' "keylog(tshark)"
printf 'server --keylog: %-6s client SSLKEYLOGFILE: %s\n' "${RESULT[keylog(tshark)|server]:--}" \
    "${RESULT[keylog(tshark)|client]:--}"
printf '%-24s' "keylog(tshark) TLS 1.3"
printf 'server --keylog: %-6s client SSLKEYLOGFILE: %s\n' \
    "${RESULT[keylog(tshark)|server-tls13]:--}" "${RESULT[keylog(tshark)|client-tls13]:--}"
printf '%-24s' "errors"
printf 'no client cert: %-7s (TLS 1.3: %s) unknown CA: %s\n' "${RESULT[errors|no-client-cert]:--}" \
    "${RESULT[errors|no-client-cert-tls13]:--}" "${RESULT[errors|unknown-ca]:--}"
printf '%-24s' "ca-names(s_client)"
printf 'named: %-16s --no-ca-names: %s\n' "${RESULT[ca-names|sent]:--}" "${RESULT[ca-names|none]:--}"
echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
