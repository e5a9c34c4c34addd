/*
 * session_ticket.c -- session_ticket (RFC 5077 3.2): the client sends the ticket it holds (empty
 * when it has none and asks for one); the server acknowledges with an empty extension
 * (ext_empty_build) when it will send a NewSessionTicket.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_ticket_build(wr *w, const uint8_t *ticket, size_t len)
{
    wr_u16(w, TLS_EXT_SESSION_TICKET);
    size_t ext = wr_open_u16(w);
    wr_bytes(w, ticket, len);
    wr_close_u16(w, ext);
}
