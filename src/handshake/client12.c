/*
 * client12.c -- the TLS 1.2 client, one handler per state, in the order of RFC 5246 7.3 and the
 * seed:
 *
 *   1. send ClientHello (version, random, suites, null compression, extensions: version.c builds
 *      it for every version offered)
 *   2. read ServerHello: check every choice against what we offered (version.c chose TLS 1.2)
 *   3. read Certificate: parse with our X.509 code, verify chain and host name
 *      read CertificateStatus (RFC 6066 8: only after our status_request and the server's
 *      acknowledgement, and even then optional): the stapled OCSP response, checked with the chain
 *      read ServerKeyExchange (ECDHE): check group and signature scheme were offered, verify
 *   4. read CertificateRequest (optional): decide whether we can answer with our certificate
 *   5. read ServerHelloDone
 *   6-11. send [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished
 *         (the CertificateVerify's signature may come later from the application's key method:
 *         C12_SEND_CERT_VERIFY waits for it, keyop.c)
 *   13-15. read ChangeCipherSpec, read and check the server's Finished
 *
 * The abbreviated handshake (RFC 5246 7.3, a session offered and accepted): ServerHello,
 * [NewSessionTicket], ChangeCipherSpec, Finished from the server, then ours.
 */
#include <string.h>

#include "hs.h"

static bool offers_ecdhe(const mtls_config *cfg)
{
    for (size_t i = 0; i < cfg->n_suites; i++)
        if (suite_find(cfg->suites[i])->kx == KX_ECDHE)
            return true;
    return false;
}

/* The states, in RFC 5246 7.3 order, each named for what it waits for or does. */
typedef enum {
    C12_SEND_CLIENT_HELLO,
    C12_READ_SERVER_HELLO,
    C12_READ_SERVER_CERT,
    C12_READ_CERT_STATUS, /* after an acknowledged status_request: CertificateStatus or what
                           * follows Certificate (status.c) */
    C12_READ_SERVER_KEY_EXCHANGE,
    C12_READ_CERT_REQUEST_OR_SERVER_DONE,
    C12_READ_SERVER_DONE,
    C12_SEND_CLIENT_FLIGHT,
    C12_SEND_CERT_VERIFY, /* the rest of the flight, from the CertificateVerify's signature on */
    C12_READ_NEW_SESSION_TICKET,
    C12_READ_CCS,
    C12_READ_FINISHED,
    C12_SEND_FINISHED_RESUMED, /* abbreviated handshake: ours follow the server's */
    C12_STATE_COUNT
} c12_state;

/* The ClientHello is the one of both versions (version.c). */
static mtls_err send_client_hello(struct hs *hs)
{
    mtls_err err = hs_send_client_hello(hs);
    if (!err)
        hs->state = C12_READ_SERVER_HELLO;
    return err;
}

/* The server's ALPN answer: exactly one name, one we offered (RFC 7301 3.1). */
static mtls_err read_alpn(struct hs *hs, rd data)
{
    const char *why;
    rd name;
    mtls_err err = ext_alpn_parse_one(data, &name, &why);
    if (err)
        return hs_err(hs, err, "%s", why);
    if (!ext_alpn_has(hs->cfg->alpn_wire, hs->cfg->alpn_len, name))
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the server chose an ALPN protocol not offered");
    return hs_set_alpn(hs, name);
}

/* The ServerHello, parsed and its version checked by version.c. */
mtls_err hs12_client_server_hello(struct hs *hs, const msg *m, const struct msg_server_hello *sh)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    memcpy(hs->server_random, sh->random, 32);
    const hello_exts *e = &sh->exts;
    uint16_t version = sh->server_version, suite = sh->cipher_suite;
    uint8_t compression = sh->compression_method;
    rd sid = sh->session_id;
    const char *why = NULL;

    if (version != MTLS_VERSION_TLS12)
        return hs_err(hs, MTLS_ERR_PROTOCOL_VERSION,
                      "the server chose protocol version 0x%04x; mtls speaks only TLS 1.2",
                      version);
    if (!hs_list_has(cfg->suites, cfg->n_suites, suite) || suite_find(suite)->tls13)
        return hs_err(hs, MTLS_ERR_UNOFFERED_SUITE,
                      "the server chose cipher suite 0x%04x, which was not offered", suite);
    if (compression != 0)
        return hs_err(hs, MTLS_ERR_BAD_COMPRESSION, "the server chose compression method %u",
                      compression);
    hs->suite = suite_find(suite);
    bool resumed = hs->resume && sid.n && sid.n == hs->session_id_len &&
                   memcmp(sid.p, hs->session_id, sid.n) == 0;
    memcpy(hs->session_id, sid.p, sid.n);
    hs->session_id_len = sid.n;

    /* Every extension must answer one we sent. */
    bool sni_sent = hs_sends_sni(hs->info);
    if ((e->server_name.present && (!sni_sent || e->server_name.data.n != 0)) ||
        e->signature_algorithms.present ||
        (e->session_ticket.present && (!cfg->tickets || e->session_ticket.data.n != 0)) ||
        (e->alpn.present && cfg->alpn_len == 0) ||
        (e->ec_point_formats.present && !offers_ecdhe(cfg)))
        return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                      "the server answered with an extension that was not offered");
    if (e->ec_point_formats.present &&
        (err = ext_point_formats_parse(e->ec_point_formats.data, &why)))
        return hs_err(hs, err, "%s", why);
    if (e->alpn.present && (err = read_alpn(hs, e->alpn.data)))
        return err;
    if (e->ems.present && (err = ext_ems_parse(e->ems.data, &why)))
        return hs_err(hs, err, "%s", why);
    /* RFC 5746 3.4: without renegotiation_info the server is not known to be safe; like
     * OpenSSL 3 we refuse such servers. */
    if (!e->renegotiation_info.present)
        return hs_err(hs, MTLS_ERR_BAD_RENEGOTIATION_INFO,
                      "the server does not support secure renegotiation (RFC 5746)");
    if ((err = ext_reneg_parse(e->renegotiation_info.data, &why)))
        return hs_err(hs, err, "%s", why);
    if ((err = hs_status_read_ack(hs, &e->status_request, resumed)))
        return err;
    hs->info->ems = e->ems.present;
    if (!hs->info->ems && cfg->require_ems)
        return hs_err(hs, MTLS_ERR_EMS_REQUIRED,
                      "the server does not support extended master secret (RFC 7627)");

    hs->info->version = version;
    rec_fix_version(hs->env->rec, version);
    hs->info->suite = suite;
    hs->ticket_ext = e->session_ticket.present;
    if ((err = hs_transcript_start(hs)) || (err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_SERVER_HELLO,
                 "version TLS 1.2, suite %s, compression null%s%s%s%s%s", hs->suite->name,
                 hs->info->ems ? ", extended master secret" : "", hs->info->alpn ? ", ALPN " : "",
                 hs->info->alpn ? hs->info->alpn : "",
                 hs->status.acked ? ", status_request acknowledged (a staple may follow)" : "",
                 resumed ? ", echoes our session id: resuming" : "");
    if (!resumed) {
        mtls_session_free(hs->resume);
        hs->resume = NULL;
        hs->state = C12_READ_SERVER_CERT;
        return MTLS_OK;
    }
    /* RFC 5246 7.4.1.3: a resumed session keeps its cipher suite; RFC 7627 5.3: the client MUST
     * abort if the server resumes without extended master secret for a session that had it (or
     * the other way round). */
    if (suite != hs->resume->suite)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the server resumed the session with a different cipher suite");
    if (hs->info->ems != hs->resume->ems)
        return hs_err(hs, MTLS_ERR_EMS_REQUIRED,
                      "the server resumed the session with a different extended master secret "
                      "setting (RFC 7627 5.3)");
    hs_transcript_drop_buffer(hs);
    if ((err = hs_adopt_session(hs, hs->resume)) || (err = hs12_key_block(hs)))
        return err;
    hs->state = hs->ticket_ext ? C12_READ_NEW_SESSION_TICKET : C12_READ_CCS;
    return MTLS_OK;
}

static mtls_err read_server_cert(struct hs *hs, const msg *m)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CERTIFICATE)))
        return err;
    if ((err = hs12_read_certificate(hs, m)))
        return err;
    if (hs->peer_chain_len == 0)
        /* RFC 5246 7.4.2: the server's certificate_list is its chain, at least the leaf. */
        return hs_err(hs, MTLS_ERR_NO_SERVER_CERT, "the server sent an empty Certificate message");
    hs->info->peer_cert_presented = true;
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    const cry_pkey *key = x509_cert_pubkey(hs->peer_chain[0]);
    cry_key_type kt = cry_pkey_type(key);
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE,
                 "%zu certificate(s); subject %s; issuer %s; key %s-%u", hs->peer_chain_len,
                 x509_cert_subject(hs->peer_chain[0]), x509_cert_issuer(hs->peer_chain[0]),
                 kt == CRY_KEY_RSA ? "RSA" : "EC", cry_pkey_bits(key));
    bool fits = hs->suite->auth == AUTH_RSA ? kt == CRY_KEY_RSA
                                            : (kt == CRY_KEY_EC_P256 || kt == CRY_KEY_EC_P384);
    if (!fits)
        return hs_err(hs, MTLS_ERR_CERT_WRONG_TYPE,
                      "the server's certificate key (%s) does not fit suite %s",
                      kt == CRY_KEY_RSA ? "RSA" : "EC", hs->suite->name);
    if (!(hs->suite->kx == KX_RSA ? hs_key_can_encipher(hs->peer_chain[0])
                                  : hs_key_can_sign(hs->peer_chain[0])))
        return hs_err(hs, MTLS_ERR_CERT_KEY_USAGE,
                      "the server's certificate %s has a keyUsage that does not allow %s",
                      x509_cert_subject(hs->peer_chain[0]),
                      hs->suite->kx == KX_RSA ? "RSA key transport (keyEncipherment)"
                                              : "signing (digitalSignature)");
    /* After an acknowledged status_request the chain is verified with the staple, or once the
     * next message shows that none comes (read_cert_status). */
    if (hs->status.acked) {
        hs->state = C12_READ_CERT_STATUS;
        return MTLS_OK;
    }
    if ((err = hs_verify_peer_chain(hs)))
        return err;
    hs->state = hs->suite->kx == KX_ECDHE ? C12_READ_SERVER_KEY_EXCHANGE
                                           : C12_READ_CERT_REQUEST_OR_SERVER_DONE;
    return MTLS_OK;
}

static mtls_err step(struct hs *hs, const msg *m);

/* The message after Certificate when the server acknowledged our status_request: its
 * CertificateStatus, or -- RFC 6066 8: "a server MAY also choose not to send a
 * "CertificateStatus" message, even if has received a "status_request" extension in the client
 * hello message and has sent a "status_request" extension in the server hello message" -- the
 * message that follows Certificate otherwise, handled by its own state once the chain is
 * verified without a staple. */
static mtls_err read_cert_status(struct hs *hs, const msg *m)
{
    mtls_err err;
    bool stapled = m->type == TLS_HS_CERTIFICATE_STATUS;
    if (stapled && (err = hs_status_read12(hs, m)))
        return err;
    if (!stapled)
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NO_STAPLE, MTLS_OK, 0, '*',
                      "CertificateStatus",
                      "none: the server acknowledged status_request but staples nothing (RFC 6066 "
                      "8 allows it)");
    if ((err = hs_verify_peer_chain(hs)))
        return err;
    hs->state = hs->suite->kx == KX_ECDHE ? C12_READ_SERVER_KEY_EXCHANGE
                                           : C12_READ_CERT_REQUEST_OR_SERVER_DONE;
    return stapled ? MTLS_OK : step(hs, m);
}

static mtls_err read_server_key_exchange(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_SERVER_KEY_EXCHANGE)))
        return err;
    rd body = m->body;
    struct msg_server_key_exchange ske;
    if ((err = msg_server_key_exchange_parse(&body, &ske)))
        return hs_err(hs, err, "%s", ske.why);
    if (ske.curve_type != 3)
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "ServerKeyExchange curve type %u is not named_curve", ske.curve_type);
    if (!hs_list_has(cfg->groups, cfg->n_groups, ske.group))
        return hs_err(hs, MTLS_ERR_UNOFFERED_GROUP,
                      "the server chose group 0x%04x, which was not offered", ske.group);
    if (ske.point.n > sizeof(hs->c12.peer_pub))
        return hs_err(hs, MTLS_ERR_BAD_KEY_SHARE, "the server's ECDHE public value is too long");
    const cry_pkey *key = x509_cert_pubkey(hs->info->peer_chain[0]);
    if (!hs_list_has(cfg->sigalgs, cfg->n_sigalgs, ske.sigalg) ||
        !hs_sigalg_fits_key(ske.sigalg, key))
        return hs_err(hs, MTLS_ERR_UNOFFERED_SIGALG,
                      "the server signed with scheme 0x%04x, which was not offered or does not fit "
                      "its key",
                      ske.sigalg);
    /* RFC 5246 7.4.3: signed over client_random + server_random + params. */
    uint8_t signed_data[64 + 4 + 255];
    memcpy(signed_data, hs->client_random, 32);
    memcpy(signed_data + 32, hs->server_random, 32);
    memcpy(signed_data + 64, ske.params.p, ske.params.n);
    if (!cry_verify(key, ske.sigalg, signed_data, 64 + ske.params.n, ske.signature.p,
                    ske.signature.n))
        return hs_err(hs, MTLS_ERR_BAD_SIGNATURE,
                      "the server's ServerKeyExchange signature (%s) does not verify",
                      mtls_sigalg_name(ske.sigalg));
    hs->proofs |= PROOF_SKE_SIG;
    memcpy(hs->c12.peer_pub, ske.point.p, ske.point.n);
    hs->c12.peer_pub_len = ske.point.n;
    hs->group = ske.group;
    hs->info->group = ske.group;
    hs->info->server_sigalg = ske.sigalg;
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_SERVER_KEY_EXCHANGE,
                 "ECDHE group %s, %zu-byte public value, signed with %s (signature verified)",
                 mtls_group_name(ske.group), ske.point.n, mtls_sigalg_name(ske.sigalg));
    hs->state = C12_READ_CERT_REQUEST_OR_SERVER_DONE;
    return MTLS_OK;
}

static mtls_err read_cert_request(struct hs *hs, const msg *m)
{
    const mtls_config *cfg = hs->cfg;
    struct c12 *c12 = &hs->c12;
    rd body = m->body;
    struct msg_certificate_request cr;
    const char *why;
    mtls_err err = msg_certificate_request_parse(&body, &cr);
    if (err)
        return hs_err(hs, err, "%s", cr.why);
    if ((err = ext_sigalgs_list_parse(cr.signature_algorithms, c12->cr_sigalgs, HS_MAX_PEER_LIST,
                                      &c12->n_cr_sigalgs, &why)))
        return hs_err(hs, err, "%s", why);
    for (size_t i = 0; i < cr.certificate_types.n; i++) {
        c12->cr_rsa_ok |= cr.certificate_types.p[i] == 1;    /* rsa_sign */
        c12->cr_ecdsa_ok |= cr.certificate_types.p[i] == 64; /* ecdsa_sign */
    }
    hs->cert_requested = true;
    hs->info->cert_requested = true;
    bool type_ok = cfg->key && (cfg->key_type == CRY_KEY_RSA ? c12->cr_rsa_ok : c12->cr_ecdsa_ok) &&
                   hs_key_can_sign(cfg->chain[0]);
    c12->cv_sigalg = type_ok ? hs_pick_sigalg(cfg, c12->cr_sigalgs, c12->n_cr_sigalgs) : 0;
    c12->sends_cert = type_ok && c12->cv_sigalg != 0;
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE_REQUEST,
                 "the server asks for a client certificate (%zu CA names); %s", cr.n_authorities,
                 c12->sends_cert ? "we will send ours"
                 : cfg->key      ? "our certificate does not fit what it accepts: we send none"
                                 : "we have none to send");
    hs->state = C12_READ_SERVER_DONE;
    return MTLS_OK;
}

static mtls_err read_cert_request_or_server_done(struct hs *hs, const msg *m)
{
    if (m->type == TLS_HS_CERTIFICATE_REQUEST && hs->state == C12_READ_CERT_REQUEST_OR_SERVER_DONE)
        return read_cert_request(hs, m);
    if (m->type != TLS_HS_SERVER_HELLO_DONE)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                      hs_msg_name(m->type),
                      hs->state == C12_READ_SERVER_DONE ? "ServerHelloDone"
                                                        : "CertificateRequest or ServerHelloDone");
    rd body = m->body;
    struct msg_server_hello_done shd;
    mtls_err err = msg_server_hello_done_parse(&body, &shd);
    if (err)
        return hs_err(hs, err, "%s", shd.why);
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    if (!hs->c12.sends_cert)
        hs_transcript_drop_buffer(hs);
    hs_trace_msg(hs, '<', TLS_HS_SERVER_HELLO_DONE,
                 "the server is done with its part of the negotiation");
    hs->state = C12_SEND_CLIENT_FLIGHT;
    return MTLS_OK;
}

static mtls_err send_client_key_exchange(struct hs *hs)
{
    struct msg_client_key_exchange cke = {.rsa = hs->suite->kx == KX_RSA};
    uint8_t ct[HS_MAX_PEER_RSA], pub[133];
    size_t len;
    mtls_err err;
    if (cke.rsa) {
        /* RFC 5246 7.4.7.1: PreMasterSecret = client_version (the one in ClientHello) || 46
         * random bytes, RSA-encrypted to the server's certificate key. */
        const cry_pkey *key = x509_cert_pubkey(hs->info->peer_chain[0]);
        be16_put(hs->k12.premaster, MTLS_VERSION_TLS12);
        if (!cry_random(hs->k12.premaster + 2, 46))
            return hs_err(hs, MTLS_ERR_RNG, "no randomness for the premaster secret");
        hs->k12.premaster_len = 48;
        if (cry_pkey_max_sig_len(key) > sizeof(ct) ||
            !cry_rsa_encrypt_pkcs1(key, hs->k12.premaster, 48, ct, sizeof(ct), &len))
            return hs_err(hs, MTLS_ERR_CRYPTO, "RSA encryption of the premaster secret failed");
        cke.exchange_keys = rd_init(ct, len);
    } else {
        hs->kex = cry_kex_new(hs->group);
        if (!hs->kex || !cry_kex_public(hs->kex, pub, sizeof(pub), &len))
            return hs_err(hs, MTLS_ERR_CRYPTO, "ECDHE key generation failed");
        if (!cry_kex_derive(hs->kex, hs->c12.peer_pub, hs->c12.peer_pub_len, hs->k12.premaster,
                            sizeof(hs->k12.premaster), &hs->k12.premaster_len))
            return hs_err(hs, MTLS_ERR_BAD_KEY_SHARE, "the server's ECDHE public value is invalid");
        cry_kex_free(hs->kex);
        hs->kex = NULL;
        cke.exchange_keys = rd_init(pub, len);
    }
    size_t at = hs_msg_open(hs, TLS_HS_CLIENT_KEY_EXCHANGE);
    msg_client_key_exchange_build(&hs->out, &cke);
    if ((err = hs_msg_close(hs, at)))
        return err;
    if (cke.rsa)
        hs_trace_msg(hs, '>', TLS_HS_CLIENT_KEY_EXCHANGE,
                     "RSA-encrypted PreMasterSecret (%zu bytes) to the server's certificate key",
                     len);
    else
        hs_trace_msg(hs, '>', TLS_HS_CLIENT_KEY_EXCHANGE, "our ECDHE %s public value (%zu bytes)",
                     mtls_group_name(hs->group), len);
    return MTLS_OK;
}

static mtls_err send_cert_verify(struct hs *hs)
{
    uint8_t sig[HS_MAX_OWN_SIG];
    size_t sig_len = 0;
    /* RFC 5246 7.4.8: the signature covers all handshake messages so far (kept in tbuf until it
     * is made, however long the key method takes). */
    mtls_err err = hs_sign(hs, "CertificateVerify", hs->c12.cv_sigalg, hs->tbuf.p, hs->tbuf.len,
                           sig, sizeof(sig), &sig_len);
    if (err)
        return err;
    hs_transcript_drop_buffer(hs);
    struct msg_certificate_verify cv = {hs->c12.cv_sigalg, rd_init(sig, sig_len), NULL};
    size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE_VERIFY);
    msg_certificate_verify_build(&hs->out, &cv);
    if ((err = hs_msg_close(hs, at)))
        return err;
    hs->info->client_sigalg = hs->c12.cv_sigalg;
    hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE_VERIFY, "signed the transcript with our key (%s%s)",
                 mtls_sigalg_name(hs->c12.cv_sigalg),
                 hs->cfg->has_key_method ? ", by the application's key method" : "");
    return MTLS_OK;
}

/* The flight from the CertificateVerify on.  With the application's key method the signature
 * may come later (MTLS_ERR_WANT_KEY_OP): the state stays, and this runs again when it has. */
static mtls_err send_cert_verify_and_finish(struct hs *hs)
{
    mtls_err err;
    if (hs->c12.sends_cert && (err = send_cert_verify(hs)))
        return err;
    if ((err = hs12_send_ccs_and_finished(hs)))
        return err;
    hs->state = hs->ticket_ext ? C12_READ_NEW_SESSION_TICKET : C12_READ_CCS;
    return MTLS_OK;
}

static mtls_err send_client_flight(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    mtls_err err;
    if (hs->cert_requested) {
        err = hs12_send_certificate(hs, cfg->chain, hs->c12.sends_cert ? cfg->chain_len : 0);
        if (err)
            return err;
        if (hs->c12.sends_cert)
            hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE, "our certificate: %s",
                         x509_cert_subject(cfg->chain[0]));
        else
            hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE, "empty: no client certificate");
    }
    if ((err = send_client_key_exchange(hs)) || (err = hs12_derive_keys(hs)))
        return err;
    hs->state = C12_SEND_CERT_VERIFY;
    return send_cert_verify_and_finish(hs);
}

static mtls_err read_new_session_ticket(struct hs *hs, const msg *m)
{
    /* RFC 5077 3.3: a server that acknowledged the extension MUST send the message. */
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_NEW_SESSION_TICKET)))
        return err;
    rd body = m->body;
    struct msg_new_session_ticket nst;
    if ((err = msg_new_session_ticket_parse(&body, &nst)))
        return hs_err(hs, err, "%s", nst.why);
    struct c12 *c12 = &hs->c12;
    mem_free(c12->new_ticket);
    c12->new_ticket = NULL;
    c12->new_ticket_len = 0;
    if (nst.ticket.n) {
        c12->new_ticket = mem_alloc(nst.ticket.n);
        if (!c12->new_ticket)
            return MTLS_ERR_NO_MEMORY;
        memcpy(c12->new_ticket, nst.ticket.p, nst.ticket.n);
        c12->new_ticket_len = nst.ticket.n;
    }
    c12->new_ticket_hint = nst.lifetime_hint;
    hs_trace_msg(hs, '<', TLS_HS_NEW_SESSION_TICKET, "%zu-byte ticket, lifetime hint %u s",
                 nst.ticket.n, nst.lifetime_hint);
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs->state = C12_READ_CCS;
    return MTLS_OK;
}

static mtls_err send_finished_resumed(struct hs *hs)
{
    mtls_err err = hs12_send_ccs_and_finished(hs);
    if (err)
        return err;
    return hs12_establish(hs);
}

static mtls_err read_finished(struct hs *hs, const msg *m)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_FINISHED)))
        return err;
    err = hs12_read_finished(hs, m);
    if (err)
        return err;
    if (hs->info->resumed) {
        hs->state = C12_SEND_FINISHED_RESUMED;
        return MTLS_OK;
    }
    return hs12_establish(hs);
}

/* ---- the state machine --------------------------------------------------------------------- */

static bool reads(const struct hs *hs)
{
    return hs->state != C12_SEND_CLIENT_HELLO && hs->state != C12_SEND_CLIENT_FLIGHT &&
           hs->state != C12_SEND_CERT_VERIFY && hs->state != C12_SEND_FINISHED_RESUMED;
}

static mtls_err step(struct hs *hs, const msg *m)
{
    if (m && m->type == TLS_HS_HELLO_REQUEST) {
        /* RFC 5246 7.4.1.1: "This message will be ignored by the client if the client is
         * currently negotiating a session."  It is not part of the transcript. */
        if (m->body.n != 0)
            return hs_err(hs, MTLS_ERR_DECODE, "HelloRequest is not empty");
        hs_trace_msg(hs, '<', TLS_HS_HELLO_REQUEST, "ignored during the handshake");
        return MTLS_OK;
    }
    switch ((c12_state)hs->state) {
    case C12_SEND_CLIENT_HELLO:
        return send_client_hello(hs);
    case C12_READ_SERVER_HELLO:
        return hs_read_server_hello(hs, m);
    case C12_READ_SERVER_CERT:
        return read_server_cert(hs, m);
    case C12_READ_CERT_STATUS:
        return read_cert_status(hs, m);
    case C12_READ_SERVER_KEY_EXCHANGE:
        return read_server_key_exchange(hs, m);
    case C12_READ_CERT_REQUEST_OR_SERVER_DONE:
    case C12_READ_SERVER_DONE:
        return read_cert_request_or_server_done(hs, m);
    case C12_SEND_CLIENT_FLIGHT:
        return send_client_flight(hs);
    case C12_SEND_CERT_VERIFY:
        return send_cert_verify_and_finish(hs);
    case C12_READ_NEW_SESSION_TICKET:
        return read_new_session_ticket(hs, m);
    case C12_READ_CCS:
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                      hs_msg_name(m->type), "ChangeCipherSpec");
    case C12_READ_FINISHED:
        return read_finished(hs, m);
    case C12_SEND_FINISHED_RESUMED:
        return send_finished_resumed(hs);
    case C12_STATE_COUNT:
        break;
    }
    return hs_err(hs, MTLS_ERR_INTERNAL, "handshake in an impossible state");
}

static mtls_err ccs(struct hs *hs, const uint8_t *p, size_t n)
{
    if (hs->state != C12_READ_CCS)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "ChangeCipherSpec at the wrong time");
    mtls_err err = hs12_read_ccs(hs, p, n);
    if (err)
        return err;
    hs->state = C12_READ_FINISHED;
    return MTLS_OK;
}

static const char *const state_names[C12_STATE_COUNT] = {
    "C12_SEND_CLIENT_HELLO",
    "C12_READ_SERVER_HELLO",
    "C12_READ_SERVER_CERT",
    "C12_READ_CERT_STATUS",
    "C12_READ_SERVER_KEY_EXCHANGE",
    "C12_READ_CERT_REQUEST_OR_SERVER_DONE",
    "C12_READ_SERVER_DONE",
    "C12_SEND_CLIENT_FLIGHT",
    "C12_SEND_CERT_VERIFY",
    "C12_READ_NEW_SESSION_TICKET",
    "C12_READ_CCS",
    "C12_READ_FINISHED",
    "C12_SEND_FINISHED_RESUMED",
};

const hs_role hs_client12 = {
    .name = "TLS 1.2 client",
    .first_state = C12_SEND_CLIENT_HELLO,
    .reads = reads,
    .step = step,
    .ccs = ccs,
    .post = hs12_post,
    .state_names = state_names,
    .n_states = C12_STATE_COUNT,
};
