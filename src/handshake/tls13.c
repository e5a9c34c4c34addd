/*
 * tls13.c -- what the TLS 1.3 client and server (client13.c, server13.c) share: installing
 * traffic keys from the key schedule (ks13.c), the key log, the transcript after a
 * HelloRetryRequest and the hash of a partial ClientHello for binders, Certificate,
 * CertificateVerify and Finished both ways, the choice of a signature scheme, the compatibility
 * ChangeCipherSpec, and the proof check before traffic.
 *
 * Invariants.  A key change happens between records: the message before it must end its record
 * (hs13_aligned, RFC 8446 5.1).  The raw transcript (hs->tbuf) is kept until the ServerHello,
 * for the binders and the HelloRetryRequest's message_hash; from the ServerHello on, the running
 * hash of the suite alone.  Only hs13_read_certificate (through hs_verify_peer_chain),
 * hs13_read_cert_verify and hs13_read_finished set proof bits; hs13_establish requires the set
 * the mode needs: the peer's chain, CertificateVerify and Finished -- or, on resumption, the PSK's
 * checks (PROOF_RESUMED) and the Finished -- and for a server that asked for a certificate in
 * require mode, a certificate.
 */
#include <string.h>

#include "hs.h"

/* ---- keys ---------------------------------------------------------------------------------- */

mtls_err hs13_install(struct hs *hs, ks13_secret which, bool for_write)
{
    const suite_info *s = hs->suite;
    uint8_t key[CRY_AEAD_MAX_KEY], iv[KS13_IV_LEN];
    mtls_err err = ks13_traffic_keys(&hs->k13, which, key, s->key_len, iv);
    if (!err) {
        bool hs_key = which == KS13_C_HS_TRAFFIC || which == KS13_S_HS_TRAFFIC;
        rec_key k = {MTLS_VERSION_TLS13,
                     s->aead,
                     key,
                     s->key_len,
                     iv,
                     KS13_IV_LEN,
                     hs_key ? MTLS_PROTECTION_HANDSHAKE : MTLS_PROTECTION_APPLICATION,
                     0};
        err = for_write ? rec_set_write_key(hs->env->rec, &k) : rec_set_read_key(hs->env->rec, &k);
    }
    cry_wipe(key, sizeof(key));
    cry_wipe(iv, sizeof(iv));
    return err;
}

mtls_err hs13_aligned(struct hs *hs, const msg *m)
{
    /* RFC 8446 5.1: "Handshake messages MUST NOT span key changes.  Implementations MUST verify
     * that all messages immediately preceding a key change align with a record boundary; if
     * not, then they MUST terminate the connection with an "unexpected_message" alert." */
    if (hs->in.len != hs->in_off + m->raw_len)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE,
                      "%s is followed by more handshake data in its record, across a key change",
                      hs_msg_name(m->type));
    return MTLS_OK;
}

void hs13_keylog(struct hs *hs, const ks13_secret *which, size_t n)
{
    if (!hs->cfg->keylog)
        return;
    for (size_t i = 0; i < n; i++) {
        char line[KS13_KEYLOG_MAX];
        if (ks13_keylog_line(&hs->k13, which[i], hs->client_random, line, sizeof(line)) == MTLS_OK)
            hs->cfg->keylog(hs->cfg->keylog_arg, hs->env->conn, line);
        cry_wipe(line, sizeof(line));
    }
}

/* ---- the transcript before the ServerHello ------------------------------------------------- */

mtls_err hs13_partial_hash(struct hs *hs, cry_hash_alg alg, const uint8_t *p, size_t n,
                           uint8_t *out)
{
    cry_hash *h = cry_hash_new(alg);
    bool ok = h && cry_hash_update(h, hs->tbuf.p, hs->tbuf.len) && cry_hash_update(h, p, n) &&
              cry_hash_peek(h, out);
    cry_hash_free(h);
    return ok ? MTLS_OK : MTLS_ERR_CRYPTO;
}

mtls_err hs13_restart_transcript(struct hs *hs, const suite_info *suite)
{
    uint8_t h1[KS13_MAX_HASH], mh[4 + KS13_MAX_HASH];
    size_t mh_len;
    /* RFC 8446 4.4.1: "the value of ClientHello1 is replaced with a special synthetic handshake
     * message of handshake type "message_hash" containing Hash(ClientHello1)". */
    if (!cry_hash_oneshot(suite->prf, hs->tbuf.p, hs->tbuf.len, h1))
        return MTLS_ERR_CRYPTO;
    mtls_err err = ks13_message_hash(suite->prf, h1, mh, sizeof(mh), &mh_len);
    if (err)
        return err;
    hs->tbuf.len = 0;
    return hs_transcript_add(hs, mh, mh_len);
}

/* ---- Certificate ---------------------------------------------------------------------------- */

mtls_err hs13_send_certificate(struct hs *hs, x509_cert *const *chain, size_t n)
{
    rd few[2 * MSG_MAX_CHAIN], *ders = few;
    if (n > MSG_MAX_CHAIN && !(ders = mem_calloc(2 * n, sizeof(*ders))))
        return MTLS_ERR_NO_MEMORY;
    rd *exts = ders + n; /* each entry's extensions: none but the leaf's staple (status.c) */
    for (size_t i = 0; i < n; i++) {
        ders[i].p = x509_cert_der(chain[i], &ders[i].n);
        exts[i] = rd_init(NULL, 0);
    }
    wr staple = wr_growable(4 + 0xffff);
    mtls_err err = MTLS_OK;
    if (n && !hs_status_entry13(hs, &staple))
        err = MTLS_ERR_NO_MEMORY;
    else if (n)
        exts[0] = rd_init(staple.p, staple.len);
    /* RFC 8446 4.4.2: certificate_request_context "SHALL be zero length" in the handshake (the
     * server's, and the client's answer to a CertificateRequest whose context was empty); "If
     * this message is in response to a CertificateRequest, the value of
     * certificate_request_context in that message" (after the handshake: hs->post_context). */
    struct msg_certificate13 cert = {.context = hs->post_context, .certs = ders, .exts = exts,
                                     .n = n};
    if (!err) {
        size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE);
        msg_certificate13_build(&hs->out, &cert);
        err = hs_msg_close(hs, at);
    }
    wr_free(&staple, false);
    if (ders != few)
        mem_free(ders);
    return err;
}

mtls_err hs13_read_certificate(struct hs *hs, const msg *m)
{
    rd body = m->body, certs[MSG_MAX_CHAIN], exts[MSG_MAX_CHAIN];
    struct msg_certificate13 cert = {.certs = certs, .exts = exts};
    mtls_err err = msg_certificate13_parse(&body, &cert);
    if (err)
        return hs_err(hs, err, "%s", cert.why);
    /* RFC 8446 4.4.2: in the handshake the context is empty (a client answers the empty one of
     * our CertificateRequest with it); after it, the one of the CertificateRequest answered
     * (post13.c found it by this context already). */
    if (cert.context.n != hs->post_context.n ||
        (cert.context.n && memcmp(cert.context.p, hs->post_context.p, cert.context.n) != 0))
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      hs->post_auth ? "Certificate with a certificate_request_context that is "
                                      "not the one of our CertificateRequest"
                                    : "Certificate with a certificate_request_context in the "
                                      "handshake");
    /* RFC 8446 4.4.2.1: the leaf's stapled OCSP response, when we asked (status.c) */
    if ((err = hs_status_read13(hs, exts, cert.n)))
        return err;
    struct msg_certificate as12 = {.certs = certs, .n = cert.n};
    return hs_parse_peer_chain(hs, &as12);
}

/* ---- CertificateVerify ---------------------------------------------------------------------- */

bool hs13_sigalg_fits_key(uint16_t sigalg, const cry_pkey *key)
{
    const sigalg_info *s = sigalg_find(sigalg);
    if (!s || !key)
        return false;
    cry_key_type kt = cry_pkey_type(key);
    /* RFC 8446 4.2.3: "RSASSA-PKCS1-v1_5 algorithms refer solely to signatures which appear in
     * certificates ... and are not defined for use in signed TLS handshake messages"; 4.4.3:
     * "RSA signatures MUST use an RSASSA-PSS algorithm".  ECDSA schemes name their curve
     * ("ecdsa_secp256r1_sha256 ... On the secp256r1 curve"). */
    if (s->key == CRY_KEY_RSA)
        return s->pss && kt == CRY_KEY_RSA;
    return s->key == kt;
}

uint16_t hs13_pick_sigalg(const mtls_config *cfg, const uint16_t *offered, size_t n)
{
    for (size_t i = 0; i < cfg->n_sigalgs; i++) {
        uint16_t s = cfg->sigalgs[i];
        if (hs_list_has(offered, n, s) && hs13_sigalg_fits_key(s, cfg->key))
            return s;
    }
    return 0;
}

mtls_err hs13_send_cert_verify(struct hs *hs, uint16_t sigalg)
{
    uint8_t th[KS13_MAX_HASH], content[MSG_CV13_CONTENT_MAX], sig[HS_MAX_OWN_SIG];
    size_t hlen, sig_len = 0;
    /* 4.4.3: signed over 64 spaces, the context string, 0, and the transcript hash up to our
     * Certificate -- the same bytes each time this runs while the application's key method
     * works on it (keyop.c): nothing joins the transcript meanwhile. */
    mtls_err err = hs_transcript_hash(hs, th, &hlen);
    if (err)
        return err;
    size_t n = msg_cv13_content(content, hs->env->is_server, th, hlen);
    if ((err = hs_sign(hs, "CertificateVerify", sigalg, content, n, sig, sizeof(sig), &sig_len)))
        return err;
    struct msg_certificate_verify cv = {sigalg, rd_init(sig, sig_len), NULL};
    size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE_VERIFY);
    msg_certificate_verify_build(&hs->out, &cv);
    if ((err = hs_msg_close(hs, at)))
        return err;
    hs_trace_msg(
        hs, '>', TLS_HS_CERTIFICATE_VERIFY,
        "signed \"TLS 1.3, %s CertificateVerify\" and the transcript hash with our key (%s%s)",
        hs->env->is_server ? "server" : "client", mtls_sigalg_name(sigalg),
        hs->cfg->has_key_method ? ", by the application's key method" : "");
    return MTLS_OK;
}

mtls_err hs13_read_cert_verify(struct hs *hs, const msg *m, const uint16_t *offered, size_t n)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_CERTIFICATE_VERIFY)))
        return err;
    rd body = m->body;
    struct msg_certificate_verify cv;
    if ((err = msg_certificate_verify_parse(&body, &cv)))
        return hs_err(hs, err, "%s", cv.why);
    bool server = !hs->env->is_server; /* who signed */
    const cry_pkey *key = x509_cert_pubkey(hs->info->peer_chain[0]);
    /* RFC 8446 4.4.3: "If the CertificateVerify message is sent by a server, the signature
     * algorithm MUST be one offered in the client's "signature_algorithms" extension" (by a
     * client: in the server's CertificateRequest), and fit the key as 4.2.3 says. */
    if (!hs_list_has(offered, n, cv.sigalg) || !hs13_sigalg_fits_key(cv.sigalg, key))
        return hs_err(hs, MTLS_ERR_UNOFFERED_SIGALG,
                      "the %s signed with scheme 0x%04x, which was not offered or does not fit its "
                      "key in TLS 1.3",
                      server ? "server" : "client", cv.sigalg);
    uint8_t th[KS13_MAX_HASH], content[MSG_CV13_CONTENT_MAX];
    size_t hlen;
    if ((err = hs_transcript_hash(hs, th, &hlen)))
        return err;
    size_t len = msg_cv13_content(content, server, th, hlen);
    if (!cry_verify(key, cv.sigalg, content, len, cv.signature.p, cv.signature.n))
        return hs_err(hs, MTLS_ERR_BAD_SIGNATURE,
                      "the %s's CertificateVerify signature (%s) does not verify: it does not hold "
                      "the certificate's private key",
                      server ? "server" : "client", mtls_sigalg_name(cv.sigalg));
    hs->proofs |= PROOF_CERT_VERIFY;
    if (server)
        hs->info->server_sigalg = cv.sigalg;
    else
        hs->info->client_sigalg = cv.sigalg;
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE_VERIFY,
                 "signature %s over the transcript verified: the %s holds the key of %s",
                 mtls_sigalg_name(cv.sigalg), server ? "server" : "client",
                 x509_cert_subject(hs->info->peer_chain[0]));
    return MTLS_OK;
}

/* ---- Finished ------------------------------------------------------------------------------- */

mtls_err hs13_send_finished(struct hs *hs, ks13_secret base)
{
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    struct msg_finished13 fin = {.len = 0};
    mtls_err err = hs_transcript_hash(hs, th, &hlen);
    if (!err)
        err = ks13_finished(&hs->k13, base, th, fin.verify_data);
    if (!err) {
        fin.len = hlen;
        size_t at = hs_msg_open(hs, TLS_HS_FINISHED);
        msg_finished13_build(&hs->out, &fin);
        err = hs_msg_close(hs, at);
    }
    cry_wipe(&fin, sizeof(fin));
    if (!err)
        hs_trace_msg(hs, '>', TLS_HS_FINISHED, "HMAC of the transcript under the %s",
                     base == KS13_S_HS_TRAFFIC   ? "server handshake traffic secret"
                     : base == KS13_C_HS_TRAFFIC ? "client handshake traffic secret"
                                                 : "client application traffic secret "
                                                   "(post-handshake authentication)");
    return err;
}

mtls_err hs13_read_finished(struct hs *hs, const msg *m, ks13_secret base)
{
    mtls_err err;
    if ((err = hs_expect(hs, m, TLS_HS_FINISHED)))
        return err;
    rd body = m->body;
    struct msg_finished13 got;
    if ((err = msg_finished13_parse(&body, hs->k13.hlen, &got)))
        return hs_err(hs, err, "%s", got.why);
    uint8_t th[KS13_MAX_HASH];
    size_t hlen;
    if ((err = hs_transcript_hash(hs, th, &hlen)))
        return err;
    /* RFC 8446 4.4.4: "Recipients of Finished messages MUST verify that the contents are correct
     * and if incorrect MUST terminate the connection with a "decrypt_error" alert."  Compared in
     * constant time. */
    err = ks13_finished_check(&hs->k13, base, th, got.verify_data, got.len);
    cry_wipe(&got, sizeof(got));
    if (err == MTLS_ERR_BAD_FINISHED)
        return hs_err(hs, err,
                      "the peer's Finished does not match: the handshake was tampered with or the "
                      "keys differ");
    if (err)
        return err;
    hs->proofs |= PROOF_FINISHED;
    hs_trace_msg(
        hs, '<', TLS_HS_FINISHED,
        "verify_data matches the transcript: the %s saw the very messages we did and holds "
        "the handshake secret -- nothing was changed on the way, the handshake is "
        "authenticated",
        base == KS13_S_HS_TRAFFIC ? "server" : "client");
    return hs_transcript_add(hs, m->raw, m->raw_len);
}

/* ---- the compatibility ChangeCipherSpec ----------------------------------------------------- */

mtls_err hs13_ccs(struct hs *hs, bool in_window, const uint8_t *p, size_t n)
{
    /* RFC 8446 5: "An implementation may receive an unencrypted record of type
     * change_cipher_spec consisting of the single byte value 0x01 at any time after the first
     * ClientHello message has been sent or received and before the peer's Finished message has
     * been received and MUST simply drop it without further processing. ... An implementation
     * which receives any other change_cipher_spec value or which receives a protected
     * change_cipher_spec record MUST abort the handshake with an "unexpected_message" alert."
     * D.4 has each side send one, and we drop one and refuse a second, bounding what a peer can
     * make us drop.  A client that received a HelloRetryRequest drops two: D.4 has the server
     * send its one after the HelloRetryRequest, but JSSE's servers (Java 17) send one after the
     * ServerHello that follows too, which the rule above has us drop. */
    unsigned allowed = !hs->env->is_server && hs->hrr ? 2 : 1;
    if (!in_window)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "ChangeCipherSpec at the wrong time");
    if (n != 1 || p[0] != 1)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "malformed ChangeCipherSpec");
    if (hs_in_partial(hs))
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE,
                      "ChangeCipherSpec in the middle of a handshake message");
    if (hs->ccs_seen >= allowed)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE,
                      allowed == 1 ? "a second compatibility ChangeCipherSpec (RFC 8446 D.4 has one)"
                                   : "a third compatibility ChangeCipherSpec (RFC 8446 D.4 has "
                                     "one, a server after a HelloRetryRequest two at most)");
    hs->ccs_seen++;
    hs_trace_msg(
        hs, '<', MTLS_TRACE_CHANGE_CIPHER_SPEC,
        "middlebox compatibility (RFC 8446 D.4): carries nothing, changes no key; dropped");
    return MTLS_OK;
}

mtls_err hs13_send_ccs(struct hs *hs)
{
    static const uint8_t one = 1;
    if (hs->ccs_sent)
        return MTLS_OK;
    mtls_err err = hs_flush(hs);
    if (!err)
        err = rec_write(hs->env->rec, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1);
    if (err)
        return err;
    hs->ccs_sent = true;
    hs_trace_msg(hs, '>', MTLS_TRACE_CHANGE_CIPHER_SPEC,
                 "middlebox compatibility (RFC 8446 D.4): a TLS 1.2-looking byte for middleboxes; "
                 "carries nothing, changes no key");
    return MTLS_OK;
}

/* ---- entering traffic ----------------------------------------------------------------------- */

mtls_err hs13_establish(struct hs *hs)
{
    hs_info *info = hs->info;
    bool server = hs->env->is_server;
    unsigned need = PROOF_FINISHED;
    if (info->resumed)
        need |= PROOF_RESUMED;
    else if (!server || info->peer_cert_presented)
        need |= PROOF_PEER_CHAIN | PROOF_CERT_VERIFY;
    else if (hs->cfg->verify_client == MTLS_VERIFY_REQUIRE)
        need |= PROOF_PEER_CHAIN; /* cannot be met: a required certificate never came */
    if ((hs->proofs & need) != need)
        return hs_err(hs, MTLS_ERR_INTERNAL, "handshake ended without all required checks");
    /* The peer's public keys have done their work; dropping them keeps an established connection
     * small. */
    for (size_t i = 0; i < info->peer_chain_len; i++)
        x509_cert_drop_key(info->peer_chain[i]);
    struct post13 *p = NULL;
    mtls_err err = hs13_post_new(hs, &p);
    if (err)
        return err;
    hs->h->p13 = p;
    hs->done = true;
    hs_trace_step(hs, MTLS_TRACE_ESTABLISHED, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "Established",
                  "TLS 1.3%s, %s, %s", info->resumed ? " (resumed with a PSK)" : "",
                  hs->suite->name,
                  info->group ? mtls_group_name(info->group) : "no (EC)DHE (psk_ke)");
    return MTLS_OK;
}
