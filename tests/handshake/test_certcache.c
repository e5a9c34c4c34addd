/*
 * test_certcache.c -- the per-config cache of parsed peer certificates (src/x509/cache.c).
 *
 * The cache: the same DER gives the same shared object, other DER another one; least recently
 * used eviction; malformed input is never cached; a shared certificate keeps its public key after
 * a handshake; many threads looking up and evicting at once each get exactly the certificate they
 * asked for.  In handshakes: a returning peer is a cache hit on both sides (client and server
 * certificates), and a hit never carries a verdict over -- an expired certificate, a wrong host
 * name and an untrusted CA still fail with their own error on a cached certificate.  The setter:
 * 0 turns the cache off, a size past the bound and a frozen config are refused.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/testpki.h"
#include "core/internal.h"
#include "t.h"
#include "x509/x509_int.h"

static size_t cache_count(x509_cache *c)
{
    size_t n;
    uint64_t h;
    x509_cache_stats(c, &n, &h);
    return n;
}

static uint64_t cache_hits(x509_cache *c)
{
    size_t n;
    uint64_t h;
    x509_cache_stats(c, &n, &h);
    return h;
}

static int64_t fake_now;
static int64_t clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

/* The leaf of a PEM chain, parsed without any cache (the caller frees it). */
static x509_cert *leaf_of(const char *pem)
{
    x509_cert **chain = NULL;
    size_t n = 0;
    CHECK_ERR(x509_chain_from_pem((const uint8_t *)pem, strlen(pem), &chain, &n), MTLS_OK);
    x509_cert *leaf = n ? x509_cert_up_ref(chain[0]) : NULL;
    x509_chain_free(chain, n);
    return leaf;
}

/* Distinct certificates to feed the cache: every server and client leaf of the test PKI. */
#define NDER 6
static const uint8_t *der[NDER];
static size_t der_len[NDER];
static x509_cert *owners[NDER];

static void load_ders(void)
{
    const tp_pki *pki = tp_get();
    for (int k = 0; k < TP_KEY_COUNT; k++) {
        owners[k] = leaf_of(pki->server[k].cert_pem);
        owners[TP_KEY_COUNT + k] = leaf_of(pki->client[k].cert_pem);
    }
    for (int i = 0; i < NDER; i++)
        der[i] = x509_cert_der(owners[i], &der_len[i]);
}

static void test_cache_basics(void)
{
    x509_cache *c = x509_cache_new(2);
    x509_cert *a1, *a2, *b, *cc, *again;
    CHECK(x509_cache_new(0) == NULL);

    CHECK_ERR(x509_cache_parse(c, der[0], der_len[0], &a1), MTLS_OK);
    CHECK_ERR(x509_cache_parse(c, der[0], der_len[0], &a2), MTLS_OK);
    CHECK(a1 == a2); /* same bytes: the same shared object */
    CHECK_EQ(cache_hits(c), 1);
    CHECK_ERR(x509_cache_parse(c, der[1], der_len[1], &b), MTLS_OK);
    CHECK(b != a1);
    CHECK_EQ(cache_count(c), 2);
    CHECK(strcmp(x509_cert_subject(a1), x509_cert_subject(owners[0])) == 0);
    CHECK(strcmp(x509_cert_subject(b), x509_cert_subject(owners[1])) == 0);

    /* One byte different (the last byte of the signature): a different entry, here malformed
     * or not, never the cached object. */
    uint8_t *mut = malloc(der_len[0]);
    memcpy(mut, der[0], der_len[0]);
    mut[der_len[0] - 1] ^= 1;
    x509_cert *m = NULL;
    mtls_err e = x509_cache_parse(c, mut, der_len[0], &m);
    if (e == MTLS_OK) {
        CHECK(m != a1);
        x509_cert_free(m);
    }
    /* Malformed input: an error, and nothing cached. */
    size_t before = cache_count(c);
    uint64_t hits = cache_hits(c);
    CHECK(x509_cache_parse(c, der[0], der_len[0] - 1, &m) != MTLS_OK);
    CHECK(m == NULL);
    CHECK(x509_cache_parse(c, der[0], der_len[0] - 1, &m) != MTLS_OK);
    CHECK_EQ(cache_hits(c), hits);
    CHECK_EQ(cache_count(c), before);
    free(mut);

    /* LRU: refresh der[0]'s entry and der[1]'s; add der[2] (evicts the older of the two), then
     * der[0] and der[1] again -- exactly one of them is still a hit. */
    x509_cert *t0, *t1;
    CHECK_ERR(x509_cache_parse(c, der[0], der_len[0], &t0), MTLS_OK);
    CHECK_ERR(x509_cache_parse(c, der[1], der_len[1], &t1), MTLS_OK);
    hits = cache_hits(c);
    CHECK_ERR(x509_cache_parse(c, der[2], der_len[2], &cc), MTLS_OK); /* evicts der[0] */
    CHECK_EQ(cache_count(c), 2);
    CHECK_ERR(x509_cache_parse(c, der[1], der_len[1], &again), MTLS_OK);
    CHECK_EQ(cache_hits(c), hits + 1);
    CHECK(again == t1);
    x509_cert_free(again);
    CHECK_ERR(x509_cache_parse(c, der[0], der_len[0], &again), MTLS_OK); /* miss: parsed anew */
    CHECK_EQ(cache_hits(c), hits + 1);
    CHECK(again != a1); /* the evicted object lives on for its holders, but is not reused */
    CHECK(strcmp(x509_cert_subject(a1), x509_cert_subject(again)) == 0);
    x509_cert_free(again);
    x509_cert_free(t0);
    x509_cert_free(t1);

    /* A cached certificate keeps its key when a connection is done with it; a private one
     * drops it. */
    CHECK(x509_cert_pubkey(a1) != NULL);
    x509_cert_drop_key(a1);
    CHECK(x509_cert_pubkey(a1) != NULL);
    x509_cert *priv = NULL;
    CHECK_ERR(x509_cache_parse(NULL, der[3], der_len[3], &priv), MTLS_OK); /* no cache */
    CHECK(x509_cert_pubkey(priv) != NULL);
    x509_cert_drop_key(priv);
    CHECK(x509_cert_pubkey(priv) == NULL);
    x509_cert_free(priv);

    x509_cert_free(a1);
    x509_cert_free(a2);
    x509_cert_free(b);
    x509_cache_free(c); /* cc outlives the cache */
    CHECK(strcmp(x509_cert_subject(cc), x509_cert_subject(owners[2])) == 0);
    x509_cert_free(cc);
}

struct worker_arg {
    x509_cache *c;
    unsigned seed;
    int wrong;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    x509_cert *held[4] = {0};
    for (int i = 0; i < 3000; i++) {
        a->seed = a->seed * 1103515245u + 12345u;
        int k = (int)((a->seed >> 16) % NDER);
        x509_cert *got = NULL;
        if (x509_cache_parse(a->c, der[k], der_len[k], &got) != MTLS_OK) {
            a->wrong++;
            continue;
        }
        size_t len;
        const uint8_t *d = x509_cert_der(got, &len);
        if (len != der_len[k] || memcmp(d, der[k], len) != 0 || x509_cert_pubkey(got) == NULL)
            a->wrong++;
        /* keep a few references across evictions */
        x509_cert_free(held[i % 4]);
        held[i % 4] = got;
    }
    for (int i = 0; i < 4; i++)
        x509_cert_free(held[i]);
    return NULL;
}

static void test_cache_threads(void)
{
    x509_cache *c = x509_cache_new(3); /* fewer slots than certificates: constant eviction */
    pthread_t th[4];
    struct worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct worker_arg){c, 7u + (unsigned)i * 7919u, 0};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        wrong += args[i].wrong;
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(cache_count(c), 3);
    CHECK(cache_hits(c) > 0);
    x509_cache_free(c);
}

static mtls_config *server_cfg(tp_key_kind kind, mtls_verify_mode mode)
{
    const tp_pki *pki = tp_get();
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, pki->server[kind].cert_pem,
                                             strlen(pki->server[kind].cert_pem),
                                             pki->server[kind].key_pem,
                                             strlen(pki->server[kind].key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_ca_mem(cfg, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
    CHECK_ERR(mtls_config_set_verify_client(cfg, mode), MTLS_OK);
    CHECK_ERR(mtls_config_set_session_cache(cfg, 0, 0), MTLS_OK); /* full handshakes only */
    CHECK_ERR(mtls_config_set_tickets(cfg, 0), MTLS_OK);
    CHECK_ERR(mtls_config_set_time(cfg, clock_fn, NULL), MTLS_OK);
    return cfg;
}

static mtls_config *client_cfg(const char *ca_pem, const tp_ident *id)
{
    mtls_config *cfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_ca_mem(cfg, ca_pem, strlen(ca_pem)), MTLS_OK);
    if (id)
        CHECK_ERR(mtls_config_set_cert_chain_mem(cfg, id->cert_pem, strlen(id->cert_pem),
                                                 id->key_pem, strlen(id->key_pem)),
                  MTLS_OK);
    CHECK_ERR(mtls_config_set_time(cfg, clock_fn, NULL), MTLS_OK);
    return cfg;
}

static mtls_err connect(mtls_config *ccfg, mtls_config *scfg, const char *host)
{
    mtls_conn *c = mtls_client_new(ccfg, host), *s = mtls_server_new(scfg);
    mtls_err err = tp_handshake(c, s);
    if (err == MTLS_OK) {
        static const char msg[] = "cached or not, data flows";
        CHECK(tp_send_check(c, s, msg, sizeof(msg)));
        CHECK(tp_send_check(s, c, msg, sizeof(msg)));
        CHECK(strstr(mtls_conn_peer_subject(c), "server-") != NULL);
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    return err;
}

static void test_handshakes(void)
{
    const tp_pki *pki = tp_get();
    for (int kind = 0; kind < TP_KEY_COUNT; kind++) {
        fake_now = (int64_t)time(NULL);
        mtls_config *scfg = server_cfg((tp_key_kind)kind, MTLS_VERIFY_REQUIRE);
        mtls_config *ccfg = client_cfg(pki->ca_pem, &pki->client[kind]);

        /* First: both sides parse (misses); then three returning connections are hits on both
         * sides, and need the cached keys (ServerKeyExchange or premaster, CertificateVerify). */
        CHECK_ERR(connect(ccfg, scfg, "localhost"), MTLS_OK);
        CHECK_EQ(cache_hits(ccfg->certs), 0);
        CHECK_EQ(cache_hits(scfg->certs), 0);
        size_t cn = cache_count(ccfg->certs), sn = cache_count(scfg->certs);
        CHECK(cn >= 1 && sn >= 1); /* each peer's chain: leaf (and the CA if sent) */
        for (int i = 0; i < 3; i++)
            CHECK_ERR(connect(ccfg, scfg, "localhost"), MTLS_OK);
        CHECK_EQ(cache_hits(ccfg->certs), 3 * cn);
        CHECK_EQ(cache_hits(scfg->certs), 3 * sn);
        CHECK_EQ(cache_count(ccfg->certs), cn);

        /* A hit is parsing only: the verdict is made again every time. */
        CHECK_ERR(connect(ccfg, scfg, "not-this-host.example"), MTLS_ERR_CERT_HOSTNAME);
        fake_now += 30L * 24 * 3600; /* past notAfter (7 days) */
        CHECK_ERR(connect(ccfg, scfg, "localhost"), MTLS_ERR_CERT_EXPIRED);
        fake_now -= 30L * 24 * 3600;
        CHECK_ERR(connect(ccfg, scfg, "localhost"), MTLS_OK);
        CHECK_EQ(cache_hits(ccfg->certs), 6 * cn);

        /* Another client config that does not trust the CA: same certificate bytes, its own
         * cache and its own verdict. */
        mtls_config *stranger = client_cfg(pki->other_ca_pem, &pki->client[kind]);
        CHECK_ERR(connect(stranger, scfg, "localhost"), MTLS_ERR_CERT_UNKNOWN_CA);
        mtls_config_free(stranger);

        /* The server refuses a stranger's client certificate, cached or not. */
        mtls_config *ccfg2 = client_cfg(pki->ca_pem, &pki->stranger);
        for (int i = 0; i < 2; i++)
            CHECK(connect(ccfg2, scfg, "localhost") != MTLS_OK);
        mtls_config_free(ccfg2);

        mtls_config_free(scfg);
        mtls_config_free(ccfg);
    }
}

static void test_setter(void)
{
    const tp_pki *pki = tp_get();
    fake_now = (int64_t)time(NULL);
    mtls_config *scfg = server_cfg(TP_P256, MTLS_VERIFY_NONE);
    mtls_config *ccfg = client_cfg(pki->ca_pem, NULL);
    CHECK_ERR(mtls_config_set_cert_cache(ccfg, 4097), MTLS_ERR_INVALID_ARG);
    CHECK(strstr(mtls_config_error_detail(ccfg), "4096") != NULL);
    CHECK_ERR(mtls_config_set_cert_cache(ccfg, 0), MTLS_OK);
    CHECK(ccfg->certs == NULL);
    for (int i = 0; i < 3; i++)
        CHECK_ERR(connect(ccfg, scfg, "localhost"), MTLS_OK);
    CHECK_ERR(mtls_config_set_cert_cache(ccfg, 8), MTLS_ERR_CONFIG_FROZEN);
    CHECK_ERR(mtls_config_set_cert_cache(NULL, 8), MTLS_ERR_INVALID_ARG);
    mtls_config_free(ccfg);

    ccfg = client_cfg(pki->ca_pem, NULL);
    CHECK_ERR(mtls_config_set_cert_cache(ccfg, 1), MTLS_OK);
    for (int i = 0; i < 3; i++)
        CHECK_ERR(connect(ccfg, scfg, "localhost"), MTLS_OK);
    CHECK_EQ(cache_count(ccfg->certs), 1);
    /* the server sends leaf + CA: with one slot they evict each other, no hit ever */
    CHECK_EQ(cache_hits(ccfg->certs), 0);
    mtls_config_free(ccfg);
    mtls_config_free(scfg);
}

int main(void)
{
    load_ders();
    test_cache_basics();
    test_cache_threads();
    test_handshakes();
    test_setter();
    for (int i = 0; i < NDER; i++)
        x509_cert_free(owners[i]);
    return t_done();
}
