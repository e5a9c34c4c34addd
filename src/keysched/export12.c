/*
 * export12.c -- the TLS 1.2 keying material exporter (RFC 5705 4):
 *
 *   PRF(SecurityParameters.master_secret, label,
 *       SecurityParameters.client_random + SecurityParameters.server_random
 *       [+ context_value_length + context_value])[length]
 *
 * The PRF is ks_prf12 with its label left empty and the exporter's label put at the front of the
 * first seed part instead: P_hash reads label + seed as one string, so the result is the same, and
 * the application's label need not be NUL-terminated.  The context, which may be long, is the
 * second seed part and is never copied.
 *
 * Labels that are, or begin with, one of the PRF labels of TLS 1.2 itself are refused, as OpenSSL
 * refuses them: the exporter must not become a way to compute the connection's own PRF outputs
 * (key block, Finished, master secret), and RFC 5705 4 asks exporter labels to begin with
 * "EXPORTER" precisely to stay clear of them.
 */
#include <string.h>

#include "ks.h"

#define EXPORT12_LABEL_MAX 255

static const char *const reserved[] = {
    "client finished",        "server finished", "master secret",
    "extended master secret", "key expansion",
};

bool ks_export_label_reserved(const char *label, size_t label_len)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        size_t rl = strlen(reserved[i]);
        if (label_len >= rl && memcmp(label, reserved[i], rl) == 0)
            return true;
    }
    return false;
}

mtls_err ks12_export(cry_hash_alg prf, const uint8_t master[48], const uint8_t client_random[32],
                     const uint8_t server_random[32], const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, bool use_context, uint8_t *out,
                     size_t out_len)
{
    uint8_t seed[EXPORT12_LABEL_MAX + 32 + 32 + 2];
    size_t n = 0;
    if (label == NULL || label_len < 1 || label_len > EXPORT12_LABEL_MAX)
        return MTLS_ERR_INVALID_ARG;
    /* RFC 5705 4: "uint16 context_value_length". */
    if (use_context && (context_len > 0xffff || (context_len > 0 && context == NULL)))
        return MTLS_ERR_INVALID_ARG;
    if (ks_export_label_reserved(label, label_len))
        return MTLS_ERR_INVALID_ARG;
    memcpy(seed + n, label, label_len);
    n += label_len;
    memcpy(seed + n, client_random, 32);
    n += 32;
    memcpy(seed + n, server_random, 32);
    n += 32;
    if (use_context) {
        seed[n++] = (uint8_t)(context_len >> 8);
        seed[n++] = (uint8_t)context_len;
    } else {
        context_len = 0; /* "no context" sends no length and no bytes */
    }
    if (!ks_prf12(prf, master, 48, "", seed, n, context, context_len, out, out_len))
        return MTLS_ERR_CRYPTO;
    return MTLS_OK;
}
