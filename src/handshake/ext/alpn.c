/*
 * alpn.c -- application_layer_protocol_negotiation (RFC 7301).  The server picks its most
 * preferred protocol that the client offers; with none in common it fails with
 * no_application_protocol.  The client checks that the server chose exactly one offered name.
 * Both do so in every handshake, resumed ones too: the protocol belongs to the connection, not
 * to the session (RFC 7301 3.1; resume.c never carries it over).
 */
#include <string.h>

#include "../hs.h"

void ext_alpn_build(wr *w, const uint8_t *wire, size_t len)
{
    wr_u16(w, TLS_EXT_ALPN);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u16(w);
    wr_bytes(w, wire, len);
    wr_close_u16(w, list);
    wr_close_u16(w, ext);
}

static bool wire_has(const uint8_t *wire, size_t len, const uint8_t *name, size_t name_len)
{
    rd r = rd_init(wire, len);
    rd p;
    while (rd_vec8(&r, &p))
        if (p.n == name_len && memcmp(p.p, name, name_len) == 0)
            return true;
    return false;
}

/* The negotiated protocol, as a string the connection owns. */
static mtls_err set_alpn(hs_info *info, const uint8_t *name, size_t len)
{
    char *p = mem_alloc(len + 1);
    if (!p)
        return MTLS_ERR_NO_MEMORY;
    memcpy(p, name, len);
    p[len] = 0;
    mem_free(info->alpn);
    info->alpn = p;
    return MTLS_OK;
}

mtls_err ext_alpn_select(struct hs *hs, rd data)
{
    rd list, check;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || list.n == 0)
        return hs_err(hs, MTLS_ERR_DECODE, "malformed ALPN extension");
    /* RFC 7301 3.1: empty names are not allowed. */
    check = list;
    while (check.n) {
        rd name;
        if (!rd_vec8(&check, &name) || name.n == 0)
            return hs_err(hs, MTLS_ERR_DECODE, "malformed ALPN protocol name");
    }
    if (hs->cfg->alpn_len == 0)
        return MTLS_OK; /* we do not do ALPN: ignore the extension */
    rd ours = rd_init(hs->cfg->alpn_wire, hs->cfg->alpn_len);
    rd name;
    while (rd_vec8(&ours, &name)) {
        if (wire_has(list.p, list.n, name.p, name.n))
            return set_alpn(hs->info, name.p, name.n);
    }
    return hs_err(hs, MTLS_ERR_NO_ALPN, "no application protocol offered by the client is served");
}

mtls_err ext_alpn_check_server(struct hs *hs, rd data)
{
    rd list, name;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || !rd_vec8(&list, &name) || !rd_done(&list) ||
        name.n == 0)
        return hs_err(hs, MTLS_ERR_DECODE, "malformed ALPN extension from the server");
    if (!wire_has(hs->cfg->alpn_wire, hs->cfg->alpn_len, name.p, name.n))
        return hs_err(hs, MTLS_ERR_ILLEGAL_PARAMETER,
                      "the server chose an ALPN protocol not offered");
    return set_alpn(hs->info, name.p, name.n);
}
