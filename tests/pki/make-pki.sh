#!/bin/sh
# make-pki.sh OUTDIR -- the test PKI of mtls, generated fresh at test time (nothing that can
# expire is committed).  Needs only the `openssl` command (3.0 or later).  Takes a few seconds.
#
# Layout of OUTDIR (every *.crt is PEM; "chain" means leaf first, then intermediates):
#   root.crt root.key        "CN=mtls Test Root": the trust anchor of every case (CA:TRUE)
#   ca.crt                   copy of root.crt: the CA file to trust
#   int.crt int.key          "CN=mtls Test Intermediate": CA:TRUE, pathlen:0, signed by root
#   <case>.crt <case>.key    the chain a peer presents and the leaf's private key
#   <case>.leaf.crt          the leaf alone
#   cases.txt                one line per case: "<case> <host> <server verdict> <client verdict>"
#                            (verdict: OK or the mtls error name without MTLS_ERR_)
#
# Cases (host "good.test" unless noted; leaves have EKU serverAuth+clientAuth unless noted):
#   good          RSA-2048 leaf, SAN DNS:good.test                       OK
#   ecdsa256      P-256 leaf                                             OK
#   ecdsa384      P-384 leaf                                             OK
#   expired       notAfter 2021-01-01                                    CERT_EXPIRED
#   notyet        notBefore 2099-01-01                                   CERT_NOT_YET_VALID
#   wronghost     SAN wrong.test, *.wrong.test                           CERT_HOSTNAME
#   wildcard      SAN *.good.test; host www.good.test                    OK
#   wildcard-apex SAN *.good.test; host good.test                        CERT_HOSTNAME
#   ipsan         SAN IP:127.0.0.1, IP:::1; host 127.0.0.1               OK
#   cnonly        no SAN, CN=good.test                                   OK
#   server        EKU serverAuth only (used as a client cert: CERT_EKU)  OK / CERT_EKU
#   client        EKU clientAuth only, RSA (used as a server: CERT_EKU)  CERT_EKU / OK
#   client-ecdsa  EKU clientAuth only, P-256                             CERT_EKU / OK
#   notca         leaf issued by a CA:FALSE intermediate                 CERT_NOT_CA
#   pathlen       leaf <- sub-intermediate <- int (pathlen:0)            CERT_PATH_LEN
#   rsa1024       1024-bit RSA leaf                                      CERT_WEAK_KEY
#   sha1          leaf signed with sha1WithRSAEncryption                 CERT_WEAK_SIGNATURE
#   badsig        good-like leaf whose signature has one byte flipped    CERT_BAD_SIGNATURE
#   untrusted     leaf <- "mtls Untrusted Intermediate" <- "mtls Untrusted Root" (all sent)
#                                                                        CERT_UNKNOWN_CA
#   missing       leaf issued by int, chain file holds the leaf only     CERT_UNKNOWN_CA
#   selfsigned    self-signed leaf CN=good.test                          CERT_SELF_SIGNED
#   mismatch      the good chain with another RSA key in mismatch.key    OK (chain); loading
#                                                                        the pair: KEY_MISMATCH
#
# Name constraints and wildcards (nc-cases.txt, same columns; every leaf P-256, issued by a
# constrained CA signed by the root; a chain is leaf + its CA).  A wildcard is judged as every
# name it can match (src/x509/host.c), so the verdict is the same in both roles and for any host:
#   nc-a.crt  "mtls Test NC-A": permitted example.com; excluded bad.example.com,
#             y.bad2.example.com, a.b.x.bad2.example.com
#   nc-b.crt  "mtls Test NC-B": excluded foo.example.com
#   nc-c.crt  "mtls Test NC-C": excluded com, blocked.example (single- and two-label exclusions)
#   nc-d.crt  "mtls Test NC-D": permitted www.example.com, .example.net
#   nca-wild          *.example.com (host bad.example.com)    CERT_NAME_CONSTRAINTS
#   nca-cnwild        no SAN, CN=*.example.com (same host)    CERT_NAME_CONSTRAINTS
#   nca-wild-bad2     *.bad2.example.com                      CERT_NAME_CONSTRAINTS
#   nca-wild-underbad *.x.bad.example.com                     CERT_NAME_CONSTRAINTS
#   nca-bad           bad.example.com                         CERT_NAME_CONSTRAINTS
#   nca-www           www.example.com                         OK
#   nca-wild-good     *.good.example.com                      OK
#   nca-wild-xbad2    *.x.bad2.example.com                    OK
#   ncb-wild          *.example.com (host www.example.com)    CERT_NAME_CONSTRAINTS
#   ncc-wild-org      *.example.org                           OK (golang/go#76935)
#   ncc-wild-x        *.x.example                             OK
#   ncc-wild-com      *.example.com                           CERT_NAME_CONSTRAINTS
#   ncd-wild          *.example.com                           CERT_NAME_CONSTRAINTS
#   ncd-www           www.example.com                         OK
#   ncd-wild-net      *.example.net                           OK
set -eu
OUT=${1:?usage: make-pki.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
OSSL=${OPENSSL:-openssl}
serial=1000

rsakey() { $OSSL genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:${2:-2048} -out "$1" 2>/dev/null; }
eckey() { $OSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$2 -out "$1" 2>/dev/null; }

# ext SECTION-BODY: write an extension file for one certificate
ext() { printf '[x]\n%s\nsubjectKeyIdentifier=hash\n' "$1" > ext.cnf; }
CA_EXT='basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
authorityKeyIdentifier=keyid:always'
leaf_ext() { # SAN-LINE EKU
    ext "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=${2:-serverAuth,clientAuth}
authorityKeyIdentifier=keyid:always
$1"
}

# sign NAME SUBJECT ISSUER [DIGEST]: NAME.csr from NAME.key, signed by ISSUER.crt/.key with ext.cnf
sign() {
    serial=$((serial + 1))
    $OSSL req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
    $OSSL x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -set_serial $serial -days 825 \
        -"${4:-sha256}" -extfile ext.cnf -extensions x -out "$1.leaf.crt" 2>/dev/null
    rm -f "$1.csr"
}

# Root and intermediate.
# selfsign NAME SUBJECT DAYS EXTENSIONS: a self-signed NAME.crt from NAME.key
selfsign() {
    printf '[req]\ndistinguished_name=dn\n[dn]\n[x]\n%s\nsubjectKeyIdentifier=hash\n' "$4" > req.cnf
    $OSSL req -x509 -new -key "$1.key" -subj "$2" -days "$3" -sha256 -config req.cnf \
        -extensions x -out "$1.crt" 2>/dev/null
    rm -f req.cnf
}
rsakey root.key
selfsign root "/CN=mtls Test Root" 3650 "basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign"
cp root.crt ca.crt
rsakey int.key
ext "basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
authorityKeyIdentifier=keyid:always"
sign int "/CN=mtls Test Intermediate" root
mv int.leaf.crt int.crt

# leaf CASE SUBJECT SAN-LINE [EKU] [KEYTYPE] [ISSUER] [DIGEST]
leaf() {
    case ${5:-rsa} in
    rsa) rsakey "$1.key" ;;
    rsa1024) rsakey "$1.key" 1024 ;;
    p256) eckey "$1.key" P-256 ;;
    p384) eckey "$1.key" P-384 ;;
    esac
    leaf_ext "$3" "${4:-serverAuth,clientAuth}"
    sign "$1" "$2" "${6:-int}" "${7:-sha256}"
    cat "$1.leaf.crt" "${6:-int}.crt" > "$1.crt"
}

leaf good "/CN=good.test" "subjectAltName=DNS:good.test"
leaf ecdsa256 "/CN=ecdsa256.test" "subjectAltName=DNS:good.test,DNS:ecdsa256.test" "" p256
leaf ecdsa384 "/CN=ecdsa384.test" "subjectAltName=DNS:good.test,DNS:ecdsa384.test" "" p384
leaf wronghost "/CN=wrong.test" "subjectAltName=DNS:wrong.test,DNS:*.wrong.test"
leaf wildcard "/CN=wildcard.good.test" "subjectAltName=DNS:*.good.test"
cp wildcard.crt wildcard-apex.crt; cp wildcard.key wildcard-apex.key; cp wildcard.leaf.crt wildcard-apex.leaf.crt
leaf ipsan "/CN=ip.test" "subjectAltName=IP:127.0.0.1,IP:::1"
leaf cnonly "/CN=good.test" ""
leaf server "/CN=server.test" "subjectAltName=DNS:good.test" serverAuth
leaf client "/CN=client.test" "subjectAltName=DNS:client.test,email:client@good.test" clientAuth
leaf client-ecdsa "/CN=client-ecdsa.test" "subjectAltName=DNS:client-ecdsa.test" clientAuth p256
leaf rsa1024 "/CN=rsa1024.test" "subjectAltName=DNS:good.test" "" rsa1024
leaf sha1 "/CN=sha1.test" "subjectAltName=DNS:good.test" "" rsa int sha1
leaf missing "/CN=missing.test" "subjectAltName=DNS:good.test"
cp missing.leaf.crt missing.crt

# A leaf with one flipped byte in its signature (the last byte of the DER).
leaf badsig "/CN=badsig.test" "subjectAltName=DNS:good.test"
$OSSL x509 -in badsig.leaf.crt -outform DER -out badsig.der
size=$(wc -c < badsig.der)
last=$(tail -c 1 badsig.der | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (last + 1) % 256 )))" | dd of=badsig.der bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
$OSSL x509 -inform DER -in badsig.der -out badsig.leaf.crt
rm -f badsig.der
cat badsig.leaf.crt int.crt > badsig.crt

# CA:FALSE intermediate.
rsakey notca-int.key
ext "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyCertSign
authorityKeyIdentifier=keyid:always"
sign notca-int "/CN=mtls Test Not-CA Intermediate" root
mv notca-int.leaf.crt notca-int.crt
leaf notca "/CN=notca.test" "subjectAltName=DNS:good.test" "" rsa notca-int

# pathlen:0 exceeded: a sub-intermediate under int.
rsakey subint.key
ext "$CA_EXT"
sign subint "/CN=mtls Test Sub-Intermediate" int
mv subint.leaf.crt subint.crt
leaf pathlen "/CN=pathlen.test" "subjectAltName=DNS:good.test" "" rsa subint
cat int.crt >> pathlen.crt

# An untrusted hierarchy, root included in the chain.
rsakey uroot.key
selfsign uroot "/CN=mtls Untrusted Root" 3650 "basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign"
rsakey uint.key
ext "$CA_EXT"
sign uint "/CN=mtls Untrusted Intermediate" uroot
mv uint.leaf.crt uint.crt
leaf untrusted "/CN=untrusted.test" "subjectAltName=DNS:good.test" "" rsa uint
cat uroot.crt >> untrusted.crt

# Self-signed leaf.
rsakey selfsigned.key
selfsign selfsigned "/CN=good.test" 825 "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:good.test"
mv selfsigned.crt selfsigned.leaf.crt
cp selfsigned.leaf.crt selfsigned.crt

# Key mismatch: the good chain with a different key.
cp good.crt mismatch.crt; cp good.leaf.crt mismatch.leaf.crt
rsakey mismatch.key

# Name-constrained CAs under the root, and the leaves they issue (nc-cases.txt).
# ncca NAME SUBJECT CONSTRAINTS
ncca() {
    eckey "$1.key" P-256
    ext "$CA_EXT
nameConstraints=critical,$3"
    sign "$1" "$2" root
    mv "$1.leaf.crt" "$1.crt"
}
ncca nc-a "/CN=mtls Test NC-A" "permitted;DNS:example.com,excluded;DNS:bad.example.com,\
excluded;DNS:y.bad2.example.com,excluded;DNS:a.b.x.bad2.example.com"
ncca nc-b "/CN=mtls Test NC-B" "excluded;DNS:foo.example.com"
ncca nc-c "/CN=mtls Test NC-C" "excluded;DNS:com,excluded;DNS:blocked.example"
ncca nc-d "/CN=mtls Test NC-D" "permitted;DNS:www.example.com,permitted;DNS:.example.net"
# ncleaf CASE CA DNS-NAME: a P-256 leaf whose one name is DNS-NAME (CN and SAN)
ncleaf() { leaf "$1" "/CN=$3" "subjectAltName=DNS:$3" "" p256 "$2"; }
ncleaf nca-wild nc-a '*.example.com'
leaf nca-cnwild "/CN=*.example.com" "" "" p256 nc-a
ncleaf nca-wild-bad2 nc-a '*.bad2.example.com'
ncleaf nca-wild-underbad nc-a '*.x.bad.example.com'
ncleaf nca-bad nc-a bad.example.com
ncleaf nca-www nc-a www.example.com
ncleaf nca-wild-good nc-a '*.good.example.com'
ncleaf nca-wild-xbad2 nc-a '*.x.bad2.example.com'
ncleaf ncb-wild nc-b '*.example.com'
ncleaf ncc-wild-org nc-c '*.example.org'
ncleaf ncc-wild-x nc-c '*.x.example'
ncleaf ncc-wild-com nc-c '*.example.com'
ncleaf ncd-wild nc-d '*.example.com'
ncleaf ncd-www nc-d www.example.com
ncleaf ncd-wild-net nc-d '*.example.net'
cat > nc-cases.txt <<TXT
nca-wild bad.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
nca-cnwild bad.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
nca-wild-bad2 y.bad2.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
nca-wild-underbad w.x.bad.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
nca-bad bad.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
nca-www www.example.com OK OK
nca-wild-good www.good.example.com OK OK
nca-wild-xbad2 w.x.bad2.example.com OK OK
ncb-wild www.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
ncc-wild-org www.example.org OK OK
ncc-wild-x w.x.example OK OK
ncc-wild-com www.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
ncd-wild www.example.com CERT_NAME_CONSTRAINTS CERT_NAME_CONSTRAINTS
ncd-www www.example.com OK OK
ncd-wild-net www.example.net OK OK
TXT

# Expired and not-yet-valid leaves need explicit dates: `openssl x509` has no -not_before
# before 3.4, so these go through `openssl ca` with -startdate/-enddate.
mkdir -p ca.db
: > ca.db/index.txt
echo 2000 > ca.db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = d
[d]
dir = .
database = ca.db/index.txt
new_certs_dir = ca.db
serial = ca.db/serial
default_md = sha256
policy = p
unique_subject = no
email_in_dn = no
copy_extensions = none
[p]
commonName = supplied
CNF
dated() { # CASE CN START END
    rsakey "$1.key"
    $OSSL req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    leaf_ext "subjectAltName=DNS:good.test"
    $OSSL ca -batch -notext -config ca.cnf -cert int.crt -keyfile int.key -in "$1.csr" \
        -startdate "$3" -enddate "$4" -extfile ext.cnf -extensions x -out "$1.leaf.crt" 2>/dev/null
    rm -f "$1.csr"
    cat "$1.leaf.crt" int.crt > "$1.crt"
}
dated expired expired.test 20200101000000Z 20210101000000Z
dated notyet notyet.test 20990101000000Z 21000101000000Z
rm -rf ca.db ca.cnf ext.cnf

cat > cases.txt <<TXT
good good.test OK OK
ecdsa256 good.test OK OK
ecdsa384 good.test OK OK
expired good.test CERT_EXPIRED CERT_EXPIRED
notyet good.test CERT_NOT_YET_VALID CERT_NOT_YET_VALID
wronghost good.test CERT_HOSTNAME OK
wildcard www.good.test OK OK
wildcard-apex good.test CERT_HOSTNAME OK
ipsan 127.0.0.1 OK OK
cnonly good.test OK OK
server good.test OK CERT_EKU
client good.test CERT_EKU OK
client-ecdsa good.test CERT_EKU OK
notca good.test CERT_NOT_CA CERT_NOT_CA
pathlen good.test CERT_PATH_LEN CERT_PATH_LEN
rsa1024 good.test CERT_WEAK_KEY CERT_WEAK_KEY
sha1 good.test CERT_WEAK_SIGNATURE CERT_WEAK_SIGNATURE
badsig good.test CERT_BAD_SIGNATURE CERT_BAD_SIGNATURE
untrusted good.test CERT_UNKNOWN_CA CERT_UNKNOWN_CA
missing good.test CERT_UNKNOWN_CA CERT_UNKNOWN_CA
selfsigned good.test CERT_SELF_SIGNED CERT_SELF_SIGNED
mismatch good.test OK OK
TXT
