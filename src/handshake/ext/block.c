/*
 * block.c -- the extensions block of a hello (RFC 5246 7.4.1.4) and the table of which extension
 * may appear in which message, in the shape of RFC 8446 section 4.2's table (CH, SH, HRR, EE, CT,
 * CR, NST) with a column for the TLS 1.2 ServerHello.  Each extension mtls knows is found at most
 * once, into its slot of a hello_exts; what the table does not allow is ignored in a ClientHello
 * and refused in anything the server sends (ext.h says with which error, per message).
 *
 * The TLS 1.2 ServerHello column holds every TLS 1.2 extension mtls knows: which of them answer
 * something the client offered, and how, is client12.c's check (RFC 5246 7.4.1.4), where a refusal
 * names the extension it is about.  supported_groups, which some servers echo though RFC 8422
 * 5.1.1 has them not send it, is ignored there, as it always was.
 */
#include <stddef.h>
#include <string.h>

#include "../../record/tls.h"
#include "ext.h"

#define CH EXT_IN_CH
#define SH12 EXT_IN_SH12
#define SH EXT_IN_SH
#define HRR EXT_IN_HRR
#define EE EXT_IN_EE
#define CT EXT_IN_CT
#define CR EXT_IN_CR
#define NST EXT_IN_NST

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
    /* RFC 8446 4.2, the TLS 1.3 ones: pre_shared_key CH, SH; early_data CH, EE, NST;
     * supported_versions CH, SH, HRR; cookie CH, HRR; psk_key_exchange_modes CH;
     * certificate_authorities CH, CR; post_handshake_auth CH; signature_algorithms_cert CH, CR;
     * key_share CH, SH, HRR. */
    {TLS_EXT_PRE_SHARED_KEY, CH | SH, offsetof(hello_exts, pre_shared_key)},
    {TLS_EXT_EARLY_DATA, CH | EE | NST, offsetof(hello_exts, early_data)},
    {TLS_EXT_SUPPORTED_VERSIONS, CH | SH | HRR, offsetof(hello_exts, supported_versions)},
    {TLS_EXT_COOKIE, CH | HRR, offsetof(hello_exts, cookie)},
    {TLS_EXT_PSK_KEY_EXCHANGE_MODES, CH, offsetof(hello_exts, psk_key_exchange_modes)},
    {TLS_EXT_CERTIFICATE_AUTHORITIES, CH | CR, offsetof(hello_exts, certificate_authorities)},
    {TLS_EXT_POST_HANDSHAKE_AUTH, CH, offsetof(hello_exts, post_handshake_auth)},
    {TLS_EXT_SIGNATURE_ALGORITHMS_CERT, CH | CR, offsetof(hello_exts, signature_algorithms_cert)},
    {TLS_EXT_KEY_SHARE, CH | SH | HRR, offsetof(hello_exts, key_share)},
    /* RFC 8449 record_size_limit: CH, EE.  Known so that it is placed right (RFC 8448's
     * EncryptedExtensions carry it); mtls does not offer it, and its client refuses an answer. */
    {TLS_EXT_RECORD_SIZE_LIMIT, CH | EE, offsetof(hello_exts, record_size_limit)},
    /* RFC 8446 4.2: status_request CH, CR, CT; RFC 6066 8: the TLS 1.2 ServerHello's empty
     * acknowledgement. */
    {TLS_EXT_STATUS_REQUEST, CH | SH12 | CR | CT, offsetof(hello_exts, status_request)},
};

/* The messages of TLS 1.3 alone, where RFC 8446 4.2's rules for misplaced and repeated extensions
 * apply. */
#define TLS13_ONLY (SH | HRR | EE | CT | CR | NST)
/* Where an extension mtls does not know is ignored rather than refused. */
#define UNKNOWN_IGNORED (CH | CT | CR | NST)

static const struct ext_row *row_for(uint16_t type)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].type == type)
            return &table[i];
    return NULL;
}

static mtls_err refuse(hello_exts *e, uint16_t type, mtls_err err, const char *what,
                       const char **why)
{
    e->bad_type = type;
    *why = what;
    return err;
}

mtls_err ext_parse_block(rd *r, ext_msg in, hello_exts *e, const char **why)
{
    memset(e, 0, sizeof(*e));
    bool tls13 = (in & TLS13_ONLY) != 0;
    /* RFC 5246 7.4.1.4 / RFC 8446 4.2: "There MUST NOT be more than one extension of the same
     * type."  A bit per possible type keeps the check linear even for a hello with thousands of
     * extensions. */
    uint64_t seen[65536 / 64];
    memset(seen, 0, sizeof(seen));
    rd block;
    if (!rd_vec16(r, &block) || block.n == 1) {
        *why = "malformed extensions block";
        return MTLS_ERR_DECODE;
    }
    bool after_psk = false;
    while (block.n) {
        uint16_t type;
        rd data;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &data)) {
            *why = "malformed extension";
            return MTLS_ERR_DECODE;
        }
        if (seen[type / 64] & (1ull << (type % 64)))
            return refuse(e, type,
                          tls13 ? MTLS_ERR_ILLEGAL_PARAMETER : MTLS_ERR_DUPLICATE_EXTENSION,
                          "an extension appears twice", why);
        seen[type / 64] |= 1ull << (type % 64);
        e->psk_not_last |= after_psk;
        after_psk |= type == TLS_EXT_PRE_SHARED_KEY;
        const struct ext_row *row = row_for(type);
        if (!row || !(row->in & in)) {
            if (row && tls13)
                return refuse(e, type, MTLS_ERR_ILLEGAL_PARAMETER,
                              "an extension in a message where RFC 8446 4.2 does not allow it",
                              why);
            if (!row && (in & UNKNOWN_IGNORED))
                continue;
            if (in == EXT_IN_CH)
                continue; /* a known extension the table leaves out of a ClientHello: ignored */
            /* RFC 5246 7.4.1.4, RFC 8446 4.2: a client must abort on an extension it did not
             * offer. */
            return refuse(e, type, MTLS_ERR_UNOFFERED_EXTENSION,
                          "an extension that was not offered", why);
        }
        ext_slot *s = (ext_slot *)((char *)e + row->slot);
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

mtls_err ext_empty_parse(rd data, const char **why)
{
    if (data.n != 0) {
        *why = "an extension that must be empty is not";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
