/*
 * test_read.c -- mtls_read's two paths (src/core/conn.c).  After the handshake a record that may
 * carry application data is left unopened by mtls_recv_ack; mtls_read opens it straight into the
 * caller's buffer when the rest of that buffer can hold all the content the record can carry (no
 * copy), else in place in the receive buffer, from which each read copies what it asks for.  For
 * TLS 1.2 and TLS 1.3 record protection, with each AEAD:
 *
 *   1. reads of whole records: every byte arrives and the plaintext never exists in the receive
 *      buffer (it was decrypted into the caller's buffer); reads smaller than a record: in place
 *      (the plaintext is in the receive buffer), every byte arrives.
 *   2. a stream of records of mixed sizes read with mixed sizes (reads that straddle records,
 *      both paths in one read).
 *   3. a corrupted record after good ones (issue 12 item 11), read whole and in small pieces: the
 *      good bytes come first, the error on the next call with out_len 0, and nothing of the bad
 *      record is left in the caller's buffer.
 *   4. TLS 1.3: a KeyUpdate, a warning alert and close_notify between data records, opened
 *      into the caller's buffer (or in place): handled as such, never counted as data, wiped
 *      from the buffer.
 *   5. the record a bad MAC spoils is reported by mtls_read, not by mtls_recv_ack, which left it
 *      unopened.
 *   6. TLS 1.3: a record that authenticates and is then refused (an inner plaintext over 2^14 + 1,
 *      a protected change_cipher_spec, an unknown inner type), after data: the data first, then
 *      the error and its alert, and nothing of the refused record left in the caller's buffer.
 *   7. TLS 1.3, the post-handshake messages mtls_recv_ack leaves unopened, met by mtls_read into
 *      a large buffer, by small reads (in place) or by mtls_handshake before any read: the
 *      server's tickets (kept as the session), a KeyUpdate with update_requested (applied and
 *      answered), a CertificateRequest (refused: no post_handshake_auth was offered) -- handled
 *      as when mtls_recv_ack opened every record, and none of their bytes left as data.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hsstate.h"
#include "common/testpki.h"
#include "t.h"

/* The suites, by AEAD: a client config lists one suite of one version, so that version it is. */
static const struct suite {
    const char *name, *name13;
} suites[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"},
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* What each side's trace events showed (the client configs share one, the server's its own). */
typedef struct seen {
    int key_updates_in, key_updates_out, tickets;
} seen;
static seen cseen, sseen;
static void count_trace(void *arg, const mtls_conn *conn, const mtls_trace_event *ev)
{
    (void)conn;
    seen *s = arg;
    s->key_updates_in += ev->kind == MTLS_TRACE_RECEIVED && ev->msg == TLS_HS_KEY_UPDATE;
    s->key_updates_out += ev->kind == MTLS_TRACE_SENT && ev->msg == TLS_HS_KEY_UPDATE;
    s->tickets += ev->kind == MTLS_TRACE_RECEIVED && ev->msg == TLS_HS_NEW_SESSION_TICKET;
}

static mtls_config *scfg, *ccfg[2][N_SUITES];

static void configs(void)
{
    const tp_pki *pki = tp_get();
    const tp_ident *ec = &pki->server[TP_P256];
    scfg = mtls_config_new();
    CHECK_ERR(mtls_config_set_cert_chain_mem(scfg, ec->cert_pem, strlen(ec->cert_pem),
                                             ec->key_pem, strlen(ec->key_pem)),
              MTLS_OK);
    CHECK_ERR(mtls_config_set_trace_events(scfg, count_trace, &sseen), MTLS_OK);
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < N_SUITES; i++) {
            mtls_config *c = ccfg[v][i] = mtls_config_new();
            CHECK_ERR(mtls_config_set_ca_mem(c, pki->ca_pem, strlen(pki->ca_pem)), MTLS_OK);
            CHECK_ERR(mtls_config_set_ciphers(c, v ? suites[i].name13 : suites[i].name), MTLS_OK);
            CHECK_ERR(mtls_config_set_trace_events(c, count_trace, &cseen), MTLS_OK);
        }
}

static const char *suite_name(size_t suite, int tls13)
{
    return tls13 ? suites[suite].name13 : suites[suite].name;
}

/* An established pair of the version asked for. */
typedef struct conn_pair {
    mtls_conn *c, *s;
    int tls13;
} conn_pair;

static uint32_t rnd_state = 12345;
static uint8_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (uint8_t)(rnd_state >> 16);
}

static void pair_new(conn_pair *p, size_t suite, int tls13)
{
    p->c = mtls_client_new(ccfg[tls13][suite], "localhost");
    p->s = mtls_server_new(scfg);
    p->tls13 = tls13;
    memset(&cseen, 0, sizeof(cseen));
    memset(&sseen, 0, sizeof(sseen));
}

/* tp_handshake: what the server sends after the handshake (TLS 1.3 tickets) is handled too (its
 * closing mtls_handshake calls). */
static void pair_open(conn_pair *p, size_t suite, int tls13)
{
    pair_new(p, suite, tls13);
    CHECK_ERR(tp_handshake(p->c, p->s), MTLS_OK);
    CHECK_EQ(mtls_conn_version(p->c), tls13 ? MTLS_VERSION_TLS13 : MTLS_VERSION_TLS12);
}

static void pair_close(conn_pair *p)
{
    mtls_conn_free(p->c);
    mtls_conn_free(p->s);
}

/* Bytes a sender produced, not yet given to the receiver. */
typedef struct wire {
    uint8_t *p;
    size_t len, off;
} wire;

/* Take what `from` queued onto the wire. */
static void wire_take(wire *w, mtls_conn *from)
{
    size_t n;
    const uint8_t *q = mtls_send_buf(from, &n);
    if (!n)
        return;
    w->p = realloc(w->p, w->len + n);
    memcpy(w->p + w->len, q, n);
    w->len += n;
    mtls_send_ack(from, n);
}

/* One record of application data per size, on the wire. */
static void send_records(wire *w, mtls_conn *from, const uint8_t *data, const size_t *sizes,
                         size_t n)
{
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t written = 0;
        CHECK_ERR(mtls_write(from, data + off, sizes[i], &written), MTLS_OK);
        CHECK_EQ(written, sizes[i]);
        off += sizes[i];
        wire_take(w, from);
    }
}

/* Give `to` as much of the wire as its receive buffer takes. */
static void wire_feed(wire *w, mtls_conn *to)
{
    while (w->off < w->len) {
        size_t room;
        uint8_t *dst = mtls_recv_buf(to, &room);
        if (!dst || !room)
            return;
        size_t k = w->len - w->off < room ? w->len - w->off : room;
        memcpy(dst, w->p + w->off, k);
        w->off += k;
        mtls_err err = mtls_recv_ack(to, k);
        CHECK(err == MTLS_OK || err == MTLS_ERR_WANT_READ);
    }
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; k && i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

/* Whether any 16 bytes of plaintext in [p, p + n) sit in the receiver's receive buffer. */
static int in_rbuf(const mtls_conn *to, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 16 <= n; i += 16)
        if (contains(to->rec.rbuf, to->rec.rcap, p + i, 16))
            return 1;
    return 0;
}

/* Read everything on the wire with the reads of `caps` in turn; returns the bytes read into out
 * (room for want + the largest cap).  *in_place counts reads whose plaintext was found in the
 * receive buffer afterwards. */
static size_t read_all(wire *w, mtls_conn *to, const size_t *caps, size_t ncaps, uint8_t *out,
                       size_t want, size_t *in_place)
{
    size_t got = 0, k = 0;
    *in_place = 0;
    for (int guard = 0; guard < 100000 && got < want; guard++) {
        wire_feed(w, to);
        size_t n = 0;
        mtls_err err = mtls_read(to, out + got, caps[k++ % ncaps], &n);
        if (err == MTLS_ERR_WANT_READ && w->off < w->len)
            continue;
        CHECK_ERR(err, MTLS_OK);
        if (err)
            break;
        *in_place += in_rbuf(to, out + got, n);
        got += n;
    }
    return got;
}

static uint8_t *stream(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = rnd();
    return p;
}

/* ---- 1, 2: large, small and straddling reads ------------------------------------------------ */

static void run_reads(size_t suite, int tls13)
{
    static const size_t whole[] = {16384, 1, 9000, 16384, 16383, 4096};
    static const size_t mixed[] = {1, 100, 16384, 5000, 3, 16384, 16383, 7000, 1, 12000};
    static const size_t big_caps[] = {16384}, small_caps[] = {1000, 4095, 7},
                        straddle_caps[] = {1, 7, 4096, 16384, 20000, 100000, 16385, 16383, 3};
    const struct {
        const char *what;
        const size_t *sizes, *caps;
        size_t n, ncaps;
    } runs[] = {
        {"whole records", whole, big_caps, 6, 1},
        {"reads smaller than records", whole, small_caps, 6, 3},
        {"reads straddling records", mixed, straddle_caps, 10, 9},
    };
    for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
        conn_pair p;
        pair_open(&p, suite, tls13);
        size_t total = 0;
        for (size_t i = 0; i < runs[r].n; i++)
            total += runs[r].sizes[i];
        uint8_t *data = stream(total), *out = malloc(total + 100000);
        wire w = {0};
        send_records(&w, p.c, data, runs[r].sizes, runs[r].n);
        size_t in_place;
        size_t got = read_all(&w, p.s, runs[r].caps, runs[r].ncaps, out, total, &in_place);
        CHECK_EQ(got, total);
        CHECK(got == total && memcmp(out, data, total) == 0);
        if (r == 0) {
            /* every record fit the read: decrypted where the caller wanted it, never in place */
            CHECK_EQ(in_place, 0);
        } else if (r == 1) {
            /* every record larger than the read was opened in place (the 1-byte one fits) */
            CHECK(in_place >= 5);
        }
        printf("%s %s, %s: %zu bytes in %zu records, %zu reads found in the receive buffer\n",
               tls13 ? "TLS 1.3" : "TLS 1.2", suite_name(suite, tls13), runs[r].what, got,
               runs[r].n, in_place);
        free(w.p);
        free(data);
        free(out);
        pair_close(&p);
    }
}

/* ---- 3. a corrupted record after good ones --------------------------------------------------- */

static void run_bad_after_good(size_t suite, int tls13)
{
    static const size_t sizes[] = {300, 1000, 200, 400}; /* the last one is spoiled */
    static const size_t caps[] = {8192, 1500, 100};
    for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
        conn_pair p;
        pair_open(&p, suite, tls13);
        uint8_t *data = stream(1900);
        wire w = {0};
        send_records(&w, p.c, data, sizes, 4);
        w.p[w.len - 1] ^= 0x20; /* a tag bit of the last record */
        /* All four fit the receive buffer: they arrive together, and nothing is opened yet. */
        wire_feed(&w, p.s);
        CHECK_EQ(w.off, w.len);
        CHECK_ERR(mtls_conn_error(p.s), MTLS_OK);
        uint8_t out[8192];
        size_t good = 0, n = 0;
        mtls_err err = MTLS_OK;
        memset(out, 0xee, sizeof(out));
        while (good < 1500 && (err = mtls_read(p.s, out + good, caps[ci], &n)) == MTLS_OK)
            good += n;
        CHECK_EQ(good, 1500);
        CHECK(memcmp(out, data, 1500) == 0);
        if (good == 1500) {
            /* the first read past the good bytes meets the bad record (when one read took all
             * the good ones, that is the next call, as issue 12 item 11 asks) */
            n = 99;
            err = mtls_read(p.s, out + good, caps[ci], &n);
        }
        CHECK_ERR(err, MTLS_ERR_BAD_RECORD_MAC);
        CHECK_EQ(n, 0);
        CHECK_EQ(mtls_conn_alert_sent(p.s), TLS_ALERT_BAD_RECORD_MAC);
        /* nothing of the spoiled record's plaintext is left in the caller's buffer */
        CHECK(!contains(out, sizeof(out), data + 1500, 16));
        CHECK(!contains(out, sizeof(out), data + 1500 + 384, 16));
        n = 99;
        CHECK_ERR(mtls_read(p.s, out, sizeof(out), &n), MTLS_ERR_BAD_RECORD_MAC);
        CHECK_EQ(n, 0);
        printf("%s %s, reads of %zu then a bad record: 1500 good bytes, then bad_record_mac\n",
               tls13 ? "TLS 1.3" : "TLS 1.2", suite_name(suite, tls13), caps[ci]);
        free(w.p);
        free(data);
        pair_close(&p);
    }
}

/* ---- 4. TLS 1.3: handshake and alert records in the caller's buffer -------------------------- */

/* Application bytes that are none of the control records' bytes checked below. */
static uint8_t *letters(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)('a' + rnd() % 26);
    return p;
}

static void put_record(wire *w, mtls_conn *from, uint8_t type, const uint8_t *p, size_t n)
{
    CHECK_ERR(rec_write(&from->rec, type, p, n), MTLS_OK);
    wire_take(w, from);
}

static void run_control13(size_t suite)
{
    /* A KeyUpdate (the client's own, before a write: its key has sealed its share, RFC 8446
     * 5.5), a warning alert (user_canceled, the one warning TLS 1.3 keeps, 6.1) and close_notify
     * between data records. */
    static const uint8_t warn[2] = {1, TLS_ALERT_USER_CANCELED}, close[2] = {1, 0};
    uint8_t *a = letters(1000), *b = letters(2000), *c = letters(500);
    static const size_t caps[] = {65536, 100, 3500};
    for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
        conn_pair p;
        pair_open(&p, suite, 1);
        wire w = {0};
        static const size_t one[] = {1000}, two[] = {2000};
        send_records(&w, p.c, a, one, 1);
        p.c->rec.out.update_after = p.c->rec.out.seq; /* the next write starts with a KeyUpdate */
        send_records(&w, p.c, b, two, 1);
        CHECK_EQ(cseen.key_updates_out, 1);
        put_record(&w, p.c, TLS_CT_ALERT, warn, 2);
        put_record(&w, p.c, TLS_CT_APPLICATION_DATA, c, 500);
        put_record(&w, p.c, TLS_CT_ALERT, close, 2);
        static uint8_t out[65536];
        memset(out, 0xee, sizeof(out));
        size_t got = 0, n;
        mtls_err err = MTLS_OK;
        for (int guard = 0; guard < 1000; guard++) {
            wire_feed(&w, p.s);
            n = 0;
            err = mtls_read(p.s, out + got, caps[ci], &n);
            got += n;
            if (err != MTLS_OK && (err != MTLS_ERR_WANT_READ || w.off == w.len))
                break;
        }
        CHECK_ERR(err, MTLS_ERR_CLOSED);
        CHECK_EQ(got, 3500);
        CHECK(got == 3500 && memcmp(out, a, 1000) == 0 && memcmp(out + 1000, b, 2000) == 0 &&
              memcmp(out + 3000, c, 500) == 0);
        /* the control records were handled (the data after the KeyUpdate opened under the
         * client's next key) ... */
        CHECK_ERR(mtls_conn_error(p.s), MTLS_OK);
        CHECK(mtls_conn_close_received(p.s));
        CHECK_EQ(sseen.key_updates_in, 1);
        /* ... and nothing of them is in the caller's buffer: past the data only the bytes the
         * caller left there or zeros where a record was wiped (the KeyUpdate is 24 0 0 1 0, the
         * alerts 1 90 and 1 0) */
        size_t other_bytes = 0;
        for (size_t i = got; i < sizeof(out); i++)
            other_bytes += out[i] != 0xee && out[i] != 0;
        CHECK_EQ(other_bytes, 0);
        printf("TLS 1.3 %s, reads of %zu: 3500 data bytes around a KeyUpdate, a warning and "
               "close_notify; none of their bytes in the buffer\n",
               suites[suite].name13, caps[ci]);
        free(w.p);
        pair_close(&p);
    }
    /* A fatal alert after data: the data first, the alert's error on the next call. */
    {
        conn_pair p;
        pair_open(&p, suite, 1);
        wire w = {0};
        static const uint8_t fatal[2] = {2, TLS_ALERT_HANDSHAKE_FAILURE};
        put_record(&w, p.c, TLS_CT_APPLICATION_DATA, a, 1000);
        put_record(&w, p.c, TLS_CT_ALERT, fatal, 2);
        wire_feed(&w, p.s);
        static uint8_t out[4096];
        memset(out, 0xee, sizeof(out));
        size_t n = 0;
        CHECK_ERR(mtls_read(p.s, out, sizeof(out), &n), MTLS_OK);
        CHECK_EQ(n, 1000);
        CHECK(memcmp(out, a, 1000) == 0);
        CHECK_ERR(mtls_read(p.s, out + n, sizeof(out) - n, &n), MTLS_ERR_PEER_ALERT);
        CHECK_EQ(n, 0);
        CHECK_EQ(mtls_conn_alert_received(p.s), TLS_ALERT_HANDSHAKE_FAILURE);
        size_t other_bytes = 0;
        for (size_t i = 1000; i < sizeof(out); i++)
            other_bytes += out[i] != 0xee && out[i] != 0;
        CHECK_EQ(other_bytes, 0);
        free(w.p);
        pair_close(&p);
    }
    free(a);
    free(b);
    free(c);
}

/* ---- 5. errors of data records come from mtls_read ------------------------------------------- */

static void run_deferred(size_t suite, int tls13)
{
    conn_pair p;
    pair_open(&p, suite, tls13);
    static const size_t sizes[] = {5000};
    uint8_t *data = stream(5000);
    wire w = {0};
    send_records(&w, p.c, data, sizes, 1);
    w.p[w.len / 2] ^= 1;
    wire_feed(&w, p.s);
    /* taken, not opened: no error yet, no alert */
    CHECK_EQ(w.off, w.len);
    CHECK_ERR(mtls_conn_error(p.s), MTLS_OK);
    size_t queued;
    mtls_send_buf(p.s, &queued);
    CHECK_EQ(queued, 0);
    uint8_t out[16384];
    memset(out, 0, sizeof(out)); /* scanned below: defined bytes, none like the plaintext */
    size_t n = 99;
    CHECK_ERR(mtls_read(p.s, out, sizeof(out), &n), MTLS_ERR_BAD_RECORD_MAC);
    CHECK_EQ(n, 0);
    CHECK_EQ(mtls_conn_alert_sent(p.s), TLS_ALERT_BAD_RECORD_MAC);
    CHECK(!contains(out, sizeof(out), data + 16, 16));
    free(w.p);
    free(data);
    pair_close(&p);
}

/* ---- 6. TLS 1.3: a record that authenticates and is then refused --------------------------- */

/* A TLS 1.3 record of `from`'s write direction whose inner plaintext is exactly inner[0..n) (no
 * type byte added, no bound applied: what a broken or hostile peer may seal), on the wire. */
static void put_inner13(wire *w, mtls_conn *from, const uint8_t *inner, size_t n)
{
    rec_dir *d = &from->rec.out;
    uint8_t *rec = malloc(TLS_RECORD_HEADER + n + CRY_AEAD_TAG_LEN), nonce[12];
    rec[0] = TLS_CT_APPLICATION_DATA;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)((n + CRY_AEAD_TAG_LEN) >> 8);
    rec[4] = (uint8_t)(n + CRY_AEAD_TAG_LEN);
    memcpy(rec + TLS_RECORD_HEADER, inner, n);
    memcpy(nonce, d->iv, sizeof(nonce)); /* RFC 8446 5.3 */
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= (uint8_t)(d->seq >> (56 - 8 * i));
    CHECK(cry_aead_seal(d->aead, nonce, rec, TLS_RECORD_HEADER, rec + TLS_RECORD_HEADER, n,
                        rec + TLS_RECORD_HEADER + n));
    d->seq++;
    w->p = realloc(w->p, w->len + TLS_RECORD_HEADER + n + CRY_AEAD_TAG_LEN);
    memcpy(w->p + w->len, rec, TLS_RECORD_HEADER + n + CRY_AEAD_TAG_LEN);
    w->len += TLS_RECORD_HEADER + n + CRY_AEAD_TAG_LEN;
    free(rec);
}

/* Data, then a record whose tag is good but whose content is refused after it was decrypted --
 * into the caller's buffer when the read has room for it: the data first, then the error, and
 * none of the refused record's bytes left in the buffer. */
static void run_refused13(size_t suite)
{
    static const struct {
        const char *what;
        size_t content;
        uint8_t type;
        mtls_err err;
        int alert;
    } cases[] = {
        /* 5.4: the inner plaintext MUST NOT exceed 2^14 + 1 */
        {"an inner plaintext of 2^14 + 2 bytes", TLS_MAX_PLAINTEXT + 1, TLS_CT_APPLICATION_DATA,
         MTLS_ERR_RECORD_OVERFLOW, TLS_ALERT_RECORD_OVERFLOW},
        /* 5: a protected change_cipher_spec is unexpected_message */
        {"a protected change_cipher_spec", 1000, TLS_CT_CHANGE_CIPHER_SPEC,
         MTLS_ERR_UNEXPECTED_MESSAGE, TLS_ALERT_UNEXPECTED_MESSAGE},
        /* an unknown inner type: opened, then refused by core */
        {"an unknown inner content type", 1000, 99, MTLS_ERR_UNEXPECTED_MESSAGE,
         TLS_ALERT_UNEXPECTED_MESSAGE},
    };
    static const size_t caps[] = {65536, 100};
    uint8_t *a = letters(1000);
    static uint8_t inner[TLS_MAX_PLAINTEXT + 2];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
            conn_pair p;
            pair_open(&p, suite, 1);
            wire w = {0};
            put_record(&w, p.c, TLS_CT_APPLICATION_DATA, a, 1000);
            memset(inner, '7', cases[i].content); /* no byte of the letters above */
            inner[cases[i].content] = cases[i].type;
            put_inner13(&w, p.c, inner, cases[i].content + 1);
            static uint8_t out[65536];
            memset(out, 0xee, sizeof(out));
            size_t got = 0, n = 0;
            mtls_err err = MTLS_OK;
            for (int guard = 0; guard < 1000 && err == MTLS_OK; guard++) {
                wire_feed(&w, p.s);
                n = 0;
                err = mtls_read(p.s, out + got, caps[ci], &n);
                got += n;
                if (err == MTLS_ERR_WANT_READ && w.off < w.len)
                    err = MTLS_OK;
            }
            CHECK_EQ(got, 1000);
            CHECK(memcmp(out, a, 1000) == 0);
            CHECK_ERR(err, cases[i].err);
            CHECK_EQ(mtls_conn_alert_sent(p.s), cases[i].alert);
            size_t left = 0;
            for (size_t j = got; j < sizeof(out); j++)
                left += out[j] != 0xee && out[j] != 0;
            CHECK_EQ(left, 0);
            printf("TLS 1.3 %s, reads of %zu: 1000 data bytes, then %s: %s, %zu of its bytes left "
                   "in the buffer\n",
                   suites[suite].name13, caps[ci], cases[i].what, mtls_err_str(err), left);
            free(w.p);
            pair_close(&p);
        }
    free(a);
}

/* ---- 7. TLS 1.3: post-handshake messages met by mtls_read ----------------------------------- */

/* The handshake through the pump's own moves (tp_feed), without tp_handshake's closing
 * mtls_handshake calls: what the server sends after it (its tickets) stays in the client's
 * receive buffer, unopened. */
static void handshake_only(conn_pair *p)
{
    mtls_handshake(p->c);
    for (int round = 0; round < 64; round++) {
        int moved = 0;
        mtls_conn *from[2] = {p->c, p->s}, *to[2] = {p->s, p->c};
        for (int k = 0; k < 2; k++) {
            wire w = {0};
            wire_take(&w, from[k]);
            if (!w.len)
                continue;
            moved = 1;
            CHECK(tp_feed(to[k], w.p, w.len, 0) != MTLS_ERR_WANT_WRITE);
            free(w.p);
        }
        if (!moved)
            break;
    }
    CHECK(mtls_conn_established(p->c) && mtls_conn_established(p->s));
}

enum how { BY_LARGE_READS, BY_SMALL_READS, BY_HANDSHAKE };
static const char *const how_names[] = {"reads of 64 KiB", "reads of 100 bytes",
                                        "mtls_handshake, then reads"};

/* The client takes all of `w` and reads `want` bytes into out (64 KiB, 0xee before), the way
 * `how` says; returns what the last call returned (MTLS_OK when all arrived). */
static mtls_err client_reads(conn_pair *p, wire *w, enum how how, uint8_t *out, size_t want,
                             size_t *got)
{
    *got = 0;
    memset(out, 0xee, 65536);
    wire_feed(w, p->c);
    mtls_err err = MTLS_OK;
    if (how == BY_HANDSHAKE) {
        err = mtls_handshake(p->c);
        if (err)
            return err;
    }
    for (int guard = 0; guard < 1000 && *got < want; guard++) {
        size_t n = 0;
        err = mtls_read(p->c, out + *got, how == BY_SMALL_READS ? 100 : 65536 - *got, &n);
        *got += n;
        if (err)
            break;
    }
    return err;
}

/* Past the data, only the bytes the caller left there or zeros where a record was wiped. */
static size_t left_behind(const uint8_t *out, size_t got)
{
    size_t other = 0;
    for (size_t i = got; i < 65536; i++)
        other += out[i] != 0xee && out[i] != 0;
    return other;
}

static void run_post13(size_t suite)
{
    static uint8_t out[65536];
    uint8_t *a = letters(3000);
    for (enum how how = BY_LARGE_READS; how <= BY_HANDSHAKE; how++) {
        const char *name = suites[suite].name13;
        /* The server's tickets (two by default): met by a read (or mtls_handshake) before any
         * data, then data. */
        {
            conn_pair p;
            pair_new(&p, suite, 1);
            handshake_only(&p);
            CHECK(mtls_conn_get_session(p.c) == NULL); /* the tickets wait, unopened */
            CHECK_EQ(cseen.tickets, 0);
            memset(out, 0xee, sizeof(out));
            size_t got = 0;
            mtls_err err = how == BY_HANDSHAKE ? mtls_handshake(p.c)
                                               : mtls_read(p.c, out, how == BY_SMALL_READS ? 100
                                                                                           : 65536,
                                                           &got);
            CHECK_ERR(err, how == BY_HANDSHAKE ? MTLS_OK : MTLS_ERR_WANT_READ);
            CHECK_EQ(got, 0);
            CHECK_EQ(cseen.tickets, 2);
            mtls_session *sess = mtls_conn_get_session(p.c);
            CHECK(sess != NULL && sess->version == MTLS_VERSION_TLS13 && sess->ticket_len >= 16);
            if (sess && sess->ticket_len >= 16)
                CHECK(!contains(out, sizeof(out), sess->ticket, 16));
            size_t left = left_behind(out, 0);
            CHECK_EQ(left, 0);
            /* then data, and the ticket resumes */
            wire w = {0};
            static const size_t one[] = {3000};
            send_records(&w, p.s, a, one, 1);
            CHECK_ERR(client_reads(&p, &w, how, out, 3000, &got), MTLS_OK);
            CHECK(got == 3000 && memcmp(out, a, 3000) == 0);
            conn_pair q;
            pair_new(&q, suite, 1);
            CHECK_ERR(mtls_conn_set_session(q.c, sess), MTLS_OK);
            CHECK_ERR(tp_handshake(q.c, q.s), MTLS_OK);
            CHECK(mtls_conn_resumed(q.c) && mtls_conn_resumed(q.s));
            pair_close(&q);
            mtls_session_free(sess);
            printf("TLS 1.3 %s, %s: 2 tickets kept (the session resumes), %zu of their bytes left "
                   "in the buffer; 3000 data bytes after them\n",
                   name, how_names[how], left);
            free(w.p);
            pair_close(&p);
        }
        /* A KeyUpdate with update_requested (RFC 8446 4.6.3) after data (for mtls_handshake,
         * which stops at data, alone), sealed under the server's key as it stands (the server's
         * own key does not move: nothing follows it). */
        size_t want = how == BY_HANDSHAKE ? 0 : 3000;
        {
            conn_pair p;
            pair_open(&p, suite, 1);
            wire w = {0};
            send_records(&w, p.s, a, &want, want ? 1 : 0);
            static const uint8_t ku[5] = {TLS_HS_KEY_UPDATE, 0, 0, 1, 1};
            put_record(&w, p.s, TLS_CT_HANDSHAKE, ku, sizeof(ku));
            size_t got, n = 0;
            mtls_err err = client_reads(&p, &w, how, out, want, &got);
            if (!err && how != BY_HANDSHAKE) /* the read after the data meets the KeyUpdate */
                err = mtls_read(p.c, out + got, 65536 - got, &n);
            CHECK_ERR(err, how == BY_HANDSHAKE ? MTLS_OK : MTLS_ERR_WANT_READ);
            CHECK(got == want && memcmp(out, a, want) == 0);
            CHECK_EQ(cseen.key_updates_in, 1);
            CHECK_EQ(cseen.key_updates_out, 1); /* the answer, update_not_requested, queued */
            size_t left = left_behind(out, got);
            CHECK_EQ(left, 0);
            /* the server takes the answer (its read key moves on) and what follows it */
            CHECK(tp_send_check(p.c, p.s, "after the answer", 16));
            CHECK_EQ(sseen.key_updates_in, 1);
            printf("TLS 1.3 %s, %s: %zu data bytes, then KeyUpdate update_requested: applied, "
                   "answered, %zu of its bytes left in the buffer\n",
                   name, how_names[how], want, left);
            free(w.p);
            pair_close(&p);
        }
        /* A CertificateRequest after data (for mtls_handshake, alone): RFC 8446 4.6.2, "A client
         * that receives a CertificateRequest message without having sent the "post_handshake_auth"
         * extension MUST send an "unexpected_message" fatal alert." */
        {
            conn_pair p;
            pair_open(&p, suite, 1);
            wire w = {0};
            send_records(&w, p.s, a, &want, want ? 1 : 0);
            static const uint8_t cr[12] = {TLS_HS_CERTIFICATE_REQUEST, 0, 0, 8};
            put_record(&w, p.s, TLS_CT_HANDSHAKE, cr, sizeof(cr));
            size_t got, n = 0;
            mtls_err err = client_reads(&p, &w, how, out, want, &got);
            if (!err && how != BY_HANDSHAKE)
                err = mtls_read(p.c, out + got, 65536 - got, &n);
            CHECK(got == want && memcmp(out, a, want) == 0);
            CHECK_ERR(err, MTLS_ERR_UNEXPECTED_MESSAGE);
            CHECK_EQ(n, 0);
            CHECK_EQ(mtls_conn_alert_sent(p.c), TLS_ALERT_UNEXPECTED_MESSAGE);
            size_t left = left_behind(out, got);
            CHECK_EQ(left, 0);
            printf("TLS 1.3 %s, %s: %zu data bytes, then a CertificateRequest: %s, alert %s\n",
                   name, how_names[how], want, mtls_err_str(err),
                   mtls_alert_name(mtls_conn_alert_sent(p.c)));
            free(w.p);
            pair_close(&p);
        }
    }
    free(a);
}

int main(void)
{
    configs();
    for (int tls13 = 0; tls13 < 2; tls13++)
        for (size_t s = 0; s < N_SUITES; s++) {
            run_reads(s, tls13);
            run_bad_after_good(s, tls13);
            run_deferred(s, tls13);
        }
    for (size_t s = 0; s < N_SUITES; s++) {
        run_control13(s);
        run_refused13(s);
        run_post13(s);
    }
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < N_SUITES; i++)
            mtls_config_free(ccfg[v][i]);
    mtls_config_free(scfg);
    return t_done();
}
