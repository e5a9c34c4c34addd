/*
 * block.c -- the extensions block of a hello (RFC 5246 7.4.1.4) and the table of which extension
 * may appear in which message, in the shape of RFC 8446 section 4.2's table (CH, SH, HRR, EE, CT,
 * CR, NST) with a column for the TLS 1.2 ServerHello.  Each extension mtls knows is found at most
 * once, into its slot of a hello_exts; what the table does not allow is ignored in a ClientHello
 * and refused in anything the server sends.
 *
 * The TLS 1.2 ServerHello column holds every extension mtls knows: which of them answer something
 * the client offered, and how, is client12.c's check (RFC 5246 7.4.1.4), where a refusal names
 * the extension it is about.  supported_groups, which some servers echo though RFC 8422 5.1.1
 * has them not send it, is ignored there, as it always was.
 */
#include <stddef.h>
#include <string.h>

#include "../../record/tls.h"
#include "ext.h"

#define CH EXT_IN_CH
#define SH12 EXT_IN_SH12
#define SH EXT_IN_SH
#define EE EXT_IN_EE
#define CR EXT_IN_CR
#define CT EXT_IN_CT

static const struct ext_row {
    uint16_t type;
    unsigned in; /* ext_msg bits: where the extension may appear */
    size_t slot; /* offsetof(hello_exts, ...) */
} table[] = {
    /* RFC 8446 4.2: server_name CH, EE; supported_groups CH, EE; signature_algorithms CH, CR;
     * application_layer_protocol_negotiation CH, EE.  TLS 1.2 only: ec_point_formats (RFC 8422),
     * extended_master_secret (RFC 7627), session_ticket (RFC 5077), renegotiation_info (RFC
     * 5746), each answered in the ServerHello. */
    {TLS_EXT_SERVER_NAME, CH | SH12 | EE, offsetof(hello_exts, server_name)},
    {TLS_EXT_SUPPORTED_GROUPS, CH | SH12 | EE, offsetof(hello_exts, supported_groups)},
    {TLS_EXT_EC_POINT_FORMATS, CH | SH12, offsetof(hello_exts, ec_point_formats)},
    {TLS_EXT_SIGNATURE_ALGORITHMS, CH | SH12 | CR, offsetof(hello_exts, signature_algorithms)},
    {TLS_EXT_ALPN, CH | SH12 | EE, offsetof(hello_exts, alpn)},
    {TLS_EXT_EXTENDED_MASTER_SECRET, CH | SH12, offsetof(hello_exts, ems)},
    {TLS_EXT_SESSION_TICKET, CH | SH12, offsetof(hello_exts, session_ticket)},
    {TLS_EXT_RENEGOTIATION_INFO, CH | SH12, offsetof(hello_exts, renegotiation_info)},
    /* RFC 8446 4.2: status_request CH, CR, CT; RFC 6066 8: the TLS 1.2 ServerHello's empty
     * acknowledgement. */
    {TLS_EXT_STATUS_REQUEST, CH | SH12 | CR | CT, offsetof(hello_exts, status_request)},
};

static ext_slot *slot_for(hello_exts *e, uint16_t type, ext_msg in)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].type == type)
            return table[i].in & in ? (ext_slot *)((char *)e + table[i].slot) : NULL;
    return NULL;
}

mtls_err ext_parse_block(rd *r, ext_msg in, hello_exts *e, const char **why)
{
    memset(e, 0, sizeof(*e));
    /* RFC 5246 7.4.1.4: "There MUST NOT be more than one extension of the same type."  A bit per
     * possible type keeps the check linear even for a hello with thousands of extensions. */
    uint64_t seen[65536 / 64];
    memset(seen, 0, sizeof(seen));
    rd block;
    if (!rd_vec16(r, &block) || block.n == 1) {
        *why = "malformed extensions block";
        return MTLS_ERR_DECODE;
    }
    while (block.n) {
        uint16_t type;
        rd data;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &data)) {
            *why = "malformed extension";
            return MTLS_ERR_DECODE;
        }
        if (seen[type / 64] & (1ull << (type % 64))) {
            e->bad_type = type;
            *why = "an extension appears twice";
            return MTLS_ERR_DUPLICATE_EXTENSION;
        }
        seen[type / 64] |= 1ull << (type % 64);
        ext_slot *s = slot_for(e, type, in);
        if (!s) {
            /* RFC 5246 7.4.1.4: a client must abort on an extension it did not offer. */
            if (in != EXT_IN_CH) {
                e->bad_type = type;
                *why = "an extension that was not offered";
                return MTLS_ERR_UNOFFERED_EXTENSION;
            }
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
