/*
 * testpki.h -- certificates made at test time with libcrypto (nothing that can expire is checked
 * in); with it, the in-memory pump (pump.h) that every handshake test moves bytes with.
 */
#ifndef MTLS_TESTPKI_H
#define MTLS_TESTPKI_H

#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "pump.h"

typedef enum { TP_RSA2048 = 0, TP_P256, TP_P384, TP_KEY_COUNT } tp_key_kind;

typedef struct tp_ident {
    char *cert_pem; /* leaf + CA chain */
    char *key_pem;
} tp_ident;

typedef struct tp_pki {
    char *ca_pem;
    char *other_ca_pem; /* an unrelated CA, for "unknown CA" cases */
    tp_ident server[TP_KEY_COUNT]; /* SAN DNS:localhost, IP:127.0.0.1; EKU serverAuth */
    tp_ident client[TP_KEY_COUNT]; /* CN=client-<kind>; EKU clientAuth */
    tp_ident stranger;             /* a client cert from other_ca */
} tp_pki;

/* Builds the whole set (once per process; later calls return the same). */
const tp_pki *tp_get(void);
const char *tp_kind_name(tp_key_kind k);

/* A DER OCSP response about the leaf of `cert_pem` (its first certificate, issued by the test
 * CA), signed by the CA: status 0 good, 1 revoked (keyCompromise, an hour before thisUpdate),
 * 2 unknown; thisUpdate and nextUpdate `this_off` / `next_off` seconds from now (next_off 0: no
 * nextUpdate).  *der is malloc'd (the caller frees it); returns its length, 0 on failure. */
size_t tp_ocsp_response(const char *cert_pem, int status, long this_off, long next_off,
                        uint8_t **der);

/* A PEM CRL of the test CA (thisUpdate a minute ago, nextUpdate in an hour) that revokes the
 * leaf of `cert_pem` (its first certificate; NULL: revokes nothing).  malloc'd, NUL-terminated
 * (the caller frees it); NULL on failure. */
char *tp_crl(const char *cert_pem);

#endif
