/*
 * crl.c -- certificate revocation lists (RFC 5280 section 5): the strict parser, the set of CRLs
 * the verifier consults (x509_crls), and the status of one certificate according to it.
 *
 * Parsing is as strict as for certificates (der.c): DER only, fields in RFC order, the inner
 * signature AlgorithmIdentifier identical to the outer one, extensions only in a v2 CRL, every
 * extension we read fully consumed, none twice.  What is well-formed but would make us answer
 * wrongly is refused as MTLS_ERR_CRL_UNSUPPORTED rather than half-understood: delta CRLs,
 * indirect CRLs (certificateIssuer entries), CRLs scoped to some reasons or to attribute
 * certificates, entries with removeFromCRL, a critical extension we do not know (RFC 5280 5.2 /
 * 5.3: such a CRL MUST NOT be used), and a CRL without nextUpdate (RFC 5280 5.1.2.5: conforming
 * issuers MUST include it; without it a CRL would never go stale).
 *
 * A CRL is checked when it is used, not when it is loaded: the issuer's certificate (whose key
 * verifies the signature) is only known on a verified path.  The TBS digest is computed once at
 * parse time, so a check costs one signature verification per candidate CRL.  Entries are sorted
 * by serial once, so a lookup is a binary search however long the CRL.
 *
 * Invariants: a returned x509_crl has every field set and consistent, all views point into
 * crl->der; a set is read-only once loaded and may serve many threads.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/base.h"
#include "x509_int.h"

static const uint8_t oid_ext_akid[] = {0x55, 0x1d, 0x23};
static const uint8_t oid_crl_number[] = {0x55, 0x1d, 0x14};
static const uint8_t oid_delta_crl[] = {0x55, 0x1d, 0x1b};
static const uint8_t oid_idp[] = {0x55, 0x1d, 0x1c};
static const uint8_t oid_reason_code[] = {0x55, 0x1d, 0x15};
static const uint8_t oid_invalidity_date[] = {0x55, 0x1d, 0x18};
static const uint8_t oid_certificate_issuer[] = {0x55, 0x1d, 0x1d};

#define OID_EQ(o, want) x509_oid_eq((o), (want), sizeof(want))

/* A CRL or an entry has a handful of extensions; more is not a CRL we use. */
#define MAX_EXTENSIONS 32

typedef struct {
    const uint8_t *serial; /* INTEGER content, minimal */
    size_t serial_len;
    int64_t date;
    int reason; /* X509_REASON_* */
    bool has_invalidity;
    int64_t invalidity;
} crl_entry;

struct x509_crl {
    uint8_t *der;
    size_t der_len;
    const uint8_t *tbs; /* the whole TBSCertList TLV: the signed bytes */
    size_t tbs_len;
    const uint8_t *sig;
    size_t sig_len;
    x509_sigalg sigalg;
    uint8_t
        digest[CRY_MAX_HASH]; /* of the TBS with sigalg.hash; digest_len 0 when never verified */
    size_t digest_len;

    int version; /* 0 = v1, 1 = v2 */
    const uint8_t *issuer_der;
    size_t issuer_len;
    char *issuer_str;
    int64_t this_update, next_update;

    const uint8_t *akid; /* authorityKeyIdentifier keyIdentifier, NULL when absent */
    size_t akid_len;
    const uint8_t *number; /* cRLNumber content, NULL when absent */
    size_t number_len;
    /* issuingDistributionPoint (RFC 5280 5.2.5): the scope of the CRL */
    bool only_user, only_ca;
    const uint8_t *dp_names; /* fullName GeneralNames content, NULL when the CRL has none */
    size_t dp_names_len;

    crl_entry *entries; /* sorted by serial (length, then bytes) */
    size_t n_entries;
};

struct x509_crls {
    x509_crl **v;
    size_t n, cap;
    char failed[512]; /* the file that failed the last load, or "" */
};

/* ---- parsing ------------------------------------------------------------------------------- */

/* The parse result so far: malformed beats unsupported, which is only reported once the whole
 * CRL has been read (a CRL both malformed and unsupported is malformed). */
typedef struct {
    bool unsupported;
} pstate;

/* No extension twice (RFC 5280 4.2, which 5.2 and 5.3 follow). */
static bool first_time(rd *seen, size_t *n, const rd *oid)
{
    for (size_t i = 0; i < *n; i++) {
        if (x509_oid_eq(&seen[i], oid->p, oid->n))
            return false;
    }
    if (*n == MAX_EXTENSIONS)
        return false;
    seen[(*n)++] = *oid;
    return true;
}

/* reasonCode (RFC 5280 5.3.1): CRLReason ::= ENUMERATED { unspecified (0), keyCompromise (1),
 * cACompromise (2), affiliationChanged (3), superseded (4), cessationOfOperation (5),
 * certificateHold (6), -- value 7 is not used -- removeFromCRL (8), privilegeWithdrawn (9),
 * aACompromise (10) }. */
static bool parse_reason(rd *r, int *reason)
{
    uint32_t v;
    if (!x509_der_enumerated(r, &v) || v > 10 || v == 7)
        return false;
    *reason = (int)v;
    return true;
}

static mtls_err parse_entry_extensions(rd exts, crl_entry *e, pstate *ps)
{
    rd seq, seen[MAX_EXTENSIONS];
    size_t nseen = 0;
    /* crlEntryExtensions Extensions OPTIONAL; Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension */
    if (!x509_der_expect(&exts, DER_SEQUENCE, &seq) || !rd_done(&exts) || rd_done(&seq))
        return MTLS_ERR_CRL_PARSE;
    while (!rd_done(&seq)) {
        rd oid, v;
        bool critical;
        if (!x509_der_extension(&seq, &oid, &critical, &v) || !first_time(seen, &nseen, &oid))
            return MTLS_ERR_CRL_PARSE;
        if (OID_EQ(&oid, oid_reason_code)) {
            if (!parse_reason(&v, &e->reason) || !rd_done(&v))
                return MTLS_ERR_CRL_PARSE;
            /* RFC 5280 5.3.1: removeFromCRL "is for use with delta CRLs only"; a full CRL
             * carrying it is one we do not know how to read. */
            if (e->reason == X509_REASON_REMOVE_FROM_CRL)
                ps->unsupported = true;
        } else if (OID_EQ(&oid, oid_invalidity_date)) {
            /* RFC 5280 5.3.2: InvalidityDate ::= GeneralizedTime */
            if (!x509_der_peek(&v, DER_GENERALIZEDTIME) || !x509_der_time(&v, &e->invalidity) ||
                !rd_done(&v))
                return MTLS_ERR_CRL_PARSE;
            e->has_invalidity = true;
        } else if (OID_EQ(&oid, oid_certificate_issuer)) {
            /* RFC 5280 5.3.3: only in indirect CRLs, which we do not support (the entries after
             * it would belong to another issuer). */
            ps->unsupported = true;
        } else if (critical) {
            /* RFC 5280 5.3: "If a CRL contains a critical CRL entry extension that the
             * application cannot process, then the application MUST NOT use that CRL to
             * determine the status of any certificates." */
            ps->unsupported = true;
        }
    }
    return MTLS_OK;
}

/* Serials and cRLNumbers in minimal encoding: a total order (length, then bytes) in which equal
 * means the same number; for non-negative numbers it is the numeric order. */
static int serial_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    return an ? memcmp(a, b, an) : 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const crl_entry *x = a, *y = b;
    return serial_cmp(x->serial, x->serial_len, y->serial, y->serial_len);
}

static mtls_err parse_entries(x509_crl *crl, rd list, pstate *ps)
{
    size_t cap = 0;
    /* RFC 5280 5.1.2.6: "When there are no revoked certificates, the revoked certificates list
     * MUST be absent." */
    if (rd_done(&list))
        return MTLS_ERR_CRL_PARSE;
    while (!rd_done(&list)) {
        rd ent;
        crl_entry e = {NULL, 0, 0, X509_REASON_NONE, false, 0};
        /* SEQUENCE { userCertificate CertificateSerialNumber, revocationDate Time,
         *            crlEntryExtensions Extensions OPTIONAL } */
        if (!x509_der_expect(&list, DER_SEQUENCE, &ent) ||
            !x509_der_integer(&ent, &e.serial, &e.serial_len) || e.serial_len > 21 ||
            !x509_der_time(&ent, &e.date))
            return MTLS_ERR_CRL_PARSE;
        if (!rd_done(&ent)) {
            /* RFC 5280 5.1.2.6: entry extensions only in a v2 CRL */
            if (crl->version != 1)
                return MTLS_ERR_CRL_PARSE;
            mtls_err err = parse_entry_extensions(ent, &e, ps);
            if (err)
                return err;
        }
        if (crl->n_entries == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            crl_entry *q = mem_realloc(crl->entries, ncap * sizeof *q);
            if (!q)
                return MTLS_ERR_NO_MEMORY;
            crl->entries = q;
            cap = ncap;
        }
        crl->entries[crl->n_entries++] = e;
    }
    qsort(crl->entries, crl->n_entries, sizeof *crl->entries, entry_cmp);
    return MTLS_OK;
}

/* GeneralNames (SIZE (1..MAX)): every element a well-formed context-specific TLV. */
static bool general_names(rd names)
{
    if (rd_done(&names))
        return false;
    while (!rd_done(&names)) {
        uint8_t tag;
        rd body;
        if (!x509_der_any(&names, &tag, &body, NULL, NULL) || (tag & 0xc0) != 0x80 ||
            (tag & 0x1f) > 8)
            return false;
    }
    return true;
}

/* An IMPLICIT [n] BOOLEAN DEFAULT FALSE that is present: DER leaves FALSE out, so TRUE only. */
static bool implicit_true(rd *r, uint8_t tag, bool *v)
{
    rd b;
    if (!x509_der_peek(r, tag))
        return true;
    if (!x509_der_expect(r, tag, &b) || b.n != 1 || b.p[0] != 0xff)
        return false;
    *v = true;
    return true;
}

static mtls_err parse_idp(x509_crl *crl, rd v, pstate *ps)
{
    /* IssuingDistributionPoint ::= SEQUENCE {
     *     distributionPoint          [0] DistributionPointName OPTIONAL,
     *     onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
     *     onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
     *     onlySomeReasons            [3] ReasonFlags OPTIONAL,
     *     indirectCRL                [4] BOOLEAN DEFAULT FALSE,
     *     onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
     * DistributionPointName ::= CHOICE { fullName [0] GeneralNames,
     *                                    nameRelativeToCRLIssuer [1] RelativeDistinguishedName }
     * (implicit tags, but a tagged CHOICE is explicit: [0] { [0] { GeneralName... } }) */
    rd seq, dp, f;
    bool indirect = false, attr = false;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
        return MTLS_ERR_CRL_PARSE;
    /* RFC 5280 5.2.5: "Conforming CRL issuers MUST NOT issue CRLs where the DER encoding of the
     * issuing distribution point extension is an empty sequence." */
    if (rd_done(&seq))
        return MTLS_ERR_CRL_PARSE;
    if (x509_der_peek(&seq, der_ctx_cons(0))) {
        if (!x509_der_expect(&seq, der_ctx_cons(0), &dp))
            return MTLS_ERR_CRL_PARSE;
        if (x509_der_peek(&dp, der_ctx_cons(0))) {
            if (!x509_der_expect(&dp, der_ctx_cons(0), &f) || !rd_done(&dp) || !general_names(f))
                return MTLS_ERR_CRL_PARSE;
            crl->dp_names = f.p;
            crl->dp_names_len = f.n;
        } else {
            /* nameRelativeToCRLIssuer: matched against the certificate's distribution point
             * names joined to the issuer name -- not supported. */
            if (!x509_der_expect(&dp, der_ctx_cons(1), &f) || !rd_done(&dp) || rd_done(&f))
                return MTLS_ERR_CRL_PARSE;
            ps->unsupported = true;
        }
    }
    if (!implicit_true(&seq, der_ctx(1), &crl->only_user) ||
        !implicit_true(&seq, der_ctx(2), &crl->only_ca))
        return MTLS_ERR_CRL_PARSE;
    if (x509_der_peek(&seq, der_ctx(3))) {
        /* onlySomeReasons: this CRL alone cannot clear a certificate for the other reasons. */
        if (!x509_der_expect(&seq, der_ctx(3), &f) || f.n == 0)
            return MTLS_ERR_CRL_PARSE;
        ps->unsupported = true;
    }
    if (!implicit_true(&seq, der_ctx(4), &indirect) || !implicit_true(&seq, der_ctx(5), &attr) ||
        !rd_done(&seq))
        return MTLS_ERR_CRL_PARSE;
    /* RFC 5280 5.2.5: "at most one of onlyContainsUserCerts, onlyContainsCACerts, and
     * onlyContainsAttributeCerts may be set to TRUE." */
    if ((int)crl->only_user + (int)crl->only_ca + (int)attr > 1)
        return MTLS_ERR_CRL_PARSE;
    if (indirect || attr)
        ps->unsupported = true;
    return MTLS_OK;
}

static mtls_err parse_akid(x509_crl *crl, rd v)
{
    /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] OPTIONAL,
     *     authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2] OPTIONAL }
     */
    rd seq, f;
    if (!x509_der_expect(&v, DER_SEQUENCE, &seq) || !rd_done(&v))
        return MTLS_ERR_CRL_PARSE;
    if (x509_der_peek(&seq, der_ctx(0))) {
        if (!x509_der_expect(&seq, der_ctx(0), &f))
            return MTLS_ERR_CRL_PARSE;
        crl->akid = f.p;
        crl->akid_len = f.n;
    }
    if (x509_der_peek(&seq, der_ctx_cons(1)) && !x509_der_expect(&seq, der_ctx_cons(1), &f))
        return MTLS_ERR_CRL_PARSE;
    if (x509_der_peek(&seq, der_ctx(2)) && !x509_der_expect(&seq, der_ctx(2), &f))
        return MTLS_ERR_CRL_PARSE;
    return rd_done(&seq) ? MTLS_OK : MTLS_ERR_CRL_PARSE;
}

static mtls_err parse_crl_extensions(x509_crl *crl, rd exts, pstate *ps)
{
    rd seq, seen[MAX_EXTENSIONS];
    size_t nseen = 0;
    mtls_err err;
    if (!x509_der_expect(&exts, DER_SEQUENCE, &seq) || !rd_done(&exts) || rd_done(&seq))
        return MTLS_ERR_CRL_PARSE;
    while (!rd_done(&seq)) {
        rd oid, v;
        bool critical;
        if (!x509_der_extension(&seq, &oid, &critical, &v) || !first_time(seen, &nseen, &oid))
            return MTLS_ERR_CRL_PARSE;
        if (OID_EQ(&oid, oid_ext_akid)) {
            err = parse_akid(crl, v);
        } else if (OID_EQ(&oid, oid_crl_number)) {
            /* RFC 5280 5.2.3: CRLNumber ::= INTEGER (0..MAX), "CRL issuers MUST NOT use
             * CRLNumber values longer than 20 octets" (21 with a sign octet). */
            err = x509_der_integer(&v, &crl->number, &crl->number_len) && rd_done(&v) &&
                          !(crl->number[0] & 0x80) && crl->number_len <= 21
                      ? MTLS_OK
                      : MTLS_ERR_CRL_PARSE;
        } else if (OID_EQ(&oid, oid_idp)) {
            err = parse_idp(crl, v, ps);
        } else if (OID_EQ(&oid, oid_delta_crl)) {
            /* RFC 5280 5.2.4: a delta CRL lists only changes since a base CRL; on its own it
             * cannot clear a certificate.  Not supported. */
            ps->unsupported = true;
            err = MTLS_OK;
        } else {
            /* RFC 5280 5.2: "If a CRL contains a critical extension that the application cannot
             * process, then the application MUST NOT use that CRL to determine the status of
             * certificates." */
            if (critical)
                ps->unsupported = true;
            err = MTLS_OK;
        }
        if (err)
            return err;
    }
    return MTLS_OK;
}

static bool is_time(const rd *r)
{
    return x509_der_peek(r, DER_UTCTIME) || x509_der_peek(r, DER_GENERALIZEDTIME);
}

static mtls_err parse(x509_crl *crl)
{
    rd r = rd_init(crl->der, crl->der_len), list, tbs, outer_alg, inner_alg, f;
    const uint8_t *outer_tlv, *inner_tlv;
    size_t outer_len, inner_len;
    unsigned unused;
    bool has_next = false;
    pstate ps = {false};
    mtls_err err;

    /* CertificateList ::= SEQUENCE { tbsCertList TBSCertList,
     *     signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING } */
    if (!x509_der_expect(&r, DER_SEQUENCE, &list) || !rd_done(&r) ||
        !x509_der_expect_tlv(&list, DER_SEQUENCE, &tbs, &crl->tbs, &crl->tbs_len) ||
        !x509_der_expect_tlv(&list, DER_SEQUENCE, &outer_alg, &outer_tlv, &outer_len) ||
        !x509_der_bitstring(&list, &crl->sig, &crl->sig_len, &unused) || unused != 0 ||
        !rd_done(&list))
        return MTLS_ERR_CRL_PARSE;
    /* version Version OPTIONAL -- if present, MUST be v2 (RFC 5280 5.1.2.1) */
    crl->version = 0;
    if (x509_der_peek(&tbs, DER_INTEGER)) {
        uint32_t v;
        if (!x509_der_uint(&tbs, &v) || v != 1)
            return MTLS_ERR_CRL_PARSE;
        crl->version = 1;
    }
    /* signature: RFC 5280 5.1.1.2 "This field MUST contain the same algorithm identifier as the
     * signature field in the sequence tbsCertList". */
    if (!x509_der_expect_tlv(&tbs, DER_SEQUENCE, &inner_alg, &inner_tlv, &inner_len) ||
        inner_len != outer_len || memcmp(inner_tlv, outer_tlv, outer_len) != 0)
        return MTLS_ERR_CRL_PARSE;
    /* issuer: RFC 5280 5.1.2.3 "The issuer field MUST contain a non-empty X.500 distinguished
     * name". */
    if (!x509_der_expect_tlv(&tbs, DER_SEQUENCE, &f, &crl->issuer_der, &crl->issuer_len) ||
        rd_done(&f))
        return MTLS_ERR_CRL_PARSE;
    if (!x509_der_time(&tbs, &crl->this_update))
        return MTLS_ERR_CRL_PARSE;
    if (is_time(&tbs)) {
        if (!x509_der_time(&tbs, &crl->next_update))
            return MTLS_ERR_CRL_PARSE;
        has_next = true;
    }
    if (x509_der_peek(&tbs, DER_SEQUENCE)) {
        if (!x509_der_expect(&tbs, DER_SEQUENCE, &f))
            return MTLS_ERR_CRL_PARSE;
        err = parse_entries(crl, f, &ps);
        if (err)
            return err;
    }
    /* crlExtensions [0] EXPLICIT Extensions OPTIONAL -- if present, version MUST be v2 */
    if (x509_der_peek(&tbs, der_ctx_cons(0))) {
        if (crl->version != 1 || !x509_der_expect(&tbs, der_ctx_cons(0), &f))
            return MTLS_ERR_CRL_PARSE;
        err = parse_crl_extensions(crl, f, &ps);
        if (err)
            return err;
    }
    if (!rd_done(&tbs))
        return MTLS_ERR_CRL_PARSE;
    if (has_next && crl->next_update < crl->this_update)
        return MTLS_ERR_CRL_PARSE;
    crl->issuer_str = x509_name_to_string(crl->issuer_der, crl->issuer_len);
    if (!crl->issuer_str)
        return MTLS_ERR_CRL_PARSE;
    err = x509_parse_sigalg(outer_alg, &crl->sigalg);
    if (err)
        return err == MTLS_ERR_CERT_UNSUPPORTED ? MTLS_ERR_CRL_UNSUPPORTED : MTLS_ERR_CRL_PARSE;
    /* RFC 5280 5.1.2.5: "Conforming CRL issuers MUST include the nextUpdate time in all CRLs."
     * Without it a CRL never goes stale; we refuse it rather than trust it forever. */
    if (ps.unsupported || !has_next)
        return MTLS_ERR_CRL_UNSUPPORTED;
    if (crl->sigalg.scheme != 0 && !crl->sigalg.weak &&
        cry_hash_oneshot(crl->sigalg.hash, crl->tbs, crl->tbs_len, crl->digest) == 1)
        crl->digest_len = cry_hash_len(crl->sigalg.hash);
    return MTLS_OK;
}

mtls_err x509_crl_parse(const uint8_t *der, size_t len, x509_crl **out)
{
    if (!out || (!der && len))
        return MTLS_ERR_INVALID_ARG;
    *out = NULL;
    x509_crl *crl = mem_calloc(1, sizeof *crl);
    if (!crl)
        return MTLS_ERR_NO_MEMORY;
    crl->der = mem_alloc(len ? len : 1);
    if (!crl->der) {
        mem_free(crl);
        return MTLS_ERR_NO_MEMORY;
    }
    if (len)
        memcpy(crl->der, der, len);
    crl->der_len = len;
    mtls_err err = parse(crl);
    if (err) {
        x509_crl_free(crl);
        return err;
    }
    *out = crl;
    return MTLS_OK;
}

void x509_crl_free(x509_crl *crl)
{
    if (!crl)
        return;
    mem_free(crl->entries);
    mem_free(crl->issuer_str);
    mem_free(crl->der);
    mem_free(crl);
}

const char *x509_crl_issuer(const x509_crl *crl)
{
    return crl->issuer_str;
}
const uint8_t *x509_crl_issuer_der(const x509_crl *crl, size_t *len)
{
    *len = crl->issuer_len;
    return crl->issuer_der;
}
int64_t x509_crl_this_update(const x509_crl *crl)
{
    return crl->this_update;
}
int64_t x509_crl_next_update(const x509_crl *crl)
{
    return crl->next_update;
}
const uint8_t *x509_crl_number(const x509_crl *crl, size_t *len)
{
    *len = crl->number_len;
    return crl->number;
}
size_t x509_crl_revoked_count(const x509_crl *crl)
{
    return crl->n_entries;
}

bool x509_crl_revoked_entry(const x509_crl *crl, size_t i, const uint8_t **serial,
                            size_t *serial_len, int64_t *date, int *reason)
{
    if (i >= crl->n_entries)
        return false;
    *serial = crl->entries[i].serial;
    *serial_len = crl->entries[i].serial_len;
    *date = crl->entries[i].date;
    *reason = crl->entries[i].reason;
    return true;
}

static const crl_entry *find_serial(const x509_crl *crl, const uint8_t *s, size_t n)
{
    size_t lo = 0, hi = crl->n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const crl_entry *e = &crl->entries[mid];
        int c = serial_cmp(e->serial, e->serial_len, s, n);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- the set ------------------------------------------------------------------------------- */

x509_crls *x509_crls_new(void)
{
    return mem_calloc(1, sizeof(x509_crls));
}

void x509_crls_free(x509_crls *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        x509_crl_free(s->v[i]);
    mem_free(s->v);
    mem_free(s);
}

size_t x509_crls_count(const x509_crls *s)
{
    return s ? s->n : 0;
}

const x509_crl *x509_crls_get(const x509_crls *s, size_t i)
{
    return s && i < s->n ? s->v[i] : NULL;
}

const char *x509_crls_error_file(const x509_crls *s)
{
    return s ? s->failed : "";
}

/* A growing list of parsed CRLs, committed to the set only when a whole load succeeded. */
typedef struct {
    x509_crl **v;
    size_t n, cap;
} crl_list;

static void list_free(crl_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        x509_crl_free(l->v[i]);
    mem_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static mtls_err list_add_der(crl_list *l, const uint8_t *der, size_t len)
{
    x509_crl *crl;
    mtls_err err = x509_crl_parse(der, len, &crl);
    if (err)
        return err;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        x509_crl **q = mem_realloc(l->v, cap * sizeof *q);
        if (!q) {
            x509_crl_free(crl);
            return MTLS_ERR_NO_MEMORY;
        }
        l->v = q;
        l->cap = cap;
    }
    l->v[l->n++] = crl;
    return MTLS_OK;
}

/* Every "X509 CRL" block of PEM `data`, or `data` as one DER CRL when it holds no such block. */
static mtls_err list_add_mem(crl_list *l, const uint8_t *data, size_t len)
{
    size_t pos = 0, found = 0;
    for (;;) {
        uint8_t *der;
        size_t der_len;
        int got = x509_pem_next(data, len, &pos, "X509 CRL", &der, &der_len);
        if (got == 0)
            break;
        if (got < 0)
            return MTLS_ERR_BAD_PEM;
        mtls_err err = list_add_der(l, der, der_len);
        mem_free(der);
        if (err)
            return err;
        found++;
    }
    if (found)
        return MTLS_OK;
    /* No PEM: DER is one CertificateList SEQUENCE. */
    if (len == 0 || data[0] != DER_SEQUENCE)
        return MTLS_ERR_BAD_PEM;
    return list_add_der(l, data, len);
}

static mtls_err commit(x509_crls *s, crl_list *l)
{
    if (s->n + l->n > s->cap) {
        size_t cap = s->cap ? s->cap : 8;
        while (cap < s->n + l->n)
            cap *= 2;
        x509_crl **q = mem_realloc(s->v, cap * sizeof *q);
        if (!q) {
            list_free(l);
            return MTLS_ERR_NO_MEMORY;
        }
        s->v = q;
        s->cap = cap;
    }
    memcpy(s->v + s->n, l->v, l->n * sizeof *l->v);
    s->n += l->n;
    mem_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
    return MTLS_OK;
}

mtls_err x509_crls_add_mem(x509_crls *s, const uint8_t *data, size_t len)
{
    crl_list l = {NULL, 0, 0};
    if (!s || (!data && len))
        return MTLS_ERR_INVALID_ARG;
    s->failed[0] = 0;
    mtls_err err = list_add_mem(&l, data, len);
    if (err) {
        list_free(&l);
        return err;
    }
    return commit(s, &l);
}

static mtls_err list_add_file(crl_list *l, const char *path)
{
    uint8_t *buf;
    size_t len;
    mtls_err err = x509_read_file(path, &buf, &len);
    if (err)
        return err;
    err = list_add_mem(l, buf, len);
    mem_free(buf);
    return err;
}

mtls_err x509_crls_add_file(x509_crls *s, const char *path)
{
    crl_list l = {NULL, 0, 0};
    if (!s || !path)
        return MTLS_ERR_INVALID_ARG;
    s->failed[0] = 0;
    mtls_err err = list_add_file(&l, path);
    if (err) {
        if (snprintf(s->failed, sizeof s->failed, "%s", path) < 0)
            s->failed[0] = 0;
        list_free(&l);
        return err;
    }
    return commit(s, &l);
}

/* The CRL files of a directory: with `hashed`, those named <hash>.r<N>, every one of which must
 * hold usable CRLs; without, every regular file, where those without any CRL are skipped. */
static mtls_err list_add_dir(crl_list *l, const char *path, bool hashed, char *failed, size_t cap)
{
    DIR *d = opendir(path);
    struct dirent *e;
    mtls_err err = MTLS_OK;
    if (!d)
        return MTLS_ERR_FILE;
    while ((e = readdir(d))) {
        char full[4096];
        struct stat st;
        if (e->d_name[0] == '.' || (hashed && !x509_hashed_name(e->d_name, true)))
            continue;
        if ((size_t)snprintf(full, sizeof full, "%s/%s", path, e->d_name) >= sizeof full)
            continue;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        err = list_add_file(l, full);
        if (err == MTLS_ERR_BAD_PEM && !hashed) {
            err = MTLS_OK;
            continue;
        }
        if (err) {
            if (snprintf(failed, cap, "%s", full) < 0) /* truncated at worst */
                failed[0] = 0;
            break;
        }
    }
    closedir(d);
    return err;
}

mtls_err x509_crls_add_dir(x509_crls *s, const char *path)
{
    crl_list l = {NULL, 0, 0};
    if (!s || !path)
        return MTLS_ERR_INVALID_ARG;
    s->failed[0] = 0;
    /* A c_rehash directory names each CRL <issuer hash>.r<n>; read those.  A directory without
     * such names is read whole. */
    mtls_err err = list_add_dir(&l, path, true, s->failed, sizeof s->failed);
    if (!err && l.n == 0)
        err = list_add_dir(&l, path, false, s->failed, sizeof s->failed);
    if (!err && l.n == 0)
        err = MTLS_ERR_BAD_PEM;
    if (err) {
        list_free(&l);
        return err;
    }
    return commit(s, &l);
}

/* ---- checking a certificate ---------------------------------------------------------------- */

static bool is_ca(const x509_cert *c)
{
    return c->has_bc && c->is_ca;
}

/* Does a name of the CRL's distribution point (IDP fullName) equal one of the certificate's
 * cRLDistributionPoints fullNames (RFC 5280 6.3.3 (b)(2)(i))?  Names compare as DER. */
static bool dp_matches(const x509_crl *crl, const x509_cert *c)
{
    rd v = rd_init(c->crldp, c->crldp_len), dps;
    /* CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
     * DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
     *     reasons [1] ReasonFlags OPTIONAL, cRLIssuer [2] GeneralNames OPTIONAL } */
    if (!c->crldp || !x509_der_expect(&v, DER_SEQUENCE, &dps) || !rd_done(&v))
        return false;
    while (!rd_done(&dps)) {
        rd dp, name, full;
        if (!x509_der_expect(&dps, DER_SEQUENCE, &dp))
            return false;
        if (!x509_der_expect(&dp, der_ctx_cons(0), &name) ||
            !x509_der_expect(&name, der_ctx_cons(0), &full))
            continue; /* no fullName: cannot match */
        while (!rd_done(&full)) {
            uint8_t tag;
            rd body;
            const uint8_t *tlv;
            size_t tlv_len;
            if (!x509_der_any(&full, &tag, &body, &tlv, &tlv_len))
                return false;
            rd mine = rd_init(crl->dp_names, crl->dp_names_len);
            while (!rd_done(&mine)) {
                uint8_t t2;
                rd b2;
                const uint8_t *tlv2;
                size_t tlv2_len;
                if (!x509_der_any(&mine, &t2, &b2, &tlv2, &tlv2_len))
                    return false;
                if (tlv2_len == tlv_len && memcmp(tlv, tlv2, tlv_len) == 0)
                    return true;
            }
        }
    }
    return false;
}

/* Is `crl` a CRL that can speak for `c`, issued by `issuer`? */
static bool covers(const x509_crl *crl, const x509_cert *c, const x509_cert *issuer)
{
    if (crl->issuer_len != c->issuer_len || memcmp(crl->issuer_der, c->issuer_der, c->issuer_len) ||
        issuer->subject_len != c->issuer_len ||
        memcmp(issuer->subject_der, c->issuer_der, c->issuer_len))
        return false;
    /* Another key of a CA with the same name (a re-keyed CA) signs its own CRLs. */
    if (crl->akid && issuer->skid &&
        (crl->akid_len != issuer->skid_len || memcmp(crl->akid, issuer->skid, crl->akid_len)))
        return false;
    /* RFC 5280 6.3.3 (b)(2)(ii), (iii): the scope of a CRL limited to end-entity or CA
     * certificates. */
    if ((crl->only_user && is_ca(c)) || (crl->only_ca && !is_ca(c)))
        return false;
    return !crl->dp_names || dp_matches(crl, c);
}

static bool newer(const x509_crl *a, const x509_crl *b)
{
    if (a->this_update != b->this_update)
        return a->this_update > b->this_update;
    return serial_cmp(a->number, a->number_len, b->number, b->number_len) > 0;
}

static mtls_err verdict(x509_revocation *out, x509_revoc_status st, const x509_crl *crl,
                        const char *why)
{
    out->status = st;
    out->why = why;
    if (crl) {
        snprintf(out->issuer, sizeof out->issuer, "%s", crl->issuer_str);
        out->this_update = crl->this_update;
        out->has_next_update = true;
        out->next_update = crl->next_update;
        if (crl->number) {
            memcpy(out->crl_number, crl->number, crl->number_len);
            out->crl_number_len = crl->number_len;
        }
    }
    return x509_revocation_err(out);
}

mtls_err x509_crls_check(const x509_crls *s, const x509_cert *cert, const x509_cert *issuer,
                         int64_t now, x509_revocation *out)
{
    const x509_crl *best = NULL, *bad_sig = NULL, *early = NULL;
    bool any = false;
    if (!out)
        return MTLS_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    out->source = X509_REVOC_SRC_CRL;
    out->reason = X509_REASON_NONE;
    if (!s || !cert || !issuer)
        return MTLS_ERR_INVALID_ARG;
    memcpy(out->serial, cert->serial, cert->serial_len);
    out->serial_len = cert->serial_len;
    snprintf(out->issuer, sizeof out->issuer, "%s", cert->issuer_str);

    for (size_t i = 0; i < s->n; i++) {
        const x509_crl *crl = s->v[i];
        if (!covers(crl, cert, issuer))
            continue;
        any = true;
        /* RFC 5280 6.3.3 (f): "If a key usage extension is present in the CRL issuer's
         * certificate, verify that the cRLSign bit is set." */
        if (issuer->has_ku && !(issuer->ku & X509_KU_CRL_SIGN))
            return verdict(out, X509_REVOC_NOT_AUTHORIZED, crl,
                           "the issuer's keyUsage does not allow cRLSign");
        /* RFC 5280 6.3.3 (g): "Validate the signature on the complete CRL". */
        if (!x509_signature_ok(&crl->sigalg, issuer, crl->digest, crl->digest_len, crl->sig,
                               crl->sig_len)) {
            if (!bad_sig || newer(crl, bad_sig))
                bad_sig = crl;
            continue;
        }
        if (crl->this_update > now) {
            if (!early || crl->this_update < early->this_update)
                early = crl;
            continue;
        }
        if (!best || newer(crl, best))
            best = crl;
    }
    if (!any)
        return verdict(out, X509_REVOC_NO_INFO, NULL, "");
    if (!best && early)
        return verdict(out, X509_REVOC_NOT_YET_VALID, early, "");
    if (!best)
        return verdict(out, X509_REVOC_BAD_SIGNATURE, bad_sig,
                       bad_sig->sigalg.weak
                           ? "it is signed with a broken hash (SHA-1 or MD5)"
                           : "its signature does not verify with the issuer's key");
    /* The newest CRL in force decides.  A revocation it lists stands even when the CRL is past
     * its nextUpdate: later CRLs may only drop an entry that has expired or was on hold. */
    const crl_entry *e = find_serial(best, cert->serial, cert->serial_len);
    if (e) {
        out->revocation_time = e->date;
        out->reason = e->reason;
        out->has_invalidity = e->has_invalidity;
        out->invalidity_date = e->invalidity;
        return verdict(out, X509_REVOC_REVOKED, best, "");
    }
    /* RFC 5280 6.3.3 (a): a CRL past its nextUpdate is no longer current. */
    if (now > best->next_update)
        return verdict(out, X509_REVOC_EXPIRED, best, "");
    return verdict(out, X509_REVOC_GOOD, best, "");
}
