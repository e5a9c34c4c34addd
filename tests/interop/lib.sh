# lib.sh -- helpers shared by the interop scripts (sourced by them, not run; not a test itself).
#
#   show_log FILE...          the last $TAIL lines (default 10) of each non-empty FILE, indented and
#                             cut at 300 columns; lines matching $SHOW_LOG_SKIP (an extended regex)
#                             are left out
#   wait_for FILE REGEX SECS  until a line of FILE matches REGEX (0), or 1 after SECS seconds
#   wait_exit PID SECS        the exit status of PID once it ends by itself; after SECS seconds it
#                             is killed and the status is that of the kill
#   free_port                 a TCP port that nothing on this machine listens on
#   token                     a random token to send end to end
#   mtls_listen LOG SECS ARGS...
#                             `$MTLS server --listen 127.0.0.1:0 ARGS...` in the background, killed
#                             after SECS, its stderr in LOG; sets LISTEN_PID (also added to PIDS)
#                             and LISTEN_PORT (the port it reports); fails when it reports none
#                             within 10 s
#   lib_cleanup               for `trap lib_cleanup EXIT`: kill every pid in the array PIDS, reap
#                             them, remove the work directory $W (kept, and named, with KEEP=1)

show_log() {
    local f
    for f in "$@"; do
        if [ -s "$f" ]; then
            echo "    --- $(basename "$f")"
            if [ -n "${SHOW_LOG_SKIP:-}" ]; then grep -Ev -- "$SHOW_LOG_SKIP" "$f"; else cat "$f"; fi |
                tail -n "${TAIL:-10}" | cut -c1-300 | sed 's/^/    /'
        fi
    done
}

wait_for() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

wait_exit() {
    local i st=0
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || st=$?
    return $st
}

free_port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        p=$((10000 + RANDOM % 22000))
        if ! command -v ss >/dev/null || [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
            echo "$p"
            return
        fi
    done
    echo $((10000 + RANDOM % 22000))
}

token() { printf 'tok-%s' "$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"; }

lib_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}

mtls_listen() {
    local log=$1 secs=$2
    shift 2
    rm -f "$log"
    timeout "$secs" "$MTLS" server --listen 127.0.0.1:0 "$@" 2> "$log" &
    LISTEN_PID=$!
    PIDS+=("$LISTEN_PID")
    LISTEN_PORT=
    if wait_for "$log" 'listening on 127\.0\.0\.1:[0-9]+' 10; then
        LISTEN_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1)
    fi
    [ -n "$LISTEN_PORT" ]
}
