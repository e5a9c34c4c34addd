/*
 * config.h -- the objects core owns that the handshake reads: struct mtls_config (frozen, so
 * read without locks by any number of connections), sessions, the session cache and the ticket
 * keys, the clock, and the error table's certificate category.  The handshake includes this
 * header -- the one place where it reads objects of a layer above it (documented in
 * docs/ARCHITECTURE.md) -- and never core/internal.h: it never sees a connection.
 *
 * Invariants: a config is immutable once `frozen` is set (the first connection sets it), so many
 * threads may read it without locks.  A session is immutable once made and reference counted.
 */
#ifndef MTLS_CONFIG_H
#define MTLS_CONFIG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../base/base.h"
#include "../codec/codec.h"
#include "../crypto/crypto.h"
#include "../x509/x509.h"

typedef struct sess_cache sess_cache;   /* cache.c */
typedef struct ticket_keys ticket_keys; /* ticket.c */
typedef struct ocsp_staple ocsp_staple; /* staple.c */

/* ---- config --------------------------------------------------------------------------------- */
#define MTLS_MAX_SUITES 16
#define MTLS_MAX_GROUPS 8
#define MTLS_MAX_SIGALGS 16
#define MTLS_MAX_ALPN_WIRE 256
/* certificate_authorities of a CertificateRequest: at most this many bytes of names, else none
 * (a list that big, a system store's, tells a client nothing it can use). */
#define MTLS_MAX_CA_NAMES (16 * 1024)

struct mtls_config {
    atomic_int refs;
    atomic_bool frozen;
    pthread_mutex_t lock; /* guards freezing and the lazy system store */

    /* our identity */
    x509_cert **chain;
    size_t chain_len;
    cry_pkey *key; /* the private key; with a key method, the leaf's public key */
    cry_key_type key_type;
    bool has_key_method;        /* mtls_config_set_cert_chain_key_method: the application's */
    mtls_key_method key_method; /* callbacks do every operation with the private key */
    void *key_method_arg;
    mtls_passphrase_fn *passphrase_fn; /* encrypted keys, PKCS#12, token PINs; NULL: none */
    void *passphrase_arg;
    char *pkcs11_module; /* mtls_config_set_pkcs11_module; NULL: the engine's default */

    /* trust */
    x509_store *ca;        /* peer verification */
    x509_store *client_ca; /* server: client certificates; NULL means use `ca` */
    bool ca_set;
    bool insecure;
    mtls_verify_mode verify_client;
    x509_cache *certs;  /* parsed peer certificates; NULL when off */
    bool send_ca_names; /* server: name the client CAs in CertificateRequest (default on) */
    bool ca_names_built;
    uint8_t *ca_names; /* server: certificate_authorities content, built at freeze; NULL: none */
    size_t ca_names_len, n_ca_names;
    bool ca_names_over; /* the names exceed MTLS_MAX_CA_NAMES: none are sent */

    /* preferences */
    uint16_t suites[MTLS_MAX_SUITES];
    size_t n_suites;
    uint16_t groups[MTLS_MAX_GROUPS];
    size_t n_groups;
    uint16_t sigalgs[MTLS_MAX_SIGALGS];
    size_t n_sigalgs;
    uint8_t alpn_wire[MTLS_MAX_ALPN_WIRE]; /* ProtocolNameList without its 2-byte length */
    size_t alpn_len;
    bool prefer_client_order;
    bool require_ems;
    uint16_t min_version, max_version; /* mtls_config_set_versions: TLS 1.2 .. TLS 1.3 */

    /* resumption (server) */
    sess_cache *cache; /* NULL when off */
    size_t cache_size;
    uint32_t session_lifetime;
    bool tickets;
    unsigned tls13_tickets; /* NewSessionTicket messages after a TLS 1.3 handshake */
    bool psk_ke;            /* TLS 1.3 resumption without (EC)DHE allowed */
    ticket_keys *tkeys;
    mtls_session_store_fn *store;
    mtls_session_lookup_fn *lookup;
    mtls_session_remove_fn *remove;
    void *store_arg;

    /* the verification context sessions are bound to (resume.c verify_context) */
    uint8_t session_ctx[MTLS_SESSION_CONTEXT_MAX]; /* mtls_config_set_session_context */
    size_t session_ctx_len;
    uint8_t ca_digest[32];        /* x509_store_digest of `ca`, set when frozen */
    uint8_t client_ca_digest[32]; /* of the anchors for client certificates (`client_ca` or `ca`) */
    bool digests_done;

    /* callbacks */
    mtls_trace_fn *trace;
    void *trace_arg;
    mtls_trace_event_fn *trace_events;
    void *trace_events_arg;
    mtls_keylog_fn *keylog;
    void *keylog_arg;
    mtls_verify_fn *verify_cb;
    void *verify_arg;
    mtls_server_name_fn *sni_cb; /* server: accepts the requested name (and so acknowledges it) */
    void *sni_arg;
    mtls_time_fn *time_fn;
    void *time_arg;

    /* revocation (src/core/revocation.c, staple.c) */
    x509_crls *crls;      /* CRLs the peer's certificates are checked against; NULL: none set */
    unsigned revocation;  /* mtls_config_set_revocation_check's mode, when revocation_set */
    bool revocation_set;  /* else the default: MTLS_REVOCATION_LEAF with CRLs, off without */
    ocsp_staple *staple;  /* server: the OCSP response we staple; NULL: none */
    bool ocsp_request;    /* client: send status_request and check the staple */
    bool ocsp_required;   /* client: a server without a good staple is refused */

    /* TLS 1.3 post-handshake authentication (src/core/post.c) */
    uint8_t pha; /* client, mtls_config_set_post_handshake_auth: 0 by default (offered when a
                  * certificate is set: config_offers_pha), 1 on, 2 off */
    mtls_post_auth_fn *post_auth_cb;
    void *post_auth_arg;

    /* SPIFFE acceptance (mtls_config_add_spiffe_id / _trust_domain): NUL-terminated copies,
     * validated when added; folded into ca_digest / client_ca_digest when frozen */
    char **spiffe_ids;
    size_t n_spiffe_ids;
    char **spiffe_domains;
    size_t n_spiffe_domains;

    char error_detail[512]; /* about the most recent setter call (mtls_config_error_detail) */
};

mtls_config *config_ref(mtls_config *cfg);
/* For setters outside config.c: MTLS_ERR_CONFIG_FROZEN (or INVALID_ARG for NULL) when the config
 * may not change, else the previous call's detail cleared; config_fail writes the detail of a
 * failing call (or a note about one that succeeded) and returns err. */
mtls_err config_setter_begin(mtls_config *cfg);
mtls_err config_fail(mtls_config *cfg, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Freeze on first use; loads the system trust store if a client needs it.  */
mtls_err config_freeze(mtls_config *cfg, bool as_client);
int64_t config_now(const mtls_config *cfg);
/* Client: does the ClientHello offer post_handshake_auth (RFC 8446 4.2.6)? */
bool config_offers_pha(const mtls_config *cfg);

/* ---- revocation (src/core/revocation.c, staple.c) ------------------------------------------- */

/* The revocation mode in force: mtls_config_set_revocation_check's, or the default
 * (MTLS_REVOCATION_LEAF when CRLs are set, MTLS_REVOCATION_OFF otherwise). */
unsigned config_revocation(const mtls_config *cfg);
/* Fill the CRL fields of verification parameters from the mode in force (nothing when off). */
void config_crl_params(const mtls_config *cfg, x509_verify_params *p);
/* The client asks for a staple: configured, or required. */
bool config_ocsp_request(const mtls_config *cfg);
/* The issuer of our leaf in our own chain (the certificate after it), or NULL: what a stapled
 * response's CertID names the leaf by. */
const x509_cert *config_leaf_issuer(const mtls_config *cfg);

/* One OCSP response as a server staples it (staple.c): immutable, reference counted. */
typedef struct staple_snap {
    atomic_int refs;
    uint8_t *der; /* the OCSPResponse, as it goes on the wire */
    size_t len;
    x509_cert *leaf;          /* the certificate it was checked against; NULL: not yet */
    mtls_err err;             /* MTLS_OK: about `leaf`, well signed; else why not (`why`) */
    x509_revocation verdict;  /* the status, thisUpdate, nextUpdate it gives for `leaf` */
    int64_t produced_at;
    char why[600];
} staple_snap;
ocsp_staple *staple_new(void);
void staple_free(ocsp_staple *st);
/* Set the response from memory (`der`, `len`) or from the file `path`; checked now against
 * `leaf` and `issuer` when leaf is not NULL.  On failure nothing changes and `why` says why. */
mtls_err staple_set(ocsp_staple *st, const uint8_t *der, size_t len, const char *path,
                    const x509_cert *leaf, const x509_cert *issuer, int64_t now, char *why,
                    size_t cap);
/* Re-read the file now; MTLS_ERR_BAD_STATE when the response does not come from a file. */
mtls_err staple_reload(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer,
                       int64_t now, char *why, size_t cap);
/* The response to staple now for `leaf` (a new reference, freed with staple_snap_free), or NULL
 * with `why`: none set, not about this certificate, or out of date.  Re-reads the file when it
 * changed (looked at every MTLS_OCSP_STAPLE_FILE_CHECK seconds). */
staple_snap *staple_get(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer,
                        int64_t now, char *why, size_t cap);
void staple_snap_free(staple_snap *s);
/* One line: where the response comes from, its status and times, or why it is not stapled. */
void staple_describe(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer, int64_t now,
                     char *out, size_t cap);
bool staple_is_file(ocsp_staple *st);

/* ---- sessions (src/core/session.c, cache.c, ticket.c) ---------------------------------------- */
struct mtls_session {
    atomic_int refs;
    uint16_t version, suite;
    bool ems;
    uint8_t master[48]; /* TLS 1.3: the resumption PSK of one ticket (the suite's hash length) */
    int64_t created;
    uint32_t lifetime;
    uint8_t id[32];
    size_t id_len;
    char *sni;                /* NULL when none */
    char *alpn;               /* NULL when none */
    const uint8_t *peer_cert; /* the peer's verified leaf (DER), NULL when it sent none: owned
                               * when decoded, else a view into peer_leaf's own DER */
    size_t peer_cert_len;
    x509_cert *peer_leaf; /* the same, parsed, when the session was made here (not decoded) */
    uint8_t vctx[32]; /* the verification context that checked the peer (resume.c verify_context) */
    /* The certificates above the peer's leaf on the path that verified it -- its issuer first,
     * the trust anchor last -- kept when CRLs were checked, so that a resumption checks the leaf
     * (or the chain) against the CRLs in force then (resume.c).  Made here: references; decoded:
     * the encoded list (cert<1..2^24-1> each), parsed when used. */
    x509_cert **peer_issuers;
    size_t n_peer_issuers;
    uint8_t *peer_issuers_der;
    size_t peer_issuers_der_len;
    uint8_t *ticket;      /* client: the ticket to offer */
    size_t ticket_len;
    uint32_t ticket_hint;
    /* TLS 1.3 (RFC 8446 4.6.1): ticket_age_add, and when the ticket was issued (server) or
     * received (client), in the config's seconds: what obfuscated_ticket_age is made of. */
    uint32_t age_add;
    int64_t issued;
};

mtls_session *session_new(void);
/* Give `s` references to the n certificates of `issuers` (the peer's path above its leaf). */
bool session_set_issuers(mtls_session *s, x509_cert *const *issuers, size_t n);
/* The session's issuers, parsed (through `cache` when decoded): *out an array of new references
 * the caller frees with x509_chain_free; *n 0 when the session keeps none. */
mtls_err session_issuers(const mtls_session *s, x509_cache *cache, x509_cert ***out, size_t *n);
mtls_session *session_ref(mtls_session *s);
/* The serialized state without the ticket (what a ticket seals), or with it (client storage). */
bool session_encode(const mtls_session *s, bool with_ticket, wr *w);
mtls_session *session_decode(const uint8_t *p, size_t len, bool with_ticket);
bool session_expired(const mtls_session *s, int64_t now);

sess_cache *cache_new(size_t max_entries);
sess_cache *cache_ref(sess_cache *c);
/* Drops one reference. */
void cache_free(sess_cache *c);
void cache_put(sess_cache *c, mtls_session *s, int64_t now);
/* A new reference to the live session with this id, or NULL. */
mtls_session *cache_get(sess_cache *c, const uint8_t *id, size_t id_len, int64_t now);
void cache_remove(sess_cache *c, const uint8_t *id, size_t id_len);

#define TICKET_KEY_NAME 16
#define TICKET_MAX_KEYS 16 /* application keys, keys of a key file */
#define TICKET_OVERHEAD (TICKET_KEY_NAME + 12 + 16)
ticket_keys *ticket_keys_new(void);
ticket_keys *ticket_keys_ref(ticket_keys *k);
/* Drops one reference. */
void ticket_keys_free(ticket_keys *k);
/* Application keys: replaces the set and stops rotation. */
mtls_err ticket_keys_set(ticket_keys *k, const uint8_t *keys, size_t n);
/* Keys from a key file (format in ticket.c), re-read when it changes.  On failure the keys stay
 * as they were and `why` says what is wrong. */
mtls_err ticket_keys_set_file(ticket_keys *k, const char *path, int64_t now, char *why, size_t cap);
/* Re-read the key file now; MTLS_ERR_BAD_STATE when the keys do not come from a file. */
mtls_err ticket_keys_reload(ticket_keys *k, char *why, size_t cap);
/* One line on where the keys come from and which one seals (names only, never keys). */
void ticket_keys_describe(ticket_keys *k, int64_t now, char *out, size_t cap);
/* Seal `s` into a ticket (malloc'd).  Rotates the sealing key when it is due. */
mtls_err ticket_seal(ticket_keys *k, const mtls_session *s, int64_t now, uint32_t lifetime,
                     uint8_t **out, size_t *out_len);
/* The session inside a ticket, or NULL when it does not open (unknown key, tampered, expired). */
mtls_session *ticket_open(ticket_keys *k, const uint8_t *t, size_t len, int64_t now,
                          uint32_t lifetime);

/* ---- errors (err.c) ------------------------------------------------------------------------ */
/* Nonzero when `e` is in the certificate category of err.def (a verify callback's verdict that is
 * not one counts as MTLS_ERR_CERT_REJECTED). */
int err_is_certificate(mtls_err e);

#endif
