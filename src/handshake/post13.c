/*
 * post13.c -- TLS 1.3 after the handshake (RFC 8446 4.6): NewSessionTicket (the server sends
 * them right after the client's Finished, the client keeps them as sessions), KeyUpdate both
 * ways, post-handshake client authentication both roles, and the refusal of anything else.
 *
 * What the negotiation leaves here (struct post13, in the handle): the key schedule at its DONE
 * stage -- the application traffic secrets, the exporter and resumption master secrets -- the
 * suite, a reassembly buffer, since post-handshake messages are a byte stream like any
 * handshake data (a message may span records, a record may hold several), and, when the
 * ClientHello offered post_handshake_auth, the handshake's running transcript.  Everything is
 * wiped when the connection is freed.
 *
 * KeyUpdate (4.6.3): a received one moves the peer's secret on and installs the new read key; it
 * must end its record ("Handshake messages MUST NOT span key changes", 5.1).  update_requested
 * is answered with one KeyUpdate of ours (update_not_requested) before our next application data
 * record -- right away, in fact, as output of the input -- and several requests while we are
 * silent get one answer, as 4.6.3 has it.  A peer that sends more than HS13_MAX_POST_IN_ROW
 * post-handshake messages without application data in between is refused: a flood of key
 * updates or tickets costs us work and memory each.  Before our own writes, a KeyUpdate is sent
 * when the record layer says the AES-GCM key has sealed its share of records (5.5).
 *
 * Post-handshake client authentication (4.6.2).  Each exchange runs as a negotiation of its own
 * (hs_run_new), so that the handshake's code for CertificateRequest, Certificate,
 * CertificateVerify and Finished (server13.c, client13.c, tls13.c, auth.c's chain verification)
 * serves it unchanged: its transcript is a copy of the handshake's -- "Handshake Context:
 * ClientHello ... client Finished + CertificateRequest" (4.4.1), each exchange branching from
 * the same point -- and its Finished key comes from the current client application traffic
 * secret.  Server: a request gets a random 16-byte certificate_request_context and the copy of
 * the transcript through it, and waits (at most MTLS_POST_AUTH_MAX_PENDING of them); an answer's
 * Certificate names its request by that context, and from then until its Finished nothing but
 * its CertificateVerify and Finished is taken.  The new chain is shown to the verify callback
 * through the getters, then held aside until the Finished is checked: only then do the getters
 * describe it (application data the client sends in between is not the new identity's), and
 * the proofs the mode needs -- chain, CertificateVerify, Finished -- are checked first, as
 * hs13_establish does.  Client: a request is answered at once (Certificate, [CertificateVerify],
 * Finished), each on its own branch of the transcript.  A client that did not offer
 * post_handshake_auth refuses a CertificateRequest ("A client that receives a
 * CertificateRequest message without having sent the "post_handshake_auth" extension MUST send
 * an "unexpected_message" fatal alert"); a server refuses an answer nobody asked for
 * (unexpected_message) and a context of no request of ours (illegal_parameter).
 */
#include <string.h>

#include "hs.h"

#define HS13_MAX_POST_IN_ROW 32
#define HS13_MAX_TICKET_LIFETIME 604800 /* RFC 8446 4.6.1: seven days */
#define HS13_PHA_CONTEXT 16             /* bytes of our certificate_request_context */

/* Server: a CertificateRequest of ours waiting for its answer. */
struct pha_request {
    uint8_t context[HS13_PHA_CONTEXT];
    cry_hash *transcript; /* the handshake's, then this CertificateRequest */
};

struct post13 {
    ks13 ks;
    const suite_info *suite;
    uint8_t client_random[32];
    dynbuf in;          /* reassembly */
    unsigned in_row;    /* post-handshake messages since the last application data */
    bool update_owed;   /* the peer asked for a KeyUpdate we have not sent yet */
    bool answered;      /* ... or we sent one since the last application data we wrote */
    mtls_session *issuers; /* client: the server's path above its leaf, for the sessions of its
                            * tickets (resume.c re-checks them against the CRLs) */
    /* post-handshake authentication (4.6.2) */
    bool pha_offered;     /* the ClientHello offered post_handshake_auth */
    cry_hash *transcript; /* the handshake's through the client Finished, when pha_offered */
    struct pha_request req[MTLS_POST_AUTH_MAX_PENDING]; /* server: unanswered, oldest first */
    unsigned n_req;
    struct hs *pha;       /* server: the answer being read (its Certificate came) */
    uint8_t pha_context[HS13_PHA_CONTEXT]; /* ... the context it answers */
    uint16_t pha_sigalg;  /* ... and its CertificateVerify's scheme */
};

mtls_err hs13_post_new(struct hs *hs, struct post13 **out)
{
    struct post13 *p = mem_calloc(1, sizeof(*p));
    if (!p)
        return MTLS_ERR_NO_MEMORY;
    p->ks = hs->k13; /* the secrets move: the negotiation's copy is wiped with it */
    p->suite = hs->suite;
    memcpy(p->client_random, hs->client_random, 32);
    /* The transcript goes on only for post-handshake authentication (4.4.1); it is complete:
     * the client's Finished is in it on both sides. */
    if ((p->pha_offered = hs->pha_offered)) {
        p->transcript = hs->transcript;
        hs->transcript = NULL;
    }
    if (!hs->env->is_server &&
        (!(p->issuers = session_new()) || !hs_session_keep_issuers(hs, p->issuers))) {
        hs13_post_free(p);
        return MTLS_ERR_NO_MEMORY;
    }
    *out = p;
    return MTLS_OK;
}

void hs13_post_free(struct post13 *p)
{
    if (!p)
        return;
    ks13_clear(&p->ks);
    dynbuf_free(&p->in, true);
    mtls_session_free(p->issuers);
    cry_hash_free(p->transcript);
    for (unsigned i = 0; i < p->n_req; i++)
        cry_hash_free(p->req[i].transcript);
    hs_run_free(p->pha);
    cry_wipe(p, sizeof(*p));
    mem_free(p);
}

static mtls_err install(hs_handle *h, ks13_secret which, bool for_write)
{
    struct post13 *p = h->p13;
    uint8_t key[CRY_AEAD_MAX_KEY], iv[KS13_IV_LEN];
    mtls_err err = ks13_traffic_keys(&p->ks, which, key, p->suite->key_len, iv);
    if (!err) {
        /* application traffic secret N: N counts the KeyUpdates of that direction */
        uint32_t n = which == KS13_C_AP_TRAFFIC ? p->ks.c_ap_gen : p->ks.s_ap_gen;
        rec_key k = {MTLS_VERSION_TLS13,
                     p->suite->aead,
                     key,
                     p->suite->key_len,
                     iv,
                     KS13_IV_LEN,
                     MTLS_PROTECTION_APPLICATION,
                     n};
        err = for_write ? rec_set_write_key(h->env->rec, &k) : rec_set_read_key(h->env->rec, &k);
    }
    cry_wipe(key, sizeof(key));
    cry_wipe(iv, sizeof(iv));
    return err;
}

/* Our KeyUpdate (RFC 8446 4.6.3), under the current key, then the next key: "After sending a
 * KeyUpdate message, the sender SHALL send all its traffic using the next generation of keys". */
static mtls_err send_key_update(hs_handle *h, bool request)
{
    struct post13 *p = h->p13;
    uint8_t m[5] = {TLS_HS_KEY_UPDATE, 0, 0, 1, request ? 1 : 0};
    ks13_secret ours = h->env->is_server ? KS13_S_AP_TRAFFIC : KS13_C_AP_TRAFFIC;
    mtls_err err = rec_write(h->env->rec, TLS_CT_HANDSHAKE, m, sizeof(m));
    if (err)
        return hs_herr(h, err, "the KeyUpdate could not be sent");
    /* reported under the key it went with, before the change */
    uint32_t next = (h->env->is_server ? p->ks.s_ap_gen : p->ks.c_ap_gen) + 1;
    hs_post_trace_msg(h, '>', TLS_HS_KEY_UPDATE,
                      "%s; our next records go under our application traffic secret %u%s",
                      request ? "update_requested" : "update_not_requested", next,
                      request ? ", and the peer is asked to move on too" : "");
    if ((err = ks13_update(&p->ks, ours)) || (err = install(h, ours, true)))
        return hs_herr(h, err, "the KeyUpdate could not be sent");
    p->update_owed = false;
    p->answered = true;
    return MTLS_OK;
}

mtls_err hs13_key_update(hs_handle *h, bool request)
{
    /* 4.6.3: "The KeyUpdate handshake message is used to indicate that the sender is updating
     * its sending cryptographic keys.  This message can be sent by either peer after it has sent
     * a Finished message."  Sent now, so that it goes out with the next flush; it also answers a
     * request of the peer's we still owe. */
    return send_key_update(h, request);
}

mtls_err hs13_before_write(hs_handle *h)
{
    struct post13 *p = h->p13;
    if (!p)
        return MTLS_OK;
    mtls_err err = MTLS_OK;
    /* RFC 8446 5.5: "implementations SHOULD do a key update ... prior to reaching these limits"
     * (the record layer counts, rec_write_needs_update). */
    if (p->update_owed || rec_write_needs_update(h->env->rec))
        err = send_key_update(h, false);
    p->answered = false;
    return err;
}

mtls_err hs13_app_data(hs_handle *h)
{
    struct post13 *p = h->p13;
    if (!p)
        return MTLS_OK;
    p->in_row = 0;
    /* RFC 8446 5.1: "Handshake messages MUST NOT be interleaved with other record types.  That
     * is, if a handshake message is split over two or more records, there MUST NOT be any other
     * records between them." */
    if (p->in.len)
        return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE,
                       "application data in the middle of a post-handshake message");
    return MTLS_OK;
}

mtls_err hs13_export(const hs_handle *h, const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
    /* The labels of TLS 1.2's PRF are refused here too, so that a label an application uses
     * works (or fails) alike in both versions. */
    if (!label || ks_export_label_reserved(label, label_len))
        return MTLS_ERR_INVALID_ARG;
    return ks13_export(&h->p13->ks, false, label, label_len, context, context_len, out, out_len);
}

static mtls_err read_key_update(hs_handle *h, rd body, bool last_in_record)
{
    struct post13 *p = h->p13;
    struct msg_key_update ku;
    mtls_err err = msg_key_update_parse(&body, &ku);
    if (err)
        return hs_herr(h, err, "%s", ku.why);
    /* RFC 8446 5.1: the KeyUpdate precedes a key change: it must end its record. */
    if (!last_in_record)
        return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE,
                       "KeyUpdate is followed by more handshake data in its record, across a key "
                       "change");
    ks13_secret peer = h->env->is_server ? KS13_C_AP_TRAFFIC : KS13_S_AP_TRAFFIC;
    if ((err = ks13_update(&p->ks, peer)) || (err = install(h, peer, false)))
        return hs_herr(h, err, "the peer's KeyUpdate could not be applied");
    hs_post_trace_msg(h, '<', TLS_HS_KEY_UPDATE,
                      "%s; the peer's next records go under its application traffic secret %u%s",
                      ku.request_update ? "update_requested" : "update_not_requested",
                      h->env->is_server ? p->ks.c_ap_gen : p->ks.s_ap_gen,
                      ku.request_update && !p->answered ? "; we answer with a KeyUpdate of ours"
                                                        : "");
    /* 4.6.3: "If the request_update field is set to "update_requested", then the receiver MUST
     * send a KeyUpdate of its own with request_update set to "update_not_requested" prior to
     * sending its next Application Data record."  Several while we are silent: one answer. */
    /* ... unless our close_notify went out, which "notifies the recipient that the sender will
     * not send any more messages on this connection" (6.1): no data of ours follows, so nothing
     * is owed. */
    if (ku.request_update && !p->answered && !h->env->write_closed)
        return send_key_update(h, false);
    return MTLS_OK;
}

/* Client: a ticket becomes a session (RFC 8446 4.6.1), the connection's latest. */
static mtls_err read_ticket(hs_handle *h, rd body)
{
    struct post13 *p = h->p13;
    const hs_env *env = h->env;
    struct msg_new_session_ticket13 nst;
    mtls_err err = msg_new_session_ticket13_parse(&body, &nst);
    if (err)
        return hs_herr(h, err, "%s", nst.why);
    if (nst.exts.early_data.present) {
        const char *why;
        uint32_t max;
        if ((err = ext_early_data_nst_parse(nst.exts.early_data.data, &max, &why)))
            return hs_herr(h, err, "%s", why);
    }
    /* 4.6.1: "The value of zero indicates that the ticket should be discarded immediately";
     * "Clients MUST NOT cache tickets for longer than 7 days, regardless of the
     * ticket_lifetime". */
    if (nst.lifetime == 0) {
        hs_post_trace_msg(h, '<', TLS_HS_NEW_SESSION_TICKET, "lifetime 0: discarded");
        return MTLS_OK;
    }
    uint32_t lifetime = nst.lifetime < HS13_MAX_TICKET_LIFETIME ? nst.lifetime
                                                                : HS13_MAX_TICKET_LIFETIME;
    uint8_t psk[KS13_MAX_HASH];
    if ((err = ks13_resumption_psk(&p->ks, nst.nonce.p, nst.nonce.n, psk)))
        return hs_herr(h, err, "the ticket's PSK could not be derived");
    int64_t now = config_now(env->cfg);
    mtls_session *s = hs13_session_new(env, p->suite->id, psk, p->ks.hlen, now);
    cry_wipe(psk, sizeof(psk));
    if (!s || !hs_session_copy_issuers(s, p->issuers) || !(s->ticket = mem_alloc(nst.ticket.n))) {
        mtls_session_free(s);
        return MTLS_ERR_NO_MEMORY;
    }
    memcpy(s->ticket, nst.ticket.p, nst.ticket.n);
    s->ticket_len = nst.ticket.n;
    s->ticket_hint = lifetime;
    s->lifetime = lifetime;
    s->age_add = nst.age_add;
    s->issued = now;
    mtls_session_free(env->info->session);
    env->info->session = s;
    hs_post_trace_msg(h, '<', TLS_HS_NEW_SESSION_TICKET,
                      "after the handshake: a %zu-byte ticket, lifetime %u s, kept to resume with "
                      "(a pre-shared key)",
                      nst.ticket.n, lifetime);
    return MTLS_OK;
}

/* ---- post-handshake client authentication (RFC 8446 4.6.2) -------------------------------- */

bool hs13_post_auth_offered(const hs_handle *h)
{
    /* RFC 8740 3: "HTTP/2 servers MUST NOT send post-handshake TLS 1.3 CertificateRequest
     * messages.  HTTP/2 clients MUST treat a TLS post-handshake CertificateRequest message as a
     * connection error": with ALPN h2, as if it had not been offered. */
    const char *alpn = h->env->info->alpn;
    return h->p13 && h->p13->pha_offered && !(alpn && strcmp(alpn, "h2") == 0);
}

unsigned hs13_post_auth_pending(const hs_handle *h)
{
    const struct post13 *p = h->p13;
    return p ? p->n_req + (p->pha != NULL) : 0;
}

/* One exchange's negotiation: `transcript` (taken over) goes on with its messages; its keys are
 * the current application secrets. */
static struct hs *pha_run(hs_handle *h, cry_hash *transcript)
{
    struct post13 *p = h->p13;
    struct hs *hs = transcript ? hs_run_new(h) : NULL;
    if (!hs) {
        cry_hash_free(transcript);
        return NULL;
    }
    hs->v13 = true;
    hs->post_auth = true;
    hs->suite = p->suite;
    hs->k13 = p->ks;
    hs->transcript = transcript;
    return hs;
}

static void post_auth_event(hs_handle *h, mtls_post_auth_event ev)
{
    const mtls_config *cfg = h->env->cfg;
    if (cfg->post_auth_cb)
        cfg->post_auth_cb(cfg->post_auth_arg, h->env->conn, ev);
}

mtls_err hs13_request_client_cert(hs_handle *h)
{
    struct post13 *p = h->p13;
    /* 4.6.2: "Servers MUST NOT send a post-handshake CertificateRequest to clients which do not
     * offer this extension." */
    if (!p || !p->transcript || !hs13_post_auth_offered(h) ||
        hs13_post_auth_pending(h) >= MTLS_POST_AUTH_MAX_PENDING)
        return MTLS_ERR_BAD_STATE;
    struct pha_request *r = &p->req[p->n_req];
    /* 4.3.2: "the server SHOULD make the context unpredictable to the client (e.g., by randomly
     * generating it)"; random, it is also unique among the requests of the connection. */
    if (!cry_random(r->context, sizeof(r->context)))
        return hs_herr(h, MTLS_ERR_RNG, "no randomness for a certificate_request_context");
    struct hs *hs = pha_run(h, cry_hash_dup(p->transcript));
    if (!hs)
        return MTLS_ERR_NO_MEMORY;
    hs->post_context = rd_init(r->context, sizeof(r->context));
    mtls_err err = hs13_send_cert_request(hs);
    if (!err)
        err = hs_flush(hs);
    if (!err) {
        r->transcript = hs->transcript; /* through the CertificateRequest */
        hs->transcript = NULL;
        p->n_req++;
        h->env->info->cert_requested = true;
    }
    hs_run_free(hs);
    return err;
}

/* The peer chain of info and the one held in `hs` change places (the getters show `hs`'s). */
static void swap_chain(hs_info *info, struct hs *hs)
{
    x509_cert **chain = info->peer_chain;
    size_t n = info->peer_chain_len;
    info->peer_chain = hs->peer_chain;
    info->peer_chain_len = hs->peer_chain_len;
    hs->peer_chain = chain;
    hs->peer_chain_len = n;
}

/* Server: the client's Certificate, which names the request it answers by its context. */
static mtls_err pha_read_certificate(hs_handle *h, const msg *m)
{
    struct post13 *p = h->p13;
    hs_info *info = h->env->info;
    rd body = m->body, context;
    if (!p->n_req)
        return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE,
                       "the client sent a Certificate after the handshake, which we did not ask "
                       "for");
    if (!rd_vec8(&body, &context))
        return hs_herr(h, MTLS_ERR_DECODE, "truncated Certificate");
    unsigned i = 0;
    while (i < p->n_req && !(context.n == HS13_PHA_CONTEXT &&
                             memcmp(context.p, p->req[i].context, HS13_PHA_CONTEXT) == 0))
        i++;
    /* 4.4.2: certificate_request_context: "If this message is in response to a
     * CertificateRequest, the value of certificate_request_context in that message." */
    if (i == p->n_req)
        return hs_herr(h, MTLS_ERR_ILLEGAL_PARAMETER,
                       "the client's Certificate answers no CertificateRequest of ours (unknown "
                       "certificate_request_context)");
    memcpy(p->pha_context, p->req[i].context, HS13_PHA_CONTEXT);
    struct hs *hs = pha_run(h, p->req[i].transcript);
    for (p->n_req--; i < p->n_req; i++)
        p->req[i] = p->req[i + 1];
    if (!hs)
        return MTLS_ERR_NO_MEMORY;
    p->pha = hs;
    hs->post_context = rd_init(p->pha_context, HS13_PHA_CONTEXT);
    /* The handshake's code judges it (server13.c: empty in require mode, key, keyUsage, the
     * chain verified with the verify callback, which sees it through the getters).  Then the
     * getters go back to the identity before until the Finished. */
    bool presented = info->peer_cert_presented;
    swap_chain(info, hs); /* info: none; hs: the identity before */
    x509_cert **before = hs->peer_chain;
    size_t n_before = hs->peer_chain_len;
    hs->peer_chain = NULL;
    hs->peer_chain_len = 0;
    mtls_err err = hs13_server_read_client_cert(hs, m);
    if (info->peer_chain) { /* verified: held by hs until the Finished */
        x509_chain_free(hs->peer_chain, hs->peer_chain_len);
        hs->peer_chain = info->peer_chain;
        hs->peer_chain_len = info->peer_chain_len;
    }
    info->peer_chain = before;
    info->peer_chain_len = n_before;
    info->peer_cert_presented = presented;
    return err;
}

static mtls_err pha_read_cert_verify(hs_handle *h, const msg *m)
{
    struct post13 *p = h->p13;
    hs_info *info = h->env->info;
    uint16_t sigalg = info->client_sigalg;
    /* hs13_read_cert_verify checks the signature with the leaf the getters show: the new one,
     * for this call only. */
    swap_chain(info, p->pha);
    mtls_err err = hs13_server_read_client_cert_verify(p->pha, m);
    swap_chain(info, p->pha);
    p->pha_sigalg = info->client_sigalg;
    info->client_sigalg = sigalg;
    return err;
}

/* The answer's Finished: checked with the current client application traffic secret (4.4:
 * "Base Key: client_application_traffic_secret_N"); then the new identity is the connection's. */
static mtls_err pha_read_finished(hs_handle *h, const msg *m)
{
    struct post13 *p = h->p13;
    struct hs *hs = p->pha;
    hs_info *info = h->env->info;
    mtls_err err = hs13_read_finished(hs, m, KS13_C_AP_TRAFFIC);
    if (err)
        return err;
    /* Proof before the identity is taken, as hs13_establish before traffic. */
    unsigned need = PROOF_FINISHED;
    if (hs->peer_chain_len)
        need |= PROOF_PEER_CHAIN | PROOF_CERT_VERIFY;
    if ((hs->proofs & need) != need)
        return hs_err(hs, MTLS_ERR_INTERNAL,
                      "post-handshake authentication ended without all required checks");
    for (size_t i = 0; i < hs->peer_chain_len; i++)
        x509_cert_drop_key(hs->peer_chain[i]);
    swap_chain(info, hs); /* the identity before is freed with hs */
    info->peer_cert_presented = info->peer_chain_len > 0;
    info->client_sigalg = info->peer_chain_len ? p->pha_sigalg : 0;
    bool cert = info->peer_chain_len > 0;
    hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_POST_AUTH, MTLS_OK,
                  cert ? 0 : MTLS_TRACE_SKIPPED, '*', "PostHandshakeAuth",
                  "complete: the client is now %s",
                  cert ? x509_cert_subject(info->peer_chain[0]) : "without a certificate");
    hs_run_free(hs);
    p->pha = NULL;
    post_auth_event(h, cert ? MTLS_POST_AUTH_VERIFIED : MTLS_POST_AUTH_NO_CERT);
    return MTLS_OK;
}

/* Server: a message of the client's answer. */
static mtls_err pha_read(hs_handle *h, const msg *m)
{
    struct post13 *p = h->p13;
    if (m->type == TLS_HS_CERTIFICATE && !p->pha)
        return pha_read_certificate(h, m);
    /* After its Certificate, the CertificateVerify when a certificate came, then the Finished. */
    bool wants_cv = p->pha && p->pha->peer_chain_len && !(p->pha->proofs & PROOF_CERT_VERIFY);
    if (m->type == TLS_HS_CERTIFICATE_VERIFY && wants_cv)
        return pha_read_cert_verify(h, m);
    if (m->type == TLS_HS_FINISHED && p->pha && !wants_cv)
        return pha_read_finished(h, m);
    return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE, "the client sent %s after the handshake%s",
                   hs_msg_name(m->type),
                   !p->pha   ? ", which we did not ask for"
                   : wants_cv ? " where its CertificateVerify belongs"
                              : " where its Finished belongs");
}

/* Client: answer the server's CertificateRequest at once (4.6.2: "the client MUST send
 * Certificate, CertificateVerify, and Finished messages (if it has a certificate)"; "If the
 * client does not have a suitable certificate, it MUST send a Certificate message containing no
 * certificates" and a Finished). */
static mtls_err pha_answer(hs_handle *h, const msg *m)
{
    struct post13 *p = h->p13;
    /* After our close_notify nothing of ours may follow (RFC 8446 6.1: it "notifies the
     * recipient that the sender will not send any more messages on this connection"): the
     * request is read and left unanswered. */
    if (h->env->write_closed) {
        hs_post_trace_msg(h, '<', TLS_HS_CERTIFICATE_REQUEST,
                          "after our close_notify: not answered");
        return MTLS_OK;
    }
    struct hs *hs = pha_run(h, cry_hash_dup(p->transcript));
    if (!hs)
        return MTLS_ERR_NO_MEMORY;
    mtls_err err = hs13_client_read_cert_request(hs, m);
    if (!err)
        err = hs13_client_send_cert(hs);
    if (err == MTLS_ERR_WANT_KEY_OP)
        /* The answer is built in one go, inside the read that met the request: a key method's
         * signature that would come later has no state to wait in here. */
        err = hs_err(hs, MTLS_ERR_KEY_OP_FAILED,
                     "a post-handshake CertificateRequest needs our signature at once: the key "
                     "method answered later (call mtls_conn_key_op_done inside the callback)");
    if (!err)
        err = hs13_send_finished(hs, KS13_C_AP_TRAFFIC);
    if (!err)
        err = hs_flush(hs);
    bool sent = hs->c13.sends_cert;
    hs_run_free(hs);
    if (err)
        return err;
    post_auth_event(h, sent ? MTLS_POST_AUTH_CERT_SENT : MTLS_POST_AUTH_NO_CERT_SENT);
    return MTLS_OK;
}

static mtls_err handle(hs_handle *h, const msg *m, bool last_in_record)
{
    struct post13 *p = h->p13;
    bool server = h->env->is_server;
    uint8_t type = m->type;
    /* The client's answer to a CertificateRequest, once begun, is Certificate,
     * [CertificateVerify], Finished: nothing else in between. */
    if (server && (p->pha || type == TLS_HS_CERTIFICATE || type == TLS_HS_CERTIFICATE_VERIFY ||
                   type == TLS_HS_FINISHED))
        return pha_read(h, m);
    if (type == TLS_HS_KEY_UPDATE)
        return read_key_update(h, m->body, last_in_record);
    if (type == TLS_HS_NEW_SESSION_TICKET && !server)
        return read_ticket(h, m->body);
    /* 4.6.2: "A client that receives a CertificateRequest message without having sent the
     * "post_handshake_auth" extension MUST send an "unexpected_message" fatal alert." */
    if (type == TLS_HS_CERTIFICATE_REQUEST && !server && hs13_post_auth_offered(h))
        return pha_answer(h, m);
    /* Anything else has no place after the handshake. */
    return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE,
                   "the peer sent a handshake message (%s) after the handshake", hs_msg_name(type));
}

mtls_err hs13_post(hs_handle *h, const uint8_t *data, size_t n)
{
    struct post13 *p = h->p13;
    if (!p)
        return hs_herr(h, MTLS_ERR_INTERNAL, "TLS 1.3 post-handshake state missing");
    if (!dynbuf_append(&p->in, data, n, 4 + MTLS_MAX_HANDSHAKE_MSG + TLS_MAX_PLAINTEXT))
        return hs_herr(h, MTLS_ERR_HANDSHAKE_TOO_LARGE, "post-handshake data exceeds the limit");
    size_t off = 0;
    mtls_err err = MTLS_OK;
    while (!err && p->in.len - off >= 4) {
        const uint8_t *m = p->in.p + off;
        uint32_t len = be24_get(m + 1);
        if (len > MTLS_MAX_HANDSHAKE_MSG) {
            err = hs_herr(h, MTLS_ERR_HANDSHAKE_TOO_LARGE,
                          "the peer announced a %s of %u bytes (limit %u)", hs_msg_name(m[0]), len,
                          MTLS_MAX_HANDSHAKE_MSG);
            break;
        }
        if (p->in.len - off < 4 + (size_t)len)
            break;
        if (++p->in_row > HS13_MAX_POST_IN_ROW) {
            err = hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE,
                          "the peer sent more than %d post-handshake messages without application "
                          "data",
                          HS13_MAX_POST_IN_ROW);
            break;
        }
        size_t end = off + 4 + len;
        msg one = {m[0], rd_init(m + 4, len), m, 4 + (size_t)len};
        err = handle(h, &one, end == p->in.len);
        off = end;
    }
    if (off)
        dynbuf_consume(&p->in, off);
    return err;
}

/* ---- the server's tickets (RFC 8446 4.6.1) ------------------------------------------------- */

mtls_err hs13_send_tickets(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    int64_t now = config_now(cfg);
    /* A resumed session keeps the birth of its first full handshake, so that tickets issued on
     * resumption do not extend its life beyond the configured lifetime. */
    int64_t created = hs->resume ? hs->resume->created : now;
    uint32_t lifetime = cfg->session_lifetime < HS13_MAX_TICKET_LIFETIME
                            ? cfg->session_lifetime
                            : HS13_MAX_TICKET_LIFETIME;
    unsigned sent = 0;
    for (unsigned i = 0; i < cfg->tls13_tickets; i++) {
        /* "ticket_nonce: A per-ticket value that is unique across all tickets issued on this
         * connection." */
        uint8_t nonce = (uint8_t)i, psk[KS13_MAX_HASH], age_add[4];
        mtls_err err = ks13_resumption_psk(&hs->k13, &nonce, 1, psk);
        if (err)
            return err;
        mtls_session *s = hs13_session_new(hs->env, hs->suite->id, psk, hs->k13.hlen, created);
        cry_wipe(psk, sizeof(psk));
        if (s && !hs_session_keep_issuers(hs, s)) {
            mtls_session_free(s);
            s = NULL;
        }
        if (!s)
            return MTLS_ERR_NO_MEMORY;
        if (!cry_random(age_add, 4)) {
            mtls_session_free(s);
            return hs_err(hs, MTLS_ERR_RNG, "no randomness for ticket_age_add");
        }
        s->age_add = ((uint32_t)age_add[0] << 24) | ((uint32_t)age_add[1] << 16) |
                     ((uint32_t)age_add[2] << 8) | age_add[3];
        s->issued = now;
        uint8_t *ticket = NULL;
        size_t len = 0;
        /* A ticket that cannot be made (no key may seal yet) is not sent. */
        err = hs13_ticket_make(hs, s, &ticket, &len);
        struct msg_new_session_ticket13 nst = {
            .lifetime = lifetime,
            .age_add = s->age_add,
            .nonce = rd_init(&nonce, 1),
            .ticket = rd_init(ticket, len),
        };
        mtls_session_free(s);
        if (err)
            continue;
        /* Not part of the transcript: written straight into the flight. */
        wr_u8(&hs->out, TLS_HS_NEW_SESSION_TICKET);
        size_t v = wr_open_u24(&hs->out);
        msg_new_session_ticket13_build(&hs->out, &nst);
        wr_close_u24(&hs->out, v);
        mem_free(ticket);
        if (!wr_ok(&hs->out))
            return MTLS_ERR_NO_MEMORY;
        sent++;
    }
    mtls_err err = hs_flush(hs);
    if (!err && sent)
        hs_trace_msg(hs, '>', TLS_HS_NEW_SESSION_TICKET,
                     "once the client's Finished verified: %u ticket(s), each a resumption PSK "
                     "(%s), lifetime %u s",
                     sent,
                     !hs13_stateful_tickets(cfg) ? "AES-256-GCM sealed session state"
                     : cfg->store ? "stateful: the id of a session in the session store, "
                                    "resumed once"
                                  : "stateful: the id of a session in the session cache, "
                                    "resumed once",
                     lifetime);
    return err;
}
