/*
 * redis_store.c -- mtls's session store callbacks (mtls_config_set_session_store) backed by Redis
 * through hiredis: a server stores each new session under its id, and any server of the fleet
 * finds it when a client offers that id.  See redis_store.h for the use.
 *
 * What it promises the handshake: it never waits long.  One blocking hiredis connection, with a
 * timeout on connect and on every command (timeout_ms); any failure -- refused, timed out, an
 * error reply -- drops the connection and marks the store down for DOWN_MS, during which every
 * call returns at once (a lookup finds nothing: the handshake is a full one).  So a dead Redis
 * costs at most one timeout per DOWN_MS, never one per handshake.
 *
 * What it stores: the serialized session mtls hands over, which holds the master secret.
 * Anyone who reads the Redis keys can decrypt the sessions they belong to: keep Redis on a
 * trusted network, behind a password (redis://:password@host) or an ACL user, and never share it
 * with other applications.  The reply buffers that held a session are wiped before they are
 * freed; hiredis's own output buffer is not (it frees it itself).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "redis_store.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DOWN_MS 1000
#define KEY_PREFIX "mtls:session:"

struct redis_store {
    pthread_mutex_t lock; /* the connection and everything below */
    redisContext *ctx;    /* NULL while not connected */
    char url[300];        /* as given, without the password, for messages */
    char host[256], unix_path[256], user[128], password[256];
    int port, db;
    struct timeval timeout;
    int64_t retry_at; /* while down: no attempt before this (monotonic ms) */
    int down;         /* said to be down: logged once per outage, until a command succeeds */
    redis_store_log_fn *log;
    void *log_arg;
    struct redis_store_stats stats;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void say(redis_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(redis_store *st, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (st->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    st->log(st->log_arg, line);
}

/* redis://[[user:]password@]host[:port][/db] or unix:///path. */
static int parse_url(redis_store *st, const char *url, char *err, size_t cap)
{
    st->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        if (url[7] != '/' || strlen(url + 7) >= sizeof(st->unix_path)) {
            snprintf(err, cap, "'%s': unix:// wants an absolute socket path (unix:///run/redis.sock)",
                     url);
            return -1;
        }
        snprintf(st->unix_path, sizeof(st->unix_path), "%s", url + 7);
        snprintf(st->url, sizeof(st->url), "%s", url);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, cap, "'%s' is not a Redis URL (redis://host:port or unix:///path)", url);
        return -1;
    }
    const char *p = url + 8, *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon != NULL ? colon + 1 : p;
        size_t ulen = colon != NULL ? (size_t)(colon - p) : 0;
        size_t plen = (size_t)(at - pw);
        if (ulen >= sizeof(st->user) || plen >= sizeof(st->password) || plen == 0) {
            snprintf(err, cap, "the credentials in the Redis URL are empty or too long");
            return -1;
        }
        memcpy(st->user, p, ulen);
        memcpy(st->password, pw, plen);
        p = at + 1;
    }
    const char *host = p, *host_end;
    if (*p == '[') { /* [v6]:port */
        host = p + 1;
        host_end = strchr(host, ']');
        if (host_end == NULL) {
            snprintf(err, cap, "'%s': an IPv6 address needs its closing ']'", url);
            return -1;
        }
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        p = host_end;
    }
    if (host_end == host || (size_t)(host_end - host) >= sizeof(st->host)) {
        snprintf(err, cap, "'%s' names no host", url);
        return -1;
    }
    memcpy(st->host, host, (size_t)(host_end - host));
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535) {
            snprintf(err, cap, "'%s': the port is not a number from 1 to 65535", url);
            return -1;
        }
        st->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1] != '\0') {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0' || db < 0 || db > 1000000) {
            snprintf(err, cap, "'%s': the database after '/' is not a number", url);
            return -1;
        }
        st->db = (int)db;
    } else if (*p != '\0' && strcmp(p, "/") != 0) {
        snprintf(err, cap, "'%s': unexpected '%s' after the host", url, p);
        return -1;
    }
    snprintf(st->url, sizeof(st->url), "redis://%s%s%s:%d/%d", strchr(st->host, ':') ? "[" : "",
             st->host, strchr(st->host, ':') ? "]" : "", st->port, st->db);
    return 0;
}

redis_store *redis_store_new(const char *url, int timeout_ms, char *err, size_t err_cap)
{
    if (url == NULL || timeout_ms <= 0) {
        snprintf(err, err_cap, "no Redis URL, or a timeout that is not above 0");
        return NULL;
    }
    redis_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    if (parse_url(st, url, err, err_cap) != 0) {
        wipe(st, sizeof(*st));
        free(st);
        return NULL;
    }
    st->timeout.tv_sec = timeout_ms / 1000;
    st->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    pthread_mutex_init(&st->lock, NULL);
    return st;
}

void redis_store_free(redis_store *st)
{
    if (st == NULL)
        return;
    if (st->ctx != NULL)
        redisFree(st->ctx);
    pthread_mutex_destroy(&st->lock);
    wipe(st, sizeof(*st));
    free(st);
}

const char *redis_store_url(const redis_store *st)
{
    return st->url;
}

void redis_store_set_log(redis_store *st, redis_store_log_fn *fn, void *arg)
{
    pthread_mutex_lock(&st->lock);
    st->log = fn;
    st->log_arg = arg;
    pthread_mutex_unlock(&st->lock);
}

void redis_store_get_stats(redis_store *st, struct redis_store_stats *out)
{
    pthread_mutex_lock(&st->lock);
    *out = st->stats;
    pthread_mutex_unlock(&st->lock);
}

/* With the lock held: something failed; drop the connection and rest for DOWN_MS. */
static void went_down(redis_store *st, const char *what)
{
    st->stats.errors++;
    if (!st->down)
        say(st, "session store %s: %s; handshakes go on without it (full handshakes where a "
                "session would have come from it), next try in %d ms",
            st->url, what, DOWN_MS);
    st->down = 1;
    st->retry_at = mono_ms() + DOWN_MS;
    if (st->ctx != NULL) {
        redisFree(st->ctx);
        st->ctx = NULL;
    }
}

/* With the lock held: a command succeeded.  Only a reply says Redis is back: a TCP connection
 * alone is accepted by the kernel even while Redis hangs. */
static void is_up(redis_store *st)
{
    if (st->down)
        say(st, "session store %s: answers again; sessions are shared", st->url);
    st->down = 0;
}

/* A command's reply: NULL when the command failed (and the store went down). */
static redisReply *expect(redis_store *st, void *r, const char *what)
{
    redisReply *reply = r;
    char why[200];
    if (reply == NULL) {
        /* hiredis reports a read timeout as the socket's EAGAIN */
        int timed_out = st->ctx != NULL && st->ctx->err == REDIS_ERR_IO &&
                        strstr(st->ctx->errstr, "temporarily unavailable") != NULL;
        if (timed_out)
            snprintf(why, sizeof(why), "%s: no answer within %ld ms", what,
                     (long)(st->timeout.tv_sec * 1000 + st->timeout.tv_usec / 1000));
        else
            snprintf(why, sizeof(why), "%s failed: %s", what,
                     st->ctx != NULL && st->ctx->errstr[0] ? st->ctx->errstr : "no reply");
        went_down(st, why);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%s: %.*s", what, (int)reply->len, reply->str);
        freeReplyObject(reply);
        went_down(st, why);
        return NULL;
    }
    is_up(st);
    return reply;
}

/* With the lock held: a usable connection, or 0 (down, or the attempt failed). */
static int connected(redis_store *st)
{
    if (st->ctx != NULL)
        return 1;
    if (st->down && mono_ms() < st->retry_at)
        return 0;
    st->ctx = st->unix_path[0] ? redisConnectUnixWithTimeout(st->unix_path, st->timeout)
                               : redisConnectWithTimeout(st->host, st->port, st->timeout);
    if (st->ctx == NULL || st->ctx->err) {
        char why[200];
        snprintf(why, sizeof(why), "cannot connect: %s",
                 st->ctx != NULL ? st->ctx->errstr : "out of memory");
        went_down(st, why);
        return 0;
    }
    if (redisSetTimeout(st->ctx, st->timeout) != REDIS_OK) {
        went_down(st, "cannot set the command timeout");
        return 0;
    }
    redisReply *r;
    if (st->password[0]) {
        r = st->user[0] ? redisCommand(st->ctx, "AUTH %s %s", st->user, st->password)
                        : redisCommand(st->ctx, "AUTH %s", st->password);
        if ((r = expect(st, r, "AUTH")) == NULL)
            return 0;
        freeReplyObject(r);
    }
    if (st->db != 0) {
        if ((r = expect(st, redisCommand(st->ctx, "SELECT %d", st->db), "SELECT")) == NULL)
            return 0;
        freeReplyObject(r);
    }
    return 1;
}

static void key_of(char *key, size_t cap, const uint8_t *id, size_t id_len)
{
    size_t at = (size_t)snprintf(key, cap, "%s", KEY_PREFIX);
    for (size_t i = 0; i < id_len && at + 3 <= cap; i++)
        at += (size_t)snprintf(key + at, cap - at, "%02x", id[i]);
}

static void on_store(void *arg, const uint8_t *id, size_t id_len, const uint8_t *data, size_t len,
                     int64_t expires)
{
    redis_store *st = arg;
    char key[sizeof(KEY_PREFIX) + 2 * 32 + 1];
    long long ttl = (long long)(expires - (int64_t)time(NULL));
    if (id_len == 0 || id_len > 32 || ttl <= 0)
        return;
    key_of(key, sizeof(key), id, id_len);
    pthread_mutex_lock(&st->lock);
    if (connected(st)) {
        redisReply *r = expect(st, redisCommand(st->ctx, "SET %s %b EX %lld", key, data, len, ttl),
                               "SET");
        if (r != NULL) {
            st->stats.stored++;
            freeReplyObject(r);
        }
    }
    pthread_mutex_unlock(&st->lock);
}

static size_t on_lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *out, size_t cap)
{
    redis_store *st = arg;
    char key[sizeof(KEY_PREFIX) + 2 * 32 + 1];
    size_t n = 0;
    if (id_len == 0 || id_len > 32)
        return 0;
    key_of(key, sizeof(key), id, id_len);
    pthread_mutex_lock(&st->lock);
    if (connected(st)) {
        redisReply *r = expect(st, redisCommand(st->ctx, "GET %s", key), "GET");
        if (r != NULL && r->type == REDIS_REPLY_STRING && r->len > 0 && (size_t)r->len <= cap) {
            memcpy(out, r->str, (size_t)r->len);
            n = (size_t)r->len;
        }
        if (r != NULL) {
            if (n > 0)
                st->stats.hits++;
            else
                st->stats.misses++;
            if (r->type == REDIS_REPLY_STRING)
                wipe(r->str, (size_t)r->len); /* the master secret */
            freeReplyObject(r);
        }
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

static void on_remove(void *arg, const uint8_t *id, size_t id_len)
{
    redis_store *st = arg;
    char key[sizeof(KEY_PREFIX) + 2 * 32 + 1];
    if (id_len == 0 || id_len > 32)
        return;
    key_of(key, sizeof(key), id, id_len);
    pthread_mutex_lock(&st->lock);
    if (connected(st)) {
        redisReply *r = expect(st, redisCommand(st->ctx, "DEL %s", key), "DEL");
        if (r != NULL)
            freeReplyObject(r);
    }
    pthread_mutex_unlock(&st->lock);
}

int redis_store_check(redis_store *st)
{
    int ok = 0;
    pthread_mutex_lock(&st->lock);
    st->retry_at = 0; /* an explicit check tries even while resting */
    if (connected(st)) {
        redisReply *r = expect(st, redisCommand(st->ctx, "PING"), "PING");
        ok = r != NULL;
        if (r != NULL)
            freeReplyObject(r);
    }
    pthread_mutex_unlock(&st->lock);
    return ok ? 0 : -1;
}

mtls_err redis_store_attach(redis_store *st, mtls_config *cfg)
{
    if (st == NULL)
        return MTLS_ERR_INVALID_ARG;
    return mtls_config_set_session_store(cfg, on_store, on_lookup, on_remove, st);
}
