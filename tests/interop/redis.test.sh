#!/usr/bin/env bash
# redis.test.sh -- servers that share sessions through Redis (the session store callbacks,
# examples/redis_store.c): `mtls server --session-store redis://127.0.0.1:PORT` twice, tickets
# off, and the example examples/redis_echo_server on the same Redis:
#
#   1. a session made on server A resumes by session id on server B (mtls client
#      --sess-out/--sess-in; openssl s_client -no_ticket -sess_out/-sess_in the other way), B's
#      trace says it came from the session store, and Redis holds the sessions with a TTL;
#   2. the example server resumes a session of A's, and A one of the example's;
#   3. Redis hung (SIGSTOP: connections accepted, nothing answered): handshakes still complete,
#      full where the session would have come from Redis, each well within a second (the store's
#      timeouts are 100 ms);
#   4. Redis stopped: the same, and no connection fails;
#   5. Redis back on the same port: sessions are shared again (the store retries after 1 s).
#
# redis-server runs on 127.0.0.1 on a port of its own, in the test's own directory, without
# persistence, and is stopped by the test (a trap kills everything it started).  Skipped (77)
# when redis-server or an mtls built with hiredis is missing (scripts/deps.sh installs
# redis-server and libhiredis-dev).  Ends with "N passed, N failed".
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
EXAMPLE=$BUILD/examples/redis_echo_server
HOST=good.test
PIDS=()
PASS=0
FAIL=0

for tool in redis-server redis-cli openssl "$MTLS"; do
    if ! command -v "$tool" >/dev/null; then
        echo "redis: $tool is missing (scripts/deps.sh installs redis-server); skipped"
        exit 77
    fi
done
probe=$("$MTLS" server --session-store redis://127.0.0.1:1 --cert /nonexistent \
    --key /nonexistent 2>&1 || true)
if echo "$probe" | grep -q 'built without hiredis'; then
    echo "redis: $MTLS was built without hiredis (apt-get install libhiredis-dev, rebuild); skipped"
    exit 77
fi
if echo "$probe" | grep -q "unknown option"; then
    echo "redis: mtls server has no --session-store: $probe"
    echo "0 passed, 1 failed"
    exit 1
fi
SKIPPED=

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-redis.XXXXXX")
trap lib_cleanup EXIT
trap 'exit 130' INT TERM

check() { # NAME WHY LOG...
    local name=$1 why=$2
    shift 2
    if [ -z "$why" ]; then
        PASS=$((PASS + 1))
        echo "  pass  $name"
    else
        FAIL=$((FAIL + 1))
        echo "  FAIL  $name: $why"
        show_log "$@"
    fi
}

# ---- PKI -----------------------------------------------------------------------------------
P=$W/pki
mkdir -p "$P"
if ! (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/ca.key" &&
    openssl req -x509 -new -key "$P/ca.key" -sha256 -days 2 -subj "/CN=mtls redis CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -out "$P/ca.crt" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/server.key" &&
    openssl req -new -key "$P/server.key" -subj "/CN=$HOST" -out "$P/server.csr" &&
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$HOST" > "$P/ext" &&
    openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -set_serial 9 \
        -days 1 -extfile "$P/ext" -out "$P/server.crt") > "$W/pki.log" 2>&1; then
    echo "redis: cannot make the test PKI"
    show_log "$W/pki.log"
    echo "0 passed, 1 failed"
    exit 1
fi

# ---- Redis ---------------------------------------------------------------------------------
REDIS_PID=""
# start_redis: on $RPORT (chosen the first time), in $W, no persistence; 0 once it answers PING
start_redis() {
    local try
    for ((try = 0; try < 5; try++)); do
        [ -n "${RPORT:-}" ] && [ "$try" = 0 ] || RPORT=$(free_port)
        timeout 600 redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$W" --save '' \
            --appendonly no --protected-mode yes --daemonize no --logfile "$W/redis.log" \
            < /dev/null > /dev/null 2>&1 &
        REDIS_PID=$!
        PIDS+=("$REDIS_PID")
        for _ in $(seq 50); do
            if [ "$(timeout 2 redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ]; then
                return 0
            fi
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    done
    return 1
}
stop_redis() {
    local child
    child=$(pgrep -P "$REDIS_PID" | head -n1 || true)
    kill "$REDIS_PID" ${child:+"$child"} 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        timeout 1 redis-cli -p "$RPORT" ping > /dev/null 2>&1 || return 0
        sleep 0.1
    done
}
if ! start_redis; then
    echo "redis: redis-server did not start"
    show_log "$W/redis.log"
    echo "0 passed, 1 failed"
    exit 1
fi
URL=redis://127.0.0.1:$RPORT
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$RPORT"

# ---- servers and clients -------------------------------------------------------------------
start() { # NAME: sets <NAME>_PORT; log $W/NAME.log
    # TLS 1.2: sessions by id, which TLS 1.3 does not have (it resumes by ticket only)
    if ! mtls_listen "$W/$1.log" 300 --cert "$P/server.crt" --key "$P/server.key" \
        --session-store "$URL" --no-tickets --trace --tls1.2; then
        echo "redis: server $1 did not start"
        show_log "$W/$1.log"
        echo "$PASS passed, $((FAIL + 1)) failed"
        exit 1
    fi
    printf -v "$1_PORT" %s "$LISTEN_PORT"
}
start A
start B

# mclient PORT OUT ARGS...: mtls client, tickets off, TLS 1.2 (sessions by id); stderr in OUT, status in MST, time in MS
mclient() {
    local port=$1 out=$2 t0
    shift 2
    MST=0
    t0=$(date +%s%N)
    echo "redis $RANDOM" | timeout 30 "$MTLS" client "127.0.0.1:$port" --servername "$HOST" \
        --ca "$P/ca.crt" --timeout 10 --no-tickets --tls1.2 "$@" > /dev/null 2> "$out" || MST=$?
    MS=$((($(date +%s%N) - t0) / 1000000))
}
verdict() { grep -o 'connection 1: .*' "$1" || echo "status $MST: $(tail -n1 "$1")"; }

# ---- 1. A's session resumes on B, B's on A -------------------------------------------------
echo "1. sessions shared through Redis"
mclient "$A_PORT" "$W/m1.err" --sess-out "$W/s1"
mclient "$B_PORT" "$W/m1b.err" --sess-in "$W/s1"
why=""
if ! grep -q 'connection 1: resumed (session id)' "$W/m1b.err"; then
    why="B: $(verdict "$W/m1b.err")"
elif ! grep -q 'resuming the session found in the session store' "$W/B.log"; then
    why="B's trace does not say the session came from the session store"
fi
check "mtls client: a session made on A resumes on B by id" "$why" "$W/m1b.err" "$W/B.log"

common=(-connect -tls1_2 -servername "$HOST" -verify_hostname "$HOST" -CAfile "$P/ca.crt"
    -verify_return_error -no_ticket)
sc() { # PORT OUT ARGS...
    local port=$1 out=$2
    shift 2
    timeout 30 openssl s_client -connect "127.0.0.1:$port" "${common[@]:1}" "$@" < /dev/null \
        > "$out" 2>&1 || true
}
sc "$B_PORT" "$W/sc1.out" -sess_out "$W/sc.pem"
sc "$A_PORT" "$W/sc2.out" -sess_in "$W/sc.pem"
why=""
grep -q '^Reused, TLSv1.2' "$W/sc2.out" || why="s_client on A did not report 'Reused'"
check "openssl s_client -no_ticket: a session made on B resumes on A" "$why" "$W/sc2.out" "$W/A.log"

keys=$(timeout 5 redis-cli -p "$RPORT" --scan --pattern 'mtls:session:*' | wc -l)
first=$(timeout 5 redis-cli -p "$RPORT" --scan --pattern 'mtls:session:*' | head -n1)
ttl=$(timeout 5 redis-cli -p "$RPORT" ttl "$first" 2>/dev/null || echo -)
why=""
if [ "$keys" -lt 2 ]; then
    why="Redis holds $keys sessions"
elif ! [ "$ttl" -gt 0 ] 2>/dev/null || [ "$ttl" -gt 7200 ]; then
    why="the session's TTL is '$ttl', expected 1..7200 s"
fi
check "Redis holds the sessions ($keys keys mtls:session:<id>, TTL $ttl s)" "$why"

# ---- 2. the example server on the same Redis -----------------------------------------------
echo "2. examples/redis_echo_server"
if [ ! -x "$EXAMPLE" ]; then
    echo "  skip  $EXAMPLE is not built (configure with -DMTLS_BUILD_EXAMPLES=ON)"
    SKIPPED="the example server (not built)"
else
    timeout 120 "$EXAMPLE" "$P/server.crt" "$P/server.key" "$URL" 0 2 > "$W/ex.out" 2> "$W/ex.err" &
    PIDS+=($!)
    EPID=$!
    if wait_for "$W/ex.out" '^listening on 127\.0\.0\.1:[0-9]+' 10; then
        EPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/ex.out")
        mclient "$EPORT" "$W/e1.err" --sess-in "$W/s1"
        mclient "$EPORT" "$W/e2.err" --sess-out "$W/s2"
        mclient "$A_PORT" "$W/e3.err" --sess-in "$W/s2"
        wait_exit "$EPID" 10 || true
        why=""
        if ! grep -q '^connection 1: resumed$' "$W/ex.out"; then
            why="the example did not resume A's session: $(verdict "$W/e1.err")"
        elif ! grep -q '^connection 2: full handshake$' "$W/ex.out"; then
            why="the example's second connection: $(grep '^connection 2' "$W/ex.out" || echo none)"
        elif ! grep -q 'connection 1: resumed (session id)' "$W/e3.err"; then
            why="A did not resume the example's session: $(verdict "$W/e3.err")"
        fi
        check "the example resumes A's session, A resumes the example's" "$why" "$W/ex.out" "$W/ex.err"
    else
        check "the example server starts" "it printed no 'listening on'" "$W/ex.out" "$W/ex.err"
    fi
fi

# ---- 3. Redis hung -------------------------------------------------------------------------
echo "3. Redis hung (SIGSTOP): accepted connections, no answers"
RCHILD=$(pgrep -P "$REDIS_PID" | head -n1 || true)
kill -STOP "${RCHILD:-$REDIS_PID}"
worst=0
why=""
for i in 1 2 3; do
    mclient "$A_PORT" "$W/h$i.err" --sess-out "$W/h$i" # A stores: SET times out
    [ "$MST" = 0 ] || why="a new session on A failed (status $MST): $(tail -n1 "$W/h$i.err")"
    [ "$MS" -le "$worst" ] || worst=$MS
    mclient "$B_PORT" "$W/hb$i.err" --sess-in "$W/h$i" # B looks up: GET times out or is skipped
    [ "$MST" = 0 ] || why="${why:+$why; }B failed (status $MST): $(tail -n1 "$W/hb$i.err")"
    grep -q 'connection 1: full handshake' "$W/hb$i.err" ||
        why="${why:+$why; }B: $(verdict "$W/hb$i.err"), expected a full handshake"
    [ "$MS" -le "$worst" ] || worst=$MS
    sleep 0.4
done
kill -CONT "${RCHILD:-$REDIS_PID}"
if [ -z "$why" ] && [ "$worst" -gt 1000 ]; then
    why="the slowest connection took $worst ms"
fi
if [ -z "$why" ] && ! grep -Eq "session store $URL/0: (GET|SET): no answer within 100 ms; handshakes go on without it" "$W/B.log"; then
    why="B did not log that the store failed"
fi
check "Redis hung: 6 handshakes complete (full ones), the slowest in $worst ms" "$why" \
    "$W/A.log" "$W/B.log"

# ---- 4. Redis stopped ----------------------------------------------------------------------
echo "4. Redis stopped"
stop_redis
sleep 1.2 # past the stores' rest: they try (and fail) to connect again
worst=0
why=""
for i in 1 2 3 4 5; do
    mclient "$A_PORT" "$W/d$i.err" --sess-out "$W/d$i"
    [ "$MST" = 0 ] || why="a new session on A failed (status $MST): $(tail -n1 "$W/d$i.err")"
    [ "$MS" -le "$worst" ] || worst=$MS
    mclient "$B_PORT" "$W/db$i.err" --sess-in "$W/d$i"
    [ "$MST" = 0 ] || why="${why:+$why; }B failed (status $MST): $(tail -n1 "$W/db$i.err")"
    grep -q 'connection 1: full handshake' "$W/db$i.err" ||
        why="${why:+$why; }B: $(verdict "$W/db$i.err"), expected a full handshake"
    [ "$MS" -le "$worst" ] || worst=$MS
done
# A still resumes its own sessions from its in-memory cache
mclient "$A_PORT" "$W/dA.err" --sess-in "$W/d1"
grep -q 'connection 1: resumed (session id)' "$W/dA.err" ||
    why="${why:+$why; }A no longer resumes from its own cache: $(verdict "$W/dA.err")"
if [ -z "$why" ] && [ "$worst" -gt 1000 ]; then
    why="the slowest connection took $worst ms"
fi
if [ -z "$why" ] && grep -Eq '^mtls: #[0-9]+ .*(handshake|session): ' "$W/A.log" "$W/B.log"; then
    why="a server logged a failed connection: $(grep -Eh '^mtls: #[0-9]+ .*(handshake|session): ' "$W/A.log" "$W/B.log" | head -n1)"
fi
check "Redis stopped: 11 handshakes, none failed (full ones across servers), slowest $worst ms" \
    "$why" "$W/A.log" "$W/B.log"

# ---- 5. Redis back -------------------------------------------------------------------------
echo "5. Redis back on the same port"
if start_redis; then
    sleep 1.2 # the stores rest 1 s after a failure, then connect again
    mclient "$A_PORT" "$W/r1.err" --sess-out "$W/r1"
    mclient "$B_PORT" "$W/r2.err" --sess-in "$W/r1"
    why=""
    if ! grep -q 'connection 1: resumed (session id)' "$W/r2.err"; then
        why="B: $(verdict "$W/r2.err")"
    elif ! grep -q "session store $URL/0: answers again; sessions are shared" "$W/A.log"; then
        why="A did not log that the store is back"
    fi
    check "Redis back: sessions are shared again" "$why" "$W/r2.err" "$W/A.log" "$W/B.log"
else
    check "Redis restarts" "redis-server did not start again" "$W/redis.log"
fi
stop_redis
grep -h '^mtls: session store' "$W/A.log" | sed 's/^/    A: /' | cut -c1-200

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] || exit 1
if [ -n "$SKIPPED" ]; then # not all of it ran: skipped (77), not passed
    echo "skipped: $SKIPPED"
    exit 77
fi
