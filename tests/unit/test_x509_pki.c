/*
 * test_x509_pki.c -- chain verification against the generated test PKI, and the differential
 * test against libcrypto.
 *
 * The PKI is made fresh by tests/pki/make-pki.sh (MTLS_SRC_DIR from ctest, or the current
 * directory) in a mkdtemp directory that is removed at the end.  Every case of its cases.txt is
 * verified in both roles (server certificate checked by a client with the host name; client
 * certificate checked by a server), asserting the exact error and that the detail sentence names
 * the certificate.  Then, as a differential test:
 *   - for every certificate of the PKI and of the system store, the fields our parser extracts
 *     (subject, issuer, serial, validity, SANs, key type and bits, basicConstraints, keyUsage,
 *     EKU) equal what libcrypto reports;
 *   - for every case and role, our verdict agrees with X509_verify_cert (tests only) run with
 *     the same anchors, time, purpose, host and security level 2 -- the error kind included.
 * The cases of nc-cases.txt (name-constrained CAs and wildcards) are verified in both roles too,
 * without the differential.
 */
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "x509/x509.h"
#include "x509/x509_int.h"

static char pki[256];
static int64_t now;

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static mtls_err load_chain(const char *name, x509_cert ***ch, size_t *n)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", pki, name);
    uint8_t *pem = read_all(path, &len);
    if (!pem)
        return MTLS_ERR_FILE;
    mtls_err err = x509_chain_from_pem(pem, len, ch, n);
    free(pem);
    return err;
}

static mtls_err err_by_name(const char *s)
{
    if (strcmp(s, "OK") == 0)
        return MTLS_OK;
    for (int e = 0; e < MTLS_ERR__COUNT; e++) {
        if (strcmp(mtls_err_name((mtls_err)e), s) == 0)
            return (mtls_err)e;
    }
    fprintf(stderr, "unknown error name %s\n", s);
    return MTLS_ERR__COUNT;
}

/* ---- OpenSSL's verdict --------------------------------------------------------------------- */

static X509 *to_x509(const x509_cert *c)
{
    size_t len;
    const uint8_t *p = x509_cert_der(c, &len);
    return d2i_X509(NULL, &p, (long)len);
}

static mtls_err ossl_to_mtls(int e)
{
    switch (e) {
    case X509_V_OK:
        return MTLS_OK;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return MTLS_ERR_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return MTLS_ERR_CERT_NOT_YET_VALID;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return MTLS_ERR_CERT_HOSTNAME;
    case X509_V_ERR_INVALID_PURPOSE:
        return MTLS_ERR_CERT_EKU;
    case X509_V_ERR_INVALID_CA:
        return MTLS_ERR_CERT_NOT_CA;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        return MTLS_ERR_CERT_PATH_LEN;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
        return MTLS_ERR_CERT_WEAK_KEY;
    case X509_V_ERR_CA_MD_TOO_WEAK:
        return MTLS_ERR_CERT_WEAK_SIGNATURE;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return MTLS_ERR_CERT_BAD_SIGNATURE;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return MTLS_ERR_CERT_SELF_SIGNED;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        return MTLS_ERR_CERT_UNKNOWN_CA;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        return MTLS_ERR_CERT_CHAIN_TOO_LONG;
    default:
        return MTLS_ERR_INTERNAL;
    }
}

static int ossl_verify(X509_STORE *anchors, x509_cert **ch, size_t n, x509_purpose purpose,
                       const char *host)
{
    X509 *leaf = to_x509(ch[0]);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (size_t i = 1; i < n; i++)
        sk_X509_push(untrusted, to_x509(ch[i]));
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, anchors, leaf, untrusted);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, (time_t)now);
    X509_VERIFY_PARAM_set_auth_level(vp, 2);
    X509_STORE_CTX_set_purpose(ctx, purpose == X509_PURPOSE_CLIENT ? X509_PURPOSE_SSL_CLIENT
                                                                   : X509_PURPOSE_SSL_SERVER);
    if (host && X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
    int ok = X509_verify_cert(ctx);
    int e = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    return e;
}

/* ---- the cases ----------------------------------------------------------------------------- */

/* Every case of the file `list` in both roles; `ossl` (NULL: no differential) must agree.
 * Returns the number of cases. */
static int run_cases(x509_store *store, X509_STORE *ossl, const char *list)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/%s", pki, list);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return 0;
    int ncases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64], host[64], want_s[2][64];
        if (sscanf(line, "%63s %63s %63s %63s", name, host, want_s[0], want_s[1]) != 4)
            continue;
        ncases++;
        x509_cert **ch = NULL;
        size_t n = 0;
        char file[128];
        snprintf(file, sizeof file, "%s.crt", name);
        CHECK_ERR(load_chain(file, &ch, &n), MTLS_OK);
        if (!ch)
            continue;
        for (int role = 0; role < 2; role++) {
            x509_purpose purpose = role ? X509_PURPOSE_CLIENT : X509_PURPOSE_SERVER;
            x509_verify_params vp = {.purpose = purpose, .host = role ? NULL : host, .now = now};
            char detail[1024];
            mtls_err want = err_by_name(want_s[role]);
            mtls_err got = x509_verify_chain(store, ch, n, &vp, detail, sizeof detail);
            printf("  %-17s %-6s %-22s %s\n", name, role ? "client" : "server",
                   got ? mtls_err_name(got) : "OK", detail);
            CHECK_ERR(got, want);
            if (got != MTLS_OK) {
                /* the sentence names the leaf (and, for CA problems, the CA too) */
                CHECK(strstr(detail, x509_cert_subject(ch[0])) != NULL);
                CHECK(strlen(detail) > 20);
            } else {
                CHECK(detail[0] == 0);
            }
            if (!ossl)
                continue;
            int oe = ossl_verify(ossl, ch, n, purpose, role ? NULL : host);
            mtls_err oerr = ossl_to_mtls(oe);
            if (oerr != got)
                fprintf(stderr, "  differential: %s %s: mtls %s, openssl %d (%s)\n", name,
                        role ? "client" : "server", mtls_err_name(got), oe,
                        X509_verify_cert_error_string(oe));
            CHECK_ERR(oerr, got);
        }
        x509_chain_free(ch, n);
    }
    fclose(f);
    return ncases;
}

static x509_cert *parse_one(const char *name)
{
    x509_cert **ch = NULL;
    size_t n = 0;
    if (load_chain(name, &ch, &n) != MTLS_OK || n == 0)
        return NULL;
    x509_cert *c = ch[0];
    for (size_t i = 1; i < n; i++)
        x509_cert_free(ch[i]);
    free(ch);
    return c;
}

/* A self-signed EC CA certificate with the given subject CN (a name-alike of a real CA). */
static x509_cert *fake_ca(const char *cn)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 99);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_subject_name(x, nm);
    X509_set_issuer_name(x, nm);
    X509_set_pubkey(x, k);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &ctx, "basicConstraints", "critical,CA:TRUE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, k, EVP_sha256());
    uint8_t *der = NULL;
    int len = i2d_X509(x, &der);
    x509_cert *c = NULL;
    x509_cert_parse(der, (size_t)len, &c);
    OPENSSL_free(der);
    X509_free(x);
    X509_NAME_free(nm);
    EVP_PKEY_free(k);
    return c;
}

static void extra_cases(x509_store *store)
{
    x509_cert *leaf = parse_one("good.leaf.crt"), *in = parse_one("int.crt"),
              *root = parse_one("root.crt"), *uroot = parse_one("uroot.crt"),
              *notca = parse_one("notca-int.crt"), *subint = parse_one("subint.crt"),
              *fake = fake_ca("mtls Test Intermediate");
    char detail[1024];
    x509_verify_params vp = {.purpose = X509_PURPOSE_SERVER, .host = "good.test", .now = now};
    CHECK(leaf && in && root && uroot && notca && subint && fake);
    if (!(leaf && in && root && uroot && notca && subint && fake))
        goto out;
    { /* any order, extras, and a peer-sent copy of the anchor */
        x509_cert *ch[] = {leaf, uroot, notca, root, subint, in};
        CHECK_ERR(x509_verify_chain(store, ch, 6, &vp, detail, sizeof detail), MTLS_OK);
    }
    { /* a name-alike intermediate that fails first, then the real one */
        x509_cert *ch[] = {leaf, fake, in};
        CHECK_ERR(x509_verify_chain(store, ch, 3, &vp, detail, sizeof detail), MTLS_OK);
        x509_cert *ch2[] = {leaf, fake};
        CHECK_ERR(x509_verify_chain(store, ch2, 2, &vp, detail, sizeof detail),
                  MTLS_ERR_CERT_BAD_SIGNATURE);
        CHECK(strstr(detail, "CN=good.test") != NULL);
    }
    { /* depth: leaf + int + root is three certificates */
        x509_cert *ch[] = {leaf, in};
        vp.max_depth = 2;
        CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, sizeof detail),
                  MTLS_ERR_CERT_CHAIN_TOO_LONG);
        CHECK(strstr(detail, "CN=good.test") != NULL);
        vp.max_depth = 3;
        CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, sizeof detail), MTLS_OK);
        vp.max_depth = 0;
    }
    { /* the clock: far future (the intermediate expires first), far past */
        x509_cert *ch[] = {leaf, in};
        vp.now = now + 20LL * 365 * 86400;
        CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, sizeof detail),
                  MTLS_ERR_CERT_EXPIRED);
        CHECK(strstr(detail, "CN=mtls Test Intermediate") != NULL);
        vp.now = 0;
        CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, sizeof detail),
                  MTLS_ERR_CERT_NOT_YET_VALID);
        vp.now = now;
    }
    { /* host names on the PKI leaves */
        x509_cert *wc = parse_one("wildcard.leaf.crt"), *ip = parse_one("ipsan.leaf.crt"),
                  *cn = parse_one("cnonly.leaf.crt");
        CHECK(wc && ip && cn);
        if (wc && ip && cn) {
            CHECK(x509_host_matches(wc, "www.good.test") && x509_host_matches(wc, "X.GOOD.TEST."));
            CHECK(!x509_host_matches(wc, "a.b.good.test") && !x509_host_matches(wc, "good.test"));
            CHECK(x509_host_matches(ip, "127.0.0.1") && x509_host_matches(ip, "::1"));
            CHECK(x509_host_matches(ip, "0:0:0:0:0:0:0:1") && !x509_host_matches(ip, "127.0.0.2"));
            CHECK(!x509_host_matches(ip, "ip.test"));
            CHECK(x509_host_matches(cn, "good.test") && x509_host_matches(cn, "Good.Test."));
            x509_cert *ch[] = {ip, in};
            vp.host = "::1";
            CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, sizeof detail), MTLS_OK);
            vp.host = "127.0.0.2";
            CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, sizeof detail),
                      MTLS_ERR_CERT_HOSTNAME);
            CHECK(strstr(detail, "IP:127.0.0.1") && strstr(detail, "IP:::1"));
            vp.host = "good.test";
        }
        x509_cert_free(wc);
        x509_cert_free(ip);
        x509_cert_free(cn);
    }
    { /* an intermediate as the trust anchor; the leaf itself as the anchor */
        x509_store *s2 = x509_store_new();
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s/int.crt", pki);
        CHECK_ERR(x509_store_add_file(s2, path), MTLS_OK);
        CHECK_ERR(x509_verify_chain(s2, &leaf, 1, &vp, detail, sizeof detail), MTLS_OK);
        x509_cert *ss = parse_one("selfsigned.crt");
        snprintf(path, sizeof path, "%s/selfsigned.crt", pki);
        uint8_t *pem = read_all(path, &len);
        CHECK_ERR(x509_store_add_pem(s2, pem, len), MTLS_OK);
        CHECK_ERR(x509_verify_chain(s2, &ss, 1, &vp, detail, sizeof detail), MTLS_OK);
        free(pem);
        x509_cert_free(ss);
        x509_store_free(s2);
    }
    { /* the key-mismatch case: the chain is fine, the key is not the leaf's */
        char path[512];
        size_t len;
        x509_cert *mm = parse_one("mismatch.leaf.crt");
        snprintf(path, sizeof path, "%s/mismatch.key", pki);
        uint8_t *pem = read_all(path, &len);
        cry_pkey *k = pem ? cry_pkey_private_from_pem(pem, len) : NULL;
        CHECK(mm && k && cry_pkey_matches(k, x509_cert_pubkey(mm)) == 0);
        cry_pkey_free(k);
        free(pem);
        snprintf(path, sizeof path, "%s/good.key", pki);
        pem = read_all(path, &len);
        k = pem ? cry_pkey_private_from_pem(pem, len) : NULL;
        CHECK(mm && k && cry_pkey_matches(k, x509_cert_pubkey(mm)) == 1);
        cry_pkey_free(k);
        free(pem);
        x509_cert_free(mm);
    }
    { /* bad arguments */
        CHECK_ERR(x509_verify_chain(store, NULL, 0, &vp, detail, sizeof detail),
                  MTLS_ERR_INVALID_ARG);
        CHECK_ERR(x509_verify_chain(store, &leaf, 1, NULL, detail, sizeof detail),
                  MTLS_ERR_INVALID_ARG);
        x509_cert *ch[] = {leaf, in};
        CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, NULL, 0), MTLS_OK);
        vp.host = "bad.test";
        CHECK_ERR(x509_verify_chain(store, ch, 2, &vp, detail, 8), MTLS_ERR_CERT_HOSTNAME);
        CHECK(strlen(detail) == 7);
        vp.host = "good.test";
    }
    { /* many copies of a name-alike: the work is bounded */
        x509_cert *ch[40];
        ch[0] = leaf;
        for (int i = 1; i < 40; i++)
            ch[i] = fake;
        CHECK_ERR(x509_verify_chain(store, ch, 40, &vp, detail, sizeof detail),
                  MTLS_ERR_CERT_BAD_SIGNATURE);
    }
out:
    x509_cert_free(leaf);
    x509_cert_free(in);
    x509_cert_free(root);
    x509_cert_free(uroot);
    x509_cert_free(notca);
    x509_cert_free(subint);
    x509_cert_free(fake);
}

/* ---- field-by-field differential ----------------------------------------------------------- */

static int fields_checked, certs_checked;

static void name_str(const X509_NAME *n, char *buf, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p;
    long len = BIO_get_mem_data(b, &p);
    snprintf(buf, cap, "%.*s", (int)len, p);
    BIO_free(b);
}

static int64_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    ASN1_TIME_to_tm(t, &tm);
    return (int64_t)timegm(&tm);
}

#define DIFF(cond, what)                                                                           \
    do {                                                                                           \
        fields_checked++;                                                                          \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "differential: %s differs for %s\n", what, x509_cert_subject(c));      \
            t_fail++;                                                                              \
        } else {                                                                                   \
            t_pass++;                                                                              \
        }                                                                                          \
    } while (0)

static void diff_cert(const uint8_t *der, size_t len)
{
    x509_cert *c = NULL;
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    mtls_err err = x509_cert_parse(der, len, &c);
    if (!x) {
        CHECK(err != MTLS_OK); /* what libcrypto refuses, we refuse too */
        x509_cert_free(c);
        return;
    }
    if (err == MTLS_ERR_CERT_UNSUPPORTED) {
        X509_free(x);
        return;
    }
    CHECK_ERR(err, MTLS_OK);
    if (!c) {
        X509_free(x);
        return;
    }
    certs_checked++;
    X509_check_purpose(x, -1, 0); /* caches the extension flags */
    char buf[2048];
    name_str(X509_get_subject_name(x), buf, sizeof buf);
    DIFF(strcmp(buf, x509_cert_subject(c)) == 0, "subject");
    if (strcmp(buf, x509_cert_subject(c)) != 0)
        fprintf(stderr, "  openssl %s\n  mtls    %s\n", buf, x509_cert_subject(c));
    name_str(X509_get_issuer_name(x), buf, sizeof buf);
    DIFF(strcmp(buf, x509_cert_issuer(c)) == 0, "issuer");
    {
        const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
        const uint8_t *s = c->serial;
        size_t sl = c->serial_len;
        if (sl > 1 && s[0] == 0) {
            s++;
            sl--;
        }
        if (ASN1_STRING_type(sn) == V_ASN1_INTEGER)
            DIFF((size_t)ASN1_STRING_length(sn) == sl &&
                     memcmp(ASN1_STRING_get0_data(sn), s, sl) == 0,
                 "serial");
    }
    DIFF(asn1_time(X509_get0_notBefore(x)) == x509_cert_not_before(c), "notBefore");
    DIFF(asn1_time(X509_get0_notAfter(x)) == x509_cert_not_after(c), "notAfter");
    {
        GENERAL_NAMES *gn = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        size_t k = 0;
        bool same = true;
        for (int i = 0; gn && i < sk_GENERAL_NAME_num(gn); i++) {
            GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
            int type;
            ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
            uint8_t t = type == GEN_EMAIL   ? 1
                        : type == GEN_DNS   ? 2
                        : type == GEN_URI   ? 6
                        : type == GEN_IPADD ? 7
                                            : 0;
            if (!t)
                continue;
            if (k >= c->san_count || c->sans[k].type != t ||
                c->sans[k].len != (size_t)ASN1_STRING_length(s) ||
                memcmp(c->sans[k].p, ASN1_STRING_get0_data(s), c->sans[k].len) != 0)
                same = false;
            k++;
        }
        DIFF(same && k == c->san_count && (gn != NULL) == c->has_san, "subjectAltName");
        GENERAL_NAMES_free(gn);
    }
    {
        EVP_PKEY *pk = X509_get0_pubkey(x);
        int id = EVP_PKEY_get_base_id(pk);
        cry_key_type want = id == EVP_PKEY_RSA ? CRY_KEY_RSA
                            : id == EVP_PKEY_EC
                                ? (EVP_PKEY_get_bits(pk) == 256 ? CRY_KEY_EC_P256 : CRY_KEY_EC_P384)
                                : CRY_KEY_OTHER;
        DIFF(cry_pkey_type(x509_cert_pubkey(c)) == want, "key type");
        DIFF((int)cry_pkey_bits(x509_cert_pubkey(c)) == EVP_PKEY_get_bits(pk), "key bits");
    }
    {
        uint32_t flags = X509_get_extension_flags(x);
        DIFF(!!(flags & EXFLAG_CA) == c->is_ca, "basicConstraints cA");
        long pl = X509_get_pathlen(x);
        DIFF(pl == (long)c->path_len, "pathLenConstraint");
    }
    {
        uint32_t ku = X509_get_key_usage(x);
        uint32_t ours = UINT32_MAX;
        if (c->has_ku) {
            ours = 0;
            for (unsigned bit = 0; bit < 8; bit++) {
                if (c->ku & (1u << bit))
                    ours |= 0x80u >> bit;
            }
            if (c->ku & X509_KU_DECIPHER_ONLY)
                ours |= 0x8000;
        }
        DIFF(ku == ours, "keyUsage");
    }
    {
        uint32_t eku = X509_get_extended_key_usage(x);
        if (eku == UINT32_MAX) {
            DIFF(!c->has_eku, "extKeyUsage presence");
        } else {
            DIFF(c->has_eku, "extKeyUsage presence");
            DIFF(!!(eku & XKU_SSL_SERVER) == !!(c->eku & X509_EKU_SERVER), "EKU serverAuth");
            DIFF(!!(eku & XKU_SSL_CLIENT) == !!(c->eku & X509_EKU_CLIENT), "EKU clientAuth");
            DIFF(!!(eku & XKU_ANYEKU) == !!(c->eku & X509_EKU_ANY), "EKU any");
        }
    }
    X509_free(x);
    x509_cert_free(c);
}

static void diff_pem_file(const char *path)
{
    size_t len, pos = 0, der_len;
    uint8_t *pem = read_all(path, &len), *der;
    if (!pem)
        return;
    while (x509_pem_next(pem, len, &pos, "CERTIFICATE", &der, &der_len) == 1) {
        diff_cert(der, der_len);
        free(der);
    }
    free(pem);
}

static void differential_fields(void)
{
    DIR *d = opendir(pki);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".crt") == 0) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", pki, e->d_name);
            diff_pem_file(path);
        }
    }
    if (d)
        closedir(d);
    int pki_certs = certs_checked;
    diff_pem_file("/etc/ssl/certs/ca-certificates.crt");
    printf("differential: %d PKI certificates and %d system certificates, %d fields compared\n",
           pki_certs, certs_checked - pki_certs, fields_checked);
    CHECK(pki_certs > 40);
}

/* ---- main ---------------------------------------------------------------------------------- */

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    const char *src = getenv("MTLS_SRC_DIR");
    char cmd[1024], here[512];
    if (!src) { /* run by hand: the source tree this file was compiled from */
        snprintf(here, sizeof here, "%s", __FILE__);
        char *cut = strstr(here, "/tests/unit/");
        if (cut)
            *cut = 0;
        src = cut ? here : ".";
    }
    snprintf(pki, sizeof pki, "/tmp/mtls-pki-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "sh '%s/tests/pki/make-pki.sh' '%s' >/dev/null", src, pki);
    int rc = system(cmd);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        rm_rf(pki);
        return t_done();
    }
    now = (int64_t)time(NULL);

    x509_store *store = x509_store_new();
    char path[512];
    snprintf(path, sizeof path, "%s/ca.crt", pki);
    CHECK_ERR(x509_store_add_file(store, path), MTLS_OK);
    X509_STORE *ossl = X509_STORE_new();
    X509_STORE_load_file(ossl, path);

    CHECK(run_cases(store, ossl, "cases.txt") >= 20);
    /* Name constraints and wildcards.  No differential here: OpenSSL 3.0 reads "*.example.com"
     * as a plain name and accepts it under an excluded bad.example.com (openssl#30706). */
    CHECK(run_cases(store, NULL, "nc-cases.txt") >= 15);
    extra_cases(store);
    differential_fields();

    X509_STORE_free(ossl);
    x509_store_free(store);
    rm_rf(pki);
    return t_done();
}
