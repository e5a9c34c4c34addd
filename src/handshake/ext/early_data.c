/*
 * early_data.c -- early_data (RFC 8446 4.2.10).  mtls sends no 0-RTT data and accepts none: a
 * client's early_data in a ClientHello is declined (not answered in EncryptedExtensions) and the
 * records it sent under the early key skipped (server13.c); a ticket's max_early_data_size is
 * read and ignored.  The ClientHello's and EncryptedExtensions' forms are empty (ext_empty_parse).
 */
#include "ext.h"

mtls_err ext_early_data_nst_parse(rd data, uint32_t *max_size, const char **why)
{
    if (!rd_u32(&data, max_size) || !rd_done(&data)) {
        *why = "malformed early_data extension in NewSessionTicket";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
