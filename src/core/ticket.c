/*
 * ticket.c -- session tickets (RFC 5077): the server's session state sealed with AES-256-GCM
 * under a ticket key, so the server keeps nothing.
 *
 *   ticket = key_name[16] || iv[12] || AEAD(key, iv, aad = key_name, session state) || tag[16]
 *
 * The keys come from one of three sources:
 *   - automatic (the default): a new sealing key every MTLS_TICKET_KEY_ROTATION seconds; older
 *     keys stay for opening while tickets they sealed can still be alive (TICKET_AUTO_KEYS);
 *   - the application (mtls_config_set_ticket_keys): keys[0] seals, all open, no rotation;
 *   - a key file (mtls_config_set_ticket_key_file), so that every server of a fleet seals and
 *     opens with the same keys and a cron job rotates them.  The file is re-read when it changes:
 *     whichever seal or open comes first after MTLS_TICKET_KEY_FILE_CHECK seconds stat()s it and,
 *     when its identity (device, inode, size, mtime) differs, reads it again; or at once with
 *     mtls_config_reload_ticket_keys.  The read and the parse happen outside the lock, only the
 *     swap of the key set under it.  A file that no longer parses leaves the keys as they were.
 *
 * The key file (docs/FLEETS.md): text, one key a line, '#' starts a comment, blank lines are
 * skipped.  A key is 96 hex digits -- a 16-byte key name, then the 32-byte AES-256-GCM key, what
 * `openssl rand -hex 48` prints -- optionally followed by a not-before time in Unix seconds.
 * The first key whose not-before has passed (a key without one: always) seals; every key opens.
 * So a new key written first with a not-before a few minutes ahead reaches every server before
 * any of them seals with it, and a key removed from the file opens nothing from then on.
 *
 * A ticket that does not open -- unknown key name, bad tag, expired or malformed state -- yields
 * NULL, and the handshake falls back to a full one.  Keys and file contents are wiped when
 * dropped.  One mutex guards the key set and the cipher contexts (which are not safe to share
 * between threads).  The key set is reference counted: configs share it across a reload
 * (mtls_config_share_sessions), so tickets sealed under the old config open under the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Automatic keys kept: the sealing one and those still opening tickets of one lifetime. */
#define TICKET_AUTO_KEYS 4
/* The largest session state a ticket seals: the peer's leaf and, when CRLs are checked, the
 * certificates above it (session.c) fit. */
#define TICKET_STATE_MAX 8192
/* A key file is a few lines; anything larger is not one. */
#define TICKET_FILE_MAX (64 * 1024)

struct tkey {
    uint8_t name[TICKET_KEY_NAME];
    cry_aead *seal, *open;
    int64_t created;    /* automatic keys: when made */
    int64_t not_before; /* file keys: sealing starts then (INT64_MIN: always) */
    bool used;
};

enum tk_source { TK_AUTO, TK_APP, TK_FILE };

/* What tells that the key file changed: a new file moved into place (inode), or one rewritten. */
struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_s;
    long mtime_ns;
};

struct ticket_keys {
    atomic_int refs;
    pthread_mutex_t lock; /* everything below but the atomics */
    struct tkey keys[TICKET_MAX_KEYS]; /* automatic and application keys: keys[0] seals */
    enum tk_source source;
    char *path; /* TK_FILE */
    struct file_id id;
    atomic_bool from_file;  /* source == TK_FILE, for the check without the lock */
    atomic_llong checked;   /* when the file was last looked at (the config's clock) */
    char error[256];        /* why the last automatic re-read failed; "" when it did not */
};

ticket_keys *ticket_keys_new(void)
{
    ticket_keys *k = mem_calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    atomic_init(&k->refs, 1);
    atomic_init(&k->from_file, false);
    atomic_init(&k->checked, 0);
    pthread_mutex_init(&k->lock, NULL);
    return k;
}

ticket_keys *ticket_keys_ref(ticket_keys *k)
{
    if (k)
        atomic_fetch_add(&k->refs, 1);
    return k;
}

static void drop(struct tkey *t)
{
    cry_aead_free(t->seal);
    cry_aead_free(t->open);
    cry_wipe(t, sizeof(*t));
}

static void drop_all(struct tkey *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        drop(&keys[i]);
}

void ticket_keys_free(ticket_keys *k)
{
    if (!k || atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    drop_all(k->keys, TICKET_MAX_KEYS);
    mem_free(k->path);
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
    t->not_before = INT64_MIN;
    t->used = t->seal && t->open;
    return t->used;
}

/* With the lock held: the file (if any) is no longer the source. */
static void forget_file(ticket_keys *k)
{
    mem_free(k->path);
    k->path = NULL;
    memset(&k->id, 0, sizeof(k->id));
    k->error[0] = 0;
    atomic_store(&k->from_file, false);
}

mtls_err ticket_keys_set(ticket_keys *k, const uint8_t *keys, size_t n)
{
    if (!k || !keys || n == 0 || n > TICKET_MAX_KEYS)
        return MTLS_ERR_INVALID_ARG;
    pthread_mutex_lock(&k->lock);
    drop_all(k->keys, TICKET_MAX_KEYS);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = install(&k->keys[i], keys + 80 * i, keys + 80 * i + TICKET_KEY_NAME, 0);
    k->source = TK_APP;
    forget_file(k);
    pthread_mutex_unlock(&k->lock);
    return ok ? MTLS_OK : MTLS_ERR_CRYPTO;
}

/* ---- the key file ------------------------------------------------------------------------- */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parse the key file's text into out[] (cipher contexts made); *n keys.  On failure nothing is
 * left installed and `why` says which line and what is wrong. */
static mtls_err parse_keys(const uint8_t *p, size_t len, struct tkey *out, size_t *n, char *why,
                           size_t cap)
{
    static const char want[] = "a key is 96 hex digits (a 16-byte name, then a 32-byte "
                               "AES-256 key: openssl rand -hex 48), optionally followed by a "
                               "not-before time in Unix seconds";
    mtls_err err = MTLS_OK;
    size_t line = 0, count = 0, at = 0;
    uint8_t raw[TICKET_KEY_NAME + 32];
    *n = 0;
    while (at < len && !err) {
        size_t end = at;
        while (end < len && p[end] != '\n')
            end++;
        line++;
        size_t i = at;
        at = end + 1;
        while (i < end && is_space(p[i]))
            i++;
        if (i == end || p[i] == '#')
            continue;
        size_t tok = i;
        while (i < end && !is_space(p[i]) && p[i] != '#')
            i++;
        if (i - tok != 2 * sizeof(raw)) {
            snprintf(why, cap, "line %zu: %zu characters where %s", line, i - tok, want);
            err = MTLS_ERR_INVALID_ARG;
            break;
        }
        for (size_t j = 0; j < sizeof(raw) && !err; j++) {
            int hi = hexval(p[tok + 2 * j]), lo = hexval(p[tok + 2 * j + 1]);
            if (hi < 0 || lo < 0) {
                snprintf(why, cap, "line %zu: '%c' is not a hex digit; %s", line,
                         hi < 0 ? p[tok + 2 * j] : p[tok + 2 * j + 1], want);
                err = MTLS_ERR_INVALID_ARG;
            }
            raw[j] = (uint8_t)(hi << 4 | lo);
        }
        if (err)
            break;
        int64_t not_before = INT64_MIN;
        while (i < end && is_space(p[i]))
            i++;
        if (i < end && p[i] != '#') {
            uint64_t v = 0;
            size_t digits = 0;
            while (i < end && p[i] >= '0' && p[i] <= '9' && digits < 18) { /* < 2^63 */
                v = v * 10 + (uint64_t)(p[i++] - '0');
                digits++;
            }
            while (i < end && is_space(p[i]))
                i++;
            if (digits == 0 || (i < end && p[i] != '#')) {
                snprintf(why, cap, "line %zu: after the key, only a not-before time in Unix "
                         "seconds (date +%%s) may follow", line);
                err = MTLS_ERR_INVALID_ARG;
                break;
            }
            not_before = (int64_t)v;
        }
        static const uint8_t zero[32];
        if (memcmp(raw + TICKET_KEY_NAME, zero, 32) == 0) {
            snprintf(why, cap, "line %zu: the key is all zeros (a placeholder?); make one with "
                     "openssl rand -hex 48", line);
            err = MTLS_ERR_INVALID_ARG;
            break;
        }
        for (size_t j = 0; j < count; j++) {
            if (memcmp(out[j].name, raw, TICKET_KEY_NAME) == 0) {
                snprintf(why, cap, "line %zu: the key name %02x%02x%02x%02x... appears twice: "
                         "each key needs a name of its own", line, raw[0], raw[1], raw[2], raw[3]);
                err = MTLS_ERR_INVALID_ARG;
            }
        }
        if (err)
            break;
        if (count == TICKET_MAX_KEYS) {
            snprintf(why, cap, "line %zu: more than %d keys; keep the current key and the "
                     "previous ones of one ticket lifetime", line, TICKET_MAX_KEYS);
            err = MTLS_ERR_INVALID_ARG;
            break;
        }
        memset(&out[count], 0, sizeof(out[count]));
        if (!install(&out[count], raw, raw + TICKET_KEY_NAME, 0)) {
            drop(&out[count]);
            snprintf(why, cap, "the crypto library cannot set up an AES-256-GCM key");
            err = MTLS_ERR_CRYPTO;
            break;
        }
        out[count++].not_before = not_before;
    }
    cry_wipe(raw, sizeof(raw));
    if (!err && count == 0) {
        snprintf(why, cap, "no key in the file: %s", want);
        err = MTLS_ERR_INVALID_ARG;
    }
    if (err) {
        drop_all(out, count);
        return err;
    }
    *n = count;
    return MTLS_OK;
}

static void id_of(const struct stat *st, struct file_id *id)
{
    memset(id, 0, sizeof(*id));
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime_s = (int64_t)st->st_mtim.tv_sec;
    id->mtime_ns = st->st_mtim.tv_nsec;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}

/* Read and parse the key file; the identity is that of the file actually read (fstat). */
static mtls_err load_file(const char *path, struct tkey *out, size_t *n, struct file_id *id,
                          char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "cannot read the ticket key file %s: %s", path, strerror(errno));
        return MTLS_ERR_FILE;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, cap, "cannot read the ticket key file %s: %s", path, strerror(errno));
        close(fd);
        return MTLS_ERR_FILE;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > TICKET_FILE_MAX) {
        snprintf(why, cap, "the ticket key file %s is %s", path,
                 !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 64 KiB");
        close(fd);
        return MTLS_ERR_FILE;
    }
    uint8_t *buf = mem_alloc(TICKET_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        snprintf(why, cap, "out of memory");
        return MTLS_ERR_NO_MEMORY;
    }
    size_t len = 0;
    mtls_err err = MTLS_OK;
    for (;;) {
        ssize_t r = read(fd, buf + len, TICKET_FILE_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, cap, "cannot read the ticket key file %s: %s", path, strerror(errno));
            err = MTLS_ERR_FILE;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > TICKET_FILE_MAX) {
            snprintf(why, cap, "the ticket key file %s is larger than 64 KiB", path);
            err = MTLS_ERR_FILE;
            break;
        }
    }
    close(fd);
    if (!err) {
        char inner[200];
        err = parse_keys(buf, len, out, n, inner, sizeof(inner));
        if (err)
            snprintf(why, cap, "ticket key file %s, %s", path, inner);
    }
    cry_wipe(buf, len < TICKET_FILE_MAX + 1 ? len : TICKET_FILE_MAX + 1);
    mem_free(buf);
    if (!err)
        id_of(&st, id);
    return err;
}

/* With the lock held: the key set becomes `keys`; the old one is moved to `old` for the caller
 * to drop after unlocking (no crypto teardown under the lock is needed, but none is done
 * there either). */
static void swap_in(ticket_keys *k, struct tkey *keys, size_t n, struct tkey *old)
{
    memcpy(old, k->keys, sizeof(k->keys));
    memset(k->keys, 0, sizeof(k->keys));
    memcpy(k->keys, keys, n * sizeof(*keys));
    cry_wipe(keys, n * sizeof(*keys));
}

mtls_err ticket_keys_set_file(ticket_keys *k, const char *path, int64_t now, char *why,
                              size_t cap)
{
    struct tkey keys[TICKET_MAX_KEYS], old[TICKET_MAX_KEYS];
    struct file_id id;
    size_t n = 0;
    char *dup = mem_strdup(path);
    if (!dup) {
        snprintf(why, cap, "out of memory");
        return MTLS_ERR_NO_MEMORY;
    }
    mtls_err err = load_file(path, keys, &n, &id, why, cap);
    if (err) {
        mem_free(dup);
        return err;
    }
    pthread_mutex_lock(&k->lock);
    swap_in(k, keys, n, old);
    forget_file(k);
    k->source = TK_FILE;
    k->path = dup;
    k->id = id;
    atomic_store(&k->checked, now);
    atomic_store(&k->from_file, true);
    pthread_mutex_unlock(&k->lock);
    drop_all(old, TICKET_MAX_KEYS);
    return MTLS_OK;
}

/* Re-read the file named `path` (a copy) and swap it in, unless the source changed meanwhile.
 * A failure is remembered for ticket_keys_reload and ticket_keys_describe. */
static mtls_err reread(ticket_keys *k, const char *path, char *why, size_t cap)
{
    struct tkey keys[TICKET_MAX_KEYS], old[TICKET_MAX_KEYS];
    struct file_id id;
    size_t n = 0;
    mtls_err err = load_file(path, keys, &n, &id, why, cap);
    memset(old, 0, sizeof(old));
    pthread_mutex_lock(&k->lock);
    if (k->source != TK_FILE || !k->path || strcmp(k->path, path) != 0) {
        /* the application changed the source meanwhile: what we read is stale */
    } else if (err) {
        snprintf(k->error, sizeof(k->error), "%s", why);
    } else {
        swap_in(k, keys, n, old);
        k->id = id;
        k->error[0] = 0;
        n = 0;
    }
    pthread_mutex_unlock(&k->lock);
    if (!err)
        drop_all(keys, n);
    drop_all(old, TICKET_MAX_KEYS);
    return err;
}

mtls_err ticket_keys_reload(ticket_keys *k, char *why, size_t cap)
{
    pthread_mutex_lock(&k->lock);
    char *path = k->source == TK_FILE && k->path ? mem_strdup(k->path) : NULL;
    bool file = k->source == TK_FILE;
    pthread_mutex_unlock(&k->lock);
    if (!file) {
        snprintf(why, cap, "no ticket key file is set (mtls_config_set_ticket_key_file)");
        return MTLS_ERR_BAD_STATE;
    }
    if (!path) {
        snprintf(why, cap, "out of memory");
        return MTLS_ERR_NO_MEMORY;
    }
    mtls_err err = reread(k, path, why, cap);
    mem_free(path);
    return err;
}

/* Before a seal or an open: look at the key file when it is due (one caller does, the others go
 * on with the keys they have). */
static void check_file(ticket_keys *k, int64_t now)
{
    if (!atomic_load(&k->from_file))
        return;
    long long last = atomic_load(&k->checked);
    if (now >= last && now - last < MTLS_TICKET_KEY_FILE_CHECK)
        return;
    if (!atomic_compare_exchange_strong(&k->checked, &last, (long long)now))
        return;
    pthread_mutex_lock(&k->lock);
    char *path = k->source == TK_FILE && k->path ? mem_strdup(k->path) : NULL;
    struct file_id id = k->id;
    pthread_mutex_unlock(&k->lock);
    if (!path)
        return;
    struct stat st;
    struct file_id now_id;
    char why[256];
    if (stat(path, &st) != 0) {
        snprintf(why, sizeof(why), "cannot read the ticket key file %s: %s; the keys read "
                 "before stay", path, strerror(errno));
        pthread_mutex_lock(&k->lock);
        snprintf(k->error, sizeof(k->error), "%s", why);
        pthread_mutex_unlock(&k->lock);
    } else {
        id_of(&st, &now_id);
        if (!same_id(&id, &now_id))
            (void)reread(k, path, why, sizeof(why));
    }
    mem_free(path);
}

/* With the lock held: the key that seals now, or NULL. */
static struct tkey *sealing_key(ticket_keys *k, int64_t now)
{
    if (k->source == TK_AUTO) {
        if (!(k->keys[0].used && now - k->keys[0].created < MTLS_TICKET_KEY_ROTATION &&
              now >= k->keys[0].created)) {
            /* rotate: a new sealing key, the older ones shift down (the oldest is dropped) */
            drop(&k->keys[TICKET_AUTO_KEYS - 1]);
            memmove(&k->keys[1], &k->keys[0], (TICKET_AUTO_KEYS - 1) * sizeof(struct tkey));
            memset(&k->keys[0], 0, sizeof(struct tkey));
            uint8_t name[TICKET_KEY_NAME], key[32];
            bool ok = cry_random(name, sizeof(name)) && cry_random(key, sizeof(key)) &&
                      install(&k->keys[0], name, key, now);
            cry_wipe(key, sizeof(key));
            if (!ok)
                return NULL;
        }
        return &k->keys[0];
    }
    for (int i = 0; i < TICKET_MAX_KEYS; i++) {
        struct tkey *t = &k->keys[i];
        if (t->used && (t->not_before == INT64_MIN || now >= t->not_before))
            return t;
    }
    return NULL;
}

static void name8(char out[9], const uint8_t *name)
{
    snprintf(out, 9, "%02x%02x%02x%02x", name[0], name[1], name[2], name[3]);
}

/* printf at out + *at, cut at cap (the NUL always fits). */
static void append(char *out, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *out, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (n > 0)
        *at = (size_t)n < cap - *at ? *at + (size_t)n : cap - 1;
}

void ticket_keys_describe(ticket_keys *k, int64_t now, char *out, size_t cap)
{
    size_t at = 0, n = 0;
    char nm[9];
    out[0] = 0;
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < TICKET_MAX_KEYS; i++)
        n += k->keys[i].used;
    if (k->source == TK_AUTO)
        append(out, cap, &at, "automatic: a new key every %d s, %zu in memory",
               MTLS_TICKET_KEY_ROTATION, n);
    else if (k->source == TK_APP)
        append(out, cap, &at, "%zu key%s set by the application", n, n == 1 ? "" : "s");
    else
        append(out, cap, &at, "%zu key%s from %s", n, n == 1 ? "" : "s", k->path);
    /* sealing_key() would rotate automatic keys: a description changes nothing */
    const struct tkey *seal = k->source != TK_AUTO ? sealing_key(k, now)
                              : k->keys[0].used    ? &k->keys[0]
                                                   : NULL;
    if (seal) {
        name8(nm, seal->name);
        append(out, cap, &at, ", sealing with %s", nm);
    } else {
        append(out, cap, &at, k->source == TK_AUTO ? ", the first made with the first ticket"
                                                   : ", none may seal yet");
    }
    for (int i = 0; i < TICKET_MAX_KEYS; i++) {
        const struct tkey *t = &k->keys[i];
        if (!t->used || t == seal || t->not_before == INT64_MIN || now >= t->not_before)
            continue;
        time_t when = (time_t)t->not_before;
        struct tm tm;
        char stamp[32] = "?";
        if (gmtime_r(&when, &tm))
            strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
        name8(nm, t->name);
        append(out, cap, &at, "; %s seals from %s", nm, stamp);
    }
    if (k->error[0])
        append(out, cap, &at, "; the last re-read failed: %s", k->error);
    pthread_mutex_unlock(&k->lock);
}

mtls_err ticket_seal(ticket_keys *k, const mtls_session *s, int64_t now, uint32_t lifetime,
                     uint8_t **out, size_t *out_len)
{
    (void)lifetime;
    uint8_t state[TICKET_STATE_MAX];
    wr w = wr_fixed(state, sizeof(state));
    if (!session_encode(s, false, &w))
        return MTLS_ERR_INTERNAL; /* too large to seal: no ticket */
    uint8_t *t = mem_alloc(TICKET_OVERHEAD + w.len);
    if (!t) {
        cry_wipe(state, sizeof(state));
        return MTLS_ERR_NO_MEMORY;
    }
    mtls_err err = MTLS_OK;
    check_file(k, now);
    pthread_mutex_lock(&k->lock);
    struct tkey *key = sealing_key(k, now);
    if (!key || !cry_random(t + TICKET_KEY_NAME, 12)) {
        err = MTLS_ERR_CRYPTO; /* no key may seal (yet): no ticket */
    } else {
        memcpy(t, key->name, TICKET_KEY_NAME);
        memcpy(t + TICKET_KEY_NAME + 12, state, w.len);
        if (!cry_aead_seal(key->seal, t + TICKET_KEY_NAME, t, TICKET_KEY_NAME,
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
    if (!k || len <= TICKET_OVERHEAD || len > TICKET_STATE_MAX + TICKET_OVERHEAD)
        return NULL;
    size_t ct_len = len - TICKET_OVERHEAD;
    uint8_t state[TICKET_STATE_MAX];
    memcpy(state, t + TICKET_KEY_NAME + 12, ct_len);
    bool opened = false;
    check_file(k, now);
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < TICKET_MAX_KEYS && !opened; i++) {
        struct tkey *key = &k->keys[i];
        if (!key->used || memcmp(key->name, t, TICKET_KEY_NAME) != 0)
            continue;
        /* a key past its opening window has nothing alive to open */
        if (k->source == TK_AUTO &&
            now - key->created >= MTLS_TICKET_KEY_ROTATION + (int64_t)lifetime)
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
