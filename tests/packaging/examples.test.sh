#!/usr/bin/env bash
# examples.test.sh -- run the programs of examples/ (built by CMake into $MTLS_BUILD_DIR/examples)
# against the project's own servers on 127.0.0.1, with a PKI made here by the openssl command:
#   https_get      against `mtls server --http`            (and refused with the wrong CA)
#   resume_client  against `mtls server` (echo)             (COUNT-1 resumptions)
#   echo_server    with `mtls client` and resume_client, client certificate required
#                  (and a client without a certificate refused)
# Every wait is bounded; servers are killed on exit.
set -euo pipefail
. "$(dirname "$0")/common.sh"

EX=$MTLS_BUILD_DIR/examples
for prog in https_get echo_server resume_client; do
    if [ ! -x "$EX/$prog" ]; then
        skip "$EX/$prog is missing (configure with -DMTLS_BUILD_EXAMPLES=ON)"
    fi
done
[ -x "$MTLS_TOOL" ] || skip "$MTLS_TOOL is missing (configure with -DMTLS_BUILD_TOOLS=ON)"
P=$WORK/pki
check pki make_pki "$P"

# 1. https_get against the tool's HTTP server.
start_server http-server "$MTLS_TOOL" server --listen 127.0.0.1:0 --cert "$P/server.pem" \
    --key "$P/server.key" --http --timeout 10
check https_get timeout 20 "$EX/https_get" localhost "$PORT" /hello "$P/ca.pem"
expect_output https_get '^HTTP/1\.1 200'
expect_output https_get 'request +GET /hello HTTP/1\.1'
check https_get-ip timeout 20 "$EX/https_get" 127.0.0.1 "$PORT" / "$P/ca.pem"
if timeout 20 "$EX/https_get" localhost "$PORT" / "$P/other-ca.pem" >"$WORK/wrong-ca.log" 2>&1; then
    fail "https_get trusts a server its CA did not sign"
else
    pass "https_get refuses a server certificate from another CA"
fi
expect_output wrong-ca 'handshake: .*(CA|issuer|trust)'

# 2. resume_client against the tool's echo server (session cache and tickets on by default).
start_server echo-tool "$MTLS_TOOL" server --listen 127.0.0.1:0 --cert "$P/server.pem" \
    --key "$P/server.key" --timeout 10
check resume-tool timeout 30 "$EX/resume_client" localhost "$PORT" 4 "$P/ca.pem"
expect_output resume-tool '^4 connections, 3 resumed, 0 failed$'

# 3. echo_server (mutual TLS required) with the tool's client, then resume_client.
#    MAX_CONNS 5: the tool client, the client without a certificate, resume_client's three.
start_server echo-example "$EX/echo_server" "$P/server.pem" "$P/server.key" "$P/ca.pem" 0 5
ECHO_PID=${PIDS[-1]}
printf 'hello, mutual TLS\n' >"$WORK/msg"
check tool-client timeout 20 "$MTLS_TOOL" client "127.0.0.1:$PORT" --servername localhost \
    --ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --timeout 10 <"$WORK/msg"
expect_output tool-client '^hello, mutual TLS$'
if timeout 20 "$MTLS_TOOL" client "127.0.0.1:$PORT" --servername localhost --ca "$P/ca.pem" \
    --timeout 10 <"$WORK/msg" >"$WORK/no-cert.log" 2>&1; then
    fail "echo_server accepted a client without a certificate"
else
    pass "echo_server refuses a client without a certificate"
fi
check resume-example timeout 30 "$EX/resume_client" localhost "$PORT" 3 "$P/ca.pem" \
    "$P/client.pem" "$P/client.key"
expect_output resume-example '^3 connections, 2 resumed, 0 failed$'
rc=0
wait_exit "$ECHO_PID" 10 || rc=$?
if [ "$rc" -eq 0 ]; then
    pass "echo_server exits 0 after MAX_CONNS connections"
else
    fail "echo_server exit status $rc after MAX_CONNS connections"
fi
expect_output echo-example 'client "CN=example client" connected'
expect_output echo-example 'connection failed: .*certificate'

summary
