/*
 * crypto.c -- process-wide setup, randomness, constant-time helpers, hashes and HMAC.
 *
 * cry_init() fetches every digest, AEAD cipher and EC parameter set exactly once per process
 * (pthread_once); the resulting table is the only global state of the crypto layer and is never
 * written after the once-routine returns, so any number of threads may read it.  Every object
 * below holds its own EVP contexts and belongs to one thread at a time.
 *
 * HMAC is built from two digest contexts primed with K^ipad and K^opad at cry_hmac_new(); a MAC
 * then costs two context copies and two finals, with no fetch and no key schedule.  Measured on
 * OpenSSL 3.0.19, SHA-256, 77-byte message: 0.20 us per MAC this way, 0.24 us with
 * EVP_MAC_init(ctx, NULL, 0, NULL) re-use, 0.42 us re-keying EVP_MAC_init each time, 1.3 us
 * with EVP_Q_mac.  The TLS PRF calls HMAC many times per handshake, hence the choice.
 * Key-equivalent state (the primed contexts, the pad buffer) is wiped when freed: 3.0's digest
 * providers free their contexts with OPENSSL_clear_free, and our own buffers are cleansed.
 */
#include "cry_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

/* ---- process-wide setup -------------------------------------------------------------------- */

static const char *const md_names[CRY_HASH_COUNT] = {
    [CRY_SHA256] = "SHA2-256", [CRY_SHA384] = "SHA2-384", [CRY_SHA512] = "SHA2-512",
    [CRY_SHA1] = "SHA1",       [CRY_MD5] = "MD5",
};
static const size_t md_lens[CRY_HASH_COUNT] = {
    [CRY_SHA256] = 32, [CRY_SHA384] = 48, [CRY_SHA512] = 64, [CRY_SHA1] = 20, [CRY_MD5] = 16,
};
static const char *const aead_names[3] = {
    [CRY_AES_128_GCM] = "AES-128-GCM",
    [CRY_AES_256_GCM] = "AES-256-GCM",
    [CRY_CHACHA20_POLY1305] = "ChaCha20-Poly1305",
};
static const char *const ec_group_names[CRY_EC_COUNT] = {
    [CRY_EC_P256] = "P-256",
    [CRY_EC_P384] = "P-384",
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static struct cry_algs algs;
static int algs_ok;

static EVP_PKEY *ec_params_new(const char *group)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEY_PARAMETERS, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

static void do_init(void)
{
    int ok = 1;
    for (int i = 0; i < CRY_HASH_COUNT; i++) {
        algs.md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
        /* MD5 and SHA-1 are optional (absent from a FIPS provider); the SHA-2s are not. */
        if (algs.md[i] == NULL && i != CRY_SHA1 && i != CRY_MD5)
            ok = 0;
    }
    for (int i = 0; i < 3; i++) {
        algs.aead[i] = EVP_CIPHER_fetch(NULL, aead_names[i], NULL);
        if (algs.aead[i] == NULL)
            ok = 0;
    }
    for (int i = 0; i < CRY_EC_COUNT; i++) {
        algs.ec_params[i] = ec_params_new(ec_group_names[i]);
        if (algs.ec_params[i] == NULL)
            ok = 0;
    }
    cry_clear_errors();
    algs_ok = ok;
}

int cry_init(void)
{
    if (pthread_once(&init_once, do_init) != 0)
        return 0;
    return algs_ok;
}

const struct cry_algs *cry_algs(void)
{
    return cry_init() ? &algs : NULL;
}

const char *cry_md_name(cry_hash_alg alg)
{
    return (unsigned)alg < CRY_HASH_COUNT ? md_names[alg] : NULL;
}

void cry_clear_errors(void)
{
    ERR_clear_error();
}

int cry_set_mem_functions(void *(*m)(size_t, const char *, int),
                          void *(*r)(void *, size_t, const char *, int),
                          void (*f)(void *, const char *, int))
{
    return CRYPTO_set_mem_functions(m, r, f);
}

/* ---- randomness ---------------------------------------------------------------------------- */

#ifdef MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG
/* Fuzzing only: a deterministic stream so that a recorded handshake replays byte for byte (the
 * peer's Finished and signatures over our randoms verify).  Never in a release build: only
 * fuzz/CMakeLists.txt defines MTLS_FUZZ_BUILD, and anything else with this flag fails here. */
#ifndef MTLS_FUZZ_BUILD
#error "MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG makes every key predictable; fuzz builds only"
#endif
static _Thread_local uint64_t fuzz_rng_state = 0x6d746c7366757a7aULL;

/* Exported for fuzz/ harnesses (declared there, not in crypto.h). */
void cry_fuzz_rng_set(uint64_t state);
uint64_t cry_fuzz_rng_get(void);
void cry_fuzz_rng_set(uint64_t state) { fuzz_rng_state = state; }
uint64_t cry_fuzz_rng_get(void) { return fuzz_rng_state; }

int cry_random(uint8_t *out, size_t len)
{
    while (len > 0) {
        /* splitmix64 */
        uint64_t z = (fuzz_rng_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (int i = 0; i < 8 && len > 0; i++, len--)
            *out++ = (uint8_t)(z >> (8 * i));
    }
    return 1;
}
#else
int cry_random(uint8_t *out, size_t len)
{
    /* The private DRBG: callers draw keys and premasters from here as well as public nonces. */
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        if (RAND_priv_bytes(out, chunk) != 1) {
            cry_clear_errors();
            return 0;
        }
        out += chunk;
        len -= (size_t)chunk;
    }
    return 1;
}
#endif /* MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG */

/* ---- constant-time helpers ----------------------------------------------------------------- */

int cry_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void cry_wipe(void *p, size_t len)
{
    if (p != NULL)
        OPENSSL_cleanse(p, len);
}

/* ---- hashes -------------------------------------------------------------------------------- */

struct cry_hash {
    EVP_MD_CTX *ctx;     /* the running hash */
    EVP_MD_CTX *scratch; /* cry_hash_peek finalizes a copy here; mutable behind a const handle */
    cry_hash_alg alg;
};

size_t cry_hash_len(cry_hash_alg alg)
{
    return (unsigned)alg < CRY_HASH_COUNT ? md_lens[alg] : 0;
}

static const EVP_MD *md_of(cry_hash_alg alg)
{
    const struct cry_algs *a = cry_algs();
    if (a == NULL || (unsigned)alg >= CRY_HASH_COUNT)
        return NULL;
    return a->md[alg];
}

cry_hash *cry_hash_new(cry_hash_alg alg)
{
    const EVP_MD *md = md_of(alg);
    if (md == NULL)
        return NULL;
    cry_hash *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->alg = alg;
    h->ctx = EVP_MD_CTX_new();
    h->scratch = EVP_MD_CTX_new();
    if (h->ctx == NULL || h->scratch == NULL || !EVP_DigestInit_ex2(h->ctx, md, NULL)) {
        cry_clear_errors();
        cry_hash_free(h);
        return NULL;
    }
    return h;
}

int cry_hash_update(cry_hash *h, const void *data, size_t len)
{
    if (len == 0)
        return 1;
    if (!EVP_DigestUpdate(h->ctx, data, len)) {
        cry_clear_errors();
        return 0;
    }
    return 1;
}

int cry_hash_peek(const cry_hash *h, uint8_t *out)
{
    if (!EVP_MD_CTX_copy_ex(h->scratch, h->ctx) || !EVP_DigestFinal_ex(h->scratch, out, NULL)) {
        cry_clear_errors();
        return 0;
    }
    return 1;
}

void cry_hash_free(cry_hash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_CTX_free(h->scratch);
    free(h);
}

int cry_hash_oneshot(cry_hash_alg alg, const void *data, size_t len, uint8_t *out)
{
    const EVP_MD *md = md_of(alg);
    static const uint8_t empty[1];
    if (md == NULL)
        return 0;
    if (!EVP_Digest(len ? data : empty, len, out, NULL, md, NULL)) {
        cry_clear_errors();
        return 0;
    }
    return 1;
}

/* ---- HMAC (RFC 2104) ----------------------------------------------------------------------- */

struct cry_hmac {
    EVP_MD_CTX *inner; /* H state after absorbing K ^ ipad: key-equivalent */
    EVP_MD_CTX *outer; /* H state after absorbing K ^ opad: key-equivalent */
    EVP_MD_CTX *work;  /* the MAC in progress */
    cry_hash_alg alg;
    int finished; /* final() ran; reset() is needed before the next update() */
};

#define HMAC_MAX_BLOCK 128

cry_hmac *cry_hmac_new(cry_hash_alg alg, const uint8_t *key, size_t key_len)
{
    const EVP_MD *md = md_of(alg);
    if (md == NULL)
        return NULL;
    size_t block = (size_t)EVP_MD_get_block_size(md);
    if (block == 0 || block > HMAC_MAX_BLOCK || md_lens[alg] > block)
        return NULL;

    uint8_t pad[HMAC_MAX_BLOCK] = {0};
    int ok;
    cry_hmac *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->alg = alg;
    m->inner = EVP_MD_CTX_new();
    m->outer = EVP_MD_CTX_new();
    m->work = EVP_MD_CTX_new();
    if (m->inner == NULL || m->outer == NULL || m->work == NULL)
        goto err;

    /* RFC 2104 2: keys longer than the block are hashed first; shorter ones are zero-padded. */
    if (key_len > block) {
        if (!cry_hash_oneshot(alg, key, key_len, pad))
            goto err;
    } else if (key_len > 0) {
        memcpy(pad, key, key_len);
    }
    for (size_t i = 0; i < block; i++)
        pad[i] ^= 0x36;
    ok = EVP_DigestInit_ex2(m->inner, md, NULL) && EVP_DigestUpdate(m->inner, pad, block);
    for (size_t i = 0; i < block; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    ok = ok && EVP_DigestInit_ex2(m->outer, md, NULL) && EVP_DigestUpdate(m->outer, pad, block);
    OPENSSL_cleanse(pad, sizeof(pad));
    if (!ok || !cry_hmac_reset(m))
        goto err;
    return m;

err:
    OPENSSL_cleanse(pad, sizeof(pad));
    cry_clear_errors();
    cry_hmac_free(m);
    return NULL;
}

int cry_hmac_reset(cry_hmac *m)
{
    if (!EVP_MD_CTX_copy_ex(m->work, m->inner)) {
        cry_clear_errors();
        return 0;
    }
    m->finished = 0;
    return 1;
}

int cry_hmac_update(cry_hmac *m, const void *data, size_t len)
{
    if (m->finished)
        return 0;
    if (len == 0)
        return 1;
    if (!EVP_DigestUpdate(m->work, data, len)) {
        cry_clear_errors();
        return 0;
    }
    return 1;
}

int cry_hmac_final(cry_hmac *m, uint8_t *out)
{
    uint8_t ih[CRY_MAX_HASH];
    size_t n = md_lens[m->alg];
    if (m->finished)
        return 0;
    m->finished = 1;
    int ok = EVP_DigestFinal_ex(m->work, ih, NULL) && EVP_MD_CTX_copy_ex(m->work, m->outer) &&
             EVP_DigestUpdate(m->work, ih, n) && EVP_DigestFinal_ex(m->work, out, NULL);
    OPENSSL_cleanse(ih, sizeof(ih));
    if (!ok) {
        cry_clear_errors();
        OPENSSL_cleanse(out, n);
        return 0;
    }
    return 1;
}

void cry_hmac_free(cry_hmac *m)
{
    if (m == NULL)
        return;
    EVP_MD_CTX_free(m->inner);
    EVP_MD_CTX_free(m->outer);
    EVP_MD_CTX_free(m->work);
    free(m);
}
