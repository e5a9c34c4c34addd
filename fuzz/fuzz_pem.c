/*
 * fuzz_pem.c -- libFuzzer target for loading PEM through the public API: the input is given to
 * mtls_config_set_ca_mem and mtls_config_set_client_ca_mem whole, and split into a certificate
 * chain and a private key for mtls_config_set_cert_chain_mem (at the last PEM block whose label
 * names a private key, else in the middle), so chain parsing, key parsing (PKCS#8, PKCS#1, SEC1)
 * and the key/leaf match all run.  A config that accepted a chain then makes a server connection.
 * Seeds: the fixtures (chains, keys, CA) and their concatenations.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t key_split(const uint8_t *p, size_t n)
{
    static const char tag[] = "-----BEGIN ";
    size_t at = n / 2;
    for (size_t i = 0; i + sizeof(tag) - 1 <= n; i++) {
        if (memcmp(p + i, tag, sizeof(tag) - 1) != 0)
            continue;
        const uint8_t *eol = memchr(p + i, '\n', n - i);
        size_t line = eol ? (size_t)(eol - (p + i)) : n - i;
        for (size_t k = i; k + 11 <= i + line; k++)
            if (memcmp(p + k, "PRIVATE KEY", 11) == 0)
                at = i;
    }
    return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtls_config *cfg = mtls_config_new();
    if (!cfg)
        return 0;
    (void)mtls_config_set_ca_mem(cfg, data, size);
    (void)mtls_config_set_client_ca_mem(cfg, data, size);
    size_t k = key_split(data, size);
    if (mtls_config_set_cert_chain_mem(cfg, data, k, data + k, size - k) == MTLS_OK) {
        mtls_conn *c = mtls_server_new(cfg);
        mtls_conn_free(c);
    }
    mtls_config_free(cfg);
    return 0;
}
