/*
 * finished.c -- Finished (RFC 5246 7.4.9):
 *   struct { opaque verify_data[verify_data_length]; } Finished;
 * verify_data_length is 12 for every TLS 1.2 suite mtls knows.  (The values are computed and
 * compared, in constant time, in tls12.c.)
 */
#include <string.h>

#include "msg.h"

mtls_err msg_finished_parse(rd *body, struct msg_finished *out)
{
    memset(out, 0, sizeof(*out));
    if (!rd_copy(body, out->verify_data, sizeof(out->verify_data)) || !rd_done(body)) {
        out->why = "malformed Finished message";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool msg_finished_build(wr *w, const struct msg_finished *in)
{
    wr_bytes(w, in->verify_data, sizeof(in->verify_data));
    return wr_ok(w);
}

/* TLS 1.3 (RFC 8446 4.4.4): verify_data[Hash.length]. */
mtls_err msg_finished13_parse(rd *body, size_t hlen, struct msg_finished13 *out)
{
    memset(out, 0, sizeof(*out));
    if (hlen > sizeof(out->verify_data) || !rd_copy(body, out->verify_data, hlen) ||
        !rd_done(body)) {
        out->why = "malformed Finished message";
        return MTLS_ERR_DECODE;
    }
    out->len = hlen;
    return MTLS_OK;
}

bool msg_finished13_build(wr *w, const struct msg_finished13 *in)
{
    wr_bytes(w, in->verify_data, in->len);
    return wr_ok(w);
}
