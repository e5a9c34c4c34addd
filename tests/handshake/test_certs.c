/*
 * test_certs.c -- certificate checks at the handshake level: every case of the test PKI
 * (tests/pki/make-pki.sh, made fresh in a mkdtemp directory) through a full in-memory mtls
 * handshake in both directions.
 *
 * What it proves, per case of cases.txt:
 *   (a) server certificate: a server presents the case's chain and key; a client trusting ca.crt
 *       connects with the case's host name.  The client's verdict is exactly the "server
 *       verdict" column.
 *   (b) client certificate: a client presents the case's chain and key to a server in
 *       MTLS_VERIFY_REQUIRE trusting ca.crt -- for every other case through the separate client
 *       CA set (mtls_config_set_client_ca_file) while the general CA set holds an unrelated root.
 *       The server's verdict is exactly the "client verdict" column.
 *   A failure is checked on both ends: the verifier's mtls_conn_error, the alert it sent (the
 *   alert column of src/core/err.def for that error, turned into its RFC 5246 7.2 number by a
 *   table of this file), the peer's PEER_ALERT and the alert it received, no side established,
 *   and a detail sentence that names the certificate (contains the leaf's CN, read with
 *   libcrypto).  The detail is printed, so the test log shows what a user sees.  A success
 *   moves data both ways and exposes the verified identity: subject, every subjectAltName and the
 *   SHA-256 fingerprint of the leaf, each compared with libcrypto's view of the leaf file.
 * The same for every case of nc-cases.txt: leaves of name-constrained CAs, wildcards among them.
 * Then: the key-mismatch pair fails at configuration time (KEY_MISMATCH); a 1024-bit key is
 * refused at configuration time (UNSUPPORTED_KEY), so the rsa1024 chain is put behind the config
 * with an unrelated RSA-2048 key (internal field, test only) -- the peer rejects the chain at the
 * Certificate message, before any signature of that key is checked.
 * And the policies around the checks: optional mode verifies a certificate that is sent and lets a
 * client without one in (peer_cert_presented == 0); the separate client CA set replaces the
 * general one; a verify callback that pins a fingerprint accepts the pinned certificate, rejects
 * another (CERT_REJECTED, certificate_unknown) and may override a failed preverify (both
 * directions); the callback sees the whole received chain; insecure_skip_verify lets bad server
 * chains through and the trace says SKIPPED; mtls_conn_set_verify_name checks another name than
 * the SNI; a verifying client without a name fails unless it opts out with
 * mtls_conn_set_insecure_skip_hostname; a client with no CA uses the system store (our test root
 * is not in it: UNKNOWN_CA); the clock of mtls_config_set_time decides validity.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"
#include "x509/x509.h"

/* ---- the expected alert of an error: err.def's alert column, RFC 5246 7.2 numbers ---------- */

static const char *const err_alert_col[MTLS_ERR__COUNT] = {
/* rows in enum order (err.c asserts it) */
#define E(name, cat, alert, text) #alert,
#include "core/err.def"
#undef E
};

static const struct {
    const char *name;
    int code;
} rfc_alerts[] = {
    {"NONE", -1},
    {"CLOSE_NOTIFY", 0},
    {"UNEXPECTED_MESSAGE", 10},
    {"BAD_RECORD_MAC", 20},
    {"RECORD_OVERFLOW", 22},
    {"HANDSHAKE_FAILURE", 40},
    {"BAD_CERTIFICATE", 42},
    {"UNSUPPORTED_CERTIFICATE", 43},
    {"CERTIFICATE_REVOKED", 44},
    {"CERTIFICATE_EXPIRED", 45},
    {"CERTIFICATE_UNKNOWN", 46},
    {"ILLEGAL_PARAMETER", 47},
    {"UNKNOWN_CA", 48},
    {"ACCESS_DENIED", 49},
    {"DECODE_ERROR", 50},
    {"DECRYPT_ERROR", 51},
    {"PROTOCOL_VERSION", 70},
    {"INSUFFICIENT_SECURITY", 71},
    {"INTERNAL_ERROR", 80},
    {"USER_CANCELED", 90},
    {"NO_RENEGOTIATION", 100},
    {"MISSING_EXTENSION", 109},
    {"UNSUPPORTED_EXTENSION", 110},
    {"UNRECOGNIZED_NAME", 112},
    {"CERTIFICATE_REQUIRED", 116},
    {"NO_APPLICATION_PROTOCOL", 120},
};

/* The alert err.def assigns to `e` as an RFC number; -2 if this file does not know the name. */
static int alert_of(mtls_err e)
{
    const char *col = (unsigned)e < MTLS_ERR__COUNT ? err_alert_col[e] : NULL;
    for (size_t i = 0; col && i < sizeof(rfc_alerts) / sizeof(rfc_alerts[0]); i++)
        if (strcmp(col, rfc_alerts[i].name) == 0)
            return rfc_alerts[i].code;
    fprintf(stderr, "test_certs: no RFC number for alert %s of %s\n", col ? col : "?",
            mtls_err_name(e));
    return -2;
}

static mtls_err err_by_name(const char *name)
{
    for (int e = 0; e < MTLS_ERR__COUNT; e++)
        if (strcmp(mtls_err_name((mtls_err)e), name) == 0)
            return (mtls_err)e;
    fprintf(stderr, "test_certs: unknown error name %s in cases.txt\n", name);
    abort();
}

/* ---- the PKI directory and libcrypto's view of its files ----------------------------------- */

static char pki[64];
static int64_t now;

static const char *pki_path(const char *name, const char *suffix)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s%s", pki, name, suffix);
    return buf[k];
}

typedef struct {
    char cn[128];
    uint8_t fp[32];
    unsigned char *der;
    int der_len;
    char sans[8][160];
    size_t n_sans;
} leaf_info;

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* CN, SHA-256 of the DER and subjectAltNames (in mtls's "DNS:" / "IP:" / "email:" / "URI:"
 * spelling) of the first certificate of `path`, by libcrypto. */
static int leaf_load(const char *path, leaf_info *li)
{
    memset(li, 0, sizeof *li);
    X509 *x = read_cert(path);
    if (!x)
        return 0;
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, li->cn, sizeof li->cn);
    li->der_len = i2d_X509(x, &li->der);
    unsigned fl = 0;
    EVP_Digest(li->der, (size_t)li->der_len, li->fp, &fl, EVP_sha256(), NULL);
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && li->n_sans < 8; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char *out = li->sans[li->n_sans];
        size_t cap = sizeof li->sans[0];
        if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) {
            const ASN1_IA5STRING *s = g->d.ia5;
            const char *pre = g->type == GEN_DNS ? "DNS:" : g->type == GEN_EMAIL ? "email:" : "URI:";
            snprintf(out, cap, "%s%.*s", pre, s->length, (const char *)s->data);
        } else if (g->type == GEN_IPADD) {
            char ip[64];
            int len = g->d.ip->length;
            if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, g->d.ip->data, ip, sizeof ip))
                snprintf(ip, sizeof ip, "?");
            snprintf(out, cap, "IP:%s", ip);
        } else {
            continue;
        }
        li->n_sans++;
    }
    GENERAL_NAMES_free(gens);
    X509_free(x);
    return 1;
}

static void leaf_free(leaf_info *li)
{
    OPENSSL_free(li->der);
    li->der = NULL;
}

/* DER of the i-th certificate of a PEM file (caller frees with OPENSSL_free), or NULL. */
static unsigned char *pem_nth_der(const char *path, int n, int *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    unsigned char *der = NULL;
    for (int i = 0; i <= n; i++) {
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        if (!x)
            break;
        if (i == n)
            *len = i2d_X509(x, &der);
        X509_free(x);
    }
    fclose(f);
    return der;
}

/* ---- configs --------------------------------------------------------------------------------- */

static int64_t clock_fn(void *arg)
{
    return *(const int64_t *)arg;
}

/* The certificate checks a client reported as trace events (and their text, for the output). */
static struct cert_checks {
    int n;
    mtls_err result;
    unsigned flags;
    char line[200];
} checks;
static void event_fn(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)arg;
    (void)conn;
    if (ev->kind != MTLS_TRACE_CHECK)
        return;
    checks.n++;
    checks.result = ev->result;
    checks.flags = ev->flags;
    snprintf(checks.line, sizeof checks.line, "%s: %s", ev->what, ev->detail);
}

/* A config presenting the chain of `cert_case` with the key of `key_case` (NULL: the same). */
static mtls_config *cfg_with_identity(const char *cert_case, const char *key_case)
{
    mtls_config *cfg = mtls_config_new();
    CHECK(cfg != NULL);
    if (strcmp(cert_case, "rsa1024") == 0) {
        /* mtls will not use a 1024-bit key of its own ... */
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, pki_path("rsa1024", ".crt"),
                                                  pki_path("rsa1024", ".key")),
                  MTLS_ERR_UNSUPPORTED_KEY);
        /* ... so a good RSA-2048 identity is loaded and its chain replaced by the rsa1024 one.
         * The peer judges the chain when the Certificate message arrives, before any signature
         * by the (unrelated) key could be checked. */
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, pki_path("good", ".crt"),
                                                  pki_path("good", ".key")), MTLS_OK);
        FILE *f = fopen(pki_path("rsa1024", ".crt"), "rb");
        static uint8_t pem[16384];
        size_t n = f ? fread(pem, 1, sizeof pem, f) : 0;
        if (f)
            fclose(f);
        x509_cert **chain = NULL;
        size_t chain_len = 0;
        CHECK_ERR(x509_chain_from_pem(pem, n, &chain, &chain_len), MTLS_OK);
        if (chain) {
            x509_chain_free(cfg->chain, cfg->chain_len);
            cfg->chain = chain;
            cfg->chain_len = chain_len;
        }
    } else {
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, pki_path(cert_case, ".crt"),
                                                  pki_path(key_case ? key_case : cert_case, ".key")),
                  MTLS_OK);
    }
    CHECK_ERR(mtls_config_set_time(cfg, clock_fn, &now), MTLS_OK);
    return cfg;
}

/* A client presenting `name` and trusting ca.crt. */
static mtls_config *client_with_identity(const char *name)
{
    mtls_config *cfg = cfg_with_identity(name, strcmp(name, "mismatch") == 0 ? "good" : NULL);
    CHECK_ERR(mtls_config_set_ca_file(cfg, pki_path("ca", ".crt")), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg_trusting(const char *ca)
{
    mtls_config *cfg = mtls_config_new();
    CHECK(cfg != NULL);
    if (ca)
        CHECK_ERR(mtls_config_set_ca_file(cfg, pki_path(ca, ".crt")), MTLS_OK);
    CHECK_ERR(mtls_config_set_time(cfg, clock_fn, &now), MTLS_OK);
    return cfg;
}

/* A server requiring (or optionally asking for) a client certificate, presenting good.crt. */
static mtls_config *server_cfg_verifying(mtls_verify_mode mode, const char *ca,
                                         const char *client_ca)
{
    mtls_config *cfg = cfg_with_identity("good", NULL);
    if (ca)
        CHECK_ERR(mtls_config_set_ca_file(cfg, pki_path(ca, ".crt")), MTLS_OK);
    if (client_ca)
        CHECK_ERR(mtls_config_set_client_ca_file(cfg, pki_path(client_ca, ".crt")), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, mode), MTLS_OK);
    return cfg;
}

/* ---- one handshake and its checks ------------------------------------------------------------ */

typedef struct {
    mtls_config *ccfg, *scfg;
    mtls_conn *c, *s;
    mtls_err err;
} run;

static run run_new(mtls_config *ccfg, mtls_config *scfg, const char *host)
{
    run r = {ccfg, scfg, mtls_client_new(ccfg, host), mtls_server_new(scfg), MTLS_OK};
    CHECK(r.c != NULL && r.s != NULL);
    if (r.c && r.s)
        r.err = tp_handshake(r.c, r.s);
    else
        r.err = MTLS_ERR_NO_MEMORY;
    return r;
}

static void run_free(run *r)
{
    mtls_conn_free(r->c);
    mtls_conn_free(r->s);
    mtls_config_free(r->ccfg);
    mtls_config_free(r->scfg);
}

/* `verifier` must have failed with `want`, sent its alert, `peer` received it; the detail names
 * `cn` (when not NULL) and is printed under `label`. */
static void expect_failure(const char *label, mtls_conn *verifier, mtls_conn *peer, mtls_err want,
                           const char *cn)
{
    int alert = alert_of(want), before = t_fail;
    const char *detail = mtls_conn_error_detail(verifier);
    CHECK_ERR(mtls_conn_error(verifier), want);
    CHECK_EQ(mtls_conn_alert_sent(verifier), alert);
    CHECK_ERR(mtls_conn_error(peer), MTLS_ERR_PEER_ALERT);
    CHECK_EQ(mtls_conn_alert_received(peer), alert);
    CHECK(!mtls_conn_established(verifier) && !mtls_conn_established(peer));
    CHECK(detail != NULL && detail[0] != 0);
    if (cn) {
        CHECK(detail != NULL && strstr(detail, cn) != NULL);
        if (!detail || !strstr(detail, cn))
            fprintf(stderr, "  the detail does not name the peer's certificate CN=%s\n", cn);
    }
    printf("  %-40s %-20s alert %-24s %s\n", label, mtls_err_name(mtls_conn_error(verifier)),
           mtls_alert_name(mtls_conn_alert_sent(verifier)), detail ? detail : "(null)");
    printf("  %-40s %-20s peer: %s\n", "", "", mtls_conn_error_detail(peer));
    if (t_fail != before)
        fprintf(stderr, "  ^ %s\n", label);
}

/* Both established, data flows both ways, and `verifier` exposes the identity of `li`. */
static void expect_success(const char *label, run *r, mtls_conn *verifier, const leaf_info *li)
{
    CHECK_ERR(r->err, MTLS_OK);
    if (r->err)
        fprintf(stderr, "  %s: client: %s | server: %s\n", label,
                mtls_conn_error_detail(r->c), mtls_conn_error_detail(r->s));
    CHECK(mtls_conn_established(r->c) && mtls_conn_established(r->s));
    CHECK_EQ(mtls_conn_alert_sent(r->c), -1);
    CHECK_EQ(mtls_conn_alert_sent(r->s), -1);
    static const char ping[] = "ping", pong[] = "pong";
    CHECK(tp_send_check(r->c, r->s, ping, sizeof ping));
    CHECK(tp_send_check(r->s, r->c, pong, sizeof pong));
    if (mtls_conn_is_server(verifier))
        CHECK_EQ(mtls_conn_peer_cert_presented(verifier), 1);
    const char *subj = mtls_conn_peer_subject(verifier);
    char want_subj[160];
    snprintf(want_subj, sizeof want_subj, "CN=%s", li->cn);
    CHECK(subj != NULL && strcmp(subj, want_subj) == 0);
    CHECK_EQ(mtls_conn_peer_san_count(verifier), li->n_sans);
    for (size_t i = 0; i < li->n_sans; i++) {
        const char *san = mtls_conn_peer_san(verifier, i);
        CHECK(san != NULL && strcmp(san, li->sans[i]) == 0);
        if (!san || strcmp(san, li->sans[i]) != 0)
            fprintf(stderr, "  %s: SAN %zu: got %s, want %s\n", label, i, san ? san : "(null)",
                    li->sans[i]);
    }
    uint8_t fp[32];
    CHECK_ERR(mtls_conn_peer_fingerprint(verifier, fp), MTLS_OK);
    CHECK_MEM(fp, li->fp, 32);
    char sans[400] = "";
    for (size_t i = 0; i < mtls_conn_peer_san_count(verifier); i++) {
        size_t k = strlen(sans);
        snprintf(sans + k, sizeof sans - k, "%s%s", i ? ", " : "", mtls_conn_peer_san(verifier, i));
    }
    printf("  %-40s OK                   peer %s [%s] sha256 %02x%02x%02x%02x...\n", label,
           subj ? subj : "(null)", sans, fp[0], fp[1], fp[2], fp[3]);
}

/* ---- the cases of cases.txt ------------------------------------------------------------------ */

static void server_cert_case(const char *name, const char *host, mtls_err want)
{
    const char *key = strcmp(name, "mismatch") == 0 ? "good" : NULL; /* the chain's own key */
    leaf_info li;
    CHECK(leaf_load(pki_path(name, ".leaf.crt"), &li));
    run r = run_new(client_cfg_trusting("ca"), cfg_with_identity(name, key), host);
    char label[200];
    snprintf(label, sizeof label, "server-cert %s (host %s)", name, host);
    int before = t_fail;
    if (want == MTLS_OK)
        expect_success(label, &r, r.c, &li);
    else
        expect_failure(label, r.c, r.s, want, li.cn);
    if (t_fail != before)
        fprintf(stderr, "  ^ case %s\n", label);
    run_free(&r);
    leaf_free(&li);
}

static void client_cert_case(const char *name, mtls_err want, int separate_ca)
{
    leaf_info li;
    CHECK(leaf_load(pki_path(name, ".leaf.crt"), &li));
    /* With the separate client CA set, the general set holds an unrelated root: only the client
     * CA set can make a client certificate verify. */
    mtls_config *scfg = separate_ca ? server_cfg_verifying(MTLS_VERIFY_REQUIRE, "uroot", "ca")
                                    : server_cfg_verifying(MTLS_VERIFY_REQUIRE, "ca", NULL);
    run r = run_new(client_with_identity(name), scfg, "good.test");
    char label[200];
    snprintf(label, sizeof label, "client-cert %s%s", name, separate_ca ? " (client CA set)" : "");
    int before = t_fail;
    if (want == MTLS_OK)
        expect_success(label, &r, r.s, &li);
    else
        expect_failure(label, r.s, r.c, want, li.cn);
    if (t_fail != before)
        fprintf(stderr, "  ^ case %s\n", label);
    run_free(&r);
    leaf_free(&li);
}

/* Every case of <file>.txt in both directions; the number of cases. */
static int run_cases_file(const char *file)
{
    FILE *f = fopen(pki_path(file, ".txt"), "r");
    CHECK(f != NULL);
    if (!f)
        return 0;
    char line[256], name[64], host[64], sv[64], cv[64];
    int n = 0;
    printf("server certificate checked by the client (verdict: client's error, alert, detail):\n");
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %63s %63s %63s", name, host, sv, cv) != 4)
            continue;
        server_cert_case(name, host, err_by_name(sv));
        n++;
    }
    rewind(f);
    int i = 0;
    printf("client certificate checked by a server in require mode:\n");
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %63s %63s %63s", name, host, sv, cv) != 4)
            continue;
        client_cert_case(name, err_by_name(cv), i++ % 2);
    }
    fclose(f);
    return n;
}

/* ---- policies around the checks -------------------------------------------------------------- */

static void key_mismatch(void)
{
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, pki_path("mismatch", ".crt"),
                                              pki_path("mismatch", ".key")),
              MTLS_ERR_KEY_MISMATCH);
    printf("  %-40s %-20s %s\n", "config mismatch.crt + mismatch.key", "KEY_MISMATCH",
           mtls_err_str(MTLS_ERR_KEY_MISMATCH));
    /* the config is still usable and without identity */
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, pki_path("good", ".crt"),
                                              pki_path("good", ".key")), MTLS_OK);
    mtls_config_free(cfg);
}

static void optional_mode(void)
{
    /* a bad certificate is verified even though one was optional */
    run r = run_new(client_with_identity("expired"),
                    server_cfg_verifying(MTLS_VERIFY_OPTIONAL, "ca", NULL), "good.test");
    expect_failure("optional, expired client cert", r.s, r.c, MTLS_ERR_CERT_EXPIRED,
                   "expired.test");
    run_free(&r);
    r = run_new(client_with_identity("client"), server_cfg_verifying(MTLS_VERIFY_OPTIONAL, "ca", NULL), "good.test");
    leaf_info li;
    CHECK(leaf_load(pki_path("client", ".leaf.crt"), &li));
    expect_success("optional, valid client cert", &r, r.s, &li);
    leaf_free(&li);
    run_free(&r);
    /* no certificate: in, anonymously */
    r = run_new(client_cfg_trusting("ca"), server_cfg_verifying(MTLS_VERIFY_OPTIONAL, "ca", NULL),
                "good.test");
    CHECK_ERR(r.err, MTLS_OK);
    CHECK_EQ(mtls_conn_peer_cert_presented(r.s), 0);
    CHECK(mtls_conn_peer_subject(r.s) == NULL);
    CHECK_EQ(mtls_conn_peer_cert_count(r.s), 0);
    uint8_t fp[32];
    CHECK(mtls_conn_peer_fingerprint(r.s, fp) != MTLS_OK);
    printf("  %-40s %s, peer_cert_presented %d\n", "optional, no client cert",
           mtls_err_name(r.err), mtls_conn_peer_cert_presented(r.s));
    run_free(&r);
    /* require without a certificate: handshake_failure in TLS 1.2 (RFC 5246 7.4.6), in TLS 1.3
     * certificate_required (RFC 8446 4.4.2.4) */
    for (int v = 0; v < 2; v++) {
        mtls_config *ccfg = client_cfg_trusting("ca");
        uint16_t version = v ? MTLS_VERSION_TLS13 : MTLS_VERSION_TLS12;
        CHECK_ERR(mtls_config_set_versions(ccfg, version, version), MTLS_OK);
        r = run_new(ccfg, server_cfg_verifying(MTLS_VERIFY_REQUIRE, "ca", NULL), "good.test");
        CHECK_EQ(mtls_conn_version(r.s), version);
        expect_failure(v ? "require, no client cert (TLS 1.3)" : "require, no client cert",
                       r.s, r.c, v ? MTLS_ERR_CERT_REQUIRED : MTLS_ERR_NO_CLIENT_CERT, NULL);
        run_free(&r);
    }
}

static void separate_client_ca(void)
{
    /* The client CA set replaces the general one for client certificates: trusting only the
     * untrusted hierarchy there, a good client certificate is unknown and the "untrusted" one
     * verifies -- although the general set holds ca.crt. */
    mtls_config *scfg = server_cfg_verifying(MTLS_VERIFY_REQUIRE, "ca", "uroot");
    run r = run_new(client_with_identity("client"), scfg, "good.test");
    expect_failure("client CA set = uroot, client cert", r.s, r.c, MTLS_ERR_CERT_UNKNOWN_CA,
                   "client.test");
    run_free(&r);
    scfg = server_cfg_verifying(MTLS_VERIFY_REQUIRE, "ca", "uroot");
    r = run_new(client_with_identity("untrusted"), scfg, "good.test");
    leaf_info li;
    CHECK(leaf_load(pki_path("untrusted", ".leaf.crt"), &li));
    expect_success("client CA set = uroot, untrusted cert", &r, r.s, &li);
    leaf_free(&li);
    run_free(&r);
}

/* Verify callbacks. */
typedef struct {
    uint8_t pin[32];
    int calls;
    mtls_err preverify;
    int override; /* accept a pinned certificate whatever preverify says */
    size_t count;
    int chain_ok; /* every certificate of the chain readable and equal to `expect` */
    char expect_file[600]; /* PEM file whose certificates the chain must equal, or "" */
} cb_state;

static mtls_err pin_cb(void *arg, const mtls_conn *conn, mtls_err preverify)
{
    cb_state *st = arg;
    st->calls++;
    st->preverify = preverify;
    st->count = mtls_conn_peer_cert_count(conn);
    st->chain_ok = st->count > 0;
    for (size_t i = 0; i < st->count; i++) {
        size_t len = 0;
        const uint8_t *der = mtls_conn_peer_cert(conn, i, &len);
        if (!der || len == 0)
            st->chain_ok = 0;
        if (st->expect_file[0]) {
            int want_len = 0;
            unsigned char *want = pem_nth_der(st->expect_file, (int)i, &want_len);
            if (!want || (size_t)want_len != len || memcmp(want, der, len) != 0)
                st->chain_ok = 0;
            OPENSSL_free(want);
        }
    }
    size_t n = 0;
    CHECK(mtls_conn_peer_cert(conn, st->count, &n) == NULL && n == 0);
    size_t len = 0;
    const uint8_t *leaf = mtls_conn_peer_cert(conn, 0, &len);
    uint8_t fp[32];
    unsigned fl = 0;
    if (!leaf || !EVP_Digest(leaf, len, fp, &fl, EVP_sha256(), NULL))
        return MTLS_ERR_CERT_REJECTED;
    int pinned = memcmp(fp, st->pin, 32) == 0;
    if (!pinned)
        return MTLS_ERR_CERT_REJECTED;
    return st->override ? MTLS_OK : preverify;
}

static void pin_of(const char *name, uint8_t out[32])
{
    leaf_info li;
    CHECK(leaf_load(pki_path(name, ".leaf.crt"), &li));
    memcpy(out, li.fp, 32);
    leaf_free(&li);
}

/* Server pinning `pinned`, client presenting `presented`. */
static run pin_run(cb_state *st, const char *pinned, const char *presented, int override)
{
    memset(st, 0, sizeof *st);
    pin_of(pinned, st->pin);
    st->override = override;
    snprintf(st->expect_file, sizeof st->expect_file, "%s", pki_path(presented, ".crt"));
    mtls_config *scfg = server_cfg_verifying(MTLS_VERIFY_REQUIRE, "ca", NULL);
    CHECK_ERR(mtls_config_set_verify_callback(scfg, pin_cb, st), MTLS_OK);
    return run_new(client_with_identity(presented), scfg, "good.test");
}

static void verify_callback(void)
{
    cb_state st;
    leaf_info li;
    /* the pinned certificate: accepted; the callback saw OK and the whole chain (leaf + int) */
    run r = pin_run(&st, "client", "client", 0);
    CHECK(leaf_load(pki_path("client", ".leaf.crt"), &li));
    expect_success("callback pins client, client presented", &r, r.s, &li);
    leaf_free(&li);
    CHECK_EQ(st.calls, 1);
    CHECK_ERR(st.preverify, MTLS_OK);
    CHECK_EQ(st.count, 2);
    CHECK(st.chain_ok);
    run_free(&r);

    /* another valid certificate: rejected by the pin */
    r = pin_run(&st, "client", "client-ecdsa", 0);
    expect_failure("callback pins client, client-ecdsa", r.s, r.c, MTLS_ERR_CERT_REJECTED,
                   "client-ecdsa.test");
    CHECK_EQ(mtls_conn_alert_sent(r.s), 46); /* certificate_unknown */
    CHECK_EQ(st.calls, 1);
    CHECK_ERR(st.preverify, MTLS_OK);
    run_free(&r);

    /* the callback overrides a failed preverify for the pinned self-signed certificate */
    r = pin_run(&st, "selfsigned", "selfsigned", 1);
    CHECK(leaf_load(pki_path("selfsigned", ".leaf.crt"), &li));
    expect_success("callback overrides, selfsigned pinned", &r, r.s, &li);
    leaf_free(&li);
    CHECK_ERR(st.preverify, MTLS_ERR_CERT_SELF_SIGNED);
    CHECK_EQ(st.count, 1);
    run_free(&r);

    /* keeping our verdict: the callback sees the whole failing chain (3 certificates sent) */
    r = pin_run(&st, "untrusted", "untrusted", 0);
    expect_failure("callback keeps preverify, untrusted", r.s, r.c, MTLS_ERR_CERT_UNKNOWN_CA,
                   "untrusted.test");
    CHECK_ERR(st.preverify, MTLS_ERR_CERT_UNKNOWN_CA);
    CHECK_EQ(st.count, 3);
    CHECK(st.chain_ok);
    run_free(&r);

    /* client side: a client pinning a self-signed server certificate */
    memset(&st, 0, sizeof st);
    pin_of("selfsigned", st.pin);
    st.override = 1;
    snprintf(st.expect_file, sizeof st.expect_file, "%s", pki_path("selfsigned", ".crt"));
    mtls_config *ccfg = client_cfg_trusting("ca");
    CHECK_ERR(mtls_config_set_verify_callback(ccfg, pin_cb, &st), MTLS_OK);
    r = run_new(ccfg, cfg_with_identity("selfsigned", NULL), "good.test");
    CHECK(leaf_load(pki_path("selfsigned", ".leaf.crt"), &li));
    expect_success("client callback pins selfsigned server", &r, r.c, &li);
    leaf_free(&li);
    CHECK_ERR(st.preverify, MTLS_ERR_CERT_SELF_SIGNED);
    CHECK(st.chain_ok);
    run_free(&r);
    /* the same pin, another (valid) server */
    memset(&st, 0, sizeof st);
    pin_of("selfsigned", st.pin);
    ccfg = client_cfg_trusting("ca");
    CHECK_ERR(mtls_config_set_verify_callback(ccfg, pin_cb, &st), MTLS_OK);
    r = run_new(ccfg, cfg_with_identity("good", NULL), "good.test");
    expect_failure("client callback pins selfsigned, good", r.c, r.s, MTLS_ERR_CERT_REJECTED,
                   "good.test");
    CHECK_ERR(st.preverify, MTLS_OK);
    run_free(&r);
}

static void insecure_skip(void)
{
    static const char *bad[] = {"expired", "untrusted", "wronghost", "selfsigned", "client"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mtls_config *ccfg = mtls_config_new();
        CHECK_ERR(mtls_config_set_insecure_skip_verify(ccfg, 1), MTLS_OK);
        memset(&checks, 0, sizeof(checks));
        CHECK_ERR(mtls_config_set_trace_events(ccfg, event_fn, NULL), MTLS_OK);
        run r = run_new(ccfg, cfg_with_identity(bad[i], NULL), "good.test");
        char label[200];
        snprintf(label, sizeof label, "insecure_skip_verify, %s server", bad[i]);
        CHECK_ERR(r.err, MTLS_OK);
        /* one check of the chain, reported as skipped */
        CHECK_EQ(checks.n, 1);
        CHECK_ERR(checks.result, MTLS_OK);
        CHECK_EQ(checks.flags, MTLS_TRACE_SKIPPED);
        printf("  %-40s %-20s trace: %s\n", label, mtls_err_name(r.err),
               checks.n ? checks.line : "(no certificate check)");
        run_free(&r);
    }
}

static void verify_name(void)
{
    /* SNI good.test, certificate checked against wrong.test: the wronghost certificate passes */
    mtls_config *ccfg = client_cfg_trusting("ca");
    mtls_config *scfg = cfg_with_identity("wronghost", NULL);
    mtls_conn *c = mtls_client_new(ccfg, "good.test"), *s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_verify_name(c, "wrong.test"), MTLS_OK);
    run r = {ccfg, scfg, c, s, tp_handshake(c, s)};
    leaf_info li;
    CHECK(leaf_load(pki_path("wronghost", ".leaf.crt"), &li));
    expect_success("SNI good.test, verify name wrong.test", &r, r.c, &li);
    CHECK(mtls_conn_server_name(r.s) && strcmp(mtls_conn_server_name(r.s), "good.test") == 0);
    leaf_free(&li);
    run_free(&r);

    /* a wildcard name through the verify name */
    ccfg = client_cfg_trusting("ca");
    scfg = cfg_with_identity("wronghost", NULL);
    c = mtls_client_new(ccfg, "good.test");
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_verify_name(c, "api.wrong.test"), MTLS_OK);
    r = (run){ccfg, scfg, c, s, tp_handshake(c, s)};
    CHECK_ERR(r.err, MTLS_OK);
    run_free(&r);

    /* the good certificate (good.test) against the verify name other.test: the verify name wins
     * over the SNI */
    ccfg = client_cfg_trusting("ca");
    scfg = cfg_with_identity("good", NULL);
    c = mtls_client_new(ccfg, "good.test");
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_verify_name(c, "other.test"), MTLS_OK);
    r = (run){ccfg, scfg, c, s, tp_handshake(c, s)};
    expect_failure("SNI good.test, verify name other.test", r.c, r.s, MTLS_ERR_CERT_HOSTNAME,
                   "good.test");
    CHECK(strstr(mtls_conn_error_detail(r.c), "other.test") != NULL);
    run_free(&r);

    /* an IP literal as the verify name matches the iPAddress SAN only */
    ccfg = client_cfg_trusting("ca");
    scfg = cfg_with_identity("ipsan", NULL);
    c = mtls_client_new(ccfg, "good.test");
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_verify_name(c, "::1"), MTLS_OK);
    r = (run){ccfg, scfg, c, s, tp_handshake(c, s)};
    CHECK_ERR(r.err, MTLS_OK);
    run_free(&r);
}

/* A verifying client without a name to check (issue 12, item 10): mtls_client_new(cfg, NULL)
 * used to turn host-name checking off silently.  Now the first mtls_handshake fails with
 * NO_SERVER_NAME before anything is sent, with a detail naming the fix; the explicit opt-out
 * mtls_conn_set_insecure_skip_hostname connects (the chain is still verified); a wrong name still
 * fails; an insecure_skip_verify client needs no name. */
static void no_name(void)
{
    static const char *const names[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        mtls_config *ccfg = client_cfg_trusting("ca");
        mtls_config *scfg = cfg_with_identity("wronghost", NULL); /* a certificate for wrong.test */
        mtls_conn *c = mtls_client_new(ccfg, names[i]), *s = mtls_server_new(scfg);
        CHECK(c != NULL);
        CHECK_ERR(mtls_handshake(c), MTLS_ERR_NO_SERVER_NAME);
        size_t pending = 0;
        CHECK(mtls_send_buf(c, &pending) == NULL && pending == 0); /* not even a ClientHello */
        CHECK_EQ(mtls_conn_alert_sent(c), -1);
        CHECK_ERR(tp_handshake(c, s), MTLS_ERR_NO_SERVER_NAME);
        CHECK(!mtls_conn_established(c));
        CHECK(strstr(mtls_conn_error_detail(c), "mtls_conn_set_insecure_skip_hostname") != NULL);
        printf("  %-40s %-20s %s\n", names[i] ? "name \"\"" : "name NULL",
               mtls_err_name(mtls_conn_error(c)), mtls_conn_error_detail(c));
        run r = {ccfg, scfg, c, s, MTLS_OK};
        run_free(&r);
    }

    /* the explicit opt-out: connects, the trace says the name was not checked */
    mtls_config *ccfg = client_cfg_trusting("ca");
    memset(&checks, 0, sizeof(checks));
    CHECK_ERR(mtls_config_set_trace_events(ccfg, event_fn, NULL), MTLS_OK);
    mtls_config *scfg = cfg_with_identity("wronghost", NULL);
    mtls_conn *c = mtls_client_new(ccfg, NULL), *s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_insecure_skip_hostname(c), MTLS_OK);
    CHECK_ERR(mtls_conn_set_insecure_skip_hostname(s), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_conn_set_insecure_skip_hostname(NULL), MTLS_ERR_INVALID_ARG);
    run r = {ccfg, scfg, c, s, tp_handshake(c, s)};
    CHECK_ERR(r.err, MTLS_OK);
    /* the chain passed, the host name was not checked */
    CHECK(checks.n == 1 && checks.result == MTLS_OK && checks.flags == MTLS_TRACE_NO_HOSTNAME);
    CHECK_ERR(mtls_conn_set_insecure_skip_hostname(c), MTLS_ERR_BAD_STATE);
    run_free(&r);

    /* ... but only the name: an untrusted chain still fails */
    ccfg = client_cfg_trusting("ca");
    scfg = cfg_with_identity("untrusted", NULL);
    c = mtls_client_new(ccfg, NULL);
    s = mtls_server_new(scfg);
    CHECK_ERR(mtls_conn_set_insecure_skip_hostname(c), MTLS_OK);
    r = (run){ccfg, scfg, c, s, tp_handshake(c, s)};
    expect_failure("no name, opt-out, untrusted chain", r.c, r.s, MTLS_ERR_CERT_UNKNOWN_CA, NULL);
    run_free(&r);

    /* a name that does not match still fails */
    ccfg = client_cfg_trusting("ca");
    scfg = cfg_with_identity("good", NULL);
    r = run_new(ccfg, scfg, "other.test");
    expect_failure("name other.test, good.test certificate", r.c, r.s, MTLS_ERR_CERT_HOSTNAME,
                   "good.test");
    run_free(&r);

    /* insecure_skip_verify verifies nothing, so it needs no name */
    ccfg = client_cfg_trusting("ca");
    CHECK_ERR(mtls_config_set_insecure_skip_verify(ccfg, 1), MTLS_OK);
    r = run_new(ccfg, cfg_with_identity("good", NULL), NULL);
    CHECK_ERR(r.err, MTLS_OK);
    run_free(&r);
}

/* Peers that send a certificate twice (openssl s_server -cert X -cert_chain X does this): a
 * copy of a certificate is not its own issuer, and the verdict is the one for the chain without
 * the copy. */
static void concat(const char *out, const char *a, const char *b, const char *c)
{
    FILE *o = fopen(out, "w");
    const char *in[] = {a, b, c};
    for (int i = 0; o && i < 3; i++) {
        if (!in[i])
            continue;
        FILE *f = fopen(in[i], "r");
        char buf[4096];
        size_t n;
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, o);
        if (f)
            fclose(f);
    }
    if (o)
        fclose(o);
}

static void duplicates(void)
{
    char ss[600], ss2[600], good[600], good2[600];
    snprintf(ss, sizeof ss, "%s", pki_path("selfsigned", ".crt"));
    snprintf(ss2, sizeof ss2, "%s", pki_path("selfsigned-twice", ".crt"));
    snprintf(good, sizeof good, "%s", pki_path("good", ".crt"));
    snprintf(good2, sizeof good2, "%s", pki_path("good-leaf-twice", ".crt"));
    concat(ss2, ss, ss, NULL);
    concat(good2, good, pki_path("good", ".leaf.crt"), NULL);
    run r = run_new(client_cfg_trusting("ca"), cfg_with_identity("selfsigned-twice", "selfsigned"),
                    "good.test");
    expect_failure("server-cert selfsigned sent twice", r.c, r.s, MTLS_ERR_CERT_SELF_SIGNED,
                   "good.test");
    run_free(&r);
    mtls_config *ccfg = cfg_with_identity("selfsigned-twice", "selfsigned");
    CHECK_ERR(mtls_config_set_ca_file(ccfg, pki_path("ca", ".crt")), MTLS_OK);
    r = run_new(ccfg, server_cfg_verifying(MTLS_VERIFY_REQUIRE, "ca", NULL), "good.test");
    expect_failure("client-cert selfsigned sent twice", r.s, r.c, MTLS_ERR_CERT_SELF_SIGNED,
                   "good.test");
    run_free(&r);
    leaf_info li;
    CHECK(leaf_load(pki_path("good", ".leaf.crt"), &li));
    r = run_new(client_cfg_trusting("ca"), cfg_with_identity("good-leaf-twice", "good"),
                "good.test");
    expect_success("server-cert good + leaf again", &r, r.c, &li);
    leaf_free(&li);
    run_free(&r);
}

static void client_side_presented(void)
{
    /* mtls.h: "Nonzero when the peer presented a certificate (for a server: a client
     * certificate)" -- on a client, the server's certificate. */
    run r = run_new(client_cfg_trusting("ca"), cfg_with_identity("good", NULL), "good.test");
    CHECK_ERR(r.err, MTLS_OK);
    CHECK_EQ(mtls_conn_peer_cert_count(r.c), 2);
    CHECK_EQ(mtls_conn_peer_cert_presented(r.c), 1);
    printf("  %-40s %-20s peer_cert_presented on the client: %d\n", "good server",
           mtls_err_name(r.err), mtls_conn_peer_cert_presented(r.c));
    run_free(&r);
}

static void system_store(void)
{
    /* No CA given: the client uses the system store, which does not hold our test root.  The
     * default clock (time(NULL)) is used too. */
    mtls_config *ccfg = mtls_config_new();
    mtls_config *scfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_file(scfg, pki_path("good", ".crt"),
                                              pki_path("good", ".key")), MTLS_OK);
    run r = run_new(ccfg, scfg, "good.test");
    expect_failure("no CA set (system store), good server", r.c, r.s, MTLS_ERR_CERT_UNKNOWN_CA,
                   "good.test");
    run_free(&r);
}

static void clock_decides(void)
{
    /* The leaves are valid for 825 days from today, the intermediate likewise and the root 3650. */
    int64_t saved = now;
    now = saved + 900LL * 86400;
    run r = run_new(client_cfg_trusting("ca"), cfg_with_identity("good", NULL), "good.test");
    expect_failure("clock +900 days, good server", r.c, r.s, MTLS_ERR_CERT_EXPIRED, NULL);
    run_free(&r);
    now = saved - 2LL * 86400;
    r = run_new(client_cfg_trusting("ca"), cfg_with_identity("good", NULL), "good.test");
    expect_failure("clock -2 days, good server", r.c, r.s, MTLS_ERR_CERT_NOT_YET_VALID, NULL);
    run_free(&r);
    /* the expired leaf, seen on a day inside its validity -- but the intermediate and root did
     * not exist yet: not yet valid */
    now = 1593561600; /* 2020-07-01 */
    r = run_new(client_cfg_trusting("ca"), cfg_with_identity("expired", NULL), "good.test");
    expect_failure("clock 2020-07-01, expired server", r.c, r.s, MTLS_ERR_CERT_NOT_YET_VALID,
                   NULL);
    run_free(&r);
    now = saved;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[700];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *src = getenv("MTLS_SRC_DIR");
    char here[600], cmd[1400];
    if (!src) {
        /* run by hand: <src>/<build>/tests/test_certs, else the tree this file was compiled in */
        const char *slash = strrchr(argv[0], '/');
        snprintf(here, sizeof here, "%.*s/../..", slash ? (int)(slash - argv[0]) : 1,
                 slash ? argv[0] : ".");
        snprintf(cmd, sizeof cmd, "%s/tests/pki/make-pki.sh", here);
        if (access(cmd, R_OK) != 0) {
            snprintf(here, sizeof here, "%s", __FILE__);
            char *cut = strstr(here, "/tests/handshake/");
            if (cut)
                *cut = 0;
            else
                snprintf(here, sizeof here, ".");
        }
        src = here;
    }
    snprintf(pki, sizeof pki, "/tmp/mtls-certs-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "sh '%s/tests/pki/make-pki.sh' '%s' >/dev/null", src, pki);
    int rc = system(cmd);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "test_certs: %s failed\n", cmd);
        rm_rf(pki);
        return t_done();
    }
    now = (int64_t)time(NULL);

    int n = run_cases_file("cases");
    CHECK(n >= 22);
    /* Name constraints and wildcards: a wildcard is refused when a name it can match is
     * excluded (CVE-2025-61727 in Go), and only then (golang/go#76935). */
    printf("name-constrained CAs (nc-cases.txt):\n");
    int nc = run_cases_file("nc-cases");
    CHECK(nc >= 15);
    printf("configuration:\n");
    key_mismatch();
    printf("client-certificate modes and CA sets:\n");
    optional_mode();
    separate_client_ca();
    printf("verify callback:\n");
    verify_callback();
    printf("insecure mode, verify name, system store, clock:\n");
    insecure_skip();
    verify_name();
    no_name();
    duplicates();
    client_side_presented();
    system_store();
    clock_decides();

    printf("%d PKI cases and %d name-constraint cases x 2 directions\n", n, nc);
    rm_rf(pki);
    return t_done();
}
