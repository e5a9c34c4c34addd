/*
 * test_resume.c -- session resumption in memory (RFC 5246 7.3 abbreviated handshake, RFC 5077
 * tickets, RFC 7627 5.3): by session id and by ticket; the resumed connection keeps the original
 * peer identity; fallback to a full handshake after eviction, expiry, ticket-key rotation past
 * the lifetime, and a corrupted ticket; refusals when suite, server name or EMS differ; sessions
 * survive serialization; one config serving resumptions on several threads; sessions bound to the
 * verification context (client CAs, verify mode, session context; a client's CAs and name), the
 * verify callback re-checking resumed peers, and expired peer certificates not resumed.
 *
 * TLS 1.3 stateful tickets (RFC 8446 4.6.1: a ticket may be "a database lookup key"): with
 * tickets off the session cache keeps their sessions, with a session store the store does; each
 * resumes once, a refused or unproven offer does not use it up, and the binding and re-check
 * tests above run again in TLS 1.3 through the store and the cache.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"

static int64_t fake_now;
static int64_t clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

/* The version server_cfg speaks: TLS 1.2 unless a test says otherwise. */
static uint16_t version = MTLS_VERSION_TLS12;

/* What the server's trace said about resumption (its "Resumption" lines), since reset. */
static char said[4096];
static void on_trace(void *arg, const mtls_conn *conn, char dir, const char *what,
                     const char *detail)
{
    (void)arg;
    (void)conn;
    (void)dir;
    size_t len = strlen(said);
    if (strcmp(what, "Resumption") == 0)
        snprintf(said + len, sizeof(said) - len, "%s\n", detail);
}

static mtls_config *server_cfg(int tickets, size_t cache, mtls_verify_mode mode)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                   strlen(id->key_pem));
    mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem));
    mtls_config_set_verify_client(cfg, mode);
    mtls_config_set_tickets(cfg, tickets);
    mtls_config_set_session_cache(cfg, cache, 0);
    mtls_config_set_time(cfg, clock_fn, NULL);
    mtls_config_set_trace(cfg, on_trace, NULL);
    /* TLS 1.2 sessions (ids, the cache, RFC 5077 tickets); TLS 1.3's sealed tickets are in
     * test_tls13, its stateful ones here (`version`). */
    mtls_config_set_versions(cfg, version, version);
    return cfg;
}

static mtls_config *client_cfg(int with_cert)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem));
    if (with_cert) {
        const tp_ident *id = &pki->client[TP_P256];
        mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                       strlen(id->key_pem));
    }
    mtls_config_set_time(cfg, clock_fn, NULL);
    return cfg;
}

/* One connection; returns its session (new reference) and whether it resumed. */
static mtls_session *connect_once(mtls_config *ccfg, mtls_config *scfg, const char *name,
                                  mtls_session *offer, int *resumed, mtls_err *err_out)
{
    mtls_conn *c = mtls_client_new(ccfg, name), *s = mtls_server_new(scfg);
    if (offer)
        CHECK_ERR(mtls_conn_set_session(c, offer), MTLS_OK);
    mtls_err err = tp_handshake(c, s);
    if (err_out)
        *err_out = err;
    else
        CHECK_ERR(err, MTLS_OK);
    mtls_session *sess = NULL;
    *resumed = -1;
    if (err == MTLS_OK) {
        CHECK_EQ(mtls_conn_resumed(c), mtls_conn_resumed(s));
        *resumed = mtls_conn_resumed(c);
        static const char msg[] = "after resumption, data still flows";
        CHECK(tp_send_check(c, s, msg, sizeof(msg)));
        CHECK(tp_send_check(s, c, msg, sizeof(msg)));
        CHECK(strstr(mtls_conn_peer_subject(c), "server-") != NULL);
        if (mtls_conn_peer_cert_presented(s))
            CHECK(strstr(mtls_conn_peer_subject(s), "client-") != NULL);
        sess = mtls_conn_get_session(c);
        CHECK(sess != NULL);
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    return sess;
}

static void test_id_and_ticket(int tickets)
{
    mtls_config *scfg = server_cfg(tickets, 16, MTLS_VERIFY_REQUIRE), *ccfg = client_cfg(1);
    int resumed;
    mtls_session *s1 = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    CHECK(s1 && (tickets ? s1->ticket_len > 0 : s1->id_len == 32));
    mtls_session *s2 = connect_once(ccfg, scfg, "localhost", s1, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    /* the resumed server still knows who the client is */
    {
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        mtls_conn_set_session(c, s1);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK(mtls_conn_resumed(s));
        CHECK(mtls_conn_peer_cert_presented(s));
        CHECK(mtls_conn_peer_subject(s) && strstr(mtls_conn_peer_subject(s), "client-P-256"));
        uint8_t fp[32];
        CHECK_ERR(mtls_conn_peer_fingerprint(s, fp), MTLS_OK);
        mtls_conn_free(c);
        mtls_conn_free(s);
    }
    /* serialized and restored, the session still resumes */
    size_t len;
    CHECK_ERR(mtls_session_to_bytes(s1, NULL, 0, &len), MTLS_OK);
    uint8_t *bytes = malloc(len);
    CHECK_ERR(mtls_session_to_bytes(s1, bytes, len, &len), MTLS_OK);
    mtls_session *s3 = mtls_session_from_bytes(bytes, len);
    CHECK(s3 != NULL);
    mtls_session *s4 = connect_once(ccfg, scfg, "localhost", s3, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    /* every truncation of the bytes is refused */
    int refused = 0;
    for (size_t n = 0; n < len; n++) {
        mtls_session *bad = mtls_session_from_bytes(bytes, n);
        refused += bad == NULL;
        mtls_session_free(bad);
    }
    CHECK_EQ(refused, (long long)len);

    /* a different server name: the client does not offer it */
    mtls_config_free(ccfg);
    ccfg = client_cfg(1);
    mtls_config_set_insecure_skip_verify(ccfg, 1);
    mtls_session *s5 = connect_once(ccfg, scfg, "127.0.0.1", s1, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    /* a suite the client no longer allows: not offered */
    mtls_config *ccfg2 = client_cfg(1);
    mtls_config_set_ciphers(ccfg2, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    mtls_session *s6 = connect_once(ccfg2, scfg, "localhost", s1, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    free(bytes);
    mtls_session_free(s1);
    mtls_session_free(s2);
    mtls_session_free(s3);
    mtls_session_free(s4);
    mtls_session_free(s5);
    mtls_session_free(s6);
    mtls_config_free(ccfg);
    mtls_config_free(ccfg2);
    mtls_config_free(scfg);
}

static void test_eviction_and_expiry(void)
{
    mtls_config *scfg = server_cfg(0, 1, MTLS_VERIFY_NONE), *ccfg = client_cfg(0);
    int resumed;
    mtls_session *a = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    mtls_session *b = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    /* cache of one entry: b evicted a */
    mtls_session *a2 = connect_once(ccfg, scfg, "localhost", a, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    mtls_session *b2 = connect_once(ccfg, scfg, "localhost", b, &resumed, NULL);
    CHECK_EQ(resumed, 0); /* a2's full handshake evicted b in turn */
    mtls_session *c2 = connect_once(ccfg, scfg, "localhost", b2, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    /* expiry: past the lifetime the cached session is gone */
    fake_now += MTLS_SESSION_LIFETIME_DEFAULT + 1;
    mtls_session *d = connect_once(ccfg, scfg, "localhost", b2, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    fake_now -= MTLS_SESSION_LIFETIME_DEFAULT + 1;
    mtls_session_free(a);
    mtls_session_free(b);
    mtls_session_free(a2);
    mtls_session_free(b2);
    mtls_session_free(c2);
    mtls_session_free(d);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

static void test_ticket_keys(void)
{
    mtls_config *scfg = server_cfg(1, 0, MTLS_VERIFY_NONE), *ccfg = client_cfg(0);
    int resumed;
    int64_t start = fake_now;
    mtls_session *t1 = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    CHECK(t1 && t1->ticket_len > 0 && t1->id_len == 0);
    /* after a rotation the old key still opens tickets... */
    fake_now = start + MTLS_TICKET_KEY_ROTATION + 10;
    mtls_session *t2 = connect_once(ccfg, scfg, "localhost", t1, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    /* ...a new ticket is sealed under the new key... */
    mtls_session *t3 = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    CHECK(t3 && t1->ticket_len && memcmp(t3->ticket, t1->ticket, 16) != 0);
    /* ...and past the lifetime nothing old opens */
    fake_now = start + MTLS_SESSION_LIFETIME_DEFAULT + 5;
    mtls_session *t4 = connect_once(ccfg, scfg, "localhost", t1, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    fake_now = start;

    /* a corrupted ticket falls back to a full handshake, never an error */
    size_t len;
    mtls_session_to_bytes(t3, NULL, 0, &len);
    uint8_t *bytes = malloc(len);
    mtls_session_to_bytes(t3, bytes, len, &len);
    bytes[len - 4 - 20] ^= 0x40; /* inside the ticket's ciphertext */
    mtls_session *bad = mtls_session_from_bytes(bytes, len);
    CHECK(bad != NULL);
    mtls_err err;
    fake_now = start + MTLS_TICKET_KEY_ROTATION + 20;
    mtls_session *t5 = connect_once(ccfg, scfg, "localhost", bad, &resumed, &err);
    CHECK_ERR(err, MTLS_OK);
    CHECK_EQ(resumed, 0);

    /* shared application keys: a second server with the same keys resumes the first's tickets */
    uint8_t keys[80];
    memset(keys, 0x5a, sizeof(keys));
    memset(keys + 48, 0, 32);
    mtls_config *sa = server_cfg(1, 0, MTLS_VERIFY_NONE), *sb = server_cfg(1, 0, MTLS_VERIFY_NONE);
    CHECK_ERR(mtls_config_set_ticket_keys(sa, keys, 1), MTLS_OK);
    CHECK_ERR(mtls_config_set_ticket_keys(sb, keys, 1), MTLS_OK);
    mtls_session *u1 = connect_once(ccfg, sa, "localhost", NULL, &resumed, NULL);
    mtls_session *u2 = connect_once(ccfg, sb, "localhost", u1, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    /* but a server with other keys does not */
    mtls_session *u3 = connect_once(ccfg, scfg, "localhost", u1, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    /* a server whose suites no longer include the session's suite does a full handshake */
    mtls_config *sc = server_cfg(1, 0, MTLS_VERIFY_NONE);
    mtls_config_set_ticket_keys(sc, keys, 1);
    mtls_config_set_ciphers(sc, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    mtls_session *u4 = connect_once(ccfg, sc, "localhost", u1, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    fake_now = start;
    free(bytes);
    mtls_session *all[] = {t1, t2, t3, t4, t5, bad, u1, u2, u3, u4};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mtls_session_free(all[i]);
    mtls_config_free(sa);
    mtls_config_free(sb);
    mtls_config_free(sc);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

static void test_server_name_and_ems_refusals(void)
{
    uint8_t keys[80] = {1, 2, 3};
    mtls_config *scfg = server_cfg(1, 0, MTLS_VERIFY_NONE), *ccfg = client_cfg(0);
    mtls_config_set_ticket_keys(scfg, keys, 1);
    int resumed;
    mtls_session *s1 = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    /* forge the client-side copy: same ticket (sealed for "localhost"), other name */
    size_t len;
    mtls_session_to_bytes(s1, NULL, 0, &len);
    uint8_t *b = malloc(len);
    mtls_session_to_bytes(s1, b, len, &len);
    mtls_session *renamed = mtls_session_from_bytes(b, len);
    mem_free(renamed->sni);
    renamed->sni = mem_strdup("127.0.0.1");
    mtls_config *insecure = client_cfg(0);
    mtls_config_set_insecure_skip_verify(insecure, 1);
    mtls_session *s2 = connect_once(insecure, scfg, "127.0.0.1", renamed, &resumed, NULL);
    CHECK_EQ(resumed, 0); /* the server sees the name differ and does a full handshake */

    /* RFC 7627 5.3: a session made without EMS is not offered (full handshake instead), even
     * with EMS not required. */
    mtls_session *no_ems = mtls_session_from_bytes(b, len);
    no_ems->ems = false;
    mtls_config *lax = client_cfg(0);
    mtls_config_set_require_ems(lax, 0);
    mtls_err err;
    mtls_session *s3 = connect_once(lax, scfg, "localhost", no_ems, &resumed, &err);
    CHECK_ERR(err, MTLS_OK);
    CHECK_EQ(resumed, 0);
    free(b);
    mtls_session *all[] = {s1, renamed, s2, no_ems, s3};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mtls_session_free(all[i]);
    mtls_config_free(insecure);
    mtls_config_free(lax);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

/* Remove the extended_master_secret extension (type 23, empty) from a client's first flight: one
 * plaintext record holding the ClientHello.  Returns the new length, 0 when it is not there. */
static size_t strip_ems(uint8_t *rec, size_t n)
{
    if (n < 5 + 4 + 35 || rec[0] != 22 || rec[5] != 1)
        return 0;
    size_t off = 5 + 4 + 2 + 32;
    off += 1 + rec[off];                                  /* session id */
    off += 2 + ((size_t)rec[off] << 8 | rec[off + 1]);    /* cipher suites */
    off += 1 + rec[off];                                  /* compression methods */
    size_t ext_len_at = off, end = off + 2 + ((size_t)rec[off] << 8 | rec[off + 1]);
    for (off += 2; off + 4 <= end;) {
        size_t type = (size_t)rec[off] << 8 | rec[off + 1];
        size_t elen = (size_t)rec[off + 2] << 8 | rec[off + 3];
        if (type == 23 && elen == 0) {
            memmove(rec + off, rec + off + 4, n - off - 4);
            n -= 4;
            size_t ext = ((size_t)rec[ext_len_at] << 8 | rec[ext_len_at + 1]) - 4;
            rec[ext_len_at] = (uint8_t)(ext >> 8);
            rec[ext_len_at + 1] = (uint8_t)ext;
            size_t body = n - 9, reclen = n - 5;
            rec[6] = (uint8_t)(body >> 16);
            rec[7] = (uint8_t)(body >> 8);
            rec[8] = (uint8_t)body;
            rec[3] = (uint8_t)(reclen >> 8);
            rec[4] = (uint8_t)reclen;
            return n;
        }
        off += 4 + elen;
    }
    return 0;
}

/* The server's side of RFC 7627 5.3, by session id and by ticket: a session made with EMS
 * offered in a ClientHello without the extension ends the handshake (handshake_failure); a hello
 * without EMS and no session to resume is still served (EMS is not required by default). */
static void test_server_ems_resumption(void)
{
    for (int tickets = 0; tickets <= 1; tickets++) {
        mtls_config *scfg = server_cfg(tickets, tickets ? 0 : 64, MTLS_VERIFY_NONE);
        mtls_config *ccfg = client_cfg(0);
        int resumed;
        mtls_session *sess = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
        for (int offer = 0; offer <= 1; offer++) {
            mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
            if (offer)
                CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
            CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ);
            size_t n;
            const uint8_t *p = mtls_send_buf(c, &n);
            uint8_t *hello = malloc(n);
            memcpy(hello, p, n);
            mtls_send_ack(c, n);
            size_t m = strip_ems(hello, n), room;
            CHECK(m == n - 4);
            uint8_t *dst = mtls_recv_buf(s, &room);
            CHECK(dst && room >= m);
            if (dst && room >= m) {
                memcpy(dst, hello, m);
                mtls_err err = mtls_recv_ack(s, m);
                if (offer) {
                    CHECK_ERR(err, MTLS_ERR_EMS_REQUIRED);
                    CHECK_EQ(mtls_conn_alert_sent(s), 40); /* handshake_failure */
                } else {
                    CHECK_ERR(err, MTLS_OK);
                    CHECK_EQ(mtls_conn_alert_sent(s), -1);
                }
            }
            free(hello);
            mtls_conn_free(c);
            mtls_conn_free(s);
        }
        mtls_session_free(sess);
        mtls_config_free(scfg);
        mtls_config_free(ccfg);
    }
}

struct thread_arg {
    mtls_config *scfg, *ccfg;
    mtls_session *sess;
    int resumed;
};

static void *worker(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 40; i++) {
        mtls_conn *c = mtls_client_new(a->ccfg, "localhost"), *s = mtls_server_new(a->scfg);
        mtls_conn_set_session(c, a->sess);
        if (tp_handshake(c, s) == MTLS_OK && mtls_conn_resumed(s))
            a->resumed++;
        mtls_conn_free(c);
        mtls_conn_free(s);
    }
    return NULL;
}

static void test_threads(void)
{
    for (int tickets = 0; tickets <= 1; tickets++) {
        mtls_config *scfg = server_cfg(tickets, 64, MTLS_VERIFY_NONE), *ccfg = client_cfg(0);
        int resumed;
        mtls_session *s = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
        pthread_t th[4];
        struct thread_arg args[4];
        for (int i = 0; i < 4; i++) {
            args[i] = (struct thread_arg){scfg, ccfg, s, 0};
            pthread_create(&th[i], NULL, worker, &args[i]);
        }
        int total = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            total += args[i].resumed;
        }
        CHECK_EQ(total, 160);
        mtls_session_free(s);
        mtls_config_free(scfg);
        mtls_config_free(ccfg);
    }
}

/* ---- sessions bound to the verification context (issue 12, item 8) ------------------------- */

/* An external session store shared by several server configs, as a cluster would share one. */
#define STORE_SLOTS 48
struct shared_store {
    uint8_t id[STORE_SLOTS][32];
    size_t id_len[STORE_SLOTS];
    uint8_t data[STORE_SLOTS][4096];
    size_t len[STORE_SLOTS]; /* 0: removed */
    size_t n;
    int puts, gets, hits, removes;
};

static void store_put(void *arg, const uint8_t *id, size_t id_len, const uint8_t *data, size_t len,
                      int64_t expires)
{
    (void)expires;
    struct shared_store *st = arg;
    st->puts++;
    CHECK(st->n < STORE_SLOTS && id_len <= 32 && len <= 4096);
    if (st->n == STORE_SLOTS || id_len > 32 || len > 4096)
        return;
    memcpy(st->id[st->n], id, id_len);
    st->id_len[st->n] = id_len;
    memcpy(st->data[st->n], data, len);
    st->len[st->n++] = len;
}

static size_t store_get(void *arg, const uint8_t *id, size_t id_len, uint8_t *out, size_t cap)
{
    struct shared_store *st = arg;
    st->gets++;
    for (size_t i = 0; i < st->n; i++)
        if (st->len[i] && st->id_len[i] == id_len && memcmp(st->id[i], id, id_len) == 0 &&
            st->len[i] <= cap) {
            memcpy(out, st->data[i], st->len[i]);
            st->hits++;
            return st->len[i];
        }
    return 0;
}

static void store_del(void *arg, const uint8_t *id, size_t id_len)
{
    struct shared_store *st = arg;
    st->removes++;
    for (size_t i = 0; i < st->n; i++)
        if (st->len[i] && st->id_len[i] == id_len && memcmp(st->id[i], id, id_len) == 0)
            st->len[i] = 0;
}

/* How many live sessions the store holds. */
static size_t store_count(const struct shared_store *st)
{
    size_t live = 0;
    for (size_t i = 0; i < st->n; i++)
        live += st->len[i] != 0;
    return live;
}

static const uint8_t shared_keys[80] = {0x11, 0x22, 0x33, 0x44};

/* A server config of the "cluster": shared ticket keys (tickets on) or the shared store (tickets
 * off, no in-memory cache, so every lookup by id goes to the store); client CAs as given. */
static mtls_config *cluster_server(int tickets, struct shared_store *st, mtls_verify_mode mode,
                                   const char *client_ca1, const char *client_ca2)
{
    mtls_config *cfg = server_cfg(tickets, 0, mode);
    if (tickets)
        CHECK_ERR(mtls_config_set_ticket_keys(cfg, shared_keys, 1), MTLS_OK);
    else
        CHECK_ERR(mtls_config_set_session_store(cfg, store_put, store_get, NULL, st), MTLS_OK);
    if (client_ca1)
        CHECK_ERR(mtls_config_set_client_ca_mem(cfg, client_ca1, strlen(client_ca1)), MTLS_OK);
    if (client_ca2)
        CHECK_ERR(mtls_config_set_client_ca_mem(cfg, client_ca2, strlen(client_ca2)), MTLS_OK);
    return cfg;
}

typedef struct outcome {
    mtls_err client, server;  /* each side's error, MTLS_OK when established */
    int server_alert;         /* the alert the server sent, -1 when none */
    int client_alert;         /* the alert the client sent */
    int resumed;              /* the server's view */
    char peer[128];           /* the client identity the server reports */
    mtls_session *sess;       /* the client's session when established (new reference) */
} outcome;

static outcome attempt(mtls_config *ccfg, mtls_config *scfg, const char *name, mtls_session *offer,
                       const char *verify_name)
{
    outcome o;
    memset(&o, 0, sizeof(o));
    mtls_conn *c = mtls_client_new(ccfg, name), *s = mtls_server_new(scfg);
    if (offer)
        CHECK_ERR(mtls_conn_set_session(c, offer), MTLS_OK);
    if (verify_name)
        CHECK_ERR(mtls_conn_set_verify_name(c, verify_name), MTLS_OK);
    tp_handshake(c, s);
    o.client = mtls_conn_established(c) ? MTLS_OK : mtls_conn_error(c);
    o.server = mtls_conn_established(s) ? MTLS_OK : mtls_conn_error(s);
    o.server_alert = mtls_conn_alert_sent(s);
    o.client_alert = mtls_conn_alert_sent(c);
    o.resumed = mtls_conn_resumed(s);
    const char *subject = mtls_conn_established(s) ? mtls_conn_peer_subject(s) : NULL;
    snprintf(o.peer, sizeof(o.peer), "%s", subject ? subject : "(none)");
    if (o.client == MTLS_OK && o.server == MTLS_OK)
        o.sess = mtls_conn_get_session(c);
    mtls_conn_free(c);
    mtls_conn_free(s);
    return o;
}

/* Two servers share ticket keys (or one external session store) but trust different client CAs:
 * a session made by the one trusting X is not resumed by the one trusting only Y, which verifies
 * the client itself against Y; likewise for another verify mode or session context; the same
 * anchors in another order, the same mode and context do resume. */
static void test_binding_server(int tickets)
{
    const tp_pki *pki = tp_get();
    static struct shared_store st;
    memset(&st, 0, sizeof(st));
    mtls_config *trusts_x = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->ca_pem, NULL);
    mtls_config *trusts_y = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->other_ca_pem, NULL);
    mtls_config *also_x = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->ca_pem, NULL);
    mtls_config *optional = cluster_server(tickets, &st, MTLS_VERIFY_OPTIONAL, pki->ca_pem, NULL);
    mtls_config *xy = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->ca_pem, pki->other_ca_pem);
    mtls_config *yx = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->other_ca_pem, pki->ca_pem);
    mtls_config *ctx_a = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->ca_pem, NULL);
    mtls_config *ctx_a2 = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->ca_pem, NULL);
    mtls_config *ctx_b = cluster_server(tickets, &st, MTLS_VERIFY_REQUIRE, pki->ca_pem, NULL);
    CHECK_ERR(mtls_config_set_session_context(ctx_a, (const uint8_t *)"billing", 7), MTLS_OK);
    CHECK_ERR(mtls_config_set_session_context(ctx_a2, (const uint8_t *)"billing", 7), MTLS_OK);
    CHECK_ERR(mtls_config_set_session_context(ctx_b, (const uint8_t *)"admin", 5), MTLS_OK);
    mtls_config *ccfg = client_cfg(1); /* client-P-256, issued by X */
    mtls_config *stranger = client_cfg(0);
    const tp_ident *sid = &pki->stranger; /* issued by Y */
    CHECK_ERR(mtls_config_set_cert_chain_mem(stranger, sid->cert_pem, strlen(sid->cert_pem),
                                             sid->key_pem, strlen(sid->key_pem)),
              MTLS_OK);

    outcome first = attempt(ccfg, trusts_x, "localhost", NULL, NULL);
    CHECK_ERR(first.server, MTLS_OK);
    CHECK(first.sess != NULL);
    CHECK(strstr(first.peer, "client-P-256") != NULL);

    /* same anchors, mode and context on another config of the cluster: resumes */
    outcome o = attempt(ccfg, also_x, "localhost", first.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 1);
    CHECK(strstr(o.peer, "client-P-256") != NULL);
    mtls_session_free(o.sess);

    /* trusts only Y: full handshake, the client's certificate (under X) is unknown there */
    o = attempt(ccfg, trusts_y, "localhost", first.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    CHECK_ERR(o.server, MTLS_ERR_CERT_UNKNOWN_CA);
    CHECK_EQ(o.server_alert, 48); /* unknown_ca */
    CHECK(strcmp(o.peer, "(none)") == 0);
    mtls_session_free(o.sess);

    /* a client whose certificate is under Y, offering the X session: verified against Y, and
     * the identity reported is its own */
    o = attempt(stranger, trusts_y, "localhost", first.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    CHECK(strstr(o.peer, "CN=stranger") != NULL);
    mtls_session_free(o.sess);

    /* another verify mode: full handshake (which succeeds: the client has its certificate) */
    o = attempt(ccfg, optional, "localhost", first.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);

    /* the anchors are named whatever order they were added in */
    outcome in_xy = attempt(ccfg, xy, "localhost", NULL, NULL);
    o = attempt(ccfg, yx, "localhost", in_xy.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 1);
    mtls_session_free(o.sess);
    /* but {X, Y} is not {X} */
    o = attempt(ccfg, trusts_x, "localhost", in_xy.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);

    /* session contexts: equal strings resume, another string or none does not */
    outcome in_a = attempt(ccfg, ctx_a, "localhost", NULL, NULL);
    o = attempt(ccfg, ctx_a2, "localhost", in_a.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 1);
    mtls_session_free(o.sess);
    o = attempt(ccfg, ctx_b, "localhost", in_a.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);
    o = attempt(ccfg, also_x, "localhost", in_a.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);
    o = attempt(ccfg, ctx_a, "localhost", first.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);

    mtls_session_free(first.sess);
    mtls_session_free(in_xy.sess);
    mtls_session_free(in_a.sess);
    mtls_config *all[] = {trusts_x, trusts_y, also_x, optional, xy, yx, ctx_a, ctx_a2, ctx_b,
                          ccfg, stranger};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mtls_config_free(all[i]);
}

static void test_session_context_setter(void)
{
    mtls_config *cfg = mtls_config_new();
    uint8_t ctx[MTLS_SESSION_CONTEXT_MAX + 1];
    memset(ctx, 'c', sizeof(ctx));
    CHECK_ERR(mtls_config_set_session_context(cfg, ctx, MTLS_SESSION_CONTEXT_MAX), MTLS_OK);
    CHECK_ERR(mtls_config_set_session_context(cfg, ctx, MTLS_SESSION_CONTEXT_MAX + 1),
              MTLS_ERR_INVALID_ARG);
    CHECK(strstr(mtls_config_error_detail(cfg), "too long") != NULL);
    CHECK_ERR(mtls_config_set_session_context(cfg, NULL, 1), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_set_session_context(cfg, NULL, 0), MTLS_OK);
    CHECK_ERR(mtls_config_set_session_context(NULL, ctx, 1), MTLS_ERR_INVALID_ARG);
    mtls_config_free(cfg);
}

/* A deny-list in the verify callback: certificates by fingerprint, refused in full handshakes
 * and on resumption alike (or, with only_resumed, on resumption only). */
struct denylist {
    uint8_t fp[32];
    int active, only_resumed;
    int calls, resumed_calls;
    char subject[128];
};

static mtls_err deny_cb(void *arg, const mtls_conn *conn, mtls_err preverify)
{
    struct denylist *d = arg;
    d->calls++;
    int resumed = mtls_conn_resumed(conn);
    d->resumed_calls += resumed != 0;
    const char *subject = mtls_conn_peer_subject(conn);
    snprintf(d->subject, sizeof(d->subject), "%s", subject ? subject : "(none)");
    if (preverify != MTLS_OK)
        return preverify;
    uint8_t fp[32];
    if (mtls_conn_peer_fingerprint(conn, fp) != MTLS_OK)
        return MTLS_ERR_CERT_REJECTED;
    if (d->active && memcmp(fp, d->fp, 32) == 0 && (!d->only_resumed || resumed))
        return MTLS_ERR_CERT_REJECTED;
    return MTLS_OK;
}

/* The server's verify callback runs on resumption, with the stored client identity and
 * mtls_conn_resumed() true; a rejection means a full handshake (which the deny-list then fails,
 * or which succeeds when the callback objects only to resumption). */
static void test_recheck_server(int tickets)
{
    mtls_config *scfg = server_cfg(tickets, tickets ? 0 : 16, MTLS_VERIFY_REQUIRE);
    struct denylist d;
    memset(&d, 0, sizeof(d));
    CHECK_ERR(mtls_config_set_verify_callback(scfg, deny_cb, &d), MTLS_OK);
    mtls_config *ccfg = client_cfg(1);
    outcome first = attempt(ccfg, scfg, "localhost", NULL, NULL);
    CHECK_ERR(first.server, MTLS_OK);
    CHECK_EQ(d.calls, 1);
    CHECK_EQ(d.resumed_calls, 0);
    /* allowed: resumes, and the callback saw the stored identity as a resumption */
    outcome o = attempt(ccfg, scfg, "localhost", first.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 1);
    CHECK_EQ(d.calls, 2);
    CHECK_EQ(d.resumed_calls, 1);
    CHECK(strstr(d.subject, "client-P-256") != NULL);
    /* from here on the client offers its newest session, as clients do (a TLS 1.3 stateful
     * ticket resumes once; a TLS 1.2 session or a sealed ticket is the same session again) */
    mtls_session_free(first.sess);
    first.sess = o.sess;
    CHECK(first.sess != NULL);

    /* the client's certificate goes on the deny-list: its session is not resumed, and the full
     * handshake refuses it */
    {
        mtls_conn *probe = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(probe, s), MTLS_OK);
        CHECK_ERR(mtls_conn_peer_fingerprint(s, d.fp), MTLS_OK);
        mtls_conn_free(probe);
        mtls_conn_free(s);
    }
    d.active = 1;
    d.calls = d.resumed_calls = 0;
    o = attempt(ccfg, scfg, "localhost", first.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    CHECK_ERR(o.server, MTLS_ERR_CERT_REJECTED);
    CHECK_EQ(o.server_alert, 46); /* certificate_unknown */
    CHECK_EQ(d.resumed_calls, 1);
    CHECK_EQ(d.calls, 2); /* on resumption, then in the full handshake */
    mtls_session_free(o.sess);

    /* a callback that objects to resumption only: a full handshake, which succeeds */
    d.only_resumed = 1;
    o = attempt(ccfg, scfg, "localhost", first.sess, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    CHECK(strstr(o.peer, "client-P-256") != NULL);
    mtls_session_free(o.sess);

    mtls_session_free(first.sess);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

/* A client session is bound to the client's own verification context: other server anchors,
 * another name to verify, another session context or insecure flags mean the session is not
 * offered, and the full handshake verifies the server afresh.  The client's verify callback runs
 * when the server accepts the session; rejecting ends the handshake. */
static void test_binding_client(void)
{
    const tp_pki *pki = tp_get();
    mtls_config *scfg = server_cfg(1, 16, MTLS_VERIFY_NONE);
    mtls_config *ccfg = client_cfg(0), *same = client_cfg(0);
    mtls_config *other_ca = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(other_ca, pki->other_ca_pem, strlen(pki->other_ca_pem)),
              MTLS_OK);
    mtls_config_set_time(other_ca, clock_fn, NULL);
    mtls_config *with_ctx = client_cfg(0);
    CHECK_ERR(mtls_config_set_session_context(with_ctx, (const uint8_t *)"tenant-7", 8), MTLS_OK);
    mtls_config *insecure = client_cfg(0);
    CHECK_ERR(mtls_config_set_insecure_skip_verify(insecure, 1), MTLS_OK);

    outcome first = attempt(ccfg, scfg, "localhost", NULL, NULL);
    CHECK_ERR(first.client, MTLS_OK);
    CHECK(first.sess != NULL);

    /* same CA, name and context on another config: offered and resumed */
    outcome o = attempt(same, scfg, "localhost", first.sess, NULL);
    CHECK_ERR(o.client, MTLS_OK);
    CHECK_EQ(o.resumed, 1);
    mtls_session_free(o.sess);

    /* anchors that do not include the server's CA: not offered; the full handshake fails */
    o = attempt(other_ca, scfg, "localhost", first.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    CHECK_ERR(o.client, MTLS_ERR_CERT_UNKNOWN_CA);
    CHECK_EQ(o.client_alert, 48);
    mtls_session_free(o.sess);

    /* the same SNI but another name to verify: not offered; the full handshake checks it */
    o = attempt(ccfg, scfg, "localhost", first.sess, "elsewhere.example");
    CHECK_EQ(o.resumed, 0);
    CHECK_ERR(o.client, MTLS_ERR_CERT_HOSTNAME);
    mtls_session_free(o.sess);

    /* another session context, or insecure flags: not offered (full handshakes that succeed) */
    o = attempt(with_ctx, scfg, "localhost", first.sess, NULL);
    CHECK_ERR(o.client, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);
    o = attempt(insecure, scfg, "localhost", first.sess, NULL);
    CHECK_ERR(o.client, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);
    /* and the other way round: an insecure client's session is not taken by a verifying one */
    outcome unverified = attempt(insecure, scfg, "localhost", NULL, NULL);
    o = attempt(ccfg, scfg, "localhost", unverified.sess, NULL);
    CHECK_ERR(o.client, MTLS_OK);
    CHECK_EQ(o.resumed, 0);
    mtls_session_free(o.sess);

    /* the client's verify callback on resumption: it sees the stored server certificate and
     * mtls_conn_resumed(); a rejection ends the handshake with its error and alert */
    struct denylist d;
    memset(&d, 0, sizeof(d));
    d.active = d.only_resumed = 1;
    mtls_config *picky = client_cfg(0);
    CHECK_ERR(mtls_config_set_verify_callback(picky, deny_cb, &d), MTLS_OK);
    outcome p1 = attempt(picky, scfg, "localhost", NULL, NULL);
    CHECK_ERR(p1.client, MTLS_OK);
    CHECK_EQ(d.calls, 1);
    d.active = 0;
    o = attempt(picky, scfg, "localhost", p1.sess, NULL);
    CHECK_ERR(o.client, MTLS_OK);
    CHECK_EQ(o.resumed, 1);
    CHECK_EQ(d.resumed_calls, 1);
    CHECK(strstr(d.subject, "server-P-256") != NULL);
    mtls_session_free(o.sess);
    {
        mtls_conn *probe = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(probe, s), MTLS_OK);
        CHECK_ERR(mtls_conn_peer_fingerprint(probe, d.fp), MTLS_OK);
        mtls_conn_free(probe);
        mtls_conn_free(s);
    }
    d.active = 1;
    o = attempt(picky, scfg, "localhost", p1.sess, NULL);
    CHECK_ERR(o.client, MTLS_ERR_CERT_REJECTED);
    CHECK_EQ(o.client_alert, 46); /* certificate_unknown */
    CHECK_EQ(d.resumed_calls, 2);
    mtls_session_free(o.sess);

    mtls_session_free(first.sess);
    mtls_session_free(unverified.sess);
    mtls_session_free(p1.sess);
    mtls_config *all[] = {scfg, ccfg, same, other_ca, with_ctx, insecure, picky};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mtls_config_free(all[i]);
}

static int64_t clock_at(void *arg)
{
    return *(const int64_t *)arg;
}

/* A session whose peer certificate has expired since is not resumed: the server falls back to a
 * full handshake (which then refuses the expired client certificate), the client does not offer
 * it.  Sessions here live 30 days; the test certificates, 7. */
static void test_expired_leaf(void)
{
    const uint32_t month = 30 * 24 * 3600;
    int64_t now = fake_now, later = fake_now + 8 * 24 * 3600;
    mtls_config *scfg = server_cfg(1, 16, MTLS_VERIFY_REQUIRE), *ccfg = client_cfg(1);
    CHECK_ERR(mtls_config_set_ticket_keys(scfg, shared_keys, 1), MTLS_OK);
    mtls_config_set_session_cache(scfg, 16, month);
    mtls_config_set_session_cache(ccfg, 0, month);
    outcome first = attempt(ccfg, scfg, "localhost", NULL, NULL);
    CHECK_ERR(first.server, MTLS_OK);

    /* the server's clock is past the client certificate's notAfter, the client's is not */
    mtls_config *late_server = server_cfg(1, 16, MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_ticket_keys(late_server, shared_keys, 1), MTLS_OK);
    mtls_config_set_session_cache(late_server, 16, month);
    mtls_config_set_time(late_server, clock_at, &later);
    outcome o = attempt(ccfg, late_server, "localhost", first.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    CHECK_ERR(o.server, MTLS_ERR_CERT_EXPIRED);
    mtls_session_free(o.sess);

    /* the client's clock is past the server certificate's notAfter, the server's is not */
    mtls_config *late_client = client_cfg(1);
    mtls_config_set_session_cache(late_client, 0, month);
    mtls_config_set_time(late_client, clock_at, &later);
    mtls_config_set_time(scfg, clock_at, &now);
    o = attempt(late_client, scfg, "localhost", first.sess, NULL);
    CHECK_EQ(o.resumed, 0);
    CHECK_ERR(o.client, MTLS_ERR_CERT_EXPIRED);
    mtls_session_free(o.sess);

    mtls_session_free(first.sess);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
    mtls_config_free(late_server);
    mtls_config_free(late_client);
}

/* A TLS 1.3 client session whose ticket_age_add, or whose PSK, is not what the server gave:
 * the same ticket with a wrong age, or without its key. */
static mtls_session *forged(const mtls_session *real, int age_s, int wrong_psk)
{
    uint8_t buf[8192];
    size_t len;
    CHECK_ERR(mtls_session_to_bytes(real, buf, sizeof(buf), &len), MTLS_OK);
    mtls_session *f = mtls_session_from_bytes(buf, len);
    CHECK(f != NULL);
    if (f) {
        f->age_add -= (uint32_t)age_s * 1000u; /* the client reports an age `age_s` s off */
        f->master[0] ^= (uint8_t)(wrong_psk ? 1 : 0);
    }
    return f;
}

/* TLS 1.3 stateful tickets.  In the session cache (tickets off): two 32-byte tickets per
 * handshake, each naming a cached session; one resumes, once; the resumed connection's newest
 * ticket resumes in turn; an offer refused for its age, or whose binder does not verify, does
 * not use the ticket up; a new config sharing the cache (a reload) resumes them; with the cache
 * off too, no tickets at all.  In a store (tickets on or
 * off, no cache): a ticket of server A resumes on server B, the store forgets it then (its remove
 * callback), and neither server resumes it again; the store's sessions are never in the cache. */
static void test_tls13_stateful(void)
{
    version = MTLS_VERSION_TLS13;
    mtls_config *scfg = server_cfg(0, 16, MTLS_VERIFY_REQUIRE), *ccfg = client_cfg(1);
    int resumed;
    said[0] = 0;
    mtls_session *s1 = connect_once(ccfg, scfg, "localhost", NULL, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    CHECK(s1 && s1->version == MTLS_VERSION_TLS13 && s1->ticket_len == 32 && s1->id_len == 0);
    /* the ticket is the key of a session in the server's cache */
    mtls_session *cached = s1 ? cache_get(scfg->cache, s1->ticket, 32, fake_now) : NULL;
    CHECK(cached != NULL && cached->version == MTLS_VERSION_TLS13 && cached->id_len == 32);
    mtls_session_free(cached);

    said[0] = 0;
    mtls_session *s2 = connect_once(ccfg, scfg, "localhost", s1, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    CHECK(strstr(said, "resuming the session found in the session cache") != NULL);
    CHECK(strstr(said, "a stateful ticket, used once") != NULL);
    printf("TLS 1.3, tickets off: %s", said);
    CHECK(s2 && s2->ticket_len == 32 && s1 && memcmp(s2->ticket, s1->ticket, 32) != 0);
    /* used once: gone from the cache, a full handshake (never an error) */
    cached = s1 ? cache_get(scfg->cache, s1->ticket, 32, fake_now) : NULL;
    CHECK(cached == NULL);
    mtls_session_free(cached);
    said[0] = 0;
    mtls_session *s3 = connect_once(ccfg, scfg, "localhost", s1, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    CHECK(strstr(said, "names no session in the session cache (used once already") != NULL);
    printf("TLS 1.3, the same ticket again: %s", said);

    /* an age 30 s off (the window is 10 s + 1%): refused, and the ticket is still good */
    mtls_session *late = forged(s2, 30, 0);
    said[0] = 0;
    mtls_session *s4 = connect_once(ccfg, scfg, "localhost", late, &resumed, NULL);
    CHECK_EQ(resumed, 0);
    CHECK(strstr(said, "session from the session cache refused: the ticket's age") !=
          NULL);
    /* a binder made without the ticket's key: the handshake fails (decrypt_error), the ticket
     * stays good */
    mtls_session *keyless = forged(s2, 0, 1);
    outcome o = attempt(ccfg, scfg, "localhost", keyless, NULL);
    CHECK_ERR(o.server, MTLS_ERR_BAD_FINISHED);
    CHECK_EQ(o.server_alert, 51); /* decrypt_error */
    mtls_session_free(o.sess);
    mtls_session *s5 = connect_once(ccfg, scfg, "localhost", s2, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    mtls_session *s6 = connect_once(ccfg, scfg, "localhost", s5, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    /* a reload: the new config shares the running one's cache, and resumes its tickets */
    mtls_config *fresh = server_cfg(0, 16, MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_share_sessions(fresh, scfg), MTLS_OK);
    mtls_session *s7 = connect_once(ccfg, fresh, "localhost", s6, &resumed, NULL);
    CHECK_EQ(resumed, 1);
    mtls_config_free(fresh);
    mtls_session *all[] = {s1, s2, s3, late, s4, keyless, s5, s6, s7};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        mtls_session_free(all[i]);
    mtls_config_free(scfg);

    /* tickets off and no cache: nothing to resume by, so no tickets */
    scfg = server_cfg(0, 0, MTLS_VERIFY_REQUIRE);
    o = attempt(ccfg, scfg, "localhost", NULL, NULL);
    CHECK_ERR(o.server, MTLS_OK);
    CHECK(o.sess == NULL);
    mtls_session_free(o.sess);
    mtls_config_free(scfg);

    /* a store shared by two servers, with tickets on or off */
    static struct shared_store st;
    for (int tickets = 0; tickets <= 1; tickets++) {
        memset(&st, 0, sizeof(st));
        mtls_config *a = server_cfg(tickets, 16, MTLS_VERIFY_REQUIRE);
        mtls_config *b = server_cfg(tickets, 16, MTLS_VERIFY_REQUIRE);
        CHECK_ERR(mtls_config_set_session_store(a, store_put, store_get, store_del, &st), MTLS_OK);
        CHECK_ERR(mtls_config_set_session_store(b, store_put, store_get, store_del, &st), MTLS_OK);
        mtls_session *t1 = connect_once(ccfg, a, "localhost", NULL, &resumed, NULL);
        CHECK(t1 && t1->ticket_len == 32);
        CHECK_EQ(st.puts, MTLS_TLS13_TICKETS_DEFAULT);
        CHECK_EQ(store_count(&st), MTLS_TLS13_TICKETS_DEFAULT);
        /* kept in the store alone: one place decides that a ticket was used */
        mtls_session *cached_a = t1 ? cache_get(a->cache, t1->ticket, 32, fake_now) : NULL;
        CHECK(cached_a == NULL);
        mtls_session_free(cached_a);
        said[0] = 0;
        mtls_session *t2 = connect_once(ccfg, b, "localhost", t1, &resumed, NULL);
        CHECK_EQ(resumed, 1);
        CHECK(strstr(said, "resuming the session found in the session store") != NULL);
        CHECK_EQ(st.removes, 1);
        CHECK_EQ(store_count(&st), 2 * MTLS_TLS13_TICKETS_DEFAULT - 1);
        printf("TLS 1.3, a store, tickets %s: %s", tickets ? "on" : "off", said);
        /* used: neither server resumes it again; B's newest ticket resumes on A */
        mtls_session *t3 = connect_once(ccfg, a, "localhost", t1, &resumed, NULL);
        CHECK_EQ(resumed, 0);
        mtls_session *t4 = connect_once(ccfg, b, "localhost", t1, &resumed, NULL);
        CHECK_EQ(resumed, 0);
        mtls_session *t5 = connect_once(ccfg, a, "localhost", t2, &resumed, NULL);
        CHECK_EQ(resumed, 1);
        mtls_session *more[] = {t1, t2, t3, t4, t5};
        for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
            mtls_session_free(more[i]);
        mtls_config_free(a);
        mtls_config_free(b);
    }
    mtls_config_free(ccfg);
    version = MTLS_VERSION_TLS12;
}

int main(void)
{
    fake_now = (int64_t)time(NULL);
    test_id_and_ticket(0);
    test_id_and_ticket(1);
    test_eviction_and_expiry();
    test_ticket_keys();
    test_server_name_and_ems_refusals();
    test_server_ems_resumption();
    test_threads();
    test_binding_server(1);
    test_binding_server(0);
    test_session_context_setter();
    test_recheck_server(1);
    test_recheck_server(0);
    test_binding_client();
    test_expired_leaf();

    /* TLS 1.3: stateful tickets, and every check through them (sealed ones: test_tls13) */
    test_tls13_stateful();
    version = MTLS_VERSION_TLS13;
    test_binding_server(0); /* through the store */
    test_binding_server(1); /* sealed tickets under shared keys */
    test_recheck_server(0); /* through the cache */
    test_recheck_server(1);
    version = MTLS_VERSION_TLS12;
    return t_done();
}
