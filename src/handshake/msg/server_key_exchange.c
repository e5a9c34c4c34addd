/*
 * server_key_exchange.c -- ServerKeyExchange for ECDHE (RFC 8422 5.4, RFC 5246 7.4.3):
 *   struct {
 *       ECParameters curve_params;    curve_type (3: named_curve) + NamedCurve
 *       ECPoint public;               opaque point<1..2^8-1>
 *   } ServerECDHParams;
 *   struct { ServerECDHParams params; Signature signed_params; } ServerKeyExchange;
 * signed_params is a digitally-signed element (signed.c) over client_random + server_random +
 * params: parse hands out the params bytes to verify against.
 */
#include <string.h>

#include "msg.h"

bool msg_ecdh_params_build(wr *w, uint16_t group, rd point)
{
    wr_u8(w, 3); /* named_curve */
    wr_u16(w, group);
    size_t v = wr_open_u8(w);
    wr_bytes(w, point.p, point.n);
    wr_close_u8(w, v);
    return wr_ok(w);
}

mtls_err msg_server_key_exchange_parse(rd *body, struct msg_server_key_exchange *out)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *params = body->p;
    if (!rd_u8(body, &out->curve_type) || !rd_u16(body, &out->group) ||
        !rd_vec8(body, &out->point) || out->point.n == 0) {
        out->why = "malformed ServerKeyExchange";
        return MTLS_ERR_DECODE;
    }
    out->params = rd_init(params, (size_t)(body->p - params));
    if (!msg_signed_parse(body, &out->sigalg, &out->signature) || !rd_done(body)) {
        out->why = "malformed ServerKeyExchange signature";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_server_key_exchange_build(wr *w, const struct msg_server_key_exchange *in)
{
    /* named_curve is the only curve_type (RFC 8422 5.4: explicit curves are deprecated) */
    msg_ecdh_params_build(w, in->group, in->point);
    msg_signed_build(w, in->sigalg, in->signature);
    return wr_ok(w);
}
