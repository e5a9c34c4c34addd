/*
 * record.h -- the record layer (src/record): deframing, fragmentation, the receive and send
 * buffers, sequence numbers, and record protection per protocol version (aead12.c: TLS 1.2's
 * explicit nonce and additional data; aead13.c: TLS 1.3's inner content type, padding and header
 * as additional data, and the unprotected records TLS 1.3 lets through).  It knows nothing of
 * connections, handshakes or alerts: the handshake installs keys here (rec_set_read_key /
 * rec_set_write_key) and writes its flights with rec_write; core feeds bytes from the transport
 * in, takes records out with rec_read and hands the send buffer to the transport.
 *
 * Receive buffer: bytes from the transport land at rbuf[rlen..rcap); records are taken from
 * rstart and opened in place, or -- records that may carry application data, when the
 * application's buffer has room for all the content they can carry -- straight into that buffer
 * (rec_read_into), so that the bytes are never copied.  The record rec_read handed out stays at
 * rstart until it is released: an application-data record opened in place keeps its plaintext
 * there until rec_take has copied all of it out (one copy, for reads too small for the record).
 * rbuf starts small (handshake records are short) and grows when the peer announces a larger
 * record -- to one AEAD-sized record, or exactly the announced size beyond that, at most one
 * maximal ciphertext record -- so a record that fits the protocol always fits, and a connection
 * that never sees a large record never pays for one.
 * Two size classes keep a busy server's heap from fragmenting; the old block is wiped, never
 * realloc'd, since it may hold earlier plaintext.
 *
 * Send buffer: records are built in place (header, explicit nonce, plaintext, tag) at the end of
 * sbuf and sealed there, straight from the caller's bytes; [soff, sbuf.len) is what the
 * transport still has to take.
 *
 * A sequence number never wraps: at 2^64-1 the direction fails.  Keys live only inside the
 * cry_aead of each direction; the IVs are wiped with the direction.
 */
#ifndef MTLS_RECORD_H
#define MTLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls.h"
#include "../base/base.h"
#include "../codec/codec.h"
#include "../crypto/crypto.h"
#include "tls.h"

/* What the handshake installs for one direction. */
typedef struct rec_key {
    uint16_t version; /* MTLS_VERSION_TLS12: aead12.c; MTLS_VERSION_TLS13: aead13.c */
    cry_aead_alg aead;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *iv;
    size_t iv_len; /* TLS 1.2: 4 (GCM, RFC 5288 salt) or 12 (ChaCha20-Poly1305, RFC 7905);
                    * TLS 1.3: 12 (RFC 8446 5.3) */
    /* What the key is, for the trace alone (the layer keeps it beside the key and says it for
     * each record: rec_write_protection, rec_read_protection): TLS 1.2's write keys, a TLS 1.3
     * handshake traffic key, or application traffic key `generation`. */
    mtls_trace_protection level;
    uint32_t generation;
} rec_key;

struct rec_dir;
/* One version's protection (aead12.c, aead13.c): the layer dispatches through this. */
typedef struct rec_ops {
    /* iv_len and how many bytes a record adds before the plaintext and in all */
    mtls_err (*init)(struct rec_dir *d, const rec_key *k);
    mtls_err (*seal)(struct rec_dir *d, uint8_t type, uint8_t *rec, const uint8_t *src,
                     size_t plain_len, size_t *rec_len);
    mtls_err (*open)(struct rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t *dst, size_t cap,
                     uint8_t **plain, size_t *plain_len);
} rec_ops;
extern const rec_ops rec_aead12;
extern const rec_ops rec_aead13;

/* One direction's protection. */
typedef struct rec_dir {
    cry_aead *aead; /* NULL: plaintext (before the keys are installed) */
    const rec_ops *ops;
    uint8_t iv[12];
    uint8_t iv_len;
    uint8_t prefix;   /* bytes before the plaintext (TLS 1.2 GCM: the explicit nonce) */
    uint8_t overhead; /* bytes added in all (prefix and tag; TLS 1.3: and the inner type) */
    uint64_t seq;
    mtls_trace_protection level; /* rec_key.level and .generation of the key installed */
    uint32_t generation;
    /* TLS 1.3 only (aead13.c).  A key change resets them. */
    uint16_t pad;          /* zeros appended to each record sealed (RFC 8446 5.4), fewer where the
                            * inner plaintext would pass 2^14 + 1; 0, the default: unpadded.  For
                            * tests (no padding policy yet). */
    uint64_t update_after; /* records sealed under this key after which rec_write_needs_update()
                            * says yes (5.5): REC13_AES_GCM_UPDATE_AFTER for AES-GCM, 0 (never)
                            * for ChaCha20-Poly1305.  Tests lower it. */
    const char *why;       /* the last failed open, when not bad_record_mac: a static sentence */
} rec_dir;

/* ---- one record, one direction (for the layer, and for tests that forge or open records) -- */
mtls_err rec_dir_init(rec_dir *d, const rec_key *k, bool encrypt);
void rec_dir_clear(rec_dir *d);
/* Bytes a protected record adds before the plaintext, and in all. */
size_t rec_dir_prefix(const rec_dir *d);
size_t rec_dir_overhead(const rec_dir *d);
/* Seal a record at `rec` (room for header, prefix, plaintext and overhead).  The plaintext is
 * read from `src` (plain_len bytes) and written, protected, to rec + TLS_RECORD_HEADER +
 * rec_dir_prefix(d); src == NULL means it already sits there.  Writes the header and returns the
 * whole record's length in *rec_len. */
mtls_err rec_seal(rec_dir *d, uint8_t type, uint8_t *rec, const uint8_t *src, size_t plain_len,
                  size_t *rec_len);
/* Open a whole record (header included, rec_len bytes) in place: the plaintext is then
 * (*plain, *plain_len) inside `rec`, and rec[0] its content type (TLS 1.3: the inner type, which
 * replaces the outer application_data).  MTLS_ERR_BAD_RECORD_MAC when it does not authenticate;
 * TLS 1.3's other errors (aead13.c) leave a sentence in d->why. */
mtls_err rec_open(rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t **plain, size_t *plain_len);
/* The same, but the plaintext goes to dst (cap bytes; dst NULL: in place, as rec_open), which
 * must hold all the content the record can carry (rec_next.max_len).  *plain is then dst.  TLS
 * 1.3: the inner plaintext goes to dst as far as it fits -- the type byte and padding may not, and
 * stay in the record -- and after the content dst holds only zeros.  When it fails, dst holds
 * nothing of the record that authenticated (the AEAD wipes what it wrote; a record that opens but
 * breaks a rule after is wiped by rec_read_into). */
mtls_err rec_open_to(rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t *dst, size_t cap,
                     uint8_t **plain, size_t *plain_len);

/* ---- the layer ------------------------------------------------------------------------------ */
typedef struct rec_layer {
    /* receive: raw bytes [rstart, rlen) of rbuf */
    uint8_t *rbuf;
    size_t rcap, rstart, rlen;
    size_t cur_len;   /* the record rec_read handed out, at rstart, not yet released (0: none) */
    size_t take_off;  /* an application record being taken: its plaintext [take_off, +take_len) */
    size_t take_len;  /* from rstart */
    /* send: bytes [soff, sbuf.len) wait for the transport */
    dynbuf sbuf;
    size_t soff;
    rec_dir in, out;
    uint16_t version; /* 0: any {03,xx} record header accepted; else exactly this */
    char detail[96];  /* what the last error of rec_read was about */
    /* TLS 1.3: unprotected records let through under a read key (rec_allow_plain_*) */
    bool plain_ccs, plain_alert;
    size_t skip_left; /* TLS 1.3: bytes of undecryptable records still to drop (0-RTT skipped) */
    /* the protection of the record rec_read handed out last (0 before the first: clear) */
    mtls_trace_protection read_level;
    uint32_t read_generation;
} rec_layer;

/* Where the transport may write what it received (NULL when out of memory), and how much. */
uint8_t *rec_recv_space(rec_layer *l, size_t *room);
/* n bytes were written there.  MTLS_ERR_INVALID_ARG when n exceeds the room. */
mtls_err rec_recv_commit(rec_layer *l, size_t n);

typedef struct rec_in {
    uint8_t type;
    uint8_t *p; /* the plaintext, inside the receive buffer */
    size_t len;
} rec_in;
/* The next complete record, opened in place: MTLS_OK and *r filled; MTLS_ERR_WANT_READ when no
 * complete record is buffered (the buffer grows to fit the one announced); or the record's error
 * (a wrong header version, a record longer than allowed, bad_record_mac), described by
 * rec_error_detail().  The record stays current -- r->p valid, its bytes kept -- until
 * rec_release() or, for application data, until rec_take() has copied all of it; rec_read must
 * not be called while a record is current. */
mtls_err rec_read(rec_layer *l, rec_in *r);
/* What the next record is, before it is opened: rec_read's checks of its header (its errors, and
 * the buffer grown to hold it: MTLS_ERR_WANT_READ until it is whole), then MTLS_OK and
 *   data     it is protected and may carry application data: TLS 1.2, its outer type says so
 *            (and that type is authenticated); TLS 1.3, every protected record, whose true type is
 *            known only once it is opened;
 *   max_len  for such a record, the most content it can carry (its length less the explicit
 *            nonce, the tag and, TLS 1.3, the type byte).
 * Core leaves such a record unopened until mtls_read knows where the application wants it. */
typedef struct rec_next {
    bool data;
    size_t max_len;
} rec_next;
mtls_err rec_peek(rec_layer *l, rec_next *n);
/* Open the next record, which rec_peek says may carry data with max_len <= cap, straight into dst
 * (rec_open_to): r->p is then dst, and the record is released at once -- nothing of it stays in
 * the receive buffer to take.  r->type is the authenticated type: in TLS 1.3 it may be handshake
 * or alert, whose content dst then holds (the caller's to handle and wipe: it is not application
 * data).  On failure dst[0..min(cap, record length)) holds nothing of the record. */
mtls_err rec_read_into(rec_layer *l, rec_in *r, uint8_t *dst, size_t cap);
void rec_release(rec_layer *l);
/* Keep the current record (application data) for rec_take, which copies at most `cap` bytes of
 * its plaintext to `out` and releases it when all are taken. */
void rec_hold(rec_layer *l, const rec_in *r);
size_t rec_take(rec_layer *l, void *out, size_t cap);
bool rec_holding(const rec_layer *l);
const char *rec_error_detail(const rec_layer *l);

/* Queue `len` bytes of `type`, fragmented at 2^14 and protected with the write direction. */
mtls_err rec_write(rec_layer *l, uint8_t type, const uint8_t *p, size_t len);
/* What a record written now adds to its plaintext (header included). */
size_t rec_write_overhead(const rec_layer *l);
/* Bytes waiting for the transport (NULL and 0 when none); n of them were taken. */
const uint8_t *rec_send_pending(const rec_layer *l, size_t *len);
void rec_send_consume(rec_layer *l, size_t n);
/* Move what waits to the front of the send buffer; returns how many bytes wait. */
size_t rec_send_compact(rec_layer *l);

/* Keys: the handshake installs them (and the version the peer must use from then on).  TLS 1.3:
 * a protected record must say 0x0303, which aead13.c checks whatever is fixed (RFC 8446 5.2); the
 * version of a TLSPlaintext record "MUST be ignored for all purposes" (5.1) beyond the {03,xx} the
 * layer always checks, so a TLS 1.3 handshake need not fix one.  Each key starts at sequence
 * number 0 (RFC 8446 5.3).
 * A read key changes only between records: MTLS_ERR_BAD_STATE while rec_read's record is current.
 * Records already received but not yet read are opened with the key installed when rec_read
 * reaches them, so a flight that arrives together with the message before a key change reads
 * right.  RFC 8446 5.1 (handshake messages must not span key changes) is the handshake's to
 * check: core hands it each handshake record whole and releases it, so the bytes of that record
 * not yet parsed sit in the handshake's reassembly buffer, which must be empty when the handshake
 * changes the read key (unexpected_message otherwise). */
mtls_err rec_set_read_key(rec_layer *l, const rec_key *k);
mtls_err rec_set_write_key(rec_layer *l, const rec_key *k);
void rec_fix_version(rec_layer *l, uint16_t version);
/* For the trace: how a record written now is protected (MTLS_PROTECTION_CLEAR without a write
 * key; a change_cipher_spec is always written in clear, which the caller knows), and how the
 * record rec_read handed out last was (clear when it came unprotected, also under a read key).
 * *generation: the key's rec_key.generation, 0 when clear. */
mtls_trace_protection rec_write_protection(const rec_layer *l, uint32_t *generation);
mtls_trace_protection rec_read_protection(const rec_layer *l, uint32_t *generation);

/* ---- TLS 1.3 (aead13.c, RFC 8446 5) --------------------------------------------------------
 * Sealing: outer type application_data, 0x0303, the header as additional data, the content type
 * inside, rec_dir.pad zeros after it; a change_cipher_spec is never protected (written in clear
 * under a write key too: RFC 8446 5, D.4).  Opening: the padding is stripped from the end; an
 * all-zero inner plaintext, a protected change_cipher_spec and an empty handshake or alert record
 * are unexpected_message; a ciphertext over 2^14 + 256 or an inner plaintext over 2^14 + 1
 * (padding included, 5.4) is record_overflow.
 * Under a read key, a record whose outer type is not application_data is unprotected.  rec_read
 * hands it out only when the handshake opened its window, else unexpected_message (RFC 8446 5:
 * an unexpected record type; OpenSSL answers the same, BoringSSL tries to decrypt it and sends
 * bad_record_mac): */
/* A change_cipher_spec of the single byte 0x01 (RFC 8446 5: from the first ClientHello to the
 * peer's Finished; any other value is unexpected_message).  Closed by default. */
void rec_allow_plain_ccs(rec_layer *l, bool allow);
/* An alert, until the first protected record has been opened: a server that installed the
 * client's handshake key may still get the alert of a client that could not read the ServerHello
 * (OpenSSL's ENC_READ_STATE_ALLOW_PLAIN_ALERTS; tlsfuzzer's test-tls13-unencrypted-alert).
 * Closed by default, and closes by itself. */
void rec_allow_plain_alert(rec_layer *l, bool allow);
/* RFC 8446 4.2.10: a server that declines a client's early data "skips past early data by
 * attempting to deprotect received records using the handshake traffic key, discarding records
 * which fail deprotection (up to the configured max_early_data_size).  Once a record is
 * deprotected successfully, it is treated as the start of the client's second flight".  After
 * this call, protected records that fail to open are dropped while their lengths add up to at
 * most `budget` bytes; the first record that opens ends it (one beyond the budget is
 * bad_record_mac as always).  Without a read key (after a HelloRetryRequest) the records of
 * type application_data are dropped, up to the same budget, until a record of another type
 * than change_cipher_spec comes (the second ClientHello). */
void rec_skip_undecryptable(rec_layer *l, size_t budget);
/* RFC 8446 5.5: "For AES-GCM, up to 2^24.5 full-size records (about 24 million) may be encrypted
 * on a given connection"; implementations "SHOULD do a key update ... prior to reaching these
 * limits".  We ask for one after 2^24 records under a key (every record counts, full or not),
 * which leaves millions for the KeyUpdate and whatever is queued before it.  ChaCha20-Poly1305:
 * "the record sequence number would wrap before the safety limit is reached". */
#define REC13_AES_GCM_UPDATE_AFTER (UINT64_C(1) << 24)
/* Whether the write key has sealed its rec_dir.update_after records: the handshake then sends a
 * KeyUpdate (RFC 8446 4.6.3).  Always false for TLS 1.2 and ChaCha20-Poly1305. */
bool rec_write_needs_update(const rec_layer *l);
/* Whether the direction protects with TLS 1.3's rules. */
static inline bool rec_dir_is13(const rec_dir *d)
{
    return d->aead && d->ops == &rec_aead13;
}
/* For layer.c: whether the unprotected record at h (header and len bytes) may be handed out
 * under a TLS 1.3 read key; else the error, and a sentence in *why. */
mtls_err rec13_unprotected(const rec_layer *l, const uint8_t *h, size_t len, const char **why);

/* Nothing buffered in either direction and no record current. */
bool rec_idle(const rec_layer *l);
/* Release (wiped) the buffers of an idle layer; they come back on the next I/O. */
void rec_release_buffers(rec_layer *l);
void rec_layer_free(rec_layer *l);

#endif
