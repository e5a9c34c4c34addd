/*
 * driver.c -- the handshake's interface to core (handshake.h) and the loop that runs a role:
 * reassembled messages go to the role's step function until it waits for input; a
 * ChangeCipherSpec goes to the role's ccs handler; once the role reaches the traffic state the
 * negotiation is freed and what follows is post-handshake data for the role's post handler.
 * Errors come back to core with their sentence (hs_err); nothing here sends an alert or makes an
 * error sticky.
 *
 * The role a handshake starts in is chosen when it is made (version.c: TLS 1.3's when the config
 * speaks it); the hello of either role decides the version and may hand over to the other
 * version's role (version.c), which the loop below then runs.
 *
 * Invariants: a message is handled only when complete (transcript.c judges each one's announced
 * length as soon as its header is in); the state machine runs after each handshake record, so the
 * state is current when a ChangeCipherSpec arrives; a step that waits for the application's key
 * method returns MTLS_ERR_WANT_KEY_OP, which is no error, from a state that reads nothing, and
 * runs again on the next call; handshake bytes that came in the same record as the message
 * that completed the handshake are post-handshake data, never dropped.
 */
#include <stdio.h>
#include <string.h>

#include "hs.h"

#define HS_OUT_MAX (MTLS_MAX_HANDSHAKE_MSG + 64 * 1024)
#define HS_DETAIL_CAP 2048 /* a revocation's sentence names certificate, serial, dates and CRL */

void hs_run_free(struct hs *hs)
{
    if (!hs)
        return;
    dynbuf_free(&hs->in, true);
    wr_free(&hs->out, true);
    dynbuf_free(&hs->tbuf, false);
    cry_hash_free(hs->transcript);
    mtls_session_free(hs->resume);
    if (!hs->env->is_server && !hs->v13)
        mem_free(hs->c12.new_ticket);
    mem_free(hs->cookie);
    cry_kex_free(hs->kex);
    x509_chain_free(hs->peer_chain, hs->peer_chain_len);
    hs_status_free(hs);
    cry_wipe(hs, sizeof(*hs));
    mem_free(hs);
}

struct hs *hs_run_new(hs_handle *h)
{
    struct hs *hs = mem_calloc(1, sizeof(*hs));
    if (!hs)
        return NULL;
    hs->h = h;
    hs->env = h->env;
    hs->cfg = h->env->cfg;
    hs->info = h->env->info;
    hs->out = wr_growable(HS_OUT_MAX);
    return hs;
}

mtls_err hs_new(hs_handle **out, const hs_env *env)
{
    *out = NULL;
    hs_handle *h = mem_calloc(1, sizeof(*h));
    struct hs *hs = mem_calloc(1, sizeof(*hs));
    if (!h || !hs) {
        mem_free(h);
        mem_free(hs);
        return MTLS_ERR_NO_MEMORY;
    }
    h->env = env;
    h->role = hs_first_role(env);
    h->run = hs;
    hs->h = h;
    hs->env = env;
    hs->cfg = env->cfg;
    hs->info = env->info;
    hs->state = h->role->first_state;
    hs->keep_tbuf = true;
    hs->out = wr_growable(HS_OUT_MAX);
    *out = h;
    return MTLS_OK;
}

void hs_free(hs_handle *h)
{
    if (!h)
        return;
    hs_run_free(h->run);
    hs13_post_free(h->p13);
    mem_free(h->detail);
    cry_wipe(h, sizeof(*h));
    mem_free(h);
}

bool hs_established(const hs_handle *h)
{
    return h && h->established;
}

bool hs_started(const hs_handle *h)
{
    return !h->run || h->run->state != h->role->first_state;
}

const char *hs_error_detail(const hs_handle *h)
{
    return h->detail && h->detail[0] ? h->detail : NULL;
}

const char *hs_state_name(const hs_handle *h)
{
    if (!h->run)
        return "HS_DONE";
    int st = h->run->state;
    return st >= 0 && st < h->role->n_states ? h->role->state_names[st] : "?";
}

/* ---- errors and the trace ------------------------------------------------------------------ */

static mtls_err verr(hs_handle *h, mtls_err err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static mtls_err verr(hs_handle *h, mtls_err err, const char *fmt, va_list ap)
{
    if (h->detail && h->detail[0])
        return err; /* the first sentence is about the error that ends the connection */
    /* A buffer of the sentence's own size (at most HS_DETAIL_CAP): a failed handshake keeps no
     * more than what it has to say. */
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    size_t cap = n < 0 ? 1 : (size_t)n + 1 > HS_DETAIL_CAP ? HS_DETAIL_CAP : (size_t)n + 1;
    mem_free(h->detail);
    if (!(h->detail = mem_alloc(cap)))
        return err;
    vsnprintf(h->detail, cap, fmt, ap);
    return err;
}

mtls_err hs_err(struct hs *hs, mtls_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(hs->h, err, fmt, ap);
    va_end(ap);
    return err;
}

mtls_err hs_herr(hs_handle *h, mtls_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(h, err, fmt, ap);
    va_end(ap);
    return err;
}

mtls_err hs_decode_err(struct hs *hs, mtls_err err, const char *why, const hello_exts *e)
{
    if (err == MTLS_ERR_DUPLICATE_EXTENSION && e)
        return hs_err(hs, err, "extension %u appears twice", e->bad_type);
    if (err == MTLS_ERR_UNOFFERED_EXTENSION && e)
        return hs_err(hs, err, "the server sent extension %u, which was not offered", e->bad_type);
    if (err == MTLS_ERR_ILLEGAL_PARAMETER && e && e->bad_type && why)
        return hs_err(hs, err, "%s (extension %u)", why, e->bad_type);
    return why ? hs_err(hs, err, "%s", why) : err;
}

/* A message's protection is the record layer's: what protects a record written now (a message is
 * reported before the key change that follows it), or what protected the record it came in.  A
 * ChangeCipherSpec is always written in clear (RFC 5246 7.1: under the old state, the null one in
 * a first handshake; RFC 8446 5: never protected). */
static void vtrace_msg(const hs_env *env, char dir, int type, const char *what, const char *fmt,
                       va_list ap) __attribute__((format(printf, 5, 0)));
static void vtrace_msg(const hs_env *env, char dir, int type, const char *what, const char *fmt,
                       va_list ap)
{
    bool ccs = type == MTLS_TRACE_CHANGE_CIPHER_SPEC;
    if (!what)
        what = ccs ? "ChangeCipherSpec" : hs_msg_name((uint8_t)type);
    uint32_t gen = 0;
    mtls_trace_protection prot = ccs          ? MTLS_PROTECTION_CLEAR
                                 : dir == '>' ? rec_write_protection(env->rec, &gen)
                                              : rec_read_protection(env->rec, &gen);
    mtls_trace_event ev = {dir == '>' ? MTLS_TRACE_SENT : MTLS_TRACE_RECEIVED,
                           type,
                           MTLS_DECISION_NONE,
                           -1,
                           0,
                           MTLS_OK,
                           0,
                           dir,
                           what,
                           NULL,
                           prot,
                           gen};
    trace_vevent(&env->trace, &ev, fmt, ap);
}

void hs_trace_msg(const struct hs *hs, char dir, int type, const char *fmt, ...)
{
    if (!trace_on(&hs->env->trace))
        return;
    va_list ap;
    va_start(ap, fmt);
    vtrace_msg(hs->env, dir, type, NULL, fmt, ap);
    va_end(ap);
}

void hs_trace_msg_as(const struct hs *hs, char dir, int type, const char *what, const char *fmt,
                     ...)
{
    if (!trace_on(&hs->env->trace))
        return;
    va_list ap;
    va_start(ap, fmt);
    vtrace_msg(hs->env, dir, type, what, fmt, ap);
    va_end(ap);
}

void hs_post_trace_msg(const hs_handle *h, char dir, int type, const char *fmt, ...)
{
    if (!trace_on(&h->env->trace))
        return;
    va_list ap;
    va_start(ap, fmt);
    vtrace_msg(h->env, dir, type, NULL, fmt, ap);
    va_end(ap);
}

void hs_trace_step(const struct hs *hs, mtls_trace_kind kind, mtls_trace_decision decision,
                   mtls_err result, unsigned flags, char dir, const char *what, const char *fmt,
                   ...)
{
    if (!trace_on(&hs->env->trace))
        return;
    mtls_trace_event ev = {
        kind, -1, decision, -1, 0, result, flags, dir, what, NULL, MTLS_PROTECTION_NONE, 0};
    va_list ap;
    va_start(ap, fmt);
    trace_vevent(&hs->env->trace, &ev, fmt, ap);
    va_end(ap);
}

/* ---- what the connection keeps ------------------------------------------------------------- */

static mtls_err set_string(char **slot, rd value)
{
    char *p = mem_alloc(value.n + 1);
    if (!p)
        return MTLS_ERR_NO_MEMORY;
    if (value.n)
        memcpy(p, value.p, value.n);
    p[value.n] = 0;
    mem_free(*slot);
    *slot = p;
    return MTLS_OK;
}

mtls_err hs_set_alpn(struct hs *hs, rd name)
{
    return set_string(&hs->info->alpn, name);
}

mtls_err hs_set_server_name(struct hs *hs, rd name)
{
    return set_string(&hs->info->server_name, name);
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* The role reached the traffic state: free the negotiation; the handshake bytes that came in the
 * same record as its last message are post-handshake messages (a renegotiation attempt, or
 * garbage), handled as such rather than dropped with the negotiation. */
static mtls_err establish(hs_handle *h)
{
    struct hs *hs = h->run;
    if (!hs->v13) { /* what the TLS 1.2 exporter needs besides the session's master secret */
        memcpy(h->randoms, hs->client_random, 32);
        memcpy(h->randoms + 32, hs->server_random, 32);
    }
    hs_in_compact(hs);
    dynbuf rest = hs->in;
    hs->in = (dynbuf){0};
    hs_run_free(hs);
    h->run = NULL;
    h->established = true;
    mtls_err err = MTLS_OK;
    if (rest.len)
        err = h->role->post(h, rest.p, rest.len);
    dynbuf_free(&rest, true);
    return err;
}

static mtls_err run(hs_handle *h)
{
    struct hs *hs = h->run;
    while (!hs->done) {
        msg m;
        bool reads = h->role->reads(hs);
        if (reads && !hs_in_next(hs, &m))
            break;
        mtls_err err = h->role->step(hs, reads ? &m : NULL);
        /* A step that waits for the application's key method (keyop.c) has handled its message
         * and moved to a state that reads nothing; it runs again when the result is in. */
        if (reads && (err == MTLS_OK || err == MTLS_ERR_WANT_KEY_OP))
            hs_in_used(hs, &m);
        if (err)
            return err;
    }
    if (hs->done)
        return establish(h);
    hs_in_compact(hs);
    return MTLS_OK;
}

mtls_err hs_start(hs_handle *h)
{
    return h->run ? run(h) : MTLS_OK;
}

mtls_err hs_before_write(hs_handle *h)
{
    return h->established ? hs13_before_write(h) : MTLS_OK;
}

mtls_err hs_app_data_received(hs_handle *h)
{
    return hs13_app_data(h);
}

mtls_err hs_key_update(hs_handle *h, bool request)
{
    if (!h->established || !h->p13)
        return MTLS_ERR_BAD_STATE;
    return hs13_key_update(h, request);
}

bool hs_post_auth_offered(const hs_handle *h)
{
    return h->established && h->p13 && hs13_post_auth_offered(h);
}

unsigned hs_post_auth_pending(const hs_handle *h)
{
    return h->established && h->p13 ? hs13_post_auth_pending(h) : 0;
}

mtls_err hs_request_client_cert(hs_handle *h)
{
    if (!hs_post_auth_offered(h) || !h->env->is_server)
        return MTLS_ERR_BAD_STATE;
    return hs13_request_client_cert(h);
}

mtls_err hs_export(const hs_handle *h, const char *label, size_t label_len, const uint8_t *context,
                   size_t context_len, bool use_context, uint8_t *out, size_t out_len)
{
    if (!h->established)
        return MTLS_ERR_BAD_STATE;
    /* RFC 8446 7.5: "providing no context computes the same value as providing an empty
     * context"; RFC 5705 4 tells them apart (TLS 1.2). */
    if (h->p13)
        return hs13_export(h, label, label_len, context, context_len, out, out_len);
    return hs12_export(h, label, label_len, context, context_len, use_context, out, out_len);
}

mtls_err hs_feed(hs_handle *h, uint8_t type, const uint8_t *p, size_t n)
{
    if (type == TLS_CT_CHANGE_CIPHER_SPEC) {
        if (!h->run)
            return hs_herr(h, MTLS_ERR_UNEXPECTED_MESSAGE, "ChangeCipherSpec at the wrong time");
        return h->role->ccs(h->run, p, n);
    }
    if (!h->run)
        return h->role->post(h, p, n);
    mtls_err err = hs_in_add(h->run, p, n);
    if (err)
        return err;
    return run(h);
}
