#!/usr/bin/env bash
# demo.test.sh -- `mtls demo`, the README's main command, shows what it claims.
#
#   - by default a TLS 1.3 mutual handshake, then the seed's TLS 1.2 one, then a resumption: the
#     trace names every message of the TLS 1.3 handshake, on both sides, in order, each with how
#     its record crossed the wire (clear, or under which side's handshake or application traffic
#     secret); in TLS 1.2 the client's certificate goes in clear, its Finished under its write key;
#   - the summary's round trips and client-certificate line for each version, and the difference;
#   - those claims come from each connection's events, not from the version: --hello-retry makes
#     the same TLS 1.3 handshake take two round trips, and the summary says so; --tls1.2 and
#     --tls1.3 show one version, and the summary only that one.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -x "$MTLS_TOOL" ] || skip "$MTLS_TOOL is missing (configure with -DMTLS_BUILD_TOOLS=ON)"
command -v openssl >/dev/null 2>&1 || skip "the demo needs the openssl command"

# demo NAME ARGS...: run `mtls demo ARGS` (stdout and stderr in $WORK/NAME.log, in order: the
# demo flushes its steps before each connection, the trace is written line by line).
demo() {
    local name=$1
    shift
    check "$name" timeout 120 env TMPDIR="$WORK" "$MTLS_TOOL" demo "$@"
}

# section NAME FROM TO: the lines of NAME.log from the one matching FROM to the one before TO.
section() {
    awk -v from="$2" -v to="$3" '$0 ~ to { on = 0 } $0 ~ from { on = 1 } on' "$WORK/$1.log"
}

# wire WHO: of a trace on stdin, WHO's messages and alerts in order, "DIR WHAT PROTECTION" --
# the lines whose protection column is set (checks and decisions have none).
wire() {
    sed -nE "s/^$1 +[0-9]+ ([<>]) ([A-Za-z]+) +(clear|[cs] hs traffic|[cs] ap traffic [0-9]+|[cs] write key) .*/\\1 \\2 \\3/p"
}

# same NAME EXPECTED-FILE GOT-FILE
same() {
    if diff -u "$2" "$3" >"$WORK/$1.diff"; then
        pass "$1"
    else
        fail "$1:"
        sed 's/^/    /' "$WORK/$1.diff"
    fi
}

# ---- the default: TLS 1.3, then TLS 1.2, then a resumption ------------------------------------
demo default
expect_output default '^\[3/7\] TLS 1\.3 mutual handshake'
expect_output default '^\[5/7\] TLS 1\.2 mutual handshake: the client offers TLS 1\.2 alone'
expect_output default '^\[7/7\] reconnecting with the TLS 1\.2 session'

# RFC 8446 2: the hellos and the compatibility ChangeCipherSpecs (D.4) in clear, the rest of the
# handshake under the sender's handshake traffic secret -- the client's certificate included --
# the tickets and the close under the application traffic secrets 0.
section default '^\[3/7\]' '^\[4/7\]' >"$WORK/tls13.trace"
cat >"$WORK/tls13.client.want" <<'EOF'
> ClientHello clear
< ServerHello clear
< ChangeCipherSpec clear
< EncryptedExtensions s hs traffic
< CertificateRequest s hs traffic
< Certificate s hs traffic
< CertificateVerify s hs traffic
< Finished s hs traffic
> ChangeCipherSpec clear
> Certificate c hs traffic
> CertificateVerify c hs traffic
> Finished c hs traffic
< NewSessionTicket s ap traffic 0
< NewSessionTicket s ap traffic 0
> Alert c ap traffic 0
< Alert s ap traffic 0
EOF
cat >"$WORK/tls13.server.want" <<'EOF'
< ClientHello clear
> ServerHello clear
> ChangeCipherSpec clear
> EncryptedExtensions s hs traffic
> CertificateRequest s hs traffic
> Certificate s hs traffic
> CertificateVerify s hs traffic
> Finished s hs traffic
< ChangeCipherSpec clear
< Certificate c hs traffic
< CertificateVerify c hs traffic
< Finished c hs traffic
> NewSessionTicket s ap traffic 0
< Alert c ap traffic 0
> Alert s ap traffic 0
EOF
wire client <"$WORK/tls13.trace" >"$WORK/tls13.client.got"
wire server <"$WORK/tls13.trace" >"$WORK/tls13.server.got"
same "TLS 1.3 trace, client: every message in order, each in clear or under its secret" \
    "$WORK/tls13.client.want" "$WORK/tls13.client.got"
same "TLS 1.3 trace, server: every message in order, each in clear or under its secret" \
    "$WORK/tls13.server.want" "$WORK/tls13.server.got"
if grep -Eq '^client +[0-9]+ \* ApplicationKeys ' "$WORK/tls13.trace" &&
    grep -Eq '^client +[0-9]+ < Finished .*the handshake is authenticated' "$WORK/tls13.trace" &&
    grep -Eq '^client +[0-9]+ < CertificateVerify .*the server holds the key of' "$WORK/tls13.trace"; then
    pass "TLS 1.3 trace says what the CertificateVerify and the Finished proved, and the master secret"
else
    fail "TLS 1.3 trace lacks the ApplicationKeys step or what CertificateVerify / Finished proved"
fi

# RFC 5246 7.3: all in clear up to the ChangeCipherSpec, the client's certificate too.
section default '^\[5/7\]' '^\[6/7\]' | wire client >"$WORK/tls12.client.got"
cat >"$WORK/tls12.client.want" <<'EOF'
> ClientHello clear
< ServerHello clear
< Certificate clear
< ServerKeyExchange clear
< CertificateRequest clear
< ServerHelloDone clear
> Certificate clear
> ClientKeyExchange clear
> CertificateVerify clear
> ChangeCipherSpec clear
> Finished c write key
< NewSessionTicket clear
< ChangeCipherSpec clear
< Finished s write key
> Alert c write key
< Alert s write key
EOF
same "TLS 1.2 trace, client: the seed's steps, in clear up to each ChangeCipherSpec" \
    "$WORK/tls12.client.want" "$WORK/tls12.client.got"
expect_output default '^client +[0-9]+ < ServerHello +clear .*its random ends with the downgrade sentinel'

section default '^summary' '^try it yourself' >"$WORK/default.summary"
cat >"$WORK/default.summary.want" <<'EOF'
  round trips       TLS 1.3: 1 before the client could send data
                    TLS 1.2: 2 before the client could send data
  client cert       TLS 1.3: crossed the wire encrypted, under the client handshake traffic secret
                    TLS 1.2: crossed the wire in the clear: anyone on the path could read who the
  difference        TLS 1.3 let the client send data 1 round trip sooner;
                    the client certificate went encrypted in TLS 1.3, in the clear in TLS 1.2
EOF
grep -E '^  (round trips|client cert|difference) |^ {20}(TLS 1\.[23]: [0-9]+ before|TLS 1\.2: crossed|the client certificate went)' \
    "$WORK/default.summary" >"$WORK/default.summary.got" || true
same "summary: 1 round trip against 2, the client certificate encrypted against in the clear" \
    "$WORK/default.summary.want" "$WORK/default.summary.got"
expect_output default '^  resumed +TLS 1\.2: yes \(ticket\), 1 round trip before the client could send data'

# ---- the claims follow the events -----------------------------------------------------------
# The same TLS 1.3 handshake after a HelloRetryRequest: two round trips, and the difference gone.
demo hello-retry --no-trace --hello-retry
expect_output hello-retry '^  round trips +TLS 1\.3: 2 before the client could send data \(one for the HelloRetryRequest\)$'
expect_output hello-retry '^  difference +TLS 1\.3 took as many round trips as TLS 1\.2 \(the HelloRetryRequest cost one\);$'
expect_output hello-retry '^  client cert +TLS 1\.3: crossed the wire encrypted'

# One version at a time: the summary tells only of that one.
demo tls12 --no-trace --tls1.2
expect_output tls12 '^  round trips +TLS 1\.2: 2 before the client could send data$'
expect_output tls12 '^  client cert +TLS 1\.2: crossed the wire in the clear'
section tls12 '^summary' '^try it yourself' >"$WORK/tls12.summary"
if grep -q 'TLS 1\.2:' "$WORK/tls12.summary" && ! grep -Eq 'TLS 1\.3|difference' "$WORK/tls12.summary"; then
    pass "with --tls1.2 the summary speaks of TLS 1.2 alone"
else
    fail "with --tls1.2 the summary does not speak of TLS 1.2 alone:"
    sed 's/^/    /' "$WORK/tls12.summary"
fi
demo tls13 --no-trace --tls1.3
expect_output tls13 '^  round trips +TLS 1\.3: 1 before the client could send data$'
expect_output tls13 '^  resumed +TLS 1\.3: yes \(ticket, a pre-shared key\), 1 round trip'
section tls13 '^summary' '^try it yourself' >"$WORK/tls13.summary"
if grep -q 'TLS 1\.3:' "$WORK/tls13.summary" && ! grep -Eq 'TLS 1\.2|difference' "$WORK/tls13.summary"; then
    pass "with --tls1.3 the summary speaks of TLS 1.3 alone"
else
    fail "with --tls1.3 the summary does not speak of TLS 1.3 alone:"
    sed 's/^/    /' "$WORK/tls13.summary"
fi

# Options that contradict each other are usage errors (exit 2) that say why.
# usage_error NAME WHY-REGEX ARGS...
usage_error() {
    local name=$1 why=$2 st=0
    shift 2
    "$MTLS_TOOL" demo "$@" >"$WORK/$name.log" 2>&1 || st=$?
    if [ "$st" = 2 ] && grep -Eq -- "$why" "$WORK/$name.log"; then
        pass "demo $* is a usage error: $why"
    else
        fail "demo $* exits $st; output:"
        sed 's/^/    /' "$WORK/$name.log"
    fi
}
usage_error both 'each show one version' --tls1.2 --tls1.3
usage_error hrr12 'about the TLS 1\.3 handshake' --tls1.2 --hello-retry

summary
