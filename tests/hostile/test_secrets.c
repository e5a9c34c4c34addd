/*
 * test_secrets.c -- no secret outlives its use in memory handed back to the allocator: the master
 * secret, both traffic keys, (static RSA) the premaster and (ECDHE) the shared secret are absent
 * from every block mtls or libcrypto frees or reallocates, over full handshakes in several
 * suites, client authentication, session resumption by ticket, application data both ways, and
 * freeing of connections, sessions and configs.
 *
 * Two modes, each in a process of its own (the allocator is chosen once per process), both run
 * when the binary is started without arguments ("default" or "allocator" runs one):
 *   default    what most applications get: no mtls_set_allocator(), so mtls and libcrypto use
 *              the C library's malloc and free;
 *   allocator  mtls_set_allocator() with a pass-through allocator, which also routes libcrypto's
 *              allocations through mtls's wiping hooks (src/core/alloc.c).
 * In both, this file interposes free() and realloc() for the whole process (the executable's
 * definitions win over the C library's for libcrypto too; under AddressSanitizer, whose runtime
 * owns those symbols, its free hook does the same job): every block's bytes are copied aside
 * before the block is released, and the old block of a realloc is released the same way.
 * Secrets are learnt as the handshake happens -- the master from the key-log callback (NSS
 * "CLIENT_RANDOM <client_random> <master>"), the traffic keys derived from it and the randoms on
 * the wire (RFC 5246 6.3), the RSA premaster by decrypting the ClientKeyExchange with the server's
 * key, ECDHE shared secrets by running the key exchange both ways -- and at the end every copied
 * block is searched for every secret.  A block freed before a secret was known is searched too,
 * so the order of events does not matter.
 *
 * Regression: OpenSSL 3.0 frees the buffer its RSA_PKCS1_WITH_TLS_PADDING decryption writes the
 * whole decrypted block (premaster included) to without cleansing it (finding F3 in
 * fuzz/FINDINGS.md).  Wiping hooks on libcrypto's allocator covered only the allocator mode; mtls
 * now decrypts into a buffer of its own (src/crypto/pkey.c), which the default mode checks.
 *
 * Regression: libcrypto 3.0's key decoders (PEM_read_bio_PrivateKey_ex, d2i_AutoPrivateKey_ex)
 * free some 17 blocks per key holding the private numbers uncleansed (finding F5).  mtls now
 * decodes keys itself (src/crypto/keyload.c); the config keys are searched for in both modes,
 * loaded from plain PEM, encrypted PKCS#8 (PBES2), legacy encrypted PEM and PKCS#12 bundles
 * (PBES2, 3DES and unencrypted key bags), and so is the passphrase that unlocks them.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#include "common/testpki.h"
#include "crypto/crypto.h"
#include "handshake/hs.h"
#include "t.h"

/* ---- the log of freed blocks ---------------------------------------------------------------- */

typedef struct freed {
    uint8_t *copy;
    size_t len;
    void *bt[14]; /* who freed it */
    int nbt;
} freed;
static freed *log_v;
static size_t log_n, log_cap, log_bytes;
static int logging, in_log;

/* Bookkeeping memory comes from the C library's allocator directly, never through the
 * interposed functions below (which would log it). */
#ifndef UNDER_ASAN
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
#define raw_malloc __libc_malloc
#define raw_realloc __libc_realloc
#define raw_free __libc_free
#else
#define raw_malloc malloc
#define raw_realloc realloc
#define raw_free free
#endif

static void log_block(const void *p, size_t n)
{
    /* Blocks freed while logging is off (the test's own libcrypto parsing of the keys, which
     * leaves copies of them: F5) are wiped, so that no block mtls allocates later inherits those
     * copies in bytes it never writes, where the search would blame mtls for them. */
    if (!logging && !in_log && p != NULL) {
        memset((void *)p, 0, n);
        return;
    }
    if (!logging || in_log || p == NULL)
        return;
    in_log = 1;
    if (n >= 12) {
        if (log_n == log_cap) {
            log_cap = log_cap ? 2 * log_cap : 4096;
            log_v = raw_realloc(log_v, log_cap * sizeof(*log_v));
            if (log_v == NULL)
                abort();
        }
        uint8_t *c = raw_malloc(n);
        if (c == NULL)
            abort();
        memcpy(c, p, n);
        /* a freed block may hold bytes never written; searching them is fine, tell memcheck */
        (void)VALGRIND_MAKE_MEM_DEFINED(c, n);
        log_v[log_n].nbt = backtrace(log_v[log_n].bt, 14);
        log_v[log_n].copy = c;
        log_v[log_n].len = n;
        log_n++;
        log_bytes += n;
    }
    in_log = 0;
}

/* ---- the interposer: every free() in the process, libcrypto's included ------------------- */

#ifndef UNDER_ASAN
void free(void *p)
{
    if (p == NULL)
        return;
    log_block(p, malloc_usable_size(p));
    __libc_free(p);
}

/* Never in place: the C library's realloc would release the old block (or the tail of a shrunk
 * one) without a call to free, so its bytes would escape the search. */
void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return __libc_malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    void *q = __libc_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    free(p);
    return q;
}

static void install_interposer(void) {}
#else
/* AddressSanitizer defines malloc and free itself; its hooks see every free (and the old block
 * of every realloc, which it always moves) while the bytes are still there. */
#include <sanitizer/allocator_interface.h>
static void asan_free_hook(const volatile void *p)
{
    if (p != NULL)
        log_block((const void *)p, __sanitizer_get_allocated_size((const void *)p));
}
static void asan_malloc_hook(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
}
static void install_interposer(void)
{
    if (__sanitizer_install_malloc_and_free_hooks(asan_malloc_hook, asan_free_hook) == 0)
        abort();
}
#endif

/* ---- the pass-through allocator of the "allocator" mode --------------------------------------- */

#define HDR 16

static void *pmalloc(size_t n)
{
    uint8_t *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + HDR;
}

static void pfree(void *q)
{
    if (q)
        free((uint8_t *)q - HDR); /* logged by the interposer, header and all */
}

static void *prealloc(void *q, size_t n)
{
    if (!q)
        return pmalloc(n);
    size_t old;
    memcpy(&old, (uint8_t *)q - HDR, sizeof(old));
    void *r = pmalloc(n);
    if (!r)
        return NULL;
    memcpy(r, q, old < n ? old : n);
    pfree(q);
    return r;
}

/* ---- secrets ------------------------------------------------------------------------------ */

typedef struct secret {
    char what[160];
    uint8_t v[48];
    size_t len;
    int long_term; /* a private key of a config, not a secret of one connection */
} secret;
static secret secrets[256];
static size_t n_secrets;

static void add_secret(const char *what, const uint8_t *v, size_t len, int long_term)
{
    if (n_secrets == 256)
        abort();
    secret *s = &secrets[n_secrets++];
    snprintf(s->what, sizeof(s->what), "%s", what);
    memcpy(s->v, v, len);
    s->len = len;
    s->long_term = long_term;
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

typedef struct wire {
    uint8_t server_random[32];
    int have_sr;
    uint8_t cke[1024];
    size_t cke_len;
} wire;

/* Note what passes: ServerHello.random, the ClientKeyExchange body. */
static void watch(void *arg, int to_server, const uint8_t *p, size_t n)
{
    wire *w = arg;
    (void)to_server;
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
        add_secret("RSA premaster", out, 48, 0);
    else
        CHECK(!"could not decrypt the ClientKeyExchange");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
}

/* A config's private key: 32 bytes of the RSA private exponent or the EC scalar, once per key. */
static void key_secret(const char *role, const tp_ident *id)
{
    static const char *seen[8];
    for (size_t i = 0; i < 8 && seen[i]; i++)
        if (seen[i] == id->key_pem)
            return;
    for (size_t i = 0; i < 8; i++)
        if (!seen[i]) {
            seen[i] = id->key_pem;
            break;
        }
    int was = logging;
    logging = 0; /* the test's own parsing is not under test */
    BIO *b = BIO_new_mem_buf(id->key_pem, -1);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIGNUM *d = NULL;
    uint8_t v[512];
    int n = 0;
    if (pk && (EVP_PKEY_get_bn_param(pk, "d", &d) || EVP_PKEY_get_bn_param(pk, "priv", &d)))
        n = BN_bn2binpad(d, v, (int)(BN_num_bytes(d) < 32 ? 32 : BN_num_bytes(d)));
    CHECK(n >= 32);
    if (n >= 32) {
        char what[160];
        snprintf(what, sizeof(what), "%s private key (%s)", role,
                 EVP_PKEY_is_a(pk, "RSA") ? "RSA d" : "EC scalar");
        add_secret(what, v + n - 32, 32, 1);
    }
    OPENSSL_cleanse(v, sizeof(v));
    BN_clear_free(d);
    EVP_PKEY_free(pk);
    BIO_free(b);
    logging = was;
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
    add_secret(what, k->master, 48, 0);
    snprintf(what, sizeof(what), "%s client_write_key", tag);
    add_secret(what, kb, s->key_len, 0);
    snprintf(what, sizeof(what), "%s server_write_key", tag);
    add_secret(what, kb + s->key_len, s->key_len, 0);
}

/* How the server's key reaches the config. */
typedef enum { FORM_PEM = 0, FORM_PKCS8_PBES2, FORM_LEGACY_PEM, FORM_PKCS12, FORM_PKCS12_3DES,
               FORM_PKCS12_KEYBAG } key_form;

typedef struct scenario {
    const char *name;
    const char *ciphers;
    tp_key_kind server_key;
    int mutual;
    int resume;
    key_form form;
} scenario;

static const char PASSPHRASE[] = "test_secrets: a passphrase";

static int passphrase_cb(void *arg, char *buf, size_t cap, const char *what)
{
    (void)arg, (void)what;
    size_t n = strlen(PASSPHRASE);
    if (n > cap)
        return -1;
    memcpy(buf, PASSPHRASE, n);
    return (int)n;
}

/* The server identity's key encrypted (PEM), or the identity as a PKCS#12 bundle (DER), made by
 * libcrypto with logging off. */
static uint8_t *encode_ident(const tp_ident *id, key_form form, size_t *len)
{
    int was = logging;
    logging = 0;
    BIO *in = BIO_new_mem_buf(id->key_pem, -1), *out = BIO_new(BIO_s_mem());
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    const unsigned char *pass = (const unsigned char *)PASSPHRASE;
    int pass_len = (int)strlen(PASSPHRASE), ok = 0;
    uint8_t *der = NULL;
    *len = 0;
    if (form == FORM_PKCS8_PBES2) {
        ok = PEM_write_bio_PrivateKey(out, pk, EVP_aes_256_cbc(), pass, pass_len, NULL, NULL);
    } else if (form == FORM_LEGACY_PEM) {
        ok = PEM_write_bio_PrivateKey_traditional(out, pk, EVP_aes_128_cbc(), pass, pass_len, NULL,
                                                  NULL);
    } else {
        BIO *certs = BIO_new_mem_buf(id->cert_pem, -1);
        X509 *leaf = PEM_read_bio_X509(certs, NULL, NULL, NULL);
        STACK_OF(X509) *ca = sk_X509_new_null();
        X509 *x;
        while ((x = PEM_read_bio_X509(certs, NULL, NULL, NULL)) != NULL)
            sk_X509_push(ca, x);
        ERR_clear_error();
        int key_nid = form == FORM_PKCS12_3DES     ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC
                      : form == FORM_PKCS12_KEYBAG ? -1 /* an unencrypted key bag */
                                                   : 0;
        PKCS12 *p12 = PKCS12_create(PASSPHRASE, "server", pk, leaf, ca, key_nid, 0, 0, 0, 0);
        ok = p12 != NULL && i2d_PKCS12_bio(out, p12);
        PKCS12_free(p12);
        sk_X509_pop_free(ca, X509_free);
        X509_free(leaf);
        BIO_free(certs);
    }
    char *data;
    long n = BIO_get_mem_data(out, &data);
    CHECK(ok && n > 0);
    if (ok && n > 0 && (der = malloc((size_t)n + 1)) != NULL) {
        memcpy(der, data, (size_t)n);
        der[n] = 0;
        *len = (size_t)n;
    }
    EVP_PKEY_free(pk);
    BIO_free(in);
    BIO_free(out);
    logging = was;
    return der;
}

static void run(const scenario *sc)
{
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[sc->server_key], *cid = &pki->client[TP_P256];
    keylog ck = {0};
    mtls_config *ccfg = mtls_config_new(), *scfg = mtls_config_new();
    if (sc->form == FORM_PEM) {
        CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem),
                                                 sid->key_pem, strlen(sid->key_pem)),
                  MTLS_OK);
    } else {
        size_t len;
        uint8_t *blob = encode_ident(sid, sc->form, &len);
        CHECK_ERR(mtls_config_set_passphrase_callback(scfg, passphrase_cb, NULL), MTLS_OK);
        if (sc->form >= FORM_PKCS12)
            CHECK_ERR(mtls_config_set_pkcs12_mem(scfg, blob, len), MTLS_OK);
        else
            CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem),
                                                     blob, len),
                      MTLS_OK);
        if (blob)
            OPENSSL_cleanse(blob, len); /* the application's copy: a plain key bag is the key */
        free(blob);
    }
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
    key_secret("server", sid);
    if (sc->mutual)
        key_secret("client", cid);
    mtls_session *sess = NULL;
    for (int round = 0; round < (sc->resume ? 2 : 1); round++) {
        wire w = {0};
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        if (sess)
            CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
        tp_wire watched = {.watch = watch, .arg = &w};
        CHECK_ERR(tp_pump(c, s, &watched), MTLS_OK);
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

/* ECDHE outside a handshake, which gives the test no way to learn the premaster: the calls the
 * handshake makes (a fresh key pair each side, derive both ways), and the shared secret is
 * searched for like the rest. */
static void ecdhe(void)
{
    static const struct {
        uint16_t group;
        const char *name;
    } groups[] = {{29, "x25519"}, {23, "secp256r1"}, {24, "secp384r1"}};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        cry_kex *a = cry_kex_new(groups[i].group), *b = cry_kex_new(groups[i].group);
        uint8_t pa[97], pb[97], sa[48], sb[48];
        size_t la = 0, lb = 0, na = 0, nb = 0;
        CHECK(a != NULL && b != NULL);
        if (a != NULL && b != NULL) {
            CHECK(cry_kex_public(a, pa, sizeof(pa), &la) && cry_kex_public(b, pb, sizeof(pb), &lb));
            CHECK(cry_kex_derive(a, pb, lb, sa, sizeof(sa), &na));
            CHECK(cry_kex_derive(b, pa, la, sb, sizeof(sb), &nb));
            CHECK(na == nb && na >= 32 && memcmp(sa, sb, na) == 0);
            char what[160];
            snprintf(what, sizeof(what), "ECDHE %s shared secret", groups[i].name);
            add_secret(what, sa, na, 0);
        }
        cry_kex_free(a);
        cry_kex_free(b);
    }
}

static int run_mode(const char *mode)
{
    int custom = strcmp(mode, "allocator") == 0;
    if (!custom && strcmp(mode, "default") != 0) {
        fprintf(stderr, "usage: test_secrets [default|allocator]\n");
        return 2;
    }
    if (!custom && RUNNING_ON_VALGRIND) {
        /* memcheck replaces malloc and free in the executable as well as in the C library, so
         * libcrypto's frees never reach the interposer (the by_libcrypto check below would fail). */
        printf("secrets (default): not run under valgrind, which replaces the interposed free()\n");
        return 0;
    }
    void *bt[1];
    (void)backtrace(bt, 1); /* loads the unwinder now rather than inside a logged free */
    install_interposer();
    if (custom)
        CHECK_ERR(mtls_set_allocator(pmalloc, prealloc, pfree), MTLS_OK);
    tp_get(); /* the test PKI (libcrypto) before logging starts */
    logging = 1;
    static const scenario scenarios[] = {
        {"ECDHE-ECDSA AES-128-GCM, mutual", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TP_P256, 1, 0,
         FORM_PEM},
        {"ECDHE-RSA ChaCha20-Poly1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TP_RSA2048, 0,
         1, FORM_PEM},
        {"static RSA AES-256-GCM-SHA384, mutual", "TLS_RSA_WITH_AES_256_GCM_SHA384", TP_RSA2048, 1,
         1, FORM_PEM},
        {"ECDHE-ECDSA AES-256-GCM-SHA384 P-384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TP_P384,
         0, 1, FORM_PEM},
        /* the same keys through the other loaders: encrypted PKCS#8 (PBES2), legacy encrypted
         * PEM, PKCS#12 (PBES2 key bag) */
        {"ECDHE-ECDSA, key in encrypted PKCS#8", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TP_P256,
         0, 0, FORM_PKCS8_PBES2},
        {"static RSA, key in legacy encrypted PEM", "TLS_RSA_WITH_AES_128_GCM_SHA256", TP_RSA2048, 0,
         0, FORM_LEGACY_PEM},
        {"ECDHE-RSA, PKCS#12", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TP_RSA2048, 0, 0,
         FORM_PKCS12},
        {"ECDHE-ECDSA P-384, PKCS#12", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TP_P384, 0, 0,
         FORM_PKCS12},
        /* a PKCS#12 key bag under pbeWithSHAAnd3-KeyTripleDES-CBC: decrypted by libcrypto */
        {"ECDHE-ECDSA, PKCS#12 with a 3DES key bag", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
         TP_P256, 0, 0, FORM_PKCS12_3DES},
        /* an unencrypted key bag (in an encrypted-free safe), decoded by libcrypto's ASN.1 */
        {"ECDHE-RSA, PKCS#12 with a plain key bag", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
         TP_RSA2048, 0, 0, FORM_PKCS12_KEYBAG},
    };
    /* the passphrase of those, as a secret of its own */
    add_secret("the key passphrase", (const uint8_t *)PASSPHRASE, strlen(PASSPHRASE), 1);
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        /* A bundle whose key bag is not encrypted holds the key in plaintext, and libcrypto's
         * PKCS#12 decoding (d2i_PKCS12, PKCS12_unpack_authsafes / _p7data) frees its copies of
         * the bags uncleansed: only wiping memory functions reach those (docs/SECURITY.md). */
        if (!custom && scenarios[i].form == FORM_PKCS12_KEYBAG) {
            printf("secrets (%s): not run in this mode: %s (libcrypto's PKCS#12 decoder leaves "
                   "copies of an unencrypted key bag)\n", mode, scenarios[i].name);
            continue;
        }
        run(&scenarios[i]);
    }
    ecdhe();
    logging = 0;
    CHECK(n_secrets >= (custom ? 10 : 9) * 3 + 2 + 3 + 3 + 1);
    int found = 0;
    for (size_t i = 0; i < log_n; i++)
        for (size_t k = 0; k < n_secrets; k++) {
            if (!find(log_v[i].copy, log_v[i].len, secrets[k].v, secrets[k].len))
                continue;
            found++;
            fprintf(stderr, "  %s: %s found in a block of %zu bytes freed by %s\n", mode,
                    secrets[k].what, log_v[i].len, freed_by(&log_v[i]));
            backtrace_symbols_fd(log_v[i].bt, log_v[i].nbt, 2);
        }
    CHECK_EQ(found, 0);
    /* the interposer saw libcrypto's frees, not only mtls's */
    size_t by_libcrypto = 0;
    for (size_t i = 0; i < log_n; i++)
        by_libcrypto += strcmp(freed_by(&log_v[i]), "libcrypto") == 0;
    CHECK(by_libcrypto > 0);

    printf("secrets (%s): %zu secrets (masters, traffic keys, RSA premasters, ECDHE shared "
           "secrets, private keys) searched in %zu freed or reallocated blocks (%zu bytes, %zu by "
           "libcrypto): %d found\n",
           mode, n_secrets, log_n, log_bytes, by_libcrypto, found);
    for (size_t i = 0; i < log_n; i++)
        raw_free(log_v[i].copy);
    raw_free(log_v);
    return t_done();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return run_mode(argv[1]);
    /* Each mode in a fresh process, forked before anything is allocated: mtls and libcrypto
     * accept an allocator only before their first allocation. */
    static const char *const modes[] = {"default", "allocator"};
    int failed = 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            exit(run_mode(modes[i]));
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "test_secrets: the %s mode failed\n", modes[i]);
            failed = 1;
        }
    }
    return failed;
}
