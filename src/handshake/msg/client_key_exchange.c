/*
 * client_key_exchange.c -- ClientKeyExchange (RFC 5246 7.4.7) in its two forms, chosen by the
 * suite's key exchange:
 *   RSA:   struct { public-key-encrypted PreMasterSecret pre_master_secret; }
 *          (TLS 1.2: opaque<0..2^16-1>, RFC 5246 7.4.7.1)
 *   ECDHE: struct { opaque point <1..2^8-1>; } ECPoint (RFC 8422 5.7)
 */
#include "msg.h"

mtls_err msg_client_key_exchange_parse(rd *body, struct msg_client_key_exchange *out)
{
    out->why = NULL;
    bool ok = out->rsa ? rd_vec16(body, &out->exchange_keys)
                       : rd_vec8(body, &out->exchange_keys) && out->exchange_keys.n > 0;
    if (!ok || !rd_done(body)) {
        out->why = "malformed ClientKeyExchange";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_client_key_exchange_build(wr *w, const struct msg_client_key_exchange *in)
{
    size_t v = in->rsa ? wr_open_u16(w) : wr_open_u8(w);
    wr_bytes(w, in->exchange_keys.p, in->exchange_keys.n);
    if (in->rsa)
        wr_close_u16(w, v);
    else
        wr_close_u8(w, v);
    return wr_ok(w);
}
