/*
 * hs.h -- what the files of src/handshake share: the negotiation in progress (struct hs), the
 * handle that outlives it (struct hs_handle), the role table each role and version file exports,
 * and the helpers of the driver (driver.c), transcript and framing (transcript.c), what both
 * TLS 1.2 roles share (tls12.c), peer authentication and algorithm choice (auth.c), our private
 * key's operations (keyop.c), sessions (resume.c), messages (msg/) and extensions (ext/).  Core
 * never includes it; tests may.
 *
 * Each role and version file (client12.c, server12.c, client13.c, server13.c) owns an
 * enum of states named for the one thing they wait for or do, and a static step function over
 * them, exported as an hs_role.  Read states accept exactly the message types their handler
 * names; anything else -- an early ChangeCipherSpec included -- is unexpected_message.  Proof
 * bits are set only by the functions that check the peer's chain, ServerKeyExchange signature,
 * CertificateVerify and Finished; entering the traffic state requires the set the mode needs.
 * A handler never sends an alert and never makes an error sticky: it returns the error, with a
 * sentence recorded by hs_err().
 */
#ifndef MTLS_HS_H
#define MTLS_HS_H

#include <stdarg.h>

#include "../codec/codec.h"
#include "../core/config.h"
#include "../keysched/ks.h"
#include "handshake.h"
#include "msg/msg.h"

/* Hard cap on one handshake message (a long certificate chain fits easily). */
#define MTLS_MAX_HANDSHAKE_MSG (128 * 1024)
/* RFC 5246 7.4.1.2: the largest ClientHello body its length fields can describe -- client_version
 * 2, random 32, session_id 1+32, cipher_suites 2+(2^16-2), compression_methods 1+(2^8-1),
 * extensions 2+(2^16-1): 131,396 bytes.  Any ClientHello up to this size may be valid and is
 * read; a header announcing more is malformed (decode_error).  Other messages keep the cap above.
 */
#define TLS_MAX_CLIENT_HELLO (2 + 32 + (1 + 32) + (2 + 65534) + (1 + 255) + (2 + 65535))

enum {
    PROOF_PEER_CHAIN = 1u << 0,  /* peer chain verified (or verification explicitly skipped) */
    PROOF_SKE_SIG = 1u << 1,     /* ServerKeyExchange signature verified */
    PROOF_CERT_VERIFY = 1u << 2, /* the peer's CertificateVerify verified (TLS 1.2: the client's) */
    PROOF_FINISHED = 1u << 3,    /* peer's Finished verified */
    PROOF_RESUMED = 1u << 4, /* master secret from a session that passed every resumption check */
};

#define HS_MAX_PEER_LIST 64
/* The largest (EC)DHE shared secret: P-384's x-coordinate. */
#define HS_MAX_SHARED 48
/* Bounds of what our keys make and what we encrypt to, for the buffers they are made in before
 * their message is built: our signatures (RSA-4096, the largest key a config accepts: 512 bytes)
 * and the RSA-encrypted premaster (RSA-8192, the largest modulus our X.509 parser accepts). */
#define HS_MAX_OWN_SIG 512
#define HS_MAX_PEER_RSA 1024

/* A complete handshake message, as reassembled. */
typedef struct msg {
    uint8_t type;
    rd body;
    const uint8_t *raw; /* header + body, for the transcript */
    size_t raw_len;
} msg;

struct hs;

/* What a role and version file exports; the driver runs it. */
typedef struct hs_role {
    const char *name; /* "TLS 1.2 client" */
    int first_state;
    /* Does the current state wait for input (a handshake message, or a ChangeCipherSpec)? */
    bool (*reads)(const struct hs *hs);
    /* One step from hs->state: a read state is given the next complete message, a send state
     * NULL.  When the handshake is complete, the step sets hs->done. */
    mtls_err (*step)(struct hs *hs, const msg *m);
    /* A ChangeCipherSpec record's plaintext. */
    mtls_err (*ccs)(struct hs *hs, const uint8_t *p, size_t n);
    /* Handshake data after the handshake (hs_handle: the negotiation is gone by then). */
    mtls_err (*post)(hs_handle *h, const uint8_t *p, size_t n);
    /* The states' names, for tests and traces of the state machine. */
    const char *const *state_names;
    int n_states;
} hs_role;

extern const hs_role hs_client12, hs_server12, hs_client13, hs_server13;

/* TLS 1.2 client, only while it negotiates. */
struct c12 {
    uint8_t peer_pub[133]; /* the server's ECDHE public value */
    size_t peer_pub_len;
    bool sends_cert;    /* we answer a CertificateRequest with our certificate and a signature */
    uint16_t cv_sigalg; /* ... made with this scheme */
    bool cr_rsa_ok, cr_ecdsa_ok;           /* certificate_types of the request */
    uint16_t cr_sigalgs[HS_MAX_PEER_LIST]; /* supported_signature_algorithms of the request */
    size_t n_cr_sigalgs;
    uint8_t *new_ticket; /* from NewSessionTicket */
    size_t new_ticket_len;
    uint32_t new_ticket_hint;
};

/* TLS 1.2 server, only while it negotiates. */
struct s12 {
    uint16_t client_version; /* ClientHello.client_version, for the RSA premaster check */
    uint16_t peer_sigalgs[HS_MAX_PEER_LIST];
    size_t n_peer_sigalgs;
    uint16_t peer_groups[HS_MAX_PEER_LIST];
    size_t n_peer_groups;
    bool peer_secure_reneg, peer_point_formats;
    bool send_ticket; /* NewSessionTicket promised in ServerHello */
    bool sni_used;    /* the application accepted the client's server_name */
    /* ServerKeyExchange: what we sign (client_random + server_random + ServerECDHParams), kept
     * while the application's key method signs it */
    uint8_t ske_signed[64 + 4 + 133];
    size_t ske_signed_len;
};

/* TLS 1.3 client, only while it negotiates (client13.c); zero until version.c chose TLS 1.3. */
struct c13 {
    bool sends_cert;    /* we answer the CertificateRequest with our certificate */
    uint16_t cv_sigalg; /* ... and sign with this scheme */
    uint16_t cr_sigalgs[HS_MAX_PEER_LIST]; /* signature_algorithms of the CertificateRequest */
    size_t n_cr_sigalgs;
    uint8_t ecdhe[HS_MAX_SHARED]; /* the (EC)DHE shared secret, until the handshake secret */
    size_t ecdhe_len;
};

/* TLS 1.3 server, only while it negotiates (server13.c); zero until version.c chose TLS 1.3. */
struct s13 {
    uint16_t peer_sigalgs[HS_MAX_PEER_LIST];
    size_t n_peer_sigalgs;
    uint16_t peer_groups[HS_MAX_PEER_LIST];
    size_t n_peer_groups;
    bool sni_used;          /* the application accepted the client's server_name */
    bool send_ccs;          /* the client is in middlebox compatibility mode (RFC 8446 D.4) */
    bool psk_ke;            /* resuming without (EC)DHE */
    bool tickets_ok;        /* the client's psk_key_exchange_modes allow a ticket of ours */
    bool early_data;        /* the client offered 0-RTT data, which we skip */
    uint16_t psk_index;     /* the identity of the client's pre_shared_key we accepted */
    uint16_t sigalg;        /* what our CertificateVerify signs with */
    uint8_t cookie[32];     /* what our HelloRetryRequest asked the client to echo */
    uint8_t ch1_digest[32]; /* what the second ClientHello must repeat (server13.c same_hello) */
    uint8_t ecdhe[HS_MAX_SHARED];
    size_t ecdhe_len;
};

/* The TLS 1.2 secrets of both roles (TLS 1.3's ks13 schedule is the other member of the union
 * they sit in, struct hs). */
struct k12 {
    uint8_t premaster[48];
    size_t premaster_len;
    uint8_t master[48];
    uint8_t key_block[2 * 32 + 2 * 12];
};

/* Certificate status and revocation in one negotiation, both versions (status.c). */
struct hs_status {
    /* client */
    bool requested;        /* our ClientHello carried status_request (ocsp) */
    bool acked;            /* TLS 1.2: the ServerHello acknowledged it: a CertificateStatus may
                            * follow the Certificate */
    x509_ocsp *peer_ocsp;  /* the response the server stapled, parsed; NULL: none */
    uint8_t *peer_der;     /* ... and its bytes (moved to info->ocsp once checked) */
    size_t peer_len;
    /* server */
    bool client_asked;     /* the ClientHello asked for an ocsp status */
    staple_snap *staple;   /* the response we staple in this handshake; NULL: none */
    /* both: the verified path above the peer's leaf (references), kept in the session when
     * CRLs were checked so that resumption can check again (resume.c) */
    x509_cert *issuers[X509_MAX_PATH];
    size_t n_issuers;
};

/* An operation of the application's key method (keyop.c).  IDLE: none; PENDING: the callback
 * answered "later"; RESULT: mtls_conn_key_op_done handed the result over (or reported failure),
 * and the state that started it has yet to use it. */
enum { KEYOP_IDLE = 0, KEYOP_PENDING, KEYOP_RESULT };
struct hs_keyop {
    uint8_t state;
    bool failed;                 /* RESULT: the application reported failure */
    size_t len;                  /* RESULT: the length it gave (may exceed `out`) */
    uint8_t out[HS_MAX_OWN_SIG]; /* its first bytes: a signature, or an RSA block (secret) */
};

/* The negotiation in progress: freed (wiped) once the handshake is established. */
struct hs {
    hs_handle *h;
    const hs_env *env;
    const mtls_config *cfg; /* env->cfg */
    hs_info *info;          /* env->info */
    int state;              /* the role's enum */
    unsigned proofs;
    bool done; /* the role reached the traffic state */

    dynbuf in;     /* reassembly of received handshake messages */
    size_t in_off; /* handled messages end here; the rest of `in` is moved down once per record */
    wr out;        /* messages of the flight being built (growable), framed into records at flush */
    dynbuf tbuf;   /* raw transcript, kept while a CertificateVerify may need it */
    bool keep_tbuf;
    cry_hash *transcript; /* running hash with the suite's PRF hash, from ServerHello on */

    const suite_info *suite;
    uint8_t client_random[32], server_random[32];
    uint8_t session_id[32];
    size_t session_id_len;
    cry_kex *kex;
    uint16_t group;
    bool cert_requested;    /* the server asks for a client certificate (both roles know) */
    x509_cert **peer_chain; /* as received, until verified (then moved to info) */
    size_t peer_chain_len;
    mtls_session *resume; /* the session being resumed (TLS 1.3 client: offered as a PSK) */
    bool ticket_ext;      /* server: the client sent session_ticket; client: the server acked it */

    /* The hello, shared by both versions (version.c), and TLS 1.3 beyond the union below. */
    bool v13;                  /* version.c chose TLS 1.3: c13 / s13 / k13 are in use */
    bool offered12, offered13; /* client: what our ClientHello offered */
    bool hrr;                  /* a HelloRetryRequest was sent (server) or received (client) */
    bool psk_offered;          /* client: our ClientHello offers hs->resume as a PSK */
    uint8_t ccs_seen;          /* TLS 1.3: the peer's compatibility ChangeCipherSpecs dropped */
    bool ccs_sent;             /* TLS 1.3: ours went out */
    uint16_t share_group;      /* client: the group of our key share (hs->kex) */
    uint16_t hrr_suite;        /* the suite a HelloRetryRequest chose */
    uint8_t *cookie;           /* client: the HelloRetryRequest's cookie, for the next hello */
    size_t cookie_len;
    bool pha_offered; /* TLS 1.3: post_handshake_auth in our ClientHello (client) or the client's
                       * (server): the transcript is kept after the handshake (post13.c) */
    /* TLS 1.3 post-handshake authentication (post13.c runs one exchange as a negotiation of its
     * own): the certificate_request_context of the exchange, empty in the handshake */
    bool post_auth;
    rd post_context;

    struct hs_status status; /* OCSP stapling and revocation (status.c) */
    struct hs_keyop keyop;   /* the application's private-key operation (keyop.c) */

    union {
        struct k12 k12;
        ks13 k13;
    };
    union {
        struct c12 c12;
        struct s12 s12;
        struct c13 c13;
        struct s13 s13;
    };
};

/* The handshake as core holds it: small, it lives as long as the connection. */
struct hs_handle {
    const hs_env *env;
    const hs_role *role;
    struct hs *run; /* the negotiation; NULL once established */
    bool established;
    char *detail; /* the sentence of the error returned last (allocated on the first one) */
    /* TLS 1.2 after the handshake: a message header being read, body bytes still to skip, and
     * how many renegotiations were refused (tls12.c hs12_post) */
    uint8_t post_hdr[4];
    uint8_t post_hdr_len;
    uint32_t post_skip;
    unsigned renego_refused;
    uint8_t randoms[64]; /* TLS 1.2: client_random || server_random, for the exporter */
    struct post13 *p13; /* TLS 1.3 after the handshake: keys and messages (post13.c) */
};

/* driver.c: errors and the trace */
/* Record the sentence of error `err` (the first one only) and return err. */
mtls_err hs_err(struct hs *hs, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mtls_err hs_herr(hs_handle *h, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The trace (words and events, base.h): a handshake message sent ('>') or received ('<'), msg
 * `type` being its handshake type or MTLS_TRACE_CHANGE_CIPHER_SPEC; any other step. */
void hs_trace_msg(const struct hs *hs, char dir, int type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* ... under another name than its type's: a HelloRetryRequest is a ServerHello on the wire. */
void hs_trace_msg_as(const struct hs *hs, char dir, int type, const char *what, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
/* ... after the handshake (TLS 1.3's post-handshake messages), when only the handle is left. */
void hs_post_trace_msg(const hs_handle *h, char dir, int type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void hs_trace_step(const struct hs *hs, mtls_trace_kind kind, mtls_trace_decision decision,
                   mtls_err result, unsigned flags, char dir, const char *what, const char *fmt,
                   ...) __attribute__((format(printf, 8, 9)));
/* The negotiated protocol and (server) the name the client asked for, as strings info keeps. */
mtls_err hs_set_alpn(struct hs *hs, rd name);
mtls_err hs_set_server_name(struct hs *hs, rd name);
/* A negotiation of the established handle `h` (post-handshake authentication runs one per
 * exchange), with nothing in it yet; freed with hs_run_free, which wipes it. */
struct hs *hs_run_new(hs_handle *h);
void hs_run_free(struct hs *hs);
/* For tests: the name of the state the handshake waits in ("C12_READ_SERVER_HELLO"), "HS_DONE"
 * once established. */
const char *hs_state_name(const hs_handle *h);

/* transcript.c: reassembly, the transcript, framing */
extern const char *hs_msg_name(uint8_t type);
/* Handshake record data in: buffered, each message's announced length judged against its type's
 * limit as soon as its header is in. */
mtls_err hs_in_add(struct hs *hs, const uint8_t *p, size_t n);
/* The next complete message (from in_off), or false; hs_in_used marks it handled. */
bool hs_in_next(struct hs *hs, msg *m);
void hs_in_used(struct hs *hs, const msg *m);
/* Drop the handled messages (once per record). */
void hs_in_compact(struct hs *hs);
/* Bytes of a message that is not complete yet are buffered. */
bool hs_in_partial(const struct hs *hs);
mtls_err hs_transcript_add(struct hs *hs, const uint8_t *p, size_t len);
/* Start the running hash once the suite is known (hashes what was buffered). */
mtls_err hs_transcript_start(struct hs *hs);
mtls_err hs_transcript_hash(struct hs *hs, uint8_t *out, size_t *out_len);
void hs_transcript_drop_buffer(struct hs *hs);
/* Start a handshake message of `type` in hs->out (the flight's growable writer): the body is
 * written there, then hs_msg_close(at) patches its length and adds it to the transcript.  Returns
 * where the message starts. */
size_t hs_msg_open(struct hs *hs, uint8_t type);
mtls_err hs_msg_close(struct hs *hs, size_t at);
/* Frame the flight built so far into handshake records. */
mtls_err hs_flush(struct hs *hs);

/* version.c: the hello of both versions, and which version's role runs */
/* Which versions the config speaks: its range, less a version without a suite of its kind. */
void hs_versions(const mtls_config *cfg, bool *v12, bool *v13);
/* RFC 8446 4.1.3: does a ServerHello.random end with a downgrade sentinel (TLS 1.2's or
 * below's)?  For the trace; the client's check is in hs_read_server_hello. */
bool hs_downgrade_marked(const uint8_t random[32]);
/* The role a new handshake starts in: TLS 1.3's when the config speaks it, else TLS 1.2's. */
const hs_role *hs_first_role(const hs_env *env);
/* Client: build and send the ClientHello (both versions; after a HelloRetryRequest the second
 * one, RFC 8446 4.1.2). */
mtls_err hs_send_client_hello(struct hs *hs);
/* Client: the ServerHello (or HelloRetryRequest): parsed once, the version decided (downgrade
 * sentinel checked), then handed to the role of that version. */
mtls_err hs_read_server_hello(struct hs *hs, const msg *m);
/* Server: the ClientHello: parsed once, the version chosen, handed to that version's role. */
mtls_err hs_read_client_hello(struct hs *hs, const msg *m);
/* What each version's role does with the parsed hello (client12.c, server12.c, client13.c,
 * server13.c). */
mtls_err hs12_client_server_hello(struct hs *hs, const msg *m, const struct msg_server_hello *sh);
mtls_err hs12_server_client_hello(struct hs *hs, const msg *m, const struct msg_client_hello *ch);
mtls_err hs13_client_server_hello(struct hs *hs, const msg *m, const struct msg_server_hello *sh);
mtls_err hs13_server_client_hello(struct hs *hs, const msg *m, const struct msg_client_hello *ch);
/* Whether the client sends server_name (a name that is not an IP literal). */
bool hs_sends_sni(const hs_info *info);
/* The server's handling of server_name and ALPN, both versions (server12.c). */
mtls_err hs_server_name_from_hello(struct hs *hs, rd data);
mtls_err hs_select_alpn(struct hs *hs, rd data);

/* tls13.c: what both TLS 1.3 roles share */
/* Install the traffic keys of `which` (a ks13 traffic secret) for reading or writing. */
mtls_err hs13_install(struct hs *hs, ks13_secret which, bool for_write);
/* RFC 8446 5.1: a message before a key change must end its record: nothing may follow it in
 * what was received (unexpected_message otherwise). */
mtls_err hs13_aligned(struct hs *hs, const msg *m);
/* The key log lines of these secrets, when a key log is set. */
void hs13_keylog(struct hs *hs, const ks13_secret *which, size_t n);
/* Hash(raw transcript so far || p[0..n)) with `alg`: binders over a partial ClientHello. */
mtls_err hs13_partial_hash(struct hs *hs, cry_hash_alg alg, const uint8_t *p, size_t n,
                           uint8_t *out);
/* RFC 8446 4.4.1: after a HelloRetryRequest the transcript starts again from message_hash
 * (Hash(ClientHello1)), with the hash of `suite`; the raw transcript then holds that alone. */
mtls_err hs13_restart_transcript(struct hs *hs, const suite_info *suite);
/* Our Certificate (TLS 1.3 form, empty context) with `chain` (n may be 0), and the peer's. */
mtls_err hs13_send_certificate(struct hs *hs, x509_cert *const *chain, size_t n);
mtls_err hs13_read_certificate(struct hs *hs, const msg *m);
/* Our CertificateVerify with `sigalg`, and the peer's, checked against `offered` (the schemes
 * we offered for it). */
mtls_err hs13_send_cert_verify(struct hs *hs, uint16_t sigalg);
mtls_err hs13_read_cert_verify(struct hs *hs, const msg *m, const uint16_t *offered, size_t n);
/* Finished under `base` (KS13_S_HS_TRAFFIC or KS13_C_HS_TRAFFIC): ours, and the peer's. */
mtls_err hs13_send_finished(struct hs *hs, ks13_secret base);
mtls_err hs13_read_finished(struct hs *hs, const msg *m, ks13_secret base);
/* A signature scheme our key can use in TLS 1.3 among `offered` (ours first); 0 when none. */
uint16_t hs13_pick_sigalg(const mtls_config *cfg, const uint16_t *offered, size_t n);
/* RFC 8446 4.2.3: RSA keys sign with RSA-PSS, ECDSA keys with the scheme of their curve. */
bool hs13_sigalg_fits_key(uint16_t sigalg, const cry_pkey *key);
/* A compatibility ChangeCipherSpec (RFC 8446 D.4) in the window the role keeps open. */
mtls_err hs13_ccs(struct hs *hs, bool in_window, const uint8_t *p, size_t n);
/* Send ours, once (D.4). */
mtls_err hs13_send_ccs(struct hs *hs);
/* Proof before traffic, then the handshake's state after it moves to the handle (post13). */
mtls_err hs13_establish(struct hs *hs);

/* What the roles lend post-handshake authentication (RFC 8446 4.6.2), run by post13.c in a
 * negotiation of its own (hs->post_auth, hs->post_context).  server13.c: our CertificateRequest
 * (context hs->post_context; empty in the handshake), the client's Certificate (an empty one
 * refused in require mode; the chain verified and moved to info) and CertificateVerify.
 * client13.c: the server's CertificateRequest (its context kept in hs->post_context), our
 * Certificate (empty when ours does not fit) and CertificateVerify. */
mtls_err hs13_send_cert_request(struct hs *hs);
mtls_err hs13_server_read_client_cert(struct hs *hs, const msg *m);
mtls_err hs13_server_read_client_cert_verify(struct hs *hs, const msg *m);
mtls_err hs13_client_read_cert_request(struct hs *hs, const msg *m);
mtls_err hs13_client_send_cert(struct hs *hs);

/* post13.c: TLS 1.3 after the handshake */
/* What outlives the negotiation (the application secrets, the resumption and exporter secrets),
 * taken from hs when it is established. */
mtls_err hs13_post_new(struct hs *hs, struct post13 **out);
mtls_err hs13_post(hs_handle *h, const uint8_t *p, size_t n);
void hs13_post_free(struct post13 *p);
/* Server: the NewSessionTicket messages after the client's Finished. */
mtls_err hs13_send_tickets(struct hs *hs);
/* Before application data is written: a KeyUpdate that is owed or due (RFC 8446 4.6.3, 5.5). */
mtls_err hs13_before_write(hs_handle *h);
/* Application data arrived (the KeyUpdate flood bound counts those in a row without it); an
 * error when a handshake message is cut by it. */
mtls_err hs13_app_data(hs_handle *h);
/* Post-handshake client authentication (RFC 8446 4.6.2).  Server: send a CertificateRequest
 * (hs13_post_auth_can_request says whether one may go: the client offered it, fewer than
 * MTLS_POST_AUTH_MAX_PENDING unanswered); how many are unanswered; whether the client offered
 * post_handshake_auth (client: whether we did). */
mtls_err hs13_request_client_cert(hs_handle *h);
unsigned hs13_post_auth_pending(const hs_handle *h);
bool hs13_post_auth_offered(const hs_handle *h);
/* Our KeyUpdate, asked for by the application (mtls_conn_key_update). */
mtls_err hs13_key_update(hs_handle *h, bool request);
/* The exporter (RFC 8446 7.5) over exporter_master_secret. */
mtls_err hs13_export(const hs_handle *h, const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);

/* tls12.c: what both TLS 1.2 roles share */
/* MTLS_OK when `m` is of `type`; otherwise unexpected_message, naming both. */
mtls_err hs_expect(struct hs *hs, const msg *m, uint8_t type);
/* Master secret (with EMS when negotiated) from the premaster, then the key block. */
mtls_err hs12_derive_keys(struct hs *hs);
/* Key block from the master secret (also after resumption); logs the key when asked. */
mtls_err hs12_key_block(struct hs *hs);
mtls_err hs12_finished_compute(struct hs *hs, bool from_client, uint8_t out[12]);
/* ChangeCipherSpec then Finished, framed and queued: the end of either side's flight. */
mtls_err hs12_send_ccs_and_finished(struct hs *hs);
/* The peer's ChangeCipherSpec, in a state that reads it. */
mtls_err hs12_read_ccs(struct hs *hs, const uint8_t *p, size_t n);
/* The peer's Finished: checked in constant time, then added to the transcript. */
mtls_err hs12_read_finished(struct hs *hs, const msg *m);
/* Proof before traffic: the checks this mode needs all happened; the session is recorded. */
mtls_err hs12_establish(struct hs *hs);
/* Handshake data after the handshake: only renegotiation attempts, which are refused. */
mtls_err hs12_post(hs_handle *h, const uint8_t *p, size_t n);
/* The exporter (RFC 5705) over the session's master secret and the handshake's randoms; only
 * with extended master secret. */
mtls_err hs12_export(const hs_handle *h, const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, bool use_context, uint8_t *out,
                     size_t out_len);

/* auth.c: the peer's certificates and our signatures */
/* Check the peer's chain: verification, hostname (client), policy callback; sets PROOF_PEER_CHAIN
 * and moves the chain to info. */
mtls_err hs_verify_peer_chain(struct hs *hs);
/* Choose a signature scheme for our key among `offered` (ours first). 0 when none fits. */
uint16_t hs_pick_sigalg(const mtls_config *cfg, const uint16_t *offered, size_t n);
bool hs_sigalg_fits_key(uint16_t sigalg, const cry_pkey *key);
/* RFC 5246 7.4.2 / RFC 5280 4.2.1.3: may this certificate's key sign (digitalSignature: ECDHE
 * parameters, CertificateVerify), or encipher (keyEncipherment: the RSA key transport's
 * premaster)?  A certificate without keyUsage may do either. */
bool hs_key_can_sign(const x509_cert *cert);
bool hs_key_can_encipher(const x509_cert *cert);

/* keyop.c: our private key's operations -- in memory (libcrypto), or the application's key
 * method (mtls_config_set_cert_chain_key_method), which may answer later.  When it does, these
 * return MTLS_ERR_WANT_KEY_OP: the caller has already moved to a state that reads nothing and
 * calls again, with the same input, each time it runs; the application is asked once, and
 * nothing else moves meanwhile (core reads no record while hs_key_op_waiting). */
/* Signature over `in` with `sigalg` for the message `what` ("CertificateVerify") into sig (cap
 * bytes).  The key method's signature is checked -- size, and that it verifies with our
 * certificate's key -- before it is returned. */
mtls_err hs_sign(struct hs *hs, const char *what, uint16_t sigalg, const uint8_t *in,
                 size_t in_len, uint8_t *sig, size_t cap, size_t *sig_len);
/* RFC 5246 7.4.7.1: the premaster from the EncryptedPreMasterSecret `ct` into hs->k12, checked
 * against `client_version`, with implicit rejection whatever the key or the key method gives.
 * `ct` is read only by the call that starts the operation (a later one may pass NULL, 0). */
mtls_err hs_decrypt_premaster(struct hs *hs, const uint8_t *ct, size_t ct_len,
                              uint16_t client_version);
/* Whether the server may choose a static-RSA suite: its key can decrypt (a key method without
 * a decrypt callback cannot). */
bool hs_key_can_decrypt(const mtls_config *cfg);

/* suites.c: lists of algorithm ids */
bool hs_list_has(const uint16_t *list, size_t n, uint16_t v);
/* The same for a list of 16-bit values as it is on the wire (a ClientHello's cipher_suites). */
bool hs_wire_list_has(rd list, uint16_t v);
/* "a, b, c" of suite / group / sigalg names, for the trace. */
void hs_names(char *out, size_t cap, const uint16_t *ids, size_t n, const char *(*name)(uint16_t));

/* The peer's Certificate message (TLS 1.2 format) into hs->peer_chain (possibly empty). */
mtls_err hs12_read_certificate(struct hs *hs, const msg *m);
/* Our Certificate message (TLS 1.2 format) with `chain` (n may be 0: none to send). */
mtls_err hs12_send_certificate(struct hs *hs, x509_cert *const *chain, size_t n);
/* The peer's certificates, as a Certificate message lists them, parsed by our X.509 code (and
 * its cache) into hs->peer_chain. */
mtls_err hs_parse_peer_chain(struct hs *hs, const struct msg_certificate *cert);
/* The sentence of a message codec's or extension parser's failure: `why`, or for a duplicate or
 * unoffered extension, which one. */
mtls_err hs_decode_err(struct hs *hs, mtls_err err, const char *why, const hello_exts *e);

/* status.c: certificate status (OCSP stapling, RFC 6066 8) and revocation, for every version */
/* Drop what the negotiation holds (from run_free). */
void hs_status_free(struct hs *hs);
/* Client: do we ask for a staple?  (Configured or required, and verifying the server.) */
bool hs_status_wanted(const struct hs *hs);
/* Client: the ServerHello's status_request (TLS 1.2): it must answer our request and be empty;
 * on a resumed handshake no CertificateStatus follows. */
mtls_err hs_status_read_ack(struct hs *hs, const ext_slot *ext, bool resumed);
/* Client: a response the server stapled -- TLS 1.2 CertificateStatus' OCSPResponse, TLS 1.3 the
 * end-entity Certificate entry's status_request -- parsed for hs_verify_peer_chain.  A response
 * that does not parse is bad_certificate_status_response (RFC 6066 8). */
mtls_err hs_status_take(struct hs *hs, rd response);
/* Client, TLS 1.2: the CertificateStatus message. */
mtls_err hs_status_read12(struct hs *hs, const msg *m);
/* Server: the ClientHello's status_request (malformed: decode_error; a status type other than
 * ocsp is ignored). */
mtls_err hs_status_read_request(struct hs *hs, const ext_slot *ext);
/* Server, full handshakes: whether this one staples -- the client asked for ocsp and the config
 * has a current response about its certificate (the trace says why not). */
void hs_status_pick(struct hs *hs);
/* Server, TLS 1.2: the CertificateStatus message after our Certificate, when we staple. */
mtls_err hs_status_send12(struct hs *hs);
/* Server, TLS 1.3 (RFC 8446 4.4.2.1): the status_request extension of our end-entity
 * CertificateEntry, whose extension_data is a CertificateStatus, when we staple (else nothing);
 * false when `w` ran out of room. */
bool hs_status_entry13(const struct hs *hs, wr *w);
/* TLS 1.3, the peer's Certificate: each entry's extensions block content.  A client that asked
 * takes the leaf's staple (hs_status_take, before hs_verify_peer_chain); a status_request we did
 * not ask for (any from a client: our CertificateRequest asks for none) is
 * unsupported_extension.  A CertificateRequest's status_request (the server asking the client)
 * is not answered. */
mtls_err hs_status_read13(struct hs *hs, const rd *exts, size_t n);
/* After x509_verify_chain: record the OCSP verdict for mtls_conn_peer_ocsp and, when CRLs were
 * checked, the path above the leaf for the session. */
void hs_status_verified(struct hs *hs, const x509_revocation *r, const x509_cert *const *path,
                        size_t path_len);

/* resume.c: sessions in the handshake */
/* Client: the session to offer (checked: fits our config and name), or NULL. */
mtls_session *hs_session_to_offer(struct hs *hs);
/* Server: the session the ClientHello asks to resume, if it passes every check, in *out (NULL
 * for a full handshake).  An error only for a hello that must be refused outright: a session made
 * with extended master secret offered without the extension (RFC 7627 5.3). */
mtls_err hs_session_lookup(struct hs *hs, const uint8_t *sid, size_t sid_len, const hello_exts *e,
                           rd suites, mtls_session **out);
/* Both: make this connection's session at the end of a handshake; server stores it. */
mtls_err hs_session_finish(struct hs *hs);
/* Take over a resumed session's identity (peer certificate) into the connection. */
mtls_err hs_adopt_session(struct hs *hs, mtls_session *s);
/* Server: a ticket sealing this handshake's session (malloc'd; *len 0 and NULL when none can be
 * made: RFC 5077 3.3 allows an empty ticket). */
mtls_err hs_ticket_make(struct hs *hs, uint8_t **ticket, size_t *len);
/* TLS 1.3 (RFC 8446 4.6.1, 4.2.11).  Server: the session inside a ticket offered as PSK
 * identity, if it passes every check of a TLS 1.2 session (binding, name, verify mode, callback),
 * is of TLS 1.3 with the hash `prf` (the suite's) and its obfuscated_ticket_age is fresh; else
 * NULL (a full handshake).  The binder is the caller's to check. */
mtls_session *hs13_session_lookup(struct hs *hs, rd identity, uint32_t obfuscated_age,
                                  cry_hash_alg prf);
/* Server, TLS 1.3 tickets.  Stateful ones -- the ticket is a random session id, the session kept
 * in the application's store when one is set, else in the session cache -- when a store is set,
 * or when tickets are off and the cache is on (OpenSSL's SSL_OP_NO_TICKET); sealed ones (the
 * session inside, AES-256-GCM under the ticket keys) otherwise.  _resumption_on: either kind is
 * issued. */
#define HS13_TICKET_ID_LEN 32
bool hs13_stateful_tickets(const mtls_config *cfg);
bool hs13_resumption_on(const mtls_config *cfg);
/* The ticket for `s` (malloc'd): a stateful one gives `s` its id and keeps it, a sealed one
 * seals it.  An error when none can be made (no key may seal yet, no randomness). */
mtls_err hs13_ticket_make(struct hs *hs, mtls_session *s, uint8_t **ticket, size_t *len);
/* The session of a stateful ticket, its binder verified: forgotten where it is kept (the store's
 * remove callback, or the cache), so that the ticket resumes once (RFC 8446 C.4, 8.1).  Nothing
 * for a sealed ticket. */
void hs13_session_used(struct hs *hs, const mtls_session *s);
/* A session for this connection's peer and names holding `psk` (a resumption PSK): what a ticket
 * seals (server) or what a client keeps for a ticket it received.  `created`: when the
 * session's first full handshake was (carried through resumptions). */
mtls_session *hs13_session_new(const hs_env *env, uint16_t suite, const uint8_t *psk, size_t len,
                               int64_t created);
/* Both: the resumed session's identity becomes the connection's; sets PROOF_RESUMED (a client's
 * verify callback has the last word first). */
mtls_err hs13_adopt_session(struct hs *hs, mtls_session *s);
/* The certificates above the peer's leaf that a later resumption re-checks against the CRLs
 * (resume.c): into `s` from this handshake's verified path, or on a resumption from the session
 * resumed; _copy_issuers from another session (`old` NULL: none).  False: out of memory. */
bool hs_session_keep_issuers(struct hs *hs, mtls_session *s);
bool hs_session_copy_issuers(mtls_session *s, const mtls_session *old);

#endif
