/*
 * test_crypto.c -- the crypto layer (src/crypto/) against published vectors and itself.
 *
 * Known answers, each with its source: SHA-256/384/512 of "abc" (FIPS 180-4 examples), HMAC
 * (RFC 4231 test cases 1, 2, 6), AES-GCM (McGrew & Viega, "The Galois/Counter Mode of
 * Operation", test cases 1-4 for AES-128 and 15-16 for AES-256), ChaCha20-Poly1305 (RFC 8439
 * 2.8.2), X25519 (RFC 7748 6.1).  Round trips and negatives: every signature scheme with keys
 * generated here through libcrypto directly, every ECDHE group with invalid peer values, static
 * RSA implicit rejection, keys from PEM and from raw parts.  A few checks call OpenSSL directly
 * to pin the 3.0 behaviour the layer relies on (off-curve import fails, TLS padding rejects
 * implicitly).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto/crypto.h"
#include "t.h"

static uint8_t tmp[1024];

static size_t unhex(const char *hex, uint8_t *out)
{
    return t_unhex(hex, out, 1024);
}

static int eq_hex(const uint8_t *p, size_t n, const char *hex)
{
    size_t m = unhex(hex, tmp);
    return m == n && memcmp(p, tmp, n) == 0;
}

/* ---- helpers that use libcrypto directly ------------------------------------------------- */

static EVP_PKEY *gen_rsa(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static EVP_PKEY *gen_ec(const char *curve)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* PEM of a private key, PKCS#8 or the traditional PKCS#1 / SEC1 form, optionally encrypted. */
static cry_pkey *load_priv(EVP_PKEY *pk, int traditional, const char *pass)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    int ok;
    if (pass != NULL)
        ok = PEM_write_bio_PrivateKey(b, pk, EVP_aes_128_cbc(), (unsigned char *)pass,
                                      (int)strlen(pass), NULL, NULL);
    else if (traditional)
        ok = PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0, NULL, NULL);
    else
        ok = PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &data);
    cry_pkey *k = ok && n > 0 ? cry_pkey_private_from_pem((const uint8_t *)data, (size_t)n) : NULL;
    BIO_free(b);
    return k;
}

static cry_pkey *load_pub(EVP_PKEY *pk, cry_key_type type)
{
    if (type == CRY_KEY_RSA) {
        BIGNUM *n = NULL, *e = NULL;
        uint8_t nb[512], eb[16];
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
        int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
        BN_free(n);
        BN_free(e);
        return cry_pkey_rsa_public(nb, (size_t)nl, eb, (size_t)el);
    }
    uint8_t pt[133];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len);
    return cry_pkey_ec_public(type, pt, len);
}

/* ---- basics ------------------------------------------------------------------------------ */

static void *init_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)cry_init();
}

static void test_basics(void)
{
    pthread_t th[4];
    void *r;
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, init_thread, NULL);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], &r);
        CHECK_EQ((intptr_t)r, 1);
    }
    CHECK_EQ(cry_init(), 1);
    CHECK_EQ(cry_init(), 1);

    uint8_t a[32] = {0}, b[32] = {0};
    CHECK(cry_random(a, sizeof(a)));
    CHECK(cry_random(b, sizeof(b)));
    CHECK(memcmp(a, b, 32) != 0);
    CHECK(cry_random(a, 0));

    memcpy(b, a, 32);
    CHECK_EQ(cry_ct_equal(a, b, 32), 1);
    b[31] ^= 0x80;
    CHECK_EQ(cry_ct_equal(a, b, 32), 0);
    CHECK_EQ(cry_ct_equal(a, b, 31), 1);
    cry_wipe(a, sizeof(a));
    memset(b, 0, 32);
    CHECK_MEM(a, b, 32);
    cry_wipe(NULL, 0);

    CHECK_EQ(cry_hash_len(CRY_SHA256), 32);
    CHECK_EQ(cry_hash_len(CRY_SHA384), 48);
    CHECK_EQ(cry_hash_len(CRY_SHA512), 64);
    CHECK_EQ(cry_hash_len(CRY_SHA1), 20);
    CHECK_EQ(cry_hash_len(CRY_MD5), 16);
    CHECK_EQ(cry_aead_key_len(CRY_AES_128_GCM), 16);
    CHECK_EQ(cry_aead_key_len(CRY_AES_256_GCM), 32);
    CHECK_EQ(cry_aead_key_len(CRY_CHACHA20_POLY1305), 32);
    CHECK(cry_group_supported(23) && cry_group_supported(24) && cry_group_supported(29));
    CHECK(!cry_group_supported(25) && !cry_group_supported(30) && !cry_group_supported(0));
}

/* ---- hashes: FIPS 180-4 examples ------------------------------------------------------------ */

static const char *sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *sha384_abc = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
                                "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7";
static const char *sha512_abc = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                                "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

static void test_hash(void)
{
    uint8_t out[CRY_MAX_HASH], mid[CRY_MAX_HASH];

    CHECK(cry_hash_oneshot(CRY_SHA256, "abc", 3, out));
    CHECK(eq_hex(out, 32, sha256_abc));
    CHECK(cry_hash_oneshot(CRY_SHA384, "abc", 3, out));
    CHECK(eq_hex(out, 48, sha384_abc));
    CHECK(cry_hash_oneshot(CRY_SHA512, "abc", 3, out));
    CHECK(eq_hex(out, 64, sha512_abc));
    /* SHA-256 of the empty string (FIPS 180-4 example set). */
    CHECK(cry_hash_oneshot(CRY_SHA256, NULL, 0, out));
    CHECK(eq_hex(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));

    /* peek leaves the running hash able to continue */
    cry_hash *h = cry_hash_new(CRY_SHA384);
    CHECK(h != NULL);
    CHECK(cry_hash_update(h, "a", 1));
    CHECK(cry_hash_peek(h, mid));
    CHECK(cry_hash_oneshot(CRY_SHA384, "a", 1, out));
    CHECK_MEM(mid, out, 48);
    CHECK(cry_hash_update(h, "b", 1));
    CHECK(cry_hash_update(h, NULL, 0));
    CHECK(cry_hash_update(h, "c", 1));
    CHECK(cry_hash_peek(h, out));
    CHECK(eq_hex(out, 48, sha384_abc));
    CHECK(cry_hash_peek(h, out)); /* twice in a row: same answer */
    CHECK(eq_hex(out, 48, sha384_abc));
    CHECK(cry_hash_update(h, "d", 1));
    CHECK(cry_hash_peek(h, out));
    CHECK(cry_hash_oneshot(CRY_SHA384, "abcd", 4, mid));
    CHECK_MEM(mid, out, 48);
    /* a copy goes on apart from the original */
    cry_hash *d = cry_hash_dup(h);
    CHECK(d != NULL && cry_hash_update(d, "e", 1) && cry_hash_peek(d, out));
    CHECK(cry_hash_oneshot(CRY_SHA384, "abcde", 5, mid));
    CHECK_MEM(mid, out, 48);
    CHECK(cry_hash_update(h, "x", 1) && cry_hash_peek(h, out));
    CHECK(cry_hash_oneshot(CRY_SHA384, "abcdx", 5, mid));
    CHECK_MEM(mid, out, 48);
    cry_hash_free(d);
    cry_hash_free(h);
    cry_hash_free(NULL);

    h = cry_hash_new(CRY_SHA256);
    CHECK(h != NULL && cry_hash_peek(h, out));
    CHECK(eq_hex(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    cry_hash_free(h);
    CHECK(cry_hash_new((cry_hash_alg)99) == NULL);
}

/* ---- HMAC: RFC 4231 ------------------------------------------------------------------------- */

static void check_hmac(cry_hash_alg alg, const uint8_t *key, size_t key_len, const char *data,
                       const char *want)
{
    uint8_t out[CRY_MAX_HASH];
    size_t n = cry_hash_len(alg);
    size_t dl = strlen(data);
    cry_hmac *m = cry_hmac_new(alg, key, key_len);
    CHECK(m != NULL);
    if (m == NULL)
        return;
    CHECK(cry_hmac_update(m, data, dl));
    CHECK(cry_hmac_final(m, out));
    CHECK(eq_hex(out, n, want));
    /* an update after final without reset is refused */
    CHECK(!cry_hmac_update(m, data, dl));
    CHECK(!cry_hmac_final(m, out));
    /* reset: same key, in two pieces this time */
    memset(out, 0, sizeof(out));
    CHECK(cry_hmac_reset(m));
    CHECK(cry_hmac_update(m, data, dl / 2));
    CHECK(cry_hmac_update(m, data + dl / 2, dl - dl / 2));
    CHECK(cry_hmac_final(m, out));
    CHECK(eq_hex(out, n, want));
    /* reset in the middle of a MAC discards the partial input */
    CHECK(cry_hmac_reset(m));
    CHECK(cry_hmac_update(m, "garbage", 7));
    CHECK(cry_hmac_reset(m));
    CHECK(cry_hmac_update(m, data, dl));
    CHECK(cry_hmac_final(m, out));
    CHECK(eq_hex(out, n, want));
    cry_hmac_free(m);
}

static void test_hmac(void)
{
    uint8_t k1[20], k6[131];
    memset(k1, 0x0b, sizeof(k1));
    memset(k6, 0xaa, sizeof(k6));
    /* RFC 4231 4.2, test case 1 */
    check_hmac(CRY_SHA256, k1, 20, "Hi There",
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac(CRY_SHA384, k1, 20, "Hi There",
               "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
               "faea9ea9076ede7f4af152e8b2fa9cb6");
    check_hmac(CRY_SHA512, k1, 20, "Hi There",
               "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
               "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
    /* RFC 4231 4.3, test case 2 */
    check_hmac(CRY_SHA256, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 4.7, test case 6: a key longer than the block is hashed first */
    check_hmac(CRY_SHA256, k6, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    check_hmac(CRY_SHA384, k6, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
               "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
               "0c2ef6ab4030fe8296248df163f44952");
    cry_hmac_free(NULL);
}

/* ---- AEAD ----------------------------------------------------------------------------------- */

struct aead_vec {
    const char *name;
    cry_aead_alg alg;
    const char *key, *iv, *aad, *pt, *ct, *tag;
};

#define GCM_P64                                                                                    \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_P60                                                                                    \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"

static const struct aead_vec aead_vecs[] = {
    /* McGrew & Viega, GCM specification, appendix B */
    {"GCM test case 1", CRY_AES_128_GCM, "00000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
    {"GCM test case 2", CRY_AES_128_GCM, "00000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"GCM test case 3", CRY_AES_128_GCM, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "", GCM_P64,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"GCM test case 4", CRY_AES_128_GCM, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_P60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM test case 15", CRY_AES_256_GCM,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "", GCM_P64,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM test case 16", CRY_AES_256_GCM,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_P60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* RFC 8439 2.8.2 */
    {"RFC 8439 2.8.2", CRY_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
     "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
     "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
     "637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
};

static void test_aead_vec(const struct aead_vec *v)
{
    uint8_t key[32], iv[12], aad[64], pt[128], ct[128], tag[16], buf[128], t[16], zero[128];
    size_t kl = unhex(v->key, key), al = unhex(v->aad, aad), pl = unhex(v->pt, pt);
    size_t cl = unhex(v->ct, ct);
    unhex(v->iv, iv);
    unhex(v->tag, tag);
    memset(zero, 0, sizeof(zero));
    CHECK_EQ(kl, cry_aead_key_len(v->alg));
    CHECK_EQ(pl, cl);

    cry_aead *enc = cry_aead_new(v->alg, key, 1);
    cry_aead *dec = cry_aead_new(v->alg, key, 0);
    CHECK(enc != NULL && dec != NULL);
    if (enc == NULL || dec == NULL) {
        cry_aead_free(enc);
        cry_aead_free(dec);
        return;
    }
    /* twice with the same context: the key stays, the nonce is set per record */
    for (int round = 0; round < 2; round++) {
        memcpy(buf, pt, pl);
        CHECK(cry_aead_seal(enc, iv, aad, al, buf, pl, t));
        if (memcmp(buf, ct, pl) != 0 || memcmp(t, tag, 16) != 0)
            fprintf(stderr, "%s: seal mismatch (round %d)\n", v->name, round);
        CHECK_MEM(buf, ct, pl);
        CHECK_MEM(t, tag, 16);
        CHECK(cry_aead_open(dec, iv, aad, al, buf, pl, t));
        CHECK_MEM(buf, pt, pl);
        /* a different nonce between rounds must change the output */
        uint8_t iv2[12];
        memcpy(iv2, iv, 12);
        iv2[11] ^= 1;
        memcpy(buf, pt, pl);
        CHECK(cry_aead_seal(enc, iv2, aad, al, buf, pl, t));
        CHECK(memcmp(t, tag, 16) != 0);
    }

    /* In two pieces, split at every point: sealed from a separate first piece and the second in
     * place behind it (TLS 1.3's content, then its type and padding), the vector's bytes; opened
     * into a separate first piece and the rest in place, the plaintext.  A failed open leaves
     * neither piece holding plaintext. */
    for (size_t k = 0; k <= pl; k++) {
        uint8_t rec[128], head[128];
        memset(rec, 0xaa, sizeof(rec));
        memcpy(rec + k, pt + k, pl - k);
        CHECK(cry_aead_seal2(enc, iv, aad, al, pt, k, rec + k, pl - k, rec, t));
        CHECK_MEM(rec, ct, pl);
        CHECK_MEM(t, tag, 16);
        memset(head, 0xaa, sizeof(head));
        CHECK(cry_aead_open2(dec, iv, aad, al, rec, pl, head, k, rec + k, tag));
        CHECK_MEM(head, pt, k);
        CHECK_MEM(rec + k, pt + k, pl - k);
        CHECK_EQ(head[k], 0xaa); /* nothing written past the first piece */
        memcpy(rec, ct, pl);
        memcpy(t, tag, 16);
        t[0] ^= 0x40;
        memset(head, 0xaa, sizeof(head));
        CHECK(!cry_aead_open2(dec, iv, aad, al, rec, pl, head, k, rec + k, t));
        CHECK_MEM(head, zero, k);
        CHECK_MEM(rec + k, zero, pl - k);
        CHECK(!cry_aead_open2(dec, iv, aad, al, rec, pl, head, pl + 1, rec, tag)); /* n1 > len */
    }

    /* flipped tag bit */
    memcpy(buf, ct, pl);
    memcpy(t, tag, 16);
    t[15] ^= 0x01;
    CHECK(!cry_aead_open(dec, iv, aad, al, buf, pl, t));
    CHECK_MEM(buf, zero, pl); /* no unauthenticated plaintext left behind */
    /* flipped ciphertext bit */
    if (pl > 0) {
        memcpy(buf, ct, pl);
        buf[pl / 2] ^= 0x10;
        CHECK(!cry_aead_open(dec, iv, aad, al, buf, pl, tag));
    }
    /* flipped or missing aad */
    if (al > 0) {
        uint8_t aad2[64];
        memcpy(aad2, aad, al);
        aad2[0] ^= 0x80;
        memcpy(buf, ct, pl);
        CHECK(!cry_aead_open(dec, iv, aad2, al, buf, pl, tag));
        memcpy(buf, ct, pl);
        CHECK(!cry_aead_open(dec, iv, aad, al - 1, buf, pl, tag));
    }
    /* wrong nonce */
    uint8_t iv3[12];
    memcpy(iv3, iv, 12);
    iv3[0] ^= 1;
    memcpy(buf, ct, pl);
    CHECK(!cry_aead_open(dec, iv3, aad, al, buf, pl, tag));
    /* and a good record still opens after the failures */
    memcpy(buf, ct, pl);
    CHECK(cry_aead_open(dec, iv, aad, al, buf, pl, tag));
    CHECK_MEM(buf, pt, pl);

    cry_aead_free(enc);
    cry_aead_free(dec);
}

static void test_aead(void)
{
    for (size_t i = 0; i < sizeof(aead_vecs) / sizeof(aead_vecs[0]); i++)
        test_aead_vec(&aead_vecs[i]);
    cry_aead_free(NULL);

    /* a record-sized round trip with a TLS 1.2 style explicit nonce and 13-byte aad */
    static uint8_t rec[16384], orig[16384];
    uint8_t key[32], nonce[12], aad[13], tag[16];
    cry_random(key, sizeof(key));
    cry_random(rec, sizeof(rec));
    memcpy(orig, rec, sizeof(rec));
    memset(aad, 0x17, sizeof(aad));
    for (int alg = 0; alg < 3; alg++) {
        cry_aead *e = cry_aead_new((cry_aead_alg)alg, key, 1);
        cry_aead *d = cry_aead_new((cry_aead_alg)alg, key, 0);
        CHECK(e != NULL && d != NULL);
        for (uint64_t seq = 0; seq < 3 && e && d; seq++) {
            memset(nonce, 0, sizeof(nonce));
            nonce[11] = (uint8_t)seq;
            CHECK(cry_aead_seal(e, nonce, aad, 13, rec, sizeof(rec), tag));
            CHECK(memcmp(rec, orig, sizeof(rec)) != 0);
            CHECK(cry_aead_open(d, nonce, aad, 13, rec, sizeof(rec), tag));
            CHECK_MEM(rec, orig, sizeof(rec));
        }
        cry_aead_free(e);
        cry_aead_free(d);
    }
}

/* ---- key exchange ------------------------------------------------------------------------- */

static void test_x25519_rfc7748(void)
{
    /* RFC 7748 6.1 */
    uint8_t a_priv[32], b_priv[32], a_pub[32], b_pub[32], out[64];
    size_t n = 0;
    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a_priv);
    unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pub);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b_priv);
    unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pub);
    const char *k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

    cry_kex *alice = cry_kex_new_private(29, a_priv, 32);
    cry_kex *bob = cry_kex_new_private(29, b_priv, 32);
    CHECK(alice != NULL && bob != NULL);
    if (alice == NULL || bob == NULL)
        goto done;
    CHECK(cry_kex_public(alice, out, sizeof(out), &n));
    CHECK(n == 32 && memcmp(out, a_pub, 32) == 0);
    CHECK(cry_kex_public(bob, out, sizeof(out), &n));
    CHECK(n == 32 && memcmp(out, b_pub, 32) == 0);
    CHECK(!cry_kex_public(bob, out, 31, &n));
    CHECK(cry_kex_derive(alice, b_pub, 32, out, sizeof(out), &n));
    CHECK(n == 32 && eq_hex(out, 32, k));
    CHECK(cry_kex_derive(bob, a_pub, 32, out, sizeof(out), &n));
    CHECK(n == 32 && eq_hex(out, 32, k));
    CHECK(!cry_kex_derive(bob, a_pub, 32, out, 31, &n));
done:
    cry_kex_free(alice);
    cry_kex_free(bob);
    CHECK(cry_kex_new_private(29, a_priv, 31) == NULL);
    CHECK(cry_kex_new_private(25, a_priv, 32) == NULL);
}

/* The derive fails and leaves `out` untouched (no partial secret). */
static void check_reject(cry_kex *k, const uint8_t *peer, size_t len, const char *what)
{
    uint8_t out[64];
    size_t n = 12345;
    memset(out, 0xa5, sizeof(out));
    int r = cry_kex_derive(k, peer, len, out, sizeof(out), &n);
    if (r)
        fprintf(stderr, "accepted invalid peer value: %s\n", what);
    CHECK(!r);
    CHECK_EQ(n, 12345);
    CHECK(out[0] == 0xa5 && out[31] == 0xa5 && out[63] == 0xa5);
}

static void test_kex_group(uint16_t group, size_t pub_len, size_t secret_len)
{
    uint8_t pa[128], pb[128], sa[64], sb[64], bad[128];
    size_t la = 0, lb = 0, na = 0, nb = 0;
    cry_kex *a = cry_kex_new(group), *b = cry_kex_new(group);
    CHECK(a != NULL && b != NULL);
    if (a == NULL || b == NULL) {
        cry_kex_free(a);
        cry_kex_free(b);
        return;
    }
    CHECK(cry_kex_public(a, pa, sizeof(pa), &la));
    CHECK(cry_kex_public(b, pb, sizeof(pb), &lb));
    CHECK_EQ(la, pub_len);
    CHECK_EQ(lb, pub_len);
    CHECK(memcmp(pa, pb, la) != 0);
    if (group != 29)
        CHECK(pa[0] == 0x04);
    CHECK(cry_kex_derive(a, pb, lb, sa, sizeof(sa), &na));
    CHECK(cry_kex_derive(b, pa, la, sb, sizeof(sb), &nb));
    CHECK_EQ(na, secret_len);
    CHECK_EQ(nb, secret_len);
    CHECK(na == nb && memcmp(sa, sb, na) == 0);
    /* deriving again with the same key gives the same secret */
    CHECK(cry_kex_derive(a, pb, lb, sb, sizeof(sb), &nb));
    CHECK(memcmp(sa, sb, na) == 0);
    CHECK(!cry_kex_derive(a, pb, lb, sb, secret_len - 1, &nb));

    /* invalid peer values */
    check_reject(a, pb, lb - 1, "one byte short");
    memcpy(bad, pb, lb);
    bad[lb] = 0;
    check_reject(a, bad, lb + 1, "one byte long");
    check_reject(a, pb, 0, "empty");
    if (group != 29) {
        memcpy(bad, pb, lb);
        bad[lb - 1] ^= 0x01; /* (x, y^1) is never on the curve: y^1 != +-y */
        check_reject(a, bad, lb, "off-curve point");
        memcpy(bad, pb, lb);
        bad[1] ^= 0x01;
        check_reject(a, bad, lb, "off-curve point (x changed)");
        memcpy(bad, pb, lb);
        bad[0] = 0x06; /* hybrid form */
        check_reject(a, bad, lb, "hybrid encoding");
        memcpy(bad, pb, lb);
        bad[0] = 0x02; /* right length, compressed tag */
        check_reject(a, bad, lb, "compressed tag");
        bad[0] = 0x04;
        memset(bad + 1, 0xff, lb - 1); /* coordinates >= p */
        check_reject(a, bad, lb, "coordinates >= p");
        memset(bad, 0, lb);
        bad[0] = 0x04; /* (0, 0) */
        check_reject(a, bad, lb, "(0, 0)");
        uint8_t comp[64];
        comp[0] = 0x02 | (pb[lb - 1] & 1);
        memcpy(comp + 1, pb + 1, (lb - 1) / 2);
        check_reject(a, comp, 1 + (lb - 1) / 2, "compressed point");
        uint8_t inf = 0;
        check_reject(a, &inf, 1, "point at infinity");
    } else {
        memset(bad, 0, 32);
        check_reject(a, bad, 32, "X25519 zero point");
        bad[0] = 1; /* u = 1: order 1 (after clamping the result is zero) */
        check_reject(a, bad, 32, "X25519 u=1");
        /* a point of order 8 (RFC 7748 / libsodium blocklist) */
        unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", bad);
        check_reject(a, bad, 32, "X25519 order-8 point");
    }
    /* and a good derive still works after the rejections */
    CHECK(cry_kex_derive(a, pb, lb, sb, sizeof(sb), &nb));
    CHECK(memcmp(sa, sb, na) == 0);
    cry_kex_free(a);
    cry_kex_free(b);
}

static void test_kex_private_nist(uint16_t group, size_t len)
{
    /* cry_kex_new_private agrees with a generated key both ways */
    uint8_t d[48], pa[128], pb[128], sa[64], sb[64];
    size_t la = 0, lb = 0, na = 0, nb = 0;
    memset(d, 0, sizeof(d));
    d[len - 1] = 7; /* the scalar 7 */
    cry_kex *a = cry_kex_new_private(group, d, len), *b = cry_kex_new(group);
    CHECK(a != NULL && b != NULL);
    if (a != NULL && b != NULL) {
        CHECK(cry_kex_public(a, pa, sizeof(pa), &la) && cry_kex_public(b, pb, sizeof(pb), &lb));
        CHECK(cry_kex_derive(a, pb, lb, sa, sizeof(sa), &na));
        CHECK(cry_kex_derive(b, pa, la, sb, sizeof(sb), &nb));
        CHECK(na == nb && memcmp(sa, sb, na) == 0);
    }
    cry_kex_free(a);
    cry_kex_free(b);
    memset(d, 0, sizeof(d));
    CHECK(cry_kex_new_private(group, d, len) == NULL); /* zero scalar */
    memset(d, 0xff, sizeof(d));
    CHECK(cry_kex_new_private(group, d, len) == NULL); /* scalar >= n */
}

/* Pins the OpenSSL 3.0 behaviour kex.c and pkey.c rely on: importing a point off the curve fails
 * both through EVP_PKEY_fromdata and through EVP_PKEY_set1_encoded_public_key. */
static void test_openssl_offcurve_import(void)
{
    EVP_PKEY *k = gen_ec("P-256");
    uint8_t pt[65];
    size_t len = 0;
    CHECK(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
                                          &len));
    pt[64] ^= 1;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[3] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *imp = NULL;
    CHECK(EVP_PKEY_fromdata_init(ctx) == 1);
    CHECK(EVP_PKEY_fromdata(ctx, &imp, EVP_PKEY_PUBLIC_KEY, params) != 1);
    CHECK(imp == NULL);
    EVP_PKEY_free(imp);
    EVP_PKEY_CTX_free(ctx);

    EVP_PKEY *p = EVP_PKEY_new();
    CHECK(EVP_PKEY_copy_parameters(p, k) == 1);
    CHECK(EVP_PKEY_set1_encoded_public_key(p, pt, len) != 1);
    EVP_PKEY_free(p);
    pt[64] ^= 1;
    p = EVP_PKEY_new();
    CHECK(EVP_PKEY_copy_parameters(p, k) == 1);
    CHECK(EVP_PKEY_set1_encoded_public_key(p, pt, len) == 1);
    EVP_PKEY_free(p);
    EVP_PKEY_free(k);
    ERR_clear_error();
}

static void test_kex(void)
{
    test_x25519_rfc7748();
    test_kex_group(29, 32, 32);
    test_kex_group(23, 65, 32);
    test_kex_group(24, 97, 48);
    test_kex_private_nist(23, 32);
    test_kex_private_nist(24, 48);
    test_openssl_offcurve_import();
    CHECK(cry_kex_new(25) == NULL);
    CHECK(cry_kex_new(0) == NULL);
    cry_kex_free(NULL);
}

/* ---- keys and signatures -------------------------------------------------------------------- */

static void check_sign_verify(const cry_pkey *priv, const cry_pkey *pub, uint16_t scheme)
{
    uint8_t msg[200], sig[1024], digest[CRY_MAX_HASH];
    size_t sl = 0;
    cry_random(msg, sizeof(msg));
    CHECK(cry_pkey_max_sig_len(priv) <= sizeof(sig));
    int ok = cry_sign(priv, scheme, msg, sizeof(msg), sig, sizeof(sig), &sl);
    if (!ok)
        fprintf(stderr, "sign failed for scheme 0x%04x\n", scheme);
    CHECK(ok);
    CHECK(sl > 0 && sl <= cry_pkey_max_sig_len(priv));
    CHECK(cry_verify(pub, scheme, msg, sizeof(msg), sig, sl));
    CHECK(cry_verify(priv, scheme, msg, sizeof(msg), sig, sl)); /* a private key verifies too */

    cry_hash_alg h = (scheme >> 8) == 4 ? CRY_SHA256 : (scheme >> 8) == 5 ? CRY_SHA384 : CRY_SHA512;
    if ((scheme & 0xff00) == 0x0800)
        h = scheme == 0x0804 ? CRY_SHA256 : scheme == 0x0805 ? CRY_SHA384 : CRY_SHA512;
    CHECK(cry_hash_oneshot(h, msg, sizeof(msg), digest));
    CHECK(cry_verify_digest(pub, scheme, digest, cry_hash_len(h), sig, sl));
    CHECK(!cry_verify_digest(pub, scheme, digest, cry_hash_len(h) - 1, sig, sl));
    digest[0] ^= 1;
    CHECK(!cry_verify_digest(pub, scheme, digest, cry_hash_len(h), sig, sl));

    /* every single-bit flip position class: first, middle, last byte of the signature */
    size_t pos[3] = {0, sl / 2, sl - 1};
    for (int i = 0; i < 3; i++) {
        sig[pos[i]] ^= 0x01;
        CHECK(!cry_verify(pub, scheme, msg, sizeof(msg), sig, sl));
        sig[pos[i]] ^= 0x01;
    }
    msg[10] ^= 0x40;
    CHECK(!cry_verify(pub, scheme, msg, sizeof(msg), sig, sl));
    msg[10] ^= 0x40;
    CHECK(!cry_verify(pub, scheme, msg, sizeof(msg), sig, sl - 1));
    sig[sl] = 0;
    CHECK(!cry_verify(pub, scheme, msg, sizeof(msg), sig, sl + 1)); /* trailing byte */
    CHECK(!cry_verify(pub, scheme, msg, sizeof(msg), sig, 0));
    CHECK(cry_verify(pub, scheme, msg, sizeof(msg), sig, sl));
    /* too small an output buffer */
    CHECK(!cry_sign(priv, scheme, msg, sizeof(msg), sig, 8, &sl));
}

/* A signature made by OpenSSL directly over SHA-x(msg) with the given parameters. */
static size_t ossl_sign(EVP_PKEY *pk, const char *md, int pss_salt, const uint8_t *msg, size_t len,
                        uint8_t *sig, size_t cap)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *p = NULL;
    size_t sl = cap;
    if (EVP_DigestSignInit_ex(c, &p, md, NULL, NULL, pk, NULL) != 1)
        sl = 0;
    if (sl && pss_salt >= 0) {
        EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(p, pss_salt);
    }
    if (sl && EVP_DigestSign(c, sig, &sl, msg, len) != 1)
        sl = 0;
    EVP_MD_CTX_free(c);
    return sl;
}

static void test_keys_and_signatures(void)
{
    EVP_PKEY *rsa = gen_rsa(), *rsa2 = gen_rsa();
    EVP_PKEY *p256 = gen_ec("P-256"), *p384 = gen_ec("P-384"), *p521 = gen_ec("P-521");
    CHECK(rsa && rsa2 && p256 && p384 && p521);

    cry_pkey *rsa_priv = load_priv(rsa, 0, NULL), *rsa_pub = load_pub(rsa, CRY_KEY_RSA);
    cry_pkey *rsa_trad = load_priv(rsa, 1, NULL), *rsa2_pub = load_pub(rsa2, CRY_KEY_RSA);
    cry_pkey *p256_priv = load_priv(p256, 0, NULL), *p256_pub = load_pub(p256, CRY_KEY_EC_P256);
    cry_pkey *p256_trad = load_priv(p256, 1, NULL);
    cry_pkey *p384_priv = load_priv(p384, 0, NULL), *p384_pub = load_pub(p384, CRY_KEY_EC_P384);
    cry_pkey *p521_priv = load_priv(p521, 0, NULL);
    CHECK(rsa_priv && rsa_pub && rsa_trad && rsa2_pub && p256_priv && p256_pub && p256_trad &&
          p384_priv && p384_pub && p521_priv);
    if (!(rsa_priv && rsa_pub && rsa_trad && rsa2_pub && p256_priv && p256_pub && p256_trad &&
          p384_priv && p384_pub && p521_priv))
        goto done;

    /* types, sizes */
    CHECK_EQ(cry_pkey_type(rsa_priv), CRY_KEY_RSA);
    CHECK_EQ(cry_pkey_type(rsa_pub), CRY_KEY_RSA);
    CHECK_EQ(cry_pkey_type(rsa_trad), CRY_KEY_RSA);
    CHECK_EQ(cry_pkey_type(p256_priv), CRY_KEY_EC_P256);
    CHECK_EQ(cry_pkey_type(p256_pub), CRY_KEY_EC_P256);
    CHECK_EQ(cry_pkey_type(p256_trad), CRY_KEY_EC_P256);
    CHECK_EQ(cry_pkey_type(p384_priv), CRY_KEY_EC_P384);
    CHECK_EQ(cry_pkey_type(p384_pub), CRY_KEY_EC_P384);
    CHECK_EQ(cry_pkey_type(p521_priv), CRY_KEY_OTHER);
    CHECK_EQ(cry_pkey_type(NULL), CRY_KEY_NONE);
    CHECK_EQ(cry_pkey_bits(rsa_pub), 2048);
    CHECK_EQ(cry_pkey_bits(p256_pub), 256);
    CHECK_EQ(cry_pkey_bits(p384_priv), 384);
    CHECK_EQ(cry_pkey_max_sig_len(rsa_priv), 256);
    CHECK(cry_pkey_max_sig_len(p256_priv) >= 70 && cry_pkey_max_sig_len(p256_priv) <= 72);
    CHECK(cry_pkey_max_sig_len(p384_priv) >= 102 && cry_pkey_max_sig_len(p384_priv) <= 104);

    /* matches */
    CHECK(cry_pkey_matches(rsa_priv, rsa_pub));
    CHECK(cry_pkey_matches(rsa_trad, rsa_pub));
    CHECK(!cry_pkey_matches(rsa_priv, rsa2_pub));
    CHECK(cry_pkey_matches(p256_priv, p256_pub));
    CHECK(cry_pkey_matches(p384_priv, p384_pub));
    CHECK(!cry_pkey_matches(p256_priv, p384_pub));
    CHECK(!cry_pkey_matches(p256_priv, rsa_pub));
    CHECK(!cry_pkey_matches(rsa_priv, p256_pub));
    CHECK(!cry_pkey_matches(NULL, rsa_pub));

    /* every signing scheme */
    static const uint16_t rsa_schemes[] = {0x0401, 0x0501, 0x0601, 0x0804, 0x0805, 0x0806};
    for (size_t i = 0; i < 6; i++)
        check_sign_verify(rsa_priv, rsa_pub, rsa_schemes[i]);
    check_sign_verify(p256_priv, p256_pub, 0x0403);
    check_sign_verify(p384_priv, p384_pub, 0x0503);
    check_sign_verify(p256_priv, p256_pub, 0x0503); /* TLS 1.2 does not bind the curve */

    uint8_t msg[64], sig[1024];
    size_t sl = 0;
    memset(msg, 0x42, sizeof(msg));
    /* key / scheme type mismatch */
    CHECK(!cry_sign(rsa_priv, 0x0403, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_sign(p256_priv, 0x0401, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_sign(p256_priv, 0x0804, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(cry_sign(rsa_priv, 0x0401, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_verify(p256_pub, 0x0401, msg, sizeof(msg), sig, sl));
    CHECK(!cry_verify(rsa_pub, 0x0804, msg, sizeof(msg), sig, sl));  /* pkcs1 sig, pss scheme */
    CHECK(!cry_verify(rsa_pub, 0x0501, msg, sizeof(msg), sig, sl));  /* other hash */
    CHECK(!cry_verify(rsa2_pub, 0x0401, msg, sizeof(msg), sig, sl)); /* other key */
    CHECK(cry_sign(p256_priv, 0x0403, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_verify(rsa_pub, 0x0403, msg, sizeof(msg), sig, sl));
    CHECK(!cry_verify(p384_pub, 0x0403, msg, sizeof(msg), sig, sl));
    /* unknown and verify-only schemes cannot sign */
    CHECK(!cry_sign(rsa_priv, 0x0201, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_sign(p256_priv, 0x0203, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_sign(p521_priv, 0x0603, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_sign(rsa_priv, 0x0809, msg, sizeof(msg), sig, sizeof(sig), &sl));
    CHECK(!cry_verify(rsa_pub, 0x0000, msg, sizeof(msg), sig, sl));
    /* a public key cannot sign */
    CHECK(!cry_sign(rsa_pub, 0x0401, msg, sizeof(msg), sig, sizeof(sig), &sl));

    /* verify-only schemes with signatures made by OpenSSL */
    sl = ossl_sign(p521, "SHA512", -1, msg, sizeof(msg), sig, sizeof(sig));
    CHECK(sl > 0);
    CHECK(cry_verify(p521_priv, 0x0603, msg, sizeof(msg), sig, sl));
    sig[sl / 2] ^= 4;
    CHECK(!cry_verify(p521_priv, 0x0603, msg, sizeof(msg), sig, sl));
    sl = ossl_sign(rsa, "SHA1", -1, msg, sizeof(msg), sig, sizeof(sig));
    if (sl > 0) { /* SHA-1 signatures may be disabled by the system policy */
        CHECK(cry_verify(rsa_pub, 0x0201, msg, sizeof(msg), sig, sl));
        CHECK(!cry_verify(rsa_pub, 0x0401, msg, sizeof(msg), sig, sl));
    }
    sl = ossl_sign(p256, "SHA1", -1, msg, sizeof(msg), sig, sizeof(sig));
    if (sl > 0)
        CHECK(cry_verify(p256_pub, 0x0203, msg, sizeof(msg), sig, sl));
    /* rsa_pss_rsae: salt length must equal the hash length */
    sl = ossl_sign(rsa, "SHA256", 32, msg, sizeof(msg), sig, sizeof(sig));
    CHECK(sl == 256 && cry_verify(rsa_pub, 0x0804, msg, sizeof(msg), sig, sl));
    sl = ossl_sign(rsa, "SHA256", 0, msg, sizeof(msg), sig, sizeof(sig));
    CHECK(sl == 256 && !cry_verify(rsa_pub, 0x0804, msg, sizeof(msg), sig, sl));
    sl = ossl_sign(rsa, "SHA256", 20, msg, sizeof(msg), sig, sizeof(sig));
    CHECK(sl == 256 && !cry_verify(rsa_pub, 0x0804, msg, sizeof(msg), sig, sl));

    /* refcounting */
    cry_pkey *again = cry_pkey_up_ref(rsa_pub);
    CHECK(again == rsa_pub);
    cry_pkey_free(again);
    CHECK_EQ(cry_pkey_bits(rsa_pub), 2048); /* still alive */
    CHECK(cry_pkey_up_ref(NULL) == NULL);
    cry_pkey_free(NULL);

    /* bad inputs */
    static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    CHECK(cry_pkey_private_from_pem((const uint8_t *)garbage, sizeof(garbage) - 1) == NULL);
    CHECK(cry_pkey_private_from_pem((const uint8_t *)"", 0) == NULL);
    CHECK(load_priv(p256, 0, "secret") == NULL); /* encrypted: refused, no prompt */
    uint8_t pt[97];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(p256, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len);
    CHECK(len == 65);
    CHECK(cry_pkey_ec_public(CRY_KEY_EC_P384, pt, len) == NULL); /* wrong curve length */
    CHECK(cry_pkey_ec_public(CRY_KEY_RSA, pt, len) == NULL);
    CHECK(cry_pkey_ec_public(CRY_KEY_EC_P256, pt, 33) == NULL);
    pt[64] ^= 1;
    CHECK(cry_pkey_ec_public(CRY_KEY_EC_P256, pt, len) == NULL); /* off the curve */
    pt[64] ^= 1;
    pt[0] = 0x06;
    CHECK(cry_pkey_ec_public(CRY_KEY_EC_P256, pt, len) == NULL);
    uint8_t n_even[256], e3[1] = {3}, e2[1] = {2}, e1[1] = {1};
    memset(n_even, 0xc4, sizeof(n_even));
    CHECK(cry_pkey_rsa_public(n_even, sizeof(n_even), e3, 1) == NULL);
    n_even[255] |= 1;
    cry_pkey *odd = cry_pkey_rsa_public(n_even, sizeof(n_even), e3, 1);
    CHECK(odd != NULL); /* only structural checks here; bits policy is the caller's */
    cry_pkey_free(odd);
    CHECK(cry_pkey_rsa_public(n_even, sizeof(n_even), e2, 1) == NULL);
    CHECK(cry_pkey_rsa_public(n_even, sizeof(n_even), e1, 1) == NULL);
    CHECK(cry_pkey_rsa_public(n_even, 0, e3, 1) == NULL);

done:
    cry_pkey_free(rsa_priv);
    cry_pkey_free(rsa_pub);
    cry_pkey_free(rsa_trad);
    cry_pkey_free(rsa2_pub);
    cry_pkey_free(p256_priv);
    cry_pkey_free(p256_pub);
    cry_pkey_free(p256_trad);
    cry_pkey_free(p384_priv);
    cry_pkey_free(p384_pub);
    cry_pkey_free(p521_priv);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p521);
}

/* ---- static RSA ----------------------------------------------------------------------------- */

/* Pins OpenSSL 3.0's implicit rejection: bad padding gives success and 48 random bytes. */
static void test_openssl_tls_padding(EVP_PKEY *rsa, const uint8_t *ct, size_t ct_len,
                                     const uint8_t *pms)
{
    uint8_t bad[256], out[48];
    size_t out_len = sizeof(out);
    unsigned int v = 0x0303;
    OSSL_PARAM p[2] = {
        OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &v),
        OSSL_PARAM_construct_end(),
    };
    memcpy(bad, ct, ct_len);
    bad[7] ^= 1;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, rsa, NULL);
    CHECK(EVP_PKEY_decrypt_init(c) == 1);
    CHECK(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_WITH_TLS_PADDING) == 1);
    CHECK(EVP_PKEY_CTX_set_params(c, p) == 1);
    ERR_clear_error();
    CHECK_EQ(EVP_PKEY_decrypt(c, out, &out_len, bad, ct_len), 1);
    CHECK_EQ(out_len, 48);
    CHECK(memcmp(out, pms, 48) != 0);
    CHECK_EQ(ERR_peek_error(), 0); /* and no error raised */
    EVP_PKEY_CTX_free(c);
}

/* Rejection is implicit: 1, and 48 bytes that are neither the premaster nor repeatable. */
static void check_rejected(const cry_pkey *priv, const uint8_t *in, size_t len, uint16_t version,
                           const uint8_t *pms)
{
    uint8_t a[48], b[48];
    CHECK(cry_rsa_decrypt_premaster(priv, in, len, version, a));
    CHECK(cry_rsa_decrypt_premaster(priv, in, len, version, b));
    CHECK(memcmp(a, pms, 48) != 0 && memcmp(a + 2, pms + 2, 46) != 0);
    CHECK(memcmp(a, b, 48) != 0); /* fresh random bytes each time */
}

/* RSA with no padding of a block built here (k = 256 bytes). */
static int raw_encrypt(EVP_PKEY *rsa, const uint8_t block[256], uint8_t ct[256])
{
    size_t len = 256;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, rsa, NULL);
    int ok = c && EVP_PKEY_encrypt_init(c) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_encrypt(c, ct, &len, block, 256) == 1 && len == 256;
    EVP_PKEY_CTX_free(c);
    return ok;
}

/* The padding check byte by byte (RFC 8017 7.2.2, RFC 5246 7.4.7.1): 00 02 PS(nonzero) 00 M(48)
 * with M starting with client_version is accepted and nothing else, wherever the fault is. */
static void test_rsa_kex_blocks(EVP_PKEY *rsa, const cry_pkey *priv)
{
    enum { GOOD, TYPE0, TYPE1, ZERO_FIRST_PS, ZERO_MID_PS, ZERO_LAST_PS, NO_SEPARATOR, VERSION_HI,
           VERSION_LO, HIGH_PS, COUNT };
    for (int kind = GOOD; kind < COUNT; kind++) {
        uint8_t block[256], ct[256], out[48], pms[48];
        size_t m = 256 - 48;
        block[0] = 0x00;
        block[1] = 0x02;
        for (size_t i = 2; i < m - 1; i++)
            block[i] = (uint8_t)(1 + i % 255);
        block[m - 1] = 0x00;
        cry_random(pms, sizeof(pms));
        pms[0] = 0x03;
        pms[1] = 0x03;
        memcpy(block + m, pms, 48);
        switch (kind) {
        case TYPE0: block[0] = 0x01; break;
        case TYPE1: block[1] = 0x01; break;
        case ZERO_FIRST_PS: block[2] = 0x00; break;
        case ZERO_MID_PS: block[100] = 0x00; break;
        case ZERO_LAST_PS: block[m - 2] = 0x00; break;
        case NO_SEPARATOR: block[m - 1] = 0x80; break;
        case VERSION_HI: block[m] = 0x02; break;
        case VERSION_LO: block[m + 1] = 0x02; break;
        case HIGH_PS: memset(block + 2, 0xff, m - 3); break;
        }
        CHECK(raw_encrypt(rsa, block, ct));
        CHECK(cry_rsa_decrypt_premaster(priv, ct, 256, 0x0303, out));
        int accepted = memcmp(out, block + m, 48) == 0;
        if (accepted != (kind == GOOD || kind == HIGH_PS))
            fprintf(stderr, "RSA premaster block kind %d: accepted %d\n", kind, accepted);
        CHECK_EQ(accepted, kind == GOOD || kind == HIGH_PS);
    }
}

static void test_rsa_kex(void)
{
    EVP_PKEY *rsa = gen_rsa();
    cry_pkey *priv = load_priv(rsa, 0, NULL), *pub = load_pub(rsa, CRY_KEY_RSA);
    EVP_PKEY *ecp = gen_ec("P-256");
    cry_pkey *ec_priv = load_priv(ecp, 0, NULL);
    uint8_t pms[48], ct[300], out[48], bad[300];
    size_t ct_len = 0;
    CHECK(priv && pub && ec_priv);
    if (!(priv && pub && ec_priv))
        goto done;

    cry_random(pms, sizeof(pms));
    pms[0] = 0x03;
    pms[1] = 0x03;
    CHECK(!cry_rsa_encrypt_pkcs1(pub, pms, 48, ct, 255, &ct_len)); /* cap too small */
    CHECK(cry_rsa_encrypt_pkcs1(pub, pms, 48, ct, sizeof(ct), &ct_len));
    CHECK_EQ(ct_len, 256);
    CHECK(!cry_rsa_encrypt_pkcs1(ec_priv, pms, 48, bad, sizeof(bad), &ct_len));
    CHECK_EQ(ct_len, 256);

    /* good */
    CHECK(cry_rsa_decrypt_premaster(priv, ct, ct_len, 0x0303, out));
    CHECK_MEM(out, pms, 48);

    /* wrong client_version: 1 with 48 bytes that are not the premaster */
    check_rejected(priv, ct, ct_len, 0x0302, pms);
    check_rejected(priv, ct, ct_len, 0x0304, pms); /* no rollback workaround */

    /* bad padding: a flipped ciphertext bit */
    memcpy(bad, ct, ct_len);
    bad[100] ^= 0x08;
    check_rejected(priv, bad, ct_len, 0x0303, pms);

    /* a premaster of the wrong length inside good padding */
    CHECK(cry_rsa_encrypt_pkcs1(pub, pms, 47, bad, sizeof(bad), &ct_len));
    check_rejected(priv, bad, ct_len, 0x0303, pms);

    /* wrong ciphertext lengths, and a value >= n */
    check_rejected(priv, ct, 255, 0x0303, pms);
    memcpy(bad, ct, 256);
    bad[256] = 0;
    check_rejected(priv, bad, 257, 0x0303, pms);
    check_rejected(priv, NULL, 0, 0x0303, pms);
    memset(bad, 0xff, 256);
    check_rejected(priv, bad, 256, 0x0303, pms);
    CHECK_EQ(ERR_peek_error(), 0); /* nothing left on the OpenSSL error queue */

    /* and the good one still works afterwards */
    CHECK(cry_rsa_decrypt_premaster(priv, ct, 256, 0x0303, out));
    CHECK_MEM(out, pms, 48);

    /* misuse: not an RSA key, or a public key only -> 0 (internal failure) */
    CHECK(!cry_rsa_decrypt_premaster(ec_priv, ct, 256, 0x0303, out));
    CHECK(!cry_rsa_decrypt_premaster(NULL, ct, 256, 0x0303, out));
    CHECK(!cry_rsa_decrypt_premaster(pub, ct, 256, 0x0303, out));

    test_openssl_tls_padding(rsa, ct, 256, pms);
    test_rsa_kex_blocks(rsa, priv);

done:
    cry_pkey_free(priv);
    cry_pkey_free(pub);
    cry_pkey_free(ec_priv);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ecp);
}

int main(void)
{
    test_basics();
    test_hash();
    test_hmac();
    test_aead();
    test_kex();
    test_keys_and_signatures();
    test_rsa_kex();
    return t_done();
}
