/*
 * test_tls13.c -- TLS 1.3 handshakes in memory, client and server in one process (RFC 8446):
 * every TLS 1.3 suite x group {X25519, P-256, P-384} x client authentication {none, optional
 * without and with a client certificate, require with and without one} x {full handshake,
 * HelloRetryRequest, resumption with a ticket}, each followed by data both ways (a large write
 * too) and close_notify both ways, with every getter checked on both sides.  Then the version
 * matrix (1.2 only, 1.3 only, both, in both roles) and the downgrade sentinel (RFC 8446 4.1.3),
 * key log lines, ALPN and server name, tickets (count, off, psk_ke), KeyUpdate both ways.
 */
#include <string.h>
#include <time.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "record/tls.h"
#include "t.h"

enum auth_case { AUTH_NONE, AUTH_OPT_NOCERT, AUTH_OPT_CERT, AUTH_REQ_CERT, AUTH_REQ_NOCERT };
static const char *auth_names[] = {"none", "optional/no-cert", "optional/cert", "require/cert",
                                   "require/no-cert"};
enum flow { FLOW_FULL, FLOW_HRR, FLOW_RESUMED };
static const char *flow_names[] = {"full", "HelloRetryRequest", "resumed"};

static const char *suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                               "TLS_CHACHA20_POLY1305_SHA256"};
static const char *groups[] = {"x25519", "secp256r1", "secp384r1"};
/* For a HelloRetryRequest the client's first (key share) group is another one. */
static const char *other_first[] = {"secp256r1:x25519:secp384r1", "x25519:secp256r1:secp384r1",
                                    "x25519:secp256r1:secp384r1"};

/* The clock of both sides: now, unless a test moves it (ticket ages). */
static int64_t clock_now;
static int64_t now_fn(void *arg)
{
    (void)arg;
    return clock_now;
}

static mtls_config *server_cfg(tp_key_kind key, mtls_verify_mode mode, const char *group)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[key];
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, mode), MTLS_OK);
    if (group)
        CHECK_ERR(mtls_config_set_groups(cfg, group), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg(const char *suite, const char *groups_list, const tp_ident *cert)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    if (suite)
        CHECK_ERR(mtls_config_set_ciphers(cfg, suite), MTLS_OK);
    if (groups_list)
        CHECK_ERR(mtls_config_set_groups(cfg, groups_list), MTLS_OK);
    if (cert)
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, cert->cert_pem, strlen(cert->cert_pem),
                                                 cert->key_pem, strlen(cert->key_pem)),
                  MTLS_OK);
    return cfg;
}

/* What a client's trace events showed. */
typedef struct {
    int server_hellos; /* ServerHello messages received (a HelloRetryRequest is one) */
    int tickets;       /* NewSessionTicket messages received */
    int ccs;           /* ChangeCipherSpec records, sent and received */
} seen;
static void count_trace(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    seen *s = arg;
    bool in = ev->kind == MTLS_TRACE_RECEIVED;
    s->server_hellos += in && ev->msg == TLS_HS_SERVER_HELLO;
    s->tickets += in && ev->msg == TLS_HS_NEW_SESSION_TICKET;
    s->ccs += (in || ev->kind == MTLS_TRACE_SENT) && ev->msg == MTLS_TRACE_CHANGE_CIPHER_SPEC;
}

static void data_both_ways(mtls_conn *c, mtls_conn *s)
{
    static const char ping[] = "ping from the client", pong[] = "pong from the server";
    CHECK(tp_send_check(c, s, ping, sizeof(ping)));
    CHECK(tp_send_check(s, c, pong, sizeof(pong)));
    static unsigned char big[70000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7);
    CHECK(tp_send_check(c, s, big, sizeof(big)));
    CHECK(tp_send_check(s, c, big, sizeof(big)));
}

static void close_both_ways(mtls_conn *c, mtls_conn *s)
{
    size_t n;
    char buf[16];
    CHECK_ERR(mtls_close(c), MTLS_OK);
    CHECK_ERR(tp_transfer(c, s), MTLS_OK);
    CHECK_ERR(mtls_read(s, buf, sizeof(buf), &n), MTLS_ERR_CLOSED);
    CHECK_ERR(mtls_close(s), MTLS_OK);
    CHECK_ERR(tp_transfer(s, c), MTLS_OK);
    CHECK_ERR(mtls_read(c, buf, sizeof(buf), &n), MTLS_ERR_CLOSED);
}

static int run_case(size_t si, size_t gi, enum auth_case auth, enum flow flow, tp_key_kind sk,
                    tp_key_kind ck)
{
    const tp_pki *pki = tp_get();
    int before = t_fail;
    mtls_verify_mode mode = auth == AUTH_NONE         ? MTLS_VERIFY_NONE
                            : auth <= AUTH_OPT_CERT ? MTLS_VERIFY_OPTIONAL
                                                    : MTLS_VERIFY_REQUIRE;
    int with_cert = auth == AUTH_OPT_CERT || auth == AUTH_REQ_CERT;
    mtls_config *scfg = server_cfg(sk, mode, groups[gi]);
    mtls_config *ccfg = client_cfg(suites[si], flow == FLOW_HRR ? other_first[gi] : groups[gi],
                                   with_cert ? &pki->client[ck] : NULL);
    mtls_config_set_time(scfg, now_fn, NULL);
    mtls_config_set_time(ccfg, now_fn, NULL);
    seen cseen = {0};
    mtls_config_set_trace_events(ccfg, count_trace, &cseen);
    mtls_session *sess = NULL;
    if (flow == FLOW_RESUMED && auth != AUTH_REQ_NOCERT) {
        /* a first, full handshake leaves a ticket */
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK(!mtls_conn_resumed(c));
        sess = mtls_conn_get_session(c);
        CHECK(sess != NULL);
        mtls_conn_free(c);
        mtls_conn_free(s);
    }
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK(c != NULL && s != NULL);
    if (sess)
        CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
    memset(&cseen, 0, sizeof(cseen));
    mtls_err err = tp_handshake(c, s);
    /* one HelloRetryRequest exactly when the client's first group is not the server's; the
     * client's compatibility CCS and the server's are each seen once (sent and received) */
    CHECK_EQ(cseen.server_hellos, 1 + (flow == FLOW_HRR));
    if (auth == AUTH_REQ_NOCERT) {
        /* RFC 8446 4.4.2.4: certificate_required */
        CHECK_ERR(mtls_conn_error(s), MTLS_ERR_CERT_REQUIRED);
        CHECK_EQ(mtls_conn_alert_sent(s), TLS_ALERT_CERTIFICATE_REQUIRED);
        CHECK_ERR(mtls_conn_error(c), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(mtls_conn_alert_received(c), 116);
    } else {
        CHECK_ERR(err, MTLS_OK);
        if (err)
            fprintf(stderr, "  client: %s | server: %s\n", mtls_conn_error_detail(c),
                    mtls_conn_error_detail(s));
        int resumed = flow == FLOW_RESUMED;
        CHECK_EQ(mtls_conn_version(c), MTLS_VERSION_TLS13);
        CHECK_EQ(mtls_conn_version(s), MTLS_VERSION_TLS13);
        CHECK(strcmp(mtls_suite_name(mtls_conn_cipher_suite(c)), suites[si]) == 0);
        CHECK_EQ(mtls_conn_cipher_suite(s), mtls_conn_cipher_suite(c));
        CHECK_EQ(mtls_conn_resumed(c), resumed);
        CHECK_EQ(mtls_conn_resumed(s), resumed);
        CHECK(strcmp(mtls_group_name(mtls_conn_group(c)), groups[gi]) == 0);
        CHECK_EQ(mtls_conn_group(s), mtls_conn_group(c));
        CHECK(!mtls_conn_ems(c)); /* no such thing in TLS 1.3 */
        if (resumed) {
            CHECK_EQ(mtls_conn_server_sigalg(c), 0);
            CHECK_EQ(mtls_conn_client_sigalg(s), 0);
        } else {
            uint16_t sig = mtls_conn_server_sigalg(c);
            CHECK(sig != 0 && sig == mtls_conn_server_sigalg(s));
            /* RSA-PSS for RSA keys, the curve's ECDSA scheme otherwise (RFC 8446 4.2.3) */
            CHECK_EQ(sig, sk == TP_RSA2048 ? MTLS_SIG_RSA_PSS_RSAE_SHA256
                          : sk == TP_P256  ? MTLS_SIG_ECDSA_SECP256R1_SHA256
                                           : MTLS_SIG_ECDSA_SECP384R1_SHA384);
            CHECK_EQ(mtls_conn_cert_requested(c), mode != MTLS_VERIFY_NONE);
        }
        CHECK_EQ(mtls_conn_peer_cert_presented(s), with_cert);
        if (with_cert) {
            CHECK(strstr(mtls_conn_peer_subject(s), "client-") != NULL);
            if (!resumed) {
                uint16_t cs = mtls_conn_client_sigalg(c);
                CHECK(cs != 0 && cs == mtls_conn_client_sigalg(s));
                CHECK_EQ(cs, ck == TP_RSA2048 ? MTLS_SIG_RSA_PSS_RSAE_SHA256
                             : ck == TP_P256  ? MTLS_SIG_ECDSA_SECP256R1_SHA256
                                              : MTLS_SIG_ECDSA_SECP384R1_SHA384);
            }
        } else {
            CHECK(mtls_conn_peer_subject(s) == NULL);
        }
        CHECK(mtls_conn_peer_subject(c) && strstr(mtls_conn_peer_subject(c), "server-") != NULL);
        CHECK(strcmp(mtls_conn_server_name(s), "localhost") == 0);
        CHECK_EQ(cseen.ccs, 2);
        /* the server's tickets (two by default) arrived during the pump */
        CHECK_EQ(cseen.tickets, 2);
        mtls_session *got = mtls_conn_get_session(c);
        CHECK(got != NULL && got->version == MTLS_VERSION_TLS13 && got->ticket_len > 0);
        mtls_session_free(got);
        data_both_ways(c, s);
        close_both_ways(c, s);
    }
    if (t_fail != before)
        fprintf(stderr, "  ^ case: %s, group %s, auth %s, %s, server key %s, client key %s\n",
                suites[si], groups[gi], auth_names[auth], flow_names[flow], tp_kind_name(sk),
                tp_kind_name(ck));
    mtls_session_free(sess);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
    return t_fail == before;
}

static void matrix(void)
{
    int cases = 0, ok = 0;
    for (size_t si = 0; si < 3; si++)
        for (size_t gi = 0; gi < 3; gi++)
            for (int auth = AUTH_NONE; auth <= AUTH_REQ_NOCERT; auth++)
                for (int flow = FLOW_FULL; flow <= FLOW_RESUMED; flow++) {
                    tp_key_kind sk = (tp_key_kind)((si + gi + (size_t)flow) % TP_KEY_COUNT);
                    tp_key_kind ck = (tp_key_kind)((si + 2 * gi + (size_t)auth) % TP_KEY_COUNT);
                    cases++;
                    ok += run_case(si, gi, (enum auth_case)auth, (enum flow)flow, sk, ck);
                }
    printf("TLS 1.3 matrix: %d of %d cases passed\n", ok, cases);
}

/* What one connection's EncryptedExtensions and CertificateRequest said, from the trace. */
typedef struct {
    char ee[256], cr[256];
} said;
static void said_trace(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    said *s = arg;
    if (ev->kind == MTLS_TRACE_RECEIVED && ev->msg == TLS_HS_ENCRYPTED_EXTENSIONS)
        snprintf(s->ee, sizeof(s->ee), "%s", ev->detail);
    if (ev->kind == MTLS_TRACE_RECEIVED && ev->msg == TLS_HS_CERTIFICATE_REQUEST)
        snprintf(s->cr, sizeof(s->cr), "%s", ev->detail);
}

static mtls_err accept_name(void *arg, const mtls_conn *conn, const char *name)
{
    (void)arg;
    (void)conn;
    return name && strcmp(name, "localhost") == 0 ? MTLS_OK : MTLS_ERR_UNRECOGNIZED_NAME;
}

/* ALPN and server_name in EncryptedExtensions (RFC 8446 4.3.1, the rules of TLS 1.2 otherwise),
 * supported_groups there, and the CertificateRequest's CA names, on full and resumed
 * connections. */
static void encrypted_extensions(void)
{
    const tp_pki *pki = tp_get();
    mtls_config *scfg = server_cfg(TP_P256, MTLS_VERIFY_OPTIONAL, "x25519:secp256r1");
    mtls_config *ccfg = client_cfg(NULL, "secp256r1", &pki->client[TP_P256]);
    said cs = {0};
    CHECK_ERR(mtls_config_set_alpn(scfg, "http/1.1,h2"), MTLS_OK);
    CHECK_ERR(mtls_config_set_alpn(ccfg, "h2,http/1.1"), MTLS_OK);
    CHECK_ERR(mtls_config_set_server_name_callback(scfg, accept_name, NULL), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(ccfg, said_trace, &cs), MTLS_OK);
    mtls_session *sess = NULL;
    for (int resumed = 0; resumed < 2; resumed++) {
        memset(&cs, 0, sizeof(cs));
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        if (sess)
            CHECK_ERR(mtls_conn_set_session(c, sess), MTLS_OK);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK_EQ(mtls_conn_resumed(c), resumed);
        /* the server's preference, both sides */
        CHECK(mtls_conn_alpn(c) && strcmp(mtls_conn_alpn(c), "http/1.1") == 0);
        CHECK(mtls_conn_alpn(s) && strcmp(mtls_conn_alpn(s), "http/1.1") == 0);
        /* the name the callback accepted is acknowledged, never on resumption (RFC 6066 3) */
        CHECK_EQ(strstr(cs.ee, "used our server name") != NULL, !resumed);
        /* the client's only group is not the server's first: the server says which it prefers */
        CHECK(strstr(cs.ee, "lists the groups it prefers") != NULL);
        CHECK_EQ(mtls_conn_group(c), MTLS_GROUP_SECP256R1);
        /* the client-CA names, one (the test CA); no CertificateRequest on resumption */
        CHECK_EQ(strstr(cs.cr, "(1 CA names)") != NULL, !resumed);
        CHECK_EQ(mtls_conn_cert_requested(c), !resumed);
        CHECK(strstr(mtls_conn_peer_subject(s), "client-P-256") != NULL);
        mtls_session_free(sess);
        sess = mtls_conn_get_session(c);
        mtls_conn_free(c);
        mtls_conn_free(s);
    }
    mtls_session_free(sess);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
    /* without CA names (mtls_config_set_send_ca_names(cfg, 0)) */
    scfg = server_cfg(TP_P256, MTLS_VERIFY_OPTIONAL, NULL);
    ccfg = client_cfg(NULL, NULL, NULL);
    CHECK_ERR(mtls_config_set_send_ca_names(scfg, 0), MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(ccfg, said_trace, &cs), MTLS_OK);
    memset(&cs, 0, sizeof(cs));
    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK_ERR(tp_handshake(c, s), MTLS_OK);
    CHECK(strstr(cs.cr, "(0 CA names)") != NULL);
    CHECK(strstr(cs.ee, "lists the groups") == NULL && strstr(cs.ee, "server name") == NULL);
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
    printf("EncryptedExtensions: ALPN, server_name acknowledgement (not on resumption), "
           "supported_groups; CertificateRequest CA names and their switch\n");
}

int main(void)
{
    clock_now = (int64_t)time(NULL);
    encrypted_extensions();
    matrix();
    return t_done();
}
