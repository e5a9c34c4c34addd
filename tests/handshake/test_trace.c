/*
 * test_trace.c -- trace events (mtls_config_set_trace_events): a handshake reported step by step
 * as data, checked on the data alone -- kinds, message types, decisions, flags -- never on the
 * words, which are for people.  Both roles of a full mutual ECDHE handshake give the messages of
 * RFC 5246 7.3 in order with the checks, keys and establishment between them; a resumed one
 * reports the offer and the acceptance by ticket; a bad certificate gives a failed check and the
 * fatal alert both ways; and the text trace, set beside, receives the very same steps (the same
 * dir, what and detail) in the same order.  TLS 1.3 likewise: full, resumed and after a
 * HelloRetryRequest.  Each message and alert also says how its record crossed the wire: in clear,
 * under TLS 1.2's write keys, or under TLS 1.3's handshake or application traffic secret N --
 * checked for every message of both versions' mutual handshakes, after a HelloRetryRequest, on
 * resumption, and around a KeyUpdate.
 */
#include <stdio.h>
#include <string.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"

#define MAX_EVENTS 64

typedef struct step {
    mtls_trace_kind kind;
    int msg;
    mtls_trace_decision decision;
    int alert, level;
    mtls_err result;
    unsigned flags;
    char dir;
    char what[32], detail[160];
    mtls_trace_protection prot;
    unsigned gen;
} step;

typedef struct log {
    step ev[MAX_EVENTS];
    int n;
    step text[MAX_EVENTS]; /* from the text callback: dir, what, detail */
    int n_text;
} log;

static void on_event(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    log *l = arg;
    if (l->n == MAX_EVENTS)
        return;
    step *s = &l->ev[l->n++];
    s->kind = ev->kind;
    s->msg = ev->msg;
    s->decision = ev->decision;
    s->alert = ev->alert;
    s->level = ev->level;
    s->result = ev->result;
    s->flags = ev->flags;
    s->dir = ev->dir;
    s->prot = ev->protection;
    s->gen = ev->generation;
    snprintf(s->what, sizeof(s->what), "%s", ev->what);
    snprintf(s->detail, sizeof(s->detail), "%s", ev->detail);
}

static void on_text(void *arg, const mtls_conn *conn, char dir, const char *what,
                    const char *detail)
{
    (void)conn;
    log *l = arg;
    if (l->n_text == MAX_EVENTS)
        return;
    step *s = &l->text[l->n_text++];
    s->dir = dir;
    snprintf(s->what, sizeof(s->what), "%s", what);
    snprintf(s->detail, sizeof(s->detail), "%s", detail);
}

/* An expected step: kind and message (SENT/RECEIVED) or decision (DECISION), flags. */
typedef struct want {
    mtls_trace_kind kind;
    int what; /* msg or decision */
    unsigned flags;
} want;

#define CCS MTLS_TRACE_CHANGE_CIPHER_SPEC
#define SENT(m)                                                                                    \
    {                                                                                              \
        MTLS_TRACE_SENT, m, 0                                                                      \
    }
#define RECV(m)                                                                                    \
    {                                                                                              \
        MTLS_TRACE_RECEIVED, m, 0                                                                  \
    }
#define CHECKED(f)                                                                                 \
    {                                                                                              \
        MTLS_TRACE_CHECK, 0, f                                                                     \
    }
#define DECIDED(d, f)                                                                              \
    {                                                                                              \
        MTLS_TRACE_DECISION, d, f                                                                  \
    }
#define KEYS                                                                                       \
    {                                                                                              \
        MTLS_TRACE_KEYS, 0, 0                                                                      \
    }
#define DONE                                                                                       \
    {                                                                                              \
        MTLS_TRACE_ESTABLISHED, 0, 0                                                               \
    }

static void expect(const char *who, const log *l, const want *w, int n)
{
    int fails = t_fail;
    CHECK_EQ(l->n, n);
    for (int i = 0; i < n && i < l->n; i++) {
        const step *s = &l->ev[i];
        CHECK_EQ(s->kind, w[i].kind);
        if (w[i].kind == MTLS_TRACE_SENT || w[i].kind == MTLS_TRACE_RECEIVED) {
            CHECK_EQ(s->msg, w[i].what);
            CHECK_EQ(s->decision, MTLS_DECISION_NONE);
        } else {
            CHECK_EQ(s->msg, -1);
        }
        if (w[i].kind == MTLS_TRACE_DECISION)
            CHECK_EQ(s->decision, w[i].what);
        if (w[i].kind == MTLS_TRACE_CHECK)
            CHECK_ERR(s->result, MTLS_OK);
        CHECK_EQ(s->flags, w[i].flags);
        CHECK_EQ(s->alert, -1);
    }
    if (t_fail != fails)
        for (int i = 0; i < l->n; i++)
            fprintf(stderr, "  %s event %d: kind %d msg %d decision %d flags %u (%c %s)\n", who, i,
                    (int)l->ev[i].kind, l->ev[i].msg, (int)l->ev[i].decision, l->ev[i].flags,
                    l->ev[i].dir, l->ev[i].what);
}

/* An expected record-borne step (SENT, RECEIVED, ALERT_*): its message type (or alert) and how
 * its record was protected. */
typedef struct wire {
    mtls_trace_kind kind;
    int what; /* msg; for alerts, the alert */
    mtls_trace_protection prot;
    unsigned gen;
} wire;

#define CLEAR MTLS_PROTECTION_CLEAR
#define HS_KEY MTLS_PROTECTION_HANDSHAKE
#define AP_KEY MTLS_PROTECTION_APPLICATION
#define V12_KEY MTLS_PROTECTION_TLS12
#define OUT(m, p, g)                                                                               \
    {                                                                                              \
        MTLS_TRACE_SENT, m, p, g                                                                   \
    }
#define IN(m, p, g)                                                                                \
    {                                                                                              \
        MTLS_TRACE_RECEIVED, m, p, g                                                               \
    }
#define ALERT_OUT(a, p, g)                                                                         \
    {                                                                                              \
        MTLS_TRACE_ALERT_SENT, a, p, g                                                             \
    }
#define ALERT_IN(a, p, g)                                                                          \
    {                                                                                              \
        MTLS_TRACE_ALERT_RECEIVED, a, p, g                                                         \
    }

static int on_wire(mtls_trace_kind k)
{
    return k == MTLS_TRACE_SENT || k == MTLS_TRACE_RECEIVED || k == MTLS_TRACE_ALERT_SENT ||
           k == MTLS_TRACE_ALERT_RECEIVED;
}

/* The steps of `l` that crossed the wire are exactly `w`, in order, each with its protection; the
 * others (checks, decisions, keys, established) say MTLS_PROTECTION_NONE. */
static void expect_wire(const char *who, const log *l, const wire *w, int n)
{
    int fails = t_fail, k = 0;
    for (int i = 0; i < l->n; i++) {
        const step *s = &l->ev[i];
        if (!on_wire(s->kind)) {
            CHECK_EQ(s->prot, MTLS_PROTECTION_NONE);
            CHECK_EQ(s->gen, 0);
            continue;
        }
        if (k < n) {
            int alert = s->kind == MTLS_TRACE_ALERT_SENT || s->kind == MTLS_TRACE_ALERT_RECEIVED;
            CHECK_EQ(s->kind, w[k].kind);
            CHECK_EQ(alert ? s->alert : s->msg, w[k].what);
            CHECK_EQ(s->prot, w[k].prot);
            CHECK_EQ(s->gen, w[k].gen);
        }
        k++;
    }
    CHECK_EQ(k, n);
    if (t_fail != fails)
        for (int i = 0; i < l->n; i++)
            fprintf(stderr,
                    "  %s event %d: kind %d msg %d alert %d protection %d generation %u "
                    "(%c %s)\n",
                    who, i, (int)l->ev[i].kind, l->ev[i].msg, l->ev[i].alert, (int)l->ev[i].prot,
                    l->ev[i].gen, l->ev[i].dir, l->ev[i].what);
}

/* The text callback saw the same steps as the event callback, in the same order. */
static void same_words(const log *l)
{
    CHECK_EQ(l->n_text, l->n);
    for (int i = 0; i < l->n && i < l->n_text; i++) {
        CHECK_EQ(l->text[i].dir, l->ev[i].dir);
        CHECK(strcmp(l->text[i].what, l->ev[i].what) == 0);
        CHECK(strcmp(l->text[i].detail, l->ev[i].detail) == 0);
    }
}

static mtls_config *client_cfg(log *l)
{
    const tp_pki *pki = tp_get();
    const tp_ident *cid = &pki->client[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, cid->cert_pem, strlen(cid->cert_pem),
                                             cid->key_pem, strlen(cid->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ciphers(cfg, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(cfg, on_event, l), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace(cfg, on_text, l), MTLS_OK);
    return cfg;
}

static mtls_config *server_cfg(log *l, const char *ca_pem)
{
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, sid->cert_pem, strlen(sid->cert_pem),
                                             sid->key_pem, strlen(sid->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(cfg, ca_pem, strlen(ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, MTLS_VERIFY_REQUIRE), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(cfg, on_event, l), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace(cfg, on_text, l), MTLS_OK);
    return cfg;
}

/* TLS 1.3 (RFC 8446 2): the same kinds of steps in the order of its flights -- the handshake keys
 * right after the hellos, the application keys (the master secret) after the server's Finished,
 * the compatibility ChangeCipherSpecs (D.4) as CCS messages, the
 * tickets after the client's Finished (received once established) -- resumed with a PSK, and a
 * HelloRetryRequest reported as the ServerHello it is on the wire, named for what it is. */
static void tls13(void)
{
    static log cl, sl;
    const tp_pki *pki = tp_get();
    mtls_config *ccfg = client_cfg(&cl), *scfg = server_cfg(&sl, pki->ca_pem);
    CHECK_ERR(mtls_config_set_ciphers(ccfg, "TLS_AES_128_GCM_SHA256"), MTLS_OK);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    CHECK_EQ(mtls_conn_version(c), MTLS_VERSION_TLS13);
    static const want client_full[] = {
        SENT(TLS_HS_CLIENT_HELLO),
        RECV(TLS_HS_SERVER_HELLO),
        KEYS,
        RECV(CCS),
        RECV(TLS_HS_ENCRYPTED_EXTENSIONS),
        RECV(TLS_HS_CERTIFICATE_REQUEST),
        RECV(TLS_HS_CERTIFICATE),
        CHECKED(0),
        RECV(TLS_HS_CERTIFICATE_VERIFY),
        RECV(TLS_HS_FINISHED),
        KEYS, /* the master secret: application traffic secrets */
        SENT(CCS),
        SENT(TLS_HS_CERTIFICATE),
        SENT(TLS_HS_CERTIFICATE_VERIFY),
        SENT(TLS_HS_FINISHED),
        DONE,
        RECV(TLS_HS_NEW_SESSION_TICKET),
        RECV(TLS_HS_NEW_SESSION_TICKET),
    };
    static const want server_full[] = {
        RECV(TLS_HS_CLIENT_HELLO),
        DECIDED(MTLS_DECISION_NEGOTIATED, 0),
        SENT(TLS_HS_SERVER_HELLO),
        SENT(CCS),
        KEYS,
        SENT(TLS_HS_ENCRYPTED_EXTENSIONS),
        SENT(TLS_HS_CERTIFICATE_REQUEST),
        SENT(TLS_HS_CERTIFICATE),
        SENT(TLS_HS_CERTIFICATE_VERIFY),
        SENT(TLS_HS_FINISHED),
        KEYS,
        RECV(CCS),
        RECV(TLS_HS_CERTIFICATE),
        CHECKED(0),
        RECV(TLS_HS_CERTIFICATE_VERIFY),
        RECV(TLS_HS_FINISHED),
        SENT(TLS_HS_NEW_SESSION_TICKET),
        DONE,
    };
    expect("TLS 1.3 client", &cl, client_full, (int)(sizeof(client_full) / sizeof(client_full[0])));
    expect("TLS 1.3 server", &sl, server_full, (int)(sizeof(server_full) / sizeof(server_full[0])));
    same_words(&cl);
    same_words(&sl);
    /* RFC 8446 2 (figure 1): the hellos in clear, the compatibility ChangeCipherSpecs in clear
     * (5, D.4), everything else of the handshake under the sender's handshake traffic secret --
     * the client's certificate included -- the tickets under the server's application traffic
     * secret 0 */
    static const wire client_wire[] = {
        OUT(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        IN(TLS_HS_SERVER_HELLO, CLEAR, 0),
        IN(CCS, CLEAR, 0),
        IN(TLS_HS_ENCRYPTED_EXTENSIONS, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE_REQUEST, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE_VERIFY, HS_KEY, 0),
        IN(TLS_HS_FINISHED, HS_KEY, 0),
        OUT(CCS, CLEAR, 0),
        OUT(TLS_HS_CERTIFICATE, HS_KEY, 0),
        OUT(TLS_HS_CERTIFICATE_VERIFY, HS_KEY, 0),
        OUT(TLS_HS_FINISHED, HS_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
    };
    static const wire server_wire[] = {
        IN(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        OUT(TLS_HS_SERVER_HELLO, CLEAR, 0),
        OUT(CCS, CLEAR, 0),
        OUT(TLS_HS_ENCRYPTED_EXTENSIONS, HS_KEY, 0),
        OUT(TLS_HS_CERTIFICATE_REQUEST, HS_KEY, 0),
        OUT(TLS_HS_CERTIFICATE, HS_KEY, 0),
        OUT(TLS_HS_CERTIFICATE_VERIFY, HS_KEY, 0),
        OUT(TLS_HS_FINISHED, HS_KEY, 0),
        IN(CCS, CLEAR, 0),
        IN(TLS_HS_CERTIFICATE, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE_VERIFY, HS_KEY, 0),
        IN(TLS_HS_FINISHED, HS_KEY, 0),
        OUT(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
    };
    expect_wire("TLS 1.3 client", &cl, client_wire,
                (int)(sizeof(client_wire) / sizeof(client_wire[0])));
    expect_wire("TLS 1.3 server", &sl, server_wire,
                (int)(sizeof(server_wire) / sizeof(server_wire[0])));

    /* A KeyUpdate (RFC 8446 4.6.3) goes under the key before it, what follows under the next:
     * the client's close_notify under its application traffic secret 1, the server's answer
     * under its own secret 0. */
    CHECK(tp_send_check(c, s, "before", 6));
    cl.n = sl.n = cl.n_text = sl.n_text = 0;
    c->rec.out.update_after = c->rec.out.seq; /* its key has sealed its share (5.5), lowered */
    size_t w;
    CHECK_ERR(mtls_write(c, "after", 5, &w), MTLS_OK);
    CHECK_ERR(tp_transfer(c, s), MTLS_OK);
    char buf[8];
    CHECK_ERR(mtls_read(s, buf, sizeof(buf), &w), MTLS_OK);
    CHECK(w == 5 && memcmp(buf, "after", 5) == 0);
    /* After the handshake, records wait for mtls_read (its doc): each side reads the other's
     * close_notify there. */
    CHECK_ERR(mtls_close(c), MTLS_OK);
    CHECK_ERR(tp_transfer(c, s), MTLS_OK);
    CHECK_ERR(mtls_read(s, buf, sizeof(buf), &w), MTLS_ERR_CLOSED);
    CHECK_ERR(mtls_close(s), MTLS_OK);
    CHECK_ERR(tp_transfer(s, c), MTLS_OK);
    CHECK_ERR(mtls_read(c, buf, sizeof(buf), &w), MTLS_ERR_CLOSED);
    static const wire client_update[] = {
        OUT(TLS_HS_KEY_UPDATE, AP_KEY, 0),
        ALERT_OUT(TLS_ALERT_CLOSE_NOTIFY, AP_KEY, 1),
        ALERT_IN(TLS_ALERT_CLOSE_NOTIFY, AP_KEY, 0),
    };
    static const wire server_update[] = {
        IN(TLS_HS_KEY_UPDATE, AP_KEY, 0),
        ALERT_IN(TLS_ALERT_CLOSE_NOTIFY, AP_KEY, 1),
        ALERT_OUT(TLS_ALERT_CLOSE_NOTIFY, AP_KEY, 0),
    };
    expect_wire("TLS 1.3 client, KeyUpdate", &cl, client_update,
                (int)(sizeof(client_update) / sizeof(client_update[0])));
    expect_wire("TLS 1.3 server, KeyUpdate", &sl, server_update,
                (int)(sizeof(server_update) / sizeof(server_update[0])));
    same_words(&cl);
    same_words(&sl);
    mtls_session *sess = mtls_conn_get_session(c);
    CHECK(sess != NULL);
    mtls_conn_free(c);
    mtls_conn_free(s);

    cl.n = sl.n = cl.n_text = sl.n_text = 0;
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    CHECK(mtls_conn_resumed(c) && mtls_conn_resumed(s));
    static const want client_resumed[] = {
        SENT(TLS_HS_CLIENT_HELLO),
        DECIDED(MTLS_DECISION_RESUME_OFFERED, MTLS_TRACE_TICKET),
        RECV(TLS_HS_SERVER_HELLO),
        KEYS,
        RECV(CCS),
        RECV(TLS_HS_ENCRYPTED_EXTENSIONS),
        RECV(TLS_HS_FINISHED),
        KEYS, /* the master secret: application traffic secrets */
        SENT(CCS),
        SENT(TLS_HS_FINISHED),
        DONE,
        RECV(TLS_HS_NEW_SESSION_TICKET),
        RECV(TLS_HS_NEW_SESSION_TICKET),
    };
    static const want server_resumed[] = {
        DECIDED(MTLS_DECISION_RESUMED, MTLS_TRACE_TICKET),
        RECV(TLS_HS_CLIENT_HELLO),
        DECIDED(MTLS_DECISION_NEGOTIATED, 0),
        SENT(TLS_HS_SERVER_HELLO),
        SENT(CCS),
        KEYS,
        SENT(TLS_HS_ENCRYPTED_EXTENSIONS),
        SENT(TLS_HS_FINISHED),
        KEYS,
        RECV(CCS),
        RECV(TLS_HS_FINISHED),
        SENT(TLS_HS_NEW_SESSION_TICKET),
        DONE,
    };
    expect("TLS 1.3 resumed client", &cl, client_resumed,
           (int)(sizeof(client_resumed) / sizeof(client_resumed[0])));
    expect("TLS 1.3 resumed server", &sl, server_resumed,
           (int)(sizeof(server_resumed) / sizeof(server_resumed[0])));
    static const wire client_resumed_wire[] = {
        OUT(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        IN(TLS_HS_SERVER_HELLO, CLEAR, 0),
        IN(CCS, CLEAR, 0),
        IN(TLS_HS_ENCRYPTED_EXTENSIONS, HS_KEY, 0),
        IN(TLS_HS_FINISHED, HS_KEY, 0),
        OUT(CCS, CLEAR, 0),
        OUT(TLS_HS_FINISHED, HS_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
    };
    expect_wire("TLS 1.3 resumed client", &cl, client_resumed_wire,
                (int)(sizeof(client_resumed_wire) / sizeof(client_resumed_wire[0])));
    same_words(&cl);
    same_words(&sl);
    mtls_session_free(sess);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);

    /* the client's share is for its first group, P-256; the server wants X25519 */
    cl.n = sl.n = cl.n_text = sl.n_text = 0;
    ccfg = client_cfg(&cl);
    scfg = server_cfg(&sl, pki->ca_pem);
    CHECK_ERR(mtls_config_set_ciphers(ccfg, "TLS_AES_128_GCM_SHA256"), MTLS_OK);
    CHECK_ERR(mtls_config_set_groups(ccfg, "secp256r1:x25519"), MTLS_OK);
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    static const want client_hrr[] = {
        SENT(TLS_HS_CLIENT_HELLO),
        RECV(TLS_HS_SERVER_HELLO), /* the HelloRetryRequest, answered at once */
        SENT(CCS),
        SENT(TLS_HS_CLIENT_HELLO),
        RECV(CCS), /* the server's, after its HelloRetryRequest */
        RECV(TLS_HS_SERVER_HELLO),
        KEYS,
        RECV(TLS_HS_ENCRYPTED_EXTENSIONS),
        RECV(TLS_HS_CERTIFICATE_REQUEST),
        RECV(TLS_HS_CERTIFICATE),
        CHECKED(0),
        RECV(TLS_HS_CERTIFICATE_VERIFY),
        RECV(TLS_HS_FINISHED),
        KEYS,
        SENT(TLS_HS_CERTIFICATE),
        SENT(TLS_HS_CERTIFICATE_VERIFY),
        SENT(TLS_HS_FINISHED),
        DONE,
        RECV(TLS_HS_NEW_SESSION_TICKET),
        RECV(TLS_HS_NEW_SESSION_TICKET),
    };
    expect("TLS 1.3 client after HelloRetryRequest", &cl, client_hrr,
           (int)(sizeof(client_hrr) / sizeof(client_hrr[0])));
    CHECK(cl.n > 1 && strcmp(cl.ev[1].what, "HelloRetryRequest") == 0);
    CHECK(cl.n > 5 && strcmp(cl.ev[5].what, "ServerHello") == 0);
    /* no keys before the real ServerHello: both hellos, the HelloRetryRequest and both
     * compatibility ChangeCipherSpecs in clear */
    static const wire client_hrr_wire[] = {
        OUT(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        IN(TLS_HS_SERVER_HELLO, CLEAR, 0),
        OUT(CCS, CLEAR, 0),
        OUT(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        IN(CCS, CLEAR, 0),
        IN(TLS_HS_SERVER_HELLO, CLEAR, 0),
        IN(TLS_HS_ENCRYPTED_EXTENSIONS, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE_REQUEST, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE, HS_KEY, 0),
        IN(TLS_HS_CERTIFICATE_VERIFY, HS_KEY, 0),
        IN(TLS_HS_FINISHED, HS_KEY, 0),
        OUT(TLS_HS_CERTIFICATE, HS_KEY, 0),
        OUT(TLS_HS_CERTIFICATE_VERIFY, HS_KEY, 0),
        OUT(TLS_HS_FINISHED, HS_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, AP_KEY, 0),
    };
    expect_wire("TLS 1.3 client after HelloRetryRequest", &cl, client_hrr_wire,
                (int)(sizeof(client_hrr_wire) / sizeof(client_hrr_wire[0])));
    same_words(&cl);
    same_words(&sl);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    printf("TLS 1.3: full mutual, resumed and HelloRetryRequest handshakes, the same steps as the "
           "text; every message in clear or under the handshake or application traffic secret as "
           "RFC 8446 has it, KeyUpdate included\n");
}

int main(void)
{
    static log cl, sl;
    const tp_pki *pki = tp_get();
    mtls_config *ccfg = client_cfg(&cl), *scfg = server_cfg(&sl, pki->ca_pem);

    /* a full mutual handshake, ECDHE-ECDSA, a ticket issued */
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    static const want client_full[] = {
        SENT(TLS_HS_CLIENT_HELLO),
        RECV(TLS_HS_SERVER_HELLO),
        RECV(TLS_HS_CERTIFICATE),
        CHECKED(0),
        RECV(TLS_HS_SERVER_KEY_EXCHANGE),
        RECV(TLS_HS_CERTIFICATE_REQUEST),
        RECV(TLS_HS_SERVER_HELLO_DONE),
        SENT(TLS_HS_CERTIFICATE),
        SENT(TLS_HS_CLIENT_KEY_EXCHANGE),
        KEYS,
        SENT(TLS_HS_CERTIFICATE_VERIFY),
        SENT(CCS),
        SENT(TLS_HS_FINISHED),
        RECV(TLS_HS_NEW_SESSION_TICKET),
        RECV(CCS),
        RECV(TLS_HS_FINISHED),
        DONE,
    };
    static const want server_full[] = {
        RECV(TLS_HS_CLIENT_HELLO),
        DECIDED(MTLS_DECISION_NEGOTIATED, 0),
        SENT(TLS_HS_SERVER_HELLO),
        SENT(TLS_HS_CERTIFICATE),
        SENT(TLS_HS_SERVER_KEY_EXCHANGE),
        SENT(TLS_HS_CERTIFICATE_REQUEST),
        SENT(TLS_HS_SERVER_HELLO_DONE),
        RECV(TLS_HS_CERTIFICATE),
        CHECKED(0),
        RECV(TLS_HS_CLIENT_KEY_EXCHANGE),
        KEYS,
        RECV(TLS_HS_CERTIFICATE_VERIFY),
        RECV(CCS),
        RECV(TLS_HS_FINISHED),
        SENT(TLS_HS_NEW_SESSION_TICKET),
        SENT(CCS),
        SENT(TLS_HS_FINISHED),
        DONE,
    };
    expect("client", &cl, client_full, (int)(sizeof(client_full) / sizeof(client_full[0])));
    expect("server", &sl, server_full, (int)(sizeof(server_full) / sizeof(server_full[0])));
    same_words(&cl);
    same_words(&sl);
    /* RFC 5246 7.3: everything in clear up to each side's ChangeCipherSpec -- the client's
     * certificate too -- and its Finished under its write key from the master secret */
    static const wire client_wire[] = {
        OUT(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        IN(TLS_HS_SERVER_HELLO, CLEAR, 0),
        IN(TLS_HS_CERTIFICATE, CLEAR, 0),
        IN(TLS_HS_SERVER_KEY_EXCHANGE, CLEAR, 0),
        IN(TLS_HS_CERTIFICATE_REQUEST, CLEAR, 0),
        IN(TLS_HS_SERVER_HELLO_DONE, CLEAR, 0),
        OUT(TLS_HS_CERTIFICATE, CLEAR, 0),
        OUT(TLS_HS_CLIENT_KEY_EXCHANGE, CLEAR, 0),
        OUT(TLS_HS_CERTIFICATE_VERIFY, CLEAR, 0),
        OUT(CCS, CLEAR, 0),
        OUT(TLS_HS_FINISHED, V12_KEY, 0),
        IN(TLS_HS_NEW_SESSION_TICKET, CLEAR, 0),
        IN(CCS, CLEAR, 0),
        IN(TLS_HS_FINISHED, V12_KEY, 0),
    };
    static const wire server_wire[] = {
        IN(TLS_HS_CLIENT_HELLO, CLEAR, 0),
        OUT(TLS_HS_SERVER_HELLO, CLEAR, 0),
        OUT(TLS_HS_CERTIFICATE, CLEAR, 0),
        OUT(TLS_HS_SERVER_KEY_EXCHANGE, CLEAR, 0),
        OUT(TLS_HS_CERTIFICATE_REQUEST, CLEAR, 0),
        OUT(TLS_HS_SERVER_HELLO_DONE, CLEAR, 0),
        IN(TLS_HS_CERTIFICATE, CLEAR, 0),
        IN(TLS_HS_CLIENT_KEY_EXCHANGE, CLEAR, 0),
        IN(TLS_HS_CERTIFICATE_VERIFY, CLEAR, 0),
        IN(CCS, CLEAR, 0),
        IN(TLS_HS_FINISHED, V12_KEY, 0),
        OUT(TLS_HS_NEW_SESSION_TICKET, CLEAR, 0),
        OUT(CCS, CLEAR, 0),
        OUT(TLS_HS_FINISHED, V12_KEY, 0),
    };
    expect_wire("client", &cl, client_wire, (int)(sizeof(client_wire) / sizeof(client_wire[0])));
    expect_wire("server", &sl, server_wire, (int)(sizeof(server_wire) / sizeof(server_wire[0])));
    printf("full mutual handshake: client %d events, server %d, each the same steps as the text; "
           "in clear up to each ChangeCipherSpec, the Finished under the write keys\n",
           cl.n, sl.n);

    /* the close_notify, both ways: an alert event with its number and level */
    cl.n = sl.n = cl.n_text = sl.n_text = 0;
    CHECK_ERR(mtls_close(c), MTLS_OK);
    CHECK_ERR(tp_transfer(c, s), MTLS_OK);
    CHECK(cl.n == 1 && cl.ev[0].kind == MTLS_TRACE_ALERT_SENT &&
          cl.ev[0].alert == TLS_ALERT_CLOSE_NOTIFY && cl.ev[0].level == 1);
    CHECK(sl.n == 1 && sl.ev[0].kind == MTLS_TRACE_ALERT_RECEIVED &&
          sl.ev[0].alert == TLS_ALERT_CLOSE_NOTIFY && sl.ev[0].level == 1);
    CHECK(cl.n == 1 && cl.ev[0].prot == V12_KEY && sl.ev[0].prot == V12_KEY);
    mtls_session *sess = mtls_conn_get_session(c);
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* resumption by ticket: the offer, the acceptance, the resumed certificate recheck is not
     * there (no verify callback), the abbreviated message flow */
    cl.n = sl.n = cl.n_text = sl.n_text = 0;
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    CHECK(mtls_conn_resumed(c) && mtls_conn_resumed(s));
    static const want client_resumed[] = {
        SENT(TLS_HS_CLIENT_HELLO), DECIDED(MTLS_DECISION_RESUME_OFFERED, MTLS_TRACE_TICKET),
        RECV(TLS_HS_SERVER_HELLO), RECV(CCS),
        RECV(TLS_HS_FINISHED),     SENT(CCS),
        SENT(TLS_HS_FINISHED),     DONE,
    };
    static const want server_resumed[] = {
        DECIDED(MTLS_DECISION_RESUMED, MTLS_TRACE_TICKET),
        RECV(TLS_HS_CLIENT_HELLO),
        SENT(TLS_HS_SERVER_HELLO),
        SENT(CCS),
        SENT(TLS_HS_FINISHED),
        RECV(CCS),
        RECV(TLS_HS_FINISHED),
        DONE,
    };
    expect("resumed client", &cl, client_resumed,
           (int)(sizeof(client_resumed) / sizeof(client_resumed[0])));
    expect("resumed server", &sl, server_resumed,
           (int)(sizeof(server_resumed) / sizeof(server_resumed[0])));
    same_words(&cl);
    same_words(&sl);
    mtls_session_free(sess);
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* a client certificate from a CA the server does not trust: a failed check, the error it
     * failed with, and the fatal alert sent by one side and received by the other */
    log bl;
    memset(&bl, 0, sizeof(bl));
    cl.n = cl.n_text = 0;
    mtls_config *bad = server_cfg(&bl, pki->other_ca_pem);
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(bad);
    CHECK(tp_handshake(c, s) != MTLS_OK);
    int checks = 0, alerts = 0;
    for (int i = 0; i < bl.n; i++) {
        if (bl.ev[i].kind == MTLS_TRACE_CHECK) {
            checks++;
            CHECK_ERR(bl.ev[i].result, mtls_conn_error(s));
        }
        if (bl.ev[i].kind == MTLS_TRACE_ALERT_SENT) {
            alerts++;
            CHECK(bl.ev[i].level == 2 && bl.ev[i].alert == mtls_conn_alert_sent(s));
        }
    }
    CHECK(checks == 1 && alerts == 1);
    CHECK(bl.ev[bl.n - 1].kind == MTLS_TRACE_ALERT_SENT);
    CHECK(bl.ev[bl.n - 1].prot == CLEAR); /* before any ChangeCipherSpec */
    CHECK(cl.n > 0 && cl.ev[cl.n - 1].kind == MTLS_TRACE_ALERT_RECEIVED &&
          cl.ev[cl.n - 1].alert == mtls_conn_alert_received(c) && cl.ev[cl.n - 1].level == 2);
    same_words(&bl);
    printf("untrusted client certificate: server check failed with %s, alert %s\n",
           mtls_err_name(mtls_conn_error(s)), mtls_alert_name(mtls_conn_alert_sent(s)));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(bad);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    tls13();
    return t_done();
}
