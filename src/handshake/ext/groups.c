/*
 * groups.c -- supported_groups and ec_point_formats (RFC 8422 5.1).  Unknown groups in the peer's
 * list are skipped (they could never match ours).  Only the uncompressed point format exists for
 * us; a peer's ec_point_formats must include it.
 */
#include "../../crypto/crypto.h"
#include "../../record/tls.h"
#include "ext.h"

void ext_groups_build(wr *w, const uint16_t *groups, size_t n)
{
    wr_u16(w, TLS_EXT_SUPPORTED_GROUPS);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u16(w);
    for (size_t i = 0; i < n; i++)
        wr_u16(w, groups[i]);
    wr_close_u16(w, list);
    wr_close_u16(w, ext);
}

mtls_err ext_groups_parse(rd data, uint16_t *out, size_t cap, size_t *n, const char **why)
{
    rd list;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || list.n == 0 || list.n % 2) {
        *why = "malformed supported_groups extension";
        return MTLS_ERR_DECODE;
    }
    *n = 0;
    while (list.n) {
        uint16_t g;
        rd_u16(&list, &g);
        if (*n < cap && cry_group_supported(g))
            out[(*n)++] = g;
    }
    return MTLS_OK;
}

void ext_point_formats_build(wr *w)
{
    wr_u16(w, TLS_EXT_EC_POINT_FORMATS);
    wr_u16(w, 2);
    wr_u8(w, 1);
    wr_u8(w, 0); /* uncompressed */
}

mtls_err ext_point_formats_parse(rd data, const char **why)
{
    rd list;
    if (!rd_vec8(&data, &list) || !rd_done(&data) || list.n == 0) {
        *why = "malformed ec_point_formats extension";
        return MTLS_ERR_DECODE;
    }
    /* RFC 8422 5.1.2: the list MUST contain uncompressed. */
    for (size_t i = 0; i < list.n; i++)
        if (list.p[i] == 0)
            return MTLS_OK;
    *why = "the peer does not accept uncompressed points";
    return MTLS_ERR_ILLEGAL_PARAMETER;
}
