/*
 * ems.c -- extended_master_secret (RFC 7627 5.1): "The extension_data field of this extension
 * SHALL be empty", in the ClientHello and in the ServerHello that answers it.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_ems_build(wr *w)
{
    ext_empty_build(w, TLS_EXT_EXTENDED_MASTER_SECRET);
}

mtls_err ext_ems_parse(rd data, const char **why)
{
    if (data.n != 0) {
        *why = "malformed extended_master_secret extension";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
