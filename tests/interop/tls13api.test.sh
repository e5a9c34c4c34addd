#!/usr/bin/env bash
# tls13api.test.sh -- the TLS 1.3 API after the handshake, through the `mtls` command, against
# OpenSSL's command-line tools on loopback:
#
#   post-handshake client authentication (RFC 8446 4.6.2)
#     openssl s_client -enable_pha        ->  mtls server --commands ('c'), with and without a
#                                             client certificate, and s_client without -enable_pha;
#                                             mtls server --http --post-auth /secret
#     mtls client (--cert; and --post-handshake-auth without one)  ->  openssl s_server ('c')
#   KeyUpdate (RFC 8446 4.6.3)
#     openssl s_client 'k' and 'K'        ->  mtls server (answers K)
#     mtls server --commands 'k', 'K'     ->  openssl s_client
#   exporters (RFC 8446 7.5, RFC 5705), the value printed by both ends compared
#     mtls client --export  vs  openssl s_server -keymatexport, TLS 1.3 and TLS 1.2
#     openssl s_client -keymatexport  vs  mtls server --export, TLS 1.3 and TLS 1.2
#     mtls client vs mtls server with a context, an empty context and none (both versions)
#
# Each case moves a random token end to end after the exchange, so the connection is known to
# work past it.  Commands reach the peers through FIFOs the script holds open, so each step
# waits (bounded) for the line that says the one before happened.  Everything listens on
# 127.0.0.1, every wait is bounded, a trap kills every background process.  Exit 77 when the
# tool or openssl is missing.  Ends with "N passed, N failed".
#
# Environment: MTLS_BUILD_DIR (tool at $MTLS_BUILD_DIR/tools/mtls), MTLS_SRC_DIR, optionally
# MTLS_BIN (another tool binary), KEEP=1 (keep the work directory), VERBOSE=1 (show logs).
set -u

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-tls13api.XXXXXX")
PIDS=()
# s_server's closing statistics say nothing about a failure
SHOW_LOG_SKIP='^ *[0-9]+ (items|client|server|session|callback|cache)|^(-----|[A-Za-z0-9+/]{40,})'
trap 'exec 7>&- 8>&- 2>/dev/null; lib_cleanup' EXIT
trap 'exit 130' INT TERM

PASS=0
FAIL=0
note() { printf '%s\n' "$*"; }
pass() {
    PASS=$((PASS + 1))
    note "  pass  $*"
}
fail() {
    FAIL=$((FAIL + 1))
    note "  FAIL  $*"
}

[ -x "$MTLS" ] || { echo "tls13api: $MTLS is not built: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "tls13api: no openssl command: skipped"; exit 77; }
note "peer: $(openssl version)"

PKI=$W/pki
if ! timeout 120 sh "$SRC/tests/pki/make-pki.sh" "$PKI" >"$W/pki.log" 2>&1; then
    show_log "$W/pki.log"
    echo "tls13api: cannot make the test PKI"
    echo "0 passed, 1 failed"
    exit 1
fi
cd "$W" || exit 1
CA=$PKI/ca.crt
HOST=good.test
SCERT=(--cert "$PKI/good.crt" --key "$PKI/good.key")
# s_client sends the chain of -cert_chain (the file holds leaf and intermediate)
OCCERT=(-cert "$PKI/client.crt" -cert_chain "$PKI/client.crt" -key "$PKI/client.key")

# fifo NAME FD: a FIFO the script keeps open for writing on FD (read-write, so that neither side
# blocks on open); closing FD gives its reader EOF.  Background commands close 7 and 8 (7>&-
# 8>&-): a peer that inherited a write end of its own input would never see its end.
fifo() {
    rm -f "$W/$1"
    mkfifo "$W/$1"
    eval "exec $2<>\"$W/$1\""
}

# hex_of FILE REGEX: the hex value on the first line of FILE matching REGEX (the last field)
hex_of() { grep -E -- "$2" "$1" | head -n1 | awk '{print $NF}' | tr 'a-f' 'A-F'; }

# wait_count FILE REGEX N SECS: until N lines of FILE match REGEX (0), or 1 after SECS seconds
wait_count() {
    local i
    for ((i = 0; i < $4 * 10; i++)); do
        [ "$(grep -Ec -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

verbose() { [ "${VERBOSE:-0}" = 1 ] && show_log "$@"; return 0; }

# ---- mtls server --commands, openssl s_client --------------------------------------------------

# s_client_vs_server NAME 'SERVER ARGS' 'S_CLIENT ARGS': an mtls server reading commands on fd 7,
# an s_client reading its input on fd 8; sets SLOG, CLOG (logs) and SPID, CPID.
s_client_vs_server() {
    local name=$1 sargs=$2 cargs=$3
    SLOG=$W/$name.server.log
    CLOG=$W/$name.s_client.log
    SPID=
    CPID=
    fifo "$name.srv.in" 7
    fifo "$name.cl.in" 8
    # (not mtls_listen: a command started with & inside a function reads /dev/null)
    # shellcheck disable=SC2086
    timeout 30 "$MTLS" server --listen 127.0.0.1:0 "${SCERT[@]}" --once --timeout 20 --commands \
        $sargs <"$W/$name.srv.in" 2>"$SLOG" 7>&- 8>&- &
    SPID=$!
    PIDS+=("$SPID")
    wait_for "$SLOG" 'listening on 127\.0\.0\.1:[0-9]+' 10 || return 1
    LISTEN_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$SLOG" | head -n1)
    # shellcheck disable=SC2086
    timeout 30 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" -servername "$HOST" \
        -CAfile "$CA" -tls1_3 $cargs <"$W/$name.cl.in" >"$CLOG" 2>&1 7>&- 8>&- &
    CPID=$!
    PIDS+=("$CPID")
    wait_for "$SLOG" '#1 127\.0\.0\.1:[0-9]+: TLS 1\.3' 10
}

# end_pid PID: its exit status once it ends (bounded), 1 when it never started
end_pid() { if [ -n "$1" ]; then wait_exit "$1" 10; else return 1; fi; }

# end_s_client: s_client's input ends (it closes), the server ends with it; statuses
end_s_client() {
    exec 8>&- 7>&-
    end_pid "$CPID"
    CST=$?
    end_pid "$SPID"
    SST=$?
}

# send_token: one token through s_client, echoed back by the server
send_token() {
    TOK=$(token)
    echo "$TOK" >&8
    wait_for "$CLOG" "$TOK" 10
}

# 1. s_client -enable_pha with a client certificate; the server asks ('c')
case_pha_s_client() {
    local name=pha-s_client why=""
    if s_client_vs_server $name "--ca $CA" "-enable_pha ${OCCERT[*]}"; then
        grep -q 'client certificate: none' "$SLOG" || why="the handshake already had a certificate"
        echo c >&7
        wait_for "$SLOG" 'client certificate after the handshake: CN=client\.test' 10 ||
            why="${why:-no client certificate after the handshake in the server log}"
        send_token || why="${why:-no token after the exchange}"
    else
        why="no TLS 1.3 connection"
    fi
    end_s_client
    [ "$SST" = 0 ] || why="${why:-the server exited with $SST}"
    if [ -z "$why" ]; then
        pass "$name: $(grep -o 'client certificate after the handshake: CN=client\.test[^,]*' "$SLOG")"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
    verbose "$SLOG" "$CLOG"
}

# 2. s_client -enable_pha without a certificate: an empty answer, accepted in optional mode
case_pha_s_client_nocert() {
    local name=pha-s_client-nocert why=""
    if s_client_vs_server $name "--ca $CA --verify-client optional" "-enable_pha"; then
        echo c >&7
        wait_for "$SLOG" 'client certificate after the handshake: none' 10 ||
            why="no empty answer in the server log"
        send_token || why="${why:-no token after the exchange}"
    else
        why="no TLS 1.3 connection"
    fi
    end_s_client
    [ "$SST" = 0 ] || why="${why:-the server exited with $SST}"
    if [ -z "$why" ]; then
        pass "$name: $(grep -o 'client certificate after the handshake: none' "$SLOG")"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 3. s_client without -enable_pha: the server does not ask (RFC 8446 4.6.2)
case_pha_not_offered() {
    local name=pha-not-offered why=""
    if s_client_vs_server $name "--ca $CA --verify-client optional" "${OCCERT[*]}"; then
        echo c >&7
        wait_for "$SLOG" 'cannot ask for the client.s certificate after the handshake: the client did not offer it' 10 ||
            why="the server did not refuse to ask"
        send_token || why="${why:-no token afterwards}"
    else
        why="no TLS 1.3 connection"
    fi
    end_s_client
    if [ -z "$why" ]; then
        pass "$name: $(grep -o 'cannot ask for the client.s certificate[^(]*' "$SLOG")"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 4. s_client's k and K: mtls server takes both, answers K with its own KeyUpdate
case_keyupdate_from_s_client() {
    local name=keyupdate-s_client why=""
    if s_client_vs_server $name "--trace" ""; then
        send_token || why="no token before"
        echo k >&8
        wait_for "$SLOG" '< KeyUpdate +(. ap traffic [0-9]+ +)?update_not_requested' 10 || why="${why:-k not seen}"
        echo K >&8
        wait_for "$SLOG" '< KeyUpdate +(. ap traffic [0-9]+ +)?update_requested' 10 || why="${why:-K not seen}"
        wait_for "$SLOG" '> KeyUpdate +(. ap traffic [0-9]+ +)?update_not_requested' 10 || why="${why:-K not answered}"
        send_token || why="${why:-no token after}"
    else
        why="no TLS 1.3 connection"
    fi
    end_s_client
    [ "$SST" = 0 ] || why="${why:-the server exited with $SST}"
    if [ -z "$why" ]; then
        pass "$name: server saw $(grep -c '< KeyUpdate' "$SLOG") KeyUpdates, sent $(grep -c '> KeyUpdate' "$SLOG"); tokens echoed before and after"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 5. mtls server's k and K: s_client follows (and answers K)
case_keyupdate_from_server() {
    local name=keyupdate-mtls-server why=""
    if s_client_vs_server $name "--trace" "-msg"; then
        send_token || why="no token before"
        echo k >&7
        wait_for "$SLOG" 'KeyUpdate sent \(update_not_requested\)' 10 || why="${why:-k not sent}"
        send_token || why="${why:-no token after k}"
        echo K >&7
        wait_for "$SLOG" 'KeyUpdate sent \(update_requested' 10 || why="${why:-K not sent}"
        # s_client answers before its next write, once it has read the request
        wait_count "$CLOG" '<<< .*KeyUpdate' 2 10 || why="${why:-s_client did not get both}"
        send_token || why="${why:-no token after K}"
        wait_for "$SLOG" '< KeyUpdate +(. ap traffic [0-9]+ +)?update_not_requested' 10 || why="${why:-s_client did not answer K}"
    else
        why="no TLS 1.3 connection"
    fi
    end_s_client
    [ "$SST" = 0 ] || why="${why:-the server exited with $SST}"
    if [ -z "$why" ]; then
        pass "$name: $(grep -c 'KeyUpdate sent' "$SLOG") sent, s_client answered K ($(grep -c '< KeyUpdate' "$SLOG") received); tokens echoed"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 5b. --http --post-auth /secret: GET /secret gets a CertificateRequest first, then the page with
# the client's identity; GET /public none
case_pha_http() {
    local name=pha-http why=""
    if s_client_vs_server $name "--http --post-auth /secret --ca $CA" "-enable_pha -crlf ${OCCERT[*]}"; then
        printf 'GET /public HTTP/1.1\nHost: x\n\n' >&8
        wait_for "$CLOG" 'client certificate none presented' 10 || why="/public: no page"
        printf 'GET /secret HTTP/1.1\nHost: x\n\n' >&8
        wait_for "$SLOG" 'GET /secret HTTP/1.1 needs a client certificate' 10 ||
            why="${why:-/secret: not asked}"
        wait_for "$CLOG" 'client certificate CN=client\.test' 10 || why="${why:-/secret: no page}"
    else
        why="no TLS 1.3 connection"
    fi
    end_s_client
    if [ -z "$why" ]; then
        pass "$name: /public $(grep -o 'client certificate none presented' "$CLOG" | head -n1), /secret $(grep -o 'client certificate CN=client\.test[^,]*' "$CLOG" | head -n1)"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 5c. --http reading requests (changed with --post-auth): two pipelined in one write, two answers
case_http_pipelined() {
    local name=http-pipelined n
    SLOG=$W/$name.server.log
    CLOG=$W/$name.client.log
    if mtls_listen "$SLOG" 30 "${SCERT[@]}" --once --timeout 20 --http; then
        printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
            timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername "$HOST" --ca "$CA" -q \
                >"$CLOG" 2>&1
        wait_exit "$LISTEN_PID" 10
    fi
    n=$(grep -c 'HTTP/1.1 200' "$CLOG" 2>/dev/null)
    if [ "$n" = 2 ]; then
        pass "$name: 2 requests in one write, $n responses"
    else
        fail "$name: ${n:-0} responses to 2 pipelined requests"
        show_log "$SLOG" "$CLOG"
    fi
}

# ---- mtls client, openssl s_server -----------------------------------------------------------

# client_vs_s_server NAME 'S_SERVER ARGS' 'CLIENT ARGS': s_server reading commands on fd 7, the
# mtls client its input on fd 8; sets SLOG, CLOG, SPID, CPID.
client_vs_s_server() {
    local name=$1 sargs=$2 cargs=$3 port
    SLOG=$W/$name.s_server.log
    CLOG=$W/$name.client.log
    SPID=
    CPID=
    fifo "$name.srv.in" 7
    fifo "$name.cl.in" 8
    port=$(free_port)
    # shellcheck disable=SC2086
    timeout 30 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -cert "$PKI/good.crt" \
        -cert_chain "$PKI/good.crt" -key "$PKI/good.key" -CAfile "$CA" $sargs \
        <"$W/$name.srv.in" >"$SLOG" 2>&1 7>&- 8>&- &
    SPID=$!
    PIDS+=("$SPID")
    wait_for "$SLOG" '^ACCEPT' 10 || return 1
    # shellcheck disable=SC2086
    timeout 30 "$MTLS" client "127.0.0.1:$port" --servername "$HOST" --ca "$CA" --timeout 10 \
        $cargs <"$W/$name.cl.in" >"$CLOG.out" 2>"$CLOG" 7>&- 8>&- &
    CPID=$!
    PIDS+=("$CPID")
    wait_for "$CLOG" '^mtls: connected to' 10
}

# end_mtls_client: the client's input ends first (it sends close_notify), then s_server's
end_mtls_client() {
    exec 8>&-
    end_pid "$CPID"
    CST=$?
    exec 7>&-
    end_pid "$SPID"
    SST=$?
}

# 6. s_server's c: the mtls client (with --cert) answers; s_server verifies the certificate
case_pha_mtls_client() {
    local name=pha-mtls-client why=""
    if client_vs_s_server $name "-verify_return_error" "--cert $PKI/client.crt --key $PKI/client.key"; then
        TOK=$(token)
        echo "$TOK" >&8
        wait_for "$SLOG" "$TOK" 10 || why="no token before"
        echo c >&7
        wait_for "$CLOG" 'asked for our certificate after the handshake .*: sent ours' 10 ||
            why="${why:-the client did not answer}"
        wait_for "$SLOG" 'depth=0 CN = client\.test' 10 || why="${why:-s_server did not verify it}"
        TOK=$(token)
        echo "$TOK" >&8
        wait_for "$SLOG" "$TOK" 10 || why="${why:-no token after}"
    else
        why="no connection"
    fi
    end_mtls_client
    [ "$CST" = 0 ] || why="${why:-the client exited with $CST}"
    if [ -z "$why" ]; then
        pass "$name: $(grep -o 'the server asked for our certificate.*' "$CLOG" | head -n1); s_server: $(grep -A1 'depth=0' "$SLOG" | tr '\n' ' ')"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 7. s_server's c to an mtls client without a certificate that offers it
# (--post-handshake-auth): an empty Certificate, which s_server's c accepts (SSL_VERIFY_PEER
# without FAIL_IF_NO_PEER_CERT); data flows on
case_pha_mtls_client_nocert() {
    local name=pha-mtls-client-nocert why=""
    if client_vs_s_server $name "" "--post-handshake-auth"; then
        echo c >&7
        wait_for "$CLOG" 'sent none \(no --cert given\)' 10 || why="the client did not answer"
        TOK=$(token)
        echo "$TOK" >&8
        wait_for "$SLOG" "$TOK" 10 || why="${why:-no token after}"
    else
        why="no connection"
    fi
    end_mtls_client
    [ "$CST" = 0 ] || why="${why:-the client exited with $CST}"
    if [ -z "$why" ]; then
        pass "$name: $(grep -o 'the server asked.*sent none.*' "$CLOG" | head -n1); token after"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# ---- exporters ---------------------------------------------------------------------------------

LABEL=EXPORTER-mtls-interop

# 8. mtls client --export vs s_server -keymatexport
case_export_client() { # VERSION (1.2 | 1.3)
    local v=$1 name why="" a b
    name=export-mtls-client-tls$v
    if client_vs_s_server "$name" "-tls1_${v#1.} -keymatexport $LABEL -keymatexportlen 48" \
        "--export $LABEL:48"; then
        a=$(hex_of "$CLOG" "exported keying material $LABEL ")
        b=$(hex_of "$SLOG" 'Keying material:')
        grep -q "TLS $v" "$CLOG" || why="not TLS $v"
        [ -n "$a" ] && [ "$a" = "$b" ] || why="${why:-mtls $a, s_server $b}"
    else
        why="no connection"
    fi
    end_mtls_client
    if [ -z "$why" ]; then
        pass "$name: mtls client $a = s_server $b"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 9. s_client -keymatexport vs mtls server --export
case_export_server() { # VERSION
    local v=$1 name why="" a b port
    name=export-mtls-server-tls$v
    SLOG=$W/$name.server.log
    CLOG=$W/$name.s_client.log
    if mtls_listen "$SLOG" 30 "${SCERT[@]}" --once --timeout 20 --export "$LABEL:48"; then
        SPID=$LISTEN_PID
        timeout 20 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" -servername "$HOST" \
            -CAfile "$CA" "-tls1_${v#1.}" -keymatexport "$LABEL" -keymatexportlen 48 \
            </dev/null >"$CLOG" 2>&1
        wait_exit "$SPID" 10
        a=$(hex_of "$SLOG" "exported keying material $LABEL ")
        b=$(hex_of "$CLOG" 'Keying material:')
        grep -q "TLS $v" "$SLOG" || why="not TLS $v"
        [ -n "$a" ] && [ "$a" = "$b" ] || why="${why:-mtls $a, s_client $b}"
    else
        why="the server did not start"
    fi
    if [ -z "$why" ]; then
        pass "$name: mtls server $a = s_client $b"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

# 10. mtls both ends: with a context, an empty one and none
case_export_contexts() { # VERSION
    local v=$1 name=export-contexts-tls$1 why="" ca cb ea eb na nb
    SLOG=$W/$name.server.log
    CLOG=$W/$name.client.log
    local ex=(--export "$LABEL:32:some context" --export "$LABEL:32:" --export "$LABEL:32")
    if mtls_listen "$SLOG" 30 "${SCERT[@]}" --once --timeout 20 "--tls$v" "${ex[@]}"; then
        SPID=$LISTEN_PID
        timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername "$HOST" --ca "$CA" \
            "${ex[@]}" </dev/null >/dev/null 2>"$CLOG"
        wait_exit "$SPID" 10
        ca=$(hex_of "$CLOG" 'context "some context"')
        cb=$(hex_of "$SLOG" 'context "some context"')
        ea=$(hex_of "$CLOG" 'context ""')
        eb=$(hex_of "$SLOG" 'context ""')
        na=$(hex_of "$CLOG" 'no context')
        nb=$(hex_of "$SLOG" 'no context')
        [ -n "$ca" ] && [ "$ca" = "$cb" ] && [ "$ea" = "$eb" ] && [ "$na" = "$nb" ] ||
            why="the two ends differ"
        # RFC 8446 7.5: no context = empty context; RFC 5705: they differ
        if [ "$v" = 1.3 ]; then [ "$ea" = "$na" ] || why="${why:-TLS 1.3: empty != none}"; fi
        if [ "$v" = 1.2 ]; then [ "$ea" != "$na" ] || why="${why:-TLS 1.2: empty = none}"; fi
        [ "$ca" != "$na" ] || why="${why:-the context changed nothing}"
    else
        why="the server did not start"
    fi
    if [ -z "$why" ]; then
        pass "$name: context ${ca:0:16}..., empty ${ea:0:16}..., none ${na:0:16}... (both ends)"
    else
        fail "$name: $why"
        show_log "$SLOG" "$CLOG"
    fi
}

note "post-handshake authentication"
case_pha_s_client
case_pha_s_client_nocert
case_pha_not_offered
case_pha_http
case_http_pipelined
case_pha_mtls_client
case_pha_mtls_client_nocert
note "KeyUpdate"
case_keyupdate_from_s_client
case_keyupdate_from_server
note "exporters"
for v in 1.3 1.2; do
    case_export_client $v
    case_export_server $v
    case_export_contexts $v
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
