/*
 * alloc.c -- mtls_set_allocator(): routes mtls's allocations (mem_*() in src/base/alloc.c) and,
 * where libcrypto still allows it, libcrypto's own through hooks that wipe every block before it
 * is freed.  The functions may be replaced once, before the first allocation; after that the
 * choice is frozen, because memory from one allocator must never reach another's free.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
    uint8_t *p = mem_alloc(n + CRY_HDR);
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
    mem_free(p);
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
    if (!mem_set_functions(malloc_fn, realloc_fn, free_fn))
        return MTLS_ERR_BAD_STATE;
    /* Best effort: libcrypto accepts new functions only before its own first allocation. */
    (void)cry_set_mem_functions(cry_malloc_hook, cry_realloc_hook, cry_free_hook);
    return MTLS_OK;
}
