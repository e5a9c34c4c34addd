/*
 * fuzz_x509_diff.c -- differential target: our certificate and CRL parsers (src/x509) against
 * libcrypto's decoders (d2i_X509, d2i_X509_CRL; fuzz/ is test code and may call libcrypto).
 *
 * Input: byte 0 chooses the kind (even: certificate, odd: CRL), the rest is its DER.  The target
 * aborts -- a finding -- when
 *   - we accept what libcrypto refuses (we are meant to be the stricter one);
 *   - both accept and a field we extract differs from libcrypto's: serial, issuer and subject DER,
 *     notBefore/notAfter, subjectAltName dNSNames; for a CRL the issuer DER, thisUpdate,
 *     nextUpdate and every revoked entry (serial, revocationDate, reason);
 *   - libcrypto accepts what we refuse for a reason that is not one of the deliberate
 *     differences.  Each deliberate difference is recognized in code below (deliberate_cert,
 *     deliberate_crl) and listed in docs/x509.md ("Where we differ from libcrypto"): input that
 *     is not DER (libcrypto's decoder takes BER), RFC 5280 profile rules libcrypto's decoder
 *     does not apply, contents of extensions its decoder does not look into, and what we refuse
 *     as unsupported.
 * With MTLS_DIFF_VERBOSE set in the environment, every deliberate difference is printed with
 * its class (to see what the fuzzer finds).  Seeds: fuzz/corpus/x509_diff/ (certificates of the
 * x509 corpus and of tests/pki/make-revocation.sh, and that PKI's CRLs, each after its kind byte;
 * fuzz/make-revoc-seeds.sh).
 */
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "x509/x509.h"
#include "x509/x509_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_x509_diff: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void note(const char *kind, const char *why)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("MTLS_DIFF_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "deliberate (%s): %s\n", kind, why);
}

/* ---- deliberate difference 1: the input is not DER --------------------------------------- */

static bool time_ok(const uint8_t *tlv, size_t n)
{
    rd r = rd_init(tlv, n);
    int64_t t;
    return x509_der_time(&r, &t) && rd_done(&r);
}

/* The first rule of X.690 DER (section 10-11) or RFC 5280's time profile the TLVs of `r` break,
 * or NULL.  Constructed values are walked; an OCTET STRING or BIT STRING whose content is one
 * complete TLV (an extnValue, a subjectPublicKey) is walked too. */
static const char *non_der(rd r, int depth)
{
    if (depth > 32)
        return NULL;
    while (!rd_done(&r)) {
        uint8_t t = r.p[0], l0;
        size_t len = 0, hdr = 2;
        if ((t & 0x1f) == 0x1f)
            return "high tag number form";
        if (r.n < 2)
            return NULL; /* truncated: not a DER question */
        l0 = r.p[1];
        if (l0 == 0x80)
            return "indefinite length";
        if (l0 > 0x80) {
            size_t nb = l0 & 0x7f;
            if (nb > 4 || r.n < 2 + nb)
                return NULL;
            if (r.p[2] == 0)
                return "length with a leading zero octet";
            for (size_t i = 0; i < nb; i++)
                len = (len << 8) | r.p[2 + i];
            if (len < 0x80)
                return "long-form length for a short length";
            hdr += nb;
        } else {
            len = l0;
        }
        if (len > r.n - hdr)
            return NULL;
        const uint8_t *c = r.p + hdr, *tlv = r.p;
        size_t tlv_len = hdr + len;
        rd sub = rd_init(c, len);
        if ((t & 0xc0) == 0) { /* universal */
            switch (t) {
            case 0x01:
                if (len != 1 || (c[0] != 0 && c[0] != 0xff))
                    return "BOOLEAN other than 00/FF";
                break;
            case 0x02:
            case 0x0a:
                if (len == 0 || (len > 1 && ((c[0] == 0 && !(c[1] & 0x80)) ||
                                             (c[0] == 0xff && (c[1] & 0x80)))))
                    return "INTEGER/ENUMERATED not minimal";
                break;
            case 0x03:
                if (len == 0 || c[0] > 7 || (len == 1 && c[0]) ||
                    (c[0] && (c[len - 1] & ((1u << c[0]) - 1))))
                    return "BIT STRING unused bits not zero";
                if (c[0] == 0 && len > 1) {
                    rd in = rd_init(c + 1, len - 1);
                    uint8_t tg;
                    rd x;
                    if (x509_der_any(&in, &tg, &x, NULL, NULL) && rd_done(&in)) {
                        const char *w = non_der(rd_init(c + 1, len - 1), depth + 1);
                        if (w)
                            return w;
                    }
                }
                break;
            case 0x04: {
                rd in = sub;
                uint8_t tg;
                rd x;
                if (len && x509_der_any(&in, &tg, &x, NULL, NULL) && rd_done(&in)) {
                    const char *w = non_der(sub, depth + 1);
                    if (w)
                        return w;
                }
                break;
            }
            case 0x05:
                if (len != 0)
                    return "NULL with content";
                break;
            case 0x06: {
                rd o = rd_init(tlv, tlv_len), oid;
                if (!x509_der_oid(&o, &oid))
                    return "OBJECT IDENTIFIER not minimal";
                break;
            }
            case 0x17:
            case 0x18:
                if (!time_ok(tlv, tlv_len))
                    return "time not in RFC 5280 form (YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ)";
                break;
            default:
                if (t >= 0x21 && t <= 0x2f && t != 0x30 && t != 0x31)
                    return "constructed encoding of a primitive type";
                if (t == 0x10 || t == 0x11)
                    return "primitive encoding of SEQUENCE/SET";
                break;
            }
        }
        if (t & 0x20) {
            const char *w = non_der(sub, depth + 1);
            if (w)
                return w;
        }
        r.p += tlv_len;
        r.n -= tlv_len;
    }
    return NULL;
}

/* ---- shared RFC 5280 rules --------------------------------------------------------------- */

/* A Name with an empty RDN (SET SIZE (1..MAX)). */
static bool empty_rdn(const uint8_t *der, size_t len)
{
    rd r = rd_init(der, len), seq, set;
    if (!x509_der_expect(&r, DER_SEQUENCE, &seq))
        return false;
    while (x509_der_expect(&seq, DER_SET, &set)) {
        if (rd_done(&set))
            return true;
    }
    return false;
}

/* An RDN whose AttributeTypeAndValue is not SEQUENCE { OID, one value }. */
static bool bad_ava(const uint8_t *der, size_t len)
{
    rd r = rd_init(der, len), seq, set, atv, oid, v;
    uint8_t tag;
    if (!x509_der_expect(&r, DER_SEQUENCE, &seq))
        return false;
    while (x509_der_expect(&seq, DER_SET, &set)) {
        while (!rd_done(&set)) {
            if (!x509_der_expect(&set, DER_SEQUENCE, &atv) || !x509_der_oid(&atv, &oid) ||
                !x509_der_any(&atv, &tag, &v, NULL, NULL) || !rd_done(&atv))
                return true;
        }
    }
    return !rd_done(&seq);
}

static bool dup_ext(const STACK_OF(X509_EXTENSION) * exts)
{
    int n = sk_X509_EXTENSION_num(exts);
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            if (OBJ_cmp(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i)),
                        X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j))) == 0)
                return true;
        }
    }
    return false;
}

/* An AlgorithmIdentifier for a signature with parameters RFC 3279 / 5758 do not allow: ECDSA
 * with any, RSA PKCS #1 with anything but NULL. */
static bool bad_sigalg_params(const X509_ALGOR *a)
{
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    int nid = OBJ_obj2nid(obj);
    if (nid == NID_ecdsa_with_SHA1 || nid == NID_ecdsa_with_SHA256 ||
        nid == NID_ecdsa_with_SHA384 || nid == NID_ecdsa_with_SHA512)
        return ptype != V_ASN1_UNDEF;
    if (nid == NID_sha256WithRSAEncryption || nid == NID_sha384WithRSAEncryption ||
        nid == NID_sha512WithRSAEncryption || nid == NID_sha1WithRSAEncryption ||
        nid == NID_md5WithRSAEncryption)
        return ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL;
    return false;
}

/* An extension we parse whose content libcrypto's own decoder for it refuses too (it decodes
 * extensions only when asked, so d2i_X509 / d2i_X509_CRL take them). */
static bool undecodable(const STACK_OF(X509_EXTENSION) * exts, const int *nids, size_t n)
{
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        for (size_t k = 0; k < n; k++) {
            if (nid != nids[k])
                continue;
            void *v = X509V3_EXT_d2i(e);
            const X509V3_EXT_METHOD *m = X509V3_EXT_get(e);
            if (!v)
                return true;
            if (m && m->it)
                ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
            else if (m && m->ext_free)
                m->ext_free(v);
        }
    }
    ERR_clear_error();
    return false;
}

static const int cert_ext_nids[] = {NID_basic_constraints,  NID_key_usage,
                                    NID_ext_key_usage,      NID_subject_alt_name,
                                    NID_name_constraints,   NID_certificate_policies,
                                    NID_authority_key_identifier, NID_subject_key_identifier,
                                    NID_tlsfeature};
static const int crl_ext_nids[] = {NID_authority_key_identifier, NID_crl_number,
                                   NID_issuing_distribution_point, NID_delta_crl};
static const int entry_ext_nids[] = {NID_crl_reason, NID_invalidity_date,
                                     NID_certificate_issuer};

/* ---- certificates ------------------------------------------------------------------------ */

/* A GeneralName list (SAN content) that breaks our rules: empty, an iPAddress not of 4/16 (8/32
 * in constraints) octets, a tag no GeneralName has. */
static bool bad_general_names(rd seq, bool constraint)
{
    if (rd_done(&seq))
        return true;
    while (!rd_done(&seq)) {
        uint8_t tag;
        rd body;
        if (!x509_der_any(&seq, &tag, &body, NULL, NULL))
            return true;
        if (tag == 0x87 && body.n != (constraint ? 8u : 4u) && body.n != (constraint ? 32u : 16u))
            return true;
        if (tag != 0x81 && tag != 0x82 && tag != 0x86 && tag != 0x87 && tag != 0xa0 &&
            tag != 0xa3 && tag != 0xa4 && tag != 0xa5 && tag != 0x88)
            return true;
    }
    return false;
}

/* The RFC 5280 rules our extension parsers apply that libcrypto's decoders do not; why, or
 * NULL.  `v` is the extnValue content. */
static const char *ext_rule(int nid, rd v, bool critical)
{
    rd seq;
    switch (nid) {
    case NID_key_usage: {
        const uint8_t *p;
        size_t n;
        unsigned unused;
        bool any = false;
        if (!x509_der_bitstring(&v, &p, &n, &unused) || !rd_done(&v))
            return "keyUsage not a BIT STRING";
        for (size_t i = 0; i < n && i < 2; i++)
            any |= (i == 0 ? p[0] : (p[1] & 0x80)) != 0;
        return any ? NULL : "keyUsage without any of its 9 bits set (RFC 5280 4.2.1.3)";
    }
    case NID_basic_constraints: {
        uint32_t pl;
        bool ca;
        if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
            return "basicConstraints not a SEQUENCE";
        if (x509_der_peek(&seq, DER_BOOLEAN) && !x509_der_boolean(&seq, &ca))
            return "basicConstraints cA";
        if (x509_der_peek(&seq, DER_INTEGER) && !x509_der_uint(&seq, &pl))
            return "pathLenConstraint negative or beyond 31 bits";
        return rd_done(&seq) ? NULL : "basicConstraints with more fields";
    }
    case NID_ext_key_usage:
    case NID_certificate_policies:
        if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) || rd_done(&seq))
            return "empty SEQUENCE SIZE (1..MAX) (EKU / certificatePolicies)";
        if (nid == NID_ext_key_usage) {
            rd oid;
            while (!rd_done(&seq)) {
                if (!x509_der_oid(&seq, &oid))
                    return "EKU member not an OID";
            }
        } else {
            while (!rd_done(&seq)) {
                rd pi, oid, q;
                if (!x509_der_expect(&seq, DER_SEQUENCE, &pi) || !x509_der_oid(&pi, &oid))
                    return "PolicyInformation";
                if (x509_der_peek(&pi, DER_SEQUENCE))
                    x509_der_expect(&pi, DER_SEQUENCE, &q);
                if (!rd_done(&pi))
                    return "PolicyInformation qualifiers not a SEQUENCE";
                static const uint8_t any_policy[] = {0x55, 0x1d, 0x20, 0x00};
                if (critical && !x509_oid_eq(&oid, any_policy, sizeof any_policy))
                    return NULL; /* we say UNSUPPORTED, not here */
            }
        }
        return NULL;
    case NID_subject_alt_name:
        if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) ||
            bad_general_names(seq, false))
            return "subjectAltName empty or with a malformed GeneralName";
        return NULL;
    case NID_name_constraints: {
        rd trees;
        if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) || rd_done(&seq))
            return "nameConstraints empty (RFC 5280 4.2.1.10)";
        for (unsigned k = 0; k < 2; k++) {
            if (!x509_der_peek(&seq, (uint8_t)(0xa0 | k)))
                continue;
            if (!x509_der_expect(&seq, (uint8_t)(0xa0 | k), &trees) || rd_done(&trees))
                return "GeneralSubtrees empty";
            while (!rd_done(&trees)) {
                rd st, one;
                if (!x509_der_expect(&trees, DER_SEQUENCE, &st))
                    return "GeneralSubtree";
                one = st;
                uint8_t tag;
                rd body;
                if (!x509_der_any(&st, &tag, &body, NULL, NULL))
                    return "GeneralSubtree base";
                if (!rd_done(&st))
                    return "GeneralSubtree minimum/maximum present (RFC 5280 4.2.1.10)";
                if (bad_general_names(one, true))
                    return "GeneralSubtree base malformed";
            }
        }
        return rd_done(&seq) ? NULL : "nameConstraints with more fields";
    }
    case NID_authority_key_identifier: {
        rd f;
        if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
            return "AKID not a SEQUENCE";
        if (x509_der_peek(&seq, 0x80))
            x509_der_expect(&seq, 0x80, &f);
        if (x509_der_peek(&seq, 0xa1))
            x509_der_expect(&seq, 0xa1, &f);
        if (x509_der_peek(&seq, 0x82))
            x509_der_expect(&seq, 0x82, &f);
        return rd_done(&seq) ? NULL : "AKID fields out of order or unknown";
    }
    case NID_subject_key_identifier: {
        rd id;
        if (!x509_der_expect(&v, DER_OCTET_STRING, &id) || !rd_done(&v))
            return "SKID not an OCTET STRING";
        return NULL;
    }
    case NID_tlsfeature: {
        uint32_t f;
        if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
            return "TLS feature not a SEQUENCE";
        while (!rd_done(&seq)) {
            if (!x509_der_uint(&seq, &f) || f > 0xffff)
                return "TLS feature not a TLS extension number (RFC 7633)";
        }
        return NULL;
    }
    default:
        return NULL;
    }
}

/* Why we may refuse a certificate libcrypto's d2i_X509 took, or NULL (a finding). */
static const char *deliberate_cert(X509 *x, const uint8_t *der, size_t len, mtls_err err)
{
    const char *w;
    if (err == MTLS_ERR_CERT_UNSUPPORTED)
        return "a key, algorithm or critical extension we do not support";
    if ((w = non_der(rd_init(der, len), 0)))
        return w;
    long ver = X509_get_version(x);
    if (ver > 2)
        return "version beyond v3";
    if (ver < 2 && X509_get_ext_count(x) > 0)
        return "extensions in a v1/v2 certificate (RFC 5280 4.1.2.9)";
    const ASN1_BIT_STRING *iu, *su;
    X509_get0_uids(x, &iu, &su);
    if (ver < 1 && (iu || su))
        return "unique identifiers in a v1 certificate (RFC 5280 4.1.2.8)";
    /* the TBS, field by field (the input is DER by now) */
    rd r = rd_init(der, len), cert, tbs, f;
    if (!x509_der_expect(&r, DER_SEQUENCE, &cert) || !x509_der_expect(&cert, DER_SEQUENCE, &tbs))
        return NULL;
    if (x509_der_peek(&tbs, 0xa0)) {
        rd vv = tbs;
        uint32_t v;
        if (x509_der_expect(&vv, 0xa0, &f) && x509_der_uint(&f, &v) && v == 0)
            return "version v1 written out (DER omits a DEFAULT value)";
    }
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    if (ASN1_STRING_length(sn) > 20 || ASN1_STRING_length(sn) == 0)
        return "serialNumber longer than 20 octets (RFC 5280 4.1.2.2)";
    const X509_ALGOR *outer;
    const ASN1_BIT_STRING *sig;
    X509_get0_signature(&sig, &outer, x);
    if (X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(x)) != 0)
        return "inner and outer signature AlgorithmIdentifiers differ (RFC 5280 4.1.1.2)";
    {
        /* byte-identical too: the same value written differently (absent / NULL params) */
        rd t2 = tbs, a1, a2, c2 = cert, skip;
        const uint8_t *p1, *p2;
        size_t n1, n2;
        uint8_t tg;
        if (x509_der_peek(&t2, 0xa0))
            x509_der_any(&t2, &tg, &skip, NULL, NULL);
        x509_der_any(&t2, &tg, &skip, NULL, NULL); /* serial */
        if (x509_der_expect_tlv(&t2, DER_SEQUENCE, &a1, &p1, &n1) &&
            x509_der_expect_tlv(&c2, DER_SEQUENCE, &a2, &p2, &n2) &&
            (n1 != n2 || memcmp(p1, p2, n1) != 0))
            return "inner and outer signature AlgorithmIdentifiers differ in bytes";
    }
    if (bad_sigalg_params(outer))
        return "signature AlgorithmIdentifier parameters (RFC 3279 / RFC 5758)";
    if (sig->flags & 0x07)
        return "signatureValue with unused bits";
    const uint8_t *nd;
    size_t nl;
    X509_NAME_get0_der(X509_get_issuer_name(x), &nd, &nl);
    if (empty_rdn(nd, nl) || bad_ava(nd, nl))
        return "issuer Name with an empty RDN or a malformed attribute";
    X509_NAME_get0_der(X509_get_subject_name(x), &nd, &nl);
    if (empty_rdn(nd, nl) || bad_ava(nd, nl))
        return "subject Name with an empty RDN or a malformed attribute";
    /* the key: libcrypto decodes it only on use */
    X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
    if (!X509_get0_pubkey(x))
        return "a public key libcrypto cannot decode either";
    {
        const unsigned char *kp;
        int kl;
        X509_ALGOR *ka;
        ASN1_OBJECT *ko;
        X509_PUBKEY_get0_param(&ko, &kp, &kl, &ka, xpk);
        int ptype;
        const void *pval;
        X509_ALGOR_get0(NULL, &ptype, &pval, ka);
        if (OBJ_obj2nid(ko) == NID_rsaEncryption && ptype != V_ASN1_NULL)
            return "RSA key AlgorithmIdentifier without NULL parameters (RFC 3279 2.3.1)";
        if (OBJ_obj2nid(ko) == NID_rsaEncryption && kl > 0) {
            /* RSAPublicKey with a negative modulus or exponent */
            rd k = rd_init(kp, (size_t)kl), seq;
            const uint8_t *n, *e;
            size_t nn, en;
            if (x509_der_expect(&k, DER_SEQUENCE, &seq) && x509_der_integer(&seq, &n, &nn) &&
                x509_der_integer(&seq, &e, &en)) {
                if ((n[0] & 0x80) || (e[0] & 0x80))
                    return "RSA key with a negative modulus or exponent";
                /* cry_pkey_rsa_public: a modulus is odd; an exponent odd, at least 3, below the
                 * modulus (libcrypto decodes such keys and fails only when they are used) */
                if (!(n[nn - 1] & 1) || !(e[en - 1] & 1) || (en == 1 && e[0] == 1) || en > nn)
                    return "RSA key with an even modulus, or an exponent that is even or 1";
                if (!rd_done(&seq) || !rd_done(&k))
                    return "RSAPublicKey followed by more bytes (libcrypto's key decoder reads a "
                           "prefix)";
            }
        }
    }
    /* extensions */
    const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
    if (dup_ext(exts))
        return "an extension twice (RFC 5280 4.2)";
    if (undecodable(exts, cert_ext_nids, sizeof cert_ext_nids / sizeof cert_ext_nids[0]))
        return "an extension libcrypto's decoder refuses too (on use)";
    if (sk_X509_EXTENSION_num(exts) == 0 && X509_get_version(x) == 2) {
        /* an empty Extensions SEQUENCE: SIZE (1..MAX) */
        rd t3 = tbs, e3, s3;
        uint8_t tg;
        rd skip;
        while (!rd_done(&t3) && !x509_der_peek(&t3, 0xa3))
            x509_der_any(&t3, &tg, &skip, NULL, NULL);
        if (x509_der_expect(&t3, 0xa3, &e3) && x509_der_expect(&e3, DER_SEQUENCE, &s3) &&
            rd_done(&s3))
            return "an empty Extensions SEQUENCE (SIZE (1..MAX))";
    }
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(e);
        bool crit = X509_EXTENSION_get_critical(e);
        rd v = rd_init(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
        if ((w = ext_rule(nid, v, crit)))
            return w;
        if (nid == NID_crl_distribution_points && crit)
            return "a critical cRLDistributionPoints (not processed)";
    }
    {
        /* time: the two validity Times in RFC 5280 form */
        const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
        struct tm tm;
        if (!ASN1_TIME_to_tm(nb, &tm) || !ASN1_TIME_to_tm(na, &tm))
            return "a validity time libcrypto cannot read either";
    }
    return NULL;
}

static int64_t tm_of(const ASN1_TIME *t, bool *ok)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    *ok = ASN1_TIME_to_tm(t, &tm) == 1;
    return (int64_t)timegm(&tm);
}

/* INTEGER content octets of an ASN1_INTEGER, as DER writes them (minimal two's complement). */
static size_t int_content(const ASN1_INTEGER *a, uint8_t *out, size_t cap)
{
    uint8_t buf[128], *p = buf;
    int n = i2d_ASN1_INTEGER(a, NULL);
    if (n <= 0 || (size_t)n > sizeof buf)
        return 0;
    i2d_ASN1_INTEGER(a, &p);
    rd r = rd_init(buf, (size_t)n), c;
    if (!x509_der_expect(&r, DER_INTEGER, &c) || c.n > cap)
        return 0;
    memcpy(out, c.p, c.n);
    return c.n;
}

static void compare_cert(X509 *x, const x509_cert *c)
{
    uint8_t s[128];
    size_t sl = int_content(X509_get0_serialNumber(x), s, sizeof s);
    if (sl != c->serial_len || memcmp(s, c->serial, sl) != 0)
        finding("serial differs", NULL);
    const uint8_t *nd;
    size_t nl;
    X509_NAME_get0_der(X509_get_issuer_name(x), &nd, &nl);
    if (nl != c->issuer_len || memcmp(nd, c->issuer_der, nl) != 0)
        finding("issuer DER differs", NULL);
    X509_NAME_get0_der(X509_get_subject_name(x), &nd, &nl);
    if (nl != c->subject_len || memcmp(nd, c->subject_der, nl) != 0)
        finding("subject DER differs", NULL);
    bool ok1, ok2;
    int64_t nb = tm_of(X509_get0_notBefore(x), &ok1), na = tm_of(X509_get0_notAfter(x), &ok2);
    if (!ok1 || !ok2)
        finding("we read a validity time libcrypto cannot", NULL);
    if (nb != c->not_before || na != c->not_after)
        finding("validity differs", NULL);
    int crit = -1;
    GENERAL_NAMES *gn = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (!gn && c->has_san) {
        /* libcrypto could not decode the SAN we took: we check only the forms we keep (dNSName,
         * rfc822Name, URI, iPAddress) and skip the others by tag (deliberate) -- but the names
         * we keep must be exactly what a decoder would find, so nothing more is compared. */
        note("cert", "subjectAltName libcrypto cannot decode (a form we skip)");
        return;
    }
    size_t k = 0;
    for (int i = 0; gn && i < sk_GENERAL_NAME_num(gn); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
        int type;
        ASN1_STRING *v = GENERAL_NAME_get0_value(g, &type);
        if (type != GEN_DNS)
            continue;
        while (k < c->san_count && c->sans[k].type != 2)
            k++;
        if (k == c->san_count || c->sans[k].len != (size_t)ASN1_STRING_length(v) ||
            memcmp(c->sans[k].p, ASN1_STRING_get0_data(v), c->sans[k].len) != 0)
            finding("subjectAltName dNSNames differ", NULL);
        k++;
    }
    while (k < c->san_count && c->sans[k].type != 2)
        k++;
    if (k != c->san_count)
        finding("we found a dNSName libcrypto did not", NULL);
    GENERAL_NAMES_free(gn);
}

/* We accept a Name libcrypto's X509_NAME refuses: an AttributeValue is ANY DEFINED BY its type
 * (RFC 5280 4.1.2.4), which we keep as it is (printed as #hex), where libcrypto takes only the
 * types of its string mask (no INTEGER, VisibleString, times, ...). */
static bool name_libcrypto_refuses(const uint8_t *der, size_t len)
{
    const uint8_t *p = der;
    X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
    bool bad = !n || p != der + len;
    X509_NAME_free(n);
    ERR_clear_error();
    return bad;
}

static void diff_cert(const uint8_t *p, size_t n)
{
    x509_cert *c = NULL;
    mtls_err err = x509_cert_parse(p, n, &c);
    const uint8_t *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    if (x && q != p + n) { /* trailing bytes: libcrypto read a prefix */
        X509_free(x);
        x = NULL;
    }
    if (err == MTLS_OK && !x) {
        if (!name_libcrypto_refuses(c->issuer_der, c->issuer_len) &&
            !name_libcrypto_refuses(c->subject_der, c->subject_len))
            finding("we accept a certificate d2i_X509 refuses", NULL);
        note("cert, we accept", "a Name with an AttributeValue type libcrypto does not take");
    }
    if (err != MTLS_OK && x) {
        const char *why = deliberate_cert(x, p, n, err);
        if (!why)
            finding("we refuse a certificate d2i_X509 accepts", mtls_err_name(err));
        note("cert", why);
    }
    if (err == MTLS_OK && x)
        compare_cert(x, c);
    X509_free(x);
    x509_cert_free(c);
    ERR_clear_error();
}

/* ---- CRLs -------------------------------------------------------------------------------- */

static const char *entry_rule(X509_REVOKED *rv)
{
    const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(rv);
    if (dup_ext(exts))
        return "a CRL entry extension twice";
    if (undecodable(exts, entry_ext_nids, sizeof entry_ext_nids / sizeof entry_ext_nids[0]))
        return "a CRL entry extension libcrypto's decoder refuses too (on use)";
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(e);
        rd v = rd_init(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
        if (nid == NID_crl_reason) {
            uint32_t r;
            if (!x509_der_enumerated(&v, &r) || !rd_done(&v) || r > 10 || r == 7)
                return "reasonCode not a CRLReason (RFC 5280 5.3.1)";
        } else if (nid == NID_invalidity_date) {
            int64_t t;
            if (!x509_der_peek(&v, DER_GENERALIZEDTIME) || !x509_der_time(&v, &t) || !rd_done(&v))
                return "invalidityDate not a GeneralizedTime (RFC 5280 5.3.2)";
        }
    }
    const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(rv);
    if (ASN1_STRING_length(sn) > 20 || ASN1_STRING_length(sn) == 0)
        return "a revoked serialNumber longer than 20 octets";
    return NULL;
}

/* Why we may refuse a CRL libcrypto's d2i_X509_CRL took, or NULL (a finding). */
static const char *deliberate_crl(X509_CRL *x, const uint8_t *der, size_t len, mtls_err err)
{
    const char *w;
    if (err == MTLS_ERR_CRL_UNSUPPORTED)
        return "a CRL we do not support (delta, indirect, scoped by reasons, no nextUpdate, "
               "critical extension, signature algorithm)";
    if ((w = non_der(rd_init(der, len), 0)))
        return w;
    long ver = X509_CRL_get_version(x);
    rd r = rd_init(der, len), list, tbs;
    if (!x509_der_expect(&r, DER_SEQUENCE, &list) || !x509_der_expect(&list, DER_SEQUENCE, &tbs))
        return NULL;
    if (x509_der_peek(&tbs, DER_INTEGER) && ver != 1)
        return "a version other than v2 written out (RFC 5280 5.1.2.1)";
    if (ver > 1)
        return "version beyond v2";
    bool entry_exts = false;
    STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(x);
    for (int i = 0; i < sk_X509_REVOKED_num(revs); i++) {
        X509_REVOKED *rv = sk_X509_REVOKED_value(revs, i);
        if (X509_REVOKED_get_ext_count(rv) > 0)
            entry_exts = true;
        if ((w = entry_rule(rv)))
            return w;
    }
    if (ver == 0 && (X509_CRL_get_ext_count(x) > 0 || entry_exts))
        return "extensions in a v1 CRL (RFC 5280 5.1.2.1)";
    /* walk the TBS (DER by now) for what the API hides */
    {
        rd t = tbs, a1, a2, l2 = list, issuer, skip, rl, e;
        const uint8_t *p1, *p2, *ip;
        size_t n1, n2, il;
        uint8_t tg;
        int64_t tu, nu;
        if (x509_der_peek(&t, DER_INTEGER))
            x509_der_any(&t, &tg, &skip, NULL, NULL);
        if (x509_der_expect_tlv(&t, DER_SEQUENCE, &a1, &p1, &n1) &&
            x509_der_expect_tlv(&l2, DER_SEQUENCE, &a2, &p2, &n2) &&
            (n1 != n2 || memcmp(p1, p2, n1) != 0))
            return "inner and outer signature AlgorithmIdentifiers differ (RFC 5280 5.1.1.2)";
        if (!x509_der_expect_tlv(&t, DER_SEQUENCE, &issuer, &ip, &il))
            return NULL;
        if (rd_done(&issuer))
            return "an empty issuer Name (RFC 5280 5.1.2.3)";
        if (empty_rdn(ip, il) || bad_ava(ip, il))
            return "issuer Name with an empty RDN or a malformed attribute";
        if (!x509_der_time(&t, &tu))
            return NULL;
        if (x509_der_time(&t, &nu) && nu < tu)
            return "nextUpdate before thisUpdate";
        if (x509_der_peek(&t, DER_SEQUENCE) && x509_der_expect(&t, DER_SEQUENCE, &rl)) {
            if (rd_done(&rl))
                return "an empty revokedCertificates list (RFC 5280 5.1.2.6: MUST be absent)";
            while (!rd_done(&rl)) {
                rd ent, sn, exts;
                int64_t d;
                if (!x509_der_expect(&rl, DER_SEQUENCE, &ent) ||
                    !x509_der_expect(&ent, DER_INTEGER, &sn) || !x509_der_time(&ent, &d))
                    return "a malformed revoked entry";
                if (!rd_done(&ent) &&
                    (!x509_der_expect(&ent, DER_SEQUENCE, &exts) || rd_done(&exts) ||
                     !rd_done(&ent)))
                    return "entry extensions empty or followed by more (SIZE (1..MAX))";
            }
        }
        if (x509_der_peek(&t, 0xa0) && x509_der_expect(&t, 0xa0, &e)) {
            rd s;
            if (x509_der_expect(&e, DER_SEQUENCE, &s) && rd_done(&s))
                return "an empty crlExtensions SEQUENCE (SIZE (1..MAX))";
        }
    }
    {
        const X509_ALGOR *alg;
        const ASN1_BIT_STRING *sig;
        X509_CRL_get0_signature(x, &sig, &alg);
        if (bad_sigalg_params(alg))
            return "signature AlgorithmIdentifier parameters (RFC 3279 / RFC 5758)";
        if (sig->flags & 0x07)
            return "signatureValue with unused bits";
    }
    const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(x);
    if (dup_ext(exts))
        return "a CRL extension twice";
    if (undecodable(exts, crl_ext_nids, sizeof crl_ext_nids / sizeof crl_ext_nids[0]))
        return "a CRL extension libcrypto's decoder refuses too (on use)";
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(e);
        rd v = rd_init(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
        if (nid == NID_crl_number) {
            const uint8_t *p;
            size_t n;
            if (!x509_der_integer(&v, &p, &n) || !rd_done(&v) || (p[0] & 0x80) || n > 21)
                return "cRLNumber negative or longer than 20 octets (RFC 5280 5.2.3)";
        } else if (nid == NID_authority_key_identifier) {
            if ((w = ext_rule(nid, v, false)))
                return w;
        } else if (nid == NID_issuing_distribution_point) {
            /* our IDP rules: not empty, DEFAULT FALSE never written, at most one only*,
             * fullName a non-empty GeneralNames */
            rd seq, fld;
            uint8_t tg;
            int only = 0;
            if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v) || rd_done(&seq))
                return "issuingDistributionPoint empty (RFC 5280 5.2.5)";
            while (!rd_done(&seq)) {
                if (!x509_der_any(&seq, &tg, &fld, NULL, NULL))
                    return "issuingDistributionPoint field";
                if ((tg == 0x81 || tg == 0x82 || tg == 0x84 || tg == 0x85) &&
                    (fld.n != 1 || fld.p[0] != 0xff))
                    return "issuingDistributionPoint BOOLEAN written as FALSE (DER omits DEFAULT)";
                if (tg == 0x81 || tg == 0x82 || tg == 0x85)
                    only++;
                if (tg == 0xa0) {
                    rd dn;
                    if (x509_der_peek(&fld, 0xa0) && x509_der_expect(&fld, 0xa0, &dn) &&
                        bad_general_names(dn, false))
                        return "issuingDistributionPoint fullName malformed";
                }
            }
            if (only > 1)
                return "issuingDistributionPoint with two only* flags (RFC 5280 5.2.5)";
        }
    }
    return NULL;
}

typedef struct {
    uint8_t serial[128];
    size_t serial_len;
    int64_t date;
    int reason;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->serial_len != y->serial_len)
        return x->serial_len < y->serial_len ? -1 : 1;
    return memcmp(x->serial, y->serial, x->serial_len);
}

static void compare_crl(X509_CRL *x, const x509_crl *c)
{
    const uint8_t *nd, *od;
    size_t nl, ol;
    X509_NAME_get0_der(X509_CRL_get_issuer(x), &nd, &nl);
    od = x509_crl_issuer_der(c, &ol);
    if (nl != ol || memcmp(nd, od, nl) != 0)
        finding("CRL issuer DER differs", NULL);
    bool ok = true, ok2 = true;
    if (tm_of(X509_CRL_get0_lastUpdate(x), &ok) != x509_crl_this_update(c) || !ok)
        finding("thisUpdate differs", NULL);
    if (!X509_CRL_get0_nextUpdate(x) ||
        tm_of(X509_CRL_get0_nextUpdate(x), &ok2) != x509_crl_next_update(c) || !ok2)
        finding("nextUpdate differs", NULL);
    STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(x);
    size_t n = revs ? (size_t)sk_X509_REVOKED_num(revs) : 0;
    if (n != x509_crl_revoked_count(c))
        finding("number of revoked entries differs", NULL);
    entry *theirs = calloc(n ? n : 1, sizeof *theirs);
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *rv = sk_X509_REVOKED_value(revs, (int)i);
        theirs[i].serial_len = int_content(X509_REVOKED_get0_serialNumber(rv), theirs[i].serial,
                                           sizeof theirs[i].serial);
        theirs[i].date = tm_of(X509_REVOKED_get0_revocationDate(rv), &ok);
        if (!ok)
            finding("we read a revocationDate libcrypto cannot", NULL);
        ASN1_ENUMERATED *re = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
        theirs[i].reason = re ? (int)ASN1_ENUMERATED_get(re) : -1;
        ASN1_ENUMERATED_free(re);
    }
    qsort(theirs, n, sizeof *theirs, entry_cmp);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *sn;
        size_t sl;
        int64_t date;
        int reason;
        if (!x509_crl_revoked_entry(c, i, &sn, &sl, &date, &reason))
            finding("revoked entry missing", NULL);
        if (sl != theirs[i].serial_len || memcmp(sn, theirs[i].serial, sl) != 0)
            finding("revoked serial differs", NULL);
        if (date != theirs[i].date)
            finding("revocationDate differs", NULL);
        if (reason != theirs[i].reason)
            finding("reasonCode differs", NULL);
    }
    free(theirs);
}

static void diff_crl(const uint8_t *p, size_t n)
{
    x509_crl *c = NULL;
    mtls_err err = x509_crl_parse(p, n, &c);
    const uint8_t *q = p;
    X509_CRL *x = d2i_X509_CRL(NULL, &q, (long)n);
    if (x && q != p + n) {
        X509_CRL_free(x);
        x = NULL;
    }
    if (err == MTLS_OK && !x) {
        size_t il;
        const uint8_t *id = x509_crl_issuer_der(c, &il);
        if (!name_libcrypto_refuses(id, il))
            finding("we accept a CRL d2i_X509_CRL refuses", NULL);
        note("crl, we accept", "a Name with an AttributeValue type libcrypto does not take");
    }
    if (err != MTLS_OK && x) {
        const char *why = deliberate_crl(x, p, n, err);
        if (!why)
            finding("we refuse a CRL d2i_X509_CRL accepts", mtls_err_name(err));
        note("crl", why);
    }
    if (err == MTLS_OK && x)
        compare_crl(x, c);
    X509_CRL_free(x);
    x509_crl_free(c);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        diff_crl(data + 1, size - 1);
    else
        diff_cert(data + 1, size - 1);
    return 0;
}
