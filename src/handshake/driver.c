/*
 * driver.c -- the handshake driver: reassembly of handshake messages from records, the state
 * loop, the transcript, flight framing, ChangeCipherSpec, key derivation and the proof check
 * before traffic.
 *
 * Happy paths (RFC 5246 7.3; the seed's numbered steps):
 *   client: SEND_CLIENT_HELLO -> READ_SERVER_HELLO -> READ_SERVER_CERT -> [READ_SERVER_KEY_EXCHANGE]
 *           -> READ_CERT_REQUEST_OR_SERVER_DONE -> [READ_SERVER_DONE] -> SEND_CLIENT_FLIGHT
 *           (Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished) -> READ_CCS
 *           -> READ_FINISHED -> DONE
 *   server: READ_CLIENT_HELLO -> SEND_SERVER_FLIGHT (ServerHello, Certificate, [ServerKeyExchange],
 *           [CertificateRequest], ServerHelloDone) -> [READ_CLIENT_CERT] -> READ_CLIENT_KEY_EXCHANGE
 *           -> [READ_CERT_VERIFY] -> READ_CCS -> READ_FINISHED -> SEND_FINISHED (CCS, Finished)
 *           -> DONE
 *
 * Invariants: a message is handled only when complete; its length is checked against its type's
 * limit (msg_limit) as soon as its header is in; reassembly costs time linear in what arrives,
 * however it is cut into records; a ChangeCipherSpec is accepted only in a READ_CCS state with no
 * partial handshake message buffered; secrets are wiped as soon as the next stage no longer
 * needs them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs.h"

#define HS_OUT_MAX (MTLS_MAX_HANDSHAKE_MSG + 64 * 1024)
/* Reassembly holds at most one partial message, within its limit, and one record more. */
#define HS_IN_MAX (4 + TLS_MAX_CLIENT_HELLO + TLS_MAX_PLAINTEXT)

const char *hs_msg_name(uint8_t type)
{
    switch (type) {
    case TLS_HS_HELLO_REQUEST: return "HelloRequest";
    case TLS_HS_CLIENT_HELLO: return "ClientHello";
    case TLS_HS_SERVER_HELLO: return "ServerHello";
    case TLS_HS_NEW_SESSION_TICKET: return "NewSessionTicket";
    case TLS_HS_CERTIFICATE: return "Certificate";
    case TLS_HS_SERVER_KEY_EXCHANGE: return "ServerKeyExchange";
    case TLS_HS_CERTIFICATE_REQUEST: return "CertificateRequest";
    case TLS_HS_SERVER_HELLO_DONE: return "ServerHelloDone";
    case TLS_HS_CERTIFICATE_VERIFY: return "CertificateVerify";
    case TLS_HS_CLIENT_KEY_EXCHANGE: return "ClientKeyExchange";
    case TLS_HS_FINISHED: return "Finished";
    default: return "unknown handshake message";
    }
}

mtls_err hs_new(mtls_conn *c)
{
    struct hs *hs = mem_calloc(1, sizeof(*hs));
    if (!hs)
        return MTLS_ERR_NO_MEMORY;
    hs->state = c->is_server ? S12_READ_CLIENT_HELLO : C12_SEND_CLIENT_HELLO;
    hs->keep_tbuf = true;
    hs->out = wr_growable(HS_OUT_MAX);
    c->hs = hs;
    return MTLS_OK;
}

void hs_free(struct hs *hs)
{
    if (!hs)
        return;
    dynbuf_free(&hs->in, true);
    wr_free(&hs->out, true);
    dynbuf_free(&hs->tbuf, false);
    cry_hash_free(hs->transcript);
    mtls_session_free(hs->resume);
    mem_free(hs->new_ticket);
    cry_kex_free(hs->kex);
    x509_chain_free(hs->peer_chain, hs->peer_chain_len);
    cry_wipe(hs, sizeof(*hs));
    mem_free(hs);
}

void hs_trace(const mtls_conn *c, char dir, const char *what, const char *fmt, ...)
{
    if (!c->trace.fn)
        return;
    va_list ap;
    va_start(ap, fmt);
    trace_vemit(&c->trace, dir, what, fmt, ap);
    va_end(ap);
}

mtls_err hs_fail(mtls_conn *c, mtls_err err, const char *fmt, ...)
{
    if (c->error)
        return c->error;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return conn_fail(c, err, "%s", detail);
}

mtls_err hs_expect(mtls_conn *c, const msg *m, uint8_t type)
{
    if (m->type == type)
        return MTLS_OK;
    return hs_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                   hs_msg_name(m->type), hs_msg_name(type));
}

void hs_names(char *out, size_t cap, const uint16_t *ids, size_t n, const char *(*name)(uint16_t))
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && used < cap; i++) {
        const char *s = name(ids[i]);
        int k = s ? snprintf(out + used, cap - used, "%s%s", i ? ", " : "", s)
                  : snprintf(out + used, cap - used, "%s0x%04x", i ? ", " : "", ids[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

bool hs_list_has(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool hs_wire_list_has(rd list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.n; i += 2)
        if (be16_get(list.p + i) == v)
            return true;
    return false;
}

bool hs_key_usage_allows(const x509_cert *cert, kx_kind kx)
{
    unsigned bits;
    if (!x509_cert_key_usage(cert, &bits))
        return true;
    return (bits & (kx == KX_RSA ? 1u << 2 : 1u << 0)) != 0;
}

bool hs_sigalg_fits_key(uint16_t sigalg, const cry_pkey *key)
{
    const sigalg_info *s = sigalg_find(sigalg);
    if (!s || !key)
        return false;
    cry_key_type kt = cry_pkey_type(key);
    if (s->key == CRY_KEY_RSA)
        return kt == CRY_KEY_RSA;
    /* TLS 1.2 does not bind the ECDSA curve to the hash; any ECDSA scheme signs with any curve
     * we support, but we prefer the matching one (hs_pick_sigalg). */
    return kt == CRY_KEY_EC_P256 || kt == CRY_KEY_EC_P384;
}

uint16_t hs_pick_sigalg(const mtls_conn *c, const uint16_t *offered, size_t n)
{
    const mtls_config *cfg = c->cfg;
    cry_key_type kt = cry_pkey_type(cfg->key);
    /* First pass: schemes that name our curve exactly; second: any that fits. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cfg->n_sigalgs; i++) {
            uint16_t s = cfg->sigalgs[i];
            if (!hs_list_has(offered, n, s) || !hs_sigalg_fits_key(s, cfg->key))
                continue;
            if (pass == 0 && sigalg_find(s)->key != kt)
                continue;
            return s;
        }
    return 0;
}

/* ---- transcript -------------------------------------------------------------------------------- */

mtls_err hs_transcript_add(mtls_conn *c, const uint8_t *p, size_t len)
{
    struct hs *hs = c->hs;
    if (hs->transcript && !cry_hash_update(hs->transcript, p, len))
        return MTLS_ERR_CRYPTO;
    if (hs->keep_tbuf && !dynbuf_append(&hs->tbuf, p, len, 4 * MTLS_MAX_HANDSHAKE_MSG))
        return MTLS_ERR_NO_MEMORY;
    return MTLS_OK;
}

mtls_err hs_transcript_start(mtls_conn *c)
{
    struct hs *hs = c->hs;
    hs->transcript = cry_hash_new(hs->suite->prf);
    if (!hs->transcript)
        return MTLS_ERR_CRYPTO;
    if (hs->tbuf.len && !cry_hash_update(hs->transcript, hs->tbuf.p, hs->tbuf.len))
        return MTLS_ERR_CRYPTO;
    return MTLS_OK;
}

mtls_err hs_transcript_hash(mtls_conn *c, uint8_t *out, size_t *out_len)
{
    struct hs *hs = c->hs;
    if (!hs->transcript || !cry_hash_peek(hs->transcript, out))
        return MTLS_ERR_CRYPTO;
    *out_len = cry_hash_len(hs->suite->prf);
    return MTLS_OK;
}

void hs_transcript_drop_buffer(mtls_conn *c)
{
    c->hs->keep_tbuf = false;
    dynbuf_free(&c->hs->tbuf, false);
}

/* ---- building and framing ------------------------------------------------------------------ */

size_t hs_msg_open(mtls_conn *c, uint8_t type)
{
    wr *w = &c->hs->out;
    size_t at = w->len;
    wr_u8(w, type);
    wr_open_u24(w);
    return at;
}

mtls_err hs_msg_close(mtls_conn *c, size_t at)
{
    wr *w = &c->hs->out;
    wr_close_u24(w, at + 1);
    /* The flight's writer fails only when it cannot grow (out of memory, or past HS_OUT_MAX). */
    if (!wr_ok(w))
        return MTLS_ERR_NO_MEMORY;
    return hs_transcript_add(c, w->p + at, w->len - at);
}

mtls_err hs_flush(mtls_conn *c)
{
    struct hs *hs = c->hs;
    if (hs->out.len == 0)
        return MTLS_OK;
    mtls_err err = rec_write(&c->rec, TLS_CT_HANDSHAKE, hs->out.p, hs->out.len);
    cry_wipe(hs->out.p, hs->out.len);
    wr_reset(&hs->out);
    return err;
}

mtls_err hs_send_ccs(mtls_conn *c)
{
    static const uint8_t one = 1;
    mtls_err err = hs_flush(c);
    if (!err)
        err = rec_write(&c->rec, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1);
    if (!err)
        err = hs_install_keys(c, true);
    hs_trace(c, '>', "ChangeCipherSpec", "from now on our records are encrypted with %s",
             c->hs->suite->name);
    return err;
}

mtls_err hs_send_ccs_and_finished(mtls_conn *c)
{
    mtls_err err;
    if ((err = hs_send_ccs(c)) || (err = msg_finished_build(c)))
        return err;
    return hs_flush(c);
}

/* ---- keys ------------------------------------------------------------------------------------ */

mtls_err hs_derive_keys(mtls_conn *c)
{
    struct hs *hs = c->hs;
    const suite_info *s = hs->suite;
    uint8_t session_hash[CRY_MAX_HASH];
    size_t hlen = 0;
    mtls_err err = c->ems ? hs_transcript_hash(c, session_hash, &hlen) : MTLS_OK;
    if (!err)
        err = ks12_master_secret(s->prf, hs->premaster, hs->premaster_len, c->ems, session_hash,
                                 hlen, hs->client_random, hs->server_random, hs->master);
    cry_wipe(hs->premaster, sizeof(hs->premaster));
    if (err)
        return err;
    hs_trace(c, '*', "MasterSecret", "derived with the PRF (%s) from the premaster secret%s",
             s->prf == CRY_SHA384 ? "SHA-384" : "SHA-256",
             c->ems ? " and the session hash (extended master secret, RFC 7627)"
                    : " and both randoms");
    return hs_key_block(c);
}

mtls_err hs_key_block(mtls_conn *c)
{
    struct hs *hs = c->hs;
    const suite_info *s = hs->suite;
    size_t kb_len = 2u * s->key_len + 2u * s->fixed_iv_len;
    mtls_err err = ks12_key_block(s->prf, hs->master, hs->server_random, hs->client_random,
                                  hs->key_block, kb_len);
    if (err)
        return err;
    if (c->cfg->keylog) {
        char line[KS12_KEYLOG_LEN];
        ks12_keylog_line(line, hs->client_random, hs->master);
        c->cfg->keylog(c->cfg->keylog_arg, c, line);
        cry_wipe(line, sizeof(line));
    }
    return MTLS_OK;
}

mtls_err hs_install_keys(mtls_conn *c, bool for_write)
{
    struct hs *hs = c->hs;
    const suite_info *s = hs->suite;
    /* key_block: client_write_key, server_write_key, client_write_IV, server_write_IV */
    const uint8_t *ckey = hs->key_block, *skey = ckey + s->key_len;
    const uint8_t *civ = skey + s->key_len, *siv = civ + s->fixed_iv_len;
    bool client_side = for_write != c->is_server;
    rec_key k = {MTLS_VERSION_TLS12, s->aead,          client_side ? ckey : skey,
                 s->key_len,         client_side ? civ : siv, s->fixed_iv_len};
    return for_write ? rec_set_write_key(&c->rec, &k) : rec_set_read_key(&c->rec, &k);
}

mtls_err hs_finished_compute(mtls_conn *c, bool from_client, uint8_t out[12])
{
    uint8_t h[CRY_MAX_HASH];
    size_t hlen;
    mtls_err err = hs_transcript_hash(c, h, &hlen);
    if (err)
        return err;
    return ks12_finished(c->hs->suite->prf, c->hs->master, from_client, h, hlen, out);
}

/* ---- peer chain -------------------------------------------------------------------------- */

mtls_err hs_verify_peer_chain(mtls_conn *c)
{
    struct hs *hs = c->hs;
    const mtls_config *cfg = c->cfg;
    mtls_err verdict = MTLS_OK;
    char detail[400] = "";
    if (c->is_server || !cfg->insecure) {
        const x509_store *anchors = c->is_server && cfg->client_ca ? cfg->client_ca : cfg->ca;
        x509_verify_params p = {
            .purpose = c->is_server ? X509_PURPOSE_CLIENT : X509_PURPOSE_SERVER,
            .host = c->is_server || c->skip_hostname ? NULL
                    : c->verify_name                 ? c->verify_name
                                                     : c->server_name,
            .now = config_now(cfg),
            .max_depth = 10,
        };
        verdict = x509_verify_chain(anchors, hs->peer_chain, hs->peer_chain_len, &p, detail,
                                    sizeof(detail));
    }
    /* Expose the chain to the callback through the usual getters. */
    c->peer_chain = hs->peer_chain;
    c->peer_chain_len = hs->peer_chain_len;
    hs->peer_chain = NULL;
    hs->peer_chain_len = 0;
    if (cfg->verify_cb) {
        mtls_err cb = cfg->verify_cb(cfg->verify_arg, c, verdict);
        if (cb != verdict && cb != MTLS_OK && detail[0] == 0)
            snprintf(detail, sizeof(detail), "the application's verify callback rejected %s",
                     x509_cert_subject(c->peer_chain[0]));
        if (cb != MTLS_OK && !err_is_certificate(cb))
            cb = MTLS_ERR_CERT_REJECTED;
        verdict = cb;
    }
    if (verdict != MTLS_OK) {
        hs_trace(c, '*', "CertificateCheck", "FAILED: %s", detail[0] ? detail : mtls_err_str(verdict));
        /* The getters speak of the verified identity: a rejected chain is not one. */
        x509_chain_free(c->peer_chain, c->peer_chain_len);
        c->peer_chain = NULL;
        c->peer_chain_len = 0;
        return hs_fail(c, verdict, "%s", detail[0] ? detail : mtls_err_str(verdict));
    }
    const char *name = c->is_server ? NULL : c->verify_name ? c->verify_name : c->server_name;
    if (!c->is_server && cfg->insecure) {
        hs_trace(c, '*', "CertificateCheck", "SKIPPED (insecure mode): %s",
                 x509_cert_subject(c->peer_chain[0]));
    } else if (!c->is_server && c->skip_hostname) {
        hs_trace(c, '*', "CertificateCheck", "ok: %s chains to a trusted CA; host name NOT "
                 "checked (mtls_conn_set_insecure_skip_hostname)",
                 x509_cert_subject(c->peer_chain[0]));
    } else {
        hs_trace(c, '*', "CertificateCheck", "ok: %s chains to a trusted CA%s%s",
                 x509_cert_subject(c->peer_chain[0]), name ? ", matches " : "", name ? name : "");
    }
    hs->proofs |= PROOF_PEER_CHAIN;
    return MTLS_OK;
}

/* ---- the state loop ------------------------------------------------------------------------ */

/* The next complete message in `in` (from in_off), or false. */
static bool next_msg(mtls_conn *c, msg *m)
{
    const dynbuf *in = &c->hs->in;
    size_t avail = in->len - c->hs->in_off;
    if (avail < 4)
        return false;
    const uint8_t *p = in->p + c->hs->in_off;
    uint32_t len = be24_get(p + 1);
    if (avail < 4 + (size_t)len)
        return false;
    m->type = p[0];
    m->body = rd_init(p + 4, len);
    m->raw = p;
    m->raw_len = 4 + len;
    return true;
}

/* Drop the messages handled so far: one move of what is left, however many messages a record
 * held (moving the rest after each one would cost a record's length per message). */
static void in_compact(struct hs *hs)
{
    if (hs->in_off == 0)
        return;
    dynbuf_consume(&hs->in, hs->in_off);
    hs->in_off = 0;
}

static mtls_err unexpected(mtls_conn *c, const msg *m, const char *wanted)
{
    return hs_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE, "received %s while waiting for %s",
                   hs_msg_name(m->type), wanted);
}

/* Proof before traffic: the set of checks this mode needs must all have happened. */
static mtls_err enter_traffic(mtls_conn *c)
{
    struct hs *hs = c->hs;
    unsigned need = PROOF_FINISHED;
    if (c->resumed) {
        need |= PROOF_RESUMED;
    } else if (!c->is_server) {
        need |= PROOF_PEER_CHAIN;
        if (hs->suite->kx == KX_ECDHE)
            need |= PROOF_SKE_SIG;
    } else if (c->peer_cert_presented) {
        need |= PROOF_PEER_CHAIN | PROOF_CERT_VERIFY;
    } else if (c->cfg->verify_client == MTLS_VERIFY_REQUIRE) {
        need |= PROOF_PEER_CHAIN; /* cannot be met: a required certificate never came */
    }
    if ((hs->proofs & need) != need)
        return hs_fail(c, MTLS_ERR_INTERNAL, "handshake ended without all required checks");

    /* The peer's public keys have done their work (chain, ServerKeyExchange, CertificateVerify);
     * dropping them keeps an established connection small.  Before the session is published:
     * after that, the leaf may be shared with other threads. */
    for (size_t i = 0; i < c->peer_chain_len; i++)
        x509_cert_drop_key(c->peer_chain[i]);
    mtls_err err = hs_session_finish(c);
    if (err)
        return hs_fail(c, err, "could not record the session");
    c->established = true;
    hs_trace(c, '*', "Established", "%s%s, %s%s%s, %s", "TLS 1.2",
             c->resumed ? " (resumed session, abbreviated handshake)" : "", hs->suite->name,
             c->group ? ", " : "", c->group ? mtls_group_name(c->group) : "",
             c->ems ? "extended master secret" : "no extended master secret");
    /* Handshake bytes that came in the same record as the final Finished are post-handshake
     * messages (a renegotiation attempt, or garbage): handle them as such, not drop them with the
     * handshake state. */
    in_compact(hs);
    dynbuf rest = hs->in;
    hs->in = (dynbuf){0};
    hs_free(hs);
    c->hs = NULL;
    if (rest.len)
        err = hs_on_handshake_data(c, rest.p, rest.len);
    dynbuf_free(&rest, true);
    return err;
}

static mtls_err step(mtls_conn *c, bool *progressed)
{
    struct hs *hs = c->hs;
    msg m;
    *progressed = true;
    switch (hs->state) {
    case C12_SEND_CLIENT_HELLO: return c12_send_client_hello(c);
    case C12_SEND_CLIENT_FLIGHT: return c12_send_client_flight(c);
    case S12_SEND_SERVER_FLIGHT: return s12_send_server_flight(c);
    case S12_SEND_FINISHED: return s12_send_finished(c);
    case S12_SEND_RESUMED_FLIGHT: return s12_send_resumed_flight(c);
    case C12_SEND_FINISHED_RESUMED: return c12_send_finished_resumed(c);
    case HS_DONE: return enter_traffic(c);
    default:
        break;
    }
    if (!next_msg(c, &m)) {
        *progressed = false;
        return MTLS_OK;
    }
    if (!c->is_server && m.type == TLS_HS_HELLO_REQUEST) {
        /* RFC 5246 7.4.1.1: "This message will be ignored by the client if the client is
         * currently negotiating a session."  It is not part of the transcript. */
        if (m.body.n != 0)
            return hs_fail(c, MTLS_ERR_DECODE, "HelloRequest is not empty");
        hs_trace(c, '<', "HelloRequest", "ignored during the handshake");
        hs->in_off += m.raw_len;
        return MTLS_OK;
    }
    mtls_err err;
    switch (hs->state) {
    case C12_READ_CCS:
    case S12_READ_CCS: err = unexpected(c, &m, "ChangeCipherSpec"); break;
    case C12_READ_SERVER_HELLO: err = c12_read_server_hello(c, &m); break;
    case C12_READ_SERVER_CERT: err = c12_read_server_cert(c, &m); break;
    case C12_READ_SERVER_KEY_EXCHANGE: err = c12_read_server_key_exchange(c, &m); break;
    case C12_READ_CERT_REQUEST_OR_SERVER_DONE:
    case C12_READ_SERVER_DONE: err = c12_read_cert_request_or_server_done(c, &m); break;
    case C12_READ_NEW_SESSION_TICKET: err = c12_read_new_session_ticket(c, &m); break;
    case C12_READ_FINISHED: err = c12_read_finished(c, &m); break;
    case S12_READ_CLIENT_HELLO: err = s12_read_client_hello(c, &m); break;
    case S12_READ_CLIENT_CERT: err = s12_read_client_cert(c, &m); break;
    case S12_READ_CLIENT_KEY_EXCHANGE: err = s12_read_client_key_exchange(c, &m); break;
    case S12_READ_CERT_VERIFY: err = s12_read_cert_verify(c, &m); break;
    case S12_READ_FINISHED: err = s12_read_finished(c, &m); break;
    default: err = hs_fail(c, MTLS_ERR_INTERNAL, "handshake in an impossible state"); break;
    }
    if (err)
        return err;
    c->hs->in_off += m.raw_len;
    return MTLS_OK;
}

mtls_err hs_advance(mtls_conn *c)
{
    while (c->hs && c->error == MTLS_OK) {
        bool progressed;
        mtls_err err = step(c, &progressed);
        if (err)
            return c->error ? c->error : hs_fail(c, err, "%s", mtls_err_str(err));
        if (!progressed)
            break;
    }
    if (c->hs)
        in_compact(c->hs);
    return c->error;
}

/* A handshake message header that announces more than we accept ends the connection at once,
 * before any of the body is buffered. */
static mtls_err too_large(mtls_conn *c, uint8_t type, uint32_t mlen)
{
    return conn_fail(c, MTLS_ERR_HANDSHAKE_TOO_LARGE,
                     "the peer announced a %s of %u bytes (limit %u)", hs_msg_name(type), mlen,
                     MTLS_MAX_HANDSHAKE_MSG);
}

/* Handshake messages after the handshake: only renegotiation attempts, which we refuse.  They are
 * a byte stream like any handshake data -- a message may span records, a record may hold several
 * -- so each message is judged by its header (answered as soon as the header is complete) and
 * its body is skipped as it arrives, never buffered. */
static mtls_err post_handshake(mtls_conn *c, const uint8_t *data, size_t len)
{
    while (len) {
        if (c->post_skip) {
            size_t take = len < c->post_skip ? len : c->post_skip;
            c->post_skip -= (uint32_t)take;
            data += take;
            len -= take;
            continue;
        }
        size_t take = 4 - c->post_hdr_len;
        if (take > len)
            take = len;
        memcpy(c->post_hdr + c->post_hdr_len, data, take);
        c->post_hdr_len = (uint8_t)(c->post_hdr_len + take);
        data += take;
        len -= take;
        if (c->post_hdr_len < 4)
            break;
        c->post_hdr_len = 0;
        uint8_t type = c->post_hdr[0];
        uint32_t mlen = be24_get(c->post_hdr + 1);
        bool hello_request = !c->is_server && type == TLS_HS_HELLO_REQUEST && mlen == 0;
        bool client_hello = c->is_server && type == TLS_HS_CLIENT_HELLO;
        if (!hello_request && !client_hello)
            return conn_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE,
                             "the peer sent a handshake message (%s) after the handshake",
                             hs_msg_name(type));
        if (mlen > MTLS_MAX_HANDSHAKE_MSG)
            return too_large(c, type, mlen);
        c->post_skip = mlen;
        /* RFC 5746 4.2 / 5246 7.4.1.1: decline with a no_renegotiation warning, bounded. */
        if (++c->renego_refused > 4)
            return conn_fail(c, MTLS_ERR_RENEGOTIATION, "the peer keeps trying to renegotiate");
        hs_trace(c, '*', "Renegotiation", "refused (%s)", hs_msg_name(type));
        mtls_err err = conn_send_alert(c, 1, TLS_ALERT_NO_RENEGOTIATION);
        if (err)
            return err;
    }
    return MTLS_OK;
}

/* The largest body a handshake message of `type` may announce: a ClientHello what its fields can
 * add up to, so that every valid one is read; anything else our cap. */
static uint32_t msg_limit(uint8_t type)
{
    return type == TLS_HS_CLIENT_HELLO ? TLS_MAX_CLIENT_HELLO : MTLS_MAX_HANDSHAKE_MSG;
}

/* A message's announced length, judged as soon as its 4-byte header is in. */
static mtls_err check_length(mtls_conn *c, uint8_t type, uint32_t mlen)
{
    if (mlen <= msg_limit(type))
        return MTLS_OK;
    /* RFC 5246 7.4.1.2 bounds every field of a ClientHello; one longer than all of them together
     * cannot be well formed: decode_error, "the length of the message was incorrect" (7.2.2). */
    if (type == TLS_HS_CLIENT_HELLO)
        return conn_fail(c, MTLS_ERR_DECODE,
                         "the peer announced a ClientHello of %u bytes; its fields can add up to "
                         "at most %u (RFC 5246 7.4.1.2)",
                         mlen, (unsigned)TLS_MAX_CLIENT_HELLO);
    return too_large(c, type, mlen);
}

/* Room in the reassembly buffer for `len` more bytes.  It grows by doubling, so that a message
 * cut into many small records is moved a bounded number of times (grown to the exact need, a
 * 128 KiB ClientHello in 300-byte records was reallocated over 400 times, in 2-byte records
 * 65,000 times), but never past the end of the message whose header is in: the peer's own length,
 * already judged against its limit, bounds what the doubling allocates. */
static bool in_reserve(dynbuf *in, size_t len)
{
    size_t want = in->len + len;
    if (want <= in->cap)
        return true;
    size_t cap = want;
    if (in->len >= 4) {
        size_t end = 4 + (size_t)be24_get(in->p + 1);
        cap = 2 * in->cap < end ? 2 * in->cap : end;
        if (cap < want)
            cap = want;
    }
    return dynbuf_reserve(in, cap - in->len, HS_IN_MAX);
}

mtls_err hs_on_handshake_data(mtls_conn *c, const uint8_t *data, size_t len)
{
    if (!c->hs)
        return post_handshake(c, data, len);
    dynbuf *in = &c->hs->in;
    if (!in_reserve(in, len) || !dynbuf_append(in, data, len, HS_IN_MAX))
        return conn_fail(c, MTLS_ERR_HANDSHAKE_TOO_LARGE, "handshake data exceeds the limit");
    /* Refuse an impossible or oversized length claim as soon as the header is in, before the
     * body is buffered. */
    size_t off = 0;
    while (in->len - off >= 4) {
        uint32_t mlen = be24_get(in->p + off + 1);
        mtls_err err = check_length(c, in->p[off], mlen);
        if (err)
            return err;
        if (in->len - off < 4 + (size_t)mlen)
            break;
        off += 4 + mlen;
    }
    mtls_err err = hs_advance(c);
    if (err)
        return err;
    /* A HelloRequest may reach a client at any time; outside the handshake it is handled above. */
    return MTLS_OK;
}

mtls_err hs_on_ccs(mtls_conn *c, const uint8_t *data, size_t len)
{
    struct hs *hs = c->hs;
    if (!hs || (hs->state != C12_READ_CCS && hs->state != S12_READ_CCS))
        return conn_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE, "ChangeCipherSpec at the wrong time");
    /* RFC 5246 7.1: the message consists of a single byte of value 1.  A handshake message may
     * not straddle it. */
    if (len != 1 || data[0] != 1) /* unexpected_message, as OpenSSL and tlsfuzzer have it */
        return conn_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE, "malformed ChangeCipherSpec");
    if (hs->in.len != 0)
        return conn_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE,
                         "ChangeCipherSpec in the middle of a handshake message");
    mtls_err err = hs_install_keys(c, false);
    if (err)
        return conn_fail(c, err, NULL);
    hs_trace(c, '<', "ChangeCipherSpec", "the peer's records are encrypted from now on");
    hs->state = hs->state == C12_READ_CCS ? C12_READ_FINISHED : S12_READ_FINISHED;
    return MTLS_OK;
}
