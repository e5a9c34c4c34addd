/*
 * key_update.c -- KeyUpdate (RFC 8446 4.6.3):
 *   enum { update_not_requested(0), update_requested(1), (255) } KeyUpdateRequest;
 *   struct { KeyUpdateRequest request_update; } KeyUpdate;
 * Any other value of request_update is illegal_parameter.
 */
#include <string.h>

#include "msg.h"

mtls_err msg_key_update_parse(rd *body, struct msg_key_update *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_u8(body, &out->request_update) || !rd_done(body)) {
        out->why = "malformed KeyUpdate";
        return MTLS_ERR_DECODE;
    }
    if (out->request_update > 1) {
        out->why = "KeyUpdate with a request_update other than 0 or 1";
        return MTLS_ERR_ILLEGAL_PARAMETER;
    }
    return MTLS_OK;
}

bool msg_key_update_build(wr *w, const struct msg_key_update *in)
{
    wr_u8(w, in->request_update);
    return wr_ok(w);
}
