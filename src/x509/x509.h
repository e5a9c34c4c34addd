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

typedef enum { X509_PURPOSE_SERVER = 0, X509_PURPOSE_CLIENT = 1 } x509_purpose;

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
} x509_verify_params;

/* Build a path from chain[0] (the leaf) through the other certificates the peer sent (any order,
 * extras allowed) to an anchor in `anchors`, and check it: signatures, validity, basicConstraints
 * and pathLen, keyUsage, EKU, key strength, signature hash strength, the host name.  On failure
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
