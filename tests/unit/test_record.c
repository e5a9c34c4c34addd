/*
 * test_record.c -- the record layer (src/record) without a connection.
 *
 * The AEADs themselves (cry_aead, what aead12.c seals with) against published known answers:
 * RFC 8439 2.8.2 for ChaCha20-Poly1305 and the GCM specification's test cases 4 and 16 for
 * AES-128-GCM and AES-256-GCM (tests/vectors/aead.txt), sealed and opened, a flipped tag refused.
 *
 * TLS 1.2 AEAD record protection (aead12.c) against an independent computation with OpenSSL's
 * EVP interface:
 *   AES-GCM (RFC 5288): nonce = 4-byte salt || 8-byte explicit part (we send the sequence
 *     number), the explicit part carried in the record;
 *   ChaCha20-Poly1305 (RFC 7905): nonce = 12-byte IV XOR 0^32 || seq, nothing explicit;
 *   additional data = seq || type || 0x0303 || plaintext length (RFC 5246 6.2.3.3).
 * Then: round trips at several sequence numbers, every single-bit flip rejected, a wrong
 * sequence number rejected, and a record too short for the tag rejected.
 *
 * The layer (layer.c) between two rec_layers: fragmentation at 2^14, records arriving a byte at a
 * time, the header checks (version before and after it is fixed, announced lengths), protected
 * application data taken out in pieces, and the buffers released when idle.
 */
#include <openssl/evp.h>
#include <string.h>

#include "common/vectors.h"
#include "handshake/handshake.h"
#include "record/record.h"
#include "t.h"

static void expected_record(const suite_info *s, const uint8_t *key, const uint8_t *iv,
                            uint64_t seq, uint8_t type, const uint8_t *pt, size_t len,
                            uint8_t *out, size_t *out_len)
{
    const EVP_CIPHER *cipher = s->aead == CRY_AES_128_GCM   ? EVP_aes_128_gcm()
                               : s->aead == CRY_AES_256_GCM ? EVP_aes_256_gcm()
                                                            : EVP_chacha20_poly1305();
    uint8_t nonce[12], aad[13];
    for (int i = 0; i < 8; i++)
        aad[i] = (uint8_t)(seq >> (56 - 8 * i));
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
    size_t explicit_len = 0;
    if (s->fixed_iv_len == 4) {
        memcpy(nonce, iv, 4);
        memcpy(nonce + 4, aad, 8);
        explicit_len = 8;
    } else {
        memcpy(nonce, iv, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= aad[i];
    }
    size_t frag = explicit_len + len + 16;
    out[0] = type;
    out[1] = 3;
    out[2] = 3;
    out[3] = (uint8_t)(frag >> 8);
    out[4] = (uint8_t)frag;
    memcpy(out + 5, nonce + 4, explicit_len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n;
    CHECK(EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) == 1);
    CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1);
    CHECK(EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1);
    CHECK(EVP_EncryptUpdate(ctx, NULL, &n, aad, 13) == 1);
    CHECK(EVP_EncryptUpdate(ctx, out + 5 + explicit_len, &n, pt, (int)len) == 1);
    CHECK(EVP_EncryptFinal_ex(ctx, out + 5 + explicit_len + len, &n) == 1);
    CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 5 + explicit_len + len) == 1);
    EVP_CIPHER_CTX_free(ctx);
    *out_len = 5 + frag;
}

static void aead_kat(const char *sec, cry_aead_alg alg)
{
    const struct vec *key = vector(sec, "key"), *nonce = vector(sec, "nonce");
    const struct vec *aad = vector(sec, "aad"), *pt = vector(sec, "pt"), *ct = vector(sec, "ct");
    const struct vec *tag = vector(sec, "tag");
    CHECK_EQ(key->len, cry_aead_key_len(alg));
    CHECK(nonce->len == CRY_AEAD_NONCE_LEN && tag->len == CRY_AEAD_TAG_LEN && pt->len <= 256);
    uint8_t buf[256], t[CRY_AEAD_TAG_LEN];
    cry_aead *seal = cry_aead_new(alg, key->v, 1), *open = cry_aead_new(alg, key->v, 0);
    CHECK(seal && open);
    CHECK(cry_aead_seal_from(seal, nonce->v, aad->v, aad->len, pt->v, buf, pt->len, t));
    CHECK_MEM(buf, ct->v, ct->len);
    CHECK_MEM(t, tag->v, tag->len);
    CHECK(cry_aead_open(open, nonce->v, aad->v, aad->len, buf, pt->len, t));
    CHECK_MEM(buf, pt->v, pt->len);
    memcpy(buf, ct->v, ct->len);
    t[15] ^= 1;
    CHECK(!cry_aead_open(open, nonce->v, aad->v, aad->len, buf, ct->len, t));
    cry_aead_free(seal);
    cry_aead_free(open);
}

static void test_suite(uint16_t id)
{
    const suite_info *s = suite_find(id);
    uint8_t key[32], iv[12];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0x40 + i);
    for (size_t i = 0; i < sizeof(iv); i++)
        iv[i] = (uint8_t)(0xa0 + i);
    rec_dir w = {0}, r = {0};
    rec_key rk = {MTLS_VERSION_TLS12, s->aead, key, s->key_len, iv, s->fixed_iv_len};
    CHECK_ERR(rec_dir_init(&w, &rk, true), MTLS_OK);
    CHECK_ERR(rec_dir_init(&r, &rk, false), MTLS_OK);

    static const uint64_t seqs[] = {0, 1, 2, 0x0102030405060708ull};
    uint8_t rec[128], want[128], pt[64];
    for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
        for (size_t i = 0; i < sizeof(pt); i++)
            pt[i] = (uint8_t)(i + k);
        w.seq = seqs[k];
        r.seq = seqs[k];
        size_t prefix = rec_dir_prefix(&w), rec_len, want_len;
        /* even k: plaintext already in the record (in place); odd k: read from pt, and the
         * record's plaintext area holds garbage that must not leak into the result */
        if (k % 2)
            memset(rec + 5 + prefix, 0xee, sizeof(pt));
        else
            memcpy(rec + 5 + prefix, pt, sizeof(pt));
        CHECK_ERR(rec_seal(&w, TLS_CT_APPLICATION_DATA, rec, k % 2 ? pt : NULL, sizeof(pt),
                           &rec_len),
                  MTLS_OK);
        expected_record(s, key, iv, seqs[k], TLS_CT_APPLICATION_DATA, pt, sizeof(pt), want, &want_len);
        CHECK_EQ(rec_len, want_len);
        CHECK_MEM(rec, want, want_len);
        CHECK_EQ(w.seq, seqs[k] + 1);

        uint8_t copy[128], *plain;
        size_t plain_len;
        memcpy(copy, rec, rec_len);
        CHECK_ERR(rec_open(&r, copy, rec_len, &plain, &plain_len), MTLS_OK);
        CHECK_EQ(plain_len, sizeof(pt));
        CHECK_MEM(plain, pt, sizeof(pt));
        CHECK_EQ(r.seq, seqs[k] + 1);
        /* into a buffer of its own (rec_open_to): the plaintext there, nothing past it, the
         * record untouched; a buffer too small for the plaintext is refused */
        uint8_t out[80];
        memset(out, 0xaa, sizeof(out));
        memcpy(copy, rec, rec_len);
        r.seq = seqs[k];
        CHECK_ERR(rec_open_to(&r, copy, rec_len, out, sizeof(pt) - 1, &plain, &plain_len),
                  MTLS_ERR_INTERNAL);
        CHECK_ERR(rec_open_to(&r, copy, rec_len, out, sizeof(pt), &plain, &plain_len), MTLS_OK);
        CHECK(plain == out && plain_len == sizeof(pt));
        CHECK_MEM(out, pt, sizeof(pt));
        CHECK_EQ(out[sizeof(pt)], 0xaa);
        CHECK_MEM(copy, rec, rec_len);
        CHECK_EQ(r.seq, seqs[k] + 1);
        /* and one that fails leaves nothing in it */
        memcpy(copy, rec, rec_len);
        copy[rec_len - 1] ^= 1;
        r.seq = seqs[k];
        memset(out, 0xaa, sizeof(out));
        CHECK_ERR(rec_open_to(&r, copy, rec_len, out, sizeof(out), &plain, &plain_len),
                  MTLS_ERR_BAD_RECORD_MAC);
        static const uint8_t zeros[sizeof(pt)];
        CHECK_MEM(out, zeros, sizeof(pt)); /* wiped */
        r.seq = seqs[k] + 1;
    }

    /* every bit flip after the header fails, and so does a wrong sequence number */
    size_t prefix = rec_dir_prefix(&w), rec_len;
    w.seq = 7;
    memcpy(rec + 5 + prefix, pt, 16);
    CHECK_ERR(rec_seal(&w, TLS_CT_APPLICATION_DATA, rec, NULL, 16, &rec_len), MTLS_OK);
    int rejected = 0, total = 0;
    for (size_t byte = 5; byte < rec_len; byte++)
        for (int bit = 0; bit < 8; bit++) {
            uint8_t copy[128], *plain;
            size_t plain_len;
            memcpy(copy, rec, rec_len);
            copy[byte] ^= (uint8_t)(1u << bit);
            r.seq = 7;
            total++;
            rejected += rec_open(&r, copy, rec_len, &plain, &plain_len) == MTLS_ERR_BAD_RECORD_MAC;
        }
    CHECK_EQ(rejected, total);
    uint8_t copy[128], *plain;
    size_t plain_len;
    memcpy(copy, rec, rec_len);
    r.seq = 8;
    CHECK_ERR(rec_open(&r, copy, rec_len, &plain, &plain_len), MTLS_ERR_BAD_RECORD_MAC);
    /* the type is authenticated too */
    memcpy(copy, rec, rec_len);
    copy[0] = TLS_CT_HANDSHAKE;
    r.seq = 7;
    CHECK_ERR(rec_open(&r, copy, rec_len, &plain, &plain_len), MTLS_ERR_BAD_RECORD_MAC);
    /* too short to hold the explicit nonce and tag */
    r.seq = 7;
    CHECK_ERR(rec_open(&r, copy, 5 + prefix + 15, &plain, &plain_len), MTLS_ERR_BAD_RECORD_MAC);
    rec_dir_clear(&w);
    rec_dir_clear(&r);
}

/* What `from` queued goes to `to`: at most `chunk` bytes (0: as much as the buffer takes). */
static void move(rec_layer *from, rec_layer *to, size_t chunk)
{
    size_t n, room;
    const uint8_t *p = rec_send_pending(from, &n);
    uint8_t *dst = rec_recv_space(to, &room);
    if (!p || !dst || !room)
        return;
    size_t k = n < room ? n : room;
    if (chunk && k > chunk)
        k = chunk;
    memcpy(dst, p, k);
    CHECK_ERR(rec_recv_commit(to, k), MTLS_OK);
    rec_send_consume(from, k);
}

/* The next record at `to`, moving bytes from `from` as the transport would whenever the record
 * is not complete yet (the layer grows its buffer to the record it announced). */
static mtls_err read_next(rec_layer *from, rec_layer *to, rec_in *r)
{
    for (;;) {
        mtls_err err = rec_read(to, r);
        size_t n;
        if (err != MTLS_ERR_WANT_READ || !rec_send_pending(from, &n))
            return err;
        move(from, to, 0);
    }
}

/* Raw bytes into `to`, as the transport would deliver them. */
static void put(rec_layer *to, const uint8_t *p, size_t n)
{
    size_t room;
    uint8_t *dst = rec_recv_space(to, &room);
    CHECK(dst != NULL && room >= n);
    memcpy(dst, p, n);
    CHECK_ERR(rec_recv_commit(to, n), MTLS_OK);
}

static void test_layer(void)
{
    static uint8_t data[20000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    rec_layer a = {0}, b = {0};
    rec_in r;

    /* plaintext: 20000 bytes are two records, 2^14 and the rest; a byte at a time in between */
    CHECK_ERR(rec_write(&a, TLS_CT_HANDSHAKE, data, sizeof(data)), MTLS_OK);
    size_t pending;
    rec_send_pending(&a, &pending);
    CHECK_EQ(pending, 2 * TLS_RECORD_HEADER + sizeof(data));
    CHECK_ERR(rec_read(&b, &r), MTLS_ERR_WANT_READ);
    for (int i = 0; i < 3; i++) {
        move(&a, &b, 1);
        CHECK_ERR(rec_read(&b, &r), MTLS_ERR_WANT_READ);
    }
    CHECK_ERR(read_next(&a, &b, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_HANDSHAKE);
    CHECK_EQ(r.len, TLS_MAX_PLAINTEXT);
    CHECK_MEM(r.p, data, TLS_MAX_PLAINTEXT);
    rec_release(&b);
    CHECK_ERR(read_next(&a, &b, &r), MTLS_OK);
    CHECK_EQ(r.len, sizeof(data) - TLS_MAX_PLAINTEXT);
    CHECK_MEM(r.p, data + TLS_MAX_PLAINTEXT, r.len);
    rec_release(&b);
    CHECK(rec_idle(&b));
    CHECK_ERR(rec_read(&b, &r), MTLS_ERR_WANT_READ);

    /* headers: any {03,xx} until the version is fixed, exactly it after; lengths */
    static const uint8_t v31[] = {TLS_CT_HANDSHAKE, 3, 1, 0, 1, 0x55};
    put(&b, v31, sizeof(v31));
    CHECK_ERR(rec_read(&b, &r), MTLS_OK);
    rec_release(&b);
    static const uint8_t v20[] = {TLS_CT_HANDSHAKE, 2, 0, 0, 1, 0x55};
    rec_layer c = {0};
    put(&c, v20, sizeof(v20));
    CHECK_ERR(rec_read(&c, &r), MTLS_ERR_BAD_RECORD_VERSION);
    CHECK(rec_error_detail(&c) && strstr(rec_error_detail(&c), "0x0200"));
    rec_layer_free(&c);
    rec_fix_version(&b, MTLS_VERSION_TLS12);
    put(&b, v31, sizeof(v31));
    CHECK_ERR(rec_read(&b, &r), MTLS_ERR_BAD_RECORD_VERSION);
    rec_layer_free(&b);
    memset(&b, 0, sizeof(b));
    static const uint8_t big[] = {TLS_CT_HANDSHAKE, 3, 3, 0x40, 0x01}; /* 2^14 + 1, in clear */
    put(&b, big, sizeof(big));
    CHECK_ERR(rec_read(&b, &r), MTLS_ERR_RECORD_OVERFLOW);
    CHECK(rec_error_detail(&b) && strstr(rec_error_detail(&b), "16385"));
    rec_layer_free(&b);
    memset(&b, 0, sizeof(b));

    /* protected: application data held in place and taken in pieces */
    const suite_info *s = suite_find(MTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
    uint8_t key[32] = {1}, iv[12] = {2};
    rec_key k = {MTLS_VERSION_TLS12, s->aead, key, s->key_len, iv, s->fixed_iv_len};
    CHECK_ERR(rec_set_write_key(&a, &k), MTLS_OK);
    CHECK_ERR(rec_set_read_key(&b, &k), MTLS_OK);
    CHECK_EQ(rec_write_overhead(&a), TLS_RECORD_HEADER + 16);
    CHECK_ERR(rec_write(&a, TLS_CT_APPLICATION_DATA, data, 100), MTLS_OK);
    CHECK_ERR(read_next(&a, &b, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_APPLICATION_DATA);
    rec_hold(&b, &r);
    CHECK(rec_holding(&b) && !rec_idle(&b));
    uint8_t out[100];
    CHECK_EQ(rec_take(&b, out, 30), 30);
    size_t room;
    CHECK(rec_recv_space(&b, &room) != NULL); /* compaction keeps the held plaintext */
    CHECK_EQ(rec_take(&b, out + 30, 100), 70);
    CHECK(!rec_holding(&b) && rec_idle(&b));
    CHECK_MEM(out, data, 100);
    /* a flipped bit: bad_record_mac */
    CHECK_ERR(rec_write(&a, TLS_CT_APPLICATION_DATA, data, 10), MTLS_OK);
    rec_send_pending(&a, &pending);
    ((uint8_t *)rec_send_pending(&a, &pending))[TLS_RECORD_HEADER + 3] ^= 1;
    CHECK_ERR(read_next(&a, &b, &r), MTLS_ERR_BAD_RECORD_MAC);

    rec_release_buffers(&a);
    CHECK(a.rbuf == NULL && a.sbuf.p == NULL);
    rec_layer_free(&a);
    rec_layer_free(&b);
}

int main(void)
{
    CHECK(cry_init());
    load_vectors("aead.txt");
    aead_kat("chacha", CRY_CHACHA20_POLY1305);
    aead_kat("gcm128", CRY_AES_128_GCM);
    aead_kat("gcm256", CRY_AES_256_GCM);
    free_vectors();
    test_suite(MTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    test_suite(MTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
    test_suite(MTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
    test_layer();
    return t_done();
}
