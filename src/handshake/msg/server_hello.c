/*
 * server_hello.c -- ServerHello (RFC 5246 7.4.1.3):
 *   struct {
 *       ProtocolVersion server_version;
 *       Random random;
 *       SessionID session_id;                             opaque<0..32>
 *       CipherSuite cipher_suite;
 *       CompressionMethod compression_method;
 *       select (extensions_present) {
 *           case false: struct {};
 *           case true: Extension extensions<0..2^16-1>;
 *       };
 *   } ServerHello;
 * An empty extensions block is legal but some peers dislike it: build leaves it out.
 */
#include <string.h>

#include "msg.h"

mtls_err msg_server_hello_parse(rd *body, struct msg_server_hello *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u16(body, &out->server_version) || !rd_copy(body, out->random, 32) ||
        !rd_vec8(body, &out->session_id) || out->session_id.n > 32 ||
        !rd_u16(body, &out->cipher_suite) || !rd_u8(body, &out->compression_method)) {
        out->why = "malformed ServerHello";
        return MTLS_ERR_DECODE;
    }
    if (body->n) {
        const uint8_t *block = body->p;
        mtls_err err = ext_parse_block(body, EXT_IN_SH12, &out->exts, &out->why);
        if (err)
            return err;
        out->extensions = rd_init(block + 2, (size_t)(body->p - block) - 2);
    }
    if (!rd_done(body)) {
        out->why = "trailing bytes after ServerHello";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_server_hello_build(wr *w, const struct msg_server_hello *in)
{
    wr_u16(w, in->server_version);
    wr_bytes(w, in->random, 32);
    size_t v = wr_open_u8(w);
    wr_bytes(w, in->session_id.p, in->session_id.n);
    wr_close_u8(w, v);
    wr_u16(w, in->cipher_suite);
    wr_u8(w, in->compression_method);
    if (in->extensions.n) {
        v = wr_open_u16(w);
        wr_bytes(w, in->extensions.p, in->extensions.n);
        wr_close_u16(w, v);
    }
    return wr_ok(w);
}
