/*
 * client_hello.c -- ClientHello (RFC 5246 7.4.1.2):
 *   struct {
 *       ProtocolVersion client_version;
 *       Random random;
 *       SessionID session_id;                             opaque<0..32>
 *       CipherSuite cipher_suites<2..2^16-2>;
 *       CompressionMethod compression_methods<1..2^8-1>;
 *       select (extensions_present) {
 *           case false: struct {};
 *           case true: Extension extensions<0..2^16-1>;
 *       };
 *   } ClientHello;
 */
#include <string.h>

#include "msg.h"

mtls_err msg_client_hello_parse(rd *body, struct msg_client_hello *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u16(body, &out->client_version) || !rd_copy(body, out->random, 32) ||
        !rd_vec8(body, &out->session_id) || out->session_id.n > 32 ||
        !rd_vec16(body, &out->cipher_suites) || out->cipher_suites.n < 2 ||
        out->cipher_suites.n % 2 || !rd_vec8(body, &out->compression_methods) ||
        out->compression_methods.n < 1) {
        out->why = "malformed ClientHello";
        return MTLS_ERR_DECODE;
    }
    if (body->n) {
        out->has_extensions = true;
        const uint8_t *block = body->p;
        mtls_err err = ext_parse_block(body, EXT_IN_CH, &out->exts, &out->why);
        if (err)
            return err;
        out->extensions = rd_init(block + 2, (size_t)(body->p - block) - 2);
    }
    if (!rd_done(body)) {
        out->why = "trailing bytes after ClientHello";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_client_hello_build(wr *w, const struct msg_client_hello *in)
{
    wr_u16(w, in->client_version);
    wr_bytes(w, in->random, 32);
    size_t v = wr_open_u8(w);
    wr_bytes(w, in->session_id.p, in->session_id.n);
    wr_close_u8(w, v);
    v = wr_open_u16(w);
    wr_bytes(w, in->cipher_suites.p, in->cipher_suites.n);
    wr_close_u16(w, v);
    v = wr_open_u8(w);
    wr_bytes(w, in->compression_methods.p, in->compression_methods.n);
    wr_close_u8(w, v);
    if (in->has_extensions) {
        v = wr_open_u16(w);
        wr_bytes(w, in->extensions.p, in->extensions.n);
        wr_close_u16(w, v);
    }
    return wr_ok(w);
}
