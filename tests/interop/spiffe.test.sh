#!/usr/bin/env bash
# spiffe.test.sh -- SPIFFE identities and URI name constraints, judged by mtls, Go's crypto/x509
# and OpenSSL on the same certificates, and the `mtls` tool's SPIFFE options and identity lines.
#
#   (a) verdicts: the SPIFFE PKI of tests/pki/make-spiffe-pki.sh (CAs with critical URI name
#       constraints, X.509-SVIDs good and bad) is verified by mtls (test_spiffe --verdicts: the
#       chain without a SPIFFE policy), by Go (tests/interop/go/spiffe/verify.go:
#       x509.Certificate.Verify) and by `openssl verify`.  Each verdict must be the one
#       spiffe-cases.txt expects; there mtls's and the others' agree except for the cases listed
#       as differences by design (docs/x509.md), which are named in the table printed here.  Go
#       does not judge SPIFFE ID syntax, so those verdicts (the SPIFFE column) are mtls's alone and
#       checked by test_spiffe.
#   (b) the tool, every case with clients of TLS 1.2 and of TLS 1.3:
#       `mtls server --verify-client require --spiffe-trust-domain example.org` with a
#       CA that has a critical URI name constraint (which mtls refused to load before) and `mtls
#       client --spiffe-id ...` with X.509-SVIDs: data goes through; the client prints the
#       server's certificate ("server certificate: CN=api-dns (SPIFFE ID ...), serial ...,
#       issued by ..., expires YYYY-MM-DD (in N days)") and the server the client's identity
#       ("#1 client identity: ..."), dates and serials compared with `openssl x509` (also for a
#       server certificate without SPIFFE ID and for an RSA one with a negative serial); a server that
#       accepts another ID refuses the client (CERT_SPIFFE_DENIED; the client reads
#       access_denied), a client that accepts another trust domain refuses the server; malformed
#       IDs and --spiffe-id without --verify-client are usage errors (exit 2).
#
# Servers listen on 127.0.0.1, port 0; every wait is bounded (`timeout`); a trap kills every
# background process.  Go is built with GO111MODULE=off, GOPROXY=off and its caches in the work
# directory (no network).  Without `go` the Go column cannot be checked: the rest runs and the
# script then exits 77 (skipped) unless something failed.  Ends with "N passed, N failed".
#
# Environment: MTLS_BUILD_DIR (tool at $MTLS_BUILD_DIR/tools/mtls, test_spiffe at
# $MTLS_BUILD_DIR/tests/test_spiffe), MTLS_SRC_DIR, and optionally MTLS_BIN (another tool binary),
# KEEP=1 (keep the work directory).
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
VERDICTS=$BUILD/tests/test_spiffe
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-spiffe.XXXXXX")
PIDS=()
PASS=0
FAIL=0
trap lib_cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASS=$((PASS + 1)); echo "  pass  $*"; }
fail() { FAIL=$((FAIL + 1)); echo "  FAIL  $*"; }

for prog in openssl; do
    command -v "$prog" >/dev/null || { echo "spiffe: $prog is not installed"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$MTLS" ] || { echo "spiffe: no tool at $MTLS"; echo "0 passed, 1 failed"; exit 1; }
P=$W/pki
sh "$SRC/tests/pki/make-spiffe-pki.sh" "$P" >"$W/pki.log" 2>&1 ||
    { show_log "$W/pki.log"; echo "spiffe: make-spiffe-pki.sh failed"; echo "0 passed, 1 failed"; exit 1; }

# ---- (a) verdicts ------------------------------------------------------------------------------
echo "(a) verdicts on the SPIFFE PKI (no SPIFFE policy, no host name)"
declare -A MT GO OS
: >"$W/mtls.verdicts"
if [ -x "$VERDICTS" ] && "$VERDICTS" --verdicts "$P" >"$W/mtls.verdicts" 2>"$W/mtls.err"; then
    while read -r n v rest; do MT[$n]=$v; done <"$W/mtls.verdicts"
else
    show_log "$W/mtls.err"
    fail "test_spiffe --verdicts did not run ($VERDICTS)"
fi
HAVE_GO=0
if command -v go >/dev/null; then
    if (cd "$W" && HOME=$W/home GOCACHE=$W/gocache GOPATH=$W/gopath GO111MODULE=off GOFLAGS='' \
        GOPROXY=off timeout 300 go build -o "$W/goverify" "$SRC/tests/interop/go/spiffe/verify.go") \
        >"$W/gobuild.log" 2>&1 && timeout 60 "$W/goverify" "$P" >"$W/go.verdicts" 2>"$W/go.err"; then
        HAVE_GO=1
        while read -r n v rest; do GO[$n]=$v; done <"$W/go.verdicts"
    else
        show_log "$W/gobuild.log" "$W/go.err"
        fail "the Go verifier did not build or run"
    fi
else
    echo "  (go is not installed: the Go column is not checked)"
fi
while read -r n a rest; do
    if timeout 10 openssl verify -CAfile "$P/$a.crt" -untrusted "$P/$n.crt" "$P/$n.leaf.crt" \
        >"$W/ossl-$n.log" 2>&1; then OS[$n]=OK; else OS[$n]=FAIL; fi
done <"$P/spiffe-cases.txt"

agree_go=0 agree_os=0 total=0
DIFF_GO=() DIFF_OS=()
printf '  %-15s %-22s %-5s %-5s %s\n' case mtls Go OpenSSL note
while read -r n a chain spiffe want_go want_os; do
    total=$((total + 1))
    mt=${MT[$n]:-none}
    [ "$mt" = OK ] && mt_s=OK || mt_s=FAIL
    want_mt=$([ "$chain" = OK ] && echo OK || echo FAIL)
    note=
    [ "$want_go" != "$want_mt" ] && note="$note Go differs by design;"
    [ "$want_os" != "$want_mt" ] && note="$note OpenSSL differs by design;"
    printf '  %-15s %-22s %-5s %-5s %s\n' "$n" "$(grep -m1 "^$n " "$W/mtls.verdicts" | awk '{print $2 == "OK" ? "OK" : $3}' | tr -d :)" \
        "${GO[$n]:--}" "${OS[$n]}" "$note"
    [ "$mt_s" = "$want_mt" ] || fail "$n: mtls says $mt_s, spiffe-cases.txt expects $chain"
    grep -q "^$n \(OK$\|FAIL ${chain}:\)" "$W/mtls.verdicts" ||
        fail "$n: mtls's error is not $chain: $(grep -m1 "^$n " "$W/mtls.verdicts" || true)"
    if [ "$HAVE_GO" = 1 ]; then
        if [ "${GO[$n]:-none}" != "$want_go" ]; then
            fail "$n: Go says ${GO[$n]:-nothing} ($(grep -m1 "^$n " "$W/go.verdicts" | cut -c1-200)), expected $want_go"
        elif [ "$want_go" = "$want_mt" ]; then
            agree_go=$((agree_go + 1))
        else
            DIFF_GO+=("$n")
        fi
    fi
    if [ "${OS[$n]}" != "$want_os" ]; then
        fail "$n: openssl verify says ${OS[$n]} ($(tr '\n' ' ' <"$W/ossl-$n.log" | cut -c1-200)), expected $want_os"
    elif [ "$want_os" = "$want_mt" ]; then
        agree_os=$((agree_os + 1))
    else
        DIFF_OS+=("$n")
    fi
done <"$P/spiffe-cases.txt"
[ "$total" -ge 29 ] && pass "$total cases read" || fail "only $total cases in spiffe-cases.txt"
if [ "$HAVE_GO" = 1 ]; then
    [ $((agree_go + ${#DIFF_GO[@]})) = "$total" ] &&
        pass "Go agrees with mtls on $agree_go of $total cases; differs as documented on ${#DIFF_GO[@]}: ${DIFF_GO[*]}"
fi
[ $((agree_os + ${#DIFF_OS[@]})) = "$total" ] &&
    pass "OpenSSL agrees with mtls on $agree_os of $total cases; differs as documented on ${#DIFF_OS[@]}: ${DIFF_OS[*]}"

# ---- (b) the tool ------------------------------------------------------------------------------
echo "(b) mtls server / mtls client with SPIFFE IDs"
WEB=spiffe://example.org/ns/prod/sa/web
API=spiffe://example.org/ns/prod/sa/api
# days DATE-LINE: whole days from now to openssl's "notAfter=..." date
days_left() { echo $((($(date -u -d "$1" +%s) - $(date -u +%s)) / 86400)); }
end_of() { openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//'; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# run_client NAME PORT ARGS...: `mtls client`, TLS $V, sending a token; its stdout in NAME.out,
# stderr in NAME.err, exit status in RC.
run_client() {
    local name=$1 port=$2
    shift 2
    RC=0
    printf '%s\n' "$TOKEN" | timeout 20 "$MTLS" client "127.0.0.1:$port" --servername localhost \
        --timeout 10 "--tls$V" "$@" >"$W/$name.out" 2>"$W/$name.err" || RC=$?
}

TOKEN=$(token)
for V in 1.2 1.3; do
    # A CA with a critical URI name constraint loads and verifies, without any SPIFFE option: the
    # client checks the host name api.example.org, the server the client chain (both constrained).
    if mtls_listen "$W/srv0-$V.log" 30 --cert "$P/api-dns.crt" --key "$P/api-dns.key" --ca "$P/td-ca.crt" \
        --verify-client require --once; then
        run_client plain-$V "$LISTEN_PORT" --servername api.example.org --ca "$P/td-ca.crt" \
            --cert "$P/web.crt" --key "$P/web.key"
        wait_exit "$LISTEN_PID" 10 || true
        if [ "$RC" = 0 ] && grep -qx "$TOKEN" "$W/plain-$V.out"; then
            pass "TLS $V: mtls server and client load td-ca.crt (critical URI name constraint) and verify its leaves"
        else
            fail "TLS $V: with td-ca.crt and no SPIFFE option: client exit $RC"; show_log "$W/plain-$V.err" "$W/srv0-$V.log"
        fi
    else
        fail "TLS $V: mtls server did not start with td-ca.crt (critical URI name constraint)"; show_log "$W/srv0-$V.log"
    fi
    if mtls_listen "$W/srv1-$V.log" 30 --cert "$P/api-dns.crt" --key "$P/api-dns.key" --ca "$P/td-ca.crt" \
        --verify-client require --spiffe-trust-domain example.org --once; then
        d0=$(days_left "$(end_of "$P/api-dns.leaf.crt")")
        run_client ok-$V "$LISTEN_PORT" --ca "$P/td-ca.crt" --cert "$P/web.crt" --key "$P/web.key" \
            --spiffe-id "$API"
        d1=$(days_left "$(end_of "$P/api-dns.leaf.crt")")
        wait_exit "$LISTEN_PID" 10 || true
        if [ "$RC" = 0 ] && grep -qx "$TOKEN" "$W/ok-$V.out"; then
            pass "TLS $V: a client accepting the server by SPIFFE ID exchanges data (host name localhost not in the certificate)"
        else
            fail "TLS $V: client by SPIFFE ID: exit $RC"; show_log "$W/ok-$V.err" "$W/srv1-$V.log"
        fi
        date=$(date -u -d "$(end_of "$P/api-dns.leaf.crt")" +%Y-%m-%d)
        want="server certificate: CN=api-dns \(SPIFFE ID $API\), serial $(serial_of "$P/api-dns.leaf.crt"), issued by CN=mtls SPIFFE Intermediate, expires $date \(in ($d0|$d1) days\)"
        if grep -Eq "^mtls: $want\$" "$W/ok-$V.err"; then
            pass "TLS $V: the client prints the server's identity and expiry: $(grep -m1 'server certificate:' "$W/ok-$V.err")"
        else
            fail "TLS $V: the client's 'server certificate' line is not /$want/"; show_log "$W/ok-$V.err"
        fi
        date=$(date -u -d "$(end_of "$P/web.leaf.crt")" +%Y-%m-%d)
        want="#1 client identity: SPIFFE ID $WEB, serial $(serial_of "$P/web.leaf.crt"), issued by CN=mtls SPIFFE Intermediate, expires $date \(in ($d0|$d1) days\)"
        if grep -Eq "^mtls: $want\$" "$W/srv1-$V.log"; then
            pass "TLS $V: the server logs the client's identity and expiry: $(grep -m1 'client identity:' "$W/srv1-$V.log")"
        else
            fail "TLS $V: the server's 'client identity' line is not /$want/"; show_log "$W/srv1-$V.log"
        fi
        grep -q "client certificate: (empty subject)" "$W/srv1-$V.log" &&
            pass "TLS $V: the server names an empty subject as such" || fail "TLS $V: no '(empty subject)' in the server's log"
    else
        fail "TLS $V: mtls server --spiffe-trust-domain did not start"; show_log "$W/srv1-$V.log"
    fi

    # The client's certificate line for other kinds of server certificates: no SPIFFE ID (no-uri), a
    # negative serial and an RSA key (info-neg); each compared with openssl x509.
    for spec in "no-uri td-ca web.example.org CN=no-uri" \
        "info-neg plain-ca info.example.org CN=info.example.org,O=mtls Test,C=DE \(SPIFFE ID spiffe://example.org/info\)"; do
        read -r srv anchor name ident <<<"$spec"
        if mtls_listen "$W/srv-$srv-$V.log" 30 --cert "$P/$srv.crt" --key "$P/$srv.key" --once; then
            d0=$(days_left "$(end_of "$P/$srv.leaf.crt")")
            run_client "id-$srv-$V" "$LISTEN_PORT" --servername "$name" --ca "$P/$anchor.crt"
            d1=$(days_left "$(end_of "$P/$srv.leaf.crt")")
            wait_exit "$LISTEN_PID" 10 || true
            issuer=$(openssl x509 -in "$P/$srv.leaf.crt" -noout -nameopt RFC2253 -issuer | sed 's/^issuer=//')
            date=$(date -u -d "$(end_of "$P/$srv.leaf.crt")" +%Y-%m-%d)
            want="server certificate: $ident, serial $(serial_of "$P/$srv.leaf.crt"), issued by $issuer, expires $date \(in ($d0|$d1) days?\)"
            if [ "$RC" = 0 ] && grep -Eq "^mtls: $want\$" "$W/id-$srv-$V.err"; then
                pass "TLS $V: the client prints: $(grep -m1 'server certificate:' "$W/id-$srv-$V.err")"
            else
                fail "TLS $V: $srv: exit $RC; the client's 'server certificate' line is not /$want/"
                show_log "$W/id-$srv-$V.err" "$W/srv-$srv-$V.log"
            fi
        else
            fail "TLS $V: mtls server with $srv.crt did not start"; show_log "$W/srv-$srv-$V.log"
        fi
    done

    # The server accepts another ID: it refuses the client, which reads access_denied.
    if mtls_listen "$W/srv2-$V.log" 30 --cert "$P/api-dns.crt" --key "$P/api-dns.key" --ca "$P/td-ca.crt" \
        --verify-client require --spiffe-id spiffe://example.org/ns/prod/sa/db --once; then
        run_client denied-$V "$LISTEN_PORT" --ca "$P/td-ca.crt" --cert "$P/web.crt" --key "$P/web.key" \
            --spiffe-trust-domain example.org
        wait_exit "$LISTEN_PID" 10 || true
        if [ "$RC" = 1 ] && grep -q "the server sent alert access_denied" "$W/denied-$V.err" &&
            grep -q "has the SPIFFE ID $WEB, which is not accepted (accepted: spiffe://example.org/ns/prod/sa/db)" "$W/srv2-$V.log"; then
            pass "TLS $V: a server accepting another ID refuses the client: $(grep -m1 'not accepted' "$W/srv2-$V.log" | cut -c1-160)..."
        else
            fail "TLS $V: server with another ID: client exit $RC"; show_log "$W/denied-$V.err" "$W/srv2-$V.log"
        fi
    else
        fail "TLS $V: mtls server (--spiffe-id) did not start"; show_log "$W/srv2-$V.log"
    fi

    # The client accepts another trust domain: it refuses the server.
    if mtls_listen "$W/srv3-$V.log" 30 --cert "$P/api-dns.crt" --key "$P/api-dns.key" --once; then
        run_client other-$V "$LISTEN_PORT" --ca "$P/td-ca.crt" --spiffe-trust-domain other.org
        wait_exit "$LISTEN_PID" 10 || true
        if [ "$RC" = 1 ] && grep -q "has the SPIFFE ID $API, which is not accepted (accepted: trust domain other.org); accept that ID with --spiffe-id" "$W/other-$V.err" &&
            grep -q "access_denied" "$W/srv3-$V.log"; then
            pass "TLS $V: a client accepting another trust domain refuses the server (and sends access_denied)"
        else
            fail "TLS $V: client with another trust domain: exit $RC"; show_log "$W/other-$V.err" "$W/srv3-$V.log"
        fi
    else
        fail "TLS $V: mtls server did not start"; show_log "$W/srv3-$V.log"
    fi
done

# Usage errors.
RC=0
"$MTLS" client 127.0.0.1:1 --ca "$P/td-ca.crt" --spiffe-id spiffe://Example.org/web >/dev/null 2>"$W/u1.err" || RC=$?
[ "$RC" = 2 ] && grep -q "uppercase letter in its trust domain" "$W/u1.err" &&
    pass "a malformed --spiffe-id is a usage error: $(cat "$W/u1.err")" ||
    { fail "malformed --spiffe-id: exit $RC"; show_log "$W/u1.err"; }
RC=0
"$MTLS" server --cert "$P/web.crt" --key "$P/web.key" --spiffe-trust-domain example.org \
    >/dev/null 2>"$W/u2.err" || RC=$?
[ "$RC" = 2 ] && grep -q -- "--verify-client require" "$W/u2.err" &&
    pass "--spiffe-trust-domain without --verify-client is a usage error" ||
    { fail "server --spiffe-trust-domain without --verify-client: exit $RC"; show_log "$W/u2.err"; }

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ] || exit 1
[ "$HAVE_GO" = 1 ] || { echo "skipped: go is not installed, so Go's verdicts were not compared"; exit 77; }
exit 0
