/*
 * fuzz_x509.c -- libFuzzer target for src/x509: the input is parsed as one DER certificate and,
 * independently, as PEM (a chain and a trust store).  Whatever parses is driven through every
 * getter, host-name matching and chain verification (the certificate trusted as its own anchor,
 * and as a chain of its PEM blocks), so the whole of the parser's output is exercised.  Seeds:
 * fuzz/corpus/x509/ (DER certificates and PEM chains from the test PKI and the system store).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(x509_cert *const *chain, size_t n, x509_store *store)
{
    char detail[256];
    for (size_t i = 0; i < n; i++) {
        const x509_cert *c = chain[i];
        size_t len;
        volatile size_t sink = strlen(x509_cert_subject(c)) + strlen(x509_cert_issuer(c));
        (void)x509_cert_der(c, &len);
        (void)x509_cert_pubkey(c);
        for (size_t k = 0; k < x509_cert_san_count(c); k++)
            sink += strlen(x509_cert_san(c, k));
        (void)sink;
        (void)x509_cert_not_before(c);
        (void)x509_cert_not_after(c);
        (void)x509_host_matches(c, "www.example.com");
        (void)x509_host_matches(c, "192.0.2.1");
        (void)x509_host_matches(c, "2001:db8::1");
    }
    x509_verify_params p = {
        .purpose = X509_PURPOSE_SERVER, .host = "www.example.com", .now = 1700000000};
    (void)x509_verify_chain(store, chain, n, &p, detail, sizeof detail);
    p.purpose = X509_PURPOSE_CLIENT;
    p.host = NULL;
    (void)x509_verify_chain(store, chain, n, &p, detail, sizeof detail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    x509_cert *c = NULL;
    if (x509_cert_parse(data, size, &c) == MTLS_OK) {
        x509_store *s = x509_store_new();
        size_t len;
        const uint8_t *der = x509_cert_der(c, &len);
        (void)der;
        use(&c, 1, s); /* untrusted */
        x509_store_free(s);
        x509_cert_free(c);
    }

    x509_cert **chain = NULL;
    size_t n = 0;
    if (x509_chain_from_pem(data, size, &chain, &n) == MTLS_OK) {
        x509_store *s = x509_store_new();
        (void)x509_store_add_pem(s, data, size); /* every block trusted */
        use(chain, n, s);
        x509_store_free(s);
        x509_chain_free(chain, n);
    }
    return 0;
}
