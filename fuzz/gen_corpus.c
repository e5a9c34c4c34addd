/*
 * gen_corpus.c -- writes the seed corpora of every fuzz target from real in-memory handshakes
 * (built with the fuzz flags, so the deterministic RNG makes the seeds exactly what the targets
 * replay).  Usage: gen_corpus CORPUS_DIR (fuzz/corpus), or gen_corpus --check (do the saved
 * recordings still replay to the end?  fuzz/run.sh --replay asks, so CI does).  Writes fixtures/session.bin and
 * session13.bin (the TLS 1.2 and 1.3 sessions resuming clients offer) and
 * fixtures/pairN-to-{client,server}.bin (the recorded handshakes the targets replay) first, then
 * every fuzz/corpus/<target>/seed-* (replacing the seeds it wrote before).  The RNG, libcrypto's included, is deterministic in this build, so a
 * run gives the same bytes as the last one unless the library's messages changed; recordings and
 * seeds still belong together: regenerate both, never one without the other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

static const char *root;
static int written;

/* The seeds of a target written before are removed when this run writes its first one: they
 * came from recordings this run replaces.  Other inputs (found by fuzzing, regressions) stay. */
static void clean(const char *dir)
{
    static char done[128][64];
    static size_t n_done;
    for (size_t i = 0; i < n_done; i++)
        if (strcmp(done[i], dir) == 0)
            return;
    if (n_done == 128)
        exit(1);
    snprintf(done[n_done++], sizeof(done[0]), "%s", dir);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, dir);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char file[1400];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        if (strncmp(e->d_name, "seed-", 5) == 0 && unlink(file) != 0) {
            perror(file);
            exit(1);
        }
    }
    if (d)
        closedir(d);
}

static void put(const char *target, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    clean(target);
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

/* An extensions block (its 2-byte length included) into the ext_block corpus, and each
 * extension mtls knows into its own. */
static void seed_block(const uint8_t *p, size_t n, const char *tag)
{
    rd r = rd_init(p, n), block;
    put("ext_block", tag, p, n);
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
        case TLS_EXT_SIGNATURE_ALGORITHMS_CERT: t = "ext_sigalgs"; break;
        case TLS_EXT_ALPN: t = "ext_alpn"; break;
        case TLS_EXT_RENEGOTIATION_INFO: t = "ext_reneg"; break;
        case TLS_EXT_STATUS_REQUEST: t = "ext_status_request"; break;
        case TLS_EXT_SUPPORTED_VERSIONS: t = "ext_versions"; break;
        case TLS_EXT_KEY_SHARE: t = "ext_key_share"; break;
        case TLS_EXT_COOKIE: t = "ext_cookie"; break;
        case TLS_EXT_PSK_KEY_EXCHANGE_MODES: t = "ext_psk_modes"; break;
        case TLS_EXT_PRE_SHARED_KEY: t = "ext_psk"; break;
        case TLS_EXT_EARLY_DATA: t = "ext_early_data"; break;
        case TLS_EXT_CERTIFICATE_AUTHORITIES: t = "ext_ca_names"; break;
        default: break;
        }
        if (t)
            put(t, tag, data.p, data.n);
    }
}

/* Extensions of a hello message (header included) into the ext corpora. */
static void seed_hello_exts(const uint8_t *m, size_t len, const char *tag)
{
    rd r = rd_init(m + 4, len - 4), skip;
    uint16_t u16;
    uint8_t u8;
    const uint8_t *version_random;
    int client = m[0] == TLS_HS_CLIENT_HELLO;
    if (!rd_bytes(&r, &version_random, 34) || !rd_vec8(&r, &skip))
        return;
    if (client ? !rd_vec16(&r, &skip) || !rd_vec8(&r, &skip) : !rd_u16(&r, &u16) || !rd_u8(&r, &u8))
        return;
    if (r.n)
        seed_block(r.p, r.n, tag);
}

/* The extensions of the TLS 1.3 messages that carry a block: EncryptedExtensions (the body),
 * CertificateRequest (after its context), NewSessionTicket (after its ticket). */
static void seed_msg13_exts(const fz_event *e, const char *tag)
{
    rd r = rd_init(e->p + 4, e->len - 4), skip;
    uint32_t u32;
    if (e->type == TLS_HS_CERTIFICATE_REQUEST && !rd_vec8(&r, &skip))
        return;
    if (e->type == TLS_HS_NEW_SESSION_TICKET &&
        (!rd_u32(&r, &u32) || !rd_u32(&r, &u32) || !rd_vec8(&r, &skip) || !rd_vec16(&r, &skip)))
        return;
    if (e->type == TLS_HS_ENCRYPTED_EXTENSIONS || e->type == TLS_HS_CERTIFICATE_REQUEST ||
        e->type == TLS_HS_NEW_SESSION_TICKET)
        seed_block(r.p, r.n, tag);
}

/* The body of the nth message of `type` the side received (at FZ_END: none, the message comes
 * after the recording -- a KeyUpdate, seeded with both of its values). */
static void msg_seed(const char *target, int pair, int side, int type, int at)
{
    const fz_script *s = fz_record(pair);
    const fz_event *ev = side ? s->to_server : s->to_client;
    size_t n = side ? s->n_to_server : s->n_to_client;
    if (at == FZ_END) {
        static const uint8_t not_requested = 0, requested = 1;
        put(target, "update-not-requested", &not_requested, 1);
        put(target, "update-requested", &requested, 1);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == FZ_EV_MSG && ev[i].type == type && at-- == 0) {
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

/* --check: whether every saved recording still replays to the end (the library's messages may
 * have changed since it was made: then the targets that replay it stop short, and their seeds with
 * them). */
static int check(void)
{
    int stale = 0;
    for (int p = 0; p < FZ_PAIR_COUNT; p++)
        stale += !fz_record(p)->established;
    if (stale) {
        fprintf(stderr, "gen_corpus: %d of %d recordings no longer replay to the end: "
                        "regenerate them and the seeds with fuzz/run.sh --gen\n",
                stale, FZ_PAIR_COUNT);
        return 1;
    }
    printf("gen_corpus: all %d recordings replay to the end\n", FZ_PAIR_COUNT);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--check") == 0)
        return check();
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR | --check\n");
        return 2;
    }
    root = argv[1];

    /* 1. the sessions a resuming client offers (fixtures/session.bin: TLS 1.2, session13.bin:
     * TLS 1.3), made before the pairings that offer them are recorded */
    static const struct {
        int pair;
        const char *file, *seed;
    } sessions[2] = {{FZ_PAIR_RSA_MUTUAL, "session.bin", "rsa-ticket"},
                     {FZ_PAIR_13_ALPN, "session13.bin", "tls13-ticket"}};
    uint8_t sess[8192];
    size_t sess_len;
    char path[1024];
    FILE *f;
    for (int i = 0; i < 2; i++) {
        const fz_script *full = fz_record_live(sessions[i].pair);
        if (!full->established || !full->session ||
            mtls_session_to_bytes(full->session, sess, sizeof(sess), &sess_len) != MTLS_OK) {
            fprintf(stderr, "gen_corpus: no session from pairing %d\n", sessions[i].pair);
            return 1;
        }
        snprintf(path, sizeof(path), "%s/%s", fz_fixture_dir(), sessions[i].file);
        f = fopen(path, "wb");
        if (!f || fwrite(sess, 1, sess_len, f) != sess_len || fclose(f) != 0) {
            perror(path);
            return 1;
        }
        put("session", sessions[i].seed, sess, sess_len);
    }

    /* 2. every pairing: the streams each side received (fixtures/pairN-to-*.bin), as bytes and as
     * items for the client and server targets, and the extensions of every message */
    static uint8_t items[256 * 1024];
    for (int p = 0; p < FZ_PAIR_COUNT; p++) {
        const fz_script *s = fz_record_live(p);
        if (!s->established) {
            fprintf(stderr, "gen_corpus: pairing %d did not complete\n", p);
            return 1;
        }
        char tag[48];
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
        /* the first byte of a client seed: its variant in bits 0, 1 and 3 */
        uint8_t cv = (uint8_t)((s->client_variant & 3) | (s->client_variant & 4) << 1);
        uint8_t sv = (uint8_t)s->server_variant;
        snprintf(tag, sizeof(tag), "pair%d", p);
        put2("client", tag, cv, s->raw_to_client, s->raw_to_client_len);
        put2("server", tag, sv, s->raw_to_server, s->raw_to_server_len);
        snprintf(tag, sizeof(tag), "pair%d-items", p);
        put2("client", tag, cv | 0x10, items,
             fz_items(s->to_client, s->n_to_client, items, sizeof(items)));
        put2("server", tag, sv | 0x10, items,
             fz_items(s->to_server, s->n_to_server, items, sizeof(items)));
        snprintf(tag, sizeof(tag), "pair%d-bytewise", p);
        if (p == FZ_PAIR_RSA_MUTUAL || p == FZ_PAIR_13) {
            put2("client", tag, cv | 4, s->raw_to_client, s->raw_to_client_len);
            put2("server", tag, sv | 4, s->raw_to_server, s->raw_to_server_len);
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
        for (int side = 0; side < 2; side++) {
            const fz_event *ev = side ? s->to_server : s->to_client;
            size_t n = side ? s->n_to_server : s->n_to_client;
            for (size_t i = 0; i < n; i++) {
                if (ev[i].kind != FZ_EV_MSG)
                    continue;
                snprintf(tag, sizeof(tag), "%s-%zu-pair%d", hs_msg_name(ev[i].type), i, p);
                if (ev[i].type == TLS_HS_CLIENT_HELLO || ev[i].type == TLS_HS_SERVER_HELLO)
                    seed_hello_exts(ev[i].p, ev[i].len, tag);
                else
                    seed_msg13_exts(&ev[i], tag);
            }
        }
        if (s->session &&
            mtls_session_to_bytes(s->session, sess, sizeof(sess), &sess_len) == MTLS_OK) {
            snprintf(tag, sizeof(tag), "pair%d", p);
            put("session", tag, sess, sess_len);
        }
    }
    /* each saved recording must replay to the end in this process too (fz_record's dry run):
     * else the targets, which replay it, would stop short */
    for (int p = 0; p < FZ_PAIR_COUNT; p++)
        if (!fz_record(p)->established) {
            fprintf(stderr, "gen_corpus: the recording of pairing %d does not replay\n", p);
            return 1;
        }

    /* what no recording carries: a ticket's early_data (max_early_data_size), an empty
     * early_data, a HelloRetryRequest's key_share and a ServerHello's pre_shared_key alone */
    static const uint8_t max_early[4] = {0, 0, 0x40, 0}, group[2] = {0, 23}, zero2[2] = {0, 0};
    put("ext_early_data", "nst", max_early, sizeof(max_early));
    put("ext_early_data", "empty", NULL, 0);
    put("ext_key_share", "hrr", group, sizeof(group));
    put("ext_psk", "selected", zero2, sizeof(zero2));
    /* status_request: mtls's request, one with ResponderIDs and request extensions, and a
     * CertificateStatus (ocsp, a response that says successful without a body) */
    static const uint8_t request[] = {1, 0, 0, 0, 0};
    static const uint8_t request_ids[] = {1,    0, 11, 0,    3, 0xa1, 1, 0, 0, 4, 0xa2,
                                          2,    4, 0,  0,    6, 0x30, 4, 0x30, 2, 6, 0};
    static const uint8_t cert_status[] = {1, 0, 0, 5, 0x30, 3, 0x0a, 1, 0};
    put("ext_status_request", "request", request, sizeof(request));
    put("ext_status_request", "request-ids", request_ids, sizeof(request_ids));
    put("ext_status_request", "certificate-status", cert_status, sizeof(cert_status));

    /* 3. one message target per parser */
#define MSG_TARGET(name, pair, side, type, at, codec) msg_seed(#name, pair, side, type, at);
#include "targets.def"
#undef MSG_TARGET
    {
        /* the server's Certificate with an OCSP staple in its leaf's entry (RFC 8446 4.4.2.1),
         * which the client of that pairing asked for */
        const fz_script *s = fz_record(FZ_PAIR_13_ALPN);
        for (size_t i = 0; i < s->n_to_client; i++) {
            const fz_event *e = &s->to_client[i];
            if (e->kind != FZ_EV_MSG || e->type != TLS_HS_CERTIFICATE)
                continue;
            /* context<0..255> (empty), certificate_list<0..2^24-1>, the first entry's cert */
            const uint8_t *b = e->p + 4;
            size_t blen = e->len - 4;
            if (blen < 7 || b[0] != 0)
                break;
            size_t cert_len = be24_get(b + 4), first = 1 + 3 + 3 + cert_len;
            static const uint8_t staple[] = {0, 5, 0, 9, 1, 0, 0, 5, 0x30, 3, 0x0a, 1, 1};
            uint8_t *m = malloc(blen + sizeof(staple));
            memcpy(m, b, first);
            /* the entry's extensions: status_request with a CertificateStatus (ocsp, a DER
             * OCSPResponse that says malformedRequest) */
            be16_put(m + first, (uint16_t)(be16_get(b + first) + sizeof(staple)));
            memcpy(m + first + 2, b + first + 2, be16_get(b + first));
            size_t at = first + 2 + be16_get(b + first);
            memcpy(m + at, staple, sizeof(staple));
            memcpy(m + at + sizeof(staple), b + first + 2 + be16_get(b + first),
                   blen - (first + 2 + be16_get(b + first)));
            be24_put(m + 1, (uint32_t)(be24_get(b + 1) + sizeof(staple)));
            put("msg_server_certificate13", "staple", m, blen + sizeof(staple));
            free(m);
            break;
        }
    }

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
        const fz_script *full = fz_record(FZ_PAIR_RSA_MUTUAL);
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
