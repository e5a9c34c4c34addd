#!/usr/bin/env bash
# revocation.test.sh -- CRLs and OCSP stapling against OpenSSL on loopback, on the revocation PKI
# of tests/pki/make-revocation.sh (made fresh here).  Every case runs in TLS 1.2 and in TLS 1.3
# (the staple in a CertificateStatus message, or in the leaf's CertificateEntry, RFC 8446
# 4.4.2.1), the clients choosing the version where mtls serves, OpenSSL's s_server pinned to it:
#
#   1. `openssl s_client -status` against `mtls server --ocsp-staple`: the stapled response is
#      shown ("OCSP Response Status: successful", "Cert Status: good"); without -status nothing
#      is stapled;
#   2. `mtls client --ocsp` against `openssl s_server -status_file`: a good response is accepted
#      and reported ("OCSP staple: good, produced ..."), a revoked one refuses the server
#      (exit 1, the sentence names serial and reason); `--ocsp-required` against a server that
#      staples nothing fails, and so does `--ocsp` against a must-staple `mtls server` without a
#      staple, each side's hint saying what to do (--ocsp-staple; not --ocsp-required);
#   3. a revoked client certificate refused by `mtls server --crl` (openssl s_client -cert
#      revoked.crt gets "alert certificate revoked", the server's log names serial, reason and
#      CRL), a good one accepted; `mtls client --crl` refuses a revoked server; --crl-check chain
#      refuses a client under a revoked intermediate;
#   4. SIGHUP (sent to mtls itself, not to the `timeout` around it, which passes on one signal
#      only): a server whose CRL file and staple file are replaced reloads them and says what
#      changed ("CRLs changed: ...", "OCSP staple changed: ..."); the client its new CRL lists is
#      refused from then on; a second SIGHUP reloads again and finds nothing changed;
#   5. an out-of-date CRL (nextUpdate 2020): `mtls server --crl` warns at startup and on each
#      reload (file, issuer, nextUpdate, what to do); a good client is refused, the server's line
#      blaming its CRL (fetch a current one, reload), the client's hint for certificate_unknown
#      naming a stale CRL on the server; once a current CRL is in place a reload is silent and the
#      client is accepted.
# Exits 77 (skipped) without openssl.
set -uo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/interop/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
command -v openssl >/dev/null || { echo "SKIPPED: openssl is missing"; exit 77; }
[ -x "$MTLS" ] || { echo "FAIL: $MTLS not built"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-revocation.XXXXXX")
PIDS=()
trap lib_cleanup EXIT
trap 'exit 130' INT TERM
sh "$SRC/tests/pki/make-revocation.sh" "$W/pki" >/dev/null 2>&1 || { echo "FAIL: make-revocation.sh"; exit 1; }
P=$W/pki
FAILS=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; FAILS=$((FAILS + 1)); }
# expect FILE REGEX WHAT: a line of FILE matches REGEX
# expect FILE REGEX WHAT: a line of FILE matches (waiting up to 5 s: a server writes its line about
# a connection after the client, which the test waited for, may already have exited)
expect() { if wait_for "$1" "$2" 5; then ok "$3"; else bad "$3"; show_log "$1"; fi; }
# quote FILE REGEX: print the matching lines (what the report quotes)
quote() { grep -E -- "$2" "$1" | head -n 3 | sed 's/^/       | /'; }

# start_s_server LOG ARGS...: openssl s_server, TLS $V, on a free port (retries); sets SPORT, SPID
start_s_server() {
    local log=$1
    shift
    for _ in 1 2 3; do
        SPORT=$(free_port)
        timeout 60 openssl s_server -accept "127.0.0.1:$SPORT" -naccept 1 -rev "-tls1_${V#1.}" "$@" \
            >"$log" 2>&1 </dev/null &
        SPID=$!
        PIDS+=("$SPID")
        wait_for "$log" '^ACCEPT' 10 && return 0
        kill "$SPID" 2>/dev/null
    done
    return 1
}

# mclient PORT OUT ARGS...: mtls client, TLS $V, "hello" in; its stderr in OUT, status in MST
mclient() {
    local port=$1 out=$2
    shift 2
    MST=0
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$port" --servername good.test \
        --ca "$P/root.crt" "--tls$V" "$@" >/dev/null 2>"$out" || MST=$?
}
# sclient PORT OUT ARGS...: openssl s_client, TLS $V, "hi" in and a second to read the answer
sclient() {
    local port=$1 out=$2
    shift 2
    (echo hi; sleep 1) | timeout 20 openssl s_client -connect "127.0.0.1:$port" "-tls1_${V#1.}" \
        -CAfile "$P/root.crt" "$@" >"$out" 2>&1
}

for V in 1.2 1.3; do
echo "---- TLS $V"
# ---- 1. openssl s_client -status -> mtls server --ocsp-staple --------------------------------
# The server traces its flight: TLS 1.2 staples in a CertificateStatus message, TLS 1.3 in the
# status_request extension of the leaf's CertificateEntry.
if [ "$V" = 1.2 ]; then
    WHERE='> CertificateStatus +(clear +)?our stapled OCSP response \([0-9]+ bytes, status good\)'
else
    WHERE="> Certificate +(s hs traffic +)?encrypted; .*our stapled OCSP response in the leaf's entry \(status_request, RFC 8446 4.4.2.1\), status good"
fi
if mtls_listen "$W/s1-$V.log" 60 --cert "$P/good.crt" --key "$P/good.key" \
    --ocsp-staple "$P/ocsp-good.der" --once --trace; then
    sclient "$LISTEN_PORT" "$W/c1-$V.log" -status -verify_return_error
    expect "$W/c1-$V.log" "^Protocol *: TLSv$V|^New, TLSv$V" "TLS $V: s_client -status: connected in TLS $V"
    expect "$W/c1-$V.log" 'OCSP Response Status: successful' "TLS $V: s_client -status: OCSP Response Status: successful"
    expect "$W/c1-$V.log" 'Cert Status: good' "TLS $V: s_client -status: Cert Status: good"
    quote "$W/c1-$V.log" 'OCSP Response Status|Cert Status|Next Update'
    expect "$W/s1-$V.log" '^mtls: OCSP staple: from .*ocsp-good.der: good, produced ' "TLS $V: mtls server logs its staple"
    expect "$W/s1-$V.log" "$WHERE" "TLS $V: the server's trace shows where the staple went"
    quote "$W/s1-$V.log" "OCSP staple|$WHERE"
    wait_exit "$LISTEN_PID" 10 >/dev/null
else
    bad "TLS $V: mtls server --ocsp-staple did not start"; show_log "$W/s1-$V.log"
fi
if mtls_listen "$W/s1b-$V.log" 60 --cert "$P/good.crt" --key "$P/good.key" \
    --ocsp-staple "$P/ocsp-good.der" --once; then
    sclient "$LISTEN_PORT" "$W/c1b-$V.log" -verify_return_error
    if grep -q 'OCSP Response Status' "$W/c1b-$V.log"; then
        bad "TLS $V: s_client without -status got a staple"
    else
        ok "TLS $V: s_client without -status: no staple"
    fi
    wait_exit "$LISTEN_PID" 10 >/dev/null
fi

# ---- 2. mtls client --ocsp -> openssl s_server -status_file ---------------------------------
for leaf in good revoked; do
    if ! start_s_server "$W/s2-$leaf-$V.log" -cert "$P/$leaf.leaf.crt" -cert_chain "$P/int.crt" \
        -key "$P/$leaf.key" -status_file "$P/ocsp-$leaf.der"; then
        bad "TLS $V: openssl s_server -status_file ($leaf) did not start"; show_log "$W/s2-$leaf-$V.log"
        continue
    fi
    mclient "$SPORT" "$W/c2-$leaf-$V.log" --ocsp --trace
    st=$MST
    expect "$W/c2-$leaf-$V.log" "^mtls: (connected to .*: TLS $V,|handshake with .* failed)|< (ServerHello|EncryptedExtensions) .*TLS $V" "TLS $V: mtls client -> s_server: TLS $V"
    if [ "$V" = 1.2 ]; then
        expect "$W/c2-$leaf-$V.log" '< CertificateStatus' "TLS $V: ... the staple came in a CertificateStatus message"
    else
        expect "$W/c2-$leaf-$V.log" '< Certificate +(s hs traffic +)?encrypted; .*; with a stapled OCSP response \(RFC 8446 4.4.2.1\)' "TLS $V: ... the staple came in the leaf's CertificateEntry"
    fi
    if [ "$leaf" = good ]; then
        [ $st -eq 0 ] && ok "TLS $V: mtls client --ocsp, good staple: exit 0" || bad "TLS $V: mtls client --ocsp, good staple: exit $st"
        expect "$W/c2-$leaf-$V.log" '^mtls: OCSP staple: good, produced .*, next update ' "TLS $V: mtls client says 'OCSP staple: good, produced ..., next update ...'"
        quote "$W/c2-$leaf-$V.log" '^mtls: OCSP staple'
    else
        [ $st -eq 1 ] && ok "TLS $V: mtls client --ocsp, revoked staple: exit 1" || bad "TLS $V: mtls client --ocsp, revoked staple: exit $st"
        expect "$W/c2-$leaf-$V.log" 'serial 0x[0-9A-F]+, was revoked at .*keyCompromise.*according to the OCSP response signed by CN=mtls Revocation CA' "TLS $V: mtls client names serial, reason and responder"
        quote "$W/c2-$leaf-$V.log" '^mtls: .*revoked'
    fi
    kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
done
if start_s_server "$W/s2n-$V.log" -cert "$P/good.leaf.crt" -cert_chain "$P/int.crt" -key "$P/good.key"; then
    mclient "$SPORT" "$W/c2n-$V.log" --ocsp-required
    [ $MST -eq 1 ] && ok "TLS $V: mtls client --ocsp-required, no staple: exit 1" || bad "TLS $V: mtls client --ocsp-required, no staple: exit $MST"
    expect "$W/c2n-$V.log" 'no OCSP response was provided for certificate CN=good.test' "TLS $V: ... and says no response was provided"
    expect "$W/c2n-$V.log" 'drop --ocsp-required, or have the server staple one' "TLS $V: ... and names --ocsp-required in its hint"
    quote "$W/c2n-$V.log" 'OCSP'
    kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
fi
# A must-staple server (RFC 7633) that staples nothing, asked with plain --ocsp: the hints on both
# sides say what to do -- the client was not given --ocsp-required, the server no --ocsp-staple.
if mtls_listen "$W/s2m-$V.log" 60 --cert "$P/muststaple.crt" --key "$P/muststaple.key" --once; then
    mclient "$LISTEN_PORT" "$W/c2m-$V.log" --ocsp
    st=$MST
    wait_exit "$LISTEN_PID" 10 >/dev/null
    [ $st -eq 1 ] && ok "TLS $V: mtls client --ocsp, must-staple server without a staple: exit 1" ||
        bad "TLS $V: mtls client --ocsp, must-staple server without a staple: exit $st"
    expect "$W/c2m-$V.log" 'must-staple, RFC 7633\); the server staples no OCSP response .* its certificate is must-staple: the server must staple one \(mtls server --ocsp-staple FILE\)$' \
        "TLS $V: ... the client's hint names must-staple and --ocsp-staple"
    quote "$W/c2m-$V.log" 'must-staple'
    if grep -q -- '--ocsp-required' "$W/c2m-$V.log"; then
        bad "TLS $V: ... the client's hint names --ocsp-required, which was not given"; show_log "$W/c2m-$V.log"
    fi
    expect "$W/s2m-$V.log" 'sent alert bad_certificate_status_response: the client requires a stapled OCSP response .* and we staple none: staple one with --ocsp-staple FILE' \
        "TLS $V: ... the server's hint says it stapled nothing and names --ocsp-staple"
    quote "$W/s2m-$V.log" 'bad_certificate_status_response'
else
    bad "TLS $V: mtls server with the must-staple certificate did not start"; show_log "$W/s2m-$V.log"
fi
# ... and with its staple: accepted
if mtls_listen "$W/s2ms-$V.log" 60 --cert "$P/muststaple.crt" --key "$P/muststaple.key" \
    --ocsp-staple "$P/ocsp-muststaple.der" --once; then
    mclient "$LISTEN_PORT" "$W/c2ms-$V.log" --ocsp
    wait_exit "$LISTEN_PID" 10 >/dev/null
    [ $MST -eq 0 ] && ok "TLS $V: mtls client --ocsp, must-staple server with its staple: exit 0" ||
        { bad "TLS $V: mtls client --ocsp, must-staple server with its staple: exit $MST"; show_log "$W/c2ms-$V.log"; }
    expect "$W/c2ms-$V.log" '^mtls: OCSP staple: good' "TLS $V: ... the staple is good"
fi

# ---- 3. CRLs: openssl s_client -cert revoked -> mtls server --crl; mtls client --crl ----------
for leaf in revoked good; do
    if ! mtls_listen "$W/s3-$leaf-$V.log" 60 --cert "$P/good.crt" --key "$P/good.key" \
        --ca "$P/root.crt" --verify-client require --crl "$P/int.crl" --once; then
        bad "TLS $V: mtls server --crl did not start"; show_log "$W/s3-$leaf-$V.log"; continue
    fi
    sclient "$LISTEN_PORT" "$W/c3-$leaf-$V.log" -cert "$P/$leaf.leaf.crt" -cert_chain "$P/int.crt" \
        -key "$P/$leaf.key"
    wait_exit "$LISTEN_PID" 10 >/dev/null
    if [ "$leaf" = revoked ]; then
        expect "$W/c3-$leaf-$V.log" 'alert certificate revoked' "TLS $V: s_client -cert revoked.crt: alert certificate revoked"
        quote "$W/c3-$leaf-$V.log" 'alert certificate revoked'
        expect "$W/s3-$leaf-$V.log" "handshake with .* failed: certificate CN=revoked.test .*serial 0x[0-9A-F]+, was revoked at .*keyCompromise.*according to the CRL of CN=mtls Revocation CA" "TLS $V: mtls server names serial, reason and CRL"
        quote "$W/s3-$leaf-$V.log" 'revoked'
    else
        expect "$W/s3-$leaf-$V.log" "TLS $V, .*client certificate: CN=good.test" "TLS $V: s_client -cert good.crt: accepted"
    fi
done
if mtls_listen "$W/s3r-$V.log" 60 --cert "$P/revoked.crt" --key "$P/revoked.key" --once; then
    mclient "$LISTEN_PORT" "$W/c3r-$V.log" --crl "$P/int.crl"
    [ $MST -eq 1 ] && ok "TLS $V: mtls client --crl, revoked server: exit 1" || bad "TLS $V: mtls client --crl, revoked server: exit $MST"
    expect "$W/c3r-$V.log" 'was revoked at' "TLS $V: ... and says why"
    wait_exit "$LISTEN_PID" 10 >/dev/null
fi
if mtls_listen "$W/s3c-$V.log" 60 --cert "$P/good.crt" --key "$P/good.key" --ca "$P/root.crt" \
    --verify-client require --crl "$P/int2.crl" --crl "$P/root.crl" --crl-check chain --once; then
    mclient "$LISTEN_PORT" "$W/c3c-$V.log" --cert "$P/chainrev.crt" --key "$P/chainrev.key"
    wait_exit "$LISTEN_PID" 10 >/dev/null
    expect "$W/s3c-$V.log" 'certificate CN=mtls Revoked Intermediate .*cACompromise' "TLS $V: --crl-check chain: a revoked intermediate refused"
    expect "$W/c3c-$V.log" 'sent alert certificate_revoked' "TLS $V: ... the client is told certificate_revoked"
fi
done

# The servers below are signalled: the signals go to mtls itself -- `timeout` (LISTEN_PID) passes
# on only the first it gets, and that one twice (to the child and to its process group).
server_of() { ps -o pid= --ppid "$1" | tr -d ' '; }

# ---- 4. SIGHUP re-reads the CRLs and the staple -------------------------------------------------
echo "---- reloads (TLS 1.2 and 1.3 clients)"
cp "$P/int-old.crl" "$W/crl.pem"
cp "$P/ocsp-good.der" "$W/staple.der"
if mtls_listen "$W/s4.log" 120 --cert "$P/good.crt" --key "$P/good.key" --ca "$P/root.crt" \
    --verify-client require --crl "$W/crl.pem" --ocsp-staple "$W/staple.der"; then
    SERVER_PID=$(server_of "$LISTEN_PID")
    connect() { # connect LEAF: mtls client with LEAF's certificate, TLS $V, asking for the staple
        mclient "$LISTEN_PORT" "$W/c4-$V.log" --cert "$P/$1.crt" --key "$P/$1.key" --ocsp
        return $MST
    }
    for V in 1.2 1.3; do
        connect revoked && ok "TLS $V: before the reload: the revoked client (not on the old CRL) is accepted" ||
            { bad "TLS $V: before the reload: the revoked client was refused"; show_log "$W/c4-$V.log"; }
    done
    cp "$P/int.crl" "$W/crl.pem.new" && mv "$W/crl.pem.new" "$W/crl.pem"
    cp "$P/ocsp-delegated.der" "$W/staple.der.new" && mv "$W/staple.der.new" "$W/staple.der"
    kill -HUP "$SERVER_PID"
    if wait_for "$W/s4.log" '^mtls: reload 1:' 10; then
        expect "$W/s4.log" '^mtls: reload 1: .*; CRLs changed: 1 CRL, checking the leaf, hard fail: CN=mtls Revocation CA #02 \(2 revoked' "reload 1 says the CRLs changed"
        expect "$W/s4.log" '^mtls: reload 1: .*; OCSP staple changed: from .*staple.der: good' "reload 1 says the staple changed"
        quote "$W/s4.log" '^mtls: reload 1'
    else
        bad "no reload logged"; show_log "$W/s4.log"
    fi
    for V in 1.2 1.3; do
        connect revoked
        st=$?
        [ $st -eq 1 ] && ok "TLS $V: after the reload: the revoked client is refused" || bad "TLS $V: after the reload: the revoked client got exit $st"
        expect "$W/c4-$V.log" 'sent alert certificate_revoked' "TLS $V: ... with certificate_revoked"
        connect good && ok "TLS $V: after the reload: a good client is accepted" || { bad "TLS $V: after the reload: a good client was refused"; show_log "$W/c4-$V.log"; }
        expect "$W/c4-$V.log" '^mtls: OCSP staple: good, produced ' "TLS $V: ... and gets the new staple"
    done
    kill -HUP "$SERVER_PID"
    if wait_for "$W/s4.log" '^mtls: reload 2:' 10; then
        expect "$W/s4.log" '^mtls: reload 2: .*; CRLs unchanged \(.*; OCSP staple unchanged \(' "reload 2: CRLs and staple unchanged"
    else
        bad "no reload 2 logged after the second SIGHUP"; show_log "$W/s4.log"
    fi
    [ "$(grep -c '^mtls: reload [0-9]*:' "$W/s4.log")" = 2 ] && ok "two signals, two reloads" ||
        { bad "two signals, $(grep -c '^mtls: reload [0-9]*:' "$W/s4.log") reloads"; show_log "$W/s4.log"; }
    kill "$LISTEN_PID" 2>/dev/null
else
    bad "mtls server for the reload did not start"; show_log "$W/s4.log"
fi

# ---- 5. an out-of-date CRL: said at startup and on reload, and blamed on the CRL ----------------
echo "---- an out-of-date CRL (TLS 1.2 and 1.3 clients)"
cp "$P/int-expired.crl" "$W/stale.crl"
STALE_WARN='^mtls: warning: --crl .*stale\.crl: the CRL of CN=mtls Revocation CA \(cRLNumber 0x[0-9A-F]+\) is out of date: its nextUpdate was 2020-02-01 00:00:00 UTC; .*: fetch a current CRL from the CA and reload \(kill -HUP\)'
if mtls_listen "$W/s5.log" 120 --cert "$P/good.crt" --key "$P/good.key" --ca "$P/root.crt" \
    --verify-client require --crl "$W/stale.crl"; then
    expect "$W/s5.log" "$STALE_WARN" "a stale --crl: a warning at startup names the file, the issuer and the nextUpdate"
    quote "$W/s5.log" '^mtls: warning'
    n=0
    for V in 1.2 1.3; do
        n=$((n + 1))
        mclient "$LISTEN_PORT" "$W/c5-$V.log" --cert "$P/good.crt" --key "$P/good.key"
        [ $MST -eq 1 ] && ok "TLS $V: a stale --crl: a good client is refused (exit 1)" || bad "TLS $V: a stale --crl: a good client got exit $MST"
        expect "$W/s5.log" "^mtls: #$n handshake with .* failed: the CRL of CN=mtls Revocation CA .*is out of date: its nextUpdate 2020-02-01 00:00:00 UTC has passed, .*; the fault is our CRL, not the client.s certificate: fetch a current CRL from the CA and reload \(kill -HUP\)" \
            "TLS $V: ... the server's line blames its CRL and says to fetch a current one and reload"
        quote "$W/s5.log" "^mtls: #$n "
        expect "$W/c5-$V.log" 'sent alert certificate_unknown: .*a server that checks revocation also sends this when it has no current CRL of our CA' \
            "TLS $V: ... the client's hint (certificate_unknown) names an out-of-date CRL on the server"
        quote "$W/c5-$V.log" 'certificate_unknown'
    done
    SERVER_PID=$(server_of "$LISTEN_PID")
    kill -HUP "$SERVER_PID"
    if wait_for "$W/s5.log" '^mtls: reload 1:' 10; then
        [ "$(grep -cE "$STALE_WARN" "$W/s5.log")" = 2 ] && ok "a reload with the CRL still stale warns again" ||
            { bad "a reload with the CRL still stale does not warn again"; show_log "$W/s5.log"; }
    else
        bad "no reload 1 logged"; show_log "$W/s5.log"
    fi
    cp "$P/int.crl" "$W/stale.crl.new" && mv "$W/stale.crl.new" "$W/stale.crl"
    warned=$(grep -c '^mtls: warning' "$W/s5.log")
    kill -HUP "$SERVER_PID"
    if wait_for "$W/s5.log" '^mtls: reload 2:' 10; then
        [ "$(grep -c '^mtls: warning' "$W/s5.log")" = "$warned" ] && ok "a reload with a current CRL: no warning" ||
            { bad "a reload with a current CRL still warns"; show_log "$W/s5.log"; }
        for V in 1.2 1.3; do
            mclient "$LISTEN_PORT" "$W/c5b-$V.log" --cert "$P/good.crt" --key "$P/good.key" &&
                ok "TLS $V: ... and the good client is accepted" || { bad "TLS $V: ... the good client is still refused"; show_log "$W/c5b-$V.log"; }
        done
    else
        bad "no reload 2 logged"; show_log "$W/s5.log"
    fi
    kill "$LISTEN_PID" 2>/dev/null
else
    bad "mtls server with a stale CRL did not start"; show_log "$W/s5.log"
fi

if [ "$FAILS" -eq 0 ]; then
    echo "revocation: all passed"
    exit 0
fi
echo "revocation: $FAILS failed"
exit 1
