/*
 * block.c -- the extensions block of a hello (RFC 5246 7.4.1.4): each extension found once, by
 * type, into a hello_exts; unknown ones ignored; any type seen twice refused.
 */
#include <string.h>

#include "../hs.h"

static ext_slot *slot_for(hello_exts *e, uint16_t type)
{
    switch (type) {
    case TLS_EXT_SERVER_NAME: return &e->server_name;
    case TLS_EXT_SUPPORTED_GROUPS: return &e->supported_groups;
    case TLS_EXT_EC_POINT_FORMATS: return &e->ec_point_formats;
    case TLS_EXT_SIGNATURE_ALGORITHMS: return &e->signature_algorithms;
    case TLS_EXT_ALPN: return &e->alpn;
    case TLS_EXT_EXTENDED_MASTER_SECRET: return &e->ems;
    case TLS_EXT_RENEGOTIATION_INFO: return &e->renegotiation_info;
    case TLS_EXT_SESSION_TICKET: return &e->session_ticket;
    default: return NULL;
    }
}

mtls_err ext_parse_block(struct hs *hs, rd *r, hello_exts *e, bool in_server_hello)
{
    memset(e, 0, sizeof(*e));
    /* RFC 5246 7.4.1.4: "There MUST NOT be more than one extension of the same type."  A bit per
     * possible type keeps the check linear even for a hello with thousands of extensions. */
    uint64_t seen[65536 / 64];
    memset(seen, 0, sizeof(seen));
    rd block;
    if (!rd_vec16(r, &block) || block.n == 1)
        return hs_err(hs, MTLS_ERR_DECODE, "malformed extensions block");
    while (block.n) {
        uint16_t type;
        rd data;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &data))
            return hs_err(hs, MTLS_ERR_DECODE, "malformed extension");
        if (seen[type / 64] & (1ull << (type % 64)))
            return hs_err(hs, MTLS_ERR_DUPLICATE_EXTENSION, "extension %u appears twice", type);
        seen[type / 64] |= 1ull << (type % 64);
        ext_slot *s = slot_for(e, type);
        if (!s) {
            /* RFC 5246 7.4.1.4: a client must abort on an extension it did not offer. */
            if (in_server_hello)
                return hs_err(hs, MTLS_ERR_UNOFFERED_EXTENSION,
                              "the server sent extension %u, which was not offered", type);
            continue;
        }
        s->present = true;
        s->data = data;
    }
    return MTLS_OK;
}

void ext_empty_build(wr *w, uint16_t type)
{
    wr_u16(w, type);
    wr_u16(w, 0);
}
