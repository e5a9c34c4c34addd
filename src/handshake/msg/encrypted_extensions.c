/*
 * encrypted_extensions.c -- EncryptedExtensions (RFC 8446 4.3.1):
 *   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;
 * The first message under the server's handshake key: the answers to the ClientHello's
 * extensions that do not shape the key exchange (ALPN, server_name, supported_groups).
 */
#include <string.h>

#include "msg.h"

mtls_err msg_encrypted_extensions_parse(rd *body, struct msg_encrypted_extensions *out)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *block = body->p;
    mtls_err err = ext_parse_block(body, EXT_IN_EE, &out->exts, &out->why);
    if (err)
        return err;
    out->extensions = rd_init(block + 2, (size_t)(body->p - block) - 2);
    if (!rd_done(body)) {
        out->why = "trailing bytes after EncryptedExtensions";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_encrypted_extensions_build(wr *w, const struct msg_encrypted_extensions *in)
{
    size_t v = wr_open_u16(w);
    wr_bytes(w, in->extensions.p, in->extensions.n);
    wr_close_u16(w, v);
    return wr_ok(w);
}
