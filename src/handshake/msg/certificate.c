/*
 * certificate.c -- the Certificate message (RFC 5246 7.4.2 / 7.4.6):
 *   opaque ASN.1Cert<1..2^24-1>;
 *   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 * Parsing yields the DER of each certificate as a view; our own X.509 parser reads them later
 * (auth.c), never libcrypto's decoders.  A peer's chain longer than MSG_MAX_CHAIN is refused
 * here, before anything is parsed.
 */
#include "msg.h"

mtls_err msg_certificate_parse(rd *body, struct msg_certificate *out)
{
    rd list;
    out->n = 0;
    out->why = NULL;
    if (!rd_vec24(body, &list) || !rd_done(body)) {
        out->why = "malformed Certificate message";
        return MTLS_ERR_DECODE;
    }
    while (list.n) {
        rd der;
        if (!rd_vec24(&list, &der) || der.n == 0) {
            out->why = "malformed certificate entry in Certificate";
            return MTLS_ERR_DECODE;
        }
        if (out->n == MSG_MAX_CHAIN) {
            out->why = "the peer sent more than 16 certificates";
            return MTLS_ERR_CERT_CHAIN_TOO_LONG;
        }
        out->certs[out->n++] = der;
    }
    return MTLS_OK;
}

bool msg_certificate_build(wr *w, const struct msg_certificate *in)
{
    size_t list = wr_open_u24(w);
    for (size_t i = 0; i < in->n; i++) {
        wr_u24(w, (uint32_t)in->certs[i].n);
        wr_bytes(w, in->certs[i].p, in->certs[i].n);
    }
    wr_close_u24(w, list);
    return wr_ok(w);
}
