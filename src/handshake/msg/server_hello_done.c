/*
 * server_hello_done.c -- ServerHelloDone (RFC 5246 7.4.5): struct { } ServerHelloDone;
 */
#include "msg.h"

mtls_err msg_server_hello_done_parse(rd *body, struct msg_server_hello_done *out)
{
    out->why = NULL;
    if (!rd_done(body)) {
        out->why = "ServerHelloDone is not empty";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_server_hello_done_build(wr *w, const struct msg_server_hello_done *in)
{
    (void)in;
    return wr_ok(w);
}
