/*
 * signed.c -- the TLS 1.2 digitally-signed element (RFC 5246 4.7), in ServerKeyExchange and
 * CertificateVerify:
 *   struct { SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>; }
 */
#include "msg.h"

bool msg_signed_parse(rd *r, uint16_t *sigalg, rd *signature)
{
    /* An empty signature is well-formed (signature<0..2^16-1>) and fails verification:
     * decrypt_error, like any other wrong signature. */
    return rd_u16(r, sigalg) && rd_vec16(r, signature);
}

void msg_signed_build(wr *w, uint16_t sigalg, rd signature)
{
    wr_u16(w, sigalg);
    size_t vec = wr_open_u16(w);
    wr_bytes(w, signature.p, signature.n);
    wr_close_u16(w, vec);
}
