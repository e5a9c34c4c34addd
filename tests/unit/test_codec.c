/*
 * test_codec.c -- the bounds-checked reader and writer (src/codec).
 *
 * rd: every read of each width at the end of its input, and one byte short (the reader unchanged
 * after a failed read), length-prefixed vectors of each prefix width, exact and short, the
 * copying reads and their bounds.  wr: a fixed writer never writes past its memory (a canary
 * after it) and stays failed once a write did not fit; length prefixes are patched and refuse a
 * length they cannot hold; truncate and reset; a growable writer grows from nothing past several
 * doublings with its contents intact, refuses anything past its cap (sticky), and keeps its
 * storage over a reset.
 */
#include <string.h>

#include "codec/codec.h"
#include "t.h"

static void reader(void)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    rd r = rd_init(b, 1);
    CHECK(rd_u8(&r, &u8) && u8 == 1 && rd_done(&r));
    CHECK(!rd_u8(&r, &u8));
    r = rd_init(b, 1);
    CHECK(!rd_u16(&r, &u16) && r.n == 1 && r.p == b); /* unchanged */
    r = rd_init(b, 2);
    CHECK(!rd_u24(&r, &u32) && r.n == 2);
    r = rd_init(b, 3);
    CHECK(rd_u24(&r, &u32) && u32 == 0x010203 && rd_done(&r));
    r = rd_init(b, 3);
    CHECK(!rd_u32(&r, &u32) && r.n == 3);
    r = rd_init(b, 4);
    CHECK(rd_u32(&r, &u32) && u32 == 0x01020304);
    r = rd_init(b, 2);
    CHECK(rd_u16(&r, &u16) && u16 == 0x0102 && rd_done(&r));

    /* vectors: the prefix says 2, then 2 bytes, or one short */
    static const uint8_t v8[] = {2, 0xaa, 0xbb}, v16[] = {0, 2, 0xaa, 0xbb},
                         v24[] = {0, 0, 2, 0xaa, 0xbb};
    const uint8_t *vs[3] = {v8, v16, v24};
    size_t lens[3] = {sizeof(v8), sizeof(v16), sizeof(v24)};
    for (int k = 0; k < 3; k++) {
        rd sub;
        bool (*f)(rd *, rd *) = k == 0 ? rd_vec8 : k == 1 ? rd_vec16 : rd_vec24;
        r = rd_init(vs[k], lens[k]);
        CHECK(f(&r, &sub) && sub.n == 2 && sub.p[0] == 0xaa && sub.p[1] == 0xbb && rd_done(&r));
        r = rd_init(vs[k], lens[k] - 1);
        CHECK(!f(&r, &sub) && r.n == lens[k] - 1 && r.p == vs[k]);
        r = rd_init(vs[k], (size_t)k); /* not even the prefix */
        CHECK(!f(&r, &sub) && r.n == (size_t)k);
    }

    uint8_t out[4];
    size_t n;
    r = rd_init(v8, sizeof(v8));
    CHECK(!rd_vec8_copy(&r, out, 3, 4, &n) && r.n == sizeof(v8)); /* shorter than min */
    CHECK(!rd_vec8_copy(&r, out, 0, 1, &n) && r.n == sizeof(v8)); /* longer than max */
    CHECK(rd_vec8_copy(&r, out, 2, 2, &n) && n == 2 && out[1] == 0xbb && rd_done(&r));
    r = rd_init(b, 3);
    CHECK(!rd_copy(&r, out, 4) && r.n == 3);
    CHECK(rd_copy(&r, out, 3) && memcmp(out, b, 3) == 0);
    const uint8_t *view;
    r = rd_init(b, 3);
    CHECK(!rd_bytes(&r, &view, 4) && rd_bytes(&r, &view, 3) && view == b && rd_done(&r));
}

static void fixed_writer(void)
{
    uint8_t mem[8 + 4];
    memset(mem, 0xee, sizeof(mem));
    wr w = wr_fixed(mem, 8);
    wr_u32(&w, 0x01020304);
    wr_u24(&w, 0x050607);
    CHECK(wr_ok(&w) && w.len == 7);
    wr_u16(&w, 0x0809); /* one byte too many */
    CHECK(!wr_ok(&w) && w.len == 7);
    wr_u8(&w, 0x0a); /* would fit, but the writer failed: nothing more is written */
    CHECK(!wr_ok(&w) && w.len == 7 && mem[7] == 0xee);
    for (size_t i = 8; i < sizeof(mem); i++)
        CHECK_EQ(mem[i], 0xee);
    CHECK(wr_reserve(&w, 0) == NULL);
    wr_reset(&w);
    CHECK(wr_ok(&w) && w.len == 0);

    /* length prefixes */
    uint8_t big[300];
    w = wr_fixed(big, sizeof(big));
    size_t a = wr_open_u16(&w);
    size_t b = wr_open_u8(&w);
    wr_bytes(&w, "abc", 3);
    wr_close_u8(&w, b);
    wr_close_u16(&w, a);
    CHECK(wr_ok(&w) && w.len == 6);
    CHECK(big[0] == 0 && big[1] == 4 && big[2] == 3 && memcmp(big + 3, "abc", 3) == 0);
    w = wr_fixed(big, sizeof(big));
    b = wr_open_u8(&w);
    static uint8_t zeros[256];
    wr_bytes(&w, zeros, 256); /* 256 bytes under a one-byte length */
    wr_close_u8(&w, b);
    CHECK(!wr_ok(&w));

    /* truncate: back to a shorter length, never forward */
    w = wr_fixed(big, sizeof(big));
    wr_bytes(&w, "abcdef", 6);
    wr_truncate(&w, 2);
    CHECK(wr_ok(&w) && w.len == 2);
    wr_truncate(&w, 3);
    CHECK(!wr_ok(&w));
    wr_free(&w, true); /* a fixed writer's memory is the caller's: only emptied */
    CHECK(w.p == big && w.len == 0);
}

static void growable_writer(void)
{
    wr w = wr_growable(10000);
    CHECK(w.p == NULL && w.cap == 0 && wr_ok(&w));
    for (uint32_t i = 0; i < 2000; i++) /* 8000 bytes: past several doublings */
        wr_u32(&w, i);
    CHECK(wr_ok(&w) && w.len == 8000 && w.cap >= 8000 && w.cap <= 10000);
    int intact = 1;
    for (uint32_t i = 0; i < 2000; i++) {
        const uint8_t *p = w.p + 4 * i;
        intact &= ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) == i;
    }
    CHECK(intact);
    uint8_t *at = wr_reserve(&w, 2000); /* exactly up to the cap */
    CHECK(at != NULL && w.len == 10000 && wr_ok(&w));
    wr_u8(&w, 1); /* past it */
    CHECK(!wr_ok(&w) && w.len == 10000);
    wr_u8(&w, 1);
    CHECK(!wr_ok(&w));
    uint8_t *p = w.p;
    wr_reset(&w);
    CHECK(wr_ok(&w) && w.len == 0 && w.p == p); /* the storage stays */
    size_t pos = wr_open_u24(&w);
    wr_bytes(&w, "xyz", 3);
    wr_close_u24(&w, pos);
    CHECK(wr_ok(&w) && w.len == 6 && w.p[2] == 3);
    wr_free(&w, true);
    CHECK(w.p == NULL && w.len == 0 && w.cap == 0);

    /* a cap below the first allocation's size */
    w = wr_growable(5);
    wr_bytes(&w, "12345", 5);
    CHECK(wr_ok(&w) && w.cap == 5);
    wr_u8(&w, 6);
    CHECK(!wr_ok(&w));
    wr_free(&w, false);
}

int main(void)
{
    reader();
    fixed_writer();
    growable_writer();
    return t_done();
}
