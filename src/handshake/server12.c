/*
 * server12.c -- the TLS 1.2 server, one handler per state, in the order of RFC 5246 7.3 and the
 * seed:
 *
 *   1. read ClientHello (parsed by version.c, which chose TLS 1.2): version floor, suites, null
 *      compression, extensions; choose suite,
 *      group and signature scheme (our preference order unless configured otherwise)
 *   2-5. send ServerHello, Certificate, [CertificateStatus: the OCSP staple, RFC 6066 8],
 *        [ServerKeyExchange], [CertificateRequest], ServerHelloDone
 *   6. read the client's Certificate when we asked for one; verify it
 *   7. read ClientKeyExchange: RSA premaster with implicit rejection, or the ECDHE share
 *
 * With the application's key method (keyop.c) the ServerKeyExchange's signature and the RSA
 * premaster's decryption may come later: S12_SEND_SERVER_KEY_EXCHANGE and S12_DECRYPT_PREMASTER
 * are where the handshake waits for them.
 *   8. read CertificateVerify when the client sent a certificate
 *   9-12. read ChangeCipherSpec and the client's Finished
 *   13-14. send ChangeCipherSpec and Finished
 */
#include <string.h>

#include "hs.h"

static uint16_t pick_group(const mtls_config *cfg, const uint16_t *peer, size_t n)
{
    for (size_t i = 0; i < cfg->n_groups; i++)
        if (hs_list_has(peer, n, cfg->groups[i]))
            return cfg->groups[i];
    return 0;
}

/* Can we do suite `id` with this client?  Fills group and sigalg for ECDHE; *fits says whether
 * our key can do the suite at all. */
static bool suite_usable(struct hs *hs, uint16_t id, uint16_t *group, uint16_t *sigalg, bool *fits)
{
    const mtls_config *cfg = hs->cfg;
    const suite_info *s = suite_find(id);
    if (!s || s->tls13)
        return false;
    bool key_ok = s->auth == AUTH_RSA ? cfg->key_type == CRY_KEY_RSA
                                      : (cfg->key_type == CRY_KEY_EC_P256 ||
                                         cfg->key_type == CRY_KEY_EC_P384);
    if (!key_ok ||
        !(s->kx == KX_RSA ? hs_key_can_encipher(cfg->chain[0]) && hs_key_can_decrypt(cfg)
                          : hs_key_can_sign(cfg->chain[0])))
        return false;
    *fits = true;
    if (s->kx == KX_RSA)
        return true;
    *group = pick_group(cfg, hs->s12.peer_groups, hs->s12.n_peer_groups); /* 0: no ECDHE */
    *sigalg = hs_pick_sigalg(hs->cfg, hs->s12.peer_sigalgs, hs->s12.n_peer_sigalgs);
    return *group && *sigalg;
}

/* Where the client first offers each of our suites (SIZE_MAX: nowhere), in one pass over its
 * list.  A ClientHello may carry 32,767 suites; looking for each of ours in turn read all of them
 * up to MTLS_MAX_SUITES times.  The low bytes of our ids pass over most others at a glance. */
static void find_offered(const mtls_config *cfg, rd offered, size_t pos[MTLS_MAX_SUITES])
{
    uint8_t low[32] = {0};
    for (size_t j = 0; j < cfg->n_suites; j++) {
        pos[j] = SIZE_MAX;
        low[(cfg->suites[j] & 0xff) >> 3] |= (uint8_t)(1u << (cfg->suites[j] & 7));
    }
    for (size_t i = 0; i + 1 < offered.n; i += 2) {
        uint16_t id = be16_get(offered.p + i);
        if (!(low[(id & 0xff) >> 3] & (1u << (id & 7))))
            continue;
        for (size_t j = 0; j < cfg->n_suites; j++)
            if (cfg->suites[j] == id && pos[j] == SIZE_MAX)
                pos[j] = i / 2;
    }
}

static mtls_err choose_suite(struct hs *hs, rd offered)
{
    const mtls_config *cfg = hs->cfg;
    uint16_t group = 0, sigalg = 0;
    bool fits = false;
    size_t pos[MTLS_MAX_SUITES], order[MTLS_MAX_SUITES];
    find_offered(cfg, offered, pos);
    /* Ours in our order, or in the client's (by where it offers them). */
    for (size_t j = 0; j < cfg->n_suites; j++) {
        size_t k = j;
        for (; k > 0 && cfg->prefer_client_order && pos[order[k - 1]] > pos[j]; k--)
            order[k] = order[k - 1];
        order[k] = j;
    }
    for (size_t k = 0; k < cfg->n_suites; k++) {
        uint16_t id = cfg->suites[order[k]];
        if (pos[order[k]] == SIZE_MAX || !suite_usable(hs, id, &group, &sigalg, &fits))
            continue;
        hs->suite = suite_find(id);
        hs->group = hs->suite->kx == KX_ECDHE ? group : 0;
        hs->info->server_sigalg = hs->suite->kx == KX_ECDHE ? sigalg : 0;
        hs->info->group = hs->group;
        hs->info->suite = id;
        return MTLS_OK;
    }
    /* Suites both sides share that our key can do are ECDHE ones here (a static-RSA one would
     * have been taken), and what they lack is the same for all: a group or a signature scheme. */
    if (fits && !group)
        return hs_err(hs, MTLS_ERR_NO_SHARED_GROUP,
                      "the client offers no key-exchange group we accept for the ECDHE suites we "
                      "share");
    if (fits)
        return hs_err(hs, MTLS_ERR_NO_SHARED_SIGALG,
                      "the client accepts no signature scheme our %s key signs with for the ECDHE "
                      "suites we share",
                      cfg->key_type == CRY_KEY_RSA ? "RSA" : "ECDSA");
    return hs_err(hs, MTLS_ERR_NO_SHARED_CIPHER,
                  "no cipher suite offered by the client fits our configuration and %s key",
                  cfg->key_type == CRY_KEY_RSA ? "RSA" : "ECDSA");
}

/* The states, in RFC 5246 7.3 order, each named for what it waits for or does. */
typedef enum {
    S12_READ_CLIENT_HELLO,
    S12_SEND_SERVER_FLIGHT,
    S12_SEND_SERVER_KEY_EXCHANGE, /* the rest of the flight, from ServerKeyExchange's signature */
    S12_SEND_RESUMED_FLIGHT, /* abbreviated handshake: ServerHello, ChangeCipherSpec, Finished */
    S12_READ_CLIENT_CERT,
    S12_READ_CLIENT_KEY_EXCHANGE,
    S12_DECRYPT_PREMASTER, /* static RSA: the premaster from ClientKeyExchange */
    S12_READ_CERT_VERIFY,
    S12_READ_CCS,
    S12_READ_FINISHED,
    S12_SEND_FINISHED,
    S12_STATE_COUNT
} s12_state;

/* The name the client asks for (RFC 6066 3), kept for the application (mtls_conn_server_name);
 * TLS 1.3's server too. */
mtls_err hs_server_name_from_hello(struct hs *hs, rd data)
{
    const char *why;
    rd host;
    mtls_err err = ext_sni_parse(data, &host, &why);
    /* A host name read before the list turned out to be bad is kept, as it always was. */
    if (host.n) {
        mtls_err set = hs_set_server_name(hs, host);
        if (set)
            return set;
    }
    return err ? hs_err(hs, err, "%s", why) : MTLS_OK;
}

/* RFC 7301 3.1: our most preferred protocol the client offers; none in common is
 * no_application_protocol.  A server without ALPN ignores the extension.  TLS 1.3's too. */
mtls_err hs_select_alpn(struct hs *hs, rd data)
{
    const char *why;
    rd offered, chosen;
    mtls_err err = ext_alpn_parse_list(data, &offered, &why);
    if (err)
        return hs_err(hs, err, "%s", why);
    if (hs->cfg->alpn_len == 0)
        return MTLS_OK;
    if (!ext_alpn_select(hs->cfg->alpn_wire, hs->cfg->alpn_len, offered, &chosen))
        return hs_err(hs, MTLS_ERR_NO_ALPN,
                      "no application protocol offered by the client is served");
    return hs_set_alpn(hs, chosen);
}

/* The ClientHello, parsed by version.c, which chose TLS 1.2. */
mtls_err hs12_server_client_hello(struct hs *hs, const msg *m, const struct msg_client_hello *pch)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    const struct msg_client_hello ch = *pch;
    memcpy(hs->client_random, ch.random, 32);
    memcpy(hs->info->client_random, ch.random, 32);
    const hello_exts *e = &ch.exts;
    rd sid = ch.session_id, suites = ch.cipher_suites, comp = ch.compression_methods;
    uint16_t version = ch.client_version;
    const char *why = NULL;

    /* Versions: TLS 1.2 or a later one (we answer 1.2); SSL 3.0 / TLS 1.0 / 1.1 are refused.
     * RFC 7507 3: a client that signals a fallback (TLS_FALLBACK_SCSV) with a version below our
     * highest gets inappropriate_fallback: it had already tried higher and something interfered. */
    if (version < MTLS_VERSION_TLS12) {
        if (hs_wire_list_has(suites, TLS_SCSV_FALLBACK))
            return hs_err(hs, MTLS_ERR_INAPPROPRIATE_FALLBACK,
                          "the client falls back to version 0x%04x with TLS_FALLBACK_SCSV "
                          "(RFC 7507): an earlier attempt at TLS 1.2 was interfered with",
                          version);
        return hs_err(hs, MTLS_ERR_PROTOCOL_VERSION,
                      "the client offers at most version 0x%04x (older than TLS 1.2)", version);
    }
    hs->s12.client_version = version;

    /* RFC 5246 7.4.1.2: null compression must be offered. */
    if (!memchr(comp.p, 0, comp.n))
        return hs_err(hs, MTLS_ERR_BAD_COMPRESSION, "the client does not offer null compression");

    /* RFC 5746 3.6: SCSV or an empty renegotiation_info marks a safe client. */
    if (hs_wire_list_has(suites, TLS_SCSV_EMPTY_RENEGOTIATION_INFO))
        hs->s12.peer_secure_reneg = true;
    if (e->renegotiation_info.present) {
        if ((err = ext_reneg_parse(e->renegotiation_info.data, &why)))
            return hs_err(hs, err, "%s", why);
        hs->s12.peer_secure_reneg = true;
    }
    if (e->server_name.present && (err = hs_server_name_from_hello(hs, e->server_name.data)))
        return err;
    /* RFC 6066 3: a server that does not serve the requested name may "abort the handshake by
     * sending a fatal-level unrecognized_name(112) alert"; one that used the name to guide it
     * SHALL acknowledge it.  The application decides; only a name it accepted is acknowledged. */
    if (cfg->sni_cb) {
        if (cfg->sni_cb(cfg->sni_arg, hs->env->conn, hs->info->server_name) != MTLS_OK)
            return hs_err(hs, MTLS_ERR_UNRECOGNIZED_NAME, "the application does not serve %s",
                          hs->info->server_name ? hs->info->server_name
                                                : "clients that name no server");
        hs->s12.sni_used = hs->info->server_name != NULL;
    }
    if (e->supported_groups.present &&
        (err = ext_groups_parse(e->supported_groups.data, hs->s12.peer_groups, HS_MAX_PEER_LIST,
                                &hs->s12.n_peer_groups, &why)))
        return hs_err(hs, err, "%s", why);
    /* RFC 8422 5.1.1: a client without supported_groups is taken to accept P-256 only; one whose
     * list names no group we know gets no ECDHE (the list stays empty). */
    if (!e->supported_groups.present) {
        hs->s12.peer_groups[0] = MTLS_GROUP_SECP256R1;
        hs->s12.n_peer_groups = 1;
    }
    if (e->ec_point_formats.present &&
        (err = ext_point_formats_parse(e->ec_point_formats.data, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->signature_algorithms.present &&
        (err = ext_sigalgs_parse(e->signature_algorithms.data, hs->s12.peer_sigalgs,
                                 HS_MAX_PEER_LIST, &hs->s12.n_peer_sigalgs, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->alpn.present && (err = hs_select_alpn(hs, e->alpn.data)))
        return err;
    if (e->ems.present && (err = ext_ems_parse(e->ems.data, &why)))
        return hs_err(hs, err, "%s", why);
    hs->info->ems = e->ems.present;
    if (!hs->info->ems && cfg->require_ems)
        return hs_err(hs, MTLS_ERR_EMS_REQUIRED,
                      "the client does not support extended master secret (RFC 7627)");
    if ((err = hs_status_read_request(hs, &e->status_request)))
        return err;

    hs->ticket_ext = e->session_ticket.present;
    mtls_session *resume = NULL;
    if ((err = hs_session_lookup(hs, sid.p, sid.n, e, suites, &resume)))
        return err;
    if (resume) {
        hs->resume = resume;
        hs->suite = suite_find(resume->suite);
        hs->info->suite = resume->suite;
        hs->info->version = MTLS_VERSION_TLS12;
        rec_fix_version(hs->env->rec, MTLS_VERSION_TLS12);
        memcpy(hs->session_id, sid.p, sid.n);
        hs->session_id_len = sid.n;
        hs_trace_msg(hs, '<', TLS_HS_CLIENT_HELLO,
                     "client_version 0x%04x; asks to resume a session (%s)", version,
                     e->session_ticket.present && e->session_ticket.data.n ? "ticket" : "id");
        if ((err = hs_adopt_session(hs, resume)) || (err = hs_transcript_start(hs)) ||
            (err = hs_transcript_add(hs, m->raw, m->raw_len)))
            return err;
        hs_transcript_drop_buffer(hs);
        if (!cry_random(hs->server_random, 32))
            return hs_err(hs, MTLS_ERR_RNG, "no randomness for ServerHello.random");
        hs->state = S12_SEND_RESUMED_FLIGHT;
        return MTLS_OK;
    }

    if (trace_on(&hs->env->trace)) { /* names are formatted only for someone who reads them */
        char offered[600];
        uint16_t ids[64];
        size_t n_ids = 0;
        for (size_t i = 0; i < suites.n && n_ids < 64; i += 2)
            ids[n_ids++] = be16_get(suites.p + i);
        hs_names(offered, sizeof(offered), ids, n_ids, mtls_suite_name);
        char groups[200];
        hs_names(groups, sizeof(groups), hs->s12.peer_groups, hs->s12.n_peer_groups,
                 mtls_group_name);
        hs_trace_msg(hs, '<', TLS_HS_CLIENT_HELLO,
                     "client_version 0x%04x; suites %s; groups %s; SNI %s%s", version, offered,
                     e->supported_groups.present ? groups : "(none)",
                     hs->info->server_name ? hs->info->server_name : "(none)",
                     hs->info->ems ? "; extended master secret" : "");
    }

    if ((err = choose_suite(hs, suites)))
        return err;
    hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NEGOTIATED, MTLS_OK, 0, '*', "Negotiate",
                  "suite %s (%s preference)%s%s%s%s", hs->suite->name,
                  cfg->prefer_client_order ? "client's" : "our", hs->group ? "; group " : "",
                  hs->group ? mtls_group_name(hs->group) : "",
                  hs->info->server_sigalg ? "; signature " : "",
                  hs->info->server_sigalg ? mtls_sigalg_name(hs->info->server_sigalg) : "");
    hs->info->version = MTLS_VERSION_TLS12;
    rec_fix_version(hs->env->rec, MTLS_VERSION_TLS12);
    hs->cert_requested = cfg->verify_client != MTLS_VERIFY_NONE;
    hs->info->cert_requested = hs->cert_requested;
    /* Without a CertificateRequest no CertificateVerify needs the raw messages: the running hash
     * alone, no copy of a ClientHello of up to 128 KiB. */
    if (!hs->cert_requested)
        hs_transcript_drop_buffer(hs);
    if ((err = hs_transcript_start(hs)) || (err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    /* Remember which extensions to answer. */
    if (!cry_random(hs->server_random, 32))
        return hs_err(hs, MTLS_ERR_RNG, "no randomness for ServerHello.random");
    hs->s12.peer_point_formats = e->ec_point_formats.present;
    /* A session id for the cache (or an external store); a ticket when the client asks. */
    if ((cfg->cache || cfg->store) && cry_random(hs->session_id, 32))
        hs->session_id_len = 32;
    hs->s12.send_ticket = cfg->tickets && hs->ticket_ext;
    hs_status_pick(hs); /* an OCSP staple, when the client asks and we have a current one */
    hs->state = S12_SEND_SERVER_FLIGHT;
    return MTLS_OK;
}

static mtls_err send_server_hello(struct hs *hs)
{
    /* Every extension a server may answer: renegotiation_info 5, extended_master_secret 4,
     * ec_point_formats 6, server_name 4, session_ticket 4, ALPN 4 + 2 + 1 + 255,
     * status_request 4. */
    uint8_t exts[5 + 4 + 6 + 4 + 4 + 262 + 4];
    wr e = wr_fixed(exts, sizeof(exts));
    if (hs->s12.peer_secure_reneg)
        ext_reneg_build(&e);
    if (hs->info->ems)
        ext_ems_build(&e);
    if (hs->suite->kx == KX_ECDHE && hs->s12.peer_point_formats)
        ext_point_formats_build(&e);
    /* RFC 6066 3: the empty server_name answers a name the server used (here: one the
     * application's callback accepted), and "When resuming a session, the server MUST NOT
     * include a server_name extension in the server hello." */
    if (hs->s12.sni_used && !hs->info->resumed)
        ext_empty_build(&e, TLS_EXT_SERVER_NAME);
    if (hs->s12.send_ticket)
        ext_empty_build(&e, TLS_EXT_SESSION_TICKET);
    /* RFC 6066 8: "a server ... MAY return a suitable certificate status response to the client
     * along with its certificate.  If OCSP is requested, it SHOULD use the information contained
     * in the extension when selecting an OCSP responder"; the empty status_request announces the
     * CertificateStatus.  Only when we staple, never on resumption (no Certificate follows). */
    if (hs->status.staple && !hs->info->resumed)
        ext_status_request_ack_build(&e);
    if (hs->info->alpn) {
        size_t n = strlen(hs->info->alpn);
        uint8_t wire[256];
        wire[0] = (uint8_t)n;
        memcpy(wire + 1, hs->info->alpn, n);
        ext_alpn_build(&e, wire, n + 1);
    }
    if (!wr_ok(&e))
        return hs_err(hs, MTLS_ERR_INTERNAL, "the ServerHello extensions do not fit");
    struct msg_server_hello sh = {
        .server_version = MTLS_VERSION_TLS12,
        .session_id = rd_init(hs->session_id, hs->session_id_len),
        .cipher_suite = hs->suite->id,
        .compression_method = 0,
        .extensions = rd_init(exts, e.len),
    };
    memcpy(sh.random, hs->server_random, 32);
    size_t at = hs_msg_open(hs, TLS_HS_SERVER_HELLO);
    msg_server_hello_build(&hs->out, &sh);
    mtls_err err = hs_msg_close(hs, at);
    if (err)
        return err;
    hs_trace_msg(hs, '>', TLS_HS_SERVER_HELLO,
                 "version TLS 1.2, suite %s, compression null%s%s%s%s", hs->suite->name,
                 hs->info->ems ? ", extended master secret" : "", hs->info->alpn ? ", ALPN " : "",
                 hs->info->alpn ? hs->info->alpn : "",
                 hs->status.staple && !hs->info->resumed ? ", status_request (a staple follows)"
                                                         : "");
    return MTLS_OK;
}

/* Our ECDHE key pair and what the ServerKeyExchange signs, made once: the signature may come
 * later (the application's key method), and it must be over these very bytes. */
static mtls_err prepare_server_key_exchange(struct hs *hs)
{
    hs->kex = cry_kex_new(hs->group);
    uint8_t pub[133];
    size_t pub_len;
    if (!hs->kex || !cry_kex_public(hs->kex, pub, sizeof(pub), &pub_len))
        return hs_err(hs, MTLS_ERR_CRYPTO, "ECDHE key generation failed");
    /* RFC 5246 7.4.3: signed over client_random + server_random + params (RFC 8422 5.4
     * ServerECDHParams). */
    uint8_t *signed_data = hs->s12.ske_signed;
    memcpy(signed_data, hs->client_random, 32);
    memcpy(signed_data + 32, hs->server_random, 32);
    wr params = wr_fixed(signed_data + 64, sizeof(hs->s12.ske_signed) - 64);
    if (!msg_ecdh_params_build(&params, hs->group, rd_init(pub, pub_len)))
        return hs_err(hs, MTLS_ERR_CRYPTO, "signing ServerKeyExchange failed");
    hs->s12.ske_signed_len = 64 + params.len;
    return MTLS_OK;
}

static mtls_err send_server_key_exchange(struct hs *hs)
{
    const uint8_t *signed_data = hs->s12.ske_signed;
    uint8_t sig[HS_MAX_OWN_SIG];
    size_t sig_len = 0;
    uint16_t sigalg = hs->info->server_sigalg;
    mtls_err err = hs_sign(hs, "ServerKeyExchange", sigalg, signed_data, hs->s12.ske_signed_len,
                           sig, sizeof(sig), &sig_len);
    if (err)
        return err;
    /* The params as signed: the curve type, the group and the point (RFC 8422 5.4). */
    size_t pub_len = signed_data[64 + 3];
    struct msg_server_key_exchange ske = {
        .curve_type = 3,
        .group = hs->group,
        .point = rd_init(signed_data + 64 + 4, pub_len),
        .sigalg = sigalg,
        .signature = rd_init(sig, sig_len),
    };
    size_t at = hs_msg_open(hs, TLS_HS_SERVER_KEY_EXCHANGE);
    msg_server_key_exchange_build(&hs->out, &ske);
    if ((err = hs_msg_close(hs, at)))
        return err;
    hs_trace_msg(hs, '>', TLS_HS_SERVER_KEY_EXCHANGE,
                 "ECDHE %s public value (%zu bytes), signed with %s%s", mtls_group_name(hs->group),
                 pub_len, mtls_sigalg_name(sigalg),
                 hs->cfg->has_key_method ? " by the application's key method" : "");
    return MTLS_OK;
}

static mtls_err send_cert_request(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    static const uint8_t types[] = {1 /* rsa_sign */, 64 /* ecdsa_sign */};
    uint8_t algs[2 * MTLS_MAX_SIGALGS];
    for (size_t i = 0; i < cfg->n_sigalgs; i++)
        be16_put(algs + 2 * i, cfg->sigalgs[i]);
    /* RFC 5246 7.4.4 certificate_authorities: the distinguished names of the CAs whose
     * certificates we accept (the client-CA anchors' subjects, built when the config froze), so
     * a client with several certificates can pick; empty when switched off
     * (mtls_config_set_send_ca_names) or over MTLS_MAX_CA_NAMES, which lets the client send any. */
    struct msg_certificate_request cr = {
        .certificate_types = rd_init(types, sizeof(types)),
        .signature_algorithms = rd_init(algs, 2 * cfg->n_sigalgs),
        .certificate_authorities =
            cfg->send_ca_names ? rd_init(cfg->ca_names, cfg->ca_names_len) : rd_init(NULL, 0),
    };
    size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE_REQUEST);
    msg_certificate_request_build(&hs->out, &cr);
    mtls_err err = hs_msg_close(hs, at);
    if (err)
        return err;
    const char *mode =
        cfg->verify_client == MTLS_VERIFY_REQUIRE ? "required" : "requested (optional)";
    if (cfg->send_ca_names && cfg->n_ca_names)
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE_REQUEST,
                     "client certificate %s, from %zu CA name(s)", mode, cfg->n_ca_names);
    else
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE_REQUEST, "client certificate %s, no CA names (%s)",
                     mode,
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
    if ((err = send_server_hello(hs)) ||
        (err = hs12_send_certificate(hs, cfg->chain, cfg->chain_len)))
        return err;
    hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE, "our chain: %zu certificate(s), leaf %s",
                 cfg->chain_len, x509_cert_subject(cfg->chain[0]));
    if ((err = hs_status_send12(hs)))
        return err;
    if (hs->suite->kx == KX_ECDHE && (err = prepare_server_key_exchange(hs)))
        return err;
    hs->state = S12_SEND_SERVER_KEY_EXCHANGE;
    return send_server_flight_rest(hs);
}

/* The flight from the ServerKeyExchange on.  With the application's key method the signature may
 * come later (MTLS_ERR_WANT_KEY_OP): the state stays, and this runs again when it has. */
static mtls_err send_server_flight_rest(struct hs *hs)
{
    mtls_err err;
    if (hs->suite->kx == KX_ECDHE && (err = send_server_key_exchange(hs)))
        return err;
    if (hs->cert_requested && (err = send_cert_request(hs)))
        return err;
    static const struct msg_server_hello_done shd;
    size_t at = hs_msg_open(hs, TLS_HS_SERVER_HELLO_DONE);
    msg_server_hello_done_build(&hs->out, &shd);
    if ((err = hs_msg_close(hs, at)) || (err = hs_flush(hs)))
        return err;
    hs_trace_msg(hs, '>', TLS_HS_SERVER_HELLO_DONE, "our part of the negotiation is done");
    hs->state = hs->cert_requested ? S12_READ_CLIENT_CERT : S12_READ_CLIENT_KEY_EXCHANGE;
    return MTLS_OK;
}

static mtls_err send_resumed_flight(struct hs *hs)
{
    /* RFC 5246 7.3, abbreviated handshake: ServerHello, ChangeCipherSpec, Finished. */
    mtls_err err;
    if ((err = send_server_hello(hs)) || (err = hs12_key_block(hs)) ||
        (err = hs12_send_ccs_and_finished(hs)))
        return err;
    hs->state = S12_READ_CCS;
    return MTLS_OK;
}

static mtls_err read_client_cert(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CERTIFICATE)))
        return err;
    if ((err = hs12_read_certificate(hs, m)) || (err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    if (hs->peer_chain_len == 0) {
        hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE, "empty: the client has no certificate");
        /* RFC 5246 7.4.6: "If the client does not send any certificates, the server MAY at its
         * discretion either continue the handshake without client authentication, or respond
         * with a fatal handshake_failure alert." */
        if (cfg->verify_client == MTLS_VERIFY_REQUIRE)
            return hs_err(hs, MTLS_ERR_NO_CLIENT_CERT,
                          "a client certificate is required and the client sent none");
        hs_transcript_drop_buffer(hs);
        hs->state = S12_READ_CLIENT_KEY_EXCHANGE;
        return MTLS_OK;
    }
    const cry_pkey *key = x509_cert_pubkey(hs->peer_chain[0]);
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE,
                 "client certificate: %zu certificate(s); subject %s; issuer %s",
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
    hs->state = S12_READ_CLIENT_KEY_EXCHANGE;
    return MTLS_OK;
}

/* Static RSA: the premaster (keyop.c: implicit rejection, RFC 5246 7.4.7.1), then the keys.
 * `ct` is read by the first call only; with the application's key method the result may come
 * later (MTLS_ERR_WANT_KEY_OP), and this runs again, with NULL, when it has. */
static mtls_err decrypt_premaster(struct hs *hs, const uint8_t *ct, size_t ct_len)
{
    mtls_err err = hs_decrypt_premaster(hs, ct, ct_len, hs->s12.client_version);
    if (err || (err = hs12_derive_keys(hs)))
        return err;
    hs->state = hs->info->peer_cert_presented ? S12_READ_CERT_VERIFY : S12_READ_CCS;
    return MTLS_OK;
}

static mtls_err read_client_key_exchange(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CLIENT_KEY_EXCHANGE)))
        return err;
    rd body = m->body;
    struct msg_client_key_exchange cke = {.rsa = hs->suite->kx == KX_RSA};
    if ((err = msg_client_key_exchange_parse(&body, &cke)))
        return hs_err(hs, err, "%s", cke.why);
    rd v = cke.exchange_keys;
    if (cke.rsa) {
        /* The message is in the transcript before the premaster is known: the key method may
         * take its time, and the EMS session hash ends with this message either way. */
        if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
            return err;
        hs_trace_msg(hs, '<', TLS_HS_CLIENT_KEY_EXCHANGE,
                     "RSA-encrypted PreMasterSecret (%zu bytes), decrypted with implicit "
                     "rejection%s",
                     v.n, cfg->has_key_method ? " (by the application's key method)" : "");
        hs->state = S12_DECRYPT_PREMASTER;
        return decrypt_premaster(hs, v.p, v.n);
    }
    if (!cry_kex_derive(hs->kex, v.p, v.n, hs->k12.premaster, sizeof(hs->k12.premaster),
                        &hs->k12.premaster_len))
        return hs_err(hs, MTLS_ERR_BAD_KEY_SHARE, "the client's ECDHE public value is invalid");
    cry_kex_free(hs->kex);
    hs->kex = NULL;
    hs_trace_msg(hs, '<', TLS_HS_CLIENT_KEY_EXCHANGE,
                 "the client's ECDHE %s public value (%zu bytes)", mtls_group_name(hs->group), v.n);
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)) || (err = hs12_derive_keys(hs)))
        return err;
    hs->state = hs->info->peer_cert_presented ? S12_READ_CERT_VERIFY : S12_READ_CCS;
    return MTLS_OK;
}

static mtls_err read_cert_verify(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CERTIFICATE_VERIFY)))
        return err;
    rd body = m->body;
    struct msg_certificate_verify cv;
    if ((err = msg_certificate_verify_parse(&body, &cv)))
        return hs_err(hs, err, "%s", cv.why);
    uint16_t sigalg = cv.sigalg;
    const cry_pkey *key = x509_cert_pubkey(hs->info->peer_chain[0]);
    /* RFC 5246 7.4.8: the algorithm MUST be one of those in our CertificateRequest. */
    if (!hs_list_has(cfg->sigalgs, cfg->n_sigalgs, sigalg) || !hs_sigalg_fits_key(sigalg, key))
        return hs_err(hs, MTLS_ERR_UNOFFERED_SIGALG,
                      "the client signed with scheme 0x%04x, which was not requested or does not "
                      "fit its key",
                      sigalg);
    if (!cry_verify(key, sigalg, hs->tbuf.p, hs->tbuf.len, cv.signature.p, cv.signature.n))
        return hs_err(hs, MTLS_ERR_BAD_SIGNATURE,
                      "the client's CertificateVerify signature (%s) does not verify: it does not "
                      "hold the certificate's private key",
                      mtls_sigalg_name(sigalg));
    hs->proofs |= PROOF_CERT_VERIFY;
    hs->info->client_sigalg = sigalg;
    hs_transcript_drop_buffer(hs);
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE_VERIFY,
                 "signature %s over the transcript verified: the client holds the key of %s",
                 mtls_sigalg_name(sigalg), x509_cert_subject(hs->info->peer_chain[0]));
    hs->state = S12_READ_CCS;
    return MTLS_OK;
}

static mtls_err read_finished(struct hs *hs, const msg *m)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_FINISHED)))
        return err;
    err = hs12_read_finished(hs, m);
    if (err)
        return err;
    if (hs->info->resumed)
        return hs12_establish(hs);
    hs->state = S12_SEND_FINISHED;
    return MTLS_OK;
}

static mtls_err send_new_session_ticket(struct hs *hs)
{
    struct msg_new_session_ticket nst = {.lifetime_hint = hs->cfg->session_lifetime};
    uint8_t *ticket;
    size_t len;
    mtls_err err = hs_ticket_make(hs, &ticket, &len);
    if (err)
        return err;
    nst.ticket = rd_init(ticket, len);
    size_t at = hs_msg_open(hs, TLS_HS_NEW_SESSION_TICKET);
    msg_new_session_ticket_build(&hs->out, &nst);
    err = hs_msg_close(hs, at);
    mem_free(ticket);
    if (!err)
        hs_trace_msg(hs, '>', TLS_HS_NEW_SESSION_TICKET,
                     "%zu-byte ticket (AES-256-GCM sealed session state), lifetime %u s", len,
                     nst.lifetime_hint);
    return err;
}

static mtls_err send_finished(struct hs *hs)
{
    mtls_err err;
    if (hs->s12.send_ticket && (err = send_new_session_ticket(hs)))
        return err;
    if ((err = hs12_send_ccs_and_finished(hs)))
        return err;
    return hs12_establish(hs);
}

/* ---- the state machine --------------------------------------------------------------------- */

static bool reads(const struct hs *hs)
{
    return hs->state != S12_SEND_SERVER_FLIGHT && hs->state != S12_SEND_SERVER_KEY_EXCHANGE &&
           hs->state != S12_SEND_RESUMED_FLIGHT && hs->state != S12_DECRYPT_PREMASTER &&
           hs->state != S12_SEND_FINISHED;
}

static mtls_err step(struct hs *hs, const msg *m)
{
    switch ((s12_state)hs->state) {
    case S12_READ_CLIENT_HELLO:
        return hs_read_client_hello(hs, m);
    case S12_SEND_SERVER_FLIGHT:
        return send_server_flight(hs);
    case S12_SEND_SERVER_KEY_EXCHANGE:
        return send_server_flight_rest(hs);
    case S12_SEND_RESUMED_FLIGHT:
        return send_resumed_flight(hs);
    case S12_READ_CLIENT_CERT:
        return read_client_cert(hs, m);
    case S12_READ_CLIENT_KEY_EXCHANGE:
        return read_client_key_exchange(hs, m);
    case S12_DECRYPT_PREMASTER:
        return decrypt_premaster(hs, NULL, 0);
    case S12_READ_CERT_VERIFY:
        return read_cert_verify(hs, m);
    case S12_READ_CCS:
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                      hs_msg_name(m->type), "ChangeCipherSpec");
    case S12_READ_FINISHED:
        return read_finished(hs, m);
    case S12_SEND_FINISHED:
        return send_finished(hs);
    case S12_STATE_COUNT:
        break;
    }
    return hs_err(hs, MTLS_ERR_INTERNAL, "handshake in an impossible state");
}

static mtls_err ccs(struct hs *hs, const uint8_t *p, size_t n)
{
    if (hs->state != S12_READ_CCS)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "ChangeCipherSpec at the wrong time");
    mtls_err err = hs12_read_ccs(hs, p, n);
    if (err)
        return err;
    hs->state = S12_READ_FINISHED;
    return MTLS_OK;
}

static const char *const state_names[S12_STATE_COUNT] = {
    "S12_READ_CLIENT_HELLO",
    "S12_SEND_SERVER_FLIGHT",
    "S12_SEND_SERVER_KEY_EXCHANGE",
    "S12_SEND_RESUMED_FLIGHT",
    "S12_READ_CLIENT_CERT",
    "S12_READ_CLIENT_KEY_EXCHANGE",
    "S12_DECRYPT_PREMASTER",
    "S12_READ_CERT_VERIFY",
    "S12_READ_CCS",
    "S12_READ_FINISHED",
    "S12_SEND_FINISHED",
};

const hs_role hs_server12 = {
    .name = "TLS 1.2 server",
    .first_state = S12_READ_CLIENT_HELLO,
    .reads = reads,
    .step = step,
    .ccs = ccs,
    .post = hs12_post,
    .state_names = state_names,
    .n_states = S12_STATE_COUNT,
};
