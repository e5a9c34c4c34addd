/*
 * fuzz_common.h -- what every mtls fuzz target shares: fixed identities (fuzz/fixtures), fixed
 * clock and ticket keys, a deterministic RNG per connection (the build flag
 * MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG), and recorded in-memory handshakes that can be replayed
 * message by message to put a connection into any read state before the fuzz input arrives.
 *
 * Why replay works: with the deterministic RNG -- ours and libcrypto's (crypto.c), so key shares,
 * ECDSA nonces and RSA-PSS salts included -- a connection created with the same RNG seed and
 * given the same bytes makes the same randoms, key shares and signatures, so the peer's recorded
 * messages decrypt (TLS 1.3 handshake keys, TLS 1.2 ECDHE) and its recorded signatures and
 * Finished verify again, in both versions and both roles, to the end of the recording.
 *
 * Protected records are kept as what they carry: a recording is cut, record by record, with the
 * receiver's own read protection (a copy of it opens what the receiver will open), so its events
 * are plaintext -- handshake messages, ChangeCipherSpec, other records -- and a replay gives each
 * back "as the peer": sealed with a copy of the receiver's current read protection when it has
 * one (fz_feed_as_peer), in clear otherwise.  Any message of any state, the TLS 1.3 encrypted
 * flight and the post-handshake messages included, can thus be replaced by fuzz input and still
 * reach its parser through the record layer.
 */
#ifndef MTLS_FUZZ_COMMON_H
#define MTLS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "handshake/hs.h"
#include "mtls.h"

/* crypto.c, fuzz builds only */
void cry_fuzz_rng_set(uint64_t state);
uint64_t cry_fuzz_rng_get(void);

#define FZ_NOW 1800000000 /* 2027-01-15: inside the fixtures' validity */
#define FZ_SEED_CLIENT 0x1111111111111111ULL
#define FZ_SEED_SERVER 0x2222222222222222ULL

/* Server configs: 0 ECDSA P-256, no client auth; 1 RSA-2048, client certificate required;
 * 2 RSA-2048, client certificate optional, ALPN, client's suite order; 3 ECDSA P-256, client
 * certificate optional, groups P-256 first (a client whose key share is X25519's gets a
 * HelloRetryRequest), psk_ke allowed.  All: TLS 1.2 and 1.3, fixed ticket keys, no session cache
 * (no state between inputs), fixed clock. */
#define FZ_SERVER_VARIANTS 4
/* Client configs, all with a client certificate: 0 defaults (TLS 1.3 preferred, 1.2 too);
 * 1 static RSA suites only (so TLS 1.2 only) + ALPN; 2 as 1, offering the session of
 * fixtures/session.bin (TLS 1.2 ticket); 3 TLS 1.2 only; 4 TLS 1.3 only, P-256 alone (a server
 * preferring X25519 lists its groups in EncryptedExtensions), ALPN, OCSP stapling asked for;
 * 5 as 4, offering the session of fixtures/session13.bin (TLS 1.3 ticket: a pre-shared key). */
#define FZ_CLIENT_VARIANTS 6
mtls_config *fz_server_config(int variant);
mtls_config *fz_client_config(int variant);

/* A fixture file, read once (NULL when missing). */
const uint8_t *fz_fixture(const char *name, size_t *len);
/* Where fixtures live (the source tree, baked in at build time; $MTLS_FUZZ_FIXTURES wins). */
const char *fz_fixture_dir(void);

/* New connections with their RNG stream reset: identical inputs give identical runs. */
mtls_conn *fz_client(int variant);
mtls_conn *fz_server(int variant);

/* Give `n` bytes to `c` in pieces of at most `chunk` (0: as much as it takes), discarding what it
 * sends.  Stops at the first fatal error, which it returns. */
mtls_err fz_feed(mtls_conn *c, const uint8_t *p, size_t n, size_t chunk);
/* One plaintext record of `type`, fragmented at 2^14. */
mtls_err fz_feed_plain(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n);
/* A record of `type` as the peer of `c` sends it: sealed with a copy of c's read protection at
 * the sequence number c expects when c has one (TLS 1.2 or 1.3), else in clear; a
 * ChangeCipherSpec always in clear.  Fragmented at 2^14. */
mtls_err fz_feed_as_peer(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n);
/* A list of {content type u8, length u16, bytes} items, each given as fz_feed_as_peer gives it,
 * or with type 0 as raw wire bytes (in pieces of at most `chunk`, 0: as much as it takes).  Stops
 * at the first fatal error, which it returns. */
mtls_err fz_feed_items(mtls_conn *c, const uint8_t *p, size_t n, size_t chunk);
/* After a handshake: read everything, write a little, close; exercises the traffic path. */
void fz_exercise(mtls_conn *c);
void fz_drain(mtls_conn *c);

/* ---- recorded handshakes ----------------------------------------------------------------- */

/* What a side received, in plaintext: a handshake message (header included), a
 * ChangeCipherSpec (its body), another record (its type and plaintext body), or -- only when a
 * protected record could not be opened -- the record's wire bytes. */
typedef enum { FZ_EV_MSG, FZ_EV_CCS, FZ_EV_RECORD, FZ_EV_RAW } fz_ev_kind;
typedef struct fz_event {
    fz_ev_kind kind;
    uint8_t type; /* handshake type (FZ_EV_MSG) or content type (FZ_EV_RECORD) */
    uint8_t *p;
    size_t len;
} fz_event;

#define FZ_MAX_EVENTS 48
typedef struct fz_script {
    int client_variant, server_variant;
    fz_event to_client[FZ_MAX_EVENTS], to_server[FZ_MAX_EVENTS];
    size_t n_to_client, n_to_server;
    uint8_t *raw_to_client, *raw_to_server; /* the byte streams as sent */
    size_t raw_to_client_len, raw_to_server_len;
    int established;
    mtls_session *session; /* the client's, after the handshake */
} fz_script;

/* Pairings used by the targets and the corpus generator. */
enum {
    FZ_PAIR_ECDHE = 0,   /* client 3 + server 0: TLS 1.2 ECDHE-ECDSA, tickets */
    FZ_PAIR_RSA_MUTUAL,  /* client 1 + server 1: TLS 1.2 static RSA, client certificate, tickets */
    FZ_PAIR_RESUMED,     /* client 2 + server 1: TLS 1.2 abbreviated handshake by ticket */
    FZ_PAIR_ECDHE_RSA,   /* client 3 + server 2: TLS 1.2 ECDHE-RSA, optional client cert */
    FZ_PAIR_13,          /* client 0 + server 1: TLS 1.3, X25519, RSA-PSS, client certificate,
                          * two NewSessionTickets */
    FZ_PAIR_13_ALPN,     /* client 4 + server 2: TLS 1.3, P-256, ALPN, supported_groups in
                          * EncryptedExtensions, status_request asked, optional client cert */
    FZ_PAIR_13_HRR,      /* client 0 + server 3: TLS 1.3 HelloRetryRequest (P-256) with a cookie,
                          * ECDSA, optional client cert */
    FZ_PAIR_13_RESUMED,  /* client 5 + server 2: TLS 1.3 resumption, psk_dhe_ke */
    FZ_PAIR_COUNT
};
void fz_pair_variants(int pair, int *client_variant, int *server_variant);

/* The recorded handshake of a pairing, as gen_corpus saved it in fixtures/, cut into events by a
 * fresh connection of each side that reads it; `established` says both reached the end, which a
 * recording older than the library's messages does not (cached, with a warning on stderr). */
const fz_script *fz_record(int pair);
/* Run a handshake in memory now and record what each side received (gen_corpus). */
const fz_script *fz_record_live(int pair);
void fz_script_free(fz_script *s);

/* Replay to `c` (a fresh connection of the recorded variant; a client sends its ClientHello
 * first) the events of its side until the
 * next one is the nth (0: the first) handshake message of `type`, and return its index; with
 * FZ_END as `type`, replay every event and return n.  -1 when the script ends first or c fails. */
#define FZ_END 256
long fz_replay_until(mtls_conn *c, const fz_event *ev, size_t n, int type, int nth);
/* Give `c` events [from, n) of a script, stopping at the first fatal error (returned). */
mtls_err fz_replay_events(mtls_conn *c, const fz_event *ev, size_t from, size_t n);
/* Events as fz_feed_items items (a seed), written to out (cap bytes); returns the length. */
size_t fz_items(const fz_event *ev, size_t n, uint8_t *out, size_t cap);

#endif
