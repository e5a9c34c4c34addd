/*
 * handshake.h -- what src/core sees of the handshake (src/handshake): the algorithm tables the
 * config and sessions name, the two structures through which a handshake meets its connection
 * (hs_env: what it may use; hs_info: what it negotiated), and the calls core makes.  Nothing
 * else under src/handshake is included by core.
 *
 * The handshake never sees the connection: it writes its flights and installs its keys through
 * env->rec (the record layer), fills env->info, traces through env->trace, and returns errors --
 * with a sentence in hs_error_detail() -- that core makes sticky and answers with their alert.
 * Its output is the record layer's send buffer, which core drains through mtls_send_buf: flights
 * are not copied through a queue of their own, because a key change must fall exactly between
 * two records of a flight (ChangeCipherSpec, then the Finished under the new keys).
 */
#ifndef MTLS_HANDSHAKE_H
#define MTLS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../base/base.h"
#include "../crypto/crypto.h"
#include "../record/record.h"
#include "../x509/x509.h"

/* ---- algorithm tables (src/handshake/suites.c) ---------------------------------------------- */
typedef enum { KX_RSA = 1, KX_ECDHE = 2 } kx_kind;
typedef enum { AUTH_RSA = 1, AUTH_ECDSA = 2 } auth_kind;

typedef struct suite_info {
    uint16_t id;
    const char *name; /* IANA */
    const char *ossl; /* OpenSSL's name */
    kx_kind kx;
    auth_kind auth;
    cry_aead_alg aead;
    cry_hash_alg prf;
    uint8_t key_len;
    uint8_t fixed_iv_len; /* 4 for GCM (RFC 5288), 12 for ChaCha20-Poly1305 (RFC 7905); TLS 1.3:
                           * 12, the iv_length of RFC 8446 5.3 */
    bool tls13;           /* a TLS 1.3 suite (RFC 8446 B.4): kx and auth are 0, prf is the hash */
} suite_info;

const suite_info *suite_find(uint16_t id);
const suite_info *suite_by_name(const char *name, size_t len);
extern const uint16_t suite_default_order[];
extern const size_t suite_default_count;

typedef struct sigalg_info {
    uint16_t id;
    const char *name;
    cry_key_type key; /* CRY_KEY_RSA, or the curve the scheme names for ECDSA */
    bool pss;
} sigalg_info;
const sigalg_info *sigalg_find(uint16_t id);
uint16_t sigalg_by_name(const char *name, size_t len);
extern const uint16_t sigalg_default_order[];
extern const size_t sigalg_default_count;

uint16_t group_by_name(const char *name, size_t len);
extern const uint16_t group_default_order[];
extern const size_t group_default_count;

/* ---- the handshake and its connection ------------------------------------------------------ */

/* What was negotiated; kept after the handshake, read by the getters.  The connection owns the
 * strings, the chain and the session (it frees them); the handshake fills them in. */
typedef struct hs_info {
    uint16_t version, suite, group;
    uint16_t
        server_sigalg; /* what the server signed with (TLS 1.2: ServerKeyExchange), 0: nothing */
    uint16_t client_sigalg; /* what the client signed its CertificateVerify with, 0: nothing */
    bool ems, resumed, cert_requested, peer_cert_presented;
    char *alpn;        /* the negotiated protocol, NULL when none */
    char *server_name; /* client: the name we asked for; server: the name the client sent */
    uint8_t client_random[32];
    x509_cert **peer_chain; /* verified (a rejected chain is dropped); after resumption the leaf */
    size_t peer_chain_len;
    /* client: the OCSP response the server stapled and its verdict (mtls_conn_peer_ocsp) */
    struct {
        uint8_t *der; /* NULL: none stapled */
        size_t len;
        int status; /* mtls_ocsp_status */
        int64_t produced_at, this_update, next_update, revocation_time;
        int reason;
    } ocsp;
    mtls_session *session; /* this connection's session, once established */
} hs_info;

/* What the handshake may use of its connection.  It lives in the connection, which keeps it
 * current (the setters that may run before the handshake starts). */
typedef struct hs_env {
    const mtls_config *cfg;
    const mtls_conn *conn; /* opaque: only passed to the application's callbacks */
    rec_layer *rec;        /* flights and key changes go here, in order */
    hs_info *info;
    trace_sink trace;
    bool is_server;
    const char *verify_name; /* client: the name the certificate must match, if not SNI's */
    bool skip_hostname;      /* client: mtls_conn_set_insecure_skip_hostname */
    mtls_session *offer;     /* client: the session the application set */
    bool write_closed;       /* our close_notify is queued: nothing of ours may follow it */
} hs_env;

/* The handshake of one connection.  It outlives the negotiation: once established, the state of
 * the negotiation (transcript, buffers, key exchange, secrets) is freed and what stays answers
 * post-handshake messages (TLS 1.2: renegotiation attempts, refused). */
typedef struct hs_handle hs_handle;

mtls_err hs_new(hs_handle **out, const hs_env *env);
void hs_free(hs_handle *h);
/* Run as far as possible without new input (a client's first call sends its ClientHello); may be
 * called any number of times. */
mtls_err hs_start(hs_handle *h);
/* The plaintext of one record of `type` (TLS_CT_HANDSHAKE or TLS_CT_CHANGE_CIPHER_SPEC), during
 * the handshake or after it.  The handshake runs as far as it can. */
mtls_err hs_feed(hs_handle *h, uint8_t type, const uint8_t *p, size_t n);
bool hs_established(const hs_handle *h);
/* Whether the handshake has left its first state (a client: sent its ClientHello). */
bool hs_started(const hs_handle *h);
/* A sentence about the error the last call returned, or NULL when it has none of its own. */
const char *hs_error_detail(const hs_handle *h);
/* The application's private-key operation (keyop.c): whether one is outstanding -- started and
 * its result not yet used (core reads no record meanwhile: nothing the peer sends may move the
 * handshake before it) -- and its result, handed over by mtls_conn_key_op_done (copied; NULL:
 * the operation failed).  MTLS_ERR_BAD_STATE when none waits for a result. */
bool hs_key_op_waiting(const hs_handle *h);
mtls_err hs_key_op_done(hs_handle *h, const uint8_t *result, size_t len);
/* After the handshake, before application data is written: what the protocol owes first (TLS 1.3:
 * a KeyUpdate the peer asked for, or one the key's usage limit calls for).  Writes records. */
mtls_err hs_before_write(hs_handle *h);
/* After the handshake: application data arrived (bounds on post-handshake messages count those
 * in a row without it).  TLS 1.3: an error when it cuts into a handshake message (RFC 8446 5.1:
 * "Handshake messages MUST NOT be interleaved with other record types"). */
mtls_err hs_app_data_received(hs_handle *h);
/* After the handshake: keying material exported from the connection's secrets (RFC 8446 7.5,
 * RFC 5705), as mtls_conn_export_keying_material documents it.  MTLS_ERR_BAD_STATE before the
 * handshake is complete or (TLS 1.2) without extended master secret; MTLS_ERR_INVALID_ARG for a
 * label, context or length the version does not allow. */
/* After the handshake, TLS 1.3: send a KeyUpdate now (update_requested when `request`), our
 * records from then on under the next traffic secret (RFC 8446 4.6.3).  MTLS_ERR_BAD_STATE before
 * the handshake is complete or in TLS 1.2.  Writes a record. */
mtls_err hs_key_update(hs_handle *h, bool request);
/* After the handshake, TLS 1.3 post-handshake client authentication (RFC 8446 4.6.2): whether
 * the ClientHello offered post_handshake_auth; server: how many of our CertificateRequests are
 * unanswered, and send one more (the caller checked both first).  Writes a record. */
bool hs_post_auth_offered(const hs_handle *h);
unsigned hs_post_auth_pending(const hs_handle *h);
mtls_err hs_request_client_cert(hs_handle *h);
mtls_err hs_export(const hs_handle *h, const char *label, size_t label_len, const uint8_t *context,
                   size_t context_len, bool use_context, uint8_t *out, size_t out_len);

#endif
