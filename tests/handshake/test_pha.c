/*
 * test_pha.c -- the TLS 1.3 API after the handshake, in memory: keying material exporters
 * (RFC 8446 7.5, RFC 5705) against OpenSSL's libssl as the peer in both versions and both roles.
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

#include "common/testpki.h"
#include "t.h"

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
        mtls_err err = mtls_recv_ack(p->m, k);
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ) {
            fprintf(stderr, "  mtls: %s (%s)\n", mtls_err_name(err), mtls_conn_error_detail(p->m));
            return;
        }
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
} seen;
static void count_trace(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    seen *s = arg;
    int out = ev->kind == MTLS_TRACE_SENT, in = ev->kind == MTLS_TRACE_RECEIVED;
    s->ku_out += out && ev->msg == 24;
    s->ku_in += in && ev->msg == 24;
    s->ku_requested_in += in && ev->msg == 24 && strstr(ev->detail, "update_requested") != NULL;
    s->cr_out += out && ev->msg == 13;
    s->cr_in += in && ev->msg == 13;
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
    CHECK_ERR(tp_transfer(p.c, p.s), MTLS_OK);
    CHECK_EQ(p.ss.ku_in, 1);
    CHECK_EQ(p.ss.ku_out, 0); /* not asked to answer */
    CHECK(tp_send_check(p.c, p.s, "after, client", 13));
    CHECK(tp_send_check(p.s, p.c, "after, server", 13));
    /* the server moves on and asks the client to: the client answers as it reads */
    CHECK_ERR(mtls_conn_key_update(p.s, 1), MTLS_OK);
    CHECK_ERR(tp_transfer(p.s, p.c), MTLS_OK);
    CHECK_EQ(p.cs.ku_requested_in, 1);
    CHECK_EQ(p.cs.ku_out, 2);
    CHECK(pending(p.c));
    CHECK_ERR(tp_transfer(p.c, p.s), MTLS_OK);
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
    CHECK_ERR(tp_transfer(p.c, p.s), MTLS_OK);
    CHECK_ERR(tp_transfer(p.s, p.c), MTLS_OK);
    char buf[32];
    size_t n;
    CHECK_ERR(mtls_read(p.s, buf, sizeof(buf), &n), MTLS_OK);
    CHECK(n == 7 && memcmp(buf, "crossed", 7) == 0);
    CHECK_ERR(mtls_read(p.c, buf, sizeof(buf), &n), MTLS_OK);
    CHECK(n == 7 && memcmp(buf, "crossed", 7) == 0);
    CHECK_ERR(tp_transfer(p.c, p.s), MTLS_OK); /* the answers */
    CHECK_ERR(tp_transfer(p.s, p.c), MTLS_OK);
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
    /* after close_notify: nothing more of ours may follow */
    CHECK_ERR(mtls_close(p.c), MTLS_OK);
    CHECK_ERR(mtls_conn_key_update(p.c, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_error(p.c), MTLS_OK);
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

int main(void)
{
    exporters();
    key_updates();
    key_updates_libssl();
    return t_done();
}
