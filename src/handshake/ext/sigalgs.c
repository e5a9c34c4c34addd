/*
 * sigalgs.c -- signature_algorithms (RFC 5246 7.4.1.4.1), also the body format of the
 * supported_signature_algorithms list in CertificateRequest.  Schemes we do not know are skipped.
 */
#include "../hs.h"

void ext_sigalgs_body(wr *w, const uint16_t *algs, size_t n)
{
    size_t list = wr_open_u16(w);
    for (size_t i = 0; i < n; i++)
        wr_u16(w, algs[i]);
    wr_close_u16(w, list);
}

void ext_sigalgs_build(wr *w, const uint16_t *algs, size_t n)
{
    wr_u16(w, TLS_EXT_SIGNATURE_ALGORITHMS);
    size_t ext = wr_open_u16(w);
    ext_sigalgs_body(w, algs, n);
    wr_close_u16(w, ext);
}

mtls_err ext_sigalgs_parse(struct hs *hs, rd data, uint16_t *out, size_t *n)
{
    rd list;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || list.n < 2 || list.n % 2)
        return hs_err(hs, MTLS_ERR_DECODE, "malformed signature algorithms list");
    *n = 0;
    while (list.n) {
        uint16_t s;
        rd_u16(&list, &s);
        if (*n < HS_MAX_PEER_LIST && sigalg_find(s))
            out[(*n)++] = s;
    }
    return MTLS_OK;
}
