/*
 * test_prf.c -- the TLS 1.2 PRF (src/keysched/prf12.c).
 *
 * Known answers: the P_SHA256 and P_SHA384 vectors posted to the IETF TLS list, secret/seed/label
 * "test label", 100 and 148 bytes, read from tests/vectors/tls12-prf.txt.  Differential: OpenSSL's
 * own TLS1-PRF KDF (an independent implementation) on random secrets, split seeds, labels and
 * lengths 1..200, with SHA-256 and SHA-384.
 *
 * The TLS 1.2 key schedule on top of it (src/keysched/ks12.c), against the same KDF given the
 * label and seed each RFC names: master secret (RFC 5246 8.1: client_random + server_random),
 * extended master secret (RFC 7627 4: the session hash), key block (RFC 5246 6.3: server_random
 * + client_random), Finished (RFC 5246 7.4.9: both labels), and the key log line's format.
 */
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>

#include "common/vectors.h"
#include "keysched/ks.h"
#include "t.h"

static void kat(cry_hash_alg alg, const char *sec)
{
    const struct vec *vs = vector(sec, "secret"), *vd = vector(sec, "seed"),
                     *vw = vector(sec, "out");
    uint8_t got[256];
    const uint8_t *secret = vs->v, *seed = vd->v, *want = vw->v;
    size_t sl = vs->len, dl = vd->len, wl = vw->len;
    CHECK(wl <= sizeof(got) && dl > 5);
    CHECK(ks_prf12(alg, secret, sl, "test label", seed, dl, NULL, 0, got, wl));
    CHECK_MEM(got, want, wl);
    /* the seed split in two parts must give the same */
    memset(got, 0, sizeof(got));
    CHECK(ks_prf12(alg, secret, sl, "test label", seed, 5, seed + 5, dl - 5, got, wl));
    CHECK_MEM(got, want, wl);
    /* a shorter output is a prefix */
    memset(got, 0, sizeof(got));
    CHECK(ks_prf12(alg, secret, sl, "test label", seed, dl, NULL, 0, got, 13));
    CHECK_MEM(got, want, 13);
}

static void openssl_prf(const char *md, const uint8_t *secret, size_t sl, const uint8_t *seed,
                        size_t dl, uint8_t *out, size_t n)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, sl),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, dl),
        OSSL_PARAM_construct_end(),
    };
    CHECK(EVP_KDF_derive(ctx, out, n, params) == 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void differential(void)
{
    static const char *labels[] = {"master secret", "extended master secret", "key expansion",
                                   "client finished", "server finished"};
    for (int i = 0; i < 200; i++) {
        cry_hash_alg alg = i % 2 ? CRY_SHA384 : CRY_SHA256;
        uint8_t secret[48], s1[64], s2[64], seed[200], want[200], got[200];
        size_t sl = 1 + (size_t)i % 48, l1 = (size_t)i % 64, l2 = (size_t)(i * 7) % 64;
        size_t n = 1 + (size_t)i;
        const char *label = labels[i % 5];
        RAND_bytes(secret, sizeof(secret));
        RAND_bytes(s1, sizeof(s1));
        RAND_bytes(s2, sizeof(s2));
        size_t ll = strlen(label);
        memcpy(seed, label, ll);
        memcpy(seed + ll, s1, l1);
        memcpy(seed + ll + l1, s2, l2);
        openssl_prf(alg == CRY_SHA384 ? "SHA384" : "SHA256", secret, sl, seed, ll + l1 + l2, want, n);
        CHECK(ks_prf12(alg, secret, sl, label, s1, l1, s2, l2, got, n));
        CHECK_MEM(got, want, n);
    }
}

static size_t cat(uint8_t *out, const char *label, const uint8_t *a, size_t al, const uint8_t *b,
                  size_t bl)
{
    size_t ll = strlen(label);
    memcpy(out, label, ll);
    memcpy(out + ll, a, al);
    if (bl)
        memcpy(out + ll + al, b, bl);
    return ll + al + bl;
}

static void ks12_steps(void)
{
    for (int i = 0; i < 2; i++) {
        cry_hash_alg alg = i ? CRY_SHA384 : CRY_SHA256;
        const char *md = i ? "SHA384" : "SHA256";
        size_t hlen = i ? 48 : 32;
        uint8_t pm[48], cr[32], sr[32], th[48], master[48], seed[128], want[128], got[128];
        RAND_bytes(pm, sizeof(pm));
        RAND_bytes(cr, sizeof(cr));
        RAND_bytes(sr, sizeof(sr));
        RAND_bytes(th, sizeof(th));
        CHECK_ERR(ks12_master_secret(alg, pm, 48, false, NULL, 0, cr, sr, master), MTLS_OK);
        openssl_prf(md, pm, 48, seed, cat(seed, "master secret", cr, 32, sr, 32), want, 48);
        CHECK_MEM(master, want, 48);
        CHECK_ERR(ks12_master_secret(alg, pm, 48, true, th, hlen, cr, sr, got), MTLS_OK);
        openssl_prf(md, pm, 48, seed, cat(seed, "extended master secret", th, hlen, NULL, 0), want,
                    48);
        CHECK_MEM(got, want, 48);
        CHECK_ERR(ks12_key_block(alg, master, sr, cr, got, 88), MTLS_OK);
        openssl_prf(md, master, 48, seed, cat(seed, "key expansion", sr, 32, cr, 32), want, 88);
        CHECK_MEM(got, want, 88);
        for (int from_client = 0; from_client < 2; from_client++) {
            CHECK_ERR(ks12_finished(alg, master, from_client, th, hlen, got), MTLS_OK);
            openssl_prf(md, master, 48, seed,
                        cat(seed, from_client ? "client finished" : "server finished", th, hlen,
                            NULL, 0),
                        want, 12);
            CHECK_MEM(got, want, 12);
        }
    }
    /* NSS key log format: "CLIENT_RANDOM " <client_random hex> " " <master hex> */
    uint8_t cr[32], master[48];
    for (int i = 0; i < 32; i++)
        cr[i] = (uint8_t)i;
    for (int i = 0; i < 48; i++)
        master[i] = (uint8_t)(0xf0 + (i & 15));
    char line[KS12_KEYLOG_LEN];
    ks12_keylog_line(line, cr, master);
    CHECK_EQ(strlen(line), sizeof(line) - 1);
    CHECK(strncmp(line, "CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f1011121314151617"
                        "18191a1b1c1d1e1f f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                  14 + 64 + 1 + 32) == 0);
}

int main(void)
{
    CHECK(cry_init());
    load_vectors("tls12-prf.txt");
    kat(CRY_SHA256, "sha256");
    kat(CRY_SHA384, "sha384");
    differential();
    ks12_steps();
    free_vectors();
    return t_done();
}
