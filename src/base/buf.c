/*
 * buf.c -- dynbuf, a byte buffer that grows up to a bound the caller gives on every call.
 * Invariant: len <= cap, and nothing is ever written past cap; growth never exceeds `max`.
 */
#include <string.h>

#include "base.h"

bool dynbuf_reserve(dynbuf *b, size_t extra, size_t max)
{
    if (b->cap - b->len >= extra)
        return true;
    if (extra > max || b->len > max - extra)
        return false;
    size_t want = b->len + extra;
    /* Double while small (handshake messages arrive in pieces); past one record, grow to what
     * is needed and no more, since every byte is held for the connection's life. */
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < want && cap < 8192)
        cap *= 2;
    if (cap < want)
        cap = want;
    if (cap > max)
        cap = max;
    uint8_t *p = mem_realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

bool dynbuf_append(dynbuf *b, const void *data, size_t len, size_t max)
{
    if (!dynbuf_reserve(b, len, max))
        return false;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    return true;
}

void dynbuf_consume(dynbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void dynbuf_free(dynbuf *b, bool wipe)
{
    if (b->p && wipe)
        base_wipe(b->p, b->cap);
    mem_free(b->p);
    memset(b, 0, sizeof(*b));
}
