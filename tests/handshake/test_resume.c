/*
 * test_resume.c -- session resumption in memory (RFC 5246 7.3 abbreviated handshake, RFC 5077
 * tickets, RFC 7627 5.3): by session id and by ticket; the resumed connection keeps the original
 * peer identity; fallback to a full handshake after eviction, expiry, ticket-key rotation past
 * the lifetime, and a corrupted ticket; refusals when suite, server name or EMS differ; sessions
 * survive serialization; one config serving resumptions on several threads.
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
    return t_done();
}
