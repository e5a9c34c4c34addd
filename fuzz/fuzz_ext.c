/*
 * fuzz_ext.c -- one libFuzzer target per hello extension parser (src/handshake/ext), selected at
 * build time with FZ_EXT: the input is the extension_data handed to the parser, on the side(s)
 * that parse it (server for what a ClientHello carries, client for what a ServerHello answers),
 * and what the parser keeps is used afterwards.  FZ_EXT_BLOCK fuzzes the extensions block itself
 * (duplicates, unknown types, lengths) in both hellos.  Seeds: the extensions of recorded hellos.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtls_conn *srv = fz_server(2); /* ALPN configured */
    mtls_conn *cli = fz_client(1);
    rd r = rd_init(data, size);
    uint16_t list[HS_MAX_PEER_LIST];
    size_t n = 0;
    switch (FZ_EXT) {
    case 1: /* server_name */
        if (ext_sni_parse(srv->hs->run, r) == MTLS_OK && srv->info.server_name)
            (void)strlen(srv->info.server_name);
        break;
    case 2: /* supported_groups */
        if (ext_groups_parse(srv->hs->run, r, list, &n) == MTLS_OK && n > HS_MAX_PEER_LIST)
            __builtin_trap();
        break;
    case 3: /* ec_point_formats */
        (void)ext_point_formats_parse(srv->hs->run, r);
        (void)ext_point_formats_parse(cli->hs->run, r);
        break;
    case 4: /* signature_algorithms */
        if (ext_sigalgs_parse(srv->hs->run, r, list, &n) == MTLS_OK) {
            if (n > HS_MAX_PEER_LIST)
                __builtin_trap();
            (void)hs_pick_sigalg(srv->cfg, list, n);
        }
        break;
    case 5: /* application_layer_protocol_negotiation */
        if (ext_alpn_select(srv->hs->run, r) == MTLS_OK)
            (void)strlen(srv->info.alpn);
        if (ext_alpn_check_server(cli->hs->run, r) == MTLS_OK)
            (void)strlen(cli->info.alpn);
        break;
    case 6: /* renegotiation_info */
        (void)ext_reneg_check(srv->hs->run, r);
        (void)ext_reneg_check(cli->hs->run, r);
        break;
    case 7: { /* the extensions block */
        hello_exts e;
        rd r2 = r;
        if (ext_parse_block(srv->hs->run, &r, &e, false) == MTLS_OK && e.server_name.present)
            (void)ext_sni_parse(srv->hs->run, e.server_name.data);
        (void)ext_parse_block(cli->hs->run, &r2, &e, true);
        break;
    }
    default:
        break;
    }
    mtls_conn_free(srv);
    mtls_conn_free(cli);
    return 0;
}
