/*
 * test_transcript.c -- recomputes a whole handshake's key schedule from the bytes on the wire,
 * with OpenSSL's own primitives (an independent implementation), and checks mtls against it:
 *
 *   - the handshake messages are collected from the plaintext records of both directions;
 *   - static RSA: the premaster is recovered by decrypting ClientKeyExchange with the server key;
 *     master = PRF(pms, "extended master secret", Hash(ClientHello..ClientKeyExchange)) (RFC 7627)
 *     must equal the master secret mtls logged (NSS key log line);
 *   - key block = PRF(master, "key expansion", server_random + client_random); with it both
 *     encrypted Finished records are decrypted, and each verify_data must equal
 *     PRF(master, "<side> finished", Hash(messages before it)) (RFC 5246 7.4.9) -- which checks
 *     the transcript hash, CertificateVerify included, and the record nonce/AAD construction;
 *   - for ECDHE the premaster is unknown, so the check starts from the logged master secret.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <string.h>

#include "common/testpki.h"
#include "t.h"

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static char keylog_line[256];
static void on_keylog(void *arg, const mtls_conn *c, const char *line)
{
    (void)arg;
    (void)c;
    snprintf(keylog_line, sizeof(keylog_line), "%s", line);
}

/* The pump's watcher: a copy of everything each side sends (arg: the two logs, c2s and s2c). */
static void tee(void *arg, int to_server, const uint8_t *p, size_t n)
{
    buf *logs = arg;
    buf_add(&logs[to_server ? 0 : 1], p, n);
}

static void prf(const char *md, const uint8_t *secret, size_t sl, const char *label,
                const uint8_t *s1, size_t l1, const uint8_t *s2, size_t l2, uint8_t *out, size_t n)
{
    uint8_t seed[256];
    size_t ll = strlen(label);
    memcpy(seed, label, ll);
    memcpy(seed + ll, s1, l1);
    if (l2)
        memcpy(seed + ll + l1, s2, l2);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, sl),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, ll + l1 + l2),
        OSSL_PARAM_construct_end(),
    };
    CHECK(EVP_KDF_derive(ctx, out, n, params) == 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

/* One direction's records: plaintext handshake messages appended to `msgs` (with their order
 * kept by the caller), and the first encrypted record after ChangeCipherSpec returned. */
typedef struct {
    const uint8_t *p;
    size_t len;
} span;

static void split(const buf *log, span *plain_hs, size_t *n_hs, span *encrypted_hs)
{
    size_t off = 0;
    int ccs = 0;
    *n_hs = 0;
    encrypted_hs->p = NULL;
    while (off + 5 <= log->len) {
        size_t len = ((size_t)log->p[off + 3] << 8) | log->p[off + 4];
        const uint8_t *frag = log->p + off + 5;
        if (log->p[off] == 20)
            ccs = 1;
        else if (log->p[off] == 22 && !ccs) {
            size_t m = 0;
            while (m + 4 <= len) {
                size_t ml = ((size_t)frag[m + 1] << 16) | ((size_t)frag[m + 2] << 8) | frag[m + 3];
                plain_hs[(*n_hs)++] = (span){frag + m, 4 + ml};
                m += 4 + ml;
            }
        } else if (log->p[off] == 22 && ccs && !encrypted_hs->p) {
            *encrypted_hs = (span){log->p + off, 5 + len};
        }
        off += 5 + len;
    }
}

static int open_record(const char *cipher_name, const uint8_t *key, const uint8_t *iv4,
                       span rec, uint8_t *out)
{
    const EVP_CIPHER *cipher = strcmp(cipher_name, "AES-128-GCM") == 0 ? EVP_aes_128_gcm()
                                                                        : EVP_aes_256_gcm();
    uint8_t nonce[12], aad[13] = {0};
    size_t ct_len = rec.len - 5 - 8 - 16;
    memcpy(nonce, iv4, 4);
    memcpy(nonce + 4, rec.p + 5, 8);
    aad[7] = 0; /* seq 0: the first record after ChangeCipherSpec */
    aad[8] = 22;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(ct_len >> 8);
    aad[12] = (uint8_t)ct_len;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, ok = EVP_DecryptInit_ex(ctx, cipher, NULL, key, nonce) == 1 &&
                EVP_DecryptUpdate(ctx, NULL, &n, aad, 13) == 1 &&
                EVP_DecryptUpdate(ctx, out, &n, rec.p + 13, (int)ct_len) == 1 &&
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(rec.p + 13 + ct_len)) == 1 &&
                EVP_DecryptFinal_ex(ctx, out + n, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static void run(const char *suite, int rsa_kx, int sha384)
{
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[TP_RSA2048], *cid = &pki->client[TP_P256];
    mtls_config *scfg = mtls_config_new(), *ccfg = mtls_config_new();
    mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem), sid->key_pem,
                                   strlen(sid->key_pem));
    mtls_config_set_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem));
    mtls_config_set_verify_client(scfg, MTLS_VERIFY_REQUIRE);
    mtls_config_set_ca_mem(ccfg, pki->ca_pem, strlen(pki->ca_pem));
    mtls_config_set_cert_chain_mem(ccfg, cid->cert_pem, strlen(cid->cert_pem), cid->key_pem,
                                   strlen(cid->key_pem));
    CHECK_ERR(mtls_config_set_ciphers(ccfg, suite), MTLS_OK);
    mtls_config_set_keylog(ccfg, on_keylog, NULL);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);

    buf logs[2] = {{0}, {0}};
    tp_wire teed = {.watch = tee, .arg = logs};
    CHECK_ERR(tp_pump(c, s, &teed), MTLS_OK);
    CHECK(mtls_conn_established(c) && mtls_conn_established(s));
    buf c2s = logs[0], s2c = logs[1];

    span cm[8], sm[8], cfin, sfin;
    size_t nc, ns;
    split(&c2s, cm, &nc, &cfin);
    split(&s2c, sm, &ns, &sfin);
    /* client: ClientHello | Certificate, ClientKeyExchange, CertificateVerify
     * server: ServerHello, Certificate, [ServerKeyExchange], CertificateRequest, ServerHelloDone |
     *         NewSessionTicket (RFC 5077: after the client's Finished, before the server's CCS) */
    CHECK_EQ(nc, 4);
    CHECK_EQ(ns, rsa_kx ? 5 : 6);
    CHECK_EQ(sm[ns - 1].p[0], 4);
    CHECK(cfin.p && sfin.p);
    if (nc != 4 || !cfin.p || !sfin.p)
        return;
    const char *md = sha384 ? "SHA384" : "SHA256";
    const EVP_MD *evp_md = sha384 ? EVP_sha384() : EVP_sha256();
    size_t hlen = (size_t)EVP_MD_get_size(evp_md);

    /* transcript in wire order */
    buf t = {0};
    buf_add(&t, cm[0].p, cm[0].len);
    for (size_t i = 0; i + 1 < ns; i++)
        buf_add(&t, sm[i].p, sm[i].len);
    buf_add(&t, cm[1].p, cm[1].len);
    buf_add(&t, cm[2].p, cm[2].len);
    size_t upto_cke = t.len;
    buf_add(&t, cm[3].p, cm[3].len);
    size_t upto_cv = t.len;

    const uint8_t *cr = cm[0].p + 6, *sr = sm[0].p + 6;
    uint8_t master[48], logged[48];
    CHECK(strncmp(keylog_line, "CLIENT_RANDOM ", 14) == 0);
    CHECK_EQ(t_unhex(keylog_line + 14 + 65, logged, sizeof(logged)), 48);
    uint8_t logged_cr[32];
    char cr_hex[65];
    memcpy(cr_hex, keylog_line + 14, 64);
    cr_hex[64] = 0;
    t_unhex(cr_hex, logged_cr, 32);
    CHECK_MEM(logged_cr, cr, 32);

    if (rsa_kx) {
        /* recover the premaster with the server's key */
        BIO *bio = BIO_new_mem_buf(sid->key_pem, -1);
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
        uint8_t pms[512];
        size_t pms_len = sizeof(pms);
        const uint8_t *ct = cm[2].p + 6;
        size_t ct_len = cm[2].len - 6;
        CHECK(EVP_PKEY_decrypt_init(pctx) == 1);
        CHECK(EVP_PKEY_decrypt(pctx, pms, &pms_len, ct, ct_len) == 1);
        CHECK_EQ(pms_len, 48);
        CHECK(pms[0] == 3 && pms[1] == 3);
        EVP_PKEY_CTX_free(pctx);
        EVP_PKEY_free(key);
        uint8_t session_hash[64];
        EVP_Digest(t.p, upto_cke, session_hash, NULL, evp_md, NULL);
        prf(md, pms, 48, "extended master secret", session_hash, hlen, NULL, 0, master, 48);
        CHECK_MEM(master, logged, 48);
    } else {
        memcpy(master, logged, 48);
    }

    size_t key_len = sha384 ? 32 : 16;
    uint8_t kb[2 * 32 + 8];
    prf(md, master, 48, "key expansion", sr, 32, cr, 32, kb, 2 * key_len + 8);
    const uint8_t *ckey = kb, *skey = kb + key_len, *civ = kb + 2 * key_len, *siv = civ + 4;
    const char *cipher = sha384 ? "AES-256-GCM" : "AES-128-GCM";

    uint8_t fin[64], h[64], want[12];
    CHECK(open_record(cipher, ckey, civ, cfin, fin));
    EVP_Digest(t.p, upto_cv, h, NULL, evp_md, NULL);
    prf(md, master, 48, "client finished", h, hlen, NULL, 0, want, 12);
    CHECK(fin[0] == 20 && fin[3] == 12);
    CHECK_MEM(fin + 4, want, 12);

    buf_add(&t, fin, 16);
    buf_add(&t, sm[ns - 1].p, sm[ns - 1].len);
    CHECK(open_record(cipher, skey, siv, sfin, fin));
    EVP_Digest(t.p, t.len, h, NULL, evp_md, NULL);
    prf(md, master, 48, "server finished", h, hlen, NULL, 0, want, 12);
    CHECK(fin[0] == 20 && fin[3] == 12);
    CHECK_MEM(fin + 4, want, 12);

    free(t.p);
    free(c2s.p);
    free(s2c.p);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

int main(void)
{
    run("TLS_RSA_WITH_AES_128_GCM_SHA256", 1, 0);
    run("TLS_RSA_WITH_AES_256_GCM_SHA384", 1, 1);
    run("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0, 0);
    run("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0, 1);
    return t_done();
}
