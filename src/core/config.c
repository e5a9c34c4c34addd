/*
 * config.c -- mtls_config: identity, trust and preferences shared by many connections.
 *
 * A config is reference counted.  Setters refuse to run once a connection has frozen it, so the
 * frozen config is read without locks from any number of threads.  Freezing (under `lock`) is
 * where a client config without CAs loads the system trust store, once.
 *
 * The error detail (mtls_config_error_detail) is about the most recent setter call: every setter
 * goes through check_mutable(), which clears it, and every failing path below writes a sentence of
 * its own, so no message outlives the call it describes.  A frozen config is not written at all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

mtls_config *mtls_config_new(void)
{
    if (!cry_init())
        return NULL;
    mtls_config *cfg = mem_calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    atomic_init(&cfg->refs, 1);
    atomic_init(&cfg->frozen, false);
    pthread_mutex_init(&cfg->lock, NULL);
    cfg->ca = x509_store_new();
    if (!cfg->ca) {
        mtls_config_free(cfg);
        return NULL;
    }
    memcpy(cfg->suites, suite_default_order, suite_default_count * sizeof(uint16_t));
    cfg->n_suites = suite_default_count;
    memcpy(cfg->groups, group_default_order, group_default_count * sizeof(uint16_t));
    cfg->n_groups = group_default_count;
    memcpy(cfg->sigalgs, sigalg_default_order, sigalg_default_count * sizeof(uint16_t));
    cfg->n_sigalgs = sigalg_default_count;
    cfg->require_ems = false; /* offered and accepted; required only on request */
    cfg->verify_client = MTLS_VERIFY_NONE;
    cfg->cache_size = MTLS_SESSION_CACHE_DEFAULT_SIZE;
    cfg->session_lifetime = MTLS_SESSION_LIFETIME_DEFAULT;
    cfg->tickets = true;
    cfg->tls13_tickets = MTLS_TLS13_TICKETS_DEFAULT;
    cfg->min_version = MTLS_VERSION_TLS12;
    cfg->max_version = MTLS_VERSION_TLS13;
    cfg->send_ca_names = true;
    cfg->cache = cache_new(cfg->cache_size);
    cfg->tkeys = ticket_keys_new();
    cfg->certs = x509_cache_new(MTLS_CERT_CACHE_DEFAULT_SIZE);
    if (!cfg->cache || !cfg->tkeys || !cfg->certs) {
        mtls_config_free(cfg);
        return NULL;
    }
    return cfg;
}

mtls_config *config_ref(mtls_config *cfg)
{
    atomic_fetch_add(&cfg->refs, 1);
    return cfg;
}

void mtls_config_free(mtls_config *cfg)
{
    if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
        return;
    x509_chain_free(cfg->chain, cfg->chain_len);
    cry_pkey_free(cfg->key);
    mem_free(cfg->pkcs11_module);
    x509_store_free(cfg->ca);
    x509_store_free(cfg->client_ca);
    cache_free(cfg->cache);
    ticket_keys_free(cfg->tkeys);
    x509_cache_free(cfg->certs);
    mem_free(cfg->ca_names);
    for (size_t i = 0; i < cfg->n_spiffe_ids; i++)
        mem_free(cfg->spiffe_ids[i]);
    mem_free(cfg->spiffe_ids);
    for (size_t i = 0; i < cfg->n_spiffe_domains; i++)
        mem_free(cfg->spiffe_domains[i]);
    mem_free(cfg->spiffe_domains);
    x509_crls_free(cfg->crls);
    staple_free(cfg->staple);
    pthread_mutex_destroy(&cfg->lock);
    mem_free(cfg);
}

static mtls_err detail(mtls_config *cfg, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mtls_err detail(mtls_config *cfg, mtls_err err, const char *fmt, ...)
{
    if (err == MTLS_OK) {
        cfg->error_detail[0] = 0;
        return err;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error_detail, sizeof(cfg->error_detail), fmt, ap);
    va_end(ap);
    return err;
}

const char *mtls_config_error_detail(const mtls_config *cfg)
{
    return cfg ? cfg->error_detail : "";
}

/* A success that still has something to say (the names a list setter skipped). */
static void note(mtls_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(mtls_config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error_detail, sizeof(cfg->error_detail), fmt, ap);
    va_end(ap);
}

/* Every setter starts here.  A frozen config may be read by connections on other threads, so it
 * is left untouched, its detail included; otherwise the previous call's detail is cleared. */
static mtls_err check_mutable(mtls_config *cfg)
{
    if (!cfg)
        return MTLS_ERR_INVALID_ARG;
    if (atomic_load(&cfg->frozen))
        return MTLS_ERR_CONFIG_FROZEN;
    cfg->error_detail[0] = 0;
    return MTLS_OK;
}

/* The same for the setters of the other files of core (revocation.c). */
mtls_err config_setter_begin(mtls_config *cfg)
{
    return check_mutable(cfg);
}

mtls_err config_fail(mtls_config *cfg, mtls_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error_detail, sizeof(cfg->error_detail), fmt, ap);
    va_end(ap);
    return err;
}

/* The subject of anchor i, unless an earlier anchor has the same one (a re-keyed root). */
static const uint8_t *new_subject(const x509_store *anchors, size_t i, size_t *len)
{
    const uint8_t *dn = x509_cert_subject_der(x509_store_get(anchors, i), len);
    for (size_t j = 0; j < i; j++) {
        size_t o_len;
        const uint8_t *o = x509_cert_subject_der(x509_store_get(anchors, j), &o_len);
        if (o_len == *len && memcmp(o, dn, o_len) == 0)
            return NULL;
    }
    return dn;
}

/* The certificate_authorities content of our CertificateRequest (RFC 5246 7.4.4): the DER
 * subject of each anchor that verifies client certificates, each once.  When the names exceed
 * MTLS_MAX_CA_NAMES none are sent: the empty list lets the client pick any certificate, where a
 * cut list could make it withhold one we would accept.  Built once, at the first server freeze
 * (under the lock), and read-only from then on. */
static mtls_err build_ca_names(mtls_config *cfg)
{
    const x509_store *anchors = cfg->client_ca ? cfg->client_ca : cfg->ca;
    size_t n = x509_store_count(anchors), total = 0, names = 0, len;
    for (size_t i = 0; i < n && total <= MTLS_MAX_CA_NAMES; i++) {
        if (new_subject(anchors, i, &len)) {
            total += 2 + len;
            names++;
        }
    }
    if (total > MTLS_MAX_CA_NAMES) {
        cfg->ca_names_over = true;
        cfg->ca_names_built = true;
        return MTLS_OK;
    }
    if (total && !(cfg->ca_names = mem_alloc(total)))
        return MTLS_ERR_NO_MEMORY;
    wr w = wr_fixed(cfg->ca_names, total);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *dn = new_subject(anchors, i, &len);
        if (!dn)
            continue;
        /* DistinguishedName <1..2^16-1>: a Name's DER is never empty, and it fits: the whole
         * list is under MTLS_MAX_CA_NAMES */
        wr_u16(&w, (uint16_t)len);
        wr_bytes(&w, dn, len);
    }
    if (!wr_ok(&w) || w.len != total) {
        mem_free(cfg->ca_names);
        cfg->ca_names = NULL;
        return MTLS_ERR_INTERNAL;
    }
    cfg->ca_names_len = total;
    cfg->n_ca_names = names;
    cfg->ca_names_built = true;
    return MTLS_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash a sorted copy of one SPIFFE list ('I' IDs or 'D' trust domains) into h. */
static bool hash_spiffe_list(cry_hash *h, char tag, char **list, size_t n)
{
    char **sorted = mem_alloc((n ? n : 1) * sizeof *sorted);
    bool ok = sorted != NULL;
    if (ok) {
        if (n)
            memcpy(sorted, list, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, str_cmp);
    }
    for (size_t i = 0; ok && i < n; i++) {
        size_t len = strlen(sorted[i]); /* at most 2048 */
        uint8_t hdr[3] = {(uint8_t)tag, (uint8_t)(len >> 8), (uint8_t)len};
        ok = cry_hash_update(h, hdr, sizeof hdr) && cry_hash_update(h, sorted[i], len);
    }
    mem_free(sorted);
    return ok;
}

/* Whether a peer is accepted depends on the SPIFFE lists too, so sessions are bound to them: the
 * lists (in a canonical order) are folded into the anchors' digest that hs_verify_context hashes.
 * A config without lists keeps the plain digest. */
static mtls_err bind_spiffe(uint8_t digest[32], const mtls_config *cfg)
{
    static const char label[] = "mtls SPIFFE acceptance 1";
    if (!cfg->n_spiffe_ids && !cfg->n_spiffe_domains)
        return MTLS_OK;
    cry_hash *h = cry_hash_new(CRY_SHA256);
    bool ok = h && cry_hash_update(h, label, sizeof label) && cry_hash_update(h, digest, 32) &&
              hash_spiffe_list(h, 'I', cfg->spiffe_ids, cfg->n_spiffe_ids) &&
              hash_spiffe_list(h, 'D', cfg->spiffe_domains, cfg->n_spiffe_domains) &&
              cry_hash_peek(h, digest);
    cry_hash_free(h);
    return ok ? MTLS_OK : MTLS_ERR_NO_MEMORY;
}

mtls_err config_freeze(mtls_config *cfg, bool as_client)
{
    mtls_err err = MTLS_OK;
    pthread_mutex_lock(&cfg->lock);
    if (as_client && !cfg->insecure && !cfg->ca_set && x509_store_count(cfg->ca) == 0) {
        err = x509_store_add_system(cfg->ca);
        if (err == MTLS_OK) {
            cfg->ca_set = true;
            cfg->digests_done = false; /* the anchors changed */
        }
    }
    /* The anchors are fixed from here on: name them once for the session binding. */
    if (err == MTLS_OK && !cfg->digests_done) {
        err = x509_store_digest(cfg->ca, cfg->ca_digest);
        if (err == MTLS_OK)
            err = x509_store_digest(cfg->client_ca ? cfg->client_ca : cfg->ca,
                                    cfg->client_ca_digest);
        if (err == MTLS_OK)
            err = bind_spiffe(cfg->ca_digest, cfg);
        if (err == MTLS_OK)
            err = bind_spiffe(cfg->client_ca_digest, cfg);
        cfg->digests_done = err == MTLS_OK;
    }
    /* In every verify mode: a server that asks no certificate in the handshake may ask after it
     * (TLS 1.3 post-handshake authentication, mtls_conn_request_client_cert). */
    if (!as_client && cfg->send_ca_names && !cfg->ca_names_built)
        err = build_ca_names(cfg);
    atomic_store(&cfg->frozen, true);
    pthread_mutex_unlock(&cfg->lock);
    return err;
}

int64_t config_now(const mtls_config *cfg)
{
    if (cfg->time_fn)
        return cfg->time_fn(cfg->time_arg);
    return (int64_t)time(NULL);
}

/* Reads a whole (small) file; *out is malloc'd and NUL-terminated. */
static mtls_err read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return MTLS_ERR_FILE;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (cap > (64u << 20)) {
                mem_free(buf);
                fclose(f);
                return MTLS_ERR_FILE;
            }
            uint8_t *nb = mem_realloc(buf, cap + 65536 + 1);
            if (!nb) {
                mem_free(buf);
                fclose(f);
                return MTLS_ERR_NO_MEMORY;
            }
            buf = nb;
            cap += 65536;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        mem_free(buf);
        return MTLS_ERR_FILE;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return MTLS_OK;
}

/* A detail that says what the loader was given and what to do, when x509_explain_unusable
 * recognises the mistake (a PKCS#12 file, an Ed25519 key, ...); false when it does not. */
static bool explained(mtls_config *cfg, mtls_err err, const void *data, size_t len,
                      x509_file_role role, const char *name)
{
    char why[sizeof(cfg->error_detail)];
    if (!data || !x509_explain_unusable(data, len, role, name, why, sizeof(why)))
        return false;
    detail(cfg, err, "%s", why);
    return true;
}

/* ---- our identity: chain and key ------------------------------------------------------------ */

/* The passphrase source the crypto layer asks (cry_pass_fn): the application's callback, told
 * what is being unlocked. */
struct pass_src {
    mtls_config *cfg;
    const char *what;
};

static int ask_passphrase(void *arg, char *buf, size_t cap)
{
    const struct pass_src *src = arg;
    if (!src->cfg->passphrase_fn)
        return CRY_PASS_NONE;
    int n = src->cfg->passphrase_fn(src->cfg->passphrase_arg, buf, cap, src->what);
    return n < 0 ? -1 : n; /* a length above cap is refused by the loader */
}

mtls_err mtls_config_set_passphrase_callback(mtls_config *cfg, mtls_passphrase_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->passphrase_fn = fn;
        cfg->passphrase_arg = arg;
    }
    return err;
}

/* The error and detail for a key that did not load: `name` is the file (or "the private key"
 * for memory), `ld` what the loader found. */
static mtls_err key_failure(mtls_config *cfg, const cry_load *ld, const void *data, size_t len,
                            const char *path, const char *name, bool pkcs12)
{
    switch (ld->status) {
    case CRY_LOAD_NO_PASSPHRASE:
        return detail(cfg, MTLS_ERR_NO_PASSPHRASE, "%s is encrypted and no passphrase was given: "
                      "set a passphrase callback (mtls_config_set_passphrase_callback; the mtls "
                      "tool: --key-pass-file FILE or --key-pass-env NAME)%s", name,
                      pkcs12 ? "" : ", or decrypt the key with `openssl pkey -in KEY -out "
                                    "plain.key`");
    case CRY_LOAD_PASSPHRASE_FAILED:
        return detail(cfg, MTLS_ERR_NO_PASSPHRASE, "%s is encrypted and the passphrase callback "
                      "gave no passphrase for it", name);
    case CRY_LOAD_WRONG_PASSPHRASE:
        return detail(cfg, MTLS_ERR_BAD_PASSPHRASE, "wrong passphrase for %s (or a corrupt key)",
                      name);
    case CRY_LOAD_UNSUPPORTED_ENCRYPTION:
        return detail(cfg, MTLS_ERR_BAD_KEY, "%s is encrypted with %s, which mtls cannot decrypt: "
                      "re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out "
                      "new.key`", name, ld->why);
    case CRY_LOAD_UNSUPPORTED:
        if (explained(cfg, MTLS_ERR_UNSUPPORTED_KEY, data, len, X509_FILE_KEY, path))
            return MTLS_ERR_UNSUPPORTED_KEY;
        return detail(cfg, MTLS_ERR_UNSUPPORTED_KEY, "%s is not supported (%s): use RSA "
                      "2048-4096 or ECDSA P-256/P-384", name, ld->why);
    case CRY_LOAD_NOT_FOUND:
        if (explained(cfg, MTLS_ERR_BAD_KEY, data, len, X509_FILE_KEY, path))
            return MTLS_ERR_BAD_KEY;
        return detail(cfg, MTLS_ERR_BAD_KEY, "%s could not be read: it must be a PEM private key "
                      "(PKCS#8, PKCS#1 RSA or SEC1 EC, encrypted or not)", name);
    default:
        if (explained(cfg, MTLS_ERR_BAD_KEY, data, len, X509_FILE_KEY, path))
            return MTLS_ERR_BAD_KEY;
        return detail(cfg, MTLS_ERR_BAD_KEY, "%s could not be read: %s", name,
                      ld->why[0] ? ld->why : "libcrypto failed (out of memory?)");
    }
}

/* Takes chain and key: checks the key's type and that it belongs to chain[0], then makes them
 * the config's identity (or frees them and fails). */
static mtls_err install_identity(mtls_config *cfg, x509_cert **chain, size_t n, cry_pkey *key,
                                 const void *key_data, size_t key_len, const char *key_path)
{
    mtls_err err = MTLS_OK;
    cry_key_type type = cry_pkey_type(key);
    unsigned bits = cry_pkey_bits(key);
    if (!(type == CRY_KEY_RSA && bits >= 2048 && bits <= 4096) && type != CRY_KEY_EC_P256 &&
        type != CRY_KEY_EC_P384) {
        err = MTLS_ERR_UNSUPPORTED_KEY;
        if (!explained(cfg, err, key_data, key_len, X509_FILE_KEY, key_path))
            detail(cfg, err, "the private key (%s, %u bits) is not supported: use RSA 2048-4096 "
                   "or ECDSA P-256/P-384", type == CRY_KEY_RSA ? "RSA" : "EC", bits);
    } else if (!cry_pkey_matches(key, x509_cert_pubkey(chain[0]))) {
        err = detail(cfg, MTLS_ERR_KEY_MISMATCH, "the private key does not belong to certificate "
                     "%s (the first certificate of the chain)", x509_cert_subject(chain[0]));
    }
    if (err) {
        x509_chain_free(chain, n);
        cry_pkey_free(key);
        return err;
    }
    x509_chain_free(cfg->chain, cfg->chain_len);
    cry_pkey_free(cfg->key);
    cfg->chain = chain;
    cfg->chain_len = n;
    cfg->key = key;
    cfg->key_type = type;
    cfg->has_key_method = false;
    return MTLS_OK;
}

static mtls_err chain_from_pem(mtls_config *cfg, const void *chain_pem, size_t chain_len,
                               x509_cert ***chain, size_t *n)
{
    mtls_err err = x509_chain_from_pem(chain_pem, chain_len, chain, n);
    if (err && !explained(cfg, err, chain_pem, chain_len, X509_FILE_CHAIN, NULL))
        detail(cfg, err, "the certificate chain holds no usable CERTIFICATE block (%s)",
               mtls_err_str(err));
    return err;
}

/* key_path: the key file's name for the passphrase callback and the details; NULL for memory. */
static mtls_err set_chain_and_key(mtls_config *cfg, const void *chain_pem, size_t chain_len,
                                  const void *key_pem, size_t key_len, const char *key_path)
{
    x509_cert **chain = NULL;
    size_t n = 0;
    mtls_err err = chain_from_pem(cfg, chain_pem, chain_len, &chain, &n);
    if (err)
        return err;
    struct pass_src src = {cfg, key_path ? key_path : "memory"};
    cry_load ld = {.pass = ask_passphrase, .pass_arg = &src};
    cry_pkey *key = cry_pkey_load_pem(key_pem, key_len, &ld);
    if (!key) {
        x509_chain_free(chain, n);
        return key_failure(cfg, &ld, key_pem, key_len, key_path,
                           key_path ? key_path : "the private key", false);
    }
    return install_identity(cfg, chain, n, key, key_pem, key_len, key_path);
}

mtls_err mtls_config_set_cert_chain_mem(mtls_config *cfg, const void *chain_pem, size_t chain_len,
                                        const void *key_pem, size_t key_len)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!chain_pem || !key_pem)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no certificate chain or no private key given "
                      "(NULL)");
    return set_chain_and_key(cfg, chain_pem, chain_len, key_pem, key_len, NULL);
}

mtls_err mtls_config_set_cert_chain_file(mtls_config *cfg, const char *chain_path,
                                         const char *key_path)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!chain_path || !key_path)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no certificate chain file or no key file given "
                      "(NULL)");
    uint8_t *chain = NULL, *key = NULL;
    size_t chain_len = 0, key_len = 0;
    err = read_file(chain_path, &chain, &chain_len);
    if (err) {
        detail(cfg, err, "cannot read the certificate file %s: %s", chain_path, strerror(errno));
    } else if ((err = read_file(key_path, &key, &key_len))) {
        detail(cfg, err, "cannot read the key file %s: %s", key_path, strerror(errno));
    } else if ((err = set_chain_and_key(cfg, chain, chain_len, key, key_len, key_path))) {
        bool in_key = err == MTLS_ERR_BAD_KEY || err == MTLS_ERR_UNSUPPORTED_KEY;
        bool named = err == MTLS_ERR_NO_PASSPHRASE || err == MTLS_ERR_BAD_PASSPHRASE ||
                     (in_key && strstr(cfg->error_detail, key_path));
        if (!named && !(in_key ? explained(cfg, err, key, key_len, X509_FILE_KEY, key_path)
                               : explained(cfg, err, chain, chain_len, X509_FILE_CHAIN,
                                           chain_path))) {
            char inner[sizeof(cfg->error_detail)];
            snprintf(inner, sizeof(inner), "%s", cfg->error_detail);
            detail(cfg, err, "%s (certificate %s, key %s)", inner, chain_path, key_path);
        }
    }
    mem_free(chain);
    if (key) {
        cry_wipe(key, key_len);
        mem_free(key);
    }
    return err;
}

/* ---- PKCS#12 -------------------------------------------------------------------------------- */

struct p12_certs {
    x509_cert **v;
    size_t n, cap;
    mtls_err err;
};

static int p12_cert(void *arg, const uint8_t *der, size_t len)
{
    struct p12_certs *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        x509_cert **v = cap > 64 ? NULL : mem_realloc(c->v, cap * sizeof(*v));
        if (!v) {
            c->err = cap > 64 ? MTLS_ERR_CERT_CHAIN_TOO_LONG : MTLS_ERR_NO_MEMORY;
            return 0;
        }
        c->v = v;
        c->cap = cap;
    }
    c->err = x509_cert_parse(der, len, &c->v[c->n]);
    if (c->err)
        return 0;
    c->n++;
    return 1;
}

/* Leaf first -- the certificate of `key` -- then each certificate's issuer, as far as the bundle
 * has them (RFC 5246 7.4.2: "each following certificate MUST directly certify the one preceding
 * it"), then whatever is left in the bundle's order.  False when no certificate fits the key. */
static bool p12_order(struct p12_certs *c, const cry_pkey *key)
{
    size_t leaf = c->n;
    for (size_t i = 0; i < c->n && leaf == c->n; i++)
        if (cry_pkey_matches(key, x509_cert_pubkey(c->v[i])))
            leaf = i;
    if (leaf == c->n)
        return false;
    x509_cert *t = c->v[0];
    c->v[0] = c->v[leaf];
    c->v[leaf] = t;
    for (size_t done = 1; done < c->n; done++) {
        const x509_cert *prev = c->v[done - 1];
        if (strcmp(x509_cert_issuer(prev), x509_cert_subject(prev)) == 0)
            break; /* self-issued: the top */
        for (size_t j = done; j < c->n; j++) {
            if (strcmp(x509_cert_subject(c->v[j]), x509_cert_issuer(prev)) == 0) {
                t = c->v[done];
                c->v[done] = c->v[j];
                c->v[j] = t;
                break;
            }
        }
    }
    return true;
}

static mtls_err set_pkcs12(mtls_config *cfg, const void *der, size_t len, const char *path)
{
    const char *name = path ? path : "the PKCS#12 data";
    struct pass_src src = {cfg, path ? path : "memory"};
    cry_load ld = {.pass = ask_passphrase, .pass_arg = &src};
    struct p12_certs certs = {0};
    cry_pkey *key = NULL;
    if (!cry_pkcs12_load(der, len, &ld, &key, p12_cert, &certs)) {
        mtls_err err;
        if (certs.err)
            err = detail(cfg, certs.err, "a certificate in %s cannot be used: %s", name,
                         mtls_err_str(certs.err));
        else if (ld.status == CRY_LOAD_MALFORMED || ld.status == CRY_LOAD_NOT_FOUND ||
                 ld.status == CRY_LOAD_UNSUPPORTED_ENCRYPTION || ld.status == CRY_LOAD_UNSUPPORTED)
            err = detail(cfg, ld.status == CRY_LOAD_UNSUPPORTED ? MTLS_ERR_UNSUPPORTED_KEY
                                                                : MTLS_ERR_BAD_KEY,
                         "%s: %s%s", name, ld.why[0] ? ld.why : "not a usable PKCS#12 bundle",
                         ld.status == CRY_LOAD_UNSUPPORTED_ENCRYPTION
                             ? ": re-export it with OpenSSL 3 (`openssl pkcs12 -export`, whose "
                               "default is PBES2 with AES-256)"
                             : "");
        else
            err = key_failure(cfg, &ld, NULL, 0, NULL, name, true);
        x509_chain_free(certs.v, certs.n);
        return err;
    }
    if (certs.n == 0 || !p12_order(&certs, key)) {
        x509_chain_free(certs.v, certs.n);
        cry_pkey_free(key);
        return detail(cfg, MTLS_ERR_KEY_MISMATCH, "%s holds no certificate for its private key",
                      name);
    }
    return install_identity(cfg, certs.v, certs.n, key, NULL, 0, NULL);
}

mtls_err mtls_config_set_pkcs12_mem(mtls_config *cfg, const void *der, size_t len)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!der)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no PKCS#12 data given (NULL)");
    return set_pkcs12(cfg, der, len, NULL);
}

mtls_err mtls_config_set_pkcs12_file(mtls_config *cfg, const char *path)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!path)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no PKCS#12 file given (NULL)");
    uint8_t *data = NULL;
    size_t len = 0;
    err = read_file(path, &data, &len);
    if (err)
        return detail(cfg, err, "cannot read the PKCS#12 file %s: %s", path, strerror(errno));
    err = set_pkcs12(cfg, data, len, path);
    cry_wipe(data, len);
    mem_free(data);
    return err;
}

/* ---- PKCS#11 -------------------------------------------------------------------------------- */

mtls_err mtls_config_set_pkcs11_module(mtls_config *cfg, const char *module_path)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    char *copy = NULL;
    if (module_path) {
        size_t n = strlen(module_path);
        if (!(copy = mem_alloc(n + 1)))
            return detail(cfg, MTLS_ERR_NO_MEMORY, "out of memory");
        memcpy(copy, module_path, n + 1);
    }
    mem_free(cfg->pkcs11_module);
    cfg->pkcs11_module = copy;
    return MTLS_OK;
}

/* The URI for messages and the callback, with the value of an RFC 7512 pin-value attribute
 * replaced: a PIN must not reach logs. */
static void redact_uri(const char *uri, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = uri; *p && n + 1 < cap;) {
        if (strncmp(p, "pin-value=", 10) == 0 && n + 13 < cap) {
            memcpy(out + n, "pin-value=***", 13);
            n += 13;
            p += 10;
            while (*p && *p != ';' && *p != '&')
                p++;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = 0;
}

mtls_err mtls_config_set_cert_chain_key_uri(mtls_config *cfg, const char *chain_path,
                                            const char *key_uri)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!chain_path || !key_uri)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no certificate chain file or no key URI given "
                      "(NULL)");
    if (strncmp(key_uri, "pkcs11:", 7) != 0)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "key URI '%.100s' is not a PKCS#11 URI "
                      "(RFC 7512: pkcs11:token=...;object=...)", key_uri);
    uint8_t *chain_pem = NULL;
    size_t chain_len = 0;
    err = read_file(chain_path, &chain_pem, &chain_len);
    if (err)
        return detail(cfg, err, "cannot read the certificate file %s: %s", chain_path,
                      strerror(errno));
    x509_cert **chain = NULL;
    size_t n = 0;
    err = chain_from_pem(cfg, chain_pem, chain_len, &chain, &n);
    mem_free(chain_pem);
    if (err)
        return err;
    char uri[512];
    redact_uri(key_uri, uri, sizeof(uri));
    struct pass_src src = {cfg, uri};
    cry_load ld = {.pass = ask_passphrase, .pass_arg = &src};
    cry_pkey *key = cry_pkey_load_uri(key_uri, cfg->pkcs11_module, &ld);
    if (!key) {
        x509_chain_free(chain, n);
        if (ld.status == CRY_LOAD_NO_PASSPHRASE)
            return detail(cfg, MTLS_ERR_NO_PASSPHRASE, "the token of %s wants a PIN and none was "
                          "given: put pin-value in the URI or set a passphrase callback (the "
                          "mtls tool: --key-pass-file FILE or --key-pass-env NAME)", uri);
        if (ld.status == CRY_LOAD_PASSPHRASE_FAILED)
            return detail(cfg, MTLS_ERR_NO_PASSPHRASE, "the passphrase callback gave no PIN for "
                          "%s", uri);
        if (ld.status == CRY_LOAD_WRONG_PASSPHRASE)
            return detail(cfg, MTLS_ERR_BAD_PASSPHRASE, "wrong PIN for %s", uri);
        if (ld.status == CRY_LOAD_PASSPHRASE_LENGTH)
            return detail(cfg, MTLS_ERR_BAD_PASSPHRASE, "the PIN for %s %s: the passphrase "
                          "callback must give the token's PIN alone (the mtls tool: the first "
                          "line of --key-pass-file, or the value of --key-pass-env)", uri, ld.why);
        return detail(cfg, ld.status == CRY_LOAD_UNSUPPORTED ? MTLS_ERR_UNSUPPORTED_KEY
                                                             : MTLS_ERR_BAD_KEY,
                      "cannot use the key %s: %s", uri, ld.why);
    }
    return install_identity(cfg, chain, n, key, NULL, 0, NULL);
}

mtls_err mtls_config_set_cert_chain_key_method(mtls_config *cfg, const void *chain_pem,
                                               size_t chain_len, const mtls_key_method *method,
                                               void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!chain_pem || !method || !method->sign)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no certificate chain, no key method or no sign "
                      "callback given (NULL)");
    x509_cert **chain = NULL;
    size_t n = 0;
    if ((err = chain_from_pem(cfg, chain_pem, chain_len, &chain, &n)))
        return err;
    /* The leaf's public key stands for the private key: it has the type and size the suites and
     * signature schemes are chosen by, and checks what the callbacks return (handshake/keyop.c). */
    const cry_pkey *leaf_key = x509_cert_pubkey(chain[0]);
    cry_key_type type = cry_pkey_type(leaf_key);
    unsigned bits = cry_pkey_bits(leaf_key);
    if (!(type == CRY_KEY_RSA && bits >= 2048 && bits <= 4096) && type != CRY_KEY_EC_P256 &&
        type != CRY_KEY_EC_P384) {
        err = detail(cfg, MTLS_ERR_UNSUPPORTED_KEY, "the key of certificate %s (%s, %u bits) is "
                     "not supported: use RSA 2048-4096 or ECDSA P-256/P-384",
                     x509_cert_subject(chain[0]), type == CRY_KEY_RSA ? "RSA" : "not RSA", bits);
        x509_chain_free(chain, n);
        return err;
    }
    if ((err = install_identity(cfg, chain, n, cry_pkey_up_ref((cry_pkey *)leaf_key), NULL, 0,
                                NULL)))
        return err;
    cfg->key_method = *method;
    cfg->key_method_arg = arg;
    cfg->has_key_method = true;
    return MTLS_OK;
}

enum ca_source { CA_FILE, CA_DIR, CA_MEM };

static mtls_err add_ca(mtls_config *cfg, x509_store **store, enum ca_source from, const char *path,
                       const void *pem, size_t len)
{
    static const char *const what[] = {"file", "directory", "PEM data"};
    bool dir = from == CA_DIR;
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (from == CA_MEM ? !pem : !path)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no CA %s given (NULL)", what[from]);
    if (!*store && !(*store = x509_store_new()))
        return detail(cfg, MTLS_ERR_NO_MEMORY, "out of memory for a CA store");
    if (path)
        err = dir ? x509_store_add_dir(*store, path) : x509_store_add_file(*store, path);
    else
        err = x509_store_add_pem(*store, pem, len);
    if (err == MTLS_ERR_FILE) {
        detail(cfg, err, "cannot read the CA %s %s", dir ? "directory" : "file",
               path ? path : "(none)");
    } else if (err) {
        /* A PKCS#12 file or only Ed25519 CAs: say so (the store kept no copy of the file). */
        uint8_t *data = NULL;
        size_t data_len = 0;
        bool said = false;
        if (pem)
            said = explained(cfg, err, pem, len, X509_FILE_CA, NULL);
        else if (path && !dir && read_file(path, &data, &data_len) == MTLS_OK)
            said = explained(cfg, err, data, data_len, X509_FILE_CA, path);
        mem_free(data);
        if (!said)
            detail(cfg, err, "no usable CA certificate in %s (%s)", path ? path : "the PEM data",
                   mtls_err_str(err));
    }
    if (!err && store == &cfg->ca)
        cfg->ca_set = true;
    return err;
}

mtls_err mtls_config_set_ca_file(mtls_config *cfg, const char *path)
{
    return cfg ? add_ca(cfg, &cfg->ca, CA_FILE, path, NULL, 0) : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_ca_dir(mtls_config *cfg, const char *path)
{
    return cfg ? add_ca(cfg, &cfg->ca, CA_DIR, path, NULL, 0) : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_ca_mem(mtls_config *cfg, const void *pem, size_t len)
{
    return cfg ? add_ca(cfg, &cfg->ca, CA_MEM, NULL, pem, len) : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_client_ca_file(mtls_config *cfg, const char *path)
{
    return cfg ? add_ca(cfg, &cfg->client_ca, CA_FILE, path, NULL, 0) : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_client_ca_mem(mtls_config *cfg, const void *pem, size_t len)
{
    return cfg ? add_ca(cfg, &cfg->client_ca, CA_MEM, NULL, pem, len) : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_verify_client(mtls_config *cfg, mtls_verify_mode mode)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (mode != MTLS_VERIFY_NONE && mode != MTLS_VERIFY_OPTIONAL && mode != MTLS_VERIFY_REQUIRE)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "verify mode %d is none of MTLS_VERIFY_NONE, "
                      "MTLS_VERIFY_OPTIONAL and MTLS_VERIFY_REQUIRE", (int)mode);
    cfg->verify_client = mode;
    return MTLS_OK;
}

mtls_err mtls_config_set_insecure_skip_verify(mtls_config *cfg, int insecure)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    cfg->insecure = insecure != 0;
    return MTLS_OK;
}

/* Calls `each` for every item of a list separated by ':' or ',' (spaces around items ignored). */
static mtls_err parse_list(const char *list, mtls_err (*each)(void *, const char *, size_t),
                           void *arg)
{
    if (!list)
        return MTLS_ERR_INVALID_ARG;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ':' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ':' && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if (end > start) {
            mtls_err err = each(arg, start, (size_t)(end - start));
            if (err)
                return err;
        }
    }
    return MTLS_OK;
}

/* The list setters share one rule, as OpenSSL's cipher strings do: a name mtls does not know or
 * support is skipped (and named in the detail), so a list written for several libraries works
 * here too; a list that leaves nothing supported is refused and the previous list stays. */
struct idlist {
    uint16_t *ids;
    size_t n, max;
    uint16_t (*lookup)(const char *, size_t);
    char skipped[200]; /* "BOGUS, NOPE", ending in "..." when more did not fit */
    size_t skipped_len, n_skipped;
    bool cut;
};

static void add_skipped(struct idlist *l, const char *name, size_t len)
{
    static const char more[] = "...";
    const char *sep = l->n_skipped++ ? ", " : "";
    if (l->cut)
        return;
    if (len > 64)
        len = 64; /* a name, not a novel */
    size_t sep_len = strlen(sep), room = sizeof(l->skipped) - l->skipped_len;
    /* keep room for the separator, the mark and the NUL in any case */
    if (sep_len + len + 2 + sizeof(more) > room) {
        snprintf(l->skipped + l->skipped_len, room, "%s%s", sep, more);
        l->cut = true;
        return;
    }
    snprintf(l->skipped + l->skipped_len, room, "%s%.*s", sep, (int)len, name);
    l->skipped_len += sep_len + len;
}

static mtls_err add_id(void *arg, const char *name, size_t len)
{
    struct idlist *l = arg;
    uint16_t id = l->lookup(name, len);
    if (!id) {
        add_skipped(l, name, len);
        return MTLS_OK;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->ids[i] == id)
            return MTLS_OK;
    if (l->n == l->max)
        return MTLS_ERR_INVALID_ARG;
    l->ids[l->n++] = id;
    return MTLS_OK;
}

static uint16_t suite_lookup(const char *name, size_t len)
{
    const suite_info *s = suite_by_name(name, len);
    return s ? s->id : 0;
}

/* `what` names the list in the detail ("cipher suite"). */
static mtls_err set_ids(mtls_config *cfg, const char *list, uint16_t *dst, size_t *n, size_t max,
                        uint16_t (*lookup)(const char *, size_t), const char *what)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!list)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no %s list given (NULL)", what);
    uint16_t ids[MTLS_MAX_SUITES];
    struct idlist l = {.ids = ids, .max = max < MTLS_MAX_SUITES ? max : MTLS_MAX_SUITES,
                       .lookup = lookup};
    err = parse_list(list, add_id, &l);
    if (err)
        return detail(cfg, err, "the %s list names more than %zu different %ss", what, l.max,
                      what);
    if (l.n == 0 && l.n_skipped == 0)
        return detail(cfg, MTLS_ERR_UNKNOWN_NAME, "the %s list is empty", what);
    if (l.n == 0)
        return detail(cfg, MTLS_ERR_UNKNOWN_NAME, "the %s list names nothing mtls supports "
                      "(skipped: %s)", what, l.skipped);
    memcpy(dst, ids, l.n * sizeof(uint16_t));
    *n = l.n;
    if (l.n_skipped)
        note(cfg, "skipped %zu %s name%s mtls does not support: %s", l.n_skipped, what,
             l.n_skipped == 1 ? "" : "s", l.skipped);
    return MTLS_OK;
}

mtls_err mtls_config_set_ciphers(mtls_config *cfg, const char *list)
{
    return cfg ? set_ids(cfg, list, cfg->suites, &cfg->n_suites, MTLS_MAX_SUITES, suite_lookup,
                         "cipher suite")
               : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_groups(mtls_config *cfg, const char *list)
{
    return cfg ? set_ids(cfg, list, cfg->groups, &cfg->n_groups, MTLS_MAX_GROUPS, group_by_name,
                         "group")
               : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_sigalgs(mtls_config *cfg, const char *list)
{
    return cfg ? set_ids(cfg, list, cfg->sigalgs, &cfg->n_sigalgs, MTLS_MAX_SIGALGS, sigalg_by_name,
                         "signature scheme")
               : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_versions(mtls_config *cfg, uint16_t min_version, uint16_t max_version)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    bool known = (min_version == MTLS_VERSION_TLS12 || min_version == MTLS_VERSION_TLS13) &&
                 (max_version == MTLS_VERSION_TLS12 || max_version == MTLS_VERSION_TLS13);
    if (!known || min_version > max_version)
        return detail(cfg, MTLS_ERR_INVALID_ARG,
                      "versions 0x%04x..0x%04x: give TLS 1.2 (0x0303) and/or TLS 1.3 (0x0304), "
                      "the lowest first",
                      min_version, max_version);
    cfg->min_version = min_version;
    cfg->max_version = max_version;
    return MTLS_OK;
}

mtls_err mtls_config_set_prefer_client_order(mtls_config *cfg, int on)
{
    mtls_err err = check_mutable(cfg);
    if (!err)
        cfg->prefer_client_order = on != 0;
    return err;
}

mtls_err mtls_config_set_send_ca_names(mtls_config *cfg, int on)
{
    mtls_err err = check_mutable(cfg);
    if (!err)
        cfg->send_ca_names = on != 0;
    return err;
}

mtls_err mtls_config_set_require_ems(mtls_config *cfg, int on)
{
    mtls_err err = check_mutable(cfg);
    if (!err)
        cfg->require_ems = on != 0;
    return err;
}

struct alpn_build {
    wr w;
};

static mtls_err add_alpn(void *arg, const char *name, size_t len)
{
    struct alpn_build *b = arg;
    if (len > 255)
        return MTLS_ERR_INVALID_ARG;
    wr_u8(&b->w, (uint8_t)len);
    wr_bytes(&b->w, name, len);
    return wr_ok(&b->w) ? MTLS_OK : MTLS_ERR_INVALID_ARG;
}

mtls_err mtls_config_set_alpn(mtls_config *cfg, const char *list)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    uint8_t buf[MTLS_MAX_ALPN_WIRE];
    struct alpn_build b = {wr_fixed(buf, sizeof(buf))};
    /* ALPN names may contain ':' in principle; we split on ',' only. */
    const char *p = list ? list : "";
    while (*p) {
        const char *start = p;
        while (*p && *p != ',')
            p++;
        size_t len = (size_t)(p - start);
        if (len > 255)
            return detail(cfg, MTLS_ERR_INVALID_ARG, "ALPN protocol name of %zu bytes: at most "
                          "255 (RFC 7301 3.1)", len);
        if (len && (err = add_alpn(&b, start, len)))
            return detail(cfg, err, "the ALPN list takes more than %d bytes", MTLS_MAX_ALPN_WIRE);
        if (*p)
            p++;
    }
    memcpy(cfg->alpn_wire, buf, b.w.len);
    cfg->alpn_len = b.w.len;
    return MTLS_OK;
}

mtls_err mtls_config_set_trace(mtls_config *cfg, mtls_trace_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->trace = fn;
        cfg->trace_arg = arg;
    }
    return err;
}

mtls_err mtls_config_set_trace_events(mtls_config *cfg, mtls_trace_event_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->trace_events = fn;
        cfg->trace_events_arg = arg;
    }
    return err;
}

mtls_err mtls_config_set_keylog(mtls_config *cfg, mtls_keylog_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->keylog = fn;
        cfg->keylog_arg = arg;
    }
    return err;
}

mtls_err mtls_config_set_verify_callback(mtls_config *cfg, mtls_verify_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->verify_cb = fn;
        cfg->verify_arg = arg;
    }
    return err;
}

mtls_err mtls_config_set_server_name_callback(mtls_config *cfg, mtls_server_name_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->sni_cb = fn;
        cfg->sni_arg = arg;
    }
    return err;
}

mtls_err mtls_config_set_time(mtls_config *cfg, mtls_time_fn *fn, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (!err) {
        cfg->time_fn = fn;
        cfg->time_arg = arg;
    }
    return err;
}


mtls_err mtls_config_set_session_cache(mtls_config *cfg, size_t max_entries, uint32_t lifetime)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (max_entries > (1u << 24))
        return detail(cfg, MTLS_ERR_INVALID_ARG, "session cache size %zu is too large (at most "
                      "%u entries)", max_entries, 1u << 24);
    sess_cache *c = NULL;
    if (max_entries && !(c = cache_new(max_entries)))
        return detail(cfg, MTLS_ERR_NO_MEMORY, "out of memory for a session cache of %zu entries",
                      max_entries);
    cache_free(cfg->cache);
    cfg->cache = c;
    cfg->cache_size = max_entries;
    cfg->session_lifetime = lifetime ? lifetime : MTLS_SESSION_LIFETIME_DEFAULT;
    return MTLS_OK;
}

mtls_err mtls_config_set_cert_cache(mtls_config *cfg, size_t max_entries)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (max_entries > 4096)
        return detail(cfg, MTLS_ERR_INVALID_ARG,
                      "certificate cache size %zu is too large (at most 4096 certificates)",
                      max_entries);
    x509_cache *c = NULL;
    if (max_entries && !(c = x509_cache_new(max_entries)))
        return detail(cfg, MTLS_ERR_NO_MEMORY, "out of memory for a certificate cache of %zu "
                      "entries", max_entries);
    x509_cache_free(cfg->certs);
    cfg->certs = c;
    return MTLS_OK;
}

mtls_err mtls_config_set_tickets(mtls_config *cfg, int on)
{
    mtls_err err = check_mutable(cfg);
    if (!err)
        cfg->tickets = on != 0;
    return err;
}

mtls_err mtls_config_set_tls13_tickets(mtls_config *cfg, unsigned n)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (n > 16)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "%u TLS 1.3 tickets per handshake: at most 16", n);
    cfg->tls13_tickets = n;
    return MTLS_OK;
}

mtls_err mtls_config_set_psk_ke(mtls_config *cfg, int on)
{
    mtls_err err = check_mutable(cfg);
    if (!err)
        cfg->psk_ke = on != 0;
    return err;
}

mtls_err mtls_config_set_ticket_keys(mtls_config *cfg, const uint8_t *keys, size_t n_keys)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!keys || n_keys == 0 || n_keys > TICKET_MAX_KEYS)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "%zu ticket keys given%s: give 1 to %d keys of "
                      "80 bytes", n_keys, keys ? "" : " (NULL)", TICKET_MAX_KEYS);
    err = ticket_keys_set(cfg->tkeys, keys, n_keys);
    if (err)
        detail(cfg, err, "the ticket keys could not be installed (%s)", mtls_err_str(err));
    return err;
}

mtls_err mtls_config_set_session_context(mtls_config *cfg, const uint8_t *ctx, size_t len)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!ctx && len)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "a session context of %zu bytes at NULL", len);
    if (len > MTLS_SESSION_CONTEXT_MAX)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "a session context of %zu bytes is too long (at "
                      "most %d): use a short name, or a digest of a longer one", len,
                      MTLS_SESSION_CONTEXT_MAX);
    if (len)
        memcpy(cfg->session_ctx, ctx, len);
    cfg->session_ctx_len = len;
    return MTLS_OK;
}

mtls_err mtls_config_set_session_store(mtls_config *cfg, mtls_session_store_fn *store,
                                       mtls_session_lookup_fn *lookup,
                                       mtls_session_remove_fn *remove, void *arg)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if ((store == NULL) != (lookup == NULL))
        return detail(cfg, MTLS_ERR_INVALID_ARG, "a session store needs both the store and the "
                      "lookup callback (or neither)");
    cfg->store = store;
    cfg->lookup = lookup;
    cfg->remove = remove;
    cfg->store_arg = arg;
    return MTLS_OK;
}

/* ---- fleets and reloads: key files, shared sessions (docs/FLEETS.md) ---------------------- */

mtls_err mtls_config_set_ticket_key_file(mtls_config *cfg, const char *path)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!path)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no ticket key file given (NULL)");
    char why[sizeof(cfg->error_detail)];
    err = ticket_keys_set_file(cfg->tkeys, path, config_now(cfg), why, sizeof(why));
    if (err)
        detail(cfg, err, "%s", why);
    return err;
}

/* Works on a frozen config: the key set has a lock of its own, and the sentence goes to the
 * caller's buffer, not to the config. */
mtls_err mtls_config_reload_ticket_keys(mtls_config *cfg, char *out, size_t cap)
{
    char why[512] = "";
    mtls_err err = cfg ? ticket_keys_reload(cfg->tkeys, why, sizeof(why)) : MTLS_ERR_INVALID_ARG;
    if (!cfg)
        snprintf(why, sizeof(why), "no config given (NULL)");
    if (out && cap)
        snprintf(out, cap, "%s", err ? why : "");
    return err;
}

mtls_err mtls_config_describe_ticket_keys(const mtls_config *cfg, char *out, size_t cap)
{
    if (!cfg || !out || !cap)
        return MTLS_ERR_INVALID_ARG;
    ticket_keys_describe(cfg->tkeys, config_now(cfg), out, cap);
    return MTLS_OK;
}

mtls_err mtls_config_share_sessions(mtls_config *cfg, const mtls_config *from)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!from || from == cfg)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "share sessions with which config? %s",
                      from ? "(the same one given twice)" : "(NULL)");
    /* `from` may be frozen and serving: its cache and key pointers no longer change then, and
     * the objects count their references atomically. */
    sess_cache *c = cache_ref(from->cache);
    ticket_keys *k = ticket_keys_ref(from->tkeys);
    cache_free(cfg->cache);
    ticket_keys_free(cfg->tkeys);
    cfg->cache = c;
    cfg->cache_size = from->cache_size;
    cfg->tkeys = k;
    return MTLS_OK;
}

const char *mtls_config_cert_subject(const mtls_config *cfg)
{
    return cfg && cfg->chain_len ? x509_cert_subject(cfg->chain[0]) : NULL;
}

int64_t mtls_config_cert_not_after(const mtls_config *cfg)
{
    return cfg && cfg->chain_len ? x509_cert_not_after(cfg->chain[0]) : 0;
}

const char *mtls_config_cert_serial(const mtls_config *cfg)
{
    if (!cfg || !cfg->chain_len)
        return NULL;
    mtls_cert_info info = MTLS_CERT_INFO_INIT;
    x509_cert_info(cfg->chain[0], &info);
    return info.serial_hex; /* the certificate's own string: it lives as long as the config */
}

/* ---- SPIFFE acceptance ----------------------------------------------------------------------- */

/* Add a copy of s (already validated) to one list, unless it is there. */
static mtls_err spiffe_list_add(mtls_config *cfg, char ***list, size_t *n, const char *s,
                                size_t len)
{
    for (size_t i = 0; i < *n; i++) {
        if (strlen((*list)[i]) == len && memcmp((*list)[i], s, len) == 0)
            return MTLS_OK;
    }
    if (*n >= MTLS_SPIFFE_MAX_ENTRIES)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "at most %d SPIFFE entries per list",
                      MTLS_SPIFFE_MAX_ENTRIES);
    char **grown = mem_realloc(*list, (*n + 1) * sizeof **list);
    if (!grown)
        return detail(cfg, MTLS_ERR_NO_MEMORY, "out of memory");
    *list = grown;
    char *copy = mem_alloc(len + 1);
    if (!copy)
        return detail(cfg, MTLS_ERR_NO_MEMORY, "out of memory");
    memcpy(copy, s, len);
    copy[len] = 0;
    (*list)[(*n)++] = copy;
    return MTLS_OK;
}

mtls_err mtls_config_add_spiffe_id(mtls_config *cfg, const char *id)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!id)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no SPIFFE ID given (NULL)");
    size_t len = strlen(id);
    const char *why = x509_spiffe_id_problem((const uint8_t *)id, len, true);
    if (why) {
        bool td_only = x509_spiffe_id_problem((const uint8_t *)id, len, false) == NULL;
        return detail(cfg, MTLS_ERR_INVALID_ARG, "'%.200s%s' is not a SPIFFE ID: it %s%s", id,
                      len > 200 ? "..." : "", why,
                      td_only ? "; to accept a whole trust domain use "
                                "mtls_config_add_spiffe_trust_domain"
                              : "");
    }
    return spiffe_list_add(cfg, &cfg->spiffe_ids, &cfg->n_spiffe_ids, id, len);
}

mtls_err mtls_config_add_spiffe_trust_domain(mtls_config *cfg, const char *td)
{
    mtls_err err = check_mutable(cfg);
    if (err)
        return err;
    if (!td)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "no SPIFFE trust domain given (NULL)");
    const char *name = strncmp(td, "spiffe://", 9) == 0 ? td + 9 : td;
    size_t len = strlen(name);
    if (memchr(name, '/', len))
        return detail(cfg, MTLS_ERR_INVALID_ARG,
                      "'%.200s' is not a trust domain: it has a path; give the trust domain alone "
                      "(example.org), or accept the ID with mtls_config_add_spiffe_id",
                      td);
    const char *why = x509_spiffe_td_problem((const uint8_t *)name, len);
    if (why)
        return detail(cfg, MTLS_ERR_INVALID_ARG, "'%.200s' is not a SPIFFE trust domain: it %s", td,
                      why);
    return spiffe_list_add(cfg, &cfg->spiffe_domains, &cfg->n_spiffe_domains, name, len);
}
