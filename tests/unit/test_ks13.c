/*
 * test_ks13.c -- the TLS 1.3 key schedule (src/keysched/ks13.c), HKDF (src/crypto/hkdf.c) and the
 * keying-material exporters of both versions (ks13_export, ks12_export in export12.c).
 *
 * Known answers, read from tests/vectors/ (values copied from the RFC texts):
 *   - RFC 5869 test cases 1-3 (HKDF-SHA-256), Extract and Expand;
 *   - RFC 8448 sections 3 (1-RTT), 4 (resumed, with PSK binder and early secrets), 5
 *     (HelloRetryRequest: the message_hash transcript) and 6 (client authentication): every
 *     secret, traffic key and iv, Finished key and verify_data the RFC prints, the transcript
 *     hashes computed here from the RFC's handshake messages and compared with the ones it
 *     prints, the shared secrets recomputed from its private keys, and the section 3 ticket
 *     giving the section 4 PSK.
 * Differential, against libcrypto's own KDFs (an independent implementation): HKDF with SHA-256
 * and SHA-384 on random inputs (EVP_KDF "HKDF"), HKDF-Expand-Label at its label and context
 * bounds and the KeyUpdate secret (EVP_KDF "TLS13-KDF").  Against libssl, two OpenSSL endpoints
 * in memory: the TLS 1.3 exporter from the EXPORTER_SECRET OpenSSL logs, and the TLS 1.2 RFC 5705
 * exporter from the session's master secret and randoms, each compared with
 * SSL_export_keying_material, with and without a context.
 * Negative: every stage out of order, the RFC 8446 7.1 length bounds, secrets gone (and zeroed)
 * after the stage that no longer needs them, tampered Finished values and binders.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "common/vectors.h"
#include "keysched/ks.h"
#include "t.h"

/* ---- the vectors files (tests/common/vectors.c) ------------------------------------------- */

static const struct vec *V(const char *sec, const char *name)
{
    return vector(sec, name);
}

static void print_hex(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s ", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02x", p[i]);
    fprintf(stderr, "\n");
}

static bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* Compares `got` with the RFC's value sec.name.  Counts per section: comparisons, and distinct
 * RFC values compared (some are compared twice: the shared secret from both sides, ...). */
static int rfc_cmps, rfc_equal;
static const struct vec *rfc_seen[256];
static size_t rfc_nseen;

static void cmp(const char *sec, const char *name, const uint8_t *got, size_t len)
{
    const struct vec *want = V(sec, name);
    size_t i;
    for (i = 0; i < rfc_nseen && rfc_seen[i] != want; i++)
        ;
    if (i == rfc_nseen && rfc_nseen < sizeof rfc_seen / sizeof rfc_seen[0])
        rfc_seen[rfc_nseen++] = want;
    rfc_cmps++;
    if (want->len == len && memcmp(got, want->v, len) == 0) {
        rfc_equal++;
        t_pass++;
        return;
    }
    t_fail++;
    fprintf(stderr, "RFC 8448 %s.%s differs:\n", sec, name);
    print_hex("got ", got, len);
    print_hex("want", want->v, want->len);
}

/* ---- RFC 5869 --------------------------------------------------------------------------- */

static void rfc5869(void)
{
    for (int t = 1; t <= 3; t++) {
        char sec[4];
        snprintf(sec, sizeof sec, "t%d", t);
        const struct vec *ikm = V(sec, "ikm"), *salt = V(sec, "salt"), *info = V(sec, "info"),
                         *prk = V(sec, "prk"), *okm = V(sec, "okm");
        uint8_t p[32], o[128];
        CHECK(cry_hkdf_extract(CRY_SHA256, salt->v, salt->len, ikm->v, ikm->len, p));
        CHECK_MEM(p, prk->v, 32);
        memset(o, 0, sizeof o);
        CHECK(cry_hkdf_expand(CRY_SHA256, prk->v, prk->len, info->v, info->len, o, okm->len));
        CHECK_MEM(o, okm->v, okm->len);
        /* the same from an HMAC keyed once, used twice */
        cry_hmac *m = cry_hmac_new(CRY_SHA256, prk->v, prk->len);
        for (int round = 0; round < 2; round++) {
            memset(o, 0, sizeof o);
            CHECK(cry_hkdf_expand_mac(m, CRY_SHA256, info->v, info->len, o, okm->len));
            CHECK_MEM(o, okm->v, okm->len);
        }
        cry_hmac_free(m);
    }
    /* Test case 3 has no salt: NULL and "" are the same, and both are HashLen zeros. */
    const struct vec *ikm = V("t3", "ikm"), *prk = V("t3", "prk");
    uint8_t zeros[32] = {0}, p[32];
    CHECK(cry_hkdf_extract(CRY_SHA256, NULL, 0, ikm->v, ikm->len, p));
    CHECK_MEM(p, prk->v, 32);
    CHECK(cry_hkdf_extract(CRY_SHA256, zeros, 32, ikm->v, ikm->len, p));
    CHECK_MEM(p, prk->v, 32);
}

/* ---- HKDF against EVP_KDF("HKDF") -------------------------------------------------------- */

static void evp_hkdf(const char *md, int mode, const uint8_t *key, size_t key_len,
                     const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
                     uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[6], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    CHECK(EVP_KDF_derive(ctx, out, out_len, params) == 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void hkdf_differential(void)
{
    for (int i = 0; i < 200; i++) {
        cry_hash_alg alg = i % 2 ? CRY_SHA384 : CRY_SHA256;
        const char *md = i % 2 ? "SHA384" : "SHA256";
        size_t hl = cry_hash_len(alg);
        uint8_t salt[100], ikm[100], info[300], prk[48], want_prk[48], out[600], want[600];
        size_t sl = (size_t)i % 100, il = 1 + (size_t)(i * 7) % 99, fl = (size_t)(i * 13) % 300;
        size_t n = 1 + (size_t)(i * 29) % 600;
        RAND_bytes(salt, sizeof salt);
        RAND_bytes(ikm, sizeof ikm);
        RAND_bytes(info, sizeof info);
        CHECK(cry_hkdf_extract(alg, salt, sl, ikm, il, prk));
        evp_hkdf(md, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, il, salt, sl, NULL, 0, want_prk, hl);
        CHECK_MEM(prk, want_prk, hl);
        CHECK(cry_hkdf_expand(alg, prk, hl, info, fl, out, n));
        evp_hkdf(md, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, hl, NULL, 0, info, fl, want, n);
        CHECK_MEM(out, want, n);
    }
}

static void hkdf_bounds(void)
{
    uint8_t prk[48] = {1}, out[255 * 48 + 1];
    /* RFC 5869 2.3: L <= 255*HashLen */
    CHECK(cry_hkdf_expand(CRY_SHA256, prk, 32, NULL, 0, out, 255 * 32));
    CHECK(!cry_hkdf_expand(CRY_SHA256, prk, 32, NULL, 0, out, 255 * 32 + 1));
    CHECK(cry_hkdf_expand(CRY_SHA384, prk, 48, NULL, 0, out, 255 * 48));
    CHECK(!cry_hkdf_expand(CRY_SHA384, prk, 48, NULL, 0, out, 255 * 48 + 1));
    /* PRK "of at least HashLen octets" */
    CHECK(!cry_hkdf_expand(CRY_SHA384, prk, 47, NULL, 0, out, 48));
    /* SHA-256 and SHA-384 only */
    CHECK(!cry_hkdf_extract(CRY_SHA512, NULL, 0, prk, 32, out));
    CHECK(!cry_hkdf_expand(CRY_SHA1, prk, 48, NULL, 0, out, 20));
}

/* ---- HKDF-Expand-Label against EVP_KDF("TLS13-KDF") -------------------------------------- */

static void tls13_kdf(const char *md, const uint8_t *secret, size_t sl, const char *label,
                      size_t ll, const uint8_t *ctx, size_t cl, uint8_t *out, size_t n)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    uint8_t dummy = 0;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, sl),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, "tls13 ", 6),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, ll),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, cl ? (void *)ctx : &dummy, cl),
        OSSL_PARAM_construct_end(),
    };
    CHECK(kdf != NULL && kctx != NULL);
    CHECK(EVP_KDF_derive(kctx, out, n, params) == 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
}

static void expand_label_bounds(void)
{
    uint8_t secret[48], ctx[256], out[64], want[64];
    char label[251];
    RAND_bytes(secret, sizeof secret);
    RAND_bytes(ctx, sizeof ctx);
    memset(label, 'x', sizeof label);
    for (int a = 0; a < 2; a++) {
        cry_hash_alg alg = a ? CRY_SHA384 : CRY_SHA256;
        const char *md = a ? "SHA384" : "SHA256";
        size_t hl = cry_hash_len(alg);
        /* RFC 8446 7.1: opaque label<7..255> = "tls13 " + Label: 1..249 bytes of Label */
        CHECK_ERR(ks13_expand_label(alg, secret, hl, label, 0, NULL, 0, out, 16),
                  MTLS_ERR_INVALID_ARG);
        for (size_t ll = 1; ll <= 249; ll += 248) {
            CHECK_ERR(ks13_expand_label(alg, secret, hl, label, ll, ctx, 7, out, 40), MTLS_OK);
            tls13_kdf(md, secret, hl, label, ll, ctx, 7, want, 40);
            CHECK_MEM(out, want, 40);
        }
        CHECK_ERR(ks13_expand_label(alg, secret, hl, label, 250, NULL, 0, out, 16),
                  MTLS_ERR_INVALID_ARG);
        /* opaque context<0..255> */
        CHECK_ERR(ks13_expand_label(alg, secret, hl, "key", 3, ctx, 255, out, 33), MTLS_OK);
        tls13_kdf(md, secret, hl, "key", 3, ctx, 255, want, 33);
        CHECK_MEM(out, want, 33);
        CHECK_ERR(ks13_expand_label(alg, secret, hl, "key", 3, ctx, 256, out, 16),
                  MTLS_ERR_INVALID_ARG);
        /* uint16 length, and HKDF's 255 * HashLen */
        static uint8_t big[255 * 48 + 1];
        CHECK_ERR(ks13_expand_label(alg, secret, hl, "key", 3, NULL, 0, big, 255 * hl), MTLS_OK);
        CHECK_ERR(ks13_expand_label(alg, secret, hl, "key", 3, NULL, 0, big, 255 * hl + 1),
                  MTLS_ERR_INVALID_ARG);
        /* a secret shorter than HashLen is no PRK */
        CHECK_ERR(ks13_expand_label(alg, secret, hl - 1, "key", 3, NULL, 0, out, 16),
                  MTLS_ERR_INVALID_ARG);
        /* an empty context is the zero-length vector, whether NULL or not */
        uint8_t a1[16], a2[16];
        CHECK_ERR(ks13_expand_label(alg, secret, hl, "iv", 2, NULL, 0, a1, 16), MTLS_OK);
        CHECK_ERR(ks13_expand_label(alg, secret, hl, "iv", 2, ctx, 0, a2, 16), MTLS_OK);
        CHECK_MEM(a1, a2, 16);
        tls13_kdf(md, secret, hl, "iv", 2, NULL, 0, want, 16);
        CHECK_MEM(a1, want, 16);
    }
    CHECK_ERR(ks13_expand_label(CRY_SHA512, secret, 48, "key", 3, NULL, 0, out, 16),
              MTLS_ERR_INVALID_ARG);
}

/* ---- RFC 8448 ---------------------------------------------------------------------------- */

/* One of the RFC's handshakes: which messages, in which order, make each transcript. */
struct trace {
    const char *sec;
    uint16_t group;        /* of the (EC)DHE share the server chose */
    bool resumed;          /* section 4: PSK, binder, early secrets */
    bool hrr;              /* section 5: ch1, hrr, then ch2 */
    const char *server[6]; /* after ServerHello up to, not including, server Finished */
    const char *client[4]; /* after server Finished up to, not including, client Finished */
};

static void transcript_add(cry_hash *h, const char *sec, const char *msg)
{
    const struct vec *m = V(sec, msg);
    CHECK(cry_hash_update(h, m->v, m->len));
}

/* The Finished message: type 20, length HashLen, verify_data (RFC 8446 4.4.4). */
static void check_finished_msg(const char *sec, const char *name, const uint8_t *verify_data)
{
    uint8_t msg[4 + 32] = {20, 0, 0, 32};
    memcpy(msg + 4, verify_data, 32);
    cmp(sec, name, msg, sizeof msg);
}

static void check_secret(const ks13 *ks, ks13_secret which, const char *sec, const char *name)
{
    uint8_t s[KS13_MAX_HASH];
    size_t n = 0;
    CHECK_ERR(ks13_get(ks, which, s, sizeof s, &n), MTLS_OK);
    CHECK_EQ(n, 32);
    cmp(sec, name, s, n);
}

static void check_keys(const ks13 *ks, ks13_secret which, const char *sec, const char *prefix)
{
    uint8_t key[16], iv[12];
    char kn[32], ivn[32];
    CHECK_ERR(ks13_traffic_keys(ks, which, key, sizeof key, iv), MTLS_OK);
    snprintf(kn, sizeof kn, "%s_key", prefix);
    snprintf(ivn, sizeof ivn, "%s_iv", prefix);
    cmp(sec, kn, key, sizeof key);
    cmp(sec, ivn, iv, sizeof iv);
}

/* The shared secret from both sides' private keys; the public keys from the private ones. */
static void check_ecdhe(const struct trace *t, uint8_t *shared, size_t *shared_len)
{
    const struct vec *cpriv = V(t->sec, "client_priv"), *spriv = V(t->sec, "server_priv");
    const struct vec *cpub = V(t->sec, "client_pub"), *spub = V(t->sec, "server_pub");
    cry_kex *c = cry_kex_new_private(t->group, cpriv->v, cpriv->len);
    cry_kex *s = cry_kex_new_private(t->group, spriv->v, spriv->len);
    uint8_t pub[97], out[48];
    size_t n = 0;
    CHECK(c != NULL && s != NULL);
    if (c == NULL || s == NULL)
        exit(t_done());
    CHECK(cry_kex_public(c, pub, sizeof pub, &n));
    cmp(t->sec, "client_pub", pub, n);
    CHECK(cry_kex_public(s, pub, sizeof pub, &n));
    cmp(t->sec, "server_pub", pub, n);
    CHECK(cry_kex_derive(c, spub->v, spub->len, out, sizeof out, &n));
    cmp(t->sec, "ecdhe", out, n);
    CHECK(cry_kex_derive(s, cpub->v, cpub->len, shared, 48, shared_len));
    cmp(t->sec, "ecdhe", shared, *shared_len);
    cry_kex_free(c);
    cry_kex_free(s);
    if (t->hrr) { /* the X25519 share of ClientHello1, never used */
        const struct vec *p1 = V(t->sec, "client_priv1");
        cry_kex *c1 = cry_kex_new_private(29, p1->v, p1->len);
        CHECK(c1 != NULL && cry_kex_public(c1, pub, sizeof pub, &n));
        cmp(t->sec, "client_pub1", pub, n);
        cry_kex_free(c1);
    }
}

/* The ClientHello's random, for the key log. */
static const uint8_t *client_random(const char *sec)
{
    return V(sec, streq(sec, "s5") ? "ch2" : "ch")->v + 6;
}

static void check_keylog(const ks13 *ks, ks13_secret which, const char *sec, const char *label,
                         const char *secret_name)
{
    char line[KS13_KEYLOG_MAX], want[KS13_KEYLOG_MAX];
    const uint8_t *cr = client_random(sec);
    const struct vec *s = V(sec, secret_name);
    size_t n = (size_t)snprintf(want, sizeof want, "%s ", label);
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(want + n, sizeof want - n, "%02x", cr[i]);
    want[n++] = ' ';
    for (size_t i = 0; i < s->len; i++)
        n += (size_t)snprintf(want + n, sizeof want - n, "%02x", s->v[i]);
    CHECK_ERR(ks13_keylog_line(ks, which, cr, line, sizeof line), MTLS_OK);
    CHECK(strcmp(line, want) == 0);
    /* one byte short of the line and its NUL */
    CHECK_ERR(ks13_keylog_line(ks, which, cr, line, strlen(want)), MTLS_ERR_INVALID_ARG);
}

static void rfc8448(const struct trace *t)
{
    const char *sec = t->sec;
    rfc_cmps = rfc_equal = 0;
    rfc_nseen = 0;
    uint8_t th[32], s[48], fin[32], ecdhe[48];
    size_t ecdhe_len = 0, n = 0;
    ks13 ks;
    cry_hash *h = cry_hash_new(CRY_SHA256);

    check_ecdhe(t, ecdhe, &ecdhe_len);
    CHECK(cry_hash_oneshot(CRY_SHA256, "", 0, th));
    cmp(sec, "empty_hash", th, 32);

    CHECK_ERR(ks13_init(&ks, CRY_SHA256), MTLS_OK);
    if (!t->resumed) {
        CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_OK);
    } else {
        const struct vec *psk = V(sec, "psk"), *prefix = V(sec, "ch_prefix"), *ch = V(sec, "ch");
        CHECK_ERR(ks13_early(&ks, psk->v, psk->len), MTLS_OK);
        /* RFC 8446 4.2.11.2: the binder covers the ClientHello up to the binders list, which
         * follows as <2-byte length><1-byte length><binder> and ends the message. */
        CHECK(ch->len == prefix->len + 3 + 32 && memcmp(ch->v, prefix->v, prefix->len) == 0);
        CHECK(cry_hash_oneshot(CRY_SHA256, prefix->v, prefix->len, th));
        cmp(sec, "th_ch_prefix", th, 32);
        CHECK_ERR(ks13_get(&ks, KS13_EARLY_SECRET, s, sizeof s, &n), MTLS_OK);
        uint8_t bkey[32], fkey[32];
        CHECK_ERR(ks13_derive_secret(CRY_SHA256, s, "res binder", NULL, bkey), MTLS_OK);
        cmp(sec, "binder_key", bkey, 32);
        CHECK_ERR(ks13_expand_label(CRY_SHA256, bkey, 32, "finished", 8, NULL, 0, fkey, 32),
                  MTLS_OK);
        cmp(sec, "binder_finished_key", fkey, 32);
        CHECK_ERR(ks13_binder(&ks, false, th, fin), MTLS_OK);
        cmp(sec, "binder", fin, 32);
        cmp(sec, "binder", ch->v + prefix->len + 3, 32); /* the one the ClientHello carries */
        CHECK_ERR(ks13_binder_check(&ks, false, th, ch->v + prefix->len + 3, 32), MTLS_OK);
        /* an external PSK's binder differs ("ext binder"); a flipped bit or a short one fails */
        CHECK_ERR(ks13_binder_check(&ks, true, th, fin, 32), MTLS_ERR_BAD_FINISHED);
        fin[31] ^= 1;
        CHECK_ERR(ks13_binder_check(&ks, false, th, fin, 32), MTLS_ERR_BAD_FINISHED);
        CHECK_ERR(ks13_binder_check(&ks, false, th, ch->v + prefix->len + 3, 31),
                  MTLS_ERR_BAD_FINISHED);
        /* early traffic over the whole ClientHello */
        CHECK(cry_hash_oneshot(CRY_SHA256, ch->v, ch->len, th));
        cmp(sec, "th_ch", th, 32);
        CHECK_ERR(ks13_early_traffic(&ks, th), MTLS_OK);
        check_secret(&ks, KS13_C_E_TRAFFIC, sec, "c_e_traffic");
        check_secret(&ks, KS13_E_EXPORTER, sec, "e_exp_master");
        check_keys(&ks, KS13_C_E_TRAFFIC, sec, "c_e");
        check_keylog(&ks, KS13_C_E_TRAFFIC, sec, "CLIENT_EARLY_TRAFFIC_SECRET", "c_e_traffic");
        check_keylog(&ks, KS13_E_EXPORTER, sec, "EARLY_EXPORTER_SECRET", "e_exp_master");
    }
    check_secret(&ks, KS13_EARLY_SECRET, sec, "early_secret");
    CHECK_ERR(ks13_get(&ks, KS13_EARLY_SECRET, s, sizeof s, &n), MTLS_OK);
    CHECK_ERR(ks13_derive_secret(CRY_SHA256, s, "derived", NULL, s), MTLS_OK);
    cmp(sec, "derived_early", s, 32);

    /* ClientHello..ServerHello; after a HelloRetryRequest the transcript starts with
     * message_hash(ClientHello1) (RFC 8446 4.4.1) */
    if (t->hrr) {
        const struct vec *ch1 = V(sec, "ch1");
        uint8_t mh[4 + 48];
        CHECK(cry_hash_oneshot(CRY_SHA256, ch1->v, ch1->len, th));
        CHECK_ERR(ks13_message_hash(CRY_SHA256, th, mh, sizeof mh, &n), MTLS_OK);
        CHECK(n == 36 && mh[0] == 254 && mh[1] == 0 && mh[2] == 0 && mh[3] == 32);
        CHECK_ERR(ks13_message_hash(CRY_SHA256, th, mh, 35, &n), MTLS_ERR_INVALID_ARG);
        CHECK(cry_hash_update(h, mh, 36));
        transcript_add(h, sec, "hrr");
        transcript_add(h, sec, "ch2");
    } else {
        transcript_add(h, sec, "ch");
    }
    transcript_add(h, sec, "sh");
    CHECK(cry_hash_peek(h, th));
    cmp(sec, "th_ch_sh", th, 32);

    CHECK_ERR(ks13_handshake(&ks, ecdhe, ecdhe_len, th), MTLS_OK);
    check_secret(&ks, KS13_HANDSHAKE_SECRET, sec, "handshake_secret");
    check_secret(&ks, KS13_C_HS_TRAFFIC, sec, "c_hs_traffic");
    check_secret(&ks, KS13_S_HS_TRAFFIC, sec, "s_hs_traffic");
    check_keys(&ks, KS13_S_HS_TRAFFIC, sec, "s_hs");
    check_keys(&ks, KS13_C_HS_TRAFFIC, sec, "c_hs");
    check_keylog(&ks, KS13_C_HS_TRAFFIC, sec, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "c_hs_traffic");
    check_keylog(&ks, KS13_S_HS_TRAFFIC, sec, "SERVER_HANDSHAKE_TRAFFIC_SECRET", "s_hs_traffic");
    CHECK_ERR(ks13_get(&ks, KS13_HANDSHAKE_SECRET, s, sizeof s, &n), MTLS_OK);
    CHECK_ERR(ks13_derive_secret(CRY_SHA256, s, "derived", NULL, s), MTLS_OK);
    cmp(sec, "derived_hs", s, 32);
    /* the early secrets are gone */
    CHECK_ERR(ks13_get(&ks, KS13_EARLY_SECRET, s, sizeof s, &n), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_export(&ks, true, "x", 1, NULL, 0, s, 16), MTLS_ERR_BAD_STATE);

    /* server Finished over ClientHello..CertificateVerify */
    for (int i = 0; t->server[i]; i++)
        transcript_add(h, sec, t->server[i]);
    CHECK(cry_hash_peek(h, th));
    CHECK_ERR(ks13_get(&ks, KS13_S_HS_TRAFFIC, s, sizeof s, &n), MTLS_OK);
    CHECK_ERR(ks13_expand_label(CRY_SHA256, s, 32, "finished", 8, NULL, 0, s, 32), MTLS_OK);
    cmp(sec, "s_finished_key", s, 32);
    CHECK_ERR(ks13_finished(&ks, KS13_S_HS_TRAFFIC, th, fin), MTLS_OK);
    cmp(sec, "s_verify_data", fin, 32);
    check_finished_msg(sec, "sfin", fin);
    CHECK_ERR(ks13_finished_check(&ks, KS13_S_HS_TRAFFIC, th, V(sec, "sfin")->v + 4, 32), MTLS_OK);
    fin[0] ^= 0x80;
    CHECK_ERR(ks13_finished_check(&ks, KS13_S_HS_TRAFFIC, th, fin, 32), MTLS_ERR_BAD_FINISHED);
    CHECK_ERR(ks13_finished_check(&ks, KS13_C_HS_TRAFFIC, th, V(sec, "sfin")->v + 4, 32),
              MTLS_ERR_BAD_FINISHED); /* the client's key does not make the server's Finished */
    transcript_add(h, sec, "sfin");
    CHECK(cry_hash_peek(h, th));
    cmp(sec, "th_ch_sf", th, 32);

    CHECK_ERR(ks13_master(&ks, th), MTLS_OK);
    check_secret(&ks, KS13_MASTER_SECRET, sec, "master_secret");
    check_secret(&ks, KS13_C_AP_TRAFFIC, sec, "c_ap_traffic");
    check_secret(&ks, KS13_S_AP_TRAFFIC, sec, "s_ap_traffic");
    check_secret(&ks, KS13_EXPORTER, sec, "exp_master");
    check_keys(&ks, KS13_S_AP_TRAFFIC, sec, "s_ap");
    check_keys(&ks, KS13_C_AP_TRAFFIC, sec, "c_ap");
    check_keylog(&ks, KS13_C_AP_TRAFFIC, sec, "CLIENT_TRAFFIC_SECRET_0", "c_ap_traffic");
    check_keylog(&ks, KS13_S_AP_TRAFFIC, sec, "SERVER_TRAFFIC_SECRET_0", "s_ap_traffic");
    check_keylog(&ks, KS13_EXPORTER, sec, "EXPORTER_SECRET", "exp_master");
    /* the handshake secret and the server's handshake traffic secret are gone, and zero */
    CHECK_ERR(ks13_get(&ks, KS13_HANDSHAKE_SECRET, s, sizeof s, &n), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finished(&ks, KS13_S_HS_TRAFFIC, th, fin), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_keylog_line(&ks, KS13_S_HS_TRAFFIC, client_random(sec), (char *)s, 0),
              MTLS_ERR_BAD_STATE);
    static const uint8_t zero[KS13_MAX_HASH];
    CHECK_MEM(ks.s[KS13_HANDSHAKE_SECRET], zero, KS13_MAX_HASH);
    CHECK_MEM(ks.s[KS13_S_HS_TRAFFIC], zero, KS13_MAX_HASH);
    CHECK_MEM(ks.s[KS13_EARLY_SECRET], zero, KS13_MAX_HASH);

    /* client Finished over ClientHello..server Finished [EndOfEarlyData] [Certificate,
     * CertificateVerify] */
    for (int i = 0; t->client[i]; i++)
        transcript_add(h, sec, t->client[i]);
    CHECK(cry_hash_peek(h, th));
    CHECK_ERR(ks13_get(&ks, KS13_C_HS_TRAFFIC, s, sizeof s, &n), MTLS_OK);
    CHECK_ERR(ks13_expand_label(CRY_SHA256, s, 32, "finished", 8, NULL, 0, s, 32), MTLS_OK);
    cmp(sec, "c_finished_key", s, 32);
    CHECK_ERR(ks13_finished(&ks, KS13_C_HS_TRAFFIC, th, fin), MTLS_OK);
    cmp(sec, "c_verify_data", fin, 32);
    check_finished_msg(sec, "cfin", fin);
    CHECK_ERR(ks13_finished_check(&ks, KS13_C_HS_TRAFFIC, th, V(sec, "cfin")->v + 4, 32), MTLS_OK);
    CHECK_ERR(ks13_finished_check(&ks, KS13_C_HS_TRAFFIC, th, fin, 48), MTLS_ERR_BAD_FINISHED);
    transcript_add(h, sec, "cfin");
    CHECK(cry_hash_peek(h, th));
    cmp(sec, "th_ch_cf", th, 32);

    CHECK_ERR(ks13_finish(&ks, th), MTLS_OK);
    check_secret(&ks, KS13_RESUMPTION, sec, "res_master");
    CHECK_ERR(ks13_get(&ks, KS13_MASTER_SECRET, s, sizeof s, &n), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_get(&ks, KS13_C_HS_TRAFFIC, s, sizeof s, &n), MTLS_ERR_BAD_STATE);
    CHECK_MEM(ks.s[KS13_MASTER_SECRET], zero, KS13_MAX_HASH);
    CHECK_MEM(ks.s[KS13_C_HS_TRAFFIC], zero, KS13_MAX_HASH);
    /* still there for the connection: application secrets, exporter */
    check_secret(&ks, KS13_C_AP_TRAFFIC, sec, "c_ap_traffic");
    check_secret(&ks, KS13_EXPORTER, sec, "exp_master");
    /* the object's exporter is the primitive over the exporter master secret */
    uint8_t e1[40], e2[40];
    CHECK_ERR(ks13_export(&ks, false, "EXPORTER-test", 13, (const uint8_t *)"ctx", 3, e1, 40),
              MTLS_OK);
    CHECK_ERR(ks13_exporter(CRY_SHA256, V(sec, "exp_master")->v, "EXPORTER-test", 13,
                            (const uint8_t *)"ctx", 3, e2, 40),
              MTLS_OK);
    CHECK_MEM(e1, e2, 40);

    if (streq(sec, "s3")) {
        /* The NewSessionTicket: lifetime(4) age_add(4) ticket_nonce<0..255> ...; its PSK is the
         * one section 4 resumes with (RFC 8446 4.6.1). */
        const struct vec *nst = V(sec, "nst");
        size_t nl = nst->v[4 + 8];
        CHECK(nst->v[0] == 4 && nst->len > 4 + 9 + nl);
        cmp(sec, "ticket_nonce", nst->v + 4 + 9, nl);
        CHECK_ERR(ks13_resumption_psk(&ks, nst->v + 4 + 9, nl, s), MTLS_OK);
        cmp(sec, "resumption_psk", s, 32);
        cmp("s4", "psk", s, 32);
    }
    ks13_clear(&ks);
    static const ks13 cleared;
    CHECK(memcmp(&ks, &cleared, sizeof ks) == 0);
    CHECK_ERR(ks13_get(&ks, KS13_C_AP_TRAFFIC, s, sizeof s, &n), MTLS_ERR_BAD_STATE);
    cry_hash_free(h);
    printf("RFC 8448 section %s: %zu distinct values of the RFC checked in %d comparisons, "
           "%d equal\n",
           sec + 1, rfc_nseen, rfc_cmps, rfc_equal);
}

static const struct trace traces[] = {
    {"s3", 29, false, false, {"ee", "scert", "scv"}, {NULL}},
    {"s4", 29, true, false, {"ee"}, {"eoed"}},
    {"s5", 23, false, true, {"ee", "scert", "scv"}, {NULL}},
    {"s6", 29, false, false, {"ee", "cr", "scert", "scv"}, {"ccert", "ccv"}},
};

/* ---- SHA-384, psk_ke, KeyUpdate: against an independent computation ---------------------- */

/* Derive-Secret and Expand-Label by libcrypto's TLS13-KDF; Extract by its HKDF. */
static void ind_derive(const char *md, size_t hl, const uint8_t *secret, const char *label,
                       const uint8_t *th, uint8_t *out)
{
    tls13_kdf(md, secret, hl, label, strlen(label), th, hl, out, hl);
}

static void ind_extract(const char *md, size_t hl, const uint8_t *salt, const uint8_t *ikm,
                        size_t ikm_len, uint8_t *out)
{
    static const uint8_t zeros[48];
    evp_hkdf(md, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt ? salt : zeros, hl, NULL, 0,
             out, hl);
}

static void check_held(const ks13 *ks, ks13_secret which, const uint8_t *want, size_t hl)
{
    uint8_t s[KS13_MAX_HASH];
    size_t n = 0;
    CHECK_ERR(ks13_get(ks, which, s, sizeof s, &n), MTLS_OK);
    CHECK(n == hl && memcmp(s, want, hl) == 0);
}

/* A whole schedule on random inputs, every secret, key and Finished value compared with the
 * independent computation: SHA-384 (which RFC 8448 has no trace for) and SHA-256, each with and
 * without a PSK, with and without (EC)DHE (psk_ke). */
static void independent_schedule(cry_hash_alg alg, bool with_psk, bool with_ecdhe)
{
    const char *md = alg == CRY_SHA384 ? "SHA384" : "SHA256";
    size_t hl = cry_hash_len(alg);
    static const uint8_t zeros[48];
    uint8_t psk[48], ecdhe[48], th[4][48], empty[48], early[48], derived[48], hs[48], ms[48];
    uint8_t want[48], got[48], key[32], iv[12], wkey[32], wiv[12];
    ks13 ks;
    RAND_bytes(psk, sizeof psk);
    RAND_bytes(ecdhe, sizeof ecdhe);
    RAND_bytes(th[0], sizeof th);
    CHECK(cry_hash_oneshot(alg, "", 0, empty));

    CHECK_ERR(ks13_init(&ks, alg), MTLS_OK);
    CHECK_ERR(ks13_early(&ks, with_psk ? psk : NULL, with_psk ? hl : 0), MTLS_OK);
    ind_extract(md, hl, NULL, with_psk ? psk : zeros, hl, early);
    check_held(&ks, KS13_EARLY_SECRET, early, hl);
    if (with_psk) {
        uint8_t bkey[48], fkey[48];
        ind_derive(md, hl, early, "ext binder", empty, bkey);
        tls13_kdf(md, bkey, hl, "finished", 8, NULL, 0, fkey, hl);
        unsigned wl = 0;
        HMAC(alg == CRY_SHA384 ? EVP_sha384() : EVP_sha256(), fkey, (int)hl, th[0], hl, want, &wl);
        CHECK_ERR(ks13_binder(&ks, true, th[0], got), MTLS_OK);
        CHECK(wl == hl && memcmp(got, want, hl) == 0);
        CHECK_ERR(ks13_early_traffic(&ks, th[0]), MTLS_OK);
        ind_derive(md, hl, early, "c e traffic", th[0], want);
        check_held(&ks, KS13_C_E_TRAFFIC, want, hl);
        ind_derive(md, hl, early, "e exp master", th[0], want);
        check_held(&ks, KS13_E_EXPORTER, want, hl);
    }
    CHECK_ERR(ks13_handshake(&ks, with_ecdhe ? ecdhe : NULL, with_ecdhe ? 32 : 0, th[1]), MTLS_OK);
    ind_derive(md, hl, early, "derived", empty, derived);
    ind_extract(md, hl, derived, with_ecdhe ? ecdhe : zeros, with_ecdhe ? 32 : hl, hs);
    check_held(&ks, KS13_HANDSHAKE_SECRET, hs, hl);
    ind_derive(md, hl, hs, "c hs traffic", th[1], want);
    check_held(&ks, KS13_C_HS_TRAFFIC, want, hl);
    /* traffic keys of a 32-byte-key AEAD (AES-256-GCM, ChaCha20-Poly1305) */
    CHECK_ERR(ks13_traffic_keys(&ks, KS13_C_HS_TRAFFIC, key, 32, iv), MTLS_OK);
    tls13_kdf(md, want, hl, "key", 3, NULL, 0, wkey, 32);
    tls13_kdf(md, want, hl, "iv", 2, NULL, 0, wiv, 12);
    CHECK(memcmp(key, wkey, 32) == 0 && memcmp(iv, wiv, 12) == 0);
    ind_derive(md, hl, hs, "s hs traffic", th[1], want);
    check_held(&ks, KS13_S_HS_TRAFFIC, want, hl);
    /* server Finished: HMAC(Expand-Label(s hs, "finished"), th) */
    uint8_t fkey[48];
    unsigned wl = 0;
    tls13_kdf(md, want, hl, "finished", 8, NULL, 0, fkey, hl);
    HMAC(alg == CRY_SHA384 ? EVP_sha384() : EVP_sha256(), fkey, (int)hl, th[2], hl, want, &wl);
    CHECK_ERR(ks13_finished(&ks, KS13_S_HS_TRAFFIC, th[2], got), MTLS_OK);
    CHECK(wl == hl && memcmp(got, want, hl) == 0);
    CHECK_ERR(ks13_finished_check(&ks, KS13_S_HS_TRAFFIC, th[2], want, hl), MTLS_OK);

    CHECK_ERR(ks13_master(&ks, th[2]), MTLS_OK);
    ind_derive(md, hl, hs, "derived", empty, derived);
    ind_extract(md, hl, derived, zeros, hl, ms);
    check_held(&ks, KS13_MASTER_SECRET, ms, hl);
    ind_derive(md, hl, ms, "c ap traffic", th[2], want);
    check_held(&ks, KS13_C_AP_TRAFFIC, want, hl);
    ind_derive(md, hl, ms, "s ap traffic", th[2], want);
    check_held(&ks, KS13_S_AP_TRAFFIC, want, hl);
    ind_derive(md, hl, ms, "exp master", th[2], want);
    check_held(&ks, KS13_EXPORTER, want, hl);
    CHECK_ERR(ks13_finish(&ks, th[3]), MTLS_OK);
    ind_derive(md, hl, ms, "res master", th[3], want);
    check_held(&ks, KS13_RESUMPTION, want, hl);
    /* a ticket's PSK from its nonce */
    uint8_t nonce[8] = {0, 1, 2, 3, 4, 5, 6, 7}, res[48];
    memcpy(res, want, hl);
    tls13_kdf(md, res, hl, "resumption", 10, nonce, 8, want, hl);
    CHECK_ERR(ks13_resumption_psk(&ks, nonce, 8, got), MTLS_OK);
    CHECK(memcmp(got, want, hl) == 0);
    ks13_clear(&ks);
}

/* RFC 8446 7.2: each KeyUpdate replaces application_traffic_secret_N by
 * Expand-Label(_N, "traffic upd", "", Hash.length); checked against TLS13-KDF, three updates in
 * each direction, from the RFC 8448 section 3 secrets and from a SHA-384 schedule. */
static void key_update(cry_hash_alg alg)
{
    const char *md = alg == CRY_SHA384 ? "SHA384" : "SHA256";
    size_t hl = cry_hash_len(alg), n = 0;
    uint8_t th[48], ecdhe[32], cur[2][48], want[48], line[KS13_KEYLOG_MAX];
    ks13 ks;
    RAND_bytes(th, sizeof th);
    RAND_bytes(ecdhe, sizeof ecdhe);
    CHECK_ERR(ks13_init(&ks, alg), MTLS_OK);
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_OK);
    CHECK_ERR(ks13_handshake(&ks, ecdhe, sizeof ecdhe, th), MTLS_OK);
    CHECK_ERR(ks13_update(&ks, KS13_C_AP_TRAFFIC), MTLS_ERR_BAD_STATE); /* none yet */
    CHECK_ERR(ks13_master(&ks, th), MTLS_OK);
    CHECK_ERR(ks13_update(&ks, KS13_C_HS_TRAFFIC), MTLS_ERR_BAD_STATE); /* not updatable */
    CHECK_ERR(ks13_update(&ks, KS13_EXPORTER), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_get(&ks, KS13_C_AP_TRAFFIC, cur[0], 48, &n), MTLS_OK);
    CHECK_ERR(ks13_get(&ks, KS13_S_AP_TRAFFIC, cur[1], 48, &n), MTLS_OK);
    /* the server may update right after its Finished (master stage); the rest after finish */
    CHECK_ERR(ks13_update(&ks, KS13_S_AP_TRAFFIC), MTLS_OK);
    tls13_kdf(md, cur[1], hl, "traffic upd", 11, NULL, 0, want, hl);
    check_held(&ks, KS13_S_AP_TRAFFIC, want, hl);
    memcpy(cur[1], want, hl);
    CHECK_ERR(ks13_finish(&ks, th), MTLS_OK);
    for (int round = 0; round < 3; round++) {
        for (int d = 0; d < 2; d++) {
            ks13_secret which = d ? KS13_S_AP_TRAFFIC : KS13_C_AP_TRAFFIC;
            CHECK_ERR(ks13_update(&ks, which), MTLS_OK);
            tls13_kdf(md, cur[d], hl, "traffic upd", 11, NULL, 0, want, hl);
            check_held(&ks, which, want, hl);
            CHECK(memcmp(want, cur[d], hl) != 0);
            memcpy(cur[d], want, hl);
        }
    }
    /* the key log names generation 0 only */
    CHECK_ERR(ks13_keylog_line(&ks, KS13_C_AP_TRAFFIC, th, (char *)line, sizeof line),
              MTLS_ERR_BAD_STATE);
    /* post-handshake authentication's Finished uses the current client secret */
    uint8_t fkey[48], fin[48], got[48];
    unsigned wl = 0;
    tls13_kdf(md, cur[0], hl, "finished", 8, NULL, 0, fkey, hl);
    HMAC(alg == CRY_SHA384 ? EVP_sha384() : EVP_sha256(), fkey, (int)hl, th, hl, fin, &wl);
    CHECK_ERR(ks13_finished(&ks, KS13_C_AP_TRAFFIC, th, got), MTLS_OK);
    CHECK(memcmp(got, fin, hl) == 0);
    ks13_clear(&ks);
}

static void key_update_rfc8448(void)
{
    /* From RFC 8448 section 3's client_application_traffic_secret_0, by way of a schedule that
     * reaches it from the RFC's inputs. */
    const struct vec *ecdhe = V("s3", "ecdhe"), *c_ap = V("s3", "c_ap_traffic");
    const char *msgs[] = {"ch", "sh", "ee", "scert", "scv", "sfin"};
    uint8_t th_sh[32], th_sf[32], want[32];
    cry_hash *h = cry_hash_new(CRY_SHA256);
    ks13 ks;
    for (int i = 0; i < 6; i++) {
        transcript_add(h, "s3", msgs[i]);
        if (i == 1)
            CHECK(cry_hash_peek(h, th_sh));
    }
    CHECK(cry_hash_peek(h, th_sf));
    CHECK_ERR(ks13_init(&ks, CRY_SHA256), MTLS_OK);
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_OK);
    CHECK_ERR(ks13_handshake(&ks, ecdhe->v, ecdhe->len, th_sh), MTLS_OK);
    CHECK_ERR(ks13_master(&ks, th_sf), MTLS_OK);
    check_held(&ks, KS13_C_AP_TRAFFIC, c_ap->v, 32);
    CHECK_ERR(ks13_update(&ks, KS13_C_AP_TRAFFIC), MTLS_OK);
    tls13_kdf("SHA256", c_ap->v, 32, "traffic upd", 11, NULL, 0, want, 32);
    check_held(&ks, KS13_C_AP_TRAFFIC, want, 32);
    cry_hash_free(h);
    ks13_clear(&ks);
}

/* ---- stages out of order, argument bounds -------------------------------------------------- */

static void stage_order(void)
{
    ks13 ks;
    uint8_t th[48] = {0}, out[64], psk[32] = {7}, ecdhe[32] = {9};
    size_t n = 0;
    static const uint8_t zero[KS13_MAX_HASH];
    memset(&ks, 0, sizeof ks); /* never initialised: nothing runs */
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_init(&ks, CRY_SHA512), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_init(&ks, CRY_SHA256), MTLS_OK);
    CHECK_ERR(ks13_handshake(&ks, ecdhe, 32, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_master(&ks, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finish(&ks, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_binder(&ks, false, th, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_early(&ks, psk, 0), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_early(&ks, NULL, 32), MTLS_ERR_INVALID_ARG);
    /* early without a PSK: no binder, no early traffic, no psk_ke */
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_OK);
    CHECK_ERR(ks13_binder(&ks, false, th, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_early_traffic(&ks, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_handshake(&ks, NULL, 0, th), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_handshake(&ks, ecdhe, 0, th), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_master(&ks, th), MTLS_ERR_BAD_STATE);
    /* with a PSK, then declined: the client starts the early stage over without it */
    CHECK_ERR(ks13_early(&ks, psk, sizeof psk), MTLS_OK);
    CHECK_ERR(ks13_binder(&ks, false, NULL, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_binder(&ks, false, th, out), MTLS_OK);
    CHECK_ERR(ks13_early_traffic(&ks, th), MTLS_OK);
    CHECK_ERR(ks13_export(&ks, true, "e", 1, NULL, 0, out, 16), MTLS_OK);
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_OK);
    CHECK_ERR(ks13_binder(&ks, false, th, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_get(&ks, KS13_C_E_TRAFFIC, out, sizeof out, &n), MTLS_ERR_BAD_STATE);
    CHECK_MEM(ks.s[KS13_C_E_TRAFFIC], zero, KS13_MAX_HASH);
    CHECK_MEM(ks.s[KS13_E_EXPORTER], zero, KS13_MAX_HASH);
    CHECK_ERR(ks13_get(&ks, KS13_EARLY_SECRET, out, 31, &n), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_handshake(&ks, ecdhe, 32, th), MTLS_OK);
    CHECK_ERR(ks13_handshake(&ks, ecdhe, 32, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finish(&ks, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_export(&ks, false, "a", 1, NULL, 0, out, 8), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_resumption_psk(&ks, th, 2, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finished(&ks, KS13_C_AP_TRAFFIC, th, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finished(&ks, KS13_HANDSHAKE_SECRET, th, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finished(&ks, KS13_C_HS_TRAFFIC, NULL, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_traffic_keys(&ks, KS13_HANDSHAKE_SECRET, out, 16, out + 16),
              MTLS_ERR_BAD_STATE); /* not a traffic secret */
    CHECK_ERR(ks13_traffic_keys(&ks, KS13_C_HS_TRAFFIC, out, 0, out + 40), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_traffic_keys(&ks, KS13_C_HS_TRAFFIC, out, 33, out + 40), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_keylog_line(&ks, KS13_HANDSHAKE_SECRET, th, (char *)out, sizeof out),
              MTLS_ERR_BAD_STATE); /* no key log label */
    CHECK_ERR(ks13_get(&ks, KS13_SECRET_COUNT, out, sizeof out, &n), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_master(&ks, NULL), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_master(&ks, th), MTLS_OK);
    CHECK_ERR(ks13_master(&ks, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_handshake(&ks, ecdhe, 32, th), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_resumption_psk(&ks, th, 2, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_export(&ks, true, "e", 1, NULL, 0, out, 16), MTLS_ERR_BAD_STATE);
    /* RFC 8446 7.5 labels go through HkdfLabel: 1..249 bytes */
    char label[250];
    memset(label, 'L', sizeof label);
    CHECK_ERR(ks13_export(&ks, false, label, 0, NULL, 0, out, 16), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_export(&ks, false, label, 249, NULL, 0, out, 16), MTLS_OK);
    CHECK_ERR(ks13_export(&ks, false, label, 250, NULL, 0, out, 16), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_export(&ks, false, label, 5, NULL, 10, out, 16), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_finish(&ks, th), MTLS_OK);
    CHECK_ERR(ks13_finish(&ks, th), MTLS_ERR_BAD_STATE);
    uint8_t nonce[256] = {0}; /* ticket_nonce<0..255> */
    CHECK_ERR(ks13_resumption_psk(&ks, nonce, 255, out), MTLS_OK);
    CHECK_ERR(ks13_resumption_psk(&ks, nonce, 256, out), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks13_resumption_psk(&ks, NULL, 0, out), MTLS_OK);
    CHECK_ERR(ks13_finished(&ks, KS13_S_AP_TRAFFIC, th, out), MTLS_ERR_BAD_STATE);
    CHECK_ERR(ks13_finished(&ks, KS13_C_AP_TRAFFIC, th, out), MTLS_OK);
    ks13_clear(&ks);
    CHECK_ERR(ks13_early(&ks, NULL, 0), MTLS_ERR_BAD_STATE);
    /* message_hash of an unsupported hash */
    CHECK_ERR(ks13_message_hash(CRY_SHA1, th, out, sizeof out, &n), MTLS_ERR_INVALID_ARG);
}

/* ---- the exporters against libssl --------------------------------------------------------- */

static char keylog_exporter[200];

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    if (strncmp(line, "EXPORTER_SECRET ", 16) == 0)
        snprintf(keylog_exporter, sizeof keylog_exporter, "%s", line + 16);
}

static void identity(EVP_PKEY **key, X509 **cert)
{
    *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_get_subject_name(x);
    CHECK(*key != NULL && x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, *key);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test_ks13", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    CHECK(X509_sign(x, *key, EVP_sha256()) > 0);
    *cert = x;
}

/* Two libssl endpoints over a BIO pair, handshaken; NULL on failure. */
static bool ssl_pair(int version, const char *suite, SSL **cs, SSL **ss)
{
    static EVP_PKEY *key;
    static X509 *cert;
    if (key == NULL)
        identity(&key, &cert);
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method()), *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    SSL_CTX_set_min_proto_version(sctx, version);
    SSL_CTX_set_max_proto_version(sctx, version);
    if (version == TLS1_3_VERSION) {
        SSL_CTX_set_ciphersuites(cctx, suite);
        SSL_CTX_set_ciphersuites(sctx, suite);
    } else {
        SSL_CTX_set_cipher_list(cctx, suite);
        SSL_CTX_set_cipher_list(sctx, suite);
    }
    SSL_CTX_set_keylog_callback(cctx, keylog_cb);
    CHECK(SSL_CTX_use_certificate(sctx, cert) == 1 && SSL_CTX_use_PrivateKey(sctx, key) == 1);
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *bc = NULL, *bs = NULL;
    CHECK(BIO_new_bio_pair(&bc, 0, &bs, 0) == 1);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    keylog_exporter[0] = '\0';
    int rc = 0, rs = 0;
    for (int i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
        if (rc != 1)
            rc = SSL_do_handshake(c);
        if (rs != 1)
            rs = SSL_do_handshake(s);
    }
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    CHECK(rc == 1 && rs == 1);
    *cs = c;
    *ss = s;
    return rc == 1 && rs == 1;
}

static void unhex_line(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b = 0;
        CHECK(sscanf(hex + 2 * i, "%2x", &b) == 1);
        out[i] = (uint8_t)b;
    }
}

static void exporter13_vs_openssl(const char *suite, cry_hash_alg alg)
{
    SSL *c, *s;
    if (!ssl_pair(TLS1_3_VERSION, suite, &c, &s))
        return;
    size_t hl = cry_hash_len(alg);
    uint8_t secret[48], ctx[100], want[100], got[100], want2[100];
    CHECK(strlen(keylog_exporter) == 64 + 1 + 2 * hl);
    unhex_line(keylog_exporter + 65, secret, hl);
    RAND_bytes(ctx, sizeof ctx);
    static const char label[] = "EXPORTER-mtls-test";
    const size_t ll = sizeof label - 1;
    size_t lens[] = {1, 32, 100};
    for (int i = 0; i < 3; i++) {
        size_t n = lens[i];
        /* with a context, from both ends */
        CHECK(SSL_export_keying_material(c, want, n, label, ll, ctx, sizeof ctx, 1) == 1);
        CHECK(SSL_export_keying_material(s, want2, n, label, ll, ctx, sizeof ctx, 1) == 1);
        CHECK_MEM(want, want2, n);
        memset(got, 0, sizeof got);
        CHECK_ERR(ks13_exporter(alg, secret, label, ll, ctx, sizeof ctx, got, n), MTLS_OK);
        CHECK_MEM(got, want, n);
        /* without one: in TLS 1.3 the same as an empty context (RFC 8446 7.5) */
        CHECK(SSL_export_keying_material(c, want, n, label, ll, NULL, 0, 0) == 1);
        CHECK(SSL_export_keying_material(c, want2, n, label, ll, (const uint8_t *)"", 0, 1) == 1);
        CHECK_MEM(want, want2, n);
        CHECK_ERR(ks13_exporter(alg, secret, label, ll, NULL, 0, got, n), MTLS_OK);
        CHECK_MEM(got, want, n);
    }
    SSL_free(c);
    SSL_free(s);
}

/* RFC 5246 5: P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...,
 * A(0) = seed, A(i) = HMAC(secret, A(i-1)); here seed = label + client_random + server_random +
 * uint16 context length + context, built in one buffer. */
static void p_hash_export(cry_hash_alg prf, const uint8_t master[48], const char *label,
                          const uint8_t cr[32], const uint8_t sr[32], const uint8_t *ctx,
                          size_t ctx_len, uint8_t *out, size_t n)
{
    const EVP_MD *md = prf == CRY_SHA384 ? EVP_sha384() : EVP_sha256();
    size_t hl = (size_t)EVP_MD_get_size(md), ll = strlen(label), sl = ll + 64 + 2 + ctx_len;
    uint8_t *seed = malloc(sl), *buf = malloc(48 + sl), a[48], block[48];
    unsigned len = 0;
    memcpy(seed, label, ll);
    memcpy(seed + ll, cr, 32);
    memcpy(seed + ll + 32, sr, 32);
    seed[ll + 64] = (uint8_t)(ctx_len >> 8);
    seed[ll + 65] = (uint8_t)ctx_len;
    memcpy(seed + ll + 66, ctx, ctx_len);
    HMAC(md, master, 48, seed, sl, a, &len); /* A(1) */
    for (size_t done = 0; done < n; done += hl) {
        memcpy(buf, a, hl);
        memcpy(buf + hl, seed, sl);
        HMAC(md, master, 48, buf, hl + sl, block, &len);
        memcpy(out + done, block, n - done < hl ? n - done : hl);
        HMAC(md, master, 48, a, hl, block, &len); /* A(i+1) */
        memcpy(a, block, hl);
    }
    free(seed);
    free(buf);
}

static void exporter12_vs_openssl(const char *suite, cry_hash_alg prf)
{
    SSL *c, *s;
    if (!ssl_pair(TLS1_2_VERSION, suite, &c, &s))
        return;
    uint8_t master[48], cr[32], sr[32], ctx[300], want[100], want2[100], got[100];
    CHECK(SSL_SESSION_get_master_key(SSL_get_session(c), master, 48) == 48);
    CHECK(SSL_get_client_random(c, cr, 32) == 32 && SSL_get_server_random(c, sr, 32) == 32);
    RAND_bytes(ctx, sizeof ctx);
    static const char label[] = "EXPORTER-mtls-test";
    const size_t ll = sizeof label - 1;
    size_t lens[] = {1, 32, 100};
    for (int i = 0; i < 3; i++) {
        size_t n = lens[i];
        /* no context */
        CHECK(SSL_export_keying_material(c, want, n, label, ll, NULL, 0, 0) == 1);
        CHECK(SSL_export_keying_material(s, want2, n, label, ll, NULL, 0, 0) == 1);
        CHECK_MEM(want, want2, n);
        memset(got, 0, sizeof got);
        CHECK_ERR(ks12_export(prf, master, cr, sr, label, ll, NULL, 0, false, got, n), MTLS_OK);
        CHECK_MEM(got, want, n);
        /* an empty context is not no context in TLS 1.2 (RFC 5705 4) */
        CHECK(SSL_export_keying_material(c, want2, n, label, ll, (const uint8_t *)"", 0, 1) == 1);
        CHECK(n == 1 || memcmp(want, want2, n) != 0);
        CHECK_ERR(ks12_export(prf, master, cr, sr, label, ll, (const uint8_t *)"", 0, true, got, n),
                  MTLS_OK);
        CHECK_MEM(got, want2, n);
        /* a context of 300 bytes */
        CHECK(SSL_export_keying_material(c, want, n, label, ll, ctx, sizeof ctx, 1) == 1);
        CHECK_ERR(ks12_export(prf, master, cr, sr, label, ll, ctx, sizeof ctx, true, got, n),
                  MTLS_OK);
        CHECK_MEM(got, want, n);
    }
    /* the PRF's own labels are refused, by OpenSSL and by us */
    static const char *const bad[] = {"key expansion",          "client finished",
                                      "server finished",        "master secret",
                                      "extended master secret", "key expansion-and-more"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(SSL_export_keying_material(c, want, 16, bad[i], strlen(bad[i]), NULL, 0, 0) != 1);
        CHECK_ERR(ks12_export(prf, master, cr, sr, bad[i], strlen(bad[i]), NULL, 0, false, got, 16),
                  MTLS_ERR_INVALID_ARG);
    }
    CHECK_ERR(ks12_export(prf, master, cr, sr, "key", 3, NULL, 0, false, got, 16), MTLS_OK);
    /* bounds: label 1..255, context_value_length a uint16 */
    static uint8_t big[65536];
    char longlabel[256];
    memset(longlabel, 'E', sizeof longlabel);
    CHECK_ERR(ks12_export(prf, master, cr, sr, longlabel, 0, NULL, 0, false, got, 16),
              MTLS_ERR_INVALID_ARG);
    CHECK_ERR(ks12_export(prf, master, cr, sr, longlabel, 255, NULL, 0, false, got, 16), MTLS_OK);
    CHECK(SSL_export_keying_material(c, want, 16, longlabel, 255, NULL, 0, 0) == 1);
    CHECK_MEM(got, want, 16);
    CHECK_ERR(ks12_export(prf, master, cr, sr, longlabel, 256, NULL, 0, false, got, 16),
              MTLS_ERR_INVALID_ARG);
    /* OpenSSL's TLS1-PRF takes seeds up to 1024 bytes only, so the longest context RFC 5705
     * allows is checked against P_hash written out here with one-shot HMACs */
    RAND_bytes(big, sizeof big);
    CHECK_ERR(ks12_export(prf, master, cr, sr, label, ll, big, 65535, true, got, 100), MTLS_OK);
    p_hash_export(prf, master, label, cr, sr, big, 65535, want, 100);
    CHECK_MEM(got, want, 100);
    CHECK_ERR(ks12_export(prf, master, cr, sr, label, ll, big, 65536, true, got, 16),
              MTLS_ERR_INVALID_ARG);
    SSL_free(c);
    SSL_free(s);
}

int main(void)
{
    CHECK(cry_init());
    load_vectors("rfc5869.txt");
    load_vectors("rfc8448.txt");

    rfc5869();
    hkdf_differential();
    hkdf_bounds();
    expand_label_bounds();
    for (size_t i = 0; i < sizeof traces / sizeof traces[0]; i++)
        rfc8448(&traces[i]);
    for (int a = 0; a < 2; a++)
        for (int p = 0; p < 2; p++)
            for (int e = 0; e < 2; e++)
                if (e || p) /* psk_ke needs a PSK */
                    independent_schedule(a ? CRY_SHA384 : CRY_SHA256, p, e);
    key_update(CRY_SHA256);
    key_update(CRY_SHA384);
    key_update_rfc8448();
    stage_order();
    exporter13_vs_openssl("TLS_AES_128_GCM_SHA256", CRY_SHA256);
    exporter13_vs_openssl("TLS_AES_256_GCM_SHA384", CRY_SHA384);
    exporter12_vs_openssl("ECDHE-ECDSA-AES128-GCM-SHA256", CRY_SHA256);
    exporter12_vs_openssl("ECDHE-ECDSA-AES256-GCM-SHA384", CRY_SHA384);
    free_vectors();
    return t_done();
}
