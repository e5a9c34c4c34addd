/*
 * alloc.c -- every allocation mtls makes goes through mem_*(), so that an application (or the
 * benchmark's counting allocator) can route them with mtls_set_allocator().  The functions may
 * be replaced once, before the first allocation; after that the choice is frozen, because memory
 * from one allocator must never reach another's free.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *(*use_malloc)(size_t) = malloc;
static void *(*use_realloc)(void *, size_t) = realloc;
static void (*use_free)(void *) = free;
static atomic_bool allocated;

void *mem_alloc(size_t n)
{
    atomic_store_explicit(&allocated, true, memory_order_relaxed);
    return use_malloc(n ? n : 1);
}

void *mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = mem_alloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    atomic_store_explicit(&allocated, true, memory_order_relaxed);
    return use_realloc(p, n ? n : 1);
}

void mem_free(void *p)
{
    if (p)
        use_free(p);
}

char *mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mem_alloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* libcrypto's allocations, when routed through ours, carry a 16-byte header with their size so
 * that every block is wiped before it is freed: libcrypto frees some buffers that held secrets
 * (OpenSSL 3.0's RSA decryption buffer, which held the premaster) without cleansing them. */
#define CRY_HDR 16

static void *cry_malloc_hook(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n > SIZE_MAX - CRY_HDR)
        return NULL;
    uint8_t *p = use_malloc(n + CRY_HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + CRY_HDR;
}

static void cry_free_hook(void *ptr, const char *file, int line)
{
    (void)file;
    (void)line;
    if (!ptr)
        return;
    uint8_t *p = (uint8_t *)ptr - CRY_HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    cry_wipe(p, n + CRY_HDR);
    use_free(p);
}

static void *cry_realloc_hook(void *ptr, size_t n, const char *file, int line)
{
    if (!ptr)
        return cry_malloc_hook(n, file, line);
    if (n == 0) {
        cry_free_hook(ptr, file, line);
        return NULL;
    }
    size_t old;
    memcpy(&old, (uint8_t *)ptr - CRY_HDR, sizeof(old));
    /* not realloc: the old block is wiped before it goes */
    uint8_t *q = cry_malloc_hook(n, file, line);
    if (!q)
        return NULL;
    memcpy(q, ptr, old < n ? old : n);
    cry_free_hook(ptr, file, line);
    return q;
}

mtls_err mtls_set_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                            void (*free_fn)(void *))
{
    if (!malloc_fn || !realloc_fn || !free_fn)
        return MTLS_ERR_INVALID_ARG;
    if (atomic_load(&allocated))
        return MTLS_ERR_BAD_STATE;
    use_malloc = malloc_fn;
    use_realloc = realloc_fn;
    use_free = free_fn;
    /* Best effort: libcrypto accepts new functions only before its own first allocation. */
    (void)cry_set_mem_functions(cry_malloc_hook, cry_realloc_hook, cry_free_hook);
    return MTLS_OK;
}
