/*
 * test_negative.c -- the handshake and the record layer refuse what they must, each time with the
 * right error, the right alert queued, the alert's bytes on the wire, and the peer reporting that
 * alert once it is given those bytes:
 *
 *   1. every handshake message type in every read state that does not accept it, an early (or a
 *      second) ChangeCipherSpec, and application data before the handshake is done, in both
 *      roles, in full handshakes (RSA and ECDHE, with and without client authentication) and
 *      abbreviated ones (session ticket and session id): unexpected_message.  An empty
 *      HelloRequest is ignored by a client in every read state and the handshake then completes
 *      (RFC 5246 7.4.1.1).
 *   2. every truncation of every handshake message of a real handshake, in both directions, and
 *      one byte too many: decode_error.  The only well-formed truncations -- a hello cut exactly
 *      before its extensions block -- are found by parsing the message, and the error they lead
 *      to is asserted instead.
 *   3. every flipped bit after the header of a protected record (application data, and the
 *      Finished in both directions) for each AEAD, and records shorter than the tag:
 *      bad_record_mac.  Bytes of a good record that one mtls_read copied before it met a bad one
 *      are returned first; the error comes on the next call.
 *   4. a Finished sealed with the right keys but wrong verify_data: decrypt_error, both ways.
 *   5. server choices the client did not offer (suite, group, compression, version, extension),
 *      ClientHello versions below TLS 1.2, duplicated extensions.
 *   6. require mode without a client certificate: handshake_failure (RFC 5246 7.4.6).
 *   7. the record layer's limits: record_overflow, unknown content types, and handshake length
 *      claims refused without buffering: a ClientHello longer than its fields allow (decode_error),
 *      any other message over our cap (handshake_failure); record versions: a server takes a
 *      ClientHello in a record of any {03,XX}, and from the ServerHello on both sides refuse
 *      anything but {03,03} with protocol_version (in clear, protected, and after the handshake).
 *
 * Technique: a real handshake in memory, but the sender's flight is cut into single messages,
 * each delivered in a record of its own, so that the receiver can be stopped in any read state.
 * Once the receiver reads protected records, an injected record is sealed with the SENDER's write
 * state (rec_write on its record layer) at the sequence number the receiver expects.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hsstate.h"
#include "common/testpki.h"
#include "t.h"

/* ---- bookkeeping ----------------------------------------------------------------------------- */

enum {
    CAT_STATE = 1,
    CAT_TRUNC,
    CAT_BITFLIP,
    CAT_FINISHED,
    CAT_PARAMS,
    CAT_CLIENT_AUTH,
    CAT_RECORD,
    CAT_CONFORMANCE,
    CAT_COUNT
};
static const char *cat_names[CAT_COUNT] = {"",
                                           "1 wrong state / early CCS / early data / HelloRequest",
                                           "2 truncation and extra byte",
                                           "3 flipped bit / short record",
                                           "4 bad Finished",
                                           "5 unoffered choices and versions",
                                           "6 require without client certificate",
                                           "7 record layer limits",
                                           "8 conformance-suite expectations"};
static int cat_cases[CAT_COUNT];
static char where[256];
static int fails_before;

static void case_begin(int cat, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void case_begin(int cat, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof(where), fmt, ap);
    va_end(ap);
    cat_cases[cat]++;
    fails_before = t_fail;
}

static void case_end(void)
{
    if (t_fail != fails_before)
        fprintf(stderr, "  ^ case: %s\n", where);
}

/* ---- configurations -------------------------------------------------------------------------- */

typedef struct setup {
    const char *name;
    const char *ciphers; /* the client's list; the server keeps its defaults */
    const char *groups;  /* the client's list, NULL for the defaults */
    tp_key_kind server_key;
    mtls_verify_mode verify;
    int client_cert; /* the client has a P-256 certificate */
    int no_sni;      /* the client sends no server_name */
    int no_tickets;  /* session tickets off on both sides (they are on by default) */
    enum {
        RESUME_NONE,
        RESUME_TICKET,
        RESUME_ID
    } resume; /* offer a session of a first handshake */
} setup;

typedef struct env {
    const setup *su;
    mtls_config *ccfg, *scfg;
    mtls_session *session; /* offered by every client when the setup resumes */
} env;

/* The first certificate of a PEM chain: one certificate per Certificate message keeps the
 * truncation loops short.  The client still finds the CA among its anchors. */
static size_t leaf_pem_len(const char *pem)
{
    static const char end[] = "-----END CERTIFICATE-----\n";
    const char *e = strstr(pem, end);
    if (!e)
        abort();
    return (size_t)(e - pem) + strlen(end);
}

static void env_open(env *e, const setup *su)
{
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[su->server_key], *cid = &pki->client[TP_P256];
    e->su = su;
    e->ccfg = mtls_config_new();
    e->scfg = mtls_config_new();
    /* The TLS 1.2 state machines (test_tls13 has TLS 1.3's). */
    CHECK_ERR(mtls_config_set_versions(e->ccfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12), MTLS_OK);
    CHECK_ERR(mtls_config_set_versions(e->scfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12), MTLS_OK);
    CHECK_ERR(mtls_config_set_cert_chain_mem(e->scfg, sid->cert_pem, leaf_pem_len(sid->cert_pem),
                                             sid->key_pem, strlen(sid->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(e->scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(e->scfg, su->verify), MTLS_OK);
    /* These cases require extended master secret on both sides (not the default). */
    CHECK_ERR(mtls_config_set_require_ems(e->scfg, 1), MTLS_OK);
    CHECK_ERR(mtls_config_set_require_ems(e->ccfg, 1), MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(e->ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ciphers(e->ccfg, su->ciphers), MTLS_OK);
    if (su->groups)
        CHECK_ERR(mtls_config_set_groups(e->ccfg, su->groups), MTLS_OK);
    if (su->client_cert)
        CHECK_ERR(mtls_config_set_cert_chain_mem(e->ccfg, cid->cert_pem,
                                                 leaf_pem_len(cid->cert_pem), cid->key_pem,
                                                 strlen(cid->key_pem)),
                  MTLS_OK);
    e->session = NULL;
    if (su->no_tickets) {
        CHECK_ERR(mtls_config_set_tickets(e->ccfg, 0), MTLS_OK);
        CHECK_ERR(mtls_config_set_tickets(e->scfg, 0), MTLS_OK);
    }
    if (su->resume == RESUME_NONE)
        return;
    mtls_conn *c = mtls_client_new(e->ccfg, "localhost"), *s = mtls_server_new(e->scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    e->session = mtls_conn_get_session(c);
    CHECK(e->session != NULL);
    mtls_conn_free(c);
    mtls_conn_free(s);
}

static void env_close(env *e)
{
    mtls_session_free(e->session);
    mtls_config_free(e->ccfg);
    mtls_config_free(e->scfg);
}

/* ---- records and messages -------------------------------------------------------------------- */

typedef struct item {
    uint8_t type; /* a record's content type, or a message's handshake type */
    size_t len;
    uint8_t *p; /* the whole record or message, header included */
} item;

#define MAX_ITEMS 16
typedef struct items {
    size_t n;
    item v[MAX_ITEMS];
} items;

static void items_add(items *l, uint8_t type, const uint8_t *p, size_t len)
{
    if (l->n == MAX_ITEMS)
        abort();
    item *it = &l->v[l->n++];
    it->type = type;
    it->len = len;
    it->p = malloc(len ? len : 1);
    memcpy(it->p, p, len);
}

static void items_free(items *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    l->n = 0;
}

/* Drain `from`'s send buffer into whole records. */
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

/* Split the plaintext handshake records at the head of `recs` (up to the first non-handshake
 * record) into messages; returns the index of the first record not used. */
static size_t split_messages(const items *recs, items *msgs)
{
    static uint8_t buf[64 * 1024];
    size_t len = 0, i;
    for (i = 0; i < recs->n && recs->v[i].type == TLS_CT_HANDSHAKE; i++) {
        memcpy(buf + len, recs->v[i].p + TLS_RECORD_HEADER, recs->v[i].len - TLS_RECORD_HEADER);
        len += recs->v[i].len - TLS_RECORD_HEADER;
    }
    for (size_t off = 0; off + 4 <= len;) {
        size_t mlen = 4 + be24_get(buf + off + 1);
        items_add(msgs, buf[off], buf + off, mlen);
        off += mlen;
    }
    return i;
}

/* One plaintext record: {type, 3, 3, length} + payload. */
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

/* A record sealed with `from`'s write state at the sequence number `to` expects next. */
static mtls_err feed_sealed(mtls_conn *to, mtls_conn *from, uint8_t type, const uint8_t *p,
                            size_t n)
{
    size_t pending;
    mtls_send_buf(from, &pending);
    CHECK_EQ(pending, 0); /* the sender's own output was taken before */
    from->rec.out.seq = to->rec.in.seq;
    CHECK_ERR(rec_write(&from->rec, type, p, n), MTLS_OK);
    const uint8_t *out = mtls_send_buf(from, &pending);
    mtls_err err = tp_feed(to, out, pending, 0);
    mtls_send_ack(from, pending);
    return err;
}

/* ---- flows: a handshake delivered one message at a time -------------------------------------- */

/* What the sender has for the receiver, one delivery each: a handshake message sent in clear, its
 * ChangeCipherSpec record, or a record it sealed (kept sealed, and in clear once the receiver's
 * read keys exist, so that it can be sealed anew at whatever sequence number is due). */
typedef enum { Q_MSG, Q_CCS, Q_SEALED } q_kind;

typedef struct q_item {
    q_kind kind;
    item it;           /* the message, or the whole record */
    uint8_t plain[64]; /* Q_SEALED: the plaintext, once known */
    size_t plain_len;
} q_item;

typedef struct flow {
    mtls_conn *c, *s;
    mtls_conn *rcv, *snd; /* the side under test, and its peer */
    q_item q[MAX_ITEMS];
    size_t head, n;
    mtls_err last; /* what the receiver said to the last delivery */
} flow;

static void q_push(flow *f, q_kind kind, uint8_t type, const uint8_t *p, size_t len)
{
    items tmp = {0};
    if (f->n == MAX_ITEMS)
        abort();
    items_add(&tmp, type, p, len);
    q_item *q = &f->q[f->n++];
    memset(q, 0, sizeof(*q));
    q->kind = kind;
    q->it = tmp.v[0];
}

static void q_clear(flow *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->q[i].it.p);
    f->head = f->n = 0;
}

/* The sender's output, cut into deliveries. */
static void capture(flow *f)
{
    items recs = {0}, msgs = {0};
    take_records(f->snd, &recs);
    size_t i = split_messages(&recs, &msgs);
    q_clear(f);
    for (size_t k = 0; k < msgs.n; k++)
        q_push(f, Q_MSG, msgs.v[k].type, msgs.v[k].p, msgs.v[k].len);
    for (; i < recs.n; i++)
        q_push(f, recs.v[i].type == TLS_CT_CHANGE_CIPHER_SPEC ? Q_CCS : Q_SEALED, recs.v[i].type,
               recs.v[i].p, recs.v[i].len);
    items_free(&recs);
    items_free(&msgs);
}

/* Everything the receiver said goes to the sender at once; what the sender answers is queued. */
static void turn(flow *f)
{
    items recs = {0};
    take_records(f->rcv, &recs);
    for (size_t i = 0; i < recs.n; i++)
        tp_feed(f->snd, recs.v[i].p, recs.v[i].len, 0);
    items_free(&recs);
    capture(f);
}

/* Right after the receiver took the sender's ChangeCipherSpec: open the sealed records that
 * follow it, in order, with a copy of the receiver's new read state. */
static void open_sealed(flow *f)
{
    rec_dir tmp = f->rcv->rec.in;
    for (size_t i = f->head; i < f->n; i++) {
        q_item *q = &f->q[i];
        if (q->kind != Q_SEALED)
            continue;
        uint8_t *buf = malloc(q->it.len), *plain;
        size_t plain_len = 0;
        memcpy(buf, q->it.p, q->it.len);
        if (rec_open(&tmp, buf, q->it.len, &plain, &plain_len) == MTLS_OK &&
            plain_len <= sizeof(q->plain)) {
            memcpy(q->plain, plain, plain_len);
            q->plain_len = plain_len;
        }
        free(buf);
    }
}

/* One delivery to the receiver; when the sender has nothing more queued, the receiver's answer
 * goes over and the sender's reply is queued (so the peer always holds the keys to read an
 * alert the receiver sends next).  Returns 0 when nothing is left. */
static int flow_step(flow *f)
{
    if (f->head == f->n)
        return 0;
    q_item *q = &f->q[f->head++];
    switch (q->kind) {
    case Q_MSG:
        f->last = feed_plain(f->rcv, TLS_CT_HANDSHAKE, q->it.p, q->it.len);
        break;
    case Q_CCS:
        f->last = tp_feed(f->rcv, q->it.p, q->it.len, 0);
        open_sealed(f);
        break;
    case Q_SEALED:
        f->last = feed_sealed(f->rcv, f->snd, q->it.type, q->plain, q->plain_len);
        break;
    }
    if (f->head == f->n && !f->rcv->error)
        turn(f);
    return 1;
}

static void flow_open(flow *f, const env *e, int server_under_test)
{
    memset(f, 0, sizeof(*f));
    f->c = mtls_client_new(e->ccfg, e->su->no_sni ? NULL : "localhost");
    f->s = mtls_server_new(e->scfg);
    if (!f->c || !f->s)
        abort();
    /* Without a name the client must opt out of the host-name check explicitly. */
    if (e->su->no_sni)
        CHECK_ERR(mtls_conn_set_insecure_skip_hostname(f->c), MTLS_OK);
    if (e->session)
        CHECK_ERR(mtls_conn_set_session(f->c, e->session), MTLS_OK);
    f->rcv = server_under_test ? f->s : f->c;
    f->snd = server_under_test ? f->c : f->s;
    f->last = mtls_handshake(f->c);
    turn(f);
}

static void flow_close(flow *f)
{
    q_clear(f);
    mtls_conn_free(f->c);
    mtls_conn_free(f->s);
}

/* Deliver until the receiver waits in `target`; 0 if it never does. */
static int flow_reach(flow *f, hs_state target)
{
    while (!st_eq(state_of(f->rcv), target))
        if (f->rcv->error || !flow_step(f))
            return 0;
    return 1;
}

/* The delivery the receiver would get next (NULL when none). */
static const q_item *flow_front(const flow *f)
{
    return f->head < f->n ? &f->q[f->head] : NULL;
}

/* The handshake message the receiver would get next, in clear; NULL before a CCS. */
static const uint8_t *flow_pending(const flow *f, size_t *len)
{
    const q_item *q = flow_front(f);
    *len = 0;
    if (!q || q->kind == Q_CCS)
        return NULL;
    if (q->kind == Q_MSG) {
        *len = q->it.len;
        return q->it.p;
    }
    *len = q->plain_len;
    return q->plain_len ? q->plain : NULL;
}

/* One record of content type `ct` to the receiver in its current state: in clear before its
 * read protection is on, sealed by the peer after. */
static mtls_err inject(flow *f, uint8_t ct, const uint8_t *p, size_t n)
{
    if (f->rcv->rec.in.aead)
        return feed_sealed(f->rcv, f->snd, ct, p, n);
    return feed_plain(f->rcv, ct, p, n);
}

static void flow_finish(flow *f)
{
    while (!f->rcv->error && flow_step(f))
        ;
    turn(f);
}

/* ---- the one assertion every case makes ------------------------------------------------------ */

/* `rcv` failed with `want`, queued fatal alert `alert` as the last record it sent, and `peer`,
 * given those records, reports that alert. */
static void expect_fail(mtls_conn *rcv, mtls_conn *peer, mtls_err got, mtls_err want, int alert)
{
    CHECK_ERR(got, want);
    CHECK_ERR(mtls_conn_error(rcv), want);
    CHECK_EQ(mtls_conn_alert_sent(rcv), alert);
    if (mtls_conn_error(rcv) != want)
        fprintf(stderr, "  detail: %s\n", mtls_conn_error_detail(rcv));
    items out = {0};
    take_records(rcv, &out);
    CHECK(out.n >= 1);
    if (out.n) {
        const item *a = &out.v[out.n - 1];
        CHECK_EQ(a->type, TLS_CT_ALERT);
        if (rcv->rec.out.aead) {
            CHECK_EQ(a->len, TLS_RECORD_HEADER + rec_dir_overhead(&rcv->rec.out) + 2);
        } else {
            CHECK_EQ(a->len, TLS_RECORD_HEADER + 2);
            if (a->len == TLS_RECORD_HEADER + 2) {
                CHECK_EQ(a->p[5], 2); /* fatal */
                CHECK_EQ(a->p[6], alert);
            }
        }
        for (size_t i = 0; i < out.n; i++)
            tp_feed(peer, out.v[i].p, out.v[i].len, 0);
    }
    CHECK_EQ(mtls_conn_alert_received(peer), alert);
    CHECK_ERR(mtls_conn_error(peer), MTLS_ERR_PEER_ALERT);
    items_free(&out);
}

static void expect_flow_fail(flow *f, mtls_err got, mtls_err want, int alert)
{
    expect_fail(f->rcv, f->snd, got, want, alert);
}

/* A pair that completed the handshake (record-layer and bit-flip cases). */
static void pair_open(flow *f, const env *e)
{
    memset(f, 0, sizeof(*f));
    f->c = mtls_client_new(e->ccfg, "localhost");
    f->s = mtls_server_new(e->scfg);
    f->rcv = f->s;
    f->snd = f->c;
    CHECK_ERR(tp_handshake(f->c, f->s), MTLS_OK);
}

/* ---- the setups ------------------------------------------------------------------------------ */

static const setup ecdhe_mutual = {.name = "ECDHE-ECDSA, client certificate required",
                                   .ciphers = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                   .server_key = TP_P256,
                                   .verify = MTLS_VERIFY_REQUIRE,
                                   .client_cert = 1};
static const setup rsa_plain = {.name = "static RSA, no client authentication",
                                .ciphers = "TLS_RSA_WITH_AES_128_GCM_SHA256",
                                .server_key = TP_RSA2048,
                                .verify = MTLS_VERIFY_NONE};
static const setup resumed_ticket = {.name = "abbreviated handshake, session ticket",
                                     .ciphers = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                     .server_key = TP_P256,
                                     .verify = MTLS_VERIFY_REQUIRE,
                                     .client_cert = 1,
                                     .resume = RESUME_TICKET};
static const setup resumed_id = {.name = "abbreviated handshake, session id",
                                 .ciphers = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                                 .server_key = TP_RSA2048,
                                 .verify = MTLS_VERIFY_NONE,
                                 .no_tickets = 1,
                                 .resume = RESUME_ID};

/* ---- 1. every message in every wrong state --------------------------------------------------- */

typedef struct read_state {
    hs_state state;
    const char *name;
    uint8_t accepts[2]; /* 0xff: no entry */
} read_state;

static const read_state client_states[] = {
    {C12_READ_SERVER_HELLO, "client/READ_SERVER_HELLO", {TLS_HS_SERVER_HELLO, 0xff}},
    {C12_READ_SERVER_CERT, "client/READ_SERVER_CERT", {TLS_HS_CERTIFICATE, 0xff}},
    {C12_READ_SERVER_KEY_EXCHANGE,
     "client/READ_SERVER_KEY_EXCHANGE",
     {TLS_HS_SERVER_KEY_EXCHANGE, 0xff}},
    {C12_READ_CERT_REQUEST_OR_SERVER_DONE,
     "client/READ_CERT_REQUEST_OR_SERVER_DONE",
     {TLS_HS_CERTIFICATE_REQUEST, TLS_HS_SERVER_HELLO_DONE}},
    {C12_READ_SERVER_DONE, "client/READ_SERVER_DONE", {TLS_HS_SERVER_HELLO_DONE, 0xff}},
    {C12_READ_NEW_SESSION_TICKET,
     "client/READ_NEW_SESSION_TICKET",
     {TLS_HS_NEW_SESSION_TICKET, 0xff}},
    {C12_READ_CCS, "client/READ_CCS", {0xff, 0xff}},
    {C12_READ_FINISHED, "client/READ_FINISHED", {TLS_HS_FINISHED, 0xff}},
};

static const read_state server_states[] = {
    {S12_READ_CLIENT_HELLO, "server/READ_CLIENT_HELLO", {TLS_HS_CLIENT_HELLO, 0xff}},
    {S12_READ_CLIENT_CERT, "server/READ_CLIENT_CERT", {TLS_HS_CERTIFICATE, 0xff}},
    {S12_READ_CLIENT_KEY_EXCHANGE,
     "server/READ_CLIENT_KEY_EXCHANGE",
     {TLS_HS_CLIENT_KEY_EXCHANGE, 0xff}},
    {S12_READ_CERT_VERIFY, "server/READ_CERT_VERIFY", {TLS_HS_CERTIFICATE_VERIFY, 0xff}},
    {S12_READ_CCS, "server/READ_CCS", {0xff, 0xff}},
    {S12_READ_FINISHED, "server/READ_FINISHED", {TLS_HS_FINISHED, 0xff}},
};

static const uint8_t all_types[] = {
    TLS_HS_HELLO_REQUEST,       TLS_HS_CLIENT_HELLO,      TLS_HS_SERVER_HELLO,
    TLS_HS_NEW_SESSION_TICKET,  TLS_HS_CERTIFICATE,       TLS_HS_SERVER_KEY_EXCHANGE,
    TLS_HS_CERTIFICATE_REQUEST, TLS_HS_SERVER_HELLO_DONE, TLS_HS_CERTIFICATE_VERIFY,
    TLS_HS_CLIENT_KEY_EXCHANGE, TLS_HS_FINISHED};

/* A real message of each type, from one complete mutual-TLS handshake, to inject. */
static item library[256];

static void library_add(const item *m)
{
    if (library[m->type].p)
        return;
    library[m->type].type = m->type;
    library[m->type].len = m->len;
    library[m->type].p = malloc(m->len);
    memcpy(library[m->type].p, m->p, m->len);
}

static void library_build(const env *e)
{
    for (int side = 0; side < 2; side++) {
        flow f;
        flow_open(&f, e, side);
        for (;;) {
            size_t n;
            const uint8_t *p = flow_pending(&f, &n);
            if (p && n >= 4) {
                item m = {p[0], n, (uint8_t *)p};
                library_add(&m);
            }
            if (!flow_step(&f))
                break;
        }
        CHECK(mtls_conn_established(f.c) && mtls_conn_established(f.s));
        flow_close(&f);
    }
    static const uint8_t hello_request[] = {TLS_HS_HELLO_REQUEST, 0, 0, 0};
    /* NewSessionTicket: lifetime hint, ticket<0..2^16-1> (RFC 5077 3.3) */
    static const uint8_t ticket[] = {
        TLS_HS_NEW_SESSION_TICKET, 0, 0, 10, 0, 0, 1, 0, 0, 4, 1, 2, 3, 4};
    library_add(&(item){TLS_HS_HELLO_REQUEST, sizeof(hello_request), (uint8_t *)hello_request});
    library_add(&(item){TLS_HS_NEW_SESSION_TICKET, sizeof(ticket), (uint8_t *)ticket});
    for (size_t i = 0; i < sizeof(all_types); i++)
        CHECK(library[all_types[i]].p != NULL);
}

static int accepts(const read_state *st, uint8_t type)
{
    return st->accepts[0] == type || st->accepts[1] == type;
}

/* Which read states a setup passes through. */
static int expect_reachable(const setup *su, hs_state st)
{
    int ecdhe = strstr(su->ciphers, "ECDHE") != NULL;
    int requested = su->verify != MTLS_VERIFY_NONE;
    int full = su->resume == RESUME_NONE;
    if (st_eq(st, C12_READ_SERVER_CERT) || st_eq(st, C12_READ_CERT_REQUEST_OR_SERVER_DONE) ||
        st_eq(st, S12_READ_CLIENT_KEY_EXCHANGE))
        return full;
    if (st_eq(st, C12_READ_SERVER_KEY_EXCHANGE))
        return full && ecdhe;
    if (st_eq(st, C12_READ_SERVER_DONE) || st_eq(st, S12_READ_CLIENT_CERT))
        return full && requested;
    if (st_eq(st, S12_READ_CERT_VERIFY))
        return full && requested && su->client_cert;
    /* tickets are on by default; an abbreviated handshake does not renew the ticket */
    if (st_eq(st, C12_READ_NEW_SESSION_TICKET))
        return full && !su->no_tickets;
    return 1;
}

static void wrong_state_cases(const env *e, const read_state *st, int server_side)
{
    flow probe;
    flow_open(&probe, e, server_side);
    int reached = flow_reach(&probe, st->state);
    flow_close(&probe);
    case_begin(CAT_STATE, "%s reachable in %s", st->name, e->su->name);
    CHECK_EQ(reached, expect_reachable(e->su, st->state));
    case_end();
    if (!reached)
        return;

    /* every handshake type the state does not accept (a client ignores HelloRequest: below) */
    for (size_t i = 0; i < sizeof(all_types); i++) {
        uint8_t t = all_types[i];
        if (accepts(st, t) || (!server_side && t == TLS_HS_HELLO_REQUEST))
            continue;
        flow f;
        flow_open(&f, e, server_side);
        case_begin(CAT_STATE, "%s (%s) given %s", st->name, e->su->name, hs_msg_name(t));
        if (flow_reach(&f, st->state)) {
            mtls_err err = inject(&f, TLS_CT_HANDSHAKE, library[t].p, library[t].len);
            expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        } else {
            CHECK(!"state not reached");
        }
        case_end();
        flow_close(&f);
    }

    /* ChangeCipherSpec anywhere but READ_CCS (a second one in READ_FINISHED) */
    if (!st_eq(st->state, C12_READ_CCS) && !st_eq(st->state, S12_READ_CCS)) {
        static const uint8_t ccs[] = {1};
        flow f;
        flow_open(&f, e, server_side);
        case_begin(CAT_STATE, "%s (%s) given ChangeCipherSpec", st->name, e->su->name);
        CHECK(flow_reach(&f, st->state));
        mtls_err err = inject(&f, TLS_CT_CHANGE_CIPHER_SPEC, ccs, sizeof(ccs));
        expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        case_end();
        flow_close(&f);
    } else {
        /* a ChangeCipherSpec may not split a handshake message: a header fragment, then CCS */
        static const uint8_t fragment[] = {TLS_HS_FINISHED, 0, 0};
        static const uint8_t ccs[] = {1};
        flow f;
        flow_open(&f, e, server_side);
        case_begin(CAT_STATE, "%s (%s) given a message fragment, then ChangeCipherSpec", st->name,
                   e->su->name);
        CHECK(flow_reach(&f, st->state));
        CHECK_ERR(inject(&f, TLS_CT_HANDSHAKE, fragment, sizeof(fragment)), MTLS_OK);
        mtls_err err = inject(&f, TLS_CT_CHANGE_CIPHER_SPEC, ccs, sizeof(ccs));
        expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        case_end();
        flow_close(&f);
    }

    /* application data before the handshake is done */
    {
        static const uint8_t data[] = "too early";
        flow f;
        flow_open(&f, e, server_side);
        case_begin(CAT_STATE, "%s (%s) given application data", st->name, e->su->name);
        CHECK(flow_reach(&f, st->state));
        mtls_err err = inject(&f, TLS_CT_APPLICATION_DATA, data, sizeof(data));
        expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        case_end();
        flow_close(&f);
    }

    /* RFC 5246 7.4.1.1: "This message will be ignored by the client if the client is currently
     * negotiating a session."  It must not disturb the handshake, wherever it comes. */
    if (!server_side) {
        static const uint8_t hello_request[] = {TLS_HS_HELLO_REQUEST, 0, 0, 0};
        flow f;
        flow_open(&f, e, server_side);
        case_begin(CAT_STATE, "%s (%s) given an empty HelloRequest: ignored", st->name,
                   e->su->name);
        CHECK(flow_reach(&f, st->state));
        CHECK_ERR(inject(&f, TLS_CT_HANDSHAKE, hello_request, sizeof(hello_request)), MTLS_OK);
        CHECK_ERR(mtls_conn_error(f.c), MTLS_OK);
        if (mtls_conn_error(f.c))
            fprintf(stderr, "  detail: %s\n", mtls_conn_error_detail(f.c));
        CHECK(st_eq(state_of(f.c), st->state));
        flow_finish(&f);
        CHECK(mtls_conn_established(f.c) && mtls_conn_established(f.s));
        CHECK(tp_send_check(f.c, f.s, "after HelloRequest", 18));
        case_end();
        flow_close(&f);
    }
}

static void hello_request_not_empty(const env *e)
{
    static const uint8_t bad[] = {TLS_HS_HELLO_REQUEST, 0, 0, 1, 0};
    flow f;
    flow_open(&f, e, 0);
    case_begin(CAT_STATE, "client/READ_SERVER_CERT given a HelloRequest with a body");
    CHECK(flow_reach(&f, C12_READ_SERVER_CERT));
    mtls_err err = inject(&f, TLS_CT_HANDSHAKE, bad, sizeof(bad));
    expect_flow_fail(&f, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
    case_end();
    flow_close(&f);
}

/* A resuming setup does resume: both sides say so after the scripted delivery. */
static void check_resumes(const env *e)
{
    flow f;
    flow_open(&f, e, 0);
    case_begin(CAT_STATE, "%s: the scripted handshake resumes", e->su->name);
    flow_finish(&f);
    CHECK(mtls_conn_established(f.c) && mtls_conn_established(f.s));
    CHECK(mtls_conn_resumed(f.c) && mtls_conn_resumed(f.s));
    case_end();
    flow_close(&f);
}

static void run_wrong_states(void)
{
    const setup *setups[] = {&ecdhe_mutual, &rsa_plain, &resumed_ticket, &resumed_id};
    for (size_t k = 0; k < sizeof(setups) / sizeof(setups[0]); k++) {
        env e;
        env_open(&e, setups[k]);
        if (e.session)
            check_resumes(&e);
        for (size_t i = 0; i < sizeof(client_states) / sizeof(client_states[0]); i++)
            wrong_state_cases(&e, &client_states[i], 0);
        for (size_t i = 0; i < sizeof(server_states) / sizeof(server_states[0]); i++)
            wrong_state_cases(&e, &server_states[i], 1);
        if (k == 0)
            hello_request_not_empty(&e);
        env_close(&e);
    }
}

/* ---- 2. every truncation and one extra byte -------------------------------------------------- */

/* Offset in a hello's body of its extensions block length (RFC 5246 7.4.1.2 / 7.4.1.3). */
static size_t hello_ext_offset(const uint8_t *wire)
{
    const uint8_t *body = wire + 4;
    size_t off = 2 + 32;
    off += 1 + body[off]; /* session_id */
    if (wire[0] == TLS_HS_CLIENT_HELLO) {
        off += 2 + be16_get(body + off); /* cipher_suites */
        off += 1 + body[off];            /* compression_methods */
    } else {
        off += 2 + 1; /* cipher_suite, compression_method */
    }
    return off;
}

/* Truncations that are well-formed messages themselves (asserted to be exactly the hellos cut
 * before their extensions, once per hello and setup). */
static int well_formed_cuts;

/* The message waiting for the receiver in `st` cut to every body length below its own, and with
 * one zero byte added: one fresh connection each. */
static void truncation_cases(const env *e, int server_side, hs_state st, const char *st_name)
{
    size_t full = 0;
    for (size_t cut = 0; cut <= full; cut++) {
        flow f;
        flow_open(&f, e, server_side);
        if (!flow_reach(&f, st)) {
            case_begin(CAT_TRUNC, "%s not reached (%s)", st_name, e->su->name);
            CHECK(!"state not reached");
            case_end();
            flow_close(&f);
            return;
        }
        size_t n;
        const uint8_t *m = flow_pending(&f, &n);
        full = n - 4;
        uint8_t type = m[0];
        size_t body = cut < full ? cut : full + 1;
        uint8_t *wire = calloc(1, 4 + body);
        memcpy(wire, m, 4 + (body < full ? body : full));
        be24_put(wire + 1, (uint32_t)body);
        case_begin(CAT_TRUNC, "%s (%s): %s body %zu of %zu bytes", st_name, e->su->name,
                   hs_msg_name(type), body, full);
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, wire, 4 + body);
        size_t ext_off = (type == TLS_HS_CLIENT_HELLO || type == TLS_HS_SERVER_HELLO)
                             ? hello_ext_offset(m)
                             : SIZE_MAX;
        if (body == ext_off && type == TLS_HS_CLIENT_HELLO) {
            /* A ClientHello without extensions is well formed; without extended_master_secret
             * it is refused (RFC 7627 5.2) by a server that requires EMS, as configured here. */
            expect_flow_fail(&f, err, MTLS_ERR_EMS_REQUIRED, TLS_ALERT_HANDSHAKE_FAILURE);
            well_formed_cuts++;
        } else if (body == ext_off) {
            /* A ServerHello without extensions is well formed; without renegotiation_info the
             * client refuses it (RFC 5746 3.4), before it looks at EMS. */
            expect_flow_fail(&f, err, MTLS_ERR_BAD_RENEGOTIATION_INFO, TLS_ALERT_HANDSHAKE_FAILURE);
            well_formed_cuts++;
        } else {
            expect_flow_fail(&f, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
        }
        case_end();
        free(wire);
        flow_close(&f);
    }
}

static void run_truncations(void)
{
    static const struct {
        int server_side;
        hs_state st;
        const char *name;
    } points[] = {
        {1, S12_READ_CLIENT_HELLO, "server/READ_CLIENT_HELLO"},
        {0, C12_READ_SERVER_HELLO, "client/READ_SERVER_HELLO"},
        {0, C12_READ_SERVER_CERT, "client/READ_SERVER_CERT"},
        {0, C12_READ_SERVER_KEY_EXCHANGE, "client/READ_SERVER_KEY_EXCHANGE"},
        {0, C12_READ_CERT_REQUEST_OR_SERVER_DONE, "client/READ_CERT_REQUEST_OR_SERVER_DONE"},
        {0, C12_READ_SERVER_DONE, "client/READ_SERVER_DONE"},
        {0, C12_READ_NEW_SESSION_TICKET, "client/READ_NEW_SESSION_TICKET"},
        {1, S12_READ_CLIENT_CERT, "server/READ_CLIENT_CERT"},
        {1, S12_READ_CLIENT_KEY_EXCHANGE, "server/READ_CLIENT_KEY_EXCHANGE"},
        {1, S12_READ_CERT_VERIFY, "server/READ_CERT_VERIFY"},
        {1, S12_READ_FINISHED, "server/READ_FINISHED"},
        {0, C12_READ_FINISHED, "client/READ_FINISHED"},
    };
    const setup *setups[] = {&ecdhe_mutual, &rsa_plain, &resumed_ticket};
    const size_t n_setups = sizeof(setups) / sizeof(setups[0]);
    for (size_t k = 0; k < n_setups; k++) {
        env e;
        env_open(&e, setups[k]);
        for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
            if (!expect_reachable(setups[k], points[i].st))
                continue;
            truncation_cases(&e, points[i].server_side, points[i].st, points[i].name);
        }
        env_close(&e);
    }
    case_begin(CAT_TRUNC, "well-formed truncations: ClientHello and ServerHello of each setup");
    CHECK_EQ(well_formed_cuts, 2 * (int)n_setups);
    case_end();
}

/* ---- 3. flipped bits and short records ------------------------------------------------------- */

static const char *aead_suites[] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
};

/* The record under test, freshly made on a new connection: 0 application data from the client,
 * 1 the client's Finished, 2 the server's Finished. */
static int protected_record(flow *f, const env *e, int which, item *rec)
{
    static const uint8_t data[] = "attack at dawn";
    items recs = {0};
    if (which == 0) {
        pair_open(f, e);
        size_t w;
        CHECK_ERR(mtls_write(f->c, data, sizeof(data), &w), MTLS_OK);
        take_records(f->c, &recs);
    } else {
        flow_open(f, e, which == 1);
        if (!flow_reach(f, which == 1 ? S12_READ_FINISHED : C12_READ_FINISHED))
            return 0;
        const q_item *q = flow_front(f);
        if (!q || q->kind != Q_SEALED)
            return 0;
        items_add(&recs, q->it.type, q->it.p, q->it.len);
    }
    if (recs.n != 1)
        return 0;
    *rec = recs.v[0];
    return 1;
}

/* The length of the record under test (the same on every connection of a setup). */
static void record_len(const env *e, int which, size_t *len_out)
{
    flow f;
    item rec = {0};
    *len_out = 0;
    if (protected_record(&f, e, which, &rec)) {
        *len_out = rec.len;
        free(rec.p);
    }
    flow_close(&f);
}

/* Give the receiver a record as a transport would, then read as its application would: after the
 * handshake a record that may carry application data is opened by mtls_read (conn.c), straight
 * into the caller's buffer when it has room for the whole record, else in place -- `cap` picks
 * which -- so its error comes from there.  The first error; MTLS_OK when none. */
static mtls_err feed_and_read(flow *f, const uint8_t *p, size_t n, size_t cap)
{
    mtls_err err = tp_feed(f->rcv, p, n, 0);
    if (err != MTLS_OK || !mtls_conn_established(f->rcv))
        return err;
    char buf[64];
    size_t got = 99;
    err = mtls_read(f->rcv, buf, cap < sizeof(buf) ? cap : sizeof(buf), &got);
    CHECK_EQ(got, 0); /* nothing of a record that failed counts as read */
    return err == MTLS_ERR_WANT_READ ? MTLS_OK : err;
}

static void run_bitflips(void)
{
    static const char *names[] = {"application data", "client Finished", "server Finished"};
    for (size_t k = 0; k < sizeof(aead_suites) / sizeof(aead_suites[0]); k++) {
        setup su = {.name = aead_suites[k], .ciphers = aead_suites[k], .server_key = TP_P256};
        env e;
        env_open(&e, &su);
        for (int which = 0; which < 3; which++) {
            size_t len;
            record_len(&e, which, &len);
            case_begin(CAT_BITFLIP, "%s, %s record exists", aead_suites[k], names[which]);
            CHECK(len > TLS_RECORD_HEADER);
            case_end();
            for (size_t pos = TLS_RECORD_HEADER; pos < len; pos++)
                for (int bit = 0; bit < 8; bit++) {
                    flow f;
                    item rec = {0};
                    case_begin(CAT_BITFLIP, "%s, %s record, byte %zu bit %d", aead_suites[k],
                               names[which], pos, bit);
                    if (protected_record(&f, &e, which, &rec) && rec.len == len) {
                        rec.p[pos] ^= (uint8_t)(1u << bit);
                        mtls_err err = feed_and_read(&f, rec.p, rec.len, bit % 2 ? 4 : 64);
                        expect_flow_fail(&f, err, MTLS_ERR_BAD_RECORD_MAC,
                                         TLS_ALERT_BAD_RECORD_MAC);
                    } else {
                        CHECK(!"no record of the expected length");
                    }
                    free(rec.p);
                    case_end();
                    flow_close(&f);
                }
        }
        /* Records shorter than explicit nonce + tag, and exactly that long. */
        size_t min = (strstr(aead_suites[k], "GCM") ? 8 : 0) + CRY_AEAD_TAG_LEN;
        for (size_t frag = 0; frag <= min; frag++) {
            flow f;
            item rec = {0};
            case_begin(CAT_BITFLIP, "%s, application data record cut to %zu bytes", aead_suites[k],
                       frag);
            if (protected_record(&f, &e, 0, &rec)) {
                be16_put(rec.p + 3, (uint16_t)frag);
                mtls_err err = feed_and_read(&f, rec.p, TLS_RECORD_HEADER + frag, 64);
                expect_flow_fail(&f, err, MTLS_ERR_BAD_RECORD_MAC, TLS_ALERT_BAD_RECORD_MAC);
            } else {
                CHECK(!"no record");
            }
            free(rec.p);
            case_end();
            flow_close(&f);
        }
        env_close(&e);
    }
}

/* ---- 3b. data read before a bad record ------------------------------------------------------- */

/* Two application-data records arrive together and the second is bad.  One mtls_read with room
 * for both returns the first record's bytes, which were authenticated before they were copied;
 * the error comes on the next call, and on every call after it.  Both roles; a flipped tag bit
 * (bad_record_mac) and a wrong record version (protocol_version). */
static void run_read_before_bad_record(void)
{
    static const char first[] = "the first record, whole and authentic",
                      second[] = "the second record, spoiled on the way";
    static const struct {
        const char *name;
        mtls_err err;
        int alert;
    } kinds[] = {
        {"a flipped tag bit", MTLS_ERR_BAD_RECORD_MAC, TLS_ALERT_BAD_RECORD_MAC},
        {"record version 0x0301", MTLS_ERR_BAD_RECORD_VERSION, TLS_ALERT_PROTOCOL_VERSION},
    };
    env e;
    env_open(&e, &ecdhe_mutual);
    for (int server_side = 0; server_side < 2; server_side++)
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            flow f;
            pair_open(&f, &e);
            f.rcv = server_side ? f.s : f.c;
            f.snd = server_side ? f.c : f.s;
            case_begin(CAT_BITFLIP, "%s reads a record, then one with %s",
                       server_side ? "server" : "client", kinds[k].name);
            size_t w;
            CHECK_ERR(mtls_write(f.snd, first, sizeof(first), &w), MTLS_OK);
            CHECK_ERR(mtls_write(f.snd, second, sizeof(second), &w), MTLS_OK);
            items recs = {0};
            take_records(f.snd, &recs);
            CHECK_EQ(recs.n, 2);
            if (recs.n == 2) {
                item *bad = &recs.v[1];
                if (kinds[k].err == MTLS_ERR_BAD_RECORD_MAC)
                    bad->p[bad->len - 1] ^= 1;
                else
                    be16_put(bad->p + 1, 0x0301);
                uint8_t wire[512];
                memcpy(wire, recs.v[0].p, recs.v[0].len);
                memcpy(wire + recs.v[0].len, bad->p, bad->len);
                CHECK_ERR(tp_feed(f.rcv, wire, recs.v[0].len + bad->len, 0), MTLS_OK);
                char buf[4096];
                size_t n = 99;
                CHECK_ERR(mtls_read(f.rcv, buf, sizeof(buf), &n), MTLS_OK);
                CHECK_EQ(n, sizeof(first));
                CHECK(n == sizeof(first) && memcmp(buf, first, n) == 0);
                CHECK_ERR(mtls_read(f.rcv, buf, sizeof(buf), &n), kinds[k].err);
                CHECK_EQ(n, 0);
                mtls_err again = mtls_read(f.rcv, buf, sizeof(buf), &n);
                CHECK_EQ(n, 0);
                expect_flow_fail(&f, again, kinds[k].err, kinds[k].alert);
            }
            items_free(&recs);
            case_end();
            flow_close(&f);
        }
    env_close(&e);
}

/* ---- 4. bad Finished ------------------------------------------------------------------------- */

static void run_bad_finished(void)
{
    const char *suites[] = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
    for (size_t k = 0; k < 2; k++) {
        setup su = {.name = suites[k],
                    .ciphers = suites[k],
                    .server_key = TP_P256,
                    .verify = MTLS_VERIFY_REQUIRE,
                    .client_cert = 1};
        env e;
        env_open(&e, &su);
        for (int server_side = 0; server_side < 2; server_side++)
            for (size_t byte = 0; byte < 12; byte++) {
                flow f;
                flow_open(&f, &e, server_side);
                case_begin(CAT_FINISHED, "%s: %s gets a Finished with verify_data[%zu] changed",
                           suites[k], server_side ? "server" : "client", byte);
                CHECK(flow_reach(&f, server_side ? S12_READ_FINISHED : C12_READ_FINISHED));
                size_t fin_len;
                const uint8_t *pending = flow_pending(&f, &fin_len);
                CHECK(pending != NULL && fin_len == 16);
                uint8_t fin[16] = {0};
                if (pending && fin_len == 16)
                    memcpy(fin, pending, sizeof(fin));
                fin[4 + byte] ^= 0x80;
                mtls_err err = inject(&f, TLS_CT_HANDSHAKE, fin, sizeof(fin));
                expect_flow_fail(&f, err, MTLS_ERR_BAD_FINISHED, TLS_ALERT_DECRYPT_ERROR);
                case_end();
                flow_close(&f);
            }
        env_close(&e);
    }
}

/* ---- 5. choices that were not offered -------------------------------------------------------- */

/* The hello waiting for the receiver, with one extension appended to its block. */
static size_t hello_with_ext(const uint8_t *m, size_t n, uint16_t type, const uint8_t *data,
                             size_t dlen, uint8_t *out)
{
    size_t ext_at = 4 + hello_ext_offset(m);
    memcpy(out, m, n);
    out[n] = (uint8_t)(type >> 8);
    out[n + 1] = (uint8_t)type;
    be16_put(out + n + 2, (uint16_t)dlen);
    if (dlen)
        memcpy(out + n + 4, data, dlen);
    be16_put(out + ext_at, (uint16_t)(be16_get(out + ext_at) + 4 + dlen));
    be24_put(out + 1, (uint32_t)(n - 4 + 4 + dlen));
    return n + 4 + dlen;
}

typedef enum { EDIT_U16, EDIT_U8, EDIT_ADD_EXT } edit_kind;

/* Stop the receiver in `st`, change the message waiting for it, deliver, expect. */
static void edited_case(const env *e, int server_side, hs_state st, edit_kind kind, size_t off,
                        unsigned value, const uint8_t *ext, size_t ext_len, mtls_err want,
                        int alert, const char *what)
{
    flow f;
    flow_open(&f, e, server_side);
    case_begin(CAT_PARAMS, "%s (%s)", what, e->su->name);
    if (!flow_reach(&f, st)) {
        CHECK(!"state not reached");
    } else {
        size_t n;
        const uint8_t *m = flow_pending(&f, &n);
        uint8_t *wire = malloc(n + 64);
        memcpy(wire, m, n);
        if (kind == EDIT_U16)
            be16_put(wire + 4 + off, (uint16_t)value);
        else if (kind == EDIT_U8)
            wire[4 + off] = (uint8_t)value;
        else
            n = hello_with_ext(m, n, (uint16_t)value, ext, ext_len, wire);
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, wire, n);
        expect_flow_fail(&f, err, want, alert);
        free(wire);
    }
    case_end();
    flow_close(&f);
}

/* Offset of ServerHello.cipher_suite in the body of the message waiting for the client. */
static size_t server_hello_suite_offset(const env *e)
{
    flow f;
    flow_open(&f, e, 0);
    size_t n, off = 0;
    const uint8_t *m = flow_pending(&f, &n);
    if (m && n > 4 + 35)
        off = 2 + 32 + 1 + m[4 + 34];
    flow_close(&f);
    return off;
}

static void run_unoffered(void)
{
    char what[160];
    /* the client offers exactly one suite and one group */
    setup su = {.name = "one suite, one group, no tickets",
                .ciphers = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                .groups = "x25519",
                .server_key = TP_P256,
                .no_tickets = 1};
    setup su_no_sni = su;
    su_no_sni.name = "one suite, one group, no tickets, no SNI";
    su_no_sni.no_sni = 1;
    env e;
    env_open(&e, &su);
    size_t suite_off = server_hello_suite_offset(&e);
    CHECK(suite_off >= 35);

    static const uint16_t other_suites[] = {0xC02C, 0xC02F, 0xCCA9, 0x009C, 0x009D,
                                            0x0000, 0x00FF, 0x002F, 0x1301, 0xFFFF};
    for (size_t i = 0; i < sizeof(other_suites) / sizeof(other_suites[0]); i++) {
        snprintf(what, sizeof(what), "ServerHello chooses unoffered suite 0x%04x", other_suites[i]);
        edited_case(&e, 0, C12_READ_SERVER_HELLO, EDIT_U16, suite_off, other_suites[i], NULL, 0,
                    MTLS_ERR_UNOFFERED_SUITE, TLS_ALERT_ILLEGAL_PARAMETER, what);
    }
    static const uint8_t compressions[] = {1, 64, 255};
    for (size_t i = 0; i < sizeof(compressions); i++) {
        snprintf(what, sizeof(what), "ServerHello chooses compression %u", compressions[i]);
        edited_case(&e, 0, C12_READ_SERVER_HELLO, EDIT_U8, suite_off + 2, compressions[i], NULL, 0,
                    MTLS_ERR_BAD_COMPRESSION, TLS_ALERT_ILLEGAL_PARAMETER, what);
    }
    static const uint16_t versions[] = {0x0302, 0x0301, 0x0300, 0x0304, 0x0200};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        snprintf(what, sizeof(what), "ServerHello with version 0x%04x", versions[i]);
        edited_case(&e, 0, C12_READ_SERVER_HELLO, EDIT_U16, 0, versions[i], NULL, 0,
                    MTLS_ERR_PROTOCOL_VERSION, TLS_ALERT_PROTOCOL_VERSION, what);
    }
    static const uint16_t client_versions[] = {0x0302, 0x0301, 0x0300, 0x0200};
    for (size_t i = 0; i < sizeof(client_versions) / sizeof(client_versions[0]); i++) {
        snprintf(what, sizeof(what), "ClientHello with client_version 0x%04x", client_versions[i]);
        edited_case(&e, 1, S12_READ_CLIENT_HELLO, EDIT_U16, 0, client_versions[i], NULL, 0,
                    MTLS_ERR_PROTOCOL_VERSION, TLS_ALERT_PROTOCOL_VERSION, what);
    }
    /* extensions the client did not send: unknown, ALPN (none configured), session_ticket,
     * signature_algorithms (never in a ServerHello); server_name below */
    static const uint8_t alpn[] = {0, 3, 2, 'h', '2'}, ticket[] = {0}, sigalgs[] = {0, 2, 4, 3};
    static const struct {
        uint16_t type;
        const uint8_t *data;
        size_t len;
    } exts[] = {
        {0x1234, NULL, 0},
        {TLS_EXT_ALPN, alpn, sizeof(alpn)},
        {TLS_EXT_SESSION_TICKET, ticket, 0},
        {TLS_EXT_SIGNATURE_ALGORITHMS, sigalgs, sizeof(sigalgs)},
    };
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        snprintf(what, sizeof(what), "ServerHello with unoffered extension %u", exts[i].type);
        edited_case(&e, 0, C12_READ_SERVER_HELLO, EDIT_ADD_EXT, 0, exts[i].type, exts[i].data,
                    exts[i].len, MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION,
                    what);
    }
    /* server_name in a ServerHello answers a client's SNI and is empty (RFC 6066 3) */
    {
        env e2;
        env_open(&e2, &su_no_sni);
        edited_case(&e2, 0, C12_READ_SERVER_HELLO, EDIT_ADD_EXT, 0, TLS_EXT_SERVER_NAME, NULL, 0,
                    MTLS_ERR_UNOFFERED_EXTENSION, TLS_ALERT_UNSUPPORTED_EXTENSION,
                    "ServerHello with server_name, no SNI sent");
        env_close(&e2);
    }

    /* RFC 5246 7.4.1.4: "There MUST NOT be more than one extension of the same type." */
    static const uint8_t reneg[] = {0};
    static const struct {
        uint16_t type;
        const uint8_t *data;
        size_t len;
    } dups[] = {
        {TLS_EXT_EXTENDED_MASTER_SECRET, NULL, 0},
        {TLS_EXT_RENEGOTIATION_INFO, reneg, sizeof(reneg)},
        {TLS_EXT_SIGNATURE_ALGORITHMS, sigalgs, sizeof(sigalgs)},
    };
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        snprintf(what, sizeof(what), "ClientHello with extension %u twice", dups[i].type);
        edited_case(&e, 1, S12_READ_CLIENT_HELLO, EDIT_ADD_EXT, 0, dups[i].type, dups[i].data,
                    dups[i].len, MTLS_ERR_DUPLICATE_EXTENSION, TLS_ALERT_DECODE_ERROR, what);
    }
    snprintf(what, sizeof(what), "ServerHello with extension %u twice",
             TLS_EXT_EXTENDED_MASTER_SECRET);
    edited_case(&e, 0, C12_READ_SERVER_HELLO, EDIT_ADD_EXT, 0, TLS_EXT_EXTENDED_MASTER_SECRET, NULL,
                0, MTLS_ERR_DUPLICATE_EXTENSION, TLS_ALERT_DECODE_ERROR, what);
    /* an unknown extension twice in a ClientHello: unknown ones are ignored, duplicates not */
    {
        flow f;
        flow_open(&f, &e, 1);
        case_begin(CAT_PARAMS, "ClientHello with unknown extension 0x1234 twice");
        size_t n;
        const uint8_t *m = flow_pending(&f, &n);
        uint8_t *once = malloc(n + 16), *twice = malloc(n + 16);
        size_t n1 = hello_with_ext(m, n, 0x1234, NULL, 0, once);
        size_t n2 = hello_with_ext(once, n1, 0x1234, NULL, 0, twice);
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, twice, n2);
        expect_flow_fail(&f, err, MTLS_ERR_DUPLICATE_EXTENSION, TLS_ALERT_DECODE_ERROR);
        free(once);
        free(twice);
        case_end();
        flow_close(&f);
    }

    /* ServerKeyExchange: ECParameters.curve_type (1 byte), then NamedCurve (2 bytes) */
    static const uint16_t other_groups[] = {MTLS_GROUP_SECP256R1, MTLS_GROUP_SECP384R1, 25, 0x0100,
                                            0xFFFF};
    for (size_t i = 0; i < sizeof(other_groups) / sizeof(other_groups[0]); i++) {
        snprintf(what, sizeof(what), "ServerKeyExchange with unoffered group 0x%04x",
                 other_groups[i]);
        edited_case(&e, 0, C12_READ_SERVER_KEY_EXCHANGE, EDIT_U16, 1, other_groups[i], NULL, 0,
                    MTLS_ERR_UNOFFERED_GROUP, TLS_ALERT_ILLEGAL_PARAMETER, what);
    }
    for (unsigned ct = 1; ct <= 2; ct++) {
        snprintf(what, sizeof(what), "ServerKeyExchange with curve_type %u (not named_curve)", ct);
        edited_case(&e, 0, C12_READ_SERVER_KEY_EXCHANGE, EDIT_U8, 0, ct, NULL, 0,
                    MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER, what);
    }
    env_close(&e);
}

/* ---- 8. what conformance suites expect (tlsfuzzer's scripts, where the RFC leaves the alert open)
 */

/* Every entry of the supported_groups extension in ClientHello `m` replaced by an unknown code
 * point, lengths unchanged. */
static void hello_unknown_groups(uint8_t *m, size_t n)
{
    size_t off = 4 + hello_ext_offset(m);
    size_t end = off + 2 + be16_get(m + off);
    for (off += 2; off + 4 <= end && end <= n;) {
        uint16_t type = be16_get(m + off), len = be16_get(m + off + 2);
        if (type == TLS_EXT_SUPPORTED_GROUPS)
            for (size_t i = 2; i + 1 < len; i += 2)
                be16_put(m + off + 4 + i, (uint16_t)(0x2bc0 + i));
        off += 4 + (size_t)len;
    }
}

/* The server gets ClientHello `m` with its first cipher suite replaced by `suite`. */
static size_t hello_first_suite_offset(const uint8_t *m)
{
    return 2 + 32 + 1 + m[4 + 34] + 2;
}

static void sni_case(const env *e, const uint8_t *name, size_t len, mtls_err want, int alert,
                     const char *what)
{
    uint8_t ext[300];
    be16_put(ext, (uint16_t)(len + 3));
    ext[2] = 0; /* host_name */
    be16_put(ext + 3, (uint16_t)len);
    memcpy(ext + 5, name, len);
    if (want != MTLS_OK) {
        edited_case(e, 1, S12_READ_CLIENT_HELLO, EDIT_ADD_EXT, 0, TLS_EXT_SERVER_NAME, ext, len + 5,
                    want, alert, what);
        return;
    }
    flow f;
    flow_open(&f, e, 1);
    case_begin(CAT_CONFORMANCE, "%s (%s)", what, e->su->name);
    size_t n;
    const uint8_t *m = flow_pending(&f, &n);
    uint8_t *wire = malloc(n + sizeof(ext) + 4);
    size_t wn = hello_with_ext(m, n, TLS_EXT_SERVER_NAME, ext, len + 5, wire);
    CHECK_ERR(inject(&f, TLS_CT_HANDSHAKE, wire, wn), MTLS_OK);
    const char *got = mtls_conn_server_name(f.s);
    CHECK(got && strlen(got) == len && memcmp(got, name, len) == 0);
    free(wire);
    case_end();
    flow_close(&f);
}

/* A copy of the ClientHello waiting for the server (with room to spare; the caller frees). */
static uint8_t *pending_hello(const flow *f, size_t *n)
{
    const uint8_t *m = flow_pending(f, n);
    CHECK(m != NULL && *n > 4 + 40 && m[0] == TLS_HS_CLIENT_HELLO);
    uint8_t *w = calloc(1, *n + 64);
    if (!w)
        abort();
    if (m)
        memcpy(w, m, *n);
    else
        *n = 45;
    return w;
}

static void run_conformance(void)
{
    /* tlsfuzzer test-x25519 "only unknown group": supported_groups present but with nothing we
     * know means no ECDHE (RFC 8422 5.1), not the P-256 that a hello without it implies. */
    setup ecdhe_only = {.name = "ECDHE-ECDSA only",
                        .ciphers = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                        .server_key = TP_P256,
                        .no_tickets = 1};
    setup rsa_fallback = {.name = "ECDHE-RSA and static RSA",
                          .ciphers = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:"
                                     "TLS_RSA_WITH_AES_128_GCM_SHA256",
                          .server_key = TP_RSA2048,
                          .no_tickets = 1};
    env e;
    const setup *group_setups[] = {&ecdhe_only, &rsa_fallback};
    for (size_t k = 0; k < 2; k++) {
        env_open(&e, group_setups[k]);
        flow f;
        flow_open(&f, &e, 1);
        case_begin(CAT_CONFORMANCE, "ClientHello whose supported_groups are all unknown (%s)",
                   group_setups[k]->name);
        size_t n;
        uint8_t *wire = pending_hello(&f, &n);
        hello_unknown_groups(wire, n);
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, wire, n);
        if (k == 0) { /* no group in common: the ECDHE suite cannot be done */
            expect_flow_fail(&f, err, MTLS_ERR_NO_SHARED_GROUP, TLS_ALERT_HANDSHAKE_FAILURE);
        } else { /* the static-RSA suite the client also offers */
            CHECK_ERR(err, MTLS_OK);
            CHECK_EQ(mtls_conn_cipher_suite(f.s), 0x009C);
        }
        free(wire);
        case_end();
        flow_close(&f);
        env_close(&e);
    }

    /* tlsfuzzer test-ccs "two bytes long CCS" (and a CCS of value 2): unexpected_message. */
    env_open(&e, &ecdhe_mutual);
    static const struct {
        uint8_t b[2];
        size_t n;
    } bad_ccs[] = {{{1, 1}, 2}, {{2, 0}, 1}, {{0, 0}, 1}};
    for (int server_side = 0; server_side < 2; server_side++)
        for (size_t i = 0; i < sizeof(bad_ccs) / sizeof(bad_ccs[0]); i++) {
            flow f;
            flow_open(&f, &e, server_side);
            case_begin(CAT_CONFORMANCE, "%s gets a ChangeCipherSpec of %zu byte(s) %02x",
                       server_side ? "server" : "client", bad_ccs[i].n, bad_ccs[i].b[0]);
            CHECK(flow_reach(&f, server_side ? S12_READ_CCS : C12_READ_CCS));
            mtls_err err = inject(&f, TLS_CT_CHANGE_CIPHER_SPEC, bad_ccs[i].b, bad_ccs[i].n);
            expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
            case_end();
            flow_close(&f);
        }

    /* tlsfuzzer test-certificate-verify-malformed "0 byte sig": a well-formed empty signature
     * that does not verify: decrypt_error. */
    {
        flow f;
        flow_open(&f, &e, 1);
        case_begin(CAT_CONFORMANCE, "CertificateVerify with an empty signature");
        CHECK(flow_reach(&f, S12_READ_CERT_VERIFY));
        size_t n;
        const uint8_t *m = flow_pending(&f, &n);
        CHECK(m && n > 8 && m[0] == TLS_HS_CERTIFICATE_VERIFY);
        uint8_t cv[8] = {TLS_HS_CERTIFICATE_VERIFY, 0, 0, 4, 0, 0, 0, 0};
        if (m && n > 8) {
            cv[4] = m[4];
            cv[5] = m[5];
        }
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, cv, sizeof(cv));
        expect_flow_fail(&f, err, MTLS_ERR_BAD_SIGNATURE, TLS_ALERT_DECRYPT_ERROR);
        case_end();
        flow_close(&f);
    }
    env_close(&e);

    /* tlsfuzzer test-invalid-server-name-extension: an empty HostName is a decoding error; BEL,
     * UTF-8 and terminal escapes are not DNS names: illegal_parameter. */
    setup no_sni = {.name = "no SNI from the client",
                    .ciphers = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    .server_key = TP_P256,
                    .no_sni = 1,
                    .no_tickets = 1};
    env_open(&e, &no_sni);
    sni_case(&e, (const uint8_t *)"", 0, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR,
             "server_name with an empty host name");
    static const char *const bad_names[] = {"bell\a.example", "caf\xc3\xa9.example",
                                            "\x1b[31mred.example", "a..example", ".example",
                                            "sp ace.example", "semi;colon.example"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        char what[96];
        snprintf(what, sizeof(what), "server_name with a host name that is not a DNS name (#%zu)", i);
        sni_case(&e, (const uint8_t *)bad_names[i], strlen(bad_names[i]),
                 MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER, what);
    }
    static const char *const good_names[] = {"under_score.example", "xn--caf-dma.example",
                                             "trailing.dot.example.", "a"};
    for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++)
        sni_case(&e, (const uint8_t *)good_names[i], strlen(good_names[i]), MTLS_OK, -1,
                 good_names[i]);
    env_close(&e);

    /* tlsfuzzer test-fallback-scsv: TLS_FALLBACK_SCSV with a version below TLS 1.2 gets
     * inappropriate_fallback (RFC 7507 3); with TLS 1.2 itself it changes nothing. */
    env_open(&e, &rsa_fallback);
    static const uint16_t fallback_versions[] = {0x0302, 0x0301, 0x0300, 0x0303};
    for (size_t i = 0; i < sizeof(fallback_versions) / sizeof(fallback_versions[0]); i++) {
        flow f;
        flow_open(&f, &e, 1);
        case_begin(CAT_CONFORMANCE, "ClientHello version 0x%04x with TLS_FALLBACK_SCSV",
                   fallback_versions[i]);
        size_t n;
        uint8_t *wire = pending_hello(&f, &n);
        be16_put(wire + 4, fallback_versions[i]);
        be16_put(wire + 4 + hello_first_suite_offset(wire), 0x5600);
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, wire, n);
        if (fallback_versions[i] < 0x0303) {
            expect_flow_fail(&f, err, MTLS_ERR_INAPPROPRIATE_FALLBACK,
                             TLS_ALERT_INAPPROPRIATE_FALLBACK);
        } else {
            CHECK_ERR(err, MTLS_OK);
            CHECK_EQ(mtls_conn_cipher_suite(f.s), 0x009C); /* the other suite offered */
        }
        free(wire);
        case_end();
        flow_close(&f);
    }
    env_close(&e);

    /* tlsfuzzer test-resumption-with-wrong-ciphers: resuming without offering the session's
     * suite (RFC 5246 7.4.1.2 "MUST include at least the cipher_suite from that session"). */
    const setup *resumes[] = {&resumed_id, &resumed_ticket};
    static const uint16_t other[] = {0xC030, 0xC02B};
    for (size_t k = 0; k < 2; k++) {
        env_open(&e, resumes[k]);
        flow f;
        flow_open(&f, &e, 1);
        case_begin(CAT_CONFORMANCE, "resumption without the session's suite (%s)",
                   resumes[k]->name);
        size_t n;
        uint8_t *wire = pending_hello(&f, &n);
        be16_put(wire + 4 + hello_first_suite_offset(wire), other[k]);
        mtls_err err = inject(&f, TLS_CT_HANDSHAKE, wire, n);
        expect_flow_fail(&f, err, MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER);
        free(wire);
        case_end();
        flow_close(&f);
        env_close(&e);
    }
}

/* ---- 6. require mode without a client certificate -------------------------------------------- */

static void run_require_without_cert(void)
{
    setup su = {.name = "require, client without certificate",
                .ciphers = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                .server_key = TP_P256,
                .verify = MTLS_VERIFY_REQUIRE};
    env e;
    env_open(&e, &su);
    flow f;
    flow_open(&f, &e, 1);
    case_begin(CAT_CLIENT_AUTH, "require mode, empty client Certificate");
    CHECK(flow_reach(&f, S12_READ_CLIENT_CERT));
    size_t n;
    const uint8_t *m = flow_pending(&f, &n);
    CHECK(m && m[0] == TLS_HS_CERTIFICATE && n == 4 + 3); /* certificate_list<0..2^24-1> empty */
    flow_step(&f);
    /* RFC 5246 7.4.6: the server may "respond with a fatal handshake_failure alert". */
    expect_flow_fail(&f, f.last, MTLS_ERR_NO_CLIENT_CERT, TLS_ALERT_HANDSHAKE_FAILURE);
    printf("require mode without a client certificate: server error %s, alert %d (%s): %s\n",
           mtls_err_name(mtls_conn_error(f.s)), mtls_conn_alert_sent(f.s),
           mtls_alert_name(mtls_conn_alert_sent(f.s)), mtls_conn_error_detail(f.s));
    CHECK(strlen(mtls_conn_error_detail(f.s)) > 0);
    case_end();
    flow_close(&f);
    env_close(&e);
}

/* The server's Certificate must carry its chain (RFC 5246 7.4.2): an empty one is its own error
 * (NO_SERVER_CERT), with the alert it always had, bad_certificate. */
static void run_empty_server_cert(void)
{
    env e;
    env_open(&e, &ecdhe_mutual);
    flow f;
    flow_open(&f, &e, 0);
    case_begin(CAT_PARAMS, "an empty server Certificate");
    CHECK(flow_reach(&f, C12_READ_SERVER_CERT));
    static const uint8_t empty[] = {TLS_HS_CERTIFICATE, 0, 0, 3, 0, 0, 0};
    mtls_err err = inject(&f, TLS_CT_HANDSHAKE, empty, sizeof(empty));
    expect_flow_fail(&f, err, MTLS_ERR_NO_SERVER_CERT, TLS_ALERT_BAD_CERTIFICATE);
    printf("empty server Certificate: client error %s, alert %s: %s\n",
           mtls_err_name(mtls_conn_error(f.c)), mtls_alert_name(mtls_conn_alert_sent(f.c)),
           mtls_conn_error_detail(f.c));
    case_end();
    flow_close(&f);
    env_close(&e);
}

/* A server whose suites the client shares, but with no group, or no signature scheme, in common
 * says which (NO_SHARED_GROUP, NO_SHARED_SIGALG); one with no suite in common NO_SHARED_CIPHER.
 * The alert is handshake_failure in all three. */
static void run_nothing_shared(void)
{
    static const struct {
        const char *what, *ciphers, *groups, *sigalgs;
        mtls_err want;
    } cases[] = {
        {"no suite in common", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", NULL, NULL,
         MTLS_ERR_NO_SHARED_CIPHER},
        {"no group in common", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "secp384r1", NULL,
         MTLS_ERR_NO_SHARED_GROUP},
        {"no signature scheme in common", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", NULL,
         "rsa_pss_rsae_sha256:rsa_pkcs1_sha256", MTLS_ERR_NO_SHARED_SIGALG},
    };
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[TP_P256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        case_begin(CAT_PARAMS, "%s", cases[i].what);
        mtls_config *ccfg = mtls_config_new(), *scfg = mtls_config_new();
        CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem),
                                                 sid->key_pem, strlen(sid->key_pem)),
                  MTLS_OK);
        CHECK_ERR(mtls_config_set_groups(scfg, "x25519:secp256r1"), MTLS_OK);
        CHECK_ERR(mtls_config_set_ca_mem(ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
        CHECK_ERR(mtls_config_set_ciphers(ccfg, cases[i].ciphers), MTLS_OK);
        if (cases[i].groups)
            CHECK_ERR(mtls_config_set_groups(ccfg, cases[i].groups), MTLS_OK);
        if (cases[i].sigalgs)
            CHECK_ERR(mtls_config_set_sigalgs(ccfg, cases[i].sigalgs), MTLS_OK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *srv = mtls_server_new(scfg);
        (void)tp_handshake(c, srv);
        CHECK_ERR(mtls_conn_error(c), MTLS_ERR_PEER_ALERT);
        CHECK_ERR(mtls_conn_error(srv), cases[i].want);
        CHECK_EQ(mtls_conn_alert_sent(srv), TLS_ALERT_HANDSHAKE_FAILURE);
        CHECK_EQ(mtls_conn_alert_received(c), TLS_ALERT_HANDSHAKE_FAILURE);
        printf("%s: server error %s: %s\n", cases[i].what, mtls_err_name(mtls_conn_error(srv)),
               mtls_conn_error_detail(srv));
        case_end();
        mtls_conn_free(c);
        mtls_conn_free(srv);
        mtls_config_free(ccfg);
        mtls_config_free(scfg);
    }
}

/* ---- 7. record layer ------------------------------------------------------------------------- */

static void header_only(flow *f, uint8_t type, size_t claimed, mtls_err want, int alert)
{
    uint8_t h[TLS_RECORD_HEADER] = {type, 3, 3, (uint8_t)(claimed >> 8), (uint8_t)claimed};
    mtls_err err = tp_feed(f->rcv, h, sizeof(h), 0);
    if (want == MTLS_OK) {
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
        CHECK_ERR(mtls_conn_error(f->rcv), MTLS_OK);
    } else {
        expect_flow_fail(f, err, want, alert);
    }
}

static void run_record_layer(void)
{
    env e;
    env_open(&e, &ecdhe_mutual);
    flow f;

    /* Before encryption a record carries at most 2^14 bytes (RFC 5246 6.2.1). */
    for (int server_side = 0; server_side < 2; server_side++)
        for (size_t claim = TLS_MAX_PLAINTEXT; claim <= TLS_MAX_PLAINTEXT + 1; claim++) {
            flow_open(&f, &e, server_side);
            case_begin(CAT_RECORD, "%s, plaintext record header claiming %zu bytes",
                       server_side ? "server" : "client", claim);
            header_only(&f, TLS_CT_HANDSHAKE, claim,
                        claim > TLS_MAX_PLAINTEXT ? MTLS_ERR_RECORD_OVERFLOW : MTLS_OK,
                        TLS_ALERT_RECORD_OVERFLOW);
            case_end();
            flow_close(&f);
        }
    /* A protected record carries at most 2^14 + 2048 bytes (RFC 5246 6.2.3). */
    for (size_t claim = TLS_MAX_CIPHERTEXT; claim <= TLS_MAX_CIPHERTEXT + 1; claim++) {
        pair_open(&f, &e);
        case_begin(CAT_RECORD, "established server, record header claiming %zu bytes", claim);
        header_only(&f, TLS_CT_APPLICATION_DATA, claim,
                    claim > TLS_MAX_CIPHERTEXT ? MTLS_ERR_RECORD_OVERFLOW : MTLS_OK,
                    TLS_ALERT_RECORD_OVERFLOW);
        case_end();
        flow_close(&f);
    }
    /* Same limit while the Finished is awaited (the first protected record). */
    flow_open(&f, &e, 1);
    case_begin(CAT_RECORD, "server in READ_FINISHED, record header claiming %d bytes",
               TLS_MAX_CIPHERTEXT + 1);
    CHECK(flow_reach(&f, S12_READ_FINISHED));
    header_only(&f, TLS_CT_HANDSHAKE, TLS_MAX_CIPHERTEXT + 1, MTLS_ERR_RECORD_OVERFLOW,
                TLS_ALERT_RECORD_OVERFLOW);
    case_end();
    flow_close(&f);

    /* A record that authenticates but holds 2^14 + 1 bytes of plaintext: refused when it is read
     * (mtls_read opens application data), opened in place (a 2^14-byte read) or straight into
     * the caller's buffer (a larger one), which then holds none of it. */
    for (size_t plain = TLS_MAX_PLAINTEXT; plain <= TLS_MAX_PLAINTEXT + 2; plain++) {
        pair_open(&f, &e);
        int direct = plain == TLS_MAX_PLAINTEXT + 2;
        size_t len = direct ? TLS_MAX_PLAINTEXT + 1 : plain;
        const char *how = len <= TLS_MAX_PLAINTEXT ? ""
                          : direct                 ? ", read into a larger buffer"
                                                   : ", read into 2^14 bytes";
        case_begin(CAT_RECORD, "sealed application data of %zu bytes%s", len, how);
        uint8_t *rec = calloc(1, TLS_RECORD_HEADER + 8 + len + CRY_AEAD_TAG_LEN);
        memset(rec + TLS_RECORD_HEADER + 8, 0x5a, len);
        size_t rec_len;
        f.c->rec.out.seq = f.s->rec.in.seq;
        CHECK_ERR(rec_seal(&f.c->rec.out, TLS_CT_APPLICATION_DATA, rec, NULL, len, &rec_len), MTLS_OK);
        mtls_err err = tp_feed(f.s, rec, rec_len, 0);
        if (len > TLS_MAX_PLAINTEXT) {
            CHECK_ERR(err, MTLS_OK);
            static uint8_t big[TLS_MAX_PLAINTEXT + 64];
            memset(big, 0, sizeof(big));
            size_t got = 99;
            err = mtls_read(f.s, big, direct ? sizeof(big) : TLS_MAX_PLAINTEXT, &got);
            CHECK_EQ(got, 0);
            size_t left = 0;
            for (size_t i = 0; i < sizeof(big); i++)
                left += big[i] != 0;
            CHECK_EQ(left, 0);
            expect_flow_fail(&f, err, MTLS_ERR_RECORD_OVERFLOW, TLS_ALERT_RECORD_OVERFLOW);
        } else {
            CHECK_ERR(err, MTLS_OK);
            static uint8_t out[TLS_MAX_PLAINTEXT];
            size_t got = 0;
            CHECK_ERR(mtls_read(f.s, out, sizeof(out), &got), MTLS_OK);
            CHECK_EQ(got, plain);
        }
        free(rec);
        case_end();
        flow_close(&f);
    }

    /* Unknown content types (RFC 5246 6: "If a TLS implementation receives an unexpected record
     * type, it MUST send an unexpected_message alert."). */
    static const uint8_t types[] = {0, 19, 24, 99, 255};
    static const uint8_t junk[] = {1, 2, 3, 4};
    for (size_t i = 0; i < sizeof(types); i++)
        for (int server_side = 0; server_side < 2; server_side++) {
            flow_open(&f, &e, server_side);
            case_begin(CAT_RECORD, "%s in its first read state, record of content type %u",
                       server_side ? "server" : "client", types[i]);
            mtls_err err = inject(&f, types[i], junk, sizeof(junk));
            expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
            case_end();
            flow_close(&f);
        }
    for (size_t i = 0; i < sizeof(types); i++) {
        pair_open(&f, &e);
        case_begin(CAT_RECORD, "established server, sealed record of content type %u", types[i]);
        mtls_err err = inject(&f, types[i], junk, sizeof(junk));
        expect_flow_fail(&f, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        case_end();
        flow_close(&f);
    }

    /* Handshake length claims: refused as soon as the 4-byte header is in, nothing buffered.  A
     * ClientHello may be as long as its fields allow (RFC 5246 7.4.1.2) and no longer: beyond,
     * decode_error; a Finished is verify_data alone, so any of these claims is decode_error;
     * other messages are capped at MTLS_MAX_HANDSHAKE_MSG (handshake_failure). */
    static const uint32_t claims[] = {0xFFFFFF, TLS_MAX_CLIENT_HELLO + 1, TLS_MAX_CLIENT_HELLO,
                                      MTLS_MAX_HANDSHAKE_MSG + 1, MTLS_MAX_HANDSHAKE_MSG};
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
        for (int where_ = 0; where_ < 3; where_++) {
            static const char *names[] = {"server/READ_CLIENT_HELLO", "client/READ_SERVER_HELLO",
                                          "client/READ_FINISHED"};
            flow_open(&f, &e, where_ == 0);
            case_begin(CAT_RECORD, "%s, handshake message claiming %u bytes", names[where_],
                       (unsigned)claims[i]);
            CHECK(where_ < 2 || flow_reach(&f, C12_READ_FINISHED));
            uint8_t h[4] = {where_ == 0 ? TLS_HS_CLIENT_HELLO : TLS_HS_SERVER_HELLO, 0, 0, 0};
            if (where_ == 2)
                h[0] = TLS_HS_FINISHED;
            be24_put(h + 1, claims[i]);
            mtls_err err = inject(&f, TLS_CT_HANDSHAKE, h, sizeof(h));
            if ((where_ == 0 && claims[i] > TLS_MAX_CLIENT_HELLO) || where_ == 2) {
                expect_flow_fail(&f, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
            } else if (where_ > 0 && claims[i] > MTLS_MAX_HANDSHAKE_MSG) {
                expect_flow_fail(&f, err, MTLS_ERR_HANDSHAKE_TOO_LARGE,
                                 TLS_ALERT_HANDSHAKE_FAILURE);
            } else {
                CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
                CHECK_ERR(mtls_conn_error(f.rcv), MTLS_OK);
            }
            CHECK(f.rcv->hs != NULL && f.rcv->hs->run != NULL && hs_in_cap(f.rcv) <= 4096);
            case_end();
            flow_close(&f);
        }
    /* the same claim split across two records */
    flow_open(&f, &e, 1);
    case_begin(CAT_RECORD, "server, a 2^24-1 claim split across two records");
    static const uint8_t part1[] = {TLS_HS_CLIENT_HELLO, 0xFF}, part2[] = {0xFF, 0xFF};
    CHECK_ERR(inject(&f, TLS_CT_HANDSHAKE, part1, sizeof(part1)), MTLS_OK);
    mtls_err err = inject(&f, TLS_CT_HANDSHAKE, part2, sizeof(part2));
    expect_flow_fail(&f, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
    CHECK(f.s->hs != NULL && f.s->hs->run != NULL && hs_in_cap(f.s) <= 4096);
    case_end();
    flow_close(&f);
    env_close(&e);
}

/* ---- 7b. record versions --------------------------------------------------------------------- */

/* The next delivery, in a record whose header says `version`: a handshake message or the
 * ChangeCipherSpec in clear, or a record the sender seals anew (the header is patched after
 * sealing; it is checked before the record is opened).  Then as flow_step. */
static mtls_err step_with_version(flow *f, uint16_t version)
{
    q_item *q = &f->q[f->head++];
    uint8_t *rec;
    size_t len;
    if (q->kind == Q_SEALED) {
        f->snd->rec.out.seq = f->rcv->rec.in.seq;
        CHECK_ERR(rec_write(&f->snd->rec, q->it.type, q->plain, q->plain_len), MTLS_OK);
        const uint8_t *out = mtls_send_buf(f->snd, &len);
        rec = malloc(len);
        memcpy(rec, out, len);
        mtls_send_ack(f->snd, len);
    } else if (q->kind == Q_CCS) {
        len = q->it.len;
        rec = malloc(len);
        memcpy(rec, q->it.p, len);
    } else {
        len = TLS_RECORD_HEADER + q->it.len;
        rec = malloc(len);
        rec[0] = TLS_CT_HANDSHAKE;
        be16_put(rec + 3, (uint16_t)q->it.len);
        memcpy(rec + TLS_RECORD_HEADER, q->it.p, q->it.len);
    }
    be16_put(rec + 1, version);
    f->last = tp_feed(f->rcv, rec, len, 0);
    free(rec);
    if (q->kind == Q_CCS)
        open_sealed(f);
    if (f->head == f->n && !f->rcv->error)
        turn(f);
    return f->last;
}

/* RFC 5246 E.1: a server MUST accept any {03,XX} as the record version of the ClientHello; from
 * the ServerHello on both sides use the negotiated version, {03,03}, and anything else is
 * answered with protocol_version -- in the clear handshake, in its protected part, and after it. */
static void run_record_versions(void)
{
    env e;
    env_open(&e, &ecdhe_mutual);
    flow f;
    static const uint16_t hello_ok[] = {0x0300, 0x0301, 0x0302, 0x0304};
    for (size_t i = 0; i < sizeof(hello_ok) / sizeof(hello_ok[0]); i++) {
        flow_open(&f, &e, 1);
        case_begin(CAT_RECORD, "server, ClientHello in a record of version 0x%04x", hello_ok[i]);
        CHECK(flow_front(&f) && flow_front(&f)->it.type == TLS_HS_CLIENT_HELLO);
        mtls_err err = step_with_version(&f, hello_ok[i]);
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
        flow_finish(&f);
        CHECK(mtls_conn_established(f.s));
        CHECK(mtls_conn_established(f.c));
        case_end();
        flow_close(&f);
    }

    static const uint16_t wrong[] = {0x0301, 0x0302, 0x0304};
    static const struct {
        int server_side;
        hs_state state; /* HS_DONE: after the handshake, an application-data record */
        const char *name;
    } at[] = {
        {1, S12_READ_CLIENT_CERT, "server/READ_CLIENT_CERT (first record after ServerHello)"},
        {1, S12_READ_FINISHED, "server/READ_FINISHED (first protected record)"},
        {1, HS_DONE, "established server"},
        {0, C12_READ_SERVER_CERT, "client/READ_SERVER_CERT (first record after ServerHello)"},
        {0, C12_READ_FINISHED, "client/READ_FINISHED (first protected record)"},
        {0, HS_DONE, "established client"},
    };
    for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++)
        for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
            mtls_err err;
            if (st_eq(at[k].state, HS_DONE)) {
                pair_open(&f, &e);
                f.rcv = at[k].server_side ? f.s : f.c;
                f.snd = at[k].server_side ? f.c : f.s;
                static const uint8_t req[] = "GET / HTTP/1.0\r\n\r\n";
                q_push(&f, Q_SEALED, TLS_CT_APPLICATION_DATA, req, sizeof(req) - 1);
                memcpy(f.q[0].plain, req, sizeof(req) - 1);
                f.q[0].plain_len = sizeof(req) - 1;
            } else {
                flow_open(&f, &e, at[k].server_side);
            }
            case_begin(CAT_RECORD, "%s, record of version 0x%04x", at[k].name, wrong[i]);
            CHECK(st_eq(at[k].state, HS_DONE) || flow_reach(&f, at[k].state));
            err = step_with_version(&f, wrong[i]);
            expect_flow_fail(&f, err, MTLS_ERR_BAD_RECORD_VERSION, TLS_ALERT_PROTOCOL_VERSION);
            case_end();
            flow_close(&f);
        }
    env_close(&e);
}

/* ---- main ------------------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    double t0 = now_s();
    tp_get();
    env lib_env;
    env_open(&lib_env, &ecdhe_mutual);
    library_build(&lib_env);
    env_close(&lib_env);

    run_wrong_states();
    run_truncations();
    run_bitflips();
    run_read_before_bad_record();
    run_bad_finished();
    run_unoffered();
    run_require_without_cert();
    run_empty_server_cert();
    run_nothing_shared();
    run_record_layer();
    run_record_versions();
    run_conformance();

    for (int k = 1; k < CAT_COUNT; k++)
        printf("negative %-52s %5d cases\n", cat_names[k], cat_cases[k]);
    printf("negative tests ran in %.1f s\n", now_s() - t0);
    for (size_t i = 0; i < 256; i++)
        free(library[i].p);
    return t_done();
}
