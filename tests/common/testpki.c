/*
 * testpki.c -- a small PKI generated with libcrypto at test time (the in-memory pump is in
 * pump.c).  Tests may use OpenSSL directly; the library never does outside src/crypto.
 */
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testpki.h"

static tp_pki pki;
static int made;
static X509 *pki_ca;       /* kept for tp_ocsp_response */
static EVP_PKEY *pki_ca_key;

const char *tp_kind_name(tp_key_kind k)
{
    return k == TP_RSA2048 ? "RSA-2048" : k == TP_P256 ? "P-256" : "P-384";
}

static EVP_PKEY *make_key(tp_key_kind k)
{
    if (k == TP_RSA2048)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", k == TP_P256 ? "P-256" : "P-384");
}

static char *pem_of_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    BIO_free(b);
    return out;
}

static char *pem_of_certs(X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, a);
    if (b)
        PEM_write_bio_X509(bio, b);
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    BIO_free(bio);
    return out;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex) {
        fprintf(stderr, "testpki: bad extension %d=%s\n", nid, value);
        abort();
    }
    X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       int is_ca, const char *eku, const char *san)
{
    static long serial = 1000;
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 7L * 24 * 3600);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mtls tests", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(c, key);
    X509 *iss = issuer ? issuer : c;
    if (is_ca) {
        add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(c, iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(c, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(c, iss, NID_ext_key_usage, eku);
    }
    add_ext(c, iss, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(c, iss, NID_authority_key_identifier, "keyid:always");
    if (san)
        add_ext(c, iss, NID_subject_alt_name, san);
    if (!X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()))
        abort();
    return c;
}

static void make_ident(tp_ident *id, tp_key_kind k, const char *cn, X509 *ca, EVP_PKEY *ca_key,
                       const char *eku, const char *san)
{
    EVP_PKEY *key = make_key(k);
    X509 *cert = make_cert(cn, key, ca, ca_key, 0, eku, san);
    id->cert_pem = pem_of_certs(cert, ca);
    id->key_pem = pem_of_key(key);
    X509_free(cert);
    EVP_PKEY_free(key);
}

const tp_pki *tp_get(void)
{
    if (made)
        return &pki;
    EVP_PKEY *ca_key = make_key(TP_P256), *other_key = make_key(TP_P256);
    X509 *ca = make_cert("mtls Test CA", ca_key, NULL, NULL, 1, NULL, NULL);
    X509 *other = make_cert("Some Other CA", other_key, NULL, NULL, 1, NULL, NULL);
    pki.ca_pem = pem_of_certs(ca, NULL);
    pki.other_ca_pem = pem_of_certs(other, NULL);
    for (int k = 0; k < TP_KEY_COUNT; k++) {
        char cn[64];
        snprintf(cn, sizeof(cn), "server-%s", tp_kind_name((tp_key_kind)k));
        make_ident(&pki.server[k], (tp_key_kind)k, cn, ca, ca_key, "serverAuth",
                   "DNS:localhost,IP:127.0.0.1");
        snprintf(cn, sizeof(cn), "client-%s", tp_kind_name((tp_key_kind)k));
        make_ident(&pki.client[k], (tp_key_kind)k, cn, ca, ca_key, "clientAuth",
                   "URI:spiffe://mtls.test/client");
    }
    make_ident(&pki.stranger, TP_P256, "stranger", other, other_key, "clientAuth", NULL);
    pki_ca = ca;
    pki_ca_key = ca_key;
    X509_free(other);
    EVP_PKEY_free(other_key);
    made = 1;
    return &pki;
}

size_t tp_ocsp_response(const char *cert_pem, int status, long this_off, long next_off,
                        uint8_t **der)
{
    *der = NULL;
    if (!tp_get() || !cert_pem)
        return 0;
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!leaf)
        return 0;
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, pki_ca);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    ASN1_TIME *thisupd = X509_gmtime_adj(NULL, this_off);
    ASN1_TIME *nextupd = next_off ? X509_gmtime_adj(NULL, next_off) : NULL;
    ASN1_TIME *revtime = X509_gmtime_adj(NULL, this_off - 3600);
    int st = status == 1 ? V_OCSP_CERTSTATUS_REVOKED
             : status == 2 ? V_OCSP_CERTSTATUS_UNKNOWN : V_OCSP_CERTSTATUS_GOOD;
    size_t len = 0;
    if (id && bs &&
        OCSP_basic_add1_status(bs, id, st, st == V_OCSP_CERTSTATUS_REVOKED ? 1 : -1,
                               st == V_OCSP_CERTSTATUS_REVOKED ? revtime : NULL, thisupd,
                               nextupd) &&
        OCSP_basic_sign(bs, pki_ca, pki_ca_key, EVP_sha256(), NULL, 0)) {
        OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
        unsigned char *p = NULL;
        int n = resp ? i2d_OCSP_RESPONSE(resp, &p) : -1;
        if (n > 0) {
            *der = malloc((size_t)n);
            memcpy(*der, p, (size_t)n);
            len = (size_t)n;
        }
        OPENSSL_free(p);
        OCSP_RESPONSE_free(resp);
    }
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    ASN1_TIME_free(thisupd);
    ASN1_TIME_free(nextupd);
    ASN1_TIME_free(revtime);
    X509_free(leaf);
    return len;
}

char *tp_crl(const char *cert_pem)
{
    if (!tp_get())
        return NULL;
    X509 *leaf = NULL;
    if (cert_pem) {
        BIO *b = BIO_new_mem_buf(cert_pem, -1);
        leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        if (!leaf)
            return NULL;
    }
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = X509_gmtime_adj(NULL, -60), *next = X509_gmtime_adj(NULL, 3600);
    char *out = NULL;
    int ok = crl && X509_CRL_set_version(crl, 1) &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki_ca)) &&
             X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next);
    if (ok && leaf) {
        X509_REVOKED *r = X509_REVOKED_new();
        ok = r && X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(leaf)) &&
             X509_REVOKED_set_revocationDate(r, last) && X509_CRL_add0_revoked(crl, r);
        if (!ok)
            X509_REVOKED_free(r);
    }
    if (ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, pki_ca_key, EVP_sha256())) {
        BIO *m = BIO_new(BIO_s_mem());
        char *p;
        long n;
        if (m && PEM_write_bio_X509_CRL(m, crl) && (n = BIO_get_mem_data(m, &p)) > 0 &&
            (out = malloc((size_t)n + 1))) {
            memcpy(out, p, (size_t)n);
            out[n] = 0;
        }
        BIO_free(m);
    }
    X509_CRL_free(crl);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_free(leaf);
    return out;
}
