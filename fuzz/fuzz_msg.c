/*
 * fuzz_msg.c -- one libFuzzer target per handshake message parser, in the state that parses it.
 * Built once per row of targets.def (FZ_PAIR / FZ_SIDE / FZ_TYPE / FZ_AT / FZ_CODEC): a real
 * handshake of that pairing is recorded once, then for each input a fresh connection of the
 * receiving side is replayed the recorded messages up to the FZ_AT-th one (from 0) of type
 * FZ_TYPE -- or, with FZ_AT = FZ_END, the whole recording (a post-handshake message) -- and is
 * given a message of that type whose body is the input, as the peer would send it: sealed with
 * the receiver's own read key once it has one (fuzz_common.h), so the TLS 1.3 encrypted flight,
 * NewSessionTicket and KeyUpdate reach their parsers through the record layer.  The parser thus
 * runs in the very state that parses it, with everything before it genuine, and whatever it
 * accepts is driven on to the end of the recording (after a post-handshake message: application
 * data under the receiver's read key, which a KeyUpdate has just changed), then through the
 * traffic path.  Seeds: the recorded body.
 *
 * The TLS 1.3 rows also name their pure codec (msg/, FZ_CODEC): every input goes through it
 * first, and what it accepts must build back to the very same bytes (round trip) and be what the
 * RFC struct says (a HelloRetryRequest is the message with its special random, a Finished has
 * the hash's length, ...); the extensions found are read by their parsers.  The connection then
 * gets the inputs the codec accepts -- the role's first act on the message is this same parse,
 * so the others stop there -- and one in 16 of the others (by a hash of the input), so that the
 * role's refusal path runs as well: the codec is fuzzed at its own speed, and the replay is paid
 * for the inputs that can go further.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CODEC_NONE 0
#define FZ_CODEC_CH 1    /* ClientHello (its TLS 1.3 extensions) */
#define FZ_CODEC_SH 2    /* ServerHello / HelloRetryRequest */
#define FZ_CODEC_EE 3    /* EncryptedExtensions */
#define FZ_CODEC_CR13 4  /* TLS 1.3 CertificateRequest */
#define FZ_CODEC_CT13 5  /* TLS 1.3 Certificate */
#define FZ_CODEC_CV 6    /* CertificateVerify */
#define FZ_CODEC_FIN13 7 /* TLS 1.3 Finished */
#define FZ_CODEC_NST13 8 /* TLS 1.3 NewSessionTicket */
#define FZ_CODEC_KU 9    /* KeyUpdate */

#ifndef FZ_AT
#define FZ_AT 0
#endif
#ifndef FZ_CODEC
#define FZ_CODEC FZ_CODEC_NONE
#endif

/* What a builder wrote is exactly the input. */
static void same(wr *w, const uint8_t *data, size_t size)
{
    if (!wr_ok(w) || w->len != size || (size && memcmp(w->p, data, size) != 0))
        __builtin_trap(); /* what parses does not build back to the same bytes */
    wr_free(w, false);
}

/* The TLS 1.3 extensions of a hello, read by their parsers (what the roles do with them). */
static void hello13_exts(const hello_exts *e, ext_msg in)
{
    const char *why;
    ext_share shares[EXT_MAX_SHARES], share;
    size_t n;
    uint16_t u16;
    bool a, b;
    rd cookie;
    if (e->supported_versions.present) {
        if (in == EXT_IN_CH)
            (void)ext_versions_parse_list(e->supported_versions.data, &a, &b, &why);
        else
            (void)ext_version_parse(e->supported_versions.data, &u16, &why);
    }
    if (e->key_share.present) {
        if (in == EXT_IN_CH) {
            if (ext_key_share_ch_parse(e->key_share.data, shares, EXT_MAX_SHARES, &n, &why) ==
                    MTLS_OK &&
                n > EXT_MAX_SHARES)
                __builtin_trap();
        } else if (in == EXT_IN_HRR) {
            (void)ext_key_share_hrr_parse(e->key_share.data, &u16, &why);
        } else {
            (void)ext_key_share_sh_parse(e->key_share.data, &share, &why);
        }
    }
    if (e->cookie.present && ext_cookie_parse(e->cookie.data, &cookie, &why) == MTLS_OK &&
        cookie.n == 0)
        __builtin_trap();
    if (e->psk_key_exchange_modes.present)
        (void)ext_psk_modes_parse(e->psk_key_exchange_modes.data, &a, &b, &why);
    if (e->pre_shared_key.present) {
        ext_psk_offer offer;
        if (in != EXT_IN_CH)
            (void)ext_psk_sh_parse(e->pre_shared_key.data, &u16, &why);
        else if (ext_psk_offer_parse(e->pre_shared_key.data, &offer, &why) == MTLS_OK)
            for (size_t i = 0; i < offer.n; i++) {
                rd identity, binder;
                uint32_t age;
                ext_psk_offer_get(&offer, i, &identity, &age, &binder);
                if (identity.n == 0 || binder.n < 32)
                    __builtin_trap();
            }
    }
    if (e->early_data.present)
        (void)ext_empty_parse(e->early_data.data, &why);
    if (e->certificate_authorities.present)
        (void)ext_ca_names_parse(e->certificate_authorities.data, &n, &why);
}

/* The pure codec of FZ_CODEC: whether it accepts the input as the body of its message. */
static bool codec(const uint8_t *data, size_t size)
{
    rd body = rd_init(data, size);
    wr w = wr_growable(size + 64);
    bool ok = false;
    switch (FZ_CODEC) {
    case FZ_CODEC_CH: {
        struct msg_client_hello ch;
        if ((ok = msg_client_hello_parse(&body, &ch) == MTLS_OK)) {
            msg_client_hello_build(&w, &ch);
            same(&w, data, size);
            hello13_exts(&ch.exts, EXT_IN_CH);
        }
        break;
    }
    case FZ_CODEC_SH: {
        struct msg_server_hello sh;
        if ((ok = msg_server_hello_parse(&body, &sh) == MTLS_OK)) {
            /* RFC 8446 4.1.3: a HelloRetryRequest is told by its random, a TLS 1.3 ServerHello
             * by its supported_versions */
            bool hrr = memcmp(sh.random, msg_hrr_random, 32) == 0;
            if (hrr != (sh.kind == MSG_HRR) ||
                (!hrr && (sh.kind == MSG_SH13) != sh.exts.supported_versions.present))
                __builtin_trap();
            msg_server_hello_build(&w, &sh);
            /* build leaves out an empty extensions block */
            if (sh.extensions.n == 0 && w.len + 2 == size && data[size - 2] == 0 &&
                data[size - 1] == 0)
                size -= 2;
            same(&w, data, size);
            if (sh.kind != MSG_SH12)
                hello13_exts(&sh.exts, sh.kind == MSG_HRR ? EXT_IN_HRR : EXT_IN_SH);
        }
        break;
    }
    case FZ_CODEC_EE: {
        struct msg_encrypted_extensions ee;
        if ((ok = msg_encrypted_extensions_parse(&body, &ee) == MTLS_OK)) {
            msg_encrypted_extensions_build(&w, &ee);
            same(&w, data, size);
            const hello_exts *e = &ee.exts;
            /* RFC 8446 4.2: in EncryptedExtensions, of the extensions mtls knows, only these */
            if (e->ec_point_formats.present || e->signature_algorithms.present ||
                e->ems.present || e->renegotiation_info.present || e->session_ticket.present ||
                e->status_request.present || e->supported_versions.present ||
                e->key_share.present || e->cookie.present || e->pre_shared_key.present ||
                e->psk_key_exchange_modes.present || e->certificate_authorities.present ||
                e->signature_algorithms_cert.present || e->post_handshake_auth.present)
                __builtin_trap();
        }
        break;
    }
    case FZ_CODEC_CR13: {
        struct msg_certificate_request13 cr;
        if ((ok = msg_certificate_request13_parse(&body, &cr) == MTLS_OK)) {
            if (cr.context.n > 255 || cr.extensions.n < 2)
                __builtin_trap();
            msg_certificate_request13_build(&w, &cr);
            same(&w, data, size);
            uint16_t algs[HS_MAX_PEER_LIST];
            size_t n;
            const char *why;
            if (cr.exts.signature_algorithms.present)
                (void)ext_sigalgs_parse(cr.exts.signature_algorithms.data, algs,
                                        HS_MAX_PEER_LIST, &n, &why);
            hello13_exts(&cr.exts, EXT_IN_CR);
        }
        break;
    }
    case FZ_CODEC_CT13: {
        rd certs[MSG_MAX_CHAIN], exts[MSG_MAX_CHAIN];
        struct msg_certificate13 ct = {.certs = certs, .exts = exts};
        if ((ok = msg_certificate13_parse(&body, &ct) == MTLS_OK)) {
            if (ct.n > MSG_MAX_CHAIN)
                __builtin_trap();
            msg_certificate13_build(&w, &ct);
            same(&w, data, size);
            for (size_t i = 0; i < ct.n; i++) {
                /* each entry's block parsed alone as it parsed in the message */
                wr blk = wr_growable(exts[i].n + 2);
                size_t v = wr_open_u16(&blk);
                wr_bytes(&blk, exts[i].p, exts[i].n);
                wr_close_u16(&blk, v);
                rd r = rd_init(blk.p, blk.len);
                hello_exts e;
                const char *why;
                if (certs[i].n == 0 || ext_parse_block(&r, EXT_IN_CT, &e, &why) != MTLS_OK)
                    __builtin_trap();
                struct msg_certificate_status cs;
                rd st = e.status_request.data;
                if (e.status_request.present)
                    (void)msg_certificate_status_parse(&st, &cs);
                wr_free(&blk, false);
            }
        }
        break;
    }
    case FZ_CODEC_CV: {
        struct msg_certificate_verify cv;
        if ((ok = msg_certificate_verify_parse(&body, &cv) == MTLS_OK)) {
            msg_certificate_verify_build(&w, &cv);
            same(&w, data, size);
        }
        break;
    }
    case FZ_CODEC_FIN13: {
        /* verify_data has the length of the suite's hash: SHA-256 or SHA-384 */
        static const size_t hlens[2] = {32, 48};
        for (int i = 0; i < 2; i++) {
            struct msg_finished13 fin;
            rd b = body;
            if (msg_finished13_parse(&b, hlens[i], &fin) != MTLS_OK)
                continue;
            if (fin.len != hlens[i] || size != hlens[i])
                __builtin_trap();
            wr f = wr_growable(64);
            msg_finished13_build(&f, &fin);
            same(&f, data, size);
            ok = true;
        }
        break;
    }
    case FZ_CODEC_NST13: {
        struct msg_new_session_ticket13 nst;
        if ((ok = msg_new_session_ticket13_parse(&body, &nst) == MTLS_OK)) {
            if (nst.ticket.n == 0)
                __builtin_trap();
            msg_new_session_ticket13_build(&w, &nst);
            same(&w, data, size);
            uint32_t max;
            const char *why;
            if (nst.exts.early_data.present)
                (void)ext_early_data_nst_parse(nst.exts.early_data.data, &max, &why);
        }
        break;
    }
    case FZ_CODEC_KU: {
        struct msg_key_update ku;
        if ((ok = msg_key_update_parse(&body, &ku) == MTLS_OK)) {
            if (ku.request_update > 1)
                __builtin_trap();
            msg_key_update_build(&w, &ku);
            same(&w, data, size);
        }
        break;
    }
    default:
        ok = true;
        break;
    }
    if (w.p)
        wr_free(&w, false);
    return ok;
}

/* One input in 16, by a hash of its bytes. */
static bool sampled(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return (h >> 28) == 0;
}

static bool fine(mtls_err err)
{
    return err == MTLS_OK || err == MTLS_ERR_WANT_READ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MTLS_MAX_HANDSHAKE_MSG + 16)
        return 0;
    if (!codec(data, size) && !sampled(data, size))
        return 0;
    const fz_script *s = fz_record(FZ_PAIR);
    const fz_event *ev = FZ_SIDE ? s->to_server : s->to_client;
    size_t n = FZ_SIDE ? s->n_to_server : s->n_to_client;
    mtls_conn *c = FZ_SIDE ? fz_server(s->server_variant) : fz_client(s->client_variant);
    long at = FZ_AT == FZ_END ? fz_replay_until(c, ev, n, FZ_END, 0)
                              : fz_replay_until(c, ev, n, FZ_TYPE, FZ_AT);
    if (at >= 0) {
        uint8_t *m = malloc(4 + size);
        m[0] = FZ_TYPE;
        be24_put(m + 1, (uint32_t)size);
        if (size)
            memcpy(m + 4, data, size);
        mtls_err err = fz_feed_as_peer(c, TLS_CT_HANDSHAKE, m, 4 + size);
        free(m);
        /* what follows the message, when the input was accepted */
        if (fine(err) && FZ_AT == FZ_END)
            (void)fz_feed_as_peer(c, TLS_CT_APPLICATION_DATA, (const uint8_t *)"fuzz", 4);
        else if (fine(err))
            (void)fz_replay_events(c, ev, (size_t)at + 1, n);
        fz_exercise(c);
    }
    mtls_conn_free(c);
    return 0;
}
