/*
 * signed.c -- the TLS 1.2 digitally-signed element (RFC 5246 4.7):
 *   struct { SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>; }
 */
#include "../hs.h"

mtls_err msg_signed_parse(rd *r, uint16_t *sigalg, const uint8_t **sig, size_t *sig_len)
{
    rd s;
    /* An empty signature is well-formed (signature<0..2^16-1>) and fails verification:
     * decrypt_error, like any other wrong signature. */
    if (!rd_u16(r, sigalg) || !rd_vec16(r, &s))
        return MTLS_ERR_DECODE;
    *sig = s.p;
    *sig_len = s.n;
    return MTLS_OK;
}
