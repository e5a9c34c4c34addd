/*
 * resume.c -- sessions inside the handshake: which session a client offers, which one a server
 * accepts, and the session each connection leaves behind.
 *
 * Resumption is allowed only when nothing that was negotiated or checked could differ (RFC 5246
 * 7.4.1.2, RFC 7627 5.3, RFC 6066 3): the same version, a suite the client offers again and we
 * still allow, extended master secret on both sides exactly when the session used it, the same
 * server name, and -- for a server that requires client certificates -- a session that carries a
 * verified client certificate.  Anything else means a full handshake, never an error.
 *
 * A session is also bound to the verification context that checked its peer (verify_context):
 * the trust anchors, the verify mode, the application's session context and, on a client, the
 * name it verified.  A config that shares ticket keys or a session store with another but trusts
 * other CAs must not take over the identity the other verified: it does a full handshake and
 * verifies the peer itself.  The peer's stored leaf is re-checked on every resumption -- not
 * expired, and accepted by the application's verify callback (recheck_peer) -- so that a
 * deny-list reaches resumed sessions too: a server runs the check before it agrees to resume and
 * falls back to a full handshake, a client (which offered before the server answered) fails the
 * handshake when its callback rejects the server.
 *
 * Revocation.  The context includes the CRL mode (and a client's OCSP settings) but not the CRLs'
 * contents, so a new CRL does not end every session; instead the peer is checked against the
 * CRLs in force at each resumption (recheck_revocation): its leaf -- or, in chain mode, every
 * certificate above it but the anchor -- with the issuers the session kept from the path that
 * verified it (a resumed handshake carries no certificates, and the CRL's signature needs the
 * issuer's key).  A server that finds the client revoked does a full handshake, which refuses
 * the certificate (certificate_revoked); a client does not offer a session whose server is
 * revoked, and its full handshake verifies the server's current certificate -- which may well be
 * a new one, the usual answer to a revocation.
 *
 * TLS 1.3 resumes by ticket (a pre-shared key), under the same checks plus the ticket's hash and
 * age.  A server's ticket is sealed (the session inside, as a TLS 1.2 ticket) or stateful: a
 * random 32-byte session id whose session the server keeps (RFC 8446 4.6.1: the ticket "MAY be
 * either a database lookup key or a self-encrypted and self-authenticated value").  Stateful
 * when the application set a session store -- so that servers sharing a store share TLS 1.3
 * sessions as they share TLS 1.2 ones, ticket keys or not -- or when tickets are off and the
 * cache is on (OpenSSL's SSL_OP_NO_TICKET).  Their sessions live in the store alone when there is
 * one, else in the cache, so that one place knows whether a ticket was used: a stateful ticket
 * resumes once.  Its session is forgotten as soon as a ClientHello proves it holds the PSK (the
 * binder verified, never on the mere sight of the identity, which travels in the clear), as RFC
 * 8446 8.1 and C.4 recommend: a ticket copied off the wire or out of a client is good for nothing
 * once its owner used it, and with psk_ke a deleted PSK gives the resumed connection forward
 * secrecy.  (OpenSSL deletes only when it accepts 0-RTT, which we do not; the cost here is a
 * full handshake for a client that offers a ticket twice, which RFC 8446 C.4 tells clients not to
 * do.)  Without a remove callback a store cannot forget, and its tickets resume until they expire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hs.h"

static bool same_name(const char *a, const char *b)
{
    return strcasecmp(a ? a : "", b ? b : "") == 0;
}

/* The digest of the verification context a session made by this connection is bound to.
 * SHA-256 of what decides whether a peer is accepted: the role; the verify mode (a server's
 * mtls_verify_mode, a client's insecure flags); the anchors that verify the peer (digested when
 * the config was frozen); a digest of the name a client checks (empty when it checks none); the
 * application's session context.  Fixed-size fields, so the encoding is unambiguous. */
static bool verify_context(const hs_env *env, uint8_t out[32])
{
    static const char label[] = "mtls session verification context 1";
    const mtls_config *cfg = env->cfg;
    const char *server_name = env->info->server_name;
    uint8_t buf[sizeof(label) + 2 + 32 + 32 + 1 + MTLS_SESSION_CONTEXT_MAX + 4];
    uint8_t name_digest[32];
    const char *name = "";
    if (!env->is_server && !env->skip_hostname)
        name = env->verify_name ? env->verify_name : server_name ? server_name : "";
    if (!cry_hash_oneshot(CRY_SHA256, name, strlen(name), name_digest))
        return false;
    wr w = wr_fixed(buf, sizeof(buf));
    wr_bytes(&w, label, sizeof(label));
    if (env->is_server) {
        wr_u8(&w, 'S');
        wr_u8(&w, (uint8_t)cfg->verify_client);
        wr_bytes(&w, cfg->client_ca_digest, 32);
    } else {
        wr_u8(&w, 'C');
        wr_u8(&w, (uint8_t)((cfg->insecure ? 1 : 0) | (env->skip_hostname ? 2 : 0)));
        wr_bytes(&w, cfg->ca_digest, 32);
    }
    wr_bytes(&w, name_digest, 32);
    wr_u8(&w, (uint8_t)cfg->session_ctx_len);
    wr_bytes(&w, cfg->session_ctx, cfg->session_ctx_len);
    /* Revocation: the CRL mode in force and a client's OCSP settings, never the CRLs themselves
     * (see the top of this file).  Only when any is set, so that the context of a config without
     * them is what it was; the tag after the length-prefixed context keeps the encoding
     * unambiguous. */
    unsigned mode = config_revocation(cfg);
    uint8_t ocsp = env->is_server ? 0
                                  : (uint8_t)((cfg->ocsp_request ? 1 : 0) |
                                              (cfg->ocsp_required ? 2 : 0));
    if (mode || ocsp) {
        wr_u8(&w, 'R');
        wr_u16(&w, (uint16_t)mode);
        wr_u8(&w, ocsp);
    }
    return wr_ok(&w) && cry_hash_oneshot(CRY_SHA256, buf, w.len, out);
}

static bool same_context(const hs_env *env, const mtls_session *s)
{
    uint8_t ours[32];
    return verify_context(env, ours) && memcmp(ours, s->vctx, 32) == 0;
}

/* A new reference to the session's peer leaf, parsed; NULL when it has none. */
static mtls_err session_leaf(const mtls_config *cfg, const mtls_session *s, x509_cert **out)
{
    *out = NULL;
    if (!s->peer_cert_len)
        return MTLS_OK;
    /* A session made in this process carries its parsed leaf: no second parse. */
    if ((*out = x509_cert_up_ref(s->peer_leaf)))
        return MTLS_OK;
    return x509_cache_parse(cfg->certs, s->peer_cert, s->peer_cert_len, out);
}

/* The session's leaf becomes the connection's peer chain (one certificate), for the getters. */
static mtls_err adopt_peer(struct hs *hs, const mtls_session *s)
{
    hs_info *info = hs->info;
    if (info->peer_chain || !s->peer_cert_len)
        return MTLS_OK;
    x509_cert *cert;
    mtls_err err = session_leaf(hs->cfg, s, &cert);
    if (err)
        return err;
    info->peer_chain = mem_calloc(1, sizeof(*info->peer_chain));
    if (!info->peer_chain) {
        x509_cert_free(cert);
        return MTLS_ERR_NO_MEMORY;
    }
    info->peer_chain[0] = cert;
    info->peer_chain_len = 1;
    info->peer_cert_presented = true;
    return MTLS_OK;
}

static void drop_peer(hs_info *info)
{
    x509_chain_free(info->peer_chain, info->peer_chain_len);
    info->peer_chain = NULL;
    info->peer_chain_len = 0;
    info->peer_cert_presented = false;
}

/* The application's verify callback judges the resumed peer (its stored leaf, adopted as the
 * peer chain), with mtls_conn_resumed answering true during the call.  MTLS_OK, or the certificate
 * error to fail with and a sentence in `detail`. */
static mtls_err recheck_peer(struct hs *hs, char *detail, size_t cap)
{
    const mtls_config *cfg = hs->cfg;
    hs_info *info = hs->info;
    if (!cfg->verify_cb || !info->peer_chain_len)
        return MTLS_OK;
    bool resumed = info->resumed;
    info->resumed = true;
    mtls_err verdict = cfg->verify_cb(cfg->verify_arg, hs->env->conn, MTLS_OK);
    info->resumed = resumed;
    if (verdict == MTLS_OK) {
        hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, MTLS_OK, MTLS_TRACE_RESUMED, '*',
                      "CertificateCheck", "ok on resumption: the verify callback accepts %s",
                      x509_cert_subject(info->peer_chain[0]));
        return MTLS_OK;
    }
    if (!err_is_certificate(verdict))
        verdict = MTLS_ERR_CERT_REJECTED;
    snprintf(detail, cap, "the application's verify callback rejected %s on resumption",
             x509_cert_subject(info->peer_chain[0]));
    return verdict;
}

/* Is `c` one of the trust anchors (same DER)? */
static bool is_anchor(const x509_store *anchors, const x509_cert *c)
{
    size_t len, n = x509_store_count(anchors);
    const uint8_t *der = x509_cert_der(c, &len);
    for (size_t i = 0; i < n; i++) {
        size_t alen;
        const uint8_t *a = x509_cert_der(x509_store_get(anchors, i), &alen);
        if (alen == len && memcmp(a, der, len) == 0)
            return true;
    }
    return false;
}

/* The session's peer against the CRLs of the mode in force now: `leaf` -- or, in chain mode,
 * every certificate of the stored path but the anchor -- each with its issuer on that path.
 * MTLS_OK (also when no CRLs are checked), or the error and a sentence in `detail` that names the
 * certificate, its serial, and when, why and by which CRL it was revoked. */
static mtls_err recheck_revocation(struct hs *hs, const mtls_session *s, const x509_cert *leaf,
                                   char *detail, size_t cap)
{
    const mtls_config *cfg = hs->cfg;
    x509_verify_params p;
    memset(&p, 0, sizeof(p));
    config_crl_params(cfg, &p);
    /* Nothing to check: no CRLs, no peer certificate, or a client that verifies nothing. */
    if (!p.crls || !leaf || (!hs->env->is_server && cfg->insecure))
        return MTLS_OK;
    x509_cert **up = NULL;
    size_t n = 0;
    mtls_err err = session_issuers(s, cfg->certs, &up, &n);
    if (err) {
        snprintf(detail, cap, "the certificates above its peer's certificate cannot be read");
        return err;
    }
    if (n == 0) {
        /* Nothing above the leaf: it was itself a trust anchor, which is never checked. */
        const x509_store *anchors =
            hs->env->is_server && cfg->client_ca ? cfg->client_ca : cfg->ca;
        if (is_anchor(anchors, leaf))
            return MTLS_OK;
        snprintf(detail, cap, "the session keeps no issuer of %s to check its CRL with",
                 x509_cert_subject(leaf));
        return MTLS_ERR_CRL_MISSING;
    }
    size_t checks = p.crl_scope == X509_CRL_CHAIN ? n : 1;
    int64_t now = config_now(cfg);
    for (size_t i = 0; i < checks && !err; i++) {
        const x509_cert *cert = i == 0 ? leaf : up[i - 1];
        x509_revocation r;
        err = x509_crls_check(p.crls, cert, up[i], now, &r);
        if (err == MTLS_ERR_CRL_MISSING && p.crl_soft_fail)
            err = MTLS_OK;
        if (err)
            x509_revocation_describe(&r, cert, detail, cap);
    }
    x509_chain_free(up, n);
    return err;
}

mtls_session *hs_session_to_offer(struct hs *hs)
{
    mtls_session *s = hs->env->offer;
    const mtls_config *cfg = hs->cfg;
    if (!s)
        return NULL;
    const char *why = NULL;
    if (session_expired(s, config_now(cfg)))
        why = "it has expired";
    else if (!hs_list_has(cfg->suites, cfg->n_suites, s->suite))
        why = "its cipher suite is no longer enabled";
    else if (!same_name(s->sni, hs->info->server_name))
        why = "it was made for another server name";
    else if (s->version == MTLS_VERSION_TLS12 && !s->ems)
        /* RFC 7627 5.3: without EMS a session's master secret is not bound to its handshake, so
         * a man in the middle could have synchronised it with another session (triple
         * handshake); such sessions are not offered.  (TLS 1.3 binds its resumption secret to
         * the whole transcript.) */
        why = "it was made without extended master secret";
    else if (s->id_len == 0 && s->ticket_len == 0)
        why = "it has neither a session id nor a ticket";
    else if (!same_context(hs->env, s))
        why = "it was verified under another verification context (other trust anchors, "
              "insecure flags, session context or name to verify)";
    x509_cert *leaf = NULL;
    char detail[2048];
    if (!why && session_leaf(cfg, s, &leaf))
        why = "its server certificate cannot be read";
    else if (!why && leaf && config_now(cfg) > x509_cert_not_after(leaf))
        why = "the server certificate it carries has expired";
    else if (!why && recheck_revocation(hs, s, leaf, detail, sizeof(detail)) != MTLS_OK)
        why = detail; /* a full handshake verifies the server's certificate of today */
    x509_cert_free(leaf);
    if (why) {
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK,
                      s->ticket_len ? MTLS_TRACE_TICKET : 0, '*', "Resumption",
                      "not offering the saved session: %s", why);
        return NULL;
    }
    return s;
}

/* Server: the live session stored under `id` in the session cache (unless `cache` is false) or,
 * when it is not there, in the application's store (*from says which); NULL when neither has
 * one.  A store that answers with a session of another id is not believed. */
static mtls_session *stored_session(const mtls_config *cfg, const uint8_t *id, size_t id_len,
                                    bool cache, int64_t now, const char **from)
{
    *from = "session cache";
    mtls_session *s = cache ? cache_get(cfg->cache, id, id_len, now) : NULL;
    if (s || !cfg->lookup)
        return s;
    *from = "session store";
    uint8_t buf[8192];
    size_t n = cfg->lookup(cfg->store_arg, id, id_len, buf, sizeof(buf));
    if (n && n <= sizeof(buf))
        s = session_decode(buf, n, false);
    cry_wipe(buf, sizeof(buf));
    if (s && (session_expired(s, now) || s->id_len != id_len || memcmp(s->id, id, id_len) != 0)) {
        mtls_session_free(s);
        s = NULL;
    }
    return s;
}

/* Server: `s` into the session cache (when `cache`) and the application's store, under its id. */
static void keep_session(const mtls_config *cfg, mtls_session *s, bool cache)
{
    if (cache)
        cache_put(cfg->cache, s, s->created);
    if (!cfg->store)
        return;
    uint8_t buf[8192];
    wr w = wr_fixed(buf, sizeof(buf));
    if (session_encode(s, false, &w))
        cfg->store(cfg->store_arg, s->id, s->id_len, buf, w.len,
                   s->created + (int64_t)s->lifetime);
    cry_wipe(buf, sizeof(buf));
}

mtls_err hs_session_lookup(struct hs *hs, const uint8_t *sid, size_t sid_len, const hello_exts *e,
                           rd suites, mtls_session **out)
{
    *out = NULL;
    const mtls_config *cfg = hs->cfg;
    hs_info *info = hs->info;
    int64_t now = config_now(cfg);
    mtls_session *s = NULL;
    const char *from = NULL;
    unsigned by_ticket = 0; /* the trace's MTLS_TRACE_TICKET */
    if (cfg->tickets && e->session_ticket.present && e->session_ticket.data.n) {
        s = ticket_open(cfg->tkeys, e->session_ticket.data.p, e->session_ticket.data.n, now,
                        cfg->session_lifetime);
        from = "ticket";
        by_ticket = s ? MTLS_TRACE_TICKET : 0;
        if (!s)
            hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK,
                          MTLS_TRACE_TICKET, '*', "Resumption",
                          "the client's ticket does not open (unknown key, tampered or expired): "
                          "full handshake");
    }
    if (!s && sid_len)
        s = stored_session(cfg, sid, sid_len, true, now, &from);
    if (!s)
        return MTLS_OK;
    if (s->version != MTLS_VERSION_TLS12) {
        /* A TLS 1.3 session (a stateful ticket) shares the cache and the store, under an id a
         * TLS 1.2 hello could name: never a TLS 1.2 master secret, and none of the checks below
         * (which would refuse the hello for a suite it need not offer). */
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK, by_ticket,
                      '*', "Resumption",
                      "session from the %s refused: another protocol version; full handshake",
                      from);
        mtls_session_free(s);
        return MTLS_OK;
    }
    if (s->ems && !e->ems.present) {
        /* RFC 7627 5.3: "If the original session used the "extended_master_secret" extension
         * but the new ClientHello does not contain it, the server MUST abort the abbreviated
         * handshake."  A client that had EMS and drops it is broken or being downgraded. */
        mtls_session_free(s);
        return hs_err(hs, MTLS_ERR_EMS_REQUIRED,
                      "the client offered a session made with extended master secret in a "
                      "ClientHello without the extension (RFC 7627 5.3)");
    }
    if (!hs_wire_list_has(suites, s->suite)) {
        /* RFC 5246 7.4.1.2: a client resuming a session "MUST include at least the cipher_suite
         * from that session" (OpenSSL, tlsfuzzer: illegal_parameter). */
        uint16_t suite = s->suite;
        mtls_session_free(s);
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the client asks to resume a session without offering its cipher suite "
                      "0x%04x (RFC 5246 7.4.1.2)",
                      suite);
    }
    const char *why = NULL;
    if (!hs_list_has(cfg->suites, cfg->n_suites, s->suite))
        why = "its cipher suite is no longer allowed";
    else if (!s->ems)
        /* RFC 7627 5.3: a session without EMS is not resumed, whether or not the new hello has
         * the extension (with it, the RFC says MUST NOT; without, SHOULD NOT): full handshake. */
        why = "it was made without extended master secret";
    else if (!same_name(s->sni, info->server_name))
        why = "it was made for another server name";
    else if (cfg->verify_client == MTLS_VERIFY_REQUIRE && !s->peer_cert_len)
        why = "it has no client certificate and one is required";
    else if (!same_context(hs->env, s))
        /* Its client was verified against other anchors, in another mode or for another
         * application context: this config has not accepted that identity. */
        why = "it was made under another verification context (other client CAs, verify mode "
              "or session context)";
    /* The stored client certificate, re-checked before we agree to resume. */
    char detail[2048] = "";
    if (!why) {
        mtls_err err = adopt_peer(hs, s);
        if (err == MTLS_ERR_NO_MEMORY) {
            mtls_session_free(s);
            return hs_err(hs, err, "out of memory reading the session's client certificate");
        }
        if (err)
            why = "its client certificate cannot be read";
        else if (info->peer_chain_len && now > x509_cert_not_after(info->peer_chain[0]))
            why = "the client certificate it carries has expired";
        else if (recheck_revocation(hs, s, info->peer_chain_len ? info->peer_chain[0] : NULL,
                                    detail, sizeof(detail)) != MTLS_OK)
            why = detail; /* the full handshake refuses the certificate with its alert */
        else if (recheck_peer(hs, detail, sizeof(detail)) != MTLS_OK)
            why = detail;
    }
    if (why) {
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK, by_ticket,
                      '*', "Resumption", "session from the %s refused: %s; full handshake", from,
                      why);
        drop_peer(info);
        mtls_session_free(s);
        return MTLS_OK;
    }
    hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUMED, MTLS_OK, by_ticket, '*',
                  "Resumption", "resuming the session found in the %s", from);
    *out = s;
    return MTLS_OK;
}

mtls_err hs_adopt_session(struct hs *hs, mtls_session *s)
{
    hs_info *info = hs->info;
    memcpy(hs->k12.master, s->master, 48);
    info->ems = s->ems;
    info->resumed = true;
    /* Not the session's ALPN: RFC 7301 3.1, "When session resumption or session tickets are used,
     * the previous contents of this extension are irrelevant, and only the values in the new
     * handshake messages are considered."  The server answers what the new ClientHello offers
     * (nothing unsolicited, RFC 5246 7.4.1.4); the client reports what the ServerHello chose. */
    mtls_err err = adopt_peer(hs, s); /* a server did so already, in hs_session_lookup */
    if (err)
        return err;
    if (!hs->env->is_server) {
        /* The server has accepted the session we offered; our verify callback has the last word
         * on the identity it carries. */
        char detail[300];
        mtls_err verdict = recheck_peer(hs, detail, sizeof(detail));
        if (verdict != MTLS_OK) {
            hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, verdict, MTLS_TRACE_RESUMED,
                          '*', "CertificateCheck", "FAILED: %s", detail);
            drop_peer(info);
            return hs_err(hs, verdict, "%s", detail);
        }
    }
    hs->proofs |= PROOF_RESUMED;
    return MTLS_OK;
}

bool hs_session_copy_issuers(mtls_session *s, const mtls_session *old)
{
    if (!old)
        return true;
    if (old->n_peer_issuers)
        return session_set_issuers(s, old->peer_issuers, old->n_peer_issuers);
    if (old->peer_issuers_der_len) {
        if (!(s->peer_issuers_der = mem_alloc(old->peer_issuers_der_len)))
            return false;
        memcpy(s->peer_issuers_der, old->peer_issuers_der, old->peer_issuers_der_len);
        s->peer_issuers_der_len = old->peer_issuers_der_len;
    }
    return true;
}

/* The path above the peer's leaf, for recheck_revocation: from this handshake's verification
 * (status.c), or on a resumption from the session resumed. */
bool hs_session_keep_issuers(struct hs *hs, mtls_session *s)
{
    if (hs->status.n_issuers)
        return session_set_issuers(s, hs->status.issuers, hs->status.n_issuers);
    return hs_session_copy_issuers(s, hs->info->resumed ? hs->resume : NULL);
}

static mtls_session *session_from_hs(struct hs *hs)
{
    const hs_info *info = hs->info;
    mtls_session *s = session_new();
    if (!s)
        return NULL;
    s->version = info->version;
    s->suite = info->suite;
    s->ems = info->ems;
    memcpy(s->master, hs->k12.master, 48);
    s->created = config_now(hs->cfg);
    s->lifetime = hs->cfg->session_lifetime;
    if (!verify_context(hs->env, s->vctx)) {
        mtls_session_free(s);
        return NULL;
    }
    memcpy(s->id, hs->session_id, hs->session_id_len);
    s->id_len = hs->session_id_len;
    if ((info->server_name && !(s->sni = mem_strdup(info->server_name))) ||
        (info->alpn && !(s->alpn = mem_strdup(info->alpn)))) {
        mtls_session_free(s);
        return NULL;
    }
    if (info->peer_chain_len) {
        size_t len;
        const uint8_t *der = x509_cert_der(info->peer_chain[0], &len);
        /* a view into the leaf the session keeps: no second copy of the DER */
        s->peer_leaf = x509_cert_up_ref(info->peer_chain[0]);
        s->peer_cert = der;
        s->peer_cert_len = len;
    }
    if (!hs_session_keep_issuers(hs, s)) {
        mtls_session_free(s);
        return NULL;
    }
    return s;
}

mtls_err hs_session_finish(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    hs_info *info = hs->info;
    bool server = hs->env->is_server;
    uint8_t *new_ticket = server ? NULL : hs->c12.new_ticket;
    mtls_session *s;
    if (info->resumed && !new_ticket) {
        s = session_ref(hs->resume);
    } else {
        s = session_from_hs(hs);
        if (!s)
            return MTLS_ERR_NO_MEMORY;
        if (info->resumed) { /* a renewed ticket for the same session: keep its birth time */
            s->created = hs->resume->created;
            s->lifetime = hs->resume->lifetime;
        }
    }
    if (new_ticket) {
        mem_free(s->ticket);
        s->ticket = new_ticket;
        s->ticket_len = hs->c12.new_ticket_len;
        s->ticket_hint = hs->c12.new_ticket_hint;
        hs->c12.new_ticket = NULL;
    }
    if (server && !info->resumed && s->id_len)
        keep_session(cfg, s, true);
    mtls_session_free(info->session);
    info->session = s;
    return MTLS_OK;
}

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
    if (!verify_context(hs->env, s->vctx) ||
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
    if (!hs_session_keep_issuers(hs, s)) {
        mtls_session_free(s);
        return NULL;
    }
    return s;
}

mtls_err hs_ticket_make(struct hs *hs, uint8_t **ticket, size_t *len)
{
    const mtls_config *cfg = hs->cfg;
    *ticket = NULL;
    *len = 0;
    mtls_session *s = state_for_ticket(hs);
    if (!s)
        return MTLS_ERR_NO_MEMORY;
    /* A ticket that cannot be made (state too large) is sent empty: RFC 5077 3.3 allows it. */
    if (ticket_seal(cfg->tkeys, s, config_now(cfg), cfg->session_lifetime, ticket, len)) {
        *ticket = NULL;
        *len = 0;
    }
    mtls_session_free(s);
    return MTLS_OK;
}

/* ---- TLS 1.3 (RFC 8446 2.2, 4.2.11, 4.6.1) ------------------------------------------------- */

/* RFC 8446 8.3 leaves the tolerance to the server ("a small tolerance"): the client's idea of
 * the ticket's age may differ from ours by 10 seconds plus 1% of the age -- the round trip and
 * clock drift of a day-old ticket fit, a ticket replayed much later does not.  Our clock counts
 * seconds, which the 10 seconds absorb. */
#define HS13_AGE_TOLERANCE_MS 10000u

mtls_session *hs13_session_new(const hs_env *env, uint16_t suite, const uint8_t *psk, size_t len,
                               int64_t created)
{
    const hs_info *info = env->info;
    mtls_session *s = session_new();
    if (!s)
        return NULL;
    s->version = MTLS_VERSION_TLS13;
    s->suite = suite;
    memcpy(s->master, psk, len);
    s->created = created;
    s->lifetime = env->cfg->session_lifetime;
    if (!verify_context(env, s->vctx) ||
        (info->server_name && !(s->sni = mem_strdup(info->server_name))) ||
        (info->alpn && !(s->alpn = mem_strdup(info->alpn)))) {
        mtls_session_free(s);
        return NULL;
    }
    if (info->peer_chain_len) {
        size_t der_len;
        const uint8_t *der = x509_cert_der(info->peer_chain[0], &der_len);
        /* a view into the leaf the session keeps: no second copy of the DER */
        s->peer_leaf = x509_cert_up_ref(info->peer_chain[0]);
        s->peer_cert = der;
        s->peer_cert_len = der_len;
    }
    return s;
}

mtls_session *hs13_session_lookup(struct hs *hs, rd identity, uint32_t obfuscated_age,
                                  cry_hash_alg prf)
{
    const mtls_config *cfg = hs->cfg;
    hs_info *info = hs->info;
    int64_t now = config_now(cfg);
    mtls_session *s = NULL;
    const char *from = "ticket";
    if (hs13_stateful_tickets(cfg) && identity.n == HS13_TICKET_ID_LEN) {
        /* Our stateful tickets are session ids (a sealed ticket is longer than any id). */
        if (!(s = stored_session(cfg, identity.p, identity.n, !cfg->store, now, &from)))
            hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK,
                          MTLS_TRACE_TICKET, '*', "Resumption",
                          "the client's ticket names no session in the %s (used once "
                          "already, expired, evicted, or not ours): full handshake",
                          cfg->store ? "session store" : "session cache");
    } else if (cfg->tickets) {
        s = ticket_open(cfg->tkeys, identity.p, identity.n, now, cfg->session_lifetime);
        if (!s)
            hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK,
                          MTLS_TRACE_TICKET, '*', "Resumption",
                          "the client's ticket does not open (unknown key, tampered or expired): "
                          "full handshake");
    }
    if (!s)
        return NULL;
    /* 4.2.11.1: the client's age of the ticket, in ms, is obfuscated_ticket_age - age_add
     * (mod 2^32); ours is the time since we issued it. */
    uint64_t ours = now > s->issued ? (uint64_t)(now - s->issued) * 1000u : 0;
    uint64_t theirs = (uint32_t)(obfuscated_age - s->age_add);
    uint64_t diff = ours > theirs ? ours - theirs : theirs - ours;
    const char *why = NULL;
    if (s->version != MTLS_VERSION_TLS13)
        why = "another protocol version";
    else if (!hs_list_has(cfg->suites, cfg->n_suites, s->suite))
        why = "its cipher suite is no longer allowed";
    else if (suite_find(s->suite)->prf != prf)
        /* RFC 8446 4.2.11: "the server MUST ensure that it selects a compatible PSK (if any) and
         * cipher suite" -- one hash for both. */
        why = "its hash is not the one of the suite chosen";
    else if (diff > HS13_AGE_TOLERANCE_MS + ours / 100)
        why = "the ticket's age as the client tells it is not ours (replayed or a wrong clock)";
    else if (!same_name(s->sni, info->server_name))
        why = "it was made for another server name";
    else if (cfg->verify_client == MTLS_VERIFY_REQUIRE && !s->peer_cert_len)
        why = "it has no client certificate and one is required";
    else if (!same_context(hs->env, s))
        why = "it was made under another verification context (other client CAs, verify mode "
              "or session context)";
    char detail[2048] = "";
    if (!why) {
        mtls_err err = adopt_peer(hs, s);
        if (err)
            why = "its client certificate cannot be read";
        else if (info->peer_chain_len && now > x509_cert_not_after(info->peer_chain[0]))
            why = "the client certificate it carries has expired";
        else if (recheck_revocation(hs, s, info->peer_chain_len ? info->peer_chain[0] : NULL,
                                    detail, sizeof(detail)) != MTLS_OK)
            why = detail; /* the full handshake refuses the certificate with its alert */
        else if (recheck_peer(hs, detail, sizeof(detail)) != MTLS_OK)
            why = detail;
    }
    if (why) {
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK,
                      MTLS_TRACE_TICKET, '*', "Resumption",
                      "session from the %s refused: %s; full handshake", from, why);
        drop_peer(info);
        mtls_session_free(s);
        return NULL;
    }
    hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUMED, MTLS_OK, MTLS_TRACE_TICKET,
                  '*', "Resumption",
                  "resuming the session found in the %s (a TLS 1.3 pre-shared key, if its binder "
                  "verifies%s)",
                  from, s->id_len ? "; a stateful ticket, used once" : "");
    return s;
}

bool hs13_stateful_tickets(const mtls_config *cfg)
{
    return cfg->store || (!cfg->tickets && cfg->cache);
}

bool hs13_resumption_on(const mtls_config *cfg)
{
    return cfg->tickets || hs13_stateful_tickets(cfg);
}

mtls_err hs13_ticket_make(struct hs *hs, mtls_session *s, uint8_t **ticket, size_t *len)
{
    const mtls_config *cfg = hs->cfg;
    *ticket = NULL;
    *len = 0;
    if (!hs13_stateful_tickets(cfg))
        return ticket_seal(cfg->tkeys, s, config_now(cfg), cfg->session_lifetime, ticket, len);
    /* RFC 8446 4.6.1: the ticket "MAY be either a database lookup key or a self-encrypted and
     * self-authenticated value"; ours is a random session id, the key of `s` in the cache and
     * the store. */
    if (!cry_random(s->id, HS13_TICKET_ID_LEN))
        return MTLS_ERR_RNG;
    s->id_len = HS13_TICKET_ID_LEN;
    if (!(*ticket = mem_alloc(HS13_TICKET_ID_LEN)))
        return MTLS_ERR_NO_MEMORY;
    memcpy(*ticket, s->id, HS13_TICKET_ID_LEN);
    *len = HS13_TICKET_ID_LEN;
    keep_session(cfg, s, !cfg->store);
    return MTLS_OK;
}

void hs13_session_used(struct hs *hs, const mtls_session *s)
{
    const mtls_config *cfg = hs->cfg;
    if (!s->id_len)
        return; /* a sealed ticket: nothing kept, nothing to forget */
    if (!cfg->store)
        cache_remove(cfg->cache, s->id, s->id_len);
    else if (cfg->remove)
        cfg->remove(cfg->store_arg, s->id, s->id_len);
}

mtls_err hs13_adopt_session(struct hs *hs, mtls_session *s)
{
    hs_info *info = hs->info;
    info->resumed = true;
    mtls_err err = adopt_peer(hs, s); /* a server did so already, in hs13_session_lookup */
    if (err)
        return err;
    if (!hs->env->is_server) {
        /* The server has accepted the ticket we offered; our verify callback has the last word
         * on the identity it carries. */
        char detail[300];
        mtls_err verdict = recheck_peer(hs, detail, sizeof(detail));
        if (verdict != MTLS_OK) {
            hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, verdict, MTLS_TRACE_RESUMED,
                          '*', "CertificateCheck", "FAILED: %s", detail);
            drop_peer(info);
            return hs_err(hs, verdict, "%s", detail);
        }
    }
    hs->proofs |= PROOF_RESUMED;
    return MTLS_OK;
}
