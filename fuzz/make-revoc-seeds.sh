#!/bin/sh
# fuzz/make-revoc-seeds.sh -- regenerate fixtures/revoc-chain.pem and the seed corpora of the
# crl, ocsp and x509_diff targets from a fresh tests/pki/make-revocation.sh PKI.  The fixture and
# the seeds must come from the same run: the seeds' signatures verify only with the fixture's
# keys (the targets check CRLs and responses against the fixture's certificates).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh tests/pki/make-revocation.sh "$tmp" >/dev/null
OSSL=${OPENSSL:-openssl}
# good leaf, revoked leaf, their CA, its root (the targets pair each with its issuer)
cat "$tmp/good.leaf.crt" "$tmp/revoked.leaf.crt" "$tmp/int.crt" "$tmp/root.crt" \
    > fuzz/fixtures/revoc-chain.pem
rm -rf fuzz/corpus/crl fuzz/corpus/ocsp fuzz/corpus/x509_diff
mkdir -p fuzz/corpus/crl fuzz/corpus/ocsp fuzz/corpus/x509_diff
for c in int int-old int-expired int-future int-idp int-critext int-delta int-wrongkey root int2 \
    nokus; do
    $OSSL crl -in "$tmp/$c.crl" -outform DER -out "fuzz/corpus/crl/seed-$c.der"
    { printf '\001'; cat "fuzz/corpus/crl/seed-$c.der"; } > "fuzz/corpus/x509_diff/seed-crl-$c"
done
cp "$tmp/all.crl" fuzz/corpus/crl/seed-all.pem
for f in "$tmp"/ocsp-*.der; do
    cp "$f" "fuzz/corpus/ocsp/seed-$(basename "$f" .der)"
done
for c in good revoked hold nodp muststaple unknown chainrev nocrlsign responder noeku otherca \
    int int2 nokus root wrong; do
    f="$tmp/$c.leaf.crt"
    [ -f "$f" ] || f="$tmp/$c.crt"
    { printf '\000'; $OSSL x509 -in "$f" -outform DER; } > "fuzz/corpus/x509_diff/seed-cert-$c"
done
# the certificates of the x509 target's corpus too
for f in fuzz/corpus/x509/*.der; do
    { printf '\000'; cat "$f"; } > "fuzz/corpus/x509_diff/seed-x509-$(basename "$f" .der)"
done
echo "make-revoc-seeds: $(ls fuzz/corpus/crl | wc -l) crl, $(ls fuzz/corpus/ocsp | wc -l) ocsp," \
    "$(ls fuzz/corpus/x509_diff | wc -l) x509_diff seeds"
