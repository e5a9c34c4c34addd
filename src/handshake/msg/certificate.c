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

/*
 * TLS 1.3 (RFC 8446 4.4.2):
 *   struct { opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>; } CertificateEntry;
 *   struct { opaque certificate_request_context<0..255>;
 *            CertificateEntry certificate_list<0..2^24-1>; } Certificate;
 * Each entry's extensions are read with the table's Certificate column: one mtls knows but that
 * has no place there is illegal_parameter, one it does not know is skipped (mtls asks for none).
 */
mtls_err msg_certificate13_parse(rd *body, struct msg_certificate13 *out)
{
    rd list;
    out->n = 0;
    out->why = NULL;
    if (!rd_vec8(body, &out->context) || !rd_vec24(body, &list) || !rd_done(body)) {
        out->why = "malformed Certificate message";
        return MTLS_ERR_DECODE;
    }
    while (list.n) {
        rd der;
        if (!rd_vec24(&list, &der) || der.n == 0) {
            out->why = "malformed certificate entry in Certificate";
            return MTLS_ERR_DECODE;
        }
        const uint8_t *block = list.p;
        hello_exts e;
        mtls_err err = ext_parse_block(&list, EXT_IN_CT, &e, &out->why);
        if (err)
            return err;
        if (out->n == MSG_MAX_CHAIN) {
            out->why = "the peer sent more than 16 certificates";
            return MTLS_ERR_CERT_CHAIN_TOO_LONG;
        }
        out->certs[out->n] = der;
        if (out->exts)
            out->exts[out->n] = rd_init(block + 2, (size_t)(list.p - block) - 2);
        out->n++;
    }
    return MTLS_OK;
}

bool msg_certificate13_build(wr *w, const struct msg_certificate13 *in)
{
    size_t v = wr_open_u8(w);
    wr_bytes(w, in->context.p, in->context.n);
    wr_close_u8(w, v);
    size_t list = wr_open_u24(w);
    for (size_t i = 0; i < in->n; i++) {
        wr_u24(w, (uint32_t)in->certs[i].n);
        wr_bytes(w, in->certs[i].p, in->certs[i].n);
        v = wr_open_u16(w);
        if (in->exts)
            wr_bytes(w, in->exts[i].p, in->exts[i].n);
        wr_close_u16(w, v);
    }
    wr_close_u24(w, list);
    return wr_ok(w);
}
