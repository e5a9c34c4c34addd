/*
 * cache.c -- the server's in-memory session cache: bounded by entries and lifetime, evicting
 * the oldest entry first, safe for many threads (one mutex; the work under it is a few pointer
 * moves, never crypto or I/O).
 *
 * Entries sit in a ring in insertion order, so the oldest is always at `head`; a chained hash
 * table over the session id finds them.  Ids are 32 random bytes made by us, so their first
 * bytes are a fair hash; a peer choosing the id it offers can only pick which chain is walked.
 * The cache is reference counted: configs share it across a reload (mtls_config_share_sessions),
 * so that sessions made under the old config resume under the new one.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct cache_entry {
    mtls_session *sess; /* NULL: removed */
    uint32_t next;      /* next in chain, slot index + 1, 0 = end */
};

struct sess_cache {
    atomic_int refs;
    pthread_mutex_t lock;
    size_t max, head, count;
    struct cache_entry *slots;
    uint32_t *buckets; /* slot index + 1, 0 = empty */
    size_t n_buckets;  /* power of two */
};

sess_cache *cache_new(size_t max_entries)
{
    if (max_entries == 0 || max_entries > (1u << 24))
        return NULL;
    sess_cache *c = mem_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    c->max = max_entries;
    c->n_buckets = 16;
    while (c->n_buckets < 2 * max_entries)
        c->n_buckets *= 2;
    return c;
}

sess_cache *cache_ref(sess_cache *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void cache_free(sess_cache *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->slots)
        for (size_t i = 0; i < c->max; i++)
            mtls_session_free(c->slots[i].sess);
    mem_free(c->slots);
    mem_free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    mem_free(c);
}

static size_t bucket_of(const sess_cache *c, const uint8_t *id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len && i < 8; i++)
        h = (h ^ id[i]) * 16777619u;
    return h & (c->n_buckets - 1);
}

/* Unlink slot `idx` from its chain (the caller holds the lock). */
static void unlink_slot(sess_cache *c, size_t idx)
{
    mtls_session *s = c->slots[idx].sess;
    if (!s)
        return;
    uint32_t *link = &c->buckets[bucket_of(c, s->id, s->id_len)];
    while (*link && *link != idx + 1)
        link = &c->slots[*link - 1].next;
    if (*link)
        *link = c->slots[idx].next;
    c->slots[idx].next = 0;
    mtls_session_free(s);
    c->slots[idx].sess = NULL;
}

void cache_put(sess_cache *c, mtls_session *s, int64_t now)
{
    (void)now;
    if (!c || !s || s->id_len == 0)
        return;
    pthread_mutex_lock(&c->lock);
    if (!c->slots) {
        c->slots = mem_calloc(c->max, sizeof(*c->slots));
        c->buckets = mem_calloc(c->n_buckets, sizeof(*c->buckets));
        if (!c->slots || !c->buckets) {
            mem_free(c->slots);
            mem_free(c->buckets);
            c->slots = NULL;
            c->buckets = NULL;
            pthread_mutex_unlock(&c->lock);
            return;
        }
    }
    if (c->count == c->max) { /* evict the oldest */
        unlink_slot(c, c->head);
        c->head = (c->head + 1) % c->max;
        c->count--;
    }
    size_t idx = (c->head + c->count) % c->max;
    c->count++;
    size_t b = bucket_of(c, s->id, s->id_len);
    c->slots[idx].sess = session_ref(s);
    c->slots[idx].next = c->buckets[b];
    c->buckets[b] = (uint32_t)idx + 1;
    pthread_mutex_unlock(&c->lock);
}

static size_t find(sess_cache *c, const uint8_t *id, size_t len)
{
    if (!c->slots)
        return SIZE_MAX;
    for (uint32_t at = c->buckets[bucket_of(c, id, len)]; at; at = c->slots[at - 1].next) {
        const mtls_session *s = c->slots[at - 1].sess;
        if (s && s->id_len == len && memcmp(s->id, id, len) == 0)
            return at - 1;
    }
    return SIZE_MAX;
}

mtls_session *cache_get(sess_cache *c, const uint8_t *id, size_t id_len, int64_t now)
{
    if (!c || id_len == 0)
        return NULL;
    mtls_session *s = NULL;
    pthread_mutex_lock(&c->lock);
    size_t idx = find(c, id, id_len);
    if (idx != SIZE_MAX) {
        if (session_expired(c->slots[idx].sess, now))
            unlink_slot(c, idx);
        else
            s = session_ref(c->slots[idx].sess);
    }
    pthread_mutex_unlock(&c->lock);
    return s;
}

void cache_remove(sess_cache *c, const uint8_t *id, size_t id_len)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    size_t idx = find(c, id, id_len);
    if (idx != SIZE_MAX)
        unlink_slot(c, idx);
    pthread_mutex_unlock(&c->lock);
}
