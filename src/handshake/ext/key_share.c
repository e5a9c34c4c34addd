/*
 * key_share.c -- key_share (RFC 8446 4.2.8):
 *   struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
 *   ClientHello:       KeyShareEntry client_shares<0..2^16-1>;
 *   ServerHello:       KeyShareEntry server_share;
 *   HelloRetryRequest: NamedGroup selected_group;
 * Whether a public value is valid for its group (length, point on the curve) is checked when the
 * shared secret is derived (cry_kex_derive); which share is used, and against which offer, is the
 * role's business.  An empty key_exchange, though outside <1..2^16-1>, is left to that check too:
 * it is an invalid public value (illegal_parameter, as OpenSSL answers and tlsfuzzer expects),
 * not a malformed message.
 */
#include <string.h>

#include "../../crypto/crypto.h"
#include "../../record/tls.h"
#include "ext.h"

static void entry_build(wr *w, const ext_share *s)
{
    wr_u16(w, s->group);
    size_t v = wr_open_u16(w);
    wr_bytes(w, s->key_exchange.p, s->key_exchange.n);
    wr_close_u16(w, v);
}

static bool entry_parse(rd *r, ext_share *s)
{
    return rd_u16(r, &s->group) && rd_vec16(r, &s->key_exchange);
}

void ext_key_share_ch_build(wr *w, const ext_share *shares, size_t n)
{
    wr_u16(w, TLS_EXT_KEY_SHARE);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u16(w);
    for (size_t i = 0; i < n; i++)
        entry_build(w, &shares[i]);
    wr_close_u16(w, list);
    wr_close_u16(w, ext);
}

mtls_err ext_key_share_ch_parse(rd data, ext_share *out, size_t cap, size_t *n, const char **why)
{
    rd list;
    *n = 0;
    if (!rd_vec16(&data, &list) || !rd_done(&data)) {
        *why = "malformed key_share extension";
        return MTLS_ERR_DECODE;
    }
    /* RFC 8446 4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for the same group";
     * "Servers MAY check for violations of these rules and abort the handshake with an
     * "illegal_parameter" alert".  A bit per group keeps it linear. */
    uint64_t seen[65536 / 64];
    memset(seen, 0, sizeof(seen));
    while (list.n) {
        ext_share s;
        if (!entry_parse(&list, &s)) {
            *why = "malformed key_share entry";
            return MTLS_ERR_DECODE;
        }
        if (seen[s.group / 64] & (1ull << (s.group % 64))) {
            *why = "two key shares for the same group";
            return MTLS_ERR_ILLEGAL_PARAMETER;
        }
        seen[s.group / 64] |= 1ull << (s.group % 64);
        if (*n < cap && cry_group_supported(s.group))
            out[(*n)++] = s;
    }
    return MTLS_OK;
}

bool ext_key_share_ch_offered(rd shares, rd groups, uint16_t *group)
{
    *group = 0;
    uint64_t offered[65536 / 64];
    memset(offered, 0, sizeof(offered));
    rd list;
    uint16_t g;
    if (!rd_vec16(&groups, &list))
        return false;
    while (rd_u16(&list, &g))
        offered[g / 64] |= 1ull << (g % 64);
    if (!rd_vec16(&shares, &list))
        return false;
    ext_share s;
    while (list.n) {
        if (!entry_parse(&list, &s))
            return false;
        if (!(offered[s.group / 64] & (1ull << (s.group % 64)))) {
            *group = s.group;
            return false;
        }
    }
    return true;
}

void ext_key_share_sh_build(wr *w, const ext_share *share)
{
    wr_u16(w, TLS_EXT_KEY_SHARE);
    size_t ext = wr_open_u16(w);
    entry_build(w, share);
    wr_close_u16(w, ext);
}

mtls_err ext_key_share_sh_parse(rd data, ext_share *share, const char **why)
{
    if (!entry_parse(&data, share) || !rd_done(&data)) {
        *why = "malformed key_share extension from the server";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}

void ext_key_share_hrr_build(wr *w, uint16_t group)
{
    wr_u16(w, TLS_EXT_KEY_SHARE);
    wr_u16(w, 2);
    wr_u16(w, group);
}

mtls_err ext_key_share_hrr_parse(rd data, uint16_t *group, const char **why)
{
    if (!rd_u16(&data, group) || !rd_done(&data)) {
        *why = "malformed key_share extension in HelloRetryRequest";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
