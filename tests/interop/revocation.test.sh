#!/usr/bin/env bash
# revocation.test.sh -- CRLs and OCSP stapling against OpenSSL on loopback, on the revocation PKI
# of tests/pki/make-revocation.sh (made fresh here):
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
#   4. SIGHUP: a server whose CRL file and staple file are replaced reloads them and says what
#      changed ("CRLs changed: ...", "OCSP staple changed: ..."); the client its new CRL lists is
#      refused from then on;
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
expect() { if grep -Eq -- "$2" "$1"; then ok "$3"; else bad "$3"; show_log "$1"; fi; }
# quote FILE REGEX: print the matching lines (what the report quotes)
quote() { grep -E -- "$2" "$1" | head -n 3 | sed 's/^/       | /'; }

# start_s_server LOG ARGS...: openssl s_server on a free port (retries); sets SPORT, SPID
start_s_server() {
    local log=$1
    shift
    for _ in 1 2 3; do
        SPORT=$(free_port)
        timeout 60 openssl s_server -accept "127.0.0.1:$SPORT" -naccept 1 -rev -tls1_2 "$@" \
            >"$log" 2>&1 </dev/null &
        SPID=$!
        PIDS+=("$SPID")
        wait_for "$log" '^ACCEPT' 10 && return 0
        kill "$SPID" 2>/dev/null
    done
    return 1
}

# ---- 1. openssl s_client -status -> mtls server --ocsp-staple --------------------------------
if mtls_listen "$W/s1.log" 60 --cert "$P/good.crt" --key "$P/good.key" \
    --ocsp-staple "$P/ocsp-good.der" --once; then
    (echo hi; sleep 1) | timeout 20 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" -status \
        -CAfile "$P/root.crt" -verify_return_error >"$W/c1.log" 2>&1
    expect "$W/c1.log" 'OCSP Response Status: successful' "s_client -status: OCSP Response Status: successful"
    expect "$W/c1.log" 'Cert Status: good' "s_client -status: Cert Status: good"
    quote "$W/c1.log" 'OCSP Response Status|Cert Status|Next Update'
    expect "$W/s1.log" '^mtls: OCSP staple: from .*ocsp-good.der: good, produced ' "mtls server logs its staple"
    quote "$W/s1.log" 'OCSP staple'
    wait_exit "$LISTEN_PID" 10 >/dev/null
else
    bad "mtls server --ocsp-staple did not start"; show_log "$W/s1.log"
fi
if mtls_listen "$W/s1b.log" 60 --cert "$P/good.crt" --key "$P/good.key" \
    --ocsp-staple "$P/ocsp-good.der" --once; then
    (echo hi; sleep 1) | timeout 20 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" \
        -CAfile "$P/root.crt" -verify_return_error >"$W/c1b.log" 2>&1
    if grep -q 'OCSP Response Status' "$W/c1b.log"; then
        bad "s_client without -status got a staple"
    else
        ok "s_client without -status: no staple"
    fi
    wait_exit "$LISTEN_PID" 10 >/dev/null
fi

# ---- 2. mtls client --ocsp -> openssl s_server -status_file ---------------------------------
for leaf in good revoked; do
    if ! start_s_server "$W/s2-$leaf.log" -cert "$P/$leaf.leaf.crt" -cert_chain "$P/int.crt" \
        -key "$P/$leaf.key" -status_file "$P/ocsp-$leaf.der"; then
        bad "openssl s_server -status_file ($leaf) did not start"; show_log "$W/s2-$leaf.log"
        continue
    fi
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$SPORT" --servername good.test \
        --ca "$P/root.crt" --ocsp >"$W/c2-$leaf.out" 2>"$W/c2-$leaf.log"
    st=$?
    if [ "$leaf" = good ]; then
        [ $st -eq 0 ] && ok "mtls client --ocsp, good staple: exit 0" || bad "mtls client --ocsp, good staple: exit $st"
        expect "$W/c2-$leaf.log" '^mtls: OCSP staple: good, produced .*, next update ' "mtls client says 'OCSP staple: good, produced ..., next update ...'"
        quote "$W/c2-$leaf.log" 'OCSP staple'
    else
        [ $st -eq 1 ] && ok "mtls client --ocsp, revoked staple: exit 1" || bad "mtls client --ocsp, revoked staple: exit $st"
        expect "$W/c2-$leaf.log" 'serial 0x[0-9A-F]+, was revoked at .*keyCompromise.*according to the OCSP response signed by CN=mtls Revocation CA' "mtls client names serial, reason and responder"
        quote "$W/c2-$leaf.log" 'revoked'
    fi
    kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
done
if start_s_server "$W/s2n.log" -cert "$P/good.leaf.crt" -cert_chain "$P/int.crt" -key "$P/good.key"; then
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$SPORT" --servername good.test \
        --ca "$P/root.crt" --ocsp-required >/dev/null 2>"$W/c2n.log"
    st=$?
    [ $st -eq 1 ] && ok "mtls client --ocsp-required, no staple: exit 1" || bad "mtls client --ocsp-required, no staple: exit $st"
    expect "$W/c2n.log" 'no OCSP response was provided for certificate CN=good.test' "... and says no response was provided"
    expect "$W/c2n.log" 'drop --ocsp-required, or have the server staple one' "... and names --ocsp-required in its hint"
    quote "$W/c2n.log" 'OCSP'
    kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
fi
# A must-staple server (RFC 7633) that staples nothing, asked with plain --ocsp: the hints on both
# sides say what to do -- the client was not given --ocsp-required, the server no --ocsp-staple.
if mtls_listen "$W/s2m.log" 60 --cert "$P/muststaple.crt" --key "$P/muststaple.key" --once; then
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername good.test \
        --ca "$P/root.crt" --ocsp >/dev/null 2>"$W/c2m.log"
    st=$?
    wait_exit "$LISTEN_PID" 10 >/dev/null
    [ $st -eq 1 ] && ok "mtls client --ocsp, must-staple server without a staple: exit 1" ||
        bad "mtls client --ocsp, must-staple server without a staple: exit $st"
    expect "$W/c2m.log" 'must-staple, RFC 7633\); the server staples no OCSP response .* its certificate is must-staple: the server must staple one \(mtls server --ocsp-staple FILE\)$' \
        "... the client's hint names must-staple and --ocsp-staple"
    quote "$W/c2m.log" 'must-staple'
    if grep -q -- '--ocsp-required' "$W/c2m.log"; then
        bad "... the client's hint names --ocsp-required, which was not given"; show_log "$W/c2m.log"
    fi
    expect "$W/s2m.log" 'sent alert bad_certificate_status_response: the client requires a stapled OCSP response .* and we staple none: staple one with --ocsp-staple FILE' \
        "... the server's hint says it stapled nothing and names --ocsp-staple"
    quote "$W/s2m.log" 'bad_certificate_status_response'
else
    bad "mtls server with the must-staple certificate did not start"; show_log "$W/s2m.log"
fi

# ---- 3. CRLs: openssl s_client -cert revoked -> mtls server --crl; mtls client --crl ----------
for leaf in revoked good; do
    if ! mtls_listen "$W/s3-$leaf.log" 60 --cert "$P/good.crt" --key "$P/good.key" \
        --ca "$P/root.crt" --verify-client require --crl "$P/int.crl" --once; then
        bad "mtls server --crl did not start"; show_log "$W/s3-$leaf.log"; continue
    fi
    (echo hi; sleep 1) | timeout 20 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" \
        -cert "$P/$leaf.leaf.crt" -cert_chain "$P/int.crt" -key "$P/$leaf.key" \
        -CAfile "$P/root.crt" >"$W/c3-$leaf.log" 2>&1
    wait_exit "$LISTEN_PID" 10 >/dev/null
    if [ "$leaf" = revoked ]; then
        expect "$W/c3-$leaf.log" 'alert certificate revoked' "s_client -cert revoked.crt: alert certificate revoked"
        quote "$W/c3-$leaf.log" 'alert certificate revoked'
        expect "$W/s3-$leaf.log" 'certificate CN=revoked.test .*serial 0x[0-9A-F]+, was revoked at .*keyCompromise.*according to the CRL of CN=mtls Revocation CA' "mtls server names serial, reason and CRL"
        quote "$W/s3-$leaf.log" 'revoked'
    else
        expect "$W/s3-$leaf.log" 'client certificate: CN=good.test' "s_client -cert good.crt: accepted"
    fi
done
if mtls_listen "$W/s3r.log" 60 --cert "$P/revoked.crt" --key "$P/revoked.key" --once; then
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername good.test \
        --ca "$P/root.crt" --crl "$P/int.crl" >/dev/null 2>"$W/c3r.log"
    st=$?
    [ $st -eq 1 ] && ok "mtls client --crl, revoked server: exit 1" || bad "mtls client --crl, revoked server: exit $st"
    expect "$W/c3r.log" 'was revoked at' "... and says why"
    wait_exit "$LISTEN_PID" 10 >/dev/null
fi
if mtls_listen "$W/s3c.log" 60 --cert "$P/good.crt" --key "$P/good.key" --ca "$P/root.crt" \
    --verify-client require --crl "$P/int2.crl" --crl "$P/root.crl" --crl-check chain --once; then
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername good.test \
        --ca "$P/root.crt" --cert "$P/chainrev.crt" --key "$P/chainrev.key" >/dev/null 2>"$W/c3c.log"
    wait_exit "$LISTEN_PID" 10 >/dev/null
    expect "$W/s3c.log" 'certificate CN=mtls Revoked Intermediate .*cACompromise' "--crl-check chain: a revoked intermediate refused"
    expect "$W/c3c.log" 'sent alert certificate_revoked' "... the client is told certificate_revoked"
fi

# ---- 4. SIGHUP re-reads the CRLs and the staple -------------------------------------------------
cp "$P/int-old.crl" "$W/crl.pem"
cp "$P/ocsp-good.der" "$W/staple.der"
if mtls_listen "$W/s4.log" 120 --cert "$P/good.crt" --key "$P/good.key" --ca "$P/root.crt" \
    --verify-client require --crl "$W/crl.pem" --ocsp-staple "$W/staple.der"; then
    connect() { # connect LEAF: mtls client with LEAF's certificate, asking for the staple
        echo hello | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername good.test \
            --ca "$P/root.crt" --cert "$P/$1.crt" --key "$P/$1.key" --ocsp >/dev/null 2>"$W/c4.log"
    }
    connect revoked && ok "before the reload: the revoked client (not on the old CRL) is accepted" ||
        { bad "before the reload: the revoked client was refused"; show_log "$W/c4.log"; }
    cp "$P/int.crl" "$W/crl.pem.new" && mv "$W/crl.pem.new" "$W/crl.pem"
    cp "$P/ocsp-delegated.der" "$W/staple.der.new" && mv "$W/staple.der.new" "$W/staple.der"
    kill -HUP "$LISTEN_PID"
    if wait_for "$W/s4.log" '^mtls: reload 1:' 10; then
        expect "$W/s4.log" '^mtls: reload 1: .*; CRLs changed: 1 CRL, checking the leaf, hard fail: CN=mtls Revocation CA #02 \(2 revoked' "reload 1 says the CRLs changed"
        expect "$W/s4.log" '^mtls: reload 1: .*; OCSP staple changed: from .*staple.der: good' "reload 1 says the staple changed"
        quote "$W/s4.log" '^mtls: reload 1'
    else
        bad "no reload logged"; show_log "$W/s4.log"
    fi
    connect revoked
    st=$?
    [ $st -eq 1 ] && ok "after the reload: the revoked client is refused" || bad "after the reload: the revoked client got exit $st"
    expect "$W/c4.log" 'sent alert certificate_revoked' "... with certificate_revoked"
    connect good && ok "after the reload: a good client is accepted" || { bad "after the reload: a good client was refused"; show_log "$W/c4.log"; }
    expect "$W/c4.log" '^mtls: OCSP staple: good, produced ' "... and gets the new staple"
    kill -HUP "$LISTEN_PID"
    wait_for "$W/s4.log" '^mtls: reload 2:' 10 &&
        expect "$W/s4.log" '^mtls: reload 2: .*; CRLs unchanged \(.*; OCSP staple unchanged \(' "reload 2: CRLs and staple unchanged"
    kill "$LISTEN_PID" 2>/dev/null
else
    bad "mtls server for the reload did not start"; show_log "$W/s4.log"
fi

# ---- 5. an out-of-date CRL: said at startup and on reload, and blamed on the CRL ----------------
cp "$P/int-expired.crl" "$W/stale.crl"
STALE_WARN='^mtls: warning: --crl .*stale\.crl: the CRL of CN=mtls Revocation CA \(cRLNumber 0x[0-9A-F]+\) is out of date: its nextUpdate was 2020-02-01 00:00:00 UTC; .*: fetch a current CRL from the CA and reload \(kill -HUP\)'
if mtls_listen "$W/s5.log" 120 --cert "$P/good.crt" --key "$P/good.key" --ca "$P/root.crt" \
    --verify-client require --crl "$W/stale.crl"; then
    expect "$W/s5.log" "$STALE_WARN" "a stale --crl: a warning at startup names the file, the issuer and the nextUpdate"
    quote "$W/s5.log" '^mtls: warning'
    echo hello | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername good.test \
        --ca "$P/root.crt" --cert "$P/good.crt" --key "$P/good.key" >/dev/null 2>"$W/c5.log"
    st=$?
    [ $st -eq 1 ] && ok "a stale --crl: a good client is refused (exit 1)" || bad "a stale --crl: a good client got exit $st"
    expect "$W/s5.log" '^mtls: #1 handshake with .* failed: the CRL of CN=mtls Revocation CA .*is out of date: its nextUpdate 2020-02-01 00:00:00 UTC has passed, .*; the fault is our CRL, not the client.s certificate: fetch a current CRL from the CA and reload \(kill -HUP\)' \
        "... the server's line blames its CRL and says to fetch a current one and reload"
    quote "$W/s5.log" '^mtls: #1 '
    expect "$W/c5.log" 'sent alert certificate_unknown: .*a server that checks revocation also sends this when it has no current CRL of our CA' \
        "... the client's hint (certificate_unknown) names an out-of-date CRL on the server"
    quote "$W/c5.log" 'certificate_unknown'
    # The signals go to mtls itself: `timeout` (LISTEN_PID) passes on only the first it gets, and
    # that one twice (to the child and to its process group).
    SERVER_PID=$(ps -o pid= --ppid "$LISTEN_PID" | tr -d ' ')
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
        echo hello | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" --servername good.test \
            --ca "$P/root.crt" --cert "$P/good.crt" --key "$P/good.key" >/dev/null 2>"$W/c5b.log" &&
            ok "... and the good client is accepted" || { bad "... the good client is still refused"; show_log "$W/c5b.log"; }
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
