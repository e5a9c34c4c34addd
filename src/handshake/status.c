/*
 * status.c -- certificate status in the handshake, for every version and role: OCSP stapling
 * (RFC 6066 section 8; RFC 8446 4.4.2.1) and what revocation leaves for the session.
 *
 * Client.  When configured (mtls_config_set_ocsp_request / _required) and verifying the server,
 * the ClientHello carries status_request (ocsp, no responder ids, no extensions).  In TLS 1.2 a
 * server that will staple acknowledges it with an empty status_request in its ServerHello and
 * sends CertificateStatus right after its Certificate -- or not at all: RFC 6066 8 lets it leave
 * the message out even after acknowledging.  So after an acknowledgement the chain is verified
 * once the next message shows whether a staple came (client12.c).  A CertificateStatus without
 * our request and its acknowledgement is unexpected_message; an acknowledgement we did not ask
 * for is unsupported_extension.  The response is parsed here (src/x509/ocsp.c) and checked in
 * hs_verify_peer_chain with the chain (x509_verify_params.ocsp): against the leaf and its issuer
 * on the verified path, revoked -> certificate_revoked, anything else but good ->
 * bad_certificate_status_response.  The verdict is kept for mtls_conn_peer_ocsp.
 *
 * Server.  A ClientHello asking for an ocsp status gets the config's staple when there is one
 * that is about our certificate and current (src/core/staple.c decides; the trace says why a
 * staple is not sent).  Resumed handshakes send no certificate and so no status.
 *
 * TLS 1.3 (RFC 8446 4.4.2.1): no acknowledgement; the staple travels as the status_request
 * extension of the end-entity CertificateEntry, whose extension_data is the same CertificateStatus
 * struct (hs_status_entry13 builds it, hs_status_read13 reads it).  "Extensions in the
 * Certificate message from the server MUST correspond to ones from the ClientHello message"
 * (4.4.2): a status_request in any entry without our request is unsupported_extension; one in
 * an entry above the leaf is ignored.  A client's Certificate must answer our CertificateRequest,
 * which asks for no status: a status_request there is unsupported_extension too.
 */
#include <stdio.h>
#include <string.h>

#include "hs.h"

void hs_status_free(struct hs *hs)
{
    struct hs_status *st = &hs->status;
    x509_ocsp_free(st->peer_ocsp);
    mem_free(st->peer_der);
    staple_snap_free(st->staple);
    for (size_t i = 0; i < st->n_issuers; i++)
        x509_cert_free(st->issuers[i]);
    memset(st, 0, sizeof(*st));
}

bool hs_status_wanted(const struct hs *hs)
{
    return !hs->env->is_server && !hs->cfg->insecure && config_ocsp_request(hs->cfg);
}

mtls_err hs_status_read_ack(struct hs *hs, const ext_slot *ext, bool resumed)
{
    const char *why;
    if (!ext->present)
        return MTLS_OK;
    /* RFC 5246 7.4.1.4: an extension in the ServerHello must answer one of ours. */
    if (!hs->status.requested) {
        return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                      "the server answered with status_request, which was not offered");
    }
    mtls_err err = ext_status_request_ack_parse(ext->data, &why);
    if (err)
        return hs_err(hs, err, "%s", why);
    /* A resumed handshake has no Certificate, so no CertificateStatus can follow. */
    hs->status.acked = !resumed;
    return MTLS_OK;
}

mtls_err hs_status_take(struct hs *hs, rd response)
{
    struct hs_status *st = &hs->status;
    if (st->peer_ocsp || st->peer_der)
        return hs_err(hs, MTLS_ERR_UNEXPECTED_MESSAGE, "a second certificate status");
    if (!(st->peer_der = mem_alloc(response.n)))
        return MTLS_ERR_NO_MEMORY;
    memcpy(st->peer_der, response.p, response.n);
    st->peer_len = response.n;
    mtls_err err = x509_ocsp_parse(response.p, response.n, &st->peer_ocsp);
    if (err) {
        /* RFC 6066 8: a client that asked "MUST check the OCSP response and abort the handshake
         * if the response is not satisfactory with bad_certificate_status_response(113)". */
        hs_info *info = hs->info;
        mem_free(info->ocsp.der);
        info->ocsp.der = st->peer_der;
        info->ocsp.len = st->peer_len;
        info->ocsp.status = MTLS_OCSP_INVALID;
        info->ocsp.reason = X509_REASON_NONE;
        st->peer_der = NULL;
        st->peer_len = 0;
        return hs_err(hs, MTLS_ERR_OCSP_BAD_RESPONSE,
                      "the server's stapled OCSP response (%zu bytes) is not a valid DER OCSP "
                      "response (RFC 6960)",
                      response.n);
    }
    return MTLS_OK;
}

mtls_err hs_status_read12(struct hs *hs, const msg *m)
{
    rd body = m->body;
    struct msg_certificate_status cs;
    mtls_err err = msg_certificate_status_parse(&body, &cs);
    if (err)
        return hs_err(hs, err, "%s", cs.why);
    if ((err = hs_transcript_add(hs, m->raw, m->raw_len)))
        return err;
    hs_trace_msg(hs, '<', TLS_HS_CERTIFICATE_STATUS, "a stapled OCSP response (%zu bytes)",
                 cs.response.n);
    return hs_status_take(hs, cs.response);
}

mtls_err hs_status_read_request(struct hs *hs, const ext_slot *ext)
{
    struct hs_status *st = &hs->status;
    const char *why;
    if (!ext->present)
        return MTLS_OK;
    ext_status_request req;
    mtls_err err = ext_status_request_parse(ext->data, &req, &why);
    if (err)
        return hs_err(hs, err, "%s", why);
    if (req.status_type != EXT_STATUS_OCSP) {
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NO_STAPLE, MTLS_OK, 0, '*',
                      "CertificateStatus", "the client asks for status type %u, not ocsp: ignored",
                      req.status_type);
        return MTLS_OK;
    }
    st->client_asked = true;
    return MTLS_OK;
}

void hs_status_pick(struct hs *hs)
{
    const mtls_config *cfg = hs->cfg;
    struct hs_status *st = &hs->status;
    if (!st->client_asked)
        return;
    if (!cfg->staple) {
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NO_STAPLE, MTLS_OK, 0, '*',
                      "CertificateStatus",
                      "the client asks for a stapled OCSP response; we have none to staple");
        return;
    }
    char reason[700];
    st->staple = staple_get(cfg->staple, cfg->chain[0], config_leaf_issuer(cfg), config_now(cfg),
                            reason, sizeof(reason));
    if (!st->staple)
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NO_STAPLE, MTLS_OK, 0, '*',
                      "CertificateStatus", "NOT stapling: %s", reason);
}

mtls_err hs_status_send12(struct hs *hs)
{
    staple_snap *s = hs->status.staple;
    if (!s)
        return MTLS_OK;
    struct msg_certificate_status cs = {
        .status_type = EXT_STATUS_OCSP,
        .response = rd_init(s->der, s->len),
    };
    size_t at = hs_msg_open(hs, TLS_HS_CERTIFICATE_STATUS);
    msg_certificate_status_build(&hs->out, &cs);
    mtls_err err = hs_msg_close(hs, at);
    if (err)
        return err;
    hs_trace_msg(hs, '>', TLS_HS_CERTIFICATE_STATUS,
                 "our stapled OCSP response (%zu bytes, status %s)", s->len,
                 s->verdict.status == X509_REVOC_REVOKED   ? "revoked"
                 : s->verdict.status == X509_REVOC_UNKNOWN ? "unknown"
                                                            : "good");
    return MTLS_OK;
}

bool hs_status_entry13(const struct hs *hs, wr *w)
{
    const staple_snap *s = hs->status.staple;
    if (!s)
        return true;
    /* extension_data<0..2^16-1> holds status_type, the response's 3-byte length and the
     * response: a larger response cannot travel in TLS 1.3 (TLS 1.2's message could carry it). */
    if (s->len > 0xffff - 4) {
        hs_trace_step(hs, MTLS_TRACE_DECISION, MTLS_DECISION_NO_STAPLE, MTLS_OK, 0, '*',
                      "CertificateStatus",
                      "NOT stapling: the response (%zu bytes) exceeds a TLS 1.3 extension", s->len);
        return true;
    }
    struct msg_certificate_status cs = {
        .status_type = EXT_STATUS_OCSP,
        .response = rd_init(s->der, s->len),
    };
    wr_u16(w, TLS_EXT_STATUS_REQUEST);
    size_t v = wr_open_u16(w);
    msg_certificate_status_build(w, &cs);
    wr_close_u16(w, v);
    return wr_ok(w);
}

/* The status_request of one CertificateEntry's extensions (already checked by the block parser:
 * well-formed, no duplicates), or an empty view. */
static rd entry_status(rd exts, bool *present)
{
    *present = false;
    while (exts.n) {
        uint16_t type;
        rd data;
        if (!rd_u16(&exts, &type) || !rd_vec16(&exts, &data))
            break;
        if (type == TLS_EXT_STATUS_REQUEST) {
            *present = true;
            return data;
        }
    }
    return rd_init(NULL, 0);
}

mtls_err hs_status_read13(struct hs *hs, const rd *exts, size_t n)
{
    bool server = hs->env->is_server;
    for (size_t i = 0; i < n; i++) {
        bool present;
        rd data = entry_status(exts[i], &present);
        if (!present)
            continue;
        if (server || !hs->status.requested)
            return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                          "status_request in the %s's Certificate (entry %zu), which was not asked "
                          "for (RFC 8446 4.4.2)",
                          server ? "client" : "server", i + 1);
        if (i > 0)
            continue; /* a status of an intermediate: we check the leaf's only */
        struct msg_certificate_status cs;
        mtls_err err = msg_certificate_status_parse(&data, &cs);
        if (err)
            return hs_err(hs, err, "the leaf's status_request: %s", cs.why);
        if ((err = hs_status_take(hs, cs.response)))
            return err;
    }
    return MTLS_OK;
}

static int ocsp_status_of(const x509_revocation *r)
{
    switch (r->status) {
    case X509_REVOC_GOOD:
        return MTLS_OCSP_GOOD;
    case X509_REVOC_REVOKED:
        return MTLS_OCSP_REVOKED;
    case X509_REVOC_UNKNOWN:
        return MTLS_OCSP_UNKNOWN;
    default:
        return MTLS_OCSP_INVALID;
    }
}

void hs_status_verified(struct hs *hs, const x509_revocation *r, const x509_cert *const *path,
                        size_t path_len)
{
    struct hs_status *st = &hs->status;
    hs_info *info = hs->info;
    if (st->peer_der) {
        /* The response goes to the connection, with what was found in it. */
        mem_free(info->ocsp.der);
        info->ocsp.der = st->peer_der;
        info->ocsp.len = st->peer_len;
        st->peer_der = NULL;
        st->peer_len = 0;
        info->ocsp.reason = X509_REASON_NONE;
        if (r->source != X509_REVOC_SRC_OCSP) {
            info->ocsp.status = MTLS_OCSP_NOT_CHECKED;
            info->ocsp.produced_at = st->peer_ocsp ? x509_ocsp_produced_at(st->peer_ocsp) : 0;
        } else {
            info->ocsp.status = ocsp_status_of(r);
            info->ocsp.produced_at = r->produced_at;
            info->ocsp.this_update = r->this_update;
            info->ocsp.next_update = r->has_next_update ? r->next_update : 0;
            info->ocsp.revocation_time = r->status == X509_REVOC_REVOKED ? r->revocation_time : 0;
            info->ocsp.reason = r->status == X509_REVOC_REVOKED ? r->reason : X509_REASON_NONE;
        }
    }
    /* What a resumption needs to check the peer against the CRLs again (resume.c): the
     * certificates above the leaf that the mode checks -- its issuer, or the whole path with
     * the anchor last (the issuer of the last intermediate). */
    unsigned mode = config_revocation(hs->cfg) & 0xff;
    if (!path || path_len < 2 || mode == MTLS_REVOCATION_OFF)
        return;
    size_t keep = mode == MTLS_REVOCATION_CHAIN ? path_len - 1 : 1;
    for (size_t i = 0; i < keep && st->n_issuers < X509_MAX_PATH; i++)
        st->issuers[st->n_issuers++] = x509_cert_up_ref((x509_cert *)path[i + 1]);
}
