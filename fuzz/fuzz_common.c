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
static fixture fixtures[48];

const uint8_t *fz_fixture(const char *name, size_t *len)
{
    size_t i;
    for (i = 0; i < 48 && fixtures[i].name[0]; i++)
        if (strcmp(fixtures[i].name, name) == 0) {
            *len = fixtures[i].len;
            return fixtures[i].p;
        }
    *len = 0;
    if (i == 48)
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
    if (v == 0 || v == 3)
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
    if (v == 3) {
        must(mtls_config_set_verify_client(cfg, MTLS_VERIFY_OPTIONAL), "verify");
        must(mtls_config_set_groups(cfg, "P-256:x25519:P-384"), "groups");
        must(mtls_config_set_psk_ke(cfg, 1), "psk_ke");
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
    if (v == 1 || v == 2) {
        must(mtls_config_set_ciphers(cfg, "TLS_RSA_WITH_AES_128_GCM_SHA256:"
                                          "TLS_RSA_WITH_AES_256_GCM_SHA384"),
             "ciphers");
        must(mtls_config_set_alpn(cfg, "http/1.1,h2"), "alpn");
    }
    if (v == 3)
        must(mtls_config_set_versions(cfg, MTLS_VERSION_TLS12, MTLS_VERSION_TLS12), "versions");
    if (v == 4 || v == 5) {
        must(mtls_config_set_versions(cfg, MTLS_VERSION_TLS13, MTLS_VERSION_TLS13), "versions");
        must(mtls_config_set_groups(cfg, "P-256"), "groups");
        must(mtls_config_set_alpn(cfg, "http/1.1,h2"), "alpn");
        must(mtls_config_set_ocsp_request(cfg, 1), "ocsp request");
    }
    client_cfgs[v] = cfg;
    return cfg;
}

/* The session a client variant offers (fixtures/session.bin, session13.bin), read once. */
static mtls_session *fixture_session(int v)
{
    static mtls_session *s[2];
    static int tried[2];
    int i = v == 5;
    if (v != 2 && v != 5)
        return NULL;
    if (!tried[i]) {
        size_t len;
        const uint8_t *p = fz_fixture(i ? "session13.bin" : "session.bin", &len);
        if (p)
            s[i] = mtls_session_from_bytes(p, len);
        tried[i] = 1;
    }
    return s[i];
}

/* The config and the session are made before the RNG stream starts: whatever they draw (once,
 * on first use) must not shift the connection's stream. */
mtls_conn *fz_client(int v)
{
    mtls_config *cfg = fz_client_config(v);
    mtls_session *sess = fixture_session(v);
    cry_fuzz_rng_set(FZ_SEED_CLIENT);
    mtls_conn *c = mtls_client_new(cfg, "localhost");
    if (!c)
        abort();
    if (sess)
        (void)mtls_conn_set_session(c, sess);
    return c;
}

mtls_conn *fz_server(int v)
{
    mtls_config *cfg = fz_server_config(v);
    cry_fuzz_rng_set(FZ_SEED_SERVER);
    mtls_conn *c = mtls_server_new(cfg);
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

static mtls_err feed_as_peer(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n,
                             size_t chunk)
{
    static uint8_t rec[TLS_RECORD_HEADER + TLS_MAX_PLAINTEXT + 256];
    if (!c->rec.in.aead || type == TLS_CT_CHANGE_CIPHER_SPEC)
        return fz_feed_plain(c, type, p, n);
    mtls_err err;
    do {
        /* A copy of c's read direction: the same cipher context (aead.c sets the direction per
         * call), IV and sequence number; sealing advances only the copy's, which is never
         * freed.  Taken per record: one may change c's read key (a KeyUpdate). */
        rec_dir w = c->rec.in;
        size_t k = n < TLS_MAX_PLAINTEXT ? n : TLS_MAX_PLAINTEXT, rec_len;
        if (!w.aead || rec_seal(&w, type, rec, k ? p : NULL, k, &rec_len) != MTLS_OK)
            return MTLS_ERR_CRYPTO;
        err = fz_feed(c, rec, rec_len, chunk);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return err;
        p += k;
        n -= k;
    } while (n);
    return err;
}

mtls_err fz_feed_as_peer(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n)
{
    return feed_as_peer(c, type, p, n, 0);
}

mtls_err fz_feed_items(mtls_conn *c, const uint8_t *p, size_t n, size_t chunk)
{
    rd r = rd_init(p, n), item;
    uint8_t type;
    mtls_err err = MTLS_OK;
    while (rd_u8(&r, &type) && rd_vec16(&r, &item)) {
        err = type == 0 ? fz_feed(c, item.p, item.n, chunk)
                        : feed_as_peer(c, type, item.p, item.n, chunk);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            break;
    }
    return err;
}

size_t fz_items(const fz_event *ev, size_t n, uint8_t *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t type = ev[i].kind == FZ_EV_MSG   ? TLS_CT_HANDSHAKE
                       : ev[i].kind == FZ_EV_CCS ? TLS_CT_CHANGE_CIPHER_SPEC
                       : ev[i].kind == FZ_EV_RAW ? 0
                                                 : ev[i].type;
        if (ev[i].len > 0xffff || cap - len < 3 + ev[i].len)
            abort();
        out[len] = type;
        be16_put(out + len + 1, (uint16_t)ev[i].len);
        memcpy(out + len + 3, ev[i].p, ev[i].len);
        len += 3 + ev[i].len;
    }
    return len;
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
    static const int map[FZ_PAIR_COUNT][2] = {{3, 0}, {1, 1}, {2, 1}, {3, 2},
                                              {0, 1}, {4, 2}, {0, 3}, {5, 2}};
    *cv = map[pair][0];
    *sv = map[pair][1];
}

typedef struct splitter {
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

/* Cut one record that `to` is about to read into events, in plaintext: a protected record is
 * opened with a copy of to's read direction (the same cipher context, IV and sequence number:
 * it opens what `to` will open, and only the copy's sequence number moves); handshake data is
 * reassembled into messages.  A protected record that does not open (a recording `to` does not
 * follow) is kept as wire bytes. */
static void split_record(splitter *sp, const mtls_conn *to, const uint8_t *rec, size_t len,
                         fz_event *ev, size_t *nev)
{
    static uint8_t copy[TLS_RECORD_HEADER + TLS_MAX_CIPHERTEXT + 2048];
    uint8_t type = rec[0];
    const uint8_t *body = rec + TLS_RECORD_HEADER;
    size_t body_len = len - TLS_RECORD_HEADER;
    if (to->rec.in.aead && type != TLS_CT_CHANGE_CIPHER_SPEC) {
        rec_dir d = to->rec.in;
        uint8_t *plain = NULL;
        if (len <= sizeof(copy))
            memcpy(copy, rec, len);
        if (len > sizeof(copy) || rec_open(&d, copy, len, &plain, &body_len) != MTLS_OK) {
            add_event(ev, nev, FZ_EV_RAW, type, rec, len);
            return;
        }
        type = copy[0];
        body = plain;
    }
    if (type == TLS_CT_CHANGE_CIPHER_SPEC) {
        add_event(ev, nev, FZ_EV_CCS, type, body, body_len);
    } else if (type != TLS_CT_HANDSHAKE) {
        add_event(ev, nev, FZ_EV_RECORD, type, body, body_len);
    } else {
        if (body_len > sizeof(sp->hs) - sp->hs_len)
            abort();
        memcpy(sp->hs + sp->hs_len, body, body_len);
        sp->hs_len += body_len;
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

/* The length of the whole record at p (n bytes left), or 0 when it is cut short. */
static size_t record_len(const uint8_t *p, size_t n)
{
    if (n < TLS_RECORD_HEADER)
        return 0;
    size_t len = TLS_RECORD_HEADER + be16_get(p + 3);
    return len <= n ? len : 0;
}

/* Give `to` one record without taking its output (which goes to the peer). */
static void give(mtls_conn *to, const uint8_t *p, size_t n)
{
    while (n) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || !room)
            return;
        size_t k = n < room ? n : room;
        memcpy(dst, p, k);
        p += k;
        n -= k;
        mtls_err err = mtls_recv_ack(to, k);
        if (err && err != MTLS_ERR_WANT_READ)
            return;
    }
}

/* Move everything `from` has queued to `to`, record by record, under `to`'s RNG stream, and cut
 * it into events as `to` reads it. */
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
    cry_fuzz_rng_set(*to_rng);
    for (size_t off = 0, len; (len = record_len(copy + off, n - off)) != 0; off += len) {
        split_record(sp, to, copy + off, len, ev, nev);
        give(to, copy + off, len);
    }
    *to_rng = cry_fuzz_rng_get();
    free(copy);
    return 1;
}

static fz_script *scripts[FZ_PAIR_COUNT], *live[FZ_PAIR_COUNT];

/* The recording gen_corpus saved (fixtures/pairN-to-{client,server}.bin), cut into events by a
 * fresh connection of each side that reads it (as fz_record_live cut it).  A recording is kept,
 * not remade per run: the seeds of the targets are taken from it. */
const fz_script *fz_record(int pair)
{
    if (scripts[pair])
        return scripts[pair];
    fz_script *s = calloc(1, sizeof(*s));
    fz_pair_variants(pair, &s->client_variant, &s->server_variant);
    static splitter sp;
    s->established = 1;
    for (int side = 0; side < 2; side++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof(name), "pair%d-to-%s.bin", pair, side ? "server" : "client");
        const uint8_t *p = need(name, &len);
        memset(&sp, 0, sizeof(sp));
        mtls_conn *to = side ? fz_server(s->server_variant) : fz_client(s->client_variant);
        if (!side)
            (void)mtls_handshake(to);
        fz_drain(to);
        fz_event *ev = side ? s->to_server : s->to_client;
        size_t *nev = side ? &s->n_to_server : &s->n_to_client;
        for (size_t off = 0, rlen; (rlen = record_len(p + off, len - off)) != 0; off += rlen) {
            split_record(&sp, to, p + off, rlen, ev, nev);
            (void)fz_feed(to, p + off, rlen, 0);
        }
        if (side)
            append(&s->raw_to_server, &s->raw_to_server_len, p, len);
        else
            append(&s->raw_to_client, &s->raw_to_client_len, p, len);
        if (!mtls_conn_established(to)) {
            s->established = 0;
            fprintf(stderr,
                    "fuzz: the recording of pair %d does not replay to the %s (%s: %s); "
                    "regenerate it with fuzz/run.sh --gen\n",
                    pair, side ? "server" : "client", mtls_err_name(mtls_conn_error(to)),
                    mtls_conn_error_detail(to));
        }
        mtls_conn_free(to);
    }
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
        fprintf(stderr,
                "fuzz: recording pair %d did not complete: client %s (%s), server %s (%s)\n", pair,
                mtls_err_name(mtls_conn_error(c)), mtls_conn_error_detail(c),
                mtls_err_name(mtls_conn_error(sv)), mtls_conn_error_detail(sv));
    /* TLS 1.3 tickets wait unopened after the handshake (mtls_recv_ack leaves protected records
     * for mtls_read); mtls_handshake on an established connection reads them. */
    if (s->established)
        (void)mtls_handshake(c);
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

static mtls_err replay_one(mtls_conn *c, const fz_event *e)
{
    switch (e->kind) {
    case FZ_EV_MSG:
        return fz_feed_as_peer(c, TLS_CT_HANDSHAKE, e->p, e->len);
    case FZ_EV_CCS:
        return fz_feed_plain(c, TLS_CT_CHANGE_CIPHER_SPEC, e->p, e->len);
    case FZ_EV_RECORD:
        return fz_feed_as_peer(c, e->type, e->p, e->len);
    case FZ_EV_RAW:
        break;
    }
    return fz_feed(c, e->p, e->len, 0);
}

mtls_err fz_replay_events(mtls_conn *c, const fz_event *ev, size_t from, size_t n)
{
    mtls_err err = MTLS_OK;
    for (size_t i = from; i < n; i++) {
        err = replay_one(c, &ev[i]);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return err;
    }
    return err;
}

long fz_replay_until(mtls_conn *c, const fz_event *ev, size_t n, int type, int nth)
{
    if (!c->is_server)
        (void)mtls_handshake(c);
    fz_drain(c);
    for (size_t i = 0; i < n; i++) {
        if (type != FZ_END && ev[i].kind == FZ_EV_MSG && ev[i].type == type && nth-- == 0)
            return (long)i;
        mtls_err err = replay_one(c, &ev[i]);
        if (err != MTLS_OK && err != MTLS_ERR_WANT_READ)
            return -1;
    }
    return type == FZ_END ? (long)n : -1;
}
