/*
 * trace.c -- the trace sink: one line per handshake step, formatted only when someone listens.
 */
#include <stdio.h>

#include "base.h"

void trace_vemit(const trace_sink *t, char dir, const char *what, const char *fmt, va_list ap)
{
    if (!t->fn)
        return;
    char detail[1024];
    detail[0] = 0;
    if (fmt)
        vsnprintf(detail, sizeof(detail), fmt, ap);
    t->fn(t->arg, t->conn, dir, what, detail);
}

void trace_emit(const trace_sink *t, char dir, const char *what, const char *fmt, ...)
{
    if (!t->fn)
        return;
    va_list ap;
    va_start(ap, fmt);
    trace_vemit(t, dir, what, fmt, ap);
    va_end(ap);
}
