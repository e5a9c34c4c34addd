/*
 * pkey.c -- public and private keys, TLS signature schemes, and static-RSA key exchange.
 *
 * A cry_pkey wraps one EVP_PKEY with our key type and an atomic reference count; it is immutable
 * after creation, so one key may serve many connections on many threads.  Private keys are
 * decoded at config time by keyload.c (or live on a token, p11.c); public keys are built from the
 * raw parts our X.509 parser extracts (RSA n and e, an EC point) with EVP_PKEY_fromdata or a
 * parameters template, never by DER decoding.
 *
 * Signatures: the message is hashed with the digest prefetched by cry_init(), then the digest is
 * signed or verified with EVP_PKEY_sign / EVP_PKEY_verify, so cry_verify and cry_verify_digest
 * share one path.  ECDSA signs the digest as given (no digest parameter, hence no provider-side
 * digest fetch); RSA needs the digest name for the DigestInfo / PSS encoding.  Measured on 3.0.19
 * the variants (EVP_DigestVerifyInit_ex with a name, EVP_DigestVerifyInit with a prefetched
 * EVP_MD, digest + EVP_PKEY_verify) are within 1-2 us of each other for RSA-2048 and P-256; the
 * last is the simplest that also serves precomputed digests.  Scheme and key type must agree.
 *
 * Static RSA: cry_rsa_decrypt_premaster runs the bare RSA operation (RSA_NO_PADDING) into a
 * buffer of ours and checks the PKCS #1 padding and the version bytes itself, in constant time,
 * selecting between the decrypted and a random premaster with a mask (RFC 5246 7.4.7.1); see the
 * comment there for why not OpenSSL's RSA_PKCS1_WITH_TLS_PADDING.
 */
#include "cry_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

struct prepared; /* operation contexts kept with a key, see op_ctx() */

struct cry_pkey {
    EVP_PKEY *pk;
    cry_key_type type;
    int is_private; /* made by cry_pkey_wrap_private (keyload.c, p11.c) */
    int foreign;    /* operations in an engine's legacy methods (p11.c) */
    void (*on_free)(void *);
    void *on_free_arg;
    atomic_int refs;
    _Atomic(struct prepared *) prep; /* NULL until the first operation */
};

static void prepared_free(struct prepared *p);

/* ---- keys ---------------------------------------------------------------------------------- */

static cry_key_type type_of(EVP_PKEY *pk)
{
    char group[64];
    if (EVP_PKEY_is_a(pk, "RSA"))
        return CRY_KEY_RSA;
    if (!EVP_PKEY_is_a(pk, "EC") || !EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL))
        return CRY_KEY_OTHER;
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return CRY_KEY_EC_P256;
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return CRY_KEY_EC_P384;
    return CRY_KEY_OTHER;
}

/* Takes ownership of pk. */
static cry_pkey *wrap(EVP_PKEY *pk)
{
    cry_pkey *k;
    if (pk == NULL)
        return NULL;
    k = OPENSSL_zalloc(sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    k->pk = pk;
    k->type = type_of(pk);
    atomic_init(&k->refs, 1);
    return k;
}

cry_pkey *cry_pkey_wrap_private(EVP_PKEY *pk)
{
    cry_pkey *k = wrap(pk);
    if (k != NULL)
        k->is_private = 1;
    return k;
}

void cry_pkey_mark_foreign(cry_pkey *k)
{
    k->foreign = 1;
}

void cry_pkey_set_on_free(cry_pkey *k, void (*fn)(void *), void *arg)
{
    k->on_free = fn;
    k->on_free_arg = arg;
}

cry_pkey *cry_pkey_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;

    if (cry_algs() == NULL || n_len == 0 || e_len == 0 || n_len > 2049 || e_len > n_len)
        return NULL;
    bn_n = BN_bin2bn(n, (int)n_len, NULL);
    bn_e = BN_bin2bn(e, (int)e_len, NULL);
    /* A modulus is odd; an exponent is odd, at least 3 and below the modulus. */
    if (bn_n == NULL || bn_e == NULL || !BN_is_odd(bn_n) || !BN_is_odd(bn_e) || BN_is_one(bn_e) ||
        BN_cmp(bn_e, bn_n) >= 0)
        goto done;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;

done:
    if (pk == NULL)
        cry_clear_errors();
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return wrap(pk);
}

cry_pkey *cry_pkey_ec_public(cry_key_type curve, const uint8_t *point, size_t point_len)
{
    const struct cry_algs *a = cry_algs();
    EVP_PKEY *pk;
    size_t want;
    int idx;

    if (a == NULL)
        return NULL;
    if (curve == CRY_KEY_EC_P256) {
        idx = CRY_EC_P256;
        want = 65;
    } else if (curve == CRY_KEY_EC_P384) {
        idx = CRY_EC_P384;
        want = 97;
    } else {
        return NULL;
    }
    if (point_len != want || point[0] != 0x04)
        return NULL;
    /* Same import as kex.c: the point is decoded with EC_POINT_oct2point, which refuses a point
     * off the curve; cofactor 1 makes that the whole public-key check. */
    pk = EVP_PKEY_new();
    if (pk == NULL || !EVP_PKEY_copy_parameters(pk, a->ec_params[idx]) ||
        !EVP_PKEY_set1_encoded_public_key(pk, point, point_len)) {
        cry_clear_errors();
        EVP_PKEY_free(pk);
        return NULL;
    }
    return wrap(pk);
}

cry_pkey *cry_pkey_up_ref(cry_pkey *k)
{
    if (k != NULL)
        atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    return k;
}

void cry_pkey_free(cry_pkey *k)
{
    if (k == NULL)
        return;
    if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
        return;
    prepared_free(atomic_load_explicit(&k->prep, memory_order_acquire));
    /* The RSA and EC key managers free private components with BN_clear_free / clear_free. */
    EVP_PKEY_free(k->pk);
    if (k->on_free)
        k->on_free(k->on_free_arg);
    OPENSSL_free(k);
}

cry_key_type cry_pkey_type(const cry_pkey *k)
{
    return k == NULL ? CRY_KEY_NONE : k->type;
}

unsigned cry_pkey_bits(const cry_pkey *k)
{
    int bits = k == NULL ? 0 : EVP_PKEY_get_bits(k->pk);
    return bits > 0 ? (unsigned)bits : 0;
}

int cry_pkey_matches(const cry_pkey *priv, const cry_pkey *pub)
{
    int r;
    if (priv == NULL || pub == NULL)
        return 0;
    r = EVP_PKEY_eq(priv->pk, pub->pk);
    if (r != 1)
        cry_clear_errors();
    return r == 1;
}

size_t cry_pkey_max_sig_len(const cry_pkey *k)
{
    int n = k == NULL ? 0 : EVP_PKEY_get_size(k->pk);
    return n > 0 ? (size_t)n : 0;
}

/* ---- signature schemes --------------------------------------------------------------------- */

enum sig_kind { SIG_RSA_PKCS1, SIG_RSA_PSS, SIG_ECDSA };

struct scheme {
    uint16_t code;
    enum sig_kind kind;
    cry_hash_alg hash;
    int can_sign;
};

static const struct scheme schemes[] = {
    {0x0401, SIG_RSA_PKCS1, CRY_SHA256, 1}, /* rsa_pkcs1_sha256 */
    {0x0501, SIG_RSA_PKCS1, CRY_SHA384, 1}, /* rsa_pkcs1_sha384 */
    {0x0601, SIG_RSA_PKCS1, CRY_SHA512, 1}, /* rsa_pkcs1_sha512 */
    {0x0804, SIG_RSA_PSS, CRY_SHA256, 1},   /* rsa_pss_rsae_sha256 */
    {0x0805, SIG_RSA_PSS, CRY_SHA384, 1},   /* rsa_pss_rsae_sha384 */
    {0x0806, SIG_RSA_PSS, CRY_SHA512, 1},   /* rsa_pss_rsae_sha512 */
    {0x0403, SIG_ECDSA, CRY_SHA256, 1},     /* ecdsa_secp256r1_sha256 */
    {0x0503, SIG_ECDSA, CRY_SHA384, 1},     /* ecdsa_secp384r1_sha384 */
    {0x0603, SIG_ECDSA, CRY_SHA512, 0},     /* ecdsa_secp521r1_sha512: verify only */
    {0x0201, SIG_RSA_PKCS1, CRY_SHA1, 0},   /* rsa_pkcs1_sha1: verify only, for naming */
    {0x0203, SIG_ECDSA, CRY_SHA1, 0},       /* ecdsa_sha1: verify only, for naming */
};

static const struct scheme *find_scheme(uint16_t code)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (schemes[i].code == code)
            return &schemes[i];
    }
    return NULL;
}

/* The scheme's key type must be the key's: RSA (rsaEncryption) for rsa_pkcs1 and rsa_pss_rsae,
 * any EC key for ecdsa (TLS 1.2 does not bind the curve; the caller's policy does). */
static int key_fits(const cry_pkey *k, const struct scheme *s)
{
    if (s->kind == SIG_ECDSA)
        return EVP_PKEY_is_a(k->pk, "EC");
    return k->type == CRY_KEY_RSA;
}

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))
/* Slots of prepared contexts: sign and verify per scheme, then RSA encryption and decryption. */
#define SLOT_SIG(i, sign) (2 * (i) + ((sign) ? 1 : 0))
#define SLOT_ENCRYPT (2 * N_SCHEMES)
#define SLOT_DECRYPT (2 * N_SCHEMES + 1)
#define N_SLOTS (2 * N_SCHEMES + 2)

struct prepared {
    _Atomic(EVP_PKEY_CTX *) ctx[N_SLOTS];
};

static void prepared_free(struct prepared *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < N_SLOTS; i++)
        EVP_PKEY_CTX_free(atomic_load_explicit(&p->ctx[i], memory_order_acquire));
    OPENSSL_free(p);
}

/* A legacy (engine) key's context ignores the parameters of *_init_ex, and EVP_PKEY_CTX_set_params
 * does not know the provider digest names: the same settings through the ctrl functions, with
 * the digests cry_init fetched. */
static int foreign_params(EVP_PKEY_CTX *ctx, size_t slot)
{
    if (slot == SLOT_ENCRYPT || slot == SLOT_DECRYPT)
        return EVP_PKEY_CTX_set_rsa_padding(ctx, slot == SLOT_ENCRYPT ? RSA_PKCS1_PADDING
                                                                      : RSA_NO_PADDING);
    const struct scheme *s = &schemes[slot / 2];
    const EVP_MD *md = cry_algs()->md[s->hash];
    if (s->kind == SIG_ECDSA)
        return 1;
    if (md == NULL || EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
        return 0;
    if (s->kind == SIG_RSA_PKCS1)
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0;
}

/* A new context for the slot's operation: the scheme's padding and digest for sign / verify
 * (ECDSA gets no digest parameter: it then signs the given digest as is), PKCS #1 v1.5 padding
 * for encryption, none for decryption (cry_rsa_decrypt_premaster checks the padding). */
static EVP_PKEY_CTX *fresh_ctx(const cry_pkey *k, size_t slot)
{
    OSSL_PARAM params[5];
    int n = 0, r;
    int pad = RSA_PKCS1_PADDING, no_pad = RSA_NO_PADDING;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);

    if (ctx == NULL)
        return NULL;
    if (slot == SLOT_ENCRYPT || slot == SLOT_DECRYPT) {
        int *mode = slot == SLOT_ENCRYPT ? &pad : &no_pad;
        params[n++] = OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, mode);
        params[n] = OSSL_PARAM_construct_end();
        r = slot == SLOT_ENCRYPT ? EVP_PKEY_encrypt_init_ex(ctx, params)
                                 : EVP_PKEY_decrypt_init_ex(ctx, params);
    } else {
        const struct scheme *s = &schemes[slot / 2];
        char *md = (char *)cry_md_name(s->hash);
        if (s->kind == SIG_RSA_PSS)
            pad = RSA_PKCS1_PSS_PADDING;
        if (s->kind != SIG_ECDSA) {
            params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, md, 0);
            params[n++] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad);
        }
        if (s->kind == SIG_RSA_PSS) {
            /* RFC 8446 4.2.3: "The length of the Salt MUST be equal to the length of the output
             * of the digest algorithm"; MGF1 uses the same hash.  "digest" enforces equality on
             * verify. */
            params[n++] = OSSL_PARAM_construct_utf8_string(
                OSSL_SIGNATURE_PARAM_PSS_SALTLEN, (char *)OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST, 0);
            params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, md, 0);
        }
        params[n] = OSSL_PARAM_construct_end();
        r = slot % 2 ? EVP_PKEY_sign_init_ex(ctx, params) : EVP_PKEY_verify_init_ex(ctx, params);
    }
    if (r > 0 && k->foreign)
        r = foreign_params(ctx, slot);
    if (r <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/*
 * A context ready for the slot's operation with this key, for the caller to use once and free.
 *
 * Fetching the provider's method and parsing the parameters cost more than copying a context
 * that has them (OpenSSL 3.0.19: RSA-PSS sign context 3.2 us new vs 0.1 us EVP_PKEY_CTX_dup;
 * ECDSA 1.6 vs 0.1 us), and the keys that matter live long: our own key in a config, trust
 * anchors, peer keys shared through the certificate cache.  So the first operation of each kind
 * on a key prepares a context and keeps it with the key; every use works on a duplicate.  The
 * kept context is published with a compare-and-swap and never used for an operation itself, so
 * any number of threads may duplicate it at once (duplication only reads it and takes
 * references).  The key stays logically immutable: this is a cache of derived objects.
 */
static EVP_PKEY_CTX *op_ctx(const cry_pkey *key, size_t slot)
{
    cry_pkey *k = (cry_pkey *)key;
    struct prepared *p = atomic_load_explicit(&k->prep, memory_order_acquire);
    if (p == NULL) {
        struct prepared *mine = OPENSSL_zalloc(sizeof(*mine)), *seen = NULL;
        if (mine == NULL)
            return fresh_ctx(k, slot);
        if (atomic_compare_exchange_strong_explicit(&k->prep, &seen, mine, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            p = mine;
        } else {
            OPENSSL_free(mine);
            p = seen;
        }
    }
    EVP_PKEY_CTX *c = atomic_load_explicit(&p->ctx[slot], memory_order_acquire);
    if (c == NULL) {
        EVP_PKEY_CTX *mine = fresh_ctx(k, slot), *seen = NULL;
        if (mine == NULL)
            return NULL;
        if (atomic_compare_exchange_strong_explicit(&p->ctx[slot], &seen, mine,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            c = mine;
        } else {
            EVP_PKEY_CTX_free(mine);
            c = seen;
        }
    }
    return EVP_PKEY_CTX_dup(c);
}

/* A context for sign (sign = 1) or verify with the scheme's padding and digest. */
static EVP_PKEY_CTX *sig_ctx(const cry_pkey *k, const struct scheme *s, int sign)
{
    return op_ctx(k, SLOT_SIG((size_t)(s - schemes), sign));
}

int cry_sign(const cry_pkey *priv, uint16_t scheme, const uint8_t *msg, size_t msg_len,
             uint8_t *sig, size_t cap, size_t *sig_len)
{
    const struct scheme *s = find_scheme(scheme);
    uint8_t digest[CRY_MAX_HASH];
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = cap;
    int ok = 0;

    if (priv == NULL || s == NULL || !s->can_sign || !key_fits(priv, s))
        return 0;
    if (!cry_hash_oneshot(s->hash, msg, msg_len, digest))
        return 0;
    ctx = sig_ctx(priv, s, 1);
    if (ctx != NULL && EVP_PKEY_sign(ctx, sig, &len, digest, cry_hash_len(s->hash)) > 0) {
        *sig_len = len;
        ok = 1;
    }
    if (!ok)
        cry_clear_errors();
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int cry_verify_digest(const cry_pkey *pub, uint16_t scheme, const uint8_t *digest,
                      size_t digest_len, const uint8_t *sig, size_t sig_len)
{
    const struct scheme *s = find_scheme(scheme);
    EVP_PKEY_CTX *ctx;
    int r;

    if (pub == NULL || s == NULL || !key_fits(pub, s) || digest_len != cry_hash_len(s->hash) ||
        sig_len == 0)
        return 0;
    ctx = sig_ctx(pub, s, 0);
    r = ctx == NULL ? 0 : EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len);
    if (r != 1)
        cry_clear_errors();
    EVP_PKEY_CTX_free(ctx);
    return r == 1;
}

int cry_verify(const cry_pkey *pub, uint16_t scheme, const uint8_t *msg, size_t msg_len,
               const uint8_t *sig, size_t sig_len)
{
    const struct scheme *s = find_scheme(scheme);
    uint8_t digest[CRY_MAX_HASH];
    if (s == NULL || !cry_hash_oneshot(s->hash, msg, msg_len, digest))
        return 0;
    return cry_verify_digest(pub, scheme, digest, cry_hash_len(s->hash), sig, sig_len);
}

/* ---- static RSA key exchange --------------------------------------------------------------- */

int cry_rsa_encrypt_pkcs1(const cry_pkey *pub, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    EVP_PKEY_CTX *ctx;
    size_t len = cap;
    int ok = 0;

    if (pub == NULL || pub->type != CRY_KEY_RSA)
        return 0;
    ctx = op_ctx(pub, SLOT_ENCRYPT);
    if (ctx != NULL && EVP_PKEY_encrypt(ctx, out, &len, in, in_len) > 0) {
        *out_len = len;
        ok = 1;
    }
    if (!ok)
        cry_clear_errors();
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* Constant-time helpers for the padding check: masks are 0 or all ones, and the barrier keeps
 * the compiler from turning a mask back into a branch. */
static uint32_t ct_barrier(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(x));
#endif
    return x;
}

/* All ones when x == 0 (x below 2^31). */
static uint32_t ct_is_zero(uint32_t x)
{
    return ct_barrier(0u - ((~x & (x - 1)) >> 31));
}

static uint32_t ct_eq(uint32_t a, uint32_t b)
{
    return ct_is_zero(a ^ b);
}

#define RSA_MAX_BYTES 512 /* 4096-bit moduli, the largest a config accepts */
#define PREMASTER_LEN 48

/*
 * RFC 5246 7.4.7.1: "In any case, a TLS server MUST NOT generate an alert if processing an
 * RSA-encrypted premaster secret message fails, or the version number is not as expected.
 * Instead, it MUST continue the handshake with a randomly generated premaster secret."
 *
 * Why the decryption is ours and not OpenSSL's RSA_PKCS1_WITH_TLS_PADDING: OpenSSL 3.0 (3.0.19
 * here) decrypts that mode into a temporary buffer of the modulus size, holding the whole block
 * and so the premaster, and frees it with OPENSSL_free, uncleansed (rsa_decrypt in
 * providers/implementations/asymciphers/rsa_enc.c; finding F3 in fuzz/FINDINGS.md).  Without
 * wiping memory functions installed in libcrypto -- the default -- the premaster stayed in freed
 * heap memory.  With RSA_NO_PADDING the provider writes the block straight into our buffer
 * (rsa_ossl_private_decrypt's own copy is freed with OPENSSL_clear_free), and we wipe it.
 * tests/hostile/test_secrets.c checks every block freed in the process for the premaster.
 *
 * The check, with k the modulus length and the premaster M of fixed length 48 (RFC 8017 7.2.2
 * step 3, EM = 0x00 || 0x02 || PS || 0x00 || M; RFC 5246 7.4.7.1: M begins with
 * ClientHello.client_version):
 *     EM[0] == 0, EM[1] == 2, EM[2 .. k-50] all nonzero, EM[k-49] == 0,
 *     EM[k-48] EM[k-47] == client_version.
 * Because M's length is fixed, every position is known in advance: the check is a run of masks
 * over all k bytes, no search for the separator, no branch or memory access that depends on the
 * block (BoringSSL checks the same way).  PS is k - 51 >= 205 bytes for k >= 256, above RFC 8017's
 * minimum of 8.  A wrong premaster length, a zero inside PS or a missing separator all put a
 * byte where the check wants another, so they fail like any bad padding.
 *
 * What may be branched on is public:
 *   - the ciphertext length (on the wire): RFC 5246 7.4.7.1 sends exactly the RSA output, so any
 *     other length skips the RSA operation;
 *   - EVP_PKEY_decrypt's result: with no padding it fails only for a ciphertext whose integer
 *     value is >= n, a property of the ciphertext alone.
 * Our fallback is random bytes drawn before the decryption and merged with the mask, so the
 * output is always 48 bytes and we return 1.
 * The client_version alone is accepted in the version bytes; we do not also accept the
 * negotiated version (OpenSSL's SSL_OP_TLS_ROLLBACK_BUG workaround).  RFC 5246 requires the check
 * against ClientHello.client_version for TLS 1.1+ clients, and we speak to nothing older.
 */
/* The check above over the k-byte block `em`, and the choice between its premaster and
 * `fallback` by a mask: `ok` is all ones when the block is there at all (public, or a mask
 * itself). */
static void premaster_select(const uint8_t *em, size_t k, uint32_t ok, uint16_t client_version,
                             const uint8_t fallback[PREMASTER_LEN], uint8_t out[PREMASTER_LEN])
{
    size_t m = k - PREMASTER_LEN; /* where the premaster starts */
    uint32_t good = ok;
    good &= ct_eq(em[0], 0x00) & ct_eq(em[1], 0x02);
    for (size_t i = 2; i < m - 1; i++)
        good &= ~ct_is_zero(em[i]);
    good &= ct_is_zero(em[m - 1]);
    good &= ct_eq(em[m], client_version >> 8) & ct_eq(em[m + 1], client_version & 0xff);

    uint8_t mask = (uint8_t)ct_barrier(good);
    for (size_t i = 0; i < PREMASTER_LEN; i++)
        out[i] = (uint8_t)((em[m + i] & mask) | (fallback[i] & (uint8_t)~mask));
}

int cry_rsa_decrypt_premaster(const cry_pkey *priv, const uint8_t *in, size_t in_len,
                              uint16_t client_version, uint8_t out[PREMASTER_LEN])
{
    static const uint8_t dummy[1];
    uint8_t fallback[PREMASTER_LEN], em[RSA_MAX_BYTES];
    EVP_PKEY_CTX *ctx;
    int size = priv == NULL ? 0 : EVP_PKEY_get_size(priv->pk);
    size_t k = size > 0 ? (size_t)size : 0, em_len = sizeof(em);
    int r = 0;

    /* Misuse (no private RSA key, or one outside what a config accepts) is an internal failure,
     * told apart before touching input. */
    if (priv == NULL || priv->type != CRY_KEY_RSA || !priv->is_private || k < 256 ||
        k > sizeof(em) || !cry_random(fallback, sizeof(fallback)))
        return 0;
    ctx = op_ctx(priv, SLOT_DECRYPT);
    if (ctx == NULL) {
        cry_clear_errors();
        OPENSSL_cleanse(fallback, sizeof(fallback));
        return 0;
    }
    memset(em, 0, sizeof(em));
    /* Public branch: the length of a ciphertext is visible on the wire. */
    if (in_len == k)
        r = EVP_PKEY_decrypt(ctx, em, &em_len, in != NULL ? in : dummy, in_len);
    if (r <= 0)
        cry_clear_errors(); /* public failure: a value >= n */

    /* The premaster when the decryption ran (public) and the block is well formed. */
    premaster_select(em, k, 0u - (uint32_t)((r == 1) & (em_len == k)), client_version, fallback,
                     out);
    OPENSSL_cleanse(em, sizeof(em));
    OPENSSL_cleanse(fallback, sizeof(fallback));
    EVP_PKEY_CTX_free(ctx);
    return 1;
}

/*
 * The same check on a block decrypted elsewhere: by the application's key method (handshake
 * keyop.c), which returns the raw RSA result.  Whatever it returned is judged by masks alone:
 * a length other than k counts as a bad block, never as an error of its own, because a callback
 * that, say, drops leading zero bytes would otherwise tell by the length whether the block
 * begins with 0x00 -- the first test of Bleichenbacher's oracle.
 */
int cry_rsa_premaster_from_block(const uint8_t *em, size_t em_len, size_t k,
                                 uint16_t client_version, uint8_t out[PREMASTER_LEN])
{
    uint8_t fallback[PREMASTER_LEN];
    if (k < 256 || k > RSA_MAX_BYTES || !cry_random(fallback, sizeof(fallback)))
        return 0;
    premaster_select(em, k, 0u - (uint32_t)(em_len == k), client_version, fallback, out);
    OPENSSL_cleanse(fallback, sizeof(fallback));
    return 1;
}

/* Public facts only: the ciphertext's length and value against the modulus. */
int cry_rsa_ciphertext_fits(const cry_pkey *pub, const uint8_t *in, size_t in_len)
{
    BIGNUM *n = NULL, *c = NULL;
    int fits = 0;
    if (pub == NULL || pub->type != CRY_KEY_RSA || in == NULL ||
        in_len != cry_pkey_max_sig_len(pub))
        return 0;
    if (EVP_PKEY_get_bn_param(pub->pk, OSSL_PKEY_PARAM_RSA_N, &n) &&
        (c = BN_bin2bn(in, (int)in_len, NULL)) != NULL)
        fits = BN_cmp(c, n) < 0;
    else
        cry_clear_errors();
    BN_free(c);
    BN_free(n);
    return fits;
}
