/*
 * test_handshake.c -- full in-memory handshakes, client and server in one process: every suite x
 * key exchange {static RSA, ECDHE X25519 / P-256 / P-384} x client authentication {none,
 * optional without and with a client certificate, require with and without one}, each followed
 * by data both ways and close_notify both ways.  Failing modes check the error on both sides and
 * the alert on the wire.
 */
#include <string.h>

#include "common/testpki.h"
#include "t.h"

enum auth_case { AUTH_NONE, AUTH_OPT_NOCERT, AUTH_OPT_CERT, AUTH_REQ_CERT, AUTH_REQ_NOCERT };
static const char *auth_names[] = {"none", "optional/no-cert", "optional/cert", "require/cert",
                                   "require/no-cert"};

static const struct {
    const char *suite;
    int ecdsa;
    int ecdhe;
} suites[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 1, 1},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 1, 1},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 1, 1},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0, 1},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0, 1},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0, 1},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", 0, 0},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", 0, 0},
};
static const char *groups[] = {"x25519", "secp256r1", "secp384r1"};

static int run_case(size_t si, const char *group, enum auth_case auth, tp_key_kind server_key,
                    tp_key_kind client_key)
{
    const tp_pki *pki = tp_get();
    mtls_config *scfg = mtls_config_new(), *ccfg = mtls_config_new();
    const tp_ident *sid = &pki->server[server_key], *cid = &pki->client[client_key];
    CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem),
                                             sid->key_pem, strlen(sid->key_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(scfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_ciphers(ccfg, suites[si].suite), MTLS_OK);
    if (group)
        CHECK_ERR(mtls_config_set_groups(ccfg, group), MTLS_OK);
    mtls_verify_mode mode = auth == AUTH_NONE ? MTLS_VERIFY_NONE
                            : auth <= AUTH_OPT_CERT ? MTLS_VERIFY_OPTIONAL
                                                    : MTLS_VERIFY_REQUIRE;
    CHECK_ERR(mtls_config_set_verify_client(scfg, mode), MTLS_OK);
    int with_cert = auth == AUTH_OPT_CERT || auth == AUTH_REQ_CERT;
    if (with_cert)
        CHECK_ERR(mtls_config_set_cert_chain_mem(ccfg, cid->cert_pem, strlen(cid->cert_pem),
                                                 cid->key_pem, strlen(cid->key_pem)), MTLS_OK);

    mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
    CHECK(c != NULL && s != NULL);
    int before = t_fail;
    mtls_err err = tp_handshake(c, s);
    if (auth == AUTH_REQ_NOCERT) {
        CHECK_ERR(mtls_conn_error(s), MTLS_ERR_NO_CLIENT_CERT);
        CHECK_EQ(mtls_conn_alert_sent(s), 40); /* handshake_failure, RFC 5246 7.4.6 */
        CHECK_ERR(mtls_conn_error(c), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(mtls_conn_alert_received(c), 40);
    } else {
        CHECK_ERR(err, MTLS_OK);
        if (err)
            fprintf(stderr, "  client: %s | server: %s\n", mtls_conn_error_detail(c),
                    mtls_conn_error_detail(s));
        CHECK_EQ(mtls_conn_version(c), MTLS_VERSION_TLS12);
        CHECK_EQ(mtls_conn_cipher_suite(c), mtls_conn_cipher_suite(s));
        CHECK(strcmp(mtls_suite_name(mtls_conn_cipher_suite(c)), suites[si].suite) == 0);
        CHECK(mtls_conn_ems(c) && mtls_conn_ems(s));
        if (suites[si].ecdhe) {
            CHECK_EQ(mtls_conn_group(c), mtls_conn_group(s));
            CHECK(strcmp(mtls_group_name(mtls_conn_group(c)), group) == 0);
            CHECK(mtls_conn_server_sigalg(c) != 0 &&
                  mtls_conn_server_sigalg(c) == mtls_conn_server_sigalg(s));
        } else {
            CHECK_EQ(mtls_conn_group(c), 0);
        }
        CHECK_EQ(mtls_conn_peer_cert_presented(s), with_cert);
        CHECK(strcmp(mtls_conn_server_name(s), "localhost") == 0);
        if (with_cert) {
            CHECK(strstr(mtls_conn_peer_subject(s), "client-") != NULL);
            CHECK(mtls_conn_client_sigalg(s) != 0);
        }
        CHECK(strstr(mtls_conn_peer_subject(c), "server-") != NULL);

        static const char ping[] = "ping from the client", pong[] = "pong from the server";
        CHECK(tp_send_check(c, s, ping, sizeof(ping)));
        CHECK(tp_send_check(s, c, pong, sizeof(pong)));
        /* a large write, several records */
        static unsigned char big[70000];
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (unsigned char)(i * 7);
        CHECK(tp_send_check(c, s, big, sizeof(big)));
        CHECK(tp_send_check(s, c, big, sizeof(big)));

        /* close_notify both ways */
        CHECK_ERR(mtls_close(c), MTLS_OK);
        CHECK_ERR(tp_transfer(c, s), MTLS_OK);
        size_t n;
        char buf[16];
        CHECK_ERR(mtls_read(s, buf, sizeof(buf), &n), MTLS_ERR_CLOSED);
        CHECK(mtls_conn_close_received(s));
        CHECK_ERR(mtls_close(s), MTLS_OK);
        CHECK_ERR(tp_transfer(s, c), MTLS_OK);
        CHECK_ERR(mtls_read(c, buf, sizeof(buf), &n), MTLS_ERR_CLOSED);
    }
    if (t_fail != before)
        fprintf(stderr, "  ^ case: %s, group %s, auth %s, server key %s, client key %s\n",
                suites[si].suite, group ? group : "-", auth_names[auth],
                tp_kind_name(server_key), tp_kind_name(client_key));
    mtls_conn_free(c);
    mtls_conn_free(s);
    mtls_config_free(scfg);
    mtls_config_free(ccfg);
    return t_fail == before;
}

/* The server's suite choice: its own order by default, the client's with
 * mtls_config_set_prefer_client_order; a suite the server lists but its key cannot do (ECDSA with
 * an RSA key) is passed over in both. */
static void suite_order(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *sid = &pki->server[TP_RSA2048];
    for (int client_order = 0; client_order < 2; client_order++) {
        mtls_config *scfg = mtls_config_new(), *ccfg = mtls_config_new();
        CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, sid->cert_pem, strlen(sid->cert_pem),
                                                 sid->key_pem, strlen(sid->key_pem)), MTLS_OK);
        CHECK_ERR(mtls_config_set_ciphers(scfg, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:"
                                                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:"
                                                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:"
                                                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
                  MTLS_OK);
        CHECK_ERR(mtls_config_set_prefer_client_order(scfg, client_order), MTLS_OK);
        CHECK_ERR(mtls_config_set_ca_mem(ccfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
        CHECK_ERR(mtls_config_set_ciphers(ccfg, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:"
                                                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:"
                                                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:"
                                                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                  MTLS_OK);
        mtls_conn *c = mtls_client_new(ccfg, "localhost"), *s = mtls_server_new(scfg);
        CHECK_ERR(tp_handshake(c, s), MTLS_OK);
        CHECK_EQ(mtls_conn_cipher_suite(s), client_order
                                                ? MTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
                                                : MTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
        mtls_conn_free(c);
        mtls_conn_free(s);
        mtls_config_free(scfg);
        mtls_config_free(ccfg);
    }
    printf("suite order: the server's by default, the client's when asked, unusable ones skipped\n");
}

int main(void)
{
    suite_order();
    int cases = 0, ok = 0;
    for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
        size_t n_groups = suites[si].ecdhe ? 3 : 1;
        for (size_t g = 0; g < n_groups; g++) {
            for (int auth = AUTH_NONE; auth <= AUTH_REQ_NOCERT; auth++) {
                /* vary the keys: ECDSA suites alternate P-256 / P-384 server keys; client keys
                 * rotate through all three kinds */
                tp_key_kind sk = suites[si].ecdsa ? ((g + (size_t)auth) % 2 ? TP_P384 : TP_P256)
                                                  : TP_RSA2048;
                tp_key_kind ck = (tp_key_kind)((si + g + (size_t)auth) % TP_KEY_COUNT);
                cases++;
                ok += run_case(si, suites[si].ecdhe ? groups[g] : NULL, (enum auth_case)auth, sk, ck);
            }
        }
    }
    printf("handshake matrix: %d of %d cases passed\n", ok, cases);
    return t_done();
}
