/*
 * ks12.c -- the TLS 1.2 key schedule over the PRF (prf12.c): master secret (RFC 5246 8.1, or the
 * extended master secret of RFC 7627 4), key block (RFC 5246 6.3), Finished verify_data (RFC 5246
 * 7.4.9) and the NSS key log line.  Nothing here knows a connection: the handshake hands in the
 * secrets, randoms and transcript hashes and installs what comes out.  Outputs are wiped on any
 * failure (ks_prf12 does so).
 */
#include <string.h>

#include "ks.h"

mtls_err ks12_master_secret(cry_hash_alg prf, const uint8_t *premaster, size_t premaster_len,
                            bool ems, const uint8_t *session_hash, size_t hlen,
                            const uint8_t client_random[32], const uint8_t server_random[32],
                            uint8_t out[48])
{
    int ok;
    if (ems)
        /* RFC 7627 4: master_secret = PRF(pre_master_secret, "extended master secret",
         * session_hash)[0..47], session_hash = Hash(handshake messages up to and including
         * ClientKeyExchange). */
        ok = ks_prf12(prf, premaster, premaster_len, "extended master secret", session_hash, hlen,
                      NULL, 0, out, 48);
    else
        /* RFC 5246 8.1: PRF(pre_master_secret, "master secret", ClientHello.random +
         * ServerHello.random)[0..47] */
        ok = ks_prf12(prf, premaster, premaster_len, "master secret", client_random, 32,
                      server_random, 32, out, 48);
    return ok ? MTLS_OK : MTLS_ERR_CRYPTO;
}

mtls_err ks12_key_block(cry_hash_alg prf, const uint8_t master[48], const uint8_t server_random[32],
                        const uint8_t client_random[32], uint8_t *out, size_t len)
{
    /* RFC 5246 6.3: key_block = PRF(master, "key expansion", server_random + client_random). */
    return ks_prf12(prf, master, 48, "key expansion", server_random, 32, client_random, 32, out,
                    len)
               ? MTLS_OK
               : MTLS_ERR_CRYPTO;
}

mtls_err ks12_finished(cry_hash_alg prf, const uint8_t master[48], bool from_client,
                       const uint8_t *th, size_t hlen, uint8_t out[12])
{
    /* RFC 5246 7.4.9: verify_data = PRF(master_secret, finished_label,
     * Hash(handshake_messages))[0..11] */
    return ks_prf12(prf, master, 48, from_client ? "client finished" : "server finished", th, hlen,
                    NULL, 0, out, 12)
               ? MTLS_OK
               : MTLS_ERR_CRYPTO;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

void ks12_keylog_line(char out[KS12_KEYLOG_LEN], const uint8_t client_random[32],
                      const uint8_t master[48])
{
    memcpy(out, "CLIENT_RANDOM ", 14);
    hex(out + 14, client_random, 32);
    out[14 + 64] = ' ';
    hex(out + 14 + 65, master, 48);
}
