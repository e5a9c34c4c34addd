/*
 * certificate_authorities.c -- certificate_authorities (RFC 8446 4.2.4):
 *   opaque DistinguishedName<1..2^16-1>;
 *   struct { DistinguishedName authorities<3..2^16-1>; } CertificateAuthoritiesExtension;
 * A TLS 1.3 server names the CAs it accepts client certificates from in its CertificateRequest,
 * as a TLS 1.2 one does in the message itself (the names are built once per config, config.c).
 * The mtls client has one certificate and does not filter on them; it only checks the form.
 */
#include "../../record/tls.h"
#include "ext.h"

void ext_ca_names_build(wr *w, rd names)
{
    wr_u16(w, TLS_EXT_CERTIFICATE_AUTHORITIES);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u16(w);
    wr_bytes(w, names.p, names.n);
    wr_close_u16(w, list);
    wr_close_u16(w, ext);
}

mtls_err ext_ca_names_parse(rd data, size_t *n, const char **why)
{
    rd list;
    *n = 0;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || list.n < 3) {
        *why = "malformed certificate_authorities extension";
        return MTLS_ERR_DECODE;
    }
    while (list.n) {
        rd dn;
        if (!rd_vec16(&list, &dn) || dn.n == 0) {
            *why = "malformed distinguished name in certificate_authorities";
            return MTLS_ERR_DECODE;
        }
        (*n)++;
    }
    return MTLS_OK;
}
