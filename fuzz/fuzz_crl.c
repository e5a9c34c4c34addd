/*
 * fuzz_crl.c -- libFuzzer target for the CRL parser and checker (src/x509/crl.c, revoc.c).  The
 * input is parsed as one DER CRL and, independently, loaded into a CRL set as PEM or DER
 * (x509_crls_add_mem).  Whatever parses is driven through every getter, and the set is consulted
 * for the certificates of fixtures/revoc-chain.pem (a good and a revoked leaf issued by "mtls
 * Revocation CA", that CA, issued by "mtls Revocation Root", and the root) with each one's
 * issuer, at the CRL's own thisUpdate and around its nextUpdate, so the scope, signature, time
 * and lookup paths all run; every verdict is turned into its sentence.  Seeds: fuzz/corpus/crl/
 * (the CRLs of tests/pki/make-revocation.sh, made with the same PKI as the fixture by
 * fuzz/make-revoc-seeds.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static x509_cert **chain;
static size_t chain_n;
/* fixtures/revoc-chain.pem: good leaf, revoked leaf, their CA, its root; each certificate and
 * its issuer: */
static const size_t pairs[][2] = {{0, 2}, {1, 2}, {2, 3}};

static void load_fixture(void)
{
    size_t len;
    const uint8_t *pem = fz_fixture("revoc-chain.pem", &len);
    if (!chain && pem)
        (void)x509_chain_from_pem(pem, len, &chain, &chain_n);
}

/* Every certificate of the fixture against the next one (its issuer), at time t. */
static void check_all(const x509_crls *s, int64_t t)
{
    for (size_t i = 0; chain_n == 4 && i < sizeof pairs / sizeof pairs[0]; i++) {
        x509_revocation r;
        char text[1024];
        const x509_cert *c = chain[pairs[i][0]], *issuer = chain[pairs[i][1]];
        mtls_err e = x509_crls_check(s, c, issuer, t, &r);
        if (e != x509_revocation_err(&r))
            __builtin_trap();
        x509_revocation_describe(&r, c, text, sizeof text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    x509_crl *crl = NULL;
    int64_t t = FZ_NOW, next = FZ_NOW;
    load_fixture();
    if (x509_crl_parse(data, size, &crl) == MTLS_OK) {
        size_t n, sl;
        const uint8_t *sn;
        int64_t date;
        int reason;
        volatile size_t sink = strlen(x509_crl_issuer(crl));
        t = x509_crl_this_update(crl);
        next = x509_crl_next_update(crl);
        (void)x509_crl_number(crl, &n);
        for (size_t i = 0; x509_crl_revoked_entry(crl, i, &sn, &sl, &date, &reason); i++)
            sink += sl + (size_t)reason + strlen(x509_reason_name(reason));
        if (x509_crl_revoked_count(crl) != 0 &&
            !x509_crl_revoked_entry(crl, x509_crl_revoked_count(crl) - 1, &sn, &sl, &date, &reason))
            __builtin_trap();
        (void)sink;
        x509_crl_free(crl);
    }
    x509_crls *s = x509_crls_new();
    if (s && x509_crls_add_mem(s, data, size) == MTLS_OK) {
        check_all(s, t);
        check_all(s, next + 1);
        check_all(s, FZ_NOW);
    }
    x509_crls_free(s);
    return 0;
}
