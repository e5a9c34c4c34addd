/*
 * test_certreq.c -- the CertificateRequest's certificate_authorities (RFC 5246 7.4.4).
 *
 * The server's flight is taken off the wire in memory and its CertificateRequest parsed here, field
 * by field: the list holds the DER subject of each client CA anchor (client_ca anchors, else the
 * ca anchors), in the order they were added, each name once; it is empty with
 * mtls_config_set_send_ca_names(cfg, 0) and when the names would exceed 16 KiB.  Every handshake
 * is then completed, so the client accepts each form.  The client keeps sending its certificate
 * even when its issuer is not among the names (the server then refuses the certificate, rather
 * than finding none).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "codec/codec.h"
#include "common/testpki.h"
#include "t.h"
#include "x509/x509.h"

#define MAX_DN 300

typedef struct {
    size_t n;
    size_t len[MAX_DN];
    uint8_t dn[MAX_DN][512];
} dn_list;

/* The subject DER of the first certificate of a PEM text. */
static size_t subject_of(const char *pem, uint8_t *out, size_t cap)
{
    x509_cert **chain = NULL;
    size_t n = 0, len = 0;
    if (x509_chain_from_pem((const uint8_t *)pem, strlen(pem), &chain, &n) != MTLS_OK || n == 0)
        return 0;
    const uint8_t *dn = x509_cert_subject_der(chain[0], &len);
    if (len <= cap)
        memcpy(out, dn, len);
    x509_chain_free(chain, n);
    return len <= cap ? len : 0;
}

/* RFC 5246 7.4.4:
 *   struct {
 *       ClientCertificateType certificate_types<1..2^8-1>;
 *       SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;
 *       DistinguishedName certificate_authorities<0..2^16-1>;
 *   } CertificateRequest;
 *   opaque DistinguishedName<1..2^16-1>;                                                       */
static int parse_cert_request(rd body, dn_list *out)
{
    rd types, algs, cas;
    if (!rd_vec8(&body, &types) || types.n == 0 || !rd_vec16(&body, &algs) || algs.n < 2 ||
        algs.n % 2 || !rd_vec16(&body, &cas) || !rd_done(&body))
        return 0;
    out->n = 0;
    while (cas.n) {
        rd dn;
        if (!rd_vec16(&cas, &dn) || dn.n == 0 || dn.n > sizeof(out->dn[0]) || out->n == MAX_DN)
            return 0;
        out->len[out->n] = dn.n;
        memcpy(out->dn[out->n++], dn.p, dn.n);
    }
    return 1;
}

/* Starts a handshake, takes the server's first flight (plaintext handshake records) off the wire
 * and parses the CertificateRequest in it into *names; then finishes the handshake and returns
 * its result.  *found is 0 when the flight has no CertificateRequest, -1 when it is malformed. */
static mtls_err run(mtls_config *ccfg, mtls_config *scfg, dn_list *names, int *found,
                    mtls_err *server_err)
{
    static uint8_t hs[1 << 17];
    mtls_conn *c = mtls_client_new(ccfg, "localhost");
    mtls_conn *s = mtls_server_new(scfg);
    *found = 0;
    CHECK(c != NULL && s != NULL);
    if (!c || !s) {
        mtls_conn_free(c);
        mtls_conn_free(s);
        return MTLS_ERR_INTERNAL;
    }
    CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ);
    mtls_err te = tp_transfer(c, s);
    CHECK(te == MTLS_OK || te == MTLS_ERR_WANT_READ);
    CHECK_ERR(mtls_handshake(s), MTLS_ERR_WANT_READ);

    /* The records: type(1) version(2) length(2) fragment; concatenate the handshake fragments. */
    size_t n, hs_len = 0;
    const uint8_t *p = mtls_send_buf(s, &n);
    rd recs = rd_init(p, p ? n : 0);
    while (recs.n) {
        uint8_t type;
        uint16_t version;
        rd frag;
        if (!rd_u8(&recs, &type) || !rd_u16(&recs, &version) || !rd_vec16(&recs, &frag) ||
            type != 22 || hs_len + frag.n > sizeof(hs)) {
            *found = -1;
            break;
        }
        memcpy(hs + hs_len, frag.p, frag.n);
        hs_len += frag.n;
    }
    rd msgs = rd_init(hs, hs_len);
    while (*found == 0 && msgs.n) {
        uint8_t type;
        rd body;
        if (!rd_u8(&msgs, &type) || !rd_vec24(&msgs, &body)) {
            *found = -1;
            break;
        }
        if (type == 13) /* certificate_request */
            *found = parse_cert_request(body, names) ? 1 : -1;
    }
    mtls_err err = tp_handshake(c, s);
    *server_err = mtls_conn_error(s);
    if (err == MTLS_OK) {
        CHECK(mtls_conn_peer_cert_presented(s));
        CHECK(mtls_conn_client_sigalg(c) != 0);
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    return err;
}

static mtls_config *server_cfg(mtls_verify_mode mode)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, mode), MTLS_OK);
    /* The TLS 1.2 message is read off the wire here (TLS 1.3 encrypts it: test_tls13 checks its
     * names through the client's trace). */
    CHECK_ERR(mtls_config_set_versions(cfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->client[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    return cfg;
}

static int same_dn(const dn_list *l, size_t i, const uint8_t *dn, size_t len)
{
    return i < l->n && l->len[i] == len && memcmp(l->dn[i], dn, len) == 0;
}

/* A self-signed CA certificate, PEM, with a subject made of `rdns` OU attributes of 60 bytes. */
static char *make_ca(EVP_PKEY *key, int id, int rdns)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 5000 + id);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 24 * 3600);
    X509_NAME *name = X509_get_subject_name(c);
    char v[61];
    for (int i = 0; i < rdns; i++) {
        /* 60 bytes: the id, the unit, dots to fill (the upper bound of an OU is 64) */
        int k = snprintf(v, sizeof(v), "mtls test CA %04d unit %02d ", id % 10000, i % 100);
        memset(v + k, '.', sizeof(v) - 1 - (size_t)k);
        v[sizeof(v) - 1] = 0;
        X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)v, -1, -1, 0);
    }
    X509_set_issuer_name(c, name);
    X509_set_pubkey(c, key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_EXTENSION *ku = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign");
    X509_add_ext(c, bc, -1);
    X509_add_ext(c, ku, -1);
    X509_EXTENSION_free(bc);
    X509_EXTENSION_free(ku);
    X509_sign(c, key, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, c);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    BIO_free(b);
    X509_free(c);
    return out;
}

static dn_list names;

static void test_names(void)
{
    const tp_pki *pki = tp_get();
    uint8_t ca_dn[512], other_dn[512];
    size_t ca_len = subject_of(pki->ca_pem, ca_dn, sizeof(ca_dn));
    size_t other_len = subject_of(pki->other_ca_pem, other_dn, sizeof(other_dn));
    CHECK(ca_len > 0 && other_len > 0);
    mtls_config *ccfg = client_cfg();
    int found;
    mtls_err serr;

    /* client CA anchors: their subject, by default */
    mtls_config *scfg = server_cfg(MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 1);
    CHECK(same_dn(&names, 0, ca_dn, ca_len));
    mtls_config_free(scfg);

    /* two anchors, in the order they were added; the same anchor twice is named once */
    scfg = server_cfg(MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->other_ca_pem, strlen(pki->other_ca_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 2);
    CHECK(same_dn(&names, 0, other_dn, other_len));
    CHECK(same_dn(&names, 1, ca_dn, ca_len));
    mtls_config_free(scfg);

    /* switched off: the empty list, and the client still sends its certificate */
    scfg = server_cfg(MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_send_ca_names(scfg, 0), MTLS_OK);
    names.n = 99;
    CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 0);
    mtls_config_free(scfg);

    /* optional, no client_ca: the ca anchors verify client certificates, so they are named */
    scfg = server_cfg(MTLS_VERIFY_OPTIONAL);
    CHECK_ERR(mtls_config_set_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 1);
    CHECK(same_dn(&names, 0, ca_dn, ca_len));
    mtls_config_free(scfg);

    /* no client certificate asked for: no CertificateRequest at all */
    scfg = server_cfg(MTLS_VERIFY_NONE);
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    CHECK(!mtls_conn_cert_requested(c));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(scfg);

    /* The names do not include our issuer: the client sends its certificate all the same, and the
     * server refuses it for its CA (not for its absence). */
    scfg = server_cfg(MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->other_ca_pem, strlen(pki->other_ca_pem)),
              MTLS_OK);
    CHECK(run(ccfg, scfg, &names, &found, &serr) != MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 1);
    CHECK(same_dn(&names, 0, other_dn, other_len));
    CHECK_ERR(serr, MTLS_ERR_CERT_UNKNOWN_CA);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
}

/* Many client CAs: under 16 KiB of names all are sent; over it, none (the client may pick any). */
static void test_bound(void)
{
    const tp_pki *pki = tp_get();
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(key != NULL);
    /* each subject: 3 OUs of 60 bytes = about 200 bytes of DER */
    size_t cap = 1 << 20, len = 0;
    char *bundle = malloc(cap);
    bundle[0] = 0;
    int n_small = 0;
    mtls_config *ccfg = client_cfg();
    int found;
    mtls_err serr;
    for (int i = 0; i < 100; i++) {
        char *pem = make_ca(key, i, 3);
        size_t l = strlen(pem);
        CHECK(len + l < cap);
        memcpy(bundle + len, pem, l + 1);
        len += l;
        free(pem);
        if (i == 39) { /* 40 names: about 8 KiB */
            mtls_config *scfg = server_cfg(MTLS_VERIFY_REQUIRE);
            CHECK_ERR(mtls_config_set_client_ca_mem(scfg, bundle, len), MTLS_OK);
            CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)),
                      MTLS_OK);
            CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
            CHECK_EQ(found, 1);
            CHECK_EQ(names.n, 41);
            size_t total = 0;
            for (size_t k = 0; k < names.n; k++)
                total += 2 + names.len[k];
            CHECK(total > 8000 && total <= 16 * 1024);
            n_small = (int)names.n;
            mtls_config_free(scfg);
        }
    }
    CHECK_EQ(n_small, 41);
    /* 100 names: about 20 KiB, over the bound */
    mtls_config *scfg = server_cfg(MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, bundle, len), MTLS_OK);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    names.n = 99;
    CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 0);
    mtls_config_free(scfg);

    /* Two anchors with one subject (a re-keyed CA): one name. */
    EVP_PKEY *key2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char *a = make_ca(key, 7000, 1), *b = make_ca(key2, 7000, 1);
    scfg = server_cfg(MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, a, strlen(a)), MTLS_OK);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, b, strlen(b)), MTLS_OK);
    CHECK_ERR(mtls_config_set_client_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(run(ccfg, scfg, &names, &found, &serr), MTLS_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(names.n, 2);
    mtls_config_free(scfg);
    free(a);
    free(b);
    EVP_PKEY_free(key2);

    mtls_config_free(ccfg);
    EVP_PKEY_free(key);
    free(bundle);
}

int main(void)
{
    test_names();
    test_bound();
    return t_done();
}
