/*
 * session.c -- mtls_session: what a later connection needs to resume (version, suite, master
 * secret, extended-master-secret flag, server name, ALPN, the peer's verified leaf and the digest
 * of the verification context that checked it) and, on the client, the ticket to offer.  Sessions
 * are immutable once made and reference counted, so a cache may hand the same one to several
 * threads.
 *
 * Encoding (also the plaintext of a ticket):
 *   "mtS4" | version u16 | suite u16 | ems u8 | master[48] | created u64 | lifetime u32 |
 *   id<0..32> | sni<0..255> | alpn<0..255> | peer_cert<0..2^24-1> | vctx[32] |
 *   peer_issuers<0..2^24-1> | age_add u32 | issued u64 | [ticket<0..2^16-1> hint u32]
 * where peer_issuers is a list of cert<1..2^24-1> (empty unless CRLs were checked).
 * A TLS 1.3 session's master[] is the resumption PSK of its ticket (RFC 8446 4.6.1: derived from
 * the resumption master secret and the ticket's nonce, so the nonce itself is not kept), age_add
 * and issued its ticket_age_add and issue (server) or arrival (client) time.
 * The master secret makes the bytes as sensitive as a private key; buffers are wiped.  "mtS1"
 * (before sessions carried vctx), "mtS2" (before they carried the peer's issuers) and "mtS3"
 * (before TLS 1.3) no longer decode: such tickets and stored sessions simply lead to a full
 * handshake.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const uint8_t magic[4] = {'m', 't', 'S', '4'};

mtls_session *session_new(void)
{
    mtls_session *s = mem_calloc(1, sizeof(*s));
    if (s)
        atomic_init(&s->refs, 1);
    return s;
}

mtls_session *session_ref(mtls_session *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void mtls_session_free(mtls_session *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (!s->peer_leaf)
        mem_free((void *)s->peer_cert);
    mem_free(s->sni);
    mem_free(s->alpn);
    x509_cert_free(s->peer_leaf);
    x509_chain_free(s->peer_issuers, s->n_peer_issuers);
    mem_free(s->peer_issuers_der);
    mem_free(s->ticket);
    cry_wipe(s, sizeof(*s));
    mem_free(s);
}

bool session_set_issuers(mtls_session *s, x509_cert *const *issuers, size_t n)
{
    if (!n)
        return true;
    if (!(s->peer_issuers = mem_calloc(n, sizeof(*s->peer_issuers))))
        return false;
    for (size_t i = 0; i < n; i++)
        s->peer_issuers[i] = x509_cert_up_ref(issuers[i]);
    s->n_peer_issuers = n;
    return true;
}

mtls_err session_issuers(const mtls_session *s, x509_cache *cache, x509_cert ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (s->n_peer_issuers) { /* made in this process: its parsed certificates */
        if (!(*out = mem_calloc(s->n_peer_issuers, sizeof(**out))))
            return MTLS_ERR_NO_MEMORY;
        for (size_t i = 0; i < s->n_peer_issuers; i++) {
            x509_cert *c = s->peer_issuers[i];
            size_t len;
            const uint8_t *der = x509_cert_der(c, &len);
            mtls_err err = MTLS_OK;
            /* A certificate the peer sent had its key dropped when its handshake ended
             * (hs12_establish); a CRL check needs an issuer's key: parse it again. */
            if (x509_cert_pubkey(c))
                (*out)[i] = x509_cert_up_ref(c);
            else if ((err = cache ? x509_cache_parse(cache, der, len, &(*out)[i])
                                  : x509_cert_parse(der, len, &(*out)[i]))) {
                x509_chain_free(*out, i);
                *out = NULL;
                return err;
            }
        }
        *n = s->n_peer_issuers;
        return MTLS_OK;
    }
    rd list = rd_init(s->peer_issuers_der, s->peer_issuers_der_len), der;
    size_t count = 0;
    for (rd r = list; r.n; count++)
        if (!rd_vec24(&r, &der))
            return MTLS_ERR_CERT_PARSE;
    if (!count)
        return MTLS_OK;
    if (!(*out = mem_calloc(count, sizeof(**out))))
        return MTLS_ERR_NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        mtls_err err = MTLS_ERR_CERT_PARSE;
        if (!rd_vec24(&list, &der) ||
            (err = cache ? x509_cache_parse(cache, der.p, der.n, &(*out)[i])
                         : x509_cert_parse(der.p, der.n, &(*out)[i]))) {
            x509_chain_free(*out, i);
            *out = NULL;
            return err;
        }
    }
    *n = count;
    return MTLS_OK;
}

bool session_expired(const mtls_session *s, int64_t now)
{
    /* Without signed overflow for any `created` a decoded session may carry: made more than a
     * minute in the future (clock skew allowance), or at least `lifetime` seconds ago. */
    if (s->created > now && (uint64_t)s->created - (uint64_t)now > 60)
        return true;
    return now >= s->created && (uint64_t)now - (uint64_t)s->created >= s->lifetime;
}

int64_t mtls_session_time(const mtls_session *s)
{
    return s ? s->created : 0;
}

uint32_t mtls_session_lifetime(const mtls_session *s)
{
    return s ? s->lifetime : 0;
}

bool session_encode(const mtls_session *s, bool with_ticket, wr *w)
{
    wr_bytes(w, magic, sizeof(magic));
    wr_u16(w, s->version);
    wr_u16(w, s->suite);
    wr_u8(w, s->ems);
    wr_bytes(w, s->master, 48);
    wr_u32(w, (uint32_t)((uint64_t)s->created >> 32));
    wr_u32(w, (uint32_t)s->created);
    wr_u32(w, s->lifetime);
    wr_u8(w, (uint8_t)s->id_len);
    wr_bytes(w, s->id, s->id_len);
    size_t n = s->sni ? strlen(s->sni) : 0;
    wr_u8(w, (uint8_t)n);
    wr_bytes(w, s->sni, n);
    n = s->alpn ? strlen(s->alpn) : 0;
    wr_u8(w, (uint8_t)n);
    wr_bytes(w, s->alpn, n);
    wr_u24(w, (uint32_t)s->peer_cert_len);
    wr_bytes(w, s->peer_cert, s->peer_cert_len);
    wr_bytes(w, s->vctx, sizeof(s->vctx));
    size_t issuers = wr_open_u24(w);
    if (s->n_peer_issuers) {
        for (size_t i = 0; i < s->n_peer_issuers; i++) {
            size_t len;
            const uint8_t *der = x509_cert_der(s->peer_issuers[i], &len);
            wr_u24(w, (uint32_t)len);
            wr_bytes(w, der, len);
        }
    } else {
        wr_bytes(w, s->peer_issuers_der, s->peer_issuers_der_len);
    }
    wr_close_u24(w, issuers);
    wr_u32(w, s->age_add);
    wr_u32(w, (uint32_t)((uint64_t)s->issued >> 32));
    wr_u32(w, (uint32_t)s->issued);
    if (with_ticket) {
        wr_u16(w, (uint16_t)s->ticket_len);
        wr_bytes(w, s->ticket, s->ticket_len);
        wr_u32(w, s->ticket_hint);
    }
    return wr_ok(w);
}

/* A vector<0..255> as a NUL-terminated string (NULL when empty). */
static bool read_str(rd *r, char **out)
{
    rd v;
    if (!rd_vec8(r, &v) || memchr(v.p, 0, v.n))
        return false;
    if (v.n == 0)
        return true;
    if (!(*out = mem_alloc(v.n + 1)))
        return false;
    memcpy(*out, v.p, v.n);
    (*out)[v.n] = 0;
    return true;
}

mtls_session *session_decode(const uint8_t *p, size_t len, bool with_ticket)
{
    rd r = rd_init(p, len), v;
    uint8_t m[4], ems = 0;
    uint32_t hi = 0, lo = 0;
    mtls_session *s = session_new();
    if (!s)
        return NULL;
    bool ok = rd_copy(&r, m, 4) && memcmp(m, magic, 4) == 0 && rd_u16(&r, &s->version) &&
              rd_u16(&r, &s->suite) && rd_u8(&r, &ems) && ems <= 1 && rd_copy(&r, s->master, 48) &&
              rd_u32(&r, &hi) && rd_u32(&r, &lo) && rd_u32(&r, &s->lifetime) &&
              rd_vec8_copy(&r, s->id, 0, 32, &s->id_len) && read_str(&r, &s->sni) &&
              read_str(&r, &s->alpn) && rd_vec24(&r, &v);
    if (ok && v.n) {
        uint8_t *der = mem_alloc(v.n);
        ok = der != NULL;
        if (ok) {
            memcpy(der, v.p, v.n);
            s->peer_cert = der;
            s->peer_cert_len = v.n;
        }
    }
    ok = ok && rd_copy(&r, s->vctx, sizeof(s->vctx)) && rd_vec24(&r, &v);
    if (ok && v.n) {
        /* cert<1..2^24-1> each, checked here; parsed when a resumption needs them */
        rd list = v, der;
        while (ok && list.n)
            ok = rd_vec24(&list, &der) && der.n > 0;
        if (ok && (ok = (s->peer_issuers_der = mem_alloc(v.n)) != NULL)) {
            memcpy(s->peer_issuers_der, v.p, v.n);
            s->peer_issuers_der_len = v.n;
        }
    }
    uint32_t ihi = 0, ilo = 0;
    ok = ok && rd_u32(&r, &s->age_add) && rd_u32(&r, &ihi) && rd_u32(&r, &ilo);
    s->issued = (int64_t)(((uint64_t)ihi << 32) | ilo);
    if (ok && with_ticket) {
        ok = rd_vec16(&r, &v) && rd_u32(&r, &s->ticket_hint);
        if (ok && v.n) {
            s->ticket = mem_alloc(v.n);
            ok = s->ticket != NULL;
            if (ok) {
                memcpy(s->ticket, v.p, v.n);
                s->ticket_len = v.n;
            }
        }
    }
    s->ems = ems;
    s->created = (int64_t)(((uint64_t)hi << 32) | lo);
    const suite_info *suite = suite_find(s->suite);
    bool version_ok = suite && (s->version == MTLS_VERSION_TLS13   ? suite->tls13
                                : s->version == MTLS_VERSION_TLS12 ? !suite->tls13
                                                                   : false);
    if (!ok || !rd_done(&r) || !version_ok) {
        mtls_session_free(s);
        return NULL;
    }
    return s;
}

mtls_err mtls_session_to_bytes(const mtls_session *s, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!s || !out_len)
        return MTLS_ERR_INVALID_ARG;
    size_t need = 4 + 2 + 2 + 1 + 48 + 8 + 4 + 1 + s->id_len + 1 + (s->sni ? strlen(s->sni) : 0) +
                  1 + (s->alpn ? strlen(s->alpn) : 0) + 3 + s->peer_cert_len + sizeof(s->vctx) + 3 +
                  s->peer_issuers_der_len + 12 + 2 + s->ticket_len + 4;
    for (size_t i = 0; i < s->n_peer_issuers; i++) {
        size_t len;
        (void)x509_cert_der(s->peer_issuers[i], &len);
        need += 3 + len;
    }
    *out_len = need;
    if (!out)
        return MTLS_OK;
    if (cap < need)
        return MTLS_ERR_INVALID_ARG;
    wr w = wr_fixed(out, cap);
    return session_encode(s, true, &w) ? MTLS_OK : MTLS_ERR_INTERNAL;
}

mtls_session *mtls_session_from_bytes(const uint8_t *in, size_t len)
{
    return in ? session_decode(in, len, true) : NULL;
}

mtls_session *mtls_conn_get_session(const mtls_conn *c)
{
    return c && c->established ? session_ref(c->info.session) : NULL;
}
