/*
 * layer.c -- the record layer: each direction's protection (dispatched per version to aead12.c
 * and aead13.c), the receive buffer and deframer, fragmentation into the send buffer.  The buffer
 * invariants are in record.h's opening comment.
 *
 * Checks on every record header, before any of its body is buffered (RFC 5246 6.2.1, E.1): the
 * version byte pair is {03,xx} until the handshake fixes the version, exactly that version after;
 * the announced length is at most 2^14 for a plaintext record and 2^14 + 2048 for a protected
 * one (record_overflow; TLS 1.3: 2^14 + 256, RFC 8446 5.2).  After opening: at most 2^14 bytes of
 * plaintext (RFC 5246 6.2.3).
 */
#include <stdio.h>
#include <string.h>

#include "record.h"

#define RBUF_INITIAL 4096
#define RBUF_LARGE (TLS_RECORD_HEADER + TLS_MAX_PLAINTEXT + 256)
#define SBUF_MAX (1024 * 1024)

/* ---- one direction ------------------------------------------------------------------------- */

mtls_err rec_dir_init(rec_dir *d, const rec_key *k, bool encrypt)
{
    rec_dir_clear(d);
    if (k->version == MTLS_VERSION_TLS12)
        d->ops = &rec_aead12;
    else if (k->version == MTLS_VERSION_TLS13)
        d->ops = &rec_aead13;
    else
        return MTLS_ERR_INTERNAL;
    mtls_err err = d->ops->init(d, k);
    if (err) {
        rec_dir_clear(d);
        return err;
    }
    d->aead = cry_aead_new(k->aead, k->key, encrypt);
    if (!d->aead) {
        rec_dir_clear(d);
        return MTLS_ERR_CRYPTO;
    }
    d->seq = 0;
    d->level = k->level;
    d->generation = k->generation;
    return MTLS_OK;
}

void rec_dir_clear(rec_dir *d)
{
    cry_aead_free(d->aead);
    cry_wipe(d, sizeof(*d));
}

size_t rec_dir_prefix(const rec_dir *d)
{
    return d->aead ? d->prefix : 0;
}

size_t rec_dir_overhead(const rec_dir *d)
{
    return d->aead ? (size_t)d->overhead + d->pad : 0;
}

mtls_err rec_seal(rec_dir *d, uint8_t type, uint8_t *rec, const uint8_t *src, size_t plain_len,
                  size_t *rec_len)
{
    if (d->aead)
        return d->ops->seal(d, type, rec, src, plain_len, rec_len);
    rec[0] = type;
    be16_put(rec + 1, MTLS_VERSION_TLS12);
    be16_put(rec + 3, (uint16_t)plain_len);
    *rec_len = TLS_RECORD_HEADER + plain_len;
    if (src && plain_len)
        memmove(rec + TLS_RECORD_HEADER, src, plain_len);
    return MTLS_OK;
}

mtls_err rec_open(rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t **plain, size_t *plain_len)
{
    return rec_open_to(d, rec, rec_len, NULL, 0, plain, plain_len);
}

mtls_err rec_open_to(rec_dir *d, uint8_t *rec, size_t rec_len, uint8_t *dst, size_t cap,
                     uint8_t **plain, size_t *plain_len)
{
    if (d->aead)
        return d->ops->open(d, rec, rec_len, dst, cap, plain, plain_len);
    if (dst)
        return MTLS_ERR_INTERNAL; /* only protected records are opened elsewhere */
    *plain = rec + TLS_RECORD_HEADER;
    *plain_len = rec_len - TLS_RECORD_HEADER;
    return MTLS_OK;
}

/* ---- receiving ----------------------------------------------------------------------------- */

uint8_t *rec_recv_space(rec_layer *l, size_t *room)
{
    *room = 0;
    if (!l->rbuf) {
        l->rbuf = mem_alloc(RBUF_INITIAL);
        if (!l->rbuf)
            return NULL;
        memset(l->rbuf, 0, RBUF_INITIAL); /* no stale heap bytes in a buffer we hand out */
        l->rcap = RBUF_INITIAL;
    }
    if (l->rstart > 0) {
        /* Compact; a current record and the offsets of a held one are relative to rstart. */
        memmove(l->rbuf, l->rbuf + l->rstart, l->rlen - l->rstart);
        l->rlen -= l->rstart;
        l->rstart = 0;
    }
    *room = l->rcap - l->rlen;
    return l->rbuf + l->rlen;
}

mtls_err rec_recv_commit(rec_layer *l, size_t n)
{
    if (!l->rbuf || n > l->rcap - l->rlen)
        return MTLS_ERR_INVALID_ARG;
    l->rlen += n;
    return MTLS_OK;
}

static mtls_err fail(rec_layer *l, mtls_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mtls_err fail(rec_layer *l, mtls_err err, const char *fmt, ...)
{
    l->detail[0] = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
        va_end(ap);
    }
    return err;
}

const char *rec_error_detail(const rec_layer *l)
{
    return l->detail[0] ? l->detail : NULL;
}

/* Room for a whole record of `need` bytes at rstart: move it to the front, then grow to its
 * size.  Two size classes -- the small start and one that holds any AEAD record -- so that a
 * busy server does not fragment its heap with a size per record; only a record announced larger
 * than any AEAD record gets its exact size.  Not realloc: the old block may hold earlier
 * plaintext, wiped before it goes. */
static mtls_err make_room(rec_layer *l, size_t need)
{
    size_t avail = l->rlen - l->rstart;
    if (l->rcap - l->rstart < need) {
        memmove(l->rbuf, l->rbuf + l->rstart, avail);
        l->rlen = avail;
        l->rstart = 0;
    }
    if (l->rcap < need) {
        size_t grow = need < RBUF_LARGE ? RBUF_LARGE : need;
        uint8_t *p = mem_alloc(grow);
        if (!p)
            return fail(l, MTLS_ERR_NO_MEMORY, NULL);
        memcpy(p, l->rbuf, l->rlen);
        memset(p + l->rlen, 0, grow - l->rlen);
        cry_wipe(l->rbuf, l->rcap);
        mem_free(l->rbuf);
        l->rbuf = p;
        l->rcap = grow;
    }
    return MTLS_ERR_WANT_READ;
}

/* The header checks of every record (before any of its body is opened), and room for it: MTLS_OK
 * when the record at rstart is whole -- *need its length, header included, *plain13 whether it is
 * an unprotected record under a TLS 1.3 read key -- else MTLS_ERR_WANT_READ or the header's
 * error. */
static mtls_err next_record(rec_layer *l, size_t *need, bool *plain13)
{
    size_t avail = l->rlen - l->rstart;
    if (avail < TLS_RECORD_HEADER)
        return MTLS_ERR_WANT_READ;
    uint8_t *h = l->rbuf + l->rstart;
    uint16_t version = be16_get(h + 1), len = be16_get(h + 3);
    /* RFC 5246 E.1: "TLS servers ... MUST accept any value {03,XX} as the record layer version
     * number for ClientHello", and a client reads the ServerHello before it knows the version.
     * From the ServerHello on (the handshake fixes the version as the server sends it and as the
     * client reads it), the record version is that of the protocol employed (6.2.1), in both
     * directions; anything else gets protocol_version. */
    if (l->version ? version != l->version : h[1] != 3)
        return fail(l, MTLS_ERR_BAD_RECORD_VERSION, "record with version 0x%04x from the peer",
                    version);
    /* TLS 1.3: a protected record always says application_data outside; any other record under
     * a read key is unprotected, and aead13.c says whether it may pass (RFC 8446 5). */
    *plain13 = rec_dir_is13(&l->in) && h[0] != TLS_CT_APPLICATION_DATA;
    size_t max = !l->in.aead || *plain13 ? TLS_MAX_PLAINTEXT
                 : rec_dir_is13(&l->in)  ? TLS13_MAX_CIPHERTEXT
                                         : TLS_MAX_CIPHERTEXT;
    if (len > max)
        return fail(l, MTLS_ERR_RECORD_OVERFLOW,
                    "the peer announced a record of %u bytes (max %zu)", len, max);
    *need = TLS_RECORD_HEADER + (size_t)len;
    if (avail < *need)
        return make_room(l, *need);
    return MTLS_OK;
}

/* What rec_peek tells of the whole record at rstart. */
static void classify(const rec_layer *l, size_t need, bool plain13, rec_next *n)
{
    const uint8_t *h = l->rbuf + l->rstart;
    /* TLS 1.2: the outer type is the type (and in the additional data).  TLS 1.3: every
     * protected record says application_data outside; the true type is inside.  Not while
     * undecryptable records are being skipped (rec_skip_undecryptable: the handshake is not done,
     * and rec_read drops them). */
    n->data = l->in.aead && !plain13 && h[0] == TLS_CT_APPLICATION_DATA && !l->skip_left;
    size_t frag = need - TLS_RECORD_HEADER, trailer = rec_dir_is13(&l->in) ? 1 : 0;
    size_t added = (size_t)l->in.prefix + CRY_AEAD_TAG_LEN + trailer;
    n->max_len = n->data && frag > added ? frag - added : 0;
}

mtls_err rec_peek(rec_layer *l, rec_next *n)
{
    size_t need;
    bool plain13;
    mtls_err err = next_record(l, &need, &plain13);
    if (err)
        return err;
    classify(l, need, plain13, n);
    return MTLS_OK;
}

/* Open the whole record at rstart (need bytes) in place, or into dst; *skipped when it was a
 * record rec_skip_undecryptable let us drop (then released already). */
static mtls_err open_record(rec_layer *l, rec_in *r, size_t need, bool plain13, uint8_t *dst,
                            size_t cap, bool *skipped)
{
    uint8_t *h = l->rbuf + l->rstart;
    size_t len = need - TLS_RECORD_HEADER;
    mtls_err err;
    if (!l->in.aead && l->skip_left && h[0] == TLS_CT_APPLICATION_DATA && len <= l->skip_left) {
        /* RFC 8446 4.2.10, after a HelloRetryRequest: "the server then ignores early data by
         * skipping all records with an external content type of "application_data"". */
        l->skip_left -= len;
        l->rstart += need;
        *skipped = true;
        return MTLS_OK;
    }
    if (!l->in.aead && h[0] != TLS_CT_APPLICATION_DATA && h[0] != TLS_CT_CHANGE_CIPHER_SPEC)
        l->skip_left = 0; /* the second ClientHello: no 0-RTT data follows it (4.2.10) */
    if (plain13) {
        const char *why = NULL;
        if ((err = rec13_unprotected(l, h, len, &why)))
            return fail(l, err, "%s", why);
        r->p = h + TLS_RECORD_HEADER;
        r->len = len;
    } else if ((err = rec_open_to(&l->in, h, need, dst, cap, &r->p, &r->len))) {
        if (err == MTLS_ERR_BAD_RECORD_MAC && h[0] == TLS_CT_APPLICATION_DATA && l->skip_left &&
            len <= l->skip_left) {
            /* RFC 8446 4.2.10 (rec_skip_undecryptable): declined 0-RTT data, dropped. */
            l->skip_left -= len;
            l->rstart += need;
            *skipped = true;
            return MTLS_OK;
        }
        return fail(l, err, "%s",
                    l->in.why ? l->in.why
                              : "a record from the peer failed authentication (bad_record_mac)");
    } else {
        l->plain_alert = false; /* the peer protects its records now (rec_allow_plain_alert) */
        if (h[0] != TLS_CT_CHANGE_CIPHER_SPEC)
            l->skip_left = 0; /* ... and has stopped sending what we could not open */
    }
    if (r->len > TLS_MAX_PLAINTEXT)
        return fail(l, MTLS_ERR_RECORD_OVERFLOW, "decrypted record of %zu bytes exceeds 2^14",
                    r->len);
    r->type = h[0];
    bool clear = plain13 || !l->in.aead;
    l->read_level = clear ? MTLS_PROTECTION_CLEAR : l->in.level;
    l->read_generation = clear ? 0 : l->in.generation;
    return MTLS_OK;
}

mtls_err rec_read(rec_layer *l, rec_in *r)
{
    for (;;) {
        size_t need;
        bool plain13, skipped = false;
        mtls_err err = next_record(l, &need, &plain13);
        if (err)
            return err;
        if ((err = open_record(l, r, need, plain13, NULL, 0, &skipped)))
            return err;
        if (!skipped) {
            l->cur_len = need;
            return MTLS_OK;
        }
    }
}

mtls_err rec_read_into(rec_layer *l, rec_in *r, uint8_t *dst, size_t cap)
{
    size_t need;
    bool plain13, skipped = false;
    rec_next n;
    mtls_err err = next_record(l, &need, &plain13);
    if (err)
        return err;
    classify(l, need, plain13, &n);
    if (!n.data || n.max_len > cap)
        return MTLS_ERR_INTERNAL; /* core asks only for what rec_peek said fits */
    err = open_record(l, r, need, plain13, dst, cap, &skipped);
    if (err || skipped) {
        /* A record that failed to open left nothing readable in dst (the AEAD wiped what it
         * wrote); one that opened and broke a rule after may have: wipe what it could.  (None
         * is skipped: classify says no record may carry data while skipping.) */
        cry_wipe(dst, cap < need ? cap : need);
        return err ? err : MTLS_ERR_INTERNAL;
    }
    /* Nothing of the record is needed any more: its plaintext is in dst. */
    l->rstart += need;
    return MTLS_OK;
}

void rec_skip_undecryptable(rec_layer *l, size_t budget)
{
    l->skip_left = budget;
}

void rec_release(rec_layer *l)
{
    l->rstart += l->cur_len;
    l->cur_len = 0;
    l->take_len = 0;
}

void rec_hold(rec_layer *l, const rec_in *r)
{
    l->take_off = (size_t)(r->p - (l->rbuf + l->rstart));
    l->take_len = r->len;
}

bool rec_holding(const rec_layer *l)
{
    return l->take_len != 0;
}

size_t rec_take(rec_layer *l, void *out, size_t cap)
{
    size_t take = l->take_len < cap ? l->take_len : cap;
    memcpy(out, l->rbuf + l->rstart + l->take_off, take);
    l->take_off += take;
    l->take_len -= take;
    if (l->take_len == 0)
        rec_release(l);
    return take;
}

/* ---- sending ------------------------------------------------------------------------------- */

mtls_err rec_write(rec_layer *l, uint8_t type, const uint8_t *p, size_t len)
{
    size_t overhead = rec_dir_overhead(&l->out);
    do {
        size_t chunk = len < TLS_MAX_PLAINTEXT ? len : TLS_MAX_PLAINTEXT;
        if (!dynbuf_reserve(&l->sbuf, TLS_RECORD_HEADER + overhead + chunk, SBUF_MAX))
            return MTLS_ERR_NO_MEMORY;
        uint8_t *rec = l->sbuf.p + l->sbuf.len;
        size_t rec_len;
        /* sealed straight from the caller's bytes into the send buffer: no extra copy */
        mtls_err err = rec_seal(&l->out, type, rec, p, chunk, &rec_len);
        if (err)
            return err;
        l->sbuf.len += rec_len;
        p += chunk;
        len -= chunk;
    } while (len > 0);
    return MTLS_OK;
}

size_t rec_write_overhead(const rec_layer *l)
{
    return TLS_RECORD_HEADER + rec_dir_overhead(&l->out);
}

const uint8_t *rec_send_pending(const rec_layer *l, size_t *len)
{
    if (l->soff >= l->sbuf.len) {
        *len = 0;
        return NULL;
    }
    *len = l->sbuf.len - l->soff;
    return l->sbuf.p + l->soff;
}

void rec_send_consume(rec_layer *l, size_t n)
{
    size_t pending = l->sbuf.len - l->soff;
    l->soff += n < pending ? n : pending;
    if (l->soff == l->sbuf.len) {
        l->soff = 0;
        l->sbuf.len = 0;
    }
}

size_t rec_send_compact(rec_layer *l)
{
    size_t queued = l->sbuf.len - l->soff;
    if (l->soff && queued) {
        memmove(l->sbuf.p, l->sbuf.p + l->soff, queued);
        l->sbuf.len = queued;
        l->soff = 0;
    }
    return queued;
}

/* ---- keys and lifetime --------------------------------------------------------------------- */

mtls_err rec_set_read_key(rec_layer *l, const rec_key *k)
{
    if (l->cur_len)
        return MTLS_ERR_BAD_STATE; /* keys change between records (record.h) */
    return rec_dir_init(&l->in, k, false);
}

mtls_err rec_set_write_key(rec_layer *l, const rec_key *k)
{
    return rec_dir_init(&l->out, k, true);
}

void rec_fix_version(rec_layer *l, uint16_t version)
{
    l->version = version;
}

mtls_trace_protection rec_write_protection(const rec_layer *l, uint32_t *generation)
{
    *generation = l->out.aead ? l->out.generation : 0;
    return l->out.aead ? l->out.level : MTLS_PROTECTION_CLEAR;
}

mtls_trace_protection rec_read_protection(const rec_layer *l, uint32_t *generation)
{
    *generation = l->read_generation;
    return l->read_level ? l->read_level : MTLS_PROTECTION_CLEAR;
}

bool rec_idle(const rec_layer *l)
{
    return !l->cur_len && l->rlen == l->rstart && l->soff == l->sbuf.len;
}

void rec_release_buffers(rec_layer *l)
{
    if (l->rbuf) {
        cry_wipe(l->rbuf, l->rcap);
        mem_free(l->rbuf);
        l->rbuf = NULL;
        l->rcap = l->rlen = l->rstart = 0;
    }
    dynbuf_free(&l->sbuf, true);
    l->soff = 0;
}

void rec_layer_free(rec_layer *l)
{
    rec_dir_clear(&l->in);
    rec_dir_clear(&l->out);
    rec_release_buffers(l);
}
