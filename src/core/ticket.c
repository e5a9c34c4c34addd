/*
 * ticket.c -- session tickets (RFC 5077): the server's session state sealed with AES-256-GCM
 * under a ticket key, so the server keeps nothing.
 *
 *   ticket = key_name[16] || iv[12] || AEAD(key, iv, aad = key_name, session state) || tag[16]
 *
 * Keys rotate by themselves: a new sealing key every MTLS_TICKET_KEY_ROTATION seconds; older keys
 * stay for opening while tickets they sealed can still be alive.  An application that runs
 * several servers sets the keys itself, which stops rotation.  A ticket that does not open --
 * unknown key name, bad tag, expired or malformed state -- yields NULL, and the handshake falls
 * back to a full one.  Keys are wiped when dropped.  One mutex guards the key set and the cipher
 * contexts (which are not safe to share between threads).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct tkey {
    uint8_t name[TICKET_KEY_NAME];
    cry_aead *seal, *open;
    int64_t created;
    bool used;
};

struct ticket_keys {
    pthread_mutex_t lock;
    struct tkey keys[TICKET_MAX_KEYS]; /* keys[0] seals */
    bool manual;
};

ticket_keys *ticket_keys_new(void)
{
    ticket_keys *k = mem_calloc(1, sizeof(*k));
    if (k)
        pthread_mutex_init(&k->lock, NULL);
    return k;
}

static void drop(struct tkey *t)
{
    cry_aead_free(t->seal);
    cry_aead_free(t->open);
    cry_wipe(t, sizeof(*t));
}

void ticket_keys_free(ticket_keys *k)
{
    if (!k)
        return;
    for (int i = 0; i < TICKET_MAX_KEYS; i++)
        drop(&k->keys[i]);
    pthread_mutex_destroy(&k->lock);
    mem_free(k);
}

static bool install(struct tkey *t, const uint8_t *name, const uint8_t *key, int64_t now)
{
    drop(t);
    memcpy(t->name, name, TICKET_KEY_NAME);
    t->seal = cry_aead_new(CRY_AES_256_GCM, key, 1);
    t->open = cry_aead_new(CRY_AES_256_GCM, key, 0);
    t->created = now;
    t->used = t->seal && t->open;
    return t->used;
}

mtls_err ticket_keys_set(ticket_keys *k, const uint8_t *keys, size_t n)
{
    if (!k || !keys || n == 0 || n > TICKET_MAX_KEYS)
        return MTLS_ERR_INVALID_ARG;
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < TICKET_MAX_KEYS; i++)
        drop(&k->keys[i]);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = install(&k->keys[i], keys + 80 * i, keys + 80 * i + TICKET_KEY_NAME, 0);
    k->manual = true;
    pthread_mutex_unlock(&k->lock);
    return ok ? MTLS_OK : MTLS_ERR_CRYPTO;
}

/* With the lock held: make sure keys[0] is fresh enough to seal; rotate otherwise. */
static bool rotate_if_due(ticket_keys *k, int64_t now)
{
    if (k->manual)
        return k->keys[0].used;
    if (k->keys[0].used && now - k->keys[0].created < MTLS_TICKET_KEY_ROTATION &&
        now >= k->keys[0].created)
        return true;
    drop(&k->keys[TICKET_MAX_KEYS - 1]);
    memmove(&k->keys[1], &k->keys[0], (TICKET_MAX_KEYS - 1) * sizeof(struct tkey));
    memset(&k->keys[0], 0, sizeof(struct tkey));
    uint8_t name[TICKET_KEY_NAME], key[32];
    bool ok = cry_random(name, sizeof(name)) && cry_random(key, sizeof(key)) &&
              install(&k->keys[0], name, key, now);
    cry_wipe(key, sizeof(key));
    return ok;
}

mtls_err ticket_seal(ticket_keys *k, const mtls_session *s, int64_t now, uint32_t lifetime,
                     uint8_t **out, size_t *out_len)
{
    (void)lifetime;
    uint8_t state[4096];
    wr w = wr_init(state, sizeof(state));
    if (!session_encode(s, false, &w))
        return MTLS_ERR_INTERNAL; /* too large to seal: no ticket */
    uint8_t *t = mem_alloc(TICKET_OVERHEAD + w.len);
    if (!t) {
        cry_wipe(state, sizeof(state));
        return MTLS_ERR_NO_MEMORY;
    }
    mtls_err err = MTLS_OK;
    pthread_mutex_lock(&k->lock);
    if (!rotate_if_due(k, now) || !cry_random(t + TICKET_KEY_NAME, 12)) {
        err = MTLS_ERR_CRYPTO;
    } else {
        memcpy(t, k->keys[0].name, TICKET_KEY_NAME);
        memcpy(t + TICKET_KEY_NAME + 12, state, w.len);
        if (!cry_aead_seal(k->keys[0].seal, t + TICKET_KEY_NAME, t, TICKET_KEY_NAME,
                           t + TICKET_KEY_NAME + 12, w.len, t + TICKET_KEY_NAME + 12 + w.len))
            err = MTLS_ERR_CRYPTO;
    }
    pthread_mutex_unlock(&k->lock);
    cry_wipe(state, sizeof(state));
    if (err) {
        mem_free(t);
        return err;
    }
    *out = t;
    *out_len = TICKET_OVERHEAD + w.len;
    return MTLS_OK;
}

mtls_session *ticket_open(ticket_keys *k, const uint8_t *t, size_t len, int64_t now,
                          uint32_t lifetime)
{
    if (!k || len <= TICKET_OVERHEAD || len > 4096 + TICKET_OVERHEAD)
        return NULL;
    size_t ct_len = len - TICKET_OVERHEAD;
    uint8_t state[4096];
    memcpy(state, t + TICKET_KEY_NAME + 12, ct_len);
    bool opened = false;
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < TICKET_MAX_KEYS && !opened; i++) {
        struct tkey *key = &k->keys[i];
        if (!key->used || memcmp(key->name, t, TICKET_KEY_NAME) != 0)
            continue;
        /* a key past its opening window has nothing alive to open */
        if (!k->manual && now - key->created >= MTLS_TICKET_KEY_ROTATION + (int64_t)lifetime)
            break;
        opened = cry_aead_open(key->open, t + TICKET_KEY_NAME, t, TICKET_KEY_NAME, state, ct_len,
                               t + len - 16);
    }
    pthread_mutex_unlock(&k->lock);
    mtls_session *s = opened ? session_decode(state, ct_len, false) : NULL;
    cry_wipe(state, sizeof(state));
    if (s && (session_expired(s, now) || s->lifetime > lifetime)) {
        mtls_session_free(s);
        s = NULL;
    }
    return s;
}
