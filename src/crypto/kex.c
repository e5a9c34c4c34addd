/*
 * kex.c -- ephemeral ECDHE over X25519, secp256r1 and secp384r1.
 *
 * A cry_kex owns one freshly generated key pair and its public value in TLS encoding, computed
 * once at creation.  NIST keys are generated from the parameters-only template keys prepared by
 * cry_init() (which spares building the EC_GROUP from its name on every handshake: 15 us instead
 * of 25 us per P-256 keygen on OpenSSL 3.0.19).
 *
 * Peer validation, all before any secret is computed:
 *   - exact length: 32 bytes for X25519, 65 / 97 bytes starting 0x04 (uncompressed) for NIST,
 *     which also excludes the point at infinity (the one-byte 0x00 encoding);
 *   - on the curve: the peer key is made by copying our key's group and setting the encoded point
 *     (EVP_PKEY_set1_encoded_public_key), which in 3.0 decodes with EC_POINT_oct2point and fails
 *     for a point off the curve or a coordinate >= p (tested).  P-256 and P-384 have cofactor 1,
 *     so an on-curve point other than infinity is in the prime-order group, and the costly
 *     EVP_PKEY_public_check (38 us on P-256, 386 us on P-384, measured) adds nothing; hence
 *     EVP_PKEY_derive_set_peer_ex(..., validate_peer = 0).  This import path measured 4.6 us
 *     against 15.7 us for EVP_PKEY_fromdata with OSSL_PKEY_PARAM_GROUP_NAME + PUB_KEY, and
 *     rejects exactly the same points;
 *   - X25519: the all-zero shared secret (a small-order peer point) is rejected, RFC 7748 6.1.
 * On any failure the output buffer holds no part of a secret.
 */
#include "cry_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#define KEX_MAX_PUB 97
#define KEX_MAX_SECRET 48

struct cry_kex {
    EVP_PKEY *pk;
    uint16_t group;
    size_t pub_len;
    uint8_t pub[KEX_MAX_PUB];
};

/* Lengths of the TLS public value and of the shared secret; 0 for an unsupported group. */
static size_t group_pub_len(uint16_t group)
{
    switch (group) {
    case 23:
        return 65;
    case 24:
        return 97;
    case 29:
        return 32;
    }
    return 0;
}

static size_t group_secret_len(uint16_t group)
{
    switch (group) {
    case 23:
        return 32;
    case 24:
        return 48;
    case 29:
        return 32;
    }
    return 0;
}

int cry_group_supported(uint16_t group)
{
    return group_pub_len(group) != 0;
}

/* Stores the public value of k->pk in TLS encoding; 0 if it is not the group's length. */
static int set_public(cry_kex *k)
{
    return EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, k->pub,
                                           sizeof(k->pub), &k->pub_len) &&
           k->pub_len == group_pub_len(k->group);
}

cry_kex *cry_kex_new(uint16_t group)
{
    const struct cry_algs *a = cry_algs();
    EVP_PKEY_CTX *ctx = NULL;
    cry_kex *k;

    if (a == NULL || !cry_group_supported(group))
        return NULL;
    k = OPENSSL_zalloc(sizeof(*k));
    if (k == NULL)
        return NULL;
    k->group = group;
    if (group == 29)
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    else
        ctx = EVP_PKEY_CTX_new_from_pkey(
            NULL, a->ec_params[group == 23 ? CRY_EC_P256 : CRY_EC_P384], NULL);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &k->pk) <= 0 ||
        !set_public(k)) {
        cry_clear_errors();
        EVP_PKEY_CTX_free(ctx);
        cry_kex_free(k);
        return NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* A NIST key pair from its scalar: the public point is computed here, since importing a lone
 * private scalar leaves the public half empty in 3.0. */
static EVP_PKEY *ec_from_private(uint16_t group, const uint8_t *priv, size_t priv_len)
{
    int nid = group == 23 ? NID_X9_62_prime256v1 : NID_secp384r1;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *d = BN_bin2bn(priv, (int)priv_len, NULL);
    EC_POINT *q = g != NULL ? EC_POINT_new(g) : NULL;
    uint8_t pub[KEX_MAX_PUB];
    size_t pub_len = 0;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;

    if (q == NULL || d == NULL || BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0 ||
        !EC_POINT_mul(g, q, d, NULL, NULL, NULL))
        goto done;
    pub_len = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL);
    bld = OSSL_PARAM_BLD_new();
    if (pub_len != group_pub_len(group) || bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         group == 23 ? "P-256" : "P-384", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
        pk = NULL;

done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(q);
    EC_GROUP_free(g);
    BN_clear_free(d);
    return pk;
}

cry_kex *cry_kex_new_private(uint16_t group, const uint8_t *priv, size_t priv_len)
{
    cry_kex *k;
    if (cry_algs() == NULL || priv_len != group_secret_len(group))
        return NULL;
    k = OPENSSL_zalloc(sizeof(*k));
    if (k == NULL)
        return NULL;
    k->group = group;
    if (group == 29)
        k->pk = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, priv_len);
    else
        k->pk = ec_from_private(group, priv, priv_len);
    if (k->pk == NULL || !set_public(k)) {
        cry_clear_errors();
        cry_kex_free(k);
        return NULL;
    }
    return k;
}

int cry_kex_public(const cry_kex *k, uint8_t *out, size_t cap, size_t *out_len)
{
    if (cap < k->pub_len)
        return 0;
    memcpy(out, k->pub, k->pub_len);
    *out_len = k->pub_len;
    return 1;
}

int cry_kex_derive(cry_kex *k, const uint8_t *peer, size_t peer_len, uint8_t *out, size_t cap,
                   size_t *out_len)
{
    size_t want = group_secret_len(k->group);
    uint8_t secret[KEX_MAX_SECRET];
    size_t secret_len = sizeof(secret);
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    if (cap < want)
        return 0;
    /* RFC 8422 5.4 / RFC 7748 5: exactly the encoded length; NIST points uncompressed only. */
    if (peer_len != k->pub_len || (k->group != 29 && peer[0] != 0x04))
        goto done;
    pk = EVP_PKEY_new();
    if (pk == NULL || !EVP_PKEY_copy_parameters(pk, k->pk) ||
        !EVP_PKEY_set1_encoded_public_key(pk, peer, peer_len))
        goto done;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
        EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) <= 0 ||
        EVP_PKEY_derive(ctx, secret, &secret_len) <= 0 || secret_len != want)
        goto done;
    if (k->group == 29) {
        /* RFC 7748 6.1: "check whether the resulting K is the all-zero value and abort if so". */
        uint8_t acc = 0;
        for (size_t i = 0; i < secret_len; i++)
            acc |= secret[i];
        if (acc == 0)
            goto done;
    }
    memcpy(out, secret, want);
    *out_len = want;
    ok = 1;

done:
    if (!ok)
        cry_clear_errors();
    OPENSSL_cleanse(secret, sizeof(secret));
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

void cry_kex_free(cry_kex *k)
{
    if (k == NULL)
        return;
    /* EVP_PKEY_free clears the private scalar (the EC and ECX key managers use clear_free). */
    EVP_PKEY_free(k->pk);
    OPENSSL_cleanse(k, sizeof(*k));
    OPENSSL_free(k);
}
