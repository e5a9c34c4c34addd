/*
 * cert.c -- the X.509 v3 certificate parser (RFC 5280 section 4) and the certificate getters.
 *
 * A certificate is parsed completely and strictly before anyone sees it: DER only (der.c), the
 * fields in RFC order, the TBS signature algorithm identical to the outer one, versions and
 * optional fields only where the version allows them, every extension fully consumed by its own
 * parser, no extension twice, and an unknown critical extension refused.  The public key is
 * imported into the crypto layer here, once, so that verification never re-parses.
 *
 * Invariants: a returned x509_cert has every field set and consistent; all views point into
 * c->der; parse errors are MTLS_ERR_CERT_PARSE, well-formed things we choose not to support
 * (key types, curves, signature algorithms, critical extensions) MTLS_ERR_CERT_UNSUPPORTED.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base.h"
#include "x509_int.h"

/* ---- object identifiers (DER bodies) ------------------------------------------------------- */

#define PKCS1 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01
static const uint8_t oid_rsa[] = {PKCS1, 0x01};
static const uint8_t oid_md5_rsa[] = {PKCS1, 0x04};
static const uint8_t oid_sha1_rsa[] = {PKCS1, 0x05};
static const uint8_t oid_mgf1[] = {PKCS1, 0x08};
static const uint8_t oid_rsassa_pss[] = {PKCS1, 0x0a};
static const uint8_t oid_sha256_rsa[] = {PKCS1, 0x0b};
static const uint8_t oid_sha384_rsa[] = {PKCS1, 0x0c};
static const uint8_t oid_sha512_rsa[] = {PKCS1, 0x0d};
#define X962 0x2a, 0x86, 0x48, 0xce, 0x3d
static const uint8_t oid_ec_public_key[] = {X962, 0x02, 0x01};
static const uint8_t oid_prime256v1[] = {X962, 0x03, 0x01, 0x07};
static const uint8_t oid_secp384r1[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_ecdsa_sha1[] = {X962, 0x04, 0x01};
static const uint8_t oid_ecdsa_sha256[] = {X962, 0x04, 0x03, 0x02};
static const uint8_t oid_ecdsa_sha384[] = {X962, 0x04, 0x03, 0x03};
static const uint8_t oid_ecdsa_sha512[] = {X962, 0x04, 0x03, 0x04};
#define NIST_HASH 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02
static const uint8_t oid_sha256[] = {NIST_HASH, 0x01};
static const uint8_t oid_sha384[] = {NIST_HASH, 0x02};
static const uint8_t oid_sha512[] = {NIST_HASH, 0x03};

static const uint8_t oid_ext_skid[] = {0x55, 0x1d, 0x0e};
static const uint8_t oid_ext_ku[] = {0x55, 0x1d, 0x0f};
static const uint8_t oid_ext_san[] = {0x55, 0x1d, 0x11};
static const uint8_t oid_ext_bc[] = {0x55, 0x1d, 0x13};
static const uint8_t oid_ext_nc[] = {0x55, 0x1d, 0x1e};
static const uint8_t oid_ext_policies[] = {0x55, 0x1d, 0x20};
static const uint8_t oid_any_policy[] = {0x55, 0x1d, 0x20, 0x00};
static const uint8_t oid_ext_akid[] = {0x55, 0x1d, 0x23};
static const uint8_t oid_ext_eku[] = {0x55, 0x1d, 0x25};
static const uint8_t oid_any_eku[] = {0x55, 0x1d, 0x25, 0x00};
static const uint8_t oid_kp_server[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
static const uint8_t oid_kp_client[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
static const uint8_t oid_kp_ocsp_signing[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09};
static const uint8_t oid_ext_crldp[] = {0x55, 0x1d, 0x1f};
static const uint8_t oid_ext_tls_feature[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x18};

#define OID_EQ(o, want) x509_oid_eq((o), (want), sizeof(want))

/* A certificate has a handful of extensions; more than this is not a certificate we accept. */
#define MAX_EXTENSIONS 64
/* RSA moduli above this are refused: verifying them costs more than any honest chain needs. */
#define MAX_RSA_BITS 8192

/* ---- algorithm identifiers ----------------------------------------------------------------- */

/* parameters of an AlgorithmIdentifier: absent, or NULL when `null_ok`. */
static bool params_empty(rd *alg, bool null_ok)
{
    if (rd_done(alg))
        return true;
    rd nul;
    return null_ok && x509_der_expect(alg, DER_NULL, &nul) && nul.n == 0 && rd_done(alg);
}

/* A hash AlgorithmIdentifier inside RSASSA-PSS-params: SHA-256/384/512 only. */
static bool pss_hash(rd *r, cry_hash_alg *h)
{
    rd alg, oid;
    if (!x509_der_expect(r, DER_SEQUENCE, &alg) || !x509_der_oid(&alg, &oid) ||
        !params_empty(&alg, true))
        return false;
    if (OID_EQ(&oid, oid_sha256))
        *h = CRY_SHA256;
    else if (OID_EQ(&oid, oid_sha384))
        *h = CRY_SHA384;
    else if (OID_EQ(&oid, oid_sha512))
        *h = CRY_SHA512;
    else
        return false;
    return true;
}

/* RFC 4055 3.1 RSASSA-PSS-params, limited to what TLS's rsa_pss_rsae_* schemes verify: the same
 * SHA-2 hash for the message and MGF1, salt as long as the hash, trailer 1 (absent in DER). */
static mtls_err parse_pss_params(rd *alg, x509_sigalg *s)
{
    rd params, f, mgf, mgf_oid;
    cry_hash_alg h, mh;
    uint32_t salt;
    if (!x509_der_expect(alg, DER_SEQUENCE, &params) || !rd_done(alg))
        return MTLS_ERR_CERT_PARSE;
    if (!x509_der_expect(&params, der_ctx_cons(0), &f) || !pss_hash(&f, &h) || !rd_done(&f))
        return MTLS_ERR_CERT_UNSUPPORTED; /* SHA-1 default or an unknown hash */
    if (!x509_der_expect(&params, der_ctx_cons(1), &f) ||
        !x509_der_expect(&f, DER_SEQUENCE, &mgf) || !rd_done(&f) || !x509_der_oid(&mgf, &mgf_oid) ||
        !OID_EQ(&mgf_oid, oid_mgf1) || !pss_hash(&mgf, &mh) || !rd_done(&mgf) || mh != h)
        return MTLS_ERR_CERT_UNSUPPORTED;
    if (!x509_der_expect(&params, der_ctx_cons(2), &f) || !x509_der_uint(&f, &salt) ||
        !rd_done(&f) || salt != cry_hash_len(h))
        return MTLS_ERR_CERT_UNSUPPORTED;
    if (!rd_done(&params))
        return MTLS_ERR_CERT_UNSUPPORTED; /* trailerField other than the default */
    s->hash = h;
    s->key = CRY_KEY_RSA;
    s->weak = false;
    s->scheme = h == CRY_SHA256 ? 0x0804 : h == CRY_SHA384 ? 0x0805 : 0x0806;
    s->name = h == CRY_SHA256   ? "rsassaPss-sha256"
              : h == CRY_SHA384 ? "rsassaPss-sha384"
                                : "rsassaPss-sha512";
    return MTLS_OK;
}

static const struct {
    const uint8_t *oid;
    size_t len;
    x509_sigalg alg;
} sigalgs[] = {
    {oid_sha256_rsa,
     sizeof oid_sha256_rsa,
     {0x0401, CRY_SHA256, CRY_KEY_RSA, false, "sha256WithRSAEncryption"}},
    {oid_sha384_rsa,
     sizeof oid_sha384_rsa,
     {0x0501, CRY_SHA384, CRY_KEY_RSA, false, "sha384WithRSAEncryption"}},
    {oid_sha512_rsa,
     sizeof oid_sha512_rsa,
     {0x0601, CRY_SHA512, CRY_KEY_RSA, false, "sha512WithRSAEncryption"}},
    {oid_sha1_rsa,
     sizeof oid_sha1_rsa,
     {0x0201, CRY_SHA1, CRY_KEY_RSA, true, "sha1WithRSAEncryption"}},
    {oid_md5_rsa, sizeof oid_md5_rsa, {0, CRY_MD5, CRY_KEY_RSA, true, "md5WithRSAEncryption"}},
    {oid_ecdsa_sha256,
     sizeof oid_ecdsa_sha256,
     {0x0403, CRY_SHA256, CRY_KEY_EC_P256, false, "ecdsa-with-SHA256"}},
    {oid_ecdsa_sha384,
     sizeof oid_ecdsa_sha384,
     {0x0503, CRY_SHA384, CRY_KEY_EC_P256, false, "ecdsa-with-SHA384"}},
    {oid_ecdsa_sha512,
     sizeof oid_ecdsa_sha512,
     {0x0603, CRY_SHA512, CRY_KEY_EC_P256, false, "ecdsa-with-SHA512"}},
    {oid_ecdsa_sha1,
     sizeof oid_ecdsa_sha1,
     {0x0203, CRY_SHA1, CRY_KEY_EC_P256, true, "ecdsa-with-SHA1"}},
};

mtls_err x509_parse_sigalg(rd alg, x509_sigalg *s)
{
    rd oid;
    if (!x509_der_oid(&alg, &oid))
        return MTLS_ERR_CERT_PARSE;
    if (OID_EQ(&oid, oid_rsassa_pss))
        return parse_pss_params(&alg, s);
    for (size_t i = 0; i < sizeof sigalgs / sizeof sigalgs[0]; i++) {
        if (!x509_oid_eq(&oid, sigalgs[i].oid, sigalgs[i].len))
            continue;
        *s = sigalgs[i].alg;
        /* RFC 4055 5 / RFC 3279 2.2.1: the RSA ones carry NULL parameters (absent is seen in the
         * wild and harmless); RFC 5758 3.2: for ECDSA "the encoding MUST omit the parameters
         * field". */
        if (!params_empty(&alg, s->key == CRY_KEY_RSA))
            return MTLS_ERR_CERT_PARSE;
        return MTLS_OK;
    }
    return MTLS_ERR_CERT_UNSUPPORTED;
}

/* ---- SubjectPublicKeyInfo ------------------------------------------------------------------ */

static mtls_err parse_spki(x509_cert *c, rd spki)
{
    rd alg, oid, rsakey, curve;
    const uint8_t *key, *n, *e;
    size_t key_len, n_len, e_len;
    unsigned unused;

    if (!x509_der_expect(&spki, DER_SEQUENCE, &alg) || !x509_der_oid(&alg, &oid) ||
        !x509_der_bitstring(&spki, &key, &key_len, &unused) || unused != 0 || !rd_done(&spki))
        return MTLS_ERR_CERT_PARSE;

    if (OID_EQ(&oid, oid_rsa)) {
        /* RFC 3279 2.3.1: "The parameters field MUST have ASN.1 type NULL for this algorithm
         * identifier"; RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }. */
        rd k = rd_init(key, key_len), nul;
        if (!x509_der_expect(&alg, DER_NULL, &nul) || nul.n != 0 || !rd_done(&alg) ||
            !x509_der_expect(&k, DER_SEQUENCE, &rsakey) || !rd_done(&k) ||
            !x509_der_integer(&rsakey, &n, &n_len) || !x509_der_integer(&rsakey, &e, &e_len) ||
            !rd_done(&rsakey))
            return MTLS_ERR_CERT_PARSE;
        if ((n[0] & 0x80) || (e[0] & 0x80))
            return MTLS_ERR_CERT_PARSE; /* negative */
        if (n[0] == 0) {
            n++;
            n_len--;
        }
        if (n_len * 8 > MAX_RSA_BITS || e_len > 8)
            return MTLS_ERR_CERT_UNSUPPORTED;
        c->key = cry_pkey_rsa_public(n, n_len, e, e_len);
        if (!c->key)
            return MTLS_ERR_CERT_PARSE;
    } else if (OID_EQ(&oid, oid_ec_public_key)) {
        /* RFC 5480 2.1.1: "specifiedCurve ... MUST NOT be used"; namedCurve only. */
        cry_key_type t;
        if (!x509_der_oid(&alg, &curve) || !rd_done(&alg))
            return MTLS_ERR_CERT_UNSUPPORTED;
        if (OID_EQ(&curve, oid_prime256v1))
            t = CRY_KEY_EC_P256;
        else if (OID_EQ(&curve, oid_secp384r1))
            t = CRY_KEY_EC_P384;
        else
            return MTLS_ERR_CERT_UNSUPPORTED;
        size_t want = t == CRY_KEY_EC_P256 ? 65 : 97;
        if (key_len > 0 && (key[0] == 0x02 || key[0] == 0x03))
            return MTLS_ERR_CERT_UNSUPPORTED; /* compressed points */
        if (key_len != want || key[0] != 0x04)
            return MTLS_ERR_CERT_PARSE;
        c->key = cry_pkey_ec_public(t, key, key_len);
        if (!c->key)
            return MTLS_ERR_CERT_PARSE; /* not on the curve */
    } else {
        return MTLS_ERR_CERT_UNSUPPORTED;
    }
    c->key_type = cry_pkey_type(c->key);
    c->key_bits = cry_pkey_bits(c->key);
    return MTLS_OK;
}

/* ---- extensions ---------------------------------------------------------------------------- */

static mtls_err parse_bc(x509_cert *c, rd v)
{
    /* BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE,
     *                                 pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
    rd seq;
    bool ca = false;
    uint32_t pl;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
        return MTLS_ERR_CERT_PARSE;
    if (x509_der_peek(&seq, DER_BOOLEAN) && !x509_der_boolean(&seq, &ca))
        return MTLS_ERR_CERT_PARSE;
    c->has_bc = true;
    c->is_ca = ca;
    if (x509_der_peek(&seq, DER_INTEGER)) {
        if (!x509_der_uint(&seq, &pl))
            return MTLS_ERR_CERT_PARSE;
        c->path_len = (int)pl;
    }
    return rd_done(&seq) ? MTLS_OK : MTLS_ERR_CERT_PARSE;
}

static mtls_err parse_ku(x509_cert *c, rd v)
{
    const uint8_t *p;
    size_t n;
    unsigned unused, ku = 0;
    if (!x509_der_bitstring(&v, &p, &n, &unused) || !rd_done(&v))
        return MTLS_ERR_CERT_PARSE;
    for (unsigned bit = 0; bit < 9 && bit / 8 < n; bit++) {
        if (p[bit / 8] & (0x80u >> (bit % 8)))
            ku |= 1u << bit;
    }
    /* RFC 5280 4.2.1.3: "When the keyUsage extension appears in a certificate, at least one of
     * the bits MUST be set to 1." */
    if (ku == 0)
        return MTLS_ERR_CERT_PARSE;
    c->has_ku = true;
    c->ku = ku;
    return MTLS_OK;
}

static mtls_err parse_eku(x509_cert *c, rd v)
{
    /* ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
    rd seq, oid;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) || rd_done(&seq))
        return MTLS_ERR_CERT_PARSE;
    c->has_eku = true;
    while (!rd_done(&seq)) {
        if (!x509_der_oid(&seq, &oid))
            return MTLS_ERR_CERT_PARSE;
        if (OID_EQ(&oid, oid_kp_server))
            c->eku |= X509_EKU_SERVER;
        else if (OID_EQ(&oid, oid_kp_client))
            c->eku |= X509_EKU_CLIENT;
        else if (OID_EQ(&oid, oid_any_eku))
            c->eku |= X509_EKU_ANY;
        else if (OID_EQ(&oid, oid_kp_ocsp_signing))
            c->eku |= X509_EKU_OCSP_SIGNING;
    }
    return MTLS_OK;
}

/* "DNS:name", "IP:1.2.3.4", ... with bytes outside printable ASCII shown as \xNN. */
static char *gname_string(const x509_gname *g)
{
    const char *prefix = g->type == 1   ? "email:"
                         : g->type == 2 ? "DNS:"
                         : g->type == 6 ? "URI:"
                                        : "IP:";
    size_t cap = strlen(prefix) + g->len * 4 + 64;
    char *s = mem_alloc(cap);
    if (!s)
        return NULL;
    size_t k = (size_t)snprintf(s, cap, "%s", prefix);
    if (g->type == 7) {
        if (!inet_ntop(g->len == 4 ? AF_INET : AF_INET6, g->p, s + k, (socklen_t)(cap - k)))
            snprintf(s + k, cap - k, "?");
        return s;
    }
    for (size_t i = 0; i < g->len; i++) {
        uint8_t b = g->p[i];
        if (b >= 0x20 && b < 0x7f && b != '\\')
            s[k++] = (char)b;
        else
            k += (size_t)snprintf(s + k, cap - k, "\\x%02x", b);
    }
    s[k] = 0;
    return s;
}

/* One GeneralName.  Kept: rfc822Name, dNSName, URI (IA5String) and iPAddress; the other forms
 * are checked for their tag and skipped.  *keep is false for a skipped one. */
static mtls_err parse_gname(rd *r, x509_gname *g, bool *keep, bool in_constraint)
{
    uint8_t tag;
    rd body;
    if (!x509_der_any(r, &tag, &body, NULL, NULL))
        return MTLS_ERR_CERT_PARSE;
    *keep = false;
    switch (tag) {
    case 0x81: /* rfc822Name */
    case 0x82: /* dNSName */
    case 0x86: /* uniformResourceIdentifier */
        g->type = tag & 0x1f;
        g->p = body.p;
        g->len = body.n;
        *keep = true;
        return MTLS_OK;
    case 0x87: /* iPAddress: RFC 5280 4.2.1.6 "four octets" or "16 octets"; in name constraints
                * twice that (address and mask), 4.2.1.10 */
        if (body.n != (in_constraint ? 8u : 4u) && body.n != (in_constraint ? 32u : 16u))
            return MTLS_ERR_CERT_PARSE;
        g->type = 7;
        g->p = body.p;
        g->len = body.n;
        *keep = true;
        return MTLS_OK;
    case 0xa0: /* otherName */
    case 0xa3: /* x400Address */
    case 0xa4: /* directoryName */
    case 0xa5: /* ediPartyName */
    case 0x88: /* registeredID */
        g->type = tag & 0x1f;
        return MTLS_OK;
    default:
        return MTLS_ERR_CERT_PARSE;
    }
}

static mtls_err parse_san(x509_cert *c, rd v)
{
    /* GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
    rd seq, count;
    size_t n = 0;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) || rd_done(&seq))
        return MTLS_ERR_CERT_PARSE;
    count = seq;
    while (!rd_done(&count)) {
        x509_gname g;
        bool keep;
        mtls_err err = parse_gname(&count, &g, &keep, false);
        if (err)
            return err;
        n += keep;
    }
    c->has_san = true;
    if (n == 0)
        return MTLS_OK;
    c->sans = mem_calloc(n, sizeof *c->sans);
    c->san_strs = mem_calloc(n, sizeof *c->san_strs);
    c->pub_sans = mem_calloc(n, sizeof *c->pub_sans);
    if (!c->sans || !c->san_strs || !c->pub_sans)
        return MTLS_ERR_NO_MEMORY;
    while (!rd_done(&seq)) {
        x509_gname g;
        bool keep;
        parse_gname(&seq, &g, &keep, false);
        if (!keep)
            continue;
        c->sans[c->san_count] = g;
        c->san_strs[c->san_count] = gname_string(&g);
        if (!c->san_strs[c->san_count])
            return MTLS_ERR_NO_MEMORY;
        c->pub_sans[c->san_count] =
            (mtls_san){(mtls_san_type)g.type, g.p, g.len, c->san_strs[c->san_count]};
        c->san_count++;
    }
    return MTLS_OK;
}

static mtls_err parse_subtrees(rd *r, uint8_t tag, x509_gname **out, size_t *out_n,
                               bool *unsupported)
{
    /* GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree
     * GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0,
     *                               maximum [1] BaseDistance OPTIONAL } */
    rd trees, count;
    size_t n = 0;
    if (!x509_der_peek(r, tag))
        return MTLS_OK;
    if (!x509_der_expect(r, tag, &trees) || rd_done(&trees))
        return MTLS_ERR_CERT_PARSE;
    for (int pass = 0; pass < 2; pass++) {
        count = trees;
        while (!rd_done(&count)) {
            rd st;
            x509_gname g;
            bool keep;
            if (!x509_der_expect(&count, DER_SEQUENCE, &st))
                return MTLS_ERR_CERT_PARSE;
            mtls_err err = parse_gname(&st, &g, &keep, true);
            if (err)
                return err;
            /* RFC 5280 4.2.1.10: "the minimum MUST be zero, and maximum MUST be absent" (and
             * DER leaves a DEFAULT value out). */
            if (!rd_done(&st))
                return MTLS_ERR_CERT_PARSE;
            if (keep && (g.type == 2 || g.type == 6 || g.type == 7)) {
                if (pass == 1)
                    (*out)[n] = g;
                n++;
            } else if (pass == 0) {
                *unsupported = true;
            }
        }
        if (pass == 0) {
            if (n == 0)
                return MTLS_OK;
            *out = mem_calloc(n, sizeof **out);
            if (!*out)
                return MTLS_ERR_NO_MEMORY;
            *out_n = n;
            n = 0;
        }
    }
    return MTLS_OK;
}

static mtls_err parse_nc(x509_cert *c, rd v, bool critical)
{
    /* NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
     *                                excludedSubtrees  [1] GeneralSubtrees OPTIONAL } */
    rd seq;
    bool unsupported = false;
    mtls_err err;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
        return MTLS_ERR_CERT_PARSE;
    /* RFC 5280 4.2.1.10: "Conforming CAs MUST NOT issue certificates where name constraints is
     * an empty sequence." */
    if (rd_done(&seq))
        return MTLS_ERR_CERT_PARSE;
    err = parse_subtrees(&seq, der_ctx_cons(0), &c->nc_permitted, &c->nc_permitted_n, &unsupported);
    if (err)
        return err;
    err = parse_subtrees(&seq, der_ctx_cons(1), &c->nc_excluded, &c->nc_excluded_n, &unsupported);
    if (err)
        return err;
    if (!rd_done(&seq))
        return MTLS_ERR_CERT_PARSE;
    /* We enforce dNSName, iPAddress and URI subtrees (URI: the host part, uri.c).  A critical
     * constraint on another name form (directoryName, rfc822Name, ...) is one we cannot honour,
     * so the certificate is refused rather than trusted more widely than its issuer meant. */
    if (unsupported && critical)
        return MTLS_ERR_CERT_UNSUPPORTED;
    c->has_nc = c->nc_permitted_n || c->nc_excluded_n;
    return MTLS_OK;
}

static mtls_err parse_policies(rd v, bool critical)
{
    /* certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
     * PolicyInformation ::= SEQUENCE { policyIdentifier OID, policyQualifiers SEQUENCE OPTIONAL }
     * We do no policy processing.  Non-critical, the extension is informative; critical, only
     * anyPolicy (which constrains nothing) is acceptable. */
    rd seq;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) || rd_done(&seq))
        return MTLS_ERR_CERT_PARSE;
    while (!rd_done(&seq)) {
        rd pi, oid, q;
        if (!x509_der_expect(&seq, DER_SEQUENCE, &pi) || !x509_der_oid(&pi, &oid))
            return MTLS_ERR_CERT_PARSE;
        if (x509_der_peek(&pi, DER_SEQUENCE) && !x509_der_expect(&pi, DER_SEQUENCE, &q))
            return MTLS_ERR_CERT_PARSE;
        if (!rd_done(&pi))
            return MTLS_ERR_CERT_PARSE;
        if (critical && !OID_EQ(&oid, oid_any_policy))
            return MTLS_ERR_CERT_UNSUPPORTED;
    }
    return MTLS_OK;
}

static mtls_err parse_akid(x509_cert *c, rd v)
{
    /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] OPTIONAL,
     *     authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2] OPTIONAL }
     */
    rd seq, f;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
        return MTLS_ERR_CERT_PARSE;
    if (x509_der_peek(&seq, der_ctx(0))) {
        if (!x509_der_expect(&seq, der_ctx(0), &f))
            return MTLS_ERR_CERT_PARSE;
        c->akid = f.p;
        c->akid_len = f.n;
    }
    if (x509_der_peek(&seq, der_ctx_cons(1)) && !x509_der_expect(&seq, der_ctx_cons(1), &f))
        return MTLS_ERR_CERT_PARSE;
    if (x509_der_peek(&seq, der_ctx(2)) && !x509_der_expect(&seq, der_ctx(2), &f))
        return MTLS_ERR_CERT_PARSE;
    return rd_done(&seq) ? MTLS_OK : MTLS_ERR_CERT_PARSE;
}

static mtls_err parse_tls_features(x509_cert *c, rd v)
{
    /* RFC 7633 4.1: Features ::= SEQUENCE OF INTEGER, each a TLS extension number
     * (status_request is 5, status_request_v2 17). */
    rd seq, it;
    uint32_t f;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
        return MTLS_ERR_CERT_PARSE;
    for (it = seq; !rd_done(&it);) {
        if (!x509_der_uint(&it, &f) || f > 0xffff)
            return MTLS_ERR_CERT_PARSE;
    }
    c->has_tls_features = true;
    c->tls_features = seq.p;
    c->tls_features_len = seq.n;
    return MTLS_OK;
}

static mtls_err parse_extension(x509_cert *c, const rd *oid, bool critical, rd v)
{
    if (OID_EQ(oid, oid_ext_bc))
        return parse_bc(c, v);
    if (OID_EQ(oid, oid_ext_ku))
        return parse_ku(c, v);
    if (OID_EQ(oid, oid_ext_eku))
        return parse_eku(c, v);
    if (OID_EQ(oid, oid_ext_san))
        return parse_san(c, v);
    if (OID_EQ(oid, oid_ext_nc))
        return parse_nc(c, v, critical);
    if (OID_EQ(oid, oid_ext_policies))
        return parse_policies(v, critical);
    if (OID_EQ(oid, oid_ext_akid))
        return parse_akid(c, v);
    if (OID_EQ(oid, oid_ext_tls_feature))
        return parse_tls_features(c, v);
    if (OID_EQ(oid, oid_ext_crldp)) {
        /* Not interpreted here (crl.c reads it when a CRL is scoped to a distribution point), so
         * a critical one is a critical extension we do not process. */
        if (critical)
            return MTLS_ERR_CERT_UNSUPPORTED;
        c->crldp = v.p;
        c->crldp_len = v.n;
        return MTLS_OK;
    }
    if (OID_EQ(oid, oid_ext_skid)) {
        rd id;
        if (!x509_der_expect(&v, DER_OCTET_STRING, &id) || !rd_done(&v))
            return MTLS_ERR_CERT_PARSE;
        c->skid = id.p;
        c->skid_len = id.n;
        return MTLS_OK;
    }
    /* RFC 5280 4.2: "A certificate-using system MUST reject the certificate if it encounters a
     * critical extension it does not recognize or a critical extension that contains
     * information that it cannot process." */
    return critical ? MTLS_ERR_CERT_UNSUPPORTED : MTLS_OK;
}

static mtls_err parse_extensions(x509_cert *c, rd exts)
{
    rd seq, seen[MAX_EXTENSIONS];
    size_t n = 0;
    /* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension */
    if (!x509_der_expect(&exts, DER_SEQUENCE, &seq) || !rd_done(&exts) || rd_done(&seq))
        return MTLS_ERR_CERT_PARSE;
    while (!rd_done(&seq)) {
        /* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
         *                          extnValue OCTET STRING } */
        rd ext, oid, value;
        bool critical = false;
        if (!x509_der_expect(&seq, DER_SEQUENCE, &ext) || !x509_der_oid(&ext, &oid))
            return MTLS_ERR_CERT_PARSE;
        if (x509_der_peek(&ext, DER_BOOLEAN) && !x509_der_boolean(&ext, &critical))
            return MTLS_ERR_CERT_PARSE;
        if (!x509_der_expect(&ext, DER_OCTET_STRING, &value) || !rd_done(&ext))
            return MTLS_ERR_CERT_PARSE;
        /* RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a particular
         * extension." */
        for (size_t i = 0; i < n; i++) {
            if (x509_oid_eq(&seen[i], oid.p, oid.n))
                return MTLS_ERR_CERT_PARSE;
        }
        if (n == MAX_EXTENSIONS)
            return MTLS_ERR_CERT_PARSE;
        seen[n++] = oid;
        mtls_err err = parse_extension(c, &oid, critical, value);
        if (err)
            return err;
    }
    return MTLS_OK;
}

/* ---- the certificate ----------------------------------------------------------------------- */

/* The serial's value in uppercase hex, the way OpenSSL's i2a_ASN1_INTEGER prints it (`openssl
 * x509 -serial`): whole octets of the magnitude without a sign octet, "00" for zero, a '-' before
 * a negative one.  The parser bounds the INTEGER to 21 octets, which fits serial_hex. */
static void serial_hex(x509_cert *c)
{
    static const char hx[] = "0123456789ABCDEF";
    uint8_t mag[21];
    size_t n = c->serial_len, k = 0;
    bool neg = n > 0 && (c->serial[0] & 0x80);
    memcpy(mag, c->serial, n);
    if (neg) { /* two's complement: invert and add one */
        unsigned carry = 1;
        for (size_t i = n; i-- > 0;) {
            unsigned v = (uint8_t)~mag[i] + carry;
            mag[i] = (uint8_t)v;
            carry = v >> 8;
        }
        c->serial_hex[k++] = '-';
    }
    size_t i = 0;
    while (i + 1 < n && mag[i] == 0)
        i++;
    for (; i < n; i++) {
        c->serial_hex[k++] = hx[mag[i] >> 4];
        c->serial_hex[k++] = hx[mag[i] & 15];
    }
    c->serial_hex[k] = 0;
}

static mtls_err parse(x509_cert *c)
{
    rd r = rd_init(c->der, c->der_len), cert, tbs, outer_alg, inner_alg, f, validity, spki;
    const uint8_t *outer_tlv, *inner_tlv, *spki_tlv;
    size_t outer_len, inner_len;
    unsigned unused;
    mtls_err err;

    /* Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
     *     signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING } */
    if (!x509_der_expect(&r, DER_SEQUENCE, &cert) || !rd_done(&r) ||
        !x509_der_expect_tlv(&cert, DER_SEQUENCE, &tbs, &c->tbs, &c->tbs_len) ||
        !x509_der_expect_tlv(&cert, DER_SEQUENCE, &outer_alg, &outer_tlv, &outer_len) ||
        !x509_der_bitstring(&cert, &c->sig, &c->sig_len, &unused) || unused != 0 || !rd_done(&cert))
        return MTLS_ERR_CERT_PARSE;

    /* version [0] EXPLICIT Version DEFAULT v1 -- DER omits v1, so an explicit one is v2 or v3. */
    c->version = 0;
    if (x509_der_peek(&tbs, der_ctx_cons(0))) {
        uint32_t v;
        if (!x509_der_expect(&tbs, der_ctx_cons(0), &f) || !x509_der_uint(&f, &v) || !rd_done(&f) ||
            v < 1 || v > 2)
            return MTLS_ERR_CERT_PARSE;
        c->version = (int)v;
    }
    /* serialNumber: RFC 5280 4.1.2.2 "Conforming CAs MUST NOT use serialNumber values longer
     * than 20 octets" (21 with the sign octet of a positive number). */
    if (!x509_der_integer(&tbs, &c->serial, &c->serial_len) || c->serial_len > 21)
        return MTLS_ERR_CERT_PARSE;
    /* signature: RFC 5280 4.1.1.2 "This field MUST contain the same algorithm identifier as the
     * signature field in the sequence tbsCertificate". */
    if (!x509_der_expect_tlv(&tbs, DER_SEQUENCE, &inner_alg, &inner_tlv, &inner_len) ||
        inner_len != outer_len || memcmp(inner_tlv, outer_tlv, outer_len) != 0)
        return MTLS_ERR_CERT_PARSE;
    if (!x509_der_expect_tlv(&tbs, DER_SEQUENCE, &f, &c->issuer_der, &c->issuer_len))
        return MTLS_ERR_CERT_PARSE;
    /* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
    if (!x509_der_expect(&tbs, DER_SEQUENCE, &validity) ||
        !x509_der_time(&validity, &c->not_before) || !x509_der_time(&validity, &c->not_after) ||
        !rd_done(&validity))
        return MTLS_ERR_CERT_PARSE;
    if (!x509_der_expect_tlv(&tbs, DER_SEQUENCE, &f, &c->subject_der, &c->subject_len) ||
        !x509_der_expect_tlv(&tbs, DER_SEQUENCE, &spki, &spki_tlv, &c->spki_len))
        return MTLS_ERR_CERT_PARSE;
    c->spki = spki_tlv;
    /* issuerUniqueID [1] / subjectUniqueID [2]: "MUST only appear if the version is 2 or 3". */
    for (unsigned t = 1; t <= 2; t++) {
        if (!x509_der_peek(&tbs, der_ctx(t)))
            continue;
        if (c->version < 1 || !x509_der_expect(&tbs, der_ctx(t), &f))
            return MTLS_ERR_CERT_PARSE;
        /* UniqueIdentifier ::= BIT STRING (IMPLICIT): unused-bits octet, unused bits zero. */
        if (f.n == 0 || f.p[0] > 7 || (f.n == 1 && f.p[0] != 0) ||
            (f.p[0] && (f.p[f.n - 1] & ((1u << f.p[0]) - 1))))
            return MTLS_ERR_CERT_PARSE;
    }
    /* extensions [3] EXPLICIT Extensions OPTIONAL: "MUST only appear if the version is 3". */
    if (x509_der_peek(&tbs, der_ctx_cons(3))) {
        if (c->version != 2 || !x509_der_expect(&tbs, der_ctx_cons(3), &f))
            return MTLS_ERR_CERT_PARSE;
        err = parse_extensions(c, f);
        if (err)
            return err;
    }
    if (!rd_done(&tbs))
        return MTLS_ERR_CERT_PARSE;

    c->subject_str = x509_name_to_string(c->subject_der, c->subject_len);
    c->issuer_str = x509_name_to_string(c->issuer_der, c->issuer_len);
    if (!c->subject_str || !c->issuer_str)
        return MTLS_ERR_CERT_PARSE;
    serial_hex(c);
    c->self_issued = c->subject_len == c->issuer_len &&
                     memcmp(c->subject_der, c->issuer_der, c->issuer_len) == 0;

    err = x509_parse_sigalg(outer_alg, &c->sigalg);
    if (err)
        return err;
    return parse_spki(c, spki);
}

mtls_err x509_cert_parse(const uint8_t *der, size_t len, x509_cert **out)
{
    if (!out || (!der && len))
        return MTLS_ERR_INVALID_ARG;
    *out = NULL;
    x509_cert *c = mem_calloc(1, sizeof *c);
    if (!c)
        return MTLS_ERR_NO_MEMORY;
    atomic_init(&c->refs, 1);
    c->path_len = -1;
    c->der = mem_alloc(len ? len : 1);
    if (!c->der) {
        mem_free(c);
        return MTLS_ERR_NO_MEMORY;
    }
    if (len)
        memcpy(c->der, der, len);
    c->der_len = len;
    mtls_err err = parse(c);
    if (err) {
        x509_cert_free(c);
        return err;
    }
    *out = c;
    return MTLS_OK;
}

x509_cert *x509_cert_up_ref(x509_cert *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void x509_cert_free(x509_cert *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; c->san_strs && i < c->san_count; i++)
        mem_free(c->san_strs[i]);
    mem_free(c->san_strs);
    mem_free(c->pub_sans);
    mem_free(c->sans);
    mem_free(c->nc_permitted);
    mem_free(c->nc_excluded);
    mem_free(c->subject_str);
    mem_free(c->issuer_str);
    cry_pkey_free(c->key);
    mem_free(c->der);
    mem_free(c);
}

const uint8_t *x509_cert_der(const x509_cert *c, size_t *len)
{
    *len = c->der_len;
    return c->der;
}

void x509_cert_drop_key(x509_cert *c)
{
    if (c && c->key && !c->shared) {
        cry_pkey_free(c->key);
        c->key = NULL;
    }
}

const cry_pkey *x509_cert_pubkey(const x509_cert *c)
{
    return c->key;
}
const char *x509_cert_subject(const x509_cert *c)
{
    return c->subject_str;
}
const uint8_t *x509_cert_subject_der(const x509_cert *c, size_t *len)
{
    *len = c->subject_len;
    return c->subject_der;
}
const char *x509_cert_issuer(const x509_cert *c)
{
    return c->issuer_str;
}
size_t x509_cert_san_count(const x509_cert *c)
{
    return c->san_count;
}
const char *x509_cert_san(const x509_cert *c, size_t i)
{
    return i < c->san_count ? c->san_strs[i] : NULL;
}
int64_t x509_cert_not_before(const x509_cert *c)
{
    return c->not_before;
}
int64_t x509_cert_not_after(const x509_cert *c)
{
    return c->not_after;
}

void x509_cert_info(const x509_cert *c, mtls_cert_info *out)
{
    out->subject = c->subject_str;
    out->issuer = c->issuer_str;
    out->serial = c->serial;
    out->serial_len = c->serial_len;
    out->serial_hex = c->serial_hex;
    out->not_before = c->not_before;
    out->not_after = c->not_after;
    out->key_type = c->key_type == CRY_KEY_RSA       ? MTLS_KEY_RSA
                    : c->key_type == CRY_KEY_EC_P256 ? MTLS_KEY_EC_P256
                    : c->key_type == CRY_KEY_EC_P384 ? MTLS_KEY_EC_P384
                                                     : MTLS_KEY_UNKNOWN;
    out->key_bits = c->key_bits;
    out->signature_algorithm = c->sigalg.name;
    out->is_ca = c->is_ca;
    out->san_count = c->san_count;
    out->sans = c->san_count ? c->pub_sans : NULL;
}

int x509_cert_key_usage(const x509_cert *c, unsigned *bits)
{
    *bits = c->has_ku ? c->ku : 0;
    return c->has_ku;
}

bool x509_cert_tls_feature(const x509_cert *c, uint16_t ext)
{
    rd it = rd_init(c->tls_features, c->tls_features_len);
    uint32_t f;
    while (x509_der_uint(&it, &f)) {
        if (f == ext)
            return true;
    }
    return false;
}

bool x509_cert_must_staple(const x509_cert *c)
{
    return x509_cert_tls_feature(c, 5); /* status_request, RFC 6066 */
}

const uint8_t *x509_cert_serial(const x509_cert *c, size_t *len)
{
    *len = c->serial_len;
    return c->serial;
}

bool x509_cert_key_bits(const x509_cert *c, const uint8_t **p, size_t *len)
{
    /* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
     *                                     subjectPublicKey BIT STRING } -- checked at parse */
    rd r = rd_init(c->spki, c->spki_len), spki, alg;
    unsigned unused;
    return x509_der_expect(&r, DER_SEQUENCE, &spki) && x509_der_expect(&spki, DER_SEQUENCE, &alg) &&
           x509_der_bitstring(&spki, p, len, &unused);
}
