/*
 * transcript.c -- handshake messages in and out of records: reassembly of received messages with
 * the per-type length limits, the running transcript hash and the raw transcript buffer, and the
 * framing of the flight being built into records.
 *
 * Reassembly: handshake records are appended to hs->in; a message is handled only when complete.
 * Each message's announced length is judged as soon as its 4-byte header is in (msg_limit: a
 * ClientHello may be as long as its fields allow, any other message MTLS_MAX_HANDSHAKE_MSG), so an
 * oversized claim is refused before its body is buffered.  The buffer grows by doubling up to the
 * end of the message being read, and handled messages are dropped with one move per record, so
 * reassembly costs time linear in what arrives however the peer cuts its messages into records.
 *
 * Transcript: the running hash uses the suite's PRF hash and starts at ServerHello; until then,
 * and while a CertificateVerify may still need the raw messages (its signature hash may differ
 * from the PRF hash), they are also kept in hs->tbuf, which is dropped as soon as possible.
 *
 * Flights: messages are built into hs->out (a growable writer) and framed into as few records as
 * possible when the flight is flushed, so a server flight is usually one record.
 */
#include <string.h>

#include "hs.h"

/* Reassembly holds at most one partial message, within its limit, and one record more. */
#define HS_IN_MAX (4 + TLS_MAX_CLIENT_HELLO + TLS_MAX_PLAINTEXT)

const char *hs_msg_name(uint8_t type)
{
    switch (type) {
    case TLS_HS_HELLO_REQUEST:
        return "HelloRequest";
    case TLS_HS_CLIENT_HELLO:
        return "ClientHello";
    case TLS_HS_SERVER_HELLO:
        return "ServerHello";
    case TLS_HS_NEW_SESSION_TICKET:
        return "NewSessionTicket";
    case TLS_HS_CERTIFICATE:
        return "Certificate";
    case TLS_HS_SERVER_KEY_EXCHANGE:
        return "ServerKeyExchange";
    case TLS_HS_CERTIFICATE_REQUEST:
        return "CertificateRequest";
    case TLS_HS_SERVER_HELLO_DONE:
        return "ServerHelloDone";
    case TLS_HS_CERTIFICATE_VERIFY:
        return "CertificateVerify";
    case TLS_HS_CLIENT_KEY_EXCHANGE:
        return "ClientKeyExchange";
    case TLS_HS_FINISHED:
        return "Finished";
    case TLS_HS_END_OF_EARLY_DATA:
        return "EndOfEarlyData";
    case TLS_HS_ENCRYPTED_EXTENSIONS:
        return "EncryptedExtensions";
    case TLS_HS_KEY_UPDATE:
        return "KeyUpdate";
    case TLS_HS_MESSAGE_HASH:
        return "message_hash";
    case TLS_HS_CERTIFICATE_STATUS:
        return "CertificateStatus";
    default:
        return "unknown handshake message";
    }
}

/* ---- reassembly ---------------------------------------------------------------------------- */

/* The largest body a handshake message of `type` may announce: a ClientHello what its fields can
 * add up to, so that every valid one is read; a Finished its verify_data, at most the largest
 * hash of our suites; anything else our cap. */
static uint32_t msg_limit(uint8_t type)
{
    return type == TLS_HS_CLIENT_HELLO ? TLS_MAX_CLIENT_HELLO
           : type == TLS_HS_FINISHED   ? KS13_MAX_HASH
                                       : MTLS_MAX_HANDSHAKE_MSG;
}

/* A message's announced length, judged as soon as its 4-byte header is in. */
static mtls_err check_length(hs_handle *h, uint8_t type, uint32_t mlen)
{
    if (mlen <= msg_limit(type))
        return MTLS_OK;
    /* RFC 5246 7.4.1.2 bounds every field of a ClientHello; one longer than all of them together
     * cannot be well formed: decode_error, "the length of the message was incorrect" (7.2.2). */
    if (type == TLS_HS_CLIENT_HELLO)
        return hs_herr(h, MTLS_ERR_DECODE,
                       "the peer announced a ClientHello of %u bytes; its fields can add up to "
                       "at most %u (RFC 5246 7.4.1.2)",
                       mlen, (unsigned)TLS_MAX_CLIENT_HELLO);
    /* Finished is verify_data alone (RFC 8446 4.4.4: "opaque verify_data[Hash.length]"; RFC 5246
     * 7.4.9: 12 bytes for our suites): longer cannot be well formed either (the message body is
     * checked to the byte when it is read). */
    if (type == TLS_HS_FINISHED)
        return hs_herr(h, MTLS_ERR_DECODE,
                       "the peer announced a Finished of %u bytes; its verify_data is a hash",
                       mlen);
    return hs_herr(h, MTLS_ERR_HANDSHAKE_TOO_LARGE,
                   "the peer announced a %s of %u bytes (limit %u)", hs_msg_name(type), mlen,
                   MTLS_MAX_HANDSHAKE_MSG);
}

/* Room in the reassembly buffer for `len` more bytes.  It grows by doubling, so that a message
 * cut into many small records is moved a bounded number of times (grown to the exact need, a
 * 128 KiB ClientHello in 300-byte records was reallocated over 400 times, in 2-byte records
 * 65,000 times), but never past the end of the message whose header is in: the peer's own length,
 * already judged against its limit, bounds what the doubling allocates. */
static bool in_reserve(dynbuf *in, size_t len)
{
    size_t want = in->len + len;
    if (want <= in->cap)
        return true;
    size_t cap = want;
    if (in->len >= 4) {
        size_t end = 4 + (size_t)be24_get(in->p + 1);
        cap = 2 * in->cap < end ? 2 * in->cap : end;
        if (cap < want)
            cap = want;
    }
    return dynbuf_reserve(in, cap - in->len, HS_IN_MAX);
}

mtls_err hs_in_add(struct hs *hs, const uint8_t *p, size_t n)
{
    dynbuf *in = &hs->in;
    if (!in_reserve(in, n) || !dynbuf_append(in, p, n, HS_IN_MAX))
        return hs_err(hs, MTLS_ERR_HANDSHAKE_TOO_LARGE, "handshake data exceeds the limit");
    /* Refuse an impossible or oversized length claim as soon as the header is in, before the
     * body is buffered. */
    size_t off = 0;
    while (in->len - off >= 4) {
        uint32_t mlen = be24_get(in->p + off + 1);
        mtls_err err = check_length(hs->h, in->p[off], mlen);
        if (err)
            return err;
        if (in->len - off < 4 + (size_t)mlen)
            break;
        off += 4 + mlen;
    }
    return MTLS_OK;
}

bool hs_in_next(struct hs *hs, msg *m)
{
    const dynbuf *in = &hs->in;
    size_t avail = in->len - hs->in_off;
    if (avail < 4)
        return false;
    const uint8_t *p = in->p + hs->in_off;
    uint32_t len = be24_get(p + 1);
    if (avail < 4 + (size_t)len)
        return false;
    m->type = p[0];
    m->body = rd_init(p + 4, len);
    m->raw = p;
    m->raw_len = 4 + len;
    return true;
}

void hs_in_used(struct hs *hs, const msg *m)
{
    hs->in_off += m->raw_len;
}

/* Drop the messages handled so far: one move of what is left, however many messages a record
 * held (moving the rest after each one would cost a record's length per message). */
void hs_in_compact(struct hs *hs)
{
    if (hs->in_off == 0)
        return;
    dynbuf_consume(&hs->in, hs->in_off);
    hs->in_off = 0;
}

bool hs_in_partial(const struct hs *hs)
{
    return hs->in.len != hs->in_off;
}

/* ---- the transcript ------------------------------------------------------------------------ */

mtls_err hs_transcript_add(struct hs *hs, const uint8_t *p, size_t len)
{
    if (hs->transcript && !cry_hash_update(hs->transcript, p, len))
        return MTLS_ERR_CRYPTO;
    if (hs->keep_tbuf && !dynbuf_append(&hs->tbuf, p, len, 4 * MTLS_MAX_HANDSHAKE_MSG))
        return MTLS_ERR_NO_MEMORY;
    return MTLS_OK;
}

mtls_err hs_transcript_start(struct hs *hs)
{
    hs->transcript = cry_hash_new(hs->suite->prf);
    if (!hs->transcript)
        return MTLS_ERR_CRYPTO;
    if (hs->tbuf.len && !cry_hash_update(hs->transcript, hs->tbuf.p, hs->tbuf.len))
        return MTLS_ERR_CRYPTO;
    return MTLS_OK;
}

mtls_err hs_transcript_hash(struct hs *hs, uint8_t *out, size_t *out_len)
{
    if (!hs->transcript || !cry_hash_peek(hs->transcript, out))
        return MTLS_ERR_CRYPTO;
    *out_len = cry_hash_len(hs->suite->prf);
    return MTLS_OK;
}

void hs_transcript_drop_buffer(struct hs *hs)
{
    hs->keep_tbuf = false;
    dynbuf_free(&hs->tbuf, false);
}

/* ---- building and framing ------------------------------------------------------------------ */

size_t hs_msg_open(struct hs *hs, uint8_t type)
{
    wr *w = &hs->out;
    size_t at = w->len;
    wr_u8(w, type);
    wr_open_u24(w);
    return at;
}

mtls_err hs_msg_close(struct hs *hs, size_t at)
{
    wr *w = &hs->out;
    wr_close_u24(w, at + 1);
    /* The flight's writer fails only when it cannot grow (out of memory, or past HS_OUT_MAX). */
    if (!wr_ok(w))
        return MTLS_ERR_NO_MEMORY;
    return hs_transcript_add(hs, w->p + at, w->len - at);
}

mtls_err hs_flush(struct hs *hs)
{
    wr *w = &hs->out;
    if (w->len == 0)
        return MTLS_OK;
    mtls_err err = rec_write(hs->env->rec, TLS_CT_HANDSHAKE, w->p, w->len);
    cry_wipe(w->p, w->len);
    wr_reset(w);
    return err;
}
