/*
 * aead.c -- AES-GCM and ChaCha20-Poly1305 record protection.
 *
 * A cry_aead owns one EVP_CIPHER_CTX keyed once at cry_aead_new() with a cipher prefetched by
 * cry_init().  Each record only re-initializes the context with its 12-byte nonce
 * (EVP_CipherInit_ex2 with a NULL cipher and key keeps the key schedule), so the per-record path
 * fetches nothing and allocates nothing.  Seal and open work in place, or between buffers, in
 * two pieces when the record layer wants them: a TLS 1.3 record is sealed from the caller's
 * content and then its type and padding, and opened into the caller's buffer with what does not
 * fit there left in place (cry_aead_seal2 / cry_aead_open2).  The direction given at
 * creation is the one the record layer uses; both seal and open set their own direction per call,
 * which costs nothing and keeps a misuse from silently producing garbage.  A failed open wipes
 * the buffer so no unauthenticated plaintext is left behind.
 */
#include "cry_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>

struct cry_aead {
    EVP_CIPHER_CTX *ctx;
    cry_aead_alg alg;
};

size_t cry_aead_key_len(cry_aead_alg alg)
{
    switch (alg) {
    case CRY_AES_128_GCM:
        return 16;
    case CRY_AES_256_GCM:
    case CRY_CHACHA20_POLY1305:
        return 32;
    }
    return 0;
}

cry_aead *cry_aead_new(cry_aead_alg alg, const uint8_t *key, int encrypt)
{
    const struct cry_algs *a = cry_algs();
    if (a == NULL || cry_aead_key_len(alg) == 0)
        return NULL;
    cry_aead *ae = OPENSSL_zalloc(sizeof(*ae));
    if (ae == NULL)
        return NULL;
    ae->alg = alg;
    ae->ctx = EVP_CIPHER_CTX_new();
    if (ae->ctx == NULL ||
        !EVP_CipherInit_ex2(ae->ctx, a->aead[alg], key, NULL, encrypt ? 1 : 0, NULL)) {
        cry_clear_errors();
        cry_aead_free(ae);
        return NULL;
    }
    return ae;
}

/* Starts a record: nonce, direction and additional data. */
static int start(cry_aead *ae, const uint8_t *nonce, int enc, const uint8_t *aad, size_t aad_len)
{
    int outl;
    if (!EVP_CipherInit_ex2(ae->ctx, NULL, NULL, nonce, enc, NULL))
        return 0;
    return aad_len == 0 || EVP_CipherUpdate(ae->ctx, NULL, &outl, aad, (int)aad_len);
}

int cry_aead_seal(cry_aead *ae, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                  size_t aad_len, uint8_t *buf, size_t len, uint8_t tag[CRY_AEAD_TAG_LEN])
{
    return cry_aead_seal_from(ae, nonce, aad, aad_len, buf, buf, len, tag);
}

int cry_aead_seal_from(cry_aead *ae, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
                       uint8_t tag[CRY_AEAD_TAG_LEN])
{
    return cry_aead_seal2(ae, nonce, aad, aad_len, in, len, NULL, 0, out, tag);
}

/* One more piece of a record: n bytes from in to out (n fits an int: checked by the callers). */
static int update(cry_aead *ae, const uint8_t *in, uint8_t *out, size_t n)
{
    int outl;
    return n == 0 || (EVP_CipherUpdate(ae->ctx, out, &outl, in, (int)n) && (size_t)outl == n);
}

int cry_aead_seal2(cry_aead *ae, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                   uint8_t *out, uint8_t tag[CRY_AEAD_TAG_LEN])
{
    int outl;
    uint8_t spare[32]; /* AEAD finals write nothing; never point past the caller's buffer */
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, CRY_AEAD_TAG_LEN),
        OSSL_PARAM_construct_end(),
    };
    if (aad_len > INT_MAX || a_len > INT_MAX || b_len > INT_MAX - a_len)
        return 0;
    /* Both providers stream: a piece that ends inside a block is carried over to the next. */
    if (!start(ae, nonce, 1, aad, aad_len) || !update(ae, a, out, a_len) ||
        !update(ae, b, out + a_len, b_len) || !EVP_CipherFinal_ex(ae->ctx, spare, &outl) ||
        outl != 0 || !EVP_CIPHER_CTX_get_params(ae->ctx, params)) {
        cry_clear_errors();
        return 0;
    }
    return 1;
}

int cry_aead_open(cry_aead *ae, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                  size_t aad_len, uint8_t *buf, size_t len, const uint8_t tag[CRY_AEAD_TAG_LEN])
{
    return cry_aead_open2(ae, nonce, aad, aad_len, buf, len, buf, len, NULL, tag);
}

int cry_aead_open2(cry_aead *ae, const uint8_t nonce[CRY_AEAD_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, uint8_t *out1, size_t n1,
                   uint8_t *out2, const uint8_t tag[CRY_AEAD_TAG_LEN])
{
    int outl;
    uint8_t spare[32];
    uint8_t t[CRY_AEAD_TAG_LEN]; /* OSSL_PARAM wants a mutable pointer */
    memcpy(t, tag, sizeof(t));
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, t, sizeof(t)),
        OSSL_PARAM_construct_end(),
    };
    if (aad_len > INT_MAX || len > INT_MAX || n1 > len)
        return 0;
    /* The final call compares the tag in constant time (CRYPTO_memcmp in both providers).  The
     * plaintext is written before the tag is checked: on failure both outputs are wiped, so
     * nothing unauthenticated is left behind. */
    if (!start(ae, nonce, 0, aad, aad_len) || !EVP_CIPHER_CTX_set_params(ae->ctx, params) ||
        !update(ae, in, out1, n1) || !update(ae, in + n1, out2, len - n1) ||
        !EVP_CipherFinal_ex(ae->ctx, spare, &outl) || outl != 0) {
        cry_clear_errors();
        if (n1 > 0)
            OPENSSL_cleanse(out1, n1);
        if (len > n1)
            OPENSSL_cleanse(out2, len - n1);
        return 0;
    }
    return 1;
}

void cry_aead_free(cry_aead *ae)
{
    if (ae == NULL)
        return;
    /* The providers free their key schedules with OPENSSL_clear_free. */
    EVP_CIPHER_CTX_free(ae->ctx);
    OPENSSL_free(ae);
}
