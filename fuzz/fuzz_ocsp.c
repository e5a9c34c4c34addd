/*
 * fuzz_ocsp.c -- libFuzzer target for the OCSP response parser and checker (src/x509/ocsp.c,
 * revoc.c).  The input is parsed as one DER OCSPResponse; a response that parses is checked for
 * each certificate of fixtures/revoc-chain.pem against its issuer at its
 * producedAt, well after it and well before it, so the signer search (the issuer, carried
 * responder certificates), the CertID match and the time rules all run, and every verdict is
 * turned into its sentence.  Seeds: fuzz/corpus/ocsp/ (the responses of
 * tests/pki/make-revocation.sh, made with the same PKI as the fixture by
 * fuzz/make-revoc-seeds.sh).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static x509_cert **chain;
static size_t chain_n;
/* fixtures/revoc-chain.pem: good leaf, revoked leaf, their CA, its root; each certificate and
 * its issuer: */
static const size_t pairs[][2] = {{0, 2}, {1, 2}, {2, 3}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    x509_ocsp *o = NULL;
    if (!chain) {
        size_t len;
        const uint8_t *pem = fz_fixture("revoc-chain.pem", &len);
        if (pem)
            (void)x509_chain_from_pem(pem, len, &chain, &chain_n);
    }
    if (x509_ocsp_parse(data, size, &o) != MTLS_OK)
        return 0;
    int64_t at = x509_ocsp_produced_at(o);
    int64_t times[] = {at, at + 8 * 86400, at - 3600};
    (void)x509_ocsp_response_status(o);
    (void)x509_ocsp_single_count(o);
    for (size_t i = 0; chain_n == 4 && i < sizeof pairs / sizeof pairs[0]; i++) {
        const x509_cert *c = chain[pairs[i][0]], *issuer = chain[pairs[i][1]];
        for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
            x509_revocation r;
            char text[1024];
            mtls_err e = x509_ocsp_check(o, c, issuer, times[k], &r);
            if (e != x509_revocation_err(&r))
                __builtin_trap();
            x509_revocation_describe(&r, c, text, sizeof text);
        }
    }
    x509_ocsp_free(o);
    return 0;
}
