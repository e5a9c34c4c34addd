/*
 * test_load_errors.c -- what mtls_config_error_detail says when a certificate, key or CA file
 * holds something mtls cannot use (src/x509/explain.c through src/core/config.c).
 *
 * Made at test time with libcrypto, in a mkdtemp directory: Ed25519, Ed448 and X25519 keys, an
 * Ed25519 self-signed certificate, a P-256 certificate signed by that Ed25519 CA, P-521 keys
 * (SEC1 and PKCS#8), an RSASSA-PSS-only key, and PKCS#12 bundles (DER) of a good P-256 pair.
 * Each goes through the file loaders (the detail names the file, what it holds and the openssl
 * command that fixes it) and the memory loaders (the detail names the part instead of a file).
 * Controls: a good pair still loads; a text file with no PEM, a 1024-bit RSA key and a
 * mismatched pair keep their own sentences and are never described as PKCS#12 or Ed25519.
 */
#include <dirent.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtls.h"
#include "t.h"

static char dir[64];

static const char *path_of(const char *name)
{
    static char buf[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *name, const void *p, size_t n)
{
    FILE *f = fopen(path_of(name), "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void write_key(const char *name, EVP_PKEY *k, int traditional)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (traditional)
        PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    write_file(name, p, (size_t)n);
    BIO_free(b);
}

static void write_cert(const char *name, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    write_file(name, p, (size_t)n);
    BIO_free(b);
}

/* A certificate for `key` named CN=cn, signed by issuer/issuer_key (NULL: self-signed). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    X509_set_pubkey(x, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &ctx, "basicConstraints",
                                         issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    EVP_PKEY *signer = issuer_key ? issuer_key : key;
    /* EdDSA signs without a separate digest */
    const EVP_MD *md = EVP_PKEY_is_a(signer, "ED25519") ? NULL : EVP_sha256();
    CHECK(X509_sign(x, signer, md) > 0);
    return x;
}

static mtls_err load_files(const char *cert, const char *key, const char **detail,
                           mtls_config **keep)
{
    mtls_config *cfg = mtls_config_new();
    mtls_err err = mtls_config_set_cert_chain_file(cfg, path_of(cert), path_of(key));
    *detail = mtls_config_error_detail(cfg);
    *keep = cfg;
    return err;
}

/* The detail contains every one of the NULL-terminated `want` strings. */
static void expect(const char *label, mtls_err got, mtls_err want_err, const char *detail, ...)
{
    int before = t_fail;
    va_list ap;
    CHECK_ERR(got, want_err);
    va_start(ap, detail);
    for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *)) {
        CHECK(detail && strstr(detail, w) != NULL);
        if (!detail || !strstr(detail, w))
            fprintf(stderr, "  %s: the detail lacks \"%s\"\n", label, w);
    }
    va_end(ap);
    printf("  %-26s %-18s %s\n", label, mtls_err_name(got), detail ? detail : "(null)");
    if (t_fail != before)
        fprintf(stderr, "  ^ %s\n", label);
}

/* The detail names none of the recognised mistakes. */
static void not_claimed(const char *label, const char *detail)
{
    CHECK(detail && detail[0]);
    CHECK(detail && !strstr(detail, "PKCS#12") && !strstr(detail, "Ed25519") &&
          !strstr(detail, "openssl genpkey"));
    printf("  %-26s (control) %s\n", label, detail ? detail : "(null)");
}

static unsigned char *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(path_of(name), "rb");
    if (!f)
        return NULL;
    unsigned char *b = malloc(1 << 16);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static void rm_rf(void)
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
    snprintf(dir, sizeof dir, "/tmp/mtls-load-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    EVP_PKEY *pss = NULL; /* EVP_PKEY_Q_keygen knows no RSA-PSS in OpenSSL 3.0 */
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    if (pctx && EVP_PKEY_keygen_init(pctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(pctx, 2048) == 1)
        EVP_PKEY_generate(pctx, &pss);
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    CHECK(ed && ed448 && x25519 && p521 && pss && p256 && rsa1024);
    X509 *edcert = make_cert("ed.test", ed, NULL, NULL);
    X509 *ecleaf = make_cert("ec-under-ed.test", p256, edcert, ed);
    X509 *ecself = make_cert("ec.test", p256, NULL, NULL);
    write_key("server.key", ed, 0);
    write_key("ed448.key", ed448, 0);
    write_key("x25519.key", x25519, 0);
    write_key("p521-sec1.key", p521, 1);
    write_key("p521.key", p521, 0);
    write_key("pss.key", pss, 0);
    write_key("ec.key", p256, 0);
    write_key("rsa1024.key", rsa1024, 0);
    write_cert("ed.crt", edcert);
    write_cert("ec-under-ed.crt", ecleaf);
    write_cert("ec.crt", ecself);
    write_file("notes.txt", "just some text\n", 15);
    /* PKCS#12 of the good P-256 pair (no password; AES, PBKDF2: OpenSSL 3 defaults) */
    PKCS12 *p12 = PKCS12_create("", "ec", p256, ecself, NULL, 0, 0, 0, 0, 0);
    CHECK(p12 != NULL);
    unsigned char *der = NULL;
    int der_len = p12 ? i2d_PKCS12(p12, &der) : 0;
    CHECK(der_len > 0);
    write_file("bundle.p12", der, (size_t)der_len);
    write_file("store.pfx", der, (size_t)der_len);

    const char *d;
    mtls_config *cfg;
    mtls_err err;
    printf("file loaders (mtls_config_set_cert_chain_file):\n");
    err = load_files("ec.crt", "ec.key", &d, &cfg);
    CHECK_ERR(err, MTLS_OK);
    mtls_config_free(cfg);

    err = load_files("ec.crt", "server.key", &d, &cfg);
    expect("Ed25519 key", err, MTLS_ERR_UNSUPPORTED_KEY, d, "server.key holds an Ed25519 key",
           "RSA", "ECDSA P-256/P-384",
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256", NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "ed448.key", &d, &cfg);
    expect("Ed448 key", err, MTLS_ERR_UNSUPPORTED_KEY, d, "ed448.key holds an Ed448 key",
           "openssl genpkey", NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "x25519.key", &d, &cfg);
    expect("X25519 key", err, MTLS_ERR_UNSUPPORTED_KEY, d, "x25519.key holds an X25519 key", NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "p521-sec1.key", &d, &cfg);
    expect("P-521 key (SEC1)", err, MTLS_ERR_UNSUPPORTED_KEY, d,
           "p521-sec1.key holds an EC P-521 key", "ec_paramgen_curve:P-256", NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "p521.key", &d, &cfg);
    expect("P-521 key (PKCS#8)", err, MTLS_ERR_UNSUPPORTED_KEY, d, "p521.key holds an EC P-521 key",
           NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "pss.key", &d, &cfg);
    expect("RSASSA-PSS key", err, MTLS_ERR_UNSUPPORTED_KEY, d,
           "pss.key holds an RSASSA-PSS-only key", NULL);
    mtls_config_free(cfg);

    err = load_files("ed.crt", "server.key", &d, &cfg);
    expect("Ed25519 certificate", err, MTLS_ERR_CERT_UNSUPPORTED, d,
           "ed.crt holds a certificate with an Ed25519 key (CN=ed.test)", "ECDSA P-256/P-384",
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256", NULL);
    mtls_config_free(cfg);
    err = load_files("ec-under-ed.crt", "ec.key", &d, &cfg);
    expect("Ed25519-signed cert", err, MTLS_ERR_CERT_UNSUPPORTED, d,
           "ec-under-ed.crt holds a certificate with a signature made with Ed25519 "
           "(CN=ec-under-ed.test)",
           NULL);
    mtls_config_free(cfg);

    err = load_files("bundle.p12", "bundle.p12", &d, &cfg);
    expect("PKCS#12 as chain", err, MTLS_ERR_BAD_PEM, d,
           "bundle.p12 looks like a PKCS#12 file (DER): load it as one, with --p12 ",
           "bundle.p12 (the mtls tool) or mtls_config_set_pkcs12_file()", "`openssl pkcs12 -in ",
           "bundle.p12 -nodes -out ", "bundle.pem` and use ",
           "bundle.pem as both the certificate chain and the key file", NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "store.pfx", &d, &cfg);
    expect("PKCS#12 as key", err, MTLS_ERR_BAD_KEY, d, "store.pfx looks like a PKCS#12 file (DER)",
           "--p12 ", "store.pfx (the mtls tool)", "-in ", "store.pfx -nodes -out ", "store.pem", NULL);
    mtls_config_free(cfg);

    printf("controls:\n");
    err = load_files("notes.txt", "ec.key", &d, &cfg);
    CHECK_ERR(err, MTLS_ERR_BAD_PEM);
    not_claimed("text as chain", d);
    CHECK(strstr(d, "notes.txt") != NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "notes.txt", &d, &cfg);
    CHECK_ERR(err, MTLS_ERR_BAD_KEY);
    not_claimed("text as key", d);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "rsa1024.key", &d, &cfg);
    CHECK_ERR(err, MTLS_ERR_UNSUPPORTED_KEY);
    not_claimed("RSA-1024 key", d);
    CHECK(strstr(d, "1024") != NULL);
    mtls_config_free(cfg);
    err = load_files("ec.crt", "x25519.key", &d, &cfg); /* recognised, yet not PKCS#12 */
    CHECK(!strstr(d, "PKCS#12"));
    mtls_config_free(cfg);
    EVP_PKEY *p256b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    write_key("other.key", p256b, 0);
    err = load_files("ec.crt", "other.key", &d, &cfg);
    CHECK_ERR(err, MTLS_ERR_KEY_MISMATCH);
    not_claimed("mismatched pair", d);
    mtls_config_free(cfg);
    EVP_PKEY_free(p256b);

    printf("memory loaders (mtls_config_set_cert_chain_mem):\n");
    {
        size_t cl, kl, el, pl;
        unsigned char *c = slurp("ec.crt", &cl), *k = slurp("server.key", &kl),
                      *e = slurp("ed.crt", &el), *p = slurp("bundle.p12", &pl);
        CHECK(c && k && e && p);
        cfg = mtls_config_new();
        err = mtls_config_set_cert_chain_mem(cfg, c, cl, k, kl);
        expect("Ed25519 key", err, MTLS_ERR_UNSUPPORTED_KEY, mtls_config_error_detail(cfg),
               "the private key holds an Ed25519 key", NULL);
        err = mtls_config_set_cert_chain_mem(cfg, e, el, k, kl);
        expect("Ed25519 certificate", err, MTLS_ERR_CERT_UNSUPPORTED, mtls_config_error_detail(cfg),
               "the certificate chain holds a certificate with an Ed25519 key", NULL);
        err = mtls_config_set_cert_chain_mem(cfg, p, pl, k, kl);
        expect("PKCS#12 as chain", err, MTLS_ERR_BAD_PEM, mtls_config_error_detail(cfg),
               "the certificate chain looks like a PKCS#12 file (DER)", "openssl pkcs12", NULL);
        err = mtls_config_set_ca_mem(cfg, p, pl);
        expect("PKCS#12 as CA data", err, MTLS_ERR_BAD_PEM, mtls_config_error_detail(cfg),
               "the CA data looks like a PKCS#12 file (DER)", "-nokeys", NULL);
        mtls_config_free(cfg);
        free(c);
        free(k);
        free(e);
        free(p);
    }

    printf("CA loaders (mtls_config_set_ca_file / _client_ca_file):\n");
    cfg = mtls_config_new();
    err = mtls_config_set_ca_file(cfg, path_of("ed.crt"));
    expect("Ed25519 CA", err, MTLS_ERR_CERT_UNSUPPORTED, mtls_config_error_detail(cfg),
           "ed.crt holds a certificate with an Ed25519 key (CN=ed.test)",
           "RSA or ECDSA P-256/P-384", NULL);
    err = mtls_config_set_client_ca_file(cfg, path_of("bundle.p12"));
    expect("PKCS#12 as CA file", err, MTLS_ERR_BAD_PEM, mtls_config_error_detail(cfg),
           "bundle.p12 looks like a PKCS#12 file (DER)", "-nokeys -out ", "bundle.pem", NULL);
    err = mtls_config_set_ca_file(cfg, path_of("notes.txt"));
    CHECK_ERR(err, MTLS_ERR_BAD_PEM);
    not_claimed("text as CA file", mtls_config_error_detail(cfg));
    mtls_config_free(cfg);

    OPENSSL_free(der);
    PKCS12_free(p12);
    X509_free(edcert);
    X509_free(ecleaf);
    X509_free(ecself);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(ed448);
    EVP_PKEY_free(x25519);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(pss);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(rsa1024);
    rm_rf();
    return t_done();
}
