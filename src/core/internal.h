/*
 * internal.h -- the shapes behind mtls_config and mtls_conn, shared by src/core, src/record and
 * src/handshake.  Nothing here is public.
 *
 * Invariants: a config is immutable once `frozen` is set (the first connection sets it), so many
 * threads may read it without locks.  A connection owns its buffers; secrets live in fixed arrays
 * inside `struct hs` and the record layer and are wiped when they are no longer needed and on free.
 */
#ifndef MTLS_INTERNAL_H
#define MTLS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../base/base.h"
#include "../codec/codec.h"
#include "../crypto/crypto.h"
#include "../record/record.h"
#include "../x509/x509.h"

/* Hard cap on one handshake message (a long certificate chain fits easily). */
#define MTLS_MAX_HANDSHAKE_MSG (128 * 1024)
/* RFC 5246 7.4.1.2: the largest ClientHello body its length fields can describe -- client_version
 * 2, random 32, session_id 1+32, cipher_suites 2+(2^16-2), compression_methods 1+(2^8-1),
 * extensions 2+(2^16-1): 131,396 bytes.  Any ClientHello up to this size may be valid and is
 * read; a header announcing more is malformed (decode_error).  Other messages keep the cap above. */
#define TLS_MAX_CLIENT_HELLO (2 + 32 + (1 + 32) + (2 + 65534) + (1 + 255) + (2 + 65535))
/* Bounded tolerance for empty records and warning alerts in a row. */
#define MTLS_MAX_EMPTY_RECORDS 32
#define MTLS_MAX_WARNING_ALERTS 8

typedef struct sess_cache sess_cache;   /* cache.c */
typedef struct ticket_keys ticket_keys; /* ticket.c */

/* ---- algorithm tables (src/handshake/suites.c) ---------------------------------------------- */
typedef enum { KX_RSA = 1, KX_ECDHE = 2 } kx_kind;
typedef enum { AUTH_RSA = 1, AUTH_ECDSA = 2 } auth_kind;

typedef struct suite_info {
    uint16_t id;
    const char *name;    /* IANA */
    const char *ossl;    /* OpenSSL's name */
    kx_kind kx;
    auth_kind auth;
    cry_aead_alg aead;
    cry_hash_alg prf;
    uint8_t key_len;
    uint8_t fixed_iv_len; /* 4 for GCM (RFC 5288), 12 for ChaCha20-Poly1305 (RFC 7905) */
} suite_info;

const suite_info *suite_find(uint16_t id);
const suite_info *suite_by_name(const char *name, size_t len);
extern const uint16_t suite_default_order[];
extern const size_t suite_default_count;

typedef struct sigalg_info {
    uint16_t id;
    const char *name;
    cry_key_type key;  /* CRY_KEY_RSA, or the curve the scheme names for ECDSA */
    bool pss;
} sigalg_info;
const sigalg_info *sigalg_find(uint16_t id);
uint16_t sigalg_by_name(const char *name, size_t len);
extern const uint16_t sigalg_default_order[];
extern const size_t sigalg_default_count;

uint16_t group_by_name(const char *name, size_t len);
extern const uint16_t group_default_order[];
extern const size_t group_default_count;

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
    cry_pkey *key;
    cry_key_type key_type;

    /* trust */
    x509_store *ca;        /* peer verification */
    x509_store *client_ca; /* server: client certificates; NULL means use `ca` */
    bool ca_set;
    bool insecure;
    mtls_verify_mode verify_client;
    x509_cache *certs; /* parsed peer certificates; NULL when off */
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

    /* resumption (server) */
    sess_cache *cache;      /* NULL when off */
    size_t cache_size;
    uint32_t session_lifetime;
    bool tickets;
    ticket_keys *tkeys;
    mtls_session_store_fn *store;
    mtls_session_lookup_fn *lookup;
    mtls_session_remove_fn *remove;
    void *store_arg;

    /* the verification context sessions are bound to (resume.c hs_verify_context) */
    uint8_t session_ctx[MTLS_SESSION_CONTEXT_MAX]; /* mtls_config_set_session_context */
    size_t session_ctx_len;
    uint8_t ca_digest[32];        /* x509_store_digest of `ca`, set when frozen */
    uint8_t client_ca_digest[32]; /* of the anchors for client certificates (`client_ca` or `ca`) */
    bool digests_done;

    /* callbacks */
    mtls_trace_fn *trace;
    void *trace_arg;
    mtls_keylog_fn *keylog;
    void *keylog_arg;
    mtls_verify_fn *verify_cb;
    void *verify_arg;
    mtls_server_name_fn *sni_cb; /* server: accepts the requested name (and so acknowledges it) */
    void *sni_arg;
    mtls_time_fn *time_fn;
    void *time_arg;

    char error_detail[512]; /* about the most recent setter call (mtls_config_error_detail) */
};

mtls_config *config_ref(mtls_config *cfg);
/* Freeze on first use; loads the system trust store if a client needs it.  */
mtls_err config_freeze(mtls_config *cfg, bool as_client);
int64_t config_now(const mtls_config *cfg);

/* ---- sessions (src/core/session.c, cache.c, ticket.c) ---------------------------------------- */
struct mtls_session {
    atomic_int refs;
    uint16_t version, suite;
    bool ems;
    uint8_t master[48];
    int64_t created;
    uint32_t lifetime;
    uint8_t id[32];
    size_t id_len;
    char *sni;  /* NULL when none */
    char *alpn; /* NULL when none */
    const uint8_t *peer_cert; /* the peer's verified leaf (DER), NULL when it sent none: owned
                               * when decoded, else a view into peer_leaf's own DER */
    size_t peer_cert_len;
    x509_cert *peer_leaf; /* the same, parsed, when the session was made here (not decoded) */
    uint8_t vctx[32]; /* the verification context that checked the peer (hs_verify_context) */
    uint8_t *ticket; /* client: the ticket to offer */
    size_t ticket_len;
    uint32_t ticket_hint;
};

mtls_session *session_new(void);
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
mtls_err ticket_keys_set_file(ticket_keys *k, const char *path, int64_t now, char *why,
                              size_t cap);
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

/* ---- the connection ------------------------------------------------------------------------ */
struct hs; /* src/handshake/hs.h */

struct mtls_conn {
    mtls_config *cfg;
    bool is_server;
    bool established;
    mtls_err error; /* first fatal error */
    char *error_detail; /* allocated on the first failure only */
    int alert_sent;
    int alert_received;
    bool close_sent;
    bool close_received;
    bool eof;
    void *userdata;
    trace_sink trace; /* the config's trace callback, told about this connection */

    rec_layer rec; /* records in and out, their buffers and protection */
    unsigned empty_records;
    unsigned warning_alerts;
    unsigned renego_refused;
    /* Post-handshake messages, which may span records: the header being read and how many body
     * bytes of the current message are still to be skipped (driver.c post_handshake). */
    uint8_t post_hdr[4];
    uint8_t post_hdr_len;
    uint32_t post_skip;

    struct hs *hs; /* freed once established */

    /* what was negotiated (kept after the handshake) */
    uint16_t version, suite, group, sigalg, peer_sigalg;
    bool ems, resumed, peer_cert_presented, cert_requested;
    bool skip_hostname; /* client: mtls_conn_set_insecure_skip_hostname */
    uint16_t client_sigalg;
    char *server_name;
    char *verify_name; /* client: the name the certificate must match, when not server_name */
    char *alpn;        /* the negotiated protocol, NULL when none */
    uint8_t client_random[32];
    x509_cert **peer_chain;
    size_t peer_chain_len;
    mtls_session *session;       /* after the handshake: this connection's session */
    mtls_session *offer_session; /* client: the session to offer */
};

/* Set the negotiated ALPN protocol (copied). */
mtls_err conn_set_alpn(mtls_conn *c, const uint8_t *name, size_t len);
/* Fatal error: remember the first one, queue its alert (once), return it. */
mtls_err conn_fail(mtls_conn *c, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mtls_err conn_send_alert(mtls_conn *c, int level, int alert);

int err_alert(mtls_err e);
int err_is_certificate(mtls_err e);

/* ---- handshake entry points (src/handshake) ------------------------------------------------ */
mtls_err hs_new(mtls_conn *c);
void hs_free(struct hs *hs);
/* Run the handshake as far as it goes without new input. */
mtls_err hs_advance(mtls_conn *c);
/* Plaintext of a handshake record / a ChangeCipherSpec record. */
mtls_err hs_on_handshake_data(mtls_conn *c, const uint8_t *data, size_t len);
mtls_err hs_on_ccs(mtls_conn *c, const uint8_t *data, size_t len);
void hs_trace(const mtls_conn *c, char dir, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
