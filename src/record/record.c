/*
 * record.c -- AEAD protection of TLS 1.2 records (RFC 5246 6.2.3.3).
 *
 * AES-GCM follows RFC 5288: nonce = 4-byte implicit salt from the key block || 8-byte explicit
 * part carried in the record; we use the sequence number as the explicit part, which is unique per
 * key.  ChaCha20-Poly1305 follows RFC 7905: nonce = 12-byte IV XOR the left-padded sequence number,
 * nothing explicit on the wire.  The additional data is seq_num || type || version || length of
 * the plaintext.  Sealing and opening happen in place in the connection's buffers; nothing is
 * allocated per record.  A sequence number never wraps: at 2^64-1 the connection fails.
 */
#include <string.h>

#include "../core/internal.h"

mtls_err rec_prot_init(rec_prot *p, const suite_info *s, const uint8_t *key, const uint8_t *iv,
                       int encrypt)
{
    rec_prot_clear(p);
    p->aead = cry_aead_new(s->aead, key, encrypt);
    if (!p->aead)
        return MTLS_ERR_CRYPTO;
    memcpy(p->iv, iv, s->fixed_iv_len);
    p->fixed_iv_len = s->fixed_iv_len;
    p->seq = 0;
    return MTLS_OK;
}

void rec_prot_clear(rec_prot *p)
{
    cry_aead_free(p->aead);
    cry_wipe(p, sizeof(*p));
}

size_t rec_prefix_len(const rec_prot *p)
{
    return p->aead && p->fixed_iv_len == 4 ? 8 : 0;
}

size_t rec_overhead(const rec_prot *p)
{
    return p->aead ? rec_prefix_len(p) + CRY_AEAD_TAG_LEN : 0;
}

static void make_nonce(const rec_prot *p, uint8_t nonce[12])
{
    uint8_t seq[8];
    be64_put(seq, p->seq);
    if (p->fixed_iv_len == 4) {
        memcpy(nonce, p->iv, 4);
        memcpy(nonce + 4, seq, 8);
        return;
    }
    memcpy(nonce, p->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= seq[i];
}

static void make_aad(uint64_t seq, uint8_t type, size_t plain_len, uint8_t aad[13])
{
    be64_put(aad, seq);
    aad[8] = type;
    be16_put(aad + 9, MTLS_VERSION_TLS12);
    be16_put(aad + 11, (uint16_t)plain_len);
}

mtls_err rec_seal(rec_prot *p, uint8_t type, uint8_t *rec, const uint8_t *src, size_t plain_len,
                  size_t *rec_len)
{
    size_t frag_len = plain_len + rec_overhead(p);
    rec[0] = type;
    be16_put(rec + 1, MTLS_VERSION_TLS12);
    be16_put(rec + 3, (uint16_t)frag_len);
    *rec_len = TLS_RECORD_HEADER + frag_len;
    uint8_t *plain = rec + TLS_RECORD_HEADER + rec_prefix_len(p);
    if (!p->aead) {
        if (src && plain_len)
            memmove(plain, src, plain_len);
        return MTLS_OK;
    }
    if (p->seq == UINT64_MAX)
        return MTLS_ERR_INTERNAL;

    uint8_t nonce[12], aad[13];
    make_nonce(p, nonce);
    make_aad(p->seq, type, plain_len, aad);
    size_t prefix = rec_prefix_len(p);
    memcpy(rec + TLS_RECORD_HEADER, nonce + 4, prefix);
    if (!cry_aead_seal_from(p->aead, nonce, aad, sizeof(aad), src ? src : plain, plain,
                            plain_len, plain + plain_len))
        return MTLS_ERR_CRYPTO;
    p->seq++;
    return MTLS_OK;
}

mtls_err rec_open(rec_prot *p, uint8_t *rec, size_t rec_len, uint8_t **plain, size_t *plain_len)
{
    uint8_t *frag = rec + TLS_RECORD_HEADER;
    size_t frag_len = rec_len - TLS_RECORD_HEADER;
    if (!p->aead) {
        *plain = frag;
        *plain_len = frag_len;
        return MTLS_OK;
    }
    size_t prefix = rec_prefix_len(p);
    if (frag_len < prefix + CRY_AEAD_TAG_LEN)
        return MTLS_ERR_BAD_RECORD_MAC;
    if (p->seq == UINT64_MAX)
        return MTLS_ERR_INTERNAL;

    uint8_t nonce[12], aad[13];
    make_nonce(p, nonce);
    /* RFC 5288 3: the explicit part comes from the record, whatever the sender chose. */
    memcpy(nonce + 4, frag, prefix);
    size_t len = frag_len - prefix - CRY_AEAD_TAG_LEN;
    make_aad(p->seq, rec[0], len, aad);
    uint8_t *ct = frag + prefix;
    if (!cry_aead_open(p->aead, nonce, aad, sizeof(aad), ct, len, ct + len))
        return MTLS_ERR_BAD_RECORD_MAC;
    p->seq++;
    *plain = ct;
    *plain_len = len;
    return MTLS_OK;
}
