/*
 * verify.c -- certification path building and validation (RFC 5280 section 6, RFC 4158 ideas).
 *
 * Building is a depth-first search from the leaf: the candidates for a certificate's issuer are
 * the trust anchors with that subject, then the other certificates the peer sent with that
 * subject (any order, extras ignored, a peer-sent copy of an anchor skipped since the anchor
 * itself is a candidate).  An edge child -> issuer is accepted only when everything that depends
 * on the issuer holds: the child's signature algorithm is not broken, the signature verifies
 * with the issuer's key (the child's TBS is hashed once however many candidates are tried), the
 * issuer is a CA allowed to sign certificates, its pathLenConstraint holds, its key is strong
 * enough, it is within its validity period, and (for a non-anchor) its extendedKeyUsage admits
 * the purpose.  A failed edge does not end the search -- another candidate may succeed (cross
 * signatures, renewed intermediates) -- but the work is bounded (MAX_ATTEMPTS edges, max_depth).
 * When no path exists, the most specific failure seen is reported; "unknown CA" only when
 * nothing more specific happened.
 *
 * A complete path is accepted only when the revocation checks the parameters ask for pass (CRLs
 * for the leaf or every certificate but the anchor, a stapled OCSP response for the leaf; crl.c,
 * ocsp.c); otherwise the search goes on.  Once a path is found the leaf is checked: validity, key
 * strength, keyUsage, extendedKeyUsage, name constraints of every CA above it (dNSName,
 * iPAddress, and the host of URI names), and the host name -- or, when the application accepts
 * peers by SPIFFE ID, that the leaf is an X.509-SVID with an accepted ID (spiffe.c) instead of the
 * host name.
 *
 * Invariants: nothing here allocates; `detail` always holds a complete sentence naming the
 * certificate when an error is returned, and "" on success.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "x509_int.h"

#define HARD_MAX_DEPTH X509_MAX_PATH
#define DEFAULT_MAX_DEPTH 10
#define MAX_ATTEMPTS 100
#define MAX_PEER_CERTS 64
#define MIN_RSA_BITS 2048

typedef struct {
    const x509_store *anchors;
    x509_cert *const *chain;
    size_t n;
    const x509_verify_params *p;
    unsigned max_depth;
    const x509_cert *path[HARD_MAX_DEPTH];
    bool path_anchor; /* path[len-1] is a trust anchor */
    size_t len;
    bool used[MAX_PEER_CERTS];
    unsigned attempts;
    mtls_err err; /* most specific failure so far */
    char *detail;
    size_t detail_cap;
} vctx;

/* ---- messages ------------------------------------------------------------------------------ */

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void x509_format_time(int64_t t, char *buf, size_t cap)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02u-%02u %02u:%02u:%02u UTC", (long long)y, m, d,
             (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

void x509_describe(const x509_cert *c, char *buf, size_t cap)
{
    /* RFC 5280 4.1.2.6 lets the subject be empty when a critical subjectAltName names the
     * subject (X.509-SVIDs often do): then that first name says who it is. */
    const char *s = c->subject_str[0] ? c->subject_str : "(empty subject)";
    const char *alt = !c->subject_str[0] && c->san_count ? c->san_strs[0] : NULL;
    if (c->self_issued)
        snprintf(buf, cap, "%s%s%s (self-issued)", s, alt ? " " : "", alt ? alt : "");
    else
        snprintf(buf, cap, "%s%s%s (issued by %s)", s, alt ? " " : "", alt ? alt : "",
                 c->issuer_str);
}

/* Would fail() record `err`: is no more specific failure recorded yet (anything beats
 * UNKNOWN_CA)? */
static bool recorded(const vctx *v, mtls_err err)
{
    return v->err == MTLS_OK || (v->err == MTLS_ERR_CERT_UNKNOWN_CA && err != v->err);
}

/* Record a failure unless a more specific one is already recorded (anything beats UNKNOWN_CA). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
fail(vctx *v, mtls_err err, const char *fmt, ...)
{
    if (!recorded(v, err))
        return;
    v->err = err;
    if (v->detail && v->detail_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->detail, v->detail_cap, fmt, ap);
        va_end(ap);
    }
}

static const char *purpose_name(x509_purpose p)
{
    return p == X509_PURPOSE_CLIENT ? "TLS client authentication (clientAuth)"
                                    : "TLS server authentication (serverAuth)";
}

static void eku_list(const x509_cert *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s", (c->eku & X509_EKU_SERVER) ? "serverAuth " : "",
             (c->eku & X509_EKU_CLIENT) ? "clientAuth " : "", (c->eku & X509_EKU_ANY) ? "any " : "",
             (c->eku & (X509_EKU_SERVER | X509_EKU_CLIENT | X509_EKU_ANY)) ? "" : "other purposes");
    size_t n = strlen(buf);
    if (n && buf[n - 1] == ' ')
        buf[n - 1] = 0;
}

/* ---- per-certificate checks ---------------------------------------------------------------- */

static bool check_time(vctx *v, const x509_cert *c)
{
    char who[600], when[40];
    /* RFC 5280 6.1.3 (a)(2): "The certificate validity period includes the current time." */
    if (v->p->now < c->not_before) {
        x509_describe(c, who, sizeof who);
        x509_format_time(c->not_before, when, sizeof when);
        fail(v, MTLS_ERR_CERT_NOT_YET_VALID, "certificate %s is not valid before %s", who, when);
        return false;
    }
    if (v->p->now > c->not_after) {
        x509_describe(c, who, sizeof who);
        x509_format_time(c->not_after, when, sizeof when);
        fail(v, MTLS_ERR_CERT_EXPIRED, "certificate %s expired at %s", who, when);
        return false;
    }
    return true;
}

static bool check_key_strength(vctx *v, const x509_cert *c)
{
    if (c->key_type == CRY_KEY_RSA && c->key_bits < MIN_RSA_BITS) {
        char who[600];
        x509_describe(c, who, sizeof who);
        fail(v, MTLS_ERR_CERT_WEAK_KEY,
             "certificate %s has a %u-bit RSA key (at least %u bits required)", who, c->key_bits,
             MIN_RSA_BITS);
        return false;
    }
    return true;
}

static bool eku_allows(const x509_cert *c, x509_purpose p)
{
    unsigned want = p == X509_PURPOSE_CLIENT ? X509_EKU_CLIENT : X509_EKU_SERVER;
    return !c->has_eku || (c->eku & (want | X509_EKU_ANY));
}

static bool is_anchor(const vctx *v, const x509_cert *c)
{
    size_t it = 0;
    const x509_cert *a;
    while ((a = x509_store_next_by_subject(v->anchors, c->subject_der, c->subject_len, &it))) {
        if (a->spki_len == c->spki_len && memcmp(a->spki, c->spki, c->spki_len) == 0)
            return true;
    }
    return false;
}

bool x509_signature_ok(const x509_sigalg *alg, const x509_cert *signer, const uint8_t *digest,
                       size_t digest_len, const uint8_t *sig, size_t sig_len)
{
    bool key_fits = alg->key == CRY_KEY_RSA ? signer->key_type == CRY_KEY_RSA
                                            : (signer->key_type == CRY_KEY_EC_P256 ||
                                               signer->key_type == CRY_KEY_EC_P384);
    return key_fits && alg->scheme != 0 && digest_len > 0 &&
           cry_verify_digest(signer->key, alg->scheme, digest, digest_len, sig, sig_len) == 1;
}

/* The signature on `child` under `issuer`'s key, over the digest of child's TBS. */
static bool signature_ok(const x509_cert *child, const x509_cert *issuer, const uint8_t *digest,
                         size_t digest_len)
{
    return x509_signature_ok(&child->sigalg, issuer, digest, digest_len, child->sig,
                             child->sig_len);
}

/* Non-self-issued intermediates between the leaf and a new issuer at index v->len (RFC 5280
 * 4.2.1.9: "the maximum number of non-self-issued intermediate certificates that may follow
 * this certificate in a valid certification path"). */
static unsigned intermediates_below(const vctx *v)
{
    unsigned k = 0;
    for (size_t i = 1; i < v->len; i++)
        k += !v->path[i]->self_issued;
    return k;
}

/* Everything about the edge child -> issuer.  `digest` is child's TBS hashed with its
 * signature's hash. */
static bool check_edge(vctx *v, const x509_cert *child, const x509_cert *issuer, bool anchor,
                       const uint8_t *digest, size_t digest_len)
{
    char who[600], by[600];
    x509_describe(child, who, sizeof who);
    /* Broken hashes make the signature meaningless, whoever signed. */
    if (child->sigalg.weak) {
        fail(v, MTLS_ERR_CERT_WEAK_SIGNATURE,
             "certificate %s is signed with %s, which uses a broken hash", who, child->sigalg.name);
        return false;
    }
    if (!signature_ok(child, issuer, digest, digest_len)) {
        fail(v, MTLS_ERR_CERT_BAD_SIGNATURE,
             "the signature of certificate %s does not verify with the key of %s", who,
             issuer->subject_str);
        return false;
    }
    x509_describe(issuer, by, sizeof by);
    /* RFC 5280 6.1.4 (k): "verify that the certificate is a CA certificate (as specified in a
     * basicConstraints extension or as verified out-of-band)".  An anchor without the extension
     * (a v1 root) is a CA by configuration; one that says cA FALSE is not. */
    if ((anchor && issuer->has_bc && !issuer->is_ca) || (!anchor && !issuer->is_ca)) {
        fail(v, MTLS_ERR_CERT_NOT_CA,
             "certificate %s issued %s but is not a CA (basicConstraints cA is not set)", by,
             child->subject_str);
        return false;
    }
    /* RFC 5280 6.1.4 (n): "If a key usage extension is present, verify that the keyCertSign bit
     * is set." */
    if (issuer->has_ku && !(issuer->ku & X509_KU_KEY_CERT_SIGN)) {
        fail(v, MTLS_ERR_CERT_KEY_USAGE,
             "certificate %s issued %s but its keyUsage does not allow keyCertSign", by,
             child->subject_str);
        return false;
    }
    unsigned below = intermediates_below(v);
    if (issuer->path_len >= 0 && below > (unsigned)issuer->path_len) {
        fail(v, MTLS_ERR_CERT_PATH_LEN,
             "certificate %s allows %d intermediate CA(s) below it (pathLenConstraint) but the "
             "chain to %s has %u",
             by, issuer->path_len, v->path[0]->subject_str, below);
        return false;
    }
    if (!check_key_strength(v, issuer) || !check_time(v, issuer))
        return false;
    /* An intermediate restricted to other purposes cannot vouch for this one (the EKU nesting
     * CA/Browser Forum and OpenSSL apply; anchors are trusted for what the store says). */
    if (!anchor && !eku_allows(issuer, v->p->purpose)) {
        char ekus[80];
        eku_list(issuer, ekus, sizeof ekus);
        fail(v, MTLS_ERR_CERT_EKU,
             "intermediate certificate %s is not valid for %s (extendedKeyUsage: %s)", by,
             purpose_name(v->p->purpose), ekus);
        return false;
    }
    return true;
}

/* RFC 4158 2.4.2: a path never holds the same certificate twice -- also when the peer sent two
 * copies of it, which is why the comparison is on the encoding, not the pointer. */
static bool on_path(const vctx *v, const x509_cert *c)
{
    for (size_t i = 0; i < v->len; i++) {
        if (v->path[i] == c || (v->path[i]->der_len == c->der_len &&
                                memcmp(v->path[i]->der, c->der, c->der_len) == 0))
            return true;
    }
    return false;
}

/* ---- revocation ---------------------------------------------------------------------------- */

/* A revocation verdict that fails the path, with its sentence; kept for the caller too. */
static void fail_revocation(vctx *v, const x509_revocation *r, const x509_cert *c)
{
    char text[1600];
    mtls_err err = x509_revocation_err(r);
    if (!recorded(v, err))
        return;
    x509_revocation_describe(r, c, text, sizeof text);
    fail(v, err, "%s", text);
    if (v->p->revocation)
        *v->p->revocation = *r;
}

/* The revocation checks the parameters ask for, on the complete path path[0..len-1] (the last
 * one a trust anchor, which is never checked). */
static bool revocation_ok(vctx *v)
{
    const x509_verify_params *p = v->p;
    const x509_cert *leaf = v->path[0];
    x509_revocation r;
    bool leaf_answered = false;
    if (!p->crls && !p->ocsp && !p->ocsp_required)
        return true;
    if (p->ocsp) {
        /* RFC 6066 8: "Clients requesting an OCSP response and receiving an OCSP response ...
         * MUST check the OCSP response and abort the handshake if the response is not
         * satisfactory". */
        if (x509_ocsp_check(p->ocsp, leaf, v->path[1], p->now, &r) != MTLS_OK) {
            fail_revocation(v, &r, leaf);
            return false;
        }
        leaf_answered = true;
        if (p->revocation)
            *p->revocation = r;
    } else if (p->ocsp_required) {
        char who[600], serial[48];
        size_t k = (size_t)snprintf(serial, sizeof serial, "0x");
        for (size_t i = 0; i < leaf->serial_len && k + 3 <= sizeof serial; i++)
            k += (size_t)snprintf(serial + k, sizeof serial - k, "%02X", leaf->serial[i]);
        x509_describe(leaf, who, sizeof who);
        /* RFC 7633 (TLS client behaviour, in substance): a certificate whose TLS feature
         * extension lists a feature the client offered (status_request) is invalid when the
         * server does not provide that feature.  The caller decides when a response is required
         * (configured, or offered and must-staple). */
        fail(v, MTLS_ERR_OCSP_MISSING,
             "no OCSP response was provided for certificate %s, serial %s, and one is required "
             "(%s)",
             who, serial,
             x509_cert_must_staple(leaf) ? "its TLS feature extension lists status_request: "
                                           "must-staple, RFC 7633"
                                         : "by configuration");
        return false;
    }
    if (!p->crls)
        return true;
    size_t upto = p->crl_scope == X509_CRL_CHAIN ? v->len - 1 : 1;
    for (size_t i = 0; i < upto; i++) {
        mtls_err err = x509_crls_check(p->crls, v->path[i], v->path[i + 1], p->now, &r);
        if (err == MTLS_OK) {
            if (i == 0 && !leaf_answered && p->revocation)
                *p->revocation = r;
            continue;
        }
        /* A good OCSP response answers for the leaf; only a revocation its CRL lists still
         * counts (the CRL may be newer than the response). */
        if (i == 0 && leaf_answered && err != MTLS_ERR_CERT_REVOKED)
            continue;
        if (err == MTLS_ERR_CRL_MISSING && p->crl_soft_fail)
            continue;
        fail_revocation(v, &r, v->path[i]);
        return false;
    }
    return true;
}

/* Extend the path above path[len-1]; true when it reaches an anchor. */
static bool build(vctx *v)
{
    const x509_cert *child = v->path[v->len - 1];
    uint8_t digest[CRY_MAX_HASH];
    size_t digest_len = 0;
    bool any = false;
    char who[600];

    if (child->sigalg.scheme != 0 && !child->sigalg.weak) {
        size_t dl = cry_hash_len(child->sigalg.hash);
        if (cry_hash_oneshot(child->sigalg.hash, child->tbs, child->tbs_len, digest) == 1)
            digest_len = dl;
    }

    /* Pass 0: trust anchors named as the issuer.  Pass 1: certificates the peer sent. */
    for (int pass = 0; pass < 2; pass++) {
        size_t it = 0, i = 0;
        for (;;) {
            const x509_cert *cand;
            if (pass == 0) {
                cand = x509_store_next_by_subject(v->anchors, child->issuer_der, child->issuer_len,
                                                  &it);
                if (!cand)
                    break;
            } else {
                if (++i >= v->n)
                    break;
                cand = v->chain[i];
                if (v->used[i] || cand->subject_len != child->issuer_len ||
                    memcmp(cand->subject_der, child->issuer_der, child->issuer_len) != 0 ||
                    on_path(v, cand) || is_anchor(v, cand))
                    continue;
            }
            any = true;
            if (v->len >= v->max_depth) {
                x509_describe(v->path[0], who, sizeof who);
                fail(
                    v, MTLS_ERR_CERT_CHAIN_TOO_LONG,
                    "the chain from certificate %s to a trusted CA needs more than %u certificates",
                    who, v->max_depth);
                return false;
            }
            if (++v->attempts > MAX_ATTEMPTS) {
                x509_describe(v->path[0], who, sizeof who);
                fail(v, MTLS_ERR_CERT_UNKNOWN_CA,
                     "gave up building a chain for certificate %s after %u attempts", who,
                     MAX_ATTEMPTS);
                return false;
            }
            if (!check_edge(v, child, cand, pass == 0, digest, digest_len))
                continue;
            v->path[v->len++] = cand;
            if (pass == 0) {
                /* A complete path; it stands only when its certificates are not revoked
                 * (another path may avoid a revoked or unverifiable intermediate). */
                if (revocation_ok(v)) {
                    v->path_anchor = true;
                    return true;
                }
                v->len--;
                continue;
            }
            v->used[i] = true;
            if (build(v))
                return true;
            v->used[i] = false;
            v->len--;
            if (v->attempts > MAX_ATTEMPTS)
                return false;
        }
    }
    if (!any) {
        x509_describe(child, who, sizeof who);
        if (child->self_issued && v->len == 1) {
            fail(v, MTLS_ERR_CERT_SELF_SIGNED,
                 "certificate %s is self-signed and not in the trust store", child->subject_str);
        } else if (child->self_issued) {
            fail(v, MTLS_ERR_CERT_UNKNOWN_CA,
                 "the chain of certificate %s ends at %s, a self-signed certificate that is not "
                 "in the trust store",
                 v->path[0]->subject_str, child->subject_str);
        } else if (v->len > 1) {
            fail(v, MTLS_ERR_CERT_UNKNOWN_CA,
                 "the chain of certificate %s ends at %s, issued by %s, which is neither in the "
                 "trust store nor sent by the peer",
                 v->path[0]->subject_str, child->subject_str, child->issuer_str);
        } else {
            fail(v, MTLS_ERR_CERT_UNKNOWN_CA,
                 "certificate %s was issued by %s, which is neither in the trust store nor sent "
                 "by the peer",
                 child->subject_str, child->issuer_str);
        }
    }
    return false;
}

/* ---- name constraints (RFC 5280 4.2.1.10), dNSName and iPAddress forms (URIs below) -------- */

static bool ip_in(const uint8_t *ip, size_t n, const x509_gname *g)
{
    if (g->len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((ip[i] & g->p[n + i]) != (g->p[i] & g->p[n + i]))
            return false;
    }
    return true;
}

/* Does the name (type 2 DNS or 7 IP) satisfy the constraints of `ca`?  On a refusal *hit is the
 * excluded subtree the name falls in, or NULL when no permitted subtree of its type holds it.
 * A DNS wildcard stands for every name it can match (host.c). */
static bool name_allowed(const x509_cert *ca, uint8_t type, const uint8_t *p, size_t n,
                         const x509_gname **hit)
{
    bool has_permitted_of_type = false, permitted = false;
    *hit = NULL;
    /* RFC 5280 4.2.1.10: "Any name matching a restriction in the excludedSubtrees field is
     * invalid regardless of information appearing in the permittedSubtrees." */
    for (size_t i = 0; i < ca->nc_excluded_n; i++) {
        const x509_gname *g = &ca->nc_excluded[i];
        if (g->type == type &&
            (type == 2 ? x509_dns_excluded_by(p, n, g->p, g->len) : ip_in(p, n, g))) {
            *hit = g;
            return false;
        }
    }
    for (size_t i = 0; i < ca->nc_permitted_n; i++) {
        const x509_gname *g = &ca->nc_permitted[i];
        if (g->type != type)
            continue;
        has_permitted_of_type = true;
        if (type == 2 ? x509_dns_permitted_by(p, n, g->p, g->len) : ip_in(p, n, g))
            permitted = true;
    }
    return !has_permitted_of_type || permitted;
}

/* Name bytes from a certificate for a message: printable ASCII, anything else as '?'. */
static void printable(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        out[k++] = p[i] > 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    out[k] = 0;
}

/* The refusal of a name of certificate `c` by the constraints of `ca`; `san` is its
 * subjectAltName string, NULL for the common name. */
static void fail_constraint(vctx *v, const x509_cert *c, const x509_cert *ca, const char *san,
                            uint8_t type, const uint8_t *name, size_t name_len,
                            const x509_gname *hit)
{
    char who[600], shown[300], base[200];
    bool wildcard = type == 2 && name_len > 2 && name[0] == '*' && name[1] == '.';
    x509_describe(c, who, sizeof who);
    if (san) {
        snprintf(shown, sizeof shown, "the name %s", san);
    } else {
        printable(base, sizeof base, name, name_len);
        snprintf(shown, sizeof shown, "the common name '%s'", base);
    }
    if (!hit) {
        fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
             "certificate %s has %s, %s within the permitted subtrees of %s", who, shown,
             wildcard ? "which can match names that are not" : "which is not", ca->subject_str);
        return;
    }
    if (type == 2) {
        printable(base, sizeof base, hit->p, hit->len);
        fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
             "certificate %s has %s, which %s the subtree '%s' excluded by %s", who, shown,
             wildcard ? "can match a name in" : "is in", base, ca->subject_str);
    } else {
        fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
             "certificate %s has %s, which is in an address range excluded by %s", who, shown,
             ca->subject_str);
    }
}

/* ---- URI name constraints (RFC 5280 4.2.1.10: "For URIs, the constraint applies to the host part
 * of the name"; uri.c) ---------------------------------------------------------------------- */

static bool has_uri_constraints(const x509_cert *ca)
{
    for (size_t i = 0; i < ca->nc_permitted_n; i++) {
        if (ca->nc_permitted[i].type == 6)
            return true;
    }
    for (size_t i = 0; i < ca->nc_excluded_n; i++) {
        if (ca->nc_excluded[i].type == 6)
            return true;
    }
    return false;
}

/* A URI constraint base for a message: printable, and when it is no host name, why it matches
 * nothing ("spiffe://example.org" is how `openssl x509` writes permitted;URI:spiffe://...). */
static void describe_uri_base(char *out, size_t cap, const x509_gname *g)
{
    char base[200];
    printable(base, sizeof base, g->p, g->len);
    if (x509_uri_constraint_valid(g->p, g->len)) {
        snprintf(out, cap, "'%s'", base);
        return;
    }
    snprintf(out, cap,
             "'%s', which is not a host name (RFC 5280 4.2.1.10 constrains the host of a URI: "
             "write 'example.org' for exactly that host, '.example.org' for the hosts below it)",
             base);
}

/* The URI SAN `g` (string `san`) of certificate c under the URI constraints of ca. */
static bool uri_allowed(vctx *v, const x509_cert *c, const x509_cert *ca, const x509_gname *g,
                        const char *san)
{
    const uint8_t *host;
    size_t host_len;
    char who[600], base[400];
    bool has_permitted = false, permitted = false;
    const x509_gname *bad_base = NULL;
    if (!x509_uri_host(g->p, g->len, &host, &host_len)) {
        /* RFC 5280 4.2.1.10: a URI that "does not include an authority component with a host name
         * specified as a fully qualified domain name ... the application MUST reject the
         * certificate." */
        x509_describe(c, who, sizeof who);
        fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
             "certificate %s has the name %s, which has no host name to check against the URI "
             "name constraints of %s",
             who, san, ca->subject_str);
        return false;
    }
    /* "Any name matching a restriction in the excludedSubtrees field is invalid regardless of
     * information appearing in the permittedSubtrees."  An excluded base that names no host
     * excludes every URI: we cannot tell what its issuer meant to keep out. */
    for (size_t i = 0; i < ca->nc_excluded_n; i++) {
        const x509_gname *e = &ca->nc_excluded[i];
        if (e->type != 6)
            continue;
        bool valid = x509_uri_constraint_valid(e->p, e->len);
        if (!valid || x509_uri_host_in_subtree(host, host_len, e->p, e->len)) {
            x509_describe(c, who, sizeof who);
            describe_uri_base(base, sizeof base, e);
            if (valid)
                fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
                     "certificate %s has the name %s, which is in the URI subtree %s excluded by "
                     "%s",
                     who, san, base, ca->subject_str);
            else
                fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
                     "certificate %s has the name %s, and %s excludes the URI subtree %s: no URI "
                     "name passes an excluded constraint that names no host",
                     who, san, ca->subject_str, base);
            return false;
        }
    }
    for (size_t i = 0; i < ca->nc_permitted_n; i++) {
        const x509_gname *p = &ca->nc_permitted[i];
        if (p->type != 6)
            continue;
        has_permitted = true;
        if (!x509_uri_constraint_valid(p->p, p->len)) {
            bad_base = bad_base ? bad_base : p;
            continue;
        }
        if (x509_uri_host_in_subtree(host, host_len, p->p, p->len))
            permitted = true;
    }
    if (has_permitted && !permitted) {
        x509_describe(c, who, sizeof who);
        base[0] = 0;
        if (bad_base)
            describe_uri_base(base, sizeof base, bad_base);
        fail(v, MTLS_ERR_CERT_NAME_CONSTRAINTS,
             "certificate %s has the name %s, whose host is not within the permitted URI subtrees "
             "of %s%s%s",
             who, san, ca->subject_str, bad_base ? "; its URI constraint " : "", base);
        return false;
    }
    return true;
}

static bool check_name_constraints(vctx *v)
{
    for (size_t k = 1; k < v->len; k++) {
        const x509_cert *ca = v->path[k];
        if (!ca->has_nc)
            continue;
        for (size_t j = 0; j < k; j++) {
            const x509_cert *c = v->path[j];
            const x509_gname *hit;
            /* RFC 5280 6.1.3 (b): constraints apply "unless the certificate is self-issued and
             * is not the final certificate in the path". */
            if (j > 0 && c->self_issued)
                continue;
            bool uri_nc = has_uri_constraints(ca);
            for (size_t s = 0; s < c->san_count; s++) {
                const x509_gname *g = &c->sans[s];
                if (g->type == 6 && uri_nc && !uri_allowed(v, c, ca, g, c->san_strs[s]))
                    return false;
                if ((g->type == 2 || g->type == 7) &&
                    !name_allowed(ca, g->type, g->p, g->len, &hit)) {
                    fail_constraint(v, c, ca, c->san_strs[s], g->type, g->p, g->len, hit);
                    return false;
                }
            }
            /* Without SANs the CN is what a client matches, so it is constrained too. */
            const uint8_t *cn;
            size_t cn_len;
            if (!c->has_san && j == 0 &&
                x509_name_last_cn(c->subject_der, c->subject_len, &cn, &cn_len) &&
                !name_allowed(ca, 2, cn, cn_len, &hit)) {
                fail_constraint(v, c, ca, NULL, 2, cn, cn_len, hit);
                return false;
            }
        }
    }
    return true;
}

/* ---- the leaf ------------------------------------------------------------------------------ */

static bool spiffe_wanted(const x509_verify_params *p)
{
    return p->n_spiffe_ids > 0 || p->n_spiffe_domains > 0;
}

/* The application accepts peers by SPIFFE ID: the leaf must be an X.509-SVID with one of them.
 * This replaces the host-name check (the ID is the identity asked for). */
static bool check_spiffe(vctx *v, const char *who)
{
    const x509_verify_params *p = v->p;
    const char *id;
    char why[500], accepted[400];
    if (x509_spiffe_svid(v->path[0], &id, why, sizeof why) != MTLS_OK) {
        fail(v, MTLS_ERR_CERT_SPIFFE_ID, "certificate %s %s", who, why);
        return false;
    }
    if (x509_spiffe_accepts(p, id))
        return true;
    /* Name what is accepted, as much as fits. */
    size_t k = 0;
    accepted[0] = 0;
    for (size_t i = 0; i < p->n_spiffe_ids + p->n_spiffe_domains; i++) {
        bool is_id = i < p->n_spiffe_ids;
        const char *e = is_id ? p->spiffe_ids[i] : p->spiffe_domains[i - p->n_spiffe_ids];
        int w = snprintf(accepted + k, sizeof accepted - k, "%s%s%s", i ? ", " : "",
                         is_id ? "" : "trust domain ", e);
        if (w < 0 || (size_t)w >= sizeof accepted - k) {
            snprintf(accepted + k, sizeof accepted - k, ", ...");
            break;
        }
        k += (size_t)w;
    }
    fail(v, MTLS_ERR_CERT_SPIFFE_DENIED,
         "certificate %s has the SPIFFE ID %s, which is not accepted (accepted: %s)", who, id,
         accepted);
    return false;
}

static bool check_leaf(vctx *v)
{
    const x509_cert *leaf = v->path[0];
    char who[600];
    x509_describe(leaf, who, sizeof who);
    if (!check_time(v, leaf) || !check_key_strength(v, leaf))
        return false;
    /* RFC 5246 7.4.2 / RFC 5280 4.2.1.3: the key signs handshake messages (digitalSignature) or,
     * for RSA key transport, encrypts the premaster secret (keyEncipherment). */
    if (leaf->has_ku) {
        unsigned want = X509_KU_DIGITAL_SIGNATURE;
        if (leaf->key_type == CRY_KEY_RSA)
            want |= X509_KU_KEY_ENCIPHERMENT;
        if (!(leaf->ku & want)) {
            fail(v, MTLS_ERR_CERT_KEY_USAGE,
                 "certificate %s has a keyUsage that allows neither digitalSignature%s", who,
                 leaf->key_type == CRY_KEY_RSA ? " nor keyEncipherment" : "");
            return false;
        }
    }
    if (!eku_allows(leaf, v->p->purpose)) {
        char ekus[80];
        eku_list(leaf, ekus, sizeof ekus);
        fail(v, MTLS_ERR_CERT_EKU, "certificate %s is not valid for %s (extendedKeyUsage: %s)", who,
             purpose_name(v->p->purpose), ekus);
        return false;
    }
    if (!check_name_constraints(v))
        return false;
    if (spiffe_wanted(v->p))
        return check_spiffe(v, who);
    if (v->p->host && !x509_host_matches(leaf, v->p->host)) {
        char names[1024];
        size_t k = 0;
        names[0] = 0;
        if (!leaf->has_san) {
            const uint8_t *cn;
            size_t cn_len;
            if (x509_name_last_cn(leaf->subject_der, leaf->subject_len, &cn, &cn_len))
                snprintf(names, sizeof names, "no subjectAltName; common name '%.*s'",
                         (int)(cn_len > 200 ? 200 : cn_len), (const char *)cn);
            else
                snprintf(names, sizeof names, "no subjectAltName and no common name");
        }
        for (size_t i = 0; i < leaf->san_count && k + 4 < sizeof names; i++) {
            int w = snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", leaf->san_strs[i]);
            if (w < 0 || (size_t)w >= sizeof names - k) {
                snprintf(names + k, sizeof names - k, ", ...");
                break;
            }
            k += (size_t)w;
        }
        if (leaf->has_san && leaf->san_count == 0)
            snprintf(names, sizeof names, "no DNS or IP names");
        fail(v, MTLS_ERR_CERT_HOSTNAME, "certificate for %s does not match host '%s' (names: %s)",
             leaf->subject_str, v->p->host, names);
        return false;
    }
    return true;
}

mtls_err x509_verify_chain(const x509_store *anchors, x509_cert *const *chain, size_t n,
                           const x509_verify_params *p, char *detail, size_t detail_cap)
{
    vctx v;
    memset(&v, 0, sizeof v);
    v.detail = detail;
    v.detail_cap = detail_cap;
    if (detail && detail_cap)
        detail[0] = 0;
    if (!anchors || !chain || n == 0 || !chain[0] || !p)
        return MTLS_ERR_INVALID_ARG;
    v.anchors = anchors;
    v.chain = chain;
    v.p = p;
    v.n = n;
    v.max_depth = p->max_depth ? p->max_depth : DEFAULT_MAX_DEPTH;
    if (v.max_depth > HARD_MAX_DEPTH)
        v.max_depth = HARD_MAX_DEPTH;
    if (n > MAX_PEER_CERTS) {
        fail(&v, MTLS_ERR_CERT_CHAIN_TOO_LONG,
             "the peer sent %zu certificates (at most %u are accepted) for %s", n, MAX_PEER_CERTS,
             chain[0]->subject_str);
        return v.err;
    }
    for (size_t i = 1; i < n; i++) {
        if (!chain[i])
            return MTLS_ERR_INVALID_ARG;
    }
    if (p->revocation) {
        memset(p->revocation, 0, sizeof *p->revocation);
        p->revocation->status = X509_REVOC_NO_INFO;
        p->revocation->reason = X509_REASON_NONE;
    }
    v.path[0] = chain[0];
    v.len = 1;
    v.used[0] = true;
    /* A leaf that is itself trusted (same subject and key as an anchor) needs no path. */
    bool ok = is_anchor(&v, chain[0]) || build(&v);
    if (ok) {
        /* Failures of abandoned alternatives no longer matter. */
        v.err = MTLS_OK;
        ok = check_leaf(&v);
    }
    if (ok) {
        if (detail && detail_cap)
            detail[0] = 0;
        if (p->path && p->path_len) {
            memcpy(p->path, v.path, v.len * sizeof(v.path[0]));
            *p->path_len = v.len;
        }
        return MTLS_OK;
    }
    if (v.err == MTLS_OK) /* cannot happen; be explicit rather than accept */
        fail(&v, MTLS_ERR_CERT_UNKNOWN_CA, "no trusted chain for certificate %s",
             chain[0]->subject_str);
    return v.err;
}
