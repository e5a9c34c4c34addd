/*
 * crypto.c -- process-wide setup, randomness, constant-time helpers, hashes and HMAC.
 *
 * cry_init() fetches every digest, AEAD cipher and EC parameter set exactly once per process
 * (pthread_once); the resulting table is the only global state of the crypto layer and is never
 * written after the once-routine returns, so any number of threads may read it.  Every object
 * below holds its own EVP contexts and belongs to one thread at a time.
 *
 * Hashes and HMAC run on libcrypto's one-call digest functions (SHA256_Init/Update/Final ...):
 * the same assembly as the EVP digests, but the state is a plain struct, so copying it -- the
 * transcript's peek, HMAC's reset to the primed pads -- is a memcpy instead of
 * EVP_MD_CTX_copy_ex's provider round trip, and a hash object is one allocation instead of three.
 * HMAC keeps the states primed with K^ipad and K^opad; a MAC costs two struct copies and two
 * finals.  Measured with bench/ (callgrind, TLS 1.2 PRF of a resumed handshake): 86k instructions
 * through EVP_MD_CTX, 30k this way.  The availability of each digest is still the provider's
 * (cry_init's fetch), so a FIPS provider without MD5 or SHA-1 still refuses them.
 * Key-equivalent state (the primed pads, the scratch states) is cleansed when freed.
 * Objects are allocated with OPENSSL_zalloc, so that the allocator given to mtls_set_allocator
 * (which libcrypto's memory functions follow) sees them.
 */
/* The one-call digest functions (SHA256_Init ...) are deprecated in 3.0 in favour of EVP, but they
 * are the same assembly without a provider dispatch, and their state is a plain struct. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "cry_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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

#ifdef MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG
static int fuzz_rand_install(void);
#endif

static void do_init(void)
{
    int ok = 1;
#ifdef MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG
    ok = fuzz_rand_install();
#endif
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

/* libcrypto's own randomness -- ECDHE key generation, ECDSA nonces, RSA-PSS salts, RSA blinding --
 * from the same stream, so that a side given the bytes it was given when the handshake was
 * recorded makes the same key share and the same signatures: the peer's recorded messages then
 * decrypt (TLS 1.3's handshake keys, TLS 1.2's ECDHE premaster) and its recorded Finished and
 * CertificateVerify verify over our own messages again.  One thing depends on history, not on the
 * connection: RSA blinding is made on a key's first private operation and remade every 32nd, which
 * draws from the stream after that operation's own draws. */
static int fuzz_rand_bytes(unsigned char *buf, int num)
{
    return num >= 0 && cry_random(buf, (size_t)num);
}

static int fuzz_rand_status(void)
{
    return 1;
}

static int fuzz_rand_install(void)
{
    static const RAND_METHOD method = {
        .bytes = fuzz_rand_bytes, .pseudorand = fuzz_rand_bytes, .status = fuzz_rand_status};
    return RAND_set_rand_method(&method);
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

/* The running state of one digest.  Plain structs: a copy is a memcpy, which is what the
 * transcript (peek) and HMAC (reset to the primed pads) do all the time. */
union md_state {
    SHA256_CTX sha256;
    SHA512_CTX sha512; /* SHA-384 and SHA-512 */
    SHA_CTX sha1;
    MD5_CTX md5;
};

struct cry_hash {
    union md_state st;
    cry_hash_alg alg;
};

size_t cry_hash_len(cry_hash_alg alg)
{
    return (unsigned)alg < CRY_HASH_COUNT ? md_lens[alg] : 0;
}

/* 1 when the provider offers `alg` (cry_init fetched it): MD5 and SHA-1 may be absent (FIPS). */
static int md_available(cry_hash_alg alg)
{
    const struct cry_algs *a = cry_algs();
    return a != NULL && (unsigned)alg < CRY_HASH_COUNT && a->md[alg] != NULL;
}

static void st_init(cry_hash_alg alg, union md_state *st)
{
    switch (alg) {
    case CRY_SHA256: SHA256_Init(&st->sha256); break;
    case CRY_SHA384: SHA384_Init(&st->sha512); break;
    case CRY_SHA512: SHA512_Init(&st->sha512); break;
    case CRY_SHA1: SHA1_Init(&st->sha1); break;
    case CRY_MD5: MD5_Init(&st->md5); break;
    default: break;
    }
}

static void st_update(cry_hash_alg alg, union md_state *st, const void *data, size_t len)
{
    switch (alg) {
    case CRY_SHA256: SHA256_Update(&st->sha256, data, len); break;
    case CRY_SHA384: SHA384_Update(&st->sha512, data, len); break;
    case CRY_SHA512: SHA512_Update(&st->sha512, data, len); break;
    case CRY_SHA1: SHA1_Update(&st->sha1, data, len); break;
    case CRY_MD5: MD5_Update(&st->md5, data, len); break;
    default: break;
    }
}

/* Finalizes `st` (which is then spent) into out. */
static void st_final(cry_hash_alg alg, union md_state *st, uint8_t *out)
{
    switch (alg) {
    case CRY_SHA256: SHA256_Final(out, &st->sha256); break;
    case CRY_SHA384: SHA384_Final(out, &st->sha512); break;
    case CRY_SHA512: SHA512_Final(out, &st->sha512); break;
    case CRY_SHA1: SHA1_Final(out, &st->sha1); break;
    case CRY_MD5: MD5_Final(out, &st->md5); break;
    default: break;
    }
}

cry_hash *cry_hash_new(cry_hash_alg alg)
{
    if (!md_available(alg))
        return NULL;
    cry_hash *h = OPENSSL_zalloc(sizeof(*h));
    if (h == NULL)
        return NULL;
    h->alg = alg;
    st_init(alg, &h->st);
    return h;
}

int cry_hash_update(cry_hash *h, const void *data, size_t len)
{
    if (len > 0)
        st_update(h->alg, &h->st, data, len);
    return 1;
}

int cry_hash_peek(const cry_hash *h, uint8_t *out)
{
    union md_state copy = h->st;
    st_final(h->alg, &copy, out);
    OPENSSL_cleanse(&copy, sizeof(copy));
    return 1;
}

cry_hash *cry_hash_dup(const cry_hash *h)
{
    cry_hash *d = OPENSSL_malloc(sizeof(*d));
    if (d != NULL)
        *d = *h; /* the one-call functions' state is plain data: a copy continues on its own */
    return d;
}

void cry_hash_free(cry_hash *h)
{
    if (h != NULL)
        OPENSSL_clear_free(h, sizeof(*h));
}

int cry_hash_oneshot(cry_hash_alg alg, const void *data, size_t len, uint8_t *out)
{
    union md_state st;
    if (!md_available(alg))
        return 0;
    st_init(alg, &st);
    if (len > 0)
        st_update(alg, &st, data, len);
    st_final(alg, &st, out);
    OPENSSL_cleanse(&st, sizeof(st));
    return 1;
}

/* ---- HMAC (RFC 2104) ----------------------------------------------------------------------- */

struct cry_hmac {
    union md_state inner; /* H state after absorbing K ^ ipad: key-equivalent */
    union md_state outer; /* H state after absorbing K ^ opad: key-equivalent */
    union md_state work;  /* the MAC in progress */
    cry_hash_alg alg;
    int finished; /* final() ran; reset() is needed before the next update() */
};

#define HMAC_MAX_BLOCK 128

static size_t block_len(cry_hash_alg alg)
{
    return alg == CRY_SHA384 || alg == CRY_SHA512 ? 128 : 64;
}

cry_hmac *cry_hmac_new(cry_hash_alg alg, const uint8_t *key, size_t key_len)
{
    if (!md_available(alg))
        return NULL;
    size_t block = block_len(alg);
    uint8_t pad[HMAC_MAX_BLOCK] = {0};
    cry_hmac *m = OPENSSL_zalloc(sizeof(*m));
    if (m == NULL)
        return NULL;
    m->alg = alg;

    /* RFC 2104 2: keys longer than the block are hashed first; shorter ones are zero-padded. */
    if (key_len > block)
        cry_hash_oneshot(alg, key, key_len, pad);
    else if (key_len > 0)
        memcpy(pad, key, key_len);
    for (size_t i = 0; i < block; i++)
        pad[i] ^= 0x36;
    st_init(alg, &m->inner);
    st_update(alg, &m->inner, pad, block);
    for (size_t i = 0; i < block; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    st_init(alg, &m->outer);
    st_update(alg, &m->outer, pad, block);
    OPENSSL_cleanse(pad, sizeof(pad));
    cry_hmac_reset(m);
    return m;
}

int cry_hmac_reset(cry_hmac *m)
{
    m->work = m->inner;
    m->finished = 0;
    return 1;
}

int cry_hmac_update(cry_hmac *m, const void *data, size_t len)
{
    if (m->finished)
        return 0;
    if (len > 0)
        st_update(m->alg, &m->work, data, len);
    return 1;
}

int cry_hmac_final(cry_hmac *m, uint8_t *out)
{
    uint8_t ih[CRY_MAX_HASH];
    if (m->finished)
        return 0;
    m->finished = 1;
    st_final(m->alg, &m->work, ih);
    m->work = m->outer;
    st_update(m->alg, &m->work, ih, md_lens[m->alg]);
    st_final(m->alg, &m->work, out);
    OPENSSL_cleanse(ih, sizeof(ih));
    return 1;
}

void cry_hmac_free(cry_hmac *m)
{
    if (m != NULL)
        OPENSSL_clear_free(m, sizeof(*m));
}
