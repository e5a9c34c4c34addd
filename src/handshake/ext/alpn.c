/*
 * alpn.c -- application_layer_protocol_negotiation (RFC 7301).  The client's list must be
 * non-empty and hold no empty name (3.1); the server's answer must be exactly one name.  The
 * server picks its most preferred protocol that the client offers (ext_alpn_select); with none in
 * common the role fails with no_application_protocol.  Both happen in every handshake, resumed
 * ones too: the protocol belongs to the connection, not to the session (RFC 7301 3.1; resume.c
 * never carries it over).
 */
#include <string.h>

#include "../../record/tls.h"
#include "ext.h"

void ext_alpn_build(wr *w, const uint8_t *wire, size_t len)
{
    wr_u16(w, TLS_EXT_ALPN);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u16(w);
    wr_bytes(w, wire, len);
    wr_close_u16(w, list);
    wr_close_u16(w, ext);
}

bool ext_alpn_has(const uint8_t *wire, size_t len, rd name)
{
    rd r = rd_init(wire, len);
    rd p;
    while (rd_vec8(&r, &p))
        if (p.n == name.n && memcmp(p.p, name.p, name.n) == 0)
            return true;
    return false;
}

mtls_err ext_alpn_parse_list(rd data, rd *list, const char **why)
{
    if (!rd_vec16(&data, list) || !rd_done(&data) || list->n == 0) {
        *why = "malformed ALPN extension";
        return MTLS_ERR_DECODE;
    }
    /* RFC 7301 3.1: empty names are not allowed. */
    rd check = *list;
    while (check.n) {
        rd name;
        if (!rd_vec8(&check, &name) || name.n == 0) {
            *why = "malformed ALPN protocol name";
            return MTLS_ERR_DECODE;
        }
    }
    return MTLS_OK;
}

mtls_err ext_alpn_parse_one(rd data, rd *name, const char **why)
{
    rd list;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || !rd_vec8(&list, name) || !rd_done(&list) ||
        name->n == 0) {
        *why = "malformed ALPN extension from the server";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

bool ext_alpn_select(const uint8_t *ours, size_t ours_len, rd offered, rd *chosen)
{
    rd r = rd_init(ours, ours_len);
    while (rd_vec8(&r, chosen))
        if (ext_alpn_has(offered.p, offered.n, *chosen))
            return true;
    return false;
}
