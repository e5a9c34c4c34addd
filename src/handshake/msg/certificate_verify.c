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

/* RFC 8446 4.4.3: "The digital signature is then computed over the concatenation of:
 *   - A string that consists of octet 32 (0x20) repeated 64 times
 *   - The context string
 *   - A single 0 byte which serves as the separator
 *   - The content to be signed" -- Transcript-Hash(Handshake Context, Certificate). */
size_t msg_cv13_content(uint8_t *out, bool by_server, const uint8_t *th, size_t hlen)
{
    static const char server_ctx[] = "TLS 1.3, server CertificateVerify";
    static const char client_ctx[] = "TLS 1.3, client CertificateVerify";
    const char *ctx = by_server ? server_ctx : client_ctx;
    size_t ctx_len = sizeof(server_ctx) - 1;
    memset(out, 0x20, 64);
    memcpy(out + 64, ctx, ctx_len);
    out[64 + ctx_len] = 0;
    memcpy(out + 64 + ctx_len + 1, th, hlen);
    return 64 + ctx_len + 1 + hlen;
}
