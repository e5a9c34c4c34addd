/*
 * cookie.c -- cookie (RFC 8446 4.2.2): struct { opaque cookie<1..2^16-1>; } Cookie.  A server may
 * put one in its HelloRetryRequest; the client echoes it in its second ClientHello.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_cookie_build(wr *w, rd cookie)
{
    wr_u16(w, TLS_EXT_COOKIE);
    size_t ext = wr_open_u16(w);
    size_t v = wr_open_u16(w);
    wr_bytes(w, cookie.p, cookie.n);
    wr_close_u16(w, v);
    wr_close_u16(w, ext);
}

mtls_err ext_cookie_parse(rd data, rd *cookie, const char **why)
{
    if (!rd_vec16(&data, cookie) || !rd_done(&data) || cookie->n == 0) {
        *why = "malformed cookie extension";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
