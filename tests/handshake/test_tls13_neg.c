/*
 * test_tls13_neg.c -- TLS 1.3 refuses what it must (RFC 8446), in memory, each time with the
 * right error and the alert the peer then reports:
 *
 *   1. every handshake message type in every read state of both roles that does not accept it:
 *      unexpected_message (a HelloRequest included: TLS 1.3 has none);
 *   2. a truncated copy of every message of a real handshake (one byte short, lengths fixed up)
 *      and one with a byte too many, both directions: decode_error (or what the shorter field
 *      then means, asserted);
 *   3. wrong values: a Finished, a CertificateVerify and a PSK binder that do not verify
 *      (decrypt_error); a ServerHello key share for a group we did not offer, a suite we did not
 *      offer, a session id that is not our echo (illegal_parameter); extensions where RFC 8446 4.2
 *      forbids them (illegal_parameter), ones we did not offer (unsupported_extension), twice
 *      (illegal_parameter), a ClientHello without what 9.2 requires (missing_extension), with
 *      pre_shared_key not last or a key share for a group it does not support (illegal_parameter);
 *   4. HelloRetryRequest: a second one (unexpected_message), one that would not change the
 *      ClientHello or asks for a group we already sent or never offered (illegal_parameter), a
 *      second ClientHello without the cookie or the share asked for (illegal_parameter);
 *   5. ChangeCipherSpec: before the first ClientHello, a second one (a third from a server that
 *      sent a HelloRetryRequest: the one after it and one after the ServerHello are dropped), a
 *      value other than 1, one after the handshake (unexpected_message);
 *   6. versions: the downgrade sentinel refused by a client that offered TLS 1.3 and accepted by
 *      one that did not; TLS_FALLBACK_SCSV below our highest version (inappropriate_fallback);
 *      no version in common (protocol_version); the version matrix of both roles;
 *   7. after the handshake: a ClientHello or CertificateRequest (unexpected_message), records
 *      under the old key after a KeyUpdate (bad_record_mac), a KeyUpdate flood, a KeyUpdate
 *      followed by more data in its record (unexpected_message), an alert of warning level
 *      (fatal in TLS 1.3); 0-RTT data declined and skipped;
 *   8. certificate status (RFC 8446 4.4.2.1): a status_request in the server's Certificate the
 *      client did not ask for, or in the client's Certificate (unsupported_extension), twice in
 *      an entry (illegal_parameter), with a CertificateStatus that does not parse (decode_error)
 *      or a response that is not OCSP (bad_certificate_status_response).
 *
 * Technique.  A real handshake in memory, taken apart: the server's flight is decrypted with keys
 * made from the client's key schedule (which holds the server's handshake traffic secret between
 * the ServerHello and the server's Finished), and messages -- real ones, edited ones, forged ones
 * -- are sealed again with the same keys and fed to the client one per record; the client's flight
 * likewise with the server's copy of the client's handshake secret.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "handshake/hs.h"
#include "t.h"

/* ---- bookkeeping ------------------------------------------------------------------------------ */

static char where[256];
static int fails_before, cases;

static void case_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void case_begin(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof(where), fmt, ap);
    va_end(ap);
    fails_before = t_fail;
    cases++;
}

static void case_end(void)
{
    if (t_fail != fails_before)
        fprintf(stderr, "  ^ case: %s\n", where);
}

/* ---- bytes, records, messages --------------------------------------------------------------- */

typedef struct {
    uint8_t type;
    uint8_t *p;
    size_t len;
} item;
typedef struct {
    item v[64];
    size_t n;
} items;

static void items_add(items *l, uint8_t type, const uint8_t *p, size_t len)
{
    item *it = &l->v[l->n++];
    it->type = type;
    it->p = malloc(len ? len : 1);
    memcpy(it->p, p, len);
    it->len = len;
}

static void items_free(items *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    l->n = 0;
}

/* Everything `from` has to send, as whole records. */
static void take_records(mtls_conn *from, items *out)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(from, &n);
    for (size_t off = 0; p && off + TLS_RECORD_HEADER <= n;) {
        size_t len = TLS_RECORD_HEADER + be16_get(p + off + 3);
        if (off + len > n)
            break;
        items_add(out, p[off], p + off, len);
        off += len;
    }
    if (p)
        mtls_send_ack(from, n);
}

static mtls_err feed_plain(mtls_conn *to, uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t *rec = malloc(TLS_RECORD_HEADER + n);
    rec[0] = type;
    rec[1] = 3;
    rec[2] = 3;
    be16_put(rec + 3, (uint16_t)n);
    memcpy(rec + TLS_RECORD_HEADER, p, n);
    mtls_err err = tp_feed(to, rec, TLS_RECORD_HEADER + n, 0);
    free(rec);
    return err;
}

/* A TLS 1.3 direction keyed from a traffic secret a key schedule holds. */
static void dir_from(rec_dir *d, const ks13 *ks, ks13_secret which, const suite_info *s, bool enc)
{
    uint8_t key[32], iv[12];
    CHECK_ERR(ks13_traffic_keys(ks, which, key, s->key_len, iv), MTLS_OK);
    rec_key k = {MTLS_VERSION_TLS13, s->aead, key, s->key_len, iv, 12, MTLS_PROTECTION_NONE, 0};
    memset(d, 0, sizeof(*d));
    CHECK_ERR(rec_dir_init(d, &k, enc), MTLS_OK);
}

static mtls_err feed_sealed(mtls_conn *to, rec_dir *d, uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t *rec = malloc(TLS_RECORD_HEADER + n + 64);
    size_t len;
    CHECK_ERR(rec_seal(d, type, rec, p, n, &len), MTLS_OK);
    mtls_err err = tp_feed(to, rec, len, 0);
    free(rec);
    return err;
}

/* Open the protected records of `recs` (from index `from`) with `d` and split their handshake
 * plaintext into messages. */
static void open_messages(const items *recs, size_t from, rec_dir *d, items *msgs)
{
    static uint8_t buf[64 * 1024];
    size_t len = 0;
    for (size_t i = from; i < recs->n; i++) {
        if (recs->v[i].type != TLS_CT_APPLICATION_DATA)
            continue;
        uint8_t *copy = malloc(recs->v[i].len);
        memcpy(copy, recs->v[i].p, recs->v[i].len);
        uint8_t *plain;
        size_t n;
        CHECK_ERR(rec_open(d, copy, recs->v[i].len, &plain, &n), MTLS_OK);
        if (copy[0] == TLS_CT_HANDSHAKE) {
            memcpy(buf + len, plain, n);
            len += n;
        }
        free(copy);
    }
    for (size_t off = 0; off + 4 <= len;) {
        size_t m = 4 + be24_get(buf + off + 1);
        items_add(msgs, buf[off], buf + off, m);
        off += m;
    }
}

/* The receiver failed with `want` and queued alert `alert`; the peer, given the alert, reports
 * it.  (The alert's record may be protected.) */
static void expect_fail(mtls_conn *rcv, mtls_conn *peer, mtls_err got, mtls_err want, int alert)
{
    CHECK_ERR(got, want);
    CHECK_ERR(mtls_conn_error(rcv), want);
    CHECK_EQ(mtls_conn_alert_sent(rcv), alert);
    if (mtls_conn_error(rcv) != want)
        fprintf(stderr, "  detail: %s\n", mtls_conn_error_detail(rcv));
    if (peer) {
        size_t n;
        const uint8_t *p = mtls_send_buf(rcv, &n);
        if (p && n) {
            tp_feed(peer, p, n, 0);
            mtls_send_ack(rcv, n);
        }
        /* An established peer leaves a protected record for mtls_read (conn.c); mtls_handshake
         * handles the records waiting, the alert among them. */
        mtls_handshake(peer);
        CHECK_EQ(mtls_conn_alert_received(peer), alert);
    }
}

/* Input taken, nothing wrong (the handshake may wait for more). */
static bool fine(mtls_err err)
{
    return err == MTLS_OK || err == MTLS_ERR_WANT_READ;
}

/* ---- configs ---------------------------------------------------------------------------------- */

static int64_t clock_c, clock_s;
static int64_t clock_cf(void *arg)
{
    (void)arg;
    return clock_c;
}
static int64_t clock_sf(void *arg)
{
    (void)arg;
    return clock_s;
}

typedef struct {
    mtls_verify_mode verify;
    bool client_cert;
    const char *client_groups, *server_groups;
    uint16_t cmin, cmax, smin, smax; /* versions; 0: default */
    bool psk_ke;
    bool ocsp; /* the client asks for a stapled OCSP response */
} opts;

static mtls_config *server_cfg(const opts *o)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, o->verify), MTLS_OK);
    if (o->server_groups)
        CHECK_ERR(mtls_config_set_groups(cfg, o->server_groups), MTLS_OK);
    if (o->smin)
        CHECK_ERR(mtls_config_set_versions(cfg, o->smin, o->smax), MTLS_OK);
    if (o->psk_ke)
        CHECK_ERR(mtls_config_set_psk_ke(cfg, 1), MTLS_OK);
    mtls_config_set_time(cfg, clock_sf, NULL);
    /* one ticket key for every server config here, so tickets outlive a config */
    static uint8_t key[80] = {'t', 'l', 's', '1', '3', '-', 'n', 'e', 'g'};
    key[20] = 1;
    CHECK_ERR(mtls_config_set_ticket_keys(cfg, key, 1), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg(const opts *o)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    if (o->client_cert) {
        const tp_ident *id = &pki->client[TP_P256];
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem),
                                                 id->key_pem, strlen(id->key_pem)),
                  MTLS_OK);
    }
    if (o->client_groups)
        CHECK_ERR(mtls_config_set_groups(cfg, o->client_groups), MTLS_OK);
    if (o->cmin)
        CHECK_ERR(mtls_config_set_versions(cfg, o->cmin, o->cmax), MTLS_OK);
    if (o->psk_ke)
        CHECK_ERR(mtls_config_set_psk_ke(cfg, 1), MTLS_OK);
    if (o->ocsp)
        CHECK_ERR(mtls_config_set_ocsp_request(cfg, 1), MTLS_OK);
    mtls_config_set_time(cfg, clock_cf, NULL);
    return cfg;
}

/* ---- a handshake taken apart ------------------------------------------------------------------ */

typedef struct {
    mtls_config *ccfg, *scfg;
    mtls_conn *c, *s;
    items ch;       /* the client's first records (ClientHello) */
    items srecs;    /* the server's flight as records */
    items sflight;  /* its protected messages: EE [CR] [Certificate CertificateVerify] Finished */
    rec_dir s_enc;  /* seals as the server would, for the client (server handshake secret) */
    items crecs;    /* the client's second flight as records */
    items cflight;  /* its protected messages: [Certificate [CertificateVerify]] Finished */
    rec_dir c_enc;  /* seals as the client would, for the server (client handshake secret) */
} pair;

static const suite_info *suite_of(const mtls_conn *c)
{
    return c->hs->run->suite;
}

/* Up to the client holding the server's ServerHello (and CCS): the server's protected messages
 * are in sflight, s_enc seals more for the client. */
static void open_client_side(pair *p, const opts *o, mtls_session *offer)
{
    memset(p, 0, sizeof(*p));
    p->ccfg = client_cfg(o);
    p->scfg = server_cfg(o);
    p->c = mtls_client_new(p->ccfg, "localhost");
    p->s = mtls_server_new(p->scfg);
    if (offer)
        CHECK_ERR(mtls_conn_set_session(p->c, offer), MTLS_OK);
    CHECK_ERR(mtls_handshake(p->c), MTLS_ERR_WANT_READ);
    take_records(p->c, &p->ch);
    for (size_t i = 0; i < p->ch.n; i++)
        tp_feed(p->s, p->ch.v[i].p, p->ch.v[i].len, 0);
    take_records(p->s, &p->srecs);
    /* the plaintext head: ServerHello (and maybe ChangeCipherSpec) */
    size_t i = 0;
    for (; i < p->srecs.n && p->srecs.v[i].type != TLS_CT_APPLICATION_DATA; i++)
        CHECK_ERR(tp_feed(p->c, p->srecs.v[i].p, p->srecs.v[i].len, 0), MTLS_OK);
    if (!p->c->hs->run || p->c->hs->run->k13.stage != KS13_STAGE_HANDSHAKE) {
        CHECK(!"the client did not reach the handshake stage");
        return;
    }
    rec_dir dec;
    dir_from(&dec, &p->c->hs->run->k13, KS13_S_HS_TRAFFIC, suite_of(p->c), false);
    open_messages(&p->srecs, i, &dec, &p->sflight);
    rec_dir_clear(&dec);
    dir_from(&p->s_enc, &p->c->hs->run->k13, KS13_S_HS_TRAFFIC, suite_of(p->c), true);
}

/* Up to the server waiting for the client's second flight, which is in cflight; c_enc seals
 * more for the server. */
static void open_server_side(pair *p, const opts *o, mtls_session *offer)
{
    open_client_side(p, o, offer);
    for (size_t i = 0; i < p->sflight.n; i++)
        feed_sealed(p->c, &p->s_enc, TLS_CT_HANDSHAKE, p->sflight.v[i].p, p->sflight.v[i].len);
    take_records(p->c, &p->crecs);
    if (!p->s->hs->run) {
        CHECK(!"the server is not waiting for the client's flight");
        return;
    }
    rec_dir dec;
    dir_from(&dec, &p->s->hs->run->k13, KS13_C_HS_TRAFFIC, suite_of(p->s), false);
    open_messages(&p->crecs, 0, &dec, &p->cflight);
    rec_dir_clear(&dec);
    dir_from(&p->c_enc, &p->s->hs->run->k13, KS13_C_HS_TRAFFIC, suite_of(p->s), true);
}

static void pair_close(pair *p)
{
    items_free(&p->ch);
    items_free(&p->srecs);
    items_free(&p->sflight);
    items_free(&p->crecs);
    items_free(&p->cflight);
    rec_dir_clear(&p->s_enc);
    rec_dir_clear(&p->c_enc);
    mtls_conn_free(p->c);
    mtls_conn_free(p->s);
    mtls_config_free(p->ccfg);
    mtls_config_free(p->scfg);
}

static const item *find_msg(const items *l, uint8_t type)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].type == type)
            return &l->v[i];
    return NULL;
}

/* A whole connection through the pump; returns its session. */
static mtls_session *full_session(const opts *o)
{
    mtls_config *ccfg = client_cfg(o), *scfg = server_cfg(o);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    mtls_session *sess = mtls_conn_get_session(c);
    CHECK(sess != NULL);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    return sess;
}

/* ---- forging -------------------------------------------------------------------------------- */

/* A handshake message of `type` with `n` bytes of body `b` (zeros when NULL). */
static size_t forge(uint8_t *out, uint8_t type, const uint8_t *b, size_t n)
{
    out[0] = type;
    be24_put(out + 1, (uint32_t)n);
    if (b)
        memcpy(out + 4, b, n);
    else
        memset(out + 4, 0, n);
    return 4 + n;
}

/* How an established receiver reads what it is fed (feed_read): into a buffer that holds a whole
 * record, so that a protected record is decrypted straight into it, or one byte at a time, so
 * that every record is opened in the receive buffer.  after_handshake() runs with both. */
static size_t read_cap = 1;

/* Bytes given to `to` as a transport would, then, once `to` is established, read as its
 * application would: after the handshake mtls_recv_ack leaves a protected record for mtls_read
 * (conn.c), which handles the post-handshake messages and alerts it carries.  The first error;
 * MTLS_OK when none. */
static mtls_err feed_read(mtls_conn *to, const uint8_t *p, size_t n)
{
    mtls_err err = tp_feed(to, p, n, 0);
    if ((err && err != MTLS_ERR_WANT_READ) || !mtls_conn_established(to))
        return err;
    static uint8_t buf[TLS_MAX_PLAINTEXT + 256];
    size_t got;
    do
        err = mtls_read(to, buf, read_cap, &got);
    while (err == MTLS_OK && got > 0);
    return err == MTLS_ERR_WANT_READ ? MTLS_OK : err;
}

/* A record `msg` of `from` sealed with its current write state at the sequence number `to`
 * expects, fed to `to` (after the handshake: the application traffic keys, and read). */
static mtls_err feed_from(mtls_conn *to, mtls_conn *from, uint8_t type, const uint8_t *p, size_t n)
{
    size_t pending;
    mtls_send_buf(from, &pending);
    CHECK_EQ(pending, 0);
    from->rec.out.seq = to->rec.in.seq;
    CHECK_ERR(rec_write(&from->rec, type, p, n), MTLS_OK);
    const uint8_t *out = mtls_send_buf(from, &pending);
    mtls_err err = feed_read(to, out, pending);
    mtls_send_ack(from, pending);
    return err;
}

/* The message types tried in each state, with a body for each. */
typedef struct {
    uint8_t type;
    const char *name;
} mtype;
static const mtype all_types[] = {
    {TLS_HS_HELLO_REQUEST, "HelloRequest"},
    {TLS_HS_CLIENT_HELLO, "ClientHello"},
    {TLS_HS_SERVER_HELLO, "ServerHello"},
    {TLS_HS_NEW_SESSION_TICKET, "NewSessionTicket"},
    {TLS_HS_END_OF_EARLY_DATA, "EndOfEarlyData"},
    {TLS_HS_ENCRYPTED_EXTENSIONS, "EncryptedExtensions"},
    {TLS_HS_CERTIFICATE, "Certificate"},
    {TLS_HS_CERTIFICATE_REQUEST, "CertificateRequest"},
    {TLS_HS_SERVER_KEY_EXCHANGE, "ServerKeyExchange"},
    {TLS_HS_SERVER_HELLO_DONE, "ServerHelloDone"},
    {TLS_HS_CERTIFICATE_VERIFY, "CertificateVerify"},
    {TLS_HS_CLIENT_KEY_EXCHANGE, "ClientKeyExchange"},
    {TLS_HS_FINISHED, "Finished"},
    {TLS_HS_KEY_UPDATE, "KeyUpdate"},
    {TLS_HS_MESSAGE_HASH, "message_hash"},
    {99, "unknown type 99"},
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

/* A message of `type` to inject: the real one of the pair when there is one, else a small body. */
static size_t msg_of(const pair *p, uint8_t type, uint8_t *out)
{
    const item *real = find_msg(&p->sflight, type);
    if (!real)
        real = find_msg(&p->cflight, type);
    if (real) {
        memcpy(out, real->p, real->len);
        return real->len;
    }
    if (type == TLS_HS_CLIENT_HELLO && p->ch.n) {
        memcpy(out, p->ch.v[0].p + 5, p->ch.v[0].len - 5);
        return p->ch.v[0].len - 5;
    }
    if (type == TLS_HS_SERVER_HELLO && p->srecs.n) {
        memcpy(out, p->srecs.v[0].p + 5, p->srecs.v[0].len - 5);
        return p->srecs.v[0].len - 5;
    }
    if (type == TLS_HS_KEY_UPDATE) {
        static const uint8_t zero = 0;
        return forge(out, type, &zero, 1);
    }
    return forge(out, type, NULL, type == TLS_HS_HELLO_REQUEST || type == TLS_HS_END_OF_EARLY_DATA
                                       ? 0
                                       : 8);
}

/* ---- 1. every message in every wrong state -------------------------------------------------- */

typedef struct {
    const char *state;   /* hs_state_name when the injection happens */
    uint8_t ok[2];       /* types the state takes (0 pads; HelloRequest is never taken) */
    int feed;            /* client side: real server messages fed first; server: client's */
    mtls_verify_mode verify;
    bool client_cert, hrr;
} st_case;

static bool takes(const st_case *sc, uint8_t type)
{
    return (sc->ok[0] && sc->ok[0] == type) || (sc->ok[1] && sc->ok[1] == type);
}

static void wrong_states_client(void)
{
    static const st_case cs[] = {
        {"C13_READ_SERVER_HELLO", {TLS_HS_SERVER_HELLO, 0}, -1, MTLS_VERIFY_NONE, false, false},
        {"C13_READ_ENCRYPTED_EXTENSIONS", {TLS_HS_ENCRYPTED_EXTENSIONS, 0}, 0, MTLS_VERIFY_NONE,
         false, false},
        {"C13_READ_CERT_REQUEST_OR_CERT", {TLS_HS_CERTIFICATE_REQUEST, TLS_HS_CERTIFICATE}, 1,
         MTLS_VERIFY_OPTIONAL, false, false},
        {"C13_READ_CERT", {TLS_HS_CERTIFICATE, 0}, 2, MTLS_VERIFY_OPTIONAL, false, false},
        {"C13_READ_CERT_VERIFY", {TLS_HS_CERTIFICATE_VERIFY, 0}, 3, MTLS_VERIFY_OPTIONAL, false,
         false},
        {"C13_READ_FINISHED", {TLS_HS_FINISHED, 0}, 4, MTLS_VERIFY_OPTIONAL, false, false},
    };
    int n = 0;
    for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
        for (size_t t = 0; t < N_TYPES; t++) {
            if (takes(&cs[k], all_types[t].type))
                continue;
            case_begin("client in %s gets %s", cs[k].state, all_types[t].name);
            opts o = {.verify = cs[k].verify};
            pair p;
            open_client_side(&p, &o, NULL);
            static uint8_t m[8192];
            size_t len = msg_of(&p, all_types[t].type, m);
            mtls_err err;
            if (cs[k].feed < 0) {
                /* a fresh client that sent its ClientHello: the message in clear */
                mtls_conn *c = mtls_client_new(p.ccfg, "localhost");
                CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ);
                items drop = {0};
                take_records(c, &drop);
                items_free(&drop);
                CHECK(strcmp(hs_state_name(c->hs), cs[k].state) == 0);
                err = feed_plain(c, TLS_CT_HANDSHAKE, m, len);
                expect_fail(c, NULL, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
                mtls_conn_free(c);
            } else {
                for (int i = 0; i < cs[k].feed; i++)
                    CHECK(fine(feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, p.sflight.v[i].p,
                                           p.sflight.v[i].len)));
                CHECK(strcmp(hs_state_name(p.c->hs), cs[k].state) == 0);
                err = feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, m, len);
                expect_fail(p.c, p.s, err, MTLS_ERR_UNEXPECTED_MESSAGE,
                            TLS_ALERT_UNEXPECTED_MESSAGE);
            }
            pair_close(&p);
            case_end();
            n++;
        }
    }
    printf("wrong state, client: %d (state, message) pairs refused with unexpected_message\n", n);
}

static void wrong_states_server(void)
{
    static const st_case cs[] = {
        {"S13_READ_CLIENT_HELLO", {TLS_HS_CLIENT_HELLO, 0}, -1, MTLS_VERIFY_NONE, false, false},
        {"S13_READ_SECOND_CLIENT_HELLO", {TLS_HS_CLIENT_HELLO, 0}, -2, MTLS_VERIFY_NONE, false,
         true},
        {"S13_READ_CLIENT_CERT", {TLS_HS_CERTIFICATE, 0}, 0, MTLS_VERIFY_OPTIONAL, true, false},
        {"S13_READ_CLIENT_CERT_VERIFY", {TLS_HS_CERTIFICATE_VERIFY, 0}, 1, MTLS_VERIFY_OPTIONAL,
         true, false},
        {"S13_READ_FINISHED", {TLS_HS_FINISHED, 0}, 0, MTLS_VERIFY_NONE, false, false},
    };
    int n = 0;
    for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
        for (size_t t = 0; t < N_TYPES; t++) {
            if (takes(&cs[k], all_types[t].type))
                continue;
            case_begin("server in %s gets %s", cs[k].state, all_types[t].name);
            opts o = {.verify = cs[k].verify, .client_cert = cs[k].client_cert};
            if (cs[k].hrr) {
                o.client_groups = "secp256r1:x25519";
                o.server_groups = "x25519";
            }
            pair p;
            static uint8_t m[8192];
            mtls_err err;
            if (cs[k].feed == -1) {
                open_client_side(&p, &o, NULL);
                size_t len = msg_of(&p, all_types[t].type, m);
                mtls_conn *s = mtls_server_new(p.scfg);
                CHECK(strcmp(hs_state_name(s->hs), cs[k].state) == 0);
                err = feed_plain(s, TLS_CT_HANDSHAKE, m, len);
                expect_fail(s, NULL, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
                mtls_conn_free(s);
            } else if (cs[k].feed == -2) {
                /* after our HelloRetryRequest (the client's first group is not ours) */
                memset(&p, 0, sizeof(p));
                p.ccfg = client_cfg(&o);
                p.scfg = server_cfg(&o);
                p.c = mtls_client_new(p.ccfg, "localhost");
                p.s = mtls_server_new(p.scfg);
                CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK); /* for a real second ClientHello etc. */
                mtls_conn_free(p.c);
                mtls_conn_free(p.s);
                p.c = mtls_client_new(p.ccfg, "localhost");
                p.s = mtls_server_new(p.scfg);
                CHECK_ERR(mtls_handshake(p.c), MTLS_ERR_WANT_READ);
                take_records(p.c, &p.ch);
                tp_feed(p.s, p.ch.v[0].p, p.ch.v[0].len, 0);
                CHECK(strcmp(hs_state_name(p.s->hs), cs[k].state) == 0);
                size_t len = msg_of(&p, all_types[t].type, m);
                err = feed_plain(p.s, TLS_CT_HANDSHAKE, m, len);
                expect_fail(p.s, NULL, err, MTLS_ERR_UNEXPECTED_MESSAGE,
                            TLS_ALERT_UNEXPECTED_MESSAGE);
            } else {
                open_server_side(&p, &o, NULL);
                size_t len = msg_of(&p, all_types[t].type, m);
                for (int i = 0; i < cs[k].feed; i++)
                    CHECK(fine(feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, p.cflight.v[i].p,
                                           p.cflight.v[i].len)));
                CHECK(strcmp(hs_state_name(p.s->hs), cs[k].state) == 0);
                err = feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, m, len);
                expect_fail(p.s, p.c, err, MTLS_ERR_UNEXPECTED_MESSAGE,
                            TLS_ALERT_UNEXPECTED_MESSAGE);
            }
            pair_close(&p);
            case_end();
            n++;
        }
    }
    printf("wrong state, server: %d (state, message) pairs refused with unexpected_message\n", n);
}

/* ---- editing hellos -------------------------------------------------------------------------- */

/* How to edit a ClientHello or ServerHello message (with its header): drop extensions of one
 * type, replace one's data, add one (before pre_shared_key, which stays last, or at the end),
 * repeat one, or change fixed fields. */
typedef struct {
    int drop;                /* a type to leave out; -1: none */
    int replace;             /* a type whose data becomes `data`; -1: none */
    int add;                 /* a type to add with `data`; -1: none */
    int twice;               /* a type to repeat; -1: none */
    bool add_first;          /* put the added one first (before pre_shared_key too) */
    const uint8_t *data;
    size_t data_len;
    int version;             /* legacy_version; -1: keep */
    const uint8_t *suites;   /* new cipher_suites content, NULL: keep */
    size_t suites_len;
    const uint8_t *comp;     /* new compression methods (ClientHello), NULL: keep */
    size_t comp_len;
    int sid_flip;            /* flip a bit of the session id (echo) */
} edit;
#define EDIT_NONE {-1, -1, -1, -1, false, NULL, 0, -1, NULL, 0, NULL, 0, 0}

/* The edited message into out (cap 64 KiB); returns its length. */
static size_t edit_hello(const uint8_t *m, size_t len, const edit *ed, uint8_t *out)
{
    bool client = m[0] == TLS_HS_CLIENT_HELLO;
    rd r = rd_init(m + 4, len - 4), sid, suites, comp, exts = {NULL, 0};
    uint16_t version, suite = 0;
    uint8_t random[32], cm = 0;
    rd_u16(&r, &version);
    rd_copy(&r, random, 32);
    rd_vec8(&r, &sid);
    if (client) {
        rd_vec16(&r, &suites);
        rd_vec8(&r, &comp);
    } else {
        rd_u16(&r, &suite);
        rd_u8(&r, &cm);
    }
    if (r.n)
        rd_vec16(&r, &exts);
    wr w = wr_fixed(out, 65536);
    wr_u8(&w, m[0]);
    size_t body = wr_open_u24(&w);
    wr_u16(&w, ed->version >= 0 ? (uint16_t)ed->version : version);
    wr_bytes(&w, random, 32);
    size_t v = wr_open_u8(&w);
    wr_bytes(&w, sid.p, sid.n);
    if (ed->sid_flip && sid.n)
        out[w.len - 1] ^= 1;
    wr_close_u8(&w, v);
    if (client) {
        v = wr_open_u16(&w);
        if (ed->suites)
            wr_bytes(&w, ed->suites, ed->suites_len);
        else
            wr_bytes(&w, suites.p, suites.n);
        wr_close_u16(&w, v);
        v = wr_open_u8(&w);
        if (ed->comp)
            wr_bytes(&w, ed->comp, ed->comp_len);
        else
            wr_bytes(&w, comp.p, comp.n);
        wr_close_u8(&w, v);
    } else {
        wr_u16(&w, ed->suites ? be16_get(ed->suites) : suite);
        wr_u8(&w, cm);
    }
    size_t block = wr_open_u16(&w);
    bool added = false;
    if (ed->add >= 0 && ed->add_first) {
        wr_u16(&w, (uint16_t)ed->add);
        v = wr_open_u16(&w);
        wr_bytes(&w, ed->data, ed->data_len);
        wr_close_u16(&w, v);
        added = true;
    }
    while (exts.n) {
        uint16_t type;
        rd data;
        rd_u16(&exts, &type);
        rd_vec16(&exts, &data);
        if (ed->add >= 0 && !added && type == TLS_EXT_PRE_SHARED_KEY) {
            wr_u16(&w, (uint16_t)ed->add);
            v = wr_open_u16(&w);
            wr_bytes(&w, ed->data, ed->data_len);
            wr_close_u16(&w, v);
            added = true;
        }
        if (type == ed->drop)
            continue;
        for (int k = 0; k < (type == ed->twice ? 2 : 1); k++) {
            wr_u16(&w, type);
            v = wr_open_u16(&w);
            if (type == ed->replace)
                wr_bytes(&w, ed->data, ed->data_len);
            else
                wr_bytes(&w, data.p, data.n);
            wr_close_u16(&w, v);
        }
    }
    if (ed->add >= 0 && !added) {
        wr_u16(&w, (uint16_t)ed->add);
        v = wr_open_u16(&w);
        wr_bytes(&w, ed->data, ed->data_len);
        wr_close_u16(&w, v);
    }
    wr_close_u16(&w, block);
    wr_close_u24(&w, body);
    CHECK(wr_ok(&w));
    return w.len;
}

/* The client's ClientHello (record payload) of a pair, as a message. */
static const uint8_t *ch_msg(const pair *p, size_t *len)
{
    *len = p->ch.v[0].len - TLS_RECORD_HEADER;
    return p->ch.v[0].p + TLS_RECORD_HEADER;
}
static const uint8_t *sh_msg(const pair *p, size_t *len)
{
    *len = p->srecs.v[0].len - TLS_RECORD_HEADER;
    return p->srecs.v[0].p + TLS_RECORD_HEADER;
}

/* A client that has sent its ClientHello, and the server's answer (records in srecs) to it;
 * nothing given to the client yet. */
static void open_to_server_hello(pair *p, const opts *o, mtls_session *offer)
{
    memset(p, 0, sizeof(*p));
    p->ccfg = client_cfg(o);
    p->scfg = server_cfg(o);
    p->c = mtls_client_new(p->ccfg, "localhost");
    p->s = mtls_server_new(p->scfg);
    if (offer)
        CHECK_ERR(mtls_conn_set_session(p->c, offer), MTLS_OK);
    CHECK_ERR(mtls_handshake(p->c), MTLS_ERR_WANT_READ);
    take_records(p->c, &p->ch);
    for (size_t i = 0; i < p->ch.n; i++)
        tp_feed(p->s, p->ch.v[i].p, p->ch.v[i].len, 0);
    take_records(p->s, &p->srecs);
}

/* A fresh server given one ClientHello message in clear. */
static mtls_err server_gets(pair *p, const uint8_t *m, size_t len, mtls_conn **out)
{
    *out = mtls_server_new(p->scfg);
    return feed_plain(*out, TLS_CT_HANDSHAKE, m, len);
}

/* ---- 2. truncations and one byte more ------------------------------------------------------- */

/* `m` one byte short (last byte gone) or one byte long (a zero added), the length fixed up. */
static size_t reshape(const uint8_t *m, size_t len, int delta, uint8_t *out)
{
    memcpy(out, m, len);
    if (delta > 0)
        out[len] = 0;
    size_t n = (size_t)((long)len + delta);
    be24_put(out + 1, (uint32_t)(n - 4));
    return n;
}

static void truncations(void)
{
    int n = 0;
    static uint8_t m[65536];
    for (int delta = -1; delta <= 1; delta += 2) {
        /* the server's messages, the client receiving */
        opts o = {.verify = MTLS_VERIFY_OPTIONAL};
        pair p0;
        open_client_side(&p0, &o, NULL);
        size_t nmsgs = p0.sflight.n;
        pair_close(&p0);
        for (size_t k = 0; k <= nmsgs; k++) { /* k == 0: the ServerHello */
            pair p;
            open_to_server_hello(&p, &o, NULL);
            size_t len;
            const uint8_t *sh = sh_msg(&p, &len);
            mtls_err err;
            if (k == 0) {
                case_begin("ServerHello %s", delta < 0 ? "one byte short" : "one byte more");
                err = feed_plain(p.c, TLS_CT_HANDSHAKE, m, reshape(sh, len, delta, m));
            } else {
                pair_close(&p);
                open_client_side(&p, &o, NULL);
                for (size_t i = 0; i + 1 < k; i++)
                    feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, p.sflight.v[i].p,
                                p.sflight.v[i].len);
                const item *it = &p.sflight.v[k - 1];
                case_begin("server %s %s", hs_msg_name(it->type),
                           delta < 0 ? "one byte short" : "one byte more");
                err = feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, m,
                                  reshape(it->p, it->len, delta, m));
            }
            expect_fail(p.c, p.s, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
            pair_close(&p);
            case_end();
            n++;
        }
        /* the client's messages, the server receiving */
        o.client_cert = true;
        open_server_side(&p0, &o, NULL);
        nmsgs = p0.cflight.n;
        pair_close(&p0);
        for (size_t k = 0; k <= nmsgs; k++) { /* k == 0: the ClientHello */
            pair p;
            mtls_err err;
            if (k == 0) {
                open_to_server_hello(&p, &o, NULL);
                size_t len;
                const uint8_t *ch = ch_msg(&p, &len);
                case_begin("ClientHello %s", delta < 0 ? "one byte short" : "one byte more");
                mtls_conn *s;
                err = server_gets(&p, m, reshape(ch, len, delta, m), &s);
                expect_fail(s, NULL, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
                mtls_conn_free(s);
            } else {
                open_server_side(&p, &o, NULL);
                for (size_t i = 0; i + 1 < k; i++)
                    feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, p.cflight.v[i].p,
                                p.cflight.v[i].len);
                const item *it = &p.cflight.v[k - 1];
                case_begin("client %s %s", hs_msg_name(it->type),
                           delta < 0 ? "one byte short" : "one byte more");
                err = feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, m,
                                  reshape(it->p, it->len, delta, m));
                expect_fail(p.s, p.c, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
            }
            pair_close(&p);
            case_end();
            n++;
        }
    }
    /* A Finished announcing more than our 128 KiB cap: verify_data is Hash.length bytes (RFC 8446
     * 4.4.4), so the header alone shows the message is malformed -- decode_error, not the
     * handshake_failure of a message we merely will not buffer (tlsfuzzer's test-tls13-finished,
     * "pad_right 196608" and the 16 MB ones).  Only the header and the start of the body go in. */
    for (int server = 0; server < 2; server++) {
        opts o = {0};
        pair p;
        if (server) {
            open_server_side(&p, &o, NULL);
        } else {
            open_client_side(&p, &o, NULL); /* the server's flight up to its Finished */
            for (size_t i = 0; i + 1 < p.sflight.n; i++)
                feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, p.sflight.v[i].p, p.sflight.v[i].len);
        }
        case_begin("%s Finished announcing 0x30000 bytes", server ? "client" : "server");
        uint8_t big[4 + 64] = {TLS_HS_FINISHED};
        be24_put(big + 1, 0x30000);
        mtls_err err = server ? feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, big, sizeof(big))
                              : feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, big, sizeof(big));
        expect_fail(server ? p.s : p.c, NULL, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
        pair_close(&p);
        case_end();
        n++;
    }
    printf("truncation: %d messages one byte short or long refused with decode_error\n", n);
}

/* ---- 3. wrong values ------------------------------------------------------------------------- */

/* One case: the client given the server's messages with message `which` edited by `fn`. */
static void flip_last(uint8_t *m, size_t len)
{
    m[len - 1] ^= 0x40;
}

static void bad_values(void)
{
    static uint8_t m[65536];
    opts mutual = {.verify = MTLS_VERIFY_REQUIRE, .client_cert = true};
    /* Finished and CertificateVerify, both roles: decrypt_error */
    static const uint8_t types[] = {TLS_HS_CERTIFICATE_VERIFY, TLS_HS_FINISHED};
    for (size_t t = 0; t < 2; t++) {
        pair p;
        open_client_side(&p, &mutual, NULL);
        case_begin("server %s with a flipped bit", hs_msg_name(types[t]));
        mtls_err err = MTLS_OK;
        for (size_t i = 0; i < p.sflight.n; i++) {
            const item *it = &p.sflight.v[i];
            memcpy(m, it->p, it->len);
            if (it->type == types[t])
                flip_last(m, it->len);
            err = feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, m, it->len);
            if (it->type == types[t])
                break;
        }
        expect_fail(p.c, p.s, err,
                    types[t] == TLS_HS_FINISHED ? MTLS_ERR_BAD_FINISHED : MTLS_ERR_BAD_SIGNATURE,
                    TLS_ALERT_DECRYPT_ERROR);
        pair_close(&p);
        case_end();

        open_server_side(&p, &mutual, NULL);
        case_begin("client %s with a flipped bit", hs_msg_name(types[t]));
        for (size_t i = 0; i < p.cflight.n; i++) {
            const item *it = &p.cflight.v[i];
            memcpy(m, it->p, it->len);
            if (it->type == types[t])
                flip_last(m, it->len);
            err = feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, m, it->len);
            if (it->type == types[t])
                break;
        }
        expect_fail(p.s, p.c, err,
                    types[t] == TLS_HS_FINISHED ? MTLS_ERR_BAD_FINISHED : MTLS_ERR_BAD_SIGNATURE,
                    TLS_ALERT_DECRYPT_ERROR);
        pair_close(&p);
        case_end();
    }
    /* a PSK binder that does not verify: the ticket opens, the binder is wrong */
    {
        opts o = {0};
        mtls_session *sess = full_session(&o);
        pair p;
        open_to_server_hello(&p, &o, sess);
        size_t len;
        const uint8_t *ch = ch_msg(&p, &len);
        memcpy(m, ch, len);
        flip_last(m, len); /* the binder ends the ClientHello */
        case_begin("ClientHello with a wrong PSK binder");
        mtls_conn *s;
        mtls_err err = server_gets(&p, m, len, &s);
        expect_fail(s, NULL, err, MTLS_ERR_BAD_FINISHED, TLS_ALERT_DECRYPT_ERROR);
        mtls_conn_free(s);
        /* the unedited one resumes */
        CHECK(p.s->hs->run && p.s->info.resumed);
        case_end();
        pair_close(&p);
        mtls_session_free(sess);
    }
    /* what the client checks in the ServerHello */
    struct {
        const char *what;
        edit ed;
        mtls_err want;
        int alert;
    } sh_cases[] = {
        {"ServerHello with a key share for a group we sent none for", EDIT_NONE,
         MTLS_ERR_UNOFFERED_GROUP, TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello with a suite we did not offer", EDIT_NONE, MTLS_ERR_UNOFFERED_SUITE,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello with a TLS 1.2 suite", EDIT_NONE, MTLS_ERR_UNOFFERED_SUITE,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello whose session id is not our echo", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello with pre_shared_key we did not offer", EDIT_NONE,
         MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION},
        {"ServerHello with server_name (EncryptedExtensions' place)", EDIT_NONE,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello with an unknown extension", EDIT_NONE, MTLS_ERR_UNOFFERED_EXTENSION,
         TLS_ALERT_UNSUPPORTED_EXTENSION},
        {"ServerHello with key_share twice", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello without key_share", EDIT_NONE, MTLS_ERR_MISSING_EXTENSION,
         TLS_ALERT_MISSING_EXTENSION},
        {"ServerHello with supported_versions 0x0303", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ServerHello with legacy_version 0x0304", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
    };
    static const uint8_t p384_share[] = {0x00, 0x18, 0x00, 0x01, 0x04};
    static const uint8_t suite_1302[] = {0x13, 0x02}, suite_c02b[] = {0xc0, 0x2b};
    static const uint8_t psk0[] = {0, 0}, empty[] = {0}, v12[] = {3, 3};
    sh_cases[0].ed.replace = TLS_EXT_KEY_SHARE;
    sh_cases[0].ed.data = p384_share;
    sh_cases[0].ed.data_len = sizeof(p384_share);
    sh_cases[1].ed.suites = suite_1302;
    sh_cases[2].ed.suites = suite_c02b;
    sh_cases[3].ed.sid_flip = 1;
    sh_cases[4].ed.add = TLS_EXT_PRE_SHARED_KEY;
    sh_cases[4].ed.data = psk0;
    sh_cases[4].ed.data_len = 2;
    sh_cases[5].ed.add = TLS_EXT_SERVER_NAME;
    sh_cases[5].ed.data = empty;
    sh_cases[6].ed.add = 0x7777;
    sh_cases[6].ed.data = empty;
    sh_cases[7].ed.twice = TLS_EXT_KEY_SHARE;
    sh_cases[8].ed.drop = TLS_EXT_KEY_SHARE;
    sh_cases[9].ed.replace = TLS_EXT_SUPPORTED_VERSIONS;
    sh_cases[9].ed.data = v12;
    sh_cases[9].ed.data_len = 2;
    sh_cases[10].ed.version = MTLS_VERSION_TLS13;
    for (size_t k = 0; k < sizeof(sh_cases) / sizeof(sh_cases[0]); k++) {
        opts o = {.client_groups = "x25519:secp256r1:secp384r1"};
        static const char only_1301[] = "TLS_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
        pair p;
        open_to_server_hello(&p, &o, NULL);
        if (k == 1 || k == 2) { /* a client that offers TLS_AES_128_GCM_SHA256 alone */
            pair_close(&p);
            memset(&p, 0, sizeof(p));
            p.ccfg = client_cfg(&o);
            CHECK_ERR(mtls_config_set_ciphers(p.ccfg, only_1301), MTLS_OK);
            p.scfg = server_cfg(&o);
            p.c = mtls_client_new(p.ccfg, "localhost");
            p.s = mtls_server_new(p.scfg);
            CHECK_ERR(mtls_handshake(p.c), MTLS_ERR_WANT_READ);
            take_records(p.c, &p.ch);
            tp_feed(p.s, p.ch.v[0].p, p.ch.v[0].len, 0);
            take_records(p.s, &p.srecs);
        }
        case_begin("%s", sh_cases[k].what);
        size_t len;
        const uint8_t *sh = sh_msg(&p, &len);
        size_t n = edit_hello(sh, len, &sh_cases[k].ed, m);
        mtls_err err = feed_plain(p.c, TLS_CT_HANDSHAKE, m, n);
        expect_fail(p.c, NULL, err, sh_cases[k].want, sh_cases[k].alert);
        pair_close(&p);
        case_end();
    }
    /* what the client checks in EncryptedExtensions */
    struct {
        const char *what;
        uint16_t type;
        int twice;
        mtls_err want;
        int alert;
    } ee_cases[] = {
        {"EncryptedExtensions with key_share (not its place)", TLS_EXT_KEY_SHARE, 0,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"EncryptedExtensions with supported_versions", TLS_EXT_SUPPORTED_VERSIONS, 0,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"EncryptedExtensions with signature_algorithms", TLS_EXT_SIGNATURE_ALGORITHMS, 0,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"EncryptedExtensions with extended_master_secret", TLS_EXT_EXTENDED_MASTER_SECRET, 0,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"EncryptedExtensions with an unknown extension", 0x7777, 0, MTLS_ERR_UNOFFERED_EXTENSION,
         TLS_ALERT_UNSUPPORTED_EXTENSION},
        {"EncryptedExtensions with ALPN we did not offer", TLS_EXT_ALPN, 0,
         MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION},
        {"EncryptedExtensions with early_data we did not offer", TLS_EXT_EARLY_DATA, 0,
         MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION},
        {"EncryptedExtensions with server_name twice", TLS_EXT_SERVER_NAME, 1,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
    };
    for (size_t k = 0; k < sizeof(ee_cases) / sizeof(ee_cases[0]); k++) {
        opts o = {0};
        pair p;
        open_client_side(&p, &o, NULL);
        case_begin("%s", ee_cases[k].what);
        static const uint8_t alpn_h2[] = {0, 3, 2, 'h', '2'};
        wr w = wr_fixed(m, sizeof(m));
        wr_u8(&w, TLS_HS_ENCRYPTED_EXTENSIONS);
        size_t b = wr_open_u24(&w);
        size_t l = wr_open_u16(&w);
        for (int i = 0; i <= ee_cases[k].twice; i++) {
            wr_u16(&w, ee_cases[k].type);
            if (ee_cases[k].type == TLS_EXT_ALPN) {
                wr_u16(&w, sizeof(alpn_h2));
                wr_bytes(&w, alpn_h2, sizeof(alpn_h2));
            } else {
                wr_u16(&w, 0);
            }
        }
        wr_close_u16(&w, l);
        wr_close_u24(&w, b);
        mtls_err err = feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, m, w.len);
        expect_fail(p.c, p.s, err, ee_cases[k].want, ee_cases[k].alert);
        pair_close(&p);
        case_end();
    }
    /* what the server checks in a TLS 1.3 ClientHello */
    struct {
        const char *what;
        edit ed;
        mtls_err want;
        int alert;
    } ch_cases[] = {
        {"ClientHello with supported_groups twice", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ClientHello with supported_groups but no key_share", EDIT_NONE,
         MTLS_ERR_MISSING_EXTENSION, TLS_ALERT_MISSING_EXTENSION},
        {"ClientHello without signature_algorithms", EDIT_NONE, MTLS_ERR_MISSING_EXTENSION,
         TLS_ALERT_MISSING_EXTENSION},
        {"ClientHello with a key share for a group it does not offer", EDIT_NONE,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"ClientHello with two key shares for one group", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ClientHello with pre_shared_key not last", EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ClientHello with pre_shared_key but no psk_key_exchange_modes", EDIT_NONE,
         MTLS_ERR_MISSING_EXTENSION, TLS_ALERT_MISSING_EXTENSION},
        {"TLS 1.3 ClientHello offering compression", EDIT_NONE, MTLS_ERR_BAD_COMPRESSION,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ClientHello with legacy_version 0x0300", EDIT_NONE, MTLS_ERR_PROTOCOL_VERSION,
         TLS_ALERT_PROTOCOL_VERSION},
        {"ClientHello with an empty key share", EDIT_NONE, MTLS_ERR_BAD_KEY_SHARE,
         TLS_ALERT_ILLEGAL_PARAMETER},
        {"ClientHello offering only TLS 1.3 suites we do not have", EDIT_NONE,
         MTLS_ERR_NO_SHARED_CIPHER, TLS_ALERT_HANDSHAKE_FAILURE},
        /* 4.2.8 for a group we do not implement either (secp192r1: tlsfuzzer's
         * test-tls13-obsolete-curves, "inconsistent extensions") */
        {"ClientHello with a key share for a group it does not offer, nor we implement",
         EDIT_NONE, MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        /* 4.2.3: a pre-shared key we do not take leaves certificates, which need
         * signature_algorithms (tlsfuzzer's test-tls13-psk_dhe_ke with an external PSK) */
        {"ClientHello with a pre_shared_key we do not know and no signature_algorithms",
         EDIT_NONE, MTLS_ERR_MISSING_EXTENSION, TLS_ALERT_MISSING_EXTENSION},
    };
    static const uint8_t ks_p384[] = {0, 5, 0x00, 0x18, 0x00, 0x01, 0x04};
    static const uint8_t ks_twice[] = {0, 10, 0x00, 0x1d, 0x00, 0x01, 0x09,
                                       0x00, 0x1d, 0x00, 0x01, 0x09};
    static const uint8_t ks_empty[] = {0, 4, 0x00, 0x1d, 0x00, 0x00};
    static const uint8_t fake_psk[] = {0, 15, 0, 9, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
                                       0, 0, 0, 0};
    static const uint8_t comp2[] = {0, 1}, ccm[] = {0x13, 0x04, 0x13, 0x05};
    static const uint8_t ks_p192[] = {0, 5, 0x00, 0x13, 0x00, 0x01, 0x04};
    /* an identity that is no ticket of ours, and a 32-byte binder */
    static const uint8_t unknown_psk[2 + 15 + 2 + 33] = {
        0, 15, 0, 9, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 0, 0, 0, 0, 0, 33, 32};
    ch_cases[0].ed.twice = TLS_EXT_SUPPORTED_GROUPS;
    ch_cases[1].ed.drop = TLS_EXT_KEY_SHARE;
    ch_cases[2].ed.drop = TLS_EXT_SIGNATURE_ALGORITHMS;
    ch_cases[3].ed.replace = TLS_EXT_KEY_SHARE;
    ch_cases[3].ed.data = ks_p384;
    ch_cases[3].ed.data_len = sizeof(ks_p384);
    ch_cases[4].ed.replace = TLS_EXT_KEY_SHARE;
    ch_cases[4].ed.data = ks_twice;
    ch_cases[4].ed.data_len = sizeof(ks_twice);
    ch_cases[5].ed.add = TLS_EXT_PRE_SHARED_KEY;
    ch_cases[5].ed.add_first = true;
    ch_cases[5].ed.data = fake_psk;
    ch_cases[5].ed.data_len = sizeof(fake_psk);
    ch_cases[6].ed.drop = TLS_EXT_PSK_KEY_EXCHANGE_MODES;
    ch_cases[6].ed.add = TLS_EXT_PRE_SHARED_KEY;
    ch_cases[6].ed.data = fake_psk;
    ch_cases[6].ed.data_len = sizeof(fake_psk);
    ch_cases[7].ed.comp = comp2;
    ch_cases[7].ed.comp_len = 2;
    ch_cases[8].ed.version = 0x0300;
    ch_cases[9].ed.replace = TLS_EXT_KEY_SHARE;
    ch_cases[9].ed.data = ks_empty;
    ch_cases[9].ed.data_len = sizeof(ks_empty);
    ch_cases[10].ed.suites = ccm;
    ch_cases[10].ed.suites_len = sizeof(ccm);
    ch_cases[11].ed.replace = TLS_EXT_KEY_SHARE;
    ch_cases[11].ed.data = ks_p192;
    ch_cases[11].ed.data_len = sizeof(ks_p192);
    ch_cases[12].ed.drop = TLS_EXT_SIGNATURE_ALGORITHMS;
    ch_cases[12].ed.add = TLS_EXT_PRE_SHARED_KEY;
    ch_cases[12].ed.data = unknown_psk;
    ch_cases[12].ed.data_len = sizeof(unknown_psk);
    for (size_t k = 0; k < sizeof(ch_cases) / sizeof(ch_cases[0]); k++) {
        opts o = {.client_groups = "x25519"};
        pair p;
        open_to_server_hello(&p, &o, NULL);
        case_begin("%s", ch_cases[k].what);
        size_t len;
        const uint8_t *ch = ch_msg(&p, &len);
        size_t n = edit_hello(ch, len, &ch_cases[k].ed, m);
        mtls_conn *s;
        mtls_err err = server_gets(&p, m, n, &s);
        expect_fail(s, NULL, err, ch_cases[k].want, ch_cases[k].alert);
        mtls_conn_free(s);
        pair_close(&p);
        case_end();
    }
    printf("wrong values: Finished, CertificateVerify, binder; ServerHello, EncryptedExtensions and "
           "ClientHello contents refused with their alerts\n");
}

/* ---- 4. HelloRetryRequest ------------------------------------------------------------------- */

/* A HelloRetryRequest answering the pair's ClientHello with these extensions (already built). */
static size_t forge_hrr(const pair *p, const uint8_t *exts, size_t n, uint8_t *out)
{
    size_t len;
    const uint8_t *ch = ch_msg(p, &len);
    rd r = rd_init(ch + 4 + 2 + 32, len - 4 - 2 - 32), sid;
    rd_vec8(&r, &sid);
    struct msg_server_hello hrr = {.server_version = MTLS_VERSION_TLS12,
                                   .session_id = sid,
                                   .cipher_suite = MTLS_TLS_AES_128_GCM_SHA256,
                                   .extensions = rd_init(exts, n)};
    memcpy(hrr.random, msg_hrr_random, 32);
    wr w = wr_fixed(out, 4096);
    wr_u8(&w, TLS_HS_SERVER_HELLO);
    size_t b = wr_open_u24(&w);
    msg_server_hello_build(&w, &hrr);
    wr_close_u24(&w, b);
    return w.len;
}

static void hello_retry(void)
{
    static uint8_t m[65536], e[256];
    opts hrr = {.client_groups = "secp256r1:x25519", .server_groups = "x25519"};
    /* the client: a second HelloRetryRequest */
    {
        pair p;
        open_to_server_hello(&p, &hrr, NULL);
        case_begin("a second HelloRetryRequest");
        CHECK(find_msg(&p.srecs, TLS_CT_HANDSHAKE) != NULL);
        const item *h = &p.srecs.v[0];
        CHECK(fine(tp_feed(p.c, h->p, h->len, 0)));
        items ch2 = {0};
        take_records(p.c, &ch2);
        CHECK(ch2.n >= 1); /* CCS and the second ClientHello */
        items_free(&ch2);
        mtls_err err = tp_feed(p.c, h->p, h->len, 0);
        expect_fail(p.c, NULL, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        pair_close(&p);
        case_end();
    }
    /* the client: HelloRetryRequests that change nothing, or ask for what cannot be */
    struct {
        const char *what;
        int group;  /* selected_group, -1: none */
        bool cookie;
        mtls_err want;
    } hc[] = {
        {"HelloRetryRequest with neither key_share nor cookie", -1, false,
         MTLS_ERR_ILLEGAL_PARAMETER},
        {"HelloRetryRequest for the group we sent a share for", MTLS_GROUP_SECP256R1, false,
         MTLS_ERR_ILLEGAL_PARAMETER},
        {"HelloRetryRequest for a group we did not offer", MTLS_GROUP_SECP384R1, false,
         MTLS_ERR_ILLEGAL_PARAMETER},
        {"HelloRetryRequest with a cookie only (accepted: the hello changes)", -1, true,
         MTLS_OK},
    };
    for (size_t k = 0; k < sizeof(hc) / sizeof(hc[0]); k++) {
        pair p;
        open_to_server_hello(&p, &hrr, NULL);
        case_begin("%s", hc[k].what);
        wr w = wr_fixed(e, sizeof(e));
        ext_version_build(&w, MTLS_VERSION_TLS13);
        if (hc[k].group >= 0)
            ext_key_share_hrr_build(&w, (uint16_t)hc[k].group);
        if (hc[k].cookie) {
            static const uint8_t c[4] = {1, 2, 3, 4};
            ext_cookie_build(&w, rd_init(c, 4));
        }
        size_t n = forge_hrr(&p, e, w.len, m);
        mtls_err err = feed_plain(p.c, TLS_CT_HANDSHAKE, m, n);
        if (hc[k].want) {
            expect_fail(p.c, NULL, err, hc[k].want, TLS_ALERT_ILLEGAL_PARAMETER);
        } else {
            CHECK(fine(err));
            items ch2 = {0};
            take_records(p.c, &ch2);
            /* the second ClientHello echoes the cookie */
            const item *last = ch2.n ? &ch2.v[ch2.n - 1] : NULL;
            CHECK(last && last->type == TLS_CT_HANDSHAKE);
            if (last) {
                struct msg_client_hello ch;
                rd body = rd_init(last->p + 9, last->len - 9);
                CHECK_ERR(msg_client_hello_parse(&body, &ch), MTLS_OK);
                CHECK(ch.exts.cookie.present && ch.exts.cookie.data.n == 6 &&
                      memcmp(ch.exts.cookie.data.p + 2, "\1\2\3\4", 4) == 0);
            }
            items_free(&ch2);
        }
        pair_close(&p);
        case_end();
    }
    /* the server: the second ClientHello must echo the cookie, bring the share asked for, and
     * otherwise be the first one */
    struct {
        const char *what;
        edit ed;
    } sc[] = {
        {"second ClientHello without the cookie", EDIT_NONE},
        {"second ClientHello without the key share asked for", EDIT_NONE},
        {"second ClientHello with another cookie", EDIT_NONE},
        {"second ClientHello that drops an extension of the first", EDIT_NONE},
        {"second ClientHello with other suites", EDIT_NONE},
        {"second ClientHello with early_data", EDIT_NONE},
    };
    static const uint8_t no_shares[] = {0, 0}, other_cookie[] = {0, 4, 9, 9, 9, 9};
    static const uint8_t suites2[] = {0x13, 0x01};
    sc[0].ed.drop = TLS_EXT_COOKIE;
    sc[1].ed.replace = TLS_EXT_KEY_SHARE;
    sc[1].ed.data = no_shares;
    sc[1].ed.data_len = 2;
    sc[2].ed.replace = TLS_EXT_COOKIE;
    sc[2].ed.data = other_cookie;
    sc[2].ed.data_len = sizeof(other_cookie);
    sc[3].ed.drop = TLS_EXT_SIGNATURE_ALGORITHMS;
    sc[4].ed.suites = suites2;
    sc[4].ed.suites_len = 2;
    sc[5].ed.add = TLS_EXT_EARLY_DATA;
    sc[5].ed.data = no_shares;
    sc[5].ed.data_len = 0;
    for (size_t k = 0; k < sizeof(sc) / sizeof(sc[0]); k++) {
        pair p;
        open_to_server_hello(&p, &hrr, NULL);
        /* the client answers the real HelloRetryRequest */
        CHECK(fine(tp_feed(p.c, p.srecs.v[0].p, p.srecs.v[0].len, 0)));
        items ch2 = {0};
        take_records(p.c, &ch2);
        const item *last = &ch2.v[ch2.n - 1];
        CHECK(strcmp(hs_state_name(p.s->hs), "S13_READ_SECOND_CLIENT_HELLO") == 0);
        case_begin("%s", sc[k].what);
        size_t n = edit_hello(last->p + 5, last->len - 5, &sc[k].ed, m);
        mtls_err err = feed_plain(p.s, TLS_CT_HANDSHAKE, m, n);
        expect_fail(p.s, NULL, err, MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER);
        items_free(&ch2);
        pair_close(&p);
        case_end();
    }
    printf("HelloRetryRequest: a second one, ones that change nothing or the impossible, and "
           "second ClientHellos that do not follow it, refused\n");
}

/* ---- 5. ChangeCipherSpec ---------------------------------------------------------------------- */

static void change_cipher_spec(void)
{
    static const uint8_t one = 1, two = 2;
    opts o = {0};
    pair p;
    /* before the first ClientHello */
    open_to_server_hello(&p, &o, NULL);
    case_begin("ChangeCipherSpec before the ClientHello");
    mtls_conn *s = mtls_server_new(p.scfg);
    expect_fail(s, NULL, feed_plain(s, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1),
                MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    mtls_conn_free(s);
    case_end();
    /* the client: one dropped (the server's, after its ServerHello), a second refused */
    case_begin("a second ChangeCipherSpec from the server");
    bool ccs = false;
    for (size_t i = 0; i < p.srecs.n && p.srecs.v[i].type != TLS_CT_APPLICATION_DATA; i++) {
        ccs |= p.srecs.v[i].type == TLS_CT_CHANGE_CIPHER_SPEC;
        CHECK(fine(tp_feed(p.c, p.srecs.v[i].p, p.srecs.v[i].len, 0)));
    }
    CHECK(ccs);
    expect_fail(p.c, NULL, feed_plain(p.c, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1),
                MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* the client: one before the ServerHello is dropped too (RFC 8446 5: "at any time after the
     * first ClientHello message has been sent") */
    open_to_server_hello(&p, &o, NULL);
    case_begin("ChangeCipherSpec before the ServerHello");
    CHECK(fine(feed_plain(p.c, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1)));
    for (size_t i = 0; i < p.srecs.n; i++)
        if (p.srecs.v[i].type != TLS_CT_CHANGE_CIPHER_SPEC) /* the server's, a second one */
            CHECK(fine(tp_feed(p.c, p.srecs.v[i].p, p.srecs.v[i].len, 0)));
    CHECK(mtls_conn_established(p.c));
    pair_close(&p);
    case_end();
    /* the client after a HelloRetryRequest: the server's ChangeCipherSpec after it, and one more
     * after the ServerHello that follows, as JSSE's servers (Java 17) send them, are dropped
     * (RFC 8446 5); a third is refused */
    for (int third = 0; third <= 1; third++) {
        opts hrr = {.client_groups = "x25519:secp256r1", .server_groups = "secp256r1"};
        open_to_server_hello(&p, &hrr, NULL);
        case_begin(third ? "a third ChangeCipherSpec after a HelloRetryRequest"
                         : "ChangeCipherSpecs after the HelloRetryRequest and the ServerHello");
        CHECK(p.srecs.n == 2 && p.srecs.v[1].type == TLS_CT_CHANGE_CIPHER_SPEC);
        for (size_t i = 0; i < p.srecs.n; i++) /* HelloRetryRequest, ChangeCipherSpec */
            CHECK(fine(tp_feed(p.c, p.srecs.v[i].p, p.srecs.v[i].len, 0)));
        items ch2 = {0}, sh2 = {0};
        take_records(p.c, &ch2); /* our ChangeCipherSpec, the second ClientHello */
        for (size_t i = 0; i < ch2.n; i++)
            CHECK(fine(tp_feed(p.s, ch2.v[i].p, ch2.v[i].len, 0)));
        take_records(p.s, &sh2); /* ServerHello, then the protected flight */
        CHECK(sh2.n >= 2 && sh2.v[0].type == TLS_CT_HANDSHAKE);
        CHECK(fine(tp_feed(p.c, sh2.v[0].p, sh2.v[0].len, 0)));
        CHECK(fine(feed_plain(p.c, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1)));
        if (third) {
            expect_fail(p.c, NULL, feed_plain(p.c, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1),
                        MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        } else {
            for (size_t i = 1; i < sh2.n; i++)
                CHECK(fine(tp_feed(p.c, sh2.v[i].p, sh2.v[i].len, 0)));
            CHECK(mtls_conn_established(p.c));
        }
        items_free(&ch2);
        items_free(&sh2);
        pair_close(&p);
        case_end();
    }
    /* the server: a value other than 1 */
    open_server_side(&p, &o, NULL);
    case_begin("ChangeCipherSpec of value 2");
    expect_fail(p.s, NULL, feed_plain(p.s, TLS_CT_CHANGE_CIPHER_SPEC, &two, 1),
                MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* (a protected one: test_record13, the record layer refuses it) */
    /* the server: after the handshake (its window closed with the client's Finished) */
    open_client_side(&p, &o, NULL);
    case_begin("ChangeCipherSpec after the handshake");
    mtls_conn_free(p.c);
    mtls_conn_free(p.s);
    p.c = mtls_client_new(p.ccfg, "localhost");
    p.s = mtls_server_new(p.scfg);
    CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
    expect_fail(p.s, NULL, feed_plain(p.s, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1),
                MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* an unprotected handshake record once the keys are on */
    open_client_side(&p, &o, NULL);
    case_begin("EncryptedExtensions in clear after the ServerHello");
    expect_fail(p.c, NULL,
                feed_plain(p.c, TLS_CT_HANDSHAKE, p.sflight.v[0].p, p.sflight.v[0].len),
                MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    printf("ChangeCipherSpec: before the ClientHello, twice (three times after a "
           "HelloRetryRequest), of value 2, after the handshake; records in clear under keys: "
           "refused\n");
}

/* ---- 6. versions --------------------------------------------------------------------------- */

static const uint8_t sentinel12[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01};

/* The last eight bytes of the server's random in its first record (a ServerHello in clear). */
static bool has_sentinel(const pair *p)
{
    size_t len;
    const uint8_t *sh = sh_msg(p, &len);
    return len >= 4 + 2 + 32 && memcmp(sh + 4 + 2 + 24, sentinel12, 8) == 0;
}

static void versions(void)
{
    static const struct {
        const char *name;
        uint16_t min, max;
    } v[] = {{"1.2 only", MTLS_VERSION_TLS12, MTLS_VERSION_TLS12},
             {"1.3 only", MTLS_VERSION_TLS13, MTLS_VERSION_TLS13},
             {"both", MTLS_VERSION_TLS12, MTLS_VERSION_TLS13}};
    printf("version matrix (client x server -> negotiated; the ServerHello's sentinel):\n");
    for (int ci = 0; ci < 3; ci++) {
        for (int si = 0; si < 3; si++) {
            opts o = {.cmin = v[ci].min, .cmax = v[ci].max, .smin = v[si].min, .smax = v[si].max};
            case_begin("client %s, server %s", v[ci].name, v[si].name);
            pair p;
            open_to_server_hello(&p, &o, NULL);
            bool sentinel = has_sentinel(&p);
            mtls_conn_free(p.c);
            mtls_conn_free(p.s);
            p.c = mtls_client_new(p.ccfg, "localhost");
            p.s = mtls_server_new(p.scfg);
            mtls_err err = tp_handshake(p.c, p.s);
            uint16_t both_hi = v[ci].max < v[si].max ? v[ci].max : v[si].max;
            uint16_t both_lo = v[ci].min > v[si].min ? v[ci].min : v[si].min;
            if (both_lo > both_hi) {
                /* no version in common: the server's protocol_version */
                CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_PROTOCOL_VERSION);
                CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_PROTOCOL_VERSION);
                printf("  %-8s x %-8s -> protocol_version\n", v[ci].name, v[si].name);
            } else {
                CHECK_ERR(err, MTLS_OK);
                CHECK_EQ(mtls_conn_version(p.c), both_hi);
                CHECK_EQ(mtls_conn_version(p.s), both_hi);
                /* RFC 8446 4.1.3: the sentinel exactly when a server that speaks TLS 1.3
                 * negotiates TLS 1.2 (its client did not offer TLS 1.3) */
                bool want = both_hi == MTLS_VERSION_TLS12 && v[si].max == MTLS_VERSION_TLS13;
                CHECK_EQ(sentinel, want);
                CHECK(tp_send_check(p.c, p.s, "v", 1) && tp_send_check(p.s, p.c, "w", 1));
                printf("  %-8s x %-8s -> TLS 1.%d%s\n", v[ci].name, v[si].name,
                       both_hi == MTLS_VERSION_TLS13 ? 3 : 2, sentinel ? ", sentinel" : "");
            }
            pair_close(&p);
            case_end();
        }
    }
    /* the attack: a client that offered TLS 1.3 gets a TLS 1.2 ServerHello with the sentinel
     * (here the server's answer to a client that offered TLS 1.2 alone, as an attacker that
     * removed the offer would obtain it) */
    {
        case_begin("downgrade sentinel, client offered TLS 1.3");
        opts only12 = {.cmin = MTLS_VERSION_TLS12, .cmax = MTLS_VERSION_TLS12};
        pair p12;
        open_to_server_hello(&p12, &only12, NULL);
        CHECK(has_sentinel(&p12));
        opts both = {0};
        pair p;
        open_to_server_hello(&p, &both, NULL);
        mtls_err err = tp_feed(p.c, p12.srecs.v[0].p, p12.srecs.v[0].len, 0);
        expect_fail(p.c, NULL, err, MTLS_ERR_DOWNGRADE, TLS_ALERT_ILLEGAL_PARAMETER);
        /* the same bytes, minus the sentinel, go on to the next check (the session id echo is not
         * this client's): the refusal above was the sentinel's */
        mtls_conn *c2 = mtls_client_new(p.ccfg, "localhost");
        CHECK_ERR(mtls_handshake(c2), MTLS_ERR_WANT_READ);
        items drop = {0};
        take_records(c2, &drop);
        items_free(&drop);
        static uint8_t m[4096];
        size_t len = p12.srecs.v[0].len;
        memcpy(m, p12.srecs.v[0].p, len);
        m[5 + 4 + 2 + 24] ^= 1; /* "DOWNGRD" no more */
        err = tp_feed(c2, m, len, 0);
        CHECK(err != MTLS_ERR_DOWNGRADE);
        mtls_conn_free(c2);
        pair_close(&p12);
        pair_close(&p);
        case_end();
    }
    /* RFC 7507 with RFC 8446: TLS_FALLBACK_SCSV from a client that speaks TLS 1.2 at most, to a
     * server that speaks TLS 1.3: inappropriate_fallback; to one pinned to TLS 1.2: fine */
    for (int pinned = 0; pinned < 2; pinned++) {
        case_begin("TLS_FALLBACK_SCSV to a %s server", pinned ? "TLS 1.2" : "TLS 1.3");
        opts o = {.cmin = MTLS_VERSION_TLS12, .cmax = MTLS_VERSION_TLS12};
        if (pinned) {
            o.smin = MTLS_VERSION_TLS12;
            o.smax = MTLS_VERSION_TLS12;
        }
        pair p;
        open_to_server_hello(&p, &o, NULL);
        size_t len;
        const uint8_t *ch = ch_msg(&p, &len);
        struct msg_client_hello parsed;
        rd body = rd_init(ch + 4, len - 4);
        CHECK_ERR(msg_client_hello_parse(&body, &parsed), MTLS_OK);
        static uint8_t suites[512], m[65536];
        memcpy(suites, parsed.cipher_suites.p, parsed.cipher_suites.n);
        be16_put(suites + parsed.cipher_suites.n, 0x5600);
        edit ed = EDIT_NONE;
        ed.suites = suites;
        ed.suites_len = parsed.cipher_suites.n + 2;
        mtls_conn *s;
        mtls_err err = server_gets(&p, m, edit_hello(ch, len, &ed, m), &s);
        if (pinned)
            CHECK(fine(err) && mtls_conn_error(s) == MTLS_OK);
        else
            expect_fail(s, NULL, err, MTLS_ERR_INAPPROPRIATE_FALLBACK,
                        TLS_ALERT_INAPPROPRIATE_FALLBACK);
        mtls_conn_free(s);
        pair_close(&p);
        case_end();
    }
}

/* ---- 7. after the handshake ------------------------------------------------------------------ */

typedef struct {
    int key_updates_out, key_updates_in, tickets, early_declined;
} seen;
static void count_trace(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    seen *s = arg;
    bool out = ev->kind == MTLS_TRACE_SENT, in = ev->kind == MTLS_TRACE_RECEIVED;
    s->key_updates_out += out && ev->msg == TLS_HS_KEY_UPDATE;
    s->key_updates_in += in && ev->msg == TLS_HS_KEY_UPDATE;
    s->tickets += in && ev->msg == TLS_HS_NEW_SESSION_TICKET;
    /* the words of our EncryptedExtensions: no event field says what it declined */
    s->early_declined += out && ev->msg == TLS_HS_ENCRYPTED_EXTENSIONS &&
                         strstr(ev->detail, "early data declined") != NULL;
}

static void established(pair *p, const opts *o)
{
    memset(p, 0, sizeof(*p));
    p->ccfg = client_cfg(o);
    p->scfg = server_cfg(o);
    p->c = mtls_client_new(p->ccfg, "localhost");
    p->s = mtls_server_new(p->scfg);
    CHECK_ERR(tp_handshake(p->c, p->s), MTLS_OK);
    CHECK_EQ(mtls_conn_version(p->c), MTLS_VERSION_TLS13);
}

static void after_handshake(void)
{
    static uint8_t m[65536];
    opts o = {0};
    pair p;
    /* a ClientHello to an established server: no renegotiation in TLS 1.3 */
    established(&p, &o);
    case_begin("ClientHello after the handshake");
    mtls_err err = feed_from(p.s, p.c, TLS_CT_HANDSHAKE, p.ch.n ? p.ch.v[0].p : m,
                             forge(m, TLS_HS_CLIENT_HELLO, NULL, 40));
    expect_fail(p.s, p.c, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* a CertificateRequest after the handshake: we never offered post_handshake_auth */
    established(&p, &o);
    case_begin("CertificateRequest after the handshake");
    err = feed_from(p.c, p.s, TLS_CT_HANDSHAKE, m, forge(m, TLS_HS_CERTIFICATE_REQUEST, NULL, 8));
    expect_fail(p.c, p.s, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* application data between the fragments of a KeyUpdate (RFC 8446 5.1) */
    established(&p, &o);
    case_begin("application data inside a KeyUpdate");
    forge(m, TLS_HS_KEY_UPDATE, NULL, 1);
    CHECK(fine(feed_from(p.s, p.c, TLS_CT_HANDSHAKE, m, 2)));
    err = feed_from(p.s, p.c, TLS_CT_APPLICATION_DATA, (const uint8_t *)"GET", 3);
    expect_fail(p.s, p.c, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* a KeyUpdate followed by more handshake data in its record (5.1) */
    established(&p, &o);
    case_begin("KeyUpdate not ending its record");
    size_t n = forge(m, TLS_HS_KEY_UPDATE, NULL, 1);
    n += forge(m + n, TLS_HS_NEW_SESSION_TICKET, NULL, 13);
    err = feed_from(p.c, p.s, TLS_CT_HANDSHAKE, m, n);
    expect_fail(p.c, NULL, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* a KeyUpdate of value 2 */
    established(&p, &o);
    case_begin("KeyUpdate with request_update 2");
    static const uint8_t two = 2;
    err = feed_from(p.c, p.s, TLS_CT_HANDSHAKE, m, forge(m, TLS_HS_KEY_UPDATE, &two, 1));
    expect_fail(p.c, NULL, err, MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER);
    pair_close(&p);
    case_end();
    /* a flood of post-handshake messages without application data (tickets, here) */
    established(&p, &o);
    case_begin("a flood of NewSessionTicket");
    static const uint8_t nst[] = {0, 0, 0x0e, 0x10, 1, 2, 3, 4, 1, 0, 0, 1, 'x', 0, 0};
    err = MTLS_OK;
    int sent = 0;
    while (fine(err) && sent < 100) {
        err = feed_from(p.c, p.s, TLS_CT_HANDSHAKE, m,
                        forge(m, TLS_HS_NEW_SESSION_TICKET, nst, sizeof(nst)));
        sent++;
    }
    CHECK(sent > 30 && sent < 40);
    expect_fail(p.c, NULL, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
    pair_close(&p);
    case_end();
    /* an alert of level warning other than close_notify: fatal in TLS 1.3 (RFC 8446 6) */
    established(&p, &o);
    case_begin("a warning-level alert in TLS 1.3");
    static const uint8_t warning[2] = {1, TLS_ALERT_BAD_CERTIFICATE};
    err = feed_from(p.c, p.s, TLS_CT_ALERT, warning, 2);
    CHECK_ERR(err, MTLS_ERR_PEER_ALERT);
    CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_BAD_CERTIFICATE);
    pair_close(&p);
    case_end();
    /* KeyUpdate both ways, and the old key refused after it */
    {
        established(&p, &o);
        case_begin("KeyUpdate both ways, a record under the old key after it");
        seen cs = {0}, ss = {0};
        /* traces are per config: use fresh ones for this pair */
        pair_close(&p);
        memset(&p, 0, sizeof(p));
        p.ccfg = client_cfg(&o);
        p.scfg = server_cfg(&o);
        mtls_config_set_trace_events(p.ccfg, count_trace, &cs);
        mtls_config_set_trace_events(p.scfg, count_trace, &ss);
        p.c = mtls_client_new(p.ccfg, "localhost");
        p.s = mtls_server_new(p.scfg);
        CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
        CHECK(tp_send_check(p.c, p.s, "before", 6));
        /* the client's key has sealed its share (the record layer's counter, lowered here):
         * its next write starts with a KeyUpdate (RFC 8446 5.5) */
        size_t w;
        p.c->rec.out.update_after = p.c->rec.out.seq;
        CHECK_ERR(mtls_write(p.c, "old", 3, &w), MTLS_OK); /* KeyUpdate, then this, new key */
        CHECK_EQ(cs.key_updates_out, 1);
        items recs = {0};
        take_records(p.c, &recs);
        CHECK_EQ(recs.n, 2);
        for (size_t i = 0; i < recs.n; i++)
            CHECK(fine(tp_feed(p.s, recs.v[i].p, recs.v[i].len, 0)));
        /* the server reads: the KeyUpdate (which mtls_recv_ack left for mtls_read), then the
         * data under the new key */
        char buf[16];
        size_t got = 0, k = 0;
        while (got < 3 && mtls_read(p.s, buf + got, read_cap > 1 ? sizeof(buf) - got : 1, &k) ==
                              MTLS_OK)
            got += k;
        CHECK_EQ(ss.key_updates_in, 1);
        CHECK(got == 3 && memcmp(buf, "old", 3) == 0);
        CHECK(tp_send_check(p.s, p.c, "server after", 12));
        CHECK(tp_send_check(p.c, p.s, "client after", 12));
        /* the KeyUpdate record replayed: the server's key has moved on */
        err = feed_read(p.s, recs.v[0].p, recs.v[0].len);
        expect_fail(p.s, p.c, err, MTLS_ERR_BAD_RECORD_MAC, TLS_ALERT_BAD_RECORD_MAC);
        items_free(&recs);
        pair_close(&p);
        case_end();
    }
    /* update_requested: the server answers with one KeyUpdate of its own */
    {
        case_begin("KeyUpdate update_requested answered once");
        seen ss = {0};
        memset(&p, 0, sizeof(p));
        p.ccfg = client_cfg(&o);
        p.scfg = server_cfg(&o);
        mtls_config_set_trace_events(p.scfg, count_trace, &ss);
        p.c = mtls_client_new(p.ccfg, "localhost");
        p.s = mtls_server_new(p.scfg);
        CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
        /* the server asks the client: sealed with the server's current key, as the server would
         * (its own key then moves on, which the client's answer does not depend on) */
        static const uint8_t req = 1;
        seen cs = {0};
        (void)cs;
        err = feed_from(p.c, p.s, TLS_CT_HANDSHAKE, m, forge(m, TLS_HS_KEY_UPDATE, &req, 1));
        CHECK(fine(err));
        /* the client answered at once: its KeyUpdate is in its send buffer, and the server,
         * whose read key is still the old one, takes it */
        size_t pending;
        mtls_send_buf(p.c, &pending);
        CHECK(pending > 0);
        CHECK_ERR(tp_transfer(p.c, p.s), MTLS_OK);
        /* ... when it reads (mtls_recv_ack left the protected record for mtls_read) */
        CHECK(tp_send_check(p.c, p.s, "after the answer", 16));
        CHECK_EQ(ss.key_updates_in, 1);
        pair_close(&p);
        case_end();
    }
    printf("after the handshake: ClientHello, CertificateRequest, interleaved and unaligned "
           "KeyUpdate, a bad KeyUpdate value, a ticket flood, a warning alert refused; KeyUpdate "
           "both ways, the old key refused after it (reads of %zu bytes)\n",
           read_cap);
}

/* ---- tickets and resumption ------------------------------------------------------------------ */

static void tickets(void)
{
    /* how many tickets: the default two, none, five; with tickets off the default two stateful
     * ones (session ids, test_resume), none when the session cache is off too */
    static const struct {
        int n; /* mtls_config_set_tls13_tickets, -1: default, -2: mtls_config_set_tickets(0),
                * -3: that and mtls_config_set_session_cache(0) */
        int want;
    } tc[] = {{-1, 2}, {0, 0}, {5, 5}, {-2, 2}, {-3, 0}};
    for (size_t k = 0; k < sizeof(tc) / sizeof(tc[0]); k++) {
        case_begin("tickets: %d configured", tc[k].n);
        opts o = {0};
        seen cs = {0};
        mtls_config *ccfg = client_cfg(&o), *scfg = server_cfg(&o);
        mtls_config_set_trace_events(ccfg, count_trace, &cs);
        if (tc[k].n >= 0)
            CHECK_ERR(mtls_config_set_tls13_tickets(scfg, (unsigned)tc[k].n), MTLS_OK);
        if (tc[k].n <= -2)
            CHECK_ERR(mtls_config_set_tickets(scfg, 0), MTLS_OK);
        if (tc[k].n == -3)
            CHECK_ERR(mtls_config_set_session_cache(scfg, 0, 0), MTLS_OK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK_EQ(cs.tickets, tc[k].want);
        mtls_session *sess = mtls_conn_get_session(c);
        CHECK_EQ(sess != NULL, tc[k].want > 0);
        if (sess && tc[k].n == -2)
            CHECK_EQ(sess->ticket_len, 32); /* a session id */
        mtls_session_free(sess);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
        mtls_config_free(scfg);
        case_end();
    }
    mtls_config *bad = mtls_config_new();
    CHECK_ERR(mtls_config_set_tls13_tickets(bad, 17), MTLS_ERR_INVALID_ARG);
    mtls_config_free(bad);

    /* the ticket's age: the client's clock 5 s on resumes, 30 s on is refused (10 s + 1%) */
    for (int skew = 5; skew <= 30; skew += 25) {
        case_begin("ticket age off by %d s", skew);
        opts o = {0};
        int64_t t0 = clock_c;
        mtls_session *sess = full_session(&o);
        clock_c += skew;
        mtls_config *ccfg = client_cfg(&o), *scfg = server_cfg(&o);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK_EQ(mtls_conn_resumed(c), skew < 10);
        clock_c = t0;
        mtls_session_free(sess);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
        mtls_config_free(scfg);
        case_end();
    }
    /* bound to the verification context: a server that asks for client certificates in another
     * mode does not resume it; the serialized session resumes */
    {
        case_begin("ticket across verification contexts, and serialized");
        opts o = {.verify = MTLS_VERIFY_OPTIONAL, .client_cert = true};
        mtls_session *sess = full_session(&o);
        uint8_t buf[8192];
        size_t len;
        CHECK_ERR(mtls_session_to_bytes(sess, buf, sizeof(buf), &len), MTLS_OK);
        mtls_session *back = mtls_session_from_bytes(buf, len);
        CHECK(back != NULL && back->version == MTLS_VERSION_TLS13 && back->age_add == sess->age_add);
        for (int other = 0; other < 2; other++) {
            opts o2 = o;
            if (other)
                o2.verify = MTLS_VERIFY_REQUIRE;
            mtls_config *ccfg = client_cfg(&o2), *scfg = server_cfg(&o2);
            mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
            CHECK_ERR(mtls_conn_set_session(c, back), MTLS_OK);
            CHECK_ERR(tp_handshake(c, s), MTLS_OK);
            CHECK_EQ(mtls_conn_resumed(s), !other);
            /* the resumed server still knows its client */
            CHECK(mtls_conn_peer_subject(s) && strstr(mtls_conn_peer_subject(s), "client-"));
            mtls_conn_free(c);
            mtls_conn_free(s);
            mtls_config_free(ccfg);
            mtls_config_free(scfg);
        }
        mtls_session_free(back);
        mtls_session_free(sess);
        case_end();
    }
    /* psk_ke: a server that allows it, given a hello that offers psk_ke alone (the mtls client
     * always offers psk_dhe_ke too, which the server prefers), answers without a key share */
    for (int allow = 0; allow < 2; allow++) {
        case_begin("psk_ke offered alone, server %s it", allow ? "allows" : "does not allow");
        opts o = {.psk_ke = allow};
        mtls_session *sess = full_session(&o);
        pair p;
        open_to_server_hello(&p, &o, sess);
        /* the hello with psk_key_exchange_modes = {psk_ke}, its binder made anew */
        size_t len;
        const uint8_t *ch = ch_msg(&p, &len);
        static uint8_t m[65536];
        static const uint8_t ke_only[] = {1, EXT_PSK_KE};
        edit ed = EDIT_NONE;
        ed.replace = TLS_EXT_PSK_KEY_EXCHANGE_MODES;
        ed.data = ke_only;
        ed.data_len = sizeof(ke_only);
        size_t n = edit_hello(ch, len, &ed, m);
        uint8_t th[32], binder[32];
        cry_hash_oneshot(CRY_SHA256, m, n - (2 + 1 + 32), th);
        ks13 ks;
        CHECK_ERR(ks13_init(&ks, CRY_SHA256), MTLS_OK);
        CHECK_ERR(ks13_early(&ks, sess->master, 32), MTLS_OK);
        CHECK_ERR(ks13_binder(&ks, false, th, binder), MTLS_OK);
        ks13_clear(&ks);
        memcpy(m + n - 32, binder, 32);
        mtls_conn *s;
        CHECK(fine(server_gets(&p, m, n, &s)));
        items out = {0};
        take_records(s, &out);
        struct msg_server_hello sh;
        rd body = rd_init(out.v[0].p + 9, out.v[0].len - 9);
        CHECK_ERR(msg_server_hello_parse(&body, &sh), MTLS_OK);
        CHECK_EQ(sh.exts.pre_shared_key.present, allow);
        CHECK_EQ(sh.exts.key_share.present, !allow);
        CHECK_EQ(s->info.resumed, allow);
        CHECK_EQ(s->info.group, allow ? 0 : MTLS_GROUP_X25519);
        items_free(&out);
        mtls_conn_free(s);
        pair_close(&p);
        mtls_session_free(sess);
        case_end();
    }
    /* 0-RTT declined and skipped (RFC 8446 4.2.10): a hello with early_data, records under a key
     * the server does not have, then the client's Finished, which the server takes */
    for (int hrr = 0; hrr < 2; hrr++) {
        case_begin("early data declined and skipped%s", hrr ? " after a HelloRetryRequest" : "");
        opts o = {0};
        if (hrr) {
            o.client_groups = "secp256r1:x25519";
            o.server_groups = "x25519";
        }
        seen ss = {0};
        pair p;
        open_to_server_hello(&p, &o, NULL);
        mtls_config_set_trace_events(p.scfg, count_trace, &ss); /* a fresh server below */
        (void)ss;
        size_t len;
        const uint8_t *ch = ch_msg(&p, &len);
        static uint8_t m[65536], garbage[300];
        edit ed = EDIT_NONE;
        ed.add = TLS_EXT_EARLY_DATA;
        ed.data = garbage;
        ed.data_len = 0;
        size_t n = edit_hello(ch, len, &ed, m);
        mtls_conn *s = mtls_server_new(p.scfg);
        CHECK(fine(feed_plain(s, TLS_CT_HANDSHAKE, m, n)));
        memset(garbage, 0x5a, sizeof(garbage));
        for (int i = 0; i < 3; i++) {
            uint8_t rec[5 + sizeof(garbage)] = {TLS_CT_APPLICATION_DATA, 3, 3};
            be16_put(rec + 3, sizeof(garbage));
            memcpy(rec + 5, garbage, sizeof(garbage));
            CHECK(fine(tp_feed(s, rec, sizeof(rec), 0)));
        }
        CHECK_ERR(mtls_conn_error(s), MTLS_OK);
        if (!hrr && s->hs->run) {
            /* the client's Finished over the server's own transcript */
            uint8_t th[64], fin[64 + 4] = {TLS_HS_FINISHED, 0, 0, 32};
            size_t hlen;
            CHECK_ERR(hs_transcript_hash(s->hs->run, th, &hlen), MTLS_OK);
            CHECK_ERR(ks13_finished(&s->hs->run->k13, KS13_C_HS_TRAFFIC, th, fin + 4), MTLS_OK);
            rec_dir enc;
            dir_from(&enc, &s->hs->run->k13, KS13_C_HS_TRAFFIC, s->hs->run->suite, true);
            CHECK(fine(feed_sealed(s, &enc, TLS_CT_HANDSHAKE, fin, 4 + hlen)));
            rec_dir_clear(&enc);
            CHECK(mtls_conn_established(s));
            /* garbage once the client's key has opened a record is bad_record_mac again */
            uint8_t rec[5 + sizeof(garbage)] = {TLS_CT_APPLICATION_DATA, 3, 3};
            be16_put(rec + 3, sizeof(garbage));
            memcpy(rec + 5, garbage, sizeof(garbage));
            expect_fail(s, NULL, feed_read(s, rec, sizeof(rec)), MTLS_ERR_BAD_RECORD_MAC,
                        TLS_ALERT_BAD_RECORD_MAC);
        } else if (hrr) {
            CHECK(strcmp(hs_state_name(s->hs), "S13_READ_SECOND_CLIENT_HELLO") == 0);
            /* The second ClientHello ends the skipping: 0-RTT data cannot follow it (it has no
             * early_data), so a record that then fails under the client's handshake key is
             * bad_record_mac (tlsfuzzer's test-tls13-0rtt-garbage, "handshake with 0-RTT, HRR
             * and early data after 2nd Client Hello").  The real client answers the fresh
             * server's HelloRetryRequest. */
            items hrr_recs = {0}, ch2 = {0};
            take_records(s, &hrr_recs);
            for (size_t i = 0; i < hrr_recs.n; i++)
                CHECK(fine(tp_feed(p.c, hrr_recs.v[i].p, hrr_recs.v[i].len, 0)));
            take_records(p.c, &ch2);
            CHECK(ch2.n >= 1);
            for (size_t i = 0; i < ch2.n; i++)
                CHECK(fine(tp_feed(s, ch2.v[i].p, ch2.v[i].len, 0)));
            CHECK(strcmp(hs_state_name(s->hs), "S13_READ_FINISHED") == 0);
            uint8_t rec[5 + sizeof(garbage)] = {TLS_CT_APPLICATION_DATA, 3, 3};
            be16_put(rec + 3, sizeof(garbage));
            memcpy(rec + 5, garbage, sizeof(garbage));
            expect_fail(s, NULL, tp_feed(s, rec, sizeof(rec), 0), MTLS_ERR_BAD_RECORD_MAC,
                        TLS_ALERT_BAD_RECORD_MAC);
            items_free(&hrr_recs);
            items_free(&ch2);
        }
        mtls_conn_free(s);
        pair_close(&p);
        case_end();
    }
    printf("tickets: counts, the age window, the verification context, serialization, psk_ke, "
           "declined 0-RTT\n");
}

/* ---- 8. certificate status ------------------------------------------------------------------- */

/* The Certificate message `cert` with `ext` (whole extensions: type, length, data) as the
 * extensions of its entry `entry`. */
static size_t cert_with_ext(const item *cert, size_t entry, const uint8_t *ext, size_t ext_len,
                            uint8_t *out, size_t cap)
{
    rd certs[MSG_MAX_CHAIN], exts[MSG_MAX_CHAIN];
    struct msg_certificate13 c = {.certs = certs, .exts = exts};
    rd body = rd_init(cert->p + 4, cert->len - 4);
    CHECK_ERR(msg_certificate13_parse(&body, &c), MTLS_OK);
    CHECK(entry < c.n);
    exts[entry] = rd_init(ext, ext_len);
    wr w = wr_fixed(out, cap);
    wr_u8(&w, TLS_HS_CERTIFICATE);
    size_t b = wr_open_u24(&w);
    msg_certificate13_build(&w, &c);
    wr_close_u24(&w, b);
    CHECK(wr_ok(&w));
    return w.len;
}

/* A status_request extension holding a CertificateStatus of `type` around `resp` (`twice`: the
 * extension two times). */
static size_t status_ext(uint8_t type, const uint8_t *resp, size_t n, int twice, uint8_t *out)
{
    wr w = wr_fixed(out, 64);
    for (int i = 0; i <= twice; i++) {
        wr_u16(&w, TLS_EXT_STATUS_REQUEST);
        size_t e = wr_open_u16(&w);
        wr_u8(&w, type);
        size_t r = wr_open_u24(&w);
        wr_bytes(&w, resp, n);
        wr_close_u24(&w, r);
        wr_close_u16(&w, e);
    }
    CHECK(wr_ok(&w));
    return w.len;
}

static void cert_status(void)
{
    static uint8_t m[65536];
    static const uint8_t junk[] = {0x30, 0x03, 0x0a, 0x01, 0x00}; /* no OCSPResponse */
    struct {
        const char *what;
        bool ask;
        uint8_t type;
        int twice;
        mtls_err want;
        int alert;
    } sc[] = {
        {"server Certificate with a status_request the client did not ask for", false, 1, 0,
         MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION},
        {"server Certificate with status_request twice in the leaf's entry", true, 1, 1,
         MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
        {"server Certificate with a CertificateStatus of status type 2", true, 2, 0,
         MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR},
        {"server Certificate stapling bytes that are no OCSP response", true, 1, 0,
         MTLS_ERR_OCSP_BAD_RESPONSE, TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE},
    };
    for (size_t k = 0; k < sizeof(sc) / sizeof(sc[0]); k++) {
        opts o = {.ocsp = sc[k].ask};
        pair p;
        open_client_side(&p, &o, NULL);
        case_begin("%s", sc[k].what);
        uint8_t ext[64];
        size_t ext_len = status_ext(sc[k].type, junk, sizeof(junk), sc[k].twice, ext);
        mtls_err err = MTLS_OK;
        for (size_t i = 0; i < p.sflight.n && fine(err); i++) {
            const item *it = &p.sflight.v[i];
            if (it->type != TLS_HS_CERTIFICATE) {
                err = feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, it->p, it->len);
                continue;
            }
            size_t n = cert_with_ext(it, 0, ext, ext_len, m, sizeof(m));
            err = feed_sealed(p.c, &p.s_enc, TLS_CT_HANDSHAKE, m, n);
            break;
        }
        expect_fail(p.c, p.s, err, sc[k].want, sc[k].alert);
        pair_close(&p);
        case_end();
    }
    /* the client's Certificate: our CertificateRequest asked for no status */
    opts mutual = {.verify = MTLS_VERIFY_REQUIRE, .client_cert = true};
    pair p;
    open_server_side(&p, &mutual, NULL);
    case_begin("client Certificate with a status_request");
    uint8_t ext[64];
    size_t ext_len = status_ext(1, junk, sizeof(junk), 0, ext);
    const item *cert = find_msg(&p.cflight, TLS_HS_CERTIFICATE);
    CHECK(cert != NULL);
    if (cert) {
        size_t n = cert_with_ext(cert, 0, ext, ext_len, m, sizeof(m));
        mtls_err err = feed_sealed(p.s, &p.c_enc, TLS_CT_HANDSHAKE, m, n);
        expect_fail(p.s, p.c, err, MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION);
    }
    pair_close(&p);
    case_end();
    printf("certificate status: unasked, repeated or malformed staples in Certificate refused\n");
}

/* Every state of the TLS 1.3 roles is a read state tried above, or a send state (no input). */
static void state_names(void)
{
    static const char *const covered[] = {
        "C13_READ_SERVER_HELLO",        "C13_READ_ENCRYPTED_EXTENSIONS", "C13_READ_CERT_REQUEST_OR_CERT",
        "C13_READ_CERT",                "C13_READ_CERT_VERIFY",          "C13_READ_FINISHED",
        "S13_READ_CLIENT_HELLO",        "S13_READ_SECOND_CLIENT_HELLO",  "S13_READ_CLIENT_CERT",
        "S13_READ_CLIENT_CERT_VERIFY",  "S13_READ_FINISHED",             "C13_SEND_CLIENT_HELLO",
        "C13_SEND_CLIENT_FLIGHT",       "S13_SEND_HELLO_RETRY_REQUEST",  "S13_SEND_SERVER_FLIGHT",
        /* where the application's key method may keep the CertificateVerify (test_keyop) */
        "C13_SEND_CERT_VERIFY",         "S13_SEND_CERT_VERIFY",
    };
    const hs_role *roles[] = {&hs_client13, &hs_server13};
    size_t n = 0;
    for (size_t r = 0; r < 2; r++)
        for (int st = 0; st < roles[r]->n_states; st++, n++) {
            bool found = false;
            for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++)
                found |= strcmp(covered[i], roles[r]->state_names[st]) == 0;
            CHECK(found);
            if (!found)
                fprintf(stderr, "  ^ %s has no case here\n", roles[r]->state_names[st]);
        }
    CHECK_EQ(n, sizeof(covered) / sizeof(covered[0]));
}

int main(void)
{
    clock_c = clock_s = (int64_t)time(NULL);
    state_names();
    cert_status();
    wrong_states_client();
    wrong_states_server();
    truncations();
    bad_values();
    hello_retry();
    change_cipher_spec();
    versions();
    for (int pass = 0; pass < 2; pass++) {
        read_cap = pass ? TLS_MAX_PLAINTEXT + 256 : 1;
        after_handshake();
    }
    tickets();
    printf("%d cases\n", cases);
    return t_done();
}
