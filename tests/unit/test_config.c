/*
 * test_config.c -- the config setters and mtls_config_error_detail().
 *
 * The detail describes the most recent setter call (mtls.h): each failing setter path writes a
 * sentence of its own (so a message from an earlier, different failure never survives), each
 * successful call clears it, except that a list setter which skipped names says which.  A call on
 * a frozen config leaves it alone.  The list setters (ciphers, groups, sigalgs) follow one rule:
 * names mtls does not support are skipped and named in the detail; a list that names nothing
 * supported fails with MTLS_ERR_UNKNOWN_NAME and leaves the previous list in place.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"

#define PRIMER_FILE "/nonexistent/mtls-test-primer.pem"

/* Leaves a known failure's sentence in the detail, so that what follows must replace it. */
static void prime(mtls_config *cfg)
{
    CHECK_ERR(mtls_config_set_ca_file(cfg, PRIMER_FILE), MTLS_ERR_FILE);
    CHECK(strstr(mtls_config_error_detail(cfg), "mtls-test-primer") != NULL);
}

static void store_fn(void *arg, const uint8_t *id, size_t id_len, const uint8_t *data, size_t len,
                     int64_t expires)
{
    (void)arg, (void)id, (void)id_len, (void)data, (void)len, (void)expires;
}

static size_t lookup_fn(void *arg, const uint8_t *id, size_t id_len, uint8_t *out, size_t cap)
{
    (void)arg, (void)id, (void)id_len, (void)out, (void)cap;
    return 0;
}

static int64_t clock_fn(void *arg)
{
    (void)arg;
    return 1700000000;
}

/* Every way a setter can fail on a usable config, with the error and a word the detail must
 * carry.  Each runs after prime(): its detail must be its own. */
enum fail_case {
    F_CHAIN_FILE_NULL,
    F_CHAIN_FILE_MISSING,
    F_CHAIN_MEM_NULL,
    F_CHAIN_MEM_GARBAGE,
    F_CA_FILE_NULL,
    F_CA_FILE_NO_CERT,
    F_CA_DIR_NULL,
    F_CA_DIR_MISSING,
    F_CA_MEM_NULL,
    F_CA_MEM_GARBAGE,
    F_CLIENT_CA_FILE_NULL,
    F_CLIENT_CA_MEM_NULL,
    F_VERIFY_CLIENT_MODE,
    F_CIPHERS_NULL,
    F_CIPHERS_UNKNOWN,
    F_CIPHERS_EMPTY,
    F_GROUPS_UNKNOWN,
    F_SIGALGS_UNKNOWN,
    F_ALPN_NAME_TOO_LONG,
    F_ALPN_LIST_TOO_LONG,
    F_SESSION_CACHE_TOO_LARGE,
    F_CERT_CACHE_TOO_LARGE,
    F_TICKET_KEYS_NULL,
    F_TICKET_KEYS_TOO_MANY,
    F_SESSION_STORE_HALF,
    F_SESSION_CONTEXT_TOO_LONG,
    F_SESSION_CONTEXT_NULL,
    F_COUNT
};

static const struct {
    const char *name;
    mtls_err want;
    const char *needle;
} fail_cases[F_COUNT] = {
    [F_CHAIN_FILE_NULL] = {"cert_chain_file(NULL)", MTLS_ERR_INVALID_ARG, "certificate"},
    [F_CHAIN_FILE_MISSING] = {"cert_chain_file(missing)", MTLS_ERR_FILE, "no-such-chain.pem"},
    [F_CHAIN_MEM_NULL] = {"cert_chain_mem(NULL)", MTLS_ERR_INVALID_ARG, "certificate"},
    [F_CHAIN_MEM_GARBAGE] = {"cert_chain_mem(garbage)", MTLS_ERR_BAD_PEM, "CERTIFICATE"},
    [F_CA_FILE_NULL] = {"ca_file(NULL)", MTLS_ERR_INVALID_ARG, "CA"},
    [F_CA_FILE_NO_CERT] = {"ca_file(no certificate)", MTLS_ERR_BAD_PEM, "mtls-test-nocert"},
    [F_CA_DIR_NULL] = {"ca_dir(NULL)", MTLS_ERR_INVALID_ARG, "CA"},
    [F_CA_DIR_MISSING] = {"ca_dir(missing)", MTLS_ERR_FILE, "no-such-dir"},
    [F_CA_MEM_NULL] = {"ca_mem(NULL)", MTLS_ERR_INVALID_ARG, "CA"},
    [F_CA_MEM_GARBAGE] = {"ca_mem(garbage)", MTLS_ERR_BAD_PEM, "PEM"},
    [F_CLIENT_CA_FILE_NULL] = {"client_ca_file(NULL)", MTLS_ERR_INVALID_ARG, "CA"},
    [F_CLIENT_CA_MEM_NULL] = {"client_ca_mem(NULL)", MTLS_ERR_INVALID_ARG, "CA"},
    [F_VERIFY_CLIENT_MODE] = {"verify_client(7)", MTLS_ERR_INVALID_ARG, "7"},
    [F_CIPHERS_NULL] = {"ciphers(NULL)", MTLS_ERR_INVALID_ARG, "cipher"},
    [F_CIPHERS_UNKNOWN] = {"ciphers(BOGUS:AES128-SHA)", MTLS_ERR_UNKNOWN_NAME, "AES128-SHA"},
    [F_CIPHERS_EMPTY] = {"ciphers(\" : \")", MTLS_ERR_UNKNOWN_NAME, "cipher"},
    [F_GROUPS_UNKNOWN] = {"groups(ffdhe2048)", MTLS_ERR_UNKNOWN_NAME, "ffdhe2048"},
    [F_SIGALGS_UNKNOWN] = {"sigalgs(ed25519)", MTLS_ERR_UNKNOWN_NAME, "ed25519"},
    [F_ALPN_NAME_TOO_LONG] = {"alpn(300-byte name)", MTLS_ERR_INVALID_ARG, "255"},
    [F_ALPN_LIST_TOO_LONG] = {"alpn(300-byte list)", MTLS_ERR_INVALID_ARG, "ALPN"},
    [F_SESSION_CACHE_TOO_LARGE] = {"session_cache(2^25)", MTLS_ERR_INVALID_ARG, "33554432"},
    [F_CERT_CACHE_TOO_LARGE] = {"cert_cache(4097)", MTLS_ERR_INVALID_ARG, "4096"},
    [F_TICKET_KEYS_NULL] = {"ticket_keys(NULL)", MTLS_ERR_INVALID_ARG, "ticket key"},
    [F_TICKET_KEYS_TOO_MANY] = {"ticket_keys(1000 keys)", MTLS_ERR_INVALID_ARG, "1000"},
    [F_SESSION_STORE_HALF] = {"session_store(store, no lookup)", MTLS_ERR_INVALID_ARG, "lookup"},
    [F_SESSION_CONTEXT_TOO_LONG] = {"session_context(33 bytes)", MTLS_ERR_INVALID_ARG, "33"},
    [F_SESSION_CONTEXT_NULL] = {"session_context(NULL, 4)", MTLS_ERR_INVALID_ARG, "NULL"},
};

static char nocert_path[64]; /* a readable file without a certificate */

static mtls_err run_fail_case(enum fail_case c, mtls_config *cfg)
{
    static const char garbage[] = "not PEM at all\n";
    static uint8_t keys[1000 * 80];
    char big[301];
    switch (c) {
    case F_CHAIN_FILE_NULL: return mtls_config_set_cert_chain_file(cfg, NULL, "key.pem");
    case F_CHAIN_FILE_MISSING:
        return mtls_config_set_cert_chain_file(cfg, "/nonexistent/no-such-chain.pem", "k.pem");
    case F_CHAIN_MEM_NULL: return mtls_config_set_cert_chain_mem(cfg, NULL, 0, garbage, 4);
    case F_CHAIN_MEM_GARBAGE:
        return mtls_config_set_cert_chain_mem(cfg, garbage, strlen(garbage), garbage,
                                              strlen(garbage));
    case F_CA_FILE_NULL: return mtls_config_set_ca_file(cfg, NULL);
    case F_CA_FILE_NO_CERT: return mtls_config_set_ca_file(cfg, nocert_path);
    case F_CA_DIR_NULL: return mtls_config_set_ca_dir(cfg, NULL);
    case F_CA_DIR_MISSING: return mtls_config_set_ca_dir(cfg, "/nonexistent/no-such-dir");
    case F_CA_MEM_NULL: return mtls_config_set_ca_mem(cfg, NULL, 0);
    case F_CA_MEM_GARBAGE: return mtls_config_set_ca_mem(cfg, garbage, strlen(garbage));
    case F_CLIENT_CA_FILE_NULL: return mtls_config_set_client_ca_file(cfg, NULL);
    case F_CLIENT_CA_MEM_NULL: return mtls_config_set_client_ca_mem(cfg, NULL, 0);
    case F_VERIFY_CLIENT_MODE: return mtls_config_set_verify_client(cfg, (mtls_verify_mode)7);
    case F_CIPHERS_NULL: return mtls_config_set_ciphers(cfg, NULL);
    case F_CIPHERS_UNKNOWN: return mtls_config_set_ciphers(cfg, "BOGUS:AES128-SHA");
    case F_CIPHERS_EMPTY: return mtls_config_set_ciphers(cfg, " : ");
    case F_GROUPS_UNKNOWN: return mtls_config_set_groups(cfg, "ffdhe2048");
    case F_SIGALGS_UNKNOWN: return mtls_config_set_sigalgs(cfg, "ed25519");
    case F_ALPN_NAME_TOO_LONG:
        memset(big, 'a', 300);
        big[300] = 0;
        return mtls_config_set_alpn(cfg, big);
    case F_ALPN_LIST_TOO_LONG:
        for (int i = 0; i < 300; i++)
            big[i] = i % 3 == 2 ? ',' : 'h';
        big[300] = 0;
        return mtls_config_set_alpn(cfg, big);
    case F_SESSION_CACHE_TOO_LARGE: return mtls_config_set_session_cache(cfg, 1u << 25, 0);
    case F_CERT_CACHE_TOO_LARGE: return mtls_config_set_cert_cache(cfg, 4097);
    case F_TICKET_KEYS_NULL: return mtls_config_set_ticket_keys(cfg, NULL, 1);
    case F_TICKET_KEYS_TOO_MANY: return mtls_config_set_ticket_keys(cfg, keys, 1000);
    case F_SESSION_STORE_HALF:
        return mtls_config_set_session_store(cfg, store_fn, NULL, NULL, NULL);
    case F_SESSION_CONTEXT_TOO_LONG: return mtls_config_set_session_context(cfg, keys, 33);
    case F_SESSION_CONTEXT_NULL: return mtls_config_set_session_context(cfg, NULL, 4);
    case F_COUNT: break;
    }
    return MTLS_OK;
}

static void test_each_failure_writes_its_own_detail(void)
{
    snprintf(nocert_path, sizeof(nocert_path), "/tmp/mtls-test-nocert.XXXXXX");
    int fd = mkstemp(nocert_path);
    CHECK(fd >= 0 && write(fd, "no certificate here\n", 20) == 20);
    close(fd);
    mtls_config *cfg = mtls_config_new();
    CHECK(cfg != NULL);
    for (int c = 0; c < F_COUNT; c++) {
        prime(cfg);
        mtls_err err = run_fail_case((enum fail_case)c, cfg);
        const char *d = mtls_config_error_detail(cfg);
        int ok = err == fail_cases[c].want && d[0] != 0 && !strstr(d, "mtls-test-primer") &&
                 strstr(d, fail_cases[c].needle) != NULL;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  %s: %s, detail \"%s\" (want %s, detail with \"%s\")\n",
                    fail_cases[c].name, mtls_err_name(err), d, mtls_err_name(fail_cases[c].want),
                    fail_cases[c].needle);
    }
    mtls_config_free(cfg);
    unlink(nocert_path);
}

/* Every setter, called so that it succeeds: the detail of an earlier failure is gone. */
static void test_each_success_clears(void)
{
    const tp_pki *pki = tp_get();
    static uint8_t keys[80];
    mtls_config *cfg = mtls_config_new();
    CHECK(cfg != NULL);
#define SUCCEEDS(call)                                                                        \
    do {                                                                                      \
        prime(cfg);                                                                           \
        mtls_err err_ = (call);                                                               \
        const char *d_ = mtls_config_error_detail(cfg);                                       \
        CHECK(err_ == MTLS_OK && d_[0] == 0);                                                 \
        if (err_ != MTLS_OK || d_[0] != 0)                                                    \
            fprintf(stderr, "  %s: %s, detail \"%s\"\n", #call, mtls_err_name(err_), d_);    \
    } while (0)
    const tp_ident *id = &pki->server[TP_P256];
    SUCCEEDS(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                            strlen(id->key_pem)));
    SUCCEEDS(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)));
    SUCCEEDS(mtls_config_set_client_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)));
    SUCCEEDS(mtls_config_set_verify_client(cfg, MTLS_VERIFY_REQUIRE));
    SUCCEEDS(mtls_config_set_send_ca_names(cfg, 0));
    SUCCEEDS(mtls_config_set_insecure_skip_verify(cfg, 0));
    SUCCEEDS(mtls_config_set_cert_cache(cfg, 8));
    SUCCEEDS(mtls_config_set_ciphers(cfg, "ECDHE-ECDSA-AES128-GCM-SHA256"));
    SUCCEEDS(mtls_config_set_groups(cfg, "x25519,P-256"));
    SUCCEEDS(mtls_config_set_sigalgs(cfg, "ecdsa_secp256r1_sha256"));
    SUCCEEDS(mtls_config_set_prefer_client_order(cfg, 1));
    SUCCEEDS(mtls_config_set_alpn(cfg, "h2,http/1.1"));
    SUCCEEDS(mtls_config_set_alpn(cfg, NULL)); /* no ALPN */
    SUCCEEDS(mtls_config_set_require_ems(cfg, 1));
    SUCCEEDS(mtls_config_set_trace(cfg, NULL, NULL));
    SUCCEEDS(mtls_config_set_keylog(cfg, NULL, NULL));
    SUCCEEDS(mtls_config_set_verify_callback(cfg, NULL, NULL));
    SUCCEEDS(mtls_config_set_time(cfg, clock_fn, NULL));
    SUCCEEDS(mtls_config_set_session_cache(cfg, 16, 60));
    SUCCEEDS(mtls_config_set_tickets(cfg, 1));
    SUCCEEDS(mtls_config_set_ticket_keys(cfg, keys, 1));
    SUCCEEDS(mtls_config_set_session_store(cfg, store_fn, lookup_fn, NULL, NULL));
    SUCCEEDS(mtls_config_set_session_context(cfg, (const uint8_t *)"app-1", 5));
#undef SUCCEEDS
    mtls_config_free(cfg);
}

/* Lists: unknown names are skipped and named; nothing supported fails and keeps the old list. */
static void test_lists(void)
{
    mtls_config *cfg = mtls_config_new();
    CHECK(cfg != NULL);
    const char *d;

    prime(cfg);
    CHECK_ERR(mtls_config_set_ciphers(cfg, "ECDHE-ECDSA-AES128-GCM-SHA256:BOGUS"), MTLS_OK);
    CHECK_EQ(cfg->n_suites, 1);
    CHECK_EQ(cfg->suites[0], MTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    d = mtls_config_error_detail(cfg);
    CHECK(strstr(d, "BOGUS") != NULL && !strstr(d, "mtls-test-primer"));
    CHECK(strstr(d, "ECDHE-ECDSA-AES128-GCM-SHA256") == NULL); /* only the skipped ones */

    /* IANA and OpenSSL names mixed, separators ':' and ',', a duplicate, unknown names between */
    CHECK_ERR(mtls_config_set_ciphers(cfg, " RC4-MD5 , TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:"
                                           "ECDHE-RSA-AES256-GCM-SHA384,DES-CBC3-SHA, "
                                           "ECDHE-ECDSA-CHACHA20-POLY1305"),
              MTLS_OK);
    CHECK_EQ(cfg->n_suites, 2);
    CHECK_EQ(cfg->suites[0], MTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
    CHECK_EQ(cfg->suites[1], MTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
    d = mtls_config_error_detail(cfg);
    CHECK(strstr(d, "RC4-MD5") != NULL && strstr(d, "DES-CBC3-SHA") != NULL);

    /* Nothing supported: refused, the previous list stays, the names are in the detail. */
    CHECK_ERR(mtls_config_set_ciphers(cfg, "BOGUS:NOPE"), MTLS_ERR_UNKNOWN_NAME);
    CHECK_EQ(cfg->n_suites, 2);
    CHECK_EQ(cfg->suites[0], MTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
    d = mtls_config_error_detail(cfg);
    CHECK(strstr(d, "BOGUS") != NULL && strstr(d, "NOPE") != NULL);

    /* A list without unknown names clears the detail. */
    CHECK_ERR(mtls_config_set_ciphers(cfg, "ECDHE-RSA-AES128-GCM-SHA256"), MTLS_OK);
    CHECK_EQ(mtls_config_error_detail(cfg)[0], 0);

    /* Groups and signature schemes, the same rule. */
    CHECK_ERR(mtls_config_set_groups(cfg, "ffdhe2048:secp384r1:x448"), MTLS_OK);
    CHECK_EQ(cfg->n_groups, 1);
    CHECK_EQ(cfg->groups[0], MTLS_GROUP_SECP384R1);
    d = mtls_config_error_detail(cfg);
    CHECK(strstr(d, "ffdhe2048") != NULL && strstr(d, "x448") != NULL);
    CHECK_ERR(mtls_config_set_groups(cfg, "ffdhe2048"), MTLS_ERR_UNKNOWN_NAME);
    CHECK_EQ(cfg->n_groups, 1);
    CHECK_EQ(cfg->groups[0], MTLS_GROUP_SECP384R1);

    CHECK_ERR(mtls_config_set_sigalgs(cfg, "ed25519,rsa_pss_rsae_sha384,ecdsa_sha1"), MTLS_OK);
    CHECK_EQ(cfg->n_sigalgs, 1);
    CHECK_EQ(cfg->sigalgs[0], MTLS_SIG_RSA_PSS_RSAE_SHA384);
    d = mtls_config_error_detail(cfg);
    CHECK(strstr(d, "ed25519") != NULL && strstr(d, "ecdsa_sha1") != NULL);
    CHECK_ERR(mtls_config_set_sigalgs(cfg, "ed25519:ed448"), MTLS_ERR_UNKNOWN_NAME);
    CHECK_EQ(cfg->n_sigalgs, 1);

    /* Many unknown names: the detail stays bounded and says it was cut. */
    char list[4096];
    size_t n = 0;
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "UNKNOWN-SUITE-%03d:", i);
    snprintf(list + n, sizeof(list) - n, "ECDHE-ECDSA-AES256-GCM-SHA384");
    CHECK_ERR(mtls_config_set_ciphers(cfg, list), MTLS_OK);
    CHECK_EQ(cfg->n_suites, 1);
    d = mtls_config_error_detail(cfg);
    CHECK(strstr(d, "UNKNOWN-SUITE-000") != NULL);
    CHECK(strlen(d) < sizeof(cfg->error_detail));
    CHECK(strstr(d, "...") != NULL);
    mtls_config_free(cfg);
}

/* A frozen config refuses every setter and leaves the detail as it was: other threads may be
 * using the config by then, so the call writes nothing into it. */
static void test_frozen(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *id = &pki->server[TP_P256];
    mtls_config *cfg = mtls_config_new();
    CHECK(cfg != NULL);
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem), id->key_pem,
                                             strlen(id->key_pem)),
              MTLS_OK);
    prime(cfg);
    mtls_conn *conn = mtls_server_new(cfg);
    CHECK(conn != NULL);
    CHECK_ERR(mtls_config_set_ciphers(cfg, "BOGUS"), MTLS_ERR_CONFIG_FROZEN);
    CHECK_ERR(mtls_config_set_require_ems(cfg, 1), MTLS_ERR_CONFIG_FROZEN);
    CHECK(strstr(mtls_config_error_detail(cfg), "mtls-test-primer") != NULL);
    mtls_conn_free(conn);
    mtls_config_free(cfg);
    CHECK_EQ(mtls_config_error_detail(NULL)[0], 0);
    CHECK_ERR(mtls_config_set_ciphers(NULL, "ECDHE-ECDSA-AES128-GCM-SHA256"), MTLS_ERR_INVALID_ARG);
}

int main(void)
{
    test_each_failure_writes_its_own_detail();
    test_each_success_clears();
    test_lists();
    test_frozen();
    return t_done();
}
