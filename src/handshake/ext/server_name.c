/*
 * server_name.c -- server_name (RFC 6066 3).  The client sends a host_name unless the name is an
 * IP literal ("Literal IPv4 and IPv6 addresses are not permitted in HostName"; the role decides).
 * The server accepts one host_name that is an ASCII DNS name of 1..255 bytes; it acknowledges the
 * name in its ServerHello (an empty extension) only when the application's server name callback
 * accepted it (server12.c), since RFC 6066 3 ties the acknowledgement to the name being used.
 */
#include <string.h>

#include "../../record/tls.h"
#include "ext.h"

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

/* RFC 6066 3: "the fully qualified DNS hostname of the server", ASCII (IDNs as A-labels): labels
 * of letters, digits, '-' and '_' (seen in real internal names), at most 63 bytes, none empty;
 * at most 255 bytes.  A trailing dot is tolerated.  Anything else -- control characters, escape
 * sequences, UTF-8, NUL -- is refused before it can reach a log or a callback. */
static bool host_name_ok(const uint8_t *p, size_t n)
{
    if (n > 255)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-' || ch == '_';
        if (!ok || ++label > 63)
            return false;
    }
    return true;
}

mtls_err ext_sni_parse(rd data, rd *host, const char **why)
{
    rd list;
    *host = rd_init(NULL, 0);
    if (!rd_vec16(&data, &list) || !rd_done(&data) || list.n == 0) {
        *why = "malformed server_name extension";
        return MTLS_ERR_DECODE;
    }
    bool have_host = false;
    while (list.n) {
        uint8_t type;
        rd name;
        if (!rd_u8(&list, &type) || !rd_vec16(&list, &name)) {
            *why = "malformed server_name entry";
            return MTLS_ERR_DECODE;
        }
        if (type != 0)
            continue;
        /* RFC 6066 3: "The ServerNameList MUST NOT contain more than one name of the same
         * name_type." */
        if (have_host) {
            *why = "two host names in server_name";
            return MTLS_ERR_ILLEGAL_PARAMETER;
        }
        have_host = true;
        /* HostName is opaque<1..2^16-1>: empty is a malformed encoding. */
        if (name.n == 0) {
            *why = "empty host name in server_name";
            return MTLS_ERR_DECODE;
        }
        if (!host_name_ok(name.p, name.n)) {
            *why = "invalid host name in server_name (not an ASCII DNS name)";
            return MTLS_ERR_ILLEGAL_PARAMETER;
        }
        *host = name;
    }
    return MTLS_OK;
}
