/*
 * sigalgs.c -- signature_algorithms (RFC 5246 7.4.1.4.1), whose list is also the body format of
 * the supported_signature_algorithms list in CertificateRequest.  Schemes mtls does not know are
 * skipped.
 */
#include "../../record/tls.h"
#include "../handshake.h"
#include "ext.h"

static void list_build(wr *w, const uint16_t *algs, size_t n)
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
    list_build(w, algs, n);
    wr_close_u16(w, ext);
}

mtls_err ext_sigalgs_list_parse(rd list, uint16_t *out, size_t cap, size_t *n, const char **why)
{
    if (list.n < 2 || list.n % 2) {
        *why = "malformed signature algorithms list";
        return MTLS_ERR_DECODE;
    }
    *n = 0;
    while (list.n) {
        uint16_t s;
        rd_u16(&list, &s);
        if (*n < cap && sigalg_find(s))
            out[(*n)++] = s;
    }
    return MTLS_OK;
}

mtls_err ext_sigalgs_parse(rd data, uint16_t *out, size_t cap, size_t *n, const char **why)
{
    rd list;
    if (!rd_vec16(&data, &list) || !rd_done(&data)) {
        *why = "malformed signature algorithms list";
        return MTLS_ERR_DECODE;
    }
    return ext_sigalgs_list_parse(list, out, cap, n, why);
}
