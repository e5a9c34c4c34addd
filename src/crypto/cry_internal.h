/*
 * cry_internal.h -- shared between the files of src/crypto/ only; never included elsewhere.
 *
 * Holds the process-wide table of provider objects fetched once by cry_init() and read-only
 * afterwards, so that no operation fetches an algorithm by name.
 */
#ifndef MTLS_CRY_INTERNAL_H
#define MTLS_CRY_INTERNAL_H

#include <openssl/evp.h>

#include "crypto.h"

enum { CRY_EC_P256 = 0, CRY_EC_P384, CRY_EC_COUNT };

struct cry_algs {
    EVP_MD *md[CRY_HASH_COUNT]; /* NULL for an optional digest the provider lacks (MD5, SHA-1) */
    EVP_CIPHER *aead[3];        /* indexed by cry_aead_alg */
    EVP_PKEY *ec_params[CRY_EC_COUNT]; /* parameters-only keys: keygen templates, peer imports */
};

/* The table after a successful cry_init() (run here if nobody did), or NULL if init failed. */
const struct cry_algs *cry_algs(void);
/* The provider name of a digest ("SHA2-256", ...), for parameters that take a name. */
const char *cry_md_name(cry_hash_alg alg);
/* Drop what a failed libcrypto call left on this thread's error queue, so that an application
 * that also uses OpenSSL never sees our failures as its own. */
void cry_clear_errors(void);
/* A cry_pkey for a private key made in src/crypto (takes ownership of pk; NULL frees it). */
cry_pkey *cry_pkey_wrap_private(EVP_PKEY *pk);
/* A key whose operations run in legacy methods (an engine's: p11.c): its operation contexts get
 * their parameters through EVP_PKEY_CTX_set_params, which reaches the legacy ctrls. */
void cry_pkey_mark_foreign(cry_pkey *k);
/* Called with `arg` once the key is freed (what the key needs to stay alive: its engine). */
void cry_pkey_set_on_free(cry_pkey *k, void (*fn)(void *), void *arg);

#endif
