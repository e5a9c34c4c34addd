#!/usr/bin/env bash
# tls13-tools.test.sh -- the TLS 1.3 interop matrix against command-line TLS tools on loopback:
#
#   openssl s_client  -> mtls server      mtls client -> openssl s_server      (OpenSSL 3.0)
#   gnutls-cli        -> mtls server      mtls client -> gnutls-serv           (GnuTLS)
#   curl              -> mtls server --http                                    (curl, OpenSSL)
#
# with TLS 1.3 pinned and by default negotiation, the cases of tls13lib.sh: full (mutual
# authentication), hrr, resume, keyupdate.  How each peer plays them:
#
#   s_client    -tls1_3 when pinned; hrr: mtls server --groups secp256r1 against s_client's X25519
#               share; resume: -sess_out, then -sess_in ("Reused, TLSv1.3"); keyupdate: the `k`
#               (update_not_requested) and `K` (update_requested) commands between tokens
#   s_server    -tls1_3 when pinned, -rev (echoes each line reversed); hrr: -groups P-256; resume:
#               mtls client --sess-out, then --sess-in, and s_server's -trace shows its
#               ServerHello with the psk extension; keyupdate: its `k` and `K` commands, fed on
#               its standard input between the mtls client's tokens (sv_body mode, no -rev)
#   gnutls-cli  priority +VERS-TLS1.3 only when pinned; hrr: mtls --groups secp384r1 (GnuTLS sends
#               X25519 and P-256 shares); resume: -r ("This is a resumed session"); keyupdate:
#               the ^renegotiate^ inline command, which in TLS 1.3 is a KeyUpdate with
#               update_requested
#   gnutls-serv --echo; hrr: priority with P-256 only; resume: "This is a resumed session";
#               keyupdate: not available (gnutls-serv has no command for it)
#   curl        --tlsv1.3 --tls-max 1.3 when pinned; two URLs with "Connection: close", so that
#               the second comes on a new connection ("SSL re-using session ID");
#               keyupdate: not available
#
# Every wait is bounded; servers stop by themselves (--once, -naccept, or `timeout`); mtls and
# s_server listen on 127.0.0.1 (gnutls-serv has no bind option: it listens on all addresses, on
# a random high port, for one cell at a time).  A peer that is missing makes its cells "skip".
#
# Environment: MTLS_BUILD_DIR, MTLS_SRC_DIR; optionally MTLS_BIN, KEEP=1 (keep the work
# directory), VERBOSE=1 (show the logs of passing cells too), T13_PEERS (a subset of
# "openssl gnutls curl").
set -u

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tls13lib.sh"
TAIL=${TAIL:-12}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-tls13-tools.XXXXXX")
PIDS=()
HOST=good.test
PEERS=${T13_PEERS:-openssl gnutls curl}
VERSIONS=(1.3 default)

trap lib_cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$MTLS" ]; then
    echo "tls13-tools: $MTLS is not built; build first (cmake --build build)"
    exit 1
fi
MTLS=$(cd "$(dirname "$MTLS")" && pwd)/$(basename "$MTLS")
# without openssl there is no test PKI, and no cell can run
command -v openssl > /dev/null || { echo "tls13-tools: the openssl command makes the test PKI: nothing can run (apt-get install openssl)"; exit 77; }
t13_pki || { show_log "$W/pki.log"; echo "tls13-tools: tests/pki/make-pki.sh failed"; exit 1; }
cd "$W" || exit 1

want() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }

# judged PEER ROLE VERSION CASE WHY DETAIL LOG...: the cell's line; the logs when it failed
judged() {
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

# wait_count FILE REGEX N SECS: until N lines of FILE match REGEX (0), or 1 after SECS seconds
wait_count() {
    local i
    for ((i = 0; i < $4 * 10; i++)); do
        [ "$(grep -Ec -- "$2" "$1" 2>/dev/null || true)" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

# ==== OpenSSL ===================================================================================

# --- openssl s_client -> mtls server ---

# sc_talk PRE ARGS...: s_client (stdout and stderr in PRE.out) sends the token $TOK and ends once
# it came back; sets PST
sc_talk() {
    local pre=$1
    shift
    PST=0
    { printf '%s\n' "$TOK"; wait_for "$pre.out" "$TOK\$" 15; } |
        timeout 30 openssl s_client "$@" > "$pre.out" 2>&1 || PST=$?
}

# sc_judge PRE STATUS CASE [Reused]: why s_client's output does not show the case
sc_judge() {
    local pre=$1 st=$2 cs=$3 how=${4:-New}
    [ "$st" = 0 ] || { echo "s_client exited with status $st: $(grep -m1 -i 'error\|alert' "$pre.out" | cut -c1-200)"; return; }
    grep -Eq "^$how, TLSv1\.3, Cipher is TLS_" "$pre.out" ||
        { echo "s_client: $(grep -m1 -E '^(New|Reused),' "$pre.out" || echo 'no session line'), expected $how, TLSv1.3"; return; }
    grep -q '^Verify return code: 0 (ok)' "$pre.out" || { echo "s_client did not verify mtls server"; return; }
    grep -q -- "$TOK\$" "$pre.out" || { echo "s_client: the token did not come back"; return; }
    [ "$cs" != hrr ] || grep -q '^Server Temp Key: ECDH, prime256v1' "$pre.out" ||
        { echo "s_client: $(grep -m1 'Server Temp Key' "$pre.out" || echo 'no Server Temp Key'), expected P-256 after the HelloRetryRequest"; return; }
    return 0
}

sc_cell() { # VERSION CASE
    local ver=$1 cs=$2 pre=$W/sc-$1-$2 k why="" detail="" n=1 sst=0
    k=$(t13_client_cert "$cs")
    local args=(-connect "127.0.0.1:PORT" -servername "$HOST" -verify_hostname "$HOST" -CAfile "$CA"
        -verify_return_error -cert "$PKI/$k.crt" -cert_chain "$PKI/$k.crt" -key "$PKI/$k.key"
        -no_ign_eof)
    [ "$ver" = 1.3 ] && args+=(-tls1_3)
    if ! t13_mtls_server "$pre.log" "$ver" "$cs"; then
        judged openssl mtls-server "$ver" "$cs" "mtls server did not start" "" "$pre.log"
        return
    fi
    args[1]=127.0.0.1:$SPORT
    case $cs in
    resume)
        n=2
        TOK=$(token)
        sc_talk "$pre.1" "${args[@]}" -sess_out "$pre.sess"
        why=$(sc_judge "$pre.1" "$PST" "$cs")
        if [ -z "$why" ]; then
            TOK=$(token)
            sc_talk "$pre.2" "${args[@]}" -sess_in "$pre.sess"
            why=$(sc_judge "$pre.2" "$PST" "$cs" Reused)
            [ -z "$why" ] && detail="s_client: Reused, TLSv1.3"
        fi
        ;;
    keyupdate)
        # tokens around `k` (update_not_requested) and `K` (update_requested); each command
        # only once the token before came back, so that s_client reads it as a line of its own
        local t1 t2 t3
        t1=$(token) t2=$(token) t3=$(token)
        PST=0
        {
            printf '%s\n' "$t1"
            wait_for "$pre.out" "$t1\$" 15 && printf 'k\n' &&
                wait_count "$pre.out" 'KEYUPDATE' 1 15 && printf '%s\n' "$t2" &&
                wait_for "$pre.out" "$t2\$" 15 && printf 'K\n' &&
                wait_count "$pre.out" 'KEYUPDATE' 2 15 && printf '%s\n' "$t3" &&
                wait_for "$pre.out" "$t3\$" 15
        } | timeout 60 openssl s_client "${args[@]}" > "$pre.out" 2>&1 || PST=$?
        TOK=$t3
        why=$(sc_judge "$pre" "$PST" "$cs")
        [ -z "$why" ] && ! grep -q -- "$t2\$" "$pre.out" && why="s_client: the token after k did not come back"
        [ -z "$why" ] && [ "$(grep -o 'KEYUPDATE' "$pre.out" | wc -l)" != 2 ] && why="s_client did not send both key updates"
        [ -z "$why" ] && detail="s_client k, K; tokens before, between, after echoed"
        ;;
    *)
        TOK=$(token)
        sc_talk "$pre" "${args[@]}"
        why=$(sc_judge "$pre" "$PST" "$cs")
        ;;
    esac
    t13_stop_server "$n" || sst=$?
    if [ -z "$why" ]; then
        why=$(t13_judge_server "$pre.log" "$cs" "$(cn_of "$k")" "$n")
        [ -z "$why" ] && [ "$cs" = keyupdate ] &&
            ! grep -Eq '^#1 +[0-9]+ < KeyUpdate +(. ap traffic [0-9]+ +)?update_not_requested' "$pre.log" &&
            why="mtls server did not see s_client's update_not_requested KeyUpdate"
        [ -z "$why" ] && [ "$cs" != resume ] && [ "$sst" != 0 ] && why="mtls server --once exited with status $sst"
    fi
    local f=$pre.out
    [ -f "$pre.2.out" ] && f=$pre.2.out
    [ -z "$detail" ] && detail="s_client: $(grep -m1 -Eo '^(New|Reused), TLSv1\.3, Cipher is [A-Z0-9_]+' "$f")"
    judged openssl mtls-server "$ver" "$cs" "$why" "$detail" "$pre.log" "$pre.out" "$pre.1.out" "$pre.2.out"
}

# --- mtls client -> openssl s_server ---

# ss_start PRE N [ARGS...]: s_server for N connections, stdin the caller's (<&0: bash would give
# a background command /dev/null); PRE.log, its -trace in PRE.trace; sets OPID, OPORT
ss_start() {
    local pre=$1 n=$2 try
    shift 2
    for ((try = 0; try < 5; try++)); do
        OPORT=$(free_port)
        rm -f "$pre.log" "$pre.trace"
        timeout 120 openssl s_server -accept "127.0.0.1:$OPORT" -naccept "$n" "$@" \
            -trace -msgfile "$pre.trace" > "$pre.log" 2>&1 <&0 &
        OPID=$!
        PIDS+=("$OPID")
        wait_for "$pre.log" '^ACCEPT' 10 && return 0
        kill "$OPID" 2>/dev/null
        wait "$OPID" 2>/dev/null
    done
    return 1
}

# psk_hellos TRACE: how many ServerHellos in s_server's -trace carry the psk extension (resumed)
psk_hellos() {
    awk '/ServerHello, Length/ { sh = 1 } /Record$/ { sh = 0 }
         sh && /extension_type=psk\(41\)/ { n++ } END { print n + 0 }' "$1"
}

ss_cell() { # VERSION CASE
    local ver=$1 cs=$2 pre=$W/ss-$1-$2 c why="" detail="" cst=0 n=1
    c=$(t13_server_cert "$cs")
    local args=(-cert "$PKI/$c.crt" -cert_chain "$PKI/$c.crt" -key "$PKI/$c.key" -Verify 2
        -CAfile "$CA" -verify_return_error)
    [ "$ver" = 1.3 ] && args+=(-tls1_3)
    [ "$cs" = hrr ] && args+=(-groups P-256)
    [ "$cs" = resume ] && n=2
    if [ "$cs" = keyupdate ]; then
        # s_server reads commands and data from its standard input (sv_body): K, a line for the
        # client, k, another line, each after the client's token before it arrived; it stays
        # open until the connection closed (s_server ends a connection without close_notify at
        # the end of its input)
        local t1 t2 t3 s1 s2
        t1=$(token) t2=$(token) t3=$(token) s1=srv-$(token) s2=srv-$(token)
        rm -f "$pre.c.out" "$pre.log"
        mkfifo "$pre.fifo"
        {
            wait_for "$pre.log" "$t1\$" 20 && printf 'K\n' && sleep 0.3 && printf '%s\n' "$s1" &&
                wait_for "$pre.log" "$t2\$" 15 && printf 'k\n' && sleep 0.3 && printf '%s\n' "$s2" &&
                wait_for "$pre.log" "$t3\$" 15
            wait_for "$pre.log" '^CONNECTION CLOSED|^DONE' 15
        } > "$pre.fifo" &
        PIDS+=($!)
        if ! ss_start "$pre" 1 "${args[@]}" < "$pre.fifo"; then
            judged openssl mtls-client "$ver" "$cs" "s_server did not start" "" "$pre.log"
            return
        fi
        {
            printf '%s\n' "$t1"
            wait_for "$pre.c.out" "^$s1\$" 15 && printf '%s\n' "$t2" &&
                wait_for "$pre.c.out" "^$s2\$" 15 && printf '%s\n' "$t3" && wait_for "$pre.log" "$t3\$" 15
        } | t13_mtls_client "$pre.c" "$OPORT" "$ver" "$cs" || cst=$?
        wait_exit "$OPID" 15
        why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")")
        [ -z "$why" ] && ! grep -Eq '^ +[0-9]+ < KeyUpdate +(. ap traffic [0-9]+ +)?update_not_requested' "$pre.c.err" &&
            why="mtls client did not see s_server's update_not_requested KeyUpdate"
        if [ -z "$why" ] && ! { grep -qx -- "$s1" "$pre.c.out" && grep -qx -- "$s2" "$pre.c.out"; }; then
            why="mtls client did not receive s_server's lines after its key updates"
        fi
        [ -z "$why" ] && ! grep -q -- "$t3\$" "$pre.log" && why="s_server did not receive the token after the key updates"
        [ -z "$why" ] && detail="s_server K, k; lines both ways before, between, after"
        judged openssl mtls-client "$ver" "$cs" "$why" "$detail" "$pre.c.err" "$pre.c.out" "$pre.log"
        return
    fi
    if ! ss_start "$pre" "$n" "${args[@]}" -rev < /dev/null; then
        judged openssl mtls-client "$ver" "$cs" "s_server did not start" "" "$pre.log"
        return
    fi
    TOK=$(token)
    local rev
    rev=$(printf '%s' "$TOK" | rev)
    if [ "$cs" = resume ]; then
        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c1" "$OPORT" "$ver" "$cs" --sess-out "$pre.sess" || cst=$?
        why=$(t13_judge_client "$pre.c1" "$cst" "$cs" "$(cn_of "$c")")
        if [ -z "$why" ]; then
            TOK=$(token)
            rev=$(printf '%s' "$TOK" | rev)
            printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$OPORT" "$ver" "$cs" --sess-in "$pre.sess" || cst=$?
            why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")" resumed)
        fi
    else
        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$OPORT" "$ver" "$cs" || cst=$?
        why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")")
    fi
    wait_exit "$OPID" 15
    if [ -z "$why" ]; then
        if ! grep -qx -- "$rev" "$pre.c.out"; then
            why="the token did not come back (reversed) from s_server"
        elif [ "$(grep -c '^Protocol version: TLSv1\.3' "$pre.log")" != "$n" ]; then
            why="s_server: $(grep -m1 '^Protocol version' "$pre.log" || echo 'no Protocol version line'), expected TLSv1.3 on $n connection(s)"
        elif [ "$(grep -c "^Peer certificate: CN = $(cn_of "$(t13_client_cert "$cs")")\$" "$pre.log")" != "$n" ]; then
            why="s_server did not report the client certificate on $n connection(s)"
        elif [ "$cs" = resume ] && [ "$(psk_hellos "$pre.trace")" != 1 ]; then
            why="s_server's -trace shows $(psk_hellos "$pre.trace") ServerHello(s) with the psk extension, expected 1 (the second connection)"
        fi
    fi
    [ "$cs" = resume ] && [ -z "$why" ] && detail="s_server: ServerHello with psk on the 2nd connection"
    [ -z "$detail" ] && detail="s_server: $(grep -m1 '^Ciphersuite:' "$pre.log" | sed 's/^Ciphersuite: //')"
    judged openssl mtls-client "$ver" "$cs" "$why" "$detail" "$pre.c.err" "$pre.c1.err" "$pre.log"
}

if want openssl; then
    peer_info openssl "$(openssl version)"
    for ver in "${VERSIONS[@]}"; do
        for cs in full hrr resume keyupdate; do
            HRR_GROUP=secp256r1 sc_cell "$ver" "$cs"
        done
    done
    for ver in "${VERSIONS[@]}"; do
        for cs in full hrr resume keyupdate; do ss_cell "$ver" "$cs"; done
    done
fi

# ==== GnuTLS ====================================================================================

gnutls_prio() { # VERSION [EXTRA]: the priority string
    local p=NORMAL
    [ "$1" = 1.3 ] && p="$p:-VERS-ALL:+VERS-TLS1.3"
    echo "$p${2:+:$2}"
}

gc_cell() { # VERSION CASE
    local ver=$1 cs=$2 pre=$W/gc-$1-$2 k why="" detail="" n=1 sst=0 pst=0
    k=$(t13_client_cert "$cs")
    if ! HRR_GROUP=secp384r1 t13_mtls_server "$pre.log" "$ver" "$cs"; then
        judged gnutls mtls-server "$ver" "$cs" "mtls server did not start" "" "$pre.log"
        return
    fi
    local args=(-p "$SPORT" --x509cafile "$CA" --verify-hostname "$HOST" --x509certfile "$PKI/$k.crt"
        --x509keyfile "$PKI/$k.key" --priority "$(gnutls_prio "$ver")")
    local t1 t2
    t1=$(token) t2=$(token)
    case $cs in
    resume)
        # -r: a first connection to get a ticket, then the session on a resumed one
        n=2
        { printf '%s\n' "$t1"; wait_for "$pre.out" "$t1\$" 15; } |
            timeout 60 gnutls-cli "${args[@]}" -r 127.0.0.1 > "$pre.out" 2>&1 || pst=$?
        ;;
    keyupdate)
        { printf '%s\n' "$t1"; wait_for "$pre.out" "$t1\$" 15 && printf '^renegotiate^\n' &&
            wait_for "$pre.out" 'ReHandshake was completed' 15 && printf '%s\n' "$t2" &&
            wait_for "$pre.out" "$t2\$" 15; } |
            timeout 60 gnutls-cli "${args[@]}" --inline-commands 127.0.0.1 > "$pre.out" 2>&1 || pst=$?
        ;;
    *)
        { printf '%s\n' "$t1"; wait_for "$pre.out" "$t1\$" 15; } |
            timeout 60 gnutls-cli "${args[@]}" 127.0.0.1 > "$pre.out" 2>&1 || pst=$?
        ;;
    esac
    t13_stop_server "$n" || sst=$?
    local desc
    desc=$(grep -m1 '^- Description: ' "$pre.out" | sed 's/^- Description: //')
    if [ "$pst" != 0 ]; then
        why="gnutls-cli exited with status $pst: $(grep -m1 -i 'error\|fatal\|alert' "$pre.out" | cut -c1-200)"
    elif [[ $desc != "(TLS1.3-X.509)"* ]]; then
        why="gnutls-cli: ${desc:-no Description line}"
    elif ! grep -q '^- Status: The certificate is trusted' "$pre.out"; then
        why="gnutls-cli did not trust mtls server"
    elif ! grep -q -- "$t1\$" "$pre.out"; then
        why="gnutls-cli: the token did not come back"
    elif [ "$cs" = hrr ] && [[ $desc != *"(ECDHE-SECP384R1)"* ]]; then
        why="gnutls-cli: $desc, expected ECDHE-SECP384R1 after the HelloRetryRequest"
    elif [ "$cs" = resume ] && ! grep -q '^\*\*\* This is a resumed session' "$pre.out"; then
        why="gnutls-cli did not say 'This is a resumed session'"
    elif [ "$cs" = keyupdate ] && ! grep -q -- "$t2\$" "$pre.out"; then
        why="gnutls-cli: the token after the key update did not come back"
    else
        why=$(t13_judge_server "$pre.log" "$cs" "$(cn_of "$k")" "$n")
        [ -z "$why" ] && [ "$cs" != resume ] && [ "$sst" != 0 ] && why="mtls server --once exited with status $sst"
    fi
    case $cs in
    resume) detail="gnutls-cli: This is a resumed session" ;;
    keyupdate) detail="gnutls-cli ^renegotiate^ (KeyUpdate); tokens before and after echoed" ;;
    *) detail="gnutls-cli: $desc" ;;
    esac
    judged gnutls mtls-server "$ver" "$cs" "$why" "$detail" "$pre.log" "$pre.out"
}

# gs_start PRE ARGS...: gnutls-serv --echo; sets GPID, GPORT (it has no bind address option)
gs_start() {
    local pre=$1 try
    shift
    for ((try = 0; try < 5; try++)); do
        GPORT=$(free_port)
        rm -f "$pre.log"
        timeout 90 gnutls-serv --echo -p "$GPORT" "$@" < /dev/null > "$pre.log" 2>&1 &
        GPID=$!
        PIDS+=("$GPID")
        # it prints "listening" for IPv6 even when the IPv4 bind failed: check both
        if wait_for "$pre.log" 'listening' 10 && ! grep -q 'bind() failed' "$pre.log"; then
            return 0
        fi
        kill "$GPID" 2>/dev/null
        wait "$GPID" 2>/dev/null
    done
    return 1
}

gs_cell() { # VERSION CASE
    local ver=$1 cs=$2 pre=$W/gs-$1-$2 c why="" detail="" cst=0 n=1 extra=""
    c=$(t13_server_cert "$cs")
    [ "$cs" = hrr ] && extra="-GROUP-ALL:+GROUP-SECP256R1"
    if ! gs_start "$pre" --x509certfile "$PKI/$c.crt" --x509keyfile "$PKI/$c.key" --x509cafile "$CA" \
        --require-client-cert --verify-client-cert --priority "$(gnutls_prio "$ver" "$extra")"; then
        judged gnutls mtls-client "$ver" "$cs" "gnutls-serv did not start" "" "$pre.log"
        return
    fi
    TOK=$(token)
    if [ "$cs" = resume ]; then
        n=2
        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c1" "$GPORT" "$ver" "$cs" --sess-out "$pre.sess" || cst=$?
        why=$(t13_judge_client "$pre.c1" "$cst" "$cs" "$(cn_of "$c")")
        if [ -z "$why" ]; then
            TOK=$(token)
            printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$GPORT" "$ver" "$cs" --sess-in "$pre.sess" || cst=$?
            why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")" resumed)
        fi
    else
        printf '%s\n' "$TOK" | t13_mtls_client "$pre.c" "$GPORT" "$ver" "$cs" || cst=$?
        why=$(t13_judge_client "$pre.c" "$cst" "$cs" "$(cn_of "$c")")
    fi
    # gnutls-serv logs a connection as it goes; it serves until stopped
    wait_for "$pre.log" "received cmd: $TOK" 5
    kill "$GPID" 2>/dev/null
    wait "$GPID" 2>/dev/null
    if [ -z "$why" ]; then
        if ! grep -qx -- "$TOK" "$pre.c.out"; then
            why="the token did not come back from gnutls-serv"
        elif [ "$(grep -c '^- Version: TLS1\.3' "$pre.log")" != "$n" ]; then
            why="gnutls-serv: $(grep -m1 '^- Version' "$pre.log" || echo 'no Version line'), expected TLS1.3 on $n connection(s)"
        elif [ "$(grep -c "Subject: CN=$(cn_of "$(t13_client_cert "$cs")")\$" "$pre.log")" -lt "$n" ]; then
            why="gnutls-serv did not show the client certificate on $n connection(s)"
        elif [ "$cs" = resume ] && [ "$(grep -c '^\*\*\* This is a resumed session' "$pre.log")" != 1 ]; then
            why="gnutls-serv did not say 'This is a resumed session' once"
        fi
    fi
    case $cs in
    resume) detail="gnutls-serv: This is a resumed session" ;;
    *) detail="gnutls-serv: $(grep -m1 '^- Description: ' "$pre.log" | sed 's/^- Description: //')" ;;
    esac
    judged gnutls mtls-client "$ver" "$cs" "$why" "$detail" "$pre.c.err" "$pre.c1.err" "$pre.log"
}

if want gnutls; then
    if command -v gnutls-cli > /dev/null && command -v gnutls-serv > /dev/null; then
        peer_info gnutls "$(gnutls-cli --version 2>&1 | head -n1)"
        for ver in "${VERSIONS[@]}"; do
            for cs in full hrr resume keyupdate; do gc_cell "$ver" "$cs"; done
        done
        for ver in "${VERSIONS[@]}"; do
            for cs in full hrr resume; do gs_cell "$ver" "$cs"; done
        done
        for ver in "${VERSIONS[@]}"; do
            cell gnutls mtls-client "$ver" keyupdate n/a "gnutls-serv has no command that sends KeyUpdate"
        done
    else
        for ver in "${VERSIONS[@]}"; do
            for cs in full hrr resume keyupdate; do
                cell gnutls mtls-server "$ver" "$cs" skip "gnutls-cli missing (apt-get install gnutls-bin)"
            done
            for cs in full hrr resume; do
                cell gnutls mtls-client "$ver" "$cs" skip "gnutls-serv missing (apt-get install gnutls-bin)"
            done
        done
    fi
fi

# ==== curl ======================================================================================

curl_cell() { # VERSION CASE
    local ver=$1 cs=$2 pre=$W/curl-$1-$2 k why="" detail="" n=1 sst=0 pst=0
    k=$(t13_client_cert "$cs")
    if ! t13_mtls_server "$pre.log" "$ver" "$cs" --http; then
        judged curl mtls-server "$ver" "$cs" "mtls server did not start" "" "$pre.log"
        return
    fi
    local args=(-v -sS --max-time 20 --cacert "$CA" --resolve "$HOST:$SPORT:127.0.0.1"
        --cert "$PKI/$k.crt" --key "$PKI/$k.key")
    [ "$ver" = 1.3 ] && args+=(--tlsv1.3 --tls-max 1.3)
    local t1 t2 urls
    t1=$(token) t2=$(token)
    urls=("https://$HOST:$SPORT/$t1")
    # resume: the server closes after each answer, so the second URL is a new connection
    [ "$cs" = resume ] && n=2 urls+=("https://$HOST:$SPORT/$t2") args+=(-H 'Connection: close')
    timeout 30 curl "${args[@]}" "${urls[@]}" > "$pre.out" 2> "$pre.err" || pst=$?
    t13_stop_server "$n" || sst=$?
    if [ "$pst" != 0 ]; then
        why="curl exited with status $pst: $(grep -m1 '^curl: ' "$pre.err")"
    elif [ "$(grep -c '^\* SSL connection using TLSv1\.3 / TLS_' "$pre.err")" != "$n" ]; then
        why="curl: $(grep -m1 '^\* SSL connection using' "$pre.err" || echo 'no SSL connection line'), expected TLSv1.3 on $n connection(s)"
    elif ! grep -q "^request  *GET /$t1 HTTP/1.1" "$pre.out"; then
        why="curl: the page does not show the request with the token"
    elif [ "$cs" = resume ] && ! grep -q "^request  *GET /$t2 HTTP/1.1" "$pre.out"; then
        why="curl: the second page does not show the request with the token"
    elif [ "$cs" = resume ] && ! grep -q '^\* SSL re-using session ID' "$pre.err"; then
        why="curl did not say 'SSL re-using session ID' on the second connection"
    else
        why=$(t13_judge_server "$pre.log" "$cs" "$(cn_of "$k")" "$n")
        [ -z "$why" ] && [ "$cs" != resume ] && [ "$sst" != 0 ] && why="mtls server --once exited with status $sst"
    fi
    if [ "$cs" = resume ]; then
        detail="curl: SSL re-using session ID"
    else
        detail="curl: $(grep -m1 '^\* SSL connection using' "$pre.err" | sed 's/^\* SSL connection using //')"
    fi
    judged curl mtls-server "$ver" "$cs" "$why" "$detail" "$pre.log" "$pre.err"
}

if want curl; then
    if command -v curl > /dev/null; then
        peer_info curl "$(curl --version | head -n1)"
        for ver in "${VERSIONS[@]}"; do
            for cs in full hrr resume; do curl_cell "$ver" "$cs"; done
        done
        for ver in "${VERSIONS[@]}"; do
            cell curl mtls-server "$ver" keyupdate n/a "curl has no option that sends KeyUpdate"
        done
    else
        for ver in "${VERSIONS[@]}"; do
            for cs in full hrr resume; do cell curl mtls-server "$ver" "$cs" skip "curl missing (apt-get install curl)"; done
        done
    fi
fi

t13_summary
