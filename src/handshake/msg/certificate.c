/*
 * certificate.c -- the Certificate message (RFC 5246 7.4.2 / 7.4.6):
 *   opaque ASN.1Cert<1..2^24-1>;
 *   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 * Parsing hands each DER certificate to our own X.509 parser (never libcrypto's decoders).
 */
#include <stdlib.h>

#include "../hs.h"

#define MAX_CHAIN 16

mtls_err msg_certificate_build(struct hs *hs, x509_cert *const *chain, size_t n)
{
    wr *w = &hs->out;
    size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE);
    size_t list = wr_open_u24(w);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *der = x509_cert_der(chain[i], &len);
        wr_u24(w, (uint32_t)len);
        wr_bytes(w, der, len);
    }
    wr_close_u24(w, list);
    return hs_msg_close(hs, at);
}

mtls_err msg_certificate_parse(struct hs *hs, rd body, x509_cert ***out, size_t *out_n)
{
    rd list;
    *out = NULL;
    *out_n = 0;
    if (!rd_vec24(&body, &list) || !rd_done(&body))
        return hs_err(hs, MTLS_ERR_DECODE, "malformed Certificate message");
    x509_cert **chain = mem_calloc(MAX_CHAIN, sizeof(*chain));
    if (!chain)
        return MTLS_ERR_NO_MEMORY;
    size_t n = 0;
    mtls_err err = MTLS_OK;
    while (list.n && !err) {
        rd der;
        if (!rd_vec24(&list, &der) || der.n == 0) {
            err = hs_err(hs, MTLS_ERR_DECODE, "malformed certificate entry in Certificate");
            break;
        }
        if (n == MAX_CHAIN) {
            err = hs_err(hs, MTLS_ERR_CERT_CHAIN_TOO_LONG,
                         "the peer sent more than %d certificates", MAX_CHAIN);
            break;
        }
        err = x509_cache_parse(hs->cfg->certs, der.p, der.n, &chain[n]);
        if (err) {
            err = hs_err(hs, err, "certificate #%zu from the peer could not be parsed: %s", n + 1,
                         mtls_err_str(err));
            break;
        }
        n++;
    }
    if (err) {
        x509_chain_free(chain, n);
        return err;
    }
    if (n == 0) {
        mem_free(chain);
        chain = NULL;
    }
    *out = chain;
    *out_n = n;
    return MTLS_OK;
}
