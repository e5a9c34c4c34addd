/*
 * vectors.h -- known-answer vectors from the files of tests/vectors, copied from the RFCs (and
 * the other published sources each file names): "name = hex" lines, '#' comments.  A test loads
 * the files it needs and looks values up by name ("s3.ecdhe": section s3, value ecdhe).
 */
#ifndef MTLS_TEST_VECTORS_H
#define MTLS_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

struct vec {
    char name[48];
    uint8_t *v;
    size_t len;
};

/* Loads tests/vectors/FILE ($MTLS_SRC_DIR, or next to this source tree when run by hand); exits
 * on a missing file or a malformed line. */
void load_vectors(const char *file);
/* The value called `name` (exits when there is none). */
const struct vec *find_vector(const char *name);
/* The value sec.name ("s3", "ecdhe" -> "s3.ecdhe"). */
const struct vec *vector(const char *sec, const char *name);
/* Whether sec.name exists. */
int has_vector(const char *sec, const char *name);
void free_vectors(void);

#endif
