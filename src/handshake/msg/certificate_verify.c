/*
 * certificate_verify.c -- CertificateVerify (RFC 5246 7.4.8):
 *   struct { digitally-signed struct { opaque handshake_messages[handshake_messages_length]; } }
 * i.e. a SignatureAndHashAlgorithm and the signature (signed.c) over every handshake message
 * before it; the signature is made and checked by the role files.
 */
#include <string.h>

#include "msg.h"

mtls_err msg_certificate_verify_parse(rd *body, struct msg_certificate_verify *out)
{
    memset(out, 0, sizeof(*out));
    if (!msg_signed_parse(body, &out->sigalg, &out->signature) || !rd_done(body)) {
        out->why = "malformed CertificateVerify";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_certificate_verify_build(wr *w, const struct msg_certificate_verify *in)
{
    msg_signed_build(w, in->sigalg, in->signature);
    return wr_ok(w);
}
