#!/usr/bin/env bash
# fleet.test.sh -- two `mtls server` processes behind an imaginary balancer share one ticket key
# file (--ticket-key-file) and nothing else (--no-cache: no session cache, so every resumption
# is by ticket), and clients resume on either one what the other issued -- every client case in
# TLS 1.2 (RFC 5077 tickets) and in TLS 1.3 (NewSessionTicket, the same sealed state), the
# clients choosing the version and the servers speaking both:
#
#   1. a ticket from server A resumes on server B (mtls client --sess-out/--sess-in and openssl
#      s_client -sess_out/-sess_in), and the ticket's key name (its first 16 bytes, printed by
#      s_client) is the first key of the file; a server with its own keys does not resume it;
#   2. rotation: a new key written first, the old one kept second, SIGHUP: the old ticket still
#      resumes, a new ticket is sealed under the new key;
#   3. the old key removed, SIGHUP: the old ticket gets a full handshake (exit 0, not an error),
#      tickets of the new key still resume;
#   4. no signal at all: a rewritten file is picked up by itself within
#      MTLS_TICKET_KEY_FILE_CHECK (10) seconds;
#   5. a file that does not parse, SIGHUP: "reload failed", and the server goes on with its keys.
#
# Every file is replaced the way an operator's script does it (write a temporary file, mv it
# over the old one).  Servers pick their own ports on 127.0.0.1; every wait is bounded; a trap
# kills the servers.  Ends with "N passed, N failed".
set -euo pipefail

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-fleet.XXXXXX")
HOST=good.test
PIDS=()
trap lib_cleanup EXIT
trap 'exit 130' INT TERM
PASS=0
FAIL=0

# check NAME WHY LOG...: WHY empty means pass
check() {
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

for tool in "$MTLS" openssl; do
    if ! command -v "$tool" >/dev/null; then
        echo "fleet: $tool is missing; skipped"
        exit 77
    fi
done

# ---- PKI and keys --------------------------------------------------------------------------

P=$W/pki
mkdir -p "$P"
if ! (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/ca.key" &&
    openssl req -x509 -new -key "$P/ca.key" -sha256 -days 2 -subj "/CN=mtls fleet CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -out "$P/ca.crt" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/server.key" &&
    openssl req -new -key "$P/server.key" -subj "/CN=$HOST" -out "$P/server.csr" &&
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$HOST" > "$P/ext" &&
    openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -set_serial 7 \
        -days 1 -extfile "$P/ext" -out "$P/server.crt") > "$W/pki.log" 2>&1; then
    echo "fleet: cannot make the test PKI"
    show_log "$W/pki.log"
    echo "0 passed, 1 failed"
    exit 1
fi

KEYS=$W/ticket.keys
# put_keys LINE...: the key file, replaced atomically (temporary file + mv), mode 0600
put_keys() {
    (umask 077 && printf '%s\n' "# mtls ticket keys: the first seals, all open" "$@" > "$KEYS.new")
    mv "$KEYS.new" "$KEYS"
}
K1=$(openssl rand -hex 48)
K2=$(openssl rand -hex 48)
K3=$(openssl rand -hex 48)
put_keys "$K1"

# ---- servers and clients -------------------------------------------------------------------

# start NAME ARGS...: sets <NAME>_PID and <NAME>_PORT; its log is $W/NAME.log
start() {
    local name=$1
    shift
    if ! mtls_listen "$W/$name.log" 300 --cert "$P/server.crt" --key "$P/server.key" \
        --no-cache --trace "$@"; then
        echo "fleet: server $name did not start"
        show_log "$W/$name.log"
        echo "$PASS passed, $((FAIL + 1)) failed"
        exit 1
    fi
    # SIGHUP goes to the server itself: `timeout`, its parent, passes on only the first one
    local pid
    pid=$(pgrep -P "$LISTEN_PID" | head -n1)
    printf -v "${name}_PID" %s "${pid:-$LISTEN_PID}"
    printf -v "${name}_PORT" %s "$LISTEN_PORT"
}
start A --ticket-key-file "$KEYS"
start B --ticket-key-file "$KEYS"
start C # its own, automatic keys

# The clients choose the version, $V (1.2 or 1.3); the servers speak both.
# mclient PORT OUT ARGS...: mtls client, TLS $V; its stderr in OUT, status in MST
mclient() {
    local port=$1 out=$2
    shift 2
    MST=0
    echo "fleet $RANDOM" | timeout 30 "$MTLS" client "127.0.0.1:$port" --servername "$HOST" \
        --ca "$P/ca.crt" --timeout 10 "--tls$V" "$@" > /dev/null 2> "$out" || MST=$?
}

# sclient PORT OUT ARGS...: openssl s_client, TLS $V; its output in OUT (TLS 1.3 keeps its stdin
# open a moment: the tickets come after the handshake)
sclient() {
    local port=$1 out=$2
    shift 2
    local args=(-connect "127.0.0.1:$port" "-tls1_${V#1.}" -servername "$HOST"
        -verify_hostname "$HOST" -CAfile "$P/ca.crt" -verify_return_error "$@")
    if [ "$V" = 1.2 ]; then
        timeout 30 openssl s_client "${args[@]}" < /dev/null > "$out" 2>&1 || true
    else
        sleep 1 | timeout 30 openssl s_client "${args[@]}" > "$out" 2>&1 || true
    fi
}

# ticket_name OUT: the first 16 bytes of the ticket s_client printed, as 32 hex digits
ticket_name() {
    awk '/TLS session ticket:/ { getline; print; exit }' "$1" | sed 's/^ *0000 - //' |
        cut -c1-47 | tr -d ' -'
}
name_of() { echo "${1:0:32}"; }

# reloaded LOG N: wait until the server logged its Nth reload (or a failed one)
reloaded() {
    wait_for "$1" "^mtls: (reload $2:|reload failed)" 10
}

# ---- 1. one file, two servers --------------------------------------------------------------

echo "1. a ticket issued by A resumes on B"
for V in 1.2 1.3; do
    mclient "$A_PORT" "$W/m1-$V.err" --sess-out "$W/m1-$V.sess"
    lines=$(wc -l < "$W/B.log")
    mclient "$B_PORT" "$W/m1b-$V.err" --sess-in "$W/m1-$V.sess"
    why=""
    if [ "$MST" != 0 ]; then
        why="mtls client exited with $MST"
    elif ! grep -q 'connection 1: resumed (session ticket)' "$W/m1b-$V.err"; then
        why="B did not resume A's ticket: $(grep -o 'connection 1: .*' "$W/m1b-$V.err" || true)"
    elif ! tail -n +"$((lines + 1))" "$W/B.log" | grep -q 'resuming the session found in the ticket'; then
        why="B's trace does not say it resumed from a ticket"
    fi
    check "TLS $V: mtls client: ticket from A resumes on B" "$why" "$W/m1b-$V.err" "$W/B.log"

    sclient "$A_PORT" "$W/s1-$V.out" -sess_out "$W/s1-$V.pem"
    sclient "$B_PORT" "$W/s1b-$V.out" -sess_in "$W/s1-$V.pem"
    why=""
    name=$(ticket_name "$W/s1-$V.out")
    if ! grep -q "^New, TLSv$V" "$W/s1-$V.out"; then
        why="the first s_client connection to A failed"
    elif [ "$name" != "$(name_of "$K1")" ]; then
        why="the ticket's key name is '$name', not the first key of the file ($(name_of "$K1"))"
    elif ! grep -q "^Reused, TLSv$V" "$W/s1b-$V.out"; then
        why="s_client -sess_in on B did not report 'Reused'"
    fi
    check "TLS $V: openssl s_client: ticket from A (key $(name_of "$K1")) resumes on B" "$why" \
        "$W/s1-$V.out" "$W/s1b-$V.out"

    mclient "$C_PORT" "$W/m1c-$V.err" --sess-in "$W/m1-$V.sess"
    why=""
    if [ "$MST" != 0 ]; then
        why="mtls client exited with $MST"
    elif ! grep -q 'connection 1: full handshake' "$W/m1c-$V.err"; then
        why="a server with other keys: $(grep -o 'connection 1: .*' "$W/m1c-$V.err" || true)"
    fi
    check "TLS $V: control: a server with its own keys does a full handshake" "$why" \
        "$W/m1c-$V.err"
done

# ---- 2. rotation ---------------------------------------------------------------------------

echo "2. rotation: a new key first, the old one kept; SIGHUP"
put_keys "$K2" "$K1"
kill -HUP "$A_PID" "$B_PID"
why=""
if ! reloaded "$W/A.log" 1 || ! reloaded "$W/B.log" 1; then
    why="no reload logged"
elif grep -q 'reload failed' "$W/A.log" "$W/B.log"; then
    why="a reload failed"
elif ! grep -q "^mtls: reload 1: certificate unchanged .*; ticket keys 1 key from .*sealing with ${K1:0:8} -> 2 keys from .*sealing with ${K2:0:8}" "$W/B.log"; then
    why="the reload line does not name the key change"
fi
check "SIGHUP: both servers reload the key file and say so" "$why" "$W/A.log" "$W/B.log"

for V in 1.2 1.3; do
    mclient "$B_PORT" "$W/m2-$V.err" --sess-in "$W/m1-$V.sess"
    why=""
    [ "$MST" = 0 ] && grep -q 'connection 1: resumed (session ticket)' "$W/m2-$V.err" ||
        why="the old ticket no longer resumes on B: $(grep -o 'connection 1: .*' "$W/m2-$V.err" || echo "status $MST")"
    check "TLS $V: the old key's ticket still resumes (B)" "$why" "$W/m2-$V.err" "$W/B.log"
    sclient "$A_PORT" "$W/s2-$V.out" -sess_out "$W/s2-$V.pem"
    sclient "$B_PORT" "$W/s2b-$V.out" -sess_in "$W/s2-$V.pem"
    name=$(ticket_name "$W/s2-$V.out")
    why=""
    if [ "$name" != "$(name_of "$K2")" ]; then
        why="A sealed the new ticket under '$name', not the new key $(name_of "$K2")"
    elif ! grep -q "^Reused, TLSv$V" "$W/s2b-$V.out"; then
        why="the new ticket does not resume on B"
    fi
    check "TLS $V: a new ticket is sealed under the new key $(name_of "$K2") and resumes on B" \
        "$why" "$W/s2-$V.out" "$W/s2b-$V.out"
done

# ---- 3. the old key removed ----------------------------------------------------------------

echo "3. the old key removed; SIGHUP"
put_keys "$K2"
kill -HUP "$A_PID" "$B_PID"
reloaded "$W/A.log" 2 || true
reloaded "$W/B.log" 2 || true
for V in 1.2 1.3; do
    mclient "$B_PORT" "$W/m3-$V.err" --sess-in "$W/m1-$V.sess"
    why=""
    if [ "$MST" != 0 ]; then
        why="the client failed (status $MST) instead of a full handshake: $(tail -n1 "$W/m3-$V.err")"
    elif ! grep -q 'connection 1: full handshake (the server did not accept our session ticket)' "$W/m3-$V.err"; then
        why="$(grep -o 'connection 1: .*' "$W/m3-$V.err" || echo 'no verdict')"
    fi
    check "TLS $V: the removed key's ticket: a full handshake, not an error" "$why" \
        "$W/m3-$V.err" "$W/B.log"
    sclient "$A_PORT" "$W/s3-$V.out" -sess_in "$W/s2-$V.pem"
    why=""
    grep -q "^Reused, TLSv$V" "$W/s3-$V.out" || why="the current key's ticket does not resume on A"
    check "TLS $V: the current key's ticket still resumes (A)" "$why" "$W/s3-$V.out" "$W/A.log"
done

# ---- 4. no signal: the periodic look at the file -------------------------------------------

echo "4. the file rewritten, no signal: picked up within 10 s"
put_keys "$K3" "$K2"
sleep 11
for V in 1.2 1.3; do
    sclient "$A_PORT" "$W/s4-$V.out" -sess_out "$W/s4-$V.pem"
    sclient "$B_PORT" "$W/s4b-$V.out" -sess_in "$W/s4-$V.pem"
    name=$(ticket_name "$W/s4-$V.out")
    why=""
    if [ "$name" != "$(name_of "$K3")" ]; then
        why="A sealed under '$name', not under the newest key $(name_of "$K3")"
    elif grep -q '^mtls: reload 3:' "$W/A.log"; then
        why="A reloaded: the test sent no signal"
    elif ! grep -q "^Reused, TLSv$V" "$W/s4b-$V.out"; then
        why="B did not pick up the new key (its ticket does not resume there)"
    fi
    check "TLS $V: a rewritten key file is read again without a signal" "$why" "$W/s4-$V.out" \
        "$W/s4b-$V.out"
done

# ---- 5. a broken file ----------------------------------------------------------------------

echo "5. a file that does not parse; SIGHUP"
put_keys "not-a-key"
kill -HUP "$A_PID"
why=""
if ! reloaded "$W/A.log" 3; then
    why="nothing logged"
elif ! grep -q '^mtls: reload failed: still serving with the previous configuration' "$W/A.log"; then
    why="no 'reload failed' line"
elif ! grep -q -- '--ticket-key-file: ticket key file .*line 2: 9 characters where a key is 96 hex digits' "$W/A.log"; then
    why="the log does not say which line is wrong"
fi
for V in 1.2 1.3; do
    sclient "$A_PORT" "$W/s5-$V.out" -sess_in "$W/s4-$V.pem"
    if [ -z "$why" ] && ! grep -q "^Reused, TLSv$V" "$W/s5-$V.out"; then
        why="after the failed reload A no longer resumes its TLS $V tickets"
    fi
done
check "a bad key file: the reload fails, the keys in use stay (TLS 1.2 and 1.3 tickets resume)" \
    "$why" "$W/A.log" "$W/s5-1.2.out" "$W/s5-1.3.out"
grep -E '^mtls: (ticket keys|reload)' "$W/A.log" | sed 's/^/    A: /' | cut -c1-220

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
