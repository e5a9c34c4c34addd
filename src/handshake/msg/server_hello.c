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
 *
 * RFC 8446 4.1.3 and 4.1.4 keep the form for TLS 1.3's ServerHello and HelloRetryRequest
 * (legacy_version, legacy_session_id_echo, legacy_compression_method), and tell the three apart:
 * a HelloRetryRequest by its random, a TLS 1.3 ServerHello by its supported_versions extension.
 * Parse decides which it is before reading the extensions, so that each is read with its own
 * column of the extension table; what the version means is version.c's business.
 */
#include <string.h>

#include "../../record/tls.h"
#include "msg.h"

const uint8_t msg_hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* Whether the extensions block at r (not consumed) holds supported_versions.  A malformed block
 * says no: the parse that follows refuses it. */
static bool has_supported_versions(rd r)
{
    rd block;
    if (!rd_vec16(&r, &block))
        return false;
    while (block.n) {
        uint16_t type;
        rd data;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &data))
            return false;
        if (type == TLS_EXT_SUPPORTED_VERSIONS)
            return true;
    }
    return false;
}

mtls_err msg_server_hello_parse(rd *body, struct msg_server_hello *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u16(body, &out->server_version) || !rd_copy(body, out->random, 32) ||
        !rd_vec8(body, &out->session_id) || out->session_id.n > 32 ||
        !rd_u16(body, &out->cipher_suite) || !rd_u8(body, &out->compression_method)) {
        out->why = "malformed ServerHello";
        return MTLS_ERR_DECODE;
    }
    out->kind = memcmp(out->random, msg_hrr_random, 32) == 0 ? MSG_HRR
                : has_supported_versions(*body)                 ? MSG_SH13
                                                                : MSG_SH12;
    if (body->n) {
        const uint8_t *block = body->p;
        ext_msg column = out->kind == MSG_HRR    ? EXT_IN_HRR
                         : out->kind == MSG_SH13 ? EXT_IN_SH
                                                 : EXT_IN_SH12;
        mtls_err err = ext_parse_block(body, column, &out->exts, &out->why);
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
