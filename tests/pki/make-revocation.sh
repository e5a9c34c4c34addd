#!/bin/sh
# make-revocation.sh OUTDIR -- the revocation test PKI of mtls: certificates, CRLs and OCSP
# responses made fresh at test time with `openssl ca` and `openssl ocsp` (nothing that expires is
# committed).  Needs only the `openssl` command (3.0 or later: -crl_lastupdate/-crl_nextupdate).
# Read by tests/unit/test_x509_revocation.c.
#
# CAs (each keeps an `openssl ca` database in <ca>.db/: index.txt, serial, crlnumber):
#   root.crt root.key     "CN=mtls Revocation Root", RSA-2048, keyCertSign+cRLSign: the anchor
#   int.crt int.key       "CN=mtls Revocation CA", P-256, issued by root
#   int2.crt int2.key     "CN=mtls Revoked Intermediate", RSA, issued by root, then revoked by
#                         root (cACompromise)
#   nokus.crt nokus.key   "CN=mtls No-CRLSign CA", P-256, issued by root, keyUsage keyCertSign
#                         only (its CRLs must not be used)
#   wrong.crt wrong.key   a self-signed "CN=mtls Revocation CA" with another key (same issuer
#                         name as int: its CRL is "int's CRL signed by the wrong key")
# Leaves (<name>.crt is the chain leaf + issuer, <name>.leaf.crt the leaf alone, <name>.key):
#   good        issued by int, P-256, cRLDistributionPoints URI:http://crl.test/int.crl
#   goodrsa     issued by int, RSA, same extensions (for RSA suites: tlsfuzzer, static RSA)
#   revoked     issued by int, RSA, revoked keyCompromise (with invalidityDate), same CRLDP
#   hold        issued by int, P-256, revoked certificateHold (holdInstructionReject), same CRLDP
#   nodp        issued by int, P-256, no cRLDistributionPoints
#   muststaple  issued by int, P-256, TLS feature status_request (RFC 7633 must-staple)
#   unknown     issued by int with `openssl x509 -req` (not in int's database: OCSP "unknown")
#   chainrev    issued by int2 (leaf <- revoked intermediate <- root)
#   nocrlsign   issued by nokus
#   responder   issued by int, EKU OCSPSigning: int's delegated OCSP responder
#   noeku       issued by int, no EKU: not a responder
#   otherca     issued by root, EKU OCSPSigning: a responder, but not one int delegated
# CRLs (PEM; *.der the same in DER):
#   int.crl           int's CRL: revoked, hold; authorityKeyIdentifier and cRLNumber; 7 days
#   int-old.crl       an older int CRL (before the revocations), still current
#   int-expired.crl   int's CRL with thisUpdate 2020-01-01, nextUpdate 2020-02-01
#   int-future.crl    int's CRL with thisUpdate 2099-01-01
#   int-wrongkey.crl  int's entries signed by wrong.key (no authorityKeyIdentifier)
#   int-idp.crl       int's CRL with a critical issuingDistributionPoint: fullName
#                     URI:http://crl.test/int.crl, onlyContainsUserCerts
#   int-critext.crl   int's CRL with an unknown critical extension (must be refused)
#   int-delta.crl     int's CRL with deltaCRLIndicator (refused: no delta CRLs)
#   root.crl          root's CRL: int2 revoked
#   int2.crl nokus.crl  the (empty) CRLs of int2 and nokus
#   all.crl           int.crl + root.crl + int2.crl in one PEM file
#   crldir/           int.crl root.crl int2.crl and their `openssl rehash` links <hash>.r0
# OCSP responses (DER, `openssl ocsp -index`, 1 day unless noted):
#   ocsp-good.der        good, signed by int itself, SHA-1 CertID, with a nonce
#   ocsp-revoked.der     revoked (keyCompromise), signed by int
#   ocsp-hold.der        hold (certificateHold), signed by int
#   ocsp-unknown.der     unknown, signed by int
#   ocsp-delegated.der   good, signed by responder (included), responderID byKey, SHA-256 CertID
#   ocsp-noeku.der       good, signed by noeku (included): unauthorized
#   ocsp-otherca.der     good, signed by otherca (included): unauthorized
#   ocsp-nocerts.der     good, signed by responder but without certificates: signer unknown
#   ocsp-badsig.der      good, signed by int, signature corrupted (-badsig)
#   ocsp-nonext.der      good, signed by int, no nextUpdate
#   ocsp-muststaple.der  good, for muststaple, signed by int
#   ocsp-goodrsa.der     good, for goodrsa, signed by int
set -eu
OUT=${1:?usage: make-revocation.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
OSSL=${OPENSSL:-openssl}

rsakey() { $OSSL genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
eckey() { $OSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# One configuration for every CA: the database is chosen with -name (section per CA), the
# extensions with -extensions / -crlexts.
cat > ca.cnf <<'CNF'
[ca]
default_ca = int
[pol]
commonName = supplied
[root]
database = root.db/index.txt
new_certs_dir = root.db
serial = root.db/serial
crlnumber = root.db/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = pol
unique_subject = no
[int]
database = int.db/index.txt
new_certs_dir = int.db
serial = int.db/serial
crlnumber = int.db/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = pol
unique_subject = no
[int2]
database = int2.db/index.txt
new_certs_dir = int2.db
serial = int2.db/serial
crlnumber = int2.db/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = pol
unique_subject = no
[nokus]
database = nokus.db/index.txt
new_certs_dir = nokus.db
serial = nokus.db/serial
crlnumber = nokus.db/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = pol
unique_subject = no
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[nokus_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:good.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://crl.test/int.crl
[nodp_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:good.test
authorityKeyIdentifier = keyid:always
[staple_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:good.test
authorityKeyIdentifier = keyid:always
tlsfeature = status_request
[responder_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
authorityKeyIdentifier = keyid:always
[noeku_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
authorityKeyIdentifier = keyid:always
[crl_ext]
authorityKeyIdentifier = keyid:always
[crl_idp]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[idp]
fullname = URI:http://crl.test/int.crl
onlyuser = TRUE
[crl_crit]
1.3.6.1.4.1.99999.7 = critical, ASN1:NULL
[crl_delta]
2.5.29.27 = critical, ASN1:INTEGER:1
CNF
db() { mkdir -p "$1.db"; : > "$1.db/index.txt"; echo "$2" > "$1.db/serial"; echo 01 > "$1.db/crlnumber"; }
db root 1000
db int 2000
db int2 3000
db nokus 4000

# issue CA NAME SUBJECT EXTENSIONS: NAME.key -> NAME.leaf.crt, through CA's database
issue() {
    $OSSL req -new -key "$2.key" -subj "$3" -out "$2.csr" 2>/dev/null
    $OSSL ca -batch -notext -config ca.cnf -name "$1" -cert "$1.crt" -keyfile "$1.key" \
        -extensions "$4" -in "$2.csr" -out "$2.leaf.crt" 2>/dev/null
    rm -f "$2.csr"
}
# crl CA OUT [openssl ca options...]: CA's CRL from its database
crl() {
    ca=$1 out=$2
    shift 2
    $OSSL ca -batch -config ca.cnf -name "$ca" -cert "$ca.crt" -keyfile "$ca.key" -gencrl \
        -out "$out" "$@" 2>/dev/null
    $OSSL crl -in "$out" -outform DER -out "${out%.crl}.der"
}

# The CAs.
rsakey root.key
{ printf '[req]\ndistinguished_name=dn\n[dn]\n'; sed -n '/^\[ca_ext\]/,/^$/p' ca.cnf | sed '/^authorityKeyIdentifier/d'; } > req.cnf
$OSSL req -x509 -new -key root.key -subj "/CN=mtls Revocation Root" -days 3650 -sha256 \
    -config req.cnf -extensions ca_ext -out root.crt 2>/dev/null
eckey int.key
issue root int "/CN=mtls Revocation CA" ca_ext
mv int.leaf.crt int.crt
rsakey int2.key
issue root int2 "/CN=mtls Revoked Intermediate" ca_ext
mv int2.leaf.crt int2.crt
eckey nokus.key
issue root nokus "/CN=mtls No-CRLSign CA" nokus_ext
mv nokus.leaf.crt nokus.crt
eckey wrong.key
$OSSL req -x509 -new -key wrong.key -subj "/CN=mtls Revocation CA" -days 3650 -sha256 \
    -config req.cnf -extensions ca_ext -out wrong.crt 2>/dev/null
rm -f req.cnf

# The leaves.  leaf CA NAME KEYTYPE EXTENSIONS
leaf() {
    if [ "$3" = rsa ]; then rsakey "$2.key"; else eckey "$2.key"; fi
    issue "$1" "$2" "/CN=$2.test" "$4"
    cat "$2.leaf.crt" "$1.crt" > "$2.crt"
}
leaf int good ec leaf_ext
# an hour older than the CRLs below, so that "newest" needs no tie-break (OpenSSL has none)
crl int int-old.crl -crlexts crl_ext -crl_lastupdate "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)"
leaf int revoked rsa leaf_ext
leaf int hold ec leaf_ext
leaf int goodrsa rsa leaf_ext
leaf int nodp ec nodp_ext
leaf int muststaple ec staple_ext
leaf int2 chainrev ec nodp_ext
leaf nokus nocrlsign ec nodp_ext
leaf int responder ec responder_ext
leaf int noeku ec noeku_ext
leaf root otherca ec responder_ext
# "unknown": issued by int outside its database
eckey unknown.key
$OSSL req -new -key unknown.key -subj "/CN=unknown.test" -out unknown.csr 2>/dev/null
$OSSL x509 -req -in unknown.csr -CA int.crt -CAkey int.key -set_serial 0x2fff -days 365 \
    -sha256 -extfile ca.cnf -extensions nodp_ext -out unknown.leaf.crt 2>/dev/null
rm -f unknown.csr
cat unknown.leaf.crt int.crt > unknown.crt

# Revocations.
$OSSL ca -batch -config ca.cnf -name int -cert int.crt -keyfile int.key \
    -revoke revoked.leaf.crt -crl_compromise 20240101000000Z 2>/dev/null
$OSSL ca -batch -config ca.cnf -name int -cert int.crt -keyfile int.key \
    -revoke hold.leaf.crt -crl_hold holdInstructionReject 2>/dev/null
$OSSL ca -batch -config ca.cnf -name root -cert root.crt -keyfile root.key \
    -revoke int2.crt -crl_reason cACompromise 2>/dev/null

# The CRLs.
crl int int.crl -crlexts crl_ext
crl int int-expired.crl -crlexts crl_ext -crl_lastupdate 20200101000000Z \
    -crl_nextupdate 20200201000000Z
crl int int-future.crl -crlexts crl_ext -crl_lastupdate 20990101000000Z \
    -crl_nextupdate 20990201000000Z
crl int int-idp.crl -crlexts crl_idp
crl int int-critext.crl -crlexts crl_crit
crl int int-delta.crl -crlexts crl_delta
$OSSL ca -batch -config ca.cnf -name int -cert wrong.crt -keyfile wrong.key -gencrl \
    -out int-wrongkey.crl 2>/dev/null
crl root root.crl -crlexts crl_ext
crl int2 int2.crl -crlexts crl_ext
crl nokus nokus.crl -crlexts crl_ext
cat int.crl root.crl int2.crl > all.crl
mkdir -p crldir
cp int.crl root.crl int2.crl crldir/
$OSSL rehash crldir 2>/dev/null || c_rehash crldir >/dev/null

# OCSP responses.  ocsp OUT CERT SIGNER [options...] (a digest option must come before -cert)
ocsp() {
    out=$1 cert=$2 signer=$3
    shift 3
    $OSSL ocsp -index int.db/index.txt -CA int.crt -issuer int.crt "$@" -cert "$cert.leaf.crt" \
        -rsigner "$signer.leaf.crt" -rkey "$signer.key" -respout "$out" >/dev/null 2>&1
}
cp int.crt int.leaf.crt # the issuer as its own responder
ocsp ocsp-good.der good int -ndays 1
ocsp ocsp-revoked.der revoked int -ndays 1 -no_nonce
ocsp ocsp-hold.der hold int -ndays 1 -no_nonce
ocsp ocsp-unknown.der unknown int -ndays 1 -no_nonce
ocsp ocsp-delegated.der good responder -ndays 1 -no_nonce -resp_key_id -sha256
ocsp ocsp-noeku.der good noeku -ndays 1 -no_nonce
ocsp ocsp-nocerts.der good responder -ndays 1 -no_nonce -resp_no_certs
ocsp ocsp-badsig.der good int -ndays 1 -no_nonce -badsig
ocsp ocsp-nonext.der good int -no_nonce
ocsp ocsp-muststaple.der muststaple int -ndays 1 -no_nonce
ocsp ocsp-otherca.der good otherca -ndays 1 -no_nonce
ocsp ocsp-goodrsa.der goodrsa int -ndays 1 -no_nonce
rm -f int.leaf.crt
for f in ocsp-good ocsp-revoked ocsp-hold ocsp-unknown ocsp-delegated ocsp-noeku ocsp-otherca \
    ocsp-nocerts ocsp-badsig ocsp-nonext ocsp-muststaple ocsp-goodrsa; do
    [ -s "$f.der" ] || { echo "make-revocation.sh: $f.der was not made" >&2; exit 1; }
done
