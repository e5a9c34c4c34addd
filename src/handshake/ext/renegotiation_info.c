/*
 * renegotiation_info.c -- secure renegotiation indication (RFC 5746).  mtls never renegotiates,
 * so in the only handshake a connection has the extension is empty both ways: "the
 * renegotiated_connection field [is] of zero length" (RFC 5746 3.4, 3.6).  The ClientHello and
 * the ServerHello build it here, the one place.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_reneg_build(wr *w)
{
    wr_u16(w, TLS_EXT_RENEGOTIATION_INFO);
    wr_u16(w, 1);
    wr_u8(w, 0); /* renegotiated_connection<0..255>: empty */
}

mtls_err ext_reneg_parse(rd data, const char **why)
{
    rd conn;
    if (!rd_vec8(&data, &conn) || !rd_done(&data)) {
        *why = "malformed renegotiation_info extension";
        return MTLS_ERR_DECODE;
    }
    if (conn.n != 0) {
        *why = "renegotiation_info is not empty in an initial handshake";
        return MTLS_ERR_BAD_RENEGOTIATION_INFO;
    }
    return MTLS_OK;
}
