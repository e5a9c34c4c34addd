/*
 * gen_corpus.c -- writes the seed corpora of every fuzz target from real in-memory handshakes
 * (built with the fuzz flags, so the deterministic RNG makes the seeds exactly what the targets
 * replay).  Usage: gen_corpus CORPUS_DIR   (fuzz/corpus).  Writes fixtures/session.bin (the
 * session a resuming client offers) and fixtures/pairN-to-{client,server}.bin (the recorded
 * handshakes the targets replay) first, then every fuzz/corpus/<target>/seed-*.  libcrypto's own
 * randomness (RSA padding, ECDSA nonces, ECDHE keys) differs on every run, so regenerating means
 * regenerating recordings and seeds together, never one without the other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static const char *root;
static int written;

static void put(const char *target, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/seed-%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    written++;
}

static void put2(const char *target, const char *name, uint8_t b0, const uint8_t *p, size_t n)
{
    uint8_t *buf = malloc(n + 1);
    buf[0] = b0;
    memcpy(buf + 1, p, n);
    put(target, name, buf, n + 1);
    free(buf);
}

/* Extensions of a hello message (header included) into the ext corpora. */
static void seed_hello_exts(const uint8_t *m, size_t len, const char *tag)
{
    rd r = rd_init(m + 4, len - 4), skip, block;
    uint16_t u16;
    uint8_t u8;
    const uint8_t *version_random;
    int client = m[0] == TLS_HS_CLIENT_HELLO;
    if (!rd_bytes(&r, &version_random, 34) || !rd_vec8(&r, &skip))
        return;
    if (client ? !rd_vec16(&r, &skip) || !rd_vec8(&r, &skip) : !rd_u16(&r, &u16) || !rd_u8(&r, &u8))
        return;
    if (!r.n)
        return;
    put("ext_block", tag, r.p, r.n);
    if (!rd_vec16(&r, &block))
        return;
    while (block.n) {
        uint16_t type;
        rd data;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &data))
            return;
        const char *t = NULL;
        switch (type) {
        case TLS_EXT_SERVER_NAME: t = "ext_sni"; break;
        case TLS_EXT_SUPPORTED_GROUPS: t = "ext_groups"; break;
        case TLS_EXT_EC_POINT_FORMATS: t = "ext_point_formats"; break;
        case TLS_EXT_SIGNATURE_ALGORITHMS: t = "ext_sigalgs"; break;
        case TLS_EXT_ALPN: t = "ext_alpn"; break;
        case TLS_EXT_RENEGOTIATION_INFO: t = "ext_reneg"; break;
        case TLS_EXT_STATUS_REQUEST: t = "ext_status_request"; break;
        default: break;
        }
        if (t)
            put(t, tag, data.p, data.n);
    }
}

static void msg_seed(const char *target, int pair, int side, int type)
{
    const fz_script *s = fz_record(pair);
    const fz_event *ev = side ? s->to_server : s->to_client;
    size_t n = side ? s->n_to_server : s->n_to_client;
    if (type == TLS_HS_FINISHED) {
        /* the verify_data the receiver expects, computed in its own state */
        mtls_conn *c = side ? fz_server(s->server_variant) : fz_client(s->client_variant);
        uint8_t vd[12];
        if (fz_replay_until(c, ev, n, FZ_AFTER_CCS) && c->hs->run &&
            hs12_finished_compute(c->hs->run, c->is_server, vd) == MTLS_OK)
            put(target, "recorded", vd, sizeof(vd));
        mtls_conn_free(c);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == FZ_EV_MSG && ev[i].type == type) {
            put(target, "recorded", ev[i].p + 4, ev[i].len - 4);
            return;
        }
    fprintf(stderr, "gen_corpus: no message %d for %s\n", type, target);
    exit(1);
}

static void record_list(const char *name, const uint8_t *items, size_t n)
{
    uint8_t buf[256] = {2, 0};
    memcpy(buf + 2, items, n);
    put("record", name, buf, n + 2);
}

/* fuzz_record13 inputs: byte 0 mode | flags << 2, byte 1 piece size, then the mode's bytes. */
static uint8_t r13[2 * TLS_MAX_PLAINTEXT + 64];
static size_t r13_len;

static void r13_start(uint8_t mode_flags, uint8_t chunk)
{
    r13[0] = mode_flags;
    r13[1] = chunk;
    r13_len = 2;
}

static void r13_add(const void *p, size_t n)
{
    if (n)
        memcpy(r13 + r13_len, p, n);
    r13_len += n;
}

static void r13_u8(uint8_t v)
{
    r13_add(&v, 1);
}

static void r13_u16(size_t v)
{
    r13_u8((uint8_t)(v >> 8));
    r13_u8((uint8_t)v);
}

/* script operation 0: a sealed record, outer type 23 and 0x0303, the inner plaintext = content
 * || type || pad zeros (fill: the content byte, repeated) */
static void r13_sealed(const void *content, size_t len, uint8_t fill, uint8_t type, size_t pad)
{
    r13_u8(0);
    r13_u8(TLS_CT_APPLICATION_DATA);
    r13_u16(0x0303);
    r13_u16(len + 1 + pad);
    if (content) {
        r13_add(content, len);
    } else {
        memset(r13 + r13_len, fill, len);
        r13_len += len;
    }
    r13_u8(type);
    memset(r13 + r13_len, 0, pad);
    r13_len += pad;
}

/* script operations 1, 2, 4: an unprotected record, a key change, the windows */
static void r13_plain(uint8_t type, const void *body, size_t len)
{
    r13_u8(1);
    r13_u8(type);
    r13_u16(len);
    r13_add(body, len);
}

static void r13_op(uint8_t op, uint8_t arg)
{
    r13_u8(op);
    r13_u8(arg);
}

/* a round-trip item */
static void r13_trip(uint8_t type, size_t pad, const void *body, size_t len)
{
    r13_u8(type);
    r13_u16(pad);
    r13_u16(len);
    r13_add(body, len);
}

static void seed_record13(void)
{
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1}, hs[] = {22, 3, 3, 0, 4, 20, 0, 0, 0};
    static const uint8_t garbage[5 + 18] = {23, 3, 3, 0, 18}; /* fails authentication */
    static const uint8_t fin[] = {20, 0, 0, 4, 1, 2, 3, 4}, alert[] = {1, 0}, one = 1;

    r13_start(0 | 1 << 2, 0); /* raw, CCS window open: a CCS, then a record that fails */
    r13_add(ccs, sizeof(ccs));
    r13_add(garbage, sizeof(garbage));
    put("record13", "raw-ccs", r13, r13_len);
    r13_start(1 | 4 << 2, 3); /* raw, ChaCha20, version fixed: an unprotected handshake */
    r13_add(hs, sizeof(hs));
    put("record13", "raw-plain-handshake", r13, r13_len);

    r13_start(2, 0); /* a handshake message, then padded data, then an alert */
    r13_sealed(fin, sizeof(fin), 0, TLS_CT_HANDSHAKE, 0);
    r13_sealed("hello", 5, 0, TLS_CT_APPLICATION_DATA, 40);
    r13_sealed(alert, 2, 0, TLS_CT_ALERT, 1);
    put("record13", "script-records", r13, r13_len);
    r13_start(2, 7);
    r13_sealed(NULL, 0, 0, 0, 3); /* all zeros */
    put("record13", "script-zeros", r13, r13_len);
    r13_start(2, 0);
    r13_sealed(&one, 1, 0, TLS_CT_CHANGE_CIPHER_SPEC, 0); /* a protected CCS */
    put("record13", "script-protected-ccs", r13, r13_len);
    r13_start(2, 0);
    r13_sealed(NULL, 0, 0, TLS_CT_ALERT, 2); /* an empty alert */
    put("record13", "script-empty-alert", r13, r13_len);
    r13_start(2, 0); /* windows open: a plain CCS and a plain alert pass, then a protected record
                      * closes the alert window */
    r13_op(4, 3);
    r13_plain(TLS_CT_CHANGE_CIPHER_SPEC, &one, 1);
    r13_plain(TLS_CT_ALERT, alert, 2);
    r13_sealed(fin, sizeof(fin), 0, TLS_CT_HANDSHAKE, 0);
    r13_plain(TLS_CT_ALERT, alert, 2);
    put("record13", "script-windows", r13, r13_len);
    r13_start(2, 0); /* key changes: AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM */
    r13_sealed(fin, sizeof(fin), 0, TLS_CT_HANDSHAKE, 0);
    r13_op(2, 1);
    r13_sealed("data", 4, 0, TLS_CT_APPLICATION_DATA, 0);
    r13_sealed("more", 4, 0, TLS_CT_APPLICATION_DATA, 0);
    r13_op(2, 2);
    r13_sealed(fin, sizeof(fin), 0, TLS_CT_HANDSHAKE, 7);
    put("record13", "script-key-change", r13, r13_len);
    r13_start(2, 0); /* the inner plaintext bound: 2^14 + 1 passes, 2^14 + 2 (padding) does not */
    r13_sealed(NULL, TLS_MAX_PLAINTEXT, 'A', TLS_CT_APPLICATION_DATA, 0);
    r13_sealed(NULL, TLS_MAX_PLAINTEXT - 8, 'B', TLS_CT_APPLICATION_DATA, 9);
    put("record13", "script-limits", r13, r13_len);

    r13_start(3, 0); /* round trip: data padded by 100, a key change, handshake, alert, empty */
    r13_trip(2, 100, "data", 4);
    r13_trip(0x81, 1, fin, sizeof(fin));
    r13_trip(0, 0, alert, 2);
    r13_trip(2, 0xffff, NULL, 0);
    put("record13", "round-trip", r13, r13_len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];

    /* 1. the session a resuming client offers (fixtures/session.bin) */
    const fz_script *full = fz_record_live(FZ_PAIR_RSA_MUTUAL);
    if (!full->established || !full->session)
        return 1;
    uint8_t sess[4096];
    size_t sess_len;
    if (mtls_session_to_bytes(full->session, sess, sizeof(sess), &sess_len) != MTLS_OK)
        return 1;
    char path[1024];
    snprintf(path, sizeof(path), "%s/session.bin", fz_fixture_dir());
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(sess, 1, sess_len, f) != sess_len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    put("session", "rsa-ticket", sess, sess_len);

    /* 2. every pairing: the streams each side received, and the hellos' extensions */
    for (int p = 0; p < FZ_PAIR_COUNT; p++) {
        const fz_script *s = fz_record_live(p);
        if (!s->established) {
            fprintf(stderr, "gen_corpus: pairing %d did not complete\n", p);
            return 1;
        }
        char tag[32];
        for (int side = 0; side < 2; side++) {
            snprintf(path, sizeof(path), "%s/pair%d-to-%s.bin", fz_fixture_dir(), p,
                     side ? "server" : "client");
            f = fopen(path, "wb");
            size_t n = side ? s->raw_to_server_len : s->raw_to_client_len;
            if (!f || fwrite(side ? s->raw_to_server : s->raw_to_client, 1, n, f) != n ||
                fclose(f) != 0) {
                perror(path);
                return 1;
            }
        }
        snprintf(tag, sizeof(tag), "pair%d", p);
        put2("client", tag, (uint8_t)s->client_variant, s->raw_to_client, s->raw_to_client_len);
        put2("server", tag, (uint8_t)s->server_variant, s->raw_to_server, s->raw_to_server_len);
        snprintf(tag, sizeof(tag), "pair%d-bytewise", p);
        if (p == FZ_PAIR_RSA_MUTUAL) {
            put2("client", tag, (uint8_t)(s->client_variant | 4), s->raw_to_client,
                 s->raw_to_client_len);
            put2("server", tag, (uint8_t)(s->server_variant | 4), s->raw_to_server,
                 s->raw_to_server_len);
        }
        uint8_t hdr[2] = {0, 0};
        uint8_t *rec = malloc(2 + s->raw_to_server_len);
        memcpy(rec, hdr, 2);
        memcpy(rec + 2, s->raw_to_server, s->raw_to_server_len);
        snprintf(tag, sizeof(tag), "to-server-pair%d", p);
        put("record", tag, rec, 2 + s->raw_to_server_len);
        free(rec);
        rec = malloc(2 + s->raw_to_client_len);
        rec[0] = 1;
        rec[1] = 7;
        memcpy(rec + 2, s->raw_to_client, s->raw_to_client_len);
        snprintf(tag, sizeof(tag), "to-client-pair%d", p);
        put("record", tag, rec, 2 + s->raw_to_client_len);
        free(rec);
        for (size_t i = 0; i < s->n_to_server; i++)
            if (s->to_server[i].kind == FZ_EV_MSG && s->to_server[i].type == TLS_HS_CLIENT_HELLO) {
                snprintf(tag, sizeof(tag), "client-hello-pair%d", p);
                seed_hello_exts(s->to_server[i].p, s->to_server[i].len, tag);
            }
        for (size_t i = 0; i < s->n_to_client; i++)
            if (s->to_client[i].kind == FZ_EV_MSG && s->to_client[i].type == TLS_HS_SERVER_HELLO) {
                snprintf(tag, sizeof(tag), "server-hello-pair%d", p);
                seed_hello_exts(s->to_client[i].p, s->to_client[i].len, tag);
            }
        if (s->session && mtls_session_to_bytes(s->session, sess, sizeof(sess), &sess_len) == MTLS_OK) {
            snprintf(tag, sizeof(tag), "pair%d", p);
            put("session", tag, sess, sess_len);
        }
    }

    /* 3. one message target per parser */
#define MSG_TARGET(name, pair, side, type) msg_seed(#name, pair, side, type);
#include "targets.def"
#undef MSG_TARGET

    /* 4. post-handshake record lists (fuzz_record mode 2) */
    static const uint8_t warn[] = {21, 0, 2, 1, 100};
    static const uint8_t fatal[] = {21, 0, 2, 2, 40};
    static const uint8_t close_notify[] = {21, 0, 2, 1, 0, 23, 0, 3, 'b', 'y', 'e'};
    static const uint8_t empties[] = {23, 0, 0, 23, 0, 0, 23, 0, 0, 23, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t hello_req[] = {22, 0, 4, 0, 0, 0, 0, 23, 0, 2, 'h', 'i'};
    static const uint8_t ccs[] = {20, 0, 1, 1};
    static const uint8_t unknown[] = {99, 0, 1, 0};
    record_list("warning-alert", warn, sizeof(warn));
    record_list("fatal-alert", fatal, sizeof(fatal));
    record_list("close-notify", close_notify, sizeof(close_notify));
    record_list("empty-records", empties, sizeof(empties));
    record_list("hello-request", hello_req, sizeof(hello_req));
    record_list("ccs", ccs, sizeof(ccs));
    record_list("unknown-type", unknown, sizeof(unknown));
    {
        /* a renegotiating ClientHello after the handshake */
        const fz_event *ev = full->to_server;
        for (size_t i = 0; i < full->n_to_server; i++)
            if (ev[i].kind == FZ_EV_MSG && ev[i].type == TLS_HS_CLIENT_HELLO && ev[i].len < 240) {
                uint8_t l[260];
                l[0] = 22;
                be16_put(l + 1, (uint16_t)ev[i].len);
                memcpy(l + 3, ev[i].p, ev[i].len);
                record_list("renegotiation", l, 3 + ev[i].len);
            }
    }

    /* 5. the record layer alone (fuzz_record modes 4-6): in clear, a header with the wrong
     * version after the first record, application data; a round-trip list */
    {
        static const uint8_t clear[] = {4, 3, 22, 3, 1, 0, 2, 1, 2, 23, 3, 3, 0, 3, 'a', 'b', 'c',
                                        22, 3, 1, 0, 1, 0};
        static const uint8_t sealed[] = {5, 0, 23, 3, 3, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3,
                                         4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        static const uint8_t trip[] = {6, 5, 22, 0, 3, 'a', 'b', 'c', 23, 0, 0, 21, 0, 2, 1, 0};
        put("record", "layer-clear", clear, sizeof(clear));
        put("record", "layer-sealed", sealed, sizeof(sealed));
        put("record", "layer-round-trip", trip, sizeof(trip));
    }

    /* 6. PEM: every fixture chain with its key, and the CA */
    static const char *ids[][2] = {{"server-rsa.pem", "server-rsa.key"},
                                   {"server-ec.pem", "server-ec.key"},
                                   {"client-ec.pem", "client-ec.key"}};
    for (size_t i = 0; i < 3; i++) {
        size_t a, b;
        const uint8_t *pa = fz_fixture(ids[i][0], &a), *pb = fz_fixture(ids[i][1], &b);
        uint8_t *both = malloc(a + b);
        memcpy(both, pa, a);
        memcpy(both + a, pb, b);
        put("pem", ids[i][0], both, a + b);
        free(both);
    }
    size_t ca_len;
    const uint8_t *ca = fz_fixture("ca.pem", &ca_len);
    put("pem", "ca.pem", ca, ca_len);

    /* 7. TLS 1.3 records (fuzz_record13): raw bytes under a read key, scripts of sealed and
     * unprotected records and key changes, a padded round trip */
    seed_record13();

    printf("gen_corpus: %d seeds under %s\n", written, root);
    return 0;
}
