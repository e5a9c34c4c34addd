/*
 * client13.c -- the TLS 1.3 client, one handler per state, in the order of RFC 8446 2 and 4:
 *
 *   1. send ClientHello (version.c builds it for every version offered: key_share, and a ticket
 *      as pre_shared_key when resuming)
 *   2. read ServerHello (version.c chose TLS 1.3): suite, key share, PSK checked against our
 *      offer; the handshake secrets derived, the server's handshake key installed --
 *      or a HelloRetryRequest: back to 1. with the group and cookie it asks for, once
 *   3. read EncryptedExtensions: only answers to what we offered
 *   4. read CertificateRequest (optional, not with a PSK): can we answer with our certificate?
 *   5. read Certificate, CertificateVerify: the server's chain verified, its signature over the
 *      transcript checked (not with a PSK: the PSK authenticated it)
 *   6. read Finished: checked; the application secrets derived, the server's traffic key
 *      installed
 *   7. send [ChangeCipherSpec], [Certificate, [CertificateVerify]], Finished; our traffic key
 *      installed; established (tickets, KeyUpdates and post-handshake CertificateRequests come
 *      after: post13.c, which answers the last with 4. and 7.'s hs13_client_read_cert_request
 *      and hs13_client_send_cert).  The application's key method may sign the handshake's
 *      CertificateVerify later: C13_SEND_CERT_VERIFY waits for it.
 *
 * Middlebox compatibility (D.4): our legacy_session_id is 32 bytes, and one ChangeCipherSpec of
 * ours goes before our second flight (the second ClientHello, or step 7); one of the server's is
 * dropped between our first ClientHello and its Finished, a second one or one elsewhere is
 * unexpected_message.
 */
#include <string.h>

#include "hs.h"

typedef enum {
    C13_SEND_CLIENT_HELLO,
    C13_READ_SERVER_HELLO,
    C13_READ_ENCRYPTED_EXTENSIONS,
    C13_READ_CERT_REQUEST_OR_CERT,
    C13_READ_CERT,
    C13_READ_CERT_VERIFY,
    C13_READ_FINISHED,
    C13_SEND_CLIENT_FLIGHT,
    C13_SEND_CERT_VERIFY, /* the rest of the flight, from the CertificateVerify's signature on */
    C13_STATE_COUNT
} c13_state;

static mtls_err send_client_hello(struct hs *hs)
{
    mtls_err err = hs_send_client_hello(hs);
    if (!err)
        hs->state = C13_READ_SERVER_HELLO;
    return err;
}

/* RFC 8446 4.1.4: the HelloRetryRequest, at most once, and only when it changes the hello. */
static mtls_err read_hello_retry_request(struct hs *hs, const msg *m,
                                         const struct msg_server_hello *sh, const suite_info *suite)
{
    const mtls_config *cfg = hs->cfg;
    const hello_exts *e = &sh->exts;
    const char *why;
    mtls_err err;
    /* "If a client receives a second HelloRetryRequest in the same connection ... it MUST abort
     * the handshake with an "unexpected_message" alert." */
    if (hs->hrr)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "a second HelloRetryRequest");
    uint16_t group = 0;
    rd cookie = {NULL, 0};
    if (e->key_share.present) {
        if ((err = ext_key_share_hrr_parse(e->key_share.data, &group, &why)))
            return hs_err(hs, err, "%s", why);
        /* "Upon receipt of this extension in a HelloRetryRequest, the client MUST verify that (1)
         * the selected_group field corresponds to a group which was provided in the
         * "supported_groups" extension in the original ClientHello and (2) the selected_group
         * field does not correspond to a group which was provided in the "key_share" extension
         * in the original ClientHello.  If either of these checks fails, then the client MUST
         * abort the handshake with an "illegal_parameter" alert." */
        if (!hs_list_has(cfg->groups, cfg->n_groups, group) || group == hs->share_group)
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "the HelloRetryRequest asks for group 0x%04x, %s", group,
                          group == hs->share_group ? "for which we sent a key share already"
                                                   : "which we did not offer");
    }
    if (e->cookie.present && (err = ext_cookie_parse(e->cookie.data, &cookie, &why)))
        return hs_err(hs, err, "%s", why);
    /* "Clients MUST abort the handshake with an "illegal_parameter" alert if the
     * HelloRetryRequest would not result in any change in the ClientHello." */
    if (!group && !cookie.n)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "a HelloRetryRequest that would not change the ClientHello");
    hs->hrr = true;
    hs->hrr_suite = suite->id;
    uint16_t old_group = hs->share_group; /* for the trace */
    if (cookie.n) {
        if (!(hs->cookie = mem_alloc(cookie.n)))
            return MTLS_ERR_NO_MEMORY;
        memcpy(hs->cookie, cookie.p, cookie.n);
        hs->cookie_len = cookie.n;
    }
    if (group) {
        cry_kex_free(hs->kex);
        hs->share_group = group;
        if (!(hs->kex = cry_kex_new(group)))
            return hs_err(hs, MTLS_ERR_CRYPTO, "key share generation failed");
    }
    /* 4.1.2: the second hello updates the PSK "and (optionally) remov[es] any PSKs which are
     * incompatible with the server's indicated cipher suite" -- we must: its binder would be of
     * another hash than the transcript's. */
    if (hs->psk_offered && suite_find(hs->resume->suite)->prf != suite->prf) {
        hs->psk_offered = false;
        mtls_session_free(hs->resume);
        hs->resume = NULL;
    }
    /* 4.4.1: the transcript goes on from message_hash(ClientHello1), then this message. */
    if ((err = hs13_restart_transcript(hs, suite)) ||
        (err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg_as(hs, '<', TLS_HS_SERVER_HELLO, "HelloRetryRequest",
                    "TLS 1.3, suite %s%s%s%s%s%s%s; we send a second ClientHello: one more round "
                    "trip",
                    suite->name, group ? "; asks for a key share for " : "",
                    group ? mtls_group_name(group) : "", group ? " (ours was for " : "",
                    group ? mtls_group_name(old_group) : "", group ? ")" : "",
                    cookie.n ? "; with a cookie to echo" : "");
    hs->state = C13_SEND_CLIENT_HELLO;
    return MTLS_OK;
}

mtls_err hs13_client_server_hello(struct hs *hs, const msg *m, const struct msg_server_hello *sh)
{
    const mtls_config *cfg = hs->cfg;
    const hello_exts *e = &sh->exts;
    const char *why;
    mtls_err err;
    /* 4.1.3: "A client which receives a legacy_session_id_echo field that does not match what
     * it sent in the ClientHello MUST abort the handshake with an "illegal_parameter" alert." */
    if (sh->session_id.n != hs->session_id_len ||
        memcmp(sh->session_id.p, hs->session_id, hs->session_id_len) != 0)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the server's legacy_session_id_echo is not our legacy_session_id");
    /* 4.1.3: legacy_compression_method "MUST have the value 0". */
    if (sh->compression_method != 0)
        return hs_err(hs, MTLS_ERR_BAD_COMPRESSION, "the server chose compression method %u",
                      sh->compression_method);
    const suite_info *suite = suite_find(sh->cipher_suite);
    if (!suite || !suite->tls13 || !hs_list_has(cfg->suites, cfg->n_suites, suite->id))
        return hs_err(hs, MTLS_ERR_UNOFFERED_SUITE,
                      "the server chose cipher suite 0x%04x, which was not offered for TLS 1.3",
                      sh->cipher_suite);
    if (sh->kind == MSG_HRR)
        return read_hello_retry_request(hs, m, sh, suite);
    /* 4.1.4: "clients MUST check that the cipher suite supplied in the ServerHello is the same
     * as that in the HelloRetryRequest and otherwise abort the handshake with an
     * "illegal_parameter" alert." */
    if (hs->hrr && suite->id != hs->hrr_suite)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the ServerHello's suite is not the one of its HelloRetryRequest");

    bool psk = false;
    if (e->pre_shared_key.present) {
        uint16_t selected;
        if (!hs->psk_offered)
            return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                          "the server chose a pre-shared key, which was not offered");
        if ((err = ext_psk_sh_parse(e->pre_shared_key.data, &selected, &why)))
            return hs_err(hs, err, "%s", why);
        /* 4.2.11: "Clients MUST verify that the server's selected_identity is within the range
         * supplied by the client, that the server selected a cipher suite indicating a Hash
         * associated with the PSK ... If these values are not consistent, the client MUST abort
         * the handshake with an "illegal_parameter" alert." */
        if (selected != 0 || suite_find(hs->resume->suite)->prf != suite->prf)
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "the server chose PSK identity %u with suite %s, which do not fit our "
                          "offer",
                          selected, suite->name);
        psk = true;
    }
    struct c13 *c13 = &hs->c13;
    if (e->key_share.present) {
        ext_share share;
        if ((err = ext_key_share_sh_parse(e->key_share.data, &share, &why)))
            return hs_err(hs, err, "%s", why);
        /* 4.2.8: "This value MUST be in the same group as the KeyShareEntry value offered by the
         * client that the server has selected"; after a HelloRetryRequest, its group. */
        if (share.group != hs->share_group)
            return hs_err(hs, MTLS_ERR_UNOFFERED_GROUP,
                          "the server's key share is for group 0x%04x; ours was for %s",
                          share.group, mtls_group_name(hs->share_group));
        if (!cry_kex_derive(hs->kex, share.key_exchange.p, share.key_exchange.n, c13->ecdhe,
                            sizeof(c13->ecdhe), &c13->ecdhe_len))
            return hs_err(hs, MTLS_ERR_BAD_KEY_SHARE, "the server's key share is invalid");
        hs->group = share.group;
        hs->info->group = share.group;
    } else if (!(psk && cfg->psk_ke)) {
        /* 4.2.11: "a server "key_share" extension is present if required by the ClientHello
         * "psk_key_exchange_modes" extension" (9.2: missing_extension). */
        return hs_err(hs, MTLS_ERR_MISSING_EXTENSION, "the ServerHello has no key_share");
    }
    cry_kex_free(hs->kex);
    hs->kex = NULL;
    memcpy(hs->server_random, sh->random, 32);
    hs->suite = suite;
    hs_info *info = hs->info;
    info->version = MTLS_VERSION_TLS13;
    info->suite = suite->id;

    /* The transcript from here on is the suite's running hash. */
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs_transcript_start(hs)))
        return err;
    hs_transcript_drop_buffer(hs);
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)) ||
        (err = hs_transcript_hash(hs, th, &hlen)) || (err = ks13_init(&hs->k13, suite->prf)) ||
        (err = ks13_early(&hs->k13, psk ? hs->resume->master : NULL, psk ? hlen : 0)) ||
        (err = ks13_handshake(&hs->k13, c13->ecdhe_len ? c13->ecdhe : NULL, c13->ecdhe_len, th)))
        return err;
    cry_wipe(c13->ecdhe, sizeof(c13->ecdhe));
    static const ks13_secret hs_secrets[] = {KS13_C_HS_TRAFFIC, KS13_S_HS_TRAFFIC};
    hs13_keylog(hs, hs_secrets, 2);
    if ((err = hs13_aligned(hs, m)) || (err = hs13_install(hs, KS13_S_HS_TRAFFIC, false)) ||
        (err = hs13_install(hs, KS13_C_HS_TRAFFIC, true)))
        return err;
    rec_allow_plain_ccs(hs->env->rec, true);
    if (psk) {
        if ((err = hs13_adopt_session(hs, hs->resume)))
            return err;
    } else if (hs->resume) {
        mtls_session_free(hs->resume);
        hs->resume = NULL;
    }
    hs_trace_msg(hs, '<', TLS_HS_SERVER_HELLO,
                 "version TLS 1.3 (supported_versions), suite %s%s%s%s", suite->name,
                 hs->group ? ", key share " : "", hs->group ? mtls_group_name(hs->group) : "",
                 psk ? ", accepts our ticket (pre-shared key): resuming" : "");
    hs_trace_step(
        hs, MTLS_TRACE_KEYS, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "HandshakeKeys",
        "handshake secret from %s; from now on both sides' records are encrypted under the "
        "handshake traffic secrets",
        psk && hs->group ? "the PSK and the (EC)DHE shared secret"
        : psk            ? "the PSK alone (psk_ke)"
                         : "the (EC)DHE shared secret");
    hs->state = C13_READ_ENCRYPTED_EXTENSIONS;
    return MTLS_OK;
}

static mtls_err read_encrypted_extensions(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_ENCRYPTED_EXTENSIONS)))
        return err;
    rd body = m->body;
    struct msg_encrypted_extensions ee;
    if ((err = msg_encrypted_extensions_parse(&body, &ee)))
        return hs_decode_err(hs, err, ee.why, &ee.exts);
    const hello_exts *e = &ee.exts;
    const char *why;
    /* 4.2: only answers to what we offered (early_data and record_size_limit we never
     * offer). */
    if ((e->server_name.present && !hs_sends_sni(hs->info)) ||
        (e->alpn.present && cfg->alpn_len == 0) || e->early_data.present ||
        e->record_size_limit.present)
        return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                      "the server answered with an extension that was not offered");
    if (e->server_name.present && (err = ext_empty_parse(e->server_name.data, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->supported_groups.present) {
        /* 4.2.7: the server's preference, for later connections; "clients MUST NOT act upon
         * any information found in "supported_groups" prior to successful completion of the
         * handshake".  Only its form is checked. */
        uint16_t groups[HS_MAX_PEER_LIST];
        size_t n;
        if ((err = ext_groups_parse(e->supported_groups.data, groups, HS_MAX_PEER_LIST, &n, &why)))
            return hs_err(hs, err, "%s", why);
    }
    if (e->alpn.present) {
        rd name;
        if ((err = ext_alpn_parse_one(e->alpn.data, &name, &why)))
            return hs_err(hs, err, "%s", why);
        if (!ext_alpn_has(cfg->alpn_wire, cfg->alpn_len, name))
            return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                          "the server chose an ALPN protocol not offered");
        if ((err = hs_set_alpn(hs, name)))
            return err;
    }
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_ENCRYPTED_EXTENSIONS, "encrypted%s%s%s%s",
                 hs->info->alpn ? "; ALPN " : "", hs->info->alpn ? hs->info->alpn : "",
                 e->server_name.present ? "; the server used our server name" : "",
                 e->supported_groups.present ? "; the server lists the groups it prefers" : "");
    hs->state = hs->info->resumed ? C13_READ_FINISHED : C13_READ_CERT_REQUEST_OR_CERT;
    return MTLS_OK;
}

mtls_err hs13_client_read_cert_request(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    struct c13 *c13 = &hs->c13;
    rd body = m->body;
    struct msg_certificate_request13 cr;
    const char *why;
    mtls_err err = msg_certificate_request13_parse(&body, &cr);
    if (err)
        return hs_decode_err(hs, err, cr.why, &cr.exts);
    /* 4.3.2: "certificate_request_context ... SHALL be zero length unless used for the
     * post-handshake authentication exchanges".  After the handshake our Certificate echoes it
     * (4.4.2); RFC 8446 asks no more of it there (the server SHOULD make it unpredictable), and
     * we answer each request as it comes, so even an empty one is unambiguous. */
    if (cr.context.n != 0 && !hs->post_auth)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "CertificateRequest with a certificate_request_context in the handshake");
    hs->post_context = cr.context;
    /* 4.3.2: "The "signature_algorithms" extension MUST be specified". */
    if (!cr.exts.signature_algorithms.present)
        return hs_err(hs, MTLS_ERR_MISSING_EXTENSION,
                      "CertificateRequest without signature_algorithms");
    if ((err = ext_sigalgs_parse(cr.exts.signature_algorithms.data, c13->cr_sigalgs,
                                 HS_MAX_PEER_LIST, &c13->n_cr_sigalgs, &why)))
        return hs_err(hs, err, "%s", why);
    size_t n_cas = 0;
    if (cr.exts.certificate_authorities.present &&
        (err = ext_ca_names_parse(cr.exts.certificate_authorities.data, &n_cas, &why)))
        return hs_err(hs, err, "%s", why);
    if (cr.exts.signature_algorithms_cert.present) {
        uint16_t algs[HS_MAX_PEER_LIST];
        size_t n;
        if ((err = ext_sigalgs_parse(cr.exts.signature_algorithms_cert.data, algs,
                                     HS_MAX_PEER_LIST, &n, &why)))
            return hs_err(hs, err, "%s", why);
    }
    hs->cert_requested = true;
    hs->info->cert_requested = true;
    bool usable = cfg->key && hs_key_can_sign(cfg->chain[0]);
    c13->cv_sigalg = usable ? hs13_pick_sigalg(cfg, c13->cr_sigalgs, c13->n_cr_sigalgs) : 0;
    c13->sends_cert = c13->cv_sigalg != 0;
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE_REQUEST,
                 "encrypted; the server asks for a client certificate%s (%zu CA names); %s",
                 hs->post_auth ? " after the handshake (post-handshake authentication)" : "",
                 n_cas,
                 c13->sends_cert ? "we will send ours, encrypted"
                 : cfg->key      ? "our certificate does not fit what it accepts: we send none"
                                 : "we have none to send");
    hs->state = C13_READ_CERT;
    return MTLS_OK;
}

static mtls_err read_server_cert(struct hs *hs, const msg *m)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CERTIFICATE)) || (err = hs13_read_certificate(hs, m)))
        return err;
    /* 4.4.2.4: "If the server supplies an empty Certificate message, the client MUST abort the
     * handshake with a "decode_error" alert." */
    if (hs->peer_chain_len == 0)
        return hs_err(hs, MTLS_ERR_DECODE, "the server sent an empty Certificate message");
    hs->info->peer_cert_presented = true;
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    const cry_pkey *key = x509_cert_pubkey(hs->peer_chain[0]);
    cry_key_type kt = cry_pkey_type(key);
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE,
                 "encrypted; %zu certificate(s); subject %s; issuer %s; key %s-%u%s",
                 hs->peer_chain_len, x509_cert_subject(hs->peer_chain[0]),
                 x509_cert_issuer(hs->peer_chain[0]), kt == CRY_KEY_RSA ? "RSA" : "EC",
                 cry_pkey_bits(key),
                 hs->status.peer_ocsp   ? "; with a stapled OCSP response (RFC 8446 4.4.2.1)"
                 : hs->status.requested ? "; no stapled OCSP response"
                                        : "");
    if (kt != CRY_KEY_RSA && kt != CRY_KEY_EC_P256 && kt != CRY_KEY_EC_P384)
        return hs_err(hs, MTLS_ERR_CERT_UNSUPPORTED,
                      "the server certificate's key type is not supported");
    if (!hs_key_can_sign(hs->peer_chain[0])) /* it signs CertificateVerify */
        return hs_err(hs, MTLS_ERR_CERT_KEY_USAGE,
                      "the server's certificate %s has a keyUsage that does not allow signing "
                      "(digitalSignature)",
                      x509_cert_subject(hs->peer_chain[0]));
    if ((err = hs_verify_peer_chain(hs)))
        return err;
    hs->state = C13_READ_CERT_VERIFY;
    return MTLS_OK;
}

static mtls_err read_cert_request_or_cert(struct hs *hs, const msg *m)
{
    if (m->type == TLS_HS_CERTIFICATE_REQUEST)
        return hs13_client_read_cert_request(hs, m);
    if (m->type != TLS_HS_CERTIFICATE)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                      hs_msg_name(m->type), "CertificateRequest or Certificate");
    return read_server_cert(hs, m);
}

static mtls_err read_cert_verify(struct hs *hs, const msg *m)
{
    mtls_err err = hs13_read_cert_verify(hs, m, hs->cfg->sigalgs, hs->cfg->n_sigalgs);
    if (!err)
        hs->state = C13_READ_FINISHED;
    return err;
}

static mtls_err read_finished(struct hs *hs, const msg *m)
{
    mtls_err err;
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs13_read_finished(hs, m, KS13_S_HS_TRAFFIC)) ||
        (err = hs_transcript_hash(hs, th, &hlen)) || (err = ks13_master(&hs->k13, th)))
        return err;
    static const ks13_secret ap[] = {KS13_C_AP_TRAFFIC, KS13_S_AP_TRAFFIC, KS13_EXPORTER};
    hs13_keylog(hs, ap, 3);
    if ((err = hs13_aligned(hs, m)) || (err = hs13_install(hs, KS13_S_AP_TRAFFIC, false)))
        return err;
    hs_trace_step(hs, MTLS_TRACE_KEYS, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "ApplicationKeys",
                  "master secret from the handshake secret; from it and the transcript up to the "
                  "server's Finished, the application traffic secrets 0 and the exporter secret: "
                  "the server's records are encrypted under its application traffic secret 0 from "
                  "now on, ours after our Finished");
    /* RFC 8446 5: the compatibility CCS may come "before the peer's Finished message has been
     * received", not after. */
    rec_allow_plain_ccs(hs->env->rec, false);
    hs->state = C13_SEND_CLIENT_FLIGHT;
    return MTLS_OK;
}

/* Our Certificate: the chain, or empty. */
static mtls_err send_certificate(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    struct c13 *c13 = &hs->c13;
    mtls_err err;
    /* 4.4.2: "If the server requests client authentication but no suitable certificate is
     * available, the client MUST send a Certificate message containing no certificates." */
    if ((err = hs13_send_certificate(hs, cfg->chain, c13->sends_cert ? cfg->chain_len : 0)))
        return err;
    if (c13->sends_cert)
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE, "encrypted; our certificate: %s",
                     x509_cert_subject(cfg->chain[0]));
    else
        hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE, "encrypted; empty: no client certificate");
    return MTLS_OK;
}

/* Certificate and, with one, CertificateVerify: the answer to a post-handshake CertificateRequest
 * (post13.c).  A key method must answer that signature at once (post13.c says why). */
mtls_err hs13_client_send_cert(struct hs *hs)
{
    struct c13 *c13 = &hs->c13;
    mtls_err err;
    if ((err = send_certificate(hs)))
        return err;
    if (c13->sends_cert && (err = hs13_send_cert_verify(hs, c13->cv_sigalg)))
        return err;
    if (c13->sends_cert)
        hs->info->client_sigalg = c13->cv_sigalg;
    return MTLS_OK;
}

static mtls_err send_client_flight_rest(struct hs *hs);

static mtls_err send_client_flight(struct hs *hs)
{
    mtls_err err;
    if ((err = hs13_send_ccs(hs)))
        return err;
    if (hs->cert_requested && (err = send_certificate(hs)))
        return err;
    hs->state = C13_SEND_CERT_VERIFY;
    return send_client_flight_rest(hs);
}

/* The flight from the CertificateVerify on.  With the application's key method the signature
 * may come later (MTLS_ERR_WANT_KEY_OP): the state stays, and this runs again when it has. */
static mtls_err send_client_flight_rest(struct hs *hs)
{
    struct c13 *c13 = &hs->c13;
    mtls_err err;
    if (hs->cert_requested && c13->sends_cert) {
        if ((err = hs13_send_cert_verify(hs, c13->cv_sigalg)))
            return err;
        hs->info->client_sigalg = c13->cv_sigalg;
    }
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs13_send_finished(hs, KS13_C_HS_TRAFFIC)) || (err = hs_flush(hs)) ||
        (err = hs13_install(hs, KS13_C_AP_TRAFFIC, true)) ||
        (err = hs_transcript_hash(hs, th, &hlen)) || (err = ks13_finish(&hs->k13, th)))
        return err;
    return hs13_establish(hs);
}

/* ---- the state machine --------------------------------------------------------------------- */

static bool reads(const struct hs *hs)
{
    return hs->state != C13_SEND_CLIENT_HELLO && hs->state != C13_SEND_CLIENT_FLIGHT &&
           hs->state != C13_SEND_CERT_VERIFY;
}

static mtls_err step(struct hs *hs, const msg *m)
{
    switch ((c13_state)hs->state) {
    case C13_SEND_CLIENT_HELLO:
        return send_client_hello(hs);
    case C13_READ_SERVER_HELLO:
        return hs_read_server_hello(hs, m);
    case C13_READ_ENCRYPTED_EXTENSIONS:
        return read_encrypted_extensions(hs, m);
    case C13_READ_CERT_REQUEST_OR_CERT:
        return read_cert_request_or_cert(hs, m);
    case C13_READ_CERT:
        return read_server_cert(hs, m);
    case C13_READ_CERT_VERIFY:
        return read_cert_verify(hs, m);
    case C13_READ_FINISHED:
        return read_finished(hs, m);
    case C13_SEND_CLIENT_FLIGHT:
        return send_client_flight(hs);
    case C13_SEND_CERT_VERIFY:
        return send_client_flight_rest(hs);
    case C13_STATE_COUNT:
        break;
    }
    return hs_err(hs, MTLS_ERR_INTERNAL, "handshake in an impossible state");
}

static mtls_err ccs(struct hs *hs, const uint8_t *p, size_t n)
{
    /* RFC 8446 5: from our first ClientHello (one that offered TLS 1.3) to the server's
     * Finished; should the server then choose TLS 1.2, the one dropped before its ServerHello
     * changed nothing. */
    bool in_window = hs->offered13 && hs->state != C13_SEND_CLIENT_FLIGHT &&
                     hs->state != C13_SEND_CERT_VERIFY;
    return hs13_ccs(hs, in_window, p, n);
}

static const char *const state_names[C13_STATE_COUNT] = {
    "C13_SEND_CLIENT_HELLO",         "C13_READ_SERVER_HELLO", "C13_READ_ENCRYPTED_EXTENSIONS",
    "C13_READ_CERT_REQUEST_OR_CERT", "C13_READ_CERT",         "C13_READ_CERT_VERIFY",
    "C13_READ_FINISHED",             "C13_SEND_CLIENT_FLIGHT", "C13_SEND_CERT_VERIFY",
};

const hs_role hs_client13 = {
    .name = "TLS 1.3 client",
    .first_state = C13_SEND_CLIENT_HELLO,
    .reads = reads,
    .step = step,
    .ccs = ccs,
    .post = hs13_post,
    .state_names = state_names,
    .n_states = C13_STATE_COUNT,
};
