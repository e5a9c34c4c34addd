/*
 * new_session_ticket.c -- NewSessionTicket (RFC 5077 3.3):
 *   struct { uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>; } NewSessionTicket;
 * Sent by the server after the client's Finished (full handshake) or after ServerHello
 * (abbreviated), before its ChangeCipherSpec, and only when its ServerHello carried an empty
 * session_ticket extension.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hs.h"

static mtls_session *state_for_ticket(mtls_conn *c)
{
    /* The session as it will be recorded; the ticket does not need the id. */
    struct hs *hs = c->hs;
    mtls_session *s = session_new();
    if (!s)
        return NULL;
    s->version = MTLS_VERSION_TLS12;
    s->suite = hs->suite->id;
    s->ems = c->ems;
    memcpy(s->master, hs->master, 48);
    s->created = hs->resume ? hs->resume->created : config_now(c->cfg);
    s->lifetime = c->cfg->session_lifetime;
    if (!hs_verify_context(c, s->vctx) ||
        (c->server_name && !(s->sni = mem_strdup(c->server_name))) ||
        (c->alpn && !(s->alpn = mem_strdup(c->alpn)))) {
        mtls_session_free(s);
        return NULL;
    }
    if (c->peer_chain_len) {
        size_t len;
        const uint8_t *der = x509_cert_der(c->peer_chain[0], &len);
        uint8_t *copy = mem_alloc(len);
        if (copy) {
            memcpy(copy, der, len);
            s->peer_cert = copy;
            s->peer_cert_len = len;
        }
    }
    return s;
}

mtls_err msg_new_session_ticket_build(mtls_conn *c)
{
    const mtls_config *cfg = c->cfg;
    mtls_session *s = state_for_ticket(c);
    if (!s)
        return MTLS_ERR_NO_MEMORY;
    uint8_t *ticket = NULL;
    size_t len = 0;
    /* A ticket that cannot be made (state too large) is sent empty: RFC 5077 3.3 allows it. */
    if (ticket_seal(cfg->tkeys, s, config_now(cfg), cfg->session_lifetime, &ticket, &len))
        len = 0;
    mtls_session_free(s);
    wr *w = &c->hs->out;
    size_t at = hs_msg_open(c, TLS_HS_NEW_SESSION_TICKET);
    wr_u32(w, cfg->session_lifetime);
    wr_u16(w, (uint16_t)len);
    wr_bytes(w, ticket, len);
    mtls_err err = hs_msg_close(c, at);
    mem_free(ticket);
    if (!err)
        hs_trace(c, '>', "NewSessionTicket", "%zu-byte ticket (AES-256-GCM sealed session state), "
                 "lifetime %u s", len, cfg->session_lifetime);
    return err;
}

mtls_err msg_new_session_ticket_parse(mtls_conn *c, const msg *m)
{
    struct hs *hs = c->hs;
    rd body = m->body, t;
    uint32_t hint;
    if (!rd_u32(&body, &hint) || !rd_vec16(&body, &t) || !rd_done(&body))
        return hs_fail(c, MTLS_ERR_DECODE, "malformed NewSessionTicket");
    mem_free(hs->new_ticket);
    hs->new_ticket = NULL;
    hs->new_ticket_len = 0;
    if (t.n) {
        hs->new_ticket = mem_alloc(t.n);
        if (!hs->new_ticket)
            return MTLS_ERR_NO_MEMORY;
        memcpy(hs->new_ticket, t.p, t.n);
        hs->new_ticket_len = t.n;
    }
    hs->new_ticket_hint = hint;
    hs_trace(c, '<', "NewSessionTicket", "%zu-byte ticket, lifetime hint %u s", t.n, hint);
    return hs_transcript_add(c, m->raw, m->raw_len);
}
