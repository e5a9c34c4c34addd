/*
 * test_pha.c -- the TLS 1.3 API after the handshake, in memory: post-handshake client
 * authentication (RFC 8446 4.6.2) between two mtls endpoints in every verify mode, with and
 * without a client certificate, several requests outstanding, the getters before and after, and
 * every unsolicited, misplaced or ill-formed message with its alert; KeyUpdate on request both
 * ways (4.6.3); keying material exporters (RFC 8446 7.5, RFC 5705); and each of them against
 * OpenSSL's libssl as the peer, in both roles (exporters in both versions).
 *
 * libssl is the peer (allowed in tests, never in the library): its SSL_export_keying_material on
 * the same connection is what ours must equal.  An mtls endpoint and a libssl endpoint talk over
 * two memory BIOs; bytes go from mtls_send_buf into libssl's read BIO and from libssl's write BIO
 * through mtls_recv_buf, as over a socket.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "codec/codec.h"
#include "common/testpki.h"
#include "core/internal.h"
#include "record/tls.h"
#include "t.h"

/* What `from` sent, delivered to `to`, and -- as an application that is not reading yet does --
 * mtls_handshake on an established `to`: after the handshake mtls_recv_ack leaves protected
 * records for mtls_read, and mtls_handshake handles the post-handshake messages among them
 * (CertificateRequest, Certificate, CertificateVerify, Finished, KeyUpdate) and their alerts. */
static mtls_err xfer(mtls_conn *from, mtls_conn *to)
{
    for (;;) {
        size_t before, after;
        mtls_send_buf(from, &before);
        mtls_err err = tp_transfer(from, to);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_WRITE)
            return err;
        if (mtls_conn_established(to)) {
            mtls_err e = mtls_handshake(to); /* frees the room the records took */
            if (e)
                return e;
        }
        mtls_send_buf(from, &after);
        if (err == MTLS_OK || after == before)
            return err;
    }
}

/* ---- an mtls endpoint and a libssl endpoint ------------------------------------------------ */

typedef struct {
    mtls_conn *m;
    SSL *o;
    BIO *to_o, *from_o; /* libssl's read and write BIOs */
    mtls_config *mcfg;
    SSL_CTX *octx;
    char got_o[256]; /* application data libssl read, for the checks */
    size_t got_o_len;
    char got_m[256]; /* ... and mtls */
    size_t got_m_len;
} xpair;

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    return k;
}

/* A libssl context pinned to `version`, with `id` as its certificate (NULL: none) and the test
 * CA as its trust anchor. */
static SSL_CTX *ossl_ctx(int server, int version, const tp_ident *id)
{
    const tp_pki *pki = tp_get();
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    if (id) {
        X509 *x = pem_cert(id->cert_pem);
        EVP_PKEY *k = pem_key(id->key_pem);
        CHECK(x && k && SSL_CTX_use_certificate(ctx, x) == 1 &&
              SSL_CTX_use_PrivateKey(ctx, k) == 1);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    X509 *ca = pem_cert(pki->ca_pem);
    CHECK(ca && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) == 1);
    X509_free(ca);
    return ctx;
}

static mtls_config *mtls_cfg(int server, uint16_t version, const tp_ident *id)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_versions(cfg, version, version), MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    if (id)
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem),
                                                 id->key_pem, strlen(id->key_pem)),
                  MTLS_OK);
    (void)server;
    return cfg;
}

/* What mtls read of the application data (kept up to got_m's size). */
static void m_drain(xpair *p)
{
    char buf[4096];
    size_t n;
    while (mtls_conn_established(p->m) && mtls_read(p->m, buf, sizeof(buf), &n) == MTLS_OK) {
        size_t k = n < sizeof(p->got_m) - p->got_m_len ? n : sizeof(p->got_m) - p->got_m_len;
        memcpy(p->got_m + p->got_m_len, buf, k);
        p->got_m_len += k;
    }
}

/* Bytes from libssl into mtls, as a transport delivers them; what mtls holds as application
 * data is read when it has no room left. */
static void m_feed(xpair *p, const uint8_t *b, size_t n)
{
    while (n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(p->m, &room);
        if (!dst || !room) {
            size_t before = p->got_m_len;
            m_drain(p);
            if (p->got_m_len == before && !(dst = mtls_recv_buf(p->m, &room), dst && room)) {
                CHECK(!"mtls takes no input");
                return;
            }
            continue;
        }
        size_t k = n < room ? n : room;
        memcpy(dst, b, k);
        /* an error is the connection's: the cases check mtls_conn_error */
        mtls_err err = mtls_recv_ack(p->m, k);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return;
        b += k;
        n -= k;
    }
    m_drain(p);
}

/* Move bytes both ways until nothing moves: libssl runs its handshake, then reads (which
 * processes post-handshake messages); mtls reads what came. */
static void xpump(xpair *p)
{
    static uint8_t buf[65536];
    for (int round = 0; round < 200; round++) {
        int moved = 0;
        size_t n;
        const uint8_t *b = mtls_send_buf(p->m, &n);
        if (b && n) {
            CHECK(BIO_write(p->to_o, b, (int)n) == (int)n);
            mtls_send_ack(p->m, n);
            moved = 1;
        }
        if (!SSL_is_init_finished(p->o)) {
            (void)SSL_do_handshake(p->o);
        } else {
            int r;
            while ((r = SSL_read(p->o, buf, sizeof(buf))) > 0) {
                size_t k = (size_t)r;
                if (p->got_o_len + k <= sizeof(p->got_o)) {
                    memcpy(p->got_o + p->got_o_len, buf, k);
                    p->got_o_len += k;
                }
                moved = 1;
            }
        }
        int r;
        while ((r = BIO_read(p->from_o, buf, sizeof(buf))) > 0) {
            m_feed(p, buf, (size_t)r);
            moved = 1;
        }
        if (!mtls_conn_established(p->m))
            (void)mtls_handshake(p->m);
        if (!moved)
            break;
    }
}

/* mtls in role `m_server` against libssl, both pinned to `version`.  The server of the two has
 * the server certificate; mtls_client/ossl_client get `client_id` when given. */
static int xpair_open(xpair *p, int m_server, int version, const tp_ident *client_id,
                      void (*tweak)(SSL_CTX *ctx, mtls_config *cfg))
{
    const tp_pki *pki = tp_get();
    memset(p, 0, sizeof(*p));
    uint16_t v = version == TLS1_3_VERSION ? MTLS_VERSION_TLS13 : MTLS_VERSION_TLS12;
    p->mcfg = mtls_cfg(m_server, v, m_server ? &pki->server[TP_P256] : client_id);
    p->octx = ossl_ctx(!m_server, version, m_server ? client_id : &pki->server[TP_P256]);
    if (tweak)
        tweak(p->octx, p->mcfg);
    p->m = m_server ? mtls_server_new(p->mcfg) : mtls_client_new(p->mcfg, "localhost");
    p->o = SSL_new(p->octx);
    p->to_o = BIO_new(BIO_s_mem());
    p->from_o = BIO_new(BIO_s_mem());
    CHECK(p->m && p->o && p->to_o && p->from_o);
    SSL_set_bio(p->o, p->to_o, p->from_o);
    if (m_server)
        SSL_set_connect_state(p->o);
    else
        SSL_set_accept_state(p->o);
    if (!m_server)
        (void)mtls_handshake(p->m);
    else
        (void)SSL_do_handshake(p->o);
    xpump(p);
    int ok = mtls_conn_established(p->m) && SSL_is_init_finished(p->o);
    if (!ok)
        fprintf(stderr, "  handshake with libssl failed: mtls %s (%s); libssl %lu\n",
                mtls_err_name(mtls_conn_error(p->m)), mtls_conn_error_detail(p->m),
                ERR_peek_last_error());
    return ok;
}

static void xpair_close(xpair *p)
{
    mtls_conn_free(p->m);
    SSL_free(p->o); /* frees both BIOs */
    SSL_CTX_free(p->octx);
    mtls_config_free(p->mcfg);
    memset(p, 0, sizeof(*p));
}

/* ---- keying material exporters ------------------------------------------------------------- */

static void no_ems(SSL_CTX *ctx, mtls_config *cfg)
{
    (void)cfg;
    SSL_CTX_set_options(ctx, SSL_OP_NO_EXTENDED_MASTER_SECRET);
}

/* Ours equals libssl's, for several lengths, with a context, with an empty one and without. */
static void exporters_equal(xpair *p, int tls13)
{
    static const char label[] = "EXPORTER-mtls-test";
    const size_t ll = sizeof(label) - 1;
    uint8_t ctx[300], want[600], got[600], none[600], empty[600];
    for (size_t i = 0; i < sizeof(ctx); i++)
        ctx[i] = (uint8_t)(i * 31 + 7);
    static const size_t lens[] = {1, 32, 100, 600};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        /* with a context */
        CHECK(SSL_export_keying_material(p->o, want, n, label, ll, ctx, sizeof(ctx), 1) == 1);
        CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, ctx, sizeof(ctx), 1, got, n),
                  MTLS_OK);
        CHECK_MEM(got, want, n);
        /* an empty context */
        CHECK(SSL_export_keying_material(p->o, want, n, label, ll, ctx, 0, 1) == 1);
        CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, NULL, 0, 1, empty, n),
                  MTLS_OK);
        CHECK_MEM(empty, want, n);
        /* no context */
        CHECK(SSL_export_keying_material(p->o, want, n, label, ll, NULL, 0, 0) == 1);
        CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, ctx, sizeof(ctx), 0, none, n),
                  MTLS_OK);
        CHECK_MEM(none, want, n);
        /* RFC 8446 7.5: the same in TLS 1.3; RFC 5705 4: different in TLS 1.2 */
        CHECK_EQ(memcmp(none, empty, n) == 0, tls13);
    }
    /* RFC 9266's tls-exporter channel binding */
    static const char cb[] = "EXPORTER-Channel-Binding";
    CHECK(SSL_export_keying_material(p->o, want, 32, cb, sizeof(cb) - 1, NULL, 0, 0) == 1);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, cb, sizeof(cb) - 1, NULL, 0, 0, got, 32),
              MTLS_OK);
    CHECK_MEM(got, want, 32);
    /* the TLS 1.2 PRF's own labels, in both versions; bounds */
    static const char *reserved[] = {"client finished", "server finished", "master secret",
                                     "extended master secret", "key expansion",
                                     "key expansion and more"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        memset(got, 0xaa, 32);
        CHECK_ERR(mtls_conn_export_keying_material(p->m, reserved[i], strlen(reserved[i]), NULL, 0,
                                                   0, got, 32),
                  MTLS_ERR_INVALID_ARG);
        CHECK(got[0] == 0 && got[31] == 0); /* nothing half-made is left */
    }
    char long_label[256];
    memset(long_label, 'E', sizeof(long_label));
    CHECK_ERR(mtls_conn_export_keying_material(p->m, long_label, 249, NULL, 0, 0, got, 32),
              MTLS_OK);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, long_label, 250, NULL, 0, 0, got, 32),
              tls13 ? MTLS_ERR_INVALID_ARG : MTLS_OK);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, long_label, 256, NULL, 0, 0, got, 32),
              MTLS_ERR_INVALID_ARG);
    static uint8_t big_ctx[65536];
    CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, big_ctx, 65535, 1, got, 32),
              MTLS_OK);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, big_ctx, 65536, 1, got, 32),
              tls13 ? MTLS_OK : MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, "", 0, NULL, 0, 0, got, 32),
              MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, NULL, 0, 0, got, 0),
              MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_conn_export_keying_material(p->m, label, ll, NULL, 5, 1, got, 32),
              MTLS_ERR_INVALID_ARG);
    /* a usage error changes nothing */
    CHECK_ERR(mtls_conn_error(p->m), MTLS_OK);
}

static void exporters(void)
{
    static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (int vi = 0; vi < 2; vi++) {
        for (int m_server = 0; m_server < 2; m_server++) {
            xpair p;
            int tls13 = versions[vi] == TLS1_3_VERSION;
            if (xpair_open(&p, m_server, versions[vi], NULL, NULL)) {
                CHECK_EQ(mtls_conn_version(p.m), tls13 ? MTLS_VERSION_TLS13 : MTLS_VERSION_TLS12);
                if (!tls13)
                    CHECK(mtls_conn_ems(p.m));
                exporters_equal(&p, tls13);
            }
            xpair_close(&p);
        }
    }
    /* before the handshake: nothing to export */
    mtls_config *cfg = mtls_cfg(0, MTLS_VERSION_TLS13, NULL);
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    uint8_t out[32];
    CHECK_ERR(mtls_conn_export_keying_material(c, "EXPORTER-x", 10, NULL, 0, 0, out, 32),
              MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_export_keying_material(NULL, "EXPORTER-x", 10, NULL, 0, 0, out, 32),
              MTLS_ERR_INVALID_ARG);
    mtls_conn_free(c);
    mtls_config_free(cfg);
    /* TLS 1.2 without extended master secret: refused (RFC 7627 1, RFC 9266 2) */
    for (int m_server = 0; m_server < 2; m_server++) {
        xpair p;
        if (xpair_open(&p, m_server, TLS1_2_VERSION, NULL, no_ems)) {
            CHECK(!mtls_conn_ems(p.m));
            CHECK_ERR(mtls_conn_export_keying_material(p.m, "EXPORTER-x", 10, NULL, 0, 0, out, 32),
                      MTLS_ERR_BAD_STATE);
            CHECK_ERR(mtls_conn_error(p.m), MTLS_OK);
        }
        xpair_close(&p);
    }
    printf("exporters: equal to libssl's in TLS 1.2 and 1.3, both roles, with, without and with "
           "an empty context; reserved labels, bounds, before the handshake and TLS 1.2 without "
           "extended master secret refused\n");
}

/* ---- KeyUpdate (RFC 8446 4.6.3) ------------------------------------------------------------ */

typedef struct {
    int ku_out, ku_in, ku_requested_in; /* KeyUpdate messages sent, received, received asking */
    int cr_out, cr_in;                  /* CertificateRequest sent, received */
    int post_auth;                      /* MTLS_DECISION_POST_AUTH */
    char cr_detail[256];                /* the last CertificateRequest received, in words */
} seen;
static void count_trace(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    seen *s = arg;
    int out = ev->kind == MTLS_TRACE_SENT, in = ev->kind == MTLS_TRACE_RECEIVED;
    s->ku_out += out && ev->msg == TLS_HS_KEY_UPDATE;
    s->ku_in += in && ev->msg == TLS_HS_KEY_UPDATE;
    s->ku_requested_in +=
        in && ev->msg == TLS_HS_KEY_UPDATE && strstr(ev->detail, "update_requested") != NULL;
    s->cr_out += out && ev->msg == TLS_HS_CERTIFICATE_REQUEST;
    s->cr_in += in && ev->msg == TLS_HS_CERTIFICATE_REQUEST;
    if (in && ev->msg == TLS_HS_CERTIFICATE_REQUEST)
        snprintf(s->cr_detail, sizeof(s->cr_detail), "%s", ev->detail);
    s->post_auth += ev->kind == MTLS_TRACE_DECISION && ev->decision == MTLS_DECISION_POST_AUTH;
}

/* Two mtls endpoints: the server verifies clients in `mode`, the client has `cert` (or none). */
typedef struct {
    mtls_config *scfg, *ccfg;
    mtls_conn *c, *s;
    seen cs, ss;
} mpair;

static void mpair_open(mpair *p, uint16_t version, mtls_verify_mode mode, const tp_ident *cert,
                       int open)
{
    const tp_pki *pki = tp_get();
    memset(p, 0, sizeof(*p));
    p->scfg = mtls_cfg(1, version, &pki->server[TP_P256]);
    p->ccfg = mtls_cfg(0, version, cert);
    CHECK_ERR(mtls_config_set_verify_client(p->scfg, mode), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(p->ccfg, count_trace, &p->cs), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(p->scfg, count_trace, &p->ss), MTLS_OK);
    if (!open)
        return;
    p->c = mtls_client_new(p->ccfg, "localhost");
    p->s = mtls_server_new(p->scfg);
    CHECK_ERR(tp_handshake(p->c, p->s), MTLS_OK);
}

static void mpair_close(mpair *p)
{
    mtls_conn_free(p->c);
    mtls_conn_free(p->s);
    mtls_config_free(p->ccfg);
    mtls_config_free(p->scfg);
    memset(p, 0, sizeof(*p));
}

static int pending(mtls_conn *c)
{
    size_t n = 0;
    (void)mtls_send_buf(c, &n);
    return n > 0;
}

static void key_updates(void)
{
    mpair p;
    mpair_open(&p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, NULL, 1);
    CHECK(tp_send_check(p.c, p.s, "before, client", 14));
    CHECK(tp_send_check(p.s, p.c, "before, server", 14));
    /* the client moves its key on: the KeyUpdate is queued at once */
    CHECK_ERR(mtls_conn_key_update(p.c, 0), MTLS_OK);
    CHECK(pending(p.c));
    CHECK_EQ(p.cs.ku_out, 1);
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK);
    CHECK_EQ(p.ss.ku_in, 1);
    CHECK_EQ(p.ss.ku_out, 0); /* not asked to answer */
    CHECK(tp_send_check(p.c, p.s, "after, client", 13));
    CHECK(tp_send_check(p.s, p.c, "after, server", 13));
    /* the server moves on and asks the client to: the client answers as it reads */
    CHECK_ERR(mtls_conn_key_update(p.s, 1), MTLS_OK);
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    CHECK_EQ(p.cs.ku_requested_in, 1);
    CHECK_EQ(p.cs.ku_out, 2);
    CHECK(pending(p.c));
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK);
    CHECK_EQ(p.ss.ku_in, 2);
    CHECK(tp_send_check(p.c, p.s, "after the answer", 16));
    CHECK(tp_send_check(p.s, p.c, "after the answer", 16));
    /* a KeyUpdate and data in one flight, and both sides asking at once (RFC 8446 4.6.3: each
     * then answers, and both move on by two generations) */
    size_t w;
    CHECK_ERR(mtls_conn_key_update(p.c, 1), MTLS_OK);
    CHECK_ERR(mtls_conn_key_update(p.s, 1), MTLS_OK);
    CHECK_ERR(mtls_write(p.c, "crossed", 7, &w), MTLS_OK);
    CHECK_ERR(mtls_write(p.s, "crossed", 7, &w), MTLS_OK);
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK);
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    char buf[32];
    size_t n;
    CHECK_ERR(mtls_read(p.s, buf, sizeof(buf), &n), MTLS_OK);
    CHECK(n == 7 && memcmp(buf, "crossed", 7) == 0);
    CHECK_ERR(mtls_read(p.c, buf, sizeof(buf), &n), MTLS_OK);
    CHECK(n == 7 && memcmp(buf, "crossed", 7) == 0);
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK); /* the answers */
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    CHECK_EQ(p.cs.ku_out, 4);
    CHECK_EQ(p.ss.ku_out, 3);
    CHECK(tp_send_check(p.c, p.s, "two generations on", 18));
    CHECK(tp_send_check(p.s, p.c, "two generations on", 18));
    /* the exporter does not move with the traffic keys */
    uint8_t e1[32], e2[32];
    CHECK_ERR(mtls_conn_export_keying_material(p.c, "EXPORTER-x", 10, NULL, 0, 0, e1, 32),
              MTLS_OK);
    CHECK_ERR(mtls_conn_export_keying_material(p.s, "EXPORTER-x", 10, NULL, 0, 0, e2, 32),
              MTLS_OK);
    CHECK_MEM(e1, e2, 32);
    /* after close_notify: nothing more of ours may follow, not even the answer to a request
     * (RFC 8446 6.1) */
    CHECK_ERR(mtls_close(p.c), MTLS_OK);
    CHECK_ERR(mtls_conn_key_update(p.c, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_error(p.c), MTLS_OK);
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK); /* the close_notify */
    int before_out = p.cs.ku_out;
    CHECK_ERR(mtls_conn_key_update(p.s, 1), MTLS_OK);
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    CHECK_EQ(p.cs.ku_in, p.ss.ku_out);
    CHECK_EQ(p.cs.ku_out, before_out);
    CHECK(!pending(p.c));
    mpair_close(&p);
    /* before the handshake, and in TLS 1.2 */
    mpair_open(&p, MTLS_VERSION_TLS12, MTLS_VERIFY_NONE, NULL, 0);
    p.c = mtls_client_new(p.ccfg, "localhost");
    p.s = mtls_server_new(p.scfg);
    CHECK_ERR(mtls_conn_key_update(p.c, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_key_update(NULL, 0), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
    CHECK_ERR(mtls_conn_key_update(p.c, 1), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_key_update(p.s, 0), MTLS_ERR_BAD_STATE);
    CHECK(tp_send_check(p.c, p.s, "still fine", 10));
    mpair_close(&p);
    printf("KeyUpdate: asked for by either side, data before and after, update_requested "
           "answered, crossing requests, a KeyUpdate and data in one flight; refused before "
           "the handshake, after close_notify and in TLS 1.2\n");
}

static seen xseen;
static void x_trace(SSL_CTX *ctx, mtls_config *cfg)
{
    (void)ctx;
    memset(&xseen, 0, sizeof(xseen));
    CHECK_ERR(mtls_config_set_trace_events(cfg, count_trace, &xseen), MTLS_OK);
}

/* Against libssl: its SSL_key_update both ways (s_client's k and K), ours to it. */
static void key_updates_libssl(void)
{
    for (int m_server = 0; m_server < 2; m_server++) {
        xpair p;
        if (!xpair_open(&p, m_server, TLS1_3_VERSION, NULL, x_trace)) {
            xpair_close(&p);
            continue;
        }
        size_t w;
        /* data before */
        CHECK_ERR(mtls_write(p.m, "m1", 2, &w), MTLS_OK);
        CHECK(SSL_write(p.o, "o1", 2) == 2);
        xpump(&p);
        /* libssl updates its key without asking ours (k), then asking (K) */
        CHECK(SSL_key_update(p.o, SSL_KEY_UPDATE_NOT_REQUESTED) == 1);
        CHECK(SSL_write(p.o, "o2", 2) == 2);
        xpump(&p);
        CHECK_EQ(xseen.ku_in, 1);
        CHECK_EQ(xseen.ku_out, 0);
        CHECK(SSL_key_update(p.o, SSL_KEY_UPDATE_REQUESTED) == 1);
        CHECK(SSL_write(p.o, "o3", 2) == 2);
        xpump(&p);
        CHECK_EQ(xseen.ku_requested_in, 1);
        CHECK_EQ(xseen.ku_out, 1); /* answered */
        CHECK_ERR(mtls_write(p.m, "m2", 2, &w), MTLS_OK);
        xpump(&p);
        /* ours, asking libssl to answer (it does before its next write) */
        CHECK_ERR(mtls_conn_key_update(p.m, 1), MTLS_OK);
        CHECK_ERR(mtls_write(p.m, "m3", 2, &w), MTLS_OK);
        xpump(&p);
        CHECK(SSL_write(p.o, "o4", 2) == 2);
        xpump(&p);
        CHECK_EQ(xseen.ku_in, 3);
        CHECK_ERR(mtls_write(p.m, "m4", 2, &w), MTLS_OK);
        xpump(&p);
        CHECK(p.got_m_len == 8 && memcmp(p.got_m, "o1o2o3o4", 8) == 0);
        CHECK(p.got_o_len == 8 && memcmp(p.got_o, "m1m2m3m4", 8) == 0);
        CHECK_ERR(mtls_conn_error(p.m), MTLS_OK);
        xpair_close(&p);
    }
    printf("KeyUpdate against libssl, both roles: its SSL_key_update with and without a request, "
           "ours with one, data before and after each\n");
}

/* ---- post-handshake client authentication (RFC 8446 4.6.2) ------------------------------- */

/* The post-handshake authentication events of one side. */
typedef struct {
    int n[5]; /* by mtls_post_auth_event */
    int established_in_verify; /* the verify callback ran with the connection established */
    char subject_in_verify[128];
    int reject;                /* the verify callback rejects */
} events;
static void on_post_auth(void *arg, const mtls_conn *conn, mtls_post_auth_event ev)
{
    (void)conn;
    events *e = arg;
    if (ev >= 1 && ev <= 4)
        e->n[ev]++;
}
static mtls_err on_verify(void *arg, const mtls_conn *conn, mtls_err preverify)
{
    events *e = arg;
    if (mtls_conn_established(conn)) {
        e->established_in_verify++;
        const char *sub = mtls_conn_peer_subject(conn);
        snprintf(e->subject_in_verify, sizeof(e->subject_in_verify), "%s", sub ? sub : "");
    }
    return e->reject && mtls_conn_established(conn) ? MTLS_ERR_CERT_REJECTED : preverify;
}

static int has_subject(const mtls_conn *c, const char *cn)
{
    const char *sub = mtls_conn_peer_subject(c);
    return sub && strstr(sub, cn) != NULL;
}

/* The server asks; the answer moves; 1 when nothing failed on the way. */
static int ask(mpair *p)
{
    CHECK_ERR(mtls_conn_request_client_cert(p->s), MTLS_OK);
    CHECK(pending(p->s));
    mtls_err e1 = xfer(p->s, p->c), e2 = xfer(p->c, p->s);
    return e1 == MTLS_OK && e2 == MTLS_OK;
}

typedef struct {
    mtls_verify_mode mode;
    int cert;     /* the client has a certificate */
    int resumed;  /* the handshake resumed a session made with client-P-256's certificate */
} pha_case;

static void pha_one(const pha_case *k)
{
    const tp_pki *pki = tp_get();
    static const char *modes[] = {"none", "optional", "require"};
    int before = t_fail;
    mpair p;
    events se = {0}, ce = {0};
    mpair_open(&p, MTLS_VERSION_TLS13, k->mode, k->cert ? &pki->client[TP_RSA2048] : NULL, 0);
    CHECK_ERR(mtls_config_set_post_auth_callback(p.scfg, on_post_auth, &se), MTLS_OK);
    CHECK_ERR(mtls_config_set_post_auth_callback(p.ccfg, on_post_auth, &ce), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_callback(p.scfg, on_verify, &se), MTLS_OK);
    if (!k->cert) /* offered by default only with a certificate */
        CHECK_ERR(mtls_config_set_post_handshake_auth(p.ccfg, 1), MTLS_OK);
    mtls_session *sess = NULL;
    if (k->resumed) {
        /* a session whose client identity is client-P-256, made by another client config */
        mtls_config *other = mtls_cfg(0, MTLS_VERSION_TLS13, &pki->client[TP_P256]);
        mtls_conn *c = mtls_client_new(other, "localhost"), *s = mtls_server_new(p.scfg);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        sess = mtls_conn_get_session(c);
        CHECK(sess != NULL);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(other);
        memset(&p.ss, 0, sizeof(p.ss));
    }
    p.c = mtls_client_new(p.ccfg, "localhost");
    p.s = mtls_server_new(p.scfg);
    if (sess)
        CHECK_ERR(mtls_conn_set_session(p.c, sess), MTLS_OK);
    mtls_session_free(sess);
    CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
    CHECK_EQ(mtls_conn_resumed(p.s), k->resumed);
    CHECK(mtls_conn_post_auth_offered(p.s) && mtls_conn_post_auth_offered(p.c));
    CHECK_EQ(mtls_conn_post_auth_pending(p.s), 0);
    /* the identity of the handshake */
    int had = k->resumed || (k->cert && k->mode != MTLS_VERIFY_NONE);
    CHECK_EQ(mtls_conn_peer_cert_presented(p.s), had);
    if (k->resumed)
        CHECK(has_subject(p.s, "client-P-256"));
    CHECK(tp_send_check(p.c, p.s, "before", 6));
    CHECK(tp_send_check(p.s, p.c, "before", 6));
    se.established_in_verify = 0;
    /* the request; the client answers as it reads it */
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_OK);
    CHECK_EQ(p.ss.cr_out, 1 + (k->mode != MTLS_VERIFY_NONE && !k->resumed));
    CHECK_EQ(mtls_conn_post_auth_pending(p.s), 1);
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    CHECK_EQ(ce.n[k->cert ? MTLS_POST_AUTH_CERT_SENT : MTLS_POST_AUTH_NO_CERT_SENT], 1);
    /* certificate_authorities as in the handshake, in every mode (none too) */
    CHECK(strstr(p.cs.cr_detail, "(1 CA names)") != NULL);
    CHECK(mtls_conn_cert_requested(p.c));
    mtls_err err = xfer(p.c, p.s);
    if (!k->cert && k->mode == MTLS_VERIFY_REQUIRE) {
        /* RFC 8446 4.4.2.4: certificate_required */
        CHECK_ERR(err, MTLS_ERR_CERT_REQUIRED);
        CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CERT_REQUIRED);
        CHECK_EQ(mtls_conn_alert_sent(p.s), TLS_ALERT_CERTIFICATE_REQUIRED);
        CHECK_ERR(xfer(p.s, p.c), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_CERTIFICATE_REQUIRED);
        CHECK_EQ(se.n[MTLS_POST_AUTH_NO_CERT] + se.n[MTLS_POST_AUTH_VERIFIED], 0);
    } else {
        CHECK_ERR(err, MTLS_OK);
        CHECK_EQ(mtls_conn_post_auth_pending(p.s), 0);
        CHECK_EQ(p.ss.post_auth, 1);
        CHECK_EQ(se.n[k->cert ? MTLS_POST_AUTH_VERIFIED : MTLS_POST_AUTH_NO_CERT], 1);
        CHECK_EQ(mtls_conn_peer_cert_presented(p.s), k->cert);
        if (k->cert) {
            /* the new identity: the getters, the signature scheme, the SPIFFE ID */
            CHECK(has_subject(p.s, "client-RSA-2048"));
            CHECK_EQ(mtls_conn_client_sigalg(p.s), MTLS_SIG_RSA_PSS_RSAE_SHA256);
            CHECK_EQ(mtls_conn_client_sigalg(p.c), MTLS_SIG_RSA_PSS_RSAE_SHA256);
            CHECK(mtls_conn_peer_spiffe_id(p.s) &&
                  strcmp(mtls_conn_peer_spiffe_id(p.s), "spiffe://mtls.test/client") == 0);
            CHECK_EQ(mtls_conn_peer_cert_count(p.s), 2);
            /* the verify callback judged it, seeing it through the getters */
            CHECK_EQ(se.established_in_verify, 1);
            CHECK(strstr(se.subject_in_verify, "client-RSA-2048") != NULL);
        } else {
            CHECK(mtls_conn_peer_subject(p.s) == NULL);
            CHECK_EQ(mtls_conn_peer_cert_count(p.s), 0);
            CHECK_EQ(mtls_conn_client_sigalg(p.s), 0);
        }
        CHECK(tp_send_check(p.c, p.s, "after", 5));
        CHECK(tp_send_check(p.s, p.c, "after", 5));
        /* once more: the same outcome on a new branch of the transcript */
        CHECK(ask(&p));
        CHECK_EQ(se.n[k->cert ? MTLS_POST_AUTH_VERIFIED : MTLS_POST_AUTH_NO_CERT], 2);
        CHECK_EQ(mtls_conn_peer_cert_presented(p.s), k->cert);
        CHECK(tp_send_check(p.c, p.s, "again", 5));
        CHECK_ERR(mtls_conn_error(p.c), MTLS_OK);
        CHECK_ERR(mtls_conn_error(p.s), MTLS_OK);
    }
    if (t_fail != before)
        fprintf(stderr, "  ^ post-handshake authentication: verify %s, %s, %s\n",
                modes[k->mode], k->cert ? "client certificate" : "no client certificate",
                k->resumed ? "resumed" : "full handshake");
    mpair_close(&p);
}

static void pha_modes(void)
{
    static const pha_case cases[] = {
        {MTLS_VERIFY_NONE, 1, 0},    {MTLS_VERIFY_NONE, 0, 0},
        {MTLS_VERIFY_OPTIONAL, 1, 0}, {MTLS_VERIFY_OPTIONAL, 0, 0},
        {MTLS_VERIFY_REQUIRE, 1, 0}, {MTLS_VERIFY_REQUIRE, 1, 1},
        {MTLS_VERIFY_REQUIRE, 0, 1}, {MTLS_VERIFY_OPTIONAL, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        pha_one(&cases[i]);
    printf("post-handshake authentication: verify none, optional and require, with and without "
           "a client certificate, after full and resumed handshakes: the new identity (or none) "
           "in the getters, certificate_required in require mode, asked twice\n");
}

static void expect_fail(mtls_conn *rcv, mtls_conn *peer, mtls_err got, mtls_err want, int alert);

/* Several requests at once, the bound, who may ask, and failed verifications. */
static void pha_rules(void)
{
    const tp_pki *pki = tp_get();
    mpair p;
    events se = {0};
    /* up to MTLS_POST_AUTH_MAX_PENDING unanswered requests, answered in order */
    mpair_open(&p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, &pki->client[TP_P384], 0);
    CHECK_ERR(mtls_config_set_post_auth_callback(p.scfg, on_post_auth, &se), MTLS_OK);
    p.c = mtls_client_new(p.ccfg, "localhost");
    p.s = mtls_server_new(p.scfg);
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_ERR_BAD_STATE); /* not yet */
    CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
    for (int i = 0; i < MTLS_POST_AUTH_MAX_PENDING; i++)
        CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_OK);
    CHECK_EQ(mtls_conn_post_auth_pending(p.s), MTLS_POST_AUTH_MAX_PENDING);
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_OK);
    CHECK_ERR(mtls_conn_request_client_cert(p.c), MTLS_ERR_BAD_STATE); /* a client */
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    CHECK_EQ(p.cs.cr_in, MTLS_POST_AUTH_MAX_PENDING);
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK);
    CHECK_EQ(mtls_conn_post_auth_pending(p.s), 0);
    CHECK_EQ(se.n[MTLS_POST_AUTH_VERIFIED], MTLS_POST_AUTH_MAX_PENDING);
    CHECK(has_subject(p.s, "client-P-384"));
    CHECK_EQ(mtls_conn_client_sigalg(p.s), MTLS_SIG_ECDSA_SECP384R1_SHA384);
    CHECK(tp_send_check(p.c, p.s, "four answers", 12));
    /* a client that sent close_notify reads a request and leaves it unanswered (RFC 8446 6.1) */
    CHECK_ERR(mtls_close(p.c), MTLS_OK);
    CHECK_ERR(xfer(p.c, p.s), MTLS_OK);
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_OK);
    CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
    CHECK(!pending(p.c));
    CHECK_ERR(mtls_conn_error(p.c), MTLS_OK);
    CHECK_EQ(mtls_conn_post_auth_pending(p.s), 1);
    /* after close_notify, nothing more is sent */
    CHECK_ERR(mtls_close(p.s), MTLS_OK);
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_ERR_BAD_STATE);
    mpair_close(&p);

    /* clients that do not offer it: without a certificate by default, and switched off */
    for (int k = 0; k < 2; k++) {
        mpair_open(&p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, k ? &pki->client[TP_P256] : NULL, 0);
        if (k)
            CHECK_ERR(mtls_config_set_post_handshake_auth(p.ccfg, 0), MTLS_OK);
        p.c = mtls_client_new(p.ccfg, "localhost");
        p.s = mtls_server_new(p.scfg);
        CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
        CHECK(!mtls_conn_post_auth_offered(p.s) && !mtls_conn_post_auth_offered(p.c));
        CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_ERR_BAD_STATE);
        CHECK(!pending(p.s));
        CHECK_ERR(mtls_conn_error(p.s), MTLS_OK);
        mpair_close(&p);
    }
    /* HTTP/2 (RFC 8740 3): the server does not ask, the client refuses to be asked */
    mpair_open(&p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, &pki->client[TP_P256], 0);
    CHECK_ERR(mtls_config_set_alpn(p.scfg, "h2"), MTLS_OK);
    CHECK_ERR(mtls_config_set_alpn(p.ccfg, "h2,http/1.1"), MTLS_OK);
    p.c = mtls_client_new(p.ccfg, "localhost");
    p.s = mtls_server_new(p.scfg);
    CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
    CHECK(!mtls_conn_post_auth_offered(p.s) && !mtls_conn_post_auth_offered(p.c));
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_ERR_BAD_STATE);
    {
        static const uint8_t cr[] = {13, 0, 0, 11, 1, 0xaa, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3};
        size_t n;
        mtls_send_buf(p.s, &n);
        p.s->rec.out.seq = p.c->rec.in.seq;
        CHECK_ERR(rec_write(&p.s->rec, TLS_CT_HANDSHAKE, cr, sizeof(cr)), MTLS_OK);
        CHECK_ERR(xfer(p.s, p.c), MTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK_EQ(mtls_conn_alert_sent(p.c), TLS_ALERT_UNEXPECTED_MESSAGE);
    }
    mpair_close(&p);
    /* TLS 1.2: no post-handshake authentication */
    mpair_open(&p, MTLS_VERSION_TLS12, MTLS_VERIFY_NONE, &pki->client[TP_P256], 1);
    CHECK(!mtls_conn_post_auth_offered(p.s));
    CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_ERR_BAD_STATE);
    mpair_close(&p);

    /* the answer is verified as in the handshake: an unknown CA, the verify callback, SPIFFE */
    for (int k = 0; k < 4; k++) {
        const tp_ident *who = k == 0 ? &pki->stranger : &pki->client[TP_P256];
        mpair_open(&p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, who, 0);
        events ve = {.reject = k == 1};
        if (k == 1)
            CHECK_ERR(mtls_config_set_verify_callback(p.scfg, on_verify, &ve), MTLS_OK);
        if (k >= 2)
            CHECK_ERR(mtls_config_add_spiffe_id(p.scfg, k == 2 ? "spiffe://mtls.test/other"
                                                                : "spiffe://mtls.test/client"),
                      MTLS_OK);
        p.c = mtls_client_new(p.ccfg, "localhost");
        p.s = mtls_server_new(p.scfg);
        CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
        CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_OK);
        CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
        mtls_err err = xfer(p.c, p.s);
        static const mtls_err want[] = {MTLS_ERR_CERT_UNKNOWN_CA, MTLS_ERR_CERT_REJECTED,
                                        MTLS_ERR_CERT_SPIFFE_DENIED, MTLS_OK};
        static const int alert[] = {TLS_ALERT_UNKNOWN_CA, TLS_ALERT_CERTIFICATE_UNKNOWN,
                                    TLS_ALERT_ACCESS_DENIED, -1};
        CHECK_ERR(err, want[k]);
        CHECK_EQ(mtls_conn_alert_sent(p.s), alert[k]);
        if (k == 3) {
            CHECK(mtls_conn_peer_spiffe_id(p.s) != NULL);
        } else {
            /* a rejected answer leaves no identity behind */
            CHECK(mtls_conn_peer_subject(p.s) == NULL);
            CHECK_ERR(xfer(p.s, p.c), MTLS_ERR_PEER_ALERT);
            CHECK_EQ(mtls_conn_alert_received(p.c), alert[k]);
        }
        mpair_close(&p);
    }
    /* revocation: the server's CRLs apply to the answer (the CRL revokes client-P-256) */
    char *crl = tp_crl(pki->client[TP_P256].cert_pem);
    CHECK(crl != NULL);
    for (int k = 0; k < 2 && crl; k++) {
        mpair_open(&p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, &pki->client[k ? TP_P384 : TP_P256],
                   0);
        CHECK_ERR(mtls_config_set_crl_mem(p.scfg, crl, strlen(crl)), MTLS_OK);
        p.c = mtls_client_new(p.ccfg, "localhost");
        p.s = mtls_server_new(p.scfg);
        CHECK_ERR(tp_handshake(p.c, p.s), MTLS_OK);
        CHECK_ERR(mtls_conn_request_client_cert(p.s), MTLS_OK);
        CHECK_ERR(xfer(p.s, p.c), MTLS_OK);
        if (k == 0) {
            expect_fail(p.s, p.c, xfer(p.c, p.s), MTLS_ERR_CERT_REVOKED,
                        TLS_ALERT_CERTIFICATE_REVOKED);
        } else {
            CHECK_ERR(xfer(p.c, p.s), MTLS_OK);
            CHECK(has_subject(p.s, "client-P-384"));
        }
        mpair_close(&p);
    }
    free(crl);
    /* a server with no CA at all (verify mode none): nothing verifies the answer */
    {
        mtls_config *scfg = mtls_config_new(), *ccfg = mtls_cfg(0, MTLS_VERSION_TLS13,
                                                                &pki->client[TP_P256]);
        const tp_ident *id = &pki->server[TP_P256];
        CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, id->cert_pem, strlen(id->cert_pem),
                                                 id->key_pem, strlen(id->key_pem)),
                  MTLS_OK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK_ERR(mtls_conn_request_client_cert(s), MTLS_OK);
        CHECK_ERR(xfer(s, c), MTLS_OK);
        expect_fail(s, c, xfer(c, s), MTLS_ERR_CERT_UNKNOWN_CA, TLS_ALERT_UNKNOWN_CA);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(scfg);
        mtls_config_free(ccfg);
    }
    printf("post-handshake authentication rules: %d requests at once and no more, not before "
           "the handshake, not by a client, not after close_notify, not to a client that did "
           "not offer it, not with ALPN h2, not in TLS 1.2; unknown CA (also with no CA at "
           "all), verify callback, SPIFFE ID and CRL refusals\n",
           MTLS_POST_AUTH_MAX_PENDING);
}

/* ---- post-handshake authentication: messages out of place, ill-formed, forged ---------------- */

static size_t forge(uint8_t *out, uint8_t type, const uint8_t *b, size_t n)
{
    out[0] = type;
    be24_put(out + 1, (uint32_t)n);
    if (n)
        memcpy(out + 4, b, n);
    return 4 + n;
}

/* A record of `from`, sealed with its current write key at the sequence number `to` expects,
 * holding `n` bytes of `type`, fed to `to`. */
static mtls_err feed_from(mtls_conn *to, mtls_conn *from, uint8_t type, const uint8_t *p, size_t n)
{
    size_t pending_n;
    mtls_send_buf(from, &pending_n);
    CHECK_EQ(pending_n, 0);
    from->rec.out.seq = to->rec.in.seq;
    CHECK_ERR(rec_write(&from->rec, type, p, n), MTLS_OK);
    const uint8_t *out = mtls_send_buf(from, &pending_n);
    mtls_err err = tp_feed(to, out, pending_n, 0);
    mtls_send_ack(from, pending_n);
    /* handled now (as xfer does), so that to's read sequence number, which the next record is
     * sealed with, has moved past this one; application data stays for mtls_read */
    if (err == MTLS_OK && mtls_conn_established(to) && type != TLS_CT_APPLICATION_DATA)
        err = mtls_handshake(to);
    return err;
}

/* The handshake messages of `from`'s pending records, opened as `to` would open them (with a
 * copy of its read direction: `to` is not touched), into msgs[] (views into buf).  The records
 * leave `from`'s send buffer. */
static size_t take_messages(mtls_conn *from, mtls_conn *to, uint8_t *buf, size_t cap, rd *msgs,
                            size_t max)
{
    size_t n, total = 0, count = 0;
    const uint8_t *p = mtls_send_buf(from, &n);
    rec_dir d = to->rec.in;
    static uint8_t rec[20000];
    for (size_t off = 0; p && off + TLS_RECORD_HEADER <= n;) {
        size_t len = TLS_RECORD_HEADER + be16_get(p + off + 3);
        uint8_t *plain;
        size_t plain_len;
        memcpy(rec, p + off, len);
        CHECK_ERR(rec_open(&d, rec, len, &plain, &plain_len), MTLS_OK);
        CHECK(rec[0] == TLS_CT_HANDSHAKE && total + plain_len <= cap);
        memcpy(buf + total, plain, plain_len);
        total += plain_len;
        off += len;
    }
    if (p)
        mtls_send_ack(from, n);
    for (size_t off = 0; off + 4 <= total && count < max;) {
        size_t len = 4 + be24_get(buf + off + 1);
        msgs[count++] = rd_init(buf + off, len);
        off += len;
    }
    return count;
}

static void expect_fail(mtls_conn *rcv, mtls_conn *peer, mtls_err got, mtls_err want, int alert)
{
    CHECK_ERR(got, want);
    CHECK_ERR(mtls_conn_error(rcv), want);
    CHECK_EQ(mtls_conn_alert_sent(rcv), alert);
    if (mtls_conn_error(rcv) != want)
        fprintf(stderr, "  detail: %s\n", mtls_conn_error_detail(rcv));
    if (peer) {
        CHECK_ERR(xfer(rcv, peer), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(mtls_conn_alert_received(peer), alert);
    }
}

/* A pair whose server asked once; the client's answer (Certificate, CertificateVerify,
 * Finished) taken out of its send buffer as plaintext messages, not delivered. */
typedef struct {
    mpair p;
    uint8_t buf[16384];
    rd m[4];
    size_t n;
} answer;

static void answer_open(answer *a, int ask_first)
{
    const tp_pki *pki = tp_get();
    mpair_open(&a->p, MTLS_VERSION_TLS13, MTLS_VERIFY_NONE, &pki->client[TP_P256], 1);
    a->n = 0;
    if (!ask_first)
        return;
    CHECK_ERR(mtls_conn_request_client_cert(a->p.s), MTLS_OK);
    CHECK_ERR(xfer(a->p.s, a->p.c), MTLS_OK);
    a->n = take_messages(a->p.c, a->p.s, a->buf, sizeof(a->buf), a->m, 4);
    CHECK_EQ(a->n, 3);
    CHECK(a->m[0].p[0] == TLS_HS_CERTIFICATE && a->m[1].p[0] == TLS_HS_CERTIFICATE_VERIFY &&
          a->m[2].p[0] == TLS_HS_FINISHED);
}

/* Deliver message i of the answer (as its own record) to the server. */
static mtls_err deliver(answer *a, size_t i)
{
    return feed_from(a->p.s, a->p.c, TLS_CT_HANDSHAKE, a->m[i].p, a->m[i].n);
}

static void pha_negative(void)
{
    static uint8_t m[4096];
    answer a;
    char buf[16];
    size_t got;
    /* the answer one message per record, application data in between: the getters describe
     * the new identity only once its Finished is checked */
    answer_open(&a, 1);
    CHECK_ERR(deliver(&a, 0), MTLS_OK);
    CHECK_EQ(mtls_conn_post_auth_pending(a.p.s), 1);
    CHECK(mtls_conn_peer_subject(a.p.s) == NULL && !mtls_conn_peer_cert_presented(a.p.s));
    CHECK_ERR(feed_from(a.p.s, a.p.c, TLS_CT_APPLICATION_DATA, (const uint8_t *)"mid", 3),
              MTLS_OK);
    CHECK_ERR(mtls_read(a.p.s, buf, sizeof(buf), &got), MTLS_OK);
    CHECK(got == 3 && memcmp(buf, "mid", 3) == 0);
    CHECK(mtls_conn_peer_subject(a.p.s) == NULL && mtls_conn_peer_cert_count(a.p.s) == 0);
    CHECK_ERR(deliver(&a, 1), MTLS_OK);
    CHECK(mtls_conn_peer_subject(a.p.s) == NULL && mtls_conn_client_sigalg(a.p.s) == 0);
    CHECK_ERR(deliver(&a, 2), MTLS_OK);
    CHECK_EQ(mtls_conn_post_auth_pending(a.p.s), 0);
    CHECK(has_subject(a.p.s, "client-P-256"));
    CHECK_EQ(mtls_conn_client_sigalg(a.p.s), MTLS_SIG_ECDSA_SECP256R1_SHA256);
    CHECK(tp_send_check(a.p.c, a.p.s, "after", 5));
    mpair_close(&a.p);

    /* out of order inside the answer: unexpected_message */
    static const uint8_t not_requested = 0;
    for (int k = 0; k < 4; k++) {
        answer_open(&a, 1);
        CHECK_ERR(deliver(&a, 0), MTLS_OK);
        mtls_err err = k == 0   ? deliver(&a, 2) /* Finished before CertificateVerify */
                       : k == 1 ? deliver(&a, 0) /* Certificate again */
                       : k == 2 ? feed_from(a.p.s, a.p.c, TLS_CT_HANDSHAKE, m,
                                            forge(m, TLS_HS_KEY_UPDATE, &not_requested, 1))
                                : (deliver(&a, 1), deliver(&a, 1)); /* CertificateVerify twice */
        expect_fail(a.p.s, a.p.c, err, MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE);
        CHECK(mtls_conn_peer_subject(a.p.s) == NULL);
        mpair_close(&a.p);
    }
    /* forged contents: a signature or Finished that does not verify (decrypt_error), a scheme
     * not offered, a context of no request of ours (illegal_parameter), truncations */
    for (int k = 0; k < 6; k++) {
        answer_open(&a, 1);
        uint8_t *cv = (uint8_t *)a.m[1].p, *fin = (uint8_t *)a.m[2].p, *cert = (uint8_t *)a.m[0].p;
        mtls_err err, want;
        int alert;
        if (k == 0) { /* the signature's last byte */
            cv[a.m[1].n - 1] ^= 1;
            CHECK_ERR(deliver(&a, 0), MTLS_OK);
            err = deliver(&a, 1);
            want = MTLS_ERR_BAD_SIGNATURE, alert = TLS_ALERT_DECRYPT_ERROR;
        } else if (k == 1) { /* the Finished's first byte */
            fin[4] ^= 0x80;
            CHECK_ERR(deliver(&a, 0), MTLS_OK);
            CHECK_ERR(deliver(&a, 1), MTLS_OK);
            err = deliver(&a, 2);
            want = MTLS_ERR_BAD_FINISHED, alert = TLS_ALERT_DECRYPT_ERROR;
        } else if (k == 2) { /* rsa_pkcs1_sha256: not a TLS 1.3 CertificateVerify scheme */
            be16_put(cv + 4, MTLS_SIG_RSA_PKCS1_SHA256);
            CHECK_ERR(deliver(&a, 0), MTLS_OK);
            err = deliver(&a, 1);
            want = MTLS_ERR_UNOFFERED_SIGALG, alert = TLS_ALERT_ILLEGAL_PARAMETER;
        } else if (k == 3) { /* a context byte */
            cert[5] ^= 1;
            err = deliver(&a, 0);
            want = MTLS_ERR_ILLEGAL_PARAMETER, alert = TLS_ALERT_ILLEGAL_PARAMETER;
        } else if (k == 4) { /* the Certificate one byte short */
            be24_put(cert + 1, (uint32_t)(a.m[0].n - 5));
            err = feed_from(a.p.s, a.p.c, TLS_CT_HANDSHAKE, cert, a.m[0].n - 1);
            want = MTLS_ERR_DECODE, alert = TLS_ALERT_DECODE_ERROR;
        } else { /* the CertificateVerify one byte short */
            be24_put(cv + 1, (uint32_t)(a.m[1].n - 5));
            CHECK_ERR(deliver(&a, 0), MTLS_OK);
            err = feed_from(a.p.s, a.p.c, TLS_CT_HANDSHAKE, cv, a.m[1].n - 1);
            want = MTLS_ERR_DECODE, alert = TLS_ALERT_DECODE_ERROR;
        }
        expect_fail(a.p.s, a.p.c, err, want, alert);
        CHECK(mtls_conn_peer_subject(a.p.s) == NULL);
        mpair_close(&a.p);
    }
    /* unsolicited: a Certificate, CertificateVerify or Finished nobody asked for; a Certificate
     * whose context is cut short */
    static const uint8_t empty_cert[] = {0, 0, 0, 0}, short_ctx[] = {16, 1, 2};
    static const uint8_t fake_cv[] = {0x04, 0x03, 0, 2, 0x30, 0};
    static uint8_t fake_fin[32];
    for (int k = 0; k < 4; k++) {
        answer_open(&a, k == 3);
        if (k == 3) /* drop the real answer: a request is pending */
            CHECK_EQ(mtls_conn_post_auth_pending(a.p.s), 1);
        size_t len = k == 0   ? forge(m, TLS_HS_CERTIFICATE, empty_cert, sizeof(empty_cert))
                     : k == 1 ? forge(m, TLS_HS_CERTIFICATE_VERIFY, fake_cv, sizeof(fake_cv))
                     : k == 2 ? forge(m, TLS_HS_FINISHED, fake_fin, sizeof(fake_fin))
                              : forge(m, TLS_HS_CERTIFICATE, short_ctx, sizeof(short_ctx));
        mtls_err err = feed_from(a.p.s, a.p.c, TLS_CT_HANDSHAKE, m, len);
        if (k < 3)
            expect_fail(a.p.s, a.p.c, err, MTLS_ERR_UNEXPECTED_MESSAGE,
                        TLS_ALERT_UNEXPECTED_MESSAGE);
        else
            expect_fail(a.p.s, a.p.c, err, MTLS_ERR_DECODE, TLS_ALERT_DECODE_ERROR);
        mpair_close(&a.p);
    }
    /* the client: CertificateRequests that are ill-formed, and answers it never asked for */
    {
        /* signature_algorithms_cert alone: signature_algorithms is missing */
        static const uint8_t no_sigalgs[] = {1, 0xaa, 0, 8, 0, 50, 0, 4, 0, 2, 4, 3};
        /* context cut short */
        static const uint8_t cut[] = {8, 1, 2, 3};
        /* a key_share (not allowed in a CertificateRequest) beside signature_algorithms */
        static const uint8_t key_share[] = {1, 0xaa, 0, 14, 0, 13, 0, 4, 0, 2, 4, 3,
                                            0, 51, 0, 2, 0, 0};
        static const struct {
            uint8_t type;
            const uint8_t *body;
            size_t len;
            mtls_err want;
            int alert;
        } bad[] = {
            {TLS_HS_CERTIFICATE_REQUEST, no_sigalgs, sizeof(no_sigalgs),
             MTLS_ERR_MISSING_EXTENSION, TLS_ALERT_MISSING_EXTENSION},
            {TLS_HS_CERTIFICATE_REQUEST, cut, sizeof(cut), MTLS_ERR_DECODE,
             TLS_ALERT_DECODE_ERROR},
            {TLS_HS_CERTIFICATE_REQUEST, key_share, sizeof(key_share),
             MTLS_ERR_ILLEGAL_PARAMETER, TLS_ALERT_ILLEGAL_PARAMETER},
            {TLS_HS_CERTIFICATE, empty_cert, sizeof(empty_cert), MTLS_ERR_UNEXPECTED_MESSAGE,
             TLS_ALERT_UNEXPECTED_MESSAGE},
            {TLS_HS_CERTIFICATE_VERIFY, fake_cv, sizeof(fake_cv), MTLS_ERR_UNEXPECTED_MESSAGE,
             TLS_ALERT_UNEXPECTED_MESSAGE},
            {TLS_HS_FINISHED, fake_fin, sizeof(fake_fin), MTLS_ERR_UNEXPECTED_MESSAGE,
             TLS_ALERT_UNEXPECTED_MESSAGE},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            answer_open(&a, 0);
            mtls_err err = feed_from(a.p.c, a.p.s, TLS_CT_HANDSHAKE, m,
                                     forge(m, bad[i].type, bad[i].body, bad[i].len));
            expect_fail(a.p.c, a.p.s, err, bad[i].want, bad[i].alert);
            mpair_close(&a.p);
        }
        /* a well-formed request with an empty context is answered (RFC 8446 asks no more) */
        static const uint8_t empty_ctx[] = {0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3};
        answer_open(&a, 0);
        CHECK_ERR(feed_from(a.p.c, a.p.s, TLS_CT_HANDSHAKE, m,
                            forge(m, TLS_HS_CERTIFICATE_REQUEST, empty_ctx, sizeof(empty_ctx))),
                  MTLS_OK);
        rd msgs[4];
        uint8_t plain[8192];
        CHECK_EQ(take_messages(a.p.c, a.p.s, plain, sizeof(plain), msgs, 4), 3);
        CHECK(msgs[0].p[0] == TLS_HS_CERTIFICATE && msgs[0].p[4] == 0); /* the empty context */
        CHECK_ERR(mtls_conn_error(a.p.c), MTLS_OK);
        mpair_close(&a.p);
    }
    printf("post-handshake authentication, negative: the answer in separate records with "
           "application data between (old identity until the Finished), out of order, forged "
           "signature, Finished, scheme and context, truncations, unsolicited answers; the "
           "client: ill-formed CertificateRequests and unsolicited Certificate, "
           "CertificateVerify, Finished\n");
}

/* ---- post-handshake authentication against libssl -------------------------------------------- */

static events xevents;
static mtls_verify_mode xmode;
static void x_pha_server(SSL_CTX *ctx, mtls_config *cfg)
{
    (void)ctx;
    memset(&xevents, 0, sizeof(xevents));
    CHECK_ERR(mtls_config_set_verify_client(cfg, xmode), MTLS_OK);
    CHECK_ERR(mtls_config_set_post_auth_callback(cfg, on_post_auth, &xevents), MTLS_OK);
}
static void x_pha_client_libssl(SSL_CTX *ctx, mtls_config *cfg)
{
    x_pha_server(NULL, cfg);
    /* s_client -enable_pha */
    SSL_CTX_set_post_handshake_auth(ctx, 1);
}
static int x_fail_if_none;
static int x_mtls_pha = -1;
static void x_pha_libssl_server(SSL_CTX *ctx, mtls_config *cfg)
{
    memset(&xevents, 0, sizeof(xevents));
    CHECK_ERR(mtls_config_set_post_auth_callback(cfg, on_post_auth, &xevents), MTLS_OK);
    if (x_mtls_pha >= 0)
        CHECK_ERR(mtls_config_set_post_handshake_auth(cfg, x_mtls_pha), MTLS_OK);
    /* s_server -verify_return_error, asking only after the handshake (its 'c' command) */
    SSL_CTX_set_verify(ctx,
                       SSL_VERIFY_PEER | SSL_VERIFY_POST_HANDSHAKE |
                           (x_fail_if_none ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
}

static void pha_libssl(void)
{
    const tp_pki *pki = tp_get();
    xpair p;
    size_t w;
    /* libssl client (s_client -enable_pha), mtls server asking, with and without a client
     * certificate, optional and require */
    for (int k = 0; k < 3; k++) {
        xmode = k == 2 ? MTLS_VERIFY_REQUIRE : MTLS_VERIFY_OPTIONAL;
        int cert = k == 0;
        /* require mode without a certificate cannot pass the handshake: ask only after it */
        if (k == 2)
            xmode = MTLS_VERIFY_NONE;
        if (!xpair_open(&p, 1, TLS1_3_VERSION, cert ? &pki->client[TP_RSA2048] : NULL,
                        x_pha_client_libssl)) {
            xpair_close(&p);
            continue;
        }
        CHECK(mtls_conn_post_auth_offered(p.m));
        CHECK(SSL_write(p.o, "o1", 2) == 2);
        xpump(&p);
        CHECK_ERR(mtls_conn_request_client_cert(p.m), MTLS_OK);
        xpump(&p);
        CHECK_EQ(mtls_conn_post_auth_pending(p.m), 0);
        CHECK_EQ(xevents.n[cert ? MTLS_POST_AUTH_VERIFIED : MTLS_POST_AUTH_NO_CERT], 1);
        CHECK_EQ(mtls_conn_peer_cert_presented(p.m), cert);
        if (cert) {
            CHECK(has_subject(p.m, "client-RSA-2048"));
            CHECK_EQ(mtls_conn_client_sigalg(p.m), MTLS_SIG_RSA_PSS_RSAE_SHA256);
        }
        CHECK_ERR(mtls_write(p.m, "m1", 2, &w), MTLS_OK);
        CHECK(SSL_write(p.o, "o2", 2) == 2);
        xpump(&p);
        CHECK(p.got_m_len == 4 && memcmp(p.got_m, "o1o2", 4) == 0);
        CHECK(p.got_o_len == 2 && memcmp(p.got_o, "m1", 2) == 0);
        CHECK_ERR(mtls_conn_error(p.m), MTLS_OK);
        xpair_close(&p);
    }
    /* ... and in require mode, an answer without a certificate: certificate_required */
    xmode = MTLS_VERIFY_REQUIRE;
    if (xpair_open(&p, 1, TLS1_3_VERSION, &pki->client[TP_P256], x_pha_client_libssl)) {
        /* the handshake had one; the libssl client loses it before the request */
        SSL_certs_clear(p.o);
        CHECK_ERR(mtls_conn_request_client_cert(p.m), MTLS_OK);
        xpump(&p);
        CHECK_ERR(mtls_conn_error(p.m), MTLS_ERR_CERT_REQUIRED);
        CHECK_EQ(mtls_conn_alert_sent(p.m), TLS_ALERT_CERTIFICATE_REQUIRED);
        CHECK(SSL_get_shutdown(p.o) & SSL_RECEIVED_SHUTDOWN);
    }
    xpair_close(&p);

    /* libssl server (s_server's 'c' command), mtls client: it answers with its certificate */
    x_fail_if_none = 0;
    x_mtls_pha = -1;
    if (xpair_open(&p, 0, TLS1_3_VERSION, &pki->client[TP_P384], x_pha_libssl_server)) {
        CHECK(mtls_conn_post_auth_offered(p.m)); /* by default, having a certificate */
        CHECK(SSL_get0_peer_certificate(p.o) == NULL);
        CHECK_ERR(mtls_write(p.m, "m1", 2, &w), MTLS_OK);
        xpump(&p);
        CHECK(SSL_verify_client_post_handshake(p.o) == 1);
        CHECK(SSL_do_handshake(p.o) == 1); /* sends the CertificateRequest */
        xpump(&p);
        CHECK_EQ(xevents.n[MTLS_POST_AUTH_CERT_SENT], 1);
        CHECK(mtls_conn_cert_requested(p.m));
        X509 *peer = SSL_get0_peer_certificate(p.o);
        char cn[64] = "";
        if (peer)
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
        CHECK(strcmp(cn, "client-P-384") == 0);
        CHECK_EQ(SSL_get_verify_result(p.o), X509_V_OK);
        CHECK_ERR(mtls_write(p.m, "m2", 2, &w), MTLS_OK);
        CHECK(SSL_write(p.o, "o1", 2) == 2);
        xpump(&p);
        CHECK(p.got_o_len == 4 && memcmp(p.got_o, "m1m2", 4) == 0);
        CHECK(p.got_m_len == 2 && memcmp(p.got_m, "o1", 2) == 0);
        CHECK_ERR(mtls_conn_error(p.m), MTLS_OK);
    }
    xpair_close(&p);
    /* ... an mtls client that does not offer it: libssl cannot ask */
    x_mtls_pha = 0;
    if (xpair_open(&p, 0, TLS1_3_VERSION, &pki->client[TP_P256], x_pha_libssl_server)) {
        CHECK(!mtls_conn_post_auth_offered(p.m));
        CHECK(SSL_verify_client_post_handshake(p.o) == 0);
        ERR_clear_error();
    }
    xpair_close(&p);
    /* ... one without a certificate, offering it: an empty Certificate, which libssl refuses
     * (SSL_VERIFY_FAIL_IF_NO_PEER_CERT: certificate_required) */
    x_mtls_pha = 1;
    x_fail_if_none = 1;
    if (xpair_open(&p, 0, TLS1_3_VERSION, NULL, x_pha_libssl_server)) {
        CHECK(SSL_verify_client_post_handshake(p.o) == 1);
        CHECK(SSL_do_handshake(p.o) == 1);
        xpump(&p);
        CHECK_EQ(xevents.n[MTLS_POST_AUTH_NO_CERT_SENT], 1);
        CHECK_ERR(mtls_conn_error(p.m), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(mtls_conn_alert_received(p.m), TLS_ALERT_CERTIFICATE_REQUIRED);
        ERR_clear_error();
    }
    xpair_close(&p);
    x_mtls_pha = -1;
    x_fail_if_none = 0;
    printf("post-handshake authentication against libssl: its client (-enable_pha) answers our "
           "request with and without a certificate, certificate_required in require mode; our "
           "client answers its server's request (verified by libssl), does not offer it when "
           "switched off, and gets certificate_required for an empty answer\n");
}

int main(void)
{
    exporters();
    key_updates();
    key_updates_libssl();
    pha_modes();
    pha_rules();
    pha_negative();
    pha_libssl();
    return t_done();
}
