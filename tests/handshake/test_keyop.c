/*
 * test_keyop.c -- the application's private-key operations (mtls_config_set_cert_chain_key_method,
 * mtls_conn_key_op_done), in memory on the one pump.  The key method here is an application's:
 * libcrypto with the test PKI's keys, hashing the data it is given (RSA PKCS #1 / PSS, ECDSA) or
 * decrypting with raw RSA, and answering at once (sync) or later (deferred: the result is made
 * and held, and handed over only after the connection has been seen to stand still).
 *
 *   1. both roles, RSA and ECDSA keys (P-256, P-384), sync and deferred: the server's
 *      ServerKeyExchange (TLS 1.2) or CertificateVerify (TLS 1.3), the client's CertificateVerify
 *      (mutual authentication), both at once;
 *      while an operation is outstanding mtls_handshake answers MTLS_ERR_WANT_KEY_OP again and
 *      again, sends nothing, asks nothing twice, and the peer's bytes wait unread;
 *   2. static RSA: the premaster decrypted by the method, sync and deferred, with and without a
 *      client certificate -- the client's whole flight (and its CertificateVerify in the same
 *      record) arriving while the decryption is outstanding;
 *   3. bad ciphertexts (bad padding, wrong version, other premaster, too short, not below the
 *      modulus) and bad decryption results (a leading zero dropped, a byte too many, a bit
 *      flipped, nothing): the same outcome, state and trace as with the key in memory, and the
 *      method not asked for what has no raw decryption;
 *   4. a failed operation (sync, deferred: mtls_conn_key_op_done(conn, NULL, 0)): internal_error;
 *      a signature of the wrong size, or one that does not verify (another key): refused, never
 *      sent;
 *   5. resumption: the method is not called; the API's edges (done without an operation, twice,
 *      from inside the callback; no sign callback; a method without decrypt and static RSA);
 *   6. the fd helpers: WANT_KEY_OP at once, with or without a deadline, then on to the end.
 * Each part runs in TLS 1.2 and, where the version signs (all but static RSA), in TLS 1.3; every
 * config pins the version under test.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/hsstate.h"
#include "common/testpki.h"
#include "t.h"

/* ---- the application's key method ------------------------------------------------------------ */

enum km_result { KM_OK, KM_FAIL, KM_DROP_FIRST, KM_EXTRA_BYTE, KM_FLIP, KM_EMPTY, KM_TOO_LONG };

typedef struct km {
    EVP_PKEY *key;         /* the key the method uses (the certificate's, or another) */
    int defer;             /* answer MTLS_KEY_OP_PENDING and hold the result */
    int done_inside;       /* ... after handing it over from inside the callback */
    enum km_result result; /* what the result is turned into */
    mtls_conn *conn;       /* done_inside: the connection (the callback gets it const) */
    int signs, decrypts;
    uint16_t last_sigalg;
    size_t last_in_len;
    uint8_t held[1024];
    size_t held_len;
    int held_fail;
    int holding;
} km;

static EVP_PKEY *load_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    return k;
}

/* The scheme's hash and padding, as any application implements them. */
static const EVP_MD *scheme_md(uint16_t sigalg, int *pss)
{
    *pss = (sigalg >> 8) == 0x08;
    switch (sigalg) {
    case MTLS_SIG_RSA_PKCS1_SHA256:
    case MTLS_SIG_RSA_PSS_RSAE_SHA256:
    case MTLS_SIG_ECDSA_SECP256R1_SHA256:
        return EVP_sha256();
    case MTLS_SIG_RSA_PKCS1_SHA384:
    case MTLS_SIG_RSA_PSS_RSAE_SHA384:
    case MTLS_SIG_ECDSA_SECP384R1_SHA384:
        return EVP_sha384();
    case MTLS_SIG_RSA_PKCS1_SHA512:
    case MTLS_SIG_RSA_PSS_RSAE_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

static int do_sign(EVP_PKEY *key, uint16_t sigalg, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t *out_len)
{
    int pss;
    const EVP_MD *md = scheme_md(sigalg, &pss);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = 1024;
    int ok = md && m && EVP_DigestSignInit(m, &pctx, md, NULL, key) > 0 &&
             (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
                       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0)) &&
             EVP_DigestSign(m, out, &len, in, in_len) > 0;
    EVP_MD_CTX_free(m);
    *out_len = ok ? len : 0;
    return ok;
}

static int do_decrypt(EVP_PKEY *key, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t *out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    size_t len = 1024;
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0 &&
             EVP_PKEY_decrypt(ctx, out, &len, in, in_len) > 0;
    EVP_PKEY_CTX_free(ctx);
    *out_len = ok ? len : 0;
    return ok;
}

/* The result as the test wants it spoiled; 0 when the operation fails. */
static int spoil(km *k, int ok, uint8_t *buf, size_t *len)
{
    if (!ok || k->result == KM_FAIL)
        return 0;
    switch (k->result) {
    case KM_DROP_FIRST: /* a raw RSA result without its leading zero byte, say */
        memmove(buf, buf + 1, *len - 1);
        (*len)--;
        break;
    case KM_EXTRA_BYTE:
        buf[(*len)++] = 0x42;
        break;
    case KM_FLIP: /* in the premaster of an RSA block, in s of an ECDSA signature */
        buf[*len - 1] ^= 0x01;
        break;
    case KM_EMPTY:
        *len = 0;
        break;
    case KM_TOO_LONG:
        memset(buf + *len, 0x17, 600);
        *len += 600;
        break;
    default:
        break;
    }
    return 1;
}

/* Answer now (copy into out, within cap) or hold the result for later. */
static mtls_key_op_status answer(km *k, int ok, const uint8_t *res, size_t len, uint8_t *out,
                                 size_t cap, size_t *out_len)
{
    if (k->defer) {
        k->holding = 1;
        k->held_fail = !ok;
        memcpy(k->held, res, len);
        k->held_len = len;
        if (k->done_inside) {
            CHECK_ERR(mtls_conn_key_op_done(k->conn, ok ? k->held : NULL, len), MTLS_OK);
            k->holding = 0;
        }
        return MTLS_KEY_OP_PENDING;
    }
    if (!ok)
        return MTLS_KEY_OP_FAILED;
    /* a result longer than cap is reported as such: mtls must refuse it, not read past out */
    memcpy(out, res, len < cap ? len : cap);
    *out_len = len;
    return MTLS_KEY_OP_DONE;
}

static mtls_key_op_status km_sign(void *arg, const mtls_conn *conn, uint16_t sigalg,
                                  const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    (void)conn;
    km *k = arg;
    k->signs++;
    k->last_sigalg = sigalg;
    k->last_in_len = in_len;
    uint8_t res[2048];
    size_t len = 0;
    int ok = spoil(k, do_sign(k->key, sigalg, in, in_len, res, &len), res, &len);
    return answer(k, ok, res, len, out, cap, out_len);
}

static mtls_key_op_status km_decrypt(void *arg, const mtls_conn *conn, const uint8_t *in,
                                     size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    (void)conn;
    km *k = arg;
    k->decrypts++;
    k->last_in_len = in_len;
    uint8_t res[2048];
    size_t len = 0;
    int ok = spoil(k, do_decrypt(k->key, in, in_len, res, &len), res, &len);
    return answer(k, ok, res, len, out, cap, out_len);
}

static const mtls_key_method method = {km_sign, km_decrypt};
static const mtls_key_method sign_only = {km_sign, NULL};

/* The version under test: every config pins it. */
static uint16_t version = MTLS_VERSION_TLS12;
static const char *vname(void)
{
    return version == MTLS_VERSION_TLS13 ? "TLS 1.3" : "TLS 1.2";
}

/* ---- configs --------------------------------------------------------------------------------- */

static mtls_config *server_cfg(tp_key_kind kind, km *k, mtls_verify_mode mode, const char *ciphers)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[kind];
    mtls_config *cfg = mtls_config_new();
    if (k)
        CHECK_ERR(mtls_config_set_cert_chain_key_method(cfg, id->cert_pem, strlen(id->cert_pem),
                                                        &method, k),
                  MTLS_OK);
    else
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem),
                                                 id->key_pem, strlen(id->key_pem)),
                  MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, mode), MTLS_OK);
    CHECK_ERR(mtls_config_set_versions(cfg, version, version), MTLS_OK);
    if (ciphers)
        CHECK_ERR(mtls_config_set_ciphers(cfg, ciphers), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg(int with_cert, tp_key_kind kind, km *k, const char *ciphers)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->client[kind];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    if (with_cert && k)
        CHECK_ERR(mtls_config_set_cert_chain_key_method(cfg, id->cert_pem, strlen(id->cert_pem),
                                                        &method, k),
                  MTLS_OK);
    else if (with_cert)
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem),
                                                 id->key_pem, strlen(id->key_pem)),
                  MTLS_OK);
    CHECK_ERR(mtls_config_set_versions(cfg, version, version), MTLS_OK);
    if (ciphers)
        CHECK_ERR(mtls_config_set_ciphers(cfg, ciphers), MTLS_OK);
    return cfg;
}

/* ---- driving both sides ---------------------------------------------------------------------- */

/* Move what `from` has queued to `to`, through WANT_KEY_OP (records then wait unread in `to`).
 * Returns whether anything moved; *last: what the last mtls_recv_ack said. */
static int move(mtls_conn *from, mtls_conn *to, mtls_err *last)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(from, &n);
    int moved = 0;
    while (p && n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || !room)
            break;
        size_t k = n < room ? n : room;
        memcpy(dst, p, k);
        mtls_send_ack(from, k);
        *last = mtls_recv_ack(to, k);
        moved = 1;
        p = mtls_send_buf(from, &n);
    }
    return moved;
}

typedef struct drive_stats {
    int waits[2]; /* WANT_KEY_OP seen: client, server */
    int still;    /* checks that a waiting side stood still */
} drive_stats;

/* `side` answered WANT_KEY_OP: it must stand still -- mtls_handshake and the peer's bytes keep
 * answering WANT_KEY_OP, nothing is sent, nothing asked twice, the state stays -- until the
 * held result is handed over. */
static void stand_still_then_complete(mtls_conn *side, mtls_conn *peer, km *k, drive_stats *ds)
{
    size_t out0 = 0;
    (void)mtls_send_buf(side, &out0);
    int calls0 = k->signs + k->decrypts;
    hs_state st0 = state_of(side);
    CHECK(k->holding);
    for (int i = 0; i < 3; i++)
        CHECK_ERR(mtls_handshake(side), MTLS_ERR_WANT_KEY_OP);
    mtls_err last = MTLS_OK;
    if (move(peer, side, &last))
        CHECK_ERR(last, MTLS_ERR_WANT_KEY_OP);
    size_t out1 = 0;
    (void)mtls_send_buf(side, &out1);
    CHECK_EQ(out1, out0);
    CHECK_EQ(k->signs + k->decrypts, calls0);
    CHECK(st_eq(state_of(side), st0));
    CHECK_ERR(mtls_conn_error(side), MTLS_OK);
    ds->still++;
    CHECK_ERR(mtls_conn_key_op_done(side, k->held_fail ? NULL : k->held, k->held_len), MTLS_OK);
    k->holding = 0;
    /* once given, it is given */
    CHECK_ERR(mtls_conn_key_op_done(side, k->held, k->held_len), MTLS_ERR_BAD_STATE);
}

/* Both sides driven to the end (or to a failure).  kc, ks: the methods of client and server (NULL
 * for keys in memory).  Like tp_handshake: MTLS_OK when both are established, else the client's
 * error or state first, then the server's. */
static mtls_err drive(mtls_conn *c, mtls_conn *s, km *kc, km *ks, drive_stats *ds)
{
    mtls_conn *side[2] = {c, s};
    km *kms[2] = {kc, ks};
    for (int round = 0; round < 64; round++) {
        int progress = 0;
        for (int i = 0; i < 2; i++) {
            mtls_err err = mtls_handshake(side[i]);
            if (err == MTLS_ERR_WANT_KEY_OP) {
                ds->waits[i]++;
                if (!kms[i] || !kms[i]->holding) {
                    CHECK(!"WANT_KEY_OP without an operation held");
                    return err;
                }
                stand_still_then_complete(side[i], side[1 - i], kms[i], ds);
                progress = 1;
            }
            mtls_err last;
            progress |= move(side[i], side[1 - i], &last);
        }
        if (!progress)
            break;
    }
    mtls_err ce = mtls_handshake(c);
    return ce != MTLS_OK ? ce : mtls_handshake(s);
}

static void km_init(km *k, const char *key_pem, int defer)
{
    memset(k, 0, sizeof(*k));
    k->key = load_key(key_pem);
    k->defer = defer;
}

/* ---- 1. both roles, key types, sync and deferred --------------------------------------------- */

/* A suite for the server's key: TLS 1.2 ECDHE of its type; TLS 1.3 (any key), with SHA-256 for
 * RSA and SHA-384 for ECDSA, so that both transcript hashes are signed. */
static const char *suite_for(tp_key_kind kind)
{
    if (version == MTLS_VERSION_TLS13)
        return kind == TP_RSA2048 ? "TLS_AES_128_GCM_SHA256" : "TLS_AES_256_GCM_SHA384";
    return kind == TP_RSA2048 ? "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
                              : "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
}

/* What a TLS 1.3 CertificateVerify signs (RFC 8446 4.4.3): 64 spaces, the context string
 * ("TLS 1.3, server CertificateVerify", 33 bytes), 0, the transcript hash. */
static size_t cv13_len(tp_key_kind kind)
{
    return 64 + 33 + 1 + (kind == TP_RSA2048 ? 32 : 48);
}

/* who: 1 server's key by method, 2 client's (mutual), 3 both. */
static void roles_case(int who, tp_key_kind skind, tp_key_kind ckind, int defer)
{
    const tp_pki *pki = tp_get();
    km ks, kc;
    km_init(&ks, pki->server[skind].key_pem, defer);
    km_init(&kc, pki->client[ckind].key_pem, defer);
    mtls_config *scfg = server_cfg(skind, who & 1 ? &ks : NULL,
                                   who & 2 ? MTLS_VERIFY_REQUIRE : MTLS_VERIFY_NONE, NULL);
    mtls_config *ccfg = client_cfg(who & 2, ckind, who & 2 ? &kc : NULL, suite_for(skind));
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    drive_stats ds = {0};
    int before = t_fail;
    CHECK_ERR(drive(c, s, &kc, &ks, &ds), MTLS_OK);
    CHECK_EQ(mtls_conn_version(s), version);
    CHECK_EQ(ks.signs, who & 1 ? 1 : 0);
    CHECK_EQ(kc.signs, who & 2 ? 1 : 0);
    CHECK_EQ(ks.decrypts + kc.decrypts, 0);
    CHECK_EQ(ds.waits[1], defer && (who & 1) ? 1 : 0);
    CHECK_EQ(ds.waits[0], defer && (who & 2) ? 1 : 0);
    /* the unhashed data: TLS 1.2's ServerKeyExchange signs client_random + server_random +
     * ServerECDHParams (x25519), its CertificateVerify the transcript itself; TLS 1.3's
     * CertificateVerify its 64 spaces, context and transcript hash */
    int v13 = version == MTLS_VERSION_TLS13;
    if (who & 1) {
        CHECK_EQ(ks.last_sigalg, mtls_conn_server_sigalg(c));
        CHECK_EQ(ks.last_in_len, v13 ? cv13_len(skind) : 64 + 4 + 32);
    }
    if (who & 2) {
        CHECK(mtls_conn_peer_cert_presented(s));
        const char *subject = mtls_conn_peer_subject(s);
        CHECK(subject != NULL && strstr(subject, "client-") != NULL);
        CHECK_EQ(kc.last_sigalg, mtls_conn_client_sigalg(s));
        if (v13)
            CHECK_EQ(kc.last_in_len, cv13_len(skind));
        else
            CHECK(kc.last_in_len > 1000);
    }
    static const char ping[] = "ping", pong[] = "pong";
    CHECK(tp_send_check(c, s, ping, sizeof(ping)));
    CHECK(tp_send_check(s, c, pong, sizeof(pong)));
    if (t_fail != before)
        fprintf(stderr, "  ^ roles (%s): %s, server key %s, client key %s, %s\n", vname(),
                who == 1   ? "server"
                : who == 2 ? "client"
                           : "both",
                tp_kind_name(skind), tp_kind_name(ckind), defer ? "deferred" : "sync");
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    EVP_PKEY_free(ks.key);
    EVP_PKEY_free(kc.key);
}

static void roles(void)
{
    int n = 0;
    for (int defer = 0; defer < 2; defer++)
        for (int k = 0; k < TP_KEY_COUNT; k++)
            for (int who = 1; who <= 3; who++, n++)
                roles_case(who, (tp_key_kind)k, (tp_key_kind)((k + who) % TP_KEY_COUNT), defer);
    /* each RSA-PSS and (TLS 1.2: RFC 8446 4.4.3 has RSA sign with PSS only) PKCS #1 scheme
     * through the method */
    static const char *rsa_schemes[] = {"rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384",
                                        "rsa_pss_rsae_sha512", "rsa_pkcs1_sha256",
                                        "rsa_pkcs1_sha384",    "rsa_pkcs1_sha512"};
    const tp_pki *pki = tp_get();
    size_t n_schemes = version == MTLS_VERSION_TLS13 ? 3 : 6;
    for (size_t i = 0; i < n_schemes; i++, n++) {
        km ks;
        km_init(&ks, pki->server[TP_RSA2048].key_pem, 1);
        mtls_config *scfg = server_cfg(TP_RSA2048, &ks, MTLS_VERIFY_NONE, NULL);
        mtls_config *ccfg = client_cfg(0, TP_RSA2048, NULL, suite_for(TP_RSA2048));
        CHECK_ERR(mtls_config_set_sigalgs(ccfg, rsa_schemes[i]), MTLS_OK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        drive_stats ds = {0};
        CHECK_ERR(drive(c, s, NULL, &ks, &ds), MTLS_OK);
        const char *used = mtls_sigalg_name(mtls_conn_server_sigalg(c));
        CHECK(used != NULL && strcmp(used, rsa_schemes[i]) == 0);
        CHECK_EQ(ks.signs, 1);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
        mtls_config_free(scfg);
        EVP_PKEY_free(ks.key);
    }
    printf("1. %s: %d handshakes with the key method: server (%s), client (CertificateVerify), "
           "both; RSA, P-256, P-384; sync and deferred; %zu RSA schemes\n",
           vname(), n, version == MTLS_VERSION_TLS13 ? "CertificateVerify" : "ServerKeyExchange",
           n_schemes);
}

static uint8_t *take(mtls_conn *from, size_t *n)
{
    const uint8_t *p = mtls_send_buf(from, n);
    uint8_t *copy = malloc(*n ? *n : 1);
    if (p)
        memcpy(copy, p, *n);
    mtls_send_ack(from, *n);
    return copy;
}

/* ---- 2. static RSA --------------------------------------------------------------------------- */

static void static_rsa(void)
{
    const tp_pki *pki = tp_get();
    int n = 0;
    for (int defer = 0; defer < 2; defer++)
        for (int mutual = 0; mutual < 2; mutual++, n++) {
            km ks, kc;
            km_init(&ks, pki->server[TP_RSA2048].key_pem, defer);
            km_init(&kc, pki->client[TP_P256].key_pem, defer);
            mtls_config *scfg =
                server_cfg(TP_RSA2048, &ks, mutual ? MTLS_VERIFY_REQUIRE : MTLS_VERIFY_NONE, NULL);
            mtls_config *ccfg =
                client_cfg(mutual, TP_P256, mutual ? &kc : NULL, "TLS_RSA_WITH_AES_256_GCM_SHA384");
            mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
            drive_stats ds = {0};
            int before = t_fail;
            CHECK_ERR(drive(c, s, &kc, &ks, &ds), MTLS_OK);
            CHECK_EQ(mtls_conn_cipher_suite(s), MTLS_TLS_RSA_WITH_AES_256_GCM_SHA384);
            CHECK_EQ(ks.decrypts, 1);
            CHECK_EQ(ks.signs, 0);
            CHECK_EQ(ks.last_in_len, 256);
            CHECK_EQ(kc.signs, mutual);
            CHECK_EQ(ds.waits[1], defer);
            CHECK_EQ(ds.waits[0], defer && mutual);
            CHECK(tp_send_check(c, s, "x", 1));
            if (t_fail != before)
                fprintf(stderr, "  ^ static RSA, %s, %s\n", mutual ? "mutual" : "server only",
                        defer ? "deferred" : "sync");
            mtls_conn_free(c);
            mtls_conn_free(s);
            mtls_config_free(ccfg);
            mtls_config_free(scfg);
            EVP_PKEY_free(ks.key);
            EVP_PKEY_free(kc.key);
        }

    /* The client's flight -- ClientKeyExchange, ChangeCipherSpec, Finished -- arrives whole
     * while the decryption is outstanding: the CCS and the Finished wait unread in the receive
     * buffer (the state would otherwise refuse the CCS), then go through once it is done. */
    km ks;
    km_init(&ks, pki->server[TP_RSA2048].key_pem, 1);
    mtls_config *scfg = server_cfg(TP_RSA2048, &ks, MTLS_VERIFY_NONE, NULL);
    mtls_config *ccfg = client_cfg(0, TP_RSA2048, NULL, "TLS_RSA_WITH_AES_128_GCM_SHA256");
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    mtls_err last = MTLS_OK;
    CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ);
    move(c, s, &last);
    CHECK_ERR(last, MTLS_OK);
    move(s, c, &last);
    CHECK_ERR(last, MTLS_OK);
    size_t flight = 0;
    uint8_t *fl = take(c, &flight);
    CHECK(flight > 300); /* CKE (RSA-2048), CCS, Finished */
    /* in 5-byte pieces: the CCS and the Finished come in calls after the one that started the
     * decryption, and each of those answers WANT_KEY_OP */
    int waits = 0;
    for (size_t off = 0; off < flight; off += 5) {
        size_t room, k = flight - off < 5 ? flight - off : 5;
        uint8_t *dst = mtls_recv_buf(s, &room);
        CHECK(dst != NULL && room >= k);
        memcpy(dst, fl + off, k);
        mtls_err e = mtls_recv_ack(s, k);
        waits += e == MTLS_ERR_WANT_KEY_OP;
        CHECK(e == MTLS_OK || e == MTLS_ERR_WANT_KEY_OP);
    }
    free(fl);
    CHECK(waits > 10);
    CHECK_ERR(mtls_conn_error(s), MTLS_OK);
    CHECK(st_eq(state_of(s), S12_DECRYPT_PREMASTER));
    CHECK_EQ(ks.decrypts, 1);
    for (int i = 0; i < 3; i++)
        CHECK_ERR(mtls_handshake(s), MTLS_ERR_WANT_KEY_OP);
    CHECK(st_eq(state_of(s), S12_DECRYPT_PREMASTER));
    size_t out = 1;
    (void)mtls_send_buf(s, &out);
    CHECK_EQ(out, 0);
    CHECK_ERR(mtls_conn_key_op_done(s, ks.held, ks.held_len), MTLS_OK);
    /* the records kept unread are read now: CCS and Finished, then ours go out */
    CHECK_ERR(mtls_handshake(s), MTLS_OK);
    CHECK(mtls_conn_established(s));
    move(s, c, &last);
    CHECK_ERR(mtls_handshake(c), MTLS_OK);
    CHECK_EQ(ks.decrypts, 1);
    CHECK(tp_send_check(c, s, "after", 5));
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* The same, the result handed over and the peer's next bytes (none here: a close_notify
     * queued by the client after its flight) announced before mtls_handshake: mtls_recv_ack
     * uses the result first, then reads. */
    ks.decrypts = 0;
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    mtls_handshake(c);
    move(c, s, &last);
    move(s, c, &last);
    move(c, s, &last);
    CHECK_ERR(last, MTLS_ERR_WANT_KEY_OP);
    CHECK_ERR(mtls_conn_key_op_done(s, ks.held, ks.held_len), MTLS_OK);
    CHECK_ERR(mtls_close(c), MTLS_OK);
    move(c, s, &last);
    CHECK_ERR(last, MTLS_OK);
    CHECK(mtls_conn_established(s));
    CHECK(mtls_conn_close_received(s));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    EVP_PKEY_free(ks.key);
    printf("2. static RSA through the method: %d handshakes (sync, deferred, with and without a "
           "client certificate); the client's flight kept unread while the decryption waits\n",
           n + 2);
}

/* ---- 3. bad ciphertexts and bad decryptions: as with the key in memory ----------------------- */

static EVP_PKEY *server_rsa_pub(void)
{
    BIO *b = BIO_new_mem_buf(tp_get()->server[TP_RSA2048].cert_pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    EVP_PKEY *pk = X509_get_pubkey(x);
    X509_free(x);
    return pk;
}

enum {
    CT_OTHER_PREMASTER,
    CT_BAD_PADDING,
    CT_BAD_VERSION,
    CT_NO_SEPARATOR,
    CT_SHORT,
    CT_NOT_BELOW_N,
    CT_COUNT
};
static const char *ct_names[CT_COUNT] = {"well-formed, other premaster", "bad padding (00 01)",
                                         "version bytes 03 02",          "no zero separator",
                                         "ciphertext 255 bytes",         "ciphertext >= modulus"};

static size_t craft(EVP_PKEY *pk, int kind, uint8_t *out)
{
    uint8_t block[256];
    block[0] = 0;
    block[1] = kind == CT_BAD_PADDING ? 1 : 2;
    for (size_t i = 2; i < sizeof(block); i++)
        block[i] = (uint8_t)(0x11 + i % 200);
    block[256 - 49] = kind == CT_NO_SEPARATOR ? 0x55 : 0;
    block[256 - 48] = 3;
    block[256 - 47] = kind == CT_BAD_VERSION ? 2 : 3;
    if (kind == CT_NOT_BELOW_N) {
        memset(out, 0xff, 256);
        return 256;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    size_t len = 512;
    if (EVP_PKEY_encrypt_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0 ||
        EVP_PKEY_encrypt(ctx, out, &len, block, sizeof(block)) <= 0)
        len = 0;
    EVP_PKEY_CTX_free(ctx);
    return kind == CT_SHORT ? 255 : len;
}

typedef struct trace_log {
    char lines[4096];
    size_t len;
} trace_log;

static void trace_cb(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    trace_log *t = arg;
    int k = snprintf(t->lines + t->len, sizeof(t->lines) - t->len, "%d %d %d %d %d %d %u %s\n",
                     (int)ev->kind, ev->msg, (int)ev->decision, ev->alert, ev->level,
                     (int)ev->result, ev->flags, ev->what);
    if (k > 0 && t->len + (size_t)k < sizeof(t->lines))
        t->len += (size_t)k;
}

typedef struct outcome {
    mtls_err err;
    int alert;
    hs_state after;
    char trace[4096];
} outcome;

/* One static-RSA handshake whose ClientKeyExchange carries the crafted ciphertext of `kind`
 * (CT_COUNT: the client's own), the rest of the client's flight after it.  With a deferred
 * method the result is handed over as soon as the server waits. */
static void run_ct(EVP_PKEY *pk, int kind, mtls_config *scfg, km *ks, trace_log *tl, outcome *o)
{
    mtls_config *ccfg = client_cfg(0, TP_RSA2048, NULL, "TLS_RSA_WITH_AES_128_GCM_SHA256");
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    size_t n;
    mtls_handshake(c);
    uint8_t *p = take(c, &n);
    tp_feed(s, p, n, 0);
    free(p);
    p = take(s, &n);
    tp_feed(c, p, n, 0);
    free(p);
    tl->len = 0;
    tl->lines[0] = 0;
    p = take(c, &n); /* [handshake: ClientKeyExchange] [CCS] [Finished] */
    size_t cke_rec = 5 + ((size_t)p[3] << 8 | p[4]);
    CHECK_EQ(p[5], TLS_HS_CLIENT_KEY_EXCHANGE);
    uint8_t rec[600];
    size_t rec_len = cke_rec;
    memcpy(rec, p, cke_rec);
    if (kind < CT_COUNT) {
        uint8_t ct[512];
        size_t ct_len = craft(pk, kind, ct);
        rec[3] = (uint8_t)((4 + 2 + ct_len) >> 8);
        rec[4] = (uint8_t)(4 + 2 + ct_len);
        rec[6] = 0;
        rec[7] = (uint8_t)((2 + ct_len) >> 8);
        rec[8] = (uint8_t)(2 + ct_len);
        rec[9] = (uint8_t)(ct_len >> 8);
        rec[10] = (uint8_t)ct_len;
        memcpy(rec + 11, ct, ct_len);
        rec_len = 11 + ct_len;
    }
    mtls_err err = tp_feed(s, rec, rec_len, 0);
    o->after = state_of(s);
    if (err == MTLS_ERR_WANT_KEY_OP && ks && ks->holding) {
        CHECK_ERR(mtls_conn_key_op_done(s, ks->held_fail ? NULL : ks->held, ks->held_len), MTLS_OK);
        ks->holding = 0;
        err = mtls_handshake(s);
        if (err == MTLS_ERR_WANT_READ)
            err = MTLS_OK;
    }
    if (err == MTLS_OK)
        err = tp_feed(s, p + cke_rec, n - cke_rec, 0);
    free(p);
    o->err = err;
    o->alert = mtls_conn_alert_sent(s);
    memcpy(o->trace, tl->lines, tl->len + 1);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
}

static void bad_premasters(void)
{
    const tp_pki *pki = tp_get();
    EVP_PKEY *pk = server_rsa_pub();
    static trace_log tl;
    static outcome mem[CT_COUNT], via[2][CT_COUNT];
    mtls_config *mcfg = server_cfg(TP_RSA2048, NULL, MTLS_VERIFY_NONE, NULL);
    CHECK_ERR(mtls_config_set_trace_events(mcfg, trace_cb, &tl), MTLS_OK);
    for (int k = 0; k < CT_COUNT; k++)
        run_ct(pk, k, mcfg, NULL, &tl, &mem[k]);
    int cases = 0;
    for (int defer = 0; defer < 2; defer++) {
        km ks;
        km_init(&ks, pki->server[TP_RSA2048].key_pem, defer);
        mtls_config *scfg = server_cfg(TP_RSA2048, &ks, MTLS_VERIFY_NONE, NULL);
        CHECK_ERR(mtls_config_set_trace_events(scfg, trace_cb, &tl), MTLS_OK);
        for (int k = 0; k < CT_COUNT; k++, cases++) {
            int asked = ks.decrypts;
            run_ct(pk, k, scfg, &ks, &tl, &via[defer][k]);
            outcome *o = &via[defer][k];
            int before = t_fail;
            /* what has no raw decryption is not asked for */
            CHECK_EQ(ks.decrypts - asked, k == CT_SHORT || k == CT_NOT_BELOW_N ? 0 : 1);
            CHECK_ERR(o->err, mem[k].err);
            CHECK_EQ(o->alert, mem[k].alert);
            CHECK(st_eq(o->after,
                        defer && ks.decrypts > asked ? S12_DECRYPT_PREMASTER : mem[k].after));
            CHECK(strcmp(o->trace, mem[k].trace) == 0);
            if (t_fail != before)
                fprintf(stderr, "  ^ %s, %s: %s / %s (in memory: %s / %s)\n%s---\n%s", ct_names[k],
                        defer ? "deferred" : "sync", mtls_err_name(o->err),
                        mtls_alert_name(o->alert), mtls_err_name(mem[k].err),
                        mtls_alert_name(mem[k].alert), o->trace, mem[k].trace);
        }
        /* The client's own ciphertext, and the method's result spoiled: judged like a bad
         * padding -- the Finished fails -- never refused on the spot, whatever its length. */
        static const enum km_result spoils[] = {KM_DROP_FIRST, KM_EXTRA_BYTE, KM_FLIP, KM_EMPTY,
                                                KM_TOO_LONG};
        static const char *spoil_names[] = {"leading zero dropped", "a byte too many",
                                            "a bit flipped", "empty", "600 bytes too many"};
        outcome good;
        ks.result = KM_OK;
        run_ct(pk, CT_COUNT, scfg, &ks, &tl, &good);
        CHECK_ERR(good.err, MTLS_OK);
        for (size_t i = 0; i < sizeof(spoils) / sizeof(spoils[0]); i++, cases++) {
            outcome o;
            int before = t_fail;
            ks.result = spoils[i];
            run_ct(pk, CT_COUNT, scfg, &ks, &tl, &o);
            CHECK_ERR(o.err, mem[CT_OTHER_PREMASTER].err);
            CHECK_EQ(o.alert, mem[CT_OTHER_PREMASTER].alert);
            CHECK(strcmp(o.trace, mem[CT_OTHER_PREMASTER].trace) == 0);
            if (t_fail != before)
                fprintf(stderr, "  ^ decryption result %s, %s: %s / %s\n", spoil_names[i],
                        defer ? "deferred" : "sync", mtls_err_name(o.err),
                        mtls_alert_name(o.alert));
        }
        mtls_config_free(scfg);
        EVP_PKEY_free(ks.key);
    }
    printf("3. %d bad ciphertexts and spoiled decryptions through the method, each as with the "
           "key in memory:\n",
           cases);
    for (int k = 0; k < CT_COUNT; k++)
        printf("     %-30s -> %s, alert %s (in memory: %s, alert %s)\n", ct_names[k],
               mtls_err_name(via[1][k].err), mtls_alert_name(via[1][k].alert),
               mtls_err_name(mem[k].err), mtls_alert_name(mem[k].alert));
    mtls_config_free(mcfg);
    EVP_PKEY_free(pk);
}

/* ---- 4. failures and wrong results ----------------------------------------------------------- */

/* The failing side ends with `want` and sends internal_error; the peer gets the alert, and never
 * the message a refused signature would have been sent in.  rsa_kx: static RSA (the server's
 * decryption fails) instead of ECDHE. */
static void failure_case(const char *name, int client_side, tp_key_kind kind, int defer, int rsa_kx,
                         enum km_result result, const char *other_key_pem, mtls_err want)
{
    const tp_pki *pki = tp_get();
    km k;
    km_init(&k,
            other_key_pem ? other_key_pem
                          : (client_side ? pki->client[kind].key_pem : pki->server[kind].key_pem),
            defer);
    k.result = result;
    tp_key_kind skind = client_side ? TP_P256 : kind;
    mtls_config *scfg = server_cfg(skind, client_side ? NULL : &k,
                                   client_side ? MTLS_VERIFY_REQUIRE : MTLS_VERIFY_NONE, NULL);
    mtls_config *ccfg = client_cfg(client_side, kind, client_side ? &k : NULL,
                                   rsa_kx ? "TLS_RSA_WITH_AES_128_GCM_SHA256" : suite_for(skind));
    static trace_log peer_trace;
    peer_trace.len = 0;
    peer_trace.lines[0] = 0;
    CHECK_ERR(mtls_config_set_trace_events(client_side ? scfg : ccfg, trace_cb, &peer_trace),
              MTLS_OK);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    mtls_conn *me = client_side ? c : s, *peer = client_side ? s : c;
    drive_stats ds = {0};
    int before = t_fail;
    drive(c, s, client_side ? &k : NULL, client_side ? NULL : &k, &ds);
    CHECK_ERR(mtls_conn_error(me), want);
    CHECK_EQ(mtls_conn_alert_sent(me), 80); /* internal_error */
    CHECK_ERR(mtls_conn_error(peer), MTLS_ERR_PEER_ALERT);
    CHECK_EQ(mtls_conn_alert_received(peer), 80);
    CHECK_EQ(k.signs + k.decrypts, 1);
    CHECK_EQ(ds.waits[client_side ? 0 : 1], defer);
    CHECK(strstr(mtls_conn_error_detail(me), "key method") != NULL);
    char never[16];
    snprintf(never, sizeof(never), "%d %d ", MTLS_TRACE_RECEIVED,
             client_side || version == MTLS_VERSION_TLS13 ? TLS_HS_CERTIFICATE_VERIFY
                                                          : TLS_HS_SERVER_KEY_EXCHANGE);
    CHECK(strstr(peer_trace.lines, never) == NULL);
    CHECK(!mtls_conn_established(peer));
    if (t_fail != before)
        fprintf(stderr, "  ^ %s (%s, %s, %s, %s%s): %s -- %s\n", name, vname(),
                client_side ? "client" : "server", tp_kind_name(kind), defer ? "deferred" : "sync",
                rsa_kx ? ", static RSA" : "", mtls_err_name(mtls_conn_error(me)),
                mtls_conn_error_detail(me));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    EVP_PKEY_free(k.key);
}

static void failures(void)
{
    const tp_pki *pki = tp_get();
    static const struct {
        const char *name;
        enum km_result result;
        mtls_err want;
    } cases[] = {
        {"failed", KM_FAIL, MTLS_ERR_KEY_OP_FAILED},
        {"signature a byte short", KM_DROP_FIRST, MTLS_ERR_KEY_OP_BAD_RESULT},
        {"signature a byte long", KM_EXTRA_BYTE, MTLS_ERR_KEY_OP_BAD_RESULT},
        {"empty signature", KM_EMPTY, MTLS_ERR_KEY_OP_BAD_RESULT},
        {"signature longer than the room", KM_TOO_LONG, MTLS_ERR_KEY_OP_BAD_RESULT},
        {"signature with a bit flipped", KM_FLIP, MTLS_ERR_KEY_OP_BAD_RESULT},
    };
    int n = 0;
    for (int side = 0; side < 2; side++)
        for (int defer = 0; defer < 2; defer++)
            for (int kind = 0; kind < TP_KEY_COUNT; kind++)
                for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++, n++)
                    failure_case(cases[i].name, side, (tp_key_kind)kind, defer, 0, cases[i].result,
                                 NULL, cases[i].want);
    /* another key of the same type and size: a signature of the right size that does not
     * verify with the certificate's key */
    failure_case("signed with another key", 0, TP_RSA2048, 0, 0, KM_OK,
                 pki->client[TP_RSA2048].key_pem, MTLS_ERR_KEY_OP_BAD_RESULT);
    failure_case("signed with another key", 1, TP_P256, 1, 0, KM_OK, pki->server[TP_P256].key_pem,
                 MTLS_ERR_KEY_OP_BAD_RESULT);
    failure_case("signed with another key", 0, TP_P384, 1, 0, KM_OK, pki->client[TP_P384].key_pem,
                 MTLS_ERR_KEY_OP_BAD_RESULT);
    n += 3;
    /* static RSA: a decryption that fails */
    for (int defer = 0; version == MTLS_VERSION_TLS12 && defer < 2; defer++, n++)
        failure_case("decryption failed", 0, TP_RSA2048, defer, 1, KM_FAIL, NULL,
                     MTLS_ERR_KEY_OP_FAILED);
    printf("4. %s: %d failed or refused operations: internal_error, the signature never sent\n",
           vname(), n);
}

/* ---- 5. resumption and the API's edges ------------------------------------------------------- */

static void resumption(void)
{
    const tp_pki *pki = tp_get();
    /* TLS 1.3 resumes by ticket only */
    for (int tickets = version == MTLS_VERSION_TLS13; tickets < 2; tickets++) {
        km ks, kc;
        km_init(&ks, pki->server[TP_RSA2048].key_pem, 1);
        km_init(&kc, pki->client[TP_P384].key_pem, 1);
        mtls_config *scfg = server_cfg(TP_RSA2048, &ks, MTLS_VERIFY_REQUIRE, NULL);
        CHECK_ERR(mtls_config_set_tickets(scfg, tickets), MTLS_OK);
        mtls_config *ccfg = client_cfg(1, TP_P384, &kc, suite_for(TP_RSA2048));
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        drive_stats ds = {0};
        CHECK_ERR(drive(c, s, &kc, &ks, &ds), MTLS_OK);
        CHECK(ks.signs == 1 && kc.signs == 1);
        mtls_session *sess = mtls_conn_get_session(c);
        CHECK(sess != NULL);
        mtls_conn_free(c);
        mtls_conn_free(s);
        c = mtls_client_new(ccfg, "localhost");
        s = mtls_server_new(scfg);
        CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
        drive_stats ds2 = {0};
        CHECK_ERR(drive(c, s, &kc, &ks, &ds2), MTLS_OK);
        CHECK(mtls_conn_resumed(c) && mtls_conn_resumed(s));
        CHECK(ks.signs == 1 && kc.signs == 1 && ks.decrypts + kc.decrypts == 0);
        CHECK(ds2.waits[0] + ds2.waits[1] == 0);
        CHECK(mtls_conn_peer_cert_presented(s));
        mtls_session_free(sess);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
        mtls_config_free(scfg);
        EVP_PKEY_free(ks.key);
        EVP_PKEY_free(kc.key);
    }
    printf("5. %s: resumption%s: the key methods not called\n", vname(),
           version == MTLS_VERSION_TLS13 ? " (ticket)" : " by session id and by ticket");
}

static void edges(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *rsa = &pki->server[TP_RSA2048];
    km k;
    km_init(&k, rsa->key_pem, 0);
    int v12 = version == MTLS_VERSION_TLS12;

    /* the setter (once) */
    mtls_config *cfg = mtls_config_new();
    static const mtls_key_method no_sign = {NULL, km_decrypt};
    CHECK_ERR(mtls_config_set_cert_chain_key_method(cfg, rsa->cert_pem, strlen(rsa->cert_pem),
                                                    &no_sign, &k),
              MTLS_ERR_INVALID_ARG);
    CHECK_ERR(
        mtls_config_set_cert_chain_key_method(cfg, rsa->cert_pem, strlen(rsa->cert_pem), NULL, &k),
        MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_set_cert_chain_key_method(cfg, "junk", 4, &method, &k), MTLS_ERR_BAD_PEM);
    CHECK(mtls_server_new(cfg) == NULL); /* nothing was set */
    mtls_config_free(cfg);

    /* a method without decrypt: no static RSA with this key (ECDHE is chosen, or nothing) */
    for (int only_rsa = 0; v12 && only_rsa < 2; only_rsa++) {
        cfg = mtls_config_new();
        CHECK_ERR(mtls_config_set_cert_chain_key_method(cfg, rsa->cert_pem, strlen(rsa->cert_pem),
                                                        &sign_only, &k),
                  MTLS_OK);
        mtls_config *ccfg = client_cfg(0, TP_RSA2048, NULL,
                                       only_rsa ? "TLS_RSA_WITH_AES_128_GCM_SHA256"
                                                : "TLS_RSA_WITH_AES_128_GCM_SHA256:"
                                                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(cfg);
        drive_stats ds = {0};
        mtls_err err = drive(c, s, NULL, &k, &ds);
        if (only_rsa) {
            CHECK_ERR(mtls_conn_error(s), MTLS_ERR_NO_SHARED_CIPHER);
        } else {
            CHECK_ERR(err, MTLS_OK);
            CHECK_EQ(mtls_conn_cipher_suite(s), MTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
        }
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(ccfg);
        mtls_config_free(cfg);
    }

    /* done without an operation, on a client and server that never asked */
    mtls_config *scfg = server_cfg(TP_RSA2048, &k, MTLS_VERIFY_NONE, NULL);
    mtls_config *ccfg = client_cfg(0, TP_RSA2048, NULL, NULL);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_key_op_done(s, "x", 1), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_key_op_done(c, NULL, 0), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_conn_key_op_done(NULL, NULL, 0), MTLS_ERR_INVALID_ARG);
    /* done from inside the callback, which then answers PENDING: no wait at all */
    k.signs = 0;
    k.defer = 1;
    k.done_inside = 1;
    k.conn = s;
    drive_stats ds = {0};
    CHECK_ERR(drive(c, s, NULL, &k, &ds), MTLS_OK);
    CHECK_EQ(ds.waits[1], 0);
    CHECK_EQ(k.signs, 1);
    CHECK_ERR(mtls_conn_key_op_done(s, "x", 1), MTLS_ERR_BAD_STATE); /* established */
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* a connection freed with an operation outstanding */
    k.done_inside = 0;
    c = mtls_client_new(ccfg, "localhost");
    s = mtls_server_new(scfg);
    mtls_err last;
    mtls_handshake(c);
    move(c, s, &last);
    CHECK_ERR(last, MTLS_ERR_WANT_KEY_OP);
    CHECK(st_eq(state_of(s), v12 ? S12_SEND_SERVER_KEY_EXCHANGE : "S13_SEND_CERT_VERIFY"));
    /* the peer gone meanwhile: the connection fails as it would otherwise, done is refused */
    CHECK_ERR(mtls_recv_ack(s, 0), MTLS_ERR_EOF);
    CHECK_ERR(mtls_conn_key_op_done(s, k.held, k.held_len), MTLS_ERR_EOF);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    EVP_PKEY_free(k.key);
    printf("5. %s: the API's edges: the setter's refusals%s, done without an operation / twice / "
           "from inside the callback / after the connection failed\n",
           vname(), v12 ? ", a method without decrypt" : "");
}

/* ---- 6. the fd helpers ----------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fd_helpers(void)
{
    const tp_pki *pki = tp_get();
    km ks;
    km_init(&ks, pki->server[TP_P256].key_pem, 1);
    mtls_config *scfg = server_cfg(TP_P256, &ks, MTLS_VERIFY_NONE, NULL);
    mtls_config *ccfg = client_cfg(0, TP_P256, NULL, NULL);
    for (int timed = 0; timed < 2; timed++) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        /* the client's side never blocks; the server's blocks unless timed */
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(mtls_fd_handshake(c, sv[0]), MTLS_ERR_WANT_READ); /* ClientHello sent */
        double t0 = now_ms();
        mtls_err err =
            timed ? mtls_fd_handshake_timeout(s, sv[1], 5000) : mtls_fd_handshake(s, sv[1]);
        CHECK_ERR(err, MTLS_ERR_WANT_KEY_OP);
        err = timed ? mtls_fd_handshake_timeout(s, sv[1], 5000) : mtls_fd_handshake(s, sv[1]);
        CHECK_ERR(err, MTLS_ERR_WANT_KEY_OP);
        CHECK(now_ms() - t0 < 1000); /* no waiting on the fd for it */
        CHECK_EQ(ks.signs, 1);
        CHECK_ERR(mtls_conn_key_op_done(s, ks.held, ks.held_len), MTLS_OK);
        ks.holding = 0;
        /* the server's flight goes out, then it waits for the client's (blocking: after the
         * client has answered; so the client goes first, from what is already on the socket) */
        fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
        CHECK_ERR(mtls_fd_handshake(s, sv[1]), MTLS_ERR_WANT_READ);
        /* TLS 1.3: the client is done once its Finished is out */
        CHECK_ERR(mtls_fd_handshake(c, sv[0]),
                  version == MTLS_VERSION_TLS13 ? MTLS_OK : MTLS_ERR_WANT_READ);
        CHECK_ERR(timed ? mtls_fd_handshake_timeout(s, sv[1], 5000) : mtls_fd_handshake(s, sv[1]),
                  MTLS_OK);
        CHECK_ERR(mtls_fd_handshake(c, sv[0]), MTLS_OK);
        size_t w = 0, r = 0;
        char buf[8];
        CHECK_ERR(mtls_fd_write(c, sv[0], "hello", 5, &w), MTLS_OK);
        CHECK_ERR(mtls_fd_read_timeout(s, sv[1], buf, sizeof(buf), &r, 5000), MTLS_OK);
        CHECK(r == 5 && memcmp(buf, "hello", 5) == 0);
        mtls_conn_free(c);
        mtls_conn_free(s);
        close(sv[0]);
        close(sv[1]);
        ks.signs = 0;
    }
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
    EVP_PKEY_free(ks.key);
    printf("6. %s: mtls_fd_handshake and its _timeout twin: WANT_KEY_OP at once, then on to the "
           "end\n",
           vname());
}

int main(void)
{
    static const uint16_t versions[] = {MTLS_VERSION_TLS12, MTLS_VERSION_TLS13};
    for (size_t v = 0; v < 2; v++) {
        version = versions[v];
        roles();
        if (version == MTLS_VERSION_TLS12) { /* static RSA is TLS 1.2's */
            static_rsa();
            bad_premasters();
        }
        failures();
        resumption();
        edges();
        fd_helpers();
    }
    return t_done();
}
