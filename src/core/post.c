/*
 * post.c -- the public calls that act on an established connection's secrets and handshake
 * rather than its data: the keying material exporters (RFC 5705, RFC 8446 7.5) and, in TLS 1.3,
 * post-handshake client authentication (RFC 8446 4.6.2: the client's switch, the callback, the
 * server's request and what is pending) and the KeyUpdate an application asks for (RFC 8446
 * 4.6.3).  They sit apart from conn.c's record path; the work is the handshake's
 * (src/handshake: tls12.c, post13.c), reached through handshake.h.
 *
 * Arguments and the connection's state are checked here (usage errors, never sticky); the
 * handshake checks what depends on the version (label and length bounds, extended master
 * secret).  An exporter call never changes the connection; a KeyUpdate writes a record, and a
 * failure to write it is fatal, since our write key may already have moved on.
 */
#include <string.h>

#include "internal.h"

mtls_err mtls_conn_export_keying_material(const mtls_conn *c, const char *label,
                                          size_t label_len, const uint8_t *context,
                                          size_t context_len, int use_context, uint8_t *out,
                                          size_t out_len)
{
    if (!c || !label || label_len == 0 || !out || out_len == 0 || (!context && context_len))
        return MTLS_ERR_INVALID_ARG;
    if (!c->established || c->error)
        return MTLS_ERR_BAD_STATE;
    mtls_err err = hs_export(c->hs, label, label_len, use_context ? context : NULL,
                             use_context ? context_len : 0, use_context != 0, out, out_len);
    if (err)
        memset(out, 0, out_len);
    return err;
}

mtls_err mtls_conn_key_update(mtls_conn *c, int request_peer_update)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (c->error)
        return c->error;
    if (!c->established || c->close_sent || c->info.version != MTLS_VERSION_TLS13)
        return MTLS_ERR_BAD_STATE;
    mtls_err err = hs_key_update(c->hs, request_peer_update != 0);
    if (err) {
        /* The write key may have moved on without its KeyUpdate queued: nothing more can be
         * sent that the peer could read. */
        const char *why = hs_error_detail(c->hs);
        return why ? conn_fail(c, err, "%s", why) : conn_fail(c, err, NULL);
    }
    return MTLS_OK;
}

/* ---- post-handshake client authentication (RFC 8446 4.6.2) ---------------------------------- */

bool config_offers_pha(const mtls_config *cfg)
{
    return cfg->pha == 1 || (cfg->pha == 0 && cfg->key != NULL);
}

mtls_err mtls_config_set_post_handshake_auth(mtls_config *cfg, int on)
{
    mtls_err err = config_setter_begin(cfg);
    if (!err)
        cfg->pha = on ? 1 : 2;
    return err;
}

mtls_err mtls_config_set_post_auth_callback(mtls_config *cfg, mtls_post_auth_fn *fn, void *arg)
{
    mtls_err err = config_setter_begin(cfg);
    if (!err) {
        cfg->post_auth_cb = fn;
        cfg->post_auth_arg = fn ? arg : NULL;
    }
    return err;
}

int mtls_conn_post_auth_offered(const mtls_conn *c)
{
    return c && c->established && !c->error && hs_post_auth_offered(c->hs);
}

unsigned mtls_conn_post_auth_pending(const mtls_conn *c)
{
    return c && c->is_server && c->established ? hs_post_auth_pending(c->hs) : 0;
}

mtls_err mtls_conn_request_client_cert(mtls_conn *c)
{
    if (!c)
        return MTLS_ERR_INVALID_ARG;
    if (c->error)
        return c->error;
    /* RFC 8446 4.6.2: "Servers MUST NOT send a post-handshake CertificateRequest to clients which
     * do not offer this extension." */
    if (!c->is_server || !c->established || c->close_sent || !hs_post_auth_offered(c->hs) ||
        hs_post_auth_pending(c->hs) >= MTLS_POST_AUTH_MAX_PENDING)
        return MTLS_ERR_BAD_STATE;
    mtls_err err = hs_request_client_cert(c->hs);
    if (err) {
        const char *why = hs_error_detail(c->hs);
        return why ? conn_fail(c, err, "%s", why) : conn_fail(c, err, NULL);
    }
    return MTLS_OK;
}
