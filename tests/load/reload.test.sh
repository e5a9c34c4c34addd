#!/usr/bin/env bash
# reload.test.sh -- `mtls server` reloads its certificate, key and client CAs on SIGHUP without a
# restart, under a steady stream of handshakes (tests/load/loadgen, full and resumed, 8 at once):
#
#   - 100 reloads, alternating between two certificates (CN=reload-one, CN=reload-two), each
#     logged as "reload N: certificate CN=... -> CN=..."; not one connection of the stream fails,
#     and every resumption the stream offered across them succeeded (the ticket keys and the
#     session cache are shared by the old and the new config);
#   - after a reload, new connections see the new certificate (mtls client prints the server's
#     subject);
#   - a session from before a reload resumes after it, by ticket and by session id;
#   - a reload with a broken key file fails, says why, and the server goes on with the previous
#     certificate;
#   - sessions stay bound to the client CAs: a client-certificate session resumes across a reload
#     with the same CA file, and gets a full handshake (not an error) once the CA file changed;
#   - a renewal that keeps the name and the expiry (to the minute) is logged with both serials,
#     "certificate CN=reload-one (expires T, serial S1) -> CN=reload-one (expires T, serial S2)",
#     and the same certificate in a changed chain file as such;
#   - the server's fds are all closed at the end (loadgen compares before and after): reloads
#     leak nothing.
set -euo pipefail
src=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MTLS_BUILD_DIR:-$src/build}
mtls=$build/tools/mtls
loadgen=$build/tests/load/loadgen
for b in "$mtls" "$loadgen"; do
    [ -x "$b" ] || { echo "reload: $b not built; skipped"; exit 77; }
done
command -v openssl >/dev/null || { echo "reload: openssl is missing; skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtls-reload.XXXXXX")
server_pid=""
load_pid=""
cleanup() {
    for p in $load_pid $server_pid; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
PASS=0
FAIL=0
check() { # NAME WHY
    if [ -z "$2" ]; then
        PASS=$((PASS + 1))
        echo "  pass  $1"
    else
        FAIL=$((FAIL + 1))
        echo "  FAIL  $1: $2"
    fi
}

# ---- PKI: one CA, two server certificates, a client certificate, another CA ----------------
cd "$tmp"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # NAME CN
    ec "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -out "$1.pem" 2>/dev/null
}
leaf() { # NAME CN EKU
    ec "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM" -days 1 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
ca ca "reload CA"
ca other "another CA"
leaf one reload-one serverAuth
# renew: CN=reload-one again, with another key and serial and the same expiry to the minute (made
# again should the two straddle a minute): only the serial tells the renewal from the original
for _ in 1 2 3; do
    leaf renew reload-one serverAuth
    [ "$(openssl x509 -in renew.pem -noout -serial)" != "$(openssl x509 -in one.pem -noout -serial)" ] &&
        [ "$(openssl x509 -in renew.pem -noout -enddate | cut -c1-21)" = \
            "$(openssl x509 -in one.pem -noout -enddate | cut -c1-21)" ] && break
done
leaf two reload-two serverAuth
leaf client reload-client clientAuth
cp ca.pem clientca.pem
# use NAME: the live certificate and key become NAME's, each file replaced by a rename
use() {
    cp "$1.pem" live.pem.new
    cp "$1.key" live.key.new
    mv live.pem.new live.pem
    mv live.key.new live.key
}
use one

: > server.err
# TLS 1.2: the checks below resume by session id, which TLS 1.3 does not have
"$mtls" server --listen 127.0.0.1:0 --cert live.pem --key live.key --ca clientca.pem \
    --verify-client optional --timeout 10 --max-conns 64 -q --tls1.2 2> server.err &
server_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.err | head -1)
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "reload: the server did not start:"
    cat server.err
    echo "0 passed, 1 failed"
    exit 1
fi

# client OUT ARGS...: one mtls client connection; its stderr in OUT, status in CST
client() {
    local out=$1
    shift
    CST=0
    echo "reload $RANDOM" | timeout 30 "$mtls" client "127.0.0.1:$port" --servername localhost \
        --ca ca.pem --timeout 10 "$@" > /dev/null 2> "$out" || CST=$?
}
# sees CN: the server's certificate as a new client sees it
sees() {
    client sees.err
    grep -q "server CN=$1 verified" sees.err
}
# hup N: send SIGHUP, wait (10 s at most) until the server logged reload N or a new failure (not
# one logged before the signal)
hup() {
    local failed
    failed=$(grep -c '^mtls: reload failed' server.err || true)
    kill -HUP "$server_pid"
    for _ in $(seq 100); do
        grep -q "^mtls: reload $1:" server.err && return 0
        [ "$(grep -c '^mtls: reload failed' server.err || true)" != "$failed" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- 100 reloads under load ----------------------------------------------------------------
echo "100 reloads while loadgen keeps 8 handshakes going"
"$loadgen" --connect "127.0.0.1:$port" --ca ca.pem --server-pid "$server_pid" --concurrency 8 \
    --total 100000000 --resume 50 --hostile 0 --timeout-ms 20000 --stop-file "$tmp/stop" \
    > load.out 2> load.err &
load_pid=$!
sleep 1 # the stream is going (and has sessions to resume)
why=""
for i in $(seq 100); do
    if [ "$i" = 10 ]; then # sessions made before reload 10, offered after it
        client pre-ticket.err --sess-out pre-ticket.sess
        client pre-id.err --no-tickets --sess-out pre-id.sess
    fi
    if [ $((i % 2)) = 1 ]; then use two; want=reload-two; was=reload-one; else use one; want=reload-one; was=reload-two; fi
    if ! hup "$i"; then
        why="reload $i was not logged within 10 s"
        break
    fi
    if grep -q '^mtls: reload failed' server.err; then
        why="reload $i failed: $(grep -B1 '^mtls: reload failed' server.err | head -n1)"
        break
    fi
    if ! grep -q "^mtls: reload $i: certificate CN=$was (expires [^)]*) -> CN=$want (expires [^)]*); client CAs unchanged; ticket keys unchanged" server.err; then
        why="reload $i logged: $(grep "^mtls: reload $i:" server.err)"
        break
    fi
    if ! kill -0 "$load_pid" 2> /dev/null; then
        why="loadgen stopped during reload $i: $(tail -n3 load.out load.err)"
        break
    fi
    case $i in
    1 | 2 | 51 | 100)
        if ! sees "$want"; then
            why="after reload $i a new connection sees: $(grep -o 'server CN=[^ ]*' sees.err || tail -n1 sees.err), not CN=$want"
            break
        fi
        ;;
    10)
        client post-ticket.err --sess-in pre-ticket.sess
        grep -q 'connection 1: resumed (session ticket)' post-ticket.err ||
            why="a ticket from before reload 10 did not resume after it: $(grep -o 'connection 1: .*' post-ticket.err || tail -n1 post-ticket.err)"
        client post-id.err --no-tickets --sess-in pre-id.sess
        grep -q 'connection 1: resumed (session id)' post-id.err ||
            why="${why:+$why; }a session id from before reload 10 did not resume after it: $(grep -o 'connection 1: .*' post-id.err || tail -n1 post-id.err)"
        [ -z "$why" ] || break
        ;;
    esac
done
reloads=$(grep -c '^mtls: reload [0-9]*:' server.err || true)
check "100 reloads, each logged with the certificate change (done: $reloads)" "$why"
sed -n '/^mtls: reload 1:/p;/^mtls: reload 100:/p' server.err | sed 's/^/    /'

touch "$tmp/stop"
lst=0
wait "$load_pid" || lst=$?
load_pid=""
sed 's/^/    /' load.out
summary=$(grep -o 'good handshakes .*' load.out || true)
ok=$(echo "$summary" | sed -n 's/good handshakes \([0-9]*\) ok.*/\1/p')
resumed=$(echo "$summary" | sed -n 's/.* \([0-9]*\) resumed of \([0-9]*\) offered.*/\1/p')
offered=$(echo "$summary" | sed -n 's/.* \([0-9]*\) resumed of \([0-9]*\) offered.*/\2/p')
failed=$(echo "$summary" | sed -n 's/.*), \([0-9]*\) failed.*/\1/p')
why=""
if [ "$lst" != 0 ]; then
    why="loadgen failed (status $lst): $(grep FAIL load.out || tail -n2 load.err)"
elif [ "${failed:-x}" != 0 ] || [ "${ok:-0}" -lt 100 ]; then
    why="the stream: '$summary'"
fi
check "the stream across the reloads: ${ok:-?} handshakes, ${failed:-?} failed" "$why"
why=""
if [ -z "$offered" ] || [ "$offered" = 0 ] || [ "$resumed" != "$offered" ]; then
    why="resumed ${resumed:-?} of ${offered:-?} offered"
fi
check "every resumption offered across the reloads resumed (${resumed:-?} of ${offered:-?})" "$why"
if [ -n "$(grep -E '^mtls: #[0-9]+ ' server.err | head -n3)" ]; then
    check "the server logged no failed connection" "$(grep -E '^mtls: #[0-9]+ ' server.err | head -n3)"
else
    check "the server logged no failed connection" ""
fi

# ---- a reload that fails -------------------------------------------------------------------
echo "a broken key file"
echo "not a key" > live.key.new
mv live.key.new live.key
hup 101 || true
why=""
if ! grep -q '^mtls: reload failed: still serving with the previous configuration' server.err; then
    why="no 'reload failed' line"
elif ! grep -q "live.key" server.err; then
    why="the log does not name the key file"
elif ! sees reload-one; then
    why="after the failed reload, new connections see: $(grep -o 'server CN=[^ ]*' sees.err || tail -n1 sees.err)"
fi
check "a reload with a broken key fails, says why, and keeps the certificate in use" "$why"
grep -B1 '^mtls: reload failed' server.err | sed 's/^/    /' | cut -c1-200
use one

# ---- sessions stay bound to the client CAs -------------------------------------------------
echo "client certificates: the same CAs resume, changed CAs do not"
client cc1.err --cert client.pem --key client.key --sess-out cc.sess
hup 101 || true
why=""
grep -q '^mtls: reload 101: certificate unchanged .*; client CAs unchanged; ticket keys unchanged' server.err ||
    why="reload 101: $(grep '^mtls: reload 101' server.err || echo none)"
client cc2.err --cert client.pem --key client.key --sess-in cc.sess
[ -n "$why" ] || grep -q 'connection 1: resumed (session ticket)' cc2.err ||
    why="$(grep -o 'connection 1: .*' cc2.err || tail -n1 cc2.err)"
check "same client CAs: a client-certificate session resumes across the reload" "$why"
cat ca.pem other.pem > clientca.pem.new
mv clientca.pem.new clientca.pem
hup 102 || true
why=""
grep -q '^mtls: reload 102: certificate unchanged .*; client CAs changed (1 -> 2 certificates' server.err ||
    why="reload 102: $(grep '^mtls: reload 102' server.err || echo none)"
client cc3.err --cert client.pem --key client.key --sess-in cc.sess
if [ -z "$why" ] && [ "$CST" != 0 ]; then
    why="the client failed (status $CST): $(tail -n1 cc3.err)"
elif [ -z "$why" ] && ! grep -q 'connection 1: full handshake' cc3.err; then
    why="$(grep -o 'connection 1: .*' cc3.err || tail -n1 cc3.err)"
fi
check "changed client CAs: the session gets a full handshake, not an error" "$why"

# ---- a renewal that keeps the name and the expiry ------------------------------------------
echo "a renewed certificate with the same name and expiry"
s1=$(openssl x509 -in one.pem -noout -serial | sed 's/^serial=//')
s2=$(openssl x509 -in renew.pem -noout -serial | sed 's/^serial=//')
use renew
hup 103 || true
why=""
if [ "$s1" = "$s2" ]; then
    why="the test could not make a renewal with another serial ($s1)"
elif ! grep -Eq "^mtls: reload 103: certificate CN=reload-one \(expires ([^,)]*), serial $s1\) -> CN=reload-one \(expires \1, serial $s2\); client CAs unchanged" server.err; then
    why="reload 103: $(grep '^mtls: reload 103' server.err || echo none)"
fi
check "a renewal keeping name and expiry: the reload line shows the serials ($s1 -> $s2)" "$why"
grep '^mtls: reload 103' server.err | sed 's/^/    /' | cut -c1-200
# the same leaf in a changed chain file (the CA appended): not "A -> A"
cat renew.pem ca.pem > live.pem.new
mv live.pem.new live.pem
hup 104 || true
why=""
grep -q "^mtls: reload 104: certificate chain file changed, same certificate (CN=reload-one, expires [^,]*, serial $s2); client CAs unchanged" server.err ||
    why="reload 104: $(grep '^mtls: reload 104' server.err || echo none)"
check "the same certificate in a changed chain file: said so" "$why"

kill -0 "$server_pid" 2> /dev/null || check "the server is alive" "it died"
echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
