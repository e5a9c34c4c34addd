#!/bin/sh
# make-spiffe-pki.sh OUTDIR -- a SPIFFE test PKI (X.509-SVIDs under URI-constrained CAs), made
# fresh at test time with the `openssl` command (3.0 or later).  Every key is P-256; every leaf
# has keyUsage critical digitalSignature, EKU serverAuth+clientAuth and a critical SAN, unless
# noted.
#
# Trust anchors (each a self-signed CA; <anchor>.crt, <anchor>.key):
#   email-nc-ca (not an anchor of any case) critical permitted;email:example.org: a constraint
#               form mtls does not enforce, so the certificate is refused (CERT_UNSUPPORTED)
#   td-ca       "mtls SPIFFE CA example.org": critical nameConstraints permitted;URI:example.org
#               (RFC 5280 4.2.1.10: the host of URI names), SAN URI:spiffe://example.org.  It
#               signs int.crt ("mtls SPIFFE Intermediate", SAN URI:spiffe://example.org), which
#               issues the td-ca leaves: their chain is leaf + int.
#   plain-ca    no name constraints
#   literal-ca  critical permitted;URI:spiffe://example.org -- what `openssl x509` writes for
#               that line: the IA5String "spiffe://example.org", which is no host name
#   dom-ca      critical permitted;URI:.example.org, excluded;URI:bad.example.org
#   exlit-ca    critical excluded;URI:spiffe://evil.org (no host name, excluded)
#
# <case>.crt is the chain a peer presents (leaf first), <case>.key its key, <case>.leaf.crt the
# leaf (info.crt and info-neg.crt, RSA leaves of plain-ca with every SAN form, are for the
# certificate-details getters and not cases).  spiffe-cases.txt has one line per case:
#   <case> <anchor> <chain verdict> <SPIFFE verdict> <Go verdict> <OpenSSL verdict>
# chain verdict: mtls's x509 verification without a SPIFFE policy (no host name; both roles);
# SPIFFE verdict: the same with the trust domain example.org accepted (mtls error names without
# MTLS_ERR_, or OK); Go verdict: what Go's crypto/x509 Certificate.Verify says (OK or FAIL) with
# the same anchor, intermediates and time, ExtKeyUsageAny; OpenSSL verdict: what `openssl verify
# -CAfile <anchor>.crt -untrusted <case>.crt <case>.leaf.crt` says.  The last two are the chain
# verdict (OK, or FAIL for any error) except where they differ from mtls by design
# (docs/x509.md, "URI name constraints"): for Go sub-td, dom-under-bad and exlit, for OpenSSL
# userinfo and exlit.
set -eu
OUT=${1:?usage: make-spiffe-pki.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
OSSL=${OPENSSL:-openssl}
serial=$((0x5F1FE000))

key() { $OSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME SUBJECT EXTENSIONS: a self-signed anchor
ca() {
    key "$1.key"
    printf '[req]\ndistinguished_name=dn\n[dn]\n[x]\nbasicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n%s\n' "$3" >req.cnf
    $OSSL req -x509 -new -key "$1.key" -subj "$2" -days 30 -sha256 -config req.cnf -extensions x \
        -out "$1.crt" 2>/dev/null
    rm -f req.cnf
}

# sign NAME SUBJECT ISSUER EXTENSIONS: NAME.leaf.crt for NAME.key, signed by ISSUER
sign() {
    serial=$((serial + 1))
    printf '[x]\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n%s\n' "$4" >ext.cnf
    $OSSL req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
    $OSSL x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -set_serial $serial -days 20 \
        -sha256 -extfile ext.cnf -extensions x -out "$1.leaf.crt" 2>/dev/null
    rm -f "$1.csr" ext.cnf
}

ca td-ca "/CN=mtls SPIFFE CA example.org" "nameConstraints=critical,permitted;URI:example.org
subjectAltName=URI:spiffe://example.org"
ca plain-ca "/CN=mtls SPIFFE Plain CA" ""
ca literal-ca "/CN=mtls SPIFFE Literal CA" "nameConstraints=critical,permitted;URI:spiffe://example.org"
ca dom-ca "/CN=mtls SPIFFE Domain CA" \
    "nameConstraints=critical,permitted;URI:.example.org,excluded;URI:bad.example.org"
ca exlit-ca "/CN=mtls SPIFFE Excluding CA" "nameConstraints=critical,excluded;URI:spiffe://evil.org"
ca email-nc-ca "/CN=mtls SPIFFE Email CA" "nameConstraints=critical,permitted;email:example.org"
key int.key
sign int "/CN=mtls SPIFFE Intermediate" td-ca "basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectAltName=URI:spiffe://example.org"
mv int.leaf.crt int.crt

LEAF_BC="basicConstraints=critical,CA:FALSE"
LEAF_KU="keyUsage=critical,digitalSignature"
# leaf CASE ISSUER SAN [BASIC-CONSTRAINTS] [KEY-USAGE] [SUBJECT]: a leaf; its chain is the leaf,
# then int.crt when ISSUER is int.
leaf() {
    key "$1.key"
    sign "$1" "${6:-/CN=$1}" "$2" "${4:-$LEAF_BC}
${5:-$LEAF_KU}
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=critical,$3"
    if [ "$2" = int ]; then cat "$1.leaf.crt" int.crt >"$1.crt"; else cp "$1.leaf.crt" "$1.crt"; fi
}

# Under td-ca (through int).  OpenSSL config files need '#' escaped.
leaf web int "URI:spiffe://example.org/ns/prod/sa/web" "" "" "/"
leaf api-dns int "URI:spiffe://example.org/ns/prod/sa/api,DNS:api.example.org"
leaf two-uri int "URI:spiffe://example.org/a,URI:spiffe://example.org/b"
leaf query int "URI:spiffe://example.org/web?x=1"
leaf fragment int 'URI:spiffe://example.org/web\#f'
leaf upper-td int "URI:spiffe://EXAMPLE.ORG/web"
leaf port int "URI:spiffe://example.org:8443/web"
leaf userinfo int "URI:spiffe://user@example.org/web"
leaf no-path int "URI:spiffe://example.org"
leaf empty-seg int "URI:spiffe://example.org/a//b"
leaf dot-seg int "URI:spiffe://example.org/a/../b"
leaf trailing-slash int "URI:spiffe://example.org/a/"
leaf percent int "URI:spiffe://example.org/a%41b"
leaf bad-char int "URI:spiffe://example.org/a~b"
leaf https int "URI:https://example.org/web"
leaf no-uri int "DNS:web.example.org"
leaf ca-leaf int "URI:spiffe://example.org/web" "basicConstraints=critical,CA:TRUE" \
    "keyUsage=critical,digitalSignature,keyCertSign"
leaf crlsign int "URI:spiffe://example.org/web" "" "keyUsage=critical,digitalSignature,cRLSign"
leaf other-td int "URI:spiffe://other.org/web"
leaf sub-td int "URI:spiffe://prod.example.org/web"
leaf urn int "URI:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"
leaf ip-host int "URI:spiffe://192.0.2.1/web"
# Under the other anchors (issued directly: the chain is the leaf).
leaf plain-other plain-ca "URI:spiffe://other.org/web"
leaf literal literal-ca "URI:spiffe://example.org/web"
leaf dom-sub dom-ca "URI:spiffe://prod.example.org/web"
leaf dom-apex dom-ca "URI:spiffe://example.org/web"
leaf dom-bad dom-ca "URI:spiffe://bad.example.org/web"
leaf dom-under-bad dom-ca "URI:spiffe://x.bad.example.org/web"
leaf exlit exlit-ca "URI:spiffe://example.org/web"

# For the certificate-details getters (mtls_cert_info), compared with `openssl x509`: an RSA leaf
# with every SAN form and a 20-octet serial whose top bit is set (encoded with a leading 00), and
# one with a negative serial (RFC 5280 4.1.2.2 asks users to cope).
$OSSL genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out info.key 2>/dev/null
printf '[x]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:info.example.org,IP:192.0.2.7,IP:2001:db8::1,email:ops@example.org,URI:spiffe://example.org/info\n' >ext.cnf
$OSSL req -new -key info.key -subj "/C=DE/O=mtls Test/CN=info.example.org" -out info.csr 2>/dev/null
$OSSL x509 -req -in info.csr -CA plain-ca.crt -CAkey plain-ca.key \
    -set_serial 0x8A0102030405060708090A0B0C0D0E0F10111213 -days 20 -sha384 -extfile ext.cnf \
    -extensions x -out info.leaf.crt 2>/dev/null
$OSSL x509 -req -in info.csr -CA plain-ca.crt -CAkey plain-ca.key -set_serial -0x1234 -days 3 \
    -sha256 -extfile ext.cnf -extensions x -out info-neg.leaf.crt 2>/dev/null
cp info.leaf.crt info.crt
cp info-neg.leaf.crt info-neg.crt
cp info.key info-neg.key
rm -f info.csr ext.cnf

cat >spiffe-cases.txt <<TXT
web td-ca OK OK OK OK
api-dns td-ca OK OK OK OK
two-uri td-ca OK CERT_SPIFFE_ID OK OK
query td-ca OK CERT_SPIFFE_ID OK OK
fragment td-ca OK CERT_SPIFFE_ID OK OK
upper-td td-ca OK CERT_SPIFFE_ID OK OK
port td-ca OK CERT_SPIFFE_ID OK OK
userinfo td-ca OK CERT_SPIFFE_ID OK FAIL
no-path td-ca OK CERT_SPIFFE_ID OK OK
empty-seg td-ca OK CERT_SPIFFE_ID OK OK
dot-seg td-ca OK CERT_SPIFFE_ID OK OK
trailing-slash td-ca OK CERT_SPIFFE_ID OK OK
percent td-ca OK CERT_SPIFFE_ID OK OK
bad-char td-ca OK CERT_SPIFFE_ID OK OK
https td-ca OK CERT_SPIFFE_ID OK OK
no-uri td-ca OK CERT_SPIFFE_ID OK OK
ca-leaf td-ca OK CERT_SPIFFE_ID OK OK
crlsign td-ca OK CERT_SPIFFE_ID OK OK
other-td td-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS FAIL FAIL
sub-td td-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS OK FAIL
urn td-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS FAIL FAIL
ip-host td-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS FAIL FAIL
plain-other plain-ca OK CERT_SPIFFE_DENIED OK OK
literal literal-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS FAIL FAIL
dom-sub dom-ca OK CERT_SPIFFE_DENIED OK OK
dom-apex dom-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS FAIL FAIL
dom-bad dom-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS FAIL FAIL
dom-under-bad dom-ca OK CERT_SPIFFE_DENIED FAIL OK
exlit exlit-ca CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS OK OK
TXT
