/*
 * mem.h -- every allocation mtls makes goes through these (alloc.c), so that
 * mtls_set_allocator() can route them.  Used by all modules, including x509.
 */
#ifndef MTLS_MEM_H
#define MTLS_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t n);
void mem_free(void *p);
char *mem_strdup(const char *s);

#endif
