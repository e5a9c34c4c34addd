/*
 * staple.c -- the OCSP response a server staples (RFC 6066 section 8): held for a config, checked
 * against the config's own certificate, re-read when its file changes.
 *
 * What a handshake gets is a snapshot (staple_snap): the DER response as it goes on the wire and
 * what it says about the certificate it was checked against -- the leaf of the config's chain,
 * with its issuer (the chain's second certificate, whose name and key the response's CertID
 * hashes).  A snapshot is made once per response and leaf (x509_ocsp_check: the response parses,
 * is successful, is signed by the issuer or a responder it delegated, and has a SingleResponse
 * for our leaf) and is immutable and reference counted afterwards, so a handshake holds it
 * without a lock while a re-read swaps in the next one.  Per handshake only the times are looked
 * at: a response whose nextUpdate has passed (or, without one, older than X509_OCSP_MAX_AGE) or
 * whose thisUpdate is ahead is not sent -- by the same rule, with the same X509_OCSP_SKEW, as a
 * client applies, so that a response we staple is one a client with our clock accepts.
 * Revoked and unknown statuses are stapled like good ones: the response is the CA's word.
 *
 * The file (mtls_config_set_ocsp_staple_file) holds one DER OCSPResponse, as `openssl ocsp
 * -respout` writes it.  It is re-read when it changes, like the ticket key file (ticket.c):
 * whichever handshake comes first after MTLS_OCSP_STAPLE_FILE_CHECK seconds stat()s it and, when
 * its identity (device, inode, size, mtime) differs, reads and checks it again; or at once with
 * mtls_config_reload_ocsp_staple.  The read and the check happen outside the lock, only the swap
 * under it.  A new response that cannot be read, does not parse or is not about our certificate
 * is not stapled: the one in use stays (until it expires by itself) and the reason is kept for
 * staple_describe (mtls_config_describe_ocsp_staple) and said in the handshake's trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* An OCSP response is a few KiB; anything far larger is not one. */
#define STAPLE_FILE_MAX (1024 * 1024)

struct staple_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_s;
    long mtime_ns;
};

struct ocsp_staple {
    pthread_mutex_t lock; /* cur, path, id, error */
    staple_snap *cur;     /* NULL until set */
    char *path;           /* the file it comes from; NULL for memory */
    struct staple_file_id id;
    atomic_bool from_file;
    atomic_llong checked; /* when the file was last looked at (the config's clock) */
    char error[600];      /* why the last re-read was not taken; "" when it was */
};

ocsp_staple *staple_new(void)
{
    ocsp_staple *st = mem_calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    pthread_mutex_init(&st->lock, NULL);
    atomic_init(&st->from_file, false);
    atomic_init(&st->checked, 0);
    return st;
}

void staple_snap_free(staple_snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    mem_free(s->der);
    x509_cert_free(s->leaf);
    mem_free(s);
}

void staple_free(ocsp_staple *st)
{
    if (!st)
        return;
    staple_snap_free(st->cur);
    mem_free(st->path);
    pthread_mutex_destroy(&st->lock);
    mem_free(st);
}

static staple_snap *snap_ref(staple_snap *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

/* "2026-01-02 03:04:05 UTC" */
static void utc(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, cap, "%" PRId64, t);
}

/* A snapshot of `der` checked against `leaf` / `issuer` at `now` (leaf NULL: parsed only, to be
 * checked when the config's certificate is known).  MTLS_ERR_OCSP_BAD_RESPONSE (with `why`) when
 * it does not parse; otherwise a snapshot, whose `err` says whether it may be stapled. */
static mtls_err snap_make(const uint8_t *der, size_t len, const x509_cert *leaf,
                          const x509_cert *issuer, int64_t now, staple_snap **out, char *why,
                          size_t cap)
{
    *out = NULL;
    x509_ocsp *o = NULL;
    if (len == 0 || x509_ocsp_parse(der, len, &o) != MTLS_OK) {
        snprintf(why, cap, "it is not a DER OCSP response (RFC 6960) mtls can read");
        return MTLS_ERR_OCSP_BAD_RESPONSE;
    }
    staple_snap *s = mem_calloc(1, sizeof(*s));
    if (!s || !(s->der = mem_alloc(len))) {
        mem_free(s);
        x509_ocsp_free(o);
        snprintf(why, cap, "out of memory");
        return MTLS_ERR_NO_MEMORY;
    }
    atomic_init(&s->refs, 1);
    memcpy(s->der, der, len);
    s->len = len;
    s->produced_at = x509_ocsp_produced_at(o);
    if (!leaf) {
        s->err = MTLS_ERR_BAD_STATE; /* checked once the certificate is set */
        snprintf(s->why, sizeof(s->why), "not checked yet: the config has no certificate");
    } else if (!issuer) {
        s->leaf = x509_cert_up_ref((x509_cert *)leaf);
        s->err = MTLS_ERR_OCSP_NOT_FOR_CERT;
        snprintf(s->why, sizeof(s->why),
                 "the certificate chain holds no issuer for %s, and the response's CertID names "
                 "the certificate by its issuer's name and key: put the issuing CA's certificate "
                 "after the leaf in the chain file",
                 x509_cert_subject(leaf));
    } else {
        s->leaf = x509_cert_up_ref((x509_cert *)leaf);
        mtls_err err = x509_ocsp_check(o, leaf, issuer, now, &s->verdict);
        /* A response that is about our certificate, well signed, but out of date (now) is kept:
         * the per-handshake time rule decides whether it goes out, and it is replaced by the
         * next one that the file brings. */
        if (err == MTLS_ERR_OCSP_EXPIRED || err == MTLS_ERR_OCSP_NOT_YET_VALID ||
            err == MTLS_ERR_CERT_REVOKED || err == MTLS_ERR_OCSP_CERT_UNKNOWN)
            err = MTLS_OK;
        s->err = err;
        if (err)
            x509_revocation_describe(&s->verdict, leaf, s->why, sizeof(s->why));
    }
    x509_ocsp_free(o);
    *out = s;
    return MTLS_OK;
}

/* NULL when a client with our clock takes the response as current (x509_ocsp_check's time
 * rule), else why not. */
static const char *stale(const staple_snap *s, int64_t now)
{
    const x509_revocation *v = &s->verdict;
    if (v->this_update - X509_OCSP_SKEW > now)
        return "its thisUpdate is in the future";
    if (v->has_next_update ? now > v->next_update + X509_OCSP_SKEW
                           : now > v->this_update + X509_OCSP_MAX_AGE)
        return v->has_next_update ? "its nextUpdate has passed"
                                  : "it has no nextUpdate and is older than 7 days";
    return NULL;
}

static const char *status_name(const staple_snap *s)
{
    switch (s->verdict.status) {
    case X509_REVOC_GOOD:
        return "good";
    case X509_REVOC_REVOKED:
        return "revoked";
    case X509_REVOC_UNKNOWN:
        return "unknown";
    default:
        return "good or unknown"; /* checked while out of date: the status is not read then */
    }
}

/* Replace the current snapshot (lock held); the old one goes to *old for the caller to drop. */
static void swap_in(ocsp_staple *st, staple_snap *s, staple_snap **old)
{
    *old = st->cur;
    st->cur = s;
}

/* ---- the file -------------------------------------------------------------------------------- */

static void id_of(const struct stat *sb, struct staple_file_id *id)
{
    memset(id, 0, sizeof(*id));
    id->dev = sb->st_dev;
    id->ino = sb->st_ino;
    id->size = sb->st_size;
    id->mtime_s = (int64_t)sb->st_mtim.tv_sec;
    id->mtime_ns = sb->st_mtim.tv_nsec;
}

static bool same_id(const struct staple_file_id *a, const struct staple_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}

/* The file's bytes (mem_alloc'd) and the identity of the file actually read. */
static mtls_err read_staple(const char *path, uint8_t **out, size_t *len,
                            struct staple_file_id *id, char *why, size_t cap)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(why, cap, "cannot read the OCSP staple file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return MTLS_ERR_FILE;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > STAPLE_FILE_MAX) {
        snprintf(why, cap, "the OCSP staple file %s is %s", path,
                 !S_ISREG(sb.st_mode) ? "not a regular file" : "larger than 1 MiB");
        close(fd);
        return MTLS_ERR_FILE;
    }
    uint8_t *buf = mem_alloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        snprintf(why, cap, "out of memory");
        return MTLS_ERR_NO_MEMORY;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, (size_t)sb.st_size + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, cap, "cannot read the OCSP staple file %s: %s", path, strerror(errno));
            close(fd);
            mem_free(buf);
            return MTLS_ERR_FILE;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > (size_t)sb.st_size) { /* it grew while we read: take it at the next look */
            snprintf(why, cap, "the OCSP staple file %s changed while it was read", path);
            close(fd);
            mem_free(buf);
            return MTLS_ERR_FILE;
        }
    }
    close(fd);
    id_of(&sb, id);
    *out = buf;
    *len = n;
    return MTLS_OK;
}

/* Read and check the file: a snapshot, or the error and why (also for a response that parses
 * but may not be stapled). */
static mtls_err load(const char *path, const x509_cert *leaf, const x509_cert *issuer, int64_t now,
                     staple_snap **out, struct staple_file_id *id, char *why, size_t cap)
{
    uint8_t *der;
    size_t len;
    char inner[600];
    mtls_err err = read_staple(path, &der, &len, id, why, cap);
    if (err)
        return err;
    err = snap_make(der, len, leaf, issuer, now, out, inner, sizeof(inner));
    mem_free(der);
    if (err) {
        snprintf(why, cap, "the OCSP staple file %s: %s", path, inner);
        return err;
    }
    if ((*out)->err && (*out)->err != MTLS_ERR_BAD_STATE) {
        err = (*out)->err;
        snprintf(why, cap, "the OCSP response in %s cannot be stapled: %s", path, (*out)->why);
        staple_snap_free(*out);
        *out = NULL;
    }
    return err;
}

mtls_err staple_set(ocsp_staple *st, const uint8_t *der, size_t len, const char *path,
                    const x509_cert *leaf, const x509_cert *issuer, int64_t now, char *why,
                    size_t cap)
{
    staple_snap *s = NULL, *old = NULL;
    struct staple_file_id id;
    char *dup = NULL;
    mtls_err err;
    memset(&id, 0, sizeof(id));
    if (path) {
        if (!(dup = mem_strdup(path))) {
            snprintf(why, cap, "out of memory");
            return MTLS_ERR_NO_MEMORY;
        }
        err = load(path, leaf, issuer, now, &s, &id, why, cap);
    } else {
        char inner[600];
        err = snap_make(der, len, leaf, issuer, now, &s, inner, sizeof(inner));
        if (err)
            snprintf(why, cap, "the OCSP response given in memory: %s", inner);
        else if (s->err && s->err != MTLS_ERR_BAD_STATE) {
            err = s->err;
            snprintf(why, cap, "the OCSP response given in memory cannot be stapled: %s", s->why);
            staple_snap_free(s);
            s = NULL;
        }
    }
    if (err) {
        mem_free(dup);
        return err;
    }
    pthread_mutex_lock(&st->lock);
    swap_in(st, s, &old);
    mem_free(st->path);
    st->path = dup;
    st->id = id;
    st->error[0] = 0;
    atomic_store(&st->checked, now);
    atomic_store(&st->from_file, dup != NULL);
    pthread_mutex_unlock(&st->lock);
    staple_snap_free(old);
    return MTLS_OK;
}

/* Re-read `path` (a copy) and swap it in, unless the source changed meanwhile; a failure is
 * kept for staple_describe and the response in use stays. */
static mtls_err reread(ocsp_staple *st, const char *path, const x509_cert *leaf,
                       const x509_cert *issuer, int64_t now, char *why, size_t cap)
{
    staple_snap *s = NULL, *old = NULL;
    struct staple_file_id id;
    mtls_err err = load(path, leaf, issuer, now, &s, &id, why, cap);
    pthread_mutex_lock(&st->lock);
    if (!st->path || strcmp(st->path, path) != 0) {
        /* the application set another response meanwhile: what we read is stale */
        old = s;
    } else if (err) {
        snprintf(st->error, sizeof(st->error), "%s; the response read before stays", why);
    } else {
        swap_in(st, s, &old);
        st->id = id;
        st->error[0] = 0;
    }
    pthread_mutex_unlock(&st->lock);
    staple_snap_free(old);
    return err;
}

mtls_err staple_reload(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer,
                       int64_t now, char *why, size_t cap)
{
    pthread_mutex_lock(&st->lock);
    char *path = st->path ? mem_strdup(st->path) : NULL;
    bool file = st->path != NULL;
    pthread_mutex_unlock(&st->lock);
    if (!file) {
        snprintf(why, cap, "no OCSP staple file is set (mtls_config_set_ocsp_staple_file)");
        return MTLS_ERR_BAD_STATE;
    }
    if (!path) {
        snprintf(why, cap, "out of memory");
        return MTLS_ERR_NO_MEMORY;
    }
    atomic_store(&st->checked, now);
    mtls_err err = reread(st, path, leaf, issuer, now, why, cap);
    mem_free(path);
    return err;
}

/* Before a handshake uses the staple: look at the file when it is due (one caller does, the
 * others go on with the snapshot they have). */
static void check_file(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer,
                       int64_t now)
{
    if (!atomic_load(&st->from_file))
        return;
    long long last = atomic_load(&st->checked);
    if (now >= last && now - last < MTLS_OCSP_STAPLE_FILE_CHECK)
        return;
    if (!atomic_compare_exchange_strong(&st->checked, &last, (long long)now))
        return;
    pthread_mutex_lock(&st->lock);
    char *path = st->path ? mem_strdup(st->path) : NULL;
    struct staple_file_id id = st->id;
    pthread_mutex_unlock(&st->lock);
    if (!path)
        return;
    struct stat sb;
    struct staple_file_id now_id;
    char why[600];
    if (stat(path, &sb) != 0) {
        snprintf(why, sizeof(why), "cannot read the OCSP staple file %s: %s; the response read "
                 "before stays", path, strerror(errno));
        pthread_mutex_lock(&st->lock);
        snprintf(st->error, sizeof(st->error), "%s", why);
        pthread_mutex_unlock(&st->lock);
    } else {
        id_of(&sb, &now_id);
        if (!same_id(&id, &now_id))
            (void)reread(st, path, leaf, issuer, now, why, sizeof(why));
    }
    mem_free(path);
}

staple_snap *staple_get(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer,
                        int64_t now, char *why, size_t cap)
{
    why[0] = 0;
    if (!st || !leaf) {
        snprintf(why, cap, "%s", st ? "the config has no certificate yet" : "none set");
        return NULL;
    }
    check_file(st, leaf, issuer, now);
    pthread_mutex_lock(&st->lock);
    staple_snap *s = snap_ref(st->cur);
    pthread_mutex_unlock(&st->lock);
    if (!s) {
        snprintf(why, cap, "no OCSP response is set");
        return NULL;
    }
    if (s->leaf != leaf) {
        /* Set before the certificate (or the certificate replaced): check it against ours now,
         * once, and keep the result for the handshakes after this one. */
        staple_snap *fresh = NULL, *old = NULL;
        char inner[600];
        if (snap_make(s->der, s->len, leaf, issuer, now, &fresh, inner, sizeof(inner)) != MTLS_OK) {
            snprintf(why, cap, "%s", inner);
            staple_snap_free(s);
            return NULL;
        }
        pthread_mutex_lock(&st->lock);
        if (st->cur == s) {
            swap_in(st, snap_ref(fresh), &old);
        }
        pthread_mutex_unlock(&st->lock);
        staple_snap_free(old);
        staple_snap_free(s);
        s = fresh;
    }
    if (s->err) {
        snprintf(why, cap, "the OCSP response cannot be stapled: %s", s->why);
        staple_snap_free(s);
        return NULL;
    }
    const char *late = stale(s, now);
    if (late) {
        char t[40];
        utc(t, sizeof(t), s->verdict.has_next_update ? s->verdict.next_update
                                                     : s->verdict.this_update);
        snprintf(why, cap, "the OCSP response is out of date (%s: %s); not stapled until a "
                 "current one replaces it", late, t);
        staple_snap_free(s);
        return NULL;
    }
    return s;
}

void staple_describe(ocsp_staple *st, const x509_cert *leaf, const x509_cert *issuer, int64_t now,
                     char *out, size_t cap)
{
    char why[600];
    if (!st) {
        snprintf(out, cap, "none");
        return;
    }
    staple_snap *s = staple_get(st, leaf, issuer, now, why, sizeof(why));
    pthread_mutex_lock(&st->lock);
    char src[300], error[sizeof(st->error)];
    if (st->path)
        snprintf(src, sizeof(src), "from %s", st->path);
    else
        snprintf(src, sizeof(src), "%s", st->cur ? "from memory" : "none set");
    snprintf(error, sizeof(error), "%s", st->error);
    pthread_mutex_unlock(&st->lock);
    size_t at = 0;
    if (s) {
        char p[40], t[40], n[40];
        utc(p, sizeof(p), s->produced_at);
        utc(t, sizeof(t), s->verdict.this_update);
        utc(n, sizeof(n), s->verdict.next_update);
        int k = snprintf(out, cap, "%s: %s, produced %s, this update %s, next update %s, "
                         "signed by %s, %zu bytes", src, status_name(s), p, t,
                         s->verdict.has_next_update ? n : "(none)", s->verdict.issuer, s->len);
        at = k > 0 ? (size_t)k : 0;
        staple_snap_free(s);
    } else {
        int k = snprintf(out, cap, "%s: not stapled (%s)", src, why);
        at = k > 0 ? (size_t)k : 0;
    }
    if (error[0] && at < cap)
        snprintf(out + at, cap - at, "; the last re-read was not taken: %s", error);
}

bool staple_is_file(ocsp_staple *st)
{
    return st && atomic_load(&st->from_file);
}
