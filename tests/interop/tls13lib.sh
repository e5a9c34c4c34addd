# tls13lib.sh -- the shared part of the TLS 1.3 interop matrix (tests/interop/tls13-*.test.sh),
# sourced after lib.sh; not a test itself.
#
# The matrix: for each peer and each role it can play, with TLS 1.3 pinned ("1.3": mtls --tls1.3,
# the peer held to TLS 1.3 where it has a switch for it) and by default negotiation ("default":
# no version option on either side, and TLS 1.3 must come out), the cases
#
#   full       full handshake with mutual authentication: the server requires a client
#              certificate, each side verifies the other and names it
#   hrr        HelloRetryRequest: as client, mtls (X25519 share first) meets a peer limited to
#              P-256; as server, mtls is limited to a group the peer sent no key share for
#   resume     a second connection resumes with a ticket: psk_dhe_ke (a key share in the resumed
#              ServerHello), the client's identity kept, and the peer must say it resumed
#   keyupdate  the peer sends KeyUpdate (update_requested, and not where it can), mtls answers
#
# and in every case data flows both ways after the event the case is about.  Certificates: the
# server presents RSA (good.test, rsa_pss_rsae signatures) in `full`, P-256 otherwise; the client
# P-256 (client-ecdsa) except in `hrr`, where it is RSA (client).
#
# Output, one line per cell (scripts/interop-matrix.sh makes the table of docs/INTEROP.md from
# these lines):
#   cell PEER ROLE VERSION CASE RESULT DETAIL
#     ROLE: mtls-server (the peer is the client) or mtls-client; RESULT: pass, FAIL, skip (the
#     cell cannot run here: the peer program is missing), or n/a (the peer cannot play the
#     case: DETAIL says why; not counted)
#   peer PEER VERSION-TEXT            the version of a peer, once
# and at the end "N passed, N failed, N skipped".  A script exits 1 when a cell failed, 77 when
# no cell could run, else 0.
#
# Functions (the caller sets SRC, MTLS, W, PIDS and HOST=good.test first):
#   cell PEER ROLE VERSION CASE pass|skip|n/a|FAIL DETAIL
#   peer_info PEER TEXT
#   t13_summary                       the summary line and the exit status above (exits)
#   t13_pki                           tests/pki/make-pki.sh into $W/pki; sets PKI and CA
#   t13_server_cert CASE, t13_client_cert CASE, cn_of NAME
#   t13_mtls_server LOG VERSION CASE [ARGS...]
#                                     `mtls server` for one cell; sets SPID, SPORT; --once unless
#                                     CASE is resume (then stop it with t13_stop_server)
#   t13_stop_server [N]               stop the server of t13_mtls_server (resume: once N
#                                     connections ended), its exit status
#   t13_judge_server LOG CASE CLIENT_CN N
#                                     why mtls server's log (N connections) does not show the
#                                     case; empty when it does
#   t13_mtls_client PRE PORT VERSION CASE [ARGS...]
#                                     `mtls client` for one cell, stdin the caller's; PRE.out and
#                                     PRE.err; its exit status
#   t13_judge_client PRE STATUS CASE SERVER_CN [resumed]
#                                     why the mtls client's output does not show the case

T13_PASS=0
T13_FAIL=0
T13_SKIP=0
# HelloRetryRequest with mtls as server: the one group mtls server accepts (a caller whose peer
# sends a P-256 share in its first ClientHello sets secp384r1)
HRR_GROUP=${HRR_GROUP:-secp256r1}

cell() {
    local res=$5
    case $res in
    pass) T13_PASS=$((T13_PASS + 1)) ;;
    skip) T13_SKIP=$((T13_SKIP + 1)) ;;
    n/a) ;;
    *) res=FAIL; T13_FAIL=$((T13_FAIL + 1)) ;;
    esac
    printf 'cell %-8s %-11s %-7s %-9s %-4s %s\n' "$1" "$2" "$3" "$4" "$res" "${6:-}"
}

peer_info() { printf 'peer %-8s %s\n' "$1" "$2"; }

t13_summary() {
    echo
    echo "$T13_PASS passed, $T13_FAIL failed, $T13_SKIP skipped"
    [ "$T13_FAIL" -eq 0 ] || exit 1
    # nothing could run here: ctest shows the test as skipped (SKIP_RETURN_CODE 77)
    [ $((T13_PASS + T13_FAIL)) -gt 0 ] || exit 77
    exit 0
}

t13_pki() {
    PKI=$W/pki
    CA=$PKI/ca.crt
    timeout 120 sh "$SRC/tests/pki/make-pki.sh" "$PKI" > "$W/pki.log" 2>&1
}

t13_server_cert() { case $1 in full) echo good ;; *) echo ecdsa256 ;; esac; }
t13_client_cert() { case $1 in hrr) echo client ;; *) echo client-ecdsa ;; esac; }
cn_of() { case $1 in good) echo good.test ;; *) echo "$1.test" ;; esac; }

t13_mtls_server() {
    local log=$1 ver=$2 cs=$3 c st=0
    shift 3
    c=$(t13_server_cert "$cs")
    local args=(--timeout 20 --trace --cert "$PKI/$c.crt" --key "$PKI/$c.key" --ca "$CA"
        --verify-client require)
    [ "$ver" = 1.3 ] && args+=(--tls1.3)
    [ "$cs" = hrr ] && args+=(--groups "$HRR_GROUP")
    T13_ONCE=1 T13_LOG=$log
    [ "$cs" = resume ] && T13_ONCE=0
    [ "$T13_ONCE" = 1 ] && args+=(--once)
    mtls_listen "$log" 120 "${args[@]}" "$@" || st=$?
    SPID=$LISTEN_PID
    SPORT=$LISTEN_PORT
    return $st
}

t13_stop_server() {
    local st=0
    # --once: it ends by itself once its connection closed; resume: it serves on, stop it (its
    # connections are over: the clients saw them closed)
    if [ "$T13_ONCE" = 1 ]; then
        wait_exit "$SPID" 10 || st=$?
    else
        # ... once it logged the end of the last one
        local i
        for ((i = 0; i < 50; i++)); do
            [ "$(grep -Ec '^mtls: #[0-9]+ (closed|.* failed: )' "$T13_LOG" 2>/dev/null)" -ge "${1:-1}" ] && break
            sleep 0.1
        done
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
    fi
    return $st
}

t13_judge_server() {
    local log=$1 cs=$2 cn=$3 n=$4 i line
    for ((i = 1; i <= n; i++)); do
        line=$(grep -m1 "^mtls: #$i [0-9.]*:[0-9]*: " "$log" || true)
        [ -n "$line" ] || { echo "mtls server: no connection #$i ($(grep -m1 'failed' "$log" | cut -c1-200))"; return; }
        [[ $line =~ :\ TLS\ 1\.3,\ TLS_[A-Z0-9_]+, ]] || { echo "mtls server #$i: ${line#mtls: }"; return; }
        [[ $line =~ \;\ client\ certificate:\ CN=$cn$ ]] ||
            { echo "mtls server #$i did not report the client certificate CN=$cn: ${line##*; }"; return; }
    done
    # data both ways on the last connection (the case's event comes before it)
    grep -Eq "^mtls: #$n closed cleanly \([1-9][0-9]* bytes in, [1-9][0-9]* out\)" "$log" ||
        { echo "mtls server #$n: $(grep -m1 "^mtls: #$n \(closed\|.*failed\)" "$log" || echo 'not closed cleanly with data both ways')"; return; }
    case $cs in
    hrr)
        grep -Eq '^#1 +[0-9]+ > HelloRetryRequest ' "$log" ||
            { echo "mtls server sent no HelloRetryRequest"; return; }
        ;;
    resume)
        for ((i = 2; i <= n; i++)); do
            grep -q "^mtls: #$i .*TLS 1\.3, .*resumed session" "$log" ||
                { echo "mtls server: connection #$i did not resume"; return; }
            grep -Eq "^mtls: #$i .*resumed session \(abbreviated handshake\), key exchange [a-z0-9]+[;,]" "$log" ||
                { echo "mtls server #$i does not name the resumed session's key exchange: $(grep -m1 "^mtls: #$i .*resumed" "$log" | cut -c1-200)"; return; }
            # psk_dhe_ke: the resumed ServerHello carries a key share
            grep -Eq "^#$i +[0-9]+ > ServerHello .*key share [a-z0-9]+, accepts the client's ticket" "$log" ||
                { echo "mtls server #$i: no ServerHello with a key share accepting the ticket (psk_dhe_ke)"; return; }
        done
        ;;
    keyupdate)
        grep -Eq '^#1 +[0-9]+ < KeyUpdate +(. ap traffic [0-9]+ +)?update_requested' "$log" ||
            { echo "mtls server received no KeyUpdate with update_requested"; return; }
        grep -Eq '^#1 +[0-9]+ > KeyUpdate ' "$log" ||
            { echo "mtls server did not answer with its own KeyUpdate"; return; }
        ;;
    esac
    return 0
}

t13_mtls_client() {
    local pre=$1 port=$2 ver=$3 cs=$4 k
    shift 4
    k=$(t13_client_cert "$cs")
    local args=(client "127.0.0.1:$port" --servername "$HOST" --ca "$CA" --cert "$PKI/$k.crt"
        --key "$PKI/$k.key" --timeout 10 --trace)
    [ "$ver" = 1.3 ] && args+=(--tls1.3)
    timeout 60 "$MTLS" "${args[@]}" "$@" > "$pre.out" 2> "$pre.err"
}

t13_judge_client() {
    local pre=$1 st=$2 cs=$3 cn=$4 resumed=${5:-} line
    [ "$st" = 0 ] ||
        { echo "mtls client exited with status $st: $(grep '^mtls: ' "$pre.err" | tail -n1 | cut -c1-250)"; return; }
    line=$(grep -m1 '^mtls: connected to ' "$pre.err" || true)
    [[ $line =~ :\ TLS\ 1\.3,\ TLS_[A-Z0-9_]+, ]] || { echo "mtls client: ${line:-no connected line}"; return; }
    [[ $line == *"server CN=$cn verified"* ]] || { echo "mtls client did not verify CN=$cn: $line"; return; }
    if [ -n "$resumed" ]; then
        [[ $line == *"resumed session"* ]] || { echo "mtls client did not resume: $line"; return; }
        [[ $line =~ resumed\ session\ \(abbreviated\ handshake\),\ key\ exchange\ [a-z0-9]+[\;,] ]] ||
            { echo "mtls client does not name the resumed session's key exchange: $line"; return; }
        grep -Eq '^ +[0-9]+ < ServerHello .*key share [a-z0-9]+, accepts our ticket' "$pre.err" ||
            { echo "mtls client: no ServerHello with a key share accepting our ticket (psk_dhe_ke)"; return; }
    else
        [[ $line == *"our certificate sent"* ]] || { echo "mtls client did not send its certificate: $line"; return; }
    fi
    case $cs in
    hrr)
        grep -Eq '^ +[0-9]+ < HelloRetryRequest ' "$pre.err" ||
            { echo "mtls client received no HelloRetryRequest"; return; }
        ;;
    keyupdate)
        grep -Eq '^ +[0-9]+ < KeyUpdate +(. ap traffic [0-9]+ +)?update_requested' "$pre.err" ||
            { echo "mtls client received no KeyUpdate with update_requested"; return; }
        grep -Eq '^ +[0-9]+ > KeyUpdate ' "$pre.err" ||
            { echo "mtls client did not answer with its own KeyUpdate"; return; }
        ;;
    esac
    return 0
}
