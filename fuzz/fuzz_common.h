/*
 * fuzz_common.h -- what every mtls fuzz target shares: fixed identities (fuzz/fixtures), fixed
 * clock and ticket keys, a deterministic RNG per connection (the build flag
 * MTLS_FUZZING_UNSAFE_DETERMINISTIC_RNG), and recorded in-memory handshakes that can be replayed
 * message by message to put a connection into any read state before the fuzz input arrives.
 *
 * Why replay works: with the deterministic RNG, a connection created with the same RNG seed and
 * given the same bytes draws the same randoms, so the peer's recorded signatures over them and
 * (static RSA) its recorded Finished verify again.  ECDHE key generation is libcrypto's own and is
 * not deterministic: past an ECDHE ClientKeyExchange a replay diverges, which the targets accept.
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
 * 2 RSA-2048, client certificate optional, ALPN, client's suite order.  All: fixed ticket keys,
 * no session cache (no state between inputs), fixed clock. */
#define FZ_SERVER_VARIANTS 3
/* Client configs: 0 defaults + client certificate; 1 static RSA suites only + client
 * certificate + ALPN; 2 as 1, offering the session of fixtures/session.bin (ticket). */
#define FZ_CLIENT_VARIANTS 3
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
/* A record sealed with the keys the peer of `c` writes with, at the sequence number `c` expects
 * (c's read protection must be on). */
mtls_err fz_feed_sealed(mtls_conn *c, uint8_t type, const uint8_t *p, size_t n);
/* After a handshake: read everything, write a little, close; exercises the traffic path. */
void fz_exercise(mtls_conn *c);
void fz_drain(mtls_conn *c);

/* ---- recorded handshakes ----------------------------------------------------------------- */

typedef enum { FZ_EV_MSG, FZ_EV_CCS, FZ_EV_SEALED } fz_ev_kind;
typedef struct fz_event {
    fz_ev_kind kind;
    uint8_t type; /* handshake type for FZ_EV_MSG */
    uint8_t *p;   /* message (header included) or whole record */
    size_t len;
} fz_event;

#define FZ_MAX_EVENTS 32
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
    FZ_PAIR_ECDHE = 0,   /* client 0 + server 0: ECDHE-ECDSA, tickets */
    FZ_PAIR_RSA_MUTUAL,  /* client 1 + server 1: static RSA, client certificate, tickets */
    FZ_PAIR_RESUMED,     /* client 2 + server 1: abbreviated handshake by ticket */
    FZ_PAIR_ECDHE_RSA,   /* client 0 + server 2: ECDHE-RSA, optional client cert, ALPN */
    FZ_PAIR_COUNT
};
void fz_pair_variants(int pair, int *client_variant, int *server_variant);

/* The recorded handshake of a pairing, as gen_corpus saved it in fixtures/ (cached). */
const fz_script *fz_record(int pair);
/* Run a handshake in memory now and record what each side received (gen_corpus). */
const fz_script *fz_record_live(int pair);
void fz_script_free(fz_script *s);

/* Replay to `c` (a fresh connection of the recorded variant) the events of its side until the
 * next one is a handshake message of `type` (returns 1), or the script ends / c fails (0).  With
 * `type` < 0, replays to the end; with FZ_AFTER_CCS, stops right after the ChangeCipherSpec. */
#define FZ_AFTER_CCS 256
int fz_replay_until(mtls_conn *c, const fz_event *ev, size_t n, int type);

#endif
