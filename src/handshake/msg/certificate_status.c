/*
 * certificate_status.c -- CertificateStatus (RFC 6066 section 8), handshake type 22:
 *   struct { CertificateStatusType status_type;
 *            select (status_type) { case ocsp: OCSPResponse; } response;
 *   } CertificateStatus;
 *   opaque OCSPResponse<1..2^24-1>;
 * In TLS 1.2 the server sends it right after its Certificate, only when the client asked
 * (status_request) and the ServerHello acknowledged it -- and even then it MAY leave it out.  In
 * TLS 1.3 the same struct is the extension_data of the end-entity CertificateEntry's
 * status_request extension (RFC 8446 4.4.2.1), so it is read and written here for both.  The
 * OCSPResponse is DER (RFC 6960), parsed and checked by src/x509/ocsp.c; here it is only bytes.
 * ocsp(1) is the only status type RFC 6066 defines; any other is malformed.
 */
#include <string.h>

#include "../ext/ext.h"
#include "msg.h"

mtls_err msg_certificate_status_parse(rd *body, struct msg_certificate_status *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u8(body, &out->status_type) || out->status_type != EXT_STATUS_OCSP ||
        !rd_vec24(body, &out->response) || out->response.n == 0 || !rd_done(body)) {
        out->why = out->status_type && out->status_type != EXT_STATUS_OCSP
                       ? "CertificateStatus of a status type other than ocsp"
                       : "malformed CertificateStatus";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_certificate_status_build(wr *w, const struct msg_certificate_status *in)
{
    wr_u8(w, in->status_type);
    size_t v = wr_open_u24(w);
    wr_bytes(w, in->response.p, in->response.n);
    wr_close_u24(w, v);
    return wr_ok(w);
}
