/*
 * fuzz_ext.c -- one libFuzzer target per hello extension parser (src/handshake/ext), selected at
 * build time with FZ_EXT: the input is the extension_data handed to the parser, as a ClientHello
 * carries it (what a server parses) and as a ServerHello answers it (what a client parses), and
 * what the parser keeps is used afterwards.  The parsers are pure (ext/ext.h): no connection is
 * made; a server config provides our preferences where a choice follows.  FZ_EXT_BLOCK fuzzes the
 * extensions block itself (duplicates, unknown types, lengths) in both hellos; FZ_EXT 8 the
 * status_request of OCSP stapling and the CertificateStatus body (round trip).  Seeds: the
 * extensions of recorded hellos.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    case 7: { /* the extensions block */
        hello_exts e;
        rd r2 = r;
        if (ext_parse_block(&r, EXT_IN_CH, &e, &why) == MTLS_OK && e.server_name.present)
            (void)ext_sni_parse(e.server_name.data, &v, &why);
        (void)ext_parse_block(&r2, EXT_IN_SH12, &e, &why);
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
    default:
        break;
    }
    return 0;
}
