/*
 * test_record13.c -- TLS 1.3 record protection (src/record/aead13.c) and the layer's TLS 1.3
 * rules, without a connection.
 *
 * Known answers: the protected records of RFC 8448 section 3 (tests/vectors/rfc8448.txt, copied
 * from the RFC text): the server's EncryptedExtensions..Finished record, the client's Finished,
 * the NewSessionTicket, the application data and the close_notify alert of both sides, each
 * sealed with the keys the RFC gives and compared byte for byte, each opened back to the RFC's
 * plaintext, one record at a time and through two rec_layers (with the key changes of the
 * handshake between the records).
 * Independent computation: records sealed with OpenSSL's EVP interface (nonce = iv XOR the
 * left-padded sequence number, additional data = the 5-byte header, inner plaintext = content ||
 * type || zeros) for all three AEADs at sequence numbers 0, 1, 2^32 and 2^64-2, padded records,
 * and inner plaintexts our sealer would never produce (all zeros, empty, a protected CCS, too
 * long with padding).
 * Negative and limits: every bit flip, every truncation, 2^14+256 / 2^14+257 ciphertext, 2^14 /
 * 2^14+1 content, the 2^14+1 inner-plaintext bound with padding, the sequence number reset at key
 * changes (and a record under the old key refused), the plain ChangeCipherSpec and alert windows,
 * the AES-GCM key usage limit query with a lowered threshold, a read key changed while a record
 * is current.
 */
#include <openssl/evp.h>
#include <string.h>

#include "record/record.h"
#include "t.h"

/* ---- tests/vectors/rfc8448.txt ------------------------------------------------------------- */

struct vec {
    char name[48];
    uint8_t *v;
    size_t len;
};
static struct vec vecs[512];
static size_t nvecs;

static void load_vectors(void)
{
    char path[1024];
    const char *src = getenv("MTLS_SRC_DIR");
    if (src)
        snprintf(path, sizeof path, "%s/tests/vectors/rfc8448.txt", src);
    else
        snprintf(path, sizeof path, "%.*s/../vectors/rfc8448.txt",
                 (int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ : 1),
                 strrchr(__FILE__, '/') ? __FILE__ : ".");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    static char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *eq = strstr(line, " = ");
        if (line[0] == '#' || !eq)
            continue;
        *eq = 0;
        const char *hex = eq + 3;
        size_t hl = strcspn(hex, "\r\n");
        if (nvecs == sizeof vecs / sizeof vecs[0] || strlen(line) >= sizeof vecs[0].name ||
            hl % 2) {
            fprintf(stderr, "bad vectors line: %s\n", line);
            exit(1);
        }
        struct vec *v = &vecs[nvecs++];
        snprintf(v->name, sizeof v->name, "%s", line);
        v->len = hl / 2;
        v->v = malloc(v->len + 1);
        for (size_t i = 0; i < v->len; i++) {
            unsigned b;
            if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
                fprintf(stderr, "bad hex in %s\n", v->name);
                exit(1);
            }
            v->v[i] = (uint8_t)b;
        }
    }
    fclose(f);
}

static const struct vec *V(const char *name)
{
    for (size_t i = 0; i < nvecs; i++)
        if (strcmp(vecs[i].name, name) == 0)
            return &vecs[i];
    fprintf(stderr, "vector %s missing\n", name);
    exit(1);
}

/* ---- an independent TLS 1.3 sealer (EVP) ----------------------------------------------------- */

static const EVP_CIPHER *evp_of(cry_aead_alg alg)
{
    return alg == CRY_AES_128_GCM   ? EVP_aes_128_gcm()
           : alg == CRY_AES_256_GCM ? EVP_aes_256_gcm()
                                    : EVP_chacha20_poly1305();
}

/* A record of outer type `outer` and header version `version` whose encrypted body is `inner`
 * as given (content, type and padding already in it), sealed at `seq`.  Returns its length. */
static size_t ref_seal(cry_aead_alg alg, const uint8_t *key, const uint8_t iv[12], uint64_t seq,
                       uint8_t outer, uint16_t version, const uint8_t *inner, size_t inner_len,
                       uint8_t *out)
{
    uint8_t nonce[12];
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
    size_t frag = inner_len + 16;
    out[0] = outer;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)version;
    out[3] = (uint8_t)(frag >> 8);
    out[4] = (uint8_t)frag;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n;
    CHECK(EVP_EncryptInit_ex(ctx, evp_of(alg), NULL, NULL, NULL) == 1);
    CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1);
    CHECK(EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1);
    CHECK(EVP_EncryptUpdate(ctx, NULL, &n, out, 5) == 1);
    if (inner_len)
        CHECK(EVP_EncryptUpdate(ctx, out + 5, &n, inner, (int)inner_len) == 1);
    CHECK(EVP_EncryptFinal_ex(ctx, out + 5 + inner_len, &n) == 1);
    CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 5 + inner_len) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return 5 + frag;
}

/* The usual record: content || type || `pad` zeros, outer application_data, 0x0303. */
static size_t ref_record(cry_aead_alg alg, const uint8_t *key, const uint8_t iv[12], uint64_t seq,
                         uint8_t type, const uint8_t *content, size_t len, size_t pad, uint8_t *out)
{
    uint8_t *inner = calloc(1, len + 1 + pad);
    if (len)
        memcpy(inner, content, len);
    inner[len] = type;
    size_t n =
        ref_seal(alg, key, iv, seq, TLS_CT_APPLICATION_DATA, 0x0303, inner, len + 1 + pad, out);
    free(inner);
    return n;
}

/* ---- layer helpers --------------------------------------------------------------------------- */

static void put(rec_layer *to, const uint8_t *p, size_t n)
{
    while (n) {
        size_t room;
        uint8_t *dst = rec_recv_space(to, &room);
        CHECK(dst != NULL && room > 0);
        if (!dst || !room)
            return;
        size_t k = n < room ? n : room;
        memcpy(dst, p, k);
        CHECK_ERR(rec_recv_commit(to, k), MTLS_OK);
        p += k;
        n -= k;
    }
}

/* Bytes on their way to a layer, given as it makes room (it grows to the record announced). */
struct wire {
    const uint8_t *p;
    size_t n;
};

static mtls_err read_from(rec_layer *l, struct wire *w, rec_in *r)
{
    for (;;) {
        mtls_err err = rec_read(l, r);
        if (err != MTLS_ERR_WANT_READ || w->n == 0)
            return err;
        size_t room;
        uint8_t *dst = rec_recv_space(l, &room);
        if (!dst || !room)
            return MTLS_ERR_INTERNAL;
        size_t k = w->n < room ? w->n : room;
        memcpy(dst, w->p, k);
        CHECK_ERR(rec_recv_commit(l, k), MTLS_OK);
        w->p += k;
        w->n -= k;
    }
}

/* What `from` queued moves to `to`. */
static void move_all(rec_layer *from, rec_layer *to)
{
    size_t n;
    const uint8_t *p = rec_send_pending(from, &n);
    if (p) {
        put(to, p, n);
        rec_send_consume(from, n);
    }
}

static rec_key key13(cry_aead_alg alg, const uint8_t *key, const uint8_t *iv)
{
    rec_key k = {MTLS_VERSION_TLS13, alg, key, cry_aead_key_len(alg), iv, 12};
    return k;
}

static bool has(const rec_layer *l, const char *words)
{
    const char *d = rec_error_detail(l);
    return d && strstr(d, words);
}

/* ---- RFC 8448 section 3 ---------------------------------------------------------------------- */

struct rfc_record {
    const char *rec;   /* the RFC's complete record */
    const char *which; /* traffic key: "s_hs" -> s3.s_hs_key, s3.s_hs_iv */
    uint64_t seq;      /* its sequence number under that key */
    uint8_t type;
};
static const struct rfc_record rfc_records[] = {
    {"s3.rec_s_hs", "s_hs", 0, TLS_CT_HANDSHAKE},
    {"s3.rec_c_fin", "c_hs", 0, TLS_CT_HANDSHAKE},
    {"s3.rec_s_nst", "s_ap", 0, TLS_CT_HANDSHAKE},
    {"s3.rec_c_app", "c_ap", 0, TLS_CT_APPLICATION_DATA},
    {"s3.rec_s_app", "s_ap", 1, TLS_CT_APPLICATION_DATA},
    {"s3.rec_c_alert", "c_ap", 1, TLS_CT_ALERT},
    {"s3.rec_s_alert", "s_ap", 2, TLS_CT_ALERT},
};

/* The plaintext an RFC record carries, from the RFC's messages. */
static size_t rfc_payload(const char *rec, uint8_t *out)
{
    static const char *const parts[][5] = {
        {"s3.rec_s_hs", "s3.ee", "s3.scert", "s3.scv", "s3.sfin"},
        {"s3.rec_c_fin", "s3.cfin"},
        {"s3.rec_s_nst", "s3.nst"},
        {"s3.rec_c_app", "s3.app_data"},
        {"s3.rec_s_app", "s3.app_data"},
        {"s3.rec_c_alert", "s3.alert"},
        {"s3.rec_s_alert", "s3.alert"},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strcmp(parts[i][0], rec) == 0)
            for (size_t j = 1; j < 5 && parts[i][j]; j++) {
                const struct vec *v = V(parts[i][j]);
                memcpy(out + n, v->v, v->len);
                n += v->len;
            }
    return n;
}

static rec_key rfc_key(const char *which)
{
    char kn[32], ivn[32];
    snprintf(kn, sizeof kn, "s3.%s_key", which);
    snprintf(ivn, sizeof ivn, "s3.%s_iv", which);
    const struct vec *k = V(kn), *iv = V(ivn);
    CHECK_EQ(k->len, 16);
    CHECK_EQ(iv->len, 12);
    return key13(CRY_AES_128_GCM, k->v, iv->v); /* RFC 8448: TLS_AES_128_GCM_SHA256 */
}

static void test_rfc8448_records(void)
{
    static uint8_t pt[1024], buf[1024];
    for (size_t i = 0; i < sizeof rfc_records / sizeof rfc_records[0]; i++) {
        const struct rfc_record *t = &rfc_records[i];
        const struct vec *want = V(t->rec);
        size_t pt_len = rfc_payload(t->rec, pt);
        CHECK_EQ(want->len, 5 + pt_len + 1 + 16); /* the RFC pads none of them */
        rec_key k = rfc_key(t->which);
        rec_dir w = {0}, r = {0};
        CHECK_ERR(rec_dir_init(&w, &k, true), MTLS_OK);
        CHECK_ERR(rec_dir_init(&r, &k, false), MTLS_OK);

        /* seal == the RFC's bytes */
        w.seq = t->seq;
        size_t rec_len = 0;
        CHECK_ERR(rec_seal(&w, t->type, buf, pt, pt_len, &rec_len), MTLS_OK);
        CHECK_EQ(rec_len, want->len);
        CHECK_MEM(buf, want->v, want->len);
        CHECK_EQ(w.seq, t->seq + 1);
        if (rec_len != want->len || memcmp(buf, want->v, want->len) != 0)
            fprintf(stderr, "  RFC 8448 record %s differs\n", t->rec);

        /* open(the RFC's bytes) == the plaintext */
        memcpy(buf, want->v, want->len);
        r.seq = t->seq;
        uint8_t *plain;
        size_t plain_len;
        CHECK_ERR(rec_open(&r, buf, want->len, &plain, &plain_len), MTLS_OK);
        CHECK_EQ(buf[0], t->type);
        CHECK_EQ(plain_len, pt_len);
        CHECK_MEM(plain, pt, pt_len);
        CHECK_EQ(r.seq, t->seq + 1);
        /* ... and not at another sequence number */
        memcpy(buf, want->v, want->len);
        r.seq = t->seq + 1;
        CHECK_ERR(rec_open(&r, buf, want->len, &plain, &plain_len), MTLS_ERR_BAD_RECORD_MAC);
        rec_dir_clear(&w);
        rec_dir_clear(&r);
    }
}

/* The section 3 exchange through two layers, with the handshake's key changes: the server writes
 * its ServerHello in clear, then EncryptedExtensions..Finished under the server handshake key,
 * then the ticket, data and close_notify under the application key; the client reads them with
 * the keys installed between records (the ServerHello and the encrypted flight arriving in one
 * piece), and the other way round. */
static void test_rfc8448_layers(void)
{
    static uint8_t pt[1024];
    rec_layer srv = {0}, cli = {0};
    rec_in r;
    const struct vec *sh = V("s3.sh");

    /* server -> client */
    CHECK_ERR(rec_write(&srv, TLS_CT_HANDSHAKE, sh->v, sh->len), MTLS_OK);
    rec_key s_hs = rfc_key("s_hs"), s_ap = rfc_key("s_ap");
    CHECK_ERR(rec_set_write_key(&srv, &s_hs), MTLS_OK);
    size_t n = rfc_payload("s3.rec_s_hs", pt);
    CHECK_ERR(rec_write(&srv, TLS_CT_HANDSHAKE, pt, n), MTLS_OK);
    size_t pending;
    const uint8_t *out = rec_send_pending(&srv, &pending);
    const struct vec *rec_s_hs = V("s3.rec_s_hs");
    CHECK_EQ(pending, 5 + sh->len + rec_s_hs->len);
    CHECK(out && out[0] == 22 && out[1] == 3 && out[2] == 3); /* the ServerHello, 0x0303 */
    CHECK(out && memcmp(out + 5 + sh->len, rec_s_hs->v, rec_s_hs->len) == 0);
    move_all(&srv, &cli);
    CHECK_ERR(rec_read(&cli, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_HANDSHAKE);
    CHECK_EQ(r.len, sh->len);
    /* a read key does not change while a record is current */
    CHECK_ERR(rec_set_read_key(&cli, &s_hs), MTLS_ERR_BAD_STATE);
    rec_release(&cli);
    rec_fix_version(&cli, 0x0303);
    CHECK_ERR(rec_set_read_key(&cli, &s_hs), MTLS_OK);
    CHECK_ERR(rec_read(&cli, &r), MTLS_OK); /* already received: opened with the new key */
    CHECK_EQ(r.type, TLS_CT_HANDSHAKE);
    CHECK_EQ(r.len, n);
    CHECK_MEM(r.p, pt, n);
    rec_release(&cli);

    CHECK_ERR(rec_set_write_key(&srv, &s_ap), MTLS_OK);
    CHECK_EQ(srv.out.seq, 0);
    n = rfc_payload("s3.rec_s_nst", pt);
    CHECK_ERR(rec_write(&srv, TLS_CT_HANDSHAKE, pt, n), MTLS_OK);
    const struct vec *app = V("s3.app_data"), *alert = V("s3.alert");
    CHECK_ERR(rec_write(&srv, TLS_CT_APPLICATION_DATA, app->v, app->len), MTLS_OK);
    CHECK_ERR(rec_write(&srv, TLS_CT_ALERT, alert->v, alert->len), MTLS_OK);
    const struct vec *w1 = V("s3.rec_s_nst"), *w2 = V("s3.rec_s_app"), *w3 = V("s3.rec_s_alert");
    out = rec_send_pending(&srv, &pending);
    CHECK_EQ(pending, w1->len + w2->len + w3->len);
    if (out && pending == w1->len + w2->len + w3->len) {
        CHECK_MEM(out, w1->v, w1->len);
        CHECK_MEM(out + w1->len, w2->v, w2->len);
        CHECK_MEM(out + w1->len + w2->len, w3->v, w3->len);
    }
    move_all(&srv, &cli);
    CHECK_ERR(rec_set_read_key(&cli, &s_ap), MTLS_OK);
    CHECK_ERR(rec_read(&cli, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_HANDSHAKE);
    CHECK_EQ(r.len, n);
    CHECK_MEM(r.p, pt, n);
    rec_release(&cli);
    CHECK_ERR(rec_read(&cli, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_APPLICATION_DATA);
    CHECK_EQ(r.len, app->len);
    CHECK_MEM(r.p, app->v, app->len);
    rec_release(&cli);
    CHECK_ERR(rec_read(&cli, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_ALERT);
    CHECK_EQ(r.len, 2);
    CHECK_MEM(r.p, alert->v, 2);
    rec_release(&cli);
    CHECK(rec_idle(&cli));

    /* client -> server: Finished under the client handshake key, then data and close_notify */
    rec_key c_hs = rfc_key("c_hs"), c_ap = rfc_key("c_ap");
    CHECK_ERR(rec_set_write_key(&cli, &c_hs), MTLS_OK);
    const struct vec *cfin = V("s3.cfin");
    CHECK_ERR(rec_write(&cli, TLS_CT_HANDSHAKE, cfin->v, cfin->len), MTLS_OK);
    CHECK_ERR(rec_set_write_key(&cli, &c_ap), MTLS_OK);
    CHECK_ERR(rec_write(&cli, TLS_CT_APPLICATION_DATA, app->v, app->len), MTLS_OK);
    CHECK_ERR(rec_write(&cli, TLS_CT_ALERT, alert->v, alert->len), MTLS_OK);
    w1 = V("s3.rec_c_fin");
    w2 = V("s3.rec_c_app");
    w3 = V("s3.rec_c_alert");
    out = rec_send_pending(&cli, &pending);
    CHECK_EQ(pending, w1->len + w2->len + w3->len);
    if (out && pending == w1->len + w2->len + w3->len) {
        CHECK_MEM(out, w1->v, w1->len);
        CHECK_MEM(out + w1->len, w2->v, w2->len);
        CHECK_MEM(out + w1->len + w2->len, w3->v, w3->len);
    }
    move_all(&cli, &srv);
    CHECK_ERR(rec_set_read_key(&srv, &c_hs), MTLS_OK);
    CHECK_ERR(rec_read(&srv, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_HANDSHAKE);
    CHECK_EQ(r.len, cfin->len);
    CHECK_MEM(r.p, cfin->v, cfin->len);
    rec_release(&srv);
    /* the next record is under c_ap: the old key refuses it, which is how a record under the
     * wrong key shows (and the layer is failed from then on: the connection ends) */
    rec_layer copy = {0};
    size_t rest = srv.rlen - srv.rstart;
    put(&copy, srv.rbuf + srv.rstart, rest);
    CHECK_ERR(rec_set_read_key(&copy, &c_hs), MTLS_OK);
    copy.in.seq = 1;
    CHECK_ERR(rec_read(&copy, &r), MTLS_ERR_BAD_RECORD_MAC);
    CHECK(has(&copy, "bad_record_mac"));
    rec_layer_free(&copy);
    CHECK_ERR(rec_set_read_key(&srv, &c_ap), MTLS_OK);
    CHECK_ERR(rec_read(&srv, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_APPLICATION_DATA);
    CHECK_MEM(r.p, app->v, app->len);
    rec_release(&srv);
    CHECK_ERR(rec_read(&srv, &r), MTLS_OK);
    CHECK_EQ(r.type, TLS_CT_ALERT);
    rec_release(&srv);
    rec_layer_free(&srv);
    rec_layer_free(&cli);
}

/* ---- independent sealer: the three AEADs, nonces at chosen sequence numbers -------------- */

static void test_nonces(cry_aead_alg alg)
{
    uint8_t key[32], iv[12];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(0x30 + 3 * i);
    for (size_t i = 0; i < sizeof iv; i++)
        iv[i] = (uint8_t)(0xf0 - 7 * i);
    rec_key k = key13(alg, key, iv);
    rec_dir w = {0}, r = {0};
    CHECK_ERR(rec_dir_init(&w, &k, true), MTLS_OK);
    CHECK_ERR(rec_dir_init(&r, &k, false), MTLS_OK);
    CHECK_EQ(rec_dir_prefix(&w), 0);
    CHECK_EQ(rec_dir_overhead(&w), 17);
    static const uint64_t seqs[] = {0, 1, UINT64_C(1) << 32, UINT64_MAX - 1};
    uint8_t pt[40], rec[128], want[128];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 11);
    pt[sizeof pt - 1] = 0; /* content ending in zeros keeps them: the type byte follows */
    pt[sizeof pt - 2] = 0;
    for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
        w.seq = seqs[s];
        size_t rec_len;
        CHECK_ERR(rec_seal(&w, TLS_CT_APPLICATION_DATA, rec, pt, sizeof pt, &rec_len), MTLS_OK);
        size_t want_len =
            ref_record(alg, key, iv, seqs[s], TLS_CT_APPLICATION_DATA, pt, sizeof pt, 0, want);
        CHECK_EQ(rec_len, want_len);
        CHECK_MEM(rec, want, want_len);
        r.seq = seqs[s];
        uint8_t *plain;
        size_t plain_len;
        CHECK_ERR(rec_open(&r, rec, rec_len, &plain, &plain_len), MTLS_OK);
        CHECK_EQ(plain_len, sizeof pt);
        CHECK_MEM(plain, pt, sizeof pt);
        CHECK_EQ(rec[0], TLS_CT_APPLICATION_DATA);
    }
    /* 2^64-2 was the last: a sequence number never wraps (RFC 8446 5.3) */
    CHECK(w.seq == UINT64_MAX && r.seq == UINT64_MAX);
    size_t rec_len;
    CHECK_ERR(rec_seal(&w, TLS_CT_APPLICATION_DATA, rec, pt, 4, &rec_len), MTLS_ERR_INTERNAL);
    size_t want_len = ref_record(alg, key, iv, UINT64_MAX, TLS_CT_HANDSHAKE, pt, 4, 0, want);
    uint8_t *plain;
    size_t plain_len;
    CHECK_ERR(rec_open(&r, want, want_len, &plain, &plain_len), MTLS_ERR_INTERNAL);

    /* the other content types, and padding others produce */
    static const uint8_t types[] = {TLS_CT_HANDSHAKE, TLS_CT_ALERT, TLS_CT_APPLICATION_DATA};
    static const size_t pads[] = {0, 1, 100, 4000};
    for (size_t t = 0; t < sizeof types; t++)
        for (size_t p = 0; p < sizeof pads / sizeof pads[0]; p++) {
            static uint8_t big[5000];
            r.seq = 9;
            size_t n = ref_record(alg, key, iv, 9, types[t], pt, 7, pads[p], big);
            CHECK_EQ(n, 5 + 7 + 1 + pads[p] + 16);
            CHECK_ERR(rec_open(&r, big, n, &plain, &plain_len), MTLS_OK);
            CHECK_EQ(big[0], types[t]);
            CHECK_EQ(plain_len, 7);
            CHECK_MEM(plain, pt, 7);
        }
    rec_dir_clear(&w);
    rec_dir_clear(&r);
}

/* ---- padding sent, the inner plaintext bound, bad inner plaintexts --------------------------- */

static uint8_t big_a[TLS_RECORD_HEADER + TLS13_MAX_CIPHERTEXT + 64];
static uint8_t big_b[TLS_RECORD_HEADER + TLS13_MAX_CIPHERTEXT + 64];
static uint8_t data[2 * TLS_MAX_PLAINTEXT + 64];

static uint8_t dst[TLS13_MAX_CIPHERTEXT + 64];

static void test_padding(void)
{
    uint8_t key[16] = {7}, iv[12] = {9};
    rec_key k = key13(CRY_AES_128_GCM, key, iv);
    rec_dir w = {0}, r = {0}, rto = {0};
    CHECK_ERR(rec_dir_init(&w, &k, true), MTLS_OK);
    CHECK_ERR(rec_dir_init(&r, &k, false), MTLS_OK);
    CHECK_ERR(rec_dir_init(&rto, &k, false), MTLS_OK);
    CHECK_EQ(w.pad, 0); /* unpadded by default */
    struct {
        uint16_t pad;
        size_t len, want_pad;
    } cases[] = {
        {1, 10, 1},
        {100, 10, 100},
        {100, 0, 100},                       /* empty application data, padded */
        {65535, 1, TLS_MAX_PLAINTEXT - 1},   /* the most: inner 2^14 + 1 */
        {65535, 0, TLS_MAX_PLAINTEXT},       /* all padding */
        {300, TLS_MAX_PLAINTEXT - 100, 100}, /* cut to stay within 2^14 + 1 */
        {1, TLS_MAX_PLAINTEXT, 0},           /* a full record has no room */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        w.pad = cases[i].pad;
        uint64_t seq = w.seq;
        size_t rec_len;
        CHECK_ERR(rec_seal(&w, TLS_CT_APPLICATION_DATA, big_a, data, cases[i].len, &rec_len),
                  MTLS_OK);
        CHECK_EQ(rec_len, 5 + cases[i].len + 1 + cases[i].want_pad + 16);
        size_t want_len = ref_record(CRY_AES_128_GCM, key, iv, seq, TLS_CT_APPLICATION_DATA, data,
                                     cases[i].len, cases[i].want_pad, big_b);
        CHECK_EQ(rec_len, want_len);
        CHECK_MEM(big_a, big_b, want_len);
        uint8_t *plain;
        size_t plain_len;
        /* Opened into a buffer of its own (rec_open_to): one that holds exactly all the content
         * the record can carry (the type byte then stays in the record), and a larger one.  The
         * content lands there, and after it only zeros: the type byte is not left behind. */
        size_t max = rec_len - 5 - 16 - 1;
        for (size_t extra = 0; extra <= 40; extra += 40) {
            size_t cap = max + extra, n1 = cap < max + 1 ? cap : max + 1;
            memcpy(big_b, big_a, rec_len);
            memset(dst, 0xaa, sizeof(dst));
            rto.seq = seq;
            CHECK_ERR(rec_open_to(&rto, big_b, rec_len, dst, cap, &plain, &plain_len), MTLS_OK);
            CHECK(plain == dst);
            CHECK_EQ(plain_len, cases[i].len);
            CHECK_MEM(dst, data, cases[i].len);
            CHECK_EQ(big_b[0], TLS_CT_APPLICATION_DATA);
            size_t bad = 0;
            for (size_t j = cases[i].len; j < n1; j++)
                bad += dst[j] != 0;
            for (size_t j = n1; j < n1 + 64; j++)
                bad += dst[j] != 0xaa; /* nothing written past what was given */
            CHECK_EQ(bad, 0);
        }
        if (max > 0) { /* a buffer that cannot hold all the record may carry is refused */
            memcpy(big_b, big_a, rec_len);
            rto.seq = seq;
            CHECK_ERR(rec_open_to(&rto, big_b, rec_len, dst, max - 1, &plain, &plain_len),
                      MTLS_ERR_INTERNAL);
        }
        CHECK_ERR(rec_open(&r, big_a, rec_len, &plain, &plain_len), MTLS_OK);
        CHECK_EQ(plain_len, cases[i].len);
        CHECK_MEM(plain, data, cases[i].len);
    }
    /* padded handshake and alert records too (5.4: padding for them is the TLS layer's) */
    w.pad = 33;
    static const uint8_t alert[] = {1, 0};
    size_t rec_len;
    CHECK_ERR(rec_seal(&w, TLS_CT_ALERT, big_a, alert, 2, &rec_len), MTLS_OK);
    CHECK_EQ(rec_len, 5 + 2 + 1 + 33 + 16);
    uint8_t *plain;
    size_t plain_len;
    CHECK_ERR(rec_open(&r, big_a, rec_len, &plain, &plain_len), MTLS_OK);
    CHECK(big_a[0] == TLS_CT_ALERT && plain_len == 2 && memcmp(plain, alert, 2) == 0);

    /* through the layer: 20000 bytes with pad 100 are a full record (no room for padding) and
     * one of 3616 bytes padded by 100; the overhead a writer announces counts the padding */
    rec_layer a = {0}, b = {0};
    CHECK_ERR(rec_set_write_key(&a, &k), MTLS_OK);
    CHECK_ERR(rec_set_read_key(&b, &k), MTLS_OK);
    CHECK_EQ(rec_write_overhead(&a), 5 + 17);
    a.out.pad = 100;
    CHECK_EQ(rec_write_overhead(&a), 5 + 17 + 100);
    CHECK_ERR(rec_write(&a, TLS_CT_APPLICATION_DATA, data, 20000), MTLS_OK);
    size_t pending;
    struct wire wi;
    wi.p = rec_send_pending(&a, &pending);
    wi.n = pending;
    CHECK_EQ(pending, (5 + TLS_MAX_PLAINTEXT + 17) + (5 + (20000 - TLS_MAX_PLAINTEXT) + 17 + 100));
    rec_in in;
    CHECK_ERR(read_from(&b, &wi, &in), MTLS_OK);
    CHECK(in.len == TLS_MAX_PLAINTEXT && memcmp(in.p, data, in.len) == 0);
    rec_release(&b);
    CHECK_ERR(read_from(&b, &wi, &in), MTLS_OK);
    CHECK(in.len == 20000 - TLS_MAX_PLAINTEXT &&
          memcmp(in.p, data + TLS_MAX_PLAINTEXT, in.len) == 0);
    rec_release(&b);
    CHECK(rec_idle(&b));
    rec_layer_free(&a);
    rec_layer_free(&b);
    rec_dir_clear(&w);
    rec_dir_clear(&r);
    rec_dir_clear(&rto);
}

/* An inner plaintext sealed as given (no type appended) at r's sequence number, opened by r. */
static mtls_err open_inner(rec_dir *r, const uint8_t *key, const uint8_t *iv, const uint8_t *inner,
                           size_t inner_len, uint8_t **plain, size_t *plain_len)
{
    size_t n = ref_seal(CRY_AES_128_GCM, key, iv, r->seq, TLS_CT_APPLICATION_DATA, 0x0303, inner,
                        inner_len, big_a);
    return rec_open(r, big_a, n, plain, plain_len);
}

static void test_inner(void)
{
    uint8_t key[16] = {1, 2, 3}, iv[12] = {4, 5, 6};
    rec_key k = key13(CRY_AES_128_GCM, key, iv);
    rec_dir r = {0};
    CHECK_ERR(rec_dir_init(&r, &k, false), MTLS_OK);
    uint8_t *plain;
    size_t plain_len;
    static uint8_t inner[TLS13_MAX_CIPHERTEXT];

    /* 5.4: no non-zero octet: unexpected_message (empty, one zero, many zeros) */
    static const size_t zero_lens[] = {0, 1, 300, TLS13_MAX_INNER_PLAINTEXT};
    for (size_t i = 0; i < sizeof zero_lens / sizeof zero_lens[0]; i++) {
        memset(inner, 0, sizeof inner);
        CHECK_ERR(open_inner(&r, key, iv, inner, zero_lens[i], &plain, &plain_len),
                  MTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(r.why && strstr(r.why, "all zeros"));
    }
    /* a protected change_cipher_spec: unexpected_message (RFC 8446 5) */
    inner[0] = 1;
    inner[1] = TLS_CT_CHANGE_CIPHER_SPEC;
    CHECK_ERR(open_inner(&r, key, iv, inner, 2, &plain, &plain_len), MTLS_ERR_UNEXPECTED_MESSAGE);
    CHECK(r.why && strstr(r.why, "change_cipher_spec"));
    /* empty handshake and alert content: unexpected_message (5.4); empty application data is
     * allowed, padded or not */
    static const uint8_t empty_types[] = {TLS_CT_HANDSHAKE, TLS_CT_ALERT};
    for (size_t i = 0; i < sizeof empty_types; i++) {
        memset(inner, 0, 8);
        inner[0] = empty_types[i];
        CHECK_ERR(open_inner(&r, key, iv, inner, 1, &plain, &plain_len),
                  MTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK_ERR(open_inner(&r, key, iv, inner, 8, &plain, &plain_len),
                  MTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(r.why && strstr(r.why, "empty"));
    }
    memset(inner, 0, 8);
    inner[0] = TLS_CT_APPLICATION_DATA;
    CHECK_ERR(open_inner(&r, key, iv, inner, 8, &plain, &plain_len), MTLS_OK);
    CHECK_EQ(plain_len, 0);
    /* an unknown inner type goes up (core answers unexpected_message, as for TLS 1.2) */
    inner[0] = 'x';
    inner[1] = 99;
    CHECK_ERR(open_inner(&r, key, iv, inner, 2, &plain, &plain_len), MTLS_OK);
    CHECK(big_a[0] == 99 && plain_len == 1);

    /* the inner plaintext bound: content 2^14 + type = 2^14 + 1: fine; content 2^14 + 1: over;
     * content 2^14 - 8 + type + 8 zeros: fine; + 9 zeros: over (5.4, padding included; this is
     * tlsfuzzer's "too big plaintext, size: 2**14 - 8, with an additional 9 bytes of padding") */
    struct {
        size_t content, pad;
        mtls_err want;
    } lim[] = {
        {TLS_MAX_PLAINTEXT, 0, MTLS_OK},
        {TLS_MAX_PLAINTEXT + 1, 0, MTLS_ERR_RECORD_OVERFLOW},
        {TLS_MAX_PLAINTEXT - 8, 8, MTLS_OK},
        {TLS_MAX_PLAINTEXT - 8, 9, MTLS_ERR_RECORD_OVERFLOW},
        {0, TLS_MAX_PLAINTEXT, MTLS_OK},
        {0, TLS_MAX_PLAINTEXT + 1, MTLS_ERR_RECORD_OVERFLOW},
        {36, TLS13_MAX_CIPHERTEXT - 16 - 37, MTLS_ERR_RECORD_OVERFLOW}, /* ciphertext 2^14+256 */
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        memset(inner, 0x41, lim[i].content);
        inner[lim[i].content] = TLS_CT_APPLICATION_DATA;
        memset(inner + lim[i].content + 1, 0, lim[i].pad);
        CHECK_ERR(
            open_inner(&r, key, iv, inner, lim[i].content + 1 + lim[i].pad, &plain, &plain_len),
            lim[i].want);
        if (lim[i].want == MTLS_OK)
            CHECK_EQ(plain_len, lim[i].content);
        else
            CHECK(r.why && strstr(r.why, "2^14 + 1"));
    }
    /* the header's version is 0x0303 (5.2), even when the sender put another in the AAD */
    inner[0] = 'a';
    inner[1] = TLS_CT_APPLICATION_DATA;
    size_t n =
        ref_seal(CRY_AES_128_GCM, key, iv, r.seq, TLS_CT_APPLICATION_DATA, 0x0301, inner, 2, big_a);
    CHECK_ERR(rec_open(&r, big_a, n, &plain, &plain_len), MTLS_ERR_BAD_RECORD_VERSION);
    rec_dir_clear(&r);
}

/* ---- bit flips and truncations --------------------------------------------------------------- */

static void test_tamper(cry_aead_alg alg)
{
    uint8_t key[32] = {0x11}, iv[12] = {0x22};
    rec_key k = key13(alg, key, iv);
    rec_dir w = {0}, r = {0};
    CHECK_ERR(rec_dir_init(&w, &k, true), MTLS_OK);
    CHECK_ERR(rec_dir_init(&r, &k, false), MTLS_OK);
    static const uint8_t msg[] = "a handshake message";
    uint8_t rec[128];
    size_t rec_len;
    w.seq = 5;
    w.pad = 3;
    CHECK_ERR(rec_seal(&w, TLS_CT_HANDSHAKE, rec, msg, sizeof msg, &rec_len), MTLS_OK);

    /* every bit of the body and of the length field: bad_record_mac (the header is the AAD) */
    int total = 0, mac = 0;
    for (size_t byte = 3; byte < rec_len; byte++)
        for (int bit = 0; bit < 8; bit++) {
            uint8_t copy[128], *plain;
            size_t plain_len;
            memcpy(copy, rec, rec_len);
            copy[byte] ^= (uint8_t)(1u << bit);
            r.seq = 5;
            total++;
            mac += rec_open(&r, copy, rec_len, &plain, &plain_len) == MTLS_ERR_BAD_RECORD_MAC;
        }
    CHECK_EQ(mac, total);
    /* the type and version bytes are checked before the AEAD: a record that does not say
     * application_data / 0x0303 outside is not a TLS 1.3 protected record */
    int other = 0;
    for (size_t byte = 0; byte < 3; byte++)
        for (int bit = 0; bit < 8; bit++) {
            uint8_t copy[128], *plain;
            size_t plain_len;
            memcpy(copy, rec, rec_len);
            copy[byte] ^= (uint8_t)(1u << bit);
            r.seq = 5;
            mtls_err err = rec_open(&r, copy, rec_len, &plain, &plain_len);
            other +=
                byte == 0 ? err == MTLS_ERR_UNEXPECTED_MESSAGE : err == MTLS_ERR_BAD_RECORD_VERSION;
        }
    CHECK_EQ(other, 24);
    /* every truncation, header length left as sent or made to match: bad_record_mac */
    for (size_t len = TLS_RECORD_HEADER; len < rec_len; len++) {
        uint8_t copy[128], *plain;
        size_t plain_len;
        memcpy(copy, rec, rec_len);
        r.seq = 5;
        CHECK_ERR(rec_open(&r, copy, len, &plain, &plain_len), MTLS_ERR_BAD_RECORD_MAC);
        be16_put(copy + 3, (uint16_t)(len - TLS_RECORD_HEADER));
        r.seq = 5;
        CHECK_ERR(rec_open(&r, copy, len, &plain, &plain_len), MTLS_ERR_BAD_RECORD_MAC);
    }
    /* the untouched record opens (in place: a copy) */
    uint8_t copy[128], *plain;
    size_t plain_len;
    memcpy(copy, rec, rec_len);
    r.seq = 5;
    CHECK_ERR(rec_open(&r, copy, rec_len, &plain, &plain_len), MTLS_OK);
    CHECK(plain_len == sizeof msg && memcmp(plain, msg, sizeof msg) == 0);

    /* through the layer: a truncated record waits for the rest; one flipped bit fails with
     * bad_record_mac and says so */
    rec_layer l = {0};
    rec_in in;
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    l.in.seq = 5;
    for (size_t len = 0; len < rec_len; len++) {
        rec_layer t = {0};
        CHECK_ERR(rec_set_read_key(&t, &k), MTLS_OK);
        t.in.seq = 5;
        put(&t, rec, len);
        CHECK_ERR(rec_read(&t, &in), MTLS_ERR_WANT_READ);
        rec_layer_free(&t);
    }
    memcpy(copy, rec, rec_len);
    copy[rec_len / 2] ^= 0x10;
    put(&l, copy, rec_len);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_BAD_RECORD_MAC);
    CHECK(has(&l, "bad_record_mac"));
    rec_layer_free(&l);
    rec_dir_clear(&w);
    rec_dir_clear(&r);
}

/* ---- the layer's limits ---------------------------------------------------------------------- */

static void test_layer_limits(void)
{
    uint8_t key[16] = {3}, iv[12] = {4};
    rec_key k = key13(CRY_AES_128_GCM, key, iv);
    rec_in in;

    /* header: 2^14 + 257 refused at once, before any body is buffered; 2^14 + 256 waits */
    rec_layer l = {0};
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    static const uint8_t over[] = {23, 3, 3, 0x41, 0x01}; /* 2^14 + 257 */
    put(&l, over, sizeof over);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_RECORD_OVERFLOW);
    CHECK(has(&l, "16641"));
    rec_layer_free(&l);
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    static const uint8_t max[] = {23, 3, 3, 0x41, 0x00}; /* 2^14 + 256 */
    put(&l, max, sizeof max);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_WANT_READ);
    rec_layer_free(&l);

    /* TLS 1.2's larger bound stays TLS 1.2's */
    memset(&l, 0, sizeof l);
    rec_key k12 = {MTLS_VERSION_TLS12, CRY_AES_128_GCM, key, 16, iv, 4};
    CHECK_ERR(rec_set_read_key(&l, &k12), MTLS_OK);
    put(&l, over, sizeof over);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_WANT_READ);
    rec_layer_free(&l);

    /* a whole 2^14 + 256 record: a forged one fails authentication; a genuine one is over the
     * inner plaintext bound (no AEAD of TLS 1.3 expands by 255); 2^14 of content passes,
     * 2^14 + 1 does not */
    struct {
        size_t content, pad;
        bool forge;
        mtls_err want;
    } cases[] = {
        {TLS_MAX_PLAINTEXT, 239, true, MTLS_ERR_BAD_RECORD_MAC},
        {TLS_MAX_PLAINTEXT, 239, false, MTLS_ERR_RECORD_OVERFLOW},
        {TLS_MAX_PLAINTEXT, 0, false, MTLS_OK},
        {TLS_MAX_PLAINTEXT + 1, 0, false, MTLS_ERR_RECORD_OVERFLOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&l, 0, sizeof l);
        CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
        memset(data, 0x5a, cases[i].content);
        size_t n = ref_record(CRY_AES_128_GCM, key, iv, 0, TLS_CT_APPLICATION_DATA, data,
                              cases[i].content, cases[i].pad, big_a);
        if (cases[i].forge)
            big_a[n - 1] ^= 1;
        struct wire wi = {big_a, n};
        CHECK_ERR(read_from(&l, &wi, &in), cases[i].want);
        if (cases[i].want == MTLS_OK)
            CHECK(in.type == TLS_CT_APPLICATION_DATA && in.len == cases[i].content);
        else if (cases[i].want == MTLS_ERR_RECORD_OVERFLOW)
            CHECK(has(&l, "2^14 + 1"));
        rec_layer_free(&l);
    }

    /* the all-zero inner plaintext through the layer: unexpected_message, and the detail */
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    memset(data, 0, 20);
    size_t n =
        ref_seal(CRY_AES_128_GCM, key, iv, 0, TLS_CT_APPLICATION_DATA, 0x0303, data, 20, big_a);
    put(&l, big_a, n);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_UNEXPECTED_MESSAGE);
    CHECK(has(&l, "all zeros"));
    rec_layer_free(&l);

    /* the version, once the handshake fixed 0x0303: any other in a header is refused */
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    rec_fix_version(&l, 0x0303);
    n = ref_record(CRY_AES_128_GCM, key, iv, 0, TLS_CT_APPLICATION_DATA, data, 3, 0, big_a);
    big_a[2] = 4; /* 0x0304 */
    put(&l, big_a, n);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_BAD_RECORD_VERSION);
    rec_layer_free(&l);
}

/* ---- sequence numbers and key changes -------------------------------------------------------- */

static void test_key_change(void)
{
    uint8_t ka[32] = {0xaa}, kb[32] = {0xbb}, iva[12] = {0xa1}, ivb[12] = {0xb1};
    rec_key a = key13(CRY_CHACHA20_POLY1305, ka, iva), b = key13(CRY_CHACHA20_POLY1305, kb, ivb);
    rec_layer w = {0}, r = {0};
    rec_in in;
    CHECK_ERR(rec_set_write_key(&w, &a), MTLS_OK);
    CHECK_ERR(rec_set_read_key(&r, &a), MTLS_OK);
    for (int i = 0; i < 3; i++)
        CHECK_ERR(rec_write(&w, TLS_CT_APPLICATION_DATA, (const uint8_t *)"abc", 3), MTLS_OK);
    CHECK_EQ(w.out.seq, 3);
    move_all(&w, &r);
    for (int i = 0; i < 3; i++) {
        CHECK_ERR(rec_read(&r, &in), MTLS_OK);
        rec_release(&r);
    }
    CHECK_EQ(r.in.seq, 3);
    /* RFC 8446 5.3: "Each sequence number is set to zero ... whenever the key is changed" */
    CHECK_ERR(rec_set_write_key(&w, &b), MTLS_OK);
    CHECK_ERR(rec_set_read_key(&r, &b), MTLS_OK);
    CHECK_EQ(w.out.seq, 0);
    CHECK_EQ(r.in.seq, 0);
    CHECK_ERR(rec_write(&w, TLS_CT_HANDSHAKE, (const uint8_t *)"xyz", 3), MTLS_OK);
    size_t pending;
    const uint8_t *out = rec_send_pending(&w, &pending);
    size_t want_len = ref_record(CRY_CHACHA20_POLY1305, kb, ivb, 0, TLS_CT_HANDSHAKE,
                                 (const uint8_t *)"xyz", 3, 0, big_b);
    CHECK_EQ(pending, want_len);
    CHECK(out && memcmp(out, big_b, want_len) == 0); /* the first record under b is at seq 0 */
    move_all(&w, &r);
    CHECK_ERR(rec_read(&r, &in), MTLS_OK);
    CHECK(in.type == TLS_CT_HANDSHAKE && in.len == 3 && memcmp(in.p, "xyz", 3) == 0);
    rec_release(&r);
    /* a record still under the old key, after the change: refused */
    size_t n = ref_record(CRY_CHACHA20_POLY1305, ka, iva, 3, TLS_CT_APPLICATION_DATA,
                          (const uint8_t *)"old", 3, 0, big_a);
    put(&r, big_a, n);
    CHECK_ERR(rec_read(&r, &in), MTLS_ERR_BAD_RECORD_MAC);
    rec_layer_free(&w);
    rec_layer_free(&r);
    /* a version the layer does not know is refused */
    rec_dir d = {0};
    rec_key bad = a;
    bad.version = 0x0305;
    CHECK_ERR(rec_dir_init(&d, &bad, true), MTLS_ERR_INTERNAL);
    bad = a;
    bad.iv_len = 4;
    CHECK_ERR(rec_dir_init(&d, &bad, true), MTLS_ERR_INTERNAL);
    rec_dir_clear(&d);
}

/* ---- unprotected records under a read key ---------------------------------------------------- */

static void test_plain_windows(void)
{
    uint8_t key[16] = {0x42}, iv[12] = {0x24};
    rec_key k = key13(CRY_AES_128_GCM, key, iv);
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    static const uint8_t ccs2[] = {20, 3, 3, 0, 1, 2};
    static const uint8_t ccs_long[] = {20, 3, 3, 0, 2, 1, 1};
    static const uint8_t ccs_empty[] = {20, 3, 3, 0, 0};
    static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 48};
    static const uint8_t hs[] = {22, 3, 3, 0, 4, 20, 0, 0, 0};
    rec_in in;
    rec_layer l = {0};

    /* before any key: records pass in clear, CCS included, whatever the window */
    put(&l, ccs, sizeof ccs);
    CHECK_ERR(rec_read(&l, &in), MTLS_OK);
    CHECK(in.type == 20 && in.len == 1);
    rec_release(&l);
    rec_layer_free(&l);

    /* under a key, window closed: unexpected_message */
    struct {
        const uint8_t *rec;
        size_t len;
        bool ccs_open, alert_open;
        mtls_err want;
        const char *detail;
    } cases[] = {
        {ccs, sizeof ccs, false, false, MTLS_ERR_UNEXPECTED_MESSAGE, "after the peer's Finished"},
        {ccs, sizeof ccs, true, false, MTLS_OK, NULL},
        {ccs2, sizeof ccs2, true, false, MTLS_ERR_UNEXPECTED_MESSAGE, "single byte 0x01"},
        {ccs_long, sizeof ccs_long, true, false, MTLS_ERR_UNEXPECTED_MESSAGE, "single byte 0x01"},
        {ccs_empty, sizeof ccs_empty, true, false, MTLS_ERR_UNEXPECTED_MESSAGE, "single byte"},
        {alert, sizeof alert, true, false, MTLS_ERR_UNEXPECTED_MESSAGE, "unprotected record"},
        {alert, sizeof alert, false, true, MTLS_OK, NULL},
        {hs, sizeof hs, true, true, MTLS_ERR_UNEXPECTED_MESSAGE, "unprotected record"},
        {ccs, sizeof ccs, false, true, MTLS_ERR_UNEXPECTED_MESSAGE, "change_cipher_spec"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&l, 0, sizeof l);
        CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
        rec_allow_plain_ccs(&l, cases[i].ccs_open);
        rec_allow_plain_alert(&l, cases[i].alert_open);
        put(&l, cases[i].rec, cases[i].len);
        CHECK_ERR(rec_read(&l, &in), cases[i].want);
        if (cases[i].want == MTLS_OK) {
            CHECK_EQ(in.type, cases[i].rec[0]);
            CHECK_EQ(in.len, cases[i].len - 5);
            CHECK_MEM(in.p, cases[i].rec + 5, in.len);
            CHECK_EQ(l.in.seq, 0); /* an unprotected record takes no sequence number */
        } else {
            CHECK(has(&l, cases[i].detail));
        }
        rec_layer_free(&l);
    }
    /* a larger unprotected record is refused at its header (2^14 + 1 in clear) */
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    static const uint8_t big_hs[] = {22, 3, 3, 0x40, 0x01};
    put(&l, big_hs, sizeof big_hs);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_RECORD_OVERFLOW);
    rec_layer_free(&l);

    /* CCS window open: CCS, protected record, CCS, protected record -- the protected ones at
     * sequence numbers 0 and 1; a protected CCS is refused even in the window */
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    rec_allow_plain_ccs(&l, true);
    put(&l, ccs, sizeof ccs);
    size_t n = ref_record(CRY_AES_128_GCM, key, iv, 0, TLS_CT_HANDSHAKE, (const uint8_t *)"m1", 2,
                          0, big_a);
    put(&l, big_a, n);
    put(&l, ccs, sizeof ccs);
    n = ref_record(CRY_AES_128_GCM, key, iv, 1, TLS_CT_HANDSHAKE, (const uint8_t *)"m2", 2, 0,
                   big_a);
    put(&l, big_a, n);
    static const uint8_t one = 1;
    n = ref_record(CRY_AES_128_GCM, key, iv, 2, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1, 0, big_a);
    put(&l, big_a, n);
    static const uint8_t want_types[] = {20, 22, 20, 22};
    for (size_t i = 0; i < sizeof want_types; i++) {
        CHECK_ERR(rec_read(&l, &in), MTLS_OK);
        CHECK_EQ(in.type, want_types[i]);
        rec_release(&l);
    }
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_UNEXPECTED_MESSAGE);
    CHECK(has(&l, "protected change_cipher_spec"));
    rec_layer_free(&l);
    /* closing the window: the next CCS is refused */
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    rec_allow_plain_ccs(&l, true);
    put(&l, ccs, sizeof ccs);
    CHECK_ERR(rec_read(&l, &in), MTLS_OK);
    rec_release(&l);
    rec_allow_plain_ccs(&l, false);
    put(&l, ccs, sizeof ccs);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_UNEXPECTED_MESSAGE);
    rec_layer_free(&l);

    /* the plain-alert window closes by itself at the first protected record */
    memset(&l, 0, sizeof l);
    CHECK_ERR(rec_set_read_key(&l, &k), MTLS_OK);
    rec_allow_plain_alert(&l, true);
    n = ref_record(CRY_AES_128_GCM, key, iv, 0, TLS_CT_HANDSHAKE, (const uint8_t *)"m1", 2, 0,
                   big_a);
    put(&l, big_a, n);
    put(&l, alert, sizeof alert);
    CHECK_ERR(rec_read(&l, &in), MTLS_OK);
    rec_release(&l);
    CHECK(!l.plain_alert);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_UNEXPECTED_MESSAGE);
    rec_layer_free(&l);

    /* TLS 1.2 keys: unchanged (no windows; a plaintext record fails authentication) */
    memset(&l, 0, sizeof l);
    rec_key k12 = {MTLS_VERSION_TLS12, CRY_AES_128_GCM, key, 16, iv, 4};
    CHECK_ERR(rec_set_read_key(&l, &k12), MTLS_OK);
    rec_allow_plain_ccs(&l, true);
    put(&l, ccs, sizeof ccs);
    CHECK_ERR(rec_read(&l, &in), MTLS_ERR_BAD_RECORD_MAC);
    rec_layer_free(&l);

    /* sending: a CCS goes out in clear under a TLS 1.3 write key, taking no sequence number */
    rec_layer w = {0};
    CHECK_ERR(rec_set_write_key(&w, &k), MTLS_OK);
    CHECK_ERR(rec_write(&w, TLS_CT_CHANGE_CIPHER_SPEC, &one, 1), MTLS_OK);
    size_t pending;
    const uint8_t *out = rec_send_pending(&w, &pending);
    CHECK(pending == sizeof ccs && out && memcmp(out, ccs, sizeof ccs) == 0);
    CHECK_EQ(w.out.seq, 0);
    rec_layer_free(&w);
}

/* ---- RFC 8446 5.5: the AES-GCM key usage limit ----------------------------------------------- */

static void test_update_limit(void)
{
    uint8_t key[32] = {0x55}, iv[12] = {0x66};
    rec_layer l = {0};
    CHECK(!rec_write_needs_update(&l)); /* no key */
    rec_key gcm = key13(CRY_AES_256_GCM, key, iv);
    CHECK_ERR(rec_set_write_key(&l, &gcm), MTLS_OK);
    CHECK_EQ(l.out.update_after, REC13_AES_GCM_UPDATE_AFTER);
    CHECK(REC13_AES_GCM_UPDATE_AFTER < UINT64_C(23726566)); /* floor(2^24.5) */
    l.out.update_after = 3;                                 /* lowered for the test */
    for (int i = 0; i < 3; i++) {
        CHECK(!rec_write_needs_update(&l));
        CHECK_ERR(rec_write(&l, TLS_CT_APPLICATION_DATA, (const uint8_t *)"x", 1), MTLS_OK);
    }
    CHECK(rec_write_needs_update(&l));
    /* the KeyUpdate itself still goes out under the old key; the new key starts afresh */
    CHECK_ERR(rec_write(&l, TLS_CT_HANDSHAKE, (const uint8_t *)"\x18\0\0\1\0", 5), MTLS_OK);
    CHECK(rec_write_needs_update(&l));
    CHECK_ERR(rec_set_write_key(&l, &gcm), MTLS_OK);
    CHECK(!rec_write_needs_update(&l));
    l.out.seq = REC13_AES_GCM_UPDATE_AFTER - 1;
    CHECK(!rec_write_needs_update(&l));
    l.out.seq = REC13_AES_GCM_UPDATE_AFTER;
    CHECK(rec_write_needs_update(&l));
    /* ChaCha20-Poly1305: no limit before the sequence number runs out */
    rec_key cc = key13(CRY_CHACHA20_POLY1305, key, iv);
    CHECK_ERR(rec_set_write_key(&l, &cc), MTLS_OK);
    CHECK_EQ(l.out.update_after, 0);
    l.out.seq = UINT64_C(1) << 40;
    CHECK(!rec_write_needs_update(&l));
    /* TLS 1.2: never (it has no KeyUpdate) */
    rec_key k12 = {MTLS_VERSION_TLS12, CRY_AES_128_GCM, key, 16, iv, 4};
    CHECK_ERR(rec_set_write_key(&l, &k12), MTLS_OK);
    l.out.seq = UINT64_C(1) << 30;
    CHECK(!rec_write_needs_update(&l));
    rec_layer_free(&l);
}

int main(void)
{
    CHECK(cry_init());
    load_vectors();
    test_rfc8448_records();
    test_rfc8448_layers();
    test_nonces(CRY_AES_128_GCM);
    test_nonces(CRY_AES_256_GCM);
    test_nonces(CRY_CHACHA20_POLY1305);
    test_padding();
    test_inner();
    test_tamper(CRY_AES_128_GCM);
    test_tamper(CRY_CHACHA20_POLY1305);
    test_layer_limits();
    test_key_change();
    test_plain_windows();
    test_update_limit();
    for (size_t i = 0; i < nvecs; i++)
        free(vecs[i].v);
    return t_done();
}
