/*
 * t.h -- the tiny test harness.  CHECK(cond) records a failure with file:line and goes on;
 * CHECK_EQ / CHECK_ERR print both values.  A test binary ends with `return t_done();`, which
 * prints "N passed, N failed" and returns nonzero if anything failed.
 */
#ifndef MTLS_T_H
#define MTLS_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (cond) {                                                                      \
            t_pass++;                                                                    \
        } else {                                                                         \
            t_fail++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                   \
    do {                                                                                 \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                          \
        if (t_a_ == t_b_) {                                                              \
            t_pass++;                                                                    \
        } else {                                                                         \
            t_fail++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", __FILE__, \
                    __LINE__, #a, #b, t_a_, t_b_);                                       \
        }                                                                                \
    } while (0)

/* Compare mtls_err values and print their names. */
#define CHECK_ERR(got, want)                                                             \
    do {                                                                                 \
        mtls_err t_g_ = (got), t_w_ = (want);                                            \
        if (t_g_ == t_w_) {                                                              \
            t_pass++;                                                                    \
        } else {                                                                         \
            t_fail++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK_ERR failed: %s: got %s, want %s\n", __FILE__,  \
                    __LINE__, #got, mtls_err_name(t_g_), mtls_err_name(t_w_));           \
        }                                                                                \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

static inline int t_done(void)
{
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail ? 1 : 0;
}

/* Hex string to bytes; returns the length.  Aborts on malformed input (a bug in the test). */
static inline size_t t_unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (hex[0] && hex[1]) {
        if (hex[0] == ' ' || hex[0] == '\n') { hex++; continue; }
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1 || n >= cap) { fprintf(stderr, "bad hex\n"); abort(); }
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

#endif
