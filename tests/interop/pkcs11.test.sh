#!/usr/bin/env bash
# pkcs11.test.sh -- keys that never leave a PKCS#11 token (RFC 7512 URIs, `--key 'pkcs11:...'`),
# in both roles, with SoftHSM2 as the token and libp11's engine "pkcs11" as the path.
#
# Set up here, from nothing: the packages (softhsm2, libengine-pkcs11-openssl, opensc for
# pkcs11-tool; installed with apt-get when missing, as scripts/deps.sh does), a fresh token in a
# temporary directory (SOFTHSM2_CONF), an RSA-2048 and an ECDSA P-256 key pair generated ON the
# token (never extractable), and certificates for the token's public keys issued by the test CA of
# tests/pki/make-pki.sh.  Then, for each key, in TLS 1.2 and in TLS 1.3 (the clients choose; the
# RSA key then signs RSA-PSS on the token, the only RSA signatures TLS 1.3 has):
#   - mtls server with the token key, against mtls client and openssl s_client (ECDHE; static
#     RSA for the RSA key in TLS 1.2, where the token decrypts the premaster with raw RSA);
#   - mtls client with the token key (its CertificateVerify signed on the token) against mtls
#     server requiring a client certificate;
# each case checks the version, suite and signature scheme the server logged;
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

# server_case NAME VERSION CLIENT(mtls|openssl) CLIENT-ARGS -- SERVER-ARGS: the client speaks
# TLS VERSION (1.2, 1.3; "-" for its default); the server must log that version and, when WANT is
# set, a line matching it
WANT=
server_case() {
  local name=$1 v=$2 client=$3 cargs=() sargs=()
  shift 3
  if [ "$v" != - ]; then
    name="TLS $v: $name"
    if [ "$client" = mtls ]; then cargs+=("--tls$v"); else cargs+=("-tls1_${v#1.}"); fi
  fi
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
  local vre='TLS 1\.[23]'
  [ "$v" = - ] || vre="TLS ${v/./\\.}"
  if { grep -qF "$tok" c.out || grep -q 'Verify return code: 0 (ok)' c.out; } &&
      grep -q "closed cleanly" "$W/s.log" && grep -Eq "^mtls: #1 .*: $vre, " "$W/s.log" &&
      { [ -z "$WANT" ] || grep -Eq -- "$WANT" "$W/s.log" c.log; }; then
    local seen=""
    [ -z "$WANT" ] || seen=" ($(cat "$W/s.log" c.log | grep -Eo -- "$WANT" | head -1))"
    ok "$name: $(grep -Eo "$vre, [^;]*" "$W/s.log" | head -1)$seen"
  else
    [ -z "$WANT" ] || echo "      (wanted a line matching: $WANT)"
    bad "$name" c.log c.out "$W/s.log"
  fi
  WANT=
}

for k in rsa ec; do
  uri=$([ $k = rsa ] && echo "$URI_RSA" || echo "$URI_EC")
  auth=$([ $k = rsa ] && echo RSA || echo ECDSA)
  # the schemes the token signs with: RSA-PSS (TLS 1.3's only RSA one, mtls's first in TLS 1.2)
  scheme=$([ $k = rsa ] && echo 'rsa_pss_rsae_sha(256|384|512)' || echo ecdsa_secp256r1_sha256)
  for v in 1.2 1.3; do
    WANT="signed with $scheme"
    server_case "$k: mtls server (token key) <- mtls client, ECDHE" $v mtls -- \
      --cert $k.crt --key "$uri" --key-pass-file pin.txt \
      --pkcs11-module "$MODULE"
    WANT="signed with $scheme"
    server_case "$k: mtls server (token key) <- openssl s_client, ECDHE" $v openssl -- \
      --cert $k.crt --key "$uri" --key-pass-file pin.txt \
      --pkcs11-module "$MODULE"
    if [ $k = rsa ]; then
      WANT="signed with rsa_pss_rsae_sha384"
      server_case "rsa: mtls server (token key) <- openssl s_client, rsa_pss_rsae_sha384" $v \
        openssl -sigalgs rsa_pss_rsae_sha384 -- --cert $k.crt --key "$uri" \
        --key-pass-file pin.txt --pkcs11-module "$MODULE"
    fi
    # the client's key on the token, against a server that requires a client certificate
    WANT="our certificate sent, CertificateVerify $scheme"
    server_case "$k: mtls client (token key, $auth CertificateVerify) -> mtls server requiring it" \
      $v mtls --cert $k.crt --key "$uri" --key-pass-file pin.txt --pkcs11-module "$MODULE" -- \
      --cert $P/ecdsa256.crt --key $P/ecdsa256.key --ca $P/ca.crt --verify-client require
    if ! grep -q "client certificate: CN=good.test" "$W/s.log"; then
      bad "TLS $v: $k: the server did not log the token-held client certificate" "$W/s.log"
    fi
  done
  if [ $k = rsa ]; then
    # static RSA (TLS 1.2 only: TLS 1.3 has no RSA key exchange): the token decrypts
    WANT="static RSA key exchange"
    server_case "rsa: mtls server (token key) <- mtls client, static RSA (the token decrypts)" \
      1.2 mtls --ciphers TLS_RSA_WITH_AES_256_GCM_SHA384 -- \
      --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
    WANT="TLS_RSA_WITH_AES_128_GCM_SHA256, static RSA key exchange"
    server_case "rsa: mtls server (token key) <- openssl s_client, static RSA" 1.2 openssl \
      -cipher AES128-GCM-SHA256 -- --cert $k.crt --key "$uri" --key-pass-file pin.txt \
    --pkcs11-module "$MODULE"
  fi
done
# no --pkcs11-module: the engine's default, p11-kit-proxy, finds SoftHSM2 registered with p11-kit
server_case "rsa: PIN in the URI (pin-value), the default module" - mtls -- \
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
