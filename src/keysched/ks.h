/*
 * ks.h -- the key schedules of both versions (src/keysched): the TLS 1.2 PRF and RFC 5705
 * exporter, and the TLS 1.3 key schedule of RFC 8446 section 7.
 *
 * Nothing here knows a connection, a record or a message: the handshake feeds secrets and
 * transcript hashes in and takes secrets, keys and Finished values out.  Errors are mtls_err
 * values: MTLS_ERR_BAD_STATE when a call comes in the wrong stage or asks for a secret that is
 * not (or no longer) there, MTLS_ERR_INVALID_ARG for a length outside what the RFC allows,
 * MTLS_ERR_CRYPTO when libcrypto fails.  On any failure no partial secret is left in an output.
 */
#ifndef MTLS_KS_H
#define MTLS_KS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../crypto/crypto.h"

/* ---- TLS 1.2 ------------------------------------------------------------------------------- */

/* TLS 1.2 PRF (RFC 5246 5): P_<hash>(secret, label + seed1 + seed2).  prf12.c.  1 on success;
 * on failure the output is wiped. */
int ks_prf12(cry_hash_alg alg, const uint8_t *secret, size_t secret_len, const char *label,
             const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
             uint8_t *out, size_t out_len);

/* The TLS 1.2 key schedule (ks12.c), each step a PRF call:
 * master secret: with `ems`, RFC 7627 4 over the session hash (Hash of the messages up to and
 * including ClientKeyExchange, hlen bytes); else RFC 5246 8.1 over both randoms. */
mtls_err ks12_master_secret(cry_hash_alg prf, const uint8_t *premaster, size_t premaster_len,
                            bool ems, const uint8_t *session_hash, size_t hlen,
                            const uint8_t client_random[32], const uint8_t server_random[32],
                            uint8_t out[48]);
/* RFC 5246 6.3: `len` bytes of key block (client key, server key, client IV, server IV). */
mtls_err ks12_key_block(cry_hash_alg prf, const uint8_t master[48], const uint8_t server_random[32],
                        const uint8_t client_random[32], uint8_t *out, size_t len);
/* RFC 5246 7.4.9: the 12-byte verify_data of the client's or the server's Finished over the
 * transcript hash `th` (hlen bytes). */
mtls_err ks12_finished(cry_hash_alg prf, const uint8_t master[48], bool from_client,
                       const uint8_t *th, size_t hlen, uint8_t out[12]);
/* NSS key log line "CLIENT_RANDOM <64 hex> <96 hex>", NUL-terminated.  It holds the master
 * secret: wipe it once handed on. */
#define KS12_KEYLOG_LEN (13 + 1 + 64 + 1 + 96 + 1)
void ks12_keylog_line(char out[KS12_KEYLOG_LEN], const uint8_t client_random[32],
                      const uint8_t master[48]);

/* RFC 5705 exporter (export12.c):
 *   PRF(master_secret, label, client_random + server_random [+ context_length + context])
 * `use_context` says whether a context was given at all: in TLS 1.2 an empty context differs from
 * none.  label: 1..255 bytes, and none of the TLS 1.2 PRF's own labels (or a label beginning with
 * one), which would hand out Finished or key-block material; context: at most 65535 bytes. */
mtls_err ks12_export(cry_hash_alg prf, const uint8_t master[48], const uint8_t client_random[32],
                     const uint8_t server_random[32], const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, bool use_context, uint8_t *out,
                     size_t out_len);
/* Whether `label` is, or begins with, one of those labels of the TLS 1.2 PRF ("client finished",
 * "server finished", "master secret", "extended master secret", "key expansion": the labels RFC
 * 5705 4 warns exporter labels may collide with, registered as reserved in the TLS Exporter Label
 * registry).  ks12_export refuses them; the connection's exporter refuses them in TLS 1.3 too, so
 * that a label behaves the same in both versions. */
bool ks_export_label_reserved(const char *label, size_t label_len);

/* ---- TLS 1.3 (ks13.c; the file's opening comment tells how a handshake drives it) ---------- */

#define KS13_MAX_HASH 48 /* SHA-384: the largest hash of a TLS 1.3 suite */
#define KS13_IV_LEN 12   /* RFC 8446 5.3: iv_length, 12 for every AEAD of TLS 1.3 */
/* "CLIENT_HANDSHAKE_TRAFFIC_SECRET <64 hex> <96 hex>" and its NUL */
#define KS13_KEYLOG_MAX (31 + 1 + 64 + 1 + 2 * KS13_MAX_HASH + 1)

/* RFC 8446 7.1, the secrets of the schedule.  Each is held only in the stages named. */
typedef enum {
    KS13_EARLY_SECRET = 0, /* early */
    KS13_C_E_TRAFFIC,      /* client_early_traffic_secret: early, with a PSK */
    KS13_E_EXPORTER,       /* early_exporter_master_secret: early, with a PSK */
    KS13_HANDSHAKE_SECRET, /* handshake */
    KS13_C_HS_TRAFFIC,     /* client_handshake_traffic_secret: handshake, master */
    KS13_S_HS_TRAFFIC,     /* server_handshake_traffic_secret: handshake */
    KS13_MASTER_SECRET,    /* master */
    KS13_C_AP_TRAFFIC,     /* client_application_traffic_secret_N: master, done */
    KS13_S_AP_TRAFFIC,     /* server_application_traffic_secret_N: master, done */
    KS13_EXPORTER,         /* exporter_master_secret: master, done */
    KS13_RESUMPTION,       /* resumption_master_secret: done */
    KS13_SECRET_COUNT
} ks13_secret;

typedef enum {
    KS13_STAGE_NONE = 0,  /* not initialised, or cleared */
    KS13_STAGE_START,     /* ks13_init: the hash is known, nothing derived */
    KS13_STAGE_EARLY,     /* ks13_early */
    KS13_STAGE_HANDSHAKE, /* ks13_handshake */
    KS13_STAGE_MASTER,    /* ks13_master */
    KS13_STAGE_DONE,      /* ks13_finish */
} ks13_stage;

typedef struct ks13 {
    uint8_t s[KS13_SECRET_COUNT][KS13_MAX_HASH]; /* indexed by ks13_secret; hlen bytes used */
    uint32_t have;     /* bit i set: s[i] holds a live secret; clear: s[i] is all zeros */
    uint32_t c_ap_gen; /* N of client_application_traffic_secret_N (KeyUpdates done) */
    uint32_t s_ap_gen;
    cry_hash_alg alg;
    uint8_t hlen;
    ks13_stage stage;
    bool psk; /* the early secret came from a PSK */
} ks13;

/* RFC 8446 7.1 primitives.
 * HKDF-Expand-Label(Secret, Label, Context, Length) with HkdfLabel = length, "tls13 " + Label,
 * Context: label 1..249 bytes (label<7..255> with the prefix), context 0..255 bytes, length at
 * most 65535 and 255 * HashLen; anything else is MTLS_ERR_INVALID_ARG. */
mtls_err ks13_expand_label(cry_hash_alg alg, const uint8_t *secret, size_t secret_len,
                           const char *label, size_t label_len, const uint8_t *context,
                           size_t context_len, uint8_t *out, size_t out_len);
/* Derive-Secret(Secret, Label, Messages) given Transcript-Hash(Messages) as `th` (HashLen bytes;
 * NULL for the hash of no messages).  out: HashLen bytes. */
mtls_err ks13_derive_secret(cry_hash_alg alg, const uint8_t *secret, const char *label,
                            const uint8_t *th, uint8_t *out);
/* RFC 8446 4.4.1: after a HelloRetryRequest the transcript restarts with the synthetic handshake
 * message message_hash(254) || 00 00 HashLen || Hash(ClientHello1), written to out (4 + HashLen
 * bytes, *out_len set).  ch1_hash: Hash(ClientHello1). */
/* RFC 8446 7.5 over a given exporter_master_secret (or early_exporter_master_secret), HashLen
 * bytes; ks13_export below is this with the object's secret.  label 1..249 bytes, any context
 * (it is hashed), out_len as for ks13_expand_label. */
mtls_err ks13_exporter(cry_hash_alg alg, const uint8_t *exporter_secret, const char *label,
                       size_t label_len, const uint8_t *context, size_t context_len, uint8_t *out,
                       size_t out_len);
mtls_err ks13_message_hash(cry_hash_alg alg, const uint8_t *ch1_hash, uint8_t *out, size_t cap,
                           size_t *out_len);

/* The schedule object.  `th_*` arguments are transcript hashes of HashLen bytes. */
mtls_err ks13_init(ks13 *ks, cry_hash_alg alg); /* SHA-256 or SHA-384 */
void ks13_clear(ks13 *ks);                      /* wipes every secret; stage NONE */
/* Early secret = HKDF-Extract(0, PSK or zeros).  psk NULL (psk_len 0): no PSK.  Allowed again in
 * the early stage (a client whose PSK the server declined starts over without one). */
mtls_err ks13_early(ks13 *ks, const uint8_t *psk, size_t psk_len);
/* RFC 8446 4.2.11.2: binder = HMAC(finished_key(binder_key), th_partial), binder_key from
 * "ext binder" (external PSK) or "res binder" (resumption); th_partial hashes the ClientHello up
 * to the binders list (after a HelloRetryRequest: message_hash, HelloRetryRequest and that partial
 * ClientHello).  Early stage with a PSK.  out: HashLen bytes.  _check compares in constant time:
 * MTLS_ERR_BAD_FINISHED (decrypt_error, as RFC 8446 6.2 asks for a binder) on a mismatch. */
mtls_err ks13_binder(const ks13 *ks, bool external, const uint8_t *th_partial, uint8_t *out);
mtls_err ks13_binder_check(const ks13 *ks, bool external, const uint8_t *th_partial,
                           const uint8_t *binder, size_t binder_len);
/* client_early_traffic_secret and early_exporter_master_secret over Hash(ClientHello). */
mtls_err ks13_early_traffic(ks13 *ks, const uint8_t *th_ch);
/* Handshake secret from the (EC)DHE shared secret (NULL, 0 in psk_ke mode: zeros), then the
 * client and server handshake traffic secrets over ClientHello..ServerHello.  Wipes the early
 * secrets. */
mtls_err ks13_handshake(ks13 *ks, const uint8_t *ecdhe, size_t ecdhe_len, const uint8_t *th_ch_sh);
/* Master secret, then client/server application traffic secrets 0 and exporter_master_secret
 * over ClientHello..server Finished.  Wipes the handshake secret and the server handshake
 * traffic secret; the client's stays for the client Finished. */
mtls_err ks13_master(ks13 *ks, const uint8_t *th_ch_sf);
/* resumption_master_secret over ClientHello..client Finished; wipes the master secret and the
 * client handshake traffic secret.  The handshake is over. */
mtls_err ks13_finish(ks13 *ks, const uint8_t *th_ch_cf);

/* A copy of a held secret (HashLen bytes; cap must be >= HashLen). */
mtls_err ks13_get(const ks13 *ks, ks13_secret which, uint8_t *out, size_t cap, size_t *out_len);
/* RFC 8446 7.3: key = Expand-Label(secret, "key", "", key_len), iv = Expand-Label(secret, "iv",
 * "", 12) for a traffic secret. */
mtls_err ks13_traffic_keys(const ks13 *ks, ks13_secret which, uint8_t *key, size_t key_len,
                           uint8_t iv[KS13_IV_LEN]);
/* RFC 8446 4.4.4: verify_data = HMAC(Expand-Label(BaseKey, "finished", "", HashLen), th), BaseKey
 * KS13_C_HS_TRAFFIC / KS13_S_HS_TRAFFIC, or KS13_C_AP_TRAFFIC for post-handshake authentication.
 * out: HashLen bytes.  _check compares in constant time: MTLS_ERR_BAD_FINISHED on a mismatch
 * (a wrong length included). */
mtls_err ks13_finished(const ks13 *ks, ks13_secret base, const uint8_t *th, uint8_t *out);
mtls_err ks13_finished_check(const ks13 *ks, ks13_secret base, const uint8_t *th,
                             const uint8_t *got, size_t got_len);
/* RFC 8446 7.2 (KeyUpdate): application_traffic_secret_N+1 = Expand-Label(_N, "traffic upd", "",
 * HashLen), replacing (and wiping) _N of KS13_C_AP_TRAFFIC or KS13_S_AP_TRAFFIC. */
mtls_err ks13_update(ks13 *ks, ks13_secret which);
/* RFC 8446 4.6.1: the PSK of a ticket = Expand-Label(resumption_master_secret, "resumption",
 * ticket_nonce, HashLen).  Done stage.  out: HashLen bytes. */
mtls_err ks13_resumption_psk(const ks13 *ks, const uint8_t *nonce, size_t nonce_len, uint8_t *out);
/* RFC 8446 7.5: TLS-Exporter(label, context, length) = Expand-Label(Derive-Secret(Secret, label,
 * ""), "exporter", Hash(context), length) with Secret the exporter_master_secret (early: the
 * early_exporter_master_secret).  No context and an empty one are the same in TLS 1.3. */
mtls_err ks13_export(const ks13 *ks, bool early, const char *label, size_t label_len,
                     const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);
/* NSS key log line "LABEL <client_random> <secret>" (hex, NUL-terminated, no newline) for
 * CLIENT_EARLY_TRAFFIC_SECRET, EARLY_EXPORTER_SECRET, CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT/SERVER_TRAFFIC_SECRET_0 (before any KeyUpdate) and EXPORTER_SECRET.  cap >=
 * KS13_KEYLOG_MAX is always enough.  The line holds the secret: wipe it once it is handed on. */
mtls_err ks13_keylog_line(const ks13 *ks, ks13_secret which, const uint8_t client_random[32],
                          char *line, size_t cap);

#endif
