/*
 * fuzz_record.c -- libFuzzer target for the record layer: header checks, the deframer, content-
 * type dispatch, alerts, empty records, and protected records.  The first input byte picks:
 *   0: the rest is raw wire bytes to a fresh server (plaintext records, split anywhere);
 *   1: the same, to a client that has sent its ClientHello;
 *   2: the rest is a list of {type u8, length u16, payload} records, sealed by the client of an
 *      established connection and fed to the server (post-handshake: alerts, empty records,
 *      renegotiation attempts, application data, unknown types);
 *   3: raw wire bytes to an established server (protected-record header and tag checks);
 *   4, 5: the record layer alone, no connection: raw wire bytes into a rec_layer, in clear (4) or
 *      with read keys installed (5), every record read as core would: in place, held and taken,
 *      or (every other protected application-data record) straight into a buffer of its own;
 *   6: a {type u8, length u16, payload} list written by one rec_layer with keys and read back by
 *      another: every record must come out as it went in (fragmented at 2^14).
 * The second byte gives the piece size the bytes arrive in (0: all at once).  Seeds: recorded
 * flights, post-handshake record lists and layer-alone inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int establish(mtls_conn **c, mtls_conn **s)
{
    const fz_script *sc = fz_record(FZ_PAIR_RESUMED);
    /* the recorded abbreviated handshake, each side alone on its own RNG stream */
    *s = fz_server(sc->server_variant);
    if (fz_replay_until(*s, sc->to_server, sc->n_to_server, FZ_END, 0) < 0)
        return 0;
    *c = fz_client(sc->client_variant);
    if (fz_replay_until(*c, sc->to_client, sc->n_to_client, FZ_END, 0) < 0)
        return 0;
    return mtls_conn_established(*c) && mtls_conn_established(*s);
}

static const uint8_t key[32] = {0x6d, 0x74, 0x6c, 0x73}, iv[12] = {0x66, 0x75, 0x7a, 0x7a};
static const rec_key fixed_key = {
    MTLS_VERSION_TLS12, CRY_AES_128_GCM, key, 16, iv, 4, MTLS_PROTECTION_TLS12, 0};

/* Give `n` bytes to `l` in pieces of at most `chunk` (0: as much as it takes), reading every
 * record that completes as mtls_read does: a protected application-data record every other time
 * straight into a buffer just large enough for it (rec_read_into), else in place, application
 * data opened in place held and taken in two pieces. */
static mtls_err layer_feed(rec_layer *l, const uint8_t *p, size_t n, size_t chunk, bool fix)
{
    static uint8_t into[TLS_MAX_CIPHERTEXT];
    unsigned turn = 0;
    for (;;) {
        rec_in r;
        rec_next next;
        mtls_err err = rec_peek(l, &next);
        bool direct = err == MTLS_OK && next.data && (turn++ & 1);
        if (err == MTLS_OK)
            err = direct ? rec_read_into(l, &r, into, next.max_len) : rec_read(l, &r);
        if (err == MTLS_OK && direct) {
            if (r.p != into || r.len != next.max_len || r.type != TLS_CT_APPLICATION_DATA ||
                l->cur_len)
                __builtin_trap();
            if (fix)
                rec_fix_version(l, MTLS_VERSION_TLS12);
            continue;
        }
        if (err == MTLS_OK) {
            if (r.len > TLS_MAX_PLAINTEXT)
                __builtin_trap();
            if (fix)
                rec_fix_version(l, MTLS_VERSION_TLS12); /* as the handshake does once it knows */
            if (r.type == TLS_CT_APPLICATION_DATA && r.len) {
                uint8_t out[TLS_MAX_PLAINTEXT];
                rec_hold(l, &r);
                size_t got = rec_take(l, out, r.len / 2);
                got += rec_take(l, out + got, sizeof(out));
                if (got != r.len || rec_holding(l))
                    __builtin_trap();
            } else {
                rec_release(l);
            }
            continue;
        }
        if (err != MTLS_ERR_WANT_READ)
            return err;
        if (n == 0)
            return MTLS_OK;
        size_t room;
        uint8_t *dst = rec_recv_space(l, &room);
        if (!dst || !room)
            __builtin_trap(); /* no record is held: the layer always has room */
        size_t k = n < room ? n : room;
        if (chunk && k > chunk)
            k = chunk;
        memcpy(dst, p, k);
        if (rec_recv_commit(l, k) != MTLS_OK)
            __builtin_trap();
        p += k;
        n -= k;
    }
}

/* Records written by one layer and read by another come out as they went in. */
static void layer_round_trip(const uint8_t *data, size_t size, size_t chunk)
{
    rec_layer w = {0}, r = {0};
    if (rec_set_write_key(&w, &fixed_key) != MTLS_OK || rec_set_read_key(&r, &fixed_key) != MTLS_OK)
        __builtin_trap();
    rd in = rd_init(data, size);
    uint8_t type;
    rd body;
    while (rd_u8(&in, &type) && rd_vec16(&in, &body)) {
        if (rec_write(&w, type, body.p, body.n) != MTLS_OK)
            __builtin_trap();
        size_t got = 0;
        while (got < body.n || (body.n == 0 && got == 0)) {
            size_t n, room;
            const uint8_t *p = rec_send_pending(&w, &n);
            rec_in rec;
            mtls_err err = rec_read(&r, &rec);
            if (err == MTLS_OK) {
                if (rec.type != type || rec.len > body.n - got ||
                    memcmp(rec.p, body.p + got, rec.len) != 0)
                    __builtin_trap();
                got += rec.len;
                rec_release(&r);
                if (body.n == 0)
                    break;
                continue;
            }
            uint8_t *dst = rec_recv_space(&r, &room);
            if (err != MTLS_ERR_WANT_READ || !p || !dst || !room)
                __builtin_trap();
            size_t k = n < room ? n : room;
            if (chunk && k > chunk)
                k = chunk;
            memcpy(dst, p, k);
            (void)rec_recv_commit(&r, k);
            rec_send_consume(&w, k);
        }
    }
    rec_layer_free(&w);
    rec_layer_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0] & 7;
    size_t chunk = data[1];
    data += 2;
    size -= 2;
    if (mode == 4 || mode == 5) {
        rec_layer l = {0};
        if (mode == 5 && rec_set_read_key(&l, &fixed_key) != MTLS_OK)
            __builtin_trap();
        (void)layer_feed(&l, data, size, chunk, true);
        rec_layer_free(&l);
        return 0;
    }
    if (mode >= 6) {
        layer_round_trip(data, size, chunk);
        return 0;
    }
    if (mode == 0 || mode == 1) {
        mtls_conn *c = mode == 0 ? fz_server(0) : fz_client(0);
        if (mode == 1)
            (void)mtls_handshake(c);
        fz_drain(c);
        (void)fz_feed(c, data, size, chunk);
        fz_exercise(c);
        mtls_conn_free(c);
        return 0;
    }
    mtls_conn *c = NULL, *s = NULL;
    if (establish(&c, &s)) {
        if (mode == 3) {
            (void)fz_feed(s, data, size, chunk);
        } else {
            rd r = rd_init(data, size);
            uint8_t type;
            rd body;
            while (rd_u8(&r, &type) && rd_vec16(&r, &body) && !mtls_conn_error(s)) {
                size_t n = body.n > TLS_MAX_PLAINTEXT ? TLS_MAX_PLAINTEXT : body.n;
                c->rec.out.seq = s->rec.in.seq;
                if (rec_write(&c->rec, type, body.p, n) != MTLS_OK)
                    break;
                size_t len;
                const uint8_t *out = mtls_send_buf(c, &len);
                uint8_t *copy = malloc(len);
                memcpy(copy, out, len);
                mtls_send_ack(c, len);
                (void)fz_feed(s, copy, len, chunk);
                free(copy);
            }
        }
        fz_exercise(s);
    }
    mtls_conn_free(c);
    mtls_conn_free(s);
    return 0;
}
