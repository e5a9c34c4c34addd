/*
 * test_states.c -- the handshake state machine, exhaustively, from a table of its states: for
 * EVERY value of hs_state (both roles, full and abbreviated handshakes, the send states and
 * HS_DONE included) and EVERY injection -- each handshake type (and an unknown one), a
 * ChangeCipherSpec, a warning alert, a fatal alert, close_notify, application data -- the outcome
 * the table implies is checked on the wire:
 *
 *   - a message the state does not accept, a CCS outside READ_CCS, application data before the
 *     handshake is done: unexpected_message, as a fatal alert the peer decodes;
 *   - a HelloRequest at a client during the handshake: ignored (RFC 5246 7.4.1.1);
 *   - a warning alert: ignored, nothing sent, state unchanged (bounded: see tests/hostile);
 *   - a fatal alert: the connection ends with PEER_ALERT and we send nothing (RFC 5246 7.2.2);
 *   - close_notify during the handshake: the handshake ends with MTLS_ERR_CLOSED;
 *   - after the handshake (HS_DONE): a ClientHello at a server / HelloRequest at a client gets a
 *     no_renegotiation WARNING and the connection lives on; any other handshake message is
 *     unexpected_message; application data is delivered.
 *
 * A connection never waits in a send state (the driver runs it as soon as it is entered), so a
 * send state is reached the only way a peer can reach it: the injection travels in the same
 * record (or the same read) as the message that enters the send state, and is judged by the read
 * state the send state leads to.  C12_SEND_CLIENT_HELLO is a client given bytes before its first
 * mtls_handshake().
 *
 * tests/handshake/test_negative.c checks wrong handshake types, early CCS and early data in the
 * read states with exact error codes; this file adds what the table brings: the send states and
 * HS_DONE, alerts of each kind in every state, unknown types, close_notify, coalesced delivery,
 * and a check that the table names every state of both roles' enums (each role file owns its
 * enum; the table knows the states by the names hs_state_name() reports).
 *
 * Regression: handshake bytes that arrive in the same record as the final Finished were once
 * dropped with the handshake state (finding F2 in fuzz/FINDINGS.md, fixed in f13a904); the send
 * states that lead to HS_DONE check that they are now judged as post-handshake messages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hsstate.h"
#include "common/testpki.h"
#include "t.h"

/* ---- the table --------------------------------------------------------------------------- */

enum { K_READ, K_SEND, K_DONE };
enum { SU_FULL_MUTUAL, SU_RSA_PLAIN, SU_RESUMED, SU_STAPLED, SU_COUNT };

typedef struct state_row {
    hs_state name;
    int server;
    int kind;
    uint8_t accepts[2]; /* read states: handshake types accepted (0xff: none) */
    int setup;          /* a setup that passes through the state */
    /* send states: the read state and message type that enter it, and where it leads */
    hs_state from;
    uint8_t entering;
    hs_state next;
} state_row;

#define NONE 0xff
static const state_row table[] = {
    {C12_SEND_CLIENT_HELLO,
     0,
     K_SEND,
     {NONE, NONE},
     SU_FULL_MUTUAL,
     C12_SEND_CLIENT_HELLO,
     NONE,
     C12_READ_SERVER_HELLO},
    {C12_READ_SERVER_HELLO, 0, K_READ, {TLS_HS_SERVER_HELLO, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {C12_READ_SERVER_CERT, 0, K_READ, {TLS_HS_CERTIFICATE, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    /* after an acknowledged status_request: the staple, or (RFC 6066 8: it is optional) what
     * follows Certificate in an ECDHE handshake */
    {C12_READ_CERT_STATUS,
     0,
     K_READ,
     {TLS_HS_CERTIFICATE_STATUS, TLS_HS_SERVER_KEY_EXCHANGE},
     SU_STAPLED,
     0,
     0,
     0},
    {C12_READ_SERVER_KEY_EXCHANGE,
     0,
     K_READ,
     {TLS_HS_SERVER_KEY_EXCHANGE, NONE},
     SU_FULL_MUTUAL,
     0,
     0,
     0},
    {C12_READ_CERT_REQUEST_OR_SERVER_DONE,
     0,
     K_READ,
     {TLS_HS_CERTIFICATE_REQUEST, TLS_HS_SERVER_HELLO_DONE},
     SU_FULL_MUTUAL,
     0,
     0,
     0},
    {C12_READ_SERVER_DONE, 0, K_READ, {TLS_HS_SERVER_HELLO_DONE, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {C12_SEND_CLIENT_FLIGHT,
     0,
     K_SEND,
     {NONE, NONE},
     SU_FULL_MUTUAL,
     C12_READ_SERVER_DONE,
     TLS_HS_SERVER_HELLO_DONE,
     C12_READ_NEW_SESSION_TICKET},
    /* the rest of the client's flight, from the CertificateVerify on (where the application's
     * key method may keep it waiting: test_keyop) */
    {C12_SEND_CERT_VERIFY,
     0,
     K_SEND,
     {NONE, NONE},
     SU_FULL_MUTUAL,
     C12_READ_SERVER_DONE,
     TLS_HS_SERVER_HELLO_DONE,
     C12_READ_NEW_SESSION_TICKET},
    {C12_READ_NEW_SESSION_TICKET,
     0,
     K_READ,
     {TLS_HS_NEW_SESSION_TICKET, NONE},
     SU_FULL_MUTUAL,
     0,
     0,
     0},
    {C12_READ_CCS, 0, K_READ, {NONE, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {C12_READ_FINISHED, 0, K_READ, {TLS_HS_FINISHED, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {C12_SEND_FINISHED_RESUMED,
     0,
     K_SEND,
     {NONE, NONE},
     SU_RESUMED,
     C12_READ_FINISHED,
     TLS_HS_FINISHED,
     HS_DONE},
    {S12_READ_CLIENT_HELLO, 1, K_READ, {TLS_HS_CLIENT_HELLO, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {S12_SEND_SERVER_FLIGHT,
     1,
     K_SEND,
     {NONE, NONE},
     SU_FULL_MUTUAL,
     S12_READ_CLIENT_HELLO,
     TLS_HS_CLIENT_HELLO,
     S12_READ_CLIENT_CERT},
    {S12_SEND_SERVER_KEY_EXCHANGE,
     1,
     K_SEND,
     {NONE, NONE},
     SU_FULL_MUTUAL,
     S12_READ_CLIENT_HELLO,
     TLS_HS_CLIENT_HELLO,
     S12_READ_CLIENT_CERT},
    {S12_SEND_RESUMED_FLIGHT,
     1,
     K_SEND,
     {NONE, NONE},
     SU_RESUMED,
     S12_READ_CLIENT_HELLO,
     TLS_HS_CLIENT_HELLO,
     S12_READ_CCS},
    {S12_READ_CLIENT_CERT, 1, K_READ, {TLS_HS_CERTIFICATE, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {S12_READ_CLIENT_KEY_EXCHANGE,
     1,
     K_READ,
     {TLS_HS_CLIENT_KEY_EXCHANGE, NONE},
     SU_RSA_PLAIN,
     0,
     0,
     0},
    /* static RSA: the premaster decrypted (by the application's key method, maybe later) */
    {S12_DECRYPT_PREMASTER,
     1,
     K_SEND,
     {NONE, NONE},
     SU_RSA_PLAIN,
     S12_READ_CLIENT_KEY_EXCHANGE,
     TLS_HS_CLIENT_KEY_EXCHANGE,
     S12_READ_CCS},
    {S12_READ_CERT_VERIFY, 1, K_READ, {TLS_HS_CERTIFICATE_VERIFY, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {S12_READ_CCS, 1, K_READ, {NONE, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {S12_READ_FINISHED, 1, K_READ, {TLS_HS_FINISHED, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
    {S12_SEND_FINISHED,
     1,
     K_SEND,
     {NONE, NONE},
     SU_FULL_MUTUAL,
     S12_READ_FINISHED,
     TLS_HS_FINISHED,
     HS_DONE},
    {HS_DONE, -1, K_DONE, {NONE, NONE}, SU_FULL_MUTUAL, 0, 0, 0},
};

#define N_ROWS (sizeof(table) / sizeof(table[0]))

static const state_row *row_of(hs_state st)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (st_eq(table[i].name, st))
            return &table[i];
    return NULL;
}

/* Extra rows: the same read states in other setups (the resumed handshake's, static RSA's). */
typedef struct extra_row {
    hs_state state;
    int setup;
} extra_row;
static const extra_row extras[] = {
    {C12_READ_SERVER_HELLO, SU_RESUMED}, {C12_READ_CCS, SU_RESUMED},
    {C12_READ_FINISHED, SU_RESUMED},     {S12_READ_CLIENT_HELLO, SU_RESUMED},
    {S12_READ_CCS, SU_RESUMED},          {S12_READ_FINISHED, SU_RESUMED},
    {C12_READ_SERVER_CERT, SU_RSA_PLAIN}, {C12_READ_CERT_REQUEST_OR_SERVER_DONE, SU_RSA_PLAIN},
    {S12_READ_CCS, SU_RSA_PLAIN},
};

/* ---- injections -------------------------------------------------------------------------- */

enum { INJ_HS, INJ_CCS, INJ_WARNING, INJ_FATAL, INJ_CLOSE, INJ_DATA };
typedef struct injection {
    int kind;
    uint8_t hs_type; /* INJ_HS */
    const char *name;
} injection;

static const uint8_t hs_types[] = {TLS_HS_HELLO_REQUEST,       TLS_HS_CLIENT_HELLO,
                                   TLS_HS_SERVER_HELLO,        TLS_HS_NEW_SESSION_TICKET,
                                   TLS_HS_CERTIFICATE,         TLS_HS_SERVER_KEY_EXCHANGE,
                                   TLS_HS_CERTIFICATE_REQUEST, TLS_HS_SERVER_HELLO_DONE,
                                   TLS_HS_CERTIFICATE_VERIFY,  TLS_HS_CLIENT_KEY_EXCHANGE,
                                   TLS_HS_FINISHED,            TLS_HS_CERTIFICATE_STATUS,
                                   99 /* unknown */};

/* What the table says must happen. */
enum { X_ACCEPT, X_UNEXPECTED, X_IGNORED, X_PEER_FATAL, X_CLOSED, X_NO_RENEG, X_DATA };
static const char *x_names[] = {"accepted",     "unexpected_message", "ignored",
                                "peer fatal",   "closed",             "no_renegotiation warning",
                                "data"};

static int expected(hs_state st, int server, const injection *inj)
{
    const state_row *row = row_of(st);
    if (row->kind == K_SEND)
        return expected(row->next, server, inj);
    switch (inj->kind) {
    case INJ_WARNING: return X_IGNORED;
    case INJ_FATAL: return X_PEER_FATAL;
    case INJ_CLOSE: return X_CLOSED;
    case INJ_DATA: return row->kind == K_DONE ? X_DATA : X_UNEXPECTED;
    case INJ_CCS:
        return st_eq(st, C12_READ_CCS) || st_eq(st, S12_READ_CCS) ? X_ACCEPT : X_UNEXPECTED;
    default: break;
    }
    uint8_t t = inj->hs_type;
    if (row->kind == K_DONE) {
        if (server ? t == TLS_HS_CLIENT_HELLO : t == TLS_HS_HELLO_REQUEST)
            return X_NO_RENEG;
        return X_UNEXPECTED;
    }
    if (!server && t == TLS_HS_HELLO_REQUEST)
        return X_IGNORED;
    if (t == row->accepts[0] || t == row->accepts[1])
        return X_ACCEPT;
    return X_UNEXPECTED;
}

/* ---- configurations ------------------------------------------------------------------------ */

typedef struct env {
    mtls_config *ccfg, *scfg;
    mtls_session *session;
} env;
static env envs[SU_COUNT];

static void env_init(void)
{
    const tp_pki *pki = tp_get();
    for (int k = 0; k < SU_COUNT; k++) {
        env *e = &envs[k];
        const tp_ident *sid = &pki->server[k == SU_RSA_PLAIN ? TP_RSA2048 : TP_P256];
        const tp_ident *cid = &pki->client[TP_P256];
        e->ccfg = mtls_config_new();
        e->scfg = mtls_config_new();
        /* The TLS 1.2 state machines (test_tls13 has TLS 1.3's). */
        CHECK_ERR(mtls_config_set_versions(e->ccfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12),
                  MTLS_OK);
        CHECK_ERR(mtls_config_set_versions(e->scfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12),
                  MTLS_OK);
        CHECK_ERR(mtls_config_set_cert_chain_mem(e->scfg, sid->cert_pem, strlen(sid->cert_pem),
                                                 sid->key_pem, strlen(sid->key_pem)),
                  MTLS_OK);
        CHECK_ERR(mtls_config_set_ca_mem(e->scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
        CHECK_ERR(mtls_config_set_ca_mem(e->ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
        if (k == SU_RSA_PLAIN) {
            CHECK_ERR(mtls_config_set_ciphers(e->ccfg, "TLS_RSA_WITH_AES_128_GCM_SHA256"), MTLS_OK);
            CHECK_ERR(mtls_config_set_tickets(e->ccfg, 0), MTLS_OK);
        } else {
            CHECK_ERR(mtls_config_set_ciphers(e->ccfg, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
                      MTLS_OK);
            CHECK_ERR(mtls_config_set_verify_client(e->scfg, MTLS_VERIFY_REQUIRE), MTLS_OK);
            CHECK_ERR(mtls_config_set_cert_chain_mem(e->ccfg, cid->cert_pem, strlen(cid->cert_pem),
                                                     cid->key_pem, strlen(cid->key_pem)),
                      MTLS_OK);
        }
        if (k == SU_STAPLED) { /* the server staples an OCSP response; the client asks */
            uint8_t *der;
            size_t len = tp_ocsp_response(sid->cert_pem, 0, -60, 86400, &der);
            CHECK(len > 0);
            CHECK_ERR(mtls_config_set_ocsp_staple_mem(e->scfg, der, len), MTLS_OK);
            CHECK_ERR(mtls_config_set_ocsp_request(e->ccfg, 1), MTLS_OK);
            free(der);
        }
        if (k == SU_RESUMED) {
            mtls_conn *c = mtls_client_new(e->ccfg, "localhost"), *s = mtls_server_new(e->scfg);
            CHECK_ERR(tp_handshake(c, s), MTLS_OK);
            e->session = mtls_conn_get_session(c);
            CHECK(e->session != NULL);
            mtls_conn_free(c);
            mtls_conn_free(s);
        }
    }
}

/* ---- a handshake delivered one message (or one protected record) at a time ------------------ */

enum { D_MSG, D_REC };
typedef struct dlv {
    int kind;
    uint8_t type;
    uint8_t *p;
    size_t len;
} dlv;

typedef struct flow {
    mtls_conn *c, *s, *rcv, *snd;
    dlv q[32];
    size_t head, n;
    int snd_ccs; /* the sender's CCS went out: what follows is protected */
    uint8_t hs[64 * 1024];
    size_t hs_len;
} flow;

static void q_add(flow *f, int kind, uint8_t type, const uint8_t *p, size_t len)
{
    if (f->n == 32)
        abort();
    dlv *d = &f->q[f->n++];
    d->kind = kind;
    d->type = type;
    d->p = malloc(len);
    memcpy(d->p, p, len);
    d->len = len;
}

static size_t plain_record(uint8_t *out, uint8_t type, const uint8_t *p, size_t n)
{
    out[0] = type;
    out[1] = 3;
    out[2] = 3;
    be16_put(out + 3, (uint16_t)n);
    memcpy(out + 5, p, n);
    return 5 + n;
}

/* The sender's new output, as deliveries. */
static void capture(flow *f)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(f->snd, &n);
    for (size_t off = 0; p && off + 5 <= n;) {
        size_t len = 5 + be16_get(p + off + 3);
        const uint8_t *rec = p + off;
        off += len;
        if (rec[0] == TLS_CT_CHANGE_CIPHER_SPEC) {
            f->snd_ccs = 1;
            q_add(f, D_REC, rec[0], rec, len);
        } else if (f->snd_ccs || rec[0] != TLS_CT_HANDSHAKE) {
            q_add(f, D_REC, rec[0], rec, len);
        } else {
            memcpy(f->hs + f->hs_len, rec + 5, len - 5);
            f->hs_len += len - 5;
            size_t used = 0;
            while (f->hs_len - used >= 4 && f->hs_len - used >= 4 + be24_get(f->hs + used + 1)) {
                size_t mlen = 4 + be24_get(f->hs + used + 1);
                q_add(f, D_MSG, f->hs[used], f->hs + used, mlen);
                used += mlen;
            }
            memmove(f->hs, f->hs + used, f->hs_len - used);
            f->hs_len -= used;
        }
    }
    if (p)
        mtls_send_ack(f->snd, n);
}

/* Whatever the receiver sent goes to the sender; the sender's answer is queued. */
static void turn(flow *f)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(f->rcv, &n);
    if (p && n) {
        uint8_t *copy = malloc(n);
        memcpy(copy, p, n);
        mtls_send_ack(f->rcv, n);
        tp_feed(f->snd, copy, n, 0);
        free(copy);
    }
    capture(f);
}

static void flow_open(flow *f, int setup, int server_side)
{
    memset(f, 0, sizeof(*f));
    f->c = mtls_client_new(envs[setup].ccfg, "localhost");
    f->s = mtls_server_new(envs[setup].scfg);
    if (envs[setup].session)
        CHECK_ERR(mtls_conn_set_session(f->c, envs[setup].session), MTLS_OK);
    f->rcv = server_side ? f->s : f->c;
    f->snd = server_side ? f->c : f->s;
}

/* The client speaks first: a server under test gets the ClientHello queued. */
static void flow_start(flow *f)
{
    mtls_handshake(f->c);
    if (f->rcv == f->s) {
        capture(f);
    } else {
        turn(f);
    }
}

static void flow_close(flow *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->q[i].p);
    mtls_conn_free(f->c);
    mtls_conn_free(f->s);
}

static mtls_err deliver(flow *f, const dlv *d)
{
    if (d->kind == D_MSG) {
        uint8_t rec[5 + 16384];
        return tp_feed(f->rcv, rec, plain_record(rec, TLS_CT_HANDSHAKE, d->p, d->len), 0);
    }
    return tp_feed(f->rcv, d->p, d->len, 0);
}

static int flow_step(flow *f)
{
    if (f->head == f->n)
        return 0;
    deliver(f, &f->q[f->head++]);
    if (f->head == f->n && !f->rcv->error)
        turn(f);
    return 1;
}

/* Deliver until the receiver waits in `st` with `front_type` next (0xff: any); 0 if never. */
static int flow_reach(flow *f, hs_state st, uint8_t front_type)
{
    for (;;) {
        if (f->rcv->error)
            return 0;
        if (st_eq(state_of(f->rcv), st) && f->head < f->n &&
            (front_type == NONE ||
             (f->q[f->head].kind == D_MSG && f->q[f->head].type == front_type) ||
             (front_type == TLS_HS_FINISHED && f->q[f->head].kind == D_REC &&
              f->q[f->head].type == TLS_CT_HANDSHAKE)))
            return 1;
        if (st_eq(st, HS_DONE) && mtls_conn_established(f->c) && mtls_conn_established(f->s))
            return 1;
        if (!flow_step(f))
            return 0;
    }
}

/* ---- building the injected record(s) --------------------------------------------------------- */

/* A body for each injected handshake type: short but shaped like the real thing is not needed --
 * the state refuses the type before parsing; accepted types are not injected. */
static size_t inj_payload(const injection *inj, uint8_t *out)
{
    switch (inj->kind) {
    case INJ_HS:
        out[0] = inj->hs_type;
        if (inj->hs_type == TLS_HS_HELLO_REQUEST) {
            be24_put(out + 1, 0);
            return 4;
        }
        be24_put(out + 1, 4);
        memcpy(out + 4, "\x03\x03\x00\x00", 4);
        return 8;
    case INJ_CCS: out[0] = 1; return 1;
    case INJ_WARNING: out[0] = 1; out[1] = TLS_ALERT_USER_CANCELED; return 2;
    case INJ_FATAL: out[0] = 2; out[1] = TLS_ALERT_HANDSHAKE_FAILURE; return 2;
    case INJ_CLOSE: out[0] = 1; out[1] = TLS_ALERT_CLOSE_NOTIFY; return 2;
    default: memcpy(out, "early data", 10); return 10;
    }
}

static uint8_t inj_ct(const injection *inj)
{
    switch (inj->kind) {
    case INJ_HS: return TLS_CT_HANDSHAKE;
    case INJ_CCS: return TLS_CT_CHANGE_CIPHER_SPEC;
    case INJ_DATA: return TLS_CT_APPLICATION_DATA;
    default: return TLS_CT_ALERT;
    }
}

/* One record as the receiver expects it now: clear, or sealed by the sender at the receiver's
 * next sequence number (+ `ahead`). */
static size_t make_record(flow *f, uint8_t ct, const uint8_t *p, size_t n, uint64_t ahead,
                          uint8_t *out)
{
    if (!f->rcv->rec.in.aead)
        return plain_record(out, ct, p, n);
    size_t pending;
    mtls_send_buf(f->snd, &pending);
    if (pending)
        abort();
    f->snd->rec.out.seq = f->rcv->rec.in.seq + ahead;
    CHECK_ERR(rec_write(&f->snd->rec, ct, p, n), MTLS_OK);
    const uint8_t *rec = mtls_send_buf(f->snd, &pending);
    memcpy(out, rec, pending);
    mtls_send_ack(f->snd, pending);
    return pending;
}

/* ---- checking the outcome on the wire ------------------------------------------------------- */

typedef struct wire_alert {
    int level, desc;
} wire_alert;

/* The alerts in what `rcv` sent, decoded record by record as the peer reads them: each record is
 * opened with a copy of the peer's read state of that moment, then given to the peer. */
static size_t take_alerts(flow *f, wire_alert *out, size_t cap)
{
    size_t n, count = 0;
    const uint8_t *p = mtls_send_buf(f->rcv, &n);
    if (!p)
        return 0;
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    mtls_send_ack(f->rcv, n);
    for (size_t off = 0; off + 5 <= n;) {
        size_t len = 5 + be16_get(copy + off + 3);
        uint8_t *rec = malloc(len), *plain = rec + 5;
        memcpy(rec, copy + off, len);
        size_t plain_len = len - 5;
        int ok = 1;
        if (f->snd->rec.in.aead) {
            rec_dir rdc = f->snd->rec.in; /* struct copy: same key, its own sequence number */
            ok = rec_open(&rdc, rec, len, &plain, &plain_len) == MTLS_OK;
        }
        if (ok && rec[0] == TLS_CT_ALERT && plain_len == 2 && count < cap) {
            out[count].level = plain[0];
            out[count].desc = plain[1];
            count++;
        }
        free(rec);
        tp_feed(f->snd, copy + off, len, 0);
        off += len;
    }
    free(copy);
    return count;
}


static void check_outcome(flow *f, hs_state st, const injection *inj, int want, mtls_err err,
                          hs_state before, const char *what)
{
    mtls_conn *r = f->rcv;
    wire_alert al[8];
    int fails = t_fail;
    size_t pending;
    mtls_send_buf(r, &pending);
    size_t n = take_alerts(f, al, 8);
    switch (want) {
    case X_UNEXPECTED:
        CHECK_ERR(err, MTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK_ERR(mtls_conn_error(r), MTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK_EQ(mtls_conn_alert_sent(r), TLS_ALERT_UNEXPECTED_MESSAGE);
        /* on the wire: the last alert is a fatal unexpected_message, and the peer decodes it */
        CHECK(n >= 1);
        if (n) {
            CHECK_EQ(al[n - 1].level, 2);
            CHECK_EQ(al[n - 1].desc, TLS_ALERT_UNEXPECTED_MESSAGE);
        }
        CHECK_EQ(mtls_conn_alert_received(f->snd), TLS_ALERT_UNEXPECTED_MESSAGE);
        break;
    case X_IGNORED:
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
        CHECK_ERR(mtls_conn_error(r), MTLS_OK);
        CHECK(st_eq(state_of(r), before));
        CHECK_EQ(n, 0);
        break;
    case X_PEER_FATAL:
        CHECK_ERR(err, MTLS_ERR_PEER_ALERT);
        CHECK_ERR(mtls_conn_error(r), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(mtls_conn_alert_received(r), TLS_ALERT_HANDSHAKE_FAILURE);
        CHECK_EQ(mtls_conn_alert_sent(r), -1);
        /* RFC 5246 7.2.2: no answer to a fatal alert (what the receiver sent before it, e.g. its
         * Finished, may be there; no alert is) */
        CHECK_EQ(n, 0);
        if (row_of(st)->kind != K_SEND && !st_eq(st, C12_SEND_CLIENT_HELLO))
            CHECK_EQ(pending, 0);
        break;
    case X_CLOSED:
        CHECK(mtls_conn_close_received(r));
        if (mtls_conn_established(r)) {
            uint8_t b[8];
            size_t got;
            CHECK_ERR(mtls_read(r, b, sizeof(b), &got), MTLS_ERR_CLOSED);
        } else {
            CHECK_ERR(mtls_handshake(r), MTLS_ERR_CLOSED);
        }
        break;
    case X_NO_RENEG:
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
        CHECK_ERR(mtls_conn_error(r), MTLS_OK);
        CHECK(mtls_conn_established(r));
        CHECK_EQ(n, 1);
        if (n) {
            CHECK_EQ(al[0].level, 1);
            CHECK_EQ(al[0].desc, TLS_ALERT_NO_RENEGOTIATION);
        }
        CHECK(tp_send_check(f->c, f->s, "still alive", 11));
        break;
    case X_DATA: {
        uint8_t buf[32];
        size_t got = 0;
        CHECK_ERR(mtls_read(r, buf, sizeof(buf), &got), MTLS_OK);
        CHECK_EQ(got, 10);
        CHECK_MEM(buf, "early data", 10);
        break;
    }
    default:
        break;
    }
    if (t_fail != fails)
        fprintf(stderr, "  ^ %s: %s given %s, want %s (got %s: %s)\n", what, st, inj->name,
                x_names[want], mtls_err_name(mtls_conn_error(r)), mtls_conn_error_detail(r));
}

/* ---- one case ------------------------------------------------------------------------------ */

static int cases, skipped_accept;

static void run_case(hs_state st, int setup, int server_side, const injection *inj)
{
    const state_row *row = row_of(st);
    int want = expected(st, server_side, inj);
    if (want == X_ACCEPT) {
        skipped_accept++;
        return;
    }
    cases++;
    flow f;
    flow_open(&f, setup, server_side);
    uint8_t payload[64], buf[2 * 16384 + 256];
    size_t plen = inj_payload(inj, payload);
    mtls_err err;
    hs_state before;
    char what[96];
    snprintf(what, sizeof(what), "%s, %s", setup == SU_RESUMED ? "resumed" : setup == SU_RSA_PLAIN
                                                                                  ? "static RSA"
                                                                                  : "ECDHE mutual",
             server_side ? "server" : "client");

    if (st_eq(st, C12_SEND_CLIENT_HELLO)) {
        /* bytes before the first mtls_handshake() */
        before = C12_READ_SERVER_HELLO;
        size_t n = plain_record(buf, inj_ct(inj), payload, plen);
        err = tp_feed(f.c, buf, n, 0);
        if (inj->kind == INJ_CCS) {
            CHECK_ERR(err, MTLS_ERR_UNEXPECTED_MESSAGE);
            flow_close(&f);
            return;
        }
    } else if (row->kind == K_SEND) {
        flow_start(&f);
        if (!flow_reach(&f, row->from, row->entering)) {
            CHECK(!"entering state not reached");
            fprintf(stderr, "  ^ %s: %s\n", what, row->name);
            flow_close(&f);
            return;
        }
        before = row->next;
        const dlv *d = &f.q[f.head++];
        size_t n = 0;
        if (d->kind == D_MSG) {
            if (inj->kind == INJ_HS) {
                /* the entering message and the injection in one record */
                uint8_t both[16384];
                memcpy(both, d->p, d->len);
                memcpy(both + d->len, payload, plen);
                n = plain_record(buf, TLS_CT_HANDSHAKE, both, d->len + plen);
            } else {
                n = plain_record(buf, TLS_CT_HANDSHAKE, d->p, d->len);
                /* the receiver's keys are not on yet after a plaintext message */
                n += plain_record(buf + n, inj_ct(inj), payload, plen);
            }
        } else {
            /* the sealed Finished: open it with a copy of the receiver's read state */
            rec_dir rdc = f.rcv->rec.in;
            uint8_t rec[512], *plain;
            size_t plain_len;
            memcpy(rec, d->p, d->len);
            CHECK_ERR(rec_open(&rdc, rec, d->len, &plain, &plain_len), MTLS_OK);
            if (inj->kind == INJ_HS) {
                uint8_t both[512];
                memcpy(both, plain, plain_len);
                memcpy(both + plain_len, payload, plen);
                n = make_record(&f, TLS_CT_HANDSHAKE, both, plain_len + plen, 0, buf);
            } else {
                n = make_record(&f, TLS_CT_HANDSHAKE, plain, plain_len, 0, buf);
                n += make_record(&f, inj_ct(inj), payload, plen, 1, buf + n);
            }
        }
        err = tp_feed(f.rcv, buf, n, 0);
        if (!f.rcv->error && !st_eq(row->next, HS_DONE))
            before = state_of(f.rcv);
    } else if (row->kind == K_DONE) {
        flow_start(&f);
        while (flow_step(&f))
            ;
        CHECK(mtls_conn_established(f.c) && mtls_conn_established(f.s));
        before = HS_DONE;
        size_t n = make_record(&f, inj_ct(inj), payload, plen, 0, buf);
        err = tp_feed(f.rcv, buf, n, 0);
    } else {
        flow_start(&f);
        if (!flow_reach(&f, st, NONE)) {
            CHECK(!"state not reached");
            fprintf(stderr, "  ^ %s: %s\n", what, row->name);
            flow_close(&f);
            return;
        }
        before = st;
        size_t n = make_record(&f, inj_ct(inj), payload, plen, 0, buf);
        err = tp_feed(f.rcv, buf, n, 0);
    }
    check_outcome(&f, st, inj, want, err, before, what);
    flow_close(&f);
}

static void run_state(hs_state st, int setup)
{
    const state_row *row = row_of(st);
    injection inj;
    int sides[2] = {row->server, row->server};
    int nsides = 1;
    if (row->kind == K_DONE) {
        sides[0] = 0;
        sides[1] = 1;
        nsides = 2;
    }
    for (int k = 0; k < nsides; k++) {
        for (size_t i = 0; i < sizeof(hs_types); i++) {
            char name[48];
            snprintf(name, sizeof(name), "%s", hs_msg_name(hs_types[i]));
            inj = (injection){INJ_HS, hs_types[i], name};
            run_case(st, setup, sides[k], &inj);
        }
        static const injection others[] = {{INJ_CCS, 0, "ChangeCipherSpec"},
                                           {INJ_WARNING, 0, "a warning alert"},
                                           {INJ_FATAL, 0, "a fatal alert"},
                                           {INJ_CLOSE, 0, "close_notify"},
                                           {INJ_DATA, 0, "application data"}};
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
            run_case(st, setup, sides[k], &others[i]);
    }
}

int main(void)
{
    env_init();
    /* The table names every state of both roles' enums, and nothing else (HS_DONE: after). */
    const hs_role *roles[] = {&hs_client12, &hs_server12};
    size_t n_states = 1;
    for (size_t r = 0; r < 2; r++)
        for (int st = 0; st < roles[r]->n_states; st++, n_states++) {
            const char *name = roles[r]->state_names[st];
            CHECK(name != NULL && row_of(name) != NULL);
            if (!name || !row_of(name))
                fprintf(stderr, "  ^ %s state %d (%s) has no row in the table\n", roles[r]->name,
                        st, name ? name : "unnamed");
        }
    CHECK_EQ(N_ROWS, n_states);
    int states = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        run_state(table[i].name, table[i].setup);
        states++;
    }
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
        run_state(extras[i].state, extras[i].setup);
    printf("state table: %d states (+%zu in other setups), %d injected cases, %d accepted "
           "(happy path) skipped\n",
           states, sizeof(extras) / sizeof(extras[0]), cases, skipped_accept);
    for (int k = 0; k < SU_COUNT; k++) {
        mtls_session_free(envs[k].session);
        mtls_config_free(envs[k].ccfg);
        mtls_config_free(envs[k].scfg);
    }
    return t_done();
}
