/*
 * trace.c -- the trace sink: each handshake step reported as words (mtls_trace_fn) and as an
 * event (mtls_trace_event_fn), formatted only when someone listens.
 */
#include <stdio.h>

#include "base.h"

void trace_vevent(const trace_sink *t, const mtls_trace_event *ev, const char *fmt, va_list ap)
{
    if (!trace_on(t))
        return;
    char detail[1024];
    detail[0] = 0;
    if (fmt)
        vsnprintf(detail, sizeof(detail), fmt, ap);
    if (t->fn)
        t->fn(t->arg, t->conn, ev->dir, ev->what, detail);
    if (t->efn) {
        mtls_trace_event e = *ev;
        e.detail = detail;
        t->efn(t->earg, t->conn, &e);
    }
}

void trace_step(const trace_sink *t, mtls_trace_kind kind, mtls_trace_decision decision,
                mtls_err result, unsigned flags, char dir, const char *what, const char *fmt, ...)
{
    if (!trace_on(t))
        return;
    mtls_trace_event ev = {
        kind, -1, decision, -1, 0, result, flags, dir, what, NULL, MTLS_PROTECTION_NONE, 0};
    va_list ap;
    va_start(ap, fmt);
    trace_vevent(t, &ev, fmt, ap);
    va_end(ap);
}

void trace_alert(const trace_sink *t, bool sent, mtls_trace_protection prot, unsigned generation,
                 int level, int alert, const char *fmt, ...)
{
    if (!trace_on(t))
        return;
    mtls_trace_event ev = {sent ? MTLS_TRACE_ALERT_SENT : MTLS_TRACE_ALERT_RECEIVED,
                           -1,
                           MTLS_DECISION_NONE,
                           alert,
                           level,
                           MTLS_OK,
                           0,
                           sent ? '>' : '<',
                           "Alert",
                           NULL,
                           prot,
                           generation};
    va_list ap;
    va_start(ap, fmt);
    trace_vevent(t, &ev, fmt, ap);
    va_end(ap);
}
