/*
 * fuzz_record13.c -- libFuzzer target for TLS 1.3 record protection (src/record/aead13.c) and
 * the layer's TLS 1.3 rules, with fixed keys and no connection; every other protected record is
 * opened into a buffer of its own (rec_read_into), as mtls_read does.  Byte 0: the mode (low 2 bits)
 * and flags (bit 2: the plain CCS window open, bit 3: the plain alert window open, bit 4: the
 * record version fixed at 0x0303); byte 1: the piece size the bytes arrive in (0: all at once).
 *   0, 1: the rest is raw wire bytes into a layer with a TLS 1.3 read key (AES-128-GCM; 1:
 *      ChaCha20-Poly1305), every record read, held and taken as core would;
 *   2: the rest is a script of operations on a reader layer and a writer that seals with the
 *      same keys (so the fuzzer reaches everything behind the AEAD):
 *        0 outer u8, version u16, inner<0..2^16-1>: a record whose encrypted body is `inner`
 *          as given (content, type and padding up to the fuzzer), sealed at the next sequence
 *          number; while the stream is in step the outcome is checked against RFC 8446 5.2-5.4
 *          computed here independently (type and content, or which error);
 *        1 type u8, body<0..2^16-1>: an unprotected record;
 *        2 key u8: both sides change to key (AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM);
 *        3 bytes<0..2^16-1>: raw bytes (the stream is no longer in step);
 *        4 flags u8: the plain CCS (bit 0) and alert (bit 1) windows;
 *   3: a list of {type u8, pad u16, body<0..2^16-1>} written by one layer with padding and read
 *      by another: every byte comes back with its type (bit 7 of type: change keys first).
 * Invariants: no record over 2^14 bytes comes out, no record of type 0, and a CCS only as the
 * single byte 0x01 through an open window.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = {0x31, 0x33, 0x72, 0x65, 0x63}, iv[12] = {0x66, 0x75, 0x7a, 0x7a};
static const cry_aead_alg algs[3] = {CRY_AES_128_GCM, CRY_CHACHA20_POLY1305, CRY_AES_256_GCM};

static rec_key key_of(unsigned which)
{
    cry_aead_alg alg = algs[which % 3];
    rec_key k = {MTLS_VERSION_TLS13, alg, key, cry_aead_key_len(alg), iv, 12};
    return k;
}

/* What the last record read was. */
struct got {
    uint8_t type;
    size_t len;
    uint8_t p[TLS_MAX_PLAINTEXT];
};

/* Give `n` bytes to `l` in pieces of at most `chunk` (0: as much as it takes), reading every
 * record that completes as mtls_read does: a record that may carry data every other time straight
 * into a buffer just large enough for what it can carry (rec_read_into), else in place, and
 * application data opened in place held and taken in two pieces. */
static mtls_err feed(rec_layer *l, const uint8_t *p, size_t n, size_t chunk, struct got *g)
{
    static uint8_t into[TLS13_MAX_CIPHERTEXT];
    unsigned turn = 0;
    for (;;) {
        rec_in r;
        rec_next next;
        mtls_err err = rec_peek(l, &next);
        bool direct = err == MTLS_OK && next.data && (turn++ & 1);
        if (err == MTLS_OK)
            err = direct ? rec_read_into(l, &r, into, next.max_len) : rec_read(l, &r);
        if (err == MTLS_OK && direct) {
            if (r.p != into || r.len > next.max_len || r.type == 0 || l->cur_len)
                __builtin_trap();
            g->type = r.type;
            g->len = r.len;
            memcpy(g->p, r.p, r.len);
            continue;
        }
        if (err == MTLS_OK) {
            if (r.len > TLS_MAX_PLAINTEXT || r.type == 0)
                __builtin_trap();
            if (r.type == TLS_CT_CHANGE_CIPHER_SPEC && l->in.aead &&
                (!l->plain_ccs || r.len != 1 || r.p[0] != 1))
                __builtin_trap();
            g->type = r.type;
            g->len = r.len;
            memcpy(g->p, r.p, r.len);
            if (r.type == TLS_CT_APPLICATION_DATA && r.len) {
                uint8_t out[TLS_MAX_PLAINTEXT];
                rec_hold(l, &r);
                size_t took = rec_take(l, out, r.len / 2);
                took += rec_take(l, out + took, sizeof(out));
                if (took != r.len || rec_holding(l) || memcmp(out, g->p, r.len) != 0)
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

static void set_windows(rec_layer *l, unsigned flags)
{
    rec_allow_plain_ccs(l, flags & 1);
    rec_allow_plain_alert(l, flags & 2);
}

static void raw(const uint8_t *data, size_t size, size_t chunk, unsigned flags, unsigned which)
{
    rec_layer l = {0};
    rec_key k = key_of(which);
    if (rec_set_read_key(&l, &k) != MTLS_OK)
        __builtin_trap();
    set_windows(&l, flags);
    if (flags & 4)
        rec_fix_version(&l, 0x0303);
    static struct got g;
    (void)feed(&l, data, size, chunk, &g);
    rec_layer_free(&l);
}

/* RFC 8446 5.2-5.4, independently: what opening a record of outer type 23, version 0x0303 and
 * this inner plaintext must give. */
static mtls_err expect(const uint8_t *inner, size_t n, uint8_t *type, size_t *len)
{
    if (n + CRY_AEAD_TAG_LEN > TLS_MAX_PLAINTEXT + 256 || n > TLS_MAX_PLAINTEXT + 1)
        return MTLS_ERR_RECORD_OVERFLOW;
    size_t i = n;
    while (i > 0 && inner[i - 1] == 0)
        i--;
    if (i == 0)
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    *type = inner[i - 1];
    *len = i - 1;
    if (*type == TLS_CT_CHANGE_CIPHER_SPEC)
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    if (*len == 0 && (*type == TLS_CT_HANDSHAKE || *type == TLS_CT_ALERT))
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    return MTLS_OK;
}

static void script(const uint8_t *data, size_t size, size_t chunk, unsigned flags)
{
    rec_layer l = {0};
    rec_key k = key_of(0);
    cry_aead *w = cry_aead_new(k.aead, key, 1);
    if (!w || rec_set_read_key(&l, &k) != MTLS_OK)
        __builtin_trap();
    set_windows(&l, flags);
    if (flags & 4)
        rec_fix_version(&l, 0x0303);
    uint64_t wseq = 0;
    bool in_step = true;
    static struct got g;
    uint8_t *buf = malloc(TLS_RECORD_HEADER + 65535 + CRY_AEAD_TAG_LEN);
    rd in = rd_init(data, size);
    uint8_t op;
    while (rd_u8(&in, &op)) {
        rd body;
        uint8_t type, b;
        uint16_t version;
        size_t n = 0;
        mtls_err want = MTLS_OK;
        uint8_t want_type = 0;
        size_t want_len = 0;
        bool check = false;
        switch (op % 5) {
        case 0:
            if (!rd_u8(&in, &type) || !rd_u16(&in, &version) || !rd_vec16(&in, &body))
                goto out;
            if (body.n > 65535 - CRY_AEAD_TAG_LEN)
                body.n = 65535 - CRY_AEAD_TAG_LEN;
            buf[0] = type;
            be16_put(buf + 1, version);
            be16_put(buf + 3, (uint16_t)(body.n + CRY_AEAD_TAG_LEN));
            memcpy(buf + TLS_RECORD_HEADER, body.p, body.n);
            {
                uint8_t nonce[12], seq[8];
                be64_put(seq, wseq);
                memcpy(nonce, iv, 12);
                for (int i = 0; i < 8; i++)
                    nonce[4 + i] ^= seq[i];
                if (!cry_aead_seal(w, nonce, buf, TLS_RECORD_HEADER, buf + TLS_RECORD_HEADER,
                                   body.n, buf + TLS_RECORD_HEADER + body.n))
                    __builtin_trap();
            }
            n = TLS_RECORD_HEADER + body.n + CRY_AEAD_TAG_LEN;
            if (type == TLS_CT_APPLICATION_DATA)
                wseq++; /* any other outer type is an unprotected record to the reader */
            if (in_step && type == TLS_CT_APPLICATION_DATA && version == 0x0303) {
                check = true;
                want = expect(body.p, body.n, &want_type, &want_len);
            }
            break;
        case 1:
            if (!rd_u8(&in, &type) || !rd_vec16(&in, &body))
                goto out;
            buf[0] = type;
            be16_put(buf + 1, 0x0303);
            be16_put(buf + 3, (uint16_t)body.n);
            memcpy(buf + TLS_RECORD_HEADER, body.p, body.n);
            n = TLS_RECORD_HEADER + body.n;
            break;
        case 2:
            if (!rd_u8(&in, &b))
                goto out;
            k = key_of(b);
            cry_aead_free(w);
            w = cry_aead_new(k.aead, key, 1);
            if (!w)
                __builtin_trap();
            /* nothing is current between operations: the key change is accepted */
            if (rec_set_read_key(&l, &k) != MTLS_OK)
                __builtin_trap();
            set_windows(&l, flags);
            wseq = 0;
            continue;
        case 3:
            if (!rd_vec16(&in, &body))
                goto out;
            memcpy(buf, body.p, body.n);
            n = body.n;
            in_step = false;
            break;
        default:
            if (!rd_u8(&in, &b))
                goto out;
            flags = (flags & ~3u) | (b & 3u);
            set_windows(&l, flags);
            continue;
        }
        g.type = 0;
        mtls_err err = feed(&l, buf, n, chunk, &g);
        if (check) {
            if (err != want)
                __builtin_trap();
            if (want == MTLS_OK &&
                (g.type != want_type || g.len != want_len || memcmp(g.p, body.p, want_len) != 0))
                __builtin_trap();
        }
        if (err != MTLS_OK)
            break; /* the connection would end here */
    }
out:
    free(buf);
    cry_aead_free(w);
    rec_layer_free(&l);
}

/* Records written with padding by one layer and read by another come out as they went in. */
static void round_trip(const uint8_t *data, size_t size, size_t chunk)
{
    rec_layer w = {0}, r = {0};
    unsigned which = 0;
    rec_key k = key_of(which);
    if (rec_set_write_key(&w, &k) != MTLS_OK || rec_set_read_key(&r, &k) != MTLS_OK)
        __builtin_trap();
    rd in = rd_init(data, size);
    uint8_t t;
    uint16_t pad;
    rd body;
    while (rd_u8(&in, &t) && rd_u16(&in, &pad) && rd_vec16(&in, &body)) {
        if (t & 0x80) {
            k = key_of(++which);
            if (rec_set_write_key(&w, &k) != MTLS_OK || rec_set_read_key(&r, &k) != MTLS_OK)
                __builtin_trap();
        }
        uint8_t type = (uint8_t)(TLS_CT_ALERT + (t & 0x7f) % 3); /* alert, handshake, data */
        if (body.n == 0 && type != TLS_CT_APPLICATION_DATA)
            continue; /* 5.4: never sent (the reader would say unexpected_message) */
        w.out.pad = pad;
        if (rec_write(&w, type, body.p, body.n) != MTLS_OK)
            __builtin_trap();
        size_t pending;
        const uint8_t *p = rec_send_pending(&w, &pending);
        /* read the fragments back one by one */
        size_t got = 0;
        while (got < body.n || (body.n == 0 && got == 0)) {
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
            size_t room;
            uint8_t *dst = rec_recv_space(&r, &room);
            if (err != MTLS_ERR_WANT_READ || !pending || !dst || !room)
                __builtin_trap();
            size_t n = pending < room ? pending : room;
            if (chunk && n > chunk)
                n = chunk;
            memcpy(dst, p, n);
            (void)rec_recv_commit(&r, n);
            rec_send_consume(&w, n);
            p = rec_send_pending(&w, &pending);
        }
        if (rec_send_pending(&w, &pending))
            __builtin_trap(); /* everything written was read */
    }
    rec_layer_free(&w);
    rec_layer_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0] & 3, flags = data[0] >> 2;
    size_t chunk = data[1];
    data += 2;
    size -= 2;
    /* flags bits: 0 CCS window, 1 alert window, 2 version fixed (byte 0 bits 2, 3, 4) */
    if (mode <= 1)
        raw(data, size, chunk, flags, mode);
    else if (mode == 2)
        script(data, size, chunk, flags);
    else
        round_trip(data, size, chunk);
    return 0;
}
