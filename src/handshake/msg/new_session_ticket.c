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

static mtls_session *state_for_ticket(struct hs *hs)
{
    /* The session as it will be recorded; the ticket does not need the id. */
    mtls_session *s = session_new();
    if (!s)
        return NULL;
    s->version = MTLS_VERSION_TLS12;
    s->suite = hs->suite->id;
    s->ems = hs->info->ems;
    memcpy(s->master, hs->k12.master, 48);
    s->created = hs->resume ? hs->resume->created : config_now(hs->cfg);
    s->lifetime = hs->cfg->session_lifetime;
    const hs_info *info = hs->info;
    if (!hs_verify_context(hs->env, s->vctx) ||
        (info->server_name && !(s->sni = mem_strdup(info->server_name))) ||
        (info->alpn && !(s->alpn = mem_strdup(info->alpn)))) {
        mtls_session_free(s);
        return NULL;
    }
    if (info->peer_chain_len) {
        size_t len;
        const uint8_t *der = x509_cert_der(info->peer_chain[0], &len);
        uint8_t *copy = mem_alloc(len);
        if (copy) {
            memcpy(copy, der, len);
            s->peer_cert = copy;
            s->peer_cert_len = len;
        }
    }
    return s;
}

mtls_err msg_new_session_ticket_build(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    mtls_session *s = state_for_ticket(hs);
    if (!s)
        return MTLS_ERR_NO_MEMORY;
    uint8_t *ticket = NULL;
    size_t len = 0;
    /* A ticket that cannot be made (state too large) is sent empty: RFC 5077 3.3 allows it. */
    if (ticket_seal(cfg->tkeys, s, config_now(cfg), cfg->session_lifetime, &ticket, &len))
        len = 0;
    mtls_session_free(s);
    wr *w = &hs->out;
    size_t at = hs_msg_open(hs, TLS_HS_NEW_SESSION_TICKET);
    wr_u32(w, cfg->session_lifetime);
    wr_u16(w, (uint16_t)len);
    wr_bytes(w, ticket, len);
    mtls_err err = hs_msg_close(hs, at);
    mem_free(ticket);
    if (!err)
        hs_trace(hs, '>', "NewSessionTicket",
                 "%zu-byte ticket (AES-256-GCM sealed session state), "
                 "lifetime %u s",
                 len, cfg->session_lifetime);
    return err;
}

mtls_err msg_new_session_ticket_parse(struct hs *hs, const msg *m)
{
    rd body = m->body, t;
    uint32_t hint;
    if (!rd_u32(&body, &hint) || !rd_vec16(&body, &t) || !rd_done(&body))
        return hs_err(hs, MTLS_ERR_DECODE, "malformed NewSessionTicket");
    struct c12 *c12 = &hs->c12;
    mem_free(c12->new_ticket);
    c12->new_ticket = NULL;
    c12->new_ticket_len = 0;
    if (t.n) {
        c12->new_ticket = mem_alloc(t.n);
        if (!c12->new_ticket)
            return MTLS_ERR_NO_MEMORY;
        memcpy(c12->new_ticket, t.p, t.n);
        c12->new_ticket_len = t.n;
    }
    c12->new_ticket_hint = hint;
    hs_trace(hs, '<', "NewSessionTicket", "%zu-byte ticket, lifetime hint %u s", t.n, hint);
    return hs_transcript_add(hs, m->raw, m->raw_len);
}
