/*
 * test_revocation.c -- revocation in the handshake, in memory, on the revocation PKI of
 * tests/pki/make-revocation.sh (`openssl ca` CRLs, `openssl ocsp` responses, made fresh in a
 * mkdtemp directory removed at the end):
 *
 *   1. CRLs (mtls_config_set_crl_file / _dir / _mem, mtls_config_set_revocation_check): a revoked
 *      client certificate refused by a server (certificate_revoked to the client, the error
 *      detail naming the certificate, its serial, reason and the CRL), a revoked server refused
 *      by a client, chain mode with a revoked intermediate, hard and soft fail without the
 *      issuer's CRL, revocation off; a CRL out of date (or not valid yet) when loaded: said in
 *      the setter's detail, and the peer refused with certificate_unknown.
 *   2. Resumption (resume.c recheck_revocation): a client revoked since its session was made is
 *      refused resumption by a server sharing the sessions -- full handshake, certificate_revoked
 *      -- by ticket and by session id; a newer CRL that does not list the peer keeps sessions
 *      resuming (the context digest does not include the CRLs), another mode does not resume; a
 *      client does not offer a session whose server is revoked now (made in this process, and
 *      decoded from bytes).
 *   3. OCSP stapling (RFC 6066 8): good, revoked, unknown, expired (at the client; at the server:
 *      not stapled), about another certificate, malformed, none with ocsp_required, must-staple
 *      (RFC 7633) without a staple, an acknowledgement nobody asked for, a staple left out after
 *      the acknowledgement, and the staple file changed on disk picked up.
 *
 * All of it twice: in TLS 1.2, then in TLS 1.3 (RFC 8446 4.4.2.1: the staple in the leaf's
 * Certificate entry; resumption by ticket only).  The TLS 1.2 flight rewrites (the
 * acknowledgement, CertificateStatus replaced or left out) are TLS 1.2's; test_tls13_neg forges
 * the TLS 1.3 entries.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "record/tls.h"
#include "t.h"

static char pki[256];
static uint16_t version; /* every config here speaks this version alone */

static char *path_of(const char *name)
{
    static char path[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(path[k], sizeof path[k], "%s/%s", pki, name);
    return path[k];
}

static uint8_t *read_all(const char *name, size_t *len)
{
    FILE *f = fopen(path_of(name), "rb");
    *len = 0;
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

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    /* a complete file moved into place, as an operator's `mv` does */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path_of(name));
    FILE *f = fopen(tmp, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ(fwrite(p, 1, n, f), n);
    fclose(f);
    CHECK_EQ(rename(tmp, path_of(name)), 0);
}

/* ---- clocks and traces ---------------------------------------------------------------------- */

static int64_t clock_fn(void *arg)
{
    return (int64_t)time(NULL) + *(const int64_t *)arg;
}
static int64_t server_skew, client_skew;

/* What each side traced: the words (printed, for a person reading the test's output) and the
 * events (what the checks read). */
typedef struct {
    char text[16384];
    size_t len;
    struct {
        mtls_trace_kind kind;
        int msg;
        mtls_trace_decision decision;
        mtls_err result;
    } ev[256];
    size_t n;
} tracebuf;
static tracebuf strace, ctrace;

static void on_event(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    tracebuf *t = arg;
    if (t->n == sizeof(t->ev) / sizeof(t->ev[0]))
        return;
    t->ev[t->n].kind = ev->kind;
    t->ev[t->n].msg = ev->msg;
    t->ev[t->n].decision = ev->decision;
    t->ev[t->n].result = ev->result;
    t->n++;
}

/* Did `t` see a message of `type` (sent or received, by `kind`)? */
static int saw_msg(const tracebuf *t, mtls_trace_kind kind, int type)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == kind && t->ev[i].msg == type)
            return 1;
    return 0;
}

static int saw_decision(const tracebuf *t, mtls_trace_decision d)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == MTLS_TRACE_DECISION && t->ev[i].decision == d)
            return 1;
    return 0;
}

/* A certificate check with this result. */
static int saw_check(const tracebuf *t, mtls_err result)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == MTLS_TRACE_CHECK && t->ev[i].result == result)
            return 1;
    return 0;
}

/* The first line of the words about `what`, for the output. */
static void print_line(const tracebuf *t, const char *what)
{
    const char *line = strstr(t->text, what);
    printf("%.*s\n", line ? (int)strcspn(line, "\n") : 1, line ? line : "?");
}

static void on_trace(void *arg, const mtls_conn *conn, char dir, const char *what,
                     const char *detail)
{
    (void)conn;
    tracebuf *t = arg;
    int n = snprintf(t->text + t->len, sizeof(t->text) - t->len, "%c %s: %s\n", dir, what, detail);
    if (n > 0 && t->len + (size_t)n < sizeof(t->text))
        t->len += (size_t)n;
}

static void trace_reset(void)
{
    strace.len = ctrace.len = strace.n = ctrace.n = 0;
    strace.text[0] = ctrace.text[0] = 0;
}

/* ---- configs --------------------------------------------------------------------------------- */

/* A server presenting <chain>.crt / <chain>.key, trusting root.crt for client certificates (when
 * `verify` is not NONE). */
static mtls_config *server_cfg(const char *chain, mtls_verify_mode verify)
{
    char crt[64], key[64];
    snprintf(crt, sizeof crt, "%s.crt", chain);
    snprintf(key, sizeof key, "%s.key", chain);
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of(crt), path_of(key)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_file(cfg, path_of("root.crt")), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, verify), MTLS_OK);
    CHECK_ERR(mtls_config_set_versions(cfg, version, version), MTLS_OK);
    CHECK_ERR(mtls_config_set_time(cfg, clock_fn, &server_skew), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace(cfg, on_trace, &strace), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(cfg, on_event, &strace), MTLS_OK);
    return cfg;
}

/* A client trusting root.crt, presenting <chain> when not NULL. */
static mtls_config *client_cfg(const char *chain)
{
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_file(cfg, path_of("root.crt")), MTLS_OK);
    if (chain) {
        char crt[64], key[64];
        snprintf(crt, sizeof crt, "%s.crt", chain);
        snprintf(key, sizeof key, "%s.key", chain);
        CHECK_ERR(mtls_config_set_cert_chain_file(cfg, path_of(crt), path_of(key)), MTLS_OK);
    }
    CHECK_ERR(mtls_config_set_versions(cfg, version, version), MTLS_OK);
    CHECK_ERR(mtls_config_set_time(cfg, clock_fn, &client_skew), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace(cfg, on_trace, &ctrace), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(cfg, on_event, &ctrace), MTLS_OK);
    return cfg;
}

typedef struct {
    mtls_conn *c, *s;
    mtls_err err;
} pair;

static pair shake(mtls_config *ccfg, mtls_config *scfg, mtls_session *offer)
{
    pair p;
    trace_reset();
    p.c = mtls_client_new(ccfg, "good.test");
    p.s = mtls_server_new(scfg);
    CHECK(p.c && p.s);
    if (offer)
        CHECK_ERR(mtls_conn_set_session(p.c, offer), MTLS_OK);
    p.err = tp_handshake(p.c, p.s);
    if (p.err == MTLS_OK)
        CHECK_EQ(mtls_conn_version(p.c), version);
    return p;
}

static void unpair(pair *p)
{
    mtls_conn_free(p->c);
    mtls_conn_free(p->s);
}

static void serial_of(const char *leaf_file, char *out, size_t cap)
{
    size_t len;
    uint8_t *pem = read_all(leaf_file, &len);
    x509_cert **chain = NULL;
    size_t n = 0;
    CHECK(pem && x509_chain_from_pem(pem, len, &chain, &n) == MTLS_OK);
    size_t sl, k = (size_t)snprintf(out, cap, "serial 0x");
    const uint8_t *s = x509_cert_serial(chain[0], &sl);
    for (size_t i = 0; i < sl && k + 3 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%02X", s[i]);
    x509_chain_free(chain, n);
    free(pem);
}

/* ---- 1. CRLs --------------------------------------------------------------------------------- */

static void test_crl_client(void)
{
    char serial[64];
    serial_of("revoked.leaf.crt", serial, sizeof serial);
    mtls_config *scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int.crl")), MTLS_OK);
    mtls_config *revoked = client_cfg("revoked"), *good = client_cfg("good");

    pair p = shake(revoked, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CERT_REVOKED);
    CHECK_EQ(mtls_conn_alert_sent(p.s), TLS_ALERT_CERTIFICATE_REVOKED);
    CHECK_ERR(mtls_conn_error(p.c), MTLS_ERR_PEER_ALERT);
    CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_CERTIFICATE_REVOKED);
    const char *d = mtls_conn_error_detail(p.s);
    CHECK(strstr(d, "CN=revoked.test") != NULL);
    CHECK(strstr(d, serial) != NULL);
    CHECK(strstr(d, "was revoked at") != NULL);
    CHECK(strstr(d, "keyCompromise") != NULL);
    CHECK(strstr(d, "invalid since 2024-01-01 00:00:00 UTC") != NULL);
    CHECK(strstr(d, "according to the CRL of CN=mtls Revocation CA") != NULL);
    CHECK(strstr(d, "cRLNumber") != NULL);
    printf("1. a revoked client certificate: server %s, alert %s to the client; detail: %s\n",
           mtls_err_name(mtls_conn_error(p.s)),
           mtls_alert_name(mtls_conn_alert_received(p.c)), d);
    unpair(&p);

    p = shake(good, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);

    /* the same from a hashed directory and from memory (DER) */
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_dir(scfg, path_of("crldir")), MTLS_OK);
    p = shake(revoked, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CERT_REVOKED);
    unpair(&p);
    mtls_config_free(scfg);
    size_t len;
    uint8_t *der = read_all("int.der", &len);
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_mem(scfg, der, len), MTLS_OK);
    p = shake(revoked, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CERT_REVOKED);
    unpair(&p);
    p = shake(good, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    /* off: the CRL is set but not used */
    mtls_config_free(scfg);
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_mem(scfg, der, len), MTLS_OK);
    CHECK_ERR(mtls_config_set_revocation_check(scfg, MTLS_REVOCATION_OFF), MTLS_OK);
    p = shake(revoked, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    free(der);

    /* setters: malformed, unsupported, missing, bad mode; a failed call adds nothing */
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_crl_file(cfg, path_of("int-delta.crl")), MTLS_ERR_CRL_UNSUPPORTED);
    CHECK(strstr(mtls_config_error_detail(cfg), "int-delta.crl") != NULL);
    CHECK_ERR(mtls_config_set_crl_file(cfg, path_of("root.crt")), MTLS_ERR_BAD_PEM);
    CHECK_ERR(mtls_config_set_crl_file(cfg, path_of("nonexistent.crl")), MTLS_ERR_FILE);
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01};
    CHECK_ERR(mtls_config_set_crl_mem(cfg, junk, sizeof junk), MTLS_ERR_CRL_PARSE);
    CHECK_ERR(mtls_config_set_revocation_check(cfg, 7), MTLS_ERR_INVALID_ARG);
    CHECK_ERR(mtls_config_set_revocation_check(cfg, MTLS_REVOCATION_CHAIN | 0x200),
              MTLS_ERR_INVALID_ARG);
    char line[600];
    CHECK_ERR(mtls_config_set_crl_file(cfg, path_of("all.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_describe_crls(cfg, line, sizeof line), MTLS_OK);
    CHECK(strncmp(line, "3 CRLs, checking the leaf, hard fail: CN=mtls Revocation CA #02 (2 "
                  "revoked, next update ", 84) == 0);
    printf("   describe: %s\n", line);
    mtls_config_free(cfg);
    mtls_config_free(revoked);
    mtls_config_free(good);
    mtls_config_free(scfg);
}

/* A CRL that is not in force when it is loaded: the call succeeds (a newer one may follow) with a
 * detail naming the file, the issuer and the date; the handshake refuses the peer it covers with
 * MTLS_ERR_CRL_EXPIRED and certificate_unknown (the fault is our CRL: docs/x509.md).  No detail
 * for a current CRL, nor for a stale one that a current CRL of its issuer overrides. */
static void test_crl_stale(void)
{
    mtls_config *scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int-expired.crl")), MTLS_OK);
    const char *d = mtls_config_error_detail(scfg);
    CHECK(strstr(d, "int-expired.crl: the CRL of CN=mtls Revocation CA (cRLNumber 0x") != NULL);
    CHECK(strstr(d, "is out of date: its nextUpdate was 2020-02-01 00:00:00 UTC; until a current "
                    "CRL of that issuer is loaded, the certificates it covers are refused "
                    "(certificate_unknown)") != NULL);
    printf("1. a stale CRL loaded: %s\n", d);
    mtls_config *good = client_cfg("good");
    pair p = shake(good, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CRL_EXPIRED);
    CHECK_EQ(mtls_conn_alert_sent(p.s), TLS_ALERT_CERTIFICATE_UNKNOWN);
    CHECK(strstr(mtls_conn_error_detail(p.s), "is out of date: its nextUpdate 2020-02-01") != NULL);
    printf("   then: server %s, alert %s\n", mtls_err_name(mtls_conn_error(p.s)),
           mtls_alert_name(mtls_conn_alert_sent(p.s)));
    unpair(&p);
    mtls_config_free(scfg);
    /* a current CRL of the same issuer decides, and a stale one loaded after it is no news */
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int-expired.crl")), MTLS_OK);
    CHECK(strstr(mtls_config_error_detail(scfg), "is out of date") != NULL);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int.crl")), MTLS_OK);
    CHECK(strcmp(mtls_config_error_detail(scfg), "") == 0);
    mtls_config_free(scfg);
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int.crl")), MTLS_OK);
    CHECK(strcmp(mtls_config_error_detail(scfg), "") == 0);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int-expired.crl")), MTLS_OK);
    CHECK(strcmp(mtls_config_error_detail(scfg), "") == 0);
    p = shake(good, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);
    /* not valid yet */
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int-future.crl")), MTLS_OK);
    d = mtls_config_error_detail(scfg);
    CHECK(strstr(d, "int-future.crl: the CRL of CN=mtls Revocation CA") != NULL);
    CHECK(strstr(d, "is not valid yet: its thisUpdate is 2099-01-01 00:00:00 UTC") != NULL);
    mtls_config_free(scfg);
    mtls_config_free(good);
}

static void test_crl_server(void)
{
    mtls_config *ccfg = client_cfg(NULL);
    CHECK_ERR(mtls_config_set_crl_file(ccfg, path_of("int.crl")), MTLS_OK);
    mtls_config *revoked = server_cfg("revoked", MTLS_VERIFY_NONE),
                *good = server_cfg("good", MTLS_VERIFY_NONE);
    pair p = shake(ccfg, revoked, NULL);
    CHECK_ERR(mtls_conn_error(p.c), MTLS_ERR_CERT_REVOKED);
    CHECK_EQ(mtls_conn_alert_received(p.s), TLS_ALERT_CERTIFICATE_REVOKED);
    CHECK(strstr(mtls_conn_error_detail(p.c), "CN=revoked.test") != NULL);
    printf("1. a revoked server: client %s, alert %s to the server\n",
           mtls_err_name(mtls_conn_error(p.c)), mtls_alert_name(mtls_conn_alert_received(p.s)));
    unpair(&p);
    p = shake(ccfg, good, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(ccfg);
    mtls_config_free(revoked);
    mtls_config_free(good);
}

static void test_crl_modes(void)
{
    mtls_config *chainrev = client_cfg("chainrev"), *good = client_cfg("good");
    /* leaf mode: chainrev's own CRL (int2's, empty) says nothing against it */
    mtls_config *scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int2.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("root.crl")), MTLS_OK);
    pair p = shake(chainrev, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);
    /* chain mode: its intermediate is revoked by the root */
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("int2.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("root.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_set_revocation_check(scfg, MTLS_REVOCATION_CHAIN), MTLS_OK);
    p = shake(chainrev, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CERT_REVOKED);
    CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_CERTIFICATE_REVOKED);
    const char *d = mtls_conn_error_detail(p.s);
    CHECK(strstr(d, "certificate CN=mtls Revoked Intermediate") != NULL);
    CHECK(strstr(d, "cACompromise") != NULL);
    CHECK(strstr(d, "according to the CRL of CN=mtls Revocation Root") != NULL);
    printf("1. chain mode, a revoked intermediate: %s: %s\n", mtls_err_name(mtls_conn_error(p.s)),
           d);
    unpair(&p);
    mtls_config_free(scfg);

    /* hard and soft fail: no CRL of int (the good leaf's issuer) is loaded */
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("root.crl")), MTLS_OK);
    p = shake(good, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CRL_MISSING);
    CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_CERTIFICATE_UNKNOWN);
    printf("1. hard fail without the issuer's CRL: %s (alert %s): %s\n",
           mtls_err_name(mtls_conn_error(p.s)), mtls_alert_name(mtls_conn_alert_received(p.c)),
           mtls_conn_error_detail(p.s));
    unpair(&p);
    mtls_config_free(scfg);
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_crl_file(scfg, path_of("root.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_set_revocation_check(scfg, MTLS_REVOCATION_LEAF |
                                                         MTLS_REVOCATION_SOFT_FAIL),
              MTLS_OK);
    p = shake(good, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);
    /* a mode without any CRL: hard refuses every peer, soft passes them */
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_revocation_check(scfg, MTLS_REVOCATION_LEAF), MTLS_OK);
    p = shake(good, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CRL_MISSING);
    unpair(&p);
    mtls_config_free(scfg);
    scfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_revocation_check(scfg, MTLS_REVOCATION_CHAIN |
                                                         MTLS_REVOCATION_SOFT_FAIL),
              MTLS_OK);
    p = shake(good, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);
    printf("1. soft fail passes a certificate whose issuer has no CRL loaded\n");
    mtls_config_free(chainrev);
    mtls_config_free(good);
}

/* ---- 2. resumption -------------------------------------------------------------------------- */

static mtls_config *resuming_server(const char *crl, unsigned mode, int tickets,
                                    const mtls_config *share)
{
    mtls_config *cfg = server_cfg("good", MTLS_VERIFY_REQUIRE);
    CHECK_ERR(mtls_config_set_tickets(cfg, tickets), MTLS_OK);
    if (share)
        CHECK_ERR(mtls_config_share_sessions(cfg, share), MTLS_OK);
    CHECK_ERR(mtls_config_set_crl_file(cfg, path_of(crl)), MTLS_OK);
    if (mode == MTLS_REVOCATION_CHAIN) {
        CHECK_ERR(mtls_config_set_crl_file(cfg, path_of("root.crl")), MTLS_OK);
        CHECK_ERR(mtls_config_set_revocation_check(cfg, mode), MTLS_OK);
    }
    return cfg;
}

static void test_resume_server(void)
{
    /* TLS 1.3 resumes by ticket only (RFC 8446 2.2) */
    for (int tickets = 1; tickets >= (version == MTLS_VERSION_TLS13); tickets--) {
        const char *by = tickets ? "ticket" : "session id";
        /* int-old.crl is an hour older than the revocations: "revoked" is not on it yet */
        mtls_config *before = resuming_server("int-old.crl", MTLS_REVOCATION_LEAF, tickets, NULL);
        mtls_config *now = resuming_server("int.crl", MTLS_REVOCATION_LEAF, tickets, before);
        mtls_config *chain = resuming_server("int.crl", MTLS_REVOCATION_CHAIN, tickets, before);
        mtls_config *revoked = client_cfg("revoked"), *good = client_cfg("good");
        if (!tickets) {
            CHECK_ERR(mtls_config_set_tickets(revoked, 0), MTLS_OK);
            CHECK_ERR(mtls_config_set_tickets(good, 0), MTLS_OK);
        }

        /* the revoked client, accepted while its CRL did not list it */
        pair p = shake(revoked, before, NULL);
        CHECK_ERR(p.err, MTLS_OK);
        mtls_session *sess = mtls_conn_get_session(p.c);
        unpair(&p);
        p = shake(revoked, before, sess);
        CHECK_ERR(p.err, MTLS_OK);
        CHECK(mtls_conn_resumed(p.s));
        unpair(&p);
        /* the CRL now lists it: no resumption; the full handshake refuses the certificate */
        p = shake(revoked, now, sess);
        CHECK_ERR(mtls_conn_error(p.s), MTLS_ERR_CERT_REVOKED);
        CHECK_EQ(mtls_conn_alert_received(p.c), TLS_ALERT_CERTIFICATE_REVOKED);
        CHECK(!mtls_conn_resumed(p.s));
        /* the session refused, then the full handshake's check of the certificate */
        CHECK(saw_decision(&strace, MTLS_DECISION_RESUME_DECLINED));
        CHECK(!saw_decision(&strace, MTLS_DECISION_RESUMED));
        CHECK(saw_check(&strace, MTLS_ERR_CERT_REVOKED));
        printf("2. a client revoked since its session (by %s): %s; trace: ", by,
               mtls_err_name(mtls_conn_error(p.s)));
        print_line(&strace, "Resumption");
        unpair(&p);
        mtls_session_free(sess);

        /* a newer CRL that does not list the client: the session still resumes */
        p = shake(good, before, NULL);
        CHECK_ERR(p.err, MTLS_OK);
        sess = mtls_conn_get_session(p.c);
        unpair(&p);
        p = shake(good, now, sess);
        CHECK_ERR(p.err, MTLS_OK);
        CHECK(mtls_conn_resumed(p.s));
        unpair(&p);
        /* another mode is another verification context: a full handshake */
        p = shake(good, chain, sess);
        CHECK_ERR(p.err, MTLS_OK);
        CHECK(!mtls_conn_resumed(p.s));
        unpair(&p);
        mtls_session_free(sess);
        /* a session made in chain mode keeps the whole path: it resumes in chain mode */
        p = shake(good, chain, NULL);
        sess = mtls_conn_get_session(p.c);
        unpair(&p);
        p = shake(good, chain, sess);
        CHECK_ERR(p.err, MTLS_OK);
        CHECK(mtls_conn_resumed(p.s));
        unpair(&p);
        mtls_session_free(sess);

        mtls_config_free(before);
        mtls_config_free(now);
        mtls_config_free(chain);
        mtls_config_free(revoked);
        mtls_config_free(good);
    }
    printf("2. a newer CRL keeps sessions resuming; another revocation mode does not resume\n");
}

static void test_resume_client(void)
{
    mtls_config *before = client_cfg(NULL), *now = client_cfg(NULL);
    CHECK_ERR(mtls_config_set_crl_file(before, path_of("int-old.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_set_crl_file(now, path_of("int.crl")), MTLS_OK);
    mtls_config *scfg = server_cfg("revoked", MTLS_VERIFY_NONE);
    pair p = shake(before, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    mtls_session *sess = mtls_conn_get_session(p.c);
    unpair(&p);
    /* the same session, also as bytes (the issuers then come decoded) */
    size_t n = 0;
    CHECK_ERR(mtls_session_to_bytes(sess, NULL, 0, &n), MTLS_OK);
    uint8_t *bytes = malloc(n);
    CHECK_ERR(mtls_session_to_bytes(sess, bytes, n, &n), MTLS_OK);
    mtls_session *decoded = mtls_session_from_bytes(bytes, n);
    CHECK(decoded != NULL);
    free(bytes);
    mtls_session *offers[2] = {sess, decoded};
    for (int k = 0; k < 2; k++) {
        p = shake(before, scfg, offers[k]);
        CHECK_ERR(p.err, MTLS_OK);
        CHECK(mtls_conn_resumed(p.c));
        unpair(&p);
        p = shake(now, scfg, offers[k]);
        CHECK_ERR(mtls_conn_error(p.c), MTLS_ERR_CERT_REVOKED);
        CHECK(!mtls_conn_resumed(p.c));
        CHECK(saw_decision(&ctrace, MTLS_DECISION_RESUME_DECLINED));
        CHECK(!saw_decision(&ctrace, MTLS_DECISION_RESUME_OFFERED));
        CHECK(saw_check(&ctrace, MTLS_ERR_CERT_REVOKED));
        if (k == 0) {
            printf("   trace: ");
            print_line(&ctrace, "Resumption");
        }
        unpair(&p);
    }
    printf("2. a client does not offer a session whose server is revoked now (made here, and "
           "decoded); its full handshake: CERT_REVOKED\n");
    /* a client in insecure mode verifies nothing, revocation included: it still resumes */
    mtls_config *insecure = client_cfg(NULL);
    CHECK_ERR(mtls_config_set_crl_file(insecure, path_of("int.crl")), MTLS_OK);
    CHECK_ERR(mtls_config_set_insecure_skip_verify(insecure, 1), MTLS_OK);
    p = shake(insecure, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    mtls_session *loose = mtls_conn_get_session(p.c);
    unpair(&p);
    p = shake(insecure, scfg, loose);
    CHECK_ERR(p.err, MTLS_OK);
    CHECK(mtls_conn_resumed(p.c));
    unpair(&p);
    mtls_session_free(loose);
    mtls_config_free(insecure);
    mtls_session_free(sess);
    mtls_session_free(decoded);
    mtls_config_free(before);
    mtls_config_free(now);
    mtls_config_free(scfg);
}

/* ---- 3. OCSP stapling ------------------------------------------------------------------------ */

static mtls_config *stapling_server(const char *chain, const char *staple)
{
    mtls_config *cfg = server_cfg(chain, MTLS_VERIFY_NONE);
    if (staple)
        CHECK_ERR(mtls_config_set_ocsp_staple_file(cfg, path_of(staple)), MTLS_OK);
    return cfg;
}

static mtls_config *asking_client(int required)
{
    mtls_config *cfg = client_cfg(NULL);
    CHECK_ERR(required ? mtls_config_set_ocsp_required(cfg, 1)
                       : mtls_config_set_ocsp_request(cfg, 1),
              MTLS_OK);
    return cfg;
}

static mtls_ocsp_info ocsp_of(const mtls_conn *c)
{
    mtls_ocsp_info info = MTLS_OCSP_INFO_INIT;
    CHECK_ERR(mtls_conn_peer_ocsp(c, &info), MTLS_OK);
    return info;
}

/* Expect the client to fail with `want` (alert `alert` to the server). */
static void expect_client_fails(mtls_config *ccfg, mtls_config *scfg, mtls_err want, int alert,
                                const char *what)
{
    pair p = shake(ccfg, scfg, NULL);
    CHECK_ERR(mtls_conn_error(p.c), want);
    CHECK_EQ(mtls_conn_alert_received(p.s), alert);
    printf("3. %s: client %s, alert %s; %s\n", what, mtls_err_name(mtls_conn_error(p.c)),
           mtls_alert_name(mtls_conn_alert_received(p.s)), mtls_conn_error_detail(p.c));
    unpair(&p);
}

static void test_staple_verdicts(void)
{
    mtls_config *ask = asking_client(0), *require = asking_client(1), *plain = client_cfg(NULL);
    size_t len;
    uint8_t *good_der = read_all("ocsp-good.der", &len);

    /* good */
    mtls_config *scfg = stapling_server("good", "ocsp-good.der");
    pair p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    mtls_ocsp_info info = ocsp_of(p.c);
    CHECK_EQ(info.status, MTLS_OCSP_GOOD);
    CHECK_EQ(info.response_len, len);
    CHECK(info.response && memcmp(info.response, good_der, len) == 0);
    CHECK(info.next_update > (int64_t)time(NULL));
    CHECK(info.this_update <= (int64_t)time(NULL) + 300);
    CHECK(info.produced_at > 0);
    CHECK_EQ(info.revocation_reason, -1);
    /* TLS 1.2: the CertificateStatus message; TLS 1.3: none, the staple is in Certificate */
    CHECK_EQ(saw_msg(&ctrace, MTLS_TRACE_RECEIVED, TLS_HS_CERTIFICATE_STATUS),
             version == MTLS_VERSION_TLS12);
    CHECK_EQ(saw_msg(&strace, MTLS_TRACE_SENT, TLS_HS_CERTIFICATE_STATUS),
             version == MTLS_VERSION_TLS12);
    printf("3. good staple: status GOOD, %zu bytes, next update in %lld s\n", info.response_len,
           (long long)(info.next_update - (int64_t)time(NULL)));
    unpair(&p);
    p = shake(require, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    /* a client that does not ask gets none */
    p = shake(plain, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    CHECK_EQ(ocsp_of(p.c).status, MTLS_OCSP_NONE);
    CHECK(!saw_msg(&strace, MTLS_TRACE_SENT, TLS_HS_CERTIFICATE_STATUS));
    CHECK(!saw_decision(&strace, MTLS_DECISION_NO_STAPLE)); /* nobody asked */
    unpair(&p);
    /* a resumed handshake has no certificate and no staple */
    p = shake(ask, scfg, NULL);
    mtls_session *sess = mtls_conn_get_session(p.c);
    unpair(&p);
    p = shake(ask, scfg, sess);
    CHECK_ERR(p.err, MTLS_OK);
    CHECK(mtls_conn_resumed(p.c));
    CHECK_EQ(ocsp_of(p.c).status, MTLS_OCSP_NONE);
    unpair(&p);
    mtls_session_free(sess);
    char desc[800];
    CHECK_ERR(mtls_config_describe_ocsp_staple(scfg, desc, sizeof desc), MTLS_OK);
    CHECK(strstr(desc, ": good, produced ") != NULL);
    printf("   describe: %s\n", desc);
    mtls_config_free(scfg);

    /* revoked, unknown */
    scfg = stapling_server("revoked", "ocsp-revoked.der");
    expect_client_fails(ask, scfg, MTLS_ERR_CERT_REVOKED, TLS_ALERT_CERTIFICATE_REVOKED,
                        "revoked staple");
    pair q = shake(ask, scfg, NULL);
    info = ocsp_of(q.c);
    CHECK_EQ(info.status, MTLS_OCSP_REVOKED);
    CHECK_EQ(info.revocation_reason, 1); /* keyCompromise */
    CHECK(info.revocation_time > 0);
    unpair(&q);
    /* without asking, the revoked server is not found out (no CRL either) */
    q = shake(plain, scfg, NULL);
    CHECK_ERR(q.err, MTLS_OK);
    unpair(&q);
    mtls_config_free(scfg);
    scfg = stapling_server("unknown", "ocsp-unknown.der");
    expect_client_fails(ask, scfg, MTLS_ERR_OCSP_CERT_UNKNOWN,
                        TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE, "unknown staple");
    mtls_config_free(scfg);

    /* expired at the client (its clock two days ahead; the server's staple is current for it) */
    scfg = stapling_server("good", "ocsp-good.der");
    client_skew = 2 * 86400;
    expect_client_fails(ask, scfg, MTLS_ERR_OCSP_EXPIRED,
                        TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE, "expired staple (client clock)");
    client_skew = 0;
    /* expired at the server: not stapled, and the trace says why */
    server_skew = 2 * 86400;
    client_skew = 2 * 86400;
    p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    CHECK_EQ(ocsp_of(p.c).status, MTLS_OCSP_NONE);
    CHECK(saw_decision(&strace, MTLS_DECISION_NO_STAPLE));
    CHECK(!saw_msg(&strace, MTLS_TRACE_SENT, TLS_HS_CERTIFICATE_STATUS));
    printf("3. expired staple at the server: not sent; trace: ");
    print_line(&strace, "* CertificateStatus");
    unpair(&p);
    expect_client_fails(require, scfg, MTLS_ERR_OCSP_MISSING,
                        TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE,
                        "expired at the server, client requires one");
    server_skew = client_skew = 0;
    mtls_config_free(scfg);

    /* none, with ocsp_required */
    scfg = stapling_server("good", NULL);
    expect_client_fails(require, scfg, MTLS_ERR_OCSP_MISSING,
                        TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE, "no staple, required");
    p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);

    /* must-staple (RFC 7633): refused without a staple when the client asked, accepted with one
     * and by a client that does not ask */
    scfg = stapling_server("muststaple", NULL);
    expect_client_fails(ask, scfg, MTLS_ERR_OCSP_MISSING,
                        TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE, "must-staple without a staple");
    p = shake(ask, scfg, NULL);
    CHECK(strstr(mtls_conn_error_detail(p.c), "must-staple, RFC 7633") != NULL);
    unpair(&p);
    p = shake(plain, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    unpair(&p);
    mtls_config_free(scfg);
    scfg = stapling_server("muststaple", "ocsp-muststaple.der");
    p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    CHECK_EQ(ocsp_of(p.c).status, MTLS_OCSP_GOOD);
    unpair(&p);
    mtls_config_free(scfg);

    /* about another certificate: the server will not staple it */
    scfg = server_cfg("good", MTLS_VERIFY_NONE);
    CHECK_ERR(mtls_config_set_ocsp_staple_file(scfg, path_of("ocsp-revoked.der")),
              MTLS_ERR_OCSP_NOT_FOR_CERT);
    CHECK(strstr(mtls_config_error_detail(scfg), "ocsp-revoked.der") != NULL);
    printf("3. a staple about another certificate, set: %s: %s\n",
           mtls_err_name(MTLS_ERR_OCSP_NOT_FOR_CERT), mtls_config_error_detail(scfg));
    static const uint8_t junk[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
    CHECK_ERR(mtls_config_set_ocsp_staple_mem(scfg, junk, sizeof junk - 1),
              MTLS_ERR_OCSP_BAD_RESPONSE);
    mtls_config_free(scfg);
    /* ... nor when it was set before the certificate (checked at the first handshake) */
    scfg = mtls_config_new();
    uint8_t *rev_der = read_all("ocsp-revoked.der", &len);
    CHECK_ERR(mtls_config_set_ocsp_staple_mem(scfg, rev_der, len), MTLS_OK);
    CHECK_ERR(mtls_config_set_cert_chain_file(scfg, path_of("good.crt"), path_of("good.key")),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_trace(scfg, on_trace, &strace), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(scfg, on_event, &strace), MTLS_OK);
    expect_client_fails(require, scfg, MTLS_ERR_OCSP_MISSING,
                        TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE,
                        "a staple about another certificate set before the chain");
    CHECK(saw_decision(&strace, MTLS_DECISION_NO_STAPLE));
    mtls_config_free(scfg);
    free(rev_der);

    free(good_der);
    mtls_config_free(ask);
    mtls_config_free(require);
    mtls_config_free(plain);
}

/* ---- 3. the server's flight, rewritten on its way to the client --------------------------- */

typedef struct {
    uint8_t *p;
    size_t len;
} bytes;

static bytes take_output(mtls_conn *from)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(from, &n);
    bytes b = {malloc(n ? n : 1), n};
    if (n)
        memcpy(b.p, p, n);
    mtls_send_ack(from, n);
    return b;
}

/* The plaintext handshake records of a first flight, re-framed with the message of type 22
 * replaced by `status` (NULL: left out). */
static bytes rewrite_status(bytes flight, const bytes *status)
{
    uint8_t *hs = malloc(flight.len + (status ? status->len + 4 : 0)), *out;
    size_t hs_len = 0, at = 0;
    while (at + 5 <= flight.len) {
        size_t len = be16_get(flight.p + at + 3);
        CHECK_EQ(flight.p[at], TLS_CT_HANDSHAKE);
        memcpy(hs + hs_len, flight.p + at + 5, len);
        hs_len += len;
        at += 5 + len;
    }
    uint8_t *msgs = malloc(hs_len + (status ? status->len + 8 : 0));
    size_t m = 0, found = 0;
    for (size_t i = 0; i + 4 <= hs_len;) {
        size_t len = be24_get(hs + i + 1);
        if (hs[i] == TLS_HS_CERTIFICATE_STATUS) {
            found++;
            if (status) {
                msgs[m] = TLS_HS_CERTIFICATE_STATUS;
                be24_put(msgs + m + 1, (uint32_t)(4 + status->len));
                msgs[m + 4] = 1; /* ocsp */
                be24_put(msgs + m + 5, (uint32_t)status->len);
                memcpy(msgs + m + 8, status->p, status->len);
                m += 8 + status->len;
            }
        } else {
            memcpy(msgs + m, hs + i, 4 + len);
            m += 4 + len;
        }
        i += 4 + len;
    }
    CHECK_EQ(found, 1);
    out = malloc(m + 5 * (m / 16384 + 1));
    size_t o = 0;
    for (size_t i = 0; i < m; i += 16384) {
        size_t len = m - i < 16384 ? m - i : 16384;
        out[o] = TLS_CT_HANDSHAKE;
        out[o + 1] = 3;
        out[o + 2] = 3;
        be16_put(out + o + 3, (uint16_t)len);
        memcpy(out + o + 5, msgs + i, len);
        o += 5 + len;
    }
    free(hs);
    free(msgs);
    bytes b = {out, o};
    return b;
}

/* A client that asks, a server that staples ocsp-good.der; the server's first flight goes to
 * `other` (a fresh client of `ccfg2`, or the first client when NULL) after `status` replaced
 * its CertificateStatus.  Returns the receiving client's error. */
static mtls_err injected(mtls_config *ccfg, mtls_config *ccfg2, const bytes *status, int drop,
                         mtls_conn **out_client, mtls_conn **out_server)
{
    mtls_config *scfg = stapling_server("good", "ocsp-good.der");
    trace_reset();
    mtls_conn *c = mtls_client_new(ccfg, "good.test"), *s = mtls_server_new(scfg);
    mtls_conn *rcv = c;
    CHECK_ERR(mtls_handshake(c), MTLS_ERR_WANT_READ);
    CHECK_ERR(tp_transfer(c, s), MTLS_OK);
    CHECK_ERR(mtls_handshake(s), MTLS_ERR_WANT_READ);
    bytes flight = take_output(s);
    if (ccfg2) {
        rcv = mtls_client_new(ccfg2, "good.test");
        CHECK_ERR(mtls_handshake(rcv), MTLS_ERR_WANT_READ);
        bytes ch = take_output(rcv);
        free(ch.p);
    }
    bytes sent = drop || status ? rewrite_status(flight, status) : flight;
    mtls_err err = tp_feed(rcv, sent.p, sent.len, 0);
    if (err == MTLS_OK || err == MTLS_ERR_WANT_READ)
        err = mtls_handshake(rcv);
    if (sent.p != flight.p)
        free(sent.p);
    free(flight.p);
    if (rcv != c)
        mtls_conn_free(c);
    *out_client = rcv;
    *out_server = s;
    mtls_config_free(scfg);
    return err;
}

static void test_staple_injected(void)
{
    mtls_config *ask = asking_client(0), *plain = client_cfg(NULL);
    mtls_conn *c, *s;
    size_t len;

    /* a staple about another certificate */
    bytes other = {read_all("ocsp-revoked.der", &len), 0};
    other.len = len;
    CHECK_ERR(injected(ask, NULL, &other, 0, &c, &s), MTLS_ERR_OCSP_NOT_FOR_CERT);
    CHECK_EQ(mtls_conn_alert_sent(c), TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
    CHECK_EQ(ocsp_of(c).status, MTLS_OCSP_INVALID);
    printf("3. a staple about another certificate, received: %s, alert %s; %s\n",
           mtls_err_name(mtls_conn_error(c)), mtls_alert_name(mtls_conn_alert_sent(c)),
           mtls_conn_error_detail(c));
    mtls_conn_free(c);
    mtls_conn_free(s);
    free(other.p);

    /* a malformed response */
    uint8_t junk_p[] = {0x30, 0x03, 0x0a, 0x01};
    bytes junk = {junk_p, sizeof junk_p};
    CHECK_ERR(injected(ask, NULL, &junk, 0, &c, &s), MTLS_ERR_OCSP_BAD_RESPONSE);
    CHECK_EQ(mtls_conn_alert_sent(c), TLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
    CHECK_EQ(ocsp_of(c).status, MTLS_OCSP_INVALID);
    printf("3. a malformed staple: %s, alert %s\n", mtls_err_name(mtls_conn_error(c)),
           mtls_alert_name(mtls_conn_alert_sent(c)));
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* acknowledged, then left out (RFC 6066 8 allows it): the client goes on to the
     * ServerKeyExchange; the handshake then fails only at Finished, whose transcript the
     * rewrite changed */
    mtls_err err = injected(ask, NULL, NULL, 1, &c, &s);
    CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
    CHECK_ERR(mtls_conn_error(c), MTLS_OK);
    CHECK(mtls_conn_peer_cert_presented(c));
    CHECK(saw_decision(&ctrace, MTLS_DECISION_NO_STAPLE));
    CHECK(saw_msg(&ctrace, MTLS_TRACE_RECEIVED, TLS_HS_SERVER_KEY_EXCHANGE));
    printf("3. an acknowledged staple left out: the client verifies the chain without it and "
           "reads on (%s)\n", mtls_err_name(err));
    mtls_conn_free(c);
    mtls_conn_free(s);

    /* an acknowledgement nobody asked for: unsupported_extension */
    CHECK_ERR(injected(ask, plain, NULL, 0, &c, &s), MTLS_ERR_UNOFFERED_EXTENSION);
    CHECK_EQ(mtls_conn_alert_sent(c), TLS_ALERT_UNSUPPORTED_EXTENSION);
    printf("3. status_request answered though not asked: %s, alert %s\n",
           mtls_err_name(mtls_conn_error(c)), mtls_alert_name(mtls_conn_alert_sent(c)));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(ask);
    mtls_config_free(plain);
}

/* ---- 3. the staple file changed on disk ---------------------------------------------------- */

static void test_staple_file(void)
{
    size_t glen, dlen;
    uint8_t *good = read_all("ocsp-good.der", &glen), *delegated = read_all("ocsp-delegated.der",
                                                                            &dlen);
    write_file("staple.der", good, glen);
    mtls_config *scfg = stapling_server("good", "staple.der"), *ask = asking_client(0);
    pair p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    mtls_ocsp_info info = ocsp_of(p.c);
    CHECK(info.response_len == glen && memcmp(info.response, good, glen) == 0);
    unpair(&p);

    /* replaced (another good response, from the delegated responder): taken at the first
     * handshake after MTLS_OCSP_STAPLE_FILE_CHECK seconds */
    write_file("staple.der", delegated, dlen);
    p = shake(ask, scfg, NULL);
    info = ocsp_of(p.c);
    CHECK(info.response_len == glen && memcmp(info.response, good, glen) == 0);
    unpair(&p);
    server_skew = MTLS_OCSP_STAPLE_FILE_CHECK + 1;
    p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    info = ocsp_of(p.c);
    CHECK(info.response_len == dlen && memcmp(info.response, delegated, dlen) == 0);
    CHECK_EQ(info.status, MTLS_OCSP_GOOD);
    printf("3. staple file replaced: the new response (%zu bytes) is stapled after %d s\n", dlen,
           MTLS_OCSP_STAPLE_FILE_CHECK + 1);
    unpair(&p);

    /* replaced by something that is not a response: the one in use stays, the reason is kept */
    static const uint8_t junk[] = "not an OCSP response";
    write_file("staple.der", junk, sizeof junk);
    server_skew = 2 * (MTLS_OCSP_STAPLE_FILE_CHECK + 1);
    p = shake(ask, scfg, NULL);
    CHECK_ERR(p.err, MTLS_OK);
    info = ocsp_of(p.c);
    CHECK(info.response_len == dlen && memcmp(info.response, delegated, dlen) == 0);
    unpair(&p);
    char line[1200];
    CHECK_ERR(mtls_config_describe_ocsp_staple(scfg, line, sizeof line), MTLS_OK);
    CHECK(strstr(line, "the last re-read was not taken") != NULL);
    CHECK(strstr(line, "not a DER OCSP response") != NULL);
    printf("   describe after a bad file: %s\n", line);
    CHECK_ERR(mtls_config_reload_ocsp_staple(scfg, line, sizeof line), MTLS_ERR_OCSP_BAD_RESPONSE);
    CHECK(strstr(line, "staple.der") != NULL);
    /* put back: reloaded at once on request */
    write_file("staple.der", good, glen);
    CHECK_ERR(mtls_config_reload_ocsp_staple(scfg, line, sizeof line), MTLS_OK);
    p = shake(ask, scfg, NULL);
    info = ocsp_of(p.c);
    CHECK(info.response_len == glen && memcmp(info.response, good, glen) == 0);
    unpair(&p);
    server_skew = 0;
    mtls_config *plain = mtls_config_new();
    CHECK_ERR(mtls_config_reload_ocsp_staple(plain, line, sizeof line), MTLS_ERR_BAD_STATE);
    CHECK_ERR(mtls_config_describe_ocsp_staple(plain, line, sizeof line), MTLS_OK);
    CHECK(strcmp(line, "none") == 0);
    mtls_config_free(plain);
    mtls_config_free(scfg);
    mtls_config_free(ask);
    free(good);
    free(delegated);
}

int main(void)
{
    const char *src = getenv("MTLS_SRC_DIR");
    char cmd[1024], here[512];
    if (!src) { /* run by hand: the source tree this file was compiled from */
        snprintf(here, sizeof here, "%s", __FILE__);
        char *cut = strstr(here, "/tests/handshake/");
        if (cut)
            *cut = 0;
        src = cut ? here : ".";
    }
    snprintf(pki, sizeof pki, "/tmp/mtls-revocation-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "sh '%s/tests/pki/make-revocation.sh' '%s' >/dev/null", src, pki);
    int rc = system(cmd);
    CHECK_EQ(rc, 0);
    static const uint16_t versions[] = {MTLS_VERSION_TLS12, MTLS_VERSION_TLS13};
    for (size_t v = 0; v < 2 && rc == 0; v++) {
        version = versions[v];
        printf("---- %s\n", version == MTLS_VERSION_TLS12 ? "TLS 1.2" : "TLS 1.3");
        test_crl_client();
        test_crl_stale();
        test_crl_server();
        test_crl_modes();
        test_resume_server();
        test_resume_client();
        test_staple_verdicts();
        if (version == MTLS_VERSION_TLS12)
            test_staple_injected();
        test_staple_file();
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", pki);
    return t_done();
}
