/*
 * revocation.c -- a config's revocation settings and what a connection reports of them: the CRLs
 * the peer's certificates are checked against and the mode (leaf or chain, hard or soft fail),
 * the OCSP response a server staples (held by staple.c), what a client asks of servers (a staple,
 * or a staple required), and the stapled response's verdict (mtls_conn_peer_ocsp).
 *
 * The handshake reads the settings through config_crl_params and config_ocsp_request (auth.c,
 * status.c); the session binding (resume.c verify_context) takes the mode in force and the
 * client's OCSP flags, never the CRLs' contents: a newer CRL is checked on resumption instead
 * (docs/SECURITY.md).  CRLs are loaded when set and never change in a config; a server takes new
 * ones by building a new config (a reload).  The staple may change under a frozen config (its
 * file is re-read), behind staple.c's lock.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- the settings the handshake reads ------------------------------------------------------- */

unsigned config_revocation(const mtls_config *cfg)
{
    if (cfg->revocation_set)
        return cfg->revocation;
    return x509_crls_count(cfg->crls) ? MTLS_REVOCATION_LEAF : MTLS_REVOCATION_OFF;
}

void config_crl_params(const mtls_config *cfg, x509_verify_params *p)
{
    unsigned mode = config_revocation(cfg);
    if ((mode & 0xff) == MTLS_REVOCATION_OFF || !cfg->crls)
        return;
    p->crls = cfg->crls;
    p->crl_scope = (mode & 0xff) == MTLS_REVOCATION_CHAIN ? X509_CRL_CHAIN : X509_CRL_LEAF;
    p->crl_soft_fail = (mode & MTLS_REVOCATION_SOFT_FAIL) != 0;
}

bool config_ocsp_request(const mtls_config *cfg)
{
    return cfg->ocsp_request || cfg->ocsp_required;
}

const x509_cert *config_leaf_issuer(const mtls_config *cfg)
{
    return cfg->chain_len > 1 ? cfg->chain[1] : NULL;
}

/* ---- CRLs ----------------------------------------------------------------------------------- */

enum crl_source { CRL_FILE, CRL_DIR, CRL_MEM };

static void utc(char *out, size_t cap, int64_t t);

/* Whether `crl` is in force at `now` (RFC 5280 6.3.3 (a): thisUpdate passed, nextUpdate not), as
 * x509_crls_check judges it. */
static bool crl_current(const x509_crl *crl, int64_t now)
{
    return x509_crl_this_update(crl) <= now && now <= x509_crl_next_update(crl);
}

/* Loaded, but not in force now, and no CRL of the same issuer in the set is: every certificate it
 * covers is refused (MTLS_ERR_CRL_EXPIRED / _NOT_YET_VALID) until a current one is loaded.  A
 * server would start and refuse every client of that CA with nothing said at startup, so the
 * call succeeds with a detail that says so (the first such CRL of this call, and how many more). */
static void note_stale_crls(mtls_config *cfg, size_t from, const char *name)
{
    int64_t now = config_now(cfg);
    size_t n = x509_crls_count(cfg->crls), stale = 0;
    const x509_crl *first = NULL;
    for (size_t i = from; i < n; i++) {
        const x509_crl *crl = x509_crls_get(cfg->crls, i);
        if (crl_current(crl, now))
            continue;
        size_t len, olen;
        const uint8_t *issuer = x509_crl_issuer_der(crl, &len);
        bool replaced = false;
        for (size_t j = 0; j < n && !replaced; j++) {
            const x509_crl *other = x509_crls_get(cfg->crls, j);
            const uint8_t *oi = x509_crl_issuer_der(other, &olen);
            replaced = j != i && olen == len && memcmp(oi, issuer, len) == 0 &&
                       crl_current(other, now);
        }
        if (!replaced && stale++ == 0)
            first = crl;
    }
    if (!first)
        return;
    char t[40], num[48] = "", more[64] = "";
    size_t nl;
    const uint8_t *number = x509_crl_number(first, &nl);
    if (number) {
        size_t w = (size_t)snprintf(num, sizeof(num), " (cRLNumber 0x");
        for (size_t j = 0; j < nl && w + 4 < sizeof(num); j++)
            w += (size_t)snprintf(num + w, sizeof(num) - w, "%02X", number[j]);
        snprintf(num + w, sizeof(num) - w, ")");
    }
    if (stale > 1)
        snprintf(more, sizeof(more), " (and %zu more CRLs not in force)", stale - 1);
    bool early = x509_crl_this_update(first) > now;
    utc(t, sizeof(t), early ? x509_crl_this_update(first) : x509_crl_next_update(first));
    config_fail(cfg, MTLS_OK, "%s: the CRL of %s%s is %s %s%s; until a current CRL of that issuer "
                "is loaded, the certificates it covers are refused (certificate_unknown)", name,
                x509_crl_issuer(first), num,
                early ? "not valid yet: its thisUpdate is" : "out of date: its nextUpdate was", t,
                more);
}

static mtls_err add_crls(mtls_config *cfg, enum crl_source from, const char *path,
                         const void *data, size_t len)
{
    static const char *const what[] = {"CRL file", "CRL directory", "CRL data"};
    mtls_err err = config_setter_begin(cfg);
    if (err)
        return err;
    if (from == CRL_MEM ? !data : !path)
        return config_fail(cfg, MTLS_ERR_INVALID_ARG, "no %s given (NULL)", what[from]);
    if (!cfg->crls && !(cfg->crls = x509_crls_new()))
        return config_fail(cfg, MTLS_ERR_NO_MEMORY, "out of memory for a CRL set");
    size_t before = x509_crls_count(cfg->crls);
    if (from == CRL_FILE)
        err = x509_crls_add_file(cfg->crls, path);
    else if (from == CRL_DIR)
        err = x509_crls_add_dir(cfg->crls, path);
    else
        err = x509_crls_add_mem(cfg->crls, data, len);
    if (err == MTLS_OK && x509_crls_count(cfg->crls) == before)
        err = MTLS_ERR_BAD_PEM; /* a directory without one CRL */
    if (err == MTLS_OK) {
        note_stale_crls(cfg, before, path ? path : "the CRL data");
        return MTLS_OK;
    }
    const char *file = x509_crls_error_file(cfg->crls);
    const char *name = file[0] ? file : path ? path : "the CRL data";
    switch (err) {
    case MTLS_ERR_FILE:
        return config_fail(cfg, err, "cannot read the %s %s", what[from], name);
    case MTLS_ERR_BAD_PEM:
        return config_fail(cfg, err, "no CRL in %s (PEM \"X509 CRL\" blocks or one DER CRL "
                           "expected)", name);
    default:
        return config_fail(cfg, err, "%s: %s; nothing of this call was loaded", name,
                           mtls_err_str(err));
    }
}

mtls_err mtls_config_set_crl_file(mtls_config *cfg, const char *path)
{
    return add_crls(cfg, CRL_FILE, path, NULL, 0);
}

mtls_err mtls_config_set_crl_dir(mtls_config *cfg, const char *dir)
{
    return add_crls(cfg, CRL_DIR, dir, NULL, 0);
}

mtls_err mtls_config_set_crl_mem(mtls_config *cfg, const void *pem_or_der, size_t len)
{
    return add_crls(cfg, CRL_MEM, NULL, pem_or_der, len);
}

mtls_err mtls_config_set_revocation_check(mtls_config *cfg, unsigned mode)
{
    mtls_err err = config_setter_begin(cfg);
    if (err)
        return err;
    unsigned base = mode & ~MTLS_REVOCATION_SOFT_FAIL;
    if (base != MTLS_REVOCATION_OFF && base != MTLS_REVOCATION_LEAF &&
        base != MTLS_REVOCATION_CHAIN)
        return config_fail(cfg, MTLS_ERR_INVALID_ARG, "revocation mode 0x%x is not "
                           "MTLS_REVOCATION_OFF, _LEAF or _CHAIN (optionally with "
                           "MTLS_REVOCATION_SOFT_FAIL)", mode);
    if (base == MTLS_REVOCATION_OFF)
        mode = MTLS_REVOCATION_OFF;
    /* A mode that checks with no CRL set: hard fail refuses every peer (no CRL for any
     * issuer), soft fail passes them -- an empty set makes both happen as documented. */
    if (mode != MTLS_REVOCATION_OFF && !cfg->crls && !(cfg->crls = x509_crls_new()))
        return config_fail(cfg, MTLS_ERR_NO_MEMORY, "out of memory for a CRL set");
    cfg->revocation = mode;
    cfg->revocation_set = true;
    return MTLS_OK;
}

static void utc(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, cap, "?");
}

mtls_err mtls_config_describe_crls(const mtls_config *cfg, char *out, size_t cap)
{
    if (!cfg || !out || !cap)
        return MTLS_ERR_INVALID_ARG;
    unsigned mode = config_revocation(cfg);
    size_t n = x509_crls_count(cfg->crls), at = 0;
    const char *check = (mode & 0xff) == MTLS_REVOCATION_CHAIN  ? "the whole chain"
                        : (mode & 0xff) == MTLS_REVOCATION_LEAF ? "the leaf"
                                                                : "nothing (off)";
    int k = snprintf(out, cap, "%zu CRL%s, checking %s%s", n, n == 1 ? "" : "s", check,
                     (mode & 0xff) == MTLS_REVOCATION_OFF ? ""
                     : mode & MTLS_REVOCATION_SOFT_FAIL  ? ", soft fail"
                                                          : ", hard fail");
    at = k > 0 && (size_t)k < cap ? (size_t)k : cap - 1;
    for (size_t i = 0; i < n && at + 1 < cap; i++) {
        const x509_crl *crl = x509_crls_get(cfg->crls, i);
        char t[40], num[48] = "";
        size_t nl;
        const uint8_t *number = x509_crl_number(crl, &nl);
        utc(t, sizeof(t), x509_crl_next_update(crl));
        if (number) {
            size_t w = (size_t)snprintf(num, sizeof(num), " #");
            for (size_t j = 0; j < nl && w + 3 < sizeof(num); j++)
                w += (size_t)snprintf(num + w, sizeof(num) - w, "%02X", number[j]);
        }
        k = snprintf(out + at, cap - at, "%s %s%s (%zu revoked, next update %s)",
                     i ? ";" : ":", x509_crl_issuer(crl), num, x509_crl_revoked_count(crl), t);
        at = k > 0 && at + (size_t)k < cap ? at + (size_t)k : cap - 1;
    }
    return MTLS_OK;
}

/* ---- OCSP: the server's staple, the client's requests --------------------------------------- */

static mtls_err set_staple(mtls_config *cfg, const char *path, const void *der, size_t len)
{
    mtls_err err = config_setter_begin(cfg);
    if (err)
        return err;
    if (path ? false : !der)
        return config_fail(cfg, MTLS_ERR_INVALID_ARG, "no OCSP response given (NULL)");
    if (!cfg->staple && !(cfg->staple = staple_new()))
        return config_fail(cfg, MTLS_ERR_NO_MEMORY, "out of memory");
    char why[sizeof(cfg->error_detail)];
    err = staple_set(cfg->staple, der, len, path, cfg->chain_len ? cfg->chain[0] : NULL,
                     config_leaf_issuer(cfg), config_now(cfg), why, sizeof(why));
    if (err)
        return config_fail(cfg, err, "%s", why);
    /* Set, but out of date now: say so (it is not stapled until a current one replaces it). */
    if (cfg->chain_len) {
        char line[sizeof(cfg->error_detail)];
        staple_describe(cfg->staple, cfg->chain[0], config_leaf_issuer(cfg), config_now(cfg), line,
                        sizeof(line));
        if (strstr(line, "not stapled"))
            config_fail(cfg, MTLS_OK, "%s", line);
    }
    return MTLS_OK;
}

mtls_err mtls_config_set_ocsp_staple_file(mtls_config *cfg, const char *path)
{
    if (cfg && !path) {
        mtls_err err = config_setter_begin(cfg);
        return err ? err : config_fail(cfg, MTLS_ERR_INVALID_ARG, "no OCSP staple file given "
                                       "(NULL)");
    }
    return set_staple(cfg, path, NULL, 0);
}

mtls_err mtls_config_set_ocsp_staple_mem(mtls_config *cfg, const void *der, size_t len)
{
    return set_staple(cfg, NULL, der, len);
}

/* Works on a frozen config: the staple has a lock of its own, and the sentence goes to the
 * caller's buffer, not to the config. */
mtls_err mtls_config_reload_ocsp_staple(mtls_config *cfg, char *detail, size_t cap)
{
    char why[700] = "";
    mtls_err err;
    if (!cfg) {
        err = MTLS_ERR_INVALID_ARG;
        snprintf(why, sizeof(why), "no config given (NULL)");
    } else if (!cfg->staple) {
        err = MTLS_ERR_BAD_STATE;
        snprintf(why, sizeof(why), "no OCSP staple file is set (mtls_config_set_ocsp_staple_file)");
    } else {
        err = staple_reload(cfg->staple, cfg->chain_len ? cfg->chain[0] : NULL,
                            config_leaf_issuer(cfg), config_now(cfg), why, sizeof(why));
    }
    if (detail && cap)
        snprintf(detail, cap, "%s", err ? why : "");
    return err;
}

mtls_err mtls_config_describe_ocsp_staple(const mtls_config *cfg, char *out, size_t cap)
{
    if (!cfg || !out || !cap)
        return MTLS_ERR_INVALID_ARG;
    if (!cfg->staple) {
        snprintf(out, cap, "none");
        return MTLS_OK;
    }
    staple_describe(cfg->staple, cfg->chain_len ? cfg->chain[0] : NULL, config_leaf_issuer(cfg),
                    config_now(cfg), out, cap);
    return MTLS_OK;
}

mtls_err mtls_config_set_ocsp_request(mtls_config *cfg, int on)
{
    mtls_err err = config_setter_begin(cfg);
    if (!err)
        cfg->ocsp_request = on != 0;
    return err;
}

mtls_err mtls_config_set_ocsp_required(mtls_config *cfg, int on)
{
    mtls_err err = config_setter_begin(cfg);
    if (!err)
        cfg->ocsp_required = on != 0;
    return err;
}

/* ---- what a connection reports -------------------------------------------------------------- */

mtls_err mtls_conn_peer_ocsp(const mtls_conn *c, mtls_ocsp_info *out)
{
    if (!c || !out || out->struct_size < sizeof(out->struct_size) + sizeof(out->status))
        return MTLS_ERR_INVALID_ARG;
    mtls_ocsp_info full;
    memset(&full, 0, sizeof(full));
    full.revocation_reason = -1;
    if (c->info.ocsp.der) {
        full.status = (mtls_ocsp_status)c->info.ocsp.status;
        full.produced_at = c->info.ocsp.produced_at;
        full.this_update = c->info.ocsp.this_update;
        full.next_update = c->info.ocsp.next_update;
        full.revocation_time = c->info.ocsp.revocation_time;
        full.revocation_reason = c->info.ocsp.reason;
        full.response = c->info.ocsp.der;
        full.response_len = c->info.ocsp.len;
    }
    size_t n = out->struct_size < sizeof(full) ? out->struct_size : sizeof(full);
    full.struct_size = n;
    memcpy(out, &full, n);
    return MTLS_OK;
}
