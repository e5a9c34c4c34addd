#!/usr/bin/env bash
# load-errors.test.sh -- the `mtls` tool says what a certificate, key or CA file holds when mtls
# cannot use it, and what to do (the sentence of mtls_config_error_detail): an Ed25519 key or
# certificate, and a PKCS#12 bundle (DER) where PEM is read, in both roles.  The tool refuses
# each at start-up, so every run ends by itself (bounded by `timeout` anyway).
set -euo pipefail
src=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MTLS_BUILD_DIR:-$src/build}
mtls=$build/tools/mtls
[ -x "$mtls" ] || { echo "load-errors: $mtls not built; skipped"; exit 77; }
command -v openssl >/dev/null || { echo "load-errors: openssl missing; skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
openssl genpkey -algorithm ED25519 -out server.key 2>/dev/null
openssl req -x509 -new -key server.key -subj "/CN=ed.test" -days 1 -out ed.crt 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl req -x509 -new -key ec.key -subj "/CN=ec.test" -days 1 -out ec.crt 2>/dev/null
openssl pkcs12 -export -in ec.crt -inkey ec.key -out bundle.p12 -passout pass: 2>/dev/null

fails=0
# expect NAME WANT ARGS...: the tool exits non-zero and its stderr holds WANT
expect() {
  local name=$1 want=$2 rc=0
  shift 2
  timeout 20 "$mtls" "$@" >out.txt 2>err.txt </dev/null || rc=$?
  if [ "$rc" -ne 0 ] && grep -qF -- "$want" err.txt; then
    echo "ok    $name: $(head -1 err.txt)"
  else
    echo "FAIL  $name (exit $rc): expected \"$want\" in:"
    sed 's/^/      /' err.txt
    fails=$((fails + 1))
  fi
}
server() { expect "$1" "$2" server --listen 127.0.0.1:0 --once "${@:3}"; }
client() { expect "$1" "$2" client 127.0.0.1:9 --ca ec.crt "${@:3}"; }

server "server, Ed25519 key" \
  "server.key holds an Ed25519 key; mtls signs with RSA (2048-4096 bits) or ECDSA P-256/P-384 keys: make one with \`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256\`" \
  --cert ec.crt --key server.key
server "server, Ed25519 certificate" \
  "ed.crt holds a certificate with an Ed25519 key (CN=ed.test)" --cert ed.crt --key server.key
server "server, PKCS#12 as --cert" \
  "bundle.p12 looks like a PKCS#12 file (DER): load it as one, with --p12 bundle.p12 (the mtls tool) or mtls_config_set_pkcs12_file(), or convert it with \`openssl pkcs12 -in bundle.p12 -nodes -out bundle.pem\`" \
  --cert bundle.p12 --key bundle.p12
server "server, PKCS#12 as --key" "bundle.p12 looks like a PKCS#12 file (DER)" \
  --cert ec.crt --key bundle.p12
server "server, PKCS#12 as --ca" \
  "bundle.p12 looks like a PKCS#12 file (DER); mtls reads PEM: convert it with \`openssl pkcs12 -in bundle.p12 -nokeys -out bundle.pem\`" \
  --cert ec.crt --key ec.key --ca bundle.p12 --verify-client require
server "server, Ed25519 CA" "ed.crt holds a certificate with an Ed25519 key (CN=ed.test)" \
  --cert ec.crt --key ec.key --ca ed.crt --verify-client require
client "client, Ed25519 key" "server.key holds an Ed25519 key" --cert ec.crt --key server.key
client "client, PKCS#12" "bundle.p12 looks like a PKCS#12 file (DER)" \
  --cert bundle.p12 --key bundle.p12
expect "client, PKCS#12 as --ca" "bundle.p12 looks like a PKCS#12 file (DER)" \
  client 127.0.0.1:9 --ca bundle.p12

# The advice works: the converted bundle serves as both files.
openssl pkcs12 -in bundle.p12 -nodes -out bundle.pem -passin pass: 2>/dev/null
timeout 5 "$mtls" server --listen 127.0.0.1:0 --once --cert bundle.pem --key bundle.pem \
  >/dev/null 2>err.txt &
pid=$!
for _ in $(seq 50); do
  grep -q "listening on" err.txt && break
  sleep 0.1
done
if grep -q "listening on" err.txt; then
  echo "ok    the converted bundle.pem loads as --cert and --key"
else
  echo "FAIL  the converted bundle.pem does not load:"
  sed 's/^/      /' err.txt
  fails=$((fails + 1))
fi
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

[ "$fails" -eq 0 ] || { echo "load-errors: $fails failed"; exit 1; }
echo "load-errors: all passed"
