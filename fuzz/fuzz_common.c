/*
 * fuzz_common.c -- shared harness of the fuzz targets (see fuzz_common.h): fixed configs, feeding
 * bytes, and recording / replaying in-memory handshakes with one deterministic RNG stream per
 * side, so that a replayed side sees exactly what it saw when the handshake was recorded.
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MTLS_FUZZ_FIXTURES
#define MTLS_FUZZ_FIXTURES "fuzz/fixtures"
#endif

/* ---- fixtures ---------------------------------------------------------------------------- */

const char *fz_fixture_dir(void)
{
    const char *env = getenv("MTLS_FUZZ_FIXTURES");
    return env && env[0] ? env : MTLS_FUZZ_FIXTURES;
}

typedef struct fixture {
    char name[64];
    uint8_t *p;
    size_t len;
} fixture;
static fixture fixtures[16];

const uint8_t *fz_fixture(const char *name, size_t *len)
{
    size_t i;
    for (i = 0; i < 16 && fixtures[i].name[0]; i++)
        if (strcmp(fixtures[i].name, name) == 0) {
            *len = fixtures[i].len;
            return fixtures[i].p;
        }
    *len = 0;
    if (i == 16)
        return NULL;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", fz_fixture_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap + 1);
            if (!buf)
                abort();
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = 0;
    snprintf(fixtures[i].name, sizeof(fixtures[i].name), "%s", name);
    fixtures[i].p = buf;
    fixtures[i].len = n;
    *len = n;
    return buf;
}

static const uint8_t *need(const char *name, size_t *len)
{
    const uint8_t *p = fz_fixture(name, len);
    if (!p) {
        fprintf(stderr, "fuzz: missing fixture %s/%s\n", fz_fixture_dir(), name);
        abort();
    }
    return p;
}

/* ---- configs ----------------------------------------------------------------------------- */

static int64_t fixed_now(void *arg)
{
    (void)arg;
    return FZ_NOW;
}

static void must(mtls_err err, const char *what)
{
    if (err != MTLS_OK) {
        fprintf(stderr, "fuzz: %s: %s\n", what, mtls_err_name(err));
        abort();
    }
}

static void set_identity(mtls_config *cfg, const char *pem, const char *key)
{
    size_t pl, kl;
    const uint8_t *p = need(pem, &pl), *k = need(key, &kl);
    must(mtls_config_set_cert_chain_mem(cfg, p, pl, k, kl), pem);
}

static void set_ca(mtls_config *cfg)
{
    size_t l;
    const uint8_t *p = need("ca.pem", &l);
    must(mtls_config_set_ca_mem(cfg, p, l), "ca.pem");
}

static mtls_config *server_cfgs[FZ_SERVER_VARIANTS], *client_cfgs[FZ_CLIENT_VARIANTS];

mtls_config *fz_server_config(int v)
{
    if (v < 0 || v >= FZ_SERVER_VARIANTS)
        v = 0;
    if (server_cfgs[v])
        return server_cfgs[v];
    mtls_config *cfg = mtls_config_new();
    if (!cfg)
        abort();
    if (v == 0)
        set_identity(cfg, "server-ec.pem", "server-ec.key");
    else
        set_identity(cfg, "server-rsa.pem", "server-rsa.key");
    set_ca(cfg);
    must(mtls_config_set_time(cfg, fixed_now, NULL), "time");
    must(mtls_config_set_session_cache(cfg, 0, 0), "cache");
    /* No certificate cache: an input must behave alone as it did after others (the cache is
     * tested in tests/handshake/test_certcache.c, parsing by fuzz_x509). */
    must(mtls_config_set_cert_cache(cfg, 0), "cert cache");
    uint8_t keys[80];
    for (size_t i = 0; i < sizeof(keys); i++)
        keys[i] = i < 48 ? (uint8_t)(0xa0 + i) : 0;
    must(mtls_config_set_ticket_keys(cfg, keys, 1), "ticket keys");
    if (v == 1)
        must(mtls_config_set_verify_client(cfg, MTLS_VERIFY_REQUIRE), "verify");
    if (v == 2) {
        must(mtls_config_set_verify_client(cfg, MTLS_VERIFY_OPTIONAL), "verify");
        must(mtls_config_set_alpn(cfg, "h2,http/1.1"), "alpn");
        must(mtls_config_set_prefer_client_order(cfg, 1), "order");
    }
    server_cfgs[v] = cfg;
    return cfg;
}

mtls_config *fz_client_config(int v)
{
    if (v < 0 || v >= FZ_CLIENT_VARIANTS)
        v = 0;
    if (client_cfgs[v])
        return client_cfgs[v];
    mtls_config *cfg = mtls_config_new();
    if (!cfg)
        abort();
    set_ca(cfg);
    must(mtls_config_set_time(cfg, fixed_now, NULL), "time");
    must(mtls_config_set_cert_cache(cfg, 0), "cert cache");
    set_identity(cfg, "client-ec.pem", "client-ec.key");
    if (v >= 1) {
        must(mtls_config_set_ciphers(cfg, "TLS_RSA_WITH_AES_128_GCM_SHA256:"
                                          "TLS_RSA_WITH_AES_256_GCM_SHA384"),
             "ciphers");
        must(mtls_config_set_alpn(cfg, "http/1.1,h2"), "alpn");
    }
    client_cfgs[v] = cfg;
    return cfg;
}

static mtls_session *fixture_session(void)
{
    static mtls_session *s;
    if (!s) {
        size_t len;
        const uint8_t *p = fz_fixture("session.bin", &len);
        if (p)
            s = mtls_session_from_bytes(p, len);
    }
    return s;
}

mtls_conn *fz_client(int v)
{
    cry_fuzz_rng_set(FZ_SEED_CLIENT);
    mtls_conn *c = mtls_client_new(fz_client_config(v), "localhost");
    if (!c)
        abort();
    if (v == 2 && fixture_session())
        (void)mtls_conn_set_session(c, fixture_session());
    return c;
}

mtls_conn *fz_server(int v)
{
    cry_fuzz_rng_set(FZ_SEED_SERVER);
    mtls_conn *c = mtls_server_new(fz_server_config(v));
    if (!c)
        abort();
    return c;
}

/* ---- feeding ----------------------------------------------------------------------------- */

void fz_drain(mtls_conn *c)
{
    size_t n;
    while (mtls_send_buf(c, &n) && n)
        mtls_send_ack(c, n);
}

static void read_all(mtls_conn *c)
{
    uint8_t buf[4096];
    size_t got;
    while (mtls_conn_established(c) && mtls_read(c, buf, sizeof(buf), &got) == MTLS_OK && got)
        ;
}

mtls_err fz_feed(mtls_conn *c, const uint8_t *p, size_t n, size_t chunk)
{
    mtls_err err = MTLS_OK;
    while (n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(c, &room);
        if (!dst || room == 0) {
            read_all(c);
            dst = mtls_recv_buf(c, &room);
            if (!dst || room == 0)
                return MTLS_ERR_WANT_WRITE;
        }
        size_t take = n < room ? n : room;
        if (chunk && take > chunk)
            take = chunk;
        memcpy(dst, p, take);
        err = mtls_recv_ack(c, take);
        fz_drain(c);
        read_all(c);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return err;
        p += take;
        n -= take;
    }
    return err;
}

mtls_err fz_feed_plain(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n)
{
    mtls_err err = MTLS_OK;
    do {
        size_t k = n < TLS_MAX_PLAINTEXT ? n : TLS_MAX_PLAINTEXT;
        uint8_t rec[TLS_RECORD_HEADER + TLS_MAX_PLAINTEXT];
        rec[0] = type;
        rec[1] = 3;
        rec[2] = 3;
        be16_put(rec + 3, (uint16_t)k);
        if (k)
            memcpy(rec + TLS_RECORD_HEADER, p, k);
        err = fz_feed(c, rec, TLS_RECORD_HEADER + k, 0);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return err;
        p += k;
        n -= k;
    } while (n);
    return err;
}

mtls_err fz_feed_sealed(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n)
{
    struct hs *hs = c->hs ? c->hs->run : NULL;
    if (!hs || !hs->suite || !c->rec.in.aead)
        return MTLS_ERR_BAD_STATE;
    const suite_info *s = hs->suite;
    const uint8_t *ckey = hs->k12.key_block, *skey = ckey + s->key_len;
    const uint8_t *civ = skey + s->key_len, *siv = civ + s->fixed_iv_len;
    rec_dir w;
    memset(&w, 0, sizeof(w));
    /* the peer writes with the other side's keys */
    rec_key key = {
        MTLS_VERSION_TLS12,       s->aead,         c->is_server ? ckey : skey, s->key_len,
        c->is_server ? civ : siv, s->fixed_iv_len, MTLS_PROTECTION_TLS12,      0};
    if (rec_dir_init(&w, &key, true) != MTLS_OK)
        return MTLS_ERR_CRYPTO;
    w.seq = c->rec.in.seq;
    mtls_err err = MTLS_OK;
    static uint8_t rec[TLS_RECORD_HEADER + TLS_MAX_PLAINTEXT + 64];
    do {
        size_t k = n < TLS_MAX_PLAINTEXT ? n : TLS_MAX_PLAINTEXT, rec_len;
        if (rec_seal(&w, type, rec, k ? p : NULL, k, &rec_len) != MTLS_OK) {
            err = MTLS_ERR_CRYPTO;
            break;
        }
        err = fz_feed(c, rec, rec_len, 0);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            break;
        p += k;
        n -= k;
    } while (n);
    rec_dir_clear(&w);
    return err;
}

void fz_exercise(mtls_conn *c)
{
    static int debug = -1;
    if (debug < 0)
        debug = getenv("MTLS_FUZZ_DEBUG") != NULL;
    if (debug)
        fprintf(stderr, "fuzz: %s %s: %s%s%s\n", c->is_server ? "server" : "client",
                mtls_conn_established(c) ? "established" : "not established",
                mtls_err_name(mtls_conn_error(c)), mtls_conn_error(c) ? " - " : "",
                mtls_conn_error_detail(c));
    if (!mtls_conn_established(c))
        return;
    read_all(c);
    size_t w;
    (void)mtls_write(c, "fuzz", 4, &w);
    (void)mtls_conn_version(c);
    (void)mtls_conn_alpn(c);
    (void)mtls_conn_peer_subject(c);
    mtls_session *s = mtls_conn_get_session(c);
    if (s) {
        size_t len = 0;
        (void)mtls_session_to_bytes(s, NULL, 0, &len);
        mtls_session_free(s);
    }
    (void)mtls_close(c);
    fz_drain(c);
}

/* ---- recording ----------------------------------------------------------------------------- */

void fz_pair_variants(int pair, int *cv, int *sv)
{
    static const int map[FZ_PAIR_COUNT][2] = {{0, 0}, {1, 1}, {2, 1}, {0, 2}};
    *cv = map[pair][0];
    *sv = map[pair][1];
}

typedef struct splitter {
    int ccs_seen;
    uint8_t hs[256 * 1024];
    size_t hs_len;
} splitter;

static void add_event(fz_event *ev, size_t *n, fz_ev_kind kind, uint8_t type, const uint8_t *p,
                      size_t len)
{
    if (*n == FZ_MAX_EVENTS)
        abort();
    fz_event *e = &ev[(*n)++];
    e->kind = kind;
    e->type = type;
    e->p = malloc(len ? len : 1);
    memcpy(e->p, p, len);
    e->len = len;
}

static void append(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, p, n);
    *len += n;
}

/* Cut what a sender sent into events for the receiver. */
static void split(splitter *sp, const uint8_t *p, size_t n, fz_event *ev, size_t *nev)
{
    for (size_t off = 0; off + TLS_RECORD_HEADER <= n;) {
        size_t len = TLS_RECORD_HEADER + be16_get(p + off + 3);
        const uint8_t *rec = p + off;
        off += len;
        if (rec[0] == TLS_CT_CHANGE_CIPHER_SPEC) {
            sp->ccs_seen = 1;
            add_event(ev, nev, FZ_EV_CCS, 0, rec, len);
        } else if (sp->ccs_seen || rec[0] != TLS_CT_HANDSHAKE) {
            add_event(ev, nev, FZ_EV_SEALED, 0, rec, len);
        } else {
            memcpy(sp->hs + sp->hs_len, rec + TLS_RECORD_HEADER, len - TLS_RECORD_HEADER);
            sp->hs_len += len - TLS_RECORD_HEADER;
            size_t used = 0;
            while (sp->hs_len - used >= 4) {
                size_t mlen = 4 + be24_get(sp->hs + used + 1);
                if (sp->hs_len - used < mlen)
                    break;
                add_event(ev, nev, FZ_EV_MSG, sp->hs[used], sp->hs + used, mlen);
                used += mlen;
            }
            memmove(sp->hs, sp->hs + used, sp->hs_len - used);
            sp->hs_len -= used;
        }
    }
}

/* Move everything `from` has queued to `to`, under `to`'s RNG stream. */
static int transfer(mtls_conn *from, mtls_conn *to, uint64_t *to_rng, splitter *sp,
                    fz_event *ev, size_t *nev, uint8_t **raw, size_t *raw_len)
{
    size_t n;
    const uint8_t *p = mtls_send_buf(from, &n);
    if (!p || !n)
        return 0;
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    mtls_send_ack(from, n);
    append(raw, raw_len, copy, n);
    split(sp, copy, n, ev, nev);
    cry_fuzz_rng_set(*to_rng);
    size_t off = 0;
    while (off < n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || !room)
            break;
        size_t k = n - off < room ? n - off : room;
        memcpy(dst, copy + off, k);
        off += k;
        mtls_err err = mtls_recv_ack(to, k);
        if (err && err != MTLS_ERR_WANT_READ)
            break;
    }
    *to_rng = cry_fuzz_rng_get();
    free(copy);
    return 1;
}

static fz_script *scripts[FZ_PAIR_COUNT], *live[FZ_PAIR_COUNT];

/* The recording gen_corpus saved (fixtures/pairN-to-{client,server}.bin), cut into events.  A
 * recording is made once and kept: libcrypto's own randomness (RSA padding, ECDSA nonces, ECDHE
 * keys) makes every live handshake differ, and seeds only replay against their own recording. */
const fz_script *fz_record(int pair)
{
    if (scripts[pair])
        return scripts[pair];
    fz_script *s = calloc(1, sizeof(*s));
    fz_pair_variants(pair, &s->client_variant, &s->server_variant);
    static splitter sp;
    for (int side = 0; side < 2; side++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof(name), "pair%d-to-%s.bin", pair, side ? "server" : "client");
        const uint8_t *p = need(name, &len);
        memset(&sp, 0, sizeof(sp));
        if (side) {
            append(&s->raw_to_server, &s->raw_to_server_len, p, len);
            split(&sp, p, len, s->to_server, &s->n_to_server);
        } else {
            append(&s->raw_to_client, &s->raw_to_client_len, p, len);
            split(&sp, p, len, s->to_client, &s->n_to_client);
        }
    }
    s->established = 1;
    scripts[pair] = s;
    return s;
}

const fz_script *fz_record_live(int pair)
{
    if (live[pair])
        return live[pair];
    fz_script *s = calloc(1, sizeof(*s));
    fz_pair_variants(pair, &s->client_variant, &s->server_variant);
    static splitter sp_c, sp_s;
    memset(&sp_c, 0, sizeof(sp_c));
    memset(&sp_s, 0, sizeof(sp_s));
    mtls_conn *c = fz_client(s->client_variant);
    uint64_t crng = cry_fuzz_rng_get();
    mtls_conn *sv = fz_server(s->server_variant);
    uint64_t srng = cry_fuzz_rng_get();
    cry_fuzz_rng_set(crng);
    (void)mtls_handshake(c);
    crng = cry_fuzz_rng_get();
    for (int round = 0; round < 16; round++) {
        int moved = transfer(c, sv, &srng, &sp_s, s->to_server, &s->n_to_server,
                             &s->raw_to_server, &s->raw_to_server_len);
        moved |= transfer(sv, c, &crng, &sp_c, s->to_client, &s->n_to_client,
                          &s->raw_to_client, &s->raw_to_client_len);
        if (!moved)
            break;
    }
    s->established = mtls_conn_established(c) && mtls_conn_established(sv);
    if (!s->established)
        fprintf(stderr, "fuzz: recording pair %d did not complete: client %s (%s), server %s (%s)\n",
                pair, mtls_err_name(mtls_conn_error(c)), mtls_conn_error_detail(c),
                mtls_err_name(mtls_conn_error(sv)), mtls_conn_error_detail(sv));
    s->session = mtls_conn_get_session(c);
    mtls_conn_free(c);
    mtls_conn_free(sv);
    live[pair] = s;
    return s;
}

void fz_script_free(fz_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_to_client; i++)
        free(s->to_client[i].p);
    for (size_t i = 0; i < s->n_to_server; i++)
        free(s->to_server[i].p);
    free(s->raw_to_client);
    free(s->raw_to_server);
    mtls_session_free(s->session);
    free(s);
}

int fz_replay_until(mtls_conn *c, const fz_event *ev, size_t n, int type)
{
    if (!c->is_server)
        (void)mtls_handshake(c);
    fz_drain(c);
    for (size_t i = 0; i < n; i++) {
        if (type >= 0 && type < 256 && ev[i].kind == FZ_EV_MSG && ev[i].type == type)
            return 1;
        mtls_err err = ev[i].kind == FZ_EV_MSG ? fz_feed_plain(c, TLS_CT_HANDSHAKE, ev[i].p, ev[i].len)
                                               : fz_feed(c, ev[i].p, ev[i].len, 0);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return 0;
        if (type == FZ_AFTER_CCS && ev[i].kind == FZ_EV_CCS)
            return 1;
    }
    return type < 0;
}
