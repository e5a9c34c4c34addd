/*
 * version.c -- the hello of both versions and the choice between them (RFC 8446 4.1.1, 4.2.1,
 * D.1-D.2): the client's ClientHello is built here once, for every version it offers; the
 * server's ClientHello is parsed here once; each side decides the version here and hands the
 * parsed hello over to the role of that version (client12.c / client13.c, server12.c /
 * server13.c), which goes on from there.
 *
 * Versions: a config speaks TLS 1.2 and TLS 1.3 unless mtls_config_set_versions narrows it, and
 * a version whose kind of suite the cipher list leaves out is not spoken (one list serves both).
 * The server picks the highest version both speak: from supported_versions when the client sends
 * it (the only thing that counts then, 4.2.1), else from legacy_version (TLS 1.2 at most).
 *
 * Downgrade protection (4.1.3): a server that speaks TLS 1.3 and negotiates TLS 1.2 -- because
 * the client did not offer 1.3 -- ends its ServerHello.random with "DOWNGRD" 01; a client that
 * offered TLS 1.3 and gets a TLS 1.2 ServerHello with that ending (or the 00 one of TLS 1.1 and
 * below) aborts with illegal_parameter, since an attacker must have removed its offer.  A client
 * that offered TLS 1.2 alone accepts it.  This is what OpenSSL, BoringSSL and Go do: a server
 * pinned to TLS 1.2 by its configuration does not speak 1.3, does not mark its random, and so
 * serves TLS 1.3-capable clients in TLS 1.2.  With TLS_FALLBACK_SCSV (RFC 7507) a client below
 * our highest version gets inappropriate_fallback.
 *
 * The ClientHello (RFC 8446 4.1.2): legacy_version 0x0303; a 32-byte legacy_session_id when
 * TLS 1.3 is offered (middlebox compatibility, D.4) unless a TLS 1.2 session offers its own;
 * the suites of each version offered; server_name, supported_groups, signature_algorithms, ALPN
 * for both; extended_master_secret, renegotiation_info, ec_point_formats, session_ticket for
 * TLS 1.2; supported_versions, one key_share (our first group), psk_key_exchange_modes and --
 * when a TLS 1.3 ticket is offered -- pre_shared_key, last, with its binder (4.2.11.2).  After a
 * HelloRetryRequest the second ClientHello is the first with the changes 4.1.2 allows: the key
 * share for the group asked for, the cookie echoed, the PSK's age and binder recomputed (or the
 * PSK dropped when its hash is not the one of the suite the server chose).
 */
#include <arpa/inet.h>
#include <string.h>

#include "hs.h"

/* RFC 8446 4.1.3: the last eight bytes of a ServerHello.random negotiating TLS 1.2 (01) or
 * below (00) from a server that speaks TLS 1.3. */
static const uint8_t downgrade12[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01};
static const uint8_t downgrade11[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x00};

void hs_versions(const mtls_config *cfg, bool *v12, bool *v13)
{
    bool suite12 = false, suite13 = false;
    for (size_t i = 0; i < cfg->n_suites; i++) {
        const suite_info *s = suite_find(cfg->suites[i]);
        suite12 |= s && !s->tls13;
        suite13 |= s && s->tls13;
    }
    *v12 = suite12 && cfg->min_version <= MTLS_VERSION_TLS12;
    *v13 = suite13 && cfg->max_version >= MTLS_VERSION_TLS13;
}

bool hs_downgrade_marked(const uint8_t random[32])
{
    return memcmp(random + 24, downgrade12, 8) == 0 || memcmp(random + 24, downgrade11, 8) == 0;
}

const hs_role *hs_first_role(const hs_env *env)
{
    bool v12, v13;
    hs_versions(env->cfg, &v12, &v13);
    if (env->is_server)
        return v13 ? &hs_server13 : &hs_server12;
    return v13 ? &hs_client13 : &hs_client12;
}

static bool is_ip_literal(const char *name)
{
    uint8_t buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

bool hs_sends_sni(const hs_info *info)
{
    return info->server_name && info->server_name[0] && !is_ip_literal(info->server_name);
}

static bool offers_ecdhe12(const mtls_config *cfg)
{
    for (size_t i = 0; i < cfg->n_suites; i++) {
        const suite_info *s = suite_find(cfg->suites[i]);
        if (s && !s->tls13 && s->kx == KX_ECDHE)
            return true;
    }
    return false;
}

/* ---- the client's hello --------------------------------------------------------------------- */

/* The first time: the checks before anything is sent, the random, the session to offer and the
 * legacy_session_id. */
static mtls_err first_hello(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    /* A client that verifies the server needs the name to check its certificate against (RFC
     * 9525's reference identity, which comes from the application, never from the server);
     * without one any server with a certificate from a trusted CA would pass.  Not knowing it is
     * refused before anything is sent, unless the application opted out by name, or accepts
     * the server by SPIFFE ID, which then takes the place of the name (x509_verify_params). */
    const char *name = hs->env->verify_name ? hs->env->verify_name : hs->info->server_name;
    bool by_spiffe = cfg->n_spiffe_ids || cfg->n_spiffe_domains;
    if (!cfg->insecure && !hs->env->skip_hostname && !by_spiffe && (!name || !name[0]))
        return hs_err(hs, MTLS_ERR_NO_SERVER_NAME,
                      "no server name to check the server's certificate against: pass it to "
                      "mtls_client_new() (or mtls_conn_set_verify_name()), or call "
                      "mtls_conn_set_insecure_skip_hostname() to accept any name on purpose");
    if (!cry_random(hs->client_random, 32))
        return hs_err(hs, MTLS_ERR_RNG, "no randomness for ClientHello.random");
    memcpy(hs->info->client_random, hs->client_random, 32);
    hs_versions(cfg, &hs->offered12, &hs->offered13);
    mtls_session *offer = hs_session_to_offer(hs);
    if (offer && offer->version == MTLS_VERSION_TLS12 && hs->offered12) {
        /* RFC 5077 3.4: with a ticket and no id, the client makes up an id so that it can tell
         * from the ServerHello whether the server resumed. */
        if (offer->id_len) {
            memcpy(hs->session_id, offer->id, offer->id_len);
            hs->session_id_len = offer->id_len;
        } else if (cry_random(hs->session_id, 32)) {
            hs->session_id_len = 32;
        }
        hs->resume = session_ref(offer);
    } else if (offer && offer->version == MTLS_VERSION_TLS13 && hs->offered13 &&
               offer->ticket_len) {
        hs->resume = session_ref(offer);
        hs->psk_offered = true;
    }
    /* RFC 8446 D.4: middlebox compatibility mode, "the client MUST also send a non-empty
     * legacy_session_id"; 4.1.2: "a client not offering a pre-TLS 1.3 session MUST generate a
     * new 32-byte value". */
    if (hs->offered13 && hs->session_id_len == 0) {
        if (!cry_random(hs->session_id, 32))
            return hs_err(hs, MTLS_ERR_RNG, "no randomness for the legacy_session_id");
        hs->session_id_len = 32;
    }
    if (hs->offered13) {
        hs->share_group = cfg->groups[0];
        hs->kex = cry_kex_new(hs->share_group);
        if (!hs->kex)
            return hs_err(hs, MTLS_ERR_CRYPTO, "key share generation failed");
    }
    return MTLS_OK;
}

/* The obfuscated_ticket_age of a TLS 1.3 ticket (RFC 8446 4.2.11.1): its age in milliseconds,
 * plus ticket_age_add, modulo 2^32.  The config's clock counts seconds. */
static uint32_t obfuscated_age(const mtls_config *cfg, const mtls_session *s)
{
    int64_t now = config_now(cfg);
    uint64_t age_s = now > s->issued ? (uint64_t)(now - s->issued) : 0;
    return (uint32_t)(age_s * 1000u) + s->age_add;
}

/* The PSK binder (RFC 8446 4.2.11.2) over the partial ClientHello at hs->out[at..end -
 * binders_len), written into the last hlen bytes of the message. */
static mtls_err fill_binder(struct hs *hs, size_t at, size_t binders_len)
{
    const suite_info *ps = suite_find(hs->resume->suite);
    size_t hlen = cry_hash_len(ps->prf), end = hs->out.len;
    uint8_t th[KS13_MAX_HASH], binder[KS13_MAX_HASH];
    ks13 ks;
    wr_close_u24(&hs->out, at + 1); /* the lengths as they will be: 4.2.11.2 */
    if (!wr_ok(&hs->out))
        return MTLS_ERR_NO_MEMORY;
    mtls_err err = hs13_partial_hash(hs, ps->prf, hs->out.p + at, end - at - binders_len, th);
    if (!err && !(err = ks13_init(&ks, ps->prf)) &&
        !(err = ks13_early(&ks, hs->resume->master, hlen)) &&
        !(err = ks13_binder(&ks, false, th, binder)))
        memcpy(hs->out.p + end - hlen, binder, hlen);
    ks13_clear(&ks);
    cry_wipe(binder, sizeof(binder));
    return err;
}

mtls_err hs_send_client_hello(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if (!hs->hrr && (err = first_hello(hs)))
        return err;
    bool sni = hs_sends_sni(hs->info);
    bool ecdhe12 = hs->offered12 && offers_ecdhe12(cfg);
    mtls_session *offer = hs->resume;
    bool offer12 = offer && !hs->psk_offered;
    size_t ticket_len = offer12 ? offer->ticket_len : 0;
    uint8_t pub[133];
    size_t pub_len = 0;
    if (hs->offered13 && !cry_kex_public(hs->kex, pub, sizeof(pub), &pub_len))
        return hs_err(hs, MTLS_ERR_CRYPTO, "key share generation failed");

    /* The extensions first, then the hello around them. */
    wr e = wr_growable(0xffff);
    if (sni)
        ext_sni_build(&e, hs->info->server_name);
    if (ecdhe12 || hs->offered13)
        ext_groups_build(&e, cfg->groups, cfg->n_groups);
    if (ecdhe12)
        ext_point_formats_build(&e);
    ext_sigalgs_build(&e, cfg->sigalgs, cfg->n_sigalgs);
    if (hs->offered12) {
        ext_ems_build(&e);
        /* RFC 5746 3.4: an initial ClientHello carries an empty renegotiation_info (or the
         * SCSV). */
        ext_reneg_build(&e);
    }
    if (cfg->alpn_len)
        ext_alpn_build(&e, cfg->alpn_wire, cfg->alpn_len);
    if (hs->offered12 && cfg->tickets)
        ext_ticket_build(&e, offer12 ? offer->ticket : NULL, ticket_len);
    /* RFC 6066 8, RFC 8446 4.4.2.1: ask for a stapled OCSP response (status.c) */
    if ((hs->status.requested = hs_status_wanted(hs)))
        ext_status_request_build(&e);
    size_t binders_len = 0;
    if (hs->offered13) {
        uint16_t versions[2] = {MTLS_VERSION_TLS13, MTLS_VERSION_TLS12};
        ext_versions_build(&e, versions, hs->offered12 ? 2 : 1);
        ext_share share = {hs->share_group, rd_init(pub, pub_len)};
        ext_key_share_ch_build(&e, &share, 1);
        /* RFC 8446 4.2.9: without it a server sends no tickets. */
        ext_psk_modes_build(&e, cfg->psk_ke, true);
        /* RFC 8446 4.2.6: "The "post_handshake_auth" extension is used to indicate that a
         * client is willing to perform post-handshake authentication" (the config's choice:
         * by default when it has a certificate, config_offers_pha). */
        if ((hs->pha_offered = config_offers_pha(cfg)))
            ext_empty_build(&e, TLS_EXT_POST_HANDSHAKE_AUTH);
        if (hs->cookie)
            ext_cookie_build(&e, rd_init(hs->cookie, hs->cookie_len));
        if (hs->psk_offered) {
            /* RFC 8446 4.2.11: "The "pre_shared_key" extension MUST be the last extension in
             * the ClientHello". */
            size_t hlen = cry_hash_len(suite_find(offer->suite)->prf);
            ext_psk_offer_build(&e, rd_init(offer->ticket, offer->ticket_len),
                                obfuscated_age(cfg, offer), hlen);
            binders_len = 2 + 1 + hlen;
        }
    }
    uint8_t suites[2 * MTLS_MAX_SUITES];
    size_t n_suites = 0;
    for (size_t i = 0; i < cfg->n_suites; i++) {
        const suite_info *s = suite_find(cfg->suites[i]);
        if (s && (s->tls13 ? hs->offered13 : hs->offered12))
            be16_put(suites + 2 * n_suites++, cfg->suites[i]);
    }
    static const uint8_t null_compression[1] = {0}; /* null compression only */
    struct msg_client_hello ch = {
        .client_version = MTLS_VERSION_TLS12, /* RFC 8446 4.1.2: legacy_version 0x0303 */
        .session_id = rd_init(hs->session_id, hs->session_id_len),
        .cipher_suites = rd_init(suites, 2 * n_suites),
        .compression_methods = rd_init(null_compression, 1),
        .extensions = rd_init(e.p, e.len),
        .has_extensions = true,
    };
    memcpy(ch.random, hs->client_random, 32);
    /* RFC 8446 D.4: the client's compatibility ChangeCipherSpec goes "immediately before its
     * second flight", here before the second ClientHello. */
    err = hs->hrr ? hs13_send_ccs(hs) : MTLS_OK;
    if (!err && !wr_ok(&e))
        err = MTLS_ERR_NO_MEMORY;
    if (!err) {
        size_t at = hs_msg_open(hs, TLS_HS_CLIENT_HELLO);
        msg_client_hello_build(&hs->out, &ch);
        err = binders_len ? fill_binder(hs, at, binders_len) : MTLS_OK;
        if (!err)
            err = hs_msg_close(hs, at);
    }
    wr_free(&e, false);
    if (err || (err = hs_flush(hs)))
        return err;

    if (trace_on(&hs->env->trace)) { /* names are formatted only for someone who reads them */
        char s[600], g[120], a[400];
        uint16_t ids[MTLS_MAX_SUITES];
        for (size_t i = 0; i < n_suites; i++)
            ids[i] = be16_get(suites + 2 * i);
        hs_names(s, sizeof(s), ids, n_suites, mtls_suite_name);
        hs_names(g, sizeof(g), cfg->groups, cfg->n_groups, mtls_group_name);
        hs_names(a, sizeof(a), cfg->sigalgs, cfg->n_sigalgs, mtls_sigalg_name);
        const char *versions = hs->offered13 && hs->offered12 ? "TLS 1.3, TLS 1.2"
                               : hs->offered13               ? "TLS 1.3"
                                                             : "TLS 1.2";
        hs_trace_msg(hs, '>', TLS_HS_CLIENT_HELLO,
                     "%soffers version %s; suites %s; groups %s; signature algorithms %s; "
                     "compression null; SNI %s%s%s%s%s%s%s",
                     hs->hrr ? "second, after HelloRetryRequest: " : "", versions, s, g, a,
                     sni ? hs->info->server_name : "(none)",
                     hs->offered12 ? "; extended master secret; secure renegotiation" : "",
                     hs->offered13 ? "; key share " : "",
                     hs->offered13 ? mtls_group_name(hs->share_group) : "",
                     cfg->alpn_len ? "; ALPN" : "",
                     hs->status.requested ? "; status_request (OCSP)" : "",
                     hs->pha_offered ? "; post_handshake_auth" : "");
        if (offer)
            hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_RESUME_OFFERED, MTLS_OK,
                          offer->ticket_len ? MTLS_TRACE_TICKET : 0, '>', "ClientHello",
                          "offers to resume a saved session (%s)",
                          hs->psk_offered     ? "TLS 1.3 ticket as a pre-shared key, psk_dhe_ke"
                          : offer->ticket_len ? "session ticket"
                                              : "session id");
    }
    return MTLS_OK;
}

/* ---- the client reads the server's choice --------------------------------------------------- */

mtls_err hs_read_server_hello(struct hs *hs, const msg *m)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_SERVER_HELLO)))
        return err;
    rd body = m->body;
    struct msg_server_hello sh;
    if ((err = msg_server_hello_parse(&body, &sh)))
        return hs_decode_err(hs, err, sh.why, &sh.exts);
    if (sh.kind != MSG_SH12) {
        const char *why;
        uint16_t v;
        /* RFC 8446 4.2.1: a server may name a version only in answer to supported_versions. */
        if (!hs->offered13)
            return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                          "the server answered with supported_versions, which was not offered "
                          "(we offered TLS 1.2 only)");
        if (!sh.exts.supported_versions.present)
            return hs_err(hs, MTLS_ERR_MISSING_EXTENSION,
                          "HelloRetryRequest without supported_versions");
        if ((err = ext_version_parse(sh.exts.supported_versions.data, &v, &why)))
            return hs_err(hs, err, "%s", why);
        /* 4.2.1: "If the "supported_versions" extension in the ServerHello contains a version
         * not offered by the client or contains a version prior to TLS 1.3, the client MUST
         * abort the handshake with an "illegal_parameter" alert." */
        if (v != MTLS_VERSION_TLS13)
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "the server's supported_versions selects 0x%04x", v);
        /* 4.1.3: legacy_version "MUST be set to 0x0303" in a TLS 1.3 ServerHello. */
        if (sh.server_version != MTLS_VERSION_TLS12)
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "TLS 1.3 ServerHello with legacy_version 0x%04x (not 0x0303)",
                          sh.server_version);
        if (!hs->v13) {
            hs->v13 = true;
            hs->h->role = &hs_client13;
        }
        return hs13_client_server_hello(hs, m, &sh);
    }
    /* A TLS 1.2 ServerHello. */
    if (hs->hrr || !hs->offered12)
        return hs_err(hs, MTLS_ERR_PROTOCOL_VERSION,
                      "the server chose protocol version 0x%04x; we offered %s", sh.server_version,
                      hs->hrr ? "TLS 1.3 and it asked us to retry in TLS 1.3" : "TLS 1.3 only");
    /* RFC 8446 4.1.3: "TLS 1.3 clients receiving a ServerHello indicating TLS 1.2 or below MUST
     * check that the last 8 bytes are not equal to either of these values. ... If a match is
     * found, the client MUST abort the handshake with an "illegal_parameter" alert." */
    if (hs->offered13 && hs_downgrade_marked(sh.random))
        return hs_err(hs, MTLS_ERR_DOWNGRADE,
                      "the server answered TLS 1.2 with the downgrade sentinel in its random: "
                      "it speaks TLS 1.3, so our offer of TLS 1.3 was removed on the way");
    if (hs->h->role != &hs_client12) {
        /* The TLS 1.2 client goes on from its ServerHello state, with nothing of TLS 1.3: no key
         * share, and no TLS 1.3 ticket that an echoed session id could pass off as a session. */
        cry_kex_free(hs->kex);
        hs->kex = NULL;
        if (hs->psk_offered) {
            mtls_session_free(hs->resume);
            hs->resume = NULL;
            hs->psk_offered = false;
        }
        hs->h->role = &hs_client12;
        memset(&hs->c12, 0, sizeof(hs->c12) > sizeof(hs->c13) ? sizeof(hs->c12) : sizeof(hs->c13));
    }
    return hs12_client_server_hello(hs, m, &sh);
}

/* ---- the server reads the client's offer ---------------------------------------------------- */

/* Does a ClientHello that failed to parse offer TLS 1.3 (then RFC 8446 4.2's rules apply to its
 * errors)?  A scan of its raw extensions for supported_versions naming 0x0304. */
static bool raw_offers13(rd body)
{
    rd sid, suites, comp, block;
    uint16_t v;
    uint8_t random[32];
    if (!rd_u16(&body, &v) || !rd_copy(&body, random, 32) || !rd_vec8(&body, &sid) ||
        !rd_vec16(&body, &suites) || !rd_vec8(&body, &comp) || !rd_vec16(&body, &block))
        return false;
    while (block.n) {
        uint16_t type;
        rd data;
        bool has12, has13;
        const char *why;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &data))
            return false;
        if (type == TLS_EXT_SUPPORTED_VERSIONS &&
            ext_versions_parse_list(data, &has12, &has13, &why) == MTLS_OK && has13)
            return true;
    }
    return false;
}

mtls_err hs_read_client_hello(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CLIENT_HELLO)))
        return err;
    bool v12, v13;
    hs_versions(cfg, &v12, &v13);
    rd body = m->body;
    struct msg_client_hello ch;
    if ((err = msg_client_hello_parse(&body, &ch))) {
        /* RFC 8446 4.2: in TLS 1.3 a repeated extension is illegal_parameter (TLS 1.2 keeps its
         * decode_error). */
        if (err == MTLS_ERR_DUPLICATE_EXTENSION && v13 && raw_offers13(m->body))
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER, "extension %u appears twice",
                          ch.exts.bad_type);
        return hs_decode_err(hs, err, ch.why, &ch.exts);
    }
    const hello_exts *e = &ch.exts;
    /* RFC 8446 D.5: "Any endpoint receiving a Hello message with ClientHello.legacy_version or
     * ServerHello.legacy_version set to 0x0300 MUST abort the handshake with a
     * "protocol_version" alert" -- and anything below it, which no TLS ever sent.  A hello
     * without supported_versions is TLS 1.2's to judge (server12.c: protocol_version, or
     * inappropriate_fallback with TLS_FALLBACK_SCSV). */
    if (e->supported_versions.present && ch.client_version <= 0x0300)
        return hs_err(hs, MTLS_ERR_PROTOCOL_VERSION,
                      "the client's legacy_version is 0x%04x (SSL 3.0 or below)", ch.client_version);
    bool peer12 = false, peer13 = false;
    if (e->supported_versions.present) {
        const char *why;
        if ((err = ext_versions_parse_list(e->supported_versions.data, &peer12, &peer13, &why)))
            return hs_err(hs, err, "%s", why);
    } else {
        /* D.2: without supported_versions the client speaks legacy_version at most, and a
         * server "MUST negotiate TLS 1.2 or prior"; below TLS 1.2 server12.c refuses. */
        peer12 = ch.client_version >= MTLS_VERSION_TLS12;
    }
    uint16_t version = v13 && peer13 ? MTLS_VERSION_TLS13
                       : v12 && (peer12 || !e->supported_versions.present) ? MTLS_VERSION_TLS12
                                                                           : 0;
    if (version == 0)
        return hs_err(hs, MTLS_ERR_PROTOCOL_VERSION,
                      "the client offers %s; we speak %s", peer13 ? "TLS 1.3" : "no version we know",
                      v13 && v12 ? "TLS 1.2 and 1.3" : v13 ? "TLS 1.3 only" : "TLS 1.2 only");
    /* RFC 7507 3, with RFC 8446 D.5's reading: a client that signals a fallback while its
     * highest version is below ours had tried higher, and something interfered. */
    if (version == MTLS_VERSION_TLS12 && v13 && hs_wire_list_has(ch.cipher_suites, TLS_SCSV_FALLBACK))
        return hs_err(hs, MTLS_ERR_INAPPROPRIATE_FALLBACK,
                      "the client falls back to TLS 1.2 with TLS_FALLBACK_SCSV (RFC 7507) though "
                      "we speak TLS 1.3: an earlier attempt was interfered with");
    if (version == MTLS_VERSION_TLS13) {
        if (!hs->v13) {
            hs->v13 = true;
            hs->h->role = &hs_server13;
        }
        return hs13_server_client_hello(hs, m, &ch);
    }
    if (hs->h->role != &hs_server12)
        hs->h->role = &hs_server12;
    err = hs12_server_client_hello(hs, m, &ch);
    /* RFC 8446 4.1.3: "TLS 1.3 servers which negotiate TLS 1.2 or below in response to a
     * ClientHello MUST set the last 8 bytes of their Random value specially". */
    if (!err && v13)
        memcpy(hs->server_random + 24, downgrade12, 8);
    return err;
}
