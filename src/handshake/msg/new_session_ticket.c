/*
 * new_session_ticket.c -- NewSessionTicket (RFC 5077 3.3):
 *   struct { uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>; } NewSessionTicket;
 * Sent by the server after the client's Finished (full handshake) or after ServerHello
 * (abbreviated), before its ChangeCipherSpec, and only when its ServerHello carried an empty
 * session_ticket extension.  An empty ticket is well-formed (RFC 5077 3.3: the server could not
 * make one).
 */
#include <string.h>

#include "msg.h"

mtls_err msg_new_session_ticket_parse(rd *body, struct msg_new_session_ticket *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u32(body, &out->lifetime_hint) || !rd_vec16(body, &out->ticket) || !rd_done(body)) {
        out->why = "malformed NewSessionTicket";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_new_session_ticket_build(wr *w, const struct msg_new_session_ticket *in)
{
    wr_u32(w, in->lifetime_hint);
    size_t v = wr_open_u16(w);
    wr_bytes(w, in->ticket.p, in->ticket.n);
    wr_close_u16(w, v);
    return wr_ok(w);
}

/*
 * TLS 1.3 (RFC 8446 4.6.1):
 *   struct { uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
 *            opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>; } NewSessionTicket;
 * Sent after the handshake, under the application traffic key; each is one resumption PSK.
 */
mtls_err msg_new_session_ticket13_parse(rd *body, struct msg_new_session_ticket13 *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u32(body, &out->lifetime) || !rd_u32(body, &out->age_add) ||
        !rd_vec8(body, &out->nonce) || !rd_vec16(body, &out->ticket) || out->ticket.n == 0) {
        out->why = "malformed NewSessionTicket";
        return MTLS_ERR_DECODE;
    }
    const uint8_t *block = body->p;
    mtls_err err = ext_parse_block(body, EXT_IN_NST, &out->exts, &out->why);
    if (err)
        return err;
    out->extensions = rd_init(block + 2, (size_t)(body->p - block) - 2);
    if (!rd_done(body)) {
        out->why = "trailing bytes after NewSessionTicket";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_new_session_ticket13_build(wr *w, const struct msg_new_session_ticket13 *in)
{
    wr_u32(w, in->lifetime);
    wr_u32(w, in->age_add);
    size_t v = wr_open_u8(w);
    wr_bytes(w, in->nonce.p, in->nonce.n);
    wr_close_u8(w, v);
    v = wr_open_u16(w);
    wr_bytes(w, in->ticket.p, in->ticket.n);
    wr_close_u16(w, v);
    v = wr_open_u16(w);
    wr_bytes(w, in->extensions.p, in->extensions.n);
    wr_close_u16(w, v);
    return wr_ok(w);
}
