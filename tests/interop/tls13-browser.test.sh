#!/usr/bin/env bash
# tls13-browser.test.sh -- the TLS 1.3 interop matrix against a real browser: headless Chromium
# (BoringSSL) -> `mtls server --http` on loopback, the server requiring a client certificate in
# every cell, with TLS 1.3 pinned (mtls server --tls1.3; Chromium has no switch to pin a version)
# and by default negotiation (no version option; TLS 1.3 must come out):
#
#   full       Chromium loads https://good.test:PORT/TOKEN and presents the P-256 client
#              certificate of an NSS database in a HOME of its own, chosen by the
#              AutoSelectCertificateForUrls policy (written, as root, to
#              /etc/chromium/policies/managed/mtls-tls13-PID.json, removed by the trap); the page
#              the server made must show TLS 1.3, a TLS 1.3 suite, the request with the token and
#              the client certificate, and the server's log the same
#   hrr        the same against mtls server --groups secp256r1: Chromium's first ClientHello has
#              X25519 (and X25519MLKEM768) shares only, so mtls sends HelloRetryRequest
#   resume     a local page makes two requests to the server 3 s apart (synchronous
#              XMLHttpRequest, --disable-web-security); the server's idle timeout (1 s) has
#              closed the first connection by then, so the second is a new one: Chromium offers
#              its ticket, mtls resumes (psk_dhe_ke) and the second page says "resumed"; a
#              resumed handshake completes only when the client's Finished verifies under the
#              resumption secret, so the peer resumed too (Chromium reports nothing itself)
#   keyupdate  n/a: Chromium has no way to send KeyUpdate
#
# Chromium trusts the server through --ignore-certificate-errors-spki-list (the server key's
# SPKI hash) and reaches good.test through --host-resolver-rules; every run is bounded with
# `timeout`, gets a fresh --user-data-dir, and the trap kills what is left of it.  Without
# chromium, certutil/pk12util, or root (for the policy), the cells are "skip".
#
# Environment: MTLS_BUILD_DIR, MTLS_SRC_DIR; optionally MTLS_BIN, CHROMIUM (default chromium),
# KEEP=1, VERBOSE=1.
set -u

SRC=${MTLS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tls13lib.sh"
TAIL=${TAIL:-12}
SHOW_LOG_SKIP='dbus|unexpected operator' # Chromium's noise in a container
BUILD=${MTLS_BUILD_DIR:-$SRC/build}
MTLS=${MTLS_BIN:-$BUILD/tools/mtls}
CHROMIUM=${CHROMIUM:-chromium}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-tls13-browser.XXXXXX")
PIDS=()
HOST=good.test
VERSIONS=(1.3 default)
POLICY=
MADE_DIRS=()

cleanup() {
    local p d
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    # Chromium helpers of ours (their command line names our work directory), by process id
    for p in $(pgrep -f -- "--user-data-dir=$W/" 2>/dev/null); do kill "$p" 2>/dev/null; done
    [ -n "$POLICY" ] && rm -f "$POLICY"
    for ((d = ${#MADE_DIRS[@]} - 1; d >= 0; d--)); do rmdir "${MADE_DIRS[$d]}" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip_all() {
    local ver cs
    for ver in "${VERSIONS[@]}"; do
        for cs in full hrr resume; do cell chromium mtls-server "$ver" "$cs" skip "$1"; done
    done
    t13_summary
}

if [ ! -x "$MTLS" ]; then
    echo "tls13-browser: $MTLS is not built; build first (cmake --build build)"
    exit 1
fi
MTLS=$(cd "$(dirname "$MTLS")" && pwd)/$(basename "$MTLS")
# without openssl there is no test PKI, and no cell can run
command -v openssl > /dev/null || { echo "tls13-browser: the openssl command makes the test PKI: nothing can run (apt-get install openssl)"; exit 77; }
command -v "$CHROMIUM" > /dev/null || skip_all "$CHROMIUM missing (apt-get install chromium)"
{ command -v certutil && command -v pk12util; } > /dev/null ||
    skip_all "certutil/pk12util missing (apt-get install libnss3-tools)"
[ "$(id -u)" = 0 ] ||
    skip_all "not root: cannot write the AutoSelectCertificateForUrls policy (the client certificate)"
peer_info chromium "$("$CHROMIUM" --version 2> /dev/null | head -n1) (headless)"
t13_pki || { show_log "$W/pki.log"; echo "tls13-browser: tests/pki/make-pki.sh failed"; exit 1; }
cd "$W" || exit 1
for ver in "${VERSIONS[@]}"; do cell chromium mtls-server "$ver" keyupdate n/a "Chromium has no way to send KeyUpdate"; done

# The client certificate in an NSS database in a HOME of our own (Chromium on Linux reads
# $HOME/.pki/nssdb for client certificates).
BHOME=$W/home
mkdir -p "$BHOME/.pki/nssdb"
if ! { openssl pkcs12 -export -in "$PKI/client-ecdsa.crt" -inkey "$PKI/client-ecdsa.key" \
    -name mtls-client -out client.p12 -passout pass:mtls &&
    certutil -N -d "sql:$BHOME/.pki/nssdb" --empty-password &&
    pk12util -i client.p12 -d "sql:$BHOME/.pki/nssdb" -W mtls; } > "$W/nss.log" 2>&1; then
    show_log "$W/nss.log"
    echo "tls13-browser: cannot make the NSS database with the client certificate"
    exit 1
fi
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64; }

POLICY_DIR=/etc/chromium/policies/managed
policy_on() { # PORT
    local d
    for d in /etc/chromium /etc/chromium/policies "$POLICY_DIR"; do
        if [ ! -d "$d" ]; then
            mkdir "$d" && MADE_DIRS+=("$d")
        fi
    done
    POLICY=$POLICY_DIR/mtls-tls13-$$.json
    printf '{ "AutoSelectCertificateForUrls": [ "{\\"pattern\\": \\"https://%s:%s\\", \\"filter\\": {}}" ] }\n' \
        "$HOST" "$1" > "$POLICY"
}
policy_off() { rm -f "$POLICY"; POLICY=; }

RUN=0
# browse NAME URL [CHROMIUM ARGS...]: the page in $W/NAME.dom, Chromium's stderr in NAME.chromium.log
browse() {
    local name=$1 url=$2 st=0
    shift 2
    RUN=$((RUN + 1))
    local udd=$W/udd-$RUN
    mkdir -p "$udd"
    HOME=$BHOME XDG_CONFIG_HOME=$BHOME/.config XDG_CACHE_HOME=$BHOME/.cache \
        timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --user-data-dir="$udd" "$@" "$url" \
        > "$W/$name.dom" 2> "$W/$name.chromium.log" < /dev/null || st=$?
    for p in $(pgrep -f -- "--user-data-dir=$udd" 2>/dev/null); do kill "$p" 2>/dev/null; done
    return "$st"
}

# judge_page DOM TOKEN: why the page the server made for the request does not show the cell
judge_page() {
    local dom=$1 tok=$2
    grep -q 'mtls server: hello over TLS!' "$dom" ||
        { echo "the page did not load: $(grep -o '<title>[^<]*' "$dom" | head -n1)"; return; }
    grep -Eq "^request +GET /$tok HTTP/1\.1" "$dom" || { echo "page: $(grep -m1 '^request' "$dom" || echo 'no request line')"; return; }
    grep -Eq '^TLS version +TLS 1\.3$' "$dom" || { echo "page: $(grep -m1 'TLS version' "$dom" || echo 'no TLS version')"; return; }
    grep -Eq '^cipher suite +TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$' "$dom" ||
        { echo "page: $(grep -m1 'cipher suite' "$dom" || echo 'no suite')"; return; }
    grep -Eq '^client certificate +CN=client-ecdsa\.test \(issuer CN=mtls Test Intermediate, verified' "$dom" ||
        { echo "page: $(grep -m1 'client certificate' "$dom" || echo 'no client certificate line')"; return; }
    return 0
}

# judge_log LOG CASE: why mtls server's log does not show the cell
judge_log() {
    local log=$1 cs=$2 n
    grep -Eq '^mtls: #[0-9]+ [0-9.]+:[0-9]+: TLS 1\.3, TLS_[A-Z0-9_]+, .*; client certificate: CN=client-ecdsa\.test$' "$log" ||
        { echo "mtls server logged no TLS 1.3 connection with the client certificate: $(grep -m1 '^mtls: #' "$log" | cut -c1-200)"; return; }
    case $cs in
    hrr)
        grep -Eq '^#[0-9]+ +[0-9]+ > HelloRetryRequest ' "$log" || { echo "mtls server sent no HelloRetryRequest"; return; }
        ;;
    resume)
        n=$(sed -n 's/^mtls: #\([0-9]*\) .*TLS 1\.3, .*resumed session.*client certificate: CN=client-ecdsa\.test$/\1/p' "$log" | head -n1)
        [ -n "$n" ] || { echo "mtls server logged no resumed TLS 1.3 connection keeping the client's identity"; return; }
        grep -Eq "^#$n +[0-9]+ > ServerHello .*key share [a-z0-9]+, accepts the client's ticket" "$log" ||
            { echo "mtls server #$n: no ServerHello with a key share accepting the ticket (psk_dhe_ke)"; return; }
        ;;
    esac
    return 0
}

browser_cell() { # VERSION CASE
    local ver=$1 cs=$2 pre=$W/$1-$2 c why="" detail=""
    c=$(t13_server_cert "$cs")
    local args=(--http --trace --cert "$PKI/$c.crt" --key "$PKI/$c.key" --ca "$CA" --verify-client require)
    [ "$ver" = 1.3 ] && args+=(--tls1.3)
    [ "$cs" = hrr ] && args+=(--groups secp256r1)
    # resume: a short idle timeout closes the first connection before the second request
    if [ "$cs" = resume ]; then args+=(--timeout 1); else args+=(--timeout 20); fi
    if ! mtls_listen "$pre.log" 120 "${args[@]}"; then
        cell chromium mtls-server "$ver" "$cs" FAIL "mtls server did not start"
        show_log "$pre.log"
        return
    fi
    local spid=$LISTEN_PID port=$LISTEN_PORT st=0 t1 t2
    t1=$(token) t2=$(token)
    local bargs=(--ignore-certificate-errors-spki-list="$(spki "$PKI/$c.crt")"
        --host-resolver-rules="MAP $HOST 127.0.0.1" --dump-dom)
    policy_on "$port"
    if [ "$cs" = resume ]; then
        cat > "$pre.html" << EOF
<!doctype html><html><body><pre id=out></pre><script>
function get(path) {
  var x = new XMLHttpRequest();
  try { x.open('GET', 'https://$HOST:$port/' + path, false); x.send(); return x.responseText; }
  catch (e) { return 'request failed: ' + e; }
}
var a = get('$t1');
for (var t = Date.now(); Date.now() - t < 3000;) {}
var b = get('$t2');
document.getElementById('out').textContent = a + '\n=====\n' + b;
</script></body></html>
EOF
        browse "$ver-$cs" "file://$pre.html" "${bargs[@]}" --disable-web-security || st=$?
    else
        browse "$ver-$cs" "https://$HOST:$port/$t1" "${bargs[@]}" || st=$?
    fi
    policy_off
    sleep 0.3 # the server's lines for Chromium's last connections
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    local dom=$W/$ver-$cs.dom
    if [ "$st" != 0 ]; then
        why="chromium exited with status $st"
    elif [ "$cs" = resume ]; then
        sed -n '1,/^=====$/p' "$dom" > "$pre.page1"
        sed -n '/^=====$/,$p' "$dom" > "$pre.page2"
        why=$(judge_page "$pre.page1" "$t1")
        [ -n "$why" ] && why="first request: $why"
        if [ -z "$why" ]; then
            why=$(judge_page "$pre.page2" "$t2")
            [ -n "$why" ] && why="second request: $why"
        fi
        [ -z "$why" ] && ! grep -Eq '^session +resumed \(abbreviated handshake\)$' "$pre.page2" &&
            why="second request: page: $(grep -m1 '^session' "$pre.page2" || echo 'no session line')"
        # psk_dhe_ke: the resumed session has a key exchange of its own
        [ -z "$why" ] && ! grep -Eq '^key exchange +[a-z0-9]+ \(resumed session, psk_dhe_ke\)$' "$pre.page2" &&
            why="second request: page: $(grep -m1 '^key exchange' "$pre.page2" || echo 'no key exchange line')"
    else
        why=$(judge_page "$dom" "$t1")
    fi
    [ -z "$why" ] && why=$(judge_log "$pre.log" "$cs")
    if [ -z "$why" ]; then
        case $cs in
        resume) detail="chromium: second request on a new connection, resumed (page and log)" ;;
        *) detail="chromium: $(grep -m1 '^cipher suite' "$dom" | awk '{print $3}'), $(grep -m1 '^key exchange' "$dom" | awk '{print $3}')" ;;
        esac
        cell chromium mtls-server "$ver" "$cs" pass "$detail"
        [ "${VERBOSE:-0}" = 1 ] && show_log "$pre.log" "$dom"
    else
        cell chromium mtls-server "$ver" "$cs" FAIL "$why"
        TAIL=30 show_log "$dom" "$pre.log" "$W/$ver-$cs.chromium.log"
    fi
}

for ver in "${VERSIONS[@]}"; do
    for cs in full hrr resume; do browser_cell "$ver" "$cs"; done
done

t13_summary
