/*
 * alloc.c -- every allocation mtls makes goes through mem_*(), so that an application (or the
 * benchmark's counting allocator) can route them with mtls_set_allocator() (src/core/alloc.c).
 * The functions may be replaced once, before the first allocation; after that the choice is
 * frozen, because memory from one allocator must never reach another's free.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

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

bool mem_set_functions(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                       void (*free_fn)(void *))
{
    if (atomic_load(&allocated))
        return false;
    use_malloc = malloc_fn;
    use_realloc = realloc_fn;
    use_free = free_fn;
    return true;
}

/* A volatile pointer to memset: the compiler must assume the call has an effect it cannot see,
 * so the stores are not dropped as dead (the same trick as OPENSSL_cleanse). */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void base_wipe(void *p, size_t len)
{
    if (p && len)
        wipe_memset(p, 0, len);
}
