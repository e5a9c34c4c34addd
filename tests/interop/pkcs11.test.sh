#!/usr/bin/env bash
# pkcs11.test.sh -- keys that never leave a PKCS#11 token (RFC 7512 URIs, `--key 'pkcs11:...'`),
# in both roles, with SoftHSM2 as the token and libp11's engine "pkcs11" as the path.
#
# Set up here, from nothing: the packages (softhsm2, libengine-pkcs11-openssl, opensc for
# pkcs11-tool; installed with apt-get when missing, as scripts/deps.sh does), a fresh token in a
# temporary directory (SOFTHSM2_CONF), an RSA-2048 and an ECDSA P-256 key pair generated ON the
# token (never extractable), and certificates for the token's public keys issued by the test CA of
# tests/pki/make-pki.sh.  Then, for each key:
#   - mtls server with the token key, against mtls client and openssl s_client (ECDHE; static
#     RSA for the RSA key, where the token decrypts the premaster with raw RSA);
#   - mtls client with the token key against mtls server requiring a client certificate;
# the PIN from --key-pass-file (the passphrase callback), from the URI's pin-value, and the
# sentences for a wrong PIN, a missing one and one of a length the engine does not take.  Exit 77
# only when the packages cannot be installed.  Every process binds 127.0.0.1 and is bounded by
# `timeout`.
set -euo pipefail
SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$MTLS" ] || { echo "pkcs11: $MTLS not built; skipped"; exit 77; }

pkgs=(softhsm2 libengine-pkcs11-openssl opensc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "pkcs11: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1; then
    echo "pkcs11: cannot install ${missing[*]}; skipped"
    exit 77
  fi
fi
MODULE=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
  [ -r "$m" ] && MODULE=$m && break
done
[ -n "$MODULE" ] || { echo "pkcs11: SoftHSM2's module not found after installing softhsm2"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-pkcs11.XXXXXX")
PIDS=()
trap lib_cleanup EXIT
cd "$W"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" \
  > softhsm2.conf
export SOFTHSM2_CONF=$W/softhsm2.conf
PIN=4321
printf '%s\n' "$PIN" > pin.txt
printf '0000\n' > wrong-pin.txt
chmod 600 pin.txt wrong-pin.txt
softhsm2-util --init-token --free --label mtls-test --so-pin 87654321 --pin "$PIN" > init.log
p11() { pkcs11-tool --module "$MODULE" --token-label mtls-test --login --pin "$PIN" "$@"; }
p11 --keypairgen --key-type rsa:2048 --id 01 --label rsa-key > keygen.log 2>&1
p11 --keypairgen --key-type EC:prime256v1 --id 02 --label ec-key >> keygen.log 2>&1
# The private keys were made on the token and cannot be read out of it.
if [ "$(p11 --list-objects --type privkey 2>/dev/null | grep -c 'never extractable')" != 2 ]; then
  echo "pkcs11: the token's keys are not marked never-extractable"
  p11 --list-objects --type privkey
  exit 1
fi

sh "$SRC/tests/pki/make-pki.sh" pki > /dev/null
P=pki
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:good.test\nextendedKeyUsage=serverAuth,clientAuth\n' \
  > leaf.ext
for k in rsa ec; do
  id=$([ $k = rsa ] && echo 01 || echo 02)
  p11 --read-object --type pubkey --id $id -o $k.pub.der > /dev/null 2>&1
  openssl pkey -pubin -inform DER -in $k.pub.der -out $k.pub.pem
  openssl x509 -new -subj "/CN=good.test" -force_pubkey $k.pub.pem -CA $P/int.crt \
    -CAkey $P/int.key -days 2 -extfile leaf.ext -out $k.leaf.crt 2> x509.log
  cat $k.leaf.crt $P/int.crt > $k.crt
done
URI_RSA="pkcs11:token=mtls-test;object=rsa-key;type=private"
URI_EC="pkcs11:token=mtls-test;object=ec-key;type=private"

fails=0
ok() { echo "ok    $1"; }
bad() {
  echo "FAIL  $1"
  shift
  show_log "$@"
  fails=$((fails + 1))
}

# server_case NAME CLIENT(mtls|openssl) CLIENT-ARGS -- SERVER-ARGS
server_case() {
  local name=$1 client=$2 cargs=() sargs=()
  shift 2
  while [ "$1" != -- ]; do cargs+=("$1"); shift; done
  shift
  sargs=("$@")
  if ! mtls_listen "$W/s.log" 30 --once "${sargs[@]}"; then
    bad "$name: the server did not start" "$W/s.log"
    return
  fi
  local tok
  tok=$(token)
  if [ "$client" = mtls ]; then
    printf '%s\n' "$tok" | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" \
      --servername good.test --ca $P/ca.crt "${cargs[@]}" > c.out 2> c.log || true
  else
    printf '%s\n' "$tok" | timeout 20 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" \
      -servername good.test -verify_hostname good.test -CAfile $P/ca.crt -verify_return_error \
      "${cargs[@]}" > c.out 2> c.log || true
  fi
  wait_exit "$LISTEN_PID" 10 || true
  # openssl s_client closes at the end of its input, maybe before the echo: its verdict counts
  if { grep -qF "$tok" c.out || grep -q 'Verify return code: 0 (ok)' c.out; } &&
      grep -q "closed cleanly" "$W/s.log"; then
    ok "$name: $(grep -o 'TLS 1.2, [^;]*' "$W/s.log" | head -1)"
  else
    bad "$name" c.log c.out "$W/s.log"
  fi
}

for k in rsa ec; do
  uri=$([ $k = rsa ] && echo "$URI_RSA" || echo "$URI_EC")
  auth=$([ $k = rsa ] && echo RSA || echo ECDSA)
  server_case "$k: mtls server (token key) <- mtls client, ECDHE" mtls -- \
    --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
  server_case "$k: mtls server (token key) <- openssl s_client, ECDHE" openssl -- \
    --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
  if [ $k = rsa ]; then
    server_case "rsa: mtls server (token key) <- mtls client, static RSA (the token decrypts)" \
      mtls --ciphers TLS_RSA_WITH_AES_256_GCM_SHA384 -- \
      --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
    server_case "rsa: mtls server (token key) <- openssl s_client, static RSA" openssl \
      -cipher AES128-GCM-SHA256 -- --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
    server_case "rsa: mtls server (token key) <- openssl s_client, rsa_pss_rsae_sha384" openssl \
      -sigalgs rsa_pss_rsae_sha384 -- --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
  fi
  # the client's key on the token, against a server that requires a client certificate
  server_case "$k: mtls client (token key, $auth CertificateVerify) -> mtls server requiring it" \
    mtls --cert $k.crt --key "$uri" --key-pass-file pin.txt --pkcs11-module "$MODULE" -- \
    --cert $P/ecdsa256.crt --key $P/ecdsa256.key --ca $P/ca.crt --verify-client require
  if ! grep -q "client certificate: CN=good.test" "$W/s.log"; then
    bad "$k: the server did not log the token-held client certificate" "$W/s.log"
  fi
done
# no --pkcs11-module: the engine's default, p11-kit-proxy, finds SoftHSM2 registered with p11-kit
server_case "rsa: PIN in the URI (pin-value), the default module" mtls -- \
  --cert rsa.crt --key "$URI_RSA?pin-value=$PIN"

# refuse NAME WANT ARGS...: `mtls server` exits 2 at start-up and says WANT
refuse() {
  local name=$1 want=$2 rc=0
  shift 2
  timeout 20 "$MTLS" server --listen 127.0.0.1:0 --once "$@" > out.txt 2> err.txt \
    < /dev/null || rc=$?
  if [ "$rc" -eq 2 ] && grep -qF -- "$want" err.txt; then
    ok "$name: $(head -1 err.txt)"
  else
    echo "      (exit $rc; wanted \"$want\")"
    bad "$name" err.txt
  fi
}
refuse "no PIN" "wants a PIN and none was given" \
  --cert rsa.crt --key "$URI_RSA" --pkcs11-module "$MODULE"
refuse "wrong PIN" "the token refused the PIN, or holds no such private key" \
  --cert rsa.crt --key "$URI_RSA" --pkcs11-module "$MODULE" --key-pass-file wrong-pin.txt
# A PIN longer than the engine takes (libp11 asks for 4 to MAX_PIN_LENGTH bytes), short enough
# for the tool's 1024-byte line, or shorter: said so, with the limit, not blamed on the callback
# or on a missing key.
head -c 300 /dev/zero | tr '\0' 7 > long-pin.txt
echo >> long-pin.txt
refuse "a PIN too long for the token" "the PIN for pkcs11:token=mtls-test;object=rsa-key;type=private is 300 bytes long, more than the" \
  --cert rsa.crt --key "$URI_RSA" --pkcs11-module "$MODULE" --key-pass-file long-pin.txt
printf '12\n' > short-pin.txt
refuse "a PIN too short for the engine" "is 2 bytes long, less than the" \
  --cert rsa.crt --key "$URI_RSA" --pkcs11-module "$MODULE" --key-pass-file short-pin.txt
refuse "a PIN in the URI is not repeated in messages" "pin-value=***" \
  --cert rsa.crt --key "pkcs11:token=mtls-test;object=nothing;type=private?pin-value=$PIN" \
  --pkcs11-module "$MODULE"
if grep -q "$PIN" err.txt; then
  bad "the PIN appears in a message" err.txt
fi
refuse "the token key with another certificate" "does not belong to certificate" \
  --cert ec.crt --key "$URI_RSA" --pkcs11-module "$MODULE" --key-pass-file pin.txt
refuse "a missing module" "cannot open the PKCS#11 module /nonexistent/module.so" \
  --cert rsa.crt --key "$URI_RSA" --pkcs11-module /nonexistent/module.so --key-pass-file pin.txt

[ "$fails" -eq 0 ] || { echo "pkcs11: $fails failed"; exit 1; }
echo "pkcs11: all passed"
