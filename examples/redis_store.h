/*
 * redis_store.h -- an mtls session store in Redis (hiredis), so that the servers of a fleet
 * resume each other's sessions by session id.  Copy redis_store.c and this header into your
 * program; `mtls server --session-store` uses the same two files.
 *
 *   redis_store *st = redis_store_new("redis://127.0.0.1:6379", 100, err, sizeof(err));
 *   redis_store_attach(st, cfg);      // before the config serves connections
 *   ...
 *   redis_store_free(st);             // after every config that uses it is freed
 *
 * Never in the way of a handshake: the connection to Redis and every command are bounded by
 * timeout_ms (100 ms is a good value on a LAN); when Redis fails or times out, the store stays
 * "down" for a second -- calls return at once, a lookup finds nothing, so handshakes fall back
 * to full ones -- and the next call after that tries to connect again.
 */
#ifndef REDIS_STORE_H
#define REDIS_STORE_H

#include <stddef.h>

#include <mtls.h>

typedef struct redis_store redis_store;

/* A store for `url`: redis://[[user:]password@]host[:port][/db] (port 6379, db 0 by default) or
 * unix:///path/to/redis.sock.  Keys are "mtls:session:<hex session id>", each expiring with its
 * session.  Connects on first use, not here.  NULL on a malformed URL or no memory, with a
 * sentence in err. */
redis_store *redis_store_new(const char *url, int timeout_ms, char *err, size_t err_cap);
void redis_store_free(redis_store *st);
/* The URL without its credentials, for messages. */
const char *redis_store_url(const redis_store *st);

/* Install the store's callbacks on a server config (mtls_config_set_session_store).  One store
 * may serve several configs (a reload builds a new one) and many threads: commands are
 * serialized on one connection, under a mutex. */
mtls_err redis_store_attach(redis_store *st, mtls_config *cfg);

/* Connect now (if not connected) and PING: 0 when Redis answers, -1 when not (the store is then
 * down for a second, and the log callback said why).  For a line at startup. */
int redis_store_check(redis_store *st);

/* Where to say when Redis goes away and comes back ("session store: ..."), one line each time;
 * NULL for silence (the default). */
typedef void redis_store_log_fn(void *arg, const char *line);
void redis_store_set_log(redis_store *st, redis_store_log_fn *fn, void *arg);

/* Counters since the store was made. */
struct redis_store_stats {
    unsigned long stored, hits, misses, errors;
};
void redis_store_get_stats(redis_store *st, struct redis_store_stats *out);

#endif
