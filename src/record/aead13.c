/*
 * aead13.c -- TLS 1.3 record protection (RFC 8446 5.2-5.5) and the unprotected records TLS 1.3
 * lets through under a read key (RFC 8446 5).
 *
 * A protected record is TLSCiphertext {opaque_type 23, legacy_record_version 0x0303, length,
 * AEAD(TLSInnerPlaintext)} with TLSInnerPlaintext = content || ContentType || zeros; the
 * additional data is the 5-byte header itself (5.2) and the nonce the 12-byte IV XOR the 64-bit
 * sequence number left-padded with zeros (5.3).  Sealing writes the type byte and the padding at
 * their place in the record and seals in two pieces -- the content straight from the caller's
 * buffer, then that trailer in place -- so the content is never copied first.  Opening happens in
 * place, or into the application's buffer when the layer gives one (rec_open_to): as much of the
 * inner plaintext as fits there, the rest (at most the type byte and padding) in place.  The
 * inner type is known only then; the record's first byte then carries it, so the layer reads the
 * type where it reads it for TLS 1.2.  Nothing is allocated per record; a sequence number never
 * wraps (5.3: rekey or terminate -- at 2^64-1 the direction fails).
 */
#include <string.h>

#include "record.h"

static mtls_err init13(rec_dir *d, const rec_key *k)
{
    if (k->iv_len != 12) /* RFC 8446 5.3: iv_length is 12 for every TLS 1.3 AEAD */
        return MTLS_ERR_INTERNAL;
    memcpy(d->iv, k->iv, 12);
    d->iv_len = 12;
    d->prefix = 0;
    d->overhead = 1 + CRY_AEAD_TAG_LEN; /* the inner content type and the tag */
    d->update_after = k->aead == CRY_CHACHA20_POLY1305 ? 0 : REC13_AES_GCM_UPDATE_AFTER;
    return MTLS_OK;
}

/* RFC 8446 5.3: the sequence number in network byte order, padded to the left with zeros to 12
 * bytes, XORed with the IV. */
static void make_nonce(const rec_dir *d, uint8_t nonce[12])
{
    uint8_t seq[8];
    be64_put(seq, d->seq);
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= seq[i];
}

static void put_header(uint8_t *rec, uint8_t type, size_t len)
{
    rec[0] = type;
    be16_put(rec + 1, MTLS_VERSION_TLS12); /* legacy_record_version, RFC 8446 5.1 and 5.2 */
    be16_put(rec + 3, (uint16_t)len);
}

static mtls_err seal13(rec_dir *d, uint8_t type, uint8_t *rec, const uint8_t *src, size_t plain_len,
                       size_t *rec_len)
{
    uint8_t *inner = rec + TLS_RECORD_HEADER;
    if (plain_len > TLS_MAX_PLAINTEXT)
        return MTLS_ERR_INTERNAL;
    if (!src)
        src = inner; /* the content already sits in the record */
    if (type == TLS_CT_CHANGE_CIPHER_SPEC) {
        /* RFC 8446 5: a protected change_cipher_spec is unexpected_message at the peer; the
         * compatibility CCS (D.4) goes out in clear whatever keys are installed. */
        if (plain_len && src != inner)
            memmove(inner, src, plain_len);
        put_header(rec, type, plain_len);
        *rec_len = TLS_RECORD_HEADER + plain_len;
        return MTLS_OK;
    }
    if (d->seq == UINT64_MAX)
        return MTLS_ERR_INTERNAL;
    /* RFC 8446 5.4: "the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets" */
    size_t pad = d->pad;
    if (pad > TLS_MAX_PLAINTEXT - plain_len)
        pad = TLS_MAX_PLAINTEXT - plain_len;
    size_t inner_len = plain_len + 1 + pad;
    uint8_t *trailer = inner + plain_len;
    trailer[0] = type;
    memset(trailer + 1, 0, pad); /* 5.4: padding octets MUST be zeros */
    /* 5.2: opaque_type application_data; the header is the additional data */
    put_header(rec, TLS_CT_APPLICATION_DATA, inner_len + CRY_AEAD_TAG_LEN);
    *rec_len = TLS_RECORD_HEADER + inner_len + CRY_AEAD_TAG_LEN;

    uint8_t nonce[12];
    make_nonce(d, nonce);
    /* The content from where it is (the caller's buffer: no copy), then the trailer in place. */
    if (!cry_aead_seal2(d->aead, nonce, rec, TLS_RECORD_HEADER, src, plain_len, trailer, 1 + pad,
                        inner, inner + inner_len))
        return MTLS_ERR_CRYPTO;
    d->seq++;
    return MTLS_OK;
}

/* One piece of the inner plaintext, at offset `base` in it: the position and value of its last
 * non-zero byte folded into *at and *t, with no branch on the bytes' values. */
static void scan_piece(const uint8_t *p, size_t n, size_t base, size_t *at, size_t *t)
{
    size_t a = *at, v = *t;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = p[i];
        size_t m = (size_t)0 - (size_t)((b | (0u - b)) >> 31); /* all ones when b != 0 */
        a = ((base + i) & m) | (a & ~m);
        v = (b & m) | (v & ~m);
    }
    *at = a;
    *t = v;
}

/* RFC 8446 5.4: the content type is the last non-zero byte of the inner plaintext, the zeros
 * after it padding.  The inner plaintext is head[0..n1) followed by tail[0..n2) (opened partly
 * into the application's buffer); "MUST limit their scanning to the cleartext returned from the
 * AEAD decryption": nothing outside them is read.  Returns the content length; *type is 0 when
 * every byte is zero.
 *
 * Time.  An unpadded record -- what mtls and the usual peers send -- ends with its type byte:
 * one look at the last byte, whose position is public (the record's length).  A padded record
 * takes one pass over every byte with no branch on their values, so the time depends on the
 * record's length, not on where the content ends: the padding hides the content length from the
 * network, and the time taken does not give it back.  What the first look tells, whether there
 * is any padding at all, is all the timing shows.  (A full pass on every record would cost more
 * than the AEAD itself on a full record.) */
static size_t find_type(const uint8_t *head, size_t n1, const uint8_t *tail, size_t n2,
                        uint8_t *type)
{
    uint8_t last = n2 ? tail[n2 - 1] : n1 ? head[n1 - 1] : 0;
    if (last != 0) {
        *type = last;
        return n1 + n2 - 1;
    }
    size_t at = 0, t = 0;
    scan_piece(head, n1, 0, &at, &t);
    scan_piece(tail, n2, n1, &at, &t);
    *type = (uint8_t)t;
    return at;
}

static mtls_err open13(rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t *dst, size_t cap,
                       uint8_t **plain, size_t *plain_len)
{
    d->why = NULL;
    if (rec[0] != TLS_CT_APPLICATION_DATA) { /* the layer hands these to rec13_unprotected */
        d->why = "a TLS 1.3 record whose outer type is not application_data";
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    }
    /* 5.2: "The legacy_record_version field is always 0x0303" (and it is in the additional data,
     * so another value could only come from a peer that sealed it so). */
    if (be16_get(rec + 1) != MTLS_VERSION_TLS12) {
        d->why = "a TLS 1.3 protected record whose legacy_record_version is not 0x0303";
        return MTLS_ERR_BAD_RECORD_VERSION;
    }
    size_t frag_len = rec_len - TLS_RECORD_HEADER;
    if (frag_len < CRY_AEAD_TAG_LEN)
        return MTLS_ERR_BAD_RECORD_MAC;
    if (d->seq == UINT64_MAX)
        return MTLS_ERR_INTERNAL;

    uint8_t nonce[12];
    make_nonce(d, nonce);
    uint8_t *inner = rec + TLS_RECORD_HEADER;
    size_t inner_len = frag_len - CRY_AEAD_TAG_LEN;
    /* Into dst: as much as fits, which the layer makes all the content the record can carry
     * (all but the type byte); the rest in place. */
    uint8_t *head = inner;
    size_t n1 = inner_len;
    if (dst) {
        if (inner_len > 0 && inner_len - 1 > cap)
            return MTLS_ERR_INTERNAL; /* the layer gives room for all but the type byte */
        head = dst;
        n1 = inner_len < cap ? inner_len : cap;
    }
    uint8_t *tail = inner + n1;
    size_t n2 = inner_len - n1;
    /* 5.2: "If the decryption fails, the receiver MUST terminate the connection with a
     * 'bad_record_mac' alert." */
    if (!cry_aead_open2(d->aead, nonce, rec, TLS_RECORD_HEADER, inner, inner_len, head, n1, tail,
                        inner + inner_len))
        return MTLS_ERR_BAD_RECORD_MAC;
    d->seq++;

    /* 5.4: "the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets" -- padding
     * included; record_overflow as for any plaintext over the limit (6.2). */
    if (inner_len > TLS13_MAX_INNER_PLAINTEXT) {
        d->why = "a TLS 1.3 record whose inner plaintext (padding included) exceeds 2^14 + 1";
        return MTLS_ERR_RECORD_OVERFLOW;
    }
    uint8_t type;
    size_t len = find_type(head, n1, tail, n2, &type);
    /* 5.4: "If a receiving implementation does not find a non-zero octet in the cleartext, it
     * MUST terminate the connection with an 'unexpected_message' alert." */
    if (type == 0) {
        d->why = "a TLS 1.3 record without a content type (its inner plaintext is all zeros)";
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    }
    /* 5: "An implementation which ... receives a protected change_cipher_spec record MUST abort
     * the handshake with an 'unexpected_message' alert." */
    if (type == TLS_CT_CHANGE_CIPHER_SPEC) {
        d->why = "a protected change_cipher_spec record";
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    }
    /* 5.4: "Implementations MUST NOT send Handshake and Alert records that have a zero-length
     * TLSInnerPlaintext.content; if such a message is received, the receiving implementation MUST
     * terminate the connection with an 'unexpected_message' alert." */
    if (len == 0 && (type == TLS_CT_HANDSHAKE || type == TLS_CT_ALERT)) {
        d->why = "a TLS 1.3 handshake or alert record with empty content";
        return MTLS_ERR_UNEXPECTED_MESSAGE;
    }
    /* In dst, the bytes after the content are zeros: the type byte goes too. */
    if (dst && len < n1)
        head[len] = 0;
    rec[0] = type;
    *plain = head;
    *plain_len = len;
    return MTLS_OK;
}

const rec_ops rec_aead13 = {init13, seal13, open13};

/* ---- the layer's TLS 1.3 rules --------------------------------------------------------------- */

mtls_err rec13_unprotected(const rec_layer *l, const uint8_t *h, size_t len, const char **why)
{
    if (h[0] == TLS_CT_CHANGE_CIPHER_SPEC) {
        /* RFC 8446 5: "An implementation may receive an unencrypted record of type
         * change_cipher_spec consisting of the single byte value 0x01 at any time after the first
         * ClientHello message has been sent or received and before the peer's Finished message
         * has been received and MUST simply drop it without further processing. ... An
         * implementation which receives any other change_cipher_spec value ... MUST abort the
         * handshake with an 'unexpected_message' alert.  If an implementation detects a
         * change_cipher_spec record received before the first ClientHello message or after the
         * peer's Finished message, it MUST be treated as an unexpected record type". */
        if (!l->plain_ccs) {
            *why = "a change_cipher_spec record after the peer's Finished";
            return MTLS_ERR_UNEXPECTED_MESSAGE;
        }
        if (len != 1 || h[TLS_RECORD_HEADER] != 1) {
            *why = "a change_cipher_spec record other than the single byte 0x01";
            return MTLS_ERR_UNEXPECTED_MESSAGE;
        }
        return MTLS_OK;
    }
    if (h[0] == TLS_CT_ALERT && l->plain_alert)
        return MTLS_OK;
    /* RFC 8446 5: "If a TLS implementation receives an unexpected record type, it MUST terminate
     * the connection with an 'unexpected_message' alert." */
    *why = "an unprotected record where TLS 1.3 protects every record";
    return MTLS_ERR_UNEXPECTED_MESSAGE;
}

void rec_allow_plain_ccs(rec_layer *l, bool allow)
{
    l->plain_ccs = allow;
}

void rec_allow_plain_alert(rec_layer *l, bool allow)
{
    l->plain_alert = allow;
}

bool rec_write_needs_update(const rec_layer *l)
{
    const rec_dir *d = &l->out;
    return rec_dir_is13(d) && d->update_after && d->seq >= d->update_after;
}
