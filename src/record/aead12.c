/*
 * aead12.c -- AEAD protection of TLS 1.2 records (RFC 5246 6.2.3.3).
 *
 * AES-GCM follows RFC 5288: nonce = 4-byte implicit salt from the key block || 8-byte explicit
 * part carried in the record; we use the sequence number as the explicit part, which is unique per
 * key.  ChaCha20-Poly1305 follows RFC 7905: nonce = 12-byte IV XOR the left-padded sequence number,
 * nothing explicit on the wire.  The additional data is seq_num || type || version || length of
 * the plaintext.  Sealing reads the caller's bytes and writes the record in the send buffer;
 * opening happens in place in the receive buffer, or straight into the application's buffer when
 * the layer gives one (rec_open_to); nothing is allocated per record.  A sequence number never
 * wraps: at 2^64-1 the direction fails.
 */
#include <string.h>

#include "record.h"

static mtls_err init12(rec_dir *d, const rec_key *k)
{
    if (k->iv_len != 4 && k->iv_len != 12)
        return MTLS_ERR_INTERNAL;
    memcpy(d->iv, k->iv, k->iv_len);
    d->iv_len = (uint8_t)k->iv_len;
    d->prefix = k->iv_len == 4 ? 8 : 0;
    d->overhead = (uint8_t)(d->prefix + CRY_AEAD_TAG_LEN);
    return MTLS_OK;
}

static void make_nonce(const rec_dir *d, uint8_t nonce[12])
{
    uint8_t seq[8];
    be64_put(seq, d->seq);
    if (d->iv_len == 4) {
        memcpy(nonce, d->iv, 4);
        memcpy(nonce + 4, seq, 8);
        return;
    }
    memcpy(nonce, d->iv, 12);
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

static mtls_err seal12(rec_dir *d, uint8_t type, uint8_t *rec, const uint8_t *src,
                       size_t plain_len, size_t *rec_len)
{
    size_t frag_len = plain_len + d->overhead;
    rec[0] = type;
    be16_put(rec + 1, MTLS_VERSION_TLS12);
    be16_put(rec + 3, (uint16_t)frag_len);
    *rec_len = TLS_RECORD_HEADER + frag_len;
    uint8_t *plain = rec + TLS_RECORD_HEADER + d->prefix;
    if (d->seq == UINT64_MAX)
        return MTLS_ERR_INTERNAL;

    uint8_t nonce[12], aad[13];
    make_nonce(d, nonce);
    make_aad(d->seq, type, plain_len, aad);
    memcpy(rec + TLS_RECORD_HEADER, nonce + 4, d->prefix);
    if (!cry_aead_seal_from(d->aead, nonce, aad, sizeof(aad), src ? src : plain, plain,
                            plain_len, plain + plain_len))
        return MTLS_ERR_CRYPTO;
    d->seq++;
    return MTLS_OK;
}

static mtls_err open12(rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t *dst, size_t cap,
                       uint8_t **plain, size_t *plain_len)
{
    uint8_t *frag = rec + TLS_RECORD_HEADER;
    size_t frag_len = rec_len - TLS_RECORD_HEADER;
    size_t prefix = d->prefix;
    if (frag_len < prefix + CRY_AEAD_TAG_LEN)
        return MTLS_ERR_BAD_RECORD_MAC;
    if (d->seq == UINT64_MAX)
        return MTLS_ERR_INTERNAL;

    uint8_t nonce[12], aad[13];
    make_nonce(d, nonce);
    /* RFC 5288 3: the explicit part comes from the record, whatever the sender chose. */
    memcpy(nonce + 4, frag, prefix);
    size_t len = frag_len - prefix - CRY_AEAD_TAG_LEN;
    make_aad(d->seq, rec[0], len, aad);
    uint8_t *ct = frag + prefix;
    if (dst && len > cap)
        return MTLS_ERR_INTERNAL; /* the layer hands us room for the whole plaintext */
    uint8_t *out = dst ? dst : ct;
    if (!cry_aead_open2(d->aead, nonce, aad, sizeof(aad), ct, len, out, len, NULL, ct + len))
        return MTLS_ERR_BAD_RECORD_MAC;
    d->seq++;
    *plain = out;
    *plain_len = len;
    return MTLS_OK;
}

const rec_ops rec_aead12 = {init12, seal12, open12};
