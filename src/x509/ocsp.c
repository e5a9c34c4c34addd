/*
 * ocsp.c -- OCSP responses (RFC 6960): the strict parser and the status of one certificate
 * according to a response (a stapled one, RFC 6066 8 / RFC 8446 4.4.2.1).
 *
 * Parsing: DER only (der.c), the fields in RFC order, OCSPResponse with its responseStatus and,
 * for a successful one, a BasicOCSPResponse (the only response type RFC 6960 4.2.1 requires):
 * ResponseData v1 (the version field absent, as DER demands), a ResponderID by name or by key,
 * producedAt, the SingleResponses, extensions (nonce ignored: a stapled response answers no
 * request of ours; any critical one is refused), the signature and the certificates carried
 * (parsed by cert.c; those with keys or algorithms we do not use are dropped).  CertIDs with a
 * hash other than SHA-1/256/384/512 are kept but never match.
 *
 * Checking (x509_ocsp_check) follows RFC 6960 3.2: the response is signed by the certificate's
 * issuer, or by a responder certificate carried in the response that the issuer itself issued
 * with id-kp-OCSPSigning (4.2.2.2) -- valid now, RSA keys of at least 2048 bits, not signed with
 * a broken hash; its revocation is not checked (as if it carried id-pkix-ocsp-nocheck).  Then
 * the SingleResponse whose CertID names the certificate (issuer name hash, issuer key hash,
 * serial) gives the status; when several do, the most severe wins (revoked, then unknown).
 * A revoked status stands however old the response; good and unknown need a current response:
 * thisUpdate no later than now + X509_OCSP_SKEW, nextUpdate no earlier than now -
 * X509_OCSP_SKEW, and without nextUpdate a thisUpdate no older than X509_OCSP_MAX_AGE.
 *
 * Invariants: a returned x509_ocsp is fully parsed and consistent, views point into r->der;
 * it is immutable, so one response may be checked from many threads.
 */
#include <stdio.h>
#include <string.h>

#include "../base/base.h"
#include "x509_int.h"

static const uint8_t oid_ocsp_basic[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};
static const uint8_t oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
#define NIST_HASH 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02
static const uint8_t oid_sha256[] = {NIST_HASH, 0x01};
static const uint8_t oid_sha384[] = {NIST_HASH, 0x02};
static const uint8_t oid_sha512[] = {NIST_HASH, 0x03};

#define OID_EQ(o, want) x509_oid_eq((o), (want), sizeof(want))

#define MAX_SINGLE 256    /* SingleResponses in one response (a staple has one) */
#define MAX_CERTS 16      /* certificates carried in one response */
#define MAX_EXTENSIONS 16 /* per extension list */
#define MIN_RSA_BITS 2048 /* for a delegated responder, as for the chain (verify.c) */
#define NO_HASH CRY_HASH_COUNT

enum { STATUS_GOOD = 0, STATUS_REVOKED = 1, STATUS_UNKNOWN = 2 };

typedef struct {
    cry_hash_alg hash; /* NO_HASH: an algorithm we do not compute; the CertID never matches */
    const uint8_t *name_hash, *key_hash, *serial;
    size_t name_hash_len, key_hash_len, serial_len;
    int status;
    int64_t revocation_time;
    int reason;
    int64_t this_update, next_update;
    bool has_next;
} ocsp_single;

struct x509_ocsp {
    uint8_t *der;
    size_t der_len;
    int status; /* OCSPResponseStatus */
    /* A successful response: */
    const uint8_t *tbs; /* the whole ResponseData TLV: the signed bytes */
    size_t tbs_len;
    x509_sigalg sigalg;
    uint8_t digest[CRY_MAX_HASH]; /* 0 bytes when the algorithm is never verified */
    size_t digest_len;
    const uint8_t *sig;
    size_t sig_len;
    bool by_key;
    const uint8_t *rid; /* byName: the Name TLV; byKey: the 20-byte SHA-1 KeyHash */
    size_t rid_len;
    char *rid_str; /* the responder for messages: RFC 4514 name, or "key hash 0x..." */
    int64_t produced_at;
    ocsp_single *single;
    size_t n_single;
    x509_cert **certs;
    size_t n_certs;
};

/* ---- parsing ------------------------------------------------------------------------------- */

/* Extensions [n] EXPLICIT: known ones are all ignorable (nonce, CRL references, archive cutoff);
 * RFC 6960 4.4: "Unrecognized extensions MUST be ignored (unless they have the critical flag set
 * and are not understood)" -- so a critical one is refused. */
static bool extensions_ok(rd *r, uint8_t tag)
{
    rd f, seq, seen[MAX_EXTENSIONS];
    size_t n = 0;
    if (!x509_der_peek(r, tag))
        return true;
    if (!x509_der_expect(r, tag, &f) || !x509_der_expect(&f, DER_SEQUENCE, &seq) || !rd_done(&f) ||
        rd_done(&seq))
        return false;
    while (!rd_done(&seq)) {
        rd oid, v;
        bool critical;
        if (!x509_der_extension(&seq, &oid, &critical, &v) || critical || n == MAX_EXTENSIONS)
            return false;
        for (size_t i = 0; i < n; i++) {
            if (x509_oid_eq(&seen[i], oid.p, oid.n))
                return false;
        }
        seen[n++] = oid;
    }
    return true;
}

static bool generalized_time(rd *r, int64_t *t)
{
    return x509_der_peek(r, DER_GENERALIZEDTIME) && x509_der_time(r, t);
}

static bool parse_cert_id(rd *r, ocsp_single *s)
{
    /* CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
     *                       issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber } */
    rd id, alg, oid, nh, kh, nul;
    if (!x509_der_expect(r, DER_SEQUENCE, &id) || !x509_der_expect(&id, DER_SEQUENCE, &alg) ||
        !x509_der_oid(&alg, &oid))
        return false;
    /* parameters: NULL or absent (RFC 5754 2: both occur for SHA-2) */
    if (!rd_done(&alg) && (!x509_der_expect(&alg, DER_NULL, &nul) || nul.n != 0 || !rd_done(&alg)))
        return false;
    s->hash = OID_EQ(&oid, oid_sha1)     ? CRY_SHA1
              : OID_EQ(&oid, oid_sha256) ? CRY_SHA256
              : OID_EQ(&oid, oid_sha384) ? CRY_SHA384
              : OID_EQ(&oid, oid_sha512) ? CRY_SHA512
                                         : NO_HASH;
    if (!x509_der_expect(&id, DER_OCTET_STRING, &nh) ||
        !x509_der_expect(&id, DER_OCTET_STRING, &kh) ||
        !x509_der_integer(&id, &s->serial, &s->serial_len) || s->serial_len > 21 || !rd_done(&id))
        return false;
    if (s->hash != NO_HASH && (nh.n != cry_hash_len(s->hash) || kh.n != cry_hash_len(s->hash)))
        return false;
    s->name_hash = nh.p;
    s->name_hash_len = nh.n;
    s->key_hash = kh.p;
    s->key_hash_len = kh.n;
    return true;
}

static bool parse_single(rd *r, ocsp_single *s)
{
    /* SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus,
     *     thisUpdate GeneralizedTime, nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL,
     *     singleExtensions [1] EXPLICIT Extensions OPTIONAL }
     * CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
     *                         unknown [2] IMPLICIT UnknownInfo }
     * RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime,
     *                            revocationReason [0] EXPLICIT CRLReason OPTIONAL } */
    rd sr, st, f;
    uint8_t tag;
    if (!x509_der_expect(r, DER_SEQUENCE, &sr) || !parse_cert_id(&sr, s) ||
        !x509_der_any(&sr, &tag, &st, NULL, NULL))
        return false;
    s->reason = X509_REASON_NONE;
    if (tag == der_ctx(0) || tag == der_ctx(2)) {
        if (st.n != 0)
            return false;
        s->status = tag == der_ctx(0) ? STATUS_GOOD : STATUS_UNKNOWN;
    } else if (tag == der_ctx_cons(1)) {
        s->status = STATUS_REVOKED;
        if (!generalized_time(&st, &s->revocation_time))
            return false;
        if (!rd_done(&st)) {
            uint32_t v;
            if (!x509_der_expect(&st, der_ctx_cons(0), &f) || !x509_der_enumerated(&f, &v) ||
                !rd_done(&f) || v > 10 || v == 7 || !rd_done(&st))
                return false;
            s->reason = (int)v;
        }
    } else {
        return false;
    }
    if (!generalized_time(&sr, &s->this_update))
        return false;
    if (x509_der_peek(&sr, der_ctx_cons(0))) {
        if (!x509_der_expect(&sr, der_ctx_cons(0), &f) || !generalized_time(&f, &s->next_update) ||
            !rd_done(&f) || s->next_update < s->this_update)
            return false;
        s->has_next = true;
    }
    return extensions_ok(&sr, der_ctx_cons(1)) && rd_done(&sr);
}

/* "0x" + hex, for a responder known by its key hash. */
static char *hex_string(const char *prefix, const uint8_t *p, size_t n)
{
    size_t cap = strlen(prefix) + 2 * n + 1;
    char *s = mem_alloc(cap);
    if (!s)
        return NULL;
    size_t k = (size_t)snprintf(s, cap, "%s", prefix);
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%02X", p[i]);
    return s;
}

static mtls_err parse_certs(x509_ocsp *o, rd *r)
{
    /* certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL */
    rd f, seq;
    if (!x509_der_peek(r, der_ctx_cons(0)))
        return MTLS_OK;
    if (!x509_der_expect(r, der_ctx_cons(0), &f) || !x509_der_expect(&f, DER_SEQUENCE, &seq) ||
        !rd_done(&f))
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    o->certs = mem_calloc(MAX_CERTS, sizeof *o->certs);
    if (!o->certs)
        return MTLS_ERR_NO_MEMORY;
    while (!rd_done(&seq)) {
        const uint8_t *tlv;
        size_t tlv_len;
        rd body;
        x509_cert *c;
        if (!x509_der_expect_tlv(&seq, DER_SEQUENCE, &body, &tlv, &tlv_len) ||
            o->n_certs == MAX_CERTS)
            return MTLS_ERR_OCSP_BAD_RESPONSE;
        mtls_err err = x509_cert_parse(tlv, tlv_len, &c);
        if (err == MTLS_ERR_CERT_UNSUPPORTED)
            continue; /* a responder we could never use */
        if (err)
            return err == MTLS_ERR_NO_MEMORY ? err : MTLS_ERR_OCSP_BAD_RESPONSE;
        o->certs[o->n_certs++] = c;
    }
    return MTLS_OK;
}

static mtls_err parse_basic(x509_ocsp *o, rd basic)
{
    rd resp, data, alg, f, list;
    unsigned unused;
    uint8_t tag;
    mtls_err err;
    /* BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData,
     *     signatureAlgorithm AlgorithmIdentifier, signature BIT STRING,
     *     certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL } */
    if (!x509_der_expect(&basic, DER_SEQUENCE, &resp) || !rd_done(&basic) ||
        !x509_der_expect_tlv(&resp, DER_SEQUENCE, &data, &o->tbs, &o->tbs_len) ||
        !x509_der_expect(&resp, DER_SEQUENCE, &alg) ||
        !x509_der_bitstring(&resp, &o->sig, &o->sig_len, &unused) || unused != 0)
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    err = parse_certs(o, &resp);
    if (err)
        return err;
    if (!rd_done(&resp))
        return MTLS_ERR_OCSP_BAD_RESPONSE;

    /* ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
     *     responderID ResponderID, producedAt GeneralizedTime,
     *     responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT Extensions
     *     OPTIONAL }
     * Only v1 exists, and DER leaves a DEFAULT value out: a version field is not DER. */
    /* ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }  (explicit tags)
     * KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key */
    if (!x509_der_any(&data, &tag, &f, NULL, NULL))
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    if (tag == der_ctx_cons(1)) {
        rd name;
        if (!x509_der_expect_tlv(&f, DER_SEQUENCE, &name, &o->rid, &o->rid_len) || !rd_done(&f))
            return MTLS_ERR_OCSP_BAD_RESPONSE;
        o->rid_str = x509_name_to_string(o->rid, o->rid_len);
    } else if (tag == der_ctx_cons(2)) {
        rd kh;
        if (!x509_der_expect(&f, DER_OCTET_STRING, &kh) || !rd_done(&f) || kh.n != 20)
            return MTLS_ERR_OCSP_BAD_RESPONSE;
        o->by_key = true;
        o->rid = kh.p;
        o->rid_len = kh.n;
        o->rid_str = hex_string("the responder with key hash 0x", kh.p, kh.n);
    } else {
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    }
    if (!o->rid_str)
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    if (!generalized_time(&data, &o->produced_at) || !x509_der_expect(&data, DER_SEQUENCE, &list))
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    for (rd count = list; !rd_done(&count);) {
        rd one;
        if (!x509_der_expect(&count, DER_SEQUENCE, &one) || o->n_single == MAX_SINGLE)
            return MTLS_ERR_OCSP_BAD_RESPONSE;
        o->n_single++;
    }
    if (o->n_single) {
        o->single = mem_calloc(o->n_single, sizeof *o->single);
        if (!o->single)
            return MTLS_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < o->n_single; i++) {
        if (!parse_single(&list, &o->single[i]))
            return MTLS_ERR_OCSP_BAD_RESPONSE;
    }
    if (!extensions_ok(&data, der_ctx_cons(1)) || !rd_done(&data))
        return MTLS_ERR_OCSP_BAD_RESPONSE;

    if (x509_parse_sigalg(alg, &o->sigalg) != MTLS_OK)
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    if (o->sigalg.scheme != 0 && !o->sigalg.weak &&
        cry_hash_oneshot(o->sigalg.hash, o->tbs, o->tbs_len, o->digest) == 1)
        o->digest_len = cry_hash_len(o->sigalg.hash);
    return MTLS_OK;
}

static mtls_err parse(x509_ocsp *o)
{
    rd r = rd_init(o->der, o->der_len), resp, bytes, rb, oid, basic;
    uint32_t status;
    /* OCSPResponse ::= SEQUENCE { responseStatus OCSPResponseStatus,
     *                             responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
     * OCSPResponseStatus ::= ENUMERATED { successful (0), malformedRequest (1),
     *     internalError (2), tryLater (3), -- (4) is not used -- sigRequired (5),
     *     unauthorized (6) } */
    if (!x509_der_expect(&r, DER_SEQUENCE, &resp) || !rd_done(&r) ||
        !x509_der_enumerated(&resp, &status) || status > 6 || status == 4)
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    o->status = (int)status;
    if (status != 0) {
        /* RFC 6960 4.2.1: "If the value of responseStatus is one of the error conditions, the
         * responseBytes field is not set." */
        return rd_done(&resp) ? MTLS_OK : MTLS_ERR_OCSP_BAD_RESPONSE;
    }
    /* ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING } */
    if (!x509_der_expect(&resp, der_ctx_cons(0), &bytes) || !rd_done(&resp) ||
        !x509_der_expect(&bytes, DER_SEQUENCE, &rb) || !rd_done(&bytes) ||
        !x509_der_oid(&rb, &oid) || !x509_der_expect(&rb, DER_OCTET_STRING, &basic) ||
        !rd_done(&rb))
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    /* RFC 6960 4.2.1: "OCSP responders SHALL be capable of producing responses of the
     * id-pkix-ocsp-basic response type"; it is the only one we read. */
    if (!OID_EQ(&oid, oid_ocsp_basic))
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    return parse_basic(o, basic);
}

mtls_err x509_ocsp_parse(const uint8_t *der, size_t len, x509_ocsp **out)
{
    if (!out || (!der && len))
        return MTLS_ERR_INVALID_ARG;
    *out = NULL;
    x509_ocsp *o = mem_calloc(1, sizeof *o);
    if (!o)
        return MTLS_ERR_NO_MEMORY;
    o->der = mem_alloc(len ? len : 1);
    if (!o->der) {
        mem_free(o);
        return MTLS_ERR_NO_MEMORY;
    }
    if (len)
        memcpy(o->der, der, len);
    o->der_len = len;
    mtls_err err = parse(o);
    if (err) {
        x509_ocsp_free(o);
        return err;
    }
    *out = o;
    return MTLS_OK;
}

void x509_ocsp_free(x509_ocsp *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_certs; i++)
        x509_cert_free(o->certs[i]);
    mem_free(o->certs);
    mem_free(o->single);
    mem_free(o->rid_str);
    mem_free(o->der);
    mem_free(o);
}

int x509_ocsp_response_status(const x509_ocsp *o)
{
    return o->status;
}
int64_t x509_ocsp_produced_at(const x509_ocsp *o)
{
    return o->produced_at;
}
size_t x509_ocsp_single_count(const x509_ocsp *o)
{
    return o->n_single;
}

/* ---- checking ------------------------------------------------------------------------------ */

/* SHA-1 of a certificate's subjectPublicKey bits: the ResponderID byKey (RFC 6960 4.2.1). */
static bool key_hash(const x509_cert *c, cry_hash_alg h, uint8_t *out)
{
    const uint8_t *p;
    size_t n;
    return x509_cert_key_bits(c, &p, &n) && cry_hash_oneshot(h, p, n, out) == 1;
}

static bool names_responder(const x509_ocsp *o, const x509_cert *c)
{
    if (!o->by_key)
        return c->subject_len == o->rid_len && memcmp(c->subject_der, o->rid, o->rid_len) == 0;
    uint8_t h[CRY_MAX_HASH];
    return key_hash(c, CRY_SHA1, h) && memcmp(h, o->rid, 20) == 0;
}

static bool response_signed_by(const x509_ocsp *o, const x509_cert *signer)
{
    return x509_signature_ok(&o->sigalg, signer, o->digest, o->digest_len, o->sig, o->sig_len);
}

/* RFC 6960 4.2.2.2: may the carried certificate `r` sign responses about certificates of
 * `issuer`?  NULL when it may, else why not. */
static const char *delegation_problem(const x509_cert *r, const x509_cert *issuer, int64_t now)
{
    uint8_t digest[CRY_MAX_HASH];
    /* RFC 6960 4.2.2.2: a delegated (CA Designated) responder's certificate is issued directly
     * by the CA that issued the certificate in question, with the same key */
    if (r->issuer_len != issuer->subject_len ||
        memcmp(r->issuer_der, issuer->subject_der, r->issuer_len) != 0)
        return "the responder certificate was not issued by the certificate's issuer";
    if (r->sigalg.weak)
        return "the responder certificate is signed with a broken hash";
    if (r->sigalg.scheme == 0 ||
        cry_hash_oneshot(r->sigalg.hash, r->tbs, r->tbs_len, digest) != 1 ||
        !x509_signature_ok(&r->sigalg, issuer, digest, cry_hash_len(r->sigalg.hash), r->sig,
                           r->sig_len))
        return "the responder certificate's signature does not verify with the issuer's key";
    /* RFC 6960 4.2.2.2: and marked for the purpose by id-kp-OCSPSigning in its extendedKeyUsage */
    if (!r->has_eku || !(r->eku & X509_EKU_OCSP_SIGNING))
        return "the responder certificate does not carry id-kp-OCSPSigning (extendedKeyUsage)";
    if (now < r->not_before || now > r->not_after)
        return "the responder certificate is not within its validity period";
    if (r->key_type == CRY_KEY_RSA && r->key_bits < MIN_RSA_BITS)
        return "the responder certificate's RSA key is shorter than 2048 bits";
    return NULL;
}

static mtls_err verdict(x509_revocation *out, x509_revoc_status st, const char *why)
{
    out->status = st;
    out->why = why;
    return x509_revocation_err(out);
}

/* Is the response signed by someone allowed to speak for `issuer`?  Sets out->issuer to the
 * signer for messages; true when so, else false with the failing verdict filled in and its
 * error in *err. */
static bool find_signer(const x509_ocsp *o, const x509_cert *issuer, int64_t now,
                        x509_revocation *out, mtls_err *err)
{
    /* RFC 6960 3.2 (2): "The signature on the response is valid"; a broken hash makes it
     * meaningless whoever signed. */
    if (o->sigalg.weak) {
        *err = verdict(out, X509_REVOC_BAD_SIGNATURE,
                       "it is signed with a broken hash (SHA-1 or MD5)");
        return false;
    }
    /* RFC 6960 4.2.2.2: the key that signs the response belongs to the CA that issued the
     * certificate, to a locally trusted responder (we have none), or to a responder that CA
     * designated. */
    if (names_responder(o, issuer)) {
        snprintf(out->issuer, sizeof out->issuer, "%s (the issuer)", issuer->subject_str);
        if (response_signed_by(o, issuer))
            return true;
        *err = verdict(out, X509_REVOC_BAD_SIGNATURE,
                       "its signature does not verify with the issuer's key");
        return false;
    }
    const char *problem = NULL;
    const x509_cert *named = NULL;
    for (size_t i = 0; i < o->n_certs; i++) {
        const x509_cert *r = o->certs[i];
        if (!names_responder(o, r))
            continue;
        named = r;
        problem = delegation_problem(r, issuer, now);
        if (problem)
            continue;
        snprintf(out->issuer, sizeof out->issuer, "%s (a responder delegated by %s)",
                 r->subject_str, issuer->subject_str);
        if (response_signed_by(o, r))
            return true;
        *err = verdict(out, X509_REVOC_BAD_SIGNATURE,
                       "its signature does not verify with the responder's key");
    }
    if (named && !problem)
        return false; /* a bad signature, reported above */
    if (named) {
        snprintf(out->issuer, sizeof out->issuer, "%s (issued by %s)", named->subject_str,
                 named->issuer_str);
        *err = verdict(out, X509_REVOC_NOT_AUTHORIZED, problem);
        return false;
    }
    snprintf(out->issuer, sizeof out->issuer, "%s", o->rid_str);
    *err = verdict(out, X509_REVOC_NOT_AUTHORIZED,
                   "its signer (responderID) is neither the issuer nor a responder certificate "
                   "included in the response");
    return false;
}

static int severity(int status)
{
    return status == STATUS_REVOKED ? 2 : status == STATUS_UNKNOWN ? 1 : 0;
}

mtls_err x509_ocsp_check(const x509_ocsp *o, const x509_cert *cert, const x509_cert *issuer,
                         int64_t now, x509_revocation *out)
{
    mtls_err err = MTLS_OK;
    if (!out)
        return MTLS_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    out->source = X509_REVOC_SRC_OCSP;
    out->reason = X509_REASON_NONE;
    if (!o || !cert || !issuer)
        return MTLS_ERR_INVALID_ARG;
    memcpy(out->serial, cert->serial, cert->serial_len);
    out->serial_len = cert->serial_len;
    out->produced_at = o->produced_at;
    out->responder_status = o->status;
    /* RFC 6960 2.3: only "successful" carries a status */
    if (o->status != 0)
        return verdict(out, X509_REVOC_RESPONDER_ERROR, "");
    if (!find_signer(o, issuer, now, out, &err))
        return err;

    /* RFC 6960 3.2 (1): "The certificate identified in a received response corresponds to the
     * certificate that was identified in the corresponding request". */
    uint8_t name_h[CRY_HASH_COUNT][CRY_MAX_HASH], key_h[CRY_HASH_COUNT][CRY_MAX_HASH];
    bool done[CRY_HASH_COUNT] = {false}, ok[CRY_HASH_COUNT] = {false};
    const ocsp_single *pick = NULL;
    for (size_t i = 0; i < o->n_single; i++) {
        const ocsp_single *s = &o->single[i];
        if (s->hash == NO_HASH || s->serial_len != cert->serial_len ||
            memcmp(s->serial, cert->serial, cert->serial_len) != 0)
            continue;
        if (!done[s->hash]) {
            done[s->hash] = true;
            ok[s->hash] = cry_hash_oneshot(s->hash, cert->issuer_der, cert->issuer_len,
                                           name_h[s->hash]) == 1 &&
                          key_hash(issuer, s->hash, key_h[s->hash]);
        }
        size_t hl = cry_hash_len(s->hash);
        if (!ok[s->hash] || memcmp(s->name_hash, name_h[s->hash], hl) != 0 ||
            memcmp(s->key_hash, key_h[s->hash], hl) != 0)
            continue;
        if (!pick || severity(s->status) > severity(pick->status))
            pick = s;
    }
    if (!pick)
        return verdict(out, X509_REVOC_NO_INFO, "");
    out->this_update = pick->this_update;
    out->has_next_update = pick->has_next;
    out->next_update = pick->next_update;
    if (pick->status == STATUS_REVOKED) {
        out->revocation_time = pick->revocation_time;
        out->reason = pick->reason;
        return verdict(out, X509_REVOC_REVOKED, "");
    }
    /* RFC 6960 3.2 (4)-(5): "The time at which the status being indicated is known to be correct
     * (thisUpdate) is sufficiently recent"; "When available, the time at or before which newer
     * information will be available about the status of the certificate (nextUpdate) is
     * greater than the current time." */
    if (pick->this_update - X509_OCSP_SKEW > now)
        return verdict(out, X509_REVOC_NOT_YET_VALID, "");
    if (pick->has_next ? now > pick->next_update + X509_OCSP_SKEW
                       : now > pick->this_update + X509_OCSP_MAX_AGE)
        return verdict(out, X509_REVOC_EXPIRED, "");
    return verdict(out, pick->status == STATUS_GOOD ? X509_REVOC_GOOD : X509_REVOC_UNKNOWN, "");
}
