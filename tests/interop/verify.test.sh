#!/usr/bin/env bash
# verify.test.sh -- certificate verification against OpenSSL on loopback, every case of the test
# PKI (tests/pki/make-pki.sh; cases.txt gives "<case> <host> <server verdict> <client verdict>").
#
#   A. openssl s_client -tls1_2 -verify_return_error -CAfile ca.crt (host name checked, security
#      level 2 like mtls) -> `mtls server` presenting the case's chain: a valid chain completes
#      and the data comes back; a bad one makes s_client fail (non-zero, "verify error") and the
#      mtls server report the client's alert.
#   B. `mtls client` presenting the case's chain as its client certificate -> openssl s_server
#      -tls1_2 -Verify 1 -CAfile ca.crt -verify_return_error: a valid certificate gets through and
#      the data comes back; a bad one is refused (s_server logs the verify error) and mtls client
#      fails with one line saying the server sent an alert about our client certificate.
#   C. `mtls client --ca ca.crt` -> openssl s_server presenting the case's chain: mtls's verdict is
#      the "server verdict" column; a failure is one line with the key words of that error, the
#      certificate's CN, and s_server receives the alert of src/core/err.def for it.
#   D. the pairs mtls refuses to load: mismatch.crt + mismatch.key (key does not belong to the
#      certificate) and the 1024-bit RSA key, for mtls server and mtls client, with a clear message.
#
# Ports: mtls server listens on 127.0.0.1:0 and prints the port; openssl s_server tries random
# high ports (three tries).  Every wait is bounded with `timeout`; a trap kills the background
# processes.  Prints one line per case and "N passed, N failed" alone on the last line; exits
# non-zero on any failure.  Environment: MTLS_BUILD_DIR (tool at $MTLS_BUILD_DIR/tools/mtls),
# MTLS_SRC_DIR, optionally MTLS_BIN, KEEP=1 (keep the work directory), VERBOSE=1.
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shared helpers: show_log, wait_for, wait_exit, free_port, token, lib_cleanup
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TAIL=${TAIL:-6}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-verify.XXXXXX")
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
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

# result NAME pass|"FAIL: why" [INFO]
result() {
    if [ "$2" = pass ]; then
        PASS=$((PASS + 1))
        printf '  pass  %-34s %s\n' "$1" "${3:-}"
    else
        FAIL=$((FAIL + 1))
        printf '  FAIL  %-34s %s\n' "$1" "${2#FAIL: }"
        [ -n "${3:-}" ] && printf '        %s\n' "$3"
    fi
    return 0
}

# stop PID: kill a background process (if still running) and reap it, bounded
stop() {
    local i
    for ((i = 0; i < 30; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# RFC 5246 7.2 numbers of the alerts err.def names.
alert_number() {
    case $1 in
    BAD_CERTIFICATE) echo 42 ;; UNSUPPORTED_CERTIFICATE) echo 43 ;;
    CERTIFICATE_EXPIRED) echo 45 ;; CERTIFICATE_UNKNOWN) echo 46 ;; UNKNOWN_CA) echo 48 ;;
    INSUFFICIENT_SECURITY) echo 71 ;; HANDSHAKE_FAILURE) echo 40 ;; *) echo "?" ;;
    esac
}
# err.def's alert column for error NAME (CERT_EXPIRED -> CERTIFICATE_EXPIRED)
err_alert() {
    sed -n "s/^E($1, *[A-Z_]*, *\([A-Z_]*\),.*/\1/p" "$SRC/src/core/err.def" | head -n1
}
# Key words of the one-line message mtls prints for each certificate error.
err_words() {
    case $1 in
    CERT_EXPIRED) echo "expired at" ;;
    CERT_NOT_YET_VALID) echo "is not valid before" ;;
    CERT_HOSTNAME) echo "does not match host" ;;
    CERT_EKU) echo "(serverAuth)" ;;
    CERT_NOT_CA) echo "is not a CA" ;;
    CERT_PATH_LEN) echo "pathLenConstraint" ;;
    CERT_WEAK_KEY) echo "1024-bit RSA key" ;;
    CERT_WEAK_SIGNATURE) echo "broken hash" ;;
    CERT_BAD_SIGNATURE) echo "does not verify" ;;
    CERT_UNKNOWN_CA) echo "not in the trust store|neither in the trust store" ;;
    CERT_SELF_SIGNED) echo "is self-signed" ;;
    *) echo "$1" ;;
    esac
}

# ---- preflight and PKI ---------------------------------------------------------------------

if [ ! -x "$MTLS" ]; then
    echo "verify: $MTLS is not built; build first (cmake --build build)"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "verify: the openssl command is needed (apt-get install openssl)"
    echo "0 passed, 1 failed"
    exit 1
fi
PKI=$W/pki
if ! timeout 120 sh "$SRC/tests/pki/make-pki.sh" "$PKI" > "$W/pki.log" 2>&1; then
    echo "verify: tests/pki/make-pki.sh failed"
    show_log "$W/pki.log"
    echo "0 passed, 1 failed"
    exit 1
fi
CA=$PKI/ca.crt
echo "$(openssl version); test PKI in $PKI"
cd "$W"

# mtls cannot present these (refused at configuration, section D)
unloadable() { [ "$1" = rsa1024 ] || [ "$1" = mismatch ]; }

# start_mtls_server LOG ARGS...: sets MPID and MPORT
start_mtls_server() {
    local log=$1 st=0
    shift
    mtls_listen "$log" 60 --once --timeout 10 "$@" || st=$?
    MPID=$LISTEN_PID
    MPORT=$LISTEN_PORT
    return $st
}

# start_ossl_server LOG ARGS...: openssl s_server on a random free port; sets SPID and SPORT
start_ossl_server() {
    local log=$1
    shift
    for _ in 1 2 3; do
        SPORT=$((10000 + RANDOM % 22000))
        rm -f "$log"
        timeout 60 openssl s_server -accept "127.0.0.1:$SPORT" -naccept 1 -rev -tls1_2 "$@" \
            > "$log" 2>&1 < /dev/null &
        SPID=$!
        PIDS+=("$SPID")
        if wait_for "$log" '^ACCEPT' 10; then
            return 0
        fi
        kill "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    done
    return 1
}

one_line() { # FILE: its last non-empty line
    grep -v '^$' "$1" 2>/dev/null | tail -n 1 || true
}

# ---- A. openssl s_client -> mtls server (server certificate checked by OpenSSL) -------------

echo "A. openssl s_client -verify_return_error -> mtls server presenting the case's chain"
while read -r name host sv _cv; do
    unloadable "$name" && continue
    label="A $name"
    if ! start_mtls_server "$W/server.log" --cert "$PKI/$name.crt" --key "$PKI/$name.key"; then
        result "$label" "FAIL: mtls server did not start" "$(one_line "$W/server.log")"
        continue
    fi
    if [[ $host =~ ^[0-9.]+$ ]]; then
        hostargs=(-verify_ip "$host")
    else
        hostargs=(-servername "$host" -verify_hostname "$host")
    fi
    tok=$(token)
    st=0
    (printf '%s\n' "$tok"; sleep 1) | timeout 30 openssl s_client -connect "127.0.0.1:$MPORT" \
        -tls1_2 -verify_return_error -CAfile "$CA" -auth_level 2 "${hostargs[@]}" -quiet \
        -no_ign_eof > "$W/peer.out" 2> "$W/peer.err" || st=$?
    stop "$MPID"
    why=""
    if [ "$sv" = OK ]; then
        if [ "$st" != 0 ]; then
            why="s_client exited with $st: $(grep -m1 'verify error' "$W/peer.err" || one_line "$W/peer.err")"
        elif ! grep -q -- "$tok" "$W/peer.out"; then
            why="token not echoed back"
        fi
        info="verified by OpenSSL, data echoed"
    else
        verr=$(grep -m1 'verify error' "$W/peer.err" || true)
        if [ "$st" = 0 ]; then
            why="s_client accepted a $sv chain"
        elif [ -z "$verr" ]; then
            why="s_client failed without a verify error: $(one_line "$W/peer.err")"
        elif ! grep -q 'the client sent alert' "$W/server.log"; then
            why="mtls server did not report the client's alert: $(one_line "$W/server.log")"
        fi
        info="openssl: ${verr#verify error:}; mtls server: $(sed -n 's/.*failed: //p' "$W/server.log" | head -n1)"
    fi
    if [ -z "$why" ]; then
        result "$label" pass "$info"
    else
        result "$label" "FAIL: $why"
        show_log "$W/server.log" "$W/peer.err"
    fi
done < "$PKI/cases.txt"

# ---- B. mtls client (client certificate) -> openssl s_server -Verify 1 ----------------------

echo "B. mtls client presenting the case's chain -> openssl s_server -Verify 1 -verify_return_error"
while read -r name _host _sv cv; do
    unloadable "$name" && continue
    label="B $name"
    if ! start_ossl_server "$W/peer.log" -cert "$PKI/good.crt" -cert_chain "$PKI/good.crt" \
        -key "$PKI/good.key" -Verify 1 -CAfile "$CA" -verify_return_error -auth_level 2; then
        result "$label" "FAIL: openssl s_server did not start" "$(one_line "$W/peer.log")"
        continue
    fi
    tok=$(token)
    st=0
    printf '%s\n' "$tok" | timeout 30 "$MTLS" client "127.0.0.1:$SPORT" --servername good.test \
        --ca "$CA" --cert "$PKI/$name.crt" --key "$PKI/$name.key" --timeout 10 \
        > "$W/client.out" 2> "$W/client.err" || st=$?
    stop "$SPID"
    why=""
    if [ "$cv" = OK ]; then
        rev=$(printf '%s' "$tok" | rev)
        if [ "$st" != 0 ]; then
            why="mtls client exited with $st: $(one_line "$W/client.err")"
        elif ! grep -q -- "$rev" "$W/client.out"; then
            why="token not received back"
        fi
        info="accepted by OpenSSL, data echoed"
    else
        line=$(one_line "$W/client.err")
        verr=$(grep -m1 -E 'verify error|certificate verify failed|verify return' "$W/peer.log" || true)
        if [ "$st" = 0 ]; then
            why="OpenSSL accepted a $cv client certificate"
        elif [ "$(grep -c . "$W/client.err")" != 1 ]; then
            why="mtls client printed $(grep -c . "$W/client.err") lines, not one"
        elif ! [[ $line == *"the server sent alert"* ]]; then
            why="mtls client's message does not name the server's alert: $line"
        elif ! [[ $line == *"client certificate"* || $line == *"alert decrypt_error"* ]]; then
            # OpenSSL answers a bad signature on a certificate with decrypt_error (RFC 5246 7.2:
            # "unable to correctly verify a signature"); every other refusal is a certificate alert
            why="mtls client's message does not say the server rejected our client certificate: $line"
        elif [ -z "$verr" ]; then
            why="s_server logged no verify error"
        fi
        info="openssl: $(grep -m1 'verify error' "$W/peer.log" | sed 's/^verify error://' || true); mtls client: ${line#*failed: }"
    fi
    if [ -z "$why" ]; then
        result "$label" pass "$info"
    else
        result "$label" "FAIL: $why"
        show_log "$W/client.err" "$W/peer.log"
    fi
done < "$PKI/cases.txt"

# ---- C. mtls client -> openssl s_server presenting the case's chain --------------------------

echo "C. mtls client --ca ca.crt -> openssl s_server presenting the case's chain"
while read -r name host sv _cv; do
    label="C $name"
    key=$name
    [ "$name" = mismatch ] && key=good # the chain is good; its own key is in good.key
    # SECLEVEL=0 so that OpenSSL will serve the 1024-bit and SHA-1 certificates at all
    if ! start_ossl_server "$W/peer.log" -cert "$PKI/$name.crt" -cert_chain "$PKI/$name.crt" \
        -key "$PKI/$key.key" -cipher 'DEFAULT:@SECLEVEL=0'; then
        result "$label" "FAIL: openssl s_server did not start" "$(one_line "$W/peer.log")"
        continue
    fi
    tok=$(token)
    st=0
    sni=()
    [[ $host =~ ^[0-9.]+$ ]] || sni=(--servername "$host")
    printf '%s\n' "$tok" | timeout 30 "$MTLS" client "127.0.0.1:$SPORT" "${sni[@]}" --ca "$CA" \
        --timeout 10 > "$W/client.out" 2> "$W/client.err" || st=$?
    stop "$SPID"
    why=""
    line=$(one_line "$W/client.err")
    if [ "$sv" = OK ]; then
        rev=$(printf '%s' "$tok" | rev)
        if [ "$st" != 0 ]; then
            why="mtls client exited with $st: $line"
        elif ! grep -q -- "$rev" "$W/client.out"; then
            why="token not received back"
        fi
        info="verified by mtls, data echoed"
    else
        words=$(err_words "$sv")
        alert=$(err_alert "$sv")
        num=$(alert_number "$alert")
        cn=$(openssl x509 -in "$PKI/$name.leaf.crt" -noout -subject -nameopt multiline |
            sed -n 's/^ *commonName *= *//p')
        if [ "$st" = 0 ]; then
            why="mtls client accepted a $sv chain"
        elif [ "$(grep -c . "$W/client.err")" != 1 ]; then
            why="mtls client printed $(grep -c . "$W/client.err") lines, not one"
        elif ! grep -Eq -- "$words" "$W/client.err"; then
            why="message lacks '$words': $line"
        elif ! grep -Fq -- "CN=$cn" "$W/client.err"; then
            why="message does not name CN=$cn: $line"
        elif ! grep -q "SSL alert number $num\$" "$W/peer.log"; then
            why="s_server did not receive alert $num ($alert): $(grep -m1 -i alert "$W/peer.log" || echo none)"
        fi
        info="$sv, alert $num: ${line#*failed: }"
    fi
    if [ -z "$why" ]; then
        result "$label" pass "$info"
    else
        result "$label" "FAIL: $why"
        show_log "$W/client.err" "$W/peer.log"
    fi
done < "$PKI/cases.txt"

# ---- D. pairs mtls refuses to load ------------------------------------------------------------

echo "D. key pairs refused at configuration"
refuse() { # LABEL WORDS ARGS...: the command must fail at once with one line containing WORDS
    local label=$1 words=$2 st=0
    shift 2
    timeout 20 "$@" < /dev/null > "$W/refuse.out" 2> "$W/refuse.err" || st=$?
    local line
    line=$(one_line "$W/refuse.err")
    if [ "$st" = 0 ] || [ "$st" = 124 ]; then
        result "$label" "FAIL: exit status $st, expected a refusal" "$line"
    elif ! grep -Eq -- "$words" "$W/refuse.err"; then
        result "$label" "FAIL: message lacks '$words'" "$line"
    else
        result "$label" pass "$line"
    fi
}
refuse "D server mismatch" "does not belong to the certificate" \
    "$MTLS" server --listen 127.0.0.1:0 --once --cert "$PKI/mismatch.crt" --key "$PKI/mismatch.key"
refuse "D client mismatch" "does not belong to the certificate" \
    "$MTLS" client 127.0.0.1:1 --ca "$CA" --cert "$PKI/mismatch.crt" --key "$PKI/mismatch.key"
refuse "D server rsa1024" "not supported.*RSA 2048" \
    "$MTLS" server --listen 127.0.0.1:0 --once --cert "$PKI/rsa1024.crt" --key "$PKI/rsa1024.key"
refuse "D client rsa1024" "not supported.*RSA 2048" \
    "$MTLS" client 127.0.0.1:1 --ca "$CA" --cert "$PKI/rsa1024.crt" --key "$PKI/rsa1024.key"

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
