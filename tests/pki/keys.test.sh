#!/usr/bin/env bash
# keys.test.sh -- the `mtls` tool with keys where they live: an encrypted --key unlocked with
# --key-pass-file or --key-pass-env, PKCS#12 bundles with --p12, in both roles, against mtls and
# `openssl s_client` / `s_server`; and the sentences for a wrong, a missing or an unreadable
# passphrase (one line each: the tool's, without the library's repeating it).  Every connection
# runs in TLS 1.2 and in TLS 1.3 (static RSA in TLS 1.2 only), the version checked in the log.
# Keys, certificates and bundles are made at test time (tests/pki/make-pki.sh and `openssl`).
# Every process binds 127.0.0.1 and is bounded by `timeout`.
set -euo pipefail
SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=$BUILD/tools/mtls
[ -x "$MTLS" ] || { echo "keys: $MTLS not built; skipped"; exit 77; }
command -v openssl >/dev/null || { echo "keys: openssl missing; skipped"; exit 77; }
. "$SRC/tests/interop/lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-keys.XXXXXX")
PIDS=()
trap lib_cleanup EXIT
cd "$W"
sh "$SRC/tests/pki/make-pki.sh" pki >/dev/null
P=pki
PASS='correct horse battery staple'
printf '%s\n' "$PASS" > pass.txt
printf '%s\r\n' "$PASS" > pass-crlf.txt
printf 'wrong horse\n' > wrong.txt
chmod 600 pass.txt pass-crlf.txt wrong.txt
# server: the RSA "good" chain with its key as encrypted PKCS#8 (PBES2, AES-256-CBC)
openssl pkcs8 -topk8 -in $P/good.key -v2 aes-256-cbc -passout file:pass.txt -out server-enc.key
# client: the P-256 client key as legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED")
openssl ec -in $P/client-ecdsa.key -aes256 -passout file:pass.txt -out client-enc.key 2>/dev/null
grep -q 'Proc-Type: 4,ENCRYPTED' client-enc.key
# bundles: the P-256 server chain with a password, the RSA client chain without one
openssl pkcs12 -export -inkey $P/ecdsa256.key -in $P/ecdsa256.crt -passout file:pass.txt \
  -out server.p12
openssl pkcs12 -export -inkey $P/client.key -in $P/client.crt -passout pass: -out client.p12

fails=0
ok() { echo "ok    $1"; }
bad() {
  echo "FAIL  $1"
  shift
  show_log "$@"
  fails=$((fails + 1))
}

# session NAME VERSION SERVER-ARGS -- CLIENT-ARGS: a server for one connection, a client that
# speaks TLS VERSION and sends a token and reads it back; both must succeed, in that version.
session() {
  local name="TLS $2: $1" v=$2 sargs=() cargs=()
  shift 2
  while [ "$1" != -- ]; do sargs+=("$1"); shift; done
  shift
  cargs=("--tls$v" "$@")
  if ! mtls_listen "$W/s.log" 30 --once "${sargs[@]}"; then
    bad "$name: the server did not start" "$W/s.log"
    return
  fi
  local tok
  tok=$(token)
  if printf '%s\n' "$tok" | timeout 20 "$MTLS" client "127.0.0.1:$LISTEN_PORT" \
      --servername good.test --ca $P/ca.crt "${cargs[@]}" > c.out 2> c.log &&
      grep -qF "$tok" c.out && grep -q "connected to .*: TLS $v, " c.log; then
    ok "$name: $(grep -o "TLS $v, [^;]*" c.log | head -1)"
  else
    bad "$name" c.log "$W/s.log"
  fi
  wait_exit "$LISTEN_PID" 10 || true
}

# refuse NAME WANT ARGS...: `mtls server ARGS...` exits with status 2 at start-up and says WANT
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

MTLS_TEST_PASS=$PASS
export MTLS_TEST_PASS
# static RSA: TLS 1.2 only (TLS 1.3 has no RSA key exchange)
session "the encrypted server key with a CRLF passphrase file, static RSA" 1.2 \
  --cert $P/good.crt --key server-enc.key --key-pass-file pass-crlf.txt -- \
  --ciphers TLS_RSA_WITH_AES_128_GCM_SHA256
for v in 1.2 1.3; do
  session "encrypted PKCS#8 server key with --key-pass-file" $v \
    --cert $P/good.crt --key server-enc.key --key-pass-file pass.txt --
  session "--key-pass-env on both sides; client key legacy encrypted PEM, client auth required" $v \
    --cert $P/good.crt --key server-enc.key --key-pass-env MTLS_TEST_PASS --ca $P/ca.crt \
    --verify-client require -- \
    --cert $P/client-ecdsa.crt --key client-enc.key --key-pass-env MTLS_TEST_PASS
  session "--p12 server (password from a file), --p12 client (no password), client auth required" $v \
    --p12 server.p12 --key-pass-file pass.txt --ca $P/ca.crt --verify-client require -- \
    --p12 client.p12

  # openssl s_client against a --p12 server; mtls client --p12 against openssl s_server
  if mtls_listen "$W/s.log" 30 --once --p12 server.p12 --key-pass-env MTLS_TEST_PASS; then
    if printf 'hello\n' | timeout 20 openssl s_client -connect "127.0.0.1:$LISTEN_PORT" \
        "-tls1_${v#1.}" -servername good.test -verify_hostname good.test -CAfile $P/ca.crt \
        -verify_return_error > sc.out 2> sc.err && grep -q 'Verify return code: 0 (ok)' sc.out &&
        grep -Eq "^(New, TLSv$v|Protocol *: TLSv$v)" sc.out; then
      ok "TLS $v: openssl s_client verifies the chain of a --p12 server"
    else
      bad "TLS $v: openssl s_client against a --p12 server" sc.out sc.err "$W/s.log"
    fi
    wait_exit "$LISTEN_PID" 10 || true
  else
    bad "TLS $v: --p12 server for openssl s_client did not start" "$W/s.log"
  fi
  # a free port can be taken by another test before s_server binds it: try another (3 at most)
  for _ in 1 2 3; do
    port=$(free_port)
    timeout 30 openssl s_server -accept "127.0.0.1:$port" "-tls1_${v#1.}" -cert $P/good.crt \
      -cert_chain $P/int.crt -key $P/good.key \
      -CAfile $P/ca.crt -Verify 2 -verify_return_error -naccept 1 -rev > ss.out 2> ss.err &
    PIDS+=($!)
    sspid=$!
    wait_for ss.out 'ACCEPT' 10 && break
    kill "$sspid" 2>/dev/null || true
  done
  if printf 'abcdef\n' | timeout 20 "$MTLS" client "127.0.0.1:$port" --servername good.test \
      --ca $P/ca.crt --p12 client.p12 > c.out 2> c.log && grep -q 'fedcba' c.out &&
      grep -q "connected to .*: TLS $v, .*our certificate sent" c.log; then
    ok "TLS $v: mtls client --p12 against openssl s_server requiring a client certificate: $(grep -o 'CertificateVerify .*' c.log | head -1)"
  else
    bad "TLS $v: mtls client --p12 against openssl s_server" c.log ss.out ss.err
  fi
  wait_exit "$sspid" 5 || true
done

refuse "wrong passphrase" "wrong passphrase for server-enc.key (or a corrupt key)" \
  --cert $P/good.crt --key server-enc.key --key-pass-file wrong.txt
refuse "no passphrase" "server-enc.key is encrypted and no passphrase was given" \
  --cert $P/good.crt --key server-enc.key
refuse "no passphrase: the hint" "--key-pass-file FILE or --key-pass-env NAME" \
  --cert $P/good.crt --key server-enc.key
refuse "unset variable" "the environment variable MTLS_TEST_UNSET is not set" \
  --cert $P/good.crt --key server-enc.key --key-pass-env MTLS_TEST_UNSET
# one_line NAME WANT: the refusal just made is one line (the tool's, not the tool's then the
# library's repeating it in API words), and WANT is in it
one_line() {
  if [ "$(wc -l < err.txt)" -eq 1 ] && grep -qF -- "$2" err.txt; then
    ok "$1: one line"
  else
    echo "      (wanted one line with \"$2\")"
    bad "$1: one line" err.txt
  fi
}
one_line "unset variable" "and server-enc.key needs a passphrase: set MTLS_TEST_UNSET where mtls is started, or give --key-pass-file FILE"
head -c 1100 /dev/zero | tr '\0' x > long.txt
echo >> long.txt
refuse "an overlong passphrase line" "--key-pass-file 'long.txt': the first line is longer than 1024 bytes" \
  --cert $P/good.crt --key server-enc.key --key-pass-file long.txt
one_line "an overlong passphrase line" "(wanted for server-enc.key)"
refuse "unreadable passphrase file" "cannot read --key-pass-file 'nonexistent.txt'" \
  --cert $P/good.crt --key server-enc.key --key-pass-file nonexistent.txt
one_line "unreadable passphrase file" "(wanted for server-enc.key)"
refuse "wrong bundle password" "wrong passphrase for server.p12 (or a corrupt key)" \
  --p12 server.p12 --key-pass-file wrong.txt
refuse "bundle without a password source" "server.p12 is encrypted and no passphrase was given" \
  --p12 server.p12
refuse "--p12 with --cert" "give it instead of --cert and --key" \
  --p12 server.p12 --cert $P/good.crt --key $P/good.key
refuse "both passphrase sources" "give one of them" \
  --cert $P/good.crt --key server-enc.key --key-pass-file pass.txt --key-pass-env MTLS_TEST_PASS
refuse "a PKCS#12 file as --cert: the hint names --p12" "load it as one, with --p12 server.p12" \
  --cert server.p12 --key server.p12

# The passphrase never shows in the process list: no option takes it.
if "$MTLS" server --help | grep -qE -- '--(key-)?pass(word|phrase)?[ =]'; then
  bad "the help offers a passphrase option"
else
  ok "no option takes the passphrase itself"
fi

[ "$fails" -eq 0 ] || { echo "keys: $fails failed"; exit 1; }
echo "keys: all passed"
