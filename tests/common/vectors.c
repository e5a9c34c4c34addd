/*
 * vectors.c -- the reader of the files of tests/vectors (vectors.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

static struct vec vecs[1024];
static size_t nvecs;

void load_vectors(const char *file)
{
    char path[1024];
    const char *src = getenv("MTLS_SRC_DIR");
    if (src != NULL) {
        snprintf(path, sizeof path, "%s/tests/vectors/%s", src, file);
    } else { /* run by hand: next to this source file */
        snprintf(path, sizeof path, "%s", __FILE__);
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
                 "../vectors/%s", file);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    static char line[8192];
    while (fgets(line, sizeof line, f) != NULL) {
        char *eq = strstr(line, " =");
        if (line[0] == '#' || eq == NULL)
            continue;
        *eq = '\0';
        const char *hex = eq + 2;
        while (*hex == ' ')
            hex++;
        size_t hl = strcspn(hex, "\r\n");
        if (nvecs == sizeof vecs / sizeof vecs[0] || strlen(line) >= sizeof vecs[0].name ||
            hl % 2) {
            fprintf(stderr, "bad vectors line: %s\n", line);
            exit(1);
        }
        struct vec *v = &vecs[nvecs++];
        snprintf(v->name, sizeof v->name, "%s", line);
        v->len = hl / 2;
        v->v = malloc(v->len + 1);
        for (size_t i = 0; i < v->len; i++) {
            unsigned b;
            if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
                fprintf(stderr, "bad hex in %s\n", v->name);
                exit(1);
            }
            v->v[i] = (uint8_t)b;
        }
    }
    fclose(f);
}

static const struct vec *lookup(const char *name)
{
    for (size_t i = 0; i < nvecs; i++)
        if (strcmp(vecs[i].name, name) == 0)
            return &vecs[i];
    return NULL;
}

const struct vec *find_vector(const char *name)
{
    const struct vec *v = lookup(name);
    if (!v) {
        fprintf(stderr, "vector %s missing\n", name);
        exit(1);
    }
    return v;
}

const struct vec *vector(const char *sec, const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "%s.%s", sec, name);
    return find_vector(full);
}

int has_vector(const char *sec, const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "%s.%s", sec, name);
    return lookup(full) != NULL;
}

void free_vectors(void)
{
    for (size_t i = 0; i < nvecs; i++)
        free(vecs[i].v);
    nvecs = 0;
}
