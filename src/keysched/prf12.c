/*
 * prf12.c -- the TLS 1.2 pseudorandom function (RFC 5246 5):
 *
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 *   P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC(secret, A(i-1))
 *
 * One HMAC context is keyed once and reset for every block.  The seed is passed in two parts so
 * that callers need not concatenate randoms into a temporary.  A(i) and partial blocks are wiped.
 */
#include <string.h>

#include "ks.h"

static int hmac_parts(cry_hmac *m, const uint8_t *a, size_t a_len, const char *label,
                      const uint8_t *s1, size_t s1_len, const uint8_t *s2, size_t s2_len,
                      uint8_t *out)
{
    return cry_hmac_reset(m) && (a_len == 0 || cry_hmac_update(m, a, a_len)) &&
           cry_hmac_update(m, label, strlen(label)) && (s1_len == 0 || cry_hmac_update(m, s1, s1_len)) &&
           (s2_len == 0 || cry_hmac_update(m, s2, s2_len)) && cry_hmac_final(m, out);
}

int ks_prf12(cry_hash_alg alg, const uint8_t *secret, size_t secret_len, const char *label,
             const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
             uint8_t *out, size_t out_len)
{
    size_t hlen = cry_hash_len(alg);
    uint8_t a[CRY_MAX_HASH], block[CRY_MAX_HASH];
    cry_hmac *m = cry_hmac_new(alg, secret, secret_len);
    if (!m)
        return 0;
    int ok = 1;
    /* A(1) = HMAC(secret, label + seed) */
    ok = hmac_parts(m, NULL, 0, label, seed1, seed1_len, seed2, seed2_len, a);
    size_t done = 0;
    while (ok && done < out_len) {
        ok = hmac_parts(m, a, hlen, label, seed1, seed1_len, seed2, seed2_len, block);
        if (!ok)
            break;
        size_t take = out_len - done < hlen ? out_len - done : hlen;
        memcpy(out + done, block, take);
        done += take;
        if (done < out_len)
            ok = cry_hmac_reset(m) && cry_hmac_update(m, a, hlen) && cry_hmac_final(m, a);
    }
    cry_hmac_free(m);
    cry_wipe(a, sizeof(a));
    cry_wipe(block, sizeof(block));
    if (!ok)
        cry_wipe(out, out_len);
    return ok;
}
