/*
 * test_secrets.c -- no secret outlives its use in memory handed back to the allocator: the master
 * secret, both traffic keys and (static RSA) the premaster are absent from every block mtls (and,
 * through the same hook, libcrypto) frees or reallocates, over full handshakes in several suites,
 * client authentication, session resumption by ticket, application data both ways, and freeing
 * of connections, sessions and configs.
 *
 * How: mtls_set_allocator() routes every allocation through a logging allocator.  On free, and on
 * realloc (the old block), the block's bytes are copied aside before it is released.  Secrets are
 * learnt as the handshake happens -- the master from the key-log callback (NSS "CLIENT_RANDOM
 * <client_random> <master>"), the traffic keys derived from it and the randoms on the wire
 * (RFC 5246 6.3), the RSA premaster by decrypting the ClientKeyExchange with the server's key --
 * and at the end every copied block is searched for every secret.  A block freed before a secret
 * was known is searched too, so the order of events does not matter.
 *
 * Regression: OpenSSL 3.0 frees its RSA decryption buffer (holding the premaster) without
 * cleansing it; mtls now wipes every libcrypto block routed through its allocator before freeing
 * it (finding F3 in fuzz/FINDINGS.md, fixed in f13a904), which this test checks.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <execinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#include "common/testpki.h"
#include "handshake/hs.h"
#include "t.h"

/* ---- the logging allocator ---------------------------------------------------------------- */

#define HDR 16
typedef struct freed {
    uint8_t *copy;
    size_t len;
    void *bt[6]; /* who freed it */
    int nbt;
} freed;
static freed *log_v;
static size_t log_n, log_cap, log_bytes, frees_seen;
static int logging;

static void log_block(const uint8_t *p, size_t n)
{
    frees_seen++;
    if (!logging || n < 12)
        return;
    if (log_n == log_cap) {
        log_cap = log_cap ? 2 * log_cap : 4096;
        log_v = realloc(log_v, log_cap * sizeof(*log_v));
    }
    uint8_t *c = malloc(n);
    memcpy(c, p, n);
    /* a freed block may hold bytes never written; searching them is fine, tell memcheck */
    (void)VALGRIND_MAKE_MEM_DEFINED(c, n);
    log_v[log_n].nbt = backtrace(log_v[log_n].bt, 6);
    log_v[log_n].copy = c;
    log_v[log_n].len = n;
    log_n++;
    log_bytes += n;
}

static void *lmalloc(size_t n)
{
    uint8_t *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + HDR;
}

static void lfree(void *q)
{
    if (!q)
        return;
    uint8_t *p = (uint8_t *)q - HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    log_block(q, n);
    free(p);
}

static void *lrealloc(void *q, size_t n)
{
    if (!q)
        return lmalloc(n);
    size_t old;
    memcpy(&old, (uint8_t *)q - HDR, sizeof(old));
    void *r = lmalloc(n);
    if (!r)
        return NULL;
    memcpy(r, q, old < n ? old : n);
    lfree(q); /* the old block is scanned like any freed one */
    return r;
}

/* ---- secrets ------------------------------------------------------------------------------ */

typedef struct secret {
    char what[160];
    uint8_t v[48];
    size_t len;
} secret;
static secret secrets[256];
static size_t n_secrets;

static void add_secret(const char *what, const uint8_t *v, size_t len)
{
    if (n_secrets == 256)
        abort();
    secret *s = &secrets[n_secrets++];
    snprintf(s->what, sizeof(s->what), "%s", what);
    memcpy(s->v, v, len);
    s->len = len;
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

typedef struct keylog {
    uint8_t client_random[32], master[48];
    int seen;
} keylog;

static void keylog_cb(void *arg, const mtls_conn *conn, const char *line)
{
    (void)conn;
    keylog *k = arg;
    CHECK(strncmp(line, "CLIENT_RANDOM ", 14) == 0 && strlen(line) == 14 + 64 + 1 + 96);
    unhex(line + 14, k->client_random, 32);
    unhex(line + 14 + 65, k->master, 48);
    k->seen++;
}

/* ---- one connection ------------------------------------------------------------------------- */

static mtls_err feed(mtls_conn *to, const uint8_t *p, size_t n)
{
    mtls_err err = MTLS_OK;
    while (n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || !room)
            return MTLS_ERR_WANT_WRITE;
        size_t k = n < room ? n : room;
        memcpy(dst, p, k);
        err = mtls_recv_ack(to, k);
        if (err && err != MTLS_ERR_WANT_READ)
            return err;
        p += k;
        n -= k;
    }
    return err;
}

typedef struct wire {
    uint8_t server_random[32];
    int have_sr;
    uint8_t cke[1024];
    size_t cke_len;
} wire;

/* Note what passes: ServerHello.random, the ClientKeyExchange body. */
static void watch(const uint8_t *p, size_t n, wire *w)
{
    for (size_t off = 0; off + 5 <= n;) {
        size_t len = 5 + be16_get(p + off + 3);
        const uint8_t *r = p + off;
        if (r[0] == TLS_CT_HANDSHAKE && len > 9) {
            for (size_t m = 5; m + 4 <= len;) {
                size_t mlen = 4 + be24_get(r + m + 1);
                if (r[m] == TLS_HS_SERVER_HELLO && m + 4 + 34 <= len) {
                    memcpy(w->server_random, r + m + 6, 32);
                    w->have_sr = 1;
                }
                if (r[m] == TLS_HS_CLIENT_KEY_EXCHANGE && mlen - 4 <= sizeof(w->cke) &&
                    m + mlen <= len) {
                    memcpy(w->cke, r + m + 4, mlen - 4);
                    w->cke_len = mlen - 4;
                }
                m += mlen;
            }
        }
        off += len;
    }
}

static mtls_err pump(mtls_conn *c, mtls_conn *s, wire *w)
{
    mtls_handshake(c);
    for (int round = 0; round < 32; round++) {
        int moved = 0;
        mtls_conn *from[2] = {c, s}, *to[2] = {s, c};
        for (int k = 0; k < 2; k++) {
            size_t n;
            const uint8_t *p = mtls_send_buf(from[k], &n);
            if (!p || !n)
                continue;
            moved = 1;
            uint8_t *copy = malloc(n);
            memcpy(copy, p, n);
            mtls_send_ack(from[k], n);
            watch(copy, n, w);
            feed(to[k], copy, n);
            free(copy);
        }
        if (!moved)
            break;
    }
    return mtls_conn_established(c) && mtls_conn_established(s) ? MTLS_OK : MTLS_ERR_WANT_READ;
}

static void rsa_premaster(const char *key_pem, const wire *w)
{
    if (w->cke_len < 2)
        return;
    BIO *b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    uint8_t out[512];
    size_t out_len = sizeof(out);
    if (EVP_PKEY_decrypt_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
        EVP_PKEY_decrypt(ctx, out, &out_len, w->cke + 2, w->cke_len - 2) > 0 && out_len == 48)
        add_secret("RSA premaster", out, 48);
    else
        CHECK(!"could not decrypt the ClientKeyExchange");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
}

static void traffic_keys(const char *tag, uint16_t suite_id, const keylog *k, const wire *w)
{
    const suite_info *s = suite_find(suite_id);
    uint8_t kb[2 * 32 + 2 * 12];
    size_t kb_len = 2u * s->key_len + 2u * s->fixed_iv_len;
    CHECK(w->have_sr);
    CHECK(ks_prf12(s->prf, k->master, 48, "key expansion", w->server_random, 32, k->client_random,
                   32, kb, kb_len));
    char what[160];
    snprintf(what, sizeof(what), "%s master secret", tag);
    add_secret(what, k->master, 48);
    snprintf(what, sizeof(what), "%s client_write_key", tag);
    add_secret(what, kb, s->key_len);
    snprintf(what, sizeof(what), "%s server_write_key", tag);
    add_secret(what, kb + s->key_len, s->key_len);
}

typedef struct scenario {
    const char *name;
    const char *ciphers;
    tp_key_kind server_key;
    int mutual;
    int resume;
} scenario;

static void run(const scenario *sc)
{
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[sc->server_key], *cid = &pki->client[TP_P256];
    keylog ck = {0};
    mtls_config *ccfg = mtls_config_new(), *scfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem),
                                             sid->key_pem, strlen(sid->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ciphers(ccfg, sc->ciphers), MTLS_OK);
    CHECK_ERR(mtls_config_set_keylog(ccfg, keylog_cb, &ck), MTLS_OK);
    if (sc->mutual) {
        CHECK_ERR(mtls_config_set_verify_client(scfg, MTLS_VERIFY_REQUIRE), MTLS_OK);
        CHECK_ERR(mtls_config_set_cert_chain_mem(ccfg, cid->cert_pem, strlen(cid->cert_pem),
                                                 cid->key_pem, strlen(cid->key_pem)),
                  MTLS_OK);
    }
    mtls_session *sess = NULL;
    for (int round = 0; round < (sc->resume ? 2 : 1); round++) {
        wire w = {0};
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        if (sess)
            CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
        CHECK_ERR(pump(c, s, &w), MTLS_OK);
        CHECK(tp_send_check(c, s, "secret payload 1", 16));
        CHECK(tp_send_check(s, c, "secret payload 2", 16));
        char tag[96];
        snprintf(tag, sizeof(tag), "%s%s:", sc->name, round ? " (resumed)" : "");
        CHECK_EQ(mtls_conn_resumed(c), round);
        traffic_keys(tag, mtls_conn_cipher_suite(c), &ck, &w);
        if (!round && suite_find(mtls_conn_cipher_suite(c))->kx == KX_RSA) {
            logging = 0; /* the test's own decryption is not under test */
            rsa_premaster(sid->key_pem, &w);
            logging = 1;
        }
        if (!round && sc->resume) {
            sess = mtls_conn_get_session(c);
            CHECK(sess != NULL);
        }
        mtls_close(c);
        mtls_close(s);
        mtls_conn_free(c);
        mtls_conn_free(s);
    }
    mtls_session_free(sess);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
}

static const void *find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    if (m == 0 || n < m)
        return NULL;
    for (const uint8_t *p = hay; (p = memchr(p, needle[0], (size_t)(hay + n - p - (m - 1))));
         p++)
        if (memcmp(p, needle, m) == 0)
            return p;
    return NULL;
}

/* The first frame outside this file and mtls's allocator hook that freed the block. */
static const char *freed_by(const freed *f)
{
    for (int i = 1; i < f->nbt; i++) {
        Dl_info info;
        if (dladdr(f->bt[i], &info) && info.dli_fname && strstr(info.dli_fname, "libcrypto"))
            return "libcrypto";
    }
    return "mtls";
}

int main(void)
{
    CHECK_ERR(mtls_set_allocator(lmalloc, lrealloc, lfree), MTLS_OK);
    tp_get(); /* the test PKI (libcrypto, through the hook too) before logging starts */
    logging = 1;
    static const scenario scenarios[] = {
        {"ECDHE-ECDSA AES-128-GCM, mutual", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TP_P256, 1, 0},
        {"ECDHE-RSA ChaCha20-Poly1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TP_RSA2048, 0,
         1},
        {"static RSA AES-256-GCM-SHA384, mutual", "TLS_RSA_WITH_AES_256_GCM_SHA384", TP_RSA2048, 1,
         1},
        {"ECDHE-ECDSA AES-256-GCM-SHA384 P-384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TP_P384,
         0, 1},
    };
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run(&scenarios[i]);
    logging = 0;
    CHECK(n_secrets >= 4 * 3);
    int found = 0;
    for (size_t i = 0; i < log_n; i++)
        for (size_t k = 0; k < n_secrets; k++)
            if (find(log_v[i].copy, log_v[i].len, secrets[k].v, secrets[k].len)) {
                const char *by = freed_by(&log_v[i]);
                found++;
                fprintf(stderr, "  %s found in a block of %zu bytes freed by %s\n", secrets[k].what,
                        log_v[i].len, by);
            }
    CHECK_EQ(found, 0);

    printf("secrets: %zu secrets (masters, traffic keys, RSA premasters) searched in %zu freed or "
           "reallocated blocks (%zu bytes, %zu frees in all): %d found\n",
           n_secrets, log_n, log_bytes, frees_seen, found);
    for (size_t i = 0; i < log_n; i++)
        free(log_v[i].copy);
    free(log_v);
    return t_done();
}
