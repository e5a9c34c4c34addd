/*
 * wr.c -- the appending writer with a sticky failure bit.  Invariant: never writes at or past
 * p + cap; after the first failure nothing more is written.
 */
#include <string.h>

#include "codec.h"

uint8_t *wr_reserve(wr *w, size_t len)
{
    if (w->failed || w->cap - w->len < len) {
        w->failed = true;
        return NULL;
    }
    uint8_t *at = w->p + w->len;
    w->len += len;
    return at;
}

void wr_bytes(wr *w, const void *p, size_t len)
{
    uint8_t *at = wr_reserve(w, len);
    if (at && len)
        memcpy(at, p, len);
}

void wr_u8(wr *w, uint8_t v)
{
    uint8_t *at = wr_reserve(w, 1);
    if (at)
        at[0] = v;
}

void wr_u16(wr *w, uint16_t v)
{
    uint8_t *at = wr_reserve(w, 2);
    if (at)
        be16_put(at, v);
}

void wr_u24(wr *w, uint32_t v)
{
    uint8_t *at = wr_reserve(w, 3);
    if (at)
        be24_put(at, v);
}

void wr_u32(wr *w, uint32_t v)
{
    uint8_t *at = wr_reserve(w, 4);
    if (at) {
        at[0] = (uint8_t)(v >> 24);
        be24_put(at + 1, v);
    }
}

size_t wr_open(wr *w, unsigned prefix_bytes)
{
    size_t pos = w->len;
    uint8_t *at = wr_reserve(w, prefix_bytes);
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
