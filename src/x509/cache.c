/*
 * cache.c -- parsed certificates shared by the connections of one config.
 *
 * Why: a client that reconnects to the same server, or a server whose clients come back with
 * the same certificate, would otherwise parse the same DER and import the same public key on
 * every handshake (an RSA key also rebuilds its Montgomery context on first use).  Entries are
 * keyed by the exact DER bytes -- the parse is a pure function of them -- so a hit is the same
 * result as a fresh parse.  Verification is never cached: the chain, the validity at this moment,
 * the names and usages are checked in every handshake.
 *
 * Lookups hash the DER (FNV-1a, 64 bits) and compare the full bytes on a hash match; the hash is
 * only an index.  The table is small (a config's capacity, default 64), scanned linearly under
 * the lock; parsing happens outside the lock, and when two threads parse the same certificate at
 * once the first to insert wins and the other's copy is dropped.  A certificate is marked shared
 * before it becomes visible to other threads; nothing in it changes afterwards.
 */
#include <pthread.h>
#include <string.h>

#include "../base/base.h"
#include "x509_int.h"

struct entry {
    uint64_t hash;
    uint64_t last_use;
    x509_cert *cert; /* the cache's reference */
};

struct x509_cache {
    pthread_mutex_t lock;
    size_t cap, n;
    uint64_t tick, hits;
    struct entry *e;
};

x509_cache *x509_cache_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    x509_cache *c = mem_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->e = mem_calloc(capacity, sizeof(*c->e));
    if (!c->e) {
        mem_free(c);
        return NULL;
    }
    c->cap = capacity;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void x509_cache_free(x509_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        x509_cert_free(c->e[i].cert);
    mem_free(c->e);
    pthread_mutex_destroy(&c->lock);
    mem_free(c);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* The entry holding exactly these bytes, or NULL.  Called with the lock held. */
static struct entry *find(x509_cache *c, uint64_t h, const uint8_t *der, size_t len)
{
    for (size_t i = 0; i < c->n; i++) {
        struct entry *e = &c->e[i];
        if (e->hash == h && e->cert->der_len == len && memcmp(e->cert->der, der, len) == 0)
            return e;
    }
    return NULL;
}

mtls_err x509_cache_parse(x509_cache *c, const uint8_t *der, size_t len, x509_cert **out)
{
    if (!c)
        return x509_cert_parse(der, len, out);
    if (!out || (!der && len))
        return MTLS_ERR_INVALID_ARG;
    *out = NULL;
    uint64_t h = fnv1a(der, len);

    pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, h, der, len);
    if (e) {
        e->last_use = ++c->tick;
        c->hits++;
        *out = x509_cert_up_ref(e->cert);
    }
    pthread_mutex_unlock(&c->lock);
    if (*out)
        return MTLS_OK;

    x509_cert *fresh;
    mtls_err err = x509_cert_parse(der, len, &fresh);
    if (err)
        return err;
    fresh->shared = true; /* before any other thread can see it */

    pthread_mutex_lock(&c->lock);
    e = find(c, h, der, len);
    if (e) { /* another thread inserted it meanwhile: use that one */
        e->last_use = ++c->tick;
        *out = x509_cert_up_ref(e->cert);
    } else {
        if (c->n < c->cap) {
            e = &c->e[c->n++];
        } else { /* evict the least recently used */
            e = &c->e[0];
            for (size_t i = 1; i < c->n; i++)
                if (c->e[i].last_use < e->last_use)
                    e = &c->e[i];
            x509_cert_free(e->cert);
        }
        e->hash = h;
        e->last_use = ++c->tick;
        e->cert = x509_cert_up_ref(fresh);
        *out = fresh;
        fresh = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    x509_cert_free(fresh); /* the losing copy, if any */
    return MTLS_OK;
}

void x509_cache_stats(x509_cache *c, size_t *count, uint64_t *hits)
{
    *count = 0;
    *hits = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *count = c->n;
    *hits = c->hits;
    pthread_mutex_unlock(&c->lock);
}
