/*
 * tls12.c -- what the TLS 1.2 client and server (client12.c, server12.c) share: the key schedule
 * calls and key installation, ChangeCipherSpec both ways, the Finished both ways, the proof check
 * before traffic, and the refusal of renegotiation after the handshake.
 *
 * Key changes go to the record layer in order with the flight: our ChangeCipherSpec record is
 * queued, then the write keys are installed, then our Finished is written under them.  Secrets
 * are wiped as soon as the next stage no longer needs them (the premaster once the master secret
 * exists; the negotiation's secrets with it when the handshake is established).
 */
#include <string.h>

#include "hs.h"

mtls_err hs_expect(struct hs *hs, const msg *m, uint8_t type)
{
    if (m->type == type)
        return MTLS_OK;
    return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                  hs_msg_name(m->type), hs_msg_name(type));
}

/* ---- keys ---------------------------------------------------------------------------------- */

mtls_err hs12_derive_keys(struct hs *hs)
{
    const suite_info *s = hs->suite;
    struct k12 *k = &hs->k12;
    bool ems = hs->info->ems;
    uint8_t session_hash[CRY_MAX_HASH];
    size_t hlen = 0;
    mtls_err err = ems ? hs_transcript_hash(hs, session_hash, &hlen) : MTLS_OK;
    if (!err)
        err = ks12_master_secret(s->prf, k->premaster, k->premaster_len, ems,
                                 ems ? session_hash : NULL, hlen, hs->client_random,
                                 hs->server_random, k->master);
    cry_wipe(k->premaster, sizeof(k->premaster));
    if (err)
        return err;
    hs_trace_step(hs, MTLS_TRACE_KEYS, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "MasterSecret",
                  "derived with the PRF (%s) from the premaster secret%s",
                  s->prf == CRY_SHA384 ? "SHA-384" : "SHA-256",
                  ems ? " and the session hash (extended master secret, RFC 7627)"
                      : " and both randoms");
    return hs12_key_block(hs);
}

mtls_err hs12_key_block(struct hs *hs)
{
    const suite_info *s = hs->suite;
    size_t kb_len = 2u * s->key_len + 2u * s->fixed_iv_len;
    mtls_err err = ks12_key_block(s->prf, hs->k12.master, hs->server_random, hs->client_random,
                                  hs->k12.key_block, kb_len);
    if (err)
        return err;
    if (hs->cfg->keylog) {
        char line[KS12_KEYLOG_LEN];
        ks12_keylog_line(line, hs->client_random, hs->k12.master);
        hs->cfg->keylog(hs->cfg->keylog_arg, hs->env->conn, line);
        cry_wipe(line, sizeof(line));
    }
    return MTLS_OK;
}

/* Install the read (peer's) or write (our) protection from the key block. */
static mtls_err install_keys(struct hs *hs, bool for_write)
{
    const suite_info *s = hs->suite;
    /* key_block: client_write_key, server_write_key, client_write_IV, server_write_IV */
    const uint8_t *ckey = hs->k12.key_block, *skey = ckey + s->key_len;
    const uint8_t *civ = skey + s->key_len, *siv = civ + s->fixed_iv_len;
    bool client_side = for_write != hs->env->is_server;
    rec_key k = {MTLS_VERSION_TLS12,      s->aead,         client_side ? ckey : skey, s->key_len,
                 client_side ? civ : siv, s->fixed_iv_len, MTLS_PROTECTION_TLS12,     0};
    return for_write ? rec_set_write_key(hs->env->rec, &k) : rec_set_read_key(hs->env->rec, &k);
}

mtls_err hs12_finished_compute(struct hs *hs, bool from_client, uint8_t out[12])
{
    uint8_t h[CRY_MAX_HASH];
    size_t hlen;
    mtls_err err = hs_transcript_hash(hs, h, &hlen);
    if (err)
        return err;
    return ks12_finished(hs->suite->prf, hs->k12.master, from_client, h, hlen, out);
}

/* ---- ChangeCipherSpec and Finished --------------------------------------------------------- */

static mtls_err send_ccs(struct hs *hs)
{
    static const uint8_t one = 1;
    mtls_err err = hs_flush(hs);
    if (!err)
        err = rec_write(hs->env->rec, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1);
    if (!err)
        err = install_keys(hs, true);
    hs_trace_msg(hs, '>', MTLS_TRACE_CHANGE_CIPHER_SPEC,
                 "from now on our records are encrypted with %s", hs->suite->name);
    return err;
}

static mtls_err send_finished(struct hs *hs)
{
    bool client = !hs->env->is_server;
    struct msg_finished fin;
    mtls_err err = hs12_finished_compute(hs, client, fin.verify_data);
    if (!err) {
        size_t at = hs_msg_open(hs, TLS_HS_FINISHED);
        msg_finished_build(&hs->out, &fin);
        err = hs_msg_close(hs, at);
    }
    if (!err)
        hs_trace_msg(hs, '>', TLS_HS_FINISHED,
                     "verify_data = PRF(master_secret, \"%s finished\", Hash(handshake messages))",
                     client ? "client" : "server");
    cry_wipe(&fin, sizeof(fin));
    return err;
}

mtls_err hs12_send_ccs_and_finished(struct hs *hs)
{
    mtls_err err;
    if ((err = send_ccs(hs)) || (err = send_finished(hs)))
        return err;
    return hs_flush(hs);
}

mtls_err hs12_read_certificate(struct hs *hs, const msg *m)
{
    rd body = m->body, certs[MSG_MAX_CHAIN];
    struct msg_certificate cert = {.certs = certs};
    mtls_err err = msg_certificate_parse(&body, &cert);
    if (err)
        return hs_err(hs, err, "%s", cert.why);
    return hs_parse_peer_chain(hs, &cert);
}

mtls_err hs12_send_certificate(struct hs *hs, x509_cert *const *chain, size_t n)
{
    rd few[MSG_MAX_CHAIN], *ders = few;
    if (n > MSG_MAX_CHAIN && !(ders = mem_calloc(n, sizeof(*ders))))
        return MTLS_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++)
        ders[i].p = x509_cert_der(chain[i], &ders[i].n);
    struct msg_certificate cert = {.certs = ders, .n = n};
    size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE);
    msg_certificate_build(&hs->out, &cert);
    if (ders != few)
        mem_free(ders);
    return hs_msg_close(hs, at);
}

mtls_err hs12_read_ccs(struct hs *hs, const uint8_t *p, size_t n)
{
    /* RFC 5246 7.1: the message consists of a single byte of value 1.  A handshake message may
     * not straddle it. */
    if (n != 1 || p[0] != 1) /* unexpected_message, as OpenSSL and tlsfuzzer have it */
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "malformed ChangeCipherSpec");
    if (hs_in_partial(hs))
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE,
                      "ChangeCipherSpec in the middle of a handshake message");
    mtls_err err = install_keys(hs, false);
    if (err)
        return err;
    hs_trace_msg(hs, '<', MTLS_TRACE_CHANGE_CIPHER_SPEC,
                 "the peer's records are encrypted from now on");
    return MTLS_OK;
}

mtls_err hs12_read_finished(struct hs *hs, const msg *m)
{
    rd body = m->body;
    struct msg_finished got;
    uint8_t want[12];
    mtls_err err = msg_finished_parse(&body, &got);
    if (err)
        return hs_err(hs, err, "%s", got.why);
    err = hs12_finished_compute(hs, hs->env->is_server, want);
    if (err)
        return err;
    int same = cry_ct_equal(got.verify_data, want, sizeof(want));
    cry_wipe(want, sizeof(want));
    if (!same)
        return hs_err(hs, MTLS_ERR_BAD_FINISHED,
                      "the peer's Finished does not match: the handshake was tampered with or the "
                      "keys differ");
    hs->proofs |= PROOF_FINISHED;
    hs_trace_msg(hs, '<', TLS_HS_FINISHED,
                 "verify_data matches the transcript: the peer saw the very messages we did and "
                 "holds the same master secret -- nothing was changed on the way");
    return hs_transcript_add(hs, m->raw, m->raw_len);
}

/* ---- entering traffic ---------------------------------------------------------------------- */

mtls_err hs12_establish(struct hs *hs)
{
    hs_info *info = hs->info;
    unsigned need = PROOF_FINISHED;
    if (info->resumed) {
        need |= PROOF_RESUMED;
    } else if (!hs->env->is_server) {
        need |= PROOF_PEER_CHAIN;
        if (hs->suite->kx == KX_ECDHE)
            need |= PROOF_SKE_SIG;
    } else if (info->peer_cert_presented) {
        need |= PROOF_PEER_CHAIN | PROOF_CERT_VERIFY;
    } else if (hs->cfg->verify_client == MTLS_VERIFY_REQUIRE) {
        need |= PROOF_PEER_CHAIN; /* cannot be met: a required certificate never came */
    }
    if ((hs->proofs & need) != need)
        return hs_err(hs, MTLS_ERR_INTERNAL, "handshake ended without all required checks");

    /* The peer's public keys have done their work (chain, ServerKeyExchange, CertificateVerify);
     * dropping them keeps an established connection small.  Before the session is published:
     * after that, the leaf may be shared with other threads. */
    for (size_t i = 0; i < info->peer_chain_len; i++)
        x509_cert_drop_key(info->peer_chain[i]);
    mtls_err err = hs_session_finish(hs);
    if (err)
        return hs_err(hs, err, "could not record the session");
    hs->done = true;
    hs_trace_step(hs, MTLS_TRACE_ESTABLISHED, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "Established",
                  "%s%s, %s%s%s, %s", "TLS 1.2",
                  info->resumed ? " (resumed session, abbreviated handshake)" : "", hs->suite->name,
                  info->group ? ", " : "", info->group ? mtls_group_name(info->group) : "",
                  info->ems ? "extended master secret" : "no extended master secret");
    return MTLS_OK;
}

/* ---- after the handshake ------------------------------------------------------------------- */

/* Handshake messages after the handshake: only renegotiation attempts, which we refuse.  They are
 * a byte stream like any handshake data -- a message may span records, a record may hold several
 * -- so each message is judged by its header (answered as soon as the header is complete) and
 * its body is skipped as it arrives, never buffered. */
mtls_err hs12_post(hs_handle *h, const uint8_t *p, size_t n)
{
    const hs_env *env = h->env;
    while (n) {
        if (h->post_skip) {
            size_t take = n < h->post_skip ? n : h->post_skip;
            h->post_skip -= (uint32_t)take;
            p += take;
            n -= take;
            continue;
        }
        size_t take = 4 - h->post_hdr_len;
        if (take > n)
            take = n;
        memcpy(h->post_hdr + h->post_hdr_len, p, take);
        h->post_hdr_len = (uint8_t)(h->post_hdr_len + take);
        p += take;
        n -= take;
        if (h->post_hdr_len < 4)
            break;
        h->post_hdr_len = 0;
        uint8_t type = h->post_hdr[0];
        uint32_t mlen = be24_get(h->post_hdr + 1);
        bool hello_request = !env->is_server && type == TLS_HS_HELLO_REQUEST && mlen == 0;
        bool client_hello = env->is_server && type == TLS_HS_CLIENT_HELLO;
        if (!hello_request && !client_hello)
            return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE,
                           "the peer sent a handshake message (%s) after the handshake",
                           hs_msg_name(type));
        if (mlen > MTLS_MAX_HANDSHAKE_MSG)
            return hs_herr(h, MTLS_ERR_HANDSHAKE_TOO_LARGE,
                           "the peer announced a %s of %u bytes (limit %u)", hs_msg_name(type),
                           mlen, MTLS_MAX_HANDSHAKE_MSG);
        h->post_skip = mlen;
        /* RFC 5746 4.2 / 5246 7.4.1.1: decline with a no_renegotiation warning, bounded. */
        if (++h->renego_refused > 4)
            return hs_herr(h, MTLS_ERR_RENEGOTIATION, "the peer keeps trying to renegotiate");
        trace_step(&env->trace, MTLS_TRACE_DECISION, MTLS_DECISION_RENEGOTIATION_REFUSED, MTLS_OK,
                   0, '*', "Renegotiation", "refused (%s)", hs_msg_name(type));
        static const uint8_t warning[2] = {1, TLS_ALERT_NO_RENEGOTIATION};
        uint32_t gen;
        mtls_trace_protection prot = rec_write_protection(env->rec, &gen);
        trace_alert(&env->trace, true, prot, gen, 1, TLS_ALERT_NO_RENEGOTIATION, "%s %s", "warning",
                    mtls_alert_name(TLS_ALERT_NO_RENEGOTIATION));
        mtls_err err = rec_write(env->rec, TLS_CT_ALERT, warning, sizeof(warning));
        if (err)
            return err;
    }
    return MTLS_OK;
}

/* ---- keying material exporter (RFC 5705) ---------------------------------------------------- */

mtls_err hs12_export(const hs_handle *h, const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, bool use_context, uint8_t *out,
                     size_t out_len)
{
    const hs_info *info = h->env->info;
    const mtls_session *s = info->session;
    const suite_info *suite = suite_find(info->suite);
    if (!s || !suite || info->version != MTLS_VERSION_TLS12)
        return MTLS_ERR_BAD_STATE;
    /* Without extended master secret the master secret is not bound to the handshake (RFC 7627
     * 1: an attacker can give two connections the same one, the triple handshake), so neither is
     * what is exported from it: a channel binding made of it could be relayed.  RFC 9266 2:
     * tls-exporter "is defined only when the TLS handshake results in unique master secrets.
     * This is true of TLS versions prior to 1.3 when the extended master secret extension of
     * [RFC7627] is in use". */
    if (!info->ems)
        return MTLS_ERR_BAD_STATE;
    return ks12_export(suite->prf, s->master, h->randoms, h->randoms + 32, label, label_len,
                       context, context_len, use_context, out, out_len);
}
