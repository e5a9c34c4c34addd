/*
 * conn.c -- mtls_conn: the sans-I/O connection.  Owns the record layer (src/record: buffers,
 * framing, protection), dispatches the records it reads by content type -- handshake and
 * ChangeCipherSpec to the handshake, alerts here, application data to mtls_read -- and holds the
 * connection's errors, alerts, close_notify and application data path.
 *
 * Application data is decrypted where the application wants it.  After the handshake a record
 * that may carry application data (TLS 1.2: its outer type says so; TLS 1.3: every protected
 * record, whose type is inside) is left unopened by mtls_recv_ack() -- it and what follows wait,
 * as a record waiting to be read always did -- and mtls_read() opens it straight into the
 * caller's buffer when the rest of that buffer can hold all the content the record can carry (no
 * copy), else in place in the receive buffer, from which rec_take() copies as much as each read
 * asks for.  So a bad record_mac on such a record is reported by mtls_read, not mtls_recv_ack;
 * and in TLS 1.3, post-handshake messages and alerts are handled when the application reads.
 *
 * The caller's buffer as scratch (TLS 1.3): a record opened into it may turn out to be a
 * handshake message or an alert.  Its bytes there are handled from there, then wiped, and never
 * counted in *out_len; mtls_read() reports only the bytes of records that authenticated and whose
 * type is application_data (mtls.h: the buffer past *out_len is unspecified).  A record that
 * fails to open leaves nothing of itself there either (rec_read_into).
 *
 * mtls_write() seals straight from the caller's bytes into the send buffer.
 *
 * Errors are sticky: the first fatal error is kept, its alert is queued once, and every later
 * call returns the same error.  Only this file makes an error sticky and sends alerts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- lifecycle -------------------------------------------------------------------------------- */

static mtls_conn *conn_new(mtls_config *cfg, bool is_server, const char *server_name)
{
    if (!cfg)
        return NULL;
    if (config_freeze(cfg, !is_server) != MTLS_OK)
        return NULL;
    mtls_conn *c = mem_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = config_ref(cfg);
    c->is_server = is_server;
    c->alert_sent = TLS_ALERT_NONE;
    c->alert_received = TLS_ALERT_NONE;
    c->env = (hs_env){
        .cfg = cfg,
        .conn = c,
        .rec = &c->rec,
        .info = &c->info,
        .trace = {cfg->trace, cfg->trace_arg, cfg->trace_events, cfg->trace_events_arg, c},
        .is_server = is_server,
    };
    if (server_name && !(c->info.server_name = mem_strdup(server_name))) {
        mtls_conn_free(c);
        return NULL;
    }
    if (hs_new(&c->hs, &c->env) != MTLS_OK) {
        mtls_conn_free(c);
        return NULL;
    }
    return c;
}

mtls_conn *mtls_client_new(mtls_config *cfg, const char *server_name)
{
    return conn_new(cfg, false, server_name);
}

mtls_conn *mtls_server_new(mtls_config *cfg)
{
    if (cfg && !cfg->key)
        return NULL; /* a server needs a certificate and key */
    return conn_new(cfg, true, NULL);
}

void mtls_conn_free(mtls_conn *c)
{
    if (!c)
        return;
    hs_free(c->hs);
    rec_layer_free(&c->rec);
    x509_chain_free(c->info.peer_chain, c->info.peer_chain_len);
    mtls_session_free(c->info.session);
    mtls_session_free(c->offer_session);
    mem_free(c->info.server_name);
    mem_free(c->verify_name);
    mem_free(c->info.alpn);
    mem_free(c->info.ocsp.der);
    mem_free(c->error_detail);
    mtls_config_free(c->cfg);
    cry_wipe(c, sizeof(*c));
    mem_free(c);
}

mtls_err mtls_conn_set_verify_name(mtls_conn *c, const char *name)
{
    if (!c || !name || c->is_server)
        return MTLS_ERR_INVALID_ARG;
    if (c->established || c->info.version)
        return MTLS_ERR_BAD_STATE;
    char *copy = mem_strdup(name);
    if (!copy)
        return MTLS_ERR_NO_MEMORY;
    mem_free(c->verify_name);
    c->verify_name = copy;
    c->env.verify_name = copy;
    return MTLS_OK;
}

mtls_err mtls_conn_set_insecure_skip_hostname(mtls_conn *c)
{
    if (!c || c->is_server)
        return MTLS_ERR_INVALID_ARG;
    if (c->established || c->info.version)
        return MTLS_ERR_BAD_STATE;
    c->env.skip_hostname = true;
    return MTLS_OK;
}

mtls_err mtls_conn_set_session(mtls_conn *c, mtls_session *s)
{
    if (!c || !s || c->is_server)
        return MTLS_ERR_INVALID_ARG;
    if (!c->hs || hs_started(c->hs))
        return MTLS_ERR_BAD_STATE;
    mtls_session_free(c->offer_session);
    c->offer_session = session_ref(s);
    c->env.offer = c->offer_session;
    return MTLS_OK;
}

void mtls_conn_set_userdata(mtls_conn *c, void *p)
{
    if (c)
        c->userdata = p;
}

void *mtls_conn_userdata(const mtls_conn *c)
{
    return c ? c->userdata : NULL;
}

/* ---- errors and alerts ---------------------------------------------------------------------- */

mtls_err conn_send_alert(mtls_conn *c, int level, int alert)
{
    uint8_t body[2] = {(uint8_t)level, (uint8_t)alert};
    if (level == 2 || alert != TLS_ALERT_CLOSE_NOTIFY) {
        uint32_t gen;
        mtls_trace_protection prot = rec_write_protection(&c->rec, &gen);
        trace_alert(&c->env.trace, true, prot, gen, level, alert, "%s %s",
                    level == 2 ? "fatal" : "warning", mtls_alert_name(alert));
    }
    return rec_write(&c->rec, TLS_CT_ALERT, body, sizeof(body));
}

#define ERROR_DETAIL_CAP 2048 /* as the handshake's (driver.c HS_DETAIL_CAP) */

/* The detail sentence exists only once something failed (most connections never need it), in
 * a buffer of its own size (at most ERROR_DETAIL_CAP). */
static void set_detail(mtls_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_detail(mtls_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t cap = n < 0 ? 1 : (size_t)n + 1 > ERROR_DETAIL_CAP ? ERROR_DETAIL_CAP : (size_t)n + 1;
    mem_free(c->error_detail);
    if (!(c->error_detail = mem_alloc(cap)))
        return;
    va_start(ap, fmt);
    vsnprintf(c->error_detail, cap, fmt, ap);
    va_end(ap);
}

mtls_err conn_fail(mtls_conn *c, mtls_err err, const char *fmt, ...)
{
    if (c->error != MTLS_OK)
        return c->error;
    c->error = err;
    if (fmt) {
        char line[ERROR_DETAIL_CAP];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        set_detail(c, "%s", line);
    } else {
        set_detail(c, "%s", mtls_err_str(err));
    }
    int alert = err_alert(err);
    if (alert != TLS_ALERT_NONE && c->alert_sent == TLS_ALERT_NONE && !c->close_sent) {
        c->alert_sent = alert;
        /* The alert is best effort: on failure there is nothing more to do. */
        (void)conn_send_alert(c, 2, alert);
    }
    return err;
}

mtls_err mtls_conn_error(const mtls_conn *c)
{
    return c ? c->error : MTLS_ERR_INVALID_ARG;
}

const char *mtls_conn_error_detail(const mtls_conn *c)
{
    return c && c->error_detail ? c->error_detail : (c && c->error ? mtls_err_str(c->error) : "");
}

int mtls_conn_alert_sent(const mtls_conn *c)
{
    return c ? c->alert_sent : -1;
}

int mtls_conn_alert_received(const mtls_conn *c)
{
    return c ? c->alert_received : -1;
}

/* ---- sending ---------------------------------------------------------------------------------- */

const uint8_t *mtls_send_buf(mtls_conn *c, size_t *out_len)
{
    size_t len = 0;
    const uint8_t *p = c ? rec_send_pending(&c->rec, &len) : NULL;
    if (out_len)
        *out_len = len;
    return p;
}

void mtls_send_ack(mtls_conn *c, size_t n)
{
    if (c)
        rec_send_consume(&c->rec, n);
}

/* ---- receiving -------------------------------------------------------------------------------- */

uint8_t *mtls_recv_buf(mtls_conn *c, size_t *out_len)
{
    *out_len = 0;
    if (!c)
        return NULL;
    return rec_recv_space(&c->rec, out_len);
}

static mtls_err on_alert(mtls_conn *c, const uint8_t *p, size_t len)
{
    /* RFC 5246 7.2: an alert is two bytes; we do not accept alerts split across records. */
    if (len != 2)
        return conn_fail(c, MTLS_ERR_DECODE, "malformed alert record (%zu bytes)", len);
    uint8_t level = p[0], desc = p[1];
    uint32_t gen;
    mtls_trace_protection prot = rec_read_protection(&c->rec, &gen);
    trace_alert(&c->env.trace, false, prot, gen, level, desc, "%s %s",
                level == 2 ? "fatal" : "warning", mtls_alert_name(desc));
    if (desc == TLS_ALERT_CLOSE_NOTIFY) {
        c->close_received = true;
        return MTLS_OK;
    }
    /* RFC 8446 6: in TLS 1.3 every alert but close_notify and user_canceled is an error alert
     * "regardless of the AlertLevel in the message"; unknown ones too. */
    if (c->info.version == MTLS_VERSION_TLS13 && desc != TLS_ALERT_USER_CANCELED)
        level = 2;
    if (level == 1) {
        /* Warnings are ignored, up to a bound: a flood of them is a denial-of-service tool. */
        if (++c->warning_alerts > MTLS_MAX_WARNING_ALERTS)
            return conn_fail(c, MTLS_ERR_TOO_MANY_WARNINGS,
                             "the peer sent too many warning alerts");
        return MTLS_OK;
    }
    if (level != 2)
        return conn_fail(c, MTLS_ERR_ILLEGAL_PARAMETER, "alert with unknown level %u", level);
    /* RFC 5246 7.2.2: a fatal alert ends the connection at once; we answer with nothing. */
    c->alert_received = desc;
    c->error = MTLS_ERR_PEER_ALERT;
    set_detail(c, "the peer sent a fatal alert: %s", mtls_alert_name(desc));
    return MTLS_ERR_PEER_ALERT;
}

/* What a call into the handshake returned: the connection is established when the handshake is;
 * an error becomes the connection's, with the handshake's sentence about it. */
static mtls_err handshake(mtls_conn *c, mtls_err err)
{
    if (!c->established && hs_established(c->hs))
        c->established = true;
    if (!err)
        return MTLS_OK;
    if (err == MTLS_ERR_WANT_KEY_OP)
        return err; /* the application's key method answers later: not an error */
    const char *why = hs_error_detail(c->hs);
    return why ? conn_fail(c, err, "%s", why) : conn_fail(c, err, NULL);
}

/* Handle the record just read.  Returns MTLS_OK to go on with the next record.  An
 * application-data record opened in place stays held in the record layer (rec_take copies it
 * out); one opened into the caller's buffer (direct) is the caller's: *data_len its length. */
static mtls_err on_record(mtls_conn *c, const rec_in *r, bool direct, size_t *data_len)
{
    if (r->len == 0 && r->type != TLS_CT_APPLICATION_DATA)
        return conn_fail(c, MTLS_ERR_DECODE, "empty record of type %u", r->type);
    if (r->type != TLS_CT_ALERT)
        c->warning_alerts = 0; /* the bound is on warnings in a row */

    switch (r->type) {
    case TLS_CT_HANDSHAKE:
    case TLS_CT_CHANGE_CIPHER_SPEC:
        rec_release(&c->rec);
        return handshake(c, hs_feed(c->hs, r->type, r->p, r->len));
    case TLS_CT_ALERT:
        rec_release(&c->rec);
        return on_alert(c, r->p, r->len);
    case TLS_CT_APPLICATION_DATA:
        if (!c->established)
            return conn_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE,
                             "application data before the handshake finished");
        mtls_err err = handshake(c, hs_app_data_received(c->hs));
        if (err)
            return err;
        if (r->len == 0) {
            /* Empty records are legal but a flood of them is a denial-of-service tool. */
            if (++c->empty_records > MTLS_MAX_EMPTY_RECORDS)
                return conn_fail(c, MTLS_ERR_TOO_MANY_EMPTY, "too many empty records in a row");
            rec_release(&c->rec);
            return MTLS_OK;
        }
        c->empty_records = 0;
        if (direct)
            *data_len = r->len;
        else
            rec_hold(&c->rec, r);
        return MTLS_OK;
    default:
        return conn_fail(c, MTLS_ERR_UNEXPECTED_MESSAGE, "record of unknown content type %u",
                         r->type);
    }
}

static mtls_err record_error(mtls_conn *c, mtls_err err)
{
    const char *why = rec_error_detail(&c->rec);
    return why ? conn_fail(c, err, "%s", why) : conn_fail(c, err, NULL);
}

/* Process complete records until input runs out, application data is ready, or an error.  While
 * the handshake waits for the application's private-key operation, records stay unread in the
 * receive buffer: nothing the peer sends may move the handshake before that operation is used
 * (a ChangeCipherSpec would find the wrong state); its result, once in, is used first.  Once
 * the handshake is done, a record that may carry application data is
 *   defer:        left unopened (mtls_recv_ack: only mtls_read knows where the bytes go);
 *   else, dst:    opened into dst when all it can carry fits in cap (mtls_read), and *got is
 *                 then the application data it carried (0: none yet, or it was held in place);
 *   else:         opened in place, application data held for rec_take (mtls_handshake). */
static mtls_err process_records(mtls_conn *c, bool defer, uint8_t *dst, size_t cap, size_t *got)
{
    *got = 0;
    while (!rec_holding(&c->rec) && !c->close_received && c->error == MTLS_OK) {
        if (hs_key_op_waiting(c->hs)) {
            mtls_err err = handshake(c, hs_start(c->hs));
            if (err)
                return err; /* MTLS_ERR_WANT_KEY_OP while the result is missing */
        }
        rec_next next;
        mtls_err err = rec_peek(&c->rec, &next);
        if (err == MTLS_ERR_WANT_READ)
            return MTLS_OK;
        if (err)
            return record_error(c, err);
        bool direct = false;
        if (c->established && next.data) {
            if (defer)
                return MTLS_OK; /* for mtls_read, which knows where the bytes go */
            direct = dst && next.max_len <= cap;
        }
        rec_in r;
        err = direct ? rec_read_into(&c->rec, &r, dst, cap) : rec_read(&c->rec, &r);
        if (err == MTLS_ERR_WANT_READ)
            return MTLS_OK; /* the record was skipped (rec_skip_undecryptable), no other yet */
        if (err)
            return record_error(c, err);
        err = on_record(c, &r, direct, got);
        if (direct && r.type != TLS_CT_APPLICATION_DATA)
            cry_wipe(dst, r.len); /* TLS 1.3: handled; never the caller's data */
        if (err || *got)
            return err;
    }
    return c->error;
}

mtls_err mtls_recv_ack(mtls_conn *c, size_t n)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (c->error)
        return c->error;
    if (n == 0) {
        c->eof = true;
        if (c->close_received)
            return MTLS_ERR_CLOSED;
        if (!c->established)
            return conn_fail(c, MTLS_ERR_EOF, "the peer closed the connection during the handshake");
        return MTLS_ERR_EOF;
    }
    mtls_err err = rec_recv_commit(&c->rec, n);
    if (err)
        return err;
    size_t none;
    err = process_records(c, true, NULL, 0, &none);
    if (err)
        return err;
    if (!c->established && !c->close_received)
        return handshake(c, hs_start(c->hs));
    return MTLS_OK;
}

mtls_err mtls_handshake(mtls_conn *c)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (c->error)
        return c->error;
    if (c->established) {
        /* The post-handshake records waiting, up to the first application data (held for
         * mtls_read): what mtls_recv_ack leaves unopened may be TLS 1.3 tickets, a KeyUpdate or
         * an alert, and an application that is not reading yet may want them handled. */
        size_t none;
        return process_records(c, false, NULL, 0, &none);
    }
    if (c->close_received)
        return conn_fail(c, MTLS_ERR_CLOSED, "the peer closed the connection during the handshake");
    bool held = hs_key_op_waiting(c->hs); /* records may wait unread (process_records) */
    mtls_err err = handshake(c, hs_start(c->hs));
    if (!err && held && !c->established) {
        size_t none;
        err = process_records(c, false, NULL, 0, &none);
    }
    if (err)
        return err;
    return c->established ? MTLS_OK : MTLS_ERR_WANT_READ;
}

mtls_err mtls_conn_key_op_done(mtls_conn *c, const void *result, size_t len)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (c->error)
        return c->error;
    return hs_key_op_done(c->hs, result, len);
}

int mtls_conn_established(const mtls_conn *c)
{
    return c && c->established && c->error == MTLS_OK;
}

/* ---- application data ------------------------------------------------------------------------- */

mtls_err mtls_read(mtls_conn *c, void *out, size_t cap, size_t *out_len)
{
    if (!c || !out_len || (!out && cap))
        return MTLS_ERR_INVALID_ARG;
    *out_len = 0;
    if (c->error)
        return c->error;
    if (!c->established)
        return MTLS_ERR_BAD_STATE;
    size_t got = 0;
    while (got < cap) {
        if (!rec_holding(&c->rec)) {
            size_t direct;
            mtls_err err = process_records(c, false, (uint8_t *)out + got, cap - got, &direct);
            got += direct; /* authenticated application data, opened in the caller's buffer */
            if (direct)
                continue;
            if (err && got == 0)
                return err;
            if (err) {
                /* The bytes already delivered were authenticated: they are the caller's.  The error
                 * comes on the next call; it is sticky already unless it came from queueing an
                 * alert (out of memory), which ends the connection too. */
                if (c->error == MTLS_OK)
                    (void)conn_fail(c, err, NULL);
                break;
            }
            if (!rec_holding(&c->rec))
                break;
        }
        got += rec_take(&c->rec, (uint8_t *)out + got, cap - got);
    }
    *out_len = got;
    if (got)
        return MTLS_OK;
    if (c->close_received)
        return MTLS_ERR_CLOSED;
    if (c->eof)
        return MTLS_ERR_EOF;
    return MTLS_ERR_WANT_READ;
}

mtls_err mtls_write(mtls_conn *c, const void *in, size_t len, size_t *out_written)
{
    if (!c || !out_written || (!in && len))
        return MTLS_ERR_INVALID_ARG;
    *out_written = 0;
    if (c->error)
        return c->error;
    if (!c->established || c->close_sent)
        return MTLS_ERR_BAD_STATE;
    /* TLS 1.3: a KeyUpdate owed or due goes before the data (RFC 8446 4.6.3, 5.5). */
    mtls_err owed = handshake(c, hs_before_write(c->hs));
    if (owed)
        return owed;
    /* Queue at most one full record: the caller flushes, then writes more.  This keeps the send
     * buffer at one record for the connection's life (memory is per connection). */
    size_t queued = rec_send_compact(&c->rec); /* what is left of a partial flush, in front */
    const size_t limit = TLS_MAX_OUR_RECORD;
    const size_t overhead = rec_write_overhead(&c->rec);
    if (queued + overhead >= limit)
        return MTLS_ERR_WANT_WRITE;
    size_t room = limit - queued;
    size_t written = 0;
    const uint8_t *p = in;
    while (written < len && room > overhead) {
        size_t chunk = len - written;
        size_t max_chunk = room - overhead;
        if (chunk > TLS_MAX_PLAINTEXT)
            chunk = TLS_MAX_PLAINTEXT;
        if (chunk > max_chunk)
            chunk = max_chunk;
        mtls_err err = rec_write(&c->rec, TLS_CT_APPLICATION_DATA, p + written, chunk);
        if (err)
            return conn_fail(c, err, NULL);
        written += chunk;
        room -= overhead + chunk;
    }
    *out_written = written;
    return written || len == 0 ? MTLS_OK : MTLS_ERR_WANT_WRITE;
}

mtls_err mtls_close(mtls_conn *c)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (c->close_sent)
        return MTLS_OK;
    if (c->error && c->alert_sent != TLS_ALERT_NONE)
        return c->error;
    c->close_sent = true;
    c->env.write_closed = true;
    uint32_t gen;
    mtls_trace_protection prot = rec_write_protection(&c->rec, &gen);
    trace_alert(&c->env.trace, true, prot, gen, 1, TLS_ALERT_CLOSE_NOTIFY, "close_notify");
    return conn_send_alert(c, 1, TLS_ALERT_CLOSE_NOTIFY);
}

int mtls_conn_close_sent(const mtls_conn *c)
{
    return c && c->close_sent;
}

int mtls_conn_close_received(const mtls_conn *c)
{
    return c && c->close_received;
}

mtls_err mtls_conn_release_buffers(mtls_conn *c)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (!c->established || !rec_idle(&c->rec))
        return MTLS_ERR_BAD_STATE;
    rec_release_buffers(&c->rec);
    return MTLS_OK;
}

/* ---- getters ---------------------------------------------------------------------------------- */

int mtls_conn_is_server(const mtls_conn *c) { return c && c->is_server; }
uint16_t mtls_conn_version(const mtls_conn *c)
{
    return c ? c->info.version : 0;
}
uint16_t mtls_conn_cipher_suite(const mtls_conn *c)
{
    return c ? c->info.suite : 0;
}
uint16_t mtls_conn_group(const mtls_conn *c)
{
    return c ? c->info.group : 0;
}
uint16_t mtls_conn_server_sigalg(const mtls_conn *c)
{
    return c ? c->info.server_sigalg : 0;
}
int mtls_conn_ems(const mtls_conn *c)
{
    return c && c->info.ems;
}
int mtls_conn_cert_requested(const mtls_conn *c)
{
    return c && c->info.cert_requested;
}
uint16_t mtls_conn_client_sigalg(const mtls_conn *c)
{
    return c ? c->info.client_sigalg : 0;
}
int mtls_conn_resumed(const mtls_conn *c)
{
    return c && c->info.resumed;
}
int mtls_conn_peer_cert_presented(const mtls_conn *c)
{
    return c && c->info.peer_cert_presented;
}

const char *mtls_conn_server_name(const mtls_conn *c)
{
    return c ? c->info.server_name : NULL;
}

const char *mtls_conn_alpn(const mtls_conn *c)
{
    return c ? c->info.alpn : NULL;
}

size_t mtls_conn_peer_cert_count(const mtls_conn *c)
{
    return c ? c->info.peer_chain_len : 0;
}

const uint8_t *mtls_conn_peer_cert(const mtls_conn *c, size_t i, size_t *out_len)
{
    if (!c || i >= c->info.peer_chain_len) {
        if (out_len)
            *out_len = 0;
        return NULL;
    }
    return x509_cert_der(c->info.peer_chain[i], out_len);
}

const char *mtls_conn_peer_subject(const mtls_conn *c)
{
    return c && c->info.peer_chain_len ? x509_cert_subject(c->info.peer_chain[0]) : NULL;
}

const char *mtls_conn_peer_issuer(const mtls_conn *c)
{
    return c && c->info.peer_chain_len ? x509_cert_issuer(c->info.peer_chain[0]) : NULL;
}

size_t mtls_conn_peer_san_count(const mtls_conn *c)
{
    return c && c->info.peer_chain_len ? x509_cert_san_count(c->info.peer_chain[0]) : 0;
}

const char *mtls_conn_peer_san(const mtls_conn *c, size_t i)
{
    return c && c->info.peer_chain_len ? x509_cert_san(c->info.peer_chain[0], i) : NULL;
}

mtls_err mtls_conn_peer_fingerprint(const mtls_conn *c, uint8_t out[32])
{
    if (!c || !out)
        return MTLS_ERR_INVALID_ARG;
    if (!c->info.peer_chain_len)
        return MTLS_ERR_BAD_STATE;
    size_t len;
    const uint8_t *der = x509_cert_der(c->info.peer_chain[0], &len);
    return cry_hash_oneshot(CRY_SHA256, der, len, out) ? MTLS_OK : MTLS_ERR_CRYPTO;
}

mtls_err mtls_conn_peer_cert_info(const mtls_conn *c, size_t i, mtls_cert_info *out)
{
    if (!c || !out || out->struct_size < sizeof(out->struct_size) + sizeof(out->subject))
        return MTLS_ERR_INVALID_ARG;
    if (!c->info.peer_chain_len)
        return MTLS_ERR_BAD_STATE;
    if (i >= c->info.peer_chain_len)
        return MTLS_ERR_INVALID_ARG;
    /* Fill a whole struct of this version, then hand over the prefix the caller knows. */
    mtls_cert_info full;
    memset(&full, 0, sizeof(full));
    x509_cert_info(c->info.peer_chain[i], &full);
    size_t len;
    const uint8_t *der = x509_cert_der(c->info.peer_chain[i], &len);
    if (!cry_hash_oneshot(CRY_SHA256, der, len, full.sha256))
        return MTLS_ERR_CRYPTO;
    size_t n = out->struct_size < sizeof(full) ? out->struct_size : sizeof(full);
    full.struct_size = n;
    memcpy(out, &full, n);
    return MTLS_OK;
}

const char *mtls_conn_peer_spiffe_id(const mtls_conn *c)
{
    return c && c->info.peer_chain_len ? x509_cert_spiffe_id(c->info.peer_chain[0]) : NULL;
}
