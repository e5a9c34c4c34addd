#!/usr/bin/env bash
# go.test.sh -- the `mtls` command against Go's crypto/tls on loopback.
#
#   (a) Go client (tls.Dial)           ->  mtls server
#   (b) mtls client                    ->  Go server (tls.Server)
#   (c) errors: a Go client without a certificate -> mtls server --verify-client require; mtls
#       client -> a Go server whose chain ends at a root the client does not trust
#
# for ECDHE-ECDSA (AES-128-GCM), ECDHE-RSA (AES-256-GCM), ECDHE-RSA with ChaCha20-Poly1305,
# static RSA (AES-128-GCM), mutual authentication, and resumption by session ticket, TLS 1.2
# only (both sides: Go with MinVersion = MaxVersion = TLS 1.2, mtls is TLS 1.2 only) and one
# suite (Go's CipherSuites and mtls --ciphers), each with a random token checked end to end, the
# suite checked in both sides' reports and, for mutual authentication, the client certificate
# seen by the server.  Resumption, with a Go that has extended master secret (1.21 and later):
# (a) a Go client connects 3 times with one tls.NewLRUClientSessionCache (Go clients resume by
# ticket only): the 2nd and 3rd must resume, and mtls server's --trace must say "found in the
# ticket"; (b) `mtls client --reconnect 4`
# against the Go server (which issues tickets and has no session-id cache): 4 of 4 resumed by
# session ticket, and DidResume on the Go side.  Both resumption cases require a client
# certificate, so the resumed sessions must keep the client's identity.  Debian 12's Go 1.19 has
# no EMS: mtls neither offers nor resumes a session made without it (RFC 7627 5.3), so there
# every reconnection must be a full handshake, refused resumption named as such in mtls's output.
#
# The Go peer is tests/interop/go/peer.go, standard library only, built here with `go build`
# (GO111MODULE=off, GOPROXY=off, GOCACHE/GOPATH/HOME in the work directory: no network, nothing
# written outside it).  One Go process per case: they start in milliseconds.  Certificates come
# from tests/pki/make-pki.sh; every server certificate names good.test, which both clients
# expect.
#
# A failing case is run again alone with --trace on the mtls side; the log is kept in the work
# directory (KEEP=1) and its tail printed with the Go peer's report.  Servers listen on
# 127.0.0.1 on ports picked by the kernel (port 0, then the port the program prints); every
# wait is bounded with `timeout`; a trap kills every background process.  A missing program
# (go, openssl) is named and the script fails.  Ends with a matrix and "N passed, N failed".
#
# Environment: MTLS_BUILD_DIR (tool at $MTLS_BUILD_DIR/tools/mtls), MTLS_SRC_DIR, and optionally
# MTLS_BIN (another tool binary), KEEP=1 (keep the work directory), VERBOSE=1 (show the logs).
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shared helpers: show_log, wait_for, wait_exit, free_port, token, lib_cleanup
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-go.XXXXXX")
PIDS=()
PASS=0
FAIL=0
T_START=$(date +%s)
HOST=good.test
RECONNECT=4   # (b) resume-ticket: mtls client --reconnect N
GO_CONNS=3    # (a) resume-ticket: Go client connections with one session cache

trap lib_cleanup EXIT
trap 'exit 130' INT TERM

declare -A RESULT
ROWS=("go-client->mtls-server" "mtls-client->go-server")
COLS=(ecdhe-ecdsa ecdhe-rsa chacha20 static-rsa mutual resume-ticket)
ERRS=(no-client-cert unknown-ca)

note() { printf '%s\n' "$*"; }
die() { # MESSAGE: a setup failure
    note "go: $*"
    echo "0 passed, 1 failed"
    exit 1
}

record() { # ROW COL pass|"FAIL: reason"
    local row=$1 col=$2 verdict=$3
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

# ---- preflight -----------------------------------------------------------------------------

[ -x "$MTLS" ] || die "$MTLS is not built; build first (cmake --build build)"
MTLS=$(cd "$(dirname "$MTLS")" && pwd)/$(basename "$MTLS")   # we cd into the work directory
missing=()
for prog in go openssl; do
    command -v "$prog" > /dev/null 2>&1 || missing+=("$prog")
done
[ ${#missing[@]} -eq 0 ] ||
    die "missing program(s): ${missing[*]} (install: apt-get install golang-go openssl)"
GOVERSION=$(go version 2>&1 | head -n1)
note "go: $GOVERSION"
# crypto/tls has extended master secret (RFC 7627) from Go 1.21.  Without it, mtls neither offers
# nor resumes a session (RFC 7627 5.3): the resumption cases then check for full handshakes.
GO_EMS=1
if [[ $GOVERSION =~ go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -lt 21 ]; then GO_EMS=0; fi

# ---- PKI and the Go peer -------------------------------------------------------------------
# make-pki.sh: ca.crt (RSA root), good (RSA-2048, good.test), ecdsa256 (P-256, SAN good.test),
# client (RSA, clientAuth), client-ecdsa (P-256, clientAuth), untrusted (good.test, chain
# ending at "mtls Untrusted Root", root included); every *.crt is leaf + intermediate.
PKI=$W/pki
timeout 120 sh "$SRC/tests/pki/make-pki.sh" "$PKI" > "$W/pki.log" 2>&1 ||
    { show_log "$W/pki.log"; die "tests/pki/make-pki.sh failed"; }
CA=$PKI/ca.crt

mkdir -p "$W/home" "$W/gocache" "$W/gopath"
t0=$(date +%s)
# a single file with the standard library only: no module, no proxy, no network
(cd "$W" && HOME=$W/home GOCACHE=$W/gocache GOPATH=$W/gopath GO111MODULE=off GOFLAGS='' \
    GOPROXY=off GOTOOLCHAIN=local GOENV=off \
    timeout 300 go build -o "$W/peer" "$SRC/tests/interop/go/peer.go") > "$W/gobuild.log" 2>&1 ||
    { show_log "$W/gobuild.log"; die "go build failed on tests/interop/go/peer.go"; }
note "go: built the peer in $(($(date +%s) - t0)) s"
PEER=$W/peer

cd "$W"

# Per column: the server's certificate and CN, the one suite (IANA for Go, OpenSSL name for
# mtls --ciphers), the client certificate when the server requires one.
cert_for() { case $1 in ecdhe-ecdsa | mutual) echo ecdsa256 ;; *) echo good ;; esac; }
cn_for() { case $1 in ecdhe-ecdsa | mutual) echo ecdsa256.test ;; *) echo good.test ;; esac; }
suite_for() {
    case $1 in
    ecdhe-ecdsa) echo TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ;;
    ecdhe-rsa) echo TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 ;;
    chacha20) echo TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 ;;
    static-rsa) echo TLS_RSA_WITH_AES_128_GCM_SHA256 ;;
    mutual) echo TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ;;
    resume-ticket) echo TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ;;
    esac
}
ossl_for() {
    case $1 in
    ecdhe-ecdsa) echo ECDHE-ECDSA-AES128-GCM-SHA256 ;;
    ecdhe-rsa) echo ECDHE-RSA-AES256-GCM-SHA384 ;;
    chacha20) echo ECDHE-RSA-CHACHA20-POLY1305 ;;
    static-rsa) echo AES128-GCM-SHA256 ;;
    mutual) echo ECDHE-ECDSA-AES256-GCM-SHA384 ;;
    resume-ticket) echo ECDHE-RSA-AES128-GCM-SHA256 ;;
    esac
}
# (a): the Go client presents the RSA client certificate, (b): mtls presents the ECDSA one
client_cert_a() { case $1 in mutual | resume-ticket) echo client ;; esac; }
client_cert_b() { case $1 in mutual | resume-ticket) echo client-ecdsa ;; esac; }

# ---- (a): Go client -> mtls server ---------------------------------------------------------

# start_mtls_server LOG ARGS...: sets SPID, SPORT
start_mtls_server() {
    local log=$1 st=0
    shift
    mtls_listen "$log" 120 --timeout 20 "$@" || st=$?
    SPID=$LISTEN_PID
    SPORT=$LISTEN_PORT
    return $st
}

# mtls_server_args COL: the server's options for one case of (a)
mtls_server_args() {
    local col=$1 c
    c=$(cert_for "$col")
    printf '%s\n' --cert "$PKI/$c.crt" --key "$PKI/$c.key" --ciphers "$(ossl_for "$col")"
    [ -n "$(client_cert_a "$col")" ] && printf '%s\n' --ca "$CA" --verify-client require
    case $col in
    resume-ticket) printf '%s\n' --trace ;;   # several connections, stopped by us; the trace
                                              # says ticket or cache
    *) printf '%s\n' --once ;;                # one connection, exits 0 on a clean close
    esac
}

# run_go_client COL PORT OUT: the Go client for one case of (a), status of the peer
run_go_client() {
    local col=$1 port=$2 out=$3 k n=1
    k=$(client_cert_a "$col")
    [ "$col" = resume-ticket ] && n=$GO_CONNS
    local args=(client -name "$col" -connect "127.0.0.1:$port" -ca "$CA" -servername "$HOST"
        -suite "$(suite_for "$col")" -conns "$n" -token "$TOK")
    [ -n "$k" ] && args+=(-cert "$PKI/$k.crt" -key "$PKI/$k.key")
    timeout 60 "$PEER" "${args[@]}" > "$out" 2>&1
}

# judge_a COL GO_STATUS GO_OUT SERVER_STATUS SERVER_LOG: empty when the case passed, else why
judge_a() {
    local col=$1 gst=$2 gout=$3 sst=$4 slog=$5 suite n=1 k i
    suite=$(suite_for "$col")
    k=$(client_cert_a "$col")
    [ "$col" = resume-ticket ] && n=$GO_CONNS
    if grep -q "^RESULT $col #[0-9]* FAIL" "$gout"; then
        echo "Go client: $(grep -m1 "^RESULT $col #[0-9]* FAIL" "$gout" | cut -d' ' -f3- | cut -c1-300)"
        return
    fi
    [ "$gst" = 0 ] || { echo "the Go client exited with status $gst: $(tail -n1 "$gout" | cut -c1-200)"; return; }
    # "ok": the handshake verified good.test against our CA and the token came back
    [ "$(grep -c "^RESULT $col #[0-9]* ok version=TLS1.2 suite=$suite .*server=CN=$(cn_for "$col") " "$gout" || true)" = "$n" ] ||
        { echo "the Go client did not report $n TLS1.2 $suite connection(s) to CN=$(cn_for "$col"): $(head -n1 "$gout" | cut -c1-200)"; return; }
    [ "$(grep -c "^mtls: #[0-9]* .*TLS 1.2, $suite" "$slog" || true)" = "$n" ] ||
        { echo "mtls server did not report TLS 1.2, $suite for $n connection(s)"; return; }
    # the token is the only data: token + newline in, the same out
    [ "$(grep -c "^mtls: #[0-9]* closed cleanly ($((${#TOK} + 1)) bytes in, $((${#TOK} + 1)) out)" "$slog" || true)" = "$n" ] ||
        { echo "mtls server did not see $n clean close(s) after echoing $((${#TOK} + 1)) bytes: $(grep -m1 'closed\|failed' "$slog" | cut -c1-200)"; return; }
    if [ -n "$k" ]; then
        [ "$(grep -c "^mtls: #.*client certificate: CN=$k.test\$" "$slog" || true)" = "$n" ] ||
            { echo "mtls server did not report the client certificate CN=$k.test on $n connection(s)"; return; }
        grep "^RESULT $col #" "$gout" | grep -vq ' client-cert=sent' &&
            { echo "the Go client did not send its certificate"; return; }
    fi
    case $col in
    resume-ticket)
        grep -q "^RESULT $col #1 ok .* resumed=no " "$gout" ||
            { echo "the Go client's first connection was not a full handshake"; return; }
        if [ "$GO_EMS" = 0 ]; then
            # no EMS: every connection a full handshake, each offered ticket refused for that reason
            grep -q 'Established .*, no extended master secret' "$slog" ||
                { echo "mtls server did not report a handshake without extended master secret"; return; }
            [ "$(grep -c "^RESULT $col #[0-9]* ok .* resumed=no " "$gout" || true)" = "$n" ] ||
                { echo "the Go client resumed a session made without extended master secret"; return; }
            [ "$(grep -c 'Resumption .*refused: it was made without extended master secret' "$slog" || true)" = $((n - 1)) ] ||
                { echo "mtls server's trace does not show $((n - 1)) tickets refused for lack of extended master secret"; return; }
            return 0
        fi
        for ((i = 2; i <= n; i++)); do
            grep -q "^RESULT $col #$i ok .* resumed=yes " "$gout" ||
                { echo "the Go client's connection $i did not resume (DidResume false)"; return; }
        done
        [ "$(grep -c '^mtls: #.*resumed session (abbreviated handshake)' "$slog" || true)" = $((n - 1)) ] ||
            { echo "mtls server logged $(grep -c '^mtls: #.*resumed session' "$slog" || true) of $((n - 1)) resumed sessions"; return; }
        [ "$(grep -c 'Resumption .*found in the ticket' "$slog" || true)" = $((n - 1)) ] ||
            { echo "mtls server's trace does not show $((n - 1)) resumptions from a ticket"; return; }
        ;;
    *)
        [ "$sst" = 0 ] || { echo "mtls server --once exited with status $sst (not a clean close)"; return; }
        ;;
    esac
    return 0
}

# case_a COL [--trace]: one case of (a); sets WHY (empty: passed)
case_a() {
    local col=$1 tr=${2:-} log=$W/a-$1.log out=$W/a-$1.go.out args gst=0 sst=0
    [ -n "$tr" ] && log=$W/a-$col.trace.log out=$W/a-$col.trace.go.out
    mapfile -t args < <(mtls_server_args "$col")
    [ -n "$tr" ] && [ "$col" != resume-ticket ] && args+=(--trace)
    TOK=$(token)
    if ! start_mtls_server "$log" "${args[@]}"; then
        WHY="mtls server did not start: $(tail -n1 "$log")"
        return
    fi
    run_go_client "$col" "$SPORT" "$out" || gst=$?
    case $col in
    resume-ticket) kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true ;;
    *) wait_exit "$SPID" 10 || sst=$? ;;   # --once: ends by itself once the client closed
    esac
    WHY=$(judge_a "$col" "$gst" "$out" "$sst" "$log")
}

note "Go client -> mtls server"
row=${ROWS[0]}
for col in "${COLS[@]}"; do
    case_a "$col"
    if [ -z "$WHY" ]; then
        record "$row" "$col" pass
        [ "${VERBOSE:-0}" = 1 ] && { sed 's/^/    /' "$W/a-$col.go.out"; show_log "$W/a-$col.log"; }
    else
        record "$row" "$col" "FAIL: $WHY"
        show_log "$W/a-$col.go.out" "$W/a-$col.log"
        note "    re-running $col with mtls server --trace: $W/a-$col.trace.log"
        case_a "$col" --trace
        note "    (re-run: ${WHY:-passed})"
        TAIL=25 show_log "$W/a-$col.trace.log"
        show_log "$W/a-$col.trace.go.out"
    fi
done

# ---- (b): mtls client -> Go server ---------------------------------------------------------

# start_go_server LOG ARGS...: the Go peer in server mode; sets GPID, GPORT
start_go_server() {
    local log=$1
    shift
    timeout 90 "$PEER" server -accept-timeout 30 "$@" > "$log" 2>&1 &
    GPID=$!
    PIDS+=("$GPID")
    GPORT=
    if wait_for "$log" '^LISTEN [0-9]+' 10; then
        GPORT=$(awk '$1 == "LISTEN" { print $2; exit }' "$log")
    fi
    [ -n "$GPORT" ]
}

# judge_b COL CLIENT_STATUS OUT ERR GO_STATUS GO_LOG: empty when the case passed
judge_b() {
    local col=$1 cst=$2 out=$3 err=$4 gst=$5 glog=$6 suite k n=1 peer=none i
    suite=$(suite_for "$col")
    k=$(client_cert_b "$col")
    [ -n "$k" ] && peer=CN=$k.test
    [ "$col" = resume-ticket ] && n=$((RECONNECT + 1))
    [ "$cst" = 0 ] || { echo "mtls client exited with status $cst: $(grep -v '^mtls: connection ' "$err" | tail -n1 | cut -c1-250)"; return; }
    [ "$(cat "$out")" = "$TOK" ] || { echo "token not echoed back by the Go server (got $(head -c 80 "$out"))"; return; }
    grep -q "^mtls: connected to 127\.0\.0\.1:[0-9]*: TLS 1\.2, $suite, .*server CN=$(cn_for "$col") verified against --ca" "$err" ||
        { echo "mtls client did not report TLS 1.2, $suite with CN=$(cn_for "$col") verified"; return; }
    if grep -q "^CONN $col #[0-9]* FAIL" "$glog"; then
        echo "Go server: $(grep -m1 "^CONN $col #[0-9]* FAIL" "$glog" | cut -d' ' -f3- | cut -c1-300)"
        return
    fi
    [ "$gst" = 0 ] || { echo "the Go server exited with status $gst: $(tail -n1 "$glog" | cut -c1-200)"; return; }
    [ "$(grep -c "^CONN $col #[0-9]* ok version=TLS1.2 suite=$suite .*peer=$peer " "$glog" || true)" = "$n" ] ||
        { echo "the Go server did not see $n TLS1.2 $suite connection(s) with client certificate $peer"; return; }
    grep -q "^CONN $col #1 ok .* received=$((${#TOK} + 1)) token=ok\$" "$glog" ||
        { echo "the Go server did not receive the token: $(grep -m1 "^CONN $col #1" "$glog" | cut -c1-200)"; return; }
    case $col in
    resume-ticket)
        if [ "$GO_EMS" = 0 ]; then
            # no EMS: the saved session is never offered, and the Go server never resumes
            grep -q "^mtls: resumed 0 of $RECONNECT reconnections" "$err" ||
                { echo "mtls client: $(grep 'reconnections' "$err" || echo 'no reconnection total')"; return; }
            [ "$(grep -c "^mtls: connection [0-9]*: full handshake (not offering the saved session: it was made without extended master secret)" "$err" || true)" = "$RECONNECT" ] ||
                { echo "mtls client did not refuse to offer the non-EMS session: $(grep -m1 '^mtls: connection 2' "$err")"; return; }
            [ "$(grep -c "^CONN $col #[0-9]* ok .* resumed=no " "$glog" || true)" = "$n" ] ||
                { echo "the Go server resumed a session"; return; }
            return 0
        fi
        grep -q "^mtls: resumed $RECONNECT of $RECONNECT reconnections" "$err" ||
            { echo "mtls client: $(grep 'reconnections' "$err" || echo 'no reconnection total')"; return; }
        [ "$(grep -c "^mtls: connection [0-9]*: resumed (session ticket)" "$err" || true)" = "$RECONNECT" ] ||
            { echo "mtls client did not resume by session ticket: $(grep -m1 '^mtls: connection 2' "$err")"; return; }
        grep -q "^CONN $col #1 ok .* resumed=no " "$glog" ||
            { echo "the Go server's first connection was not a full handshake"; return; }
        for ((i = 2; i <= n; i++)); do
            grep -q "^CONN $col #$i ok .* resumed=yes " "$glog" ||
                { echo "the Go server did not resume connection $i (DidResume false)"; return; }
        done
        ;;
    esac
    return 0
}

# case_b COL [--trace]: one case of (b); sets WHY (empty: passed)
case_b() {
    local col=$1 tr=${2:-} pre=$W/b-$1 k n=1 cst=0 gst=0
    [ -n "$tr" ] && pre=$W/b-$col.trace
    k=$(client_cert_b "$col")
    [ "$col" = resume-ticket ] && n=$((RECONNECT + 1))
    TOK=$(token)
    local gargs=(-name "$col" -cert "$PKI/$(cert_for "$col").crt" -key "$PKI/$(cert_for "$col").key"
        -suite "$(suite_for "$col")" -conns "$n" -token "$TOK")
    [ -n "$k" ] && gargs+=(-ca "$CA" -require-client-cert)
    if ! start_go_server "$pre.go.out" "${gargs[@]}"; then
        WHY="the Go server did not start: $(tail -n1 "$pre.go.out")"
        return
    fi
    local args=(client "127.0.0.1:$GPORT" --servername "$HOST" --ca "$CA" --timeout 10
        --ciphers "$(ossl_for "$col")")
    [ -n "$k" ] && args+=(--cert "$PKI/$k.crt" --key "$PKI/$k.key")
    [ "$col" = resume-ticket ] && args+=(--reconnect "$RECONNECT")
    [ -n "$tr" ] && args+=(--trace)
    printf '%s\n' "$TOK" | timeout 60 "$MTLS" "${args[@]}" > "$pre.out" 2> "$pre.err" || cst=$?
    # the Go server reports a connection once it closed; it exits after n of them
    wait_exit "$GPID" 10 || gst=$?
    WHY=$(judge_b "$col" "$cst" "$pre.out" "$pre.err" "$gst" "$pre.go.out")
}

note "mtls client -> Go server"
row=${ROWS[1]}
for col in "${COLS[@]}"; do
    case_b "$col"
    if [ -z "$WHY" ]; then
        record "$row" "$col" pass
        [ "${VERBOSE:-0}" = 1 ] && { show_log "$W/b-$col.err"; sed 's/^/    /' "$W/b-$col.go.out"; }
    else
        record "$row" "$col" "FAIL: $WHY"
        show_log "$W/b-$col.err" "$W/b-$col.out" "$W/b-$col.go.out"
        note "    re-running $col with mtls client --trace: $W/b-$col.trace.err"
        case_b "$col" --trace
        note "    (re-run: ${WHY:-passed})"
        TAIL=25 show_log "$W/b-$col.trace.err"
        show_log "$W/b-$col.trace.go.out"
    fi
done

# ---- (c): errors -----------------------------------------------------------------------------

# A Go client without a certificate against mtls server --verify-client require: mtls refuses
# the empty Certificate with a fatal handshake_failure alert, which Go reports as "remote
# error: tls: handshake failure"; mtls server's line names the missing certificate.
case_no_client_cert() {
    local tr=${1:-} log=$W/c-no-client-cert.log out=$W/c-no-client-cert.go.out gst=0 sst=0
    [ -n "$tr" ] && log=$W/c-no-client-cert.trace.log out=$W/c-no-client-cert.trace.go.out
    TOK=$(token)
    WHY=
    if ! start_mtls_server "$log" --cert "$PKI/ecdsa256.crt" --key "$PKI/ecdsa256.key" \
        --ca "$CA" --verify-client require --once ${tr:+--trace}; then
        WHY="mtls server did not start: $(tail -n1 "$log")"
        return
    fi
    timeout 60 "$PEER" client -name no-client-cert -connect "127.0.0.1:$SPORT" -ca "$CA" \
        -servername "$HOST" -suite "$(suite_for ecdhe-ecdsa)" -token "$TOK" > "$out" 2>&1 || gst=$?
    wait_exit "$SPID" 10 || sst=$?
    if [ "$gst" = 0 ]; then
        WHY="the Go client succeeded without a certificate"
    elif ! grep -q '^RESULT no-client-cert #1 FAIL handshake: .*remote error: tls: handshake failure' "$out"; then
        WHY="the Go client did not fail on mtls's handshake_failure alert: $(tail -n1 "$out" | cut -c1-200)"
    elif ! grep -q '^mtls: #1 handshake with 127\.0\.0\.1:[0-9]* failed: a client certificate is required and the client sent none' "$log"; then
        WHY="mtls server did not name the missing client certificate: $(grep -m1 '^mtls: #1' "$log" | cut -c1-200)"
    elif [ "$sst" = 0 ]; then
        WHY="mtls server --once exited 0 after a failed handshake"
    fi
}

# mtls client against a Go server whose chain ends at "mtls Untrusted Root": mtls refuses it
# (non-zero exit, the one-line error names the untrusted root and --ca) with a fatal unknown_ca
# alert, which the Go server reports as "remote error: tls: unknown certificate authority".
case_unknown_ca() {
    local tr=${1:-} pre=$W/c-unknown-ca cst=0 gst=0
    [ -n "$tr" ] && pre=$W/c-unknown-ca.trace
    TOK=$(token)
    WHY=
    if ! start_go_server "$pre.go.out" -name unknown-ca -cert "$PKI/untrusted.crt" \
        -key "$PKI/untrusted.key" -suite "$(suite_for ecdhe-rsa)" -token "$TOK"; then
        WHY="the Go server did not start: $(tail -n1 "$pre.go.out")"
        return
    fi
    printf '%s\n' "$TOK" | timeout 60 "$MTLS" client "127.0.0.1:$GPORT" --servername "$HOST" \
        --ca "$CA" --timeout 10 ${tr:+--trace} > "$pre.out" 2> "$pre.err" || cst=$?
    wait_exit "$GPID" 10 || gst=$?
    if [ "$cst" = 0 ]; then
        WHY="mtls client accepted a chain from an untrusted root"
    elif [ -s "$pre.out" ]; then
        WHY="mtls client printed data from an unverified server"
    elif ! tail -n1 "$pre.err" | grep -q "^mtls: handshake with 127\.0\.0\.1:$GPORT failed: .*CN=mtls Untrusted Root, .*not in the trust store; use --ca"; then
        WHY="mtls client's error does not name the unknown CA: $(tail -n1 "$pre.err" | cut -c1-250)"
    elif [ -z "$tr" ] && [ "$(wc -l < "$pre.err")" != 1 ]; then
        WHY="mtls client's error is not one line ($(wc -l < "$pre.err") lines)"
    elif ! grep -q '^CONN unknown-ca #1 FAIL handshake: remote error: tls: unknown certificate authority' "$pre.go.out"; then
        WHY="the Go server did not get an unknown_ca alert: $(grep -m1 '^CONN' "$pre.go.out" | cut -c1-200)"
    fi
}

note "errors"
for e in "${ERRS[@]}"; do
    "case_${e//-/_}"
    if [ -z "$WHY" ]; then
        record errors "$e" pass
        [ "${VERBOSE:-0}" = 1 ] && show_log "$W/c-$e.log" "$W/c-$e.err" "$W/c-$e.go.out"
    else
        record errors "$e" "FAIL: $WHY"
        show_log "$W/c-$e.log" "$W/c-$e.err" "$W/c-$e.go.out"
        note "    re-running $e with mtls --trace"
        "case_${e//-/_}" --trace
        note "    (re-run: ${WHY:-passed})"
        TAIL=25 show_log "$W/c-$e.trace.log" "$W/c-$e.trace.err"
        show_log "$W/c-$e.trace.go.out"
    fi
done

# ---- matrix ---------------------------------------------------------------------------------

echo
echo "Go crypto/tls interop matrix: TLS 1.2; $GOVERSION"
echo "suites: ecdhe-ecdsa $(suite_for ecdhe-ecdsa), ecdhe-rsa $(suite_for ecdhe-rsa),"
echo "        chacha20 $(suite_for chacha20), static-rsa $(suite_for static-rsa),"
echo "        mutual $(suite_for mutual), resume-ticket $(suite_for resume-ticket)"
echo "mutual and resume-ticket require a client certificate: (a) the Go client's RSA one, (b) mtls's"
echo "ECDSA one; resume-ticket: (a) $GO_CONNS Go connections, one session cache; (b) mtls --reconnect $RECONNECT"
printf '%-24s' ""
for col in "${COLS[@]}"; do printf '%-14s' "$col"; done
echo
for row in "${ROWS[@]}"; do
    printf '%-24s' "$row"
    for col in "${COLS[@]}"; do printf '%-14s' "${RESULT[$row|$col]:--}"; done
    echo
done
printf '%-24s' "errors"
printf 'no-client-cert: %-7s unknown-ca: %s\n' "${RESULT[errors|no-client-cert]:--}" \
    "${RESULT[errors|unknown-ca]:--}"
echo
echo "($(($(date +%s) - T_START)) s)"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
