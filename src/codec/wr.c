/*
 * wr.c -- the appending writer with a sticky failure bit.  Invariants: never writes at or past
 * p + cap; a growable writer never holds more than `max` bytes; after the first failure nothing
 * more is written.
 */
#include <string.h>

#include "codec.h"

/* Room for `len` more bytes: a growable writer doubles (from 1 KiB) up to its cap, so that a
 * message built by many small writes is moved a bounded number of times. */
static bool grow(wr *w, size_t len)
{
    if (w->fixed || len > w->max || w->len > w->max - len)
        return false;
    size_t want = w->len + len;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < want)
        cap = cap > w->max / 2 ? w->max : cap * 2;
    if (cap > w->max) /* a cap below the first allocation's size */
        cap = w->max;
    uint8_t *p = mem_realloc(w->p, cap);
    if (!p)
        return false;
    w->p = p;
    w->cap = cap;
    return true;
}

/* The slow path of reserve(): grow, or fail for good. */
static __attribute__((noinline)) uint8_t *reserve_grow(wr *w, size_t len)
{
    if (w->failed || !grow(w, len)) {
        w->failed = true;
        return NULL;
    }
    uint8_t *at = w->p + w->len;
    w->len += len;
    return at;
}

/* Inlined into the wr_uN writers: the common case (room left) is a compare and an add, as it
 * was before writers could grow. */
static inline uint8_t *reserve(wr *w, size_t len)
{
    if (!w->failed && w->cap - w->len >= len) {
        uint8_t *at = w->p + w->len;
        w->len += len;
        return at;
    }
    return reserve_grow(w, len);
}

uint8_t *wr_reserve(wr *w, size_t len)
{
    return reserve(w, len);
}

void wr_truncate(wr *w, size_t len)
{
    if (len > w->len) {
        w->failed = true;
        return;
    }
    w->len = len;
}

void wr_reset(wr *w)
{
    w->len = 0;
    w->failed = false;
}

void wr_free(wr *w, bool wipe)
{
    if (w->fixed) {
        w->len = 0;
        return;
    }
    if (w->p && wipe)
        base_wipe(w->p, w->cap);
    mem_free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
    w->failed = false;
}

void wr_bytes(wr *w, const void *p, size_t len)
{
    uint8_t *at = reserve(w, len);
    if (at && len)
        memcpy(at, p, len);
}

void wr_u8(wr *w, uint8_t v)
{
    uint8_t *at = reserve(w, 1);
    if (at)
        at[0] = v;
}

void wr_u16(wr *w, uint16_t v)
{
    uint8_t *at = reserve(w, 2);
    if (at)
        be16_put(at, v);
}

void wr_u24(wr *w, uint32_t v)
{
    uint8_t *at = reserve(w, 3);
    if (at)
        be24_put(at, v);
}

void wr_u32(wr *w, uint32_t v)
{
    uint8_t *at = reserve(w, 4);
    if (at) {
        at[0] = (uint8_t)(v >> 24);
        be24_put(at + 1, v);
    }
}

size_t wr_open(wr *w, unsigned prefix_bytes)
{
    size_t pos = w->len;
    uint8_t *at = reserve(w, prefix_bytes);
    if (at)
        memset(at, 0, prefix_bytes);
    return pos;
}

void wr_close(wr *w, size_t pos, unsigned prefix_bytes)
{
    if (w->failed)
        return;
    size_t len = w->len - pos - prefix_bytes;
    size_t max = prefix_bytes == 1 ? 0xff : prefix_bytes == 2 ? 0xffff : 0xffffff;
    if (len > max) {
        w->failed = true;
        return;
    }
    uint8_t *at = w->p + pos;
    if (prefix_bytes == 1)
        at[0] = (uint8_t)len;
    else if (prefix_bytes == 2)
        be16_put(at, (uint16_t)len);
    else
        be24_put(at, (uint32_t)len);
}
