/*
 * status_request.c -- the certificate status request (RFC 6066 section 8), OCSP stapling:
 *
 *   struct { CertificateStatusType status_type;
 *            select (status_type) { case ocsp: OCSPStatusRequest; } request;
 *   } CertificateStatusRequest;
 *   enum { ocsp(1), (255) } CertificateStatusType;
 *   struct { ResponderID responder_id_list<0..2^16-1>; Extensions request_extensions; }
 *       OCSPStatusRequest;
 *   opaque ResponderID<1..2^16-1>;  opaque Extensions<0..2^16-1>;
 *
 * A ClientHello carries the request (a TLS 1.3 CertificateRequest too, RFC 8446 4.4.2.1: the
 * server asking the client for a staple); a TLS 1.2 server that will staple answers with an empty
 * status_request in its ServerHello and sends the response in a CertificateStatus message
 * (msg/certificate_status.c).  In TLS 1.3 the response travels as the extension_data of the
 * status_request extension of the end-entity CertificateEntry, and that extension_data is the
 * same CertificateStatus struct: msg_certificate_status_parse / _build read and write it.
 *
 * mtls asks with an empty responder list and no request extensions (the responder is whoever the
 * server's CA names; a nonce means nothing in a response the server fetched in advance), and as a
 * server it has one response for its certificate, so the lists of a client's request are checked
 * for form and otherwise not used.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_status_request_build(wr *w)
{
    wr_u16(w, TLS_EXT_STATUS_REQUEST);
    size_t ext = wr_open_u16(w);
    wr_u8(w, EXT_STATUS_OCSP);
    wr_u16(w, 0); /* responder_id_list: empty */
    wr_u16(w, 0); /* request_extensions: none */
    wr_close_u16(w, ext);
}

mtls_err ext_status_request_parse(rd data, ext_status_request *out, const char **why)
{
    out->status_type = 0;
    out->responder_id_list = rd_init(NULL, 0);
    out->n_responder_ids = 0;
    out->request_extensions = rd_init(NULL, 0);
    if (!rd_u8(&data, &out->status_type)) {
        *why = "malformed status_request extension (no status_type)";
        return MTLS_ERR_DECODE;
    }
    /* Another status type's request has a form we do not know: it is not read, and the caller,
     * which can answer only ocsp, treats the extension as absent. */
    if (out->status_type != EXT_STATUS_OCSP)
        return MTLS_OK;
    if (!rd_vec16(&data, &out->responder_id_list) || !rd_vec16(&data, &out->request_extensions) ||
        !rd_done(&data)) {
        *why = "malformed status_request extension (OCSPStatusRequest)";
        return MTLS_ERR_DECODE;
    }
    rd ids = out->responder_id_list;
    while (ids.n) {
        rd id;
        /* ResponderID<1..2^16-1>: an empty one is malformed */
        if (!rd_vec16(&ids, &id) || id.n == 0) {
            *why = "malformed status_request extension (responder_id_list)";
            return MTLS_ERR_DECODE;
        }
        out->n_responder_ids++;
    }
    return MTLS_OK;
}

void ext_status_request_ack_build(wr *w)
{
    ext_empty_build(w, TLS_EXT_STATUS_REQUEST);
}

mtls_err ext_status_request_ack_parse(rd data, const char **why)
{
    /* RFC 6066 8: the server's status_request "extension_data" field ... SHALL be empty. */
    if (data.n != 0) {
        *why = "the server's status_request extension is not empty (RFC 6066 8)";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
