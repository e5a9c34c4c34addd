/*
 * renegotiation_info.c -- secure renegotiation indication (RFC 5746).  mtls never renegotiates,
 * so in the only handshake a connection has, the extension must be present and empty: "the
 * renegotiated_connection field [is] of zero length" (RFC 5746 3.4, 3.6).
 */
#include "../hs.h"

mtls_err ext_reneg_check(struct hs *hs, rd data)
{
    rd conn;
    if (!rd_vec8(&data, &conn) || !rd_done(&data))
        return hs_err(hs, MTLS_ERR_DECODE, "malformed renegotiation_info extension");
    if (conn.n != 0)
        return hs_err(hs, MTLS_ERR_BAD_RENEGOTIATION_INFO,
                      "renegotiation_info is not empty in an initial handshake");
    return MTLS_OK;
}
