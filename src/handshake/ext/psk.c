/*
 * psk.c -- psk_key_exchange_modes (RFC 8446 4.2.9) and pre_shared_key (4.2.11):
 *   enum { psk_ke(0), psk_dhe_ke(1), (255) } PskKeyExchangeMode;
 *   struct { PskKeyExchangeMode ke_modes<1..255>; } PskKeyExchangeModes;
 *   struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; } PskIdentity;
 *   opaque PskBinderEntry<32..255>;
 *   struct { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; } OfferedPsks;
 *   ClientHello: OfferedPsks; ServerHello: uint16 selected_identity.
 * The binders end the ClientHello (pre_shared_key MUST be its last extension), so the partial
 * ClientHello a binder covers (4.2.11.2) is the message up to the binders list: its length is
 * what binders_len leaves of the message.  Computing and checking binders is the key schedule's
 * (ks13_binder, ks13_binder_check), choosing an identity the server's (server13.c, resume.c).
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_psk_modes_build(wr *w, bool psk_ke, bool psk_dhe_ke)
{
    wr_u16(w, TLS_EXT_PSK_KEY_EXCHANGE_MODES);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u8(w);
    if (psk_dhe_ke)
        wr_u8(w, EXT_PSK_DHE_KE);
    if (psk_ke)
        wr_u8(w, EXT_PSK_KE);
    wr_close_u8(w, list);
    wr_close_u16(w, ext);
}

mtls_err ext_psk_modes_parse(rd data, bool *psk_ke, bool *psk_dhe_ke, const char **why)
{
    rd list;
    *psk_ke = *psk_dhe_ke = false;
    if (!rd_vec8(&data, &list) || !rd_done(&data) || list.n == 0) {
        *why = "malformed psk_key_exchange_modes extension";
        return MTLS_ERR_DECODE;
    }
    for (size_t i = 0; i < list.n; i++) {
        *psk_ke |= list.p[i] == EXT_PSK_KE;
        *psk_dhe_ke |= list.p[i] == EXT_PSK_DHE_KE;
    }
    return MTLS_OK;
}

mtls_err ext_psk_offer_parse(rd data, ext_psk_offer *out, const char **why)
{
    out->n = 0;
    if (!rd_vec16(&data, &out->identities) || out->identities.n < 7) {
        *why = "malformed pre_shared_key identities";
        return MTLS_ERR_DECODE;
    }
    out->binders_len = data.n;
    if (!rd_vec16(&data, &out->binders) || !rd_done(&data) || out->binders.n < 33) {
        *why = "malformed pre_shared_key binders";
        return MTLS_ERR_DECODE;
    }
    rd ids = out->identities, bs = out->binders;
    size_t n_binders = 0;
    while (ids.n) {
        rd identity;
        uint32_t age;
        if (!rd_vec16(&ids, &identity) || identity.n == 0 || !rd_u32(&ids, &age)) {
            *why = "malformed pre_shared_key identity";
            return MTLS_ERR_DECODE;
        }
        out->n++;
    }
    while (bs.n) {
        rd binder;
        if (!rd_vec8(&bs, &binder) || binder.n < 32) {
            *why = "malformed pre_shared_key binder";
            return MTLS_ERR_DECODE;
        }
        n_binders++;
    }
    /* 4.2.11: one binder per identity, in the same order. */
    if (n_binders != out->n) {
        *why = "pre_shared_key has not as many binders as identities";
        return MTLS_ERR_ILLEGAL_PARAMETER;
    }
    return MTLS_OK;
}

void ext_psk_offer_get(const ext_psk_offer *o, size_t i, rd *identity, uint32_t *age, rd *binder)
{
    rd ids = o->identities, bs = o->binders;
    for (size_t k = 0; k <= i; k++) {
        rd_vec16(&ids, identity);
        rd_u32(&ids, age);
        rd_vec8(&bs, binder);
    }
}

void ext_psk_offer_build(wr *w, rd identity, uint32_t obfuscated_age, size_t binder_len)
{
    wr_u16(w, TLS_EXT_PRE_SHARED_KEY);
    size_t ext = wr_open_u16(w);
    size_t ids = wr_open_u16(w);
    size_t id = wr_open_u16(w);
    wr_bytes(w, identity.p, identity.n);
    wr_close_u16(w, id);
    wr_u32(w, obfuscated_age);
    wr_close_u16(w, ids);
    size_t binders = wr_open_u16(w);
    size_t b = wr_open_u8(w);
    uint8_t *zeros = wr_reserve(w, binder_len);
    for (size_t i = 0; zeros && i < binder_len; i++)
        zeros[i] = 0;
    wr_close_u8(w, b);
    wr_close_u16(w, binders);
    wr_close_u16(w, ext);
}

void ext_psk_sh_build(wr *w, uint16_t selected)
{
    wr_u16(w, TLS_EXT_PRE_SHARED_KEY);
    wr_u16(w, 2);
    wr_u16(w, selected);
}

mtls_err ext_psk_sh_parse(rd data, uint16_t *selected, const char **why)
{
    if (!rd_u16(&data, selected) || !rd_done(&data)) {
        *why = "malformed pre_shared_key extension from the server";
        return MTLS_ERR_DECODE;
    }
    return MTLS_OK;
}
