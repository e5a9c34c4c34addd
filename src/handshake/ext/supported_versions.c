/*
 * supported_versions.c -- supported_versions (RFC 8446 4.2.1).  The client lists the versions it
 * speaks, most preferred first (versions<2..254>); the server names the one it selected
 * (selected_version) in a TLS 1.3 ServerHello or HelloRetryRequest.  Values mtls does not speak
 * -- GREASE (RFC 8701), drafts, SSL 3.0 to TLS 1.1 -- are skipped when the list is read; which
 * version is chosen is version.c's decision.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_versions_build(wr *w, const uint16_t *versions, size_t n)
{
    wr_u16(w, TLS_EXT_SUPPORTED_VERSIONS);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u8(w);
    for (size_t i = 0; i < n; i++)
        wr_u16(w, versions[i]);
    wr_close_u8(w, list);
    wr_close_u16(w, ext);
}

mtls_err ext_versions_parse_list(rd data, bool *has12, bool *has13, const char **why)
{
    rd list;
    *has12 = *has13 = false;
    if (!rd_vec8(&data, &list) || !rd_done(&data) || list.n < 2 || list.n % 2) {
        *why = "malformed supported_versions extension";
        return MTLS_ERR_DECODE;
    }
    while (list.n) {
        uint16_t v;
        rd_u16(&list, &v);
        *has12 |= v == MTLS_VERSION_TLS12;
        *has13 |= v == MTLS_VERSION_TLS13;
    }
    return MTLS_OK;
}

void ext_version_build(wr *w, uint16_t version)
{
    wr_u16(w, TLS_EXT_SUPPORTED_VERSIONS);
    wr_u16(w, 2);
    wr_u16(w, version);
}

mtls_err ext_version_parse(rd data, uint16_t *version, const char **why)
{
    if (!rd_u16(&data, version) || !rd_done(&data)) {
        *why = "malformed supported_versions extension from the server";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
