#!/usr/bin/env bash
# redis.test.sh -- servers that share sessions through Redis (the session store callbacks,
# examples/redis_store.c): `mtls server --session-store redis://127.0.0.1:PORT` twice, tickets
# off, and the example examples/redis_echo_server on the same Redis.  Every case runs in TLS 1.2
# (sessions by id) and in TLS 1.3 (stateful tickets: each the id of a session kept in Redis,
# resumed once), the clients choosing the version:
#
#   1. a session made on server A resumes on server B (mtls client --sess-out/--sess-in; openssl
#      s_client -sess_out/-sess_in the other way, -no_ticket in TLS 1.2), B's trace says it came
#      from the session store, and Redis holds the sessions with a TTL; in TLS 1.3 the ticket
#      is then used up: A does not resume it again, and B's newest ticket resumes on A;
#   2. the example server resumes a session of A's, and A one of the example's;
#   3. Redis hung (SIGSTOP: connections accepted, nothing answered): handshakes still complete,
#      full where the session would have come from Redis, each well within a second (the store's
#      timeouts are 100 ms);
#   4. Redis stopped: the same, and no connection fails; A still resumes its own TLS 1.2
#      sessions from its cache (TLS 1.3 sessions live in the store alone: full handshakes);
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
    # both versions: TLS 1.2 resumes by session id, TLS 1.3 by stateful tickets (the client
    # chooses the version)
    if ! mtls_listen "$W/$1.log" 300 --cert "$P/server.crt" --key "$P/server.key" \
        --session-store "$URL" --no-tickets --trace; then
        echo "redis: server $1 did not start"
        show_log "$W/$1.log"
        echo "$PASS passed, $((FAIL + 1)) failed"
        exit 1
    fi
    printf -v "$1_PORT" %s "$LISTEN_PORT"
}
start A
start B

# use VERSION: the version the clients speak from now on (1.2 or 1.3), and how an mtls client
# says it resumed in it
use() {
    V=$1
    if [ "$V" = 1.2 ]; then BY="session id"; else BY="session ticket"; fi
}
# mclient PORT OUT ARGS...: mtls client, tickets off (TLS 1.2: sessions by id; TLS 1.3 resumes by
# the server's stateful tickets), version $V; stderr in OUT, status in MST, time in MS
mclient() {
    local port=$1 out=$2 t0
    shift 2
    MST=0
    t0=$(date +%s%N)
    echo "redis $RANDOM" | timeout 30 "$MTLS" client "127.0.0.1:$port" --servername "$HOST" \
        --ca "$P/ca.crt" --timeout 10 --no-tickets "--tls$V" "$@" > /dev/null 2> "$out" || MST=$?
    MS=$((($(date +%s%N) - t0) / 1000000))
}
verdict() { grep -o 'connection 1: .*' "$1" || echo "status $MST: $(tail -n1 "$1")"; }

# ---- 1. A's session resumes on B, B's on A -------------------------------------------------
# sc PORT OUT ARGS...: openssl s_client, version $V (TLS 1.2 without tickets: sessions by id;
# TLS 1.3 keeps its stdin open a moment, for the tickets that come after the handshake)
sc() {
    local port=$1 out=$2
    shift 2
    local common=(-connect "127.0.0.1:$port" -servername "$HOST" -verify_hostname "$HOST"
        -CAfile "$P/ca.crt" -verify_return_error)
    if [ "$V" = 1.2 ]; then
        timeout 30 openssl s_client "${common[@]}" -tls1_2 -no_ticket "$@" < /dev/null \
            > "$out" 2>&1 || true
    else
        sleep 1 | timeout 30 openssl s_client "${common[@]}" -tls1_3 "$@" > "$out" 2>&1 || true
    fi
}
rkeys() { timeout 5 redis-cli -p "$RPORT" --scan --pattern 'mtls:session:*' | wc -l; }

echo "1. sessions shared through Redis"
for v in 1.2 1.3; do
    use "$v"
    mclient "$A_PORT" "$W/m1-$V.err" --sess-out "$W/s1-$V"
    before=$(rkeys)
    lines=$(wc -l < "$W/B.log")
    mclient "$B_PORT" "$W/m1b-$V.err" --sess-in "$W/s1-$V" --sess-out "$W/s1b-$V"
    after=$(rkeys)
    why=""
    if ! grep -q "connection 1: resumed ($BY)" "$W/m1b-$V.err"; then
        why="B: $(verdict "$W/m1b-$V.err")"
    elif ! tail -n +"$((lines + 1))" "$W/B.log" |
        grep -q 'resuming the session found in the session store'; then
        why="B's trace does not say the session came from the session store"
    fi
    check "TLS $V: mtls client: a session made on A resumes on B (by $BY)" "$why" \
        "$W/m1b-$V.err" "$W/B.log"

    if [ "$V" = 1.3 ]; then
        # single use: the ticket's session left Redis when B resumed it, B's two new tickets
        # went in; A (which kept nothing itself) does not resume it again; B's newest does
        mclient "$A_PORT" "$W/m1a-$V.err" --sess-in "$W/s1-$V"
        why=""
        if [ "$after" != $((before + 1)) ]; then
            why="Redis held $before sessions before B's resumption and $after after (expected $((before + 1)): one used, two new)"
        elif ! grep -q 'connection 1: full handshake (the server did not accept our session ticket)' "$W/m1a-$V.err"; then
            why="the used ticket on A: $(verdict "$W/m1a-$V.err")"
        fi
        check "TLS $V: the ticket resumes once: Redis $before -> $after sessions, A refuses it then" \
            "$why" "$W/m1a-$V.err" "$W/A.log"
        mclient "$A_PORT" "$W/m1c-$V.err" --sess-in "$W/s1b-$V"
        why=""
        grep -q "connection 1: resumed ($BY)" "$W/m1c-$V.err" || why="A: $(verdict "$W/m1c-$V.err")"
        check "TLS $V: B's newest ticket resumes on A" "$why" "$W/m1c-$V.err" "$W/A.log"
    fi

    sc "$B_PORT" "$W/sc1-$V.out" -sess_out "$W/sc-$V.pem"
    sc "$A_PORT" "$W/sc2-$V.out" -sess_in "$W/sc-$V.pem"
    why=""
    grep -q "^Reused, TLSv$V" "$W/sc2-$V.out" || why="s_client on A did not report 'Reused, TLSv$V'"
    check "TLS $V: openssl s_client: a session made on B resumes on A" "$why" "$W/sc2-$V.out" \
        "$W/A.log"
done

keys=$(rkeys)
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
    for v in 1.2 1.3; do
        use "$v"
        timeout 120 "$EXAMPLE" "$P/server.crt" "$P/server.key" "$URL" 0 2 > "$W/ex-$V.out" \
            2> "$W/ex-$V.err" &
        PIDS+=($!)
        EPID=$!
        if wait_for "$W/ex-$V.out" '^listening on 127\.0\.0\.1:[0-9]+' 10; then
            EPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/ex-$V.out")
            mclient "$A_PORT" "$W/e0-$V.err" --sess-out "$W/e0-$V"
            mclient "$EPORT" "$W/e1-$V.err" --sess-in "$W/e0-$V"
            mclient "$EPORT" "$W/e2-$V.err" --sess-out "$W/s2-$V"
            mclient "$A_PORT" "$W/e3-$V.err" --sess-in "$W/s2-$V"
            wait_exit "$EPID" 10 || true
            why=""
            if ! grep -q '^connection 1: resumed$' "$W/ex-$V.out"; then
                why="the example did not resume A's session: $(verdict "$W/e1-$V.err")"
            elif ! grep -q '^connection 2: full handshake$' "$W/ex-$V.out"; then
                why="the example's second connection: $(grep '^connection 2' "$W/ex-$V.out" || echo none)"
            elif ! grep -q "connection 1: resumed ($BY)" "$W/e3-$V.err"; then
                why="A did not resume the example's session: $(verdict "$W/e3-$V.err")"
            fi
            check "TLS $V: the example resumes A's session, A resumes the example's" "$why" \
                "$W/ex-$V.out" "$W/ex-$V.err"
        else
            check "TLS $V: the example server starts" "it printed no 'listening on'" \
                "$W/ex-$V.out" "$W/ex-$V.err"
        fi
    done
fi

# ---- 3. Redis hung -------------------------------------------------------------------------
echo "3. Redis hung (SIGSTOP): accepted connections, no answers"
RCHILD=$(pgrep -P "$REDIS_PID" | head -n1 || true)
kill -STOP "${RCHILD:-$REDIS_PID}"
worst=0
why=""
for v in 1.2 1.3; do
    use "$v"
    for i in 1 2 3; do
        mclient "$A_PORT" "$W/h$i-$V.err" --sess-out "$W/h$i-$V" # A stores: SET times out
        [ "$MST" = 0 ] || why="TLS $V: a new session on A failed (status $MST): $(tail -n1 "$W/h$i-$V.err")"
        [ "$MS" -le "$worst" ] || worst=$MS
        mclient "$B_PORT" "$W/hb$i-$V.err" --sess-in "$W/h$i-$V" # B looks up: GET times out or is skipped
        [ "$MST" = 0 ] || why="${why:+$why; }TLS $V: B failed (status $MST): $(tail -n1 "$W/hb$i-$V.err")"
        grep -q 'connection 1: full handshake' "$W/hb$i-$V.err" ||
            why="${why:+$why; }TLS $V: B: $(verdict "$W/hb$i-$V.err"), expected a full handshake"
        [ "$MS" -le "$worst" ] || worst=$MS
        sleep 0.4
    done
done
kill -CONT "${RCHILD:-$REDIS_PID}"
if [ -z "$why" ] && [ "$worst" -gt 1000 ]; then
    why="the slowest connection took $worst ms"
fi
if [ -z "$why" ] && ! grep -Eq "session store $URL/0: (GET|SET): no answer within 100 ms; handshakes go on without it" "$W/B.log"; then
    why="B did not log that the store failed"
fi
check "Redis hung: 12 handshakes (TLS 1.2 and 1.3) complete (full ones), the slowest in $worst ms" \
    "$why" "$W/A.log" "$W/B.log"

# ---- 4. Redis stopped ----------------------------------------------------------------------
echo "4. Redis stopped"
stop_redis
sleep 1.2 # past the stores' rest: they try (and fail) to connect again
worst=0
why=""
for v in 1.2 1.3; do
    use "$v"
    for i in 1 2 3 4 5; do
        mclient "$A_PORT" "$W/d$i-$V.err" --sess-out "$W/d$i-$V"
        [ "$MST" = 0 ] || why="${why:+$why; }TLS $V: a new session on A failed (status $MST): $(tail -n1 "$W/d$i-$V.err")"
        [ "$MS" -le "$worst" ] || worst=$MS
        mclient "$B_PORT" "$W/db$i-$V.err" --sess-in "$W/d$i-$V"
        [ "$MST" = 0 ] || why="${why:+$why; }TLS $V: B failed (status $MST): $(tail -n1 "$W/db$i-$V.err")"
        grep -q 'connection 1: full handshake' "$W/db$i-$V.err" ||
            why="${why:+$why; }TLS $V: B: $(verdict "$W/db$i-$V.err"), expected a full handshake"
        [ "$MS" -le "$worst" ] || worst=$MS
    done
    # TLS 1.2: A still resumes its own sessions from its in-memory cache; TLS 1.3: a stateful
    # ticket's session lives in the store alone (one place decides it was used): full handshake
    mclient "$A_PORT" "$W/dA-$V.err" --sess-in "$W/d1-$V"
    [ "$MST" = 0 ] || why="${why:+$why; }TLS $V: A failed (status $MST): $(tail -n1 "$W/dA-$V.err")"
    if [ "$V" = 1.2 ]; then
        grep -q 'connection 1: resumed (session id)' "$W/dA-$V.err" ||
            why="${why:+$why; }A no longer resumes from its own cache: $(verdict "$W/dA-$V.err")"
    else
        grep -q 'connection 1: full handshake' "$W/dA-$V.err" ||
            why="${why:+$why; }TLS 1.3 on A without Redis: $(verdict "$W/dA-$V.err"), expected a full handshake"
    fi
done
if [ -z "$why" ] && [ "$worst" -gt 1000 ]; then
    why="the slowest connection took $worst ms"
fi
if [ -z "$why" ] && grep -Eq '^mtls: #[0-9]+ .*(handshake|session): ' "$W/A.log" "$W/B.log"; then
    why="a server logged a failed connection: $(grep -Eh '^mtls: #[0-9]+ .*(handshake|session): ' "$W/A.log" "$W/B.log" | head -n1)"
fi
check "Redis stopped: 22 handshakes (TLS 1.2 and 1.3), none failed (full ones across servers), slowest $worst ms" \
    "$why" "$W/A.log" "$W/B.log"

# ---- 5. Redis back -------------------------------------------------------------------------
echo "5. Redis back on the same port"
if start_redis; then
    sleep 1.2 # the stores rest 1 s after a failure, then connect again
    for v in 1.2 1.3; do
        use "$v"
        mclient "$A_PORT" "$W/r1-$V.err" --sess-out "$W/r1-$V"
        mclient "$B_PORT" "$W/r2-$V.err" --sess-in "$W/r1-$V"
        why=""
        if ! grep -q "connection 1: resumed ($BY)" "$W/r2-$V.err"; then
            why="B: $(verdict "$W/r2-$V.err")"
        elif ! grep -q "session store $URL/0: answers again; sessions are shared" "$W/A.log"; then
            why="A did not log that the store is back"
        fi
        check "TLS $V: Redis back: sessions are shared again" "$why" "$W/r2-$V.err" "$W/A.log" \
            "$W/B.log"
    done
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
