/*
 * codec.h -- bounds-checked byte reader (rd) and writer (wr).  Knows nothing of TLS.
 *
 * A rd is a {p, n} view that shrinks as it is read; every read checks the remaining length first
 * and returns false, leaving the view unchanged, when the input is too short.
 *
 * A wr appends with a sticky `failed` bit: once a write does not fit, every later write is a
 * no-op and wr_ok() is false, so a builder checks once at the end.  It either wraps the caller's
 * memory (wr_fixed: never reallocated) or grows by itself up to a hard cap (wr_growable, after
 * BoringSSL's CBB and picotls' ptls_buffer_t), so that no builder has to guess a maximum size.
 * Growth may move `p`: nobody keeps a pointer into a wr across a later write (positions are
 * offsets).  Length prefixes are opened with wr_open_uN and patched by wr_close_uN; wr_truncate
 * takes back what was reserved and not used (a signature shorter than the key's maximum).
 */
#ifndef MTLS_CODEC_H
#define MTLS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/base.h"

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static inline rd rd_init(const uint8_t *p, size_t n) { rd r = {p, n}; return r; }
bool rd_u8(rd *r, uint8_t *v);
bool rd_u16(rd *r, uint16_t *v);
bool rd_u24(rd *r, uint32_t *v);
bool rd_u32(rd *r, uint32_t *v);
/* Copy exactly `len` bytes. */
bool rd_copy(rd *r, void *out, size_t len);
/* A view of the next `len` bytes. */
bool rd_bytes(rd *r, const uint8_t **out, size_t len);
/* A sub-reader over a vector with a 1/2/3-byte length prefix. */
bool rd_vec8(rd *r, rd *sub);
bool rd_vec16(rd *r, rd *sub);
bool rd_vec24(rd *r, rd *sub);
/* Copy a vector with a 1-byte length prefix whose length is within [min, max]. */
bool rd_vec8_copy(rd *r, uint8_t *out, size_t min, size_t max, size_t *out_len);
/* True when nothing is left: parsers end with it so that one byte too many fails. */
static inline bool rd_done(const rd *r) { return r->n == 0; }

typedef struct wr {
    uint8_t *p;
    size_t len;  /* bytes written */
    size_t cap;  /* bytes allocated (fixed: the caller's size) */
    size_t max;  /* hard cap: a write past it fails (sticky) */
    bool failed;
    bool fixed; /* wraps caller memory: never reallocated, never freed */
} wr;

/* A writer over the caller's `cap` bytes. */
static inline wr wr_fixed(uint8_t *p, size_t cap)
{
    wr w = {p, 0, cap, cap, false, true};
    return w;
}
/* A writer that starts empty and grows (mem_realloc) up to `max` bytes. */
static inline wr wr_growable(size_t max)
{
    wr w = {NULL, 0, 0, max, false, false};
    return w;
}
static inline bool wr_ok(const wr *w) { return !w->failed; }
/* Take back everything after the first `len` bytes (len <= w->len; a larger len fails). */
void wr_truncate(wr *w, size_t len);
/* Empty again, keeping the storage (and clearing a failure). */
void wr_reset(wr *w);
/* Release a growable writer's storage, wiped first when `wipe`; a fixed one is only emptied. */
void wr_free(wr *w, bool wipe);
void wr_u8(wr *w, uint8_t v);
void wr_u16(wr *w, uint16_t v);
void wr_u24(wr *w, uint32_t v);
void wr_u32(wr *w, uint32_t v);
void wr_bytes(wr *w, const void *p, size_t len);
/* Reserve `len` bytes and return where they are (NULL once failed).  Valid until the next
 * write: a growable writer may move. */
uint8_t *wr_reserve(wr *w, size_t len);
/* Open a length prefix of 1, 2 or 3 bytes; returns its position for the matching close. */
size_t wr_open(wr *w, unsigned prefix_bytes);
/* Patch the prefix opened at `pos` with the length written since; fails if it does not fit. */
void wr_close(wr *w, size_t pos, unsigned prefix_bytes);
static inline size_t wr_open_u8(wr *w) { return wr_open(w, 1); }
static inline size_t wr_open_u16(wr *w) { return wr_open(w, 2); }
static inline size_t wr_open_u24(wr *w) { return wr_open(w, 3); }
static inline void wr_close_u8(wr *w, size_t pos) { wr_close(w, pos, 1); }
static inline void wr_close_u16(wr *w, size_t pos) { wr_close(w, pos, 2); }
static inline void wr_close_u24(wr *w, size_t pos) { wr_close(w, pos, 3); }

/* Big-endian helpers for fixed positions. */
static inline void be16_put(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void be24_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline uint32_t be24_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}

#endif
