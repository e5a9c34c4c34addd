/*
 * certificate_request.c -- CertificateRequest (RFC 5246 7.4.4):
 *   struct {
 *       ClientCertificateType certificate_types<1..2^8-1>;
 *       SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;
 *       DistinguishedName certificate_authorities<0..2^16-1>;     opaque<1..2^16-1> each
 *   } CertificateRequest;
 * supported_signature_algorithms has the signature_algorithms extension's format: at least one
 * scheme, two bytes each (ext/sigalgs.c reads it).
 */
#include <string.h>

#include "msg.h"

mtls_err msg_certificate_request_parse(rd *body, struct msg_certificate_request *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_vec8(body, &out->certificate_types) || out->certificate_types.n == 0) {
        out->why = "malformed CertificateRequest";
        return MTLS_ERR_DECODE;
    }
    rd algs;
    if (!rd_vec16(body, &algs)) {
        out->why = "malformed CertificateRequest signature algorithms";
        return MTLS_ERR_DECODE;
    }
    if (algs.n < 2 || algs.n % 2) {
        out->why = "malformed signature algorithms list";
        return MTLS_ERR_DECODE;
    }
    out->signature_algorithms = algs;
    rd cas;
    if (!rd_vec16(body, &cas) || !rd_done(body)) {
        out->why = "malformed CertificateRequest authorities";
        return MTLS_ERR_DECODE;
    }
    out->certificate_authorities = cas;
    while (cas.n) {
        rd dn;
        if (!rd_vec16(&cas, &dn) || dn.n == 0) {
            out->why = "malformed distinguished name in CertificateRequest";
            return MTLS_ERR_DECODE;
        }
        out->n_authorities++;
    }
    return MTLS_OK;
}

bool msg_certificate_request_build(wr *w, const struct msg_certificate_request *in)
{
    size_t v = wr_open_u8(w);
    wr_bytes(w, in->certificate_types.p, in->certificate_types.n);
    wr_close_u8(w, v);
    v = wr_open_u16(w);
    wr_bytes(w, in->signature_algorithms.p, in->signature_algorithms.n);
    wr_close_u16(w, v);
    v = wr_open_u16(w);
    wr_bytes(w, in->certificate_authorities.p, in->certificate_authorities.n);
    wr_close_u16(w, v);
    return wr_ok(w);
}

/*
 * TLS 1.3 (RFC 8446 4.3.2):
 *   struct { opaque certificate_request_context<0..255>; Extension extensions<2..2^16-1>; }
 * The extensions replace the TLS 1.2 fields: signature_algorithms (which MUST be there: the
 * role's missing_extension), certificate_authorities, signature_algorithms_cert.
 */
mtls_err msg_certificate_request13_parse(rd *body, struct msg_certificate_request13 *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_vec8(body, &out->context)) {
        out->why = "malformed CertificateRequest context";
        return MTLS_ERR_DECODE;
    }
    const uint8_t *block = body->p;
    mtls_err err = ext_parse_block(body, EXT_IN_CR, &out->exts, &out->why);
    if (err)
        return err;
    out->extensions = rd_init(block + 2, (size_t)(body->p - block) - 2);
    if (out->extensions.n < 2 || !rd_done(body)) {
        out->why = "malformed CertificateRequest extensions";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_certificate_request13_build(wr *w, const struct msg_certificate_request13 *in)
{
    size_t v = wr_open_u8(w);
    wr_bytes(w, in->context.p, in->context.n);
    wr_close_u8(w, v);
    v = wr_open_u16(w);
    wr_bytes(w, in->extensions.p, in->extensions.n);
    wr_close_u16(w, v);
    return wr_ok(w);
}
