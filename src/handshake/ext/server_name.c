/*
 * server_name.c -- server_name (RFC 6066 3).  The client sends a host_name unless the name is an
 * IP literal ("Literal IPv4 and IPv6 addresses are not permitted in HostName").  The server
 * accepts one host_name of 1..255 bytes without NUL and remembers it.
 */
#include <stdlib.h>
#include <string.h>

#include "../hs.h"

void ext_sni_build(wr *w, const char *host)
{
    size_t len = strlen(host);
    wr_u16(w, TLS_EXT_SERVER_NAME);
    size_t ext = wr_open_u16(w);
    size_t list = wr_open_u16(w);
    wr_u8(w, 0); /* host_name */
    wr_u16(w, (uint16_t)len);
    wr_bytes(w, host, len);
    wr_close_u16(w, list);
    wr_close_u16(w, ext);
}

mtls_err ext_sni_parse(mtls_conn *c, rd data)
{
    rd list;
    if (!rd_vec16(&data, &list) || !rd_done(&data) || list.n == 0)
        return hs_fail(c, MTLS_ERR_DECODE, "malformed server_name extension");
    bool have_host = false;
    while (list.n) {
        uint8_t type;
        rd name;
        if (!rd_u8(&list, &type) || !rd_vec16(&list, &name))
            return hs_fail(c, MTLS_ERR_DECODE, "malformed server_name entry");
        if (type != 0)
            continue;
        /* RFC 6066 3: "The ServerNameList MUST NOT contain more than one name of the same
         * name_type." */
        if (have_host)
            return hs_fail(c, MTLS_ERR_ILLEGAL_PARAMETER, "two host names in server_name");
        have_host = true;
        if (name.n == 0 || name.n > 255 || memchr(name.p, 0, name.n))
            return hs_fail(c, MTLS_ERR_ILLEGAL_PARAMETER, "invalid host name in server_name");
        mem_free(c->server_name);
        c->server_name = mem_alloc(name.n + 1);
        if (!c->server_name)
            return MTLS_ERR_NO_MEMORY;
        memcpy(c->server_name, name.p, name.n);
        c->server_name[name.n] = 0;
    }
    return MTLS_OK;
}
