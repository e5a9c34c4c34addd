/*
 * x509.h -- our strict DER / X.509 parser, trust store, path building and name checks.
 *
 * Certificates received in a handshake are parsed here, never by libcrypto's decoders: only DER,
 * every length checked, unknown critical extensions rejected (RFC 5280).  Public keys are imported
 * into the crypto layer from their raw parts (cry_pkey_rsa_public / cry_pkey_ec_public).
 */
#ifndef MTLS_X509_H
#define MTLS_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../crypto/crypto.h"

typedef struct x509_cert x509_cert;

/* Parse one DER certificate (a copy of `der` is kept).  MTLS_ERR_CERT_PARSE on malformed input,
 * MTLS_ERR_CERT_UNSUPPORTED for an unknown critical extension or an unsupported key type. */
mtls_err x509_cert_parse(const uint8_t *der, size_t len, x509_cert **out);
/* Certificates are immutable once parsed and reference counted: up_ref shares, free drops. */
x509_cert *x509_cert_up_ref(x509_cert *c);
void x509_cert_free(x509_cert *c);

const uint8_t *x509_cert_der(const x509_cert *c, size_t *len);
/* The subject public key (borrowed; lives as long as the certificate, or until
 * x509_cert_drop_key).  NULL after x509_cert_drop_key. */
const cry_pkey *x509_cert_pubkey(const x509_cert *c);
/* Free the public-key object of a certificate whose key will not be used again (the handshake
 * that checked it is over); everything else stays.  Only for a certificate not yet shared with
 * another thread: the handshake drops keys before it publishes a session.  A certificate that came
 * from an x509_cache keeps its key (other connections use it). */
void x509_cert_drop_key(x509_cert *c);
/* RFC 4514 strings ("CN=example.org,O=Example"), never NULL. */
const char *x509_cert_subject(const x509_cert *c);
const char *x509_cert_issuer(const x509_cert *c);
/* The subject Name as it is encoded in the certificate (the whole DER TLV). */
const uint8_t *x509_cert_subject_der(const x509_cert *c, size_t *len);
/* subjectAltName entries as "DNS:name", "IP:1.2.3.4" / "IP:2001:db8::1", "URI:...", "email:...". */
size_t x509_cert_san_count(const x509_cert *c);
const char *x509_cert_san(const x509_cert *c, size_t i);
int64_t x509_cert_not_before(const x509_cert *c);
int64_t x509_cert_not_after(const x509_cert *c);
/* serialNumber: the INTEGER's content octets (minimal two's complement, borrowed). */
const uint8_t *x509_cert_serial(const x509_cert *c, size_t *len);
/* TLS feature extension (RFC 7633, id-pe-tlsfeature): true when it lists TLS extension `ext`. */
bool x509_cert_tls_feature(const x509_cert *c, uint16_t ext);
/* "Must staple": the TLS feature extension lists status_request (5).  A client that asked for a
 * stapled OCSP response (status_request) must then refuse the certificate without a valid one
 * (RFC 7633 4.2.3): x509_verify_params.ocsp_required. */
bool x509_cert_must_staple(const x509_cert *c);

/* A bounded cache of parsed certificates, keyed by their exact DER, shared by the connections of
 * one config: a peer seen again (the same server, the same client certificate) is not parsed and
 * its public key not imported again.  Only parsing is saved -- every handshake still verifies the
 * chain (signatures, validity at that moment, names, usages).  Thread-safe; entries are immutable
 * and reference counted; the least recently used entry is evicted when full. */
typedef struct x509_cache x509_cache;
/* NULL when out of memory; capacity must be at least 1. */
x509_cache *x509_cache_new(size_t capacity);
void x509_cache_free(x509_cache *cache);
/* x509_cert_parse through the cache: *out is a new reference to the cached certificate with the
 * same DER, or a freshly parsed one that is then cached.  Malformed input is never cached. */
mtls_err x509_cache_parse(x509_cache *cache, const uint8_t *der, size_t len, x509_cert **out);
/* Entries held, and lookups answered from the cache since creation (0 and 0 for NULL). */
void x509_cache_stats(x509_cache *cache, size_t *count, uint64_t *hits);

/* PEM: every "CERTIFICATE" block of `pem`, parsed, in order.  *out is an array the caller frees
 * with x509_chain_free.  MTLS_ERR_BAD_PEM when there is none. */
mtls_err x509_chain_from_pem(const uint8_t *pem, size_t len, x509_cert ***out, size_t *n);
void x509_chain_free(x509_cert **chain, size_t n);

/* Trust anchors. */
typedef struct x509_store x509_store;
x509_store *x509_store_new(void);
void x509_store_free(x509_store *s);
mtls_err x509_store_add_pem(x509_store *s, const uint8_t *pem, size_t len);
mtls_err x509_store_add_file(x509_store *s, const char *path);
mtls_err x509_store_add_dir(x509_store *s, const char *path);
/* The system store: /etc/ssl/certs/ca-certificates.crt, else the directory /etc/ssl/certs. */
mtls_err x509_store_add_system(x509_store *s);
size_t x509_store_count(const x509_store *s);
/* SHA-256 naming the set of anchors, whatever order they were added in (NULL or empty: the
 * digest of the empty set).  Sessions are bound to it (src/handshake/resume.c). */
mtls_err x509_store_digest(const x509_store *s, uint8_t out[32]);
/* The i-th anchor (i < x509_store_count), in the order they were added. */
const x509_cert *x509_store_get(const x509_store *s, size_t i);

/* ---- revocation: CRLs (crl.c), OCSP responses (ocsp.c), their verdict (revoc.c) ------------ */

/* CRLReason (RFC 5280 5.3.1), as CRL entries and OCSP RevokedInfo carry it. */
enum {
    X509_REASON_NONE = -1, /* the CRL entry / OCSP response gives no reason */
    X509_REASON_UNSPECIFIED = 0,
    X509_REASON_KEY_COMPROMISE = 1,
    X509_REASON_CA_COMPROMISE = 2,
    X509_REASON_AFFILIATION_CHANGED = 3,
    X509_REASON_SUPERSEDED = 4,
    X509_REASON_CESSATION_OF_OPERATION = 5,
    X509_REASON_CERTIFICATE_HOLD = 6,
    X509_REASON_REMOVE_FROM_CRL = 8,
    X509_REASON_PRIVILEGE_WITHDRAWN = 9,
    X509_REASON_AA_COMPROMISE = 10,
};
/* "keyCompromise", ...; "no reason given" for X509_REASON_NONE.  Never NULL. */
const char *x509_reason_name(int reason);

/* What a CRL or an OCSP response says about one certificate. */
typedef enum {
    X509_REVOC_GOOD = 0,       /* not revoked, per a valid CRL / OCSP response */
    X509_REVOC_REVOKED,        /* revoked (when and why in the verdict) */
    X509_REVOC_UNKNOWN,        /* OCSP certStatus unknown: the responder does not know it */
    X509_REVOC_NO_INFO,        /* CRL: none from the issuer covers it; OCSP: no SingleResponse
                                * for it (the response is about other certificates) */
    X509_REVOC_EXPIRED,        /* nextUpdate has passed (OCSP: or too old without one) */
    X509_REVOC_NOT_YET_VALID,  /* thisUpdate is in the future */
    X509_REVOC_BAD_SIGNATURE,  /* the signature does not verify, or uses a broken hash */
    X509_REVOC_NOT_AUTHORIZED, /* CRL: the issuer's keyUsage lacks cRLSign; OCSP: the signer is
                                * neither the issuer nor a responder it delegated */
    X509_REVOC_RESPONDER_ERROR /* OCSP responseStatus other than successful */
} x509_revoc_status;

typedef enum { X509_REVOC_SRC_CRL = 1, X509_REVOC_SRC_OCSP = 2 } x509_revoc_source;

/* A verdict, self-contained (copies, no pointers into the CRL or response). */
typedef struct {
    x509_revoc_status status;
    x509_revoc_source source;
    uint8_t serial[21]; /* the certificate's serialNumber (INTEGER content) */
    size_t serial_len;
    /* X509_REVOC_REVOKED: */
    int64_t revocation_time;
    int reason;          /* X509_REASON_*; X509_REASON_NONE when not given */
    bool has_invalidity; /* CRL entry invalidityDate (RFC 5280 5.3.2) */
    int64_t invalidity_date;
    /* The CRL or response that decided (or was found wanting): */
    char issuer[256];    /* CRL issuer, or OCSP signer ("CN=..., the issuer" / "delegated ...") */
    int64_t this_update; /* 0 when there is none (X509_REVOC_NO_INFO) */
    bool has_next_update;
    int64_t next_update;
    uint8_t crl_number[21]; /* cRLNumber INTEGER content; crl_number_len 0 when absent */
    size_t crl_number_len;
    int64_t produced_at;  /* OCSP */
    int responder_status; /* OCSP responseStatus (X509_REVOC_RESPONDER_ERROR) */
    const char *why;      /* static text for BAD_SIGNATURE / NOT_AUTHORIZED / EXPIRED, or "" */
} x509_revocation;

/* The error a verdict stands for: MTLS_OK for X509_REVOC_GOOD, MTLS_ERR_CERT_REVOKED, and the
 * CRL_* / OCSP_* errors of err.def for the rest (CRL, issuer without cRLSign: CERT_KEY_USAGE). */
mtls_err x509_revocation_err(const x509_revocation *r);
/* A sentence for a person: which certificate (`cert`: subject, issuer), its serial in hex, when
 * and why it was revoked, and which CRL (issuer, thisUpdate, cRLNumber) or OCSP response said
 * so; or what is wrong with the CRL / response. */
void x509_revocation_describe(const x509_revocation *r, const x509_cert *cert, char *buf,
                              size_t cap);

/* One CRL (RFC 5280 section 5), parsed strictly like a certificate (DER only, every field
 * checked).  MTLS_ERR_CRL_PARSE when malformed; MTLS_ERR_CRL_UNSUPPORTED for a well-formed CRL
 * mtls will not use (docs/x509.md: delta and indirect CRLs, partitioned by reasons, without
 * nextUpdate, an unknown critical extension, an unsupported signature algorithm). */
typedef struct x509_crl x509_crl;
mtls_err x509_crl_parse(const uint8_t *der, size_t len, x509_crl **out);
void x509_crl_free(x509_crl *crl);
const char *x509_crl_issuer(const x509_crl *crl); /* RFC 4514 */
const uint8_t *x509_crl_issuer_der(const x509_crl *crl, size_t *len); /* the Name TLV */
int64_t x509_crl_this_update(const x509_crl *crl);
int64_t x509_crl_next_update(const x509_crl *crl);
/* cRLNumber content octets; NULL (and *len 0) when the CRL has none. */
const uint8_t *x509_crl_number(const x509_crl *crl, size_t *len);
size_t x509_crl_revoked_count(const x509_crl *crl);
/* Entry i (in serial order): serial content octets, revocationDate, reason (X509_REASON_*). */
bool x509_crl_revoked_entry(const x509_crl *crl, size_t i, const uint8_t **serial,
                            size_t *serial_len, int64_t *date, int *reason);

/* A set of CRLs the verifier consults, indexed by issuer.  Read-only once loaded, so one set may
 * serve verifications on many threads.  Loading is all-or-nothing per call: a malformed or
 * unusable CRL fails the call and adds nothing (a CRL silently skipped would let a revoked
 * certificate through wherever a missing CRL is accepted). */
typedef struct x509_crls x509_crls;
x509_crls *x509_crls_new(void);
void x509_crls_free(x509_crls *s);
/* Every "X509 CRL" PEM block of `data`, or `data` as one DER CRL when it holds no PEM.
 * MTLS_ERR_BAD_PEM when there is no CRL at all. */
mtls_err x509_crls_add_mem(x509_crls *s, const uint8_t *data, size_t len);
mtls_err x509_crls_add_file(x509_crls *s, const char *path);
/* A hashed directory (c_rehash / openssl rehash layout): every file named <8 hex>.r<N> is read
 * (the name's hash is not recomputed; CRLs are indexed by their issuer DER).  A directory
 * without such names is read whole (every regular file not starting with a dot). */
mtls_err x509_crls_add_dir(x509_crls *s, const char *path);
size_t x509_crls_count(const x509_crls *s);
/* The i-th CRL of the set (i < x509_crls_count), in the order loaded. */
const x509_crl *x509_crls_get(const x509_crls *s, size_t i);
/* The path of the file that made the last add_file / add_dir fail, or "" (for the error detail
 * of a configuration call). */
const char *x509_crls_error_file(const x509_crls *s);
/* The status of `cert` according to the CRLs of `issuer` (the certificate that issued it, from
 * the verified path: its key checks the CRL's signature) at time `now`.  Fills *out and returns
 * x509_revocation_err(out).  Among the CRLs of that issuer that cover the certificate
 * (issuingDistributionPoint scope, authorityKeyIdentifier) and verify, the newest one already
 * in force decides; docs/x509.md has the whole policy. */
mtls_err x509_crls_check(const x509_crls *s, const x509_cert *cert, const x509_cert *issuer,
                         int64_t now, x509_revocation *out);

/* An OCSP response (RFC 6960), parsed strictly: OCSPResponse, and for a successful one the
 * BasicOCSPResponse with its certificates.  MTLS_ERR_OCSP_BAD_RESPONSE when malformed or
 * unsupported (response type, signature algorithm, critical extension). */
typedef struct x509_ocsp x509_ocsp;
mtls_err x509_ocsp_parse(const uint8_t *der, size_t len, x509_ocsp **out);
void x509_ocsp_free(x509_ocsp *r);
/* OCSPResponseStatus: 0 successful, 1 malformedRequest, 2 internalError, 3 tryLater,
 * 5 sigRequired, 6 unauthorized. */
int x509_ocsp_response_status(const x509_ocsp *r);
int64_t x509_ocsp_produced_at(const x509_ocsp *r);
size_t x509_ocsp_single_count(const x509_ocsp *r);
/* The status of `cert`, issued by `issuer`, according to response `r` at time `now`: the
 * response must be successful, signed by the issuer or by a responder certificate it carries
 * that the issuer issued with id-kp-OCSPSigning (RFC 6960 4.2.2.2), hold a SingleResponse whose
 * CertID (SHA-1/256/384/512) names this certificate, and be current (thisUpdate not after now +
 * X509_OCSP_SKEW; nextUpdate not before now - X509_OCSP_SKEW, or without nextUpdate thisUpdate
 * within X509_OCSP_MAX_AGE).  Fills *out and returns x509_revocation_err(out). */
#define X509_OCSP_SKEW 300            /* seconds of clock difference tolerated */
#define X509_OCSP_MAX_AGE (7 * 86400) /* a response without nextUpdate is good this long */
mtls_err x509_ocsp_check(const x509_ocsp *r, const x509_cert *cert, const x509_cert *issuer,
                         int64_t now, x509_revocation *out);

typedef enum { X509_PURPOSE_SERVER = 0, X509_PURPOSE_CLIENT = 1 } x509_purpose;

/* Which certificates of a verified path the CRLs are consulted for. */
typedef enum {
    X509_CRL_LEAF = 0, /* the end-entity certificate only */
    X509_CRL_CHAIN = 1 /* every certificate of the path but the trust anchor */
} x509_crl_scope;

typedef struct {
    x509_purpose purpose; /* EKU wanted of the leaf: serverAuth or clientAuth */
    const char *host;     /* name the leaf must match (DNS name or IP literal); NULL: no check */
    int64_t now;          /* seconds since the epoch */
    unsigned max_depth;   /* most certificates in a path, anchor included; 0 means 10 */
    /* SPIFFE (spiffe.c).  When either list is non-empty the leaf must be an X.509-SVID whose ID
     * is one of `spiffe_ids` (exact) or lies in one of `spiffe_domains` (trust domain names,
     * "example.org"), or verification fails with MTLS_ERR_CERT_SPIFFE_ID (not an SVID) /
     * MTLS_ERR_CERT_SPIFFE_DENIED (another ID).  The ID then takes the place of `host`: the
     * host name is not checked.  Entries are valid IDs / trust domains (checked by the caller
     * with x509_spiffe_id_problem / x509_spiffe_td_problem). */
    const char *const *spiffe_ids;
    size_t n_spiffe_ids;
    const char *const *spiffe_domains;
    size_t n_spiffe_domains;
    /* Revocation; all off when zero.  CRLs: with `crls` set, the certificates of crl_scope are
     * checked against the CRLs of their issuer on the path; an issuer without a CRL is
     * CRL_MISSING (hard fail) unless crl_soft_fail.  An expired, not yet valid or badly signed
     * CRL fails either way.  OCSP: `ocsp` (e.g. a stapled response) is checked for the leaf,
     * and any verdict but good fails (RFC 6066 8); without one, ocsp_required (configured, or
     * must-staple) is OCSP_MISSING.  A good OCSP response answers for the leaf: its CRL may then
     * be missing, stale or unverifiable, but a revocation the CRL lists still wins.  A path is
     * accepted only when its revocation checks pass (another path may be tried).  A trust
     * anchor is never checked. */
    const x509_crls *crls;
    x509_crl_scope crl_scope;
    bool crl_soft_fail;
    const x509_ocsp *ocsp;
    bool ocsp_required;
    /* Optional out: the verdict that failed the verification, else the leaf's (OCSP when
     * checked, else CRL); status X509_REVOC_NO_INFO with source 0 when nothing was checked. */
    x509_revocation *revocation;
    /* Optional out, on success: the verified path, leaf first and the trust anchor last (the
     * leaf alone when it is itself an anchor), `path` having room for X509_MAX_PATH.  Borrowed
     * from `chain` and `anchors`.  For a session that re-checks revocation on resumption. */
    const x509_cert **path;
    size_t *path_len;
} x509_verify_params;
#define X509_MAX_PATH 32 /* certificates in a path, at most (max_depth is capped to it) */

/* Build a path from chain[0] (the leaf) through the other certificates the peer sent (any order,
 * extras allowed) to an anchor in `anchors`, and check it: signatures, validity, basicConstraints
 * and pathLen, keyUsage, EKU, key strength, signature hash strength, revocation (when asked),
 * the host name.  On failure
 * returns the certificate error and writes a sentence naming the certificate and the problem into
 * `detail` ("certificate CN=www.example.org expired at 2025-01-01T00:00:00Z"). */
mtls_err x509_verify_chain(const x509_store *anchors, x509_cert *const *chain, size_t n,
                           const x509_verify_params *p, char *detail, size_t detail_cap);

/* RFC 6125 / RFC 9525 name check of the leaf against `host` (DNS name or IP literal).
 * 1 on a match. */
int x509_host_matches(const x509_cert *c, const char *host);

/* What a file meant for one of the loaders holds, when they found nothing usable in it. */
typedef enum { X509_FILE_CHAIN = 0, X509_FILE_KEY, X509_FILE_CA } x509_file_role;
/* For the error detail of a loader that failed on `data` (the file's bytes; `name` its path, or
 * NULL for data given in memory): when it is a known mistake -- a PKCS#12 bundle (DER) where PEM
 * is read, a key or certificate of an algorithm mtls does not use (Ed25519, Ed448, X25519, X448,
 * DSA, RSASSA-PSS-only keys, EC curves other than P-256/P-384) -- write a sentence into `out`
 * that names the file, what it holds and what to do, and return true; else false. */
bool x509_explain_unusable(const uint8_t *data, size_t len, x509_file_role role, const char *name,
                           char *out, size_t cap);

/* ---- additions by the x509 layer ----------------------------------------------------------- */

/* keyUsage of the certificate: 1 with *bits set (bit n of RFC 5280 4.2.1.3 is 1u << n:
 * digitalSignature 1u<<0, keyEncipherment 1u<<2, keyCertSign 1u<<5, ...) when the extension is
 * present, 0 (and *bits = 0) when absent, meaning "any use".  For per-suite checks: ECDHE needs
 * digitalSignature, static RSA key transport keyEncipherment. */
int x509_cert_key_usage(const x509_cert *c, unsigned *bits);

/* ---- certificate details, URI names and SPIFFE (cert.c, uri.c, spiffe.c) -------------------- */

/* Everything mtls_cert_info holds about `c`, except struct_size (left alone) and sha256 (the
 * caller hashes x509_cert_der).  Pointers live as long as the certificate. */
void x509_cert_info(const x509_cert *c, mtls_cert_info *out);

/* The SPIFFE ID of `c` when it is a valid X.509-SVID leaf (exactly one URI subjectAltName, a valid
 * SPIFFE ID with a path, not a CA, no keyCertSign or cRLSign), else NULL.  Lives as long as `c`. */
const char *x509_cert_spiffe_id(const x509_cert *c);
/* Why the n bytes at p are not a SPIFFE ID (a phrase: "has a query ('?')"), or NULL when they
 * are one.  need_path: an ID without a path (a trust domain's own ID) is refused too. */
const char *x509_spiffe_id_problem(const uint8_t *p, size_t n, bool need_path);
/* The same for a trust domain name alone ("example.org"). */
const char *x509_spiffe_td_problem(const uint8_t *p, size_t n);

#endif
