/*
 * fuzz_ext.c -- one libFuzzer target per hello extension parser (src/handshake/ext), selected at
 * build time with FZ_EXT: the input is the extension_data handed to the parser, as a ClientHello
 * carries it (what a server parses) and as a ServerHello, HelloRetryRequest or the other TLS 1.3
 * messages answer it (what a client parses), and what the parser keeps is used afterwards.  The
 * parsers are pure (ext/ext.h): no connection is made; a server config provides our preferences
 * where a choice follows.  FZ_EXT 7 fuzzes the extensions block itself (duplicates, unknown types,
 * lengths) in every message's column of the table, against RFC 8446 4.2's table written out here
 * again; FZ_EXT 8 the status_request of OCSP stapling and the CertificateStatus body; 9-15 the TLS
 * 1.3 extensions.  Where an extension builds back, what parses must build back to the very same
 * bytes (round trip), and what a parser says it found is checked against a reading made here.
 * Seeds: the extensions of recorded hellos and TLS 1.3 messages.
 */
#include <stddef.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a builder wrote is the extension `type` with exactly `data` as its extension_data. */
static void built(wr *w, uint16_t type, const uint8_t *data, size_t size)
{
    if (!wr_ok(w) || w->len != 4 + size || be16_get(w->p) != type ||
        be16_get(w->p + 2) != size || (size && memcmp(w->p + 4, data, size) != 0))
        __builtin_trap(); /* what parses does not build back to the same bytes */
    wr_free(w, false);
}

/* RFC 8446 4.2's table for the extensions mtls knows, with the TLS 1.2 ServerHello's column
 * (every TLS 1.2 extension mtls knows) and RFC 8449's record_size_limit: written out here again,
 * from the RFC, to check block.c's. */
static const struct {
    uint16_t type;
    unsigned in;
    size_t slot;
} rfc_table[] = {
    {TLS_EXT_SERVER_NAME, EXT_IN_CH | EXT_IN_SH12 | EXT_IN_EE, offsetof(hello_exts, server_name)},
    {TLS_EXT_STATUS_REQUEST, EXT_IN_CH | EXT_IN_SH12 | EXT_IN_CR | EXT_IN_CT,
     offsetof(hello_exts, status_request)},
    {TLS_EXT_SUPPORTED_GROUPS, EXT_IN_CH | EXT_IN_SH12 | EXT_IN_EE,
     offsetof(hello_exts, supported_groups)},
    {TLS_EXT_EC_POINT_FORMATS, EXT_IN_CH | EXT_IN_SH12, offsetof(hello_exts, ec_point_formats)},
    {TLS_EXT_SIGNATURE_ALGORITHMS, EXT_IN_CH | EXT_IN_SH12 | EXT_IN_CR,
     offsetof(hello_exts, signature_algorithms)},
    {TLS_EXT_ALPN, EXT_IN_CH | EXT_IN_SH12 | EXT_IN_EE, offsetof(hello_exts, alpn)},
    {TLS_EXT_EXTENDED_MASTER_SECRET, EXT_IN_CH | EXT_IN_SH12, offsetof(hello_exts, ems)},
    {TLS_EXT_RECORD_SIZE_LIMIT, EXT_IN_CH | EXT_IN_EE, offsetof(hello_exts, record_size_limit)},
    {TLS_EXT_SESSION_TICKET, EXT_IN_CH | EXT_IN_SH12, offsetof(hello_exts, session_ticket)},
    {TLS_EXT_PRE_SHARED_KEY, EXT_IN_CH | EXT_IN_SH, offsetof(hello_exts, pre_shared_key)},
    {TLS_EXT_EARLY_DATA, EXT_IN_CH | EXT_IN_EE | EXT_IN_NST, offsetof(hello_exts, early_data)},
    {TLS_EXT_SUPPORTED_VERSIONS, EXT_IN_CH | EXT_IN_SH | EXT_IN_HRR,
     offsetof(hello_exts, supported_versions)},
    {TLS_EXT_COOKIE, EXT_IN_CH | EXT_IN_HRR, offsetof(hello_exts, cookie)},
    {TLS_EXT_PSK_KEY_EXCHANGE_MODES, EXT_IN_CH, offsetof(hello_exts, psk_key_exchange_modes)},
    {TLS_EXT_CERTIFICATE_AUTHORITIES, EXT_IN_CH | EXT_IN_CR,
     offsetof(hello_exts, certificate_authorities)},
    {TLS_EXT_POST_HANDSHAKE_AUTH, EXT_IN_CH, offsetof(hello_exts, post_handshake_auth)},
    {TLS_EXT_SIGNATURE_ALGORITHMS_CERT, EXT_IN_CH | EXT_IN_CR,
     offsetof(hello_exts, signature_algorithms_cert)},
    {TLS_EXT_KEY_SHARE, EXT_IN_CH | EXT_IN_SH | EXT_IN_HRR, offsetof(hello_exts, key_share)},
    {TLS_EXT_RENEGOTIATION_INFO, EXT_IN_CH | EXT_IN_SH12,
     offsetof(hello_exts, renegotiation_info)},
};
#define RFC_ROWS (sizeof(rfc_table) / sizeof(rfc_table[0]))

/* An extensions block accepted for message `in` is what the table allows there: no type twice,
 * each known extension allowed there in its slot with its own bytes, one not allowed there
 * ignored (ClientHello) -- in any other message it would have been refused -- and an unknown one
 * refused where it cannot answer anything we sent (ServerHello, HelloRetryRequest,
 * EncryptedExtensions). */
static void check_block(const uint8_t *data, size_t size, ext_msg in)
{
    rd r = rd_init(data, size), block;
    hello_exts e;
    const char *why;
    if (ext_parse_block(&r, in, &e, &why) != MTLS_OK)
        return;
    r = rd_init(data, size);
    if (!rd_vec16(&r, &block))
        __builtin_trap();
    uint64_t seen[65536 / 64] = {0};
    bool psk_before_last = false, matched[RFC_ROWS] = {false};
    while (block.n) {
        uint16_t type;
        rd ext;
        if (!rd_u16(&block, &type) || !rd_vec16(&block, &ext) ||
            seen[type / 64] & (1ull << (type % 64)))
            __builtin_trap(); /* malformed, or a type twice, accepted */
        seen[type / 64] |= 1ull << (type % 64);
        if (type == TLS_EXT_PRE_SHARED_KEY && block.n)
            psk_before_last = true;
        size_t i = 0;
        while (i < RFC_ROWS && rfc_table[i].type != type)
            i++;
        if (i == RFC_ROWS) {
            if (in & (EXT_IN_SH12 | EXT_IN_SH | EXT_IN_HRR | EXT_IN_EE))
                __builtin_trap(); /* an unknown extension in an answer */
            continue;
        }
        const ext_slot *slot = (const ext_slot *)((const char *)&e + rfc_table[i].slot);
        if (!(rfc_table[i].in & in)) {
            if (in != EXT_IN_CH || slot->present)
                __builtin_trap(); /* a misplaced extension accepted, or kept */
            continue;
        }
        if (!slot->present || slot->data.p != ext.p || slot->data.n != ext.n)
            __builtin_trap();
        matched[i] = true;
    }
    for (size_t i = 0; i < RFC_ROWS; i++) {
        const ext_slot *slot = (const ext_slot *)((const char *)&e + rfc_table[i].slot);
        if (slot->present != matched[i])
            __builtin_trap(); /* a slot filled from nothing */
    }
    if (e.psk_not_last != psk_before_last)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mtls_config *cfg; /* ALPN configured, an RSA key */
    if (!cfg)
        cfg = fz_server_config(2);
    rd r = rd_init(data, size), v;
    uint16_t list[HS_MAX_PEER_LIST];
    size_t n = 0;
    const char *why;
    switch (FZ_EXT) {
    case 1: /* server_name */
        if (ext_sni_parse(r, &v, &why) == MTLS_OK && v.n && memchr(v.p, 0, v.n))
            __builtin_trap(); /* a host name with a NUL never passes */
        break;
    case 2: /* supported_groups */
        if (ext_groups_parse(r, list, HS_MAX_PEER_LIST, &n, &why) == MTLS_OK &&
            n > HS_MAX_PEER_LIST)
            __builtin_trap();
        break;
    case 3: /* ec_point_formats */
        (void)ext_point_formats_parse(r, &why);
        break;
    case 4: /* signature_algorithms */
        if (ext_sigalgs_parse(r, list, HS_MAX_PEER_LIST, &n, &why) == MTLS_OK) {
            if (n > HS_MAX_PEER_LIST)
                __builtin_trap();
            (void)hs_pick_sigalg(cfg, list, n);
        }
        break;
    case 5: /* application_layer_protocol_negotiation */
        if (ext_alpn_parse_list(r, &v, &why) == MTLS_OK) {
            rd chosen;
            if (ext_alpn_select(cfg->alpn_wire, cfg->alpn_len, v, &chosen) &&
                !ext_alpn_has(v.p, v.n, chosen))
                __builtin_trap();
        }
        if (ext_alpn_parse_one(r, &v, &why) == MTLS_OK && v.n == 0)
            __builtin_trap();
        break;
    case 6: /* renegotiation_info */
        (void)ext_reneg_parse(r, &why);
        break;
    case 7: { /* the extensions block, in every message's column */
        static const ext_msg columns[] = {EXT_IN_CH, EXT_IN_SH12, EXT_IN_SH, EXT_IN_HRR,
                                          EXT_IN_EE, EXT_IN_CT,   EXT_IN_CR, EXT_IN_NST};
        hello_exts e;
        if (ext_parse_block(&r, EXT_IN_CH, &e, &why) == MTLS_OK && e.server_name.present)
            (void)ext_sni_parse(e.server_name.data, &v, &why);
        for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
            check_block(data, size, columns[i]);
        break;
    }
    case 8: { /* status_request (RFC 6066 8), and the same bytes as a CertificateStatus body */
        ext_status_request req;
        if (ext_status_request_parse(r, &req, &why) == MTLS_OK &&
            req.status_type == EXT_STATUS_OCSP) {
            size_t ids = 0;
            rd ids_left = req.responder_id_list, id;
            while (ids_left.n && rd_vec16(&ids_left, &id))
                ids++;
            if (ids != req.n_responder_ids || ids_left.n)
                __builtin_trap(); /* the count is of well-formed, non-empty ResponderIDs */
        }
        (void)ext_status_request_ack_parse(r, &why);
        struct msg_certificate_status cs;
        rd body = r;
        if (msg_certificate_status_parse(&body, &cs) == MTLS_OK) {
            /* accepted: ocsp, a non-empty response, and it builds back to the same bytes */
            wr w = wr_growable(size + 16);
            if (cs.status_type != EXT_STATUS_OCSP || cs.response.n == 0 ||
                !msg_certificate_status_build(&w, &cs) || w.len != size ||
                memcmp(w.p, data, size) != 0)
                __builtin_trap();
            wr_free(&w, false);
        }
        break;
    }
    case 9: { /* supported_versions (RFC 8446 4.2.1): the client's list, the server's choice */
        bool has12, has13;
        uint16_t vers[127];
        if (ext_versions_parse_list(r, &has12, &has13, &why) == MTLS_OK) {
            /* versions<2..254>: a length byte, then whole versions */
            bool h12 = false, h13 = false;
            if (size < 3 || data[0] != size - 1 || (size - 1) % 2)
                __builtin_trap();
            for (size_t i = 1; i + 1 < size; i += 2) {
                h12 |= be16_get(data + i) == MTLS_VERSION_TLS12;
                h13 |= be16_get(data + i) == MTLS_VERSION_TLS13;
                vers[(i - 1) / 2] = be16_get(data + i);
            }
            if (h12 != has12 || h13 != has13)
                __builtin_trap();
            wr w = wr_growable(size + 8);
            ext_versions_build(&w, vers, (size - 1) / 2);
            built(&w, TLS_EXT_SUPPORTED_VERSIONS, data, size);
        }
        uint16_t version;
        if (ext_version_parse(r, &version, &why) == MTLS_OK) {
            wr w = wr_growable(8);
            ext_version_build(&w, version);
            built(&w, TLS_EXT_SUPPORTED_VERSIONS, data, size);
        }
        break;
    }
    case 10: { /* key_share (RFC 8446 4.2.8): ClientHello, ServerHello, HelloRetryRequest */
        ext_share shares[EXT_MAX_SHARES], one;
        if (ext_key_share_ch_parse(r, shares, EXT_MAX_SHARES, &n, &why) == MTLS_OK) {
            /* the entries of supported groups, in order, up to the cap; no group twice */
            rd lst, ks;
            rd all = r;
            uint64_t seen[65536 / 64] = {0};
            size_t kept = 0, entries = 0;
            bool whole = true;
            if (!rd_vec16(&all, &lst) || all.n)
                __builtin_trap();
            while (lst.n) {
                uint16_t group;
                if (!rd_u16(&lst, &group) || !rd_vec16(&lst, &ks) ||
                    seen[group / 64] & (1ull << (group % 64)))
                    __builtin_trap(); /* malformed, or a group twice, accepted */
                seen[group / 64] |= 1ull << (group % 64);
                entries++;
                if (!cry_group_supported(group) || kept == EXT_MAX_SHARES) {
                    whole = false;
                    continue;
                }
                if (kept >= n || shares[kept].group != group ||
                    shares[kept].key_exchange.p != ks.p || shares[kept].key_exchange.n != ks.n)
                    __builtin_trap();
                kept++;
            }
            if (kept != n)
                __builtin_trap();
            if (whole && entries == n) {
                wr w = wr_growable(size + 8);
                ext_key_share_ch_build(&w, shares, n);
                built(&w, TLS_EXT_KEY_SHARE, data, size);
            }
        }
        if (ext_key_share_sh_parse(r, &one, &why) == MTLS_OK) {
            wr w = wr_growable(size + 8);
            ext_key_share_sh_build(&w, &one);
            built(&w, TLS_EXT_KEY_SHARE, data, size);
        }
        uint16_t group;
        if (ext_key_share_hrr_parse(r, &group, &why) == MTLS_OK) {
            wr w = wr_growable(8);
            ext_key_share_hrr_build(&w, group);
            built(&w, TLS_EXT_KEY_SHARE, data, size);
        }
        break;
    }
    case 11: { /* cookie (RFC 8446 4.2.2) */
        rd cookie;
        if (ext_cookie_parse(r, &cookie, &why) == MTLS_OK) {
            if (cookie.n == 0)
                __builtin_trap();
            wr w = wr_growable(size + 8);
            ext_cookie_build(&w, cookie);
            built(&w, TLS_EXT_COOKIE, data, size);
        }
        break;
    }
    case 12: { /* psk_key_exchange_modes (RFC 8446 4.2.9) */
        bool ke, dhe;
        if (ext_psk_modes_parse(r, &ke, &dhe, &why) == MTLS_OK) {
            if (size < 2 || data[0] != size - 1 ||
                ke != (memchr(data + 1, EXT_PSK_KE, size - 1) != NULL) ||
                dhe != (memchr(data + 1, EXT_PSK_DHE_KE, size - 1) != NULL))
                __builtin_trap();
            /* what mtls sends (dhe first) builds back */
            wr w = wr_growable(16);
            ext_psk_modes_build(&w, ke, dhe);
            if (size - 1 == (size_t)ke + dhe && (!dhe || data[1] == EXT_PSK_DHE_KE))
                built(&w, TLS_EXT_PSK_KEY_EXCHANGE_MODES, data, size);
            else
                wr_free(&w, false);
        }
        break;
    }
    case 13: { /* pre_shared_key (RFC 8446 4.2.11): the client's offer, the server's choice */
        ext_psk_offer o;
        if (ext_psk_offer_parse(r, &o, &why) == MTLS_OK) {
            /* identities<7..2^16-1> then binders<33..2^16-1>, which end the extension */
            if (o.identities.n < 7 || o.binders.n < 33 || o.binders_len != 2 + o.binders.n ||
                size != 2 + o.identities.n + o.binders_len || o.n == 0)
                __builtin_trap();
            size_t ids = 0, bs = 0;
            for (size_t i = 0; i < o.n; i++) {
                rd identity, binder;
                uint32_t age;
                ext_psk_offer_get(&o, i, &identity, &age, &binder);
                if (identity.n == 0 || binder.n < 32 || identity.p < data ||
                    binder.p + binder.n > data + size)
                    __builtin_trap();
                ids += 2 + identity.n + 4;
                bs += 1 + binder.n;
                if (o.n == 1) { /* one identity: what a client builds */
                    wr w = wr_growable(size + 8);
                    ext_psk_offer_build(&w, identity, age, binder.n);
                    if (wr_ok(&w))
                        memcpy(w.p + w.len - binder.n, binder.p, binder.n);
                    built(&w, TLS_EXT_PRE_SHARED_KEY, data, size);
                }
            }
            if (ids != o.identities.n || bs != o.binders.n)
                __builtin_trap();
        }
        uint16_t selected;
        if (ext_psk_sh_parse(r, &selected, &why) == MTLS_OK) {
            wr w = wr_growable(8);
            ext_psk_sh_build(&w, selected);
            built(&w, TLS_EXT_PRE_SHARED_KEY, data, size);
        }
        break;
    }
    case 14: { /* early_data (RFC 8446 4.2.10): empty, or a ticket's max_early_data_size */
        uint32_t max;
        if (ext_early_data_nst_parse(r, &max, &why) == MTLS_OK &&
            (size != 4 || max != ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                                  (uint32_t)data[2] << 8 | data[3])))
            __builtin_trap();
        if (ext_empty_parse(r, &why) == MTLS_OK && size != 0)
            __builtin_trap();
        break;
    }
    case 15: { /* certificate_authorities (RFC 8446 4.2.4) */
        if (ext_ca_names_parse(r, &n, &why) == MTLS_OK) {
            rd lst, all = r, dn;
            size_t count = 0;
            if (!rd_vec16(&all, &lst) || all.n || lst.n < 3)
                __builtin_trap();
            wr w = wr_growable(size + 8);
            ext_ca_names_build(&w, lst);
            while (lst.n)
                if (!rd_vec16(&lst, &dn) || dn.n == 0 || !++count)
                    __builtin_trap();
            if (count != n)
                __builtin_trap();
            built(&w, TLS_EXT_CERTIFICATE_AUTHORITIES, data, size);
        }
        break;
    }
    default:
        break;
    }
    return 0;
}
