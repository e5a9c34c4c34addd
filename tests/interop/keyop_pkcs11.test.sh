#!/usr/bin/env bash
# keyop_pkcs11.test.sh -- the key method (mtls_config_set_cert_chain_key_method) with a key that
# never leaves a PKCS#11 token: examples/keyop_pkcs11 serves with SoftHSM2 keys, every signature
# and static-RSA decryption done on the token from a worker thread and handed back with
# mtls_conn_key_op_done, against `mtls client` and `openssl s_client`.
#
# Set up as tests/interop/pkcs11.test.sh does (the packages softhsm2, libengine-pkcs11-openssl and
# opensc, installed with apt-get when missing; a fresh token in a temporary directory; an RSA-2048
# and an ECDSA P-256 key pair and a second RSA one generated ON the token; certificates for the
# first two from the test CA).
# Then, for each key, TLS 1.3 and TLS 1.2 ECDHE handshakes (the example's line says how many
# operations the token did) -- for RSA also static RSA (the token decrypts with raw RSA, mtls
# checks the padding) and the schemes openssl asks for -- and the RSA certificate with the
# token's other RSA key: mtls verifies the signature before sending it and refuses it
# (KEY_OP_BAD_RESULT, internal_error).  Exit 77 only when the packages cannot be installed or the example is not
# built.  Every process binds 127.0.0.1 and is bounded by `timeout`.
set -euo pipefail
SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
EXAMPLE=$BUILD/examples/keyop_pkcs11
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$MTLS" ] || { echo "keyop_pkcs11: $MTLS not built; skipped"; exit 77; }
[ -x "$EXAMPLE" ] || { echo "keyop_pkcs11: $EXAMPLE not built; skipped"; exit 77; }

pkgs=(softhsm2 libengine-pkcs11-openssl opensc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "keyop_pkcs11: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1; then
    echo "keyop_pkcs11: cannot install ${missing[*]}; skipped"
    exit 77
  fi
fi
MODULE=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
  [ -r "$m" ] && MODULE=$m && break
done
[ -n "$MODULE" ] || { echo "keyop_pkcs11: SoftHSM2's module not found"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-keyop.XXXXXX")
PIDS=()
trap lib_cleanup EXIT
cd "$W"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" \
  > softhsm2.conf
export SOFTHSM2_CONF=$W/softhsm2.conf
export PKCS11_PIN=4321
softhsm2-util --init-token --free --label mtls-keyop --so-pin 87654321 --pin "$PKCS11_PIN" \
  > init.log
p11() { pkcs11-tool --module "$MODULE" --token-label mtls-keyop --login --pin "$PKCS11_PIN" "$@"; }
p11 --keypairgen --key-type rsa:2048 --id 01 --label rsa-key > keygen.log 2>&1
p11 --keypairgen --key-type EC:prime256v1 --id 02 --label ec-key >> keygen.log 2>&1
p11 --keypairgen --key-type rsa:2048 --id 03 --label other-rsa-key >> keygen.log 2>&1
if [ "$(p11 --list-objects --type privkey 2>/dev/null | grep -c 'never extractable')" != 3 ]; then
  echo "keyop_pkcs11: the token's keys are not marked never-extractable"
  exit 1
fi

sh "$SRC/tests/pki/make-pki.sh" pki > /dev/null
P=pki
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:good.test\nextendedKeyUsage=serverAuth\n' \
  > leaf.ext
for k in rsa ec; do
  id=$([ $k = rsa ] && echo 01 || echo 02)
  p11 --read-object --type pubkey --id $id -o $k.pub.der > /dev/null 2>&1
  openssl pkey -pubin -inform DER -in $k.pub.der -out $k.pub.pem
  openssl x509 -new -subj "/CN=good.test" -force_pubkey $k.pub.pem -CA $P/int.crt \
    -CAkey $P/int.key -days 2 -extfile leaf.ext -out $k.leaf.crt 2> x509.log
  cat $k.leaf.crt $P/int.crt > $k.crt
done
URI_RSA="pkcs11:token=mtls-keyop;object=rsa-key;type=private"
URI_EC="pkcs11:token=mtls-keyop;object=ec-key;type=private"
URI_OTHER="pkcs11:token=mtls-keyop;object=other-rsa-key;type=private"

fails=0
ok() { echo "ok    $1"; }
bad() {
  echo "FAIL  $1"
  shift
  show_log "$@"
  fails=$((fails + 1))
}

# example_listen CHAIN URI: the example in the background for one connection; sets EX_PID, EX_PORT
example_listen() {
  rm -f ex.out ex.err
  timeout 60 "$EXAMPLE" "$1" "$2" "$MODULE" 0 1 > ex.out 2> ex.err &
  EX_PID=$!
  PIDS+=("$EX_PID")
  EX_PORT=
  if wait_for ex.out 'listening on 127\.0\.0\.1:[0-9]+' 10; then
    EX_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' ex.out | head -n1)
  fi
  [ -n "$EX_PORT" ]
}

# case NAME WANT CLIENT(mtls|openssl) CLIENT-ARGS... : the example serves CHAIN/URI (set before),
# the client sends a token and gets it back; the example's line matches WANT
case_ok() {
  local name=$1 want=$2 client=$3 tok
  shift 3
  if ! example_listen "$CHAIN" "$URI"; then
    bad "$name: the example did not start" ex.out ex.err
    return
  fi
  tok=$(token)
  if [ "$client" = mtls ]; then
    printf '%s\n' "$tok" | timeout 20 "$MTLS" client "127.0.0.1:$EX_PORT" \
      --servername good.test --ca $P/ca.crt "$@" > c.out 2> c.log || true
  else
    { printf '%s\n' "$tok"; sleep 1; } | timeout 20 openssl s_client \
      -connect "127.0.0.1:$EX_PORT" -servername good.test -verify_hostname good.test \
      -CAfile $P/ca.crt -verify_return_error "$@" > c.out 2> c.log || true
  fi
  wait_exit "$EX_PID" 10 || true
  if grep -qF "$tok" c.out && grep -qE -- "$want" ex.out; then
    ok "$name: $(grep -o 'client connected.*' ex.out)"
  else
    echo "      (wanted \"$want\" from the example)"
    bad "$name" c.log c.out ex.out ex.err
  fi
}

CHAIN=rsa.crt URI=$URI_RSA
case_ok "rsa, TLS 1.3, mtls client" "TLS_AES_.*rsa_pss_rsae_sha256.*: 1 sign\(s\), 0 decrypt" \
  mtls --tls1.3
case_ok "rsa, TLS 1.3, openssl s_client, rsa_pss_rsae_sha384" \
  "TLS_AES_.*rsa_pss_rsae_sha384.*: 1 sign\(s\), 0 decrypt" openssl -tls1_3 \
  -sigalgs rsa_pss_rsae_sha384
case_ok "rsa, TLS 1.2 ECDHE, mtls client" "ECDHE_RSA.*: 1 sign\(s\), 0 decrypt" mtls --tls1.2
case_ok "rsa, TLS 1.2 ECDHE, openssl s_client, rsa_pkcs1_sha512" \
  "ECDHE_RSA.*rsa_pkcs1_sha512.*: 1 sign\(s\), 0 decrypt" openssl -tls1_2 \
  -sigalgs rsa_pkcs1_sha512
case_ok "rsa, static RSA (the token decrypts, raw RSA), mtls client" \
  "TLS_RSA_WITH_AES_256_GCM_SHA384, static RSA.*: 0 sign\(s\), 1 decrypt" mtls \
  --ciphers TLS_RSA_WITH_AES_256_GCM_SHA384
case_ok "rsa, static RSA, openssl s_client" "static RSA.*: 0 sign\(s\), 1 decrypt" openssl \
  -tls1_2 -cipher AES128-GCM-SHA256
CHAIN=ec.crt URI=$URI_EC
case_ok "ec, TLS 1.3, mtls client" "TLS_AES_.*ecdsa_secp256r1_sha256.*: 1 sign\(s\), 0 decrypt" \
  mtls --tls1.3
case_ok "ec, TLS 1.3, openssl s_client" \
  "TLS_AES_.*ecdsa_secp256r1_sha256.*: 1 sign\(s\), 0 decrypt" openssl -tls1_3
case_ok "ec, TLS 1.2 ECDHE, mtls client" "ECDHE_ECDSA.*ecdsa_secp256r1_sha256.*: 1 sign\(s\)" \
  mtls --tls1.2
case_ok "ec, TLS 1.2 ECDHE, openssl s_client" "ECDHE_ECDSA.*: 1 sign\(s\), 0 decrypt" openssl \
  -tls1_2

# The RSA certificate with the token's other RSA key: a signature of the right size that does
# not verify with the certificate's key; mtls refuses to send it.
if example_listen rsa.crt "$URI_OTHER"; then
  timeout 20 "$MTLS" client "127.0.0.1:$EX_PORT" --servername good.test --ca $P/ca.crt \
    < /dev/null > c.out 2> c.log || true
  wait_exit "$EX_PID" 10 || true
  if grep -q "handshake failed: .*does not verify with the key of certificate CN=good.test.*KEY_OP_BAD_RESULT" ex.err &&
      grep -qi "internal_error" c.log; then
    ok "a token key that is not the certificate's: $(head -c 160 ex.err)"
  else
    bad "a token key that is not the certificate's" ex.out ex.err c.log
  fi
else
  bad "the example did not start (the other RSA key)" ex.out ex.err
fi

[ "$fails" -eq 0 ] || { echo "keyop_pkcs11: $fails failed"; exit 1; }
echo "keyop_pkcs11: all passed"
