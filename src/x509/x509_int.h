/*
 * x509_int.h -- what the files of src/x509 share: the DER reader primitives, the parsed
 * certificate, and the store's lookup.  Not an interface for the rest of mtls (use x509.h); tests
 * may include it to reach parsed fields.
 *
 * Every pointer inside a parsed certificate points into the certificate's own copy of its DER
 * (`der`), so a certificate is one allocation of bytes plus a few strings, and views stay valid
 * as long as the certificate lives.
 */
#ifndef MTLS_X509_INT_H
#define MTLS_X509_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../codec/codec.h"
#include "x509.h"

/* ---- DER ----------------------------------------------------------------------------------- */

enum {
    DER_BOOLEAN = 0x01,
    DER_INTEGER = 0x02,
    DER_BIT_STRING = 0x03,
    DER_OCTET_STRING = 0x04,
    DER_NULL = 0x05,
    DER_OID = 0x06,
    DER_ENUMERATED = 0x0a,
    DER_UTF8STRING = 0x0c,
    DER_PRINTABLESTRING = 0x13,
    DER_T61STRING = 0x14,
    DER_IA5STRING = 0x16,
    DER_UTCTIME = 0x17,
    DER_GENERALIZEDTIME = 0x18,
    DER_VISIBLESTRING = 0x1a,
    DER_UNIVERSALSTRING = 0x1c,
    DER_BMPSTRING = 0x1e,
    DER_SEQUENCE = 0x30,
    DER_SET = 0x31,
};
/* Context-specific tags: [n] primitive and [n] constructed. */
static inline uint8_t der_ctx(unsigned n)
{
    return (uint8_t)(0x80 | n);
}
static inline uint8_t der_ctx_cons(unsigned n)
{
    return (uint8_t)(0xa0 | n);
}

/* One TLV of any tag: the tag, its content as a reader, and the whole encoding.  Fails (reader
 * unchanged) on a high tag number, an indefinite or non-minimal length, or a length longer than
 * what is left. */
bool x509_der_any(rd *r, uint8_t *tag, rd *content, const uint8_t **tlv, size_t *tlv_len);
/* One TLV whose tag must be `tag`. */
bool x509_der_expect(rd *r, uint8_t tag, rd *content);
/* Like x509_der_expect, also returning the whole encoding (for names kept as raw DER). */
bool x509_der_expect_tlv(rd *r, uint8_t tag, rd *content, const uint8_t **tlv, size_t *tlv_len);
/* True when the next byte is `tag` (an OPTIONAL or DEFAULT field is present). */
bool x509_der_peek(const rd *r, uint8_t tag);
/* INTEGER in minimal two's complement; `*p, *len` is the content. */
bool x509_der_integer(rd *r, const uint8_t **p, size_t *len);
/* A non-negative INTEGER that fits in 31 bits. */
bool x509_der_uint(rd *r, uint32_t *v);
/* A non-negative ENUMERATED that fits in 31 bits (CRLReason, OCSPResponseStatus). */
bool x509_der_enumerated(rd *r, uint32_t *v);
/* One Extension (RFC 5280 4.1): its extnID, critical flag (FALSE when absent) and the extnValue
 * OCTET STRING's content. */
bool x509_der_extension(rd *r, rd *oid, bool *critical, rd *value);
/* BOOLEAN: DER allows only 0x00 and 0xFF. */
bool x509_der_boolean(rd *r, bool *v);
/* BIT STRING: the bytes after the unused-bits octet and that count (0..7, 0 when empty, the
 * unused bits themselves zero). */
bool x509_der_bitstring(rd *r, const uint8_t **p, size_t *len, unsigned *unused);
/* OBJECT IDENTIFIER with a well-formed body (no 0x80 padding, last octet ends a sub-id). */
bool x509_der_oid(rd *r, rd *oid);
/* UTCTime or GeneralizedTime in RFC 5280 form ("YYMMDDHHMMSSZ" / "YYYYMMDDHHMMSSZ"). */
bool x509_der_time(rd *r, int64_t *t);
/* True when the OID body equals the bytes `want` of length `n`. */
bool x509_oid_eq(const rd *oid, const uint8_t *want, size_t n);

/* ---- the parsed certificate ---------------------------------------------------------------- */

/* A signature algorithm as the verifier needs it. */
typedef struct {
    uint16_t scheme;   /* TLS SignatureScheme for cry_verify_digest; 0 when never verified */
    cry_hash_alg hash; /* digest of the TBS */
    cry_key_type key;  /* CRY_KEY_RSA, or CRY_KEY_EC_P256 standing for "any ECDSA key" */
    bool weak;         /* SHA-1 or MD5 */
    const char *name;  /* "sha256WithRSAEncryption", ... for messages */
} x509_sigalg;

/* A GeneralName we keep: tag number (1 rfc822Name, 2 dNSName, 6 URI, 7 iPAddress) and the raw
 * content bytes inside the certificate. */
typedef struct {
    uint8_t type;
    const uint8_t *p;
    size_t len;
} x509_gname;

/* keyUsage bits, numbered as in RFC 5280 4.2.1.3 (bit n is 1u << n). */
enum {
    X509_KU_DIGITAL_SIGNATURE = 1u << 0,
    X509_KU_NON_REPUDIATION = 1u << 1,
    X509_KU_KEY_ENCIPHERMENT = 1u << 2,
    X509_KU_DATA_ENCIPHERMENT = 1u << 3,
    X509_KU_KEY_AGREEMENT = 1u << 4,
    X509_KU_KEY_CERT_SIGN = 1u << 5,
    X509_KU_CRL_SIGN = 1u << 6,
    X509_KU_ENCIPHER_ONLY = 1u << 7,
    X509_KU_DECIPHER_ONLY = 1u << 8,
};
/* extKeyUsage purposes we care about. */
enum {
    X509_EKU_SERVER = 1u << 0,
    X509_EKU_CLIENT = 1u << 1,
    X509_EKU_ANY = 1u << 2,
    X509_EKU_OCSP_SIGNING = 1u << 3, /* id-kp-OCSPSigning: a delegated OCSP responder */
};

struct x509_cert {
    atomic_int refs; /* x509_cert_up_ref / x509_cert_free */
    uint8_t *der;
    size_t der_len;

    const uint8_t *tbs; /* the exact signed bytes (whole TBSCertificate TLV) */
    size_t tbs_len;
    const uint8_t *sig; /* signatureValue (BIT STRING content after the unused-bits octet) */
    size_t sig_len;
    x509_sigalg sigalg;

    int version;           /* 0 = v1, 1 = v2, 2 = v3 */
    const uint8_t *serial; /* INTEGER content, minimal two's complement */
    size_t serial_len;
    char serial_hex[44]; /* its value as `openssl x509 -serial` prints it: '-', 21 octets, NUL */
    const uint8_t *issuer_der; /* whole Name TLV */
    size_t issuer_len;
    const uint8_t *subject_der;
    size_t subject_len;
    const uint8_t *spki; /* whole SubjectPublicKeyInfo TLV: "same key" means same bytes */
    size_t spki_len;
    char *subject_str; /* RFC 4514 */
    char *issuer_str;
    int64_t not_before, not_after;

    cry_pkey *key;
    cry_key_type key_type;
    unsigned key_bits;

    /* Extensions. */
    bool has_bc, is_ca;
    int path_len; /* -1: no pathLenConstraint */
    bool has_ku;
    unsigned ku;
    bool has_eku;
    unsigned eku;
    bool has_san;
    x509_gname *sans;
    size_t san_count;
    char **san_strs;
    mtls_san *pub_sans; /* the same names for the public API (mtls_cert_info) */
    const uint8_t *skid, *akid;
    size_t skid_len, akid_len;
    /* nameConstraints, dNSName, iPAddress and URI subtrees only */
    bool has_nc;
    x509_gname *nc_permitted, *nc_excluded;
    size_t nc_permitted_n, nc_excluded_n;

    /* cRLDistributionPoints: the extension's value, kept as it is and read only when a CRL scoped
     * to a distribution point is matched against the certificate (crl.c). */
    const uint8_t *crldp;
    size_t crldp_len;
    /* TLS feature (RFC 7633): the content of the Features SEQUENCE (INTEGERs checked at parse). */
    bool has_tls_features;
    const uint8_t *tls_features;
    size_t tls_features_len;

    bool self_issued; /* subject and issuer are the same DER */
    bool shared;      /* held by an x509_cache: its key stays (x509_cert_drop_key skips it) */
};

/* A signatureAlgorithm AlgorithmIdentifier's content (cert.c; CRLs and OCSP responses use it
 * too).  MTLS_ERR_CERT_PARSE malformed, MTLS_ERR_CERT_UNSUPPORTED an algorithm we do not verify. */
mtls_err x509_parse_sigalg(rd alg, x509_sigalg *s);
/* Does `sig` over `digest` (the signed bytes hashed with alg->hash) verify under the public key
 * of `signer`, with the key type the algorithm needs (verify.c)?  False for an algorithm that
 * is never verified (scheme 0) and for a certificate whose key was dropped. */
bool x509_signature_ok(const x509_sigalg *alg, const x509_cert *signer, const uint8_t *digest,
                       size_t digest_len, const uint8_t *sig, size_t sig_len);
/* The subjectPublicKey BIT STRING's bytes (after the unused-bits octet) of a certificate: what
 * an OCSP KeyHash and an RFC 5280 method-1 key identifier hash (cert.c). */
bool x509_cert_key_bits(const x509_cert *c, const uint8_t **p, size_t *len);

/* Names to RFC 4514 text (name.c).  NULL when out of memory or the Name is malformed. */
char *x509_name_to_string(const uint8_t *name_der, size_t len);
/* The last (most specific) commonName of a Name, as raw bytes; false when there is none. */
bool x509_name_last_cn(const uint8_t *name_der, size_t len, const uint8_t **p, size_t *n);

/* Host names (host.c).  Does the presented DNS identifier `pat` (may hold one left-most "*"
 * label) match the reference `host` (already without its trailing dot)? */
bool x509_dns_match(const uint8_t *pat, size_t pat_len, const char *host, size_t host_len);
/* Is `name` within the dNSName subtree `base` (RFC 5280 4.2.1.10)? */
bool x509_dns_in_subtree(const uint8_t *name, size_t name_len, const uint8_t *base,
                         size_t base_len);
/* The same for a presented dNSName that may be a wildcard "*.S", read as every name it can
 * match: permitted_by when all of them are within `base`, excluded_by when any of them is.  For
 * a name without a wildcard both are x509_dns_in_subtree. */
bool x509_dns_permitted_by(const uint8_t *name, size_t name_len, const uint8_t *base,
                           size_t base_len);
bool x509_dns_excluded_by(const uint8_t *name, size_t name_len, const uint8_t *base,
                          size_t base_len);

/* URI names (uri.c).  The host of a URI (RFC 3986 authority, userinfo and port dropped) when it
 * is a DNS name; false for a URI without an authority, with an IP host or with a host that is no
 * DNS name.  A URI constraint base (RFC 5280 4.2.1.10) is valid when it is a DNS name, with or
 * without one leading '.'; a host is in its subtree when equal to it ("example.com") or below it
 * (".example.com"), ASCII case-insensitively. */
bool x509_uri_host(const uint8_t *uri, size_t len, const uint8_t **host, size_t *host_len);
bool x509_uri_constraint_valid(const uint8_t *base, size_t len);
bool x509_uri_host_in_subtree(const uint8_t *host, size_t host_len, const uint8_t *base,
                              size_t base_len);

/* SPIFFE (spiffe.c).  MTLS_OK with *id (a string inside c) when c is an X.509-SVID leaf, else
 * MTLS_ERR_CERT_SPIFFE_ID and a phrase in `why` ("has 2 URI names; ..."; may be NULL). */
mtls_err x509_spiffe_svid(const x509_cert *c, const char **id, char *why, size_t cap);
/* Is the valid SPIFFE ID `id` among the IDs or trust domains of p? */
bool x509_spiffe_accepts(const x509_verify_params *p, const char *id);

/* PEM (pem.c): the next "-----BEGIN <label>-----" block at or after *pos, base64-decoded into a
 * fresh buffer.  Returns 1 with a block, 0 when there are no more, -1 on a malformed block. */
int x509_pem_next(const uint8_t *pem, size_t len, size_t *pos, const char *label, uint8_t **out,
                  size_t *out_len);

/* The store (store.c): the next anchor after `*it` (start with 0) whose subject is `name`. */
const x509_cert *x509_store_next_by_subject(const x509_store *s, const uint8_t *name, size_t len,
                                            size_t *it);

/* A whole regular file of at most 64 MiB (store.c): MTLS_ERR_FILE when it cannot be read. */
mtls_err x509_read_file(const char *path, uint8_t **out, size_t *len);
/* A c_rehash name: "<8 lowercase hex>.<N>", or with `crl` "<8 hex>.r<N>" (store.c). */
bool x509_hashed_name(const char *name, bool crl);

/* "CN=a (issued by CN=b)" into buf. */
void x509_describe(const x509_cert *c, char *buf, size_t cap);
/* "2025-01-01 00:00:00 UTC" */
void x509_format_time(int64_t t, char *buf, size_t cap);

#endif
