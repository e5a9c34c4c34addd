/*
 * keyload.c -- private keys from PEM, encrypted or not, decoded by us and imported without
 * leaving copies behind.
 *
 * Why not libcrypto's decoders: OpenSSL 3.0's PEM_read_bio_PrivateKey_ex and d2i_AutoPrivateKey_ex
 * (OSSL_DECODER) free some 17 blocks per key that hold the key's secret numbers without cleansing
 * them (finding F5 in fuzz/FINDINGS.md), so without wiping memory functions the key stayed in freed
 * heap memory.  Here every byte of a key passes only through buffers we wipe: the PEM body is
 * base64-decoded into our buffer, the DER (PKCS#8 PrivateKeyInfo, RFC 5208 / RFC 5958; PKCS#1
 * RSAPrivateKey, RFC 8017 A.1.2; SEC1 ECPrivateKey, RFC 5915) is read with the small DER reader
 * below, and the numbers go into BIGNUMs made with BN_secure_new (freed with BN_clear_free) and
 * from there to EVP_PKEY_fromdata, whose key managers clear what they free.
 * tests/hostile/test_secrets.c checks every block freed in the process for the keys.
 *
 * Encrypted keys are decrypted here as well, into buffers we wipe:
 *   - "ENCRYPTED PRIVATE KEY" (PKCS#8 EncryptedPrivateKeyInfo, RFC 5208 6) with PBES2 (RFC 8018
 *     6.2): PBKDF2 with HMAC-SHA1/224/256/384/512, or scrypt (RFC 7914 7), and AES-128/192/256-CBC
 *     or DES-EDE3-CBC -- what `openssl pkcs8 -topk8`, `openssl genpkey -aes256` and PKCS#12 tools
 *     write.  Older PKCS#5 v1.5 / PKCS#12 PBE schemes go through libcrypto's PKCS8_decrypt_ex,
 *     which cleanses its decrypted buffer (the copies it may leave are not checked by the tests);
 *   - legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED" and "DEK-Info: AES-256-CBC,<iv>"
 *     headers in an RSA or EC PRIVATE KEY block): key = EVP_BytesToKey(MD5, salt = the first 8
 *     bytes of the IV, one iteration), AES-CBC or DES-EDE3-CBC.
 * A wrong passphrase is detected by the CBC padding or, when the padding happens to look right
 * (about 1 in 256), by the DER that follows: both are reported as "wrong passphrase or corrupt
 * key", since the two cannot be told apart.  The passphrase is asked for only when the key is
 * encrypted, once, into a buffer of ours that is wiped after use.
 *
 * PKCS#12 bundles (cry_pkcs12_load) are read with libcrypto's PKCS12 structures -- the MAC, the
 * safe contents, the certificates, which are not secret -- but a shrouded key bag is decrypted by
 * the PKCS#8 code above.
 */
#include "cry_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "../codec/codec.h"

#define MAX_KEY_DER (64u * 1024u) /* far above an RSA-4096 key (~2.4 KB) */
#define MAX_RSA_BYTES 2048u       /* 16384-bit modulus: refused later, but decoded sanely */
#define MAX_PBKDF2_ITER 10000000u /* a few seconds; more is a file made to stall us */
#define SCRYPT_MAX_MEM (256u << 20)

static void say(cry_load *ld, cry_load_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(cry_load *ld, cry_load_status st, const char *fmt, ...)
{
    ld->status = st;
    if (fmt == NULL) {
        ld->why[0] = 0;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->why, sizeof(ld->why), fmt, ap);
    va_end(ap);
}

/* Buffers that may hold key material: allocated here, always wiped before they are freed. */
static uint8_t *secret_alloc(size_t n)
{
    return OPENSSL_zalloc(n ? n : 1);
}

static void secret_free(uint8_t *p, size_t n)
{
    if (p != NULL)
        OPENSSL_clear_free(p, n ? n : 1);
}

/* ---- DER (X.690), strict: definite minimal lengths, one TLV at a time -------------------------
 */

enum {
    T_INTEGER = 0x02,
    T_BIT_STRING = 0x03,
    T_OCTET_STRING = 0x04,
    T_NULL = 0x05,
    T_OID = 0x06,
    T_SEQUENCE = 0x30,
    T_CTX0 = 0xa0,
    T_CTX1 = 0xa1,
};

static bool der_any(rd *r, uint8_t *tag, rd *body)
{
    uint8_t t, l0;
    size_t len = 0;
    rd save = *r;
    if (!rd_u8(r, &t) || (t & 0x1f) == 0x1f || !rd_u8(r, &l0))
        goto fail;
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t n = l0 & 0x7fu;
        if (n == 0 || n > 3) /* indefinite, or over 16 MB */
            goto fail;
        for (size_t i = 0; i < n; i++) {
            uint8_t b;
            if (!rd_u8(r, &b) || (i == 0 && b == 0))
                goto fail;
            len = len << 8 | b;
        }
        if (len < 0x80)
            goto fail; /* not minimal */
    }
    const uint8_t *p;
    if (!rd_bytes(r, &p, len))
        goto fail;
    *tag = t;
    *body = rd_init(p, len);
    return true;
fail:
    *r = save;
    return false;
}

static bool der_expect(rd *r, uint8_t tag, rd *body)
{
    uint8_t t;
    rd save = *r;
    if (!der_any(r, &t, body))
        return false;
    if (t != tag) {
        *r = save;
        return false;
    }
    return true;
}

static bool der_peek(const rd *r, uint8_t tag)
{
    return r->n > 0 && r->p[0] == tag;
}

/* A non-negative INTEGER's magnitude (no leading zero byte, at least one byte). */
static bool der_uint(rd *r, rd *mag)
{
    rd v;
    if (!der_expect(r, T_INTEGER, &v) || v.n == 0 || (v.p[0] & 0x80))
        return false;
    if (v.n > 1 && v.p[0] == 0 && !(v.p[1] & 0x80))
        return false; /* not minimal */
    if (v.n > 1 && v.p[0] == 0) {
        v.p++;
        v.n--;
    }
    *mag = v;
    return true;
}

/* A small non-negative INTEGER. */
static bool der_small(rd *r, uint64_t max, uint64_t *out)
{
    rd m;
    uint64_t v = 0;
    if (!der_uint(r, &m) || m.n > 8)
        return false;
    for (size_t i = 0; i < m.n; i++)
        v = v << 8 | m.p[i];
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool oid_is(const rd *oid, const uint8_t *want, size_t len)
{
    return oid->n == len && memcmp(oid->p, want, len) == 0;
}

static const uint8_t OID_RSA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t OID_EC[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t OID_P256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t OID_P384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t OID_P521[] = {0x2b, 0x81, 0x04, 0x00, 0x23};
static const uint8_t OID_PBES2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d};
static const uint8_t OID_PBKDF2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c};
static const uint8_t OID_SCRYPT[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b};
/* hmacWithSHA1 .. hmacWithSHA512: 1.2.840.113549.2.{7,8,9,10,11} */
static const uint8_t OID_HMAC_PREFIX[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02};
/* aes{128,192,256}-CBC: 2.16.840.1.101.3.4.1.{2,22,42}; des-ede3-cbc: 1.2.840.113549.3.7 */
static const uint8_t OID_AES_PREFIX[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};
static const uint8_t OID_DES3[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07};

/* ---- importing the numbers ------------------------------------------------------------------ */

static BIGNUM *secure_bn(const rd *mag)
{
    BIGNUM *bn = BN_secure_new();
    if (bn != NULL && BN_bin2bn(mag->p, (int)mag->n, bn) == NULL) {
        BN_clear_free(bn);
        bn = NULL;
    }
    return bn;
}

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    EVP_PKEY *pk = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* the private numbers sit in its secure part, which it clears */
    return pk;
}

/* The numbers of an RSA key agree (n = pq, d inverts e modulo p-1 and q-1, the CRT values are
 * d mod p-1, d mod q-1 and q^-1 mod p), so that a corrupt key -- or a decryption with a wrong
 * passphrase that happened to give valid DER -- is refused here rather than making bad
 * signatures later (the key-certificate match compares n and e only).  All temporaries are
 * secure BIGNUMs, cleared when the context is freed. */
static bool rsa_consistent(BIGNUM *const bn[8])
{
    const BIGNUM *n = bn[0], *e = bn[1], *d = bn[2], *p = bn[3], *q = bn[4], *dp = bn[5],
                 *dq = bn[6], *qinv = bn[7];
    BN_CTX *ctx = BN_CTX_secure_new();
    bool ok = false;
    if (ctx == NULL)
        return false;
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx), *pm1 = BN_CTX_get(ctx), *qm1 = BN_CTX_get(ctx);
    ok = qm1 != NULL && BN_cmp(p, BN_value_one()) > 0 && BN_cmp(q, BN_value_one()) > 0 &&
         BN_mul(t, p, q, ctx) && BN_cmp(t, n) == 0 && BN_sub(pm1, p, BN_value_one()) &&
         BN_sub(qm1, q, BN_value_one()) && BN_mod_mul(t, d, e, pm1, ctx) && BN_is_one(t) &&
         BN_mod_mul(t, d, e, qm1, ctx) && BN_is_one(t) && BN_mod(t, d, pm1, ctx) &&
         BN_cmp(t, dp) == 0 && BN_mod(t, d, qm1, ctx) && BN_cmp(t, dq) == 0 &&
         BN_mod_mul(t, qinv, q, p, ctx) && BN_is_one(t);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    cry_clear_errors();
    return ok;
}

/* RSAPrivateKey ::= SEQUENCE { version Version, modulus INTEGER, publicExponent INTEGER,
 *     privateExponent INTEGER, prime1 INTEGER, prime2 INTEGER, exponent1 INTEGER,
 *     exponent2 INTEGER, coefficient INTEGER, otherPrimeInfos OtherPrimeInfos OPTIONAL }
 * (RFC 8017 A.1.2; version 1 means multi-prime, which mtls does not take.) */
static EVP_PKEY *rsa_import(const uint8_t *der, size_t len, cry_load *ld)
{
    static const char *const names[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
    };
    rd r = rd_init(der, len), seq, num[8];
    uint64_t version;
    BIGNUM *bn[8] = {0};
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pk = NULL;

    if (!der_expect(&r, T_SEQUENCE, &seq) || !rd_done(&r) || !der_small(&seq, 1, &version)) {
        say(ld, CRY_LOAD_MALFORMED, "the RSA key is not a valid RSAPrivateKey (PKCS#1)");
        return NULL;
    }
    if (version != 0) {
        say(ld, CRY_LOAD_UNSUPPORTED, "the RSA key has more than two primes (multi-prime RSA)");
        return NULL;
    }
    for (int i = 0; i < 8; i++) {
        if (!der_uint(&seq, &num[i]) || num[i].n > MAX_RSA_BYTES) {
            say(ld, CRY_LOAD_MALFORMED, "the RSA key is not a valid RSAPrivateKey (PKCS#1)");
            return NULL;
        }
    }
    if (!rd_done(&seq)) {
        say(ld, CRY_LOAD_MALFORMED, "the RSA key is not a valid RSAPrivateKey (PKCS#1)");
        return NULL;
    }
    say(ld, CRY_LOAD_ERROR, "the RSA key could not be imported (out of memory?)");
    bld = OSSL_PARAM_BLD_new();
    for (int i = 0; bld != NULL && i < 8; i++) {
        /* BN_FLG_SECURE makes OSSL_PARAM_BLD_to_param put the numbers in memory it clears. */
        if ((bn[i] = secure_bn(&num[i])) == NULL || !OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
            goto done;
    }
    if (!rsa_consistent(bn)) {
        say(ld, CRY_LOAD_MALFORMED, "the RSA key's numbers do not agree (a corrupt key)");
        goto done;
    }
    if (bld != NULL && (pk = fromdata("RSA", bld)) != NULL)
        say(ld, CRY_LOAD_OK, NULL);
done:
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++)
        BN_clear_free(bn[i]);
    return pk;
}

/* ECPrivateKey ::= SEQUENCE { version INTEGER { ecPrivkeyVer1(1) }, privateKey OCTET STRING,
 *     parameters [0] ECParameters {{ NamedCurve }} OPTIONAL, publicKey [1] BIT STRING OPTIONAL }
 * (RFC 5915 3).  `curve` is the namedCurve of a PKCS#8 AlgorithmIdentifier, or NULL for a SEC1
 * file, whose own parameters must then name it.  The public key is computed from the scalar
 * (and must equal the one stored, when one is). */
static EVP_PKEY *ec_import(const uint8_t *der, size_t len, const rd *curve, cry_load *ld)
{
    rd r = rd_init(der, len), seq, priv, params, oid, pubw, pub = {0};
    uint64_t version;
    const char *group_name;
    int nid;
    size_t field;
    EC_GROUP *group = NULL;
    EC_POINT *point = NULL;
    BIGNUM *d = NULL;
    BN_CTX *bnctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pk = NULL;
    uint8_t pt[1 + 2 * 66];

    if (!der_expect(&r, T_SEQUENCE, &seq) || !rd_done(&r) || !der_small(&seq, 1, &version) ||
        version != 1 || !der_expect(&seq, T_OCTET_STRING, &priv))
        goto malformed;
    if (der_peek(&seq, T_CTX0)) {
        if (!der_expect(&seq, T_CTX0, &params) || !der_expect(&params, T_OID, &oid) ||
            !rd_done(&params))
            goto malformed;
        if (curve != NULL && !(oid.n == curve->n && memcmp(oid.p, curve->p, oid.n) == 0))
            goto malformed; /* two different curves named */
        curve = &oid;
    }
    if (der_peek(&seq, T_CTX1)) {
        if (!der_expect(&seq, T_CTX1, &pubw) || !der_expect(&pubw, T_BIT_STRING, &pub) ||
            !rd_done(&pubw) || pub.n < 2 || pub.p[0] != 0)
            goto malformed;
        pub.p++;
        pub.n--;
    }
    if (!rd_done(&seq) || curve == NULL)
        goto malformed;
    /* P-521 is decoded too (its keys verify P-521 signatures in tests); the config refuses it. */
    if (oid_is(curve, OID_P256, sizeof OID_P256)) {
        group_name = "P-256", nid = NID_X9_62_prime256v1, field = 32;
    } else if (oid_is(curve, OID_P384, sizeof OID_P384)) {
        group_name = "P-384", nid = NID_secp384r1, field = 48;
    } else if (oid_is(curve, OID_P521, sizeof OID_P521)) {
        group_name = "P-521", nid = NID_secp521r1, field = 66;
    } else {
        say(ld, CRY_LOAD_UNSUPPORTED, "the EC key is on a curve other than P-256 and P-384");
        return NULL;
    }
    if (priv.n == 0 || priv.n > field || (pub.n != 0 && pub.n != 1 + 2 * field))
        goto malformed;

    say(ld, CRY_LOAD_ERROR, "the EC key could not be imported (out of memory?)");
    group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, nid);
    point = group ? EC_POINT_new(group) : NULL;
    bnctx = BN_CTX_secure_new();
    d = secure_bn(&priv);
    if (group == NULL || point == NULL || bnctx == NULL || d == NULL)
        goto done;
    /* RFC 5915 3: privateKey is the integer d, 1 <= d < n. */
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
        say(ld, CRY_LOAD_MALFORMED, "the EC key's private scalar is out of range");
        goto done;
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (!EC_POINT_mul(group, point, d, NULL, NULL, bnctx) ||
        EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof pt, bnctx) !=
            1 + 2 * field)
        goto done;
    if (pub.n != 0 && memcmp(pub.p, pt, pub.n) != 0) {
        say(ld, CRY_LOAD_MALFORMED, "the EC key's public key does not belong to its private key");
        goto done;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * field))
        goto done;
    if ((pk = fromdata("EC", bld)) != NULL)
        say(ld, CRY_LOAD_OK, NULL);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    BN_CTX_free(bnctx);
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return pk;
malformed:
    say(ld, CRY_LOAD_MALFORMED, "the EC key is not a valid ECPrivateKey (SEC1)");
    return NULL;
}

/* PrivateKeyInfo / OneAsymmetricKey ::= SEQUENCE { version INTEGER (v1(0) | v2(1)),
 *     privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING,
 *     attributes [0] IMPLICIT Attributes OPTIONAL, ..., publicKey [1] IMPLICIT BIT STRING OPTIONAL
 * } (RFC 5208 5, RFC 5958 2). */
static EVP_PKEY *pkcs8_import(const uint8_t *der, size_t len, cry_load *ld)
{
    rd r = rd_init(der, len), seq, alg, oid, key, skip;
    uint64_t version;
    uint8_t tag;
    if (!der_expect(&r, T_SEQUENCE, &seq) || !rd_done(&r) || !der_small(&seq, 1, &version) ||
        !der_expect(&seq, T_SEQUENCE, &alg) || !der_expect(&alg, T_OID, &oid) ||
        !der_expect(&seq, T_OCTET_STRING, &key)) {
        say(ld, CRY_LOAD_MALFORMED, "the key is not a valid PKCS#8 PrivateKeyInfo");
        return NULL;
    }
    while (seq.n) { /* attributes, publicKey: not needed */
        if (!der_any(&seq, &tag, &skip) || (tag != T_CTX0 && tag != 0x81 && tag != T_CTX1)) {
            say(ld, CRY_LOAD_MALFORMED, "the key is not a valid PKCS#8 PrivateKeyInfo");
            return NULL;
        }
    }
    if (oid_is(&oid, OID_RSA, sizeof OID_RSA)) {
        rd null;
        /* RFC 8017 A.1: the parameters of rsaEncryption "shall be NULL" (some omit them). */
        if (alg.n && (!der_expect(&alg, T_NULL, &null) || null.n || !rd_done(&alg))) {
            say(ld, CRY_LOAD_MALFORMED, "the key is not a valid PKCS#8 PrivateKeyInfo");
            return NULL;
        }
        return rsa_import(key.p, key.n, ld);
    }
    if (oid_is(&oid, OID_EC, sizeof OID_EC)) {
        rd curve;
        if (!der_expect(&alg, T_OID, &curve) || !rd_done(&alg)) {
            say(ld, CRY_LOAD_UNSUPPORTED,
                "the EC key does not name its curve (explicit "
                "parameters are not supported)");
            return NULL;
        }
        return ec_import(key.p, key.n, &curve, ld);
    }
    say(ld, CRY_LOAD_UNSUPPORTED, "the key is neither RSA nor EC");
    return NULL;
}

/* ---- decryption ----------------------------------------------------------------------------- */

/* CBC decryption with PKCS#7 padding into a buffer we own (*out, wiped and freed by the caller
 * with secret_free(*out, *cap)).  0 with *out NULL when the padding is wrong. */
static int cbc_decrypt(const char *cipher_name, const uint8_t *key, const uint8_t *iv,
                       const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
                       size_t *cap)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher_name, NULL);
    EVP_CIPHER_CTX *ctx = c ? EVP_CIPHER_CTX_new() : NULL;
    int n1 = 0, n2 = 0, ok = 0;
    *out = NULL;
    *cap = in_len + 32;
    uint8_t *buf = ctx && in_len <= MAX_KEY_DER ? secret_alloc(*cap) : NULL;
    if (buf != NULL && EVP_DecryptInit_ex2(ctx, c, key, iv, NULL) &&
        EVP_DecryptUpdate(ctx, buf, &n1, in, (int)in_len) &&
        EVP_DecryptFinal_ex(ctx, buf + n1, &n2)) {
        *out = buf;
        *out_len = (size_t)n1 + (size_t)n2;
        ok = 1;
    } else {
        secret_free(buf, *cap);
    }
    cry_clear_errors();
    EVP_CIPHER_CTX_free(ctx); /* the provider's context is freed with OPENSSL_clear_free */
    EVP_CIPHER_free(c);
    return ok;
}

/* The passphrase, once per load, into `buf` (cap bytes). -1 when none can be had; ld says why. */
static long get_pass(cry_load *ld, char *buf, size_t cap)
{
    int n = ld->pass ? ld->pass(ld->pass_arg, buf, cap) : CRY_PASS_NONE;
    if (n == CRY_PASS_NONE) {
        say(ld, CRY_LOAD_NO_PASSPHRASE, NULL);
        return -1;
    }
    if (n < 0 || (size_t)n > cap) {
        say(ld, CRY_LOAD_PASSPHRASE_FAILED, NULL);
        return -1;
    }
    return n;
}

struct pbes2 {
    const char *cipher;
    size_t key_len, iv_len;
    const uint8_t *iv;
    /* PBKDF2 or scrypt */
    bool scrypt;
    rd salt;
    uint64_t iter, N, r, p;
    const char *prf;
};

/* PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme
 * AlgorithmIdentifier } (RFC 8018 A.4). */
static bool pbes2_params(rd params, struct pbes2 *s, cry_load *ld)
{
    rd seq, kdf, kdf_oid, kp, enc, enc_oid, iv;
    memset(s, 0, sizeof *s);
    if (!der_expect(&params, T_SEQUENCE, &seq) || !rd_done(&params) ||
        !der_expect(&seq, T_SEQUENCE, &kdf) || !der_expect(&kdf, T_OID, &kdf_oid) ||
        !der_expect(&kdf, T_SEQUENCE, &kp) || !rd_done(&kdf) ||
        !der_expect(&seq, T_SEQUENCE, &enc) || !der_expect(&enc, T_OID, &enc_oid) || !rd_done(&seq))
        goto malformed;

    /* encryptionScheme: the CBC ciphers, parameters the IV */
    if (enc_oid.n == sizeof OID_AES_PREFIX + 1 &&
        memcmp(enc_oid.p, OID_AES_PREFIX, sizeof OID_AES_PREFIX) == 0) {
        uint8_t last = enc_oid.p[sizeof OID_AES_PREFIX];
        s->cipher = last == 2    ? "AES-128-CBC"
                    : last == 22 ? "AES-192-CBC"
                    : last == 42 ? "AES-256-CBC"
                                 : NULL;
        s->key_len = last == 2 ? 16 : last == 22 ? 24 : 32;
        s->iv_len = 16;
    } else if (oid_is(&enc_oid, OID_DES3, sizeof OID_DES3)) {
        s->cipher = "DES-EDE3-CBC";
        s->key_len = 24;
        s->iv_len = 8;
    }
    if (s->cipher == NULL) {
        say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
            "PBES2 with a cipher other than AES-CBC and "
            "DES-EDE3-CBC");
        return false;
    }
    if (!der_expect(&enc, T_OCTET_STRING, &iv) || !rd_done(&enc) || iv.n != s->iv_len)
        goto malformed;
    s->iv = iv.p;

    uint64_t key_len = 0;
    if (oid_is(&kdf_oid, OID_PBKDF2, sizeof OID_PBKDF2)) {
        /* PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, ... },
         *     iterationCount INTEGER (1..MAX), keyLength INTEGER (1..MAX) OPTIONAL,
         *     prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 } (RFC 8018 A.2) */
        s->prf = "SHA1";
        if (!der_expect(&kp, T_OCTET_STRING, &s->salt) || !der_small(&kp, UINT32_MAX, &s->iter) ||
            s->iter == 0)
            goto malformed;
        if (der_peek(&kp, T_INTEGER) && !der_small(&kp, 64, &key_len))
            goto malformed;
        if (der_peek(&kp, T_SEQUENCE)) {
            rd prf, prf_oid, null;
            if (!der_expect(&kp, T_SEQUENCE, &prf) || !der_expect(&prf, T_OID, &prf_oid) ||
                (prf.n && (!der_expect(&prf, T_NULL, &null) || null.n || !rd_done(&prf))))
                goto malformed;
            static const char *const prfs[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
            uint8_t last = prf_oid.n == sizeof OID_HMAC_PREFIX + 1 ? prf_oid.p[prf_oid.n - 1] : 0;
            if (memcmp(prf_oid.p, OID_HMAC_PREFIX,
                       prf_oid.n < sizeof OID_HMAC_PREFIX ? prf_oid.n : sizeof OID_HMAC_PREFIX) !=
                    0 ||
                last < 7 || last > 11) {
                say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
                    "PBKDF2 with a PRF other than "
                    "HMAC-SHA1/SHA-2");
                return false;
            }
            s->prf = prfs[last - 7];
        }
        if (!rd_done(&kp))
            goto malformed;
        if (s->iter > MAX_PBKDF2_ITER) {
            say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
                "PBKDF2 with %llu iterations (mtls stops at "
                "%u)",
                (unsigned long long)s->iter, MAX_PBKDF2_ITER);
            return false;
        }
    } else if (oid_is(&kdf_oid, OID_SCRYPT, sizeof OID_SCRYPT)) {
        /* scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter INTEGER (1..MAX),
         *     blockSize INTEGER (1..MAX), parallelizationParameter INTEGER (1..MAX),
         *     keyLength INTEGER (1..MAX) OPTIONAL } (RFC 7914 7.1) */
        s->scrypt = true;
        if (!der_expect(&kp, T_OCTET_STRING, &s->salt) || !der_small(&kp, UINT32_MAX, &s->N) ||
            !der_small(&kp, UINT32_MAX, &s->r) || !der_small(&kp, UINT32_MAX, &s->p) || s->N < 2 ||
            s->r == 0 || s->p == 0)
            goto malformed;
        if (der_peek(&kp, T_INTEGER) && !der_small(&kp, 64, &key_len))
            goto malformed;
        if (!rd_done(&kp))
            goto malformed;
    } else {
        say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
            "PBES2 with a key derivation other than PBKDF2 "
            "and scrypt");
        return false;
    }
    if (key_len && key_len != s->key_len)
        goto malformed;
    return true;
malformed:
    say(ld, CRY_LOAD_MALFORMED, "the encrypted key's PBES2 parameters are malformed");
    return false;
}

/* The plaintext PKCS#8 of an EncryptedPrivateKeyInfo encrypted with PBES2, or through libcrypto
 * for the older schemes.  On success *out (secret_free(*out, *cap)) holds the DER. */
static int pkcs8_decrypt(const uint8_t *der, size_t len, const char *pass, size_t pass_len,
                         uint8_t **out, size_t *out_len, size_t *cap, cry_load *ld)
{
    rd r = rd_init(der, len), seq, alg, oid, data;
    *out = NULL;
    /* EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm EncryptionAlgorithmIdentifier,
     *     encryptedData EncryptedData (OCTET STRING) } (RFC 5208 6) */
    if (!der_expect(&r, T_SEQUENCE, &seq) || !rd_done(&r) || !der_expect(&seq, T_SEQUENCE, &alg) ||
        !der_expect(&alg, T_OID, &oid) || !der_expect(&seq, T_OCTET_STRING, &data) ||
        !rd_done(&seq)) {
        say(ld, CRY_LOAD_MALFORMED,
            "the encrypted key is not a valid PKCS#8 "
            "EncryptedPrivateKeyInfo");
        return 0;
    }
    if (!oid_is(&oid, OID_PBES2, sizeof OID_PBES2)) {
        /* PKCS#5 v1.5 and PKCS#12 PBEs (pbeWithSHAAnd3-KeyTripleDES-CBC from `-legacy` tools):
         * libcrypto decrypts into a buffer it cleanses; we take the DER from its structure. */
        const uint8_t *p = der;
        X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
        PKCS8_PRIV_KEY_INFO *p8 =
            sig ? PKCS8_decrypt_ex(sig, pass, (int)pass_len, NULL, NULL) : NULL;
        unsigned char *plain = NULL;
        int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &plain) : -1;
        X509_SIG_free(sig);
        PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key octets (pkey_cb in p8_pkey.c) */
        cry_clear_errors();
        if (n <= 0) {
            if (sig == NULL)
                say(ld, CRY_LOAD_MALFORMED,
                    "the encrypted key is not a valid PKCS#8 "
                    "EncryptedPrivateKeyInfo");
            else
                say(ld, CRY_LOAD_WRONG_PASSPHRASE, NULL);
            return 0;
        }
        *out = plain;
        *out_len = *cap = (size_t)n;
        return 1;
    }
    struct pbes2 s;
    if (!pbes2_params(alg, &s, ld))
        return 0;
    uint8_t key[32];
    int ok;
    if (s.scrypt) {
        ok = EVP_PBE_scrypt(pass, pass_len, s.salt.p, s.salt.n, s.N, s.r, s.p, SCRYPT_MAX_MEM, key,
                            s.key_len);
        if (!ok) {
            cry_clear_errors();
            say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
                "scrypt with N=%llu r=%llu p=%llu needs more "
                "memory than mtls allows (%u MiB)",
                (unsigned long long)s.N, (unsigned long long)s.r, (unsigned long long)s.p,
                SCRYPT_MAX_MEM >> 20);
            return 0;
        }
    } else {
        EVP_MD *md = EVP_MD_fetch(NULL, s.prf, NULL);
        ok = md && PKCS5_PBKDF2_HMAC(pass, (int)pass_len, s.salt.p, (int)s.salt.n, (int)s.iter, md,
                                     (int)s.key_len, key);
        EVP_MD_free(md);
        if (!ok) {
            cry_clear_errors();
            say(ld, CRY_LOAD_ERROR, "PBKDF2 failed inside libcrypto");
            OPENSSL_cleanse(key, sizeof key);
            return 0;
        }
    }
    ok = cbc_decrypt(s.cipher, key, s.iv, data.p, data.n, out, out_len, cap);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok)
        say(ld, CRY_LOAD_WRONG_PASSPHRASE, NULL);
    return ok;
}

/* ---- PEM ------------------------------------------------------------------------------------ */

static int b64(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Base64 with whitespace skipped and strict padding, into *out (secret_free(*out, *cap)). */
static bool b64_decode(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len, size_t *cap)
{
    size_t len = 0, chars = 0, pad = 0;
    uint32_t acc = 0;
    int last = 0;
    *cap = n / 4 * 3 + 3;
    uint8_t *buf = secret_alloc(*cap);
    if (buf == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (++pad > 2)
                goto fail;
            chars++;
            continue;
        }
        int v = b64(c);
        if (v < 0 || pad)
            goto fail;
        last = v;
        acc = acc << 6 | (uint32_t)v;
        if (++chars % 4 == 0) {
            buf[len++] = (uint8_t)(acc >> 16);
            buf[len++] = (uint8_t)(acc >> 8);
            buf[len++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (chars % 4 != 0 || (pad == 1 && (last & 3)) || (pad == 2 && (last & 15)))
        goto fail;
    if (pad == 1) {
        acc <<= 6;
        buf[len++] = (uint8_t)(acc >> 16);
        buf[len++] = (uint8_t)(acc >> 8);
    } else if (pad == 2) {
        acc <<= 12;
        buf[len++] = (uint8_t)(acc >> 16);
    }
    acc = 0;
    *out = buf;
    *out_len = len;
    return true;
fail:
    acc = 0;
    secret_free(buf, *cap);
    return false;
}

enum pem_kind { PEM_PKCS8, PEM_RSA, PEM_EC, PEM_ENCRYPTED_PKCS8, PEM_OTHER_KEY };

static const struct {
    const char *label;
    enum pem_kind kind;
} pem_labels[] = {
    {"PRIVATE KEY", PEM_PKCS8},         {"RSA PRIVATE KEY", PEM_RSA},
    {"EC PRIVATE KEY", PEM_EC},         {"ENCRYPTED PRIVATE KEY", PEM_ENCRYPTED_PKCS8},
    {"DSA PRIVATE KEY", PEM_OTHER_KEY},
};

struct pem_block {
    enum pem_kind kind;
    const uint8_t *headers, *body; /* headers: NULL, or the RFC 1421 header lines */
    size_t headers_len, body_len;
};

static const uint8_t *memfind(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (const uint8_t *q = p; n >= k && (q = memchr(q, s[0], n - (size_t)(q - p) - k + 1)); q++)
        if (memcmp(q, s, k) == 0)
            return q;
    return NULL;
}

/* The first private-key block of `pem` ("-----BEGIN <label>-----" at the start of a line).
 * Blocks with other labels (certificates, EC PARAMETERS) are skipped.  -1 on a block without its
 * END line; 0 when there is none. */
static int pem_find_key(const uint8_t *pem, size_t len, struct pem_block *b)
{
    static const char begin[] = "-----BEGIN ";
    const uint8_t *end = pem + len;
    for (const uint8_t *at = pem; (at = memfind(at, (size_t)(end - at), begin)) != NULL; at++) {
        if (at != pem && at[-1] != '\n')
            continue;
        const uint8_t *label = at + sizeof begin - 1;
        const uint8_t *dash = memfind(label, (size_t)(end - label), "-----");
        if (dash == NULL)
            return 0;
        size_t label_len = (size_t)(dash - label);
        for (size_t i = 0; i < sizeof pem_labels / sizeof pem_labels[0]; i++) {
            if (strlen(pem_labels[i].label) != label_len ||
                memcmp(label, pem_labels[i].label, label_len) != 0)
                continue;
            char end_line[64];
            snprintf(end_line, sizeof end_line, "-----END %s-----", pem_labels[i].label);
            const uint8_t *body = dash + 5;
            const uint8_t *stop = memfind(body, (size_t)(end - body), end_line);
            if (stop == NULL)
                return -1;
            b->kind = pem_labels[i].kind;
            b->headers = NULL;
            b->headers_len = 0;
            /* RFC 1421 4.4 headers ("Proc-Type: ...") end at an empty line. */
            const uint8_t *colon = memchr(body, ':', (size_t)(stop - body));
            if (colon != NULL) {
                const uint8_t *blank = memfind(body, (size_t)(stop - body), "\n\n");
                const uint8_t *blank_crlf = memfind(body, (size_t)(stop - body), "\n\r\n");
                if (blank_crlf != NULL && (blank == NULL || blank_crlf < blank))
                    blank = blank_crlf + 1;
                if (blank == NULL || blank < colon)
                    return -1;
                b->headers = body;
                b->headers_len = (size_t)(blank - body);
                body = blank + 1;
            }
            b->body = body;
            b->body_len = (size_t)(stop - body);
            return 1;
        }
    }
    return 0;
}

/* The value of header `name` ("DEK-Info") in the header lines, trimmed; false if absent. */
static bool pem_header(const struct pem_block *b, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const uint8_t *p = b->headers, *end = b->headers + b->headers_len;
    while (p != NULL && p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *line_end = eol ? eol : end;
        if ((size_t)(line_end - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == ':') {
            const uint8_t *v = p + nl + 1;
            while (v < line_end && (*v == ' ' || *v == '\t'))
                v++;
            while (line_end > v && (line_end[-1] == '\r' || line_end[-1] == ' '))
                line_end--;
            size_t n = (size_t)(line_end - v);
            if (n >= cap)
                return false;
            memcpy(out, v, n);
            out[n] = 0;
            return true;
        }
        p = eol ? eol + 1 : NULL;
    }
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Legacy OpenSSL PEM encryption: "Proc-Type: 4,ENCRYPTED" and "DEK-Info: <cipher>,<hex IV>". */
static int legacy_decrypt(const struct pem_block *b, const uint8_t *in, size_t in_len,
                          const char *pass, size_t pass_len, uint8_t **out, size_t *out_len,
                          size_t *cap, cry_load *ld)
{
    static const struct {
        const char *name;
        size_t key_len, iv_len;
    } ciphers[] = {
        {"AES-128-CBC", 16, 16},
        {"AES-192-CBC", 24, 16},
        {"AES-256-CBC", 32, 16},
        {"DES-EDE3-CBC", 24, 8},
    };
    char dek[128];
    uint8_t iv[16], key[32];
    size_t i;
    if (!pem_header(b, "DEK-Info", dek, sizeof dek)) {
        say(ld, CRY_LOAD_MALFORMED, "the encrypted PEM key has no valid DEK-Info header");
        return 0;
    }
    char *comma = strchr(dek, ',');
    if (comma != NULL)
        *comma = 0;
    for (i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++)
        if (strcasecmp(dek, ciphers[i].name) == 0)
            break;
    if (i == sizeof ciphers / sizeof ciphers[0]) {
        say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
            "legacy PEM encryption with %.40s (mtls reads "
            "AES-CBC and DES-EDE3-CBC)",
            dek);
        return 0;
    }
    const char *hex = comma ? comma + 1 : "";
    if (strlen(hex) != 2 * ciphers[i].iv_len) {
        say(ld, CRY_LOAD_MALFORMED, "the encrypted PEM key's DEK-Info has no valid IV");
        return 0;
    }
    for (size_t k = 0; k < ciphers[i].iv_len; k++) {
        int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            say(ld, CRY_LOAD_MALFORMED, "the encrypted PEM key's DEK-Info has no valid IV");
            return 0;
        }
        iv[k] = (uint8_t)(hi << 4 | lo);
    }
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, ciphers[i].name, NULL);
    const EVP_MD *md5 = cry_algs() ? cry_algs()->md[CRY_MD5] : NULL;
    /* OpenSSL's PEM_do_header: EVP_BytesToKey with MD5, the first 8 IV bytes as salt, 1 round. */
    int ok = c != NULL && md5 != NULL &&
             EVP_BytesToKey(c, md5, iv, (const unsigned char *)pass, (int)pass_len, 1, key, NULL) ==
                 (int)ciphers[i].key_len;
    EVP_CIPHER_free(c);
    if (!ok) {
        cry_clear_errors();
        OPENSSL_cleanse(key, sizeof key);
        say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
            "legacy PEM encryption needs MD5, which the "
            "crypto provider lacks");
        return 0;
    }
    ok = cbc_decrypt(ciphers[i].name, key, iv, in, in_len, out, out_len, cap);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok)
        say(ld, CRY_LOAD_WRONG_PASSPHRASE, NULL);
    return ok;
}

static EVP_PKEY *import_kind(enum pem_kind kind, const uint8_t *der, size_t len, cry_load *ld)
{
    switch (kind) {
    case PEM_RSA:
        return rsa_import(der, len, ld);
    case PEM_EC:
        return ec_import(der, len, NULL, ld);
    default:
        return pkcs8_import(der, len, ld);
    }
}

cry_pkey *cry_pkey_load_pem(const uint8_t *pem, size_t len, cry_load *ld)
{
    struct pem_block b;
    uint8_t *der = NULL, *plain = NULL;
    size_t der_len = 0, der_cap = 0, plain_len = 0, plain_cap = 0;
    char pass[CRY_PASS_MAX];
    long pass_len = -1;
    EVP_PKEY *pk = NULL;

    ld->encrypted = 0;
    say(ld, CRY_LOAD_ERROR, NULL);
    if (cry_algs() == NULL)
        return NULL;
    int found = pem == NULL ? 0 : pem_find_key(pem, len, &b);
    if (found <= 0) {
        say(ld, found < 0 ? CRY_LOAD_MALFORMED : CRY_LOAD_NOT_FOUND,
            found < 0 ? "a PEM private key block has no END line" : NULL);
        return NULL;
    }
    if (b.kind == PEM_OTHER_KEY) {
        say(ld, CRY_LOAD_UNSUPPORTED, "the key is a DSA key");
        return NULL;
    }
    if (!b64_decode(b.body, b.body_len, &der, &der_len, &der_cap) || der_len == 0 ||
        der_len > MAX_KEY_DER) {
        secret_free(der, der_cap);
        say(ld, CRY_LOAD_MALFORMED, "the PEM private key block is not valid base64");
        return NULL;
    }
    char proc[64];
    bool legacy = b.headers != NULL && pem_header(&b, "Proc-Type", proc, sizeof proc) &&
                  strcmp(proc, "4,ENCRYPTED") == 0;
    if (b.headers != NULL && !legacy) {
        secret_free(der, der_cap);
        say(ld, CRY_LOAD_MALFORMED,
            "the PEM private key block has headers but is not "
            "\"Proc-Type: 4,ENCRYPTED\"");
        return NULL;
    }
    if (b.kind == PEM_ENCRYPTED_PKCS8 || legacy) {
        ld->encrypted = 1;
        if ((pass_len = get_pass(ld, pass, sizeof pass)) < 0)
            goto done;
        int ok = legacy ? legacy_decrypt(&b, der, der_len, pass, (size_t)pass_len, &plain,
                                         &plain_len, &plain_cap, ld)
                        : pkcs8_decrypt(der, der_len, pass, (size_t)pass_len, &plain, &plain_len,
                                        &plain_cap, ld);
        if (!ok)
            goto done;
        pk = import_kind(b.kind == PEM_ENCRYPTED_PKCS8 ? PEM_PKCS8 : b.kind, plain, plain_len, ld);
        /* Decrypted garbage that parses as nothing: the passphrase was wrong, most likely. */
        if (pk == NULL && ld->status == CRY_LOAD_MALFORMED)
            say(ld, CRY_LOAD_WRONG_PASSPHRASE, NULL);
    } else {
        pk = import_kind(b.kind, der, der_len, ld);
    }
done:
    OPENSSL_cleanse(pass, sizeof pass);
    secret_free(der, der_cap);
    secret_free(plain, plain_cap);
    cry_clear_errors();
    return pk ? cry_pkey_wrap_private(pk) : NULL;
}

cry_pkey *cry_pkey_private_from_pem(const uint8_t *pem, size_t len)
{
    cry_load ld = {0};
    return cry_pkey_load_pem(pem, len, &ld);
}

/* ---- PKCS#12 (RFC 7292) --------------------------------------------------------------------- */

struct p12_walk {
    cry_load *ld;
    const char *pass;
    size_t pass_len;
    EVP_PKEY *key;
    int keys;
    int (*cert)(void *, const uint8_t *, size_t);
    void *cert_arg;
    int failed;
};

static void p12_bags(struct p12_walk *w, const STACK_OF(PKCS12_SAFEBAG) * bags, int depth)
{
    for (int i = 0; !w->failed && i < sk_PKCS12_SAFEBAG_num(bags); i++) {
        const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
        int nid = PKCS12_SAFEBAG_get_nid(bag);
        if (nid == NID_safeContentsBag && depth < 4) {
            p12_bags(w, PKCS12_SAFEBAG_get0_safes(bag), depth + 1);
        } else if (nid == NID_certBag && PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate) {
            X509 *x = PKCS12_SAFEBAG_get1_cert(bag);
            unsigned char *der = NULL;
            int n = x ? i2d_X509(x, &der) : -1;
            X509_free(x);
            if (n <= 0 || !w->cert(w->cert_arg, der, (size_t)n))
                w->failed = 1;
            OPENSSL_free(der);
            if (n <= 0)
                say(w->ld, CRY_LOAD_MALFORMED, "a certificate in the PKCS#12 bundle is malformed");
        } else if (nid == NID_keyBag || nid == NID_pkcs8ShroudedKeyBag) {
            if (++w->keys > 1)
                continue; /* counted; the caller refuses a bundle of several keys */
            unsigned char *der = NULL;
            uint8_t *plain = NULL;
            size_t plain_len = 0, plain_cap = 0;
            int n;
            if (nid == NID_keyBag) {
                /* An unencrypted key bag: libcrypto has decoded it already (the octets are
                 * cleansed when the bag is freed); re-encoded here for our decoder. */
                n = i2d_PKCS8_PRIV_KEY_INFO(PKCS12_SAFEBAG_get0_p8inf(bag), &der);
                if (n > 0)
                    w->key = pkcs8_import(der, (size_t)n, w->ld);
            } else {
                n = i2d_X509_SIG(PKCS12_SAFEBAG_get0_pkcs8(bag), &der);
                if (n > 0 && pkcs8_decrypt(der, (size_t)n, w->pass, w->pass_len, &plain, &plain_len,
                                           &plain_cap, w->ld)) {
                    w->key = pkcs8_import(plain, plain_len, w->ld);
                    if (w->key == NULL && w->ld->status == CRY_LOAD_MALFORMED)
                        say(w->ld, CRY_LOAD_WRONG_PASSPHRASE, NULL);
                }
            }
            if (n > 0)
                OPENSSL_clear_free(der, (size_t)n);
            secret_free(plain, plain_cap);
            if (n <= 0)
                say(w->ld, CRY_LOAD_MALFORMED, "the key bag of the PKCS#12 bundle is malformed");
            if (w->key == NULL)
                w->failed = 1;
        }
    }
}

int cry_pkcs12_load(const uint8_t *der, size_t len, cry_load *ld, cry_pkey **key,
                    int (*cert)(void *arg, const uint8_t *der, size_t len), void *cert_arg)
{
    const uint8_t *p = der;
    PKCS12 *p12 = NULL;
    STACK_OF(PKCS7) *safes = NULL;
    char pass[CRY_PASS_MAX + 1];
    long pass_len = 0;
    const char *use = NULL; /* the password as libcrypto wants it: NULL and "" differ for the MAC */
    struct p12_walk w = {.ld = ld, .cert = cert, .cert_arg = cert_arg};

    *key = NULL;
    ld->encrypted = 1;
    say(ld, CRY_LOAD_ERROR, NULL);
    if (cry_algs() == NULL || der == NULL || len == 0 || len > (64u << 20))
        goto bad;
    p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (p12 == NULL || p != der + len) {
        say(ld, CRY_LOAD_MALFORMED, "not a PKCS#12 bundle (DER PFX, RFC 7292)");
        goto done;
    }
    /* RFC 7292 leaves the empty password ambiguous: it is encoded as no bytes at all by some
     * tools and as the BMPString terminator by others (OpenSSL's PKCS12_parse tries both).  A
     * bundle whose MAC verifies with either is opened without asking for a passphrase. */
    if (!PKCS12_mac_present(p12)) {
        /* No MAC (`openssl pkcs12 -nomac`): nothing tells a password right before decryption, so
         * the source is asked; without one the empty password is used. */
        pass_len = get_pass(ld, pass, CRY_PASS_MAX);
        if (pass_len < 0 && ld->status != CRY_LOAD_NO_PASSPHRASE)
            goto done;
        pass[pass_len < 0 ? 0 : pass_len] = 0;
        use = pass;
    } else if (PKCS12_verify_mac(p12, NULL, 0)) {
        use = NULL;
    } else if (PKCS12_verify_mac(p12, "", 0)) {
        use = "";
    } else {
        cry_clear_errors();
        if ((pass_len = get_pass(ld, pass, CRY_PASS_MAX)) < 0)
            goto done;
        pass[pass_len] = 0;
        if (!PKCS12_verify_mac(p12, pass, (int)pass_len)) {
            say(ld, CRY_LOAD_WRONG_PASSPHRASE, NULL);
            goto done;
        }
        use = pass;
    }
    w.pass = use ? use : "";
    w.pass_len = use == pass ? (size_t)(pass_len < 0 ? 0 : pass_len) : 0;
    if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
        say(ld, CRY_LOAD_MALFORMED, "the PKCS#12 bundle's contents are malformed");
        goto done;
    }
    for (int i = 0; !w.failed && i < sk_PKCS7_num(safes); i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
        int type = OBJ_obj2nid(p7->type);
        if (type == NID_pkcs7_data) {
            bags = PKCS12_unpack_p7data(p7);
        } else if (type == NID_pkcs7_encrypted) {
            bags = PKCS12_unpack_p7encdata(p7, use, (int)w.pass_len);
            if (bags == NULL) {
                /* the MAC was right, so it is the cipher: RC2-40 of `openssl pkcs12 -legacy`
                 * needs OpenSSL's legacy provider */
                say(ld, CRY_LOAD_UNSUPPORTED_ENCRYPTION,
                    "the bundle's certificates are "
                    "encrypted with a legacy cipher (RC2?)");
                w.failed = 1;
                break;
            }
        } else {
            continue; /* enveloped data: public-key privacy mode, not supported */
        }
        if (bags == NULL) {
            say(ld, CRY_LOAD_MALFORMED, "the PKCS#12 bundle's contents are malformed");
            w.failed = 1;
            break;
        }
        p12_bags(&w, bags, 0);
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
    if (w.failed)
        goto done;
    if (w.keys == 0) {
        say(ld, CRY_LOAD_NOT_FOUND, "the PKCS#12 bundle holds no private key");
        goto done;
    }
    if (w.keys > 1) {
        say(ld, CRY_LOAD_UNSUPPORTED,
            "the PKCS#12 bundle holds %d private keys; mtls takes a "
            "bundle of one key and its certificates",
            w.keys);
        goto done;
    }
    *key = cry_pkey_wrap_private(w.key);
    w.key = NULL;
    if (*key != NULL)
        say(ld, CRY_LOAD_OK, NULL);
    goto done;
bad:
    say(ld, CRY_LOAD_MALFORMED, "not a PKCS#12 bundle (DER PFX, RFC 7292)");
done:
    EVP_PKEY_free(w.key);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    PKCS12_free(p12);
    OPENSSL_cleanse(pass, sizeof pass);
    cry_clear_errors();
    return *key != NULL;
}
