/*
 * rd.c -- the bounds-checked reader.  Invariant: a failed read leaves the reader unchanged and
 * never touches memory outside [p, p+n).
 */
#include <string.h>

#include "codec.h"

bool rd_u8(rd *r, uint8_t *v)
{
    if (r->n < 1)
        return false;
    *v = r->p[0];
    r->p += 1;
    r->n -= 1;
    return true;
}

bool rd_u16(rd *r, uint16_t *v)
{
    if (r->n < 2)
        return false;
    *v = be16_get(r->p);
    r->p += 2;
    r->n -= 2;
    return true;
}

bool rd_u24(rd *r, uint32_t *v)
{
    if (r->n < 3)
        return false;
    *v = be24_get(r->p);
    r->p += 3;
    r->n -= 3;
    return true;
}

bool rd_u32(rd *r, uint32_t *v)
{
    if (r->n < 4)
        return false;
    *v = ((uint32_t)r->p[0] << 24) | be24_get(r->p + 1);
    r->p += 4;
    r->n -= 4;
    return true;
}

bool rd_bytes(rd *r, const uint8_t **out, size_t len)
{
    if (r->n < len)
        return false;
    *out = r->p;
    r->p += len;
    r->n -= len;
    return true;
}

bool rd_copy(rd *r, void *out, size_t len)
{
    const uint8_t *p;
    if (!rd_bytes(r, &p, len))
        return false;
    if (len)
        memcpy(out, p, len);
    return true;
}

static bool vec(rd *r, rd *sub, unsigned prefix)
{
    rd save = *r;
    uint32_t len = 0;
    bool ok;
    if (prefix == 1) {
        uint8_t v;
        ok = rd_u8(r, &v);
        len = v;
    } else if (prefix == 2) {
        uint16_t v;
        ok = rd_u16(r, &v);
        len = v;
    } else {
        ok = rd_u24(r, &len);
    }
    const uint8_t *p;
    if (!ok || !rd_bytes(r, &p, len)) {
        *r = save;
        return false;
    }
    *sub = rd_init(p, len);
    return true;
}

bool rd_vec8(rd *r, rd *sub) { return vec(r, sub, 1); }
bool rd_vec16(rd *r, rd *sub) { return vec(r, sub, 2); }
bool rd_vec24(rd *r, rd *sub) { return vec(r, sub, 3); }

bool rd_vec8_copy(rd *r, uint8_t *out, size_t min, size_t max, size_t *out_len)
{
    rd save = *r, sub;
    if (!rd_vec8(r, &sub) || sub.n < min || sub.n > max) {
        *r = save;
        return false;
    }
    memcpy(out, sub.p, sub.n);
    *out_len = sub.n;
    return true;
}
