/*
 * test_x509_revocation.c -- CRLs and OCSP responses (src/x509/crl.c, ocsp.c, revoc.c) and their
 * use by x509_verify_chain.
 *
 * The revocation PKI is made fresh by tests/pki/make-revocation.sh (`openssl ca`, `openssl
 * ocsp`) in a mkdtemp directory removed at the end.  Every CRL case is verified through
 * x509_verify_chain (leaf only / whole chain, hard / soft) and, as a differential, by
 * X509_verify_cert with X509_V_FLAG_CRL_CHECK(_ALL) -- what `openssl verify -crl_check[_all]`
 * runs -- on the same certificates, CRLs and time; every OCSP case through x509_ocsp_check and
 * by OCSP_basic_verify + OCSP_resp_find_status + OCSP_check_validity -- what `openssl ocsp
 * -respin ... -issuer ... -verify_other` runs.  Where the verdicts differ on purpose the case
 * says so (docs/x509.md).  Then crafted CRLs and OCSP responses (DER built here, signed with the
 * PKI's keys) for what `openssl ca` / `openssl ocsp` cannot make, and every truncation of a
 * valid CRL and OCSP response.
 */
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "t.h"
#include "x509/x509.h"
#include "x509/x509_int.h"

static char pki[256];
static int64_t now;
static x509_store *anchors;

/* ---- files --------------------------------------------------------------------------------- */

static uint8_t *read_all(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", pki, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static char *path_of(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", pki, name);
    return path[k];
}

typedef struct {
    x509_cert **c;
    size_t n;
} chain;

static chain load_chain(const char *name)
{
    chain ch = {NULL, 0};
    char file[128];
    size_t len;
    snprintf(file, sizeof file, "%s.crt", name);
    uint8_t *pem = read_all(file, &len);
    CHECK(pem != NULL);
    if (pem)
        CHECK_ERR(x509_chain_from_pem(pem, len, &ch.c, &ch.n), MTLS_OK);
    free(pem);
    return ch;
}

static x509_cert *load_cert(const char *file)
{
    x509_cert **c = NULL;
    size_t n = 0, len;
    uint8_t *pem = read_all(file, &len);
    if (!pem || x509_chain_from_pem(pem, len, &c, &n) != MTLS_OK) {
        free(pem);
        return NULL;
    }
    free(pem);
    for (size_t i = 1; i < n; i++)
        x509_cert_free(c[i]);
    x509_cert *one = c[0];
    free(c);
    return one;
}

/* A set of the CRL files named in `list` (space separated; "dir:" a hashed directory). */
static x509_crls *load_crls(const char *list)
{
    x509_crls *s = x509_crls_new();
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        mtls_err e = strncmp(w, "dir:", 4) == 0 ? x509_crls_add_dir(s, path_of(w + 4))
                                                : x509_crls_add_file(s, path_of(w));
        if (e != MTLS_OK)
            fprintf(stderr, "loading %s: %s\n", w, mtls_err_name(e));
        CHECK_ERR(e, MTLS_OK);
    }
    return s;
}

static x509_ocsp *load_ocsp(const char *file)
{
    size_t len;
    uint8_t *der = read_all(file, &len);
    x509_ocsp *o = NULL;
    CHECK(der != NULL);
    if (der)
        CHECK_ERR(x509_ocsp_parse(der, len, &o), MTLS_OK);
    free(der);
    return o;
}

static void serial_hex(const x509_cert *c, char *buf, size_t cap)
{
    size_t n, k = (size_t)snprintf(buf, cap, "serial 0x");
    const uint8_t *s = x509_cert_serial(c, &n);
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%02X", s[i]);
}

static mtls_err err_by_name(const char *s)
{
    if (strcmp(s, "OK") == 0)
        return MTLS_OK;
    for (int e = 0; e < MTLS_ERR__COUNT; e++) {
        if (strcmp(mtls_err_name((mtls_err)e), s) == 0)
            return (mtls_err)e;
    }
    return MTLS_ERR__COUNT;
}

/* ---- libcrypto's verdicts ------------------------------------------------------------------ */

static X509 *to_x509(const x509_cert *c)
{
    size_t len;
    const uint8_t *p = x509_cert_der(c, &len);
    return d2i_X509(NULL, &p, (long)len);
}

static mtls_err ossl_crl_err(int e)
{
    switch (e) {
    case X509_V_OK:
        return MTLS_OK;
    case X509_V_ERR_CERT_REVOKED:
        return MTLS_ERR_CERT_REVOKED;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
        return MTLS_ERR_CRL_MISSING;
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return MTLS_ERR_CRL_EXPIRED;
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return MTLS_ERR_CRL_NOT_YET_VALID;
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
        return MTLS_ERR_CRL_BAD_SIGNATURE;
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
        return MTLS_ERR_CERT_KEY_USAGE;
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
        return MTLS_ERR_CRL_UNSUPPORTED;
    default:
        return MTLS_ERR_INTERNAL;
    }
}

/* X509_verify_cert of chain `ch` against root.crt with the CRL files of `list`: the check of
 * `openssl verify -crl_check` (leaf) / `-crl_check_all` (chain). */
static int ossl_crl_verify(const chain *ch, const char *list, bool all, int64_t at)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_load_file(st, path_of("root.crt"));
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        BIO *b = BIO_new_file(path_of(w), "r");
        X509_CRL *crl;
        while (b && (crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)))
            sk_X509_CRL_push(crls, crl);
        BIO_free(b);
    }
    ERR_clear_error();
    X509 *leaf = to_x509(ch->c[0]);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (size_t i = 1; i < ch->n; i++)
        sk_X509_push(untrusted, to_x509(ch->c[i]));
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, untrusted);
    X509_STORE_CTX_set0_crls(ctx, crls);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK | (all ? X509_V_FLAG_CRL_CHECK_ALL : 0));
    X509_VERIFY_PARAM_set_time(vp, (time_t)at);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx);
    int e = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    X509_STORE_free(st);
    ERR_clear_error();
    return e;
}

/* OCSP_basic_verify (signer found in the response, chained to root.crt, authorized for the
 * issuer) + OCSP_resp_find_status (SHA-1 and SHA-256 CertIDs) + OCSP_check_validity (300 s):
 * the checks of `openssl ocsp -respin R -issuer I -cert C -CAfile root.crt`.  The verdict in
 * our terms; signer failures (bad signature or unauthorized) are MTLS_ERR_OCSP_UNAUTHORIZED. */
static mtls_err ossl_ocsp(const char *file, const x509_cert *leaf, const x509_cert *issuer)
{
    size_t len;
    uint8_t *der = read_all(file, &len);
    const uint8_t *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    free(der);
    if (!resp)
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    mtls_err out = MTLS_ERR_INTERNAL;
    OCSP_BASICRESP *bs = NULL;
    X509_STORE *st = X509_STORE_new();
    X509_STORE_load_file(st, path_of("root.crt"));
    X509 *lx = to_x509(leaf), *ix = to_x509(issuer);
    STACK_OF(X509) *other = sk_X509_new_null();
    sk_X509_push(other, X509_dup(ix));
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        out = MTLS_ERR_OCSP_BAD_RESPONSE;
        goto done;
    }
    bs = OCSP_response_get1_basic(resp);
    if (!bs || OCSP_basic_verify(bs, other, st, 0) <= 0) {
        out = MTLS_ERR_OCSP_UNAUTHORIZED;
        goto done;
    }
    int status = -1, reason;
    ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
    const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256()};
    for (int i = 0; i < 2 && status < 0; i++) {
        OCSP_CERTID *id = OCSP_cert_to_id(mds[i], lx, ix);
        if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd))
            status = -1;
        OCSP_CERTID_free(id);
    }
    if (status < 0)
        out = MTLS_ERR_OCSP_NOT_FOR_CERT;
    else if (!OCSP_check_validity(thisupd, nextupd, 300, -1))
        out = MTLS_ERR_OCSP_EXPIRED;
    else
        out = status == V_OCSP_CERTSTATUS_GOOD      ? MTLS_OK
              : status == V_OCSP_CERTSTATUS_REVOKED ? MTLS_ERR_CERT_REVOKED
                                                    : MTLS_ERR_OCSP_CERT_UNKNOWN;
done:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    sk_X509_pop_free(other, X509_free);
    X509_free(lx);
    X509_free(ix);
    X509_STORE_free(st);
    ERR_clear_error();
    return out;
}

/* ---- CRL cases through x509_verify_chain --------------------------------------------------- */

static const struct {
    const char *leaf, *crls;
    x509_crl_scope scope;
    bool soft;
    const char *want;
    const char *ossl; /* libcrypto's verdict when it differs on purpose, "-" for no
                       * differential (no soft-fail mode in OpenSSL), NULL when the same */
    const char *says[4];
} crl_cases[] = {
    {"good", "int.crl", X509_CRL_LEAF, false, "OK", NULL, {NULL}},
    {"revoked",
     "int.crl",
     X509_CRL_LEAF,
     false,
     "CERT_REVOKED",
     NULL,
     {"CN=revoked.test (issued by CN=mtls Revocation CA)", "reason: keyCompromise",
      "invalid since 2024-01-01 00:00:00 UTC", "according to the CRL of CN=mtls Revocation CA"}},
    {"hold",
     "int.crl",
     X509_CRL_LEAF,
     false,
     "CERT_REVOKED",
     NULL,
     {"CN=hold.test", "reason: certificateHold", "cRLNumber 0x", NULL}},
    {"good",
     "int-expired.crl",
     X509_CRL_LEAF,
     false,
     "CRL_EXPIRED",
     NULL,
     {"nextUpdate 2020-02-01 00:00:00 UTC has passed", "CN=good.test", NULL}},
    /* A revocation a stale CRL lists still stands; OpenSSL reports the stale CRL first. */
    {"revoked",
     "int-expired.crl",
     X509_CRL_LEAF,
     false,
     "CERT_REVOKED",
     "CRL_EXPIRED",
     {"reason: keyCompromise", "thisUpdate 2020-01-01 00:00:00 UTC", NULL}},
    {"good",
     "int-future.crl",
     X509_CRL_LEAF,
     false,
     "CRL_NOT_YET_VALID",
     NULL,
     {"thisUpdate 2099-01-01 00:00:00 UTC", "not valid yet", NULL}},
    {"good",
     "int-wrongkey.crl",
     X509_CRL_LEAF,
     false,
     "CRL_BAD_SIGNATURE",
     NULL,
     {"does not verify with the issuer's key", NULL}},
    /* another issuer's CRL: nothing covers the leaf */
    {"good",
     "root.crl",
     X509_CRL_LEAF,
     false,
     "CRL_MISSING",
     NULL,
     {"no CRL from CN=mtls Revocation CA covers certificate CN=good.test", NULL}},
    {"good", "root.crl", X509_CRL_LEAF, true, "OK", "-", {NULL}},
    /* the newest CRL in force decides */
    {"revoked", "int-old.crl", X509_CRL_LEAF, false, "OK", NULL, {NULL}},
    {"revoked", "int-old.crl int.crl", X509_CRL_LEAF, false, "CERT_REVOKED", NULL, {NULL}},
    {"revoked", "int.crl int-old.crl", X509_CRL_LEAF, false, "CERT_REVOKED", NULL, {NULL}},
    {"good", "int-expired.crl int.crl", X509_CRL_LEAF, false, "OK", NULL, {NULL}},
    {"good", "int-future.crl int.crl", X509_CRL_LEAF, false, "OK", NULL, {NULL}},
    /* CRLs that do not verify are passed over; OpenSSL takes the newest and fails */
    {"good", "int-wrongkey.crl int.crl", X509_CRL_LEAF, false, "OK", "CRL_BAD_SIGNATURE", {NULL}},
    /* leaf only vs the whole chain, with a revoked intermediate */
    {"chainrev", "int2.crl root.crl", X509_CRL_LEAF, false, "OK", NULL, {NULL}},
    {"chainrev",
     "int2.crl root.crl",
     X509_CRL_CHAIN,
     false,
     "CERT_REVOKED",
     NULL,
     {"certificate CN=mtls Revoked Intermediate (issued by CN=mtls Revocation Root)",
      "reason: cACompromise", "the CRL of CN=mtls Revocation Root", NULL}},
    {"chainrev", "all.crl", X509_CRL_CHAIN, false, "CERT_REVOKED", NULL, {NULL}},
    {"good",
     "int.crl",
     X509_CRL_CHAIN,
     false,
     "CRL_MISSING",
     NULL,
     {"no CRL from CN=mtls Revocation Root covers certificate CN=mtls Revocation CA", NULL}},
    {"good", "int.crl", X509_CRL_CHAIN, true, "OK", "-", {NULL}},
    {"good", "int.crl root.crl", X509_CRL_CHAIN, false, "OK", NULL, {NULL}},
    {"revoked", "all.crl", X509_CRL_CHAIN, false, "CERT_REVOKED", NULL, {NULL}},
    /* an issuer whose keyUsage lacks cRLSign */
    {"nocrlsign",
     "nokus.crl",
     X509_CRL_LEAF,
     false,
     "CERT_KEY_USAGE",
     NULL,
     {"keyUsage does not allow cRLSign", NULL}},
    /* issuingDistributionPoint: fullName URI:http://crl.test/int.crl, onlyContainsUserCerts */
    {"good", "int-idp.crl", X509_CRL_LEAF, false, "OK", NULL, {NULL}},
    {"revoked", "int-idp.crl", X509_CRL_LEAF, false, "CERT_REVOKED", NULL, {NULL}},
    {"nodp", "int-idp.crl", X509_CRL_LEAF, false, "CRL_MISSING", NULL, {NULL}},
    {"good", "int-idp.crl root.crl", X509_CRL_CHAIN, false, "OK", NULL, {NULL}},
    /* a hashed directory (openssl rehash) */
    {"good", "dir:crldir", X509_CRL_LEAF, false, "OK", "-", {NULL}},
    {"revoked", "dir:crldir", X509_CRL_LEAF, false, "CERT_REVOKED", "-", {NULL}},
    {"chainrev", "dir:crldir", X509_CRL_CHAIN, false, "CERT_REVOKED", "-", {NULL}},
    {"unknown", "dir:crldir", X509_CRL_CHAIN, false, "OK", "-", {NULL}},
};

static void test_crl_cases(void)
{
    int ndiff = 0;
    for (size_t i = 0; i < sizeof crl_cases / sizeof crl_cases[0]; i++) {
        chain ch = load_chain(crl_cases[i].leaf);
        x509_crls *crls = load_crls(crl_cases[i].crls);
        x509_revocation rv;
        char detail[2048], serial[64];
        x509_verify_params p = {.purpose = X509_PURPOSE_SERVER,
                                .host = "good.test",
                                .now = now,
                                .crls = crls,
                                .crl_scope = crl_cases[i].scope,
                                .crl_soft_fail = crl_cases[i].soft,
                                .revocation = &rv};
        mtls_err want = err_by_name(crl_cases[i].want);
        mtls_err got = ch.n ? x509_verify_chain(anchors, ch.c, ch.n, &p, detail, sizeof detail)
                            : MTLS_ERR__COUNT;
        printf("  crl %-9s %-22s %-5s %-4s %-18s %s\n", crl_cases[i].leaf, crl_cases[i].crls,
               crl_cases[i].scope ? "chain" : "leaf", crl_cases[i].soft ? "soft" : "hard",
               got ? mtls_err_name(got) : "OK", detail);
        CHECK_ERR(got, want);
        for (int k = 0; k < 4 && crl_cases[i].says[k]; k++) {
            if (!strstr(detail, crl_cases[i].says[k]))
                fprintf(stderr, "  detail lacks '%s'\n", crl_cases[i].says[k]);
            CHECK(strstr(detail, crl_cases[i].says[k]) != NULL);
        }
        if (got != MTLS_OK) {
            /* which certificate, its serial, which CRL */
            const x509_cert *who = ch.c[0];
            for (size_t k = 1; k < ch.n; k++) {
                size_t sl;
                const uint8_t *sn = x509_cert_serial(ch.c[k], &sl);
                if (sl == rv.serial_len && memcmp(sn, rv.serial, sl) == 0)
                    who = ch.c[k];
            }
            serial_hex(who, serial, sizeof serial);
            CHECK(strstr(detail, x509_cert_subject(who)) != NULL);
            CHECK(strstr(detail, serial) != NULL);
            CHECK(x509_revocation_err(&rv) == got);
            CHECK(rv.source == X509_REVOC_SRC_CRL);
        } else {
            CHECK(detail[0] == 0);
        }
        if (got == MTLS_ERR_CERT_REVOKED) {
            CHECK(rv.status == X509_REVOC_REVOKED && rv.revocation_time > 0 && rv.this_update > 0);
            CHECK(rv.reason >= 0 && rv.crl_number_len > 0);
        }
        const char *o = crl_cases[i].ossl;
        if (!(o && strcmp(o, "-") == 0)) {
            int oe =
                ossl_crl_verify(&ch, crl_cases[i].crls, crl_cases[i].scope == X509_CRL_CHAIN, now);
            mtls_err ow = o ? err_by_name(o) : got;
            if (ossl_crl_err(oe) != ow)
                fprintf(stderr, "  differential: %s with %s: mtls %s, openssl %d (%s)\n",
                        crl_cases[i].leaf, crl_cases[i].crls, mtls_err_name(got), oe,
                        X509_verify_cert_error_string(oe));
            CHECK_ERR(ossl_crl_err(oe), ow);
            ndiff++;
        }
        x509_crls_free(crls);
        x509_chain_free(ch.c, ch.n);
    }
    printf("  %d CRL cases compared with X509_verify_cert\n", ndiff);
    CHECK(ndiff >= 25);
}

/* ---- loading CRLs -------------------------------------------------------------------------- */

static void test_crl_loading(void)
{
    x509_crls *s = x509_crls_new();
    size_t len;
    uint8_t *der;
    /* PEM with several CRLs, DER, memory */
    CHECK_ERR(x509_crls_add_file(s, path_of("all.crl")), MTLS_OK);
    CHECK_EQ(x509_crls_count(s), 3);
    CHECK_ERR(x509_crls_add_file(s, path_of("int.der")), MTLS_OK);
    CHECK_EQ(x509_crls_count(s), 4);
    der = read_all("root.der", &len);
    CHECK_ERR(x509_crls_add_mem(s, der, len), MTLS_OK);
    CHECK_EQ(x509_crls_count(s), 5);
    /* all-or-nothing: a CRL whose TBSCertList tag is broken adds nothing */
    der[4] ^= 0xff;
    mtls_err e = x509_crls_add_mem(s, der, len);
    CHECK(e == MTLS_ERR_CRL_PARSE || e == MTLS_ERR_CRL_UNSUPPORTED);
    CHECK_EQ(x509_crls_count(s), 5);
    free(der);
    /* what is not a CRL */
    CHECK_ERR(x509_crls_add_file(s, path_of("good.crt")), MTLS_ERR_BAD_PEM);
    CHECK_ERR(x509_crls_add_mem(s, (const uint8_t *)"hello", 5), MTLS_ERR_BAD_PEM);
    CHECK_ERR(x509_crls_add_mem(s, NULL, 0), MTLS_ERR_BAD_PEM);
    CHECK_ERR(x509_crls_add_file(s, path_of("no-such-file")), MTLS_ERR_FILE);
    CHECK(strstr(x509_crls_error_file(s), "no-such-file") != NULL);
    /* refused: an unknown critical extension (RFC 5280 5.2), a delta CRL */
    CHECK_ERR(x509_crls_add_file(s, path_of("int-critext.crl")), MTLS_ERR_CRL_UNSUPPORTED);
    CHECK_ERR(x509_crls_add_file(s, path_of("int-delta.crl")), MTLS_ERR_CRL_UNSUPPORTED);
    CHECK_EQ(x509_crls_count(s), 5);
    /* ... where OpenSSL refuses the first at verification time */
    {
        chain ch = load_chain("good");
        int oe = ossl_crl_verify(&ch, "int-critext.crl", false, now);
        CHECK_ERR(ossl_crl_err(oe), MTLS_ERR_CRL_UNSUPPORTED);
        x509_chain_free(ch.c, ch.n);
    }
    /* a PEM file with a broken block fails whole */
    {
        char bad[600];
        snprintf(bad, sizeof bad, "-----BEGIN X509 CRL-----\nMIIB!!\n-----END X509 CRL-----\n");
        CHECK_ERR(x509_crls_add_mem(s, (const uint8_t *)bad, strlen(bad)), MTLS_ERR_BAD_PEM);
    }
    x509_crls_free(s);

    /* the hashed directory: only the <hash>.r<N> names are read (not the copies beside them) */
    s = x509_crls_new();
    CHECK_ERR(x509_crls_add_dir(s, path_of("crldir")), MTLS_OK);
    CHECK_EQ(x509_crls_count(s), 3);
    x509_crls_free(s);
    /* a broken CRL under a hashed name fails the directory, naming the file */
    {
        char p[600];
        snprintf(p, sizeof p, "%s/crldir/0badf00d.r0", pki);
        FILE *f = fopen(p, "w");
        fputs("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", f);
        fclose(f);
        s = x509_crls_new();
        CHECK(x509_crls_add_dir(s, path_of("crldir")) != MTLS_OK);
        CHECK(strstr(x509_crls_error_file(s), "0badf00d.r0") != NULL);
        CHECK_EQ(x509_crls_count(s), 0);
        x509_crls_free(s);
        unlink(p);
    }
    /* a directory without hashed names is read whole; files without CRLs are skipped */
    {
        char d[600], p[700];
        snprintf(d, sizeof d, "%s/plain", pki);
        mkdir(d, 0755);
        size_t n1, n2;
        uint8_t *a = read_all("int.crl", &n1), *b = read_all("good.crt", &n2);
        snprintf(p, sizeof p, "%s/int.pem", d);
        FILE *f = fopen(p, "wb");
        fwrite(a, 1, n1, f);
        fclose(f);
        snprintf(p, sizeof p, "%s/README", d);
        f = fopen(p, "wb");
        fwrite(b, 1, n2, f);
        fclose(f);
        free(a);
        free(b);
        s = x509_crls_new();
        CHECK_ERR(x509_crls_add_dir(s, d), MTLS_OK);
        CHECK_EQ(x509_crls_count(s), 1);
        x509_crls_free(s);
        unlink(p);
        snprintf(p, sizeof p, "%s/int.pem", d);
        unlink(p);
        s = x509_crls_new();
        CHECK_ERR(x509_crls_add_dir(s, d), MTLS_ERR_BAD_PEM); /* empty */
        CHECK_ERR(x509_crls_add_dir(s, path_of("nope")), MTLS_ERR_FILE);
        x509_crls_free(s);
        rmdir(d);
    }
    /* getters */
    {
        size_t n;
        uint8_t *d = read_all("int.der", &n);
        x509_crl *crl = NULL;
        CHECK_ERR(x509_crl_parse(d, n, &crl), MTLS_OK);
        if (crl) {
            const uint8_t *sn, *num;
            size_t sl, nl;
            int64_t date;
            int reason;
            CHECK(strcmp(x509_crl_issuer(crl), "CN=mtls Revocation CA") == 0);
            CHECK(x509_crl_next_update(crl) - x509_crl_this_update(crl) == 7 * 86400);
            CHECK(llabs((long long)(x509_crl_this_update(crl) - now)) < 600);
            num = x509_crl_number(crl, &nl);
            CHECK(num != NULL && nl == 1);
            CHECK_EQ(x509_crl_revoked_count(crl), 2);
            CHECK(x509_crl_revoked_entry(crl, 0, &sn, &sl, &date, &reason));
            CHECK(reason == X509_REASON_KEY_COMPROMISE);
            CHECK(x509_crl_revoked_entry(crl, 1, &sn, &sl, &date, &reason));
            CHECK(reason == X509_REASON_CERTIFICATE_HOLD);
            CHECK(!x509_crl_revoked_entry(crl, 2, &sn, &sl, &date, &reason));
        }
        x509_crl_free(crl);
        free(d);
    }
    /* x509_crls_check directly, bad arguments */
    {
        x509_revocation r;
        x509_cert *leaf = load_cert("good.leaf.crt"), *in = load_cert("int.crt");
        s = load_crls("int.crl");
        CHECK_ERR(x509_crls_check(s, leaf, in, now, &r), MTLS_OK);
        CHECK(r.status == X509_REVOC_GOOD && r.source == X509_REVOC_SRC_CRL);
        char text[1024];
        x509_revocation_describe(&r, leaf, text, sizeof text);
        CHECK(strstr(text, "is not revoked according to the CRL of CN=mtls Revocation CA"));
        CHECK_ERR(x509_crls_check(NULL, leaf, in, now, &r), MTLS_ERR_INVALID_ARG);
        CHECK_ERR(x509_crls_check(s, leaf, in, now, NULL), MTLS_ERR_INVALID_ARG);
        /* the wrong issuer certificate: its key does not verify int's CRL, nor its name */
        x509_cert *root = load_cert("root.crt");
        CHECK_ERR(x509_crls_check(s, leaf, root, now, &r), MTLS_ERR_CRL_MISSING);
        x509_cert_free(root);
        x509_crls_free(s);
        x509_cert_free(leaf);
        x509_cert_free(in);
    }
}

/* ---- OCSP ---------------------------------------------------------------------------------- */

static const struct {
    const char *leaf, *resp;
    int64_t at; /* seconds after now */
    const char *want;
    bool no_diff; /* a time libcrypto's OCSP_check_validity cannot be asked about */
    const char *says[3];
} ocsp_cases[] = {
    {"good", "ocsp-good.der", 0, "OK", false, {NULL}},
    {"revoked",
     "ocsp-revoked.der",
     0,
     "CERT_REVOKED",
     false,
     {"reason: keyCompromise",
      "according to the OCSP response signed by CN=mtls Revocation CA "
      "(the issuer)",
      NULL}},
    {"hold", "ocsp-hold.der", 0, "CERT_REVOKED", false, {"reason: certificateHold", NULL}},
    {"unknown", "ocsp-unknown.der", 0, "OCSP_CERT_UNKNOWN", false, {"status unknown", NULL}},
    {"good", "ocsp-delegated.der", 0, "OK", false, {NULL}},
    {"muststaple", "ocsp-muststaple.der", 0, "OK", false, {NULL}},
    {"good",
     "ocsp-noeku.der",
     0,
     "OCSP_UNAUTHORIZED",
     false,
     {"does not carry id-kp-OCSPSigning", "CN=noeku.test", NULL}},
    {"good",
     "ocsp-otherca.der",
     0,
     "OCSP_UNAUTHORIZED",
     false,
     {"was not issued by the certificate's issuer", "CN=otherca.test", NULL}},
    {"good",
     "ocsp-nocerts.der",
     0,
     "OCSP_UNAUTHORIZED",
     false,
     {"neither the issuer nor a responder certificate included", NULL}},
    {"good", "ocsp-badsig.der", 0, "OCSP_BAD_SIGNATURE", false, {"does not verify", NULL}},
    {"revoked",
     "ocsp-good.der",
     0,
     "OCSP_NOT_FOR_CERT",
     false,
     {"is not about certificate CN=revoked.test", NULL}},
    {"good", "ocsp-muststaple.der", 0, "OCSP_NOT_FOR_CERT", false, {NULL}},
    {"good", "ocsp-good.der", 2 * 86400, "OCSP_EXPIRED", true, {"nextUpdate", NULL}},
    {"good", "ocsp-good.der", 86400 + 200, "OK", true, {NULL}}, /* within the skew */
    {"good", "ocsp-good.der", -3600, "OCSP_NOT_YET_VALID", true, {"not valid yet", NULL}},
    {"good", "ocsp-nonext.der", 0, "OK", false, {NULL}},
    {"good", "ocsp-nonext.der", 6 * 86400, "OK", true, {NULL}},
    {"good", "ocsp-nonext.der", 8 * 86400, "OCSP_EXPIRED", true, {"no nextUpdate", NULL}},
    /* revoked stands however old the response */
    {"revoked", "ocsp-revoked.der", 30 * 86400, "CERT_REVOKED", true, {NULL}},
    /* a delegated responder outside its validity is not authorized */
    {"good",
     "ocsp-delegated.der",
     400 * 86400,
     "OCSP_UNAUTHORIZED",
     true,
     {"not within its validity period", NULL}},
};

static void test_ocsp_cases(void)
{
    x509_cert *in = load_cert("int.crt");
    int ndiff = 0;
    CHECK(in != NULL);
    for (size_t i = 0; i < sizeof ocsp_cases / sizeof ocsp_cases[0] && in; i++) {
        char file[64], text[2048], serial[64];
        snprintf(file, sizeof file, "%s.leaf.crt", ocsp_cases[i].leaf);
        x509_cert *leaf = load_cert(file);
        x509_ocsp *o = load_ocsp(ocsp_cases[i].resp);
        x509_revocation r;
        if (!leaf || !o) {
            CHECK(0);
            continue;
        }
        mtls_err got = x509_ocsp_check(o, leaf, in, now + ocsp_cases[i].at, &r);
        x509_revocation_describe(&r, leaf, text, sizeof text);
        printf("  ocsp %-10s %-20s %+8lld %-18s %s\n", ocsp_cases[i].leaf, ocsp_cases[i].resp,
               (long long)ocsp_cases[i].at, got ? mtls_err_name(got) : "OK", text);
        CHECK_ERR(got, err_by_name(ocsp_cases[i].want));
        CHECK(x509_revocation_err(&r) == got && r.source == X509_REVOC_SRC_OCSP);
        serial_hex(leaf, serial, sizeof serial);
        CHECK(strstr(text, x509_cert_subject(leaf)) && strstr(text, serial));
        for (int k = 0; k < 3 && ocsp_cases[i].says[k]; k++) {
            if (!strstr(text, ocsp_cases[i].says[k]))
                fprintf(stderr, "  text lacks '%s'\n", ocsp_cases[i].says[k]);
            CHECK(strstr(text, ocsp_cases[i].says[k]) != NULL);
        }
        if (!ocsp_cases[i].no_diff) {
            mtls_err oe = ossl_ocsp(ocsp_cases[i].resp, leaf, in);
            mtls_err ours = got == MTLS_ERR_OCSP_BAD_SIGNATURE ? MTLS_ERR_OCSP_UNAUTHORIZED : got;
            if (oe != ours)
                fprintf(stderr, "  differential: %s with %s: mtls %s, openssl %s\n",
                        ocsp_cases[i].leaf, ocsp_cases[i].resp, mtls_err_name(got),
                        mtls_err_name(oe));
            CHECK_ERR(oe, ours);
            ndiff++;
        }
        x509_ocsp_free(o);
        x509_cert_free(leaf);
    }
    printf("  %d OCSP cases compared with OCSP_basic_verify / OCSP_resp_find_status\n", ndiff);
    CHECK(ndiff >= 12);
    x509_cert_free(in);
}

/* The response and the CRLs together, through x509_verify_chain. */
static void test_verify_with_ocsp(void)
{
    chain good = load_chain("good"), revoked = load_chain("revoked"),
          staple = load_chain("muststaple");
    x509_ocsp *og = load_ocsp("ocsp-good.der"), *orv = load_ocsp("ocsp-revoked.der"),
              *oms = load_ocsp("ocsp-muststaple.der");
    x509_crls *root_only = load_crls("root.crl"), *expired = load_crls("int-expired.crl"),
              *intcrl = load_crls("int.crl");
    char detail[2048];
    x509_revocation rv;
    x509_verify_params p = {.purpose = X509_PURPOSE_CLIENT, .now = now, .revocation = &rv};
    if (!good.n || !revoked.n || !staple.n || !og || !orv || !oms)
        goto out;
    p.ocsp = og;
    CHECK_ERR(x509_verify_chain(anchors, good.c, good.n, &p, detail, sizeof detail), MTLS_OK);
    CHECK(rv.status == X509_REVOC_GOOD && rv.source == X509_REVOC_SRC_OCSP);
    p.ocsp = orv;
    CHECK_ERR(x509_verify_chain(anchors, revoked.c, revoked.n, &p, detail, sizeof detail),
              MTLS_ERR_CERT_REVOKED);
    CHECK(strstr(detail, "CN=revoked.test") && strstr(detail, "keyCompromise"));
    CHECK(rv.status == X509_REVOC_REVOKED && rv.reason == X509_REASON_KEY_COMPROMISE);
    /* a response about another certificate */
    p.ocsp = og;
    CHECK_ERR(x509_verify_chain(anchors, revoked.c, revoked.n, &p, detail, sizeof detail),
              MTLS_ERR_OCSP_NOT_FOR_CERT);
    /* must-staple: no response while one is required */
    CHECK(x509_cert_must_staple(staple.c[0]) && !x509_cert_must_staple(good.c[0]));
    p.ocsp = NULL;
    p.ocsp_required = true;
    CHECK_ERR(x509_verify_chain(anchors, staple.c, staple.n, &p, detail, sizeof detail),
              MTLS_ERR_OCSP_MISSING);
    CHECK(strstr(detail, "CN=muststaple.test") && strstr(detail, "must-staple, RFC 7633"));
    CHECK_ERR(x509_verify_chain(anchors, good.c, good.n, &p, detail, sizeof detail),
              MTLS_ERR_OCSP_MISSING);
    CHECK(strstr(detail, "by configuration") != NULL);
    p.ocsp = oms;
    CHECK_ERR(x509_verify_chain(anchors, staple.c, staple.n, &p, detail, sizeof detail), MTLS_OK);
    p.ocsp_required = false;
    /* a good response answers for the leaf: a missing or stale CRL is then no failure */
    p.ocsp = og;
    p.crls = root_only;
    CHECK_ERR(x509_verify_chain(anchors, good.c, good.n, &p, detail, sizeof detail), MTLS_OK);
    p.crls = expired;
    CHECK_ERR(x509_verify_chain(anchors, good.c, good.n, &p, detail, sizeof detail), MTLS_OK);
    /* ... but the chain's CRLs are still needed */
    p.crl_scope = X509_CRL_CHAIN;
    p.crls = intcrl;
    CHECK_ERR(x509_verify_chain(anchors, good.c, good.n, &p, detail, sizeof detail),
              MTLS_ERR_CRL_MISSING);
    CHECK(strstr(detail, "CN=mtls Revocation CA") != NULL);
    p.crl_scope = X509_CRL_LEAF;
    /* nothing asked: nothing checked */
    p.ocsp = NULL;
    p.crls = NULL;
    CHECK_ERR(x509_verify_chain(anchors, revoked.c, revoked.n, &p, detail, sizeof detail), MTLS_OK);
    CHECK(rv.status == X509_REVOC_NO_INFO && rv.source == 0);
    /* a revoked leaf that is itself a trust anchor is trusted as configured */
    {
        x509_store *s = x509_store_new();
        size_t len;
        uint8_t *pem = read_all("revoked.leaf.crt", &len);
        CHECK_ERR(x509_store_add_pem(s, pem, len), MTLS_OK);
        p.crls = intcrl;
        CHECK_ERR(x509_verify_chain(s, revoked.c, 1, &p, detail, sizeof detail), MTLS_OK);
        p.crls = NULL;
        free(pem);
        x509_store_free(s);
    }
out:
    x509_ocsp_free(og);
    x509_ocsp_free(orv);
    x509_ocsp_free(oms);
    x509_crls_free(root_only);
    x509_crls_free(expired);
    x509_crls_free(intcrl);
    x509_chain_free(good.c, good.n);
    x509_chain_free(revoked.c, revoked.n);
    x509_chain_free(staple.c, staple.n);
}

/* ---- crafted CRLs -------------------------------------------------------------------------- */

typedef struct {
    uint8_t b[16384];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    if (o->n + n > sizeof o->b)
        abort();
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_hex(buf *o, const char *hex)
{
    uint8_t tmp[4096];
    put(o, tmp, t_unhex(hex, tmp, sizeof tmp));
}

/* tag, minimal DER length, content */
static void tlv(buf *o, uint8_t tag, const buf *c)
{
    uint8_t h[6];
    size_t k = 0;
    h[k++] = tag;
    if (c->n < 0x80) {
        h[k++] = (uint8_t)c->n;
    } else if (c->n < 0x100) {
        h[k++] = 0x81;
        h[k++] = (uint8_t)c->n;
    } else {
        h[k++] = 0x82;
        h[k++] = (uint8_t)(c->n >> 8);
        h[k++] = (uint8_t)c->n;
    }
    put(o, h, k);
    put(o, c->b, c->n);
}

static void put_time(buf *o, int64_t t, bool generalized)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char s[32];
    gmtime_r(&tt, &tm);
    strftime(s, sizeof s, "%Y%m%d%H%M%SZ", &tm);
    buf c = {.n = 0};
    put(&c, generalized ? s : s + 2, strlen(s) - (generalized ? 0 : 2)); /* UTCTime: YY */
    tlv(o, generalized ? 0x18 : 0x17, &c);
}

static EVP_PKEY *int_key;
static x509_cert *int_cert, *good_leaf;

static const char ECDSA_SHA256[] = "300a06082a8648ce3d040302";

/* The DER signature of `tbs` with int's key (ECDSA P-256, SHA-256 unless `md`). */
static void sign_into(buf *o, const buf *tbs, const EVP_MD *md)
{
    uint8_t sig[256];
    size_t sl = sizeof sig;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_DigestSignInit(m, NULL, md ? md : EVP_sha256(), NULL, int_key);
    EVP_DigestSign(m, sig, &sl, tbs->b, tbs->n);
    EVP_MD_CTX_free(m);
    buf bs = {.n = 0};
    put(&bs, "\0", 1);
    put(&bs, sig, sl);
    tlv(o, 0x03, &bs);
}

/* A CRL piece by piece; each field is hex DER to splice in ("" leaves it out). */
typedef struct {
    const char *version;   /* "020101" for v2 */
    const char *inner_alg; /* NULL: ECDSA_SHA256 */
    const char *outer_alg; /* NULL: the inner one */
    int64_t this_off;      /* thisUpdate = now + this_off */
    int64_t next_off;      /* nextUpdate = now + next_off; 0: absent */
    const char *revoked;   /* whole revokedCertificates SEQUENCE, "": absent; "GOOD" an entry
                            * for the good leaf with `entry_ext` */
    const char *entry_ext; /* crlEntryExtensions (whole SEQUENCE), "" none */
    const char *crl_ext;   /* the Extensions SEQUENCE inside [0], "" none */
    const char *issuer;    /* NULL: int's subject */
    const EVP_MD *md;      /* NULL: SHA-256 */
    const char *trailer;   /* bytes after the signature, inside the outer SEQUENCE */
} crl_spec;

static size_t make_crl(const crl_spec *s, uint8_t *out, size_t cap)
{
    buf tbs = {.n = 0}, t = {.n = 0}, all = {.n = 0}, body = {.n = 0};
    put_hex(&t, s->version ? s->version : "020101");
    put_hex(&t, s->inner_alg ? s->inner_alg : ECDSA_SHA256);
    if (s->issuer)
        put_hex(&t, s->issuer);
    else
        put(&t, int_cert->subject_der, int_cert->subject_len);
    put_time(&t, now + s->this_off, false);
    if (s->next_off)
        put_time(&t, now + s->next_off, false);
    if (s->revoked && strcmp(s->revoked, "GOOD") == 0) {
        buf ent = {.n = 0}, one = {.n = 0}, ser = {.n = 0}, list = {.n = 0};
        put(&ser, good_leaf->serial, good_leaf->serial_len);
        tlv(&ent, 0x02, &ser);
        put_time(&ent, now - 100, false);
        if (s->entry_ext)
            put_hex(&ent, s->entry_ext);
        tlv(&one, 0x30, &ent);
        put(&list, one.b, one.n);
        tlv(&t, 0x30, &list);
    } else if (s->revoked) {
        put_hex(&t, s->revoked);
    }
    if (s->crl_ext && s->crl_ext[0]) {
        buf e = {.n = 0};
        put_hex(&e, s->crl_ext);
        tlv(&t, 0xa0, &e);
    }
    tlv(&tbs, 0x30, &t);
    put(&body, tbs.b, tbs.n);
    put_hex(&body, s->outer_alg ? s->outer_alg : s->inner_alg ? s->inner_alg : ECDSA_SHA256);
    sign_into(&body, &tbs, s->md);
    if (s->trailer)
        put_hex(&body, s->trailer);
    tlv(&all, 0x30, &body);
    if (all.n > cap)
        abort();
    memcpy(out, all.b, all.n);
    return all.n;
}

/* A crl_spec with the default digest and no trailer. */
#define S(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__, NULL, NULL                                                                    \
    }
/* extension helpers (hex): Extension SEQUENCE { OID, [critical], OCTET STRING { value } } */
#define EXT_REASON(r) "300a0603551d1504030a01" r
#define EXT_CRLNUM "300a0603551d140403020107"

static const struct {
    const char *name;
    crl_spec s;
    mtls_err want;  /* of x509_crl_parse */
    mtls_err check; /* of x509_crls_check for the good leaf, when it parses */
} crafted_crls[] = {
    {"v2, one entry (keyCompromise), cRLNumber",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "300c" EXT_REASON("01"), "300c" EXT_CRLNUM, NULL),
     MTLS_OK, MTLS_ERR_CERT_REVOKED},
    {"v1: no version, no extensions", S("", NULL, NULL, -60, 86400, "GOOD", NULL, "", NULL),
     MTLS_OK, MTLS_ERR_CERT_REVOKED},
    {"v1 with crlExtensions", S("", NULL, NULL, -60, 86400, "", NULL, "300c" EXT_CRLNUM, NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"v1 with an entry extension",
     S("", NULL, NULL, -60, 86400, "GOOD", "300c" EXT_REASON("01"), "", NULL), MTLS_ERR_CRL_PARSE,
     0},
    {"version 1 written out (v1 is the default)",
     S("020100", NULL, NULL, -60, 86400, "", NULL, "", NULL), MTLS_ERR_CRL_PARSE, 0},
    {"version 3", S("020102", NULL, NULL, -60, 86400, "", NULL, "", NULL), MTLS_ERR_CRL_PARSE, 0},
    {"no revoked certificates, no extensions: good",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "", NULL), MTLS_OK, MTLS_OK},
    {"no nextUpdate (RFC 5280 5.1.2.5)", S(NULL, NULL, NULL, -60, 0, "", NULL, "", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"nextUpdate before thisUpdate", S(NULL, NULL, NULL, -60, -120, "", NULL, "", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"empty revokedCertificates (RFC 5280 5.1.2.6)",
     S(NULL, NULL, NULL, -60, 86400, "3000", NULL, "", NULL), MTLS_ERR_CRL_PARSE, 0},
    {"reason code 7 (unused)",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "300c" EXT_REASON("07"), "", NULL), MTLS_ERR_CRL_PARSE,
     0},
    {"removeFromCRL in a full CRL",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "300c" EXT_REASON("08"), "", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"reason as a non-minimal ENUMERATED",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "300d300b0603551d1504040a020001", "", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"certificateIssuer: an indirect CRL",
     S(NULL, NULL, NULL, -60, 86400, "GOOD",
       "301e301c0603551d1d0101ff04123010a40e300c310a300806035504030c0178", "", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"unknown critical entry extension",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "3013301106082b0601040182370a0101ff04020500", "",
       NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"unknown non-critical entry extension",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "3010300e06082b0601040182370a04020500", "", NULL),
     MTLS_OK, MTLS_ERR_CERT_REVOKED},
    {"duplicate entry extension",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "3018" EXT_REASON("01") EXT_REASON("01"), "", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"invalidityDate as UTCTime",
     S(NULL, NULL, NULL, -60, 86400, "GOOD", "301830160603551d18040f170d3234303130313030303030305a",
       "", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"duplicate CRL extension",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "3018" EXT_CRLNUM EXT_CRLNUM, NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"negative cRLNumber",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "300c300a0603551d1404030201ff", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"deltaCRLIndicator",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "300f300d0603551d1b0101ff0403020101", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"unknown critical CRL extension",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "3013301106082b0601040182370a0101ff04020500", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"IDP onlyContainsCACerts: does not cover an end entity",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "3011300f0603551d1c0101ff040530038201ff", NULL),
     MTLS_OK, MTLS_ERR_CRL_MISSING},
    {"IDP onlyContainsUserCerts and onlyContainsCACerts",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "301430120603551d1c0101ff040830068101ff8201ff",
       NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"IDP indirectCRL",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "3011300f0603551d1c0101ff040530038401ff", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"IDP onlySomeReasons",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "301230100603551d1c0101ff0406300483020106", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"IDP onlyContainsAttributeCerts",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "3011300f0603551d1c0101ff040530038501ff", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"IDP with an explicit FALSE",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "3011300f0603551d1c0101ff04053003810100", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"IDP empty (RFC 5280 5.2.5)",
     S(NULL, NULL, NULL, -60, 86400, "", NULL, "300e300c0603551d1c0101ff04023000", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"IDP nameRelativeToCRLIssuer",
     S(NULL, NULL, NULL, -60, 86400, "", NULL,
       "301c301a0603551d1c0101ff0410300ea00ca10a300806035504030c0178", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"IDP distribution point the certificate does not name",
     S(NULL, NULL, NULL, -60, 86400, "", NULL,
       "301c301a0603551d1c0101ff0410300ea00ca00a8608687474703a2f2f78", NULL),
     MTLS_OK, MTLS_ERR_CRL_MISSING},
    {"inner and outer signature algorithms differ",
     S(NULL, NULL, "300a06082a8648ce3d040303", -60, 86400, "", NULL, "", NULL), MTLS_ERR_CRL_PARSE,
     0},
    {"Ed25519 signature algorithm", S(NULL, "300506032b6570", NULL, -60, 86400, "", NULL, "", NULL),
     MTLS_ERR_CRL_UNSUPPORTED, 0},
    {"ECDSA parameters present",
     S(NULL, "300c06082a8648ce3d0403020500", NULL, -60, 86400, "", NULL, "", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"ecdsa-with-SHA1: parses, never verifies",
     S(NULL, "300906072a8648ce3d0401", NULL, -60, 86400, "", NULL, "", NULL), MTLS_OK,
     MTLS_ERR_CRL_BAD_SIGNATURE},
    {"empty issuer name", S(NULL, NULL, NULL, -60, 86400, "", NULL, "", "3000"), MTLS_ERR_CRL_PARSE,
     0},
    {"a byte after the signature",
     {NULL, NULL, NULL, -60, 86400, "", NULL, "", NULL, NULL, "00"},
     MTLS_ERR_CRL_PARSE,
     0},
    {"a 22-byte serial",
     S(NULL, NULL, NULL, -60, 86400,
       "3029302702160102030405060708090a0b0c0d0e0f10111213141516170d3230303130313030303030305a",
       NULL, "", NULL),
     MTLS_ERR_CRL_PARSE, 0},
    {"thisUpdate in the future", S(NULL, NULL, NULL, 3600, 86400, "", NULL, "", NULL), MTLS_OK,
     MTLS_ERR_CRL_NOT_YET_VALID},
    {"nextUpdate passed", S(NULL, NULL, NULL, -7200, -60, "", NULL, "", NULL), MTLS_OK,
     MTLS_ERR_CRL_EXPIRED},
};

static void test_crafted_crls(void)
{
    for (size_t i = 0; i < sizeof crafted_crls / sizeof crafted_crls[0]; i++) {
        uint8_t der[8192];
        crl_spec s = crafted_crls[i].s;
        if (s.inner_alg && strcmp(s.inner_alg, "300906072a8648ce3d0401") == 0)
            s.md = EVP_sha1();
        size_t n = make_crl(&s, der, sizeof der);
        x509_crl *crl = NULL;
        mtls_err e = x509_crl_parse(der, n, &crl);
        /* libcrypto's decoder: which refusals are ours alone (DER and RFC 5280 rules it does
         * not enforce at decoding time) */
        const uint8_t *p = der;
        X509_CRL *ox = d2i_X509_CRL(NULL, &p, (long)n);
        printf("  crafted CRL %-52s %-16s (d2i_X509_CRL: %s)\n", crafted_crls[i].name,
               e ? mtls_err_name(e) : "OK", ox ? "accepts" : "refuses");
        X509_CRL_free(ox);
        ERR_clear_error();
        if (e != crafted_crls[i].want)
            fprintf(stderr, "  crafted CRL '%s'\n", crafted_crls[i].name);
        CHECK_ERR(e, crafted_crls[i].want);
        CHECK((e == MTLS_OK) == (crl != NULL));
        x509_crl_free(crl);
        if (e != MTLS_OK)
            continue;
        x509_crls *set = x509_crls_new();
        x509_revocation r;
        CHECK_ERR(x509_crls_add_mem(set, der, n), MTLS_OK);
        mtls_err c = x509_crls_check(set, good_leaf, int_cert, now, &r);
        if (c != crafted_crls[i].check)
            fprintf(stderr, "  crafted CRL '%s'\n", crafted_crls[i].name);
        CHECK_ERR(c, crafted_crls[i].check);
        x509_crls_free(set);
    }
}

/* ---- crafted OCSP responses (libcrypto builds them) --------------------------------------- */

static X509 *x_of(const x509_cert *c)
{
    return to_x509(c);
}

/* A response about `leaf` (issued by int) with the given statuses and times, signed by `signer`
 * / `key` (int's when NULL), carrying `extra` (may be NULL).  Returns the DER length. */
static size_t make_ocsp(uint8_t *out, size_t cap, const int *status, int n, int64_t this_off,
                        int64_t next_off, bool has_next, X509 *signer, EVP_PKEY *key,
                        X509_EXTENSION *ext, const x509_cert *leaf)
{
    X509 *lx = x_of(leaf), *ix = x_of(int_cert);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)(now + this_off));
    ASN1_TIME *nu = has_next ? ASN1_TIME_set(NULL, (time_t)(now + next_off)) : NULL;
    ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)(now - 86400));
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *id = OCSP_cert_to_id(i % 2 ? EVP_sha256() : EVP_sha1(), lx, ix);
        OCSP_basic_add1_status(bs, id, status[i], status[i] == V_OCSP_CERTSTATUS_REVOKED ? 4 : -1,
                               rt, tu, nu);
        OCSP_CERTID_free(id);
    }
    if (ext)
        OCSP_BASICRESP_add_ext(bs, ext, -1);
    OCSP_basic_sign(bs, signer ? signer : ix, key ? key : int_key, EVP_sha256(), NULL, 0);
    OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    int len = i2d_OCSP_RESPONSE(resp, NULL);
    if (len <= 0 || (size_t)len > cap)
        abort();
    uint8_t *p = out;
    i2d_OCSP_RESPONSE(resp, &p);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    ASN1_TIME_free(rt);
    X509_free(lx);
    X509_free(ix);
    return (size_t)len;
}

static mtls_err check_der(const uint8_t *der, size_t n, const x509_cert *leaf, int64_t at)
{
    x509_ocsp *o = NULL;
    x509_revocation r;
    mtls_err e = x509_ocsp_parse(der, n, &o);
    if (e)
        return e;
    e = x509_ocsp_check(o, leaf, int_cert, at, &r);
    x509_ocsp_free(o);
    return e;
}

static void test_crafted_ocsp(void)
{
    uint8_t der[8192];
    size_t n;
    int good[] = {V_OCSP_CERTSTATUS_GOOD}, unknown[] = {V_OCSP_CERTSTATUS_UNKNOWN};
    int mixed[] = {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED};
    int mixed2[] = {V_OCSP_CERTSTATUS_UNKNOWN, V_OCSP_CERTSTATUS_GOOD};

    /* the clock: skew 300 s either way; without nextUpdate at most 7 days */
    n = make_ocsp(der, sizeof der, good, 1, 200, 86400, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_OK);
    n = make_ocsp(der, sizeof der, good, 1, 400, 86400, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_OCSP_NOT_YET_VALID);
    n = make_ocsp(der, sizeof der, good, 1, -7200, -200, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_OK);
    n = make_ocsp(der, sizeof der, good, 1, -7200, -400, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_OCSP_EXPIRED);
    n = make_ocsp(der, sizeof der, good, 1, -6 * 86400, 0, false, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_OK);
    n = make_ocsp(der, sizeof der, good, 1, -8 * 86400, 0, false, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_OCSP_EXPIRED);
    /* several SingleResponses for the certificate (SHA-1 and SHA-256 CertIDs): the most severe */
    n = make_ocsp(der, sizeof der, mixed, 2, -60, 86400, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_CERT_REVOKED);
    n = make_ocsp(der, sizeof der, mixed2, 2, -60, 86400, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_OCSP_CERT_UNKNOWN);
    n = make_ocsp(der, sizeof der, unknown, 1, -60, 86400, true, NULL, NULL, NULL, good_leaf);
    CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_OCSP_CERT_UNKNOWN);
    /* a critical response extension we do not know: refused; non-critical: ignored */
    {
        ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.99999.9", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2);
        X509_EXTENSION *crit = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
        X509_EXTENSION *plain = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        n = make_ocsp(der, sizeof der, good, 1, -60, 86400, true, NULL, NULL, crit, good_leaf);
        CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_ERR_OCSP_BAD_RESPONSE);
        n = make_ocsp(der, sizeof der, good, 1, -60, 86400, true, NULL, NULL, plain, good_leaf);
        CHECK_ERR(check_der(der, n, good_leaf, now), MTLS_OK);
        X509_EXTENSION_free(crit);
        X509_EXTENSION_free(plain);
        ASN1_OBJECT_free(obj);
        ASN1_OCTET_STRING_free(os);
    }
    /* a good response (issuer-signed) for a certificate its CRL lists as revoked: revoked */
    {
        x509_cert *rl = load_cert("revoked.leaf.crt");
        chain ch = load_chain("revoked");
        x509_ocsp *o = NULL;
        x509_crls *crls = load_crls("int.crl");
        n = make_ocsp(der, sizeof der, good, 1, -60, 86400, true, NULL, NULL, NULL, rl);
        CHECK_ERR(x509_ocsp_parse(der, n, &o), MTLS_OK);
        char detail[1024];
        x509_verify_params p = {.purpose = X509_PURPOSE_CLIENT, .now = now, .ocsp = o};
        CHECK_ERR(x509_verify_chain(anchors, ch.c, ch.n, &p, detail, sizeof detail), MTLS_OK);
        p.crls = crls;
        CHECK_ERR(x509_verify_chain(anchors, ch.c, ch.n, &p, detail, sizeof detail),
                  MTLS_ERR_CERT_REVOKED);
        CHECK(strstr(detail, "the CRL of CN=mtls Revocation CA") != NULL);
        x509_crls_free(crls);
        x509_ocsp_free(o);
        x509_chain_free(ch.c, ch.n);
        x509_cert_free(rl);
    }
    /* hand-made OCSPResponse envelopes */
    static const struct {
        const char *hex;
        mtls_err parse;
        mtls_err check;
    } env[] = {
        {"3003 0a0103", MTLS_OK, MTLS_ERR_OCSP_BAD_RESPONSE},    /* tryLater */
        {"3003 0a0106", MTLS_OK, MTLS_ERR_OCSP_BAD_RESPONSE},    /* unauthorized */
        {"3003 0a0104", MTLS_ERR_OCSP_BAD_RESPONSE, 0},          /* 4 is not used */
        {"3003 0a0107", MTLS_ERR_OCSP_BAD_RESPONSE, 0},          /* no such status */
        {"3003 0a0100", MTLS_ERR_OCSP_BAD_RESPONSE, 0},          /* successful without bytes */
        {"3003 020100", MTLS_ERR_OCSP_BAD_RESPONSE, 0},          /* INTEGER, not ENUMERATED */
        {"3004 0a020003", MTLS_ERR_OCSP_BAD_RESPONSE, 0},        /* non-minimal */
        {"3007 0a0103 a0020500", MTLS_ERR_OCSP_BAD_RESPONSE, 0}, /* error with bytes */
        /* another response type */
        {"3016 0a0100 a011300f06092b0601050507300102 0402 3000", MTLS_ERR_OCSP_BAD_RESPONSE, 0},
        {"", MTLS_ERR_OCSP_BAD_RESPONSE, 0},
    };
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
        uint8_t b[256];
        size_t bn = t_unhex(env[i].hex, b, sizeof b);
        x509_ocsp *o = NULL;
        CHECK_ERR(x509_ocsp_parse(b, bn, &o), env[i].parse);
        if (o) {
            x509_revocation r;
            char text[512];
            CHECK_ERR(x509_ocsp_check(o, good_leaf, int_cert, now, &r), env[i].check);
            x509_revocation_describe(&r, good_leaf, text, sizeof text);
            CHECK(strstr(text, "the OCSP responder answered") != NULL);
            CHECK(x509_ocsp_response_status(o) == b[4]);
            x509_ocsp_free(o);
        }
    }
    CHECK_ERR(x509_ocsp_parse(NULL, 3, NULL), MTLS_ERR_INVALID_ARG);
}

/* ---- every truncation ---------------------------------------------------------------------- */

static void truncations(const char *file, bool crl)
{
    size_t len;
    uint8_t *der = read_all(file, &len), *big;
    int bad = 0;
    CHECK(der != NULL);
    if (!der)
        return;
    for (size_t n = 0; n < len; n++) {
        if (crl) {
            x509_crl *c = NULL;
            if (x509_crl_parse(der, n, &c) != MTLS_ERR_CRL_PARSE || c)
                bad++;
            x509_crl_free(c);
        } else {
            x509_ocsp *o = NULL;
            if (x509_ocsp_parse(der, n, &o) != MTLS_ERR_OCSP_BAD_RESPONSE || o)
                bad++;
            x509_ocsp_free(o);
        }
    }
    CHECK_EQ(bad, 0);
    big = malloc(len + 1);
    memcpy(big, der, len);
    big[len] = 0;
    if (crl) {
        x509_crl *c = NULL;
        CHECK_ERR(x509_crl_parse(der, len, &c), MTLS_OK);
        x509_crl_free(c);
        c = NULL;
        CHECK_ERR(x509_crl_parse(big, len + 1, &c), MTLS_ERR_CRL_PARSE);
        CHECK(c == NULL);
    } else {
        x509_ocsp *o = NULL;
        CHECK_ERR(x509_ocsp_parse(der, len, &o), MTLS_OK);
        x509_ocsp_free(o);
        o = NULL;
        CHECK_ERR(x509_ocsp_parse(big, len + 1, &o), MTLS_ERR_OCSP_BAD_RESPONSE);
        CHECK(o == NULL);
    }
    /* every single-byte change leaves the parser standing (the result may be anything) */
    for (size_t i = 0; i < len; i++) {
        memcpy(big, der, len);
        big[i] ^= 0x55;
        if (crl) {
            x509_crl *c = NULL;
            mtls_err e = x509_crl_parse(big, len, &c);
            CHECK((e == MTLS_OK) == (c != NULL));
            x509_crl_free(c);
        } else {
            x509_ocsp *o = NULL;
            mtls_err e = x509_ocsp_parse(big, len, &o);
            CHECK((e == MTLS_OK) == (o != NULL));
            if (o) {
                x509_revocation r;
                (void)x509_ocsp_check(o, good_leaf, int_cert, now, &r);
            }
            x509_ocsp_free(o);
        }
    }
    printf("  %s: %zu truncations and one byte too many refused\n", file, len);
    free(big);
    free(der);
}

static void test_truncations(void)
{
    truncations("int.der", true);     /* with entries and extensions */
    truncations("int-idp.der", true); /* issuingDistributionPoint */
    truncations("root.der", true);    /* RSA */
    truncations("ocsp-good.der", false);
    truncations("ocsp-delegated.der", false); /* byKey, SHA-256, a certificate */
    truncations("ocsp-revoked.der", false);
}

static void test_reason_names(void)
{
    CHECK(strcmp(x509_reason_name(X509_REASON_KEY_COMPROMISE), "keyCompromise") == 0);
    CHECK(strcmp(x509_reason_name(X509_REASON_AA_COMPROMISE), "aACompromise") == 0);
    CHECK(strcmp(x509_reason_name(X509_REASON_NONE), "no reason given") == 0);
    CHECK(strcmp(x509_reason_name(7), "unknown reason") == 0);
    /* the alerts (err.def): certificate_revoked (44); our CRL problems are certificate_unknown
     * (46); a stapled response that will not do is bad_certificate_status_response (113) */
    CHECK_EQ(err_alert(MTLS_ERR_CERT_REVOKED), 44);
    CHECK_EQ(err_alert(MTLS_ERR_CRL_MISSING), 46);
    CHECK_EQ(err_alert(MTLS_ERR_CRL_EXPIRED), 46);
    CHECK_EQ(err_alert(MTLS_ERR_OCSP_UNAUTHORIZED), 113);
    CHECK_EQ(err_alert(MTLS_ERR_OCSP_MISSING), 113);
    CHECK_EQ(err_alert(MTLS_ERR_CRL_PARSE), -1);
}

/* ---- main ---------------------------------------------------------------------------------- */

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(path);
        else
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
    snprintf(pki, sizeof pki, "/tmp/mtls-revoc-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "sh '%s/tests/pki/make-revocation.sh' '%s'", src, pki);
    int rc = system(cmd);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        rm_rf(pki);
        return t_done();
    }
    now = (int64_t)time(NULL);
    anchors = x509_store_new();
    CHECK_ERR(x509_store_add_file(anchors, path_of("root.crt")), MTLS_OK);
    int_cert = load_cert("int.crt");
    good_leaf = load_cert("good.leaf.crt");
    {
        BIO *b = BIO_new_file(path_of("int.key"), "r");
        int_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    CHECK(int_cert && good_leaf && int_key);
    if (int_cert && good_leaf && int_key) {
        test_crl_cases();
        test_crl_loading();
        test_ocsp_cases();
        test_verify_with_ocsp();
        test_crafted_crls();
        test_crafted_ocsp();
        test_truncations();
        test_reason_names();
    }
    EVP_PKEY_free(int_key);
    x509_cert_free(int_cert);
    x509_cert_free(good_leaf);
    x509_store_free(anchors);
    rm_rf(pki);
    return t_done();
}
