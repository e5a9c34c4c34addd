/*
 * suites.c -- the algorithm tables: cipher suites, signature schemes and groups mtls speaks, with
 * their names and default preference orders, and small helpers over lists of their ids.
 * The TLS 1.3 suites come first (one list serves both versions: each uses the suites of its kind),
 * then the forward-secret TLS 1.2 suites; within them ECDSA before RSA, AES-128-GCM before
 * AES-256-GCM before ChaCha20-Poly1305.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hs.h"

static const suite_info suites[] = {
    /* TLS 1.3 (RFC 8446 B.4): the AEAD and the hash of the key schedule, nothing else */
    {MTLS_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0, 0,
     CRY_AES_128_GCM, CRY_SHA256, 16, 12, true},
    {MTLS_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0, 0,
     CRY_AES_256_GCM, CRY_SHA384, 32, 12, true},
    {MTLS_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256",
     "TLS_CHACHA20_POLY1305_SHA256", 0, 0, CRY_CHACHA20_POLY1305, CRY_SHA256, 32, 12, true},
    {MTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
     "ECDHE-ECDSA-AES128-GCM-SHA256", KX_ECDHE, AUTH_ECDSA, CRY_AES_128_GCM, CRY_SHA256, 16, 4, false},
    {MTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
     "ECDHE-ECDSA-AES256-GCM-SHA384", KX_ECDHE, AUTH_ECDSA, CRY_AES_256_GCM, CRY_SHA384, 32, 4, false},
    {MTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", KX_ECDHE,
     AUTH_ECDSA, CRY_CHACHA20_POLY1305, CRY_SHA256, 32, 12, false},
    {MTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
     "ECDHE-RSA-AES128-GCM-SHA256", KX_ECDHE, AUTH_RSA, CRY_AES_128_GCM, CRY_SHA256, 16, 4, false},
    {MTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     "ECDHE-RSA-AES256-GCM-SHA384", KX_ECDHE, AUTH_RSA, CRY_AES_256_GCM, CRY_SHA384, 32, 4, false},
    {MTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     "ECDHE-RSA-CHACHA20-POLY1305", KX_ECDHE, AUTH_RSA, CRY_CHACHA20_POLY1305, CRY_SHA256, 32, 12, false},
    {MTLS_TLS_RSA_WITH_AES_128_GCM_SHA256, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256",
     KX_RSA, AUTH_RSA, CRY_AES_128_GCM, CRY_SHA256, 16, 4, false},
    {MTLS_TLS_RSA_WITH_AES_256_GCM_SHA384, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384",
     KX_RSA, AUTH_RSA, CRY_AES_256_GCM, CRY_SHA384, 32, 4, false},
};

const uint16_t suite_default_order[] = {
    MTLS_TLS_AES_128_GCM_SHA256, MTLS_TLS_AES_256_GCM_SHA384, MTLS_TLS_CHACHA20_POLY1305_SHA256,
    MTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, MTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, MTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MTLS_TLS_RSA_WITH_AES_128_GCM_SHA256, MTLS_TLS_RSA_WITH_AES_256_GCM_SHA384,
};
const size_t suite_default_count = sizeof(suite_default_order) / sizeof(suite_default_order[0]);

const suite_info *suite_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

static bool name_eq(const char *want, const char *s, size_t len)
{
    return strlen(want) == len && strncasecmp(want, s, len) == 0;
}

const suite_info *suite_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (name_eq(suites[i].name, name, len) || name_eq(suites[i].ossl, name, len))
            return &suites[i];
    return NULL;
}

const char *mtls_suite_name(uint16_t id)
{
    const suite_info *s = suite_find(id);
    return s ? s->name : NULL;
}

static const sigalg_info sigalgs[] = {
    {MTLS_SIG_ECDSA_SECP256R1_SHA256, "ecdsa_secp256r1_sha256", CRY_KEY_EC_P256, false},
    {MTLS_SIG_ECDSA_SECP384R1_SHA384, "ecdsa_secp384r1_sha384", CRY_KEY_EC_P384, false},
    {MTLS_SIG_RSA_PSS_RSAE_SHA256, "rsa_pss_rsae_sha256", CRY_KEY_RSA, true},
    {MTLS_SIG_RSA_PSS_RSAE_SHA384, "rsa_pss_rsae_sha384", CRY_KEY_RSA, true},
    {MTLS_SIG_RSA_PSS_RSAE_SHA512, "rsa_pss_rsae_sha512", CRY_KEY_RSA, true},
    {MTLS_SIG_RSA_PKCS1_SHA256, "rsa_pkcs1_sha256", CRY_KEY_RSA, false},
    {MTLS_SIG_RSA_PKCS1_SHA384, "rsa_pkcs1_sha384", CRY_KEY_RSA, false},
    {MTLS_SIG_RSA_PKCS1_SHA512, "rsa_pkcs1_sha512", CRY_KEY_RSA, false},
};

const uint16_t sigalg_default_order[] = {
    MTLS_SIG_ECDSA_SECP256R1_SHA256, MTLS_SIG_ECDSA_SECP384R1_SHA384, MTLS_SIG_RSA_PSS_RSAE_SHA256,
    MTLS_SIG_RSA_PSS_RSAE_SHA384,    MTLS_SIG_RSA_PSS_RSAE_SHA512,    MTLS_SIG_RSA_PKCS1_SHA256,
    MTLS_SIG_RSA_PKCS1_SHA384,       MTLS_SIG_RSA_PKCS1_SHA512,
};
const size_t sigalg_default_count = sizeof(sigalg_default_order) / sizeof(sigalg_default_order[0]);

const sigalg_info *sigalg_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
        if (sigalgs[i].id == id)
            return &sigalgs[i];
    return NULL;
}

uint16_t sigalg_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
        if (name_eq(sigalgs[i].name, name, len))
            return sigalgs[i].id;
    return 0;
}

const char *mtls_sigalg_name(uint16_t id)
{
    const sigalg_info *s = sigalg_find(id);
    return s ? s->name : NULL;
}

const uint16_t group_default_order[] = {MTLS_GROUP_X25519, MTLS_GROUP_SECP256R1,
                                        MTLS_GROUP_SECP384R1};
const size_t group_default_count = sizeof(group_default_order) / sizeof(group_default_order[0]);

const char *mtls_group_name(uint16_t group)
{
    switch (group) {
    case MTLS_GROUP_X25519: return "x25519";
    case MTLS_GROUP_SECP256R1: return "secp256r1";
    case MTLS_GROUP_SECP384R1: return "secp384r1";
    default: return NULL;
    }
}

uint16_t group_by_name(const char *name, size_t len)
{
    if (name_eq("x25519", name, len))
        return MTLS_GROUP_X25519;
    if (name_eq("secp256r1", name, len) || name_eq("P-256", name, len) ||
        name_eq("prime256v1", name, len))
        return MTLS_GROUP_SECP256R1;
    if (name_eq("secp384r1", name, len) || name_eq("P-384", name, len))
        return MTLS_GROUP_SECP384R1;
    return 0;
}

static size_t copy_ids(const uint16_t *ids, size_t n, uint16_t *out, size_t cap)
{
    for (size_t i = 0; i < n && i < cap && out; i++)
        out[i] = ids[i];
    return n;
}

size_t mtls_supported_suites(uint16_t *out, size_t cap)
{
    return copy_ids(suite_default_order, suite_default_count, out, cap);
}

size_t mtls_supported_groups(uint16_t *out, size_t cap)
{
    return copy_ids(group_default_order, group_default_count, out, cap);
}

size_t mtls_supported_sigalgs(uint16_t *out, size_t cap)
{
    return copy_ids(sigalg_default_order, sigalg_default_count, out, cap);
}

/* ---- lists of ids -------------------------------------------------------------------------- */

bool hs_list_has(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool hs_wire_list_has(rd list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.n; i += 2)
        if (be16_get(list.p + i) == v)
            return true;
    return false;
}

void hs_names(char *out, size_t cap, const uint16_t *ids, size_t n, const char *(*name)(uint16_t))
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && used < cap; i++) {
        const char *s = name(ids[i]);
        int k = s ? snprintf(out + used, cap - used, "%s%s", i ? ", " : "", s)
                  : snprintf(out + used, cap - used, "%s0x%04x", i ? ", " : "", ids[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}
