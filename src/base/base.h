/*
 * base.h -- what every layer of mtls uses and nothing TLS-specific: the allocator hooks (alloc.c),
 * a growable byte buffer (buf.c), wiping, and the trace sink (trace.c).  Nothing here includes
 * another directory of src/; only the public mtls.h, for mtls_err and the trace callback type.
 */
#ifndef MTLS_BASE_H
#define MTLS_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"

/* ---- allocation (alloc.c) ------------------------------------------------------------------ */
/* Every allocation mtls makes goes through these, so that mtls_set_allocator() can route them. */
void *mem_alloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t n);
void mem_free(void *p);
char *mem_strdup(const char *s);
/* Replace the functions behind mem_*(); false once anything was allocated with the old ones
 * (memory from one allocator must never reach another's free). */
bool mem_set_functions(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                       void (*free_fn)(void *));

/* Overwrite with zeros in a way the compiler cannot drop (for code below src/crypto, whose
 * cry_wipe is the same thing through libcrypto). */
void base_wipe(void *p, size_t len);

/* ---- a growable buffer (buf.c) ------------------------------------------------------------- */
typedef struct dynbuf {
    uint8_t *p;
    size_t len; /* bytes in use, from p */
    size_t cap;
} dynbuf;
/* Room for `extra` more bytes, never more than `max` in all. */
bool dynbuf_reserve(dynbuf *b, size_t extra, size_t max);
bool dynbuf_append(dynbuf *b, const void *data, size_t len, size_t max);
/* Drop the first n bytes. */
void dynbuf_consume(dynbuf *b, size_t n);
void dynbuf_free(dynbuf *b, bool wipe);

/* ---- the trace sink (trace.c) -------------------------------------------------------------- */
/* Where one connection's trace goes: the application's callbacks (words, events) and the
 * connection they are told about (opaque here; only passed through).  Both NULL: tracing off, and
 * nothing is formatted. */
typedef struct trace_sink {
    mtls_trace_fn *fn;
    void *arg;
    mtls_trace_event_fn *efn;
    void *earg;
    const mtls_conn *conn;
} trace_sink;

static inline bool trace_on(const trace_sink *t)
{
    return t->fn || t->efn;
}

/* One step: the event (its kind and fields, `dir` '>' sent, '<' received, '*' checked or
 * decided, `what` the message or step); the detail is formatted from `fmt` (NULL: empty) and
 * given to both callbacks. */
void trace_vevent(const trace_sink *t, const mtls_trace_event *ev, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* A step that is not a message: kind, decision (or MTLS_DECISION_NONE), result, flags. */
void trace_step(const trace_sink *t, mtls_trace_kind kind, mtls_trace_decision decision,
                mtls_err result, unsigned flags, char dir, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* An alert we sent (sent true) or received, at level 1 (warning) or 2 (fatal), in a record
 * protected as `prot` says (`generation`: mtls_trace_event's). */
void trace_alert(const trace_sink *t, bool sent, mtls_trace_protection prot, unsigned generation,
                 int level, int alert, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#endif
