/*
 * auth.c -- authentication in the handshake, for every version and role: the peer's chain judged
 * by our X.509 code and the application's verify callback, the keyUsage a certificate's key needs
 * for what the handshake asks of it, and the signature scheme our key signs with.
 *
 * Only hs_verify_peer_chain sets PROOF_PEER_CHAIN, and only when the chain passed (or the client
 * is in insecure mode, which the trace says).  The chain is moved to hs_info before the callback
 * runs, so that the callback reads it through the usual getters; a rejected chain is dropped from
 * there again, since the getters speak of the verified identity.
 */
#include <stdio.h>

#include "hs.h"

mtls_err hs_verify_peer_chain(struct hs *hs)
{
    const hs_env *env = hs->env;
    const mtls_config *cfg = hs->cfg;
    hs_info *info = hs->info;
    bool server = env->is_server;
    mtls_err verdict = MTLS_OK;
    /* Room for the longest sentence x509_verify_chain writes: a revocation names the
     * certificate, its issuer, serial, dates, reason and the CRL or OCSP response (revoc.c). */
    char detail[2048] = "";
    if (server || !cfg->insecure) {
        const x509_store *anchors = server && cfg->client_ca ? cfg->client_ca : cfg->ca;
        x509_verify_params p = {
            .purpose = server ? X509_PURPOSE_CLIENT : X509_PURPOSE_SERVER,
            .host = server || env->skip_hostname ? NULL
                    : env->verify_name           ? env->verify_name
                                                 : info->server_name,
            .now = config_now(cfg),
            .max_depth = 10,
            .spiffe_ids = (const char *const *)cfg->spiffe_ids,
            .n_spiffe_ids = cfg->n_spiffe_ids,
            .spiffe_domains = (const char *const *)cfg->spiffe_domains,
            .n_spiffe_domains = cfg->n_spiffe_domains,
        };
        /* Revocation (status.c): the CRLs of the mode in force; a client that asked for a
         * staple checks the one that came, and needs one when configured to or when the leaf is
         * must-staple (RFC 7633 4.2.3). */
        x509_revocation rv;
        const x509_cert *path[X509_MAX_PATH];
        size_t path_len = 0;
        config_crl_params(cfg, &p);
        p.revocation = &rv;
        p.path = path;
        p.path_len = &path_len;
        if (!server) {
            p.ocsp = hs->status.peer_ocsp;
            p.ocsp_required = hs->status.requested &&
                              (cfg->ocsp_required || x509_cert_must_staple(hs->peer_chain[0]));
        }
        verdict = x509_verify_chain(anchors, hs->peer_chain, hs->peer_chain_len, &p, detail,
                                    sizeof(detail));
        hs_status_verified(hs, &rv, verdict == MTLS_OK ? path : NULL, path_len);
    }
    /* Expose the chain to the callback through the usual getters. */
    info->peer_chain = hs->peer_chain;
    info->peer_chain_len = hs->peer_chain_len;
    hs->peer_chain = NULL;
    hs->peer_chain_len = 0;
    if (cfg->verify_cb) {
        mtls_err cb = cfg->verify_cb(cfg->verify_arg, env->conn, verdict);
        if (cb != verdict && cb != MTLS_OK && detail[0] == 0)
            snprintf(detail, sizeof(detail), "the application's verify callback rejected %s",
                     x509_cert_subject(info->peer_chain[0]));
        if (cb != MTLS_OK && !err_is_certificate(cb))
            cb = MTLS_ERR_CERT_REJECTED;
        verdict = cb;
    }
    if (verdict != MTLS_OK) {
        hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, verdict, 0, '*', "CertificateCheck",
                      "FAILED: %s", detail[0] ? detail : mtls_err_str(verdict));
        /* The getters speak of the verified identity: a rejected chain is not one. */
        x509_chain_free(info->peer_chain, info->peer_chain_len);
        info->peer_chain = NULL;
        info->peer_chain_len = 0;
        return hs_err(hs, verdict, "%s", detail[0] ? detail : mtls_err_str(verdict));
    }
    const char *name = server ? NULL : env->verify_name ? env->verify_name : info->server_name;
    if (!server && cfg->insecure) {
        hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, MTLS_OK, MTLS_TRACE_SKIPPED, '*',
                      "CertificateCheck", "SKIPPED (insecure mode): %s",
                      x509_cert_subject(info->peer_chain[0]));
    } else if (!server && env->skip_hostname) {
        hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, MTLS_OK, MTLS_TRACE_NO_HOSTNAME,
                      '*', "CertificateCheck",
                      "ok: %s chains to a trusted CA; host name NOT "
                      "checked (mtls_conn_set_insecure_skip_hostname)",
                      x509_cert_subject(info->peer_chain[0]));
    } else if (cfg->n_spiffe_ids || cfg->n_spiffe_domains) {
        /* The SPIFFE ID took the place of the host name (x509_verify_params). */
        hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, MTLS_OK, MTLS_TRACE_SPIFFE, '*',
                      "CertificateCheck", "ok: %s chains to a trusted CA, SPIFFE ID %s accepted",
                      x509_cert_subject(info->peer_chain[0]),
                      x509_cert_spiffe_id(info->peer_chain[0]));
    } else {
        hs_trace_step(hs, MTLS_TRACE_CHECK, MTLS_DECISION_NONE, MTLS_OK, 0, '*', "CertificateCheck",
                      "ok: %s chains to a trusted CA%s%s", x509_cert_subject(info->peer_chain[0]),
                      name ? ", matches " : "", name ? name : "");
    }
    hs->proofs |= PROOF_PEER_CHAIN;
    return MTLS_OK;
}

mtls_err hs_parse_peer_chain(struct hs *hs, const struct msg_certificate *cert)
{
    x509_cert **chain = NULL;
    if (cert->n && !(chain = mem_calloc(cert->n, sizeof(*chain))))
        return MTLS_ERR_NO_MEMORY;
    for (size_t i = 0; i < cert->n; i++) {
        mtls_err err =
            x509_cache_parse(hs->cfg->certs, cert->certs[i].p, cert->certs[i].n, &chain[i]);
        if (err) {
            x509_chain_free(chain, i);
            return hs_err(hs, err, "certificate #%zu from the peer could not be parsed: %s", i + 1,
                          mtls_err_str(err));
        }
    }
    hs->peer_chain = chain;
    hs->peer_chain_len = cert->n;
    return MTLS_OK;
}

/* RFC 5280 4.2.1.3: no keyUsage extension allows any use. */
static bool key_usage_has(const x509_cert *cert, unsigned bit)
{
    unsigned bits;
    return !x509_cert_key_usage(cert, &bits) || (bits & bit) != 0;
}

bool hs_key_can_sign(const x509_cert *cert)
{
    return key_usage_has(cert, 1u << 0); /* digitalSignature */
}

bool hs_key_can_encipher(const x509_cert *cert)
{
    return key_usage_has(cert, 1u << 2); /* keyEncipherment */
}

bool hs_sigalg_fits_key(uint16_t sigalg, const cry_pkey *key)
{
    const sigalg_info *s = sigalg_find(sigalg);
    if (!s || !key)
        return false;
    cry_key_type kt = cry_pkey_type(key);
    if (s->key == CRY_KEY_RSA)
        return kt == CRY_KEY_RSA;
    /* TLS 1.2 does not bind the ECDSA curve to the hash; any ECDSA scheme signs with any curve
     * we support, but we prefer the matching one (hs_pick_sigalg). */
    return kt == CRY_KEY_EC_P256 || kt == CRY_KEY_EC_P384;
}

uint16_t hs_pick_sigalg(const mtls_config *cfg, const uint16_t *offered, size_t n)
{
    cry_key_type kt = cry_pkey_type(cfg->key);
    /* First pass: schemes that name our curve exactly; second: any that fits. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cfg->n_sigalgs; i++) {
            uint16_t s = cfg->sigalgs[i];
            if (!hs_list_has(offered, n, s) || !hs_sigalg_fits_key(s, cfg->key))
                continue;
            if (pass == 0 && sigalg_find(s)->key != kt)
                continue;
            return s;
        }
    return 0;
}
