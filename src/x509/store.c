/*
 * store.c -- the trust store: parsed anchor certificates indexed by subject.
 *
 * An anchor is trusted by its subject and its key (RFC 5280 6.1.1 (d): "trust anchor
 * information"); the store keeps whole parsed certificates so that verification can also apply
 * their validity and constraints.  A hash table over the subject DER finds the candidates for an
 * issuer name in O(1); identical certificates are stored once (the system directory lists every
 * root under several names).  Loading is strict for files the application names (a malformed
 * certificate or PEM block fails the call and adds nothing) and lenient for the system store and
 * hashed directories (a bad file is skipped).  Certificates we cannot use -- an Ed25519 or P-521
 * root, an unknown critical extension -- are skipped everywhere: they could never verify a chain.
 *
 * The store is read-only once built, so one store may serve verifications on many threads.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/base.h"
#include "x509_int.h"

#define MAX_FILE_SIZE (64u << 20)
#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define SYSTEM_DIR "/etc/ssl/certs"

struct x509_store {
    x509_cert **certs;
    size_t *next; /* chain of the hash bucket, index + 1; 0 ends it */
    size_t n, cap;
    size_t *buckets; /* index + 1 of the first entry; 0 when empty */
    size_t nbuckets; /* a power of two */
};

static uint64_t name_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

x509_store *x509_store_new(void)
{
    return mem_calloc(1, sizeof(x509_store));
}

void x509_store_free(x509_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        x509_cert_free(s->certs[i]);
    mem_free(s->certs);
    mem_free(s->next);
    mem_free(s->buckets);
    mem_free(s);
}

size_t x509_store_count(const x509_store *s)
{
    return s ? s->n : 0;
}

const x509_cert *x509_store_get(const x509_store *s, size_t i)
{
    return s && i < s->n ? s->certs[i] : NULL;
}

static bool rehash(x509_store *s, size_t nb)
{
    size_t *b = mem_calloc(nb, sizeof *b);
    if (!b)
        return false;
    mem_free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
    for (size_t i = 0; i < s->n; i++) {
        size_t h = (size_t)name_hash(s->certs[i]->subject_der, s->certs[i]->subject_len) & (nb - 1);
        s->next[i] = b[h];
        b[h] = i + 1;
    }
    return true;
}

const x509_cert *x509_store_next_by_subject(const x509_store *s, const uint8_t *name, size_t len,
                                            size_t *it)
{
    size_t i;
    if (!s || s->nbuckets == 0)
        return NULL;
    if (*it == 0)
        i = s->buckets[(size_t)name_hash(name, len) & (s->nbuckets - 1)];
    else if (*it == SIZE_MAX)
        return NULL;
    else
        i = s->next[*it - 1];
    for (; i; i = s->next[i - 1]) {
        const x509_cert *c = s->certs[i - 1];
        if (c->subject_len == len && memcmp(c->subject_der, name, len) == 0) {
            *it = i;
            return c;
        }
    }
    *it = SIZE_MAX;
    return NULL;
}

/* Takes ownership of `c` (freed when it is a duplicate or on failure). */
static mtls_err store_take(x509_store *s, x509_cert *c)
{
    size_t it = 0;
    const x509_cert *o;
    while ((o = x509_store_next_by_subject(s, c->subject_der, c->subject_len, &it))) {
        if (o->der_len == c->der_len && memcmp(o->der, c->der, c->der_len) == 0) {
            x509_cert_free(c);
            return MTLS_OK;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        x509_cert **certs = mem_realloc(s->certs, cap * sizeof *certs);
        if (!certs) {
            x509_cert_free(c);
            return MTLS_ERR_NO_MEMORY;
        }
        s->certs = certs;
        size_t *next = mem_realloc(s->next, cap * sizeof *next);
        if (!next) {
            x509_cert_free(c);
            return MTLS_ERR_NO_MEMORY;
        }
        s->next = next;
        s->cap = cap;
    }
    s->certs[s->n++] = c;
    if (s->n > s->nbuckets / 2) {
        if (!rehash(s, s->nbuckets ? s->nbuckets * 4 : 256)) {
            x509_cert_free(s->certs[--s->n]);
            return MTLS_ERR_NO_MEMORY;
        }
        return MTLS_OK;
    }
    size_t h = (size_t)name_hash(c->subject_der, c->subject_len) & (s->nbuckets - 1);
    s->next[s->n - 1] = s->buckets[h];
    s->buckets[h] = s->n;
    return MTLS_OK;
}

/* Every CERTIFICATE block of `pem`.  Strict: all or nothing.  Lenient: keep what parses. */
static mtls_err add_pem(x509_store *s, const uint8_t *pem, size_t len, bool lenient, size_t *added)
{
    x509_cert **tmp = NULL;
    size_t n = 0, cap = 0, pos = 0, skipped = 0;
    mtls_err err = MTLS_OK;
    *added = 0;
    for (;;) {
        uint8_t *der;
        size_t der_len;
        x509_cert *c;
        int got = x509_pem_next(pem, len, &pos, "CERTIFICATE", &der, &der_len);
        if (got == 0)
            break;
        if (got < 0) {
            if (!lenient)
                err = MTLS_ERR_BAD_PEM;
            break;
        }
        mtls_err e = x509_cert_parse(der, der_len, &c);
        mem_free(der);
        if (e == MTLS_ERR_CERT_UNSUPPORTED || (e && lenient && e != MTLS_ERR_NO_MEMORY)) {
            skipped++;
            continue;
        }
        if (e) {
            err = e;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            x509_cert **q = mem_realloc(tmp, cap * sizeof *q);
            if (!q) {
                x509_cert_free(c);
                err = MTLS_ERR_NO_MEMORY;
                break;
            }
            tmp = q;
        }
        tmp[n++] = c;
    }
    size_t i = 0;
    for (; !err && i < n; i++) {
        err = store_take(s, tmp[i]);
        if (!err)
            (*added)++;
    }
    /* store_take owns what it was given; free what it never saw */
    for (size_t k = i; k < n; k++)
        x509_cert_free(tmp[k]);
    mem_free(tmp);
    if (err)
        return err;
    if (n == 0)
        return skipped ? MTLS_ERR_CERT_UNSUPPORTED : MTLS_ERR_BAD_PEM;
    return MTLS_OK;
}

mtls_err x509_store_add_pem(x509_store *s, const uint8_t *pem, size_t len)
{
    size_t added;
    if (!s || (!pem && len))
        return MTLS_ERR_INVALID_ARG;
    return add_pem(s, pem, len, false, &added);
}

mtls_err x509_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        return MTLS_ERR_FILE;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > MAX_FILE_SIZE) {
        fclose(f);
        return MTLS_ERR_FILE;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = mem_alloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return MTLS_ERR_NO_MEMORY;
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        mem_free(buf);
        return MTLS_ERR_FILE;
    }
    *out = buf;
    *len = n;
    return MTLS_OK;
}

static mtls_err add_file(x509_store *s, const char *path, bool lenient, size_t *added)
{
    uint8_t *buf;
    size_t len;
    mtls_err err = x509_read_file(path, &buf, &len);
    if (err)
        return err;
    err = add_pem(s, buf, len, lenient, added);
    mem_free(buf);
    return err;
}

mtls_err x509_store_add_file(x509_store *s, const char *path)
{
    size_t added;
    if (!s || !path)
        return MTLS_ERR_INVALID_ARG;
    return add_file(s, path, false, &added);
}

/* "3513523f.0": eight hex digits, a dot, a decimal number (c_rehash's names); with `crl`,
 * "3513523f.r0". */
bool x509_hashed_name(const char *n, bool crl)
{
    size_t i;
    for (i = 0; i < 8; i++) {
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return false;
    }
    if (n[8] != '.')
        return false;
    i = 9;
    if (crl && n[i++] != 'r')
        return false;
    if (!n[i])
        return false;
    for (; n[i]; i++) {
        if (n[i] < '0' || n[i] > '9')
            return false;
    }
    return true;
}

static mtls_err add_dir(x509_store *s, const char *path, bool hashed_only, size_t *total)
{
    DIR *d = opendir(path);
    struct dirent *e;
    mtls_err err = MTLS_OK;
    if (!d)
        return MTLS_ERR_FILE;
    *total = 0;
    while ((e = readdir(d))) {
        char full[4096];
        struct stat st;
        size_t added = 0;
        if (e->d_name[0] == '.' || (hashed_only && !x509_hashed_name(e->d_name, false)))
            continue;
        if ((size_t)snprintf(full, sizeof full, "%s/%s", path, e->d_name) >= sizeof full)
            continue;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        mtls_err fe = add_file(s, full, true, &added);
        if (fe == MTLS_ERR_NO_MEMORY) {
            err = fe;
            break;
        }
        *total += added;
    }
    closedir(d);
    return err;
}

mtls_err x509_store_add_dir(x509_store *s, const char *path)
{
    size_t total = 0;
    if (!s || !path)
        return MTLS_ERR_INVALID_ARG;
    /* A c_rehash directory names each certificate <subject hash>.<n>; read those.  A directory
     * without such names is read whole: every regular file holding PEM certificates. */
    mtls_err err = add_dir(s, path, true, &total);
    if (!err && total == 0)
        err = add_dir(s, path, false, &total);
    if (err)
        return err;
    return total ? MTLS_OK : MTLS_ERR_BAD_PEM;
}

mtls_err x509_store_add_system(x509_store *s)
{
    size_t added = 0;
    if (!s)
        return MTLS_ERR_INVALID_ARG;
    mtls_err err = add_file(s, SYSTEM_BUNDLE, true, &added);
    if (err == MTLS_OK && added)
        return MTLS_OK;
    if (err == MTLS_ERR_NO_MEMORY)
        return err;
    return x509_store_add_dir(s, SYSTEM_DIR);
}

static int digest_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

mtls_err x509_store_digest(const x509_store *s, uint8_t out[32])
{
    /* The order anchors were added in (files, directory listing order) must not matter: hash each
     * anchor's DER, sort those digests, and hash the count and the sorted list.  The store keeps
     * each certificate once, so the list has no duplicates. */
    size_t n = x509_store_count(s);
    uint8_t *list = mem_alloc(4 + (n ? n : 1) * 32);
    if (!list)
        return MTLS_ERR_NO_MEMORY;
    list[0] = (uint8_t)(n >> 24);
    list[1] = (uint8_t)(n >> 16);
    list[2] = (uint8_t)(n >> 8);
    list[3] = (uint8_t)n;
    mtls_err err = MTLS_OK;
    for (size_t i = 0; i < n && !err; i++)
        if (!cry_hash_oneshot(CRY_SHA256, s->certs[i]->der, s->certs[i]->der_len, list + 4 + 32 * i))
            err = MTLS_ERR_CRYPTO;
    if (!err) {
        qsort(list + 4, n, 32, digest_cmp);
        if (!cry_hash_oneshot(CRY_SHA256, list, 4 + 32 * n, out))
            err = MTLS_ERR_CRYPTO;
    }
    mem_free(list);
    return err;
}
