/*
 * server13.c -- the TLS 1.3 server, one handler per state, in the order of RFC 8446 2 and 4:
 *
 *   1. read ClientHello (parsed by version.c, which chose TLS 1.3): suite, group, signature
 *      scheme, server name, ALPN, and a ticket offered as pre-shared key (resume.c), its binder
 *      checked in constant time -- or, when the client sent no key share for the group we
 *      choose, send a HelloRetryRequest (with a cookie) and read the second ClientHello, once
 *   2. send ServerHello, [ChangeCipherSpec], then under the handshake key EncryptedExtensions,
 *      [CertificateRequest], [Certificate, CertificateVerify] (not with a PSK), Finished; the
 *      application key installed for writing, the client's handshake key for reading (the
 *      application's key method may sign the CertificateVerify later: S13_SEND_CERT_VERIFY
 *      waits for it, keyop.c)
 *   3. read the client's Certificate and CertificateVerify when we asked (an empty Certificate
 *      in require mode is certificate_required)
 *   4. read the client's Finished; send the NewSessionTicket messages; established
 *
 * After the handshake post13.c runs post-handshake authentication (4.6.2) with this file's
 * CertificateRequest and client Certificate / CertificateVerify readers (hs13_send_cert_request,
 * hs13_server_read_client_cert, hs13_server_read_client_cert_verify), in a negotiation of its own.
 *
 * Choices, in our preference order (mtls_config_set_prefer_client_order: the client's for
 * suites): the suite is the first TLS 1.3 suite of ours the client offers -- of the PSK's hash
 * when a ticket is acceptable, so that it resumes; the group is the first of ours in the client's
 * supported_groups, whatever groups it sent key shares for: when it sent none for that group we
 * ask for one (HelloRetryRequest).  Our groups are a strict order, so no two are equally preferred
 * and a share the client already sent never outweighs our preference (a client that follows the
 * common defaults, X25519 first, pays no round trip).  The signature scheme is the first of ours
 * the client offers that fits our key in TLS 1.3 (RSA-PSS for RSA, the curve's ECDSA scheme).
 *
 * Middlebox compatibility (D.4): a client that sent a legacy_session_id gets it echoed and one
 * ChangeCipherSpec after our first message (ServerHello or HelloRetryRequest); one of its own is
 * dropped between its first ClientHello and its Finished.  A client's early_data is declined (no
 * answer in EncryptedExtensions) and its 0-RTT records skipped (RFC 8446 4.2.10).
 */
#include <string.h>

#include "hs.h"

/* RFC 8446 4.2.10: "up to the configured max_early_data_size" of 0-RTT records skipped; we
 * configure none, so this bounds what a client may have sent anyway. */
#define HS13_EARLY_DATA_SKIP (16 * 1024)

typedef enum {
    S13_READ_CLIENT_HELLO,
    S13_SEND_HELLO_RETRY_REQUEST,
    S13_READ_SECOND_CLIENT_HELLO,
    S13_SEND_SERVER_FLIGHT,
    S13_SEND_CERT_VERIFY, /* the rest of the flight, from the CertificateVerify's signature on */
    S13_READ_CLIENT_CERT,
    S13_READ_CLIENT_CERT_VERIFY,
    S13_READ_FINISHED,
    S13_STATE_COUNT
} s13_state;

/* The TLS 1.3 suite to use: ours in our order (or the client's), offered, of hash `prf` unless
 * any_hash. */
static const suite_info *choose_suite(struct hs *hs, rd offered, bool any_hash, cry_hash_alg prf)
{
    const mtls_config *cfg = hs->cfg;
    const suite_info *best = NULL;
    size_t best_pos = SIZE_MAX;
    for (size_t j = 0; j < cfg->n_suites; j++) {
        const suite_info *s = suite_find(cfg->suites[j]);
        if (!s || !s->tls13 || (!any_hash && s->prf != prf))
            continue;
        for (size_t i = 0; i + 1 < offered.n; i += 2) {
            if (be16_get(offered.p + i) != s->id)
                continue;
            if (!cfg->prefer_client_order)
                return s;
            if (i < best_pos) {
                best = s;
                best_pos = i;
            }
            break;
        }
    }
    return best;
}

/* What the ClientHello offers, read once per hello. */
struct offer13 {
    const suite_info *suite;
    uint16_t group;         /* ours: 0 when none in common */
    const ext_share *share; /* the client's share for `group`, NULL when it sent none */
    bool psk_ke, psk_dhe_ke; /* the client's psk_key_exchange_modes */
};

/* Try the client's pre-shared keys for `suite`: the first ticket that resume.c accepts has its
 * binder checked (4.2.11.2: over the hello up to the binders, after a HelloRetryRequest over
 * message_hash and the HelloRetryRequest too) and becomes hs->resume, with the key schedule at
 * its early stage.  A binder that does not verify ends the handshake (4.2.11: "MUST abort"). */
static mtls_err try_psk(struct hs *hs, const msg *m, const ext_psk_offer *offer,
                        const suite_info *suite)
{
    for (size_t i = 0; i < offer->n && i < 8; i++) {
        rd identity, binder;
        uint32_t age;
        ext_psk_offer_get(offer, i, &identity, &age, &binder);
        mtls_session *s = hs13_session_lookup(hs, identity, age, suite->prf);
        if (!s)
            continue;
        uint8_t th[KS13_MAX_HASH];
        mtls_err err = hs13_partial_hash(hs, suite->prf, m->raw, m->raw_len - offer->binders_len,
                                         th);
        if (!err && !(err = ks13_init(&hs->k13, suite->prf)) &&
            !(err = ks13_early(&hs->k13, s->master, cry_hash_len(suite->prf))))
            err = ks13_binder_check(&hs->k13, false, th, binder.p, binder.n);
        if (err) {
            mtls_session_free(s);
            ks13_clear(&hs->k13);
            /* 6.2: "decrypt_error: ... including ... a PSK binder" */
            return err == MTLS_ERR_BAD_FINISHED
                       ? hs_err(hs, err, "the binder of the client's pre-shared key #%zu does not "
                                         "verify: it does not hold the ticket's key",
                                i + 1)
                       : err;
        }
        /* A stateful ticket resumes once: forgotten now that its holder proved the key (a
         * hello that merely names the ticket must not make it useless to its owner). */
        hs13_session_used(hs, s);
        hs->resume = s;
        hs->s13.psk_index = (uint16_t)i;
        return MTLS_OK;
    }
    return MTLS_OK;
}

/* The suite, and the ticket to resume if one fits (RFC 8446 4.2.11: "the server MUST ensure that
 * it selects a compatible PSK (if any) and cipher suite"): our preferred suite, or the preferred
 * one of another hash when that is what the ticket needs. */
static mtls_err choose_suite_and_psk(struct hs *hs, const msg *m,
                                     const struct msg_client_hello *ch, struct offer13 *o)
{
    const mtls_config *cfg = hs->cfg;
    const hello_exts *e = &ch->exts;
    o->suite = hs->hrr ? suite_find(hs->hrr_suite) : choose_suite(hs, ch->cipher_suites, true, 0);
    if (!o->suite)
        return hs_err(hs, MTLS_ERR_NO_SHARED_CIPHER,
                      "no TLS 1.3 cipher suite offered by the client is in our configuration");
    /* 4.1.4: after a HelloRetryRequest the suite is fixed; the client must offer it still. */
    if (hs->hrr && !hs_wire_list_has(ch->cipher_suites, hs->hrr_suite))
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the second ClientHello does not offer the suite of our HelloRetryRequest");
    if (!e->pre_shared_key.present || !hs13_resumption_on(cfg))
        return MTLS_OK;
    const char *why;
    ext_psk_offer offer;
    mtls_err err = ext_psk_offer_parse(e->pre_shared_key.data, &offer, &why);
    if (err)
        return hs_err(hs, err, "%s", why);
    /* 4.2.9: "Servers MUST NOT select a key exchange mode that is not listed by the client";
     * psk_dhe_ke needs a key share (a HelloRetryRequest first, and the binder then covers the
     * second hello), psk_ke our permission. */
    bool dhe = o->psk_dhe_ke && o->group && o->share, ke = o->psk_ke && cfg->psk_ke;
    if (!dhe && !ke) {
        if (!(o->psk_dhe_ke && o->group))
            hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_DECLINED, MTLS_OK,
                          MTLS_TRACE_TICKET, '*', "Resumption",
                          "the client's psk_key_exchange_modes allow no mode "
                          "we use (psk_ke is off): full handshake");
        return MTLS_OK;
    }
    if ((err = try_psk(hs, m, &offer, o->suite)) || hs->resume || hs->hrr)
        goto chosen;
    /* The ticket may be of the other hash: its suite, when the client offers one of ours. */
    const suite_info *other =
        choose_suite(hs, ch->cipher_suites, false,
                     o->suite->prf == CRY_SHA256 ? CRY_SHA384 : CRY_SHA256);
    if (other && !(err = try_psk(hs, m, &offer, other)) && hs->resume)
        o->suite = other;
chosen:
    if (!err && hs->resume)
        hs->s13.psk_ke = !dhe;
    return err;
}

/* RFC 8446 4.1.2: after a HelloRetryRequest "the client MUST send the same ClientHello without
 * modification, except as follows": a new key_share, early_data removed, the cookie added,
 * pre_shared_key updated, padding changed.  A digest of everything else -- the fixed fields and
 * every other extension in its order -- must come out the same for both hellos. */
static bool hello_digest(const struct msg_client_hello *ch, uint8_t out[32])
{
    cry_hash *h = cry_hash_new(CRY_SHA256);
    uint8_t fixed[2 + 32 + 1];
    be16_put(fixed, ch->client_version);
    memcpy(fixed + 2, ch->random, 32);
    fixed[34] = (uint8_t)ch->session_id.n;
    uint8_t lens[4];
    be16_put(lens, (uint16_t)ch->cipher_suites.n);
    be16_put(lens + 2, (uint16_t)ch->compression_methods.n);
    bool ok = h && cry_hash_update(h, fixed, sizeof(fixed)) &&
              cry_hash_update(h, ch->session_id.p, ch->session_id.n) &&
              cry_hash_update(h, lens, 4) &&
              cry_hash_update(h, ch->cipher_suites.p, ch->cipher_suites.n) &&
              cry_hash_update(h, ch->compression_methods.p, ch->compression_methods.n);
    rd exts = ch->extensions;
    while (ok && exts.n) {
        const uint8_t *start = exts.p;
        uint16_t type;
        rd data;
        ok = rd_u16(&exts, &type) && rd_vec16(&exts, &data);
        if (!ok || type == TLS_EXT_KEY_SHARE || type == TLS_EXT_EARLY_DATA ||
            type == TLS_EXT_COOKIE || type == TLS_EXT_PRE_SHARED_KEY || type == 21 /* padding */)
            continue;
        ok = cry_hash_update(h, start, (size_t)(exts.p - start));
    }
    ok = ok && cry_hash_peek(h, out);
    cry_hash_free(h);
    return ok;
}

/* Both ClientHellos: the checks and choices of RFC 8446 4.1.2 and 9.2.  The first may end in a
 * HelloRetryRequest; the second must then carry what it asked for. */
static mtls_err process_hello(struct hs *hs, const msg *m, const struct msg_client_hello *ch)
{
    const mtls_config *cfg = hs->cfg;
    const hello_exts *e = &ch->exts;
    struct s13 *s13 = &hs->s13;
    const char *why;
    mtls_err err;
    bool second = hs->hrr;
    uint8_t digest[32];
    if (!hello_digest(ch, digest))
        return MTLS_ERR_CRYPTO;
    if (!second) {
        memcpy(hs->client_random, ch->random, 32);
        memcpy(hs->info->client_random, ch->random, 32);
        memcpy(hs->session_id, ch->session_id.p, ch->session_id.n);
        hs->session_id_len = ch->session_id.n;
        s13->send_ccs = ch->session_id.n != 0; /* D.4: the client is in compatibility mode */
        memcpy(s13->ch1_digest, digest, 32);
    } else if (memcmp(digest, s13->ch1_digest, 32) != 0) {
        /* 4.1.2: the second hello is the first "without modification, except as follows"
         * (illegal_parameter, as OpenSSL and tlsfuzzer have it). */
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the second ClientHello differs from the first beyond what a "
                      "HelloRetryRequest allows (RFC 8446 4.1.2)");
    }
    /* 4.1.2: "For every TLS 1.3 ClientHello, this vector MUST contain exactly one byte, set to
     * zero ... If a TLS 1.3 ClientHello is received with any other value in this field, the
     * server MUST abort the handshake with an "illegal_parameter" alert." */
    if (ch->compression_methods.n != 1 || ch->compression_methods.p[0] != 0)
        return hs_err(hs, MTLS_ERR_BAD_COMPRESSION,
                      "a TLS 1.3 ClientHello must offer exactly null compression");
    /* 4.2.11: "Servers MUST check that it is the last extension and otherwise fail the handshake
     * with an "illegal_parameter" alert." */
    if (e->pre_shared_key.present && e->psk_not_last)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "pre_shared_key is not the last extension of the ClientHello");
    /* 9.2: "If containing a "supported_groups" extension, it MUST also contain a "key_share"
     * extension, and vice versa"; "if not containing a "pre_shared_key" extension, it MUST
     * contain both a "signature_algorithms" extension and a "supported_groups" extension";
     * 4.2.9: "A client MUST provide a "psk_key_exchange_modes" extension if it offers a
     * "pre_shared_key" extension.  If clients offer "pre_shared_key" without a
     * "psk_key_exchange_modes" extension, servers MUST abort the handshake." */
    const char *missing = e->supported_groups.present != e->key_share.present
                              ? (e->key_share.present ? "supported_groups" : "key_share")
                          : !e->pre_shared_key.present && !e->signature_algorithms.present
                              ? "signature_algorithms"
                          : !e->pre_shared_key.present && !e->supported_groups.present
                              ? "supported_groups and key_share"
                          : e->pre_shared_key.present && !e->psk_key_exchange_modes.present
                              ? "psk_key_exchange_modes (with pre_shared_key)"
                              : NULL;
    if (missing)
        return hs_err(hs, MTLS_ERR_MISSING_EXTENSION, "the TLS 1.3 ClientHello has no %s", missing);

    struct offer13 o = {0};
    ext_share shares[EXT_MAX_SHARES];
    size_t n_shares = 0;
    if (e->supported_groups.present &&
        (err = ext_groups_parse(e->supported_groups.data, s13->peer_groups, HS_MAX_PEER_LIST,
                                &s13->n_peer_groups, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->key_share.present &&
        (err = ext_key_share_ch_parse(e->key_share.data, shares, EXT_MAX_SHARES, &n_shares, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->signature_algorithms.present &&
        (err = ext_sigalgs_parse(e->signature_algorithms.data, s13->peer_sigalgs,
                                 HS_MAX_PEER_LIST, &s13->n_peer_sigalgs, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->psk_key_exchange_modes.present &&
        (err = ext_psk_modes_parse(e->psk_key_exchange_modes.data, &o.psk_ke, &o.psk_dhe_ke, &why)))
        return hs_err(hs, err, "%s", why);
    /* 4.2.8: "Each KeyShareEntry value MUST correspond to a group offered in the
     * "supported_groups" extension" (servers MAY check: we do, for every group named, those we
     * do not implement too, as OpenSSL does). */
    uint16_t unoffered;
    if (e->key_share.present &&
        !ext_key_share_ch_offered(e->key_share.data, e->supported_groups.data, &unoffered))
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "a key share for group 0x%04x, which supported_groups does not offer",
                      unoffered);
    if (second) {
        /* 4.2.2: the cookie we sent, echoed; 4.2.10: "A client MUST NOT include the
         * "early_data" extension in its followup ClientHello." */
        rd cookie = {NULL, 0};
        if (!e->cookie.present || ext_cookie_parse(e->cookie.data, &cookie, &why) ||
            cookie.n != sizeof(s13->cookie) || !cry_ct_equal(cookie.p, s13->cookie, cookie.n))
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "the second ClientHello does not echo our cookie");
        if (e->early_data.present)
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "early_data in the second ClientHello");
    } else {
        if (e->server_name.present && (err = hs_server_name_from_hello(hs, e->server_name.data)))
            return err;
        /* RFC 6066 3, as in TLS 1.2 (server12.c): the application decides; only a name it
         * accepted is acknowledged, in EncryptedExtensions. */
        if (cfg->sni_cb) {
            if (cfg->sni_cb(cfg->sni_arg, hs->env->conn, hs->info->server_name) != MTLS_OK)
                return hs_err(hs, MTLS_ERR_UNRECOGNIZED_NAME, "the application does not serve %s",
                              hs->info->server_name ? hs->info->server_name
                                                    : "clients that name no server");
            s13->sni_used = hs->info->server_name != NULL;
        }
        if (e->alpn.present && (err = hs_select_alpn(hs, e->alpn.data)))
            return err;
        /* RFC 8446 4.4.2.1: an OCSP staple in our Certificate, when asked for (status.c) */
        if ((err = hs_status_read_request(hs, &e->status_request)))
            return err;
        if (e->early_data.present && (err = ext_empty_parse(e->early_data.data, &why)))
            return hs_err(hs, err, "%s", why);
        s13->early_data = e->early_data.present;
        /* RFC 8446 4.2.6: "The "extension_data" field of the "post_handshake_auth" extension is
         * zero length."  The client lets us ask for its certificate after the handshake
         * (post13.c keeps the transcript for it). */
        if (e->post_handshake_auth.present &&
            (err = ext_empty_parse(e->post_handshake_auth.data, &why)))
            return hs_err(hs, err, "%s", why);
        hs->pha_offered = e->post_handshake_auth.present;
    }
    s13->tickets_ok = o.psk_dhe_ke || (o.psk_ke && cfg->psk_ke);

    /* The group: ours in our order among the client's; the client's share for it, if sent. */
    if (second) {
        o.group = hs->group;
    } else {
        for (size_t i = 0; i < cfg->n_groups && !o.group; i++)
            if (hs_list_has(s13->peer_groups, s13->n_peer_groups, cfg->groups[i]))
                o.group = cfg->groups[i];
    }
    for (size_t i = 0; i < n_shares && o.group; i++)
        if (shares[i].group == o.group)
            o.share = &shares[i];
    if ((err = choose_suite_and_psk(hs, m, ch, &o)))
        return err;
    hs->suite = o.suite;
    hs->info->suite = o.suite->id;
    hs->info->version = MTLS_VERSION_TLS13;
    bool psk = hs->resume != NULL;
    if (!(psk && s13->psk_ke)) {
        if (!o.group)
            return hs_err(hs, MTLS_ERR_NO_SHARED_GROUP,
                          "no key-exchange group offered by the client is in our configuration");
        if (!o.share) {
            /* 4.1.4: the second hello must carry the share we asked for. */
            if (second)
                return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                              "the second ClientHello has no key share for %s, which our "
                              "HelloRetryRequest asked for",
                              mtls_group_name(o.group));
            hs->hrr = true;
            hs->hrr_suite = o.suite->id;
            hs->group = o.group;
            hs_trace_msg(hs, '<', TLS_HS_CLIENT_HELLO,
                         "TLS 1.3; no key share for %s, our preferred group it supports: "
                         "HelloRetryRequest",
                         mtls_group_name(o.group));
            hs->state = S13_SEND_HELLO_RETRY_REQUEST;
            return hs_transcript_add(hs, m->raw, m->raw_len);
        }
        hs->group = o.group;
        hs->info->group = o.group;
        hs->kex = cry_kex_new(o.group);
        if (!hs->kex)
            return hs_err(hs, MTLS_ERR_CRYPTO, "key share generation failed");
        if (!cry_kex_derive(hs->kex, o.share->key_exchange.p, o.share->key_exchange.n,
                            s13->ecdhe, sizeof(s13->ecdhe), &s13->ecdhe_len))
            return hs_err(hs, MTLS_ERR_BAD_KEY_SHARE, "the client's %s key share is invalid",
                          mtls_group_name(o.group));
    }
    if (psk) {
        if ((err = hs13_adopt_session(hs, hs->resume)))
            return err;
    } else {
        /* 4.2.3: "If a server is authenticating via a certificate and the client has not sent a
         * "signature_algorithms" extension, then the server MUST abort the handshake with a
         * "missing_extension" alert" -- a hello whose pre-shared key we did not take. */
        if (!e->signature_algorithms.present)
            return hs_err(hs, MTLS_ERR_MISSING_EXTENSION,
                          "the TLS 1.3 ClientHello has no signature_algorithms, and its "
                          "pre-shared key is none of our tickets");
        s13->sigalg = hs13_pick_sigalg(cfg, s13->peer_sigalgs, s13->n_peer_sigalgs);
        if (!s13->sigalg)
            return hs_err(hs, MTLS_ERR_NO_SHARED_SIGALG,
                          "no signature scheme offered by the client fits our %s key in TLS 1.3",
                          cfg->key_type == CRY_KEY_RSA ? "RSA" : "ECDSA");
        hs->info->server_sigalg = s13->sigalg;
        if ((err = ks13_init(&hs->k13, o.suite->prf)) || (err = ks13_early(&hs->k13, NULL, 0)))
            return err;
    }
    /* The ClientHello precedes a key change (our handshake keys): it must end its record. */
    if ((err = hs13_aligned(hs, m)) || (err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    if (trace_on(&hs->env->trace)) {
        char groups[200];
        hs_names(groups, sizeof(groups), s13->peer_groups, s13->n_peer_groups, mtls_group_name);
        hs_trace_msg(hs, '<', TLS_HS_CLIENT_HELLO,
                     "%sTLS 1.3 (supported_versions); groups %s; SNI %s%s",
                     second ? "second, " : "", groups,
                     hs->info->server_name ? hs->info->server_name : "(none)",
                     s13->early_data ? "; early data offered (declined, skipped)" : "");
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NEGOTIATED, MTLS_OK, 0, '*',
                      "Negotiate", "TLS 1.3, suite %s (%s preference)%s%s%s%s%s", o.suite->name,
                      cfg->prefer_client_order ? "client's" : "our", hs->group ? "; group " : "",
                      hs->group ? mtls_group_name(hs->group) : "",
                      psk ? "; resuming the client's ticket (pre-shared key, binder verified)" : "",
                      s13->sigalg ? "; signature " : "",
                      s13->sigalg ? mtls_sigalg_name(s13->sigalg) : "");
    }
    if (!psk)
        hs_status_pick(hs); /* an OCSP staple, when the client asks and we have a current one */
    hs->state = S13_SEND_SERVER_FLIGHT;
    return MTLS_OK;
}

mtls_err hs13_server_client_hello(struct hs *hs, const msg *m, const struct msg_client_hello *ch)
{
    return process_hello(hs, m, ch);
}

static mtls_err send_hello_retry_request(struct hs *hs)
{
    struct s13 *s13 = &hs->s13;
    const suite_info *suite = suite_find(hs->hrr_suite);
    mtls_err err;
    if (!cry_random(s13->cookie, sizeof(s13->cookie)))
        return hs_err(hs, MTLS_ERR_RNG, "no randomness for the cookie");
    /* 4.1.4: supported_versions, the selected_group, and a cookie the client echoes. */
    uint8_t exts[6 + 6 + 4 + 2 + 32];
    wr e = wr_fixed(exts, sizeof(exts));
    ext_version_build(&e, MTLS_VERSION_TLS13);
    ext_key_share_hrr_build(&e, hs->group);
    ext_cookie_build(&e, rd_init(s13->cookie, sizeof(s13->cookie)));
    if (!wr_ok(&e))
        return hs_err(hs, MTLS_ERR_INTERNAL, "the HelloRetryRequest extensions do not fit");
    struct msg_server_hello hrr = {
        .server_version = MTLS_VERSION_TLS12,
        .session_id = rd_init(hs->session_id, hs->session_id_len),
        .cipher_suite = suite->id,
        .extensions = rd_init(exts, e.len),
    };
    memcpy(hrr.random, msg_hrr_random, 32);
    /* 4.4.1: the transcript goes on from message_hash(ClientHello1). */
    if ((err = hs13_restart_transcript(hs, suite)))
        return err;
    size_t at = hs_msg_open(hs, TLS_HS_SERVER_HELLO);
    msg_server_hello_build(&hs->out, &hrr);
    if ((err = hs_msg_close(hs, at)) || (err = hs_flush(hs)))
        return err;
    hs_trace_msg_as(hs, '>', TLS_HS_SERVER_HELLO, "HelloRetryRequest",
                    "suite %s; asks for a key share for %s; cookie", suite->name,
                    mtls_group_name(hs->group));
    if (s13->send_ccs && (err = hs13_send_ccs(hs)))
        return err;
    /* 4.2.10: 0-RTT data the client sent after its first hello is skipped (in clear now: we have
     * no key for it), up to the second hello. */
    if (s13->early_data)
        rec_skip_undecryptable(hs->env->rec, HS13_EARLY_DATA_SKIP);
    hs->state = S13_READ_SECOND_CLIENT_HELLO;
    return MTLS_OK;
}

static mtls_err read_second_client_hello(struct hs *hs, const msg *m)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CLIENT_HELLO)))
        return err;
    rd body = m->body;
    struct msg_client_hello ch;
    if ((err = msg_client_hello_parse(&body, &ch)))
        return hs_decode_err(hs, err == MTLS_ERR_DUPLICATE_EXTENSION ? MTLS_ERR_ILLEGAL_PARAMETER
                                                                      : err,
                             ch.why, &ch.exts);
    bool has12, has13 = false;
    const char *why;
    if (ch.exts.supported_versions.present &&
        (err = ext_versions_parse_list(ch.exts.supported_versions.data, &has12, &has13, &why)))
        return hs_err(hs, err, "%s", why);
    /* 4.1.4 / D.1: the version is settled by the first hello. */
    if (!has13)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the second ClientHello no longer offers TLS 1.3");
    return process_hello(hs, m, &ch);
}

/* ServerHello, [ChangeCipherSpec]; the handshake secrets; then under our handshake key
 * EncryptedExtensions, [CertificateRequest], [Certificate, CertificateVerify], Finished. */
static mtls_err send_server_hello(struct hs *hs)
{
    struct s13 *s13 = &hs->s13;
    mtls_err err;
    if (!cry_random(hs->server_random, 32))
        return hs_err(hs, MTLS_ERR_RNG, "no randomness for ServerHello.random");
    uint8_t pub[133];
    size_t pub_len = 0;
    if (hs->kex && !cry_kex_public(hs->kex, pub, sizeof(pub), &pub_len))
        return hs_err(hs, MTLS_ERR_CRYPTO, "key share generation failed");
    uint8_t exts[6 + 8 + 133 + 6];
    wr e = wr_fixed(exts, sizeof(exts));
    ext_version_build(&e, MTLS_VERSION_TLS13);
    if (hs->kex) {
        ext_share share = {hs->group, rd_init(pub, pub_len)};
        ext_key_share_sh_build(&e, &share);
    }
    if (hs->resume)
        ext_psk_sh_build(&e, s13->psk_index);
    if (!wr_ok(&e))
        return hs_err(hs, MTLS_ERR_INTERNAL, "the ServerHello extensions do not fit");
    struct msg_server_hello sh = {
        .server_version = MTLS_VERSION_TLS12, /* 4.1.3: legacy_version 0x0303 */
        .session_id = rd_init(hs->session_id, hs->session_id_len),
        .cipher_suite = hs->suite->id,
        .extensions = rd_init(exts, e.len),
    };
    memcpy(sh.random, hs->server_random, 32);
    /* From the ServerHello on the transcript is the suite's running hash alone. */
    if ((err = hs_transcript_start(hs)))
        return err;
    hs_transcript_drop_buffer(hs);
    size_t at = hs_msg_open(hs, TLS_HS_SERVER_HELLO);
    msg_server_hello_build(&hs->out, &sh);
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs_msg_close(hs, at)) || (err = hs_transcript_hash(hs, th, &hlen)) ||
        (err = ks13_handshake(&hs->k13, s13->ecdhe_len ? s13->ecdhe : NULL, s13->ecdhe_len, th)))
        return err;
    cry_wipe(s13->ecdhe, sizeof(s13->ecdhe));
    cry_kex_free(hs->kex);
    hs->kex = NULL;
    static const ks13_secret hs_secrets[] = {KS13_C_HS_TRAFFIC, KS13_S_HS_TRAFFIC};
    hs13_keylog(hs, hs_secrets, 2);
    hs_trace_msg(hs, '>', TLS_HS_SERVER_HELLO,
                 "version TLS 1.3 (supported_versions), suite %s%s%s%s", hs->suite->name,
                 hs->group ? ", key share " : "", hs->group ? mtls_group_name(hs->group) : "",
                 hs->resume ? ", accepts the client's ticket (pre-shared key)" : "");
    if ((err = hs_flush(hs)) || (s13->send_ccs && (err = hs13_send_ccs(hs))) ||
        (err = hs13_install(hs, KS13_S_HS_TRAFFIC, true)))
        return err;
    hs_trace_step(
        hs, MTLS_TRACE_KEYS, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "HandshakeKeys",
        "from now on our records are encrypted under the server handshake traffic secret");
    return MTLS_OK;
}

static mtls_err send_encrypted_extensions(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    /* server_name 4 (acknowledgement), supported_groups 6 + 2 * MTLS_MAX_GROUPS, ALPN 4 + 2 + 1 +
     * 255. */
    uint8_t exts[4 + 6 + 2 * MTLS_MAX_GROUPS + 262];
    wr e = wr_fixed(exts, sizeof(exts));
    /* RFC 6066 3 as in TLS 1.2: a name the application used, never on resumption.  4.2.10: no
     * early_data here -- the client's 0-RTT data is declined. */
    if (hs->s13.sni_used && !hs->info->resumed)
        ext_empty_build(&e, TLS_EXT_SERVER_NAME);
    /* RFC 8446 4.2.7: "servers are permitted to send the "supported_groups" extension to the
     * client" -- our preference, for a client whose share was for another group than our first
     * (as OpenSSL does), so that its next hello may save the round trip. */
    if (hs->group && hs->group != cfg->groups[0])
        ext_groups_build(&e, cfg->groups, cfg->n_groups);
    if (hs->info->alpn) {
        size_t n = strlen(hs->info->alpn);
        uint8_t wire[256];
        wire[0] = (uint8_t)n;
        memcpy(wire + 1, hs->info->alpn, n);
        ext_alpn_build(&e, wire, n + 1);
    }
    if (!wr_ok(&e))
        return hs_err(hs, MTLS_ERR_INTERNAL, "the EncryptedExtensions do not fit");
    struct msg_encrypted_extensions ee = {.extensions = rd_init(exts, e.len)};
    size_t at = hs_msg_open(hs, TLS_HS_ENCRYPTED_EXTENSIONS);
    msg_encrypted_extensions_build(&hs->out, &ee);
    mtls_err err = hs_msg_close(hs, at);
    if (!err)
        hs_trace_msg(hs, '>', TLS_HS_ENCRYPTED_EXTENSIONS, "encrypted%s%s%s",
                     hs->info->alpn ? "; ALPN " : "", hs->info->alpn ? hs->info->alpn : "",
                     hs->s13.early_data ? "; the client's early data declined" : "");
    return err;
}

mtls_err hs13_send_cert_request(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    /* 4.3.2: signature_algorithms (the schemes we accept in its CertificateVerify and, with no
     * signature_algorithms_cert, in certificates) and certificate_authorities: the subjects of
     * the client-CA anchors, as in TLS 1.2 (config.c), unless switched off or over 16 KiB. */
    wr e = wr_growable(0xffff);
    ext_sigalgs_build(&e, cfg->sigalgs, cfg->n_sigalgs);
    bool names = cfg->send_ca_names && cfg->ca_names_len;
    if (names)
        ext_ca_names_build(&e, rd_init(cfg->ca_names, cfg->ca_names_len));
    mtls_err err = MTLS_ERR_NO_MEMORY;
    if (wr_ok(&e)) {
        /* 4.3.2: certificate_request_context "SHALL be zero length unless used for the
         * post-handshake authentication exchanges" (there: post13.c's unique random one). */
        struct msg_certificate_request13 cr = {.context = hs->post_context,
                                               .extensions = rd_init(e.p, e.len)};
        size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE_REQUEST);
        msg_certificate_request13_build(&hs->out, &cr);
        err = hs_msg_close(hs, at);
    }
    wr_free(&e, false);
    if (err)
        return err;
    const char *mode =
        cfg->verify_client == MTLS_VERIFY_REQUIRE ? "required" : "requested (optional)";
    const char *when = hs->post_auth ? " after the handshake (post-handshake authentication)" : "";
    if (names)
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE_REQUEST,
                     "encrypted; client certificate %s%s, from %zu CA "
                     "name(s)",
                     mode, when, cfg->n_ca_names);
    else
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE_REQUEST,
                     "encrypted; client certificate %s%s, no CA names (%s)", mode, when,
                     !cfg->send_ca_names  ? "switched off"
                     : cfg->ca_names_over ? "they exceed 16 KiB"
                                          : "no client CA");
    return MTLS_OK;
}

static mtls_err send_server_flight_rest(struct hs *hs);

static mtls_err send_server_flight(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = send_server_hello(hs)) || (err = send_encrypted_extensions(hs)))
        return err;
    /* 4.3.2: "Servers which are authenticating with a PSK MUST NOT send the CertificateRequest
     * message in the main handshake". */
    hs->cert_requested = !hs->resume && cfg->verify_client != MTLS_VERIFY_NONE;
    hs->info->cert_requested = hs->cert_requested;
    if (hs->cert_requested && (err = hs13_send_cert_request(hs)))
        return err;
    if (!hs->resume) {
        if ((err = hs13_send_certificate(hs, cfg->chain, cfg->chain_len)))
            return err;
        const staple_snap *st = hs->status.staple;
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE,
                     "encrypted; our chain: %zu certificate(s), leaf %s%s%s", cfg->chain_len,
                     x509_cert_subject(cfg->chain[0]),
                     st && st->len <= 0xffff - 4
                         ? "; our stapled OCSP response in the leaf's entry (status_request, RFC "
                           "8446 4.4.2.1), status "
                         : "",
                     !st || st->len > 0xffff - 4                ? ""
                     : st->verdict.status == X509_REVOC_REVOKED ? "revoked"
                     : st->verdict.status == X509_REVOC_UNKNOWN ? "unknown"
                                                                : "good");
    }
    hs->state = S13_SEND_CERT_VERIFY;
    return send_server_flight_rest(hs);
}

/* The flight from the CertificateVerify on.  With the application's key method the signature
 * may come later (MTLS_ERR_WANT_KEY_OP): the state stays, and this runs again when it has. */
static mtls_err send_server_flight_rest(struct hs *hs)
{
    mtls_err err;
    if (!hs->resume && (err = hs13_send_cert_verify(hs, hs->s13.sigalg)))
        return err;
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs13_send_finished(hs, KS13_S_HS_TRAFFIC)) || (err = hs_flush(hs)) ||
        (err = hs_transcript_hash(hs, th, &hlen)) || (err = ks13_master(&hs->k13, th)))
        return err;
    static const ks13_secret ap[] = {KS13_C_AP_TRAFFIC, KS13_S_AP_TRAFFIC, KS13_EXPORTER};
    hs13_keylog(hs, ap, 3);
    if ((err = hs13_install(hs, KS13_S_AP_TRAFFIC, true)) ||
        (err = hs13_install(hs, KS13_C_HS_TRAFFIC, false)))
        return err;
    hs_trace_step(hs, MTLS_TRACE_KEYS, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "ApplicationKeys",
                  "master secret from the handshake secret; from it and the transcript up to our "
                  "Finished, the application traffic secrets 0 and the exporter secret: from now "
                  "on our records are encrypted under the server application traffic secret 0");
    rec_layer *rec = hs->env->rec;
    rec_allow_plain_ccs(rec, true);
    /* A client that could not read our ServerHello answers with a plaintext alert. */
    rec_allow_plain_alert(rec, true);
    /* 4.2.10: the declined 0-RTT records, under a key we do not have, are skipped until the
     * client's handshake records, which open under its handshake key.  After a
     * HelloRetryRequest they came before the second ClientHello, which "MUST NOT include the
     * "early_data" extension": nothing is skipped any more, a record that does not open is
     * bad_record_mac. */
    if (hs->s13.early_data && !hs->hrr)
        rec_skip_undecryptable(rec, HS13_EARLY_DATA_SKIP);
    hs->state = hs->cert_requested ? S13_READ_CLIENT_CERT : S13_READ_FINISHED;
    return MTLS_OK;
}

mtls_err hs13_server_read_client_cert(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CERTIFICATE)) || (err = hs13_read_certificate(hs, m)) ||
        (err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    if (hs->peer_chain_len == 0) {
        hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE,
                     "encrypted; empty: the client has no certificate");
        /* 4.4.2.4: "If the client does not send any certificates ..., the server MAY at its
         * discretion either continue the handshake without client authentication, or abort the
         * handshake with a "certificate_required" alert." */
        if (cfg->verify_client == MTLS_VERIFY_REQUIRE)
            return hs_err(hs, MTLS_ERR_CERT_REQUIRED,
                          "a client certificate is required and the client sent none%s",
                          hs->post_auth ? " after the handshake" : "");
        hs->state = S13_READ_FINISHED;
        return MTLS_OK;
    }
    const cry_pkey *key = x509_cert_pubkey(hs->peer_chain[0]);
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE,
                 "encrypted; client certificate: %zu certificate(s); subject %s; issuer %s",
                 hs->peer_chain_len, x509_cert_subject(hs->peer_chain[0]),
                 x509_cert_issuer(hs->peer_chain[0]));
    cry_key_type kt = cry_pkey_type(key);
    if (kt != CRY_KEY_RSA && kt != CRY_KEY_EC_P256 && kt != CRY_KEY_EC_P384)
        return hs_err(hs, MTLS_ERR_CERT_UNSUPPORTED,
                      "the client certificate's key type is not supported");
    hs->info->peer_cert_presented = true;
    if (!hs_key_can_sign(hs->peer_chain[0])) /* it must sign CertificateVerify */
        return hs_err(hs, MTLS_ERR_CERT_KEY_USAGE,
                      "the client certificate %s has a keyUsage that does not allow signing "
                      "(digitalSignature)",
                      x509_cert_subject(hs->peer_chain[0]));
    if ((err = hs_verify_peer_chain(hs)))
        return err;
    hs->state = S13_READ_CLIENT_CERT_VERIFY;
    return MTLS_OK;
}

mtls_err hs13_server_read_client_cert_verify(struct hs *hs, const msg *m)
{
    /* 4.4.3: the client's scheme must be one of our CertificateRequest's. */
    mtls_err err = hs13_read_cert_verify(hs, m, hs->cfg->sigalgs, hs->cfg->n_sigalgs);
    if (!err)
        hs->state = S13_READ_FINISHED;
    return err;
}

static mtls_err read_finished(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs13_read_finished(hs, m, KS13_C_HS_TRAFFIC)) || (err = hs13_aligned(hs, m)) ||
        (err = hs13_install(hs, KS13_C_AP_TRAFFIC, false)))
        return err;
    rec_allow_plain_ccs(hs->env->rec, false);
    if ((err = hs_transcript_hash(hs, th, &hlen)) || (err = ks13_finish(&hs->k13, th)))
        return err;
    if (hs13_resumption_on(cfg) && cfg->tls13_tickets && hs->s13.tickets_ok &&
        (err = hs13_send_tickets(hs)))
        return err;
    return hs13_establish(hs);
}

/* ---- the state machine --------------------------------------------------------------------- */

static bool reads(const struct hs *hs)
{
    return hs->state != S13_SEND_HELLO_RETRY_REQUEST && hs->state != S13_SEND_SERVER_FLIGHT &&
           hs->state != S13_SEND_CERT_VERIFY;
}

static mtls_err step(struct hs *hs, const msg *m)
{
    switch ((s13_state)hs->state) {
    case S13_READ_CLIENT_HELLO:
        return hs_read_client_hello(hs, m);
    case S13_SEND_HELLO_RETRY_REQUEST:
        return send_hello_retry_request(hs);
    case S13_READ_SECOND_CLIENT_HELLO:
        return read_second_client_hello(hs, m);
    case S13_SEND_SERVER_FLIGHT:
        return send_server_flight(hs);
    case S13_SEND_CERT_VERIFY:
        return send_server_flight_rest(hs);
    case S13_READ_CLIENT_CERT:
        return hs13_server_read_client_cert(hs, m);
    case S13_READ_CLIENT_CERT_VERIFY:
        return hs13_server_read_client_cert_verify(hs, m);
    case S13_READ_FINISHED:
        return read_finished(hs, m);
    case S13_STATE_COUNT:
        break;
    }
    return hs_err(hs, MTLS_ERR_INTERNAL, "handshake in an impossible state");
}

static mtls_err ccs(struct hs *hs, const uint8_t *p, size_t n)
{
    /* After the first ClientHello, before the client's Finished. */
    return hs13_ccs(hs, hs->state != S13_READ_CLIENT_HELLO, p, n);
}

static const char *const state_names[S13_STATE_COUNT] = {
    "S13_READ_CLIENT_HELLO",  "S13_SEND_HELLO_RETRY_REQUEST", "S13_READ_SECOND_CLIENT_HELLO",
    "S13_SEND_SERVER_FLIGHT", "S13_SEND_CERT_VERIFY",         "S13_READ_CLIENT_CERT",
    "S13_READ_CLIENT_CERT_VERIFY", "S13_READ_FINISHED",
};

const hs_role hs_server13 = {
    .name = "TLS 1.3 server",
    .first_state = S13_READ_CLIENT_HELLO,
    .reads = reads,
    .step = step,
    .ccs = ccs,
    .post = hs13_post,
    .state_names = state_names,
    .n_states = S13_STATE_COUNT,
};
