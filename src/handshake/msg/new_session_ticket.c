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
