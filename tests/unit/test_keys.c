/*
 * test_keys.c -- private keys where they live: encrypted PEM / PKCS#8 keys with the passphrase
 * callback, and PKCS#12 bundles, loaded through the public API and used in handshakes.
 *
 * Everything is made at test time with the `openssl` command in a mkdtemp directory (removed at
 * the end): a root CA, an intermediate, an RSA-2048 and a P-256 leaf (SAN DNS:localhost, issued
 * by the intermediate), their keys in every encrypted form OpenSSL writes -- PKCS#8 with PBES2
 * (PBKDF2 with HMAC-SHA256 or SHA1, AES-256/128-CBC, DES-EDE3-CBC), PKCS#8 with scrypt, PKCS#8
 * with the PKCS#12 PBE of `-v1 PBE-SHA1-3DES`, legacy "Proc-Type: 4,ENCRYPTED" PEM (RSA and EC),
 * an empty passphrase -- and PKCS#12 bundles with and without password, with the chain stored
 * out of order, with 3DES key bags and with RC2 (`-legacy`).
 *
 * For each: the right passphrase loads and the server completes a handshake with a client that
 * trusts only the root (so the chain is sent and verifies); a wrong one gives
 * MTLS_ERR_BAD_PASSPHRASE naming the file; no callback, or a callback that fails, gives
 * MTLS_ERR_NO_PASSPHRASE saying what to do; the callback sees the file's path (or "memory") and
 * is not called for keys that are not encrypted.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "common/testpki.h"
#include "t.h"

static char dir[64];
static const char PASS[] = "correct horse battery staple";

static const char *path_of(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static char *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(path_of(name), "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* ---- the passphrase callback ---------------------------------------------------------------- */

struct pass {
    const char *give; /* NULL: fail (-1) */
    int calls;
    int overlong; /* return cap + 1 */
    char what[256];
};

static int pass_cb(void *arg, char *buf, size_t cap, const char *what)
{
    struct pass *p = arg;
    p->calls++;
    snprintf(p->what, sizeof p->what, "%s", what);
    if (p->overlong)
        return (int)cap + 1;
    if (!p->give)
        return -1;
    size_t n = strlen(p->give);
    if (n > cap)
        return -1;
    memcpy(buf, p->give, n);
    return (int)n;
}

/* ---- handshakes ----------------------------------------------------------------------------- */

/* A handshake between `server` and a client that trusts only the root; the chain the server
 * sent (DER of each certificate) is compared with the files named in `want` (leaf first). */
static void check_handshake(mtls_config *server, const char *const *want, size_t n_want,
                            const char *ciphers)
{
    mtls_config *ccfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_file(ccfg, path_of("root.crt")), MTLS_OK);
    if (ciphers)
        CHECK_ERR(mtls_config_set_ciphers(ccfg, ciphers), MTLS_OK);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(server);
    CHECK(c && s);
    mtls_err err = tp_handshake(c, s);
    CHECK_ERR(err, MTLS_OK);
    if (err)
        fprintf(stderr, "  client: %s / server: %s\n", mtls_conn_error_detail(c),
                mtls_conn_error_detail(s));
    CHECK(tp_send_check(c, s, "ping", 4));
    CHECK(tp_send_check(s, c, "pong", 4));
    if (want) {
        CHECK_EQ(mtls_conn_peer_cert_count(c), n_want);
        for (size_t i = 0; i < n_want && i < mtls_conn_peer_cert_count(c); i++) {
            size_t len = 0, pem_len = 0;
            const uint8_t *der = mtls_conn_peer_cert(c, i, &len);
            char name[64];
            snprintf(name, sizeof name, "%s.der", want[i]);
            char *file = slurp(name, &pem_len);
            CHECK(file && der && len == pem_len && memcmp(file, der, len) == 0);
            if (!(file && der && len == pem_len && memcmp(file, der, len) == 0))
                fprintf(stderr, "  certificate %zu of the chain is not %s\n", i, want[i]);
            free(file);
        }
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ccfg);
}

/* ---- encrypted PEM keys --------------------------------------------------------------------- */

static const struct enc_case {
    const char *key;   /* file */
    const char *chain; /* file */
    const char *what;
    const char *ciphers; /* for the handshake: NULL, or static RSA */
} enc_cases[] = {
    {"rsa-pbes2.key", "rsa.chain", "PKCS#8 PBES2 PBKDF2-SHA256 AES-256-CBC (RSA)", NULL},
    {"ec-pbes2-sha1.key", "ec.chain", "PKCS#8 PBES2 PBKDF2-SHA1 AES-128-CBC (P-256)", NULL},
    {"rsa-des3.key", "rsa.chain", "PKCS#8 PBES2 DES-EDE3-CBC (RSA), static RSA",
     "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {"ec-scrypt.key", "ec.chain", "PKCS#8 PBES2 scrypt AES-256-CBC (P-256)", NULL},
    {"rsa-v1.key", "rsa.chain", "PKCS#8 PBE-SHA1-3DES (RSA, through libcrypto)", NULL},
    {"rsa-legacy.key", "rsa.chain", "legacy PEM AES-256-CBC (RSA)", NULL},
    {"ec-legacy.key", "ec.chain", "legacy PEM AES-128-CBC (EC)", NULL},
    {"ec-legacy-des3.key", "ec.chain", "legacy PEM DES-EDE3-CBC (EC)", NULL},
};

static void encrypted_keys(void)
{
    char want[256];
    for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
        const struct enc_case *e = &enc_cases[i];
        const char *key = path_of(e->key), *chain = path_of(e->chain);
        printf("encrypted key: %s\n", e->what);

        /* the right passphrase: loads, the callback is asked once with the file's path */
        mtls_config *cfg = mtls_config_new();
        struct pass p = {.give = PASS};
        CHECK_ERR(mtls_config_set_passphrase_callback(cfg, pass_cb, &p), MTLS_OK);
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, chain, key), MTLS_OK);
        CHECK_EQ(p.calls, 1);
        CHECK(strcmp(p.what, key) == 0);
        check_handshake(cfg, NULL, 0, e->ciphers);
        mtls_config_free(cfg);

        /* a wrong one: BAD_PASSPHRASE naming the file */
        cfg = mtls_config_new();
        p = (struct pass){.give = "Tr0ub4dor&3"};
        mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, chain, key), MTLS_ERR_BAD_PASSPHRASE);
        snprintf(want, sizeof want, "wrong passphrase for %s (or a corrupt key)", key);
        CHECK(strcmp(mtls_config_error_detail(cfg), want) == 0);
        if (i == 0)
            printf("  wrong passphrase: %s\n", mtls_config_error_detail(cfg));
        /* the config is still usable: the right one afterwards */
        p.give = PASS;
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, chain, key), MTLS_OK);
        mtls_config_free(cfg);

        /* no callback: NO_PASSPHRASE, and the detail says what to do */
        cfg = mtls_config_new();
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, chain, key), MTLS_ERR_NO_PASSPHRASE);
        CHECK(strstr(mtls_config_error_detail(cfg), key) != NULL);
        CHECK(strstr(mtls_config_error_detail(cfg), "mtls_config_set_passphrase_callback") != NULL);
        CHECK(strstr(mtls_config_error_detail(cfg), "--key-pass-file") != NULL);
        if (i == 0)
            printf("  no callback: %s\n", mtls_config_error_detail(cfg));
        /* a callback that fails */
        p = (struct pass){.give = NULL};
        mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, chain, key), MTLS_ERR_NO_PASSPHRASE);
        CHECK(strstr(mtls_config_error_detail(cfg), "gave no passphrase") != NULL);
        CHECK_EQ(p.calls, 1);
        if (i == 0)
            printf("  callback fails: %s\n", mtls_config_error_detail(cfg));
        /* a callback that claims more than the buffer holds */
        p = (struct pass){.overlong = 1};
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, chain, key), MTLS_ERR_NO_PASSPHRASE);
        mtls_config_free(cfg);

        /* from memory: the callback is told "memory" */
        size_t chain_len, key_len;
        char *chain_pem = slurp(e->chain, &chain_len), *key_pem = slurp(e->key, &key_len);
        cfg = mtls_config_new();
        p = (struct pass){.give = PASS};
        mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, chain_pem, chain_len, key_pem, key_len),
                  MTLS_OK);
        CHECK(strcmp(p.what, "memory") == 0);
        p.give = "wrong";
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, chain_pem, chain_len, key_pem, key_len),
                  MTLS_ERR_BAD_PASSPHRASE);
        CHECK(strcmp(mtls_config_error_detail(cfg),
                     "wrong passphrase for the private key (or a corrupt key)") == 0);
        mtls_config_free(cfg);
        free(chain_pem);
        free(key_pem);
    }

    /* an empty passphrase is a passphrase (length 0) */
    mtls_config *cfg = mtls_config_new();
    struct pass p = {.give = ""};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of("ec.chain"), path_of("ec-empty.key")),
              MTLS_OK);
    CHECK_EQ(p.calls, 1);
    /* keys that are not encrypted never call it */
    p = (struct pass){.give = PASS};
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of("rsa.chain"), path_of("rsa.key")),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of("ec.chain"), path_of("ec-sec1.key")),
              MTLS_OK);
    CHECK_EQ(p.calls, 0);
    mtls_config_free(cfg);

    /* a corrupt encrypted key (ciphertext bytes changed) reads as a wrong passphrase */
    cfg = mtls_config_new();
    p = (struct pass){.give = PASS};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    size_t chain_len, key_len;
    char *chain_pem = slurp("rsa.chain", &chain_len), *key_pem = slurp("rsa-pbes2.key", &key_len);
    char *mid = key_pem + key_len / 2;
    while (*mid == '\n')
        mid++;
    *mid = *mid == 'A' ? 'B' : 'A';
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, chain_pem, chain_len, key_pem, key_len),
              MTLS_ERR_BAD_PASSPHRASE);
    /* a plain RSA key whose numbers do not agree: refused, not loaded to sign wrongly later */
    CHECK_ERR(
        mtls_config_set_cert_chain_file(cfg, path_of("rsa.chain"), path_of("rsa-corrupt.key")),
        MTLS_ERR_BAD_KEY);
    CHECK(strstr(mtls_config_error_detail(cfg), "numbers do not agree") != NULL);
    printf("  corrupt RSA key: %s\n", mtls_config_error_detail(cfg));
    /* a key of another pair, encrypted: the passphrase is right, the key does not match */
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of("ec.chain"), path_of("rsa-pbes2.key")),
              MTLS_ERR_KEY_MISMATCH);
    mtls_config_free(cfg);
    free(chain_pem);
    free(key_pem);
}

/* ---- PKCS#12 -------------------------------------------------------------------------------- */

static void pkcs12(void)
{
    static const char *const rsa_chain[] = {"rsa", "int", "root"};
    static const char *const ec_chain[] = {"ec", "int"};
    char want[256];

    /* with a password, chain stored as leaf, root, intermediate: sent as leaf, int, root */
    mtls_config *cfg = mtls_config_new();
    struct pass p = {.give = PASS};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("rsa.p12")), MTLS_OK);
    CHECK_EQ(p.calls, 1);
    CHECK(strcmp(p.what, path_of("rsa.p12")) == 0);
    printf("pkcs12: password, chain out of order\n");
    check_handshake(cfg, rsa_chain, 3, NULL);
    check_handshake(cfg, rsa_chain, 3, "TLS_RSA_WITH_AES_256_GCM_SHA384");
    mtls_config_free(cfg);

    /* wrong password */
    cfg = mtls_config_new();
    p = (struct pass){.give = "hunter2"};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("rsa.p12")), MTLS_ERR_BAD_PASSPHRASE);
    snprintf(want, sizeof want, "wrong passphrase for %s (or a corrupt key)", path_of("rsa.p12"));
    CHECK(strcmp(mtls_config_error_detail(cfg), want) == 0);
    printf("  wrong password: %s\n", mtls_config_error_detail(cfg));
    /* no callback */
    mtls_config_set_passphrase_callback(cfg, NULL, NULL);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("rsa.p12")), MTLS_ERR_NO_PASSPHRASE);
    printf("  no callback: %s\n", mtls_config_error_detail(cfg));
    /* callback fails */
    p = (struct pass){.give = NULL};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("rsa.p12")), MTLS_ERR_NO_PASSPHRASE);
    mtls_config_free(cfg);

    /* without a password: the callback is not asked; from memory too */
    cfg = mtls_config_new();
    p = (struct pass){.give = PASS};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-nopass.p12")), MTLS_OK);
    size_t len;
    char *der = slurp("ec-nopass.p12", &len);
    CHECK_ERR(mtls_config_set_pkcs12_mem(cfg, der, len), MTLS_OK);
    free(der);
    CHECK_EQ(p.calls, 0);
    printf("pkcs12: no password\n");
    check_handshake(cfg, ec_chain, 2, NULL);
    mtls_config_free(cfg);

    /* 3DES (PKCS#12 PBE) key bag, from memory: the callback is told "memory" */
    cfg = mtls_config_new();
    p = (struct pass){.give = PASS};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    der = slurp("ec-3des.p12", &len);
    CHECK_ERR(mtls_config_set_pkcs12_mem(cfg, der, len), MTLS_OK);
    CHECK(strcmp(p.what, "memory") == 0);
    p.give = "wrong";
    CHECK_ERR(mtls_config_set_pkcs12_mem(cfg, der, len), MTLS_ERR_BAD_PASSPHRASE);
    CHECK(strcmp(mtls_config_error_detail(cfg),
                 "wrong passphrase for the PKCS#12 data (or a corrupt key)") == 0);
    free(der);
    p.give = PASS;
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-3des.p12")), MTLS_OK);
    printf("pkcs12: 3DES key bag\n");
    check_handshake(cfg, ec_chain, 2, NULL);
    mtls_config_free(cfg);

    /* without a MAC: the callback is asked (nothing can tell the password first); without a
     * callback the empty password is tried */
    cfg = mtls_config_new();
    p = (struct pass){.give = PASS};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-nomac.p12")), MTLS_OK);
    CHECK_EQ(p.calls, 1);
    printf("pkcs12: no MAC\n");
    check_handshake(cfg, ec_chain, 2, NULL);
    mtls_config_free(cfg);
    cfg = mtls_config_new();
    p = (struct pass){.give = "wrong"};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-nomac.p12")), MTLS_ERR_BAD_PASSPHRASE);
    mtls_config_free(cfg);
    cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-nomac-empty.p12")), MTLS_OK);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-nomac.p12")), MTLS_ERR_BAD_PASSPHRASE);
    mtls_config_free(cfg);

    /* RC2 (`-legacy`): refused with a sentence that says what to do */
    cfg = mtls_config_new();
    p = (struct pass){.give = PASS};
    mtls_config_set_passphrase_callback(cfg, pass_cb, &p);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("ec-legacy.p12")), MTLS_ERR_BAD_KEY);
    CHECK(strstr(mtls_config_error_detail(cfg), "legacy") != NULL);
    CHECK(strstr(mtls_config_error_detail(cfg), "re-export") != NULL);
    printf("  RC2 bundle: %s\n", mtls_config_error_detail(cfg));
    /* not a bundle at all, a bundle without a key, a missing file */
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("rsa.chain")), MTLS_ERR_BAD_KEY);
    CHECK(strstr(mtls_config_error_detail(cfg), "not a PKCS#12 bundle") != NULL);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("certs-only.p12")), MTLS_ERR_BAD_KEY);
    CHECK(strstr(mtls_config_error_detail(cfg), "no private key") != NULL);
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("nonexistent.p12")), MTLS_ERR_FILE);
    /* a bundle whose certificate is not the key's */
    CHECK_ERR(mtls_config_set_pkcs12_file(cfg, path_of("mismatch.p12")), MTLS_ERR_KEY_MISMATCH);
    CHECK(strstr(mtls_config_error_detail(cfg), "no certificate for its private key") != NULL);
    CHECK_ERR(mtls_config_set_pkcs12_mem(cfg, NULL, 0), MTLS_ERR_INVALID_ARG);
    mtls_config_free(cfg);
}

/* ---- making the files ----------------------------------------------------------------------- */

/* rsa-corrupt.key: rsa.key with its two CRT exponents swapped -- valid DER, numbers that do not
 * agree (libcrypto's EVP_PKEY_fromdata takes them as they are). */
static int make_corrupt_rsa(void)
{
    static const char *const names[8] = {"n",
                                         "e",
                                         "d",
                                         "rsa-factor1",
                                         "rsa-factor2",
                                         "rsa-exponent2",
                                         "rsa-exponent1",
                                         "rsa-coefficient1"};
    static const char *const as[8] = {"n",
                                      "e",
                                      "d",
                                      "rsa-factor1",
                                      "rsa-factor2",
                                      "rsa-exponent1",
                                      "rsa-exponent2",
                                      "rsa-coefficient1"};
    FILE *f = fopen(path_of("rsa.key"), "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL, *bad = NULL;
    if (f)
        fclose(f);
    BIGNUM *bn[8] = {0};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    int ok = key != NULL && bld != NULL;
    for (int i = 0; ok && i < 8; i++)
        ok = EVP_PKEY_get_bn_param(key, names[i], &bn[i]) &&
             OSSL_PARAM_BLD_push_BN(bld, as[i], bn[i]);
    OSSL_PARAM *params = ok ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL) : NULL;
    ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
         EVP_PKEY_fromdata(ctx, &bad, EVP_PKEY_KEYPAIR, params) > 0;
    BIO *out = ok ? BIO_new_file(path_of("rsa-corrupt.key"), "w") : NULL;
    ok = out && PEM_write_bio_PrivateKey_traditional(out, bad, NULL, NULL, 0, NULL, NULL);
    BIO_free(out);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++)
        BN_free(bn[i]);
    EVP_PKEY_free(bad);
    EVP_PKEY_free(key);
    return ok;
}

/* mismatch.p12: the P-256 key with the RSA certificate, which `openssl pkcs12` and PKCS12_create
 * refuse to make, so built from its bags. */
static int make_mismatch(void)
{
    FILE *f = fopen(path_of("ec.key"), "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(path_of("rsa.crt"), "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
    STACK_OF(PKCS7) *safes = NULL;
    PKCS12 *p12 = NULL;
    int ok = key && cert && PKCS12_add_cert(&bags, cert) &&
             PKCS12_add_key(&bags, key, 0, PKCS12_DEFAULT_ITER, NID_aes_256_cbc, "") &&
             PKCS12_add_safe(&safes, bags, -1, 0, "") && (p12 = PKCS12_add_safes(safes, 0)) &&
             PKCS12_set_mac(p12, "", 0, NULL, 0, 1, NULL);
    unsigned char *der = NULL;
    int n = ok ? i2d_PKCS12(p12, &der) : -1;
    f = n > 0 ? fopen(path_of("mismatch.p12"), "wb") : NULL;
    ok = f && fwrite(der, 1, (size_t)n, f) == (size_t)n;
    if (f)
        fclose(f);
    OPENSSL_free(der);
    PKCS12_free(p12);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

static int make_files(void)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; P='pass:%s'\n"
             "ossl() { openssl \"$@\" 2>>openssl.log; }\n"
             "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
             "subjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid\\n' > ca.ext\n"
             "printf 'basicConstraints=critical,CA:FALSE\\nsubjectAltName=DNS:localhost\\n"
             "extendedKeyUsage=serverAuth,clientAuth\\n' > leaf.ext\n"
             "ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out root.key\n"
             "ossl req -x509 -new -key root.key -subj /CN=keys-test-root -days 2 "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign -out root.crt\n"
             "ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out int.key\n"
             "ossl req -new -key int.key -subj /CN=keys-test-int -out int.csr\n"
             "ossl x509 -req -in int.csr -CA root.crt -CAkey root.key -days 2 -extfile ca.ext "
             "-out int.crt\n"
             "ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key\n"
             "ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key\n"
             "for k in rsa ec; do\n"
             "  ossl req -new -key $k.key -subj /CN=localhost -out $k.csr\n"
             "  ossl x509 -req -in $k.csr -CA int.crt -CAkey int.key -days 2 -extfile leaf.ext "
             "-out $k.crt\n"
             "  cat $k.crt int.crt > $k.chain\n"
             "done\n"
             "for c in root int rsa ec; do ossl x509 -in $c.crt -outform DER -out $c.crt.der; "
             "mv $c.crt.der $c.der; done\n"
             "ossl pkcs8 -topk8 -in rsa.key -v2 aes-256-cbc -v2prf hmacWithSHA256 -passout \"$P\" "
             "-out rsa-pbes2.key\n"
             "ossl pkcs8 -topk8 -in ec.key -v2 aes-128-cbc -v2prf hmacWithSHA1 -passout \"$P\" "
             "-out ec-pbes2-sha1.key\n"
             "ossl pkcs8 -topk8 -in rsa.key -v2 des3 -passout \"$P\" -out rsa-des3.key\n"
             "ossl pkcs8 -topk8 -in ec.key -scrypt -passout \"$P\" -out ec-scrypt.key\n"
             "ossl pkcs8 -topk8 -in rsa.key -v1 PBE-SHA1-3DES -passout \"$P\" -out rsa-v1.key\n"
             "ossl pkcs8 -topk8 -in ec.key -v2 aes-256-cbc -passout pass: -out ec-empty.key\n"
             "ossl rsa -in rsa.key -traditional -aes256 -passout \"$P\" -out rsa-legacy.key\n"
             "ossl ec -in ec.key -aes128 -passout \"$P\" -out ec-legacy.key\n"
             "ossl ec -in ec.key -des3 -passout \"$P\" -out ec-legacy-des3.key\n"
             "ossl ec -in ec.key -out ec-sec1.key\n"
             "grep -q 'Proc-Type: 4,ENCRYPTED' rsa-legacy.key\n"
             "grep -q 'Proc-Type: 4,ENCRYPTED' ec-legacy.key\n"
             "cat root.crt int.crt > root-int.pem\n"
             "ossl pkcs12 -export -inkey rsa.key -in rsa.crt -certfile root-int.pem "
             "-passout \"$P\" -out rsa.p12\n"
             "ossl pkcs12 -export -inkey ec.key -in ec.crt -certfile int.crt -passout pass: "
             "-out ec-nopass.p12\n"
             "ossl pkcs12 -export -inkey ec.key -in ec.crt -certfile int.crt -keypbe PBE-SHA1-3DES "
             "-certpbe PBE-SHA1-3DES -passout \"$P\" -out ec-3des.p12\n"
             "ossl pkcs12 -export -legacy -inkey ec.key -in ec.crt -passout \"$P\" "
             "-out ec-legacy.p12\n"
             "ossl pkcs12 -export -nokeys -in ec.chain -passout pass: -out certs-only.p12\n"
             "ossl pkcs12 -export -inkey ec.key -in ec.crt -passout pass: -out ec-only.p12\n"
             "ossl pkcs12 -export -nomac -inkey ec.key -in ec.crt -certfile int.crt "
             "-passout \"$P\" -out ec-nomac.p12\n"
             "ossl pkcs12 -export -nomac -inkey ec.key -in ec.crt -certfile int.crt -passout pass: "
             "-out ec-nomac-empty.p12\n",
             dir, PASS);
    if (system(cmd) != 0)
        return 0;
    return make_mismatch() && make_corrupt_rsa();
}

static void cleanup(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(path_of(e->d_name));
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mtls-keys-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int made = make_files();
    CHECK(made);
    if (made) {
        encrypted_keys();
        pkcs12();
    } else {
        fprintf(stderr, "test_keys: openssl could not make the files; see %s/openssl.log\n", dir);
        return t_done();
    }
    cleanup();
    return t_done();
}
